//! The agent's ceiling: its own grants and limits bound every app's. An
//! app is granted what its file asks for, never more than the ceiling;
//! one that asks for more is refused with the grant it lacked. Limits the
//! app does not set are the ceiling's, and where apps come from (registry
//! settings, keys, allowed images) is the agent's alone to say.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context as _, Result};

use wasm_bpf_runtime::bpf::policy::Hook;

use crate::config::Settings;
use crate::flags::Grants;

/// `app`'s settings if the ceiling admits them, with its limits filled in
/// and the ceiling's registry and trust settings.
pub fn admit(app: &Settings, ceiling: &Settings) -> Result<Settings> {
    agents_own(app)?;
    let (a, c) = (&app.grants, &ceiling.grants);
    let hooks = |hooks: &[Hook]| hooks.iter().map(|h| h.name()).collect::<Vec<_>>();
    subset("allow", &hooks(&a.allow), &hooks(&c.allow), "--allow")?;
    subset(
        "allow-helper",
        &a.allow_helpers,
        &c.allow_helpers,
        "--allow-helper",
    )?;
    subset(
        "allow-kfunc",
        &a.allow_kfuncs,
        &c.allow_kfuncs,
        "--allow-kfunc",
    )?;
    subset("allow-net", &a.allow_net, &c.allow_net, "--allow-net")?;
    subset("allow-pid", &a.allow_pids, &c.allow_pids, "--allow-pid")?;
    if let Some(pin) = &a.allow_pin {
        let Some(limit) = &c.allow_pin else {
            bail!(
                "asks for `allow-pin = {pin:?}`, and the agent's ceiling grants no pin directory \
                 (--allow-pin)"
            );
        };
        if !beneath(&resolve(pin)?, std::slice::from_ref(limit)) {
            bail!(
                "asks for `allow-pin = {pin:?}`, outside the ceiling's pin directory {}",
                limit.display()
            );
        }
    }
    let granted_dirs: Vec<PathBuf> = c.dirs.iter().map(|d| host_side(d).0.into()).collect();
    let mut dirs = Vec::with_capacity(a.dirs.len());
    for dir in &a.dirs {
        let (host, guest) = host_side(dir);
        let host = Path::new(host);
        let resolved = resolve(host)?;
        if !beneath(&resolved, &granted_dirs) {
            bail!(
                "asks for `dir = [{dir:?}]`, which is not beneath a directory the agent's ceiling \
                 grants (--dir)"
            );
        }
        // The directory checked is the one opened, whatever its name
        // points at by then.
        dirs.push(format!("{}::{guest}", resolved.display()));
    }
    for var in &a.env {
        if !var.contains('=') && !c.env.contains(var) {
            bail!(
                "asks for `env = [{var:?}]`, the agent's own variable, which the ceiling does not \
                 pass on (--env {var})"
            );
        }
    }
    let within = |key: &str, asked: Option<u64>, limit: u64, shown: String| -> Result<()> {
        match asked {
            Some(asked) if asked > limit => bail!("asks for `{key}` beyond the ceiling's {shown}"),
            _ => Ok(()),
        }
    };
    within(
        "max-memory",
        a.max_memory.map(|s| s.as_u64()),
        ceiling.max_memory().as_u64(),
        ceiling.max_memory().to_string(),
    )?;
    within(
        "max-kernel-memory",
        a.max_kernel_memory.map(|s| s.as_u64()),
        ceiling.max_kernel_memory().as_u64(),
        ceiling.max_kernel_memory().to_string(),
    )?;
    let millis = |d: std::time::Duration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
    within(
        "grace",
        a.grace.map(millis),
        millis(ceiling.grace()),
        format!("{:?}", ceiling.grace()),
    )?;
    if let Some(limit) = c.timeout {
        within(
            "timeout",
            Some(a.timeout.map_or(u64::MAX, millis)),
            millis(limit),
            format!("{limit:?}"),
        )?;
    }
    Ok(Settings {
        grants: Grants {
            timeout: a.timeout.or(c.timeout),
            grace: Some(a.grace.unwrap_or(ceiling.grace())),
            max_memory: Some(a.max_memory.unwrap_or(ceiling.max_memory())),
            max_kernel_memory: Some(a.max_kernel_memory.unwrap_or(ceiling.max_kernel_memory())),
            cache_max: c.cache_max,
            dirs,
            ..a.clone()
        },
        #[cfg(feature = "registry")]
        registry: ceiling.registry.clone(),
        #[cfg(feature = "registry")]
        trust: ceiling.trust.clone(),
    })
}

/// Refuses the keys only the agent sets.
fn agents_own(app: &Settings) -> Result<()> {
    let mut set = Vec::new();
    if app.grants.cache_max.is_some() {
        set.push("cache-max");
    }
    #[cfg(feature = "registry")]
    {
        let (r, t) = (&app.registry, &app.trust);
        for (key, given) in [
            ("insecure-registry", !r.insecure.is_empty()),
            ("registry-ca", !r.ca_files.is_empty()),
            ("verify-keys", !t.verify_keys.is_empty()),
            ("allowed-images", !t.allowed_images.is_empty()),
            ("allow-unsigned", t.allow_unsigned),
            ("allow-files", t.allow_files),
            ("remap-identity", !t.remap_identity.is_empty()),
        ] {
            if given {
                set.push(key);
            }
        }
    }
    if let Some(key) = set.first() {
        bail!("sets `{key}`, which the agent sets for every app (in its own flags or --policy)");
    }
    Ok(())
}

/// Refuses any of `asked` that `granted` lacks.
fn subset<T: PartialEq + std::fmt::Display>(
    key: &str,
    asked: &[T],
    granted: &[T],
    flag: &str,
) -> Result<()> {
    match asked.iter().find(|a| !granted.contains(a)) {
        Some(lacking) => bail!(
            "asks for `{key} = [\"{lacking}\"]`, which the agent's ceiling does not grant \
             (start the agent with {flag} {lacking} to grant it)"
        ),
        None => Ok(()),
    }
}

/// `HOST` and `GUEST` of a `HOST[::GUEST]` directory grant.
fn host_side(entry: &str) -> (&str, &str) {
    entry.split_once("::").unwrap_or((entry, entry))
}

fn resolve(path: &Path) -> Result<PathBuf> {
    path.canonicalize()
        .with_context(|| format!("resolving {}", path.display()))
}

/// Whether `path` (resolved) is one of `dirs` (resolved here) or beneath
/// one.
fn beneath(path: &Path, dirs: &[PathBuf]) -> bool {
    dirs.iter()
        .any(|dir| dir.canonicalize().is_ok_and(|dir| path.starts_with(&dir)))
}

#[cfg(test)]
mod tests {
    use bytesize::ByteSize;

    use super::*;

    fn with(f: impl FnOnce(&mut Grants)) -> Settings {
        let mut settings = Settings::default();
        f(&mut settings.grants);
        settings
    }

    #[test]
    fn an_app_gets_what_it_asks_within_the_ceiling_and_its_limits() {
        let ceiling = with(|g| {
            g.allow = vec![Hook::Cgroup];
            g.allow_helpers = vec!["bpf_send_signal".into()];
            g.max_memory = Some(ByteSize::mib(128));
            g.dirs = vec!["/tmp".into()];
        });
        let app = with(|g| {
            g.allow_helpers = vec!["bpf_send_signal".into()];
            g.max_memory = Some(ByteSize::mib(32));
        });
        let admitted = admit(&app, &ceiling).expect("within the ceiling");
        assert_eq!(admitted.grants.allow, []);
        assert_eq!(admitted.grants.allow_helpers, ["bpf_send_signal"]);
        assert_eq!(admitted.max_memory(), ByteSize::mib(32));
        let plain = admit(&Settings::default(), &ceiling).expect("nothing asked");
        assert_eq!(
            plain.max_memory(),
            ByteSize::mib(128),
            "the ceiling's limit"
        );

        let error = admit(&with(|g| g.allow = vec![Hook::Lsm]), &ceiling).unwrap_err();
        assert!(error.to_string().contains("--allow lsm"), "{error}");
        let error = admit(
            &with(|g| g.allow_helpers = vec!["bpf_override_return".into()]),
            &ceiling,
        )
        .unwrap_err();
        assert!(error.to_string().contains("bpf_override_return"), "{error}");
        let error =
            admit(&with(|g| g.max_memory = Some(ByteSize::mib(256))), &ceiling).unwrap_err();
        assert!(error.to_string().contains("max-memory"), "{error}");
        let error = admit(&with(|g| g.dirs = vec!["/etc".into()]), &ceiling).unwrap_err();
        assert!(error.to_string().contains("/etc"), "{error}");
        admit(
            &with(|g| g.dirs = vec!["/tmp/..//tmp::/t".into()]),
            &ceiling,
        )
        .expect("a granted directory, however written");
        let error = admit(&with(|g| g.dirs = vec!["/tmp/../etc".into()]), &ceiling).unwrap_err();
        assert!(error.to_string().contains("/etc"), "{error}");
        let error = admit(&with(|g| g.env = vec!["HOME".into()]), &ceiling).unwrap_err();
        assert!(error.to_string().contains("--env HOME"), "{error}");
        admit(&with(|g| g.env = vec!["A=1".into()]), &ceiling).expect("its own value");
        let error = admit(&with(|g| g.cache_max = Some(ByteSize::mib(1))), &ceiling).unwrap_err();
        assert!(error.to_string().contains("cache-max"), "{error}");
    }
}
