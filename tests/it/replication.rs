//! End-to-end tests of the replication client and pgoutput decoder against
//! a real PostgreSQL (see `pg_cluster.rs`): snapshot export/import, change
//! decoding, status updates, restart semantics, slot errors and auth.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use crate::pg_cluster::{ClusterOptions, PgCluster, start_cluster, start_cluster_with};
use futures::TryStreamExt;
use rhei_sidecar::pgoutput::{self, PgOutputMessage, Relation, Tuple, TupleValue};
use rhei_sidecar::replication::{
    ReplicationClient, ReplicationError, ReplicationEvent, ReplicationStream,
};

const TIMEOUT: Duration = Duration::from_secs(20);

async fn sql(cluster: &PgCluster) -> tokio_postgres::Client {
    let (client, conn) = tokio_postgres::connect(&cluster.url(), tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(async move {
        let _ = conn.await;
    });
    client
}

/// One decoded transaction with its boundaries.
#[derive(Debug)]
struct Txn {
    xid: u32,
    final_lsn: u64,
    commit_lsn: u64,
    end_lsn: u64,
    /// `wal_start` of the XLogData frame that carried the Commit.
    commit_frame_start: u64,
    changes: Vec<PgOutputMessage>,
}

/// Reads until `n` complete transactions arrived, answering keepalives with
/// `ack` (0 = confirm nothing) and recording Relation messages.
async fn collect_txns(
    stream: &mut ReplicationStream,
    n: usize,
    ack: u64,
    relations: &mut HashMap<u32, Relation>,
) -> Vec<Txn> {
    let deadline = Instant::now() + TIMEOUT;
    let mut txns = Vec::new();
    let mut open: Option<Txn> = None;
    while txns.len() < n {
        let left = deadline.saturating_duration_since(Instant::now());
        let event = tokio::time::timeout(left, stream.next_event())
            .await
            .unwrap_or_else(|_| {
                panic!(
                    "timed out with {} of {n} transactions: {txns:#?}",
                    txns.len()
                )
            })
            .unwrap()
            .expect("stream ended early");
        let (wal_start, data) = match event {
            ReplicationEvent::XLogData {
                wal_start, data, ..
            } => (wal_start, data),
            ReplicationEvent::Keepalive {
                reply_requested, ..
            } => {
                if reply_requested {
                    stream.send_status(ack, ack, ack, false).await.unwrap();
                }
                continue;
            }
        };
        match pgoutput::decode(&data).unwrap() {
            PgOutputMessage::Begin { final_lsn, xid, .. } => {
                assert!(open.is_none(), "nested Begin");
                open = Some(Txn {
                    xid,
                    final_lsn,
                    commit_lsn: 0,
                    end_lsn: 0,
                    commit_frame_start: 0,
                    changes: Vec::new(),
                });
            }
            PgOutputMessage::Commit {
                commit_lsn,
                end_lsn,
                ..
            } => {
                let mut t = open.take().expect("Commit without Begin");
                t.commit_lsn = commit_lsn;
                t.end_lsn = end_lsn;
                t.commit_frame_start = wal_start;
                txns.push(t);
            }
            PgOutputMessage::Relation(r) => {
                assert!(open.is_some(), "Relation outside a transaction");
                relations.insert(r.id, r);
            }
            other => open
                .as_mut()
                .expect("change outside a transaction")
                .changes
                .push(other),
        }
    }
    txns
}

fn text_tuple(values: &[Option<&str>]) -> Tuple {
    Tuple(
        values
            .iter()
            .map(|v| v.map_or(TupleValue::Null, |s| TupleValue::Text(s.to_owned())))
            .collect(),
    )
}

async fn xid_of(db: &tokio_postgres::Client, stmt: &str) -> u32 {
    // Run the statement and read the xid inside the same transaction so the
    // decoded Begin can be matched to it.
    let tx_rows = db
        .simple_query(&format!(
            "BEGIN; {stmt}; SELECT pg_current_xact_id()::text; COMMIT"
        ))
        .await
        .unwrap();
    let xid = tx_rows
        .iter()
        .find_map(|m| match m {
            tokio_postgres::SimpleQueryMessage::Row(r) => r.get(0).map(str::to_owned),
            _ => None,
        })
        .unwrap();
    xid.parse::<u64>().unwrap() as u32
}

async fn slot_state(db: &tokio_postgres::Client, slot: &str) -> (Option<String>, bool) {
    let row = db
        .query_one(
            "SELECT confirmed_flush_lsn::text, active FROM pg_replication_slots WHERE slot_name = $1",
            &[&slot],
        )
        .await
        .unwrap();
    (row.get(0), row.get(1))
}

async fn wait_for_confirmed(db: &tokio_postgres::Client, slot: &str, lsn: u64) {
    let want = pgoutput::format_lsn(lsn);
    let deadline = Instant::now() + TIMEOUT;
    loop {
        let (confirmed, _) = slot_state(db, slot).await;
        if confirmed.as_deref() == Some(want.as_str()) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "confirmed_flush_lsn {confirmed:?} never reached {want}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The walsender notices a dropped connection asynchronously; starting the
/// slot before it lets go fails with 55006 (object_in_use).
async fn wait_inactive(db: &tokio_postgres::Client, slot: &str) {
    let deadline = Instant::now() + TIMEOUT;
    while slot_state(db, slot).await.1 {
        assert!(Instant::now() < deadline, "slot {slot} stayed active");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn snapshot_then_stream_decodes_all_change_kinds() {
    let cluster = start_cluster();
    let db = sql(&cluster).await;
    db.batch_execute(
        "CREATE TABLE items (id int PRIMARY KEY, name text, qty int);
         CREATE TABLE audit (id int PRIMARY KEY, payload text);
         ALTER TABLE audit REPLICA IDENTITY FULL;
         CREATE PUBLICATION rhei_pub FOR ALL TABLES;
         INSERT INTO items VALUES (1, 'one', 10), (2, 'two', 20);",
    )
    .await
    .unwrap();

    let mut repl = ReplicationClient::connect(&cluster.upstream()).await.unwrap();
    assert!(repl.parameter("server_version").unwrap().starts_with("15"));
    let ident = repl.identify_system().await.unwrap();
    let sysid: String = db
        .query_one(
            "SELECT system_identifier::text FROM pg_control_system()",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(ident.system_id.to_string(), sysid);
    assert_eq!(ident.timeline, 1);
    assert_eq!(ident.dbname.as_deref(), Some("postgres"));
    assert!(ident.xlogpos > 0);
    // Plain SQL works on a replication=database connection too.
    assert_eq!(
        repl.simple_query("SELECT 1, NULL::text").await.unwrap(),
        vec![vec![Some("1".to_owned()), None]]
    );

    let slot = repl.create_logical_slot("rhei_slot", false).await.unwrap();
    assert_eq!(slot.slot_name, "rhei_slot");
    assert!(slot.consistent_point >= ident.xlogpos);
    let snapshot = slot.snapshot_name.clone().expect("exported snapshot");

    // Committed after the slot: must be streamed, must not be in the snapshot.
    let xid_insert = xid_of(&db, "INSERT INTO items VALUES (3, 'three', 30)").await;

    let snap_db = sql(&cluster).await;
    snap_db
        .batch_execute(&format!(
            "BEGIN ISOLATION LEVEL REPEATABLE READ; SET TRANSACTION SNAPSHOT '{snapshot}'"
        ))
        .await
        .unwrap();
    let copy = snap_db.copy_out("COPY items TO STDOUT").await.unwrap();
    let chunks: Vec<_> = copy.try_collect().await.unwrap();
    let copied = chunks.concat();
    snap_db.batch_execute("COMMIT").await.unwrap();
    let mut lines: Vec<&str> = std::str::from_utf8(&copied).unwrap().lines().collect();
    lines.sort();
    assert_eq!(lines, ["1\tone\t10", "2\ttwo\t20"]);
    let now: i64 = db
        .query_one("SELECT count(*) FROM items", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(now, 3, "outside the snapshot the new row is visible");

    let xid_update = xid_of(&db, "UPDATE items SET qty = 11 WHERE id = 1").await;
    let xid_key_update = xid_of(&db, "UPDATE items SET id = 30 WHERE id = 3").await;
    let xid_delete = xid_of(&db, "DELETE FROM items WHERE id = 2").await;
    let xid_full_insert = xid_of(&db, "INSERT INTO audit VALUES (1, 'a')").await;
    let xid_full_update = xid_of(&db, "UPDATE audit SET payload = 'b' WHERE id = 1").await;
    let xid_full_delete = xid_of(&db, "DELETE FROM audit WHERE id = 1").await;
    let xid_multi = xid_of(
        &db,
        "INSERT INTO audit VALUES (2, 'x'); INSERT INTO items VALUES (4, NULL, 40)",
    )
    .await;
    let xid_truncate = xid_of(&db, "TRUNCATE audit").await;

    let oid = |name: &'static str| {
        let db = &db;
        async move {
            db.query_one("SELECT $1::text::regclass::oid", &[&name])
                .await
                .unwrap()
                .get::<_, u32>(0)
        }
    };
    let items = oid("items").await;
    let audit = oid("audit").await;

    let mut stream = repl
        .start_logical_replication("rhei_slot", slot.consistent_point, &["rhei_pub".to_owned()])
        .await
        .unwrap();
    let mut relations = HashMap::new();
    let txns = collect_txns(&mut stream, 9, 0, &mut relations).await;

    let xids: Vec<u32> = txns.iter().map(|t| t.xid).collect();
    assert_eq!(
        xids,
        [
            xid_insert,
            xid_update,
            xid_key_update,
            xid_delete,
            xid_full_insert,
            xid_full_update,
            xid_full_delete,
            xid_multi,
            xid_truncate
        ]
    );
    let mut prev_end = slot.consistent_point;
    for t in &txns {
        assert_eq!(
            t.final_lsn, t.commit_lsn,
            "Begin.final_lsn is the commit record LSN"
        );
        assert!(
            t.commit_lsn >= prev_end && t.end_lsn > t.commit_lsn,
            "{t:?}"
        );
        // The walsender labels the Commit frame with the commit record's end.
        assert_eq!(t.commit_frame_start, t.end_lsn);
        prev_end = t.end_lsn;
    }
    let wal_now: String = db
        .query_one("SELECT pg_current_wal_lsn()::text", &[])
        .await
        .unwrap()
        .get(0);
    assert!(pgoutput::parse_lsn(&wal_now).unwrap() >= prev_end);

    let items_rel = &relations[&items];
    assert_eq!(
        (items_rel.namespace.as_str(), items_rel.name.as_str()),
        ("public", "items")
    );
    assert_eq!(items_rel.replica_identity, b'd');
    let cols: Vec<(bool, &str, u32)> = items_rel
        .columns
        .iter()
        .map(|c| (c.is_key, c.name.as_str(), c.type_oid))
        .collect();
    assert_eq!(
        cols,
        [(true, "id", 23), (false, "name", 25), (false, "qty", 23)]
    );
    let audit_rel = &relations[&audit];
    assert_eq!(audit_rel.replica_identity, b'f');
    assert!(
        audit_rel.columns.iter().all(|c| c.is_key),
        "FULL marks every column as key"
    );

    use PgOutputMessage::*;
    let changes: Vec<&Vec<PgOutputMessage>> = txns.iter().map(|t| &t.changes).collect();
    assert_eq!(
        changes[0],
        &vec![Insert {
            relation: items,
            new: text_tuple(&[Some("3"), Some("three"), Some("30")])
        }]
    );
    assert_eq!(
        changes[1],
        &vec![Update {
            relation: items,
            old: None,
            new: text_tuple(&[Some("1"), Some("one"), Some("11")])
        }]
    );
    // Key change under default identity: old key only ('K'), other columns null.
    assert_eq!(
        changes[2],
        &vec![Update {
            relation: items,
            old: Some(text_tuple(&[Some("3"), None, None])),
            new: text_tuple(&[Some("30"), Some("three"), Some("30")])
        }]
    );
    assert_eq!(
        changes[3],
        &vec![Delete {
            relation: items,
            old: text_tuple(&[Some("2"), None, None])
        }]
    );
    assert_eq!(
        changes[4],
        &vec![Insert {
            relation: audit,
            new: text_tuple(&[Some("1"), Some("a")])
        }]
    );
    assert_eq!(
        changes[5],
        &vec![Update {
            relation: audit,
            old: Some(text_tuple(&[Some("1"), Some("a")])),
            new: text_tuple(&[Some("1"), Some("b")])
        }]
    );
    assert_eq!(
        changes[6],
        &vec![Delete {
            relation: audit,
            old: text_tuple(&[Some("1"), Some("b")])
        }]
    );
    assert_eq!(
        changes[7],
        &vec![
            Insert {
                relation: audit,
                new: text_tuple(&[Some("2"), Some("x")])
            },
            Insert {
                relation: items,
                new: text_tuple(&[Some("4"), None, Some("40")])
            },
        ]
    );
    assert_eq!(
        changes[8],
        &vec![Truncate {
            relations: vec![audit],
            cascade: false,
            restart_identity: false
        }]
    );

    // Confirming the last commit's end LSN moves the slot.
    let last = txns.last().unwrap().end_lsn;
    stream.send_status(last, last, last, false).await.unwrap();
    wait_for_confirmed(&db, "rhei_slot", last).await;
}

async fn setup_single_table(cluster: &PgCluster, slot: &str) -> (tokio_postgres::Client, u64) {
    let db = sql(cluster).await;
    db.batch_execute(
        "CREATE TABLE t (id int PRIMARY KEY);
         CREATE PUBLICATION p FOR ALL TABLES;",
    )
    .await
    .unwrap();
    let mut repl = ReplicationClient::connect(&cluster.upstream()).await.unwrap();
    let created = repl.create_logical_slot(slot, false).await.unwrap();
    (db, created.consistent_point)
}

async fn start(
    cluster: &PgCluster,
    slot: &str,
    lsn: u64,
) -> Result<ReplicationStream, ReplicationError> {
    ReplicationClient::connect(&cluster.upstream())
        .await
        .unwrap()
        .start_logical_replication(slot, lsn, &["p".to_owned()])
        .await
}

#[tokio::test]
async fn restart_resumes_after_confirmed_end_lsn() {
    let cluster = start_cluster();
    let (db, consistent_point) = setup_single_table(&cluster, "s").await;
    let mut xids = Vec::new();
    for i in 1..=3 {
        xids.push(xid_of(&db, &format!("INSERT INTO t VALUES ({i})")).await);
    }

    let mut rels = HashMap::new();
    let mut stream = start(&cluster, "s", consistent_point).await.unwrap();
    let first = collect_txns(&mut stream, 3, 0, &mut rels).await;
    assert_eq!(first.iter().map(|t| t.xid).collect::<Vec<_>>(), xids);
    let t2_end = first[1].end_lsn;
    stream
        .send_status(t2_end, t2_end, t2_end, false)
        .await
        .unwrap();
    wait_for_confirmed(&db, "s", t2_end).await;
    drop(stream);
    wait_inactive(&db, "s").await;

    xids.push(xid_of(&db, "INSERT INTO t VALUES (4)").await);

    // Restarting at the confirmed end LSN resumes with the third transaction.
    let mut stream = start(&cluster, "s", t2_end).await.unwrap();
    let again = collect_txns(&mut stream, 2, 0, &mut HashMap::new()).await;
    assert_eq!(again.iter().map(|t| t.xid).collect::<Vec<_>>(), &xids[2..]);
    assert_eq!(again[0].end_lsn, first[2].end_lsn);

    // Confirming a transaction by its commit_lsn (the *start* of the commit
    // record) is not enough: the server sends it again.
    let t3_commit = again[0].commit_lsn;
    stream
        .send_status(t3_commit, t3_commit, t3_commit, false)
        .await
        .unwrap();
    wait_for_confirmed(&db, "s", t3_commit).await;
    drop(stream);
    wait_inactive(&db, "s").await;

    // Start LSN 0/0 means "from confirmed_flush_lsn".
    let mut stream = start(&cluster, "s", 0).await.unwrap();
    let redelivered = collect_txns(&mut stream, 1, 0, &mut HashMap::new()).await;
    assert_eq!(redelivered[0].xid, xids[2]);
    let t4_end = again[1].end_lsn;
    stream
        .send_status(t4_end, t4_end, t4_end, false)
        .await
        .unwrap();
    wait_for_confirmed(&db, "s", t4_end).await;

    // A start LSN older than confirmed_flush_lsn is silently raised to it.
    drop(stream);
    wait_inactive(&db, "s").await;
    let x5 = xid_of(&db, "INSERT INTO t VALUES (5)").await;
    let mut stream = start(&cluster, "s", consistent_point).await.unwrap();
    let after = collect_txns(&mut stream, 1, 0, &mut HashMap::new()).await;
    assert_eq!(after[0].xid, x5);
}

#[tokio::test]
async fn slot_errors_carry_sqlstate() {
    let cluster = start_cluster();
    let (db, consistent_point) = setup_single_table(&cluster, "busy").await;

    let mut repl = ReplicationClient::connect(&cluster.upstream()).await.unwrap();
    match repl.create_logical_slot("busy", false).await {
        Err(ReplicationError::Upstream { code, .. }) => assert_eq!(code, "42710"),
        other => panic!("expected duplicate_object, got {:?}", other.map(|_| ())),
    }
    // The connection stays usable after an error response.
    repl.create_logical_slot("gone", false).await.unwrap();
    db.batch_execute("SELECT pg_drop_replication_slot('gone')")
        .await
        .unwrap();
    match start(&cluster, "gone", 0).await {
        Err(ReplicationError::Upstream { code, message }) => {
            assert_eq!(code, "42704", "{message}");
            assert!(message.contains("does not exist"), "{message}");
        }
        other => panic!("expected 42704, got {:?}", other.map(|_| ())),
    }

    let _active = start(&cluster, "busy", consistent_point).await.unwrap();
    match start(&cluster, "busy", consistent_point).await {
        // object_in_use (55006) in PG 15, not 55000.
        Err(e) => assert_eq!(e.sqlstate(), Some("55006"), "{e}"),
        Ok(_) => panic!("slot in use must be rejected"),
    }
}

/// Publications are resolved lazily by pgoutput, so a missing one is only
/// reported when the first change is decoded, mid-stream, also as 42704.
#[tokio::test]
async fn missing_publication_fails_mid_stream() {
    let cluster = start_cluster();
    let (db, consistent_point) = setup_single_table(&cluster, "s").await;
    let mut stream = ReplicationClient::connect(&cluster.upstream())
        .await
        .unwrap()
        .start_logical_replication("s", consistent_point, &["nope".to_owned()])
        .await
        .expect("START_REPLICATION succeeds before any change is decoded");
    db.batch_execute("INSERT INTO t VALUES (1)").await.unwrap();
    let err = loop {
        match tokio::time::timeout(TIMEOUT, stream.next_event())
            .await
            .unwrap()
        {
            Ok(Some(_)) => continue,
            Ok(None) => panic!("stream ended without error"),
            Err(e) => break e,
        }
    };
    assert_eq!(err.sqlstate(), Some("42704"), "{err}");
    assert!(err.to_string().contains("publication"), "{err}");
}

#[tokio::test]
async fn keepalives_must_be_answered() {
    let cluster = start_cluster();
    let (_db, consistent_point) = setup_single_table(&cluster, "s").await;
    let mut config = cluster.config();
    // wal_sender_timeout is user-settable, so a short one keeps this fast.
    config.options("-c wal_sender_timeout=1s");
    let mut stream = ReplicationClient::connect(&PgCluster::as_upstream(config.clone()))
        .await
        .unwrap()
        .start_logical_replication("s", consistent_point, &["p".to_owned()])
        .await
        .unwrap();

    let deadline = Instant::now() + Duration::from_secs(3);
    let mut requested = 0;
    while Instant::now() < deadline {
        tokio::select! {
            ev = stream.next_event() => match ev.unwrap().unwrap() {
                ReplicationEvent::Keepalive { reply_requested: true, .. } => {
                    requested += 1;
                    // Zero LSNs are "invalid" and leave the slot untouched,
                    // but still count as a reply for the timeout.
                    stream.send_status(0, 0, 0, false).await.unwrap();
                }
                ReplicationEvent::Keepalive { .. } => {}
                other => panic!("unexpected {other:?}"),
            },
            _ = tokio::time::sleep(Duration::from_millis(100)) => {}
        }
    }
    assert!(
        requested >= 2,
        "expected several reply requests, got {requested}"
    );

    // Ignore them and the walsender just disconnects, with no ErrorResponse.
    let err = loop {
        match tokio::time::timeout(Duration::from_secs(10), stream.next_event())
            .await
            .unwrap()
        {
            Ok(Some(_)) => continue,
            Ok(None) => panic!("unexpected clean end"),
            Err(e) => break e,
        }
    };
    assert!(
        matches!(
            err,
            ReplicationError::ConnectionClosed | ReplicationError::Io(_)
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn password_authentication() {
    let mut options = ClusterOptions::default();
    for (user, method) in [
        ("md5_user", "md5"),
        ("scram_user", "scram-sha-256"),
        ("clear_user", "password"),
    ] {
        options
            .hba_first
            .push(format!("host all {user} 127.0.0.1/32 {method}"));
        options
            .hba_first
            .push(format!("host replication {user} 127.0.0.1/32 {method}"));
    }
    options.conf.push("log_connections = on".into());
    let cluster = start_cluster_with(options);
    let db = sql(&cluster).await;
    db.batch_execute(
        "SET password_encryption = 'md5';
         CREATE ROLE md5_user LOGIN REPLICATION PASSWORD 'md5 secret';
         SET password_encryption = 'scram-sha-256';
         CREATE ROLE scram_user LOGIN REPLICATION PASSWORD 'scram secret';
         CREATE ROLE clear_user LOGIN REPLICATION PASSWORD 'clear secret';",
    )
    .await
    .unwrap();

    for (user, password, method) in [
        ("md5_user", "md5 secret", "md5"),
        ("scram_user", "scram secret", "scram-sha-256"),
        ("clear_user", "clear secret", "password"),
    ] {
        let mut repl = ReplicationClient::connect(&PgCluster::as_upstream(cluster.config_for(user, Some(password))))
            .await
            .unwrap_or_else(|e| panic!("{user}: {e}"));
        let ident = repl.identify_system().await.unwrap();
        assert_eq!(ident.dbname.as_deref(), Some("postgres"));
        let log = std::fs::read_to_string(cluster.log_path()).unwrap();
        assert!(
            log.contains(&format!("identity=\"{user}\" method={method}")),
            "{user} did not authenticate with {method}"
        );

        match ReplicationClient::connect(&PgCluster::as_upstream(cluster.config_for(user, Some("wrong")))).await {
            Err(ReplicationError::Upstream { code, .. }) => assert_eq!(code, "28P01"),
            other => panic!("{user}: expected 28P01, got {:?}", other.map(|_| ())),
        }
        match ReplicationClient::connect(&PgCluster::as_upstream(cluster.config_for(user, None))).await {
            Err(ReplicationError::Auth(m)) => assert!(m.contains("password"), "{m}"),
            other => panic!("{user}: expected Auth error, got {:?}", other.map(|_| ())),
        }
    }
}
