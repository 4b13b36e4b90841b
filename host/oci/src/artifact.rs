//! The artifact an app travels as: the CNCF "Wasm OCI artifact" layout (an
//! OCI image manifest whose config is `application/vnd.wasm.config.v0+json`
//! and whose one layer is the `application/wasm` component), so generic
//! Wasm tools pull ours and we run theirs. What `inspect` reports rides
//! along as an annotation, readable before anything is pulled.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use anyhow::{bail, ensure, Context as _, Result};
use oci_client::manifest::{OciDescriptor, OciImageManifest, OCI_IMAGE_MEDIA_TYPE};
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use wasmparser::Parser;

use wasm_bpf_runtime::inspect::Report;

/// The config's media type in the CNCF Wasm artifact. (Some client crates
/// still carry the older wasm-to-oci types; registries and tools that
/// follow the CNCF layout do not recognise those.)
pub const CONFIG_MEDIA_TYPE: &str = "application/vnd.wasm.config.v0+json";
/// The one layer's media type: the component (or core module) itself.
pub const LAYER_MEDIA_TYPE: &str = "application/wasm";
/// The annotation that holds [`Report`] as JSON: the programs, maps and
/// grants `wasm-bpf inspect REF` shows.
pub const REPORT_ANNOTATION: &str = "dev.wasm-bpf.inspect";

/// The largest manifest and config accepted (a manifest of one layer is
/// about a kilobyte; registries cap manifests at 4 MiB).
pub const MAX_METADATA: usize = 4 << 20;
/// The largest component accepted from a registry.
pub const MAX_COMPONENT: u64 = 512 << 20;

/// The config blob (CNCF Wasm OCI artifact, v0).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WasmConfig {
    pub created: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author: Option<String>,
    /// Always `wasm`.
    pub architecture: String,
    /// `wasip2` for a component, `wasip1` for a core module.
    pub os: String,
    /// The layers' digests, in the manifest's order.
    pub layer_digests: Vec<String>,
    /// A component's imports and exports (absent for a core module).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub component: Option<ComponentInfo>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct ComponentInfo {
    pub exports: Vec<String>,
    pub imports: Vec<String>,
    /// The world it targets, when known (not recorded in the binary).
    pub target: Option<String>,
}

/// An artifact's three blobs, each with its digest.
#[derive(Debug, Clone)]
pub struct Artifact {
    pub manifest: Vec<u8>,
    pub manifest_digest: String,
    pub config: Vec<u8>,
    pub wasm: Vec<u8>,
}

/// `sha256:<hex>` of `bytes`.
pub fn digest(bytes: &[u8]) -> String {
    let hash = Sha256::digest(bytes);
    let hex: String = hash.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

/// The top-level imports and exports of component `bytes`, read from its
/// sections without compiling it.
pub fn component_info(bytes: &[u8]) -> Result<ComponentInfo> {
    let surface = wasm_bpf_runtime::app_kind::Surface::read(bytes)?;
    Ok(ComponentInfo {
        exports: surface.exports,
        imports: surface.imports,
        target: None,
    })
}

/// When the artifact was made: now, or `SOURCE_DATE_EPOCH` for
/// reproducible builds (the same file then pushes to the same digest).
fn created() -> String {
    let when = std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|s| s.parse().ok())
        .map_or_else(SystemTime::now, |secs| {
            SystemTime::UNIX_EPOCH + Duration::from_secs(secs)
        });
    humantime::format_rfc3339_seconds(when).to_string()
}

impl Artifact {
    /// The artifact of `wasm` (a component, or a core module of the
    /// original ABI). `title` names it (the file name), `version` is the
    /// tag it is pushed as; `report` is what `inspect` found in it, when it
    /// embeds objects.
    pub fn build(
        wasm: Vec<u8>,
        title: &str,
        version: Option<&str>,
        report: Option<&Report>,
    ) -> Result<Self> {
        let (os, component) = if Parser::is_component(&wasm) {
            ("wasip2", Some(component_info(&wasm)?))
        } else if Parser::is_core_wasm(&wasm) {
            ("wasip1", None)
        } else {
            bail!("not a WebAssembly component or module (precompiled .cwasm files are not shared: they run only where they were compiled)");
        };
        let created = created();
        let wasm_digest = digest(&wasm);
        let config = serde_json::to_vec(&WasmConfig {
            created: created.clone(),
            author: None,
            architecture: "wasm".into(),
            os: os.into(),
            layer_digests: vec![wasm_digest.clone()],
            component,
        })?;
        let mut annotations = BTreeMap::from([
            ("org.opencontainers.image.created".to_string(), created),
            (
                "org.opencontainers.image.title".to_string(),
                title.to_string(),
            ),
        ]);
        if let Some(version) = version {
            annotations.insert("org.opencontainers.image.version".into(), version.into());
        }
        if let Some(report) = report {
            annotations.insert(REPORT_ANNOTATION.into(), serde_json::to_string(report)?);
        }
        let manifest = OciImageManifest {
            schema_version: 2,
            media_type: Some(OCI_IMAGE_MEDIA_TYPE.into()),
            config: OciDescriptor {
                media_type: CONFIG_MEDIA_TYPE.into(),
                digest: digest(&config),
                size: config.len() as i64,
                ..OciDescriptor::default()
            },
            layers: vec![OciDescriptor {
                media_type: LAYER_MEDIA_TYPE.into(),
                digest: wasm_digest,
                size: wasm.len() as i64,
                annotations: Some(BTreeMap::from([(
                    "org.opencontainers.image.title".to_string(),
                    title.to_string(),
                )])),
                ..OciDescriptor::default()
            }],
            subject: None,
            artifact_type: None,
            annotations: Some(annotations),
        };
        let manifest = serde_json::to_vec(&manifest)?;
        Ok(Self {
            manifest_digest: digest(&manifest),
            manifest,
            config,
            wasm,
        })
    }
}

/// A manifest read back, checked to be a Wasm artifact.
#[derive(Debug, Clone)]
pub struct Manifest {
    pub manifest: OciImageManifest,
    pub config: OciDescriptor,
    pub layer: OciDescriptor,
}

impl Manifest {
    /// Parses `bytes` and checks that they describe one Wasm layer and a
    /// Wasm config of sizes this host accepts.
    pub fn parse(bytes: &[u8]) -> Result<Self> {
        let manifest = image_manifest(bytes)?;
        let config = manifest.config.clone();
        ensure!(
            config.media_type == CONFIG_MEDIA_TYPE,
            "not a Wasm artifact: its config is {} where a Wasm artifact's is {CONFIG_MEDIA_TYPE} (a container image?)",
            config.media_type
        );
        ensure!(
            (0..=MAX_METADATA as i64).contains(&config.size),
            "the config claims {} bytes; at most {MAX_METADATA} are accepted",
            config.size
        );
        let [layer] = manifest.layers.as_slice() else {
            bail!(
                "a Wasm artifact has one layer; this one has {}",
                manifest.layers.len()
            );
        };
        ensure!(
            layer.media_type == LAYER_MEDIA_TYPE,
            "not a Wasm artifact: its layer is {} where a Wasm artifact's is {LAYER_MEDIA_TYPE}",
            layer.media_type
        );
        ensure!(
            (0..=MAX_COMPONENT as i64).contains(&layer.size),
            "the component claims {} bytes; at most {MAX_COMPONENT} are accepted",
            layer.size
        );
        for descriptor in [&config, layer] {
            check_digest_form(&descriptor.digest)?;
        }
        Ok(Self {
            layer: layer.clone(),
            config,
            manifest,
        })
    }

    /// The `inspect` report the artifact carries, if any.
    pub fn report(&self) -> Result<Option<Report>> {
        let Some(json) = self
            .manifest
            .annotations
            .as_ref()
            .and_then(|a| a.get(REPORT_ANNOTATION))
        else {
            return Ok(None);
        };
        serde_json::from_str(json)
            .map(Some)
            .with_context(|| format!("annotation {REPORT_ANNOTATION}"))
    }
}

/// `bytes` as an OCI image manifest: of a size this host reads, schema
/// version 2, and of the image manifest's media type if it names one (it
/// may not: the index that lists it then does).
pub(crate) fn image_manifest(bytes: &[u8]) -> Result<OciImageManifest> {
    ensure!(
        bytes.len() <= MAX_METADATA,
        "the manifest is {} bytes; at most {MAX_METADATA} are accepted",
        bytes.len()
    );
    let manifest: OciImageManifest =
        serde_json::from_slice(bytes).context("not an OCI image manifest")?;
    ensure!(
        manifest.schema_version == 2,
        "manifest schema version {} (only 2 exists)",
        manifest.schema_version
    );
    if let Some(media_type) = &manifest.media_type {
        ensure!(
            media_type == OCI_IMAGE_MEDIA_TYPE,
            "a manifest of type {media_type}, not an OCI image manifest"
        );
    }
    Ok(manifest)
}

/// Refuses a digest other than `sha256:` and 64 lowercase hex digits, the
/// only form the store names files by.
pub fn check_digest_form(digest: &str) -> Result<()> {
    let hex = digest
        .strip_prefix("sha256:")
        .with_context(|| format!("digest {digest}: only sha256 digests are supported"))?;
    ensure!(
        hex.len() == 64 && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')),
        "digest {digest} is not 64 lowercase hex digits"
    );
    Ok(())
}

/// Checks that `bytes` are what `descriptor` names: its size and digest.
pub fn check_blob(descriptor: &OciDescriptor, bytes: &[u8]) -> Result<()> {
    ensure!(
        bytes.len() as i64 == descriptor.size,
        "blob {} is {} bytes where the manifest says {}",
        descriptor.digest,
        bytes.len(),
        descriptor.size
    );
    let actual = digest(bytes);
    ensure!(
        actual == descriptor.digest,
        "blob {} does not match its digest (its content hashes to {actual})",
        descriptor.digest
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_built_artifact_parses_back_and_checks_its_blobs() {
        // The smallest core module: magic and version.
        let wasm = b"\0asm\x01\0\0\0".to_vec();
        let artifact = Artifact::build(wasm.clone(), "tiny.wasm", Some("1.0"), None).unwrap();
        let manifest = Manifest::parse(&artifact.manifest).unwrap();
        assert_eq!(artifact.manifest_digest, digest(&artifact.manifest));
        check_blob(&manifest.layer, &wasm).unwrap();
        check_blob(&manifest.config, &artifact.config).unwrap();
        assert!(check_blob(&manifest.layer, b"\0asm\x01\0\0\x01").is_err());
        let config: WasmConfig = serde_json::from_slice(&artifact.config).unwrap();
        assert_eq!((config.os.as_str(), config.component), ("wasip1", None));
        assert_eq!(config.layer_digests, vec![manifest.layer.digest.clone()]);
    }

    #[test]
    fn foreign_manifests_and_digests_are_refused() {
        let image = r#"{"schemaVersion":2,"config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:0000000000000000000000000000000000000000000000000000000000000000","size":2},"layers":[]}"#;
        let e = Manifest::parse(image.as_bytes()).unwrap_err();
        assert!(format!("{e:#}").contains("not a Wasm artifact"), "{e:#}");
        assert!(Artifact::build(b"not wasm".to_vec(), "x", None, None).is_err());
        assert!(check_digest_form("sha256:../../etc/passwd").is_err());
        assert!(check_digest_form("sha512:00").is_err());
        let huge = vec![b' '; MAX_METADATA + 1];
        let e = Manifest::parse(&huge).unwrap_err();
        assert!(e.to_string().contains("at most"), "{e}");
    }
}
