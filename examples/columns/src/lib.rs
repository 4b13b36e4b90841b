//! columns: a consumer for any probe. Records print as a table, one line
//! each under a header of the field names, as `ig` prints a gadget:
//!
//!     wasm-bpf run --env COLUMNS_FIELDS=pid,comm --sink columns.wasm probe.wasm
//!
//!     PID      COMM
//!     4242     sleep
//!
//! * `COLUMNS_FIELDS`: the fields to show, in order (default: every field
//!   not annotated `columns.hidden`);
//! * `COLUMNS_GADGET_YAML`: a gadget's `gadget.yaml`, whose field
//!   annotations lay the columns out: `columns.width`,
//!   `columns.alignment` (`left`, `right`), `columns.hidden`,
//!   `columns.ellipsis` (`end`, `start`, `middle`, `none`). Other
//!   annotations are ignored.
//!
//! Without annotations, numbers are right-aligned in 8 characters and text
//! left-aligned in its array's length (at most 16); a longer value is cut,
//! an ellipsis where it was cut.

use std::cell::RefCell;
use std::io::{BufWriter, Write as _};

use wasm_bpf_guest::bindings::records::{Batch, FieldType, Schema};
use wasm_bpf_guest::gadget::Spec;

wit_bindgen::generate!({
    path: "../../wit",
    world: "wasm-bpf:bpf/consumer",
    with: { "wasm-bpf:bpf/records@0.1.0": wasm_bpf_guest::bindings::records },
});

use exports::wasm_bpf::bpf::sink::Guest;

#[derive(Debug, Clone, Copy, PartialEq)]
enum Ellipsis {
    End,
    Start,
    Middle,
    None,
}

/// How one shown field prints.
#[derive(Debug, Clone)]
struct Column {
    /// Its index in the schema's fields.
    field: usize,
    header: String,
    width: usize,
    right: bool,
    ellipsis: Ellipsis,
}

thread_local! {
    /// The columns of each schema, set by `start`.
    static TABLES: RefCell<Vec<Vec<Column>>> = const { RefCell::new(Vec::new()) };
}

/// The width and alignment a field of type `ty` has without annotations.
fn default_layout(ty: &FieldType) -> (usize, bool) {
    match ty {
        FieldType::Signed(_) | FieldType::Unsigned(_) | FieldType::Float(_) => (8, true),
        FieldType::Text(n) => ((*n as usize).clamp(1, 16), false),
        FieldType::Boolean => (5, false),
        _ => (16, false),
    }
}

fn columns(schema: &Schema, spec: &Spec, wanted: Option<&[String]>) -> Result<Vec<Column>, String> {
    let mut shown = Vec::new();
    let names: Vec<usize> = match wanted {
        Some(wanted) => wanted
            .iter()
            .map(|name| {
                schema
                    .fields
                    .iter()
                    .position(|f| f.name.eq_ignore_ascii_case(name))
                    .ok_or_else(|| {
                        let all: Vec<&str> =
                            schema.fields.iter().map(|f| f.name.as_str()).collect();
                        format!(
                            "COLUMNS_FIELDS: {} has no field {name} (its fields: {})",
                            schema.name,
                            all.join(", ")
                        )
                    })
            })
            .collect::<Result<_, _>>()?,
        None => (0..schema.fields.len()).collect(),
    };
    for i in names {
        let field = &schema.fields[i];
        let annotations = spec.annotations(&schema.name, &field.name);
        let get = |key: &str| {
            annotations
                .and_then(|a| a.get(key))
                .map(ToString::to_string)
        };
        if wanted.is_none() && get("columns.hidden").as_deref() == Some("true") {
            continue;
        }
        let (width, right) = default_layout(&field.ty);
        let header = field.name.to_uppercase();
        shown.push(Column {
            field: i,
            width: get("columns.width")
                .and_then(|w| w.parse().ok())
                .unwrap_or(width)
                .max(1),
            right: get("columns.alignment").map_or(right, |a| a == "right"),
            ellipsis: match get("columns.ellipsis").as_deref() {
                Some("start") => Ellipsis::Start,
                Some("middle") => Ellipsis::Middle,
                Some("none") => Ellipsis::None,
                _ => Ellipsis::End,
            },
            header,
        });
    }
    Ok(shown)
}

/// `text` in `width` characters: cut where the column says, padded on the
/// side its alignment leaves free.
fn fit(text: &str, column: &Column) -> String {
    let chars: Vec<char> = text.chars().collect();
    let width = column.width;
    let cut: String = if chars.len() <= width {
        text.to_string()
    } else {
        match column.ellipsis {
            Ellipsis::None => chars[..width].iter().collect(),
            Ellipsis::End => chars[..width - 1].iter().chain(['…'].iter()).collect(),
            Ellipsis::Start => ['…']
                .iter()
                .chain(chars[chars.len() - (width - 1)..].iter())
                .collect(),
            Ellipsis::Middle => {
                let head = (width - 1) / 2;
                let tail = width - 1 - head;
                chars[..head]
                    .iter()
                    .chain(['…'].iter())
                    .chain(chars[chars.len() - tail..].iter())
                    .collect()
            }
        }
    };
    if column.right {
        format!("{cut:>width$}")
    } else {
        format!("{cut:<width$}")
    }
}

fn line<'a>(cells: impl Iterator<Item = (String, &'a Column)>) -> String {
    let line: Vec<String> = cells.map(|(text, column)| fit(&text, column)).collect();
    line.join(" ").trim_end().to_string()
}

struct Columns;

impl Guest for Columns {
    fn start(schemas: Vec<Schema>) -> Result<(), String> {
        let spec = match std::env::var("COLUMNS_GADGET_YAML") {
            Ok(path) => Spec::read(&path)?.unwrap_or_default(),
            Err(_) => Spec::default(),
        };
        let wanted: Option<Vec<String>> = std::env::var("COLUMNS_FIELDS")
            .ok()
            .map(|list| list.split(',').map(|f| f.trim().to_string()).collect());
        let tables = schemas
            .iter()
            .map(|schema| columns(schema, &spec, wanted.as_deref()))
            .collect::<Result<Vec<_>, _>>()?;
        let mut out = std::io::stdout().lock();
        for table in &tables {
            let headers = table.iter().map(|c| (c.header.clone(), c));
            let _ = writeln!(out, "{}", line(headers));
        }
        let _ = out.flush();
        TABLES.set(tables);
        Ok(())
    }

    fn push(batch: Batch) {
        let mut out = BufWriter::new(std::io::stdout().lock());
        TABLES.with_borrow(|tables| {
            let Some(table) = tables.get(batch.schema as usize) else {
                return;
            };
            for record in batch.records() {
                let cells: Vec<String> = record.cells().map(|c| c.to_string()).collect();
                let shown = table
                    .iter()
                    .map(|c| (cells.get(c.field).cloned().unwrap_or_default(), c));
                let _ = writeln!(out, "{}", line(shown));
            }
        });
        let _ = out.flush();
    }

    fn finish() {
        let _ = std::io::stdout().flush();
    }
}

export!(Columns);

#[cfg(test)]
mod tests {
    use super::*;

    fn column(width: usize, right: bool, ellipsis: Ellipsis) -> Column {
        Column {
            field: 0,
            header: String::new(),
            width,
            right,
            ellipsis,
        }
    }

    #[test]
    fn values_fit_their_columns() {
        assert_eq!(fit("42", &column(5, true, Ellipsis::End)), "   42");
        assert_eq!(fit("sleep", &column(7, false, Ellipsis::End)), "sleep  ");
        assert_eq!(fit("abcdefgh", &column(5, false, Ellipsis::End)), "abcd…");
        assert_eq!(fit("abcdefgh", &column(5, false, Ellipsis::Start)), "…efgh");
        assert_eq!(
            fit("abcdefgh", &column(5, false, Ellipsis::Middle)),
            "ab…gh"
        );
        assert_eq!(fit("abcdefgh", &column(5, false, Ellipsis::None)), "abcde");
    }
}
