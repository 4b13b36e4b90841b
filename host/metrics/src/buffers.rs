//! The counts of the app's buffers, by map name and source: the runtime
//! adds to each buffer's atomics, a scrape reads them.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric as _};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::MetricType;
use wasm_bpf_runtime::observe::{BufferCounts, BufferSource};

/// Most label sets (map names and sources) counted apart; past it, new
/// ones count under `map="other"`, as a guest that keeps loading objects
/// with new map names would otherwise grow the host for ever.
pub(crate) const MAX_SERIES: usize = 256;

/// Every buffer's counts, one `Arc` per label set: buffers on maps of
/// the same name count together, as one series.
#[derive(Debug, Default)]
pub(crate) struct Buffers {
    series: Mutex<BTreeMap<(String, &'static str), Arc<BufferCounts>>>,
}

impl Buffers {
    /// The counts a buffer on `map` adds to.
    pub(crate) fn counts(&self, map: &str, source: BufferSource) -> Arc<BufferCounts> {
        let mut series = self.series.lock().unwrap_or_else(PoisonError::into_inner);
        let known = series.contains_key(&(map.to_string(), source.name()));
        let map = if known || series.len() < MAX_SERIES {
            map
        } else {
            "other"
        };
        Arc::clone(series.entry((map.to_string(), source.name())).or_default())
    }
}

/// Reads one of a buffer's counts.
type Read = fn(&BufferCounts) -> u64;

impl Collector for Buffers {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let series = self.series.lock().unwrap_or_else(PoisonError::into_inner);
        let families: [(&str, &str, Read); 2] = [
            (
                "buffer_records",
                "Records handed to the app from each ring or perf buffer",
                BufferCounts::received,
            ),
            (
                "buffer_lost_records",
                "Records the kernel dropped because a perf buffer was full (a full ring \
                 buffer fails the BPF program's reserve instead, which only it can count)",
                BufferCounts::lost,
            ),
        ];
        for (name, help, read) in families {
            let mut family = encoder.encode_descriptor(name, help, None, MetricType::Counter)?;
            for ((map, kind), counts) in series.iter() {
                let labels = [("map", map.as_str()), ("kind", *kind)];
                ConstCounter::new(read(counts)).encode(family.encode_family(&labels)?)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use wasm_bpf_runtime::observe::Observer as _;

    use super::*;
    use crate::Metrics;

    #[test]
    fn series_are_capped_and_buffers_of_one_map_count_together() {
        let metrics = Metrics::default();
        for i in 0..MAX_SERIES + 10 {
            metrics
                .buffer_opened(&format!("rb{i}"), BufferSource::Ring)
                .add(1, 0);
        }
        // A name counted apart before the cap still is, by every buffer.
        metrics.buffer_opened("rb0", BufferSource::Ring).add(1, 0);
        metrics
            .buffer_opened("events", BufferSource::Perf)
            .add(3, 2);
        let text = metrics.encode(false).unwrap();
        let series = text
            .lines()
            .filter(|l| l.starts_with("wasm_bpf_buffer_records_total{"))
            .filter(|l| l.contains("kind=\"ring\""))
            .count();
        assert_eq!(series, MAX_SERIES + 1, "{text}");
        assert!(text.contains("wasm_bpf_buffer_records_total{map=\"rb0\",kind=\"ring\"} 2"));
        assert!(text.contains("wasm_bpf_buffer_records_total{map=\"other\",kind=\"ring\"} 10"));
        assert!(text.contains("wasm_bpf_buffer_records_total{map=\"other\",kind=\"perf\"} 3"));
        assert!(
            text.contains("wasm_bpf_buffer_lost_records_total{map=\"other\",kind=\"perf\"} 2"),
            "{text}"
        );
    }
}
