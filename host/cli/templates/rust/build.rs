fn main() {
    // Compiles the kernel half and generates `Event` from its BTF.
    wasm_bpf_build::BpfBuild::new("bpf/{{ident}}.bpf.c")
        .types(["event"])
        .build()
        .expect("building bpf/{{ident}}.bpf.c");
}
