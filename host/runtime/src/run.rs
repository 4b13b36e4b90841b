//! Running a guest command: a component (`wasi:cli/run`) with WASI and the
//! BPF interfaces; a core module written for the original wasm-bpf ABI is
//! handed to [`crate::legacy`]. Both run on [`crate::guest`].
//!
//! The guest runs as a future on a single-threaded tokio runtime and races
//! the run's [`Stop`], which SIGINT, SIGTERM or the timeout request, and
//! the grace period's end or a second signal force, from threads of their
//! own. Asked, the guest sees `lifecycle.stopping` and `poll` returning
//! `stopping`; forced, whichever is first wins: a guest computing in wasm
//! yields at every epoch tick, one waiting in WASI is dropped there, one
//! waiting in a buffer's `poll` is woken and trapped. Dropping the store
//! then frees every link, buffer, map and object the guest held.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use sha2::{Digest as _, Sha256};

use wasmtime::component::{Component, Linker, ResourceTable};
use wasmtime::error::Context as _;
use wasmtime::{Engine, Result, Store};
use wasmtime_wasi::p2::bindings::CommandPre;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use crate::app_kind::{self, Surface};
use crate::component;
use crate::guest::{bpf_ctx, finish, wasi_builder, yield_on_epochs, EpochTicker, Watchers};
pub use crate::guest::{engine, force_stop, request_stop, Outcome, RunConfig, Source, WATCHDOG};
use crate::interrupt::Stop;
use crate::memory::MemoryCap;
use crate::{BpfCtx, BpfCtxView, BpfView};

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

/// Runs the component of `config` to its end, alone in this process:
/// SIGINT and SIGTERM stop it.
pub fn run(config: &RunConfig) -> Result<Outcome> {
    on_own_runtime(async {
        let stop = Arc::new(Stop::new().context("creating the stop's eventfds")?);
        let mut watchers = Watchers::start(&stop, config.grace)?;
        let engine = engine()?;
        let _ticker = EpochTicker::start(&engine);
        tracing::debug!("engine ready");
        run_guest(config, &engine, None, &stop, &mut watchers).await
    })
}

/// What the guests of one process share (`wasm-bpf agent`): the engine,
/// its epoch ticker, the linker, and the components loaded so far,
/// resolved against the linker, so that a component is compiled (or
/// mapped from the cache) and linked once however many guests run it.
pub struct Shared {
    engine: Engine,
    _ticker: EpochTicker,
    linker: Linker<Host>,
    commands: Mutex<HashMap<Vec<u8>, CommandPre<Host>>>,
}

/// Components [`Shared`] keeps for the next guest; past that it forgets
/// them all (the running guests keep theirs).
const SHARED_COMPONENTS: usize = 32;

impl Shared {
    pub fn new() -> Result<Self> {
        let engine = engine()?;
        Ok(Self {
            _ticker: EpochTicker::start(&engine),
            linker: linker(&engine)?,
            engine,
            commands: Mutex::default(),
        })
    }

    /// The component `bytes`, ready to instantiate: loaded as `load`
    /// does, unless a guest before loaded the same bytes.
    fn command(
        &self,
        bytes: &[u8],
        load: impl FnOnce(&Engine) -> Result<Component>,
    ) -> Result<CommandPre<Host>> {
        let key = Sha256::digest(bytes).to_vec();
        let lock = || self.commands.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(found) = lock().get(&key) {
            return Ok(found.clone());
        }
        let command = command_pre(&self.linker, &load(&self.engine)?)?;
        let mut commands = lock();
        if commands.len() >= SHARED_COMPONENTS {
            commands.clear();
        }
        commands.insert(key, command.clone());
        Ok(command)
    }
}

/// The linker of every import a guest may have: WASI and the BPF
/// interfaces.
fn linker(engine: &Engine) -> Result<Linker<Host>> {
    let mut linker = Linker::<Host>::new(engine);
    wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
    crate::add_to_linker(&mut linker)?;
    Ok(linker)
}

fn command_pre(linker: &Linker<Host>, component: &Component) -> Result<CommandPre<Host>> {
    linker
        .instantiate_pre(component)
        .and_then(CommandPre::new)
        .context("linking the component (is it a wasi:cli command?)")
}

/// Runs the component of `config` to its end, as one of the guests of
/// this process: `stop` is the guest's own, which its owner fires
/// ([`crate::guest::request_stop`]); signals are the owner's business.
/// It blocks the calling thread, which should be the guest's own: a
/// guest waiting for records blocks its thread in `epoll_wait`.
pub fn run_shared(config: &RunConfig, shared: &Shared, stop: &Arc<Stop>) -> Result<Outcome> {
    on_own_runtime(async {
        let mut watchers = Watchers::timeout_only(stop, config.grace);
        run_guest(config, &shared.engine, Some(shared), stop, &mut watchers).await
    })
}

fn on_own_runtime(guest: impl std::future::Future<Output = Result<Outcome>>) -> Result<Outcome> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let outcome = runtime.block_on(guest);
    // A guest stopped in a blocking WASI call (a read of a FIFO) leaves
    // the call on one of the runtime's blocking threads; waiting for it
    // would hold the host forever. The thread is left to it.
    runtime.shutdown_background();
    outcome
}

async fn run_guest(
    config: &RunConfig,
    engine: &Engine,
    shared: Option<&Shared>,
    stop: &Arc<Stop>,
    watchers: &mut Watchers,
) -> Result<Outcome> {
    let source = &config.component;
    let bytes = source.bytes()?;
    if crate::legacy::is_core_module(&bytes) {
        return crate::legacy::run(engine, &bytes, config, stop, watchers).await;
    }
    // A component's kind and imports are read before it is compiled,
    // precompiled code's from its type once loaded.
    let precompiled = Engine::detect_precompiled(&bytes).is_some();
    if !precompiled {
        app_kind::check_runnable(&Surface::read(&bytes)?, &source.name())?;
    }
    let cache = config.cache.as_ref();
    let load = |engine: &Engine| {
        let component = component::load(engine, &bytes, source.path(), cache)
            .with_context(|| format!("loading component {}", source.name()))?;
        tracing::debug!("component loaded");
        if precompiled {
            app_kind::check_runnable(&surface_of(engine, &component), &source.name())?;
        }
        Ok(component)
    };
    let command = match shared {
        Some(shared) => shared.command(&bytes, load)?,
        None => command_pre(&linker(engine)?, &load(engine)?)?,
    };
    drop(bytes);
    tracing::debug!("linked");

    let host = Host {
        wasi: wasi_builder(config)?.build(),
        bpf: bpf_ctx(config, stop)?,
        table: ResourceTable::new(),
        memory: MemoryCap::new(config.max_memory).reporting(Arc::clone(&config.observer)),
    };
    let mut store = Store::new(engine, host);
    store.limiter(|host| &mut host.memory);
    yield_on_epochs(&mut store);

    let command = command
        .instantiate_async(&mut store)
        .await
        .context("instantiating the component")?;
    tracing::debug!("instantiated; running the guest");
    watchers.start_timeout(config.timeout);
    let guest = async {
        let status = command.wasi_cli_run().call_run(&mut store).await?;
        Ok(if status.is_ok() { 0 } else { 1 })
    };
    let outcome = finish(guest, stop).await;
    tracing::debug!(?outcome, "guest ended; freeing its resources");
    // Dropping the store drops the resource table: links detach, buffers
    // stop, maps and objects close.
    drop(store);
    Ok(outcome)
}

/// The import and export names of a loaded component.
fn surface_of(engine: &Engine, component: &Component) -> Surface {
    let ty = component.component_type();
    Surface {
        imports: ty
            .imports(engine)
            .map(|(name, _)| name.to_string())
            .collect(),
        exports: ty
            .exports(engine)
            .map(|(name, _)| name.to_string())
            .collect(),
    }
}
