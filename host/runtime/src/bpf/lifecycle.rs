//! `lifecycle`: the guest's view of the run's stop, which the host asks
//! for before it forces it (see [`crate::interrupt`]).

use std::sync::Arc;

use wasmtime::component::Resource;
use wasmtime_wasi::p2::{DynPollable, Pollable};

use crate::bindings::lifecycle::Host;
use crate::interrupt::Stop;
use crate::BpfCtxView;

/// Ready once the host asks the guest to stop.
pub struct Stopping(Arc<Stop>);

#[async_trait::async_trait]
impl Pollable for Stopping {
    async fn ready(&mut self) {
        self.0.requested.fired().await;
    }
}

impl Host for BpfCtxView<'_> {
    fn stopping(&mut self) -> wasmtime::Result<Resource<DynPollable>> {
        self.ctx.observer.guest_waits();
        let stopping = self.table.push(Stopping(Arc::clone(&self.ctx.stop)))?;
        wasmtime_wasi::p2::subscribe(self.table, stopping)
    }

    fn is_stopping(&mut self) -> wasmtime::Result<bool> {
        Ok(self.ctx.stop.requested.cause().is_some())
    }
}
