//! A BPF ring buffer read span by span, instead of by libbpf's callback
//! per record.
//!
//! The kernel's ring already holds records nearly in the batch format
//! ([`batch`]): an 8-byte header (the length, with a busy and a discard
//! bit, then a page offset) before data padded to 8 bytes, so a record
//! takes the same stride in both. A drain therefore walks the headers of
//! the committed records (noting where each is), copies them all with one
//! `memcpy`, zeroes each copied page offset (the batch's CPU, 0 for a
//! ring), drops discarded records from the copy, and only then releases
//! the span to the producer. The walk is the one pass over memory the
//! producer wrote; the fix-ups go by the noted offsets, so they do not
//! wait on one another as a second walk would.
//! libbpf's ring buffer calls back once per record and exposes only the
//! positions of its mapping, not its data, which is why the ring is mapped
//! here, the way libbpf maps it: the consumer page read-write, the
//! producer page and the data read-only, the data twice in a row so that a
//! record wrapping past the end is contiguous. The memory ordering is
//! libbpf's (`ringbuf_process_ring`): acquire loads of the producer
//! position and of every header, a release store of the consumer position.

use std::ffi::c_void;
use std::os::fd::BorrowedFd;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use rustix::mm::{mmap, munmap, MapFlags, ProtFlags};

use super::batch;

/// Set in a header while the producer writes the record.
const BUSY: u32 = 1 << 31;
/// Set in a header of a record the producer discarded.
const DISCARD: u32 = 1 << 30;

/// The three parts of a mapped ring, as [`drain`] reads them.
struct View<'a> {
    consumer: &'a AtomicU64,
    producer: &'a AtomicU64,
    /// The data, `2 * (mask + 1)` bytes: the ring twice.
    data: *const u8,
    mask: u64,
}

/// What one [`Ring::drain`] did.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Drained {
    /// Records appended to the batch.
    pub(crate) records: usize,
    /// Whether the consumer position moved (also past discarded records
    /// only), so that another drain may find more.
    pub(crate) advanced: bool,
    /// The lengths of the records appended.
    pub(crate) lengths: batch::Lengths,
}

/// How far past the header it reads the walk asks for the ring's memory.
/// Each header's place depends on the length before it, so the walk
/// waits for one line after another, lines the producer's CPU wrote: asked
/// for early, their transfers overlap. A full ring drained 12% faster with
/// 16-byte records and twice as fast with 256-byte ones (768 and 2048
/// bytes ahead did as well as each other).
const PREFETCH_AHEAD: usize = 2048;

/// Hints to the CPU that the line at `at` will be read soon. A hint reads
/// nothing the program sees and never faults, wherever `at` points (past
/// the ring's mapping too).
#[inline(always)]
fn prefetch(at: *const u8) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch changes no memory and no state the program sees,
    // and does not fault on any address.
    unsafe {
        std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(at.cast());
    }
    #[cfg(target_arch = "aarch64")]
    // SAFETY: as above: `prfm` is a hint that never faults.
    unsafe {
        std::arch::asm!("prfm pldl1keep, [{0}]", in(reg) at, options(nostack, readonly, preserves_flags));
    }
    #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
    let _ = at;
}

/// In [`drain`]'s list of records walked: a discarded record.
const DISCARDED: u32 = 1 << 31;

/// Appends to `out`, in the batch format, the committed records after the
/// consumer position, at most `max` of them and, past the first record,
/// at most `max_bytes` of span (discarded records count); then releases
/// their span to the producer.
/// `walked` is scratch space, kept by the caller between drains.
fn drain(
    ring: &View<'_>,
    out: &mut Vec<u8>,
    walked: &mut Vec<u32>,
    max: usize,
    max_bytes: usize,
) -> Drained {
    let size = ring.mask + 1;
    let cons = ring.consumer.load(Ordering::Acquire);
    let prod = ring.producer.load(Ordering::Acquire);
    walked.clear();
    // The kernel keeps positions 8-aligned; one that is not was written
    // by another mapper of the ring, and reading a header there would be
    // a misaligned atomic access. Nothing is read until it is set right.
    if !cons.is_multiple_of(8) {
        return Drained::default();
    }
    let (mut pos, mut records, mut discarded) = (cons, 0, false);
    let mut lengths = batch::Lengths::Empty;
    while pos < prod && records < max {
        prefetch(
            ring.data
                .wrapping_add((pos & ring.mask) as usize + PREFETCH_AHEAD),
        );
        // SAFETY: `pos & mask` is inside the first copy of the data and
        // 8-aligned (the consumer position is, and every stride), so the
        // header is in the mapping and aligned.
        let header = unsafe {
            &*ring
                .data
                .add((pos & ring.mask) as usize)
                .cast::<AtomicU32>()
        };
        let len = header.load(Ordering::Acquire);
        if len & BUSY != 0 {
            break;
        }
        let stride = batch::stride((len & !DISCARD) as usize) as u64;
        // The kernel never commits a record past its own position, nor a
        // span longer than the ring. But the consumer page is writable by
        // whoever maps the ring (a second buffer on the same map, another
        // process sharing a pinned one), so a position and the headers
        // after it may be anything: the span stays within one ring's
        // length, which keeps every read inside the mapping.
        if stride > prod - pos || pos + stride - cons > size {
            break;
        }
        // Past the first record, the span (discarded records too) stays
        // within `max_bytes`: so do the copy and the list of offsets, even
        // for a ring full of discarded records.
        if pos > cons && pos + stride - cons > max_bytes as u64 {
            break;
        }
        // Offsets in the span fit: a span is at most the ring, and a
        // ring buffer map's size is below 4 GiB.
        let offset = (pos - cons) as u32;
        pos += stride;
        if len & DISCARD != 0 {
            discarded = true;
            walked.push(offset | DISCARDED);
        } else {
            records += 1;
            lengths = lengths.with(len);
            walked.push(offset);
        }
    }
    if pos == cons {
        return Drained::default();
    }
    let span = (pos - cons) as usize;
    let start = out.len();
    // SAFETY: the span starts in the first copy of the data and is at most
    // the ring's size long, so it ends inside the second copy; the
    // producer does not write it until the consumer position moves past.
    out.extend_from_slice(unsafe {
        std::slice::from_raw_parts(ring.data.add((cons & ring.mask) as usize), span)
    });
    rewrite_headers(out, start, walked, discarded);
    ring.consumer.store(pos, Ordering::Release);
    Drained {
        records,
        advanced: true,
        lengths,
    }
}

/// Turns the kernel's headers of the records copied to `out[start..]`, at
/// the offsets `walked`, into the batch's: a committed record's length has
/// no flag set, so only its page offset is replaced by CPU 0. Discarded
/// records (`discarded`: any) are removed. Every record's extent comes from
/// the walk (up to the next offset), never from the copy, which a writer
/// of the shared ring may have changed since.
fn rewrite_headers(out: &mut Vec<u8>, start: usize, walked: &[u32], discarded: bool) {
    if !discarded {
        for &offset in walked {
            let at = start + offset as usize + 4;
            out[at..at + 4].fill(0);
        }
        return;
    }
    let ends = walked
        .iter()
        .skip(1)
        .map(|&next| start + (next & !DISCARDED) as usize)
        .chain([out.len()]);
    let mut write = start;
    for (&offset, end) in walked.iter().zip(ends) {
        if offset & DISCARDED != 0 {
            continue;
        }
        let read = start + offset as usize;
        out.copy_within(read..end, write);
        out[write + 4..write + 8].fill(0);
        write += end - read;
    }
    out.truncate(write);
}

/// A ring buffer map, mapped for reading.
pub(crate) struct Ring {
    /// Where the records of the last drain were, reused.
    walked: Vec<u32>,
    /// The consumer page, read-write.
    consumer: NonNull<c_void>,
    page: usize,
    /// The producer page, then the data twice, read-only.
    producer: NonNull<c_void>,
    /// The ring's data size (the map's `max_entries`), a power of two.
    size: usize,
}

// SAFETY: the mappings are owned by the `Ring` and unmapped once, on drop;
// the kernel synchronises with the reader through the atomics only.
unsafe impl Send for Ring {}

impl Ring {
    /// Maps the ring of the ring buffer map `fd`, whose data is `size`
    /// bytes (its `max_entries`).
    pub(crate) fn map(fd: BorrowedFd<'_>, size: usize) -> std::io::Result<Self> {
        let page = rustix::param::page_size();
        if !size.is_power_of_two() || !size.is_multiple_of(page) {
            return Err(std::io::Error::from_raw_os_error(libc::EINVAL));
        }
        let producer_len = size
            .checked_mul(2)
            .and_then(|data| data.checked_add(page))
            .ok_or_else(|| std::io::Error::from_raw_os_error(libc::E2BIG))?;
        // SAFETY: a new shared mapping of the map's consumer page, which
        // the kernel allows read-write; nothing else refers to it.
        let consumer = unsafe {
            mmap(
                std::ptr::null_mut(),
                page,
                ProtFlags::READ | ProtFlags::WRITE,
                MapFlags::SHARED,
                fd,
                0,
            )
        }?;
        // SAFETY: the producer page and the data, mapped twice by the
        // kernel, read-only as the kernel requires.
        let producer = unsafe {
            mmap(
                std::ptr::null_mut(),
                producer_len,
                ProtFlags::READ,
                MapFlags::SHARED,
                fd,
                page as u64,
            )
        };
        let producer = match producer {
            Ok(p) => p,
            Err(e) => {
                // SAFETY: mapped above, not yet shared.
                let _ = unsafe { munmap(consumer, page) };
                return Err(e.into());
            }
        };
        Ok(Self {
            walked: Vec::new(),
            consumer: NonNull::new(consumer).ok_or(std::io::ErrorKind::Other)?,
            page,
            producer: NonNull::new(producer).ok_or(std::io::ErrorKind::Other)?,
            size,
        })
    }

    /// Appends committed records to `out` (see [`drain`]).
    pub(crate) fn drain(&mut self, out: &mut Vec<u8>, max: usize, max_bytes: usize) -> Drained {
        // SAFETY: the positions are the first 8 bytes of their pages,
        // which stay mapped while `self` lives; the kernel updates them
        // atomically.
        let view = unsafe {
            View {
                consumer: &*self.consumer.as_ptr().cast::<AtomicU64>(),
                producer: &*self.producer.as_ptr().cast::<AtomicU64>(),
                data: self.producer.as_ptr().cast::<u8>().add(self.page),
                mask: self.size as u64 - 1,
            }
        };
        drain(&view, out, &mut self.walked, max, max_bytes)
    }
}

impl Drop for Ring {
    fn drop(&mut self) {
        // SAFETY: both were mapped by `map` with these lengths and nothing
        // borrows from them past `drain`.
        unsafe {
            let _ = munmap(self.consumer.as_ptr(), self.page);
            let _ = munmap(self.producer.as_ptr(), self.page + 2 * self.size);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A ring in ordinary memory, with the kernel's producer protocol: a
    /// record is reserved with the busy bit, written, then committed by a
    /// release store of its length (with the discard bit, if discarded).
    struct Model {
        consumer: AtomicU64,
        producer: AtomicU64,
        /// The data twice: writes go to both copies, as the kernel's double
        /// mapping makes them appear.
        data: Vec<AtomicU32>,
        size: u64,
    }

    impl Model {
        fn new(size: u64) -> Self {
            Self {
                consumer: AtomicU64::new(0),
                producer: AtomicU64::new(0),
                data: (0..2 * size / 4).map(|_| AtomicU32::new(0)).collect(),
                size,
            }
        }

        fn view(&self) -> View<'_> {
            View {
                consumer: &self.consumer,
                producer: &self.producer,
                data: self.data.as_ptr().cast(),
                mask: self.size - 1,
            }
        }

        fn store(&self, pos: u64, word: u32, order: Ordering) {
            let at = ((pos % self.size) / 4) as usize;
            self.data[at].store(word, order);
            self.data[at + (self.size / 4) as usize].store(word, order);
        }

        /// Produces a record of `len` bytes whose words are `seed`, unless
        /// the ring is full; returns whether it did.
        fn produce(&self, len: u32, seed: u32, discard: bool) -> bool {
            let stride = batch::stride(len as usize) as u64;
            let prod = self.producer.load(Ordering::Relaxed);
            if prod + stride - self.consumer.load(Ordering::Acquire) > self.size {
                return false;
            }
            self.store(prod, BUSY | len, Ordering::Relaxed);
            self.store(prod + 4, 0xdead, Ordering::Relaxed);
            self.producer.store(prod + stride, Ordering::Release);
            for word in 0..(stride - 8) / 4 {
                self.store(prod + 8 + word * 4, seed, Ordering::Relaxed);
            }
            let committed = if discard { len | DISCARD } else { len };
            self.store(prod, committed, Ordering::Release);
            true
        }
    }

    /// The records of a batch: (length, every data word equal to the seed
    /// of the first, that seed).
    fn records(batch: &[u8]) -> Vec<(usize, u32)> {
        let mut out = Vec::new();
        let mut at = 0;
        while let Some((bytes, cpu, next)) = batch::record(batch, at) {
            assert_eq!(cpu, 0);
            let padded = &batch[at + 8..next];
            let seed = padded
                .get(..4)
                .map_or(0, |w| u32::from_ne_bytes(w.try_into().unwrap()));
            assert!(
                padded
                    .chunks(4)
                    .all(|w| u32::from_ne_bytes(w.try_into().unwrap()) == seed),
                "a torn record"
            );
            out.push((bytes.len(), seed));
            at = next;
        }
        assert_eq!(at, batch.len());
        out
    }

    /// A small deterministic generator, so a failure repeats.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
    }

    /// Records of every size, some discarded, wrap around a small ring
    /// many times; drains of random counts and byte caps hand over every
    /// committed record once, in order, whole, and never a discarded one.
    #[test]
    fn drains_keep_order_across_wrap_around_and_skip_discards() {
        let model = Model::new(4096);
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        let (mut expected, mut got, mut walked) = (Vec::new(), Vec::new(), Vec::new());
        let mut seed = 1;
        for _ in 0..20_000 {
            if !rng.next().is_multiple_of(3) {
                let len = (rng.next() % 300) as u32;
                let discard = rng.next().is_multiple_of(5);
                if model.produce(len, seed, discard) && !discard {
                    expected.push((len as usize, if len > 0 { seed } else { 0 }));
                }
                seed += 1;
            } else {
                let mut out = Vec::new();
                let max = 1 + (rng.next() % 40) as usize;
                let drained = drain(
                    &model.view(),
                    &mut out,
                    &mut walked,
                    max,
                    (rng.next() % 2048) as usize,
                );
                assert!(drained.records <= max);
                let batch = records(&out);
                assert_eq!(batch.len(), drained.records);
                got.extend(batch);
            }
        }
        loop {
            let mut out = Vec::new();
            if !drain(&model.view(), &mut out, &mut walked, usize::MAX, usize::MAX).advanced {
                break;
            }
            got.extend(records(&out));
        }
        assert!(
            model.producer.load(Ordering::Relaxed) > 10 * 4096,
            "it never wrapped"
        );
        assert_eq!(got, expected);
    }

    /// A record still being written stops the drain at it: nothing after
    /// it is handed over, and it is handed over once committed.
    #[test]
    fn a_busy_record_ends_the_drain() {
        let model = Model::new(4096);
        assert!(model.produce(16, 7, false));
        let busy_at = model.producer.load(Ordering::Relaxed);
        assert!(model.produce(16, 8, false));
        assert!(model.produce(16, 9, false));
        model.store(busy_at, BUSY | 16, Ordering::Release);
        let (mut out, mut walked) = (Vec::new(), Vec::new());
        let drained = drain(&model.view(), &mut out, &mut walked, usize::MAX, usize::MAX);
        assert_eq!(records(&out), [(16, 7)]);
        assert_eq!(drained.records, 1);
        model.store(busy_at, 16, Ordering::Release);
        out.clear();
        let drained = drain(&model.view(), &mut out, &mut walked, usize::MAX, usize::MAX);
        assert_eq!(records(&out), [(16, 8), (16, 9)]);
        assert_eq!(drained.lengths, batch::Lengths::Same(16));
        assert!(model.produce(24, 1, false));
        assert!(
            model.produce(8, 2, true),
            "discarded: not a record's length"
        );
        assert!(model.produce(16, 3, false));
        let drained = drain(&model.view(), &mut out, &mut walked, usize::MAX, usize::MAX);
        assert_eq!(drained.lengths, batch::Lengths::Mixed);
    }

    /// A consumer position far behind the producer's, as another mapper
    /// of a shared ring may write it, with garbage where headers should be:
    /// a drain reads no more than one ring's length and does not panic.
    #[test]
    fn a_forged_consumer_position_keeps_reads_inside_the_ring() {
        let model = Model::new(4096);
        for (i, word) in model.data.iter().enumerate() {
            // Lengths that are no record's: large, odd, with the discard
            // bit set on every other one.
            word.store(
                if i % 2 == 0 {
                    4000 + i as u32
                } else {
                    DISCARD | 3
                },
                Ordering::Relaxed,
            );
        }
        model.producer.store(1 << 40, Ordering::Relaxed);
        let (mut out, mut walked) = (Vec::new(), Vec::new());
        for forged in [0, 8, (1 << 40) - 4096 * 3, (1 << 40) - 8] {
            model.consumer.store(forged, Ordering::Relaxed);
            out.clear();
            drain(&model.view(), &mut out, &mut walked, usize::MAX, usize::MAX);
            assert!(out.len() <= 4096, "{forged}: {} bytes", out.len());
            assert!(model.consumer.load(Ordering::Relaxed) - forged <= 4096);
        }
    }

    /// A consumer position that is not 8-aligned (the kernel's always are)
    /// is not read from: no misaligned header is touched, nothing moves.
    #[test]
    fn an_unaligned_consumer_position_is_not_read() {
        let model = Model::new(4096);
        assert!(model.produce(16, 7, false));
        let (mut out, mut walked) = (Vec::new(), Vec::new());
        for forged in [4, 12, 1, 4095] {
            model.consumer.store(forged, Ordering::Relaxed);
            let drained = drain(&model.view(), &mut out, &mut walked, usize::MAX, usize::MAX);
            assert_eq!(drained, Drained::default(), "{forged}");
            assert!(out.is_empty());
            assert_eq!(model.consumer.load(Ordering::Relaxed), forged);
        }
    }

    /// A ring full of discarded records is drained in spans of at most
    /// `max_bytes`: the copy and the list of offsets stay that small (for
    /// a 1 GiB ring they grew to 1 GiB and 512 MiB), and every drain
    /// still advances until the ring is empty.
    #[test]
    fn discarded_records_count_against_the_drains_bytes() {
        let model = Model::new(1 << 16);
        while model.produce(0, 0, true) {}
        let (mut out, mut walked) = (Vec::new(), Vec::new());
        let mut drains = 0;
        loop {
            let drained = drain(&model.view(), &mut out, &mut walked, usize::MAX, 4096);
            if !drained.advanced {
                break;
            }
            assert_eq!(
                (drained.records, drained.lengths),
                (0, batch::Lengths::Empty)
            );
            assert!(walked.len() <= 4096 / 8, "{} offsets", walked.len());
            assert!(out.capacity() <= 2 * 4096, "{} bytes", out.capacity());
            drains += 1;
        }
        assert!(out.is_empty());
        assert_eq!(drains, (1 << 16) / 4096);
        assert_eq!(
            model.consumer.load(Ordering::Relaxed),
            model.producer.load(Ordering::Relaxed)
        );
    }

    /// A producer thread racing the consumer: every record arrives once,
    /// in order and whole.
    #[test]
    fn a_racing_producer_loses_and_tears_nothing() {
        const RECORDS: u32 = 200_000;
        let shape = |seed: u32| (4 + seed % 60, seed.is_multiple_of(7));
        let model = std::sync::Arc::new(Model::new(8192));
        let producer = {
            let model = std::sync::Arc::clone(&model);
            std::thread::spawn(move || {
                let mut seed = 1;
                while seed <= RECORDS {
                    let (len, discard) = shape(seed);
                    if model.produce(len, seed, discard) {
                        seed += 1;
                    } else {
                        std::hint::spin_loop();
                    }
                }
            })
        };
        let expected: Vec<(usize, u32)> = (1..=RECORDS)
            .filter(|&seed| !shape(seed).1)
            .map(|seed| (shape(seed).0 as usize, seed))
            .collect();
        let mut got = Vec::with_capacity(expected.len());
        let (mut out, mut walked) = (Vec::new(), Vec::new());
        while got.len() < expected.len() {
            out.clear();
            drain(&model.view(), &mut out, &mut walked, 64, 4096);
            got.extend(records(&out));
        }
        producer.join().unwrap();
        assert_eq!(got, expected);
    }
}
