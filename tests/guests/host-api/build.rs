fn main() {
    wasm_bpf_build::BpfBuild::new("bpf/policy.bpf.c")
        .build()
        .expect("building bpf/policy.bpf.c");
    wasm_bpf_build::BpfBuild::new("bpf/kinds.bpf.c")
        .types(["lpm_v4"])
        .build()
        .expect("building bpf/kinds.bpf.c");
    wasm_bpf_build::BpfBuild::new("bpf/refused.bpf.c")
        .build()
        .expect("building bpf/refused.bpf.c");
    wasm_bpf_build::BpfBuild::new("bpf/api.bpf.c")
        // Into the records of wit/api.wit (`wasm-bpf gen wit api.bpf.o`).
        .wit_records("crate::wit::wasm_bpf_test::api::records")
        .build()
        .expect("building bpf/api.bpf.c");
    wasm_bpf_build::BpfBuild::new("bpf/pinned.bpf.c")
        .build()
        .expect("building bpf/pinned.bpf.c");
    wasm_bpf_build::BpfBuild::new("bpf/storm.bpf.c")
        .build()
        .expect("building bpf/storm.bpf.c");
    wasm_bpf_build::BpfBuild::new("bpf/attacks.bpf.c")
        .build()
        .expect("building bpf/attacks.bpf.c");
    wasm_bpf_build::BpfBuild::new("bpf/results.bpf.c")
        .build()
        .expect("building bpf/results.bpf.c");
    wasm_bpf_build::BpfBuild::new("bpf/described.bpf.c")
        .types(["every_kind"])
        .build()
        .expect("building bpf/described.bpf.c");
    wasm_bpf_build::BpfBuild::new("bpf/configure.bpf.c")
        .build()
        .expect("building bpf/configure.bpf.c");
    wasm_bpf_build::BpfBuild::new("bpf/freplace.bpf.c")
        .build()
        .expect("building bpf/freplace.bpf.c");
    wasm_bpf_build::BpfBuild::new("bpf/sections.bpf.c")
        .build()
        .expect("building bpf/sections.bpf.c");
    wasm_bpf_build::BpfBuild::new("bpf/core.bpf.c")
        .build()
        .expect("building bpf/core.bpf.c");
    wasm_bpf_build::BpfBuild::new("bpf/rejected.bpf.c")
        .build()
        .expect("building bpf/rejected.bpf.c");
    wasm_bpf_build::BpfBuild::new("bpf/sandbox.bpf.c")
        .build()
        .expect("building bpf/sandbox.bpf.c");
    wasm_bpf_build::BpfBuild::new("bpf/arena.bpf.c")
        .build()
        .expect("building bpf/arena.bpf.c");
    wasm_bpf_build::BpfBuild::new("bpf/bomb.bpf.c")
        .build()
        .expect("building bpf/bomb.bpf.c");
    wasm_bpf_build::BpfBuild::new("bpf/unknown.bpf.c")
        .build()
        .expect("building bpf/unknown.bpf.c");
}
