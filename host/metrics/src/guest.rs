//! The metrics the guest declares, encoded at every scrape from the
//! runtime's store ([`GuestMetrics`]), which has checked every name, help
//! text and label against the format already.

use std::sync::Arc;

use prometheus_client::encoding::{DescriptorEncoder, NoLabelSet};
use prometheus_client::metrics::MetricType;
use wasm_bpf_runtime::observe::guest_metrics::{MetricKind, Value};
use wasm_bpf_runtime::observe::GuestMetrics;

/// The guest's metrics as a Prometheus collector.
#[derive(Debug)]
pub(crate) struct Collector(pub(crate) Arc<GuestMetrics>);

impl prometheus_client::collector::Collector for Collector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        self.0.visit(|family| {
            let kind = match family.kind {
                MetricKind::Counter => MetricType::Counter,
                MetricKind::Gauge => MetricType::Gauge,
                MetricKind::Histogram => MetricType::Histogram,
            };
            let mut metric = encoder.encode_descriptor(&family.name, &family.help, None, kind)?;
            for (values, value) in &family.series {
                let labels: Vec<(&str, &str)> = family
                    .labels
                    .iter()
                    .map(String::as_str)
                    .zip(values.iter().map(String::as_str))
                    .collect();
                let mut series = metric.encode_family(&labels)?;
                match value {
                    Value::Counter(total) => {
                        series.encode_counter::<NoLabelSet, _, u64>(total, None)?
                    }
                    Value::Gauge(gauge) => series.encode_gauge(gauge)?,
                    Value::Histogram {
                        sum,
                        count,
                        buckets,
                    } => {
                        let bounds = family.bounds.iter().copied().chain([f64::INFINITY]);
                        let buckets: Vec<(f64, u64)> =
                            bounds.zip(buckets.iter().copied()).collect();
                        series.encode_histogram::<NoLabelSet>(*sum, *count, &buckets, None)?;
                    }
                }
            }
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use wasm_bpf_runtime::observe::guest_metrics::Update;

    use super::*;
    use crate::Metrics;

    fn strings(s: &[&str]) -> Vec<String> {
        s.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn counters_gauges_and_histograms_encode_as_prometheus_reads_them() {
        let m = Arc::new(GuestMetrics::default());
        let execs = m
            .declare(
                MetricKind::Counter,
                "execs_total",
                "Programs started",
                strings(&["comm"]),
                vec![],
            )
            .unwrap();
        m.update(execs, strings(&["sh"]), Update::Inc(2)).unwrap();
        m.update(execs, strings(&["a\"b\nc"]), Update::Inc(1))
            .unwrap();
        let lat = m
            .declare(
                MetricKind::Histogram,
                "lat_us",
                "Latency",
                vec![],
                vec![1.0, 3.0],
            )
            .unwrap();
        for (value, count) in [(2.0, 5), (9.0, 1)] {
            m.update(lat, vec![], Update::Observe { value, count })
                .unwrap();
        }
        let out = Metrics::new(m, None).encode(true).unwrap();
        assert!(out.contains("execs_total{comm=\"sh\"} 2\n"), "{out}");
        // A hostile value stays inside its quotes.
        assert!(
            out.contains("execs_total{comm=\"a\\\"b\\nc\"} 1\n"),
            "{out}"
        );
        assert!(out.contains("lat_us_bucket{le=\"1.0\"} 0\n"), "{out}");
        assert!(out.contains("lat_us_bucket{le=\"3.0\"} 5\n"), "{out}");
        assert!(out.contains("lat_us_bucket{le=\"+Inf\"} 6\n"), "{out}");
        assert!(out.contains("lat_us_sum 19.0\n"), "{out}");
    }
}
