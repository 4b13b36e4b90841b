//! The `buffer` resource: a batched consumer of one ring or perf buffer.
//!
//! A ring buffer is read span by span into a pending batch in the WIT
//! `batch` format ([`Ring`]); a perf buffer through libbpf's consumer,
//! whose callback appends each record, with its header, to the batch.
//! `poll` hands the batch to the guest as one byte list in one call. Waiting is asynchronous on the consumer's epoll fd, so a guest
//! blocked in `poll` does not block the host from stopping it.

use std::cell::RefCell;
use std::os::fd::{AsFd as _, AsRawFd as _, BorrowedFd, OwnedFd, RawFd};
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use libbpf_rs::{MapCore as _, MapHandle, MapType, PerfBuffer, PerfBufferBuilder};
use rustix::buffer::spare_capacity;
use rustix::event::{epoll, Timespec};
use rustix::io::Errno;
use tokio::io::unix::AsyncFd;
use tokio::io::Interest;
use wasmtime::component::Resource;
use wasmtime_wasi::p2::{DynPollable, Pollable};

use super::batch;
use super::limits::{perf_buffer_bytes, Charge, Held, KernelMemory, MAX_PERF_PAGES};
use super::map::BpfMap;
use super::object::SharedObject;
use super::ring::Ring;
use super::BpfCtxView;
use crate::bindings::buffer::{Batch, BufferKind, BufferOptions, Host, HostBuffer};
use crate::bindings::types::ErrorCode;
use crate::interrupt::Stop;
use crate::observe::{BufferCounts, BufferSource, Observer};
use crate::{BpfError, BpfResult};

/// A batch stops growing past about this many bytes. Small batches stay
/// in cache and reuse their allocations: a 16 MiB cap drained a full ring
/// three times slower, mostly in page faults of fresh buffers, and 64 KiB
/// drained 16-byte records 10% faster than 256 KiB, the guest walking a
/// batch that is still in its CPU's cache.
const MAX_BATCH_BYTES: usize = 64 << 10;

/// Records taken from the kernel but not yet handed to the guest, already
/// in the batch format ([`batch`]).
#[derive(Default)]
struct Pending {
    data: Vec<u8>,
    count: usize,
    lengths: batch::Lengths,
    lost: u64,
}

impl Pending {
    fn push(&mut self, record: &[u8], cpu: u32) {
        batch::push(&mut self.data, record, cpu);
        self.count += 1;
        // A record is at most a perf buffer's size, far below u32::MAX.
        self.lengths = self.lengths.with(record.len() as u32);
    }

    fn is_full(&self, max: usize) -> bool {
        self.count >= max || self.data.len() >= MAX_BATCH_BYTES
    }

    /// Hands over up to `max` records (and the lost count), keeping the rest.
    fn take(&mut self, max: usize) -> Batch {
        let lost = std::mem::take(&mut self.lost);
        if self.count <= max {
            // The next batch is likely as big: start it with that much room.
            let room = Vec::with_capacity(self.data.len());
            let count = std::mem::take(&mut self.count);
            return Batch {
                count: count as u32,
                stride: std::mem::take(&mut self.lengths).stride(),
                data: std::mem::replace(&mut self.data, room),
                lost,
            };
        }
        let mut cut = 0;
        for _ in 0..max {
            // Pushed whole by `push`, so every record is there.
            cut = batch::record(&self.data, cut).map_or(self.data.len(), |(_, _, next)| next);
        }
        let rest = self.data.split_off(cut);
        self.count -= max;
        // Records of one length leave records of that length; of mixed
        // lengths, the rest may or may not be: saying mixed is never wrong.
        Batch {
            count: max as u32,
            stride: self.lengths.stride(),
            data: std::mem::replace(&mut self.data, rest),
            lost,
        }
    }
}

enum Consumer {
    Ring(Ring),
    Perf(PerfBuffer<'static>),
}

/// The host side of a guest's `buffer`.
pub struct BpfBuffer {
    consumer: Consumer,
    /// The wait set registered with the async runtime, for the buffer's
    /// pollable: made by the first `ready` (a buffer opened outside a
    /// runtime, as by a host that only polls, never needs it) and kept,
    /// so that later waits do not register again. Declared before
    /// `wait_set`, so it is deregistered before that fd closes.
    registered: Option<AsyncFd<RawFd>>,
    /// What `poll` waits on: the consumer's fds and both steps of the
    /// run's stop.
    wait_set: OwnedFd,
    /// Room for one event per fd of the wait set.
    events: Vec<epoll::Event>,
    /// Perf buffers: the CPUs whose buffers the last wait found readable.
    woken: Vec<usize>,
    stop: Arc<Stop>,
    /// Whether the last batch since the stop request was read.
    drained: bool,
    /// Perf buffers: whether a CPU may hold records that the wait set will
    /// not report again, so that `poll` must read every CPU before it
    /// waits. A perf fd reports its wake-up to the first poll of it only:
    /// a CPU the wait found ready but `fill` did not read (the batch was
    /// full), or any CPU once the async runtime also polls the wait set
    /// (after `subscribe`), may hold records nothing will report. Otherwise
    /// every sample reports itself (libbpf wakes on each one), and reading
    /// every CPU before each wait was what a perf consumer paid most per
    /// sample beyond native.
    unreported: bool,
    pending: Rc<RefCell<Pending>>,
    /// An fd of our own keeps the map, and so the consumer's epoll
    /// registration, alive even if the guest drops the map and the object.
    _map: MapHandle,
    /// The map's object, whose maps stay charged to the guest's kernel
    /// memory for as long as this buffer keeps one of them alive.
    _object: Option<SharedObject>,
    /// A perf buffer's own pages, charged likewise.
    _pages: Option<Charge>,
    /// The run's counts of records handed over and lost.
    counts: Arc<BufferCounts>,
}

// SAFETY: the only values that are not `Send` are the `Rc`s to `pending`:
// the one above and those inside the consumer's callbacks. All are owned by
// this struct, never cloned out of it, and the callbacks only run inside
// `fill` (through `&mut self`), so moving the struct to another thread
// moves every reference to `pending` with it.
unsafe impl Send for BpfBuffer {}

fn io_error(what: &str, err: rustix::io::Errno) -> BpfError {
    BpfError::with_errno(
        ErrorCode::Other,
        err.raw_os_error(),
        format!("{what}: {err}"),
    )
}

/// An epoll set of the fds that signal records, and the stop's eventfds,
/// with the number of fds in it. The fds go in directly, not libbpf's epoll
/// fd that holds them: one level of epoll less per wake-up. An event's data
/// is 0 for the stop and the ring, and `1 + cpu` for a perf buffer's
/// per-CPU fd, so that only woken CPUs are read.
fn wait_set(consumer: &Consumer, map: &MapHandle, stop: &Stop) -> BpfResult<(OwnedFd, usize)> {
    let set = epoll::create(epoll::CreateFlags::CLOEXEC)
        .map_err(|e| io_error("creating the wait set", e))?;
    let add = |fd: BorrowedFd<'_>, data: u64| {
        epoll::add(
            &set,
            fd,
            epoll::EventData::new_u64(data),
            epoll::EventFlags::IN,
        )
        .map_err(|e| io_error("filling the wait set", e))
    };
    add(stop.requested.fd(), 0)?;
    add(stop.forced.fd(), 0)?;
    let fds = match consumer {
        // A ring buffer map's fd is readable while records are unread.
        Consumer::Ring(_) => {
            add(map.as_fd(), 0)?;
            3
        }
        Consumer::Perf(perf) => {
            for cpu in 0..perf.buffer_cnt() {
                let raw = perf
                    .buffer_fd(cpu)
                    .map_err(|e| BpfError::libbpf("reading the perf buffer's fds", &e, ""))?;
                // SAFETY: the perf buffer owns this fd and outlives the
                // call; the epoll set keeps its own reference to the file.
                add(unsafe { BorrowedFd::borrow_raw(raw) }, 1 + cpu as u64)?;
            }
            2 + perf.buffer_cnt()
        }
    };
    Ok((set, fds))
}

/// The pages per CPU of a perf buffer: a power of two up to the cap.
fn perf_pages(asked: Option<u32>) -> BpfResult<usize> {
    let pages = asked.unwrap_or(64);
    if !pages.is_power_of_two() {
        return Err(BpfError::new(
            ErrorCode::InvalidArgument,
            format!("perf-pages-per-cpu must be a power of two, not {pages}"),
        ));
    }
    if pages > MAX_PERF_PAGES {
        return Err(BpfError::new(
            ErrorCode::LimitExceeded,
            format!("perf-pages-per-cpu is at most {MAX_PERF_PAGES}, not {pages}"),
        ));
    }
    Ok(pages as usize)
}

fn interrupted() -> BpfError {
    BpfError::Trap(wasmtime::format_err!(
        "the guest was interrupted while polling a buffer"
    ))
}

fn stopping() -> BpfError {
    BpfError::with_errno(
        ErrorCode::Stopping,
        libc::EINTR,
        "the host asked the guest to stop (a signal or --timeout) and no record is left",
    )
}

impl BpfBuffer {
    fn open(
        map: &mut BpfMap,
        options: &BufferOptions,
        stop: &Arc<Stop>,
        memory: &KernelMemory,
        observer: &dyn Observer,
    ) -> BpfResult<Self> {
        let handle = map.handle()?;
        let own = MapHandle::try_from(handle)
            .map_err(|e| BpfError::libbpf("duplicating the map fd", &e, ""))?;
        let pending = Rc::new(RefCell::new(Pending::default()));
        let mut charge = None;
        let consumer = match own.map_type() {
            MapType::RingBuf => {
                let ring = Ring::map(own.as_fd(), own.max_entries() as usize).map_err(|e| {
                    BpfError::os(
                        "mapping the ring buffer",
                        e.raw_os_error().unwrap_or(libc::EIO),
                    )
                })?;
                Consumer::Ring(ring)
            }
            MapType::PerfEventArray => {
                let samples = Rc::clone(&pending);
                let losses = Rc::clone(&pending);
                let pages = perf_pages(options.perf_pages_per_cpu)?;
                charge = Some(memory.charge(perf_buffer_bytes(pages), || {
                    format!("a perf buffer of {pages} pages on every CPU")
                })?);
                let perf = PerfBufferBuilder::new(&own)
                    .pages(pages)
                    .sample_cb(move |cpu, record: &[u8]| {
                        samples.borrow_mut().push(record, cpu as u32)
                    })
                    .lost_cb(move |_cpu, count| losses.borrow_mut().lost += count)
                    .build()
                    .map_err(|e| BpfError::libbpf("opening the perf buffer", &e, ""))?;
                Consumer::Perf(perf)
            }
            other => {
                return Err(BpfError::new(
                    ErrorCode::InvalidArgument,
                    format!(
                        "map `{}` is a {other:?} map; a buffer reads a ring buffer or a perf event array",
                        own.name().to_string_lossy()
                    ),
                ))
            }
        };
        let (wait_set, fds) = wait_set(&consumer, &own, stop)?;
        let counts = observer.buffer_opened(
            &own.name().to_string_lossy(),
            match consumer {
                Consumer::Ring(_) => BufferSource::Ring,
                Consumer::Perf(_) => BufferSource::Perf,
            },
        );
        Ok(Self {
            counts,
            registered: None,
            wait_set,
            events: Vec::with_capacity(fds),
            woken: Vec::with_capacity(fds),
            consumer,
            stop: Arc::clone(stop),
            drained: false,
            unreported: true,
            pending,
            _map: own,
            _object: map.object().cloned(),
            _pages: charge,
        })
    }

    fn kind(&self) -> BufferKind {
        match self.consumer {
            Consumer::Ring(_) => BufferKind::RingBuffer,
            Consumer::Perf(_) => BufferKind::PerfBuffer,
        }
    }

    /// Moves ready records from the kernel into `pending`, without waiting:
    /// from every CPU's perf buffer, or (`only_woken`) those the last wait
    /// found readable.
    fn fill(&mut self, max: usize, only_woken: bool) -> BpfResult<()> {
        match &mut self.consumer {
            Consumer::Ring(ring) => {
                let mut pending = self.pending.borrow_mut();
                while !pending.is_full(max) {
                    let room = max - pending.count;
                    let bytes = MAX_BATCH_BYTES - pending.data.len();
                    let drained = ring.drain(&mut pending.data, room, bytes);
                    pending.count += drained.records;
                    pending.lengths = pending.lengths.then(drained.lengths);
                    if !drained.advanced {
                        break;
                    }
                }
                Ok(())
            }
            Consumer::Perf(perf) => {
                // A perf buffer cannot stop mid-CPU; what exceeds `max`
                // stays in `pending` for the next poll.
                if self.pending.borrow().is_full(max) {
                    self.unreported |= only_woken && !self.woken.is_empty();
                    return Ok(());
                }
                let consumed = if only_woken {
                    self.woken
                        .iter()
                        .try_for_each(|&cpu| perf.consume_buffer(cpu))
                } else {
                    perf.consume()
                };
                if consumed.is_ok() && !only_woken {
                    self.unreported = self.registered.is_some();
                }
                consumed.map_err(|e| BpfError::libbpf("consuming the perf buffer", &e, ""))
            }
        }
    }

    /// Blocks until the wait set is ready or `timeout` passes, noting which
    /// perf buffers woke it. `poll` is a synchronous host call, so it
    /// blocks the guest's thread here rather than yielding to the async
    /// runtime; the stop's eventfds in the wait set end the wait on
    /// SIGINT, SIGTERM or the timeout. Guests that want to wait on several
    /// things at once use the buffer's pollable instead.
    fn wait(&mut self, timeout: Option<Duration>) -> BpfResult<()> {
        let timeout = timeout.map(|t| Timespec {
            tv_sec: t.as_secs().try_into().unwrap_or(i64::MAX),
            tv_nsec: t.subsec_nanos().into(),
        });
        self.events.clear();
        self.woken.clear();
        match epoll::wait(
            &self.wait_set,
            spare_capacity(&mut self.events),
            timeout.as_ref(),
        ) {
            Ok(_) | Err(Errno::INTR) => {}
            Err(e) => return Err(io_error("waiting for the buffer", e)),
        }
        let woken = self
            .events
            .iter()
            .filter_map(|e| e.data.u64().checked_sub(1));
        self.woken.extend(woken.map(|cpu| cpu as usize));
        Ok(())
    }

    fn poll(&mut self, timeout: Option<Duration>, max: usize) -> BpfResult<Batch> {
        let batch = self.next_batch(timeout, max)?;
        self.counts.add(batch.count.into(), batch.lost);
        Ok(batch)
    }

    fn next_batch(&mut self, timeout: Option<Duration>, max: usize) -> BpfResult<Batch> {
        // The clock is read only to wait: a consumer that keeps up polls
        // once per record or two, and two clock reads per poll were a tenth
        // of its time.
        let mut deadline: Option<Instant> = None;
        let mut waited = false;
        loop {
            if self.stop.forced.cause().is_some() {
                return Err(interrupted());
            }
            if self.stop.requested.cause().is_some() {
                return self.last_batch(max);
            }
            // A perf buffer may skip reading every CPU only when it will
            // wait and be told which ones have samples; a poll that does
            // not wait must read them all.
            let read_first = match self.consumer {
                Consumer::Ring(_) => true,
                Consumer::Perf(_) => {
                    self.unreported || self.registered.is_some() || timeout == Some(Duration::ZERO)
                }
            };
            if waited || read_first {
                self.fill(max, waited)?;
            }
            {
                let mut pending = self.pending.borrow_mut();
                if pending.count > 0 || pending.lost > 0 {
                    return Ok(pending.take(max));
                }
            }
            let left = match (timeout, deadline) {
                (Some(t), None) if !t.is_zero() => {
                    deadline = Some(Instant::now() + t);
                    Some(t)
                }
                (Some(_), Some(d)) => Some(d.saturating_duration_since(Instant::now())),
                (timeout, _) => timeout,
            };
            if left == Some(Duration::ZERO) {
                return Ok(self.pending.borrow_mut().take(max));
            }
            self.wait(left)?;
            waited = true;
        }
    }

    /// Asked to stop, the guest gets one more batch of what is queued,
    /// every CPU's (read once, so a producer that never pauses cannot keep
    /// it from ending), then `stopping` rather than a wait.
    fn last_batch(&mut self, max: usize) -> BpfResult<Batch> {
        if !self.drained {
            self.drained = true;
            self.fill(max, false)?;
        }
        let mut pending = self.pending.borrow_mut();
        if pending.count > 0 || pending.lost > 0 {
            return Ok(pending.take(max));
        }
        Err(stopping())
    }
}

#[async_trait::async_trait]
impl Pollable for BpfBuffer {
    /// Moves ready records into `pending`, where the next `poll` finds
    /// them, waiting on the wait set while there are none. Reading is the
    /// only reliable test: a perf event fd reports readiness once per
    /// wake-up, so merely probing it would lose the wake-up.
    async fn ready(&mut self) {
        // Registered before the first read, so a record that arrives in
        // between still wakes the wait.
        if self.registered.is_none() {
            // SAFETY: the wait set is owned by `self` and stays open until
            // after `registered`, declared before it, is dropped.
            let fd = unsafe {
                AsyncFd::register_with_interest(self.wait_set.as_raw_fd(), Interest::READABLE)
            };
            match fd {
                Ok(fd) => self.registered = Some(fd),
                Err(_) => return,
            }
        }
        loop {
            // An error or a stopping run makes the buffer "ready": the
            // guest's next `poll` reports it.
            if self.fill(usize::MAX, false).is_err() || self.stop.requested.cause().is_some() {
                return;
            }
            {
                let pending = self.pending.borrow();
                if pending.count > 0 || pending.lost > 0 {
                    return;
                }
            }
            let Some(fd) = &self.registered else { return };
            let Ok(mut guard) = fd.readable().await else {
                return;
            };
            guard.clear_ready();
        }
    }
}

impl HostBuffer for BpfCtxView<'_> {
    fn open(
        &mut self,
        map: Resource<BpfMap>,
        options: BufferOptions,
    ) -> BpfResult<Resource<BpfBuffer>> {
        self.ctx.limits.check(Held::Buffer, 1)?;
        let stop = Arc::clone(&self.ctx.stop);
        let buffer = BpfBuffer::open(
            self.table.get_mut(&map)?,
            &options,
            &stop,
            &self.ctx.kernel_memory,
            &*self.ctx.observer,
        )?;
        self.push_counted(Held::Buffer, buffer)
    }

    fn kind(&mut self, this: Resource<BpfBuffer>) -> wasmtime::Result<BufferKind> {
        Ok(self.table.get(&this)?.kind())
    }

    fn poll(
        &mut self,
        this: Resource<BpfBuffer>,
        timeout_ms: Option<u32>,
        max_records: u32,
    ) -> BpfResult<Batch> {
        let max = match max_records {
            0 => usize::MAX,
            n => n as usize,
        };
        let timeout = timeout_ms.map(|ms| Duration::from_millis(ms.into()));
        self.ctx.observer.guest_waits();
        self.table.get_mut(&this)?.poll(timeout, max)
    }

    fn subscribe(&mut self, this: Resource<BpfBuffer>) -> wasmtime::Result<Resource<DynPollable>> {
        self.ctx.observer.guest_waits();
        wasmtime_wasi::p2::subscribe(self.table, this)
    }

    fn drop(&mut self, this: Resource<BpfBuffer>) -> wasmtime::Result<()> {
        self.delete_counted(Held::Buffer, this)
    }
}

impl Host for BpfCtxView<'_> {}

#[cfg(test)]
mod tests {
    use super::*;

    fn records(batch: &Batch) -> Vec<(u32, Vec<u8>)> {
        let mut out = Vec::new();
        let mut at = 0;
        for _ in 0..batch.count {
            let (record, cpu, next) = batch::record(&batch.data, at).expect("a whole record");
            out.push((cpu, record.to_vec()));
            at = next;
        }
        assert_eq!(at, batch.data.len(), "records fill the batch exactly");
        out
    }

    #[test]
    fn batches_pack_aligned_records_and_keep_the_rest() {
        let mut pending = Pending::default();
        pending.push(b"abc", 1);
        pending.push(&[7; 8], 0);
        pending.push(b"0123456789", 3);
        pending.lost = 5;
        let first = pending.take(2);
        assert_eq!((first.count, first.lost), (2, 5));
        assert_eq!(records(&first), [(1, b"abc".to_vec()), (0, vec![7; 8])]);
        assert_eq!(first.data.len(), 8 + 8 + 8 + 8);
        let rest = pending.take(usize::MAX);
        assert_eq!((rest.count, rest.lost), (1, 0));
        assert_eq!(records(&rest), [(3, b"0123456789".to_vec())]);
        let empty = pending.take(10);
        assert_eq!((empty.count, empty.data.len()), (0, 0));
        assert_eq!((first.stride, rest.stride, empty.stride), (0, 0, 0));
    }

    #[test]
    fn records_of_one_length_come_with_their_stride() {
        let mut pending = Pending::default();
        for seed in 0..3 {
            pending.push(&[seed; 12], 0);
        }
        let first = pending.take(2);
        let rest = pending.take(usize::MAX);
        assert_eq!((first.stride, rest.stride), (24, 24));
        let at = first.stride as usize;
        assert_eq!(
            batch::record(&first.data, at).map(|r| r.0),
            Some(&[1; 12][..])
        );
        pending.push(&[0; 12], 0);
        pending.push(&[0; 16], 0);
        assert_eq!(pending.take(usize::MAX).stride, 0, "lengths differ");
    }
}
