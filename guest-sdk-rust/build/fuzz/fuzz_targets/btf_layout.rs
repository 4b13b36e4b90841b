//! The BTF reader and renderers behind `wasm-bpf gen` and guests' build
//! scripts, on arbitrary bytes: they must return an error, never panic or
//! hang.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wasm_bpf_build::RustOptions;

fuzz_target!(|elf: &[u8]| {
    let event = ["event".to_string()];
    let _ = wasm_bpf_build::rust_types(elf, &[]);
    let with_records = RustOptions {
        wit_records: Some("crate::records".into()),
        ..RustOptions::default()
    };
    let _ = wasm_bpf_build::rust_types_with(elf, &event, &with_records);
    let _ = wasm_bpf_build::wit_records(elf, &event, "fuzz:records", "fuzz.bpf.o");
});
