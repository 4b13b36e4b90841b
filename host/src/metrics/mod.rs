//! What a run tells Prometheus (`wasm-bpf run --metrics ADDR`): the host's
//! own figures for the app, what the kernel holds for it, and the metrics
//! the guest declares through the WIT `metrics` interface.
//!
//! One [`Metrics`] per run, shared by the guest's thread, which counts,
//! and the server's, which encodes on every scrape. Counting is a relaxed
//! atomic add, so a run pays for it whether or not anyone scrapes.

pub mod guest;
mod kernel;
pub mod server;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::{Registry, Unit};

pub use guest::GuestMetrics;

/// Most buffer label sets (map names and kinds) counted apart; past it,
/// new ones count under `map="other"`, as a guest that keeps loading
/// objects with new map names would otherwise grow the host for ever.
const MAX_BUFFER_SERIES: usize = 256;
pub use kernel::ProgramStats;

/// The labels of a buffer's counters: the map it reads and its kind.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct BufferLabels {
    /// The ring buffer's or perf event array's name.
    pub map: String,
    /// `ring` or `perf`.
    pub kind: &'static str,
}

/// The label of the host-call error counter: the WIT error code.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ErrorLabels {
    code: &'static str,
}

/// A run's metrics.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    buffer_records: Family<BufferLabels, Counter>,
    buffer_lost: Family<BufferLabels, Counter>,
    buffer_series: AtomicUsize,
    host_call_errors: Family<ErrorLabels, Counter>,
    guest_memory: Gauge,
    health: Arc<Health>,
    guest: Arc<GuestMetrics>,
    kernel: Arc<kernel::KernelObjects>,
}

/// Whether the app is up: see [`Metrics::ready`].
#[derive(Debug, Default)]
struct Health {
    links: AtomicUsize,
    waited: AtomicBool,
}

impl Metrics {
    /// Metrics for one run; with `program_stats`, the kernel's run count
    /// and run time of each of the app's programs too.
    pub fn new(program_stats: Option<ProgramStats>) -> Self {
        let mut registry = Registry::default();
        let guest = Arc::new(GuestMetrics::default());
        registry.register_collector(Box::new(Arc::clone(&guest)));
        let kernel = Arc::new(kernel::KernelObjects::new(program_stats));
        let health = Arc::new(Health::default());
        let host = registry.sub_registry_with_prefix("wasm_bpf");
        host.register_collector(Box::new(Arc::clone(&kernel)));
        host.register_collector(Box::new(Arc::clone(&health)));
        let buffer_records = Family::<BufferLabels, Counter>::default();
        host.register(
            "buffer_records",
            "Records handed to the app from each ring or perf buffer",
            buffer_records.clone(),
        );
        let buffer_lost = Family::<BufferLabels, Counter>::default();
        host.register(
            "buffer_lost_records",
            "Records the kernel dropped because a perf buffer was full (a full ring \
             buffer fails the BPF program's reserve instead, which only it can count)",
            buffer_lost.clone(),
        );
        let host_call_errors = Family::<ErrorLabels, Counter>::default();
        host.register(
            "host_call_errors",
            "BPF calls of the app that failed, by error code",
            host_call_errors.clone(),
        );
        let guest_memory = Gauge::default();
        host.register_with_unit(
            "guest_memory",
            "Linear memory and tables the app's instances have grown to",
            Unit::Bytes,
            guest_memory.clone(),
        );
        Self {
            registry,
            buffer_records,
            buffer_lost,
            buffer_series: AtomicUsize::new(0),
            host_call_errors,
            guest_memory,
            health,
            guest,
            kernel,
        }
    }

    /// The counters of records received and lost for a buffer on `labels`.
    pub fn buffer(&self, labels: &BufferLabels) -> (Counter, Counter) {
        let new = self.buffer_records.get(labels).is_none();
        let other = BufferLabels {
            map: "other".into(),
            kind: labels.kind,
        };
        let full = new && self.buffer_series.fetch_add(1, Ordering::Relaxed) >= MAX_BUFFER_SERIES;
        let labels = if full { &other } else { labels };
        (
            self.buffer_records.get_or_create_owned(labels),
            self.buffer_lost.get_or_create_owned(labels),
        )
    }

    /// Counts a failed host call.
    pub fn host_call_error(&self, code: &'static str) {
        self.host_call_errors
            .get_or_create(&ErrorLabels { code })
            .inc();
    }

    /// The gauge of the guest's memory, which its memory cap sets.
    pub fn guest_memory(&self) -> Gauge {
        self.guest_memory.clone()
    }

    /// The metrics the guest declares.
    pub fn guest(&self) -> &Arc<GuestMetrics> {
        &self.guest
    }

    /// Notes the name of the program the guest loaded as `fd`, to name its
    /// statistics.
    pub fn program_loaded(&self, fd: std::os::fd::BorrowedFd<'_>, name: &str) {
        self.kernel.program_loaded(fd, name);
    }

    /// Notes how many links the guest holds.
    pub fn links_held(&self, links: usize) {
        self.health.links.store(links, Ordering::Relaxed);
    }

    /// Notes that the guest waits for events (a buffer's poll, the
    /// lifecycle's pollable, which the SDKs' sleeps use).
    pub fn guest_waits(&self) {
        self.health.waited.store(true, Ordering::Relaxed);
    }

    /// Whether the app is up: it holds at least one link and has begun to
    /// wait for events. A tool attaches its programs before its first
    /// wait, so this is the point where everything is attached.
    pub fn ready(&self) -> bool {
        self.health.ready()
    }

    /// Everything, as OpenMetrics text (what Prometheus asks for), or in
    /// Prometheus' older 0.0.4 text format (what other scrapers expect).
    pub fn encode(&self, openmetrics: bool) -> Result<String, std::fmt::Error> {
        let mut text = String::new();
        if openmetrics {
            prometheus_client::encoding::text::encode(&mut text, &self.registry)?;
        } else {
            prometheus_client::encoding::prometheus_text::encode(&mut text, &self.registry)?;
        }
        Ok(text)
    }
}

impl Health {
    fn ready(&self) -> bool {
        self.links.load(Ordering::Relaxed) > 0 && self.waited.load(Ordering::Relaxed)
    }
}

impl prometheus_client::collector::Collector for Health {
    fn encode(
        &self,
        mut encoder: prometheus_client::encoding::DescriptorEncoder,
    ) -> Result<(), std::fmt::Error> {
        use prometheus_client::encoding::EncodeMetric as _;
        let ready = prometheus_client::metrics::gauge::ConstGauge::new(i64::from(self.ready()));
        let metric = encoder.encode_descriptor(
            "ready",
            "1 once the app holds a link and waits for events (as /healthz says)",
            None,
            ready.metric_type(),
        )?;
        ready.encode(metric)
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buffer_series_are_capped() {
        let metrics = Metrics::default();
        let labels = |i: usize| BufferLabels {
            map: format!("rb{i}"),
            kind: "ring",
        };
        for i in 0..MAX_BUFFER_SERIES + 10 {
            metrics.buffer(&labels(i)).0.inc();
        }
        // A name counted apart before the cap still is.
        metrics.buffer(&labels(0)).0.inc();
        let text = metrics.encode(false).unwrap();
        let series = text
            .lines()
            .filter(|l| l.starts_with("wasm_bpf_buffer_records_total{"))
            .count();
        assert_eq!(series, MAX_BUFFER_SERIES + 1, "{text}");
        assert!(text.contains("wasm_bpf_buffer_records_total{map=\"rb0\",kind=\"ring\"} 2"));
        assert!(text.contains("wasm_bpf_buffer_records_total{map=\"other\",kind=\"ring\"} 10"));
    }
}
