fn main() {
    // The kernel half is bootstrap's; this probe hands its events to a sink.
    wasm_bpf_build::BpfBuild::new("../bootstrap/bpf/bootstrap.bpf.c")
        .types(["event"])
        .build()
        .expect("building bootstrap.bpf.c");
}
