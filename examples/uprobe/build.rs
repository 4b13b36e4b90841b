fn main() {
    wasm_bpf_build::BpfBuild::new("bpf/uprobe.bpf.c")
        .types(["event"])
        .build()
        .expect("building bpf/uprobe.bpf.c");
}
