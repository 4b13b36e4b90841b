//! `wasm-bpf import` of an archive (a tar of an OCI image layout) that a
//! hostile party made, into a store of its own.
//!
//! What must hold: no panic, whatever the bytes; an import that fails
//! writes no name into the store; one that succeeds leaves every name it
//! reports readable and checked: an app's manifest parses and its
//! component matches its digest, a signature's manifest is one.

#![no_main]

use libfuzzer_sys::fuzz_target;
use wasm_bpf_oci::store::Store;
use wasm_bpf_oci::{self as registry, archive, signature};

fuzz_target!(|data: &[u8]| {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(&dir.path().join("store")).expect("a store");
    match archive::import(&store, data) {
        Ok(names) => {
            for name in names {
                let reference = registry::reference(&name).expect("an imported name is a reference");
                if reference.tag().is_some_and(signature::is_tag) {
                    let signatures = store.signatures(&name).expect("stored signatures read");
                    assert!(signatures.is_some(), "{name} is not in the store");
                } else {
                    let (manifest, _) = store
                        .app(&name)
                        .expect("a stored app reads")
                        .unwrap_or_else(|| panic!("{name} is not in the store"));
                    store
                        .blob(&manifest.layer.digest)
                        .expect("the component matches its digest");
                }
            }
        }
        Err(_) => assert!(
            store.entries().expect("entries").is_empty(),
            "a failed import left names in the store"
        ),
    }
});
