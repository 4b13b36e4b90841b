fn main() {
    wasm_bpf_build::BpfBuild::new("bpf/sockfilter.bpf.c")
        .build()
        .expect("building bpf/sockfilter.bpf.c");
}
