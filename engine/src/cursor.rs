//! SQL cursors: `DECLARE name CURSOR [WITH HOLD] FOR query`, `FETCH`, `MOVE` and `CLOSE`, as
//! drivers use them to read large results in pieces (psycopg's and psycopg2's named cursors,
//! SQLAlchemy's `stream_results`, Django's `.iterator()`).
//!
//! A cursor holds its query's row stream and hands out rows as they are fetched, so a result
//! larger than memory is read a few batches at a time (from the OLAP engine; inside a
//! transaction block reads run on SQLite's writer, which gives a cursor its whole result at
//! DECLARE, and a WITH HOLD cursor over SQLite declared outside one is read whole at DECLARE,
//! as PostgreSQL materializes it, rather than keep one of the few reader threads). Cursors scan
//! forward only (as PostgreSQL's without SCROLL): a backward or absolute move is 55000, and
//! `DECLARE ... SCROLL` is refused. A cursor without HOLD needs a transaction block and ends
//! with it; one WITH HOLD lasts until closed or the session ends, unless the block it was
//! declared in rolls back.
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
    /// FETCH (rows returned) or MOVE (rows skipped, counted): `count` rows forward, all when
    /// `None`.
    Fetch { cursor: String, count: Option<u64>, skip: bool },
    /// CLOSE one cursor, or all when `None`.
    Close { cursor: Option<String> },
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
            other => word(Some(other)).map(Part::Word).ok_or_else(syntax),
        })
        .collect::<Result<Vec<_>>>()?;
    let is = |part: &Part, w: &str| matches!(part, Part::Word(v) if v == w);
    let count = match parts.as_slice() {
        [] => Some(1),
        [one] if is(one, "next") || is(one, "forward") => Some(1),
        [one] if is(one, "all") => None,
        [f, a] if is(f, "forward") && is(a, "all") => None,
        [Part::Count(n)] => forward(*n)?,
        [f, Part::Count(n)] if is(f, "forward") || is(f, "relative") => forward(*n)?,
        // Backward, or to an absolute position.
        [Part::Minus, ..] => return Err(EngineError::CursorScansForwardOnly),
        [first, ..] if ["prior", "first", "last", "absolute", "relative", "backward"].iter().any(|w| is(first, w)) => {
            return Err(EngineError::CursorScansForwardOnly);
        }
        _ => return Err(syntax()),
    };
    Ok(CursorCommand::Fetch { cursor, count, skip })
}

/// The command of a CLOSE or FETCH that sqlparser read (one statement of several in a query
/// string; a lone one is read by [`parse`]).
pub(crate) fn from_statement(stmt: &datafusion::sql::sqlparser::ast::Statement) -> Result<CursorCommand> {
    use datafusion::sql::sqlparser::ast::{CloseCursor, FetchDirection, Statement, Value};
    let count = |v: &Value| match v {
        Value::Number(n, _) => n.parse::<i64>().map_err(|_| syntax()).and_then(forward),
        _ => Err(syntax()),
    };
    match stmt {
        Statement::Close { cursor: CloseCursor::All } => Ok(CursorCommand::Close { cursor: None }),
        Statement::Close { cursor: CloseCursor::Specific { name } } => Ok(CursorCommand::Close { cursor: Some(normalize_ident(name)) }),
        Statement::Fetch { name, direction, .. } => {
            let count = match direction {
                FetchDirection::Next => Some(1),
                FetchDirection::All | FetchDirection::ForwardAll => None,
                FetchDirection::Count { limit } | FetchDirection::Forward { limit: Some(limit) } => count(limit)?,
                FetchDirection::Forward { limit: None } => Some(1),
                FetchDirection::Relative { limit } => count(limit)?,
                _ => return Err(EngineError::CursorScansForwardOnly),
            };
            Ok(CursorCommand::Fetch { cursor: normalize_ident(name), count, skip: false })
        }
        _ => Err(EngineError::Internal("not a cursor command".into())),
    }
}

/// A forward count; a negative one moves backward.
fn forward(n: i64) -> Result<Option<u64>> {
    u64::try_from(n).map(Some).map_err(|_| EngineError::CursorScansForwardOnly)
}

/// An open cursor.
pub(crate) struct Cursor {
    rows: RowStream,
    /// Rows of a batch a FETCH took only part of.
    pending: Option<RecordBatch>,
    /// WITH HOLD: outlives the transaction block it was declared in.
    hold: bool,
    /// Declared in the transaction block still open: a rollback of it ends the cursor.
    in_block: bool,
    /// The savepoints open when it was declared: a ROLLBACK TO one of them ends it.
    savepoints: usize,
    /// Rows handed out so far (FETCH 0 refetches the current row, which needs SCROLL).
    moved: bool,
}

/// A session's open cursors, by name.
#[derive(Default)]
pub(crate) struct Cursors(HashMap<String, Cursor>);

impl Cursors {
    pub(crate) fn declare(&mut self, name: String, rows: RowStream, hold: bool, in_block: bool, savepoints: usize) -> Result<()> {
        if self.0.contains_key(&name) {
            return Err(EngineError::DuplicateCursor { name });
        }
        self.0.insert(name, Cursor { rows, pending: None, hold, in_block, moved: false, savepoints });
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

    /// Up to `count` rows (all when `None`) from `name`, and how many.
    ///
    /// The cursor is out of the session while it reads: a FETCH that fails, times out or is
    /// cancelled ends it (it would otherwise have lost the rows taken so far, silently).
    pub(crate) async fn fetch(&mut self, name: &str, count: Option<u64>) -> Result<(SchemaRef, crate::Route, Vec<RecordBatch>, u64)> {
        let mut cursor = self.0.remove(name).ok_or_else(|| EngineError::UndefinedCursor { name: name.to_string() })?;
        if count == Some(0) && cursor.moved {
            self.0.insert(name.to_string(), cursor);
            return Err(EngineError::CursorScansForwardOnly);
        }
        let mut taken = Vec::new();
        let mut rows = 0u64;
        while count.is_none_or(|c| rows < c) {
            let batch = match cursor.pending.take() {
                Some(batch) => batch,
                None => match cursor.rows.next().await {
                    Some(batch) => batch?,
                    None => break,
                },
            };
            let left = count.map_or(u64::MAX, |c| c - rows);
            let n = batch.num_rows() as u64;
            if n > left {
                let left = left as usize;
                cursor.pending = Some(batch.slice(left, batch.num_rows() - left));
                taken.push(batch.slice(0, left));
                rows += left as u64;
            } else {
                taken.push(batch);
                rows += n;
            }
        }
        cursor.moved |= rows > 0;
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
        let f = |cursor: &str, count, skip| CursorCommand::Fetch { cursor: cursor.into(), count, skip };
        assert_eq!(fetch("FETCH FORWARD 2000 FROM \"c_1\""), f("c_1", Some(2000), false));
        assert_eq!(fetch("fetch c1"), f("c1", Some(1), false));
        assert_eq!(fetch("FETCH NEXT FROM C1;"), f("c1", Some(1), false));
        assert_eq!(fetch("FETCH ALL IN c1"), f("c1", None, false));
        assert_eq!(fetch("FETCH FORWARD ALL FROM c1"), f("c1", None, false));
        assert_eq!(fetch("FETCH 5 c1"), f("c1", Some(5), false));
        assert_eq!(fetch("MOVE 3 IN c1"), f("c1", Some(3), true));
        assert_eq!(fetch("MOVE RELATIVE 2 FROM c1"), f("c1", Some(2), true));
        assert_eq!(fetch("CLOSE \"Big\""), CursorCommand::Close { cursor: Some("Big".into()) });
        assert_eq!(fetch("close all"), CursorCommand::Close { cursor: None });
        for backward in ["FETCH PRIOR FROM c1", "FETCH BACKWARD 2 FROM c1", "MOVE ABSOLUTE 3 FROM c1", "FETCH -1 FROM c1", "FETCH LAST c1"] {
            let err = parse(backward).unwrap().unwrap_err();
            assert_eq!(err.sqlstate(), "55000", "{backward}");
        }
        assert_eq!(parse("FETCH FROM").unwrap().unwrap_err().sqlstate(), "42601");
        assert!(parse("SELECT 1").is_none());
    }
}
