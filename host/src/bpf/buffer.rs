//! The `buffer` resource: a batched consumer of one ring or perf buffer.
//!
//! libbpf's consumers call a callback per record. The callback appends the
//! record to a pending batch (one byte vector, each record 8-byte aligned,
//! plus a span per record); `poll` hands the batch to the guest in one
//! call. Waiting is asynchronous on the consumer's epoll fd, so a guest
//! blocked in `poll` does not block the host from stopping it.

use std::cell::RefCell;
use std::os::fd::{AsRawFd, RawFd};
use std::rc::Rc;
use std::time::Duration;

use libbpf_rs::{
    MapCore as _, MapHandle, MapType, PerfBuffer, PerfBufferBuilder, RingBuffer, RingBufferBuilder,
};
use tokio::io::unix::AsyncFd;
use tokio::io::Interest;
use tokio::time::Instant;
use wasmtime::component::Resource;

use super::map::BpfMap;
use super::BpfCtxView;
use crate::bindings::buffer::{Batch, BufferKind, BufferOptions, Host, HostBuffer, Span};
use crate::bindings::types::ErrorCode;
use crate::{BpfError, BpfResult};

/// Records consumed per libbpf call while filling a batch.
const CHUNK: usize = 4096;

/// A batch stops growing past this many bytes, so that offsets stay small
/// and one poll cannot balloon guest memory.
const MAX_BATCH_BYTES: usize = 16 << 20;

/// Records taken from the kernel but not yet handed to the guest.
#[derive(Default)]
struct Pending {
    data: Vec<u8>,
    spans: Vec<Span>,
    lost: u64,
}

impl Pending {
    fn push(&mut self, record: &[u8]) {
        let offset = self.data.len().next_multiple_of(8);
        self.data.resize(offset, 0);
        self.data.extend_from_slice(record);
        // Both fit: `fill` stops at MAX_BATCH_BYTES, far below u32::MAX,
        // and a record is at most a ring's size.
        self.spans.push(Span {
            offset: offset as u32,
            len: record.len() as u32,
        });
    }

    fn is_full(&self, max: usize) -> bool {
        self.spans.len() >= max || self.data.len() >= MAX_BATCH_BYTES
    }

    /// Hands over up to `max` records (and the lost count), keeping the rest.
    fn take(&mut self, max: usize) -> Batch {
        let lost = std::mem::take(&mut self.lost);
        let count = self.spans.len().min(max);
        if count == self.spans.len() {
            return Batch {
                data: std::mem::take(&mut self.data),
                spans: std::mem::take(&mut self.spans),
                lost,
            };
        }
        let cut = self.spans[count].offset;
        let rest_data = self.data.split_off(cut as usize);
        let rest_spans = self.spans.split_off(count);
        let data = std::mem::replace(&mut self.data, rest_data);
        let spans = std::mem::replace(&mut self.spans, rest_spans);
        // `cut` is a multiple of 8, so the rest stays aligned.
        for span in &mut self.spans {
            span.offset -= cut;
        }
        Batch { data, spans, lost }
    }
}

enum Consumer {
    Ring(RingBuffer<'static>),
    Perf(PerfBuffer<'static>),
}

/// The consumer's epoll fd, owned by libbpf; registered with the async
/// reactor to wait for records.
struct EpollFd(RawFd);

impl AsRawFd for EpollFd {
    fn as_raw_fd(&self) -> RawFd {
        self.0
    }
}

/// The host side of a guest's `buffer`.
pub struct BpfBuffer {
    /// Declared first so it is dropped (deregistered) before `consumer`
    /// closes the epoll fd it watches.
    ready: Option<AsyncFd<EpollFd>>,
    consumer: Consumer,
    pending: Rc<RefCell<Pending>>,
    /// An fd of our own keeps the map, and so the consumer's epoll
    /// registration, alive even if the guest drops the map and the object.
    _map: MapHandle,
}

// SAFETY: the only values that are not `Send` are the two `Rc`s to
// `pending`: the one above and the one inside the consumer's callback. Both
// are owned by this struct, never cloned out of it, and the callback only
// runs inside `fill` (through `&mut self`), so moving the struct to another
// thread moves every reference to `pending` with it.
unsafe impl Send for BpfBuffer {}

fn io_error(what: &str, err: std::io::Error) -> BpfError {
    BpfError::with_errno(
        ErrorCode::Other,
        err.raw_os_error().unwrap_or(0),
        format!("{what}: {err}"),
    )
}

impl BpfBuffer {
    fn open(map: &mut BpfMap, options: &BufferOptions) -> BpfResult<Self> {
        let handle = map.handle()?;
        let own = MapHandle::try_from(handle)
            .map_err(|e| BpfError::libbpf("duplicating the map fd", &e, ""))?;
        let pending = Rc::new(RefCell::new(Pending::default()));
        let consumer = match own.map_type() {
            MapType::RingBuf => {
                let sink = Rc::clone(&pending);
                let mut builder = RingBufferBuilder::new();
                builder
                    .add(&own, move |record: &[u8]| {
                        sink.borrow_mut().push(record);
                        0
                    })
                    .map_err(|e| BpfError::libbpf("opening the ring buffer", &e, ""))?;
                Consumer::Ring(
                    builder
                        .build()
                        .map_err(|e| BpfError::libbpf("opening the ring buffer", &e, ""))?,
                )
            }
            MapType::PerfEventArray => {
                let samples = Rc::clone(&pending);
                let losses = Rc::clone(&pending);
                let pages = options.perf_pages_per_cpu.unwrap_or(64) as usize;
                let perf = PerfBufferBuilder::new(&own)
                    .pages(pages)
                    .sample_cb(move |_cpu, record: &[u8]| samples.borrow_mut().push(record))
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
        Ok(Self {
            ready: None,
            consumer,
            pending,
            _map: own,
        })
    }

    fn kind(&self) -> BufferKind {
        match self.consumer {
            Consumer::Ring(_) => BufferKind::RingBuffer,
            Consumer::Perf(_) => BufferKind::PerfBuffer,
        }
    }

    /// Moves ready records from the kernel into `pending`, without waiting.
    fn fill(&mut self, max: usize) -> BpfResult<()> {
        match &self.consumer {
            Consumer::Ring(ring) => loop {
                let room = {
                    let pending = self.pending.borrow();
                    if pending.is_full(max) {
                        return Ok(());
                    }
                    (max - pending.spans.len()).min(CHUNK)
                };
                let n = ring.consume_raw_n(room);
                if n < 0 {
                    return Err(BpfError::libbpf(
                        "consuming the ring buffer",
                        &libbpf_rs::Error::from_raw_os_error(-n),
                        "",
                    ));
                }
                if (n as usize) < room {
                    return Ok(());
                }
            },
            Consumer::Perf(perf) => {
                // A perf buffer cannot stop mid-CPU; what exceeds `max`
                // stays in `pending` for the next poll.
                if self.pending.borrow().is_full(max) {
                    return Ok(());
                }
                perf.consume()
                    .map_err(|e| BpfError::libbpf("consuming the perf buffer", &e, ""))
            }
        }
    }

    fn ready(&mut self) -> BpfResult<&AsyncFd<EpollFd>> {
        let ready = match self.ready.take() {
            Some(ready) => ready,
            None => {
                let fd = match &self.consumer {
                    Consumer::Ring(ring) => ring.epoll_fd(),
                    Consumer::Perf(perf) => perf.epoll_fd(),
                };
                // SAFETY: the epoll fd belongs to `consumer`, which is
                // dropped after `ready` (field order) and never replaces it.
                unsafe { AsyncFd::register_with_interest(EpollFd(fd), Interest::READABLE) }
                    .map_err(|e| io_error("watching the buffer", e.into()))?
            }
        };
        Ok(self.ready.insert(ready))
    }

    async fn poll(&mut self, timeout: Option<Duration>, max: usize) -> BpfResult<Batch> {
        let deadline = timeout.map(|t| Instant::now() + t);
        loop {
            self.fill(max)?;
            {
                let mut pending = self.pending.borrow_mut();
                let expired = deadline.is_some_and(|d| d <= Instant::now());
                if !pending.spans.is_empty() || pending.lost > 0 || expired {
                    return Ok(pending.take(max));
                }
            }
            let ready = self.ready()?.readable();
            let guard = match deadline {
                Some(deadline) => match tokio::time::timeout_at(deadline, ready).await {
                    Ok(guard) => guard,
                    // Expired: the next round drains once more and returns.
                    Err(_) => continue,
                },
                None => ready.await,
            };
            // Readiness is cleared before draining, so a record that
            // arrives after the drain wakes the next wait.
            guard
                .map_err(|e| io_error("waiting for the buffer", e))?
                .clear_ready();
        }
    }
}

impl HostBuffer for BpfCtxView<'_> {
    fn open(
        &mut self,
        map: Resource<BpfMap>,
        options: BufferOptions,
    ) -> BpfResult<Resource<BpfBuffer>> {
        let buffer = BpfBuffer::open(self.table.get_mut(&map)?, &options)?;
        Ok(self.table.push(buffer)?)
    }

    fn kind(&mut self, this: Resource<BpfBuffer>) -> wasmtime::Result<BufferKind> {
        Ok(self.table.get(&this)?.kind())
    }

    async fn poll(
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
        self.table.get_mut(&this)?.poll(timeout, max).await
    }

    fn drop(&mut self, this: Resource<BpfBuffer>) -> wasmtime::Result<()> {
        self.table.delete(this)?;
        Ok(())
    }
}

impl Host for BpfCtxView<'_> {}
