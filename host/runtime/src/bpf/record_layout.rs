//! `bpf-object.record-layout`: a struct of an object's BTF as the fields of
//! a self-describing record, read by the host's BTF model
//! (`wasm-bpf-btf`), for guests with no code generated for the object; and
//! `bpf-object.map-types`, the structs a map's keys and values are.

use wasm_bpf_btf::layout::{layout, Composite, Item, Layout, Ty};
use wasm_bpf_btf::records::{fields_within, Field, Kind};

use super::limits::result_too_big;

use crate::bindings::object::{
    EnumKind, FieldKind, FieldLayout, IntKind, IntListKind, MapTypes, RecordLayout,
};
use crate::bindings::types::ErrorCode;
use crate::{BpfError, BpfResult};

/// The structs a guest would likely mean: those of the object's globals
/// and map keys and values (`struct event _event`), not every kernel type
/// its BTF mentions.
fn likely_structs(elf: &[u8]) -> Vec<String> {
    layout(elf, &[]).map_or_else(|_| Vec::new(), |model| composites(&model))
}

fn composites(model: &Layout) -> Vec<String> {
    model
        .items
        .iter()
        .filter_map(|item| match item {
            Item::Composite(c) if !c.is_union && !c.name.is_empty() => Some(c.name.clone()),
            _ => None,
        })
        .collect()
}

fn kind(kind: &Kind) -> FieldKind {
    let byte = |n: usize| u8::try_from(n).unwrap_or(u8::MAX);
    let count = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
    match kind {
        Kind::Int { size, signed } => FieldKind::Int(IntKind {
            size: byte(*size),
            signed: *signed,
        }),
        Kind::Bool => FieldKind::Boolean,
        Kind::Text { len } => FieldKind::Text(count(*len)),
        Kind::Enum {
            size,
            signed,
            values,
        } => FieldKind::Enumeration(EnumKind {
            size: byte(*size),
            signed: *signed,
            values: values.clone(),
        }),
        Kind::Float { size } => FieldKind::Float(byte(*size)),
        Kind::IntList { size, signed, len } => FieldKind::IntList(IntListKind {
            size: byte(*size),
            signed: *signed,
            len: count(*len),
        }),
        Kind::Bytes { len } => FieldKind::Bytes(count(*len)),
    }
}

/// The record layout of struct `name` of the object `elf`, at most `cap`
/// bytes of it (counted while its fields are built: nested structs
/// multiply them).
pub(crate) fn record_layout(elf: &[u8], name: &str, cap: usize) -> BpfResult<RecordLayout> {
    let (c, fields) = record_fields(elf, name, cap)?;
    let offset = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
    Ok(RecordLayout {
        name: c.name,
        size: offset(c.size),
        fields: fields
            .iter()
            .map(|f| FieldLayout {
                name: f.name.clone(),
                offset: offset(f.offset),
                bits: f.bits.map(|(bit, width)| (offset(bit), width)),
                kind: kind(&f.kind),
            })
            .collect(),
    })
}

/// For each field of struct `name`'s record layout, the typedef its member
/// was declared with.
pub(crate) fn field_typedefs(elf: &[u8], name: &str, cap: usize) -> BpfResult<Vec<Option<String>>> {
    let (_, fields) = record_fields(elf, name, cap)?;
    Ok(fields.into_iter().map(|f| f.typedef).collect())
}

/// Struct `name` of the object `elf` and its fields, at most `cap` bytes
/// of them.
fn record_fields(elf: &[u8], name: &str, cap: usize) -> BpfResult<(Composite, Vec<Field>)> {
    let model = layout(elf, &[name.to_string()]).map_err(|e| {
        let known = likely_structs(elf);
        if known.iter().any(|k| k == name) {
            return BpfError::new(
                ErrorCode::InvalidObject,
                format!("struct `{name}` cannot be read as a record: {e:#}"),
            );
        }
        let message = if known.is_empty() {
            format!("no struct `{name}` in the object's BTF: {e:#}")
        } else {
            format!(
                "no struct `{name}` in the object's BTF (the structs of its globals and \
                 maps: {})",
                known.join(", ")
            )
        };
        BpfError::new(ErrorCode::NotFound, message)
    })?;
    let c = model
        .items
        .iter()
        .find_map(|item| match item {
            Item::Composite(c) if c.name == name && !c.is_union => Some(c),
            _ => None,
        })
        .ok_or_else(|| {
            BpfError::new(
                ErrorCode::NotFound,
                format!("`{name}` is not a struct of the object (a union or an enum?)"),
            )
        })?;
    let fields = fields_within(&model, c, cap).ok_or_else(|| {
        result_too_big(
            &format!("the fields of struct `{name}` (nested structs flattened)"),
            cap,
            "read a smaller struct, or raise --max-memory",
        )
    })?;
    Ok((c.clone(), fields))
}

/// The struct names of map `map`'s key and value in the object `elf`, as
/// its `.maps` definition declares them.
pub(crate) fn map_types(elf: &[u8], map: &str) -> BpfResult<MapTypes> {
    let model = layout(elf, &[]).map_err(|e| {
        BpfError::new(
            ErrorCode::InvalidObject,
            format!("reading the object's BTF: {e:#}"),
        )
    })?;
    let def = model.maps.iter().find(|m| m.name == map).ok_or_else(|| {
        let names: Vec<&str> = model.maps.iter().map(|m| m.name.as_str()).collect();
        BpfError::new(
            ErrorCode::NotFound,
            format!(
                "the object defines no map `{map}` in .maps (it defines: {})",
                if names.is_empty() {
                    "none".to_string()
                } else {
                    names.join(", ")
                }
            ),
        )
    })?;
    let struct_name = |ty: &Option<Ty>| match ty {
        Some(Ty::Item(i)) => match model.items.get(*i) {
            Some(Item::Composite(c)) if !c.is_union && !c.name.is_empty() => Some(c.name.clone()),
            _ => None,
        },
        _ => None,
    };
    Ok(MapTypes {
        key: struct_name(&def.key),
        value: struct_name(&def.value),
    })
}
