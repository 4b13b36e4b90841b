fn main() {
    wasm_bpf_build::BpfBuild::new("bpf/execsnoop.bpf.c")
        .types(["event"])
        .build()
        .expect("building bpf/execsnoop.bpf.c");
}
