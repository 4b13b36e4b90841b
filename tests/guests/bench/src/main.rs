//! The wasm-bpf side of the benchmark (`host/benches/compare`): the same
//! work as its native twin there, over the same `bench.bpf.o`.
//!
//!   bench stream <ring|perf> <record-size> <producer-tgid> <count>
//!   bench drain <record-size> <producer-tgid> <count>
//!   bench maps <entries> [batch]
//!
//! Each mode prints `ready` once attached (stream and drain), then one
//! `done key=value...` line, then waits for standard input to close so the
//! harness can read its CPU time first.

use std::io::{BufRead as _, Read as _};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use wasm_bpf_guest::{include_object, Object, Result, UpdateFlags};

wasm_bpf_guest::include_types!("bench");

fn arg<T: std::str::FromStr>(args: &[String], i: usize) -> T {
    args.get(i)
        .and_then(|a| a.parse().ok())
        .unwrap_or_else(|| panic!("argument {i} missing or malformed: {args:?}"))
}

fn now_ns() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos())
}

fn wait_for_eof() {
    let mut rest = Vec::new();
    let _ = std::io::stdin().read_to_end(&mut rest);
}

/// Loads the fixture for one producer, delivering to the ring or perf buffer.
fn load(record_size: u32, producer: u32, perf: bool) -> Result<Object> {
    load_sized(record_size, producer, perf, None)
}

/// [`load`], with room for `entries` in the hash map `table`.
fn load_sized(record_size: u32, producer: u32, perf: bool, entries: Option<u32>) -> Result<Object> {
    let mut open = Object::open_named(include_object!("bench"), "bench")?;
    if let Some(entries) = entries {
        open.set_max_entries("table", entries)?;
    }
    open.set_global("producer_tgid", &producer)?;
    open.set_global("record_size", &record_size)?;
    open.set_global("use_perf", &u8::from(perf))?;
    open.load()
}

/// Consumes records until `count` are accounted for (received, lost by the
/// perf buffer, or refused by a full ring), reading every record's head.
fn stream(args: &[String]) -> Result<()> {
    let perf = args[2] == "perf";
    let (size, producer, count): (u32, u32, u64) = (arg(args, 3), arg(args, 4), arg(args, 5));
    let obj = load(size, producer, perf)?;
    let _links = obj.attach_all()?;
    let mut buffer = obj.buffer(if perf { "perf" } else { "ring" })?;
    println!("ready");
    let (mut received, mut lost, mut checksum, mut last_ns) = (0u64, 0u64, 0u64, 0u128);
    loop {
        let batch = buffer.poll(Some(Duration::from_millis(100)))?;
        lost += batch.lost();
        for record in &batch {
            checksum = checksum.wrapping_add(record.decode::<Head>()?.seq);
        }
        if !batch.is_empty() {
            received += batch.len() as u64;
            last_ns = now_ns();
        } else if received + lost + obj.global::<u64>("ring_full")? >= count {
            let lost = lost + obj.global::<u64>("ring_full")?;
            println!("done received={received} lost={lost} last_ns={last_ns} checksum={checksum}");
            break;
        }
    }
    wait_for_eof();
    Ok(())
}

/// Waits for `go` on standard input (the producer has filled the ring),
/// then times draining `count` records.
fn drain(args: &[String]) -> Result<()> {
    let (size, producer, count): (u32, u32, u64) = (arg(args, 2), arg(args, 3), arg(args, 4));
    let obj = load(size, producer, false)?;
    let _links = obj.attach_all()?;
    let mut buffer = obj.buffer("ring")?;
    println!("ready");
    let mut line = String::new();
    let _ = std::io::stdin().lock().read_line(&mut line);
    let (mut received, mut checksum) = (0u64, 0u64);
    let start = Instant::now();
    while received < count {
        let batch = buffer.poll(Some(Duration::from_secs(2)))?;
        if batch.is_empty() {
            break;
        }
        for record in &batch {
            checksum = checksum.wrapping_add(record.decode::<Head>()?.seq);
        }
        received += batch.len() as u64;
    }
    let ns = start.elapsed().as_nanos();
    println!("done received={received} ns={ns} checksum={checksum}");
    wait_for_eof();
    Ok(())
}

/// Nanoseconds per operation of `op` over `n` operations.
fn per_op(n: u32, op: impl FnOnce() -> Result<()>) -> Result<f64> {
    let start = Instant::now();
    op()?;
    Ok(start.elapsed().as_nanos() as f64 / f64::from(n))
}

/// Times single and batched update, lookup and delete on a hash map of
/// `n` entries (only the batched ones with `batch`), and the least a host
/// call costs.
fn maps(args: &[String]) -> Result<()> {
    let n: u32 = arg(args, 2);
    let batch_only = args.get(3).is_some_and(|a| a == "batch");
    let obj = load_sized(16, 0, false, Some(n))?;
    let table = obj.map("table")?;
    let keys: Vec<u32> = (0..n).collect();
    let values: Vec<u64> = keys.iter().map(|&k| u64::from(k) * 3).collect();
    let none = UpdateFlags::empty();

    let mut line = String::from("done");
    if !batch_only {
        let update = per_op(n, || {
            keys.iter()
                .zip(&values)
                .try_for_each(|(k, v)| table.update(k, v, none))
        })?;
        let lookup = per_op(n, || {
            for (k, v) in keys.iter().zip(&values) {
                assert_eq!(table.lookup::<u32, u64>(k)?, Some(*v));
            }
            Ok(())
        })?;
        let delete = per_op(n, || keys.iter().try_for_each(|k| table.delete(k)))?;
        // The least a host call costs: no arguments, a bool back, nothing in
        // the kernel. What a map call costs beyond it is ours and the kernel's.
        let minimal = per_op(n, || {
            for _ in 0..n {
                std::hint::black_box(wasm_bpf_guest::is_stopping());
            }
            Ok(())
        })?;
        line += &format!(
            " update={update:.1} lookup={lookup:.1} delete={delete:.1} minimal={minimal:.1}"
        );
    }
    let update_batch = per_op(n, || table.update_batch(&keys, &values, none))?;
    let lookup_batch = per_op(n, || {
        let entries = table.lookup_batch::<u32, u64>()?;
        assert_eq!(entries.len(), n as usize);
        assert!(entries.iter().all(|(k, v)| u64::from(*k) * 3 == *v));
        Ok(())
    })?;
    let delete_batch = per_op(n, || table.delete_batch(&keys))?;
    println!(
        "{line} update_batch={update_batch:.1} lookup_batch={lookup_batch:.1} delete_batch={delete_batch:.1}"
    );
    Ok(())
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("stream") => stream(&args),
        Some("drain") => drain(&args),
        Some("maps") => maps(&args),
        _ => panic!("usage: bench stream|drain|maps ..."),
    }
}
