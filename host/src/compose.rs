//! Composition: a probe, the stages after it and a consumer plugged into
//! one component with wac-graph, through the `wasm-bpf:bpf/sink` interface
//! of `wit/records.wit`.
//!
//! The chain `probe -> stage ... -> consumer` becomes: the consumer's
//! `sink` export satisfies the last stage's `sink` import, that stage's
//! export the one before, and so on up to the probe. Everything else the
//! components import (WASI, the BPF interfaces) stays an import of the
//! result, which exports what the probe exports (`wasi:cli/run`), so it
//! runs like any guest.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context as _, Result};
use wac_graph::types::Package;
use wac_graph::{CompositionGraph, EncodeOptions, NodeId, PackageId};

/// The interface the parts are plugged through (any 0.1.x version).
const SINK: &str = "wasm-bpf:bpf/sink@0.1.";

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

/// The full name of the sink interface among `names`, if there is one.
fn sink_in<'a>(names: impl Iterator<Item = &'a String>) -> Option<String> {
    names.into_iter().find(|n| n.starts_with(SINK)).cloned()
}

fn listed<'a>(names: impl Iterator<Item = &'a String>) -> String {
    let names: Vec<&str> = names.map(String::as_str).collect();
    if names.is_empty() {
        "none".into()
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

/// `probe`, then `stages` in order, then `consumer`, as one component.
pub fn compose(probe: &Part, stages: &[Part], consumer: &Part) -> Result<Vec<u8>> {
    let mut graph = CompositionGraph::new();
    let mut chain = vec![(probe, register(&mut graph, probe, 0)?)];
    for (n, stage) in stages.iter().enumerate() {
        chain.push((stage, register(&mut graph, stage, n + 1)?));
    }
    chain.push((consumer, register(&mut graph, consumer, stages.len() + 1)?));

    // What each part imports and exports of the sink, checked up front so
    // the error says which part is not what its place needs.
    let last = chain.len() - 1;
    let mut ends = Vec::new();
    for (i, (part, package)) in chain.iter().enumerate() {
        let ty = &graph.types()[graph[*package].ty()];
        let import = sink_in(ty.imports.keys());
        let export = sink_in(ty.exports.keys());
        let role = match i {
            0 => "the probe",
            _ if i == last => "the consumer",
            _ => "a stage",
        };
        if i < last && import.is_none() {
            bail!(
                "{}: {role} must import `{SINK}x` (world wasm-bpf:bpf/{}); its imports: {}",
                part.name(),
                if i == 0 { "probe" } else { "stage" },
                listed(ty.imports.keys())
            );
        }
        if i > 0 && export.is_none() {
            bail!(
                "{}: {role} must export `{SINK}x` (world wasm-bpf:bpf/{}); its exports: {}",
                part.name(),
                if i == last { "consumer" } else { "stage" },
                listed(ty.exports.keys())
            );
        }
        ends.push((import, export));
    }

    // From the consumer back to the probe: each part's sink export is the
    // argument of the previous part's sink import.
    let mut provider: Option<(NodeId, usize)> = None;
    let mut probe_instance = None;
    for i in (0..chain.len()).rev() {
        let (part, package) = chain[i];
        let instance = graph.instantiate(package);
        if let Some((export, from)) = provider {
            let import = ends[i].0.clone().unwrap_or_default();
            graph
                .set_instantiation_argument(instance, &import, export)
                .with_context(|| {
                    format!(
                        "cannot plug {}'s export `{}` into {}'s import `{import}`: \
                         the two sides do not agree on the interface's types \
                         (were they built against the same wit/records.wit?)",
                        chain[from].0.name(),
                        ends[from].1.as_deref().unwrap_or_default(),
                        part.name(),
                    )
                })?;
        }
        if i > 0 {
            let export = ends[i].1.clone().unwrap_or_default();
            provider = Some((graph.alias_instance_export(instance, &export)?, i));
        } else {
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
    graph
        .encode(EncodeOptions::default())
        .context("encoding the composed component")
}
