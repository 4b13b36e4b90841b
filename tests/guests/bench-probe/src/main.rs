//! The composition figures of the benchmark (`host/benches/compare`):
//! `bench drain` with every batch handed on to a sink, composed with
//! `bench-sink`.
//!
//!   bench-probe drain <typed|records> <record-size> <producer-tgid> <count>
//!
//! `typed` sends `head` records of wit/bench.wit (`wasm-bpf gen wit`),
//! `records` self-describing ones (`wasm-bpf:bpf/sink`). Prints `ready`
//! once attached, waits for `go`, then one `done` line when `count`
//! records have been sent, and waits for standard input to close.
//! `bench-records-probe` (src/bin) sends only self-describing records, so
//! it composes with any consumer of `wasm-bpf:bpf/sink`.

mod drain;

use anyhow::Result;
use wasm_bpf_guest::probe::Sink;

wit_bindgen::generate!({
    path: "wit",
    world: "wasm-bpf-bench:bench/probe",
});

use wasm_bpf_bench::bench::{records, sink};

wasm_bpf_guest::include_types!("bench");

/// `head` records of the probe's own WIT.
struct Typed;

impl drain::Out for Typed {
    fn send(&self, batch: &wasm_bpf_guest::Batch) -> wasm_bpf_guest::Result<usize> {
        let heads = batch
            .iter()
            .map(|r| r.decode::<Head>().map(records::Head::from))
            .collect::<wasm_bpf_guest::Result<Vec<_>>>()?;
        sink::push_head(&heads);
        Ok(heads.len())
    }

    fn finish(self) {
        sink::finish();
    }
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    if args.get(2).map(String::as_str) == Some("typed") {
        sink::start().map_err(anyhow::Error::msg)?;
        drain::drain(&args, Typed)
    } else {
        drain::drain(&args, Sink::<Head>::start().map_err(anyhow::Error::msg)?)
    }
}
