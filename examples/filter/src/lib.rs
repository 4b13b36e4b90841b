//! filter: a stage between any probe and its consumer. It passes on the
//! records that match the expression in the `FILTER` environment
//! variable, and drops the others:
//!
//!     wasm-bpf compose probe.wasm filter.wasm json.wasm -o app.wasm
//!     wasm-bpf run app.wasm --env 'FILTER=comm == "sleep" && duration_ns > 1000000'
//!
//! The language (see `expr`): `field op literal` with `==`, `!=`, `<`,
//! `<=`, `>`, `>=`; numbers (decimal, `0x` hex, negative), "strings" for
//! text and enum fields, `true`/`false` or a bare name for booleans;
//! `&&`, `||`, `!` and parentheses. A mistake in the expression, a field
//! the records lack or a comparison their types do not allow stops the
//! probe before it loads anything, with the column of the mistake.

mod expr;

use std::cell::RefCell;

use expr::{Expr, Literal, Op};

use wasm_bpf_guest::bindings::records::{Batch, FieldType, Schema};
use wasm_bpf_guest::consumer::{Cell, Row};

wit_bindgen::generate!({
    path: "../../wit",
    world: "wasm-bpf:bpf/stage",
    with: { "wasm-bpf:bpf/records@0.1.0": wasm_bpf_guest::bindings::records },
});

use exports::wasm_bpf::bpf::sink::Guest;
use wasm_bpf::bpf::sink as next;

/// The environment variable holding the expression.
const VARIABLE: &str = "FILTER";

/// An expression resolved against one schema: fields by index.
enum Check {
    Compare {
        index: usize,
        op: Op,
        value: Literal,
    },
    /// A comparison of a field this schema lacks: never true.
    Never,
    Not(Box<Check>),
    And(Box<Check>, Box<Check>),
    Or(Box<Check>, Box<Check>),
}

thread_local! {
    /// The expression, resolved for each schema by `start`.
    static CHECKS: RefCell<Vec<Check>> = const { RefCell::new(Vec::new()) };
}

fn type_name(ty: &FieldType) -> &'static str {
    match ty {
        FieldType::Signed(_) | FieldType::Unsigned(_) => "an integer",
        FieldType::Boolean => "a boolean",
        FieldType::Text(_) => "text",
        FieldType::Enumeration(_) => "an enum",
        FieldType::Float(_) => "a float",
        FieldType::SignedList(_) | FieldType::UnsignedList(_) => "a list",
        FieldType::Bytes(_) => "bytes",
    }
}

/// Whether `op value` suits a field of type `ty`, or why not.
fn check_type(field: &str, ty: &FieldType, op: Op, value: &Literal) -> Result<(), String> {
    let equality = matches!(op, Op::Eq | Op::Ne);
    let fits = match (ty, value) {
        (FieldType::Signed(_) | FieldType::Unsigned(_) | FieldType::Float(_), Literal::Int(_)) => {
            true
        }
        (FieldType::Boolean, Literal::Bool(_)) => equality,
        (FieldType::Text(_) | FieldType::Enumeration(_), Literal::Str(_)) => equality,
        _ => false,
    };
    if fits {
        return Ok(());
    }
    let hint = match ty {
        FieldType::Signed(_) | FieldType::Unsigned(_) | FieldType::Float(_) => {
            "compare it with a number"
        }
        FieldType::Boolean => "use it alone, or with `== true` / `== false`",
        FieldType::Text(_) | FieldType::Enumeration(_) => {
            "compare it with a \"string\" using `==` or `!=`"
        }
        _ => "it cannot be compared",
    };
    Err(format!("`{field}` is {}: {hint}", type_name(ty)))
}

fn resolve(expr: &Expr, schema: &Schema) -> Result<Check, String> {
    Ok(match expr {
        Expr::Compare {
            field,
            column,
            op,
            value,
        } => match schema.fields.iter().position(|f| &f.name == field) {
            None => Check::Never,
            Some(index) => {
                check_type(field, &schema.fields[index].ty, *op, value)
                    .map_err(|e| format!("filter: {e} (column {column})"))?;
                Check::Compare {
                    index,
                    op: *op,
                    value: value.clone(),
                }
            }
        },
        Expr::Not(e) => Check::Not(Box::new(resolve(e, schema)?)),
        Expr::And(a, b) => Check::And(Box::new(resolve(a, schema)?), Box::new(resolve(b, schema)?)),
        Expr::Or(a, b) => Check::Or(Box::new(resolve(a, schema)?), Box::new(resolve(b, schema)?)),
    })
}

/// Fails for a field that no schema has, listing the fields there are.
fn known_fields(expr: &Expr, schemas: &[Schema]) -> Result<(), String> {
    match expr {
        Expr::Compare { field, column, .. } => {
            if schemas
                .iter()
                .any(|s| s.fields.iter().any(|f| &f.name == field))
            {
                return Ok(());
            }
            let names: Vec<&str> = schemas
                .iter()
                .flat_map(|s| s.fields.iter().map(|f| f.name.as_str()))
                .collect();
            Err(format!(
                "filter: the records have no field `{field}` (column {column}); they have: {}",
                names.join(", ")
            ))
        }
        Expr::Not(e) => known_fields(e, schemas),
        Expr::And(a, b) | Expr::Or(a, b) => {
            known_fields(a, schemas)?;
            known_fields(b, schemas)
        }
    }
}

fn compare(cell: Cell<'_>, op: Op, literal: &Literal) -> bool {
    use std::cmp::Ordering;
    let ordering = match (cell, literal) {
        (Cell::Signed(v), Literal::Int(n)) => i128::from(v).cmp(n),
        (Cell::Unsigned(v), Literal::Int(n)) => i128::from(v).cmp(n),
        (Cell::Float(v), Literal::Int(n)) => match v.partial_cmp(&(*n as f64)) {
            Some(o) => o,
            None => return false,
        },
        (Cell::Boolean(v), Literal::Bool(b)) => v.cmp(b),
        (Cell::Text(s) | Cell::Enumerator(s), Literal::Str(t)) => s.cmp(t.as_str()),
        _ => return false,
    };
    match op {
        Op::Eq => ordering == Ordering::Equal,
        Op::Ne => ordering != Ordering::Equal,
        Op::Lt => ordering == Ordering::Less,
        Op::Le => ordering != Ordering::Greater,
        Op::Gt => ordering == Ordering::Greater,
        Op::Ge => ordering != Ordering::Less,
    }
}

fn matches(check: &Check, record: &Row<'_>) -> bool {
    match check {
        Check::Compare { index, op, value } => {
            record.get(*index).is_some_and(|v| compare(v, *op, value))
        }
        Check::Never => false,
        Check::Not(c) => !matches(c, record),
        Check::And(a, b) => matches(a, record) && matches(b, record),
        Check::Or(a, b) => matches(a, record) || matches(b, record),
    }
}

struct Filter;

impl Guest for Filter {
    fn start(schemas: Vec<Schema>) -> Result<(), String> {
        let source = std::env::var(VARIABLE).map_err(|_| {
            format!(
                "filter: no expression; set {VARIABLE} (wasm-bpf run --env '{VARIABLE}=comm == \"sleep\"')"
            )
        })?;
        let expr = expr::parse(&source).map_err(|e| e.show(&source))?;
        known_fields(&expr, &schemas)?;
        let checks = schemas
            .iter()
            .map(|s| resolve(&expr, s))
            .collect::<Result<Vec<_>, _>>()?;
        CHECKS.set(checks);
        next::start(&schemas)
    }

    fn push(batch: Batch) {
        let keep: Vec<bool> =
            CHECKS.with_borrow(|checks| match checks.get(batch.schema as usize) {
                Some(check) => batch.records().map(|r| matches(check, &r)).collect(),
                None => Vec::new(),
            });
        if keep.iter().all(|k| *k) && keep.len() == batch.rows as usize {
            next::push(&batch);
            return;
        }
        let kept = batch.select(&keep);
        if kept.rows > 0 {
            next::push(&kept);
        }
    }

    fn finish() {
        next::finish();
    }
}

export!(Filter);
