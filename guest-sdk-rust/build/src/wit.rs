//! Renders a [`Layout`] as a WIT interface: one record per struct, for
//! components that exchange an object's events as typed records.
//!
//! The rules (also in the interface's header):
//! * integers keep their width and sign (`s32`, `u64`), pointers are
//!   `u64`, C `bool` is `bool`, floats are `f32`/`f64`;
//! * `char[N]` is `string`: the bytes up to the first NUL, each invalid
//!   UTF-8 sequence replaced by U+FFFD;
//! * other arrays are `list<T>`;
//! * nested structs are nested records; anonymous struct members add their
//!   fields to the enclosing record;
//! * enums are `enum`s whose cases are the C names (their numbers are in
//!   the doc comments; a value with no name cannot be represented);
//! * unions are `list<u8>`, their bytes;
//! * names become kebab-case (`exit_code` is `exit-code`); WIT keywords are
//!   escaped with `%`.
//!
//! For the structs named with `--type`, an interface `sink` takes batches
//! of them (`push-event`), between `start` and `finish`, and the worlds
//! `probe` (imports it) and `consumer` (exports it) let a probe and its
//! consumers agree by type.

use std::collections::HashSet;
use std::fmt::Write as _;

use anyhow::Result;

use wasm_bpf_btf::layout::{self, Composite, Item, Layout, Member, Ty};

const KEYWORDS: &[&str] = &[
    "as",
    "async",
    "bool",
    "borrow",
    "char",
    "constructor",
    "enum",
    "export",
    "f32",
    "f64",
    "flags",
    "float32",
    "float64",
    "func",
    "future",
    "import",
    "include",
    "interface",
    "list",
    "option",
    "own",
    "package",
    "record",
    "resource",
    "result",
    "s16",
    "s32",
    "s64",
    "s8",
    "static",
    "stream",
    "string",
    "tuple",
    "type",
    "u16",
    "u32",
    "u64",
    "u8",
    "use",
    "variant",
    "with",
    "world",
    "from",
    "error-context",
];

/// `exit_code` → `exit-code`; words must start with a letter, so a word
/// starting with a digit joins the one before it (`pair_2` → `pair2`).
pub(crate) fn kebab(name: &str) -> String {
    let mut words: Vec<String> = Vec::new();
    for word in name.split('_').filter(|w| !w.is_empty()) {
        let word = word.to_ascii_lowercase();
        match words.last_mut() {
            Some(last) if word.starts_with(|c: char| c.is_ascii_digit()) => last.push_str(&word),
            _ if word.starts_with(|c: char| c.is_ascii_digit()) => words.push(format!("n{word}")),
            _ => words.push(word),
        }
    }
    let out = words.join("-");
    match out.as_str() {
        "" => "anon".into(),
        _ if KEYWORDS.contains(&out.as_str()) => format!("%{out}"),
        _ => out,
    }
}

struct Renderer<'a> {
    layout: &'a Layout,
    names: Vec<String>,
    out: String,
}

impl Renderer<'_> {
    fn ty(&self, ty: &Ty) -> String {
        match ty {
            Ty::Int { size, signed } => match (size, signed) {
                (1 | 2 | 4 | 8, _) => format!("{}{}", if *signed { "s" } else { "u" }, size * 8),
                _ => "list<u8>".into(),
            },
            Ty::Bool => "bool".into(),
            Ty::Char => "s8".into(),
            Ty::Float { size: 4 } => "f32".into(),
            Ty::Float { size: 8 } => "f64".into(),
            Ty::Float { .. } => "list<u8>".into(),
            Ty::Pointer => "u64".into(),
            Ty::Array(elem, _) if **elem == Ty::Char => "string".into(),
            Ty::Array(elem, _) => format!("list<{}>", self.ty(elem)),
            Ty::Item(i) => match &self.layout.items[*i] {
                Item::Composite(c) if c.is_union => "list<u8>".into(),
                _ => self.names[*i].clone(),
            },
        }
    }

    /// A field's doc comment: its C member, and what it was in C when the
    /// WIT type does not say.
    fn doc(&self, m: &Member) -> String {
        match (&m.ty, m.bitfield) {
            (_, Some(b)) => format!("`{}`: a {}-bit bitfield", m.name, b.bits),
            (Ty::Array(elem, n), _) if **elem == Ty::Char => format!("`{}`: char[{n}]", m.name),
            (Ty::Item(i), _) => match &self.layout.items[*i] {
                Item::Composite(u) if u.is_union => {
                    format!("`{}`: union {}, as its {} bytes", m.name, u.name, u.size)
                }
                _ => format!("`{}`", m.name),
            },
            _ => format!("`{}`", m.name),
        }
    }

    fn render(mut self, package: &str, object: &str, types: &[String], roots: &[usize]) -> String {
        let _ = writeln!(
            self.out,
            "// Generated from the BTF of {object} by\n\
             //     wasm-bpf gen wit {object}{} --package {package}\n\
             // Do not edit.\n\
             package {package};\n\n\
             /// The structs of {object} as records. Integers keep their width and\n\
             /// sign; `char[N]` is a string (up to the first NUL, invalid UTF-8\n\
             /// replaced by U+FFFD); other arrays are lists; unions are their bytes.\n\
             interface records {{",
            types
                .iter()
                .map(|t| format!(" --type {t}"))
                .collect::<String>()
        );
        for i in declared(&self.names) {
            let (item, name) = (&self.layout.items[i], self.names[i].clone());
            match item {
                Item::Composite(c) if c.is_union => continue,
                Item::Composite(c) => {
                    let mut fields: Vec<(String, String, String)> = record_fields(self.layout, c)
                        .into_iter()
                        .map(|f| (f.name, self.ty(&f.member.ty), self.doc(f.member)))
                        .collect();
                    let _ = writeln!(
                        self.out,
                        "\n    /// C `struct {}` ({} bytes).\n    record {name} {{",
                        c.name, c.size
                    );
                    if fields.is_empty() {
                        fields.push((EMPTY_FIELD.into(), "list<u8>".into(), "its bytes".into()));
                    }
                    for (field, ty, doc) in fields {
                        let _ = writeln!(self.out, "        /// {doc}\n        {field}: {ty},");
                    }
                    self.out.push_str("    }\n");
                }
                Item::Enum(e) if e.values.is_empty() => {
                    let ty = self.ty(&Ty::Int {
                        size: e.size,
                        signed: e.signed,
                    });
                    let _ = writeln!(
                        self.out,
                        "\n    /// C `enum {}`, naming no values.\n    type {name} = {ty};",
                        e.name
                    );
                }
                Item::Enum(e) => {
                    let _ = writeln!(
                        self.out,
                        "\n    /// C `enum {}`.\n    enum {name} {{",
                        e.name
                    );
                    let mut cases = HashSet::new();
                    for (c_name, value) in &e.values {
                        let case = kebab(c_name);
                        if cases.insert(case.clone()) {
                            let _ = writeln!(
                                self.out,
                                "        /// `{c_name}` = {value}\n        {case},"
                            );
                        }
                    }
                    self.out.push_str("    }\n");
                }
            }
        }
        self.out.push_str("}\n");
        self.sink(roots, object);
        self.out
    }

    /// The typed interface a probe of the object sends `roots` through,
    /// and the worlds of the two sides.
    fn sink(&mut self, roots: &[usize], object: &str) {
        if roots.is_empty() {
            return;
        }
        let names: Vec<&str> = roots.iter().map(|i| self.names[*i].as_str()).collect();
        let _ = writeln!(
            self.out,
            "\n/// Where a probe of {object} sends its records, as typed batches: the\n\
             /// probe calls `start` once, before it loads its object, then a `push`\n\
             /// function per batch, then `finish`.\n\
             interface sink {{\n    \
                 use records.{{{}}};\n\n    \
                 /// Called once before any record: an error (the consumer's settings\n    \
                 /// are wrong) stops the probe with that message.\n    \
                 start: func() -> result<_, string>;",
            names.join(", ")
        );
        for name in &names {
            let bare = name.trim_start_matches('%');
            let _ = writeln!(
                self.out,
                "\n    /// A batch of `{bare}` records, in the order the kernel produced them.\n    \
                 push-{bare}: func(batch: list<{name}>);"
            );
        }
        let _ = writeln!(
            self.out,
            "\n    /// No more records: flush, print totals. Not called when the run is\n    \
             /// killed.\n    \
             finish: func();\n\
             }}\n\n\
             /// A probe of {object}: it imports `sink` (and the wasm-bpf:bpf\n\
             /// interfaces its SDK imports).\n\
             world probe {{\n    import sink;\n}}\n\n\
             /// A consumer of a probe of {object}.\n\
             world consumer {{\n    export sink;\n}}"
        );
    }
}

/// A record's field when a struct has no members: WIT records need one.
pub(crate) const EMPTY_FIELD: &str = "bytes";

/// A field of a WIT record: a member of the struct, or of an anonymous
/// struct inside it, at `base` bytes from the record's start.
pub(crate) struct WitField<'l> {
    /// The WIT name (kebab-case, `%`-escaped).
    pub name: String,
    pub member: &'l Member,
    /// Where the member's enclosing anonymous struct starts, from the
    /// record's start; the member's offset is relative to it.
    pub base: usize,
}

/// The fields of `c`'s record, anonymous struct members' fields inlined
/// (anonymous unions are not fields).
pub(crate) fn record_fields<'l>(layout: &'l Layout, c: &'l Composite) -> Vec<WitField<'l>> {
    fn walk<'l>(layout: &'l Layout, c: &'l Composite, base: usize, out: &mut Vec<WitField<'l>>) {
        for m in &c.members {
            if m.name.is_empty() {
                if let Ty::Item(i) = &m.ty {
                    if let Item::Composite(inner) = &layout.items[*i] {
                        if !inner.is_union {
                            walk(layout, inner, base + m.offset, out);
                        }
                    }
                }
                continue;
            }
            out.push(WitField {
                name: kebab(&m.name),
                member: m,
                base,
            });
        }
    }
    let mut out = Vec::new();
    walk(layout, c, 0, &mut out);
    out
}

/// Each item's WIT name; where two items share one, the first is in the
/// WIT (see [`declared`]).
pub(crate) fn type_names(layout: &Layout) -> Vec<String> {
    layout.items.iter().map(|item| kebab(item.name())).collect()
}

/// The items the WIT declares, by index: the first item of each name.
pub(crate) fn declared(names: &[String]) -> Vec<usize> {
    let mut seen = HashSet::new();
    (0..names.len())
        .filter(|&i| seen.insert(names[i].as_str()))
        .collect()
}

/// A WIT package `package` with an interface `records` holding the types
/// named `types` in the object `elf` (all globals' and maps' types when
/// `types` is empty) and, when `types` names structs, an interface `sink`
/// taking batches of them with the worlds `probe` and `consumer`; `object`
/// names the object in comments.
pub fn wit_records(elf: &[u8], types: &[String], package: &str, object: &str) -> Result<String> {
    let layout = layout::layout(elf, types)?;
    let roots: Vec<usize> = types
        .iter()
        .filter_map(|name| {
            layout.items.iter().position(
                |item| matches!(item, Item::Composite(c) if !c.is_union && &c.name == name),
            )
        })
        .collect();
    Ok(Renderer {
        layout: &layout,
        names: type_names(&layout),
        out: String::new(),
    }
    .render(package, object, types, &roots))
}
