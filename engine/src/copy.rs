//! COPY: the data formats of `COPY ... FROM STDIN` and `COPY ... TO STDOUT` (text and CSV, as
//! PostgreSQL writes and reads them). The front end only moves the bytes; parsing rows out of
//! them and writing rows into them is here, next to the types it must respect.

use std::borrow::Cow;

use arrow::array::{Array, ArrayRef, RecordBatch};
use rusqlite::types::{Value as SqlValue, ValueRef};
use datafusion::sql::sqlparser::ast::{CopyLegacyCsvOption, CopyLegacyOption, CopyOption};

use crate::catalog::PgType;
use crate::error::{EngineError, Result};
use crate::row_chunk::RowChunk;
use crate::value::{format_date, format_decimal, format_float8, format_timestamp, format_timestamptz_in};
use crate::zone::TimeZone;

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

/// `COPY ... WITH (HEADER on, FREEZE 1)` as sqlparser reads it (`TRUE`/`FALSE`): PostgreSQL
/// takes any boolean spelling for these options, sqlparser only the two keywords. `None` when
/// `sql` is not a COPY or has nothing to change.
pub fn normalize_boolean_options(sql: &str) -> Option<String> {
    use datafusion::sql::sqlparser::dialect::PostgreSqlDialect;
    use datafusion::sql::sqlparser::tokenizer::{Token, Tokenizer};
    let mut tokens = Tokenizer::new(&PostgreSqlDialect {}, sql).tokenize().ok()?;
    let is_word = |t: &Token, words: &[&str]| matches!(t, Token::Word(w) if w.quote_style.is_none() && words.iter().any(|k| w.value.eq_ignore_ascii_case(k)));
    if !tokens.iter().find(|t| !matches!(t, Token::Whitespace(_))).is_some_and(|t| is_word(t, &["copy"])) {
        return None;
    }
    let mut changed = false;
    for i in 0..tokens.len() {
        if !is_word(&tokens[i], &["header", "freeze"]) {
            continue;
        }
        let Some(next) = (i + 1..tokens.len()).find(|&j| !matches!(tokens[j], Token::Whitespace(_))) else { continue };
        let value = match &tokens[next] {
            Token::Word(w) if w.quote_style.is_none() => w.value.to_ascii_lowercase(),
            Token::Number(n, _) => n.clone(),
            Token::SingleQuotedString(s) => s.to_ascii_lowercase(),
            _ => continue,
        };
        let on = match value.as_str() {
            "on" | "1" | "yes" | "true" => true,
            "off" | "0" | "no" | "false" => false,
            _ => continue,
        };
        tokens[next] = Token::make_keyword(if on { "TRUE" } else { "FALSE" });
        changed = true;
    }
    changed.then(|| tokens.iter().map(ToString::to_string).collect())
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
        for (what, c) in [("delimiter", delimiter), ("quote", Some(format.quote)), ("escape", Some(format.escape))] {
            if c.is_some_and(|c| !c.is_ascii()) {
                return Err(EngineError::unsupported(format!("COPY {what} that is not a single one-byte character")));
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
        let text = utf8(data, 1)?;
        let mut rows = if self.csv { self.parse_csv(text)?.0 } else { self.parse_text(text)? };
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
        for (n, line) in text_lines(text).take_while(|(_, line)| !is_end_marker(line)) {
            let mut fields = Vec::new();
            for (raw, escaped) in text_fields(line, self.delimiter) {
                fields.push(self.text_field(raw, escaped, n)?.map(Cow::into_owned));
            }
            rows.push(fields);
        }
        Ok(rows)
    }

    /// One text-format field: `None` for the NULL marker, else the value with escapes resolved
    /// (borrowed when it has none, which is nearly always).
    fn text_field<'a>(&self, raw: &'a str, escaped: bool, line: u64) -> Result<Option<Cow<'a, str>>> {
        if raw == self.null {
            Ok(None)
        } else if escaped {
            unescape_text(raw, line).map(|s| Some(Cow::Owned(s)))
        } else {
            Ok(Some(Cow::Borrowed(raw)))
        }
    }

    /// A reader that converts COPY input handed to it piece by piece, in any split (see
    /// [`CopyReader`]).
    pub fn reader<'a>(&'a self, types: &'a [PgType], zone: TimeZone) -> CopyReader<'a> {
        CopyReader {
            format: self,
            types,
            zone,
            partial: Vec::new(),
            rows_before: 0,
            header_pending: self.header,
            ended: false,
            csv_scan: CsvScan::default(),
            chunk: RowChunk::with_capacity(types.len(), COPY_CHUNK_ROWS, 0),
            chunk_rows: COPY_CHUNK_ROWS,
            converted: 0,
            trailing: Vec::new(),
            check_unconstrained: true,
        }
    }

    /// Splits CSV text into rows of fields; also says whether it stopped at the `\.` end marker.
    fn parse_csv(&self, text: &str) -> Result<(Vec<Vec<Option<String>>>, bool)> {
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
                // As in PostgreSQL, an escape (when it differs from the quote) makes a following
                // quote or escape literal; before anything else it is itself literal.
                if c == self.escape
                    && self.escape != self.quote
                    && let Some(&next) = chars.peek().filter(|&&n| n == self.quote || n == self.escape)
                {
                    field.push(next);
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
                return Ok((rows, true));
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
        Ok((rows, false))
    }

    fn csv_field(&self, field: String, was_quoted: bool) -> Option<String> {
        (was_quoted || field != self.null).then_some(field)
    }

    /// One batch as COPY output lines, timestamptz values in the session's `zone`.
    pub fn encode(&self, batch: &RecordBatch, zone: TimeZone, out: &mut Vec<u8>) {
        // char(n) values are kept without their trailing blanks and shown padded.
        let widths: Vec<Option<usize>> = batch.schema().fields().iter().map(|f| crate::catalog::types::bpchar_width(f)).collect();
        for row in 0..batch.num_rows() {
            for (i, column) in batch.columns().iter().enumerate() {
                if i > 0 {
                    out.extend_from_slice(self.delimiter.encode_utf8(&mut [0; 4]).as_bytes());
                }
                let text = pg_text_in(column, row, Some(zone)).map(|v| match widths[i] {
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

    /// The header line of `COPY ... TO ... (HEADER)`: the column names, quoted or escaped as
    /// values are.
    pub fn encode_header(&self, schema: &arrow::datatypes::Schema, out: &mut Vec<u8>) {
        for (i, field) in schema.fields().iter().enumerate() {
            if i > 0 {
                out.extend_from_slice(self.delimiter.encode_utf8(&mut [0; 4]).as_bytes());
            }
            if self.csv {
                self.write_csv_field(field.name(), out);
            } else {
                escape_text(field.name(), self.delimiter, out);
            }
        }
        out.push(b'\n');
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

/// Converts the COPY input arriving on `input` for the writer and hands it to `out` (false: the
/// writer stopped, stop too), ending with `End` or `Failed` (also when the input stops without its `End`: the client gave up or
/// went away, and nothing of the load may stay). With `schema` (the rows fill every column of a
/// table with that Arrow schema, in order), the rows are also built into Arrow batches of about
/// a segment each, for as long as `want_batches` holds: a COPY into an empty table hands them to
/// sync, which then need not read the table back out of SQLite.
pub fn feed_writer(
    format: &CopyFormat,
    input: &mut tokio::sync::mpsc::Receiver<CopyInput>,
    types: &[PgType],
    zone: TimeZone,
    schema: Option<arrow::datatypes::SchemaRef>,
    want_batches: &std::sync::atomic::AtomicBool,
    out: &mut dyn FnMut(CopyChunk) -> bool,
) {
    let mut builder = schema.map(|s| crate::oltp::convert::BatchBuilder::for_segments(s, crate::olap::store::SEGMENT_ROWS));
    // A value Arrow cannot take only ends the batches (sync then reads SQLite, as without them).
    let send_batch = |builder: &mut Option<crate::oltp::convert::BatchBuilder>, out: &mut dyn FnMut(CopyChunk) -> bool| match builder.as_mut().map(|b| b.finish()) {
        Some(Ok(batch)) => out(CopyChunk::Batch(batch)),
        Some(Err(_)) => {
            *builder = None;
            true
        }
        None => true,
    };
    let converted = {
        let mut emit = |rows: RowChunk| {
            if builder.is_some() && !want_batches.load(std::sync::atomic::Ordering::Relaxed) {
                builder = None;
            }
            if let Some(b) = builder.as_mut()
                && rows.rows().any(|row| b.push_refs(row).is_err())
            {
                builder = None;
            }
            if !out(CopyChunk::Rows(rows)) {
                return false;
            }
            builder.as_ref().is_none_or(|b| b.len() < crate::olap::store::SEGMENT_ROWS) || send_batch(&mut builder, out)
        };
        let mut reader = format.reader(types, zone);
        loop {
            match input.blocking_recv() {
                Some(CopyInput::Data(data)) => match reader.feed(&data, &mut emit) {
                    Ok(true) => {}
                    // The writer stopped (it failed on a row, or went away): it has its answer.
                    Ok(false) => return,
                    Err(e) => break Err(e),
                },
                Some(CopyInput::End) => break reader.finish(&mut emit),
                None => break Err(EngineError::CopyFailed { message: "the client stopped sending COPY data".into() }),
            }
        }
    };
    let last = match converted {
        Err(e) => CopyChunk::Failed(e),
        Ok(_) if builder.as_ref().is_some_and(|b| !b.is_empty()) && !send_batch(&mut builder, out) => return,
        Ok(_) => CopyChunk::End,
    };
    out(last);
}

/// COPY input as the client sends it: pieces of data in any split, then the end.
#[derive(Debug)]
pub enum CopyInput {
    Data(bytes::Bytes),
    End,
}

/// COPY input converted as it arrives. [`CopyReader::feed`] converts the rows completed by the
/// input so far and keeps the rest (a row split across CopyData messages) for the next piece;
/// [`CopyReader::finish`] converts a last row without a line end. Rows go to `emit` in chunks,
/// in input order, each field in the storage form of its column's type.
///
/// Text input is converted line by line without an intermediate copy of its fields; CSV is
/// split into fields first (a quoted field may span lines).
pub struct CopyReader<'a> {
    format: &'a CopyFormat,
    types: &'a [PgType],
    zone: TimeZone,
    /// Input after the last complete row.
    partial: Vec<u8>,
    /// Lines (text) or rows (CSV) converted so far, so errors name the line of the whole input.
    rows_before: u64,
    header_pending: bool,
    /// The `\.` end marker was seen: what follows it is ignored, as PostgreSQL does.
    ended: bool,
    csv_scan: CsvScan,
    chunk: RowChunk,
    chunk_rows: usize,
    converted: u64,
    /// Values appended to every row after its fields.
    trailing: Vec<SqlValue>,
    /// Refuse unconstrained numeric values the OLAP copy cannot hold (a client's COPY; an
    /// upstream's snapshot must take what the upstream has).
    check_unconstrained: bool,
}

/// Where a scan of CSV input stands after the bytes seen so far: inside a quoted field (where a
/// line end is data, not the end of a row), and just after an escape character inside one.
#[derive(Debug, Default, Clone, Copy)]
struct CsvScan {
    quoted: bool,
    escaped: bool,
}

impl CopyReader<'_> {
    /// Takes every unconstrained numeric value SQLite can store, also those the OLAP copy
    /// cannot hold: an upstream's rows are mirrored whatever they hold.
    #[must_use]
    pub fn taking_any_numeric(mut self) -> Self {
        self.check_unconstrained = false;
        self
    }

    /// Appends `values` to every row after its fields (a replica snapshot's validity start).
    #[must_use]
    pub fn appending(mut self, values: Vec<SqlValue>) -> Self {
        self.chunk = RowChunk::with_capacity(self.types.len() + values.len(), self.chunk_rows, 0);
        self.trailing = values;
        self
    }

    /// Hands rows on `rows` at a time instead of [`COPY_CHUNK_ROWS`].
    #[must_use]
    pub fn chunk_rows(mut self, rows: usize) -> Self {
        self.chunk_rows = rows.max(1);
        self.chunk = RowChunk::with_capacity(self.chunk.width(), self.chunk_rows, 0);
        self
    }

    /// Converts the rows `data` completes. Returns false once `emit` asked to stop.
    ///
    /// # Errors
    /// As [`CopyFormat::parse`], and the type's input error for a value it does not accept
    /// (22P02, 22003, 22001, ...).
    pub fn feed(&mut self, data: &[u8], emit: &mut impl FnMut(RowChunk) -> bool) -> Result<bool> {
        if self.ended {
            return Ok(true);
        }
        let Some(cut) = self.row_boundary(data) else {
            self.partial.extend_from_slice(data);
            return Ok(true);
        };
        let go = if self.partial.is_empty() {
            self.convert(&data[..cut], emit)?
        } else {
            let mut whole = std::mem::take(&mut self.partial);
            whole.extend_from_slice(&data[..cut]);
            let go = self.convert(&whole, emit)?;
            whole.clear();
            self.partial = whole;
            go
        };
        if !self.ended {
            self.partial.extend_from_slice(&data[cut..]);
        }
        Ok(go)
    }

    /// Converts what is left (a last row without a line end) and hands on the last chunk.
    /// Returns the rows converted.
    ///
    /// # Errors
    /// As [`CopyReader::feed`]; an unterminated CSV quoted field.
    pub fn finish(mut self, emit: &mut impl FnMut(RowChunk) -> bool) -> Result<u64> {
        if !self.ended && !self.partial.is_empty() {
            let rest = std::mem::take(&mut self.partial);
            if !self.convert(&rest, emit)? {
                return Ok(self.converted);
            }
        }
        if !self.chunk.is_empty() {
            emit(std::mem::take(&mut self.chunk));
        }
        Ok(self.converted)
    }

    /// Where the last complete row of `data` ends (just past its line end), given the input
    /// before it; `None` when `data` completes no row.
    fn row_boundary(&mut self, data: &[u8]) -> Option<usize> {
        if !self.format.csv {
            return data.iter().rposition(|&b| b == b'\n').map(|i| i + 1);
        }
        // Quote and escape are single bytes (`from_options` refuses others), and no byte of a
        // multi-byte UTF-8 character can equal one.
        let (quote, escape) = (self.format.quote as u8, self.format.escape as u8);
        let mut scan = self.csv_scan;
        let mut cut = None;
        for (i, &b) in data.iter().enumerate() {
            if scan.quoted {
                if std::mem::take(&mut scan.escaped) && (b == quote || b == escape) {
                    continue;
                }
                if b == escape && escape != quote {
                    scan.escaped = true;
                } else if b == quote {
                    scan.quoted = false;
                }
            } else if b == quote {
                scan.quoted = true;
            } else if b == b'\n' {
                cut = Some(i + 1);
            }
        }
        self.csv_scan = scan;
        cut
    }

    /// Converts whole rows. Returns false once `emit` asked to stop.
    fn convert(&mut self, piece: &[u8], emit: &mut impl FnMut(RowChunk) -> bool) -> Result<bool> {
        let (types, zone, check) = (self.types, self.zone, self.check_unconstrained);
        let value = |chunk: &mut RowChunk, ty: PgType, text: Option<&str>| match text {
            None => {
                chunk.push(ValueRef::Null);
                Ok(())
            }
            Some(text) if check && matches!(ty, PgType::Numeric { scale: None, .. }) => {
                let stored = crate::oltp::functions::storage_value_in(ty, text, zone)?;
                if let rusqlite::types::Value::Text(canonical) = &stored {
                    crate::oltp::functions::check_unconstrained_numeric(canonical)?;
                }
                chunk.push(ValueRef::from(&stored));
                Ok(())
            }
            Some(text) => crate::oltp::functions::push_storage_value(ty, text, zone, chunk),
        };
        let text = utf8(piece, self.rows_before + 1)?;
        let skip = usize::from(std::mem::take(&mut self.header_pending));
        if self.format.csv {
            let (rows, ended) = self.format.parse_csv(text)?;
            self.ended = ended;
            let first = self.rows_before;
            self.rows_before += rows.len() as u64;
            for (i, row) in rows.into_iter().enumerate().skip(skip) {
                let n = first + i as u64 + 1;
                if row.len() != types.len() {
                    return Err(wrong_width(n, row.len() > types.len()));
                }
                for (text, &ty) in row.iter().zip(types) {
                    value(&mut self.chunk, ty, text.as_deref()).map_err(|e| at_line(e, n))?;
                }
                if !self.end_row(emit) {
                    return Ok(false);
                }
            }
            return Ok(true);
        }
        let first = self.rows_before;
        for (n, line) in text_lines(text) {
            self.rows_before = first + n;
            if n as usize <= skip {
                continue;
            }
            let n = first + n;
            if is_end_marker(line) {
                self.ended = true;
                return Ok(true);
            }
            let mut fields = 0;
            for (raw, escaped) in text_fields(line, self.format.delimiter) {
                let Some(&ty) = types.get(fields) else {
                    return Err(wrong_width(n, true));
                };
                fields += 1;
                let field = self.format.text_field(raw, escaped, n)?;
                value(&mut self.chunk, ty, field.as_deref()).map_err(|e| at_line(e, n))?;
            }
            if fields < types.len() {
                return Err(wrong_width(n, false));
            }
            if !self.end_row(emit) {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// Ends the row being converted (its trailing values appended) and hands the chunk on
    /// once it is full.
    fn end_row(&mut self, emit: &mut impl FnMut(RowChunk) -> bool) -> bool {
        for value in &self.trailing {
            self.chunk.push(ValueRef::from(value));
        }
        self.chunk.end_row();
        self.converted += 1;
        if self.chunk.len() < self.chunk_rows {
            return true;
        }
        // The next chunk is sized like this one: its text then needs no reallocation.
        let next = RowChunk::with_capacity(self.chunk.width(), self.chunk_rows, self.chunk.data_bytes() + self.chunk.data_bytes() / 8);
        emit(std::mem::replace(&mut self.chunk, next))
    }
}

/// Rows per chunk a [`CopyReader`] hands on: large enough that the hand-off costs
/// nothing, small enough that conversion and insertion overlap.
const COPY_CHUNK_ROWS: usize = 4096;

/// COPY input on its way to the writer, converted, in order.
#[derive(Debug)]
pub enum CopyChunk {
    Rows(RowChunk),
    /// The rows of the `Rows` chunks sent since the previous batch, as Arrow, for a load into
    /// an empty table (see `sync::bulk`).
    Batch(RecordBatch),
    /// The input was bad; nothing of it may stay.
    Failed(EngineError),
    /// Every row has been sent.
    End,
}

fn utf8(data: &[u8], line: u64) -> Result<&str> {
    std::str::from_utf8(data).map_err(|e| {
        let line = line + data[..e.valid_up_to()].iter().filter(|&&b| b == b'\n').count() as u64;
        EngineError::BadCopyData { line, message: "invalid byte sequence for encoding \"UTF8\"".into() }
    })
}

/// The lines of text-format input with their 1-based numbers (a last line needs no line end).
fn text_lines(text: &str) -> impl Iterator<Item = (u64, &str)> {
    let body = text.strip_suffix('\n').or((!text.is_empty()).then_some(text));
    body.into_iter()
        .flat_map(|body| body.split('\n'))
        .map(|line| line.strip_suffix('\r').unwrap_or(line))
        .enumerate()
        .map(|(i, line)| (i as u64 + 1, line))
}

/// The fields of one text-format line, each with whether it holds a backslash (and so needs
/// unescaping). A backslash escapes the byte after it, so an escaped delimiter (`\|`, as
/// COPY TO writes a delimiter inside a value) stays inside its field.
fn text_fields(line: &str, delimiter: char) -> impl Iterator<Item = (&str, bool)> {
    // The delimiter is one byte (`from_options` refuses others), so it is ASCII, and neither it
    // nor a backslash can be part of a multi-byte character: every cut is a character boundary.
    let delimiter = delimiter as u8;
    let bytes = line.as_bytes();
    let mut start = Some(0);
    std::iter::from_fn(move || {
        let from = start?;
        let mut escaped = false;
        let mut i = from;
        while i < bytes.len() {
            match bytes[i] {
                b'\\' => {
                    escaped = true;
                    i += 2;
                }
                b if b == delimiter => {
                    start = Some(i + 1);
                    return Some((&line[from..i], escaped));
                }
                _ => i += 1,
            }
        }
        start = None;
        Some((&line[from..], escaped))
    })
}

/// `\.` alone on a line ends COPY input.
fn is_end_marker(line: &str) -> bool {
    line == "\\."
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

/// An array element's text as `array_out` writes it: in double quotes (with `"` and `\`
/// escaped) when empty, `NULL`-like, or holding braces, commas, quotes, backslashes or white
/// space; as it is otherwise.
pub fn push_array_element(out: &mut String, text: &str) {
    let needs_quotes = text.is_empty()
        || text.eq_ignore_ascii_case("null")
        || text.bytes().any(|b| matches!(b, b'{' | b'}' | b',' | b'"' | b'\\') || b.is_ascii_whitespace());
    if needs_quotes { push_quoted(out, text, Some('\\')) } else { out.push_str(text) }
}

/// `text` in double quotes, each `"` and `\` in it preceded by `escape` (`array_out` uses a
/// backslash; `record_out` doubles the character, `None`).
fn push_quoted(out: &mut String, text: &str, escape: Option<char>) {
    out.push('"');
    for c in text.chars() {
        if matches!(c, '"' | '\\') {
            out.push(escape.unwrap_or(c));
        }
        out.push(c);
    }
    out.push('"');
}

/// A row field's text as `record_out` writes it: in double quotes (`"` and `\` doubled) when
/// empty or holding quotes, backslashes, parentheses, commas or white space.
fn push_record_field(out: &mut String, text: &str) {
    let needs_quotes = text.is_empty() || text.chars().any(|c| matches!(c, '"' | '\\' | '(' | ')' | ',') || c.is_whitespace());
    if needs_quotes { push_quoted(out, text, None) } else { out.push_str(text) }
}

/// PostgreSQL's text output of one Arrow value (`None` for NULL); a timestamptz in the zone of
/// its Arrow type; an array as `{1,2}`, `{{1,2},{3,4}}`.
pub fn pg_text(column: &ArrayRef, row: usize) -> Option<String> {
    pg_text_in(column, row, None)
}

/// [`pg_text`] with timestamptz values shown in `zone` (`None`: the zone of their Arrow type).
pub fn pg_text_in(column: &ArrayRef, row: usize, zone: Option<TimeZone>) -> Option<String> {
    use arrow::array::AsArray;
    use arrow::datatypes::*;
    use arrow::datatypes::{DataType, TimeUnit};
    // A NullArray has no validity buffer: `is_null` says false for it.
    if column.is_null(row) || column.data_type() == &DataType::Null {
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
        DataType::Decimal256(_, s) => {
            crate::value::format_decimal256(column.as_primitive::<arrow::datatypes::Decimal256Type>().value(row), *s)
        }
        DataType::Date32 => format_date(column.as_primitive::<Date32Type>().value(row).into()),
        DataType::Timestamp(TimeUnit::Microsecond, None) => {
            format_timestamp(column.as_primitive::<TimestampMicrosecondType>().value(row))
        }
        DataType::Timestamp(TimeUnit::Microsecond, Some(tz)) => {
            let zone = zone.unwrap_or_else(|| TimeZone::of_arrow(tz));
            format_timestamptz_in(column.as_primitive::<TimestampMicrosecondType>().value(row), zone)
        }
        DataType::Utf8 => column.as_string::<i32>().value(row).to_string(),
        DataType::Time32(_) | DataType::Time64(_) => {
            // DataFusion's time is in nanoseconds; PostgreSQL keeps microseconds.
            let micros = arrow::compute::cast(&column.slice(row, 1), &DataType::Time64(TimeUnit::Microsecond)).ok()?;
            crate::value::format_time(micros.as_primitive::<Time64MicrosecondType>().value(0))
        }
        DataType::Interval(IntervalUnit::MonthDayNano) => {
            let v = column.as_primitive::<IntervalMonthDayNanoType>().value(row);
            crate::value::format_interval(v.months, v.days, v.nanoseconds / 1000)
        }
        DataType::Binary => crate::bytea::output(column.as_binary::<i32>().value(row)),
        DataType::Struct(_) => {
            // A row (`ROW(1, 'a b')`) as record_out writes it: `(1,"a b")`, NULL as nothing.
            let fields = column.as_struct();
            let mut out = String::from("(");
            for (i, field) in fields.columns().iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                if let Some(text) = pg_text_in(field, row, zone) {
                    push_record_field(&mut out, &text);
                }
            }
            out.push(')');
            out
        }
        DataType::List(_) | DataType::LargeList(_) | DataType::FixedSizeList(..) => {
            let elements = match column.data_type() {
                DataType::List(_) => column.as_list::<i32>().value(row),
                DataType::LargeList(_) => column.as_list::<i64>().value(row),
                _ => column.as_fixed_size_list().value(row),
            };
            let mut out = String::from("{");
            for i in 0..elements.len() {
                if i > 0 {
                    out.push(',');
                }
                match pg_text_in(&elements, i, zone) {
                    None => out.push_str("NULL"),
                    // A dimension more: its braces as they are.
                    Some(text) if matches!(elements.data_type(), DataType::List(_) | DataType::LargeList(_) | DataType::FixedSizeList(..)) => out.push_str(&text),
                    Some(text) => push_array_element(&mut out, &text),
                }
            }
            out.push('}');
            out
        }
        _ => arrow::util::display::array_value_to_string(column, row).unwrap_or_default(),
    })
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::{Int32Array, StringArray};
    use arrow::datatypes::{DataType, Field, Schema};

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

    /// Every row `reader` converts from `data` handed over in pieces of `step` bytes.
    fn read_in_pieces(format: &CopyFormat, types: &[PgType], data: &[u8], step: usize) -> Result<Vec<Vec<SqlValue>>> {
        let mut rows = Vec::new();
        let mut emit = |chunk: RowChunk| {
            rows.extend(chunk.to_values());
            true
        };
        let mut reader = format.reader(types, TimeZone::UTC);
        for piece in data.chunks(step.max(1)) {
            reader.feed(piece, &mut emit)?;
        }
        let converted = reader.finish(&mut emit)?;
        assert_eq!(converted as usize, rows.len());
        Ok(rows)
    }

    fn text_row(id: i64, name: &str) -> Vec<SqlValue> {
        vec![SqlValue::Integer(id), SqlValue::Text(name.into())]
    }

    /// Rows split across CopyData messages anywhere (inside a field, a multi-byte character, a
    /// CSV quoted field with line ends and escapes) convert exactly as the whole input does.
    #[test]
    fn input_split_anywhere_converts_as_the_whole_does() {
        let types = [PgType::Int4, PgType::Text];
        let text = CopyFormat::default();
        let input = "id\tname\n1\tzürich\n2\ta\\tb\n3\t\\N\n4\t\n".as_bytes();
        let header = CopyFormat { header: true, ..CopyFormat::default() };
        let expected = vec![text_row(1, "zürich"), text_row(2, "a\tb"), vec![SqlValue::Integer(3), SqlValue::Null], text_row(4, "")];
        for step in 1..=input.len() {
            assert_eq!(read_in_pieces(&header, &types, input, step).unwrap(), expected, "text, pieces of {step}");
        }
        // The last line needs no line end, and `\.` ends the input: what follows is ignored.
        assert_eq!(read_in_pieces(&text, &types, b"1\ta\n2\tb", 3).unwrap(), vec![text_row(1, "a"), text_row(2, "b")]);
        assert_eq!(read_in_pieces(&text, &types, b"1\ta\n\\.\ngarbage", 2).unwrap(), vec![text_row(1, "a")]);

        let csv = CopyFormat { csv: true, delimiter: ',', null: String::new(), header: true, ..CopyFormat::default() };
        let input = "id,name\n1,\"x,\ny\"\n2,\"say \"\"hi\"\"\"\n3,\n4,\"\"\n".as_bytes();
        let expected = vec![text_row(1, "x,\ny"), text_row(2, "say \"hi\""), vec![SqlValue::Integer(3), SqlValue::Null], text_row(4, "")];
        for step in 1..=input.len() {
            assert_eq!(read_in_pieces(&csv, &types, input, step).unwrap(), expected, "csv, pieces of {step}");
        }
        let escaped = CopyFormat { csv: true, delimiter: ',', null: String::new(), escape: '\\', ..CopyFormat::default() };
        let input = b"1,\"a\\\"\nb\"\n2,\"c\\\\\"\n";
        for step in 1..=input.len() {
            assert_eq!(
                read_in_pieces(&escaped, &types, input, step).unwrap(),
                vec![text_row(1, "a\"\nb"), text_row(2, "c\\")],
                "csv with escape, pieces of {step}"
            );
        }
    }

    /// An error names the line of the whole input, not of the piece it arrived in.
    #[test]
    fn errors_name_the_line_of_the_whole_input() {
        let types = [PgType::Int4, PgType::Text];
        let input = b"1\ta\n2\tb\n3\tc\nx\td\n";
        for step in [1, 4, 7, input.len()] {
            match read_in_pieces(&CopyFormat::default(), &types, input, step) {
                Err(e) => assert!(e.to_string().contains('x') && e.sqlstate() == "22P02", "{e}"),
                Ok(rows) => panic!("converted {rows:?}"),
            }
            match read_in_pieces(&CopyFormat::default(), &types, b"1\ta\n2\n", step) {
                Err(EngineError::BadCopyData { line, .. }) => assert_eq!(line, 2, "pieces of {step}"),
                other => panic!("{other:?}"),
            }
        }
        let invalid = b"1\ta\n2\t\xff\n";
        match read_in_pieces(&CopyFormat::default(), &types, invalid, 3) {
            Err(EngineError::BadCopyData { line, .. }) => assert_eq!(line, 2),
            other => panic!("{other:?}"),
        }
        let csv = CopyFormat { csv: true, delimiter: ',', null: String::new(), ..CopyFormat::default() };
        assert_eq!(read_in_pieces(&csv, &types, b"1,\"open\n", 2).unwrap_err().sqlstate(), "22P04");
    }

    /// A backslash escapes the delimiter: COPY TO writes a delimiter inside a value as `\|`,
    /// and COPY FROM must read it back as part of the value (it used to split there).
    #[test]
    fn an_escaped_delimiter_stays_inside_its_field() {
        let types = [PgType::Int4, PgType::Text];
        let pipe = CopyFormat { delimiter: '|', ..CopyFormat::default() };
        assert_eq!(read_in_pieces(&pipe, &types, b"1|a\\|b\n2|c\\\\\n", 64).unwrap(), vec![text_row(1, "a|b"), text_row(2, "c\\")]);
        let tab = CopyFormat::default();
        assert_eq!(read_in_pieces(&tab, &types, b"1\ta\\\tb\n", 64).unwrap(), vec![text_row(1, "a\tb")]);
        assert_eq!(pipe.parse(b"1|a\\|b\n", 2).unwrap(), vec![vec![Some("1".into()), Some("a|b".into())]]);

        let schema = Arc::new(Schema::new(vec![Field::new("id", DataType::Int32, false), Field::new("v", DataType::Utf8, true)]));
        let values: ArrayRef = Arc::new(StringArray::from(vec!["x|y", "tab\there", "back\\slash"]));
        let batch = RecordBatch::try_new(schema, vec![Arc::new(Int32Array::from(vec![1, 2, 3])), values]).unwrap();
        for format in [pipe, tab] {
            let mut out = Vec::new();
            format.encode(&batch, TimeZone::UTC, &mut out);
            let rows = read_in_pieces(&format, &types, &out, 5).unwrap();
            assert_eq!(rows, vec![text_row(1, "x|y"), text_row(2, "tab\there"), text_row(3, "back\\slash")], "{format:?}");
        }
    }

    #[test]
    fn delimiters_quotes_and_escapes_must_be_one_byte() {
        use datafusion::sql::sqlparser::ast::CopyOption;
        assert!(CopyFormat::from_options(&[CopyOption::Delimiter('|')], &[]).is_ok());
        let err = CopyFormat::from_options(&[CopyOption::Delimiter('§')], &[]).unwrap_err();
        assert_eq!(err.sqlstate(), "0A000");
        assert!(CopyFormat::from_options(&[CopyOption::Quote('«')], &[]).is_err());
    }
}
