//! The `wasm-bpf` command.

mod cli;
#[cfg(feature = "registry")]
mod images;
mod messages;
#[cfg(feature = "tools")]
mod new;
mod policy_file;
#[cfg(feature = "tools")]
mod tools;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, Result};
use clap::Parser as _;
use wasm_bpf::bpf::policy::Policy;
use wasm_bpf::component::{Cache, DEFAULT_CACHE_MAX};
use wasm_bpf::metrics::{self, Metrics, ProgramStats};
use wasm_bpf::run::{self, Outcome, RunConfig, Source};
use wasm_bpf::{component, compose};

use cli::{CacheCommand, Cli, Command, ComposeArgs, InspectArgs, RunArgs};

fn main() -> ExitCode {
    let cli = Cli::parse();
    messages::init(cli.log_format);
    let result = match cli.command {
        Command::Run(mut args) => prepare(&mut args).and_then(|()| run_command(&args)),
        Command::Compile(args) => run::engine()
            .and_then(|engine| component::precompile(&engine, &args.component, &args.output))
            .map(|()| 0)
            .map_err(anyhow::Error::from),
        #[cfg(feature = "tools")]
        Command::New(args) => new::new(&args).map(|()| 0),
        #[cfg(feature = "tools")]
        Command::Gen(command) => tools::gen(&command).map(|()| 0),
        #[cfg(feature = "tools")]
        Command::Componentize(args) => tools::componentize(&args).map(|()| 0),
        Command::Inspect(args) => inspect(&args).map(|()| 0),
        Command::Compose(args) => compose(&args).map(|()| 0),
        Command::Cache(command) => cache(&command).map(|()| 0),
        #[cfg(feature = "registry")]
        Command::Push(args) => images::push(&args).map(|()| 0),
        #[cfg(feature = "registry")]
        Command::Pull(args) => images::pull(&args).map(|()| 0),
        #[cfg(feature = "registry")]
        Command::Sign(args) => images::sign(&args).map(|()| 0),
        #[cfg(feature = "registry")]
        Command::Verify(args) => images::verify(&args).map(|()| 0),
        #[cfg(feature = "registry")]
        Command::Images => images::images().map(|()| 0),
        #[cfg(feature = "registry")]
        Command::Export(args) => images::export(&args).map(|()| 0),
        #[cfg(feature = "registry")]
        Command::Import(args) => images::import(&args).map(|()| 0),
        #[cfg(feature = "registry")]
        Command::Rmi(args) => images::rmi(&args).map(|()| 0),
    };
    match result {
        Ok(code) => ExitCode::from(u8::try_from(code).unwrap_or(1)),
        Err(e) => {
            messages::error(&format!("{e:#}"));
            ExitCode::FAILURE
        }
    }
}

/// Settles the flags: the memory cap, and a policy file's grants.
fn prepare(args: &mut RunArgs) -> Result<()> {
    if let Some(size) = args.max_memory_flag {
        args.max_memory = size;
    }
    if let Some(size) = args.max_kernel_memory_flag {
        args.max_kernel_memory = size;
    }
    if let Some(path) = args.policy.clone() {
        policy_file::apply(&path, args)?;
    }
    raise_fd_limit();
    Ok(())
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

fn run_command(args: &RunArgs) -> Result<i32> {
    let env = args
        .env
        .iter()
        .map(|spec| match spec.split_once('=') {
            Some((name, value)) => Ok((name.to_string(), value.to_string())),
            None => std::env::var(spec)
                .map(|value| (spec.clone(), value))
                .with_context(|| format!("--env {spec}: the host has no such variable")),
        })
        .collect::<Result<_>>()?;
    let dirs = args
        .dirs
        .iter()
        .map(|spec| match spec.split_once("::") {
            Some((host, guest)) => (host.into(), guest.to_string()),
            None => (spec.into(), spec.clone()),
        })
        .collect();
    let (app, guest_args) = args.split();
    #[cfg(feature = "registry")]
    for sink in &args.sinks {
        images::local_file_allowed(args, &format!("--sink {}", sink.display()))?;
    }
    let source = app_source(args, app)?;
    // argv[0]: the file's stem, or a reference's repository's last part
    // (`bootstrap` for `localhost:5000/tools/bootstrap:1.0`).
    let program_name = match &source {
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
    };
    let component = if args.sinks.is_empty() {
        source
    } else {
        let probe = compose::Part {
            path: source.name().into_owned().into(),
            bytes: source.bytes()?.into_owned(),
        };
        Source::Bytes {
            name: format!("{} composed with its --sink", source.name()),
            bytes: composed(&probe, &args.sinks)?,
        }
    };
    let program_stats = if args.program_stats {
        let enabled = ProgramStats::enable().context(
            "--program-stats: turning on the kernel's BPF statistics (it needs CAP_SYS_ADMIN)",
        )?;
        Some(enabled)
    } else {
        None
    };
    let config = RunConfig {
        component,
        program_name,
        args: guest_args.to_vec(),
        env,
        dirs,
        timeout: args.timeout,
        grace: args.grace.unwrap_or(Duration::from_secs(2)),
        max_memory: usize::try_from(args.max_memory.as_u64()).unwrap_or(usize::MAX),
        policy: Policy {
            hooks: args.allow.iter().copied().collect(),
            helpers: args.allow_helpers.iter().cloned().collect(),
            kfuncs: args.allow_kfuncs.iter().cloned().collect(),
            interfaces: args.allow_net.iter().cloned().collect(),
            pids: args.allow_pids.iter().copied().collect(),
            pin_dir: args.allow_pin.as_deref().map(bpffs_dir).transpose()?,
            max_kernel_memory: args.max_kernel_memory.as_u64(),
        },
        cache: if args.no_cache {
            None
        } else {
            Cache::default_dir().map(|dir| Cache {
                dir,
                max_bytes: args
                    .cache_max
                    .map_or(DEFAULT_CACHE_MAX, |size| size.as_u64()),
            })
        },
        kernel_btf: args.kernel_btf.clone(),
        metrics: Arc::new(Metrics::new(program_stats)),
    };
    let _server = match args.metrics {
        Some(address) => {
            let server = metrics::server::Server::start(address, Arc::clone(&config.metrics))?;
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

/// `dir`, resolved, if it is a directory on bpffs (pins live nowhere else).
fn bpffs_dir(dir: &std::path::Path) -> Result<std::path::PathBuf> {
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

#[cfg(feature = "registry")]
use images::app_source;

/// Without registries, `run` takes files only.
#[cfg(not(feature = "registry"))]
fn app_source(args: &RunArgs, app: &str) -> Result<Source> {
    if args.verbose {
        messages::notice(&format!("running the file {app}"));
    }
    Ok(Source::File(app.into()))
}

/// The chain `probe`, then `sinks` (stages, the consumer last), composed.
fn composed(probe: &compose::Part, sinks: &[PathBuf]) -> Result<Vec<u8>> {
    let Some((consumer, stages)) = sinks.split_last() else {
        anyhow::bail!("composing needs a probe and a consumer");
    };
    let stages = stages
        .iter()
        .map(|p| compose::Part::read(p))
        .collect::<Result<Vec<_>>>()?;
    compose::compose(probe, &stages, &compose::Part::read(consumer)?)
}

fn cache(command: &CacheCommand) -> Result<()> {
    let cache = Cache::default_cache()
        .context("no cache directory: neither XDG_CACHE_HOME nor HOME is set")?;
    match command {
        CacheCommand::List => {
            let entries = cache.entries()?;
            let total: u64 = entries.iter().map(|e| e.bytes).sum();
            println!("{:<12} {:<21} COMPILED COMPONENT", "SIZE", "LAST RUN (UTC)");
            for entry in &entries {
                let used = humantime::format_rfc3339_seconds(entry.used).to_string();
                let size = bytesize::ByteSize(entry.bytes).to_string();
                println!("{size:<12} {used:<21} {}", entry.name);
            }
            println!(
                "{} in {} entries, in {}",
                bytesize::ByteSize(total),
                entries.len(),
                cache.dir.display()
            );
        }
        CacheCommand::Clear => {
            let freed = cache.clear()?;
            println!(
                "freed {} in {}",
                bytesize::ByteSize(freed),
                cache.dir.display()
            );
        }
    }
    Ok(())
}

fn compose(args: &ComposeArgs) -> Result<()> {
    let (probe, sinks) = args.parts.split_first().context("no probe given")?;
    let bytes = composed(&compose::Part::read(probe)?, sinks)?;
    std::fs::write(&args.output, bytes)
        .with_context(|| format!("writing {}", args.output.display()))
}

fn inspect(args: &InspectArgs) -> Result<()> {
    #[cfg(feature = "registry")]
    if wasm_bpf::registry::names_registry(&args.component) {
        return images::inspect(&args.component, &args.registry);
    }
    let bytes =
        std::fs::read(&args.component).with_context(|| format!("reading {}", args.component))?;
    let report = wasm_bpf::inspect::inspect(&bytes)
        .with_context(|| format!("inspecting {}", args.component))?;
    print!("{report}");
    Ok(())
}
