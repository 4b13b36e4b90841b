fn main() {
    wasm_bpf_build::BpfBuild::new("bpf/minimal.bpf.c")
        .build()
        .expect("building bpf/minimal.bpf.c");
}
