//! cosign's key-based signatures, which every registry can hold (no
//! referrers API): the signature of manifest `sha256:HEX` of a repository
//! is an OCI manifest tagged `sha256-HEX.sig` in that repository. Each of
//! its layers is a "simple signing" JSON payload
//! (`application/vnd.dev.cosign.simplesigning.v1+json`) naming the signed
//! manifest's digest, with the base64 ECDSA P-256 signature of the
//! payload's bytes (SHA-256, DER) in the annotation
//! `dev.cosignproject.cosign/signature`. `cosign verify --key` checks ours
//! and we check cosign's, the keys being PEM files: a PKCS#8 or SEC1
//! private key (unencrypted, as `openssl` writes them; cosign's own
//! encrypted key files are not read) and an SPKI public key (what
//! `cosign generate-key-pair` and `openssl ec -pubout` write).
//!
//! A signature binds the manifest digest and the repository it was signed
//! in (the payload's `docker-reference`): a signature made for one
//! repository does not vouch for the same content run from another,
//! unless the run's policy says the one mirrors the other
//! ([`super::trust::Trust::identities`]), as containers-policy's
//! `matchRepository` and `remapIdentity` do.

use std::path::Path;

use anyhow::{bail, ensure, Context as _, Result};
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use oci_client::manifest::{OciDescriptor, OciImageManifest, OCI_IMAGE_MEDIA_TYPE};
use p256::ecdsa::signature::{Signer as _, Verifier as _};
use p256::ecdsa::{DerSignature, Signature, SigningKey, VerifyingKey};
use p256::pkcs8::{DecodePrivateKey as _, DecodePublicKey as _};
use serde::{Deserialize, Serialize};

use crate::artifact::{check_digest_form, digest};

pub const PAYLOAD_MEDIA_TYPE: &str = "application/vnd.dev.cosign.simplesigning.v1+json";
pub const SIGNATURE_ANNOTATION: &str = "dev.cosignproject.cosign/signature";
const SIGNATURE_TYPE: &str = "cosign container image signature";

/// The tag holding the signatures of manifest `digest`: `sha256-HEX.sig`.
pub fn tag(manifest_digest: &str) -> Result<String> {
    check_digest_form(manifest_digest)?;
    Ok(format!("{}.sig", manifest_digest.replace(':', "-")))
}

/// Whether `tag` is one of signatures (`sha256-HEX.sig`).
pub fn is_tag(tag: &str) -> bool {
    tag.strip_prefix("sha256-")
        .and_then(|rest| rest.strip_suffix(".sig"))
        .is_some_and(|hex| check_digest_form(&format!("sha256:{hex}")).is_ok())
}

/// The simple signing payload.
#[derive(Debug, Serialize, Deserialize)]
pub struct Payload {
    pub critical: Critical,
    pub optional: Option<serde_json::Value>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct Critical {
    pub identity: Identity,
    pub image: Image,
    #[serde(rename = "type")]
    pub kind: String,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct Identity {
    #[serde(rename = "docker-reference")]
    pub docker_reference: String,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct Image {
    #[serde(rename = "docker-manifest-digest")]
    pub docker_manifest_digest: String,
}

/// The payload that signs manifest `digest` of `repository`
/// (`HOST/REPO`).
pub fn payload(repository: &str, manifest_digest: &str) -> Result<Vec<u8>> {
    Ok(serde_json::to_vec(&Payload {
        critical: Critical {
            identity: Identity {
                docker_reference: repository.into(),
            },
            image: Image {
                docker_manifest_digest: manifest_digest.into(),
            },
            kind: SIGNATURE_TYPE.into(),
        },
        optional: None,
    })?)
}

pub fn private_key(path: &Path) -> Result<SigningKey> {
    let pem =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    if pem.contains("ENCRYPTED") {
        bail!(
            "{} is encrypted; give an unencrypted PKCS#8 P-256 key \
             (`openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256`)",
            path.display()
        );
    }
    SigningKey::from_pkcs8_pem(&pem)
        .or_else(|_| p256::SecretKey::from_sec1_pem(&pem).map(SigningKey::from))
        .map_err(|e| anyhow::anyhow!("{e}"))
        .with_context(|| format!("{}: not an ECDSA P-256 private key in PEM", path.display()))
}

pub fn public_key(path: &Path) -> Result<VerifyingKey> {
    let pem =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    VerifyingKey::from_public_key_pem(&pem)
        .map_err(|e| anyhow::anyhow!("{e}"))
        .with_context(|| format!("{}: not an ECDSA P-256 public key in PEM", path.display()))
}

/// `payload` signed with `key`: base64 of the DER signature.
pub fn sign(key: &SigningKey, payload: &[u8]) -> String {
    let signature: Signature = key.sign(payload);
    BASE64.encode(signature.to_der().as_bytes())
}

/// The signature manifest and its config, holding `layers` (payload
/// descriptors, each with its signature annotation).
pub fn manifest(layers: Vec<OciDescriptor>) -> Result<(Vec<u8>, Vec<u8>)> {
    // cosign's config: an image config whose rootfs lists the payloads.
    let config = serde_json::to_vec(&serde_json::json!({
        "architecture": "",
        "config": {},
        "created": "0001-01-01T00:00:00Z",
        "history": [{"created": "0001-01-01T00:00:00Z"}],
        "os": "",
        "rootfs": {
            "type": "layers",
            "diff_ids": layers.iter().map(|l| l.digest.clone()).collect::<Vec<_>>(),
        },
    }))?;
    let manifest = OciImageManifest {
        schema_version: 2,
        media_type: Some(OCI_IMAGE_MEDIA_TYPE.into()),
        config: OciDescriptor {
            media_type: "application/vnd.oci.image.config.v1+json".into(),
            digest: digest(&config),
            size: config.len() as i64,
            ..OciDescriptor::default()
        },
        layers,
        subject: None,
        artifact_type: None,
        annotations: None,
    };
    Ok((serde_json::to_vec(&manifest)?, config))
}

/// The descriptor of a payload layer with its signature.
pub fn layer(payload: &[u8], signature: String) -> OciDescriptor {
    OciDescriptor {
        media_type: PAYLOAD_MEDIA_TYPE.into(),
        digest: digest(payload),
        size: payload.len() as i64,
        annotations: Some([(SIGNATURE_ANNOTATION.to_string(), signature)].into()),
        ..OciDescriptor::default()
    }
}

/// The payload layers of signature manifest `bytes`.
pub fn layers(bytes: &[u8]) -> Result<Vec<OciDescriptor>> {
    let manifest: OciImageManifest =
        serde_json::from_slice(bytes).context("the signature manifest")?;
    Ok(manifest
        .layers
        .into_iter()
        .filter(|l| l.media_type == PAYLOAD_MEDIA_TYPE)
        .collect())
}

/// The repository (`HOST/REPO`) a payload's `docker-reference` names,
/// without the tag or digest some signers add.
pub fn identity_repository(docker_reference: &str) -> &str {
    let name = docker_reference
        .split_once('@')
        .map_or(docker_reference, |(name, _)| name);
    match name.rsplit_once(':') {
        // A `:` after the last `/` starts a tag; before it, a port.
        Some((repository, tag)) if !tag.contains('/') => repository,
        _ => name,
    }
}

/// Checks that `payload` (the bytes of `layer`, digest already checked)
/// signs `manifest_digest`, for one of the repositories `identities`,
/// with one of `keys`; the index of that key.
pub fn verify(
    layer: &OciDescriptor,
    payload: &[u8],
    manifest_digest: &str,
    identities: &[String],
    keys: &[VerifyingKey],
) -> Result<usize> {
    let parsed: Payload = serde_json::from_slice(payload).context("the signed payload")?;
    ensure!(
        parsed.critical.kind == SIGNATURE_TYPE,
        "the payload is a {:?}, not a {SIGNATURE_TYPE:?}",
        parsed.critical.kind
    );
    ensure!(
        parsed.critical.image.docker_manifest_digest == manifest_digest,
        "the signature is for {}, not {manifest_digest}",
        parsed.critical.image.docker_manifest_digest
    );
    let signed_in = identity_repository(&parsed.critical.identity.docker_reference);
    ensure!(
        identities.iter().any(|identity| identity == signed_in),
        "the signature is for repository {signed_in}, not {} (a mirror's signatures are \
         accepted with remap-identity)",
        identities.join(" or ")
    );
    let encoded = layer
        .annotations
        .as_ref()
        .and_then(|a| a.get(SIGNATURE_ANNOTATION))
        .context("no signature annotation")?;
    let der = BASE64
        .decode(encoded.trim())
        .context("the signature is not base64")?;
    let signature = DerSignature::from_bytes(&der)
        .map_err(|e| anyhow::anyhow!("the signature is not DER ECDSA: {e}"))?;
    keys.iter()
        .position(|key| key.verify(payload, &signature).is_ok())
        .context("the signature matches none of the keys")
}

/// The signatures of one manifest, as fetched or stored: the signature
/// manifest, its config, and each payload layer with its bytes (each
/// checked against its descriptor).
#[derive(Debug, Clone)]
pub struct Signatures {
    pub manifest: Vec<u8>,
    pub config: Vec<u8>,
    pub payloads: Vec<(OciDescriptor, Vec<u8>)>,
}

impl Signatures {
    /// Checks that one of the payloads signs `manifest_digest` for one of
    /// the repositories `identities` with one of `keys`; the index of the
    /// key.
    pub fn verify(
        &self,
        manifest_digest: &str,
        identities: &[String],
        keys: &[VerifyingKey],
    ) -> Result<usize> {
        let mut errors = Vec::new();
        for (layer, payload) in &self.payloads {
            match verify(layer, payload, manifest_digest, identities, keys) {
                Ok(index) => return Ok(index),
                Err(e) => errors.push(format!("{}: {e:#}", layer.digest)),
            }
        }
        if errors.is_empty() {
            bail!("the signature manifest holds no signature");
        }
        bail!("no signature verifies ({})", errors.join("; "))
    }

    /// These signatures and one more, as cosign appends: each key's
    /// signature of the same payload is a layer of its own; only the very
    /// same signature is not repeated.
    pub fn with(&self, payload: Vec<u8>, signature: String) -> Result<Self> {
        let added = layer(&payload, signature);
        let mut payloads: Vec<_> = self
            .payloads
            .iter()
            .filter(|(layer, _)| {
                (&layer.digest, &layer.annotations) != (&added.digest, &added.annotations)
            })
            .cloned()
            .collect();
        payloads.push((added, payload));
        Self::of(payloads)
    }

    /// The signatures made of `payloads`.
    pub fn of(payloads: Vec<(OciDescriptor, Vec<u8>)>) -> Result<Self> {
        let (manifest, config) = manifest(payloads.iter().map(|(l, _)| l.clone()).collect())?;
        Ok(Self {
            manifest,
            config,
            payloads,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_verifies_with_its_key_only() {
        let key = SigningKey::from_slice(&[7; 32]).unwrap();
        let other = SigningKey::from_slice(&[9; 32]).unwrap();
        let signed = digest(b"manifest");
        let payload = payload("localhost:5000/app", &signed).unwrap();
        let layer = layer(&payload, sign(&key, &payload));
        let keys = [*other.verifying_key(), *key.verifying_key()];
        let here = ["localhost:5000/app".to_string()];
        assert_eq!(verify(&layer, &payload, &signed, &here, &keys).unwrap(), 1);
        assert!(verify(&layer, &payload, &signed, &here, &keys[..1]).is_err());
        let e = verify(&layer, &payload, &digest(b"other"), &here, &keys).unwrap_err();
        assert!(e.to_string().contains("the signature is for"), "{e}");
        // The same content and key, signed for another repository.
        let elsewhere = ["localhost:5000/evil".to_string()];
        let e = verify(&layer, &payload, &signed, &elsewhere, &keys).unwrap_err();
        assert!(
            e.to_string().contains("for repository localhost:5000/app"),
            "{e}"
        );
        // The same JSON with a space added: other bytes, so no signature.
        let mut forged = payload.clone();
        forged.insert(1, b' ');
        assert!(verify(&layer, &forged, &signed, &here, &keys).is_err());
        assert_eq!(
            tag(&signed).unwrap(),
            format!("{}.sig", signed.replace(':', "-"))
        );
        assert!(is_tag(&tag(&signed).unwrap()));
        assert!(!is_tag("sha256-x.sig") && !is_tag("1.0"));
    }

    #[test]
    fn identities_are_repositories_without_tag_or_digest() {
        for (reference, repository) in [
            ("localhost:5000/tools/app", "localhost:5000/tools/app"),
            ("localhost:5000/tools/app:1.0", "localhost:5000/tools/app"),
            ("ghcr.io/org/app@sha256:00", "ghcr.io/org/app"),
            ("ghcr.io/org/app:1@sha256:00", "ghcr.io/org/app"),
            ("registry:5000/app", "registry:5000/app"),
        ] {
            assert_eq!(identity_repository(reference), repository, "{reference}");
        }
    }
}
