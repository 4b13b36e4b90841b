//! {{name}}: a consumer for any probe. It prints each record on one line,
//! its kind then its fields as `name=value`, and a count at the end:
//!
//!     event pid=4242 ppid=4200 comm="sleep" filename="/usr/bin/sleep"
//!
//!     wasm-bpf run --sink {{ident}}.wasm PROBE.wasm [PROBE ARGS]
//!     wasm-bpf compose PROBE.wasm {{ident}}.wasm -o app.wasm

use std::cell::RefCell;
use std::fmt::Write as _;

use wasm_bpf_guest::bindings::records::{Batch, Schema};
use wasm_bpf_guest::consumer::{Cell, Row};

wit_bindgen::generate!({
    path: "wit",
    world: "wasm-bpf:bpf/consumer",
    // The SDK's record types, which read a batch record by record.
    with: { "wasm-bpf:bpf/records@0.1.0": wasm_bpf_guest::bindings::records },
});

use exports::wasm_bpf::bpf::sink::Guest;

#[derive(Default)]
struct State {
    schemas: Vec<Schema>,
    records: u64,
}

thread_local! {
    static STATE: RefCell<State> = RefCell::default();
}

fn line(schema: &Schema, record: &Row<'_>) -> String {
    let mut line = schema.name.clone();
    for (field, value) in schema.fields.iter().zip(record.cells()) {
        let _ = match value {
            Cell::Text(text) => write!(line, " {}={text:?}", field.name),
            _ => write!(line, " {}={value}", field.name),
        };
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

    /// Records come in batches of one schema, stored by column.
    fn push(batch: Batch) {
        STATE.with_borrow_mut(|state| {
            let Some(schema) = state.schemas.get(batch.schema as usize) else {
                return;
            };
            for record in batch.records() {
                println!("{}", line(schema, &record));
                state.records += 1;
            }
        });
    }

    fn finish() {
        STATE.with_borrow(|state| println!("{} records", state.records));
    }
}

export!(Consumer);
