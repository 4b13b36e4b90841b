//! Credentials from the auth file docker, podman and skopeo write
//! (`docker login`, `podman login`): `$REGISTRY_AUTH_FILE`, then
//! `$XDG_RUNTIME_DIR/containers/auth.json`, then
//! `$DOCKER_CONFIG/config.json` or `~/.docker/config.json`. The first file
//! that exists is the one read, as podman does. Credential helpers
//! (`credsStore`) are not run.

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::{Context as _, Result};
use base64::Engine as _;
use oci_client::secrets::RegistryAuth;
use serde::Deserialize;

#[derive(Deserialize)]
struct AuthFile {
    #[serde(default)]
    auths: BTreeMap<String, AuthEntry>,
}

#[derive(Deserialize)]
struct AuthEntry {
    #[serde(default)]
    auth: Option<String>,
}

fn auth_file() -> Option<PathBuf> {
    let env = |name| std::env::var_os(name).map(PathBuf::from);
    let candidates = [
        env("REGISTRY_AUTH_FILE"),
        env("XDG_RUNTIME_DIR").map(|dir| dir.join("containers/auth.json")),
        env("DOCKER_CONFIG").map(|dir| dir.join("config.json")),
        env("HOME").map(|home| home.join(".docker/config.json")),
    ];
    candidates.into_iter().flatten().find(|path| path.is_file())
}

/// The credentials the auth file holds for `registry` (`HOST[:PORT]`),
/// or anonymous access.
pub fn from_auth_file(registry: &str) -> Result<RegistryAuth> {
    let Some(path) = auth_file() else {
        return Ok(RegistryAuth::Anonymous);
    };
    let context = || format!("the auth file {}", path.display());
    let text = std::fs::read_to_string(&path).with_context(context)?;
    let file: AuthFile = serde_json::from_str(&text).with_context(context)?;
    // Keys are `host[:port]`, sometimes written as a URL.
    let entry = file.auths.iter().find(|(key, _)| {
        let key = key
            .trim_start_matches("https://")
            .trim_start_matches("http://");
        key.split('/').next() == Some(registry)
    });
    let Some((key, AuthEntry { auth: Some(auth) })) = entry else {
        return Ok(RegistryAuth::Anonymous);
    };
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(auth.trim())
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .with_context(|| format!("{}: the entry for {key} is not base64 USER:PASS", context()))?;
    let (user, pass) = decoded
        .split_once(':')
        .with_context(|| format!("{}: the entry for {key} is not USER:PASS", context()))?;
    Ok(RegistryAuth::Basic(user.into(), pass.into()))
}
