//! The server through tokio-postgres: simple and extended protocol, parameters, binary results,
//! errors with SQLSTATEs, transaction status, session settings.

use crate::common::{Server, lines};

#[tokio::test]
async fn simple_and_extended_queries_with_parameters() {
    let server = Server::start().await;
    let client = server.client().await;
    client
        .batch_execute(
            "CREATE TABLE items (id int PRIMARY KEY, name text NOT NULL, price numeric(10,2), seen timestamptz, ok boolean);
             INSERT INTO items VALUES (1, 'apple', 1.50, '2024-01-01 00:00:00+00', true), (2, 'pear', 2.25, NULL, false);",
        )
        .await
        .unwrap();
    // Extended protocol, binary results, typed parameters.
    let row = client.query_one("SELECT id, name, ok FROM items WHERE id = $1", &[&2i32]).await.unwrap();
    assert_eq!(row.get::<_, i32>(0), 2);
    assert_eq!(row.get::<_, String>(1), "pear");
    assert!(!row.get::<_, bool>(2));
    let n = client.execute("INSERT INTO items (id, name) VALUES ($1, $2)", &[&3i32 as &(dyn tokio_postgres::types::ToSql + Sync), &"plum"]).await.unwrap();
    assert_eq!(n, 1);
    let count: i64 = client.query_one("SELECT count(*) FROM items", &[]).await.unwrap().get(0);
    assert_eq!(count, 3, "the aggregate (OLAP) sees the write just made");
    // Simple protocol, text results.
    let messages = client.simple_query("SELECT name FROM items ORDER BY id; SELECT 42").await.unwrap();
    let texts: Vec<String> = messages
        .iter()
        .filter_map(|m| match m {
            tokio_postgres::SimpleQueryMessage::Row(r) => r.get(0).map(str::to_string),
            _ => None,
        })
        .collect();
    assert_eq!(texts, vec!["apple", "pear", "plum", "42"]);
    // Literals in simple queries are lifted into cached plans; each query still means its own
    // values, on SQLite (point read), on DataFusion (aggregate) and in the system catalogs.
    let text = |messages: Vec<tokio_postgres::SimpleQueryMessage>| -> Vec<String> {
        messages
            .iter()
            .filter_map(|m| match m {
                tokio_postgres::SimpleQueryMessage::Row(r) => Some((0..r.len()).map(|i| r.get(i).unwrap_or("NULL")).collect::<Vec<_>>().join("|")),
                _ => None,
            })
            .collect()
    };
    for (id, name) in [(1, "apple"), (2, "pear"), (3, "plum")] {
        let got = text(client.simple_query(&format!("SELECT name FROM items WHERE id = {id}")).await.unwrap());
        assert_eq!(got, vec![name.to_string()]);
        let got = text(client.simple_query(&format!("SELECT count(*), sum(price) FROM items WHERE id <= {id}")).await.unwrap());
        let sums = ["1.50", "3.75", "3.75"];
        assert_eq!(got, vec![format!("{id}|{}", sums[id as usize - 1])]);
    }
    let got = text(client.simple_query("SELECT relname FROM pg_catalog.pg_class WHERE relname = 'items'").await.unwrap());
    assert_eq!(got, vec!["items"]);
    // Sync status over the wire, with a parameter (extended protocol: Describe, then Execute).
    let status = client
        .query_one("SELECT olap_rows, pending_changes FROM rhei_status WHERE table_name = $1", &[&"items"])
        .await
        .unwrap();
    let (olap_rows, pending): (i64, i64) = (status.get(0), status.get(1));
    assert_eq!(olap_rows + pending, 3, "every row of items is either in the OLAP copy or pending");
    let updated = client.execute("UPDATE items SET name = $1 WHERE id > $2", &[&"x" as &(dyn tokio_postgres::types::ToSql + Sync), &1i32]).await.unwrap();
    assert_eq!(updated, 2);
}

#[tokio::test]
async fn errors_have_sqlstates_and_the_connection_survives() {
    let server = Server::start().await;
    let client = server.client().await;
    client.batch_execute("CREATE TABLE t (id int PRIMARY KEY)").await.unwrap();
    client.batch_execute("INSERT INTO t VALUES (1)").await.unwrap();
    let code = |e: tokio_postgres::Error| e.code().map(|c| c.code().to_string());
    let err = client.batch_execute("INSERT INTO t VALUES (1)").await.unwrap_err();
    assert_eq!(code(err), Some("23505".into()));
    let err = client.query("SELECT * FROM nope", &[]).await.unwrap_err();
    assert_eq!(code(err), Some("42P01".into()));
    let err = client.batch_execute("SELEC 1").await.unwrap_err();
    assert_eq!(code(err), Some("42601".into()));
    let one: i32 = client.query_one("SELECT 1::int4", &[]).await.unwrap().get(0);
    assert_eq!(one, 1);
}

/// A unique violation's DETAIL names the key's values, as PostgreSQL's does, where the
/// statement gives them: literals, parameters, an UPDATE setting the key.
#[tokio::test]
async fn unique_violations_show_the_key_values() {
    let server = Server::start().await;
    let client = server.client().await;
    client
        .batch_execute(
            "CREATE TABLE users (id int PRIMARY KEY, email text UNIQUE, org int, handle varchar(20), UNIQUE (org, handle));
             INSERT INTO users VALUES (1, 'a@example.com', 7, 'ann'), (2, 'b@example.com', 7, 'bob')",
        )
        .await
        .unwrap();
    let detail = |e: tokio_postgres::Error| {
        let db = e.as_db_error().expect("a database error");
        assert_eq!(db.code().code(), "23505", "{db:?}");
        (db.constraint().map(str::to_string), db.detail().map(str::to_string))
    };
    let err = client.batch_execute("INSERT INTO users VALUES (1, 'c@example.com', 8, 'cy')").await.unwrap_err();
    assert_eq!(detail(err), (Some("users_pkey".into()), Some("Key (id)=(1) already exists.".into())));
    let err = client
        .execute("INSERT INTO users (id, email) VALUES ($1, $2)", &[&3i32, &"b@example.com"])
        .await
        .unwrap_err();
    assert_eq!(detail(err), (Some("users_email_key".into()), Some("Key (email)=(b@example.com) already exists.".into())));
    let err = client.execute("INSERT INTO users VALUES (4, NULL, $1, 'ann')", &[&7i32]).await.unwrap_err();
    assert_eq!(detail(err), (Some("users_org_handle_key".into()), Some("Key (org, handle)=(7, ann) already exists.".into())));
    let err = client.batch_execute("UPDATE users SET email = 'a@example.com' WHERE id = 2").await.unwrap_err();
    assert_eq!(detail(err).1, Some("Key (email)=(a@example.com) already exists.".into()));
    // Which of several rows collided the statement does not say: the DETAIL names the columns.
    let err = client.batch_execute("INSERT INTO users (id) VALUES (5), (1)").await.unwrap_err();
    assert_eq!(detail(err).0, Some("users_pkey".into()));
    // An upsert whose rows repeat a key would update one row twice: PostgreSQL refuses it.
    let err = client
        .execute(
            "INSERT INTO users (id, email) VALUES ($1, 'x@example.com'), ($1, 'y@example.com') ON CONFLICT (id) DO UPDATE SET email = excluded.email",
            &[&9i32],
        )
        .await
        .unwrap_err();
    let db = err.as_db_error().expect("a database error");
    assert_eq!((db.code().code(), db.message()), ("21000", "ON CONFLICT DO UPDATE command cannot affect row a second time"));
    assert!(db.hint().is_some_and(|h| h.starts_with("Ensure that no rows proposed")), "{db:?}");
    assert_eq!(lines(&client, "SELECT count(*) FROM users WHERE id = 9").await, ["0"]);
}

#[tokio::test]
async fn transactions_report_their_state() {
    let server = Server::start().await;
    let mut client = server.client().await;
    client.batch_execute("CREATE TABLE t (id int PRIMARY KEY)").await.unwrap();
    {
        let tx = client.transaction().await.unwrap();
        tx.execute("INSERT INTO t VALUES ($1)", &[&1i32]).await.unwrap();
        let err = tx.execute("INSERT INTO t VALUES ($1)", &[&1i32]).await.unwrap_err();
        assert_eq!(err.code().map(|c| c.code()), Some("23505"));
        let err = tx.query("SELECT 1", &[]).await.unwrap_err();
        assert_eq!(err.code().map(|c| c.code()), Some("25P02"));
        tx.rollback().await.unwrap();
    }
    let tx = client.transaction().await.unwrap();
    tx.execute("INSERT INTO t VALUES ($1)", &[&2i32]).await.unwrap();
    tx.commit().await.unwrap();
    let ids: Vec<i32> = client.query("SELECT id FROM t", &[]).await.unwrap().iter().map(|r| r.get(0)).collect();
    assert_eq!(ids, vec![2]);
}

#[tokio::test]
async fn session_settings_and_version() {
    let server = Server::start().await;
    let client = server.client().await;
    // SQL's spelling, as SQLAlchemy asks on its first connect.
    let level: String = client.query_one("SHOW TRANSACTION ISOLATION LEVEL", &[]).await.unwrap().get(0);
    assert_eq!(level, "read committed");
    let rows = client.simple_query("SHOW server_version").await.unwrap();
    let version = rows.iter().find_map(|m| match m {
        tokio_postgres::SimpleQueryMessage::Row(r) => r.get(0).map(str::to_string),
        _ => None,
    });
    assert!(version.is_some_and(|v| v.starts_with("15.") && v.contains("rhei")));
    client.batch_execute("SET application_name = 'tests'; SET rhei.route = oltp").await.unwrap();
    let err = client.batch_execute("SET rhei.route = nowhere").await.unwrap_err();
    assert_eq!(err.code().map(|c| c.code()), Some("22023"));
}

/// Session functions inside queries and writes that use tables answer the connecting client's
/// values, on either route, with PostgreSQL's column names and types (Describe too). Before,
/// `current_user` there was an unknown column (42703), `current_database()` and
/// `pg_backend_pid()` unknown functions, and `version()` DataFusion's own version.
#[tokio::test]
async fn session_functions_answer_inside_queries_and_writes() {
    let server = Server::start().await;
    let conninfo = format!("host={} port={} user=alice dbname=shop application_name=till", server.addr.ip(), server.addr.port());
    let (client, connection) = tokio_postgres::connect(&conninfo, tokio_postgres::NoTls).await.expect("connect");
    tokio::spawn(connection);
    client
        .batch_execute("CREATE TABLE log (id serial PRIMARY KEY, who text, db text, app text); INSERT INTO log (who, db, app) VALUES (current_user, current_database(), current_setting('application_name'))")
        .await
        .unwrap();
    let pid: i32 = client.query_one("SELECT pg_backend_pid()", &[]).await.unwrap().get(0);
    for route in ["oltp", "olap"] {
        client.batch_execute(&format!("SET rhei.route = {route}")).await.unwrap();
        let sql = "SELECT current_user, session_user, current_catalog, current_schema, pg_backend_pid(), version(), who, db, app FROM log WHERE who = current_user";
        let row = client.query_one(sql, &[]).await.unwrap_or_else(|e| panic!("{route}: {e:?}"));
        let names: Vec<&str> = row.columns().iter().map(|c| c.name()).collect();
        assert_eq!(names, ["current_user", "session_user", "current_catalog", "current_schema", "pg_backend_pid", "version", "who", "db", "app"], "{route}");
        let text = |i: usize| row.get::<_, String>(i);
        assert_eq!((text(0), text(1), text(2), text(3)), ("alice".into(), "alice".into(), "shop".into(), "public".into()), "{route}");
        assert_eq!(row.get::<_, i32>(4), pid, "{route}");
        assert!(text(5).starts_with("PostgreSQL 15.0 (rhei "), "{route}: {}", text(5));
        assert_eq!((text(6), text(7), text(8)), ("alice".into(), "shop".into(), "till".into()), "{route}");
    }
    // Routed as it runs: a key compared with the session's value is a key lookup.
    client.batch_execute("RESET rhei.route").await.unwrap();
    let route = lines(&client, "EXPLAIN ROUTE SELECT * FROM log WHERE id = pg_backend_pid()").await;
    assert_eq!(route, ["oltp|primary-key lookup"]);
    // Described as it runs: RETURNING items calling them are typed (they went out as text).
    let returned = client.query_one("UPDATE log SET app = app RETURNING pg_backend_pid(), who = current_user", &[]).await.unwrap();
    assert_eq!((returned.get::<_, i32>(0), returned.get::<_, bool>(1)), (pid, true));
    let updated = lines(&client, "UPDATE log SET app = current_setting('nope', true) WHERE db = current_database() RETURNING coalesce(app, 'none'), session_user").await;
    assert_eq!(updated, ["none|alice"]);
    // Unknown when a row asks, not when the statement is prepared (PostgreSQL's order).
    let asking = client.prepare("SELECT current_setting('app.tenant') FROM log").await.unwrap();
    let err = client.query(&asking, &[]).await.unwrap_err();
    assert_eq!(err.code().map(|c| c.code()), Some("42704"));
    // Another client's session sees its own user in the same statement text.
    let conninfo = format!("host={} port={} user=bob dbname=shop", server.addr.ip(), server.addr.port());
    let (bob, connection) = tokio_postgres::connect(&conninfo, tokio_postgres::NoTls).await.expect("connect");
    tokio::spawn(connection);
    assert_eq!(lines(&bob, "SELECT current_user, count(*) FROM log WHERE who <> current_user").await, ["bob|1"]);
    assert_eq!(lines(&client, "SELECT current_user, count(*) FROM log WHERE who <> current_user").await, ["alice|0"]);
}

/// Settings are transactional, as in PostgreSQL: a SET in a block that rolls back is undone,
/// SET LOCAL and `set_config(..., true)` end with the block, a SET in a block that commits
/// stays. Before, every one of them outlived its block.
#[tokio::test]
async fn settings_follow_transaction_blocks() {
    let server = Server::start().await;
    let client = server.client().await;
    let show = |name: &'static str| {
        let client = &client;
        async move { client.query_one(&format!("SHOW {name}"), &[]).await.unwrap().get::<_, String>(0) }
    };
    client.batch_execute("BEGIN; SET statement_timeout = '7s'; ROLLBACK").await.unwrap();
    assert_eq!(show("statement_timeout").await, "0");
    client.batch_execute("BEGIN; SET LOCAL statement_timeout = '7s'; SET application_name = 'kept'").await.unwrap();
    assert_eq!(show("statement_timeout").await, "7s");
    let local: String = client.query_one("SELECT set_config('TimeZone', 'Europe/Paris', true)", &[]).await.unwrap().get(0);
    assert_eq!(local, "Europe/Paris");
    assert_eq!(show("TimeZone").await, "Europe/Paris");
    client.batch_execute("COMMIT").await.unwrap();
    assert_eq!(show("statement_timeout").await, "0");
    assert_eq!(show("TimeZone").await, "UTC");
    assert_eq!(show("application_name").await, "kept");
    // Outside a block SET LOCAL does nothing; set_config(..., false) is a SET.
    client.batch_execute("SET LOCAL application_name = 'lost'").await.unwrap();
    assert_eq!(show("application_name").await, "kept");
    client.query_one("SELECT set_config('application_name', 'by set_config', false)", &[]).await.unwrap();
    assert_eq!(show("application_name").await, "by set_config");
    let err = client.query_one("SELECT set_config('no_such_setting', '1', false)", &[]).await.unwrap_err();
    assert_eq!(err.code().map(|c| c.code()), Some("42704"));
    // Outside a block a local change changes nothing but is still checked.
    let err = client.query_one("SELECT set_config('statement_timeout', 'soon', true)", &[]).await.unwrap_err();
    assert_eq!(err.code().map(|c| c.code()), Some("22023"));
    // ROLLBACK TO undoes what was SET after the savepoint, RELEASE keeps it; SET LOCAL TIME
    // ZONE ends with the block.
    client
        .batch_execute(
            "BEGIN; SET application_name = 'a'; SAVEPOINT s; SET application_name = 'b'; SET LOCAL TIME ZONE 'Asia/Tokyo'",
        )
        .await
        .unwrap();
    assert_eq!(show("TimeZone").await, "Asia/Tokyo");
    client.batch_execute("ROLLBACK TO SAVEPOINT s").await.unwrap();
    assert_eq!(show("application_name").await, "a");
    assert_eq!(show("TimeZone").await, "UTC");
    client.batch_execute("SAVEPOINT t; SET application_name = 'c'; RELEASE SAVEPOINT t; SET LOCAL TIME ZONE 'Asia/Tokyo'; COMMIT").await.unwrap();
    assert_eq!(show("application_name").await, "c");
    assert_eq!(show("TimeZone").await, "UTC");
}

/// A series in a select list or aliased in FROM, through the extended protocol (described as
/// PostgreSQL describes it: integer for integer bounds), on the engine each query routes to.
#[tokio::test]
async fn generate_series_is_described_and_runs_in_the_extended_protocol() {
    let server = Server::start().await;
    let client = server.client().await;
    let values = |rows: Vec<tokio_postgres::Row>| rows.iter().map(|r| r.get::<_, i32>(0)).collect::<Vec<_>>();
    assert_eq!(values(client.query("SELECT x FROM generate_series(1, 3) x", &[]).await.unwrap()), vec![1, 2, 3]);
    assert_eq!(values(client.query("SELECT generate_series(2, 6, 2) AS n", &[]).await.unwrap()), vec![2, 4, 6]);
    let days = client.query("SELECT d::date::text FROM generate_series(timestamp '2024-02-28', '2024-03-01', interval '1 day') d", &[]).await;
    let days: Vec<String> = days.unwrap().iter().map(|r| r.get(0)).collect();
    assert_eq!(days, vec!["2024-02-28", "2024-02-29", "2024-03-01"]);
}

/// Queries that compute intervals answer as PostgreSQL does on either engine: a key lookup
/// stays on SQLite (it went to DataFusion while SQLite had no intervals), and inside a
/// transaction block, where everything runs on SQLite, they answer too (0A000 before).
#[tokio::test]
async fn interval_values_answer_on_either_engine_and_in_a_transaction() {
    let server = Server::start().await;
    let client = server.client().await;
    client
        .batch_execute(
            "CREATE TABLE job (id int PRIMARY KEY, started timestamp, ended timestamp);
             INSERT INTO job VALUES (1, '2024-03-01 08:00', '2024-03-02 09:30')",
        )
        .await
        .unwrap();
    let sql = "SELECT (ended - started)::text FROM job WHERE id = 1 AND ended - started > interval '25 hours'";
    let route: String = client.query_one(&format!("EXPLAIN ROUTE {sql}"), &[]).await.unwrap().get(0);
    assert_eq!(route, "oltp");
    let text = |rows: Vec<tokio_postgres::Row>| rows.iter().map(|r| r.get::<_, String>(0)).collect::<Vec<_>>();
    assert_eq!(text(client.query(sql, &[]).await.unwrap()), vec!["1 day 01:30:00"]);
    assert_eq!(text(client.query(&format!("/*+ olap */ {sql}"), &[]).await.unwrap()), vec!["1 day 01:30:00"]);
    // COPY TO prints intervals in PostgreSQL's text too.
    let copy = client.copy_out("COPY (SELECT ended - started FROM job) TO STDOUT").await.unwrap();
    let chunks: Vec<bytes::Bytes> = futures::StreamExt::collect::<Vec<_>>(copy).await.into_iter().map(Result::unwrap).collect();
    assert_eq!(chunks.concat(), b"1 day 01:30:00\n");
    // What DataFusion cannot do with intervals routes to SQLite by itself (XX000 before); its
    // sum of intervals is rhei's (`olap::interval_aggregates`).
    let summed = client.query("/*+ olap */ SELECT sum(ended - started)::text FROM job", &[]).await.unwrap();
    assert_eq!(text(summed), vec!["1 day 01:30:00"]);
    for sql in [
        "SELECT (ended - started)::text FROM job WHERE ended - started IN ('25 hours 30 minutes')",
        "SELECT row_number() OVER (ORDER BY ended - started) FROM job",
    ] {
        let route: String = client.query_one(&format!("EXPLAIN ROUTE {sql}"), &[]).await.unwrap().get(0);
        assert_eq!(route, "oltp", "{sql}");
    }
    let summed = client.query("SELECT sum(ended - started)::text FROM job", &[]).await.unwrap();
    assert_eq!(text(summed), vec!["1 day 01:30:00"]);
    let listed = client.query("SELECT (ended - started)::text FROM job WHERE ended - started IN ('25 hours 30 minutes')", &[]).await.unwrap();
    assert_eq!(text(listed), vec!["1 day 01:30:00"]);
    client.batch_execute("BEGIN").await.unwrap();
    assert_eq!(text(client.query(sql, &[]).await.unwrap()), vec!["1 day 01:30:00"]);
    // An interval parameter (described as interval, as PostgreSQL describes `$1::interval`),
    // compared by length; the interval itself in binary.
    let longer = client.query("SELECT ended - started FROM job WHERE ended - started > $1::interval", &[&PgInterval { micros: 0, days: 1, months: 0 }]).await.unwrap();
    assert_eq!(longer.len(), 1);
    assert_eq!(longer[0].get::<_, PgInterval>(0), PgInterval { micros: 5_400_000_000, days: 1, months: 0 });
    client.batch_execute("ROLLBACK").await.unwrap();
}

#[tokio::test]
async fn copy_in_and_out_in_text_and_csv() {
    use futures::{SinkExt, StreamExt};
    let server = Server::start().await;
    let client = server.client().await;
    client.batch_execute("CREATE TABLE c (id int PRIMARY KEY, name text, amount numeric(8,2))").await.unwrap();

    let sink = client.copy_in("COPY c FROM STDIN").await.unwrap();
    futures::pin_mut!(sink);
    sink.send(bytes::Bytes::from_static(b"1\talpha\t1.5\n2\t\\N\t2\n")).await.unwrap();
    assert_eq!(sink.finish().await.unwrap(), 2);

    let sink = client.copy_in("COPY c (id, name) FROM STDIN WITH (FORMAT csv, HEADER true)").await.unwrap();
    futures::pin_mut!(sink);
    sink.send(bytes::Bytes::from_static(b"id,name\n3,\"x,y\"\n")).await.unwrap();
    assert_eq!(sink.finish().await.unwrap(), 1);

    // A bad row rejects the whole load.
    let sink = client.copy_in("COPY c FROM STDIN").await.unwrap();
    futures::pin_mut!(sink);
    sink.send(bytes::Bytes::from_static(b"4\tok\t1\n5\tbad\tnot-a-number\n")).await.unwrap();
    let err = sink.finish().await.unwrap_err();
    assert_eq!(err.code().map(|c| c.code()), Some("22P02"));
    let count: i64 = client.query_one("SELECT count(*) FROM c", &[]).await.unwrap().get(0);
    assert_eq!(count, 3);

    let read = |sql: &'static str| {
        let client = &client;
        async move {
            let stream = client.copy_out(sql).await.unwrap();
            futures::pin_mut!(stream);
            let mut out = Vec::new();
            while let Some(chunk) = stream.next().await {
                out.extend_from_slice(&chunk.unwrap());
            }
            String::from_utf8(out).unwrap()
        }
    };
    assert_eq!(read("COPY (SELECT id, name, amount FROM c ORDER BY id) TO STDOUT").await, "1\talpha\t1.50\n2\t\\N\t2.00\n3\tx,y\t\\N\n");
    let csv = read("COPY c TO STDOUT WITH (FORMAT csv)").await;
    let mut lines: Vec<&str> = csv.lines().collect();
    lines.sort();
    assert_eq!(lines, vec!["1,alpha,1.50", "2,,2.00", "3,\"x,y\","]);

    // HEADER writes the column names first, quoted as values are; PostgreSQL takes any boolean
    // spelling for it (`on`, `1`), and FREEZE is accepted (pgbench -i loads with it).
    assert_eq!(
        read("COPY (SELECT id, name AS \"a,b\" FROM c WHERE id = 1) TO STDOUT WITH (FORMAT csv, HEADER on)").await,
        "id,\"a,b\"\n1,alpha\n"
    );
    assert_eq!(read("COPY (SELECT id FROM c WHERE id = 1) TO STDOUT WITH (HEADER 1)").await, "id\n1\n");
    assert_eq!(read("COPY (SELECT id FROM c WHERE id = 1) TO STDOUT WITH (HEADER off)").await, "1\n");
    let sink = client.copy_in("COPY c FROM STDIN WITH (FREEZE on, FORMAT text)").await.unwrap();
    futures::pin_mut!(sink);
    sink.send(bytes::Bytes::from_static(b"6\tfrozen\t6\n")).await.unwrap();
    assert_eq!(sink.finish().await.unwrap(), 1);
}

/// A session in a named time zone: zone-less timestamptz input through COPY and through text
/// parameters is that zone's wall-clock time, COPY TO and results show the offset in force at
/// each instant, and a query that computes wall-clock time stays off DataFusion (which would
/// compute it in UTC) unless forced there.
#[tokio::test]
async fn a_named_session_time_zone_reaches_copy_parameters_and_routing() {
    let server = Server::start().await;
    let client = server.client().await;
    client.batch_execute("CREATE TABLE tz (id int PRIMARY KEY, at timestamptz); SET TimeZone = 'Europe/Paris'").await.unwrap();
    copy_rows(&client, "COPY tz FROM STDIN", b"1\t2024-01-15 00:30\n2\t2024-07-01 00:30\n").await.unwrap();
    let statement = client.prepare_typed("INSERT INTO tz VALUES (3, $1::text::timestamptz)", &[tokio_postgres::types::Type::TEXT]).await.unwrap();
    client.execute(&statement, &[&"2024-10-27 02:30"]).await.unwrap();
    let out = client.copy_out("COPY (SELECT id, at FROM tz ORDER BY id) TO STDOUT").await.unwrap();
    futures::pin_mut!(out);
    let mut text = Vec::new();
    while let Some(chunk) = futures::StreamExt::next(&mut out).await {
        text.extend_from_slice(&chunk.unwrap());
    }
    assert_eq!(
        String::from_utf8(text).unwrap(),
        "1\t2024-01-15 00:30:00+01\n2\t2024-07-01 00:30:00+02\n3\t2024-10-27 02:30:00+01\n"
    );
    let by_day = "SELECT at::date AS day, count(*) FROM tz GROUP BY 1 ORDER BY 1";
    assert_eq!(lines(&client, by_day).await, ["2024-01-15|1", "2024-07-01|1", "2024-10-27|1"]);
    let route = lines(&client, &format!("EXPLAIN ROUTE {by_day}")).await;
    assert!(route[0].starts_with("oltp|timestamptz as wall-clock time"), "{route:?}");
    // A date compared with a timestamptz is the zone's midnight; the zone's extract().
    let since = "SELECT count(*), max(extract(day FROM at)) FROM tz WHERE at >= DATE '2024-07-01'";
    assert_eq!(lines(&client, since).await, ["2|27"]);
    assert!(lines(&client, &format!("EXPLAIN ROUTE {since}")).await[0].starts_with("oltp|"));
    // The same aggregate in UTC is the OLAP engine's, and its days are UTC days.
    client.batch_execute("SET TimeZone = 'UTC'").await.unwrap();
    assert_eq!(lines(&client, by_day).await, ["2024-01-14|1", "2024-06-30|1", "2024-10-27|1"]);
    assert!(lines(&client, &format!("EXPLAIN ROUTE {by_day}")).await[0].starts_with("olap|"));
    let err = client.batch_execute("SET TimeZone = 'Mars/Olympus'").await.unwrap_err();
    assert_eq!(err.code().map(|c| c.code()), Some("22023"), "{err:?}");
}

/// COPY data is converted and loaded as it arrives, not buffered until CopyDone: rows split
/// across CopyData messages load whole; a client that has sent a few rows and waits does not
/// hold up other sessions' writes; a COPY the client abandons (CopyFail) loads nothing, fails
/// its transaction block, and leaves the writer free.
#[tokio::test]
async fn copy_data_streams_into_the_load_and_an_abandoned_copy_loads_nothing() {
    use futures::SinkExt;
    let server = Server::start().await;
    let client = server.client().await;
    let other = server.client().await;
    client.batch_execute("CREATE TABLE s (id int PRIMARY KEY, name text); CREATE TABLE w (id int)").await.unwrap();

    // 10,000 rows in 997-byte messages: rows split everywhere, the writer starts mid-stream.
    let data: Vec<u8> = (1..=10_000).flat_map(|i| format!("{i}\tname {i}\n").into_bytes()).collect();
    let sink = client.copy_in("COPY s FROM STDIN").await.unwrap();
    futures::pin_mut!(sink);
    for piece in data.chunks(997) {
        sink.send(bytes::Bytes::copy_from_slice(piece)).await.unwrap();
    }
    assert_eq!(sink.finish().await.unwrap(), 10_000);
    assert_eq!(lines(&client, "SELECT count(*), sum(id), max(name) FROM s").await, ["10000|50005000|name 9999"]);

    // A few rows sent, the COPY not ended: another session writes meanwhile. Dropping the sink
    // sends CopyFail.
    {
        let sink = client.copy_in::<_, bytes::Bytes>("COPY w FROM STDIN").await.unwrap();
        futures::pin_mut!(sink);
        sink.send(bytes::Bytes::from_static(b"1\n2\n")).await.unwrap();
        let write = other.batch_execute("INSERT INTO w VALUES (100)");
        tokio::time::timeout(std::time::Duration::from_secs(10), write).await.expect("a write during a waiting COPY").unwrap();
    }
    assert_eq!(lines(&client, "SELECT id FROM w").await, ["100"]);

    // Abandoned after the writer took rows, inside a transaction block: the block fails.
    client.batch_execute("BEGIN; INSERT INTO w VALUES (101)").await.unwrap();
    {
        let sink = client.copy_in::<_, bytes::Bytes>("COPY w FROM STDIN").await.unwrap();
        futures::pin_mut!(sink);
        let rows: Vec<u8> = (1..=9_000).flat_map(|i| format!("{i}\n").into_bytes()).collect();
        sink.send(bytes::Bytes::from(rows)).await.unwrap();
    }
    let err = client.batch_execute("INSERT INTO w VALUES (102)").await.unwrap_err();
    assert_eq!(err.code().map(|c| c.code()), Some("25P02"), "{err:?}");
    client.batch_execute("ROLLBACK").await.unwrap();
    let write = other.batch_execute("INSERT INTO w VALUES (103)");
    tokio::time::timeout(std::time::Duration::from_secs(10), write).await.expect("the writer is free again").unwrap();
    assert_eq!(lines(&client, "SELECT id FROM w ORDER BY id").await, ["100", "103"]);
    assert_eq!(lines(&client, "/*+ olap */ SELECT count(*) FROM w").await, ["2"]);
}

/// COPY into an empty table logs one whole-table reload instead of a change per row (the
/// insert trigger is set aside for the load): the OLAP copy must still end up exact, a failed
/// or rolled-back COPY must leave capture as it was, and later writes must still be captured.
#[tokio::test]
async fn bulk_copy_into_an_empty_table_keeps_capture_exact() {
    let server = Server::start().await;
    let client = server.client().await;
    client.batch_execute("CREATE TABLE b (id int PRIMARY KEY, v text); CREATE TABLE f (id int PRIMARY KEY)").await.unwrap();
    let copy = |sql: &'static str, data: &'static [u8]| copy_rows(&client, sql, data);
    let olap = |sql: &'static str| {
        let client = &client;
        async move { lines(client, &format!("/*+ olap */ {sql}")).await }
    };

    assert_eq!(copy("COPY b FROM STDIN", b"1	a
2	b
3	c
").await.unwrap(), 3);
    assert_eq!(olap("SELECT count(*), min(v), max(v) FROM b").await, ["3|a|c"]);
    // Capture is back: an insert, an update and a delete after the bulk load all arrive.
    client.batch_execute("INSERT INTO b VALUES (4, 'd'); UPDATE b SET v = 'z' WHERE id = 1; DELETE FROM b WHERE id = 2").await.unwrap();
    assert_eq!(olap("SELECT id, v FROM b ORDER BY id").await, ["1|z", "3|c", "4|d"]);
    // Into a table that has rows: the per-row path.
    assert_eq!(copy("COPY b FROM STDIN", b"5	e
").await.unwrap(), 1);
    assert_eq!(olap("SELECT count(*) FROM b").await, ["4"]);

    // A COPY that fails into an empty table leaves its insert trigger in place.
    let err = copy("COPY f FROM STDIN", b"1
2
three
").await.unwrap_err();
    assert_eq!(err.code().map(|c| c.code()), Some("22P02"), "{err:?}");
    client.batch_execute("INSERT INTO f VALUES (7)").await.unwrap();
    assert_eq!(olap("SELECT count(*), max(id) FROM f").await, ["1|7"]);

    // Rolled back inside a transaction block: nothing of it reaches the OLAP copy.
    client.batch_execute("CREATE TABLE r (id int PRIMARY KEY); BEGIN").await.unwrap();
    assert_eq!(copy("COPY r FROM STDIN", b"1
2
").await.unwrap(), 2);
    client.batch_execute("ROLLBACK; INSERT INTO r VALUES (9)").await.unwrap();
    assert_eq!(olap("SELECT count(*), max(id) FROM r").await, ["1|9"]);
}

/// COPY naming columns that leave out an integer primary key: its default where it has one,
/// else 23502 and nothing loaded, as in PostgreSQL. SQLite numbered such keys as rowids.
#[tokio::test]
async fn copy_leaving_out_an_integer_key_takes_its_default_or_fails() {
    let server = Server::start().await;
    let client = server.client().await;
    client.batch_execute("CREATE TABLE plain (id int PRIMARY KEY, v text); CREATE TABLE given (id int PRIMARY KEY DEFAULT 7, v text)").await.unwrap();
    let err = copy_rows(&client, "COPY plain (v) FROM STDIN", b"a\nb\n").await.unwrap_err();
    assert_eq!(err.code().map(|c| c.code()), Some("23502"), "{err:?}");
    assert_eq!(lines(&client, "SELECT count(*) FROM plain").await, ["0"]);
    // A NULL key given is refused too, into an empty table (the bulk load) and into one with rows.
    for row in [&b"c\t3\n"[..], &b"d\t4\n"[..]] {
        let err = copy_rows(&client, "COPY plain (id, v) FROM STDIN", b"5\ta\n\\N\tb\n").await.unwrap_err();
        assert_eq!(err.code().map(|c| c.code()), Some("23502"), "{err:?}");
        assert_eq!(copy_rows(&client, "COPY plain (v, id) FROM STDIN", row).await.unwrap(), 1);
    }
    assert_eq!(lines(&client, "SELECT id, v FROM plain ORDER BY id").await, ["3|c", "4|d"]);
    client.batch_execute("DELETE FROM plain").await.unwrap();
    assert_eq!(copy_rows(&client, "COPY given (v) FROM STDIN", b"a\n").await.unwrap(), 1);
    let err = copy_rows(&client, "COPY given (v) FROM STDIN", b"b\n").await.unwrap_err();
    assert_eq!(err.code().map(|c| c.code()), Some("23505"), "{err:?}");
    assert_eq!(lines(&client, "SELECT id, v FROM given").await, ["7|a"]);
}

async fn copy_rows(client: &tokio_postgres::Client, sql: &str, data: &'static [u8]) -> Result<u64, tokio_postgres::Error> {
    use futures::SinkExt;
    let sink = client.copy_in(sql).await?;
    futures::pin_mut!(sink);
    sink.send(bytes::Bytes::from_static(data)).await?;
    sink.finish().await
}

/// A COPY into an empty table hands its rows to the OLAP copy as the Arrow batches its
/// converter built, so the table is not read back out of SQLite: every type must arrive as
/// SQLite stored it, with the rowids SQLite gave, and writes after the COPY in the same
/// transaction must land on top of it.
#[tokio::test]
async fn a_copy_into_an_empty_table_reaches_the_olap_copy_from_its_own_batches() {
    let server = Server::start().await;
    let client = server.client().await;
    client
        .batch_execute(
            "CREATE TABLE typed (id bigint PRIMARY KEY, s smallint, r real, d double precision, n numeric(10,2), \
             vc varchar(5), c char(3), b boolean, dt date, ts timestamp, tz timestamptz, by bytea, u uuid, j jsonb); \
             CREATE TABLE keyless (v text, w int)",
        )
        .await
        .unwrap();
    let loaded = copy_rows(
        &client,
        "COPY typed FROM STDIN",
        b"1\t-3\t1.5\t2.25\t12.345\tabc\tx\tt\t2024-02-29\t2024-01-02 03:04:05.25\t2024-01-02 03:04:05+02\t\\\\x0102\ta0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11\t{\"b\": 2, \"a\": 1}\n\
          2\t\\N\t\\N\t\\N\t\\N\t\\N\t\\N\tf\t\\N\t\\N\t\\N\t\\N\t\\N\t\\N\n",
    )
    .await
    .unwrap();
    assert_eq!(loaded, 2);
    let all = "SELECT * FROM typed ORDER BY id";
    assert_eq!(lines(&client, &format!("/*+ olap */ {all}")).await, lines(&client, &format!("/*+ oltp */ {all}")).await);
    assert_eq!(server.engine.sync_status().bulk_loads, 1, "the OLAP copy read the table back instead");

    // Rowids SQLite assigned (a table without a key), then more writes in the same
    // transaction: an update, a delete and an insert after the COPY's reload entry.
    client.batch_execute("BEGIN").await.unwrap();
    copy_rows(&client, "COPY keyless FROM STDIN", b"a\t1\nb\t2\nc\t3\n").await.unwrap();
    client
        .batch_execute("UPDATE keyless SET w = 20 WHERE v = 'b'; DELETE FROM keyless WHERE v = 'a'; INSERT INTO keyless VALUES ('d', 4); COMMIT")
        .await
        .unwrap();
    let all = "SELECT v, w FROM keyless ORDER BY v";
    assert_eq!(lines(&client, &format!("/*+ olap */ {all}")).await, ["b|20", "c|3", "d|4"]);
    assert_eq!(server.engine.sync_status().bulk_loads, 2);
    client.batch_execute("UPDATE keyless SET w = w + 1").await.unwrap();
    assert_eq!(lines(&client, &format!("/*+ olap */ {all}")).await, ["b|21", "c|4", "d|5"]);
}

/// A COPY rolled back to a savepoint leaves nothing behind for the OLAP copy, and a second
/// COPY into the still empty table in the same transaction (under the same change-log
/// sequence, which SQLite gives out again) is the one that arrives.
#[tokio::test]
async fn a_copy_rolled_back_to_a_savepoint_never_reaches_the_olap_copy() {
    let server = Server::start().await;
    let client = server.client().await;
    client.batch_execute("CREATE TABLE t (id int PRIMARY KEY)").await.unwrap();
    client.batch_execute("BEGIN; SAVEPOINT s").await.unwrap();
    copy_rows(&client, "COPY t FROM STDIN", b"1\n2\n").await.unwrap();
    client.batch_execute("ROLLBACK TO SAVEPOINT s").await.unwrap();
    copy_rows(&client, "COPY t FROM STDIN", b"3\n").await.unwrap();
    client.batch_execute("COMMIT").await.unwrap();
    assert_eq!(lines(&client, "/*+ olap */ SELECT count(*), max(id) FROM t").await, ["1|3"]);
    assert_eq!(server.engine.sync_status().bulk_loads, 1);
}

/// A 20,000-row table whose four-way self-join would run for days (at 2,000 rows a timed-out
/// one kept DataFusion's threads only now and then, so a test missed it unless the machine
/// was loaded).
async fn create_big(client: &tokio_postgres::Client) {
    let rows: Vec<String> = (1..=20_000).map(|i| format!("({i})")).collect();
    client.batch_execute(&format!("CREATE TABLE big (id int PRIMARY KEY); INSERT INTO big VALUES {}", rows.join(","))).await.unwrap();
}

/// `statement_timeout` stops a long OLAP query with 57014, and the connection carries on.
#[tokio::test]
async fn statement_timeout_stops_a_long_olap_query() {
    let server = Server::start().await;
    let client = server.client().await;
    create_big(&client).await;
    client.batch_execute("SET statement_timeout = '300ms'").await.unwrap();
    let started = std::time::Instant::now();
    // 160 quadrillion joined rows: days of work without the timeout.
    let err = client.simple_query("SELECT count(*) FROM big a, big b, big c, big d WHERE a.id + b.id > c.id + d.id").await.unwrap_err();
    assert_eq!(err.code().map(|c| c.code()), Some("57014"), "{err:?}");
    assert_eq!(err.as_db_error().map(|e| e.message()), Some("canceling statement due to statement timeout"));
    assert!(started.elapsed() < std::time::Duration::from_secs(60), "the timeout did not stop the query");
    // The session carries on. Not under 300 ms: the OLAP threads run at low priority, and with
    // the whole suite running on two cores they can wait longer than that for a turn.
    client.batch_execute("SET statement_timeout = '60s'").await.unwrap();
    assert_eq!(lines(&client, "SELECT count(*) FROM big").await, ["20000"]);
    let err = client.batch_execute("SET statement_timeout = 'soon'").await.unwrap_err();
    assert_eq!(err.code().map(|c| c.code()), Some("22023"), "{err:?}");
    client.batch_execute("SET statement_timeout = 0").await.unwrap();
    assert_eq!(lines(&client, "SELECT count(*) FROM big a, big b WHERE a.id = b.id").await, ["20000"]);
}

/// On SQLite too: a read past `statement_timeout` is interrupted, which frees its reader
/// thread. More timed-out reads than there are readers, then a point read must still answer.
#[tokio::test]
async fn statement_timeout_interrupts_a_long_sqlite_read() {
    let server = Server::start().await;
    let client = server.client().await;
    create_big(&client).await;
    client.batch_execute("SET statement_timeout = '200ms'").await.unwrap();
    for _ in 0..6 {
        let err = client.simple_query("/*+ oltp */ SELECT count(*) FROM big a, big b, big c WHERE a.id + b.id > c.id").await.unwrap_err();
        assert_eq!(err.code().map(|c| c.code()), Some("57014"), "{err:?}");
    }
    // The bound is the 30 s below, not 200 ms: a loaded machine may be slow, but not that slow.
    client.batch_execute("SET statement_timeout = 0").await.unwrap();
    let read = lines(&client, "SELECT id FROM big WHERE id = 7");
    let answer = tokio::time::timeout(std::time::Duration::from_secs(30), read).await.expect("the readers are still busy with interrupted reads");
    assert_eq!(answer, ["7"]);
}

/// A CancelRequest from another connection stops a running OLAP query with 57014, and the
/// cancelled connection carries on.
#[tokio::test]
async fn cancel_request_stops_a_long_olap_query() {
    let server = Server::start().await;
    let client = server.client().await;
    create_big(&client).await;
    // 160 quadrillion joined rows: days of work unless the cancel stops it.
    let query = client.simple_query("SELECT count(*) FROM big a, big b, big c, big d WHERE a.id + b.id > c.id + d.id");
    let err = cancelled(&client, query).await.unwrap_err();
    assert_eq!(err.code().map(|c| c.code()), Some("57014"), "{err:?}");
    assert_eq!(lines(&client, "SELECT count(*) FROM big").await, ["20000"]);
}

/// `DEALLOCATE` (psycopg 3 sends `DEALLOCATE ALL` after a ROLLBACK once it has prepared
/// statements), `CLOSE ALL` and `UNLISTEN *` (asyncpg's pool reset) are answered in both
/// protocols; an unknown statement or cursor name is 26000 or 34000, as in PostgreSQL.
#[tokio::test]
async fn deallocate_close_and_unlisten() {
    let server = Server::start().await;
    let client = server.client().await;
    client.batch_execute("DEALLOCATE ALL; DEALLOCATE PREPARE ALL").await.unwrap();
    client.batch_execute("SELECT pg_advisory_unlock_all();\nCLOSE ALL;\nUNLISTEN *;\nRESET ALL;").await.unwrap();
    client.execute("UNLISTEN some_channel", &[]).await.unwrap();
    let err = client.batch_execute("CLOSE no_such_cursor").await.unwrap_err();
    assert_eq!(err.code(), Some(&tokio_postgres::error::SqlState::INVALID_CURSOR_NAME), "{err:?}");
    client.execute("DEALLOCATE ALL", &[]).await.unwrap();
    let statement = client.prepare("SELECT $1::text").await.unwrap();
    assert_eq!(client.query_one(&statement, &[&"x"]).await.unwrap().get::<_, String>(0), "x");
    for sql in ["DEALLOCATE no_such_statement", "DEALLOCATE PREPARE no_such_statement"] {
        let err = client.batch_execute(sql).await.unwrap_err();
        assert_eq!(err.code(), Some(&tokio_postgres::error::SqlState::INVALID_SQL_STATEMENT_NAME), "{err:?}");
    }
    client.batch_execute("BEGIN; SELECT * FROM no_such_table").await.unwrap_err();
    let err = client.batch_execute("DEALLOCATE ALL").await.unwrap_err();
    assert_eq!(err.code(), Some(&tokio_postgres::error::SqlState::IN_FAILED_SQL_TRANSACTION), "{err:?}");
    client.batch_execute("ROLLBACK; DEALLOCATE ALL").await.unwrap();
}

/// `DISCARD ALL`, PgBouncer's default `server_reset_query`: the next client of a pooled
/// connection finds no cursor, setting, LISTEN, advisory lock or currval of the last one.
#[tokio::test]
async fn discard_all_resets_the_session_for_the_next_pooled_client() {
    let server = Server::start().await;
    let (client, mut heard) = crate::notify::listener(&server).await;
    client
        .batch_execute(
            "CREATE SEQUENCE s; SELECT nextval('s'); SET application_name = 'last client'; LISTEN jobs;
             SET app.tenant = '7'; SET rhei.as_of = '2024-01-01 00:00:00+00';
             BEGIN; DECLARE c CURSOR WITH HOLD FOR SELECT 1; COMMIT; SELECT pg_advisory_lock(7)",
        )
        .await
        .unwrap();
    let code = |e: tokio_postgres::Error| e.code().map(|c| c.code().to_string());
    client.batch_execute("BEGIN").await.unwrap();
    assert_eq!(client.batch_execute("DISCARD ALL").await.map_err(code), Err(Some("25001".into())));
    client.batch_execute("ROLLBACK").await.unwrap();
    assert_eq!(client.simple_query("DISCARD ALL").await.unwrap().len(), 1);
    assert_eq!(lines(&client, "SHOW application_name").await, [""]);
    // Custom settings too: the next client must not read the last one's tenant, or time travel.
    assert_eq!(lines(&client, "SELECT current_setting('app.tenant'), current_setting('rhei.as_of')").await, ["|"]);
    client.batch_execute("SET rhei.as_of = '2024-01-01 00:00:00+00'; RESET rhei.as_of").await.unwrap();
    assert_eq!(client.batch_execute("FETCH c").await.map_err(code), Err(Some("34000".into())));
    assert_eq!(client.batch_execute("SELECT currval('s')").await.map_err(code), Err(Some("55000".into())));
    let other = server.client().await;
    assert_eq!(lines(&other, "SELECT pg_try_advisory_lock(7)").await, ["t"], "the lock outlived DISCARD ALL");
    other.batch_execute("NOTIFY jobs").await.unwrap();
    lines(&client, "SELECT 1").await;
    assert!(heard.try_recv().is_err(), "still listening after DISCARD ALL");
    for sql in ["DISCARD PLANS", "DISCARD SEQUENCES", "DISCARD TEMP", "DISCARD TEMPORARY"] {
        client.batch_execute(sql).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
    }
}

/// Settings a client gives when it connects (the startup packet, its `options` as libpq's
/// PGOPTIONS sends them) are the session's own defaults: RESET, RESET ALL and DISCARD ALL
/// return to them, as in PostgreSQL, not to the server's.
#[tokio::test]
async fn reset_returns_to_the_settings_given_at_connection() {
    let server = Server::start().await;
    let conninfo = format!(
        "host={} port={} user=rhei dbname=rhei application_name=startup_app options='-c TimeZone=Europe/Paris -capp.tenant=7 --statement-timeout=5s'",
        server.addr.ip(),
        server.addr.port()
    );
    let (client, connection) = tokio_postgres::connect(&conninfo, tokio_postgres::NoTls).await.expect("connect");
    tokio::spawn(connection);
    let settings = "SELECT current_setting('TimeZone'), current_setting('application_name'), current_setting('app.tenant'), current_setting('statement_timeout')";
    let given = ["Europe/Paris|startup_app|7|5s"];
    assert_eq!(lines(&client, settings).await, given);
    client.batch_execute("SET TimeZone = 'UTC'; SET application_name = 'x'; SET app.tenant = '8'; SET statement_timeout = 0").await.unwrap();
    client.batch_execute("RESET TimeZone; RESET app.tenant").await.unwrap();
    assert_eq!(lines(&client, settings).await, ["Europe/Paris|x|7|0"]);
    client.batch_execute("SET TimeZone = 'UTC'; SET app.tenant = '8'; RESET ALL").await.unwrap();
    assert_eq!(lines(&client, settings).await, given);
    client.batch_execute("SET TimeZone = 'UTC'; SET application_name = 'x'; DISCARD ALL").await.unwrap();
    assert_eq!(lines(&client, settings).await, given);
    // Another connection has the server's defaults.
    assert_eq!(lines(&server.client().await, "SELECT current_setting('TimeZone'), current_setting('statement_timeout')").await, ["UTC|0"]);
}

/// An integer or float parameter for a numeric column is cast as PostgreSQL's assignment cast
/// does (psycopg sends Python floats as float8, pandas' `to_sql` relies on it).
#[tokio::test]
async fn float_and_integer_parameters_into_numeric() {
    use tokio_postgres::types::Type;
    let server = Server::start().await;
    let client = server.client().await;
    client.batch_execute("CREATE TABLE prices (id int PRIMARY KEY, price numeric(10,2))").await.unwrap();
    let insert = client.prepare_typed("INSERT INTO prices (id, price) VALUES ($1, $2)", &[Type::INT4, Type::FLOAT8]).await.unwrap();
    client.execute(&insert, &[&1i32, &1.5f64]).await.unwrap();
    client.execute(&insert, &[&2i32, &2.255f64]).await.unwrap();
    let insert = client.prepare_typed("INSERT INTO prices (id, price) VALUES ($1, $2)", &[Type::INT4, Type::INT8]).await.unwrap();
    client.execute(&insert, &[&3i32, &7i64]).await.unwrap();
    let select = client.prepare_typed("SELECT id FROM prices WHERE price = $1", &[Type::INT2]).await.unwrap();
    assert_eq!(client.query_one(&select, &[&7i16]).await.unwrap().get::<_, i32>(0), 3);
    let rows = client.simple_query("SELECT id, price FROM prices ORDER BY id").await.unwrap();
    let got: Vec<String> = rows
        .iter()
        .filter_map(|m| match m {
            tokio_postgres::SimpleQueryMessage::Row(r) => Some(format!("{}|{}", r.get(0).unwrap(), r.get(1).unwrap())),
            _ => None,
        })
        .collect();
    assert_eq!(got, vec!["1|1.50", "2|2.26", "3|7.00"]);
}

#[tokio::test]
async fn timestamps_print_as_postgres_prints_them_in_text_and_still_decode_in_binary() {
    let server = Server::start().await;
    let client = server.client().await;
    client
        .batch_execute(
            "CREATE TABLE ts (id int PRIMARY KEY, at timestamptz, local timestamp);
             INSERT INTO ts VALUES (1, '2026-01-01 00:01:00+00', '2026-01-01 00:01:00'), (2, '2026-01-01 00:01:00.25+00', '2026-01-01 00:01:00.125'), (3, NULL, NULL);",
        )
        .await
        .unwrap();
    // PostgreSQL prints only the fractional digits that are not zero (pgwire printed six always).
    for sql in ["SELECT at, local FROM ts ORDER BY id", "SELECT at, local FROM ts WHERE id IN (1, 2, 3) ORDER BY id"] {
        let rows = lines(&client, sql).await;
        assert_eq!(rows, vec!["2026-01-01 00:01:00+00|2026-01-01 00:01:00", "2026-01-01 00:01:00.25+00|2026-01-01 00:01:00.125", "NULL|NULL"], "{sql}");
    }
    // Binary results keep the timestamp encoding.
    let row = client.query_one("SELECT at FROM ts WHERE id = $1", &[&2i32]).await.unwrap();
    let at: std::time::SystemTime = row.get(0);
    assert_eq!(at.duration_since(std::time::UNIX_EPOCH).unwrap(), std::time::Duration::from_micros(1_767_225_660_250_000));
}

#[tokio::test]
async fn floats_print_as_postgres_prints_them() {
    let server = Server::start().await;
    let client = server.client().await;
    client
        .batch_execute(
            "CREATE TABLE f (id int PRIMARY KEY, d double precision, r real);
             INSERT INTO f VALUES (1, 2, 2), (2, 1.5, 1.1), (3, 1e20, 1e-7), (4, 'Infinity', '-Infinity'), (5, NULL, NULL);",
        )
        .await
        .unwrap();
    // pgwire wrote 2.0, 1.100000023841858 (real), 100000000000000000000 and inf.
    for sql in ["SELECT d, r FROM f ORDER BY id", "SELECT d, r FROM f WHERE id IN (1, 2, 3, 4, 5) ORDER BY id"] {
        let rows = lines(&client, sql).await;
        assert_eq!(rows, vec!["2|2", "1.5|1.1", "1e+20|1e-07", "Infinity|-Infinity", "NULL|NULL"], "{sql}");
    }
    let row = client.query_one("SELECT d FROM f WHERE id = $1", &[&2i32]).await.unwrap();
    assert_eq!(row.get::<_, f64>(0), 1.5, "binary results keep the float encoding");
}

/// NOTICE and WARNING messages reach the client beside the statement's result, as PostgreSQL
/// sends them, and `client_min_messages` filters them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notices_reach_the_client() {
    use futures::StreamExt;
    let server = Server::start().await;
    let conninfo = format!("host={} port={} user=rhei dbname=rhei", server.addr.ip(), server.addr.port());
    let (client, mut connection) = tokio_postgres::connect(&conninfo, tokio_postgres::NoTls).await.expect("connect");
    let (tx, mut notices) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        let mut messages = futures::stream::poll_fn(move |cx| connection.poll_message(cx));
        while let Some(Ok(message)) = messages.next().await {
            if let tokio_postgres::AsyncMessage::Notice(notice) = message {
                let _ = tx.send((notice.severity().to_string(), notice.code().code().to_string(), notice.message().to_string()));
            }
        }
    });
    let mut next = async || tokio::time::timeout(std::time::Duration::from_secs(5), notices.recv()).await.expect("a notice").expect("open");
    client.batch_execute("DROP TABLE IF EXISTS no_such_table").await.unwrap();
    assert_eq!(next().await, ("NOTICE".into(), "00000".into(), "table \"no_such_table\" does not exist, skipping".into()));
    client.batch_execute("CREATE TABLE n (id int PRIMARY KEY)").await.unwrap();
    client.batch_execute("CREATE TABLE IF NOT EXISTS n (id int PRIMARY KEY)").await.unwrap();
    assert_eq!(next().await, ("NOTICE".into(), "42P07".into(), "relation \"n\" already exists, skipping".into()));
    client.batch_execute("BEGIN; BEGIN").await.unwrap();
    assert_eq!(next().await, ("WARNING".into(), "25001".into(), "there is already a transaction in progress".into()));
    client.batch_execute("COMMIT; COMMIT").await.unwrap();
    assert_eq!(next().await, ("WARNING".into(), "25P01".into(), "there is no transaction in progress".into()));
    // Below client_min_messages nothing is sent: the next notice is the warning after it.
    client.batch_execute("SET client_min_messages = warning; DROP TABLE IF EXISTS no_such_table; ROLLBACK").await.unwrap();
    assert_eq!(next().await.1, "25P01");
}

/// char(n) values go to the client padded to n, as PostgreSQL shows them, though rhei keeps
/// them without trailing blanks (which PostgreSQL ignores when comparing them anyway).
#[tokio::test]
async fn char_columns_are_padded_on_output() {
    let server = Server::start().await;
    let client = server.client().await;
    client.batch_execute("CREATE TABLE ch (id int PRIMARY KEY, c char(5)); INSERT INTO ch VALUES (1, 'ab'), (2, 'abc  ')").await.unwrap();
    for route in ["oltp", "olap"] {
        client.batch_execute(&format!("SET rhei.route = {route}")).await.unwrap();
        assert_eq!(lines(&client, "SELECT c, c = 'abc', length(c) FROM ch ORDER BY id").await, vec!["ab   |f|2", "abc  |t|3"], "{route}");
        let row = client.query_one("SELECT c FROM ch WHERE id = $1", &[&1i32]).await.unwrap();
        assert_eq!(row.get::<_, String>(0), "ab   ", "{route}, binary");
    }
    let mut out = Vec::new();
    let copy = client.copy_out("COPY ch TO STDOUT").await.unwrap();
    futures::pin_mut!(copy);
    while let Some(chunk) = futures::StreamExt::next(&mut copy).await {
        out.extend_from_slice(&chunk.unwrap());
    }
    assert_eq!(String::from_utf8(out).unwrap(), "1\tab   \n2\tabc  \n");
}

/// Resident memory of a process, in bytes (Linux).
fn resident_bytes(pid: u32) -> u64 {
    let statm = std::fs::read_to_string(format!("/proc/{pid}/statm")).expect("statm");
    let pages: u64 = statm.split_whitespace().nth(1).and_then(|p| p.parse().ok()).expect("resident pages");
    pages * 4096
}

/// A 10-million-row result streams: the server (a process of its own, so only its memory is
/// measured) holds a few batches of it at a time, whatever the result's size. (pgwire 0.40
/// gathered a whole extended-protocol result before sending it: 750 MB here.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ten_million_row_result_streams_in_bounded_memory() {
    use futures::StreamExt;
    use std::io::BufRead;
    let dir = tempfile::tempdir().expect("temp dir");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_sidecar_node"))
        .arg(dir.path())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("start the server process");
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().expect("stdout")).read_line(&mut line).expect("port line");
    let port: u16 = line.trim().strip_prefix("listening ").and_then(|p| p.parse().ok()).expect("listening PORT");
    let (client, connection) =
        tokio_postgres::connect(&format!("host=127.0.0.1 port={port} user=rhei dbname=rhei"), tokio_postgres::NoTls).await.expect("connect");
    tokio::spawn(connection);
    client.batch_execute("CREATE TABLE side (n bigint PRIMARY KEY)").await.unwrap();
    let values: Vec<String> = (1..=3163).map(|n| format!("({n})")).collect();
    client.batch_execute(&format!("INSERT INTO side VALUES {}", values.join(","))).await.unwrap();
    client.batch_execute("SELECT count(*) FROM side a CROSS JOIN side b WHERE a.n < 10").await.unwrap();
    let before = resident_bytes(child.id());
    // 3163 x 3163 = 10,004,569 rows of two bigints (about 250 MB on the wire), on DataFusion.
    let rows = client.query_raw("SELECT a.n, b.n FROM side a CROSS JOIN side b", std::iter::empty::<i64>()).await.unwrap();
    futures::pin_mut!(rows);
    let mut count = 0u64;
    let mut peak = before;
    while let Some(row) = rows.next().await {
        row.unwrap();
        count += 1;
        if count % 250_000 == 0 {
            peak = peak.max(resident_bytes(child.id()));
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(count, 10_004_569);
    let grown = peak.saturating_sub(before);
    assert!(grown < 100 << 20, "the server's resident memory grew by {} MB while streaming", grown >> 20);
}

/// Hundreds of clients at once, each with a query in flight, all answered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hundreds_of_concurrent_connections() {
    let server = Server::start().await;
    let setup = server.client().await;
    setup.batch_execute("CREATE TABLE hits (id int PRIMARY KEY, n int); INSERT INTO hits VALUES (1, 0)").await.unwrap();
    let mut clients = Vec::new();
    for _ in 0..300 {
        clients.push(server.client().await);
    }
    let tasks: Vec<_> = clients
        .into_iter()
        .enumerate()
        .map(|(i, client)| {
            tokio::spawn(async move {
                client.execute("UPDATE hits SET n = n + 1 WHERE id = 1", &[]).await.unwrap();
                let total: i64 = client.query_one("SELECT count(*) FROM hits", &[]).await.unwrap().get(0);
                assert_eq!(total, 1, "client {i}");
                client
            })
        })
        .collect();
    let mut kept = Vec::new();
    for task in tasks {
        kept.push(task.await.expect("client task"));
    }
    assert_eq!(lines(&setup, "SELECT n FROM hits").await, vec!["300"]);
    drop(kept);
}


#[tokio::test]
async fn json_set_returning_functions_have_postgres_column_types_whatever_the_route() {
    use tokio_postgres::types::Type;
    let server = Server::start().await;
    let client = server.client().await;
    client
        .batch_execute(r#"CREATE TABLE carts (id int PRIMARY KEY, items jsonb); INSERT INTO carts VALUES (1, '[{"sku": "a", "n": 2}, {"sku": "b", "n": 1}]'), (2, '[]')"#)
        .await
        .unwrap();
    let cases: [(&str, &[Type]); 4] = [
        ("SELECT id, jsonb_array_elements(items) FROM carts", &[Type::INT4, Type::JSONB]),
        ("SELECT c.id, i.value ->> 'sku', (i.value ->> 'n')::int FROM carts c, jsonb_array_elements(c.items) i", &[Type::INT4, Type::TEXT, Type::INT4]),
        ("SELECT key, value FROM jsonb_each_text($1::jsonb)", &[Type::TEXT, Type::TEXT]),
        ("SELECT k FROM json_object_keys('{\"a\": 1}') AS k", &[Type::TEXT]),
    ];
    // A hint or `SET rhei.route = olap` cannot send them to DataFusion, which cannot run them:
    // they stay on SQLite, as reads of sequences do.
    for route in ["auto", "olap"] {
        client.batch_execute(&format!("SET rhei.route = {route}")).await.unwrap();
        for (sql, expected) in cases {
            let statement = client.prepare(sql).await.unwrap_or_else(|e| panic!("{route}: {sql}: {e:?}"));
            let types: Vec<Type> = statement.columns().iter().map(|c| c.type_().clone()).collect();
            assert_eq!(types, expected, "{route}: {sql}");
        }
        let rows = client
            .query("SELECT sum((i.value ->> 'n')::int) FROM carts c, jsonb_array_elements(c.items) i WHERE c.id = $1", &[&1i32])
            .await
            .unwrap();
        assert_eq!(rows[0].get::<_, i64>(0), 3, "{route}");
        let rows = client.query("SELECT key, value FROM jsonb_each_text($1::jsonb) ORDER BY key", &[&r#"{"b": [1,2], "a": "x"}"#]).await.unwrap();
        let pairs: Vec<(String, String)> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
        assert_eq!(pairs, [("a".to_string(), "x".to_string()), ("b".to_string(), "[1, 2]".to_string())], "{route}");
        let route_row = client.query_one("EXPLAIN ROUTE /*+ olap */ SELECT * FROM jsonb_array_elements('[1]')", &[]).await.unwrap();
        assert_eq!(route_row.get::<_, String>(0), "oltp", "{route}");
    }
}

#[tokio::test]
async fn computed_columns_get_the_types_postgres_gives_them_on_both_engines() {
    use tokio_postgres::types::Type;
    let server = Server::start().await;
    let client = server.client().await;
    client
        .batch_execute("CREATE TABLE nums (i int PRIMARY KEY, b bigint, s smallint); INSERT INTO nums VALUES (1, 10, 2)")
        .await
        .unwrap();
    let cases: [(&str, &[Type]); 8] = [
        ("SELECT 1, -1, 2147483648, 1.5", &[Type::INT4, Type::INT4, Type::INT8, Type::NUMERIC]),
        ("SELECT i, b, s, i + b, i + 1, b + 1, s + 1, i * 2, 3 / 2 FROM nums", &[
            Type::INT4, Type::INT8, Type::INT2, Type::INT8, Type::INT4, Type::INT8, Type::INT4, Type::INT4, Type::INT4,
        ]),
        ("SELECT count(*) + 1, sum(i), sum(s), avg(i), avg(b) FROM nums", &[Type::INT8, Type::INT8, Type::INT8, Type::NUMERIC, Type::NUMERIC]),
        ("SELECT x FROM (VALUES (1), (2)) v(x)", &[Type::INT4]),
        ("SELECT 1 AS a UNION SELECT 2", &[Type::INT4]),
        ("SELECT CASE WHEN i > 0 THEN 1 ELSE 0 END, lag(i, 1) OVER (ORDER BY i) FROM nums ORDER BY 1 LIMIT 1", &[Type::INT4, Type::INT4]),
        // sum() of a bigint is numeric; coalesce() and its kin of integers and a literal an
        // integer (they were bigint: node-postgres hands int8 out as strings).
        ("SELECT sum(b), sum(count(*)) OVER (), coalesce(i, 0), coalesce(s, 0), greatest(i, 1), nullif(i, 0) FROM nums GROUP BY i, b, s", &[
            Type::NUMERIC, Type::NUMERIC, Type::INT4, Type::INT4, Type::INT4, Type::INT4,
        ]),
        // date - date counts days in an integer, date_part() is a double, ntile() an integer
        // (they were bigint, integer and bigint).
        ("SELECT DATE '2024-01-02' - DATE '2024-01-01', date_part('dow', DATE '2024-01-02'), ntile(2) OVER (ORDER BY i) FROM nums", &[
            Type::INT4, Type::FLOAT8, Type::INT4,
        ]),
    ];
    for route in ["oltp", "olap"] {
        client.batch_execute(&format!("SET rhei.route = {route}")).await.unwrap();
        for (sql, expected) in cases {
            let statement = client.prepare(sql).await.unwrap_or_else(|e| panic!("{route}: {sql}: {e:?}"));
            let types: Vec<Type> = statement.columns().iter().map(|c| c.type_().clone()).collect();
            assert_eq!(types, expected, "{route}: {sql}");
            client.query(&statement, &[]).await.unwrap_or_else(|e| panic!("{route}: {sql}: {e:?}"));
        }
    }
    // Integer arithmetic that overflows its type fails as in PostgreSQL, never wraps
    // (DataFusion's own kernels wrap: 2147483647 + 1 was -2147483648 there).
    client.batch_execute("CREATE TABLE big (a int, b int, c bigint); INSERT INTO big VALUES (2147483647, 1, 9223372036854775807)").await.unwrap();
    for route in ["oltp", "olap"] {
        client.batch_execute(&format!("SET rhei.route = {route}")).await.unwrap();
        // (On SQLite only a result column is checked against its type: the 64-bit value of
        // `a * b + a` inside sum() is not, so that one is asked of DataFusion only.)
        let inner = (route == "olap").then_some("SELECT sum(a * b + a) FROM big");
        for sql in ["SELECT a + b FROM big", "SELECT -a - b - b FROM big", "SELECT a * 2 FROM big", "SELECT c + 1 FROM big"].into_iter().chain(inner) {
            let err = client.simple_query(sql).await.expect_err(sql);
            assert_eq!(err.code().map(|c| c.code()), Some("22003"), "{route}: {sql}: {err:?}");
        }
        assert_eq!(lines(&client, "SELECT a - b, sum(a * 1) FROM big GROUP BY a - b").await, vec!["2147483646|2147483647"], "{route}");
    }
}

/// A cast column has the type it is cast to. DataFusion keeps a column's declared type through
/// `CAST`: `price::float8` was described as the column's numeric and its float sent in binary
/// as a numeric (psycopg: "bad ndigits"), `at::date` as a timestamp, `qty::text` as an int4.
#[tokio::test]
async fn a_cast_column_has_the_type_it_is_cast_to_on_both_engines() {
    use tokio_postgres::types::Type;
    let server = Server::start().await;
    let client = server.client().await;
    client
        .batch_execute(
            "CREATE TABLE items (id bigint PRIMARY KEY, price numeric(12,2), qty int, at timestamp, n numeric); \
             INSERT INTO items VALUES (1, 5.50, 10, '2026-01-01 10:00:00', 2.50)",
        )
        .await
        .unwrap();
    let sql = "SELECT price::float8, at::date, qty::text, price::text, at::text, qty::int8, qty::numeric, qty::bool, at::timestamptz, \
               id::text, price::numeric(5,1), max(at::date), 1.5::float8::text, price FROM items GROUP BY id, price, qty, at";
    let expected = [
        Type::FLOAT8, Type::DATE, Type::TEXT, Type::TEXT, Type::TEXT, Type::INT8, Type::NUMERIC, Type::BOOL, Type::TIMESTAMPTZ, Type::TEXT,
        Type::NUMERIC, Type::DATE, Type::TEXT, Type::NUMERIC,
    ];
    for route in ["oltp", "olap"] {
        client.batch_execute(&format!("SET rhei.route = {route}")).await.unwrap();
        let statement = client.prepare(sql).await.unwrap_or_else(|e| panic!("{route}: {e:?}"));
        let types: Vec<Type> = statement.columns().iter().map(|c| c.type_().clone()).collect();
        assert_eq!(types, expected, "{route}");
        assert_eq!(statement.columns()[12].name(), "text", "{route}");
        let row = client.query_one(&statement, &[]).await.unwrap_or_else(|e| panic!("{route}: {e:?}"));
        assert_eq!(row.get::<_, f64>(0), 5.5, "{route}");
        assert_eq!(row.get::<_, String>(2), "10", "{route}");
        assert_eq!(row.get::<_, String>(3), "5.50", "{route}");
        assert_eq!(row.get::<_, String>(4), "2026-01-01 10:00:00", "{route}");
        assert_eq!(row.get::<_, i64>(5), 10, "{route}");
        assert!(row.get::<_, bool>(7), "{route}");
        assert_eq!(row.get::<_, String>(9), "1", "{route}");
        assert_eq!(row.get::<_, String>(12), "1.5", "{route}");
        let text = lines(&client, &format!("/*+ {route} */ SELECT qty::numeric, at::date, price::numeric(5,1), at::timestamptz::text FROM items")).await;
        assert_eq!(text, vec!["10|2026-01-01|5.5|2026-01-01 10:00:00+00"], "{route}");
    }
}

/// The json operators' results carry PostgreSQL's types on both engines: an element of a
/// jsonb is jsonb, of a json json, `->>` and the readers' answers text or int4; psycopg and
/// asyncpg decode by these types, so a jsonb element arrives as a document, not a string.
#[tokio::test]
async fn json_operators_give_postgresqls_result_types_on_both_engines() {
    use tokio_postgres::types::Type;
    let server = Server::start().await;
    let client = server.client().await;
    client
        .batch_execute(r#"CREATE TABLE docs (id int PRIMARY KEY, body jsonb, raw json); INSERT INTO docs VALUES (1, '{"a": {"b": [1, 2]}}', '{"k": 1}')"#)
        .await
        .unwrap();
    let sql = "SELECT body, body->'a', body #> '{a,b}', raw->'k', body->>'a', jsonb_typeof(body), jsonb_array_length(body->'a'->'b'), \
               body @> '{}', '{\"x\": 1}'::jsonb, jsonb_extract_path(body, 'a') FROM docs WHERE id = 1";
    let expected = [Type::JSONB, Type::JSONB, Type::JSONB, Type::JSON, Type::TEXT, Type::TEXT, Type::INT4, Type::BOOL, Type::JSONB, Type::JSONB];
    for route in ["oltp", "olap"] {
        client.batch_execute(&format!("SET rhei.route = {route}")).await.unwrap();
        let statement = client.prepare(sql).await.unwrap_or_else(|e| panic!("{route}: {e:?}"));
        let types: Vec<Type> = statement.columns().iter().map(|c| c.type_().clone()).collect();
        assert_eq!(types, expected, "{route}");
        let row = client.query_one(&statement, &[]).await.unwrap_or_else(|e| panic!("{route}: {e:?}"));
        assert_eq!(row.get::<_, i32>(6), 2, "{route}");
        assert_eq!(row.get::<_, String>(4), r#"{"b": [1, 2]}"#, "{route}");
        assert!(row.get::<_, bool>(7), "{route}");
        let built = client
            .prepare("SELECT jsonb_build_object('id', id), json_build_array(id), to_jsonb(id), json_agg(id), jsonb_agg(body) FROM docs GROUP BY id")
            .await
            .unwrap_or_else(|e| panic!("{route}: {e:?}"));
        let types: Vec<Type> = built.columns().iter().map(|c| c.type_().clone()).collect();
        assert_eq!(types, [Type::JSONB, Type::JSON, Type::JSONB, Type::JSON, Type::JSONB], "{route}");
    }
}

/// A write that runs long on SQLite's writer stops at a CancelRequest and at statement_timeout
/// (57014), in autocommit and inside a transaction block; nothing of it stays, the writer is
/// free for other connections at once, and the connection carries on.
#[tokio::test]
async fn cancel_and_statement_timeout_stop_a_long_write() {
    let server = Server::start().await;
    let client = server.client().await;
    client.batch_execute("CREATE TABLE sink (n bigint)").await.unwrap();
    // Hundreds of millions of rows: minutes of work unless it is stopped.
    let long_insert = "INSERT INTO sink SELECT a.n * b.n FROM generate_series(1, 20000) a(n), generate_series(1, 20000) b(n)";
    let err = cancelled(&client, client.simple_query(long_insert)).await.expect_err("the write finished");
    assert_eq!(err.code().map(|c| c.code()), Some("57014"), "{err:?}");
    assert_eq!(err.as_db_error().map(|e| e.message()), Some("canceling statement due to user request"));
    let other = server.client().await;
    other.batch_execute("INSERT INTO sink VALUES (1)").await.unwrap();

    client.batch_execute("SET statement_timeout = '300ms'").await.unwrap();
    let err = client.simple_query(long_insert).await.expect_err("the write outlived its timeout");
    assert_eq!(err.as_db_error().map(|e| e.message()), Some("canceling statement due to statement timeout"));
    client.batch_execute("BEGIN; INSERT INTO sink VALUES (2)").await.unwrap();
    let err = client.simple_query(long_insert).await.expect_err("the write in a transaction outlived its timeout");
    assert_eq!(err.code().map(|c| c.code()), Some("57014"), "{err:?}");
    let err = client.simple_query("SELECT 1").await.expect_err("the failed transaction went on");
    assert_eq!(err.code().map(|c| c.code()), Some("25P02"), "{err:?}");
    client.batch_execute("ROLLBACK; RESET statement_timeout").await.unwrap();
    assert_eq!(lines(&client, "SELECT count(*), sum(n) FROM sink").await, ["1|1"]);
}

/// Awaits `work` while sending `client`'s CancelRequest every 300 ms until it ends: a cancel
/// that arrives before the statement runs cancels nothing (as in PostgreSQL), and on a loaded
/// machine the statement may take a while to start. Fails after 60 s.
async fn cancelled<T>(client: &tokio_postgres::Client, work: impl std::future::Future<Output = T>) -> T {
    let token = client.cancel_token();
    let (ended, mut ended_rx) = tokio::sync::oneshot::channel::<()>();
    let canceller = tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = &mut ended_rx => return Ok::<_, tokio_postgres::Error>(()),
                () = tokio::time::sleep(std::time::Duration::from_millis(300)) => token.cancel_query(tokio_postgres::NoTls).await?,
            }
        }
    });
    let result = tokio::time::timeout(std::time::Duration::from_secs(60), work).await.expect("the cancel did not stop the statement");
    let _ = ended.send(());
    canceller.await.unwrap().unwrap();
    result
}

/// `INSERT ... SELECT * FROM UNNEST($1::int[], ...)` with list parameters, arrays of unequal
/// lengths zipped with NULLs as PostgreSQL does.
#[tokio::test]
async fn bulk_insert_from_unnest_of_array_parameters() {
    use tokio_postgres::types::Type;
    let server = Server::start().await;
    let client = server.client().await;
    client.batch_execute("CREATE TABLE bulk (id int PRIMARY KEY, name text, big bigint, ok boolean)").await.unwrap();
    // sqlx's suggested bulk insert: one statement, one array parameter per column (42P01
    // `relation "UNNEST" does not exist` before, as writes run on SQLite).
    let insert = client.prepare("INSERT INTO bulk (id, name, big, ok) SELECT * FROM UNNEST($1::int[], $2::text[], $3::bigint[], $4::boolean[])").await.unwrap();
    assert_eq!(insert.params(), &[Type::INT4_ARRAY, Type::TEXT_ARRAY, Type::INT8_ARRAY, Type::BOOL_ARRAY]);
    let inserted = client
        .execute(&insert, &[&vec![1i32, 2, 3], &vec![Some("a"), None, Some("c")], &vec![10i64, 9_007_199_254_740_993], &vec![true, false, true]])
        .await
        .unwrap();
    assert_eq!(inserted, 3);
    let rows = client.query("SELECT id, name, big, ok FROM bulk ORDER BY id", &[]).await.unwrap();
    let read: Vec<(i32, Option<String>, Option<i64>, Option<bool>)> = rows.iter().map(|r| (r.get(0), r.get(1), r.get(2), r.get(3))).collect();
    assert_eq!(
        read,
        vec![(1, Some("a".into()), Some(10), Some(true)), (2, None, Some(9_007_199_254_740_993), Some(false)), (3, Some("c".into()), None, Some(true))]
    );
    // In a transaction block too, where everything runs on SQLite.
    client.batch_execute("BEGIN").await.unwrap();
    client.execute(&insert, &[&vec![4i32], &vec!["d"], &vec![4i64], &vec![false]]).await.unwrap();
    let count: i64 = client.query_one("SELECT count(*) FROM bulk", &[]).await.unwrap().get(0);
    client.batch_execute("COMMIT").await.unwrap();
    assert_eq!(count, 4);
}

/// A list parameter compared with = ANY or <> ALL (the idiom of tokio-postgres, sqlx,
/// node-postgres and psycopg for "one of these"), in binary and text, typed by the client or
/// inferred from the column; a NULL array matches nothing.
#[tokio::test]
async fn array_parameters_with_any_and_all() {
    use tokio_postgres::types::Type;
    let server = Server::start().await;
    let client = server.client().await;
    client
        .batch_execute("CREATE TABLE tagged (id int PRIMARY KEY, tag text); INSERT INTO tagged VALUES (1, 'red'), (2, 'blue'), (3, 'red'), (4, NULL)")
        .await
        .unwrap();
    let ids = |rows: Vec<tokio_postgres::Row>| rows.iter().map(|r| r.get::<_, i32>(0)).collect::<Vec<_>>();
    let any = client.prepare("SELECT id FROM tagged WHERE id = ANY($1) ORDER BY id").await.unwrap();
    assert_eq!(any.params(), &[Type::INT4_ARRAY]);
    assert_eq!(ids(client.query(&any, &[&vec![1i32, 3, 99]]).await.unwrap()), vec![1, 3]);
    assert_eq!(ids(client.query(&any, &[&Vec::<i32>::new()]).await.unwrap()), Vec::<i32>::new());
    assert_eq!(ids(client.query(&any, &[&None::<Vec<i32>>]).await.unwrap()), Vec::<i32>::new());
    let all = client.prepare_typed("SELECT id FROM tagged WHERE tag <> ALL($1) ORDER BY id", &[Type::TEXT_ARRAY]).await.unwrap();
    assert_eq!(ids(client.query(&all, &[&vec!["red"]]).await.unwrap()), vec![2]);
    assert_eq!(ids(client.query(&all, &[&vec![Some("red"), None]]).await.unwrap()), Vec::<i32>::new());
    // Typed only by the client, with a NULL element (decoded by the element type it was sent
    // as; this panicked a connection's thread).
    let untyped = client.prepare_typed("SELECT id FROM tagged WHERE id + 0 = ANY($1) ORDER BY id", &[Type::INT8_ARRAY]).await.unwrap();
    assert_eq!(ids(client.query(&untyped, &[&vec![Some(1i64), None, Some(4)]]).await.unwrap()), vec![1, 4]);
    // A uuid column's parameters are described as uuid and uuid[] (drivers refuse a UUID
    // value for a text parameter; asyncpg's script checks one end to end).
    client.batch_execute("CREATE TABLE keyed (id uuid PRIMARY KEY, n int); INSERT INTO keyed VALUES ('4f1c7a52-9c3e-4a8e-b5b0-2f6d1c9e8a01', 1)").await.unwrap();
    let by_key = client.prepare("SELECT n FROM keyed WHERE id = $1").await.unwrap();
    assert_eq!(by_key.params(), &[Type::UUID]);
    let by_keys = client.prepare("SELECT n FROM keyed WHERE id = ANY($1)").await.unwrap();
    assert_eq!(by_keys.params(), &[Type::UUID_ARRAY]);
    // A parameter cast to uuid in the query leaves the other columns their types (the
    // statement did not plan on DataFusion, and every column was described as text).
    let cast = client.prepare("SELECT n FROM keyed WHERE id = $1::text::uuid").await.unwrap();
    assert_eq!(cast.columns()[0].type_(), &Type::INT4);
    let row = client.query_one(&cast, &[&"4F1C7A52-9C3E-4A8E-B5B0-2F6D1C9E8A01"]).await.unwrap();
    assert_eq!(row.get::<_, i32>(0), 1);
    // Inside a transaction, and with the count an OLAP query would otherwise take.
    client.batch_execute("BEGIN").await.unwrap();
    let count = client.query_one("SELECT count(*) FROM tagged WHERE tag = ANY($1::text[])", &[&vec!["red", "blue"]]).await.unwrap();
    assert_eq!(count.get::<_, i64>(0), 3);
    client.batch_execute("COMMIT").await.unwrap();
}

/// A float parameter into a wide numeric column goes in as PostgreSQL's float-to-numeric cast
/// reads it (its shortest text), not with the digits a double's binary value has.
#[tokio::test]
async fn float_parameters_into_wide_numeric_keep_their_shortest_digits() {
    use tokio_postgres::types::Type;
    let server = Server::start().await;
    let client = server.client().await;
    client.batch_execute("CREATE TABLE wide (id int PRIMARY KEY, v numeric(65,30))").await.unwrap();
    let insert = client.prepare_typed("INSERT INTO wide VALUES ($1, $2)", &[Type::INT4, Type::FLOAT8]).await.unwrap();
    client.execute(&insert, &[&1i32, &0.1f64]).await.unwrap();
    assert_eq!(lines(&client, "SELECT v FROM wide").await, vec!["0.100000000000000000000000000000"]);
}

/// A binary numeric as text: what a driver decoding PostgreSQL's base-10000 digits shows.
struct BinaryNumeric(String);

impl<'a> tokio_postgres::types::FromSql<'a> for BinaryNumeric {
    fn from_sql(_: &tokio_postgres::types::Type, raw: &'a [u8]) -> Result<Self, Box<dyn std::error::Error + Sync + Send>> {
        let word = |i: usize| i16::from_be_bytes([raw[2 * i], raw[2 * i + 1]]);
        let (count, weight, sign, scale) = (word(0) as usize, word(1), word(2) as u16, word(3) as usize);
        if sign == 0xC000 {
            return Ok(Self("NaN".into()));
        }
        let groups: Vec<i16> = (0..count).map(|i| word(4 + i)).collect();
        let group = |at: i16| if at >= 0 && (at as usize) < groups.len() { groups[at as usize] } else { 0 };
        let mut int = String::new();
        for w in (0..=weight.max(0)).rev() {
            int.push_str(&format!("{:04}", group(weight - w)));
        }
        let int = int.trim_start_matches('0');
        let mut frac = String::new();
        for k in 1..=scale.div_ceil(4) as i16 {
            frac.push_str(&format!("{:04}", group(weight + k)));
        }
        frac.truncate(scale);
        let sign = if sign == 0x4000 { "-" } else { "" };
        let int = if int.is_empty() { "0" } else { int };
        Ok(Self(if scale == 0 { format!("{sign}{int}") } else { format!("{sign}{int}.{frac}") }))
    }
    fn accepts(ty: &tokio_postgres::types::Type) -> bool {
        *ty == tokio_postgres::types::Type::NUMERIC
    }
}

/// Numeric arithmetic in a result is exact on SQLite at PostgreSQL's scales, through the
/// extended protocol too (its describe had the planner's decimal, to whose scale the exact
/// text was cast); a select list with a wildcard and a grouped one keep their columns'
/// types and groups; text-like columns cast to text are text, unpadded.
#[tokio::test]
async fn exact_numeric_results_and_text_casts_through_the_extended_protocol() {
    use tokio_postgres::types::Type;
    let server = Server::start().await;
    let client = server.client().await;
    client
        .batch_execute(
            "CREATE TABLE lines (id int PRIMARY KEY, name text, price numeric(12,2), q int, n numeric, code char(5), u uuid); \
             INSERT INTO lines VALUES (1, 'widget', 1234567.89, 3, 1.0, 'ab', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'), \
             (2, 'gadget', 9.50, 2, 1.00, 'cd', NULL)",
        )
        .await
        .unwrap();
    client.batch_execute("SET rhei.route = oltp").await.unwrap();
    let row = client.query_one("SELECT price / q, price - n, price * q FROM lines WHERE id = $1", &[&1i32]).await.unwrap();
    let texts: Vec<String> = (0..3).map(|i| row.get::<_, BinaryNumeric>(i).0).collect();
    assert_eq!(texts, ["411522.630000000000", "1234566.89", "3703703.67"]);
    // The wildcard's columns keep their places: name is text, the product the last column.
    let row = client.query_one("SELECT *, price * q FROM lines WHERE id = $1", &[&2i32]).await.unwrap();
    assert_eq!(row.get::<_, String>(1), "gadget");
    assert_eq!(row.get::<_, BinaryNumeric>(7).0, "19.00");
    // GROUP BY 1 groups by the number: 1.0 and 1.00 are one group, as in PostgreSQL.
    assert_eq!(lines(&client, "SELECT n * 2, count(*) FROM lines GROUP BY 1").await.len(), 1);
    // ORDER BY an exact result sorts by the number (as text, 19.00 came after 1234567.89).
    assert_eq!(lines(&client, "SELECT price * 2 AS d FROM lines ORDER BY d").await, ["19.00", "2469135.78"]);
    for route in ["oltp", "olap"] {
        client.batch_execute(&format!("SET rhei.route = {route}")).await.unwrap();
        let statement = client.prepare("SELECT code::text, u::text, code, name::varchar(3), code::varchar FROM lines WHERE id = 1").await.unwrap();
        let types: Vec<Type> = statement.columns().iter().map(|c| c.type_().clone()).collect();
        // A cast to varchar is a varchar, as PostgreSQL describes it (it was text).
        assert_eq!(types, [Type::TEXT, Type::TEXT, Type::BPCHAR, Type::VARCHAR, Type::VARCHAR], "{route}");
        let row = client.query_one(&statement, &[]).await.unwrap();
        assert_eq!(row.get::<_, String>(0), "ab", "{route}");
        assert_eq!(row.get::<_, String>(2), "ab   ", "{route}");
        assert_eq!((row.get::<_, String>(3), row.get::<_, String>(4)), ("wid".into(), "ab".into()), "{route}");
        let prices = lines(&client, "SELECT price::numeric, q::numeric FROM lines ORDER BY id").await;
        assert_eq!(prices, ["1234567.89|3", "9.50|2"], "{route}");
    }
}

/// `sum` and `avg` of numeric values on SQLite (every read inside a transaction block) are
/// exact, as PostgreSQL's: SQLite's own sum adds doubles, and a ledger's total of
/// `123456789012345.67`, `0.01` and `19.99` came out as `...365.68`.
#[tokio::test]
async fn numeric_sums_and_averages_are_exact_inside_transactions() {
    let server = Server::start().await;
    let client = server.client().await;
    client
        .batch_execute(
            "CREATE TABLE ledger (id int PRIMARY KEY, v numeric(20,2), q int, region text); \
             INSERT INTO ledger VALUES (1, 123456789012345.67, 3, 'east'), (2, 0.01, 1, 'west'), (3, 19.99, 3, 'west'), (4, NULL, 2, 'east')",
        )
        .await
        .unwrap();
    client.batch_execute("BEGIN").await.unwrap();
    // Each as PostgreSQL 15 answers it.
    let sql = "SELECT sum(v), avg(v), sum(v * q), coalesce(sum(v), 0), sum(v) / count(*), avg(q) FROM ledger";
    let expected = ["123456789012365.67|41152263004121.8900|370370367037096.99|123456789012365.67|30864197253091.4175|2.2500000000000000"];
    assert_eq!(lines(&client, sql).await, expected);
    let row = client.query_one(sql, &[]).await.unwrap();
    let binary: Vec<String> = (0..6).map(|i| row.get::<_, BinaryNumeric>(i).0).collect();
    assert_eq!(binary.join("|"), expected[0]);
    // Grouped, and sorted by the total as a number (as text, 19.99 sorted after 123...).
    assert_eq!(
        lines(&client, "SELECT region, sum(v) AS total FROM ledger GROUP BY region ORDER BY total DESC").await,
        ["east|123456789012345.67", "west|20.00"]
    );
    // A running total over a window frame that lets rows go.
    assert_eq!(
        lines(&client, "SELECT id, sum(v) OVER (ORDER BY id ROWS BETWEEN 1 PRECEDING AND CURRENT ROW) FROM ledger ORDER BY id").await,
        ["1|123456789012345.67", "2|123456789012345.68", "3|20.00", "4|19.99"]
    );
    // Each as PostgreSQL 15 answers it: DISTINCT compares numbers (1.5 and 1.50 are one),
    // a COALESCE's fallback keeps its scale, a NaN leaving a window frame leaves a number.
    client
        .batch_execute("CREATE TABLE n (id int PRIMARY KEY, a numeric); INSERT INTO n VALUES (1, 1.5), (2, 1.50), (4, 1), (5, 2)")
        .await
        .unwrap();
    assert_eq!(lines(&client, "SELECT sum(DISTINCT a) FROM n WHERE id < 3").await, ["1.5"]);
    assert_eq!(lines(&client, "SELECT coalesce(sum(a), 0.00), coalesce(sum(a), 7) FROM n WHERE false").await, ["0.00|7"]);
    assert_eq!(
        lines(&client, "SELECT id, sum(a) OVER (ORDER BY id ROWS 1 PRECEDING) FROM (SELECT id, a FROM n UNION ALL SELECT 3, 'NaN'::numeric) v ORDER BY id").await,
        ["1|1.5", "2|3.00", "3|NaN", "4|NaN", "5|3"]
    );
    assert_eq!(lines(&client, "SELECT avg(id::bigint) FROM n").await, ["3.0000000000000000"]);
    // Extremes compare exactly (as doubles these two are one number) and keep their text.
    client.batch_execute("CREATE TABLE wide (id int PRIMARY KEY, v numeric(20,2)); INSERT INTO wide VALUES (1, 12345678901234567.89), (2, 12345678901234567.88)").await.unwrap();
    assert_eq!(lines(&client, "SELECT max(v), min(v), max(v::numeric) FROM wide").await, ["12345678901234567.89|12345678901234567.88|12345678901234567.89"]);
    client.batch_execute("COMMIT").await.unwrap();
}

/// WITH queries that write run before the statement that reads their RETURNING rows, all or
/// nothing, through the extended protocol too (parameters in the writes, the result described
/// before it runs); they were refused with 0A000.
#[tokio::test]
async fn with_queries_that_write_run_first_and_feed_the_statement() {
    let server = Server::start().await;
    let client = server.client().await;
    client
        .batch_execute(
            "CREATE TABLE queue (id int PRIMARY KEY, state text, price numeric(8,2)); CREATE TABLE archive (id int PRIMARY KEY, price numeric(8,2)); \
             INSERT INTO queue VALUES (1, 'new', 1.50), (2, 'new', 2.25), (3, 'done', 0.10)",
        )
        .await
        .unwrap();
    let claim = client
        .prepare("WITH next AS (UPDATE queue SET state = $1 WHERE id = (SELECT min(id) FROM queue WHERE state = 'new') RETURNING id, price) SELECT id, price FROM next")
        .await
        .unwrap();
    assert_eq!(claim.columns().iter().map(|c| c.type_().clone()).collect::<Vec<_>>(), [tokio_postgres::types::Type::INT4, tokio_postgres::types::Type::NUMERIC]);
    let row = client.query_one(&claim, &[&"running"]).await.unwrap();
    assert_eq!((row.get::<_, i32>(0), row.get::<_, BinaryNumeric>(1).0), (1, "1.50".to_string()));
    let moved = client
        .execute("WITH moved AS (DELETE FROM queue WHERE state = $1 RETURNING id, price) INSERT INTO archive SELECT id, price FROM moved", &[&"done"])
        .await
        .unwrap();
    assert_eq!(moved, 1);
    assert_eq!(lines(&client, "SELECT id, state FROM queue ORDER BY id").await, ["1|running", "2|new"]);
    // A failing statement takes back the writes before it (archive already holds id 3).
    let error = client
        .batch_execute("WITH gone AS (DELETE FROM queue RETURNING id) INSERT INTO archive SELECT 3, NULL FROM gone")
        .await
        .unwrap_err();
    assert_eq!(error.code().map(|c| c.code()), Some("23505"));
    assert_eq!(lines(&client, "SELECT count(*) FROM queue").await, ["2"]);
    // The OLAP copy follows every part.
    assert_eq!(lines(&client, "/*+ olap */ SELECT (SELECT count(*) FROM queue), (SELECT sum(price) FROM archive)").await, ["2|0.10"]);
    // One after another, the same text reading rows of another width (a cached statement
    // described the last rows' columns), a name given twice, RETURNING * of an UPDATE ... FROM
    // (every relation's columns, as PostgreSQL 15 answers).
    assert_eq!(lines(&client, "WITH d AS (UPDATE queue SET state = 'x' WHERE id = 1 RETURNING *) SELECT * FROM d").await, ["1|x|1.50"]);
    assert_eq!(lines(&client, "WITH d AS (UPDATE archive SET price = 0.20 RETURNING *) SELECT * FROM d").await, ["3|0.20"]);
    assert_eq!(lines(&client, "WITH d AS (UPDATE queue SET state = 'y' WHERE id = 2 RETURNING id, id) SELECT * FROM d").await, ["2|2"]);
    assert_eq!(
        lines(&client, "WITH d AS (UPDATE queue AS q SET price = a.price FROM archive AS a WHERE q.id = 2 RETURNING *) SELECT * FROM d").await,
        ["2|y|0.20|3|0.20"]
    );
}

/// An unconstrained `numeric` column shows each value as written, on either engine and in text
/// or binary: SQLite's exact text (it was rounded to ten places and padded: 1.5000000000), the
/// OLAP copy's decimal without the zeros its fixed scale adds.
#[tokio::test]
async fn unconstrained_numeric_values_show_as_written() {
    let server = Server::start().await;
    let client = server.client().await;
    client.batch_execute("CREATE TABLE amounts (id int PRIMARY KEY, v numeric)").await.unwrap();
    client
        .batch_execute("INSERT INTO amounts VALUES (1, '1.50'), (2, 0.123456789012345678), (3, -12345.6789), (4, 1e25), (5, NULL), (6, 7)")
        .await
        .unwrap();
    let exact = ["1|1.50", "2|0.123456789012345678", "3|-12345.6789", "4|10000000000000000000000000", "5|NULL", "6|7"];
    let sql = "SELECT id, v FROM amounts ORDER BY id";
    assert_eq!(lines(&client, &format!("/*+ oltp */ {sql}")).await, exact);
    let binary = |rows: Vec<tokio_postgres::Row>| {
        rows.iter().map(|r| format!("{}|{}", r.get::<_, i32>(0), r.get::<_, Option<BinaryNumeric>>(1).map_or("NULL".into(), |n| n.0))).collect::<Vec<_>>()
    };
    assert_eq!(binary(client.query(&format!("/*+ oltp */ {sql}"), &[]).await.unwrap()), exact);
    // The OLAP copy keeps ten fractional digits and no written scale.
    let olap = ["1|1.5", "2|0.123456789", "3|-12345.6789", "4|10000000000000000000000000", "5|NULL", "6|7"];
    assert_eq!(lines(&client, &format!("/*+ olap */ {sql}")).await, olap);
    assert_eq!(binary(client.query(&format!("/*+ olap */ {sql}"), &[]).await.unwrap()), olap);
    // A key lookup (SQLite) through a prepared statement, as drivers read a row.
    let by_key = client.query_one("SELECT v FROM amounts WHERE id = $1", &[&2i32]).await.unwrap();
    assert_eq!(by_key.get::<_, BinaryNumeric>(0).0, "0.123456789012345678");
    // RETURNING through the extended protocol, as ORMs read back what they wrote (it was
    // described as the copy's decimal and cast to ten places: 2.2500000000).
    let inserted = client.query_one("INSERT INTO amounts VALUES ($1, '2.250') RETURNING v, id", &[&7i32]).await.unwrap();
    assert_eq!(inserted.get::<_, BinaryNumeric>(0).0, "2.250");
    let updated = client.query("UPDATE amounts SET v = '3.00' WHERE id = $1 RETURNING *", &[&1i32]).await.unwrap();
    assert_eq!(binary(updated), ["1|3.00"]);
    let deleted = client.query_one("DELETE FROM amounts WHERE id = $1 RETURNING amounts.v", &[&2i32]).await.unwrap();
    assert_eq!(deleted.get::<_, BinaryNumeric>(0).0, "0.123456789012345678");
}

/// An unconstrained numeric value the OLAP copy cannot hold (past 28 integral digits, or NaN)
/// is refused when written, by every way of writing one: stored, it stopped the copy's sync,
/// and every read that waits for the copy failed (or, before that, hung) until it was gone.
#[tokio::test]
async fn unconstrained_numeric_values_the_olap_copy_cannot_hold_are_refused_on_write() {
    use futures::SinkExt;
    let server = Server::start().await;
    let client = server.client().await;
    client.batch_execute("CREATE TABLE huge (id int PRIMARY KEY, v numeric, w numeric(40,0))").await.unwrap();
    for sql in [
        "INSERT INTO huge VALUES (1, 1e30)",
        "INSERT INTO huge VALUES (1, '-12345678901234567890123456789')",
        "INSERT INTO huge SELECT 1, 1e30",
        "INSERT INTO huge (v, id) SELECT 10 ^ 29, 1",
    ] {
        let err = client.batch_execute(sql).await.unwrap_err();
        let db = err.as_db_error().unwrap_or_else(|| panic!("{sql}: {err:?}"));
        assert_eq!(db.code().code(), "22003", "{sql}: {db:?}");
        assert_eq!(db.message(), "numeric field overflow");
        assert!(db.detail().is_some_and(|d| d.contains("28 digits")), "{db:?}");
    }
    client.batch_execute("INSERT INTO huge VALUES (1, 1e27, 1e39)").await.unwrap();
    for sql in ["UPDATE huge SET v = v * 10 WHERE id = 1", "INSERT INTO huge VALUES (1, 0) ON CONFLICT (id) DO UPDATE SET v = 1e28"] {
        let err = client.batch_execute(sql).await.unwrap_err();
        assert_eq!(err.code().map(|c| c.code()), Some("22003"), "{sql}: {err:?}");
    }
    let nan = client.batch_execute("INSERT INTO huge VALUES (2, 'NaN')").await.unwrap_err();
    assert_eq!(nan.code().map(|c| c.code()), Some("0A000"), "{nan:?}");
    let sink = client.copy_in("COPY huge (id, v) FROM STDIN").await.unwrap();
    futures::pin_mut!(sink);
    sink.send(bytes::Bytes::from_static(b"3\t1\n4\t1e29\n")).await.unwrap();
    assert_eq!(sink.finish().await.unwrap_err().code().map(|c| c.code()), Some("22003"));
    // A wildcard or a GROUP BY position leaves the query as written (its items are not
    // paired with the columns by position).
    client.batch_execute("CREATE TABLE src (a int, b text); INSERT INTO src VALUES (5, 'x'), (5, 'y')").await.unwrap();
    client.batch_execute("CREATE TABLE dst (a int, b text, n numeric(4,1))").await.unwrap();
    client.batch_execute("INSERT INTO dst SELECT s.*, 1.25 FROM src s; INSERT INTO dst SELECT a, 'g', count(*) FROM src GROUP BY 1").await.unwrap();
    assert_eq!(lines(&client, "SELECT a, b, n FROM dst ORDER BY b").await, ["5|g|2.0", "5|x|1.3", "5|y|1.3"]);
    // Nothing was half-applied, and the copy keeps up: reads that wait for it answer.
    assert_eq!(lines(&client, "SELECT id, v, w FROM huge").await, ["1|1000000000000000000000000000|1000000000000000000000000000000000000000"]);
    assert_eq!(lines(&client, "/*+ olap */ SELECT count(*), sum(v) = 1e27 FROM huge").await, ["1|t"]);
}

/// Advisory locks, as migration tools take them (Prisma Migrate's `pg_advisory_lock(72707369)`,
/// Rails' `pg_try_advisory_lock`, golang-migrate's `pg_advisory_lock($1)`): exclusive across
/// connections, re-entrant, released by unlock, by the end of a transaction block (xact), and
/// by the connection ending; a blocked wait ends with statement_timeout. They did not exist
/// (42883), so those tools could not run their migrations against rhei.
#[tokio::test]
async fn advisory_locks_are_exclusive_waited_for_and_released() {
    use std::time::{Duration, Instant};

    use crate::common::try_lines;

    let server = Server::start().await;
    let a = server.client().await;
    let b = server.client().await;
    assert_eq!(lines(&a, "SELECT pg_advisory_lock(72707369)").await, [""]);
    assert_eq!(lines(&b, "SELECT pg_try_advisory_lock(72707369)").await, ["f"]);
    // Re-entrant: a second take needs a second unlock.
    assert_eq!(lines(&a, "SELECT pg_try_advisory_lock(72707369) AS again").await, ["t"]);
    assert_eq!(lines(&a, "SELECT pg_advisory_unlock(72707369)").await, ["t"]);
    assert_eq!(lines(&b, "SELECT pg_try_advisory_lock(72707369)").await, ["f"]);

    // A prepared wait (binary bigint parameter) ends when the holder unlocks.
    let b = std::sync::Arc::new(b);
    let waiter = {
        let b = b.clone();
        tokio::spawn(async move { b.query_one("SELECT pg_advisory_lock($1)", &[&72707369i64]).await.map(|_| Instant::now()) })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(!waiter.is_finished(), "pg_advisory_lock waits while another connection holds the key");
    let unlocked = Instant::now();
    assert_eq!(lines(&a, "SELECT pg_advisory_unlock(72707369)").await, ["t"]);
    let locked = waiter.await.unwrap().expect("the wait ends with the lock");
    assert!(locked >= unlocked);
    assert_eq!(lines(&a, "SELECT pg_try_advisory_lock(72707369)").await, ["f"]);
    // Unlocking a key not held is false, with PostgreSQL's warning.
    assert_eq!(lines(&a, "SELECT pg_advisory_unlock(72707369)").await, ["f"]);
    assert_eq!(lines(&b, "SELECT pg_advisory_unlock_all()").await, [""]);
    assert_eq!(lines(&a, "SELECT pg_try_advisory_lock(1, 2)").await, ["t"]);
    assert_eq!(lines(&b, "SELECT pg_try_advisory_lock(1, 2)").await, ["f"]);
    assert_eq!(lines(&b, "SELECT pg_try_advisory_lock(1, 3)").await, ["t"]);
    // A bigint key never conflicts with a pair, as in PostgreSQL: (1, 2) is not 1 << 32 | 2.
    assert_eq!(lines(&b, "SELECT pg_try_advisory_lock(4294967298)").await, ["t"]);
    let typed = b.query_one("SELECT pg_try_advisory_lock($1::bigint)", &[&77i64]).await.unwrap();
    assert!(typed.get::<_, bool>(0));
    let pair = b.query_one("SELECT pg_try_advisory_lock($1, $2)", &[&7i32, &8i32]).await.unwrap();
    assert!(pair.get::<_, bool>(0), "two int4 parameters");

    // A transaction-level lock lasts until the block ends.
    a.batch_execute("BEGIN").await.unwrap();
    assert_eq!(lines(&a, "SELECT pg_advisory_xact_lock(5)").await, [""]);
    assert_eq!(lines(&b, "SELECT pg_try_advisory_xact_lock(5)").await, ["f"]);
    a.batch_execute("COMMIT").await.unwrap();
    assert_eq!(lines(&b, "SELECT pg_try_advisory_xact_lock(5)").await, ["t"]);
    // Outside a block the statement was the transaction: nothing stays held.
    assert_eq!(lines(&a, "SELECT pg_try_advisory_lock(5)").await, ["t"]);

    // statement_timeout ends a wait, with PostgreSQL's 57014.
    b.batch_execute("SET statement_timeout = 100").await.unwrap();
    let err = try_lines(&b, "SELECT pg_advisory_lock(5)").await.unwrap_err();
    assert_eq!(err.code().map(|c| c.code()), Some("57014"), "{err:?}");
    b.batch_execute("RESET statement_timeout").await.unwrap();
    // So does a cancel.
    let cancel = b.cancel_token();
    let waiting = {
        let b = b.clone();
        tokio::spawn(async move { try_lines(&b, "SELECT pg_advisory_lock(5)").await })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    cancel.cancel_query(tokio_postgres::NoTls).await.expect("cancel request");
    let err = waiting.await.unwrap().unwrap_err();
    assert_eq!(err.code().map(|c| c.code()), Some("57014"), "{err:?}");

    // A connection that ends gives its locks up.
    drop(a);
    let started = Instant::now();
    loop {
        if lines(&b, "SELECT pg_try_advisory_lock(5)").await == ["t"] {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(10), "the ended connection's lock was never released");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let err = try_lines(&b, "SELECT pg_advisory_lock_shared(5)").await.unwrap_err();
    assert_eq!(err.code().map(|c| c.code()), Some("0A000"), "{err:?}");
}

/// SQL cursors: DECLARE in a transaction block (WITH HOLD outside one), FETCH and MOVE forward
/// in pieces, CLOSE; a cursor without HOLD ends with its block; PostgreSQL's SQLSTATEs for the
/// rest (drivers' named cursors: tests/clients).
#[tokio::test]
async fn cursors_fetch_forward_in_pieces_and_end_with_their_block() {
    let server = Server::start().await;
    let client = server.client().await;
    client.batch_execute("CREATE TABLE cur (id int PRIMARY KEY, v text); INSERT INTO cur SELECT g, 'v' || g FROM generate_series(1, 10) g").await.unwrap();
    let code = |e: tokio_postgres::Error| e.code().map(|c| c.code().to_string());
    let tag = |messages: Vec<tokio_postgres::SimpleQueryMessage>| {
        messages.into_iter().find_map(|m| match m {
            tokio_postgres::SimpleQueryMessage::CommandComplete(n) => Some(n),
            _ => None,
        })
    };
    assert_eq!(code(client.simple_query("DECLARE c CURSOR FOR SELECT 1").await.unwrap_err()).as_deref(), Some("25P01"));
    // Outside a block (WITH HOLD) the cursor's query runs on either engine.
    for route in ["oltp", "olap"] {
        client.batch_execute(&format!("SET rhei.route = {route}; DECLARE c CURSOR WITH HOLD FOR SELECT id, v FROM cur ORDER BY id")).await.unwrap();
        assert_eq!(lines(&client, "FETCH 3 FROM c").await, ["1|v1", "2|v2", "3|v3"], "{route}");
        assert_eq!(tag(client.simple_query("MOVE FORWARD 4 IN c").await.unwrap()), Some(4), "{route}");
        assert_eq!(lines(&client, "FETCH NEXT FROM c").await, ["8|v8"], "{route}");
        assert_eq!(lines(&client, "FETCH ALL FROM c").await, ["9|v9", "10|v10"], "{route}");
        assert!(lines(&client, "FETCH c").await.is_empty(), "{route}");
        assert_eq!(code(client.simple_query("DECLARE c CURSOR WITH HOLD FOR SELECT 1").await.unwrap_err()).as_deref(), Some("42P03"));
        client.batch_execute("CLOSE c; SET rhei.route = auto").await.unwrap();
    }
    // The extended protocol describes a FETCH by the cursor's columns.
    client.batch_execute("BEGIN; DECLARE c CURSOR FOR SELECT id, v FROM cur WHERE id > 8 ORDER BY id").await.unwrap();
    let rows = client.query("FETCH 5 FROM c", &[]).await.unwrap();
    assert_eq!(rows.iter().map(|r| (r.get::<_, i32>(0), r.get::<_, String>(1))).collect::<Vec<_>>(), [(9, "v9".into()), (10, "v10".into())]);
    assert_eq!(code(client.simple_query("FETCH PRIOR FROM c").await.unwrap_err()).as_deref(), Some("55000"));
    client.batch_execute("ROLLBACK").await.unwrap();
    // Without HOLD a cursor ends with its block; WITH HOLD it outlives it, until CLOSE.
    client.batch_execute("BEGIN; DECLARE gone CURSOR FOR SELECT 1; DECLARE kept CURSOR WITH HOLD FOR SELECT id FROM cur ORDER BY id; COMMIT").await.unwrap();
    assert_eq!(code(client.simple_query("FETCH 1 FROM gone").await.unwrap_err()).as_deref(), Some("34000"));
    assert_eq!(lines(&client, "FETCH 2 FROM kept").await, ["1", "2"]);
    assert_eq!(tag(client.simple_query("CLOSE kept").await.unwrap()), Some(0));
    assert_eq!(code(client.simple_query("CLOSE kept").await.unwrap_err()).as_deref(), Some("34000"));
    client.batch_execute("DECLARE a CURSOR WITH HOLD FOR SELECT 1; CLOSE ALL").await.unwrap();
    assert_eq!(code(client.simple_query("FETCH a").await.unwrap_err()).as_deref(), Some("34000"));
    // A held cursor of a block that rolls back goes with it: its rows were the block's.
    client.batch_execute("BEGIN; INSERT INTO cur VALUES (42, 'undone'); DECLARE h CURSOR WITH HOLD FOR SELECT id FROM cur WHERE id = 42; ROLLBACK").await.unwrap();
    assert_eq!(code(client.simple_query("FETCH ALL h").await.unwrap_err()).as_deref(), Some("34000"));
    // ROLLBACK TO a savepoint ends the cursors declared after it; RELEASE keeps them.
    client.batch_execute("BEGIN; DECLARE before CURSOR FOR SELECT 1; SAVEPOINT s; DECLARE after CURSOR FOR SELECT 2; ROLLBACK TO s").await.unwrap();
    assert_eq!(lines(&client, "FETCH before").await, ["1"]);
    assert_eq!(code(client.simple_query("FETCH after").await.unwrap_err()).as_deref(), Some("34000"));
    client.batch_execute("ROLLBACK; BEGIN; SAVEPOINT s; DECLARE kept CURSOR FOR SELECT 3; RELEASE s; SAVEPOINT t; ROLLBACK TO t").await.unwrap();
    assert_eq!(lines(&client, "FETCH kept").await, ["3"]);
    client.batch_execute("ROLLBACK").await.unwrap();
    // FETCH 0 refetches the current row: nothing before the first, 55000 after (no SCROLL).
    client.batch_execute("DECLARE z CURSOR WITH HOLD FOR SELECT id FROM cur ORDER BY id").await.unwrap();
    assert!(lines(&client, "FETCH 0 FROM z").await.is_empty());
    assert_eq!(lines(&client, "FETCH 1 FROM z").await, ["1"]);
    assert_eq!(code(client.simple_query("FETCH 0 FROM z").await.unwrap_err()).as_deref(), Some("55000"));
    assert_eq!(lines(&client, "FETCH 1 FROM z").await, ["2"]);
    assert_eq!(code(client.simple_query("DECLARE b BINARY CURSOR WITH HOLD FOR SELECT 1").await.unwrap_err()).as_deref(), Some("0A000"));
}

/// `txid_current()` (outbox tables, Debezium's heartbeat): one ID for a whole transaction
/// block, a new one for each statement outside one, always growing; int8 on the wire, through
/// the extended protocol too.
#[tokio::test]
async fn transaction_ids_hold_for_a_block_and_grow() {
    let server = Server::start().await;
    let client = server.client().await;
    let id = |row: tokio_postgres::Row| row.get::<_, Option<i64>>(0);
    client.batch_execute("BEGIN").await.unwrap();
    assert_eq!(id(client.query_one("SELECT txid_current_if_assigned()", &[]).await.unwrap()), None, "none asked for yet");
    let block = id(client.query_one("SELECT txid_current()", &[]).await.unwrap()).expect("an ID");
    assert_eq!(id(client.query_one("SELECT pg_current_xact_id() AS x", &[]).await.unwrap()), Some(block));
    assert_eq!(id(client.query_one("SELECT txid_current_if_assigned()", &[]).await.unwrap()), Some(block));
    client.batch_execute("COMMIT").await.unwrap();
    let after = id(client.query_one("SELECT txid_current()", &[]).await.unwrap()).expect("an ID");
    let next = id(client.query_one("SELECT txid_current()", &[]).await.unwrap()).expect("an ID");
    assert!(block < after && after < next, "{block} < {after} < {next}");
    assert_eq!(id(client.query_one("SELECT txid_current_if_assigned()", &[]).await.unwrap()), None, "a statement alone has none");
    let statement = client.prepare("SELECT txid_current()").await.unwrap();
    assert_eq!(statement.columns()[0].type_(), &tokio_postgres::types::Type::INT8);
}

/// Enum types through a driver that introspects an unknown type OID (tokio-postgres asks
/// pg_type and pg_enum, in binary, before it can describe the column): the column is the
/// type's own OID, an enum of its labels, read as text in either format, on either engine.
#[tokio::test]
async fn enum_columns_are_described_as_their_type_and_read_by_tokio_postgres() {
    let server = Server::start().await;
    let client = server.client().await;
    client
        .batch_execute(
            "CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
             CREATE TABLE feelings (id int PRIMARY KEY, m mood);
             INSERT INTO feelings VALUES (1, 'happy'), (2, 'sad'), (3, NULL)",
        )
        .await
        .unwrap();
    for route in ["oltp", "olap"] {
        client.batch_execute(&format!("SET rhei.route = {route}")).await.unwrap();
        let statement = client.prepare("SELECT id, m FROM feelings ORDER BY m").await.unwrap_or_else(|e| panic!("{route}: {e:?}"));
        let ty = statement.columns()[1].type_();
        assert_eq!((ty.name(), ty.schema()), ("mood", "public"), "{route}");
        assert_eq!(*ty.kind(), tokio_postgres::types::Kind::Enum(vec!["sad".into(), "ok".into(), "happy".into()]), "{route}");
        let rows = client.query(&statement, &[]).await.unwrap();
        let got: Vec<(i32, Option<String>)> = rows.iter().map(|r| (r.get(0), r.get::<_, Option<Text>>(1).map(|t| t.0))).collect();
        assert_eq!(got, [(2, Some("sad".into())), (1, Some("happy".into())), (3, None)], "{route}");
        // A cast to text is text (DataFusion kept the column's type on it).
        let text = client.query_one("SELECT m::text FROM feelings WHERE id = 1", &[]).await.unwrap_or_else(|e| panic!("{route}: {e:?}"));
        assert_eq!((text.columns()[0].type_(), text.get::<_, String>(0)), (&tokio_postgres::types::Type::TEXT, "happy".into()), "{route}");
    }
    // Catalog columns are oid and "char" as in PostgreSQL, and what is computed from them is not.
    let row = client
        .query_one("SELECT c.oid, c.relkind, c.oid::int8 AS big, c.relkind::text AS kind FROM pg_class c WHERE c.relname = 'feelings'", &[])
        .await
        .unwrap();
    let types: Vec<&str> = row.columns().iter().map(|c| c.type_().name()).collect();
    assert_eq!(types, ["oid", "char", "int8", "text"]);
    assert_eq!((row.get::<_, i8>(1), row.get::<_, String>(3)), (b'r' as i8, "r".to_string()));
    assert_eq!(i64::from(row.get::<_, u32>(0)), row.get::<_, i64>(2));
    // A parameter compared with the column is text to the client, and its label is checked.
    let ok = client.query("SELECT id FROM feelings WHERE m = $1", &[&"happy"]).await.unwrap();
    assert_eq!(ok.len(), 1);
    let bad = client.query("INSERT INTO feelings VALUES (4, $1)", &[&"meh"]).await.unwrap_err();
    assert_eq!(bad.code().map(|c| c.code()), Some("22P02"), "{bad:?}");
}

/// A string read from a value of any type that sends its text (an enum's binary form is its
/// label's bytes).
struct Text(String);

impl<'a> tokio_postgres::types::FromSql<'a> for Text {
    fn from_sql(_: &tokio_postgres::types::Type, raw: &'a [u8]) -> Result<Self, Box<dyn std::error::Error + Sync + Send>> {
        Ok(Text(std::str::from_utf8(raw)?.to_string()))
    }

    fn accepts(_: &tokio_postgres::types::Type) -> bool {
        true
    }
}

/// A `time` in PostgreSQL's binary form: microseconds since midnight, 8 bytes big-endian.
#[derive(Debug, PartialEq)]
struct TimeOfDay(i64);

impl<'a> tokio_postgres::types::FromSql<'a> for TimeOfDay {
    fn from_sql(_: &tokio_postgres::types::Type, raw: &'a [u8]) -> Result<Self, Box<dyn std::error::Error + Sync + Send>> {
        Ok(TimeOfDay(i64::from_be_bytes(raw.try_into()?)))
    }

    fn accepts(ty: &tokio_postgres::types::Type) -> bool {
        *ty == tokio_postgres::types::Type::TIME
    }
}

impl tokio_postgres::types::ToSql for TimeOfDay {
    fn to_sql(&self, _: &tokio_postgres::types::Type, out: &mut bytes::BytesMut) -> Result<tokio_postgres::types::IsNull, Box<dyn std::error::Error + Sync + Send>> {
        out.extend_from_slice(&self.0.to_be_bytes());
        Ok(tokio_postgres::types::IsNull::No)
    }

    fn accepts(ty: &tokio_postgres::types::Type) -> bool {
        *ty == tokio_postgres::types::Type::TIME
    }

    tokio_postgres::types::to_sql_checked!();
}

/// An `interval` in PostgreSQL's binary form: microseconds (8 bytes), days, months (4 each).
#[derive(Debug, PartialEq)]
struct PgInterval {
    micros: i64,
    days: i32,
    months: i32,
}

impl<'a> tokio_postgres::types::FromSql<'a> for PgInterval {
    fn from_sql(_: &tokio_postgres::types::Type, raw: &'a [u8]) -> Result<Self, Box<dyn std::error::Error + Sync + Send>> {
        let (micros, rest) = raw.split_at_checked(8).ok_or("short interval")?;
        let (days, months) = rest.split_at_checked(4).ok_or("short interval")?;
        Ok(PgInterval { micros: i64::from_be_bytes(micros.try_into()?), days: i32::from_be_bytes(days.try_into()?), months: i32::from_be_bytes(months.try_into()?) })
    }

    fn accepts(ty: &tokio_postgres::types::Type) -> bool {
        *ty == tokio_postgres::types::Type::INTERVAL
    }
}

impl tokio_postgres::types::ToSql for PgInterval {
    fn to_sql(&self, _: &tokio_postgres::types::Type, out: &mut bytes::BytesMut) -> Result<tokio_postgres::types::IsNull, Box<dyn std::error::Error + Sync + Send>> {
        out.extend_from_slice(&self.micros.to_be_bytes());
        out.extend_from_slice(&self.days.to_be_bytes());
        out.extend_from_slice(&self.months.to_be_bytes());
        Ok(tokio_postgres::types::IsNull::No)
    }

    fn accepts(ty: &tokio_postgres::types::Type) -> bool {
        *ty == tokio_postgres::types::Type::INTERVAL
    }

    tokio_postgres::types::to_sql_checked!();
}

/// `interval` columns on the wire: described as interval (OID 1186), read and written in
/// binary as microseconds, days and months, compared with a binary parameter by length on
/// either engine (`1 mon` is longer than `25 hours`), and as text parameters too.
#[tokio::test]
async fn interval_columns_travel_in_binary_as_their_fields() {
    let server = Server::start().await;
    let client = server.client().await;
    client.batch_execute("CREATE TABLE waits (id int PRIMARY KEY, took interval)").await.unwrap();
    let day_and_a_half = PgInterval { micros: 12 * 3_600_000_000, days: 1, months: 0 };
    client.execute("INSERT INTO waits VALUES (1, $1), (2, '25 hours'), (3, NULL), (4, '1 mon')", &[&day_and_a_half]).await.unwrap();
    client.execute("INSERT INTO waits VALUES (5, $1::text::interval)", &[&"-2 hours 30 minutes"]).await.unwrap();
    for route in ["oltp", "olap"] {
        client.batch_execute(&format!("SET rhei.route = {route}")).await.unwrap();
        let statement = client.prepare("SELECT id, took FROM waits WHERE took >= $1 ORDER BY took DESC").await.unwrap_or_else(|e| panic!("{route}: {e:?}"));
        assert_eq!(statement.params(), [tokio_postgres::types::Type::INTERVAL], "{route}");
        assert_eq!(statement.columns()[1].type_(), &tokio_postgres::types::Type::INTERVAL, "{route}");
        let rows = client.query(&statement, &[&PgInterval { micros: 25 * 3_600_000_000, days: 0, months: 0 }]).await.unwrap_or_else(|e| panic!("{route}: {e:?}"));
        let got: Vec<(i32, PgInterval)> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
        assert_eq!(
            got,
            [(4, PgInterval { micros: 0, days: 0, months: 1 }), (1, PgInterval { micros: 12 * 3_600_000_000, days: 1, months: 0 }), (2, PgInterval { micros: 25 * 3_600_000_000, days: 0, months: 0 })],
            "{route}"
        );
        let text: Vec<String> = client.query("SELECT took::text FROM waits WHERE took < $1::text::interval ORDER BY id", &[&"1 hour"]).await.unwrap().iter().map(|r| r.get(0)).collect();
        assert_eq!(text, ["-01:30:00"], "{route}");
    }
    // IntervalStyle iso_8601, which Rails sets on every connection and parses its intervals in.
    client.batch_execute("SET IntervalStyle = iso_8601").await.unwrap();
    for route in ["oltp", "olap"] {
        let rows = client.simple_query(&format!("/*+ {route} */ SELECT took FROM waits WHERE id IN (1, 2, 4, 5) ORDER BY id")).await.unwrap();
        let texts: Vec<String> = rows.iter().filter_map(|m| match m {
            tokio_postgres::SimpleQueryMessage::Row(r) => r.get(0).map(str::to_string),
            _ => None,
        }).collect();
        assert_eq!(texts, ["P1DT12H", "PT25H", "P1M", "PT-1H-30M"], "{route}");
    }
    client.batch_execute("RESET IntervalStyle").await.unwrap();
    // A number scaling an interval is a double precision parameter, as PostgreSQL types it.
    let scaled = client.prepare("SELECT took * $1 FROM waits WHERE id = 2").await.unwrap();
    assert_eq!(scaled.params(), [tokio_postgres::types::Type::FLOAT8]);
    let doubled: PgInterval = client.query_one(&scaled, &[&2.0f64]).await.unwrap().get(0);
    assert_eq!(doubled, PgInterval { micros: 50 * 3_600_000_000, days: 0, months: 0 });
    // COPY in reads PostgreSQL's input forms and stores its text; COPY out writes that text.
    let sink = client.copy_in("COPY waits FROM STDIN").await.unwrap();
    futures::pin_mut!(sink);
    futures::SinkExt::send(&mut sink, bytes::Bytes::from_static(b"6\t90 minutes\n7\t@ 2 days ago\n")).await.unwrap();
    assert_eq!(sink.finish().await.unwrap(), 2);
    let copy = client.copy_out("COPY (SELECT id, took FROM waits WHERE id >= 6 ORDER BY id) TO STDOUT").await.unwrap();
    let chunks: Vec<bytes::Bytes> = futures::StreamExt::collect::<Vec<_>>(copy).await.into_iter().map(Result::unwrap).collect();
    assert_eq!(chunks.concat(), b"6\t01:30:00\n7\t-2 days\n");
    let bad = client.copy_in::<_, bytes::Bytes>("COPY waits FROM STDIN").await.unwrap();
    futures::pin_mut!(bad);
    futures::SinkExt::send(&mut bad, bytes::Bytes::from_static(b"8\tsoon\n")).await.unwrap();
    let error = bad.finish().await.unwrap_err();
    assert_eq!(error.code().map(|c| c.code()), Some("22007"), "{error:?}");
}

/// Array columns on the wire: described as their array types (`_text`, `_int4`, `_varchar`),
/// written with binary array parameters and read back in binary, on either engine, searched
/// with `= ANY` and `@>` parameters; COPY in reads PostgreSQL's array text and COPY out writes
/// it; a malformed array is 22P02.
#[tokio::test]
async fn array_columns_travel_in_binary_as_arrays() {
    use tokio_postgres::types::Type;
    let server = Server::start().await;
    let client = server.client().await;
    client.batch_execute("CREATE TABLE posts (id int PRIMARY KEY, tags text[], scores int4[], names varchar(5)[])").await.unwrap();
    let insert = client.prepare("INSERT INTO posts VALUES ($1, $2, $3, $4)").await.unwrap();
    assert_eq!(insert.params(), [Type::INT4, Type::TEXT_ARRAY, Type::INT4_ARRAY, Type::TEXT_ARRAY]);
    let tags = vec![Some("a b".to_string()), None, Some("{c}".to_string())];
    client.execute(&insert, &[&1i32, &tags, &vec![Some(3i32), None], &vec!["ann"]]).await.unwrap();
    client.execute(&insert, &[&2i32, &Vec::<String>::new(), &Option::<Vec<i32>>::None, &vec!["bob", "cy"]]).await.unwrap();
    for route in ["oltp", "olap"] {
        client.batch_execute(&format!("SET rhei.route = {route}")).await.unwrap();
        let select = client.prepare("SELECT id, tags, scores, names FROM posts WHERE $1 = ANY (names) OR tags @> $2 ORDER BY id").await.unwrap_or_else(|e| panic!("{route}: {e:?}"));
        let types: Vec<&Type> = select.columns().iter().map(|c| c.type_()).collect();
        assert_eq!(types, [&Type::INT4, &Type::TEXT_ARRAY, &Type::INT4_ARRAY, &Type::VARCHAR_ARRAY], "{route}");
        let rows = client.query(&select, &[&"cy", &vec!["a b"]]).await.unwrap_or_else(|e| panic!("{route}: {e:?}"));
        let got: Vec<(i32, Vec<Option<String>>, Option<Vec<Option<i32>>>, Vec<String>)> = rows.iter().map(|r| (r.get(0), r.get(1), r.get(2), r.get(3))).collect();
        assert_eq!(
            got,
            [(1, tags.clone(), Some(vec![Some(3), None]), vec!["ann".to_string()]), (2, vec![], None, vec!["bob".to_string(), "cy".to_string()])],
            "{route}"
        );
    }
    let sink = client.copy_in("COPY posts FROM STDIN").await.unwrap();
    futures::pin_mut!(sink);
    futures::SinkExt::send(&mut sink, bytes::Bytes::from_static(b"3\t{x,\"y z\",NULL}\t{1,2}\t\\N\n")).await.unwrap();
    assert_eq!(sink.finish().await.unwrap(), 1);
    let copy = client.copy_out("COPY (SELECT id, tags, scores, names FROM posts ORDER BY id) TO STDOUT").await.unwrap();
    let chunks: Vec<bytes::Bytes> = futures::StreamExt::collect::<Vec<_>>(copy).await.into_iter().map(Result::unwrap).collect();
    assert_eq!(String::from_utf8(chunks.concat()).unwrap(), "1\t{\"a b\",NULL,\"{c}\"}\t{3,NULL}\t{ann}\n2\t{}\t\\N\t{bob,cy}\n3\t{x,\"y z\",NULL}\t{1,2}\t\\N\n");
    let bad = client.copy_in::<_, bytes::Bytes>("COPY posts FROM STDIN").await.unwrap();
    futures::pin_mut!(bad);
    futures::SinkExt::send(&mut bad, bytes::Bytes::from_static(b"4\t{a\t{1}\t\\N\n")).await.unwrap();
    let error = bad.finish().await.unwrap_err();
    assert_eq!(error.code().map(|c| c.code()), Some("22P02"), "{error:?}");
}

/// `time` columns on the wire: described as time (OID 1083), read and written in binary as
/// microseconds since midnight, compared with a binary parameter, on either engine; a binary
/// value past 24:00:00 is refused (22P03).
#[tokio::test]
async fn time_columns_travel_in_binary_as_microseconds() {
    let server = Server::start().await;
    let client = server.client().await;
    client.batch_execute("CREATE TABLE slots (id int PRIMARY KEY, at time)").await.unwrap();
    let half_past_noon = TimeOfDay(45_000_000_000);
    client.execute("INSERT INTO slots VALUES (1, $1), (2, '08:15:30.25'), (3, NULL)", &[&half_past_noon]).await.unwrap();
    for route in ["oltp", "olap"] {
        client.batch_execute(&format!("SET rhei.route = {route}")).await.unwrap();
        let statement = client.prepare("SELECT id, at FROM slots WHERE at >= $1 OR at IS NULL ORDER BY id").await.unwrap_or_else(|e| panic!("{route}: {e:?}"));
        assert_eq!(statement.params(), [tokio_postgres::types::Type::TIME], "{route}");
        assert_eq!(statement.columns()[1].type_(), &tokio_postgres::types::Type::TIME, "{route}");
        let rows = client.query(&statement, &[&TimeOfDay(29_730_250_000)]).await.unwrap_or_else(|e| panic!("{route}: {e:?}"));
        let got: Vec<(i32, Option<TimeOfDay>)> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
        assert_eq!(got, [(1, Some(TimeOfDay(45_000_000_000))), (2, Some(TimeOfDay(29_730_250_000))), (3, None)], "{route}");
    }
    let past_midnight = client.execute("INSERT INTO slots VALUES (4, $1)", &[&TimeOfDay(86_400_000_001)]).await.unwrap_err();
    assert_eq!(past_midnight.code().map(|c| c.code()), Some("22P03"), "{past_midnight:?}");
}

/// MERGE through the extended protocol: parameters in the source, the conditions and the
/// values (typed from the columns they meet), the row count in the command tag, a second
/// run of the same prepared statement, the OLAP copy following, and a read-only transaction
/// refusing it (25006). MERGE was 0A000 before.
#[tokio::test]
async fn merge_runs_prepared_with_parameters() {
    let server = Server::start().await;
    let client = server.client().await;
    client
        .batch_execute("CREATE TABLE counters (name text PRIMARY KEY, hits bigint NOT NULL, price numeric(8,2)); INSERT INTO counters VALUES ('a', 1, 1.00)")
        .await
        .unwrap();
    let upsert = client
        .prepare(
            "MERGE INTO counters c USING (SELECT $1::text AS name) AS s ON c.name = s.name \
             WHEN MATCHED AND c.hits >= $3 THEN DELETE \
             WHEN MATCHED THEN UPDATE SET hits = c.hits + $2, price = $4::float8 \
             WHEN NOT MATCHED THEN INSERT (name, hits, price) VALUES (s.name, $2, $4::float8)",
        )
        .await
        .unwrap();
    let price = 2.5f64;
    assert_eq!(client.execute(&upsert, &[&"a", &5i64, &100i64, &price]).await.unwrap(), 1);
    assert_eq!(client.execute(&upsert, &[&"b", &7i64, &100i64, &price]).await.unwrap(), 1);
    assert_eq!(client.execute(&upsert, &[&"a", &1i64, &6i64, &price]).await.unwrap(), 1);
    assert_eq!(lines(&client, "SELECT name, hits, price FROM counters ORDER BY name").await, ["b|7|2.50"]);
    assert_eq!(lines(&client, "/*+ olap */ SELECT count(*), sum(hits) FROM counters").await, ["1|7"]);
    client.batch_execute("BEGIN READ ONLY").await.unwrap();
    let error = client.execute(&upsert, &[&"c", &1i64, &1i64, &price]).await.unwrap_err();
    assert_eq!(error.code().map(|c| c.code()), Some("25006"));
    client.batch_execute("ROLLBACK").await.unwrap();
}

/// CREATE TABLE ... AS and SELECT ... INTO through the extended protocol, with parameters
/// typed from the columns they meet; the new table's column types are its result's (0A000
/// and a SQLite syntax error before).
#[tokio::test]
async fn create_table_as_runs_prepared_with_parameters() {
    let server = Server::start().await;
    let client = server.client().await;
    client
        .batch_execute("CREATE TABLE orders (id int PRIMARY KEY, region text, amount numeric(10,2)); INSERT INTO orders VALUES (1, 'eu', 10.50), (2, 'us', 7.25), (3, 'eu', 1.00)")
        .await
        .unwrap();
    let made = client.execute("CREATE TABLE big_orders AS SELECT id, amount FROM orders WHERE id < $1", &[&3i32]).await;
    assert_eq!(made.unwrap(), 2);
    let into = client.execute("SELECT region, sum(amount) AS total INTO region_totals FROM orders WHERE id <> $1 GROUP BY region", &[&2i32]).await;
    assert_eq!(into.unwrap(), 1);
    let row = client.query_one("SELECT region, total FROM region_totals", &[]).await.unwrap();
    assert_eq!(row.columns()[1].type_(), &tokio_postgres::types::Type::NUMERIC);
    // Stored at the sum's own scale (the OLAP copy shows an unconstrained numeric without
    // trailing zeros, see README).
    assert_eq!(lines(&client, "/*+ oltp */ SELECT region, total FROM region_totals").await, ["eu|11.50"]);
    let ids = client.query("SELECT id FROM big_orders ORDER BY id", &[]).await.unwrap();
    assert_eq!(ids.iter().map(|r| r.get::<_, i32>(0)).collect::<Vec<_>>(), [1, 2]);
    let twice = client.batch_execute("CREATE TABLE big_orders AS SELECT 1").await.unwrap_err();
    assert_eq!(twice.code().map(|c| c.code()), Some("42P07"));
}

/// A table made in a transaction block is read in that block through the extended protocol
/// with its declared types (psycopg 3, which opens a block by default, and every driver that
/// prepares failed with 42P01: the OLAP planner, which types every query, has no such table
/// until the block commits; `clients::psycopg3` too).
#[tokio::test]
async fn a_table_made_in_a_block_is_described_in_it() {
    use tokio_postgres::types::Type;
    let server = Server::start().await;
    let client = server.client().await;
    client.batch_execute("BEGIN; CREATE TABLE fresh (id int PRIMARY KEY, name text, price numeric(8,2)); INSERT INTO fresh VALUES (1, 'a', 2.50)").await.unwrap();
    let all = client.prepare("SELECT * FROM fresh WHERE id = $1").await.unwrap();
    assert_eq!(all.params(), [Type::INT4]);
    assert_eq!(all.columns().iter().map(|c| c.type_().clone()).collect::<Vec<_>>(), [Type::INT4, Type::TEXT, Type::NUMERIC]);
    let row = client.query_one(&all, &[&1i32]).await.unwrap();
    assert_eq!((row.get::<_, i32>(0), row.get::<_, &str>(1)), (1, "a"));
    let totals = client.prepare("SELECT count(*), max(id) FROM fresh").await.unwrap();
    assert_eq!(totals.columns().iter().map(|c| c.type_().clone()).collect::<Vec<_>>(), [Type::INT8, Type::INT4]);
    client.batch_execute("ROLLBACK").await.unwrap();
    let gone = client.prepare("SELECT * FROM fresh").await.unwrap_err();
    assert_eq!(gone.code().map(|c| c.code()), Some("42P01"));
}

/// `ILIKE ANY ($1)` with a list of patterns as a parameter (psycopg and asyncpg send Python
/// lists so): matched on whichever engine runs it (42883 / "ANY in LIKE" before).
#[tokio::test]
async fn like_any_takes_a_list_parameter() {
    let server = Server::start().await;
    let client = server.client().await;
    client.batch_execute("CREATE TABLE people (id int PRIMARY KEY, name text); INSERT INTO people VALUES (1, 'Ann'), (2, 'bob'), (3, 'Cid'), (4, NULL)").await.unwrap();
    for route in ["/*+ oltp */", "/*+ olap */", ""] {
        let query = format!("{route} SELECT id FROM people WHERE name ILIKE ANY ($1) ORDER BY id");
        let rows = client.query(&query, &[&vec!["a%", "B_B"]]).await.unwrap();
        assert_eq!(rows.iter().map(|r| r.get::<_, i32>(0)).collect::<Vec<_>>(), [1, 2], "{route}");
        let query = format!("{route} SELECT count(*) FROM people WHERE name NOT LIKE ANY ($1)");
        let count: i64 = client.query_one(&query, &[&vec!["A%", "%b"]]).await.unwrap().get(0);
        assert_eq!(count, 3, "{route}");
    }
}
