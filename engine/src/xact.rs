//! Transaction IDs as clients read them: `txid_current()`, `pg_current_xact_id()` and their
//! `_if_assigned` forms, which outbox tables, change-data tools (Debezium's heartbeat query) and
//! test suites call as a whole statement (`SELECT txid_current()`). rhei has no MVCC
//! transaction IDs of its own: it numbers transactions from an engine-wide counter that starts
//! at the clock's microseconds when the engine opens, so IDs only grow, across restarts too, as
//! PostgreSQL's do. A transaction block gets its ID when it first asks and keeps it until it
//! ends; outside a block each statement is a transaction of its own (and `_if_assigned` is
//! NULL there, as a read-only statement has no ID in PostgreSQL).

use std::sync::atomic::{AtomicI64, Ordering};

use datafusion::sql::sqlparser::ast::Query;

/// Which of the functions a statement calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum XactFunction {
    /// `txid_current()`, `pg_current_xact_id()`: the ID, assigned if need be.
    Current,
    /// `txid_current_if_assigned()`, `pg_current_xact_id_if_assigned()`: NULL when none is.
    IfAssigned,
}

/// The call `query` is, `SELECT f() [AS name]` and nothing else, with the output column's name.
pub(crate) fn call(query: &Query) -> Option<(XactFunction, String)> {
    let (name, alias) = crate::translate::lone_call_without_arguments(query)?;
    let function = match name.as_str() {
        "txid_current" | "pg_current_xact_id" => XactFunction::Current,
        "txid_current_if_assigned" | "pg_current_xact_id_if_assigned" => XactFunction::IfAssigned,
        _ => return None,
    };
    Some((function, alias.unwrap_or(name)))
}

/// The engine's transaction ID counter.
pub(crate) struct XactIds(AtomicI64);

impl XactIds {
    pub(crate) fn new() -> Self {
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(1, |d| d.as_micros());
        Self(AtomicI64::new(i64::try_from(now).unwrap_or(i64::MAX / 2)))
    }

    pub(crate) fn next(&self) -> i64 {
        self.0.fetch_add(1, Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::sql::sqlparser::ast::Statement;
    use datafusion::sql::sqlparser::dialect::PostgreSqlDialect;
    use datafusion::sql::sqlparser::parser::Parser;

    fn called(sql: &str) -> Option<(XactFunction, String)> {
        match Parser::parse_sql(&PostgreSqlDialect {}, sql).expect("parses").remove(0) {
            Statement::Query(q) => call(&q),
            _ => None,
        }
    }

    #[test]
    fn the_functions_are_recognized_as_whole_statements_only() {
        assert_eq!(called("SELECT txid_current()"), Some((XactFunction::Current, "txid_current".into())));
        assert_eq!(called("select pg_catalog.pg_current_xact_id() as x"), Some((XactFunction::Current, "x".into())));
        assert_eq!(called("SELECT txid_current_if_assigned()"), Some((XactFunction::IfAssigned, "txid_current_if_assigned".into())));
        assert_eq!(called("SELECT txid_current() FROM t"), None);
        assert_eq!(called("SELECT txid_current(1)"), None);
        let ids = XactIds::new();
        let first = ids.next();
        assert!(ids.next() > first && first > 1_700_000_000_000_000, "IDs grow from the clock's microseconds");
    }
}
