//! Inspektor Gadget's gadget images: an OCI image index with one manifest
//! per architecture, each of `artifactType` [`ARTIFACT_TYPE`], whose config
//! is the gadget's `gadget.yaml` (or the OCI empty descriptor) and whose
//! layers are the BPF object, and optionally a wasm module and BTFs made
//! by btfgen. Trust applies to the index: its digest is what a tag
//! resolves to, what `allowed-images` pins and what cosign signs.

use anyhow::{bail, ensure, Context as _, Result};
use oci_client::manifest::{OciDescriptor, OciImageManifest, OCI_IMAGE_MEDIA_TYPE};
use serde::Deserialize;

use crate::artifact::{check_digest_form, image_manifest, MAX_COMPONENT, MAX_METADATA};

/// A platform manifest's `artifactType`.
pub const ARTIFACT_TYPE: &str = "application/vnd.gadget.v1+binary";
/// The config when it is `gadget.yaml`.
pub const CONFIG_MEDIA_TYPE: &str = "application/vnd.gadget.config.v1+yaml";
/// The config of a gadget without `gadget.yaml`: the two bytes `{}`.
pub const EMPTY_MEDIA_TYPE: &str = "application/vnd.oci.empty.v1+json";
/// The layer holding the BPF object.
pub const EBPF_MEDIA_TYPE: &str = "application/vnd.gadget.ebpf.program.v1+binary";
/// The layer holding a core wasm module for IG's own host API.
pub const WASM_MEDIA_TYPE: &str = "application/vnd.gadget.wasm.program.v1+binary";
/// The layer holding BTFs of kernels without their own (this host reads
/// the running kernel's, so it is stored and not used).
pub const BTFGEN_MEDIA_TYPE: &str = "application/vnd.gadget.btfgen.v1+binary";
/// The most layers a gadget's manifest may have (IG writes at most three).
pub const MAX_LAYERS: usize = 8;
/// An image index's media type.
pub const INDEX_MEDIA_TYPE: &str = "application/vnd.oci.image.index.v1+json";

/// The architecture this host runs, as OCI platforms name it.
pub fn this_architecture() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => other,
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct IndexDocument {
    schema_version: u8,
    media_type: Option<String>,
    manifests: Vec<IndexEntry>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct IndexEntry {
    media_type: String,
    digest: String,
    size: i64,
    artifact_type: Option<String>,
    platform: Option<Platform>,
}

#[derive(Debug, Deserialize)]
struct Platform {
    architecture: String,
    os: String,
}

/// Whether manifest `bytes` are an image index (by its `mediaType`, or,
/// when it has none, by holding `manifests`).
pub fn is_index(bytes: &[u8]) -> bool {
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Probe {
        media_type: Option<String>,
        manifests: Option<serde::de::IgnoredAny>,
    }
    serde_json::from_slice::<Probe>(bytes).is_ok_and(|p| match p.media_type {
        Some(media_type) => media_type == INDEX_MEDIA_TYPE,
        None => p.manifests.is_some(),
    })
}

/// Of gadget image index `bytes`, the manifest for `architecture`: its
/// descriptor (digest, size), checked to be a gadget's.
pub fn platform_manifest(bytes: &[u8], architecture: &str) -> Result<OciDescriptor> {
    ensure!(
        bytes.len() <= MAX_METADATA,
        "the index is {} bytes; at most {MAX_METADATA} are accepted",
        bytes.len()
    );
    let index: IndexDocument = serde_json::from_slice(bytes).context("not an OCI image index")?;
    ensure!(
        index.schema_version == 2,
        "index schema version {} (only 2 exists)",
        index.schema_version
    );
    if let Some(media_type) = &index.media_type {
        ensure!(
            media_type == INDEX_MEDIA_TYPE,
            "a document of type {media_type}, not an OCI image index"
        );
    }
    let mut offered = Vec::new();
    for entry in &index.manifests {
        let Some(platform) = &entry.platform else {
            continue;
        };
        offered.push(format!("{}/{}", platform.os, platform.architecture));
        if platform.architecture != architecture || platform.os != "linux" {
            continue;
        }
        ensure!(
            entry.media_type == OCI_IMAGE_MEDIA_TYPE,
            "its linux/{architecture} entry is a {}, not an OCI image manifest",
            entry.media_type
        );
        if let Some(artifact_type) = &entry.artifact_type {
            ensure!(
                artifact_type == ARTIFACT_TYPE,
                "its linux/{architecture} entry is an artifact of type {artifact_type}, not a \
                 gadget ({ARTIFACT_TYPE})"
            );
        }
        ensure!(
            (0..=MAX_METADATA as i64).contains(&entry.size),
            "its linux/{architecture} manifest claims {} bytes; at most {MAX_METADATA} are \
             accepted",
            entry.size
        );
        check_digest_form(&entry.digest)?;
        return Ok(OciDescriptor {
            media_type: entry.media_type.clone(),
            digest: entry.digest.clone(),
            size: entry.size,
            ..OciDescriptor::default()
        });
    }
    bail!(
        "the image has no manifest for linux/{architecture}, the architecture of this host \
         (it has {})",
        if offered.is_empty() {
            "no platform manifests".to_string()
        } else {
            offered.join(", ")
        }
    )
}

/// A gadget's platform manifest, read back and checked.
#[derive(Debug, Clone)]
pub struct GadgetManifest {
    pub manifest: OciImageManifest,
    /// `gadget.yaml`, or the empty descriptor.
    pub config: OciDescriptor,
    /// The BPF object.
    pub ebpf: OciDescriptor,
    /// A wasm module for IG's host API, which this host does not run.
    pub wasm: Option<OciDescriptor>,
    /// Every layer, the ones this host does not use included.
    pub layers: Vec<OciDescriptor>,
}

impl GadgetManifest {
    /// Parses platform manifest `bytes` (IG writes them without a
    /// top-level `mediaType`; the index's descriptor gives it).
    pub fn parse(bytes: &[u8]) -> Result<Self> {
        let manifest = image_manifest(bytes)?;
        if let Some(artifact_type) = &manifest.artifact_type {
            ensure!(
                artifact_type == ARTIFACT_TYPE,
                "an artifact of type {artifact_type}, not a gadget ({ARTIFACT_TYPE})"
            );
        }
        let config = manifest.config.clone();
        ensure!(
            config.media_type == CONFIG_MEDIA_TYPE || config.media_type == EMPTY_MEDIA_TYPE,
            "its config is {} where a gadget's is {CONFIG_MEDIA_TYPE} (gadget.yaml) or \
             {EMPTY_MEDIA_TYPE}",
            config.media_type
        );
        ensure!(
            (0..=MAX_METADATA as i64).contains(&config.size),
            "its config claims {} bytes; at most {MAX_METADATA} are accepted",
            config.size
        );
        let of_type = |media_type: &str| -> Result<Option<OciDescriptor>> {
            let mut found = manifest
                .layers
                .iter()
                .filter(|l| l.media_type == media_type);
            let first = found.next().cloned();
            ensure!(
                found.next().is_none(),
                "the manifest has several {media_type} layers"
            );
            Ok(first)
        };
        let ebpf = of_type(EBPF_MEDIA_TYPE)?.with_context(|| {
            format!("the gadget has no eBPF program: no layer is {EBPF_MEDIA_TYPE}")
        })?;
        let wasm = of_type(WASM_MEDIA_TYPE)?;
        // Every layer is fetched (the store keeps the image whole), so
        // together they get the one cap a component gets.
        ensure!(
            manifest.layers.len() <= MAX_LAYERS,
            "the manifest has {} layers; a gadget has at most {MAX_LAYERS}",
            manifest.layers.len()
        );
        let mut total: i64 = 0;
        for layer in &manifest.layers {
            ensure!(
                layer.size >= 0,
                "layer {} claims {} bytes",
                layer.digest,
                layer.size
            );
            total = total.saturating_add(layer.size);
        }
        ensure!(
            total <= MAX_COMPONENT as i64,
            "the layers claim {total} bytes together; at most {MAX_COMPONENT} are accepted"
        );
        for descriptor in std::iter::once(&config).chain(&manifest.layers) {
            check_digest_form(&descriptor.digest)?;
        }
        Ok(Self {
            layers: manifest.layers.clone(),
            config,
            ebpf,
            wasm,
            manifest,
        })
    }

    /// Whether the config is `gadget.yaml` (not the empty descriptor).
    pub fn has_yaml(&self) -> bool {
        self.config.media_type == CONFIG_MEDIA_TYPE
    }
}

/// A gadget image fetched for this host's architecture: the index (whose
/// digest trust and signatures apply to), the platform manifest, and
/// every blob that manifest names.
#[derive(Debug, Clone)]
pub struct Gadget {
    pub index: Vec<u8>,
    pub index_digest: String,
    pub manifest: Vec<u8>,
    pub parsed: GadgetManifest,
    pub config: Vec<u8>,
    /// The layers, in the manifest's order.
    pub layers: Vec<Vec<u8>>,
}

impl Gadget {
    /// The BPF object.
    pub fn ebpf(&self) -> &[u8] {
        self.layer(&self.parsed.ebpf.digest)
    }

    fn layer(&self, digest: &str) -> &[u8] {
        self.parsed
            .layers
            .iter()
            .position(|l| l.digest == digest)
            .map_or(&[], |i| &self.layers[i])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ZERO: &str = "sha256:0000000000000000000000000000000000000000000000000000000000000000";

    fn index(entries: &str) -> String {
        format!(r#"{{"schemaVersion":2,"mediaType":"{INDEX_MEDIA_TYPE}","manifests":[{entries}]}}"#)
    }

    fn entry(arch: &str) -> String {
        format!(
            r#"{{"mediaType":"{OCI_IMAGE_MEDIA_TYPE}","digest":"{ZERO}","size":10,"artifactType":"{ARTIFACT_TYPE}","platform":{{"architecture":"{arch}","os":"linux"}}}}"#
        )
    }

    #[test]
    fn the_index_gives_this_architectures_manifest() {
        let both = index(&format!("{},{}", entry("arm64"), entry("amd64")));
        assert!(is_index(both.as_bytes()));
        assert_eq!(
            platform_manifest(both.as_bytes(), "amd64").unwrap().size,
            10
        );
        let arm = index(&entry("arm64"));
        let e = platform_manifest(arm.as_bytes(), "amd64").unwrap_err();
        assert!(
            format!("{e:#}").contains("no manifest for linux/amd64")
                && e.to_string().contains("linux/arm64"),
            "{e:#}"
        );
        let foreign = arm.replace(ARTIFACT_TYPE, "application/vnd.example+type");
        let e = platform_manifest(foreign.as_bytes(), "arm64").unwrap_err();
        assert!(e.to_string().contains("not a gadget"), "{e:#}");
        assert!(!is_index(br#"{"schemaVersion":2,"config":{},"layers":[]}"#));
    }

    fn manifest(config_type: &str, layers: &[&str]) -> String {
        let layers: Vec<String> = layers
            .iter()
            .map(|t| format!(r#"{{"mediaType":"{t}","digest":"{ZERO}","size":1}}"#))
            .collect();
        format!(
            r#"{{"schemaVersion":2,"artifactType":"{ARTIFACT_TYPE}","config":{{"mediaType":"{config_type}","digest":"{ZERO}","size":2}},"layers":[{}]}}"#,
            layers.join(",")
        )
    }

    #[test]
    fn a_platform_manifest_names_its_object_and_refuses_what_is_not_a_gadget() {
        let m = GadgetManifest::parse(
            manifest(CONFIG_MEDIA_TYPE, &[EBPF_MEDIA_TYPE, BTFGEN_MEDIA_TYPE]).as_bytes(),
        )
        .unwrap();
        assert!(m.has_yaml() && m.wasm.is_none() && m.layers.len() == 2);
        let m = GadgetManifest::parse(
            manifest(EMPTY_MEDIA_TYPE, &[WASM_MEDIA_TYPE, EBPF_MEDIA_TYPE]).as_bytes(),
        )
        .unwrap();
        assert!(!m.has_yaml() && m.wasm.is_some());
        let e = GadgetManifest::parse(manifest(CONFIG_MEDIA_TYPE, &[WASM_MEDIA_TYPE]).as_bytes())
            .unwrap_err();
        assert!(e.to_string().contains("no eBPF program"), "{e:#}");
        let e = GadgetManifest::parse(
            manifest(
                "application/vnd.oci.image.config.v1+json",
                &[EBPF_MEDIA_TYPE],
            )
            .as_bytes(),
        )
        .unwrap_err();
        assert!(e.to_string().contains("its config is"), "{e:#}");
        // Many layers, or a few that add up past the cap, are refused
        // before any is fetched.
        let many = vec![BTFGEN_MEDIA_TYPE; MAX_LAYERS];
        let many = manifest(CONFIG_MEDIA_TYPE, &[&[EBPF_MEDIA_TYPE][..], &many].concat());
        let e = GadgetManifest::parse(many.as_bytes()).unwrap_err();
        assert!(e.to_string().contains("layers"), "{e:#}");
        let big = manifest(CONFIG_MEDIA_TYPE, &[EBPF_MEDIA_TYPE, BTFGEN_MEDIA_TYPE]).replace(
            r#""size":1}"#,
            &format!(r#""size":{}}}"#, MAX_COMPONENT / 2 + 1),
        );
        let e = GadgetManifest::parse(big.as_bytes()).unwrap_err();
        assert!(e.to_string().contains("together"), "{e:#}");
    }
}
