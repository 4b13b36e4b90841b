//! Ring and perf buffers, read in batches.

use std::time::Duration;

use bytemuck::Pod;

use crate::bindings::buffer::{self, BufferOptions};
use crate::{BufferKind, Error, Map, Result};

/// A consumer of a ring buffer or perf event array map.
pub struct Buffer {
    inner: buffer::Buffer,
}

/// The records one poll returned.
pub struct Batch {
    /// Records in the host's format: a [`BATCH_HEADER`]-byte header
    /// (length, CPU), the record, padding to [`BATCH_ALIGN`] bytes.
    data: Vec<u8>,
    count: u32,
    /// From one header to the next when every record has one length;
    /// 0 when they differ.
    stride: u32,
    lost: u64,
}

/// One record of a batch: the bytes the BPF program submitted.
#[derive(Clone, Copy)]
pub struct Record<'a> {
    bytes: &'a [u8],
    cpu: u32,
}

/// Bytes of the header (length, CPU) before each record of a batch
/// (`batch` in `wit/buffer.wit`; `host/runtime/src/bpf/batch.rs` checks these
/// against the WIT and the host).
pub const BATCH_HEADER: usize = 8;

/// Every header of a batch starts at a multiple of this.
pub const BATCH_ALIGN: usize = 8;

/// Walks the records of a batch's data.
pub struct Records<'a> {
    data: &'a [u8],
    left: u32,
    /// Every record's length, when the batch's stride says they have one
    /// and the data holds them all: the next record is then found without
    /// reading this one's header first.
    same: Option<usize>,
}

/// A record's length and CPU from its header at the start of `data`.
#[inline]
fn header(data: &[u8]) -> Option<(usize, u32)> {
    let header = data.get(..BATCH_HEADER)?;
    let len = u32::from_ne_bytes([header[0], header[1], header[2], header[3]]) as usize;
    let cpu = u32::from_ne_bytes([header[4], header[5], header[6], header[7]]);
    Some((len, cpu))
}

impl<'a> Records<'a> {
    fn new(data: &'a [u8], count: u32, stride: u32) -> Self {
        let stride = stride as usize;
        // The stride is believed only if it is the first record's and the
        // data holds `count` records of it; otherwise the headers are walked.
        let same = header(data).map(|(len, _)| len).filter(|&len| {
            stride == BATCH_HEADER + len.next_multiple_of(BATCH_ALIGN)
                && (count as usize).checked_mul(stride) <= Some(data.len())
        });
        Self {
            data,
            left: count,
            same,
        }
    }
}

impl<'a> Iterator for Records<'a> {
    type Item = Record<'a>;

    #[inline]
    fn next(&mut self) -> Option<Record<'a>> {
        if self.left == 0 {
            return None;
        }
        let (len, cpu) = match self.same {
            // The CPU is read, but nothing waits on it to find the next record.
            Some(len) => (len, header(self.data)?.1),
            None => header(self.data)?,
        };
        let bytes = self.data.get(BATCH_HEADER..BATCH_HEADER + len)?;
        self.data = self
            .data
            .get(BATCH_HEADER + len.next_multiple_of(BATCH_ALIGN)..)
            .unwrap_or_default();
        self.left -= 1;
        Some(Record { bytes, cpu })
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let known = if self.same.is_some() { self.left } else { 0 };
        (known as usize, Some(self.left as usize))
    }
}

impl Buffer {
    /// Starts consuming `map`, a ring buffer or perf event array of a
    /// loaded object.
    pub fn open(map: &Map) -> Result<Self> {
        Self::open_with(map, None)
    }

    /// Like [`open`](Self::open), with the pages per CPU of a perf buffer
    /// (a power of two; libbpf-rs's default is 64).
    pub fn open_with(map: &Map, perf_pages_per_cpu: Option<u32>) -> Result<Self> {
        let options = BufferOptions { perf_pages_per_cpu };
        Ok(Self {
            inner: buffer::Buffer::open(map.as_raw(), options)?,
        })
    }

    /// Whether this reads a ring buffer or a perf buffer.
    pub fn kind(&self) -> BufferKind {
        self.inner.kind()
    }

    /// Waits up to `timeout` (forever for `None`) for records and returns
    /// all that are ready. An empty batch means the timeout passed. Once
    /// the host asks the guest to stop, it returns one more batch of what
    /// is queued, then the error for which
    /// [`Error::is_stopping`](crate::Error::is_stopping) holds.
    pub fn poll(&mut self, timeout: Option<Duration>) -> Result<Batch> {
        self.poll_max(timeout, 0)
    }

    /// [`poll`](Self::poll) for a loop that runs until the guest is asked
    /// to stop: `None` then, after the last queued record has been
    /// returned.
    pub fn next_batch(&mut self, timeout: Option<Duration>) -> Result<Option<Batch>> {
        match self.poll(timeout) {
            Ok(batch) => Ok(Some(batch)),
            Err(e) if e.is_stopping() => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// A [`Pollable`](crate::Pollable) that is ready while records wait,
    /// to wait on several buffers and timers at once with
    /// [`wait_any`](crate::wait_any); then `poll` the ready buffers with
    /// a zero timeout. Drop it before the buffer.
    pub fn subscribe(&self) -> crate::Pollable {
        self.inner.subscribe()
    }

    /// Like [`poll`](Self::poll), returning at most `max` records (0: no
    /// limit); the rest wait for the next poll.
    pub fn poll_max(&mut self, timeout: Option<Duration>, max: u32) -> Result<Batch> {
        let timeout_ms = timeout.map(|t| u32::try_from(t.as_millis()).unwrap_or(u32::MAX));
        let batch = self.inner.poll(timeout_ms, max)?;
        Ok(Batch {
            data: batch.data,
            count: batch.count,
            stride: batch.stride,
            lost: batch.lost,
        })
    }
}

impl Batch {
    /// Number of records.
    pub fn len(&self) -> usize {
        self.count as usize
    }

    /// Whether the batch has no records.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Perf buffers: samples the kernel dropped since the previous poll
    /// because a CPU's buffer was full. Always 0 for ring buffers.
    pub fn lost(&self) -> u64 {
        self.lost
    }

    /// The records, in the order the kernel produced them.
    pub fn iter(&self) -> Records<'_> {
        Records::new(&self.data, self.count, self.stride)
    }
}

impl<'a> IntoIterator for &'a Batch {
    type Item = Record<'a>;
    type IntoIter = Records<'a>;

    fn into_iter(self) -> Records<'a> {
        self.iter()
    }
}

impl<'a> Record<'a> {
    /// The record's bytes.
    pub fn bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// Perf buffers: the CPU the sample came from (0 for ring buffers).
    pub fn cpu(&self) -> u32 {
        self.cpu
    }

    /// The record as a `T`, in place. The record may be longer than `T`
    /// (perf buffers pad samples); it must not be shorter.
    // Inlined into the caller's loop: a call per record cost a drain a
    // third of its time.
    #[inline]
    pub fn decode<T: Pod>(&self) -> Result<&'a T> {
        let prefix = self.prefix::<T>()?;
        bytemuck::try_from_bytes(prefix).map_err(|e| misaligned(&e))
    }

    /// The record copied into a `T`, whatever its alignment.
    #[inline]
    pub fn read<T: Pod>(&self) -> Result<T> {
        Ok(bytemuck::pod_read_unaligned(self.prefix::<T>()?))
    }

    #[inline]
    fn prefix<T>(&self) -> Result<&'a [u8]> {
        match self.bytes.get(..size_of::<T>()) {
            Some(prefix) => Ok(prefix),
            None => Err(too_short(self.bytes.len(), size_of::<T>())),
        }
    }
}

#[cold]
fn too_short(len: usize, wanted: usize) -> Error {
    Error::invalid(format!(
        "the record is {len} bytes, shorter than the {wanted} bytes of the type read"
    ))
}

#[cold]
fn misaligned(e: &bytemuck::PodCastError) -> Error {
    Error::invalid(format!("decoding a record: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A batch in the host's format.
    fn batch(records: &[(&[u8], u32)]) -> Batch {
        // u64 storage keeps the data 8-byte aligned, as guest allocators do.
        let mut words: Vec<u64> = Vec::new();
        for (bytes, cpu) in records {
            words.push(u64::from(bytes.len() as u32) | (u64::from(*cpu) << 32));
            let mut padded = bytes.to_vec();
            padded.resize(bytes.len().next_multiple_of(8), 0);
            words.extend(
                padded
                    .chunks(8)
                    .map(|c| u64::from_ne_bytes(c.try_into().unwrap())),
            );
        }
        let data = bytemuck::cast_slice(&words).to_vec();
        let first = records.first().map_or(0, |r| r.0.len());
        let same = records.iter().all(|r| r.0.len() == first);
        Batch {
            data,
            count: records.len() as u32,
            stride: if same && !records.is_empty() {
                (BATCH_HEADER + first.next_multiple_of(BATCH_ALIGN)) as u32
            } else {
                0
            },
            lost: 0,
        }
    }

    fn seen(batch: &Batch) -> Vec<(Vec<u8>, u32)> {
        batch
            .iter()
            .map(|r| (r.bytes().to_vec(), r.cpu()))
            .collect()
    }

    #[test]
    fn a_stride_reads_the_same_records_as_the_headers() {
        let batch_of_one_length = batch(&[
            (b"abcdefghijk", 0),
            (b"lmnopqrstuv", 1),
            (b"wxyz0123456", 2),
        ]);
        assert_eq!(batch_of_one_length.stride, 24);
        let by_stride = seen(&batch_of_one_length);
        assert_eq!(batch_of_one_length.iter().size_hint(), (3, Some(3)));
        let mut walked = batch_of_one_length;
        walked.stride = 0;
        assert_eq!(by_stride, seen(&walked));
        assert_eq!(by_stride[2], (b"wxyz0123456".to_vec(), 2));
    }

    #[test]
    fn a_stride_that_does_not_fit_the_data_is_not_believed() {
        let mut lying = batch(&[(b"abc", 0), (b"0123456789", 1)]);
        assert_eq!(lying.stride, 0);
        lying.stride = 24;
        assert_eq!(seen(&lying)[1], (b"0123456789".to_vec(), 1));
        let mut short = batch(&[(b"abc", 0), (b"def", 0)]);
        short.data.truncate(24);
        assert_eq!(seen(&short).len(), 1, "the second record is cut short");
    }

    #[test]
    fn records_decode_in_place_and_short_ones_are_refused() {
        let mut first = [0u8; 12];
        first[..8].copy_from_slice(&7u64.to_ne_bytes());
        first[8..].copy_from_slice(&9u32.to_ne_bytes());
        let batch = batch(&[(&first, 1), (&11u64.to_ne_bytes(), 0)]);
        let records: Vec<Record<'_>> = batch.iter().collect();
        assert_eq!(records.len(), 2);
        assert_eq!((records[0].bytes().len(), records[0].cpu()), (12, 1));
        assert_eq!(records[0].read::<[u32; 3]>().unwrap(), [7, 0, 9]);
        assert_eq!(records[1].read::<u64>().unwrap(), 11);
        let err = records[1].read::<[u64; 2]>().unwrap_err();
        assert_eq!(err.code, crate::ErrorCode::InvalidArgument);
        assert!(err.message.contains("shorter"), "{}", err.message);
    }

    #[test]
    fn a_truncated_batch_ends_the_walk_instead_of_panicking() {
        let mut broken = batch(&[(b"12345678", 0), (b"abc", 0)]);
        broken.data.truncate(20);
        assert_eq!(broken.iter().count(), 1);
    }
}
