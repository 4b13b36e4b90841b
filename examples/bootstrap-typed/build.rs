fn main() {
    // The kernel half is bootstrap's; this example only changes where its
    // events go.
    wasm_bpf_build::BpfBuild::new("../bootstrap/bpf/bootstrap.bpf.c")
        .types(["event"])
        // `Event` converts into the `event` record of wit/bootstrap.wit,
        // which wit-bindgen generates in main.rs.
        .wit_records("crate::wasm_bpf::bootstrap::records")
        .build()
        .expect("building bootstrap.bpf.c");
}
