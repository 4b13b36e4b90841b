fn main() {
    wasm_bpf_build::BpfBuild::new("bpf/task_iter.bpf.c")
        .types(["task_info"])
        .build()
        .expect("building bpf/task_iter.bpf.c");
}
