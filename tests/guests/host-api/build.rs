fn main() {
    wasm_bpf_build::BpfBuild::new("bpf/api.bpf.c")
        .build()
        .expect("building bpf/api.bpf.c");
    wasm_bpf_build::BpfBuild::new("bpf/rejected.bpf.c")
        .build()
        .expect("building bpf/rejected.bpf.c");
}
