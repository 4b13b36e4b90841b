fn main() {
    wasm_bpf_build::BpfBuild::new("bpf/opensnoop.bpf.c")
        .types(["event"])
        .build()
        .expect("building bpf/opensnoop.bpf.c");
}
