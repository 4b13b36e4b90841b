//! The registry commands (`push`, `pull`, `images`, `rmi`) and `run REF`:
//! the CLI over [`wasm_bpf::registry`].

use std::path::{Path, PathBuf};

use anyhow::{bail, Context as _, Result};
use clap::{Args, ValueEnum};
use wasm_bpf::registry::artifact::{digest, Artifact, Manifest};
use wasm_bpf::registry::signature::{self, Signatures};
use wasm_bpf::registry::store::{self, Store};
use wasm_bpf::registry::trust::Trust;
use wasm_bpf::registry::{self, Reference, Registry, RegistryOptions};
use wasm_bpf::run::Source;

use crate::cli::RunArgs;

/// How to reach registries (every command that talks to one).
#[derive(Debug, Clone, Default, Args)]
pub struct RegistryArgs {
    /// Talk plain HTTP to this registry (HOST:PORT, exactly as in the
    /// reference); every other one is HTTPS.
    #[arg(long = "insecure-registry", value_name = "HOST:PORT")]
    pub insecure: Vec<String>,

    /// Trust this CA (a PEM file) for registries' certificates, besides
    /// the system's.
    #[arg(long = "registry-ca", value_name = "FILE")]
    pub ca_files: Vec<PathBuf>,

    /// Log in with these credentials instead of those in the auth file
    /// ($REGISTRY_AUTH_FILE, $XDG_RUNTIME_DIR/containers/auth.json or
    /// ~/.docker/config.json, as `podman login` and `docker login` write).
    #[arg(long, value_name = "USER:PASS")]
    pub creds: Option<String>,
}

impl RegistryArgs {
    fn registry(&self) -> Result<Registry> {
        Registry::new(&RegistryOptions {
            insecure: self.insecure.clone(),
            ca_files: self.ca_files.clone(),
            creds: self.creds.clone(),
        })
    }
}

/// Which apps from registries may run (`pull` and `run REF`).
#[derive(Debug, Clone, Default, Args)]
pub struct TrustArgs {
    /// Accept only apps signed (cosign, key-based) by this public key (a
    /// PEM file); repeat it to accept any of several.
    #[arg(long = "verify-key", value_name = "PUB.pem")]
    pub verify_keys: Vec<PathBuf>,

    /// Accept only apps whose reference matches: exactly
    /// (`HOST/REPO:TAG`), by prefix (`HOST/REPO/*`), or by content
    /// (`HOST/REPO@sha256:DIGEST`); repeatable.
    #[arg(long = "allowed-image", value_name = "PATTERN")]
    pub allowed_images: Vec<String>,

    /// With --verify-key: let apps with no signature at all run too.
    #[arg(long)]
    pub allow_unsigned: bool,

    /// With --verify-key or --allowed-image: let local files run too
    /// (otherwise only apps from registries, which those check, run).
    #[arg(long)]
    pub allow_files: bool,

    /// A mirror: apps run from repositories starting with RUN_PREFIX may
    /// carry signatures made for SIGNED_PREFIX instead (by default a
    /// signature must name the repository run); repeatable.
    #[arg(long = "remap-identity", value_name = "RUN_PREFIX=SIGNED_PREFIX")]
    pub remap_identity: Vec<String>,
}

impl TrustArgs {
    fn trust(&self) -> Result<Trust> {
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

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PullPolicy {
    Missing,
    Always,
    Never,
}

#[derive(Debug, Args)]
pub struct PushArgs {
    /// The app: a component, or a core module of the original ABI.
    pub file: PathBuf,
    /// Where to push it: HOST[:PORT]/REPO[:TAG].
    pub reference: String,
    #[command(flatten)]
    pub registry: RegistryArgs,
}

#[derive(Debug, Args)]
pub struct PullArgs {
    /// HOST[:PORT]/REPO[:TAG] or HOST[:PORT]/REPO@sha256:DIGEST.
    pub reference: String,
    #[command(flatten)]
    pub registry: RegistryArgs,
    #[command(flatten)]
    pub trust: TrustArgs,
    /// Read registry settings and trust (insecure-registry, registry-ca,
    /// verify-keys, allowed-images, allow-unsigned) from this policy file.
    #[arg(long, value_name = "FILE")]
    pub policy: Option<PathBuf>,
    /// Do not compile the app into the compile cache.
    #[arg(long)]
    pub no_cache: bool,
}

#[derive(Debug, Args)]
pub struct SignArgs {
    /// The app to sign, as pushed: HOST[:PORT]/REPO[:TAG] or @sha256:DIGEST.
    pub reference: String,
    /// The private key: ECDSA P-256 in PEM (PKCS#8 or SEC1), unencrypted.
    #[arg(long, value_name = "KEY.pem")]
    pub key: PathBuf,
    #[command(flatten)]
    pub registry: RegistryArgs,
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The app to verify, in its registry.
    pub reference: String,
    /// A public key (PEM) that may have signed it; repeatable.
    #[arg(long, value_name = "PUB.pem", required = true)]
    pub key: Vec<PathBuf>,
    #[command(flatten)]
    pub registry: RegistryArgs,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The apps to export, as `images` lists them.
    #[arg(required = true)]
    pub references: Vec<String>,
    /// The tar file to write.
    #[arg(short, long)]
    pub output: PathBuf,
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The tar file `export` wrote.
    pub file: PathBuf,
}

#[derive(Debug, Args)]
pub struct RmiArgs {
    /// The references to remove, as `images` lists them.
    #[arg(required = true)]
    pub references: Vec<String>,
}

fn open_store() -> Result<Store> {
    let dir =
        store::default_dir().context("no image store: neither XDG_DATA_HOME nor HOME is set")?;
    Store::open(&dir)
}

pub fn push(args: &PushArgs) -> Result<()> {
    let reference = registry::reference(&args.reference)?;
    let wasm =
        std::fs::read(&args.file).with_context(|| format!("reading {}", args.file.display()))?;
    // An app without embedded objects (one that reads its .bpf.o from a
    // --dir) is still an app; it just carries no report.
    let report = wasm_bpf::inspect::inspect(&wasm).ok();
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
fn pull_into(
    registry: &Registry,
    store: &Store,
    reference: &Reference,
    trust: &Trust,
    cache: bool,
) -> Result<Artifact> {
    let artifact = registry::pull(registry, store, reference, trust)
        .with_context(|| format!("pulling {}", reference.whole()))?;
    if let (true, Some(cache)) = (cache, wasm_bpf::component::Cache::default_cache()) {
        if wasmparser::Parser::is_component(&artifact.wasm) {
            let engine = wasm_bpf::run::engine()?;
            wasm_bpf::component::load(&engine, &artifact.wasm, None, Some(&cache))
                .map_err(anyhow::Error::from)
                .with_context(|| format!("compiling {}", reference.whole()))?;
        }
    }
    Ok(artifact)
}

pub fn pull(args: &PullArgs) -> Result<()> {
    let reference = registry::reference(&args.reference)?;
    let (mut registry_args, mut trust_args) = (args.registry.clone(), args.trust.clone());
    if let Some(path) = &args.policy {
        crate::policy_file::apply_registry(path, &mut registry_args, &mut trust_args)?;
    }
    let artifact = pull_into(
        &registry_args.registry()?,
        &open_store()?,
        &reference,
        &trust_args.trust()?,
        !args.no_cache,
    )?;
    println!(
        "{} {}",
        registry::store_name(&reference),
        artifact.manifest_digest
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
        let (size, grants) = match store.app(&entry.name) {
            Ok(Some((manifest, _))) => (
                bytesize::ByteSize(manifest.layer.size.max(0) as u64).to_string(),
                grants(&manifest),
            ),
            Ok(None) => continue,
            Err(e) => ("?".into(), format!("unreadable: {e:#}")),
        };
        let digest = &entry.manifest.digest;
        let signed = registry::reference(&entry.name)
            .and_then(|r| registry::signature_name(&r, digest))
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
            let reference = registry::reference(&e.name).ok()?;
            registry::signature_name(&reference, &e.manifest.digest).ok()
        })
        .collect();
    store.remove(|stored, _| is_signature(stored) && !apps.contains(stored))?;
    Ok(())
}

pub fn sign(args: &SignArgs) -> Result<()> {
    let reference = registry::reference(&args.reference)?;
    let key = signature::private_key(&args.key)?;
    let registry = args.registry.registry()?;
    let (manifest, _) = registry.manifest(&reference)?;
    let digest = digest(&manifest);
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
        registry::signature_name(&reference, &digest)?
    );
    Ok(())
}

pub fn verify(args: &VerifyArgs) -> Result<()> {
    let reference = registry::reference(&args.reference)?;
    let trust = Trust::new(&args.key, Vec::new(), false)?;
    let registry = args.registry.registry()?;
    let (manifest, _) = registry.manifest(&reference)?;
    let digest = digest(&manifest);
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
        registry::archive::export(&store, &args.references, std::io::BufWriter::new(file))
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
    let names = registry::archive::import(&open_store()?, std::io::BufReader::new(file))
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
    let reference = registry::reference(text)?;
    let store = open_store()?;
    let (manifest, digest, source) = match store.app(&registry::store_name(&reference))? {
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

/// Refuses the local file `what` (an app, a `--sink`) when keys or
/// allowed images restrict what runs, unless `allow-files` says files may.
pub fn local_file_allowed(args: &RunArgs, what: &str) -> Result<()> {
    if args.trust.restricts() && !args.trust.allow_files {
        bail!(
            "{what} is a local file, and verify-keys or allowed-images admit only apps from \
             registries; run it anyway with --allow-files (or `allow-files = true` in the \
             policy file)"
        );
    }
    Ok(())
}

/// What `run` runs: the app the registry reference `arg` names, from the
/// store (pulled first as `--pull` says), or else the file `arg` names.
/// An argument that names a registry is always a reference, whatever
/// files exist (a file is then written as a path: `./HOST:PORT/...`), and
/// with keys or allowed images set a file runs only with `allow-files`:
/// neither a file's name nor its place can get it past the trust checks.
pub fn app_source(args: &RunArgs, arg: &str) -> Result<Source> {
    if !registry::names_registry(arg) {
        local_file_allowed(args, arg)?;
        if args.verbose {
            crate::messages::notice(&format!("running the file {arg}"));
        }
        return Ok(Source::File(arg.into()));
    }
    if Path::new(arg).exists() {
        crate::messages::notice(&format!(
            "{arg} names a registry, so it is run from there, not from the file of that name \
             (write ./{arg} to run the file)"
        ));
    }
    let reference = registry::reference(arg)?;
    let name = registry::store_name(&reference);
    let store = open_store()?;
    let trust = args.trust.trust()?;
    let stored = match args.pull {
        PullPolicy::Always => None,
        PullPolicy::Missing | PullPolicy::Never => store.app(&name)?,
    };
    // An app pulled when no key was set has no signatures in the store:
    // with keys set now, they are fetched (unless --pull never).
    let stored = match stored {
        Some((_, digest))
            if !trust.keys.is_empty()
                && args.pull != PullPolicy::Never
                && store
                    .signatures(&registry::signature_name(&reference, &digest)?)?
                    .is_none() =>
        {
            None
        }
        other => other,
    };
    let (manifest, digest) = match stored {
        Some(found) => found,
        None if args.pull == PullPolicy::Never => bail!(
            "{name} is not in the local store {} and --pull never forbids fetching it \
             (`wasm-bpf pull {name}` first)",
            store.path().display()
        ),
        None => {
            // `run` compiles (and caches) the component itself next.
            let registry = args.registry.registry()?;
            pull_into(&registry, &store, &reference, &trust, false)?;
            store
                .app(&name)?
                .with_context(|| format!("{name} vanished from the store"))?
        }
    };
    // Checked on every run, against what the store holds now: the
    // policy may have changed since the pull.
    registry::check_stored(&store, &reference, &digest, &trust)
        .with_context(|| format!("refusing to run {name}"))?;
    if args.verbose {
        crate::messages::notice(&format!(
            "running {name} ({digest}) from the store {}",
            store.path().display()
        ));
    }
    Ok(Source::Bytes {
        name: format!("{name} ({digest})"),
        bytes: store.blob(&manifest.layer.digest)?,
    })
}
