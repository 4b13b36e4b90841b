//! `wasm-bpf run --policy FILE`: the grants and limits of `run`'s flags,
//! kept in a TOML file next to the application. The keys are the flags'
//! names; a file and flags together grant the union, and a flag given on
//! the command line overrides the file's `allow-pin`, `max-memory`,
//! `max-kernel-memory` or `timeout`.
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
}

/// Adds the grants of the policy file at `path` to `args`.
pub fn apply(path: &Path, args: &mut RunArgs) -> Result<()> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let file: PolicyFile =
        toml::from_str(&text).with_context(|| format!("policy file {}", path.display()))?;
    let in_file = |key: &str| format!("policy file {}: `{key}`", path.display());
    for hook in &file.allow {
        args.allow.push(
            hook.parse()
                .map_err(anyhow::Error::msg)
                .with_context(|| in_file("allow"))?,
        );
    }
    args.allow_helpers.extend(file.allow_helper);
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
    if let (Some(timeout), None) = (file.timeout, args.timeout) {
        args.timeout =
            Some(humantime::parse_duration(&timeout).with_context(|| in_file("timeout"))?);
    }
    Ok(())
}
