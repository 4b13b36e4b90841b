//! `wasm-bpf new`: each kind of project, made in a temporary directory
//! outside the repository, builds with the one command its README gives
//! and runs on the kernel, reporting processes this test starts.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::{require_kernel, root, wait_attached, wait_finished, wasm_bpf, Running};

/// Runs `wasm-bpf new NAME ARGS` in `parent`; the project's directory.
fn new_project(parent: &Path, name: &str, args: &[&str]) -> PathBuf {
    let out = wasm_bpf()
        .arg("new")
        .arg(name)
        .args(args)
        .current_dir(parent)
        .output()
        .expect("running wasm-bpf new");
    assert!(out.status.success(), "new {name} {args:?}: {}", text(&out));
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        said.contains(&format!("cd {name} && ")),
        "no build command in: {said}"
    );
    let dir = parent.join(name);
    assert_filled(&dir);
    dir
}

/// Fails if a file of the project still holds a template placeholder.
fn assert_filled(dir: &Path) {
    for entry in std::fs::read_dir(dir).expect("reading the project") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            assert_filled(&path);
        } else if let Ok(text) = std::fs::read_to_string(&path) {
            assert!(
                !text.contains("{{"),
                "{} holds a placeholder",
                path.display()
            );
        }
    }
}

fn text(out: &Output) -> String {
    format!(
        "{:?}\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// The target directory the Rust projects share: the projects are cold
/// builds of the same SDK, so they build it once (and once per machine
/// across test runs).
fn shared_target() -> PathBuf {
    root().join("target/new-projects")
}

/// `cargo build --release` in a Rust project; its component.
fn cargo_build(dir: &Path, component: &str) -> PathBuf {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let out = Command::new(cargo)
        .args(["build", "--release"])
        .env("CARGO_TARGET_DIR", shared_target())
        .current_dir(dir)
        .output()
        .expect("running cargo");
    assert!(
        out.status.success(),
        "cargo build in {}: {}",
        dir.display(),
        text(&out)
    );
    let wasm = shared_target().join(format!("wasm32-wasip2/release/{component}.wasm"));
    assert!(wasm.is_file(), "no {}", wasm.display());
    wasm
}

/// `make` in a C project; its component.
fn make(dir: &Path, component: &str) -> PathBuf {
    let out = Command::new("make")
        .current_dir(dir)
        .output()
        .expect("running make");
    assert!(
        out.status.success(),
        "make in {}: {}",
        dir.display(),
        text(&out)
    );
    let wasm = dir.join(format!("{component}.wasm"));
    assert!(wasm.is_file(), "no {}", wasm.display());
    wasm
}

/// A program whose exec the projects report: a link to `true` named
/// after the test, so its path is this test's alone.
fn marker(dir: &Path, name: &str) -> PathBuf {
    let path = dir.join(format!("mark-{name}"));
    std::os::unix::fs::symlink("/bin/true", &path).expect("linking true");
    path
}

/// Runs `marker` (a child of this process, so `-p` with our pid lets it
/// through) once `running` has attached.
fn exec_marker(running: &Running, marker: &Path) {
    wait_attached(running, 1);
    let status = Command::new(marker).status().expect("running the marker");
    assert!(status.success());
}

/// Waits for `running` to end on its own (`-t`); every line it printed.
fn finished(mut running: Running) -> Vec<String> {
    wait_finished(&mut running);
    std::mem::take(&mut running.seen)
}

/// An app prints its header, then a `PID PPID COMM FILENAME` line for each
/// exec of a child of this process (`-p`): the marker's once, and those of
/// the commands (bpftool, wasm-bpf) other tests of this process run.
fn check_app(component: &Path, marker: &Path) {
    let me = std::process::id().to_string();
    let running = Running::start(&[], component, &["-p", &me, "-t", "3"]);
    exec_marker(&running, marker);
    let lines = finished(running);
    assert!(lines[0].starts_with("PID "), "no header: {lines:?}");
    let events: Vec<Vec<&str>> = lines[1..]
        .iter()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert!(
        events.iter().all(|e| e.len() == 4 && e[1] == me),
        "not all children of {me}: {lines:?}"
    );
    let path = marker.to_str().expect("utf-8 path");
    let marked: Vec<_> = events.iter().filter(|e| e[3] == path).collect();
    assert_eq!(marked.len(), 1, "the marker's exec once: {lines:?}");
    let comm = marker.file_name().and_then(|n| n.to_str()).expect("name");
    assert!(
        comm.starts_with(marked[0][2]),
        "comm {} of {comm}",
        marked[0][2]
    );
}

#[test]
fn a_new_rust_app_builds_and_reports_execs() {
    require_kernel();
    let dir = tempfile::tempdir().expect("tempdir");
    let project = new_project(dir.path(), "exec-log", &[]);
    for file in [
        "Cargo.toml",
        "build.rs",
        "bpf/exec_log.bpf.c",
        "src/main.rs",
        "README.md",
    ] {
        assert!(project.join(file).is_file(), "no {file}");
    }
    let readme = std::fs::read_to_string(project.join("README.md")).expect("README");
    assert!(readme.contains("cargo build --release"));
    let wasm = cargo_build(&project, "exec-log");
    check_app(&wasm, &marker(dir.path(), "rust-app"));
}

#[test]
fn a_new_c_app_builds_and_reports_execs() {
    require_kernel();
    let dir = tempfile::tempdir().expect("tempdir");
    let project = new_project(dir.path(), "execlog-c", &["--lang", "c"]);
    let readme = std::fs::read_to_string(project.join("README.md")).expect("README");
    assert!(readme.contains("    make\n"));
    let wasm = make(&project, "execlog_c");
    // An argp tool, as libbpf-tools are: glibc's help layout.
    let help = common::run_ok(wasm_bpf().arg("run").arg(&wasm).arg("--help"));
    assert!(help.starts_with("Usage: execlog_c [OPTION...]\n"), "{help}");
    for line in [
        "  -p, --ppid=PPID            Only the children of process PPID",
        "  -t, --time=SECONDS         Stop after this long (default: never)",
        "  -?, --help                 Give this help list",
    ] {
        assert!(help.lines().any(|l| l == line), "no {line:?} in:\n{help}");
    }
    check_app(&wasm, &marker(dir.path(), "c-app"));
}

/// A new probe's records reach a new consumer, in Rust with `--sink` and
/// in C composed into one component: one line per record as
/// `event pid=.. ppid=.. comm=".." filename=".."`, then the count.
#[test]
fn a_new_probe_feeds_new_consumers_in_rust_and_c() {
    require_kernel();
    let dir = tempfile::tempdir().expect("tempdir");
    let probe = new_project(dir.path(), "exec-probe", &["--kind", "probe"]);
    let rust = new_project(dir.path(), "exec-report", &["--kind", "consumer"]);
    let c = new_project(
        dir.path(),
        "report-c",
        &["--lang", "c", "--kind", "consumer"],
    );
    assert!(rust.join("wit/records.wit").is_file() && c.join("wit/records.wit").is_file());
    let probe = cargo_build(&probe, "exec-probe");
    let rust = cargo_build(&rust, "exec_report");
    let c = make(&c, "report_c");

    let composed = dir.path().join("composed.wasm");
    let out = wasm_bpf()
        .arg("compose")
        .args([&probe, &c])
        .arg("-o")
        .arg(&composed)
        .output()
        .expect("compose");
    assert!(out.status.success(), "compose: {}", text(&out));

    let me = std::process::id().to_string();
    let guest_args = ["-p", me.as_str(), "-t", "3"];
    let sink = ["--sink".as_ref(), rust.as_os_str()].map(|a| a.to_str().expect("utf-8"));
    for (name, host_args, component) in [
        ("rust-consumer", &sink[..], &probe),
        ("c-consumer", &[][..], &composed),
    ] {
        let marker = marker(dir.path(), name);
        let running = Running::start(host_args, component, &guest_args);
        exec_marker(&running, &marker);
        let lines = finished(running);
        let events: Vec<&String> = lines.iter().filter(|l| l.starts_with("event ")).collect();
        let ppid = format!(" ppid={me} ");
        assert!(
            events.iter().all(|l| l.contains(&ppid)),
            "{name}: not all children of {me}: {lines:?}"
        );
        // The kernel keeps 15 bytes of a command's name.
        let comm: String = format!("mark-{name}").chars().take(15).collect();
        let want = format!("comm=\"{comm}\" filename=\"{}\"", marker.display());
        let marked = events.iter().filter(|l| l.ends_with(&want)).count();
        assert_eq!(
            marked, 1,
            "{name}: the marker's record once ({want}): {lines:?}"
        );
        let count = format!("{} records", events.len());
        assert_eq!(lines.last(), Some(&count), "{name}: {lines:?}");
    }
}

#[test]
fn new_refuses_what_it_cannot_make() {
    let dir = tempfile::tempdir().expect("tempdir");
    let refused = |name: &str, args: &[&str], words: &[&str]| {
        let out = wasm_bpf()
            .arg("new")
            .arg(name)
            .args(args)
            .current_dir(dir.path())
            .output()
            .expect("running wasm-bpf new");
        let said = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "new {name} {args:?} succeeded");
        for word in words {
            assert!(
                said.contains(word),
                "new {name} {args:?}: `{word}` not in: {said}"
            );
        }
    };
    refused("my.tool", &[], &["`my.tool` cannot name a project"]);
    refused(
        "probe-c",
        &["--lang", "c", "--kind", "probe"],
        &["no C probe", "bootstrap-typed-c"],
    );
    refused(
        "x",
        &["--sdk", "/tmp"],
        &["not a wasm-bpf checkout", "--sdk"],
    );
    std::fs::create_dir(dir.path().join("taken")).expect("mkdir");
    std::fs::write(dir.path().join("taken/keep"), "mine").expect("write");
    refused("taken", &[], &["creating the project directory", "exists"]);
    assert_eq!(
        std::fs::read_to_string(dir.path().join("taken/keep")).expect("kept"),
        "mine"
    );
    for name in ["my.tool", "probe-c", "x"] {
        assert!(!dir.path().join(name).exists(), "{name} was left behind");
    }
}
