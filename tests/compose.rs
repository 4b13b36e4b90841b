//! Composition (`wit/records.wit`): bootstrap as a probe, plugged into the
//! `filter` stage and the `json` consumer, with `wasm-bpf compose` and with
//! `wasm-bpf run --sink`, tracing real processes; and the errors of parts
//! that do not fit.

mod common;

use std::os::unix::ffi::OsStrExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use common::{
    bpf_ids, guest, json_records, require_kernel, sleep_path, wait_attached, wait_ended,
    wait_finished, wasm_bpf, Running,
};
use serde_json::Value;

fn probe() -> PathBuf {
    guest("bootstrap-probe")
}

fn filter() -> PathBuf {
    guest("filter")
}

fn json() -> PathBuf {
    guest("json")
}

fn compose(parts: &[&Path], output: &Path) -> Output {
    wasm_bpf()
        .arg("compose")
        .args(parts)
        .arg("-o")
        .arg(output)
        .output()
        .expect("running wasm-bpf compose")
}

/// Runs `sleep 0.2` and `true` once `running` has attached its programs;
/// their pids.
fn spawn_traced(running: &Running) -> (u32, u32) {
    wait_attached(running, 2);
    let mut sleep = Command::new(sleep_path())
        .arg("0.2")
        .spawn()
        .expect("sleep");
    let mut truth = Command::new("true").spawn().expect("true");
    let pids = (sleep.id(), truth.id());
    assert!(sleep.wait().expect("sleep").success());
    assert!(truth.wait().expect("true").success());
    pids
}

/// The JSON records a run printed, after it ended on its own (`-t`).
fn records(mut running: Running) -> Vec<serde_json::Map<String, Value>> {
    wait_finished(&mut running);
    running
        .seen
        .iter()
        .map(|line| match serde_json::from_str(line) {
            Ok(Value::Object(map)) => map,
            other => panic!("not a JSON object: {line} ({other:?})"),
        })
        .collect()
}

/// `pid`'s records, after checking the fields every record must have.
fn of_pid(
    records: &[serde_json::Map<String, Value>],
    pid: u32,
) -> Vec<&serde_json::Map<String, Value>> {
    let keys = [
        "pid",
        "ppid",
        "exit_code",
        "duration_ns",
        "comm",
        "filename",
        "exit_event",
    ];
    for r in records {
        let have: Vec<&str> = r.keys().map(String::as_str).collect();
        assert_eq!(have, keys, "fields in schema order: {r:?}");
        assert_eq!(r["comm"], "sleep", "the filter let through {r:?}");
    }
    records
        .iter()
        .filter(|r| r["pid"] == u64::from(pid))
        .collect()
}

fn check_sleep_and_true(records: &[serde_json::Map<String, Value>], sleep: u32, truth: u32) {
    assert!(
        of_pid(records, truth).is_empty(),
        "`true` passed the filter"
    );
    let mine = of_pid(records, sleep);
    assert_eq!(mine.len(), 2, "exactly sleep's exec and exit: {records:?}");
    let (exec, exit) = (mine[0], mine[1]);
    assert_eq!(exec["exit_event"], false);
    assert_eq!(
        exec["filename"],
        sleep_path().to_string_lossy().as_ref(),
        "{exec:?}"
    );
    assert_eq!(exec["ppid"], u64::from(std::process::id()));
    assert_eq!(exit["exit_event"], true);
    assert_eq!(exit["exit_code"], 0);
    assert_eq!(exit["ppid"], u64::from(std::process::id()));
    let duration = exit["duration_ns"].as_u64().expect("duration_ns is a u64");
    assert!(
        (200_000_000..2_000_000_000).contains(&duration),
        "sleep 0.2 lasted {duration} ns"
    );
}

const FILTER: &str = "FILTER=comm == \"sleep\"";

#[test]
fn composed_probe_filter_and_json_trace_real_processes() {
    require_kernel();
    let dir = tempfile::tempdir().expect("temp dir");
    let app = dir.path().join("app.wasm");
    let out = compose(&[&probe(), &filter(), &json()], &app);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let running = Running::start(&["--env", FILTER], &app, &["-t", "3"]);
    let (sleep, truth) = spawn_traced(&running);
    check_sleep_and_true(&records(running), sleep, truth);
}

#[test]
fn run_with_sinks_composes_in_memory() {
    require_kernel();
    let (filter, json) = (filter(), json());
    let host_args = [
        "--env",
        FILTER,
        "--sink",
        filter.to_str().expect("utf-8 path"),
        "--sink",
        json.to_str().expect("utf-8 path"),
    ];
    let running = Running::start(&host_args, &probe(), &["-t", "3"]);
    let (sleep, truth) = spawn_traced(&running);
    check_sleep_and_true(&records(running), sleep, truth);
}

/// A filter that cannot work stops the probe before it loads anything,
/// with the filter's message.
#[test]
fn filter_mistakes_stop_the_probe() {
    require_kernel();
    let cases: &[(Option<&str>, &[&str])] = &[
        (None, &["no expression; set FILTER"]),
        (
            Some("comm = \"sleep\""),
            &[
                "`=` is not an operator",
                "at column 6",
                "\n  comm = \"sleep\"\n       ^",
            ],
        ),
        (
            Some("comm == \"sleep\" &&"),
            &["expected a field name", "found the end", "column 19"],
        ),
        (
            Some("comn == \"sleep\""),
            &[
                "no field `comn`",
                "they have: pid, ppid, exit_code, duration_ns, comm, filename, exit_event",
            ],
        ),
        (
            Some("pid == \"one\""),
            &["`pid` is an integer: compare it with a number"],
        ),
        (Some("comm > 3"), &["`comm` is text"]),
    ];
    for (expr, words) in cases {
        let mut cmd = wasm_bpf();
        cmd.arg("run");
        if let Some(expr) = expr {
            cmd.args(["--env", &format!("FILTER={expr}")]);
        }
        let out = cmd
            .args([
                "--sink".as_ref(),
                filter().as_os_str(),
                "--sink".as_ref(),
                json().as_os_str(),
            ])
            .arg(probe())
            // -v: libbpf's debug log would show an object being opened.
            .args(["-v", "-t", "1"])
            .output()
            .expect("running wasm-bpf");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{expr:?}: {stderr}");
        assert!(out.stdout.is_empty(), "{expr:?}");
        for w in *words {
            assert!(stderr.contains(w), "{expr:?}: missing {w:?} in {stderr}");
        }
        assert!(
            !stderr.contains("libbpf"),
            "{expr:?}: the object was opened before the filter agreed: {stderr}"
        );
    }
}

/// A probe run on its own has no sink: the host says where one comes from
/// instead of a linker error.
#[test]
fn a_probe_alone_is_told_where_its_sink_comes_from() {
    for (probe, sink) in [
        (probe(), "wasm-bpf:bpf/sink@0.1.0"),
        (guest("bootstrap-typed"), "wasm-bpf:bootstrap/sink"),
    ] {
        let out = wasm_bpf()
            .arg("run")
            .arg(&probe)
            .output()
            .expect("running wasm-bpf run");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{stderr}");
        assert!(out.stdout.is_empty(), "{stderr}");
        for want in [
            format!("{} imports `{sink}`: it is a probe", probe.display()),
            "run it with `--sink CONSUMER.wasm` or compose it first".into(),
        ] {
            assert!(stderr.contains(&want), "missing {want:?} in {stderr}");
        }
    }
}

/// Runs bootstrap's probe into `consumer` with `env`, for `seconds` after it
/// starts, while a program of the test's own (`name`, a copy of sleep)
/// runs three times for 0.2 s; the output. Python and JavaScript
/// components take seconds to compile cold, hence the patience.
fn trace_with(consumer: &str, env: &[&str], name: &str) -> Vec<String> {
    require_kernel();
    let dir = tempfile::tempdir().expect("temp dir");
    let napper = dir.path().join(name);
    std::fs::copy(sleep_path(), &napper).expect("copying sleep");
    let consumer = guest(consumer);
    let mut host_args = vec!["--sink", consumer.to_str().expect("utf-8 path")];
    for var in env {
        host_args.extend(["--env", var]);
    }
    let mut running = Running::start(&host_args, &probe(), &["-t", "3"]);
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    while bpf_ids(running.pid()).links.len() < 2 {
        assert!(std::time::Instant::now() < deadline, "it never attached");
        std::thread::sleep(Duration::from_millis(20));
    }
    for _ in 0..3 {
        let status = Command::new(&napper).arg("0.2").status().expect("napping");
        assert!(status.success());
    }
    wait_finished(&mut running);
    running.seen.clone()
}

/// A consumer in Python (componentize-py) sums up real records: the
/// test's program started and exited three times, for about 0.2 s each.
#[test]
fn a_python_consumer_summarizes_real_processes() {
    let name = "pysnap";
    let lines = trace_with("summary-py", &["SUMMARY_OF=duration_ns"], name);
    let row = lines
        .iter()
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
        .find(|w| w.first() == Some(&name))
        .unwrap_or_else(|| panic!("no row for {name}: {lines:?}"));
    assert_eq!(row[1], "6", "3 execs and 3 exits: {row:?}");
    let max: u64 = row[3].parse().expect("a number");
    assert!((200_000_000..1_000_000_000).contains(&max), "{row:?}");
}

/// A consumer in JavaScript (componentize-js) prints the test's program
/// each time it exits after running longer than its threshold.
#[test]
fn a_javascript_consumer_prints_long_lived_processes() {
    let name = "jssnap";
    let lines = trace_with("lifetimes-js", &["LIFETIMES_MIN_MS=150"], name);
    let ours: Vec<&String> = lines.iter().filter(|l| l.starts_with(name)).collect();
    assert_eq!(ours.len(), 3, "{lines:?}");
    for line in ours {
        let ms: f64 = line
            .split_whitespace()
            .nth(2)
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no lifetime in {line}"));
        assert!(ms >= 150.0, "{line}");
    }
    assert!(
        lines.iter().any(|l| l.ends_with("ran for 150 ms or more")),
        "the setting was read: {lines:?}"
    );
}

/// A consumer or a stage run on its own is told what it is and how to run
/// it, from its imports and exports alone: nothing was compiled (the
/// compile cache stays empty).
#[test]
fn a_consumer_or_a_stage_alone_is_told_what_it_is_before_compiling() {
    let cache = tempfile::tempdir().expect("temp dir");
    for (part, words) in [
        (
            guest("metrics"),
            "it is a consumer, which a probe sends records to",
        ),
        (guest("stats"), "it is a consumer"),
        (
            filter(),
            "it is a stage, which goes between a probe and a consumer",
        ),
    ] {
        let out = wasm_bpf()
            .env("XDG_CACHE_HOME", cache.path())
            .arg("run")
            .arg(&part)
            .output()
            .expect("running wasm-bpf run");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{stderr}");
        assert!(stderr.contains(words), "{stderr}");
        assert!(
            stderr.contains(&format!("--sink {}", part.display())),
            "{stderr}"
        );
    }
    let compiled = walk(cache.path());
    assert!(
        compiled.is_empty(),
        "compiled before refusing: {compiled:?}"
    );
}

fn walk(dir: &std::path::Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else {
            files.push(path);
        }
    }
    files
}

/// A composition whose last part is not a consumer still imports a sink,
/// which no host provides: refused when composing, not at run time.
#[test]
fn a_composition_must_end_in_a_consumer() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = wasm_bpf()
        .arg("compose")
        .arg(probe())
        .arg(filter())
        .arg("-o")
        .arg(dir.path().join("app.wasm"))
        .output()
        .expect("running wasm-bpf compose");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("the composition still imports `wasm-bpf:bpf/sink@0.1.0`")
            && stderr.contains("is not a consumer"),
        "{stderr}"
    );
    assert!(!dir.path().join("app.wasm").exists());
}

/// Parts that do not fit are refused at composition, naming both sides.
#[test]
fn mismatched_parts_are_refused() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out_file = dir.path().join("app.wasm");
    let (probe, filter, json) = (probe(), filter(), json());
    let bad = guest("bad_sink");
    let bootstrap = guest("bootstrap");
    let (typed, report) = (guest("bootstrap-typed"), guest("bootstrap_report"));
    let cases: Vec<(Vec<&Path>, Vec<String>)> = vec![
        (
            vec![&probe, &bad],
            vec![
                format!(
                    "cannot plug {}'s export `wasm-bpf:bpf/sink@0.1.0`",
                    bad.display()
                ),
                format!(
                    "into {}'s import `wasm-bpf:bpf/sink@0.1.0`",
                    probe.display()
                ),
                "do not agree on the interface's types".into(),
                "missing expected record export `schema`".into(),
            ],
        ),
        (
            vec![&probe, &filter, &bad],
            vec![format!("into {}'s import", filter.display())],
        ),
        (
            vec![&json, &json],
            vec![
                format!(
                    "cannot plug {} (the consumer) into {} (the probe): \
                     it exports nothing the other imports",
                    json.display(),
                    json.display()
                ),
                format!("{} exports: wasm-bpf:bpf/sink@0.1.0", json.display()),
                format!("{} imports: wasm-bpf:bpf/records@0.1.0", json.display()),
            ],
        ),
        (
            vec![&probe, &bootstrap],
            vec![
                format!("cannot plug {} (the consumer)", bootstrap.display()),
                format!("{} exports: none besides WASI", bootstrap.display()),
            ],
        ),
        (
            vec![&probe, &json, &json],
            vec![format!(
                "cannot plug {} (the consumer) into {} (a stage)",
                json.display(),
                json.display()
            )],
        ),
        // Typed and self-describing records do not mix.
        (
            vec![&typed, &json],
            vec![
                format!("{} exports: wasm-bpf:bpf/sink@0.1.0", json.display()),
                "wasm-bpf:bootstrap/sink".into(),
            ],
        ),
        (
            vec![&probe, &report],
            vec![
                format!("{} exports: wasm-bpf:bootstrap/sink", report.display()),
                "wasm-bpf:bpf/sink@0.1.0".into(),
            ],
        ),
    ];
    for (parts, words) in cases {
        let out = compose(&parts, &out_file);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{parts:?} composed");
        for w in &words {
            assert!(
                stderr.contains(w.as_str()),
                "{parts:?}: missing {w:?} in {stderr}"
            );
        }
        assert!(!out_file.exists(), "{parts:?}: wrote a component anyway");
    }
}

/// Typed probes send `event` records of their own WIT (`wasm-bpf gen wit`)
/// to consumers that read them as typed fields, each side in Rust or in C:
/// the traced processes appear with their pids, files, exit code and
/// duration, a name that is not UTF-8 arrives with U+FFFD in place of the
/// bad byte, and the summary agrees with the lines printed.
#[test]
fn typed_probes_and_consumers_in_rust_and_c_trace_real_processes() {
    require_kernel();
    for (probe, consumer) in [
        ("bootstrap-typed", "bootstrap_report"),
        ("bootstrap-typed", "bootstrap-report-c"),
        ("bootstrap-typed-c", "bootstrap_report"),
    ] {
        typed_probe_with(&guest(probe), &guest(consumer));
    }
}

fn typed_probe_with(probe: &Path, consumer: &Path) {
    let dir = tempfile::tempdir().expect("temp dir");
    let app = dir.path().join("app.wasm");
    let out = compose(&[probe, consumer], &app);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // A copy of true whose name has a byte that is not UTF-8.
    let odd = dir.path().join(std::ffi::OsStr::from_bytes(b"t\xffue"));
    std::fs::copy("/usr/bin/true", &odd).expect("copying true");
    let mut running = Running::start(&[], &app, &["-t", "3"]);
    let (sleep, truth) = spawn_traced(&running);
    let mut odd = Command::new(&odd).spawn().expect("the copy of true");
    let odd_pid = odd.id();
    assert!(odd.wait().expect("the copy of true").success());
    wait_finished(&mut running);
    let rows: Vec<Vec<&str>> = running
        .seen
        .iter()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(
        rows[0],
        ["EVENT", "COMM", "PID", "PPID", "FILENAME/EXIT", "CODE"]
    );
    let ppid = std::process::id().to_string();
    let of = |pid: u32| -> Vec<&Vec<&str>> {
        rows.iter()
            .filter(|r| r.get(2) == Some(&pid.to_string().as_str()))
            .collect()
    };
    let sleep_path = sleep_path();
    let sleep_rows = of(sleep);
    assert_eq!(
        sleep_rows.len(),
        2,
        "sleep's exec and exit: {:?}",
        running.seen
    );
    assert_eq!(
        *sleep_rows[0],
        [
            "EXEC",
            "sleep",
            &sleep.to_string(),
            &ppid,
            sleep_path.to_str().unwrap_or_default()
        ]
    );
    assert_eq!(
        sleep_rows[1][..5],
        ["EXIT", "sleep", &sleep.to_string(), &ppid, "[0]"]
    );
    let ms: u64 = sleep_rows[1][5]
        .trim_start_matches('(')
        .trim_end_matches("ms)")
        .parse()
        .expect("a duration in ms");
    assert!((200..2000).contains(&ms), "sleep 0.2 lasted {ms} ms");
    let true_rows = of(truth);
    assert_eq!(
        true_rows.len(),
        2,
        "true's exec and exit: {:?}",
        running.seen
    );
    assert_eq!(true_rows[0][..2], ["EXEC", "true"]);
    assert_eq!(
        true_rows[1][..5],
        ["EXIT", "true", &truth.to_string(), &ppid, "[0]"]
    );

    let odd_rows = of(odd_pid);
    assert_eq!(
        odd_rows.len(),
        2,
        "the odd name's exec and exit: {:?}",
        running.seen
    );
    assert_eq!(odd_rows[0][1], "t\u{fffd}ue");
    assert!(
        odd_rows[0][4].ends_with("/t\u{fffd}ue"),
        "filename {:?}",
        odd_rows[0][4]
    );

    let count = |kind: &str| rows.iter().filter(|r| r.first() == Some(&kind)).count();
    let summary = format!(
        "{} processes started, {} exited; longest running:",
        count("EXEC"),
        count("EXIT")
    );
    assert!(
        running.seen.contains(&summary),
        "missing {summary:?} in {:?}",
        running.seen
    );
}

/// `stats` after `filter`: counts by `comm` and a log2 histogram of
/// `duration_ns`, printed when the probe finishes: after its `-t`, or at
/// Ctrl-C (the host asks the probe to stop, the probe calls `finish`). The
/// traced program is a copy of sleep with a name of its own, so that other
/// tests' processes do not count.
#[test]
fn stats_counts_and_histograms_what_the_filter_passes() {
    stats_report(false);
}

#[test]
fn stats_reports_at_ctrl_c() {
    stats_report(true);
}

fn stats_report(at_ctrl_c: bool) {
    require_kernel();
    let dir = tempfile::tempdir().expect("temp dir");
    // A name of each test's own: the two run side by side.
    let name = if at_ctrl_c { "statsint" } else { "statsnap" };
    let napper = dir.path().join(name);
    std::fs::copy(sleep_path(), &napper).expect("copying sleep");
    let (filter, stats) = (filter(), guest("stats"));
    let host_args = [
        // The table must come from the probe's own stop, however slow
        // the machine: an hour's grace.
        "--grace",
        "1h",
        "--env",
        &format!("FILTER=comm == \"{name}\""),
        "--env",
        "STATS_KEY=comm",
        "--env",
        "STATS_HIST=duration_ns",
        "--sink",
        filter.to_str().expect("utf-8 path"),
        "--sink",
        stats.to_str().expect("utf-8 path"),
    ];
    let probe_args: &[&str] = if at_ctrl_c { &[] } else { &["-t", "3"] };
    let mut running = Running::start(&host_args, &probe(), probe_args);
    wait_attached(&running, 2);
    for _ in 0..3 {
        let status = Command::new(&napper).arg("0.2").status().expect("napping");
        assert!(status.success());
    }
    if at_ctrl_c {
        running.signal(libc::SIGINT);
        wait_ended(&mut running, Some(0));
    } else {
        wait_finished(&mut running);
    }
    let out = running.seen.join("\n");
    let words = |line: &str| {
        line.split_whitespace()
            .map(String::from)
            .collect::<Vec<_>>()
    };
    let lines: Vec<Vec<String>> = running.seen.iter().map(|l| words(l)).collect();
    // 3 execs and 3 exits, nothing else.
    assert!(lines.contains(&words("COMM COUNT")), "{out}");
    assert!(lines.contains(&words(&format!("{name} 6"))), "{out}");
    let bucket = |low: &str| {
        lines
            .iter()
            .find(|w| {
                w.first().map(String::as_str) == Some(low)
                    && w.get(1).map(String::as_str) == Some("->")
            })
            .and_then(|w| w.get(4))
            .and_then(|count| count.parse::<u64>().ok())
    };
    // Execs have no duration; the exits lasted 0.2 s (2^27..2^28 ns).
    assert_eq!(bucket("0"), Some(3), "{out}");
    assert_eq!(bucket("134217728"), Some(3), "{out}");
    assert_eq!(bucket("67108864"), Some(0), "{out}");
}

#[test]
fn stats_settings_are_checked_before_the_probe_loads() {
    require_kernel();
    let cases: &[(&[&str], &str)] = &[
        (&[], "nothing to count; set STATS_KEY"),
        (
            &["STATS_KEY=nope"],
            "STATS_KEY: the records have no field `nope`",
        ),
        (
            &["STATS_HIST=comm"],
            "STATS_HIST: `comm` is not an integer field",
        ),
        (
            &["STATS_KEY=comm", "STATS_INTERVAL=soon"],
            "STATS_INTERVAL: `soon` is not a positive number",
        ),
    ];
    for (env, words) in cases {
        let mut cmd = wasm_bpf();
        cmd.arg("run");
        for e in *env {
            cmd.args(["--env", e]);
        }
        let out = cmd
            .arg("--sink")
            .arg(guest("stats"))
            .arg(probe())
            .args(["-t", "1"])
            .output()
            .expect("running wasm-bpf");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{env:?}: {stderr}");
        assert!(
            stderr.contains(words),
            "{env:?}: missing {words:?} in {stderr}"
        );
    }
}

/// A second probe with the same consumers: opensnoop's opens counted by
/// file name, for a copy of cat with a name of its own.
#[test]
fn opensnoop_probe_composes_with_filter_and_stats() {
    require_kernel();
    let dir = tempfile::tempdir().expect("temp dir");
    let cat = dir.path().join("statcat");
    std::fs::copy("/bin/cat", &cat).expect("copying cat");
    let app = dir.path().join("opens.wasm");
    let out = compose(
        &[&guest("opensnoop-probe"), &filter(), &guest("stats")],
        &app,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let host_args = [
        "--env",
        "FILTER=comm == \"statcat\"",
        "--env",
        "STATS_KEY=fname",
    ];
    let mut running = Running::start(&host_args, &app, &["-t", "3"]);
    wait_attached(&running, 2);
    let missing = dir.path().join("missing");
    for file in [
        Path::new("/etc/hostname"),
        Path::new("/etc/hostname"),
        &missing,
    ] {
        // Only whether each open happened matters, not whether it worked.
        Command::new(&cat)
            .arg(file)
            .output()
            .expect("running statcat");
    }
    wait_finished(&mut running);
    let out = running.seen.join("\n");
    let rows: Vec<Vec<&str>> = running
        .seen
        .iter()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert!(rows.contains(&vec!["FNAME", "COUNT"]), "{out}");
    assert!(rows.contains(&vec!["/etc/hostname", "2"]), "{out}");
    let missing = missing.to_string_lossy();
    assert!(rows.contains(&vec![missing.as_ref(), "1"]), "{out}");
}

/// `source` compiled as `<name>.bpf.o` into a directory of its own, and
/// the `--dir` grant that shows it to a guest at `/objs`.
fn object_dir(name: &str, source: &str) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join(format!("{name}.bpf.c"));
    std::fs::write(&path, source).expect("writing the source");
    wasm_bpf_build::BpfBuild::new(&path)
        .out_dir(dir.path())
        .build()
        .unwrap_or_else(|e| panic!("compiling {name}.bpf.c: {e:#}"));
    let grant = format!("{}::/objs", dir.path().display());
    (dir, grant)
}

/// What third-party objects hold, run by the loader: a union (one field of
/// bytes), an `__int128` (bytes, not a panic), a record sent shorter than
/// its struct (decoded as far as it goes, and counted), a program whose
/// section names no hook (named, the others attached), and one hook
/// written twice, for `tp_btf` and `raw_tp` (only the `tp_btf` one runs).
#[test]
fn the_loader_reads_what_real_objects_hold() {
    require_kernel();
    let (dir, grant) = object_dir(
        "wide",
        r#"
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

struct wide_rec {
	u32 pid;
	union {
		u32 word;
		u8 bytes[4];
	} u;
	__int128 big;
	char path[64];
};

struct wide_rec _rec = {};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 16);
} recs SEC(".maps");

static int exec_rec(u32 which)
{
	struct wide_rec r = {};

	r.pid = bpf_get_current_pid_tgid() >> 32;
	r.u.word = which;
	bpf_ringbuf_output(&recs, &r, sizeof(r), 0);
	return 0;
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(exec_btf) { return exec_rec(1); }

SEC("raw_tp/sched_process_exec")
int BPF_PROG(exec_raw) { return exec_rec(2); }

SEC("tp/syscalls/sys_enter_openat")
int on_openat(struct trace_event_raw_sys_enter *ctx)
{
	struct wide_rec r = {};

	r.pid = bpf_get_current_pid_tgid() >> 32;
	r.u.word = 3;
	r.big = ((__int128)r.pid << 64) | 7;
	bpf_probe_read_user_str(r.path, sizeof(r.path), (const char *)ctx->args[1]);
	/* The path's first 8 bytes only: shorter than the struct. */
	bpf_ringbuf_output(&recs, &r, __builtin_offsetof(struct wide_rec, path) + 8, 0);
	return 0;
}

SEC("socket")
int no_hook(void *ctx) { return 0; }
"#,
    );
    let marker = dir.path().join("opened-by-the-test");
    std::fs::write(&marker, "x").expect("writing the marker");

    let sink = json();
    let host_args = ["--dir", &grant, "--sink", sink.to_str().expect("utf-8")];
    let mut running = Running::start(
        &host_args,
        &guest("loader"),
        &["--type", "wide_rec", "-t", "3", "/objs/wide.bpf.o"],
    );
    wait_attached(&running, 2);
    let mut cat = Command::new("cat").arg(&marker).spawn().expect("cat");
    let pid = cat.id();
    assert!(cat.wait().expect("cat").success());
    wait_finished(&mut running);
    let stderr = running.stderr();
    let records: Vec<serde_json::Map<String, Value>> = json_records(&running)
        .into_iter()
        .filter_map(|r| match r {
            Value::Object(map) => Some(map),
            _ => None,
        })
        .collect();
    let word = |r: &serde_json::Map<String, Value>| r.get("u").cloned();
    let cats: Vec<_> = records
        .iter()
        .filter(|r| r.get("pid").and_then(Value::as_u64) == Some(u64::from(pid)))
        .collect();
    let le = |n: u32| Value::from(n.to_le_bytes().to_vec());
    let execs: Vec<_> = cats.iter().filter(|r| word(r) != Some(le(3))).collect();
    assert_eq!(execs.len(), 1, "one exec record, from tp_btf: {cats:?}");
    assert_eq!(word(execs[0]), Some(le(1)), "{cats:?}");
    let path = marker.to_str().expect("utf-8");
    let opens: Vec<_> = cats
        .iter()
        .filter(|r| r.get("path").and_then(Value::as_str) == path.get(..8))
        .collect();
    assert_eq!(
        opens.len(),
        1,
        "cat's open, its path cut at 8 bytes: {cats:?}"
    );
    let mut big = 7u64.to_le_bytes().to_vec();
    big.extend(u64::from(pid).to_le_bytes());
    assert_eq!(opens[0].get("big"), Some(&Value::from(big)), "{cats:?}");
    let keys: Vec<&str> = opens[0].keys().map(String::as_str).collect();
    assert_eq!(keys, ["pid", "u", "big", "path"]);
    assert!(stderr.contains("no_hook (socket) not attached"), "{stderr}");
    assert!(
        stderr.contains("records were shorter than struct wide_rec (96 bytes)"),
        "{stderr}"
    );

    // Without the tp_btf twin, the raw_tp one runs.
    let mut running = Running::start(
        &host_args,
        &guest("loader"),
        &[
            "--type",
            "wide_rec",
            "--no-load",
            "exec_btf",
            "-t",
            "2",
            "/objs/wide.bpf.o",
        ],
    );
    wait_attached(&running, 2);
    let mut cat = Command::new("cat").arg(&marker).spawn().expect("cat");
    let pid = cat.id();
    assert!(cat.wait().expect("cat").success());
    wait_finished(&mut running);
    let execs: Vec<Value> = json_records(&running)
        .into_iter()
        .filter(|r| r["pid"].as_u64() == Some(u64::from(pid)) && r["u"] != le(3))
        .map(|r| r["u"].clone())
        .collect();
    assert_eq!(execs, [le(2)]);
}

/// An object that marks itself as Inspektor Gadget's gadgets do (this
/// test's own code, after their conventions): the loader finds the
/// tracer's buffer and struct from `gadget_tracer_*` with no `--type` or
/// `--buffer`, and `--param` sets the global a `gadget_param_*` marks,
/// which changes what is reported. A parameter the object does not mark
/// is refused before anything loads.
#[test]
fn the_loader_reads_gadget_markers_and_sets_their_params() {
    require_kernel();
    let (_dir, grant) = object_dir(
        "execs",
        r#"
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#define GADGET_TRACER(name, map, record) \
	const void *gadget_tracer_##name##___##map##___##record __attribute__((unused)); \
	const struct record *__gadget_tracer_type_##name __attribute__((unused));
#define GADGET_PARAM(name) const void *gadget_param_##name __attribute__((unused));

char LICENSE[] SEC("license") = "GPL";

struct exec_event {
	u32 pid;
	u32 uid;
	char comm[16];
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 16);
} execs SEC(".maps");

GADGET_TRACER(exec, execs, exec_event);

const volatile u32 targ_uid = (u32)-1;
GADGET_PARAM(targ_uid);

SEC("tp/sched/sched_process_exec")
int on_exec(void *ctx)
{
	struct exec_event *e;
	u32 uid = (u32)bpf_get_current_uid_gid();

	if (targ_uid != (u32)-1 && uid != targ_uid)
		return 0;
	e = bpf_ringbuf_reserve(&execs, sizeof(*e), 0);
	if (!e)
		return 0;
	e->pid = bpf_get_current_pid_tgid() >> 32;
	e->uid = uid;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	bpf_ringbuf_submit(e, 0);
	return 0;
}
"#,
    );
    let sink = json();
    let host_args = ["--dir", &grant, "--sink", sink.to_str().expect("utf-8")];
    // SAFETY: getuid has no preconditions.
    let uid = unsafe { libc::getuid() };
    // Who `true` runs as: reported only when the parameter names it.
    let trues = |param: &str| -> usize {
        let mut running = Running::start(
            &host_args,
            &guest("loader"),
            &["--param", param, "-t", "2", "/objs/execs.bpf.o"],
        );
        wait_attached(&running, 1);
        let pid = Command::new("true").spawn().expect("true").id();
        wait_finished(&mut running);
        json_records(&running)
            .into_iter()
            .filter(|r| r["pid"].as_u64() == Some(u64::from(pid)))
            .inspect(|r| {
                assert_eq!(r["uid"].as_u64(), Some(u64::from(uid)), "{r}");
                assert_eq!(r["comm"].as_str(), Some("true"), "{r}");
            })
            .count()
    };
    assert_eq!(trues(&format!("targ_uid={uid}")), 1);
    assert_eq!(trues(&format!("targ_uid={}", uid + 4242)), 0);

    let (code, stderr) = common::run_to_end(
        &host_args,
        &guest("loader"),
        &["--param", "targ_pid=1", "/objs/execs.bpf.o"],
    );
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains("no parameter `targ_pid` (its parameters: targ_uid)"),
        "{stderr}"
    );
    let (code, stderr) = common::run_to_end(
        &host_args,
        &guest("loader"),
        &["--param", "targ_uid=4294967296", "/objs/execs.bpf.o"],
    );
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains("4294967296 does not fit in 4 bytes"),
        "{stderr}"
    );
}

/// An object written for no wasm-bpf guest, run with no code of its own:
/// the `loader` example loads and attaches it and sends its ring buffer's
/// `struct open_rec`, decoded from the object's BTF, to `json`; the record
/// of a file this test opens comes out with its fields.
#[test]
fn any_object_runs_with_the_loader_and_no_code_of_its_own() {
    require_kernel();
    let (dir, grant) = object_dir(
        "open_rec",
        r#"
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

struct open_rec {
	u32 pid;
	int flags;
	char comm[16];
	char path[96];
};

struct open_rec _rec = {};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 16);
} recs SEC(".maps");

SEC("tp/syscalls/sys_enter_openat")
int on_openat(struct trace_event_raw_sys_enter *ctx)
{
	struct open_rec *r = bpf_ringbuf_reserve(&recs, sizeof(*r), 0);

	if (!r)
		return 0;
	r->pid = bpf_get_current_pid_tgid() >> 32;
	r->flags = (int)ctx->args[2];
	bpf_get_current_comm(r->comm, sizeof(r->comm));
	bpf_probe_read_user_str(r->path, sizeof(r->path), (const char *)ctx->args[1]);
	bpf_ringbuf_submit(r, 0);
	return 0;
}
"#,
    );
    let marker = dir.path().join("opened-by-the-test");
    std::fs::write(&marker, "x").expect("writing the marker");

    let sink = json();
    let host_args = ["--dir", &grant, "--sink", sink.to_str().expect("utf-8")];
    let running = Running::start(
        &host_args,
        &guest("loader"),
        &["--type", "open_rec", "-t", "3", "/objs/open_rec.bpf.o"],
    );
    wait_attached(&running, 1);
    let mut cat = Command::new("cat").arg(&marker).spawn().expect("cat");
    let pid = cat.id();
    assert!(cat.wait().expect("cat").success());
    let records = records(running);
    let path = marker.to_str().expect("utf-8");
    let ours: Vec<_> = records
        .iter()
        .filter(|r| r.get("pid").and_then(Value::as_u64) == Some(u64::from(pid)))
        .filter(|r| r.get("path").and_then(Value::as_str) == Some(path))
        .collect();
    assert_eq!(ours.len(), 1, "cat's open of {path} once: {records:?}");
    assert_eq!(ours[0].get("comm").and_then(Value::as_str), Some("cat"));
    let keys: Vec<&str> = ours[0].keys().map(String::as_str).collect();
    assert_eq!(keys, ["pid", "flags", "comm", "path"]);

    // A struct the object lacks: the error names the ones it has, before
    // anything is loaded.
    let (code, stderr) = common::run_to_end(
        &host_args,
        &guest("loader"),
        &["--type", "nope", "/objs/open_rec.bpf.o"],
    );
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains("no struct `nope`") && stderr.contains("open_rec"),
        "{stderr}"
    );
}
