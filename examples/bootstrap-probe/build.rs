fn main() {
    wasm_bpf_build::BpfBuild::new("bpf/bootstrap.bpf.c")
        .types(["event"])
        .build()
        .expect("building bpf/bootstrap.bpf.c");
}
