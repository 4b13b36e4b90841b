//! Which apps from registries may run: `allowed-images` (exact references,
//! `prefix*`, or `@sha256:` pins) and `verify-keys` (when set, an app must
//! carry a cosign signature by one of them, unless `allow-unsigned`).
//! Both are checked against the manifest digest about to be used, which
//! the store then holds the component to, never against the name alone.

use std::path::PathBuf;

use anyhow::{bail, Context as _, Result};
use p256::ecdsa::VerifyingKey;

use super::signature::{self, Signatures};
use super::Reference;

#[derive(Debug, Default, Clone)]
pub struct Trust {
    /// The public keys, with the files they came from (for messages).
    pub keys: Vec<(PathBuf, VerifyingKey)>,
    pub allowed_images: Vec<String>,
    /// With keys set: let apps without any signature run (a signature
    /// that is there must still verify).
    pub allow_unsigned: bool,
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
        })
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

    /// Checks the signatures of manifest `digest` against `verify-keys`.
    /// Returns the key file that verified one, if any.
    pub fn check_signed(
        &self,
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
                    .verify(digest, &keys)
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
}
