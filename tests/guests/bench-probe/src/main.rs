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

use std::io::{BufRead as _, Read as _};
use std::time::{Duration, Instant};

use anyhow::Result;
use wasm_bpf_guest::probe::Sink;
use wasm_bpf_guest::{include_object, Object};

wit_bindgen::generate!({
    path: "wit",
    world: "wasm-bpf-bench:bench/probe",
});

use wasm_bpf_bench::bench::{records, sink};

wasm_bpf_guest::include_types!("bench");

fn arg<T: std::str::FromStr>(args: &[String], i: usize) -> T {
    args.get(i)
        .and_then(|a| a.parse().ok())
        .unwrap_or_else(|| panic!("argument {i} missing or malformed: {args:?}"))
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    assert_eq!(args.get(1).map(String::as_str), Some("drain"), "{args:?}");
    let typed = args[2] == "typed";
    let (size, producer, count): (u32, u32, u64) = (arg(&args, 3), arg(&args, 4), arg(&args, 5));
    let records_sink = if typed {
        sink::start().map_err(anyhow::Error::msg)?;
        None
    } else {
        Some(Sink::<Head>::start().map_err(anyhow::Error::msg)?)
    };

    let mut open = Object::open_named(include_object!("bench"), "bench")?;
    open.set_global("producer_tgid", &producer)?;
    open.set_global("record_size", &size)?;
    open.set_global("use_perf", &0u8)?;
    let obj = open.load()?;
    let _links = obj.attach_all()?;
    let mut buffer = obj.buffer("ring")?;
    println!("ready");
    let mut line = String::new();
    let _ = std::io::stdin().lock().read_line(&mut line);

    let mut sent = 0u64;
    let start = Instant::now();
    while sent < count {
        let batch = buffer.poll(Some(Duration::from_secs(2)))?;
        if batch.is_empty() {
            break;
        }
        let heads = batch
            .iter()
            .map(|r| r.decode::<Head>().copied())
            .collect::<wasm_bpf_guest::Result<Vec<_>>>()?;
        match &records_sink {
            Some(records_sink) => records_sink.send(&heads),
            None => sink::push_head(&heads.iter().map(records::Head::from).collect::<Vec<_>>()),
        }
        sent += heads.len() as u64;
    }
    match records_sink {
        Some(records_sink) => records_sink.finish(),
        None => sink::finish(),
    }
    let ns = start.elapsed().as_nanos();
    println!("done received={sent} ns={ns}");
    let mut rest = Vec::new();
    let _ = std::io::stdin().read_to_end(&mut rest);
    Ok(())
}
