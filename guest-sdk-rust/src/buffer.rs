//! Ring and perf buffers, read in batches.

use std::time::Duration;

use bytemuck::Pod;

use crate::bindings::buffer::{self, BufferOptions, Span};
use crate::{BufferKind, Error, Map, Result};

/// A consumer of a ring buffer or perf event array map.
pub struct Buffer {
    inner: buffer::Buffer,
}

/// The records one poll returned.
pub struct Batch {
    data: Vec<u8>,
    spans: Vec<Span>,
    lost: u64,
}

/// One record of a batch: the bytes the BPF program submitted.
#[derive(Clone, Copy)]
pub struct Record<'a> {
    bytes: &'a [u8],
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
    /// all that are ready. An empty batch means the timeout passed.
    pub fn poll(&mut self, timeout: Option<Duration>) -> Result<Batch> {
        self.poll_max(timeout, 0)
    }

    /// Like [`poll`](Self::poll), returning at most `max` records (0: no
    /// limit); the rest wait for the next poll.
    pub fn poll_max(&mut self, timeout: Option<Duration>, max: u32) -> Result<Batch> {
        let timeout_ms = timeout.map(|t| u32::try_from(t.as_millis()).unwrap_or(u32::MAX));
        let batch = self.inner.poll(timeout_ms, max)?;
        Ok(Batch {
            data: batch.data,
            spans: batch.spans,
            lost: batch.lost,
        })
    }
}

impl Batch {
    /// Number of records.
    pub fn len(&self) -> usize {
        self.spans.len()
    }

    /// Whether the batch has no records.
    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }

    /// Perf buffers: samples the kernel dropped since the previous poll
    /// because a CPU's buffer was full. Always 0 for ring buffers.
    pub fn lost(&self) -> u64 {
        self.lost
    }

    /// The records, in the order the kernel produced them.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = Record<'_>> {
        self.spans.iter().map(|s| Record {
            bytes: self
                .data
                .get(s.offset as usize..(s.offset + s.len) as usize)
                .unwrap_or_default(),
        })
    }
}

impl<'a> IntoIterator for &'a Batch {
    type Item = Record<'a>;
    type IntoIter = Box<dyn ExactSizeIterator<Item = Record<'a>> + 'a>;

    fn into_iter(self) -> Self::IntoIter {
        Box::new(self.iter())
    }
}

impl<'a> Record<'a> {
    /// The record's bytes.
    pub fn bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// The record as a `T`, in place. The record may be longer than `T`
    /// (perf buffers pad samples); it must not be shorter.
    pub fn decode<T: Pod>(&self) -> Result<&'a T> {
        let prefix = self.prefix::<T>()?;
        bytemuck::try_from_bytes(prefix)
            .map_err(|e| Error::invalid(format!("decoding a record: {e}")))
    }

    /// The record copied into a `T`, whatever its alignment.
    pub fn read<T: Pod>(&self) -> Result<T> {
        Ok(bytemuck::pod_read_unaligned(self.prefix::<T>()?))
    }

    fn prefix<T>(&self) -> Result<&'a [u8]> {
        self.bytes.get(..size_of::<T>()).ok_or_else(|| {
            Error::invalid(format!(
                "the record is {} bytes, shorter than the {} bytes of the type read",
                self.bytes.len(),
                size_of::<T>()
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_decode_in_place_and_short_ones_are_refused() {
        let mut data = vec![0u8; 24];
        data[..8].copy_from_slice(&7u64.to_ne_bytes());
        data[8..12].copy_from_slice(&9u32.to_ne_bytes());
        data[16..24].copy_from_slice(&11u64.to_ne_bytes());
        let batch = Batch {
            data,
            spans: vec![Span { offset: 0, len: 12 }, Span { offset: 16, len: 8 }],
            lost: 0,
        };
        let records: Vec<Record<'_>> = batch.iter().collect();
        assert_eq!(records.len(), 2);
        assert_eq!(*records[0].decode::<u64>().unwrap(), 7);
        assert_eq!(records[0].read::<[u32; 3]>().unwrap(), [7, 0, 9]);
        assert_eq!(*records[1].decode::<u64>().unwrap(), 11);
        let err = records[1].decode::<[u64; 2]>().unwrap_err();
        assert_eq!(err.code, crate::ErrorCode::InvalidArgument);
        assert!(err.message.contains("shorter"), "{}", err.message);
    }
}
