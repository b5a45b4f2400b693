//! The sidecar against a real PostgreSQL 15 upstream (a throwaway cluster per test): snapshot,
//! logical replication, temporal history, AS OF queries compared with the upstream's own state
//! at recorded instants, read-only refusal, restart without lost or doubled versions, and a lost
//! slot reported with its recovery. All through the wire, as a client would see it.

use std::path::Path;
use std::time::{Duration, Instant};

use tokio_postgres::Client;

use crate::common::{Server, lines, try_lines};
use crate::pg_cluster::{ClusterOptions, WAIT, connect, start_cluster, start_cluster_with, wait_state};



async fn sidecar(url: &str, data_dir: Option<&Path>, resnapshot: bool) -> Server {
    let url = url.to_string();
    let configure = move |raw: &mut rhei::RawConfig| {
        raw.sidecar.upstream = Some(url);
        raw.sidecar.exclude = Some(vec!["scratch*".into()]);
        raw.sidecar.resnapshot = Some(resnapshot);
    };
    match data_dir {
        Some(dir) => Server::start_at(dir, configure).await,
        None => Server::start_with(configure).await,
    }
}


/// A throwaway upstream with `setup` run on it, followed by a sidecar (in `data_dir`, or a
/// temporary one) that has reached streaming.
struct Followed {
    pg: crate::pg_cluster::PgCluster,
    up: Client,
    server: Server,
    rh: Client,
}

async fn followed(setup: &str, data_dir: Option<&Path>) -> Followed {
    let pg = start_cluster();
    let up = connect(&pg.url()).await;
    up.batch_execute(setup).await.unwrap();
    let server = sidecar(&pg.url(), data_dir, false).await;
    let rh = server.client().await;
    wait_state(&rh, "streaming").await;
    Followed { pg, up, server, rh }
}

/// Waits until no walsender holds the replication slot `slot` upstream.
async fn wait_slot_released(up: &Client, slot: &str) {
    let started = Instant::now();
    let sql = format!("SELECT active FROM pg_replication_slots WHERE slot_name = '{slot}'");
    loop {
        let active = lines(up, &sql).await;
        if active == vec!["f"] {
            return;
        }
        assert!(started.elapsed() < WAIT, "slot {slot} still held after the follower stopped: {active:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits until rhei answers `sql` exactly as the upstream does.
async fn wait_equal(up: &Client, rh: &Client, sql: &str) -> Vec<String> {
    let started = Instant::now();
    loop {
        let expected = lines(up, sql).await;
        // A table the follower has not created yet is an error for now.
        let got = try_lines(rh, sql).await;
        if got.as_ref().is_ok_and(|g| *g == expected) {
            return expected;
        }
        if started.elapsed() > WAIT {
            let status = try_lines(rh, "SELECT state, last_error FROM rhei_replication").await;
            panic!("rhei never caught up on {sql}:\n upstream {expected:?}\n rhei     {got:?}\n follower {status:?}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn an_upstream_is_followed_with_history_and_as_of_answers_match_the_upstream_at_recorded_instants() {
    let Followed { pg: _pg, up, server, rh } = followed(
        "CREATE TABLE orders (id bigint PRIMARY KEY, customer text NOT NULL, amount numeric(12,2), placed timestamptz, \
           tags jsonb, span interval, photo bytea, ok boolean, note varchar(20));
         CREATE TABLE events (kind text, n int);
         ALTER TABLE events REPLICA IDENTITY FULL;
         CREATE TABLE scratch_no_key (x int);
         INSERT INTO orders SELECT g, 'c' || (g % 7), g * 1.25, '2026-01-01 00:00:00+00'::timestamptz + g * interval '1 minute', \
           jsonb_build_object('g', g), g * interval '1 hour', '\\x01ff'::bytea, g % 2 = 0, NULL FROM generate_series(1, 500) g;
         INSERT INTO events VALUES ('a', 1), ('a', 1), ('b', 2);",
        None,
    )
    .await;
    let all_columns = "SELECT * FROM orders ORDER BY id";
    assert_eq!(wait_equal(&up, &rh, all_columns).await.len(), 500, "the snapshot has every row, every type as the upstream prints it");
    wait_equal(&up, &rh, "SELECT kind, n FROM events ORDER BY 1, 2").await;

    // Upstream transactions, with the upstream's own clock read after each commit.
    let state = "SELECT id, customer, amount, note FROM orders ORDER BY id";
    let mut checkpoints = Vec::new();
    for step in 0..6 {
        up.batch_execute(&format!(
            "BEGIN;
             UPDATE orders SET amount = amount + 1, note = 'step {step}' WHERE id % 50 = {step};
             DELETE FROM orders WHERE id = {gone};
             INSERT INTO orders (id, customer) VALUES ({new}, 'new {step}');
             DELETE FROM orders WHERE id = 1000;
             INSERT INTO orders (id, customer, amount) VALUES (1000, 'reinserted', {step});
             COMMIT;",
            gone = 400 + step,
            new = 600 + step
        ))
        .await
        .unwrap();
        let instant = lines(&up, "SELECT clock_timestamp()").await.remove(0);
        checkpoints.push((instant, lines(&up, state).await));
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Identity FULL without a key: one of two equal rows goes, the other stays.
    up.batch_execute("DELETE FROM events WHERE ctid = (SELECT ctid FROM events WHERE kind = 'a' LIMIT 1)").await.unwrap();
    wait_equal(&up, &rh, state).await;
    wait_equal(&up, &rh, "SELECT kind, n FROM events ORDER BY 1, 2").await;
    wait_equal(&up, &rh, "SELECT count(*), sum(amount) FROM orders").await;

    for (instant, expected) in &checkpoints {
        let as_of = format!("SELECT id, customer, amount, note FROM orders FOR SYSTEM_TIME AS OF '{instant}' ORDER BY id");
        assert_eq!(&lines(&rh, &as_of).await, expected, "AS OF {instant}");
    }
    // The session setting time-travels unchanged queries.
    let (instant, expected) = &checkpoints[2];
    rh.batch_execute(&format!("SET rhei.as_of = '{instant}'")).await.unwrap();
    assert_eq!(&lines(&rh, state).await, expected);
    rh.batch_execute("SET rhei.as_of = ''").await.unwrap();
    assert_eq!(lines(&rh, "SELECT count(*) FROM orders WHERE id = 1000").await, vec!["1"], "one current version per key");
    let versions = lines(&rh, "SELECT count(*) FROM orders FOR SYSTEM_TIME ALL WHERE id = 1000").await;
    assert_eq!(versions, vec!["6"], "a version per transaction that re-inserted the key");

    // A truncate ends every version; the past still has them.
    up.batch_execute("TRUNCATE events").await.unwrap();
    wait_equal(&up, &rh, "SELECT count(*) FROM events").await;
    let past = format!("SELECT count(*) FROM events FOR SYSTEM_TIME AS OF '{}'", checkpoints[5].0);
    assert_eq!(lines(&rh, &past).await, vec!["3"]);

    // A table created upstream after the snapshot is followed from its first row; excluded
    // tables are not.
    up.batch_execute("CREATE TABLE late (id int PRIMARY KEY, v text); INSERT INTO late VALUES (1, 'x'), (2, NULL);").await.unwrap();
    wait_equal(&up, &rh, "SELECT * FROM late ORDER BY id").await;
    let err = rh.simple_query("SELECT * FROM scratch_no_key").await.unwrap_err();
    assert_eq!(err.code().map(|c| c.code()), Some("42P01"));

    // Writes are refused: rhei is a replica here.
    let err = rh.simple_query("INSERT INTO orders (id, customer) VALUES (9999, 'x')").await.unwrap_err();
    assert_eq!(err.code().map(|c| c.code()), Some("25006"));
    assert!(err.as_db_error().is_some_and(|e| e.message().contains("read-only replica")), "{err:?}");

    let status = lines(&rh, "SELECT state, lag_bytes >= 0, transactions_applied > 0, snapshot_rows FROM rhei_replication").await;
    assert_eq!(status, vec!["streaming|t|t|503"]);
    server.stop().await;
}

#[tokio::test]
async fn a_restart_resumes_without_lost_or_doubled_versions_and_a_lost_slot_is_reported_with_its_recovery() {
    let dir = tempfile::tempdir().unwrap();
    let Followed { pg, up, server, rh } = followed(
        "CREATE TABLE t (id int PRIMARY KEY, v int); INSERT INTO t SELECT g, 0 FROM generate_series(1, 100) g;",
        Some(dir.path()),
    )
    .await;
    wait_equal(&up, &rh, "SELECT * FROM t ORDER BY id").await;
    for i in 1..=20 {
        up.batch_execute(&format!("UPDATE t SET v = v + 1 WHERE id = {i}")).await.unwrap();
    }
    wait_equal(&up, &rh, "SELECT sum(v) FROM t").await;
    server.stop().await;

    // Changes made while rhei is down arrive after the restart, once each.
    for i in 1..=30 {
        up.batch_execute(&format!("UPDATE t SET v = v + 1 WHERE id = {i}")).await.unwrap();
    }
    let server = sidecar(&pg.url(), Some(dir.path()), false).await;
    let rh = server.client().await;
    wait_equal(&up, &rh, "SELECT id, v FROM t ORDER BY id").await;
    assert_eq!(lines(&rh, "SELECT count(*) FROM t FOR SYSTEM_TIME ALL").await, vec!["150"], "100 snapshot versions + 50 updates");
    server.stop().await;

    // The slot disappears upstream: rhei says so and how to recover, and keeps serving reads.
    // The walsender notices the closed connection on its own time; the slot stays "active"
    // until it does, and dropping an active slot fails with 55006.
    wait_slot_released(&up, "rhei_sidecar").await;
    up.batch_execute("SELECT pg_drop_replication_slot('rhei_sidecar')").await.unwrap();
    up.batch_execute("UPDATE t SET v = -1 WHERE id = 100").await.unwrap();
    let server = sidecar(&pg.url(), Some(dir.path()), false).await;
    let rh = server.client().await;
    let failed = wait_state(&rh, "failed").await;
    assert!(failed.contains("resnapshot") && failed.contains("55000"), "{failed}");
    assert_eq!(lines(&rh, "SELECT count(*) FROM t").await, vec!["100"]);
    server.stop().await;

    let server = sidecar(&pg.url(), Some(dir.path()), true).await;
    let rh = server.client().await;
    wait_state(&rh, "streaming").await;
    wait_equal(&up, &rh, "SELECT id, v FROM t ORDER BY id").await;
    server.stop().await;
}

/// A running `sidecar_node` child and a client to its wire port.
struct Node {
    child: std::process::Child,
    client: Client,
}

async fn start_node(dir: &Path, upstream: &str) -> Node {
    use std::io::BufRead;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_sidecar_node"))
        .arg(dir)
        .arg(upstream)
        .env("RUST_LOG", "warn")
        // The history is in Parquet files too (a sidecar's default), written often enough
        // that kills land while files and manifests are being written.
        .env("RHEI_ENGINE_OLAP_PERSIST_INTERVAL_MS", "50")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::inherit())
        .spawn()
        .expect("start the sidecar node");
    let stdout = child.stdout.take().expect("piped stdout");
    let port = tokio::task::spawn_blocking(move || {
        let mut lines = std::io::BufReader::new(stdout).lines();
        lines.find_map(|l| l.ok()?.strip_prefix("listening ")?.trim().parse::<u16>().ok())
    })
    .await
    .unwrap()
    .expect("the node printed its port");
    let client = connect(&format!("postgres://rhei@127.0.0.1:{port}/rhei")).await;
    Node { child, client }
}

fn kill(mut node: Node) {
    node.child.kill().expect("SIGKILL the node");
    node.child.wait().expect("reap the node");
}

#[tokio::test]
async fn sigkill_at_random_points_under_upstream_load_loses_and_doubles_no_version() {
    use rand::Rng;
    let pg = start_cluster();
    let up = connect(&pg.url()).await;
    up.batch_execute("CREATE TABLE counter (id int PRIMARY KEY, v int NOT NULL); INSERT INTO counter SELECT g, 0 FROM generate_series(1, 20) g;")
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    // The snapshot first, so every key's history starts at 0.
    let node = start_node(dir.path(), &pg.url()).await;
    wait_state(&node.client, "streaming").await;
    // Steady upstream load: every transaction moves one counter up by exactly one, so the
    // complete history of a key is the versions 0, 1, 2, ... with no gap and no repeat.
    let stop = tokio_util::sync::CancellationToken::new();
    let load = {
        let (url, stop) = (pg.url(), stop.clone());
        tokio::spawn(async move {
            let client = connect(&url).await;
            let mut n = 0u64;
            while !stop.is_cancelled() {
                let id = 1 + (n * 7 % 20);
                client.batch_execute(&format!("UPDATE counter SET v = v + 1 WHERE id = {id}")).await.unwrap();
                n += 1;
                if n % 50 == 0 {
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
            }
            n
        })
    };
    let mut rng = rand::rng();
    tokio::time::sleep(Duration::from_millis(rng.random_range(50..800))).await;
    kill(node);
    for _ in 0..8 {
        let node = start_node(dir.path(), &pg.url()).await;
        tokio::time::sleep(Duration::from_millis(rng.random_range(50..1200))).await;
        kill(node);
    }
    stop.cancel();
    let updates = load.await.unwrap();
    assert!(updates > 100, "the upstream load ran ({updates} updates)");
    let node = start_node(dir.path(), &pg.url()).await;
    wait_equal(&up, &node.client, "SELECT id, v FROM counter ORDER BY id").await;
    let history = lines(&node.client, "SELECT id, v, _rhei_valid_from, _rhei_valid_to FROM counter FOR SYSTEM_TIME ALL ORDER BY id, v").await;
    let olap_history =
        lines(&node.client, "/*+ olap */ SELECT id, v, _rhei_valid_from, _rhei_valid_to FROM counter FOR SYSTEM_TIME ALL ORDER BY id, v").await;
    assert_eq!(olap_history, history, "the OLAP copy, loaded from its Parquet files, holds the same history");
    kill(node);
    let files = std::fs::read_dir(dir.path().join("olap/counter")).map(|d| d.count()).unwrap_or(0);
    assert!(files > 0, "the history is kept in Parquet files under the data directory");
    // The files as the killed node left them, loaded by an engine of this process.
    let engine = rhei::HtapEngine::open(rhei::EngineConfig {
        olap_storage: rhei::OlapStorage::Parquet,
        ..rhei::EngineConfig::with_data_dir(dir.path())
    })
    .await
    .unwrap();
    assert!(engine.sync_status().tables_from_files >= 1, "the history was loaded from its Parquet files");
    let versions = engine.query_with_route("SELECT count(*) FROM counter FOR SYSTEM_TIME ALL", rhei::Route::Olap).await.unwrap();
    assert_eq!(crate::common::rows(&versions), vec![history.len().to_string()]);
    engine.close().await;
    let finals = lines(&up, "SELECT id, v FROM counter ORDER BY id").await;
    let mut expected_versions = 0;
    for line in &finals {
        let (id, last) = line.split_once('|').unwrap();
        let last: usize = last.parse().unwrap();
        expected_versions += last + 1;
        let versions: Vec<Vec<&str>> =
            history.iter().map(|h| h.split('|').collect::<Vec<_>>()).filter(|h| h[0] == id).collect();
        let values: Vec<usize> = versions.iter().map(|v| v[1].parse().unwrap()).collect();
        assert_eq!(values, (0..=last).collect::<Vec<_>>(), "versions of key {id}: none lost, none doubled");
        for pair in versions.windows(2) {
            assert_eq!(pair[0][3], pair[1][2], "key {id}: each version ends where the next begins");
        }
        assert_eq!(versions.last().unwrap()[3], "NULL", "key {id}: the last version is current");
    }
    assert_eq!(history.len(), expected_versions);
}

#[tokio::test]
async fn added_and_dropped_upstream_columns_are_followed_and_the_history_keeps_dropped_values() {
    let Followed { pg: _pg, up, server, rh } = followed(
        "CREATE TABLE items (id int PRIMARY KEY, name text, price numeric(8,2));
         INSERT INTO items VALUES (1, 'a', 1), (2, 'b', 2), (3, 'c', 3);",
        None,
    )
    .await;
    let all = "SELECT * FROM items ORDER BY id";
    wait_equal(&up, &rh, all).await;

    // Rows written before ADD COLUMN ... DEFAULT show the default without any change for them.
    up.batch_execute(
        "ALTER TABLE items ADD COLUMN region text DEFAULT 'eu';
         UPDATE items SET region = 'us' WHERE id = 1;
         INSERT INTO items VALUES (4, 'd', 4, 'apac');",
    )
    .await
    .unwrap();
    assert_eq!(wait_equal(&up, &rh, all).await, vec!["1|a|1.00|us", "2|b|2.00|eu", "3|c|3.00|eu", "4|d|4.00|apac"]);
    let before_drop = lines(&up, "SELECT clock_timestamp()").await.remove(0);

    up.batch_execute("ALTER TABLE items DROP COLUMN price; UPDATE items SET name = 'b2' WHERE id = 2;").await.unwrap();
    assert_eq!(wait_equal(&up, &rh, all).await, vec!["1|a|us", "2|b2|eu", "3|c|eu", "4|d|apac"], "current rows lose the column");
    let past = format!("SELECT id, price FROM items FOR SYSTEM_TIME AS OF '{before_drop}' ORDER BY id");
    assert_eq!(lines(&rh, &past).await, vec!["1|1.00", "2|2.00", "3|3.00", "4|4.00"], "the history keeps it");

    // Changes on both sides of an ALTER inside one transaction.
    up.batch_execute(
        "BEGIN;
         INSERT INTO items VALUES (5, 'e', 'eu');
         ALTER TABLE items ADD COLUMN qty int;
         INSERT INTO items VALUES (6, 'f', 'eu', 7);
         UPDATE items SET qty = 1 WHERE id = 5;
         COMMIT;",
    )
    .await
    .unwrap();
    wait_equal(&up, &rh, all).await;
    // Writes are still refused, and the replica still answers aggregates on both engines.
    wait_equal(&up, &rh, "SELECT count(*), sum(qty) FROM items").await;
    server.stop().await;
}

/// Numeric columns wider than 64 bits (Decimal128 up to 38 digits, Decimal256 past it) mirror
/// digit for digit: through the snapshot, through replicated inserts and updates, and in
/// DataFusion's aggregates (SQLite's sum of numeric runs in binary floating point, a known
/// difference of its own).
#[tokio::test]
async fn wide_numeric_columns_are_followed_digit_for_digit() {
    let Followed { pg: _pg, up, server, rh } = followed(
        "CREATE TABLE ledger (id int PRIMARY KEY, wide numeric(38,10), wider numeric(60,20), small numeric(5,5));
         INSERT INTO ledger VALUES
           (1, 1234567890123456789012345678.0123456789, 1234567890123456789012345678901234567890.12345678901234567890, 0.12345),
           (2, -9999999999999999999999999999.9999999999, -0.00000000000000000001, -0.00001),
           (3, 0, 1e39, NULL);",
        None,
    )
    .await;
    let all = "SELECT * FROM ledger ORDER BY id";
    assert_eq!(wait_equal(&up, &rh, all).await.len(), 3, "the snapshot keeps every digit");

    up.batch_execute(
        "INSERT INTO ledger VALUES (4, 42.4200000001, 123456789012345678901234567890.5, 0.5);
         UPDATE ledger SET wide = wide / 3, wider = wider * 7 WHERE id = 1;",
    )
    .await
    .unwrap();
    wait_equal(&up, &rh, all).await;
    wait_equal(&up, &rh, "SELECT count(*), sum(wide), max(wider) FROM ledger").await;
    server.stop().await;
}

/// An upstream `time` column is mirrored as a time (it was text): snapshot and stream, ordered
/// and compared as times, and described as `time` on the wire.
#[tokio::test]
async fn time_columns_are_followed_as_times() {
    let Followed { pg: _pg, up, server, rh } = followed(
        "CREATE TABLE opening (id int PRIMARY KEY, opens time NOT NULL, closes time(0));
         INSERT INTO opening VALUES (1, '09:00', '17:30'), (2, '08:15:30.25', NULL), (3, '24:00:00', '23:59:59');",
        None,
    )
    .await;
    let all = "SELECT * FROM opening ORDER BY opens";
    assert_eq!(wait_equal(&up, &rh, all).await.len(), 3, "the snapshot has every row");
    up.batch_execute("INSERT INTO opening VALUES (4, '1:05 pm', '13:06'); UPDATE opening SET closes = opens + interval '30 minutes' WHERE id = 2;")
        .await
        .unwrap();
    wait_equal(&up, &rh, all).await;
    wait_equal(&up, &rh, "SELECT id, closes - opens FROM opening WHERE opens > '08:30' ORDER BY id").await;
    let described = rh.prepare("SELECT opens FROM opening").await.unwrap();
    assert_eq!(described.columns()[0].type_(), &tokio_postgres::types::Type::TIME);
    server.stop().await;
}

/// An upstream's interval columns are followed as intervals (they were text, which sorted and
/// compared as text), also one restricted to some fields: the snapshot, then inserts and
/// updates from the stream.
#[tokio::test]
async fn interval_columns_are_followed_as_intervals() {
    let Followed { pg: _pg, up, server, rh } = followed(
        "CREATE TABLE job (id int PRIMARY KEY, took interval NOT NULL, budget interval day to second);
         INSERT INTO job VALUES (1, '1 mon', '40 days'), (2, '25 hours', NULL), (3, '-1 day 02:00', '00:00:01.5');",
        None,
    )
    .await;
    let all = "SELECT * FROM job ORDER BY took, id";
    assert_eq!(wait_equal(&up, &rh, all).await.len(), 3, "the snapshot has every row");
    up.batch_execute("INSERT INTO job VALUES (4, '1 year 2 mons 3 days 04:05:06.789', '1 hour'); UPDATE job SET took = took * 2 WHERE id = 2;")
        .await
        .unwrap();
    wait_equal(&up, &rh, all).await;
    wait_equal(&up, &rh, "SELECT id, took + budget FROM job WHERE took > '1 day' ORDER BY id").await;
    let described = rh.prepare("SELECT took FROM job").await.unwrap();
    assert_eq!(described.columns()[0].type_(), &tokio_postgres::types::Type::INTERVAL);
    server.stop().await;
}

/// An upstream array column is mirrored as an array of its element type (it was text, so
/// `= ANY`, subscripts, `@>` and ORDER BY did not work, nor list parameters through a
/// forwarding rhei): the snapshot, then inserts and updates from the stream; an array of a
/// type rhei does not store stays text.
#[tokio::test]
async fn array_columns_are_followed_as_arrays() {
    let Followed { pg: _pg, up, server, rh } = followed(
        "CREATE TABLE post (id int PRIMARY KEY, tags text[], scores int[] NOT NULL, seen timestamptz[], waits interval[]);
         INSERT INTO post VALUES (1, '{a,\"b c\",NULL}', '{10,9}', '{\"2024-01-01 10:00+02\"}', '{1 day}'), (2, NULL, '{}', NULL, NULL);",
        None,
    )
    .await;
    let all = "SELECT id, tags, scores, seen, waits::text FROM post ORDER BY scores, id";
    assert_eq!(wait_equal(&up, &rh, all).await.len(), 2, "the snapshot has every row");
    up.batch_execute("INSERT INTO post VALUES (3, ARRAY['x'], '{9,10}', NULL, NULL); UPDATE post SET tags = array_append(tags, 'z') WHERE id = 1;")
        .await
        .unwrap();
    wait_equal(&up, &rh, all).await;
    wait_equal(&up, &rh, "SELECT id, tags[2], scores[1] FROM post WHERE 'z' = ANY (tags) OR scores @> '{9}' ORDER BY id").await;
    let described = rh.prepare("SELECT tags, scores, waits FROM post").await.unwrap();
    let types: Vec<&tokio_postgres::types::Type> = described.columns().iter().map(|c| c.type_()).collect();
    assert_eq!(types, [&tokio_postgres::types::Type::TEXT_ARRAY, &tokio_postgres::types::Type::INT4_ARRAY, &tokio_postgres::types::Type::TEXT]);
    server.stop().await;
}

/// Upstream inet and cidr columns are mirrored as inet and cidr (they were text, which ordered
/// `10.0.0.0/16` before `9.0.0.0/8` and had no `<<`): the snapshot, the stream, the order, the
/// containment operators and the type on the wire.
#[tokio::test]
async fn network_columns_are_followed_as_inet_and_cidr() {
    let Followed { pg: _pg, up, server, rh } = followed(
        "CREATE TABLE login (id int PRIMARY KEY, ip inet, net cidr);
         INSERT INTO login VALUES (1, '10.0.0.1', '10.0.0.0/16'), (2, '2001:db8::1/64', '2001:db8::/32'), (3, NULL, '9.0.0.0/8');",
        None,
    )
    .await;
    let all = "SELECT id, ip, net FROM login ORDER BY net, id";
    assert_eq!(wait_equal(&up, &rh, all).await.len(), 3, "the snapshot has every row");
    up.batch_execute("INSERT INTO login VALUES (4, '192.168.1.5/24', '192.168.1.0/24'); UPDATE login SET ip = ip + 1 WHERE id = 1;").await.unwrap();
    wait_equal(&up, &rh, all).await;
    wait_equal(&up, &rh, "SELECT id, host(ip), masklen(net) FROM login WHERE ip << '10.0.0.0/8' OR net >>= '9.1.0.0/16' ORDER BY ip").await;
    let described = rh.prepare("SELECT ip, net FROM login").await.unwrap();
    let types: Vec<&tokio_postgres::types::Type> = described.columns().iter().map(|c| c.type_()).collect();
    assert_eq!(types, [&tokio_postgres::types::Type::INET, &tokio_postgres::types::Type::CIDR]);
    server.stop().await;
}

/// An unconstrained `numeric` upstream column is mirrored exactly (each value with the scale
/// it was written with). An upstream value its OLAP copy cannot hold (past 28 integral digits,
/// or NaN; rhei refuses both from its own clients, but the snapshot and the stream take them)
/// holds back that table alone: its reads go to SQLite and answer digit for digit, a read
/// forced onto the OLAP engine says why (55000), other tables go on syncing, and a restart
/// serves it the same way. Before, the value stopped the OLAP copy of every table, and rhei
/// would not start again on that data directory.
#[tokio::test]
async fn unconstrained_numeric_is_followed_exactly_and_a_value_the_copy_cannot_hold_sends_its_reads_to_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let Followed { pg, up, server, rh } = followed(
        "CREATE TABLE amounts (id int PRIMARY KEY, v numeric);
         CREATE TABLE others (id int PRIMARY KEY);
         INSERT INTO amounts VALUES (1, 1.50), (2, 0.123456789012345678), (3, -12345.6789), (4, NULL);",
        Some(dir.path()),
    )
    .await;
    let all = "SELECT id, v FROM amounts ORDER BY id";
    wait_equal_to(&up, all, &rh, &format!("/*+ oltp */ {all}")).await;
    let count = "SELECT count(*), count(v) FROM amounts";
    assert_eq!(lines(&rh, &format!("EXPLAIN ROUTE {count}")).await, ["olap|aggregate"]);
    wait_equal(&up, &rh, count).await;

    up.batch_execute("INSERT INTO amounts VALUES (5, 1e30), (6, 2.000)").await.unwrap();
    wait_equal_to(&up, all, &rh, &format!("/*+ oltp */ {all}")).await;
    assert_eq!(lines(&rh, "/*+ oltp */ SELECT v FROM amounts WHERE id = 5").await, ["1000000000000000000000000000000"]);
    wait_equal(&up, &rh, count).await;
    wait_equal(&up, &rh, all).await;
    let route = lines(&rh, &format!("EXPLAIN ROUTE {count}")).await;
    assert!(route[0].starts_with("oltp|table \"amounts\" is held back from the OLAP copy"), "{route:?}");
    let err = try_lines(&rh, &format!("/*+ olap */ {count}")).await.unwrap_err();
    let db = err.as_db_error().unwrap_or_else(|| panic!("{err:?}"));
    assert_eq!(db.code().code(), "55000", "{db:?}");
    assert!(db.message().contains("column \"v\" holds 1000000000000000000000000000000"), "{db:?}");
    assert!(db.hint().is_some_and(|h| h.contains("rhei.route")), "{db:?}");
    let status = lines(&rh, "SELECT last_error FROM rhei_status WHERE table_name = 'amounts'").await;
    assert!(status[0].contains("column \"v\""), "{status:?}");

    // Every other table goes on syncing into the copy.
    up.batch_execute("INSERT INTO others VALUES (1), (2)").await.unwrap();
    wait_equal_to(&up, "SELECT count(*) FROM others", &rh, "/*+ olap */ SELECT count(*) FROM others").await;

    // The row's history keeps the value after an upstream delete, so the table stays held
    // back (README, Sidecar limits) and its reads stay on SQLite, NaN included.
    up.batch_execute("DELETE FROM amounts WHERE id = 5").await.unwrap();
    wait_equal(&up, &rh, all).await;
    tokio::time::sleep(Duration::from_secs(6)).await; // past the retry gap: it was read again
    wait_equal(&up, &rh, count).await;
    assert!(lines(&rh, &format!("EXPLAIN ROUTE {count}")).await[0].contains("holds 1000000000000000000000000000000"));
    up.batch_execute("INSERT INTO amounts VALUES (7, 'NaN')").await.unwrap();
    wait_equal(&up, &rh, all).await;
    server.stop().await;

    let server = sidecar(&pg.url(), Some(dir.path()), false).await;
    let rh = server.client().await;
    wait_state(&rh, "streaming").await;
    wait_equal(&up, &rh, all).await;
    wait_equal(&up, &rh, count).await;
    assert!(lines(&rh, &format!("EXPLAIN ROUTE {count}")).await[0].starts_with("oltp|table \"amounts\" is held back"));
    wait_equal_to(&up, "SELECT count(*) FROM others", &rh, "/*+ olap */ SELECT count(*) FROM others").await;
    server.stop().await;
}

/// The upstream can be restarted (`pg_ctl -m fast`, as a service restart does) while rhei
/// follows it: it stops promptly, rhei follows it again once it is back, and rhei then stops
/// promptly too. A walsender at shutdown waits until its client confirms everything it sent;
/// rhei confirmed only its last applied commit, so the upstream's shutdown hung for as long as
/// rhei stayed connected. And the end of the stream at the upstream's shutdown stopped rhei
/// following for good.
#[tokio::test]
async fn the_upstream_restarts_promptly_while_followed_and_is_followed_again() {
    let Followed { pg, up, server, rh } = followed(
        "CREATE TABLE t (id int PRIMARY KEY); INSERT INTO t VALUES (1)",
        None,
    )
    .await;
    up.batch_execute("INSERT INTO t VALUES (2)").await.unwrap();
    wait_equal(&up, &rh, "SELECT id FROM t ORDER BY id").await;
    // WAL past the last commit rhei applied with nothing in it to apply, as an upstream's
    // checkpoints and other databases' writes make.
    up.batch_execute("CHECKPOINT").await.unwrap();
    drop(up);

    // pg_ctl blocks: off the test's runtime, where rhei's follower has to answer the upstream.
    let started = Instant::now();
    let pg = std::sync::Arc::new(pg);
    let stopping = pg.clone();
    tokio::task::spawn_blocking(move || stopping.stop_fast(Duration::from_secs(20)))
        .await
        .expect("pg_ctl ran")
        .unwrap_or_else(|e| panic!("the upstream did not stop while followed: {e}"));
    assert!(started.elapsed() < Duration::from_secs(10), "the upstream took {:?} to stop", started.elapsed());
    assert_eq!(lines(&rh, "SELECT count(*) FROM t").await, ["2"], "rhei serves what it has");

    // The walsender ended the stream as the upstream stopped: rhei waits the restart out and
    // follows again (it used to stop following for good, "failed").
    wait_state(&rh, "reconnecting").await;
    let starting = pg.clone();
    tokio::task::spawn_blocking(move || starting.start_again()).await.expect("pg_ctl ran").expect("the upstream starts again");
    let up = connect(&pg.url()).await;
    up.batch_execute("INSERT INTO t VALUES (3)").await.unwrap();
    wait_state(&rh, "streaming").await;
    wait_equal(&up, &rh, "SELECT id FROM t ORDER BY id").await;
    let stopping = Instant::now();
    tokio::time::timeout(WAIT, server.stop()).await.expect("rhei stops with its upstream gone");
    assert!(stopping.elapsed() < Duration::from_secs(5), "rhei took {:?} to stop", stopping.elapsed());
}

#[tokio::test]
async fn an_sqlite_upstream_is_polled_without_missing_same_second_updates_or_repeating_deletes() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("app.db");
    let app = rusqlite::Connection::open(&file).unwrap();
    app.execute_batch(
        "PRAGMA journal_mode = WAL;
         CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL, score REAL, updated_at TEXT NOT NULL, deleted_at TEXT);
         CREATE TABLE notes (body TEXT);
         INSERT INTO users VALUES (1, 'ann', 1.5, '2026-01-01 00:00:01', NULL), (2, 'bob', 2, '2026-01-01 00:00:01', NULL),
                                  (3, 'cy', NULL, '2026-01-01 00:00:01', NULL);",
    )
    .unwrap();
    let upstream = format!("sqlite://{}", file.display());
    let server = Server::start_with(move |raw| {
        raw.sidecar.upstream = Some(upstream);
        raw.sidecar.poll_interval_ms = Some(20);
        raw.sidecar.soft_delete_column = Some("deleted_at".into());
        raw.sidecar.key_check_polls = Some(2);
    })
    .await;
    let rh = server.client().await;
    let polling = wait_state(&rh, "polling").await;
    assert!(polling.contains("notes (no updated_at column)"), "tables rhei cannot poll are named: {polling}");
    let current = "SELECT id, name, score FROM users ORDER BY id";
    let wait_rows = |expected: Vec<&'static str>| {
        let rh = &rh;
        async move {
            let started = Instant::now();
            loop {
                let got = lines(rh, current).await;
                if got == expected {
                    return;
                }
                assert!(started.elapsed() < WAIT, "expected {expected:?}, rhei has {got:?}");
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    };
    wait_rows(vec!["1|ann|1.5", "2|bob|2", "3|cy|NULL"]).await;

    // An update stamped with the very timestamp of the watermark is still seen.
    app.execute_batch("UPDATE users SET name = 'ann2' WHERE id = 1").unwrap();
    wait_rows(vec!["1|ann2|1.5", "2|bob|2", "3|cy|NULL"]).await;
    app.execute_batch(
        "INSERT INTO users VALUES (4, 'dee', 4, '2026-01-01 00:00:02', NULL);
         UPDATE users SET score = 20, updated_at = '2026-01-01 00:00:03' WHERE id = 2;",
    )
    .unwrap();
    wait_rows(vec!["1|ann2|1.5", "2|bob|20", "3|cy|NULL", "4|dee|4"]).await;

    // A soft delete ends the row once, however many polls see it.
    app.execute_batch("UPDATE users SET deleted_at = 'now', updated_at = '2026-01-01 00:00:04' WHERE id = 3").unwrap();
    wait_rows(vec!["1|ann2|1.5", "2|bob|20", "4|dee|4"]).await;
    let versions_of_3 = "SELECT count(*) FROM users FOR SYSTEM_TIME ALL WHERE id = 3";
    let before = lines(&rh, versions_of_3).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(lines(&rh, versions_of_3).await, before, "the soft delete is not re-applied every cycle");
    // A hard delete is seen by the key comparison.
    app.execute_batch("DELETE FROM users WHERE id = 4").unwrap();
    wait_rows(vec!["1|ann2|1.5", "2|bob|20"]).await;

    // History: bob's versions in order, the first ended where the second began; ann's
    // same-second update is a version of its own.
    let bob = "SELECT score, _rhei_valid_to IS NULL FROM users FOR SYSTEM_TIME ALL WHERE id = 2 ORDER BY _rhei_valid_from";
    assert_eq!(lines(&rh, bob).await, vec!["2|f", "20|t"]);
    let ann = "SELECT name FROM users FOR SYSTEM_TIME ALL WHERE id = 1 ORDER BY _rhei_valid_from";
    assert_eq!(lines(&rh, ann).await, vec!["ann", "ann2"]);
    assert_eq!(lines(&rh, versions_of_3).await, vec!["1"], "cy had one version, ended by the soft delete");
    let err = rh.simple_query("UPDATE users SET name = 'x'").await.unwrap_err();
    assert_eq!(err.code().map(|c| c.code()), Some("25006"));

    server.stop().await;
}

#[tokio::test]
async fn an_upstream_without_logical_wal_is_polled_with_history_same_instant_updates_and_both_kinds_of_delete() {
    let pg = start_cluster_with(ClusterOptions { conf: vec!["wal_level = replica".into()], ..ClusterOptions::default() });
    let up = connect(&pg.url()).await;
    up.batch_execute(
        "CREATE TABLE accounts (id int PRIMARY KEY, owner text NOT NULL, balance numeric(10,2), is_deleted boolean NOT NULL DEFAULT false,
           updated_at timestamptz NOT NULL DEFAULT clock_timestamp());
         CREATE TABLE ledger (n int PRIMARY KEY);
         CREATE TABLE stamped_no_key (x int, updated_at timestamptz);
         INSERT INTO accounts (id, owner, balance) SELECT g, 'owner ' || g, g * 10 FROM generate_series(1, 50) g;",
    )
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let start = |url: String| {
        let path = dir.path().to_path_buf();
        async move {
            Server::start_at(&path, move |raw| {
                raw.sidecar.upstream = Some(url);
                raw.sidecar.poll_interval_ms = Some(20);
                raw.sidecar.soft_delete_column = Some("is_deleted".into());
                raw.sidecar.key_check_polls = Some(2);
            })
            .await
        }
    };
    let server = start(pg.url()).await;
    let rh = server.client().await;
    let polling = wait_state(&rh, "polling").await;
    assert!(polling.contains("ledger (no updated_at column)") && polling.contains("stamped_no_key (no primary key)"), "{polling}");
    assert_eq!(lines(&rh, "SELECT method FROM rhei_replication").await, vec!["polling"], "wal_level = replica: polled");
    let current = "SELECT id, owner, balance FROM accounts ORDER BY id";
    wait_equal(&up, &rh, current).await;

    // Each change is polled before the next, and the upstream's clock read after each commit.
    let mut checkpoints = Vec::new();
    let steps = [
        "UPDATE accounts SET balance = balance + 1, updated_at = clock_timestamp() WHERE id <= 5",
        "UPDATE accounts SET is_deleted = true, updated_at = clock_timestamp() WHERE id = 2",
        "DELETE FROM accounts WHERE id = 3",
        "UPDATE accounts SET balance = -1, updated_at = clock_timestamp() WHERE id = 4",
    ];
    let live = "SELECT id, owner, balance FROM accounts WHERE NOT is_deleted ORDER BY id";
    for step in steps {
        up.batch_execute(step).await.unwrap();
        wait_equal_to(&up, live, &rh, current).await;
        let instant = lines(&up, "SELECT clock_timestamp()").await.remove(0);
        checkpoints.push((instant, lines(&up, live).await));
    }
    for (instant, expected) in &checkpoints {
        let as_of = format!("SELECT id, owner, balance FROM accounts FOR SYSTEM_TIME AS OF '{instant}' ORDER BY id");
        assert_eq!(&lines(&rh, &as_of).await, expected, "AS OF {instant}");
    }
    // A second change stamped with the very instant of the watermark is still seen (its
    // version starts a microsecond after the first: polling knows no better instant).
    up.batch_execute("INSERT INTO accounts (id, owner, balance) VALUES (51, 'new', 0)").await.unwrap();
    wait_equal_to(&up, live, &rh, current).await;
    up.batch_execute("UPDATE accounts SET owner = 'same instant' WHERE id = 51").await.unwrap();
    wait_equal_to(&up, live, &rh, current).await;
    let versions_of = |id: u32| format!("SELECT count(*) FROM accounts FOR SYSTEM_TIME ALL WHERE id = {id}");
    assert_eq!(lines(&rh, &versions_of(51)).await, vec!["2"], "the same-instant update is a version of its own");
    let before = lines(&rh, &versions_of(2)).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(lines(&rh, &versions_of(2)).await, before, "the soft delete is not re-applied every cycle");
    server.stop().await;

    // A restart resumes at the stored watermarks: nothing applied twice, later changes seen.
    up.batch_execute("UPDATE accounts SET balance = 7, updated_at = clock_timestamp() WHERE id = 1").await.unwrap();
    let server = start(pg.url()).await;
    let rh = server.client().await;
    wait_equal_to(&up, live, &rh, current).await;
    assert_eq!(lines(&rh, &versions_of(1)).await, vec!["3"], "snapshot, step 1, the change made while stopped");
    assert_eq!(lines(&rh, &versions_of(51)).await, vec!["2"]);
    server.stop().await;
}

/// Waits until rhei's answer to `local` equals the upstream's to `upstream`.
async fn wait_equal_to(up: &Client, upstream: &str, rh: &Client, local: &str) {
    let started = Instant::now();
    loop {
        let expected = lines(up, upstream).await;
        let got = try_lines(rh, local).await;
        if got.as_ref().is_ok_and(|g| *g == expected) {
            return;
        }
        assert!(started.elapsed() < WAIT, "rhei never caught up:\n upstream {expected:?}\n rhei     {got:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
