//! Probes: components that send their events, as self-describing records,
//! to whatever consumer they are composed with (`wit/records.wit`).
//!
//! ```no_run
//! # use wasm_bpf_guest::probe::{Described, FieldLayout, Sink};
//! # use wasm_bpf_guest::bytemuck;
//! # #[derive(Clone, Copy)] #[repr(C)] struct Event { pid: u32 }
//! # unsafe impl bytemuck::Zeroable for Event {}
//! # unsafe impl bytemuck::Pod for Event {}
//! # impl Described for Event { const NAME: &'static str = "event"; const FIELDS: &'static [FieldLayout] = &[]; }
//! # fn main() -> Result<(), String> {
//! # let events: Vec<Event> = Vec::new();
//! let sink = Sink::<Event>::start()?; // the consumer checks its settings
//! sink.send(&events);                  // per batch of records
//! sink.finish();                       // flush, totals
//! # Ok(()) }
//! ```
//!
//! The build script's generated types implement [`Described`]: their
//! fields' names, types and places come from the object's BTF, so the
//! records need no per-probe code on either side.

use std::marker::PhantomData;

use bytemuck::Pod;

use crate::bindings::records::{Batch, Column, Field, FieldType, Schema};
use crate::bindings::sink;

/// How one field of a record is read from the C struct's bytes.
#[derive(Debug, Clone, Copy)]
pub struct FieldLayout {
    /// The member path, joined with `.`.
    pub name: &'static str,
    /// Byte offset in the struct (of the byte holding a bitfield's first
    /// bit).
    pub offset: usize,
    /// A bitfield's first bit after `offset * 8`, and its width.
    pub bits: Option<(usize, u8)>,
    pub kind: FieldKind,
}

/// The C type of a field.
#[derive(Debug, Clone, Copy)]
pub enum FieldKind {
    Int {
        size: usize,
        signed: bool,
    },
    Bool,
    /// `char[len]`.
    Text {
        len: usize,
    },
    Enum {
        size: usize,
        signed: bool,
        values: &'static [(&'static str, i64)],
    },
    Float {
        size: usize,
    },
    IntList {
        size: usize,
        signed: bool,
        len: usize,
    },
    Bytes {
        len: usize,
    },
}

/// A C struct that can be sent as a self-describing record; implemented
/// by the types `wasm-bpf-build` generates.
pub trait Described: Pod {
    /// The struct's C name.
    const NAME: &'static str;
    /// Its fields, in member order.
    const FIELDS: &'static [FieldLayout];

    /// The record type, as sinks receive it.
    fn schema() -> Schema {
        schema_of(Self::NAME, Self::FIELDS)
    }

    /// These structs as one batch of records, by column.
    fn batch<'a>(records: impl IntoIterator<Item = &'a Self>) -> Batch
    where
        Self: 'a,
    {
        batch_of(
            Self::FIELDS,
            &records
                .into_iter()
                .map(bytemuck::bytes_of)
                .collect::<Vec<_>>(),
        )
    }
}

fn schema_of(name: &str, fields: &[FieldLayout]) -> Schema {
    Schema {
        name: name.into(),
        fields: fields
            .iter()
            .map(|f| Field {
                name: f.name.into(),
                ty: field_type(f),
            })
            .collect(),
    }
}

/// The batch of `records` (each the bytes of one struct), one column per
/// field: each field's kind is matched once per batch, not per record.
fn batch_of(fields: &[FieldLayout], records: &[&[u8]]) -> Batch {
    Batch {
        schema: 0,
        rows: records.len() as u32,
        columns: fields.iter().map(|f| column(f, records)).collect(),
    }
}

/// The layout of a struct that only the object's BTF describes, read at
/// run time (`Object::record_layout`): how a generic loader, with no types
/// generated for the object, sends its events as records.
///
/// Its tables live as long as the program: they are leaked once, as a
/// generated type's are compiled in.
#[derive(Debug, Clone, Copy)]
pub struct Layout {
    name: &'static str,
    size: usize,
    fields: &'static [FieldLayout],
}

fn leak(s: String) -> &'static str {
    Box::leak(s.into_boxed_str())
}

impl Layout {
    pub(crate) fn new(wit: crate::bindings::object::RecordLayout) -> Self {
        use crate::bindings::object::FieldKind as Wit;
        let fields = wit.fields.into_iter().map(|f| FieldLayout {
            name: leak(f.name),
            offset: f.offset as usize,
            bits: f.bits.map(|(bit, width)| (bit as usize, width)),
            kind: match f.kind {
                Wit::Int(i) => FieldKind::Int {
                    size: i.size.into(),
                    signed: i.signed,
                },
                Wit::Boolean => FieldKind::Bool,
                Wit::Text(len) => FieldKind::Text { len: len as usize },
                Wit::Enumeration(e) => FieldKind::Enum {
                    size: e.size.into(),
                    signed: e.signed,
                    values: Box::leak(
                        e.values
                            .into_iter()
                            .map(|(name, v)| (leak(name), v))
                            .collect::<Box<[_]>>(),
                    ),
                },
                Wit::Float(size) => FieldKind::Float { size: size.into() },
                Wit::IntList(l) => FieldKind::IntList {
                    size: l.size.into(),
                    signed: l.signed,
                    len: l.len as usize,
                },
                Wit::Bytes(len) => FieldKind::Bytes { len: len as usize },
            },
        });
        Self {
            name: leak(wit.name),
            size: wit.size as usize,
            fields: Box::leak(fields.collect::<Box<[_]>>()),
        }
    }

    /// The records of a map's entries, each the bytes of a key followed by
    /// its value's: `key`'s fields, then `value`'s, as one record named
    /// `name` (Inspektor Gadget's map iterators show them so).
    pub fn joined(name: &str, key: Layout, value: Layout) -> Layout {
        let values = value.fields.iter().map(|f| FieldLayout {
            offset: f.offset + key.size,
            ..*f
        });
        let fields = key.fields.iter().copied().chain(values);
        Self {
            name: leak(name.to_string()),
            size: key.size + value.size,
            fields: Box::leak(fields.collect::<Box<[_]>>()),
        }
    }

    /// The struct's C name.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// The struct's size in bytes. A record may be shorter (a tool that
    /// sends only the part of an array it filled): the fields past its
    /// end read as zero, empty text or fewer bytes.
    pub fn size(&self) -> usize {
        self.size
    }

    /// The record type, as sinks receive it.
    pub fn schema(&self) -> Schema {
        schema_of(self.name, self.fields)
    }

    /// Records (each the bytes of one struct, or of its first part) as
    /// one batch, by column.
    pub fn batch<'a>(&self, records: impl IntoIterator<Item = &'a [u8]>) -> Batch {
        let records: Vec<&[u8]> = records.into_iter().collect();
        batch_of(self.fields, &records)
    }
}

fn bits(size: usize) -> u8 {
    (size * 8).min(64) as u8
}

fn field_type(f: &FieldLayout) -> FieldType {
    if let (Some((_, width)), FieldKind::Int { signed, .. }) = (f.bits, f.kind) {
        return if signed {
            FieldType::Signed(width)
        } else {
            FieldType::Unsigned(width)
        };
    }
    match f.kind {
        FieldKind::Int { size, signed: true } => FieldType::Signed(bits(size)),
        FieldKind::Int { size, .. } => FieldType::Unsigned(bits(size)),
        FieldKind::Bool => FieldType::Boolean,
        FieldKind::Text { len } => FieldType::Text(len as u32),
        FieldKind::Enum { values, .. } => {
            FieldType::Enumeration(values.iter().map(|(n, _)| n.to_string()).collect())
        }
        FieldKind::Float { size } => FieldType::Float(bits(size)),
        FieldKind::IntList {
            signed: true, len, ..
        } => FieldType::SignedList(len as u32),
        FieldKind::IntList { len, .. } => FieldType::UnsignedList(len as u32),
        FieldKind::Bytes { len } => FieldType::Bytes(len as u32),
    }
}

/// The integer of `size` bytes (at most 8) at `at`, sign-extended when
/// `signed`; 0 when the record ends before it.
fn int(bytes: &[u8], at: usize, size: usize, signed: bool) -> i128 {
    let mut raw = [0u8; 8];
    let size = size.min(8);
    let src = bytes.get(at..at + size).unwrap_or(&[]);
    raw[..src.len()].copy_from_slice(src);
    let value = u64::from_le_bytes(raw);
    let shift = 64 - bits(size) as u32;
    if signed && shift < 64 {
        (((value << shift) as i64) >> shift).into()
    } else {
        value.into()
    }
}

fn enumerator(values: &[(&str, i64)], v: i128) -> String {
    let name = values.iter().find(|(_, x)| i128::from(*x) == v);
    name.map_or_else(|| v.to_string(), |(n, _)| n.to_string())
}

/// Whether the field reads as a signed integer.
fn signed(f: &FieldLayout) -> bool {
    matches!(
        f.kind,
        FieldKind::Int { signed: true, .. } | FieldKind::Enum { signed: true, .. }
    )
}

/// The integer a bitfield holds; 0 when the record ends before it.
fn bitfield(f: &FieldLayout, (bit, width): (usize, u8), bytes: &[u8]) -> i128 {
    let at = f.offset;
    let end = at + (bit + usize::from(width)).div_ceil(8);
    let Some(held) = bytes.get(at..end) else {
        return 0;
    };
    let raw = crate::wit_records::bitfield(held, bit, width, signed(f));
    if signed(f) {
        raw.into()
    } else {
        (raw as u64).into()
    }
}

/// The column of an integer field of 1, 2, 4 or 8 bytes at `at`: a loop
/// per width that reads each value whole (a record too short for it takes
/// the general path of [`int`]); `None` for other widths. Calling `int`
/// itself in a loop per width drained self-describing records 1.7 times
/// slower: it still copies a length known only at run time.
fn int_column(records: &[&[u8]], at: usize, size: usize, signed: bool) -> Option<Column> {
    fn read<const N: usize>(b: &[u8], at: usize, signed: bool) -> i128 {
        match b.get(at..at + N).and_then(|s| <[u8; N]>::try_from(s).ok()) {
            Some(raw) => {
                let mut wide = [0u8; 8];
                wide[..N].copy_from_slice(&raw);
                let value = u64::from_le_bytes(wide);
                let shift = 64 - 8 * N as u32;
                if signed {
                    (((value << shift) as i64) >> shift).into()
                } else {
                    value.into()
                }
            }
            None => int(b, at, N, signed),
        }
    }
    fn column<const N: usize>(records: &[&[u8]], at: usize, signed: bool) -> Column {
        if signed {
            Column::Signed(
                records
                    .iter()
                    .map(|b| read::<N>(b, at, true) as i64)
                    .collect(),
            )
        } else {
            Column::Unsigned(
                records
                    .iter()
                    .map(|b| read::<N>(b, at, false) as u64)
                    .collect(),
            )
        }
    }
    Some(match size {
        1 => column::<1>(records, at, signed),
        2 => column::<2>(records, at, signed),
        4 => column::<4>(records, at, signed),
        8 => column::<8>(records, at, signed),
        _ => return None,
    })
}

/// The `len` bytes at `at`, or as many of them as the record holds.
fn within(bytes: &[u8], at: usize, len: usize) -> &[u8] {
    let end = at.saturating_add(len).min(bytes.len());
    bytes.get(at..end).unwrap_or(&[])
}

/// The column of field `f` over `records`.
fn column(f: &FieldLayout, records: &[&[u8]]) -> Column {
    let at = f.offset;
    let ints = |read: &dyn Fn(&[u8]) -> i128| -> Column {
        if signed(f) {
            Column::Signed(records.iter().map(|b| read(b) as i64).collect())
        } else {
            Column::Unsigned(records.iter().map(|b| read(b) as u64).collect())
        }
    };
    if let Some(bits) = f.bits {
        let read = |b: &[u8]| bitfield(f, bits, b);
        return match f.kind {
            FieldKind::Bool => Column::Boolean(records.iter().map(|b| read(b) != 0).collect()),
            FieldKind::Enum { values, .. } => Column::Enumerator(
                records
                    .iter()
                    .map(|b| enumerator(values, read(b)))
                    .collect(),
            ),
            _ => ints(&read),
        };
    }
    match f.kind {
        FieldKind::Int { size, signed } => int_column(records, at, size, signed)
            .unwrap_or_else(|| ints(&|b| int(b, at, size, signed))),
        FieldKind::Bool => Column::Boolean(
            records
                .iter()
                .map(|b| b.get(at).is_some_and(|v| *v != 0))
                .collect(),
        ),
        FieldKind::Text { len } => Column::Text(
            records
                .iter()
                .map(|b| crate::c_str(within(b, at, len)).into_owned())
                .collect(),
        ),
        FieldKind::Enum {
            size,
            signed,
            values,
        } => Column::Enumerator(
            records
                .iter()
                .map(|b| enumerator(values, int(b, at, size, signed)))
                .collect(),
        ),
        FieldKind::Float { size: 4 } => Column::Float(
            records
                .iter()
                .map(|b| f32::from_bits(int(b, at, 4, false) as u32).into())
                .collect(),
        ),
        FieldKind::Float { .. } => Column::Float(
            records
                .iter()
                .map(|b| f64::from_bits(int(b, at, 8, false) as u64))
                .collect(),
        ),
        FieldKind::IntList { size, signed, len } => {
            let item = |b: &[u8], i: usize| int(b, at + i * size, size, signed);
            if signed {
                Column::SignedList(
                    records
                        .iter()
                        .map(|b| (0..len).map(|i| item(b, i) as i64).collect())
                        .collect(),
                )
            } else {
                Column::UnsignedList(
                    records
                        .iter()
                        .map(|b| (0..len).map(|i| item(b, i) as u64).collect())
                        .collect(),
                )
            }
        }
        FieldKind::Bytes { len } => Column::Bytes(
            records
                .iter()
                .map(|b| within(b, at, len).to_vec())
                .collect(),
        ),
    }
}

/// A text field a loader adds to each record, made from one of its
/// fields: an errno's name from its number, a histogram drawn from its
/// slots, as Inspektor Gadget formats its typed fields.
#[derive(Debug, Clone)]
pub struct Derived {
    pub name: String,
    /// The index, in the layout's fields, of the field it is made from.
    pub from: usize,
    /// The text's usual length, which consumers size columns by.
    pub width: u32,
    pub format: Format,
}

/// How a derived field's text is made.
#[derive(Debug, Clone, Copy)]
pub enum Format {
    /// From an integer field's value (a signed one given as its bits).
    Value(fn(u64) -> String),
    /// From a list of log2 slots: the histogram as
    /// [`crate::cli::log2_hist`] draws it, several lines, the source
    /// field's name as its unit.
    Log2Histogram,
}

/// The consumer a generic loader was composed with, receiving records of
/// one [`Layout`], and the text fields derived from them.
pub struct LayoutSink {
    layout: Layout,
    derived: Vec<Derived>,
    short: std::cell::Cell<u64>,
}

impl LayoutSink {
    /// Tells the consumer which records come (see [`Sink::start`]).
    pub fn start(layout: Layout) -> Result<Self, String> {
        Self::start_with(layout, Vec::new())
    }

    /// [`Self::start`], each record followed by the fields `derived`.
    pub fn start_with(layout: Layout, derived: Vec<Derived>) -> Result<Self, String> {
        let mut schema = layout.schema();
        schema.fields.extend(derived.iter().map(|d| Field {
            name: d.name.clone(),
            ty: FieldType::Text(d.width),
        }));
        sink::start(&[schema])?;
        Ok(Self {
            layout,
            derived,
            short: std::cell::Cell::new(0),
        })
    }

    /// Sends a batch of records, each the bytes of one struct, in order.
    /// A record shorter than the struct is sent with the fields past its
    /// end zero or empty, and counted ([`Self::short`]).
    pub fn send<'a>(&self, records: impl IntoIterator<Item = &'a [u8]>) {
        let records: Vec<&[u8]> = records.into_iter().collect();
        let short = records
            .iter()
            .filter(|r| r.len() < self.layout.size)
            .count();
        self.short.set(self.short.get() + short as u64);
        let mut batch = batch_of(self.layout.fields, &records);
        for d in &self.derived {
            let unit = self.layout.fields.get(d.from).map_or("", |f| f.name);
            let values: Vec<String> = match (d.format, batch.columns.get(d.from)) {
                (Format::Value(format), Some(Column::Unsigned(v))) => {
                    v.iter().map(|&n| format(n)).collect()
                }
                (Format::Value(format), Some(Column::Signed(v))) => {
                    v.iter().map(|&n| format(n as u64)).collect()
                }
                (Format::Log2Histogram, Some(Column::UnsignedList(v))) => v
                    .iter()
                    .map(|slots| crate::cli::log2_hist(slots, unit))
                    .collect(),
                _ => vec![String::new(); records.len()],
            };
            batch.columns.push(Column::Text(values));
        }
        push(&batch);
    }

    /// How many records sent so far were shorter than the struct.
    pub fn short(&self) -> u64 {
        self.short.get()
    }

    /// Ends the stream: the consumer flushes and prints its totals.
    pub fn finish(self) {
        sink::finish();
    }
}

/// Sends a batch unless it is empty.
fn push(batch: &Batch) {
    if batch.rows > 0 {
        sink::push(batch);
    }
}

/// The consumer this probe was composed with, receiving records of `T`.
pub struct Sink<T> {
    _records: PhantomData<T>,
}

impl<T: Described> Sink<T> {
    /// Tells the consumer which records come; fails with the consumer's
    /// message when it cannot take them (a filter naming a missing field).
    pub fn start() -> Result<Self, String> {
        sink::start(&[T::schema()])?;
        Ok(Self {
            _records: PhantomData,
        })
    }

    /// Sends a batch of records, in order.
    pub fn send<'a>(&self, records: impl IntoIterator<Item = &'a T>)
    where
        T: 'a,
    {
        push(&T::batch(records));
    }

    /// Ends the stream: the consumer flushes and prints its totals.
    pub fn finish(self) {
        sink::finish();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every width and sign, whole and cut short, against the general
    /// reader the fast columns replace.
    #[test]
    fn int_columns_read_as_the_general_reader_does() {
        let full: Vec<u8> = (0..16u8).map(|i| i.wrapping_mul(37) | 0x80).collect();
        let records: Vec<&[u8]> = vec![&full, &full[..5], &full[..1], &[]];
        for size in [1, 2, 4, 8] {
            for signed in [false, true] {
                let fast = int_column(&records, 3, size, signed).unwrap();
                let general: Vec<i128> = records.iter().map(|b| int(b, 3, size, signed)).collect();
                match fast {
                    Column::Signed(v) => {
                        assert!(signed);
                        assert_eq!(v, general.iter().map(|&x| x as i64).collect::<Vec<_>>());
                    }
                    Column::Unsigned(v) => {
                        assert!(!signed);
                        assert_eq!(v, general.iter().map(|&x| x as u64).collect::<Vec<_>>());
                    }
                    _ => panic!("an int column"),
                }
            }
        }
        assert!(int_column(&records, 0, 3, false).is_none());
    }

    /// `struct { char tag[3]; s16 n; unsigned lo:3; int neg:5; enum e
    /// color (4 bytes); bool flag; u8 list[2]; }` as the generator lays it
    /// out.
    #[derive(Clone, Copy)]
    #[repr(C)]
    struct Probe {
        tag: [u8; 3],
        pad: u8,
        n: i16,
        bits: [u8; 2],
        color: i32,
        flag: u8,
        list: [u8; 2],
        tail: [u8; 1],
    }

    // SAFETY: integer fields only, 16 bytes without padding.
    unsafe impl bytemuck::Zeroable for Probe {}
    unsafe impl bytemuck::Pod for Probe {}

    /// The bindings' types have no `PartialEq`; their Debug form is exact.
    fn same<T: std::fmt::Debug>(got: T, want: T) {
        assert_eq!(format!("{got:?}"), format!("{want:?}"));
    }

    impl Described for Probe {
        const NAME: &'static str = "probe";
        const FIELDS: &'static [FieldLayout] = &[
            FieldLayout {
                name: "tag",
                offset: 0,
                bits: None,
                kind: FieldKind::Text { len: 3 },
            },
            FieldLayout {
                name: "n",
                offset: 4,
                bits: None,
                kind: FieldKind::Int {
                    size: 2,
                    signed: true,
                },
            },
            FieldLayout {
                name: "lo",
                offset: 6,
                bits: Some((0, 3)),
                kind: FieldKind::Int {
                    size: 8,
                    signed: false,
                },
            },
            FieldLayout {
                name: "neg",
                offset: 6,
                bits: Some((3, 5)),
                kind: FieldKind::Int {
                    size: 8,
                    signed: true,
                },
            },
            FieldLayout {
                name: "color",
                offset: 8,
                bits: None,
                kind: FieldKind::Enum {
                    size: 4,
                    signed: true,
                    values: &[("RED", 1), ("BLUE", -1)],
                },
            },
            FieldLayout {
                name: "flag",
                offset: 12,
                bits: None,
                kind: FieldKind::Bool,
            },
            FieldLayout {
                name: "list",
                offset: 13,
                bits: None,
                kind: FieldKind::IntList {
                    size: 1,
                    signed: false,
                    len: 2,
                },
            },
        ];
    }

    #[test]
    fn columns_follow_the_layout() {
        let mut p: Probe = bytemuck::Zeroable::zeroed();
        assert_eq!(std::mem::size_of::<Probe>(), 16);
        p.tag = *b"a\xffb";
        p.n = -7;
        // lo = 5 (bits 0..3), neg = -3 (bits 3..8: 0b11101).
        p.bits = [5 | (0b11101 << 3), 0];
        p.color = -1;
        p.flag = 1;
        p.list = [9, 200];
        let mut q = p;
        q.color = 42;
        q.n = 3;
        q.flag = 0;
        let batch = Probe::batch([&p, &q]);
        assert_eq!((batch.schema, batch.rows), (0, 2));
        same(
            batch.columns,
            vec![
                Column::Text(vec!["a\u{fffd}b".into(), "a\u{fffd}b".into()]),
                Column::Signed(vec![-7, 3]),
                Column::Unsigned(vec![5, 5]),
                Column::Signed(vec![-3, -3]),
                Column::Enumerator(vec!["BLUE".into(), "42".into()]),
                Column::Boolean(vec![true, false]),
                Column::UnsignedList(vec![vec![9, 200], vec![9, 200]]),
            ],
        );
        let schema = Probe::schema();
        assert_eq!(schema.name, "probe");
        let types: Vec<FieldType> = schema.fields.into_iter().map(|f| f.ty).collect();
        same(
            types,
            vec![
                FieldType::Text(3),
                FieldType::Signed(16),
                FieldType::Unsigned(3),
                FieldType::Signed(5),
                FieldType::Enumeration(vec!["RED".into(), "BLUE".into()]),
                FieldType::Boolean,
                FieldType::UnsignedList(2),
            ],
        );
    }

    #[test]
    fn a_short_record_reads_what_it_holds() {
        let mut p: Probe = bytemuck::Zeroable::zeroed();
        p.tag = *b"abc";
        p.n = -7;
        p.color = -1;
        let bytes = bytemuck::bytes_of(&p);
        // The text cut short, the integer whole; the rest past the end.
        let batch = batch_of(Probe::FIELDS, &[&bytes[..2], &bytes[..6]]);
        assert_eq!(batch.rows, 2);
        same(
            &batch.columns[..2],
            &[
                Column::Text(vec!["ab".into(), "abc".into()]),
                Column::Signed(vec![0, -7]),
            ][..],
        );
        same(
            &batch.columns[4],
            &Column::Enumerator(vec!["0".into(), "0".into()]),
        );
    }

    #[test]
    fn an_integer_wider_than_64_bits_does_not_panic() {
        let bytes = [0xffu8; 16];
        assert_eq!(int(&bytes, 0, 16, false), i128::from(u64::MAX));
        assert_eq!(int(&bytes, 8, 16, false), i128::from(u64::MAX));
        assert_eq!(int(&bytes, 12, 8, false), 0, "past the end reads 0");
    }
}
