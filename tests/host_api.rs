//! The BPF host calls through a test guest (`tests/guests/host-api`): map
//! operations on a real hash map, globals, buffers, and every bad input
//! answered with a typed error while host and guest keep working.

mod common;

use common::{err, ok, scenario};

#[test]
fn hash_map_round_trip() {
    let c = scenario("maps");
    ok(&c, "info", "MapInfo { name: \"counts\", map-type: MapType::Hash, key-size: 4, value-size: 8, max-entries: 16, map-flags: 0 }");
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
    let c = scenario("errors");
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
    ok(&c, "after-load", "777");
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
}
