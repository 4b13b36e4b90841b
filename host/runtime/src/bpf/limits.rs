//! Per-guest caps on what a guest holds in the kernel at once, so one
//! component cannot exhaust the host's BPF objects, fds or memory.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use crate::bindings::types::ErrorCode;
use crate::{BpfError, BpfResult};

/// A kind of capped resource.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Held {
    Object,
    Map,
    Program,
    Link,
    Buffer,
    Metric,
}

/// Most BPF objects a guest may have open at once.
pub const MAX_OBJECTS: usize = 64;
/// Most map resources a guest may hold at once. Each holds its own fd to
/// the kernel map once used, and several may name the same map.
pub const MAX_MAPS: usize = 1024;
/// Most program resources a guest may hold at once.
pub const MAX_PROGRAMS: usize = 1024;
/// Most links (attachments) a guest may hold at once.
pub const MAX_LINKS: usize = 1024;
/// Most ring and perf buffers a guest may consume at once.
pub const MAX_BUFFERS: usize = 64;
/// Most metric handles (`metrics.declare-*`) a guest may hold at once.
pub const MAX_METRIC_HANDLES: usize = 1024;
/// Most pages per CPU of one perf buffer (4 MiB with 4 KiB pages).
pub const MAX_PERF_PAGES: u32 = 1024;
/// Most kernel memory one map may be created with, as
/// `max_entries × (key + value)` (per CPU for per-CPU maps). The kernel
/// itself only stops at what it can allocate, after a long try.
pub const MAX_MAP_BYTES: u64 = 1 << 30;

/// Most kernel memory a guest's maps and buffers may take together, unless
/// `--max-kernel-memory` says otherwise.
pub const DEFAULT_KERNEL_MEMORY: u64 = 1 << 30;

/// Most bytes one host call may build for the guest (a map's keys, its
/// entries, an iterator's output) when `--max-memory` is the default.
pub const DEFAULT_RESULT_BYTES: usize = result_bytes(64 << 20);

/// Most bytes one host call may build for a guest whose memory is capped
/// at `max_memory`: a quarter of it, so that the guest can take the result
/// and still unpack it (the SDKs copy it once more into typed values).
/// Without this cap, a call whose result the guest could never hold would
/// still grow the host by that much before the guest trapped.
pub const fn result_bytes(max_memory: usize) -> usize {
    max_memory / 4
}

/// The error for a result over `cap` bytes: `what` it was, and `instead`,
/// the way to read it in parts.
pub(crate) fn result_too_big(what: &str, cap: usize, instead: &str) -> BpfError {
    BpfError::with_errno(
        ErrorCode::LimitExceeded,
        libc::ENOMEM,
        format!(
            "{what} take more than {cap} bytes, the most one call returns (a quarter of \
             the guest's --max-memory); {instead}"
        ),
    )
}

/// The least kernel memory a map of `ty` takes once created.
fn map_bytes(ty: libbpf_rs::MapType, key: u32, value: u32, entries: u32) -> u64 {
    use libbpf_rs::MapType;
    let (key, value, entries) = (u64::from(key), u64::from(value), u64::from(entries));
    match ty {
        MapType::RingBuf | MapType::UserRingBuf => entries,
        MapType::PerfEventArray => entries * 4,
        ty if ty.is_percpu() => {
            let cpus = libbpf_rs::num_possible_cpus().map_or(1, |n| n as u64);
            entries * (key + value.next_multiple_of(8) * cpus)
        }
        _ => entries * (key + value),
    }
}

/// The kernel memory map `name` (of `ty`, with these sizes) takes, or an
/// error above [`MAX_MAP_BYTES`], before the kernel is asked for it. A
/// hash map without preallocation counts as full: the guest's BPF side can
/// fill it.
pub(crate) fn map_kernel_bytes(
    name: &str,
    ty: libbpf_rs::MapType,
    key: u32,
    value: u32,
    entries: u32,
) -> BpfResult<u64> {
    let bytes = map_bytes(ty, key, value, entries);
    if bytes > MAX_MAP_BYTES {
        return Err(BpfError::new(
            ErrorCode::LimitExceeded,
            format!(
                "map `{name}` would take at least {bytes} bytes of kernel memory ({entries} \
                 entries of {key}-byte keys and {value}-byte values); a guest's map may take \
                 at most 1 GiB"
            ),
        ));
    }
    Ok(bytes)
}

/// Fails for a map of `open` bigger than [`MAX_MAP_BYTES`]; otherwise the
/// kernel memory all the maps `load` creates will take.
pub(crate) fn check_map_sizes(open: &libbpf_rs::OpenObject) -> BpfResult<u64> {
    let mut total = 0u64;
    for map in open.maps().filter(|m| m.autocreate()) {
        let bytes = map_kernel_bytes(
            &map.name().to_string_lossy(),
            map.map_type(),
            map.key_size(),
            map.value_size(),
            map.max_entries(),
        )?;
        total = total.saturating_add(bytes);
    }
    Ok(total)
}

/// The kernel memory of a perf buffer of `pages` pages on every CPU.
pub(crate) fn perf_buffer_bytes(pages: usize) -> u64 {
    let cpus = libbpf_rs::num_possible_cpus().map_or(1, |n| n as u64);
    // One page more per CPU: the ring's header page.
    (pages as u64 + 1) * page_size() * cpus
}

fn page_size() -> u64 {
    rustix::param::page_size() as u64
}

/// The kernel memory a guest's maps and buffers take, against its cap
/// (`--max-kernel-memory`). Each [`Charge`] holds its share until it is
/// dropped with what it paid for.
#[derive(Clone, Debug)]
pub struct KernelMemory {
    used: Arc<AtomicU64>,
    cap: u64,
}

/// Kernel memory taken by one object's maps or one buffer, given back on
/// drop.
#[derive(Debug)]
pub(crate) struct Charge {
    used: Arc<AtomicU64>,
    bytes: u64,
}

impl KernelMemory {
    pub fn new(cap: u64) -> Self {
        Self {
            used: Arc::new(AtomicU64::new(0)),
            cap,
        }
    }

    /// Takes `bytes` for `what`, or fails without taking anything if the
    /// guest's total would pass its cap.
    pub(crate) fn charge(&self, bytes: u64, what: impl FnOnce() -> String) -> BpfResult<Charge> {
        let taken = self
            .used
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |used| {
                used.checked_add(bytes).filter(|total| *total <= self.cap)
            });
        match taken {
            Ok(_) => Ok(Charge {
                used: Arc::clone(&self.used),
                bytes,
            }),
            Err(used) => Err(BpfError::with_errno(
                ErrorCode::LimitExceeded,
                libc::ENOMEM,
                format!(
                    "{} would take {bytes} bytes of kernel memory; the guest's maps and buffers \
                     already take {used} of its {} (raise it with `wasm-bpf run --max-kernel-memory`)",
                    what(),
                    self.cap
                ),
            )),
        }
    }

    /// The kernel memory taken now.
    pub fn used(&self) -> u64 {
        self.used.load(Ordering::SeqCst)
    }
}

impl Drop for Charge {
    fn drop(&mut self) {
        self.used.fetch_sub(self.bytes, Ordering::SeqCst);
    }
}

/// How many of each capped resource a guest holds.
#[derive(Default)]
pub struct Limits {
    live: [usize; 6],
}

impl Held {
    fn cap(self) -> usize {
        match self {
            Self::Object => MAX_OBJECTS,
            Self::Map => MAX_MAPS,
            Self::Program => MAX_PROGRAMS,
            Self::Link => MAX_LINKS,
            Self::Buffer => MAX_BUFFERS,
            Self::Metric => MAX_METRIC_HANDLES,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::Object => "BPF objects",
            Self::Map => "maps",
            Self::Program => "programs",
            Self::Link => "links",
            Self::Buffer => "buffers",
            Self::Metric => "metric handles",
        }
    }
}

impl Limits {
    /// Fails unless `n` more of `kind` fit under the cap.
    pub(crate) fn check(&self, kind: Held, n: usize) -> BpfResult<()> {
        let live = self.live[kind as usize];
        if live + n <= kind.cap() {
            return Ok(());
        }
        Err(BpfError::new(
            ErrorCode::LimitExceeded,
            format!(
                "a guest may hold at most {} {} at once (it holds {live}); drop some first",
                kind.cap(),
                kind.name()
            ),
        ))
    }

    /// Counts one more `kind`, once it is the guest's
    /// ([`BpfCtxView::push_counted`](super::BpfCtxView::push_counted)).
    pub(crate) fn add(&mut self, kind: Held) {
        self.live[kind as usize] += 1;
    }

    /// How many of `kind` the guest holds.
    pub(crate) fn held(&self, kind: Held) -> usize {
        self.live[kind as usize]
    }

    /// Counts one `kind` fewer, once it is dropped.
    pub(crate) fn remove(&mut self, kind: Held) {
        self.live[kind as usize] = self.live[kind as usize].saturating_sub(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernel_memory_is_charged_until_dropped() {
        let memory = KernelMemory::new(100);
        let a = memory.charge(60, || "a".into()).unwrap();
        let err = memory.charge(41, || "map `b`".into()).unwrap_err();
        let text = format!("{err:?}");
        assert!(
            text.contains("map `b` would take 41 bytes")
                && text.contains("already take 60 of its 100"),
            "{text}"
        );
        assert_eq!(memory.used(), 60);
        let b = memory.charge(40, || "b".into()).unwrap();
        assert_eq!(memory.used(), 100);
        drop(a);
        assert_eq!(memory.used(), 40);
        assert!(memory.charge(u64::MAX, || "huge".into()).is_err());
        drop(b);
        assert_eq!(memory.used(), 0);
    }

    #[test]
    fn caps_count_what_is_held() {
        let mut limits = Limits::default();
        limits.check(Held::Buffer, MAX_BUFFERS).unwrap();
        for _ in 0..MAX_BUFFERS {
            limits.add(Held::Buffer);
        }
        let err = limits.check(Held::Buffer, 1).unwrap_err();
        assert_eq!(err.guest().unwrap().code, ErrorCode::LimitExceeded);
        limits.check(Held::Link, 1).unwrap();
        limits.remove(Held::Buffer);
        limits.check(Held::Buffer, 1).unwrap();
    }
}
