//! PostgreSQL's notifications between sessions: `LISTEN channel`, `UNLISTEN channel | *`,
//! `NOTIFY channel [, 'payload']` and `pg_notify(channel, payload)`. Job queues, cache
//! invalidation and ORMs' change feeds (Django's channels, graphile-worker, Rails' Action
//! Cable adapter, pg-boss) wait on them instead of polling.
//!
//! As in PostgreSQL:
//! - Inside a transaction block, LISTEN, UNLISTEN and NOTIFY take effect when it commits and
//!   not at all when it rolls back (or when ROLLBACK TO passes them). At commit the session's
//!   own LISTENs start first, so a session hears what it notifies itself.
//! - A transaction sends one notification per distinct (channel, payload), in the order first
//!   sent.
//! - A listener receives nothing while its own transaction block is open: what arrives waits
//!   in its [`Mailbox`] and goes out when the block ends (the front end's job).
//! - Channel names are identifiers (at most 63 bytes); payloads are shorter than 8000 bytes.
//!
//! Notifications are in memory: they reach the sessions listening when the notifying
//! transaction commits, and none survive a restart (nor do PostgreSQL's). A listener whose
//! client reads nothing holds at most [`MAILBOX_BYTES`] of them; past that NOTIFY to its
//! channels fails with 54000, as PostgreSQL's does when its queue is full.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use datafusion::sql::sqlparser::ast::{Expr, FunctionArg, FunctionArgExpr, FunctionArguments, Query};
use parking_lot::Mutex;

use crate::error::{EngineError, Result};
use crate::oltp::writer::SessionId;

/// PostgreSQL's limit on a payload (`NOTIFY_PAYLOAD_MAX_LENGTH`), in bytes: shorter than this.
const PAYLOAD_LIMIT: usize = 8000;

/// Channel names are identifiers: at most `NAMEDATALEN - 1` bytes.
pub(crate) const CHANNEL_LIMIT: usize = 63;

/// How much memory notifications waiting for one listener take before NOTIFY to it fails.
pub const MAILBOX_BYTES: usize = 64 << 20;

/// One notification as a listener receives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    pub channel: String,
    pub payload: String,
    /// The notifying session's process ID, as its client knows it (`pg_backend_pid()`).
    pub sender_pid: i32,
}

/// Where a session's notifications wait until its front end sends them to the client.
#[derive(Debug, Default)]
pub struct Mailbox {
    waiting: Mutex<Waiting>,
    arrived: tokio::sync::Notify,
}

#[derive(Debug, Default)]
struct Waiting {
    queue: VecDeque<Notification>,
    bytes: usize,
}

impl Mailbox {
    /// The notifications that arrived, oldest first, taken out.
    pub fn take(&self) -> Vec<Notification> {
        let mut waiting = self.waiting.lock();
        waiting.bytes = 0;
        waiting.queue.drain(..).collect()
    }

    /// Returns once a notification waits (at once if one does). Cancel-safe.
    pub async fn arrival(&self) {
        loop {
            // Registered before looking, so a delivery in between is not missed.
            let arrived = self.arrived.notified();
            tokio::pin!(arrived);
            arrived.as_mut().enable();
            if !self.waiting.lock().queue.is_empty() {
                return;
            }
            arrived.await;
        }
    }

    fn deliver(&self, notification: Notification) {
        let mut waiting = self.waiting.lock();
        waiting.bytes += footprint(&notification);
        waiting.queue.push_back(notification);
        drop(waiting);
        self.arrived.notify_waiters();
    }

    fn is_full(&self) -> bool {
        self.waiting.lock().bytes >= MAILBOX_BYTES
    }

    /// The fraction of [`MAILBOX_BYTES`] waiting here.
    fn fill(&self) -> f64 {
        (self.waiting.lock().bytes as f64 / MAILBOX_BYTES as f64).min(1.0)
    }

    /// Drops what waits from `channel` (every channel: `None`), which the session stopped
    /// listening to: PostgreSQL sends nothing of a channel after UNLISTEN.
    fn forget(&self, channel: Option<&str>) {
        let mut waiting = self.waiting.lock();
        waiting.queue.retain(|n| channel.is_some_and(|c| c != n.channel));
        waiting.bytes = waiting.queue.iter().map(footprint).sum();
    }
}

/// The memory a waiting notification takes.
fn footprint(notification: &Notification) -> usize {
    std::mem::size_of::<Notification>() + notification.channel.len() + notification.payload.len()
}

/// The engine's listeners, by channel.
#[derive(Default)]
pub(crate) struct Channels {
    listeners: Mutex<HashMap<String, Listeners>>,
}

/// The sessions listening to one channel, and where their notifications go.
type Listeners = Vec<(SessionId, Arc<Mailbox>)>;

impl Channels {
    fn listen(&self, channel: &str, session: SessionId, mailbox: &Arc<Mailbox>) {
        let mut listeners = self.listeners.lock();
        let on_channel = listeners.entry(channel.to_string()).or_default();
        if !on_channel.iter().any(|(s, _)| *s == session) {
            on_channel.push((session, mailbox.clone()));
        }
    }

    fn unlisten(&self, channel: &str, session: SessionId) {
        let mut listeners = self.listeners.lock();
        if let Some(on_channel) = listeners.get_mut(channel) {
            on_channel.retain(|(s, _)| *s != session);
            if on_channel.is_empty() {
                listeners.remove(channel);
            }
        }
    }

    /// Stops `session` listening anywhere (UNLISTEN *, or the session ended).
    pub(crate) fn unlisten_all(&self, session: SessionId) {
        self.listeners.lock().retain(|_, on_channel| {
            on_channel.retain(|(s, _)| *s != session);
            !on_channel.is_empty()
        });
    }

    #[cfg(test)]
    pub(crate) fn is_empty(&self) -> bool {
        self.listeners.lock().is_empty()
    }

    /// The channels `session` listens to, in name order (`pg_listening_channels()`).
    pub(crate) fn listened_by(&self, session: SessionId) -> Vec<String> {
        let mut channels: Vec<String> =
            self.listeners.lock().iter().filter(|(_, on)| on.iter().any(|(s, _)| *s == session)).map(|(c, _)| c.clone()).collect();
        channels.sort();
        channels
    }

    /// Whether a listener of `channel` has as much waiting as it may.
    fn is_full(&self, channel: &str) -> bool {
        self.listeners.lock().get(channel).is_some_and(|on_channel| on_channel.iter().any(|(_, m)| m.is_full()))
    }

    /// `pg_notification_queue_usage()`: how full the fullest listener's mailbox is, from 0 to
    /// 1. PostgreSQL's is one queue shared by every listener, which fails NOTIFY when full;
    /// here the fullest mailbox does that.
    pub(crate) fn usage(&self) -> f64 {
        let listeners = self.listeners.lock();
        listeners.values().flatten().map(|(_, mailbox)| mailbox.fill()).fold(0.0, f64::max)
    }

    fn publish(&self, channel: &str, payload: &str, sender_pid: i32) {
        let listeners = self.listeners.lock();
        for (_, mailbox) in listeners.get(channel).into_iter().flatten() {
            mailbox.deliver(Notification { channel: channel.to_string(), payload: payload.to_string(), sender_pid });
        }
    }
}

/// What one statement asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Action {
    Listen(String),
    /// `None`: UNLISTEN *.
    Unlisten(Option<String>),
    Notify { channel: String, payload: String },
}

impl Action {
    /// The command tag of the statement that asked for it (pg_notify() answers a row instead).
    pub(crate) fn tag(&self) -> &'static str {
        match self {
            Self::Listen(_) => "LISTEN",
            Self::Unlisten(_) => "UNLISTEN",
            Self::Notify { .. } => "NOTIFY",
        }
    }
}

/// A channel name as given to LISTEN, UNLISTEN or NOTIFY: an identifier, cut to 63 bytes as
/// PostgreSQL cuts long identifiers (the bool says it was cut, which PostgreSQL notes).
pub(crate) fn channel_ident(name: String) -> (String, bool) {
    if name.len() <= CHANNEL_LIMIT {
        return (name, false);
    }
    let mut end = CHANNEL_LIMIT;
    while !name.is_char_boundary(end) {
        end -= 1;
    }
    (name[..end].to_string(), true)
}

/// A NOTIFY as pg_notify() checks it: a channel, not empty and not too long (a string here is
/// not cut as an identifier is), and a payload under the limit.
pub(crate) fn notify(channel: Option<String>, payload: Option<String>) -> Result<Action> {
    let invalid = |message: &str| EngineError::InvalidArgument { message: message.into() };
    let channel = channel.filter(|c| !c.is_empty()).ok_or_else(|| invalid("channel name cannot be empty"))?;
    if channel.len() > CHANNEL_LIMIT {
        return Err(invalid("channel name too long"));
    }
    let payload = payload.unwrap_or_default();
    if payload.len() >= PAYLOAD_LIMIT {
        return Err(invalid("payload string too long"));
    }
    // Both go out as C strings in NotificationResponse: a NUL would break every listener's
    // connection.
    if channel.contains('\0') || payload.contains('\0') {
        return Err(EngineError::NulInText);
    }
    Ok(Action::Notify { channel, payload })
}

/// A session's side: its mailbox, and what its open transaction block will do when it commits
/// (the channels it listens to are the engine's [`Channels`] to know).
#[derive(Default)]
pub(crate) struct Listening {
    mailbox: Arc<Mailbox>,
    /// In a block: each action with the number of savepoints open when it was asked for.
    pending: Vec<(usize, Action)>,
}

impl Listening {
    pub(crate) fn mailbox(&self) -> Arc<Mailbox> {
        self.mailbox.clone()
    }

    /// Refuses a NOTIFY that a listener has no room for.
    pub(crate) fn check_room(&self, engine: &Channels, action: &Action) -> Result<()> {
        match action {
            Action::Notify { channel, .. } if engine.is_full(channel) => Err(EngineError::NotifyQueueFull),
            _ => Ok(()),
        }
    }

    /// Takes `action` to be done at commit, inside a block with `savepoints` open.
    pub(crate) fn defer(&mut self, savepoints: usize, action: Action) {
        self.pending.push((savepoints, action));
    }

    /// Does `actions` now: a transaction that asked for them committed. LISTENs and UNLISTENs
    /// first, in order, then each distinct notification once.
    pub(crate) fn apply(&mut self, engine: &Channels, session: SessionId, sender_pid: i32, actions: Vec<Action>) {
        let mut notifications: Vec<(String, String)> = Vec::new();
        let mut sent = std::collections::HashSet::new();
        for action in actions {
            match action {
                Action::Listen(channel) => {
                    engine.listen(&channel, session, &self.mailbox);
                }
                Action::Unlisten(Some(channel)) => {
                    engine.unlisten(&channel, session);
                    self.mailbox.forget(Some(&channel));
                }
                Action::Unlisten(None) => {
                    engine.unlisten_all(session);
                    self.mailbox.forget(None);
                }
                Action::Notify { channel, payload } => {
                    if sent.insert((channel.clone(), payload.clone())) {
                        notifications.push((channel, payload));
                    }
                }
            }
        }
        for (channel, payload) in notifications {
            engine.publish(&channel, &payload, sender_pid);
        }
    }

    /// The block ended: what it asked for, if it committed (to [`Listening::apply`]).
    pub(crate) fn end_of_transaction(&mut self, committed: bool) -> Vec<Action> {
        let pending = std::mem::take(&mut self.pending);
        if committed { pending.into_iter().map(|(_, action)| action).collect() } else { Vec::new() }
    }

    /// `ROLLBACK TO` the savepoint that `kept` savepoints stand below: what was asked for after
    /// it is undone.
    pub(crate) fn rolled_back_to(&mut self, kept: usize) {
        self.pending.retain(|(savepoints, _)| *savepoints < kept);
    }

    /// `RELEASE` of the savepoint that `kept` savepoints stand below.
    pub(crate) fn released_to(&mut self, kept: usize) {
        self.pending.iter_mut().for_each(|(savepoints, _)| *savepoints = (*savepoints).min(kept));
    }
}

/// A `SELECT pg_listening_channels() [AS name]` and nothing else: the output column's name.
pub(crate) fn listening_channels_call(query: &Query) -> Option<String> {
    let (name, alias) = crate::translate::lone_call_without_arguments(query)?;
    (name == "pg_listening_channels").then(|| alias.unwrap_or(name))
}

/// A `SELECT pg_notification_queue_usage() [AS name]` and nothing else: the output column's name.
pub(crate) fn queue_usage_call(query: &Query) -> Option<String> {
    let (name, alias) = crate::translate::lone_call_without_arguments(query)?;
    (name == "pg_notification_queue_usage").then(|| alias.unwrap_or(name))
}

/// `query` with each `FROM pg_listening_channels()` replaced by `channels` (the session's) as
/// a derived table of one text column, named as PostgreSQL names a function's column (after
/// the alias, else the function), so the rest of the query runs on either engine as written;
/// `None` when the query has no such call.
pub(crate) fn with_listening_channels(query: &Query, channels: &[String]) -> Option<Query> {
    use datafusion::sql::sqlparser::ast::{Ident, TableAlias, TableAliasColumnDef, TableFactor, VisitMut, VisitorMut};
    struct Replace<'c> {
        rows: &'c Query,
        replaced: bool,
    }
    impl VisitorMut for Replace<'_> {
        type Break = ();
        fn pre_visit_table_factor(&mut self, factor: &mut TableFactor) -> std::ops::ControlFlow<()> {
            // WITH ORDINALITY or a second column alias is left to fail as before rather than
            // be answered without the column asked for.
            let TableFactor::Table { name, args: Some(args), alias, with_ordinality: false, .. } = factor else { return std::ops::ControlFlow::Continue(()) };
            if alias.as_ref().is_some_and(|a| a.columns.len() > 1) {
                return std::ops::ControlFlow::Continue(());
            }
            if crate::translate::builtin_name(name).as_deref() != Some("pg_listening_channels") || !args.args.is_empty() {
                return std::ops::ControlFlow::Continue(());
            }
            let table = alias.as_ref().map_or_else(|| Ident::new("pg_listening_channels"), |a| a.name.clone());
            let column = alias.as_ref().and_then(|a| a.columns.first()).map_or_else(|| table.clone(), |c| c.name.clone());
            *factor = TableFactor::Derived {
                lateral: false,
                subquery: Box::new(self.rows.clone()),
                alias: Some(TableAlias { explicit: true, name: table, columns: vec![TableAliasColumnDef { name: column, data_type: None }] }),
                sample: None,
            };
            self.replaced = true;
            std::ops::ControlFlow::Continue(())
        }
    }
    let sql = if channels.is_empty() {
        "SELECT CAST(NULL AS text) AS c WHERE 1 = 0".to_string()
    } else {
        channels.iter().map(|c| format!("SELECT CAST({} AS text) AS c", crate::naming::quote_literal(c))).collect::<Vec<_>>().join(" UNION ALL ")
    };
    let dialect = datafusion::sql::sqlparser::dialect::PostgreSqlDialect {};
    let rows = datafusion::sql::sqlparser::parser::Parser::new(&dialect).try_with_sql(&sql).and_then(|mut p| p.parse_query()).ok()?;
    let mut rewritten = query.clone();
    let mut replace = Replace { rows: &rows, replaced: false };
    let _ = rewritten.visit(&mut replace);
    replace.replaced.then_some(rewritten)
}

/// A `SELECT pg_notify(channel, payload) [AS name]` and nothing else: its two arguments and the
/// output column's name. pg_notify() elsewhere in a query is not recognized (and fails as an
/// unknown function).
pub(crate) fn pg_notify_call(query: &Query) -> Result<Option<(Expr, Expr, String)>> {
    let Some((f, alias)) = crate::translate::lone_call(query) else { return Ok(None) };
    if crate::translate::builtin_function_name(f).as_deref() != Some("pg_notify") {
        return Ok(None);
    }
    let wrong = |n: usize| EngineError::UndefinedFunction { name: format!("pg_notify({})", vec!["?"; n].join(", ")) };
    let FunctionArguments::List(list) = &f.args else { return Err(wrong(0)) };
    let [FunctionArg::Unnamed(FunctionArgExpr::Expr(channel)), FunctionArg::Unnamed(FunctionArgExpr::Expr(payload))] = list.args.as_slice()
    else {
        return Err(wrong(list.args.len()));
    };
    Ok(Some((channel.clone(), payload.clone(), alias.unwrap_or_else(|| "pg_notify".into()))))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session(n: u64) -> SessionId {
        n
    }

    #[test]
    fn a_commit_listens_before_it_notifies_and_sends_each_notification_once() {
        let engine = Channels::default();
        let mut me = Listening::default();
        me.defer(0, Action::Notify { channel: "jobs".into(), payload: "1".into() });
        me.defer(0, Action::Listen("jobs".into()));
        me.defer(0, Action::Notify { channel: "jobs".into(), payload: "1".into() });
        me.defer(0, Action::Notify { channel: "jobs".into(), payload: "2".into() });
        let actions = me.end_of_transaction(true);
        me.apply(&engine, session(1), 42, actions);
        let got: Vec<_> = me.mailbox().take().into_iter().map(|n| (n.payload, n.sender_pid)).collect();
        assert_eq!(got, vec![("1".to_string(), 42), ("2".to_string(), 42)]);
    }

    #[test]
    fn rollback_to_a_savepoint_undoes_what_came_after_it() {
        let mut me = Listening::default();
        me.defer(0, Action::Notify { channel: "c".into(), payload: "kept".into() });
        me.defer(1, Action::Notify { channel: "c".into(), payload: "undone".into() });
        me.defer(2, Action::Listen("released".into()));
        me.released_to(1);
        me.rolled_back_to(1);
        assert_eq!(me.end_of_transaction(true), vec![Action::Notify { channel: "c".into(), payload: "kept".into() }]);
        me.defer(0, Action::Listen("c".into()));
        assert!(me.end_of_transaction(false).is_empty());
    }

    #[test]
    fn only_listeners_of_the_channel_hear_it_and_unlisten_stops_them() {
        let engine = Channels::default();
        let (mut a, mut b) = (Listening::default(), Listening::default());
        a.apply(&engine, session(1), 1, vec![Action::Listen("x".into())]);
        b.apply(&engine, session(2), 2, vec![Action::Listen("y".into())]);
        b.apply(&engine, session(2), 2, vec![Action::Notify { channel: "x".into(), payload: String::new() }]);
        assert_eq!(a.mailbox().take().len(), 1);
        assert!(b.mailbox().take().is_empty());
        // What waits from a channel unlistened is not sent either.
        b.apply(&engine, session(2), 2, vec![Action::Notify { channel: "x".into(), payload: "waiting".into() }]);
        a.apply(&engine, session(1), 1, vec![Action::Unlisten(None)]);
        b.apply(&engine, session(2), 2, vec![Action::Notify { channel: "x".into(), payload: String::new() }]);
        assert!(a.mailbox().take().is_empty());
        assert!(engine.listened_by(session(1)).is_empty());
        assert!(engine.listeners.lock().get("x").is_none());
    }

    #[test]
    fn channels_and_payloads_are_checked_as_postgresql_checks_them() {
        let message = |r: Result<Action>| r.err().map(|e| e.to_string());
        assert_eq!(message(notify(None, None)).as_deref(), Some("channel name cannot be empty"));
        assert_eq!(message(notify(Some(String::new()), None)).as_deref(), Some("channel name cannot be empty"));
        assert_eq!(message(notify(Some("x".repeat(64)), None)).as_deref(), Some("channel name too long"));
        assert_eq!(message(notify(Some("x".into()), Some("p".repeat(8000)))).as_deref(), Some("payload string too long"));
        assert!(notify(Some("x".repeat(63)), Some("p".repeat(7999))).is_ok());
        assert_eq!(notify(Some("x".into()), Some("a\0b".into())).err().map(|e| e.sqlstate()), Some("22021"));
        assert_eq!(channel_ident("é".repeat(40)), ("é".repeat(31), true));
    }

    /// A client that never reads its notifications cannot take the server's memory: NOTIFY to
    /// its channels fails once it holds MAILBOX_BYTES, and works again once they are read.
    #[test]
    fn a_listener_that_reads_nothing_holds_a_bounded_amount() {
        let engine = Channels::default();
        let mut stuck = Listening::default();
        stuck.apply(&engine, session(1), 1, vec![Action::Listen("busy".into())]);
        let mut notifier = Listening::default();
        let payload = "p".repeat(PAYLOAD_LIMIT - 1);
        let mut sent = 0usize;
        loop {
            let action = Action::Notify { channel: "busy".into(), payload: payload.clone() };
            match notifier.check_room(&engine, &action) {
                Ok(()) => notifier.apply(&engine, session(2), 2, vec![action]),
                Err(e) => {
                    assert!(matches!(e, EngineError::NotifyQueueFull), "{e}");
                    break;
                }
            }
            sent += 1;
        }
        assert_eq!(sent, MAILBOX_BYTES.div_ceil(std::mem::size_of::<Notification>() + PAYLOAD_LIMIT - 1 + "busy".len()));
        let other = Action::Notify { channel: "quiet".into(), payload: String::new() };
        assert!(notifier.check_room(&engine, &other).is_ok(), "a channel nobody stuck listens to still works");
        assert_eq!(stuck.mailbox().take().len(), sent);
        let again = Action::Notify { channel: "busy".into(), payload: String::new() };
        assert!(notifier.check_room(&engine, &again).is_ok());
    }

    #[tokio::test]
    async fn a_waiting_front_end_wakes_when_a_notification_arrives() {
        let engine = Channels::default();
        let mut listener = Listening::default();
        listener.apply(&engine, session(1), 1, vec![Action::Listen("x".into())]);
        let mailbox = listener.mailbox();
        let waiter = tokio::spawn(async move {
            mailbox.arrival().await;
            mailbox.take()
        });
        tokio::task::yield_now().await;
        let mut sender = Listening::default();
        sender.apply(&engine, session(2), 7, vec![Action::Notify { channel: "x".into(), payload: "hi".into() }]);
        let got = tokio::time::timeout(std::time::Duration::from_secs(5), waiter).await.expect("woken").expect("joined");
        assert_eq!(got, vec![Notification { channel: "x".into(), payload: "hi".into(), sender_pid: 7 }]);
    }
}
