//! Replica tables through the engine's Rust API, as the sidecar feeds them: snapshot, upstream
//! transactions applied atomically with their position, SCD Type 2 versions, and point-in-time
//! queries on both engines. The reference system's temporal traps each have a test here.

use rhei::{EngineConfig, HtapEngine, Route};
use rhei_engine::catalog::{ColumnDef, PgType, ReplicaDef};
use rhei_engine::replica::{ReplicaBatch, ReplicaChange, ReplicaTableSpec, ReplicaTxn, ReplicaValue, SnapshotRows};

use crate::common::{engine, rows};

const SOURCE: &str = "test-upstream";
/// 2026-01-01 00:00:00 UTC in microseconds since the Unix epoch.
const T0: i64 = 1_767_225_600_000_000;
const SECOND: i64 = 1_000_000;

fn col(name: &str, ty: PgType, not_null: bool) -> ColumnDef {
    ColumnDef { name: name.into(), ty, not_null, is_serial: false, default_sql: None }
}

fn text(s: &str) -> ReplicaValue {
    ReplicaValue::Text(s.into())
}

fn accounts(temporal: bool) -> ReplicaTableSpec {
    ReplicaTableSpec {
        name: "accounts".into(),
        columns: vec![col("id", PgType::Int8, true), col("owner", PgType::Text, false), col("balance", PgType::Numeric { precision: Some(12), scale: Some(2) }, false)],
        def: ReplicaDef { upstream: "public.accounts".into(), key: vec![0], temporal, key_unique: true, dropped: Vec::new() },
    }
}

async fn snapshot(engine: &HtapEngine, spec: ReplicaTableSpec, rows: &[[&str; 3]], position: &str) {
    let table = spec.name.clone();
    engine.create_replica_table(spec).await.unwrap();
    let rows = rows.iter().map(|r| r.iter().map(|v| Some(v.to_string())).collect()).collect();
    engine.load_replica_rows(SnapshotRows { table: table.clone(), valid_from: T0, rows }).await.unwrap();
    engine.finish_replica_snapshot(SOURCE, vec![table], position).await.unwrap();
}

async fn apply(engine: &HtapEngine, at: i64, changes: Vec<ReplicaChange>, position: &str) {
    let batch = ReplicaBatch { source: SOURCE.into(), txns: vec![ReplicaTxn { commit_time: at, changes }], position: position.into() };
    engine.apply_replica(batch).await.unwrap();
}

fn upsert(id: &str, owner: &str, balance: &str) -> ReplicaChange {
    ReplicaChange::Insert { table: "accounts".into(), row: vec![text(id), text(owner), text(balance)] }
}

fn update(id: &str, owner: ReplicaValue, balance: &str) -> ReplicaChange {
    ReplicaChange::Update { table: "accounts".into(), old_key: None, row: vec![text(id), owner, text(balance)] }
}

fn delete(id: &str) -> ReplicaChange {
    ReplicaChange::Delete { table: "accounts".into(), key: vec![text(id)] }
}

/// The same query on both engines must agree; returns the rows.
async fn both(engine: &HtapEngine, sql: &str) -> Vec<String> {
    let oltp = rows(&engine.query_with_route(sql, Route::Oltp).await.unwrap_or_else(|e| panic!("oltp {sql}: {e}")));
    let olap = rows(&engine.query_with_route(sql, Route::Olap).await.unwrap_or_else(|e| panic!("olap {sql}: {e}")));
    assert_eq!(oltp, olap, "engines disagree on {sql}");
    oltp
}

fn at(micros: i64) -> String {
    let secs = micros / SECOND - T0 / SECOND;
    format!("'2026-01-01 00:00:{secs:02}+00'")
}

#[tokio::test]
async fn versions_open_and_close_with_upstream_commit_times_and_as_of_sees_each_instant() {
    let (engine, _dir) = engine().await;
    snapshot(&engine, accounts(true), &[["1", "ann", "10.00"], ["2", "bob", "20.00"]], "0/10").await;
    apply(&engine, T0 + 10 * SECOND, vec![update("1", text("ann"), "15.50"), upsert("3", "cy", "30")], "0/20").await;
    apply(&engine, T0 + 20 * SECOND, vec![delete("2")], "0/30").await;
    // Delete then re-insert of a key inside one upstream transaction, then again across two:
    // never two current versions (sums would double-count).
    apply(&engine, T0 + 30 * SECOND, vec![delete("3"), upsert("3", "cy", "31")], "0/40").await;
    apply(&engine, T0 + 40 * SECOND, vec![delete("3")], "0/50").await;
    apply(&engine, T0 + 50 * SECOND, vec![upsert("3", "cy", "32")], "0/60").await;

    assert_eq!(both(&engine, "SELECT * FROM accounts ORDER BY id").await, vec!["1|ann|15.50", "3|cy|32.00"]);
    assert_eq!(both(&engine, "SELECT sum(balance) FROM accounts").await, vec!["47.50"]);
    let as_of = |t: i64| format!("SELECT id, balance FROM accounts FOR SYSTEM_TIME AS OF {} ORDER BY id", at(t));
    assert_eq!(both(&engine, &as_of(T0 + 5 * SECOND)).await, vec!["1|10.00", "2|20.00"]);
    assert_eq!(both(&engine, &as_of(T0 + 10 * SECOND)).await, vec!["1|15.50", "2|20.00", "3|30.00"], "a version is valid from its commit instant");
    assert_eq!(both(&engine, &as_of(T0 + 25 * SECOND)).await, vec!["1|15.50", "3|30.00"]);
    assert_eq!(both(&engine, &as_of(T0 + 35 * SECOND)).await, vec!["1|15.50", "3|31.00"]);
    assert_eq!(both(&engine, &as_of(T0 + 45 * SECOND)).await, vec!["1|15.50"]);
    let before = "SELECT id FROM accounts FOR SYSTEM_TIME AS OF '2025-12-31 23:59:59+00'";
    assert_eq!(both(&engine, before).await, Vec::<String>::new(), "history starts at the snapshot");

    let all = both(&engine, "SELECT id, balance, _rhei_valid_from, _rhei_valid_to FROM accounts FOR SYSTEM_TIME ALL ORDER BY id, _rhei_valid_from").await;
    assert_eq!(all.len(), 6, "{all:?}");
    assert_eq!(all[0], "1|10.00|2026-01-01T00:00:00Z|2026-01-01T00:00:10Z");
    let between = format!("SELECT count(*) FROM accounts FOR SYSTEM_TIME BETWEEN {} AND {}", at(T0 + 21 * SECOND), at(T0 + 29 * SECOND));
    assert_eq!(both(&engine, &between).await, vec!["2"]);

    // The session setting time-travels every temporal table, so unchanged queries see the past.
    let mut session = engine.session();
    session.execute(&format!("SET rhei.as_of = {}", at(T0 + 5 * SECOND))).await.unwrap();
    let past = session.execute("SELECT count(*), sum(balance) FROM accounts").await.unwrap();
    assert_eq!(rows(&past[0].1), vec!["2|30.00"]);
    session.execute("RESET rhei.as_of").await.unwrap_or_default();
    session.execute("SET rhei.as_of = ''").await.unwrap();
    let now = session.execute("SELECT count(*) FROM accounts").await.unwrap();
    assert_eq!(rows(&now[0].1), vec!["2"]);
    let err = session.execute("SET rhei.as_of = 'yesterday-ish'").await.unwrap_err();
    assert_eq!(err.sqlstate(), "22023");
}

#[tokio::test]
async fn unchanged_toasted_values_are_kept_and_the_position_is_stored_with_the_data() {
    let (dir, position) = {
        let dir = tempfile::tempdir().unwrap();
        let engine = HtapEngine::open(EngineConfig::with_data_dir(dir.path())).await.unwrap();
        snapshot(&engine, accounts(true), &[["1", "a very long owner name", "1"]], "0/A").await;
        apply(&engine, T0 + SECOND, vec![update("1", ReplicaValue::Unchanged, "2")], "0/B").await;
        assert_eq!(both(&engine, "SELECT owner, balance FROM accounts").await, vec!["a very long owner name|2.00"]);
        // A batch that fails part-way applies nothing and leaves the position where it was.
        let bad = ReplicaBatch {
            source: SOURCE.into(),
            txns: vec![ReplicaTxn { commit_time: T0 + 2 * SECOND, changes: vec![update("1", text("x"), "3"), upsert("9", "z", "not a number")] }],
            position: "0/C".into(),
        };
        let err = engine.apply_replica(bad).await.unwrap_err();
        assert_eq!(err.sqlstate(), "22P02");
        let position = engine.replica_position(SOURCE).await.unwrap();
        engine.close().await;
        (dir, position)
    };
    assert_eq!(position.as_deref(), Some("0/B"));
    let engine = HtapEngine::open(EngineConfig::with_data_dir(dir.path())).await.unwrap();
    assert_eq!(engine.replica_position(SOURCE).await.unwrap().as_deref(), Some("0/B"), "the position survives a restart");
    assert_eq!(both(&engine, "SELECT owner, balance FROM accounts").await, vec!["a very long owner name|2.00"]);
    assert_eq!(both(&engine, "SELECT count(*) FROM accounts FOR SYSTEM_TIME ALL").await, vec!["2"], "history survives a restart");
}

#[tokio::test]
async fn mirror_tables_keep_current_rows_only_and_truncate_ends_every_version() {
    let (engine, _dir) = engine().await;
    snapshot(&engine, accounts(false), &[["1", "ann", "1"], ["2", "bob", "2"]], "0/1").await;
    apply(&engine, T0 + SECOND, vec![update("1", text("ann"), "5"), delete("2"), upsert("3", "cy", "3")], "0/2").await;
    assert_eq!(both(&engine, "SELECT * FROM accounts ORDER BY id").await, vec!["1|ann|5.00", "3|cy|3.00"]);
    let err = engine.query("SELECT * FROM accounts FOR SYSTEM_TIME ALL").await.unwrap_err();
    assert_eq!(err.sqlstate(), "0A000", "{err}");
    apply(&engine, T0 + 2 * SECOND, vec![ReplicaChange::Truncate { table: "accounts".into() }], "0/3").await;
    assert_eq!(both(&engine, "SELECT count(*) FROM accounts").await, vec!["0"]);

    let mut temporal = accounts(true);
    temporal.name = "ledger".into();
    snapshot(&engine, temporal, &[["1", "a", "1"], ["2", "b", "2"]], "0/4").await;
    let truncate = ReplicaChange::Truncate { table: "ledger".into() };
    apply(&engine, T0 + 3 * SECOND, vec![truncate], "0/5").await;
    assert_eq!(both(&engine, "SELECT count(*) FROM ledger").await, vec!["0"]);
    assert_eq!(both(&engine, &format!("SELECT count(*) FROM ledger FOR SYSTEM_TIME AS OF {}", at(T0 + 2 * SECOND))).await, vec!["2"]);
}

#[tokio::test]
async fn a_replica_refuses_client_writes_with_25006_but_keeps_applying_upstream_changes() {
    let (engine, _dir) = engine().await;
    snapshot(&engine, accounts(true), &[["1", "ann", "1"]], "0/1").await;
    engine.set_replica_of("postgres://127.0.0.1:5432/app");
    // LISTEN and NOTIFY too, as on a PostgreSQL standby: the replica's clients would hear only
    // each other, never the upstream.
    let refused = ["INSERT INTO accounts VALUES (2, 'x', 1, now(), NULL)", "CREATE TABLE t (id int)", "DELETE FROM accounts", "TRUNCATE accounts"];
    for sql in refused.into_iter().chain(["LISTEN jobs", "NOTIFY jobs", "SELECT pg_notify('jobs', 'x')"]) {
        let err = engine.execute(sql).await.unwrap_err();
        assert_eq!(err.sqlstate(), "25006", "{sql}: {err}");
        assert!(err.to_string().contains("read-only replica of postgres://127.0.0.1:5432/app"), "{err}");
    }
    engine.execute("UNLISTEN *").await.expect("UNLISTEN does nothing, so a replica allows it");
    apply(&engine, T0 + SECOND, vec![upsert("2", "bob", "2")], "0/2").await;
    assert_eq!(both(&engine, "SELECT count(*) FROM accounts").await, vec!["2"]);
}

/// Loads COPY text into a new replica table the way the PostgreSQL follower does: converted on
/// a blocking thread from pieces split anywhere, loaded in order.
async fn snapshot_from_copy(engine: &HtapEngine, spec: ReplicaTableSpec, copy_text: &str, piece: usize) -> rhei_engine::Result<u64> {
    let table = spec.name.clone();
    engine.create_replica_table(spec).await.unwrap();
    let pieces: Vec<bytes::Bytes> = copy_text.as_bytes().chunks(piece).map(bytes::Bytes::copy_from_slice).collect();
    let (converter, name) = (engine.clone(), table.clone());
    let loads = tokio::task::spawn_blocking(move || {
        let mut pieces = pieces.into_iter();
        let mut loads = Vec::new();
        let converted = converter.convert_replica_copy(&name, T0, &mut || pieces.next(), &mut |rows| {
            loads.push(rows);
            true
        });
        converted.map(|n| (n, loads))
    })
    .await
    .unwrap();
    let (converted, loads) = loads?;
    let mut loaded = 0;
    for rows in loads {
        loaded += engine.load_prepared_rows(rows).await?;
    }
    assert_eq!(loaded, converted, "every converted row is loaded");
    engine.finish_replica_snapshot(SOURCE, vec![table], "0/1").await?;
    Ok(loaded)
}

#[tokio::test]
async fn a_snapshot_streamed_as_copy_text_loads_every_row_whatever_the_split() {
    let (engine, _dir) = engine().await;
    // More rows than one load holds, so the rows reach the writer in several loads.
    let mut copy = String::new();
    for id in 1..=70_000 {
        match id {
            7 => copy.push_str("7\t\\N\t7.00\n"),
            8 => copy.push_str("8\ttab\\there\\\\back\t8.50\n"),
            _ => copy.push_str(&format!("{id}\towner {id}\t{id}.25\n")),
        }
    }
    let loaded = snapshot_from_copy(&engine, accounts(true), &copy, 7).await.unwrap();
    assert_eq!(loaded, 70_000);
    assert_eq!(both(&engine, "SELECT count(*), sum(id), sum(balance) FROM accounts").await, vec!["70000|2450035000|2450052500.00"]);
    assert_eq!(both(&engine, "SELECT id, owner, balance FROM accounts WHERE id IN (7, 8, 70000) ORDER BY id").await, vec![
        "7|NULL|7.00",
        "8|tab\there\\back|8.50",
        "70000|owner 70000|70000.25",
    ]);
    let from = both(&engine, "SELECT count(*) FROM accounts FOR SYSTEM_TIME ALL WHERE _rhei_valid_from = '2026-01-01 00:00:00+00' AND _rhei_valid_to IS NULL").await;
    assert_eq!(from, vec!["70000"], "every version starts at the snapshot and is current");

    let mut mirror = accounts(false);
    mirror.name = "plain".into();
    let err = snapshot_from_copy(&engine, mirror, "1\tann\t1.00\n2\tbob\n", 5).await.unwrap_err();
    assert_eq!(err.sqlstate(), "22P04", "a short row is bad COPY data: {err}");
    assert!(err.to_string().contains("line 2"), "{err}");
}
