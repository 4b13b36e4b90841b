//! columns: a consumer for any probe. Records print as a table, one line
//! each under a header of the field names, as `ig` prints a gadget:
//!
//!     wasm-bpf run --env COLUMNS_FIELDS=pid,comm --sink columns.wasm probe.wasm
//!
//!     PID      COMM
//!     4242     sleep
//!
//! * `COLUMNS_FIELDS`: the fields to show, in order (default: every field
//!   but those annotated `columns.hidden` and a raw value `x_raw` shown
//!   formatted as `x`);
//! * `COLUMNS_GADGET_YAML`: a gadget's `gadget.yaml`, whose field
//!   annotations lay the columns out: `columns.width`,
//!   `columns.alignment` (`left`, `right`), `columns.hidden`,
//!   `columns.ellipsis` (`end`, `start`, `middle`, `none`). Other
//!   annotations are ignored.
//!
//! * `COLUMNS_TABLES=1`: each batch is a table of its own (a map
//!   iterator's entries for one interval, as `ig`'s top gadgets show
//!   them): its header, then its rows, sorted by `COLUMNS_SORT` (a field;
//!   `-field` sorts largest first) and cut at `COLUMNS_MAX_ROWS`.
//!
//! A value of several lines (a histogram a loader drew) prints below its
//! row. Without annotations, numbers are right-aligned in 8 characters and text
//! left-aligned in its array's length (at most 16); a longer value is cut,
//! an ellipsis where it was cut.

use std::cell::RefCell;
use std::io::{BufWriter, Write as _};

use wasm_bpf_guest::bindings::records::{Batch, FieldType, Schema};
use wasm_bpf_guest::consumer::Cell;
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

/// How batches print, from the environment.
#[derive(Debug, Default)]
struct Output {
    /// The columns of each schema.
    tables: Vec<Vec<Column>>,
    /// Each batch a table with its header (else one header at the start).
    per_batch: bool,
    /// With `per_batch`: the field rows are sorted by, in each schema, and
    /// whether largest first.
    sort: Vec<Option<(usize, bool)>>,
    max_rows: Option<usize>,
}

thread_local! {
    static OUTPUT: RefCell<Output> = RefCell::default();
}

/// `COLUMNS_SORT`'s field (`name` or `-name`) in each schema.
fn sort_fields(schemas: &[Schema], spec: &str) -> Result<Vec<Option<(usize, bool)>>, String> {
    let (name, descending) = match spec.strip_prefix('-') {
        Some(name) => (name, true),
        None => (spec, false),
    };
    let found: Vec<Option<(usize, bool)>> = schemas
        .iter()
        .map(|s| {
            s.fields
                .iter()
                .position(|f| f.name.eq_ignore_ascii_case(name))
                .map(|i| (i, descending))
        })
        .collect();
    if found.iter().all(Option::is_none) {
        return Err(format!("COLUMNS_SORT: no field {name} to sort by"));
    }
    Ok(found)
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
        // A raw value whose formatted field is shown (`error_raw` beside
        // `error`, `latency` beside `latency_histogram`) is hidden too, as
        // `ig` hides it.
        let named = |name: &str| schema.fields.iter().any(|f| f.name == name);
        let formatted = field.name.strip_suffix("_raw").is_some_and(named)
            || named(&format!("{}_histogram", field.name));
        if wanted.is_none() && (formatted || get("columns.hidden").as_deref() == Some("true")) {
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
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        let spec = match var("COLUMNS_GADGET_YAML") {
            Some(path) => Spec::read(&path)?.unwrap_or_default(),
            None => Spec::default(),
        };
        let wanted: Option<Vec<String>> = var("COLUMNS_FIELDS")
            .map(|list| list.split(',').map(|f| f.trim().to_string()).collect());
        let tables = schemas
            .iter()
            .map(|schema| columns(schema, &spec, wanted.as_deref()))
            .collect::<Result<Vec<_>, _>>()?;
        let output = Output {
            per_batch: var("COLUMNS_TABLES").is_some_and(|v| v != "0"),
            sort: match var("COLUMNS_SORT") {
                Some(field) => sort_fields(&schemas, &field)?,
                None => Vec::new(),
            },
            max_rows: var("COLUMNS_MAX_ROWS")
                .map(|n| {
                    n.parse()
                        .map_err(|_| format!("COLUMNS_MAX_ROWS: {n} is not a number"))
                })
                .transpose()?,
            tables,
        };
        if !output.per_batch {
            let mut out = std::io::stdout().lock();
            for table in &output.tables {
                let _ = writeln!(out, "{}", header(table));
            }
            let _ = out.flush();
        }
        OUTPUT.set(output);
        Ok(())
    }

    fn push(batch: Batch) {
        let mut out = BufWriter::new(std::io::stdout().lock());
        OUTPUT.with_borrow(|output| {
            let Some(table) = output.tables.get(batch.schema as usize) else {
                return;
            };
            let mut rows: Vec<Vec<Cell<'_>>> =
                batch.records().map(|r| r.cells().collect()).collect();
            if output.per_batch {
                if let Some(Some((field, descending))) = output.sort.get(batch.schema as usize) {
                    rows.sort_by(|a, b| {
                        let order = compare(a.get(*field), b.get(*field));
                        if *descending {
                            order.reverse()
                        } else {
                            order
                        }
                    });
                }
                rows.truncate(output.max_rows.unwrap_or(usize::MAX));
                let _ = writeln!(out, "{}", header(table));
            }
            for cells in &rows {
                // A value of several lines (a histogram) prints below its
                // row, which leaves its column blank.
                let mut below = Vec::new();
                let shown = table.iter().map(|c| {
                    let text = cells
                        .get(c.field)
                        .map(ToString::to_string)
                        .unwrap_or_default();
                    if text.contains('\n') {
                        below.push(text);
                        (String::new(), c)
                    } else {
                        (text, c)
                    }
                });
                let row = line(shown);
                let _ = writeln!(out, "{row}");
                for text in below {
                    let _ = write!(out, "{text}");
                }
            }
            if output.per_batch {
                let _ = writeln!(out);
            }
        });
        let _ = out.flush();
    }

    fn finish() {
        let _ = std::io::stdout().flush();
    }
}

fn header(table: &[Column]) -> String {
    line(table.iter().map(|c| (c.header.clone(), c)))
}

/// Numbers by value, anything else by its text.
fn compare(a: Option<&Cell<'_>>, b: Option<&Cell<'_>>) -> std::cmp::Ordering {
    match (a, b) {
        (Some(Cell::Signed(a)), Some(Cell::Signed(b))) => a.cmp(b),
        (Some(Cell::Unsigned(a)), Some(Cell::Unsigned(b))) => a.cmp(b),
        (Some(Cell::Float(a)), Some(Cell::Float(b))) => a.total_cmp(b),
        (a, b) => a.map(ToString::to_string).cmp(&b.map(ToString::to_string)),
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
