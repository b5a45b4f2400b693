//! `LATERAL` subqueries, which neither engine runs (SQLite has no LATERAL; DataFusion 53 plans
//! a correlated derived table and then fails with "Physical plan does not support logical
//! expression OuterReferenceColumn"), rewritten when a statement is parsed as a join with a
//! derived table that no longer refers outside itself. The subquery's WHERE conjuncts that
//! refer to the relations before it become the join's condition; what they read of the
//! subquery's own rows is added to its select list under hidden names:
//!
//! ```sql
//! SELECT c.name, l.amount FROM customers c
//!   LEFT JOIN LATERAL (SELECT amount FROM orders o WHERE o.cid = c.id ORDER BY amount DESC LIMIT 2) l ON true
//! -- becomes
//! SELECT c.name, l.amount FROM customers c
//!   LEFT JOIN (SELECT amount, o.cid AS _rhei_lateral_1, row_number() OVER (PARTITION BY o.cid
//!     ORDER BY amount DESC) AS _rhei_lateral_2 FROM orders o) l
//!   ON true AND l._rhei_lateral_1 = c.id AND l._rhei_lateral_2 <= 2
//! ```
//!
//! The correlation must be equalities `inner expression = outer expression` (the keys), plus
//! any conditions on the earlier items alone (`c.tier = 2`, moved to the join as they are).
//! Another comparison is refused: in the join it would compare a derived table's columns,
//! whose types SQLite's translation no longer sees (a date against a timestamp). The forms:
//! - A plain subquery: the keys are added to its select list.
//! - LIMIT / OFFSET / FETCH FIRST (top-N per outer row; whole numbers or parameters, a NULL
//!   one no bound): the rows are numbered per key in the subquery's ORDER BY (positions and
//!   output names resolved to their expressions).
//! - GROUP BY: the keys join the grouping.
//! - Aggregates without GROUP BY (one row per outer row, also when nothing matches): every
//!   output an aggregate that is NULL over no rows (not count); the join becomes a LEFT JOIN,
//!   so an outer row without matches gets NULLs, as the aggregate over no rows gives.
//!
//! After a comma, the FROM items before the subquery become one chain of cross joins (each
//! item's own joins kept in parentheses) that the subquery joins. Anything else correlated (a
//! reference outside the WHERE clause, window functions, a set operation, RIGHT or FULL
//! joins, NATURAL or USING joins after it, the subquery as a whole row, a `*` that cannot be
//! spelled out without the hidden columns) is refused with 0A000 rather than answered
//! differently. Outer references must name their relation (`c.id`): an unqualified name is
//! the subquery's own, as SQL scoping reads it first. LATERAL function calls (`LATERAL
//! unnest(c.tags)`) are not rewritten.

use std::ops::ControlFlow;

use datafusion::sql::sqlparser::ast::{
    BinaryOperator, Distinct, Expr, GroupByExpr, Ident, Join, JoinConstraint, JoinOperator, LimitClause, ObjectName,
    ObjectNamePart, OrderByKind, Query, Select, SelectItem, SelectItemQualifiedWildcardKind, SetExpr, Statement,
    TableAliasColumnDef, TableFactor, TableWithJoins, Value, Visit, VisitMut, VisitorMut, visit_expressions,
};
use datafusion::sql::sqlparser::dialect::PostgreSqlDialect;
use datafusion::sql::sqlparser::parser::Parser;

use crate::catalog::normalize_ident;
use crate::error::{EngineError, Result};

/// The prefix of the columns the rewrite adds to a subquery.
const HIDDEN: &str = "_rhei_lateral_";

/// Rewrites every LATERAL subquery of `statement` (see the module doc).
///
/// # Errors
/// 0A000 for a correlated LATERAL subquery of a form this cannot rewrite.
pub fn decorrelate(statement: &mut Statement) -> Result<()> {
    let mut rewriter = Rewriter { next: 0, failure: None };
    let _ = VisitMut::visit(statement, &mut rewriter);
    rewriter.failure.map_or(Ok(()), Err)
}

struct Rewriter {
    /// Hidden columns named so far (they are numbered across the statement).
    next: usize,
    failure: Option<EngineError>,
}

impl VisitorMut for Rewriter {
    type Break = ();

    // After the query's own subqueries: a LATERAL inside a LATERAL is rewritten first.
    fn post_visit_query(&mut self, query: &mut Query) -> ControlFlow<()> {
        match rewrite_body(query.body.as_mut(), &mut self.next) {
            Ok(()) => ControlFlow::Continue(()),
            Err(e) => {
                self.failure = Some(e);
                ControlFlow::Break(())
            }
        }
    }
}

fn rewrite_body(body: &mut SetExpr, next: &mut usize) -> Result<()> {
    match body {
        SetExpr::Select(select) => {
            while let Some(at) = first_lateral(select)? {
                rewrite_one(select, at, next)?;
            }
            Ok(())
        }
        SetExpr::SetOperation { left, right, .. } => {
            rewrite_body(left, next)?;
            rewrite_body(right, next)
        }
        _ => Ok(()),
    }
}

/// Where a LATERAL subquery stands in a FROM list: the item, and the join within it (`None`:
/// the item's first relation, after a comma).
#[derive(Debug, Clone, Copy)]
struct At {
    item: usize,
    join: Option<usize>,
}

fn is_lateral_subquery(factor: &TableFactor) -> bool {
    matches!(factor, TableFactor::Derived { lateral: true, .. })
}

fn first_lateral(select: &Select) -> Result<Option<At>> {
    for (item, from) in select.from.iter().enumerate() {
        let factors = std::iter::once((None, &from.relation)).chain(from.joins.iter().enumerate().map(|(j, join)| (Some(j), &join.relation)));
        for (join, factor) in factors {
            if is_lateral_subquery(factor) {
                return Ok(Some(At { item, join }));
            }
            if let TableFactor::NestedJoin { table_with_joins, .. } = factor
                && std::iter::once(&table_with_joins.relation).chain(table_with_joins.joins.iter().map(|j| &j.relation)).any(is_lateral_subquery)
            {
                return Err(EngineError::unsupported("a LATERAL subquery inside parenthesized joins"));
            }
        }
    }
    Ok(None)
}

/// The name a FROM item is referred to by: its alias, else its table's name.
fn relation_name(factor: &TableFactor) -> Option<String> {
    match factor {
        TableFactor::Table { alias: Some(alias), .. }
        | TableFactor::Derived { alias: Some(alias), .. }
        | TableFactor::Function { alias: Some(alias), .. }
        | TableFactor::UNNEST { alias: Some(alias), .. } => Some(normalize_ident(&alias.name)),
        TableFactor::Table { name, .. } => name.0.last().and_then(ObjectNamePart::as_ident).map(normalize_ident),
        _ => None,
    }
}

fn names_in(from: &TableWithJoins, out: &mut Vec<String>) {
    for factor in std::iter::once(&from.relation).chain(from.joins.iter().map(|j| &j.relation)) {
        match factor {
            TableFactor::NestedJoin { table_with_joins, .. } => names_in(table_with_joins, out),
            other => out.extend(relation_name(other)),
        }
    }
}

/// The relations a LATERAL item at `at` may refer to (PostgreSQL: the FROM items before it
/// after a comma; within a join, the left side of that join).
fn outer_names(select: &Select, at: At) -> Vec<String> {
    let mut names = Vec::new();
    match at.join {
        None => select.from[..at.item].iter().for_each(|from| names_in(from, &mut names)),
        Some(j) => {
            let from = &select.from[at.item];
            let left = TableWithJoins { relation: from.relation.clone(), joins: from.joins[..j].to_vec() };
            names_in(&left, &mut names);
        }
    }
    names
}

/// Which column references of a subquery point outside it.
struct Scopes {
    outer: Vec<String>,
    inner: Vec<String>,
}

impl Scopes {
    /// The relation `expr` names outside the subquery, if it is such a reference (`c.id`).
    fn outer_reference(&self, expr: &Expr) -> Option<String> {
        let Expr::CompoundIdentifier(parts) = expr else { return None };
        let [relation, _] = parts.as_slice() else { return None };
        let relation = normalize_ident(relation);
        (self.outer.contains(&relation) && !self.inner.contains(&relation)).then_some(relation)
    }

    /// Whether a column reference anywhere in `node` points outside the subquery.
    fn visits_outside<V: Visit>(&self, node: &V) -> bool {
        visit_expressions(node, |e| if self.outer_reference(e).is_some() { ControlFlow::Break(()) } else { ControlFlow::Continue(()) }).is_break()
    }

    /// Whether every column `expr` reads is outside (a constant reads none).
    fn only_outside(&self, expr: &Expr) -> bool {
        visit_expressions(expr, |e| match e {
            Expr::Identifier(_) | Expr::CompoundIdentifier(_) if self.outer_reference(e).is_none() => ControlFlow::Break(()),
            Expr::Subquery(_) | Expr::Exists { .. } | Expr::InSubquery { .. } => ControlFlow::Break(()),
            _ => ControlFlow::Continue(()),
        })
        .is_continue()
    }
}

/// A correlated conjunct of the subquery's WHERE clause.
enum Correlation {
    /// `inner = outer`: the inner side is computed in the subquery, under a hidden name.
    Key { inner: Expr, outer: Expr },
    /// A condition on the earlier FROM items alone (`c.tier = 2`): it goes to the join as is.
    OuterOnly(Expr),
}

fn conjuncts(expr: Expr, out: &mut Vec<Expr>) {
    match expr {
        Expr::BinaryOp { left, op: BinaryOperator::And, right } => {
            conjuncts(*left, out);
            conjuncts(*right, out);
        }
        Expr::Nested(inner) if matches!(inner.as_ref(), Expr::BinaryOp { op: BinaryOperator::And, .. }) => conjuncts(*inner, out),
        other => out.push(other),
    }
}

fn and_all(exprs: impl IntoIterator<Item = Expr>) -> Option<Expr> {
    exprs.into_iter().reduce(|left, right| Expr::BinaryOp { left: Box::new(left), op: BinaryOperator::And, right: Box::new(right) })
}

fn column(relation: &Ident, name: &str) -> Expr {
    Expr::CompoundIdentifier(vec![relation.clone(), Ident::new(name)])
}

fn refused(what: &str) -> EngineError {
    EngineError::unsupported(format!("{what} in a LATERAL subquery that refers to an earlier FROM item"))
}

/// The shape of a correlated subquery, as the module doc lists them.
#[derive(Debug, PartialEq, Eq)]
enum Shape {
    Plain,
    TopN { limit: Option<Expr>, offset: Option<Expr> },
    Grouped,
    Aggregate,
}

/// Aggregates by name: the router's list, and the others PostgreSQL has that rhei runs
/// (an aggregate taken for a plain function would aggregate every outer row's rows at once).
fn is_aggregate_call(expr: &Expr) -> bool {
    let Expr::Function(f) = expr else { return false };
    let name = f.name.0.last().and_then(ObjectNamePart::as_ident).map(normalize_ident).unwrap_or_default();
    f.over.is_none()
        && (crate::router::is_aggregate(f)
            || name.ends_with("_agg")
            || matches!(name.as_str(), "bit_and" | "bit_or" | "bit_xor" | "mode" | "regr_count" | "regr_intercept" | "regr_r2"))
}

fn has_window_function(select: &Select) -> bool {
    visit_expressions(&select.projection, |e| match e {
        Expr::Function(f) if f.over.is_some() => ControlFlow::Break(()),
        _ => ControlFlow::Continue(()),
    })
    .is_break()
}

fn has_aggregate<V: Visit>(node: &V) -> bool {
    visit_expressions(node, |e| if is_aggregate_call(e) { ControlFlow::Break(()) } else { ControlFlow::Continue(()) }).is_break()
}

/// The subquery's shape; its LIMIT, OFFSET and FETCH are taken out (a top-N numbers its rows
/// instead).
fn shape(
    limit_clause: &mut Option<LimitClause>,
    fetch: &mut Option<datafusion::sql::sqlparser::ast::Fetch>,
    order_by: &Option<datafusion::sql::sqlparser::ast::OrderBy>,
    select: &Select,
) -> Result<Shape> {
    let grouped = !matches!(&select.group_by, GroupByExpr::Expressions(exprs, modifiers) if exprs.is_empty() && modifiers.is_empty());
    if matches!(select.group_by, GroupByExpr::All(_)) {
        return Err(refused("GROUP BY ALL"));
    }
    if has_window_function(select) {
        return Err(refused("a window function"));
    }
    let (limit, offset) = match limit_clause.take() {
        None => (None, None),
        Some(LimitClause::LimitOffset { limit, offset, limit_by }) if limit_by.is_empty() => (limit, offset.map(|o| o.value)),
        Some(LimitClause::OffsetCommaLimit { offset, limit }) => (Some(limit), Some(offset)),
        Some(_) => return Err(refused("LIMIT BY")),
    };
    let limit = match (limit, fetch.take()) {
        (limit, None) => limit,
        (None, Some(fetch)) if !fetch.with_ties && !fetch.percent => fetch.quantity.or_else(|| Some(Expr::value(Value::Number("1".into(), false)))),
        _ => return Err(refused("FETCH FIRST ... WITH TIES or PERCENT")),
    };
    // `LIMIT NULL` is no limit; a count must be a whole number PostgreSQL would take as such.
    let limit = limit.filter(|l| !matches!(l, Expr::Value(v) if v.value == Value::Null));
    let offset = offset.filter(|o| !matches!(o, Expr::Value(v) if v.value == Value::Null));
    for bound in limit.iter().chain(&offset) {
        let whole = matches!(bound, Expr::Value(v) if matches!(&v.value, Value::Number(n, _) if n.parse::<u64>().is_ok()) || matches!(v.value, Value::Placeholder(_)));
        if !whole {
            return Err(refused("LIMIT or OFFSET other than a whole number or a parameter"));
        }
    }
    let limited = limit.is_some() || offset.is_some();
    let aggregated = grouped || has_aggregate(&select.projection) || has_aggregate(&select.having) || has_aggregate(order_by);
    match (limited, aggregated, grouped) {
        (true, true, _) => Err(refused("LIMIT or OFFSET over aggregates")),
        (true, false, _) if select.distinct.is_some() => Err(refused("LIMIT or OFFSET with DISTINCT")),
        (true, false, _) => Ok(Shape::TopN { limit, offset }),
        (false, true, true) => Ok(Shape::Grouped),
        (false, true, false) => Ok(Shape::Aggregate),
        (false, false, _) => Ok(Shape::Plain),
    }
}

/// The subquery's ORDER BY as a window orders: positions and output names stand for their
/// select-list expressions (resolved before hidden columns are added).
fn window_order(order_by: &mut Option<datafusion::sql::sqlparser::ast::OrderBy>, projection: &[SelectItem]) -> Result<Vec<String>> {
    let items = match order_by.take().map(|o| o.kind) {
        None => return Ok(Vec::new()),
        Some(OrderByKind::Expressions(items)) => items,
        Some(OrderByKind::All(_)) => return Err(refused("ORDER BY ALL")),
    };
    let wildcard = projection.iter().any(|item| matches!(item, SelectItem::Wildcard(_) | SelectItem::QualifiedWildcard(..)));
    let mut order = Vec::with_capacity(items.len());
    for mut item in items {
        if matches!(&item.expr, Expr::Value(v) if matches!(v.value, Value::Number(..))) {
            if wildcard {
                return Err(refused("ORDER BY a position over `*`"));
            }
            item.expr = super::positional_item(&item.expr, projection).cloned().ok_or_else(|| refused("ORDER BY a position past the select list"))?;
        } else if let Some(expr) = output_expression(&item.expr, projection) {
            item.expr = expr;
        }
        order.push(item.to_string());
    }
    Ok(order)
}

/// `rn` within the rows a top-N keeps: after OFFSET, up to LIMIT more (a NULL parameter is no
/// bound, as in PostgreSQL).
fn row_bounds(row_number: &Expr, limit: Option<Expr>, offset: Option<Expr>) -> Result<Vec<Expr>> {
    let is_null_or = |bound: &Expr, condition: Expr| {
        if matches!(bound, Expr::Value(v) if matches!(v.value, Value::Placeholder(_))) {
            Expr::Nested(Box::new(Expr::BinaryOp { left: Box::new(Expr::IsNull(Box::new(bound.clone()))), op: BinaryOperator::Or, right: Box::new(condition) }))
        } else {
            condition
        }
    };
    let skipped = match offset {
        Some(o @ Expr::Value(_)) if matches!(&o, Expr::Value(v) if matches!(v.value, Value::Placeholder(_))) => Some(zero_if_null(o)?),
        other => other,
    };
    let mut bounds = Vec::new();
    if let Some(skipped) = &skipped {
        bounds.push(Expr::BinaryOp { left: Box::new(row_number.clone()), op: BinaryOperator::Gt, right: Box::new(skipped.clone()) });
    }
    if let Some(limit) = limit {
        let last = match &skipped {
            Some(skipped) => Expr::BinaryOp { left: Box::new(skipped.clone()), op: BinaryOperator::Plus, right: Box::new(limit.clone()) },
            None => limit.clone(),
        };
        bounds.push(is_null_or(&limit, Expr::BinaryOp { left: Box::new(row_number.clone()), op: BinaryOperator::LtEq, right: Box::new(last) }));
    }
    Ok(bounds)
}

/// `coalesce(bound, 0)`: an OFFSET parameter bound to NULL skips nothing.
fn zero_if_null(bound: Expr) -> Result<Expr> {
    parse_expr(&format!("coalesce({bound}, 0)"))
}

fn parse_expr(text: &str) -> Result<Expr> {
    Parser::new(&PostgreSqlDialect {})
        .try_with_sql(text)
        .and_then(|mut p| p.parse_expr())
        .map_err(|e| EngineError::Internal(format!("a LATERAL rewrite's expression did not parse: {e}")))
}

/// Rewrites the LATERAL subquery at `at` of `select`.
fn rewrite_one(select: &mut Select, at: At, next: &mut usize) -> Result<()> {
    let outer = outer_names(select, at);
    let factor = match at.join {
        None => &mut select.from[at.item].relation,
        Some(j) => &mut select.from[at.item].joins[j].relation,
    };
    let TableFactor::Derived { lateral, subquery, alias, .. } = factor else { return Ok(()) };
    *lateral = false;
    let Some(alias) = alias.as_mut() else {
        return Err(EngineError::syntax("subquery in FROM must have an alias"));
    };
    let mut inner: Vec<String> = subquery.with.iter().flat_map(|w| w.cte_tables.iter().map(|c| normalize_ident(&c.alias.name))).collect();
    if let SetExpr::Select(inner_select) = subquery.body.as_ref() {
        inner_select.from.iter().for_each(|from| names_in(from, &mut inner));
    }
    let scopes = Scopes { outer, inner };
    if !scopes.visits_outside(&**subquery) {
        return Ok(());
    }
    // A column alias list shorter than the select list names the first columns only: the rest
    // keep their own names, and the hidden ones come after all of them.
    let own_names = crate::naming::output_names(subquery);
    if !alias.columns.is_empty() {
        let names = own_names.as_ref().filter(|n| n.len() >= alias.columns.len()).ok_or_else(|| refused("column aliases over `*`"))?;
        let named = alias.columns.len();
        alias.columns.extend(names[named..].iter().map(|n| TableAliasColumnDef { name: Ident::with_quote('"', n), data_type: None }));
    }
    let visible = if alias.columns.is_empty() { own_names } else { Some(alias.columns.iter().map(|c| normalize_ident(&c.name)).collect()) };
    let query = subquery.as_mut();
    let SetExpr::Select(inner_select) = query.body.as_mut() else {
        return Err(refused("a set operation"));
    };

    let reads_inner = |e: &Expr| {
        visit_expressions(e, |x| match x {
            Expr::Identifier(_) | Expr::CompoundIdentifier(_) if scopes.outer_reference(x).is_none() => ControlFlow::Break(()),
            _ => ControlFlow::Continue(()),
        })
        .is_break()
    };
    let mut correlations = Vec::new();
    let mut kept = Vec::new();
    let mut all = Vec::new();
    if let Some(selection) = inner_select.selection.take() {
        conjuncts(selection, &mut all);
    }
    for conjunct in all {
        if !scopes.visits_outside(&conjunct) {
            kept.push(conjunct);
            continue;
        }
        if !reads_inner(&conjunct) {
            correlations.push(Correlation::OuterOnly(conjunct));
            continue;
        }
        // Only equalities: another comparison would be computed in the outer query over a
        // derived table's columns, whose types SQLite's translation no longer sees (a date
        // against a timestamp would compare days with microseconds).
        let key = match &conjunct {
            Expr::BinaryOp { left, op: BinaryOperator::Eq, right } if scopes.only_outside(left) && !scopes.visits_outside(right) => {
                Correlation::Key { inner: (**right).clone(), outer: (**left).clone() }
            }
            Expr::BinaryOp { left, op: BinaryOperator::Eq, right } if scopes.only_outside(right) && !scopes.visits_outside(left) => {
                Correlation::Key { inner: (**left).clone(), outer: (**right).clone() }
            }
            _ => return Err(refused("a condition on an earlier FROM item other than `column = outer column`")),
        };
        correlations.push(key);
    }
    inner_select.selection = and_all(kept);
    let still_outside = scopes.visits_outside(&**inner_select)
        || scopes.visits_outside(&query.order_by)
        || scopes.visits_outside(&query.limit_clause)
        || scopes.visits_outside(&query.fetch)
        || scopes.visits_outside(&query.with);
    if correlations.is_empty() || still_outside {
        return Err(refused("a reference to an earlier FROM item outside the WHERE clause's top-level AND"));
    }
    let SetExpr::Select(inner_select) = query.body.as_mut() else { return Ok(()) };
    let shape = shape(&mut query.limit_clause, &mut query.fetch, &query.order_by, inner_select)?;
    if matches!(inner_select.distinct, Some(Distinct::On(_))) {
        return Err(refused("DISTINCT ON"));
    }
    // Over no rows these give NULL, which is what the outer join gives an outer row without
    // matches; count gives 0, and an expression over an aggregate anything.
    let null_over_no_rows = |item: &SelectItem| match item {
        SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. } => {
            matches!(e, Expr::Function(f) if is_aggregate_call(e) && !f.name.to_string().eq_ignore_ascii_case("count"))
        }
        _ => false,
    };
    if shape == Shape::Aggregate && (!inner_select.projection.iter().all(null_over_no_rows) || inner_select.having.is_some()) {
        return Err(refused("aggregates without GROUP BY other than a list of sum, avg, min, max and the like (count, expressions over aggregates, HAVING)"));
    }
    let order = if matches!(shape, Shape::TopN { .. }) { window_order(&mut query.order_by, &inner_select.projection)? } else { Vec::new() };

    // The subquery computes what the join condition reads of it, under hidden names.
    let mut hidden = |inner_select: &mut Select, expr: Expr| {
        *next += 1;
        let name = format!("{HIDDEN}{next}");
        inner_select.projection.push(SelectItem::ExprWithAlias { expr, alias: Ident::new(&name) });
        if !alias.columns.is_empty() {
            alias.columns.push(TableAliasColumnDef { name: Ident::new(&name), data_type: None });
        }
        column(&alias.name, &name)
    };
    let mut conditions = Vec::new();
    let mut keys = Vec::new();
    for correlation in correlations {
        match correlation {
            Correlation::Key { inner, outer } => {
                keys.push(inner.clone());
                let read = hidden(inner_select, inner);
                conditions.push(Expr::BinaryOp { left: Box::new(read), op: BinaryOperator::Eq, right: Box::new(outer) });
            }
            Correlation::OuterOnly(condition) => conditions.push(condition),
        }
    }
    if keys.is_empty() && shape != Shape::Plain {
        return Err(refused("aggregates or LIMIT without an equality to an earlier FROM item"));
    }
    let mut outer_join = false;
    match shape {
        Shape::Plain => {}
        Shape::Grouped => {
            if let GroupByExpr::Expressions(exprs, _) = &mut inner_select.group_by {
                exprs.extend(keys);
            }
        }
        Shape::Aggregate => {
            inner_select.group_by = GroupByExpr::Expressions(keys, Vec::new());
            outer_join = true;
        }
        Shape::TopN { limit, offset } => {
            let partition: Vec<String> = keys.iter().map(ToString::to_string).collect();
            let order_clause = if order.is_empty() { String::new() } else { format!(" ORDER BY {}", order.join(", ")) };
            let window = parse_expr(&format!("row_number() OVER (PARTITION BY {}{order_clause})", partition.join(", ")))?;
            let row_number = hidden(inner_select, window);
            conditions.extend(row_bounds(&row_number, limit, offset)?);
        }
    }
    let alias_name = alias.name.clone();
    let condition = and_all(conditions).ok_or_else(|| EngineError::Internal("a LATERAL rewrite without a join condition".into()))?;
    place_join(select, at, condition, outer_join)?;
    expand_wildcards(select, &alias_name, visible.as_deref())
}

/// The select-list expression an output name in ORDER BY stands for (`ORDER BY total` for
/// `sum(x) AS total`): as in PostgreSQL, an output name comes before an input column's.
fn output_expression(expr: &Expr, projection: &[SelectItem]) -> Option<Expr> {
    let Expr::Identifier(name) = expr else { return None };
    let name = normalize_ident(name);
    projection.iter().find_map(|item| match item {
        SelectItem::ExprWithAlias { expr, alias } if normalize_ident(alias) == name => Some(expr.clone()),
        _ => None,
    })
}

/// Joins the rewritten subquery on `condition`: within its join, the condition is added to the
/// join's own; after a comma, the FROM items before it become one chain of cross joins it
/// joins. `outer` makes it a LEFT JOIN (the aggregate form).
fn place_join(select: &mut Select, at: At, condition: Expr, outer: bool) -> Result<()> {
    let and = |own: Expr| Expr::BinaryOp { left: Box::new(own), op: BinaryOperator::And, right: Box::new(condition.clone()) };
    let is_true = |e: &Expr| matches!(e, Expr::Value(v) if v.value == Value::Boolean(true));
    match at.join {
        Some(j) => {
            let join = &mut select.from[at.item].joins[j];
            let operator = std::mem::replace(&mut join.join_operator, JoinOperator::CrossJoin(JoinConstraint::None));
            join.join_operator = match operator {
                JoinOperator::CrossJoin(JoinConstraint::None) if outer => JoinOperator::Left(JoinConstraint::On(condition.clone())),
                JoinOperator::CrossJoin(JoinConstraint::None) => JoinOperator::Inner(JoinConstraint::On(condition.clone())),
                JoinOperator::Join(JoinConstraint::On(own)) | JoinOperator::Inner(JoinConstraint::On(own)) if outer => {
                    if !is_true(&own) {
                        return Err(refused("an inner join condition over aggregates without GROUP BY"));
                    }
                    JoinOperator::Left(JoinConstraint::On(and(own)))
                }
                JoinOperator::Join(JoinConstraint::On(own)) => JoinOperator::Join(JoinConstraint::On(and(own))),
                JoinOperator::Inner(JoinConstraint::On(own)) => JoinOperator::Inner(JoinConstraint::On(and(own))),
                JoinOperator::Left(JoinConstraint::On(own)) => JoinOperator::Left(JoinConstraint::On(and(own))),
                JoinOperator::LeftOuter(JoinConstraint::On(own)) => JoinOperator::LeftOuter(JoinConstraint::On(and(own))),
                _ => return Err(refused("a join other than INNER, LEFT or CROSS with ON")),
            };
        }
        None => {
            // The joins after the subquery joined it alone; once it joins the items before it,
            // they would see those too: only kinds that cannot tell the difference stay.
            let trailing_ok = select.from[at.item].joins.iter().all(|join| {
                matches!(
                    join.join_operator,
                    JoinOperator::CrossJoin(JoinConstraint::None)
                        | JoinOperator::Join(JoinConstraint::On(_))
                        | JoinOperator::Inner(JoinConstraint::On(_))
                        | JoinOperator::Left(JoinConstraint::On(_))
                        | JoinOperator::LeftOuter(JoinConstraint::On(_))
                )
            });
            if !trailing_ok {
                return Err(refused("a RIGHT, FULL, NATURAL or USING join after the subquery"));
            }
            let mut lateral = select.from.remove(at.item);
            // Each earlier item keeps its own joins together, in parentheses: `a, b NATURAL
            // JOIN c` is `a CROSS JOIN (b NATURAL JOIN c)`, not `(a CROSS JOIN b) NATURAL JOIN c`.
            let nested = |item: TableWithJoins| {
                if item.joins.is_empty() { item.relation } else { TableFactor::NestedJoin { table_with_joins: Box::new(item), alias: None } }
            };
            let mut chain = select.from.drain(..at.item);
            let Some(first) = chain.next() else {
                return Err(EngineError::Internal("a LATERAL item first in FROM refers to an earlier one".into()));
            };
            let mut first = TableWithJoins { relation: nested(first), joins: Vec::new() };
            for item in chain.collect::<Vec<_>>() {
                first.joins.push(Join { relation: nested(item), global: false, join_operator: JoinOperator::CrossJoin(JoinConstraint::None) });
            }
            let operator = if outer { JoinOperator::Left(JoinConstraint::On(condition)) } else { JoinOperator::Inner(JoinConstraint::On(condition)) };
            first.joins.push(Join { relation: lateral.relation, global: false, join_operator: operator });
            first.joins.append(&mut lateral.joins);
            select.from.insert(0, first);
        }
    }
    Ok(())
}

/// Spells out the outer query's `*` and `l.*` so that they leave out the hidden columns.
fn expand_wildcards(select: &mut Select, lateral: &Ident, visible: Option<&[String]>) -> Result<()> {
    let lateral_name = normalize_ident(lateral);
    let mut relations = Vec::new();
    for from in &select.from {
        for factor in std::iter::once(&from.relation).chain(from.joins.iter().map(|j| &j.relation)) {
            relations.push(relation_name(factor));
        }
    }
    // `l` as a whole row (`row_to_json(l)`) would carry the hidden columns.
    let whole_row = |e: &Expr| matches!(e, Expr::Identifier(i) if normalize_ident(i) == lateral_name);
    let found = |e: &Expr| if whole_row(e) { ControlFlow::Break(()) } else { ControlFlow::Continue(()) };
    if visit_expressions(&select.projection, found).is_break()
        || visit_expressions(&select.selection, found).is_break()
        || visit_expressions(&select.having, found).is_break()
    {
        return Err(refused("a reference to the subquery as a whole row"));
    }
    let merges_columns = select.from.iter().flat_map(|f| &f.joins).any(|join| {
        let constraint = match &join.join_operator {
            JoinOperator::Join(c) | JoinOperator::Inner(c) | JoinOperator::Left(c) | JoinOperator::LeftOuter(c) | JoinOperator::Right(c)
            | JoinOperator::RightOuter(c) | JoinOperator::FullOuter(c) => Some(c),
            _ => None,
        };
        matches!(constraint, Some(JoinConstraint::Using(_) | JoinConstraint::Natural))
    });
    let spelled = |relation: &str| -> Result<Vec<SelectItem>> {
        if relation != lateral_name {
            let name = ObjectName(vec![ObjectNamePart::Identifier(Ident::with_quote('"', relation))]);
            return Ok(vec![SelectItem::QualifiedWildcard(SelectItemQualifiedWildcardKind::ObjectName(name), Default::default())]);
        }
        let names = visible.ok_or_else(|| refused("`*` over a subquery whose own columns are `*`,"))?;
        if names.iter().enumerate().any(|(i, n)| names[..i].contains(n)) {
            return Err(refused("`*` over a subquery with two columns of one name"));
        }
        Ok(names.iter().map(|n| SelectItem::UnnamedExpr(Expr::CompoundIdentifier(vec![lateral.clone(), Ident::with_quote('"', n)]))).collect())
    };
    let mut projection = Vec::with_capacity(select.projection.len());
    for item in std::mem::take(&mut select.projection) {
        match item {
            SelectItem::Wildcard(_) => {
                if merges_columns {
                    return Err(refused("`*` over a USING or NATURAL join"));
                }
                for relation in &relations {
                    let relation = relation.as_deref().ok_or_else(|| refused("`*` over a FROM item without a name"))?;
                    projection.extend(spelled(relation)?);
                }
            }
            SelectItem::QualifiedWildcard(SelectItemQualifiedWildcardKind::ObjectName(name), _)
                if name.0.last().and_then(ObjectNamePart::as_ident).map(normalize_ident).as_deref() == Some(lateral_name.as_str()) =>
            {
                projection.extend(spelled(&lateral_name)?);
            }
            other => projection.push(other),
        }
    }
    select.projection = projection;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rewritten(sql: &str) -> Result<String> {
        let mut statement = Parser::parse_sql(&PostgreSqlDialect {}, sql).expect("parses").remove(0);
        decorrelate(&mut statement)?;
        Ok(statement.to_string())
    }

    #[test]
    fn a_top_n_lateral_becomes_a_join_on_numbered_rows() {
        let sql = "SELECT c.name, l.amount FROM customers c LEFT JOIN LATERAL (SELECT amount FROM orders o \
                   WHERE o.cid = c.id ORDER BY amount DESC LIMIT 2) l ON true";
        assert_eq!(
            rewritten(sql).unwrap(),
            "SELECT c.name, l.amount FROM customers c LEFT JOIN (SELECT amount, o.cid AS _rhei_lateral_1, \
             row_number() OVER (PARTITION BY o.cid ORDER BY amount DESC) AS _rhei_lateral_2 FROM orders o) l \
             ON true AND l._rhei_lateral_1 = c.id AND l._rhei_lateral_2 <= 2"
        );
    }

    #[test]
    fn after_a_comma_the_earlier_items_become_one_join_chain_and_star_leaves_out_hidden_columns() {
        let sql = "SELECT * FROM a, b, LATERAL (SELECT max(v) AS top FROM t WHERE t.a = a.id AND t.b = b.id) l";
        assert_eq!(
            rewritten(sql).unwrap(),
            "SELECT \"a\".*, \"b\".*, l.\"top\" FROM a CROSS JOIN b LEFT JOIN (SELECT max(v) AS top, t.a AS _rhei_lateral_1, \
             t.b AS _rhei_lateral_2 FROM t GROUP BY t.a, t.b) l ON l._rhei_lateral_1 = a.id AND l._rhei_lateral_2 = b.id"
        );
    }

    #[test]
    fn what_cannot_be_rewritten_is_refused_with_0a000() {
        for sql in [
            "SELECT * FROM c, LATERAL (SELECT c.id * 2 AS x) l",
            "SELECT * FROM c, LATERAL (SELECT count(*) FROM o WHERE o.cid = c.id) l",
            "SELECT * FROM c, LATERAL (SELECT x FROM o WHERE o.at > c.since) l",
            "SELECT row_to_json(l) FROM c, LATERAL (SELECT x FROM o WHERE o.cid = c.id) l",
            "SELECT * FROM c, LATERAL (SELECT x FROM o WHERE o.cid = c.id LIMIT -1) l",
            "SELECT * FROM c RIGHT JOIN LATERAL (SELECT x FROM o WHERE o.cid = c.id) l ON true",
            "SELECT * FROM c, LATERAL (SELECT x FROM o WHERE o.cid = c.id UNION SELECT 1) l",
        ] {
            let e = rewritten(sql).expect_err(sql);
            assert_eq!(e.sqlstate(), "0A000", "{sql}: {e}");
        }
        // A parameter bound to NULL is no limit, as in PostgreSQL.
        assert!(
            rewritten("SELECT * FROM c, LATERAL (SELECT x FROM o WHERE o.cid = c.id ORDER BY x LIMIT $1) l")
                .unwrap()
                .ends_with("ON l._rhei_lateral_1 = c.id AND ($1 IS NULL OR l._rhei_lateral_2 <= $1)")
        );
        // Earlier items keep their joins in parentheses.
        assert!(rewritten("SELECT l.m FROM r, a NATURAL JOIN b, LATERAL (SELECT max(v) AS m FROM o WHERE o.k = a.k) l")
            .unwrap()
            .contains("FROM r CROSS JOIN (a NATURAL JOIN b) LEFT JOIN"));
        // Uncorrelated: only the keyword goes.
        assert_eq!(rewritten("SELECT * FROM c, LATERAL (SELECT 1 AS one) l").unwrap(), "SELECT * FROM c, (SELECT 1 AS one) l");
    }
}
