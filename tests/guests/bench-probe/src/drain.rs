//! The drain every bench probe runs: `bench drain`, with each batch handed
//! on to a sink as `head` records.

use std::io::{BufRead as _, Read as _};
use std::time::{Duration, Instant};

use anyhow::Result;
use wasm_bpf_guest::probe::Sink;
use wasm_bpf_guest::{include_object, Batch, Object};

use crate::Head;

/// Where the drained records go: each batch in one pass, as a probe
/// would write it (the records read in place, no copy of them first).
pub trait Out {
    /// Sends the batch's records on; how many there were.
    fn send(&self, batch: &Batch) -> wasm_bpf_guest::Result<usize>;
    fn finish(self);
}

/// Self-describing records (`wasm-bpf:bpf/sink`).
impl Out for Sink<Head> {
    fn send(&self, batch: &Batch) -> wasm_bpf_guest::Result<usize> {
        let heads = batch
            .iter()
            .map(|r| r.decode::<Head>())
            .collect::<wasm_bpf_guest::Result<Vec<&Head>>>()?;
        Sink::send(self, heads.iter().copied());
        Ok(heads.len())
    }

    fn finish(self) {
        Sink::finish(self);
    }
}

fn arg<T: std::str::FromStr>(args: &[String], i: usize) -> T {
    args.get(i)
        .and_then(|a| a.parse().ok())
        .unwrap_or_else(|| panic!("argument {i} missing or malformed: {args:?}"))
}

/// Runs `drain <mode> <record-size> <producer-tgid> <count>` (`args`) into
/// `out`, a sink already started.
pub fn drain(args: &[String], out: impl Out) -> Result<()> {
    assert_eq!(args.get(1).map(String::as_str), Some("drain"), "{args:?}");
    let (size, producer, count): (u32, u32, u64) = (arg(args, 3), arg(args, 4), arg(args, 5));
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
        sent += out.send(&batch)? as u64;
    }
    out.finish();
    let ns = start.elapsed().as_nanos();
    println!("done received={sent} ns={ns}");
    let mut rest = Vec::new();
    let _ = std::io::stdin().read_to_end(&mut rest);
    Ok(())
}
