//! Write forwarding (`[sidecar] forward_writes = true`) against a real PostgreSQL 15 upstream:
//! a client pointed at rhei writes, runs transactions, prepares statements, copies and reads
//! its own writes, getting the upstream's answers (types, errors, transaction status) while
//! analytical reads are answered by rhei's replica (which has the history the upstream does
//! not). Both by logical replication and by timestamp polling.

use std::time::{Duration, Instant};

use tokio_postgres::{Client, NoTls, SimpleQueryMessage};

use crate::common::{Server, lines, try_lines};
use crate::pg_cluster::{ClusterOptions, WAIT, connect, start_cluster, start_cluster_with, wait_state};



async fn forwarding(url: &str, configure: impl FnOnce(&mut rhei::RawConfig) + Send + 'static) -> Server {
    let url = url.to_string();
    Server::start_with(move |raw| {
        raw.sidecar.upstream = Some(url);
        raw.sidecar.forward_writes = Some(true);
        raw.sidecar.exclude = Some(vec!["scratch*".into()]);
        configure(raw);
    })
    .await
}


/// Runs psql against `server` with `args`, feeding it `input`; what it printed. Fails the
/// test when psql fails (within [`WAIT`]).
async fn psql(server: &Server, args: &[&str], input: &str) -> String {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let port = server.addr.port().to_string();
    let args: Vec<String> = args.iter().map(|a| (*a).to_string()).collect();
    let input = input.to_string();
    let run = tokio::task::spawn_blocking(move || {
        let mut child = Command::new(crate::psql::psql_binary())
            .args(["-h", "127.0.0.1", "-p", &port, "-U", "rhei", "-d", "rhei", "-X", "-v", "ON_ERROR_STOP=1"])
            .args(&args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run psql");
        child.stdin.take().expect("psql stdin").write_all(input.as_bytes()).expect("write to psql");
        child.wait_with_output().expect("psql output")
    });
    let output = tokio::time::timeout(WAIT, run).await.expect("psql finishes").unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(output.status.success(), "psql failed: {stdout}{}", String::from_utf8_lossy(&output.stderr));
    stdout
}

/// The command tags of a simple query's statements.
async fn tags(client: &Client, sql: &str) -> Vec<u64> {
    client
        .simple_query(sql)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e:?}"))
        .into_iter()
        .filter_map(|m| match m {
            SimpleQueryMessage::CommandComplete(n) => Some(n),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn writes_transactions_and_point_reads_go_upstream_and_analytics_read_their_own_writes_locally() {
    let pg = start_cluster();
    let up = connect(&pg.url()).await;
    up.batch_execute(
        "CREATE TABLE orders (id int PRIMARY KEY, customer text NOT NULL, amount numeric(10,2), placed timestamptz DEFAULT now());
         INSERT INTO orders (id, customer, amount) SELECT g, 'c' || (g % 5), g * 1.5 FROM generate_series(1, 100) g;
         CREATE TABLE scratch_notes (id int PRIMARY KEY, body text);
         INSERT INTO scratch_notes VALUES (1, 'not followed');",
    )
    .await
    .unwrap();
    let server = forwarding(&pg.url(), |_| {}).await;
    let rh = server.client().await;
    wait_state(&rh, "streaming").await;

    // A write through rhei lands upstream, RETURNING answers with the upstream's types, and
    // the very next analytical read (answered locally) already counts it: every time.
    let totals = "SELECT count(*), sum(amount) FROM orders";
    for i in 0..25 {
        let id = 1000 + i;
        let row = rh.query_one("INSERT INTO orders (id, customer, amount) VALUES ($1, 'rhei', 2.25) RETURNING id, amount", &[&id]).await.unwrap();
        assert_eq!(row.get::<_, i32>(0), id);
        assert_eq!(row.columns()[1].type_(), &tokio_postgres::types::Type::NUMERIC);
        assert_eq!(lines(&rh, totals).await, lines(&up, totals).await, "read-your-writes after insert {i}");
    }
    tags(&rh, "UPDATE orders SET amount = amount + 1 WHERE customer = 'rhei'").await;
    assert_eq!(lines(&rh, totals).await, lines(&up, totals).await, "read-your-writes after an update");
    // The analytical read was rhei's own: only rhei has the history it is asked about here.
    let versions = lines(&rh, "SELECT count(*) FROM orders FOR SYSTEM_TIME ALL WHERE customer = 'rhei'").await;
    assert_eq!(versions, vec!["50"], "each forwarded insert and update is a version in rhei's history");
    let route = lines(&rh, "EXPLAIN ROUTE SELECT customer, sum(amount) FROM orders GROUP BY 1").await;
    assert!(route[0].starts_with("olap|"), "{route:?}");

    // Point reads, and reads of tables rhei does not follow, are the upstream's.
    let note: String = rh.query_one("SELECT body FROM scratch_notes WHERE id = $1", &[&1i32]).await.unwrap().get(0);
    assert_eq!(note, "not followed");
    assert_eq!(lines(&rh, "SELECT count(*) FROM scratch_notes").await, vec!["1"]);
    let customer: String = rh.query_one("SELECT customer FROM orders WHERE id = $1", &[&1010i32]).await.unwrap().get(0);
    assert_eq!(customer, "rhei");
    // So are catalog queries: the upstream's catalog knows the tables rhei does not follow.
    assert_eq!(lines(&rh, "SELECT count(*) FROM pg_catalog.pg_tables WHERE tablename = 'scratch_notes'").await, vec!["1"]);

    // A transaction runs upstream, reads inside it see its own uncommitted writes (even an
    // aggregate the router would give the replica), and ROLLBACK leaves nothing.
    let before = lines(&up, totals).await;
    rh.batch_execute("BEGIN").await.unwrap();
    rh.batch_execute("DELETE FROM orders WHERE id <= 10").await.unwrap();
    assert_eq!(lines(&rh, "SELECT count(*) FROM orders").await, vec!["115"], "the transaction sees its own delete");
    rh.batch_execute("ROLLBACK").await.unwrap();
    assert_eq!(lines(&up, totals).await, before);
    assert_eq!(lines(&rh, totals).await, before);
    {
        let mut client = server.client().await;
        let txn = client.transaction().await.unwrap();
        txn.execute("INSERT INTO orders (id, customer) VALUES (2000, 'in txn')", &[]).await.unwrap();
        let seen: i64 = txn.query_one("SELECT count(*) FROM orders WHERE customer = 'in txn'", &[]).await.unwrap().get(0);
        assert_eq!(seen, 1);
        txn.commit().await.unwrap();
        assert_eq!(lines(&client, "SELECT count(*) FROM orders WHERE customer = 'in txn' GROUP BY customer").await, vec!["1"]);
    }

    // Errors are the upstream's, with its SQLSTATE, and the session goes on.
    let err = rh.execute("INSERT INTO orders (id, customer) VALUES (1, 'dup')", &[]).await.unwrap_err();
    let db = err.as_db_error().expect("a database error");
    assert_eq!((db.code().code(), db.constraint()), ("23505", Some("orders_pkey")));
    let err = rh.simple_query("INSERT INTO orders VALUES (").await.unwrap_err();
    assert_eq!(err.code().map(|c| c.code()), Some("42601"));
    rh.batch_execute("BEGIN; INSERT INTO orders (id, customer) VALUES (3000, 'x')").await.unwrap();
    let err = rh.batch_execute("INSERT INTO orders (id, customer) VALUES (1, 'dup')").await.unwrap_err();
    assert_eq!(err.code().map(|c| c.code()), Some("23505"));
    let err = rh.batch_execute("SELECT 1").await.unwrap_err();
    assert_eq!(err.code().map(|c| c.code()), Some("25P02"), "a failed transaction refuses statements until it ends");
    rh.batch_execute("ROLLBACK").await.unwrap();
    assert_eq!(lines(&up, "SELECT count(*) FROM orders WHERE id = 3000").await, vec!["0"]);

    // DDL goes upstream; the new table is followed and its aggregate is then rhei's.
    rh.batch_execute("CREATE TABLE late (id int PRIMARY KEY, v int); INSERT INTO late SELECT g, g FROM generate_series(1, 10) g")
        .await
        .unwrap();
    assert_eq!(lines(&up, "SELECT sum(v) FROM late").await, vec!["55"]);
    assert_eq!(lines(&rh, "SELECT sum(v) FROM late").await, vec!["55"]);

    // COPY FROM STDIN is streamed to the upstream, by the extended protocol (tokio-postgres)
    // and by a simple query (psql's \copy); psql's \d reads the upstream's catalogs.
    let copied = tokio::time::timeout(WAIT, async {
        let sink = rh.copy_in::<_, bytes::Bytes>("COPY late (id, v) FROM STDIN").await.unwrap();
        futures::pin_mut!(sink);
        futures::SinkExt::send(&mut sink, bytes::Bytes::from_static(b"11\t100\n12\t200\n")).await.unwrap();
        sink.finish().await.unwrap()
    });
    assert_eq!(copied.await.expect("an extended-protocol COPY finishes"), 2);
    assert_eq!(lines(&rh, "SELECT count(*), sum(v) FROM late").await, vec!["12|355"]);
    let printed = psql(&server, &["-c", "\\copy late (id, v) FROM pstdin", "-c", "\\d scratch_notes"], "13\t45\n").await;
    assert!(printed.contains("COPY 1") && printed.contains("Table \"public.scratch_notes\""), "{printed}");
    assert_eq!(lines(&rh, "SELECT count(*), sum(v) FROM late").await, vec!["13|400"]);

    // Session settings apply on both sides: the upstream's SHOW, rhei's local formatting (a
    // fixed offset: rhei does not know named zones).
    rh.batch_execute("SET TimeZone = '+09'").await.unwrap();
    assert_eq!(lines(&rh, "SHOW TimeZone").await, vec!["<+09>-09"], "SHOW is the upstream's");
    up.batch_execute("SET TimeZone = '+09'").await.unwrap();
    let latest = "SELECT max(placed) FROM orders";
    assert_eq!(lines(&rh, latest).await, lines(&up, latest).await);

    // A forwarded statement is cancelled upstream.
    let cancel = rh.cancel_token();
    let canceller = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(300)).await;
        cancel.cancel_query(NoTls).await.unwrap();
    });
    let started = Instant::now();
    let err = rh.simple_query("SELECT pg_sleep(20)").await.unwrap_err();
    assert_eq!(err.code().map(|c| c.code()), Some("57014"), "{err:?}");
    assert!(started.elapsed() < Duration::from_secs(10));
    canceller.await.unwrap();
    assert_eq!(lines(&rh, "SELECT 1").await, vec!["1"]);
    server.stop().await;
}

#[tokio::test]
async fn a_polled_upstream_reads_its_own_forwarded_writes_without_waiting_out_the_interval() {
    let pg = start_cluster_with(ClusterOptions { conf: vec!["wal_level = replica".into()], ..ClusterOptions::default() });
    let up = connect(&pg.url()).await;
    up.batch_execute(
        "CREATE TABLE readings (id int PRIMARY KEY, v int NOT NULL, updated_at timestamptz NOT NULL DEFAULT clock_timestamp());
         INSERT INTO readings (id, v) SELECT g, g FROM generate_series(1, 20) g;",
    )
    .await
    .unwrap();
    // A poll every minute: only the session's wait can make the next read see its write.
    let server = forwarding(&pg.url(), |raw| raw.sidecar.poll_interval_ms = Some(60_000)).await;
    let rh = server.client().await;
    wait_state(&rh, "polling").await;
    let totals = "SELECT count(*), sum(v) FROM readings";
    let started = Instant::now();
    for i in 0..5 {
        tags(&rh, &format!("INSERT INTO readings (id, v) VALUES ({}, 1000)", 100 + i)).await;
        assert_eq!(lines(&rh, totals).await, lines(&up, totals).await, "read-your-writes after insert {i}");
    }
    assert!(started.elapsed() < Duration::from_secs(30), "each read waited for a poll of its own, not the interval");
    // Without the wait (eventual consistency) the replica may lag; the upstream never does.
    rh.batch_execute("SET rhei.consistency = 'eventual'").await.unwrap();
    tags(&rh, "UPDATE readings SET v = 0, updated_at = clock_timestamp() WHERE id = 1").await;
    let point = rh.query_one("SELECT v FROM readings WHERE id = $1", &[&1i32]).await.unwrap();
    assert_eq!(point.get::<_, i32>(0), 0, "point reads are the upstream's");
    let _ = try_lines(&rh, totals).await.unwrap();
    server.stop().await;
}

/// The engine's half of forwarding: which statements rhei answers itself.
#[tokio::test]
async fn only_analytical_reads_rhei_settings_and_history_are_answered_locally() {
    use rhei::Forwarding::{Both, Local, Upstream};
    let (engine, _dir) = crate::common::engine().await;
    engine.execute_batch("CREATE TABLE t (id int PRIMARY KEY, v int, u int UNIQUE)").await.unwrap();
    let session = engine.session();
    let cases = [
        ("SELECT sum(v) FROM t", Local),
        ("WITH s AS (SELECT v, count(*) AS n FROM t GROUP BY v) SELECT max(n) FROM s", Local),
        ("SELECT * FROM rhei_replication", Local),
        ("EXPLAIN ROUTE SELECT v FROM t WHERE id = 1", Local),
        ("SELECT count(*) FROM t FOR SYSTEM_TIME ALL", Local),
        ("SET rhei.consistency = 'eventual'", Local),
        ("RESET rhei.route", Local),
        ("SHOW rhei.consistency", Local),
        ("SET TimeZone = '+02'", Both),
        ("RESET ALL", Both),
        ("DISCARD ALL", Both),
        ("LISTEN jobs", Upstream),
        ("NOTIFY jobs", Upstream),
        ("/*+ olap */ SELECT pg_notify('jobs', 'x')", Upstream),
        ("SHOW TimeZone", Upstream),
        ("SELECT v FROM t WHERE id = 1", Upstream),
        ("SELECT v FROM t WHERE u = 7", Upstream),
        ("SELECT sum(v) FROM t FOR UPDATE", Upstream),
        ("SELECT sum(x) FROM not_followed", Upstream),
        ("SELECT 1", Upstream),
        // Array values are DataFusion's rather than SQLite's, but still the upstream's.
        ("SELECT array_dims(ARRAY[1, 2])", Upstream),
        ("SELECT v, ARRAY[v] FROM t WHERE id = 1", Upstream),
        ("SELECT array_agg(v) FROM t", Local),
        // Who the session is, is the upstream connection's answer (its writes stored that).
        ("SELECT current_user, sum(v) FROM t", Upstream),
        ("SELECT sum(v) FROM t WHERE current_setting('app.tenant', true) IS NULL", Upstream),
        ("SELECT current_user, count(*) FROM t FOR SYSTEM_TIME ALL", Local),
        ("INSERT INTO t VALUES (1, 2, 3)", Upstream),
        ("UPDATE t SET v = 1", Upstream),
        ("CREATE TABLE u (id int)", Upstream),
        ("BEGIN", Upstream),
        ("COPY t FROM STDIN", Upstream),
    ];
    for (sql, expected) in cases {
        let parsed = session.parse(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
        assert_eq!(session.forwarding(&parsed[0]), expected, "{sql}");
    }
}

/// A notification the upstream sends while rhei reads its WAL position for itself (between a
/// forwarded write and a local read) is kept and relayed, not dropped with the rest of that
/// answer; and an upstream session ended under an idle client ends the client's connection
/// with the upstream's reason, rather than a silent reconnection that lost its LISTENs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upstream_notifications_are_relayed_and_a_lost_upstream_ends_the_client() {
    let pg = start_cluster();
    let up = connect(&pg.url()).await;
    let config = rhei_sidecar::postgres::upstream_config(&pg.url()).expect("upstream config");
    let mut session = rhei_sidecar::forward::UpstreamSession::connect(&config).await.expect("connect");
    session.query("LISTEN jobs").expect("queue LISTEN");
    while session.next().await.expect("LISTEN answered").is_some() {}
    up.batch_execute("NOTIFY jobs, 'while rhei reads its position'").await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    session.wal_position().await.expect("position");
    let frame = tokio::time::timeout(Duration::from_secs(5), session.unasked()).await.expect("kept, not dropped").expect("a frame");
    assert_eq!(frame.tag, b'A');

    let server = forwarding(&pg.url(), |_| {}).await;
    let (listening, mut heard) = crate::notify::listener(&server).await;
    wait_state(&listening, "streaming").await;
    listening.batch_execute("LISTEN jobs").await.unwrap();
    up.batch_execute("NOTIFY jobs, 'from the upstream'").await.unwrap();
    let heard_one = tokio::time::timeout(WAIT, heard.recv()).await.expect("relayed to the idle client").expect("open");
    assert_eq!(heard_one.payload(), "from the upstream");
    let terminated = lines(&up, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query = 'LISTEN jobs'").await;
    assert_eq!(terminated, ["t"], "the forwarding session's upstream backend, found by its last query");
    tokio::time::timeout(WAIT, async {
        while !listening.is_closed() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("the client's connection ends with its upstream session");
    server.stop().await;
}

/// The client-library scripts of `tests/clients/` (each creates its table, writes, reads back
/// with its types, runs transactions, checks SQLSTATEs), pointed at a forwarding rhei: every
/// driver's way of pipelining (asyncpg's Parse/Describe/Flush, psycopg's, node-postgres's,
/// pgjdbc's named statements) must come through, with the analytical reads answered by the replica.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn driver_scripts_pass_through_a_forwarding_rhei() {
    let pg = start_cluster();
    let server = forwarding(&pg.url(), |_| {}).await;
    wait_state(&server.client().await, "streaming").await;
    for script in ["asyncpg_client.py", "psycopg3_client.py", "psycopg2_client.py"] {
        let args = [script];
        let run = crate::clients::run_client(&server, "python3", &args, crate::clients::PIP_INSTALL);
        tokio::time::timeout(Duration::from_secs(120), run).await.unwrap_or_else(|_| panic!("{script} hung"));
    }
    let node = crate::clients::run_client(&server, "node", &["node/pg_client.js"], "run `npm ci` in tests/clients/node (or run .ci/run)");
    tokio::time::timeout(Duration::from_secs(120), node).await.expect("node-postgres hung");
    tokio::time::timeout(Duration::from_secs(180), crate::clients::run_jdbc(&server)).await.expect("the JDBC client hung");
    server.stop().await;
}
