//! What libbpf-tools' shared helpers (trace_helpers.c, map_helpers.c,
//! uprobe_helpers.c, btf_helpers.c) call, from a C tool built with
//! guest.mk (tests/guests/helpers-c): the low-level loads through the
//! run's policy, the batch map calls, pause(), and libelf, zlib and
//! mkstemp compared with the same source built natively.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::{cases, guest, require_kernel, root, run_ok, wasm_bpf, Running};

/// Runs the tool with host flags `host` and its own `args` to its end,
/// whatever it returns; whether it succeeded, its stdout and stderr.
fn run_any(host: &[&str], args: &[&str]) -> (bool, String, String) {
    require_kernel();
    let out = wasm_bpf()
        .arg("run")
        .args(host)
        .arg(guest("helpers-c"))
        .args(args)
        .output()
        .expect("running wasm-bpf");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Runs the tool as [`run_any`] does; it must end well. Its cases and
/// standard error.
fn run(host: &[&str], args: &[&str]) -> (BTreeMap<String, String>, String) {
    let (ok, stdout, stderr) = run_any(host, args);
    assert!(
        ok && stdout.contains(&format!("done {}", args[0])),
        "{args:?} failed:\n{stdout}\n{stderr}"
    );
    (cases(stdout.lines()), stderr)
}

fn case<'a>(cases: &'a BTreeMap<String, String>, name: &str) -> &'a str {
    cases
        .get(name)
        .unwrap_or_else(|| panic!("no case {name} in {cases:?}"))
}

/// Waits (the kernel frees programs after an RCU grace period) until
/// `bpftool prog show` lists no program called `name`.
fn assert_no_prog_named(name: &str) {
    let deadline = std::time::Instant::now() + Duration::from_secs(3);
    loop {
        let listing = run_ok(Command::new("bpftool").args(["prog", "show"]));
        if !listing.contains(&format!("name {name} ")) {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "program {name} still loaded:\n{listing}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn feature_probes_load_through_the_policy() {
    let (c, stderr) = run(&[], &["probe"]);
    // What trace_helpers.c's probes see on this kernel.
    assert_eq!(case(&c, "ringbuf"), "ok");
    assert_eq!(case(&c, "tp_btf sched_switch"), "ok");
    // libbpf_find_vmlinux_btf_id's -ENOENT becomes the kernel's EINVAL,
    // as natively.
    assert_eq!(
        case(&c, "tp_btf no_such_tracepoint"),
        "err -22 Invalid argument"
    );
    assert_eq!(case(&c, "ns_current_pid_tgid"), "ok");
    assert_eq!(case(&c, "raw_tp sched_switch"), "ok");
    // The verifier's refusal and its log reach the tool.
    assert_eq!(case(&c, "verifier"), "Permission denied, log: R0 !read_ok");
    // The policy's refusals, each naming the grant; numbered as the kernel
    // numbers EPERM, not as WASI does (63).
    assert_eq!(case(&c, "send_signal"), "err -1 Operation not permitted");
    assert!(
        stderr.contains("--allow-helper bpf_send_signal"),
        "{stderr}"
    );
    assert_eq!(
        case(&c, "fentry do_nanosleep"),
        "err -1 Operation not permitted"
    );
    assert!(stderr.contains("--allow fentry"), "{stderr}");
    // A host fd number in the instructions is never passed on.
    assert_eq!(case(&c, "map fd"), "err -95 Operation not supported");
    // Closed or not, nothing stays loaded after the run.
    assert_no_prog_named("helpers_raw_tp");

    let (granted, stderr) = run(
        &["--allow-helper", "bpf_send_signal", "--allow", "fentry"],
        &["probe"],
    );
    assert_eq!(case(&granted, "send_signal"), "ok");
    // This kernel refuses fentry itself (field notes): granted, the
    // refusal is the kernel's, not the policy's.
    assert!(!stderr.contains("refused by the run's policy"), "{stderr}");
}

#[test]
fn batch_calls_read_and_drain_as_map_helpers_expect() {
    let (c, _) = run(&[], &["batch"]);
    assert_eq!(case(&c, "update_batch"), "0");
    // 100 entries, 7 a call: 15 calls, the last one ENOENT with 2.
    assert_eq!(case(&c, "lookup_batch"), "100 entries in 15 calls, 0 off");
    assert_eq!(case(&c, "delete_batch"), "0");
    assert_eq!(case(&c, "delete_batch absent"), "ENOENT");
    assert_eq!(case(&c, "lookup_and_delete_batch"), "90 entries, 4 calls");
    assert_eq!(case(&c, "empty after"), "yes");
}

#[test]
fn pause_returns_when_the_run_is_stopped() {
    let mut running = Running::start(&[], &guest("helpers-c"), &["pause"]);
    assert!(running
        .wait_line(Duration::from_secs(20), |l| l == "pausing")
        .is_some());
    std::thread::sleep(Duration::from_millis(200));
    assert!(
        running.wait_exit(Duration::from_millis(100)).is_none(),
        "pause() returned before the stop"
    );
    running.signal(libc::SIGINT);
    let status = running
        .wait_exit(Duration::from_secs(10))
        .expect("it did not stop at SIGINT");
    assert!(status.success(), "{status}: {}", running.stderr());
    let line = running.wait_line(Duration::from_secs(1), |l| l.starts_with("case pause"));
    assert_eq!(line.as_deref(), Some("case pause => -1 EINTR, handler ran"));
}

/// The output of checks.c built natively (glibc, libelf, zlib) for `args`.
fn native(dir: &Path, args: &[&str]) -> String {
    let exe = dir.join("checks");
    if !exe.exists() {
        run_ok(
            Command::new("clang-19")
                .args(["-O2", "-DCHECKS_MAIN"])
                .arg(root().join("tests/guests/helpers-c/checks.c"))
                .args(["-lelf", "-lz", "-o"])
                .arg(&exe),
        );
    }
    run_ok(Command::new(&exe).args(args))
}

/// The guest's output for `args`, granted `dir`, without its `done` line.
fn guest_output(dir: &str, args: &[&str]) -> String {
    require_kernel();
    let out = run_ok(
        wasm_bpf()
            .args(["run", "--dir", dir])
            .arg(guest("helpers-c"))
            .args(args),
    );
    out.lines()
        .filter(|l| !l.starts_with("done "))
        .map(|l| format!("{l}\n"))
        .collect()
}

#[test]
fn libelf_zlib_and_mkstemp_answer_as_natively() {
    let dir = tempfile::tempdir().expect("temp dir");
    let tmp = dir.path().to_str().expect("a UTF-8 temp dir");

    // uprobe_helpers.c's symbol lookup, on the C library and on bash
    // (stripped: its dynamic symbols only).
    let libc = run_ok(Command::new("ldd").arg("/bin/sh"))
        .lines()
        .find_map(|l| {
            l.split_whitespace()
                .find(|w| w.starts_with('/') && w.contains("libc.so"))
                .map(str::to_string)
        })
        .expect("the C library of /bin/sh");
    let libc_dir = Path::new(&libc).parent().expect("its directory");
    let args = ["elf", &libc, "malloc"];
    let out = guest_output(libc_dir.to_str().expect("UTF-8"), &args);
    assert!(out.contains("malloc at file offset 0x"), "{out}");
    assert_eq!(out, native(dir.path(), &args));
    let bash = std::fs::canonicalize("/bin/bash").expect("bash");
    let bash = bash.to_str().expect("UTF-8");
    let args = ["elf", bash, "xmalloc"];
    let out = guest_output(
        Path::new(bash)
            .parent()
            .expect("dir")
            .to_str()
            .expect("UTF-8"),
        &args,
    );
    assert!(out.contains("xmalloc at file offset 0x"), "{out}");
    assert_eq!(out, native(dir.path(), &args));

    // btf_helpers.c's gunzip, on a file gzip made, and a round trip.
    let text: String = (0..5000).map(|i| format!("line {i}\n")).collect();
    let plain = dir.path().join("text");
    std::fs::write(&plain, text).expect("writing a file");
    run_ok(Command::new("gzip").arg("-k").arg(&plain));
    let gz = format!("{tmp}/text.gz");
    let out = guest_output(tmp, &["zlib", &gz]);
    assert!(out.contains("inflated 48890 bytes"), "{out}");
    assert!(out.contains("round trip: same"), "{out}");
    assert_eq!(out, native(dir.path(), &["zlib", &gz]));

    // btf_helpers.c's temporary file.
    let out = guest_output(tmp, &["tmp", tmp]);
    assert!(out.contains("read back: hello"), "{out}");
    assert_eq!(out, native(dir.path(), &["tmp", tmp]));
}

#[test]
fn errno_and_open_flags_read_as_natively() {
    let dir = tempfile::tempdir().expect("temp dir");
    let tmp = dir.path().to_str().expect("a UTF-8 temp dir");
    let out = guest_output(tmp, &["errno", tmp]);
    // Linux's numbers and values, glibc's texts.
    assert!(out.contains("E: 1 2 4 11 13 17 95 95 61 110\n"), "{out}");
    assert!(
        out.contains("open missing: -1 errno 2 No such file or directory"),
        "{out}"
    );
    assert_eq!(out, native(dir.path(), &["errno", tmp]));

    let err = wasm_bpf()
        .args(["run", "--dir", tmp])
        .arg(guest("helpers-c"))
        .args(["errno", tmp])
        .output()
        .expect("running wasm-bpf");
    let stderr = String::from_utf8_lossy(&err.stderr);
    assert!(
        stderr.contains("perror: No such file or directory\n"),
        "{stderr}"
    );
}

/// checks.c's `time` natively with TZ `tz` (None: unset).
fn native_time(dir: &Path, tz: Option<&str>) -> String {
    native(dir, &["time"]);
    let mut command = Command::new(dir.join("checks"));
    command.arg("time");
    match tz {
        Some(tz) => command.env("TZ", tz),
        None => command.env_remove("TZ"),
    };
    run_ok(&mut command)
}

#[test]
fn localtime_follows_tz_and_the_hosts_zone() {
    require_kernel();
    let dir = tempfile::tempdir().expect("temp dir");
    let guest_time = |host_tz: Option<&str>, env: Option<&str>| {
        let mut command = wasm_bpf();
        command.arg("run");
        if let Some(tz) = env {
            command.args(["--env", &format!("TZ={tz}")]);
        }
        command.arg(guest("helpers-c")).arg("time");
        match host_tz {
            Some(tz) => command.env("TZ", tz),
            None => command.env_remove("TZ"),
        };
        run_ok(&mut command).replace("done time\n", "")
    };
    for tz in [
        "Europe/Paris",
        "America/New_York",
        "CET-1CEST,M3.5.0,M10.5.0/3",
        "",
    ] {
        let native = native_time(dir.path(), Some(tz));
        assert_eq!(guest_time(None, Some(tz)), native, "TZ={tz}");
    }
    let paris = native_time(dir.path(), Some("Europe/Paris"));
    assert!(
        paris.contains("2024-07-09 04:46:44 CEST +0200, dst 1"),
        "{paris}"
    );
    // Without its own TZ the guest follows the host's zone: here the
    // host process's TZ, as the native tool would.
    assert_eq!(
        guest_time(Some("America/New_York"), None),
        native_time(dir.path(), Some("America/New_York"))
    );
    assert_eq!(guest_time(None, None), native_time(dir.path(), None));
}

#[test]
fn a_path_outside_the_grants_is_named_with_its_grant() {
    let (_, stdout, stderr) = run_any(
        &[],
        &[
            "read",
            "/proc/partitions",
            "/proc/partitions",
            "/no/such/file",
        ],
    );
    assert!(
        stdout.contains("case read 0 /proc/partitions => Permission denied"),
        "{stdout}"
    );
    let note = "the app tried /proc/partitions: not granted (--dir /proc)";
    // Once per path, and none for a path the host does not have either.
    assert_eq!(stderr.matches(note).count(), 1, "{stderr}");
    assert!(!stderr.contains("/no/such/file"), "{stderr}");
    // A mount of its own is what to grant (tracefs under /sys).
    let format = "/sys/kernel/tracing/events/syscalls/sys_enter_openat/format";
    if Path::new(format).exists() {
        let (_, _, stderr) = run_any(&[], &["read", format]);
        assert!(
            stderr.contains(&format!(
                "the app tried {format}: not granted (--dir /sys/kernel/tracing)"
            )),
            "{stderr}"
        );
    }

    let (_, stdout, stderr) = run_any(&["--dir", "/proc"], &["read", "/proc/partitions"]);
    assert!(
        stdout.contains("case read 0 /proc/partitions => ok"),
        "{stdout}"
    );
    assert!(!stderr.contains("the app tried"), "{stderr}");
}

#[test]
fn a_cgroup_fd_in_a_map_is_refused_naming_the_call_that_takes_a_path() {
    let cgroup = common::cgroup2_root().join(format!("wbpf-helpers-{}", std::process::id()));
    let _ = std::fs::remove_dir(&cgroup);
    std::fs::create_dir(&cgroup).expect("creating a cgroup");
    let dir = cgroup.to_str().expect("UTF-8");
    let (c, stderr) = run(&["--dir", dir], &["cgroup", dir]);
    let _ = std::fs::remove_dir(&cgroup);
    assert_eq!(case(&c, "open cgroup"), "ok");
    assert_eq!(case(&c, "update with fd"), "-95 Operation not supported");
    assert!(
        stderr.contains("wasm_bpf_map_update_cgroup(fd, &key, path, flags)"),
        "{stderr}"
    );
    assert_eq!(case(&c, "update by path"), "0");
}

/// checks.c's argp, natively (glibc's argp) and in the guest (the SDK's),
/// on what a user types: the same stdout and stderr, byte for byte, and
/// the same success (a WASI exit says only whether it failed, so argp's
/// status 64 is 1 in the guest).
#[test]
fn argp_help_usage_and_errors_are_glibcs_byte_for_byte() {
    require_kernel();
    let dir = tempfile::tempdir().expect("temp dir");
    native(dir.path(), &["time"]);
    let cases: &[&[&str]] = &[
        &["--help"],
        &["--usage"],
        &["-?"],
        &["-h"],
        &["--version"],
        &["--bogus"],
        &["--ti"],
        &["-p"],
        &["--he"],
        &["-tp", "181", "-i5", "--interval=3", "--fails", "target"],
        &["--max=3", "--cgroup", "/cg", "-C", "comm,pid"],
        &["one", "two"],
    ];
    for args in cases {
        let native = Command::new(dir.path().join("checks"))
            .arg("options")
            .args(*args)
            .output()
            .expect("running the native build");
        let guest = wasm_bpf()
            .arg("run")
            .arg(guest("helpers-c"))
            .arg("options")
            .args(*args)
            .output()
            .expect("running wasm-bpf");
        let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        assert_eq!(
            text(&guest.stdout),
            text(&native.stdout),
            "stdout of {args:?}"
        );
        assert_eq!(
            text(&guest.stderr),
            text(&native.stderr),
            "stderr of {args:?}"
        );
        assert_eq!(
            guest.status.success(),
            native.status.success(),
            "status of {args:?}"
        );
    }
    // What the cases exercise: glibc's order (-t before -T), a long-only
    // option, a group header, an alias, and a line that ends exactly at
    // the margin (glibc follows it with a line of blanks).
    let help = run_ok(Command::new(dir.path().join("checks")).args(["options", "--help"]));
    assert!(help.contains("  -t, --timestamp "), "{help}");
    assert!(help.contains("\n Output:\n"), "{help}");
    assert!(
        help.contains("ports to trace\n                            \n"),
        "{help}"
    );
}

/// <wasm_bpf/metrics.h>: a C tool's counter, gauge and log2 histogram, as
/// a scrape shows them.
#[test]
fn c_metrics_are_served_with_their_labels() {
    use common::http::{buckets, free_address, get_until, sample};
    let address = free_address();
    let mut running = Running::start(
        &["--metrics", &address.to_string()],
        &guest("helpers-c"),
        &["metrics"],
    );
    assert!(
        running
            .wait_line(Duration::from_secs(20), |l| l == "metrics ready")
            .is_some(),
        "{:?}",
        running.seen
    );
    let c = cases(running.seen.iter().map(String::as_str));
    assert_eq!(case(&c, "inc"), "0");
    assert_eq!(case(&c, "wrong label count"), "refused");
    assert_eq!(case(&c, "bad name"), "NULL");
    let scrape = get_until(address, "/metrics", Duration::from_secs(20), |r| {
        r.body.contains("helpers_latency_usecs_count")
    })
    .expect("a scrape");
    let body = &scrape.body;
    assert_eq!(
        sample(body, "helpers_events_total{kind=\"exec\"}"),
        Some(3.0),
        "{body}"
    );
    assert_eq!(
        sample(body, "helpers_events_total{kind=\"exit\"}"),
        Some(1.0),
        "{body}"
    );
    assert_eq!(sample(body, "helpers_queued"), Some(5.0), "{body}");
    // Slots 1 (2 values in [2, 4)) and 3 (5 in [8, 16)): buckets 3 and 15.
    assert_eq!(
        buckets(body, "helpers_latency_usecs", ""),
        vec![
            (1.0, 0.0),
            (3.0, 2.0),
            (7.0, 2.0),
            (15.0, 7.0),
            (f64::INFINITY, 7.0)
        ],
        "{body}"
    );
    running.signal(libc::SIGINT);
    common::wait_ended(&mut running, Some(0));
}
