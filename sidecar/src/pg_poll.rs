//! Polling a PostgreSQL upstream: the [`PollSource`] for upstreams without logical
//! replication (`wal_level` below `logical`, or `[sidecar] method = "polling"`). It needs only
//! SELECT on the followed tables.
//!
//! Each read is one REPEATABLE READ transaction, so every table is read as of one moment, and
//! each table is read with `COPY (SELECT ...) TO STDOUT`: values arrive in PostgreSQL's own
//! text form, exactly what the engine's converters read. A timestamp `updated_at` is compared
//! as exact microseconds (never through a float); integer and other stamps as they are.

use std::collections::BTreeSet;

use futures::StreamExt;
use rhei_config::SidecarConfig;
use rhei_engine::copy::CopyFormat;
use tokio::sync::Mutex;
use tokio_postgres::Client;

use crate::error::SidecarError;
use crate::polling::{PollSource, PolledTable, Stamp, TableRead, key_text, marks_deleted};
use crate::schema::{self, quote};

/// The name the follower's position is stored under.
pub const SOURCE: &str = "postgres_polling";

/// How an `updated_at` column's values are read and compared.
#[derive(Debug, Clone, Copy, PartialEq)]
enum StampKind {
    /// timestamp, timestamptz: microseconds since the epoch.
    Micros,
    /// smallint, integer, bigint.
    Int,
    /// real, double precision, numeric.
    Real,
    /// Anything else (date, text): compared by the upstream, ordered by its text.
    Text,
}

impl StampKind {
    fn of(upstream_type: &str) -> Self {
        let t = upstream_type.to_ascii_lowercase();
        if t.starts_with("timestamp") {
            Self::Micros
        } else if matches!(t.as_str(), "smallint" | "integer" | "bigint") {
            Self::Int
        } else if t == "real" || t == "double precision" || t.starts_with("numeric") {
            Self::Real
        } else {
            Self::Text
        }
    }

    /// The stamp column in a form [`Self::parse`] reads.
    fn select(self, column: &str) -> String {
        match self {
            Self::Micros => format!("(extract(epoch FROM {column}) * 1000000)::int8"),
            Self::Int => format!("{column}::int8"),
            Self::Real => format!("{column}::float8"),
            Self::Text => column.to_string(),
        }
    }

    fn parse(self, text: &str) -> Option<Stamp> {
        match self {
            Self::Micros => text.parse().ok().map(Stamp::Micros),
            Self::Int => text.parse().ok().map(Stamp::Int),
            Self::Real => text.parse().ok().map(Stamp::Real),
            Self::Text => Some(Stamp::Text(text.to_string())),
        }
    }

    /// `column >= stamp` in the column's own type (so an index on it can serve the poll).
    fn at_or_after(self, column: &str, upstream_type: &str, stamp: &Stamp) -> String {
        match stamp {
            Stamp::Micros(m) => format!("{column} >= 'epoch'::{upstream_type} + {m}::int8 * interval '1 microsecond'"),
            Stamp::Int(i) => format!("{column} >= {i}"),
            Stamp::Real(f) => format!("{column} >= {f:?}::float8"),
            Stamp::Text(t) => format!("{column} >= '{}'::{upstream_type}", t.replace('\'', "''")),
        }
    }
}

/// A PostgreSQL upstream read over one lazily (re)opened connection.
pub struct PgPollSource {
    pg: crate::upstream::UpstreamConfig,
    config: SidecarConfig,
    client: Mutex<Option<Client>>,
}

impl PgPollSource {
    /// The source for `config.upstream`, connecting with `pg` (which carries the session
    /// settings that make text output what rhei reads).
    pub fn new(pg: crate::upstream::UpstreamConfig, config: &SidecarConfig) -> Self {
        Self { pg, config: config.clone(), client: Mutex::new(None) }
    }

    /// The open connection, opening one when there is none or the last one broke.
    async fn client(&self) -> Result<tokio::sync::MutexGuard<'_, Option<Client>>, SidecarError> {
        let mut guard = self.client.lock().await;
        if guard.as_ref().is_none_or(Client::is_closed) {
            *guard = Some(crate::postgres::connect(&self.pg).await?);
        }
        Ok(guard)
    }

    async fn copy_rows(client: &Client, sql: &str, width: usize) -> Result<Vec<Vec<Option<String>>>, SidecarError> {
        let stream = client.copy_out(sql).await?;
        let mut stream = std::pin::pin!(stream);
        let mut text = Vec::new();
        while let Some(chunk) = stream.next().await {
            text.extend_from_slice(&chunk?);
        }
        Ok(CopyFormat::default().parse(&text, width)?)
    }

    async fn read_table(client: &Client, table: &PolledTable, since: Option<&Stamp>, keys: bool) -> Result<TableRead, SidecarError> {
        let columns: Vec<String> = table.spec.columns.iter().map(|c| quote(&c.name)).collect();
        let updated = &columns[table.updated];
        let kind = StampKind::of(&table.updated_type);
        let filter = since.map(|s| format!(" WHERE {}", kind.at_or_after(updated, &table.updated_type, s))).unwrap_or_default();
        let sql = format!(
            "COPY (SELECT {}, {} FROM {}{filter} ORDER BY {updated}) TO STDOUT",
            columns.join(", "),
            kind.select(updated),
            table.upstream
        );
        let rows = Self::copy_rows(client, &sql, columns.len() + 1)
            .await?
            .into_iter()
            .map(|mut row| {
                let stamp = row.pop().flatten().and_then(|s| kind.parse(&s));
                (row, stamp)
            })
            .collect();
        let keys = if keys {
            let mut cols: Vec<String> = table.spec.def.key.iter().map(|&k| columns[k].clone()).collect();
            let width = cols.len();
            cols.extend(table.soft_delete.map(|i| columns[i].clone()));
            let sql = format!("COPY (SELECT {} FROM {}) TO STDOUT", cols.join(", "), table.upstream);
            let mut present = BTreeSet::new();
            for row in Self::copy_rows(client, &sql, cols.len()).await? {
                if table.soft_delete.is_some() && marks_deleted(row[width].as_deref()) {
                    continue;
                }
                present.insert(key_text(row[..width].iter().map(Option::as_deref)));
            }
            Some(present)
        } else {
            None
        };
        Ok(TableRead { rows, keys })
    }
}

impl PollSource for PgPollSource {
    fn source(&self) -> &'static str {
        SOURCE
    }

    async fn discover(&self) -> Result<(Vec<PolledTable>, Vec<String>), SidecarError> {
        let guard = self.client().await?;
        let client = guard.as_ref().ok_or_else(|| SidecarError::Protocol("no upstream connection".into()))?;
        let (tables, mut skipped) = schema::discover_keyed(client, &self.config).await?;
        let mut polled = Vec::new();
        for table in tables {
            let columns = &table.spec.columns;
            let Some(updated) = columns.iter().position(|c| c.name == self.config.polling.updated_at) else {
                skipped.push(format!("{} (no {} column)", table.local, self.config.polling.updated_at));
                continue;
            };
            let soft_delete = self.config.polling.soft_delete.as_ref().and_then(|c| columns.iter().position(|x| &x.name == c));
            polled.push(PolledTable {
                upstream: table.qualified(),
                updated_type: table.upstream_types[updated].clone(),
                spec: table.spec,
                updated,
                soft_delete,
            });
        }
        Ok((polled, skipped))
    }

    async fn read(&self, tables: &[PolledTable], since: Vec<Option<Stamp>>, keys: bool) -> Result<Vec<TableRead>, SidecarError> {
        let guard = self.client().await?;
        let client = guard.as_ref().ok_or_else(|| SidecarError::Protocol("no upstream connection".into()))?;
        client.batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY").await?;
        let mut out = Vec::with_capacity(tables.len());
        for (table, since) in tables.iter().zip(&since) {
            match Self::read_table(client, table, since.as_ref(), keys).await {
                Ok(read) => out.push(read),
                Err(e) => {
                    let _ = client.batch_execute("ROLLBACK").await;
                    return Err(e);
                }
            }
        }
        client.batch_execute("COMMIT").await?;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamps_are_compared_in_the_columns_own_type_without_floats() {
        assert_eq!(StampKind::of("timestamp with time zone"), StampKind::Micros);
        assert_eq!(StampKind::of("timestamp(3) without time zone"), StampKind::Micros);
        assert_eq!(StampKind::of("bigint"), StampKind::Int);
        assert_eq!(StampKind::of("numeric(10,2)"), StampKind::Real);
        assert_eq!(StampKind::of("date"), StampKind::Text);
        assert_eq!(
            StampKind::Micros.at_or_after("\"u\"", "timestamp with time zone", &Stamp::Micros(1_767_225_600_000_001)),
            "\"u\" >= 'epoch'::timestamp with time zone + 1767225600000001::int8 * interval '1 microsecond'"
        );
        assert_eq!(StampKind::Text.at_or_after("\"d\"", "date", &Stamp::Text("2026-01-0'1".into())), "\"d\" >= '2026-01-0''1'::date");
        assert_eq!(StampKind::Micros.parse("1767225600000001"), Some(Stamp::Micros(1_767_225_600_000_001)));
    }
}
