//! libbpf's messages: routed to the guest's chosen level, captured into the
//! errors of the call that caused them, and mirrored to `tracing`.
//!
//! libbpf has one process-wide print callback. Host calls run on the thread
//! that drives their store, so the callback finds the current call's
//! settings in a thread-local set by [`capture`].

use std::cell::RefCell;
use std::io::Write as _;
use std::sync::Once;

use libbpf_rs::PrintLevel;

use super::BpfCtxView;
use crate::bindings::libbpf_log::{Host, Level};

#[derive(Default)]
struct Sink {
    /// Whether a guest's call is running; messages outside one only go to
    /// `tracing`.
    active: bool,
    /// The guest's level: messages up to it are printed to stderr.
    print: Option<Level>,
    /// libbpf's warnings and information during the current call.
    text: String,
}

thread_local! {
    static SINK: RefCell<Sink> = RefCell::default();
}

fn rank(level: PrintLevel) -> u8 {
    match level {
        PrintLevel::Warn => 0,
        PrintLevel::Info => 1,
        PrintLevel::Debug => 2,
    }
}

fn rank_of(level: Level) -> u8 {
    match level {
        Level::Warn => 0,
        Level::Info => 1,
        Level::Debug => 2,
    }
}

fn on_message(level: PrintLevel, msg: String) {
    match level {
        PrintLevel::Warn => tracing::warn!(target: "libbpf", "{}", msg.trim_end()),
        PrintLevel::Info => tracing::info!(target: "libbpf", "{}", msg.trim_end()),
        PrintLevel::Debug => tracing::debug!(target: "libbpf", "{}", msg.trim_end()),
    }
    SINK.with_borrow_mut(|sink| {
        if !sink.active {
            return;
        }
        if sink
            .print
            .is_some_and(|guest| rank(level) <= rank_of(guest))
        {
            let _ = std::io::stderr().write_all(msg.as_bytes());
        }
        // Errors carry what libbpf warned and told, not its debug chatter.
        if rank(level) <= rank(PrintLevel::Info) {
            sink.text.push_str(&msg);
        }
    });
}

/// Installs the print callback; idempotent.
pub(crate) fn install() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        libbpf_rs::set_print(Some((PrintLevel::Debug, on_message)));
    });
}

/// Runs `f`, a libbpf call made for a guest whose level is `level`, and
/// returns its result with everything libbpf printed meanwhile.
pub(crate) fn capture<R>(level: Option<Level>, f: impl FnOnce() -> R) -> (R, String) {
    install();
    let call = Sink {
        active: true,
        print: level,
        text: String::new(),
    };
    let outer = SINK.with_borrow_mut(|sink| std::mem::replace(sink, call));
    let out = f();
    let call = SINK.with_borrow_mut(|sink| std::mem::replace(sink, outer));
    (out, call.text)
}

impl Host for BpfCtxView<'_> {
    fn set_level(&mut self, level: Option<Level>) -> wasmtime::Result<()> {
        self.ctx.log_level = level;
        Ok(())
    }
}
