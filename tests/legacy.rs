//! Modules built for the original wasm-bpf ABI run unmodified: the core
//! module in tests/guests/legacy (clang-19 + wasi-libc, no adapter) loads
//! an object, works a hash map, attaches, polls a ring buffer through its
//! function table and a perf buffer through the TinyGo `go-callback`
//! export, and hands the host bad pointers. Results are the original
//! runtime's: 0 or a negative Linux errno.

mod common;

use common::guest_cases;

#[test]
fn a_legacy_module_loads_attaches_polls_reads_maps_and_meets_the_policy() {
    let (_, cases) = guest_cases("legacy", &["--allow-net", "lo"], &["legacy"]);
    let (enoent, ebadf, efault, einval, eexist, eopnotsupp) = (
        -libc::ENOENT,
        -libc::EBADF,
        -libc::EFAULT,
        -libc::EINVAL,
        -libc::EEXIST,
        -libc::EOPNOTSUPP,
    );
    let expect = [
        // Objects: a 0 handle for what does not load.
        ("load-garbage", "0".to_string()),
        ("load-outside-memory", "0".into()),
        ("load", "handle".into()),
        // Maps by fd, with the kernel's errnos.
        ("map-fd", "fd".into()),
        ("map-fd-again", "same".into()),
        ("map-fd-missing", enoent.to_string()),
        ("map-fd-bad-object", einval.to_string()),
        ("update", "0".into()),
        ("lookup", "0 10".into()),
        ("update-noexist", eexist.to_string()),
        ("next-key-first", "0 1".into()),
        ("next-key-last", enoent.to_string()),
        ("delete", "0".into()),
        ("lookup-deleted", enoent.to_string()),
        ("bad-fd", ebadf.to_string()),
        ("bad-cmd", einval.to_string()),
        // Pointers outside the module's memory.
        ("bad-key-pointer", efault.to_string()),
        ("bad-value-pointer", efault.to_string()),
        ("attach-bad-name", efault.to_string()),
        ("poll-bad-buffer", efault.to_string()),
        // Attaching.
        ("attach-missing", enoent.to_string()),
        ("attach-target-tracepoint", eopnotsupp.to_string()),
        ("attach", "0".into()),
        ("attach-xdp-lo", "0".into()),
        // Buffers: a failing callback stops the poll; records cut to a
        // small buffer arrive anyway, the rest of the batch included.
        ("poll-timeout", "0".into()),
        ("poll-hash-map", einval.to_string()),
        ("go-poll-empty", "0".into()),
        ("poll-stopped", "-7 records=2".into()),
        ("poll-rest-truncated", "2 records=4 sizes=24 seqs=1".into()),
        // Perf samples carry their 4-byte size header's padding, as libbpf
        // reports them: 12 bytes for an 8-byte record.
        ("go-poll-perf", "records=4 sizes=48".into()),
        // Closing frees everything found through the object.
        ("close", "0".into()),
        ("close-again", einval.to_string()),
        ("map-after-close", ebadf.to_string()),
    ];
    for (name, outcome) in &expect {
        assert_eq!(
            cases.get(*name),
            Some(outcome),
            "case {name}; all: {cases:#?}"
        );
    }
    assert_eq!(cases.len(), expect.len(), "unchecked cases: {cases:#?}");
    a_legacy_module_gets_the_same_policy();
}

/// The policy holds whichever ABI asks: XDP on `lo` without
/// `--allow-net lo` is refused with EPERM. (Called by the test above: two
/// runs at once would see each other's marker writes, which the module
/// cannot tell apart.)
fn a_legacy_module_gets_the_same_policy() {
    let (_, cases) = guest_cases("legacy", &[], &["legacy"]);
    assert_eq!(
        cases.get("attach-xdp-lo"),
        Some(&(-libc::EPERM).to_string()),
        "{cases:#?}"
    );
    assert_eq!(cases.get("attach").map(String::as_str), Some("0"));
}

/// A module whose main returns -1 exits with status 255, as natively; it
/// did not trap.
#[test]
fn a_legacy_modules_negative_return_is_an_exit_status() {
    common::require_kernel();
    let (code, stderr) = common::run_to_end(&[], &common::guest("legacy"), &["fail"]);
    assert_eq!(code, Some(255), "stderr: {stderr}");
    assert!(!stderr.contains("trap"), "reported as a trap: {stderr}");
}
