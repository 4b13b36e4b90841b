//! What an object says about itself with Inspektor Gadget's marker
//! variables (unused globals whose names carry the metadata):
//! `gadget_tracer_<name>___<map>___<struct>` names the buffer a tracer's
//! records come from and their struct, `gadget_param_<var>` marks a
//! `const volatile` global as a parameter to set before load.

use anyhow::{bail, Context as _};
use wasm_bpf_guest::{GlobalInfo, OpenObject};

/// A tracer: its records, of `record`, come from the buffer `map`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tracer {
    pub name: String,
    pub map: String,
    pub record: String,
}

/// The tracers and parameters the markers among `globals` declare.
pub fn read(globals: &[GlobalInfo]) -> anyhow::Result<(Vec<Tracer>, Vec<String>)> {
    let mut tracers = Vec::new();
    let mut params = Vec::new();
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
        } else if let Some(var) = g.name.strip_prefix("gadget_param_") {
            params.push(var.to_string());
        }
    }
    Ok((tracers, params))
}

/// `value` as the bytes of a global of `size` bytes: `true`/`false` or an
/// integer (negative ones as two's complement), little-endian.
fn encode(value: &str, size: usize) -> anyhow::Result<Vec<u8>> {
    let n: i128 = match value {
        "true" => 1,
        "false" => 0,
        _ => value
            .parse()
            .with_context(|| format!("`{value}` is not an integer or true/false"))?,
    };
    if size == 0 || size > 8 {
        bail!("a parameter of {size} bytes cannot be set from text");
    }
    let bits = size as u32 * 8;
    let fits = n >= -(1i128 << (bits - 1)) && n < (1i128 << bits);
    if !fits {
        bail!("{value} does not fit in {size} bytes");
    }
    Ok(n.to_le_bytes()[..size].to_vec())
}

/// Sets parameter `name` (marked by `gadget_param_<name>`) to `value`.
pub fn set_param(
    open: &mut OpenObject,
    globals: &[GlobalInfo],
    params: &[String],
    name: &str,
    value: &str,
) -> anyhow::Result<()> {
    if !params.iter().any(|p| p == name) {
        bail!(
            "the object has no parameter `{name}` (its parameters: {})",
            if params.is_empty() {
                "none".to_string()
            } else {
                params.join(", ")
            }
        );
    }
    let global = globals
        .iter()
        .find(|g| g.name == name)
        .with_context(|| format!("parameter `{name}` is marked but is not a global"))?;
    let bytes =
        encode(value, global.size as usize).with_context(|| format!("--param {name}={value}"))?;
    Ok(open.set_global_bytes(name, &bytes)?)
}
