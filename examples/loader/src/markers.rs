//! What an object says about itself with Inspektor Gadget's marker
//! variables (unused globals whose names carry the metadata):
//! `gadget_tracer_<name>___<map>___<struct>` names the buffer a tracer's
//! records come from and their struct, `gadget_mapiter_<name>___<map>` a
//! hash map to drain every interval, `gadget_iter_<name>___<struct>___
//! <program>...` bpf_iter programs whose output is a snapshot of structs,
//! `gadget_param_<var>` marks a
//! `const volatile` global as a parameter to set before load, which a
//! gadget's `gadget.yaml` may give a key, an alias and a default.

use std::fmt::Write as _;

use anyhow::{bail, Context as _};
use wasm_bpf_guest::gadget::Spec;
use wasm_bpf_guest::probe::Layout;
use wasm_bpf_guest::{GlobalInfo, OpenObject};

/// A tracer: its records, of `record`, come from the buffer `map`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tracer {
    pub name: String,
    pub map: String,
    pub record: String,
}

/// A map iterator: the hash map `map`, drained every interval, its
/// entries' keys and values shown together.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MapIter {
    pub name: String,
    pub map: String,
}

/// An iterator (a snapshot): the bpf_iter programs `programs` each write
/// entries of struct `record`, read once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Iter {
    pub name: String,
    pub record: String,
    pub programs: Vec<String>,
}

/// What the markers among an object's globals declare.
#[derive(Debug, Default)]
pub struct Markers {
    pub tracers: Vec<Tracer>,
    pub map_iters: Vec<MapIter>,
    pub iters: Vec<Iter>,
    pub params: Vec<String>,
}

/// The tracers, map iterators and parameters the markers among `globals`
/// declare.
pub fn read(globals: &[GlobalInfo]) -> anyhow::Result<Markers> {
    let mut markers = Markers::default();
    let (tracers, params) = (&mut markers.tracers, &mut markers.params);
    for g in globals {
        if let Some(rest) = g.name.strip_prefix("gadget_tracer_") {
            let parts: Vec<&str> = rest.split("___").collect();
            let [name, map, record] = parts[..] else {
                bail!(
                    "marker `{}` is not gadget_tracer_<name>___<map>___<struct>",
                    g.name
                );
            };
            tracers.push(Tracer {
                name: name.into(),
                map: map.into(),
                record: record.into(),
            });
        } else if let Some(rest) = g.name.strip_prefix("gadget_mapiter_") {
            let Some((name, map)) = rest.split_once("___") else {
                bail!("marker `{}` is not gadget_mapiter_<name>___<map>", g.name);
            };
            markers.map_iters.push(MapIter {
                name: name.into(),
                map: map.into(),
            });
        } else if let Some(rest) = g.name.strip_prefix("gadget_iter_") {
            let parts: Vec<&str> = rest.split("___").collect();
            let [name, record, programs @ ..] = &parts[..] else {
                bail!(
                    "marker `{}` is not gadget_iter_<name>___<struct>___<program>...",
                    g.name
                );
            };
            if programs.is_empty() {
                bail!("marker `{}` names no program", g.name);
            }
            markers.iters.push(Iter {
                name: name.to_string(),
                record: record.to_string(),
                programs: programs.iter().map(ToString::to_string).collect(),
            });
        } else if let Some(var) = g.name.strip_prefix("gadget_param_") {
            params.push(var.to_string());
        }
    }
    Ok(markers)
}

/// `value` as the bytes of a global of `size` bytes: `true`/`false` or an
/// integer (negative ones as two's complement), little-endian; for a
/// global of more than 8 bytes (a `char` array, as `targ_comm`), text,
/// NUL-padded.
fn encode(value: &str, size: usize) -> anyhow::Result<Vec<u8>> {
    if size > 8 {
        if value.len() >= size {
            bail!(
                "`{value}` is longer than the {} bytes of text the parameter holds",
                size - 1
            );
        }
        let mut bytes = value.as_bytes().to_vec();
        bytes.resize(size, 0);
        return Ok(bytes);
    }
    let n: i128 = match value {
        "true" => 1,
        "false" => 0,
        _ => value
            .parse()
            .with_context(|| format!("`{value}` is not an integer or true/false"))?,
    };
    if size == 0 {
        bail!("a parameter of no bytes cannot be set");
    }
    let bits = size as u32 * 8;
    let fits = n >= -(1i128 << (bits - 1)) && n < (1i128 << bits);
    if !fits {
        bail!("{value} does not fit in {size} bytes");
    }
    Ok(n.to_le_bytes()[..size].to_vec())
}

/// Refuses a `gadget.yaml` parameter that sets no global of the object.
pub fn check_spec(spec: &Spec, globals: &[GlobalInfo]) -> anyhow::Result<()> {
    for variable in spec.params.ebpf.keys() {
        if !globals.iter().any(|g| &g.name == variable) {
            bail!("gadget.yaml's parameter `{variable}` is not a global of the object");
        }
    }
    Ok(())
}

/// The field annotations of gadget.yaml that nothing here reads, one
/// note each (they are ignored).
pub fn unused_annotations(spec: &Spec) -> Vec<String> {
    const USED: [&str; 5] = [
        "description",
        "columns.width",
        "columns.alignment",
        "columns.hidden",
        "columns.ellipsis",
    ];
    let mut notes = Vec::new();
    for (source, ds) in &spec.datasources {
        for (field, f) in &ds.fields {
            for key in f.annotations.keys().filter(|k| !USED.contains(&k.as_str())) {
                notes.push(format!(
                    "gadget.yaml: annotation `{key}` of {source}.{field} is not used"
                ));
            }
        }
    }
    notes
}

/// Sets parameter `name` (its gadget.yaml key, alias or variable, or a
/// global marked by `gadget_param_<name>`, in any case) to `value`;
/// returns the variable it set.
pub fn set_param(
    open: &mut OpenObject,
    globals: &[GlobalInfo],
    spec: &Spec,
    params: &[String],
    name: &str,
    value: &str,
) -> anyhow::Result<String> {
    let variable = spec.variable(name).or_else(|| {
        params
            .iter()
            .map(String::as_str)
            .find(|p| p.eq_ignore_ascii_case(name))
    });
    let Some(variable) = variable else {
        let mut known: Vec<&str> = spec
            .params
            .ebpf
            .iter()
            .map(|(variable, param)| param.name(variable))
            .chain(params.iter().map(String::as_str))
            .collect();
        known.sort_unstable();
        known.dedup();
        bail!(
            "the object has no parameter `{name}` (its parameters: {})",
            if known.is_empty() {
                "none".to_string()
            } else {
                known.join(", ")
            }
        );
    };
    if let Some(param) = spec.params.ebpf.get(variable) {
        let allowed: Vec<String> = param
            .possible_values
            .iter()
            .map(ToString::to_string)
            .collect();
        if !allowed.is_empty() && !allowed.iter().any(|v| v == value) {
            bail!(
                "--param {name}={value}: the parameter takes one of {}",
                allowed.join(", ")
            );
        }
    }
    set(open, globals, variable, value).with_context(|| format!("--param {name}={value}"))?;
    Ok(variable.to_string())
}

/// Sets each gadget.yaml parameter not in `set` to its `defaultValue`.
pub fn set_defaults(
    open: &mut OpenObject,
    globals: &[GlobalInfo],
    spec: &Spec,
    set: &[String],
) -> anyhow::Result<()> {
    for (variable, param) in &spec.params.ebpf {
        let Some(default) = &param.default_value else {
            continue;
        };
        let text = default.to_string();
        if set.contains(variable) || text.is_empty() {
            continue;
        }
        self::set(open, globals, variable, &text).with_context(|| {
            format!(
                "the default value `{text}` gadget.yaml gives parameter `{}`",
                param.name(variable)
            )
        })?;
    }
    Ok(())
}

fn set(
    open: &mut OpenObject,
    globals: &[GlobalInfo],
    variable: &str,
    value: &str,
) -> anyhow::Result<()> {
    let global = globals
        .iter()
        .find(|g| g.name == variable)
        .with_context(|| format!("parameter `{variable}` is marked but is not a global"))?;
    let bytes = encode(value, global.size as usize)?;
    Ok(open.set_global_bytes(variable, &bytes)?)
}

/// A gadget's `-h`: what it is, its parameters and the fields of its
/// records.
pub fn describe(spec: &Spec, params: &[String], layout: &Layout) -> String {
    let mut text = String::new();
    if let Some(name) = &spec.name {
        let _ = writeln!(
            text,
            "{name}: {}",
            spec.description.as_deref().unwrap_or("")
        );
    }
    let _ = writeln!(text, "\nParameters (--param NAME=VALUE):");
    let mut listed = Vec::new();
    for (variable, param) in &spec.params.ebpf {
        let mut line = format!("  {}", param.name(variable));
        if let Some(alias) = &param.alias {
            let _ = write!(line, " (or {alias})");
        }
        if let Some(default) = &param.default_value {
            let _ = write!(line, " [default {default}]");
        }
        if !param.possible_values.is_empty() {
            let values: Vec<String> = param
                .possible_values
                .iter()
                .map(ToString::to_string)
                .collect();
            let _ = write!(line, " {{{}}}", values.join("|"));
        }
        let _ = writeln!(
            text,
            "{line}  {}",
            param.description.as_deref().unwrap_or("")
        );
        listed.push(variable.as_str());
    }
    for variable in params.iter().filter(|p| !listed.contains(&p.as_str())) {
        let _ = writeln!(text, "  {variable}");
    }
    let schema = layout.schema();
    let _ = writeln!(text, "\nFields (--fields A,B,...):");
    for field in &schema.fields {
        let description = spec
            .annotations(&schema.name, &field.name)
            .and_then(|a| a.get("description"))
            .map(ToString::to_string)
            .unwrap_or_default();
        let _ = writeln!(text, "  {}  {description}", field.name);
    }
    text
}

/// Has the object report only what happens in the mount namespaces
/// `ids`, through Inspektor Gadget's filter (the `gadget_filter_by_mntns`
/// switch, before load).
pub fn filter_mntns(
    open: &mut OpenObject,
    globals: &[GlobalInfo],
    ids: &[u64],
) -> anyhow::Result<()> {
    if ids.is_empty() {
        return Ok(());
    }
    let has = |name: &str| globals.iter().any(|g| g.name == name);
    if !has("gadget_filter_by_mntns") || !open.maps().iter().any(|m| m.name == MNTNS_MAP) {
        bail!(
            "--mntns: the object has no mount namespace filter (gadget_filter_by_mntns and \
             {MNTNS_MAP}, as Inspektor Gadget's mntns_filter.h declares them)"
        );
    }
    Ok(open.set_global_bytes("gadget_filter_by_mntns", &[1])?)
}

/// The map of the mount namespaces a filtering object reports.
pub const MNTNS_MAP: &str = "gadget_mntns_filter_map";
