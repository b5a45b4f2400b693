//! SQL cursors: `DECLARE name CURSOR [WITH HOLD] FOR query`, `FETCH`, `MOVE` and `CLOSE`, as
//! drivers use them to read large results in pieces (psycopg's and psycopg2's named cursors,
//! SQLAlchemy's `stream_results`, Django's `.iterator()`).
//!
//! A cursor holds its query's row stream and hands out rows as they are fetched, so a result
//! larger than memory is read a few batches at a time (from the OLAP engine; inside a
//! transaction block reads run on SQLite's writer, which gives a cursor its whole result at
//! DECLARE, and a WITH HOLD cursor over SQLite declared outside one is read whole at DECLARE,
//! as PostgreSQL materializes it, rather than keep one of the few reader threads). A cursor
//! without HOLD needs a transaction block and ends with it; one WITH HOLD lasts until closed or
//! the session ends, unless the block it was declared in rolls back.
//!
//! Every direction PostgreSQL has moves a cursor: NEXT, PRIOR, FIRST, LAST, ABSOLUTE n,
//! RELATIVE n, n, ALL, FORWARD [n | ALL], BACKWARD [n | ALL] (a backward FETCH returns its rows
//! in backward order). A cursor declared `SCROLL` keeps the rows it has read, so it can go back
//! (in memory: PostgreSQL would spill a large one to disk); any other cursor keeps none it has
//! passed, and a move that needs them (backward, or fetching the current row again) is 55000
//! "cursor can only scan forward", as for PostgreSQL's `NO SCROLL`.
//!
//! sqlparser reads DECLARE; FETCH and MOVE are read here (sqlparser has no MOVE, and wants a
//! direction PostgreSQL lets a FETCH leave out).

use std::collections::HashMap;

use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;
use datafusion::sql::sqlparser::tokenizer::Token;
use futures::StreamExt;

use crate::catalog::normalize_ident;
use crate::error::{EngineError, Result};
use crate::output::RowStream;

/// A FETCH, MOVE or CLOSE.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CursorCommand {
    /// FETCH (rows returned) or MOVE (rows skipped, counted).
    Fetch { cursor: String, direction: Direction, skip: bool },
    /// CLOSE one cursor, or all when `None`.
    Close { cursor: Option<String> },
}

/// Where a FETCH or MOVE goes, as PostgreSQL reads its direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// The next `n` rows (all when `None`); NEXT is 1.
    Forward(Option<u64>),
    /// The `n` rows before the current one, nearest first (all when `None`); PRIOR is 1.
    Backward(Option<u64>),
    /// Row `n` (from the end when negative: LAST is -1; FIRST is 1; 0 is before the first).
    Absolute(i64),
    /// The row `n` after the current one (before it when negative; 0 is the current row).
    Relative(i64),
}

impl Direction {
    /// A signed count (`FETCH -2`, `FORWARD -2`): forward, or backward when negative; 0 is the
    /// current row.
    fn counted(n: i64) -> Self {
        match n {
            0 => Self::Relative(0),
            n if n > 0 => Self::Forward(Some(n.unsigned_abs())),
            n => Self::Backward(Some(n.unsigned_abs())),
        }
    }
}

/// Reads `sql` when it is a FETCH, MOVE or CLOSE (`None` when it is something else).
pub fn parse(sql: &str) -> Option<Result<CursorCommand>> {
    let tokens = crate::session::tokens_if_first_word(sql, &["fetch", "move", "close"])?;
    // One of several statements in a query string: sqlparser reads them all (see
    // [`from_statement`]).
    if tokens.contains(&Token::SemiColon) {
        return None;
    }
    Some(parse_tokens(&tokens))
}

fn word(t: Option<&Token>) -> Option<String> {
    match t {
        Some(Token::Word(w)) if w.quote_style.is_none() => Some(w.value.to_ascii_lowercase()),
        _ => None,
    }
}

fn syntax() -> EngineError {
    EngineError::syntax("a cursor command reads FETCH [direction] [FROM | IN] name, MOVE likewise, or CLOSE name | ALL")
}

/// A cursor's name as written (quoted or folded to lower case).
fn name(t: &Token) -> Option<String> {
    match t {
        Token::Word(w) if w.quote_style.is_some() || !["from", "in", "all"].contains(&w.value.to_ascii_lowercase().as_str()) => Some(normalize_ident(&w.clone().into_ident(datafusion::sql::sqlparser::tokenizer::Span::empty()))),
        _ => None,
    }
}

/// One word of a FETCH direction: a keyword, a count, or a minus sign.
#[derive(Debug, PartialEq)]
enum Part {
    Word(String),
    Count(i64),
    Minus,
    Plus,
}

fn parse_tokens(tokens: &[Token]) -> Result<CursorCommand> {
    let verb = word(tokens.first()).ok_or_else(syntax)?;
    let rest = &tokens[1..];
    if verb == "close" {
        return match rest {
            [t] if word(Some(t)).as_deref() == Some("all") => Ok(CursorCommand::Close { cursor: None }),
            [t] => Ok(CursorCommand::Close { cursor: Some(name(t).ok_or_else(syntax)?) }),
            _ => Err(syntax()),
        };
    }
    let skip = verb == "move";
    // The cursor's name is the last token; FROM or IN may stand before it.
    let (cursor, direction) = match rest.split_last() {
        Some((last, before)) => (name(last).ok_or_else(syntax)?, before),
        None => return Err(syntax()),
    };
    let direction = match direction.split_last() {
        Some((last, before)) if matches!(word(Some(last)).as_deref(), Some("from" | "in")) => before,
        _ => direction,
    };
    let parts = direction
        .iter()
        .map(|t| match t {
            Token::Number(n, _) => n.parse().map(Part::Count).map_err(|_| syntax()),
            Token::Minus => Ok(Part::Minus),
            Token::Plus => Ok(Part::Plus),
            other => word(Some(other)).map(Part::Word).ok_or_else(syntax),
        })
        .collect::<Result<Vec<_>>>()?;
    let is = |part: &Part, w: &str| matches!(part, Part::Word(v) if v == w);
    // A count, with the minus sign the tokenizer leaves apart.
    let signed = |parts: &[Part]| match parts {
        [Part::Count(n)] => Some(*n),
        [Part::Minus, Part::Count(n)] => Some(-*n),
        [Part::Plus, Part::Count(n)] => Some(*n),
        _ => None,
    };
    let direction = match parts.as_slice() {
        [] => Direction::Forward(Some(1)),
        [one] if is(one, "next") || is(one, "forward") => Direction::Forward(Some(1)),
        [one] if is(one, "prior") || is(one, "backward") => Direction::Backward(Some(1)),
        [one] if is(one, "first") => Direction::Absolute(1),
        [one] if is(one, "last") => Direction::Absolute(-1),
        [one] if is(one, "all") => Direction::Forward(None),
        [f, a] if is(f, "forward") && is(a, "all") => Direction::Forward(None),
        [b, a] if is(b, "backward") && is(a, "all") => Direction::Backward(None),
        [f, rest @ ..] if is(f, "forward") => Direction::counted(signed(rest).ok_or_else(syntax)?),
        [b, rest @ ..] if is(b, "backward") => Direction::counted(-signed(rest).ok_or_else(syntax)?),
        [a, rest @ ..] if is(a, "absolute") => Direction::Absolute(signed(rest).ok_or_else(syntax)?),
        [r, rest @ ..] if is(r, "relative") => Direction::Relative(signed(rest).ok_or_else(syntax)?),
        counted => Direction::counted(signed(counted).ok_or_else(syntax)?),
    };
    Ok(CursorCommand::Fetch { cursor, direction, skip })
}

/// The command of a CLOSE or FETCH that sqlparser read (one statement of several in a query
/// string; a lone one is read by [`parse`]).
pub(crate) fn from_statement(stmt: &datafusion::sql::sqlparser::ast::Statement) -> Result<CursorCommand> {
    use datafusion::sql::sqlparser::ast::{CloseCursor, FetchDirection, Statement, Value};
    let count = |v: &Value| match v {
        Value::Number(n, _) => n.parse::<i64>().map_err(|_| syntax()),
        _ => Err(syntax()),
    };
    match stmt {
        Statement::Close { cursor: CloseCursor::All } => Ok(CursorCommand::Close { cursor: None }),
        Statement::Close { cursor: CloseCursor::Specific { name } } => Ok(CursorCommand::Close { cursor: Some(normalize_ident(name)) }),
        Statement::Fetch { name, direction, .. } => {
            let direction = match direction {
                FetchDirection::Next | FetchDirection::Forward { limit: None } => Direction::Forward(Some(1)),
                FetchDirection::Prior | FetchDirection::Backward { limit: None } => Direction::Backward(Some(1)),
                FetchDirection::First => Direction::Absolute(1),
                FetchDirection::Last => Direction::Absolute(-1),
                FetchDirection::All | FetchDirection::ForwardAll => Direction::Forward(None),
                FetchDirection::BackwardAll => Direction::Backward(None),
                FetchDirection::Count { limit } | FetchDirection::Forward { limit: Some(limit) } => Direction::counted(count(limit)?),
                FetchDirection::Backward { limit: Some(limit) } => Direction::counted(-count(limit)?),
                FetchDirection::Absolute { limit } => Direction::Absolute(count(limit)?),
                FetchDirection::Relative { limit } => Direction::Relative(count(limit)?),
            };
            Ok(CursorCommand::Fetch { cursor: normalize_ident(name), direction, skip: false })
        }
        _ => Err(EngineError::Internal("not a cursor command".into())),
    }
}

/// An open cursor.
pub(crate) struct Cursor {
    rows: RowStream,
    /// Rows read from the stream and kept: those from row `kept_from` (counting from 0) on.
    kept: std::collections::VecDeque<RecordBatch>,
    kept_from: u64,
    /// Rows read from the stream so far.
    read: u64,
    /// The stream has no more rows (`read` is the result's size).
    exhausted: bool,
    /// 0 before the first row, n on row n, `read + 1` after the last.
    position: u64,
    /// SCROLL: keeps every row read, so it can move backward.
    scroll: bool,
    /// WITH HOLD: outlives the transaction block it was declared in.
    hold: bool,
    /// Declared in the transaction block still open: a rollback of it ends the cursor.
    in_block: bool,
    /// The savepoints open when it was declared: a ROLLBACK TO one of them ends it.
    savepoints: usize,
}

impl Cursor {
    /// Reads from the stream until `rows` rows have been read or it ends. A forward-only
    /// cursor keeps none below row `needed_from` (counting from 0) as it goes, so skipping a
    /// large part of a result holds no more of it than a batch.
    async fn read_to(&mut self, rows: u64, needed_from: u64) -> Result<()> {
        while self.read < rows && !self.exhausted {
            match self.rows.next().await {
                Some(batch) => {
                    let batch = batch?;
                    self.read += batch.num_rows() as u64;
                    self.kept.push_back(batch);
                    if !self.scroll {
                        self.forget_below(needed_from);
                    }
                }
                None => self.exhausted = true,
            }
        }
        Ok(())
    }

    /// Rows `from..to` (counting from 0), which must be kept.
    fn rows_between(&self, from: u64, to: u64) -> Vec<RecordBatch> {
        let mut out = Vec::new();
        let mut start = self.kept_from;
        for batch in &self.kept {
            let end = start + batch.num_rows() as u64;
            let (lo, hi) = (from.max(start), to.min(end));
            if lo < hi {
                out.push(batch.slice((lo - start) as usize, (hi - lo) as usize));
            }
            start = end;
        }
        out
    }

    /// Rows `from..to` nearest-last first: a backward FETCH's order.
    fn rows_backward(&self, from: u64, to: u64) -> Result<Vec<RecordBatch>> {
        let forward = self.rows_between(from, to);
        if forward.is_empty() {
            return Ok(forward);
        }
        let all = arrow::compute::concat_batches(self.rows.schema(), &forward).map_err(|e| EngineError::Internal(e.to_string()))?;
        let reversed = arrow::array::UInt32Array::from_iter_values((0..all.num_rows() as u32).rev());
        let columns = all
            .columns()
            .iter()
            .map(|c| arrow::compute::take(c, &reversed, None))
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(|e| EngineError::Internal(e.to_string()))?;
        Ok(vec![RecordBatch::try_new(all.schema(), columns).map_err(|e| EngineError::Internal(e.to_string()))?])
    }

    /// Drops the rows below row `from` (counting from 0): a forward-only cursor's passed ones.
    fn forget_below(&mut self, from: u64) {
        while let Some(first) = self.kept.front() {
            let n = first.num_rows() as u64;
            if self.kept_from + n <= from {
                self.kept_from += n;
                self.kept.pop_front();
            } else {
                let passed = from.saturating_sub(self.kept_from) as usize;
                if passed > 0 {
                    let rest = first.slice(passed, first.num_rows() - passed);
                    self.kept_from += passed as u64;
                    self.kept[0] = rest;
                }
                break;
            }
        }
    }

    /// Goes to row `target` (1-based, 0: before the first) and gives it, if there is one.
    async fn go_to(&mut self, target: u64) -> Result<(Vec<RecordBatch>, u64)> {
        if target == 0 {
            self.position = 0;
            return Ok((Vec::new(), 0));
        }
        self.read_to(target, target - 1).await?;
        if target <= self.read {
            self.position = target;
            Ok((self.rows_between(target - 1, target), 1))
        } else {
            self.position = self.read + 1;
            Ok((Vec::new(), 0))
        }
    }

    /// Whether `direction` needs a row the cursor has passed (a forward-only cursor has not
    /// kept it), as PostgreSQL decides for a cursor without SCROLL. A MOVE by 0 needs no row.
    fn goes_back(&self, direction: Direction, skip: bool) -> bool {
        let on_or_before = |target: i64| target <= i64::try_from(self.position).unwrap_or(i64::MAX);
        let on_a_row = self.position >= 1 && self.position <= self.read;
        match direction {
            Direction::Forward(_) => false,
            Direction::Backward(n) => n != Some(0),
            // Back to the start: allowed only where the cursor already is.
            Direction::Absolute(0) => self.position > 0,
            Direction::Absolute(n) => n < 0 || on_or_before(n),
            Direction::Relative(0) => on_a_row && !skip,
            Direction::Relative(n) => n < 0,
        }
    }

    /// Moves as `direction` says: the rows it fetches (none for a MOVE), and the count.
    async fn fetch(&mut self, direction: Direction, skip: bool) -> Result<(Vec<RecordBatch>, u64)> {
        let answer = match direction {
            Direction::Forward(want) => {
                let end = want.map_or(u64::MAX, |w| self.position.saturating_add(w));
                self.read_to(end, if skip { end } else { self.position }).await?;
                let (from, to) = (self.position.min(self.read), end.min(self.read));
                let taken = to - from;
                self.position = if want.is_some_and(|w| taken == w) { self.position + taken } else { self.read + 1 };
                (if skip { Vec::new() } else { self.rows_between(from, to) }, taken)
            }
            Direction::Backward(want) => {
                let before = self.position.saturating_sub(1);
                let taken = want.map_or(before, |w| w.min(before));
                let rows = self.rows_backward(before - taken, before)?;
                self.position = if want.is_some_and(|w| taken == w) { self.position - taken } else { 0 };
                (rows, taken)
            }
            Direction::Absolute(n) if n >= 0 => self.go_to(n.unsigned_abs()).await?,
            Direction::Absolute(n) => {
                self.read_to(u64::MAX, u64::MAX).await?;
                let from_end = n.unsigned_abs();
                match (self.read + 1).checked_sub(from_end) {
                    Some(target) if target >= 1 => self.go_to(target).await?,
                    _ => self.go_to(0).await?,
                }
            }
            Direction::Relative(0) if self.position >= 1 && self.position <= self.read => {
                (if skip { Vec::new() } else { self.rows_between(self.position - 1, self.position) }, 1)
            }
            Direction::Relative(0) => (Vec::new(), 0),
            Direction::Relative(n) => {
                let target = i64::try_from(self.position).unwrap_or(i64::MAX).saturating_add(n);
                self.go_to(u64::try_from(target).unwrap_or(0)).await?
            }
        };
        if !self.scroll {
            self.forget_below(self.position);
        }
        Ok(answer)
    }
}

/// A session's open cursors, by name.
#[derive(Default)]
pub(crate) struct Cursors(HashMap<String, Cursor>);

impl Cursors {
    pub(crate) fn declare(&mut self, name: String, rows: RowStream, scroll: bool, hold: bool, in_block: bool, savepoints: usize) -> Result<()> {
        if self.0.contains_key(&name) {
            return Err(EngineError::DuplicateCursor { name });
        }
        let kept = std::collections::VecDeque::new();
        self.0.insert(name, Cursor { rows, kept, kept_from: 0, read: 0, exhausted: false, position: 0, scroll, hold, in_block, savepoints });
        Ok(())
    }

    /// `ROLLBACK TO` the savepoint that `kept` savepoints stand below (still open after it):
    /// the cursors declared after it end, as PostgreSQL's do.
    pub(crate) fn rolled_back_to(&mut self, kept: usize) {
        self.0.retain(|_, c| c.savepoints < kept);
    }

    /// `RELEASE` of the savepoint that `kept` savepoints stand below: its cursors belong to
    /// the level around it now.
    pub(crate) fn released_to(&mut self, kept: usize) {
        self.0.values_mut().for_each(|c| c.savepoints = c.savepoints.min(kept));
    }

    pub(crate) fn close(&mut self, name: Option<&str>) -> Result<()> {
        match name {
            Some(name) => self.0.remove(name).map(drop).ok_or_else(|| EngineError::UndefinedCursor { name: name.to_string() }),
            None => {
                self.0.clear();
                Ok(())
            }
        }
    }

    /// Ends the cursors a transaction's end ends: those without HOLD, and those the block
    /// declared when it did not commit (their rows may be its undone writes).
    pub(crate) fn end_of_transaction(&mut self, committed: bool) {
        if !self.0.is_empty() {
            self.0.retain(|_, c| c.hold && (committed || !c.in_block));
            self.0.values_mut().for_each(|c| c.in_block = false);
        }
    }

    /// The columns a FETCH from `name` returns.
    pub(crate) fn schema(&self, name: &str) -> Option<SchemaRef> {
        self.0.get(name).map(|c| c.rows.schema().clone())
    }

    /// The rows a FETCH in `direction` from `name` gives, and how many a MOVE counts.
    ///
    /// The cursor is out of the session while it reads: a FETCH that fails, times out or is
    /// cancelled ends it (it would otherwise have lost the rows taken so far, silently). One
    /// refused for going back (55000) leaves it as it was.
    pub(crate) async fn fetch(&mut self, name: &str, direction: Direction, skip: bool) -> Result<(SchemaRef, crate::Route, Vec<RecordBatch>, u64)> {
        let cursor = self.0.get(name).ok_or_else(|| EngineError::UndefinedCursor { name: name.to_string() })?;
        if !cursor.scroll && cursor.goes_back(direction, skip) {
            return Err(EngineError::CursorScansForwardOnly);
        }
        let mut cursor = self.0.remove(name).ok_or_else(|| EngineError::UndefinedCursor { name: name.to_string() })?;
        let (taken, rows) = cursor.fetch(direction, skip).await?;
        let answer = (cursor.rows.schema().clone(), cursor.rows.route(), taken, rows);
        self.0.insert(name.to_string(), cursor);
        Ok(answer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fetch(sql: &str) -> CursorCommand {
        parse(sql).expect("a cursor command").expect("parses")
    }

    #[test]
    fn fetch_and_move_read_as_postgresql_writes_them() {
        use Direction::{Absolute, Backward, Forward, Relative};
        let f = |cursor: &str, direction, skip| CursorCommand::Fetch { cursor: cursor.into(), direction, skip };
        assert_eq!(fetch("FETCH FORWARD 2000 FROM \"c_1\""), f("c_1", Forward(Some(2000)), false));
        assert_eq!(fetch("fetch c1"), f("c1", Forward(Some(1)), false));
        assert_eq!(fetch("FETCH NEXT FROM C1;"), f("c1", Forward(Some(1)), false));
        assert_eq!(fetch("FETCH ALL IN c1"), f("c1", Forward(None), false));
        assert_eq!(fetch("FETCH FORWARD ALL FROM c1"), f("c1", Forward(None), false));
        assert_eq!(fetch("FETCH 5 c1"), f("c1", Forward(Some(5)), false));
        assert_eq!(fetch("MOVE 3 IN c1"), f("c1", Forward(Some(3)), true));
        assert_eq!(fetch("MOVE RELATIVE 2 FROM c1"), f("c1", Relative(2), true));
        assert_eq!(fetch("FETCH PRIOR FROM c1"), f("c1", Backward(Some(1)), false));
        assert_eq!(fetch("FETCH BACKWARD 2 FROM c1"), f("c1", Backward(Some(2)), false));
        assert_eq!(fetch("FETCH BACKWARD ALL FROM c1"), f("c1", Backward(None), false));
        assert_eq!(fetch("FETCH BACKWARD -2 FROM c1"), f("c1", Forward(Some(2)), false));
        assert_eq!(fetch("MOVE ABSOLUTE 3 FROM c1"), f("c1", Absolute(3), true));
        assert_eq!(fetch("FETCH ABSOLUTE -2 c1"), f("c1", Absolute(-2), false));
        assert_eq!(fetch("FETCH RELATIVE -1 c1"), f("c1", Relative(-1), false));
        assert_eq!(fetch("FETCH -1 FROM c1"), f("c1", Backward(Some(1)), false));
        assert_eq!(fetch("FETCH 0 FROM c1"), f("c1", Relative(0), false));
        assert_eq!(fetch("FETCH FIRST c1"), f("c1", Absolute(1), false));
        assert_eq!(fetch("FETCH RELATIVE +2 c1"), f("c1", Relative(2), false));
        assert_eq!(fetch("FETCH LAST c1"), f("c1", Absolute(-1), false));
        assert_eq!(fetch("CLOSE \"Big\""), CursorCommand::Close { cursor: Some("Big".into()) });
        assert_eq!(fetch("close all"), CursorCommand::Close { cursor: None });
        assert_eq!(parse("FETCH FROM").unwrap().unwrap_err().sqlstate(), "42601");
        assert_eq!(parse("FETCH ABSOLUTE FROM c1").unwrap().unwrap_err().sqlstate(), "42601");
        assert!(parse("SELECT 1").is_none());
    }

    /// The positions PostgreSQL's cursors take (checked against PostgreSQL 15 by
    /// `tests/slt`): row n is `n`, before the first 0, after the last one past it.
    #[tokio::test]
    async fn a_scroll_cursor_moves_both_ways_and_a_forward_only_one_refuses_to() {
        use arrow::array::Int64Array;
        use Direction::{Absolute, Backward, Forward, Relative};
        let schema = std::sync::Arc::new(arrow::datatypes::Schema::new(vec![arrow::datatypes::Field::new("n", arrow::datatypes::DataType::Int64, false)]));
        let batches = [1..4, 4..6, 6..11].map(|r| RecordBatch::try_new(schema.clone(), vec![std::sync::Arc::new(Int64Array::from_iter_values(r))]).unwrap());
        let stream = || RowStream::from_batches(schema.clone(), crate::Route::Olap, "SELECT", batches.to_vec());
        let values = |got: (SchemaRef, crate::Route, Vec<RecordBatch>, u64)| -> (Vec<i64>, u64) {
            let v = got.2.iter().flat_map(|b| b.column(0).as_any().downcast_ref::<Int64Array>().unwrap().values().to_vec()).collect();
            (v, got.3)
        };
        let mut cursors = Cursors::default();
        cursors.declare("s".into(), stream(), true, false, true, 0).unwrap();
        let steps: [(Direction, &[i64], u64); 14] = [
            (Forward(Some(2)), &[1, 2], 2),
            (Backward(Some(1)), &[1], 1),
            (Relative(0), &[1], 1),
            (Absolute(-1), &[10], 1),
            (Forward(Some(1)), &[], 0),
            (Backward(Some(3)), &[10, 9, 8], 3),
            (Relative(-5), &[3], 1),
            (Backward(None), &[2, 1], 2),
            (Backward(Some(1)), &[], 0),
            (Absolute(4), &[4], 1),
            (Relative(20), &[], 0),
            (Absolute(-20), &[], 0),
            (Forward(None), &(1..=10).collect::<Vec<_>>(), 10),
            (Absolute(0), &[], 0),
        ];
        for (direction, rows, count) in steps {
            assert_eq!(values(cursors.fetch("s", direction, false).await.unwrap()), (rows.to_vec(), count), "{direction:?}");
        }

        cursors.declare("f".into(), stream(), false, false, true, 0).unwrap();
        assert_eq!(values(cursors.fetch("f", Relative(0), false).await.unwrap()), (vec![], 0));
        assert_eq!(values(cursors.fetch("f", Forward(Some(4)), false).await.unwrap()), (vec![1, 2, 3, 4], 4));
        for back in [Backward(Some(1)), Relative(0), Relative(-1), Absolute(2), Absolute(-1), Absolute(0)] {
            assert_eq!(cursors.fetch("f", back, false).await.unwrap_err().sqlstate(), "55000", "{back:?}");
        }
        assert_eq!(values(cursors.fetch("f", Relative(0), true).await.unwrap()), (vec![], 1), "MOVE 0 on a row needs no row");
        assert_eq!(values(cursors.fetch("f", Relative(2), false).await.unwrap()), (vec![6], 1), "the cursor is where it was");
        assert_eq!(values(cursors.fetch("f", Forward(Some(2)), true).await.unwrap()), (vec![], 2), "MOVE 2");
        assert_eq!(values(cursors.fetch("f", Absolute(9), false).await.unwrap()), (vec![9], 1));
        assert_eq!(cursors.0["f"].kept_from, 9, "a forward-only cursor keeps no row it passed");
        assert_eq!(values(cursors.fetch("f", Forward(None), false).await.unwrap()), (vec![10], 1));
        assert_eq!(values(cursors.fetch("f", Relative(0), false).await.unwrap()), (vec![], 0), "nothing to fetch again after the end");
    }
}
