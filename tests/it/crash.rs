//! Crash safety: a child process writes (inserts, updates, deletes) and is killed with SIGKILL
//! at random moments, then restarted on the same data directory, many times. Afterwards every
//! acknowledged write is in SQLite, and the rebuilt OLAP copy equals SQLite row by row. Run with
//! the OLAP copy in memory and with it in Parquet files (loaded from them at each restart).

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use rand::Rng;
use rhei::{EngineConfig, HtapEngine, OlapStorage, Route};

use crate::common::rows;

const KILLS: usize = 24;

/// What the acknowledged writes say about a row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    /// Inserted; `Some(true)` updated, `Some(false)` not, `None` an update was in doubt.
    Present(Option<bool>),
    Deleted,
    /// A delete was in flight when the kill landed: either outcome is right.
    Either,
}

type Expected = BTreeMap<i64, Expect>;

/// Runs the child until it has acknowledged a random number of writes, then SIGKILLs it.
/// The write the child announced but did not confirm may or may not have committed.
fn run_and_kill(dir: &std::path::Path, storage: OlapStorage, expected: &mut Expected, rng: &mut impl Rng) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_crash_writer"))
        .arg(dir)
        .args((storage == OlapStorage::Parquet).then_some("parquet"))
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start the crash writer");
    let stdout = child.stdout.take().expect("piped stdout");
    let mut lines = BufReader::new(stdout).lines();
    let wanted = rng.random_range(1..400);
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut acked = 0;
    let mut in_doubt: Option<(char, i64)> = None;
    // Returns whether the line confirmed a write.
    let mut record = |line: &str, in_doubt: &mut Option<(char, i64)>| -> bool {
        let mut parts = line.split_whitespace();
        let (Some(kind), Some(id)) =
            (parts.next().and_then(|k| k.chars().next()), parts.next().and_then(|n| n.parse::<i64>().ok()))
        else {
            return false;
        };
        match kind {
            'i' | 'u' | 'd' => {
                *in_doubt = Some((kind, id));
                return false;
            }
            'I' => {
                expected.insert(id, Expect::Present(Some(false)));
            }
            'U' => {
                if let Some(Expect::Present(updated)) = expected.get_mut(&id) {
                    *updated = Some(true);
                }
            }
            'D' => {
                expected.insert(id, Expect::Deleted);
            }
            _ => return false,
        }
        *in_doubt = None;
        true
    };
    while let Some(Ok(line)) = lines.next() {
        if record(&line, &mut in_doubt) {
            acked += 1;
            if acked >= wanted || Instant::now() > deadline {
                break;
            }
        }
    }
    child.kill().expect("SIGKILL the writer");
    let _ = child.wait();
    // The child kept writing until the kill landed: what it confirmed meanwhile counts too.
    for line in lines.map_while(Result::ok) {
        record(&line, &mut in_doubt);
    }
    match in_doubt {
        Some(('u', id)) => {
            if let Some(Expect::Present(updated)) = expected.get_mut(&id) {
                *updated = None;
            }
        }
        Some(('d', id)) => {
            if matches!(expected.get(&id), Some(Expect::Present(_))) {
                expected.insert(id, Expect::Either);
            }
        }
        _ => {}
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_loses_no_acknowledged_write_and_the_copy_matches() {
    kill_and_check(OlapStorage::Memory).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_loses_no_acknowledged_write_and_the_copy_loaded_from_parquet_matches() {
    kill_and_check(OlapStorage::Parquet).await;
}

async fn kill_and_check(storage: OlapStorage) {
    let dir = tempfile::tempdir().unwrap();
    let blocking_dir = dir.path().to_path_buf();
    let expected = tokio::task::spawn_blocking(move || {
        let mut expected = Expected::new();
        let mut rng = rand::rng();
        for _ in 0..KILLS {
            run_and_kill(&blocking_dir, storage, &mut expected, &mut rng);
        }
        expected
    })
    .await
    .unwrap();
    assert!(expected.len() > KILLS, "the writer acknowledged too little to test anything");

    let engine = HtapEngine::open(EngineConfig { olap_storage: storage, ..EngineConfig::with_data_dir(dir.path()) }).await.unwrap();
    if storage == OlapStorage::Parquet {
        assert_eq!(engine.sync_status().tables_from_files, 1, "the table was loaded from its files");
    }
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
            Expect::Present(updated) => {
                let (v, note) = present.get(id).unwrap_or_else(|| panic!("acknowledged insert {id} is missing"));
                let was_updated = (*v, note.as_str()) == (id + 1000, "NULL");
                if let Some(updated) = updated {
                    assert_eq!(was_updated, *updated, "row {id} does not show its acknowledged writes: v={v} note={note}");
                }
            }
            Expect::Deleted => assert!(!present.contains_key(id), "acknowledged delete of {id} came back"),
            Expect::Either => {}
        }
    }
    let olap = rows(&engine.query_with_route("SELECT id, v, note FROM t ORDER BY id", Route::Olap).await.unwrap());
    assert_eq!(olap, sqlite, "the OLAP copy differs from SQLite after recovery");
    let checksum = "SELECT count(*), sum(id), sum(v), count(note) FROM t";
    let a = rows(&engine.query_with_route(checksum, Route::Oltp).await.unwrap());
    let b = rows(&engine.query_with_route(checksum, Route::Olap).await.unwrap());
    assert_eq!(a, b);
}
