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

use std::sync::Arc;

use wasmtime::component::{Component, Linker, ResourceTable};
use wasmtime::error::Context as _;
use wasmtime::{Engine, Result, Store};
use wasmtime_wasi::p2::bindings::Command;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use crate::app_kind::{self, Surface};
use crate::component;
use crate::guest::{bpf_ctx, finish, wasi_builder, yield_on_epochs, EpochTicker, Watchers};
pub use crate::guest::{engine, Outcome, RunConfig, Source};
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

/// Runs the component of `config` to its end.
pub fn run(config: &RunConfig) -> Result<Outcome> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let outcome = runtime.block_on(run_async(config));
    // A guest stopped in a blocking WASI call (a read of a FIFO) leaves
    // the call on one of the runtime's blocking threads; waiting for it
    // would hold the host forever. The process exits with it still there.
    runtime.shutdown_background();
    outcome
}

async fn run_async(config: &RunConfig) -> Result<Outcome> {
    let stop = Arc::new(Stop::new().context("creating the stop's eventfds")?);
    let mut watchers = Watchers::start(&stop, config.grace)?;

    let engine = engine()?;
    tracing::debug!("engine ready");
    let source = &config.component;
    let bytes = source.bytes()?;
    if crate::legacy::is_core_module(&bytes) {
        return crate::legacy::run(&engine, &bytes, config, &stop, &mut watchers).await;
    }
    // A component's kind and imports are read before it is compiled,
    // precompiled code's from its type once loaded.
    let precompiled = Engine::detect_precompiled(&bytes).is_some();
    if !precompiled {
        app_kind::check_runnable(&Surface::read(&bytes)?, &source.name())?;
    }
    let component = component::load(&engine, &bytes, source.path(), config.cache.as_ref())
        .with_context(|| format!("loading component {}", source.name()))?;
    drop(bytes);
    tracing::debug!("component loaded");
    if precompiled {
        app_kind::check_runnable(&surface_of(&engine, &component), &source.name())?;
    }
    let mut linker = Linker::<Host>::new(&engine);
    wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
    crate::add_to_linker(&mut linker)?;
    tracing::debug!("linker ready");

    let host = Host {
        wasi: wasi_builder(config)?.build(),
        bpf: bpf_ctx(config, &stop)?,
        table: ResourceTable::new(),
        memory: MemoryCap::new(config.max_memory).reporting(Arc::clone(&config.observer)),
    };
    let mut store = Store::new(&engine, host);
    store.limiter(|host| &mut host.memory);
    yield_on_epochs(&mut store);
    let _ticker = EpochTicker::start(&engine);

    let command = Command::instantiate_async(&mut store, &component, &linker)
        .await
        .context("instantiating the component (is it a wasi:cli command?)")?;
    tracing::debug!("instantiated; running the guest");
    watchers.start_timeout(config.timeout);
    let guest = async {
        let status = command.wasi_cli_run().call_run(&mut store).await?;
        Ok(if status.is_ok() { 0 } else { 1 })
    };
    let outcome = finish(guest, &stop).await;
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
