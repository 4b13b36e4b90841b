//! Getting a guest's compiled code: compiling a `.wasm` component, loading
//! one precompiled by `wasm-bpf compile`, and the on-disk cache between.
//!
//! The cache keeps compiled components uncompressed, one file each, so a
//! hit is an `mmap` of ready code. (wasmtime's own cache compresses its
//! entries: decompressing bootstrap took longer than loading and attaching
//! its BPF programs.)

use std::hash::{Hash as _, Hasher};
use std::io::Write as _;
use std::os::fd::{AsRawFd as _, OwnedFd};
use std::path::{Component as PathPart, Path, PathBuf};

use rustix::fs::{
    fstat, mkdirat, openat, renameat, unlinkat, AtFlags, FileType, Mode, OFlags, Stat,
};
use rustix::process::geteuid;

use sha2::{Digest as _, Sha256};
use wasmtime::bail;
use wasmtime::component::Component;
use wasmtime::error::Context as _;
use wasmtime::{Engine, Precompiled, Result};

/// Where compiled components are cached: `$XDG_CACHE_HOME/wasm-bpf`, or
/// `~/.cache/wasm-bpf`.
pub fn default_cache_dir() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cache")))?;
    Some(base.join("wasm-bpf"))
}

/// Feeds `Hash` output into SHA-256, to key the cache on values that only
/// implement `Hash` (the engine's compatibility fingerprint).
struct Sha256Hasher(Sha256);

impl Hasher for Sha256Hasher {
    fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }

    /// Unused: the key is the SHA-256 digest.
    fn finish(&self) -> u64 {
        0
    }
}

/// The cache file for `wasm` compiled by `engine`: a change of either (a
/// new component, another wasmtime or configuration) is another file.
fn cache_file(dir: &Path, engine: &Engine, wasm: &[u8]) -> PathBuf {
    let mut hasher = Sha256Hasher(Sha256::new());
    engine.precompile_compatibility_hash().hash(&mut hasher);
    hasher.0.update(wasm);
    let digest = hasher.0.finalize();
    let name: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    dir.join(format!("{name}.cwasm"))
}

/// Loads the component `bytes`, read from `path` if from a file:
/// precompiled code as is (from its file only), a `.wasm` component from
/// `cache` (compiling and storing it on a miss) or, without a cache,
/// compiled in memory.
pub fn load(
    engine: &Engine,
    bytes: &[u8],
    path: Option<&Path>,
    cache: Option<&Path>,
) -> Result<Component> {
    match (Engine::detect_precompiled(bytes), path) {
        // SAFETY: the file claims to be code compiled by wasmtime; the
        // `compile` command documents that only files one compiled oneself
        // may be run. wasmtime checks its version and settings. Mapping
        // the file (rather than copying `bytes`) is what makes it fast.
        (Some(Precompiled::Component), Some(path)) => unsafe {
            Component::deserialize_file(engine, path)
        },
        (Some(Precompiled::Component), None) => Err(wasmtime::format_err!(
            "precompiled code runs only from the file `wasm-bpf compile` wrote"
        )),
        (Some(Precompiled::Module), _) => Err(wasmtime::format_err!(
            "this is a precompiled core module, not a component"
        )),
        (None, _) => match cache {
            Some(dir) => load_cached(engine, bytes, dir),
            None => Component::new(engine, bytes),
        },
    }
}

fn load_cached(engine: &Engine, wasm: &[u8], dir: &Path) -> Result<Component> {
    let dir = match CacheDir::open(dir) {
        Ok(dir) => dir,
        Err(e) => {
            tracing::warn!("not using the compile cache: {e:#}; compiling in memory");
            return Component::new(engine, wasm);
        }
    };
    let name = cache_file(Path::new(""), engine, wasm);
    let name = name.to_string_lossy();
    match dir.entry(&name) {
        Ok(Some(entry)) => {
            // SAFETY: the entry is a regular file owned by this user (or
            // root) in a directory chain only they can write, so it was
            // written by `store` below from code this engine compiled; its
            // name covers the engine's settings and the component's bytes.
            // `/proc/self/fd` maps the very file checked, not whatever the
            // name points at by now.
            match unsafe { Component::deserialize_file(engine, fd_path(&entry)) } {
                Ok(component) => return Ok(component),
                Err(e) => tracing::warn!("ignoring cache entry {name}: {e:#}"),
            }
        }
        Ok(None) => {}
        Err(e) => tracing::warn!("ignoring cache entry {name}: {e:#}"),
    }
    let compiled = engine.precompile_component(wasm)?;
    if let Err(e) = dir.store(&name, &compiled) {
        tracing::warn!("not caching the compiled component: {e:#}");
    }
    // SAFETY: these bytes were compiled by this engine just now.
    unsafe { Component::deserialize(engine, &compiled) }
}

fn fd_path(file: &OwnedFd) -> PathBuf {
    PathBuf::from(format!("/proc/self/fd/{}", file.as_raw_fd()))
}

/// The compile cache's directory, opened only if no one but this user (or
/// root) can change what is in it. A `wasm-bpf run` as root with a user's
/// `$HOME` or `$XDG_CACHE_HOME` would otherwise map code that user
/// planted, or follow their symbolic links when writing.
struct CacheDir(OwnedFd);

/// Whether a directory or file with `stat` is this user's (or root's) and
/// writable by no one else. A root-owned sticky directory (`/tmp`) may lie
/// on the way: others can add entries there but not replace root's or ours.
fn trusted(stat: &Stat, on_the_way: bool) -> bool {
    let owner = stat.st_uid == geteuid().as_raw() || stat.st_uid == 0;
    let others_write = stat.st_mode & 0o022 != 0;
    let root_sticky = stat.st_uid == 0 && stat.st_mode & 0o1000 != 0;
    owner && (!others_write || (on_the_way && root_sticky))
}

impl CacheDir {
    /// Opens `path`, creating what is missing of it (mode 0700), without
    /// following a symbolic link anywhere on the way.
    fn open(path: &Path) -> Result<Self> {
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
    fn entry(&self, name: &str) -> Result<Option<OwnedFd>> {
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

    /// Writes entry `name` whole or not at all: concurrent runs see either
    /// no file or a complete one. The temporary file is created exclusively
    /// (never through a link someone left there).
    fn store(&self, name: &str, compiled: &[u8]) -> Result<()> {
        let partial = format!(".{name}.{}.partial", std::process::id());
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
        let written = std::fs::File::from(file).write_all(compiled);
        let renamed = written
            .context("writing")
            .and_then(|()| renameat(&self.0, &partial, &self.0, name).context("renaming"));
        if renamed.is_err() {
            let _ = unlinkat(&self.0, &partial, AtFlags::empty());
        }
        renamed.with_context(|| format!("storing {name}"))
    }
}

/// Compiles the component at `input` ahead of time into `output`, which
/// `run` then starts without compiling.
pub fn precompile(engine: &Engine, input: &Path, output: &Path) -> Result<()> {
    let wasm = std::fs::read(input).with_context(|| format!("reading {}", input.display()))?;
    let compiled = engine
        .precompile_component(&wasm)
        .with_context(|| format!("compiling {}", input.display()))?;
    std::fs::write(output, compiled).with_context(|| format!("writing {}", output.display()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_files_differ_by_component_and_stay_put() {
        let engine = Engine::default();
        let dir = Path::new("/cache");
        let a = cache_file(dir, &engine, b"component a");
        assert_eq!(a, cache_file(dir, &engine, b"component a"));
        assert_ne!(a, cache_file(dir, &engine, b"component b"));
        assert!(a.starts_with(dir));
        assert_eq!(a.extension().and_then(|e| e.to_str()), Some("cwasm"));
    }
}
