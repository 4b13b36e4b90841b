//! Inputs the fuzzer (`fuzz/`, target `btf_layout`) once crashed the BTF
//! reader with: each must now give an error, not a panic.

use std::path::Path;

#[test]
fn fuzzed_objects_are_errors_not_panics() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz-regressions");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).expect("reading the regression inputs") {
        let path = entry.expect("a directory entry").path();
        let elf = std::fs::read(&path).expect("reading an input");
        let result = wasm_bpf_build::rust_types(&elf, &[]);
        assert!(result.is_err(), "{} now generates code", path.display());
        seen += 1;
    }
    assert!(seen > 0, "no inputs in {}", dir.display());
}
