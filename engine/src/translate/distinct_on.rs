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
//! Inside the window, positions and output names in the keys and the ORDER BY (`DISTINCT ON
//! (1)`, `ORDER BY uid`) stand for the select-list expressions they name, as PostgreSQL reads
//! them. Keys that are not the leading ORDER BY items are 42P10, as in PostgreSQL. Over a join,
//! a CTE or a table with column aliases, in a set operation, or with GROUP BY, HAVING,
//! aggregates or window functions (which PostgreSQL computes before DISTINCT ON) it is refused
//! with 0A000 (the OLAP engine, where automatic routing sends DISTINCT ON outside transaction
//! blocks, runs them).

use std::ops::ControlFlow;

use datafusion::sql::sqlparser::ast::{
    Distinct, Expr, GroupByExpr, Ident, OrderByExpr, OrderByKind, Query, SelectItem, SetExpr, Statement, TableAlias,
    TableFactor, Visit, VisitMut, Visitor, VisitorMut,
};
use datafusion::sql::sqlparser::dialect::PostgreSqlDialect;
use datafusion::sql::sqlparser::parser::Parser;

use crate::catalog::{Catalog, normalize_ident, table_name};
use crate::error::{EngineError, Result};

/// The name of the row-number column the derived table adds.
const ROW_NUMBER_COLUMN: &str = "_rhei_distinct_on";

/// Rewrites every `SELECT DISTINCT ON` of `statement` (see the module doc).
///
/// # Errors
/// 0A000 for a DISTINCT ON this cannot rewrite.
pub fn for_sqlite(statement: &mut Statement, catalog: &Catalog) -> Result<()> {
    let mut cte_names = Vec::new();
    let _ = Visit::visit(&*statement, &mut CteNames(&mut cte_names));
    let mut rewriter = Rewriter { catalog, cte_names, failure: None };
    let _ = VisitMut::visit(statement, &mut rewriter);
    rewriter.failure.map_or(Ok(()), Err)
}

/// Every CTE name of a statement (a relation by such a name may be one).
struct CteNames<'a>(&'a mut Vec<String>);

impl Visitor for CteNames<'_> {
    type Break = ();

    fn pre_visit_query(&mut self, query: &Query) -> ControlFlow<()> {
        if let Some(with) = &query.with {
            self.0.extend(with.cte_tables.iter().map(|cte| normalize_ident(&cte.alias.name)));
        }
        ControlFlow::Continue(())
    }
}

struct Rewriter<'a> {
    catalog: &'a Catalog,
    cte_names: Vec<String>,
    failure: Option<EngineError>,
}

impl VisitorMut for Rewriter<'_> {
    type Break = ();

    fn post_visit_query(&mut self, query: &mut Query) -> ControlFlow<()> {
        if let Err(e) = rewrite(query, self.catalog, &self.cte_names) {
            self.failure = Some(e);
            return ControlFlow::Break(());
        }
        ControlFlow::Continue(())
    }
}

/// Whether a set operation has a DISTINCT ON branch (one not parenthesized into a query of
/// its own, which is rewritten as a query).
fn set_operation_has_distinct_on(body: &SetExpr) -> bool {
    match body {
        SetExpr::SetOperation { left, right, .. } => set_operation_has_distinct_on(left) || set_operation_has_distinct_on(right),
        SetExpr::Select(select) => matches!(select.distinct, Some(Distinct::On(_))),
        _ => false,
    }
}

/// A position or an output name standing for the select-list expression it names (ORDER BY's
/// rules, which DISTINCT ON follows), else the expression itself.
fn resolve_output(expr: &Expr, projection: &[SelectItem]) -> Expr {
    match expr {
        Expr::Value(_) => super::positional_item(expr, projection).unwrap_or(expr).clone(),
        Expr::Identifier(ident) => {
            let name = normalize_ident(ident);
            projection
                .iter()
                .find_map(|item| match item {
                    SelectItem::ExprWithAlias { expr, alias } if normalize_ident(alias) == name => Some(expr.clone()),
                    _ => None,
                })
                .unwrap_or_else(|| expr.clone())
        }
        _ => expr.clone(),
    }
}

fn refused() -> EngineError {
    EngineError::unsupported(
        "DISTINCT ON over a join, a CTE or a derived table, in a set operation, or with grouping, aggregates or window functions on SQLite (outside a transaction block the OLAP engine runs it)",
    )
}

/// DISTINCT ON's keys and the ORDER BY for DataFusion, which reads a position or an output
/// name there as a column of the input (`column "c" does not exist` for `DISTINCT ON (1)` over
/// `city AS c`): each becomes the select-list expression it names.
pub fn resolve_for_datafusion(query: &mut Query) {
    let SetExpr::Select(select) = query.body.as_mut() else { return };
    let Some(Distinct::On(keys)) = &mut select.distinct else { return };
    for key in keys.iter_mut() {
        *key = resolve_output(key, &select.projection);
    }
    if let Some(OrderByKind::Expressions(items)) = query.order_by.as_mut().map(|o| &mut o.kind) {
        for item in items {
            item.expr = resolve_output(&item.expr, &select.projection);
        }
    }
}

/// Rewrites one query's DISTINCT ON (module doc).
fn rewrite(query: &mut Query, catalog: &Catalog, cte_names: &[String]) -> Result<()> {
    if set_operation_has_distinct_on(&query.body) && !matches!(query.body.as_ref(), SetExpr::Select(_)) {
        return Err(refused());
    }
    let order_items: Vec<OrderByExpr> = match query.order_by.as_ref().map(|o| &o.kind) {
        Some(OrderByKind::Expressions(items)) => items.clone(),
        Some(OrderByKind::All(_)) => return Err(refused()),
        None => Vec::new(),
    };
    let SetExpr::Select(select) = query.body.as_mut() else { return Ok(()) };
    let Some(Distinct::On(keys)) = &select.distinct else { return Ok(()) };
    let grouped = !matches!(&select.group_by, GroupByExpr::Expressions(exprs, _) if exprs.is_empty());
    if select.from.len() != 1
        || !select.from[0].joins.is_empty()
        || grouped
        || select.having.is_some()
        || !select.named_window.is_empty()
        || crate::router::calls_aggregate(&select.projection, true)
    {
        return Err(refused());
    }
    let TableFactor::Table { name, alias, args: None, .. } = &select.from[0].relation else { return Err(refused()) };
    let is_cte = name.0.len() == 1 && name.0[0].as_ident().is_some_and(|i| cte_names.contains(&normalize_ident(i)));
    if is_cte || alias.as_ref().is_some_and(|a| !a.columns.is_empty()) {
        return Err(refused());
    }
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
    let keys: Vec<Expr> = keys.iter().map(|k| resolve_output(k, &select.projection)).collect();
    let order_items: Vec<OrderByExpr> =
        order_items.into_iter().map(|o| OrderByExpr { expr: resolve_output(&o.expr, &select.projection), ..o }).collect();
    let partition: Vec<String> = keys.iter().map(ToString::to_string).collect();
    let leading: Vec<String> = order_items.iter().take(keys.len()).map(|o| o.expr.to_string()).collect();
    if !order_items.is_empty() && (leading.len() < partition.len() || !partition.iter().all(|k| leading.contains(k))) {
        return Err(EngineError::InvalidColumnReference {
            message: "SELECT DISTINCT ON expressions must match initial ORDER BY expressions".into(),
        });
    }
    let order_by = (!order_items.is_empty())
        .then(|| format!("ORDER BY {}", order_items.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")));
    let relation = select.from[0].relation.to_string();
    let filter = select.selection.take().map(|w| format!(" WHERE {w}")).unwrap_or_default();
    let numbered = format!(
        "SELECT *, row_number() OVER (PARTITION BY {}{}) AS {ROW_NUMBER_COLUMN} FROM {relation}{filter}",
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
        left: Box::new(Expr::Identifier(Ident::new(ROW_NUMBER_COLUMN))),
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
        // Positions and output names inside the window are the expressions they name.
        let by_position = rewritten("SELECT DISTINCT ON (1) user_id AS uid, -id AS id FROM events ORDER BY 1, id").unwrap();
        assert!(by_position.contains("OVER (PARTITION BY user_id ORDER BY user_id, -id)"), "{by_position}");
        assert!(by_position.ends_with("WHERE _rhei_distinct_on = 1 ORDER BY 1, id"), "{by_position}");
        let by_name = rewritten("SELECT DISTINCT ON (uid) user_id AS uid FROM events ORDER BY uid, ts DESC").unwrap();
        assert!(by_name.contains("OVER (PARTITION BY user_id ORDER BY user_id, ts DESC)"), "{by_name}");
        assert_eq!(rewritten("SELECT DISTINCT ON (id) id FROM events ORDER BY ts, id").unwrap_err().sqlstate(), "42P10");
        for refused in [
            "SELECT DISTINCT ON (a.user_id) a.id FROM events a JOIN events b ON a.id = b.id",
            "SELECT DISTINCT ON (user_id) user_id, count(*) FROM events GROUP BY user_id",
            "SELECT DISTINCT ON (user_id) user_id, count(*) OVER () FROM events",
            "SELECT DISTINCT ON (1) count(*) FROM events",
            "WITH events AS (SELECT 1 AS user_id) SELECT DISTINCT ON (user_id) * FROM events",
            "SELECT DISTINCT ON (a) * FROM events AS e(a, b, c)",
            "SELECT DISTINCT ON (user_id) id FROM events UNION SELECT 1",
        ] {
            assert_eq!(rewritten(refused).unwrap_err().sqlstate(), "0A000", "{refused}");
        }
    }
}
