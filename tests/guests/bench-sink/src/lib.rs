//! The consumer of the composition figures (`host/benches/compare`): it
//! exports both sinks bench-probe may send to, counts what arrives and
//! reads every record's `seq`, and prints `sunk n=<records>
//! checksum=<sum of seq>` at `finish`, so the harness can check that
//! nothing was lost on the way.

use std::cell::Cell;

wit_bindgen::generate!({
    inline: "package wasm-bpf-bench:sink;
             world sink {
                 export wasm-bpf:bpf/sink@0.1.0;
                 export wasm-bpf-bench:bench/sink;
             }",
    path: ["../../../wit", "../bench-probe/wit/bench.wit"],
    generate_all,
});

use exports::wasm_bpf::bpf::sink::Guest as RecordsSink;
use exports::wasm_bpf_bench::bench::sink::Guest as TypedSink;
use wasm_bpf::bpf::records::{Batch, Column, Schema};
use wasm_bpf_bench::bench::records::Head;

thread_local! {
    static COUNT: Cell<(u64, u64)> = const { Cell::new((0, 0)) };
    /// Where `seq` is in a self-describing record.
    static SEQ: Cell<usize> = const { Cell::new(0) };
}

fn add(n: u64, seqs: u64) {
    COUNT.set({
        let (count, sum) = COUNT.get();
        (count + n, sum.wrapping_add(seqs))
    });
}

fn finish() {
    let (n, checksum) = COUNT.get();
    println!("sunk n={n} checksum={checksum}");
}

struct Counter;

impl RecordsSink for Counter {
    fn start(schemas: Vec<Schema>) -> Result<(), String> {
        let seq = schemas
            .first()
            .and_then(|s| s.fields.iter().position(|f| f.name == "seq"))
            .ok_or("no field `seq`")?;
        SEQ.set(seq);
        Ok(())
    }

    fn push(batch: Batch) {
        let seqs = match batch.columns.get(SEQ.get()) {
            Some(Column::Unsigned(seqs)) => seqs.iter().fold(0u64, |sum, s| sum.wrapping_add(*s)),
            _ => 0,
        };
        add(u64::from(batch.rows), seqs);
    }

    fn finish() {
        finish();
    }
}

impl TypedSink for Counter {
    fn start() -> Result<(), String> {
        Ok(())
    }

    fn push_head(batch: Vec<Head>) {
        let seqs = batch.iter().fold(0u64, |sum, h| sum.wrapping_add(h.seq));
        add(batch.len() as u64, seqs);
    }

    fn finish() {
        finish();
    }
}

export!(Counter);
