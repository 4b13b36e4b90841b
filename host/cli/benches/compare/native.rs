//! The native twins of the benchmark guest (`tests/guests/bench`) and of
//! the bootstrap example, over the same `.bpf.o` files with libbpf-rs, plus
//! the getpid producer. The harness runs each as a subcommand of this
//! binary, so native and wasm-bpf consumers are both separate processes.

use std::cell::{Cell, RefCell};
use std::io::{BufRead as _, BufWriter, Read as _, Write as _};
use std::path::Path;
use std::rc::Rc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use libbpf_rs::btf::types::DataSec;
use libbpf_rs::btf::BtfType;
use libbpf_rs::{
    AsRawLibbpf as _, Btf, Link, MapCore as _, MapFlags, MapHandle, Object, ObjectBuilder,
    PerfBufferBuilder, RingBuffer, RingBufferBuilder,
};

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

fn now_ns() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos())
}

fn wait_for_eof() {
    let mut rest = Vec::new();
    let _ = std::io::stdin().read_to_end(&mut rest);
}

fn arg<T: std::str::FromStr>(args: &[String], i: usize) -> T {
    args.get(i)
        .and_then(|a| a.parse().ok())
        .unwrap_or_else(|| panic!("argument {i} missing or malformed: {args:?}"))
}

/// `producer <count> [cpus]`: after `go` on stdin, calls getpid `count`
/// times, from `cpus` threads (one per CPU, 1 by default) sharing the count.
pub fn producer(args: &[String]) -> Result<()> {
    let count: u64 = arg(args, 2);
    let threads: u64 = args.get(3).map_or(Ok(1), |a| a.parse())?;
    println!("ready");
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    let start_ns = now_ns();
    let start = Instant::now();
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|cpu| {
                let share = count / threads + u64::from(cpu < count % threads);
                scope.spawn(move || {
                    if threads > 1 {
                        crate::pin(cpu as usize)?;
                    }
                    for _ in 0..share {
                        // The raw system call: libc may not enter the kernel for getpid.
                        // SAFETY: getpid has no arguments and cannot fail.
                        unsafe { libc::syscall(libc::SYS_getpid) };
                    }
                    Ok::<_, std::io::Error>(())
                })
            })
            .collect();
        workers.into_iter().try_for_each(|worker| {
            worker
                .join()
                .unwrap_or_else(|_| Err(std::io::Error::other("a producer thread panicked")))
        })
    })?;
    println!("done ns={} start_ns={start_ns}", start.elapsed().as_nanos());
    Ok(())
}

/// The offset of global `name` in its data section, from the BTF.
fn global_offset(btf: &Btf<'_>, name: &str) -> Result<usize> {
    for sec in btf.type_by_kind::<DataSec<'_>>() {
        for var in sec.iter() {
            let var_name = btf.type_by_id::<BtfType<'_>>(var.ty).and_then(|t| t.name());
            if var_name.is_some_and(|n| n == name) {
                return Ok(var.offset as usize);
            }
        }
    }
    Err(format!("no global {name}").into())
}

/// The bench object, configured as the guest configures it.
fn load(object: &Path, record_size: u32, producer: u32, perf: bool) -> Result<Object> {
    load_sized(object, record_size, producer, perf, None)
}

/// [`load`], with room for `entries` in the hash map `table`.
fn load_sized(
    object: &Path,
    record_size: u32,
    producer: u32,
    perf: bool,
    entries: Option<u32>,
) -> Result<Object> {
    let mut open = ObjectBuilder::default().name("bench")?.open_file(object)?;
    if let Some(entries) = entries {
        open.maps_mut()
            .find(|m| m.name() == "table")
            .ok_or("no map table")?
            .set_max_entries(entries)?;
    }
    // SAFETY: the pointer comes from the live `open`, which outlives `btf`.
    let btf = Btf::from_bpf_object(unsafe { open.as_libbpf_object().as_ref() })?.ok_or("no BTF")?;
    let settings = [
        ("producer_tgid", producer.to_ne_bytes().to_vec()),
        ("record_size", record_size.to_ne_bytes().to_vec()),
        ("use_perf", vec![u8::from(perf)]),
    ];
    let at: Vec<(usize, Vec<u8>)> = settings
        .into_iter()
        .map(|(name, value)| Ok((global_offset(&btf, name)?, value)))
        .collect::<Result<_>>()?;
    drop(btf);
    let mut rodata = open
        .maps_mut()
        .find(|m| m.name().to_string_lossy().ends_with(".rodata"))
        .ok_or("no .rodata")?;
    let data = rodata.initial_value_mut().ok_or("no .rodata data")?;
    for (offset, value) in at {
        data[offset..offset + value.len()].copy_from_slice(&value);
    }
    Ok(open.load()?)
}

fn map(obj: &Object, name: &str) -> Result<MapHandle> {
    let map = obj
        .maps()
        .find(|m| m.name() == name)
        .ok_or_else(|| format!("no map {name}"))?;
    Ok(MapHandle::try_from(&map)?)
}

/// The current value of the `.bss` global `ring_full`.
fn ring_full(obj: &Object) -> Result<u64> {
    let offset = global_offset(&obj.btf()?.ok_or("no BTF")?, "ring_full")?;
    let bss = map(obj, "bench.bss")?;
    let value = bss
        .lookup(&0u32.to_ne_bytes(), MapFlags::ANY)?
        .ok_or("empty .bss")?;
    Ok(u64::from_ne_bytes(value[offset..offset + 8].try_into()?))
}

fn seq(record: &[u8]) -> u64 {
    u64::from_ne_bytes(record[..8].try_into().expect("records hold a u64 head"))
}

/// Attaches every program of `obj`, as the guest's `attach_all` does.
fn attach_all(obj: &Object) -> Result<Vec<Link>> {
    Ok(obj
        .progs_mut()
        .map(|p| p.attach())
        .collect::<std::result::Result<_, _>>()?)
}

/// Records handled and the sum of their sequence numbers, shared with the
/// buffer's callback.
#[derive(Clone, Default)]
struct Tally {
    received: Rc<Cell<u64>>,
    checksum: Rc<Cell<u64>>,
}

impl Tally {
    /// What every consumer does with a record: read its head, fold it in.
    fn handle(&self, record: &[u8]) {
        self.checksum
            .set(self.checksum.get().wrapping_add(seq(record)));
        self.received.set(self.received.get() + 1);
    }
}

/// `stream <ring|perf> <size> <producer> <count> <object>`.
pub fn stream(args: &[String]) -> Result<()> {
    let perf = args[2] == "perf";
    let (size, producer, count): (u32, u32, u64) = (arg(args, 3), arg(args, 4), arg(args, 5));
    let obj = load(Path::new(&args[6]), size, producer, perf)?;
    let _links = attach_all(&obj)?;
    let tally = Tally::default();
    let lost = Rc::new(Cell::new(0u64));
    let mut last_ns = 0;
    let mut poll: Box<dyn FnMut() -> Result<()>> = if perf {
        let events = map(&obj, "perf")?;
        let (t, l) = (tally.clone(), lost.clone());
        let buffer = PerfBufferBuilder::new(&events)
            .sample_cb(move |_cpu, record: &[u8]| t.handle(record))
            .lost_cb(move |_cpu, n| l.set(l.get() + n))
            .build()?;
        Box::new(move || Ok(buffer.poll(Duration::from_millis(100))?))
    } else {
        let buffer = ring_consumer(&obj, &tally)?;
        Box::new(move || Ok(buffer.poll(Duration::from_millis(100))?))
    };
    let received = &tally.received;
    println!("ready");
    loop {
        let before = received.get();
        poll()?;
        if received.get() != before {
            last_ns = now_ns();
        } else if received.get() + lost.get() + ring_full(&obj)? >= count {
            break;
        }
    }
    println!(
        "done received={} lost={} last_ns={last_ns} checksum={}",
        received.get(),
        lost.get() + ring_full(&obj)?,
        tally.checksum.get()
    );
    std::io::stdout().flush()?;
    wait_for_eof();
    Ok(())
}

/// A libbpf-rs consumer of the `ring` map that tallies every record.
fn ring_consumer(obj: &Object, tally: &Tally) -> Result<RingBuffer<'static>> {
    let events = map(obj, "ring")?;
    let tally = tally.clone();
    let mut builder = RingBufferBuilder::new();
    builder.add(&events, move |record: &[u8]| {
        tally.handle(record);
        0
    })?;
    Ok(builder.build()?)
}

/// Prints `ready`, waits for `go`, then `poll`s until `count` records are
/// `received` (or a poll brings none); the nanoseconds that took.
fn drain_ring(
    received: &Cell<u64>,
    count: u64,
    mut poll: impl FnMut() -> Result<()>,
) -> Result<u128> {
    println!("ready");
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    let start = Instant::now();
    while received.get() < count {
        let before = received.get();
        poll()?;
        if received.get() == before {
            break;
        }
    }
    Ok(start.elapsed().as_nanos())
}

/// `drain <size> <producer> <count> <object>`.
pub fn drain(args: &[String]) -> Result<()> {
    let (size, producer, count): (u32, u32, u64) = (arg(args, 2), arg(args, 3), arg(args, 4));
    let obj = load(Path::new(&args[5]), size, producer, false)?;
    let _links = attach_all(&obj)?;
    let tally = Tally::default();
    let buffer = ring_consumer(&obj, &tally)?;
    let received = &tally.received;
    let ns = drain_ring(received, count, || Ok(buffer.poll(Duration::from_secs(2))?))?;
    println!(
        "done received={} ns={ns} checksum={}",
        received.get(),
        tally.checksum.get()
    );
    std::io::stdout().flush()?;
    wait_for_eof();
    Ok(())
}

/// `json <size> <producer> <count> <object> <all|filter>`: the drain, each
/// record printed as the `json` example prints it (one JSON object per
/// line, one write per batch), after the `filter` example's test `seq >= 0`
/// with `filter`.
pub fn drain_json(args: &[String]) -> Result<()> {
    let (size, producer, count): (u32, u32, u64) = (arg(args, 2), arg(args, 3), arg(args, 4));
    let filter = args.get(6).is_some_and(|a| a == "filter");
    let obj = load(Path::new(&args[5]), size, producer, false)?;
    let _links = attach_all(&obj)?;
    let events = map(&obj, "ring")?;
    let out = Rc::new(RefCell::new(BufWriter::new(std::io::stdout())));
    let received = Rc::new(Cell::new(0u64));
    let (o, r) = (out.clone(), received.clone());
    let min_seq = std::hint::black_box(0u64);
    let mut builder = RingBufferBuilder::new();
    builder.add(&events, move |record: &[u8]| {
        r.set(r.get() + 1);
        let seq = seq(record);
        if !filter || seq >= min_seq {
            let tgid = u64::from_ne_bytes(record[8..16].try_into().unwrap_or_default());
            let line = serde_json::json!({ "seq": seq, "tgid": tgid });
            if writeln!(o.borrow_mut(), "{line}").is_err() {
                return -1;
            }
        }
        0
    })?;
    let buffer = builder.build()?;
    let ns = drain_ring(&received, count, || {
        buffer.poll(Duration::from_secs(2))?;
        Ok(out.borrow_mut().flush()?)
    })?;
    println!("done received={} ns={ns}", received.get());
    std::io::stdout().flush()?;
    wait_for_eof();
    Ok(())
}

fn per_op(n: u32, op: impl FnOnce() -> Result<()>) -> Result<f64> {
    let start = Instant::now();
    op()?;
    Ok(start.elapsed().as_nanos() as f64 / f64::from(n))
}

/// `maps <entries> <object> [batch]`.
pub fn maps(args: &[String]) -> Result<()> {
    let n: u32 = arg(args, 2);
    let batch_only = args.get(4).is_some_and(|a| a == "batch");
    let obj = load_sized(Path::new(&args[3]), 16, 0, false, Some(n))?;
    let table = map(&obj, "table")?;
    let keys: Vec<u32> = (0..n).collect();
    let values: Vec<u64> = keys.iter().map(|&k| u64::from(k) * 3).collect();
    let key_bytes: Vec<u8> = keys.iter().flat_map(|k| k.to_ne_bytes()).collect();
    let value_bytes: Vec<u8> = values.iter().flat_map(|v| v.to_ne_bytes()).collect();
    let any = MapFlags::ANY;

    let mut line = String::from("done");
    if !batch_only {
        let update = per_op(n, || {
            for (k, v) in keys.iter().zip(&values) {
                table.update(&k.to_ne_bytes(), &v.to_ne_bytes(), any)?;
            }
            Ok(())
        })?;
        let lookup = per_op(n, || {
            for (k, v) in keys.iter().zip(&values) {
                let got = table.lookup(&k.to_ne_bytes(), any)?.ok_or("missing key")?;
                assert_eq!(u64::from_ne_bytes(got[..8].try_into()?), *v);
            }
            Ok(())
        })?;
        let delete = per_op(n, || {
            for k in &keys {
                table.delete(&k.to_ne_bytes())?;
            }
            Ok(())
        })?;
        // The least a system call costs, against the guest's least host call.
        let minimal = per_op(n, || {
            for _ in 0..n {
                // SAFETY: getppid has no preconditions.
                std::hint::black_box(unsafe { libc::getppid() });
            }
            Ok(())
        })?;
        line += &format!(
            " update={update:.1} lookup={lookup:.1} delete={delete:.1} minimal={minimal:.1}"
        );
    }
    let update_batch = per_op(n, || {
        Ok(table.update_batch(&key_bytes, &value_bytes, n, any, any)?)
    })?;
    let lookup_batch = per_op(n, || {
        // libbpf-rs's own batch iterator stops early on hash maps; this is
        // the same raw batch loop the host runs.
        let all = wasm_bpf_runtime::bpf::map::lookup_all(&table, "table", false, usize::MAX)?;
        assert_eq!(all.count, n);
        for (k, v) in all.keys.chunks_exact(4).zip(all.values.chunks_exact(8)) {
            let k = u32::from_ne_bytes(k.try_into()?);
            assert_eq!(u64::from(k) * 3, u64::from_ne_bytes(v.try_into()?));
        }
        Ok(())
    })?;
    let delete_batch = per_op(n, || Ok(table.delete_batch(&key_bytes, n, any, any)?))?;
    println!(
        "{line} update_batch={update_batch:.1} lookup_batch={lookup_batch:.1} delete_batch={delete_batch:.1}"
    );
    Ok(())
}

/// `bootstrap <object>`: the bootstrap example, natively: header once
/// attached, then one line per event until killed.
pub fn bootstrap(args: &[String]) -> Result<()> {
    let obj = ObjectBuilder::default()
        .name("bootstrap")?
        .open_file(&args[2])?
        .load()?;
    let _links = attach_all(&obj)?;
    let events = map(&obj, "rb")?;
    let mut builder = RingBufferBuilder::new();
    builder.add(&events, |e: &[u8]| {
        let int = |at: usize| i32::from_ne_bytes(e[at..at + 4].try_into().unwrap_or_default());
        let text = |range: std::ops::Range<usize>| {
            let bytes = &e[range];
            let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
            String::from_utf8_lossy(&bytes[..end]).into_owned()
        };
        let kind = if e[167] != 0 { "EXIT" } else { "EXEC" };
        println!(
            "{:<5} {:<16} {:<7} {:<7} {}",
            kind,
            text(24..40),
            int(0),
            int(4),
            text(40..167)
        );
        0
    })?;
    let buffer = builder.build()?;
    println!(
        "{:<8} {:<5} {:<16} {:<7} {:<7} FILENAME/EXIT CODE",
        "TIME", "EVENT", "COMM", "PID", "PPID"
    );
    std::io::stdout().flush()?;
    loop {
        buffer.poll(Duration::from_millis(100))?;
    }
}
