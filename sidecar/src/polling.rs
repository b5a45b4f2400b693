//! Timestamp polling, whatever the upstream: SQLite files (`sqlite`), and PostgreSQL without
//! logical replication (`pg_poll`). A [`PollSource`] reads rows; this module decides what they
//! mean and applies them.
//!
//! A snapshot copies every selected table inside one consistent read and records, per table,
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
use std::future::Future;
use std::time::Duration;

use rhei_config::SidecarConfig;
use rhei_engine::HtapEngine;
use rhei_engine::replica::{ProgressUnit, ReplicaBatch, ReplicaChange, ReplicaTableSpec, ReplicaTxn, ReplicaValue, SnapshotRows, UpstreamStatus};
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

use crate::error::SidecarError;
use crate::schema::quote;

/// A value of an `updated_at` column, comparable within one table.
#[derive(Debug, Clone, PartialEq, PartialOrd, Serialize, Deserialize)]
pub enum Stamp {
    Int(i64),
    Real(f64),
    Text(String),
    /// A timestamp, as microseconds since the Unix epoch (UTC).
    Micros(i64),
}

impl Stamp {
    /// The instant this `updated_at` names (microseconds since the Unix epoch): timestamps as
    /// they are, ISO text as UTC, integers as Unix seconds (milliseconds when that large),
    /// reals as seconds.
    pub fn micros(&self) -> Option<i64> {
        match self {
            Self::Micros(m) => Some(*m),
            Self::Text(s) => rhei_engine::value::parse_timestamp_micros(s),
            Self::Int(i) if i.abs() > 100_000_000_000 => Some(i.saturating_mul(1000)),
            Self::Int(i) => Some(i.saturating_mul(1_000_000)),
            Self::Real(f) => Some((f * 1e6) as i64),
        }
    }
}

/// Where polling stands for one table.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
struct Watermark {
    /// The highest `updated_at` applied (`None` for an empty table).
    value: Option<Stamp>,
    /// Rows applied with exactly that value: key text to a hash of the row, so a row changed
    /// again within the same timestamp is still seen.
    keys: BTreeMap<String, u64>,
}

/// The stored position: every table's watermark.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
struct PollState {
    tables: BTreeMap<String, Watermark>,
}

/// One followed upstream table.
#[derive(Debug, Clone)]
pub struct PolledTable {
    /// The upstream table, quoted for upstream SQL.
    pub upstream: String,
    pub spec: ReplicaTableSpec,
    /// Position of `updated_at` and of the soft-delete column among the columns.
    pub updated: usize,
    pub soft_delete: Option<usize>,
    /// The upstream's declared type of `updated_at`.
    pub updated_type: String,
}

impl PolledTable {
    /// The local replica table.
    pub fn name(&self) -> &str {
        &self.spec.name
    }

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

    /// The key of a row as one text (parts joined by U+001F).
    pub fn key_text(&self, row: &[Option<String>]) -> String {
        key_text(self.spec.def.key.iter().map(|&k| row[k].as_deref()))
    }

    /// Whether the soft-delete column marks this row deleted.
    pub fn soft_deleted(&self, row: &[Option<String>]) -> bool {
        self.soft_delete.is_some_and(|i| marks_deleted(row[i].as_deref()))
    }

    fn split_key(&self, key: &str) -> Vec<ReplicaValue> {
        let parts: Vec<&str> = key.split('\u{1f}').collect();
        (0..self.spec.def.key.len()).map(|i| ReplicaValue::Text(parts.get(i).copied().unwrap_or_default().to_string())).collect()
    }
}

/// Key parts as one text (NULL as empty), the form keys are compared in.
pub fn key_text<'a>(parts: impl Iterator<Item = Option<&'a str>>) -> String {
    parts.map(Option::unwrap_or_default).collect::<Vec<_>>().join("\u{1f}")
}

/// A soft-delete value means "deleted" unless it is NULL or false: `deleted_at` columns and
/// `is_deleted` flags both work.
pub fn marks_deleted(value: Option<&str>) -> bool {
    value.is_some_and(|v| !matches!(v.trim().to_ascii_lowercase().as_str(), "f" | "false" | "0" | ""))
}

/// One row read from the upstream: values in PostgreSQL text form, and its `updated_at`.
pub type StampedRow = (Vec<Option<String>>, Option<Stamp>);

/// What one consistent read found in one table.
#[derive(Debug, Default)]
pub struct TableRead {
    /// Rows stamped at or after the watermark asked for (all rows without one), oldest first.
    pub rows: Vec<StampedRow>,
    /// Keys of the rows not soft-deleted, when keys were asked for.
    pub keys: Option<BTreeSet<String>>,
}

/// An upstream that can be polled.
pub trait PollSource: Send + Sync + 'static {
    /// The name the position is stored under.
    fn source(&self) -> &'static str;

    /// The selected tables rhei can poll, and those it cannot (each with the reason).
    fn discover(&self) -> impl Future<Output = Result<(Vec<PolledTable>, Vec<String>), SidecarError>> + Send;

    /// Reads, inside one consistent read of the upstream, each table's rows stamped at or
    /// after `since` (all rows for `None`), oldest first, and all live keys when `keys`.
    fn read(
        &self,
        tables: &[PolledTable],
        since: Vec<Option<Stamp>>,
        keys: bool,
    ) -> impl Future<Output = Result<Vec<TableRead>, SidecarError>> + Send;
}

/// Follows an upstream into the engine by polling, until cancelled.
pub struct PollingFollower<S> {
    engine: HtapEngine,
    config: SidecarConfig,
    source: S,
    status: UpstreamStatus,
    resnapshot: bool,
    last_commit_time: i64,
}

impl<S: PollSource> PollingFollower<S> {
    /// A follower reading `source`; nothing is read until [`Self::run`].
    pub fn new(engine: HtapEngine, config: SidecarConfig, source: S) -> Self {
        let upstream = rhei_config::redact(&config.upstream);
        engine.set_replica_of(&upstream);
        let status = UpstreamStatus {
            source: source.source().into(),
            upstream,
            method: "polling".into(),
            state: "starting".into(),
            ..UpstreamStatus::default()
        };
        engine.report_upstream(status.clone());
        let resnapshot = config.resnapshot;
        Self { engine, config, source, status, resnapshot, last_commit_time: i64::MIN }
    }

    fn report(&self) {
        self.engine.report_upstream(self.status.clone());
    }

    /// Polls until `shutdown`; errors are reported and retried with backoff (an upstream that
    /// is briefly locked, missing or unreachable comes back).
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
            backoff = (backoff * 2).min(crate::MAX_BACKOFF);
        }
    }

    async fn follow(&mut self, shutdown: &CancellationToken) -> Result<(), SidecarError> {
        let source = self.source.source();
        let stored = if self.resnapshot { None } else { self.engine.replica_position(source).await? };
        let (tables, skipped) = self.source.discover().await?;
        if !skipped.is_empty() {
            tracing::warn!("not following: {}", skipped.join(", "));
        }
        let mut state = match stored {
            Some(position) => serde_json::from_str(&position).map_err(|e| SidecarError::Protocol(format!("stored polling position: {e}")))?,
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
        let progress = self.engine.replica_progress();
        progress.set_unit(ProgressUnit::Clock);
        let mut wanted = progress.wanted();
        loop {
            // A session waiting to read its own forwarded write is answered by the next poll,
            // which starts now rather than at the end of the interval.
            let sleep = tokio::time::sleep(self.config.polling.interval);
            tokio::pin!(sleep);
            loop {
                tokio::select! {
                    () = shutdown.cancelled() => return Ok(()),
                    () = &mut sleep => break,
                    changed = wanted.changed() => {
                        if changed.is_err() {
                            (&mut sleep).await;
                            break;
                        }
                        if *wanted.borrow_and_update() > self.engine.replica_progress().through() {
                            break;
                        }
                    }
                }
            }
            // Whatever was committed before this instant is in what this poll reads.
            let started = rhei_engine::value::now_micros();
            polls += 1;
            let check_keys = polls % u64::from(self.config.polling.key_check_polls) == 0;
            let since = tables.iter().map(|t| state.tables.get(t.name()).and_then(|m| m.value.clone())).collect();
            let read = self.source.read(&tables, since, check_keys).await?;
            let (mut txns, polled) = changes(&tables, read.iter().map(|r| r.rows.as_slice()), &state, self.last_commit_time);
            let now = rhei_engine::value::now_micros().max(self.last_commit_time.saturating_add(1));
            let mut deletes = Vec::new();
            for (table, read) in tables.iter().zip(&read) {
                let Some(present) = &read.keys else { continue };
                for key in self.local_keys(table).await? {
                    if !present.contains(&key) {
                        deletes.push(ReplicaChange::Delete { table: table.name().to_string(), key: table.split_key(&key) });
                    }
                }
            }
            if !deletes.is_empty() {
                txns.push(ReplicaTxn { commit_time: now, changes: deletes });
            }
            if let Some(last) = txns.iter().map(|t| t.commit_time).max() {
                self.last_commit_time = self.last_commit_time.max(last);
                self.status.last_commit_time = Some(self.last_commit_time);
            }
            if txns.is_empty() && polled == state {
                self.engine.replica_progress().advance(started as u64);
                continue;
            }
            let position = serde_json::to_string(&polled).map_err(|e| SidecarError::Protocol(e.to_string()))?;
            let count = txns.len() as u64;
            let rows = self.engine.apply_replica(ReplicaBatch { source: source.into(), txns, position: position.clone() }).await?;
            state = polled;
            self.engine.replica_progress().advance(started as u64);
            self.status.transactions_applied += count;
            self.status.rows_applied += rows;
            self.status.applied_position = Some(position);
            self.report();
        }
    }

    /// Keys of the table's current rows in rhei, as key texts.
    async fn local_keys(&self, table: &PolledTable) -> Result<Vec<String>, SidecarError> {
        let cols: Vec<String> = table.spec.def.key.iter().map(|&k| quote(&table.spec.columns[k].name)).collect();
        let batches = self.engine.query(&format!("SELECT {} FROM {}", cols.join(", "), quote(table.name()))).await?;
        let mut keys = Vec::new();
        for batch in batches {
            for row in 0..batch.num_rows() {
                let parts: Vec<Option<String>> = (0..batch.num_columns()).map(|c| rhei_engine::copy::pg_text(batch.column(c), row)).collect();
                keys.push(key_text(parts.iter().map(Option::as_deref)));
            }
        }
        Ok(keys)
    }

    async fn snapshot(&mut self, tables: &[PolledTable]) -> Result<PollState, SidecarError> {
        self.status.state = "snapshot".into();
        self.report();
        let source = self.source.source();
        let existing: Vec<String> = self.engine.catalog().tables().filter(|t| t.replica.is_some()).map(|t| t.name.clone()).collect();
        self.engine.reset_replica(source, existing).await?;
        let valid_from = rhei_engine::value::now_micros();
        let read = self.source.read(tables, vec![None; tables.len()], false).await?;
        let mut state = PollState::default();
        let mut total = 0;
        for (table, read) in tables.iter().zip(read) {
            let mut mark = Watermark::default();
            let mut live = Vec::with_capacity(read.rows.len());
            for (row, stamp) in read.rows {
                advance(&mut mark, stamp, table.key_text(&row), PolledTable::row_hash(&row));
                if !table.soft_deleted(&row) {
                    live.push(row);
                }
            }
            self.engine.create_replica_table(table.spec.clone()).await?;
            total += live.len() as u64;
            self.engine.load_replica_rows(SnapshotRows { table: table.name().to_string(), valid_from, rows: live }).await?;
            state.tables.insert(table.name().to_string(), mark);
        }
        let position = serde_json::to_string(&state).map_err(|e| SidecarError::Protocol(e.to_string()))?;
        self.engine.finish_replica_snapshot(source, tables.iter().map(|t| t.name().to_string()).collect(), &position).await?;
        self.last_commit_time = valid_from;
        self.status.snapshot_rows = total;
        self.status.applied_position = Some(position);
        tracing::info!("snapshot of {} tables from {}: {total} rows", tables.len(), self.status.upstream);
        Ok(state)
    }
}

/// Moves a watermark to a row's `updated_at`, remembering the rows stamped with it.
fn advance(mark: &mut Watermark, stamp: Option<Stamp>, key: String, hash: u64) {
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

/// What one poll's rows mean: a transaction per distinct `updated_at`, and the new watermarks.
fn changes<'a>(
    tables: &[PolledTable],
    reads: impl Iterator<Item = &'a [StampedRow]>,
    previous: &PollState,
    last: i64,
) -> (Vec<ReplicaTxn>, PollState) {
    let mut state = previous.clone();
    let mut by_time: BTreeMap<i64, Vec<ReplicaChange>> = BTreeMap::new();
    let now = rhei_engine::value::now_micros();
    for (table, rows) in tables.iter().zip(reads) {
        let mark = state.tables.entry(table.name().to_string()).or_default();
        let since = mark.value.clone();
        for (row, stamp) in rows {
            let key = table.key_text(row);
            let hash = PolledTable::row_hash(row);
            // Same timestamp as the watermark and applied as it is now: not a change.
            if stamp.is_some() && *stamp == since && previous.tables.get(table.name()).is_some_and(|m| m.keys.get(&key) == Some(&hash)) {
                continue;
            }
            // Strictly after the previous version: an equal instant means "the same transaction" to the
            // engine, which would drop that version instead of ending it.
            let at = stamp.as_ref().and_then(Stamp::micros).unwrap_or(now).max(last.saturating_add(1));
            advance(mark, stamp.clone(), key.clone(), hash);
            let change = if table.soft_deleted(row) {
                ReplicaChange::Delete { table: table.name().to_string(), key: table.split_key(&key) }
            } else {
                let row = row.iter().map(|v| v.clone().map_or(ReplicaValue::Null, ReplicaValue::Text)).collect();
                ReplicaChange::Insert { table: table.name().to_string(), row }
            };
            by_time.entry(at).or_default().push(change);
        }
    }
    let txns = by_time.into_iter().map(|(commit_time, changes)| ReplicaTxn { commit_time, changes }).collect();
    (txns, state)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn watermarks_keep_the_keys_stamped_with_them() {
        let mut mark = Watermark::default();
        advance(&mut mark, Some(Stamp::Text("2026-01-01 00:00:01".into())), "1".into(), 1);
        advance(&mut mark, Some(Stamp::Text("2026-01-01 00:00:01".into())), "2".into(), 2);
        assert_eq!(mark.keys.len(), 2);
        advance(&mut mark, Some(Stamp::Text("2026-01-01 00:00:00".into())), "3".into(), 3);
        assert_eq!(mark.keys.len(), 2, "an older stamp does not move the watermark");
        advance(&mut mark, Some(Stamp::Text("2026-01-01 00:00:02".into())), "3".into(), 3);
        assert_eq!(mark.keys, BTreeMap::from([("3".to_string(), 3)]));
        let row = |v: &str| vec![Some("1".to_string()), Some(v.to_string())];
        assert_ne!(PolledTable::row_hash(&row("a")), PolledTable::row_hash(&row("b")));
        assert_eq!(Stamp::Int(1_767_225_600).micros(), Some(1_767_225_600_000_000));
        assert_eq!(Stamp::Text("2026-01-01 00:00:00".into()).micros(), Some(1_767_225_600_000_000));
        assert_eq!(Stamp::Micros(1_767_225_600_000_001).micros(), Some(1_767_225_600_000_001));
    }

    #[test]
    fn soft_delete_flags_and_times_both_mark_deletion() {
        assert!(!marks_deleted(None));
        assert!(!marks_deleted(Some("f")));
        assert!(!marks_deleted(Some("false")));
        assert!(!marks_deleted(Some("0")));
        assert!(marks_deleted(Some("t")));
        assert!(marks_deleted(Some("1")));
        assert!(marks_deleted(Some("2026-01-01 00:00:00+00")));
    }
}
