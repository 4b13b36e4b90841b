//! Core modules written for the original wasm-bpf (eunomia-bpf/wasm-bpf),
//! run unmodified: WASI preview1 plus six imports from module `wasm_bpf`
//! that pass raw pointers into linear memory, and the TinyGo SDK's
//! `callback-wrapper` variant of buffer polling.
//!
//! The imports are served by the same host functions as the WIT
//! interfaces ([`state`] calls them through a [`BpfCtxView`]), so such a
//! module gets the same policy, limits and cleanup: everything it holds
//! lives in the store's resource table and is freed when the run ends,
//! however it ends. [`abi`] turns pointers and lengths into bytes,
//! checking every range against the module's memory.

mod abi;
mod state;

use std::sync::Arc;

use wasmtime::error::Context as _;
use wasmtime::{Engine, Linker, Module, Result, Store};
use wasmtime_wasi::p1::WasiP1Ctx;

use crate::guest::{self, Outcome, RunConfig};
use crate::interrupt::Stop;
use crate::memory::MemoryCap;
use crate::{BpfCtx, BpfCtxView};
use state::Legacy;

/// Whether `bytes` are a core Wasm module (rather than a component).
pub fn is_core_module(bytes: &[u8]) -> bool {
    bytes.starts_with(b"\0asm\x01\0\0\0")
}

/// The store's data for a legacy module.
struct LegacyHost {
    wasi: WasiP1Ctx,
    bpf: BpfCtx,
    /// The BPF resources, as the WIT host functions keep them.
    table: wasmtime::component::ResourceTable,
    legacy: Legacy,
    memory: MemoryCap,
}

impl LegacyHost {
    /// The legacy handles, and the view the BPF host functions work on.
    fn parts(&mut self) -> (&mut Legacy, BpfCtxView<'_>) {
        (
            &mut self.legacy,
            BpfCtxView {
                ctx: &mut self.bpf,
                table: &mut self.table,
            },
        )
    }
}

/// Runs the WASI command `bytes` (its `_start`) to its end.
pub async fn run(
    engine: &Engine,
    bytes: &[u8],
    config: &RunConfig,
    stop: &Arc<Stop>,
    watchers: &mut guest::Watchers,
) -> Result<Outcome> {
    let module = Module::new(engine, bytes)
        .with_context(|| format!("compiling module {}", config.component.name()))?;
    let mut linker = Linker::<LegacyHost>::new(engine);
    wasmtime_wasi::p1::add_to_linker_async(&mut linker, |host| &mut host.wasi)?;
    // wasmtime-wasi traps on an exit status past 125; a C module's
    // `return -1` from main is status 255 natively, and an exit here too.
    linker.allow_shadowing(true);
    linker.func_wrap(
        "wasi_snapshot_preview1",
        "proc_exit",
        |_: wasmtime::Caller<'_, LegacyHost>, status: u32| -> wasmtime::Result<()> {
            Err(wasmtime_wasi::I32Exit((status & 0xff) as i32).into())
        },
    )?;
    linker.allow_shadowing(false);
    abi::add_to_linker(&mut linker)?;
    let host = LegacyHost {
        wasi: guest::wasi_builder(config)?.build_p1(),
        bpf: guest::bpf_ctx(config, stop)?,
        table: wasmtime::component::ResourceTable::new(),
        legacy: Legacy::default(),
        memory: MemoryCap::new(config.max_memory).reporting(Arc::clone(&config.observer)),
    };
    let mut store = Store::new(engine, host);
    store.limiter(|host| &mut host.memory);
    guest::yield_on_epochs(&mut store);

    let instance = linker
        .instantiate_async(&mut store, &module)
        .await
        .context("instantiating the module (imports it needs that wasm-bpf lacks?)")?;
    let start = instance
        .get_typed_func::<(), ()>(&mut store, "_start")
        .context("the module is not a WASI command: it exports no `_start`")?;
    tracing::debug!("running a legacy wasm-bpf module");
    watchers.start_timeout(config.timeout);
    let guest = async {
        start.call_async(&mut store, ()).await?;
        Ok(0)
    };
    let outcome = guest::finish(guest, stop).await;
    // As for components: dropping the store frees every link, buffer, map
    // and object the module held.
    drop(store);
    Ok(outcome)
}
