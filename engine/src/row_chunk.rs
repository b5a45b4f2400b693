//! Rows of storage values packed flat, for loads (COPY FROM, a replica's snapshot) that convert
//! millions of values on one thread and insert them on another. A row as a `Vec` of owned
//! values cost an allocation per row and per text value, and the writer thread then freed what
//! the converter thread had allocated (allocator locks and cross-thread frees were a tenth of a
//! load's time): here a chunk is one array of cells and one buffer for all its text and blobs.

use rusqlite::types::{Value, ValueRef};

/// Rows of `width` values each, in SQLite's storage classes.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RowChunk {
    width: usize,
    rows: usize,
    cells: Vec<Cell>,
    /// The bytes of every text and blob value, one after another.
    bytes: Vec<u8>,
}

/// One value; text and blobs are a range of the chunk's bytes.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Cell {
    Null,
    Integer(i64),
    Real(f64),
    Text { start: usize, end: usize },
    Blob { start: usize, end: usize },
}

impl RowChunk {
    /// An empty chunk with room for `rows` rows of `width` values and `bytes` bytes of text.
    pub fn with_capacity(width: usize, rows: usize, bytes: usize) -> Self {
        Self { width, rows: 0, cells: Vec::with_capacity(width * rows), bytes: Vec::with_capacity(bytes) }
    }

    pub fn width(&self) -> usize {
        self.width
    }

    /// Complete rows.
    pub fn len(&self) -> usize {
        self.rows
    }

    pub fn is_empty(&self) -> bool {
        self.rows == 0
    }

    /// Bytes of text and blob data held.
    pub fn data_bytes(&self) -> usize {
        self.bytes.len()
    }

    /// Appends a value to the row being built.
    pub fn push(&mut self, value: ValueRef<'_>) {
        let cell = match value {
            ValueRef::Null => Cell::Null,
            ValueRef::Integer(i) => Cell::Integer(i),
            ValueRef::Real(f) => Cell::Real(f),
            ValueRef::Text(t) => {
                let (start, end) = self.store(t);
                Cell::Text { start, end }
            }
            ValueRef::Blob(b) => {
                let (start, end) = self.store(b);
                Cell::Blob { start, end }
            }
        };
        self.cells.push(cell);
    }

    /// Appends a text value to the row being built, written by `write` straight into the
    /// chunk's buffer (no intermediate string).
    pub fn push_text_with(&mut self, write: impl FnOnce(&mut Vec<u8>)) {
        let start = self.bytes.len();
        write(&mut self.bytes);
        self.cells.push(Cell::Text { start, end: self.bytes.len() });
    }

    /// Ends the row being built: it must have exactly `width` values.
    ///
    /// # Panics
    /// In debug builds, on a row of the wrong width (a caller's bug: callers check widths
    /// against the input before converting).
    pub fn end_row(&mut self) {
        debug_assert_eq!(self.cells.len(), (self.rows + 1) * self.width, "a row of the wrong width");
        self.rows += 1;
    }

    /// Drops the values of a row begun but not ended.
    pub fn abandon_row(&mut self) {
        self.cells.truncate(self.rows * self.width);
    }

    fn store(&mut self, data: &[u8]) -> (usize, usize) {
        let start = self.bytes.len();
        self.bytes.extend_from_slice(data);
        (start, self.bytes.len())
    }

    /// The complete rows, in order, each an iterator over its values.
    pub fn rows(&self) -> impl ExactSizeIterator<Item = impl ExactSizeIterator<Item = ValueRef<'_>> + '_> + '_ {
        (0..self.rows).map(move |row| self.cells[row * self.width..(row + 1) * self.width].iter().map(|cell| self.value(*cell)))
    }

    fn value(&self, cell: Cell) -> ValueRef<'_> {
        match cell {
            Cell::Null => ValueRef::Null,
            Cell::Integer(i) => ValueRef::Integer(i),
            Cell::Real(f) => ValueRef::Real(f),
            Cell::Text { start, end } => ValueRef::Text(&self.bytes[start..end]),
            Cell::Blob { start, end } => ValueRef::Blob(&self.bytes[start..end]),
        }
    }

    /// The rows as owned values (for tests and small callers).
    pub fn to_values(&self) -> Vec<Vec<Value>> {
        self.rows().map(|row| row.map(owned).collect()).collect()
    }
}

/// An owned copy of a storage value. Text in a chunk or in a converter's input is UTF-8
/// already; anything else would be replaced, not refused.
pub fn owned(value: ValueRef<'_>) -> Value {
    match value {
        ValueRef::Null => Value::Null,
        ValueRef::Integer(i) => Value::Integer(i),
        ValueRef::Real(f) => Value::Real(f),
        ValueRef::Text(t) => Value::Text(String::from_utf8_lossy(t).into_owned()),
        ValueRef::Blob(b) => Value::Blob(b.to_vec()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_come_back_as_pushed() {
        let mut chunk = RowChunk::with_capacity(3, 2, 0);
        chunk.push(ValueRef::Integer(1));
        chunk.push(ValueRef::Text(b"one"));
        chunk.push(ValueRef::Null);
        chunk.end_row();
        chunk.push(ValueRef::Real(2.5));
        chunk.push_text_with(|out| out.extend_from_slice("twø".as_bytes()));
        chunk.push(ValueRef::Blob(&[0, 1]));
        chunk.end_row();
        chunk.push(ValueRef::Integer(3));
        chunk.abandon_row();
        assert_eq!(chunk.len(), 2);
        assert_eq!(
            chunk.to_values(),
            vec![
                vec![Value::Integer(1), Value::Text("one".into()), Value::Null],
                vec![Value::Real(2.5), Value::Text("twø".into()), Value::Blob(vec![0, 1])],
            ]
        );
    }

    #[test]
    fn a_chunk_of_zero_width_rows_counts_them() {
        let mut chunk = RowChunk::with_capacity(0, 2, 0);
        chunk.end_row();
        chunk.end_row();
        assert_eq!(chunk.rows().map(|row| row.len()).collect::<Vec<_>>(), vec![0, 0]);
    }
}
