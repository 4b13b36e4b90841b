//! The BPF host calls through a test guest (`tests/guests/host-api`): map
//! operations on a real hash map, globals, buffers, and every bad input
//! answered with a typed error while host and guest keep working.

mod common;

use common::{err, ok, scenario};

#[test]
fn hash_map_round_trip() {
    let c = scenario("maps");
    ok(&c, "info", "MapInfo { name: \"counts\", map-type: MapType::Hash, key-size: 4, value-size: 8, max-entries: 16, map-flags: 0, per-cpu-slots: 0 }");
    ok(&c, "update-1", "()");
    ok(&c, "update-2", "()");
    ok(&c, "lookup-1", "Some(10)");
    err(&c, "noexist-1", "AlreadyExists", libc::EEXIST, &["update"]);
    err(&c, "exist-3", "NotFound", libc::ENOENT, &["update"]);
    ok(&c, "exist-1", "()");
    ok(&c, "lookup-1-again", "Some(12)");
    ok(&c, "delete-2", "()");
    ok(&c, "lookup-2", "None");
    err(&c, "delete-2-again", "NotFound", libc::ENOENT, &["delete"]);
    ok(&c, "next-first", "Some(1)");
    ok(&c, "next-last", "None");
    ok(&c, "keys", "[1]");

    ok(&c, "update-batch", "()");
    let mut all = vec!["(1, 12)".to_string()];
    all.extend((100..110).map(|k| format!("({k}, {})", k * 2)));
    ok(&c, "lookup-batch", &format!("[{}]", all.join(", ")));
    ok(&c, "delete-batch", "()");
    ok(
        &c,
        "lookup-batch-after",
        "[(1, 12), (108, 216), (109, 218)]",
    );
    err(
        &c,
        "update-batch-packing",
        "InvalidArgument",
        0,
        &["2 keys of 4 bytes take 8 bytes, not 12"],
    );
    err(
        &c,
        "update-batch-full",
        "TooBig",
        libc::E2BIG,
        &["update-batch"],
    );
}

#[test]
fn bad_input_gets_typed_errors_and_the_guest_goes_on() {
    let (_, c) = common::scenario_with(&["--timeout", "60s"], &["errors"]);
    err(
        &c,
        "looping-btf",
        "InvalidObject",
        0,
        &["malformed BTF", "loop"],
    );
    err(
        &c,
        "oversized-btf",
        "InvalidObject",
        0,
        &["malformed BTF", "2 GiB or more"],
    );
    // libbpf prints the section name, which is not UTF-8: the host goes on.
    ok(&c, "non-utf8-section", "\"api\"");
    err(
        &c,
        "garbage-elf",
        "InvalidObject",
        4001,
        &["BPF object format invalid", "not a proper ELF object"],
    );
    err(
        &c,
        "empty-elf",
        "InvalidObject",
        libc::EINVAL,
        &["opening the BPF object"],
    );
    err(
        &c,
        "set-global-size",
        "InvalidArgument",
        0,
        &["`marker_len` is 8 bytes", "given is 4 bytes"],
    );
    err(
        &c,
        "set-global-unknown",
        "NotFound",
        0,
        &["no global variable `nope`", "marker_len"],
    );
    err(
        &c,
        "unknown-map",
        "NotFound",
        0,
        &["no map `nope`", "counts", "ring", "perf"],
    );
    err(
        &c,
        "unknown-program",
        "NotFound",
        0,
        &["no program `nope`", "on_write"],
    );
    err(
        &c,
        "attach-before-load",
        "WrongPhase",
        0,
        &["attach needs the object loaded", "opened"],
    );
    err(
        &c,
        "lookup-before-load",
        "WrongPhase",
        0,
        &["map `counts`", "loaded"],
    );
    ok(&c, "info-before-load", "16");
    ok(&c, "phase", "Phase::Loaded");
    err(
        &c,
        "load-twice",
        "WrongPhase",
        0,
        &["load needs the object opened"],
    );
    err(
        &c,
        "set-global-after-load",
        "WrongPhase",
        0,
        &["set-global"],
    );
    err(
        &c,
        "key-size",
        "InvalidArgument",
        0,
        &["key is 3 bytes", "keys are 4 bytes"],
    );
    err(
        &c,
        "value-size",
        "InvalidArgument",
        0,
        &["value is 3 bytes", "values are 8 bytes"],
    );
    err(
        &c,
        "buffer-on-hash",
        "InvalidArgument",
        0,
        &["`counts` is a Hash map"],
    );
    err(
        &c,
        "attach-xdp",
        "Unsupported",
        libc::EOPNOTSUPP,
        &["program `pass`", "section `xdp`"],
    );
    ok(&c, "attach-all", "1");
    ok(&c, "still-working", "()");
    err(
        &c,
        "value-type",
        "InvalidArgument",
        0,
        &["values are 8 bytes", "type read is 4 bytes"],
    );
    err(
        &c,
        "small-key-size",
        "InvalidArgument",
        0,
        &["key is 3 bytes", "keys are 4 bytes"],
    );
    err(
        &c,
        "small-over-32",
        "InvalidArgument",
        0,
        &["at most 32 bytes, not 33"],
    );
}

#[test]
fn verifier_rejection_returns_the_verifier_log() {
    let c = scenario("verifier");
    err(
        &c,
        "load",
        "VerifierRejected",
        libc::EACCES,
        &[
            "prog 'unchecked'",
            "BEGIN PROG LOAD LOG",
            "invalid mem access 'map_value_or_null'",
        ],
    );
    ok(&c, "phase", "Phase::Failed");
    err(&c, "load-again", "WrongPhase", 0, &["failed"]);
    ok(&c, "maps-after-failure", "0");
}

#[test]
fn globals_are_set_before_load_and_read_from_the_kernel_after() {
    let c = scenario("globals");
    ok(&c, "initial", "0");
    ok(&c, "set", "777");
    // `globals` lists them, with their sections and sizes, in both phases.
    let listed = r#"[("marker_len", ".rodata", 8), ("seen", ".bss", 8)]"#;
    ok(&c, "listed-open", listed);
    ok(&c, "listed-loaded", listed);
    ok(&c, "after-load", "777");
    // `counts` has integer keys and values: no struct names them.
    ok(&c, "map-types", "(None, None)");
    // Per field of the record (`in` flattened; `pair`, an array of
    // structs, and the union one field each), the typedef its member was
    // declared with: `char`, bitfields, the enum and the pointer have none.
    ok(
        &c,
        "field-typedefs",
        "[None, Some(\"u16\"), Some(\"u64\"), None, None, None, None, None, None, None, \
         Some(\"bool\")]",
    );
    err(
        &c,
        "map-types-missing",
        "NotFound",
        0,
        &["`nope`", "counts", "big", "ring"],
    );
    ok(&c, "seen-before", "0");
    // Two writes of 777 bytes, counted by the BPF program in .bss.
    ok(&c, "seen-after", "2");
}

#[test]
fn generated_types_read_every_kind_of_member() {
    // `struct layout_probe`'s initializer in tests/guests/host-api/bpf/api.bpf.c.
    let c = scenario("globals");
    ok(&c, "probe-tag", "\"ab\"");
    ok(
        &c,
        "probe-inner",
        &format!("(7, {})", 0x1122_3344_5566_7788u64),
    );
    ok(&c, "probe-pair", "(3, 4)");
    ok(
        &c,
        "probe-union",
        &format!("({}, [1, 2, 3, 4])", 0x0403_0201u32),
    );
    ok(&c, "probe-bits", "(5, -3, 300)");
    ok(&c, "probe-color", "(true, 2)");
    ok(&c, "probe-flag", "1");
}

/// The generated conversion into the record of `wasm-bpf gen wit`'s WIT
/// (tests/guests/host-api/wit/api.wit): every kind of member, and a C enum
/// value the WIT enum has no case for.
#[test]
fn generated_types_convert_into_their_wit_records() {
    let c = scenario("globals");
    ok(
        &c,
        "probe-record",
        &format!(
            "Ok(LayoutProbe {{ tag: \"ab\", in: Inner {{ a: 7, b: {} }}, \
             pair: [Inner {{ a: 1, b: 2 }}, Inner {{ a: 3, b: 4 }}], u: [1, 2, 3, 4], \
             lo: 5, neg: -3, hi: 300, color: Color::Blue, ptr: 0, flag: true }})",
            0x1122_3344_5566_7788u64
        ),
    );
    ok(
        &c,
        "probe-record-unnamed",
        "Err(\"enum color has no name for the value 42\")",
    );
}

#[test]
fn ring_and_perf_buffers_of_two_objects_deliver_every_record() {
    let c = scenario("events");
    ok(
        &c,
        "kinds",
        "(BufferKind::RingBuffer, BufferKind::PerfBuffer)",
    );
    let seqs = |n: u32, len: u32| {
        let items: Vec<String> = (0..n).map(|i| format!("({i}, {len})")).collect();
        format!("[{}]", items.join(", "))
    };
    // Ring A is read two records per poll; all five arrive, in order.
    ok(&c, "ring-a", &seqs(5, 333));
    ok(&c, "perf-a", &seqs(5, 333));
    ok(&c, "ring-b", &seqs(3, 444));
    ok(&c, "pids", "1");
    ok(&c, "empty-poll", "0");
    ok(&c, "perf-no-wait", "[333, 333]");
}

#[test]
fn map_kinds_have_their_own_operations() {
    let c = scenario("map-kinds");
    ok(&c, "per-cpu-slots-positive", "true");
    ok(&c, "per-cpu-update", "()");
    ok(&c, "per-cpu-round-trip", "true");
    err(
        &c,
        "per-cpu-wrong-length",
        "InvalidArgument",
        0,
        &["value is 8 bytes"],
    );
    ok(&c, "per-cpu-hash-batch", "(1, true)");
    for v in 1..=3 {
        ok(&c, &format!("queue-push-{v}"), "()");
    }
    err(&c, "queue-full", "TooBig", libc::E2BIG, &["push"]);
    ok(&c, "queue-push-overwrite", "()");
    ok(&c, "queue-peek", "Some(2)");
    ok(&c, "queue-pops", "[Some(2), Some(3), Some(4), None]");
    ok(&c, "stack-pops", "[Some(3), Some(2), Some(1), None]");
    err(&c, "queue-pop-on-hash", "Unsupported", 0, &["pop", "Hash"]);
    ok(&c, "bloom-push", "()");
    ok(&c, "bloom-has-42", "true");
    ok(&c, "bloom-has-7", "false");
    err(
        &c,
        "bloom-lookup",
        "InvalidArgument",
        0,
        &["keys are 0 bytes"],
    );
    ok(&c, "lpm-10.1.2.3", "Some(2)");
    ok(&c, "lpm-10.2.0.1", "Some(1)");
    ok(&c, "lpm-11.0.0.1", "None");
    ok(&c, "inner-info", "(\"inner\", 4)");
    ok(&c, "inner-update", "()");
    ok(&c, "inner-seen-by-name", "Some(33)");
    ok(&c, "inner-empty-slot", "false");
    err(&c, "inner-of-hash", "Unsupported", 0, &["inner-map"]);
    ok(&c, "lookup-and-delete", "Some(20)");
    ok(&c, "lookup-and-delete-again", "None");
    ok(
        &c,
        "lookup-and-delete-batch",
        "[(1, 10), (3, 30), (4, 40), (5, 50)]",
    );
    ok(&c, "after-drain", "[]");
    err(&c, "drain-array", "Unsupported", 0, &["needs a hash map"]);
    // BPF_F_LOCK reaches the kernel, which refuses it for a value without
    // a spin lock.
    err(
        &c,
        "lookup-locked-no-lock",
        "InvalidArgument",
        libc::EINVAL,
        &["lookup"],
    );
}

/// The real libc, which defines `getpid`: a binary any machine has.
fn libc_path() -> std::path::PathBuf {
    [
        "/lib/x86_64-linux-gnu/libc.so.6",
        "/lib/aarch64-linux-gnu/libc.so.6",
        "/lib64/libc.so.6",
    ]
    .iter()
    .map(std::path::Path::new)
    .find(|p| p.exists())
    .expect("libc.so.6")
    .canonicalize()
    .unwrap()
}

/// A fresh cgroup v2 group with a process in it that keeps creating UDP
/// sockets; removed on drop.
struct Cgroup {
    path: std::path::PathBuf,
    member: std::process::Child,
}

impl Cgroup {
    fn new(tag: &str) -> Self {
        let path = common::cgroup2_root().join(format!("wbpf-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir(&path);
        std::fs::create_dir(&path).expect("creating a cgroup");
        let member = std::process::Command::new("bash")
            .args([
                "-c",
                "while :; do echo > /dev/udp/127.0.0.1/9; sleep 0.05; done",
            ])
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("spawning the cgroup member");
        std::fs::write(path.join("cgroup.procs"), member.id().to_string())
            .expect("moving the member into the cgroup");
        Self { path, member }
    }
}

impl Drop for Cgroup {
    fn drop(&mut self) {
        let _ = self.member.kill();
        let _ = self.member.wait();
        // The group empties shortly after its last member is reaped.
        for _ in 0..100 {
            if std::fs::remove_dir(&self.path).is_ok() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
    }
}

#[test]
fn typed_attach_targets() {
    let libc = libc_path();
    let dir = libc.parent().unwrap().to_str().unwrap();
    let granted = format!("/lib/{}", libc.file_name().unwrap().to_str().unwrap());
    let cgroup = Cgroup::new("attach");
    let (pid, c) = common::scenario_with(
        &[
            "--dir",
            &format!("{dir}::/lib"),
            "--dir",
            &format!("{}::/cgroup", cgroup.path.display()),
            "--allow",
            "kprobe",
            "--allow",
            "cgroup",
            "--allow-net",
            "nosuchif0",
            "--allow-pid",
            "2147483647",
        ],
        &["attach", &granted, "getpid"],
    );
    drop(cgroup);
    ok(&c, "cgroup-sockets", "true");
    err(
        &c,
        "cgroup-outside-grant",
        "PermissionDenied",
        libc::EACCES,
        &["/sys/fs/cgroup"],
    );
    err(
        &c,
        "cgroup-not-a-cgroup",
        "InvalidArgument",
        0,
        &["not a cgroup v2 directory"],
    );
    err(
        &c,
        "cgroup-missing",
        "TargetNotFound",
        libc::ENOENT,
        &["no-such-group"],
    );
    ok(&c, "info-raw-tp", "(true, true, None)");
    ok(&c, "info-iter", "true");
    ok(&c, "info-tp", "None");
    ok(&c, "raw-tracepoint", "true");
    ok(&c, "raw-tracepoint-fired", "true");
    ok(&c, "kernel-stack", "true");
    ok(&c, "tracepoint", "\"on_getpid\"");
    err(
        &c,
        "tracepoint-missing",
        "TargetNotFound",
        libc::ENOENT,
        &["no_such_event"],
    );
    err(
        &c,
        "wrong-program-type",
        "InvalidArgument",
        0,
        &["RawTracepoint", "tracepoint"],
    );
    ok(&c, "uprobe-granted", "true");
    err(
        &c,
        "uprobe-outside-grant",
        "PermissionDenied",
        libc::EACCES,
        &["/etc/passwd", "--dir"],
    );
    err(
        &c,
        "uprobe-dotdot",
        "PermissionDenied",
        libc::EACCES,
        &[".."],
    );
    err(
        &c,
        "uprobe-process-missing",
        "TargetNotFound",
        libc::ENOENT,
        &["process"],
    );
    err(
        &c,
        "xdp-missing-interface",
        "TargetNotFound",
        libc::ENODEV,
        &["nosuchif0"],
    );
    // Other tests' hosts may be running too: ours must be listed.
    let listed = &c["iter-lists-host"];
    assert!(
        listed.starts_with("ok {") && listed.contains(&format!("\"{pid}\"")),
        "iter-lists-host: {listed}"
    );
    ok(&c, "iter-again", "true");
    err(
        &c,
        "read-iter-not-iter",
        "InvalidArgument",
        0,
        &["not an iterator"],
    );
    err(&c, "read-iter-detached", "WrongPhase", 0, &["detached"]);

    let kprobe = &c["kprobe"];
    if std::path::Path::new("/sys/bus/event_source/devices/kprobe").exists() {
        assert_eq!(kprobe, "ok ()", "kprobe");
    } else {
        assert!(
            kprobe.starts_with("err ErrorCode::Unsupported") && kprobe.contains("no kprobes"),
            "kprobe: {kprobe}"
        );
        eprintln!("SKIPPED kprobe attach: this kernel has no kprobes (CONFIG_KPROBES off); the host said: {kprobe}");
    }
}

/// fentry and LSM programs attach where the kernel loads them; where it
/// refuses (this project's CI kernel does), the refusal must be a typed
/// error carrying libbpf's explanation, and the test says it skipped.
#[test]
fn fentry_and_lsm_attach_or_report_the_kernels_refusal() {
    let (_, c) = common::scenario_with(&["--allow", "fentry", "--allow", "lsm"], &["refused"]);
    for program in ["on_unlinkat_entry", "on_file_open"] {
        let outcome = &c[program];
        if outcome == "ok true" {
            continue;
        }
        assert!(
            outcome.starts_with("err ErrorCode::PermissionDenied")
                || outcome.starts_with("err ErrorCode::Unsupported")
                || outcome.starts_with("err ErrorCode::VerifierRejected"),
            "{program}: {outcome}"
        );
        assert!(outcome.contains(program), "{program}: {outcome}");
        eprintln!("SKIPPED {program}: the kernel refused to load it: {outcome}");
    }
}

/// Buffers are `wasi:io/poll` pollables: a guest waits on two buffers and a
/// timer with one `poll` call.
#[test]
fn buffers_are_pollables() {
    let c = scenario("pollables");
    ok(&c, "idle-timer-only", "([2], true)");
    ok(&c, "ring-batch", "1");
    ok(&c, "perf-batch", "1");
    ok(&c, "both-ready-before-timer", "{0, 1}");
    ok(&c, "fast", "true");
}

/// A guest cannot hold more than the host's caps, and gets a typed error
/// naming the cap.
#[test]
fn per_guest_caps() {
    let c = scenario("caps");
    ok(&c, "objects-held", "64");
    err(
        &c,
        "object-over-cap",
        "LimitExceeded",
        0,
        &["at most 64 BPF objects"],
    );
    ok(&c, "object-after-drop", "()");
    err(&c, "perf-pages-3", "InvalidArgument", 0, &["power of two"]);
    err(&c, "perf-pages-huge", "LimitExceeded", 0, &["at most 1024"]);
    ok(&c, "perf-pages-8", "()");
    err(
        &c,
        "huge-map",
        "LimitExceeded",
        0,
        &["map `counts` would take at least", "at most 1 GiB"],
    );
    ok(&c, "maps-held", "1024");
    err(
        &c,
        "map-over-cap",
        "LimitExceeded",
        0,
        &["at most 1024 maps"],
    );
    ok(&c, "map-after-drop", "()");
    ok(&c, "programs-held", "1024");
    err(
        &c,
        "program-over-cap",
        "LimitExceeded",
        0,
        &["at most 1024 programs"],
    );
}

/// Beyond tracing, a guest does only what its run grants: each refusal
/// names the flag that allows it, and with the flags the same calls reach
/// the kernel.
#[test]
fn the_policy_refuses_until_granted() {
    let (_, c) = common::scenario_with(&[], &["policy"]);
    let refused = [
        ("dangerous-helper", "--allow-helper bpf_send_signal"),
        ("section-binary", "--dir /usr/bin"),
        ("kprobe", "--allow kprobe"),
        ("xdp-lo", "--allow-net lo"),
        ("process-binary", "--allow-pid 1"),
        ("load-on_unlinkat_entry", "--allow fentry"),
        ("load-on_file_open", "--allow lsm"),
        ("cgroup-program", "--allow cgroup"),
    ];
    for (case, flag) in refused {
        err(
            &c,
            case,
            "PermissionDenied",
            libc::EPERM,
            &["not allowed for this guest", flag],
        );
    }
    // On a kernel without kprobes (this test VM's), the refusal says the
    // grant alone would not do.
    let kprobes = [
        "/sys/bus/event_source/devices/kprobe",
        "/sys/kernel/tracing/kprobe_events",
    ]
    .iter()
    .any(|p| std::path::Path::new(p).exists());
    assert_eq!(
        c["kprobe"].contains("CONFIG_KPROBES"),
        !kprobes,
        "{}",
        c["kprobe"]
    );

    let granted = [
        "--allow-helper",
        "bpf_send_signal",
        "--allow",
        "kprobe",
        "--allow-net",
        "lo",
        "--allow-pid",
        "1",
        "--allow",
        "fentry",
        "--allow",
        "lsm",
        "--allow",
        "cgroup",
        "--dir",
        "/usr/bin::/usr/bin",
    ];
    let (_, c) = common::scenario_with(&granted, &["policy"]);
    ok(&c, "dangerous-helper", "()");
    ok(&c, "xdp-lo", "()");
    for (case, _) in refused {
        assert!(
            !c[case].contains("not allowed for this guest"),
            "{case} still refused: {}",
            c[case]
        );
    }

    // The same grants from a policy file, outcome for outcome.
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("grants.toml");
    std::fs::write(
        &file,
        "allow = [\"kprobe\", \"fentry\", \"lsm\", \"cgroup\"]\n\
         allow-helper = [\"bpf_send_signal\"]\n\
         allow-net = [\"lo\"]\n\
         allow-pid = [1]\n\
         dir = [\"/usr/bin::/usr/bin\"]\n",
    )
    .expect("writing the policy file");
    let policy = file.to_str().expect("utf-8 path");
    let (_, from_file) = common::scenario_with(&["--policy", policy], &["policy"]);
    for (case, _) in refused {
        assert_eq!(
            strip_ids(&from_file[case]),
            strip_ids(&c[case]),
            "{case}: file and flags differ"
        );
    }
}

/// An outcome without the kernel ids and addresses that differ by run.
fn strip_ids(outcome: &str) -> String {
    outcome
        .split(|c: char| !c.is_alphanumeric() && c != '-' && c != '_')
        .filter(|w| !w.chars().all(|c| c.is_ascii_digit()))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Maps pinned by name load only with `--allow-pin DIR`; they are pinned
/// there, and a later run reuses the pinned map and what it holds.
#[test]
fn pinned_maps_need_a_bpffs_grant() {
    let (_, c) = common::scenario_with(&[], &["pin", "7"]);
    err(
        &c,
        "load",
        "PermissionDenied",
        libc::EPERM,
        &["wasm_bpf_pin_test", "--allow-pin"],
    );

    common::require_bpffs();
    let dir = std::path::PathBuf::from(format!("/sys/fs/bpf/wasm-bpf-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a directory on bpffs");
    let grant = dir.to_str().expect("utf-8 path");
    let (_, first) = common::scenario_with(&["--allow-pin", grant], &["pin", "7"]);
    let pinned = dir.join("wasm_bpf_pin_test").exists();
    let (_, second) = common::scenario_with(&["--allow-pin", grant], &["pin", "8"]);
    let _ = std::fs::remove_file(dir.join("wasm_bpf_pin_test"));
    let _ = std::fs::remove_dir(&dir);
    ok(&first, "load", "()");
    ok(&first, "before", "None");
    ok(&first, "store", "()");
    assert!(pinned, "no pin in {}", dir.display());
    ok(&second, "before", "Some(7)");

    // Anywhere but bpffs is refused up front, and so is a directory that
    // does not exist; both name the fix.
    for (dir, says) in [
        ("/tmp", "not a directory on bpffs"),
        ("/sys/fs/bpf/no/such/dir", "no such directory"),
    ] {
        let output = common::wasm_bpf()
            .args(["run", "--allow-pin", dir])
            .arg(common::guest("host-api"))
            .args(["pin", "7"])
            .output()
            .expect("running wasm-bpf");
        assert_eq!(output.status.code(), Some(1));
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.contains(says) && stderr.contains("mount -t bpf bpf /sys/fs/bpf"),
            "{dir}: {stderr}"
        );
    }
}

/// A process the attacks below try to kill: a shell that keeps making
/// system calls. Killed on drop if still alive.
struct Victim(std::process::Child);

impl Victim {
    fn start() -> Self {
        let child = std::process::Command::new("sh")
            .args(["-c", "while :; do sleep 0.05; done"])
            .spawn()
            .expect("spawning the victim");
        Self(child)
    }

    fn pid(&self) -> String {
        self.0.id().to_string()
    }

    /// Whether it is still running, a moment after the attack.
    fn alive(&mut self) -> bool {
        std::thread::sleep(std::time::Duration::from_millis(200));
        self.0.try_wait().expect("try_wait").is_none()
    }
}

impl Drop for Victim {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The policy sees what the kernel receives: a dangerous helper called
/// from a subprogram (appended by libbpf inside `load`) and a kfunc that
/// signals a task are refused, and the victim lives; with the grant, the
/// same program kills it (so the attack is real).
#[test]
fn helpers_in_subprograms_and_kfuncs_are_checked_as_loaded() {
    for (attack, refusal, grant) in [
        (
            "hidden-helper",
            "program `hidden_helper` calling bpf_send_signal",
            ["--allow-helper", "bpf_send_signal"],
        ),
        (
            "kfunc",
            "program `kfunc_signal` calling kfunc bpf_send_signal_task",
            ["--allow-kfunc", "bpf_send_signal_task"],
        ),
    ] {
        let mut victim = Victim::start();
        let (_, c) = common::scenario_with(&[], &["attacks", attack, &victim.pid()]);
        err(
            &c,
            "load",
            "PermissionDenied",
            libc::EPERM,
            &[refusal, grant[1]],
        );
        assert!(
            victim.alive(),
            "{attack}: the victim was killed without a grant"
        );

        let (_, c) = common::scenario_with(&grant, &["attacks", attack, &victim.pid()]);
        ok(&c, "load", "()");
        assert!(
            !victim.alive(),
            "{attack}: granted, the program did not kill the victim"
        );
    }
}

/// Map values the kernel reads as fds of the host are refused; plain
/// values still go through.
#[test]
fn map_values_that_are_file_descriptors_are_refused() {
    let (_, c) = common::scenario_with(&[], &["attacks", "fd-values", "1"]);
    for (map, kind) in [("jumps", "ProgArray"), ("perf", "PerfEventArray")] {
        err(
            &c,
            &format!("{map}-update"),
            "Unsupported",
            0,
            &[kind, "file descriptors"],
        );
    }
    ok(&c, "big-update", "()");
}

/// What one host call builds for the guest stays under a quarter of its
/// `--max-memory`: a lookup too big is refused (the guest goes on), a
/// drain comes in parts and loses no entry.
#[test]
fn host_call_results_are_capped_by_the_guests_memory() {
    const CAP: usize = 8 << 20;
    let (_, c) = common::scenario_with(&["--max-memory", "32MiB"], &["results"]);
    err(
        &c,
        "wide-lookup-batch",
        "LimitExceeded",
        libc::ENOMEM,
        &[
            "entries of map `wide`",
            "8388608 bytes",
            "lookup-and-delete-batch",
        ],
    );
    err(
        &c,
        "many-keys",
        "LimitExceeded",
        libc::ENOMEM,
        &["keys of map `many`", "next-key"],
    );
    let drained = c["drained"].strip_prefix("ok (").expect("drained");
    let [entries, calls, most] = drained
        .trim_end_matches(')')
        .split(", ")
        .map(|n| n.parse::<usize>().expect("a number"))
        .collect::<Vec<_>>()[..]
    else {
        panic!("drained: {drained}");
    };
    assert_eq!(entries, 4096, "every entry drained once: {c:?}");
    assert!(calls >= 3, "16 MiB in parts of at most 8 MiB: {c:?}");
    assert!(most * (4 + 4096) <= CAP, "a part of {most} entries: {c:?}");
    ok(&c, "left", "0");
}

/// The kernel memory of a guest's maps and perf buffers, across objects,
/// stays under `--max-kernel-memory`: refused before the kernel is asked,
/// measured by the kernel's own count (`memlock` of each map fd the host
/// holds), and given back when dropped.
#[test]
fn kernel_memory_is_capped_across_objects_and_buffers() {
    const CAP: u64 = 64 << 20;
    let mut guest = common::Running::start(
        &["--max-kernel-memory", "64MiB"],
        &common::guest("host-api"),
        &["attacks", "kernel-memory", "1"],
    );
    let holding = guest.wait_line(std::time::Duration::from_secs(30), |l| l == "holding");
    assert!(holding.is_some(), "{:?} {}", guest.seen, guest.stderr());
    let memlock: u64 = std::fs::read_dir(format!("/proc/{}/fdinfo", guest.pid()))
        .expect("fdinfo")
        .flatten()
        .filter_map(|e| std::fs::read_to_string(e.path()).ok())
        .filter(|info| info.contains("map_id:"))
        .filter_map(|info| {
            info.lines()
                .find_map(|l| l.strip_prefix("memlock:"))
                .and_then(|v| v.trim().parse::<u64>().ok())
        })
        .sum();
    assert!(guest
        .wait_line(std::time::Duration::from_secs(30), |l| l == "done attacks")
        .is_some());
    let c: std::collections::BTreeMap<String, String> = guest
        .seen
        .iter()
        .filter_map(|l| l.strip_prefix("case ")?.split_once(" => "))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    ok(&c, "objects-loaded", "1");
    err(
        &c,
        "object-over-cap",
        "LimitExceeded",
        libc::ENOMEM,
        &["the maps of object `km1`", "--max-kernel-memory"],
    );
    err(
        &c,
        "perf-over-cap",
        "LimitExceeded",
        libc::ENOMEM,
        &["perf buffer of 1024 pages", "of its 67108864"],
    );
    assert!(c["perf-buffers"].starts_with("ok "), "{c:?}");
    ok(&c, "after-drop", "()");
    // The 40 MiB map is really there, and all the maps stay under the cap.
    assert!(
        memlock > 40 << 20 && memlock <= CAP,
        "the kernel counts {memlock} bytes for the guest's maps"
    );
}

/// The record a probe describes is the one wasm-bpf-btf's model describes:
/// a struct with a member of every `records::Kind`, decoded in the guest
/// through the `Described` impl its build script generated (the guest's
/// `FieldKind`), gives each field the name and WIT type the model's fields
/// call for (`wit/records.wit`), and the values of the C initializer.
#[test]
fn generated_record_descriptions_follow_the_btf_model() {
    use wasm_bpf_btf::layout::{layout, Item};
    use wasm_bpf_btf::records::{fields, Kind};

    let dir = tempfile::tempdir().expect("temp dir");
    let source = common::root().join("tests/guests/host-api/bpf/described.bpf.c");
    let built = wasm_bpf_build::BpfBuild::new(source)
        .out_dir(dir.path())
        .build()
        .expect("compiling described.bpf.c");
    let elf = std::fs::read(&built.object).expect("the object");
    let model = layout(&elf, &["every_kind".to_string()]).expect("a layout");
    let every_kind = model
        .items
        .iter()
        .find_map(|item| match item {
            Item::Composite(c) if c.name == "every_kind" => Some(c),
            _ => None,
        })
        .expect("struct every_kind");

    // The WIT field type of each kind (wit/records.wit); naming every
    // variant, so a new kind needs a member in the fixture and a line here.
    let mut seen = std::collections::BTreeSet::new();
    let bits = |size: &usize| size * 8;
    let expected: Vec<(String, String)> = fields(&model, every_kind)
        .into_iter()
        .map(|f| {
            let (variant, ty) = match (&f.kind, f.bits) {
                (Kind::Int { signed, .. }, Some((_, width))) => {
                    let sign = if *signed { "Signed" } else { "Unsigned" };
                    ("bitfield", format!("{sign}({width})"))
                }
                (Kind::Int { size, signed: true }, None) => {
                    ("int", format!("Signed({})", bits(size)))
                }
                (
                    Kind::Int {
                        size,
                        signed: false,
                    },
                    None,
                ) => ("int", format!("Unsigned({})", bits(size))),
                (Kind::Bool, _) => ("bool", "Boolean".into()),
                (Kind::Text { len }, _) => ("text", format!("Text({len})")),
                (Kind::Enum { values, .. }, _) => {
                    let names: Vec<_> = values.iter().map(|(n, _)| n).collect();
                    ("enum", format!("Enumeration({names:?})"))
                }
                (Kind::Float { size }, _) => ("float", format!("Float({})", bits(size))),
                (
                    Kind::IntList {
                        signed: true, len, ..
                    },
                    _,
                ) => ("list", format!("SignedList({len})")),
                (Kind::IntList { len, .. }, _) => ("list", format!("UnsignedList({len})")),
                (Kind::Bytes { len }, _) => ("bytes", format!("Bytes({len})")),
            };
            seen.insert(variant);
            (f.name, format!("FieldType::{ty}"))
        })
        .collect();
    let every = [
        "bitfield", "int", "bool", "text", "enum", "float", "list", "bytes",
    ];
    assert_eq!(
        seen,
        every.into_iter().collect(),
        "the fixture lacks a kind"
    );

    let cases = scenario("described");
    let described: Vec<(String, String)> = cases
        .iter()
        .filter_map(|(case, outcome)| {
            let name = case.strip_prefix("field ")?;
            let ty = outcome.strip_prefix("ok ")?.split(" = ").next()?;
            Some((name.to_string(), ty.to_string()))
        })
        .collect();
    let mut expected_sorted = expected.clone();
    expected_sorted.sort();
    assert_eq!(
        described, expected_sorted,
        "the guest's schema against the model's"
    );

    let value = |name: &str| {
        let outcome = &cases[&format!("field {name}")];
        outcome.split(" = ").nth(1).expect("a value").to_string()
    };
    for (name, want) in [
        ("i32", "Signed(-7)"),
        ("u64", "Unsigned(1099511627776)"),
        ("text", "Text(\"hey\")"),
        ("flag", "Boolean(true)"),
        ("color", "Enumerator(\"BLUE\")"),
        ("f32", "Float(1.5)"),
        ("f64", "Float(-0.25)"),
        ("shorts", "SignedList([-1, 2, -3])"),
        ("words", "UnsignedList([9, 4000000000])"),
        ("pairs", "Bytes([1, 0, 2, 0, 3, 0, 4, 0])"),
        ("inner.a", "Unsigned(5)"),
        ("inner.b", "Unsigned(600)"),
        ("ptr", "Unsigned(0)"),
        ("low", "Signed(-3)"),
        ("high", "Unsigned(17)"),
    ] {
        assert_eq!(value(name), want, "field {name}");
    }
    ok(
        &cases,
        "accessors",
        "(-3, 17, true, 2, 31, Some(Enumerator(\"RED\")))",
    );
}

/// An opened object configured as libbpf tools do before `load`: a stack
/// map sized at run time and read back with real kernel stacks, a program
/// whose attach target is set at run time, a map's type and flags
/// changed, a map not created, a section's initial value, the verifier's
/// log of a successful load; and a program turned into an LSM one, which
/// the policy refuses as it would a declared one.
#[test]
fn opened_objects_are_configured_before_load() {
    let c = scenario("configure");
    // Named after its source file, as libbpf tools name objects.
    ok(&c, "default-name", "\"configure\"");
    ok(&c, "stack-value-size-before", "0");
    ok(&c, "set-value-size", "()");
    ok(&c, "stack-value-size", "256");
    for case in [
        "set-map-type",
        "set-map-flags",
        "set-numa-node",
        "set-key-size",
        "set-autocreate",
    ] {
        ok(&c, case, "()");
    }
    ok(&c, "initial-value", "16");
    ok(&c, "set-initial-value", "()");
    err(
        &c,
        "set-initial-value-short",
        "InvalidArgument",
        0,
        &["4 bytes", "16 bytes"],
    );
    err(
        &c,
        "initial-value-of-hash",
        "InvalidArgument",
        libc::EINVAL,
        &["`table`", "globals"],
    );
    err(
        &c,
        "set-attach-target-none",
        "InvalidArgument",
        0,
        &["a function"],
    );
    err(
        &c,
        "set-attach-target-missing",
        "TargetNotFound",
        libc::ESRCH,
        &["`no_such_tracepoint`", "BTF"],
    );
    for case in [
        "set-attach-target",
        "set-log-level",
        "set-flags",
        "set-autoload-turned",
    ] {
        ok(&c, case, "()");
    }
    ok(&c, "flags", "4");
    err(
        &c,
        "set-value-size-loaded",
        "WrongPhase",
        0,
        &["set-value-size", "loaded"],
    );
    ok(&c, "map-type", "MapType::LruHash");
    ok(&c, "map-flags", "2");
    err(
        &c,
        "spare-created",
        "NotFound",
        libc::ENOENT,
        &["`spare`", "autocreate"],
    );
    ok(&c, "verifier-log", "true");
    ok(&c, "verifier-log-none", "None");
    ok(&c, "initial-hits", "1000");
    ok(&c, "hits", "true");
    ok(&c, "stack", "true");
    err(
        &c,
        "stack-as-u64",
        "InvalidArgument",
        0,
        &["values are 256 bytes", "type read is 8 bytes"],
    );
    for case in [
        "set-prog-type",
        "set-expected-attach-type",
        "set-attach-target-lsm",
    ] {
        ok(&c, case, "()");
    }
    err(
        &c,
        "load-turned",
        "PermissionDenied",
        libc::EPERM,
        &["lsm program `turned`", "--allow lsm"],
    );
    ok(&c, "set-map-extra", "()");
    ok(&c, "set-attach-target-fentry", "()");
    err(
        &c,
        "load-fentry",
        "PermissionDenied",
        libc::EPERM,
        &["fentry program `on_enter`", "--allow fentry"],
    );
    err(
        &c,
        "load-struct-ops",
        "PermissionDenied",
        libc::EPERM,
        &["struct_ops map `spare`", "--allow struct_ops"],
    );
    err(
        &c,
        "load-huge-stack",
        "LimitExceeded",
        0,
        &["map `stacks`", "at most 1 GiB"],
    );
    err(
        &c,
        "load-bloom-16",
        "InvalidArgument",
        libc::EINVAL,
        &["bloom"],
    );
}

/// A map pinned where the guest says (set-pin-path) must land inside the
/// `--allow-pin` directory as the kernel resolves it: `..` and symbolic
/// links out of it are refused; a pin inside is made and reused.
#[test]
fn pin_paths_set_by_the_guest_stay_in_the_granted_directory() {
    common::require_bpffs();
    let dir = std::path::PathBuf::from(format!(
        "/sys/fs/bpf/wasm-bpf-pinpath-{}",
        std::process::id()
    ));
    std::fs::create_dir_all(&dir).expect("a directory on bpffs");
    std::os::unix::fs::symlink("/sys/fs/bpf", dir.join("link")).expect("a symbolic link on bpffs");
    let grant = dir.to_str().expect("utf-8 path");
    let (_, c) = common::scenario_with(&["--allow-pin", grant], &["pin-path", grant]);
    let made = dir.join("custom_table").exists();
    let escaped = ["/sys/fs/bpf/escaped_table", "/sys/fs/bpf/table"]
        .map(|p| std::path::Path::new(p).exists());
    let _ = std::fs::remove_file(dir.join("custom_table"));
    let _ = std::fs::remove_file(dir.join("link"));
    let _ = std::fs::remove_dir(&dir);
    err(
        &c,
        "escape",
        "PermissionDenied",
        libc::EPERM,
        &["map `table` pinned", "--allow-pin"],
    );
    // The pin's directory is opened beneath the grant, links refused.
    err(
        &c,
        "symlink",
        "PermissionDenied",
        libc::EACCES,
        &["map `table`", "link/table", "leads outside"],
    );
    assert_eq!(
        escaped,
        [false, false],
        "a pin escaped the granted directory"
    );
    ok(&c, "custom", "()");
    ok(&c, "store", "()");
    assert!(made, "no pin at {}/custom_table", dir.display());
    ok(&c, "reused", "Some(42)");
}

/// A program of one object replaces a function of another object's loaded
/// program (set-attach-target with a target program): `pick` returns 2,
/// 42 while the replacement is attached, 2 again once it is detached. A
/// program of the object being configured cannot be its own target.
#[test]
fn attach_targets_can_be_programs_of_other_objects() {
    let c = scenario("freplace");
    ok(&c, "before", "2");
    err(
        &c,
        "same-object",
        "InvalidArgument",
        0,
        &["same object", "load the target's object first"],
    );
    ok(&c, "set-attach-target", "()");
    // Some kernels refuse extension programs outright (this test VM's
    // returns EPERM to root before verifying anything); the host's policy
    // never does, and says so when it refuses.
    let load = &c["load-replacer"];
    if load.starts_with("err") {
        assert!(
            load.contains("errno=1 ") && !load.contains("allow it with"),
            "{load}"
        );
        return;
    }
    ok(&c, "load-replacer", "()");
    ok(&c, "replaced", "42");
    ok(&c, "restored", "2");
}

/// Each attach failure names its real cause, and a hint applied as printed
/// gets past the check: a section without `binary:function` gets libbpf's
/// complaint (not a policy refusal), a binary reached through a symbolic
/// link (`/proc/self/exe`) and a library named by soname (`libc.so.6`,
/// found where libbpf looks) the directory of the file they resolve to, a
/// section with no hook the advice to attach with a target. Granted, the
/// libc uprobe counts the host's own mallocs.
#[test]
fn attach_errors_name_the_cause_and_hints_work_when_applied() {
    let c = scenario("sections");
    err(
        &c,
        "no_colon",
        "InvalidArgument",
        libc::EINVAL,
        &["missing ':function"],
    );
    err(
        &c,
        "no_hook",
        "Unsupported",
        libc::EOPNOTSUPP,
        &["names no hook", "attach-to"],
    );
    let mut flags = Vec::new();
    for (case, file) in [
        ("self_exe", "wasm-bpf"),
        ("libc_malloc", "libc.so.6"),
        ("libc_multi", "libc.so.6"),
    ] {
        let refusal = &c[case];
        assert!(refusal.contains("not allowed for this guest"), "{refusal}");
        assert!(
            refusal.contains(&format!("/{file}")),
            "{case} names no file: {refusal}"
        );
        let hint = refusal
            .split("`wasm-bpf run ")
            .nth(1)
            .and_then(|h| h.split('`').next())
            .unwrap_or_else(|| panic!("no hint in {refusal}"));
        let words: Vec<String> = hint.split_whitespace().map(String::from).collect();
        assert_eq!(words.first().map(String::as_str), Some("--dir"), "{hint}");
        flags.extend(words);
    }
    let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
    let (_, granted) = common::scenario_with(&flags, &["sections"]);
    ok(&granted, "self_exe", "()");
    ok(&granted, "libc_malloc", "()");
    ok(&granted, "libc_multi", "()");
    ok(&granted, "mallocs", "true");
}

/// A kernel BTF file given at open (through a `--dir` grant) or for the
/// run (`--kernel-btf`) is what libbpf relocates against: the running
/// kernel's BTF copied to a file loads a CO-RE object; the BTF of another
/// object, which has no `task_struct.real_parent`, fails its relocation;
/// a file that is not BTF and one outside the grants are refused.
#[test]
fn kernel_btf_files_are_what_co_re_relocates_against() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::copy("/sys/kernel/btf/vmlinux", dir.path().join("vmlinux")).expect("copying BTF");
    std::fs::write(dir.path().join("garbage"), "not BTF").expect("writing");
    let other = wasm_bpf_build::BpfBuild::new(
        common::root().join("tests/guests/host-api/bpf/sections.bpf.c"),
    )
    .out_dir(dir.path())
    .build()
    .expect("compiling sections.bpf.c");
    let grant = format!("{}::/btf", dir.path().display());
    let load = |host_args: &[&str], args: &[&str]| {
        let mut all = vec!["kernel-btf"];
        all.extend(args);
        common::scenario_with(host_args, &all).1
    };
    ok(&load(&["--dir", &grant], &["/btf/vmlinux"]), "load", "()");
    err(
        &load(&["--dir", &grant], &["/btf/sections.bpf.o"]),
        "load",
        "VerifierRejected",
        libc::EINVAL,
        &[
            "failed to resolve CO-RE relocation",
            "task_struct.real_parent",
        ],
    );
    err(
        &load(&["--dir", &grant], &["/btf/garbage"]),
        "load",
        "InvalidArgument",
        libc::EINVAL,
        &["not BTF"],
    );
    err(
        &load(&[], &["/etc/passwd"]),
        "load",
        "PermissionDenied",
        libc::EACCES,
        &["not inside a directory"],
    );

    // BTF whose typedefs loop would hang libbpf: refused before it reads it.
    let looping = common::root()
        .join("guest-sdk-rust/build/tests/fuzz-regressions/typedef-loop-hangs-libbpf.bpf.o");
    std::fs::copy(looping, dir.path().join("looping.o")).expect("copying the looping BTF");
    err(
        &load(&["--dir", &grant], &["/btf/looping.o"]),
        "load",
        "InvalidArgument",
        libc::EINVAL,
        &["loop"],
    );

    // An object's own file is capped at a quarter of --max-memory.
    let capped = load(
        &["--dir", &grant, "--max-memory", "16MiB"],
        &["/btf/vmlinux"],
    );
    err(
        &capped,
        "load",
        "TooBig",
        libc::EFBIG,
        &["larger than 4194304 bytes", "--max-memory"],
    );

    let vmlinux = dir.path().join("vmlinux");
    ok(
        &load(&["--kernel-btf", vmlinux.to_str().expect("utf-8")], &[]),
        "load",
        "()",
    );
    err(
        &load(
            &["--kernel-btf", other.object.to_str().expect("utf-8")],
            &[],
        ),
        "load",
        "VerifierRejected",
        libc::EINVAL,
        &["task_struct.real_parent"],
    );
    let garbage = dir.path().join("garbage");
    let garbage = garbage.to_str().expect("utf-8");
    let (code, stderr) = common::run_to_end(
        &["--kernel-btf", garbage],
        &common::guest("host-api"),
        &["kernel-btf"],
    );
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains("--kernel-btf") && stderr.contains("not BTF"),
        "{stderr}"
    );
}
