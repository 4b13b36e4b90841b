//! The raw bindings of the `wasm-bpf:bpf` world, for what the wrappers do
//! not cover.

wit_bindgen::generate!({
    path: "../wit",
    world: "wasm-bpf:bpf/bpf",
});

pub use self::wasm_bpf::bpf::*;
