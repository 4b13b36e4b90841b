//! The sandbox against what the third attack review got through: each
//! attack runs against the real kernel, filesystem or registry, refused
//! without a grant, and (where a grant exists) shown to work with it, so
//! that the refusal is what stopped it.

mod common;

use std::net::{TcpListener, TcpStream};

use common::{err, ok};

/// The socket's `SO_MARK`.
fn mark(socket: &impl std::os::fd::AsRawFd) -> u32 {
    let mut value: u32 = 0;
    let mut len = size_of::<u32>() as libc::socklen_t;
    // SAFETY: `value` is an int of `len` bytes for the kernel to fill.
    let ret = unsafe {
        libc::getsockopt(
            socket.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_MARK,
            (&mut value as *mut u32).cast(),
            &mut len,
        )
    };
    assert_eq!(ret, 0, "getsockopt(SO_MARK)");
    value
}

/// An `iter/tcp` program calling `bpf_setsockopt` reaches every TCP socket
/// of the machine (here: only the test's, by port). Without
/// `--allow-helper` it does not load and the victim keeps its mark; with
/// it, the mark changes, so the refusal is what kept it.
#[test]
fn an_iterator_changes_no_socket_without_a_grant() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("listening on loopback");
    let port = listener
        .local_addr()
        .expect("an address")
        .port()
        .to_string();
    let _client = TcpStream::connect(listener.local_addr().unwrap()).expect("connecting");
    let (victim, _) = listener.accept().expect("accepting");
    assert_eq!(mark(&victim), 0);

    let (_, c) = common::scenario_with(&[], &["sandbox", "iter-setsockopt", &port]);
    err(
        &c,
        "load",
        "PermissionDenied",
        libc::EPERM,
        &[
            "program `mark_sockets` calling bpf_setsockopt",
            "--allow-helper bpf_setsockopt",
        ],
    );
    assert_eq!(
        mark(&victim),
        0,
        "the victim's mark changed without a grant"
    );

    let granted = ["--allow-helper", "bpf_setsockopt"];
    let (_, c) = common::scenario_with(&granted, &["sandbox", "iter-setsockopt", &port]);
    ok(&c, "load", "()");
    ok(&c, "read", "0");
    assert_eq!(
        mark(&victim),
        0x1337,
        "granted, the iterator did not mark the socket"
    );
    assert_ne!(c["marked"], "ok 0");
}

/// A program of a type that hooks what no grant names (here `sk_lookup`,
/// which would steer the machine's connections) loads, and is never
/// attached: not by name, and `attach-all` leaves it out.
#[test]
fn program_types_that_never_run_are_never_attached() {
    let (_, c) = common::scenario_with(&[], &["sandbox", "never-runs"]);
    err(
        &c,
        "attach",
        "Unsupported",
        libc::EOPNOTSUPP,
        &["`steer` is a SkLookup program", "attaches nowhere"],
    );
    ok(&c, "attach-all", "0");
}

/// One map value larger than what one call may return (a quarter of
/// `--max-memory`) is refused before the host reads it; with room, it is
/// read.
#[test]
fn a_value_larger_than_a_call_returns_is_not_read() {
    let (_, c) = common::scenario_with(&["--max-memory", "8MiB"], &["sandbox", "big-value"]);
    err(
        &c,
        "lookup",
        "LimitExceeded",
        libc::ENOMEM,
        &["3145728 bytes", "2097152 bytes"],
    );
    let (_, c) = common::scenario_with(&["--max-memory", "64MiB"], &["sandbox", "big-value"]);
    ok(&c, "lookup", "Some(3145728)");
}

/// A helper number the table does not know is refused, with no grant that
/// could allow it; libbpf's poisoned call (a failed CO-RE relocation) is
/// no helper and is left to the kernel, whose refusal names it.
#[test]
fn unknown_helpers_are_refused_and_poisoned_calls_left_to_the_kernel() {
    let (_, c) = common::scenario_with(&[], &["sandbox", "unknown-helpers"]);
    err(
        &c,
        "unknown_helper",
        "PermissionDenied",
        libc::EPERM,
        &["helper #999", "does not know"],
    );
    err(
        &c,
        "poisoned_call",
        "VerifierRejected",
        libc::EINVAL,
        &["invalid func unknown#195896080"],
    );
}

/// libbpf maps a global section into the host when the object opens, and
/// at load (and at close) takes its size from the map's definition then:
/// grown or retyped by the guest, the section would be mapped over, or
/// unmapped with, the host memory that follows (a guest that grew `.bss`
/// and dropped the object crashed the host at exit). The change itself is
/// refused, so the object loads as it was; resizing the value (which
/// libbpf handles) still works. The scenario ends cleanly, which
/// `scenario_with` checks.
#[test]
fn global_sections_keep_their_shape() {
    let (_, c) = common::scenario_with(&[], &["sandbox", "internal-maps"]);
    err(
        &c,
        "grow",
        "Unsupported",
        libc::EOPNOTSUPP,
        &["map `sbx_bss.bss`", "array of one value"],
    );
    ok(&c, "load-grown", "()");
    err(
        &c,
        "retype",
        "Unsupported",
        libc::EOPNOTSUPP,
        &["map `sbx_type.bss`"],
    );
    ok(&c, "load-retyped", "()");
    ok(&c, "resize-value", "()");
    ok(&c, "load-resized", "()");
    common::assert_no_map_named("sbx_bss.bss");
}

/// An arena map's `map_extra` is where libbpf would map it in the host,
/// with `MAP_FIXED`. Without `--allow arena` it is refused before libbpf
/// prepares anything; granted, its address is the host's choice. This
/// VM's kernel (lockdown) refuses arena maps itself, so the granted run
/// ends at the kernel's refusal, after the host's checks passed; an arena
/// shrunk after open is refused by the host, grant or not.
#[test]
fn arenas_are_placed_by_the_host_and_only_with_a_grant() {
    let (_, c) = common::scenario_with(&[], &["sandbox", "arena"]);
    err(
        &c,
        "load",
        "PermissionDenied",
        libc::EPERM,
        &["arena map `arena`", "--allow arena"],
    );
    let shrunk_refused = |c: &std::collections::BTreeMap<String, String>| {
        ok(c, "shrink", "()");
        err(
            c,
            "load-shrunk",
            "Unsupported",
            libc::EOPNOTSUPP,
            &["arena map"],
        );
    };
    shrunk_refused(&c);
    common::assert_no_map_named("arena");

    let (_, c) = common::scenario_with(&["--allow", "arena"], &["sandbox", "arena"]);
    let load = &c["load"];
    assert!(
        load == "ok ()" || !load.contains("--allow arena"),
        "granted, the arena was still refused by the policy: {load}"
    );
    shrunk_refused(&c);
}

/// Exchanges `a` and `b` (a directory and a symbolic link) as fast as it
/// can, until `stop` is set; how many exchanges it made.
fn exchange_until(
    a: &std::path::Path,
    b: &std::path::Path,
    stop: &std::sync::atomic::AtomicBool,
) -> u64 {
    let c = |p: &std::path::Path| {
        std::ffi::CString::new(p.as_os_str().as_encoded_bytes()).expect("a C path")
    };
    let (a, b) = (c(a), c(b));
    let mut swaps = 0;
    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
        // SAFETY: both are NUL-terminated paths.
        let ret = unsafe {
            libc::renameat2(
                libc::AT_FDCWD,
                a.as_ptr(),
                libc::AT_FDCWD,
                b.as_ptr(),
                libc::RENAME_EXCHANGE,
            )
        };
        assert_eq!(ret, 0, "renameat2: {}", std::io::Error::last_os_error());
        swaps += 1;
    }
    swaps
}

/// The outcomes a `race-*` case tallied (`{"PermissionDenied": 3, ...}`).
fn outcomes(cases: &std::collections::BTreeMap<String, String>) -> String {
    cases.get("outcomes").cloned().unwrap_or_default()
}

/// A guest path checked and then opened again by name could be swapped in
/// between: the directory `c` of the grant for the check, a link to the
/// root cgroup in its place for the open. Opened once, beneath the grant,
/// the root cgroup is never reached: not by `update-cgroup` (20000 tries),
/// not by a cgroup attach (20000 tries), while a thread keeps exchanging
/// the two.
#[test]
fn a_path_swapped_while_the_host_works_never_leads_outside_the_grant() {
    let granted = tempfile::tempdir().expect("tempdir");
    let (dir, link) = (granted.path().join("c"), granted.path().join("swap"));
    std::fs::create_dir(&dir).expect("a directory");
    std::os::unix::fs::symlink(common::cgroup2_root(), &link).expect("a link");
    let grant = format!("{}::/g", granted.path().display());
    for (case, rounds, reached, flags) in [
        ("race-cgroup", "20000", "stored", vec!["--dir", &grant]),
        (
            "race-attach",
            "20000",
            "attached",
            vec!["--dir", &grant, "--allow", "cgroup"],
        ),
    ] {
        let stop = std::sync::atomic::AtomicBool::new(false);
        let (swaps, c) = std::thread::scope(|scope| {
            let swapper = scope.spawn(|| exchange_until(&dir, &link, &stop));
            let ran = std::panic::catch_unwind(|| {
                common::scenario_with(&flags, &["sandbox", case, rounds]).1
            });
            stop.store(true, std::sync::atomic::Ordering::Relaxed);
            let swaps = swapper.join().expect("the swapping thread");
            (swaps, ran.unwrap_or_else(|e| std::panic::resume_unwind(e)))
        });
        let tally = outcomes(&c);
        assert!(swaps > 100, "{case}: only {swaps} swaps");
        assert!(
            !tally.contains(reached),
            "{case}: the root cgroup was reached: {tally}"
        );
        // Both sides of the race were seen: the link refused, the
        // directory opened (and found to be no cgroup).
        assert!(tally.contains("PermissionDenied"), "{case}: {tally}");
        assert!(tally.contains("InvalidArgument"), "{case}: {tally}");
    }
}

/// Makes a FIFO at `path`.
fn fifo(path: &std::path::Path) {
    let c = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).expect("a C path");
    // SAFETY: `c` is a NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0, "mkfifo");
}

/// A FIFO where the host reads a file (a kernel BTF file, a binary to
/// probe) is refused at once instead of holding the host.
#[test]
fn a_fifo_is_never_read_as_a_file() {
    let granted = tempfile::tempdir().expect("tempdir");
    fifo(&granted.path().join("fifo"));
    let dir = format!("{}::/d", granted.path().display());
    let (_, c) = common::scenario_with(
        &["--dir", &dir, "--timeout", "60s"],
        &["sandbox", "fifo", "/d/fifo"],
    );
    err(
        &c,
        "kernel-btf",
        "InvalidArgument",
        libc::EINVAL,
        &["/d/fifo", "a FIFO"],
    );
    err(
        &c,
        "uprobe",
        "InvalidArgument",
        libc::EINVAL,
        &["/d/fifo", "a FIFO"],
    );
}

/// A guest blocked reading a FIFO through WASI (no writer ever comes)
/// still ends at `--timeout` and its grace, with 124, and what it loaded
/// is gone from the kernel.
#[test]
fn a_guest_blocked_in_a_read_stops_at_the_timeout() {
    let granted = tempfile::tempdir().expect("tempdir");
    fifo(&granted.path().join("fifo"));
    let dir = format!("{}::/d", granted.path().display());
    let started = std::time::Instant::now();
    let mut running = common::Running::start(
        &["--dir", &dir, "--timeout", "1s", "--grace", "1s"],
        &common::guest("host-api"),
        &["sandbox", "fifo-wasi", "/d/fifo"],
    );
    assert!(
        running
            .wait_line(std::time::Duration::from_secs(60), |l| l == "holding")
            .is_some(),
        "the guest never loaded its object: {}",
        running.stderr()
    );
    let status = running
        .wait_exit(std::time::Duration::from_secs(30))
        .unwrap_or_else(|| panic!("the host did not stop: {}", running.stderr()));
    assert_eq!(status.code(), Some(124), "{}", running.stderr());
    assert!(started.elapsed() < std::time::Duration::from_secs(30));
    common::assert_no_map_named("sbx_wasi.bss");
}

/// `record-layout` of a struct whose 3000 members are each a 3000-member
/// struct (9 million fields, 2 GB of host memory when built whole) stops
/// at the result cap while it builds, and a 256 MiB global (no bytes in
/// the file) is not copied whole for `get-global` or `initial-value`:
/// the host's peak stays under 96 MiB with `--max-memory 64MiB` (a 16 MiB
/// cap; the host itself takes about 16 MiB), and the guest goes on.
#[test]
fn a_record_layout_bomb_stops_at_the_cap_while_it_builds() {
    common::require_kernel();
    let mut command = common::wasm_bpf();
    command
        .args(["run", "--max-memory", "64MiB"])
        .arg(common::guest("host-api"))
        .args(["sandbox", "layout-bomb"]);
    let run = common::run_measured(command);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let cases = common::cases(run.stdout.lines());
    err(
        &cases,
        "outer",
        "LimitExceeded",
        libc::ENOMEM,
        &["struct `outer`", "16777216 bytes"],
    );
    ok(&cases, "inner", "12000");
    for case in ["big-global", "big-initial-value"] {
        err(
            &cases,
            case,
            "LimitExceeded",
            libc::ENOMEM,
            &["16777216 bytes"],
        );
    }
    ok(&cases, "small-global", "8");
    assert!(
        run.peak_kib < 96 * 1024,
        "the host peaked at {} KiB",
        run.peak_kib
    );
}
