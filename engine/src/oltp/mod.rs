//! The OLTP side: SQLite (WAL) reached only through dedicated threads: one writer
//! ([`writer::OltpWriter`]) where every write and every explicit transaction runs, and a pool of
//! readers ([`reader::ReaderPool`]). No `rusqlite::Connection` ever appears in async code.

pub mod arrays;
pub mod checkpoint;
pub mod convert;
pub mod flush;
pub mod functions;
pub(crate) mod handoff;
pub mod intervals;
pub mod json_sets;
pub mod network;
pub mod numeric_ops;
pub mod reader;
pub mod regex;
pub mod sequence;
pub mod unnest;
pub mod writer;

use std::path::Path;
use std::sync::Arc;

use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use arrow::record_batch::RecordBatch;
use rusqlite::types::Value as SqlValue;
use rusqlite::{Connection, OpenFlags, ffi};

use crate::catalog::Catalog;
use crate::error::{EngineError, Result};
use convert::{BATCH_ROWS, BatchBuilder, infer_type};

/// Opens a connection to the data file with rhei's pragmas and functions.
///
/// # Errors
/// The file cannot be opened or configured.
/// A double as SQLite takes it: SQLite turns a NaN it is given into NULL, so NaN is the text
/// `NaN`, which a result reads back as NaN and a (STRICT) float column refuses
/// ([`EngineError::NanNotStored`]) rather than keeping NULL in its place.
pub fn float_value(f: f64) -> rusqlite::types::Value {
    if f.is_nan() { rusqlite::types::Value::Text("NaN".into()) } else { rusqlite::types::Value::Real(f) }
}

pub fn open_connection(path: &Path, read_only: bool, synchronous: &str) -> Result<Connection> {
    let flags = if read_only {
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX | OpenFlags::SQLITE_OPEN_URI
    } else {
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX
            | OpenFlags::SQLITE_OPEN_URI
    };
    let conn = Connection::open_with_flags(path, flags).map_err(|e| EngineError::DataDirectory {
        path: path.display().to_string(),
        reason: e.to_string(),
    })?;
    let pragmas = format!(
        "PRAGMA busy_timeout = 10000; PRAGMA recursive_triggers = ON; PRAGMA case_sensitive_like = ON; \
         PRAGMA foreign_keys = OFF; PRAGMA cache_size = -65536; PRAGMA temp_store = MEMORY; \
         PRAGMA synchronous = {synchronous};"
    );
    conn.execute_batch(&pragmas).map_err(classify)?;
    if !read_only {
        conn.execute_batch("PRAGMA journal_mode = WAL;").map_err(classify)?;
    }
    functions::register(&conn).map_err(|e| EngineError::Sqlite(e.to_string()))?;
    // generate_series(start, stop[, step]) as a table (see translate::sqlite_generate_series).
    rusqlite::vtab::series::load_module(&conn).map_err(|e| EngineError::Sqlite(e.to_string()))?;
    json_sets::register(&conn).map_err(|e| EngineError::Sqlite(e.to_string()))?;
    unnest::register(&conn).map_err(|e| EngineError::Sqlite(e.to_string()))?;
    conn.set_prepared_statement_cache_capacity(256);
    Ok(conn)
}

/// A statement ready for SQLite: translated text and bound parameters.
#[derive(Debug, Clone)]
pub struct SqliteStatement {
    pub sql: String,
    pub params: Vec<SqlValue>,
    /// Whether it returns rows (a query, or DML with RETURNING).
    pub returns_rows: bool,
    /// Output column names (Postgres naming) and types where known; the rest are taken from
    /// the column's table or the first value.
    pub shape: ResultShape,
    /// Writes run first, in order, whose RETURNING rows this statement reads as tables (the
    /// data-modifying WITH queries of `translate::writing_with`).
    pub writes_first: Vec<WriteFirst>,
}

/// A write whose RETURNING rows a later statement reads: they are kept in the temporary table
/// `temp` (columns `columns`, in order) until that statement has run. No columns: a write
/// without RETURNING, run for its effect. (A MERGE's steps keep a query's rows the same way.)
#[derive(Debug, Clone)]
pub struct WriteFirst {
    pub sql: String,
    pub temp: String,
    pub columns: Vec<String>,
    /// Whether the rows it changes count in the statement's row count (a MERGE's writes do;
    /// a data-modifying WITH query's do not, as in PostgreSQL).
    pub counted: bool,
}

/// What is known of a result's columns before SQLite runs it.
#[derive(Debug, Clone, Default)]
pub struct ResultShape {
    pub names: Vec<Option<String>>,
    pub types: Vec<Option<DataType>>,
    /// The declared PostgreSQL type of a column that is a table column (the Arrow field
    /// metadata `rhei.pg_type`), so the front end reports its exact type (uuid, char(n), ...).
    pub declared: Vec<Option<String>>,
}

/// What a statement produced.
#[derive(Debug, Default)]
pub struct Executed {
    pub rows_affected: u64,
    pub schema: Option<SchemaRef>,
    pub batches: Vec<RecordBatch>,
    /// Notices for the client (DDL that skipped a missing or existing object).
    pub notices: Vec<crate::notice::Notice>,
}

/// Maps a rusqlite error to the engine's, by SQLite's extended result code. SQLite reports
/// unknown tables, columns and functions and syntax errors only as SQLITE_ERROR with a message,
/// so those (and only those) are told apart by the message's fixed prefix.
pub fn classify(err: rusqlite::Error) -> EngineError {
    if let Some(typed) = functions::take_error() {
        return typed;
    }
    match err {
        rusqlite::Error::SqliteFailure(code, message) => {
            let message = message.unwrap_or_else(|| code.to_string());
            match code.extended_code {
                // An index with expression keys is named: "UNIQUE constraint failed: index 'i'"
                // (SQLite's message is all there is to read the name from; the table is found
                // by it in `Catalog::name_unique_violation`).
                ffi::SQLITE_CONSTRAINT_UNIQUE if message.contains(": index '") => EngineError::UniqueViolation {
                    table: String::new(),
                    constraint: message.rsplit(": index '").next().unwrap_or_default().trim_end_matches('\'').to_string(),
                    columns: Vec::new(),
                    detail: None,
                },
                ffi::SQLITE_CONSTRAINT_UNIQUE | ffi::SQLITE_CONSTRAINT_PRIMARYKEY => {
                    let (table, columns) = failed_columns(&message);
                    let is_pk = code.extended_code == ffi::SQLITE_CONSTRAINT_PRIMARYKEY;
                    let constraint =
                        if is_pk { format!("{table}_pkey") } else { format!("{table}_{}_key", columns.join("_")) };
                    EngineError::UniqueViolation {
                        detail: Some(format!("Key ({}) already exists.", columns.join(", "))),
                        table,
                        constraint,
                        columns,
                    }
                }
                ffi::SQLITE_CONSTRAINT_NOTNULL => {
                    let (table, columns) = failed_columns(&message);
                    EngineError::NotNullViolation { table, column: columns.into_iter().next().unwrap_or_default() }
                }
                // rhei's constraint triggers (translate::constraints) raise their own messages.
                ffi::SQLITE_CONSTRAINT_TRIGGER => {
                    crate::translate::constraints::violation(&message).unwrap_or(EngineError::Sqlite(message))
                }
                // SQLite's message names the constraint: "CHECK constraint failed: name".
                ffi::SQLITE_CONSTRAINT_CHECK => EngineError::CheckViolation {
                    table: String::new(),
                    constraint: message.rsplit(": ").next().unwrap_or_default().to_string(),
                    detail: None,
                },
                // STRICT tables refuse a value of the wrong storage class; a rowid alias says
                // SQLITE_MISMATCH instead.
                // Text reaches a float column only as the NaN `float_value` keeps as text.
                ffi::SQLITE_CONSTRAINT_DATATYPE if let Some(column) = message.strip_prefix("cannot store TEXT value in REAL column ") => {
                    EngineError::NanNotStored { column: column.rsplit('.').next().unwrap_or(column).to_string() }
                }
                ffi::SQLITE_CONSTRAINT_DATATYPE | ffi::SQLITE_MISMATCH => {
                    EngineError::InvalidTextRepresentation { type_name: "column".into(), value: message }
                }
                ffi::SQLITE_ERROR => classify_message(message),
                _ => EngineError::Sqlite(message),
            }
        }
        // SQLite's message for a statement that fails to prepare; the offset is into the
        // translated text, not the client's, so it is not reported as a position.
        rusqlite::Error::SqlInputError { msg, .. } => classify_message(msg),
        other => EngineError::Sqlite(other.to_string()),
    }
}

fn classify_message(message: String) -> EngineError {
    if let Some(name) = message.strip_prefix("no such table: ") {
        EngineError::UndefinedTable { name: name.trim_start_matches("main.").to_string() }
    } else if let Some(name) = message.strip_prefix("no such column: ") {
        EngineError::UndefinedColumn { column: name.to_string(), table: None }
    } else if let Some(rest) = message.strip_prefix("no such function: ") {
        EngineError::UndefinedFunction { name: format!("{rest}()") }
    } else if message.contains("syntax error") || message.starts_with("incomplete input") {
        EngineError::Syntax { message, position: None }
    } else if let Some(column) = message.strip_prefix("ambiguous column name: ") {
        EngineError::AmbiguousColumn { column: column.rsplit('.').next().unwrap_or(column).to_string() }
    } else if message.starts_with("sub-select returns") {
        EngineError::syntax("subquery must return only one column")
    } else if let Some(name) = message.strip_prefix("duplicate WITH table name: ") {
        EngineError::DuplicateAlias { name: name.to_string() }
    } else if message.starts_with("misuse of window function") {
        EngineError::WindowingError { message: "window functions are not allowed in WHERE".into() }
    } else if message.starts_with("misuse of aggregate") {
        EngineError::GroupingError { message: "aggregate functions are not allowed in WHERE".into() }
    } else if message.contains("do not have the same number of result columns") {
        EngineError::syntax("each UNION query must have the same number of columns")
    } else if message.starts_with("non-deterministic functions prohibited in index expressions") {
        EngineError::MutableIndexFunction { what: "expression" }
    } else if message.starts_with("non-deterministic functions prohibited in partial index WHERE clauses") {
        EngineError::MutableIndexFunction { what: "predicate" }
    } else if message.starts_with("ON CONFLICT clause does not match any PRIMARY KEY or UNIQUE constraint") {
        EngineError::InvalidColumnReference {
            message: "there is no unique or exclusion constraint matching the ON CONFLICT specification".into(),
        }
    } else if message.starts_with("wrong number of arguments to function ") {
        EngineError::UndefinedFunction { name: message.trim_start_matches("wrong number of arguments to function ").into() }
    } else {
        EngineError::Sqlite(message)
    }
}

/// `UNIQUE constraint failed: t.a, t.b` → ("t", ["a", "b"]).
fn failed_columns(message: &str) -> (String, Vec<String>) {
    let list = message.split_once(": ").map_or("", |(_, rest)| rest);
    let mut table = String::new();
    let columns = list
        .split(", ")
        .filter_map(|qualified| {
            let (t, c) = qualified.rsplit_once('.')?;
            table = t.to_string();
            Some(c.to_string())
        })
        .collect();
    (table, columns)
}

/// Runs one statement on `conn`, handing each batch of result rows to `sink` (which returns
/// false to stop early). Returns the result schema (if it returns rows) and rows changed.
///
/// # Errors
/// SQLite errors, classified; values that do not convert to their column's type.
pub fn run_statement(
    conn: &Connection,
    stmt: &SqliteStatement,
    catalog: &Catalog,
    sink: impl FnMut(RecordBatch) -> bool,
) -> Result<(Option<SchemaRef>, u64)> {
    let _now = functions::PinnedNow::for_statement();
    if stmt.writes_first.is_empty() {
        return run_one(conn, stmt, catalog, sink);
    }
    // The caller runs this inside a savepoint (or a transaction of its own), which also takes
    // back the kept rows' tables when something fails.
    let mut counted = 0;
    for write in &stmt.writes_first {
        let changed = run_write_first(conn, write, &stmt.params)?;
        if write.counted {
            counted += changed;
        }
    }
    let (schema, changed) = run_one(conn, stmt, catalog, sink)?;
    for write in stmt.writes_first.iter().filter(|w| !w.columns.is_empty()) {
        conn.execute_batch(&format!("DROP TABLE temp.{}", crate::catalog::quote_ident(&write.temp))).map_err(classify)?;
    }
    Ok((schema, changed + counted))
}

/// Runs one write of [`WriteFirst`] and keeps its RETURNING rows in its temporary table.
/// Returns the rows it changed (with RETURNING, the rows it returned).
fn run_write_first(conn: &Connection, write: &WriteFirst, params: &[SqlValue]) -> Result<u64> {
    use crate::catalog::quote_ident;
    let _ = functions::take_error();
    let mut prepared = conn.prepare(&write.sql).map_err(classify)?;
    bind_used(&mut prepared, params)?;
    if write.columns.is_empty() {
        return prepared.raw_execute().map(|changed| changed as u64).map_err(classify);
    }
    let width = prepared.column_count();
    if width != write.columns.len() {
        return Err(EngineError::Internal(format!("a WITH query that writes returned {width} columns, {} expected", write.columns.len())));
    }
    // SQLite makes every change of a RETURNING statement at its first step, so the rows are
    // read whole before the next statement.
    let mut kept = Vec::new();
    let mut rows = prepared.raw_query();
    while let Some(row) = rows.next().map_err(classify)? {
        kept.push((0..width).map(|i| row.get::<_, SqlValue>(i)).collect::<rusqlite::Result<Vec<_>>>().map_err(classify)?);
    }
    drop(rows);
    let table = format!("temp.{}", quote_ident(&write.temp));
    let columns = write.columns.iter().map(|c| quote_ident(c)).collect::<Vec<_>>().join(", ");
    conn.execute_batch(&format!("DROP TABLE IF EXISTS {table}; CREATE TEMP TABLE {} ({columns})", quote_ident(&write.temp))).map_err(classify)?;
    let slots = (1..=width).map(|i| format!("?{i}")).collect::<Vec<_>>().join(", ");
    let mut insert = conn.prepare(&format!("INSERT INTO {table} VALUES ({slots})")).map_err(classify)?;
    let returned = kept.len() as u64;
    for row in kept {
        insert.execute(rusqlite::params_from_iter(row)).map_err(classify)?;
    }
    Ok(returned)
}

/// Binds `params` to the placeholders `prepared` has: one of several statements made from a
/// client's statement may use only some of its parameters (`$2` alone is `?2`, two slots).
fn bind_used(prepared: &mut rusqlite::Statement<'_>, params: &[SqlValue]) -> Result<()> {
    for (i, value) in params.iter().enumerate().take(prepared.parameter_count()) {
        prepared.raw_bind_parameter(i + 1, value).map_err(classify)?;
    }
    Ok(())
}

fn run_one(
    conn: &Connection,
    stmt: &SqliteStatement,
    catalog: &Catalog,
    mut sink: impl FnMut(RecordBatch) -> bool,
) -> Result<(Option<SchemaRef>, u64)> {
    let _ = functions::take_error();
    // After writes first, prepared afresh: its text reads temporary tables made again for
    // each statement, and a cached statement would describe the last ones until it first
    // steps (the columns of another write's rows).
    let (mut cached, mut fresh);
    let prepared: &mut rusqlite::Statement<'_> = if stmt.writes_first.is_empty() {
        cached = conn.prepare_cached(&stmt.sql).map_err(classify)?;
        for (i, value) in stmt.params.iter().enumerate() {
            cached.raw_bind_parameter(i + 1, value).map_err(classify)?;
        }
        &mut cached
    } else {
        fresh = conn.prepare(&stmt.sql).map_err(classify)?;
        bind_used(&mut fresh, &stmt.params)?;
        &mut fresh
    };
    if !stmt.returns_rows && prepared.column_count() == 0 {
        let changed = prepared.raw_execute().map_err(classify)?;
        return Ok((None, changed as u64));
    }
    let origin_types: Vec<Option<crate::catalog::types::PgType>> = prepared
        .columns_with_metadata()
        .map(|meta| {
            let table = catalog.get(meta.table_name()?)?;
            let column = table.column_index(meta.origin_name()?)?;
            Some(table.columns[column].ty)
        })
        .collect();
    let sqlite_names: Vec<String> = prepared.column_names().map(str::to_string).collect();
    let width = sqlite_names.len();
    let mut rows = prepared.raw_query();
    let mut builder: Option<BatchBuilder> = None;
    let mut schema: Option<SchemaRef> = None;
    let mut produced = 0u64;
    loop {
        let row = rows.next().map_err(classify)?;
        let Some(row) = row else { break };
        let b = match builder.as_mut() {
            Some(b) => b,
            None => {
                let s = result_schema(&stmt.shape, &origin_types, &sqlite_names, |i| {
                    row.get_ref(i).map(infer_type).unwrap_or(DataType::Utf8)
                });
                schema = Some(s.clone());
                builder.insert(BatchBuilder::new(s))
            }
        };
        b.push_row(row, 0)?;
        produced += 1;
        if b.len() >= BATCH_ROWS && !sink(b.finish()?) {
            return Ok((schema, produced));
        }
    }
    let schema = match (schema, builder) {
        (Some(schema), Some(mut b)) => {
            if !b.is_empty() {
                sink(b.finish()?);
            }
            schema
        }
        _ => result_schema(&stmt.shape, &origin_types, &sqlite_names, |_| DataType::Utf8),
    };
    debug_assert_eq!(schema.fields().len(), width);
    Ok((Some(schema), produced))
}

fn result_schema(
    shape: &ResultShape,
    origin: &[Option<crate::catalog::types::PgType>],
    sqlite_names: &[String],
    infer: impl Fn(usize) -> DataType,
) -> SchemaRef {
    let fields: Vec<Field> = sqlite_names
        .iter()
        .enumerate()
        .map(|(i, sqlite_name)| {
            let name = shape.names.get(i).cloned().flatten().unwrap_or_else(|| sqlite_name.clone());
            let origin = origin.get(i).copied().flatten();
            let planned = shape.types.get(i).cloned().flatten();
            // SQLite names the first branch of a UNION as the origin: its declared type holds
            // only where the planned type (the whole column's) agrees.
            let declared = shape.declared.get(i).cloned().flatten().or_else(|| {
                origin.filter(|o| planned.as_ref().is_none_or(|p| *p == o.arrow_type())).map(|o| o.metadata_name())
            });
            let ty = planned
                .or_else(|| origin.map(|ty| ty.arrow_type()))
                // An untyped NULL (`SELECT NULL`) is text, as in PostgreSQL; Arrow's Null type has
                // no builder here, so the batch failed to build (XX000).
                .filter(|ty| *ty != DataType::Null)
                .unwrap_or_else(|| infer(i));
            // An unconstrained numeric column's values leave as SQLite holds them, exact text with
            // the scale each was written with, as PostgreSQL shows them: no fixed-scale decimal
            // (the OLAP copy's Decimal128(38, 10)) can.
            let ty = match (&ty, declared.as_deref()) {
                (DataType::Decimal128(..) | DataType::Decimal256(..), Some(crate::catalog::types::UNCONSTRAINED_NUMERIC)) => DataType::Utf8,
                _ => ty,
            };
            crate::catalog::types::with_declared_type(Field::new(name, ty, true), declared)
        })
        .collect();
    Arc::new(Schema::new(fields))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constraint_errors_carry_sqlstates() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch("CREATE TABLE t(id INTEGER PRIMARY KEY, u TEXT UNIQUE, n TEXT NOT NULL) STRICT").unwrap();
        conn.execute_batch("INSERT INTO t VALUES (1, 'a', 'x')").unwrap();
        let err = |sql: &str| classify(conn.execute_batch(sql).unwrap_err());
        let dup = err("INSERT INTO t VALUES (2, 'a', 'x')");
        assert_eq!(dup.sqlstate(), "23505");
        assert_eq!(dup.to_string(), "duplicate key value violates unique constraint \"t_u_key\"");
        assert_eq!(err("INSERT INTO t VALUES (1, 'b', 'x')").sqlstate(), "23505");
        let null = err("INSERT INTO t VALUES (3, 'c', NULL)");
        assert_eq!(null.to_string(), "null value in column \"n\" of relation \"t\" violates not-null constraint");
        assert_eq!(err("INSERT INTO t VALUES ('x', 'd', 'x')").sqlstate(), "22P02");
        assert_eq!(err("SELECT * FROM missing").sqlstate(), "42P01");
        let undefined = err("SELECT nope FROM t");
        assert_eq!(undefined.sqlstate(), "42703", "{undefined:?}");
        assert_eq!(err("SELEC 1").sqlstate(), "42601");
    }
}
