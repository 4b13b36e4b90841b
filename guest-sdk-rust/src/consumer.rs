//! Consumers and stages: reading the batches of self-describing records a
//! probe sends (`wit/records.wit`) one record at a time.
//!
//! A consumer's bindings take the record types from here, so that the
//! methods below apply to them:
//!
//! ```ignore
//! wit_bindgen::generate!({
//!     path: "wit",
//!     world: "wasm-bpf:bpf/consumer",
//!     with: { "wasm-bpf:bpf/records@0.1.0": wasm_bpf_guest::bindings::records },
//! });
//!
//! fn push(batch: Batch) {
//!     for record in batch.records() {
//!         for (name, cell) in names.iter().zip(record.cells()) { /* ... */ }
//!     }
//! }
//! ```

use crate::bindings::records::{Batch, Column};

/// One value of a column, borrowed from its batch.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Cell<'a> {
    Signed(i64),
    Unsigned(u64),
    Boolean(bool),
    Text(&'a str),
    /// The enum value's name, or its number in decimal.
    Enumerator(&'a str),
    Float(f64),
    SignedList(&'a [i64]),
    UnsignedList(&'a [u64]),
    Bytes(&'a [u8]),
}

impl Cell<'_> {
    /// An integer as a count (a negative one as 0); `None` for a value of
    /// another kind.
    pub fn count(&self) -> Option<u64> {
        match self {
            Cell::Signed(v) => Some((*v).max(0) as u64),
            Cell::Unsigned(v) => Some(*v),
            _ => None,
        }
    }
}

/// Numbers in decimal, text and enumerators as they are, lists and bytes
/// as `[1, 2]`: the form a label or a table cell takes.
impl std::fmt::Display for Cell<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Cell::Signed(v) => write!(f, "{v}"),
            Cell::Unsigned(v) => write!(f, "{v}"),
            Cell::Boolean(v) => write!(f, "{v}"),
            Cell::Text(v) | Cell::Enumerator(v) => f.write_str(v),
            Cell::Float(v) => write!(f, "{v}"),
            Cell::SignedList(v) => write!(f, "{v:?}"),
            Cell::UnsignedList(v) => write!(f, "{v:?}"),
            Cell::Bytes(v) => write!(f, "{v:?}"),
        }
    }
}

impl Column {
    /// How many values it holds.
    pub fn len(&self) -> usize {
        match self {
            Column::Signed(v) => v.len(),
            Column::Unsigned(v) => v.len(),
            Column::Boolean(v) => v.len(),
            Column::Text(v) | Column::Enumerator(v) => v.len(),
            Column::Float(v) => v.len(),
            Column::SignedList(v) => v.len(),
            Column::UnsignedList(v) => v.len(),
            Column::Bytes(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Value `row`, or `None` past the end.
    pub fn get(&self, row: usize) -> Option<Cell<'_>> {
        Some(match self {
            Column::Signed(v) => Cell::Signed(*v.get(row)?),
            Column::Unsigned(v) => Cell::Unsigned(*v.get(row)?),
            Column::Boolean(v) => Cell::Boolean(*v.get(row)?),
            Column::Text(v) => Cell::Text(v.get(row)?),
            Column::Enumerator(v) => Cell::Enumerator(v.get(row)?),
            Column::Float(v) => Cell::Float(*v.get(row)?),
            Column::SignedList(v) => Cell::SignedList(v.get(row)?),
            Column::UnsignedList(v) => Cell::UnsignedList(v.get(row)?),
            Column::Bytes(v) => Cell::Bytes(v.get(row)?),
        })
    }

    /// The values whose place in `keep` is `true`, in order (values past
    /// the end of `keep` are dropped).
    pub fn select(&self, keep: &[bool]) -> Column {
        fn pick<T: Clone>(values: &[T], keep: &[bool]) -> Vec<T> {
            values
                .iter()
                .zip(keep)
                .filter(|(_, k)| **k)
                .map(|(v, _)| v.clone())
                .collect()
        }
        match self {
            Column::Signed(v) => Column::Signed(pick(v, keep)),
            Column::Unsigned(v) => Column::Unsigned(pick(v, keep)),
            Column::Boolean(v) => Column::Boolean(pick(v, keep)),
            Column::Text(v) => Column::Text(pick(v, keep)),
            Column::Enumerator(v) => Column::Enumerator(pick(v, keep)),
            Column::Float(v) => Column::Float(pick(v, keep)),
            Column::SignedList(v) => Column::SignedList(pick(v, keep)),
            Column::UnsignedList(v) => Column::UnsignedList(pick(v, keep)),
            Column::Bytes(v) => Column::Bytes(pick(v, keep)),
        }
    }
}

/// One record of a batch.
#[derive(Debug, Clone, Copy)]
pub struct Row<'a> {
    columns: &'a [Column],
    index: usize,
}

impl<'a> Row<'a> {
    /// The value of field `field` (its place in the schema), or `None`
    /// when the batch has no such column.
    pub fn get(&self, field: usize) -> Option<Cell<'a>> {
        self.columns.get(field)?.get(self.index)
    }

    /// The record's values, in field order.
    pub fn cells(&self) -> impl Iterator<Item = Cell<'a>> + 'a {
        let index = self.index;
        self.columns.iter().filter_map(move |c| c.get(index))
    }
}

impl Batch {
    /// Its records, in order. A batch whose columns hold fewer values than
    /// `rows` says (a probe's mistake) ends at the shortest column.
    pub fn records(&self) -> impl Iterator<Item = Row<'_>> {
        let rows = self
            .columns
            .iter()
            .map(Column::len)
            .fold(self.rows as usize, usize::min);
        let columns = self.columns.as_slice();
        (0..rows).map(move |index| Row { columns, index })
    }

    /// The batch of the records whose place in `keep` is `true`.
    pub fn select(&self, keep: &[bool]) -> Batch {
        Batch {
            schema: self.schema,
            rows: keep.iter().filter(|k| **k).count().min(self.rows as usize) as u32,
            columns: self.columns.iter().map(|c| c.select(keep)).collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch() -> Batch {
        Batch {
            schema: 1,
            rows: 3,
            columns: vec![
                Column::Unsigned(vec![1, 2, 3]),
                Column::Text(vec!["a".into(), "b".into(), "c".into()]),
                Column::SignedList(vec![vec![-1], vec![], vec![7, 8]]),
            ],
        }
    }

    #[test]
    fn records_read_across_columns() {
        let b = batch();
        let rows: Vec<Vec<Cell<'_>>> = b.records().map(|r| r.cells().collect()).collect();
        assert_eq!(
            rows[2],
            vec![
                Cell::Unsigned(3),
                Cell::Text("c"),
                Cell::SignedList(&[7, 8])
            ]
        );
        assert_eq!(rows.len(), 3);
        assert_eq!(
            b.records().nth(1).and_then(|r| r.get(1)),
            Some(Cell::Text("b"))
        );
        assert_eq!(b.records().next().and_then(|r| r.get(3)), None);
    }

    #[test]
    fn cells_print_and_count() {
        assert_eq!(Cell::SignedList(&[-1, 2]).to_string(), "[-1, 2]");
        assert_eq!(Cell::Enumerator("RED").to_string(), "RED");
        assert_eq!(Cell::Signed(-5).count(), Some(0));
        assert_eq!(Cell::Unsigned(9).count(), Some(9));
        assert_eq!(Cell::Text("9").count(), None);
    }

    #[test]
    fn a_short_column_ends_the_records() {
        let mut b = batch();
        b.columns[1] = Column::Text(vec!["a".into()]);
        assert_eq!(b.records().count(), 1);
        b.rows = 0;
        assert_eq!(b.records().count(), 0);
    }

    #[test]
    fn select_keeps_the_chosen_records() {
        let picked = batch().select(&[true, false, true]);
        assert_eq!(picked.rows, 2);
        assert_eq!(picked.schema, 1);
        let seconds: Vec<Option<Cell<'_>>> = picked.records().map(|r| r.get(1)).collect();
        assert_eq!(seconds, vec![Some(Cell::Text("a")), Some(Cell::Text("c"))]);
    }
}
