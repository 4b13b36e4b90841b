//! Host paths a guest may name (a binary to probe, a cgroup, a kernel BTF
//! file): only those beneath the directories it was granted with `--dir`,
//! resolved the way the guest sees them.
//!
//! Each granted directory is held open from the start, and every path is
//! opened once, beneath that directory's fd, with `openat2`
//! (`RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS`): a symbolic link, `..` or a
//! link swapped in while the host works cannot lead outside, and the fd
//! opened is what is checked and handed on (to libbpf or the kernel as
//! `/proc/self/fd/N`), so nothing is looked up by name twice.

use std::fs::File;
use std::os::fd::{AsFd, AsRawFd as _, BorrowedFd, OwnedFd};
use std::path::{Component, Path, PathBuf};

use rustix::fs::{openat2, FileType, Mode, OFlags, ResolveFlags};
use rustix::io::Errno;

use crate::bindings::types::ErrorCode;
use crate::{BpfError, BpfResult};

/// A directory the guest was granted, held open.
struct Grant {
    /// Where the guest sees it.
    guest: PathBuf,
    /// Where it is on the host, as given (for messages).
    host: PathBuf,
    /// The directory itself (`O_PATH`), which every path beneath it is
    /// resolved from.
    dir: OwnedFd,
}

/// The directories a guest was granted.
#[derive(Default)]
pub struct Grants {
    dirs: Vec<Grant>,
    /// The bpffs directory of `--allow-pin`.
    pin: Option<Grant>,
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

/// What a path resolves to, opened beneath a grant.
pub(crate) struct Opened {
    /// An `O_PATH` fd of the file: it names the file, opens nothing.
    pub fd: OwnedFd,
    /// Its kind, from `fstat` of that fd.
    pub kind: FileType,
}

/// The path by which libbpf or the kernel reaches the file of `fd`.
pub(crate) fn fd_path(fd: BorrowedFd<'_>) -> PathBuf {
    PathBuf::from(format!("/proc/self/fd/{}", fd.as_raw_fd()))
}

/// The name of a kind of file, for refusals.
fn kind_name(kind: FileType) -> &'static str {
    match kind {
        FileType::Fifo => "a FIFO",
        FileType::Socket => "a socket",
        FileType::CharacterDevice => "a character device",
        FileType::BlockDevice => "a block device",
        FileType::Directory => "a directory",
        FileType::Symlink => "a symbolic link",
        _ => "not a regular file",
    }
}

/// Opens `path` beneath `dir` as `O_PATH`, links followed only while they
/// stay beneath it; `what` and `shown` name it in errors.
pub(crate) fn open_beneath(
    dir: BorrowedFd<'_>,
    path: &Path,
    what: &str,
    shown: &str,
    resolve: ResolveFlags,
) -> BpfResult<Opened> {
    let denied = |why: &str| {
        BpfError::with_errno(
            ErrorCode::PermissionDenied,
            libc::EACCES,
            format!("{what} `{shown}` {why}"),
        )
    };
    // `openat2` takes "" as no path at all; the directory itself is ".".
    let path = if path.as_os_str().is_empty() {
        Path::new(".")
    } else {
        path
    };
    let flags = OFlags::PATH | OFlags::CLOEXEC;
    let resolve = resolve | ResolveFlags::BENEATH | ResolveFlags::NO_MAGICLINKS;
    let fd = match openat2(dir, path, flags, Mode::empty(), resolve) {
        Ok(fd) => fd,
        // A link or `..` that leads outside, or a magic link: the guest
        // learns nothing of where it points, not even whether it exists.
        Err(Errno::XDEV | Errno::LOOP) => {
            return Err(denied("leads outside its granted directory"))
        }
        Err(e @ (Errno::NOENT | Errno::NOTDIR)) => {
            return Err(BpfError::with_errno(
                ErrorCode::TargetNotFound,
                e.raw_os_error(),
                format!("{what} `{shown}`: {e}"),
            ))
        }
        Err(e) => {
            return Err(BpfError::os(
                &format!("opening {what} `{shown}`"),
                e.raw_os_error(),
            ))
        }
    };
    let kind = rustix::fs::fstat(&fd)
        .map(|stat| FileType::from_raw_mode(stat.st_mode))
        .map_err(|e| BpfError::os(&format!("inspecting {what} `{shown}`"), e.raw_os_error()))?;
    Ok(Opened { fd, kind })
}

impl Opened {
    /// Refuses anything but a regular file (a FIFO would block whoever
    /// reads it forever, a device do what opening it does).
    pub(crate) fn regular(self, what: &str, shown: &str) -> BpfResult<Self> {
        if self.kind == FileType::RegularFile {
            return Ok(self);
        }
        Err(BpfError::with_errno(
            ErrorCode::InvalidArgument,
            libc::EINVAL,
            format!(
                "{what} `{shown}` is {}; only a regular file is read",
                kind_name(self.kind)
            ),
        ))
    }

    /// Opens the file for reading, through its `O_PATH` fd (a regular
    /// file, [`Self::regular`]).
    pub(crate) fn read(&self, what: &str) -> BpfResult<File> {
        File::open(fd_path(self.fd.as_fd())).map_err(|e| {
            BpfError::os(
                &format!("opening {what}"),
                e.raw_os_error().unwrap_or(libc::EIO),
            )
        })
    }
}

impl Grant {
    fn open(host: &Path, guest: PathBuf) -> std::io::Result<Self> {
        let dir = rustix::fs::open(
            host,
            OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(|e| {
            std::io::Error::new(
                std::io::Error::from(e).kind(),
                format!("opening granted directory {}: {e}", host.display()),
            )
        })?;
        Ok(Self {
            guest,
            host: host.to_path_buf(),
            dir,
        })
    }
}

impl Grants {
    /// Grants for directories given as (host path, guest path), and the
    /// bpffs directory `pin_dir` for pinned maps, each opened now and
    /// held.
    pub fn new(dirs: &[(PathBuf, String)], pin_dir: Option<&Path>) -> std::io::Result<Self> {
        let mut grants = Vec::new();
        for (host, guest) in dirs {
            let Some(guest) = plain(Path::new(guest)) else {
                continue;
            };
            grants.push(Grant::open(host, guest)?);
        }
        // The most specific grant wins when guest paths nest.
        grants.sort_by_key(|g| std::cmp::Reverse(g.guest.components().count()));
        let pin = pin_dir
            .map(|dir| Grant::open(dir, PathBuf::new()))
            .transpose()?;
        Ok(Self { dirs: grants, pin })
    }

    /// Opens the host file at `path` (a canonical path the host found, as
    /// a section's binary) beneath the grant that holds it; `None` if no
    /// grant does.
    pub(crate) fn open_host_path(&self, what: &str, path: &Path) -> Option<BpfResult<Opened>> {
        self.dirs.iter().find_map(|grant| {
            let root = grant.host.canonicalize().ok()?;
            let rest = path.strip_prefix(&root).ok()?;
            let shown = path.display().to_string();
            Some(open_beneath(
                grant.dir.as_fd(),
                rest,
                what,
                &shown,
                ResolveFlags::empty(),
            ))
        })
    }

    /// Opens the guest path `guest` (`what` names it in errors) beneath
    /// the grant it lies in, refused if it lies in none or leads outside.
    pub(crate) fn open(&self, what: &str, guest: &str) -> BpfResult<Opened> {
        let denied = |why: &str| {
            BpfError::with_errno(
                ErrorCode::PermissionDenied,
                libc::EACCES,
                format!(
                    "{what} `{guest}` {why}; grant its directory with `wasm-bpf run --dir HOST::GUEST`"
                ),
            )
        };
        let path = plain(Path::new(guest)).ok_or_else(|| denied("contains `..`"))?;
        let (grant, rest) = self
            .dirs
            .iter()
            .find_map(|g| Some((g, path.strip_prefix(&g.guest).ok()?)))
            .ok_or_else(|| {
                let err = denied("is not inside a directory the guest was granted");
                // Outside every grant, the guest's path is the host's.
                match super::refusals::grant_for(&path) {
                    Some(dir) => err.hint(&format!(
                        "on this host it would be granted with `--dir {}`",
                        dir.display()
                    )),
                    None => err,
                }
            })?;
        open_beneath(grant.dir.as_fd(), rest, what, guest, ResolveFlags::empty()).map_err(|e| {
            if e.guest()
                .is_some_and(|g| g.code == ErrorCode::PermissionDenied)
            {
                e.hint("grant its directory with `wasm-bpf run --dir HOST::GUEST`")
            } else {
                e
            }
        })
    }

    /// Opens the regular file at guest path `guest` for reading.
    pub(crate) fn read_file(&self, what: &str, guest: &str) -> BpfResult<File> {
        self.open(what, guest)?.regular(what, guest)?.read(what)
    }

    /// The pin grant (`--allow-pin`): its path and the directory, held
    /// open.
    pub(crate) fn pins(&self) -> Option<(&Path, BorrowedFd<'_>)> {
        self.pin.as_ref().map(|g| (g.host.as_path(), g.dir.as_fd()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code<T>(r: BpfResult<T>) -> ErrorCode {
        match r {
            Ok(_) => panic!("expected an error"),
            Err(e) => e.guest().expect("a guest error").code,
        }
    }

    /// The inode `opened` names.
    fn inode(opened: &Opened) -> u64 {
        rustix::fs::fstat(&opened.fd).expect("fstat").st_ino
    }

    #[test]
    fn opens_only_beneath_granted_directories() {
        let dir = tempfile::tempdir().unwrap();
        let inner = dir.path().join("inner");
        std::fs::create_dir(&inner).unwrap();
        std::fs::write(inner.join("bin"), b"x").unwrap();
        std::fs::write(dir.path().join("secret"), b"x").unwrap();
        std::os::unix::fs::symlink(dir.path().join("secret"), inner.join("escape")).unwrap();
        std::os::unix::fs::symlink("../secret", inner.join("relative-escape")).unwrap();
        std::os::unix::fs::symlink("bin", inner.join("alias")).unwrap();
        let grants = Grants::new(&[(inner.clone(), "/app".into())], None).unwrap();

        let found = grants.open("binary", "/app/./bin").unwrap();
        let bin = std::fs::metadata(inner.join("bin")).unwrap();
        assert_eq!(inode(&found), std::os::unix::fs::MetadataExt::ino(&bin));
        assert_eq!(found.kind, FileType::RegularFile);
        // A link that stays inside is followed.
        assert_eq!(
            inode(&grants.open("binary", "/app/alias").unwrap()),
            inode(&found)
        );
        for outside in [
            "/app/../secret",
            "/app/escape",
            "/app/relative-escape",
            "/other/bin",
        ] {
            assert_eq!(
                code(grants.open("binary", outside)),
                ErrorCode::PermissionDenied,
                "{outside}"
            );
        }
        assert_eq!(
            code(grants.open("binary", "/app/missing")),
            ErrorCode::TargetNotFound
        );
        // Outside the grant, a missing file and an existing one get the
        // same answer: existence is not revealed.
        std::os::unix::fs::symlink(dir.path(), inner.join("up")).unwrap();
        std::os::unix::fs::symlink(dir.path().join("nothing"), inner.join("dangling")).unwrap();
        std::os::unix::fs::symlink("../nothing", inner.join("relative-dangling")).unwrap();
        for outside in [
            "/app/up/secret",
            "/app/up/missing",
            "/app/dangling",
            "/app/relative-dangling",
            "/app/escape/x",
        ] {
            assert_eq!(
                code(grants.open("binary", outside)),
                ErrorCode::PermissionDenied,
                "{outside}"
            );
        }
    }

    /// The grant is the directory opened at the start: replacing it with a
    /// link to elsewhere afterwards changes nothing the guest reaches.
    #[test]
    fn the_granted_directory_is_the_one_opened_at_the_start() {
        let dir = tempfile::tempdir().unwrap();
        let granted = dir.path().join("granted");
        let elsewhere = dir.path().join("elsewhere");
        std::fs::create_dir(&granted).unwrap();
        std::fs::create_dir(&elsewhere).unwrap();
        std::fs::write(granted.join("file"), b"granted").unwrap();
        std::fs::write(elsewhere.join("file"), b"elsewhere").unwrap();
        let grants = Grants::new(&[(granted.clone(), "/g".into())], None).unwrap();
        std::fs::rename(&granted, dir.path().join("moved")).unwrap();
        std::os::unix::fs::symlink(&elsewhere, &granted).unwrap();
        let mut text = String::new();
        std::io::Read::read_to_string(&mut grants.read_file("file", "/g/file").unwrap(), &mut text)
            .unwrap();
        assert_eq!(text, "granted");
    }

    #[test]
    fn only_regular_files_are_read() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        rustix::fs::mknodat(
            rustix::fs::CWD,
            &fifo,
            FileType::Fifo,
            Mode::from_raw_mode(0o600),
            0,
        )
        .unwrap();
        std::os::unix::net::UnixListener::bind(dir.path().join("socket")).unwrap();
        std::fs::create_dir(dir.path().join("dir")).unwrap();
        let grants = Grants::new(&[(dir.path().to_path_buf(), "/d".into())], None).unwrap();
        for (name, kind) in [
            ("fifo", "a FIFO"),
            ("socket", "a socket"),
            ("dir", "a directory"),
        ] {
            let refused = grants.read_file("kernel BTF", &format!("/d/{name}"));
            let message = match refused {
                Ok(_) => panic!("{name} was opened"),
                Err(e) => e.guest().expect("a guest error").message.clone(),
            };
            assert!(message.contains(kind), "{name}: {message}");
        }
    }
}
