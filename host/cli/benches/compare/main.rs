//! wasm-bpf against native libbpf-rs, side by side, in one run.
//!
//!     make bench        (builds the guests, then `cargo bench --bench compare`)
//!
//! Every figure runs the same `.bpf.o` under a native libbpf-rs consumer
//! (this binary, re-run as a subcommand; see `native.rs`) and under the
//! wasm-bpf guest `tests/guests/bench` (or the bootstrap example), each in
//! its own process, alternating, several times, the consumer pinned to
//! one CPU and the producer to another. The table gives medians with their
//! spread, the wasm-bpf/native ratio of each native-then-wasm pair of runs
//! (median and spread), and the ratio the previous `BENCHMARKS.md` had,
//! prints it, and writes it to `BENCHMARKS.md`.

mod agent;
mod growth;
mod measure;
mod native;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use measure::{field, fields, Proc, Samples};

/// Repetitions of the streaming figures (seconds each).
const STREAM_RUNS: usize = 7;

/// Repetitions of the cheap figures (drains, map calls, start-up).
const RUNS: usize = 11;

/// Where consumers run, and where producers run when there is a second CPU.
const CONSUMER_CPU: usize = 0;
const PRODUCER_CPU: usize = 1;

/// `cmd` confined to CPU `cpu`, when the machine has it: where the
/// scheduler puts a consumer and its producer moved the ratios by up to
/// 30% between two runs of the same commit.
fn pinned(mut cmd: Command, cpu: usize) -> Command {
    use std::os::unix::process::CommandExt as _;
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    if cpu >= cpus {
        return cmd;
    }
    // SAFETY: `pin` only fills a stack cpu_set_t and makes one system
    // call, both safe between fork and exec.
    unsafe {
        cmd.pre_exec(move || pin(cpu));
    }
    cmd
}

/// Confines the calling thread (or the process about to exec) to `cpu`.
fn pin(cpu: usize) -> std::io::Result<()> {
    // SAFETY: a zeroed cpu_set_t is an empty set; CPU_SET writes inside it,
    // and sched_setaffinity only reads it.
    let ret = unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(cpu, &mut set);
        libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set)
    };
    if ret != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// Lets `producer` fill the ring once `consumer` has attached, then tells
/// the consumer to drain it.
fn fill_then_drain(mut producer: Proc, consumer: &mut Proc) {
    consumer.expect("ready");
    producer.send("go");
    producer.expect("done");
    producer.finish();
    consumer.send("go");
}

/// Paths to everything the runs need.
struct Setup {
    wasm_bpf: PathBuf,
    me: PathBuf,
    bench_wasm: PathBuf,
    /// bench-probe composed with bench-sink.
    bench_sink_wasm: PathBuf,
    /// bench-records-probe composed with the `json` example, and with
    /// `filter` and `json`.
    bench_json_wasm: PathBuf,
    bench_filter_json_wasm: PathBuf,
    bootstrap_wasm: PathBuf,
    bootstrap_cwasm: PathBuf,
    bench_obj: PathBuf,
    bootstrap_obj: PathBuf,
    _scratch: tempfile::TempDir,
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("host/cli is two levels down")
}

fn target() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("target"))
}

/// The object a guest's build script compiled and embedded: the native
/// twin loads the very same file.
fn embedded_object(package: &str, object: &str) -> PathBuf {
    let build = target().join("wasm32-wasip2/guest/build");
    std::fs::read_dir(&build)
        .unwrap_or_else(|e| {
            panic!(
                "{}: {e}; build the guests first (make bench)",
                build.display()
            )
        })
        .flatten()
        .filter(|d| {
            d.file_name()
                .to_string_lossy()
                .starts_with(&format!("{package}-"))
        })
        .map(|d| d.path().join("out").join(object))
        .filter(|p| p.exists())
        .max_by_key(|p| p.metadata().and_then(|m| m.modified()).ok())
        .unwrap_or_else(|| panic!("no {object} under {}", build.display()))
}

impl Setup {
    fn new() -> Self {
        let guest = |name: &str| {
            let path = target().join(format!("wasm32-wasip2/guest/{name}.wasm"));
            assert!(
                path.exists(),
                "{} missing: run `make bench`",
                path.display()
            );
            path
        };
        let scratch = tempfile::tempdir().expect("temp dir");
        let setup = Self {
            wasm_bpf: PathBuf::from(env!("CARGO_BIN_EXE_wasm-bpf")),
            me: std::env::current_exe().expect("own path"),
            bench_wasm: guest("bench"),
            bench_sink_wasm: scratch.path().join("bench-sink.wasm"),
            bench_json_wasm: scratch.path().join("bench-json.wasm"),
            bench_filter_json_wasm: scratch.path().join("bench-filter-json.wasm"),
            bootstrap_wasm: guest("bootstrap"),
            bootstrap_cwasm: scratch.path().join("bootstrap.cwasm"),
            bench_obj: embedded_object("bench", "bench.bpf.o"),
            bootstrap_obj: embedded_object("bootstrap", "bootstrap.bpf.o"),
            _scratch: scratch,
        };
        let status = Command::new(&setup.wasm_bpf)
            .arg("compile")
            .arg(&setup.bootstrap_wasm)
            .arg("-o")
            .arg(&setup.bootstrap_cwasm)
            .status()
            .expect("running wasm-bpf compile");
        assert!(status.success(), "wasm-bpf compile failed");
        let compositions = [
            (vec!["bench-probe", "bench_sink"], &setup.bench_sink_wasm),
            (vec!["bench-records-probe", "json"], &setup.bench_json_wasm),
            (
                vec!["bench-records-probe", "filter", "json"],
                &setup.bench_filter_json_wasm,
            ),
        ];
        for (parts, output) in compositions {
            let status = Command::new(&setup.wasm_bpf)
                .arg("compose")
                .args(parts.into_iter().map(guest))
                .arg("-o")
                .arg(output)
                .status()
                .expect("running wasm-bpf compose");
            assert!(status.success(), "wasm-bpf compose failed");
        }
        setup
    }

    fn native(&self, args: &[String]) -> Command {
        let mut cmd = Command::new(&self.me);
        cmd.args(args);
        cmd
    }

    fn wasm(&self, host_args: &[&str], component: &Path, args: &[String]) -> Command {
        let mut cmd = Command::new(&self.wasm_bpf);
        cmd.arg("run").args(host_args).arg(component).args(args);
        pinned(cmd, CONSUMER_CPU)
    }

    /// A consumer of the bench object: `args` plus, natively, the object.
    /// Through a sink, the wasm-bpf side is bench-probe composed with
    /// bench-sink, sending `typed` or self-describing (`records`) records.
    fn consumer(&self, wasm: bool, args: &[String], sink: Option<&str>) -> Command {
        if let (true, Some(sink)) = (wasm, sink) {
            let mut all = args.to_vec();
            all.insert(1, sink.to_string());
            self.wasm(&[], &self.bench_sink_wasm, &all)
        } else if wasm {
            self.wasm(&[], &self.bench_wasm, args)
        } else {
            let mut all = args.to_vec();
            all.push(self.bench_obj.display().to_string());
            pinned(self.native(&all), CONSUMER_CPU)
        }
    }

    /// The getpid producer, on one CPU, or on `cpus` (one thread each).
    fn producer(&self, count: u64, cpus: usize) -> Proc {
        let cmd = self.native(&["producer".into(), count.to_string(), cpus.to_string()]);
        let mut producer = Proc::spawn(if cpus > 1 {
            cmd
        } else {
            pinned(cmd, PRODUCER_CPU)
        });
        producer.expect("ready");
        producer
    }
}

/// One figure: native and wasm-bpf samples of the same quantity.
struct Row {
    figure: String,
    unit: &'static str,
    native: Samples,
    wasm: Samples,
    /// The goal on wasm/native: at least (`true`) or at most this ratio.
    goal: Option<(bool, f64)>,
}

impl Row {
    fn new(figure: impl Into<String>, unit: &'static str, goal: Option<(bool, f64)>) -> Self {
        Self {
            figure: figure.into(),
            unit,
            native: Samples::default(),
            wasm: Samples::default(),
            goal,
        }
    }

    /// The samples of one side.
    fn side(&mut self, wasm: bool) -> &mut Samples {
        if wasm {
            &mut self.wasm
        } else {
            &mut self.native
        }
    }

    /// wasm/native of each pair of runs: the runs alternate, native first,
    /// so sample `i` of each side is one pair, measured moments apart.
    fn ratios(&self) -> Samples {
        Samples(
            self.native
                .0
                .iter()
                .zip(&self.wasm.0)
                .map(|(native, wasm)| wasm / native)
                .collect(),
        )
    }

    fn ratio(&self) -> f64 {
        self.ratios().median()
    }
}

fn fmt(x: f64) -> String {
    match x.abs() {
        x if x >= 1e6 => format!("{:.2}M", x / 1e6),
        x if x >= 1e4 => format!("{:.0}k", x / 1e3),
        x if x >= 100.0 => format!("{x:.0}"),
        _ => format!("{x:.1}"),
    }
}

fn cell(s: &Samples) -> String {
    format!("{} ({}–{})", fmt(s.median()), fmt(s.min()), fmt(s.max()))
}

/// Events streamed from a getpid loop: delivered events/s and consumer CPU
/// per event.
fn stream(setup: &Setup, kind: &str, size: u32, count: u64, cpus: usize, rows: &mut Vec<Row>) {
    let mut name = format!("{kind} buffer, {size} B records, {count} events");
    if cpus > 1 {
        name += &format!(", {cpus} producing CPUs");
    }
    let mut rate = Row::new(format!("{name}: delivered"), "events/s", Some((true, 0.90)));
    let mut cpu = Row::new(
        format!("{name}: consumer CPU"),
        "ns/event",
        Some((false, 1.1)),
    );
    for _ in 0..STREAM_RUNS {
        for wasm in [false, true] {
            let mut producer = setup.producer(count, cpus);
            let args: Vec<String> = [
                "stream",
                kind,
                &size.to_string(),
                &producer.pid().to_string(),
                &count.to_string(),
            ]
            .map(String::from)
            .to_vec();
            let mut consumer = Proc::spawn(setup.consumer(wasm, &args, None));
            consumer.expect("ready");
            let cpu_before = consumer.cpu_ns();
            producer.send("go");
            let produced = fields(&producer.expect("done"));
            producer.finish();
            let done = fields(&consumer.expect("done"));
            let cpu_used = consumer.cpu_ns() - cpu_before;
            consumer.finish();
            let received = field(&done, "received");
            assert!(received > 0.0, "{kind} consumer received nothing");
            if field(&done, "lost") == 0.0 {
                let expected = (count * (count - 1) / 2) as f64;
                assert_eq!(field(&done, "checksum"), expected, "records were corrupted");
            }
            let span_s = (field(&done, "last_ns") - field(&produced, "start_ns")) / 1e9;
            rate.side(wasm).push(received / span_s);
            cpu.side(wasm).push(cpu_used as f64 / received);
        }
    }
    rows.extend([rate, cpu]);
}

/// A full ring buffer drained as fast as the consumer can; on the wasm-bpf
/// side, through a sink component when `sink` says which records
/// (`typed`, `records`).
fn drain(setup: &Setup, size: u32, count: u64, sink: Option<&str>, rows: &mut Vec<Row>) {
    let through = match sink {
        Some("typed") => ", into a typed sink",
        Some(_) => ", into a self-describing sink",
        None => "",
    };
    // Issue 18's goals: at least half of native's rate for small records,
    // 0.8 for large ones; self-describing records are held to the typed
    // sink's rate instead (see `report`).
    let goal = match (size, sink) {
        (_, Some("records")) => None,
        (16, _) => Some((true, 0.5)),
        _ => Some((true, 0.8)),
    };
    let mut rate = Row::new(
        format!("ring buffer drain, {size} B records, {count} queued{through}"),
        "events/s",
        goal,
    );
    for _ in 0..RUNS {
        for wasm in [false, true] {
            let producer = setup.producer(count, 1);
            let args: Vec<String> = [
                "drain",
                &size.to_string(),
                &producer.pid().to_string(),
                &count.to_string(),
            ]
            .map(String::from)
            .to_vec();
            let mut consumer = Proc::spawn(setup.consumer(wasm, &args, sink));
            fill_then_drain(producer, &mut consumer);
            if let (true, Some(_)) = (wasm, sink) {
                let sunk = fields(&consumer.expect("sunk"));
                assert_eq!(field(&sunk, "n"), count as f64, "the sink lost records");
            }
            let done = fields(&consumer.expect("done"));
            consumer.finish();
            assert_eq!(field(&done, "received"), count as f64, "drain lost records");
            rate.side(wasm)
                .push(count as f64 / (field(&done, "ns") / 1e9));
        }
    }
    rows.push(rate);
}

/// Hash map operations on 10 000 entries, and the least a call costs.
fn maps(setup: &Setup, rows: &mut Vec<Row>) {
    let ops = [
        "update",
        "lookup",
        "delete",
        "update_batch",
        "lookup_batch",
        "delete_batch",
        "minimal",
    ];
    let mut op_rows: Vec<Row> = ops
        .iter()
        .map(|&op| match op {
            "minimal" => Row::new(
                "minimal call: a host call (`is-stopping`) vs a system call (getppid)",
                "ns/op",
                None,
            ),
            _ => Row::new(
                format!("hash map (10k entries): {}", op.replace('_', " ")),
                "ns/op",
                Some((false, 1.15)),
            ),
        })
        .collect();
    for _ in 0..RUNS {
        for wasm in [false, true] {
            let mut consumer =
                Proc::spawn(setup.consumer(wasm, &["maps".into(), "10000".into()], None));
            let done = fields(&consumer.expect("done"));
            consumer.finish();
            for (row, op) in op_rows.iter_mut().zip(ops) {
                row.side(wasm).push(field(&done, op));
            }
        }
    }
    rows.extend(op_rows);
}

/// Milliseconds from spawning `cmd` to its header line (printed once every
/// program is attached), and its peak RSS in KiB.
fn start_to_attached(cmd: Command) -> (f64, f64) {
    let start = Instant::now();
    let mut proc = Proc::spawn(cmd);
    proc.expect("TIME");
    let ms = start.elapsed().as_secs_f64() * 1e3;
    // Run a little, as a user would, before stopping it.
    std::thread::sleep(Duration::from_millis(300));
    proc.signal(libc::SIGINT);
    (ms, proc.finish() as f64)
}

/// Bootstrap from process start to attached: native, and wasm-bpf cold,
/// warm and precompiled; peak RSS of native and warm. The three start-up
/// rows share one set of native samples.
fn startup(setup: &Setup, rows: &mut Vec<Row>) {
    let native = || {
        setup.native(&[
            "bootstrap".into(),
            setup.bootstrap_obj.display().to_string(),
        ])
    };
    let mut cold = Row::new(
        "bootstrap start → attached, cold (no cache)",
        "ms",
        Some((false, 3.0)),
    );
    let mut warm = Row::new(
        "bootstrap start → attached, warm (cache)",
        "ms",
        Some((false, 1.2)),
    );
    let mut pre = Row::new(
        "bootstrap start → attached, precompiled",
        "ms",
        Some((false, 1.2)),
    );
    let mut rss = Row::new("bootstrap peak RSS (warm)", "KiB", Some((false, 2.0)));
    let mut native_ms = Samples::default();
    // Fill the cache of compiled components once.
    start_to_attached(setup.wasm(&[], &setup.bootstrap_wasm, &[]));
    for _ in 0..RUNS {
        let (ms, kib) = start_to_attached(pinned(native(), CONSUMER_CPU));
        native_ms.push(ms);
        rss.native.push(kib);
        cold.wasm
            .push(start_to_attached(setup.wasm(&["--no-cache"], &setup.bootstrap_wasm, &[])).0);
        let (ms, kib) = start_to_attached(setup.wasm(&[], &setup.bootstrap_wasm, &[]));
        warm.wasm.push(ms);
        rss.wasm.push(kib);
        pre.wasm
            .push(start_to_attached(setup.wasm(&[], &setup.bootstrap_cwasm, &[])).0);
    }
    for row in [&mut cold, &mut warm, &mut pre] {
        row.native = native_ms.clone();
    }
    rows.extend([cold, warm, pre, rss]);
}

fn file_kib(path: &Path) -> f64 {
    path.metadata()
        .map_or(f64::NAN, |m| m.len() as f64 / 1024.0)
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_default();
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    let commit = Command::new("git")
        .args(["rev-parse", "--short", "HEAD"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    format!(
        "{cpu}, {cpus} CPUs, Linux {}, commit {commit}",
        kernel.trim()
    )
}

/// The ratio of each figure in a previous report, by figure.
fn previous_ratios(report: &str) -> std::collections::HashMap<String, f64> {
    report
        .lines()
        .filter_map(|line| {
            let cells: Vec<&str> = line.split('|').map(str::trim).collect();
            let ratio = cells.get(5)?.split('x').next()?.parse().ok()?;
            Some((cells.get(1)?.to_string(), ratio))
        })
        .collect()
}

fn report(rows: &[Row], setup: &Setup, previous: &str) -> String {
    let previous = previous_ratios(previous);
    let mut out = String::new();
    let _ = writeln!(out, "# Benchmarks: wasm-bpf vs native libbpf-rs\n");
    let _ = writeln!(out, "Machine: {}.  ", machine());
    let _ = writeln!(
        out,
        "Command: `make bench` (the host built with the `dist` profile). Each figure: median (min–max) of \
         {RUNS} runs ({STREAM_RUNS} for streams), native and wasm-bpf alternating, same `.bpf.o`, \
         each consumer its own process, pinned to CPU {CONSUMER_CPU} (producers to CPU {PRODUCER_CPU}). \
         wasm/native: the median (min–max) of the ratios of each pair of runs. Previous: the ratio \
         the `BENCHMARKS.md` this run replaced had, to show how much a ratio moves between two runs.\n"
    );
    let _ = writeln!(
        out,
        "| figure | unit | native | wasm-bpf | wasm/native | previous | goal |"
    );
    let _ = writeln!(out, "|---|---|---|---|---|---|---|");
    for row in rows {
        let ratios = row.ratios();
        let (goal, met) = match row.goal {
            Some((true, g)) => (format!("≥ {g:.2}x"), row.ratio() >= g),
            Some((false, g)) => (format!("≤ {g:.2}x"), row.ratio() <= g),
            None => (String::new(), true),
        };
        let before = previous
            .get(&row.figure)
            .map_or_else(|| "–".to_string(), |r| format!("{r:.2}x"));
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {:.2}x ({:.2}–{:.2}) | {before} | {goal}{} |",
            row.figure,
            row.unit,
            cell(&row.native),
            cell(&row.wasm),
            row.ratio(),
            ratios.min(),
            ratios.max(),
            if met { "" } else { " **missed**" }
        );
    }
    let sink = |kind: &str| {
        rows.iter()
            .find(|r| r.figure.ends_with(&format!(", into a {kind} sink")))
    };
    if let (Some(typed), Some(records)) = (sink("typed"), sink("self-describing")) {
        let ratio = records.wasm.median() / typed.wasm.median();
        let _ = writeln!(
            out,
            "\nSelf-describing against typed records: the self-describing sink drains at {ratio:.2}x the typed sink's rate (goal ≥ 0.80x{}).",
            if ratio >= 0.8 { "" } else { ", **missed**" }
        );
    }
    let stage = |name: &str| rows.iter().find(|r| r.figure.ends_with(name));
    if let (Some(json), Some(filter)) = (stage(": probe → json"), stage(": probe → filter → json"))
    {
        let (one, more) = (json.wasm.median(), filter.wasm.median());
        let share = (more - one) / one;
        let _ = writeln!(
            out,
            "\nOne more stage: the filter row minus the json row is {:.1} ns per record, {:.0}% of the json row's {one:.1} (goal ≤ 5%{}); a difference inside the rows' spread (min–max) is noise, not a stage's cost.",
            more - one,
            share * 100.0,
            if share <= 0.05 { "" } else { ", **missed**" }
        );
    }
    let component = file_kib(&setup.bootstrap_wasm);
    let _ = writeln!(out, "\nFootprint:\n");
    let _ = writeln!(
        out,
        "- bootstrap component: {component:.0} KiB (goal ≤ 256 KiB{})",
        if component <= 256.0 {
            ""
        } else {
            ", **missed**"
        }
    );
    let _ = writeln!(
        out,
        "- bootstrap precompiled (.cwasm): {:.0} KiB",
        file_kib(&setup.bootstrap_cwasm)
    );
    let _ = writeln!(
        out,
        "- bootstrap.bpf.o (embedded): {:.0} KiB",
        file_kib(&setup.bootstrap_obj)
    );
    let _ = writeln!(
        out,
        "- wasm-bpf host binary: {:.1} MiB (`dist` profile: fat LTO, one codegen unit)",
        file_kib(&setup.wasm_bpf) / 1024.0
    );
    // What the tests run: the `release` profile, without LTO.
    let release = target().join("release/wasm-bpf");
    if release.exists() {
        let _ = writeln!(
            out,
            "- the same without LTO (`release` profile, what the tests run): {:.1} MiB",
            file_kib(&release) / 1024.0
        );
    }
    out.push_str(NOTES);
    out
}

/// How to read the table; the closing notes of the benchmark work say
/// where the time goes for each figure that misses its goal.
const NOTES: &str = "
What the figures measure:

- *delivered*: records the consumer handled per second while a separate process
  calls getpid() as fast as it can, one record each. The offered load is the same
  for both, so this mostly shows that nothing is lost or late.
- *consumer CPU*: the consumer process's CPU time (all threads, from
  /proc/<pid>/task/*/schedstat) per record. With a consumer that keeps up, the
  kernel wakes it for nearly every record, and the wake-up dominates.
- *drain*: records queued in a full ring, then consumed as fast as possible. The
  native handler reads 8 bytes of each record in place; wasm-bpf copies every
  record into the guest. An upper bound of the copy, not a typical load.
- *into a sink*: the same drain on the wasm-bpf side by bench-probe composed
  with bench-sink (`wasm-bpf compose`): every batch crosses a second component
  boundary, as `head` records of the probe's own WIT (*typed*) or as
  self-describing records of `wasm-bpf:bpf/sink`, and the sink counts and sums
  them. Against the same native drain, which has no second component.
- *2 producing CPUs*: the same stream from two producer threads, one per CPU,
  so one shares the consumer's CPU. On more CPUs, expect delivery to grow with
  the producers until the one consumer thread is busy; its CPU per record
  then falls, as each wake-up finds more records.
- *composed stages*: the drain on the wasm-bpf side by bench-records-probe
  composed with the `json` example, and with `filter` (passing every record)
  then `json`; natively, a drain that prints the same JSON lines. The filter
  row minus the json row is what one more stage costs per record.
- *hash map*: one host call per operation against one system call natively; the
  batch rows use the kernel's batch operations, one call per batch, at 10^4,
  10^5 and 10^6 entries.
- *minimal call*: the guest's cheapest host call (no arguments, a bool back, no
  system call) against the cheapest system call: what wasmtime's boundary costs
  on its own, which every single map call pays on top of its system call.
- *start → attached*: spawn to the header line, which both print once every
  program is attached. Cold compiles the component, warm loads it from the cache
  of compiled components, precompiled runs a `wasm-bpf compile` output.
- *peak RSS*: ru_maxrss of the whole process, file-backed code pages included.
- *apps at once*: 1, 4 and 16 bootstrap apps running together on one CPU while
  200 short processes run (an exec and an exit event each, for every app).
  Memory is the sum of the apps' Pss, so pages they share (the binary, libc)
  count once; CPU is all apps' CPU time per traced process. The last two rows
  are what each app past the first adds.
- *agent*: N bootstrap apps in one `wasm-bpf agent` process against N native
  processes (the same rows' native side), on one CPU, while 200 short processes
  run: the agent's Pss against the sum of the native processes' Pss, and CPU
  time per traced process. *Start of one more app* is a `POST
  /apps/NAME/start` to an agent already running bootstrap (so the compiled code
  is loaded) until the new app's header, against spawning the native tool
  until its header.
  What stands in the way of the agent's missed goals. *16 apps in all*: before
  any app, the agent's process holds about 12 MiB (the 1-app row against the
  per-app row), most of it the host binary's pages: code and read-only
  data of wasmtime, the WASI implementation, libbpf and the CLI, mapped 64 KiB
  around each page touched (the kernel's fault-around, which this VM's lockdown
  keeps from being lowered); a native tool maps about 1 MiB. Each app costs
  less than a native process past that (the 1 → 64 row), so the agent's total
  falls below the native sum only from about 110 apps, past the 64 programs
  the kernel attaches to one tracepoint (BPF_TRACE_MAX_PROGS): 64 bootstrap
  apps are as many as one node can run at once, the agent's or native.
  *CPU at 1 and 4 apps*: the agent's CPU per traced process is below N `run`
  processes' (the apps rows above, same run), and above native by what every
  event costs in wasm-bpf (a host call per batch, lifting the record, the
  guest's formatting in wasm; see the stream and drain rows); from 16 apps one
  process's threads cost less than N processes' context switches, and the
  agent is below native.

What stands in the way of the third performance round's missed goals
(profiles taken with `perf record`, native and wasm-bpf one after the other
on CPU 0, producers on CPU 1):

- *Single map calls*: the `*-small` calls lift and lower no list, and our own
  code (checks, the map's fd, the system call's arguments) is about a tenth of
  what a call costs beyond native. The rest: wasmtime's entry to a host
  function (about 45 ns a call) and the bookkeeping of a borrowed resource
  (about 40 ns: `ResourceTables::enter_call`, `validate_scope_exit`,
  `lift_from_index`), and the kernel's own work, about 20% more samples in the
  same functions (`htab_map_update_elem`, `_copy_from_user`) than for the
  native process: a process with several threads takes a reference on the
  map's file in each call (`fdget`/`fput`), which a single-threaded tool skips.
- *Ring stream, 16-byte records, one producing CPU*: wasm-bpf polls once per
  1.3 records (1.5 million polls for 2 million records; 98% of the waits
  return at once, 12,700 context switches against native's 106,000). A poll
  costs about 1 µs (the host call, lowering the batch, a call into the
  guest's allocator, the guest's loop, and the wall clock the bench guest
  reads per batch), which is 2.5 producer records, so the consumer never
  sleeps long enough to batch: it reads each record while the producer
  writes the next on the same cache line, and the kernel wakes a consumer
  that has caught up on every commit. Both slow the producer: fewer records
  are delivered, each at a higher cost. With two producing CPUs, records
  queue up and the ratios are near native.
- *Perf buffer CPU*: polls no longer read every CPU's buffer before waiting
  (each sample reports itself; `perf_buffer__process_records` fell from 1876
  to 1020 samples per million records), but the consumer still polls once
  per sample (854,000 waits for a million samples), at the per-poll cost
  above.
- *Drain, 256-byte records*: the walk of the ring now prefetches ahead (it
  waited on one header after another), which halved its time; what remains
  is the two copies of every record (ring to batch, batch to the guest's
  memory), 264 bytes each where the native handler reads 16 bytes in place.
  One copy would need wasmtime to lower the guest's list straight from the
  ring: a host function's bindings return an owned `Vec`, which wasmtime then
  copies into memory it asks the guest's allocator for.
- *Typed sink*: about half of the time is the host's walk and copies (as in
  the drain row), the rest the probe's conversion to the WIT records and the
  second component boundary (a call into the sink's allocator, and the
  adapter's copy of every record).
- *One more stage*: the json row fell below native (native builds a
  `serde_json` map per record; the json consumer now writes each line as it
  reads the columns), so 5% of it is a few nanoseconds. A stage costs the
  copy of every column across two more boundaries (lifted into the filter,
  lowered into json, with a call into each one's allocator per column) and
  the filter's test of each record.
";

/// The groups of figures, in the order they run and are reported.
const GROUPS: &[&str] = &[
    "stream", "drain", "stages", "maps", "startup", "apps", "agent",
];

/// Runs every group, or with `WASM_BPF_BENCH=group,...` only those and
/// without writing `BENCHMARKS.md`, which must come from one full run.
fn harness() {
    let only = std::env::var("WASM_BPF_BENCH").ok();
    let wanted: Vec<&str> = only
        .as_deref()
        .map_or(GROUPS.to_vec(), |o| o.split(',').collect());
    if let Some(unknown) = wanted.iter().find(|g| !GROUPS.contains(g)) {
        panic!(
            "WASM_BPF_BENCH: no group {unknown:?} (groups: {})",
            GROUPS.join(", ")
        );
    }
    let setup = Setup::new();
    let mut rows = Vec::new();
    for group in wanted {
        match group {
            "stream" => {
                stream(&setup, "ring", 16, 2_000_000, 1, &mut rows);
                stream(&setup, "ring", 16, 2_000_000, 2, &mut rows);
                stream(&setup, "ring", 256, 1_000_000, 1, &mut rows);
                stream(&setup, "perf", 16, 1_000_000, 1, &mut rows);
            }
            "drain" => {
                drain(&setup, 16, 400_000, None, &mut rows);
                drain(&setup, 16, 400_000, Some("typed"), &mut rows);
                drain(&setup, 16, 400_000, Some("records"), &mut rows);
                drain(&setup, 256, 50_000, None, &mut rows);
            }
            "stages" => growth::stages(&setup, 200_000, &mut rows),
            "maps" => {
                maps(&setup, &mut rows);
                growth::map_sizes(&setup, &mut rows);
            }
            "startup" => startup(&setup, &mut rows),
            "apps" => growth::apps(&setup, &mut rows),
            _ => agent::agent(&setup, &mut rows),
        }
    }
    let path = root().join("BENCHMARKS.md");
    let previous = std::fs::read_to_string(&path).unwrap_or_default();
    let table = report(&rows, &setup, &previous);
    print!("{table}");
    if only.is_none() {
        std::fs::write(&path, &table).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
        println!("\n(written to {})", path.display());
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let result = match args.get(1).map(String::as_str) {
        Some("producer") => native::producer(&args),
        Some("stream") => native::stream(&args),
        Some("drain") => native::drain(&args),
        Some("json") => native::drain_json(&args),
        Some("maps") => native::maps(&args),
        Some("bootstrap") => native::bootstrap(&args),
        // `cargo bench` passes `--bench`; anything else runs the harness.
        _ => {
            harness();
            Ok(())
        }
    };
    if let Err(e) = result {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}
