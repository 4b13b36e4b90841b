//! Composition: a probe, the stages after it and a consumer plugged into
//! one component with wac-graph.
//!
//! Neighbours are plugged through the interfaces one imports and the next
//! exports: `wasm-bpf:bpf/sink` of `wit/records.wit` for self-describing
//! records, or the `sink` of a probe's own WIT (`wasm-bpf gen wit`) for
//! typed ones. The chain `probe -> stage ... -> consumer` becomes: the
//! consumer's exports satisfy the matching imports of the last stage, that
//! stage's exports the one before, and so on up to the probe. Everything
//! else the components import (WASI, the BPF interfaces) stays an import
//! of the result, which exports what the probe exports (`wasi:cli/run`), so
//! it runs like any guest.

use std::path::{Path, PathBuf};

use crate::app_kind::Surface;
use anyhow::{bail, Context as _, Result};
use wac_graph::types::Package;
use wac_graph::{CompositionGraph, EncodeOptions, NodeId, PackageId};

/// One component of the chain, by file.
pub struct Part {
    pub path: PathBuf,
    pub bytes: Vec<u8>,
}

impl Part {
    pub fn read(path: &Path) -> Result<Self> {
        Ok(Self {
            path: path.to_path_buf(),
            bytes: std::fs::read(path).with_context(|| format!("reading {}", path.display()))?,
        })
    }

    fn name(&self) -> String {
        self.path.display().to_string()
    }
}

/// An interface name without what semver lets differ: `ns:pkg/sink@0.1.2`
/// is `ns:pkg/sink@0.1`, `ns:pkg/sink@1.2.0` is `ns:pkg/sink@1`.
fn compatible(name: &str) -> String {
    let Some((base, version)) = name.split_once('@') else {
        return name.to_string();
    };
    let parts: Vec<&str> = version.split('.').collect();
    let kept = if parts.first() == Some(&"0") { 2 } else { 1 };
    format!("{base}@{}", parts[..kept.min(parts.len())].join("."))
}

/// The names of `names`, WASI's left out, for an error message.
fn listed<'a>(names: impl Iterator<Item = &'a String>) -> String {
    let names: Vec<&str> = names
        .map(String::as_str)
        .filter(|n| !n.starts_with("wasi:"))
        .collect();
    if names.is_empty() {
        "none besides WASI".into()
    } else {
        names.join(", ")
    }
}

fn register(graph: &mut CompositionGraph, part: &Part, n: usize) -> Result<PackageId> {
    let package = Package::from_bytes(
        &format!("wasm-bpf:part{n}"),
        None,
        part.bytes.clone(),
        graph.types_mut(),
    )
    .with_context(|| format!("{}: not a component", part.name()))?;
    Ok(graph.register_package(package)?)
}

/// `probe`, then `sinks` in order (the stages, then the consumer last),
/// as one component.
pub fn compose(probe: &Part, sinks: &[Part]) -> Result<Vec<u8>> {
    let Some((consumer, stages)) = sinks.split_last() else {
        bail!("composing needs a probe and a consumer");
    };
    let mut graph = CompositionGraph::new();
    let mut chain = vec![(probe, register(&mut graph, probe, 0)?)];
    for (n, stage) in stages.iter().enumerate() {
        chain.push((stage, register(&mut graph, stage, n + 1)?));
    }
    chain.push((consumer, register(&mut graph, consumer, stages.len() + 1)?));
    let last = chain.len() - 1;
    let role = |i: usize| match i {
        0 => "the probe",
        _ if i == last => "the consumer",
        _ => "a stage",
    };

    // For each part but the last, the (import, export) pairs that plug the
    // next part into it, found up front so the error names the two parts
    // that do not fit.
    let mut plugs: Vec<Vec<(String, String)>> = Vec::new();
    for i in 0..last {
        let (left, right) = (&chain[i], &chain[i + 1]);
        let imports = &graph.types()[graph[left.1].ty()].imports;
        let exports = &graph.types()[graph[right.1].ty()].exports;
        let pairs: Vec<(String, String)> = imports
            .keys()
            .filter_map(|import| {
                exports
                    .keys()
                    .find(|export| compatible(export) == compatible(import))
                    .map(|export| (import.clone(), export.clone()))
            })
            .collect();
        if pairs.is_empty() {
            bail!(
                "cannot plug {} ({}) into {} ({}): it exports nothing the other imports\n  \
                 {} exports: {}\n  {} imports: {}",
                right.0.name(),
                role(i + 1),
                left.0.name(),
                role(i),
                right.0.name(),
                listed(exports.keys()),
                left.0.name(),
                listed(imports.keys()),
            );
        }
        plugs.push(pairs);
    }

    // From the consumer back to the probe: each part's exports are the
    // arguments of the previous part's imports.
    let mut next: Option<NodeId> = None;
    let mut probe_instance = None;
    for i in (0..chain.len()).rev() {
        let (part, package) = chain[i];
        let instance = graph.instantiate(package);
        if let Some(provider) = next {
            for (import, export) in &plugs[i] {
                let value = graph.alias_instance_export(provider, export)?;
                graph
                    .set_instantiation_argument(instance, import, value)
                    .with_context(|| {
                        format!(
                            "cannot plug {}'s export `{export}` into {}'s import `{import}`: \
                             the two sides do not agree on the interface's types \
                             (were they built from the same WIT?)",
                            chain[i + 1].0.name(),
                            part.name(),
                        )
                    })?;
            }
        }
        next = Some(instance);
        if i == 0 {
            probe_instance = Some(instance);
        }
    }
    let probe_instance = probe_instance.context("no probe")?;
    let exports: Vec<String> = graph.types()[graph[chain[0].1].ty()]
        .exports
        .keys()
        .cloned()
        .collect();
    for name in exports {
        let export = graph.alias_instance_export(probe_instance, &name)?;
        graph.export(export, &name)?;
    }
    let composed = graph
        .encode(EncodeOptions::default())
        .context("encoding the composed component")?;
    // What is left unplugged comes from the host when the result runs.
    let surface = Surface::read(&composed)?;
    if let Some(sink) = surface.imported_sink() {
        bail!(
            "the composition still imports `{sink}`: {} is not a consumer (the last part \
             must export the sink and import none)",
            consumer.name()
        );
    }
    crate::app_kind::check_imports(&surface, "the composition")?;
    Ok(composed)
}

#[cfg(test)]
mod tests {
    use super::compatible;

    #[test]
    fn versions_match_as_semver_allows() {
        assert_eq!(
            compatible("wasm-bpf:bpf/sink@0.1.3"),
            "wasm-bpf:bpf/sink@0.1"
        );
        assert_eq!(
            compatible("wasm-bpf:bpf/sink@0.2.0"),
            "wasm-bpf:bpf/sink@0.2"
        );
        assert_eq!(compatible("a:b/c@1.4.2"), "a:b/c@1");
        assert_eq!(
            compatible("wasm-bpf:bootstrap/sink"),
            "wasm-bpf:bootstrap/sink"
        );
    }
}
