//! Getting a guest's compiled code: compiling a `.wasm` component, loading
//! one precompiled by `wasm-bpf compile`, and the on-disk cache between.
//!
//! The cache keeps compiled components uncompressed, one file each, so a
//! hit is an `mmap` of ready code. (wasmtime's own cache compresses its
//! entries: decompressing bootstrap took longer than loading and attaching
//! its BPF programs.) It is bounded: a hit marks its entry used (its
//! modification time), and a store evicts the least recently used entries
//! until the cache fits its size again.

use std::hash::{Hash as _, Hasher};
use std::path::{Path, PathBuf};

use sha2::{Digest as _, Sha256};
use wasmtime::component::Component;
use wasmtime::error::Context as _;
use wasmtime::{Engine, Precompiled, Result};

use crate::trusted_dir::{fd_path, TrustedDir};

/// The cache's size unless `--cache-max` says otherwise: about ten
/// compiled Python or JavaScript compositions (35-73 MB each), or
/// hundreds of Rust and C apps (1-3 MB).
pub const DEFAULT_CACHE_MAX: u64 = 512 << 20;

/// The on-disk cache of compiled components.
#[derive(Debug, Clone)]
pub struct Cache {
    /// Where: see [`Cache::default_dir`].
    pub dir: PathBuf,
    /// Most bytes its entries take together.
    pub max_bytes: u64,
}

/// One compiled component in the cache.
#[derive(Debug)]
pub struct CacheEntry {
    pub name: String,
    pub bytes: u64,
    /// When it was last run (or compiled).
    pub used: std::time::SystemTime,
}

impl Cache {
    /// `$XDG_CACHE_HOME/wasm-bpf`, or `~/.cache/wasm-bpf`.
    pub fn default_dir() -> Option<PathBuf> {
        let base = std::env::var_os("XDG_CACHE_HOME")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cache")))?;
        Some(base.join("wasm-bpf"))
    }

    /// The cache at the default place, of the default size.
    pub fn default_cache() -> Option<Self> {
        Some(Self {
            dir: Self::default_dir()?,
            max_bytes: DEFAULT_CACHE_MAX,
        })
    }

    /// The entries, least recently used first.
    pub fn entries(&self) -> anyhow::Result<Vec<CacheEntry>> {
        let dir = TrustedDir::open(&self.dir)?;
        entries(&dir)
    }

    /// Removes every entry; how many bytes that freed.
    pub fn clear(&self) -> anyhow::Result<u64> {
        let dir = TrustedDir::open(&self.dir)?;
        let mut freed = 0;
        for entry in entries(&dir)? {
            dir.remove(&entry.name)?;
            freed += entry.bytes;
        }
        Ok(freed)
    }
}

fn entries(dir: &TrustedDir) -> anyhow::Result<Vec<CacheEntry>> {
    let mut entries = Vec::new();
    for name in dir.names()? {
        if !name.ends_with(".cwasm") {
            continue;
        }
        // An entry removed meanwhile (by another run's eviction) is skipped.
        if let Ok(stat) = rustix::fs::statat(dir, &*name, rustix::fs::AtFlags::SYMLINK_NOFOLLOW) {
            // A time before 1970 or past SystemTime's range (anyone can
            // `touch -d` a file) sorts first, as if never used.
            let since_epoch = u64::try_from(stat.st_mtime).ok().map(|secs| {
                std::time::Duration::new(secs, stat.st_mtime_nsec as u32 % 1_000_000_000)
            });
            let used = since_epoch
                .and_then(|d| std::time::UNIX_EPOCH.checked_add(d))
                .unwrap_or(std::time::UNIX_EPOCH);
            entries.push(CacheEntry {
                name,
                bytes: stat.st_size as u64,
                used,
            });
        }
    }
    entries.sort_by_key(|e| e.used);
    Ok(entries)
}

/// Removes the least recently used entries but `keep` until the entries
/// take at most `max` bytes.
fn evict(dir: &TrustedDir, max: u64, keep: &str) -> anyhow::Result<()> {
    let entries = entries(dir)?;
    let mut total: u64 = entries.iter().map(|e| e.bytes).sum();
    for entry in entries.iter().filter(|e| e.name != keep) {
        if total <= max {
            break;
        }
        dir.remove(&entry.name)?;
        tracing::debug!(entry = %entry.name, bytes = entry.bytes, "evicted from the compile cache");
        total -= entry.bytes;
    }
    Ok(())
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
    cache: Option<&Cache>,
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
            Some(cache) => load_cached(engine, bytes, cache),
            None => Component::new(engine, bytes),
        },
    }
}

fn load_cached(engine: &Engine, wasm: &[u8], cache: &Cache) -> Result<Component> {
    let dir = match TrustedDir::open(&cache.dir) {
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
            // Used now: the last to be evicted.
            let now = rustix::fs::Timestamps {
                last_access: rustix::fs::Timespec {
                    tv_sec: 0,
                    tv_nsec: rustix::fs::UTIME_NOW,
                },
                last_modification: rustix::fs::Timespec {
                    tv_sec: 0,
                    tv_nsec: rustix::fs::UTIME_NOW,
                },
            };
            if let Err(e) = rustix::fs::futimens(&entry, &now) {
                tracing::debug!("not marking cache entry {name} used: {e}");
            }
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
    } else if let Err(e) = evict(&dir, cache.max_bytes, &name) {
        tracing::warn!("trimming the compile cache: {e:#}");
    }
    // SAFETY: these bytes were compiled by this engine just now.
    unsafe { Component::deserialize(engine, &compiled) }
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
