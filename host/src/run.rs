//! Running a guest command: engine, linker, WASI context, signals, timeout.
//! A core module written for the original wasm-bpf ABI runs through
//! [`crate::legacy`] on the same machinery.
//!
//! The guest runs as a future on a single-threaded tokio runtime and races
//! the run's [`Interrupt`], which SIGINT, SIGTERM or the timeout fire from
//! threads of their own. Whichever ends first wins: a guest computing in
//! wasm yields at every epoch tick, one waiting in WASI is dropped there,
//! one waiting in a buffer's `poll` is woken and trapped. Dropping the
//! store then frees every link, buffer, map and object the guest held.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::Arc;
use std::time::Duration;

use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook::iterator::Signals;
use wasmtime::component::{Component, Linker, ResourceTable};
use wasmtime::error::Context as _;
use wasmtime::{Config, Engine, Result, Store};
use wasmtime_wasi::p2::bindings::Command;
use wasmtime_wasi::{FsPerms, I32Exit, WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};

use crate::bpf::grants::Grants;
use crate::bpf::policy::Policy;
use crate::component;
use crate::interrupt::{Cause, Interrupt};
use crate::memory::MemoryCap;
use crate::{BpfCtx, BpfCtxView, BpfView};

/// How often the engine's epoch advances; a busy guest yields this often.
const EPOCH_TICK: Duration = Duration::from_millis(10);

/// What to run and what the guest may see.
#[derive(Debug, Clone, Default)]
pub struct RunConfig {
    /// The component file.
    pub component: PathBuf,
    /// The guest's `argv[0]`.
    pub program_name: String,
    /// Arguments after `argv[0]`.
    pub args: Vec<String>,
    /// Environment variables the guest sees (none by default).
    pub env: Vec<(String, String)>,
    /// Host directories the guest may open, with the path it sees them at.
    pub dirs: Vec<(PathBuf, String)>,
    /// Stop the guest after this long.
    pub timeout: Option<Duration>,
    /// Most bytes of linear memory the guest may have.
    pub max_memory: usize,
    /// What the guest may load and attach beyond tracing.
    pub policy: Policy,
    /// Where compiled components are cached; `None` compiles every time.
    pub cache_dir: Option<PathBuf>,
}

/// How a guest run ended.
#[derive(Debug)]
pub enum Outcome {
    /// The guest returned or called `exit` with this status.
    Exited(i32),
    /// SIGINT or SIGTERM (the number) stopped the guest.
    Signaled(i32),
    /// The timeout stopped the guest.
    TimedOut,
    /// The guest trapped.
    Trapped(wasmtime::Error),
}

impl Outcome {
    /// The exit status the host process should end with: the guest's own,
    /// 128 + signal for a signal (130 for SIGINT, 143 for SIGTERM), 124 for
    /// the timeout (as `timeout(1)`), 134 for a trap (as wasmtime, an abort).
    pub fn exit_code(&self) -> i32 {
        match self {
            Self::Exited(code) => *code,
            Self::Signaled(signal) => 128 + signal,
            Self::TimedOut => 124,
            Self::Trapped(_) => 128 + libc::SIGABRT,
        }
    }
}

/// The store's data: WASI and BPF state over one resource table.
struct Host {
    wasi: WasiCtx,
    bpf: BpfCtx,
    table: ResourceTable,
    memory: MemoryCap,
}

impl WasiView for Host {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl BpfView for Host {
    fn bpf(&mut self) -> BpfCtxView<'_> {
        BpfCtxView {
            ctx: &mut self.bpf,
            table: &mut self.table,
        }
    }
}

/// The engine every guest runs on (and `wasm-bpf compile` compiles for:
/// its settings are part of a compiled component's identity).
pub fn engine() -> Result<Engine> {
    let mut config = Config::new();
    config.wasm_component_model(true).epoch_interruption(true);
    Engine::new(&config)
}

/// Advances `engine`'s epoch every tick until dropped.
pub(crate) struct EpochTicker(Arc<AtomicBool>);

impl EpochTicker {
    pub(crate) fn start(engine: &Engine) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let engine = engine.clone();
        let stopped = Arc::clone(&stop);
        std::thread::spawn(move || {
            while !stopped.load(Ordering::Relaxed) {
                std::thread::sleep(EPOCH_TICK);
                engine.increment_epoch();
            }
        });
        Self(stop)
    }
}

impl Drop for EpochTicker {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// Fires the interrupt on SIGINT or SIGTERM, or once the timeout passes,
/// from threads of their own: the runtime's thread may be blocked in a
/// buffer's `epoll_wait`. Dropping it stops both threads.
struct Watchers {
    signals: signal_hook::iterator::Handle,
    _timer: Option<mpsc::Sender<()>>,
}

impl Watchers {
    fn start(interrupt: &Arc<Interrupt>, timeout: Option<Duration>) -> Result<Self> {
        let mut signals = Signals::new([SIGINT, SIGTERM]).context("handling SIGINT and SIGTERM")?;
        let handle = signals.handle();
        let on_signal = Arc::clone(interrupt);
        std::thread::spawn(move || {
            for signal in signals.forever() {
                on_signal.fire(Cause::Signal(signal));
            }
        });
        let timer = timeout.map(|timeout| {
            // Dropping the sender ends the wait early, and the thread.
            let (cancel, cancelled) = mpsc::channel::<()>();
            let on_timeout = Arc::clone(interrupt);
            std::thread::spawn(move || {
                if cancelled.recv_timeout(timeout) == Err(RecvTimeoutError::Timeout) {
                    on_timeout.fire(Cause::Timeout);
                }
            });
            cancel
        });
        Ok(Self {
            signals: handle,
            _timer: timer,
        })
    }
}

impl Drop for Watchers {
    fn drop(&mut self) {
        self.signals.close();
    }
}

impl From<Cause> for Outcome {
    fn from(cause: Cause) -> Self {
        match cause {
            Cause::Signal(signal) => Self::Signaled(signal),
            Cause::Timeout => Self::TimedOut,
        }
    }
}

/// WASI as `config` grants it: arguments, environment, directories.
pub(crate) fn wasi_builder(config: &RunConfig) -> Result<WasiCtxBuilder> {
    let mut wasi = WasiCtx::builder();
    wasi.inherit_stdio()
        .arg(&config.program_name)
        .args(&config.args)
        .envs(&config.env);
    for (host, guest) in &config.dirs {
        wasi.preopened_dir(host, guest, FsPerms::ReadWrite)
            .with_context(|| format!("opening directory {} for the guest", host.display()))?;
    }
    Ok(wasi)
}

/// The guest's BPF state, as `config` grants it.
pub(crate) fn bpf_ctx(config: &RunConfig, interrupt: &Arc<Interrupt>) -> BpfCtx {
    BpfCtx::new(
        Arc::clone(interrupt),
        Grants::new(&config.dirs),
        config.policy.clone(),
    )
    .max_memory(config.max_memory)
}

/// Makes a busy guest yield at every epoch tick, so that the interrupt
/// can win the race in [`finish`].
pub(crate) fn yield_on_epochs<T>(store: &mut Store<T>) {
    store.set_epoch_deadline(1);
    store.epoch_deadline_async_yield_and_update(1);
}

/// Runs the guest's entry point `guest` (its exit status, or the trap)
/// until it ends or the interrupt fires, whichever is first.
pub(crate) async fn finish(
    guest: impl std::future::Future<Output = Result<i32>>,
    interrupt: &Interrupt,
) -> Outcome {
    tokio::select! {
        result = guest => match result {
            Ok(code) => Outcome::Exited(code),
            Err(e) => match (e.downcast_ref::<I32Exit>(), interrupt.cause()) {
                (Some(exit), _) => Outcome::Exited(exit.0),
                // A trap from a wait the interrupt ended.
                (None, Some(cause)) => cause.into(),
                (None, None) => Outcome::Trapped(e),
            },
        },
        cause = interrupt.fired() => cause.into(),
    }
}

/// Runs the component of `config` to its end.
pub fn run(config: &RunConfig) -> Result<Outcome> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?
        .block_on(run_async(config))
}

async fn run_async(config: &RunConfig) -> Result<Outcome> {
    let interrupt = Arc::new(Interrupt::new().context("creating the interrupt eventfd")?);
    let _watchers = Watchers::start(&interrupt, config.timeout)?;

    let engine = engine()?;
    tracing::debug!("engine ready");
    let bytes = std::fs::read(&config.component)
        .with_context(|| format!("loading component {}", config.component.display()))?;
    if crate::legacy::is_core_module(&bytes) {
        return crate::legacy::run(&engine, &bytes, config, &interrupt).await;
    }
    let component = component::load(&engine, &config.component, config.cache_dir.as_deref())
        .with_context(|| format!("loading component {}", config.component.display()))?;
    tracing::debug!("component loaded");
    if let Some(sink) = unplugged_sink(&engine, &component) {
        return Err(wasmtime::format_err!(
            "{} imports `{sink}`: it is a probe, and its sink comes from a consumer, \
             not from the host; run it with `--sink CONSUMER.wasm` or compose it first \
             (`wasm-bpf compose {} CONSUMER.wasm -o app.wasm`)",
            config.component.display(),
            config.component.display()
        ));
    }
    let mut linker = Linker::<Host>::new(&engine);
    wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
    crate::add_to_linker(&mut linker)?;
    tracing::debug!("linker ready");

    let host = Host {
        wasi: wasi_builder(config)?.build(),
        bpf: bpf_ctx(config, &interrupt),
        table: ResourceTable::new(),
        memory: MemoryCap::new(config.max_memory),
    };
    let mut store = Store::new(&engine, host);
    store.limiter(|host| &mut host.memory);
    yield_on_epochs(&mut store);
    let _ticker = EpochTicker::start(&engine);

    let command = Command::instantiate_async(&mut store, &component, &linker)
        .await
        .context("instantiating the component (is it a wasi:cli command?)")?;
    tracing::debug!("instantiated; running the guest");
    let guest = async {
        let status = command.wasi_cli_run().call_run(&mut store).await?;
        Ok(if status.is_ok() { 0 } else { 1 })
    };
    let outcome = finish(guest, &interrupt).await;
    tracing::debug!(?outcome, "guest ended; freeing its resources");
    // Dropping the store drops the resource table: links detach, buffers
    // stop, maps and objects close.
    drop(store);
    Ok(outcome)
}

/// The sink a probe imports (`wasm-bpf:bpf/sink`, or the `sink` of a
/// probe's own WIT), which only a composition can satisfy.
fn unplugged_sink(engine: &Engine, component: &Component) -> Option<String> {
    component
        .component_type()
        .imports(engine)
        .map(|(name, _)| name)
        .find(|name| name.split('@').next().is_some_and(|n| n.ends_with("/sink")))
        .map(str::to_string)
}
