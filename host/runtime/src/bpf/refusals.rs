//! The `grants` interface: paths the guest was refused for lack of a
//! `--dir` grant, told to the user with the grant that would hold them.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use crate::bindings::grants::Host;

use super::BpfCtxView;

/// Most distinct paths noted per guest: a guest probing many paths must not
/// grow the host's memory or flood its log.
const MAX_NOTED: usize = 256;

/// The longest path noted (Linux's PATH_MAX): longer is no path.
const MAX_PATH: usize = 4096;

/// The paths already noted for one guest.
#[derive(Default)]
pub(crate) struct Noted(HashSet<PathBuf>);

/// The device and whether it is a directory, of what `path` names: with no
/// automount triggered and no symbolic link followed, since the path is a
/// guest's (it learns nothing of the answer, but must not make the host
/// mount a file system or wait on one).
fn stat(path: &Path) -> Option<(u64, bool)> {
    use rustix::fs::{statx, AtFlags, FileType, StatxFlags, CWD};
    let st = statx(
        CWD,
        path,
        AtFlags::NO_AUTOMOUNT | AtFlags::SYMLINK_NOFOLLOW,
        StatxFlags::TYPE,
    )
    .ok()?;
    let dev = (u64::from(st.stx_dev_major) << 32) | u64::from(st.stx_dev_minor);
    let dir = FileType::from_raw_mode(st.stx_mode.into()) == FileType::Directory;
    Some((dev, dir))
}

/// The directory to grant for the host path `path`, if it exists: the
/// mount it lies on (`/proc`, `/sys/kernel/tracing`), or, on the root file
/// system, its own directory (for a file, the one holding it).
pub(crate) fn grant_for(path: &Path) -> Option<PathBuf> {
    let (dev, dir) = stat(path)?;
    let mut top = path;
    for parent in path.ancestors().skip(1) {
        match stat(parent) {
            Some((d, _)) if d == dev && parent.parent().is_some() => top = parent,
            _ => break,
        }
    }
    let on_root = stat(Path::new("/")).is_some_and(|(root, _)| root == dev);
    if !on_root {
        return Some(top.to_path_buf());
    }
    if dir {
        Some(path.to_path_buf())
    } else {
        path.parent().map(Path::to_path_buf)
    }
}

impl Noted {
    /// The note for the guest's refused `path`: once per path, and only
    /// for an absolute, plain path that exists on the host.
    fn note(&mut self, path: &str) -> Option<String> {
        if path.len() > MAX_PATH {
            return None;
        }
        let path = Path::new(path);
        let plain = path.is_absolute()
            && path.components().all(|c| {
                matches!(
                    c,
                    std::path::Component::RootDir | std::path::Component::Normal(_)
                )
            });
        if !plain || self.0.len() >= MAX_NOTED || self.0.contains(path) {
            return None;
        }
        let dir = grant_for(path)?;
        self.0.insert(path.to_path_buf());
        // Escaped: a file the guest named may have any bytes in its name,
        // and the note must stay one line of the host's log.
        Some(format!(
            "the app tried {}: not granted (--dir {})",
            path.display().to_string().escape_debug(),
            dir.display().to_string().escape_debug()
        ))
    }
}

impl Host for BpfCtxView<'_> {
    fn note_refused_path(&mut self, path: String) -> wasmtime::Result<()> {
        if let Some(note) = self.ctx.refused.note(&path) {
            tracing::warn!("{note}");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_grant_is_the_mount_or_the_directory() {
        assert_eq!(
            grant_for(Path::new("/proc/partitions")),
            Some(PathBuf::from("/proc"))
        );
        assert_eq!(
            grant_for(Path::new("/proc/self/status")),
            Some(PathBuf::from("/proc"))
        );
        // On the root file system: the file's own directory.
        let dir = tempfile::tempdir_in("/var/tmp").unwrap();
        let file = dir.path().join("f");
        std::fs::write(&file, "x").unwrap();
        let on_root = stat(Path::new("/")).map(|s| s.0) == stat(dir.path()).map(|s| s.0);
        if on_root {
            assert_eq!(grant_for(&file).as_deref(), Some(dir.path()));
        }
        assert_eq!(grant_for(Path::new("/no/such/file")), None);
    }

    #[test]
    fn each_path_is_noted_once() {
        let mut noted = Noted::default();
        assert_eq!(
            noted.note("/proc/partitions").as_deref(),
            Some("the app tried /proc/partitions: not granted (--dir /proc)")
        );
        assert_eq!(noted.note("/proc/partitions"), None);
        assert_eq!(noted.note("/proc/../etc/passwd"), None);
        assert_eq!(noted.note("relative"), None);
        assert_eq!(noted.note("/no/such/file"), None);
        assert_eq!(noted.note(&format!("/proc/{}", "x/".repeat(3000))), None);
        // A name with a newline stays on one line.
        let dir = tempfile::tempdir_in("/var/tmp").unwrap();
        let odd = dir.path().join("a\nb");
        std::fs::write(&odd, "").unwrap();
        let note = noted.note(odd.to_str().unwrap()).unwrap();
        assert!(!note.contains('\n') && note.contains("a\\nb"), "{note}");
    }
}
