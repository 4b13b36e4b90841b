//! `wasm-bpf run --policy FILE`: the grants and limits of `run`'s flags,
//! kept in a TOML file next to the application. The keys are the flags'
//! names; a file and flags together grant the union, and a flag given on
//! the command line overrides the file's `allow-pin`, `max-memory`,
//! `max-kernel-memory`, `timeout`, `grace` or `cache-max`.
//!
//! ```toml
//! allow = ["kprobe"]
//! allow-helper = ["bpf_send_signal"]
//! allow-kfunc = ["bpf_send_signal_task"]
//! allow-net = ["eth0"]
//! allow-pid = [1234]
//! allow-pin = "/sys/fs/bpf/myapp"
//! dir = ["/srv/bin::/app"]
//! env = ["HOME", "LANG=C"]
//! max-memory = "128MiB"
//! max-kernel-memory = "256MiB"
//! timeout = "30s"
//! grace = "5s"
//! cache-max = "1GiB"
//! # Apps from registries (`run REF`; `pull --policy` reads these too).
//! insecure-registry = ["localhost:5000"]
//! registry-ca = ["/etc/wasm-bpf/ca.pem"]
//! verify-keys = ["/etc/wasm-bpf/release.pub"]
//! allowed-images = ["ghcr.io/org/*", "localhost:5000/tools/app@sha256:..."]
//! allow-unsigned = false
//! allow-files = false          # with keys or allowed-images: run local files too
//! remap-identity = ["mirror.local/apps/=ghcr.io/org/"]
//! ```

use std::path::Path;

use anyhow::{Context as _, Result};
use serde::Deserialize;

use crate::cli::RunArgs;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct PolicyFile {
    #[serde(default)]
    allow: Vec<String>,
    #[serde(default)]
    allow_helper: Vec<String>,
    #[serde(default)]
    allow_kfunc: Vec<String>,
    #[serde(default)]
    allow_net: Vec<String>,
    #[serde(default)]
    allow_pid: Vec<i32>,
    #[serde(default)]
    dir: Vec<String>,
    allow_pin: Option<std::path::PathBuf>,
    #[serde(default)]
    env: Vec<String>,
    max_memory: Option<String>,
    max_kernel_memory: Option<String>,
    timeout: Option<String>,
    grace: Option<String>,
    cache_max: Option<String>,
    #[cfg(feature = "registry")]
    #[serde(default)]
    insecure_registry: Vec<String>,
    #[cfg(feature = "registry")]
    #[serde(default)]
    registry_ca: Vec<std::path::PathBuf>,
    #[cfg(feature = "registry")]
    #[serde(default)]
    verify_keys: Vec<std::path::PathBuf>,
    #[cfg(feature = "registry")]
    #[serde(default)]
    allowed_images: Vec<String>,
    #[cfg(feature = "registry")]
    #[serde(default)]
    allow_unsigned: bool,
    #[cfg(feature = "registry")]
    #[serde(default)]
    allow_files: bool,
    #[cfg(feature = "registry")]
    #[serde(default)]
    remap_identity: Vec<String>,
}

fn read(path: &Path) -> Result<PolicyFile> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    toml::from_str(&text).with_context(|| format!("policy file {}", path.display()))
}

/// Adds the grants of the policy file at `path` to `args`.
pub fn apply(path: &Path, args: &mut RunArgs) -> Result<()> {
    let file = read(path)?;
    #[cfg(feature = "registry")]
    add_registry(&file, &mut args.registry, &mut args.trust);
    let in_file = |key: &str| format!("policy file {}: `{key}`", path.display());
    for hook in &file.allow {
        args.allow.push(
            hook.parse()
                .map_err(anyhow::Error::msg)
                .with_context(|| in_file("allow"))?,
        );
    }
    for helper in file.allow_helper {
        let checked = crate::cli::helper_name(&helper).map_err(anyhow::Error::msg);
        args.allow_helpers
            .push(checked.with_context(|| in_file("allow-helper"))?);
    }
    args.allow_kfuncs.extend(file.allow_kfunc);
    args.allow_net.extend(file.allow_net);
    args.allow_pids.extend(file.allow_pid);
    args.dirs.extend(file.dir);
    if args.allow_pin.is_none() {
        args.allow_pin = file.allow_pin;
    }
    args.env.extend(file.env);
    if let (Some(size), false) = (file.max_memory, args.max_memory_given()) {
        args.max_memory = size
            .parse()
            .map_err(anyhow::Error::msg)
            .with_context(|| in_file("max-memory"))?;
    }
    if let (Some(size), None) = (file.max_kernel_memory, args.max_kernel_memory_flag) {
        args.max_kernel_memory = size
            .parse()
            .map_err(anyhow::Error::msg)
            .with_context(|| in_file("max-kernel-memory"))?;
    }
    if let (Some(grace), None) = (file.grace, args.grace) {
        args.grace = Some(humantime::parse_duration(&grace).with_context(|| in_file("grace"))?);
    }
    if let (Some(size), None) = (file.cache_max, args.cache_max) {
        args.cache_max = Some(
            size.parse()
                .map_err(anyhow::Error::msg)
                .with_context(|| in_file("cache-max"))?,
        );
    }
    if let (Some(timeout), None) = (file.timeout, args.timeout) {
        args.timeout =
            Some(humantime::parse_duration(&timeout).with_context(|| in_file("timeout"))?);
    }
    Ok(())
}

/// Adds the registry settings and trust of the policy file at `path`.
#[cfg(feature = "registry")]
pub fn apply_registry(
    path: &Path,
    registry: &mut crate::images::RegistryArgs,
    trust: &mut crate::images::TrustArgs,
) -> Result<()> {
    add_registry(&read(path)?, registry, trust);
    Ok(())
}

#[cfg(feature = "registry")]
fn add_registry(
    file: &PolicyFile,
    registry: &mut crate::images::RegistryArgs,
    trust: &mut crate::images::TrustArgs,
) {
    registry
        .insecure
        .extend(file.insecure_registry.iter().cloned());
    registry.ca_files.extend(file.registry_ca.iter().cloned());
    trust.verify_keys.extend(file.verify_keys.iter().cloned());
    trust
        .allowed_images
        .extend(file.allowed_images.iter().cloned());
    trust.allow_unsigned |= file.allow_unsigned;
    trust.allow_files |= file.allow_files;
    trust
        .remap_identity
        .extend(file.remap_identity.iter().cloned());
}
