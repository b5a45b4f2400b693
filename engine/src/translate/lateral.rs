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
//! The forms, and what each needs of the correlation:
//! - A plain subquery (no aggregate, LIMIT, window function): any conjuncts (no subqueries in
//!   them); with DISTINCT, only `inner = outer` equalities.
//! - LIMIT / OFFSET / FETCH FIRST (top-N per outer row): equalities only; the rows are numbered
//!   per key in the subquery's ORDER BY.
//! - GROUP BY: equalities only; the keys join the grouping.
//! - Aggregates without GROUP BY (one row per outer row, also when nothing matches): equalities
//!   only, every output an aggregate that is NULL over no rows (not count); the join becomes a
//!   LEFT JOIN, so an outer row without matches gets NULLs, as the aggregate over no rows gives.
//!
//! Anything else correlated (a reference outside the WHERE clause, window functions, a set
//! operation, RIGHT or FULL joins, a `*` of the outer query over a subquery whose own columns
//! are a `*`) is refused with 0A000 rather than answered differently. Outer references must
//! name their relation (`c.id`): an unqualified name is the subquery's own, as SQL scoping reads
//! it first. LATERAL function calls (`LATERAL unnest(c.tags)`) are not rewritten.

use std::ops::ControlFlow;

use datafusion::sql::sqlparser::ast::{
    BinaryOperator, Distinct, Expr, GroupByExpr, Ident, Join, JoinConstraint, JoinOperator, LimitClause, ObjectName,
    ObjectNamePart, OrderByKind, Query, Select, SelectItem, SelectItemQualifiedWildcardKind, SetExpr, Statement,
    TableAliasColumnDef, TableFactor, TableWithJoins, Value, Visit, VisitMut, VisitorMut, visit_expressions,
    visit_expressions_mut,
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

    fn refers_outside(&self, expr: &Expr) -> bool {
        self.visits_outside(expr)
    }

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
    /// `inner = outer`: the inner side is computed in the subquery.
    Key { inner: Expr, outer: Expr },
    /// Anything else: moved to the join, its inner columns computed in the subquery.
    Other(Expr),
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

fn number(n: u64) -> Expr {
    Expr::value(Value::Number(n.to_string(), false))
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

fn is_aggregate_call(expr: &Expr) -> bool {
    matches!(expr, Expr::Function(f) if f.over.is_none() && crate::router::is_aggregate(f))
}

fn has_window_function(select: &Select) -> bool {
    visit_expressions(&select.projection, |e| match e {
        Expr::Function(f) if f.over.is_some() => ControlFlow::Break(()),
        _ => ControlFlow::Continue(()),
    })
    .is_break()
}

fn has_aggregate(select: &Select) -> bool {
    let found = |e: &Expr| if is_aggregate_call(e) { ControlFlow::Break(()) } else { ControlFlow::Continue(()) };
    visit_expressions(&select.projection, found).is_break() || select.having.as_ref().is_some_and(|h| visit_expressions(h, found).is_break())
}

/// The subquery's shape; its LIMIT, OFFSET and FETCH are taken out (a top-N numbers its rows
/// instead).
fn shape(limit_clause: &mut Option<LimitClause>, fetch: &mut Option<datafusion::sql::sqlparser::ast::Fetch>, select: &Select) -> Result<Shape> {
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
        (None, Some(fetch)) if !fetch.with_ties && !fetch.percent => fetch.quantity.or_else(|| Some(number(1))),
        _ => return Err(refused("FETCH FIRST ... WITH TIES or PERCENT")),
    };
    let limited = limit.is_some() || offset.is_some();
    let aggregated = grouped || has_aggregate(select);
    match (limited, aggregated, grouped) {
        (true, true, _) => Err(refused("LIMIT or OFFSET over aggregates")),
        (true, false, _) if select.distinct.is_some() => Err(refused("LIMIT or OFFSET with DISTINCT")),
        (true, false, _) => Ok(Shape::TopN { limit, offset }),
        (false, true, true) => Ok(Shape::Grouped),
        (false, true, false) => Ok(Shape::Aggregate),
        (false, false, _) => Ok(Shape::Plain),
    }
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
    let visible = if alias.columns.is_empty() {
        crate::naming::output_names(subquery)
    } else {
        Some(alias.columns.iter().map(|c| normalize_ident(&c.name)).collect())
    };
    let query = subquery.as_mut();
    let SetExpr::Select(inner_select) = query.body.as_mut() else {
        return Err(refused("a set operation"));
    };

    let mut correlations = Vec::new();
    let mut kept = Vec::new();
    let mut all = Vec::new();
    if let Some(selection) = inner_select.selection.take() {
        conjuncts(selection, &mut all);
    }
    for conjunct in all {
        if !scopes.refers_outside(&conjunct) {
            kept.push(conjunct);
            continue;
        }
        let key = match &conjunct {
            Expr::BinaryOp { left, op: BinaryOperator::Eq, right } => {
                match (scopes.only_outside(left) && !scopes.refers_outside(right), scopes.only_outside(right) && !scopes.refers_outside(left)) {
                    (true, _) => Some(Correlation::Key { inner: (**right).clone(), outer: (**left).clone() }),
                    (_, true) => Some(Correlation::Key { inner: (**left).clone(), outer: (**right).clone() }),
                    _ => None,
                }
            }
            _ => None,
        };
        correlations.push(key.unwrap_or(Correlation::Other(conjunct)));
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
    let shape = shape(&mut query.limit_clause, &mut query.fetch, inner_select)?;
    let only_keys = correlations.iter().all(|c| matches!(c, Correlation::Key { .. }));
    if !only_keys && (shape != Shape::Plain || inner_select.distinct.is_some()) {
        return Err(refused("a condition on an earlier FROM item other than equality, with LIMIT, aggregates or DISTINCT,"));
    }
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
            Correlation::Other(mut condition) => {
                if visit_expressions(&condition, |e| match e {
                    Expr::Subquery(_) | Expr::Exists { .. } | Expr::InSubquery { .. } => ControlFlow::Break(()),
                    _ => ControlFlow::Continue(()),
                })
                .is_break()
                {
                    return Err(refused("a subquery in a condition on an earlier FROM item"));
                }
                let mut reads: Vec<(Expr, Expr)> = Vec::new();
                let _ = visit_expressions_mut(&mut condition, |e| {
                    if matches!(e, Expr::Identifier(_) | Expr::CompoundIdentifier(_)) && scopes.outer_reference(e).is_none() {
                        let read = match reads.iter().find(|(own, _)| own == e) {
                            Some((_, read)) => read.clone(),
                            None => {
                                let read = hidden(inner_select, e.clone());
                                reads.push((e.clone(), read.clone()));
                                read
                            }
                        };
                        *e = read;
                    }
                    ControlFlow::<()>::Continue(())
                });
                conditions.push(condition);
            }
        }
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
            let order = match query.order_by.take() {
                None => Vec::new(),
                Some(order_by) => match order_by.kind {
                    OrderByKind::Expressions(items) => items,
                    OrderByKind::All(_) => return Err(refused("ORDER BY ALL")),
                },
            };
            let order: Vec<String> = order
                .into_iter()
                .map(|mut item| {
                    // A position or an output name stands for its select-list expression.
                    if let Some(expr) = super::positional_item(&item.expr, &inner_select.projection).cloned().or_else(|| output_expression(&item.expr, &inner_select.projection)) {
                        item.expr = expr;
                    }
                    item.to_string()
                })
                .collect();
            let partition: Vec<String> = keys.iter().map(ToString::to_string).collect();
            let order_clause = if order.is_empty() { String::new() } else { format!(" ORDER BY {}", order.join(", ")) };
            let window = format!("row_number() OVER (PARTITION BY {}{order_clause})", partition.join(", "));
            let window = Parser::new(&PostgreSqlDialect {})
                .try_with_sql(&window)
                .and_then(|mut p| p.parse_expr())
                .map_err(|e| EngineError::Internal(format!("the row number of a LATERAL rewrite did not parse: {e}")))?;
            let row_number = hidden(inner_select, window);
            if let Some(offset) = &offset {
                conditions.push(Expr::BinaryOp { left: Box::new(row_number.clone()), op: BinaryOperator::Gt, right: Box::new(offset.clone()) });
            }
            if let Some(limit) = limit {
                let last = match offset {
                    Some(offset) => Expr::BinaryOp { left: Box::new(Expr::Nested(Box::new(offset))), op: BinaryOperator::Plus, right: Box::new(Expr::Nested(Box::new(limit))) },
                    None => limit,
                };
                conditions.push(Expr::BinaryOp { left: Box::new(row_number), op: BinaryOperator::LtEq, right: Box::new(last) });
            }
        }
    }
    let alias_name = alias.name.clone();
    let condition = and_all(conditions).ok_or_else(|| EngineError::Internal("a LATERAL rewrite without a join condition".into()))?;
    place_join(select, at, condition, outer_join)?;
    expand_wildcards(select, &alias_name, visible.as_deref())
}

/// The select-list expression an output name in ORDER BY stands for (`ORDER BY total` for
/// `sum(x) AS total`), unless the name is also a column the expression could read.
fn output_expression(expr: &Expr, projection: &[SelectItem]) -> Option<Expr> {
    let Expr::Identifier(name) = expr else { return None };
    let name = normalize_ident(name);
    projection.iter().find_map(|item| match item {
        SelectItem::ExprWithAlias { expr, alias } if normalize_ident(alias) == name && !matches!(expr, Expr::Identifier(_)) => Some(expr.clone()),
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
            let mut lateral = select.from.remove(at.item);
            let mut chain = select.from.drain(..at.item);
            let Some(mut first) = chain.next() else {
                return Err(EngineError::Internal("a LATERAL item first in FROM refers to an earlier one".into()));
            };
            for item in chain.collect::<Vec<_>>() {
                first.joins.push(Join { relation: item.relation, global: false, join_operator: JoinOperator::CrossJoin(JoinConstraint::None) });
                first.joins.extend(item.joins);
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
    let spelled = |relation: &str| -> Result<Vec<SelectItem>> {
        if relation != lateral_name {
            let name = ObjectName(vec![ObjectNamePart::Identifier(Ident::with_quote('"', relation))]);
            return Ok(vec![SelectItem::QualifiedWildcard(SelectItemQualifiedWildcardKind::ObjectName(name), Default::default())]);
        }
        let names = visible.ok_or_else(|| refused("`*` over a subquery whose own columns are `*`,"))?;
        Ok(names.iter().map(|n| SelectItem::UnnamedExpr(Expr::CompoundIdentifier(vec![lateral.clone(), Ident::with_quote('"', n)]))).collect())
    };
    let mut projection = Vec::with_capacity(select.projection.len());
    for item in std::mem::take(&mut select.projection) {
        match item {
            SelectItem::Wildcard(_) => {
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
            "SELECT * FROM c, LATERAL (SELECT x FROM o WHERE o.at > c.since LIMIT 1) l",
            "SELECT * FROM c RIGHT JOIN LATERAL (SELECT x FROM o WHERE o.cid = c.id) l ON true",
            "SELECT * FROM c, LATERAL (SELECT x FROM o WHERE o.cid = c.id UNION SELECT 1) l",
        ] {
            let e = rewritten(sql).expect_err(sql);
            assert_eq!(e.sqlstate(), "0A000", "{sql}: {e}");
        }
        // Uncorrelated: only the keyword goes.
        assert_eq!(rewritten("SELECT * FROM c, LATERAL (SELECT 1 AS one) l").unwrap(), "SELECT * FROM c, (SELECT 1 AS one) l");
    }
}
