//! The C side of wasm-bpf guests: the WIT bindings for C, skeletons and
//! typed headers generated from an object's BTF, and componentizing the
//! core module that clang and wasi-libc produce.

mod bindings;
mod c;
mod componentize;
mod skeleton;
mod wit;

pub use bindings::{c_bindings, c_bindings_of};
pub use c::c_types;
pub use componentize::componentize;
pub use skeleton::skeleton;
