fn main() {
    wasm_bpf_build::BpfBuild::new("bpf/tc.bpf.c")
        .build()
        .expect("building bpf/tc.bpf.c");
}
