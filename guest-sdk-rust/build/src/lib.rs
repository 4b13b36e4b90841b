//! Build-time support for wasm-bpf guests, the role libbpf-cargo plays for
//! libbpf-rs: compile a guest's BPF C into an object it embeds, and
//! generate Rust types for the object's structs from its BTF.
//!
//! In a guest's `build.rs`:
//!
//! ```no_run
//! wasm_bpf_build::BpfBuild::new("bpf/bootstrap.bpf.c")
//!     .build()
//!     .expect("building the BPF object");
//! ```
//!
//! which writes `$OUT_DIR/bootstrap.bpf.o` and `$OUT_DIR/bootstrap.types.rs`
//! for the guest to `include_bytes!` and `include!`.
//!
//! The types come from `wasm_bpf_btf::layout`, a language-neutral model of
//! the BTF structs that the runtime and the C generator share;
//! [`rust_types`] renders it as Rust, [`wit_records`] as WIT.

mod compile;
mod rust;
mod rust_wit;
mod wit;

pub use compile::{write_headers, BpfBuild, Built, VMLINUX_H};
pub use rust::{rust_types, rust_types_with, RustOptions};
pub use wit::wit_records;
