//! Sharing apps through OCI registries: the artifact an app travels as
//! ([`artifact`]), the registry client ([`client`], [`auth`]) and the local
//! store that `run REF` reads offline ([`store`]).

pub mod archive;
pub mod artifact;
pub mod auth;
pub mod client;
pub mod gadget;
pub mod signature;
pub mod store;
pub mod trust;

use anyhow::{bail, Context as _, Result};
pub use client::{Registry, RegistryOptions};
pub use oci_client::Reference;

use artifact::Artifact;
use store::Store;
use trust::Trust;

/// Parses `text` as a registry reference (`HOST[:PORT]/REPO[:TAG][@DIGEST]`).
/// The registry must be named: a bare `app:1.0` would mean Docker Hub's
/// `library/` namespace, which holds no wasm-bpf apps.
pub fn reference(text: &str) -> Result<Reference> {
    if !names_registry(text) {
        bail!(
            "{text} is not a registry reference: one starts with its registry \
             (e.g. localhost:5000/tools/bootstrap:1.0, ghcr.io/org/app@sha256:...)"
        );
    }
    text.parse()
        .with_context(|| format!("{text} is not a registry reference"))
}

/// Whether `text` starts with a registry host, as docker tells one apart
/// from a repository: it has a `.` or a `:`, or is `localhost`. Written as
/// a path (`./x`, `../x`, `/x`), it never does.
pub fn names_registry(text: &str) -> bool {
    if text.starts_with("./") || text.starts_with("../") || text.starts_with('/') {
        return false;
    }
    match text.split_once('/') {
        Some((host, rest)) => {
            !rest.is_empty() && (host.contains(['.', ':']) || host == "localhost")
        }
        None => false,
    }
}

/// The name a reference is stored under: the full reference, tag or digest
/// as given.
pub fn store_name(reference: &Reference) -> String {
    reference.whole()
}

/// The name the signatures of manifest `digest` in `reference`'s
/// repository are stored under (`HOST/REPO:sha256-HEX.sig`).
pub fn signature_name(reference: &Reference, digest: &str) -> Result<String> {
    Ok(client::signature_reference(reference, digest)?.whole())
}

/// What a registry reference names: a wasm-bpf app, or an Inspektor
/// Gadget gadget image.
#[derive(Debug, Clone)]
pub enum Image {
    App(Artifact),
    Gadget(Box<gadget::Gadget>),
}

impl Image {
    /// The digest trust applies to: the app's manifest's, the gadget's
    /// index's.
    pub fn digest(&self) -> &str {
        match self {
            Image::App(artifact) => &artifact.manifest_digest,
            Image::Gadget(gadget) => &gadget.index_digest,
        }
    }
}

/// Pulls `reference` into `store` if `trust` admits it: the app or gadget
/// and (when `trust` has keys to verify them) its signatures fetched and
/// checked first, then written, the reference recorded last, so a refusal
/// or a failure leaves nothing that names a half-written image.
pub fn pull(
    registry: &Registry,
    store: &Store,
    reference: &Reference,
    trust: &Trust,
) -> Result<Image> {
    let image = registry.pull(reference)?;
    let (top, mut blobs): (&[u8], Vec<&[u8]>) = match &image {
        Image::App(artifact) => {
            if !wasmparser::Parser::is_component(&artifact.wasm)
                && !wasmparser::Parser::is_core_wasm(&artifact.wasm)
            {
                bail!("its application/wasm layer is not WebAssembly (no wasm header)");
            }
            (&artifact.manifest, vec![&artifact.config, &artifact.wasm])
        }
        Image::Gadget(gadget) => {
            let mut blobs: Vec<&[u8]> = vec![&gadget.config, &gadget.manifest];
            blobs.extend(gadget.layers.iter().map(Vec::as_slice));
            (&gadget.index, blobs)
        }
    };
    let digest = image.digest();
    trust.check_allowed(reference, digest)?;
    // Signatures are fetched only to be verified: with no key, a hostile
    // registry gets no chance to make the host read them.
    let signatures = if trust.keys.is_empty() {
        None
    } else {
        registry.signatures(reference, digest)?
    };
    trust.check_signed(reference, digest, signatures.as_ref())?;
    let mut entries = Vec::new();
    let signature_name = signature_name(reference, digest)?;
    if let Some(signatures) = &signatures {
        blobs.push(&signatures.config);
        blobs.extend(signatures.payloads.iter().map(|(_, p)| p.as_slice()));
        entries.push((signature_name.as_str(), signatures.manifest.as_slice()));
    }
    let name = store_name(reference);
    // The image's name last: a reader never finds it without its signature.
    entries.push((&name, top));
    store.add(&blobs, &entries)?;
    Ok(image)
}

/// Checks the app `reference` names in `store`, resolved to manifest
/// `digest`, against `trust`, with the signatures the store holds.
pub fn check_stored(
    store: &Store,
    reference: &Reference,
    digest: &str,
    trust: &Trust,
) -> Result<()> {
    trust.check_allowed(reference, digest)?;
    let signatures = store.signatures(&signature_name(reference, digest)?)?;
    trust.check_signed(reference, digest, signatures.as_ref())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_name_their_registry() {
        assert!(names_registry("localhost:5000/tools/bootstrap:1.0"));
        assert!(names_registry("ghcr.io/org/app@sha256:00"));
        assert!(names_registry("localhost/app"));
        assert!(!names_registry("bootstrap.wasm"));
        assert!(!names_registry("target/wasm32-wasip2/guest/app"));
        assert!(!names_registry("library/app:1.0"));
        assert!(!names_registry("./127.0.0.1:5000/apps/bootstrap:1"));
        assert!(!names_registry("../localhost:5000/app"));
        assert!(!names_registry("/srv/localhost:5000/app"));
        assert!(reference("app:1.0").is_err());
        let r = reference("localhost:5000/tools/bootstrap:1.0").unwrap();
        assert_eq!(
            (r.registry(), r.repository(), r.tag()),
            ("localhost:5000", "tools/bootstrap", Some("1.0"))
        );
    }
}
