//! Host paths a guest may name in an attach target: only those inside the
//! directories it was granted with `--dir`, resolved the way the guest sees
//! them.

use std::path::{Component, Path, PathBuf};

use crate::bindings::types::ErrorCode;
use crate::{BpfError, BpfResult};

/// The directories a guest was granted: host path and guest path.
#[derive(Default)]
pub struct Grants {
    dirs: Vec<(PathBuf, PathBuf)>,
}

/// A path without `.` components; `None` if it has `..`, which could climb
/// out of a granted directory before the check sees it.
fn plain(path: &Path) -> Option<PathBuf> {
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            Component::CurDir => {}
            Component::ParentDir => return None,
            other => out.push(other),
        }
    }
    Some(out)
}

impl Grants {
    /// Grants for directories given as (host path, guest path).
    pub fn new(dirs: &[(PathBuf, String)]) -> Self {
        let mut dirs: Vec<(PathBuf, PathBuf)> = dirs
            .iter()
            .filter_map(|(host, guest)| Some((host.clone(), plain(Path::new(guest))?)))
            .collect();
        // The most specific grant wins when guest paths nest.
        dirs.sort_by_key(|(_, guest)| std::cmp::Reverse(guest.components().count()));
        Self { dirs }
    }

    /// Whether the host path `path` lies inside a granted directory, also
    /// after following symbolic links.
    pub(crate) fn holds_host_path(&self, path: &Path) -> bool {
        let Ok(path) = path.canonicalize() else {
            return false;
        };
        self.dirs
            .iter()
            .any(|(host, _)| host.canonicalize().is_ok_and(|root| path.starts_with(root)))
    }

    /// The host path of `guest` (`what` names it in errors), which must lie
    /// inside a granted directory, also after following symbolic links.
    pub(crate) fn resolve(&self, what: &str, guest: &str) -> BpfResult<PathBuf> {
        let denied = |why: &str| {
            BpfError::with_errno(
                ErrorCode::PermissionDenied,
                libc::EACCES,
                format!("{what} `{guest}` {why}; grant its directory with `wasm-bpf run --dir HOST::GUEST`"),
            )
        };
        let path = plain(Path::new(guest)).ok_or_else(|| denied("contains `..`"))?;
        let (host_dir, rest) = self
            .dirs
            .iter()
            .find_map(|(host, dir)| Some((host, path.strip_prefix(dir).ok()?)))
            .ok_or_else(|| denied("is not inside a directory the guest was granted"))?;
        let root = host_dir.canonicalize().map_err(|e| {
            BpfError::os(
                &format!("granted directory {}", host_dir.display()),
                e.raw_os_error().unwrap_or(0),
            )
        })?;
        // One component at a time, containment before existence: a path
        // leading outside is refused whether or not its target exists, so
        // that a guest learns nothing of the host beyond its grants.
        let mut resolved = root.clone();
        for part in rest.components() {
            let next = resolved.join(part);
            match next.canonicalize() {
                Ok(real) if real.starts_with(&root) => resolved = real,
                Ok(_) => return Err(denied("leads outside its granted directory")),
                // A symbolic link whose target is missing: where it points
                // is not the guest's to learn.
                Err(_) if next.symlink_metadata().is_ok() => {
                    return Err(denied("leads outside its granted directory or nowhere"))
                }
                Err(e) => {
                    return Err(BpfError::with_errno(
                        ErrorCode::TargetNotFound,
                        e.raw_os_error().unwrap_or(0),
                        format!("{what} `{guest}`: {e}"),
                    ))
                }
            }
        }
        Ok(resolved)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(r: BpfResult<PathBuf>) -> ErrorCode {
        r.unwrap_err().guest().unwrap().code
    }

    #[test]
    fn resolves_only_inside_granted_directories() {
        let dir = tempfile::tempdir().unwrap();
        let inner = dir.path().join("inner");
        std::fs::create_dir(&inner).unwrap();
        std::fs::write(inner.join("bin"), b"x").unwrap();
        std::fs::write(dir.path().join("secret"), b"x").unwrap();
        std::os::unix::fs::symlink(dir.path().join("secret"), inner.join("escape")).unwrap();
        let grants = Grants::new(&[(inner.clone(), "/app".into())]);

        let found = grants.resolve("binary", "/app/./bin").unwrap();
        assert_eq!(found, inner.join("bin").canonicalize().unwrap());
        assert_eq!(
            code(grants.resolve("binary", "/app/../secret")),
            ErrorCode::PermissionDenied
        );
        assert_eq!(
            code(grants.resolve("binary", "/app/escape")),
            ErrorCode::PermissionDenied
        );
        assert_eq!(
            code(grants.resolve("binary", "/other/bin")),
            ErrorCode::PermissionDenied
        );
        assert_eq!(
            code(grants.resolve("binary", "/app/missing")),
            ErrorCode::TargetNotFound
        );
        // Outside the grant, a missing file and an existing one get the
        // same answer: existence is not revealed.
        std::os::unix::fs::symlink(dir.path(), inner.join("up")).unwrap();
        std::os::unix::fs::symlink(dir.path().join("nothing"), inner.join("dangling")).unwrap();
        for outside in [
            "/app/up/secret",
            "/app/up/missing",
            "/app/dangling",
            "/app/escape/x",
        ] {
            assert_eq!(
                code(grants.resolve("binary", outside)),
                ErrorCode::PermissionDenied,
                "{outside}"
            );
        }
    }
}
