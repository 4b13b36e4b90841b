//! The local image store: an OCI image layout (`oci-layout`, `index.json`,
//! `blobs/sha256/`) that `run REF` reads offline and `skopeo`/`umoci` can
//! read too. Each `index.json` entry names a full reference
//! (`org.opencontainers.image.ref.name`, e.g.
//! `localhost:5000/tools/bootstrap:1.0`); signatures are entries of their
//! own, under cosign's `sha256-<digest>.sig` tag.
//!
//! The store is a [`TrustedDir`]: owned by the user running `wasm-bpf`,
//! writable by no one else, no symbolic link followed. Blobs are named by
//! the digest of what was written and checked against it when read, so a
//! blob changed on disk is refused rather than run. Writers hold an
//! exclusive `flock` on the store while they change `index.json`.

use std::os::fd::AsFd as _;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context as _, Result};
use oci_client::manifest::{OciDescriptor, OCI_IMAGE_INDEX_MEDIA_TYPE, OCI_IMAGE_MEDIA_TYPE};
use rustix::fs::{flock, FlockOperation};
use serde::{Deserialize, Serialize};

use crate::artifact::{check_digest_form, digest, Manifest};
use crate::gadget::{self, GadgetManifest};
use crate::signature::{self, Signatures};
use wasm_bpf_runtime::trusted_dir::TrustedDir;

/// The `oci-layout` file.
pub(super) const OCI_LAYOUT: &[u8] = br#"{"imageLayoutVersion":"1.0.0"}"#;

/// The annotation naming an `index.json` entry's reference.
pub(super) const REF_NAME: &str = "org.opencontainers.image.ref.name";

/// `index.json` (an export archive's too).
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Index {
    schema_version: u8,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    media_type: Option<String>,
    #[serde(default)]
    pub manifests: Vec<OciDescriptor>,
}

impl Index {
    pub(super) fn of(manifests: Vec<OciDescriptor>) -> Self {
        Self {
            schema_version: 2,
            media_type: Some(OCI_IMAGE_INDEX_MEDIA_TYPE.into()),
            manifests,
        }
    }
}

/// One stored reference.
#[derive(Debug, Clone)]
pub struct Entry {
    pub name: String,
    pub manifest: OciDescriptor,
}

pub struct Store {
    path: PathBuf,
    root: TrustedDir,
    blobs: TrustedDir,
}

/// Where the store lives: `$XDG_DATA_HOME/wasm-bpf/store`, or
/// `~/.local/share/wasm-bpf/store`.
pub fn default_dir() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".local/share"))
        })?;
    Some(base.join("wasm-bpf/store"))
}

/// Holds the store's lock until dropped.
struct Locked<'a>(&'a TrustedDir);

impl Drop for Locked<'_> {
    fn drop(&mut self) {
        let _ = flock(self.0.as_fd(), FlockOperation::Unlock);
    }
}

impl Store {
    /// Opens the store at `path`, creating it if need be.
    pub fn open(path: &Path) -> Result<Self> {
        let context = || format!("the image store {}", path.display());
        let root = TrustedDir::open(path).with_context(context)?;
        let blobs = TrustedDir::open(&path.join("blobs/sha256")).with_context(context)?;
        if root.entry("oci-layout").with_context(context)?.is_none() {
            root.store("oci-layout", OCI_LAYOUT).with_context(context)?;
        }
        Ok(Self {
            path: path.to_path_buf(),
            root,
            blobs,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn lock(&self) -> Result<Locked<'_>> {
        flock(self.root.as_fd(), FlockOperation::LockExclusive)
            .with_context(|| format!("locking the image store {}", self.path.display()))?;
        Ok(Locked(&self.root))
    }

    /// Stores `bytes` under their digest, which it returns.
    fn put_blob(&self, bytes: &[u8]) -> Result<String> {
        let digest = digest(bytes);
        let name = &digest["sha256:".len()..];
        if self.blobs.entry(name)?.is_none() {
            self.blobs.store(name, bytes)?;
        }
        Ok(digest)
    }

    /// The blob `digest`, checked against it.
    pub fn blob(&self, wanted: &str) -> Result<Vec<u8>> {
        check_digest_form(wanted)?;
        let bytes = self
            .blobs
            .read(&wanted["sha256:".len()..])?
            .with_context(|| format!("blob {wanted} is missing from the store"))?;
        let actual = digest(&bytes);
        if actual != wanted {
            bail!(
                "blob {wanted} in the store {} does not match its digest (changed on disk?); \
                 remove the image and pull it again",
                self.path.display()
            );
        }
        Ok(bytes)
    }

    fn index(&self) -> Result<Index> {
        match self.root.read("index.json")? {
            Some(bytes) => serde_json::from_slice(&bytes)
                .with_context(|| format!("{}/index.json", self.path.display())),
            None => Ok(Index::of(Vec::new())),
        }
    }

    fn write_index(&self, index: &Index) -> Result<()> {
        self.root
            .store("index.json", &serde_json::to_vec_pretty(index)?)?;
        Ok(())
    }

    /// Every stored reference.
    pub fn entries(&self) -> Result<Vec<Entry>> {
        Ok(self
            .index()?
            .manifests
            .into_iter()
            .filter_map(|manifest| {
                let name = manifest.annotations.as_ref()?.get(REF_NAME)?.clone();
                Some(Entry { name, manifest })
            })
            .collect())
    }

    /// The manifest stored as `name`.
    pub fn lookup(&self, name: &str) -> Result<Option<OciDescriptor>> {
        Ok(self
            .entries()?
            .into_iter()
            .find(|entry| entry.name == name)
            .map(|entry| entry.manifest))
    }

    /// Writes `blobs`, then records each manifest of `entries` under its
    /// name (replacing what the name named before), all under the store's
    /// lock, so a concurrent `rmi` cannot collect the blobs in between.
    pub fn add(&self, blobs: &[&[u8]], entries: &[(&str, &[u8])]) -> Result<()> {
        let _lock = self.lock()?;
        for blob in blobs {
            self.put_blob(blob)?;
        }
        let mut index = self.index()?;
        for (name, manifest) in entries {
            let digest = self.put_blob(manifest)?;
            index.manifests.retain(|m| ref_name(m) != Some(name));
            index.manifests.push(OciDescriptor {
                media_type: if gadget::is_index(manifest) {
                    OCI_IMAGE_INDEX_MEDIA_TYPE.into()
                } else {
                    OCI_IMAGE_MEDIA_TYPE.into()
                },
                digest,
                size: manifest.len() as i64,
                annotations: Some([(REF_NAME.to_string(), name.to_string())].into()),
                ..OciDescriptor::default()
            });
        }
        self.write_index(&index)
    }

    /// Forgets the references `remove` picks, then deletes every blob no
    /// remaining reference needs. Returns the names removed.
    pub fn remove(&self, remove: impl Fn(&str, &OciDescriptor) -> bool) -> Result<Vec<String>> {
        let _lock = self.lock()?;
        let mut index = self.index()?;
        let mut removed = Vec::new();
        index.manifests.retain(|m| match ref_name(m) {
            Some(name) if remove(name, m) => {
                removed.push(name.to_string());
                false
            }
            _ => true,
        });
        self.write_index(&index)?;
        let mut keep = std::collections::BTreeSet::new();
        for entry in &index.manifests {
            keep.extend(self.referenced(&entry.digest));
        }
        for name in self.blobs.names()? {
            if !keep.contains(&format!("sha256:{name}")) {
                self.blobs.remove(&name)?;
            }
        }
        Ok(removed)
    }

    /// The digests of manifest (or index) `digest` and of every blob it
    /// names that the store holds: an index's platform manifests (of which
    /// only this host's architecture is stored) and their blobs. A manifest
    /// this store cannot read names only itself.
    fn referenced(&self, digest: &str) -> Vec<String> {
        let mut digests = vec![digest.to_string()];
        let Ok(manifest) = self.blob(digest) else {
            return digests;
        };
        if let Ok(parsed) = serde_json::from_slice::<Blobs>(&manifest) {
            digests.push(parsed.config.digest);
            digests.extend(parsed.layers.into_iter().map(|l| l.digest));
        } else if let Ok(index) = serde_json::from_slice::<Index>(&manifest) {
            for platform in index.manifests {
                if self.blob(&platform.digest).is_ok() {
                    digests.extend(self.referenced(&platform.digest));
                }
            }
        }
        digests
    }

    /// The app stored as `name`: its manifest, checked, and its digest.
    pub fn app(&self, name: &str) -> Result<Option<(Manifest, String)>> {
        match self.image(name)? {
            Some((Stored::App(manifest), digest)) => Ok(Some((manifest, digest))),
            Some((Stored::Gadget(_), _)) => {
                bail!("{name} is a gadget image, not a wasm-bpf app")
            }
            None => Ok(None),
        }
    }

    /// The app or gadget stored as `name`: its manifest, checked, and its
    /// digest (a gadget's index digest). A name pinned by digest
    /// (`...@sha256:...`) also finds the image stored under a tag with
    /// that digest: content is what a digest names.
    pub fn image(&self, name: &str) -> Result<Option<(Stored, String)>> {
        let pinned = name.rsplit_once('@').map(|(_, digest)| digest);
        let found = self.entries()?.into_iter().find(|entry| {
            entry.name == name || pinned.is_some_and(|digest| entry.manifest.digest == digest)
        });
        let Some(Entry {
            manifest: descriptor,
            ..
        }) = found
        else {
            return Ok(None);
        };
        let context = || format!("{name} in the store {}", self.path.display());
        let bytes = self.blob(&descriptor.digest)?;
        let stored = if gadget::is_index(&bytes) {
            let platform = gadget::platform_manifest(&bytes, gadget::this_architecture())
                .with_context(context)?;
            let manifest = self.blob(&platform.digest).with_context(context)?;
            Stored::Gadget(GadgetManifest::parse(&manifest).with_context(context)?)
        } else {
            Stored::App(Manifest::parse(&bytes).with_context(context)?)
        };
        Ok(Some((stored, descriptor.digest)))
    }
}

/// What a store entry holds.
#[derive(Debug, Clone)]
pub enum Stored {
    App(Manifest),
    /// A gadget image: its manifest for this host's architecture.
    Gadget(GadgetManifest),
}

impl Store {
    /// The digests of manifest `digest` and of every blob it names.
    pub fn manifest_blobs(&self, digest: &str) -> Result<Vec<String>> {
        self.blob(digest)
            .with_context(|| format!("manifest {digest} in the store"))?;
        Ok(self.referenced(digest))
    }

    /// The signatures stored as `name`, every blob checked.
    pub fn signatures(&self, name: &str) -> Result<Option<Signatures>> {
        let Some(descriptor) = self.lookup(name)? else {
            return Ok(None);
        };
        let manifest = self.blob(&descriptor.digest)?;
        let layers = signature::layers(&manifest).with_context(|| name.to_string())?;
        let parsed: Blobs = serde_json::from_slice(&manifest).with_context(|| name.to_string())?;
        let payloads = layers
            .into_iter()
            .map(|layer| {
                let payload = self.blob(&layer.digest)?;
                Ok((layer, payload))
            })
            .collect::<Result<_>>()?;
        Ok(Some(Signatures {
            config: self.blob(&parsed.config.digest)?,
            manifest,
            payloads,
        }))
    }
}

/// The blobs any manifest (an app's or a signature's) refers to.
#[derive(Deserialize)]
struct Blobs {
    config: OciDescriptor,
    #[serde(default)]
    layers: Vec<OciDescriptor>,
}

fn ref_name(descriptor: &OciDescriptor) -> Option<&str> {
    descriptor
        .annotations
        .as_ref()?
        .get(REF_NAME)
        .map(String::as_str)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blobs_are_checked_and_unreferenced_ones_collected() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("store")).unwrap();
        let artifact =
            crate::artifact::Artifact::build(b"\0asm\x01\0\0\0".to_vec(), "t", None, None).unwrap();
        store
            .add(
                &[&artifact.wasm, &artifact.config],
                &[("localhost:1/t:1", &artifact.manifest)],
            )
            .unwrap();
        let (manifest, digest) = store.app("localhost:1/t:1").unwrap().unwrap();
        assert_eq!(digest, artifact.manifest_digest);
        assert_eq!(store.blob(&manifest.layer.digest).unwrap(), artifact.wasm);

        // A blob changed on disk is refused.
        let path = store
            .path()
            .join("blobs")
            .join(manifest.layer.digest.replace(':', "/"));
        std::fs::write(&path, b"\0asm\x01\0\0\x01").unwrap();
        assert!(
            format!("{:#}", store.blob(&manifest.layer.digest).unwrap_err())
                .contains("does not match its digest")
        );

        let removed = store.remove(|name, _| name == "localhost:1/t:1").unwrap();
        assert_eq!(removed, ["localhost:1/t:1"]);
        assert!(store.entries().unwrap().is_empty());
        assert!(store.blob(&manifest.config.digest).is_err());
        assert!(store.blob(&artifact.manifest_digest).is_err());
    }
}
