//! The command line's flags: every clap structure of the `wasm-bpf`
//! command, and nothing that acts on them.

use std::path::PathBuf;
use std::time::Duration;

use bytesize::ByteSize;
use clap::{Args, Parser, Subcommand, ValueEnum};
use wasm_bpf_runtime::bpf::policy::Hook;

/// Runs eBPF applications whose user-space half is a WebAssembly component.
#[derive(Debug, Parser)]
#[command(name = "wasm-bpf", version)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,

    /// How the host writes its own messages on stderr: `text`, or `json`
    /// (one object per line, for log collectors). The guest's output is
    /// passed through as it is.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a BPF application component.
    ///
    /// Exits with the guest's exit code, also when it returned after SIGINT
    /// or SIGTERM asked it to stop (as a native tool with a handler does);
    /// 130 or 143 when the signal had to stop it where it was, 124 when the
    /// timeout stopped it, 134 when the guest trapped.
    /// Everything the guest loaded or attached is freed in every case.
    Run(Box<RunArgs>),
    /// Run many apps in one process, declared in a directory (one TOML
    /// file per app) and managed through a local API (`wasm-bpf apps`).
    ///
    /// Its own grants and limits are the ceiling: no app may ask for more.
    /// SIGTERM or SIGINT stops every app, waits for their grace, and exits
    /// 0.
    Agent(Box<AgentArgs>),
    /// Manage the apps of a running agent: list them, start, stop, read
    /// their logs.
    #[command(subcommand)]
    Apps(AppsCommand),
    /// Compile a component ahead of time, so that `run` starts it without
    /// compiling (run only files you compiled yourself: they are trusted).
    Compile(CompileArgs),
    /// Start a project: an app, a probe or a consumer, in Rust or C, that
    /// builds with one command outside this repository.
    #[cfg(feature = "tools")]
    New(NewArgs),
    /// Generate source code from a BPF object's BTF.
    #[cfg(feature = "tools")]
    #[command(subcommand)]
    Gen(GenCommand),
    /// Turn a C guest's core module (a WASI preview1 reactor built against
    /// `wasm-bpf gen c-bindings`) into a component `run` accepts.
    #[cfg(feature = "tools")]
    Componentize(ComponentizeArgs),
    /// List the BPF objects a component embeds: their programs, hooks,
    /// helpers and maps, and the grants `run` would need.
    Inspect(InspectArgs),
    /// List or clear the cache of compiled components.
    #[command(subcommand)]
    Cache(CacheCommand),
    /// Plug a probe, stages and a consumer into one component:
    /// `compose probe.wasm [filter.wasm ...] json.wasm -o app.wasm`.
    ///
    /// Each part's exports feed the matching imports of the part before it
    /// (`wasm-bpf:bpf/sink`, or the `sink` of a probe's own WIT); the
    /// result runs with `wasm-bpf run` like any guest.
    #[command(override_usage = "wasm-bpf compose <PROBE> [STAGE]... <CONSUMER> -o <OUTPUT>")]
    Compose(ComposeArgs),
    /// Push an app (a component, or a core module of the original ABI) to
    /// a registry as a CNCF Wasm OCI artifact, with what `inspect` reports
    /// as an annotation.
    #[cfg(feature = "registry")]
    Push(PushArgs),
    /// Pull an app from a registry into the local store, and compile it,
    /// so that `run REF` starts warm and works offline.
    #[cfg(feature = "registry")]
    Pull(PullArgs),
    /// Sign an app in its registry with cosign's key-based scheme (a
    /// `sha256-DIGEST.sig` tag next to it).
    #[cfg(feature = "registry")]
    Sign(SignArgs),
    /// Check that an app in its registry is signed by one of the keys.
    #[cfg(feature = "registry")]
    Verify(VerifyArgs),
    /// List the apps in the local store.
    #[cfg(feature = "registry")]
    Images,
    /// Write apps of the local store, with their signatures, to a tar of
    /// an OCI image layout, for a machine with no registry.
    #[cfg(feature = "registry")]
    Export(ExportArgs),
    /// Read apps from a tar `export` wrote (or any OCI image layout tar of
    /// Wasm artifacts) into the local store.
    #[cfg(feature = "registry")]
    Import(ImportArgs),
    /// Remove apps from the local store.
    #[cfg(feature = "registry")]
    Rmi(RmiArgs),
}

#[derive(Debug, Subcommand)]
pub enum CacheCommand {
    /// Each compiled component: its size and when it last ran, the next
    /// to be evicted first.
    List,
    /// Remove every compiled component (the next run of each compiles
    /// again).
    Clear,
}

#[derive(Debug, Args)]
pub struct ComposeArgs {
    /// The probe, the stages in order, and the consumer.
    #[arg(value_name = "PART", num_args = 2.., required = true)]
    pub parts: Vec<PathBuf>,

    /// Where to write the composed component.
    #[arg(short, long)]
    pub output: PathBuf,
}

#[derive(Debug, Args)]
pub struct InspectArgs {
    /// The component (or core module) to inspect: a file, or a registry
    /// reference, read from the store or else from the registry's
    /// metadata without pulling the app.
    pub component: String,

    #[cfg(feature = "registry")]
    #[command(flatten)]
    pub registry: RegistryArgs,
}

/// The grants and limits of `run`: what the flags give, and what a policy
/// file gives (its keys are these flags' names). `config::merge` makes one
/// of the two.
#[derive(Debug, Clone, Default, PartialEq, Args)]
pub struct Grants {
    /// Set an environment variable for the guest: NAME=VALUE, or NAME to
    /// pass the host's value. The guest sees no environment otherwise.
    #[arg(long = "env", value_name = "NAME[=VALUE]")]
    pub env: Vec<String>,

    /// Let the guest open a host directory: HOST, or HOST::GUEST to show it
    /// at another path. The guest sees no files otherwise.
    #[arg(long = "dir", value_name = "HOST[::GUEST]")]
    pub dirs: Vec<String>,

    /// Ask the guest to stop after this long (e.g. 10s, 1m30s), as a
    /// signal would, and exit 124. The clock starts when the guest does:
    /// compiling it (seconds for a big component, cold) is not counted.
    #[arg(long, value_parser = humantime::parse_duration)]
    pub timeout: Option<Duration>,

    /// How long a guest asked to stop (the first SIGINT or SIGTERM, or the
    /// timeout) has to print its final output before it is stopped where
    /// it is; a second signal stops it at once (default 2s; 0 stops at
    /// once).
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration)]
    pub grace: Option<Duration>,

    /// Let the guest use a kind of kernel hook beyond tracing: kprobe,
    /// fentry (fentry/fexit/fmod_ret), lsm, struct_ops or cgroup (the
    /// cgroup program types and sock_ops); or arena maps (memory shared
    /// with the host process, mapped where the host chooses).
    #[arg(long = "allow", value_name = "HOOK")]
    pub allow: Vec<Hook>,

    /// Let the guest load programs calling this helper. Helpers that read
    /// kernel state or work on the program's own maps and buffers need no
    /// grant; those that act on the rest of the system do
    /// (bpf_send_signal, bpf_probe_write_user, bpf_override_return, ...),
    /// and so do those that change a packet or socket when called from a
    /// program that runs without a grant (bpf_setsockopt in an iterator).
    /// `wasm-bpf inspect` says which a component needs.
    #[arg(long = "allow-helper", value_name = "HELPER", value_parser = helper_name)]
    pub allow_helpers: Vec<String>,

    /// Let the guest load programs calling this kfunc. Kfuncs that only
    /// read kernel state or work on the program's own BPF objects (RCU
    /// locks, task and cgroup references, cpumasks, dynptrs, iterators,
    /// lists and trees) need no grant; every other one does
    /// (e.g. bpf_send_signal_task).
    #[arg(long = "allow-kfunc", value_name = "KFUNC")]
    pub allow_kfuncs: Vec<String>,

    /// Let the guest attach XDP, tc and socket filter programs to this
    /// network interface.
    #[arg(long = "allow-net", value_name = "IFACE")]
    pub allow_net: Vec<String>,

    /// Let the guest probe the executable of this process.
    #[arg(long = "allow-pid", value_name = "PID")]
    pub allow_pids: Vec<i32>,

    /// Let the guest's objects pin maps by name (LIBBPF_PIN_BY_NAME) in
    /// this bpffs directory, and reuse the maps pinned there. Pins outlive
    /// the run, as pinning intends.
    #[arg(long = "allow-pin", value_name = "DIR")]
    pub allow_pin: Option<PathBuf>,

    /// Cap the guest's linear memory (e.g. 64MiB, 1GiB; default 64MiB); a
    /// guest that needs more traps and exits 134.
    #[arg(long = "max-memory", value_name = "SIZE")]
    pub max_memory: Option<ByteSize>,

    /// Cap the kernel memory the guest's maps and buffers take, all
    /// objects together (e.g. 256MiB; default 1GiB). Counted before the
    /// kernel is asked: a map as `max_entries × (key + value)`, a perf
    /// buffer as its pages on every CPU.
    #[arg(long = "max-kernel-memory", value_name = "SIZE")]
    pub max_kernel_memory: Option<ByteSize>,

    /// Keep the compile cache under this size (default 512MiB), evicting
    /// the components least recently run (`wasm-bpf cache list` shows it).
    #[arg(long, value_name = "SIZE")]
    pub cache_max: Option<ByteSize>,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub grants: Grants,

    /// Read grants and limits from a TOML file whose keys are these
    /// flags' names (allow, allow-helper, allow-kfunc, allow-net,
    /// allow-pid, allow-pin, dir, env, max-memory, max-kernel-memory,
    /// timeout, grace, cache-max) and the registry flags' (see the
    /// README); lists add to the flags', a flag given wins over the
    /// file's single value, and relative paths in the file are taken from
    /// the file's directory.
    #[arg(long, value_name = "FILE")]
    pub policy: Option<PathBuf>,

    /// Plug the component (a probe) into this consumer before running it,
    /// as `wasm-bpf compose` would; repeat it for stages, in order, the
    /// consumer last (`--sink filter.wasm --sink json.wasm`).
    #[arg(long = "sink", value_name = "COMPONENT")]
    pub sinks: Vec<PathBuf>,

    /// Do not use the on-disk cache of compiled components
    /// ($XDG_CACHE_HOME/wasm-bpf or ~/.cache/wasm-bpf).
    #[arg(long)]
    pub no_cache: bool,

    /// A kernel BTF file (raw BTF, as BTFHub ships, or an ELF file with
    /// `.BTF`) to relocate every object against, for kernels built
    /// without `/sys/kernel/btf/vmlinux`; an object's own
    /// `open-options.kernel-btf` wins.
    #[arg(long, value_name = "FILE")]
    pub kernel_btf: Option<PathBuf>,

    /// Serve Prometheus metrics on http://ADDR/metrics (the host's figures
    /// for the app and the app's own) and a readiness check on /healthz.
    /// PORT or :PORT listens on 127.0.0.1; ADDRESS:PORT where it says
    /// (0.0.0.0:9100 in a pod).
    #[arg(long, value_name = "ADDR", value_parser = wasm_bpf_metrics::server::parse_address)]
    pub metrics: Option<std::net::SocketAddr>,

    /// With --metrics: turn the kernel's BPF statistics on and serve each
    /// of the app's programs' run count and run time. While they are on,
    /// every BPF program on the machine pays two clock reads a run (about
    /// 60 ns on a VM); it needs CAP_SYS_ADMIN.
    #[arg(long, requires = "metrics")]
    pub program_stats: bool,

    /// Say where the app came from (a file, or a registry reference and
    /// the digest the store holds for it).
    #[arg(short, long)]
    pub verbose: bool,

    /// When `run REF` contacts the registry: `missing` (only when the
    /// store lacks REF), `always`, or `never` (the store only).
    #[cfg(feature = "registry")]
    #[arg(long, value_enum, default_value_t = PullPolicy::Missing)]
    pub pull: PullPolicy,

    #[cfg(feature = "registry")]
    #[command(flatten)]
    pub registry: RegistryArgs,

    #[cfg(feature = "registry")]
    #[command(flatten)]
    pub trust: TrustArgs,

    /// The component to run, then the arguments passed to it; everything
    /// after the component goes to the guest, `-h` included. It is a
    /// registry reference when it starts with a registry host
    /// (`localhost:5000/tools/bootstrap:1.0`, `ghcr.io/org/app@sha256:...`),
    /// else a file (a .wasm file, or a .cwasm file from `wasm-bpf
    /// compile`); a file named like a reference is written as a path
    /// (`./localhost:5000/...`).
    #[arg(
        value_name = "COMPONENT [ARGS]...",
        required = true,
        trailing_var_arg = true,
        allow_hyphen_values = true
    )]
    pub component_and_args: Vec<String>,
}

#[derive(Debug, Args)]
pub struct AgentArgs {
    /// The ceiling: what any app may be granted at most (an app is
    /// granted only what its own file asks for), and each limit's value
    /// for apps that set none.
    #[command(flatten)]
    pub grants: Grants,

    /// Read the ceiling's grants and limits, and the registry and trust
    /// settings every app's source is checked against, from a TOML file
    /// (the keys of `run --policy`).
    #[arg(long, value_name = "FILE")]
    pub policy: Option<PathBuf>,

    /// Run the apps declared in this directory, one `NAME.toml` file per
    /// app (see the README), and follow its changes: a new file starts an
    /// app, a changed one restarts it, a removed one stops it.
    #[arg(long, value_name = "DIR")]
    pub apps: Option<PathBuf>,

    /// Serve the local API (what `wasm-bpf apps` talks to) on this Unix
    /// socket; its directory is made, or must be, this user's only.
    #[arg(long, value_name = "PATH", default_value = DEFAULT_API_SOCKET)]
    pub api: PathBuf,

    /// Serve Prometheus metrics on http://ADDR/metrics: every app's, each
    /// series labelled `app="NAME"`, and the apps by state; /healthz is
    /// ready when every declared app runs. PORT or :PORT listens on
    /// 127.0.0.1, ADDRESS:PORT where it says.
    #[arg(long, value_name = "ADDR", value_parser = wasm_bpf_metrics::server::parse_address)]
    pub metrics: Option<std::net::SocketAddr>,

    /// How much of each app's output is kept for `wasm-bpf apps logs`
    /// (the oldest is dropped first).
    #[arg(long, value_name = "SIZE", default_value = "64KiB")]
    pub log_size: ByteSize,

    /// Do not use the on-disk cache of compiled components.
    #[arg(long)]
    pub no_cache: bool,

    /// A kernel BTF file to relocate every app's objects against (as
    /// `run --kernel-btf`).
    #[arg(long, value_name = "FILE")]
    pub kernel_btf: Option<PathBuf>,

    /// When an app's reference is looked up in the registry: `missing`,
    /// `always` or `never`.
    #[cfg(feature = "registry")]
    #[arg(long, value_enum, default_value_t = PullPolicy::Missing)]
    pub pull: PullPolicy,

    #[cfg(feature = "registry")]
    #[command(flatten)]
    pub registry: RegistryArgs,

    #[cfg(feature = "registry")]
    #[command(flatten)]
    pub trust: TrustArgs,
}

/// Where `wasm-bpf agent` serves its API unless told otherwise.
pub const DEFAULT_API_SOCKET: &str = "/run/wasm-bpf/agent.sock";

#[derive(Debug, Subcommand)]
pub enum AppsCommand {
    /// List the apps with their state, restarts and source.
    Ls(ApiArgs),
    /// The agent's apps by state, or one app's whole status.
    Status(AppArgs),
    /// Start an app: one declared before and stopped, or, with a source,
    /// a new one (the source and arguments, as `run` takes them).
    Start(StartArgs),
    /// Stop an app gracefully; it stays declared, and stopped.
    Stop(AppArgs),
    /// Print an app's kept output.
    Logs(LogsArgs),
}

#[derive(Debug, Args)]
pub struct ApiArgs {
    /// The agent's API socket.
    #[arg(long, value_name = "PATH", default_value = DEFAULT_API_SOCKET)]
    pub api: PathBuf,
}

#[derive(Debug, Args)]
pub struct AppArgs {
    #[command(flatten)]
    pub api: ApiArgs,
    /// The app's name.
    pub name: Option<String>,
}

#[derive(Debug, Args)]
pub struct StartArgs {
    #[command(flatten)]
    pub api: ApiArgs,
    /// The app's name.
    pub name: String,
    /// A new app's settings, in the keys of an app file (`allow`,
    /// `max-memory`, `restart`, ...): a TOML file.
    #[arg(long, value_name = "FILE")]
    pub file: Option<PathBuf>,
    /// A new app's source (a file, or a registry reference), then its
    /// arguments.
    #[arg(
        value_name = "SOURCE [ARGS]...",
        trailing_var_arg = true,
        allow_hyphen_values = true
    )]
    pub source_and_args: Vec<String>,
}

#[derive(Debug, Args)]
pub struct LogsArgs {
    #[command(flatten)]
    pub api: ApiArgs,
    /// The app's name.
    pub name: String,
    /// Keep printing the app's output as it comes, until it ends.
    #[arg(short, long)]
    pub follow: bool,
}

impl RunArgs {
    /// The component (a file or a reference) and the guest's arguments.
    pub fn split(&self) -> (&str, &[String]) {
        match self.component_and_args.split_first() {
            Some((component, args)) => (component, args),
            None => ("", &[]),
        }
    }
}

#[derive(Debug, Args)]
pub struct CompileArgs {
    /// The component (.wasm).
    pub component: PathBuf,

    /// Where to write the compiled component (conventionally .cwasm).
    #[arg(short, long)]
    pub output: PathBuf,
}

/// A helper's name as `--allow-helper` takes it: one the kernel's UAPI
/// lists.
pub fn helper_name(name: &str) -> Result<String, String> {
    if wasm_bpf_runtime::bpf::helpers::class_of(name).is_some() {
        return Ok(name.to_string());
    }
    Err(format!(
        "no BPF helper is called {name:?} (helpers are named as in C: bpf_send_signal)"
    ))
}

/// How to reach registries (every command that talks to one).
#[cfg(feature = "registry")]
#[derive(Debug, Clone, Default, PartialEq, Args)]
pub struct RegistryArgs {
    /// Talk plain HTTP to this registry (HOST:PORT, exactly as in the
    /// reference); every other one is HTTPS.
    #[arg(long = "insecure-registry", value_name = "HOST:PORT")]
    pub insecure: Vec<String>,

    /// Trust this CA (a PEM file) for registries' certificates, besides
    /// the system's.
    #[arg(long = "registry-ca", value_name = "FILE")]
    pub ca_files: Vec<PathBuf>,

    /// Log in with these credentials instead of those in the auth file
    /// ($REGISTRY_AUTH_FILE, $XDG_RUNTIME_DIR/containers/auth.json or
    /// ~/.docker/config.json, as `podman login` and `docker login` write).
    #[arg(long, value_name = "USER:PASS")]
    pub creds: Option<String>,
}

/// Which apps from registries may run (`pull` and `run REF`).
#[cfg(feature = "registry")]
#[derive(Debug, Clone, Default, PartialEq, Args)]
pub struct TrustArgs {
    /// Accept only apps signed (cosign, key-based) by this public key (a
    /// PEM file); repeat it to accept any of several.
    #[arg(long = "verify-key", value_name = "PUB.pem")]
    pub verify_keys: Vec<PathBuf>,

    /// Accept only apps whose reference matches: exactly
    /// (`HOST/REPO:TAG`), by prefix (`HOST/REPO/*`), or by content
    /// (`HOST/REPO@sha256:DIGEST`); repeatable.
    #[arg(long = "allowed-image", value_name = "PATTERN")]
    pub allowed_images: Vec<String>,

    /// With --verify-key: let apps with no signature at all run too.
    #[arg(long)]
    pub allow_unsigned: bool,

    /// With --verify-key or --allowed-image: let local files run too
    /// (otherwise only apps from registries, which those check, run).
    #[arg(long)]
    pub allow_files: bool,

    /// A mirror: apps run from repositories starting with RUN_PREFIX may
    /// carry signatures made for SIGNED_PREFIX instead (by default a
    /// signature must name the repository run); repeatable.
    #[arg(long = "remap-identity", value_name = "RUN_PREFIX=SIGNED_PREFIX")]
    pub remap_identity: Vec<String>,
}

#[cfg(feature = "registry")]
/// When `run REF` contacts the registry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PullPolicy {
    Missing,
    Always,
    Never,
}

#[cfg(feature = "registry")]
#[derive(Debug, Args)]
pub struct PushArgs {
    /// The app: a component, or a core module of the original ABI.
    pub file: PathBuf,
    /// Where to push it: HOST[:PORT]/REPO[:TAG].
    pub reference: String,
    #[command(flatten)]
    pub registry: RegistryArgs,
}

#[cfg(feature = "registry")]
#[derive(Debug, Args)]
pub struct PullArgs {
    /// HOST[:PORT]/REPO[:TAG] or HOST[:PORT]/REPO@sha256:DIGEST.
    pub reference: String,
    #[command(flatten)]
    pub registry: RegistryArgs,
    #[command(flatten)]
    pub trust: TrustArgs,
    /// Read registry settings and trust (insecure-registry, registry-ca,
    /// verify-keys, allowed-images, allow-unsigned) from this policy file.
    #[arg(long, value_name = "FILE")]
    pub policy: Option<PathBuf>,
    /// Do not compile the app into the compile cache.
    #[arg(long)]
    pub no_cache: bool,
}

#[cfg(feature = "registry")]
#[derive(Debug, Args)]
pub struct SignArgs {
    /// The app to sign, as pushed: HOST[:PORT]/REPO[:TAG] or @sha256:DIGEST.
    pub reference: String,
    /// The private key: ECDSA P-256 in PEM (PKCS#8 or SEC1), unencrypted.
    #[arg(long, value_name = "KEY.pem")]
    pub key: PathBuf,
    #[command(flatten)]
    pub registry: RegistryArgs,
}

#[cfg(feature = "registry")]
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The app to verify, in its registry.
    pub reference: String,
    /// A public key (PEM) that may have signed it; repeatable.
    #[arg(long, value_name = "PUB.pem", required = true)]
    pub key: Vec<PathBuf>,
    #[command(flatten)]
    pub registry: RegistryArgs,
}

#[cfg(feature = "registry")]
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The apps to export, as `images` lists them.
    #[arg(required = true)]
    pub references: Vec<String>,
    /// The tar file to write.
    #[arg(short, long)]
    pub output: PathBuf,
}

#[cfg(feature = "registry")]
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The tar file `export` wrote.
    pub file: PathBuf,
}

#[cfg(feature = "registry")]
#[derive(Debug, Args)]
pub struct RmiArgs {
    /// The references to remove, as `images` lists them.
    #[arg(required = true)]
    pub references: Vec<String>,
}

/// How the host writes its messages.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Plain lines (`error: ...`).
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

#[cfg(feature = "tools")]
#[derive(Debug, Args)]
pub struct NewArgs {
    /// The project's directory, which must not exist; its last component
    /// names the project (letters, digits, `-` and `_`).
    pub path: PathBuf,

    /// The language of the user-space half.
    #[arg(long, value_enum, default_value_t = Lang::Rust)]
    pub lang: Lang,

    /// `app`: a BPF program and a command that prints its events; `probe`:
    /// the same, sending its events as records to a consumer; `consumer`:
    /// a component that prints any probe's records.
    #[arg(long, value_enum, default_value_t = ProjectKind::App)]
    pub kind: ProjectKind,

    /// The wasm-bpf checkout whose SDKs and WIT the project uses; by
    /// default the one this binary was built from.
    #[arg(long, value_name = "DIR")]
    pub sdk: Option<PathBuf>,
}

#[cfg(feature = "tools")]
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Lang {
    Rust,
    C,
}

#[cfg(feature = "tools")]
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ProjectKind {
    App,
    Probe,
    Consumer,
}

#[cfg(feature = "tools")]
#[derive(Debug, Subcommand)]
pub enum GenCommand {
    /// Rust types, with the kernel's layout, for the structs of an object.
    ///
    /// Emits one `#[repr(C)]` struct per BTF struct (explicit padding,
    /// pointers as u64, compile-time size and offset checks), usable with
    /// `Record::decode` of the guest SDK.
    Rust(GenRustArgs),
    /// C types, with the kernel's layout made explicit for wasm32, for the
    /// structs of an object.
    ///
    /// Emits fixed-width members, pointers as uint64_t, explicit padding
    /// and a `_Static_assert` on every size and offset.
    C(GenRustArgs),
    /// A WIT interface with one record per struct, for components that
    /// exchange the object's events as typed records.
    ///
    /// Integers keep width and sign, `char[N]` is `string`, other arrays
    /// `list<T>`, enums `enum`, nested structs nested records.
    Wit(GenWitArgs),
    /// A libbpf-style skeleton header (`<name>.skel.h`) for a C guest, as
    /// `bpftool gen skeleton` writes one for native programs.
    Skeleton(GenSkeletonArgs),
    /// The libbpf headers for BPF C (`bpf/bpf_helpers.h` and friends, of
    /// the libbpf version the host runs) and `vmlinux.h` from the running
    /// kernel's BTF, for compiling a `.bpf.c` with clang.
    BpfHeaders(GenCBindingsArgs),
    /// The C bindings of the wasm-bpf WIT (`bpf_app.h`, `bpf_app.c`) that
    /// the C guest SDK is built on, or with `--wit` of another world, such
    /// as the `consumer` of a probe's WIT.
    CBindings(GenCWorldBindingsArgs),
}

#[cfg(feature = "tools")]
#[derive(Debug, Args)]
pub struct GenWitArgs {
    #[command(flatten)]
    pub types: GenRustArgs,

    /// The WIT package to declare; by default `wasm-bpf-gen:<object
    /// name>`.
    #[arg(long)]
    pub package: Option<String>,
}

#[cfg(feature = "tools")]
#[derive(Debug, Args)]
pub struct GenSkeletonArgs {
    /// The BPF object (.bpf.o, compiled with -g so it carries BTF).
    pub object: PathBuf,

    /// The skeleton's name; by default the file name with dots as
    /// underscores (`bootstrap.bpf.o` gives `bootstrap_bpf`).
    #[arg(long)]
    pub name: Option<String>,

    /// Write to this file instead of standard output.
    #[arg(short, long)]
    pub output: Option<PathBuf>,
}

#[cfg(feature = "tools")]
#[derive(Debug, Args)]
pub struct GenCBindingsArgs {
    /// The directory to write the files into (created if missing).
    #[arg(short, long)]
    pub output: PathBuf,
}

#[cfg(feature = "tools")]
#[derive(Debug, Args)]
pub struct GenCWorldBindingsArgs {
    #[command(flatten)]
    pub dir: GenCBindingsArgs,

    /// A WIT file or directory to take the world from, instead of the
    /// wasm-bpf WIT (e.g. the WIT `wasm-bpf gen wit` wrote for a probe).
    #[arg(long, requires = "world")]
    pub wit: Option<PathBuf>,

    /// The world of `--wit` to bind (e.g. `consumer`).
    #[arg(long, requires = "wit")]
    pub world: Option<String>,
}

#[cfg(feature = "tools")]
#[derive(Debug, Args)]
pub struct ComponentizeArgs {
    /// The core module (.wasm) clang produced.
    pub module: PathBuf,

    /// Where to write the component.
    #[arg(short, long)]
    pub output: PathBuf,
}

#[cfg(feature = "tools")]
#[derive(Debug, Args)]
pub struct GenRustArgs {
    /// The BPF object (.bpf.o, compiled with -g so it carries BTF).
    pub object: PathBuf,

    /// Generate this type (a struct, union or enum name) and what it uses;
    /// repeatable. Without it: the types of the object's global variables
    /// and map keys and values.
    #[arg(long = "type", value_name = "NAME")]
    pub types: Vec<String>,

    /// Write to this file instead of standard output.
    #[arg(short, long)]
    pub output: Option<PathBuf>,
}
