//! metrics: a consumer for any probe that turns its records into
//! Prometheus metrics, served by `wasm-bpf run --metrics ADDR`:
//!
//!     wasm-bpf run --metrics 9100 --env METRICS_BY=comm \
//!         --env METRICS_HISTOGRAM=duration_ns --sink metrics.wasm bootstrap-probe.wasm
//!
//! * `METRICS_BY`: fields to label by, comma-separated (`comm`, or
//!   `comm,exit_event`); without it, one series.
//! * `METRICS_HISTOGRAM`: an integer field whose values go into a log2
//!   histogram (buckets 1, 3, 7, ... 2^64 - 1), labelled the same way.
//! * `METRICS_PREFIX`: the metrics' names start with it (default `probe`):
//!   `probe_records_total` counts records, `probe_duration_ns` is the
//!   histogram.
//!
//! Label by fields with few values: the host keeps at most 10000 series,
//! and records that would make more are left out (said once on stderr).

use std::cell::RefCell;
use std::collections::HashMap;

use wasm_bpf_guest::bindings::records::{Batch, FieldType, Schema};
use wasm_bpf_guest::consumer::Cell;

wit_bindgen::generate!({
    path: "../../wit",
    world: "wasm-bpf:bpf/metrics-consumer",
    with: { "wasm-bpf:bpf/records@0.1.0": wasm_bpf_guest::bindings::records },
});

use exports::wasm_bpf::bpf::sink::Guest;
use wasm_bpf::bpf::metrics::{declare_counter, declare_histogram, Counter, Histogram};
use wasm_bpf::bpf::types::ErrorCode;

/// Log2 slots of a u64: slot `k` holds `[2^k, 2^(k+1))`, slot 0 also 0.
const SLOTS: usize = 64;

/// Per schema, where its fields are: the labels' (in `METRICS_BY`'s
/// order) and the histogram's.
struct Fields {
    labels: Vec<Option<usize>>,
    histogram: Option<usize>,
}

struct Exporter {
    fields: Vec<Fields>,
    records: Counter,
    histogram: Option<Histogram>,
    warned: bool,
}

/// What one batch adds to one series.
#[derive(Default)]
struct Delta {
    records: u64,
    slots: Vec<u64>,
}

thread_local! {
    static EXPORTER: RefCell<Option<Exporter>> = const { RefCell::new(None) };
}

fn slot(cell: Cell<'_>) -> Option<usize> {
    Some(cell.count()?.checked_ilog2().unwrap_or(0) as usize)
}

/// The highest value of slot `k`, which the bucket `2^(k+1) - 1` holds.
fn high(slot: usize) -> f64 {
    2f64.powi(slot as i32 + 1) - 1.0
}

/// Where `name` is in each schema; fails unless one schema has it.
fn find(schemas: &[Schema], variable: &str, name: &str) -> Result<Vec<Option<usize>>, String> {
    let found: Vec<Option<usize>> = schemas
        .iter()
        .map(|s| s.fields.iter().position(|f| f.name == name))
        .collect();
    if found.iter().all(Option::is_none) {
        let names: Vec<&str> = schemas
            .iter()
            .flat_map(|s| s.fields.iter().map(|f| f.name.as_str()))
            .collect();
        return Err(format!(
            "metrics: {variable}: the records have no field `{name}`; they have: {}",
            names.join(", ")
        ));
    }
    Ok(found)
}

fn setting(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

impl Exporter {
    fn new(schemas: &[Schema]) -> Result<Self, String> {
        let prefix = setting("METRICS_PREFIX").unwrap_or_else(|| "probe".into());
        let by: Vec<String> = setting("METRICS_BY")
            .map(|v| v.split(',').map(|f| f.trim().to_string()).collect())
            .unwrap_or_default();
        let hist = setting("METRICS_HISTOGRAM");
        let mut label_indices = Vec::new();
        for name in &by {
            label_indices.push(find(schemas, "METRICS_BY", name)?);
        }
        let hist_indices = match &hist {
            Some(name) => find(schemas, "METRICS_HISTOGRAM", name)?,
            None => vec![None; schemas.len()],
        };
        for (schema, index) in schemas.iter().zip(&hist_indices) {
            if let Some(i) = *index {
                let field = &schema.fields[i];
                if !matches!(field.ty, FieldType::Signed(_) | FieldType::Unsigned(_)) {
                    return Err(format!(
                        "metrics: METRICS_HISTOGRAM: `{}` is not an integer field",
                        field.name
                    ));
                }
            }
        }
        let fields = (0..schemas.len())
            .map(|s| Fields {
                labels: label_indices.iter().map(|found| found[s]).collect(),
                histogram: hist_indices[s],
            })
            .collect();
        let declared = |e: wasm_bpf::bpf::types::Error| format!("metrics: {}", e.message);
        let records = declare_counter(&format!("{prefix}_records"), "Records the probe sent", &by)
            .map_err(declared)?;
        let histogram = match &hist {
            Some(name) => Some(
                declare_histogram(
                    &format!("{prefix}_{name}"),
                    &format!("The records' {name} (log2 buckets)"),
                    &by,
                    &(0..SLOTS).map(high).collect::<Vec<_>>(),
                )
                .map_err(declared)?,
            ),
            None => None,
        };
        Ok(Self {
            fields,
            records,
            histogram,
            warned: false,
        })
    }

    /// Adds a batch: summed per series first, so that a batch costs one
    /// host call per series it touches, not one per record.
    fn add(&mut self, batch: &Batch) {
        let Some(fields) = self.fields.get(batch.schema as usize) else {
            return;
        };
        let mut deltas: HashMap<Vec<String>, Delta> = HashMap::new();
        for record in batch.records() {
            let labels = fields
                .labels
                .iter()
                .map(|i| {
                    i.and_then(|i| record.get(i))
                        .map(|v| v.to_string())
                        .unwrap_or_default()
                })
                .collect();
            let delta = deltas.entry(labels).or_default();
            delta.records += 1;
            if let Some(slot) = fields.histogram.and_then(|i| record.get(i)).and_then(slot) {
                delta.slots.resize(SLOTS, 0);
                delta.slots[slot] += 1;
            }
        }
        for (labels, delta) in deltas {
            let mut result = self.records.inc(&labels, delta.records);
            if let Some(histogram) = &self.histogram {
                for (slot, &count) in delta.slots.iter().enumerate().filter(|(_, &n)| n > 0) {
                    result = result.and_then(|()| histogram.observe(&labels, high(slot), count));
                }
            }
            match result {
                Err(e) if e.code == ErrorCode::LimitExceeded && !self.warned => {
                    eprintln!("metrics: some records are not counted: {}", e.message);
                    self.warned = true;
                }
                _ => {}
            }
        }
    }
}

struct MetricsSink;

impl Guest for MetricsSink {
    fn start(schemas: Vec<Schema>) -> Result<(), String> {
        let exporter = Exporter::new(&schemas)?;
        EXPORTER.set(Some(exporter));
        Ok(())
    }

    fn push(batch: Batch) {
        EXPORTER.with_borrow_mut(|exporter| {
            if let Some(exporter) = exporter {
                exporter.add(&batch);
            }
        });
    }

    fn finish() {}
}

export!(MetricsSink);
