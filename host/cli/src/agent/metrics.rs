//! The agent's `--metrics` endpoint: every running app's metrics, each
//! series labelled `app="NAME"` (the kernel's figures counting that app's
//! objects only), joined into one exposition; the apps by state; and a
//! `/healthz` that is ready when every declared app runs.

use std::sync::Arc;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use wasm_bpf_metrics::server::Scrape;

use super::apps::{Agent, State};

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StateLabels {
    state: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct AppLabels {
    app: String,
}

/// What the agent's endpoint serves.
pub struct AgentMetrics(pub Arc<Agent>);

impl AgentMetrics {
    /// `wasm_bpf_apps{state}` and `wasm_bpf_app_restarts{app}`.
    fn agent_families(&self, openmetrics: bool) -> Result<String, std::fmt::Error> {
        let mut registry = Registry::with_prefix("wasm_bpf");
        let apps = Family::<StateLabels, Gauge>::default();
        let restarts = Family::<AppLabels, Gauge>::default();
        registry.register("apps", "The agent's apps in each state", apps.clone());
        registry.register(
            "app_restarts",
            "Times each app was restarted after failing (restart = \"on-failure\")",
            restarts.clone(),
        );
        for state in State::ALL {
            apps.get_or_create(&StateLabels {
                state: state.name(),
            })
            .set(0);
        }
        for status in self.0.statuses() {
            apps.get_or_create(&StateLabels {
                state: status.state.name(),
            })
            .inc();
            restarts
                .get_or_create(&AppLabels { app: status.name })
                .set(i64::from(status.restarts));
        }
        let mut text = String::new();
        if openmetrics {
            prometheus_client::encoding::text::encode(&mut text, &registry)?;
        } else {
            prometheus_client::encoding::prometheus_text::encode(&mut text, &registry)?;
        }
        Ok(text)
    }
}

impl Scrape for AgentMetrics {
    fn encode(&self, openmetrics: bool) -> Result<String, std::fmt::Error> {
        let mut texts = Vec::new();
        for app in self.0.apps_list() {
            if let Some(metrics) = app.metrics() {
                texts.push(metrics.encode(openmetrics)?);
            }
        }
        texts.push(self.agent_families(openmetrics)?);
        Ok(wasm_bpf_metrics::merge::merge(&texts, openmetrics))
    }

    fn health(&self) -> Result<(), String> {
        let waiting: Vec<String> = self
            .0
            .statuses()
            .into_iter()
            .filter(|s| s.state != State::Running)
            .map(|s| format!("{} is {}", s.name, s.state.name()))
            .collect();
        if waiting.is_empty() {
            return Ok(());
        }
        Err(waiting.join(", "))
    }
}
