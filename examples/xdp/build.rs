fn main() {
    wasm_bpf_build::BpfBuild::new("bpf/xdp.bpf.c")
        .build()
        .expect("building bpf/xdp.bpf.c");
}
