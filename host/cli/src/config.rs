//! One run's settings from its two sources: the flags, and the policy
//! file `--policy` names. Each is read into a [`Settings`] value of its
//! own, and [`merge`] makes one of them, by these rules:
//!
//! - lists (grants, directories, environment, registry settings, keys,
//!   allowed images, identities) hold both, the flags' first;
//! - a single value (`allow-pin`, the limits, `timeout`, `grace`,
//!   `cache-max`, `creds`) is the flag's if given, else the file's, else
//!   the default ([`Settings`]'s accessors say which);
//! - a yes/no (`allow-unsigned`, `allow-files`) is yes if either says so.
//!
//! So a file can add grants but never take away one a flag gave, and a
//! flag always says the last word on a limit.

use std::time::Duration;

use bytesize::ByteSize;

use crate::flags::Grants;
#[cfg(feature = "registry")]
use crate::flags::{RegistryArgs, TrustArgs};

/// The guest's memory cap when neither source sets one.
pub const DEFAULT_MAX_MEMORY: ByteSize = ByteSize::mib(64);
/// The kernel memory cap when neither source sets one.
pub const DEFAULT_MAX_KERNEL_MEMORY: ByteSize = ByteSize::gib(1);
/// How long a guest asked to stop has when neither source says.
pub const DEFAULT_GRACE: Duration = Duration::from_secs(2);

/// Everything a run's flags or policy file may set.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Settings {
    /// Grants and limits.
    pub grants: Grants,
    /// How to reach registries.
    #[cfg(feature = "registry")]
    pub registry: RegistryArgs,
    /// Which apps from registries may run.
    #[cfg(feature = "registry")]
    pub trust: TrustArgs,
}

impl Settings {
    /// The guest's memory cap.
    pub fn max_memory(&self) -> ByteSize {
        self.grants.max_memory.unwrap_or(DEFAULT_MAX_MEMORY)
    }

    /// The cap on the kernel memory of the guest's maps and buffers.
    pub fn max_kernel_memory(&self) -> ByteSize {
        self.grants
            .max_kernel_memory
            .unwrap_or(DEFAULT_MAX_KERNEL_MEMORY)
    }

    /// How long a guest asked to stop has to finish.
    pub fn grace(&self) -> Duration {
        self.grants.grace.unwrap_or(DEFAULT_GRACE)
    }
}

/// `first` then `second`.
fn both<T: Clone>(first: &[T], second: &[T]) -> Vec<T> {
    first.iter().chain(second).cloned().collect()
}

/// The settings of `flags` and `file` together (the rules are the
/// module's).
pub fn merge(flags: &Settings, file: &Settings) -> Settings {
    let (f, p) = (&flags.grants, &file.grants);
    Settings {
        grants: Grants {
            env: both(&f.env, &p.env),
            dirs: both(&f.dirs, &p.dirs),
            timeout: f.timeout.or(p.timeout),
            grace: f.grace.or(p.grace),
            allow: both(&f.allow, &p.allow),
            allow_helpers: both(&f.allow_helpers, &p.allow_helpers),
            allow_kfuncs: both(&f.allow_kfuncs, &p.allow_kfuncs),
            allow_net: both(&f.allow_net, &p.allow_net),
            allow_pids: both(&f.allow_pids, &p.allow_pids),
            allow_pin: f.allow_pin.clone().or_else(|| p.allow_pin.clone()),
            max_memory: f.max_memory.or(p.max_memory),
            max_kernel_memory: f.max_kernel_memory.or(p.max_kernel_memory),
            cache_max: f.cache_max.or(p.cache_max),
        },
        #[cfg(feature = "registry")]
        registry: RegistryArgs {
            insecure: both(&flags.registry.insecure, &file.registry.insecure),
            ca_files: both(&flags.registry.ca_files, &file.registry.ca_files),
            creds: flags
                .registry
                .creds
                .clone()
                .or_else(|| file.registry.creds.clone()),
        },
        #[cfg(feature = "registry")]
        trust: TrustArgs {
            verify_keys: both(&flags.trust.verify_keys, &file.trust.verify_keys),
            allowed_images: both(&flags.trust.allowed_images, &file.trust.allowed_images),
            allow_unsigned: flags.trust.allow_unsigned || file.trust.allow_unsigned,
            allow_files: flags.trust.allow_files || file.trust.allow_files,
            remap_identity: both(&flags.trust.remap_identity, &file.trust.remap_identity),
        },
    }
}

/// `flags`' settings with those of the policy file at `policy`, if any.
pub fn with_policy_file(
    flags: Settings,
    policy: Option<&std::path::Path>,
) -> anyhow::Result<Settings> {
    match policy {
        Some(path) => Ok(merge(&flags, &crate::policy_file::read(path)?)),
        None => Ok(flags),
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use wasm_bpf_runtime::bpf::policy::Hook;

    use super::*;

    fn grants(f: impl FnOnce(&mut Grants)) -> Settings {
        let mut settings = Settings::default();
        f(&mut settings.grants);
        settings
    }

    #[test]
    fn lists_hold_both_flags_first() {
        let flags = grants(|g| {
            g.allow = vec![Hook::Cgroup];
            g.allow_helpers = vec!["bpf_send_signal".into()];
            g.dirs = vec!["/srv".into()];
            g.env = vec!["A=1".into()];
            g.allow_pids = vec![1];
        });
        let file = grants(|g| {
            g.allow = vec![Hook::Lsm];
            g.allow_kfuncs = vec!["bpf_send_signal_task".into()];
            g.allow_net = vec!["eth0".into()];
            g.dirs = vec!["/etc/app::/app".into()];
            g.env = vec!["A=2".into()];
            g.allow_pids = vec![2];
        });
        let merged = merge(&flags, &file).grants;
        assert_eq!(merged.allow, [Hook::Cgroup, Hook::Lsm]);
        assert_eq!(merged.allow_helpers, ["bpf_send_signal"]);
        assert_eq!(merged.allow_kfuncs, ["bpf_send_signal_task"]);
        assert_eq!(merged.allow_net, ["eth0"]);
        assert_eq!(merged.dirs, ["/srv", "/etc/app::/app"]);
        assert_eq!(merged.env, ["A=1", "A=2"]);
        assert_eq!(merged.allow_pids, [1, 2]);
    }

    #[test]
    fn a_flag_wins_over_the_file_and_the_file_over_the_default() {
        let file = grants(|g| {
            g.max_memory = Some(ByteSize::mib(128));
            g.max_kernel_memory = Some(ByteSize::mib(256));
            g.timeout = Some(Duration::from_secs(30));
            g.grace = Some(Duration::from_secs(5));
            g.cache_max = Some(ByteSize::gib(2));
            g.allow_pin = Some(PathBuf::from("/sys/fs/bpf/file"));
        });
        let none = merge(&Settings::default(), &Settings::default());
        assert_eq!(none.max_memory(), DEFAULT_MAX_MEMORY);
        assert_eq!(none.max_kernel_memory(), DEFAULT_MAX_KERNEL_MEMORY);
        assert_eq!(none.grace(), DEFAULT_GRACE);
        assert_eq!(none.grants.timeout, None);

        let from_file = merge(&Settings::default(), &file);
        assert_eq!(from_file.max_memory(), ByteSize::mib(128));
        assert_eq!(from_file.max_kernel_memory(), ByteSize::mib(256));
        assert_eq!(from_file.grace(), Duration::from_secs(5));
        assert_eq!(from_file.grants, file.grants);

        let flags = grants(|g| {
            g.max_memory = Some(ByteSize::mib(32));
            g.max_kernel_memory = Some(ByteSize::mib(64));
            g.timeout = Some(Duration::from_secs(1));
            g.grace = Some(Duration::ZERO);
            g.cache_max = Some(ByteSize::mib(1));
            g.allow_pin = Some(PathBuf::from("/sys/fs/bpf/flag"));
        });
        let merged = merge(&flags, &file);
        assert_eq!(merged.grants, flags.grants);
        // A flag of zero is a value, not "unset".
        assert_eq!(merged.grace(), Duration::ZERO);
    }

    #[cfg(feature = "registry")]
    #[test]
    fn trust_is_the_union_and_a_yes_from_either_counts() {
        let mut flags = Settings::default();
        flags.trust.verify_keys = vec!["a.pub".into()];
        flags.registry.creds = Some("u:p".into());
        let mut file = Settings::default();
        file.trust.verify_keys = vec!["/etc/b.pub".into()];
        file.trust.allowed_images = vec!["localhost:5000/*".into()];
        file.trust.allow_files = true;
        file.registry.insecure = vec!["localhost:5000".into()];
        let merged = merge(&flags, &file);
        assert_eq!(
            merged.trust.verify_keys,
            [PathBuf::from("a.pub"), PathBuf::from("/etc/b.pub")]
        );
        assert_eq!(merged.trust.allowed_images, ["localhost:5000/*"]);
        assert!(merged.trust.allow_files && !merged.trust.allow_unsigned);
        assert_eq!(merged.registry.insecure, ["localhost:5000"]);
        assert_eq!(merged.registry.creds.as_deref(), Some("u:p"));
    }
}
