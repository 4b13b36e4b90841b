fn main() {
    // The kernel half is opensnoop's; this probe hands its events to a sink.
    wasm_bpf_build::BpfBuild::new("../opensnoop/bpf/opensnoop.bpf.c")
        .types(["event"])
        .build()
        .expect("building opensnoop.bpf.c");
}
