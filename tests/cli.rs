//! The `wasm-bpf` command line: stopping guests, errors, and `gen rust`.

mod common;

use std::time::{Duration, Instant};

use common::{
    assert_freed, assert_no_map_named, bpf_ids, guest, require_kernel, root, wasm_bpf, Running,
};

fn start_bootstrap(host_args: &[&str]) -> Running {
    require_kernel();
    let mut running = Running::start(host_args, &guest("bootstrap"), &[]);
    running
        .wait_line(Duration::from_secs(20), |l| l.starts_with("TIME"))
        .unwrap_or_else(|| panic!("no header; stderr: {}", running.stderr()));
    running
}

#[test]
fn sigterm_stops_it_cleanly_and_frees_everything() {
    let mut bootstrap = start_bootstrap(&[]);
    let ids = bpf_ids(bootstrap.pid());
    assert_eq!(ids.progs.len(), 2, "{ids:?}");
    bootstrap.signal(libc::SIGTERM);
    let status = bootstrap
        .wait_exit(Duration::from_secs(1))
        .expect("still running");
    // bootstrap returns when asked to stop: its own status, 0.
    assert_eq!(status.code(), Some(0));
    assert_freed(&ids);
}

#[test]
fn timeout_exits_124_and_frees_everything() {
    let started = Instant::now();
    let mut bootstrap = start_bootstrap(&["--timeout", "1500ms"]);
    let ids = bpf_ids(bootstrap.pid());
    assert_eq!(ids.links.len(), 2, "{ids:?}");
    let status = bootstrap
        .wait_exit(Duration::from_secs(10))
        .expect("still running");
    assert_eq!(status.code(), Some(124));
    assert!(started.elapsed() >= Duration::from_millis(1500));
    assert!(
        bootstrap.stderr().contains("timeout"),
        "{}",
        bootstrap.stderr()
    );
    assert_freed(&ids);
}

/// The timeout's clock starts with the guest, not before compiling it:
/// compiled without the cache (far longer than the timeout on any
/// machine), the guest still starts unasked to stop, then is stopped.
#[test]
fn the_timeout_counts_from_when_the_guest_starts() {
    require_kernel();
    let output = wasm_bpf()
        .args(["run", "--no-cache", "--timeout", "20ms", "--grace", "1h"])
        .arg(guest("host-api"))
        .arg("timed")
        .output()
        .expect("running wasm-bpf");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(124), "{stdout}");
    assert!(
        stdout.contains("case stopping-at-start => ok false"),
        "{stdout}"
    );
    assert!(stdout.contains("case stopped => ok true"), "{stdout}");
}

/// The compile cache stays under `--cache-max`, evicting the component
/// least recently run: of A, B, A again and C, with room for A and C
/// only, B goes. `cache list` shows the entries, `cache clear` empties it.
#[test]
fn the_compile_cache_evicts_the_least_recently_run() {
    require_kernel();
    let cache_files = |home: &std::path::Path| -> Vec<(String, u64)> {
        let mut files: Vec<(String, u64)> = std::fs::read_dir(home.join("wasm-bpf"))
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| {
                let size = e.metadata().map(|m| m.len()).unwrap_or(0);
                (e.file_name().to_string_lossy().into_owned(), size)
            })
            .collect();
        files.sort();
        files
    };
    let run = |home: &std::path::Path, name: &str, max: &str| {
        let status = wasm_bpf()
            .env("XDG_CACHE_HOME", home)
            .args(["run", "--cache-max", max, "--timeout", "10ms"])
            .arg(guest(name))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .expect("running wasm-bpf");
        assert_eq!(status.code(), Some(124), "{name}");
        cache_files(home)
    };
    // Each one's compiled size and name, from a cache of its own.
    let alone = |name: &str| {
        let home = tempfile::tempdir().expect("temp dir");
        let files = run(home.path(), name, "1GiB");
        assert_eq!(files.len(), 1, "{files:?}");
        files[0].clone()
    };
    let (a, b, c) = (alone("bootstrap"), alone("runqlat"), alone("minimal"));
    let home = tempfile::tempdir().expect("temp dir");
    run(home.path(), "bootstrap", "1GiB");
    run(home.path(), "runqlat", "1GiB");
    run(home.path(), "bootstrap", "1GiB");
    let room = (a.1 + c.1).to_string();
    let mut want = vec![a.clone(), c.clone()];
    want.sort();
    assert_eq!(
        run(home.path(), "minimal", &room),
        want,
        "{b:?} should have gone"
    );

    // An entry dated before 1970 lists (as the oldest), not a panic.
    let touched = std::process::Command::new("touch")
        .args(["-d", "1960-01-01"])
        .arg(home.path().join("wasm-bpf").join(&a.0))
        .status()
        .expect("touch");
    assert!(touched.success());
    let listed = wasm_bpf()
        .env("XDG_CACHE_HOME", home.path())
        .args(["cache", "list"])
        .output()
        .expect("cache list");
    let text = String::from_utf8_lossy(&listed.stdout);
    assert!(listed.status.success(), "{text}");
    assert!(text.contains("1970-01-01T00:00:00Z"), "{text}");
    assert!(
        text.contains(&a.0) && text.contains(&c.0) && !text.contains(&b.0),
        "{text}"
    );
    assert!(text.contains("in 2 entries"), "{text}");
    let cleared = wasm_bpf()
        .env("XDG_CACHE_HOME", home.path())
        .args(["cache", "clear"])
        .output()
        .expect("cache clear");
    assert!(cleared.status.success());
    assert!(cache_files(home.path()).is_empty());
}

/// Runs the test guest's `end` scenario; returns the exit status and
/// standard error once the object it loaded is gone from the kernel.
fn end_guest(how: &str, object: &str) -> (Option<i32>, String) {
    require_kernel();
    let output = wasm_bpf()
        .arg("run")
        .arg(guest("host-api"))
        .args(["end", how, object])
        .output()
        .expect("running wasm-bpf");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains(&format!("ready {object}")), "{stdout}");
    assert_no_map_named(&format!("{object}.rodata"));
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn the_guest_exit_code_becomes_the_process_exit_code() {
    let (code, _) = end_guest("exit", "exitobj");
    assert_eq!(code, Some(3));
}

#[test]
fn a_trapping_guest_exits_134_and_leaks_nothing() {
    let (code, stderr) = end_guest("trap", "trapobj");
    assert_eq!(code, Some(134));
    assert!(stderr.contains("trapping on purpose"), "{stderr}");
    assert!(stderr.contains("the guest trapped"), "{stderr}");
}

#[test]
fn a_precompiled_component_runs() {
    require_kernel();
    let dir = tempfile::tempdir().expect("temp dir");
    let cwasm = dir.path().join("bootstrap.cwasm");
    let status = wasm_bpf()
        .arg("compile")
        .arg(guest("bootstrap"))
        .arg("-o")
        .arg(&cwasm)
        .status()
        .expect("running wasm-bpf compile");
    assert!(status.success());
    let mut bootstrap = Running::start(&[], &cwasm, &[]);
    let header = bootstrap.wait_line(Duration::from_secs(10), |l| l.starts_with("TIME"));
    assert!(header.is_some(), "stderr: {}", bootstrap.stderr());
    bootstrap.signal(libc::SIGINT);
    let status = bootstrap
        .wait_exit(Duration::from_secs(1))
        .expect("still running");
    assert_eq!(status.code(), Some(0));
}

#[test]
fn a_missing_component_is_a_clear_error() {
    let output = wasm_bpf()
        .args(["run", "/nonexistent/app.wasm"])
        .output()
        .expect("running wasm-bpf");
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("loading component /nonexistent/app.wasm"),
        "{stderr}"
    );
}

/// `--log-format json`: every message of the host's own is one JSON
/// object on a line of its own, for a log collector; the guest's output
/// is not touched.
#[test]
fn host_messages_are_json_lines_when_asked() {
    require_kernel();
    let output = wasm_bpf()
        .args(["--log-format", "json", "run", "-v", "--timeout", "1s"])
        .arg(guest("bootstrap"))
        .output()
        .expect("running wasm-bpf");
    assert_eq!(output.status.code(), Some(124));
    let stderr = String::from_utf8_lossy(&output.stderr);
    let messages: Vec<(String, String)> = stderr
        .lines()
        .map(|line| {
            let object: serde_json::Value = serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("not a JSON line ({e}): {line}"));
            let field = |name: &str| object[name].as_str().unwrap_or_default().to_string();
            assert!(!field("timestamp").is_empty(), "{line}");
            (field("level"), field("message"))
        })
        .collect();
    let bootstrap = guest("bootstrap");
    assert_eq!(
        messages,
        [
            (
                "INFO".into(),
                format!("running the file {}", bootstrap.display())
            ),
            ("INFO".into(), "timeout reached, guest stopped".into()),
        ],
        "{stderr}"
    );
    assert!(String::from_utf8_lossy(&output.stdout).starts_with("TIME     EVENT"));

    let output = wasm_bpf()
        .args(["run", "--log-format", "json", "/nonexistent/app.wasm"])
        .output()
        .expect("running wasm-bpf");
    let stderr = String::from_utf8_lossy(&output.stderr);
    let error: serde_json::Value = serde_json::from_str(stderr.trim()).expect("one JSON line");
    assert_eq!(error["level"], "ERROR", "{stderr}");
    let message = error["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("loading component /nonexistent/app.wasm"),
        "{stderr}"
    );
}

/// Core modules run as modules of the original wasm-bpf ABI, which are
/// WASI commands.
#[test]
fn a_core_module_that_is_no_command_is_refused_with_a_reason() {
    let dir = tempfile::tempdir().expect("temp dir");
    let module = dir.path().join("core.wasm");
    // The smallest core module: magic and version 1.
    std::fs::write(&module, b"\0asm\x01\0\0\0").expect("writing module");
    let output = wasm_bpf()
        .arg("run")
        .arg(&module)
        .output()
        .expect("running wasm-bpf");
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("exports no `_start`"), "{stderr}");
}

#[test]
fn a_bad_policy_file_is_a_clear_error() {
    let dir = tempfile::tempdir().expect("temp dir");
    let cases = [
        (
            "allow-network = [\"lo\"]\n",
            "unknown field `allow-network`",
        ),
        ("allow = [\"kprobes\"]\n", "unknown hook kind \"kprobes\""),
        ("timeout = \"soon\"\n", "`timeout`"),
    ];
    for (text, says) in cases {
        let file = dir.path().join("grants.toml");
        std::fs::write(&file, text).expect("writing the policy file");
        let output = wasm_bpf()
            .arg("run")
            .arg("--policy")
            .arg(&file)
            .arg(guest("bootstrap"))
            .output()
            .expect("running wasm-bpf");
        assert_eq!(output.status.code(), Some(1), "{text}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains("policy file"), "{text}: {stderr}");
        assert!(stderr.contains(says), "{text}: {stderr}");
    }
}

/// Compiles the bootstrap example's BPF side into `dir`.
fn build_bootstrap(dir: &std::path::Path) -> wasm_bpf_build::Built {
    wasm_bpf_build::BpfBuild::new(root().join("examples/bootstrap/bpf/bootstrap.bpf.c"))
        .out_dir(dir)
        .build()
        .expect("compiling bootstrap.bpf.c")
}

#[test]
fn gen_rust_emits_the_kernel_layout_of_bootstraps_event() {
    let dir = tempfile::tempdir().expect("temp dir");
    let built = build_bootstrap(dir.path());
    let output = wasm_bpf()
        .args(["gen", "rust"])
        .arg(&built.object)
        .args(["--type", "event"])
        .output()
        .expect("running wasm-bpf gen rust");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let code = String::from_utf8_lossy(&output.stdout);
    let expected = "pub struct Event {
    pub pid: i32,
    pub ppid: i32,
    pub exit_code: u32,
    pub __pad_12: [u8; 4],
    pub duration_ns: u64,
    pub comm: [u8; 16],
    pub filename: [u8; 127],
    pub exit_event: u8,
}";
    assert!(code.contains(expected), "{code}");
    assert!(code.contains("size_of::<Event>() == 168"), "{code}");
    assert!(
        code.contains("offset_of!(Event, duration_ns) == 16"),
        "{code}"
    );
    // The same generator runs in build.rs.
    assert_eq!(std::fs::read_to_string(&built.types).expect("types"), code);
}

#[test]
fn gen_rust_names_a_missing_type_and_how_to_keep_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    let built = build_bootstrap(dir.path());
    let output = wasm_bpf()
        .args(["gen", "rust"])
        .arg(&built.object)
        .args(["--type", "no_such_struct"])
        .output()
        .expect("running wasm-bpf gen rust");
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("no struct, union or enum `no_such_struct`"),
        "{stderr}"
    );
    assert!(stderr.contains("declare a global"), "{stderr}");
}

/// Runs `wasm-bpf inspect` on `file`: exit status and standard output or
/// error.
fn inspect(file: &std::path::Path) -> (bool, String) {
    let output = wasm_bpf()
        .arg("inspect")
        .arg(file)
        .output()
        .expect("running wasm-bpf inspect");
    let text = if output.status.success() {
        output.stdout
    } else {
        output.stderr
    };
    (
        output.status.success(),
        String::from_utf8_lossy(&text).into_owned(),
    )
}

#[test]
fn inspect_lists_programs_maps_and_needed_grants() {
    let (ok, report) = inspect(&guest("bootstrap"));
    assert!(ok, "{report}");
    assert!(
        report
            .contains("program handle_exec: section tp/sched/sched_process_exec, type Tracepoint"),
        "{report}"
    );
    assert!(report.contains("bpf_ringbuf_reserve"), "{report}");
    assert!(report.contains("map rb: RingBuf"), "{report}");
    assert!(
        report.ends_with("grants needed: none (tracing only)\n"),
        "{report}"
    );

    let (ok, report) = inspect(&guest("host-api"));
    assert!(ok, "{report}");
    assert!(
        report.contains(": not usable: object ") && report.contains("loop"),
        "the fuzzed object host-api embeds: {report}"
    );
    // A helper called only from a subprogram in .text, and a kfunc.
    let hidden = report
        .split("program hidden_helper:")
        .nth(1)
        .and_then(|rest| rest.split("  program ").next())
        .unwrap_or_default();
    assert!(
        hidden
            .contains("needs: --allow-helper bpf_send_signal, --allow-kfunc bpf_send_signal_task"),
        "{report}"
    );
    // Helpers by what they do; an iterator's bpf_setsockopt needs a grant.
    let iterator = report
        .split("program mark_sockets:")
        .nth(1)
        .and_then(|rest| rest.split("  program ").next())
        .unwrap_or_default();
    assert!(
        iterator.contains("helpers reading kernel state: bpf_skc_to_tcp_sock")
            && iterator.contains("helpers changing what its hook hands it: bpf_setsockopt")
            && iterator.contains("needs: --allow-helper bpf_setsockopt"),
        "{report}"
    );
    // What inspect cannot classify is said, and then no list of grants is
    // complete.
    assert!(
        report.contains("cannot read: at instruction 0: helper #999")
            && report.contains("a call libbpf wrote over a failed CO-RE relocation"),
        "{report}"
    );
    assert!(report.contains("needs: --allow arena"), "{report}");
    let grants = report.lines().last().unwrap();
    assert!(grants.starts_with("grants needed: at least "), "{grants}");
    for flag in [
        "--allow fentry",
        "--allow lsm",
        "--allow kprobe",
        "--allow-helper bpf_send_signal",
        "--allow-kfunc bpf_send_signal_task",
        "--dir /usr/bin",
        "--allow-net IFACE",
        "--allow arena",
        "--allow-helper bpf_setsockopt",
    ] {
        assert!(grants.contains(flag), "{flag} missing: {grants}");
    }

    let (ok, error) = inspect(&root().join("Cargo.toml"));
    assert!(!ok);
    assert!(error.contains("no embedded BPF object found"), "{error}");
}

#[test]
fn a_policy_file_sets_limits_that_flags_override() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("grants.toml");
    std::fs::write(&file, "timeout = \"300ms\"\nmax-memory = \"1MiB\"\n").expect("writing");
    let run = |extra: &[&str]| {
        wasm_bpf()
            .arg("run")
            .arg("--policy")
            .arg(&file)
            .args(extra)
            .arg(guest("bootstrap"))
            .output()
            .expect("running wasm-bpf")
    };
    // 1 MiB is less than the guest starts with: the file's cap holds...
    let output = run(&[]);
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("over its limit of 1048576 bytes"),
        "{stderr}"
    );
    // ...unless the flag raises it; then the file's timeout stops it.
    let output = run(&["--max-memory", "64MiB"]);
    assert_eq!(
        output.status.code(),
        Some(124),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// A relative path in a policy file is the file's directory's, whatever
/// the working directory: `allow-pin = "pins"` names `<file's dir>/pins`.
#[test]
fn a_policy_files_relative_paths_are_taken_from_its_directory() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("grants.toml");
    std::fs::write(&file, "allow-pin = \"pins\"\n").expect("writing the policy file");
    let elsewhere = tempfile::tempdir().expect("temp dir");
    let output = wasm_bpf()
        .current_dir(elsewhere.path())
        .arg("run")
        .arg("--policy")
        .arg(&file)
        .arg(guest("bootstrap"))
        .output()
        .expect("running wasm-bpf");
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    let pins = dir.path().join("pins");
    assert!(
        stderr.contains(&format!(
            "--allow-pin {}: no such directory",
            pins.display()
        )),
        "{stderr}"
    );
    // Made there (on a file system other than bpffs), it is found there.
    std::fs::create_dir(&pins).expect("making pins/");
    let output = wasm_bpf()
        .current_dir(elsewhere.path())
        .arg("run")
        .arg("--policy")
        .arg(&file)
        .arg(guest("bootstrap"))
        .output()
        .expect("running wasm-bpf");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("not a directory on bpffs"), "{stderr}");
}

/// Runs `wasm-bpf gen <lang> <object> --type <ty>`; its output.
fn gen(lang: &str, object: &std::path::Path, ty: &str) -> String {
    let output = wasm_bpf()
        .args(["gen", lang])
        .arg(object)
        .args(["--type", ty])
        .output()
        .expect("running wasm-bpf gen");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("UTF-8 output")
}

#[test]
fn gen_wit_emits_bootstraps_event_as_a_record() {
    let dir = tempfile::tempdir().expect("temp dir");
    let built = build_bootstrap(dir.path());
    let wit = gen("wit", &built.object, "event");
    assert!(wit.contains("package wasm-bpf-gen:bootstrap;"), "{wit}");
    let fields: Vec<&str> = wit
        .lines()
        .map(str::trim)
        .filter(|l| !l.starts_with("///") && l.ends_with(','))
        .collect();
    assert_eq!(
        fields,
        [
            "pid: s32,",
            "ppid: s32,",
            "exit-code: u32,",
            "duration-ns: u64,",
            "comm: string,",
            "filename: string,",
            "exit-event: bool,",
        ],
        "{wit}"
    );
    // The typed sink a probe of the object imports, and the two worlds.
    for want in [
        "interface sink {\n    use records.{event};",
        "start: func() -> result<_, string>;",
        "push-event: func(batch: list<event>);",
        "finish: func();",
        "world probe {\n    import sink;\n}",
        "world consumer {\n    export sink;\n}",
    ] {
        assert!(wit.contains(want), "missing {want:?} in\n{wit}");
    }
}

/// The WIT files committed next to the guests that use them are what
/// `wasm-bpf gen wit` writes today, from the command in their header.
/// `WASM_BPF_BLESS=1` rewrites them instead.
#[test]
fn committed_wit_is_what_gen_wit_writes() {
    let dir = tempfile::tempdir().expect("temp dir");
    let cases = [
        (
            build_bootstrap(dir.path()).object,
            "examples/bootstrap-typed/wit/bootstrap.wit",
            &["--type", "event", "--package", "wasm-bpf:bootstrap"][..],
        ),
        (
            layout_probe_object(dir.path()),
            "tests/guests/host-api/wit/api.wit",
            &["--package", "wasm-bpf-test:api"][..],
        ),
        (
            wasm_bpf_build::BpfBuild::new(root().join("tests/guests/bench/bpf/bench.bpf.c"))
                .out_dir(dir.path())
                .build()
                .expect("compiling bench.bpf.c")
                .object,
            "tests/guests/bench-probe/wit/bench.wit",
            &["--type", "head", "--package", "wasm-bpf-bench:bench"][..],
        ),
    ];
    for (object, committed, args) in cases {
        let output = wasm_bpf()
            .args(["gen", "wit"])
            .arg(&object)
            .args(args)
            .output()
            .expect("running wasm-bpf gen wit");
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let path = root().join(committed);
        if std::env::var_os("WASM_BPF_BLESS").is_some() {
            std::fs::write(&path, &output.stdout).expect("writing the WIT");
            continue;
        }
        let wit = String::from_utf8(output.stdout).expect("UTF-8 output");
        let current = std::fs::read_to_string(&path).expect("reading the committed WIT");
        assert!(
            current == wit,
            "{committed} is stale; regenerate it with WASM_BPF_BLESS=1 cargo test --release \
             --test cli committed_wit"
        );
    }
}

/// The host-api fixture's `struct layout_probe`: nested structs, an array
/// of structs, a union, bitfields, an enum, a pointer, a bool.
fn layout_probe_object(dir: &std::path::Path) -> std::path::PathBuf {
    wasm_bpf_build::BpfBuild::new(root().join("tests/guests/host-api/bpf/api.bpf.c"))
        .out_dir(dir)
        .build()
        .expect("compiling api.bpf.c")
        .object
}

#[test]
fn gen_wit_maps_every_kind_of_member() {
    let dir = tempfile::tempdir().expect("temp dir");
    let wit = gen("wit", &layout_probe_object(dir.path()), "layout_probe");
    for want in [
        "record inner {",
        "a: u16,",
        "b: u64,",
        "enum color {",
        "/// `BLUE` = -1\n        blue,",
        "record layout-probe {",
        "tag: string,",
        "in: inner,",
        "pair: list<inner>,",
        "/// `u`: union layout_probe__u, as its 4 bytes\n        u: list<u8>,",
        "/// `neg`: a 5-bit bitfield\n        neg: s32,",
        "color: color,",
        "ptr: u64,",
        "flag: bool,",
    ] {
        assert!(wit.contains(want), "missing {want:?} in\n{wit}");
    }
}

/// The decoding table behind a probe's self-describing records: nested
/// members flattened with dotted names, at their offsets.
#[test]
fn generated_types_describe_their_records() {
    let dir = tempfile::tempdir().expect("temp dir");
    let code = gen("rust", &layout_probe_object(dir.path()), "layout_probe");
    let table: Vec<&str> = code
        .lines()
        .map(str::trim)
        .filter(|l| l.contains("FieldLayout { name:"))
        .map(|l| {
            l.split("FieldLayout { ")
                .nth(1)
                .unwrap_or_default()
                .trim_end_matches(" },")
        })
        .collect();
    let expected = [
        "name: \"a\", offset: 0, bits: None, kind: ::wasm_bpf_guest::probe::FieldKind::Int { size: 2, signed: false }",
        "name: \"b\", offset: 8, bits: None, kind: ::wasm_bpf_guest::probe::FieldKind::Int { size: 8, signed: false }",
        "name: \"tag\", offset: 0, bits: None, kind: ::wasm_bpf_guest::probe::FieldKind::Text { len: 3 }",
        "name: \"in.a\", offset: 8, bits: None, kind: ::wasm_bpf_guest::probe::FieldKind::Int { size: 2, signed: false }",
        "name: \"in.b\", offset: 16, bits: None, kind: ::wasm_bpf_guest::probe::FieldKind::Int { size: 8, signed: false }",
        "name: \"pair\", offset: 24, bits: None, kind: ::wasm_bpf_guest::probe::FieldKind::Bytes { len: 32 }",
        // A union is one field of its bytes: every member reads them.
        "name: \"u\", offset: 56, bits: None, kind: ::wasm_bpf_guest::probe::FieldKind::Bytes { len: 4 }",
        "name: \"lo\", offset: 60, bits: Some((0, 3)), kind: ::wasm_bpf_guest::probe::FieldKind::Int { size: 8, signed: false }",
        "name: \"neg\", offset: 60, bits: Some((3, 5)), kind: ::wasm_bpf_guest::probe::FieldKind::Int { size: 8, signed: true }",
        "name: \"hi\", offset: 61, bits: Some((0, 9)), kind: ::wasm_bpf_guest::probe::FieldKind::Int { size: 8, signed: false }",
        "name: \"color\", offset: 64, bits: None, kind: ::wasm_bpf_guest::probe::FieldKind::Enum { size: 4, signed: true, values: &[(\"RED\", 1), (\"GREEN\", 2), (\"BLUE\", -1)] }",
        "name: \"ptr\", offset: 72, bits: None, kind: ::wasm_bpf_guest::probe::FieldKind::Int { size: 8, signed: false }",
        "name: \"flag\", offset: 80, bits: None, kind: ::wasm_bpf_guest::probe::FieldKind::Bool",
    ];
    assert_eq!(table, expected, "{code}");
}

/// Runs host-api's `verifier` scenario with `XDG_CACHE_HOME=cache`; returns
/// stdout and stderr.
fn run_cached(cache: &std::path::Path) -> (String, String) {
    require_kernel();
    let output = wasm_bpf()
        .env("XDG_CACHE_HOME", cache)
        .arg("run")
        .arg(guest("host-api"))
        .arg("verifier")
        .output()
        .expect("running wasm-bpf");
    (
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// The one entry of a cache directory.
fn cache_entry(cache: &std::path::Path) -> std::path::PathBuf {
    let entries: Vec<_> = std::fs::read_dir(cache.join("wasm-bpf"))
        .expect("the cache directory")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "cwasm"))
        .collect();
    assert_eq!(entries.len(), 1, "{entries:?}");
    entries[0].clone()
}

fn chown(path: &std::path::Path, uid: u32) {
    let c = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).unwrap();
    // SAFETY: a NUL-terminated path; lchown changes only ownership.
    assert_eq!(
        unsafe { libc::lchown(c.as_ptr(), uid, uid) },
        0,
        "chown {}",
        path.display()
    );
}

/// Root never runs code another user could have put in its compile cache:
/// with the cache under a directory a user owns, an entry they replaced
/// with another component's compiled code is not mapped (the guest that
/// runs is the one asked for), and nothing is written there. In root's own
/// cache, a symbolic link planted as an entry is neither read nor written
/// through.
#[test]
fn the_compile_cache_is_used_only_when_no_one_else_can_write_it() {
    const NOBODY: u32 = 65534;
    let dir = tempfile::tempdir().expect("tempdir");
    let cache = dir.path().join("user-cache");
    let (stdout, _) = run_cached(&cache);
    assert!(stdout.contains("done verifier"), "{stdout}");
    let entry = cache_entry(&cache);

    // The user plants another component's compiled code under the name.
    let planted = dir.path().join("planted.cwasm");
    let status = wasm_bpf()
        .arg("compile")
        .arg(guest("json"))
        .arg("-o")
        .arg(&planted)
        .status()
        .expect("compiling");
    assert!(status.success());
    std::fs::copy(&planted, &entry).expect("planting");
    for path in [cache.clone(), cache.join("wasm-bpf"), entry.clone()] {
        chown(&path, NOBODY);
    }
    let listing = || {
        let mut names: Vec<_> = std::fs::read_dir(cache.join("wasm-bpf"))
            .unwrap()
            .flatten()
            .map(|e| e.file_name())
            .collect();
        names.sort();
        names
    };
    let before = listing();
    let (stdout, stderr) = run_cached(&cache);
    assert!(
        stdout.contains("done verifier"),
        "ran planted code: {stdout}\n{stderr}"
    );
    assert!(
        stderr.contains("not using the compile cache") && stderr.contains("uid 65534"),
        "{stderr}"
    );
    assert_eq!(
        std::fs::read(&entry).unwrap(),
        std::fs::read(&planted).unwrap()
    );
    assert_eq!(listing(), before, "wrote into a cache another user owns");

    // Root's own cache, an entry replaced by a link to a file of root's.
    let cache = dir.path().join("root-cache");
    run_cached(&cache);
    let entry = cache_entry(&cache);
    let victim = dir.path().join("victim");
    std::fs::write(&victim, b"precious").unwrap();
    std::fs::remove_file(&entry).unwrap();
    std::os::unix::fs::symlink(&victim, &entry).unwrap();
    let (stdout, stderr) = run_cached(&cache);
    assert!(stdout.contains("done verifier"), "{stdout}\n{stderr}");
    assert!(stderr.contains("ignoring cache entry"), "{stderr}");
    assert_eq!(std::fs::read(&victim).unwrap(), b"precious");
    let meta = std::fs::symlink_metadata(&entry).unwrap();
    assert!(
        meta.file_type().is_file(),
        "the link was not replaced by a fresh entry"
    );
}

/// Runs the core module `bytes` under `--max-memory 64MiB`; returns its
/// exit code, stderr and the host's peak resident memory in KiB.
fn run_module_capped(bytes: &[u8]) -> (Option<i32>, String, i64) {
    use std::os::unix::process::ExitStatusExt as _;
    let dir = tempfile::tempdir().expect("tempdir");
    let module = dir.path().join("module.wasm");
    std::fs::write(&module, bytes).unwrap();
    #[allow(
        clippy::zombie_processes,
        reason = "reaped by wait4 below, which also reads its peak memory"
    )]
    let child = wasm_bpf()
        .args(["run", "--max-memory", "64MiB"])
        .arg(&module)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("running wasm-bpf");
    let pid = child.id() as i32;
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.unwrap(), &mut stderr).unwrap();
    let mut status = 0;
    // SAFETY: wait4 fills the zeroed rusage of our own child.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    assert_eq!(unsafe { libc::wait4(pid, &mut status, 0, &mut usage) }, pid);
    let code = std::process::ExitStatus::from_raw(status).code();
    (code, stderr, usage.ru_maxrss)
}

/// `--max-memory` caps the guest, not each memory: two 40 MiB memories, or
/// one `table.grow` of 300 M entries, stop at 64 MiB in all, and the host
/// stays small.
#[test]
fn memory_cap_counts_every_memory_and_table() {
    const HEADER: &[u8] = b"\0asm\x01\0\0\0\x01\x04\x01\x60\0\0\x03\x02\x01\0";
    const START: &[u8] = b"\x07\x0a\x01\x06_start\0\0";
    // Two memories of 640 pages (40 MiB) each.
    let memories = [
        HEADER,
        b"\x05\x07\x02\x00\x80\x05\x00\x80\x05",
        START,
        b"\x0a\x04\x01\x02\x00\x0b",
    ]
    .concat();
    // A funcref table, grown by 300,000,000 null entries.
    let table = [
        HEADER,
        b"\x04\x04\x01\x70\x00\x00",
        START,
        b"\x0a\x10\x01\x0e\x00\xd0\x70\x41\x80\xc6\x86\x8f\x01\xfc\x0f\x00\x1a\x0b",
    ]
    .concat();
    for (what, module) in [("memories", memories), ("table", table)] {
        let (code, stderr, peak_kib) = run_module_capped(&module);
        assert!(
            code.is_some_and(|c| c != 0),
            "{what}: exited {code:?}: {stderr}"
        );
        assert!(
            stderr.contains("bytes of memory and tables") && stderr.contains("--max-memory"),
            "{what}: {stderr}"
        );
        assert!(
            peak_kib < 256 * 1024,
            "{what}: the host reached {peak_kib} KiB"
        );
    }
}
