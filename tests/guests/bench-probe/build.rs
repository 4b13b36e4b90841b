fn main() {
    wasm_bpf_build::BpfBuild::new("../bench/bpf/bench.bpf.c")
        .types(["head"])
        .wit_records("crate::wasm_bpf_bench::bench::records")
        .build()
        .expect("building bench.bpf.c");
}
