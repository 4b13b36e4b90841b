//! C bindings of the `bpf-app` world, as `wit-bindgen c` writes them.

use anyhow::{Context as _, Result};
use wit_bindgen_core::Files;

/// The generated files by name: `bpf_app.h`, `bpf_app.c`, and
/// `bpf_app_component_type.o`, which carries the world's type into the
/// linked module for `componentize`.
pub fn c_bindings() -> Result<Vec<(String, Vec<u8>)>> {
    let (mut resolve, world) = crate::wit::bpf_app()?;
    let opts = wit_bindgen_c::Opts::default();
    let mut files = Files::default();
    opts.build()
        .generate(&mut resolve, world, &mut files)
        .context("generating C bindings")?;
    Ok(files
        .iter()
        .map(|(name, bytes)| (name.to_string(), bytes.to_vec()))
        .collect())
}
