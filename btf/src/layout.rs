//! A language-neutral model of the structs, unions and enums of a BPF
//! object's BTF, with the layout the kernel side uses.
//!
//! Renderers (Rust today) turn a [`Layout`] into source code. The model
//! keeps BTF's facts (byte offsets, sizes, bitfields) and resolves what a
//! renderer should not have to: typedefs and qualifiers are looked through,
//! pointers become 64-bit integers (the kernel's pointers, never
//! dereferenced in user space), anonymous types get names.

use std::collections::{HashMap, HashSet};
use std::ffi::OsStr;

use anyhow::{anyhow, bail, Context as _, Result};
use libbpf_rs::btf::types::Linkage;
use libbpf_rs::btf::types::{
    Array, Composite as BtfComposite, DataSec, Enum, Enum64, Int, IntEncoding, MemberAttr, Var,
};
use libbpf_rs::btf::{BtfKind, BtfType, TypeId};
use libbpf_rs::{Btf, HasSize as _};

/// The types an object's user space needs, in dependency order: every
/// type comes after the types its members use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    pub items: Vec<Item>,
    /// The object's maps, with the key and value types their definitions
    /// declare.
    pub maps: Vec<MapDef>,
    /// The object's data sections (`.rodata`, `.data`, `.bss` and their
    /// named variants) with their global variables.
    pub sections: Vec<DataSection>,
}

/// A data section of global variables, as its BTF `DATASEC` lays it out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataSection {
    /// The ELF section name (`.rodata`, `.bss`, `.data.counters`).
    pub name: String,
    /// Size in bytes (what libbpf's internal map holds at key 0).
    pub size: usize,
    /// By offset.
    pub vars: Vec<Global>,
}

/// A global variable in a data section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Global {
    pub name: String,
    /// Byte offset in the section.
    pub offset: usize,
    /// Size in bytes.
    pub size: usize,
    /// Its type, when it is plain data or a type the layout holds;
    /// otherwise renderers treat it as `size` bytes.
    pub ty: Option<Ty>,
    /// Declared `static` (BTF linkage static), which includes a
    /// function's local statics (`helper.zero`). bpftool's skeletons leave
    /// these out.
    pub is_static: bool,
}

/// A map of the object, as its `.maps` definition declares it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MapDef {
    pub name: String,
    /// The `BPF_MAP_TYPE_*` number, when the definition sets it.
    pub map_type: Option<u32>,
    /// The key type, when declared with `__type(key, ...)`.
    pub key: Option<Ty>,
    /// The value type, when declared with `__type(value, ...)`.
    pub value: Option<Ty>,
}

/// One named type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item {
    Composite(Composite),
    Enum(Enumeration),
}

impl Item {
    /// The type's name: its C name, or for an anonymous type a name made
    /// from where it is used (`outer__member`).
    pub fn name(&self) -> &str {
        match self {
            Self::Composite(c) => &c.name,
            Self::Enum(e) => &e.name,
        }
    }
}

/// A struct or union.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Composite {
    pub name: String,
    pub is_union: bool,
    /// Size in bytes, tail padding included.
    pub size: usize,
    /// Alignment in bytes (1 when `packed`).
    pub align: usize,
    /// Some member sits at an offset its type's alignment does not allow,
    /// as in `__attribute__((packed))` structs.
    pub packed: bool,
    pub members: Vec<Member>,
}

/// A member of a struct or union.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// The member's name; empty for an anonymous struct or union member.
    pub name: String,
    pub ty: Ty,
    /// The typedef the member (or, for an array, its elements) was
    /// declared with, under qualifiers: `gadget_errno`, `__u32`. Tools
    /// that format a field by its declared type read it.
    pub typedef: Option<String>,
    /// Byte offset from the start of the enclosing type (for a bitfield:
    /// of the byte holding its first bit).
    pub offset: usize,
    pub bitfield: Option<Bitfield>,
}

/// Where a bitfield's bits are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bitfield {
    /// Offset of the first bit from the start of the enclosing type.
    pub bit_offset: usize,
    /// Width in bits.
    pub bits: u8,
}

/// An enum: a named integer type with named values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Enumeration {
    pub name: String,
    pub size: usize,
    pub signed: bool,
    pub values: Vec<(String, i64)>,
}

/// The type of a member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ty {
    /// An integer of `size` bytes.
    Int {
        size: usize,
        signed: bool,
    },
    /// C `bool`, one byte.
    Bool,
    /// C `char`, one byte, usually text.
    Char,
    Float {
        size: usize,
    },
    /// A kernel pointer, as a 64-bit integer.
    Pointer,
    Array(Box<Ty>, usize),
    /// The item at this index of [`Layout::items`].
    Item(usize),
}

impl Ty {
    /// Size in bytes.
    pub fn size(&self, layout: &Layout) -> usize {
        match self {
            Self::Int { size, .. } | Self::Float { size } => *size,
            Self::Bool | Self::Char => 1,
            Self::Pointer => 8,
            Self::Array(elem, n) => elem.size(layout).saturating_mul(*n),
            Self::Item(i) => match &layout.items[*i] {
                Item::Composite(c) => c.size,
                Item::Enum(e) => e.size,
            },
        }
    }

    /// Alignment in bytes, as the BPF target lays it out.
    pub fn align(&self, layout: &Layout) -> usize {
        match self {
            Self::Int { size, .. } | Self::Float { size } => (*size).clamp(1, 8),
            Self::Bool | Self::Char => 1,
            Self::Pointer => 8,
            Self::Array(elem, _) => elem.align(layout),
            Self::Item(i) => match &layout.items[*i] {
                Item::Composite(c) => c.align,
                Item::Enum(e) => e.size.clamp(1, 8),
            },
        }
    }
}

/// The layout of the types named `types` in the BTF of the object `elf`,
/// and of every type they use, plus the object's map definitions with
/// their key and value types. With no names: the types of the object's
/// global variables and of its maps' keys and values.
pub fn layout(elf: &[u8], types: &[String]) -> Result<Layout> {
    crate::check_type_chains(elf)?;
    let btf = Btf::from_raw("object", elf)
        .context("reading the object's BTF")?
        .ok_or_else(|| anyhow!("the object has no BTF; compile it with clang -g"))?;
    let mut walker = Walker::new(&btf);
    if types.is_empty() {
        for (ty, hint) in default_roots(&btf) {
            walker.root(ty, &hint)?;
        }
    } else {
        for name in types {
            let ty = find_named(&btf, name)?;
            walker.root(ty, name)?;
        }
    }
    // After the roots, so a type that fails there fails loudly.
    walker.maps();
    walker.sections();
    walker.finish()
}

/// The type called `name`: a struct, union or enum, or a typedef of one.
fn find_named<'b>(btf: &'b Btf<'b>, name: &str) -> Result<BtfType<'b>> {
    let mut typedef = None;
    for ty in btf.type_by_kind::<BtfType<'_>>() {
        if ty.name() != Some(OsStr::new(name)) {
            continue;
        }
        match ty.kind() {
            BtfKind::Struct | BtfKind::Union | BtfKind::Enum | BtfKind::Enum64 => return Ok(ty),
            BtfKind::Typedef => typedef = Some(ty),
            _ => {}
        }
    }
    typedef.ok_or_else(|| {
        anyhow!(
            "no struct, union or enum `{name}` in the object's BTF. BTF holds only the types \
             the BPF code uses in globals, maps and CO-RE reads; to keep a type that is only \
             submitted to a ring buffer, declare a global of it, e.g. `struct {name} _{name} = {{}};`"
        )
    })
}

/// The types of global variables and of map keys and values.
fn default_roots<'b>(btf: &'b Btf<'b>) -> Vec<(BtfType<'b>, String)> {
    let mut roots = Vec::new();
    for sec in btf.type_by_kind::<DataSec<'_>>() {
        let section = sec
            .name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        for info in sec.iter() {
            let Some(var) = btf.type_by_id::<Var<'_>>(info.ty) else {
                continue;
            };
            let var_name = var
                .name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned();
            let Some(ty) = var.next_type() else { continue };
            if section == ".maps" {
                // A map definition is an anonymous struct whose `key` and
                // `value` members point at the key and value types.
                let Some(Ok(def)) = skip_mods(ty).map(BtfComposite::try_from) else {
                    continue;
                };
                for member in def.iter() {
                    let role = member.name.unwrap_or_default().to_string_lossy();
                    if role != "key" && role != "value" {
                        continue;
                    }
                    let target = btf
                        .type_by_id::<BtfType<'_>>(member.ty)
                        .and_then(|ptr| ptr.next_type());
                    if let Some(target) = target {
                        roots.push((target, format!("{var_name}__{role}")));
                    }
                }
            } else if is_data_section(&section) {
                roots.push((ty, var_name));
            }
        }
    }
    roots
}

/// Whether globals in section `name` live in one of libbpf's internal
/// data maps (`.kconfig` and `.ksyms` externs do not).
fn is_data_section(name: &str) -> bool {
    name.starts_with(".rodata") || name.starts_with(".data") || name.starts_with(".bss")
}

/// A map definition's member `role` (`key`, `value`, `type`): the type a
/// `__type` pointer points at, or for `__uint` the array whose length is
/// the number.
fn map_member<'b>(btf: &'b Btf<'b>, def: &BtfComposite<'b>, role: &str) -> Option<BtfType<'b>> {
    let member = def
        .iter()
        .find(|m| m.name.is_some_and(|n| n == OsStr::new(role)))?;
    btf.type_by_id::<BtfType<'_>>(member.ty)?.next_type()
}

/// How many typedefs, qualifiers, arrays and nested members a type may go
/// through: real BTF stays far below; malformed BTF can loop.
const MAX_DEPTH: usize = 256;

/// `ty` under its typedefs and qualifiers; `None` if the chain breaks or
/// loops.
fn skip_mods<'b>(ty: BtfType<'b>) -> Option<BtfType<'b>> {
    let mut ty = ty;
    for _ in 0..MAX_DEPTH {
        match ty.kind() {
            BtfKind::Typedef
            | BtfKind::Volatile
            | BtfKind::Const
            | BtfKind::Restrict
            | BtfKind::TypeTag => ty = ty.next_type()?,
            _ => return Some(ty),
        }
    }
    None
}

struct Walker<'b> {
    btf: &'b Btf<'b>,
    /// How deep `ty` is nested right now.
    depth: usize,
    maps: Vec<MapDef>,
    sections: Vec<DataSection>,
    /// Items by slot; a slot is reserved before its members are walked.
    slots: Vec<Option<Item>>,
    slot_of: HashMap<u32, usize>,
    /// Slots in the order they were completed: dependencies first.
    done: Vec<usize>,
    names: HashSet<String>,
}

impl<'b> Walker<'b> {
    fn new(btf: &'b Btf<'b>) -> Self {
        Self {
            btf,
            depth: 0,
            maps: Vec::new(),
            sections: Vec::new(),
            slots: Vec::new(),
            slot_of: HashMap::new(),
            done: Vec::new(),
            names: HashSet::new(),
        }
    }

    /// Records every map definition of the `.maps` section with its key and
    /// value types, where those are plain data or types already walked: a
    /// map does not pull in types nobody asked for (which could clash with
    /// the user's names); its key or value is then left out.
    fn maps(&mut self) {
        let btf = self.btf;
        for sec in btf.type_by_kind::<DataSec<'_>>() {
            if sec.name() != Some(OsStr::new(".maps")) {
                continue;
            }
            for info in sec.iter() {
                let Some(var) = btf.type_by_id::<Var<'_>>(info.ty) else {
                    continue;
                };
                let name = var
                    .name()
                    .unwrap_or_default()
                    .to_string_lossy()
                    .into_owned();
                let Some(def) = var
                    .next_type()
                    .and_then(skip_mods)
                    .and_then(|t| BtfComposite::try_from(t).ok())
                else {
                    continue;
                };
                let map_type = map_member(btf, &def, "type")
                    .and_then(|t| Array::try_from(t).ok())
                    .map(|a| a.capacity() as u32);
                let typed = |role: &str| self.known(map_member(btf, &def, role)?, 0);
                let (key, value) = (typed("key"), typed("value"));
                self.maps.push(MapDef {
                    name,
                    map_type,
                    key,
                    value,
                });
            }
        }
    }

    /// Records the data sections and their variables, typed where the type
    /// is plain data or already walked (as for [`Self::maps`]).
    fn sections(&mut self) {
        let btf = self.btf;
        for sec in btf.type_by_kind::<DataSec<'_>>() {
            let name = sec
                .name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned();
            if !is_data_section(&name) {
                continue;
            }
            let mut vars = Vec::new();
            for info in sec.iter() {
                let Some(var) = btf.type_by_id::<Var<'_>>(info.ty) else {
                    continue;
                };
                vars.push(Global {
                    name: var
                        .name()
                        .unwrap_or_default()
                        .to_string_lossy()
                        .into_owned(),
                    offset: info.offset as usize,
                    size: info.size,
                    ty: var.next_type().and_then(|t| self.known(t, 0)),
                    is_static: matches!(var.linkage(), Linkage::Static),
                });
            }
            vars.sort_by_key(|v| v.offset);
            self.sections.push(DataSection {
                size: sec.size(),
                name,
                vars,
            });
        }
    }

    /// `ty` as a member type, if it needs no item that is not walked yet.
    fn known(&self, ty: BtfType<'b>, depth: usize) -> Option<Ty> {
        if depth > MAX_DEPTH {
            return None;
        }
        match ty.kind() {
            BtfKind::Struct | BtfKind::Union | BtfKind::Enum | BtfKind::Enum64 => {
                let slot = *self.slot_of.get(&u32::from(ty.type_id()))?;
                self.slots[slot].as_ref()?;
                Some(Ty::Item(slot))
            }
            BtfKind::Typedef
            | BtfKind::Volatile
            | BtfKind::Const
            | BtfKind::Restrict
            | BtfKind::TypeTag => self.known(ty.next_type()?, depth + 1),
            BtfKind::Array => {
                let array = Array::try_from(ty).ok()?;
                let elem = self.known(self.by_id(array.ty()).ok()?, depth + 1)?;
                Some(Ty::Array(Box::new(elem), array.capacity()))
            }
            BtfKind::Int | BtfKind::Float | BtfKind::Ptr => {
                // Plain data: the walker's own conversion needs no items.
                let mut scratch = Walker::new(self.btf);
                scratch.ty(ty, "").ok()
            }
            _ => None,
        }
    }

    /// Adds `ty` if, under typedefs, qualifiers and arrays, it is a struct,
    /// union or enum.
    fn root(&mut self, ty: BtfType<'b>, hint: &str) -> Result<()> {
        let mut ty = ty;
        let mut hint = hint.to_string();
        for _ in 0..MAX_DEPTH {
            match ty.kind() {
                BtfKind::Struct | BtfKind::Union | BtfKind::Enum | BtfKind::Enum64 => {
                    self.item(ty, &hint)?;
                    return Ok(());
                }
                BtfKind::Typedef => {
                    if let Some(name) = ty.name() {
                        hint = name.to_string_lossy().into_owned();
                    }
                }
                BtfKind::Volatile | BtfKind::Const | BtfKind::Restrict | BtfKind::TypeTag => {}
                BtfKind::Array => {
                    let array = Array::try_from(ty).map_err(|_| anyhow!("malformed array"))?;
                    ty = self.by_id(array.ty())?;
                    continue;
                }
                _ => return Ok(()),
            }
            ty = ty.next_type().ok_or_else(|| {
                anyhow!("type {} refers to a missing type", u32::from(ty.type_id()))
            })?;
        }
        bail!("malformed BTF: the typedefs, qualifiers or arrays of `{hint}` loop")
    }

    fn by_id(&self, id: TypeId) -> Result<BtfType<'b>> {
        self.btf
            .type_by_id::<BtfType<'_>>(id)
            .ok_or_else(|| anyhow!("BTF type {} does not exist", u32::from(id)))
    }

    fn unique_name(&mut self, wanted: &str) -> String {
        let mut name = wanted.to_string();
        let mut n = 1;
        while !self.names.insert(name.clone()) {
            n += 1;
            name = format!("{wanted}{n}");
        }
        name
    }

    /// The slot of the struct, union or enum `ty`, walking it on first use.
    fn item(&mut self, ty: BtfType<'b>, hint: &str) -> Result<usize> {
        let id = u32::from(ty.type_id());
        if let Some(&slot) = self.slot_of.get(&id) {
            if self.slots[slot].is_none() {
                // Only a member by value can reach a type being walked.
                bail!("malformed BTF: type {id} contains itself");
            }
            return Ok(slot);
        }
        let slot = self.slots.len();
        self.slots.push(None);
        self.slot_of.insert(id, slot);
        let name = match ty.name() {
            Some(name) => name.to_string_lossy().into_owned(),
            None => hint.to_string(),
        };
        let name = self.unique_name(&name);
        let item = match ty.kind() {
            BtfKind::Enum => {
                let e = Enum::try_from(ty).map_err(|_| anyhow!("malformed enum {name}"))?;
                let values = e.iter().map(|v| (v.name, v.value));
                Item::Enum(enumeration(name, e.size(), e.is_signed(), values))
            }
            BtfKind::Enum64 => {
                let e = Enum64::try_from(ty).map_err(|_| anyhow!("malformed enum {name}"))?;
                // The model keeps values as i64; an unsigned 64-bit value
                // keeps its bits.
                let values = e.iter().map(|v| (v.name, v.value as i64));
                Item::Enum(enumeration(name, e.size(), e.is_signed(), values))
            }
            _ => Item::Composite(self.composite(ty, name)?),
        };
        self.slots[slot] = Some(item);
        self.done.push(slot);
        Ok(slot)
    }

    fn composite(&mut self, ty: BtfType<'b>, name: String) -> Result<Composite> {
        let is_union = ty.kind() == BtfKind::Union;
        let comp = BtfComposite::try_from(ty).map_err(|_| anyhow!("malformed struct {name}"))?;
        let mut members = Vec::new();
        for (i, m) in comp.iter().enumerate() {
            let member_name = m
                .name
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let hint = if member_name.is_empty() {
                format!("{name}__anon{i}")
            } else {
                format!("{name}__{member_name}")
            };
            let member_ty = self.by_id(m.ty)?;
            let ty = self
                .ty(member_ty, &hint)
                .with_context(|| format!("member `{member_name}` of `{name}`"))?;
            let (bit_offset, bits) = match m.attr {
                MemberAttr::Normal { offset } => {
                    // Legacy BTF encodes a bitfield in the member's int type.
                    let int = skip_mods(member_ty).and_then(|t| Int::try_from(t).ok());
                    match int {
                        Some(int) if usize::from(int.bits) != int.size() * 8 => {
                            (offset as usize + usize::from(int.offset), Some(int.bits))
                        }
                        _ => (offset as usize, None),
                    }
                }
                MemberAttr::BitField { size, offset } => (offset as usize, Some(size)),
            };
            members.push(Member {
                name: member_name,
                typedef: self.typedef_of(member_ty),
                ty,
                offset: bit_offset / 8,
                bitfield: bits.map(|bits| Bitfield { bit_offset, bits }),
            });
        }
        let size = comp.size();
        Ok(Composite {
            name,
            is_union,
            size,
            // Finished by `finish`, once every member's item is known.
            align: 0,
            packed: false,
            members,
        })
    }

    /// The first typedef under `ty`'s qualifiers and arrays.
    fn typedef_of(&self, ty: BtfType<'b>) -> Option<String> {
        let mut ty = ty;
        for _ in 0..MAX_DEPTH {
            match ty.kind() {
                BtfKind::Typedef => return Some(ty.name()?.to_string_lossy().into_owned()),
                BtfKind::Volatile | BtfKind::Const | BtfKind::Restrict | BtfKind::TypeTag => {
                    ty = ty.next_type()?;
                }
                BtfKind::Array => {
                    let array = Array::try_from(ty).ok()?;
                    ty = self.by_id(array.ty()).ok()?;
                }
                _ => return None,
            }
        }
        None
    }

    fn ty(&mut self, ty: BtfType<'b>, hint: &str) -> Result<Ty> {
        if self.depth >= MAX_DEPTH {
            bail!("malformed BTF: `{hint}` nests deeper than {MAX_DEPTH} types");
        }
        self.depth += 1;
        let ty = self.ty_at_depth(ty, hint);
        self.depth -= 1;
        ty
    }

    fn ty_at_depth(&mut self, ty: BtfType<'b>, hint: &str) -> Result<Ty> {
        match ty.kind() {
            BtfKind::Int => {
                let int = Int::try_from(ty).map_err(|_| anyhow!("malformed int"))?;
                let c_name = ty.name().unwrap_or_default();
                Ok(match int.encoding {
                    IntEncoding::Bool => Ty::Bool,
                    _ if c_name == "char" => Ty::Char,
                    IntEncoding::Signed => Ty::Int {
                        size: int.size(),
                        signed: true,
                    },
                    _ => Ty::Int {
                        size: int.size(),
                        signed: false,
                    },
                })
            }
            BtfKind::Float => Ok(Ty::Float {
                size: libbpf_rs::btf::types::Float::try_from(ty)
                    .map_err(|_| anyhow!("malformed float"))?
                    .size(),
            }),
            BtfKind::Ptr => Ok(Ty::Pointer),
            BtfKind::Array => {
                let array = Array::try_from(ty).map_err(|_| anyhow!("malformed array"))?;
                let elem = self.by_id(array.ty())?;
                Ok(Ty::Array(Box::new(self.ty(elem, hint)?), array.capacity()))
            }
            BtfKind::Struct | BtfKind::Union | BtfKind::Enum | BtfKind::Enum64 => {
                Ok(Ty::Item(self.item(ty, hint)?))
            }
            BtfKind::Typedef => {
                let next = ty.next_type().ok_or_else(|| anyhow!("dangling typedef"))?;
                // A typedef names the anonymous struct it stands for.
                let named = ty.name().map(|n| n.to_string_lossy().into_owned());
                self.ty(next, named.as_deref().unwrap_or(hint))
            }
            BtfKind::Volatile | BtfKind::Const | BtfKind::Restrict | BtfKind::TypeTag => {
                let next = ty
                    .next_type()
                    .ok_or_else(|| anyhow!("dangling qualifier"))?;
                self.ty(next, hint)
            }
            BtfKind::Fwd => bail!(
                "`{}` is only declared, not defined, in the object's BTF",
                ty.name().unwrap_or_default().to_string_lossy()
            ),
            other => bail!("a member of BTF kind {other:?} has no data layout"),
        }
    }

    /// Orders the items dependencies-first, checks that every member lies
    /// inside its type, and computes alignments.
    fn finish(self) -> Result<Layout> {
        let mut new_index = vec![0; self.slots.len()];
        for (new, &old) in self.done.iter().enumerate() {
            new_index[old] = new;
        }
        let mut slots = self.slots;
        let mut items: Vec<Item> = self
            .done
            .iter()
            .filter_map(|&old| slots[old].take())
            .collect();
        for item in &mut items {
            if let Item::Composite(c) = item {
                for m in &mut c.members {
                    renumber(&mut m.ty, &new_index);
                }
            }
        }
        let mut maps = self.maps;
        for map in &mut maps {
            for ty in [&mut map.key, &mut map.value].into_iter().flatten() {
                renumber(ty, &new_index);
            }
        }
        let mut sections = self.sections;
        for var in sections.iter_mut().flat_map(|s| &mut s.vars) {
            if let Some(ty) = &mut var.ty {
                renumber(ty, &new_index);
            }
        }
        let mut layout = Layout {
            items,
            maps,
            sections,
        };
        for item in &layout.items {
            if let Item::Composite(c) = item {
                check_members(c, &layout)?;
            }
        }
        // Dependencies come first, so their alignment is known in time.
        for i in 0..layout.items.len() {
            if let Item::Composite(c) = &layout.items[i] {
                let (align, packed) = composite_align(c, &layout);
                if let Item::Composite(c) = &mut layout.items[i] {
                    c.align = align;
                    c.packed = packed;
                }
            }
        }
        Ok(layout)
    }
}

fn enumeration<'b>(
    name: String,
    size: usize,
    signed: bool,
    values: impl Iterator<Item = (Option<&'b OsStr>, i64)>,
) -> Enumeration {
    Enumeration {
        name,
        size,
        signed,
        values: values
            .map(|(n, v)| (n.unwrap_or_default().to_string_lossy().into_owned(), v))
            .collect(),
    }
}

fn renumber(ty: &mut Ty, new_index: &[usize]) {
    match ty {
        Ty::Item(i) => *i = new_index[*i],
        Ty::Array(elem, _) => renumber(elem, new_index),
        _ => {}
    }
}

/// Checks that the members of `c` lie inside it and, for a struct, follow
/// one another: the renderers rely on both, and BTF from a file may break
/// either.
fn check_members(c: &Composite, layout: &Layout) -> Result<()> {
    let bits = c.size.saturating_mul(8);
    let mut last_start = 0;
    for m in &c.members {
        if let Some(b) = m.bitfield {
            let room = m.ty.size(layout).saturating_mul(8).min(64);
            if b.bits == 0 || usize::from(b.bits) > room {
                bail!(
                    "malformed BTF: bitfield `{}` of `{}` is {} bits wide",
                    m.name,
                    c.name,
                    b.bits
                );
            }
        }
        let (start, end) = match m.bitfield {
            Some(b) => (
                b.bit_offset,
                b.bit_offset.saturating_add(usize::from(b.bits)),
            ),
            None => (
                m.offset.saturating_mul(8),
                m.offset.saturating_add(m.ty.size(layout)).saturating_mul(8),
            ),
        };
        if end > bits || (!c.is_union && start < last_start) {
            bail!(
                "malformed BTF: member `{}` of `{}` (bits {start}..{end}) lies outside its {} bytes \
                 or before the member ahead of it",
                m.name,
                c.name,
                c.size
            );
        }
        last_start = start;
    }
    Ok(())
}

/// A composite's alignment: its members' largest, or 1 if a member sits
/// off its natural alignment (a packed struct).
fn composite_align(c: &Composite, layout: &Layout) -> (usize, bool) {
    let mut align = 1;
    for m in c.members.iter().filter(|m| m.bitfield.is_none()) {
        let a = m.ty.align(layout);
        if !m.offset.is_multiple_of(a) {
            return (1, true);
        }
        align = align.max(a);
    }
    if !c.size.is_multiple_of(align) {
        return (1, true);
    }
    (align, false)
}
