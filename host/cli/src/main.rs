//! The `wasm-bpf` command.

mod agent;
mod config;
mod flags;
#[cfg(feature = "registry")]
mod gadget;
#[cfg(feature = "registry")]
mod images;
mod messages;
#[cfg(feature = "tools")]
mod new;
mod policy_file;
mod run;
#[cfg(feature = "registry")]
mod source;
#[cfg(feature = "tools")]
mod tools;

use std::process::ExitCode;

use anyhow::{Context as _, Result};
use clap::Parser as _;
use wasm_bpf_runtime::component::{self, Cache};
use wasm_bpf_runtime::compose;

use flags::{CacheCommand, Cli, Command, ComposeArgs, InspectArgs};

fn main() -> ExitCode {
    let cli = Cli::parse();
    messages::init(cli.log_format);
    let result = match cli.command {
        Command::Run(args) => run::run(&args),
        Command::Agent(args) => agent::agent(&args, cli.log_format),
        Command::Apps(command) => agent::client::apps(&command),
        Command::Compile(args) => wasm_bpf_runtime::run::engine()
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
    let sinks = sinks
        .iter()
        .map(|p| compose::Part::read(p))
        .collect::<Result<Vec<_>>>()?;
    let bytes = compose::compose(&compose::Part::read(probe)?, &sinks)?;
    std::fs::write(&args.output, bytes)
        .with_context(|| format!("writing {}", args.output.display()))
}

fn inspect(args: &InspectArgs) -> Result<()> {
    #[cfg(feature = "registry")]
    if wasm_bpf_oci::names_registry(&args.component) {
        return images::inspect(&args.component, &args.registry);
    }
    let bytes =
        std::fs::read(&args.component).with_context(|| format!("reading {}", args.component))?;
    let report = wasm_bpf_runtime::inspect::inspect(&bytes)
        .with_context(|| format!("inspecting {}", args.component))?;
    print!("{report}");
    Ok(())
}
