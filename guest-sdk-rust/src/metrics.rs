//! The app's own Prometheus metrics, which `wasm-bpf run --metrics ADDR`
//! serves on `/metrics` next to the host's.
//!
//! ```no_run
//! use wasm_bpf_guest::metrics::Counter;
//!
//! # fn main() -> Result<(), wasm_bpf_guest::Error> {
//! let execs = Counter::new("execs", "Programs started, by command", &["comm"])?;
//! execs.inc(&["bash"], 1)?;
//! # Ok(())
//! # }
//! ```
//!
//! Label values are given in the order of the names declared. A guest has
//! at most 10000 series in all: label by a field with few values.

use crate::bindings::metrics as wit;
use crate::Result;

fn owned(values: &[&str]) -> Vec<String> {
    values.iter().map(|v| v.to_string()).collect()
}

/// A total that only grows (served as `NAME_total`).
pub struct Counter(wit::Counter);

impl Counter {
    /// Declares the counter `name` with these label names.
    pub fn new(name: &str, help: &str, labels: &[&str]) -> Result<Self> {
        Ok(Self(wit::declare_counter(name, help, &owned(labels))?))
    }

    /// Adds `by` to the series of these label values.
    pub fn inc(&self, values: &[&str], by: u64) -> Result<()> {
        Ok(self.0.inc(&owned(values), by)?)
    }

    /// Forgets the series of these label values.
    pub fn remove(&self, values: &[&str]) -> Result<()> {
        Ok(self.0.remove(&owned(values))?)
    }
}

/// A value that goes up and down.
pub struct Gauge(wit::Gauge);

impl Gauge {
    /// Declares the gauge `name` with these label names.
    pub fn new(name: &str, help: &str, labels: &[&str]) -> Result<Self> {
        Ok(Self(wit::declare_gauge(name, help, &owned(labels))?))
    }

    /// Sets the series of these label values.
    pub fn set(&self, values: &[&str], value: f64) -> Result<()> {
        Ok(self.0.set(&owned(values), value)?)
    }

    /// Moves the series of these label values by `delta`.
    pub fn add(&self, values: &[&str], delta: f64) -> Result<()> {
        Ok(self.0.add(&owned(values), delta)?)
    }

    /// Forgets the series of these label values.
    pub fn remove(&self, values: &[&str]) -> Result<()> {
        Ok(self.0.remove(&owned(values))?)
    }
}

/// A distribution over buckets (a Prometheus histogram).
pub struct Histogram(wit::Histogram);

impl Histogram {
    /// Declares the histogram `name` with these label names and bucket
    /// upper bounds (`+Inf` is added).
    pub fn new(name: &str, help: &str, labels: &[&str], bounds: &[f64]) -> Result<Self> {
        Ok(Self(wit::declare_histogram(
            name,
            help,
            &owned(labels),
            bounds,
        )?))
    }

    /// Records `count` observations of `value` in the series of these
    /// label values.
    pub fn observe(&self, values: &[&str], value: f64, count: u64) -> Result<()> {
        Ok(self.0.observe(&owned(values), value, count)?)
    }

    /// Adds a BPF log2 histogram's slots (slot `k` counts values in
    /// `[2^k, 2^(k+1))`, slot 0 also 0) to the series of these label
    /// values: one observation per slot, at its highest value, so each
    /// lands in the bucket of [`log2_bounds`].
    pub fn observe_log2(&self, values: &[&str], slots: &[u32]) -> Result<()> {
        for (slot, &count) in slots.iter().enumerate().filter(|(_, &n)| n > 0) {
            self.observe(values, log2_high(slot), count.into())?;
        }
        Ok(())
    }

    /// Forgets the series of these label values.
    pub fn remove(&self, values: &[&str]) -> Result<()> {
        Ok(self.0.remove(&owned(values))?)
    }
}

/// The highest value of log2 slot `slot`: `2^(slot+1) - 1`.
fn log2_high(slot: usize) -> f64 {
    2f64.powi(slot as i32 + 1) - 1.0
}

/// Bucket bounds matching the `slots` slots of a BPF log2 histogram:
/// 1, 3, 7, 15, ... (`2^(k+1) - 1`).
pub fn log2_bounds(slots: usize) -> Vec<f64> {
    (0..slots).map(log2_high).collect()
}
