//! The engine through its Rust API: DDL, DML, change capture into the OLAP copy, routing,
//! read-your-writes, restart and errors. Each known trap of the reference system has a test.

use rhei::{EngineConfig, HtapEngine, Route};

use crate::common::{engine, rows, sorted};

async fn both(engine: &HtapEngine, sql: &str) -> (Vec<String>, Vec<String>) {
    let oltp = engine.query_with_route(sql, Route::Oltp).await.unwrap_or_else(|e| panic!("oltp {sql}: {e}"));
    let olap = engine.query_with_route(sql, Route::Olap).await.unwrap_or_else(|e| panic!("olap {sql}: {e}"));
    (rows(&oltp), rows(&olap))
}

#[tokio::test]
async fn every_declared_type_round_trips_through_both_engines() {
    let (engine, _dir) = engine().await;
    engine
        .execute_batch(
            "CREATE TABLE t (id bigserial PRIMARY KEY, s smallint, i integer, r real, d double precision, \
             n numeric(10,2), tx text, vc varchar(5), c char(3), b boolean, dt date, ts timestamp, \
             tz timestamptz, by bytea, u uuid, j json, jb jsonb);
             INSERT INTO t (s, i, r, d, n, tx, vc, c, b, dt, ts, tz, by, u, j, jb) VALUES
               (1, 2, 1.5, 2.25, 12.345, 'it''s', 'abc', 'x', true, '2024-02-29', '2024-01-02 03:04:05.25',
                '2024-01-02 03:04:05+02', NULL, 'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11', '{\"a\":1}', '{\"b\":2,\"a\":1}'),
               (NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, false, NULL, NULL, NULL, NULL, NULL, NULL, NULL);",
        )
        .await
        .unwrap();
    let (oltp, olap) = both(&engine, "SELECT * FROM t ORDER BY id").await;
    assert_eq!(oltp, olap);
    assert_eq!(oltp.len(), 2);
    assert!(oltp[0].contains("12.35"), "numeric rounds to its scale: {}", oltp[0]);
    assert!(oltp[0].contains("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"), "{}", oltp[0]);
    // char(3) is kept without trailing blanks on both engines (the wire pads it on output).
    assert!(oltp[0].contains("|x|"), "char(3) value: {}", oltp[0]);
    let types_oltp = engine.query_with_route("SELECT * FROM t WHERE id = 1", Route::Oltp).await.unwrap();
    let types_olap = engine.query_with_route("SELECT * FROM t", Route::Olap).await.unwrap();
    let dt = |b: &[arrow::array::RecordBatch]| {
        b[0].schema().fields().iter().map(|f| f.data_type().clone()).collect::<Vec<_>>()
    };
    assert_eq!(dt(&types_oltp), dt(&types_olap));
}

/// `now()` on the OLAP engine is the statement's start, as on SQLite: it was the moment the
/// engine opened, so a row stamped a second later was "in the future" there.
#[tokio::test]
async fn now_on_either_engine_is_the_statements_start() {
    let (engine, _dir) = engine().await;
    engine.execute_batch("CREATE TABLE stamped (id int PRIMARY KEY, at timestamptz DEFAULT now())").await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    engine.execute_batch("INSERT INTO stamped (id) VALUES (1)").await.unwrap();
    let sql = "SELECT at <= now(), now() - at < interval '1 minute' FROM stamped";
    let (oltp, olap) = both(&engine, sql).await;
    assert_eq!(oltp, ["true|true"]);
    assert_eq!(olap, oltp);
}

#[tokio::test]
async fn an_aggregate_right_after_a_write_sees_it() {
    let (engine, _dir) = engine().await;
    engine.execute_batch("CREATE TABLE t (id int PRIMARY KEY, v int)").await.unwrap();
    for i in 0..50 {
        engine.execute(&format!("INSERT INTO t VALUES ({i}, {i})")).await.unwrap();
        let got = rows(&engine.query("SELECT count(*), COALESCE(sum(v), 0) FROM t").await.unwrap());
        assert_eq!(got, vec![format!("{}|{}", i + 1, (0..=i).sum::<i32>())]);
    }
}

#[tokio::test]
async fn updates_deletes_and_key_changes_reach_the_olap_copy() {
    let (engine, _dir) = engine().await;
    engine
        .execute_batch(
            "CREATE TABLE t (k text PRIMARY KEY, v text, blob bytea);
             INSERT INTO t VALUES ('it''s', 'a', NULL), ('b', 'b', '\\x0102'), ('c', 'c', NULL);
             UPDATE t SET v = NULL WHERE k = 'it''s';
             UPDATE t SET k = 'b2' WHERE k = 'b';
             DELETE FROM t WHERE k = 'c';
             INSERT INTO t VALUES ('d', 'd', NULL) ON CONFLICT (k) DO NOTHING;
             INSERT INTO t VALUES ('d', 'dd', NULL) ON CONFLICT (k) DO UPDATE SET v = EXCLUDED.v;",
        )
        .await
        .unwrap();
    let (oltp, olap) = both(&engine, "SELECT k, v FROM t ORDER BY k").await;
    assert_eq!(oltp, vec!["b2|b", "d|dd", "it's|NULL"]);
    assert_eq!(olap, oltp);
    let olap_count = rows(&engine.query_with_route("SELECT count(*) FROM t WHERE v IS NULL", Route::Olap).await.unwrap());
    assert_eq!(olap_count, vec!["1"], "an update to NULL is a NULL, not the string 'NULL'");
}

#[tokio::test]
async fn schema_changes_follow_through_to_the_olap_copy() {
    let (engine, _dir) = engine().await;
    engine
        .execute_batch(
            "CREATE TABLE \"Mixed Case\" (id int PRIMARY KEY, a text, b text, \"select\" int);
             INSERT INTO \"Mixed Case\" VALUES (1, 'a1', 'b1', 1);
             UPDATE \"Mixed Case\" SET b = 'b1x' WHERE id = 1;
             ALTER TABLE \"Mixed Case\" DROP COLUMN a;
             ALTER TABLE \"Mixed Case\" ADD COLUMN c int DEFAULT 7;
             ALTER TABLE \"Mixed Case\" RENAME COLUMN b TO bee;
             INSERT INTO \"Mixed Case\" (id, bee, \"select\") VALUES (2, 'b2', 2);",
        )
        .await
        .unwrap();
    let (oltp, olap) = both(&engine, "SELECT * FROM \"Mixed Case\" ORDER BY id").await;
    assert_eq!(oltp, vec!["1|b1x|1|7", "2|b2|2|7"]);
    assert_eq!(olap, oltp);
    engine.execute_batch("ALTER TABLE \"Mixed Case\" RENAME TO renamed").await.unwrap();
    let (oltp, olap) = both(&engine, "SELECT count(*) FROM renamed").await;
    assert_eq!((oltp, olap), (vec!["2".to_string()], vec!["2".to_string()]));
    engine.execute_batch("DROP TABLE renamed").await.unwrap();
    let err = engine.query_with_route("SELECT * FROM renamed", Route::Olap).await.unwrap_err();
    assert_eq!(err.sqlstate(), "42P01");
}

#[tokio::test]
async fn routing_is_explained_and_overridable() {
    let (engine, _dir) = engine().await;
    engine.execute_batch("CREATE TABLE t (id int PRIMARY KEY, v int); INSERT INTO t VALUES (1, 1)").await.unwrap();
    let explain = |sql: &'static str| {
        let engine = engine.clone();
        async move { rows(&engine.query(sql).await.unwrap()) }
    };
    assert_eq!(explain("EXPLAIN ROUTE SELECT * FROM t WHERE id = 1").await, vec!["oltp|primary-key lookup"]);
    assert_eq!(explain("EXPLAIN ROUTE SELECT COALESCE(sum(v), 0) FROM t").await, vec!["olap|aggregate"]);
    assert_eq!(explain("EXPLAIN ROUTE SELECT DISTINCT v FROM t").await, vec!["olap|DISTINCT"]);
    assert_eq!(explain("EXPLAIN ROUTE /*+ oltp */ SELECT count(*) FROM t").await, vec!["oltp|query hint"]);
    let mut session = engine.session();
    session.execute("SET rhei.route = olap").await.unwrap();
    let out = session.execute("EXPLAIN ROUTE SELECT * FROM t WHERE id = 1").await.unwrap();
    assert_eq!(rows(&out[0].1), vec!["olap|SET rhei.route"]);
    let err = session.execute("SET rhei.route = sideways").await.unwrap_err();
    assert_eq!(err.sqlstate(), "22023");
}

/// Outside UTC, a query computing wall-clock time goes to SQLite (DataFusion computes it in
/// UTC), `date_trunc` of a date (the date's instant in the session's zone, truncated there)
/// included: DataFusion put 2024-03-15 in Tokyo on 2024-03-14.
#[tokio::test]
async fn date_trunc_of_a_date_outside_utc_routes_to_sqlite() {
    let (engine, _dir) = engine().await;
    engine.execute_batch("CREATE TABLE ev (id int PRIMARY KEY, d date); INSERT INTO ev VALUES (1, '2024-01-15'), (2, '2024-03-15')").await.unwrap();
    let mut session = engine.session();
    session.execute("SET TIME ZONE 'Asia/Tokyo'").await.unwrap();
    let out = session.execute("EXPLAIN ROUTE SELECT date_trunc('day', d)::date, count(*) FROM ev GROUP BY 1").await.unwrap();
    let route = rows(&out[0].1);
    assert!(route[0].starts_with("oltp|"), "{route:?}");
    let out = session.execute("SELECT date_trunc('day', d)::date, count(*) FROM ev GROUP BY 1 ORDER BY 1").await.unwrap();
    assert_eq!(rows(&out[0].1), vec!["2024-01-15|1", "2024-03-15|1"]);
}

#[tokio::test]
async fn errors_carry_postgres_sqlstates_and_apply_nothing() {
    let (engine, _dir) = engine().await;
    engine.execute_batch("CREATE TABLE t (id int PRIMARY KEY, v text NOT NULL, n smallint)").await.unwrap();
    engine.execute("INSERT INTO t VALUES (1, 'a', 1)").await.unwrap();
    let state = |sql: &'static str| {
        let engine = engine.clone();
        async move { engine.execute(sql).await.unwrap_err().sqlstate() }
    };
    assert_eq!(state("INSERT INTO t VALUES (2, 'b', 1), (1, 'dup', 1)").await, "23505");
    assert_eq!(state("INSERT INTO t VALUES (3, NULL, 1)").await, "23502");
    assert_eq!(state("INSERT INTO t VALUES (4, 'x', 'abc')").await, "22P02");
    assert_eq!(state("INSERT INTO t VALUES (5, 'x', 70000)").await, "22003");
    // The bad value is in the last row: SQLite's own statement rollback must take the first
    // row and its change-log entry back (autocommit writes run without a savepoint).
    assert_eq!(state("INSERT INTO t VALUES (6, 'x', 1), (7, 'y', 'abc')").await, "22P02");
    assert_eq!(state("SELECT * FROM missing").await, "42P01");
    // SQLite's NULL for a zero divisor would be a wrong answer: both engines raise 22012.
    for sql in ["SELECT id / 0 FROM t", "SELECT id % 0 FROM t", "SELECT 7 / (n - 1) FROM t", "SELECT 1.5::float8 / (n - 1) FROM t"] {
        for route in [Route::Oltp, Route::Olap] {
            let e = engine.query_with_route(sql, route).await.unwrap_err();
            assert_eq!(e.sqlstate(), "22012", "{sql} on {route:?}: {e}");
        }
    }
    assert_eq!(state("SELECT nope FROM t").await, "42703");
    assert_eq!(state("SELEC 1").await, "42601");
    assert_eq!(state("CREATE TABLE t (id int)").await, "42P07");
    let (oltp, olap) = both(&engine, "SELECT id FROM t ORDER BY id").await;
    assert_eq!(oltp, vec!["1"], "the failed multi-row insert left nothing behind");
    assert_eq!(olap, oltp);
}

#[tokio::test]
async fn explicit_transactions_run_on_sqlite_and_roll_back_whole() {
    let (engine, _dir) = engine().await;
    engine.execute_batch("CREATE TABLE t (id int PRIMARY KEY)").await.unwrap();
    let mut s = engine.session();
    s.execute("BEGIN").await.unwrap();
    s.execute("INSERT INTO t VALUES (1)").await.unwrap();
    let inside = s.execute("SELECT count(*) FROM t").await.unwrap();
    assert_eq!(rows(&inside[0].1), vec!["1"], "a transaction sees its own writes");
    assert!(s.execute("INSERT INTO t VALUES (1)").await.is_err());
    assert_eq!(s.execute("SELECT 1").await.unwrap_err().sqlstate(), "25P02");
    s.execute("ROLLBACK").await.unwrap();
    assert_eq!(rows(&engine.query("SELECT count(*) FROM t").await.unwrap()), vec!["0"]);
    s.execute("BEGIN; INSERT INTO t VALUES (2); SAVEPOINT a; INSERT INTO t VALUES (3); ROLLBACK TO a; COMMIT").await.unwrap();
    let (oltp, olap) = both(&engine, "SELECT id FROM t").await;
    assert_eq!((oltp, olap), (vec!["2".to_string()], vec!["2".to_string()]));
}

#[tokio::test]
async fn restart_rebuilds_the_olap_copy_without_doubling() {
    let dir = tempfile::tempdir().unwrap();
    {
        let engine = HtapEngine::open(EngineConfig::with_data_dir(dir.path())).await.unwrap();
        engine.execute_batch("CREATE TABLE t (id int PRIMARY KEY, v text)").await.unwrap();
        for i in 0..100 {
            engine.execute(&format!("INSERT INTO t VALUES ({i}, 'v{i}')")).await.unwrap();
        }
        engine.execute("UPDATE t SET v = 'changed' WHERE id < 10").await.unwrap();
        engine.close().await;
    }
    let engine = HtapEngine::open(EngineConfig::with_data_dir(dir.path())).await.unwrap();
    let (oltp, olap) = both(&engine, "SELECT count(*), count(DISTINCT id), sum(CASE WHEN v = 'changed' THEN 1 ELSE 0 END) FROM t").await;
    assert_eq!(oltp, vec!["100|100|10"]);
    assert_eq!(olap, oltp);
    engine.execute("INSERT INTO t VALUES (100, 'after')").await.unwrap();
    assert_eq!(rows(&engine.query_with_route("SELECT count(*) FROM t", Route::Olap).await.unwrap()), vec!["101"]);
}

#[tokio::test]
async fn many_updates_of_a_large_table_apply_incrementally() {
    let (engine, _dir) = engine().await;
    engine.execute_batch("CREATE TABLE t (id int PRIMARY KEY, v int)").await.unwrap();
    let values: Vec<String> = (0..10_000).map(|i| format!("({i}, 0)")).collect();
    engine.execute(&format!("INSERT INTO t VALUES {}", values.join(","))).await.unwrap();
    for i in 0..200 {
        engine.execute(&format!("UPDATE t SET v = v + 1 WHERE id = {}", i * 37 % 10_000)).await.unwrap();
    }
    let (oltp, olap) = both(&engine, "SELECT count(*), sum(v) FROM t").await;
    assert_eq!(oltp, vec!["10000|200"]);
    assert_eq!(olap, oltp);
    let status = engine.sync_status();
    assert_eq!(status.lag_events, 0);
    assert_eq!(status.tables.iter().find(|t| t.table == "t").map(|t| t.rows), Some(10_000));
}

#[tokio::test]
async fn writes_differing_only_in_literals_share_a_plan_and_keep_their_meaning() {
    let (engine, _dir) = engine().await;
    engine.execute_batch("CREATE TABLE t (id int PRIMARY KEY, v text, n numeric(6,2), d date)").await.unwrap();
    // One shape, values of other kinds each time: each must mean what its literal says.
    engine.execute("INSERT INTO t VALUES (1, 'a', 1.5, '2024-01-02')").await.unwrap();
    engine.execute("INSERT INTO t VALUES ('2', 7, 3, '2024-02-03')").await.unwrap();
    engine.execute("INSERT INTO t VALUES (3, 'it''s', -2.25, DATE '2024-03-04')").await.unwrap();
    assert_eq!(engine.execute("INSERT INTO t VALUES ('x', 'b', 1, '2024-01-01')").await.unwrap_err().sqlstate(), "22P02");
    assert_eq!(engine.execute("INSERT INTO t VALUES (9, 'b', 1, 'soon')").await.unwrap_err().sqlstate(), "22007");
    assert_eq!(engine.execute("INSERT INTO t VALUES (9, 'b', 1, '2024-13-01')").await.unwrap_err().sqlstate(), "22008");
    engine.execute("UPDATE t SET n = n + 1 WHERE id = 1").await.unwrap();
    engine.execute("UPDATE t SET n = n + -1 WHERE id = '2'").await.unwrap();
    assert_eq!(engine.execute("DELETE FROM t WHERE id IN (5, 6)").await.unwrap(), 0);
    assert_eq!(engine.execute("UPDATE t SET v = 'z' WHERE d BETWEEN '2024-02-01' AND '2024-12-31'").await.unwrap(), 2);
    // A schema change retires translations cached under the old catalog.
    engine.execute("ALTER TABLE t ADD COLUMN extra int").await.unwrap();
    engine.execute("INSERT INTO t VALUES (4, 'd', 0, '2024-04-05')").await.unwrap();
    engine.execute("INSERT INTO t VALUES (5, 'e', 0, '2024-04-05', 42)").await.unwrap();
    let (oltp, olap) = both(&engine, "SELECT id, v, n, d, extra FROM t ORDER BY id").await;
    assert_eq!(
        oltp,
        vec![
            "1|a|2.50|2024-01-02|NULL",
            "2|z|2.00|2024-02-03|NULL",
            "3|z|-2.25|2024-03-04|NULL",
            "4|d|0.00|2024-04-05|NULL",
            "5|e|0.00|2024-04-05|42",
        ]
    );
    assert_eq!(olap, oltp);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_write_leaves_the_writes_committed_with_it() {
    let (engine, _dir) = engine().await;
    engine.execute_batch("CREATE TABLE t (id int PRIMARY KEY, w int)").await.unwrap();
    let mut tasks = Vec::new();
    for w in 0..8 {
        let engine = engine.clone();
        tasks.push(tokio::spawn(async move {
            let mut failed = 0;
            for i in 0..100 {
                // Every writer also tries keys another writer owns: those fail with 23505
                // inside groups whose other writes must still commit.
                let id = if i % 10 == 9 { (w + 1) % 8 * 1000 } else { w * 1000 + i };
                match engine.execute(&format!("INSERT INTO t VALUES ({id}, {w})")).await {
                    Ok(_) => {}
                    Err(e) => {
                        assert_eq!(e.sqlstate(), "23505", "{e}");
                        failed += 1;
                    }
                }
            }
            failed
        }));
    }
    let mut failed = 0;
    for t in tasks {
        failed += t.await.unwrap();
    }
    let (oltp, olap) = both(&engine, "SELECT count(*) FROM t").await;
    assert_eq!(oltp, vec![(800 - failed).to_string()]);
    assert_eq!(olap, oltp);
    assert_eq!(failed, 80, "each writer's ten borrowed keys were already taken");
}

#[tokio::test]
async fn concurrent_writers_share_commits_and_lose_nothing() {
    let (engine, _dir) = engine().await;
    engine.execute_batch("CREATE TABLE t (id int PRIMARY KEY, w int)").await.unwrap();
    let mut tasks = Vec::new();
    for w in 0..8 {
        let engine = engine.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..50 {
                engine.execute(&format!("INSERT INTO t VALUES ({}, {w})", w * 1000 + i)).await.unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let (oltp, olap) = both(&engine, "SELECT w, count(*) FROM t GROUP BY w ORDER BY w").await;
    assert_eq!(oltp, (0..8).map(|w| format!("{w}|50")).collect::<Vec<_>>());
    assert_eq!(sorted(olap), sorted(oltp));
}

/// With `synchronous = full`, explicit transactions of several sessions and autocommit writes
/// interleave on the writer, each is answered once, and everything answered is there after a
/// restart.
#[tokio::test]
async fn full_durability_commits_of_concurrent_transactions_are_answered_and_kept() {
    let dir = tempfile::tempdir().unwrap();
    let config = || EngineConfig { synchronous: rhei::Synchronous::Full, ..EngineConfig::with_data_dir(dir.path()) };
    {
        let engine = HtapEngine::open(config()).await.unwrap();
        engine.execute_batch("CREATE TABLE acct (id int PRIMARY KEY, balance int); CREATE TABLE hist (id serial PRIMARY KEY, w int)").await.unwrap();
        engine.execute("INSERT INTO acct SELECT g, 0 FROM generate_series(0, 7) g").await.unwrap();
        let mut tasks = Vec::new();
        for w in 0..8 {
            let engine = engine.clone();
            tasks.push(tokio::spawn(async move {
                let mut session = engine.session();
                for i in 0..25 {
                    session.execute("BEGIN").await.unwrap();
                    session.execute(&format!("UPDATE acct SET balance = balance + 1 WHERE id = {w}")).await.unwrap();
                    session.execute(&format!("INSERT INTO hist (w) VALUES ({w})")).await.unwrap();
                    session.execute("COMMIT").await.unwrap();
                    engine.execute(&format!("INSERT INTO hist (w) VALUES ({})", 100 + i)).await.unwrap();
                }
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        engine.close().await;
    }
    let engine = HtapEngine::open(config()).await.unwrap();
    let (balances, olap) = both(&engine, "SELECT id, balance FROM acct ORDER BY id").await;
    assert_eq!(balances, (0..8).map(|w| format!("{w}|25")).collect::<Vec<_>>());
    assert_eq!(olap, balances);
    let (history, _) = both(&engine, "SELECT count(*) FILTER (WHERE w < 8), count(*) FILTER (WHERE w >= 100) FROM hist").await;
    assert_eq!(history, vec!["200|200"]);
}

#[tokio::test]
async fn the_wal_is_checkpointed_into_the_data_file_off_the_writer() {
    let (engine, dir) = engine().await;
    engine.execute_batch("CREATE TABLE t (id int PRIMARY KEY, v text)").await.unwrap();
    for i in 0..2_000 {
        engine.execute(&format!("INSERT INTO t VALUES ({i}, 'value {i}')")).await.unwrap();
    }
    // The data file alone (without its -wal) holds only what has been checkpointed. The writer's
    // own automatic checkpoint is far away (tens of thousands of pages), so rows there were
    // copied by the checkpoint thread.
    let mut seen = 0;
    for _ in 0..50 {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        let copy = tempfile::tempdir().unwrap();
        std::fs::copy(dir.path().join("oltp.db"), copy.path().join("alone.db")).unwrap();
        let conn = rusqlite::Connection::open(copy.path().join("alone.db")).unwrap();
        seen = conn.query_row("SELECT count(*) FROM t", [], |r| r.get::<_, i64>(0)).unwrap_or(0);
        if seen == 2_000 {
            break;
        }
    }
    assert_eq!(seen, 2_000, "the data file alone has every committed row");
}

#[tokio::test]
async fn rhei_status_reports_rows_and_pending_changes_per_table() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = EngineConfig::with_data_dir(dir.path());
    // No background sync during the test, neither by the interval nor nudged by the inserts:
    // only sync_now applies changes.
    config.sync_interval = std::time::Duration::from_secs(3600);
    config.sync_nudge_gap = std::time::Duration::from_secs(3600);
    let engine = HtapEngine::open(config).await.unwrap();
    // A sync step the DDL asked for can still be on its way after sync_now (seen on a loaded
    // machine): an attempt during which the OLAP copy moved proves nothing and is repeated.
    for attempt in 0..5 {
        let (a, b) = (format!("a{attempt}"), format!("b{attempt}"));
        engine.execute_batch(&format!("CREATE TABLE {a} (id int PRIMARY KEY); CREATE TABLE {b} (id int PRIMARY KEY)")).await.unwrap();
        engine.sync_now().await.unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        let applied = engine.sync_status().applied_seq;
        engine.execute(&format!("INSERT INTO {a} VALUES (1), (2), (3)")).await.unwrap();
        engine.execute(&format!("INSERT INTO {b} VALUES (1), (2)")).await.unwrap();
        let status = format!(
            "SELECT table_name, olap_rows, pending_changes, committed_seq - applied_seq = lag_events \
             FROM rhei_status WHERE table_name IN ('{a}', '{b}') ORDER BY table_name"
        );
        let mut session = engine.session();
        let before = session.execute(&status).await.unwrap();
        if engine.sync_status().applied_seq != applied {
            continue;
        }
        assert_eq!(rows(&before[0].1), vec![format!("{a}|0|3|true"), format!("{b}|0|2|true")]);
        engine.sync_now().await.unwrap();
        let after = session.execute(&status).await.unwrap();
        assert_eq!(rows(&after[0].1), vec![format!("{a}|3|0|true"), format!("{b}|2|0|true")]);
        let one = session.execute(&format!("SELECT olap_rows FROM rhei_status WHERE table_name = '{b}'")).await.unwrap();
        assert_eq!(rows(&one[0].1), vec!["2"]);
        return;
    }
    panic!("the OLAP copy moved during every attempt");
}

/// In eventual consistency a query never waits, so freshness rests on sync running soon after
/// each commit: a write nudges it. With the background interval an hour away, the row must still
/// reach the OLAP copy within moments.
#[tokio::test]
async fn an_eventual_read_sees_a_commit_without_waiting_for_the_interval() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut config = EngineConfig::with_data_dir(dir.path());
    config.consistency = rhei::Consistency::Eventual;
    config.sync_interval = std::time::Duration::from_secs(3600);
    let engine = HtapEngine::open(config).await.expect("open engine");
    engine.execute("CREATE TABLE t (id int PRIMARY KEY)").await.unwrap();
    engine.sync_now().await.unwrap();
    engine.execute("INSERT INTO t VALUES (1)").await.unwrap();
    let started = std::time::Instant::now();
    loop {
        let seen = rows(&engine.query_with_route("SELECT count(*) FROM t", Route::Olap).await.unwrap());
        if seen == ["1"] {
            break;
        }
        assert!(started.elapsed() < std::time::Duration::from_secs(5), "the insert never reached the OLAP copy: {seen:?}");
        tokio::time::sleep(std::time::Duration::from_millis(1)).await;
    }
    engine.close().await;
}

/// A strong read right after a commit asks sync for a step at once; it must not sit out the
/// gap that spaces out the steps commits ask for (here far longer than the test may take).
#[tokio::test]
async fn a_strong_read_does_not_wait_out_the_nudge_gap() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut config = EngineConfig::with_data_dir(dir.path());
    config.sync_nudge_gap = std::time::Duration::from_secs(3600);
    let engine = HtapEngine::open(config).await.expect("open engine");
    engine.execute("CREATE TABLE t (id int PRIMARY KEY)").await.unwrap();
    engine.execute("INSERT INTO t VALUES (1)").await.unwrap();
    engine.sync_now().await.unwrap();
    // This commit's nudge starts the hour-long gap; the read's request must cut it short.
    engine.execute("INSERT INTO t VALUES (2)").await.unwrap();
    let read = engine.query_with_route("SELECT count(*) FROM t", Route::Olap);
    let seen = tokio::time::timeout(std::time::Duration::from_secs(20), read).await.expect("the strong read waited out the gap");
    assert_eq!(rows(&seen.unwrap()), ["2"]);
    engine.close().await;
}

/// A transaction block's COMMIT nudges sync as an autocommit write does, so steps stay a nudge
/// gap apart however fast blocks commit. It asked for a step at once: pgbench's TPC-B (a block
/// per transaction) then bought a sync step per commit, thousands a second, each reading the
/// change log beside the writer, and ran at 0.4x the rate it reached while sync was busy
/// elsewhere. A strong read still gets the commit at once (it asks for the step itself).
#[tokio::test]
async fn a_committed_block_nudges_sync_rather_than_asking_for_a_step_at_once() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut config = EngineConfig::with_data_dir(dir.path());
    config.sync_interval = std::time::Duration::from_secs(3600);
    config.sync_nudge_gap = std::time::Duration::from_secs(3600);
    let engine = HtapEngine::open(config).await.expect("open engine");
    engine.execute("CREATE TABLE t (id int PRIMARY KEY)").await.unwrap();
    // A step the DDL asked for can still be on its way after sync_now on a loaded machine: an
    // attempt during which the OLAP copy moved before the block proves nothing.
    for attempt in 0..5 {
        engine.sync_now().await.unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        let applied = engine.sync_status().applied_seq;
        let mut session = engine.session();
        session.execute("BEGIN").await.unwrap();
        session.execute(&format!("INSERT INTO t VALUES ({attempt})")).await.unwrap();
        session.execute("COMMIT").await.unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        let after = engine.sync_status().applied_seq;
        if after != applied && attempt < 4 {
            continue;
        }
        assert_eq!(after, applied, "the COMMIT bought a sync step of its own");
        let seen = engine.query_with_route("SELECT count(*) FROM t", Route::Olap).await.unwrap();
        assert_eq!(rows(&seen), [(attempt + 1).to_string()], "a strong read sees the block");
        engine.close().await;
        return;
    }
}

/// Sequences keep their place across a restart, including values handed out in a transaction
/// that rolled back; currval belongs to the session that called nextval.
#[tokio::test]
async fn sequences_survive_a_restart_and_currval_is_per_session() {
    let dir = tempfile::tempdir().unwrap();
    {
        let engine = HtapEngine::open(EngineConfig::with_data_dir(dir.path())).await.unwrap();
        engine.execute_batch("CREATE SEQUENCE s START WITH 5; CREATE TABLE t (k text PRIMARY KEY, n bigserial)").await.unwrap();
        let mut first = engine.session();
        let mut second = engine.session();
        first.execute("SELECT nextval('s'), nextval('s')").await.unwrap();
        let error = second.execute("SELECT currval('s')").await.unwrap_err();
        assert_eq!(error.sqlstate(), "55000", "{error}");
        second.execute("BEGIN").await.unwrap();
        second.execute("SELECT nextval('s')").await.unwrap();
        second.execute("ROLLBACK").await.unwrap();
        let current = first.execute("SELECT currval('s')").await.unwrap();
        assert_eq!(rows(&current[0].1), vec!["6"]);
        engine.execute("INSERT INTO t (k) VALUES ('a'), ('b')").await.unwrap();
        engine.close().await;
    }
    let engine = HtapEngine::open(EngineConfig::with_data_dir(dir.path())).await.unwrap();
    let mut session = engine.session();
    let next = session.execute("SELECT nextval('s')").await.unwrap();
    assert_eq!(rows(&next[0].1), vec!["8"], "7 was handed out before the restart");
    engine.execute("INSERT INTO t (k) VALUES ('c')").await.unwrap();
    let (oltp, olap) = both(&engine, "SELECT k, n FROM t ORDER BY k").await;
    assert_eq!(oltp, vec!["a|1", "b|2", "c|3"]);
    assert_eq!(olap, oltp);
}

/// Views are kept in the data directory and read the same on both engines after a restart;
/// writes to a view are refused (rhei's views are read-only) and change nothing.
#[tokio::test]
async fn views_survive_a_restart_and_refuse_writes() {
    let dir = tempfile::tempdir().unwrap();
    {
        let engine = HtapEngine::open(EngineConfig::with_data_dir(dir.path())).await.unwrap();
        engine
            .execute_batch(
                "CREATE TABLE t (id int PRIMARY KEY, label text); INSERT INTO t VALUES (1, 'a'), (2, 'b'); \
                 CREATE VIEW \"Shout\" (k, loud) AS SELECT id, upper(label) FROM t; CREATE VIEW two AS SELECT k FROM \"Shout\" WHERE k = 2",
            )
            .await
            .unwrap();
        for write in ["INSERT INTO two VALUES (3)", "UPDATE \"Shout\" SET loud = 'x'", "DELETE FROM two"] {
            let error = engine.execute(write).await.unwrap_err();
            assert_eq!(error.sqlstate(), "0A000", "{write}: {error}");
        }
        engine.close().await;
    }
    let engine = HtapEngine::open(EngineConfig::with_data_dir(dir.path())).await.unwrap();
    let (oltp, olap) = both(&engine, "SELECT s.k, s.loud, two.k FROM \"Shout\" s LEFT JOIN two ON two.k = s.k ORDER BY s.k").await;
    assert_eq!(oltp, vec!["1|A|NULL", "2|B|2"]);
    assert_eq!(olap, oltp);
    let error = engine.execute("DROP TABLE t").await.unwrap_err();
    assert_eq!(error.sqlstate(), "2BP01", "{error}");
    assert_eq!(error.detail(), Some("view \"Shout\" depends on table t\nview two depends on view \"Shout\""));
}

/// A row IN a list of 1,500 rows (an ORM's batch of composite keys) is within SQLite's
/// expression depth: its equalities are ORed as a balanced tree, not a chain 1,500 deep.
#[tokio::test]
async fn a_long_row_in_list_answers_on_both_engines() {
    let (engine, _dir) = engine().await;
    engine.execute_batch("CREATE TABLE k (a int, b int, PRIMARY KEY (a, b)); INSERT INTO k VALUES (1, 1), (700, 1400), (2000, 1)").await.unwrap();
    let rows: Vec<String> = (1..=1500).map(|i| format!("({i}, {})", i * 2)).collect();
    let sql = format!("SELECT a, b FROM k WHERE (a, b) IN ((1, 1), {}) ORDER BY a", rows.join(", "));
    let (oltp, olap) = both(&engine, &sql).await;
    assert_eq!(oltp, vec!["1|1", "700|1400"]);
    assert_eq!(olap, oltp);
}
