//! libbpf's messages: printed up to the guest's chosen level, kept for the
//! guest to take (as a libbpf print callback receives them), captured into
//! the errors of the call that caused them, and mirrored to `tracing`.
//!
//! libbpf has one process-wide print callback. Host calls run on the thread
//! that drives their store, so the callback finds the current call's
//! settings in a thread-local set by [`capture`]; so in a process that
//! runs many guests, each guest's messages reach that guest's stderr.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::ffi::{c_char, c_int, CStr};
use std::io::Write as _;
use std::sync::{Arc, Mutex, Once};

use libbpf_rs::PrintLevel;

use super::BpfCtxView;
use crate::bindings::libbpf_log::{Host, Level, Message};
use crate::output::{Output, Stream};

/// The most message text a guest's keep holds; older messages go first.
const MAX_KEPT_BYTES: usize = 1 << 20;

/// What happens to libbpf's messages during one guest's calls.
#[derive(Clone)]
pub(crate) struct Settings {
    /// Messages up to this level are printed to the guest's stderr.
    pub(crate) print: Option<Level>,
    /// Messages up to this level are kept for `take`.
    pub(crate) keep: Option<Level>,
    kept: Arc<Mutex<Kept>>,
    /// The guest's stderr when it is not the process's.
    pub(crate) output: Option<Arc<dyn Output>>,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            print: Some(Level::Info),
            keep: None,
            kept: Arc::default(),
            output: None,
        }
    }
}

impl Settings {
    /// Nothing printed or kept: for the host's own use of libbpf.
    pub(crate) fn silent() -> Self {
        Self {
            print: None,
            ..Self::default()
        }
    }
}

/// Messages kept for the guest, at most [`MAX_KEPT_BYTES`] of text.
#[derive(Default)]
struct Kept {
    messages: VecDeque<(Level, String)>,
    bytes: usize,
    dropped: u64,
}

impl Kept {
    fn push(&mut self, level: Level, mut text: String) {
        const CUT: &str = "\n(message cut)\n";
        if text.len() > MAX_KEPT_BYTES {
            // Its start says what failed; it must fit whole in the keep.
            let mut cut = MAX_KEPT_BYTES - CUT.len();
            while !text.is_char_boundary(cut) {
                cut -= 1;
            }
            text.truncate(cut);
            text.push_str(CUT);
        }
        self.bytes += text.len();
        self.messages.push_back((level, text));
        while self.bytes > MAX_KEPT_BYTES {
            let Some((_, old)) = self.messages.pop_front() else {
                break;
            };
            self.bytes -= old.len();
            self.dropped += 1;
        }
    }

    fn take(&mut self) -> Vec<Message> {
        let mut out = Vec::with_capacity(self.messages.len() + 1);
        if self.dropped > 0 {
            out.push(Message {
                level: Level::Warn,
                text: format!(
                    "libbpf: {} earlier messages were dropped: more than {MAX_KEPT_BYTES} bytes \
                     were kept before a take\n",
                    self.dropped
                ),
            });
        }
        out.extend(
            self.messages
                .drain(..)
                .map(|(level, text)| Message { level, text }),
        );
        self.bytes = 0;
        self.dropped = 0;
        out
    }
}

#[derive(Default)]
struct Sink {
    /// Whether a guest's call is running; messages outside one only go to
    /// `tracing`.
    active: bool,
    /// The guest's level: messages up to it are printed to stderr.
    print: Option<Level>,
    /// The guest's keep and its level.
    keep: Option<(Level, Arc<Mutex<Kept>>)>,
    /// The guest's stderr, if not the process's.
    output: Option<Arc<dyn Output>>,
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
            match &sink.output {
                Some(output) => output.write(Stream::Stderr, msg.as_bytes()),
                None => {
                    let _ = std::io::stderr().write_all(msg.as_bytes());
                }
            }
        }
        if let Some((keep, kept)) = &sink.keep {
            if rank(level) <= rank_of(*keep) {
                let level = match level {
                    PrintLevel::Warn => Level::Warn,
                    PrintLevel::Info => Level::Info,
                    PrintLevel::Debug => Level::Debug,
                };
                kept.lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .push(level, msg.clone());
            }
        }
        // Errors carry what libbpf warned and told, not its debug chatter.
        if rank(level) <= rank(PrintLevel::Info) {
            sink.text.push_str(&msg);
        }
    });
}

extern "C" {
    /// glibc's: formats into a string it allocates, reading `ap` once.
    fn vasprintf(
        out: *mut *mut c_char,
        format: *const c_char,
        ap: *mut libbpf_sys::__va_list_tag,
    ) -> c_int;
}

/// libbpf's print callback. libbpf-rs's own one panics (and so aborts the
/// host) when a message is not UTF-8, which a guest's ELF can arrange
/// with a section name; this one replaces invalid bytes.
unsafe extern "C" fn print(
    level: libbpf_sys::libbpf_print_level,
    format: *const c_char,
    ap: *mut libbpf_sys::__va_list_tag,
) -> c_int {
    let mut out: *mut c_char = std::ptr::null_mut();
    // SAFETY: libbpf passes a C format string and its arguments.
    if unsafe { vasprintf(&mut out, format, ap) } < 0 {
        return 0;
    }
    // SAFETY: on success `out` is a NUL-terminated string from malloc.
    let msg = unsafe { CStr::from_ptr(out) }
        .to_string_lossy()
        .into_owned();
    // SAFETY: allocated by vasprintf and not used after.
    unsafe { libc::free(out.cast()) };
    let level = match level {
        libbpf_sys::LIBBPF_WARN => PrintLevel::Warn,
        libbpf_sys::LIBBPF_INFO => PrintLevel::Info,
        _ => PrintLevel::Debug,
    };
    on_message(level, msg);
    0
}

/// Installs the print callback; idempotent.
pub(crate) fn install() {
    static ONCE: Once = Once::new();
    // SAFETY: `print` has libbpf's signature and lives as long as the
    // process.
    ONCE.call_once(|| unsafe {
        libbpf_sys::libbpf_set_print(Some(print));
    });
}

/// Runs `f`, a libbpf call made for a guest with `settings`, and returns
/// its result with everything libbpf printed meanwhile.
pub(crate) fn capture<R>(settings: &Settings, f: impl FnOnce() -> R) -> (R, String) {
    install();
    let call = Sink {
        active: true,
        print: settings.print,
        keep: settings
            .keep
            .map(|level| (level, Arc::clone(&settings.kept))),
        output: settings.output.clone(),
        text: String::new(),
    };
    let outer = SINK.with_borrow_mut(|sink| std::mem::replace(sink, call));
    let out = f();
    let call = SINK.with_borrow_mut(|sink| std::mem::replace(sink, outer));
    (out, call.text)
}

impl Host for BpfCtxView<'_> {
    fn set_level(&mut self, level: Option<Level>) -> wasmtime::Result<()> {
        self.ctx.log.print = level;
        Ok(())
    }

    fn keep(&mut self, level: Option<Level>) -> wasmtime::Result<()> {
        self.ctx.log.keep = level;
        Ok(())
    }

    fn take(&mut self) -> wasmtime::Result<Vec<Message>> {
        Ok(self
            .ctx
            .log
            .kept
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_keep_is_bounded_and_says_what_it_dropped() {
        let mut kept = Kept::default();
        let line = format!("libbpf: {}\n", "x".repeat(1000));
        for _ in 0..2000 {
            kept.push(Level::Debug, line.clone());
        }
        assert!(kept.bytes <= MAX_KEPT_BYTES);
        let taken = kept.take();
        assert!(
            taken[0].text.contains("earlier messages were dropped"),
            "{}",
            taken[0].text
        );
        let total: usize = taken[1..].iter().map(|m| m.text.len()).sum();
        assert!(total <= MAX_KEPT_BYTES && total > MAX_KEPT_BYTES - 2 * line.len());
        assert!(kept.take().is_empty(), "a take empties the keep");

        // One message larger than the keep is cut, not dropped whole.
        kept.push(Level::Warn, "é".repeat(MAX_KEPT_BYTES));
        let taken = kept.take();
        assert_eq!(taken.len(), 1);
        assert!(taken[0].text.ends_with("(message cut)\n"));
        assert!(taken[0].text.len() <= MAX_KEPT_BYTES);
    }
}
