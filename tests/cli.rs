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
fn sigterm_exits_143_and_frees_everything() {
    let mut bootstrap = start_bootstrap(&[]);
    let ids = bpf_ids(bootstrap.pid());
    assert_eq!(ids.progs.len(), 2, "{ids:?}");
    bootstrap.signal(libc::SIGTERM);
    let status = bootstrap
        .wait_exit(Duration::from_secs(1))
        .expect("still running");
    assert_eq!(status.code(), Some(143));
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
    assert_eq!(status.code(), Some(130));
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
    let grants = report.lines().last().unwrap();
    for flag in [
        "--allow fentry",
        "--allow lsm",
        "--allow kprobe",
        "--allow-helper bpf_send_signal",
        "--dir /usr/bin",
        "--allow-net IFACE",
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
