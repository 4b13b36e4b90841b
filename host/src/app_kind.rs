//! What a component is (an app, a probe, a stage, a consumer) and which of
//! its imports the host cannot satisfy, from the names of its top-level
//! imports and exports: they are in the binary's sections, so this takes
//! a parse of milliseconds, not a compile of seconds, and `run` says what
//! is wrong before compiling anything.

use wasmparser::{Parser, Payload};

use wasmtime::error::Context as _;
use wasmtime::Result;

/// A component's top-level import and export names
/// (`wasi:cli/run@0.2.12`, `wasm-bpf:bpf/sink@0.1.0`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Surface {
    pub imports: Vec<String>,
    pub exports: Vec<String>,
}

/// What a component is to `run` and `compose`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    /// A command (`wasi:cli/run`) that needs nothing but the host.
    App,
    /// A command that imports this sink: it needs a consumer.
    Probe(String),
    /// Exports this sink and imports one: it goes between a probe and a
    /// consumer.
    Stage(String),
    /// Exports this sink and imports none: it goes last.
    Consumer(String),
    /// Neither a command nor a sink.
    Other,
}

/// The interface part of `name` (`sink` of `wasm-bpf:bpf/sink@0.1.0`).
fn interface(name: &str) -> &str {
    let path = name.split('@').next().unwrap_or(name);
    path.rsplit('/').next().unwrap_or(path)
}

fn is_sink(name: &str) -> bool {
    name.contains('/') && interface(name) == "sink"
}

/// Whether the import `name` is one the host cannot satisfy: a WASI
/// interface other than WASI 0.2's command interfaces (wasmtime-wasi's
/// `add_to_linker`: `wasi:http`, a 0.3 one), or one of `wasm-bpf:bpf` at
/// another version. Sinks are a consumer's to provide. Other packages
/// are not judged here: a probe's own WIT (`wasm-bpf:bootstrap/records`)
/// is imported for its types only, which needs nothing from the host, and
/// telling that apart needs the component's types; instantiation names
/// any such import that has functions.
pub fn lacking(name: &str) -> bool {
    let (path, version) = name.split_once('@').unwrap_or((name, ""));
    let Some((package, _)) = path.split_once('/') else {
        return false;
    };
    match package {
        "wasi:cli" | "wasi:clocks" | "wasi:filesystem" | "wasi:io" | "wasi:random"
        | "wasi:sockets" => !version.starts_with("0.2."),
        "wasm-bpf:bpf" => version != "0.1.0" && !is_sink(name),
        _ => package.starts_with("wasi:"),
    }
}

impl Surface {
    /// Reads the names from component `bytes`.
    pub fn read(bytes: &[u8]) -> Result<Self> {
        let mut surface = Self::default();
        // Nested modules and components have sections of their own.
        let mut depth = 0usize;
        for payload in Parser::new(0).parse_all(bytes) {
            match payload.context("reading the component")? {
                Payload::ModuleSection { .. } | Payload::ComponentSection { .. } => depth += 1,
                Payload::End(_) => depth = depth.saturating_sub(1),
                Payload::ComponentImportSection(imports) if depth == 0 => {
                    for import in imports {
                        let name = import.context("reading an import")?.name.name;
                        surface.imports.push(name.to_string());
                    }
                }
                Payload::ComponentExportSection(exports) if depth == 0 => {
                    for export in exports {
                        let name = export.context("reading an export")?.name.name;
                        surface.exports.push(name.to_string());
                    }
                }
                _ => {}
            }
        }
        Ok(surface)
    }

    pub fn kind(&self) -> Kind {
        let command = self
            .exports
            .iter()
            .any(|e| e.split('@').next() == Some("wasi:cli/run"));
        let imported = self.imported_sink().map(str::to_string);
        let exported = self.exports.iter().find(|e| is_sink(e)).cloned();
        match (command, imported, exported) {
            (true, None, _) => Kind::App,
            (true, Some(sink), _) => Kind::Probe(sink),
            (false, Some(_), Some(sink)) => Kind::Stage(sink),
            (false, None, Some(sink)) => Kind::Consumer(sink),
            (false, _, None) => Kind::Other,
        }
    }

    /// The imports the host lacks ([`lacking`]).
    pub fn unprovided(&self) -> Vec<&str> {
        self.imports
            .iter()
            .map(String::as_str)
            .filter(|i| lacking(i))
            .collect()
    }

    /// The sink it imports, if any.
    pub fn imported_sink(&self) -> Option<&str> {
        self.imports.iter().map(String::as_str).find(|i| is_sink(i))
    }
}

/// Fails, saying what `name` is and how to run it, unless it is an app
/// whose imports the host provides.
pub fn check_runnable(surface: &Surface, name: &str) -> Result<()> {
    match surface.kind() {
        Kind::App => {}
        Kind::Probe(sink) => wasmtime::bail!(
            "{name} imports `{sink}`: it is a probe, and its sink comes from a consumer, \
             not from the host; run it with `--sink CONSUMER.wasm` or compose it first \
             (`wasm-bpf compose {name} CONSUMER.wasm -o app.wasm`)"
        ),
        Kind::Stage(sink) => wasmtime::bail!(
            "{name} exports and imports `{sink}`: it is a stage, which goes between a probe \
             and a consumer; run `wasm-bpf run --sink {name} --sink CONSUMER.wasm PROBE.wasm`"
        ),
        Kind::Consumer(sink) => wasmtime::bail!(
            "{name} exports `{sink}` and no `wasi:cli/run`: it is a consumer, which a probe \
             sends records to; run `wasm-bpf run --sink {name} PROBE.wasm`"
        ),
        Kind::Other => wasmtime::bail!(
            "{name} exports neither `wasi:cli/run` (an app) nor a sink (a consumer); it \
             exports: {}",
            list(&surface.exports)
        ),
    }
    check_imports(surface, name)
}

/// Fails naming the imports of `name` the host does not provide.
pub fn check_imports(surface: &Surface, name: &str) -> Result<()> {
    let missing = surface.unprovided();
    if missing.is_empty() {
        return Ok(());
    }
    let hint = if missing.iter().any(|i| i.starts_with("wasi:http/")) {
        " (componentize-js imports wasi:http unless built with `-d http fetch-event`)"
    } else {
        ""
    };
    wasmtime::bail!(
        "{name} imports what this host does not provide: {}{hint}; the host provides WASI \
         0.2's cli, clocks, filesystem, io, random and sockets, and wasm-bpf:bpf@0.1.0",
        missing.join(", ")
    )
}

fn list(names: &[String]) -> String {
    if names.is_empty() {
        "nothing".into()
    } else {
        names.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn surface(imports: &[&str], exports: &[&str]) -> Surface {
        Surface {
            imports: imports.iter().map(|s| s.to_string()).collect(),
            exports: exports.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn kinds_follow_the_names() {
        let run = "wasi:cli/run@0.2.12";
        let sink = "wasm-bpf:bpf/sink@0.1.0";
        assert_eq!(surface(&[], &[run]).kind(), Kind::App);
        assert_eq!(surface(&[sink], &[run]).kind(), Kind::Probe(sink.into()));
        assert_eq!(surface(&[sink], &[sink]).kind(), Kind::Stage(sink.into()));
        let typed = "wasm-bpf:bootstrap/sink@0.1.0";
        assert_eq!(surface(&[], &[typed]).kind(), Kind::Consumer(typed.into()));
        assert_eq!(surface(&[], &["x:y/z"]).kind(), Kind::Other);
    }

    #[test]
    fn what_the_host_lacks_is_named() {
        let app = surface(
            &[
                "wasi:io/poll@0.2.3",
                "wasm-bpf:bpf/buffer@0.1.0",
                "wasm-bpf:bootstrap/records",
                "wasi:http/types@0.2.3",
                "wasi:cli/stdout@0.3.0",
            ],
            &["wasi:cli/run@0.2.3"],
        );
        assert_eq!(
            app.unprovided(),
            ["wasi:http/types@0.2.3", "wasi:cli/stdout@0.3.0"]
        );
        let err = check_runnable(&app, "app.wasm").unwrap_err().to_string();
        assert!(
            err.contains("wasi:http/types@0.2.3, wasi:cli/stdout@0.3.0"),
            "{err}"
        );
        assert!(err.contains("-d http fetch-event"), "{err}");
    }
}
