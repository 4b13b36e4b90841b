//! The WIT packages the host serves, read from `wit/` (the files the
//! bindings are generated from): `wasm-bpf:bpf`'s version and the WASI
//! packages under `wit/deps/`, for `app_kind` to judge a component's
//! imports by.

use std::collections::BTreeMap;
use std::path::Path;

/// The `package NAME@VERSION;` line of a WIT file.
fn package(text: &str) -> Option<(String, String)> {
    let line = text
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with("package "))?;
    let spec = line.strip_prefix("package ")?.trim_end_matches(';').trim();
    let (name, version) = spec.split_once('@')?;
    Some((name.to_string(), version.to_string()))
}

fn packages(dir: &Path, found: &mut BTreeMap<String, String>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .map(|e| e.expect("a directory entry").path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            packages(&path, found);
        } else if path.extension().is_some_and(|e| e == "wit") {
            let text = std::fs::read_to_string(&path).expect("a WIT file");
            if let Some((name, version)) = package(&text) {
                if let Some(other) = found.insert(name.clone(), version.clone()) {
                    assert_eq!(other, version, "{name} at two versions in wit/");
                }
            }
        }
    }
}

fn main() {
    let wit = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../wit");
    println!("cargo:rerun-if-changed={}", wit.display());
    let mut found = BTreeMap::new();
    packages(&wit, &mut found);
    let bpf = found
        .remove("wasm-bpf:bpf")
        .expect("wit/ declares wasm-bpf:bpf");
    let wasi: Vec<String> = found
        .iter()
        .filter(|(name, _)| name.starts_with("wasi:"))
        .map(|(name, version)| format!("({name:?}, {version:?})"))
        .collect();
    let code = format!(
        "/// The version of `wasm-bpf:bpf` in `wit/`.\n\
         pub const BPF_VERSION: &str = {bpf:?};\n\
         /// The WASI packages in `wit/deps/`, with their versions.\n\
         pub const WASI_PACKAGES: &[(&str, &str)] = &[{}];\n",
        wasi.join(", ")
    );
    let out = Path::new(&std::env::var("OUT_DIR").expect("OUT_DIR")).join("wit_packages.rs");
    std::fs::write(out, code).expect("writing wit_packages.rs");
}
