//! Waiting for an answer from another thread without paying for a wakeup.
//!
//! On the virtual machines rhei is measured on, waking a thread that sleeps on another CPU
//! costs about 30 us (an inter-processor interrupt through the hypervisor), several times
//! what SQLite spends on a single-row write or a key lookup. A caller that sleeps on its
//! answer and a worker thread that sleeps on its queue pay that twice per statement: the
//! API's CRUD mix ran at 16K operations/s across two CPUs and at 68K with every thread
//! pinned to one (`examples`-style probe, `taskset -c 0`).
//!
//! So both sides look again for a short while before they sleep: the asking task polls its
//! answer between yields to its runtime (other tasks still run, nothing blocks), and the
//! writer and reader threads poll their queues for a moment after each job. An answer that
//! arrives within that window is picked up without either side being woken.
//!
//! Polling only pays while waits are short; when they are not (a session waits for another's
//! transaction, the writer waits while a session's transaction holds it) it takes CPU from the
//! very threads being waited for: pgbench's TPC-B-like run through the wire, 8 clients on 2
//! CPUs, fell from 6,100 to 2,500 transactions/s with unconditional polling. So each side
//! polls only while its last wait was shorter than its polling window ([`RecentWait`]), and
//! only while tasks on a multi-threaded runtime (applications using the Rust API) get their
//! answers quickly: a wire connection has a thread of its own that runs its statements
//! itself, and its hand-offs are not worth another thread's spinning.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::oneshot;

/// How long an asking task keeps polling before it sleeps on its answer. Longer than a
/// single-row write or key lookup takes, shorter than anything a sleep would be worth for.
const ASK_SPIN: Duration = Duration::from_micros(200);

/// How long the writer and reader threads poll their queues after a job before they sleep:
/// long enough for a caller to turn its answer into its next statement.
const SERVE_SPIN: Duration = Duration::from_micros(200);

/// How long one side waited last time, in microseconds, whether it polled or slept.
pub(crate) struct RecentWait(AtomicU64);

impl RecentWait {
    pub(crate) const fn new() -> Self {
        Self(AtomicU64::new(0))
    }

    /// Whether the last wait would have ended within `window` of polling.
    fn was_within(&self, window: Duration) -> bool {
        self.0.load(Ordering::Relaxed) < window.as_micros() as u64
    }

    pub(crate) fn record(&self, since: Instant) {
        self.0.store(since.elapsed().as_micros() as u64, Ordering::Relaxed);
    }
}

/// Waits for answers by every asking task on a multi-threaded runtime (one process-wide
/// record: the answers come from the same writer and readers). None seen yet: no polling.
static ASK_WAITS: RecentWait = RecentWait(AtomicU64::new(u64::MAX));

/// Whether some task is polling for its answer now. One at a time: several polling tasks
/// would keep every runtime worker busy on a small machine, and the threads that produce
/// the answers would wait for a CPU (8 tasks writing at once ran at a third of their rate);
/// those tasks' answers come together from group commit anyway, one wakeup for many.
static ASKING: AtomicBool = AtomicBool::new(false);

/// Holds [`ASKING`] while it lives (also when the asking future is dropped mid-poll).
struct Asking;

impl Asking {
    fn claim() -> Option<Self> {
        (ASK_WAITS.was_within(ASK_SPIN) && !ASKING.swap(true, Ordering::Acquire)).then_some(Self)
    }
}

impl Drop for Asking {
    fn drop(&mut self) {
        ASKING.store(false, Ordering::Release);
    }
}

/// The answering side went away without answering.
#[derive(Debug)]
pub(crate) struct AnswerGone;

/// The answer on `rx`, polled between yields for [`ASK_SPIN`] before waiting on it (while
/// answers come quickly and no other task is polling). Cancel-safe, like awaiting `rx`.
pub(crate) async fn answer<T>(mut rx: oneshot::Receiver<T>) -> Result<T, AnswerGone> {
    let multi_threaded = tokio::runtime::Handle::try_current()
        .is_ok_and(|runtime| runtime.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread);
    if !multi_threaded {
        return rx.await.map_err(|_| AnswerGone);
    }
    let started = Instant::now();
    if let Some(_asking) = Asking::claim() {
        loop {
            match rx.try_recv() {
                Ok(value) => {
                    ASK_WAITS.record(started);
                    return Ok(value);
                }
                // The receiver is spent once it reports the sender gone: awaiting it then
                // would panic.
                Err(oneshot::error::TryRecvError::Closed) => return Err(AnswerGone),
                Err(oneshot::error::TryRecvError::Empty) if started.elapsed() < ASK_SPIN => {
                    // Lets a thread waiting for this CPU (the one producing the answer,
                    // perhaps) run first, then lets the runtime's other tasks run.
                    std::thread::yield_now();
                    tokio::task::yield_now().await;
                }
                Err(oneshot::error::TryRecvError::Empty) => break,
            }
        }
    }
    let answer = rx.await.map_err(|_| AnswerGone);
    ASK_WAITS.record(started);
    answer
}

/// The writer thread's next message: polled for [`SERVE_SPIN`] when `waits` says that is
/// likely to find it, then waited for.
pub(crate) fn next_message<T>(rx: &mut tokio::sync::mpsc::UnboundedReceiver<T>, waits: &RecentWait) -> Option<T> {
    let started = Instant::now();
    if let Some(msg) = poll_for(waits, started, || match rx.try_recv() {
        Ok(msg) => Some(Some(msg)),
        Err(tokio::sync::mpsc::error::TryRecvError::Disconnected) => Some(None),
        Err(tokio::sync::mpsc::error::TryRecvError::Empty) => None,
    }) {
        return msg;
    }
    let msg = rx.blocking_recv();
    waits.record(started);
    msg
}

/// `ready()`'s first `Some` within [`SERVE_SPIN`] of `started`, when `waits` says that is
/// likely (a worker thread looking for its next job before it sleeps); `None` otherwise, and
/// the caller sleeps and records its wait itself.
pub(crate) fn poll_for<T>(waits: &RecentWait, started: Instant, ready: impl FnMut() -> Option<T>) -> Option<T> {
    if !ASK_WAITS.was_within(ASK_SPIN) {
        return None;
    }
    poll_within(waits, started, ready)
}

/// [`poll_for`] whoever asks.
fn poll_within<T>(waits: &RecentWait, started: Instant, mut ready: impl FnMut() -> Option<T>) -> Option<T> {
    if !waits.was_within(SERVE_SPIN) {
        return None;
    }
    while started.elapsed() < SERVE_SPIN {
        if let Some(found) = ready() {
            waits.record(started);
            return Some(found);
        }
        // Gives way to a thread that waits for this CPU (perhaps the one whose answer
        // produces the next job).
        std::thread::yield_now();
    }
    None
}

#[cfg(test)]
mod tests {
    use tokio::sync::{mpsc, oneshot};

    /// An answer that comes after the polling window is still received (by the wait that
    /// follows it), and a dropped sender is reported, not waited on forever.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn answers_arrive_before_and_after_the_polling_window() {
        let (tx, rx) = oneshot::channel();
        tx.send(1).expect("receiver alive");
        assert_eq!(super::answer(rx).await.ok(), Some(1));

        let (tx, rx) = oneshot::channel();
        let late = std::thread::spawn(move || {
            std::thread::sleep(super::ASK_SPIN * 10);
            let _ = tx.send(2);
        });
        assert_eq!(super::answer(rx).await.ok(), Some(2));
        late.join().expect("sender thread");

        let (tx, rx) = oneshot::channel::<i32>();
        drop(tx);
        assert!(super::answer(rx).await.is_err());
        // A sender dropped while the answer is polled for (this panicked: the receiver is
        // spent once it reports the sender gone).
        for _ in 0..20 {
            super::ASK_WAITS.record(std::time::Instant::now());
            let (tx, rx) = oneshot::channel::<i32>();
            let gone = std::thread::spawn(move || drop(tx));
            assert!(super::answer(rx).await.is_err());
            gone.join().expect("sender thread");
        }
    }

    /// The writer's next message is found while polling, after sleeping, and `None` comes
    /// once every sender is gone.
    #[test]
    fn the_next_message_is_found_while_polling_and_after_sleeping() {
        let (tx, mut rx) = mpsc::unbounded_channel();
        tx.send(1).expect("receiver alive");
        let waits = super::RecentWait::new();
        assert_eq!(super::next_message(&mut rx, &waits), Some(1));
        let late = std::thread::spawn(move || {
            std::thread::sleep(super::SERVE_SPIN * 10);
            tx.send(2).expect("receiver alive");
        });
        assert_eq!(super::next_message(&mut rx, &waits), Some(2));
        late.join().expect("sender thread");
        // The late message's wait was long: the next wait sleeps at once.
        assert!(!waits.was_within(super::SERVE_SPIN));
        assert_eq!(super::next_message(&mut rx, &waits), None);
    }

    /// Polling gives up after its window, and is not tried at all after a long wait, until a
    /// short one is seen again.
    #[test]
    fn polling_gives_up_after_its_window_and_stops_after_long_waits() {
        let waits = super::RecentWait::new();
        let started = std::time::Instant::now();
        assert_eq!(super::poll_within(&waits, started, || None::<()>), None);
        assert!(started.elapsed() >= super::SERVE_SPIN);
        let mut calls = 0;
        let polling = std::time::Instant::now();
        let found = super::poll_within(&waits, polling, || {
            calls += 1;
            (calls == 3).then_some(calls)
        });
        // It asks again and again: the third answer comes back, unless a busy machine kept
        // this thread off the CPU (each call yields it) until the window had passed.
        match found {
            Some(answer) => assert_eq!(answer, 3),
            None => assert!(calls < 3 && polling.elapsed() >= super::SERVE_SPIN, "gave up after {calls} calls within its window"),
        }

        waits.record(std::time::Instant::now() - super::SERVE_SPIN * 2);
        let mut polled = false;
        assert_eq!(
            super::poll_within(&waits, std::time::Instant::now(), || {
                polled = true;
                Some(())
            }),
            None
        );
        assert!(!polled, "a long last wait means no polling");
        waits.record(std::time::Instant::now());
        assert_eq!(super::poll_within(&waits, std::time::Instant::now(), || Some(())), Some(()));
    }
}
