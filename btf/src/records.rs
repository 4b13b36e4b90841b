//! A struct of the [`Layout`] as the flat list of fields of a
//! self-describing record (`wasm-bpf:bpf/records` in `wit/records.wit`):
//! nested structs flattened into dotted names, `char[N]` as text, other
//! arrays as lists. Renderers turn the list into a decoding table.

use crate::layout::{Composite, Item, Layout, Ty};

/// One field of a record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    /// The member path, joined with `.`.
    pub name: String,
    /// Byte offset of the field (of the byte holding a bitfield's first
    /// bit) from the start of the record.
    pub offset: usize,
    /// For a bitfield: its first bit, counted from `offset * 8`, and its
    /// width.
    pub bits: Option<(usize, u8)>,
    pub kind: Kind,
}

/// How a field's bytes are read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    /// An integer of `size` bytes.
    Int {
        size: usize,
        signed: bool,
    },
    Bool,
    /// `char[len]`.
    Text {
        len: usize,
    },
    /// An enum of `size` bytes and its named values.
    Enum {
        size: usize,
        signed: bool,
        values: Vec<(String, i64)>,
    },
    Float {
        size: usize,
    },
    /// `len` integers of `size` bytes each.
    IntList {
        size: usize,
        signed: bool,
        len: usize,
    },
    /// Anything else, as `len` raw bytes.
    Bytes {
        len: usize,
    },
}

/// The fields of struct `c`, in member order.
pub fn fields(layout: &Layout, c: &Composite) -> Vec<Field> {
    let mut out = Vec::new();
    flatten(layout, c, "", 0, &mut out);
    out
}

fn flatten(layout: &Layout, c: &Composite, prefix: &str, base: usize, out: &mut Vec<Field>) {
    for m in &c.members {
        let name = match (prefix.is_empty(), m.name.is_empty()) {
            (_, true) => prefix.to_string(),
            (true, false) => m.name.clone(),
            (false, false) => format!("{prefix}.{}", m.name),
        };
        let offset = base + m.offset;
        if let Some(b) = m.bitfield {
            if m.name.is_empty() {
                continue;
            }
            let kind = match kind(layout, &m.ty) {
                Some(Kind::Int { signed, .. }) => Kind::Int { size: 8, signed },
                Some(other) => other,
                None => continue,
            };
            out.push(Field {
                name,
                offset,
                bits: Some((b.bit_offset - m.offset * 8, b.bits)),
                kind,
            });
            continue;
        }
        if let Ty::Item(i) = &m.ty {
            if let Item::Composite(inner) = &layout.items[*i] {
                flatten(layout, inner, &name, offset, out);
                continue;
            }
        }
        if let Some(kind) = kind(layout, &m.ty) {
            out.push(Field {
                name,
                offset,
                bits: None,
                kind,
            });
        }
    }
}

/// How a member of type `ty` reads; `None` for structs, which are
/// flattened instead.
fn kind(layout: &Layout, ty: &Ty) -> Option<Kind> {
    Some(match ty {
        Ty::Int { size, signed } => Kind::Int {
            size: *size,
            signed: *signed,
        },
        Ty::Char => Kind::Int {
            size: 1,
            signed: true,
        },
        Ty::Bool => Kind::Bool,
        Ty::Pointer => Kind::Int {
            size: 8,
            signed: false,
        },
        Ty::Float {
            size: size @ (4 | 8),
        } => Kind::Float { size: *size },
        Ty::Item(i) => match &layout.items[*i] {
            Item::Enum(e) => Kind::Enum {
                size: e.size,
                signed: e.signed,
                values: e.values.clone(),
            },
            Item::Composite(_) => return None,
        },
        Ty::Array(elem, len) => match (&**elem, kind(layout, elem)) {
            (Ty::Char, _) => Kind::Text { len: *len },
            (_, Some(Kind::Int { size, signed })) if size <= 8 => Kind::IntList {
                size,
                signed,
                len: *len,
            },
            (_, Some(Kind::Bool)) => Kind::IntList {
                size: 1,
                signed: false,
                len: *len,
            },
            (_, Some(Kind::Enum { size, signed, .. })) => Kind::IntList {
                size,
                signed,
                len: *len,
            },
            _ => Kind::Bytes {
                len: ty.size(layout),
            },
        },
        Ty::Float { .. } => Kind::Bytes {
            len: ty.size(layout),
        },
    })
}
