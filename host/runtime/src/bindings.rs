//! The one `bindgen!` of the BPF interfaces (see `wit/`).
//!
//! Every resource maps to the host type in `crate::bpf` that backs it, and
//! the WIT `error` record maps to [`BpfError`](crate::BpfError) so that host
//! functions return `Result<T, BpfError>`: a guest-visible error or a trap.

wasmtime::component::bindgen!({
    path: "../../wit",
    world: "wasm-bpf:bpf/bpf",
    imports: { default: trappable },
    // WASI's pollables, which buffers return, need `Send` store data.
    require_store_data_send: true,
    with: {
        "wasm-bpf:bpf/object.bpf-object": crate::bpf::object::BpfObject,
        "wasm-bpf:bpf/bpf-map.bpf-map": crate::bpf::map::BpfMap,
        "wasm-bpf:bpf/program.program": crate::bpf::program::BpfProgram,
        "wasm-bpf:bpf/link.link": crate::bpf::link::BpfLink,
        "wasm-bpf:bpf/buffer.buffer": crate::bpf::buffer::BpfBuffer,
        "wasm-bpf:bpf/raw.raw-program": crate::bpf::raw::RawProgram,
        "wasm-bpf:bpf/raw.raw-map": crate::bpf::raw::RawMap,
        "wasm-bpf:bpf/metrics.counter": crate::bpf::metrics::Counter,
        "wasm-bpf:bpf/metrics.gauge": crate::bpf::metrics::Gauge,
        "wasm-bpf:bpf/metrics.histogram": crate::bpf::metrics::Histogram,
        // Buffers hand out WASI's own pollables, so `wasi:io/poll` waits on
        // them together with clocks and streams.
        "wasi:io/poll": wasmtime_wasi::p2::bindings::io::poll,
    },
    trappable_error_type: {
        "wasm-bpf:bpf/types.error" => crate::BpfError,
    },
});

pub use self::wasm_bpf::bpf::*;
