fn main() {
    wasm_bpf_build::BpfBuild::new("bpf/tc.bpf.c")
        .types(["counter"])
        .build()
        .expect("building bpf/tc.bpf.c");
}
