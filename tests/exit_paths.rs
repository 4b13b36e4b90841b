//! Every way a guest run can end leaves nothing in the kernel: each path
//! runs several times (`WASM_BPF_EXIT_RUNS`, default 3), and after each run
//! bpftool must find none of the programs, maps and links the host held.

mod common;

use std::time::Duration;

use common::{assert_freed, assert_no_map_named, bpf_ids, guest, require_kernel, Running};

/// One way to end a run (a guest that ignores the request to stop gets a
/// short grace period, to keep the matrix quick): the test guest's `end` mode, host options, a
/// signal to send once it is ready (and a second one once it says it
/// lingers after the first), and the exit code it must end with (`None`:
/// killed by a signal).
struct Path {
    tag: &'static str,
    mode: &'static str,
    host_args: &'static [&'static str],
    signal: Option<i32>,
    second: Option<i32>,
    code: Option<i32>,
    stderr_has: &'static str,
}

const PATHS: &[Path] = &[
    Path {
        tag: "ok",
        mode: "ok",
        host_args: &[],
        signal: None,
        second: None,
        code: Some(0),
        stderr_has: "",
    },
    Path {
        tag: "ex",
        mode: "exit",
        host_args: &[],
        signal: None,
        second: None,
        code: Some(3),
        stderr_has: "",
    },
    Path {
        tag: "pa",
        mode: "trap",
        host_args: &[],
        signal: None,
        second: None,
        code: Some(134),
        stderr_has: "trapping on purpose",
    },
    Path {
        tag: "ob",
        mode: "oob",
        host_args: &[],
        signal: None,
        second: None,
        code: Some(134),
        stderr_has: "out of bounds memory access",
    },
    Path {
        tag: "me",
        mode: "hog",
        host_args: &["--max-memory", "16MiB"],
        signal: None,
        second: None,
        code: Some(134),
        stderr_has: "over its limit",
    },
    Path {
        tag: "in",
        mode: "wait",
        host_args: &["--grace", "500ms"],
        signal: Some(libc::SIGINT),
        second: None,
        code: Some(130),
        stderr_has: "",
    },
    Path {
        tag: "te",
        mode: "wait",
        host_args: &["--grace", "500ms"],
        signal: Some(libc::SIGTERM),
        second: None,
        code: Some(143),
        stderr_has: "",
    },
    Path {
        tag: "to",
        mode: "wait",
        host_args: &["--timeout", "300ms", "--grace", "500ms"],
        signal: None,
        second: None,
        code: Some(124),
        stderr_has: "timeout",
    },
    Path {
        tag: "ki",
        mode: "wait",
        host_args: &[],
        signal: Some(libc::SIGKILL),
        second: None,
        code: None,
        stderr_has: "",
    },
    // Asked to stop, the guest finishes within the grace period.
    Path {
        tag: "gi",
        mode: "graceful",
        // Long enough that no machine is too slow to finish in it.
        host_args: &["--grace", "1h"],
        signal: Some(libc::SIGINT),
        second: None,
        // Its own status, as a native tool that handles SIGINT.
        code: Some(0),
        stderr_has: "stopped",
    },
    Path {
        tag: "gt",
        mode: "graceful",
        host_args: &["--timeout", "300ms", "--grace", "1h"],
        signal: None,
        second: None,
        code: Some(124),
        stderr_has: "stopped",
    },
    // It ignores the request: stopped where it is when the grace ends,
    Path {
        tag: "gl",
        mode: "linger",
        host_args: &["--grace", "300ms"],
        signal: Some(libc::SIGTERM),
        second: None,
        code: Some(143),
        stderr_has: "",
    },
    // or at a second signal, long before an hour's grace ends.
    Path {
        tag: "g2",
        mode: "linger",
        host_args: &["--grace", "1h"],
        signal: Some(libc::SIGINT),
        second: Some(libc::SIGINT),
        code: Some(130),
        stderr_has: "",
    },
];

fn runs() -> usize {
    std::env::var("WASM_BPF_EXIT_RUNS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(3)
}

fn end_run(path: &Path, run: usize) {
    let object = format!("x{}{run}", path.tag);
    let mut guest = Running::start(
        path.host_args,
        &guest("host-api"),
        &["end", path.mode, &object],
    );
    let ready = guest.wait_line(Duration::from_secs(20), |l| l == format!("ready {object}"));
    assert!(
        ready.is_some(),
        "{}: not ready; stderr {}",
        path.tag,
        guest.stderr()
    );
    let ids = bpf_ids(guest.pid());
    // Tracepoints attach through perf events, which hold the programs;
    // their links are not BPF links, so only programs and maps are listed.
    assert!(
        !ids.progs.is_empty() && !ids.maps.is_empty(),
        "{}: the guest holds nothing to leak: {ids:?}",
        path.tag
    );
    if let Some(signal) = path.signal {
        guest.signal(signal);
    }
    if let Some(signal) = path.second {
        let lingering = guest.wait_line(Duration::from_secs(20), |l| {
            l == format!("lingering {object}")
        });
        assert!(lingering.is_some(), "{}: {}", path.tag, guest.stderr());
        guest.signal(signal);
    }
    let status = guest
        .wait_exit(Duration::from_secs(20))
        .unwrap_or_else(|| panic!("{}: still running", path.tag));
    assert_eq!(status.code(), path.code, "{}: {status}", path.tag);
    let stderr = guest.stderr();
    assert!(stderr.contains(path.stderr_has), "{}: {stderr}", path.tag);
    assert_freed(&ids);
    assert_no_map_named(&format!("{object}.rodata"));
}

#[test]
fn no_exit_path_leaks_anything() {
    require_kernel();
    for run in 0..runs() {
        for path in PATHS {
            end_run(path, run);
        }
    }
}

/// The same for a module of the original wasm-bpf ABI, which holds its
/// objects through the same host: SIGINT answered (poll's -EINTR ends its
/// loop and it has a last word), a trap, an exit code, SIGINT while it
/// waits in a buffer poll, the timeout, and SIGKILL.
#[test]
fn no_exit_path_of_a_legacy_module_leaks_anything() {
    require_kernel();
    let end = |mode, host_args: &'static [&'static str], signal, code| Path {
        tag: "legacy",
        mode,
        host_args,
        signal,
        second: None,
        code,
        stderr_has: "",
    };
    let paths = [
        end("graceful", &["--grace", "1h"], Some(libc::SIGINT), Some(0)),
        end("trap", &[], None, Some(134)),
        end("exit", &[], None, Some(3)),
        end("wait", &["--grace", "500ms"], Some(libc::SIGINT), Some(130)),
        end(
            "wait",
            &["--timeout", "300ms", "--grace", "500ms"],
            None,
            Some(124),
        ),
        end("wait", &[], Some(libc::SIGKILL), None),
    ];
    for _ in 0..runs() {
        for path in &paths {
            let (mode, signal, code) = (path.mode, path.signal, path.code);
            let mut module = Running::start(path.host_args, &guest("legacy"), &["end", mode]);
            let ready = module.wait_line(Duration::from_secs(20), |l| l == "ready legacy");
            assert!(
                ready.is_some(),
                "{mode}: not ready; stderr {}",
                module.stderr()
            );
            let ids = bpf_ids(module.pid());
            assert!(
                !ids.progs.is_empty() && !ids.maps.is_empty(),
                "{mode}: {ids:?}"
            );
            if let Some(signal) = signal {
                module.signal(signal);
            }
            let status = module
                .wait_exit(Duration::from_secs(20))
                .unwrap_or_else(|| panic!("{mode}: still running"));
            assert_eq!(status.code(), code, "{mode}: {status}");
            if mode == "graceful" {
                let stderr = module.stderr();
                assert!(stderr.contains("stopped legacy"), "{stderr}");
            }
            assert_freed(&ids);
        }
    }
}
