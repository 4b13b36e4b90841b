//! C bindings of a WIT world, as `wit-bindgen c` writes them.

use std::path::Path;

use anyhow::{Context as _, Result};
use wit_bindgen_core::Files;
use wit_parser::{Resolve, WorldId};

/// The bindings of the `bpf-app` world: `bpf_app.h`, `bpf_app.c`, and
/// `bpf_app_component_type.o`, which carries the world's type into the
/// linked module for `componentize`.
pub fn c_bindings() -> Result<Vec<(String, Vec<u8>)>> {
    let (mut resolve, world) = crate::wit::bpf_app()?;
    generate(&mut resolve, world)
}

/// The bindings of `world` of the WIT package at `wit` (a file, or a
/// directory with its `deps/`), such as the `consumer` world that
/// `wasm-bpf gen wit` writes for a probe: `<world>.h`, `<world>.c` and
/// `<world>_component_type.o`.
pub fn c_bindings_of(wit: &Path, world: &str) -> Result<Vec<(String, Vec<u8>)>> {
    let mut resolve = Resolve::default();
    let (package, _) = resolve
        .push_path(wit)
        .with_context(|| format!("reading the WIT at {}", wit.display()))?;
    let world = resolve
        .select_world(&[package], Some(world))
        .with_context(|| format!("finding world `{world}` in {}", wit.display()))?;
    generate(&mut resolve, world)
}

fn generate(resolve: &mut Resolve, world: WorldId) -> Result<Vec<(String, Vec<u8>)>> {
    let opts = wit_bindgen_c::Opts::default();
    let mut files = Files::default();
    opts.build()
        .generate(resolve, world, &mut files)
        .context("generating C bindings")?;
    Ok(files
        .iter()
        .map(|(name, bytes)| (name.to_string(), bytes.to_vec()))
        .collect())
}
