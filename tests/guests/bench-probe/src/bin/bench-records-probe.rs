//! bench-probe's `records` mode alone: without the typed sink among its
//! imports, it composes with any consumer of `wasm-bpf:bpf/sink` (the
//! `json` example, `filter` then `json`), as the stage figures do.
//!
//!   bench-records-probe drain records <record-size> <producer-tgid> <count>

#[path = "../drain.rs"]
mod drain;

use anyhow::Result;
use wasm_bpf_guest::probe::Sink;

wit_bindgen::generate!({
    path: "wit",
    world: "wasm-bpf-bench:bench/probe",
});

wasm_bpf_guest::include_types!("bench");

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    drain::drain(&args, Sink::<Head>::start().map_err(anyhow::Error::msg)?)
}
