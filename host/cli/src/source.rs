//! What `run` runs: a registry reference's app, from the local store
//! (pulled first as `--pull` says) and checked against the trust settings
//! on every run, or a local file where the trust settings let one run.

use std::path::Path;

use anyhow::{bail, Context as _, Result};
use wasm_bpf_oci::gadget::GadgetManifest;
use wasm_bpf_oci::store::{Store, Stored};
use wasm_bpf_runtime::run::Source;

use crate::config::Settings;
use crate::flags::{PullPolicy, TrustArgs};
use crate::images;

/// Refuses the local file `what` (an app, a `--sink`) when keys or
/// allowed images restrict what runs, unless `allow-files` says files may.
pub fn local_file_allowed(trust: &TrustArgs, what: &str) -> Result<()> {
    if trust.restricts() && !trust.allow_files {
        bail!(
            "{what} is a local file, and verify-keys or allowed-images admit only apps from \
             registries; run it anyway with --allow-files (or `allow-files = true` in the \
             policy file)"
        );
    }
    Ok(())
}

/// What a `run` argument names.
pub enum Resolved {
    App(Source),
    /// A gadget image, stored as `name` in `store`.
    Gadget {
        store: Store,
        name: String,
        manifest: Box<GadgetManifest>,
    },
}

/// What `run` runs: the app or gadget the registry reference `arg` names,
/// from the store (pulled first as `--pull` says), or else the file `arg`
/// names.
/// An argument that names a registry is always a reference, whatever
/// files exist (a file is then written as a path: `./HOST:PORT/...`), and
/// with keys or allowed images set a file runs only with `allow-files`:
/// neither a file's name nor its place can get it past the trust checks.
pub fn app_source(
    settings: &Settings,
    pull: PullPolicy,
    verbose: bool,
    arg: &str,
) -> Result<Resolved> {
    if !wasm_bpf_oci::names_registry(arg) {
        local_file_allowed(&settings.trust, arg)?;
        if verbose {
            crate::messages::notice(&format!("running the file {arg}"));
        }
        return Ok(Resolved::App(Source::File(arg.into())));
    }
    if Path::new(arg).exists() {
        crate::messages::notice(&format!(
            "{arg} names a registry, so it is run from there, not from the file of that name \
             (write ./{arg} to run the file)"
        ));
    }
    let reference = wasm_bpf_oci::reference(arg)?;
    let name = wasm_bpf_oci::store_name(&reference);
    let store = images::open_store()?;
    let trust = settings.trust.trust()?;
    let stored = match pull {
        PullPolicy::Always => None,
        PullPolicy::Missing | PullPolicy::Never => store.image(&name)?,
    };
    // An app pulled when no key was set has no signatures in the store:
    // with keys set now, they are fetched (unless --pull never).
    let stored = match stored {
        Some((_, digest))
            if !trust.keys.is_empty()
                && pull != PullPolicy::Never
                && store
                    .signatures(&wasm_bpf_oci::signature_name(&reference, &digest)?)?
                    .is_none() =>
        {
            None
        }
        other => other,
    };
    let (manifest, digest) = match stored {
        Some(found) => found,
        None if pull == PullPolicy::Never => bail!(
            "{name} is not in the local store {} and --pull never forbids fetching it \
             (`wasm-bpf pull {name}` first)",
            store.path().display()
        ),
        None => {
            // `run` compiles (and caches) the component itself next.
            let registry = settings.registry.registry()?;
            images::pull_into(&registry, &store, &reference, &trust, false)?;
            store
                .image(&name)?
                .with_context(|| format!("{name} vanished from the store"))?
        }
    };
    // Checked on every run, against what the store holds now: the
    // policy may have changed since the pull.
    wasm_bpf_oci::check_stored(&store, &reference, &digest, &trust)
        .with_context(|| format!("refusing to run {name}"))?;
    if verbose {
        crate::messages::notice(&format!(
            "running {name} ({digest}) from the store {}",
            store.path().display()
        ));
    }
    Ok(match manifest {
        Stored::App(manifest) => Resolved::App(Source::Bytes {
            name: format!("{name} ({digest})"),
            bytes: store.blob(&manifest.layer.digest)?,
        }),
        Stored::Gadget(manifest) => Resolved::Gadget {
            store,
            name: format!("{name} ({digest})"),
            manifest: Box::new(manifest),
        },
    })
}
