//! The cap on a guest's memory (`--max-memory`): every linear memory and
//! every table of every instance together, so that a module with several
//! memories, or one huge `table.grow`, stays under it.

use std::sync::Arc;

use wasmtime::ResourceLimiter;

use crate::observe::{Observer, Unobserved};

/// What one table element is counted as: wasmtime keeps a pointer-sized
/// slot per element (a funcref or externref).
const TABLE_ELEMENT_BYTES: usize = 8;

/// Refuses to grow a guest's memories and tables past `max` bytes in all,
/// trapping with a message that names the limit: a refused `memory.grow`
/// would otherwise surface as an allocator abort with no reason given.
pub struct MemoryCap {
    max: usize,
    /// Bytes of memories and tables granted so far (an upper bound: a
    /// growth granted here that wasmtime then fails to make stays counted).
    used: usize,
    /// Who is told `used` (`wasm_bpf_guest_memory_bytes`).
    observer: Arc<dyn Observer>,
}

impl MemoryCap {
    pub fn new(max: usize) -> Self {
        Self {
            max,
            used: 0,
            observer: Arc::new(Unobserved),
        }
    }

    /// Tells `observer` the memory granted.
    pub fn reporting(mut self, observer: Arc<dyn Observer>) -> Self {
        self.observer = observer;
        self
    }

    fn grow(&mut self, what: &str, current: usize, desired: usize) -> wasmtime::Result<bool> {
        let more = desired.saturating_sub(current);
        let total = self.used.saturating_add(more);
        if total > self.max {
            return Err(wasmtime::format_err!(
                "the guest needs {total} bytes of memory and tables (growing a {what} to \
                 {desired} bytes), over its limit of {} bytes (raise it with \
                 `wasm-bpf run --max-memory`)",
                self.max
            ));
        }
        self.used = total;
        self.observer.guest_memory(total);
        Ok(true)
    }
}

impl ResourceLimiter for MemoryCap {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        self.grow("memory", current, desired)
    }

    fn table_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        self.grow(
            "table",
            current.saturating_mul(TABLE_ELEMENT_BYTES),
            desired.saturating_mul(TABLE_ELEMENT_BYTES),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memories_and_tables_count_together() {
        let mut cap = MemoryCap::new(1000);
        assert!(cap.memory_growing(0, 600, None).unwrap());
        // A second memory: its own size is under the cap, the sum is not.
        let err = cap.memory_growing(0, 500, None).unwrap_err();
        assert!(format!("{err}").contains("1100 bytes"), "{err}");
        assert!(cap.memory_growing(600, 800, None).unwrap());
        // 25 table elements are 200 bytes: exactly at the cap.
        assert!(cap.table_growing(0, 25, None).unwrap());
        assert!(cap.table_growing(25, 26, None).is_err());
    }
}
