//! The cap on a guest's linear memory (`--max-memory`).

use wasmtime::ResourceLimiter;

/// Refuses to grow a guest's memory past `max` bytes, trapping with a
/// message that names the limit: a refused `memory.grow` would otherwise
/// surface as an allocator abort with no reason given.
pub struct MemoryCap {
    max: usize,
}

impl MemoryCap {
    pub fn new(max: usize) -> Self {
        Self { max }
    }
}

impl ResourceLimiter for MemoryCap {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.max {
            return Err(wasmtime::format_err!(
                "the guest needs {desired} bytes of memory, over its limit of {} bytes \
                 (raise it with `wasm-bpf run --max-memory`)",
                self.max
            ));
        }
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        _desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(true)
    }
}
