//! json: a consumer for any probe. Each record becomes one line of JSON on
//! stdout (NDJSON), an object whose keys are the record's field names as
//! the schema gives them (`pid`, `exit_code`, `in.a`):
//!
//!     {"pid":4242,"ppid":4200,"exit_code":0,"duration_ns":0,"comm":"sleep",...}
//!
//! Integers are JSON numbers (exact: a u64 is not rounded through a
//! float), text and enum values strings, lists and bytes arrays of
//! numbers, a float that is not finite `null`.

use std::cell::RefCell;
use std::io::Write as _;

use serde_json::{Map, Value as Json};

wit_bindgen::generate!({
    path: "../../wit",
    world: "wasm-bpf:bpf/consumer",
});

use exports::wasm_bpf::bpf::sink::Guest;
use wasm_bpf::bpf::records::{Record, Schema, Value};

thread_local! {
    /// The field names of each schema, set by `start`.
    static NAMES: RefCell<Vec<Vec<String>>> = const { RefCell::new(Vec::new()) };
}

fn json(value: Value) -> Json {
    match value {
        Value::Signed(v) => v.into(),
        Value::Unsigned(v) => v.into(),
        Value::Boolean(v) => v.into(),
        Value::Text(v) | Value::Enumerator(v) => v.into(),
        Value::Float(v) => serde_json::Number::from_f64(v).map_or(Json::Null, Json::Number),
        Value::SignedList(v) => v.into(),
        Value::UnsignedList(v) => v.into(),
        Value::Bytes(v) => v.into(),
    }
}

struct Json_;

impl Guest for Json_ {
    fn start(schemas: Vec<Schema>) -> Result<(), String> {
        NAMES.set(
            schemas
                .into_iter()
                .map(|s| s.fields.into_iter().map(|f| f.name).collect())
                .collect(),
        );
        Ok(())
    }

    fn push(records: Vec<Record>) {
        let mut out = std::io::stdout().lock();
        NAMES.with_borrow(|names| {
            for record in records {
                let Some(names) = names.get(record.schema as usize) else {
                    continue;
                };
                let object: Map<String, Json> = names
                    .iter()
                    .cloned()
                    .zip(record.values.into_iter().map(json))
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
