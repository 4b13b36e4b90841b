//! Renders Rust conversions from the generated types ([`crate::rust`]) into
//! the records of the object's WIT ([`crate::wit`]) as wit-bindgen renders
//! them in a guest, so a probe sends typed records without writing a field
//! by hand.
//!
//! A struct converts with `From<&Struct>`, or with `TryFrom<&Struct>` when
//! it holds a named C enum (directly, in an array or a nested struct): a C
//! enum may hold any integer, a WIT `enum` only its cases, and a value with
//! no case is an error (`wit_records::UnnamedValue`).

use std::collections::HashSet;
use std::fmt::Write as _;

use heck::{ToSnakeCase as _, ToUpperCamelCase as _};

use crate::wit::{declared, record_fields, type_names, EMPTY_FIELD};
use wasm_bpf_btf::layout::{Composite, Enumeration, Item, Layout, Member, Ty};

/// Rust keywords wit-bindgen escapes with a trailing `_`.
const ESCAPED: &[&str] = &[
    "as", "break", "const", "continue", "crate", "else", "enum", "extern", "false", "fn", "for",
    "if", "impl", "in", "let", "loop", "match", "mod", "move", "mut", "pub", "ref", "return",
    "self", "static", "struct", "super", "trait", "true", "type", "unsafe", "use", "where",
    "while", "async", "await", "dyn", "abstract", "become", "box", "do", "final", "macro",
    "override", "priv", "typeof", "unsized", "virtual", "yield", "try",
];

/// A WIT name as wit-bindgen names the Rust field or function.
fn field(wit: &str) -> String {
    let name = wit.trim_start_matches('%');
    if ESCAPED.contains(&name) {
        format!("{name}_")
    } else {
        name.to_snake_case()
    }
}

/// A WIT type or case name as wit-bindgen names the Rust type or variant.
fn type_name(wit: &str) -> String {
    match wit.trim_start_matches('%') {
        "guest" => "Guest_".into(),
        name => name.to_upper_camel_case(),
    }
}

pub(crate) struct Conversions<'a> {
    layout: &'a Layout,
    /// The generated Rust types' names, by item.
    rust_names: &'a [String],
    /// Each item's WIT name.
    wit_names: Vec<String>,
    /// Items that may hold a value WIT cannot represent.
    fallible: Vec<bool>,
    support: &'a str,
}

impl<'a> Conversions<'a> {
    pub(crate) fn new(layout: &'a Layout, rust_names: &'a [String], support: &'a str) -> Self {
        let mut fallible = vec![false; layout.items.len()];
        // Items come after the items they use, so one pass sees every
        // member's item already decided.
        for (i, item) in layout.items.iter().enumerate() {
            fallible[i] = match item {
                Item::Enum(e) => !e.values.is_empty(),
                Item::Composite(c) if c.is_union => false,
                Item::Composite(c) => record_fields(layout, c)
                    .iter()
                    .any(|f| reaches_enum(&f.member.ty, &fallible)),
            };
        }
        Self {
            layout,
            rust_names,
            wit_names: type_names(layout),
            fallible,
            support,
        }
    }

    /// The conversions into the records wit-bindgen generated at `module`
    /// (e.g. `crate::wit::wasm_bpf::bootstrap::records`).
    pub(crate) fn render(&self, module: &str) -> String {
        let support = self.support;
        let mut out = format!(
            "\n/// Conversions into the records of the object's WIT (`wasm-bpf gen wit`),\n\
             /// as wit-bindgen generated them at `{module}`.\n\
             #[allow(dead_code, unused_imports, clippy::all)]\n\
             mod __wit_records {{\n    \
                 use super::*;\n    \
                 use {support}::wit_records as c;\n    \
                 use {module} as w;\n"
        );
        // Conversion functions go in the module, the impls that call them
        // after it.
        let mut impls = String::new();
        for i in declared(&self.wit_names) {
            match &self.layout.items[i] {
                Item::Composite(c) if !c.is_union => {
                    self.record(&mut out, i, c);
                    self.conversion(&mut impls, module, i);
                }
                Item::Enum(e) if !e.values.is_empty() => self.enumeration(&mut out, i, e),
                _ => {}
            }
        }
        out.push_str("}\n");
        out.push_str(&impls);
        out
    }

    /// `From` (or `TryFrom`) of item `i`'s Rust type into its record.
    fn conversion(&self, out: &mut String, module: &str, i: usize) {
        let support = self.support;
        let rust = &self.rust_names[i];
        let wit = format!("{module}::{}", type_name(&self.wit_names[i]));
        if self.fallible[i] {
            let _ = writeln!(
                out,
                "impl ::core::convert::TryFrom<&{rust}> for {wit} {{\n    \
                     type Error = {support}::wit_records::UnnamedValue;\n    \
                     fn try_from(v: &{rust}) -> Result<Self, Self::Error> {{\n        \
                         __wit_records::item{i}({support}::bytemuck::bytes_of(v))\n    \
                     }}\n\
                 }}"
            );
        } else {
            let _ = writeln!(
                out,
                "impl ::core::convert::From<&{rust}> for {wit} {{\n    \
                     fn from(v: &{rust}) -> Self {{\n        \
                         __wit_records::item{i}({support}::bytemuck::bytes_of(v))\n    \
                     }}\n\
                 }}"
            );
        }
    }

    /// Item `i`, enum `e`, from its value: a case per named value (the
    /// first name of each), an error for any other.
    fn enumeration(&self, out: &mut String, i: usize, e: &Enumeration) {
        let wit = type_name(&self.wit_names[i]);
        let _ = writeln!(
            out,
            "\n    /// C `enum {}` from its value.\n    \
             pub(super) fn item{i}(v: i64) -> Result<w::{wit}, c::UnnamedValue> {{\n        \
                 match v {{",
            e.name
        );
        let mut values = HashSet::new();
        for (name, value) in &e.values {
            if values.insert(*value) {
                let case = type_name(&crate::wit::kebab(name));
                let _ = writeln!(out, "            {value} => Ok(w::{wit}::{case}),");
            }
        }
        let _ = writeln!(
            out,
            "            value => Err(c::UnnamedValue {{ enumeration: {:?}, value }}),\n        \
                 }}\n    }}",
            e.name
        );
    }

    fn record(&self, out: &mut String, i: usize, c: &Composite) {
        let wit = type_name(&self.wit_names[i]);
        let (ret, open, close) = if self.fallible[i] {
            (format!("Result<w::{wit}, c::UnnamedValue>"), "Ok(", ")")
        } else {
            (format!("w::{wit}"), "", "")
        };
        let _ = writeln!(
            out,
            "\n    /// C `struct {}` from its bytes.\n    \
             pub(super) fn item{i}(b: &[u8]) -> {ret} {{\n        {open}w::{wit} {{",
            c.name
        );
        let fields = record_fields(self.layout, c);
        if fields.is_empty() {
            let _ = writeln!(out, "            {EMPTY_FIELD}: b.to_vec(),");
        }
        for f in fields {
            let value = self.member(f.member, f.base);
            let _ = writeln!(out, "            {}: {value},", field(&f.name));
        }
        let _ = writeln!(out, "        }}{close}\n    }}");
    }

    /// The value of `m`, a member at `base` bytes plus its offset.
    fn member(&self, m: &Member, base: usize) -> String {
        let Some(b) = m.bitfield else {
            return self.value(&m.ty, &format!("{}", base + m.offset), 0);
        };
        let signed = match &m.ty {
            Ty::Int { signed, .. } => *signed,
            Ty::Item(i) => matches!(&self.layout.items[*i], Item::Enum(e) if e.signed),
            _ => false,
        };
        let raw = format!(
            "c::bitfield(b, {}, {}, {signed})",
            base * 8 + b.bit_offset,
            b.bits
        );
        match &m.ty {
            Ty::Bool => format!("{raw} != 0"),
            Ty::Char => format!("{raw} as i8"),
            Ty::Int { size, signed } => int_from_raw(&raw, *size, *signed),
            Ty::Item(i) => match &self.layout.items[*i] {
                Item::Enum(e) if e.values.is_empty() => int_from_raw(&raw, e.size, e.signed),
                Item::Enum(_) => format!("item{i}({raw})?"),
                Item::Composite(_) => format!("{raw}.to_le_bytes().to_vec()"),
            },
            _ => format!("{raw}.to_le_bytes().to_vec()"),
        }
    }

    /// The value of a `ty` at byte `at` (an expression); `depth` names
    /// array indices apart.
    fn value(&self, ty: &Ty, at: &str, depth: usize) -> String {
        match ty {
            Ty::Int { size, signed } => read_int(at, *size, *signed),
            Ty::Bool => format!("c::read::<u8>(b, {at}) != 0"),
            Ty::Char => format!("c::read::<i8>(b, {at})"),
            Ty::Float { size: 4 } => format!("c::read::<f32>(b, {at})"),
            Ty::Float { size: 8 } => format!("c::read::<f64>(b, {at})"),
            Ty::Float { size } => format!("c::bytes(b, {at}, {size})"),
            Ty::Pointer => format!("c::read::<u64>(b, {at})"),
            Ty::Array(elem, n) if **elem == Ty::Char => format!("c::text(b, {at}, {n})"),
            Ty::Array(elem, n) => {
                let k = format!("k{depth}");
                let size = elem.size(self.layout);
                let inner = self.value(elem, &format!("{at} + {k} * {size}"), depth + 1);
                if reaches_enum(elem, &self.fallible) {
                    format!(
                        "(0..{n}).map(|{k}| Ok::<_, c::UnnamedValue>({inner}))\
                         .collect::<Result<Vec<_>, _>>()?"
                    )
                } else {
                    format!("(0..{n}).map(|{k}| {inner}).collect::<Vec<_>>()")
                }
            }
            Ty::Item(i) => match &self.layout.items[*i] {
                Item::Composite(c) if c.is_union => format!("c::bytes(b, {at}, {})", c.size),
                Item::Composite(c) => {
                    let call = format!("item{i}(&b[{at}..{at} + {}])", c.size);
                    if self.fallible[*i] {
                        format!("{call}?")
                    } else {
                        call
                    }
                }
                Item::Enum(e) if e.values.is_empty() => read_int(at, e.size, e.signed),
                Item::Enum(e) => match int_type(e.size, e.signed) {
                    Some(t) => format!("item{i}(c::read::<{t}>(b, {at}) as i64)?"),
                    None => format!("c::bytes(b, {at}, {})", e.size),
                },
            },
        }
    }
}

/// Whether a value of `ty` may hold a named enum's value.
fn reaches_enum(ty: &Ty, fallible: &[bool]) -> bool {
    match ty {
        Ty::Array(elem, _) => reaches_enum(elem, fallible),
        Ty::Item(i) => fallible[*i],
        _ => false,
    }
}

fn int_type(size: usize, signed: bool) -> Option<String> {
    matches!(size, 1 | 2 | 4 | 8).then(|| format!("{}{}", if signed { "i" } else { "u" }, size * 8))
}

fn read_int(at: &str, size: usize, signed: bool) -> String {
    match int_type(size, signed) {
        Some(t) => format!("c::read::<{t}>(b, {at})"),
        None => format!("c::bytes(b, {at}, {size})"),
    }
}

/// A bitfield's 64 bits as the WIT type of its declared `size`-byte
/// integer.
fn int_from_raw(raw: &str, size: usize, signed: bool) -> String {
    match int_type(size, signed) {
        Some(t) => format!("{raw} as {t}"),
        None => format!("{raw}.to_le_bytes()[..{}].to_vec()", size.min(8)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_wit_bindgen() {
        assert_eq!(field("exit-code"), "exit_code");
        assert_eq!(field("in"), "in_");
        assert_eq!(field("%type"), "type_");
        assert_eq!(field("pair2"), "pair2");
        assert_eq!(type_name("layout-probe"), "LayoutProbe");
        assert_eq!(type_name("%record"), "Record");
        assert_eq!(type_name("guest"), "Guest_");
    }
}
