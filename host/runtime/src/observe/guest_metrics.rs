//! The metrics a guest declares through the WIT `metrics` interface:
//! families of counters, gauges and histograms, each series named by its
//! label values, kept here and read by whoever serves them
//! ([`GuestMetrics::visit`]; `wasm-bpf-metrics` encodes them at every
//! scrape).
//!
//! A guest may be hostile, and what it declares ends up in a text format
//! that scrapers parse line by line, so every name is checked against
//! Prometheus' grammar, help texts may not break a line, and the number of
//! families and series is capped: a guest keying a counter by an unbounded
//! field (a PID, a file name) meets the cap, not the host's memory.

use std::collections::BTreeMap;
use std::sync::{Mutex, PoisonError};

use crate::bindings::types::ErrorCode;
use crate::{BpfError, BpfResult};

/// Most families a guest may declare.
pub const MAX_FAMILIES: usize = 256;
/// Most series (label-value sets) of all families together.
pub const MAX_SERIES: usize = 10_000;
/// Most bytes of label values of all series together: with the series
/// cap, what a guest's metrics can take of the host's memory and of a
/// scrape.
pub const MAX_LABEL_BYTES: usize = 4 << 20;
/// Most labels of one family.
pub const MAX_LABELS: usize = 16;
/// Most buckets of one histogram.
pub const MAX_BUCKETS: usize = 64;
/// Most bytes of a name, a help text or a label value.
pub const MAX_TEXT: usize = 1024;

/// The kind of a family.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MetricKind {
    Counter,
    Gauge,
    Histogram,
}

/// What the guest does to one series.
#[derive(Clone, Copy, Debug)]
pub enum Update {
    /// A counter grows by this much.
    Inc(u64),
    /// A gauge is set to this.
    Set(f64),
    /// A gauge moves by this much.
    Add(f64),
    /// A histogram observes `value`, `count` times.
    Observe { value: f64, count: u64 },
    /// The series goes (until next updated).
    Remove,
}

/// A declared family, as a guest's handle names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FamilyId(usize);

/// A declared family and its series, as [`GuestMetrics::visit`] shows it.
#[derive(Debug)]
pub struct Family {
    /// The name, without a counter's `_total`.
    pub name: String,
    /// One line of text, checked to be one.
    pub help: String,
    pub kind: MetricKind,
    /// The label names, checked against Prometheus' grammar.
    pub labels: Vec<String>,
    /// A histogram's upper bounds, increasing, without `+Inf`.
    pub bounds: Vec<f64>,
    /// Each series' value by its label values (one per label name).
    pub series: BTreeMap<Vec<String>, Value>,
}

/// A series' value.
#[derive(Clone, Debug)]
pub enum Value {
    Counter(u64),
    Gauge(f64),
    Histogram {
        sum: f64,
        count: u64,
        /// Per bucket (not cumulative), the last one `+Inf`'s.
        buckets: Vec<u64>,
    },
}

#[derive(Debug, Default)]
struct Inner {
    families: Vec<Family>,
    series: usize,
    /// Bytes of label values of all series.
    label_bytes: usize,
}

/// A guest's metrics.
#[derive(Debug, Default)]
pub struct GuestMetrics {
    inner: Mutex<Inner>,
}

fn invalid(message: String) -> BpfError {
    BpfError::with_errno(ErrorCode::InvalidArgument, libc::EINVAL, message)
}

fn limit(message: String) -> BpfError {
    BpfError::with_errno(ErrorCode::LimitExceeded, libc::ENOSPC, message)
}

/// Whether `name` fits Prometheus' grammar: `[a-zA-Z_:][a-zA-Z0-9_:]*`
/// for a metric (`colons`), `[a-zA-Z_][a-zA-Z0-9_]*` for a label.
fn well_formed(name: &str, colons: bool) -> bool {
    let allowed = |c: char| c.is_ascii_alphabetic() || c == '_' || (colons && c == ':');
    let mut chars = name.chars();
    chars.next().is_some_and(allowed)
        && chars.all(|c| allowed(c) || c.is_ascii_digit())
        && name.len() <= MAX_TEXT
}

fn check_name(name: &str) -> BpfResult<()> {
    if !well_formed(name, true) {
        return Err(invalid(format!(
            "metric name `{name}` is not a Prometheus name ([a-zA-Z_:][a-zA-Z0-9_:]*, at \
             most {MAX_TEXT} bytes)"
        )));
    }
    if name.starts_with("wasm_bpf_") {
        return Err(invalid(format!(
            "metric name `{name}`: the prefix `wasm_bpf_` is the host's own"
        )));
    }
    Ok(())
}

fn check_help(help: &str) -> BpfResult<()> {
    // The text format ends a help text at a line break; an escape would
    // be read as one by some scrapers and not by others.
    if help.len() > MAX_TEXT || help.chars().any(|c| c.is_control() || c == '\\') {
        return Err(invalid(format!(
            "a metric's help text is one line of at most {MAX_TEXT} bytes, without control \
             characters or backslashes: {help:?}"
        )));
    }
    Ok(())
}

fn check_labels(kind: MetricKind, labels: &[String]) -> BpfResult<()> {
    if labels.len() > MAX_LABELS {
        return Err(limit(format!(
            "a metric has at most {MAX_LABELS} labels, not {}",
            labels.len()
        )));
    }
    for (i, label) in labels.iter().enumerate() {
        if !well_formed(label, false) || label.starts_with("__") {
            return Err(invalid(format!(
                "label name `{label}` is not a Prometheus label name ([a-zA-Z_][a-zA-Z0-9_]*, \
                 not starting with `__`)"
            )));
        }
        if kind == MetricKind::Histogram && label == "le" {
            return Err(invalid(
                "label name `le` is a histogram's own (its buckets)".to_string(),
            ));
        }
        if labels[..i].contains(label) {
            return Err(invalid(format!("label name `{label}` is given twice")));
        }
    }
    Ok(())
}

fn check_bounds(bounds: &[f64]) -> BpfResult<()> {
    if bounds.len() > MAX_BUCKETS {
        return Err(limit(format!(
            "a histogram has at most {MAX_BUCKETS} buckets, not {}",
            bounds.len()
        )));
    }
    let increasing = bounds.windows(2).all(|w| w[0] < w[1]);
    if !increasing || bounds.iter().any(|b| !b.is_finite()) {
        return Err(invalid(format!(
            "a histogram's bucket bounds are finite and strictly increasing (`+Inf` is \
             added): {bounds:?}"
        )));
    }
    Ok(())
}

impl Family {
    fn new_value(&self) -> Value {
        match self.kind {
            MetricKind::Counter => Value::Counter(0),
            MetricKind::Gauge => Value::Gauge(0.0),
            MetricKind::Histogram => Value::Histogram {
                sum: 0.0,
                count: 0,
                buckets: vec![0; self.bounds.len() + 1],
            },
        }
    }

    fn check_values(&self, values: &[String]) -> BpfResult<()> {
        if values.len() != self.labels.len() {
            return Err(invalid(format!(
                "metric `{}` has {} labels ({}), not {}",
                self.name,
                self.labels.len(),
                self.labels.join(", "),
                values.len()
            )));
        }
        if let Some(long) = values.iter().find(|v| v.len() > MAX_TEXT) {
            return Err(invalid(format!(
                "a label value of metric `{}` has {} bytes, more than {MAX_TEXT}",
                self.name,
                long.len()
            )));
        }
        Ok(())
    }

    fn apply(&self, value: &mut Value, update: Update) -> BpfResult<()> {
        match (value, update) {
            (Value::Counter(total), Update::Inc(by)) => *total = total.saturating_add(by),
            (Value::Gauge(gauge), Update::Set(to)) => *gauge = to,
            (Value::Gauge(gauge), Update::Add(by)) => *gauge += by,
            (
                Value::Histogram {
                    sum,
                    count,
                    buckets,
                },
                Update::Observe { value, count: n },
            ) => {
                if value.is_nan() {
                    return Err(invalid(format!(
                        "histogram `{}` cannot observe NaN",
                        self.name
                    )));
                }
                let bucket = self
                    .bounds
                    .iter()
                    .position(|bound| value <= *bound)
                    .unwrap_or(self.bounds.len());
                buckets[bucket] = buckets[bucket].saturating_add(n);
                *count = count.saturating_add(n);
                *sum += value * n as f64;
            }
            _ => {
                return Err(invalid(format!(
                    "metric `{}` is a {:?}, which does not take {update:?}",
                    self.name, self.kind
                )))
            }
        }
        Ok(())
    }
}

impl GuestMetrics {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Declares a family, or finds the one declared the same way before.
    /// A counter's `_total` suffix is the format's: it is added on output.
    pub fn declare(
        &self,
        kind: MetricKind,
        name: &str,
        help: &str,
        labels: Vec<String>,
        bounds: Vec<f64>,
    ) -> BpfResult<FamilyId> {
        let name = match kind {
            MetricKind::Counter => name.strip_suffix("_total").unwrap_or(name),
            MetricKind::Gauge | MetricKind::Histogram => name,
        };
        check_name(name)?;
        check_help(help)?;
        check_labels(kind, &labels)?;
        check_bounds(&bounds)?;
        let mut inner = self.lock();
        if let Some(at) = inner.families.iter().position(|f| f.name == name) {
            let family = &inner.families[at];
            if family.kind != kind || family.labels != labels || family.bounds != bounds {
                return Err(BpfError::with_errno(
                    ErrorCode::AlreadyExists,
                    libc::EEXIST,
                    format!(
                        "metric `{name}` is already declared, as a {:?} with labels [{}]",
                        family.kind,
                        family.labels.join(", ")
                    ),
                ));
            }
            return Ok(FamilyId(at));
        }
        if inner.families.len() >= MAX_FAMILIES {
            return Err(limit(format!(
                "a guest declares at most {MAX_FAMILIES} metrics"
            )));
        }
        inner.families.push(Family {
            name: name.to_string(),
            help: help.to_string(),
            kind,
            labels,
            bounds,
            series: BTreeMap::new(),
        });
        Ok(FamilyId(inner.families.len() - 1))
    }

    /// Updates the series of `family` that `values` name, making it on its
    /// first update.
    pub fn update(&self, family: FamilyId, values: Vec<String>, update: Update) -> BpfResult<()> {
        let mut inner = self.lock();
        let Inner {
            families,
            series,
            label_bytes,
        } = &mut *inner;
        let family = families
            .get_mut(family.0)
            .ok_or_else(|| invalid("no such metric".to_string()))?;
        family.check_values(&values)?;
        let bytes: usize = values.iter().map(String::len).sum();
        if let Update::Remove = update {
            if family.series.remove(&values).is_some() {
                *series -= 1;
                *label_bytes -= bytes;
            }
            return Ok(());
        }
        let mut value = match family.series.get(&values) {
            Some(value) => value.clone(),
            None if *series >= MAX_SERIES => {
                return Err(limit(format!(
                    "a guest's metrics have at most {MAX_SERIES} series (label-value sets) in \
                     all; remove some, or label by a field with fewer values than `{}` has",
                    family.name
                )))
            }
            None if *label_bytes + bytes > MAX_LABEL_BYTES => {
                return Err(limit(format!(
                    "a guest's metrics have at most {MAX_LABEL_BYTES} bytes of label values in \
                     all; remove some series, or label `{}` by shorter values",
                    family.name
                )))
            }
            None => family.new_value(),
        };
        family.apply(&mut value, update)?;
        if family.series.insert(values, value).is_none() {
            *series += 1;
            *label_bytes += bytes;
        }
        Ok(())
    }
}

impl GuestMetrics {
    /// Calls `f` with each family in the order declared, the metrics
    /// locked meanwhile (the guest's updates wait).
    pub fn visit<E>(&self, mut f: impl FnMut(&Family) -> Result<(), E>) -> Result<(), E> {
        self.lock().families.iter().try_for_each(&mut f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(s: &[&str]) -> Vec<String> {
        s.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn what_would_break_the_format_or_the_host_is_refused() {
        let m = GuestMetrics::default();
        let refused = |r: BpfResult<FamilyId>| r.unwrap_err().guest().unwrap().code;
        let declare = |name: &str, help: &str, labels: &[&str]| {
            m.declare(MetricKind::Gauge, name, help, strings(labels), vec![])
        };
        assert_eq!(refused(declare("x y", "", &[])), ErrorCode::InvalidArgument);
        assert_eq!(
            refused(declare("wasm_bpf_maps", "", &[])),
            ErrorCode::InvalidArgument
        );
        assert_eq!(
            refused(declare("ok", "two\n# TYPE lines", &[])),
            ErrorCode::InvalidArgument
        );
        assert_eq!(
            refused(declare("ok", "", &["__name__"])),
            ErrorCode::InvalidArgument
        );
        assert_eq!(
            refused(declare("ok", "", &["a", "a"])),
            ErrorCode::InvalidArgument
        );
        let bad_bounds = m.declare(MetricKind::Histogram, "h", "", vec![], vec![2.0, 1.0]);
        assert_eq!(refused(bad_bounds), ErrorCode::InvalidArgument);
        let le = m.declare(MetricKind::Histogram, "h", "", strings(&["le"]), vec![]);
        assert_eq!(refused(le), ErrorCode::InvalidArgument);

        let g = declare("g", "", &["k"]).unwrap();
        assert_eq!(declare("g", "", &["k"]).unwrap(), g);
        assert_eq!(refused(declare("g", "", &[])), ErrorCode::AlreadyExists);
        let wrong = m
            .update(g, strings(&["a", "b"]), Update::Set(1.0))
            .unwrap_err();
        assert_eq!(wrong.guest().unwrap().code, ErrorCode::InvalidArgument);
        let kind = m.update(g, strings(&["a"]), Update::Inc(1)).unwrap_err();
        assert_eq!(kind.guest().unwrap().code, ErrorCode::InvalidArgument);
        for i in 0..MAX_SERIES {
            m.update(g, vec![i.to_string()], Update::Set(1.0)).unwrap();
        }
        let full = m
            .update(g, strings(&["one more"]), Update::Set(1.0))
            .unwrap_err();
        assert_eq!(full.guest().unwrap().code, ErrorCode::LimitExceeded);
        m.update(g, strings(&["0"]), Update::Remove).unwrap();
        m.update(g, strings(&["one more"]), Update::Set(1.0))
            .unwrap();
    }

    #[test]
    fn label_values_are_capped_in_bytes_too() {
        let m = GuestMetrics::default();
        let c = m
            .declare(
                MetricKind::Counter,
                "c",
                "",
                strings(&["a", "b", "c", "d"]),
                vec![],
            )
            .unwrap();
        let long = "x".repeat(MAX_TEXT);
        let fit = MAX_LABEL_BYTES / (4 * MAX_TEXT);
        for i in 0..fit {
            let first = format!("{i:0>width$}", width = MAX_TEXT);
            let values = vec![first, long.clone(), long.clone(), long.clone()];
            m.update(c, values, Update::Inc(1)).unwrap();
        }
        let values = vec![long.clone(), long.clone(), long.clone(), long];
        let full = m.update(c, values, Update::Inc(1)).unwrap_err();
        assert_eq!(full.guest().unwrap().code, ErrorCode::LimitExceeded);
        assert!(
            format!("{full:?}").contains("bytes of label values"),
            "{full:?}"
        );
    }
}
