//! What a run tells Prometheus (`wasm-bpf run --metrics ADDR`): the host's
//! own figures for the app, what the kernel holds for it, and the metrics
//! the guest declares through the WIT `metrics` interface.
//!
//! One [`Metrics`] per run, the run's [`Observer`]: the guest's thread
//! reports to it, and the server's thread encodes it on every scrape.
//! Records are counted by the runtime in plain atomics, which a scrape
//! reads, so a run pays for counting whether or not anyone scrapes. In an
//! agent, each app's run has one ([`Metrics::for_app`]), and [`merge`]
//! joins their expositions.

mod buffers;
mod guest;
mod kernel;
pub mod merge;
pub mod server;

use std::borrow::Cow;
use std::os::fd::BorrowedFd;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::{Registry, Unit};
use wasm_bpf_runtime::observe::{BufferCounts, BufferSource, GuestMetrics, Observer};

pub use kernel::ProgramStats;

/// The label of the host-call error counter: the WIT error code.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ErrorLabels {
    code: &'static str,
}

/// A run's metrics.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    buffers: Arc<buffers::Buffers>,
    host_call_errors: Family<ErrorLabels, Counter>,
    guest_memory: Gauge,
    health: Arc<Health>,
    kernel: Arc<kernel::KernelObjects>,
}

/// Whether the app is up: see [`Metrics::ready`].
#[derive(Debug, Default)]
struct Health {
    links: AtomicUsize,
    waited: AtomicBool,
}

impl Metrics {
    /// Metrics for one run, serving the guest's own from `guest`; with
    /// `program_stats`, the kernel's run count and run time of each of
    /// the app's programs too.
    pub fn new(guest: Arc<GuestMetrics>, program_stats: Option<ProgramStats>) -> Self {
        Self::build(Registry::default(), guest, program_stats, false)
    }

    /// Metrics for one of the apps of an agent: every series gains the
    /// label `app="NAME"`, and the kernel's figures count the objects this
    /// app loaded, not the whole process's.
    pub fn for_app(
        name: &str,
        guest: Arc<GuestMetrics>,
        program_stats: Option<ProgramStats>,
    ) -> Self {
        let label = (Cow::Borrowed("app"), Cow::Owned(name.to_string()));
        Self::build(
            Registry::with_labels(std::iter::once(label)),
            guest,
            program_stats,
            true,
        )
    }

    fn build(
        mut registry: Registry,
        guest: Arc<GuestMetrics>,
        program_stats: Option<ProgramStats>,
        owned: bool,
    ) -> Self {
        registry.register_collector(Box::new(guest::Collector(guest)));
        let kernel = Arc::new(kernel::KernelObjects::new(program_stats, owned));
        let health = Arc::new(Health::default());
        let host = registry.sub_registry_with_prefix("wasm_bpf");
        host.register_collector(Box::new(Arc::clone(&kernel)));
        host.register_collector(Box::new(Arc::clone(&health)));
        let buffers = Arc::new(buffers::Buffers::default());
        host.register_collector(Box::new(Arc::clone(&buffers)));
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
            buffers,
            host_call_errors,
            guest_memory,
            health,
            kernel,
        }
    }

    /// Whether the app is up: it holds at least one link and has begun to
    /// wait for events. A tool attaches its programs before its first
    /// wait, so this is the point where everything is attached.
    pub fn ready(&self) -> bool {
        self.health.ready()
    }

    /// Whether the app got past loading: it holds a link or waits for
    /// events (an app that computes on its own may never wait).
    pub fn started(&self) -> bool {
        self.health.links.load(Ordering::Relaxed) > 0 || self.health.waited.load(Ordering::Relaxed)
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

impl Observer for Metrics {
    fn buffer_opened(&self, map: &str, source: BufferSource) -> Arc<BufferCounts> {
        self.buffers.counts(map, source)
    }

    fn host_call_failed(&self, code: &'static str) {
        self.host_call_errors
            .get_or_create(&ErrorLabels { code })
            .inc();
    }

    fn guest_memory(&self, bytes: usize) {
        self.guest_memory
            .set(i64::try_from(bytes).unwrap_or(i64::MAX));
    }

    fn program_loaded(&self, fd: BorrowedFd<'_>, name: &str) {
        self.kernel.program_loaded(fd, name);
    }

    fn map_created(&self, fd: BorrowedFd<'_>, _: &str) {
        self.kernel.map_created(fd);
    }

    fn links_held(&self, links: usize) {
        self.health.links.store(links, Ordering::Relaxed);
    }

    fn guest_waits(&self) {
        self.health.waited.store(true, Ordering::Relaxed);
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
        Self::new(Arc::default(), None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_the_run_reports_is_served() {
        let metrics = Metrics::default();
        assert!(!metrics.ready());
        metrics.host_call_failed("not-found");
        metrics.host_call_failed("not-found");
        metrics.guest_memory(3 << 20);
        metrics.links_held(1);
        assert!(!metrics.ready(), "ready before the guest waits");
        metrics.guest_waits();
        assert!(metrics.ready());
        let text = metrics.encode(false).unwrap();
        assert!(
            text.contains("wasm_bpf_host_call_errors_total{code=\"not-found\"} 2"),
            "{text}"
        );
        assert!(
            text.contains("wasm_bpf_guest_memory_bytes 3145728"),
            "{text}"
        );
        assert!(text.contains("wasm_bpf_ready 1"), "{text}");
        metrics.links_held(0);
        assert!(!metrics.ready());
    }
}
