//! Replica tables: upstream tables rhei follows as a sidecar (the follower itself is
//! `rhei-sidecar`; this is the engine side it feeds).
//!
//! A replica table is an ordinary catalog table marked with a [`ReplicaDef`]. In temporal mode
//! (SCD Type 2) it holds every version of every upstream row, each with
//! `_rhei_valid_from`/`_rhei_valid_to` (upstream commit times; NULL = current), and a partial
//! unique index on the key `WHERE _rhei_valid_to IS NULL` guarantees one current version per key,
//! whatever order deletes and re-inserts arrive in. In mirror mode it holds current rows only.
//!
//! Changes arrive as whole upstream transactions ([`ReplicaBatch`]) and are applied by the OLTP
//! writer in one SQLite transaction together with the upstream position they lead to, so after a
//! crash the stored position always matches the stored data: nothing is lost or applied twice.
//! The change-log triggers then carry them to the OLAP copy like any other write.

use rusqlite::types::{Value as SqlValue, ValueRef};
use rusqlite::{Connection, OptionalExtension, params_from_iter};

use crate::catalog::{Catalog, ColumnDef, PgType, ReplicaDef, TableDef, VALID_FROM, VALID_TO, quote_ident};
use crate::error::{EngineError, Result};
use crate::oltp::classify;
use crate::row_chunk::RowChunk;
use crate::translate::{TranslateOptions, convert_expr};

/// Where each source's upstream position is kept, in the same SQLite file as the data.
pub const POSITION_SQL: &str = "
CREATE TABLE IF NOT EXISTS _rhei_replica_position(
    source TEXT PRIMARY KEY,
    position TEXT NOT NULL,
    updated_at INTEGER NOT NULL
);
";

/// A replica table to create: the upstream's columns (types mapped to rhei's), its key, and
/// the mode.
#[derive(Debug, Clone, PartialEq)]
pub struct ReplicaTableSpec {
    pub name: String,
    pub columns: Vec<ColumnDef>,
    pub def: ReplicaDef,
}

/// One column value as the upstream sent it: PostgreSQL text form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReplicaValue {
    Null,
    Text(String),
    /// Not sent because it did not change (a TOASTed value): keep the current version's.
    Unchanged,
}

impl ReplicaValue {
    fn sql(&self) -> SqlValue {
        match self {
            Self::Text(s) => SqlValue::Text(s.clone()),
            Self::Null | Self::Unchanged => SqlValue::Null,
        }
    }
}

/// One row change of an upstream transaction. Rows are in the table's user-column order;
/// keys in the order of [`ReplicaDef::key`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReplicaChange {
    Insert { table: String, row: Vec<ReplicaValue> },
    /// `old_key` is the key before the update when the upstream sent it (the key changed, or
    /// the table has REPLICA IDENTITY FULL); otherwise the key is read from `row`.
    Update { table: String, old_key: Option<Vec<ReplicaValue>>, row: Vec<ReplicaValue> },
    Delete { table: String, key: Vec<ReplicaValue> },
    Truncate { table: String },
}

/// One upstream transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplicaTxn {
    /// Upstream commit time, microseconds since the Unix epoch: the versions it writes start
    /// (and the ones it replaces end) here.
    pub commit_time: i64,
    pub changes: Vec<ReplicaChange>,
}

/// Upstream transactions applied atomically with the position they lead to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplicaBatch {
    /// Names the upstream, so one data directory could follow several.
    pub source: String,
    pub txns: Vec<ReplicaTxn>,
    /// Opaque to the engine (an LSN, a watermark): stored with the data.
    pub position: String,
}

/// Rows of a snapshot for a replica table, in user-column order, all current from `valid_from`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotRows {
    pub table: String,
    pub valid_from: i64,
    pub rows: Vec<Vec<Option<String>>>,
}

fn current_index_name(def: &TableDef) -> String {
    format!("_rhei_current_{}", def.id.0)
}

/// The catalog entry for a new replica table (validity columns appended when temporal).
pub(crate) fn table_def(spec: &ReplicaTableSpec, id: crate::catalog::TableId) -> Result<TableDef> {
    if spec.columns.is_empty() {
        return Err(EngineError::unsupported("replicating a table without columns"));
    }
    let mut columns = spec.columns.clone();
    if spec.def.key.iter().any(|&k| k >= columns.len()) {
        return Err(EngineError::Internal(format!("replica key of \"{}\" names a column it does not have", spec.name)));
    }
    if columns.iter().any(|c| c.name == VALID_FROM || c.name == VALID_TO) {
        return Err(EngineError::unsupported(format!(
            "replicating \"{}\": its column names clash with rhei's {VALID_FROM}/{VALID_TO}",
            spec.name
        )));
    }
    for c in &mut columns {
        // Upstream constraints are the upstream's business; a replica stores what it is sent.
        c.is_serial = false;
        c.default_sql = None;
    }
    let primary_key = if spec.def.temporal || !spec.def.key_unique { Vec::new() } else { spec.def.key.clone() };
    if spec.def.temporal {
        let validity = |name: &str, not_null| ColumnDef { name: name.into(), ty: PgType::Timestamptz, not_null, is_serial: false, default_sql: None };
        columns.push(validity(VALID_FROM, true));
        columns.push(validity(VALID_TO, false));
    }
    Ok(TableDef { id, name: spec.name.clone(), columns, primary_key, unique: Vec::new(), replica: Some(spec.def.clone()), ..Default::default() })
}

/// Index DDL for a new replica table: the one-current-version guarantee (temporal), or a plain
/// index on the identity (keyless tables matched on all columns).
pub(crate) fn index_sql(def: &TableDef) -> Option<String> {
    let replica = def.replica.as_ref()?;
    if replica.key.is_empty() || (!replica.temporal && replica.key_unique) {
        return None;
    }
    let cols = replica.key.iter().map(|&k| quote_ident(&def.columns[k].name)).collect::<Vec<_>>().join(", ");
    let unique = if replica.key_unique { "UNIQUE " } else { "" };
    let filter = if replica.temporal { format!(" WHERE {} IS NULL", quote_ident(VALID_TO)) } else { String::new() };
    Some(format!("CREATE {unique}INDEX IF NOT EXISTS {} ON {} ({cols}){filter}", quote_ident(&current_index_name(def)), quote_ident(&def.name)))
}

pub(crate) fn write_position(conn: &Connection, source: &str, position: &str) -> Result<()> {
    let now = crate::value::now_micros();
    conn.prepare_cached(
        "INSERT INTO _rhei_replica_position(source, position, updated_at) VALUES (?1, ?2, ?3) \
         ON CONFLICT(source) DO UPDATE SET position = excluded.position, updated_at = excluded.updated_at",
    )
    .and_then(|mut s| s.execute(rusqlite::params![source, position, now]))
    .map_err(classify)?;
    Ok(())
}

pub(crate) fn clear_position(conn: &Connection, source: &str) -> Result<()> {
    conn.execute("DELETE FROM _rhei_replica_position WHERE source = ?1", [source]).map_err(classify)?;
    Ok(())
}

/// Applies upstream transactions and records the position; the caller owns the SQLite
/// transaction (all of it or none of it commits).
pub(crate) fn apply(conn: &Connection, catalog: &Catalog, batch: &ReplicaBatch) -> Result<u64> {
    let mut rows = 0;
    for txn in &batch.txns {
        for change in &txn.changes {
            rows += apply_change(conn, catalog, change, txn.commit_time)?;
        }
    }
    write_position(conn, &batch.source, &batch.position)?;
    Ok(rows)
}

/// Snapshot rows already converted to their storage form (validity start appended for a
/// temporal table), ready for the writer: converting is most of the work of a load, and this
/// way it runs beside the writer instead of on it.
#[derive(Debug, Clone, PartialEq)]
pub struct PreparedRows {
    pub table: String,
    pub(crate) rows: RowChunk,
}

/// Converts snapshot rows from PostgreSQL text to storage values (off the writer thread).
pub(crate) fn prepare(catalog: &Catalog, snapshot: SnapshotRows) -> Result<PreparedRows> {
    let table = ReplicaTable::of(catalog, &snapshot.table)?;
    let columns = table.def.user_columns();
    let width = columns.len();
    let mut rows = RowChunk::with_capacity(width + usize::from(table.temporal()), snapshot.rows.len(), 0);
    for (line, row) in snapshot.rows.into_iter().enumerate() {
        if row.len() != width {
            return Err(EngineError::Internal(format!(
                "snapshot row {} of \"{}\" has {} values for {width} columns",
                line + 1,
                table.def.name,
                row.len()
            )));
        }
        for (value, column) in row.iter().zip(columns) {
            match value {
                None => rows.push(ValueRef::Null),
                Some(text) => crate::oltp::functions::push_storage_value(column.ty, text, crate::zone::TimeZone::UTC, &mut rows)?,
            }
        }
        if table.temporal() {
            rows.push(ValueRef::Integer(snapshot.valid_from));
        }
        rows.end_row();
    }
    Ok(PreparedRows { table: snapshot.table, rows })
}

/// Rows per [`PreparedRows`] that [`convert_copy`] hands on: enough that a load's commit costs
/// little, few enough that the writer starts inserting while the upstream is still sending.
const COPY_LOAD_ROWS: usize = 32 * 1024;

/// Converts a replica table's snapshot as the upstream's `COPY ... TO STDOUT` (text format,
/// `TimeZone=UTC`) sends it, in pieces split anywhere, straight into storage values (validity
/// start appended for a temporal table), handing them to `out` about [`COPY_LOAD_ROWS`] at a
/// time (false: stop). Returns the rows converted. Nothing is kept but the rows not yet handed
/// on, so memory stays at a few loads whatever the table's size.
///
/// # Errors
/// Malformed COPY text (22P04, ...) and values that do not convert to their column's type.
pub(crate) fn convert_copy(
    catalog: &Catalog,
    table: &str,
    valid_from: i64,
    input: &mut dyn FnMut() -> Option<bytes::Bytes>,
    out: &mut dyn FnMut(PreparedRows) -> bool,
) -> Result<u64> {
    let replica = ReplicaTable::of(catalog, table)?;
    let types: Vec<PgType> = replica.def.user_columns().iter().map(|c| c.ty).collect();
    let trailing = if replica.temporal() { vec![SqlValue::Integer(valid_from)] } else { Vec::new() };
    let format = crate::copy::CopyFormat::default();
    let mut reader = format.reader(&types, crate::zone::TimeZone::UTC).taking_any_numeric().appending(trailing).chunk_rows(COPY_LOAD_ROWS);
    let mut emit = |rows: RowChunk| out(PreparedRows { table: table.to_string(), rows });
    while let Some(data) = input() {
        if !reader.feed(&data, &mut emit)? {
            return Ok(0);
        }
    }
    reader.finish(&mut emit)
}

/// Loads prepared snapshot rows (a new table: no existing versions to close).
pub(crate) fn load(conn: &Connection, catalog: &Catalog, prepared: &PreparedRows) -> Result<u64> {
    let table = ReplicaTable::of(catalog, &prepared.table)?;
    let width = table.user_width() + usize::from(table.temporal());
    // A new table: nothing to replace, and every value is in storage form already.
    let sql = table.insert_sql(|_| true);
    let mut stmt = conn.prepare_cached(&sql).map_err(classify)?;
    if prepared.rows.width() != width {
        return Err(EngineError::Internal(format!("prepared rows of \"{}\" have the wrong width", table.def.name)));
    }
    for row in prepared.rows.rows() {
        for (i, value) in row.enumerate() {
            stmt.raw_bind_parameter(i + 1, rusqlite::types::ToSqlOutput::Borrowed(value)).map_err(classify)?;
        }
        stmt.raw_execute().map_err(classify)?;
    }
    Ok(prepared.rows.len() as u64)
}

struct ReplicaTable<'a> {
    def: &'a TableDef,
    replica: &'a ReplicaDef,
}

impl<'a> ReplicaTable<'a> {
    fn of(catalog: &'a Catalog, name: &str) -> Result<Self> {
        let def = catalog.require(name)?;
        let replica = def
            .replica
            .as_ref()
            .ok_or_else(|| EngineError::Internal(format!("\"{name}\" is not a replica table")))?;
        Ok(Self { def, replica })
    }

    fn temporal(&self) -> bool {
        self.replica.temporal
    }

    fn user_width(&self) -> usize {
        self.def.user_columns().len()
    }

    fn table(&self) -> String {
        quote_ident(&self.def.name)
    }

    /// `?n` converted from PostgreSQL text to the storage form of column `col`.
    fn converted(&self, col: usize, n: usize) -> String {
        let placeholder = datafusion::sql::sqlparser::ast::Expr::value(datafusion::sql::sqlparser::ast::Value::Placeholder(format!("?{n}")));
        convert_expr(self.def.columns[col].ty, placeholder, TranslateOptions::default()).to_string()
    }

    /// INSERT of a new current version: user columns `?1..?n`, then (temporal) valid_from.
    /// Parameters are PostgreSQL text converted to storage form, except where `stored(i)` says
    /// column `i` is bound in storage form already.
    fn insert_sql(&self, stored: impl Fn(usize) -> bool) -> String {
        let width = self.user_width();
        let mut names: Vec<String> = self.def.user_columns().iter().map(|c| quote_ident(&c.name)).collect();
        let mut values: Vec<String> = (0..width).map(|i| if stored(i) { format!("?{}", i + 1) } else { self.converted(i, i + 1) }).collect();
        if self.temporal() {
            names.push(quote_ident(VALID_FROM));
            values.push(format!("?{}", width + 1));
        }
        let verb = if self.temporal() { "INSERT" } else { "INSERT OR REPLACE" };
        format!("{verb} INTO {} ({}) VALUES ({})", self.table(), names.join(", "), values.join(", "))
    }

    /// Matches the current version(s) by key `?1..?k`, at most one row.
    fn current_by_key(&self) -> String {
        let mut conds: Vec<String> = self
            .replica
            .key
            .iter()
            .enumerate()
            .map(|(i, &col)| format!("{} IS {}", quote_ident(&self.def.columns[col].name), self.converted(col, i + 1)))
            .collect();
        if self.temporal() {
            conds.push(format!("{} IS NULL", quote_ident(VALID_TO)));
        }
        format!("rowid IN (SELECT rowid FROM {} WHERE {} LIMIT 1)", self.table(), conds.join(" AND "))
    }

    /// Ends the current version of a key at `?k+1`: a version that began at that same instant
    /// (an earlier change of the same upstream transaction) was never visible and goes.
    fn end_current(&self, conn: &Connection, key: &[SqlValue], at: i64) -> Result<usize> {
        let k = key.len();
        if !self.temporal() {
            let sql = format!("DELETE FROM {} WHERE {}", self.table(), self.current_by_key());
            return conn.prepare_cached(&sql).and_then(|mut s| s.execute(params_from_iter(key))).map_err(classify);
        }
        let mut params = key.to_vec();
        params.push(SqlValue::Integer(at));
        // Usually the current version began in an earlier transaction and is closed; only when
        // that finds nothing can it be one this transaction opened, which goes.
        let close = format!(
            "UPDATE {} SET {to} = ?{n} WHERE {} AND {from} <> ?{n}",
            self.table(),
            self.current_by_key(),
            to = quote_ident(VALID_TO),
            from = quote_ident(VALID_FROM),
            n = k + 1
        );
        let closed = conn.prepare_cached(&close).and_then(|mut s| s.execute(params_from_iter(&params))).map_err(classify)?;
        if closed > 0 {
            return Ok(closed);
        }
        let vanish = format!("DELETE FROM {} WHERE {} AND {} = ?{}", self.table(), self.current_by_key(), quote_ident(VALID_FROM), k + 1);
        conn.prepare_cached(&vanish).and_then(|mut s| s.execute(params_from_iter(&params))).map_err(classify)
    }

    /// The current version's values (storage form) of the user columns, for filling unchanged
    /// (TOASTed) columns of an update.
    fn current_row(&self, conn: &Connection, key: &[SqlValue]) -> Result<Option<Vec<SqlValue>>> {
        let cols: Vec<String> = self.def.user_columns().iter().map(|c| quote_ident(&c.name)).collect();
        let sql = format!("SELECT {} FROM {} WHERE {}", cols.join(", "), self.table(), self.current_by_key());
        let width = cols.len();
        conn.prepare_cached(&sql)
            .and_then(|mut s| {
                s.query_row(params_from_iter(key), |r| (0..width).map(|i| r.get::<_, SqlValue>(i)).collect::<rusqlite::Result<Vec<_>>>())
                    .optional()
            })
            .map_err(classify)
    }

    /// Opens a new current version (the row in text form, `stored` filling unchanged columns).
    fn open_version(&self, conn: &Connection, row: &[ReplicaValue], stored: Option<&[SqlValue]>, at: i64) -> Result<()> {
        let width = self.user_width();
        if row.len() != width {
            return Err(EngineError::Internal(format!(
                "a change to \"{}\" has {} values for {width} columns",
                self.def.name,
                row.len()
            )));
        }
        // Unchanged values are taken from the current version, already in storage form.
        let sql = self.insert_sql(|i| row[i] == ReplicaValue::Unchanged);
        let mut params: Vec<SqlValue> = Vec::with_capacity(width + 1);
        for (i, value) in row.iter().enumerate() {
            params.push(match value {
                ReplicaValue::Unchanged => stored.and_then(|s| s.get(i).cloned()).ok_or_else(|| {
                    EngineError::Internal(format!(
                        "an update of \"{}\" left column \"{}\" unchanged, but rhei has no current version to take it from",
                        self.def.name,
                        self.def.columns[i].name
                    ))
                })?,
                other => other.sql(),
            });
        }
        if self.temporal() {
            params.push(SqlValue::Integer(at));
        }
        conn.prepare_cached(&sql).and_then(|mut s| s.execute(params_from_iter(&params))).map_err(classify)?;
        Ok(())
    }

    fn key_of(&self, row: &[ReplicaValue]) -> Vec<SqlValue> {
        self.replica.key.iter().map(|&k| row.get(k).map_or(SqlValue::Null, ReplicaValue::sql)).collect()
    }
}

fn apply_change(conn: &Connection, catalog: &Catalog, change: &ReplicaChange, at: i64) -> Result<u64> {
    match change {
        ReplicaChange::Insert { table, row } => {
            let t = ReplicaTable::of(catalog, table)?;
            if t.replica.key_unique {
                // An insert of a key that is current (a replay the upstream resent) replaces it:
                // there is never more than one current version of a key.
                t.end_current(conn, &t.key_of(row), at)?;
            }
            t.open_version(conn, row, None, at)?;
            Ok(1)
        }
        ReplicaChange::Update { table, old_key, row } => {
            let t = ReplicaTable::of(catalog, table)?;
            let key: Vec<SqlValue> = match old_key {
                Some(old) => old.iter().map(ReplicaValue::sql).collect(),
                None => t.key_of(row),
            };
            let stored = if row.contains(&ReplicaValue::Unchanged) { t.current_row(conn, &key)? } else { None };
            t.end_current(conn, &key, at)?;
            if old_key.is_some() && t.replica.key_unique {
                // The key changed onto another key's current row: that one ends too.
                t.end_current(conn, &t.key_of(row), at)?;
            }
            t.open_version(conn, row, stored.as_deref(), at)?;
            Ok(1)
        }
        ReplicaChange::Delete { table, key } => {
            let t = ReplicaTable::of(catalog, table)?;
            let key: Vec<SqlValue> = key.iter().map(ReplicaValue::sql).collect();
            Ok(t.end_current(conn, &key, at)? as u64)
        }
        ReplicaChange::Truncate { table } => {
            let t = ReplicaTable::of(catalog, table)?;
            let sql = if t.temporal() {
                let to = quote_ident(VALID_TO);
                conn.prepare_cached(&format!("DELETE FROM {} WHERE {to} IS NULL AND {} = ?1", t.table(), quote_ident(VALID_FROM)))
                    .and_then(|mut s| s.execute([at]))
                    .map_err(classify)?;
                format!("UPDATE {} SET {to} = ?1 WHERE {to} IS NULL", t.table())
            } else {
                format!("DELETE FROM {} WHERE ?1 IS NOT NULL", t.table())
            };
            Ok(conn.prepare_cached(&sql).and_then(|mut s| s.execute([at])).map_err(classify)? as u64)
        }
    }
}

/// What a sidecar follower reports about its upstream: the `rhei_replication` view and
/// `rh status` show it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct UpstreamStatus {
    pub source: String,
    /// The upstream URL, password removed.
    pub upstream: String,
    /// `logical` (replication slot) for now.
    pub method: String,
    /// `snapshot`, `streaming`, `reconnecting` or `failed`.
    pub state: String,
    /// The upstream position the replica reflects (an LSN).
    pub applied_position: Option<String>,
    /// The upstream's latest known position.
    pub upstream_position: Option<String>,
    /// WAL bytes between the two.
    pub lag_bytes: Option<i64>,
    /// Seconds the replica is behind (0 when caught up).
    pub lag_seconds: Option<f64>,
    /// Commit time of the last applied upstream transaction (microseconds since the Unix epoch).
    pub last_commit_time: Option<i64>,
    pub transactions_applied: u64,
    pub rows_applied: u64,
    pub snapshot_rows: u64,
    pub last_error: Option<String>,
}

/// What a [`ReplicaProgress`] position counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProgressUnit {
    /// Upstream WAL positions (logical replication): everything committed before the LSN is
    /// applied.
    Lsn,
    /// Unix microseconds (timestamp polling): everything committed before a poll that started
    /// at that instant is applied.
    Clock,
}

/// How far the follower has applied its upstream, so a session that forwarded a write can wait
/// until its replica reflects it (read-your-writes through a sidecar).
///
/// The follower advances [`ReplicaProgress::advance`] as it applies, and watches
/// [`ReplicaProgress::wanted`] to learn that a session waits: then it asks the upstream to say
/// where it is (logical) or polls at once (polling), instead of waiting for its next turn.
#[derive(Debug)]
pub struct ReplicaProgress {
    unit: std::sync::OnceLock<ProgressUnit>,
    through: tokio::sync::watch::Sender<u64>,
    wanted: tokio::sync::watch::Sender<u64>,
}

impl Default for ReplicaProgress {
    fn default() -> Self {
        Self {
            unit: std::sync::OnceLock::new(),
            through: tokio::sync::watch::Sender::new(0),
            wanted: tokio::sync::watch::Sender::new(0),
        }
    }
}

impl ReplicaProgress {
    /// Set once by the follower when it starts.
    pub fn set_unit(&self, unit: ProgressUnit) {
        let _ = self.unit.set(unit);
    }

    /// What positions count; `None` until a follower has started.
    pub fn unit(&self) -> Option<ProgressUnit> {
        self.unit.get().copied()
    }

    /// Records that everything up to `position` is applied (and durable).
    pub fn advance(&self, position: u64) {
        self.through.send_if_modified(|through| {
            let moved = position > *through;
            *through = (*through).max(position);
            moved
        });
    }

    /// The position everything is applied up to.
    pub fn through(&self) -> u64 {
        *self.through.borrow()
    }

    /// The highest position a session waits for, as it changes.
    pub fn wanted(&self) -> tokio::sync::watch::Receiver<u64> {
        self.wanted.subscribe()
    }

    /// Waits until everything up to `position` is applied, or `timeout` passes; whether it was.
    pub async fn wait_for(&self, position: u64, timeout: std::time::Duration) -> bool {
        let mut through = self.through.subscribe();
        if *through.borrow_and_update() >= position {
            return true;
        }
        self.wanted.send_if_modified(|wanted| {
            let moved = position > *wanted;
            *wanted = (*wanted).max(position);
            moved
        });
        tokio::time::timeout(timeout, through.wait_for(|t| *t >= position)).await.is_ok_and(|r| r.is_ok())
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn a_wait_asks_for_its_position_and_ends_when_the_follower_reaches_it_or_times_out() {
        let progress = std::sync::Arc::new(ReplicaProgress::default());
        progress.advance(10);
        assert!(progress.wait_for(10, Duration::ZERO).await, "an applied position needs no wait");
        let mut wanted = progress.wanted();
        assert!(!progress.wait_for(20, Duration::from_millis(10)).await);
        assert_eq!(*wanted.borrow_and_update(), 20, "the follower learns what is waited for");
        let waiter = tokio::spawn({
            let progress = progress.clone();
            async move { progress.wait_for(30, Duration::from_secs(30)).await }
        });
        wanted.changed().await.unwrap();
        assert_eq!(*wanted.borrow_and_update(), 30);
        progress.advance(25);
        progress.advance(5);
        assert_eq!(progress.through(), 25, "positions never go back");
        progress.advance(31);
        assert!(waiter.await.unwrap());
    }
}
