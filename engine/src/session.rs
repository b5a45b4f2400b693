//! A session: the protocol-free state of one client (transaction, route override, consistency,
//! settings) and the statement pipeline: parse with the PostgreSQL dialect, route, translate,
//! run on SQLite or the OLAP engine, and hand back [`Output`]s.
//!
//! Transactions follow PostgreSQL: inside BEGIN ... COMMIT every statement runs on SQLite's
//! writer (so it sees its own uncommitted writes); an error marks the transaction failed and every
//! later statement gets 25P02 until ROLLBACK (COMMIT of a failed transaction rolls back).

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow::array::{ArrayRef, StringArray};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use arrow::record_batch::RecordBatch;
use datafusion::common::ScalarValue;
use datafusion::sql::sqlparser::ast::{
    CopySource, CopyTarget, Expr, ObjectType, Query, Reset, SelectItem, Set, Statement, TableObject, TransactionAccessMode,
    TransactionMode, Value,
};
use datafusion::sql::sqlparser::{dialect::PostgreSqlDialect, parser::Parser};
use rhei_config::{Consistency, RouteOverride};
use rusqlite::types::Value as SqlValue;

use crate::catalog::{normalize_ident, quote_ident, table_name};
use crate::engine::EngineInner;
use crate::copy::{CopyChunk, CopyFormat, CopyIn, CopyInput};
use crate::zone::TimeZone;
use crate::describe::{self, Description};
use crate::error::{EngineError, Result};
use crate::naming;
use crate::notice::Notice;
use crate::oltp::sequence::SequenceDef;
use crate::oltp::writer::{DdlOp, RunHere, SessionId, TxnTicket, WriteOp};
use crate::oltp::{ResultShape, SqliteStatement};
use crate::output::{CommandTag, Output, RowStream};
use crate::router::{Route, RouteDecision, route_query};
use crate::session_values::{SessionFunction, SessionValue};
use crate::translate::olap::to_olap;
use crate::translate::{TranslateOptions, to_sqlite};

/// Stops a session's statement on SQLite's writer ([`Session::write_canceller`]).
#[derive(Clone)]
pub struct WriteCanceller {
    writer: crate::oltp::writer::OltpWriter,
    session: SessionId,
}

impl WriteCanceller {
    /// Interrupts the session's write or transaction statement if the writer runs it now.
    pub fn cancel(&self) {
        self.writer.cancel(self.session);
    }
}

/// Transaction status as reported in ReadyForQuery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransactionStatus {
    Idle,
    InTransaction,
    Failed,
}

#[derive(Debug, Clone, Copy)]
struct Transaction {
    read_only: bool,
    failed: bool,
    /// A statement of it has gone to the writer, which holds it open: COMMIT and ROLLBACK have
    /// something to end there (and must wait for the writer if another transaction has it).
    started: bool,
    /// This session's number for it (see [`TxnTicket`]).
    generation: u64,
}

/// Where a statement runs when rhei forwards writes to its upstream ([`Session::forwarding`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Forwarding {
    /// Answered by rhei alone.
    Local,
    /// Passed to the upstream unchanged.
    Upstream,
    /// A session setting: run by both, so rhei formats and plans as the upstream does.
    Both,
}

/// One parsed statement, ready to execute (possibly many times, with parameters).
#[derive(Debug, Clone)]
pub struct Prepared {
    /// The statement as written (with `$n` in place of lifted literals).
    pub sql: String,
    statement: Option<Arc<Statement>>,
    explain_route: bool,
    hint: Option<Route>,
    /// Literals taken out of the text by [`Session::parse_simple`], bound as its parameters.
    lifted: Vec<ScalarValue>,
    /// Parsed for `FOR SYSTEM_TIME` (the text mentions it), so it needs the temporal rewrite
    /// even where no table is temporal (to refuse it there).
    versioned: bool,
    /// A statement sqlparser does not read in PostgreSQL's form (`statement` is then `None`).
    hand_parsed: Option<Arc<HandParsed>>,
    /// `statement` calls `generate_series` where neither engine can (refused when it runs; a
    /// catalog query the front end answers may).
    series_in_expression: bool,
}

/// Statements read by rhei's own parsers.
#[derive(Debug)]
enum HandParsed {
    /// `VACUUM` / `ANALYZE`.
    Maintenance(crate::maintenance::Maintenance),
    AlterSequence(crate::alter_sequence::AlterSequence),
    /// `FETCH`, `MOVE`, `CLOSE`.
    Cursor(crate::cursor::CursorCommand),
}

impl Prepared {
    /// An entry with no parsed statement: an empty query, a VACUUM, ANALYZE or ALTER SEQUENCE (once its
    /// `hand_parsed` is set), or a rewritten query whose plans are cached under `sql`.
    fn without_statement(sql: String, hint: Option<Route>, lifted: Vec<ScalarValue>) -> Self {
        Self { sql, statement: None, explain_route: false, hint, lifted, versioned: false, hand_parsed: None, series_in_expression: false }
    }

    /// The parsed statement; `None` for an empty query.
    pub fn statement(&self) -> Option<&Statement> {
        self.statement.as_deref()
    }

    /// The parsed statement as the client wrote it: with literals lifted by
    /// [`Session::parse_simple`] put back (for front ends that answer some queries themselves).
    pub fn statement_as_written(&self) -> Option<std::borrow::Cow<'_, Statement>> {
        let stmt = self.statement.as_deref()?;
        if self.lifted.is_empty() {
            return Some(std::borrow::Cow::Borrowed(stmt));
        }
        let mut stmt = stmt.clone();
        crate::lift::restore_literals(&mut stmt, &self.lifted);
        Some(std::borrow::Cow::Owned(stmt))
    }

    /// Whether this is `EXPLAIN ROUTE ...`.
    pub fn is_explain_route(&self) -> bool {
        self.explain_route
    }

    /// Whether this is a lone call of a session function the engine answers itself (advisory
    /// locks, `pg_notify`, `pg_listening_channels`, `txid_current`), also `pg_catalog.`-qualified:
    /// a front end that answers catalog functions must leave these to the engine.
    pub fn is_session_function_call(&self) -> bool {
        let Some(Statement::Query(query)) = self.statement() else { return false };
        !matches!(crate::advisory::call(query, None), Ok(None))
            || !matches!(crate::notify::pg_notify_call(query), Ok(None))
            || crate::notify::listening_channels_call(query).is_some()
            || crate::notify::queue_usage_call(query).is_some()
            || crate::xact::call(query).is_some()
    }
}

/// Who a session is until its front end says (an embedded caller of the Rust API); the
/// database is named after the user, as PostgreSQL names it when a client gives none.
const DEFAULT_USER: &str = "rhei";

/// Settings a session starts with, as PostgreSQL 15 reports them.
const DEFAULT_SETTINGS: &[(&str, &str)] = &[
    ("application_name", ""),
    ("bytea_output", "hex"),
    ("client_encoding", "UTF8"),
    ("client_min_messages", "notice"),
    ("DateStyle", "ISO, MDY"),
    ("default_table_access_method", "heap"),
    ("default_transaction_isolation", "read committed"),
    ("default_transaction_read_only", "off"),
    ("extra_float_digits", "1"),
    ("idle_in_transaction_session_timeout", "0"),
    ("integer_datetimes", "on"),
    ("IntervalStyle", "postgres"),
    ("is_superuser", "on"),
    // rhei compiles no queries; drivers (asyncpg) read it to decide whether to turn JIT off.
    ("jit", "off"),
    ("lock_timeout", "0"),
    ("max_function_args", "100"),
    ("max_identifier_length", "63"),
    ("max_index_keys", "32"),
    ("rhei.consistency", "strong"),
    ("rhei.route", "auto"),
    ("search_path", "\"$user\", public"),
    ("server_encoding", "UTF8"),
    ("server_version", crate::SERVER_VERSION),
    ("server_version_num", "150000"),
    ("standard_conforming_strings", "on"),
    ("statement_timeout", "0"),
    ("TimeZone", "UTC"),
    ("transaction_isolation", "read committed"),
    ("transaction_read_only", "off"),
];

/// Settings a session may read but not change (SET is 22023, RESET ALL leaves them alone).
const READ_ONLY_SETTINGS: &[&str] =
    &["server_version", "server_version_num", "server_encoding", "integer_datetimes", "max_identifier_length", "max_index_keys", "max_function_args"];

fn canonical_setting(name: &str) -> Option<&'static str> {
    DEFAULT_SETTINGS.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(n, _)| *n)
}

/// The name a setting is kept under: a known one as PostgreSQL spells it, a custom one
/// (`app.tenant`) folded to lower case.
///
/// # Errors
/// 42704 for an unknown name without a dot.
fn setting_key(name: &str) -> Result<String> {
    match canonical_setting(name) {
        Some(key) => Ok(key.to_string()),
        None if name.contains('.') => Ok(name.to_ascii_lowercase()),
        None => Err(EngineError::UndefinedParameter { name: name.to_string() }),
    }
}

/// A session's settings, which a transaction block's end keeps or reverts together.
#[derive(Debug, Clone)]
struct Settings {
    route_override: RouteOverride,
    consistency: Consistency,
    /// Settings changed from [`DEFAULT_SETTINGS`] (a session is opened per API call, so the
    /// defaults are not copied into each).
    changed: BTreeMap<String, String>,
    time_zone: TimeZone,
}

/// What a savepoint statement does to the settings (see [`Session::savepoint_settings`]).
#[derive(Debug, Clone, Copy)]
enum SavepointStep {
    Set,
    Release,
    RollBackTo,
}

/// The settings a transaction block ends with.
#[derive(Debug, Clone)]
struct BlockSettings {
    /// As they were at BEGIN, which ROLLBACK goes back to.
    at_begin: Settings,
    /// As COMMIT leaves them: changed by SET, not by SET LOCAL.
    on_commit: Settings,
    /// Per open savepoint, oldest first: its name and the settings (current, on commit) at
    /// SAVEPOINT, which ROLLBACK TO goes back to.
    savepoints: Vec<(String, Settings, Settings)>,
}

/// A client's session. Dropping it rolls back an open transaction.
pub struct Session {
    engine: Arc<EngineInner>,
    id: SessionId,
    txn: Option<Transaction>,
    settings: Settings,
    /// In a transaction block, what its end leaves the settings as.
    txn_settings: Option<BlockSettings>,
    read_only_user: bool,
    /// The session is driven from a thread of its own, which may block on a key lookup.
    own_thread: bool,
    /// The number of the open transaction, 0 when none (shared with the writer's tickets).
    txn_current: Arc<std::sync::atomic::AtomicU64>,
    /// Transactions begun so far, which numbers the next.
    txn_count: u64,
    /// Notices of the statements run since the front end last took them.
    notices: Vec<Notice>,
    /// Open SQL cursors (DECLARE ... CURSOR).
    cursors: crate::cursor::Cursors,
    /// LISTEN and NOTIFY (see [`crate::notify`]).
    listening: crate::notify::Listening,
    /// The process ID the session's client was given (`pg_backend_pid()`), which listeners
    /// of its notifications see.
    backend_pid: i32,
    /// The user and database the client connected as (`current_user`, `current_database()`).
    user: String,
    database: String,
    /// The open block's transaction ID, once `txid_current()` asked for one.
    xid: Option<i64>,
    /// Settings the client gave when it connected (see [`Session::set_connection_default`]),
    /// by canonical name.
    connection_defaults: BTreeMap<String, String>,
}

impl Drop for Session {
    fn drop(&mut self) {
        self.txn_current.store(0, std::sync::atomic::Ordering::Release);
        if self.txn.is_some() {
            self.engine.writer.abandon(self.id);
        }
        self.engine.writer.session_ended(self.id);
        self.engine.advisory.release(self.id, None);
        self.engine.channels.unlisten_all(self.id);
    }
}

/// `sql` with the row-lock strengths sqlparser does not read written as the ones it does:
/// `FOR NO KEY UPDATE` as `FOR UPDATE`, `FOR KEY SHARE` as `FOR SHARE` (Django's
/// `select_for_update(no_key=True)`, job queues). rhei's writes take turns on one writer, so
/// the weaker locks PostgreSQL means hold no less. `None` where it has neither.
fn lock_strengths_as_parsed(sql: &str) -> Option<String> {
    if !naming::mentions(sql, "key") {
        return None;
    }
    let significant = Significant::of(sql)?;
    let word = |i: usize, kw: &str| significant.word(i, kw);
    let mut cuts = Vec::new();
    for i in 0..significant.0.len() {
        if !word(i, "for") {
            continue;
        }
        // From NO up to UPDATE, or from KEY up to SHARE.
        let (from, to) = if word(i + 1, "no") && word(i + 2, "key") && word(i + 3, "update") {
            (i + 1, i + 3)
        } else if word(i + 1, "key") && word(i + 2, "share") {
            (i + 1, i + 2)
        } else {
            continue;
        };
        cuts.push((significant.at(from), significant.at(to), String::new()));
    }
    edited(sql, &cuts)
}

/// The tokens of `sql` other than whitespace and comments, each with the byte offset it starts
/// at (see [`tokens_at`]), read by position.
struct Significant(Vec<(datafusion::sql::sqlparser::tokenizer::Token, usize)>);

impl Significant {
    fn of(sql: &str) -> Option<Self> {
        use datafusion::sql::sqlparser::tokenizer::Token;
        Some(Self(tokens_at(sql)?.into_iter().filter(|(t, _)| !matches!(t, Token::Whitespace(_))).collect()))
    }

    /// Whether the `i`-th is the unquoted word `keyword` (in any case).
    fn word(&self, i: usize, keyword: &str) -> bool {
        use datafusion::sql::sqlparser::tokenizer::{Token, Word};
        self.0.get(i).is_some_and(|(t, _)| matches!(t, Token::Word(Word { value, quote_style: None, .. }) if value.eq_ignore_ascii_case(keyword)))
    }

    /// Where the `i`-th starts in the text.
    fn at(&self, i: usize) -> usize {
        self.0[i].1
    }
}

/// `sql` with each byte range of `edits` (in order, not overlapping) replaced by its text;
/// `None` where there are none.
fn edited(sql: &str, edits: &[(usize, usize, String)]) -> Option<String> {
    if edits.is_empty() {
        return None;
    }
    let mut out = String::with_capacity(sql.len() + edits.iter().map(|(.., with)| with.len()).sum::<usize>());
    let mut kept = 0;
    for (from, to, with) in edits {
        out.push_str(sql.get(kept..*from)?);
        out.push_str(with);
        kept = *to;
    }
    out.push_str(sql.get(kept..)?);
    Some(out)
}

/// `sql` with the forms sqlparser does not read written as ones it does (the row locks of
/// [`lock_strengths_as_parsed`], the literals of [`network_literals_as_casts`]); `None` where
/// it has none.
fn plain_forms(sql: &str) -> Option<String> {
    let locks = lock_strengths_as_parsed(sql);
    let literals = network_literals_as_casts(locks.as_deref().unwrap_or(sql)).or(locks);
    let merges = merge_actions_as_parsed(literals.as_deref().unwrap_or(sql)).or(literals);
    create_table_forms_as_parsed(merges.as_deref().unwrap_or(sql)).or(merges)
}

/// `sql` with the forms of CREATE TABLE sqlparser does not read written as ones it does:
/// `UNLOGGED` dropped (every rhei table is crash-safe), a list of column names before AS as
/// columns of the [`crate::table_as::NAMED_COLUMN`] type, a trailing `WITH DATA` dropped and
/// `WITH NO DATA` as a query of no rows ([`crate::table_as::NO_DATA`]); `None` where it has none.
fn create_table_forms_as_parsed(sql: &str) -> Option<String> {
    use datafusion::sql::sqlparser::tokenizer::Token;
    if !naming::mentions(sql, "create") || !naming::mentions(sql, "table") {
        return None;
    }
    let significant = Significant::of(sql)?;
    let word = |i: usize, kw: &str| significant.word(i, kw);
    let is_word = |i: usize| matches!(significant.0.get(i), Some((Token::Word(_), _)));
    let is = |i: usize, token: Token| significant.0.get(i).is_some_and(|(t, _)| *t == token);
    if !word(0, "create") {
        return None;
    }
    let mut edits = Vec::new();
    let mut i = 1;
    if word(i, "global") || word(i, "local") {
        i += 1;
    }
    if word(i, "unlogged") {
        edits.push((significant.at(i), significant.at(i + 1), String::new()));
        i += 1;
    } else if word(i, "temp") || word(i, "temporary") {
        i += 1;
    }
    if !word(i, "table") {
        return None;
    }
    i += 1;
    if word(i, "if") && word(i + 1, "not") && word(i + 2, "exists") {
        i += 3;
    }
    if !is_word(i) {
        return None;
    }
    i += 1;
    while is(i, Token::Period) && is_word(i + 1) {
        i += 2;
    }
    // `(a, b) AS`: each name gets the marker type before the comma or parenthesis after it.
    if is(i, Token::LParen) {
        let mut j = i + 1;
        let mut ends = Vec::new();
        while is_word(j) && (is(j + 1, Token::Comma) || is(j + 1, Token::RParen)) {
            ends.push(j + 1);
            j += 2;
            if is(j - 1, Token::RParen) {
                break;
            }
        }
        if is(j - 1, Token::RParen) && word(j, "as") {
            edits.extend(ends.into_iter().map(|end| (significant.at(end), significant.at(end), format!(" \"{}\"", crate::table_as::NAMED_COLUMN))));
            i = j;
        }
    }
    if word(i, "as") && i + 1 < significant.0.len() {
        let mut end = significant.0.len();
        while end > i + 1 && matches!(significant.0[end - 1].0, Token::SemiColon | Token::EOF) {
            end -= 1;
        }
        let data_end = significant.at(end - 1) + "data".len();
        if end > i + 3 && word(end - 1, "data") && word(end - 2, "with") {
            edits.push((significant.at(end - 2), data_end, String::new()));
        } else if end > i + 4 && word(end - 1, "data") && word(end - 2, "no") && word(end - 3, "with") {
            let query = significant.at(i + 1);
            edits.push((query, query, "SELECT * FROM (".into()));
            edits.push((significant.at(end - 3), data_end, format!(") AS \"{}\" LIMIT 0", crate::table_as::NO_DATA)));
        }
    }
    edited(sql, &edits)
}

/// `sql` with each MERGE clause's `THEN DO NOTHING` and `THEN INSERT DEFAULT VALUES` written
/// as actions sqlparser reads, naming a column of `translate::merge`'s own: `UPDATE SET
/// "rhei do nothing" = NULL` in a WHEN MATCHED clause, `INSERT ("rhei do nothing") VALUES
/// (NULL)` in a WHEN NOT MATCHED one, `INSERT ("rhei default values") VALUES (NULL)`. `None`
/// where it has none.
fn merge_actions_as_parsed(sql: &str) -> Option<String> {
    use datafusion::sql::sqlparser::tokenizer::Token;
    if !naming::mentions(sql, "merge") || !(naming::mentions(sql, "nothing") || naming::mentions(sql, "default")) {
        return None;
    }
    let significant = Significant::of(sql)?;
    let word = |i: usize, kw: &str| significant.word(i, kw);
    // After a WITH too: its queries are in parentheses, so the MERGE is a word outside them.
    let merge_after_with = word(0, "with")
        && significant
            .0
            .iter()
            .scan(0i32, |depth, (token, _)| {
                *depth += match token {
                    Token::LParen => 1,
                    Token::RParen => -1,
                    _ => 0,
                };
                Some(*depth)
            })
            .enumerate()
            .any(|(i, depth)| depth == 0 && word(i, "merge"));
    if !word(0, "merge") && !merge_after_with {
        return None;
    }
    let nothing = quote_ident(crate::translate::merge::DO_NOTHING);
    let defaults = quote_ident(crate::translate::merge::DEFAULT_VALUES);
    let mut edits = Vec::new();
    for i in 1..significant.0.len() {
        if word(i - 1, "then") && word(i, "do") && word(i + 1, "nothing") {
            // The clause's own WHEN, not one of a CASE in its condition.
            let Some(when) = (0..i).rev().find(|&j| word(j, "when") && (word(j + 1, "matched") || (word(j + 1, "not") && word(j + 2, "matched")))) else {
                continue;
            };
            let action = if word(when + 1, "not") { format!("INSERT ({nothing}) VALUES (NULL)") } else { format!("UPDATE SET {nothing} = NULL") };
            edits.push((significant.at(i), significant.at(i + 1) + "nothing".len(), action));
        } else if word(i - 1, "then") && word(i, "insert") && word(i + 1, "default") && word(i + 2, "values") {
            edits.push((significant.at(i), significant.at(i + 2) + "values".len(), format!("INSERT ({defaults}) VALUES (NULL)")));
        }
    }
    edited(sql, &edits)
}

/// `sql` with each `inet '...'` / `cidr '...'` literal written as a cast (`'...'::inet`):
/// sqlparser reads typed literals of its own types only. `None` where it has none.
fn network_literals_as_casts(sql: &str) -> Option<String> {
    use datafusion::sql::sqlparser::tokenizer::{Token, Word};
    if !naming::mentions(sql, "inet") && !naming::mentions(sql, "cidr") {
        return None;
    }
    let tokens = tokens_at(sql)?;
    // Byte ranges to replace, in order, with their replacements.
    let mut edits: Vec<(usize, usize, String)> = Vec::new();
    for (i, (token, at)) in tokens.iter().enumerate() {
        let Token::Word(Word { value, quote_style: None, .. }) = token else { continue };
        let kind = value.to_ascii_lowercase();
        if kind != "inet" && kind != "cidr" {
            continue;
        }
        let Some(literal) = (i + 1..tokens.len()).find(|&j| !matches!(tokens[j].0, Token::Whitespace(_))) else { continue };
        if !matches!(tokens[literal].0, Token::SingleQuotedString(_)) {
            continue;
        }
        let end = tokens.get(literal + 1).map_or(sql.len(), |(_, at)| *at);
        edits.push((*at, tokens[literal].1, String::new()));
        edits.push((end, end, format!("::{kind}")));
    }
    edited(sql, &edits)
}

/// The tokens of `sql`, each with the byte offset it starts at, so that the text can be cut
/// between them: never rebuilt from tokens, whose display loses a literal's doubled quotes
/// and escapes (`'O''Brien'` would come back as `'O'Brien'`). `None` where it does not
/// tokenize.
fn tokens_at(sql: &str) -> Option<Vec<(datafusion::sql::sqlparser::tokenizer::Token, usize)>> {
    use datafusion::sql::sqlparser::tokenizer::Tokenizer;
    let tokens = Tokenizer::new(&PostgreSqlDialect {}, sql).tokenize_with_location().ok()?;
    // Where each line starts: a token's location is its line and column (in characters).
    let line_starts: Vec<usize> = std::iter::once(0).chain(sql.match_indices('\n').map(|(i, _)| i + 1)).collect();
    tokens
        .into_iter()
        .map(|t| {
            let start = *line_starts.get(usize::try_from(t.span.start.line).ok()?.checked_sub(1)?)?;
            let column = usize::try_from(t.span.start.column).ok()?.checked_sub(1)?;
            let at = sql[start..].char_indices().nth(column).map_or(sql.len(), |(i, _)| start + i);
            Some((t.token, at))
        })
        .collect()
}

/// The statements of a query string, split at the semicolons between them (not those inside
/// literals or comments); None when it does not tokenize.
fn split_statements(sql: &str) -> Option<Vec<String>> {
    use datafusion::sql::sqlparser::tokenizer::Token;
    let mut pieces = Vec::new();
    let mut start = 0;
    for (token, at) in tokens_at(sql)? {
        if token == Token::SemiColon {
            pieces.push(sql.get(start..at)?.to_string());
            start = at + 1;
        }
    }
    pieces.push(sql.get(start..)?.to_string());
    pieces.retain(|piece| !piece.trim().is_empty());
    Some(pieces)
}

/// What a query does with sequences (see `oltp::sequence`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SequenceCall {
    /// currval or lastval only.
    Reads,
    /// nextval or setval.
    Moves,
}

/// Whether `query` calls the sequence functions, which exist on the writer's connection only.
/// The text is looked at first so that other queries pay for no walk of their tree.
fn sequence_calls(sql: &str, query: &Query) -> Option<SequenceCall> {
    let bytes = sql.as_bytes();
    let called = |at: usize| bytes[at + 3..].iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'(');
    if !(0..bytes.len().saturating_sub(3)).any(|at| bytes[at..at + 3].eq_ignore_ascii_case(b"val") && called(at)) {
        return None;
    }
    let mut found = None;
    let _ = datafusion::sql::sqlparser::ast::visit_expressions(query, |expr| {
        if let Expr::Function(f) = expr {
            let name = f.name.0.last().and_then(|p| p.as_ident()).map(|i| i.value.to_ascii_lowercase()).unwrap_or_default();
            match name.as_str() {
                "nextval" | "setval" => {
                    found = Some(SequenceCall::Moves);
                    return std::ops::ControlFlow::Break(());
                }
                "currval" | "lastval" => found = Some(SequenceCall::Reads),
                _ => {}
            }
        }
        std::ops::ControlFlow::Continue(())
    });
    found
}

/// Splits a leading `/*+ olap */` or `/*+ oltp */` hint off a statement.
fn leading_hint(sql: &str) -> Option<Route> {
    let rest = sql.trim_start().strip_prefix("/*+")?;
    let (body, _) = rest.split_once("*/")?;
    match body.trim().to_ascii_lowercase().as_str() {
        "olap" => Some(Route::Olap),
        "oltp" => Some(Route::Oltp),
        _ => None,
    }
}

/// Strips leading whitespace and comments.
pub(crate) fn skip_comments(mut sql: &str) -> &str {
    loop {
        let trimmed = sql.trim_start();
        if let Some(rest) = trimmed.strip_prefix("/*") {
            sql = rest.split_once("*/").map_or("", |(_, after)| after);
        } else if let Some(rest) = trimmed.strip_prefix("--") {
            sql = rest.split_once('\n').map_or("", |(_, after)| after);
        } else {
            return trimmed;
        }
    }
}

/// The tokens of `sql` without whitespace, comments and trailing semicolons, when its first
/// word is one of `words` (the statements read by hand: VACUUM, ALTER SEQUENCE, FETCH...);
/// `None` for any other text, which is not tokenized, or one that does not tokenize.
pub(crate) fn tokens_if_first_word(sql: &str, words: &[&str]) -> Option<Vec<datafusion::sql::sqlparser::tokenizer::Token>> {
    use datafusion::sql::sqlparser::tokenizer::{Token, Tokenizer};
    let body = skip_comments(sql);
    let first = body.split(|c: char| !c.is_ascii_alphabetic()).next().unwrap_or_default();
    if !words.iter().any(|w| first.eq_ignore_ascii_case(w)) {
        return None;
    }
    let tokens = Tokenizer::new(&PostgreSqlDialect {}, body).tokenize().ok()?;
    let mut tokens: Vec<Token> = tokens.into_iter().filter(|t| !matches!(t, Token::Whitespace(_))).collect();
    while tokens.last() == Some(&Token::SemiColon) {
        tokens.pop();
    }
    Some(tokens)
}

/// `EXPLAIN ROUTE <query>`: the query text, if `sql` is that.
fn explain_route_body(sql: &str) -> Option<&str> {
    let s = skip_comments(sql);
    let head = s.get(..7)?;
    if !head.eq_ignore_ascii_case("explain") {
        return None;
    }
    let rest = s[7..].trim_start();
    let word = rest.get(..5)?;
    (word.eq_ignore_ascii_case("route") && rest[5..].starts_with(char::is_whitespace)).then(|| &rest[5..])
}

fn parse_error(e: datafusion::sql::sqlparser::parser::ParserError) -> EngineError {
    EngineError::syntax(e.to_string().trim_start_matches("sql parser error: "))
}

/// Converts a parameter to SQLite's storage form.
fn sqlite_param(value: &ScalarValue) -> Result<SqlValue> {
    use ScalarValue as S;
    Ok(match value {
        v if v.is_null() => SqlValue::Null,
        S::Boolean(Some(b)) => SqlValue::Integer(i64::from(*b)),
        S::Int8(Some(v)) => SqlValue::Integer((*v).into()),
        S::Int16(Some(v)) => SqlValue::Integer((*v).into()),
        S::Int32(Some(v)) => SqlValue::Integer((*v).into()),
        S::Int64(Some(v)) => SqlValue::Integer(*v),
        S::UInt8(Some(v)) => SqlValue::Integer((*v).into()),
        S::UInt16(Some(v)) => SqlValue::Integer((*v).into()),
        S::UInt32(Some(v)) => SqlValue::Integer((*v).into()),
        S::Float32(Some(v)) => crate::oltp::float_value((*v).into()),
        S::Float64(Some(v)) => crate::oltp::float_value(*v),
        S::Decimal128(Some(v), _, s) => SqlValue::Text(crate::value::format_decimal(*v, *s)),
        S::Decimal256(Some(v), _, s) => SqlValue::Text(crate::value::format_decimal256(*v, *s)),
        S::Utf8(Some(s)) | S::LargeUtf8(Some(s)) | S::Utf8View(Some(s)) => SqlValue::Text(s.clone()),
        S::Binary(Some(b)) | S::LargeBinary(Some(b)) | S::BinaryView(Some(b)) => SqlValue::Blob(b.clone()),
        S::Date32(Some(d)) => SqlValue::Integer((*d).into()),
        S::TimestampMicrosecond(Some(t), _) => SqlValue::Integer(*t),
        S::Time64Microsecond(Some(t)) => SqlValue::Integer(*t),
        // SQLite holds an interval as PostgreSQL's text for it (see `oltp::intervals`).
        S::IntervalMonthDayNano(Some(i)) => SqlValue::Text(crate::value::format_interval(i.months, i.days, i.nanoseconds / 1000)),
        S::TimestampMillisecond(Some(t), _) => SqlValue::Integer(*t * 1000),
        S::TimestampSecond(Some(t), _) => SqlValue::Integer(*t * 1_000_000),
        S::TimestampNanosecond(Some(t), _) => SqlValue::Integer(t.div_euclid(1000)),
        // An array (`= ANY ($1)`) goes to SQLite as a JSON array of its elements' storage
        // values, which json_each reads (see `translate::array_membership`).
        S::List(list) if arrow::array::Array::len(list.as_ref()) == 1 => {
            let values = &list.value(0);
            let mut elements = Vec::with_capacity(values.len());
            for i in 0..values.len() {
                let element = ScalarValue::try_from_array(values, i).map_err(|e| EngineError::Internal(e.to_string()))?;
                elements.push(crate::oltp::functions::storage_json(sqlite_param(&element)?)?);
            }
            SqlValue::Text(serde_json::Value::Array(elements).to_string())
        }
        other => return Err(EngineError::unsupported(format!("parameters of type {}", other.data_type()))),
    })
}

fn single_text_column(name: &str, values: Vec<String>) -> Result<RecordBatch> {
    RecordBatch::try_new(
        Arc::new(Schema::new(vec![Field::new(name, DataType::Utf8, false)])),
        vec![Arc::new(StringArray::from(values)) as ArrayRef],
    )
    .map_err(|e| EngineError::Internal(e.to_string()))
}

fn set_value_text(values: &[Expr]) -> String {
    values
        .iter()
        .map(|v| match v {
            Expr::Value(v) => match &v.value {
                Value::SingleQuotedString(s) | Value::DoubleQuotedString(s) => s.clone(),
                other => other.to_string(),
            },
            Expr::Identifier(ident) => ident.value.clone(),
            other => other.to_string(),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Fixed-offset time zones: `UTC`, `GMT`, `Z`, `+02`, `-05:30`, `UTC+3` (POSIX sign reversed
/// as in PostgreSQL is not followed: rhei reads ISO 8601 offsets). Other names count as UTC.
impl Session {
    pub(crate) fn new(engine: Arc<EngineInner>, id: SessionId) -> Self {
        let consistency = engine.config.consistency;
        let mut changed = BTreeMap::new();
        if consistency != Consistency::Strong {
            changed.insert("rhei.consistency".to_string(), consistency.as_str().to_string());
        }
        Self {
            engine,
            id,
            txn: None,
            settings: Settings { route_override: RouteOverride::Auto, consistency, changed, time_zone: TimeZone::UTC },
            txn_settings: None,
            read_only_user: false,
            own_thread: false,
            txn_current: Arc::default(),
            txn_count: 0,
            notices: Vec::new(),
            cursors: crate::cursor::Cursors::default(),
            listening: crate::notify::Listening::default(),
            backend_pid: 0,
            user: DEFAULT_USER.to_string(),
            database: DEFAULT_USER.to_string(),
            xid: None,
            connection_defaults: BTreeMap::new(),
        }
    }

    /// The notices raised since the last call, as far as `client_min_messages` lets them reach
    /// the client.
    pub fn take_notices(&mut self) -> Vec<Notice> {
        if self.notices.is_empty() {
            return Vec::new();
        }
        let min = self.setting("client_min_messages").unwrap_or("notice").to_string();
        std::mem::take(&mut self.notices).into_iter().filter(|n| n.level.reaches(&min)).collect()
    }

    /// This session's id (unique within the engine).
    pub fn id(&self) -> SessionId {
        self.id
    }

    pub fn transaction_status(&self) -> TransactionStatus {
        match self.txn {
            None => TransactionStatus::Idle,
            Some(t) if t.failed => TransactionStatus::Failed,
            Some(_) => TransactionStatus::InTransaction,
        }
    }

    /// A setting's current value (names are case-insensitive).
    /// When a statement starting now must end by, from `statement_timeout` (`None` when it is 0).
    fn statement_deadline(&self) -> Option<tokio::time::Instant> {
        let timeout = self.setting("statement_timeout").and_then(parse_duration_ms).filter(|ms| *ms > 0)?;
        Some(tokio::time::Instant::now() + std::time::Duration::from_millis(timeout))
    }

    pub fn setting(&self, name: &str) -> Option<&str> {
        // Read several times per statement (the front end's encoding settings): a known name
        // is looked up without making a key.
        if let Some((key, default)) = DEFAULT_SETTINGS.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)) {
            return Some(self.settings.changed.get(*key).map_or(*default, String::as_str));
        }
        self.settings.changed.get(&name.to_ascii_lowercase()).map(String::as_str)
    }

    /// The engine's catalog as of now (an immutable snapshot), for front ends that answer
    /// catalog queries themselves.
    pub fn catalog(&self) -> Arc<crate::catalog::Catalog> {
        self.engine.catalog()
    }

    /// Every sequence, with the row id its OID derives from (for the front end's catalog).
    pub fn sequences(&self) -> Vec<(i64, SequenceDef)> {
        self.engine.writer.sequences()
    }

    /// Rows per table in the OLAP copy as last published (for catalog views such as
    /// `pg_stat_user_tables`; no wait, no scan).
    pub fn table_row_counts(&self) -> Vec<(String, u64)> {
        self.engine.olap.table_stats().into_iter().map(|t| (t.name, t.rows)).collect()
    }

    /// All settings, as `SHOW ALL` lists them.
    pub fn settings(&self) -> impl Iterator<Item = (&str, &str)> {
        let defaults = DEFAULT_SETTINGS.iter().filter(|(k, _)| !self.settings.changed.contains_key(*k)).map(|(k, v)| (*k, *v));
        let mut all: Vec<(&str, &str)> = defaults.chain(self.settings.changed.iter().map(|(k, v)| (k.as_str(), v.as_str()))).collect();
        all.sort_unstable_by(|a, b| a.0.cmp(b.0));
        all.into_iter()
    }

    /// Sets a setting as `SET` does, validating rhei's own (a front end uses this for startup
    /// parameters). In a transaction block the change lasts if the block commits.
    ///
    /// # Errors
    /// Unknown non-custom names (42704) and invalid values of rhei's settings (22023).
    pub fn set(&mut self, name: &str, value: &str) -> Result<()> {
        self.apply_setting(name, value)?;
        // The same change to the settings the block commits with, applied by the same code.
        if let Some(mut block) = self.txn_settings.take() {
            std::mem::swap(&mut self.settings, &mut block.on_commit);
            let applied = self.apply_setting(name, value);
            std::mem::swap(&mut self.settings, &mut block.on_commit);
            self.txn_settings = Some(block);
            applied?;
        }
        Ok(())
    }

    /// Sets a setting as `SET LOCAL` (and `set_config(..., true)`) does: until the transaction
    /// block ends. Outside one it changes nothing, but a bad name or value is still refused.
    ///
    /// # Errors
    /// As [`Session::set`].
    pub fn set_local(&mut self, name: &str, value: &str) -> Result<()> {
        if self.txn_settings.is_some() {
            return self.apply_setting(name, value);
        }
        let unchanged = self.settings.clone();
        let checked = self.apply_setting(name, value);
        self.settings = unchanged;
        checked
    }

    /// `SET LOCAL`: [`Session::set_local`], with PostgreSQL's warning outside a block.
    fn set_local_statement(&mut self, name: &str, value: &str) -> Result<()> {
        if self.txn_settings.is_none() {
            self.notices.push(Notice::warning("25P01", "SET LOCAL can only be used in transaction blocks"));
        }
        self.set_local(name, value)
    }

    fn apply_setting(&mut self, name: &str, value: &str) -> Result<()> {
        let key = setting_key(name)?;
        let invalid = |_| EngineError::InvalidParameterValue { name: key.clone(), value: value.to_string() };
        match key.as_str() {
            "rhei.route" => self.settings.route_override = RouteOverride::parse(&key, value).map_err(invalid)?,
            "rhei.consistency" => self.settings.consistency = Consistency::parse(&key, value).map_err(invalid)?,
            "TimeZone" => {
                self.settings.time_zone = TimeZone::parse(value)
                    .ok_or_else(|| EngineError::InvalidParameterValue { name: key.clone(), value: value.to_string() })?;
                // SHOW gives a zone's name as the zone database spells it, as PostgreSQL does.
                if let TimeZone::Named(tz) = self.settings.time_zone {
                    self.settings.changed.insert(key, tz.name().to_string());
                    return Ok(());
                }
            }
            // One of PostgreSQL's four styles, kept as it spells them (SHOW gives `iso_8601`).
            "IntervalStyle" => {
                let style = value.trim().to_ascii_lowercase();
                if !["postgres", "postgres_verbose", "sql_standard", "iso_8601"].contains(&style.as_str()) {
                    // Named as the statement names it, folded as an identifier is.
                    return Err(EngineError::InvalidParameterValue { name: name.to_ascii_lowercase(), value: value.to_string() });
                }
                self.settings.changed.insert(key, style);
                return Ok(());
            }
            "statement_timeout" | "lock_timeout" | "idle_in_transaction_session_timeout" if parse_duration_ms(value).is_none() => {
                return Err(EngineError::InvalidParameterValue { name: key, value: value.to_string() });
            }
            crate::temporal::AS_OF_SETTING if !crate::temporal::is_valid_as_of(value) => {
                return Err(EngineError::InvalidParameterValue { name: key, value: value.to_string() });
            }
            read_only if READ_ONLY_SETTINGS.contains(&read_only) => {
                return Err(EngineError::InvalidParameterValue { name: key, value: value.to_string() });
            }
            _ => {}
        }
        self.settings.changed.insert(key, value.to_string());
        Ok(())
    }

    /// Sets a setting the client gave when it connected (the startup packet, its `options`):
    /// RESET and RESET ALL return to it, not to the server's default, as in PostgreSQL.
    ///
    /// # Errors
    /// As [`Session::set`].
    pub fn set_connection_default(&mut self, name: &str, value: &str) -> Result<()> {
        self.set(name, value)?;
        self.connection_defaults.insert(setting_key(name)?, value.to_string());
        Ok(())
    }

    fn reset(&mut self, name: &str) -> Result<()> {
        let default = self.default_setting(name)?;
        self.set(name, &default)
    }

    /// The value a setting has in this session before any SET: the client's at connection,
    /// else the server's default; a custom one (`app.tenant`, `rhei.as_of`) is empty, as
    /// PostgreSQL's placeholders are once reset.
    fn default_setting(&self, name: &str) -> Result<String> {
        let key = match canonical_setting(name) {
            Some(key) => key,
            None if name.contains('.') => {
                return Ok(self.connection_defaults.get(&name.to_ascii_lowercase()).cloned().unwrap_or_default());
            }
            None => return Err(EngineError::UndefinedParameter { name: name.to_string() }),
        };
        if let Some(value) = self.connection_defaults.get(key) {
            return Ok(value.clone());
        }
        Ok(match key {
            "rhei.consistency" => self.engine.config.consistency.as_str(),
            _ => DEFAULT_SETTINGS.iter().find(|(k, _)| *k == key).map_or("", |(_, v)| *v),
        }
        .to_string())
    }

    /// A parameter sent as text, read as `target` with PostgreSQL's input rules in this
    /// session's time zone (see [`crate::value::parameter_from_text`]).
    ///
    /// # Errors
    /// The input error PostgreSQL gives for the text.
    pub fn parameter_from_text(&self, text: &str, target: &DataType) -> Result<ScalarValue> {
        crate::value::parameter_from_text(text, target, self.settings.time_zone)
    }

    /// The session time zone's offset east of UTC (`SET TimeZone`), for showing timestamptz.
    /// The session's `TimeZone`, in which timestamptz values are shown and zone-less input is
    /// read.
    pub fn time_zone(&self) -> TimeZone {
        self.settings.time_zone
    }

    /// The session's `IntervalStyle`, in which front ends write interval results.
    pub fn interval_style(&self) -> crate::value::IntervalStyle {
        crate::value::IntervalStyle::of_setting(self.setting("IntervalStyle").unwrap_or("postgres"))
    }

    fn opts(&self) -> TranslateOptions {
        TranslateOptions { time_zone: self.settings.time_zone }
    }

    /// Parses a query string into its statements (none for an empty string).
    ///
    /// # Errors
    /// [`EngineError::Syntax`] when it does not parse.
    pub fn parse(&self, sql: &str) -> Result<Vec<Prepared>> {
        if let Some(statements) = self.engine.parsed(sql).and_then(|parsed| parsed.statements.clone()) {
            return Ok(statements);
        }
        let statements = self.parse_uncached(sql)?;
        self.engine.remember_parse(sql, Some(statements.clone()));
        Ok(statements)
    }

    /// Parses a simple-protocol query string, whose statements run once with no parameters.
    /// Writes that differ only in their literals share one parse and one translation: the
    /// literals are lifted into parameters where that cannot change the meaning (see
    /// [`crate::lift`]).
    ///
    /// # Errors
    /// [`EngineError::Syntax`] when it does not parse.
    pub fn parse_simple(&self, sql: &str) -> Result<Vec<Prepared>> {
        let Some(lifted) = crate::lift::lift_literals(sql) else { return self.parse(sql) };
        let parsed = match self.engine.parsed(&lifted.text) {
            Some(parsed) => parsed,
            None => self.engine.remember_parse(&lifted.text, self.parse_uncached(&lifted.text).ok()),
        };
        let safe = *parsed.lift_safe.get_or_init(|| {
            matches!(parsed.statements.as_deref(), Some([p]) if p.hint.is_none() && !p.explain_route
                && p.statement().is_some_and(|s| crate::lift::lift_is_safe(s, lifted.values.len())))
        });
        let lifted_statement = parsed.statements.as_deref().filter(|_| safe).and_then(|statements| statements.first());
        let Some(statement) = lifted_statement.filter(|p| {
            !p.statement().is_some_and(|s| crate::lift::number_into_refusing_column(s, &lifted.values, || self.engine.catalog()))
        }) else {
            return self.parse(sql);
        };
        Ok(vec![Prepared { lifted: lifted.values, ..statement.clone() }])
    }

    fn parse_uncached(&self, sql: &str) -> Result<Vec<Prepared>> {
        let hint = leading_hint(sql);
        if let Some(body) = explain_route_body(sql) {
            let mut statements = Parser::parse_sql(&PostgreSqlDialect {}, body).map_err(parse_error)?;
            if statements.len() != 1 {
                return Err(EngineError::syntax("EXPLAIN ROUTE takes exactly one statement"));
            }
            statements.iter_mut().for_each(crate::translate::unqualify_public);
            statements.iter_mut().for_each(crate::translate::distinct_from_binding_as_postgresql);
            return Ok(vec![Prepared {
                sql: sql.to_string(),
                statement: statements.pop().map(Arc::new),
                explain_route: true,
                hint: leading_hint(body).or(hint),
                lifted: Vec::new(),
                versioned: false,
                hand_parsed: None,
                series_in_expression: false,
            }]);
        }
        if skip_comments(sql).trim_matches(|c: char| c == ';' || c.is_whitespace()).is_empty() {
            return Ok(vec![Prepared::without_statement(sql.to_string(), None, Vec::new())]);
        }
        let hand_parsed = match (crate::maintenance::parse(sql), crate::alter_sequence::parse(sql)) {
            (Some(maintenance), _) => Some(HandParsed::Maintenance(maintenance?)),
            (None, Some(alter)) => Some(HandParsed::AlterSequence(alter?)),
            (None, None) => crate::cursor::parse(sql).transpose()?.map(HandParsed::Cursor),
        };
        if let Some(hand_parsed) = hand_parsed {
            let hand_parsed = Some(Arc::new(hand_parsed));
            return Ok(vec![Prepared { hand_parsed, ..Prepared::without_statement(sql.to_string(), None, Vec::new()) }]);
        }
        let versioned = crate::temporal::mentions_system_time(sql);
        let parsed = if versioned {
            crate::temporal::parse(sql)
        } else {
            Parser::parse_sql(&PostgreSqlDialect {}, sql)
        };
        let statements = match parsed {
            Ok(statements) => statements,
            // sqlparser reads data after `COPY ... FROM STDIN;` and so wants the `;` that
            // clients do not send.
            Err(e) => {
                let body = skip_comments(sql).trim_end();
                if body.len() > 4 && body.get(..4).is_some_and(|head| head.eq_ignore_ascii_case("copy")) {
                    let body = crate::copy::normalize_boolean_options(body).unwrap_or_else(|| body.to_string());
                    let body = if body.ends_with(';') { body } else { format!("{body};") };
                    Parser::parse_sql(&PostgreSqlDialect {}, &body).map_err(|_| parse_error(e))?
                } else if let Some(reordered) = crate::oltp::sequence::options_in_parser_order(sql) {
                    Parser::parse_sql(&PostgreSqlDialect {}, &reordered).map_err(|_| parse_error(e))?
                } else if let Some(plain) = plain_forms(sql) {
                    Parser::parse_sql(&PostgreSqlDialect {}, &plain).map_err(|_| parse_error(e))?
                } else if let Some(pieces) = split_statements(sql).filter(|pieces| pieces.len() > 1) {
                    // Several statements where one needs rhei's own reading (ALTER SEQUENCE,
                    // a CREATE SEQUENCE as pg_dump orders it): each is read alone.
                    let mut all = Vec::new();
                    for piece in pieces {
                        all.extend(self.parse_uncached(&piece)?);
                    }
                    return Ok(all);
                } else {
                    return Err(parse_error(e));
                }
            }
        };
        let single = statements.len() == 1;
        let statements: Vec<Statement> = statements
            .into_iter()
            .map(|mut statement| {
                crate::translate::unqualify_public(&mut statement);
                crate::translate::distinct_from_binding_as_postgresql(&mut statement);
                crate::translate::check_cte_names(&statement)?;
                crate::translate::check_aliased_references(&statement)?;
                crate::translate::normalize_data_modifying_with(&mut statement)?;
                crate::translate::normalize_query_clauses(&mut statement)?;
                crate::translate::lateral::decorrelate(&mut statement)?;
                crate::translate::normalize_operators(&mut statement);
                crate::translate::expand_tuple_assignments(&mut statement)?;
                crate::translate::quantified::normalize_quantified(&mut statement);
                crate::translate::normalize_set_returning(&mut statement);
                crate::translate::json_sets::normalize(&mut statement)?;
                crate::translate::arrays::set_functions_as_unnests(&mut statement)?;
                crate::translate::arrays::check_unnest_aliases(&statement)?;
                crate::translate::network::select_list_literals_as_casts(&mut statement);
                Ok(statement)
            })
            .collect::<Result<_>>()?;
        Ok(statements
            .into_iter()
            .enumerate()
            .map(|(i, statement)| Prepared {
                sql: if single { sql.to_string() } else { statement.to_string() },
                series_in_expression: crate::translate::calls_series_in_expression(&statement),
                statement: Some(Arc::new(statement)),
                explain_route: false,
                hint: if i == 0 { hint } else { None },
                lifted: Vec::new(),
                versioned,
                hand_parsed: None,
            })
            .collect())
    }

    /// Parses and runs every statement of `sql`, reading each result whole before the next
    /// statement runs; stops at the first error.
    ///
    /// # Errors
    /// The first statement's error.
    pub async fn execute(&mut self, sql: &str) -> Result<Vec<(Option<CommandTag>, Vec<RecordBatch>)>> {
        let mut out = Vec::new();
        for prepared in self.parse_simple(sql)? {
            match self.execute_prepared(&prepared, &[]).await? {
                Output::Rows(rows) => {
                    let command = rows.command();
                    let batches = rows.collect().await?;
                    let n = batches.iter().map(|b| b.num_rows() as u64).sum();
                    out.push((Some(CommandTag::with_rows(command, n)), batches));
                }
                Output::Command(tag) => out.push((Some(tag), Vec::new())),
                Output::Empty => out.push((None, Vec::new())),
                Output::CopyOut(rows, _) => {
                    let batches = rows.collect().await?;
                    let n = batches.iter().map(|b| b.num_rows() as u64).sum();
                    out.push((Some(CommandTag::with_rows("COPY", n)), batches));
                }
                Output::CopyIn(_) => {
                    return Err(EngineError::unsupported("COPY FROM STDIN without a client to send the data (use Session::copy_in)"));
                }
            }
        }
        Ok(out)
    }

    /// Runs one statement with parameters (`$1` is `params[0]`).
    ///
    /// # Errors
    /// The statement's error; in a failed transaction, 25P02 for anything but its end.
    pub async fn execute_prepared(&mut self, prepared: &Prepared, params: &[ScalarValue]) -> Result<Output> {
        let Some(stmt) = prepared.statement.as_deref() else {
            return match prepared.hand_parsed.as_deref() {
                Some(HandParsed::Maintenance(maintenance)) => self.maintain(maintenance).await,
                Some(HandParsed::AlterSequence(alter)) => {
                    if self.txn.is_some_and(|t| t.failed) {
                        return Err(EngineError::InFailedTransaction);
                    }
                    self.check_writable("ALTER SEQUENCE")?;
                    let result = self.ddl(DdlOp::AlterSequence(alter.clone()), "ALTER SEQUENCE").await;
                    if result.is_err()
                        && let Some(txn) = self.txn.as_mut()
                    {
                        txn.failed = true;
                    }
                    result
                }
                Some(HandParsed::Cursor(command)) => {
                    if self.txn.is_some_and(|t| t.failed) {
                        return Err(EngineError::InFailedTransaction);
                    }
                    let result = self.cursor_command(command).await;
                    if result.is_err()
                        && let Some(txn) = self.txn.as_mut()
                    {
                        txn.failed = true;
                    }
                    result
                }
                None => Ok(Output::Empty),
            };
        };
        let params = if params.is_empty() { prepared.lifted.as_slice() } else { params };
        if let Some(txn) = self.txn
            && txn.failed
            && !matches!(stmt, Statement::Rollback { .. } | Statement::Commit { .. })
        {
            return Err(EngineError::InFailedTransaction);
        }
        let result = self.dispatch(prepared, stmt, params).await.map_err(|e| {
            let catalog = self.engine.catalog();
            crate::key_detail::with_key_values(catalog.name_unique_violation(e), stmt, params, &catalog)
        });
        if result.is_err()
            && let Some(txn) = self.txn.as_mut()
        {
            txn.failed = true;
        }
        result
    }

    /// Opens a cursor over a query (DECLARE): its rows wait in the session until fetched.
    async fn declare(&mut self, prepared: &Prepared, declare: &datafusion::sql::sqlparser::ast::Declare, params: &[ScalarValue]) -> Result<Output> {
        let (Some(query), [name]) = (declare.for_query.as_deref(), declare.names.as_slice()) else {
            return Err(EngineError::unsupported("DECLARE other than DECLARE name CURSOR FOR query"));
        };
        if declare.binary == Some(true) {
            return Err(EngineError::unsupported("DECLARE ... BINARY CURSOR (drivers ask for binary results in the protocol)"));
        }
        let hold = declare.hold == Some(true);
        if !hold && self.txn.is_none() {
            return Err(EngineError::CursorOutsideTransaction);
        }
        let name = normalize_ident(name);
        if self.cursors.schema(&name).is_some() {
            return Err(EngineError::DuplicateCursor { name });
        }
        let inner = Prepared { sql: query.to_string(), statement: Some(Arc::new(Statement::Query(Box::new(query.clone())))), ..prepared.clone() };
        let Output::Rows(mut rows) = self.query(&inner, query, params).await? else {
            return Err(EngineError::Internal("a cursor's query gave no rows".into()));
        };
        // A held read of SQLite outside a block would keep one of the few reader threads (and
        // a snapshot, which holds back checkpoints) until closed: read whole now, as
        // PostgreSQL materializes a WITH HOLD cursor.
        if self.txn.is_none() && rows.route() == Route::Oltp {
            let schema = rows.schema().clone();
            let batches = rows.collect().await?;
            rows = RowStream::from_batches(schema, Route::Oltp, "SELECT", batches);
        }
        // statement_timeout bounds each FETCH, not the cursor's life.
        let in_block = self.txn.is_some();
        let savepoints = self.txn_settings.as_ref().map_or(0, |block| block.savepoints.len());
        self.cursors.declare(name, rows.with_deadline(None), declare.scroll == Some(true), hold, in_block, savepoints)?;
        Ok(Output::Command(CommandTag::new("DECLARE CURSOR")))
    }

    async fn cursor_command(&mut self, command: &crate::cursor::CursorCommand) -> Result<Output> {
        match command {
            crate::cursor::CursorCommand::Close { cursor } => {
                self.cursors.close(cursor.as_deref())?;
                Ok(Output::Command(CommandTag::new(if cursor.is_some() { "CLOSE CURSOR" } else { "CLOSE CURSOR ALL" })))
            }
            crate::cursor::CursorCommand::Fetch { cursor, direction, skip } => {
                let deadline = self.statement_deadline();
                let (schema, route, batches, rows) = within(deadline, self.cursors.fetch(cursor, *direction, *skip)).await?;
                if *skip {
                    return Ok(Output::Command(CommandTag::with_rows("MOVE", rows)));
                }
                Ok(Output::Rows(RowStream::from_batches(schema, route, "FETCH", batches)))
            }
        }
    }

    /// The columns a FETCH from the named cursor returns (a front end's Describe of the
    /// cursor's portal), if the session has it open.
    pub fn cursor_schema(&self, name: &str) -> Option<SchemaRef> {
        self.cursors.schema(name)
    }

    /// The parameter types and result columns of a parsed statement, without running it (the
    /// extended protocol's Describe). Queries are planned on the OLAP engine once it knows every
    /// committed table; writes are typed from the catalog.
    ///
    /// # Errors
    /// Unknown tables or columns, and queries neither engine can describe.
    pub async fn describe(&mut self, prepared: &Prepared) -> Result<Description> {
        let Some(stmt) = prepared.statement.as_deref() else {
            let columns = match prepared.hand_parsed.as_deref() {
                Some(HandParsed::Cursor(crate::cursor::CursorCommand::Fetch { cursor, skip: false, .. })) => self.cursors.schema(cursor),
                _ => None,
            };
            return Ok(Description { params: Vec::new(), columns });
        };
        // Outside a transaction the answer depends only on the text and the catalog; drivers
        // that prepare every statement (tokio-postgres, JDBC) would otherwise plan each one twice.
        let cacheable = self.txn.is_none() && matches!(stmt, Statement::Query(_) | Statement::Insert(_) | Statement::Update(_) | Statement::Delete(_));
        if cacheable && let Some(description) = self.engine.cached_description(&prepared.sql) {
            return Ok(description);
        }
        let catalog = self.engine.catalog();
        let description = Box::pin(self.describe_uncached(prepared, stmt)).await?;
        if cacheable {
            self.engine.cache_description(&prepared.sql, catalog, &description);
        }
        Ok(description)
    }

    async fn describe_uncached(&mut self, prepared: &Prepared, stmt: &Statement) -> Result<Description> {
        let catalog = self.engine.catalog();
        let mut params = describe::infer_param_types(stmt, &catalog);
        if prepared.explain_route {
            return Ok(Description { params, columns: Some(explain_route_schema()) });
        }
        let columns = match stmt {
            // A parameter's type from the statements the MERGE runs (`VALUES ($1)` of its INSERT,
            // `SET qty = $2`, a comparison with a column).
            _ if let Some((merge, with)) = merged(stmt) => {
                let plan = crate::translate::merge::plan(merge, with, &catalog)?;
                for part in plan.matched.iter().chain(plan.writes.iter().map(|w| &w.statement)).map(|s| describe::infer_param_types(s, &catalog)) {
                    for (i, ty) in part.into_iter().enumerate() {
                        if params.len() <= i {
                            params.resize(i + 1, None);
                        }
                        if params[i].is_none() {
                            params[i] = ty;
                        }
                    }
                }
                None
            }
            // SELECT ... INTO answers with a command tag, as CREATE TABLE ... AS does.
            Statement::Query(query) if crate::table_as::select_into(query).is_some() => None,
            // Described as the statement reading the writes' rows is.
            Statement::Query(query) if crate::translate::writing_with::writes(query) => {
                let split = crate::translate::writing_with::split(query, &catalog, returning_names)?;
                let main = Box::pin(self.describe_uncached(prepared, &split.main)).await?;
                // A parameter's type from wherever it is used: the statement as written, each
                // write alone (`VALUES ($1)` of an INSERT), the statement reading their rows.
                let parts = std::iter::once(main.params).chain(split.steps.iter().map(|step| describe::infer_param_types(&step.write, &catalog)));
                for part in parts {
                    for (i, ty) in part.into_iter().enumerate() {
                        if params.len() <= i {
                            params.resize(i + 1, None);
                        }
                        if params[i].is_none() {
                            params[i] = ty;
                        }
                    }
                }
                main.columns
            }
            Statement::Query(query) if let Some(call) = crate::advisory::call(query, None)? => {
                // The key is a bigint (or two integers) however the client sent it.
                let key_type = if call.arguments == 2 { DataType::Int32 } else { DataType::Int64 };
                params = params.into_iter().map(|p| p.or(Some(key_type.clone()))).collect();
                Some(crate::advisory::schema(&call))
            }
            Statement::Query(query) if let Some((_, column)) = crate::xact::call(query) => Some(xid_schema(&column)),
            Statement::Query(query) if let Some(column) = crate::notify::listening_channels_call(query) => Some(void_schema(&column)),
            Statement::Query(query) if let Some(column) = crate::notify::queue_usage_call(query) => Some(queue_usage_schema(&column)),
            Statement::Query(query) if let Some((_, _, column)) = crate::notify::pg_notify_call(query)? => {
                params = params.into_iter().map(|p| p.or(Some(DataType::Utf8))).collect();
                Some(void_schema(&column))
            }
            Statement::Query(query) if crate::status::reads_status(&prepared.sql, query, &catalog) => {
                let (schema, types) = crate::status::describe(&self.engine, query).await?;
                params = types;
                Some(renamed_schema(&schema, naming::output_names(query)))
            }
            Statement::Query(query) => {
                let behind = self.engine.copy_for_planning().await?;
                let names = naming::output_names(query);
                let mut olap_stmt = match self.rewritten_query(prepared, query)? {
                    Some((_, rewritten)) => Statement::Query(Box::new(rewritten)),
                    None => stmt.clone(),
                };
                to_olap(&mut olap_stmt, &catalog, self.settings.time_zone);
                crate::translate::array_comparisons_as_true(&mut olap_stmt);
                let unpublished = if self.txn.is_some() { tables_read(&olap_stmt, &catalog) } else { Vec::new() };
                let planned = self.engine.olap.plan_schema(olap_stmt, unpublished).await;
                if let (Err(e), Some(behind)) = (&planned, behind)
                    && e.is_semantic()
                {
                    return Err(behind);
                }
                match planned {
                    Ok(planned) => {
                        for (i, ty) in planned.params.into_iter().enumerate() {
                            if let Some(ty) = ty {
                                if params.len() <= i {
                                    params.resize(i + 1, None);
                                }
                                if !params[i].as_ref().is_some_and(describe::keeps_over_planned) {
                                    params[i] = Some(ty);
                                }
                            }
                        }
                        // Described as SQLite answers them: exact text at its own scale
                        // (DataFusion's answer is a decimal either way).
                        let exact = crate::translate::numeric_arithmetic::exact_result_columns(stmt, &catalog);
                        let schema = renamed_schema(&planned.schema, names);
                        Some(if exact.contains(&true) { with_exact_numeric_columns(&schema, &exact) } else { schema })
                    }
                    // Inside a transaction a table may exist only in SQLite so far; outside one
                    // the planner's verdict on names stands.
                    Err(e) if self.txn.is_none() && matches!(e.sqlstate(), "42P01" | "42703" | "42601") => {
                        return Err(e);
                    }
                    Err(e) => match names {
                        Some(names) => Some(Arc::new(Schema::new(
                            names.into_iter().map(|n| Field::new(n, DataType::Utf8, true)).collect::<Vec<_>>(),
                        ))),
                        None => return Err(e),
                    },
                }
            }
            Statement::Insert(_) | Statement::Update(_) | Statement::Delete(_) => {
                // RETURNING items are typed as the statement that runs has them.
                let values = self.with_session_values(prepared, stmt);
                let stmt = values.as_ref().map_or(stmt, |(_, with_values)| with_values);
                match returning_items(stmt) {
                    Some(_) => {
                        let mut shape = returning_shape(stmt, &catalog)?;
                        mark_exact_returning(&mut shape, &crate::translate::numeric_arithmetic::exact_returning_columns(stmt, &catalog));
                        let shape = self.typed_returning(shape, stmt, &catalog).await?;
                        // Declared types travel with the fields, as a query's do: without them an
                        // unconstrained numeric was described as the OLAP copy's decimal, and its
                        // exact text cast to ten places.
                        let declared = shape.declared.into_iter().chain(std::iter::repeat(None));
                        Some(Arc::new(Schema::new(
                            shape
                                .names
                                .into_iter()
                                .zip(shape.types)
                                .zip(declared)
                                .map(|((n, t), declared)| {
                                    let field = Field::new(n.unwrap_or_default(), t.unwrap_or(DataType::Utf8), true);
                                    crate::catalog::types::with_declared_type(field, declared)
                                })
                                .collect::<Vec<_>>(),
                        )))
                    }
                    None => None,
                }
            }
            Statement::ShowVariable { variable } => match self.show(variable)? {
                Output::Rows(rows) => Some(rows.schema().clone()),
                _ => None,
            },
            _ => None,
        };
        Ok(Description { params, columns })
    }

    /// The session's consistency level (`rhei.consistency`).
    pub fn consistency(&self) -> Consistency {
        self.settings.consistency
    }

    /// Where `prepared` runs when rhei stands in front of its upstream (a sidecar with write
    /// forwarding). The upstream stays the database of record: rhei answers only what its
    /// replica answers as the upstream would, which is analytical reads of replicated tables
    /// (and, with `rhei.as_of` or `FOR SYSTEM_TIME`, any read: only rhei has the history), plus
    /// rhei's own settings and views. A read the router would give SQLite (a point read) is the
    /// upstream's, as is a read of a table rhei does not follow.
    pub fn forwarding(&self, prepared: &Prepared) -> Forwarding {
        // VACUUM, ANALYZE and ALTER SEQUENCE are the upstream's to run on its objects.
        if prepared.hand_parsed.is_some() {
            return Forwarding::Upstream;
        }
        let Some(stmt) = prepared.statement() else { return Forwarding::Local };
        if prepared.explain_route || prepared.versioned {
            return Forwarding::Local;
        }
        let rhei_setting = |name: &str| name.trim_matches('"').to_ascii_lowercase().starts_with("rhei.");
        match stmt {
            Statement::Query(query)
                if crate::translate::writing_with::writes(query)
                    || crate::translate::merge::of_query(query).is_some()
                    || crate::table_as::select_into(query).is_some() =>
            {
                Forwarding::Upstream
            }
            // Notifications are the upstream's, whatever the route or time travel settings say.
            Statement::Query(query) if matches!(crate::notify::pg_notify_call(query), Ok(Some(_)) | Err(_)) => Forwarding::Upstream,
            Statement::Query(query) if crate::notify::listening_channels_call(query).is_some() => Forwarding::Upstream,
            Statement::Query(query) if crate::notify::queue_usage_call(query).is_some() => Forwarding::Upstream,
            Statement::Query(query) => {
                let (known, reads_view) = self.relations_known(query);
                if !query.locks.is_empty() || !known {
                    return Forwarding::Upstream;
                }
                let as_of = self.setting(crate::temporal::AS_OF_SETTING).is_some_and(|v| !v.is_empty());
                // Who the session is, upstream, is the upstream connection's user, database and
                // process: a query asking is answered there, as its writes were.
                if !as_of && !reads_view && crate::session_values::calls(query) {
                    return Forwarding::Upstream;
                }
                // A query DataFusion takes only for its array values is the upstream's, as it
                // was before rhei answered arrays: PostgreSQL has them all.
                let decision = self.decide_route(query, prepared.hint);
                if as_of || reads_view || (decision.route == Route::Olap && decision.reason != crate::router::ARRAY_VALUE_REASON) {
                    Forwarding::Local
                } else {
                    Forwarding::Upstream
                }
            }
            Statement::Set(Set::SingleAssignment { variable, .. }) if rhei_setting(&variable.to_string()) => Forwarding::Local,
            Statement::Reset(reset) => match &reset.reset {
                Reset::ConfigurationParameter(name) if rhei_setting(&name.to_string()) => Forwarding::Local,
                _ => Forwarding::Both,
            },
            Statement::Set(_) => Forwarding::Both,
            // A pooler's reset: the upstream session's state and rhei's own settings both.
            Statement::Discard { object_type: datafusion::sql::sqlparser::ast::DiscardObject::ALL } => Forwarding::Both,
            Statement::ShowVariable { variable } if rhei_setting(&variable.iter().map(|i| i.value.as_str()).collect::<Vec<_>>().join(".")) => {
                Forwarding::Local
            }
            _ => Forwarding::Upstream,
        }
    }

    /// Whether every relation `query` reads is a table or view this rhei has, and whether one
    /// is rhei's own view.
    fn relations_known(&self, query: &Query) -> (bool, bool) {
        let catalog = self.engine.catalog();
        let ctes: std::collections::HashSet<String> = query
            .with
            .as_ref()
            .map(|w| w.cte_tables.iter().map(|c| normalize_ident(&c.alias.name)).collect())
            .unwrap_or_default();
        let mut reads_view = false;
        let unknown = datafusion::sql::sqlparser::ast::visit_relations(query, |name| match table_name(name) {
            Ok(t) if catalog.get(&t).is_some() || ctes.contains(&t) => std::ops::ControlFlow::Continue(()),
            Ok(t) if crate::status::is_view(&t) => {
                reads_view = true;
                std::ops::ControlFlow::Continue(())
            }
            _ => std::ops::ControlFlow::Break(()),
        });
        (unknown.is_continue(), reads_view)
    }

    /// Where a query would run and why.
    pub fn decide_route(&self, query: &Query, hint: Option<Route>) -> RouteDecision {
        if self.txn.is_some() {
            return RouteDecision::new(Route::Oltp, "inside a transaction block");
        }
        // Like sequences, these exist on one engine only: no hint or setting sends them away.
        if crate::translate::json_sets::called(query)
            || (crate::translate::arrays::unnests_a_column(query) && crate::translate::arrays::unnest_only_sqlite_runs(query, &self.engine.catalog()))
        {
            return route_query(query, &self.engine.catalog());
        }
        if let Some(route) = hint {
            return RouteDecision::new(route, "query hint");
        }
        match self.settings.route_override {
            RouteOverride::Oltp => RouteDecision::new(Route::Oltp, "SET rhei.route"),
            RouteOverride::Olap => RouteDecision::new(Route::Olap, "SET rhei.route"),
            RouteOverride::Auto => self.held_back_route(query, self.zone_route(query, route_query(query, &self.engine.catalog()))),
        }
    }

    /// The automatic route, kept off the OLAP engine for a query that reads a table its copy
    /// holds back (see `sync::HeldBack`): SQLite has all of it.
    fn held_back_route(&self, query: &Query, decision: RouteDecision) -> RouteDecision {
        if decision.route != Route::Olap {
            return decision;
        }
        match self.engine.held_back_table(query) {
            Some((table, reason)) => RouteDecision::new(
                Route::Oltp,
                format!("table \"{table}\" is held back from the OLAP copy, so SQLite reads it: {reason}"),
            ),
            None => decision,
        }
    }

    /// The automatic route, kept off DataFusion for a query that computes wall-clock time in a
    /// session zone other than UTC (see [`crate::translate::reads_local_time`]).
    fn zone_route(&self, query: &Query, decision: RouteDecision) -> RouteDecision {
        if decision.route != Route::Olap || self.settings.time_zone == TimeZone::UTC {
            return decision;
        }
        let stmt = Statement::Query(Box::new(query.clone()));
        if !crate::translate::reads_local_time(&stmt, &self.engine.catalog()) {
            return decision;
        }
        RouteDecision::new(
            Route::Oltp,
            "timestamptz as wall-clock time in a session time zone other than UTC (the OLAP engine computes it in UTC)",
        )
    }

    async fn dispatch(&mut self, prepared: &Prepared, stmt: &Statement, params: &[ScalarValue]) -> Result<Output> {
        // Checked here, not at parse time: the front end answers catalog queries (which may
        // call generate_series in a select list) itself before they get here.
        if prepared.series_in_expression {
            return Err(crate::translate::series_in_expression());
        }
        if prepared.explain_route {
            let decision = match stmt {
                // Routed as it runs: views and the session's values put in.
                Statement::Query(q) => match self.rewritten_query(prepared, q)? {
                    Some((_, rewritten)) => self.decide_route(&rewritten, prepared.hint),
                    None => self.decide_route(q, prepared.hint),
                },
                _ => RouteDecision::new(Route::Oltp, "writes, DDL and session commands run on SQLite"),
            };
            let batch = RecordBatch::try_new(
                explain_route_schema(),
                vec![
                    Arc::new(StringArray::from(vec![decision.route.to_string()])),
                    Arc::new(StringArray::from(vec![decision.reason])),
                ],
            )
            .map_err(|e| EngineError::Internal(e.to_string()))?;
            return Ok(Output::Rows(RowStream::buffered(batch.schema(), Route::Oltp, "EXPLAIN", vec![batch])));
        }
        match stmt {
            Statement::Query(q) if let Some(table_as) = crate::table_as::TableAs::of_select_into(q)? => {
                Box::pin(self.create_table_as(prepared, table_as, params)).await
            }
            Statement::Query(q) if let Some((merge, with)) = crate::translate::merge::of_query(q) => {
                if crate::translate::writing_with::writes(q) {
                    return Err(EngineError::unsupported("a WITH query that writes before MERGE"));
                }
                Box::pin(self.merge(merge, with, params)).await
            }
            Statement::Query(q) if crate::translate::writing_with::writes(q) => Box::pin(self.writing_with(prepared, q, params)).await,
            Statement::Query(q) => self.query(prepared, q, params).await,
            // A cursor command among other statements of one query string (asyncpg's pool
            // resets a connection with `...; CLOSE ALL; UNLISTEN *; ...`) comes parsed.
            Statement::Close { .. } | Statement::Fetch { .. } => Box::pin(self.cursor_command(&crate::cursor::from_statement(stmt)?)).await,
            Statement::Declare { stmts } => match stmts.as_slice() {
                [declare] => Box::pin(self.declare(prepared, declare, params)).await,
                _ => Err(EngineError::unsupported("DECLARE of several cursors at once")),
            },
            Statement::Insert(_) | Statement::Update(_) | Statement::Delete(_) => self.dml(prepared, stmt, params).await,
            Statement::Merge(merge) => Box::pin(self.merge(merge, None, params)).await,
            Statement::CreateTable(create) if let Some(table_as) = crate::table_as::TableAs::of_create(create)? => {
                Box::pin(self.create_table_as(prepared, table_as, params)).await
            }
            Statement::CreateTable(create) => {
                self.check_writable("CREATE TABLE")?;
                let mut create = create.clone();
                crate::translate::ddl::like_columns_written_out(&mut create, &self.engine.catalog())?;
                let op = DdlOp::CreateTable { create: Box::new(create), opts: self.opts() };
                self.ddl(op, "CREATE TABLE").await
            }
            Statement::CreateView(create) => {
                self.check_writable("CREATE VIEW")?;
                Box::pin(self.create_view(create)).await
            }
            Statement::AlterTable(alter) => {
                self.check_writable("ALTER TABLE")?;
                let op = DdlOp::AlterTable {
                    name: table_name(&alter.name)?,
                    if_exists: alter.if_exists,
                    operations: alter.operations.clone(),
                    opts: self.opts(),
                };
                self.ddl(op, "ALTER TABLE").await
            }
            Statement::Comment { object_type, object_name, comment, if_exists } => {
                self.check_writable("COMMENT")?;
                use datafusion::sql::sqlparser::ast::CommentObject;
                let (table, column) = match object_type {
                    CommentObject::Table => (table_name(object_name)?, None),
                    // `t.c` (or `schema.t.c`): the last part names the column.
                    CommentObject::Column if object_name.0.len() >= 2 => {
                        let mut parts = object_name.0.clone();
                        let column = parts.pop().and_then(|p| p.as_ident().map(normalize_ident));
                        (table_name(&datafusion::sql::sqlparser::ast::ObjectName(parts))?, column)
                    }
                    CommentObject::Column => return Err(EngineError::syntax("column name must be qualified")),
                    other => return Err(EngineError::unsupported(format!("COMMENT ON {other}"))),
                };
                if *if_exists && self.engine.catalog().get(&table).is_none() {
                    return Ok(Output::Command(CommandTag::new("COMMENT")));
                }
                // An empty comment removes it, as in PostgreSQL.
                let comment = comment.clone().filter(|c| !c.is_empty());
                self.ddl(DdlOp::Comment { table, column, comment }, "COMMENT").await
            }
            Statement::Drop { object_type, if_exists, names, cascade, .. } => {
                self.check_writable("DROP")?;
                match object_type {
                    ObjectType::Table => {
                        let names = names.iter().map(table_name).collect::<Result<Vec<_>>>()?;
                        self.ddl(DdlOp::DropTables { names, if_exists: *if_exists, cascade: *cascade }, "DROP TABLE").await
                    }
                    ObjectType::Index => {
                        let names = names.iter().map(table_name).collect::<Result<Vec<_>>>()?;
                        self.ddl(DdlOp::DropIndexes { names, if_exists: *if_exists }, "DROP INDEX").await
                    }
                    ObjectType::Sequence => {
                        let names = names.iter().map(table_name).collect::<Result<Vec<_>>>()?;
                        self.ddl(DdlOp::DropSequences { names, if_exists: *if_exists, cascade: *cascade }, "DROP SEQUENCE").await
                    }
                    ObjectType::View => {
                        let names = names.iter().map(table_name).collect::<Result<Vec<_>>>()?;
                        self.ddl(DdlOp::DropViews { names, if_exists: *if_exists, cascade: *cascade }, "DROP VIEW").await
                    }
                    ObjectType::Type => {
                        let names = names.iter().map(table_name).collect::<Result<Vec<_>>>()?;
                        self.ddl(DdlOp::DropTypes { names, if_exists: *if_exists, cascade: *cascade }, "DROP TYPE").await
                    }
                    other => Err(EngineError::unsupported(format!("DROP {other}"))),
                }
            }
            Statement::CreateType { name, representation } => {
                self.check_writable("CREATE TYPE")?;
                let Some(datafusion::sql::sqlparser::ast::UserDefinedTypeRepresentation::Enum { labels }) = representation else {
                    return Err(EngineError::unsupported("CREATE TYPE other than AS ENUM"));
                };
                // Labels are string literals (sqlparser also reads words there).
                if let Some(word) = labels.iter().find(|l| l.quote_style != Some('\'')) {
                    return Err(EngineError::syntax(format!("syntax error at or near \"{}\"", word.value)));
                }
                let labels = labels.iter().map(|l| l.value.clone()).collect();
                self.ddl(DdlOp::CreateEnum { name: table_name(name)?, labels }, "CREATE TYPE").await
            }
            Statement::AlterType(alter) => {
                self.check_writable("ALTER TYPE")?;
                self.ddl(DdlOp::AlterEnum { name: table_name(&alter.name)?, operation: alter.operation.clone() }, "ALTER TYPE").await
            }
            Statement::CreateSequence { temporary, if_not_exists, name, data_type, sequence_options, owned_by } => {
                self.check_writable("CREATE SEQUENCE")?;
                if *temporary {
                    return Err(EngineError::unsupported("CREATE TEMPORARY SEQUENCE"));
                }
                let def = SequenceDef::from_options(name, data_type.as_ref(), sequence_options, owned_by.as_ref())?;
                self.ddl(DdlOp::CreateSequence { def, if_not_exists: *if_not_exists }, "CREATE SEQUENCE").await
            }
            Statement::CreateIndex(index) => {
                self.check_writable("CREATE INDEX")?;
                let (table, def) = index_def(index, &self.engine.catalog())?;
                self.ddl(DdlOp::CreateIndex { table, index: def, if_not_exists: index.if_not_exists }, "CREATE INDEX").await
            }
            Statement::Truncate(truncate) => {
                self.check_writable("TRUNCATE TABLE")?;
                let names = truncate.table_names.iter().map(|t| table_name(&t.name)).collect::<Result<Vec<_>>>()?;
                let restart_identity = matches!(truncate.identity, Some(datafusion::sql::sqlparser::ast::TruncateIdentityOption::Restart));
                let cascade = matches!(truncate.cascade, Some(datafusion::sql::sqlparser::ast::CascadeOption::Cascade));
                self.ddl(DdlOp::Truncate { names, restart_identity, cascade }, "TRUNCATE TABLE").await
            }
            Statement::StartTransaction { modes, .. } => self.begin(modes).await,
            Statement::Commit { .. } => self.commit().await,
            Statement::Rollback { savepoint: None, .. } => self.rollback().await,
            Statement::Rollback { savepoint: Some(name), .. } => {
                self.savepoint_op(WriteOp::RollbackTo(normalize_ident(name)), "ROLLBACK").await
            }
            Statement::Savepoint { name } => self.savepoint_op(WriteOp::Savepoint(normalize_ident(name)), "SAVEPOINT").await,
            Statement::ReleaseSavepoint { name } => {
                self.savepoint_op(WriteOp::Release(normalize_ident(name)), "RELEASE").await
            }
            Statement::Copy { source, to, target, options, legacy_options, .. } => {
                let format = CopyFormat::from_options(options, legacy_options)?;
                Box::pin(self.copy(source, *to, target, format, prepared.hint)).await
            }
            Statement::LISTEN { channel } => {
                let channel = self.channel_name(channel);
                self.notification(crate::notify::Action::Listen(channel))
            }
            // `UNLISTEN *` comes as the channel `*` unquoted; `UNLISTEN "*"` names a channel.
            Statement::UNLISTEN { channel } if channel.value == "*" && channel.quote_style.is_none() => {
                self.notification(crate::notify::Action::Unlisten(None))
            }
            Statement::UNLISTEN { channel } => {
                let channel = self.channel_name(channel);
                self.notification(crate::notify::Action::Unlisten(Some(channel)))
            }
            Statement::NOTIFY { channel, payload } => {
                let channel = self.channel_name(channel);
                self.notification(crate::notify::notify(Some(channel), payload.clone())?)
            }
            Statement::Set(set) => self.set_statement(set),
            Statement::ShowVariable { variable } => self.show(variable),
            Statement::Reset(reset) => {
                match &reset.reset {
                    Reset::ALL => self.reset_all()?,
                    Reset::ConfigurationParameter(name) => self.reset(&name.to_string())?,
                }
                Ok(Output::Command(CommandTag::new("RESET")))
            }
            Statement::Discard { object_type } => self.discard(*object_type),
            other => Err(EngineError::unsupported(format!("statement {}", first_words(&other.to_string())))),
        }
    }

    async fn copy(
        &mut self,
        source: &CopySource,
        to: bool,
        target: &CopyTarget,
        format: CopyFormat,
        hint: Option<Route>,
    ) -> Result<Output> {
        let catalog = self.engine.catalog();
        if !to {
            if !matches!(target, CopyTarget::Stdin) {
                return Err(EngineError::unsupported("COPY FROM a file or program on the server (use psql's \\copy)"));
            }
            let CopySource::Table { table_name: name, columns } = source else {
                return Err(EngineError::syntax("COPY FROM needs a table"));
            };
            self.check_writable("COPY FROM")?;
            let def = catalog.require(&table_name(name)?)?;
            let columns = if columns.is_empty() {
                def.columns.iter().map(|c| c.name.clone()).collect()
            } else {
                let mut names = Vec::with_capacity(columns.len());
                for ident in columns {
                    let name = normalize_ident(ident);
                    if def.column_index(&name).is_none() {
                        return Err(EngineError::UndefinedColumn { column: name, table: Some(def.name.clone()) });
                    }
                    names.push(name);
                }
                names
            };
            return Ok(Output::CopyIn(CopyIn { table: def.name.clone(), columns, format }));
        }
        if !matches!(target, CopyTarget::Stdout) {
            return Err(EngineError::unsupported("COPY TO a file or program on the server (use psql's \\copy)"));
        }
        let query = match source {
            CopySource::Query(query) => query.as_ref().clone(),
            CopySource::Table { table_name: name, columns } => {
                let def = catalog.require(&table_name(name)?)?;
                let list = if columns.is_empty() {
                    def.columns.iter().map(|c| quote_ident(&c.name)).collect::<Vec<_>>().join(", ")
                } else {
                    columns.iter().map(|c| quote_ident(&normalize_ident(c))).collect::<Vec<_>>().join(", ")
                };
                let sql = format!("SELECT {list} FROM {}", quote_ident(&def.name));
                match Parser::parse_sql(&PostgreSqlDialect {}, &sql).map_err(parse_error)?.pop() {
                    Some(Statement::Query(q)) => *q,
                    _ => return Err(EngineError::Internal("COPY TO query did not parse".into())),
                }
            }
        };
        // The cache key of the query's plans is its own text, not the COPY statement's.
        let prepared = Prepared::without_statement(query.to_string(), hint, Vec::new());
        match self.query(&prepared, &query, &[]).await? {
            Output::Rows(rows) => Ok(Output::CopyOut(rows, format)),
            _ => Err(EngineError::Internal("COPY TO query gave no rows".into())),
        }
    }

    /// Starts loading a `COPY ... FROM STDIN` (the [`Output::CopyIn`] of its statement): hand
    /// the data to the returned load as it arrives, then end it with
    /// [`Session::copy_in_finish`] or [`Session::copy_in_fail`]. Every row is loaded or none;
    /// a load dropped unfinished loads nothing. Once the first rows are converted the writer is
    /// this load's until it ends (as in an explicit transaction): other sessions' writes wait
    /// behind a client that stalls in the middle of a large COPY.
    ///
    /// # Errors
    /// 25P02 in a failed transaction; an unknown column; the writer gone.
    pub fn copy_in_start(&mut self, spec: &CopyIn) -> Result<CopyLoad> {
        if let Some(txn) = self.txn
            && txn.failed
        {
            return Err(EngineError::InFailedTransaction);
        }
        let catalog = self.engine.catalog();
        let def = catalog.require(&spec.table)?;
        let mut types = Vec::with_capacity(spec.columns.len());
        for name in &spec.columns {
            let column = def
                .column_index(name)
                .ok_or_else(|| EngineError::UndefinedColumn { column: name.clone(), table: Some(def.name.clone()) })?;
            types.push(def.columns[column].ty);
        }
        let mut columns: Vec<String> = spec.columns.iter().map(|c| quote_ident(c)).collect();
        let mut values: Vec<String> = (1..=types.len()).map(|i| format!("?{i}")).collect();
        // A key left out takes its default, or fails as PostgreSQL does; SQLite would number it.
        if let Some((key, value)) = crate::translate::unwritten_key(&def, |name| spec.columns.iter().any(|c| c == name), self.opts())? {
            columns.push(quote_ident(&key.name));
            values.push(value.to_string());
        }
        let insert = format!("INSERT INTO {} ({}) VALUES ({})", quote_ident(&def.name), columns.join(", "), values.join(", "));
        // Parsing and conversion run on a blocking thread as the data arrives, a few chunks
        // ahead of the writer; a few CopyData messages may wait for it, then the client does.
        let (input, mut data) = tokio::sync::mpsc::channel(COPY_INPUT_MESSAGES);
        let format = spec.format.clone();
        let tz = self.settings.time_zone;
        let every_column = def.columns.len() == spec.columns.len()
            && def.columns.iter().zip(&spec.columns).all(|(c, name)| c.name == *name);
        let schema = every_column.then(|| def.arrow_schema());
        let want_batches = Arc::new(std::sync::atomic::AtomicBool::new(schema.is_some()));
        let (tx, chunks) = std::sync::mpsc::sync_channel(4);
        let expected = (def.id, spec.columns.iter().cloned().zip(types.iter().copied()).collect());
        let op = WriteOp::CopyValues { table: def.name.clone(), expected, insert, chunks, want_batches: want_batches.clone() };
        let (started_tx, started) = tokio::sync::oneshot::channel();
        if let Some(txn) = self.txn.as_mut() {
            txn.started = true;
        }
        let ticket = self.txn.map(|t| TxnTicket::new(self.txn_current.clone(), t.generation));
        let mut writer_start = Some((self.engine.writer.clone(), self.id, ticket, op, started_tx));
        let converter = tokio::task::spawn_blocking(move || {
            // The writer is asked for only once there are rows for it (or the input ended), so
            // a client typing its rows in by hand does not hold up every other session's writes.
            let mut out = |chunk: CopyChunk| {
                if let Some((writer, id, ticket, op, started)) = writer_start.take() {
                    if let CopyChunk::Failed(e) = chunk {
                        let _ = started.send(Err(e));
                        return false;
                    }
                    let submitted = writer.submit(id, ticket, op);
                    let ok = submitted.is_ok();
                    let _ = started.send(submitted);
                    if !ok {
                        return false;
                    }
                }
                tx.send(chunk).is_ok()
            };
            crate::copy::feed_writer(&format, &mut data, &types, tz, schema, &want_batches, &mut out);
        });
        Ok(CopyLoad { input, converter, started })
    }

    /// Ends a COPY FROM STDIN whose data has all arrived. Returns the rows loaded.
    ///
    /// # Errors
    /// Malformed data (22P04) and the usual type and constraint errors; nothing is loaded then.
    pub async fn copy_in_finish(&mut self, load: CopyLoad) -> Result<u64> {
        // A converter that already stopped (bad data) has sent the writer its error.
        let _ = load.input.send(CopyInput::End).await;
        let done = self.copy_in_end(load).await.map_err(|e| self.engine.catalog().name_unique_violation(e));
        done.map(|done| done.rows_affected)
    }

    /// Ends a COPY FROM STDIN the client gave up on (CopyFail with `message`): nothing is loaded.
    pub async fn copy_in_fail(&mut self, load: CopyLoad, message: &str) -> EngineError {
        let _ = self.copy_in_end(load).await;
        self.fail_transaction();
        EngineError::CopyFailed { message: message.to_string() }
    }

    async fn copy_in_end(&mut self, load: CopyLoad) -> Result<crate::oltp::Executed> {
        let CopyLoad { input, converter, started } = load;
        drop(input);
        let done = match started.await {
            Ok(Ok(written)) => written.answer().await,
            Ok(Err(e)) => Err(e),
            Err(_) => Err(EngineError::Internal("the COPY converter stopped".into())),
        };
        // The writer drops its end of the chunks when it stops, so the converter ends too.
        let _ = converter.await;
        match done {
            Ok(done) => {
                if self.txn.is_none() {
                    self.engine.sync.request();
                }
                Ok(done)
            }
            Err(e) => {
                self.fail_transaction();
                Err(e)
            }
        }
    }

    /// Marks an explicit transaction failed (25P02 until it ends).
    fn fail_transaction(&mut self) {
        if let Some(txn) = self.txn.as_mut() {
            txn.failed = true;
        }
    }

    fn check_writable(&self, statement: &str) -> Result<()> {
        if let Some(upstream) = self.engine.replica_of.get() {
            return Err(EngineError::ReadOnlyReplica { statement: statement.to_string(), upstream: upstream.clone() });
        }
        match self.txn {
            _ if self.read_only_user => Err(EngineError::ReadOnlyTransaction { statement: statement.to_string() }),
            Some(t) if t.read_only => Err(EngineError::ReadOnlyTransaction { statement: statement.to_string() }),
            _ => Ok(()),
        }
    }

    /// Makes this session read-only for good (a user configured `read_only`): writes, DDL and
    /// COPY FROM fail with 25006, as in a PostgreSQL read-only transaction.
    pub fn set_read_only_user(&mut self, read_only: bool) {
        self.read_only_user = read_only;
        if read_only {
            self.settings.changed.insert("default_transaction_read_only".into(), "on".into());
            self.settings.changed.insert("transaction_read_only".into(), "on".into());
        }
    }

    /// Declares that this session is driven from a thread of its own (as the wire server runs
    /// each client connection), not from an async runtime's shared workers. Key lookups then run
    /// on that thread, skipping the hand-off to a reader thread and back, which costs more than
    /// the lookup (see `oltp::reader`).
    pub fn set_own_thread(&mut self, own_thread: bool) {
        self.own_thread = own_thread;
    }

    /// The query with `FROM pg_listening_channels()` replaced by this session's channels (see
    /// [`crate::notify::with_listening_channels`]), under a cache key naming them; `None` when
    /// it has no such call.
    fn listening_channels_query(&self, prepared: &Prepared, query: &Query) -> Option<(Prepared, Query)> {
        if !naming::mentions(&prepared.sql, "pg_listening_channels") {
            return None;
        }
        let channels = self.listening_channels();
        let rewritten = crate::notify::with_listening_channels(query, &channels)?;
        let sql = format!("{}\u{0}pg_listening_channels={}", prepared.sql, channels.join("\u{0}"));
        // Still versioned: FOR SYSTEM_TIME on a table that is not temporal must fail as it would.
        let rewritten_prepared = Prepared { versioned: prepared.versioned, ..Prepared::without_statement(sql, prepared.hint, prepared.lifted.clone()) };
        Some((rewritten_prepared, rewritten))
    }

    /// The query as the engines run it, under a cache key of its own: with the views it names,
    /// this session's values of session functions, its listening channels and the versions of
    /// temporal tables it sees put in; `None` when it needs none of these.
    fn rewritten_query(&self, prepared: &Prepared, query: &Query) -> Result<Option<(Prepared, Query)>> {
        let views = self.view_query(prepared, query)?;
        let (prepared, query) = match &views {
            Some((p, q)) => (p, q),
            None => (prepared, query),
        };
        let values = if crate::session_values::may_call(&prepared.sql) && crate::session_values::calls(query) {
            match self.with_session_values(prepared, &Statement::Query(Box::new(query.clone()))) {
                Some((p, Statement::Query(q))) => Some((p, *q)),
                _ => None,
            }
        } else {
            None
        };
        let (prepared, query) = match &values {
            Some((p, q)) => (p, q),
            None => (prepared, query),
        };
        let channels = self.listening_channels_query(prepared, query);
        let (prepared, query) = match &channels {
            Some((p, q)) => (p, q),
            None => (prepared, query),
        };
        let temporal = self.temporal_query(prepared, query)?;
        Ok(temporal.or(channels).or(values).or(views))
    }

    /// The query with the views it names put in (see [`crate::views`]), under a cache key of
    /// its own; `None` when it names none.
    fn view_query(&self, prepared: &Prepared, query: &Query) -> Result<Option<(Prepared, Query)>> {
        let catalog = self.engine.catalog();
        let Some((expanded, views)) = crate::views::expand_query(query, &catalog)? else { return Ok(None) };
        // The views' text in the key too: what it calls (nextval) decides where it runs.
        let texts: Vec<&str> = views.iter().map(|v| v.query.as_str()).collect();
        let sql = format!("{}\u{0}views\u{0}{}", prepared.sql, texts.join("\u{0}"));
        let rewritten = Prepared { versioned: prepared.versioned, ..Prepared::without_statement(sql, prepared.hint, prepared.lifted.clone()) };
        Ok(Some((rewritten, expanded)))
    }

    /// The query with temporal tables replaced by the versions it sees (see [`crate::temporal`]),
    /// under a cache key of its own; `None` when it reads no temporal table.
    fn temporal_query(&self, prepared: &Prepared, query: &Query) -> Result<Option<(Prepared, Query)>> {
        let catalog = self.engine.catalog();
        if !catalog.has_temporal() && !prepared.versioned {
            return Ok(None);
        }
        let as_of = self.setting(crate::temporal::AS_OF_SETTING).filter(|v| !v.is_empty());
        let Some(rewritten) = crate::temporal::rewrite(query, &catalog, as_of)? else { return Ok(None) };
        let sql = format!("{}\u{0}{}={}", prepared.sql, crate::temporal::AS_OF_SETTING, as_of.unwrap_or_default());
        let prepared = Prepared::without_statement(sql, prepared.hint, prepared.lifted.clone());
        Ok(Some((prepared, rewritten)))
    }

    async fn query(&mut self, prepared: &Prepared, query: &Query, params: &[ScalarValue]) -> Result<Output> {
        if let Some(call) = crate::advisory::call(query, Some(params))? {
            return Box::pin(self.advisory_lock(call)).await;
        }
        if let Some((channel, payload, column)) = crate::notify::pg_notify_call(query)? {
            return Box::pin(self.pg_notify(prepared, query, channel, payload, column, params)).await;
        }
        if let Some(column) = crate::notify::listening_channels_call(query) {
            let channels = arrow::array::StringArray::from(self.listening_channels());
            let batch = RecordBatch::try_new(void_schema(&column), vec![Arc::new(channels)]).map_err(|e| EngineError::Internal(e.to_string()))?;
            return Ok(Output::Rows(RowStream::buffered(batch.schema(), Route::Oltp, "SELECT", vec![batch])));
        }
        if let Some(column) = crate::notify::queue_usage_call(query) {
            let usage = arrow::array::Float64Array::from(vec![self.engine.channels.usage()]);
            let batch = RecordBatch::try_new(queue_usage_schema(&column), vec![Arc::new(usage)]).map_err(|e| EngineError::Internal(e.to_string()))?;
            return Ok(Output::Rows(RowStream::buffered(batch.schema(), Route::Oltp, "SELECT", vec![batch])));
        }
        if let Some((function, column)) = crate::xact::call(query) {
            use crate::xact::XactFunction::{Current, IfAssigned};
            let id = match (function, self.txn.is_some()) {
                (Current, true) => Some(*self.xid.get_or_insert_with(|| self.engine.xids.next())),
                (Current, false) => Some(self.engine.xids.next()),
                (IfAssigned, true) => self.xid,
                (IfAssigned, false) => None,
            };
            let batch = RecordBatch::try_new(xid_schema(&column), vec![Arc::new(arrow::array::Int64Array::from(vec![id]))])
                .map_err(|e| EngineError::Internal(e.to_string()))?;
            return Ok(Output::Rows(RowStream::buffered(batch.schema(), Route::Oltp, "SELECT", vec![batch])));
        }
        if crate::status::reads_status(&prepared.sql, query, &self.engine.catalog()) {
            let (written, params) = as_written(prepared, query, params);
            let (schema, batches) = Box::pin(crate::status::query(&self.engine, &written, &params)).await?;
            let names = naming::output_names(query);
            return Ok(Output::Rows(RowStream::buffered(schema, Route::Olap, "SELECT", batches).renamed(names)));
        }
        // Boxed, as the OLAP start below: what a future holds across its awaits is copied
        // whole each time one is started, a cost every key lookup paid.
        let rewritten = self.rewritten_query(prepared, query)?.map(Box::new);
        let (prepared, query) = match rewritten.as_deref() {
            Some((p, q)) => (p, q),
            None => (prepared, query),
        };
        let sequences = sequence_calls(&prepared.sql, query);
        if sequences == Some(SequenceCall::Moves) {
            self.check_writable("nextval()")?;
        }
        let automatic = sequences.is_none() && matches!((self.txn, prepared.hint, self.settings.route_override), (None, None, RouteOverride::Auto));
        let mut decision = match (self.txn, prepared.hint, self.settings.route_override) {
            _ if sequences.is_some() => RouteDecision::new(Route::Oltp, "sequences live on SQLite's writer"),
            (None, None, RouteOverride::Auto) => self.zone_route(query, self.engine.auto_route(&prepared.sql, query)),
            _ => self.decide_route(query, prepared.hint),
        };
        // Only OLAP reads ask for it here: a key lookup on SQLite must not pay for the setting.
        let deadline = if decision.route == Route::Olap { self.statement_deadline() } else { None };
        if decision.route == Route::Olap && self.settings.consistency == Consistency::Strong {
            let target = *self.engine.writer.committed().borrow();
            within(deadline, self.engine.sync.wait_for(target)).await?;
        }
        // After the wait: a step it waited for may have held back a table the query reads (and
        // published it empty).
        if automatic {
            decision = self.held_back_route(query, decision);
        }
        match decision.route {
            Route::Olap => {
                if let Some((table, reason)) = self.engine.held_back_table(query) {
                    return Err(EngineError::OlapTableHeldBack { table, reason });
                }
                let start = async {
                    let (written, params) = as_written(prepared, query, params);
                    let mut stmt = Statement::Query(Box::new(written.into_owned()));
                    // DataFusion plans some of these and answers them wrongly (no rows for
                    // `tag = ANY ('{a}'::text[])`): arrays are read on SQLite only.
                    if crate::translate::compares_with_array_value(&stmt) {
                        return Err(EngineError::unsupported("an array value compared with ANY or ALL on the OLAP engine (automatic routing runs it on SQLite)"));
                    }
                    crate::translate::common_type::check_common_types(&stmt, &self.engine.catalog())?;
                    to_olap(&mut stmt, &self.engine.catalog(), self.settings.time_zone);
                    self.engine.olap.query(stmt, params).await
                };
                let rows = within(deadline, Box::pin(start)).await?;
                let names = naming::output_names(query);
                Ok(Output::Rows(RowStream::channel(rows.schema, Route::Olap, rows.batches).holding(rows.work).renamed(names).with_deadline(deadline)))
            }
            Route::Oltp => {
                let opts = self.opts();
                let plan = match self.engine.cached_translation(|p| &mut p.reads, &prepared.sql, opts) {
                    Some(plan) => plan,
                    None => {
                        let catalog = self.engine.catalog();
                        let plan = Arc::new(Box::pin(self.read_plan_then(prepared, query, &catalog, |_| ())).await?);
                        self.engine.cache_translation(|p| &mut p.reads, &prepared.sql, opts, catalog, plan.clone());
                        plan
                    }
                };
                let sqlite = SqliteStatement {
                    sql: plan.sql.clone(),
                    params: params.iter().map(sqlite_param).collect::<Result<_>>()?,
                    returns_rows: true,
                    shape: plan.shape.clone(),
                    writes_first: Vec::new(),
                };
                if self.txn.is_some() || sequences.is_some() {
                    let done = self.write(WriteOp::Statement(sqlite)).await?;
                    let schema = done.schema.ok_or_else(|| EngineError::Internal("query returned no columns".into()))?;
                    Ok(Output::Rows(RowStream::buffered(schema, Route::Oltp, "SELECT", done.batches)))
                } else {
                    if self.own_thread
                        && decision.key_lookup
                        && let Some((schema, batches)) = self.engine.readers.read_key_lookup(&sqlite)?
                    {
                        return Ok(Output::Rows(RowStream::buffered(schema, Route::Oltp, "SELECT", batches)));
                    }
                    let deadline = self.statement_deadline();
                    let rows = within(deadline, self.engine.readers.query(sqlite)).await?;
                    let stream = RowStream::channel_after(rows.schema, Route::Oltp, rows.first, rows.batches).holding(rows.guard);
                    Ok(Output::Rows(stream.with_deadline(deadline)))
                }
            }
        }
    }

    /// Fills in the types of RETURNING items that are not plain columns (`qty * price`,
    /// `upper(name)`) as PostgreSQL would type them, by planning the same items over the table
    /// on DataFusion; SQLite reports none, and they went out as text. Items that do not plan
    /// (an alias of the target, a table made in this transaction) stay text.
    async fn typed_returning(&self, mut shape: ResultShape, write: &Statement, catalog: &crate::catalog::Catalog) -> Result<ResultShape> {
        if shape.types.iter().all(Option::is_some) {
            return Ok(shape);
        }
        let Some(sql) = returning_as_select(write, catalog)? else { return Ok(shape) };
        let Ok(mut parsed) = datafusion::sql::sqlparser::parser::Parser::parse_sql(&datafusion::sql::sqlparser::dialect::PostgreSqlDialect {}, &sql) else {
            return Ok(shape);
        };
        let Some(select) = parsed.pop() else { return Ok(shape) };
        let planned = match self.engine.planned_types(&sql, || select).await {
            Ok(Some(planned)) => planned,
            Ok(None) | Err(_) => return Ok(shape),
        };
        if planned.len() == shape.types.len() {
            for (ty, field) in shape.types.iter_mut().zip(planned.iter()) {
                if ty.is_none() {
                    *ty = Some(crate::olap::result_type(field.data_type()));
                }
            }
        }
        Ok(shape)
    }

    /// A statement with WITH queries that write (`translate::writing_with`): the writes and
    /// the statement reading their rows run as one operation of the writer.
    async fn writing_with(&mut self, prepared: &Prepared, query: &Query, params: &[ScalarValue]) -> Result<Output> {
        use crate::translate::writing_with::{read_kept_rows, split};
        let opts = self.opts();
        let catalog = self.engine.catalog();
        crate::views::refuse_writes_within(&catalog, query)?;
        let expanded = crate::views::expand_query(query, &catalog)?;
        let query = expanded.as_ref().map_or(query, |(expanded, _)| expanded);
        let with_values = if crate::session_values::calls(query) {
            let mut statement = Statement::Query(Box::new(query.clone()));
            crate::session_values::put_in(&mut statement, &mut |f| self.session_value(f));
            Some(statement)
        } else {
            None
        };
        let query = match &with_values {
            Some(Statement::Query(q)) => q,
            _ => query,
        };
        let split = split(query, &catalog, returning_names)?;
        let mut writes_first = Vec::new();
        let read_kept = |statement: &mut Statement| read_kept_rows(statement, &split.steps);
        for step in &split.steps {
            let plan = write_plan_then(&step.write, &catalog, opts, read_kept)?;
            self.check_write(plan.verb, &step.write, params, &catalog)?;
            writes_first.push(crate::oltp::WriteFirst { sql: plan.sql, temp: step.temp.clone(), columns: step.temp_columns(), counted: false });
        }
        let (verb, returns_rows, shape, sql) = match &split.main {
            Statement::Query(main) => {
                let plan = self.read_plan_then(prepared, main, &catalog, read_kept).await?;
                ("SELECT", true, plan.shape, plan.sql)
            }
            write => {
                let plan = self.typed_write_plan(write, &catalog, read_kept).await?;
                self.check_write(plan.verb, write, params, &catalog)?;
                (plan.verb, plan.returning, plan.shape, plan.sql)
            }
        };
        let params = params.iter().map(sqlite_param).collect::<Result<_>>()?;
        self.run_write(SqliteStatement { sql, params, returns_rows, shape, writes_first }, verb).await
    }

    /// MERGE (`translate::merge`): the matched pairs kept, the check, the INSERT and each
    /// clause's UPDATE or DELETE, as one operation of the writer counted as PostgreSQL counts
    /// it (rows inserted, updated and deleted).
    async fn merge(&mut self, merge: &datafusion::sql::sqlparser::ast::Merge, with: Option<&datafusion::sql::sqlparser::ast::With>, params: &[ScalarValue]) -> Result<Output> {
        use crate::translate::merge::{CHECKED, MATCHED, check_sql, plan, read_matched};
        self.check_writable("MERGE")?;
        let opts = self.opts();
        let catalog = self.engine.catalog();
        let plan = plan(merge, with, &catalog)?;
        // Views the source reads, and session values (`now()`, `current_user`) anywhere, are
        // put in each statement as for any other.
        let prepare = |statement: &Statement| -> Result<Statement> {
            let mut statement = statement.clone();
            crate::views::expand(&mut statement, &catalog)?;
            crate::session_values::put_in(&mut statement, &mut |f| self.session_value(f));
            Ok(statement)
        };
        let mut writes_first = Vec::new();
        if let Some(matched) = &plan.matched {
            let mut matched = prepare(matched)?;
            to_sqlite(&mut matched, &catalog, opts)?;
            let pairs = vec!["c1".to_string(), "c2".to_string()];
            writes_first.push(crate::oltp::WriteFirst { sql: matched.to_string(), temp: MATCHED.into(), columns: pairs, counted: false });
            let check = crate::oltp::WriteFirst { sql: check_sql(&plan.acting), temp: CHECKED.into(), columns: vec!["c1".into()], counted: false };
            writes_first.push(check);
        }
        let mut writes = Vec::new();
        for write in &plan.writes {
            let sql = write_plan_then(&prepare(&write.statement)?, &catalog, opts, read_matched)?.sql;
            // A marker the translation reshaped would read no rows, and change nothing unseen.
            if sql.contains(crate::translate::merge::MARKERS) {
                return Err(EngineError::Internal(format!("a MERGE step kept its marker: {sql}")));
            }
            let (temp, columns) = match &write.keeps {
                Some(temp) => (temp.clone(), vec!["c1".to_string()]),
                None => (String::new(), Vec::new()),
            };
            writes.push(crate::oltp::WriteFirst { sql, temp, columns, counted: true });
        }
        // The last write is the statement itself (it keeps no rows: nothing after it reads
        // them); where every clause does nothing, a write that changes nothing.
        let sql = match writes.pop() {
            Some(last) => last.sql,
            None => {
                let nothing = prepare(&crate::translate::merge::no_change(&plan.target)?)?;
                write_plan_then(&nothing, &catalog, opts, |_| ())?.sql
            }
        };
        writes_first.extend(writes);
        let params = params.iter().map(sqlite_param).collect::<Result<_>>()?;
        self.run_write(SqliteStatement { sql, params, returns_rows: false, shape: ResultShape::default(), writes_first }, "MERGE").await
    }

    /// A read translated for SQLite (then rewritten by `after`), with its result's shape.
    async fn read_plan_then(&self, prepared: &Prepared, query: &Query, catalog: &crate::catalog::Catalog, after: impl FnOnce(&mut Statement)) -> Result<ReadPlan> {
        let mut stmt = Statement::Query(Box::new(query.clone()));
        to_sqlite(&mut stmt, catalog, self.opts())?;
        after(&mut stmt);
        let types = self
            .engine
            .planned_types(&prepared.sql, || {
                let mut original = Statement::Query(Box::new(query.clone()));
                crate::lift::restore_literals(&mut original, &prepared.lifted);
                original
            })
            .await?;
        let shape = sqlite_read_shape(naming::output_names(query), types.as_deref().map(Vec::as_slice), &stmt);
        Ok(ReadPlan { sql: stmt.to_string(), shape })
    }

    /// What every DML statement is checked for before it runs: a read-only replica, and an
    /// INSERT ... ON CONFLICT DO UPDATE that would change one row twice.
    fn check_write(&self, verb: &str, stmt: &Statement, params: &[ScalarValue], catalog: &crate::catalog::Catalog) -> Result<()> {
        self.check_writable(verb)?;
        crate::key_detail::refuse_repeated_upsert_keys(stmt, params, catalog)
    }

    /// [`write_plan_then`], with the RETURNING columns' types planned.
    async fn typed_write_plan(&self, stmt: &Statement, catalog: &crate::catalog::Catalog, after: impl FnOnce(&mut Statement)) -> Result<WritePlan> {
        let mut plan = write_plan_then(stmt, catalog, self.opts(), after)?;
        if returning_items(stmt).is_some() {
            plan.shape = self.typed_returning(std::mem::take(&mut plan.shape), stmt, catalog).await?;
        }
        Ok(plan)
    }

    /// Runs a write on SQLite's writer and answers as PostgreSQL does: with the rows it
    /// returns, or its command tag.
    async fn run_write(&mut self, sqlite: SqliteStatement, verb: &'static str) -> Result<Output> {
        let returns_rows = sqlite.returns_rows;
        let done = self.write(WriteOp::Statement(sqlite)).await?;
        // A nudge, not a request: steps stay at least NUDGE_GAP apart however many writers
        // commit, so a stream of single-row writes does not buy a sync step each.
        if self.txn.is_none() {
            self.engine.sync.nudge();
        }
        match (returns_rows, done.schema) {
            (true, Some(schema)) => Ok(Output::Rows(RowStream::buffered(schema, Route::Oltp, verb, done.batches))),
            _ => Ok(Output::Command(CommandTag::with_rows(verb, done.rows_affected))),
        }
    }

    async fn dml(&mut self, prepared: &Prepared, stmt: &Statement, params: &[ScalarValue]) -> Result<Output> {
        let opts = self.opts();
        // Boxed: a statement is large, and the future holding it is copied whole when started.
        let values = self.with_session_values(prepared, stmt).map(Box::new);
        let (prepared, stmt) = match values.as_deref() {
            Some((p, s)) => (p, s),
            None => (prepared, stmt),
        };
        let plan = match self.engine.cached_translation(|p| &mut p.writes, &prepared.sql, opts) {
            Some(plan) => plan,
            None => {
                Box::pin(async {
                    let catalog = self.engine.catalog();
                    crate::views::refuse_write(&catalog, stmt)?;
                    let mut expanded = stmt.clone();
                    crate::views::expand(&mut expanded, &catalog)?;
                    // A view read here may call one too; its values are not in the key, so the
                    // plan is not kept for other sessions.
                    let keyed = crate::session_values::put_in(&mut expanded, &mut |f| self.session_value(f)).is_none();
                    let plan = Arc::new(self.typed_write_plan(&expanded, &catalog, |_| ()).await?);
                    if keyed {
                        self.engine.cache_translation(|p| &mut p.writes, &prepared.sql, opts, catalog, plan.clone());
                    }
                    Ok::<_, EngineError>(plan)
                })
                .await?
            }
        };
        self.check_write(plan.verb, stmt, params, &self.engine.catalog())?;
        let sqlite = SqliteStatement {
            sql: plan.sql.clone(),
            params: params.iter().map(sqlite_param).collect::<Result<_>>()?,
            returns_rows: plan.returning,
            shape: plan.shape.clone(),
            writes_first: Vec::new(),
        };
        self.run_write(sqlite, plan.verb).await
    }

    /// CREATE TABLE ... AS and SELECT ... INTO (see [`crate::table_as`]): the table is made and
    /// filled in one transaction, the client's block or one of its own, so a load that fails
    /// leaves no table behind.
    async fn create_table_as(&mut self, prepared: &Prepared, table_as: crate::table_as::TableAs, params: &[ScalarValue]) -> Result<Output> {
        self.check_writable("CREATE TABLE AS")?;
        let catalog = self.engine.catalog();
        if catalog.get(&table_as.name).is_some() || catalog.view(&table_as.name).is_some() {
            if table_as.if_not_exists {
                let message = format!("relation \"{}\" already exists, skipping", table_as.name);
                self.notices.push(Notice { code: "42P07", ..Notice::skipping(message) });
                return Ok(Output::Command(CommandTag::new("CREATE TABLE AS")));
            }
            return Err(EngineError::DuplicateTable { name: table_as.name });
        }
        let query = &table_as.query;
        let inner = Prepared { sql: query.to_string(), statement: Some(Arc::new(Statement::Query(Box::new(query.clone())))), ..prepared.clone() };
        let Output::Rows(mut rows) = self.query(&inner, query, params).await? else {
            return Err(EngineError::Internal("the query of CREATE TABLE AS gave no rows".into()));
        };
        let schema = rows.schema().clone();
        let create = match Parser::parse_sql(&PostgreSqlDialect {}, &table_as.create_statement(&schema)?).map_err(parse_error)?.pop() {
            Some(Statement::CreateTable(create)) => create,
            _ => return Err(EngineError::Internal("CREATE TABLE AS made no CREATE TABLE".into())),
        };
        // In a block the query ran on the block's connection, which the load needs next.
        if self.txn.is_some() {
            let batches = rows.collect().await?;
            rows = RowStream::from_batches(schema.clone(), Route::Oltp, "SELECT", batches);
        }
        let columns = table_as.names(&schema);
        let tag = |rows: u64| Output::Command(if table_as.with_data { CommandTag::with_rows("SELECT", rows) } else { CommandTag::new("CREATE TABLE AS") });
        if self.txn.is_some() {
            return Box::pin(self.create_and_load(create, columns, rows)).await.map(tag);
        }
        self.begin(&[]).await?;
        match Box::pin(self.create_and_load(create, columns, rows)).await {
            Ok(n) => match self.commit().await? {
                Output::Command(ended) if ended.command == "COMMIT" => Ok(tag(n)),
                _ => Err(EngineError::Internal("CREATE TABLE AS was rolled back".into())),
            },
            Err(e) => {
                let _ = self.rollback().await;
                Err(e)
            }
        }
    }

    /// Makes a table and loads a query's rows into it as COPY FROM would; returns the rows loaded.
    async fn create_and_load(&mut self, create: datafusion::sql::sqlparser::ast::CreateTable, columns: Vec<String>, mut rows: RowStream) -> Result<u64> {
        use futures::StreamExt;
        let table = table_name(&create.name)?;
        self.ddl(DdlOp::CreateTable { create: Box::new(create), opts: self.opts() }, "CREATE TABLE").await?;
        let format = CopyFormat::default();
        let zone = self.settings.time_zone;
        let mut load = None;
        while let Some(batch) = rows.next().await {
            let batch = match batch {
                Ok(batch) => batch,
                Err(e) => {
                    if let Some(load) = load {
                        self.copy_in_fail(load, "").await;
                    }
                    return Err(e);
                }
            };
            if batch.num_rows() == 0 {
                continue;
            }
            let mut data = Vec::new();
            format.encode(&batch, zone, &mut data);
            if load.is_none() {
                load = Some(self.copy_in_start(&CopyIn { table: table.clone(), columns: columns.clone(), format: format.clone() })?);
            }
            if let Some(load) = &load {
                load.send(bytes::Bytes::from(data)).await;
            }
        }
        match load {
            Some(load) => self.copy_in_finish(load).await,
            None => Ok(0),
        }
    }

    /// CREATE [OR REPLACE] VIEW: the query is planned (views it reads put in) to check what it
    /// names and learn its columns' types, as PostgreSQL checks a view when it is made.
    async fn create_view(&mut self, create: &datafusion::sql::sqlparser::ast::CreateView) -> Result<Output> {
        if create.materialized {
            return Err(EngineError::unsupported("CREATE MATERIALIZED VIEW (a plain view reads the OLAP copy, which is kept up to date)"));
        }
        if create.temporary {
            return Err(EngineError::unsupported("CREATE TEMPORARY VIEW"));
        }
        let name = table_name(&create.name)?;
        let query = create.query.as_ref();
        if !crate::views::is_plain_query(query) {
            return Err(EngineError::unsupported("views must not contain data-modifying statements in WITH"));
        }
        let catalog = self.engine.catalog();
        if create.if_not_exists && (catalog.view(&name).is_some() || catalog.get(&name).is_some()) {
            self.notices.push(crate::notice::Notice { code: "42P07", ..crate::notice::Notice::skipping(format!("relation \"{name}\" already exists, skipping")) });
            return Ok(Output::Command(CommandTag::new("CREATE VIEW")));
        }
        let expanded = crate::views::expand_query(query, &catalog)?.map_or_else(|| query.clone(), |(expanded, _)| expanded);
        if crate::views::has_system_time(&expanded) {
            return Err(EngineError::unsupported("FOR SYSTEM_TIME inside a view (SET rhei.as_of time-travels the tables a view reads)"));
        }
        // The planner's verdict on the names the query uses stands (a query DataFusion cannot
        // plan for another reason, a SQLite-only function, is kept with text columns).
        let behind = self.engine.copy_for_planning().await?;
        let expanded_sql = expanded.to_string();
        let mut olap_stmt = Statement::Query(Box::new(expanded));
        // Planned with this session's values; the view keeps the calls, and each reader's own.
        crate::session_values::put_in(&mut olap_stmt, &mut |f| self.session_value(f));
        to_olap(&mut olap_stmt, &catalog, self.settings.time_zone);
        let planned = match self.engine.olap.plan_schema(olap_stmt, Vec::new()).await {
            Ok(planned) => Some(planned.schema.fields().iter().map(|f| f.as_ref().clone()).collect::<Vec<_>>()),
            // A table made in this transaction block (or not yet on a copy behind) is on SQLite
            // only: SQLite checks the query, reading none of its rows, and names its columns
            // (their types then show as text in the catalogs).
            Err(_) if self.txn.is_some() || behind.is_some() => Some(self.columns_on_sqlite(&expanded_sql).await?),
            Err(e) if matches!(e.sqlstate(), "42P01" | "42703" | "42702" | "42601" | "42803" | "42804") => return Err(e),
            Err(_) => None,
        };
        let planned_names = planned.as_ref().map(|fields| fields.iter().map(|f| f.name().clone()).collect::<Vec<_>>());
        let given: Vec<String> = create.columns.iter().map(|c| normalize_ident(&c.name)).collect();
        let names = crate::views::column_names(query, &given, planned_names)?;
        let columns = names
            .into_iter()
            .enumerate()
            .map(|(i, name)| {
                let ty = planned.as_ref().and_then(|fields| fields.get(i)).and_then(|f| crate::catalog::types::pg_type_of_field(f)).unwrap_or(crate::catalog::PgType::Text);
                crate::catalog::ViewColumn { name, ty }
            })
            .collect();
        let def = crate::catalog::ViewDef { id: 0, name, query: query.to_string(), columns, reads: crate::views::reads(query) };
        self.ddl(DdlOp::CreateView { def, or_replace: create.or_replace }, "CREATE VIEW").await
    }

    /// The result columns of `query` as SQLite gives them, running it for no rows.
    async fn columns_on_sqlite(&mut self, query: &str) -> Result<Vec<Field>> {
        let sql = format!("SELECT * FROM ({query}) AS rhei_view LIMIT 0");
        let mut parsed = datafusion::sql::sqlparser::parser::Parser::parse_sql(&datafusion::sql::sqlparser::dialect::PostgreSqlDialect {}, &sql)
            .map_err(|e| EngineError::Internal(e.to_string()))?;
        let Some(Statement::Query(probe)) = parsed.pop() else { return Err(EngineError::Internal("a view's query did not parse again".into())) };
        let prepared = Prepared::without_statement(sql, Some(Route::Oltp), Vec::new());
        match self.query(&prepared, &probe, &[]).await? {
            Output::Rows(rows) => Ok(rows.schema().fields().iter().map(|f| f.as_ref().clone()).collect()),
            _ => Err(EngineError::Internal("a view's query gave no rows".into())),
        }
    }

    async fn ddl(&mut self, op: DdlOp, tag: &'static str) -> Result<Output> {
        let done = self.write(WriteOp::Ddl(op)).await?;
        self.notices.extend(done.notices);
        if self.txn.is_none() {
            self.engine.sync.request();
        }
        Ok(Output::Command(CommandTag::new(tag)))
    }

    /// `VACUUM` / `ANALYZE` (see [`crate::maintenance`]).
    async fn maintain(&mut self, maintenance: &crate::maintenance::Maintenance) -> Result<Output> {
        if let Some(txn) = self.txn {
            if txn.failed {
                return Err(EngineError::InFailedTransaction);
            }
            if maintenance.vacuum {
                return Err(EngineError::NotInTransactionBlock { command: "VACUUM" });
            }
        }
        let catalog = self.engine.catalog();
        let tables = if maintenance.tables.is_empty() {
            catalog.tables().map(|t| t.name.clone()).collect()
        } else {
            for name in &maintenance.tables {
                catalog.require(name)?;
            }
            maintenance.tables.clone()
        };
        let tag = if maintenance.vacuum { "VACUUM" } else { "ANALYZE" };
        if maintenance.analyze && !tables.is_empty() {
            let done = self.write(WriteOp::Ddl(DdlOp::Analyze { tables })).await;
            if done.is_err()
                && let Some(txn) = self.txn.as_mut()
            {
                txn.failed = true;
            }
            self.notices.extend(done?.notices);
        }
        Ok(Output::Command(CommandTag::new(tag)))
    }

    async fn begin(&mut self, modes: &[TransactionMode]) -> Result<Output> {
        if self.txn.is_some() {
            // PostgreSQL only warns here.
            self.notices.push(Notice::warning("25001", "there is already a transaction in progress"));
            return Ok(Output::Command(CommandTag::new("BEGIN")));
        }
        let read_only = modes.iter().any(|m| matches!(m, TransactionMode::AccessMode(TransactionAccessMode::ReadOnly)));
        // The writer is taken by the transaction's first statement (PostgreSQL, too, takes
        // nothing and no snapshot at BEGIN), so a client's round trip between BEGIN and its first
        // statement does not hold up every other writer.
        self.txn_count += 1;
        self.txn_current.store(self.txn_count, std::sync::atomic::Ordering::Release);
        self.txn = Some(Transaction { read_only, failed: false, started: false, generation: self.txn_count });
        self.txn_settings =
            Some(BlockSettings { at_begin: self.settings.clone(), on_commit: self.settings.clone(), savepoints: Vec::new() });
        // Left over only if the end of the last block was interrupted (a cancelled COMMIT).
        drop(self.listening.end_of_transaction(false));
        Ok(Output::Command(CommandTag::new("BEGIN")))
    }

    /// What stops this session's statement on SQLite's writer from another thread (a cancel
    /// request is answered away from the session's own thread, which that statement blocks).
    pub fn write_canceller(&self) -> WriteCanceller {
        WriteCanceller { writer: self.engine.writer.clone(), session: self.id }
    }

    /// Runs a write, or any statement of an explicit transaction, on SQLite's writer.
    async fn write(&mut self, op: WriteOp) -> Result<crate::oltp::Executed> {
        if self.txn.is_some() {
            self.in_transaction(op).await
        } else {
            let deadline = self.statement_deadline().map(tokio::time::Instant::into_std);
            if !self.own_thread {
                return self.engine.writer.run_until(self.id, None, op, deadline).await;
            }
            let ran = self.engine.writer.run_alone_here(self.id, op, deadline);
            self.finish_or_queue(ran, None, deadline).await
        }
    }

    /// Runs `op` in this session's transaction: on this session's own thread when it has one
    /// and the writer is free for it, else queued for the writer thread.
    async fn in_transaction(&mut self, op: WriteOp) -> Result<crate::oltp::Executed> {
        if let Some(txn) = self.txn.as_mut()
            && !matches!(op, WriteOp::Commit | WriteOp::Rollback)
        {
            txn.started = true;
        }
        let deadline = self.statement_deadline().map(tokio::time::Instant::into_std);
        let ticket = TxnTicket::new(self.txn_current.clone(), self.txn.map_or(0, |t| t.generation));
        if !self.own_thread {
            return self.engine.writer.run_until(self.id, Some(ticket), op, deadline).await;
        }
        let ran = self.engine.writer.run_here(self.id, &ticket, op, deadline);
        self.finish_or_queue(ran, Some(ticket), deadline).await
    }

    /// Completes what the writer ran on this thread, or queues what it could not run here.
    async fn finish_or_queue(&self, ran: RunHere, txn: Option<TxnTicket>, deadline: Option<std::time::Instant>) -> Result<crate::oltp::Executed> {
        match ran {
            RunHere::Done(done) => done,
            RunHere::Flushing(commit) => commit.answer().await,
            RunHere::Busy(op) => self.engine.writer.run_until(self.id, txn, op, deadline).await,
        }
    }

    /// Runs an advisory lock function (see [`crate::advisory`]).
    async fn advisory_lock(&mut self, call: crate::advisory::Call) -> Result<Output> {
        use crate::advisory::{Answer, Function, Level};
        let locks = &self.engine.advisory;
        let answer = match (call.function, call.key) {
            (Function::UnlockAll, _) => {
                locks.release(self.id, Some(Level::Session));
                Answer::Void
            }
            (_, None) => Answer::Null,
            (Function::Lock(level), Some(key)) => {
                within(self.statement_deadline(), async {
                    locks.lock(key, self.id, level).await;
                    Ok(())
                })
                .await?;
                Answer::Void
            }
            (Function::TryLock(level), Some(key)) => Answer::Bool(locks.try_lock(key, self.id, level)),
            (Function::Unlock, Some(key)) => {
                let held = locks.unlock(key, self.id);
                if !held {
                    self.notices.push(Notice::warning("01000", "you don't own a lock of type ExclusiveLock"));
                }
                Answer::Bool(held)
            }
        };
        // Outside a transaction block the statement was the transaction.
        if self.txn.is_none() {
            locks.release(self.id, Some(Level::Transaction));
        }
        let batch = crate::advisory::result(&call, answer)?;
        Ok(Output::Rows(RowStream::buffered(batch.schema(), Route::Oltp, "SELECT", vec![batch])))
    }

    /// A channel named in LISTEN, UNLISTEN or NOTIFY, cut to an identifier's length as
    /// PostgreSQL cuts it (with its notice).
    fn channel_name(&mut self, channel: &datafusion::sql::sqlparser::ast::Ident) -> String {
        let given = normalize_ident(channel);
        let (name, cut) = crate::notify::channel_ident(given.clone());
        if cut {
            self.notices.push(Notice::note("42622", format!("identifier \"{given}\" will be truncated to \"{name}\"")));
        }
        name
    }

    /// LISTEN, UNLISTEN, NOTIFY or pg_notify(): done now outside a transaction block, when it
    /// commits inside one. A replica refuses LISTEN and NOTIFY, as a PostgreSQL standby does:
    /// its clients would hear only each other, not the upstream's.
    fn notification(&mut self, action: crate::notify::Action) -> Result<Output> {
        let tag = action.tag();
        if tag != "UNLISTEN"
            && let Some(upstream) = self.engine.replica_of.get()
        {
            return Err(EngineError::ReadOnlyReplica { statement: tag.to_string(), upstream: upstream.clone() });
        }
        self.listening.check_room(&self.engine.channels, &action)?;
        if self.txn.is_some() {
            let savepoints = self.txn_settings.as_ref().map_or(0, |block| block.savepoints.len());
            self.listening.defer(savepoints, action);
        } else {
            self.listening.apply(&self.engine.channels, self.id, self.backend_pid, vec![action]);
        }
        Ok(Output::Command(CommandTag::new(tag)))
    }

    /// `SELECT pg_notify(channel, payload)`: the arguments are evaluated as text by the query
    /// engine (they may be any expression of constants and parameters), then notified.
    #[allow(clippy::too_many_arguments)] // the call's parts, and the statement and parameters they came from
    async fn pg_notify(&mut self, prepared: &Prepared, query: &Query, channel: Expr, payload: Expr, column: String, params: &[ScalarValue]) -> Result<Output> {
        let as_text = |expr: Expr| SelectItem::UnnamedExpr(Expr::Cast {
            kind: datafusion::sql::sqlparser::ast::CastKind::Cast,
            expr: Box::new(Expr::Nested(Box::new(expr))),
            data_type: datafusion::sql::sqlparser::ast::DataType::Text,
            array: false,
            format: None,
        });
        let mut arguments = query.clone();
        if let datafusion::sql::sqlparser::ast::SetExpr::Select(select) = arguments.body.as_mut() {
            select.projection = vec![as_text(channel), as_text(payload)];
        }
        let inner = Prepared::without_statement(arguments.to_string(), prepared.hint, Vec::new());
        let Output::Rows(rows) = Box::pin(self.query(&inner, &arguments, params)).await? else {
            return Err(EngineError::Internal("pg_notify's arguments gave no row".into()));
        };
        let batches = rows.collect().await?;
        let text = |i: usize| -> Result<Option<String>> {
            let Some(batch) = batches.iter().find(|b| b.num_rows() > 0) else { return Ok(None) };
            let value = ScalarValue::try_from_array(batch.column(i), 0).map_err(|e| EngineError::Internal(e.to_string()))?;
            Ok(match value {
                ScalarValue::Utf8(v) | ScalarValue::LargeUtf8(v) | ScalarValue::Utf8View(v) => v,
                other if other.is_null() => None,
                other => Some(other.to_string()),
            })
        };
        self.notification(crate::notify::notify(text(0)?, text(1)?)?)?;
        let batch = RecordBatch::try_new(void_schema(&column), vec![Arc::new(StringArray::from(vec![""]))])
            .map_err(|e| EngineError::Internal(e.to_string()))?;
        Ok(Output::Rows(RowStream::buffered(batch.schema(), Route::Oltp, "SELECT", vec![batch])))
    }

    /// The notifications delivered to this session wait here for its front end.
    pub fn mailbox(&self) -> Arc<crate::notify::Mailbox> {
        self.listening.mailbox()
    }

    /// The channels this session listens to, in name order.
    pub fn listening_channels(&self) -> Vec<String> {
        self.engine.channels.listened_by(self.id)
    }

    /// The process ID the front end gave this session's client, which listeners of its
    /// notifications are told.
    pub fn set_backend_pid(&mut self, pid: i32) {
        self.backend_pid = pid;
    }

    /// The user and database the client connected as, which `current_user` and
    /// `current_database()` answer in its statements.
    pub fn set_user_and_database(&mut self, user: &str, database: &str) {
        self.user = user.to_string();
        self.database = database.to_string();
    }

    /// The value this session gives a session function (see [`crate::session_values`]).
    fn session_value(&self, function: &SessionFunction) -> SessionValue {
        match function {
            SessionFunction::User => SessionValue::Text(Some(self.user.clone())),
            SessionFunction::Database => SessionValue::Text(Some(self.database.clone())),
            SessionFunction::Schema => SessionValue::Text(Some("public".into())),
            SessionFunction::BackendPid => SessionValue::Int4(self.backend_pid),
            SessionFunction::Version => SessionValue::Text(Some(crate::version_text())),
            SessionFunction::Setting { name, missing_ok } => match self.setting(name) {
                Some(value) => SessionValue::Text(Some(value.to_string())),
                None if *missing_ok => SessionValue::Text(None),
                None => SessionValue::UndefinedSetting(name.clone()),
            },
        }
    }

    /// `statement` with this session's values put in for the session functions it calls,
    /// under a cache key naming them; `None` when it calls none.
    fn with_session_values(&self, prepared: &Prepared, statement: &Statement) -> Option<(Prepared, Statement)> {
        if !crate::session_values::may_call(&prepared.sql) || !crate::session_values::calls(statement) {
            return None;
        }
        let mut rewritten = statement.clone();
        let values = crate::session_values::put_in(&mut rewritten, &mut |f| self.session_value(f))?;
        let sql = format!("{}\u{0}session values\u{0}{values}", prepared.sql);
        let prepared = Prepared { versioned: prepared.versioned, ..Prepared::without_statement(sql, prepared.hint, prepared.lifted.clone()) };
        Some((prepared, rewritten))
    }

    async fn commit(&mut self) -> Result<Output> {
        let Some(txn) = self.txn.take() else {
            self.notices.push(Notice::warning("25P01", "there is no transaction in progress"));
            return Ok(Output::Command(CommandTag::new("COMMIT")));
        };
        // The block's settings last only if it did commit (a commit the writer fails rolls
        // the block back).
        let ended = self.end_transaction(txn).await;
        // Only once the commit is visible: a session waiting for the lock reads what it guarded.
        self.engine.advisory.release(self.id, Some(crate::advisory::Level::Transaction));
        let committed = matches!(&ended, Ok(Output::Command(tag)) if tag.command == "COMMIT");
        self.end_transaction_settings(committed);
        ended
    }

    /// Commits a block taken from the session, or rolls it back if it failed.
    async fn end_transaction(&mut self, txn: Transaction) -> Result<Output> {
        self.txn_current.store(0, std::sync::atomic::Ordering::Release);
        if !txn.started {
            return Ok(Output::Command(CommandTag::new(if txn.failed { "ROLLBACK" } else { "COMMIT" })));
        }
        if txn.failed {
            self.in_transaction(WriteOp::Rollback).await?;
            return Ok(Output::Command(CommandTag::new("ROLLBACK")));
        }
        self.in_transaction(WriteOp::Commit).await?;
        // A nudge, as for an autocommit write: a request per COMMIT bought TPC-B a sync step
        // per transaction, each reading the change log beside the writer.
        self.engine.sync.nudge();
        Ok(Output::Command(CommandTag::new("COMMIT")))
    }

    async fn rollback(&mut self) -> Result<Output> {
        self.engine.advisory.release(self.id, Some(crate::advisory::Level::Transaction));
        if let Some(txn) = self.txn.take() {
            self.end_transaction_settings(false);
            self.txn_current.store(0, std::sync::atomic::Ordering::Release);
            if txn.started {
                self.in_transaction(WriteOp::Rollback).await?;
            }
        } else {
            self.notices.push(Notice::warning("25P01", "there is no transaction in progress"));
        }
        Ok(Output::Command(CommandTag::new("ROLLBACK")))
    }

    /// The settings a transaction block leaves: those SET in it when it commits, those it began
    /// with when it rolls back (PostgreSQL's SET is transactional; SET LOCAL ends either way).
    fn end_transaction_settings(&mut self, committed: bool) {
        if let Some(block) = self.txn_settings.take() {
            self.settings = if committed { block.on_commit } else { block.at_begin };
        }
        self.cursors.end_of_transaction(committed);
        self.xid = None;
        let actions = self.listening.end_of_transaction(committed);
        self.listening.apply(&self.engine.channels, self.id, self.backend_pid, actions);
    }

    async fn savepoint_op(&mut self, op: WriteOp, tag: &'static str) -> Result<Output> {
        let Some(txn) = self.txn else {
            return Err(EngineError::NoActiveTransaction);
        };
        let rolls_back = matches!(op, WriteOp::RollbackTo(_));
        let step = match &op {
            WriteOp::Savepoint(name) => Some((SavepointStep::Set, name.clone())),
            WriteOp::Release(name) => Some((SavepointStep::Release, name.clone())),
            WriteOp::RollbackTo(name) => Some((SavepointStep::RollBackTo, name.clone())),
            _ => None,
        };
        self.in_transaction(op).await?;
        if rolls_back {
            self.txn = Some(Transaction { failed: false, ..txn });
        }
        if let Some((step, name)) = step {
            self.savepoint_settings(step, &name);
        }
        Ok(Output::Command(CommandTag::new(tag)))
    }

    /// Settings follow savepoints as PostgreSQL's do: ROLLBACK TO undoes what SET and SET
    /// LOCAL changed after the savepoint.
    fn savepoint_settings(&mut self, step: SavepointStep, name: &str) {
        let Some(block) = self.txn_settings.as_mut() else { return };
        let position = block.savepoints.iter().rposition(|(n, _, _)| n == name);
        match (step, position) {
            (SavepointStep::Set, _) => block.savepoints.push((name.to_string(), self.settings.clone(), block.on_commit.clone())),
            (SavepointStep::Release, Some(at)) => {
                block.savepoints.truncate(at);
                self.cursors.released_to(at);
                self.listening.released_to(at);
            }
            (SavepointStep::RollBackTo, Some(at)) => {
                block.savepoints.truncate(at + 1);
                self.cursors.rolled_back_to(at + 1);
                self.listening.rolled_back_to(at + 1);
                let (_, current, on_commit) = &block.savepoints[at];
                self.settings = current.clone();
                block.on_commit = on_commit.clone();
            }
            (_, None) => {}
        }
    }

    /// RESET ALL: every setting a session may change back to its default, custom ones
    /// (`rhei.as_of`, `app.tenant`) to empty.
    fn reset_all(&mut self) -> Result<()> {
        for (name, _) in DEFAULT_SETTINGS {
            if !READ_ONLY_SETTINGS.contains(name) {
                self.reset(name)?;
            }
        }
        let custom: Vec<String> = self.settings.changed.keys().filter(|k| canonical_setting(k).is_none()).cloned().collect();
        for name in custom {
            self.reset(&name)?;
        }
        Ok(())
    }

    /// DISCARD, as connection poolers reset a connection between clients (PgBouncer's
    /// `server_reset_query`, pgpool, Npgsql's pool). ALL does what PostgreSQL's does that rhei
    /// has: CLOSE ALL, RESET ALL, UNLISTEN *, `pg_advisory_unlock_all()` and DISCARD SEQUENCES
    /// (prepared statements are the front end's, which keeps them as for DEALLOCATE ALL). rhei
    /// keeps no per-session plans or temporary tables, so PLANS and TEMP have nothing to drop.
    fn discard(&mut self, object: datafusion::sql::sqlparser::ast::DiscardObject) -> Result<Output> {
        use datafusion::sql::sqlparser::ast::DiscardObject;
        let tag = match object {
            DiscardObject::ALL => {
                if self.txn.is_some() {
                    return Err(EngineError::NotInTransactionBlock { command: "DISCARD ALL" });
                }
                self.cursors.close(None)?;
                self.reset_all()?;
                self.listening.apply(&self.engine.channels, self.id, self.backend_pid, vec![crate::notify::Action::Unlisten(None)]);
                self.engine.advisory.release(self.id, Some(crate::advisory::Level::Session));
                self.engine.writer.session_ended(self.id);
                "DISCARD ALL"
            }
            DiscardObject::SEQUENCES => {
                self.engine.writer.session_ended(self.id);
                "DISCARD SEQUENCES"
            }
            DiscardObject::PLANS => "DISCARD PLANS",
            DiscardObject::TEMP => "DISCARD TEMP",
        };
        Ok(Output::Command(CommandTag::new(tag)))
    }

    fn set_statement(&mut self, set: &Set) -> Result<Output> {
        match set {
            Set::SingleAssignment { variable, values, scope, .. } => {
                let name = variable.to_string().trim_matches('"').to_string();
                let value = set_value_text(values);
                let local = matches!(scope, Some(datafusion::sql::sqlparser::ast::ContextModifier::Local));
                match (value.eq_ignore_ascii_case("default"), local) {
                    (true, false) => self.reset(&name)?,
                    (true, true) => {
                        let default = self.default_setting(&name)?;
                        self.set_local_statement(&name, &default)?;
                    }
                    (false, false) => self.set(&name, &value)?,
                    (false, true) => self.set_local_statement(&name, &value)?,
                }
            }
            Set::SetTimeZone { value, local } => {
                let text = set_value_text(std::slice::from_ref(value));
                // SET TIME ZONE LOCAL / DEFAULT: the server's default.
                let text = if text.eq_ignore_ascii_case("local") || text.eq_ignore_ascii_case("default") {
                    self.default_setting("TimeZone")?
                } else {
                    text
                };
                if *local {
                    self.set_local_statement("TimeZone", &text)?;
                } else {
                    self.set("TimeZone", &text)?;
                }
            }
            Set::SetNames { charset_name, .. } => self.set("client_encoding", &charset_name.to_string())?,
            Set::SetTransaction { .. } | Set::SetSessionParam(_) => {}
            other => return Err(EngineError::unsupported(format!("{other}"))),
        }
        Ok(Output::Command(CommandTag::new("SET")))
    }

    fn show(&self, variable: &[datafusion::sql::sqlparser::ast::Ident]) -> Result<Output> {
        let name = variable.iter().map(|i| i.value.clone()).collect::<Vec<_>>().join(" ");
        let batch = if name.eq_ignore_ascii_case("all") {
            let (names, values): (Vec<String>, Vec<String>) =
                self.settings().map(|(k, v)| (k.to_string(), v.to_string())).unzip();
            RecordBatch::try_new(
                Arc::new(Schema::new(vec![
                    Field::new("name", DataType::Utf8, false),
                    Field::new("setting", DataType::Utf8, false),
                ])),
                vec![Arc::new(StringArray::from(names)), Arc::new(StringArray::from(values))],
            )
            .map_err(|e| EngineError::Internal(e.to_string()))?
        } else {
            // SQL's spellings of two settings (SQLAlchemy asks for the isolation level so).
            let name = if name.eq_ignore_ascii_case("time zone") {
                "TimeZone".to_string()
            } else if name.eq_ignore_ascii_case("transaction isolation level") {
                "transaction_isolation".to_string()
            } else {
                name
            };
            let value = self.setting(&name).ok_or_else(|| EngineError::UndefinedParameter { name: name.clone() })?;
            let column = canonical_setting(&name).map_or_else(|| name.to_ascii_lowercase(), str::to_string);
            single_text_column(&column, vec![value.to_string()])?
        };
        Ok(Output::Rows(RowStream::buffered(batch.schema(), Route::Oltp, "SHOW", vec![batch])))
    }
}

/// The query as the client wrote it, with its parameters: DataFusion types a parameter by its
/// context and a literal by its text, so literals lifted by `parse_simple` go back into the text
/// before a query is planned there.
fn as_written<'q>(prepared: &Prepared, query: &'q Query, params: &[ScalarValue]) -> (std::borrow::Cow<'q, Query>, Vec<ScalarValue>) {
    if prepared.lifted.is_empty() {
        return (std::borrow::Cow::Borrowed(query), params.to_vec());
    }
    let mut query = query.clone();
    crate::lift::restore_literals(&mut query, &prepared.lifted);
    (std::borrow::Cow::Owned(query), Vec::new())
}

/// A query translated for SQLite, with the result's PostgreSQL names and types; cached like
/// [`WritePlan`].
#[derive(Debug)]
pub(crate) struct ReadPlan {
    sql: String,
    shape: ResultShape,
}

/// A write translated for SQLite: depends only on the statement, the catalog and the session's
/// translation options, so it is cached under the statement text.
#[derive(Debug)]
pub(crate) struct WritePlan {
    verb: &'static str,
    returning: bool,
    sql: String,
    shape: ResultShape,
}

/// A write translated for SQLite, with `after` applied to the translated statement.
fn write_plan_then(stmt: &Statement, catalog: &crate::catalog::Catalog, opts: TranslateOptions, after: impl FnOnce(&mut Statement)) -> Result<WritePlan> {
    let (verb, returning) = match stmt {
        Statement::Insert(i) => ("INSERT", i.returning.as_deref()),
        Statement::Update(u) => ("UPDATE", u.returning.as_deref()),
        Statement::Delete(d) => ("DELETE", d.returning.as_deref()),
        _ => return Err(EngineError::Internal("not a DML statement".into())),
    };
    let mut translated = stmt.clone();
    to_sqlite(&mut translated, catalog, opts)?;
    after(&mut translated);
    let mut shape = returning_shape(stmt, catalog)?;
    mark_exact_returning(&mut shape, &crate::translate::numeric_arithmetic::exact_returning_items(&translated));
    Ok(WritePlan { verb, returning: returning.is_some(), sql: translated.to_string(), shape })
}

/// RETURNING items computed exactly are numeric text at their own scale, as a query's are.
fn mark_exact_returning(shape: &mut ResultShape, exact: &[bool]) {
    for (i, _) in exact.iter().enumerate().filter(|(_, exact)| **exact) {
        if i < shape.types.len() {
            shape.types[i] = Some(DataType::Utf8);
            shape.declared[i] = Some(crate::catalog::types::UNCONSTRAINED_NUMERIC.to_string());
        }
    }
}

/// The tables of `catalog` a statement reads, with their Arrow schemas: in a transaction
/// block, what the OLAP planner is given of tables the block made (the copy has none of them
/// until it commits), so a Describe there types their columns.
fn tables_read(stmt: &Statement, catalog: &crate::catalog::Catalog) -> Vec<(String, SchemaRef)> {
    let mut tables = Vec::new();
    let _ = datafusion::sql::sqlparser::ast::visit_relations(stmt, |name| {
        if let Some(def) = table_name(name).ok().and_then(|t| catalog.get(&t))
            && !tables.iter().any(|(n, _): &(String, SchemaRef)| *n == def.name)
        {
            tables.push((def.name.clone(), def.arrow_schema()));
        }
        std::ops::ControlFlow::<()>::Continue(())
    });
    tables
}

/// The shape of a read SQLite answers: PostgreSQL's column names, the types planned for it,
/// and exact numeric results (`translated` is the statement as SQLite runs it) as text at
/// their own scale, as an unconstrained numeric column's values are.
fn sqlite_read_shape(names: Option<Vec<String>>, types: Option<&[Field]>, translated: &Statement) -> ResultShape {
    let exact = crate::translate::numeric_arithmetic::exact_items(translated);
    let unconstrained = || Some(crate::catalog::types::UNCONSTRAINED_NUMERIC.to_string());
    let names = names.map(|n| n.into_iter().map(Some).collect()).unwrap_or_default();
    match types {
        Some(t) => ResultShape {
            names,
            types: t.iter().map(|f| Some(crate::olap::result_type(f.data_type()))).collect(),
            declared: t
                .iter()
                .enumerate()
                .map(|(i, f)| match exact.get(i) {
                    Some(true) => unconstrained(),
                    _ => f.metadata().get(crate::catalog::types::PG_TYPE_METADATA).cloned(),
                })
                .collect(),
        },
        // Unplanned: exact results are still numeric text (inferred from a first value, one
        // was text, another an integer).
        None => ResultShape {
            names,
            types: exact.iter().map(|e| e.then_some(DataType::Utf8)).collect(),
            declared: exact.iter().map(|e| if *e { unconstrained() } else { None }).collect(),
        },
    }
}

/// The MERGE a statement is, and the WITH written before it.
fn merged(stmt: &Statement) -> Option<(&datafusion::sql::sqlparser::ast::Merge, Option<&datafusion::sql::sqlparser::ast::With>)> {
    match stmt {
        Statement::Merge(merge) => Some((merge, None)),
        Statement::Query(query) => crate::translate::merge::of_query(query),
        _ => None,
    }
}

/// The column names of a write's RETURNING rows (none without RETURNING).
fn returning_names(write: &Statement, catalog: &crate::catalog::Catalog) -> Result<Vec<String>> {
    Ok(returning_shape(write, catalog)?.names.into_iter().map(|n| n.unwrap_or_else(|| "?column?".into())).collect())
}

fn explain_route_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![Field::new("route", DataType::Utf8, false), Field::new("reason", DataType::Utf8, false)]))
}

/// `schema` with its `exact` decimal columns declared unconstrained numeric.
fn with_exact_numeric_columns(schema: &SchemaRef, exact: &[bool]) -> SchemaRef {
    let fields = schema.fields().iter().enumerate().map(|(i, f)| {
        let field = f.as_ref().clone();
        match f.data_type() {
            DataType::Decimal128(..) | DataType::Decimal256(..) if exact.get(i) == Some(&true) => {
                crate::catalog::types::with_declared_type(field, Some(crate::catalog::types::UNCONSTRAINED_NUMERIC.to_string()))
            }
            _ => field,
        }
    });
    Arc::new(Schema::new(fields.collect::<Vec<_>>()))
}

/// One bigint column: a transaction ID.
fn xid_schema(column: &str) -> SchemaRef {
    Arc::new(arrow::datatypes::Schema::new(vec![arrow::datatypes::Field::new(column, DataType::Int64, true)]))
}

/// `pg_notification_queue_usage()`'s double precision column.
fn queue_usage_schema(column: &str) -> SchemaRef {
    Arc::new(arrow::datatypes::Schema::new(vec![arrow::datatypes::Field::new(column, DataType::Float64, false)]))
}

/// One text column: the result of a function returning void (which shows as empty) or text.
fn void_schema(column: &str) -> SchemaRef {
    Arc::new(arrow::datatypes::Schema::new(vec![arrow::datatypes::Field::new(column, DataType::Utf8, true)]))
}

/// `schema` with Postgres's column names, when there is one per column.
fn renamed_schema(schema: &SchemaRef, names: Option<Vec<String>>) -> SchemaRef {
    match names {
        Some(names) if names.len() == schema.fields().len() => Arc::new(Schema::new(
            schema.fields().iter().zip(names).map(|(f, n)| f.as_ref().clone().with_name(n)).collect::<Vec<_>>(),
        )),
        _ => schema.clone(),
    }
}

/// The table an INSERT, UPDATE or DELETE writes.
fn dml_target(stmt: &Statement) -> Result<String> {
    use datafusion::sql::sqlparser::ast::{FromTable, TableFactor};
    match stmt {
        Statement::Insert(i) => match &i.table {
            TableObject::TableName(name) => table_name(name),
            _ => Err(EngineError::unsupported("INSERT INTO a table function")),
        },
        Statement::Update(u) => match &u.table.relation {
            TableFactor::Table { name, .. } => table_name(name),
            other => Err(EngineError::unsupported(format!("UPDATE {other}"))),
        },
        Statement::Delete(d) => {
            let (FromTable::WithFromKeyword(tables) | FromTable::WithoutKeyword(tables)) = &d.from;
            match tables.first().map(|t| &t.relation) {
                Some(TableFactor::Table { name, .. }) => table_name(name),
                _ => Err(EngineError::syntax("DELETE needs a table")),
            }
        }
        _ => Err(EngineError::Internal("not a DML statement".into())),
    }
}

fn first_words(sql: &str) -> String {
    sql.split_whitespace().take(2).collect::<Vec<_>>().join(" ")
}

fn returning_items(stmt: &Statement) -> Option<&[SelectItem]> {
    match stmt {
        Statement::Insert(i) => i.returning.as_deref(),
        Statement::Update(u) => u.returning.as_deref(),
        Statement::Delete(d) => d.returning.as_deref(),
        _ => None,
    }
}

/// The names and declared types of a write's RETURNING rows (none without RETURNING): `*`
/// is every relation's columns when the write joins others (`UPDATE ... FROM`), and a column
/// of a joined table has that table's type.
fn returning_shape(write: &Statement, catalog: &crate::catalog::Catalog) -> Result<ResultShape> {
    use crate::translate::returning_joined::{expand_wildcards, joined_write};
    let mut shape = ResultShape::default();
    let Some(items) = returning_items(write) else { return Ok(shape) };
    let def = catalog.require(&dml_target(write)?)?;
    let mut expanded = write.clone();
    expand_wildcards(&mut expanded, catalog)?;
    let joined = joined_write(&expanded, catalog);
    let items = returning_items(&expanded).unwrap_or(items);
    for item in items {
        match item {
            SelectItem::Wildcard(_) | SelectItem::QualifiedWildcard(..) => {
                for c in &def.columns {
                    shape.names.push(Some(c.name.clone()));
                    shape.types.push(Some(c.ty.arrow_type()));
                    shape.declared.push(Some(c.ty.metadata_name()));
                }
            }
            SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. } => {
                let name = match item {
                    SelectItem::ExprWithAlias { alias, .. } => normalize_ident(alias),
                    _ => naming::expr_name(e),
                };
                let joined_column = joined.as_ref().and_then(|w| w.reference(e).map(|(at, column)| (&w.joined[at], column)));
                let column = match (joined_column, e) {
                    (Some((relation, column)), _) => relation.column_type(&column),
                    (None, Expr::Identifier(i)) => def.column_index(&normalize_ident(i)).map(|c| def.columns[c].ty),
                    (None, Expr::CompoundIdentifier(parts)) => parts.last().and_then(|i| def.column_index(&normalize_ident(i))).map(|c| def.columns[c].ty),
                    _ => None,
                };
                shape.names.push(Some(name));
                shape.types.push(column.map(|ty| ty.arrow_type()));
                shape.declared.push(column.map(|ty| ty.metadata_name()));
            }
        }
    }
    Ok(shape)
}

/// A write's RETURNING list as a query over the relations it reads (the target, and those
/// it joins), for planning the list's types; `None` without RETURNING.
fn returning_as_select(write: &Statement, catalog: &crate::catalog::Catalog) -> Result<Option<String>> {
    use datafusion::sql::sqlparser::ast::{FromTable, UpdateTableFromKind};
    let mut expanded = write.clone();
    crate::translate::returning_joined::expand_wildcards(&mut expanded, catalog)?;
    let Some(items) = returning_items(&expanded) else { return Ok(None) };
    let list = items.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ");
    let relations: Vec<String> = match &expanded {
        Statement::Update(u) => {
            let joined = match &u.from {
                Some(UpdateTableFromKind::AfterSet(tables) | UpdateTableFromKind::BeforeSet(tables)) => tables.as_slice(),
                None => &[],
            };
            std::iter::once(&u.table).chain(joined).map(ToString::to_string).collect()
        }
        Statement::Delete(d) => {
            let (FromTable::WithFromKeyword(from) | FromTable::WithoutKeyword(from)) = &d.from;
            from.iter().take(1).chain(d.using.iter().flatten()).map(ToString::to_string).collect()
        }
        _ => vec![crate::catalog::quote_ident(&catalog.require(&dml_target(write)?)?.name)],
    };
    Ok(Some(format!("SELECT {list} FROM {}", relations.join(", "))))
}

/// The catalog entry of a CREATE INDEX (its name empty when PostgreSQL would choose one) and
/// the table it indexes.
fn index_def(index: &datafusion::sql::sqlparser::ast::CreateIndex, catalog: &crate::catalog::Catalog) -> Result<(String, crate::catalog::IndexDef)> {
    let table = table_name(&index.table_name)?;
    let def = catalog.require(&table)?;
    if index.nulls_distinct == Some(false) {
        return Err(EngineError::unsupported("CREATE UNIQUE INDEX ... NULLS NOT DISTINCT (a UNIQUE NULLS NOT DISTINCT constraint works)"));
    }
    let name = match &index.name {
        Some(name) => table_name(name)?,
        None => String::new(),
    };
    let mut columns = Vec::with_capacity(index.columns.len());
    let mut expressions = Vec::new();
    let mut descending = Vec::with_capacity(index.columns.len());
    for (place, c) in index.columns.iter().enumerate() {
        let mut key = &c.column.expr;
        while let Expr::Nested(inner) = key {
            key = inner;
        }
        match key {
            Expr::Identifier(ident) => {
                let column = normalize_ident(ident);
                columns.push(
                    def.column_index(&column).ok_or_else(|| EngineError::UndefinedColumn { column, table: Some(table.clone()) })?,
                );
            }
            expr if crate::translate::constraints::contains_subquery(expr) => {
                return Err(EngineError::unsupported("cannot use subquery in index expression"));
            }
            expr => expressions.push((place, expr.to_string())),
        }
        descending.push(c.column.options.asc == Some(false));
    }
    let predicate = match &index.predicate {
        Some(predicate) if crate::translate::constraints::contains_subquery(predicate) => {
            return Err(EngineError::unsupported("cannot use subquery in index predicate"));
        }
        Some(predicate) => Some(predicate.to_string()),
        None => None,
    };
    Ok((table, crate::catalog::IndexDef { name, columns, descending, is_unique: index.unique, expressions, predicate }))
}

/// A `COPY ... FROM STDIN` under way (see [`Session::copy_in_start`]).
pub struct CopyLoad {
    input: tokio::sync::mpsc::Sender<CopyInput>,
    converter: tokio::task::JoinHandle<()>,
    /// The writer's part of the load, once the converter has rows for it (or an error).
    started: tokio::sync::oneshot::Receiver<Result<crate::oltp::writer::Submitted>>,
}

impl CopyLoad {
    /// Hands on the next piece of the client's data, waiting while the load is behind. Data
    /// after the load has failed is dropped; [`Session::copy_in_finish`] reports the failure.
    pub async fn send(&self, data: bytes::Bytes) {
        let _ = self.input.send(CopyInput::Data(data)).await;
    }
}

impl std::fmt::Debug for CopyLoad {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CopyLoad").finish_non_exhaustive()
    }
}

/// CopyData messages that may wait for the converter before the client has to.
const COPY_INPUT_MESSAGES: usize = 16;

#[cfg(test)]
mod tests {
    use super::*;

    /// Point reads that differ only in their key share one parse (pgbench `-M simple`).
    #[tokio::test]
    async fn point_reads_differing_in_their_key_share_one_parse() {
        let dir = tempfile::tempdir().expect("temp dir");
        let engine = crate::HtapEngine::open(rhei_config::EngineConfig::with_data_dir(dir.path())).await.expect("open");
        engine.execute_batch("CREATE TABLE pgbench_accounts (aid int NOT NULL, bid int, abalance int, filler char(84)); ALTER TABLE pgbench_accounts ADD PRIMARY KEY (aid)").await.expect("setup");
        let session = engine.session();
        // The same text with the client's own parameter, parsed first (pgbench `-M prepared`
        // before `-M simple`), made every later lifting fall back to a parse per statement.
        let prepared = session.parse("SELECT abalance FROM pgbench_accounts WHERE aid = $1;").expect("parse");
        assert!(prepared[0].lifted.is_empty());
        let first = session.parse_simple("SELECT abalance FROM pgbench_accounts WHERE aid = 14690;").expect("parse");
        let second = session.parse_simple("SELECT abalance FROM pgbench_accounts WHERE aid = 51921;").expect("parse");
        assert_eq!(first[0].lifted, [ScalarValue::Int64(Some(14690))]);
        assert_eq!(second[0].lifted, [ScalarValue::Int64(Some(51921))]);
        assert_eq!(first[0].sql, second[0].sql);
        engine.close().await;
    }

    /// A lifting that does not parse is remembered as such, and a client sending its text
    /// gets the syntax error (it was an empty query).
    #[tokio::test]
    async fn a_lifted_text_that_does_not_parse_stays_a_syntax_error() {
        let dir = tempfile::tempdir().expect("temp dir");
        let engine = crate::HtapEngine::open(rhei_config::EngineConfig::with_data_dir(dir.path())).await.expect("open");
        let session = engine.session();
        let table = session.parse_simple("CREATE TABLE t (c varchar(10))").expect("parse");
        assert!(table[0].lifted.is_empty() && table[0].statement().is_some());
        assert!(matches!(session.parse("CREATE TABLE t (c varchar($1))"), Err(EngineError::Syntax { .. })));
        engine.close().await;
    }

    #[test]
    fn hints_and_explain_route_are_recognized() {
        assert_eq!(leading_hint("  /*+ olap */ SELECT 1"), Some(Route::Olap));
        assert_eq!(leading_hint("/*+OLTP*/SELECT 1"), Some(Route::Oltp));
        assert_eq!(leading_hint("/* olap */ SELECT 1"), None);
        assert_eq!(explain_route_body("explain  ROUTE select 1"), Some(" select 1"));
        assert_eq!(explain_route_body("EXPLAIN SELECT 1"), None);
    }

    #[test]
    fn create_table_forms_read_as_ones_sqlparser_knows() {
        let named = crate::table_as::NAMED_COLUMN;
        let no_data = crate::table_as::NO_DATA;
        assert_eq!(
            create_table_forms_as_parsed("CREATE TABLE t (a, \"B\") AS SELECT 1, 2").as_deref(),
            Some(format!("CREATE TABLE t (a \"{named}\", \"B\" \"{named}\") AS SELECT 1, 2").as_str())
        );
        assert_eq!(
            create_table_forms_as_parsed("create unlogged table if not exists public.t as select * from s with no data;").as_deref(),
            Some(format!("create table if not exists public.t as SELECT * FROM (select * from s ) AS \"{no_data}\" LIMIT 0;").as_str())
        );
        assert_eq!(create_table_forms_as_parsed("CREATE TEMP TABLE t AS TABLE s WITH DATA").as_deref(), Some("CREATE TEMP TABLE t AS TABLE s "));
        assert_eq!(create_table_forms_as_parsed("CREATE UNLOGGED TABLE t (a int)").as_deref(), Some("CREATE TABLE t (a int)"));
        // Column definitions with types are left to sqlparser's error.
        assert_eq!(create_table_forms_as_parsed("CREATE TABLE t (a int, b) AS SELECT 1, 2"), None);
        assert_eq!(create_table_forms_as_parsed("SELECT 'create table t (a) as'"), None);
        for sql in ["CREATE TABLE t (a, \"B\") AS SELECT 1, 2", "create unlogged table t as select 1 with no data"] {
            let rewritten = create_table_forms_as_parsed(sql).expect("rewritten");
            assert!(Parser::parse_sql(&PostgreSqlDialect {}, &rewritten).is_ok(), "{rewritten}");
        }
    }

    #[test]
    fn weaker_row_locks_read_as_the_ones_sqlparser_knows() {
        assert_eq!(lock_strengths_as_parsed("SELECT id FROM t FOR NO KEY UPDATE SKIP LOCKED").as_deref(), Some("SELECT id FROM t FOR UPDATE SKIP LOCKED"));
        assert_eq!(lock_strengths_as_parsed("select 'for no key update' from t for key share of t").as_deref(), Some("select 'for no key update' from t for share of t"));
        assert_eq!(lock_strengths_as_parsed("SELECT key FROM t FOR UPDATE"), None);
        // Literals stay as written (a doubled quote, an escape), and so does what precedes.
        assert_eq!(
            lock_strengths_as_parsed("SELECT id FROM jobs WHERE owner = 'x'' OR owner <> ''x'\n  AND note = E'a\\tb' ORDER BY id LIMIT 1 FOR NO KEY UPDATE SKIP LOCKED").as_deref(),
            Some("SELECT id FROM jobs WHERE owner = 'x'' OR owner <> ''x'\n  AND note = E'a\\tb' ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED")
        );
        assert_eq!(lock_strengths_as_parsed("SELECT 'é' FROM t FOR /* weak */ KEY SHARE").as_deref(), Some("SELECT 'é' FROM t FOR /* weak */ SHARE"));
    }

    #[test]
    fn network_literals_read_as_casts() {
        assert_eq!(
            network_literals_as_casts("SELECT id FROM t WHERE ip = inet '10.0.0.1' OR net >>= CIDR  'it''s'").as_deref(),
            Some("SELECT id FROM t WHERE ip = '10.0.0.1'::inet OR net >>= 'it''s'::cidr")
        );
        assert_eq!(network_literals_as_casts("SELECT inet FROM t WHERE inet = 'x'"), None);
        assert_eq!(plain_forms("SELECT 1 FROM t WHERE ip = inet '1.2.3.4' FOR KEY SHARE").as_deref(), Some("SELECT 1 FROM t WHERE ip = '1.2.3.4'::inet FOR SHARE"));
    }

    #[test]
    fn merge_actions_sqlparser_does_not_read_are_written_as_markers() {
        assert_eq!(
            plain_forms("MERGE INTO t USING s ON t.id = s.id WHEN MATCHED AND s.note = 'do nothing' THEN do  Nothing WHEN NOT MATCHED THEN DO NOTHING").as_deref(),
            Some("MERGE INTO t USING s ON t.id = s.id WHEN MATCHED AND s.note = 'do nothing' THEN UPDATE SET \"rhei do nothing\" = NULL WHEN NOT MATCHED THEN INSERT (\"rhei do nothing\") VALUES (NULL)")
        );
        assert_eq!(plain_forms("SELECT 'then do nothing' FROM merge"), None);
        assert_eq!(
            plain_forms("MERGE INTO t USING s ON t.id = s.id WHEN NOT MATCHED AND CASE WHEN s.a > 0 THEN true END THEN DO NOTHING").as_deref(),
            Some("MERGE INTO t USING s ON t.id = s.id WHEN NOT MATCHED AND CASE WHEN s.a > 0 THEN true END THEN INSERT (\"rhei do nothing\") VALUES (NULL)")
        );
        assert_eq!(
            plain_forms("WITH s AS (SELECT 1 AS id) MERGE INTO t USING s ON t.id = s.id WHEN NOT MATCHED THEN INSERT DEFAULT VALUES").as_deref(),
            Some("WITH s AS (SELECT 1 AS id) MERGE INTO t USING s ON t.id = s.id WHEN NOT MATCHED THEN INSERT (\"rhei default values\") VALUES (NULL)")
        );
    }

    #[test]
    fn statements_split_at_semicolons_outside_literals_keep_their_text() {
        assert_eq!(
            split_statements("ALTER SEQUENCE s RESTART;\n INSERT INTO t VALUES ('a;b''c', E'\\n');;").unwrap(),
            ["ALTER SEQUENCE s RESTART", "\n INSERT INTO t VALUES ('a;b''c', E'\\n')"]
        );
        assert_eq!(lock_strengths_as_parsed("SELECT 1"), None);
    }
}

/// `work`, failed with 57014 if `deadline` (a statement's `statement_timeout`) passes first.
async fn within<T>(deadline: Option<tokio::time::Instant>, work: impl std::future::Future<Output = Result<T>>) -> Result<T> {
    match deadline {
        Some(deadline) => tokio::time::timeout_at(deadline, work).await.map_err(|_| EngineError::StatementTimeout)?,
        None => work.await,
    }
}

/// A PostgreSQL time setting in milliseconds: a bare number is milliseconds; `us`, `ms`, `s`,
/// `min`, `h` and `d` units are accepted, as in `SET statement_timeout = '5s'`.
pub fn parse_duration_ms(value: &str) -> Option<u64> {
    let value = value.trim();
    let split = value.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(value.len());
    let (number, unit) = value.split_at(split);
    let number: f64 = number.parse().ok()?;
    let factor = match unit.trim() {
        "" | "ms" => 1.0,
        "us" => 0.001,
        "s" => 1_000.0,
        "min" => 60_000.0,
        "h" => 3_600_000.0,
        "d" => 86_400_000.0,
        _ => return None,
    };
    Some((number * factor).round() as u64)
}

