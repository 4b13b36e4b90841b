//! `wasm-bpf run`: the flags and the policy file merged into one
//! [`Settings`], turned into the runtime's [`RunConfig`] (by [`Launch`],
//! which the agent's apps go through too), and run, with the metrics
//! endpoint beside it when asked.

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
    let launch = Launch {
        settings: &settings,
        app,
        args: guest_args,
        sinks: &args.sinks,
        #[cfg(feature = "registry")]
        pull: args.pull,
        verbose: args.verbose,
        no_cache: args.no_cache,
        kernel_btf: args.kernel_btf.as_deref(),
    };
    let mut guest = launch.prepare()?;
    guest.config.observer = observer;
    guest.config.guest_metrics = guest_metrics;
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
    let outcome = run::run(&guest.config)?;
    match &outcome {
        Outcome::Trapped(e) => messages::error(&format!("the guest trapped: {e:?}")),
        Outcome::TimedOut => messages::notice("timeout reached, guest stopped"),
        Outcome::Signaled(_) | Outcome::Exited(_) => {}
    }
    Ok(outcome.exit_code())
}

/// What to run, with which settings: `run`'s command line, or an agent's
/// app.
pub struct Launch<'a> {
    pub settings: &'a Settings,
    /// A file or a registry reference.
    pub app: &'a str,
    /// The guest's arguments.
    pub args: &'a [String],
    /// Consumers to compose the app with, in order.
    pub sinks: &'a [PathBuf],
    #[cfg(feature = "registry")]
    pub pull: crate::flags::PullPolicy,
    pub verbose: bool,
    pub no_cache: bool,
    pub kernel_btf: Option<&'a Path>,
}

/// A guest ready to run, and the files it reads until it ends.
pub struct Guest {
    pub config: RunConfig,
    _files: Option<GadgetFiles>,
}

impl Launch<'_> {
    /// The guest's run, resolved, composed and granted as the settings
    /// say; no one observes it yet.
    pub fn prepare(&self) -> Result<Guest> {
        let settings = self.settings;
        let (component, args, mut env, mut dirs, files) = match self.resolve()? {
            Run::App(component) => (
                component,
                self.args.to_vec(),
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
        let program_name = program_name(&component, self.app);
        let config = RunConfig {
            component,
            program_name,
            args,
            env,
            dirs,
            timeout: settings.grants.timeout,
            grace: settings.grace(),
            max_memory: usize::try_from(settings.max_memory().as_u64()).unwrap_or(usize::MAX),
            policy: policy(settings)?,
            cache: if self.no_cache {
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
            kernel_btf: self.kernel_btf.map(Path::to_path_buf),
            ..RunConfig::default()
        };
        Ok(Guest {
            config,
            _files: files,
        })
    }

    /// The app, composed with its sinks if any, or the gadget runner.
    fn resolve(&self) -> Result<Run> {
        #[cfg(feature = "registry")]
        for sink in self.sinks {
            crate::source::local_file_allowed(
                &self.settings.trust,
                &format!("--sink {}", sink.display()),
            )?;
        }
        let source = self.app_source()?;
        #[cfg(feature = "registry")]
        let source = match source {
            crate::source::Resolved::App(source) => source,
            crate::source::Resolved::Gadget {
                store,
                name,
                manifest,
            } => {
                return crate::gadget::prepare(&store, &name, &manifest, self.args, self.sinks)
                    .map(Run::Gadget)
            }
        };
        if self.sinks.is_empty() {
            return Ok(Run::App(source));
        }
        let probe = compose::Part {
            path: source.name().into_owned().into(),
            bytes: source.bytes()?.into_owned(),
        };
        let sinks = self
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
    fn app_source(&self) -> Result<crate::source::Resolved> {
        crate::source::app_source(self.settings, self.pull, self.verbose, self.app)
    }

    /// Without registries, `run` takes files only.
    #[cfg(not(feature = "registry"))]
    fn app_source(&self) -> Result<Source> {
        if self.verbose {
            messages::notice(&format!("running the file {}", self.app));
        }
        Ok(Source::File(self.app.into()))
    }
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
    config::with_policy_file(flags, args.policy.as_deref())
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
pub fn raise_fd_limit() {
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
