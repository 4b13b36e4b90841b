//! The C SDK (guest-sdk-c) against the host: the guest in
//! tests/guests/c-api calls the libbpf-compatible API and prints each
//! outcome; the errno names are the guest's own constants, as C code
//! compares them.

mod common;

use common::guest_cases;

#[test]
fn libbpf_calls_keep_libbpfs_conventions() {
    let (_, cases) = guest_cases("c-api", &[], &["api"]);
    let expect = [
        // Objects: NULL with errno, libbpf's own error numbers.
        ("open-garbage", "NULL errno=LIBBPF_ERRNO__FORMAT"),
        // Outside every grant: WASI's ENOTCAPABLE, which reads as EACCES.
        ("open-file-missing", "NULL errno=EACCES"),
        // btf_custom_path is honoured: a guest path outside the grants.
        ("open-btf-ungranted", "NULL errno=EACCES"),
        ("open", "ptr"),
        ("attach-before-load", "-EINVAL errno=EINVAL"),
        ("load", "0"),
        ("load-again", "-EINVAL errno=EINVAL"),
        ("attach", "0"),
        // SEC("xdp") names no hook: the skeleton skips it, as libbpf's does.
        ("attach-skipped-xdp", "NULL errno=EOPNOTSUPP"),
        ("attach-xdp-auto", "NULL errno=EOPNOTSUPP"),
        // Unknown names.
        ("find-map-missing", "NULL errno=ENOENT"),
        ("find-map-fd-missing", "-ENOENT errno=ENOENT"),
        ("find-program-missing", "NULL errno=ENOENT"),
        ("find-map-fd", "1"),
        // Map elements through descriptors, kernel errnos translated.
        ("lookup-absent", "-ENOENT errno=ENOENT"),
        ("update", "0"),
        ("lookup", "10"),
        ("update-noexist", "-EEXIST errno=EEXIST"),
        ("update-exist-absent", "-ENOENT errno=ENOENT"),
        ("update-2", "0"),
        ("next-key-walk", "keys=2 errno=ENOENT"),
        ("sized-lookup-wrong-key", "-EINVAL errno=EINVAL"),
        ("sized-lookup-wrong-value", "-EINVAL errno=EINVAL"),
        ("sized-lookup", "10"),
        ("lookup-and-delete", "10"),
        ("delete-absent", "-ENOENT errno=ENOENT"),
        ("bad-fd", "-EBADF errno=EBADF"),
        ("set-max-entries-after-load", "-EINVAL errno=EINVAL"),
        // What a guest cannot have.
        ("attach-xdp-ifindex", "-EOPNOTSUPP errno=EOPNOTSUPP"),
        ("program-fd", "-EOPNOTSUPP errno=EOPNOTSUPP"),
        // Buffers: a failing callback stops the poll and loses nothing.
        ("ring-new", "ptr"),
        ("ring-new-on-hash", "NULL errno=EINVAL"),
        ("perf-new", "ptr"),
        ("perf-new-pages", "NULL errno=EINVAL"),
        ("ring-poll-stopped", "ret=-42 records=2"),
        ("ring-poll-rest", "ret=1 records=3 sum=3"),
        ("ring-consume-empty", "ret=0"),
        ("perf-records", "3"),
        // Two rings in one ring_buffer (ring2 kept the earlier records).
        ("ring-add", "0"),
        ("multi-ring", "ring=2 ring2=5"),
        // Skeleton globals: the initial .rodata, the kernel's .bss.
        ("rodata-initial", "0"),
        ("bss-seen", "3"),
        // ... and a .bss written after load reaches the kernel.
        ("write-data", "0"),
        ("read-data", "0"),
        ("bss-after-write", "101"),
        // A verifier rejection: -EACCES, and its log to the print callback.
        ("rejected-open", "ptr"),
        ("rejected-load", "-EACCES errno=EACCES"),
        ("rejected-log", "verifier log"),
        // Configured before load as libbpf-tools do: a stack map sized at
        // run time and read back with a kernel stack, an attach target set
        // at run time, the verifier's log of a successful load.
        ("cfg-open", "ptr"),
        ("cfg-set-value-size", "0"),
        ("cfg-value-size", "256"),
        ("cfg-set-type", "0"),
        ("cfg-set-map-flags", "0"),
        ("cfg-set-autocreate", "0"),
        ("cfg-set-initial-value", "0"),
        // The skeleton's copy of .data follows, so its load keeps it.
        ("cfg-hits-copy", "1000"),
        // No program fds in the SDK: wasm_bpf_program__set_attach_target.
        ("cfg-attach-target-fd", "-EOPNOTSUPP errno=EOPNOTSUPP"),
        ("cfg-attach-target", "0"),
        ("cfg-log-level", "0"),
        ("cfg-log-buf", "0"),
        ("cfg-set-flags", "0"),
        ("cfg-flags", "4"),
        ("cfg-autoload-turned", "0"),
        ("cfg-load", "0"),
        ("cfg-set-value-size-loaded", "-EINVAL errno=EINVAL"),
        ("cfg-log", "verifier log"),
        ("cfg-attach", "0"),
        ("cfg-read-data", "0"),
        ("cfg-hits", "1"),
        ("cfg-stack", "1"),
        ("cgroup-wrong-map", "-EOPNOTSUPP errno=EOPNOTSUPP"),
        // Feature probes, answered by the host from the kernel.
        ("probe-ringbuf", "1"),
        ("probe-map-unknown", "-EOPNOTSUPP errno=EOPNOTSUPP"),
        ("probe-prog-tracepoint", "1"),
        ("probe-helper-ringbuf", "1"),
        ("probe-helper-refused", "0"),
        // The kernel's BTF, parsed in the guest.
        ("btf-vmlinux", "ptr"),
        ("btf-task", "struct task_struct"),
        ("btf-task-exit-code", "1"),
        ("btf-typedef", "1"),
        ("btf-missing", "-ENOENT errno=ENOENT"),
        ("btf-wrong-kind", "-ENOENT errno=ENOENT"),
        ("btf-bad-id", "NULL errno=EINVAL"),
        ("btf-module-missing", "NULL errno=ENOENT"),
        // A path is no module name: the host reads nothing for it.
        ("btf-module-path", "NULL errno=EINVAL"),
    ];
    for (name, outcome) in expect {
        assert_eq!(
            cases.get(name).map(String::as_str),
            Some(outcome),
            "case {name}; all: {cases:#?}"
        );
    }
    assert_eq!(cases.len(), expect.len(), "unchecked cases: {cases:#?}");
}
