//! The SQL BI tools and JDBC send to a PostgreSQL server when they connect and read a
//! database's schema: Metabase's sync, DBeaver's connect and navigator, and pgjdbc's
//! DatabaseMetaData, replayed through the wire (extended protocol, as their JDBC driver
//! sends them) against a schema of two tables with a foreign key.
//!
//! The statements are in `tests/clients/bi/*.sql`, each with the tool, source file and method
//! it comes from, extracted from the tools' sources and checked to run on PostgreSQL 15 (file
//! headers). The tables' OIDs in them (16384 customers, 16390 orders) are replaced by rhei's.

use std::path::Path;

use crate::common::Server;

/// One replayed statement.
struct Entry {
    number: String,
    is_essential: bool,
    sql: String,
}

/// The entries of a replay file (see the file header for its format).
fn entries(file: &str) -> Vec<Entry> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("clients/bi").join(file);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    let mut out = Vec::new();
    for block in text.split("\n-- [").skip(1) {
        let number = block.split(']').next().unwrap_or_default().to_string();
        let lines: Vec<&str> = block.lines().collect();
        let is_essential = lines.contains(&"-- essential");
        let keeps_semicolon = lines.contains(&"-- source-text-ends-with-semicolon");
        let mut sql = lines.iter().skip(1).filter(|l| !l.starts_with("--")).copied().collect::<Vec<_>>().join("\n");
        sql = sql.trim().to_string();
        if !keeps_semicolon && sql.ends_with(';') {
            sql.pop();
        }
        out.push(Entry { number, is_essential, sql });
    }
    out
}

/// Runs every statement of `file`, failing with the list of those that fail; returns the
/// rows of each (as text lines) by entry number.
async fn replay(file: &str) -> std::collections::HashMap<String, Vec<String>> {
    let server = Server::start().await;
    let client = server.client().await;
    client
        .batch_execute(
            "CREATE TABLE customers (id int PRIMARY KEY, name text NOT NULL UNIQUE);
             CREATE TABLE orders (id bigint PRIMARY KEY, customer_id int REFERENCES customers (id),
                                  total numeric(10,2), created_at timestamptz);
             CREATE INDEX orders_created_idx ON orders (created_at);
             INSERT INTO customers VALUES (1, 'ada');
             INSERT INTO orders VALUES (1, 1, 9.50, '2024-01-01 00:00:00+00');",
        )
        .await
        .expect("schema");
    let oid = |table: &str| {
        let client = &client;
        let sql = format!("SELECT '{table}'::regclass::oid::text");
        async move { client.simple_query(&sql).await.ok().and_then(|m| m.into_iter().find_map(|m| match m {
            tokio_postgres::SimpleQueryMessage::Row(r) => r.get(0).map(str::to_string),
            _ => None,
        })).expect("oid") }
    };
    let (customers, orders) = (oid("customers").await, oid("orders").await);
    let mut failures = Vec::new();
    let mut results = std::collections::HashMap::new();
    for entry in entries(file) {
        let sql = entry.sql.replace("16384", &customers).replace("16390", &orders);
        // An empty query is the JDBC pool's validity check; the extended protocol cannot
        // prepare it in tokio-postgres, so it goes as a simple query.
        let outcome = if sql.is_empty() {
            client.simple_query("").await.map(|_| Vec::new())
        } else {
            client.query(&sql, &[]).await.map(|rows| {
                rows.iter()
                    .map(|row| {
                        (0..row.len())
                            .map(|i| match row.columns()[i].type_() {
                                t if *t == tokio_postgres::types::Type::TEXT || *t == tokio_postgres::types::Type::NAME
                                    || *t == tokio_postgres::types::Type::VARCHAR =>
                                {
                                    row.get::<_, Option<String>>(i).unwrap_or_else(|| "NULL".into())
                                }
                                _ => "?".into(),
                            })
                            .collect::<Vec<_>>()
                            .join("|")
                    })
                    .collect()
            })
        };
        match outcome {
            Ok(rows) => {
                results.insert(entry.number, rows);
            }
            Err(e) => failures.push(format!(
                "[{}] {}: {}\n    {}",
                entry.number,
                if entry.is_essential { "essential" } else { "optional" },
                e.as_db_error().map_or_else(|| e.to_string(), |d| format!("{} {}", d.code().code(), d.message())),
                sql.chars().take(160).collect::<String>()
            )),
        }
    }
    assert!(failures.is_empty(), "{file}: {} statements failed:\n{}", failures.len(), failures.join("\n"));
    results
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metabase_connects_and_syncs() {
    let results = replay("metabase.sql").await;
    // The tables query (get-tables-sql) finds both tables, the foreign-key query the key.
    let tables = results.get("9").expect("tables query");
    assert!(tables.iter().any(|r| r.starts_with("public|customers|TABLE")), "{tables:?}");
    assert!(tables.iter().any(|r| r.starts_with("public|orders|TABLE")), "{tables:?}");
    let fks = results.get("13").expect("foreign-key query");
    assert_eq!(fks.len(), 1, "{fks:?}");
    assert!(fks[0].contains("orders") && fks[0].contains("customer_id") && fks[0].contains("customers"), "{fks:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dbeaver_connects_and_browses() {
    replay("dbeaver.sql").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pgjdbc_metadata_queries_run() {
    replay("pgjdbc.sql").await;
}
