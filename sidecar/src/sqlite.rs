//! Polling an SQLite file (`--upstream sqlite:///path/app.db`): the [`PollSource`] for SQLite.
//! What the rows mean, and how they are applied, is `polling`'s job.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::Duration;

use rhei_config::SidecarConfig;
use rhei_engine::catalog::{ColumnDef, PgType, ReplicaDef};
use rhei_engine::replica::ReplicaTableSpec;
use rusqlite::types::ValueRef;
use rusqlite::{Connection, OpenFlags};

use crate::error::SidecarError;
use crate::polling::{PollSource, PolledTable, Stamp, StampedRow, TableRead};
use crate::schema::quote;

/// The name the follower's position is stored under.
pub const SOURCE: &str = "sqlite";

fn stamp_of(value: ValueRef<'_>) -> Option<Stamp> {
    match value {
        ValueRef::Integer(i) => Some(Stamp::Int(i)),
        ValueRef::Real(f) => Some(Stamp::Real(f)),
        ValueRef::Text(t) => Some(Stamp::Text(String::from_utf8_lossy(t).into_owned())),
        ValueRef::Null | ValueRef::Blob(_) => None,
    }
}

fn stamp_to_sql(stamp: &Stamp) -> rusqlite::types::Value {
    match stamp {
        Stamp::Int(i) | Stamp::Micros(i) => rusqlite::types::Value::Integer(*i),
        Stamp::Real(f) => rusqlite::types::Value::Real(*f),
        Stamp::Text(s) => rusqlite::types::Value::Text(s.clone()),
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
        let updated_type = columns[updated].1.clone();
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
        tables.push(PolledTable { upstream: quote(&name), spec, updated, soft_delete, updated_type });
    }
    Ok((tables, skipped))
}

/// Rows of a table as PostgreSQL text, each with its `updated_at`, oldest first.
fn read_rows(conn: &Connection, table: &PolledTable, since: Option<&Stamp>) -> Result<Vec<StampedRow>, SidecarError> {
    let columns: Vec<String> = table.spec.columns.iter().map(|c| quote(&c.name)).collect();
    let updated = quote(&table.spec.columns[table.updated].name);
    let filter = if since.is_some() { format!(" WHERE {updated} >= ?1") } else { String::new() };
    let sql = format!("SELECT {} FROM {}{filter} ORDER BY {updated}", columns.join(", "), table.upstream);
    let mut stmt = conn.prepare(&sql).map_err(sqlite_error)?;
    let params: Vec<rusqlite::types::Value> = since.map(stamp_to_sql).into_iter().collect();
    let mut rows = stmt.query(rusqlite::params_from_iter(params)).map_err(sqlite_error)?;
    let mut out = Vec::new();
    while let Some(row) = rows.next().map_err(sqlite_error)? {
        let mut values = Vec::with_capacity(columns.len());
        for i in 0..columns.len() {
            values.push(pg_text(row.get_ref(i).map_err(sqlite_error)?));
        }
        let stamp = stamp_of(row.get_ref(table.updated).map_err(sqlite_error)?);
        out.push((values, stamp));
    }
    Ok(out)
}

/// Keys of the rows not soft-deleted.
fn live_keys(conn: &Connection, table: &PolledTable) -> Result<BTreeSet<String>, SidecarError> {
    let mut cols: Vec<String> = table.spec.def.key.iter().map(|&k| quote(&table.spec.columns[k].name)).collect();
    let width = cols.len();
    if let Some(i) = table.soft_delete {
        cols.push(quote(&table.spec.columns[i].name));
    }
    let sql = format!("SELECT {} FROM {}", cols.join(", "), table.upstream);
    let mut stmt = conn.prepare(&sql).map_err(sqlite_error)?;
    let mut rows = stmt.query([]).map_err(sqlite_error)?;
    let mut present = BTreeSet::new();
    while let Some(row) = rows.next().map_err(sqlite_error)? {
        let values: Vec<Option<String>> =
            (0..cols.len()).map(|i| row.get_ref(i).map(pg_text).map_err(sqlite_error)).collect::<Result<_, _>>()?;
        if table.soft_delete.is_some() && crate::polling::marks_deleted(values[width].as_deref()) {
            continue;
        }
        present.insert(crate::polling::key_text(values[..width].iter().map(Option::as_deref)));
    }
    Ok(present)
}

fn open(path: &PathBuf) -> Result<Connection, SidecarError> {
    let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX)
        .map_err(|e| SidecarError::Protocol(format!("cannot open the upstream SQLite file {}: {e}", path.display())))?;
    conn.busy_timeout(Duration::from_secs(5)).map_err(sqlite_error)?;
    Ok(conn)
}

/// An SQLite file, read on blocking threads; each read is one read transaction.
pub struct SqliteSource {
    path: PathBuf,
    config: SidecarConfig,
}

impl SqliteSource {
    /// The source for `config.upstream` (`sqlite:///path`); the file is opened on each read.
    ///
    /// # Errors
    /// The upstream is not an SQLite URL.
    pub fn new(config: &SidecarConfig) -> Result<Self, SidecarError> {
        let path = config.sqlite_path().ok_or_else(|| SidecarError::Protocol("not a sqlite:// upstream".into()))?;
        Ok(Self { path, config: config.clone() })
    }
}

impl PollSource for SqliteSource {
    fn source(&self) -> &'static str {
        SOURCE
    }

    async fn discover(&self) -> Result<(Vec<PolledTable>, Vec<String>), SidecarError> {
        let (path, config) = (self.path.clone(), self.config.clone());
        blocking(move || discover(&open(&path)?, &config)).await
    }

    async fn read(&self, tables: &[PolledTable], since: Vec<Option<Stamp>>, keys: bool) -> Result<Vec<TableRead>, SidecarError> {
        let (path, tables) = (self.path.clone(), tables.to_vec());
        blocking(move || {
            let conn = open(&path)?;
            // One read transaction: every table as of one moment.
            conn.execute_batch("BEGIN").map_err(sqlite_error)?;
            let mut out = Vec::with_capacity(tables.len());
            for (table, since) in tables.iter().zip(&since) {
                let rows = read_rows(&conn, table, since.as_ref())?;
                let keys = if keys { Some(live_keys(&conn, table)?) } else { None };
                out.push(TableRead { rows, keys });
            }
            conn.execute_batch("COMMIT").map_err(sqlite_error)?;
            Ok(out)
        })
        .await
    }
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
}
