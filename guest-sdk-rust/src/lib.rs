//! Guest SDK for wasm-bpf: the user-space half of an eBPF application as a
//! WebAssembly component.
//!
//! The API follows libbpf-rs: open an object, configure it, load it,
//! attach its programs, then read its maps and buffers.
//!
//! ```no_run
//! use std::time::Duration;
//! use wasm_bpf_guest::Object;
//!
//! # fn main() -> Result<(), wasm_bpf_guest::Error> {
//! # let elf: &[u8] = &[];
//! let mut open = Object::open_named(elf, "bootstrap")?;
//! open.set_global("min_duration_ns", &100_000_000u64)?;
//! let obj = open.load()?;
//! let _links = obj.attach_all()?;
//! let mut events = obj.buffer("rb")?;
//! // Until Ctrl-C (or `--timeout`): then the loop ends, and the guest has
//! // the grace period to print a final report.
//! while let Some(batch) = events.next_batch(None)? {
//!     for record in &batch {
//!         println!("{} bytes", record.bytes().len());
//!     }
//! }
//! # Ok(())
//! # }
//! ```
//!
//! Records and map values are plain bytes in the kernel's layout. A guest's
//! `build.rs` generates matching Rust types with `wasm-bpf-build` (or
//! `wasm-bpf gen rust`), so `record.decode::<Event>()` reads a record in
//! place. [`include_object!`] and [`include_types!`] bring the build
//! script's outputs in.
//!
//! A probe sends its events to whatever consumer it is composed with
//! instead of printing them: as self-describing records (see [`probe`]),
//! or as the typed records of its own WIT, which generated types convert
//! into (see [`wit_records`]). A consumer or a stage reads self-describing
//! records, which arrive by column, one record at a time with
//! [`consumer`].

pub mod bindings;
pub mod bits;
mod buffer;
pub mod cli;
pub mod consumer;
mod error;
#[cfg(feature = "gadget")]
pub mod gadget;
mod map;
pub mod metrics;
mod object;
pub mod probe;
mod program;
mod typed_map;
pub mod wit_records;

pub use bytemuck;
pub use bytemuck::{Pod, Zeroable};

pub use bindings::bpf_map::{LookupFlags, MapInfo, UpdateFlags};
pub use bindings::buffer::BufferKind;
pub use bindings::libbpf_log::Level as LogLevel;
pub use bindings::link::Link;
pub use bindings::object::{GlobalInfo, MapTypes};
pub use bindings::program::{
    AttachTarget, Binary, KprobeTarget, PerfEventKind, PerfEventTarget, ProgramInfo, SampleRate,
    TcDirection, TcTarget, TracepointTarget, UprobeTarget, UsdtTarget, XdpMode, XdpTarget,
};
pub use bindings::types::{AttachType, MapType, ProgType};
pub use bindings::wasi::io::poll::Pollable;
pub use buffer::{Batch, Buffer, Record, BATCH_ALIGN, BATCH_HEADER};
pub use error::{Error, ErrorCode, Result};
pub use map::Map;
pub use object::{Object, OpenObject, OpenOptions, Phase};
pub use program::Program;
pub use typed_map::TypedMap;

/// Chooses which of libbpf's messages reach standard error: `level` and
/// more important ones, or none. The default is [`LogLevel::Info`].
pub fn set_libbpf_log_level(level: Option<LogLevel>) {
    bindings::libbpf_log::set_level(level);
}

/// Waits until at least one of `pollables` is ready (buffers from
/// [`Buffer::subscribe`], timers from [`timer`], WASI streams) and returns
/// the indices of the ready ones.
pub fn wait_any(pollables: &[&Pollable]) -> Vec<usize> {
    bindings::wasi::io::poll::poll(pollables)
        .into_iter()
        .map(|i| i as usize)
        .collect()
}

/// A pollable that becomes ready once `after` has passed.
pub fn timer(after: std::time::Duration) -> Pollable {
    let nanos = u64::try_from(after.as_nanos()).unwrap_or(u64::MAX);
    bindings::wasi::clocks::monotonic_clock::subscribe_duration(nanos)
}

/// A pollable that turns ready once the host asks the guest to stop (the
/// first SIGINT or SIGTERM, or `--timeout`), to wait on with
/// [`wait_any`] together with buffers and timers. The guest then has the
/// grace period (`wasm-bpf run --grace`) to print its final output.
pub fn stopping() -> Pollable {
    bindings::lifecycle::stopping()
}

/// Whether the host has asked the guest to stop.
pub fn is_stopping() -> bool {
    bindings::lifecycle::is_stopping()
}

/// Sleeps for `duration`, or less if the host asks the guest to stop:
/// `false` then (a `while sleep(interval) { ... }` loop ends).
/// `std::thread::sleep` would sleep through the request.
pub fn sleep(duration: std::time::Duration) -> bool {
    let (timer, stop) = (timer(duration), stopping());
    wait_any(&[&timer, &stop]);
    !stop.ready()
}

/// Ends the guest with exit status `code`, which becomes `wasm-bpf run`'s
/// own. (`std::process::exit` can only report 0 or 1 through WASI 0.2.)
/// Resources are freed by the host as for any exit.
pub fn exit(code: u8) -> ! {
    bindings::wasi::cli::exit::exit_with_code(code);
    unreachable!("wasi:cli/exit returned")
}

/// The text of a C `char` array: up to the first NUL, with invalid UTF-8
/// replaced by U+FFFD.
pub fn c_str(bytes: &[u8]) -> std::borrow::Cow<'_, str> {
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    String::from_utf8_lossy(&bytes[..end])
}

/// The bytes of the BPF object `$name.bpf.o` that `wasm-bpf-build` wrote to
/// `OUT_DIR`.
#[macro_export]
macro_rules! include_object {
    ($name:literal) => {
        include_bytes!(concat!(env!("OUT_DIR"), "/", $name, ".bpf.o"))
    };
}

/// The Rust types `wasm-bpf-build` generated for `$name.bpf.o`, as items of
/// the current module.
#[macro_export]
macro_rules! include_types {
    ($name:literal) => {
        include!(concat!(env!("OUT_DIR"), "/", $name, ".types.rs"));
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn c_str_stops_at_nul_and_survives_bad_utf8() {
        assert_eq!(c_str(b"sleep\0\0garbage"), "sleep");
        assert_eq!(c_str(b"no-nul"), "no-nul");
        assert_eq!(c_str(b"a\xffb\0"), "a\u{fffd}b");
    }

    #[test]
    fn kinds_and_infos_compare_and_hash() {
        use std::collections::HashSet;
        let kinds: HashSet<MapType> = [MapType::Hash, MapType::Other(1), MapType::Hash].into();
        assert_eq!(kinds.len(), 2);
        assert_ne!(ProgType::Kprobe, ProgType::Tracepoint);
        assert_eq!(Some(AttachType::TraceIter), Some(AttachType::TraceIter));
        let info = MapInfo {
            name: "rb".into(),
            map_type: MapType::Ringbuf,
            key_size: 0,
            value_size: 0,
            max_entries: 4096,
            map_flags: 0,
            per_cpu_slots: 0,
        };
        assert_eq!(info.clone(), info);
    }
}
