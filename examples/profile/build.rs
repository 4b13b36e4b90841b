fn main() {
    wasm_bpf_build::BpfBuild::new("bpf/profile.bpf.c")
        .types(["stacktrace_event"])
        .build()
        .expect("building bpf/profile.bpf.c");
}
