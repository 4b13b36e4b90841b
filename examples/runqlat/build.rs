fn main() {
    wasm_bpf_build::BpfBuild::new("bpf/runqlat.bpf.c")
        .types(["hist"])
        .build()
        .expect("building bpf/runqlat.bpf.c");
}
