//! `pg_typeof(value)`: the name of the type PostgreSQL gives the value, as its `regtype`
//! prints it (no modifiers: `character varying`, `numeric`). Where the statement says the type
//! (a literal, a cast, a column of a table, derived table or WITH query) both engines get the
//! name as a constant; for any other value DataFusion names the type of its result field
//! (`olap::udf::TypeOf`), and SQLite, which keeps no types of computed values, refuses it
//! (routing sends such queries to DataFusion outside transaction blocks).

use std::ops::ControlFlow;

use datafusion::sql::sqlparser::ast::{Expr, Statement, Value, ValueWithSpan, visit_expressions, visit_expressions_mut};

use super::{Scope, builtin_name, number_literal_type, positional_args, string};
use crate::catalog::PgType;
use crate::error::{EngineError, Result};

/// PostgreSQL's `regtype` output of a column type: its name without length, precision or
/// scale.
pub fn regtype_name(ty: PgType) -> String {
    match ty {
        PgType::Varchar(_) => "character varying".into(),
        PgType::Bpchar(_) => "character".into(),
        PgType::Numeric { .. } => "numeric".into(),
        PgType::Array(element) => format!("{}[]", regtype_name(element.ty())),
        other => other.pg_name(),
    }
}

/// The type name of `value` where the statement says it.
fn stated(value: &Expr, scope: &Scope<'_>) -> Option<String> {
    match value {
        Expr::Nested(inner) => stated(inner, scope),
        Expr::Value(ValueWithSpan { value, .. }) => match value {
            Value::SingleQuotedString(_) | Value::Null => Some("unknown".into()),
            Value::Number(n, _) => Some(regtype_name(number_literal_type(n))),
            Value::Boolean(_) => Some("boolean".into()),
            _ => None,
        },
        Expr::Cast { data_type, .. } => PgType::from_sql(data_type).ok().map(|d| regtype_name(d.ty)),
        Expr::TypedString(typed) => PgType::from_sql(&typed.data_type).ok().map(|d| regtype_name(d.ty)),
        Expr::Function(f) => match builtin_name(&f.name)?.as_str() {
            "now" | "current_timestamp" | "transaction_timestamp" | "statement_timestamp" | "clock_timestamp" => Some("timestamp with time zone".into()),
            "current_date" => Some("date".into()),
            "count" => Some("bigint".into()),
            _ => None,
        },
        other => scope.column_type(other).map(regtype_name),
    }
}

/// The value of a one-argument `pg_typeof` call.
fn argument(expr: &Expr) -> Option<&Expr> {
    match expr {
        Expr::Function(f) if builtin_name(&f.name).as_deref() == Some("pg_typeof") => match positional_args(f).as_slice() {
            [value] => Some(value),
            _ => None,
        },
        _ => None,
    }
}

/// Whether `stmt` asks the type of a value only DataFusion can type (routing's question).
pub(crate) fn types_computed_values(stmt: &Statement, catalog: &crate::catalog::Catalog) -> bool {
    let calls = visit_expressions(stmt, |e| if argument(e).is_some() { ControlFlow::Break(()) } else { ControlFlow::Continue(()) });
    let Ok(scope) = (if calls.is_break() { Scope::of(stmt, catalog) } else { return false }) else { return false };
    visit_expressions(stmt, |e| match argument(e) {
        Some(value) if stated(value, &scope).is_none() => ControlFlow::Break(()),
        _ => ControlFlow::Continue(()),
    })
    .is_break()
}

/// Each `pg_typeof` call whose value's type the statement says becomes that type's name; on
/// SQLite (`olap` false) another is refused.
///
/// # Errors
/// 0A000 for a computed value on SQLite.
pub(crate) fn as_constants(stmt: &mut Statement, scope: &Scope<'_>, olap: bool) -> Result<()> {
    let mut failure = None;
    let _ = visit_expressions_mut(stmt, |expr| {
        let Some(value) = argument(expr) else { return ControlFlow::Continue(()) };
        match stated(value, scope) {
            Some(name) => *expr = string(&name),
            None if olap => {}
            None => {
                failure = Some(EngineError::unsupported("pg_typeof of a computed value on SQLite (the OLAP engine answers it outside transaction blocks)"));
                return ControlFlow::Break(());
            }
        }
        ControlFlow::Continue(())
    });
    failure.map_or(Ok(()), Err)
}
