fn main() {
    wasm_bpf_build::BpfBuild::new("bpf/bench.bpf.c")
        .build()
        .expect("building bpf/bench.bpf.c");
}
