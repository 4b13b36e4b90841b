//! The model of a BPF object (a clang-built `.bpf.o`) that wasm-bpf's
//! runtime and its code generators share:
//!
//! * [`elf`]: a section's bytes, and where an object embedded in other
//!   bytes ends;
//! * [`RawBtf`]: an object's BTF as clang wrote it, or the kernel's, for
//!   the names of functions and kfuncs;
//! * [`check_type_chains`]: a check of the object's BTF that libbpf lacks,
//!   made before libbpf opens the object;
//! * [`layout`]: the structs, unions, enums, maps and global variables of
//!   the object's BTF, with the layout the kernel side uses;
//! * [`records`]: a struct of the layout as the flat fields of a
//!   self-describing record;
//! * [`source_name`]: the name of the C source the object came from.
//!
//! The runtime (`wasm-bpf`) depends on this crate only; the Rust
//! (`wasm-bpf-build`) and C (`wasm-bpf-cgen`) generators render the
//! layout as source code.

mod btf_check;
pub mod elf;
pub mod layout;
mod raw;
pub mod records;
mod source;

pub use btf_check::{check_kernel_btf, check_type_chains};
pub use raw::{Header, RawBtf};
pub use source::source_name;
