//! Turning a C guest's core module into a component.

use anyhow::{Context as _, Result};
use wasi_preview1_component_adapter_provider::{
    WASI_SNAPSHOT_PREVIEW1_ADAPTER_NAME, WASI_SNAPSHOT_PREVIEW1_REACTOR_ADAPTER,
};
use wit_component::ComponentEncoder;

/// Wraps a core module built against the C bindings (a WASI preview1
/// reactor exporting `wasi:cli/run`, linked with
/// `bpf_app_component_type.o`) into a `bpf-app` component. WASI preview1
/// calls go through the reactor adapter of the wasmtime release the host
/// runs.
pub fn componentize(module: &[u8]) -> Result<Vec<u8>> {
    ComponentEncoder::default()
        .validate(true)
        .module(module)
        .context("reading the core module")?
        .adapter(
            WASI_SNAPSHOT_PREVIEW1_ADAPTER_NAME,
            WASI_SNAPSHOT_PREVIEW1_REACTOR_ADAPTER,
        )
        .context("adding the WASI preview1 adapter")?
        .encode()
        .context("encoding the component")
}
