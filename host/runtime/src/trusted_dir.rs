//! Directories whose content the host trusts: the compile cache (code it
//! maps and runs) and the image store (apps, signatures). Each is opened
//! only if no one but this user (or root) can change what is in it. A
//! `wasm-bpf` run as root with a user's `$HOME` or `$XDG_CACHE_HOME` would
//! otherwise map code that user planted, or follow their symbolic links
//! when writing.

use std::io::Read as _;
use std::io::Write as _;
use std::os::fd::{AsFd, AsRawFd as _, BorrowedFd, OwnedFd};
use std::path::{Component as PathPart, Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::{bail, Context as _, Result};
use rustix::fs::{
    fstat, mkdirat, openat, renameat, unlinkat, AtFlags, Dir, FileType, Mode, OFlags, Stat,
};
use rustix::process::geteuid;

/// A path naming the very file `file` is open on, not whatever its name
/// points at by now (for APIs that take paths).
pub fn fd_path(file: &OwnedFd) -> PathBuf {
    PathBuf::from(format!("/proc/self/fd/{}", file.as_raw_fd()))
}

/// A directory no one but this user (or root) can change.
pub struct TrustedDir(OwnedFd);

impl AsFd for TrustedDir {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.0.as_fd()
    }
}

/// Whether a directory or file with `stat` is this user's (or root's) and
/// writable by no one else. A root-owned sticky directory (`/tmp`) may lie
/// on the way: others can add entries there but not replace root's or ours.
fn trusted(stat: &Stat, on_the_way: bool) -> bool {
    let owner = stat.st_uid == geteuid().as_raw() || stat.st_uid == 0;
    let others_write = stat.st_mode & 0o022 != 0;
    let root_sticky = stat.st_uid == 0 && stat.st_mode & 0o1000 != 0;
    owner && (!others_write || (on_the_way && root_sticky))
}

impl TrustedDir {
    /// Opens `path`, creating what is missing of it (mode 0700), without
    /// following a symbolic link anywhere on the way.
    pub fn open(path: &Path) -> Result<Self> {
        let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        if !path.is_absolute() {
            bail!("{} is not an absolute path", path.display());
        }
        let mut dir = rustix::fs::open("/", flags, Mode::empty()).context("opening /")?;
        let parts: Vec<_> = path.components().skip(1).collect();
        let mut at = PathBuf::from("/");
        for (i, part) in parts.iter().enumerate() {
            let PathPart::Normal(name) = part else {
                bail!("{} is not a plain path", path.display());
            };
            at.push(name);
            let next = match openat(&dir, *name, flags, Mode::empty()) {
                Err(rustix::io::Errno::NOENT) => {
                    match mkdirat(&dir, *name, Mode::RWXU) {
                        Ok(()) | Err(rustix::io::Errno::EXIST) => {}
                        Err(e) => {
                            return Err(e).with_context(|| format!("creating {}", at.display()))
                        }
                    }
                    openat(&dir, *name, flags, Mode::empty())
                }
                other => other,
            }
            .with_context(|| {
                format!("opening {} (a symbolic link is not followed)", at.display())
            })?;
            let stat = fstat(&next).with_context(|| format!("reading {}", at.display()))?;
            if !trusted(&stat, i + 1 < parts.len()) {
                bail!(
                    "{} belongs to uid {} or is writable by others (mode {:o})",
                    at.display(),
                    stat.st_uid,
                    stat.st_mode & 0o7777
                );
            }
            dir = next;
        }
        Ok(Self(dir))
    }

    /// The entry `name`, if there is one that is a regular file this user
    /// (or root) wrote.
    pub fn entry(&self, name: &str) -> Result<Option<OwnedFd>> {
        let flags = OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        let file = match openat(&self.0, name, flags, Mode::empty()) {
            Ok(file) => file,
            Err(rustix::io::Errno::NOENT) => return Ok(None),
            Err(e) => return Err(e).context("opening it (a symbolic link is not followed)"),
        };
        let stat = fstat(&file).context("reading it")?;
        let regular = FileType::from_raw_mode(stat.st_mode) == FileType::RegularFile;
        if !regular || !trusted(&stat, false) {
            bail!(
                "not a regular file of this user's, or writable by others (uid {}, mode {:o})",
                stat.st_uid,
                stat.st_mode & 0o7777
            );
        }
        Ok(Some(file))
    }

    /// The content of entry `name`, if there is one (see [`Self::entry`]).
    pub fn read(&self, name: &str) -> Result<Option<Vec<u8>>> {
        let Some(file) = self.entry(name).with_context(|| format!("entry {name}"))? else {
            return Ok(None);
        };
        let mut bytes = Vec::new();
        std::fs::File::from(file)
            .read_to_end(&mut bytes)
            .with_context(|| format!("reading {name}"))?;
        Ok(Some(bytes))
    }

    /// Writes entry `name` whole or not at all: concurrent writers (other
    /// runs, other threads of this one) and readers see either no file or
    /// a complete one. Each write goes to a temporary file of its own,
    /// created exclusively (never through a link someone left there),
    /// synced to disk, then renamed over the entry.
    pub fn store(&self, name: &str, bytes: &[u8]) -> Result<()> {
        static WRITES: AtomicU64 = AtomicU64::new(0);
        let write = WRITES.fetch_add(1, Ordering::Relaxed);
        let partial = format!(".{name}.{}.{write}.partial", std::process::id());
        let flags =
            OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        let create = || openat(&self.0, &partial, flags, Mode::RUSR | Mode::WUSR);
        let file = match create() {
            // Left by an earlier run of this pid that died mid-write.
            Err(rustix::io::Errno::EXIST) => {
                unlinkat(&self.0, &partial, AtFlags::empty())
                    .with_context(|| format!("removing {partial}"))?;
                create()
            }
            other => other,
        }
        .with_context(|| format!("creating {partial}"))?;
        let mut file = std::fs::File::from(file);
        let renamed = file
            .write_all(bytes)
            .and_then(|()| file.sync_all())
            .context("writing")
            .and_then(|()| renameat(&self.0, &partial, &self.0, name).context("renaming"));
        if renamed.is_err() {
            let _ = unlinkat(&self.0, &partial, AtFlags::empty());
        }
        renamed.with_context(|| format!("storing {name}"))?;
        // The rename itself lasts once the directory is synced too.
        rustix::fs::fsync(&self.0).with_context(|| format!("syncing the directory of {name}"))
    }

    /// Removes entry `name`; one already gone is no error.
    pub fn remove(&self, name: &str) -> Result<()> {
        match unlinkat(&self.0, name, AtFlags::empty()) {
            Ok(()) | Err(rustix::io::Errno::NOENT) => Ok(()),
            Err(e) => Err(e).with_context(|| format!("removing {name}")),
        }
    }

    /// The names of the entries, the hidden ones (partial writes) left out.
    pub fn names(&self) -> Result<Vec<String>> {
        let mut dir = Dir::read_from(&self.0).context("listing the directory")?;
        let mut names = Vec::new();
        while let Some(entry) = dir.read() {
            let entry = entry.context("listing the directory")?;
            let name = entry.file_name().to_string_lossy();
            if !name.starts_with('.') {
                names.push(name.into_owned());
            }
        }
        names.sort();
        Ok(names)
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt as _;

    use super::*;

    fn content(file: OwnedFd) -> Vec<u8> {
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut std::fs::File::from(file), &mut bytes).unwrap();
        bytes
    }

    /// Eight threads storing the same entry while a reader reads it: the
    /// reader only ever sees one writer's whole content.
    #[test]
    fn concurrent_stores_of_one_entry_never_tear() {
        const SIZE: usize = 256 << 10;
        let tmp = tempfile::tempdir().unwrap();
        let dir = TrustedDir::open(tmp.path()).unwrap();
        let stop = std::sync::atomic::AtomicBool::new(false);
        std::thread::scope(|scope| {
            let writers: Vec<_> = (0..8u8)
                .map(|writer| {
                    let dir = &dir;
                    scope.spawn(move || {
                        for _ in 0..20 {
                            dir.store("entry", &vec![writer; SIZE]).unwrap();
                        }
                    })
                })
                .collect();
            let reader = scope.spawn(|| {
                let mut reads = 0;
                while !stop.load(Ordering::Relaxed) {
                    if let Some(file) = dir.entry("entry").unwrap() {
                        let bytes = content(file);
                        assert_eq!(bytes.len(), SIZE, "a torn entry");
                        assert!(bytes.iter().all(|&b| b == bytes[0]), "a mixed entry");
                        reads += 1;
                    }
                }
                reads
            });
            for writer in writers {
                writer.join().unwrap();
            }
            stop.store(true, Ordering::Relaxed);
            assert!(reader.join().unwrap() > 0);
        });
        assert_eq!(dir.names().unwrap(), ["entry"], "a temporary file was left");
    }

    #[test]
    fn links_and_directories_others_can_write_are_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let real = tmp.path().join("real");
        std::fs::create_dir(&real).unwrap();
        std::os::unix::fs::symlink(&real, tmp.path().join("link")).unwrap();
        assert!(TrustedDir::open(&tmp.path().join("link/cache")).is_err());
        let open = tmp.path().join("open");
        std::fs::create_dir(&open).unwrap();
        std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o777)).unwrap();
        let error = TrustedDir::open(&open).err().unwrap();
        assert!(
            format!("{error:#}").contains("writable by others"),
            "{error:#}"
        );
        let dir = TrustedDir::open(&real.join("made/below")).unwrap();
        assert!(real.join("made/below").is_dir());
        dir.store("a", b"x").unwrap();
        std::os::unix::fs::symlink(real.join("made/below/a"), real.join("made/below/b")).unwrap();
        assert!(dir.entry("b").is_err(), "an entry through a link was read");
        assert_eq!(content(dir.entry("a").unwrap().unwrap()), b"x");
        assert!(dir.entry("missing").unwrap().is_none());
    }
}
