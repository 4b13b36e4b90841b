//! The `metrics` interface: the guest's counters, gauges and histograms,
//! kept in the run's [`GuestMetrics`](crate::observe::GuestMetrics).

use wasmtime::component::Resource;

use super::limits::Held;
use super::BpfCtxView;
use crate::bindings::metrics::{Host, HostCounter, HostGauge, HostHistogram};
use crate::observe::guest_metrics::{FamilyId, MetricKind, Update};
use crate::BpfResult;

/// The host side of a guest's `counter`.
pub struct Counter(FamilyId);
/// The host side of a guest's `gauge`.
pub struct Gauge(FamilyId);
/// The host side of a guest's `histogram`.
pub struct Histogram(FamilyId);

impl BpfCtxView<'_> {
    fn declare(
        &mut self,
        kind: MetricKind,
        name: &str,
        help: &str,
        labels: Vec<String>,
        bounds: Vec<f64>,
    ) -> BpfResult<FamilyId> {
        self.ctx.limits.check(Held::Metric, 1)?;
        self.ctx
            .guest_metrics
            .declare(kind, name, help, labels, bounds)
    }

    fn update(&self, family: FamilyId, values: Vec<String>, update: Update) -> BpfResult<()> {
        self.ctx.guest_metrics.update(family, values, update)
    }
}

impl Host for BpfCtxView<'_> {
    fn declare_counter(
        &mut self,
        name: String,
        help: String,
        label_names: Vec<String>,
    ) -> BpfResult<Resource<Counter>> {
        let family = self.declare(MetricKind::Counter, &name, &help, label_names, Vec::new())?;
        self.push_counted(Held::Metric, Counter(family))
    }

    fn declare_gauge(
        &mut self,
        name: String,
        help: String,
        label_names: Vec<String>,
    ) -> BpfResult<Resource<Gauge>> {
        let family = self.declare(MetricKind::Gauge, &name, &help, label_names, Vec::new())?;
        self.push_counted(Held::Metric, Gauge(family))
    }

    fn declare_histogram(
        &mut self,
        name: String,
        help: String,
        label_names: Vec<String>,
        bounds: Vec<f64>,
    ) -> BpfResult<Resource<Histogram>> {
        let family = self.declare(MetricKind::Histogram, &name, &help, label_names, bounds)?;
        self.push_counted(Held::Metric, Histogram(family))
    }
}

impl HostCounter for BpfCtxView<'_> {
    fn inc(&mut self, this: Resource<Counter>, values: Vec<String>, by: u64) -> BpfResult<()> {
        let family = self.table.get(&this)?.0;
        self.update(family, values, Update::Inc(by))
    }

    fn remove(&mut self, this: Resource<Counter>, values: Vec<String>) -> BpfResult<()> {
        let family = self.table.get(&this)?.0;
        self.update(family, values, Update::Remove)
    }

    fn drop(&mut self, this: Resource<Counter>) -> wasmtime::Result<()> {
        self.delete_counted(Held::Metric, this)
    }
}

impl HostGauge for BpfCtxView<'_> {
    fn set(&mut self, this: Resource<Gauge>, values: Vec<String>, value: f64) -> BpfResult<()> {
        let family = self.table.get(&this)?.0;
        self.update(family, values, Update::Set(value))
    }

    fn add(&mut self, this: Resource<Gauge>, values: Vec<String>, delta: f64) -> BpfResult<()> {
        let family = self.table.get(&this)?.0;
        self.update(family, values, Update::Add(delta))
    }

    fn remove(&mut self, this: Resource<Gauge>, values: Vec<String>) -> BpfResult<()> {
        let family = self.table.get(&this)?.0;
        self.update(family, values, Update::Remove)
    }

    fn drop(&mut self, this: Resource<Gauge>) -> wasmtime::Result<()> {
        self.delete_counted(Held::Metric, this)
    }
}

impl HostHistogram for BpfCtxView<'_> {
    fn observe(
        &mut self,
        this: Resource<Histogram>,
        values: Vec<String>,
        value: f64,
        count: u64,
    ) -> BpfResult<()> {
        let family = self.table.get(&this)?.0;
        self.update(family, values, Update::Observe { value, count })
    }

    fn remove(&mut self, this: Resource<Histogram>, values: Vec<String>) -> BpfResult<()> {
        let family = self.table.get(&this)?.0;
        self.update(family, values, Update::Remove)
    }

    fn drop(&mut self, this: Resource<Histogram>) -> wasmtime::Result<()> {
        self.delete_counted(Held::Metric, this)
    }
}
