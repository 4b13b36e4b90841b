//! A C tool written the way libbpf-tools' are (examples/exitsnoop-c: argp,
//! a shared compat.c choosing a ring or perf buffer with the map setters
//! before load, a SIGINT handler and `while (!exiting)`), on the kernel.

mod common;

use std::fs::File;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{assert_freed, bpf_ids, guest, require_kernel, wasm_bpf};

const WAIT: Duration = Duration::from_secs(20);

/// A copy of `program` named `name`, so that its exit shows that comm.
fn named_copy(dir: &Path, program: &str, name: &str) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::copy(program, &path).expect("copying a program");
    path
}

/// Runs `command` to its end. A copy just written may fail to start with
/// ETXTBSY while a process another test forks meanwhile still holds the
/// writing fd (until its exec): then it is tried again.
fn status(command: &mut Command) -> std::process::ExitStatus {
    let deadline = Instant::now() + WAIT;
    loop {
        match command.status() {
            Err(e) if e.raw_os_error() == Some(libc::ETXTBSY) && Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(10));
            }
            result => return result.unwrap_or_else(|e| panic!("running {command:?}: {e}")),
        }
    }
}

/// Waits until the file at `path` has a line for which `want` holds.
fn wait_for_line(path: &Path, what: &str, want: impl Fn(&str) -> bool) {
    let deadline = Instant::now() + WAIT;
    loop {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        if text.lines().any(&want) {
            return;
        }
        assert!(Instant::now() < deadline, "no line with {what} in:\n{text}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Runs exitsnoop-c (host flags `host`, its own `args`), stdout redirected to a file (wasi-libc
/// then buffers fully unless told otherwise); makes one process exit 0 and
/// one exit 3; stops it with SIGINT. Returns what the file holds.
fn exitsnoop_to_a_file(host: &[&str], args: &[&str], wait_for_ok: bool) -> String {
    require_kernel();
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("out.txt");
    let mut child = wasm_bpf()
        .arg("run")
        .args(host)
        .arg(guest("exitsnoop-c"))
        .args(args)
        .stdin(Stdio::null())
        .stdout(File::create(&out).expect("creating the output file"))
        .stderr(File::create(dir.path().join("err.txt")).expect("stderr file"))
        .spawn()
        .expect("starting wasm-bpf");
    wait_for_line(&out, "the header", |l| l.contains("PCOMM"));
    let ids = bpf_ids(child.id());

    let ok = status(&mut Command::new(named_copy(
        dir.path(),
        "/bin/true",
        "exsnp_ok",
    )));
    assert!(ok.success());
    let failing = status(
        Command::new(named_copy(dir.path(), "/bin/sh", "exsnp_fail")).args(["-c", "exit 3"]),
    );
    assert_eq!(failing.code(), Some(3));
    wait_for_line(&out, "exsnp_fail", |l| l.starts_with("exsnp_fail"));
    if wait_for_ok {
        wait_for_line(&out, "exsnp_ok", |l| l.starts_with("exsnp_ok"));
    }

    // SAFETY: kill has no memory preconditions; the pid is our child's.
    assert_eq!(unsafe { libc::kill(child.id() as i32, libc::SIGINT) }, 0);
    let deadline = Instant::now() + WAIT;
    let status = loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            break status;
        }
        assert!(Instant::now() < deadline, "it did not stop at SIGINT");
        std::thread::sleep(Duration::from_millis(10));
    };
    let stderr = std::fs::read_to_string(dir.path().join("err.txt")).unwrap_or_default();
    // The tool's own loop ended it (an hour of grace would otherwise pass
    // first) and it returned 0, as natively after Ctrl-C.
    assert_eq!(status.code(), Some(0), "stderr: {stderr}");
    assert_freed(&ids);
    std::fs::read_to_string(&out).expect("reading the output")
}

fn line_of<'a>(text: &'a str, comm: &str) -> Option<&'a str> {
    text.lines()
        .find(|l| l.split_whitespace().next() == Some(comm))
}

#[test]
fn exitsnoop_prints_exits_to_a_file_and_stops_at_ctrl_c() {
    for tool in [&[][..], &["--perf"][..]] {
        let text = exitsnoop_to_a_file(&["--grace", "1h"], tool, true);
        let fail = line_of(&text, "exsnp_fail").unwrap_or_else(|| panic!("{tool:?}:\n{text}"));
        assert!(fail.ends_with("code 3"), "{tool:?}: {fail}");
        let ok = line_of(&text, "exsnp_ok").unwrap_or_else(|| panic!("{tool:?}:\n{text}"));
        assert!(ok.ends_with("code 0"), "{tool:?}: {ok}");
        assert!(text.starts_with("PCOMM "), "{tool:?}:\n{text}");
    }
}

#[test]
fn exitsnoop_failed_only_leaves_out_clean_exits() {
    let text = exitsnoop_to_a_file(&["--grace", "1h"], &["-x"], false);
    assert!(line_of(&text, "exsnp_fail").is_some(), "{text}");
    assert!(line_of(&text, "exsnp_ok").is_none(), "{text}");
    assert!(
        text.lines().skip(1).all(|l| !l.ends_with("code 0")),
        "-x printed a clean exit:\n{text}"
    );
}

/// Runs exitsnoop-c with `args` to its end: (exit code, stdout, stderr).
fn exitsnoop_args(args: &[&str]) -> (Option<i32>, String, String) {
    let output = wasm_bpf()
        .arg("run")
        .arg(guest("exitsnoop-c"))
        .args(args)
        .output()
        .expect("running wasm-bpf");
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// The SDK's argp: glibc's help layout, usage errors and built-in options.
#[test]
fn exitsnoop_parses_its_options_with_argp() {
    let (code, stdout, _) = exitsnoop_args(&["--help"]);
    assert_eq!(code, Some(0), "{stdout}");
    assert!(
        stdout.starts_with("Usage: exitsnoop-c [OPTION...]\nTrace process termination.\n"),
        "{stdout}"
    );
    for line in [
        "  -p, --pid=PID              Process ID to trace",
        "      --perf                 Use a perf buffer, not a ring buffer",
        "  -x, --failed               Trace error exits only",
        "  -?, --help                 Give this help list",
        "  -V, --version              Print program version",
    ] {
        assert!(
            stdout.lines().any(|l| l == line),
            "no {line:?} in:\n{stdout}"
        );
    }
    assert!(
        !stdout.contains("Show the full help"),
        "a hidden option shows:\n{stdout}"
    );

    // The tool's own -h prints the same to stderr.
    let (code, _, stderr) = exitsnoop_args(&["-h"]);
    assert_eq!(code, Some(0));
    assert!(stderr.contains("  -T, --threaded"), "{stderr}");

    let (code, stdout, _) = exitsnoop_args(&["--vers"]);
    assert_eq!(
        (code, stdout.as_str()),
        (Some(0), "exitsnoop 0.1\n"),
        "a prefix of --version"
    );

    let (code, stdout, _) = exitsnoop_args(&["--usage"]);
    assert_eq!(code, Some(0));
    // glibc's layout: flags together, then options with arguments, then
    // every long option.
    assert!(
        stdout.starts_with("Usage: exitsnoop-c [-tTvx?V] [-c /sys/fs/cgroup/unified] [-p PID]\n"),
        "{stdout}"
    );

    let see = "Try `exitsnoop-c --help' or `exitsnoop-c --usage' for more information.";
    for (args, message) in [
        (
            &["--bogus"][..],
            "exitsnoop-c: unrecognized option '--bogus'",
        ),
        (&["-tz"][..], "exitsnoop-c: invalid option -- 'z'"),
        (
            &["-p"][..],
            "exitsnoop-c: option requires an argument -- 'p'",
        ),
        (
            &["--perf=1"][..],
            "exitsnoop-c: option '--perf' doesn't allow an argument",
        ),
        (
            &["--p", "1"][..],
            "exitsnoop-c: option '--p' is ambiguous; possibilities: '--pid' '--perf' \
             '--program-name'",
        ),
        (&["-p", "abc"][..], "Invalid PID: abc"),
        (&["extra"][..], "exitsnoop-c: Too many arguments"),
    ] {
        let (code, stdout, stderr) = exitsnoop_args(args);
        // argp exits 64 (EX_USAGE); a WASI 0.2 exit carries only failure.
        assert_eq!(code, Some(1), "{args:?}: {stderr}");
        assert!(stdout.is_empty(), "{args:?}: {stdout}");
        assert!(stderr.lines().any(|l| l == message), "{args:?}: {stderr}");
        assert!(stderr.lines().any(|l| l == see), "{args:?}: {stderr}");
    }
}

/// libbpf_set_print's callback receives libbpf's debug messages, which the
/// tool prints with -v only, as natively; -v also says what compat.c chose.
#[test]
fn exitsnoop_verbose_prints_libbpfs_debug_messages() {
    require_kernel();
    let quiet = wasm_bpf()
        .args(["run", "--timeout", "300ms"])
        .arg(guest("exitsnoop-c"))
        .output()
        .expect("running wasm-bpf");
    let quiet = String::from_utf8_lossy(&quiet.stderr);
    assert!(!quiet.contains("libbpf: "), "{quiet}");

    let verbose = wasm_bpf()
        .args(["run", "--timeout", "300ms"])
        .arg(guest("exitsnoop-c"))
        .arg("-v")
        .output()
        .expect("running wasm-bpf");
    let verbose = String::from_utf8_lossy(&verbose.stderr);
    for debug in [
        // Chosen by a query of the kernel's BTF (bpf/btf.h) and a feature
        // probe, in compat.c.
        "exitsnoop: tp_btf/sched_process_exit, ring buffer\n",
        "libbpf: loading object 'exitsnoop_bpf' from buffer\n",
        "libbpf: map 'events': found type = 27.\n",
    ] {
        assert!(verbose.contains(debug), "no {debug:?} in:\n{verbose}");
    }
}

/// -c: the tool stores a granted cgroup in its cgroup-array map by path
/// (the host opens it), and only processes in that cgroup are traced.
#[test]
fn exitsnoop_traces_only_the_granted_cgroup() {
    require_kernel();
    let cgroup = common::cgroup2_root().join(format!("wbpf-exitsnoop-{}", std::process::id()));
    let _ = std::fs::remove_dir(&cgroup);
    std::fs::create_dir(&cgroup).expect("creating a cgroup");
    let dir = tempfile::tempdir().expect("temp dir");
    let grant = format!("{}::/cg", cgroup.display());
    let mut running =
        common::Running::start(&["--dir", &grant], &guest("exitsnoop-c"), &["-c", "/cg"]);
    assert!(
        running
            .wait_line(WAIT, |l| l.starts_with("PCOMM"))
            .is_some(),
        "{}",
        running.stderr()
    );
    let outside =
        status(Command::new(named_copy(dir.path(), "/bin/sh", "exsnp_out")).args(["-c", "exit 6"]));
    assert_eq!(outside.code(), Some(6));
    let procs = cgroup.join("cgroup.procs");
    let inside = status(
        Command::new(named_copy(dir.path(), "/bin/sh", "exsnp_in"))
            .arg("-c")
            .arg(format!("echo $$ > {}; exit 5", procs.display())),
    );
    assert_eq!(inside.code(), Some(5));
    let line = running.wait_line(WAIT, |l| l.starts_with("exsnp_in"));
    running.signal(libc::SIGINT);
    common::wait_ended(&mut running, Some(0));
    let _ = std::fs::remove_dir(&cgroup);
    let line = line.unwrap_or_else(|| panic!("no exsnp_in line: {:#?}", running.seen));
    assert!(line.ends_with("code 5"), "{line}");
    assert!(
        running.seen.iter().all(|l| !l.starts_with("exsnp_out")),
        "a process outside the cgroup: {:#?}",
        running.seen
    );

    // What a guest may not store: a path outside its grants, a directory
    // that is no cgroup.
    let (code, _, stderr) = exitsnoop_args(&["-c", "/etc"]);
    assert_eq!(code, Some(1));
    assert!(
        stderr.contains("libbpf: cgroup `/etc` is not inside a directory the guest was granted"),
        "{stderr}"
    );
    let output = wasm_bpf()
        .arg("run")
        .arg("--dir")
        .arg(format!("{}::/notcg", dir.path().display()))
        .arg(guest("exitsnoop-c"))
        .args(["-c", "/notcg"])
        .output()
        .expect("running wasm-bpf");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr.contains("`/notcg` is not a cgroup v2 directory"),
        "{stderr}"
    );
}

/// A tool outside the repository: its helper file comes in through
/// EXTRA_SRC, and a header only the build machine's glibc side has
/// (libelf-dev's nlist.h; the SDK provides its own libelf.h and zlib.h)
/// is not found, rather than found and then failing in confusing ways;
/// the same tool without it builds and runs.
#[test]
fn guest_mk_builds_extra_sources_with_wasi_headers_only() {
    require_kernel();
    let dir = tempfile::tempdir().expect("temp dir");
    let tool = dir.path();
    let mk = common::root().join("guest-sdk-c/guest.mk");
    std::fs::write(
        tool.join("Makefile"),
        format!(
            "APP := tiny\nEXTRA_SRC := helper.c\ninclude {}\n",
            mk.display()
        ),
    )
    .unwrap();
    std::fs::write(
        tool.join("tiny.bpf.c"),
        "#include \"vmlinux.h\"\n#include <bpf/bpf_helpers.h>\n\
         char LICENSE[] SEC(\"license\") = \"GPL\";\n\
         SEC(\"tracepoint/syscalls/sys_enter_getpid\")\nint on_getpid(void *ctx) { return 0; }\n",
    )
    .unwrap();
    std::fs::write(tool.join("helper.h"), "int answer(void);\n").unwrap();
    std::fs::write(
        tool.join("tiny.c"),
        "#include <stdio.h>\n#include <bpf/libbpf.h>\n#include \"helper.h\"\n\
         #include \"tiny.skel.h\"\n\
         int main(void)\n{\n\tstruct tiny_bpf *obj = tiny_bpf__open_and_load();\n\n\
         \tprintf(\"loaded=%d answer=%d\\n\", obj != NULL, answer());\n\
         \ttiny_bpf__destroy(obj);\n\treturn 0;\n}\n",
    )
    .unwrap();
    let make = || {
        Command::new("make")
            .arg("-C")
            .arg(tool)
            .arg(format!("OUT={}", tool.join("out").display()))
            .arg("NAME=tiny")
            .arg(format!("GUESTDIR={}", tool.display()))
            .arg(format!(
                "WASM_BPF={}",
                common::built("release/wasm-bpf").display()
            ))
            .output()
            .expect("running make")
    };

    std::fs::write(
        tool.join("helper.c"),
        "#include <nlist.h>\n#include \"helper.h\"\nint answer(void) { return 42; }\n",
    )
    .unwrap();
    let failed = make();
    let stderr = String::from_utf8_lossy(&failed.stderr);
    assert!(!failed.status.success(), "built with the machine's nlist.h");
    assert!(stderr.contains("'nlist.h' file not found"), "{stderr}");

    std::fs::write(
        tool.join("helper.c"),
        "#include \"helper.h\"\nint answer(void) { return 42; }\n",
    )
    .unwrap();
    let built = make();
    assert!(
        built.status.success(),
        "{}",
        String::from_utf8_lossy(&built.stderr)
    );
    let output = wasm_bpf()
        .arg("run")
        .arg(tool.join("tiny.wasm"))
        .output()
        .expect("running the tool");
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "loaded=1 answer=42\n",
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}
