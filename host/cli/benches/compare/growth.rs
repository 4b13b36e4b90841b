//! How cost grows with the work: composed stages, map sizes, producing
//! CPUs (see `stream`) and apps running at once.

use std::process::Command;

use crate::measure::{field, fields, Proc};
use crate::{fill_then_drain, pinned, Row, Setup, CONSUMER_CPU, PRODUCER_CPU, RUNS};

/// Records drained through composed stages: bench-records-probe into the `json`
/// example, and into `filter` (passing every record) then `json`, against
/// a native drain that prints the same JSON lines (after the same test).
/// The filter row minus the json row is what one more stage costs.
pub fn stages(setup: &Setup, count: u64, rows: &mut Vec<Row>) {
    let stages = [
        ("json", &setup.bench_json_wasm, "all"),
        ("filter → json", &setup.bench_filter_json_wasm, "filter"),
    ];
    for (name, component, native_mode) in stages {
        // Issue 36's goal for the json row; the filter row's is the cost of
        // one more stage, which `report` states under the table.
        let goal = (name == "json").then_some((false, 1.3));
        let mut row = Row::new(
            format!("composed stages, 16 B records, {count} queued: probe → {name}"),
            "ns/record",
            goal,
        );
        for _ in 0..RUNS {
            for wasm in [false, true] {
                let producer = setup.producer(count, 1);
                let (size, pid, count_arg) = (
                    "16".to_string(),
                    producer.pid().to_string(),
                    count.to_string(),
                );
                let cmd = if wasm {
                    setup.wasm(
                        &["--env", "FILTER=seq >= 0"],
                        component,
                        &["drain".into(), "records".into(), size, pid, count_arg],
                    )
                } else {
                    let args = [
                        "json".into(),
                        size,
                        pid,
                        count_arg,
                        setup.bench_obj.display().to_string(),
                        native_mode.into(),
                    ];
                    pinned(setup.native(&args), CONSUMER_CPU)
                };
                let mut consumer = Proc::spawn(cmd);
                fill_then_drain(producer, &mut consumer);
                let mut lines = 0u64;
                let done = loop {
                    let line = consumer.expect("");
                    if line.starts_with("done") {
                        break fields(&line);
                    }
                    lines += u64::from(line.starts_with("{\"seq\":"));
                };
                consumer.finish();
                assert_eq!(field(&done, "received"), count as f64, "drain lost records");
                assert_eq!(lines, count, "{name}: not every record was printed");
                row.side(wasm).push(field(&done, "ns") / count as f64);
            }
        }
        rows.push(row);
    }
}

/// The kernel's batch operations on hash maps of 10^5 and 10^6 entries
/// (10^4 is in the map rows), one call per batch on both sides.
pub fn map_sizes(setup: &Setup, rows: &mut Vec<Row>) {
    let ops = ["update_batch", "lookup_batch", "delete_batch"];
    for (entries, label) in [(100_000u32, "100k"), (1_000_000, "1M")] {
        let mut op_rows: Vec<Row> = ops
            .iter()
            .map(|op| {
                Row::new(
                    format!("hash map ({label} entries): {}", op.replace('_', " ")),
                    "ns/op",
                    Some((false, 1.15)),
                )
            })
            .collect();
        for _ in 0..RUNS.min(5) {
            for wasm in [false, true] {
                let args = ["maps".into(), entries.to_string()];
                let cmd = if wasm {
                    // Room for a million keys and values, twice over.
                    setup.wasm(
                        &["--max-memory", "512MiB"],
                        &setup.bench_wasm,
                        &[args[0].clone(), args[1].clone(), "batch".into()],
                    )
                } else {
                    let all = [
                        args[0].clone(),
                        args[1].clone(),
                        setup.bench_obj.display().to_string(),
                        "batch".into(),
                    ];
                    pinned(setup.native(&all), CONSUMER_CPU)
                };
                let mut consumer = Proc::spawn(cmd);
                let done = fields(&consumer.expect("done"));
                consumer.finish();
                for (row, op) in op_rows.iter_mut().zip(ops) {
                    row.side(wasm).push(field(&done, op));
                }
            }
        }
        rows.extend(op_rows);
    }
}

/// Processes the load of [`apps`] starts, one after another.
pub const TRACED: u32 = 200;

/// 1, 4 and 16 bootstrap apps at once, all on one CPU: the memory they
/// take together (the sum of their Pss, so that pages they share count
/// once), and the CPU they use together while `TRACED` short processes run
/// (each is one exec and one exit event for every app); then what one more
/// app adds, from 1 to 16.
pub fn apps(setup: &Setup, rows: &mut Vec<Row>) {
    let counts = [1usize, 4, 16];
    let mut memory: Vec<Row> = counts
        .iter()
        .map(|n| {
            Row::new(
                format!(
                    "{n} bootstrap app{} at once: memory (sum of Pss)",
                    plural(*n)
                ),
                "KiB",
                None,
            )
        })
        .collect();
    let mut cpu: Vec<Row> = counts
        .iter()
        .map(|n| {
            Row::new(
                format!(
                    "{n} bootstrap app{} at once: CPU per traced process (all apps)",
                    plural(*n)
                ),
                "µs",
                None,
            )
        })
        .collect();
    let mut memory_added = Row::new("bootstrap apps, 1 → 16: memory per added app", "KiB", None);
    let mut cpu_added = Row::new(
        "bootstrap apps, 1 → 16: CPU per added app per traced process",
        "µs",
        None,
    );
    for _ in 0..RUNS.min(5) {
        for wasm in [false, true] {
            let mut taken = Vec::new();
            for (i, &n) in counts.iter().enumerate() {
                let (kib, us) = run_apps(setup, wasm, n);
                memory[i].side(wasm).push(kib);
                cpu[i].side(wasm).push(us);
                taken.push((kib, us));
            }
            let (first, last) = (taken[0], taken[counts.len() - 1]);
            let added = (counts[counts.len() - 1] - counts[0]) as f64;
            memory_added.side(wasm).push((last.0 - first.0) / added);
            cpu_added.side(wasm).push((last.1 - first.1) / added);
        }
    }
    rows.extend(memory);
    rows.extend(cpu);
    rows.extend([memory_added, cpu_added]);
}

/// Runs `n` bootstrap apps until attached, then `TRACED` processes, and
/// returns the apps' memory (KiB) and CPU per traced process (µs).
pub fn run_apps(setup: &Setup, wasm: bool, n: usize) -> (f64, f64) {
    let mut apps: Vec<Proc> = (0..n)
        .map(|_| {
            let cmd = if wasm {
                setup.wasm(&[], &setup.bootstrap_wasm, &[])
            } else {
                pinned(
                    setup.native(&[
                        "bootstrap".into(),
                        setup.bootstrap_obj.display().to_string(),
                    ]),
                    CONSUMER_CPU,
                )
            };
            let mut app = Proc::spawn(cmd);
            app.expect("TIME");
            app
        })
        .collect();
    let before: u64 = apps.iter().map(Proc::cpu_ns).sum();
    // Every app has handled every event once it has printed the last exit.
    let last = traced_load();
    for app in &mut apps {
        app.until(|line| line.contains("EXIT") && line.split_whitespace().any(|w| w == last));
    }
    let used: u64 = apps.iter().map(Proc::cpu_ns).sum::<u64>() - before;
    let kib: f64 = apps.iter().map(Proc::pss_kib).sum();
    for app in apps {
        app.signal(libc::SIGINT);
        app.finish();
    }
    (kib, used as f64 / 1e3 / f64::from(TRACED))
}

/// Runs `TRACED` short processes one after another; the last one's pid.
pub fn traced_load() -> String {
    let mut last = 0;
    for _ in 0..TRACED {
        let mut child = pinned(Command::new("/bin/true"), PRODUCER_CPU)
            .spawn()
            .expect("spawning /bin/true");
        last = child.id();
        child.wait().expect("waiting for /bin/true");
    }
    last.to_string()
}

pub fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}
