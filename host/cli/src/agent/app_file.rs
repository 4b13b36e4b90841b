//! An app the agent runs, as its file in the apps directory (or a start
//! request of the API, whose JSON body has the same keys) declares it:
//!
//! ```toml
//! source = "localhost:5000/tools/bootstrap:1.0"   # anything `run` takes
//! args = ["-d", "100"]
//! sink = ["/opt/wasm-bpf/json.wasm"]             # as `run --sink`
//! restart = "on-failure"                         # or "never" (the default)
//! # Grants and limits: the keys of `run --policy`, within the ceiling.
//! allow-helper = ["bpf_send_signal"]
//! max-memory = "32MiB"
//! ```
//!
//! The app's name is the file's (`bootstrap.toml` runs `bootstrap`).

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context as _, Result};
use serde::Deserialize;

use super::ceiling;
use crate::config::Settings;

/// What an app restarts after.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Restart {
    /// Nothing: an app that ends stays ended until started again.
    #[default]
    Never,
    /// Trapping, or exiting with a status other than 0: restarted after
    /// a back-off that doubles from 1 s to a minute.
    OnFailure,
}

impl Restart {
    /// How long to wait before the restart that follows `restarts` others.
    pub fn back_off(restarts: u32) -> Duration {
        Duration::from_secs(1 << restarts.min(6)).min(Duration::from_secs(60))
    }
}

/// One app, checked against the ceiling.
#[derive(Debug, Clone, PartialEq)]
pub struct AppSpec {
    /// A file or a registry reference.
    pub source: String,
    pub args: Vec<String>,
    pub sinks: Vec<PathBuf>,
    pub restart: Restart,
    /// What the app is granted: what it asks for, its limits filled in
    /// from the ceiling, the ceiling's registry and trust settings.
    pub settings: Settings,
}

/// The keys of an app file that are not policy keys.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Declared {
    source: String,
    #[serde(default)]
    args: Vec<String>,
    #[serde(default)]
    sink: Vec<PathBuf>,
    #[serde(default)]
    restart: Restart,
}

const OWN_KEYS: [&str; 4] = ["source", "args", "sink", "restart"];

/// Whether `name` may name an app: what a file name, a log field and a
/// URL path all take as they are.
pub fn check_name(name: &str) -> Result<()> {
    let fine = !name.is_empty()
        && name.len() <= 63
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
        && !name.starts_with('.');
    if !fine {
        bail!(
            "{name:?} is not an app name: up to 63 letters, digits, `-`, `_` and `.`, not \
             starting with `.`"
        );
    }
    Ok(())
}

/// The app `table` declares, with relative paths taken from `base`,
/// checked against `ceiling`.
pub fn parse(table: toml::Table, base: &Path, ceiling: &Settings) -> Result<AppSpec> {
    let (own, policy): (toml::Table, toml::Table) = table
        .into_iter()
        .partition(|(key, _)| OWN_KEYS.contains(&key.as_str()));
    let declared: Declared = toml::Value::Table(own).try_into()?;
    let settings = crate::policy_file::from_table(policy, base)?;
    let within = |path: PathBuf| {
        if path.is_relative() {
            base.join(path)
        } else {
            path
        }
    };
    let source = if names_registry(&declared.source) {
        declared.source
    } else {
        within(declared.source.into())
            .to_string_lossy()
            .into_owned()
    };
    Ok(AppSpec {
        source,
        args: declared.args,
        sinks: declared.sink.into_iter().map(within).collect(),
        restart: declared.restart,
        settings: ceiling::admit(&settings, ceiling)?,
    })
}

/// The app the file at `path` declares with `text`.
pub fn parse_file(path: &Path, text: &str, ceiling: &Settings) -> Result<AppSpec> {
    toml::from_str(text)
        .map_err(anyhow::Error::from)
        .and_then(|table| parse(table, path.parent().unwrap_or(Path::new("")), ceiling))
        .with_context(|| format!("app file {}", path.display()))
}

#[cfg(feature = "registry")]
fn names_registry(source: &str) -> bool {
    wasm_bpf_oci::names_registry(source)
}

#[cfg(not(feature = "registry"))]
fn names_registry(_: &str) -> bool {
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(text: &str) -> Result<AppSpec> {
        parse(
            toml::from_str(text)?,
            Path::new("/apps"),
            &Settings::default(),
        )
    }

    #[test]
    fn an_app_file_has_its_keys_and_the_policy_keys() {
        let app = spec(
            r#"
            source = "bootstrap.wasm"
            args = ["-d", "100"]
            restart = "on-failure"
            max-memory = "32MiB"
            "#,
        )
        .expect("a good file");
        assert_eq!(app.source, "/apps/bootstrap.wasm");
        assert_eq!(app.args, ["-d", "100"]);
        assert_eq!(app.restart, Restart::OnFailure);
        assert_eq!(app.settings.max_memory(), bytesize::ByteSize::mib(32));

        let error = spec("source = \"a.wasm\"\nallow-bogus = 1").unwrap_err();
        assert!(format!("{error:#}").contains("allow-bogus"), "{error:#}");
        let error = spec("args = []").unwrap_err();
        assert!(format!("{error:#}").contains("source"), "{error:#}");
        let error = spec("source = \"a.wasm\"\nrestart = \"always\"").unwrap_err();
        assert!(format!("{error:#}").contains("always"), "{error:#}");
    }

    #[test]
    fn names_are_plain() {
        for good in ["bootstrap", "run-qlat_2", "a.b"] {
            check_name(good).expect(good);
        }
        for bad in ["", ".hidden", "a/b", "a b", &"x".repeat(64)] {
            assert!(check_name(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn back_off_doubles_up_to_a_minute() {
        assert_eq!(Restart::back_off(0), Duration::from_secs(1));
        assert_eq!(Restart::back_off(3), Duration::from_secs(8));
        assert_eq!(Restart::back_off(40), Duration::from_secs(60));
    }
}
