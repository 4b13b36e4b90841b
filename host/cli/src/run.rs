//! `wasm-bpf run`: the flags and the policy file merged into one
//! [`Settings`], turned into the runtime's [`RunConfig`], and run, with
//! the metrics endpoint beside it when asked.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context as _, Result};
use wasm_bpf_metrics::{Metrics, ProgramStats};
use wasm_bpf_runtime::bpf::policy::Policy;
use wasm_bpf_runtime::component::{Cache, DEFAULT_CACHE_MAX};
use wasm_bpf_runtime::compose;
use wasm_bpf_runtime::observe::{GuestMetrics, Observer, Unobserved};
use wasm_bpf_runtime::run::{self, Outcome, RunConfig, Source};

use crate::config::{self, Settings};
use crate::flags::RunArgs;
use crate::messages;

/// Runs the guest `args` name; its exit status.
pub fn run(args: &RunArgs) -> Result<i32> {
    let settings = settings(args)?;
    raise_fd_limit();
    let (app, guest_args) = args.split();
    let (component, guest_args, mut env, mut dirs, _gadget) =
        match resolve(args, &settings, app, guest_args)? {
            Run::App(component) => (
                component,
                guest_args.to_vec(),
                Vec::new(),
                Vec::new(),
                None::<GadgetFiles>,
            ),
            #[cfg(feature = "registry")]
            Run::Gadget(crate::gadget::Prepared {
                source,
                args,
                env,
                dir,
                files,
            }) => (source, args, env, vec![dir], Some(files)),
        };
    env.extend(self::env(&settings.grants.env)?);
    dirs.extend(self::dirs(&settings.grants.dirs));
    let program_name = program_name(&component, app);
    let guest_metrics = Arc::new(GuestMetrics::default());
    // Without --metrics nothing reads the host's counts, so none are kept.
    let metrics = match args.metrics {
        Some(address) => {
            let stats = program_stats(args.program_stats)?;
            Some((
                address,
                Arc::new(Metrics::new(Arc::clone(&guest_metrics), stats)),
            ))
        }
        None => None,
    };
    let observer: Arc<dyn Observer> = match &metrics {
        Some((_, metrics)) => Arc::clone(metrics) as _,
        None => Arc::new(Unobserved),
    };
    let config = RunConfig {
        component,
        program_name,
        args: guest_args,
        env,
        dirs,
        timeout: settings.grants.timeout,
        grace: settings.grace(),
        max_memory: usize::try_from(settings.max_memory().as_u64()).unwrap_or(usize::MAX),
        policy: policy(&settings)?,
        cache: if args.no_cache {
            None
        } else {
            Cache::default_dir().map(|dir| Cache {
                dir,
                max_bytes: settings
                    .grants
                    .cache_max
                    .map_or(DEFAULT_CACHE_MAX, |size| size.as_u64()),
            })
        },
        kernel_btf: args.kernel_btf.clone(),
        observer,
        guest_metrics,
    };
    let _server = match metrics {
        Some((address, metrics)) => {
            let server = wasm_bpf_metrics::server::Server::start(address, metrics)?;
            if args.verbose {
                messages::notice(&format!(
                    "serving metrics on http://{}/metrics",
                    server.address()
                ));
            }
            Some(server)
        }
        None => None,
    };
    let outcome = run::run(&config)?;
    match &outcome {
        Outcome::Trapped(e) => messages::error(&format!("the guest trapped: {e:?}")),
        Outcome::TimedOut => messages::notice("timeout reached, guest stopped"),
        Outcome::Signaled(_) | Outcome::Exited(_) => {}
    }
    Ok(outcome.exit_code())
}

/// The flags' settings with the policy file's, if one is named.
fn settings(args: &RunArgs) -> Result<Settings> {
    let flags = Settings {
        grants: args.grants.clone(),
        #[cfg(feature = "registry")]
        registry: args.registry.clone(),
        #[cfg(feature = "registry")]
        trust: args.trust.clone(),
    };
    match &args.policy {
        Some(path) => Ok(config::merge(&flags, &crate::policy_file::read(path)?)),
        None => Ok(flags),
    }
}

/// A gadget's files, kept until its run ends.
#[cfg(feature = "registry")]
type GadgetFiles = tempfile::TempDir;
#[cfg(not(feature = "registry"))]
type GadgetFiles = std::convert::Infallible;

/// What `run` runs: an app, or a gadget image's runner.
enum Run {
    App(Source),
    #[cfg(feature = "registry")]
    Gadget(crate::gadget::Prepared),
}

/// The app, composed with its `--sink`s if any, or the gadget runner.
fn resolve(args: &RunArgs, settings: &Settings, app: &str, guest_args: &[String]) -> Result<Run> {
    #[cfg(feature = "registry")]
    for sink in &args.sinks {
        crate::source::local_file_allowed(&settings.trust, &format!("--sink {}", sink.display()))?;
    }
    let source = app_source(args, settings, app)?;
    #[cfg(feature = "registry")]
    let source = match source {
        crate::source::Resolved::App(source) => source,
        crate::source::Resolved::Gadget {
            store,
            name,
            manifest,
        } => {
            return crate::gadget::prepare(&store, &name, &manifest, guest_args, &args.sinks)
                .map(Run::Gadget)
        }
    };
    #[cfg(not(feature = "registry"))]
    let _ = guest_args;
    if args.sinks.is_empty() {
        return Ok(Run::App(source));
    }
    let probe = compose::Part {
        path: source.name().into_owned().into(),
        bytes: source.bytes()?.into_owned(),
    };
    let sinks = args
        .sinks
        .iter()
        .map(|p| compose::Part::read(p))
        .collect::<Result<Vec<_>>>()?;
    Ok(Run::App(Source::Bytes {
        name: format!("{} composed with its --sink", source.name()),
        bytes: compose::compose(&probe, &sinks)?,
    }))
}

#[cfg(feature = "registry")]
fn app_source(args: &RunArgs, settings: &Settings, app: &str) -> Result<crate::source::Resolved> {
    crate::source::app_source(settings, args.pull, args.verbose, app)
}

/// Without registries, `run` takes files only.
#[cfg(not(feature = "registry"))]
fn app_source(args: &RunArgs, _: &Settings, app: &str) -> Result<Source> {
    if args.verbose {
        messages::notice(&format!("running the file {app}"));
    }
    Ok(Source::File(app.into()))
}

/// argv[0]: the file's stem, or a reference's repository's last part
/// (`bootstrap` for `localhost:5000/tools/bootstrap:1.0`).
fn program_name(source: &Source, app: &str) -> String {
    match source {
        Source::File(path) => path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default(),
        Source::Bytes { .. } => app
            .rsplit('/')
            .next()
            .and_then(|last| last.split([':', '@']).next())
            .unwrap_or_default()
            .to_string(),
    }
}

fn program_stats(wanted: bool) -> Result<Option<ProgramStats>> {
    if !wanted {
        return Ok(None);
    }
    let enabled = ProgramStats::enable().context(
        "--program-stats: turning on the kernel's BPF statistics (it needs CAP_SYS_ADMIN)",
    )?;
    Ok(Some(enabled))
}

/// `NAME=VALUE`, or `NAME` for the host's value.
fn env(specs: &[String]) -> Result<Vec<(String, String)>> {
    specs
        .iter()
        .map(|spec| match spec.split_once('=') {
            Some((name, value)) => Ok((name.to_string(), value.to_string())),
            None => std::env::var(spec)
                .map(|value| (spec.clone(), value))
                .with_context(|| format!("--env {spec}: the host has no such variable")),
        })
        .collect()
}

/// `HOST[::GUEST]`, the guest seeing HOST at HOST by default.
fn dirs(specs: &[String]) -> Vec<(PathBuf, String)> {
    specs
        .iter()
        .map(|spec| match spec.split_once("::") {
            Some((host, guest)) => (host.into(), guest.to_string()),
            None => (spec.into(), spec.clone()),
        })
        .collect()
}

fn policy(settings: &Settings) -> Result<Policy> {
    let grants = &settings.grants;
    Ok(Policy {
        hooks: grants.allow.iter().copied().collect(),
        helpers: grants.allow_helpers.iter().cloned().collect(),
        kfuncs: grants.allow_kfuncs.iter().cloned().collect(),
        interfaces: grants.allow_net.iter().cloned().collect(),
        pids: grants.allow_pids.iter().copied().collect(),
        pin_dir: grants.allow_pin.as_deref().map(bpffs_dir).transpose()?,
        max_kernel_memory: settings.max_kernel_memory().as_u64(),
    })
}

/// `dir`, resolved, if it is a directory on bpffs (pins live nowhere else).
fn bpffs_dir(dir: &Path) -> Result<PathBuf> {
    const BPF_FS_MAGIC: i64 = 0xcafe_4a11;
    const FIX: &str = "bpffs is usually mounted with `mount -t bpf bpf /sys/fs/bpf`, \
                       then the directory made with `mkdir -p`";
    let dir = dir
        .canonicalize()
        .with_context(|| format!("--allow-pin {}: no such directory ({FIX})", dir.display()))?;
    let stat =
        rustix::fs::statfs(&dir).with_context(|| format!("--allow-pin {}", dir.display()))?;
    if stat.f_type as i64 != BPF_FS_MAGIC {
        anyhow::bail!(
            "--allow-pin {}: not a directory on bpffs ({FIX})",
            dir.display()
        );
    }
    Ok(dir)
}

/// Every map, link and buffer a guest holds is an fd of this process, and
/// the per-guest caps allow more than the common soft limit of 1024, so
/// the soft limit goes up to the hard one (as Go's runtime does).
fn raise_fd_limit() {
    use rustix::process::{getrlimit, setrlimit, Resource};
    let limit = getrlimit(Resource::Nofile);
    if limit.current < limit.maximum {
        let raised = rustix::process::Rlimit {
            current: limit.maximum,
            ..limit
        };
        if let Err(e) = setrlimit(Resource::Nofile, raised) {
            tracing::debug!("could not raise the fd limit: {e}");
        }
    }
}
