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
            "-c",
            "CREATE UNIQUE INDEX items_new_name ON items (name) WHERE created IS NULL",
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
            "\"items_new_name\" UNIQUE, btree (name) WHERE created IS NULL",
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn psql_lists_and_describes_sequences() {
    let server = Server::start().await;
    psql(
        &server,
        &["-c", "CREATE SEQUENCE order_no AS integer START WITH 100 INCREMENT BY 5", "-c", "CREATE TABLE t (k text PRIMARY KEY, n bigserial)"],
    )
    .await;
    let ds = psql(&server, &["-c", r"\ds"]).await;
    assert_contains(&ds, &["List of relations", " public | order_no | sequence | rhei", " public | t_n_seq  | sequence | rhei", "(2 rows)"]);
    let dt = psql(&server, &["-c", r"\dt"]).await;
    assert_contains(&dt, &[" public | t    | table | rhei", "(1 row)"]);
    let d = psql(&server, &["-c", r"\d order_no"]).await;
    assert_contains(&d, &["Sequence \"public.order_no\"", " integer |   100 |       1 | 2147483647 |         5 | no      |     1"]);
}

#[tokio::test]
async fn psql_lists_and_describes_views() {
    let server = Server::start().await;
    psql(
        &server,
        &["-c", "CREATE TABLE t (id int PRIMARY KEY, label text, price numeric(8,2))", "-c", "CREATE VIEW cheap AS SELECT id, upper(label) AS shout, price FROM t WHERE price < 10"],
    )
    .await;
    let dv = psql(&server, &["-c", r"\dv"]).await;
    assert_contains(&dv, &[" public | cheap | view | rhei", "(1 row)"]);
    let dt = psql(&server, &["-c", r"\dt"]).await;
    assert_contains(&dt, &[" public | t    | table | rhei", "(1 row)"]);
    let d = psql(&server, &["-c", r"\d+ cheap"]).await;
    assert_contains(&d, &["View \"public.cheap\"", " id     | integer      |", " shout  | text         |", " price  | numeric(8,2) |", "View definition:", "FROM t WHERE price < 10;"]);
    let tables = psql(&server, &["-A", "-t", "-c", "SELECT table_name, table_type FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1"]).await;
    assert_contains(&tables, &["cheap|VIEW", "t|BASE TABLE"]);
}

/// The pgbench installed beside the PostgreSQL server binaries (`.ci/run` installs them).
fn pgbench_binary() -> String {
    let mut candidates: Vec<std::path::PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|dir| dir.flatten().map(|e| e.path().join("bin/pgbench")).collect())
        .unwrap_or_default();
    candidates.sort();
    candidates.push("/usr/bin/pgbench".into());
    match candidates.into_iter().rev().find(|p| p.exists()) {
        Some(path) => path.to_string_lossy().into_owned(),
        None => panic!("pgbench is not installed: apt-get install postgresql (or run .ci/run)"),
    }
}

/// psql shows a notification once it has read it, which is after each command: one sent by
/// the session itself must come before that command's ReadyForQuery, and the PID it names is
/// the one `pg_backend_pid()` gives.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn psql_shows_asynchronous_notifications() {
    let server = Server::start().await;
    let out = psql(&server, &["-c", "LISTEN jobs", "-c", "NOTIFY jobs, 'job 1'", "-A", "-t", "-c", "SELECT pg_backend_pid()"]).await;
    let pid = out.lines().last().unwrap_or_default().trim().to_string();
    assert_contains(&out, &[&format!("Asynchronous notification \"jobs\" with payload \"job 1\" received from server process with PID {pid}.")]);
}

async fn pgbench(server: &Server, args: &[&str]) -> String {
    let pgbench = pgbench_binary();
    let port = server.addr.port().to_string();
    let owned: Vec<String> = args.iter().map(|a| (*a).to_string()).collect();
    let output = tokio::task::spawn_blocking(move || {
        Command::new(pgbench).args(["-h", "127.0.0.1", "-p", &port, "-U", "rhei"]).args(&owned).arg("rhei").output().expect("run pgbench")
    })
    .await
    .unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success(), "pgbench {args:?} failed: {text}");
    text
}

/// pgbench, PostgreSQL's own benchmark tool, unchanged: `pgbench -i` drops and creates its
/// tables, loads them (`COPY ... WITH (FREEZE on)` client-side, `INSERT ... SELECT
/// generate_series` server-side), vacuums them and adds primary and foreign keys with ALTER
/// TABLE; then its TPC-B-like script runs, and psql's `\d` shows the keys as PostgreSQL would.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pgbench_initializes_and_runs_unchanged() {
    let server = Server::start().await;
    let init = pgbench(&server, &["-i", "-s", "1", "--foreign-keys"]).await;
    assert_contains(&init, &["vacuuming...", "creating primary keys...", "creating foreign keys...", "done in"]);
    let run = pgbench(&server, &["-c", "2", "-j", "1", "-t", "50"]).await;
    assert_contains(&run, &["number of transactions actually processed: 100/100", "number of failed transactions: 0"]);
    let totals = psql(
        &server,
        &["-A", "-t", "-c", "SELECT count(*), sum(abalance) = (SELECT sum(delta) FROM pgbench_history), (SELECT count(*) FROM pgbench_history) FROM pgbench_accounts"],
    )
    .await;
    assert_eq!(totals.trim(), "100000|t|100");

    // Server-side generation, on top of the tables the first run left.
    let init = pgbench(&server, &["-i", "-s", "2", "-I", "dtGvpf"]).await;
    assert_contains(&init, &["server-side generate", "primary keys", "foreign keys"]);
    let counts = psql(&server, &["-A", "-t", "-c", "SELECT (SELECT count(*) FROM pgbench_accounts), (SELECT count(*) FROM pgbench_tellers)"]).await;
    assert_eq!(counts.trim(), "200000|20");

    let tellers = psql(&server, &["-c", r"\d pgbench_tellers"]).await;
    assert_contains(
        &tellers,
        &[
            " tid      | integer       |           | not null | ",
            "\"pgbench_tellers_pkey\" PRIMARY KEY, btree (tid)",
            "Foreign-key constraints:",
            "\"pgbench_tellers_bid_fkey\" FOREIGN KEY (bid) REFERENCES pgbench_branches(bid)",
            "Referenced by:",
            "TABLE \"pgbench_history\" CONSTRAINT \"pgbench_history_tid_fkey\" FOREIGN KEY (tid) REFERENCES pgbench_tellers(tid)",
        ],
    );
    psql(&server, &["-c", "CREATE TABLE checked (a int CHECK (a > 0), b int, CONSTRAINT b_positive CHECK (b > 0))"]).await;
    let checked = psql(&server, &["-c", r"\d checked"]).await;
    assert_contains(&checked, &["Check constraints:", "\"b_positive\" CHECK ((b > 0))", "\"checked_a_check\" CHECK ((a > 0))"]);
}
