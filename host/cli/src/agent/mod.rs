//! `wasm-bpf agent`: one process that runs many apps, as bpfman or
//! `ig daemon` run every program of a node. Wasm's isolation is what
//! makes that safe: each app has its own store, memory cap, grants and
//! stop, and what one app does (trap, spin, exhaust its memory, be
//! stopped) ends that app alone, its BPF objects freed with its store.
//! All share one engine, one compile cache and each component's compiled
//! code, which is why an app costs less here than a process of its own.
//!
//! * [`app_file`]: an app's declaration (a TOML file, or an API body).
//! * [`ceiling`]: the agent's grants, which no app may exceed.
//! * [`apps`]: the apps, each run by a supervisor thread of its own.
//! * [`log`]: each app's output, kept and passed on.
//! * [`api`]: the local API; [`client`]: `wasm-bpf apps`.
//! * [`metrics`]: `--metrics`, every app's series labelled with its name.
//! * here: the command, and following the apps directory.

mod api;
mod app_file;
mod apps;
mod ceiling;
pub mod client;
mod log;
mod metrics;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, Result};
use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook::iterator::Signals;

use crate::config::{self, Settings};
use crate::flags::{AgentArgs, LogFormat};
use crate::messages;
use apps::{Agent, Options, Origin};

/// How often the apps directory is read again. Reading a few small files
/// is cheap, and unlike inotify it follows the symlink swaps a mounted
/// ConfigMap makes, and directories that are themselves replaced.
const RESCAN: Duration = Duration::from_millis(500);

/// An app file's text, or why it could not be read.
type AppFile = std::result::Result<String, String>;

/// The largest app file read.
const MAX_APP_FILE: u64 = 1 << 20;

/// Runs the agent until SIGTERM or SIGINT; 0 once every app has stopped.
pub fn agent(args: &AgentArgs, format: LogFormat) -> Result<i32> {
    let ceiling = ceiling_settings(args)?;
    crate::run::raise_fd_limit();
    tune_malloc();
    let mut signals = Signals::new([SIGINT, SIGTERM]).context("handling SIGINT and SIGTERM")?;
    let agent = Arc::new(Agent::new(
        ceiling,
        Options {
            log_size: usize::try_from(args.log_size.as_u64()).unwrap_or(usize::MAX),
            json: format == LogFormat::Json,
            no_cache: args.no_cache,
            kernel_btf: args.kernel_btf.clone(),
            #[cfg(feature = "registry")]
            pull: args.pull,
        },
    )?);

    let listener = api::bind(&args.api)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the API's runtime")?;
    let served = Arc::clone(&agent);
    std::thread::Builder::new()
        .name("api".into())
        .spawn(move || runtime.block_on(api::serve(listener, served)))
        .context("starting the API's thread")?;

    let _metrics = match args.metrics {
        Some(address) => {
            let scrape = Arc::new(metrics::AgentMetrics(Arc::clone(&agent)));
            let server = wasm_bpf_metrics::server::Server::start(address, scrape)?;
            messages::notice(&format!(
                "serving metrics on http://{}/metrics",
                server.address()
            ));
            Some(server)
        }
        None => None,
    };
    let stopping = Arc::new(AtomicBool::new(false));
    if let Some(dir) = &args.apps {
        let (agent, dir, stopping) = (Arc::clone(&agent), dir.clone(), Arc::clone(&stopping));
        std::thread::Builder::new()
            .name("apps directory".into())
            .spawn(move || follow(&agent, &dir, &stopping))
            .context("starting the apps directory's thread")?;
    }
    messages::notice(&format!("agent ready; API on {}", args.api.display()));

    let signal = signals.forever().next().unwrap_or(SIGTERM);
    stopping.store(true, Ordering::SeqCst);
    messages::notice(&format!("signal {signal}: stopping every app"));
    let forcing = Arc::clone(&agent);
    std::thread::spawn(move || {
        if let Some(signal) = signals.forever().next() {
            messages::notice(&format!("signal {signal}: stopping every app where it is"));
            forcing.force_all(signal);
        }
    });
    // The apps' guests get SIGTERM's stop, within their grace; what runs
    // past it is forced, and a run stuck in a system call is left to the
    // kernel as the process exits.
    let wait = agent.longest_grace() + wasm_bpf_runtime::run::WATCHDOG + Duration::from_secs(1);
    agent.shutdown(wait);
    let _ = std::fs::remove_file(&args.api);
    messages::notice("every app stopped");
    Ok(0)
}

/// glibc's allocator, set for many apps in one process. Measured with
/// bootstrap apps (`make bench`), per app added:
/// - glibc gives each thread that allocates an arena of its own, up to 8
///   per core, and keeps what a thread frees for that thread: with a
///   thread per app, about 350 KiB of 870. As many arenas as cores keep
///   the apps on different cores from waiting on one lock.
/// - Once a large block (libbpf's copy of the kernel's BTF, 5 MiB, freed
///   after each load) is freed, glibc raises its threshold for mapping
///   blocks of their own, so the next apps' copies come from the heap,
///   which keeps the holes: about 200 KiB. A fixed threshold (glibc's
///   default one) returns every large block when it is freed.
fn tune_malloc() {
    const MMAP_THRESHOLD: i32 = 128 * 1024;
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    // SAFETY: mallopt only changes the allocator's settings; called before
    // the app threads start.
    #[cfg(target_env = "gnu")]
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, i32::try_from(cores).unwrap_or(8));
        libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD);
    }
    #[cfg(not(target_env = "gnu"))]
    let _ = (cores, MMAP_THRESHOLD);
}

/// The ceiling: the agent's flags with its policy file.
fn ceiling_settings(args: &AgentArgs) -> Result<Settings> {
    let flags = Settings {
        grants: args.grants.clone(),
        #[cfg(feature = "registry")]
        registry: args.registry.clone(),
        #[cfg(feature = "registry")]
        trust: args.trust.clone(),
    };
    config::with_policy_file(flags, args.policy.as_deref())
}

/// Keeps the apps declared in `dir` running as its files say, until the
/// agent stops.
fn follow(agent: &Arc<Agent>, dir: &Path, stopping: &AtomicBool) {
    let mut seen: BTreeMap<String, AppFile> = BTreeMap::new();
    let mut unreadable = None;
    while !stopping.load(Ordering::SeqCst) {
        match scan(dir) {
            Ok(files) => {
                unreadable = None;
                reconcile(agent, dir, &mut seen, files);
            }
            Err(e) => {
                let message = format!("{e:#}");
                if unreadable.as_ref() != Some(&message) {
                    messages::error(&format!("--apps: {message}; the apps keep running"));
                    unreadable = Some(message);
                }
            }
        }
        std::thread::sleep(RESCAN);
    }
}

/// Brings the apps in line with `files` (name → text), given what was
/// `seen` before.
fn reconcile(
    agent: &Arc<Agent>,
    dir: &Path,
    seen: &mut BTreeMap<String, AppFile>,
    files: BTreeMap<String, AppFile>,
) {
    for name in seen.keys() {
        if !files.contains_key(name) {
            agent.remove(name, Some(Origin::File));
        }
    }
    for (name, text) in &files {
        if seen.get(name) == Some(text) {
            continue;
        }
        let path = dir.join(format!("{name}.toml"));
        let spec = app_file::check_name(name).and_then(|()| match text {
            Ok(text) => app_file::parse_file(&path, text, &agent.ceiling),
            Err(e) => Err(anyhow::anyhow!("app file {}: {e}", path.display())),
        });
        if let Err(e) = agent.declare(name, Origin::File, spec) {
            tracing::debug!("app {name}: {e:#}");
        }
    }
    *seen = files;
}

/// The text of the file at `path`, read no further than
/// [`MAX_APP_FILE`]: the cap holds however the file grows meanwhile.
fn read_capped(path: &Path) -> AppFile {
    use std::io::Read as _;
    let file = std::fs::File::open(path).map_err(|e| format!("reading it: {e}"))?;
    let mut bytes = Vec::new();
    file.take(MAX_APP_FILE + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("reading it: {e}"))?;
    if bytes.len() as u64 > MAX_APP_FILE {
        return Err(format!("larger than {MAX_APP_FILE} bytes"));
    }
    String::from_utf8(bytes).map_err(|_| "not UTF-8 text".to_string())
}

/// The app files of `dir`: `NAME.toml`, not hidden (a ConfigMap's
/// `..data` and its kin), each at most [`MAX_APP_FILE`].
fn scan(dir: &Path) -> Result<BTreeMap<String, AppFile>> {
    let mut files = BTreeMap::new();
    for entry in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let entry = entry?;
        let file_name = entry.file_name();
        let Some(name) = file_name
            .to_str()
            .and_then(|n| n.strip_suffix(".toml"))
            .filter(|n| !n.starts_with('.'))
        else {
            continue;
        };
        let path: PathBuf = entry.path();
        let text = match std::fs::metadata(&path) {
            Ok(meta) if meta.is_file() => read_capped(&path),
            _ => continue,
        };
        files.insert(name.to_string(), text);
    }
    Ok(files)
}
