//! PostgreSQL's advisory locks, which migration tools take around their work (Prisma Migrate's
//! `pg_advisory_lock(72707369)`, Rails' `pg_try_advisory_lock`, golang-migrate, Flyway):
//! `pg_advisory_lock`, `pg_try_advisory_lock`, `pg_advisory_unlock`, `pg_advisory_unlock_all`,
//! `pg_advisory_xact_lock` and `pg_try_advisory_xact_lock`, each keyed by one bigint or two
//! integers. Locks are engine-wide and exclusive; a session may take one it holds again (each
//! take needs its own unlock, as in PostgreSQL). Session-level locks last until unlocked or the
//! session ends, transaction-level ones until the transaction block ends (outside one, until
//! the statement ends). A blocked `pg_advisory_lock` waits without holding a thread, so
//! `statement_timeout` and cancel end the wait. The `_shared` variants are refused (0A000).
//!
//! They are recognized as a whole statement, `SELECT pg_advisory_lock(...)` with constant or
//! parameter arguments, as clients send them; the functions cannot be called inside a larger
//! query.

use std::collections::HashMap;
use std::sync::Arc;

use arrow::array::{ArrayRef, BooleanArray, StringArray};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use arrow::record_batch::RecordBatch;
use datafusion::common::ScalarValue;
use datafusion::sql::sqlparser::ast::{DataType as SqlType, Expr, FunctionArg, FunctionArgExpr, FunctionArguments, Query, UnaryOperator, Value};
use parking_lot::Mutex;

use crate::error::{EngineError, Result};
use crate::oltp::writer::SessionId;

/// A lock's key: one bigint, or two integers. PostgreSQL keeps the two apart (`pg_locks`
/// tells them by `objsubid`), so `(1, 2)` never conflicts with `4294967298`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Key {
    Bigint(i64),
    Pair(i32, i32),
}

/// Who holds a key, and how many times at each level.
struct Holder {
    session: SessionId,
    session_holds: u32,
    transaction_holds: u32,
}

/// The engine's advisory locks.
#[derive(Default)]
pub(crate) struct AdvisoryLocks {
    held: Mutex<HashMap<Key, Holder>>,
    released: tokio::sync::Notify,
}

impl AdvisoryLocks {
    /// Takes `key` for `session` if it is free or already the session's.
    pub(crate) fn try_lock(&self, key: Key, session: SessionId, level: Level) -> bool {
        let mut held = self.held.lock();
        let holder = held.entry(key).or_insert(Holder { session, session_holds: 0, transaction_holds: 0 });
        if holder.session != session {
            return false;
        }
        match level {
            Level::Session => holder.session_holds += 1,
            Level::Transaction => holder.transaction_holds += 1,
        }
        true
    }

    /// Takes `key` for `session`, waiting while another session holds it. Cancel-safe: a
    /// wait dropped takes nothing.
    pub(crate) async fn lock(&self, key: Key, session: SessionId, level: Level) {
        loop {
            // Registered before trying, so a release between the try and the wait is not missed.
            let released = self.released.notified();
            tokio::pin!(released);
            released.as_mut().enable();
            if self.try_lock(key, session, level) {
                return;
            }
            released.await;
        }
    }

    /// Gives up one session-level hold of `key`; false if the session held none.
    pub(crate) fn unlock(&self, key: Key, session: SessionId) -> bool {
        let mut held = self.held.lock();
        let Some(holder) = held.get_mut(&key).filter(|h| h.session == session && h.session_holds > 0) else {
            return false;
        };
        holder.session_holds -= 1;
        if holder.session_holds == 0 && holder.transaction_holds == 0 {
            held.remove(&key);
            drop(held);
            self.released.notify_waiters();
        }
        true
    }

    /// Gives up the session's holds at `level` (`None`: all of them, the session ended).
    pub(crate) fn release(&self, session: SessionId, level: Option<Level>) {
        let mut held = self.held.lock();
        let before = held.len();
        held.retain(|_, h| {
            if h.session != session {
                return true;
            }
            match level {
                Some(Level::Session) => h.session_holds = 0,
                Some(Level::Transaction) => h.transaction_holds = 0,
                None => return false,
            }
            h.session_holds > 0 || h.transaction_holds > 0
        });
        let released = held.len() < before;
        drop(held);
        if released {
            self.released.notify_waiters();
        }
    }
}

/// How long a lock is held.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Level {
    Session,
    Transaction,
}

/// A call of one of the functions, as a whole statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Call {
    pub function: Function,
    pub key: Option<Key>,
    /// How many key arguments it was given (two: a pair of integers).
    pub arguments: usize,
    /// The output column's name: the function's, or the alias given.
    pub column: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Function {
    Lock(Level),
    TryLock(Level),
    Unlock,
    UnlockAll,
}

impl Function {
    fn named(name: &str) -> Option<Self> {
        Some(match name {
            "pg_advisory_lock" => Self::Lock(Level::Session),
            "pg_advisory_xact_lock" => Self::Lock(Level::Transaction),
            "pg_try_advisory_lock" => Self::TryLock(Level::Session),
            "pg_try_advisory_xact_lock" => Self::TryLock(Level::Transaction),
            "pg_advisory_unlock" => Self::Unlock,
            "pg_advisory_unlock_all" => Self::UnlockAll,
            _ => return None,
        })
    }

    /// The result type: boolean for the ones that may fail, void (shown empty) otherwise.
    fn returns_bool(self) -> bool {
        matches!(self, Self::TryLock(_) | Self::Unlock)
    }
}

/// The call `query` is, if it is one: `SELECT f(args) [AS name]` and nothing else. `params`
/// are the statement's parameters (`SELECT pg_advisory_lock($1)`); without them (describing a
/// statement) the key is left out, as it is when it is NULL.
///
/// # Errors
/// A `_shared` variant (0A000), or arguments that are not one bigint or two integers.
pub(crate) fn call(query: &Query, params: Option<&[ScalarValue]>) -> Result<Option<Call>> {
    let Some((f, alias)) = crate::translate::lone_call(query) else { return Ok(None) };
    let Some(name) = f.name.0.last().and_then(|p| p.as_ident()).map(crate::catalog::normalize_ident) else { return Ok(None) };
    let function = match Function::named(&name) {
        Some(function) => function,
        None if name.starts_with("pg_") && name.contains("advisory") && name.ends_with("_shared") => {
            return Err(EngineError::unsupported(format!("{name}() (rhei's advisory locks are exclusive only)")));
        }
        None => return Ok(None),
    };
    let args: Vec<&Expr> = match &f.args {
        FunctionArguments::None => Vec::new(),
        FunctionArguments::List(list) => list
            .args
            .iter()
            .map(|a| match a {
                FunctionArg::Unnamed(FunctionArgExpr::Expr(e)) => Ok(e),
                _ => Err(EngineError::unsupported(format!("named arguments to {name}()"))),
            })
            .collect::<Result<_>>()?,
        FunctionArguments::Subquery(_) => return Ok(None),
    };
    let wrong = || EngineError::UndefinedFunction { name: format!("{name}({})", vec!["?"; args.len()].join(", ")) };
    let key = match (function, args.as_slice()) {
        (Function::UnlockAll, []) => None,
        (Function::UnlockAll, _) | (_, []) => return Err(wrong()),
        (_, [key]) => argument(key, params)?.map(Key::Bigint),
        (_, [high, low]) => match (argument(high, params)?, argument(low, params)?) {
            (Some(high), Some(low)) => {
                let (high, low) = (i32::try_from(high).map_err(|_| wrong())?, i32::try_from(low).map_err(|_| wrong())?);
                Some(Key::Pair(high, low))
            }
            _ => None,
        },
        _ => return Err(wrong()),
    };
    Ok(Some(Call { function, key, arguments: args.len(), column: alias.unwrap_or(name) }))
}

/// A key argument: an integer constant or parameter (`None` while describing).
fn argument(expr: &Expr, params: Option<&[ScalarValue]>) -> Result<Option<i64>> {
    let invalid = |what: String| EngineError::InvalidTextRepresentation { type_name: "bigint".into(), value: what };
    match expr {
        Expr::Value(v) => match &v.value {
            Value::Number(n, _) => n.parse::<i64>().map(Some).map_err(|_| invalid(n.clone())),
            Value::Placeholder(p) => {
                let Some(params) = params else { return Ok(None) };
                let index = p.trim_start_matches('$').parse::<usize>().ok().and_then(|n| n.checked_sub(1));
                match index.and_then(|i| params.get(i)) {
                    Some(ScalarValue::Int64(v)) => Ok(*v),
                    Some(ScalarValue::Int32(v)) => Ok(v.map(i64::from)),
                    Some(ScalarValue::Int16(v)) => Ok(v.map(i64::from)),
                    Some(ScalarValue::Utf8(Some(s))) => s.trim().parse::<i64>().map(Some).map_err(|_| invalid(s.clone())),
                    Some(ScalarValue::Utf8(None)) => Ok(None),
                    Some(other) => Err(invalid(other.to_string())),
                    None => Err(EngineError::Internal(format!("no value for parameter {p}"))),
                }
            }
            other => Err(invalid(other.to_string())),
        },
        Expr::UnaryOp { op: UnaryOperator::Minus, expr } => Ok(argument(expr, params)?.map(|k| -k)),
        // `$1::bigint`, as some drivers write a parameter's type.
        Expr::Cast {
            expr,
            data_type: SqlType::BigInt(_) | SqlType::Int(_) | SqlType::Integer(_) | SqlType::Int4(_) | SqlType::Int8(_),
            ..
        } => argument(expr, params),
        Expr::Nested(inner) => argument(inner, params),
        other => Err(invalid(other.to_string())),
    }
}

/// The result's shape.
pub(crate) fn schema(call: &Call) -> SchemaRef {
    let ty = if call.function.returns_bool() { DataType::Boolean } else { DataType::Utf8 };
    Arc::new(Schema::new(vec![Field::new(&call.column, ty, true)]))
}

/// What a call gave.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Answer {
    /// Done; the functions of type void show an empty value.
    Void,
    Bool(bool),
    /// A NULL key: the functions are strict, so nothing was done.
    Null,
}

/// The one-row result of a call.
pub(crate) fn result(call: &Call, answer: Answer) -> Result<RecordBatch> {
    let column: ArrayRef = match (answer, call.function.returns_bool()) {
        (Answer::Bool(answer), _) => Arc::new(BooleanArray::from(vec![answer])),
        (Answer::Null, true) => Arc::new(BooleanArray::from(vec![None])),
        (Answer::Null, false) => Arc::new(StringArray::from(vec![None::<&str>])),
        (Answer::Void, _) => Arc::new(StringArray::from(vec![""])),
    };
    RecordBatch::try_new(schema(call), vec![column]).map_err(|e| EngineError::Internal(e.to_string()))
}
