//! stats: a consumer for any probe. It counts records by the value of one
//! field and keeps a log2 histogram of another, and prints both every
//! interval and when the probe finishes:
//!
//!     wasm-bpf run --env STATS_KEY=comm --env STATS_HIST=duration_ns \
//!         --env STATS_INTERVAL=5 --sink stats.wasm bootstrap-probe.wasm
//!
//! * `STATS_KEY`: the field to count by (any field; lists print as lists);
//! * `STATS_HIST`: an integer field for the histogram, printed like
//!   bcc's and libbpf-tools' `print_log2_hist`;
//! * `STATS_INTERVAL`: seconds between prints; the print happens with the
//!   first batch after each interval. Without it, only at the end.
//!
//! One of `STATS_KEY` and `STATS_HIST` is needed. The counts are totals
//! since the start.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use wasm_bpf_guest::bindings::records::{Batch, FieldType, Schema};
use wasm_bpf_guest::consumer::Cell;

wit_bindgen::generate!({
    path: "../../wit",
    world: "wasm-bpf:bpf/consumer",
    with: { "wasm-bpf:bpf/records@0.1.0": wasm_bpf_guest::bindings::records },
});

use exports::wasm_bpf::bpf::sink::Guest;

#[derive(Default)]
struct Stats {
    /// Per schema: the index of the key field and of the histogram field.
    fields: Vec<(Option<usize>, Option<usize>)>,
    key_name: Option<String>,
    hist_name: Option<String>,
    interval: Option<Duration>,
    last: Option<Instant>,
    counts: BTreeMap<String, u64>,
    /// Bucket `i` counts values in `[2^i, 2^(i+1))`, bucket 0 also 0.
    hist: Vec<u64>,
}

thread_local! {
    static STATS: RefCell<Stats> = RefCell::default();
}

/// The log2 slot of an integer value.
fn bucket(cell: Cell<'_>) -> Option<usize> {
    let v = cell.count()?;
    Some(if v == 0 { 0 } else { v.ilog2() as usize })
}

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
            "stats: {variable}: the records have no field `{name}`; they have: {}",
            names.join(", ")
        ));
    }
    Ok(found)
}

impl Stats {
    fn print(&self) {
        if let Some(key) = &self.key_name {
            let width = self
                .counts
                .keys()
                .map(|k| k.chars().count())
                .max()
                .unwrap_or(0)
                .max(24);
            println!("{:<width$} {:>10}", key.to_uppercase(), "COUNT");
            let mut rows: Vec<(&String, &u64)> = self.counts.iter().collect();
            rows.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
            for (value, count) in rows {
                println!("{value:<width$} {count:>10}");
            }
        }
        if let Some(name) = &self.hist_name {
            let Some(top) = self.hist.iter().rposition(|c| *c != 0) else {
                println!("{name}: no values");
                return;
            };
            let max = self.hist.iter().copied().max().unwrap_or(1).max(1);
            println!("{:>24}{:<16} : count    distribution", name, "");
            for (i, count) in self.hist.iter().enumerate().take(top + 1) {
                let (low, high) = match i {
                    0 => (0, 1),
                    _ => (1u128 << i, (1u128 << (i + 1)) - 1),
                };
                let stars = (count * 40).div_ceil(max) as usize;
                println!(
                    "{low:>20} -> {high:<20}: {count:<8} |{:<40}|",
                    "*".repeat(stars)
                );
            }
        }
    }
}

struct StatsSink;

impl Guest for StatsSink {
    fn start(schemas: Vec<Schema>) -> Result<(), String> {
        let key = std::env::var("STATS_KEY").ok();
        let hist = std::env::var("STATS_HIST").ok();
        if key.is_none() && hist.is_none() {
            return Err(
                "stats: nothing to count; set STATS_KEY (a field to count by) and/or STATS_HIST \
                 (an integer field for a log2 histogram)"
                    .into(),
            );
        }
        let keys = match &key {
            Some(name) => find(&schemas, "STATS_KEY", name)?,
            None => vec![None; schemas.len()],
        };
        let hists = match &hist {
            Some(name) => find(&schemas, "STATS_HIST", name)?,
            None => vec![None; schemas.len()],
        };
        for (schema, index) in schemas.iter().zip(&hists) {
            if let Some(i) = index {
                let ty = &schema.fields[*i].ty;
                if !matches!(ty, FieldType::Signed(_) | FieldType::Unsigned(_)) {
                    return Err(format!(
                        "stats: STATS_HIST: `{}` is not an integer field",
                        schema.fields[*i].name
                    ));
                }
            }
        }
        let interval = match std::env::var("STATS_INTERVAL") {
            Ok(text) => match text.parse::<f64>() {
                Ok(secs) if secs > 0.0 && secs.is_finite() => Some(Duration::from_secs_f64(secs)),
                _ => {
                    return Err(format!(
                        "stats: STATS_INTERVAL: `{text}` is not a positive number of seconds"
                    ))
                }
            },
            Err(_) => None,
        };
        STATS.set(Stats {
            fields: keys.into_iter().zip(hists).collect(),
            key_name: key,
            hist_name: hist,
            interval,
            last: Some(Instant::now()),
            hist: vec![0; 64],
            ..Stats::default()
        });
        Ok(())
    }

    fn push(batch: Batch) {
        STATS.with_borrow_mut(|stats| {
            let Some(&(key, hist)) = stats.fields.get(batch.schema as usize) else {
                return;
            };
            for record in batch.records() {
                if let Some(v) = key.and_then(|i| record.get(i)) {
                    *stats.counts.entry(v.to_string()).or_default() += 1;
                }
                if let Some(b) = hist.and_then(|i| record.get(i)).and_then(bucket) {
                    if let Some(slot) = stats.hist.get_mut(b) {
                        *slot += 1;
                    }
                }
            }
            if let (Some(interval), Some(last)) = (stats.interval, stats.last) {
                if last.elapsed() >= interval {
                    stats.print();
                    println!();
                    stats.last = Some(Instant::now());
                }
            }
        });
    }

    fn finish() {
        STATS.with_borrow(Stats::print);
    }
}

export!(StatsSink);
