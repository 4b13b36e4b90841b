//! `wasm-bpf export` / `import`: apps and gadget images carried without a
//! registry (to an air-gapped site) as a tar of an OCI image layout,
//! signatures included (a gadget's manifest for the exporting host's
//! architecture only),
//! which `skopeo copy oci-archive:FILE:REF ...` reads too. An import checks
//! every blob against its digest and every manifest before it writes
//! anything, then records the names last.

use std::collections::BTreeMap;
use std::io::{Read, Write};

use anyhow::{bail, ensure, Context as _, Result};
use oci_client::manifest::{OciDescriptor, OciImageManifest};

use crate::artifact::{check_blob, check_digest_form, digest, Manifest, CONFIG_MEDIA_TYPE};
use crate::gadget::{self, GadgetManifest};
use crate::signature;
use crate::store::{Index, Store, OCI_LAYOUT, REF_NAME};

/// The largest archive an import reads: a few apps and their signatures.
const MAX_ARCHIVE: u64 = 2 * crate::artifact::MAX_COMPONENT;
const MAX_ENTRIES: usize = 4096;

/// Writes the apps stored as `names` of `store`, and what each needs
/// (blobs, signatures), to `out` as a tar of an OCI image layout.
pub fn export(store: &Store, names: &[String], out: impl Write) -> Result<()> {
    let stored = store.entries()?;
    let find = |name: &str| stored.iter().find(|e| e.name == name).cloned();
    let mut entries = Vec::new();
    for name in names {
        let entry =
            find(name).with_context(|| format!("{name} is not in the store (pull it first)"))?;
        let reference = crate::reference(name)?;
        let signatures = crate::signature_name(&reference, &entry.manifest.digest)?;
        entries.push(entry);
        entries.extend(find(&signatures));
    }
    let mut tar = tar::Builder::new(out);
    let mut add = |path: &str, bytes: &[u8]| -> Result<()> {
        let mut header = tar::Header::new_ustar();
        header.set_size(bytes.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        tar.append_data(&mut header, path, bytes)
            .with_context(|| format!("writing {path}"))
    };
    add("oci-layout", OCI_LAYOUT)?;
    let mut written = std::collections::BTreeSet::new();
    for entry in &entries {
        for blob in store.manifest_blobs(&entry.manifest.digest)? {
            if written.insert(blob.clone()) {
                add(&blob_path(&blob), &store.blob(&blob)?)?;
            }
        }
    }
    let index = Index::of(entries.into_iter().map(|e| e.manifest).collect());
    add("index.json", &serde_json::to_vec_pretty(&index)?)?;
    tar.into_inner()
        .context("finishing the archive")?
        .flush()
        .context("writing the archive")
}

fn blob_path(digest: &str) -> String {
    format!("blobs/{}", digest.replacen(':', "/", 1))
}

/// Reads the archive `input` into `store`; the names imported.
pub fn import(store: &Store, input: impl Read) -> Result<Vec<String>> {
    let mut files = BTreeMap::new();
    let mut archive = tar::Archive::new(input.take(MAX_ARCHIVE + 1));
    let mut total = 0u64;
    for entry in archive.entries().context("reading the archive")? {
        let mut entry = entry.context("reading the archive")?;
        if entry.header().entry_type().is_dir() {
            continue;
        }
        ensure!(files.len() < MAX_ENTRIES, "more than {MAX_ENTRIES} files");
        let path = entry
            .path()
            .context("an entry's name")?
            .to_string_lossy()
            .into_owned();
        let path = path.trim_start_matches("./").to_string();
        total += entry.size();
        ensure!(total <= MAX_ARCHIVE, "more than {MAX_ARCHIVE} bytes");
        let mut bytes = Vec::new();
        entry
            .read_to_end(&mut bytes)
            .with_context(|| format!("reading {path}"))?;
        files.insert(path, bytes);
    }
    let index: Index = serde_json::from_slice(
        files
            .get("index.json")
            .context("no index.json: not an OCI image layout")?,
    )
    .context("index.json")?;
    let blob = |digest: &str| -> Result<&Vec<u8>> {
        check_digest_form(digest)?;
        let bytes = files
            .get(&blob_path(digest))
            .with_context(|| format!("blob {digest} is missing from the archive"))?;
        ensure!(
            digest == self::digest(bytes),
            "blob {digest} does not match its digest"
        );
        Ok(bytes)
    };
    // Everything checked before anything is written.
    let mut blobs = BTreeMap::new();
    let mut names = Vec::new();
    for descriptor in &index.manifests {
        let name = descriptor
            .annotations
            .as_ref()
            .and_then(|a| a.get(REF_NAME))
            .with_context(|| format!("manifest {} has no {REF_NAME}", descriptor.digest))?;
        let reference = crate::reference(name)?;
        let bytes = blob(&descriptor.digest)?;
        let needed = if gadget::is_index(bytes) {
            gadget_blobs(bytes, &blob).with_context(|| name.clone())?
        } else {
            app_or_signature_blobs(bytes, &reference, &blob).with_context(|| name.clone())?
        };
        for descriptor in &needed {
            check_blob(descriptor, blob(&descriptor.digest)?).with_context(|| name.clone())?;
            blobs.insert(descriptor.digest.clone(), blob(&descriptor.digest)?);
        }
        names.push((name.clone(), bytes));
    }
    let blobs: Vec<&[u8]> = blobs.values().map(|b| b.as_slice()).collect();
    let entries: Vec<(&str, &[u8])> = names
        .iter()
        .map(|(name, manifest)| (name.as_str(), manifest.as_slice()))
        .collect();
    store.add(&blobs, &entries)?;
    Ok(names.into_iter().map(|(name, _)| name).collect())
}

/// Of gadget image index `index`, the blobs this architecture needs: its
/// manifest, config and layers.
fn gadget_blobs<'a>(
    index: &[u8],
    blob: &impl Fn(&str) -> Result<&'a Vec<u8>>,
) -> Result<Vec<OciDescriptor>> {
    let platform = gadget::platform_manifest(index, gadget::this_architecture())?;
    let parsed = GadgetManifest::parse(blob(&platform.digest)?)?;
    let mut needed = vec![platform, parsed.config];
    needed.extend(parsed.layers);
    Ok(needed)
}

/// The blobs app or signature manifest `bytes`, stored as `reference`,
/// needs, the app's component checked to be WebAssembly.
fn app_or_signature_blobs<'a>(
    bytes: &[u8],
    reference: &crate::Reference,
    blob: &impl Fn(&str) -> Result<&'a Vec<u8>>,
) -> Result<Vec<OciDescriptor>> {
    let manifest: OciImageManifest = serde_json::from_slice(bytes).context("its manifest")?;
    let mut needed = vec![manifest.config.clone()];
    if manifest.config.media_type == CONFIG_MEDIA_TYPE {
        let app = Manifest::parse(bytes)?;
        let wasm = blob(&app.layer.digest)?;
        check_blob(&app.layer, wasm)?;
        if !wasmparser::Parser::is_component(wasm) && !wasmparser::Parser::is_core_wasm(wasm) {
            bail!("its application/wasm layer is not WebAssembly");
        }
        needed.push(app.layer);
    } else {
        ensure!(
            reference.tag().is_some_and(signature::is_tag),
            "it is neither a Wasm artifact, a gadget image nor a signature"
        );
        needed.extend(signature::layers(bytes)?);
    }
    Ok(needed)
}
