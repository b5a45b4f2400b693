//! The SQLite follower: timestamp polling (`--upstream sqlite:///path/app.db`).
//!
//! A snapshot copies every selected table inside one read transaction and records, per table,
//! the highest `updated_at` seen and the keys stamped with it. Each poll then reads the rows
//! with `updated_at >= watermark`: `>=`, not `>`, so a row updated within the same timestamp
//! as the watermark is not missed, and the keys recorded at the watermark keep those already
//! applied from being applied twice. A row is an upsert (insert or update: the engine closes the
//! current version if there is one), a soft delete when the configured column is set, and a
//! hard delete when a periodic comparison of all keys no longer finds it upstream. Each poll is
//! one engine write together with the new watermarks, so a restart neither loses nor repeats.
//!
//! What polling cannot see: versions a row had between two polls (only the latest is read), and
//! exact delete times (a hard delete is stamped with the poll that noticed it).

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::time::Duration;

use rhei_config::SidecarConfig;
use rhei_engine::HtapEngine;
use rhei_engine::catalog::{ColumnDef, PgType, ReplicaDef};
use rhei_engine::replica::{ReplicaBatch, ReplicaChange, ReplicaTableSpec, ReplicaTxn, ReplicaValue, SnapshotRows, UpstreamStatus};
use rusqlite::types::ValueRef;
use rusqlite::{Connection, OpenFlags};
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

use crate::error::SidecarError;
use crate::schema::quote;

/// The name the follower's position is stored under.
pub const SOURCE: &str = "sqlite";

const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// Where polling stands for one table.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
struct Watermark {
    /// The highest `updated_at` applied, as SQLite stores it (`None` for an empty table).
    value: Option<SqlScalar>,
    /// Rows applied with exactly that value: key text to a hash of the row, so a row changed
    /// again within the same timestamp is still seen.
    keys: BTreeMap<String, u64>,
}

#[derive(Debug, Clone, PartialEq, PartialOrd, Serialize, Deserialize)]
enum SqlScalar {
    Int(i64),
    Real(f64),
    Text(String),
}

impl SqlScalar {
    fn of(value: ValueRef<'_>) -> Option<Self> {
        match value {
            ValueRef::Integer(i) => Some(Self::Int(i)),
            ValueRef::Real(f) => Some(Self::Real(f)),
            ValueRef::Text(t) => Some(Self::Text(String::from_utf8_lossy(t).into_owned())),
            ValueRef::Null | ValueRef::Blob(_) => None,
        }
    }

    fn to_sql(&self) -> rusqlite::types::Value {
        match self {
            Self::Int(i) => rusqlite::types::Value::Integer(*i),
            Self::Real(f) => rusqlite::types::Value::Real(*f),
            Self::Text(s) => rusqlite::types::Value::Text(s.clone()),
        }
    }

    /// The instant this `updated_at` names (microseconds since the Unix epoch): ISO text as
    /// UTC, integers as Unix seconds (milliseconds when that large), reals as seconds.
    fn micros(&self) -> Option<i64> {
        match self {
            Self::Text(s) => rhei_engine::value::parse_timestamp_micros(s),
            Self::Int(i) if i.abs() > 100_000_000_000 => Some(i.saturating_mul(1000)),
            Self::Int(i) => Some(i.saturating_mul(1_000_000)),
            Self::Real(f) => Some((f * 1e6) as i64),
        }
    }
}

/// The stored position: every table's watermark.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
struct PollState {
    tables: BTreeMap<String, Watermark>,
}

/// One followed upstream table.
#[derive(Debug, Clone)]
struct PolledTable {
    name: String,
    spec: ReplicaTableSpec,
    /// Position of `updated_at` and of the soft-delete column among the columns.
    updated: usize,
    soft_delete: Option<usize>,
}

impl PolledTable {
    fn row_hash(row: &[Option<String>]) -> u64 {
        // FNV-1a: stable across builds (it is stored in the position).
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for value in row {
            let bytes = value.as_deref().map_or(&[0xff_u8][..], str::as_bytes);
            for b in bytes.iter().chain(&[0x1f]) {
                h ^= u64::from(*b);
                h = h.wrapping_mul(0x0100_0000_01b3);
            }
        }
        h
    }

    fn key_text(&self, row: &[Option<String>]) -> String {
        self.spec.def.key.iter().map(|&k| row[k].clone().unwrap_or_default()).collect::<Vec<_>>().join("\u{1f}")
    }
}

/// Maps an SQLite declared type by SQLite's own affinity rules, refined where the name says
/// more (BOOLEAN, DATE, DATETIME); anything else is text.
pub fn map_sqlite_type(declared: &str) -> PgType {
    let t = declared.to_ascii_uppercase();
    if t.contains("INT") {
        PgType::Int8
    } else if t.contains("BOOL") {
        PgType::Bool
    } else if t.contains("DATETIME") || t.contains("TIMESTAMP") {
        PgType::Timestamp
    } else if t.contains("DATE") {
        PgType::Date
    } else if t.contains("REAL") || t.contains("FLOA") || t.contains("DOUB") {
        PgType::Float8
    } else if t.contains("BLOB") {
        PgType::Bytea
    } else {
        PgType::Text
    }
}

/// An SQLite value in PostgreSQL's text form (what the engine's converters read).
fn pg_text(value: ValueRef<'_>) -> Option<String> {
    match value {
        ValueRef::Null => None,
        ValueRef::Integer(i) => Some(i.to_string()),
        ValueRef::Real(f) => Some(format!("{f:?}")),
        ValueRef::Text(t) => Some(String::from_utf8_lossy(t).into_owned()),
        ValueRef::Blob(b) => Some(format!("\\x{}", b.iter().map(|x| format!("{x:02x}")).collect::<String>())),
    }
}

fn sqlite_error(e: rusqlite::Error) -> SidecarError {
    SidecarError::Protocol(format!("upstream SQLite: {e}"))
}

/// The selected tables of the upstream file and their shapes; tables rhei cannot poll (no
/// primary key, no `updated_at` column) are named in the second list with the reason.
fn discover(conn: &Connection, config: &SidecarConfig) -> Result<(Vec<PolledTable>, Vec<String>), SidecarError> {
    let mut names: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
        .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
        .map_err(sqlite_error)?;
    names.retain(|n| config.selects("public", n));
    let mut tables = Vec::new();
    let mut skipped = Vec::new();
    for name in names {
        let columns: Vec<(String, String, bool, i64)> = conn
            .prepare(&format!("PRAGMA table_info({})", quote(&name)))
            .and_then(|mut s| s.query_map([], |r| Ok((r.get(1)?, r.get(2)?, r.get::<_, i64>(3)? != 0, r.get(5)?)))?.collect())
            .map_err(sqlite_error)?;
        let mut key: Vec<(i64, usize)> = columns.iter().enumerate().filter(|(_, c)| c.3 > 0).map(|(i, c)| (c.3, i)).collect();
        key.sort_unstable();
        let Some(updated) = columns.iter().position(|c| c.0 == config.polling.updated_at) else {
            skipped.push(format!("{name} (no {} column)", config.polling.updated_at));
            continue;
        };
        if key.is_empty() {
            skipped.push(format!("{name} (no primary key)"));
            continue;
        }
        let soft_delete = config.polling.soft_delete.as_ref().and_then(|c| columns.iter().position(|x| &x.0 == c));
        let defs = columns
            .iter()
            .map(|(n, ty, not_null, _)| ColumnDef { name: n.clone(), ty: map_sqlite_type(ty), not_null: *not_null, is_serial: false, default_sql: None })
            .collect();
        let spec = ReplicaTableSpec {
            name: name.clone(),
            columns: defs,
            def: ReplicaDef {
                upstream: format!("main.{name}"),
                key: key.into_iter().map(|(_, i)| i).collect(),
                temporal: config.mode == rhei_config::ReplicaMode::Temporal,
                key_unique: true,
                dropped: Vec::new(),
            },
        };
        tables.push(PolledTable { name, spec, updated, soft_delete });
    }
    Ok((tables, skipped))
}

/// Rows of a table as PostgreSQL text, each with its `updated_at`.
fn read_rows(conn: &Connection, table: &PolledTable, since: Option<&SqlScalar>) -> Result<Vec<(Vec<Option<String>>, Option<SqlScalar>)>, SidecarError> {
    let columns: Vec<String> = table.spec.columns.iter().map(|c| quote(&c.name)).collect();
    let updated = quote(&table.spec.columns[table.updated].name);
    let filter = if since.is_some() { format!(" WHERE {updated} >= ?1") } else { String::new() };
    let sql = format!("SELECT {} FROM {}{filter} ORDER BY {updated}", columns.join(", "), quote(&table.name));
    let mut stmt = conn.prepare(&sql).map_err(sqlite_error)?;
    let params: Vec<rusqlite::types::Value> = since.map(SqlScalar::to_sql).into_iter().collect();
    let mut rows = stmt.query(rusqlite::params_from_iter(params)).map_err(sqlite_error)?;
    let mut out = Vec::new();
    while let Some(row) = rows.next().map_err(sqlite_error)? {
        let mut values = Vec::with_capacity(columns.len());
        for i in 0..columns.len() {
            values.push(pg_text(row.get_ref(i).map_err(sqlite_error)?));
        }
        let stamp = SqlScalar::of(row.get_ref(table.updated).map_err(sqlite_error)?);
        out.push((values, stamp));
    }
    Ok(out)
}

fn open(path: &PathBuf) -> Result<Connection, SidecarError> {
    let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX)
        .map_err(|e| SidecarError::Protocol(format!("cannot open the upstream SQLite file {}: {e}", path.display())))?;
    conn.busy_timeout(Duration::from_secs(5)).map_err(sqlite_error)?;
    Ok(conn)
}

/// What one read of the upstream found.
struct Polled {
    txns: Vec<ReplicaTxn>,
    state: PollState,
    /// Upstream keys of each table, when this poll compared keys.
    keys: Option<BTreeMap<String, BTreeSet<String>>>,
}

/// Follows an SQLite file into the engine by polling, until cancelled.
pub struct SqliteFollower {
    engine: HtapEngine,
    config: SidecarConfig,
    path: PathBuf,
    status: UpstreamStatus,
    resnapshot: bool,
    last_commit_time: i64,
}

impl SqliteFollower {
    /// A follower for `config.upstream` (`sqlite:///path`); nothing is read until [`Self::run`].
    ///
    /// # Errors
    /// The upstream is not an SQLite URL.
    pub fn new(engine: HtapEngine, config: SidecarConfig) -> Result<Self, SidecarError> {
        let path = config.sqlite_path().ok_or_else(|| SidecarError::Protocol("not a sqlite:// upstream".into()))?;
        engine.set_replica_of(&config.upstream);
        let status = UpstreamStatus {
            source: SOURCE.into(),
            upstream: config.upstream.clone(),
            method: "polling".into(),
            state: "starting".into(),
            ..UpstreamStatus::default()
        };
        engine.report_upstream(status.clone());
        let resnapshot = config.resnapshot;
        Ok(Self { engine, config, path, status, resnapshot, last_commit_time: i64::MIN })
    }

    fn report(&self) {
        self.engine.report_upstream(self.status.clone());
    }

    /// Polls until `shutdown`; errors are reported and retried with backoff (a file that is
    /// briefly locked or missing comes back).
    pub async fn run(mut self, shutdown: CancellationToken) {
        let mut backoff = Duration::from_millis(250);
        loop {
            let error = match self.follow(&shutdown).await {
                Ok(()) => return,
                Err(e) => e,
            };
            self.status.state = "reconnecting".into();
            self.status.last_error = Some(format!("{} (SQLSTATE {})", error, error.sqlstate()));
            self.report();
            tracing::warn!("polling {} failed ({error}); retrying in {backoff:?}", self.status.upstream);
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = tokio::time::sleep(backoff) => {}
            }
            backoff = (backoff * 2).min(MAX_BACKOFF);
        }
    }

    async fn follow(&mut self, shutdown: &CancellationToken) -> Result<(), SidecarError> {
        let stored = if self.resnapshot { None } else { self.engine.replica_position(SOURCE).await? };
        let (tables, skipped) = {
            let (path, config) = (self.path.clone(), self.config.clone());
            blocking(move || discover(&open(&path)?, &config)).await?
        };
        if !skipped.is_empty() {
            tracing::warn!("not following: {}", skipped.join(", "));
        }
        let mut state = match stored {
            Some(position) => serde_json::from_str(&position).map_err(|e| SidecarError::Protocol(format!("stored SQLite position: {e}")))?,
            None => {
                let state = self.snapshot(&tables).await?;
                self.resnapshot = false;
                state
            }
        };
        self.status.state = "polling".into();
        self.status.last_error = (!skipped.is_empty()).then(|| format!("not following: {}", skipped.join(", ")));
        self.report();
        let mut polls: u64 = 0;
        loop {
            tokio::select! {
                () = shutdown.cancelled() => return Ok(()),
                () = tokio::time::sleep(self.config.polling.interval) => {}
            }
            polls += 1;
            let check_keys = polls % u64::from(self.config.polling.key_check_polls) == 0;
            let polled = {
                let (path, tables, previous, soft) = (self.path.clone(), tables.clone(), state.clone(), self.config.polling.soft_delete.is_some());
                let last = self.last_commit_time;
                blocking(move || poll(&open(&path)?, &tables, &previous, check_keys, soft, last)).await?
            };
            let mut txns = polled.txns;
            if let Some(upstream_keys) = &polled.keys {
                let now = rhei_engine::value::now_micros().max(self.last_commit_time.saturating_add(1));
                let mut deletes = Vec::new();
                for table in &tables {
                    let Some(present) = upstream_keys.get(&table.name) else { continue };
                    for key in self.local_keys(table).await? {
                        if !present.contains(&key) {
                            deletes.push(ReplicaChange::Delete { table: table.name.clone(), key: split_key(&key, table) });
                        }
                    }
                }
                if !deletes.is_empty() {
                    txns.push(ReplicaTxn { commit_time: now, changes: deletes });
                }
            }
            if let Some(last) = txns.iter().map(|t| t.commit_time).max() {
                self.last_commit_time = self.last_commit_time.max(last);
                self.status.last_commit_time = Some(self.last_commit_time);
            }
            if txns.is_empty() && polled.state == state {
                continue;
            }
            let position = serde_json::to_string(&polled.state).map_err(|e| SidecarError::Protocol(e.to_string()))?;
            let count = txns.len() as u64;
            let rows = self.engine.apply_replica(ReplicaBatch { source: SOURCE.into(), txns, position: position.clone() }).await?;
            state = polled.state;
            self.status.transactions_applied += count;
            self.status.rows_applied += rows;
            self.status.applied_position = Some(position);
            self.report();
        }
    }

    /// Keys of the table's current rows in rhei, as key texts.
    async fn local_keys(&self, table: &PolledTable) -> Result<Vec<String>, SidecarError> {
        let cols: Vec<String> = table.spec.def.key.iter().map(|&k| quote(&table.spec.columns[k].name)).collect();
        let batches = self.engine.query(&format!("SELECT {} FROM {}", cols.join(", "), quote(&table.name))).await?;
        let mut keys = Vec::new();
        for batch in batches {
            for row in 0..batch.num_rows() {
                let parts: Vec<String> =
                    (0..batch.num_columns()).map(|c| rhei_engine::copy::pg_text(batch.column(c), row).unwrap_or_default()).collect();
                keys.push(parts.join("\u{1f}"));
            }
        }
        Ok(keys)
    }

    async fn snapshot(&mut self, tables: &[PolledTable]) -> Result<PollState, SidecarError> {
        self.status.state = "snapshot".into();
        self.report();
        let existing: Vec<String> = self.engine.catalog().tables().filter(|t| t.replica.is_some()).map(|t| t.name.clone()).collect();
        self.engine.reset_replica(SOURCE, existing).await?;
        let valid_from = rhei_engine::value::now_micros();
        let (path, owned) = (self.path.clone(), tables.to_vec());
        let soft = self.config.polling.soft_delete.is_some();
        let read = blocking(move || {
            let conn = open(&path)?;
            // One read transaction: every table as of one moment.
            conn.execute_batch("BEGIN").map_err(sqlite_error)?;
            let mut out = Vec::new();
            for table in &owned {
                let rows = read_rows(&conn, table, None)?;
                let mut mark = Watermark::default();
                let mut live = Vec::with_capacity(rows.len());
                for (row, stamp) in rows {
                    advance(&mut mark, stamp, table.key_text(&row), PolledTable::row_hash(&row));
                    let deleted = soft && table.soft_delete.is_some_and(|i| row[i].is_some());
                    if !deleted {
                        live.push(row);
                    }
                }
                out.push((table.name.clone(), live, mark));
            }
            conn.execute_batch("COMMIT").map_err(sqlite_error)?;
            Ok(out)
        })
        .await?;
        let mut state = PollState::default();
        let mut total = 0;
        for (table, (name, rows, mark)) in tables.iter().zip(read) {
            self.engine.create_replica_table(table.spec.clone()).await?;
            total += rows.len() as u64;
            self.engine.load_replica_rows(SnapshotRows { table: name.clone(), valid_from, rows }).await?;
            state.tables.insert(name, mark);
        }
        let position = serde_json::to_string(&state).map_err(|e| SidecarError::Protocol(e.to_string()))?;
        self.engine.finish_replica_snapshot(SOURCE, tables.iter().map(|t| t.name.clone()).collect(), &position).await?;
        self.last_commit_time = valid_from;
        self.status.snapshot_rows = total;
        self.status.applied_position = Some(position);
        tracing::info!("snapshot of {} tables from {}: {total} rows", tables.len(), self.path.display());
        Ok(state)
    }
}

/// Moves a watermark to a row's `updated_at`, remembering the rows stamped with it.
fn advance(mark: &mut Watermark, stamp: Option<SqlScalar>, key: String, hash: u64) {
    let Some(stamp) = stamp else { return };
    match &mark.value {
        Some(current) if *current == stamp => {
            mark.keys.insert(key, hash);
        }
        Some(current) if *current > stamp => {}
        _ => {
            mark.value = Some(stamp);
            mark.keys = BTreeMap::from([(key, hash)]);
        }
    }
}

fn split_key(key: &str, table: &PolledTable) -> Vec<ReplicaValue> {
    let parts: Vec<&str> = key.split('\u{1f}').collect();
    table.spec.def.key.iter().enumerate().map(|(i, _)| ReplicaValue::Text(parts.get(i).copied().unwrap_or_default().to_string())).collect()
}

/// One poll: changed rows since each watermark (a transaction per distinct `updated_at`).
fn poll(conn: &Connection, tables: &[PolledTable], previous: &PollState, check_keys: bool, soft: bool, last: i64) -> Result<Polled, SidecarError> {
    conn.execute_batch("BEGIN").map_err(sqlite_error)?;
    let mut state = previous.clone();
    let mut by_time: BTreeMap<i64, Vec<ReplicaChange>> = BTreeMap::new();
    let mut keys = check_keys.then(BTreeMap::new);
    let now = rhei_engine::value::now_micros();
    for table in tables {
        let mark = state.tables.entry(table.name.clone()).or_default();
        let since = mark.value.clone();
        for (row, stamp) in read_rows(conn, table, since.as_ref())? {
            let key = table.key_text(&row);
            let hash = PolledTable::row_hash(&row);
            // Same timestamp as the watermark and applied as it is now: not a change.
            if stamp.is_some() && stamp == since && previous.tables.get(&table.name).is_some_and(|m| m.keys.get(&key) == Some(&hash)) {
                continue;
            }
            // Strictly after the previous version: an equal instant means "the same transaction" to the
            // engine, which would drop that version instead of ending it.
            let at = stamp.as_ref().and_then(SqlScalar::micros).unwrap_or(now).max(last.saturating_add(1));
            advance(mark, stamp, key.clone(), hash);
            let deleted = soft && table.soft_delete.is_some_and(|i| row[i].is_some());
            let change = if deleted {
                ReplicaChange::Delete { table: table.name.clone(), key: split_key(&key, table) }
            } else {
                let row = row.into_iter().map(|v| v.map_or(ReplicaValue::Null, ReplicaValue::Text)).collect();
                ReplicaChange::Insert { table: table.name.clone(), row }
            };
            by_time.entry(at).or_default().push(change);
        }
        if let Some(keys) = keys.as_mut() {
            let cols: Vec<String> = table.spec.def.key.iter().map(|&k| quote(&table.spec.columns[k].name)).collect();
            let mut live_filter = String::new();
            if let (true, Some(i)) = (soft, table.soft_delete) {
                live_filter = format!(" WHERE {} IS NULL", quote(&table.spec.columns[i].name));
            }
            let sql = format!("SELECT {} FROM {}{live_filter}", cols.join(", "), quote(&table.name));
            let mut stmt = conn.prepare(&sql).map_err(sqlite_error)?;
            let mut rows = stmt.query([]).map_err(sqlite_error)?;
            let mut present = BTreeSet::new();
            while let Some(row) = rows.next().map_err(sqlite_error)? {
                let parts: Vec<String> = (0..cols.len())
                    .map(|i| row.get_ref(i).map(|v| pg_text(v).unwrap_or_default()).map_err(sqlite_error))
                    .collect::<Result<_, _>>()?;
                present.insert(parts.join("\u{1f}"));
            }
            keys.insert(table.name.clone(), present);
        }
    }
    conn.execute_batch("COMMIT").map_err(sqlite_error)?;
    let txns = by_time.into_iter().map(|(commit_time, changes)| ReplicaTxn { commit_time, changes }).collect();
    Ok(Polled { txns, state, keys })
}

/// Runs SQLite work on a blocking thread.
async fn blocking<T: Send + 'static>(work: impl FnOnce() -> Result<T, SidecarError> + Send + 'static) -> Result<T, SidecarError> {
    tokio::task::spawn_blocking(work).await.map_err(|e| SidecarError::Protocol(format!("SQLite reader panicked: {e}")))?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_declared_types_follow_sqlite_affinity() {
        assert_eq!(map_sqlite_type("INTEGER"), PgType::Int8);
        assert_eq!(map_sqlite_type("bigint"), PgType::Int8);
        assert_eq!(map_sqlite_type("VARCHAR(20)"), PgType::Text);
        assert_eq!(map_sqlite_type("REAL"), PgType::Float8);
        assert_eq!(map_sqlite_type("BOOLEAN"), PgType::Bool);
        assert_eq!(map_sqlite_type("DATETIME"), PgType::Timestamp);
        assert_eq!(map_sqlite_type("DATE"), PgType::Date);
        assert_eq!(map_sqlite_type("BLOB"), PgType::Bytea);
        assert_eq!(map_sqlite_type(""), PgType::Text);
    }

    #[test]
    fn watermarks_keep_the_keys_stamped_with_them() {
        let mut mark = Watermark::default();
        advance(&mut mark, Some(SqlScalar::Text("2026-01-01 00:00:01".into())), "1".into(), 1);
        advance(&mut mark, Some(SqlScalar::Text("2026-01-01 00:00:01".into())), "2".into(), 2);
        assert_eq!(mark.keys.len(), 2);
        advance(&mut mark, Some(SqlScalar::Text("2026-01-01 00:00:00".into())), "3".into(), 3);
        assert_eq!(mark.keys.len(), 2, "an older stamp does not move the watermark");
        advance(&mut mark, Some(SqlScalar::Text("2026-01-01 00:00:02".into())), "3".into(), 3);
        assert_eq!(mark.keys, BTreeMap::from([("3".to_string(), 3)]));
        let row = |v: &str| vec![Some("1".to_string()), Some(v.to_string())];
        assert_ne!(PolledTable::row_hash(&row("a")), PolledTable::row_hash(&row("b")));
        assert_eq!(SqlScalar::Int(1_767_225_600).micros(), Some(1_767_225_600_000_000));
        assert_eq!(SqlScalar::Text("2026-01-01 00:00:00".into()).micros(), Some(1_767_225_600_000_000));
    }
}
