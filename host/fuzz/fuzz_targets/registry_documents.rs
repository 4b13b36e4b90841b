//! What a registry or an archive hands the host as documents: app and
//! signature manifests, configs, signed payloads and their identities.
//!
//! The first byte picks the reader; the rest is the document. What must
//! hold: no panic, whatever the bytes; a manifest that parses is a Wasm
//! artifact of sizes and digests the host accepts (one layer, a config
//! of at most 4 MiB, a component of at most 512 MiB, `sha256:` digests);
//! signature layers are payloads only; an identity is a prefix of the
//! reference it was read from; a gadget index gives a platform manifest
//! only for the architecture asked, and a gadget manifest that parses has
//! an eBPF layer, at most 8 layers of at most 512 MiB together, and
//! digests the host accepts.

#![no_main]

use libfuzzer_sys::fuzz_target;
use oci_client::manifest::OciDescriptor;
use wasm_bpf_oci::artifact::{
    self, Manifest, WasmConfig, MAX_COMPONENT, MAX_METADATA,
};
use wasm_bpf_oci::{gadget, signature};

fuzz_target!(|data: &[u8]| {
    let Some((&pick, document)) = data.split_first() else {
        return;
    };
    match pick % 6 {
        0 => {
            if let Ok(manifest) = Manifest::parse(document) {
                assert_eq!(manifest.layer.media_type, artifact::LAYER_MEDIA_TYPE);
                assert_eq!(manifest.config.media_type, artifact::CONFIG_MEDIA_TYPE);
                assert!((0..=MAX_COMPONENT as i64).contains(&manifest.layer.size));
                assert!((0..=MAX_METADATA as i64).contains(&manifest.config.size));
                for descriptor in [&manifest.layer, &manifest.config] {
                    assert!(artifact::check_digest_form(&descriptor.digest).is_ok());
                }
                let _ = manifest.report();
            }
        }
        1 => {
            if let Ok(layers) = signature::layers(document) {
                assert!(layers
                    .iter()
                    .all(|l| l.media_type == signature::PAYLOAD_MEDIA_TYPE));
            }
        }
        2 => {
            // A payload with a signature annotation made of the input.
            let text = String::from_utf8_lossy(document);
            let layer = OciDescriptor {
                media_type: signature::PAYLOAD_MEDIA_TYPE.into(),
                digest: artifact::digest(document),
                size: document.len() as i64,
                annotations: Some(
                    [(signature::SIGNATURE_ANNOTATION.to_string(), text.to_string())].into(),
                ),
                ..OciDescriptor::default()
            };
            let key = p256::ecdsa::SigningKey::from_slice(&[7; 32]).expect("a key");
            let identities = ["localhost:5000/app".to_string()];
            let verified = signature::verify(
                &layer,
                document,
                &artifact::digest(b"manifest"),
                &identities,
                &[*key.verifying_key()],
            );
            assert!(verified.is_err(), "the fuzzer forged a signature");
            let _ = serde_json::from_slice::<WasmConfig>(document);
        }
        3 => {
            if let Ok(platform) = gadget::platform_manifest(document, "amd64") {
                assert!(gadget::is_index(document));
                assert!((0..=MAX_METADATA as i64).contains(&platform.size));
                assert!(artifact::check_digest_form(&platform.digest).is_ok());
            }
        }
        4 => {
            if let Ok(manifest) = gadget::GadgetManifest::parse(document) {
                assert_eq!(manifest.ebpf.media_type, gadget::EBPF_MEDIA_TYPE);
                assert!(manifest.layers.iter().any(|l| l.digest == manifest.ebpf.digest));
                assert!(manifest.layers.len() <= gadget::MAX_LAYERS);
                let total: i64 = manifest.layers.iter().map(|l| l.size).sum();
                assert!((0..=MAX_COMPONENT as i64).contains(&total));
                for layer in &manifest.layers {
                    assert!(layer.size >= 0);
                    assert!(artifact::check_digest_form(&layer.digest).is_ok());
                }
            }
        }
        _ => {
            let text = String::from_utf8_lossy(document);
            let repository = signature::identity_repository(&text);
            assert!(text.starts_with(repository));
        }
    }
});
