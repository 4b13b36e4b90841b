//! A struct of the [`Layout`] as the flat list of fields of a
//! self-describing record (`wasm-bpf:bpf/records` in `wit/records.wit`):
//! nested structs flattened into dotted names, `char[N]` as text, other
//! arrays as lists, unions and integers wider than 64 bits as bytes.
//! Renderers turn the list into a decoding table.

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
    /// The typedef its member was declared with (see
    /// [`crate::layout::Member::typedef`]).
    pub typedef: Option<String>,
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
    fields_within(layout, c, usize::MAX).unwrap_or_default()
}

/// The fields of struct `c`, or `None` as soon as they would take more
/// than `budget` bytes as a guest holds them ([`Field::cost`]). Nested
/// structs multiply: a struct of N members each of an N-member struct has
/// N² fields, so the count is kept while building, not after.
pub fn fields_within(layout: &Layout, c: &Composite, budget: usize) -> Option<Vec<Field>> {
    let mut out = Fields {
        fields: Vec::new(),
        left: budget,
    };
    flatten(layout, c, "", 0, &mut out)?;
    Some(out.fields)
}

impl Field {
    /// What the field takes in memory, the host's or a guest's (whose
    /// records are smaller): itself, its name, its enum values.
    pub fn cost(&self) -> usize {
        let values = match &self.kind {
            Kind::Enum { values, .. } => values
                .iter()
                .map(|(name, _)| name.len() + size_of::<(String, i64)>())
                .sum(),
            _ => 0,
        };
        size_of::<Self>() + self.name.len() + values
    }
}

/// Fields built so far and the bytes they may still take.
struct Fields {
    fields: Vec<Field>,
    left: usize,
}

impl Fields {
    /// Adds `field`; `None` if the budget is spent.
    fn push(&mut self, field: Field) -> Option<()> {
        self.left = self.left.checked_sub(field.cost())?;
        self.fields.push(field);
        Some(())
    }
}

fn flatten(
    layout: &Layout,
    c: &Composite,
    prefix: &str,
    base: usize,
    out: &mut Fields,
) -> Option<()> {
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
                typedef: m.typedef.clone(),
            })?;
            continue;
        }
        if let Ty::Item(i) = &m.ty {
            if let Item::Composite(inner) = &layout.items[*i] {
                if inner.is_union {
                    // Every member reads the same bytes: the union is one
                    // field of them, as the typed records' bytes are.
                    let name = if name.is_empty() {
                        let first = inner.members.iter().find(|m| !m.name.is_empty());
                        first.map_or(name, |m| m.name.clone())
                    } else {
                        name
                    };
                    out.push(Field {
                        name,
                        offset,
                        bits: None,
                        kind: Kind::Bytes { len: inner.size },
                        typedef: m.typedef.clone(),
                    })?;
                } else {
                    flatten(layout, inner, &name, offset, out)?;
                }
                continue;
            }
        }
        if let Some(kind) = kind(layout, &m.ty) {
            out.push(Field {
                name,
                offset,
                bits: None,
                kind,
                typedef: m.typedef.clone(),
            })?;
        }
    }
    Some(())
}

/// How a member of type `ty` reads; `None` for structs, which are
/// flattened instead.
fn kind(layout: &Layout, ty: &Ty) -> Option<Kind> {
    Some(match ty {
        // `__int128` and wider: a record's integers are 64 bits at most.
        Ty::Int { size, .. } if *size > 8 => Kind::Bytes { len: *size },
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layout::Member;

    /// A struct of `n` members, each a struct of `n` integers: n² fields.
    fn square(n: usize) -> Layout {
        let members = |ty: &dyn Fn() -> Ty, size: usize| -> Vec<Member> {
            (0..n)
                .map(|i| Member {
                    name: format!("m{i}"),
                    typedef: None,
                    ty: ty(),
                    offset: i * size,
                    bitfield: None,
                })
                .collect()
        };
        let composite = |name: &str, members: Vec<Member>, size: usize| {
            Item::Composite(Composite {
                name: name.into(),
                is_union: false,
                size,
                align: 4,
                packed: false,
                members,
            })
        };
        let int = || Ty::Int {
            size: 4,
            signed: false,
        };
        Layout {
            items: vec![
                composite("inner", members(&int, 4), 4 * n),
                composite("outer", members(&|| Ty::Item(0), 4 * n), 16 * n * n),
            ],
            maps: Vec::new(),
            sections: Vec::new(),
        }
    }

    #[test]
    fn nested_structs_stop_at_the_budget_while_they_are_built() {
        let layout = square(300);
        let Item::Composite(outer) = &layout.items[1] else {
            unreachable!()
        };
        let all = fields_within(&layout, outer, usize::MAX).expect("no budget");
        assert_eq!(all.len(), 90_000);
        assert_eq!(all[301].name, "m1.m1");
        let spent: usize = all.iter().map(Field::cost).sum();
        assert_eq!(
            fields_within(&layout, outer, spent).map(|f| f.len()),
            Some(90_000)
        );
        assert_eq!(fields_within(&layout, outer, spent - 1), None);
        assert_eq!(fields_within(&layout, outer, 4096), None);
    }

    #[test]
    fn unions_and_wide_integers_are_bytes() {
        let int = |size| Ty::Int {
            size,
            signed: false,
        };
        let member = |name: &str, ty: Ty, offset| Member {
            name: name.into(),
            typedef: None,
            ty,
            offset,
            bitfield: None,
        };
        let union = |members: Vec<Member>, size| {
            Item::Composite(Composite {
                name: String::new(),
                is_union: true,
                size,
                align: 8,
                packed: false,
                members,
            })
        };
        let layout = Layout {
            items: vec![
                union(vec![member("a", int(4), 0), member("b", int(8), 0)], 8),
                union(vec![member("x", int(2), 0)], 2),
                Item::Composite(Composite {
                    name: "event".into(),
                    is_union: false,
                    size: 48,
                    align: 16,
                    packed: false,
                    members: vec![
                        member("pid", int(4), 0),
                        member("u", Ty::Item(0), 8),
                        member("", Ty::Item(1), 16),
                        member("big", int(16), 32),
                    ],
                }),
            ],
            maps: Vec::new(),
            sections: Vec::new(),
        };
        let Item::Composite(event) = &layout.items[2] else {
            unreachable!()
        };
        let fields: Vec<(String, usize, Kind)> = fields(&layout, event)
            .into_iter()
            .map(|f| (f.name, f.offset, f.kind))
            .collect();
        assert_eq!(
            fields,
            [
                (
                    "pid".into(),
                    0,
                    Kind::Int {
                        size: 4,
                        signed: false
                    }
                ),
                ("u".into(), 8, Kind::Bytes { len: 8 }),
                ("x".into(), 16, Kind::Bytes { len: 2 }),
                ("big".into(), 32, Kind::Bytes { len: 16 }),
            ]
        );
    }
}
