//! The registry commands (`push`, `pull`, `sign`, `verify`, `images`,
//! `export`, `import`, `rmi`, `inspect REF`): the CLI over
//! [`wasm_bpf_oci`].

use anyhow::{bail, Context as _, Result};
use wasm_bpf_oci::artifact::{digest, Artifact, Manifest};
use wasm_bpf_oci::signature::{self, Signatures};
use wasm_bpf_oci::store::Stored;
use wasm_bpf_oci::store::{self, Store};
use wasm_bpf_oci::trust::Trust;
use wasm_bpf_oci::{Image, Reference, Registry, RegistryOptions};

use crate::config::{self, Settings};
use crate::flags::{
    ExportArgs, ImportArgs, PullArgs, PushArgs, RegistryArgs, RmiArgs, SignArgs, TrustArgs,
    VerifyArgs,
};

impl RegistryArgs {
    pub(crate) fn registry(&self) -> Result<Registry> {
        Registry::new(&RegistryOptions {
            insecure: self.insecure.clone(),
            ca_files: self.ca_files.clone(),
            creds: self.creds.clone(),
        })
    }
}

impl TrustArgs {
    pub(crate) fn trust(&self) -> Result<Trust> {
        Trust::new(
            &self.verify_keys,
            self.allowed_images.clone(),
            self.allow_unsigned,
        )?
        .remapping(&self.remap_identity)
    }

    /// Whether anything limits which apps run.
    pub fn restricts(&self) -> bool {
        !self.verify_keys.is_empty() || !self.allowed_images.is_empty()
    }
}

pub(crate) fn open_store() -> Result<Store> {
    let dir =
        store::default_dir().context("no image store: neither XDG_DATA_HOME nor HOME is set")?;
    Store::open(&dir)
}

pub fn push(args: &PushArgs) -> Result<()> {
    let reference = wasm_bpf_oci::reference(&args.reference)?;
    let wasm =
        std::fs::read(&args.file).with_context(|| format!("reading {}", args.file.display()))?;
    // An app without embedded objects (one that reads its .bpf.o from a
    // --dir) is still an app; it just carries no report.
    let report = wasm_bpf_runtime::inspect::inspect(&wasm).ok();
    let title = args
        .file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let artifact = Artifact::build(wasm, &title, reference.tag(), report.as_ref())
        .with_context(|| format!("{}", args.file.display()))?;
    args.registry
        .registry()?
        .push(&reference, &artifact)
        .with_context(|| format!("pushing to {}", reference.whole()))?;
    println!("{}@{}", reference.whole(), artifact.manifest_digest);
    Ok(())
}

/// Pulls `reference` into `store` and compiles it into the compile cache,
/// so that the first `run` starts warm.
pub(crate) fn pull_into(
    registry: &Registry,
    store: &Store,
    reference: &Reference,
    trust: &Trust,
    cache: bool,
) -> Result<Image> {
    let image = wasm_bpf_oci::pull(registry, store, reference, trust)
        .with_context(|| format!("pulling {}", reference.whole()))?;
    if let (true, Some(cache), Image::App(artifact)) = (
        cache,
        wasm_bpf_runtime::component::Cache::default_cache(),
        &image,
    ) {
        if wasmparser::Parser::is_component(&artifact.wasm) {
            let engine = wasm_bpf_runtime::run::engine()?;
            wasm_bpf_runtime::component::load(&engine, &artifact.wasm, None, Some(&cache))
                .map_err(anyhow::Error::from)
                .with_context(|| format!("compiling {}", reference.whole()))?;
        }
    }
    Ok(image)
}

pub fn pull(args: &PullArgs) -> Result<()> {
    let reference = wasm_bpf_oci::reference(&args.reference)?;
    let flags = Settings {
        registry: args.registry.clone(),
        trust: args.trust.clone(),
        ..Settings::default()
    };
    let settings = match &args.policy {
        Some(path) => config::merge(&flags, &crate::policy_file::read(path)?),
        None => flags,
    };
    let image = pull_into(
        &settings.registry.registry()?,
        &open_store()?,
        &reference,
        &settings.trust.trust()?,
        !args.no_cache,
    )?;
    println!(
        "{} {}",
        wasm_bpf_oci::store_name(&reference),
        image.digest()
    );
    Ok(())
}

/// Whether `name` is a signature entry (`...:sha256-HEX.sig`).
fn is_signature(name: &str) -> bool {
    name.rsplit_once(':')
        .is_some_and(|(_, tag)| signature::is_tag(tag))
}

pub fn images() -> Result<()> {
    let store = open_store()?;
    let entries = store.entries()?;
    let names: std::collections::BTreeSet<&str> = entries.iter().map(|e| e.name.as_str()).collect();
    println!(
        "{:<50} {:<19} {:>10} {:<6}  GRANTS",
        "REFERENCE", "DIGEST", "SIZE", "SIGNED"
    );
    for entry in entries.iter().filter(|e| !is_signature(&e.name)) {
        let (size, grants) = match store.image(&entry.name) {
            Ok(Some((Stored::App(manifest), _))) => (
                bytesize::ByteSize(manifest.layer.size.max(0) as u64).to_string(),
                grants(&manifest),
            ),
            // A gadget's grants are the run's: its runner is an app like
            // any other.
            Ok(Some((Stored::Gadget(manifest), _))) => (
                bytesize::ByteSize(manifest.ebpf.size.max(0) as u64).to_string(),
                "(gadget)".into(),
            ),
            Ok(None) => continue,
            Err(e) => ("?".into(), format!("unreadable: {e:#}")),
        };
        let digest = &entry.manifest.digest;
        let signed = wasm_bpf_oci::reference(&entry.name)
            .and_then(|r| wasm_bpf_oci::signature_name(&r, digest))
            .is_ok_and(|name| names.contains(name.as_str()));
        println!(
            "{:<50} {:<19} {:>10} {:<6}  {grants}",
            entry.name,
            digest.get(..19).unwrap_or(digest),
            size,
            if signed { "yes" } else { "no" }
        );
    }
    Ok(())
}

fn grants(manifest: &Manifest) -> String {
    match manifest.report() {
        Ok(Some(report)) if report.grants.is_empty() => "none".into(),
        Ok(Some(report)) => report.grants.into_iter().collect::<Vec<_>>().join(" "),
        Ok(None) => "unknown (no report)".into(),
        Err(e) => format!("unreadable report: {e:#}"),
    }
}

pub fn rmi(args: &RmiArgs) -> Result<()> {
    let store = open_store()?;
    for name in &args.references {
        let removed = store.remove(|stored, _| stored == name && !is_signature(stored))?;
        if removed.is_empty() {
            bail!("{name} is not in the store {}", store.path().display());
        }
        println!("removed {name}");
    }
    // Signatures of content no app entry names any more go too.
    let apps: std::collections::BTreeSet<String> = store
        .entries()?
        .into_iter()
        .filter(|e| !is_signature(&e.name))
        .filter_map(|e| {
            let reference = wasm_bpf_oci::reference(&e.name).ok()?;
            wasm_bpf_oci::signature_name(&reference, &e.manifest.digest).ok()
        })
        .collect();
    store.remove(|stored, _| is_signature(stored) && !apps.contains(stored))?;
    Ok(())
}

pub fn sign(args: &SignArgs) -> Result<()> {
    let reference = wasm_bpf_oci::reference(&args.reference)?;
    let key = signature::private_key(&args.key)?;
    let registry = args.registry.registry()?;
    let digest = digest(&registry.manifest_bytes(&reference)?);
    let repository = format!("{}/{}", reference.registry(), reference.repository());
    let payload = signature::payload(&repository, &digest)?;
    let signed = signature::sign(&key, &payload);
    let signatures = match registry.signatures(&reference, &digest)? {
        Some(existing) => existing.with(payload, signed)?,
        None => Signatures::of(vec![(signature::layer(&payload, signed), payload)])?,
    };
    registry.push_signatures(&reference, &digest, &signatures)?;
    println!(
        "signed {repository}@{digest} as {}",
        wasm_bpf_oci::signature_name(&reference, &digest)?
    );
    Ok(())
}

pub fn verify(args: &VerifyArgs) -> Result<()> {
    let reference = wasm_bpf_oci::reference(&args.reference)?;
    let trust = Trust::new(&args.key, Vec::new(), false)?;
    let registry = args.registry.registry()?;
    let digest = digest(&registry.manifest_bytes(&reference)?);
    let signatures = registry.signatures(&reference, &digest)?;
    let key = trust
        .check_signed(&reference, &digest, signatures.as_ref())
        .with_context(|| reference.whole())?;
    if let Some(key) = key {
        println!(
            "{}@{digest}: signed by {}",
            reference.whole(),
            key.display()
        );
    }
    Ok(())
}

pub fn export(args: &ExportArgs) -> Result<()> {
    let store = open_store()?;
    let partial = args.output.with_extension("partial");
    let file = std::fs::File::create(&partial)
        .with_context(|| format!("creating {}", partial.display()))?;
    let written =
        wasm_bpf_oci::archive::export(&store, &args.references, std::io::BufWriter::new(file))
            .and_then(|()| {
                std::fs::rename(&partial, &args.output)
                    .with_context(|| format!("writing {}", args.output.display()))
            });
    if written.is_err() {
        let _ = std::fs::remove_file(&partial);
    }
    written
}

pub fn import(args: &ImportArgs) -> Result<()> {
    let file = std::fs::File::open(&args.file)
        .with_context(|| format!("opening {}", args.file.display()))?;
    let names = wasm_bpf_oci::archive::import(&open_store()?, std::io::BufReader::new(file))
        .with_context(|| format!("importing {}", args.file.display()))?;
    for name in names {
        println!("imported {name}");
    }
    Ok(())
}

/// `inspect REF`: what the app does in the kernel, from the report its
/// manifest carries (the store's copy, else the registry's), without
/// fetching the component.
pub fn inspect(text: &str, registry_args: &RegistryArgs) -> Result<()> {
    let reference = wasm_bpf_oci::reference(text)?;
    let store = open_store()?;
    let (manifest, digest, source) = match store.app(&wasm_bpf_oci::store_name(&reference))? {
        Some((manifest, digest)) => (manifest, digest, "the local store"),
        None => {
            let (bytes, manifest) = registry_args.registry()?.manifest(&reference)?;
            (manifest, digest(&bytes), "the registry")
        }
    };
    println!("reference: {}", reference.whole());
    println!("digest: {digest} (from {source})");
    println!(
        "component: {}",
        bytesize::ByteSize(manifest.layer.size.max(0) as u64)
    );
    if let Some(created) = manifest
        .manifest
        .annotations
        .as_ref()
        .and_then(|a| a.get("org.opencontainers.image.created"))
    {
        println!("created: {created}");
    }
    match manifest.report()? {
        Some(report) => {
            // The pusher wrote the report; `run` checks what the kernel
            // receives, whatever it says.
            println!("as reported by its pusher:");
            print!("{report}");
        }
        None => println!(
            "no report: the artifact was not pushed by wasm-bpf; \
             `wasm-bpf pull` it and inspect the file to see its objects"
        ),
    }
    Ok(())
}
