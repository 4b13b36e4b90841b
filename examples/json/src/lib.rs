//! json: a consumer for any probe. Each record becomes one line of JSON on
//! stdout (NDJSON), an object whose keys are the record's field names as
//! the schema gives them (`pid`, `exit_code`, `in.a`):
//!
//!     {"pid":4242,"ppid":4200,"exit_code":0,"duration_ns":0,"comm":"sleep",...}
//!
//! `JSON_FIELDS=pid,comm` keeps only those fields, in that order.
//!
//! Integers are JSON numbers (exact: a u64 is not rounded through a
//! float), text and enum values strings, lists and bytes arrays of
//! numbers, a float that is not finite `null`.

use std::cell::RefCell;
use std::io::{BufWriter, Write};

use wasm_bpf_guest::bindings::records::{Batch, Schema};
use wasm_bpf_guest::consumer::{Cell, Row};

wit_bindgen::generate!({
    path: "../../wit",
    world: "wasm-bpf:bpf/consumer",
    with: { "wasm-bpf:bpf/records@0.1.0": wasm_bpf_guest::bindings::records },
});

use exports::wasm_bpf::bpf::sink::Guest;

thread_local! {
    /// Of each schema, the fields printed: their index and their key as it
    /// opens the member (`"pid":`, quoted and escaped once). Set by `start`.
    static SHOWN: RefCell<Vec<Vec<(usize, String)>>> = const { RefCell::new(Vec::new()) };
}

/// `name` as a JSON object's key, with its colon.
fn key(name: &str) -> String {
    let mut key = serde_json::to_string(name).unwrap_or_default();
    key.push(':');
    key
}

/// The fields of `schema` that `wanted` names (all without it).
fn shown(schema: Schema, wanted: Option<&[String]>) -> Result<Vec<(usize, String)>, String> {
    let all = schema.fields.into_iter().map(|f| f.name).enumerate();
    let Some(wanted) = wanted else {
        return Ok(all.collect());
    };
    let all: Vec<(usize, String)> = all.collect();
    wanted
        .iter()
        .map(|name| {
            all.iter().find(|(_, n)| n == name).cloned().ok_or_else(|| {
                let names: Vec<&str> = all.iter().map(|(_, n)| n.as_str()).collect();
                format!(
                    "JSON_FIELDS: {} has no field {name} (its fields: {})",
                    schema.name,
                    names.join(", ")
                )
            })
        })
        .collect()
}

/// Writes `cell` as a JSON value (a float that is not finite as `null`,
/// as serde_json writes it).
fn write_value(out: &mut impl Write, cell: Cell<'_>) -> serde_json::Result<()> {
    match cell {
        Cell::Signed(v) => serde_json::to_writer(out, &v),
        Cell::Unsigned(v) => serde_json::to_writer(out, &v),
        Cell::Boolean(v) => serde_json::to_writer(out, &v),
        Cell::Text(v) | Cell::Enumerator(v) => serde_json::to_writer(out, v),
        Cell::Float(v) => serde_json::to_writer(out, &v),
        Cell::SignedList(v) => serde_json::to_writer(out, v),
        Cell::UnsignedList(v) => serde_json::to_writer(out, v),
        Cell::Bytes(v) => serde_json::to_writer(out, v),
    }
}

/// One record's line: its shown fields as one JSON object, members in
/// the order shown, written as they are read (no object built first).
fn write_line(
    out: &mut impl Write,
    shown: &[(usize, String)],
    record: &Row<'_>,
) -> std::io::Result<()> {
    let mut open = b"{".as_slice();
    for (i, key) in shown {
        let Some(cell) = record.get(*i) else {
            continue;
        };
        out.write_all(open)?;
        out.write_all(key.as_bytes())?;
        write_value(out, cell)?;
        open = b",";
    }
    if open == b"{" {
        out.write_all(open)?;
    }
    out.write_all(b"}\n")
}

struct Json_;

impl Guest for Json_ {
    fn start(schemas: Vec<Schema>) -> Result<(), String> {
        let wanted: Option<Vec<String>> = std::env::var("JSON_FIELDS")
            .ok()
            .map(|list| list.split(',').map(|f| f.trim().to_string()).collect());
        SHOWN.set(
            schemas
                .into_iter()
                .map(|s| {
                    let fields = shown(s, wanted.as_deref())?;
                    Ok::<_, String>(
                        fields
                            .into_iter()
                            .map(|(i, name)| (i, key(&name)))
                            .collect(),
                    )
                })
                .collect::<Result<_, _>>()?,
        );
        Ok(())
    }

    fn push(batch: Batch) {
        // One write per batch: stdout alone would make one per line, each
        // a host call and a system call.
        let mut out = BufWriter::new(std::io::stdout().lock());
        SHOWN.with_borrow(|shown| {
            let Some(shown) = shown.get(batch.schema as usize) else {
                return;
            };
            for record in batch.records() {
                if write_line(&mut out, shown, &record).is_err() {
                    return;
                }
            }
        });
        let _ = out.flush();
    }

    fn finish() {
        let _ = std::io::stdout().flush();
    }
}

export!(Json_);
