//! The host's own messages on stderr: as text for a terminal, or with
//! `--log-format json` one JSON object per line for a log collector
//! (`{"timestamp":…,"level":"ERROR","message":…,"target":…}`), tracing's
//! events and the command's errors alike. The guest's own output is its
//! own and is passed through as it is.

use std::sync::OnceLock;

use tracing_subscriber::EnvFilter;

use crate::flags::LogFormat;

static FORMAT: OnceLock<LogFormat> = OnceLock::new();

/// The target of the command's own messages, which the default filter
/// lets through at `info` in JSON.
const TARGET: &str = "wasm_bpf::cli";

/// Sets up stderr logging; `RUST_LOG` picks what is shown, as usual.
pub fn init(format: LogFormat) {
    let _ = FORMAT.set(format);
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new(format!("warn,libbpf=off,{TARGET}=info")));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .init(),
    }
}

fn json() -> bool {
    FORMAT.get() == Some(&LogFormat::Json)
}

/// Reports a failure of the command.
pub fn error(message: &str) {
    if json() {
        tracing::error!(target: TARGET, "{message}");
    } else {
        eprintln!("error: {message}");
    }
}

/// Tells something about the agent's app `app`: in JSON, with an `app`
/// field, as the app's own lines have.
pub fn app_notice(app: &str, message: &str) {
    if json() {
        tracing::info!(target: TARGET, app, "{message}");
    } else {
        eprintln!("wasm-bpf: app {app}: {message}");
    }
}

/// Reports a failure of the agent's app `app`.
pub fn app_error(app: &str, message: &str) {
    if json() {
        tracing::error!(target: TARGET, app, "{message}");
    } else {
        eprintln!("error: app {app}: {message}");
    }
}

/// Tells the user something about the run (what `-v` asks for, a timeout).
pub fn notice(message: &str) {
    if json() {
        tracing::info!(target: TARGET, "{message}");
    } else {
        eprintln!("wasm-bpf: {message}");
    }
}
