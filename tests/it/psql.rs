//! psql, the client everyone has, against a running server. psql must be installed (`.ci/run`
//! installs it); a missing psql fails the test rather than skipping it.

use std::process::Command;

use crate::common::Server;

pub(crate) fn psql_binary() -> String {
    for candidate in ["/usr/lib/postgresql/15/bin/psql", "/usr/bin/psql"] {
        if std::path::Path::new(candidate).exists() {
            return candidate.to_string();
        }
    }
    panic!("psql is not installed: apt-get install postgresql-client (or run .ci/run)");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn psql_runs_a_script() {
    let server = Server::start().await;
    let script = "CREATE TABLE kv (k text PRIMARY KEY, v int);\n\
                  INSERT INTO kv VALUES ('a', 1), ('b', 2);\n\
                  SELECT k, v FROM kv ORDER BY k;\n\
                  SELECT sum(v) AS total FROM kv;\n";
    let psql = psql_binary();
    let port = server.addr.port().to_string();
    let output = tokio::task::spawn_blocking(move || {
        Command::new(psql)
            .args(["-h", "127.0.0.1", "-p", &port, "-U", "rhei", "-d", "rhei", "-X", "-A", "-t", "-q", "-v", "ON_ERROR_STOP=1", "-c", script])
            .output()
            .expect("run psql")
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "psql failed: {}{}", stdout, String::from_utf8_lossy(&output.stderr));
    assert_eq!(stdout.lines().filter(|l| !l.is_empty()).collect::<Vec<_>>(), vec!["a|1", "b|2", "3"]);
}

/// Runs psql against `server` with `args` (e.g. `-c '\d t'`) and returns what it printed; psql
/// failing (an ERROR from a catalog query included) fails the test.
async fn psql(server: &Server, args: &[&str]) -> String {
    let psql = psql_binary();
    let port = server.addr.port().to_string();
    let args: Vec<String> = args.iter().map(|a| (*a).to_string()).collect();
    let output = tokio::task::spawn_blocking(move || {
        Command::new(psql)
            .args(["-h", "127.0.0.1", "-p", &port, "-U", "rhei", "-d", "rhei", "-X", "-v", "ON_ERROR_STOP=1"])
            .args(&args)
            .output()
            .expect("run psql")
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success() && stderr.is_empty(), "psql {:?} failed: {stdout}{stderr}", output.status);
    stdout
}

fn assert_contains(output: &str, expected: &[&str]) {
    for text in expected {
        assert!(output.contains(text), "expected {text:?} in:\n{output}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn psql_meta_commands_describe_tables() {
    let server = Server::start().await;
    psql(
        &server,
        &[
            "-c",
            "CREATE TABLE items (id serial PRIMARY KEY, name varchar(20) NOT NULL, price numeric(10,2) DEFAULT 0, \
             code char(3) UNIQUE, created timestamptz)",
            "-c",
            "CREATE TABLE tags (item int NOT NULL, tag text NOT NULL, PRIMARY KEY (item, tag))",
        ],
    )
    .await;

    let dt = psql(&server, &["-c", r"\dt"]).await;
    assert_contains(
        &dt,
        &["List of relations", " public | items | table | rhei", " public | tags  | table | rhei", "(2 rows)"],
    );
    let d = psql(&server, &["-c", r"\d"]).await;
    assert_contains(&d, &["items", "tags", "(2 rows)"]);

    let items = psql(&server, &["-c", r"\d items"]).await;
    assert_contains(
        &items,
        &[
            "Table \"public.items\"",
            " id      | integer                  |           | not null | nextval('items_id_seq'::regclass)",
            " name    | character varying(20)    |           | not null | ",
            " price   | numeric(10,2)            |           |          | 0",
            " code    | character(3)             |           |          | ",
            " created | timestamp with time zone |           |          | ",
            "Indexes:",
            "\"items_pkey\" PRIMARY KEY, btree (id)",
            "\"items_code_key\" UNIQUE CONSTRAINT, btree (code)",
        ],
    );
    let tags = psql(&server, &["-c", r"\d tags"]).await;
    assert_contains(&tags, &["\"tags_pkey\" PRIMARY KEY, btree (item, tag)"]);

    let verbose = psql(&server, &["-c", r"\d+ items"]).await;
    assert_contains(
        &verbose,
        &["Storage", "Description", " name    | character varying(20)", "| extended |", "Access method: heap"],
    );

    let schemas = psql(&server, &["-c", r"\dn"]).await;
    assert_contains(&schemas, &["List of schemas", " public | pg_database_owner"]);
    let databases = psql(&server, &["-c", r"\l"]).await;
    assert_contains(&databases, &["List of databases", " rhei | rhei  | UTF8"]);

    let functions = psql(&server, &["-A", "-t", "-c", "SELECT version(), current_database(), current_user"]).await;
    assert!(functions.starts_with("PostgreSQL 15.0 (rhei "), "{functions}");
    assert!(functions.trim_end().ends_with("|rhei|rhei"), "{functions}");
}
