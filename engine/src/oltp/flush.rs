//! Group flush for `synchronous = full`: commits are made durable by a thread of their own
//! (`rhei-oltp-flush`), so the writer goes on to the next transaction while the last ones'
//! fsync runs, and one fsync covers every commit that finished before it started.
//!
//! SQLite at `synchronous = FULL` fsyncs the WAL inside COMMIT, on the writer, while every
//! other writer waits; an explicit transaction pays that alone, since transactions cannot share
//! a commit. Instead the writer connection runs at NORMAL (WAL frames written, not synced; SQLite
//! still syncs before every checkpoint) and each commit's answer is held here until an
//! `fdatasync` of the WAL file that started after the commit returned has finished. The WAL is
//! written sequentially and a crash keeps its longest prefix ending in a commit frame, so that
//! commit and all before it survive. As with PostgreSQL's `synchronous_commit = on`, no caller
//! hears of a commit before it is durable; unlike PostgreSQL, other sessions may read a commit
//! during the fsync (a power loss in that window takes it back, and with it whatever was
//! committed after it, which has not been answered either).

use std::path::PathBuf;
use std::sync::Arc;

use parking_lot::{Condvar, Mutex};
use tokio::sync::oneshot;

use crate::error::{EngineError, Result};
use crate::oltp::Executed;

type Answer = (oneshot::Sender<Result<Executed>>, Result<Executed>);

#[derive(Default)]
struct Pending {
    answers: Vec<Answer>,
    stopped: bool,
}

/// Holds commit answers until the WAL is synced past them.
pub struct WalFlusher {
    wal: PathBuf,
    pending: Mutex<Pending>,
    ready: Condvar,
}

impl WalFlusher {
    /// Starts the flush thread for the database at `db` (its WAL is `<db>-wal`).
    ///
    /// # Errors
    /// The thread cannot be started.
    pub fn start(db: &std::path::Path) -> Result<Arc<Self>> {
        let mut wal = db.as_os_str().to_owned();
        wal.push("-wal");
        let flusher = Arc::new(Self { wal: PathBuf::from(wal), pending: Mutex::default(), ready: Condvar::new() });
        let running = flusher.clone();
        std::thread::Builder::new()
            .name("rhei-oltp-flush".into())
            .spawn(move || running.run())
            .map_err(|e| EngineError::Internal(format!("could not start the flush thread: {e}")))?;
        Ok(flusher)
    }

    /// Sends `result` on `reply` once everything committed so far is durable.
    pub fn answer_when_durable(&self, reply: oneshot::Sender<Result<Executed>>, result: Result<Executed>) {
        let mut pending = self.pending.lock();
        pending.answers.push((reply, result));
        self.ready.notify_one();
    }

    /// Ends the flush thread once it has answered everything handed to it.
    pub fn stop(&self) {
        self.pending.lock().stopped = true;
        self.ready.notify_one();
    }

    fn run(&self) {
        // Once a sync has failed, later ones prove nothing about the pages it covered (Linux
        // reports a write-back error once and marks the pages clean), so every later commit is
        // answered with that failure too, until a restart recovers from the WAL; PostgreSQL
        // stops the server there.
        let mut failed: Option<String> = None;
        loop {
            let answers = {
                let mut pending = self.pending.lock();
                while pending.answers.is_empty() && !pending.stopped {
                    self.ready.wait(&mut pending);
                }
                if pending.answers.is_empty() {
                    return;
                }
                std::mem::take(&mut pending.answers)
            };
            // Opened for each flush: fsync acts on the file, not the descriptor, and SQLite may
            // have created the WAL since the last one.
            if failed.is_none()
                && let Err(e) = std::fs::File::open(&self.wal).and_then(|wal| wal.sync_data())
            {
                tracing::error!("could not sync the write-ahead log {}: {e}; commits are not durable until a restart", self.wal.display());
                failed = Some(e.to_string());
            }
            for (reply, result) in answers {
                let result = match &failed {
                    None => result,
                    Some(reason) => result.and(Err(EngineError::NotDurable { reason: reason.clone() })),
                };
                let _ = reply.send(result);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn answered(flusher: &WalFlusher) -> Result<Executed> {
        let (reply, answer) = oneshot::channel();
        flusher.answer_when_durable(reply, Ok(Executed { rows_affected: 7, ..Executed::default() }));
        answer.await.expect("the flush thread dropped an answer")
    }

    /// A commit is answered after its WAL was synced; when the sync fails, the commit's
    /// caller hears so (58030), never a plain success.
    #[tokio::test]
    async fn commits_are_answered_after_the_wal_sync_and_hear_when_it_fails() {
        let dir = tempfile::tempdir().expect("temp dir");
        let db = dir.path().join("db");
        std::fs::write(dir.path().join("db-wal"), b"frames").expect("wal");
        let flusher = WalFlusher::start(&db).expect("flusher");
        assert_eq!(answered(&flusher).await.expect("synced").rows_affected, 7);

        std::fs::remove_file(dir.path().join("db-wal")).expect("remove wal");
        let err = answered(&flusher).await.expect_err("answered as durable without a WAL to sync");
        assert_eq!(err.sqlstate(), "58030");
        // A later sync that works proves nothing about what the failed one covered.
        std::fs::write(dir.path().join("db-wal"), b"frames").expect("wal again");
        let err = answered(&flusher).await.expect_err("answered as durable after a failed sync");
        assert_eq!(err.sqlstate(), "58030");
        flusher.stop();
    }
}
