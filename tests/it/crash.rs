//! Crash safety: a child process writes (inserts, updates, deletes) and is killed with SIGKILL
//! at random moments, then restarted on the same data directory, many times. Afterwards every
//! acknowledged write is in SQLite, and the rebuilt OLAP copy equals SQLite row by row.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use rand::Rng;
use rhei::{EngineConfig, HtapEngine, Route};

use crate::common::rows;

const KILLS: usize = 24;

/// What the acknowledged writes say about a row: `Some(updated?)` present, `None` deleted.
type Expected = BTreeMap<i64, Option<bool>>;

/// Runs the child until it has acknowledged a random number of writes, then SIGKILLs it.
fn run_and_kill(dir: &std::path::Path, expected: &mut Expected, rng: &mut impl Rng) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_crash_writer"))
        .arg(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start the crash writer");
    let stdout = child.stdout.take().expect("piped stdout");
    let mut lines = BufReader::new(stdout).lines();
    let wanted = rng.random_range(1..400);
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut acked = 0;
    while let Some(Ok(line)) = lines.next() {
        let mut parts = line.split_whitespace();
        match (parts.next(), parts.next().and_then(|n| n.parse::<i64>().ok())) {
            (Some("I"), Some(id)) => {
                expected.insert(id, Some(false));
            }
            (Some("U"), Some(id)) => {
                if let Some(Some(updated)) = expected.get_mut(&id) {
                    *updated = true;
                }
            }
            (Some("D"), Some(id)) => {
                expected.insert(id, None);
            }
            _ => continue,
        }
        acked += 1;
        if acked >= wanted || Instant::now() > deadline {
            break;
        }
    }
    child.kill().expect("SIGKILL the writer");
    let _ = child.wait();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_loses_no_acknowledged_write_and_the_copy_matches() {
    let dir = tempfile::tempdir().unwrap();
    let blocking_dir = dir.path().to_path_buf();
    let expected = tokio::task::spawn_blocking(move || {
        let mut expected = Expected::new();
        let mut rng = rand::rng();
        for _ in 0..KILLS {
            run_and_kill(&blocking_dir, &mut expected, &mut rng);
        }
        expected
    })
    .await
    .unwrap();
    assert!(expected.len() > KILLS, "the writer acknowledged too little to test anything");

    let engine = HtapEngine::open(EngineConfig::with_data_dir(dir.path())).await.unwrap();
    let sqlite = rows(&engine.query_with_route("SELECT id, v, note FROM t ORDER BY id", Route::Oltp).await.unwrap());
    let present: BTreeMap<i64, (i64, String)> = sqlite
        .iter()
        .map(|r| {
            let mut f = r.split('|');
            let id: i64 = f.next().unwrap().parse().unwrap();
            let v: i64 = f.next().unwrap().parse().unwrap();
            (id, (v, f.next().unwrap().to_string()))
        })
        .collect();
    for (id, state) in &expected {
        match state {
            Some(updated) => {
                let (v, note) = present.get(id).unwrap_or_else(|| panic!("acknowledged insert {id} is missing"));
                if *updated {
                    assert_eq!((*v, note.as_str()), (id + 1000, "NULL"), "acknowledged update of {id} is missing");
                }
            }
            None => assert!(!present.contains_key(id), "acknowledged delete of {id} came back"),
        }
    }
    let olap = rows(&engine.query_with_route("SELECT id, v, note FROM t ORDER BY id", Route::Olap).await.unwrap());
    assert_eq!(olap, sqlite, "the OLAP copy differs from SQLite after recovery");
    let checksum = "SELECT count(*), sum(id), sum(v), count(note) FROM t";
    let a = rows(&engine.query_with_route(checksum, Route::Oltp).await.unwrap());
    let b = rows(&engine.query_with_route(checksum, Route::Olap).await.unwrap());
    assert_eq!(a, b);
}
