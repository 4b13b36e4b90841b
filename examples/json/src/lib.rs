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
use std::io::{BufWriter, Write as _};

use serde_json::{Map, Value as Json};

use wasm_bpf_guest::bindings::records::{Batch, Schema};
use wasm_bpf_guest::consumer::Cell;

wit_bindgen::generate!({
    path: "../../wit",
    world: "wasm-bpf:bpf/consumer",
    with: { "wasm-bpf:bpf/records@0.1.0": wasm_bpf_guest::bindings::records },
});

use exports::wasm_bpf::bpf::sink::Guest;

thread_local! {
    /// Of each schema, the fields printed: their index and name. Set by
    /// `start`.
    static SHOWN: RefCell<Vec<Vec<(usize, String)>>> = const { RefCell::new(Vec::new()) };
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

fn json(cell: Cell<'_>) -> Json {
    match cell {
        Cell::Signed(v) => v.into(),
        Cell::Unsigned(v) => v.into(),
        Cell::Boolean(v) => v.into(),
        Cell::Text(v) | Cell::Enumerator(v) => v.into(),
        Cell::Float(v) => serde_json::Number::from_f64(v).map_or(Json::Null, Json::Number),
        Cell::SignedList(v) => v.into(),
        Cell::UnsignedList(v) => v.into(),
        Cell::Bytes(v) => v.into(),
    }
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
                .map(|s| shown(s, wanted.as_deref()))
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
                let object: Map<String, Json> = shown
                    .iter()
                    .filter_map(|(i, name)| Some((name.clone(), json(record.get(*i)?))))
                    .collect();
                let _ = writeln!(out, "{}", Json::Object(object));
            }
        });
        let _ = out.flush();
    }

    fn finish() {
        let _ = std::io::stdout().flush();
    }
}

export!(Json_);
