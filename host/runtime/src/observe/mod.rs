//! What a run reports as it goes, for whoever watches it: the host's
//! counts ([`Observer`], which `wasm-bpf-metrics` implements for
//! Prometheus) and the metrics the guest declares ([`GuestMetrics`]).
//!
//! The runtime only counts into plain atomics and calls the observer at
//! rare points (a buffer opened, a program loaded, a link taken), so a run
//! pays the same whether or not anyone watches, and this crate links no
//! metrics library.

pub mod guest_metrics;

use std::fmt::Debug;
use std::os::fd::BorrowedFd;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

pub use guest_metrics::GuestMetrics;

/// A ring buffer or a perf event array, as an observer labels a buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BufferSource {
    /// A `BPF_MAP_TYPE_RINGBUF`.
    Ring,
    /// A `BPF_MAP_TYPE_PERF_EVENT_ARRAY`.
    Perf,
}

impl BufferSource {
    /// `ring` or `perf`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Ring => "ring",
            Self::Perf => "perf",
        }
    }
}

/// The counts of one buffer's records, which the buffer adds to as it
/// hands records over (relaxed adds, read by whoever holds the `Arc`).
#[derive(Debug, Default)]
pub struct BufferCounts {
    received: AtomicU64,
    lost: AtomicU64,
}

impl BufferCounts {
    /// Counts `received` records handed to the guest and `lost` ones the
    /// kernel dropped.
    pub fn add(&self, received: u64, lost: u64) {
        if received > 0 {
            self.received.fetch_add(received, Ordering::Relaxed);
        }
        if lost > 0 {
            self.lost.fetch_add(lost, Ordering::Relaxed);
        }
    }

    /// Records handed to the guest so far.
    pub fn received(&self) -> u64 {
        self.received.load(Ordering::Relaxed)
    }

    /// Records the kernel dropped so far (perf buffers only).
    pub fn lost(&self) -> u64 {
        self.lost.load(Ordering::Relaxed)
    }
}

/// Who watches a run. Every method has a default that ignores the event,
/// so an embedder implements only what it follows; the calls come from the
/// guest's thread and must not block.
pub trait Observer: Send + Sync + Debug {
    /// A buffer on `map` opened: the counts it adds to. Buffers given the
    /// same `Arc` are counted together.
    fn buffer_opened(&self, map: &str, source: BufferSource) -> Arc<BufferCounts> {
        let _ = (map, source);
        Arc::default()
    }

    /// A host call failed with the WIT error code `code` (`not-found`, ...).
    fn host_call_failed(&self, code: &'static str) {
        let _ = code;
    }

    /// The guest's memories and tables now take `bytes` in all.
    fn guest_memory(&self, bytes: usize) {
        let _ = bytes;
    }

    /// The guest loaded the program `name` as `fd`.
    fn program_loaded(&self, fd: BorrowedFd<'_>, name: &str) {
        let _ = (fd, name);
    }

    /// The guest's object created the map `name` as `fd` (on loading).
    fn map_created(&self, fd: BorrowedFd<'_>, name: &str) {
        let _ = (fd, name);
    }

    /// The guest holds `links` links.
    fn links_held(&self, links: usize) {
        let _ = links;
    }

    /// The guest waits for events (a buffer's poll, the lifecycle's
    /// pollable).
    fn guest_waits(&self) {}
}

/// An observer that follows nothing.
#[derive(Debug, Default)]
pub struct Unobserved;

impl Observer for Unobserved {}
