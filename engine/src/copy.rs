//! COPY: the data formats of `COPY ... FROM STDIN` and `COPY ... TO STDOUT` (text and CSV, as
//! PostgreSQL writes and reads them). The front end only moves the bytes; parsing rows out of
//! them and writing rows into them is here, next to the types it must respect.

use std::borrow::Cow;

use arrow::array::{Array, ArrayRef, RecordBatch};
use rusqlite::types::Value as SqlValue;
use datafusion::sql::sqlparser::ast::{CopyLegacyCsvOption, CopyLegacyOption, CopyOption};

use crate::catalog::PgType;
use crate::error::{EngineError, Result};
use crate::value::{format_date, format_decimal, format_float8, format_timestamp, format_timestamptz};

/// A `COPY ... FROM STDIN` waiting for its data: the table, the columns the data fills, the
/// format. Hand the data to [`crate::Session::copy_in`].
#[derive(Debug, Clone)]
pub struct CopyIn {
    pub table: String,
    pub columns: Vec<String>,
    pub format: CopyFormat,
}

/// Text or CSV, with PostgreSQL's options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopyFormat {
    pub csv: bool,
    pub delimiter: char,
    pub null: String,
    pub header: bool,
    pub quote: char,
    pub escape: char,
}

impl Default for CopyFormat {
    fn default() -> Self {
        Self { csv: false, delimiter: '\t', null: "\\N".into(), header: false, quote: '"', escape: '"' }
    }
}

impl CopyFormat {
    /// The format a COPY statement's options ask for.
    ///
    /// # Errors
    /// BINARY and other formats rhei does not read or write (0A000).
    pub fn from_options(options: &[CopyOption], legacy: &[CopyLegacyOption]) -> Result<Self> {
        let mut format = Self::default();
        let mut null = None;
        let mut delimiter = None;
        for option in options {
            match option {
                CopyOption::Format(name) => match name.value.to_ascii_lowercase().as_str() {
                    "text" => format.csv = false,
                    "csv" => format.csv = true,
                    other => return Err(EngineError::unsupported(format!("COPY format \"{other}\""))),
                },
                CopyOption::Delimiter(c) => delimiter = Some(*c),
                CopyOption::Null(s) => null = Some(s.clone()),
                CopyOption::Header(h) => format.header = *h,
                CopyOption::Quote(c) => format.quote = *c,
                CopyOption::Escape(c) => format.escape = *c,
                CopyOption::Freeze(_) | CopyOption::Encoding(_) => {}
                other => return Err(EngineError::unsupported(format!("COPY option {other}"))),
            }
        }
        for option in legacy {
            match option {
                CopyLegacyOption::Binary => return Err(EngineError::unsupported("COPY BINARY")),
                CopyLegacyOption::Delimiter(c) => delimiter = Some(*c),
                CopyLegacyOption::Null(s) => null = Some(s.clone()),
                CopyLegacyOption::Csv(csv_options) => {
                    format.csv = true;
                    for o in csv_options {
                        match o {
                            CopyLegacyCsvOption::Header => format.header = true,
                            CopyLegacyCsvOption::Quote(c) => format.quote = *c,
                            CopyLegacyCsvOption::Escape(c) => format.escape = *c,
                            other => return Err(EngineError::unsupported(format!("COPY option {other}"))),
                        }
                    }
                }
                other => return Err(EngineError::unsupported(format!("COPY option {other}"))),
            }
        }
        if format.csv {
            format.delimiter = delimiter.unwrap_or(',');
            format.null = null.unwrap_or_default();
        } else {
            format.delimiter = delimiter.unwrap_or('\t');
            format.null = null.unwrap_or_else(|| "\\N".into());
        }
        Ok(format)
    }

    /// Splits COPY input into rows of fields (`None` for NULL).
    ///
    /// # Errors
    /// Invalid UTF-8, an unterminated CSV quote, a row with the wrong number of fields (22P04).
    pub fn parse(&self, data: &[u8], columns: usize) -> Result<Vec<Vec<Option<String>>>> {
        let text = utf8(data)?;
        let mut rows = if self.csv { self.parse_csv(text)? } else { self.parse_text(text)? };
        if self.header && !rows.is_empty() {
            rows.remove(0);
        }
        for (i, row) in rows.iter().enumerate() {
            if row.len() != columns {
                return Err(wrong_width(i as u64 + 1, row.len() > columns));
            }
        }
        Ok(rows)
    }

    fn parse_text(&self, text: &str) -> Result<Vec<Vec<Option<String>>>> {
        let mut rows = Vec::new();
        for (n, line) in text_lines(text) {
            let mut fields = Vec::new();
            for raw in line.split(self.delimiter) {
                fields.push(self.text_field(raw, n)?.map(Cow::into_owned));
            }
            rows.push(fields);
        }
        Ok(rows)
    }

    /// One text-format field: `None` for the NULL marker, else the value with escapes resolved
    /// (borrowed when it has none, which is nearly always).
    fn text_field<'a>(&self, raw: &'a str, line: u64) -> Result<Option<Cow<'a, str>>> {
        if raw == self.null {
            Ok(None)
        } else if raw.contains('\\') {
            unescape_text(raw, line).map(|s| Some(Cow::Owned(s)))
        } else {
            Ok(Some(Cow::Borrowed(raw)))
        }
    }

    /// Parses COPY input and converts every field to the storage form of its column's type
    /// (`types`, in input order), handing rows to `emit` in chunks as they are ready, in input
    /// order; stops early when `emit` returns false. Returns the rows converted.
    ///
    /// Text input is converted line by line without an intermediate copy of its fields, so a
    /// large load costs one pass; CSV is split into fields first (a quoted field may span lines).
    ///
    /// # Errors
    /// As [`CopyFormat::parse`], and the type's input error for a value it does not accept
    /// (22P02, 22003, 22001, ...).
    pub fn convert(
        &self,
        data: &[u8],
        types: &[PgType],
        tz_offset_secs: i32,
        mut emit: impl FnMut(Vec<Vec<SqlValue>>) -> bool,
    ) -> Result<u64> {
        let value = |ty: PgType, text: Option<&str>| match text {
            None => Ok(SqlValue::Null),
            Some(text) => crate::oltp::functions::storage_value_in(ty, text, tz_offset_secs),
        };
        let mut chunk = Vec::with_capacity(COPY_CHUNK_ROWS);
        let mut converted = 0;
        let mut push = |row: Vec<SqlValue>, chunk: &mut Vec<Vec<SqlValue>>| {
            chunk.push(row);
            converted += 1;
            if chunk.len() < COPY_CHUNK_ROWS {
                return true;
            }
            emit(std::mem::replace(chunk, Vec::with_capacity(COPY_CHUNK_ROWS)))
        };
        if self.csv {
            for (i, row) in self.parse(data, types.len())?.into_iter().enumerate() {
                let values = row.iter().zip(types).map(|(text, &ty)| value(ty, text.as_deref())).collect::<Result<_>>();
                let values = values.map_err(|e| at_line(e, i as u64 + 1))?;
                if !push(values, &mut chunk) {
                    return Ok(converted);
                }
            }
        } else {
            let text = utf8(data)?;
            for (n, line) in text_lines(text).skip(usize::from(self.header)) {
                let mut values = Vec::with_capacity(types.len());
                for raw in line.split(self.delimiter) {
                    let Some(&ty) = types.get(values.len()) else {
                        return Err(wrong_width(n, true));
                    };
                    let field = self.text_field(raw, n)?;
                    values.push(value(ty, field.as_deref()).map_err(|e| at_line(e, n))?);
                }
                if values.len() < types.len() {
                    return Err(wrong_width(n, false));
                }
                if !push(values, &mut chunk) {
                    return Ok(converted);
                }
            }
        }
        if !chunk.is_empty() {
            emit(chunk);
        }
        Ok(converted)
    }

    fn parse_csv(&self, text: &str) -> Result<Vec<Vec<Option<String>>>> {
        let mut rows = Vec::new();
        let mut row: Vec<Option<String>> = Vec::new();
        let mut field = String::new();
        let mut quoted = false;
        let mut was_quoted = false;
        let mut line = 1u64;
        let mut chars = text.chars().peekable();
        let mut at_line_start = true;
        while let Some(c) = chars.next() {
            if quoted {
                if c == self.escape && self.escape != self.quote && chars.peek() == Some(&self.quote) {
                    field.push(self.quote);
                    chars.next();
                } else if c == self.quote {
                    if self.escape == self.quote && chars.peek() == Some(&self.quote) {
                        field.push(self.quote);
                        chars.next();
                    } else {
                        quoted = false;
                    }
                } else {
                    if c == '\n' {
                        line += 1;
                    }
                    field.push(c);
                }
                continue;
            }
            if at_line_start && c == '\\' && chars.peek() == Some(&'.') {
                break;
            }
            at_line_start = false;
            if c == self.quote {
                quoted = true;
                was_quoted = true;
            } else if c == self.delimiter {
                row.push(self.csv_field(std::mem::take(&mut field), was_quoted));
                was_quoted = false;
            } else if c == '\n' || c == '\r' {
                if c == '\r' && chars.peek() == Some(&'\n') {
                    chars.next();
                }
                row.push(self.csv_field(std::mem::take(&mut field), was_quoted));
                was_quoted = false;
                rows.push(std::mem::take(&mut row));
                line += 1;
                at_line_start = true;
            } else {
                field.push(c);
            }
        }
        if quoted {
            return Err(EngineError::BadCopyData { line, message: "unterminated CSV quoted field".into() });
        }
        if !field.is_empty() || was_quoted || !row.is_empty() {
            row.push(self.csv_field(field, was_quoted));
            rows.push(row);
        }
        Ok(rows)
    }

    fn csv_field(&self, field: String, was_quoted: bool) -> Option<String> {
        (was_quoted || field != self.null).then_some(field)
    }

    /// One batch as COPY output lines.
    pub fn encode(&self, batch: &RecordBatch, out: &mut Vec<u8>) {
        // char(n) values are kept without their trailing blanks and shown padded.
        let widths: Vec<Option<usize>> = batch.schema().fields().iter().map(|f| crate::catalog::types::bpchar_width(f)).collect();
        for row in 0..batch.num_rows() {
            for (i, column) in batch.columns().iter().enumerate() {
                if i > 0 {
                    out.extend_from_slice(self.delimiter.encode_utf8(&mut [0; 4]).as_bytes());
                }
                let text = pg_text(column, row).map(|v| match widths[i] {
                    Some(n) => crate::catalog::types::pad_bpchar(v, n),
                    None => v,
                });
                match text {
                    None => out.extend_from_slice(self.null.as_bytes()),
                    Some(value) if self.csv => self.write_csv_field(&value, out),
                    Some(value) => escape_text(&value, self.delimiter, out),
                }
            }
            out.push(b'\n');
        }
    }

    fn write_csv_field(&self, value: &str, out: &mut Vec<u8>) {
        let needs_quotes = value.is_empty() && self.null.is_empty()
            || value == self.null
            || value.contains([self.delimiter, self.quote, '\n', '\r'])
            || value.starts_with("\\.");
        if !needs_quotes {
            out.extend_from_slice(value.as_bytes());
            return;
        }
        let mut buf = [0; 4];
        let quote = self.quote.encode_utf8(&mut buf).as_bytes().to_vec();
        out.extend_from_slice(&quote);
        for c in value.chars() {
            if c == self.quote || c == self.escape {
                out.extend_from_slice(self.escape.encode_utf8(&mut [0; 4]).as_bytes());
            }
            out.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes());
        }
        out.extend_from_slice(&quote);
    }
}

/// Converts `data` for the writer and sends it down `tx`, ending with `End` or `Failed`. With
/// `schema` (the rows fill every column of a table with that Arrow schema, in order), the rows
/// are also built into Arrow batches of about a segment each, for as long as `want_batches`
/// holds: a COPY into an empty table hands them to sync, which then need not read the table
/// back out of SQLite.
pub fn feed_writer(
    format: &CopyFormat,
    data: &[u8],
    types: &[PgType],
    tz_offset_secs: i32,
    schema: Option<arrow::datatypes::SchemaRef>,
    want_batches: &std::sync::atomic::AtomicBool,
    tx: &std::sync::mpsc::SyncSender<CopyChunk>,
) {
    let mut builder = schema.map(crate::oltp::convert::BatchBuilder::new);
    // A value Arrow cannot take only ends the batches (sync then reads SQLite, as without them).
    let send_batch = |builder: &mut Option<crate::oltp::convert::BatchBuilder>| match builder.as_mut().map(|b| b.finish()) {
        Some(Ok(batch)) => tx.send(CopyChunk::Batch(batch)).is_ok(),
        Some(Err(_)) => {
            *builder = None;
            true
        }
        None => true,
    };
    let converted = format.convert(data, types, tz_offset_secs, |rows| {
        if builder.is_some() && !want_batches.load(std::sync::atomic::Ordering::Relaxed) {
            builder = None;
        }
        if let Some(b) = builder.as_mut()
            && rows.iter().any(|row| b.push_values(row).is_err())
        {
            builder = None;
        }
        if tx.send(CopyChunk::Rows(rows)).is_err() {
            return false;
        }
        builder.as_ref().is_none_or(|b| b.len() < crate::olap::store::SEGMENT_ROWS) || send_batch(&mut builder)
    });
    let last = match converted {
        Err(e) => CopyChunk::Failed(e),
        Ok(_) if builder.as_ref().is_some_and(|b| !b.is_empty()) && !send_batch(&mut builder) => return,
        Ok(_) => CopyChunk::End,
    };
    let _ = tx.send(last);
}

/// Rows per chunk [`CopyFormat::convert`] hands on: large enough that the hand-off costs
/// nothing, small enough that conversion and insertion overlap.
const COPY_CHUNK_ROWS: usize = 4096;

/// COPY input on its way to the writer, converted, in order.
#[derive(Debug)]
pub enum CopyChunk {
    Rows(Vec<Vec<SqlValue>>),
    /// The rows of the `Rows` chunks sent since the previous batch, as Arrow, for a load into
    /// an empty table (see `sync::bulk`).
    Batch(RecordBatch),
    /// The input was bad; nothing of it may stay.
    Failed(EngineError),
    /// Every row has been sent.
    End,
}

fn utf8(data: &[u8]) -> Result<&str> {
    std::str::from_utf8(data)
        .map_err(|_| EngineError::BadCopyData { line: 0, message: "invalid byte sequence for encoding \"UTF8\"".into() })
}

/// The data lines of text-format input with their 1-based numbers, up to the `\.` end marker.
fn text_lines(text: &str) -> impl Iterator<Item = (u64, &str)> {
    let body = text.strip_suffix('\n').unwrap_or(text);
    body.split('\n')
        .filter(move |_| !body.is_empty())
        .map(|line| line.strip_suffix('\r').unwrap_or(line))
        .take_while(|line| *line != "\\.")
        .enumerate()
        .map(|(i, line)| (i as u64 + 1, line))
}

fn wrong_width(line: u64, extra: bool) -> EngineError {
    let message = if extra { "extra data after last expected column" } else { "missing data for column" };
    EngineError::BadCopyData { line, message: message.into() }
}

/// A value's conversion error, with the line of the COPY input it came from where the error
/// carries one.
fn at_line(error: EngineError, line: u64) -> EngineError {
    match error {
        EngineError::BadCopyData { message, .. } => EngineError::BadCopyData { line, message },
        other => other,
    }
}

fn unescape_text(raw: &str, line: u64) -> Result<String> {
    if !raw.contains('\\') {
        return Ok(raw.to_string());
    }
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('b') => out.push('\u{8}'),
            Some('f') => out.push('\u{c}'),
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('t') => out.push('\t'),
            Some('v') => out.push('\u{b}'),
            Some(d @ '0'..='7') => {
                let mut value = d.to_digit(8).unwrap_or(0);
                for _ in 0..2 {
                    match chars.peek().and_then(|c| c.to_digit(8)) {
                        Some(next) => {
                            value = value * 8 + next;
                            chars.next();
                        }
                        None => break,
                    }
                }
                out.push(char::from_u32(value).unwrap_or('\u{fffd}'));
            }
            Some(other) => out.push(other),
            None => return Err(EngineError::BadCopyData { line, message: "end of line after a backslash".into() }),
        }
    }
    Ok(out)
}

fn escape_text(value: &str, delimiter: char, out: &mut Vec<u8>) {
    for c in value.chars() {
        match c {
            '\\' => out.extend_from_slice(b"\\\\"),
            '\n' => out.extend_from_slice(b"\\n"),
            '\r' => out.extend_from_slice(b"\\r"),
            '\t' if delimiter == '\t' => out.extend_from_slice(b"\\t"),
            c if c == delimiter => {
                out.push(b'\\');
                out.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes());
            }
            c => out.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes()),
        }
    }
}

/// PostgreSQL's text output of one Arrow value (`None` for NULL).
pub fn pg_text(column: &ArrayRef, row: usize) -> Option<String> {
    use arrow::array::AsArray;
    use arrow::datatypes::*;
    use arrow::datatypes::{DataType, TimeUnit};
    if column.is_null(row) {
        return None;
    }
    Some(match column.data_type() {
        DataType::Boolean => (if column.as_boolean().value(row) { "t" } else { "f" }).to_string(),
        DataType::Int16 => column.as_primitive::<Int16Type>().value(row).to_string(),
        DataType::Int32 => column.as_primitive::<Int32Type>().value(row).to_string(),
        DataType::Int64 => column.as_primitive::<Int64Type>().value(row).to_string(),
        DataType::Float32 => crate::value::format_float4(column.as_primitive::<Float32Type>().value(row)),
        DataType::Float64 => format_float8(column.as_primitive::<Float64Type>().value(row)),
        DataType::Decimal128(_, s) => format_decimal(column.as_primitive::<Decimal128Type>().value(row), *s),
        DataType::Date32 => format_date(column.as_primitive::<Date32Type>().value(row).into()),
        DataType::Timestamp(TimeUnit::Microsecond, None) => {
            format_timestamp(column.as_primitive::<TimestampMicrosecondType>().value(row))
        }
        DataType::Timestamp(TimeUnit::Microsecond, Some(tz)) => {
            // The column's zone is the session's (`SET TimeZone`); rhei's own columns are UTC.
            let offset = crate::value::zone_offset_seconds(tz.trim_start_matches("UTC")).unwrap_or(0);
            format_timestamptz(column.as_primitive::<TimestampMicrosecondType>().value(row), offset)
        }
        DataType::Utf8 => column.as_string::<i32>().value(row).to_string(),
        DataType::Binary => {
            let bytes = column.as_binary::<i32>().value(row);
            let mut s = String::with_capacity(2 + bytes.len() * 2);
            s.push_str("\\x");
            for b in bytes {
                s.push_str(&format!("{b:02x}"));
            }
            s
        }
        _ => arrow::util::display::array_value_to_string(column, row).unwrap_or_default(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_format_round_trips_escapes_and_nulls() {
        let f = CopyFormat::default();
        let rows = f.parse(b"1\ta\\tb\t\\N\n2\tx\\\\y\tz\n\\.\n", 3).unwrap();
        assert_eq!(rows, vec![
            vec![Some("1".into()), Some("a\tb".into()), None],
            vec![Some("2".into()), Some("x\\y".into()), Some("z".into())]
        ]);
        assert_eq!(f.parse(b"1\t2\n", 3).unwrap_err().sqlstate(), "22P04");
    }

    #[test]
    fn csv_handles_quotes_newlines_headers_and_empty_nulls() {
        let f = CopyFormat { csv: true, delimiter: ',', null: String::new(), header: true, ..CopyFormat::default() };
        let rows = f.parse(b"id,name,note\n1,\"a,b\",\n2,\"say \"\"hi\"\"\nbye\",\"\"\n", 3).unwrap();
        assert_eq!(rows, vec![
            vec![Some("1".into()), Some("a,b".into()), None],
            vec![Some("2".into()), Some("say \"hi\"\nbye".into()), Some(String::new())]
        ]);
    }
}
