//! wasm-bpf's runtime: runs eBPF applications whose user-space half is a WebAssembly
//! component.
//!
//! The kernel half is an ordinary libbpf-style `.bpf.o`. The component
//! drives it through the WIT interfaces in `wit/` (objects, maps, programs,
//! links, buffers), which this crate implements over libbpf-rs and serves
//! next to WASI 0.2 from wasmtime.
//!
//! * [`bpf`]: the BPF interfaces ([`add_to_linker`], [`BpfView`]).
//! * [`run`]: running a guest command to completion, with signals and a
//!   timeout; core modules of the original wasm-bpf ABI run there too, on
//!   what both share (the engine, the watchers, the guest's contexts).
//! * [`app_kind`]: what a component is, and what it imports that the host
//!   lacks, read before compiling it.
//! * [`component`]: compiling, precompiling and caching guests' code.
//! * [`compose`]: a probe, stages and a consumer plugged into one
//!   component.
//! * [`inspect`]: the BPF objects a component embeds and the grants it
//!   needs.
//! * [`observe`]: what a run reports as it goes (the observer the
//!   `wasm-bpf-metrics` crate implements) and the metrics the guest
//!   declares.
//! * [`output`]: a guest's stdout and stderr when the process runs many.
//! * [`trusted_dir`]: directories of this user's only, written atomically
//!   (the compile cache; the OCI crate's store).
//! * [`bindings`]: the generated `Host*` traits of the interfaces, which
//!   [`BpfCtxView`] implements, for hosts that call them directly.

pub mod app_kind;
pub mod bindings;
pub mod bpf;
pub mod component;
pub mod compose;
mod error;
mod guest;
pub mod inspect;
pub mod interrupt;
mod legacy;
pub mod memory;
pub mod observe;
pub mod output;
pub mod run;
pub mod trusted_dir;

pub use bpf::{add_to_linker, BpfCtx, BpfCtxView, BpfView};
pub use error::{BpfError, BpfResult};
