//! `$VMLINUX_H` replaces the `vmlinux.h` written from the running
//! kernel's BTF, so guests build on machines whose kernel has none.

use std::path::Path;

/// A stand-in for a kernel's `vmlinux.h`: the integer types libbpf's
/// headers use, and a struct no real kernel has.
const VMLINUX: &str = "
typedef unsigned char __u8;
typedef unsigned short __u16;
typedef unsigned int __u32;
typedef unsigned long long __u64;
typedef signed char __s8;
typedef short __s16;
typedef int __s32;
typedef long long __s64;
typedef __u16 __be16;
typedef __u32 __be32;
typedef __u32 __wsum;
typedef __u32 u32;
struct only_in_the_override { u32 marker; };
";

const SOURCE: &str = r#"
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
char LICENSE[] SEC("license") = "GPL";
struct only_in_the_override seen = {};
SEC("tracepoint/syscalls/sys_enter_getpid")
int on_getpid(void *ctx)
{
	return seen.marker;
}
"#;

#[test]
fn a_given_vmlinux_h_is_used_and_a_missing_one_named() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let header = dir.path().join("vmlinux.h");
    let source = dir.path().join("probe.bpf.c");
    std::fs::write(&header, VMLINUX).expect("writing the header");
    std::fs::write(&source, SOURCE).expect("writing the source");
    // The only test of this binary that sets the variable.
    std::env::set_var(wasm_bpf_build::VMLINUX_H, &header);
    let out = dir.path().join("out");
    let built = wasm_bpf_build::BpfBuild::new(&source)
        .types(["only_in_the_override"])
        .out_dir(&out)
        .build()
        .expect("building against the given vmlinux.h");
    let types = std::fs::read_to_string(&built.types).expect("the generated types");
    assert!(types.contains("pub struct OnlyInTheOverride"), "{types}");
    assert_eq!(
        std::fs::read_to_string(out.join("include/vmlinux.h")).expect("the copied header"),
        VMLINUX
    );

    let missing = Path::new("/nonexistent/vmlinux.h");
    std::env::set_var(wasm_bpf_build::VMLINUX_H, missing);
    let err = wasm_bpf_build::BpfBuild::new(&source)
        .out_dir(dir.path().join("again"))
        .build()
        .expect_err("a missing vmlinux.h");
    let message = format!("{err:#}");
    assert!(
        message.contains("$VMLINUX_H") && message.contains("/nonexistent/vmlinux.h"),
        "{message}"
    );
    std::env::remove_var(wasm_bpf_build::VMLINUX_H);
}
