//! {{name}}: a consumer for any probe. It prints each record on one line,
//! its kind then its fields as `name=value`, and a count at the end:
//!
//!     event pid=4242 ppid=4200 comm="sleep" filename="/usr/bin/sleep"
//!
//!     wasm-bpf run --sink {{ident}}.wasm PROBE.wasm [PROBE ARGS]
//!     wasm-bpf compose PROBE.wasm {{ident}}.wasm -o app.wasm

use std::cell::RefCell;
use std::fmt::Write as _;

wit_bindgen::generate!({
    path: "wit",
    world: "wasm-bpf:bpf/consumer",
});

use exports::wasm_bpf::bpf::sink::Guest;
use wasm_bpf::bpf::records::{Record, Schema, Value};

#[derive(Default)]
struct State {
    schemas: Vec<Schema>,
    records: u64,
}

thread_local! {
    static STATE: RefCell<State> = RefCell::default();
}

fn push_value(line: &mut String, value: &Value) {
    let _ = match value {
        Value::Signed(v) => write!(line, "{v}"),
        Value::Unsigned(v) => write!(line, "{v}"),
        Value::Boolean(v) => write!(line, "{v}"),
        Value::Text(v) => write!(line, "{v:?}"),
        Value::Enumerator(v) => write!(line, "{v}"),
        Value::Float(v) => write!(line, "{v}"),
        Value::SignedList(v) => write!(line, "{v:?}"),
        Value::UnsignedList(v) => write!(line, "{v:?}"),
        Value::Bytes(v) => write!(line, "{v:?}"),
    };
}

fn line(schema: &Schema, record: &Record) -> String {
    let mut line = schema.name.clone();
    for (field, value) in schema.fields.iter().zip(&record.values) {
        let _ = write!(line, " {}=", field.name);
        push_value(&mut line, value);
    }
    line
}

struct Consumer;

impl Guest for Consumer {
    /// The probe describes its records once; an `Err` would stop it.
    fn start(schemas: Vec<Schema>) -> Result<(), String> {
        STATE.with_borrow_mut(|state| state.schemas = schemas);
        Ok(())
    }

    fn push(records: Vec<Record>) {
        STATE.with_borrow_mut(|state| {
            for record in &records {
                if let Some(schema) = state.schemas.get(record.schema as usize) {
                    println!("{}", line(schema, record));
                }
            }
            state.records += records.len() as u64;
        });
    }

    fn finish() {
        STATE.with_borrow(|state| println!("{} records", state.records));
    }
}

export!(Consumer);
