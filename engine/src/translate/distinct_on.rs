//! `SELECT DISTINCT ON (k) ... ORDER BY k, o` for SQLite, which has no DISTINCT ON: the first
//! row of each `k` in the query's order is the one numbered 1 by `row_number() OVER (PARTITION
//! BY k ORDER BY k, o)`. The table is read through a derived table of the same name that adds
//! that number, filtered by the query's WHERE before it is numbered:
//!
//! ```sql
//! SELECT DISTINCT ON (user_id) * FROM events e WHERE kind = 'x' ORDER BY user_id, ts DESC
//! -- becomes
//! SELECT e.id, e.user_id, ... FROM (SELECT *, row_number() OVER (PARTITION BY user_id
//!   ORDER BY user_id, ts DESC) AS _rhei_distinct_on FROM events e WHERE kind = 'x') AS e
//! WHERE _rhei_distinct_on = 1 ORDER BY user_id, ts DESC
//! ```
//!
//! The select list, ORDER BY and LIMIT stay as written: they read the derived table's columns,
//! which are the table's. A `*` is spelled out (the row number is no column of the result).
//! Over a join, or with GROUP BY, HAVING or window functions, it is refused with 0A000 (the
//! OLAP engine, where automatic routing sends DISTINCT ON outside transaction blocks, runs
//! them).

use std::ops::ControlFlow;

use datafusion::sql::sqlparser::ast::{
    Distinct, Expr, GroupByExpr, Ident, Query, SelectItem, SetExpr, Statement, TableAlias, TableFactor,
    VisitMut, VisitorMut,
};
use datafusion::sql::sqlparser::dialect::PostgreSqlDialect;
use datafusion::sql::sqlparser::parser::Parser;

use crate::catalog::{Catalog, normalize_ident, table_name};
use crate::error::{EngineError, Result};

/// The row number a derived table adds.
const ROW_NUMBER: &str = "_rhei_distinct_on";

/// Rewrites every `SELECT DISTINCT ON` of `statement` (see the module doc).
///
/// # Errors
/// 0A000 for a DISTINCT ON this cannot rewrite.
pub fn for_sqlite(statement: &mut Statement, catalog: &Catalog) -> Result<()> {
    let mut rewriter = Rewriter { catalog, failure: None };
    let _ = VisitMut::visit(statement, &mut rewriter);
    rewriter.failure.map_or(Ok(()), Err)
}

struct Rewriter<'a> {
    catalog: &'a Catalog,
    failure: Option<EngineError>,
}

impl VisitorMut for Rewriter<'_> {
    type Break = ();

    fn post_visit_query(&mut self, query: &mut Query) -> ControlFlow<()> {
        if let Err(e) = rewrite(query, self.catalog) {
            self.failure = Some(e);
            return ControlFlow::Break(());
        }
        ControlFlow::Continue(())
    }
}

fn refused() -> EngineError {
    EngineError::unsupported(
        "DISTINCT ON over a join, a derived table or with GROUP BY on SQLite (outside a transaction block the OLAP engine runs it)",
    )
}

fn rewrite(query: &mut Query, catalog: &Catalog) -> Result<()> {
    let order_by = query.order_by.as_ref().map(ToString::to_string);
    let SetExpr::Select(select) = query.body.as_mut() else { return Ok(()) };
    let Some(Distinct::On(keys)) = &select.distinct else { return Ok(()) };
    let grouped = !matches!(&select.group_by, GroupByExpr::Expressions(exprs, _) if exprs.is_empty());
    if select.from.len() != 1 || !select.from[0].joins.is_empty() || grouped || select.having.is_some() || !select.named_window.is_empty() {
        return Err(refused());
    }
    let TableFactor::Table { name, alias, args: None, .. } = &select.from[0].relation else { return Err(refused()) };
    let visible = alias.as_ref().map_or_else(|| name.0.last().and_then(|p| p.as_ident()).map(normalize_ident), |a| Some(normalize_ident(&a.name)));
    let Some(visible) = visible else { return Err(refused()) };
    // `*` spelled out from the catalog: the derived table has the row number too.
    let has_wildcard = select.projection.iter().any(|item| matches!(item, SelectItem::Wildcard(_) | SelectItem::QualifiedWildcard(..)));
    if has_wildcard {
        let def = catalog.require(&table_name(name)?)?;
        let columns: Vec<SelectItem> = def
            .columns
            .iter()
            .map(|c| SelectItem::UnnamedExpr(Expr::CompoundIdentifier(vec![Ident::with_quote('"', visible.clone()), Ident::with_quote('"', c.name.clone())])))
            .collect();
        select.projection = std::mem::take(&mut select.projection)
            .into_iter()
            .flat_map(|item| match item {
                SelectItem::Wildcard(_) | SelectItem::QualifiedWildcard(..) => columns.clone(),
                other => vec![other],
            })
            .collect();
    }
    let partition: Vec<String> = keys.iter().map(ToString::to_string).collect();
    let relation = select.from[0].relation.to_string();
    let filter = select.selection.take().map(|w| format!(" WHERE {w}")).unwrap_or_default();
    let numbered = format!(
        "SELECT *, row_number() OVER (PARTITION BY {}{}) AS {ROW_NUMBER} FROM {relation}{filter}",
        partition.join(", "),
        order_by.map(|o| format!(" {o}")).unwrap_or_default()
    );
    let subquery = match Parser::parse_sql(&PostgreSqlDialect {}, &numbered).map_err(EngineError::syntax)?.pop() {
        Some(Statement::Query(subquery)) => subquery,
        _ => return Err(EngineError::Internal("DISTINCT ON rewrite lost its query".into())),
    };
    select.from[0].relation = TableFactor::Derived {
        lateral: false,
        subquery,
        alias: Some(TableAlias { name: Ident::with_quote('"', visible), columns: Vec::new(), explicit: true }),
        sample: None,
    };
    select.selection = Some(Expr::BinaryOp {
        left: Box::new(Expr::Identifier(Ident::new(ROW_NUMBER))),
        op: datafusion::sql::sqlparser::ast::BinaryOperator::Eq,
        right: Box::new(Expr::value(datafusion::sql::sqlparser::ast::Value::Number("1".into(), false))),
    });
    select.distinct = None;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::PgType;

    fn catalog() -> Catalog {
        crate::catalog::one_table_catalog("events", &[("id", PgType::Int4), ("user_id", PgType::Int4), ("ts", PgType::Timestamp)])
    }

    fn rewritten(sql: &str) -> Result<String> {
        let mut stmt = Parser::parse_sql(&PostgreSqlDialect {}, sql).unwrap().remove(0);
        for_sqlite(&mut stmt, &catalog())?;
        Ok(stmt.to_string())
    }

    #[test]
    fn distinct_on_numbers_rows_per_key() {
        assert_eq!(
            rewritten("SELECT DISTINCT ON (user_id) * FROM events e WHERE id > 1 ORDER BY user_id, ts DESC LIMIT 5").unwrap(),
            "SELECT \"e\".\"id\", \"e\".\"user_id\", \"e\".\"ts\" FROM (SELECT *, row_number() OVER (PARTITION BY user_id \
             ORDER BY user_id, ts DESC) AS _rhei_distinct_on FROM events e WHERE id > 1) AS \"e\" \
             WHERE _rhei_distinct_on = 1 ORDER BY user_id, ts DESC LIMIT 5"
        );
        assert_eq!(rewritten("SELECT DISTINCT user_id FROM events").unwrap(), "SELECT DISTINCT user_id FROM events");
        for refused in [
            "SELECT DISTINCT ON (a.user_id) a.id FROM events a JOIN events b ON a.id = b.id",
            "SELECT DISTINCT ON (user_id) user_id, count(*) FROM events GROUP BY user_id",
        ] {
            assert_eq!(rewritten(refused).unwrap_err().sqlstate(), "0A000", "{refused}");
        }
    }
}
