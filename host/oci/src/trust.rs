//! Which apps from registries may run: `allowed-images` (exact references,
//! `prefix*`, or `@sha256:` pins) and `verify-keys` (when set, an app must
//! carry a cosign signature by one of them, unless `allow-unsigned`).
//! Both are checked against the manifest digest about to be used, which
//! the store then holds the component to, never against the name alone.

use std::path::PathBuf;

use anyhow::{bail, Context as _, Result};
use p256::ecdsa::VerifyingKey;

use crate::signature::{self, Signatures};
use crate::Reference;

#[derive(Debug, Default, Clone)]
pub struct Trust {
    /// The public keys, with the files they came from (for messages).
    pub keys: Vec<(PathBuf, VerifyingKey)>,
    pub allowed_images: Vec<String>,
    /// With keys set: let apps without any signature run (a signature
    /// that is there must still verify).
    pub allow_unsigned: bool,
    /// Mirrors: an app run from a repository starting with the first
    /// prefix may carry a signature made for the repository that starts
    /// with the second instead (`remap-identity`).
    pub remaps: Vec<(String, String)>,
}

impl Trust {
    /// Reads the keys of `key_files`.
    pub fn new(
        key_files: &[PathBuf],
        allowed_images: Vec<String>,
        allow_unsigned: bool,
    ) -> Result<Self> {
        let keys = key_files
            .iter()
            .map(|path| Ok((path.clone(), signature::public_key(path)?)))
            .collect::<Result<_>>()?;
        Ok(Self {
            keys,
            allowed_images,
            allow_unsigned,
            remaps: Vec::new(),
        })
    }

    /// Adds mirrors, each `RUN_PREFIX=SIGNED_PREFIX`.
    pub fn remapping(mut self, specs: &[String]) -> Result<Self> {
        for spec in specs {
            let (run, signed) = spec.split_once('=').with_context(|| {
                format!("remap-identity {spec:?}: write it RUN_PREFIX=SIGNED_PREFIX")
            })?;
            self.remaps.push((run.to_string(), signed.to_string()));
        }
        Ok(self)
    }

    /// The repositories a signature of an app run as `reference` may name:
    /// its own, and what the mirrors remap it to.
    pub fn identities(&self, reference: &Reference) -> Vec<String> {
        let repository = format!("{}/{}", reference.registry(), reference.repository());
        let mut identities = vec![repository.clone()];
        for (run, signed) in &self.remaps {
            if let Some(rest) = repository.strip_prefix(run.as_str()) {
                identities.push(format!("{signed}{rest}"));
            }
        }
        identities
    }

    /// Checks `reference`, which resolved to manifest `digest`, against
    /// `allowed-images`.
    pub fn check_allowed(&self, reference: &Reference, digest: &str) -> Result<()> {
        if self.allowed_images.is_empty()
            || self
                .allowed_images
                .iter()
                .any(|pattern| matches(pattern, reference, digest))
        {
            return Ok(());
        }
        bail!(
            "{} ({digest}) is not in allowed-images ({})",
            reference.whole(),
            self.allowed_images.join(", ")
        )
    }

    /// Checks the signatures of manifest `digest`, run as `reference`,
    /// against `verify-keys` and the repositories a signature may name.
    /// Returns the key file that verified one, if any.
    pub fn check_signed(
        &self,
        reference: &Reference,
        digest: &str,
        signatures: Option<&Signatures>,
    ) -> Result<Option<&PathBuf>> {
        if self.keys.is_empty() {
            return Ok(None);
        }
        let keys: Vec<VerifyingKey> = self.keys.iter().map(|(_, key)| *key).collect();
        match signatures {
            None if self.allow_unsigned => Ok(None),
            None => bail!(
                "{digest} is not signed, and verify-keys require a signature \
                 (allow-unsigned lets unsigned apps run)"
            ),
            Some(signatures) => {
                let index = signatures
                    .verify(digest, &self.identities(reference), &keys)
                    .with_context(|| format!("verifying the signature of {digest}"))?;
                Ok(Some(&self.keys[index].0))
            }
        }
    }
}

/// Whether `pattern` admits `reference` resolved to `digest`:
/// `HOST/REPO@sha256:X` pins the content, `PREFIX*` admits every
/// reference starting with PREFIX, anything else must equal the reference.
fn matches(pattern: &str, reference: &Reference, digest: &str) -> bool {
    let repository = format!("{}/{}", reference.registry(), reference.repository());
    if let Some((repo, pinned)) = pattern.split_once('@') {
        return repo == repository && pinned == digest;
    }
    let whole = reference.whole();
    match pattern.strip_suffix('*') {
        Some(prefix) => whole.starts_with(prefix),
        None => pattern == whole,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_admit_what_they_name_and_pins_check_content() {
        let tagged: Reference = "localhost:5000/tools/app:1.0".parse().unwrap();
        let d = "sha256:aa";
        assert!(matches("localhost:5000/tools/app:1.0", &tagged, d));
        assert!(matches("localhost:5000/tools/*", &tagged, d));
        assert!(!matches("localhost:5000/tool/app:1.0", &tagged, d));
        assert!(!matches("localhost:5000/other/*", &tagged, d));
        assert!(matches("localhost:5000/tools/app@sha256:aa", &tagged, d));
        // A pin names content: the tag now pointing elsewhere is refused.
        assert!(!matches(
            "localhost:5000/tools/app@sha256:aa",
            &tagged,
            "sha256:bb"
        ));
        let trust = Trust {
            allowed_images: vec!["localhost:5000/tools/*".into()],
            ..Trust::default()
        };
        assert!(trust.check_allowed(&tagged, d).is_ok());
        let other: Reference = "localhost:5000/evil/app:1".parse().unwrap();
        let e = trust.check_allowed(&other, d).unwrap_err();
        assert!(e.to_string().contains("not in allowed-images"), "{e}");
    }

    #[test]
    fn mirrors_remap_the_repository_a_signature_may_name() {
        let trust = Trust::default()
            .remapping(&["mirror:5001/apps/=ghcr.io/org/".into()])
            .unwrap();
        let mirrored: Reference = "mirror:5001/apps/tool:1".parse().unwrap();
        assert_eq!(
            trust.identities(&mirrored),
            ["mirror:5001/apps/tool", "ghcr.io/org/tool"]
        );
        let elsewhere: Reference = "mirror:5001/other/tool:1".parse().unwrap();
        assert_eq!(trust.identities(&elsewhere), ["mirror:5001/other/tool"]);
        assert!(Trust::default().remapping(&["no-equals".into()]).is_err());
    }
}
