//! `wasm-bpf run --policy FILE`: the grants and limits of `run`'s flags,
//! kept in a TOML file next to the application, read into a
//! [`Settings`] value (which `config::merge` joins with the flags'). The
//! keys are the flags' names. A relative path in the file (`allow-pin`,
//! the host side of `dir`, `registry-ca`, `verify-keys`) is taken from the
//! file's directory, so a file means the same from any working directory.
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

use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};
use serde::Deserialize;

use crate::config::Settings;
use crate::flags::Grants;

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
    allow_pin: Option<PathBuf>,
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
    registry_ca: Vec<PathBuf>,
    #[cfg(feature = "registry")]
    #[serde(default)]
    verify_keys: Vec<PathBuf>,
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

/// The settings of the policy file at `path`.
pub fn read(path: &Path) -> Result<Settings> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let file: PolicyFile =
        toml::from_str(&text).with_context(|| format!("policy file {}", path.display()))?;
    let base = path.parent().unwrap_or(Path::new(""));
    settings(file, base).with_context(|| format!("policy file {}", path.display()))
}

/// The settings of `table`, a policy file's keys read from another file
/// (an agent's app file) in the directory `base`.
pub fn from_table(table: toml::Table, base: &Path) -> Result<Settings> {
    let file: PolicyFile = toml::Value::Table(table).try_into()?;
    settings(file, base)
}

/// `path`, taken from `base` if relative.
fn beneath(base: &Path, path: PathBuf) -> PathBuf {
    if path.is_relative() {
        base.join(path)
    } else {
        path
    }
}

/// A `dir` entry (`HOST[::GUEST]`) with its host side taken from `base`;
/// the guest still sees it where the entry says.
fn dir_entry(base: &Path, entry: &str) -> String {
    let (host, guest) = entry.split_once("::").unwrap_or((entry, entry));
    format!("{}::{guest}", beneath(base, host.into()).display())
}

fn parsed<T, E: std::fmt::Display>(
    key: &str,
    value: Option<String>,
    parse: impl Fn(&str) -> Result<T, E>,
) -> Result<Option<T>> {
    value
        .map(|v| parse(&v).map_err(|e| anyhow::anyhow!("`{key}`: {e}")))
        .transpose()
}

fn settings(file: PolicyFile, base: &Path) -> Result<Settings> {
    let allow = file
        .allow
        .iter()
        .map(|hook| hook.parse().map_err(|e| anyhow::anyhow!("`allow`: {e}")))
        .collect::<Result<_>>()?;
    let allow_helpers = file
        .allow_helper
        .iter()
        .map(|helper| {
            crate::flags::helper_name(helper).map_err(|e| anyhow::anyhow!("`allow-helper`: {e}"))
        })
        .collect::<Result<_>>()?;
    let size = |s: &str| s.parse::<bytesize::ByteSize>();
    let duration = |s: &str| humantime::parse_duration(s);
    Ok(Settings {
        grants: Grants {
            env: file.env,
            dirs: file.dir.iter().map(|d| dir_entry(base, d)).collect(),
            timeout: parsed("timeout", file.timeout, duration)?,
            grace: parsed("grace", file.grace, duration)?,
            allow,
            allow_helpers,
            allow_kfuncs: file.allow_kfunc,
            allow_net: file.allow_net,
            allow_pids: file.allow_pid,
            allow_pin: file.allow_pin.map(|p| beneath(base, p)),
            max_memory: parsed("max-memory", file.max_memory, size)?,
            max_kernel_memory: parsed("max-kernel-memory", file.max_kernel_memory, size)?,
            cache_max: parsed("cache-max", file.cache_max, size)?,
        },
        #[cfg(feature = "registry")]
        registry: crate::flags::RegistryArgs {
            insecure: file.insecure_registry,
            ca_files: file
                .registry_ca
                .into_iter()
                .map(|p| beneath(base, p))
                .collect(),
            creds: None,
        },
        #[cfg(feature = "registry")]
        trust: crate::flags::TrustArgs {
            verify_keys: file
                .verify_keys
                .into_iter()
                .map(|p| beneath(base, p))
                .collect(),
            allowed_images: file.allowed_images,
            allow_unsigned: file.allow_unsigned,
            allow_files: file.allow_files,
            remap_identity: file.remap_identity,
        },
    })
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use bytesize::ByteSize;
    use wasm_bpf_runtime::bpf::policy::Hook;

    use super::*;

    fn from(text: &str) -> Result<Settings> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("policy.toml");
        std::fs::write(&path, text).unwrap();
        read(&path).map(|s| {
            // Paths are the temporary directory's: shown from `/policy`.
            let fix = |p: &mut PathBuf| {
                if let Ok(rest) = p.strip_prefix(dir.path()) {
                    *p = Path::new("/policy").join(rest);
                }
            };
            let mut s = s;
            s.grants.allow_pin.as_mut().map(fix);
            for d in &mut s.grants.dirs {
                *d = d.replace(&dir.path().display().to_string(), "/policy");
            }
            #[cfg(feature = "registry")]
            s.trust
                .verify_keys
                .iter_mut()
                .chain(&mut s.registry.ca_files)
                .for_each(fix);
            s
        })
    }

    #[test]
    fn every_key_is_read_and_relative_paths_are_the_files() {
        let s = from(
            r#"
            allow = ["cgroup"]
            allow-helper = ["bpf_send_signal"]
            allow-kfunc = ["bpf_send_signal_task"]
            allow-net = ["eth0"]
            allow-pid = [7]
            allow-pin = "pins"
            dir = ["data", "bin::/app", "/srv::/srv"]
            env = ["LANG=C"]
            max-memory = "128MiB"
            max-kernel-memory = "256MiB"
            timeout = "30s"
            grace = "5s"
            cache-max = "1GiB"
            "#,
        )
        .unwrap();
        let g = &s.grants;
        assert_eq!(g.allow, [Hook::Cgroup]);
        assert_eq!(g.allow_helpers, ["bpf_send_signal"]);
        assert_eq!(g.allow_kfuncs, ["bpf_send_signal_task"]);
        assert_eq!(g.allow_net, ["eth0"]);
        assert_eq!(g.allow_pids, [7]);
        assert_eq!(g.allow_pin.as_deref(), Some(Path::new("/policy/pins")));
        assert_eq!(
            g.dirs,
            ["/policy/data::data", "/policy/bin::/app", "/srv::/srv"]
        );
        assert_eq!(g.env, ["LANG=C"]);
        assert_eq!(g.max_memory, Some(ByteSize::mib(128)));
        assert_eq!(g.max_kernel_memory, Some(ByteSize::mib(256)));
        assert_eq!(g.timeout, Some(Duration::from_secs(30)));
        assert_eq!(g.grace, Some(Duration::from_secs(5)));
        assert_eq!(g.cache_max, Some(ByteSize::gib(1)));
    }

    #[cfg(feature = "registry")]
    #[test]
    fn registry_keys_are_read_with_paths_from_the_file() {
        let s = from(
            r#"
            insecure-registry = ["localhost:5000"]
            registry-ca = ["ca.pem", "/etc/ca.pem"]
            verify-keys = ["keys/release.pub"]
            allowed-images = ["localhost:5000/apps/*"]
            allow-unsigned = true
            allow-files = true
            remap-identity = ["mirror/=origin/"]
            "#,
        )
        .unwrap();
        assert_eq!(s.registry.insecure, ["localhost:5000"]);
        assert_eq!(
            s.registry.ca_files,
            [
                PathBuf::from("/policy/ca.pem"),
                PathBuf::from("/etc/ca.pem")
            ]
        );
        assert_eq!(
            s.trust.verify_keys,
            [PathBuf::from("/policy/keys/release.pub")]
        );
        assert_eq!(s.trust.allowed_images, ["localhost:5000/apps/*"]);
        assert!(s.trust.allow_unsigned && s.trust.allow_files);
        assert_eq!(s.trust.remap_identity, ["mirror/=origin/"]);
    }

    #[test]
    fn a_bad_value_names_its_key_and_an_unknown_key_is_refused() {
        let err = |text: &str| format!("{:#}", from(text).unwrap_err());
        assert!(err(r#"max-memory = "lots""#).contains("`max-memory`"));
        assert!(err(r#"timeout = "soon""#).contains("`timeout`"));
        assert!(err(r#"allow = ["kprobes"]"#).contains("`allow`"));
        assert!(err(r#"allow-helper = ["bpf_nope"]"#).contains("`allow-helper`"));
        assert!(err(r#"alow = ["cgroup"]"#).contains("unknown field"));
    }
}
