//! The BTF reader behind `wasm-bpf gen` and guests' build scripts, on
//! arbitrary bytes: it must return an error, never panic or hang.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|elf: &[u8]| {
    let _ = wasm_bpf_build::rust_types(elf, &[]);
    let _ = wasm_bpf_build::rust_types(elf, &["event".to_string()]);
});
