//! Subqueries in catalog queries, reshaped into forms DataFusion can decorrelate. psql puts
//! correlated subqueries in select lists (a column's default, its collation, a policy's roles);
//! DataFusion only plans a correlated scalar subquery that is aggregated and whose correlation
//! predicates are `inner = outer` equalities. Every rewrite here keeps PostgreSQL's result:
//!
//! - `ARRAY(SELECT e FROM ... ORDER BY o)` becomes `(SELECT array_agg(e ORDER BY o) FROM ...)`,
//!   and `ARRAY(SELECT f(x) FROM unnest(arr) x)` becomes `arr` when `f(x)` is `x`, else
//!   `array_map_of_empty(arr)`, which is `'{}'` for an empty or NULL `arr` and an error (0A000)
//!   otherwise: DataFusion has no way to map over an array.
//! - A correlated scalar subquery loses the conjuncts that read only the outer row (they guard
//!   it instead: `CASE WHEN guard THEN (subquery) END`); a mixed conjunct such as
//!   `outer.a <> inner.b` has `outer.a` replaced by the inner expression an equality conjunct
//!   says it equals; an unaggregated select list is wrapped in `max()`, which is the value itself
//!   when the subquery yields one row and NULL when it yields none. (PostgreSQL raises 21000 on
//!   two or more rows; catalog subqueries select by key, so that never arises.)
//! - `EXISTS (...)` in a select list becomes `(SELECT max(1) ...) IS NOT NULL`, which
//!   the rules above then decorrelate (DataFusion plans EXISTS only in WHERE).
//! - Subqueries in a select whose FROM clause inner-joins a catalog that is empty (rhei has no
//!   policies, publications or extended statistics) are never evaluated, so they become NULL.
//! - So do CASE branches no catalog row can take (`CASE WHEN t.typtype = 'd' THEN (subquery)`
//!   when no type is a domain), before their subqueries are planned ([`prune_impossible_branches`]).

use std::collections::{HashMap, HashSet};
use std::ops::ControlFlow;

use datafusion::sql::sqlparser::ast::helpers::attached_token::AttachedToken;
use datafusion::sql::sqlparser::ast::{
    BinaryOperator, Expr, Function, FunctionArg, FunctionArgExpr, FunctionArgumentClause,
    FunctionArguments, GroupByExpr, Ident, JoinOperator, OrderByExpr, OrderByKind, Query, Select,
    SelectItem, SetExpr, TableFactor, Value, ValueWithSpan, VisitMut, VisitorMut, visit_expressions,
    visit_expressions_mut,
};
use rhei_engine::EngineError;
use rhei_engine::catalog::normalize_ident;
use rhei_engine::translate::call;

use crate::catalog::model::Model;
use crate::catalog::tables::{Namespace, SystemTable, system_table};

/// Aggregates, for telling an aggregated select list from a plain one.
const AGGREGATES: &[&str] = &[
    "count",
    "sum",
    "avg",
    "min",
    "max",
    "array_agg",
    "string_agg",
    "bool_and",
    "bool_or",
    "every",
    "first_value",
    "last_value",
];

/// A call with clauses inside its argument list (`array_agg(x ORDER BY y)`).
fn call_with_clauses(name: &str, args: Vec<Expr>, clauses: Vec<FunctionArgumentClause>) -> Expr {
    let mut expr = call(name, args);
    if let Expr::Function(Function { args: FunctionArguments::List(list), .. }) = &mut expr {
        list.clauses = clauses;
    }
    expr
}

fn null() -> Expr {
    Expr::value(Value::Null)
}

/// The one select of a query without set operations, LIMIT or OFFSET, if that is what it is.
fn plain_select(query: &mut Query) -> Option<&mut Select> {
    if query.limit_clause.is_some() || query.fetch.is_some() || query.with.is_some() {
        return None;
    }
    match query.body.as_mut() {
        SetExpr::Select(select) if select.distinct.is_none() && select.having.is_none() => Some(select),
        _ => None,
    }
}

fn single_item(select: &Select) -> Option<&Expr> {
    match select.projection.as_slice() {
        [SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. }] => Some(e),
        _ => None,
    }
}

fn is_grouped(select: &Select) -> bool {
    !matches!(&select.group_by, GroupByExpr::Expressions(exprs, _) if exprs.is_empty())
}

/// Whether an expression aggregates (calls an aggregate outside any subquery of its own).
fn is_aggregated(expr: &Expr) -> bool {
    rhei_engine::translate::finds_by_depth(expr, |e, nested| {
        matches!(e, Expr::Function(f) if !nested
            && f.over.is_none()
            && f.name.0.last().and_then(|p| p.as_ident()).is_some_and(|i| AGGREGATES.contains(&i.value.to_ascii_lowercase().as_str())))
    })
}

/// `[NOT] EXISTS (query)` in a select list, which DataFusion plans only in WHERE, as
/// `(SELECT max(1) ...) IS [NOT] NULL`. (`count(*) > 0` would be the obvious form, but
/// DataFusion's decorrelation of two counts in one select list clashes on an internal name.)
pub fn exists_as_max(query: &Query, negated: bool, counter: &mut usize) -> Option<Expr> {
    let mut query = query.clone();
    let select = plain_select(&mut query).filter(|s| !is_grouped(s))?;
    let one = Expr::value(Value::Number("1".into(), false));
    select.projection = vec![SelectItem::UnnamedExpr(call("max", vec![one]))];
    let max = Box::new(decorrelate(&query, counter).unwrap_or_else(|| Expr::Subquery(Box::new(query))));
    Some(if negated { Expr::IsNull(max) } else { Expr::IsNotNull(max) })
}

/// `ARRAY(query)` as an expression DataFusion plans.
///
/// # Errors
/// Only a bug in building the replacement (XX000).
pub fn array_of(query: &Query) -> Result<Expr, EngineError> {
    if let Some(mapped) = unnest_map(query) {
        return Ok(mapped);
    }
    let mut query = query.clone();
    let order = query.order_by.take();
    let Some(select) = plain_select(&mut query).filter(|s| !is_grouped(s)) else {
        // Anything else aggregates over the subquery as a derived table.
        let sql =
            format!("(SELECT array_agg(\"rhei_array\".\"element\") FROM ({query}) AS \"rhei_array\"(\"element\"))");
        return datafusion::sql::sqlparser::parser::Parser::new(
            &datafusion::sql::sqlparser::dialect::PostgreSqlDialect {},
        )
        .try_with_sql(&sql)
        .and_then(|mut p| p.parse_expr())
        .map_err(|e| EngineError::Internal(format!("rewriting ARRAY(subquery): {e}")));
    };
    let Some(element) = single_item(select).cloned() else {
        return Err(EngineError::Internal("ARRAY(subquery) must select one column".into()));
    };
    let mut clauses = Vec::new();
    if let Some(order) = order
        && let OrderByKind::Expressions(exprs) = order.kind
    {
        let exprs: Vec<OrderByExpr> = exprs
            .into_iter()
            .map(|mut o| {
                // `ORDER BY 1` names the selected element.
                if matches!(&o.expr, Expr::Value(ValueWithSpan { value: Value::Number(n, _), .. }) if n == "1") {
                    o.expr = element.clone();
                }
                o
            })
            .collect();
        clauses.push(FunctionArgumentClause::OrderBy(exprs));
    }
    select.projection = vec![SelectItem::UnnamedExpr(call_with_clauses("array_agg", vec![element], clauses))];
    Ok(Expr::Subquery(Box::new(query)))
}

/// `ARRAY(SELECT f(x) FROM unnest(arr) x)`, the one form of mapping over an array psql uses.
fn unnest_map(query: &Query) -> Option<Expr> {
    let SetExpr::Select(select) = query.body.as_ref() else { return None };
    if select.selection.is_some() || is_grouped(select) || query.order_by.is_some() {
        return None;
    }
    let [from] = select.from.as_slice() else { return None };
    if !from.joins.is_empty() {
        return None;
    }
    // `unnest(...)` parses as its own table factor; `pg_catalog.unnest(...)` as a function.
    let (array, alias) = match &from.relation {
        TableFactor::UNNEST { array_exprs, alias, with_offset: false, with_ordinality: false, .. } => {
            let [array] = array_exprs.as_slice() else { return None };
            (array, alias.as_ref()?)
        }
        TableFactor::Table { name, args: Some(args), alias, .. }
            if name.0.last().and_then(|p| p.as_ident()).map(normalize_ident).as_deref() == Some("unnest") =>
        {
            let [FunctionArg::Unnamed(FunctionArgExpr::Expr(array))] = args.args.as_slice() else { return None };
            (array, alias.as_ref()?)
        }
        _ => return None,
    };
    let column = alias.columns.first().map_or_else(|| normalize_ident(&alias.name), |c| normalize_ident(&c.name));
    let element = single_item(select)?;
    let is_identity = match element {
        Expr::Identifier(ident) => normalize_ident(ident) == column,
        Expr::CompoundIdentifier(parts) => parts.last().map(normalize_ident).as_deref() == Some(column.as_str()),
        _ => false,
    };
    Some(if is_identity {
        call("coalesce", vec![array.clone(), call("make_array", Vec::new())])
    } else {
        call("array_map_of_empty", vec![array.clone()])
    })
}

/// The relations a select reads: their names (aliases) and, where known, their columns.
pub struct Scope {
    names: HashSet<String>,
    columns: HashSet<String>,
    all_columns_known: bool,
}

impl Scope {
    pub fn of(select: &Select) -> Self {
        let mut scope = Self { names: HashSet::new(), columns: HashSet::new(), all_columns_known: true };
        for table in &select.from {
            scope.add(&table.relation);
            for join in &table.joins {
                scope.add(&join.relation);
            }
        }
        scope
    }

    fn add(&mut self, factor: &TableFactor) {
        match factor {
            TableFactor::Table { name, alias, args, .. } => {
                let parts: Vec<String> = name.0.iter().filter_map(|p| p.as_ident()).map(normalize_ident).collect();
                let Some(last) = parts.last() else { return };
                self.names.insert(alias.as_ref().map_or_else(|| last.clone(), |a| normalize_ident(&a.name)));
                let table = match (parts.as_slice(), args) {
                    ([schema, table], None) if schema == "information_schema" => {
                        system_table(Namespace::InformationSchema, table)
                    }
                    ([.., table], None) => system_table(Namespace::PgCatalog, table),
                    _ => None,
                };
                match (table, alias.as_ref().filter(|a| !a.columns.is_empty())) {
                    (_, Some(alias)) => self.columns.extend(alias.columns.iter().map(|c| normalize_ident(&c.name))),
                    (Some(table), None) => self.columns.extend(table.columns.iter().map(|(c, _)| (*c).to_string())),
                    (None, None) => self.all_columns_known = false,
                }
            }
            TableFactor::Derived { alias, subquery, .. } => {
                if let Some(alias) = alias {
                    self.names.insert(normalize_ident(&alias.name));
                }
                match rhei_engine::naming::output_names(subquery) {
                    Some(names) => self.columns.extend(names),
                    None => self.all_columns_known = false,
                }
            }
            _ => self.all_columns_known = false,
        }
    }

    /// The column names known to be readable from this select's relations.
    pub fn into_columns(self) -> HashSet<String> {
        self.columns
    }

    /// Whether a column reference is to the outer query.
    fn is_outer(&self, expr: &Expr) -> bool {
        match expr {
            // `t.c`, or `pg_catalog.t.c` as SQLAlchemy writes it: `t` names the relation.
            Expr::CompoundIdentifier(parts) if parts.len() >= 2 => {
                !self.names.contains(&normalize_ident(&parts[parts.len() - 2]))
            }
            Expr::Identifier(ident) => self.all_columns_known && !self.columns.contains(&normalize_ident(ident)),
            _ => false,
        }
    }

    /// Whether an expression reads the outer query and whether it reads this one.
    fn references(&self, expr: &Expr) -> (bool, bool) {
        let (mut outer, mut inner) = (false, false);
        let _ = visit_expressions(expr, |e| {
            match e {
                Expr::Identifier(_) | Expr::CompoundIdentifier(_) if self.is_outer(e) => outer = true,
                Expr::Identifier(_) | Expr::CompoundIdentifier(_) => inner = true,
                // A nested subquery's references are its own business; count it as inner.
                Expr::Subquery(_) | Expr::Exists { .. } | Expr::InSubquery { .. } => inner = true,
                _ => {}
            }
            ControlFlow::<()>::Continue(())
        });
        (outer, inner)
    }
}

fn conjuncts(expr: Expr, out: &mut Vec<Expr>) {
    match expr {
        Expr::BinaryOp { left, op: BinaryOperator::And, right } => {
            conjuncts(*left, out);
            conjuncts(*right, out);
        }
        Expr::Nested(inner) if matches!(inner.as_ref(), Expr::BinaryOp { op: BinaryOperator::And, .. }) => {
            conjuncts(*inner, out);
        }
        other => out.push(other),
    }
}

fn and_all(exprs: Vec<Expr>) -> Option<Expr> {
    exprs.into_iter().reduce(|a, b| Expr::BinaryOp { left: Box::new(a), op: BinaryOperator::And, right: Box::new(b) })
}

/// A correlated scalar subquery in the one shape DataFusion decorrelates (module doc); `None`
/// if it is not correlated or not a plain select.
///
/// `counter` numbers the subqueries of one statement: each result gets its own name, as
/// DataFusion joins them all into the outer query.
pub fn decorrelate(query: &Query, counter: &mut usize) -> Option<Expr> {
    let mut query = query.clone();
    let select = plain_select(&mut query)?;
    if is_grouped(select) {
        return None;
    }
    let scope = Scope::of(select);
    let mut predicates = Vec::new();
    if let Some(selection) = select.selection.take() {
        conjuncts(selection, &mut predicates);
    }
    let (mut guards, mut kept, mut mixed) = (Vec::new(), Vec::new(), Vec::new());
    // Outer column (as written) -> the inner expression an equality conjunct makes it equal to.
    let mut equal_to: HashMap<String, Expr> = HashMap::new();
    for predicate in predicates {
        match scope.references(&predicate) {
            (false, _) => kept.push(predicate),
            (true, false) => guards.push(predicate),
            (true, true) => {
                if let Expr::BinaryOp { left, op: BinaryOperator::Eq, right } = &predicate {
                    for (outer, inner) in [(left, right), (right, left)] {
                        if scope.is_outer(outer) && scope.references(inner) == (false, true) {
                            equal_to.entry(outer.to_string()).or_insert_with(|| inner.as_ref().clone());
                        }
                    }
                    kept.push(predicate);
                } else {
                    mixed.push(predicate);
                }
            }
        }
    }
    if guards.is_empty() && mixed.is_empty() && equal_to.is_empty() {
        // Not correlated through its WHERE clause; DataFusion handles what is left.
        select.selection = and_all(kept);
        return None;
    }
    for mut predicate in mixed {
        let _ = visit_expressions_mut(&mut predicate, |e| {
            if scope.is_outer(e)
                && let Some(inner) = equal_to.get(&e.to_string())
            {
                *e = inner.clone();
            }
            ControlFlow::<()>::Continue(())
        });
        kept.push(predicate);
    }
    select.selection = and_all(kept);
    if let [item] = select.projection.as_mut_slice() {
        let expr = match std::mem::replace(item, SelectItem::UnnamedExpr(null())) {
            SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. } => e,
            other => {
                *item = other;
                return None;
            }
        };
        let expr = if is_aggregated(&expr) { expr } else { call("max", vec![expr]) };
        *counter += 1;
        *item = SelectItem::ExprWithAlias { expr, alias: Ident::with_quote('"', format!("rhei_subquery_{counter}")) };
    }
    let subquery = Expr::Subquery(Box::new(query));
    Some(match and_all(guards) {
        Some(guard) => Expr::Case {
            case_token: AttachedToken::empty(),
            end_token: AttachedToken::empty(),
            operand: None,
            conditions: vec![datafusion::sql::sqlparser::ast::CaseWhen { condition: guard, result: subquery }],
            else_result: None,
        },
        None => subquery,
    })
}

/// Replaces the subqueries of a select that reads no rows (module doc).
pub fn drop_unevaluated(select: &mut Select, model: &Model) {
    let aggregated = is_grouped(select)
        || select.projection.iter().any(|item| match item {
            SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. } => is_aggregated(e),
            _ => false,
        });
    if aggregated || !reads_no_rows(select, model) {
        return;
    }
    let replace = |expr: &mut Expr| {
        let _ = visit_expressions_mut(expr, |e| {
            if matches!(e, Expr::Subquery(_) | Expr::Exists { .. } | Expr::InSubquery { .. }) {
                *e = null();
            }
            ControlFlow::<()>::Continue(())
        });
    };
    for item in &mut select.projection {
        if let SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. } = item {
            replace(e);
        }
    }
    if let Some(selection) = select.selection.as_mut() {
        replace(selection);
    }
}

/// Empties the branches of the select list's CASE expressions that no row can take: `CASE WHEN
/// t.typtype = 'd' THEN (subquery) ... END` over `pg_type AS t`, when no type is a domain
/// (asyncpg's type introspection asks for a domain's base types and a composite type's
/// attributes through subqueries DataFusion cannot plan; rhei has neither kind of type). The
/// branch's result becomes NULL, which is what it would never have given.
pub fn prune_impossible_branches(select: &mut Select, model: &Model) {
    let mut relations: Vec<(String, &SystemTable)> = Vec::new();
    for table in &select.from {
        for factor in std::iter::once(&table.relation).chain(table.joins.iter().map(|j| &j.relation)) {
            if let TableFactor::Table { name, alias, args: None, .. } = factor {
                let parts: Vec<String> = name.0.iter().filter_map(|p| p.as_ident()).map(normalize_ident).collect();
                let system = match parts.as_slice() {
                    [schema, table] if schema == "pg_catalog" => system_table(Namespace::PgCatalog, table),
                    [schema, table] if schema == "information_schema" => system_table(Namespace::InformationSchema, table),
                    [table] => system_table(Namespace::PgCatalog, table),
                    _ => None,
                };
                if let Some(system) = system {
                    let visible = alias.as_ref().map_or_else(|| parts.last().cloned().unwrap_or_default(), |a| normalize_ident(&a.name));
                    relations.push((visible, system));
                }
            }
        }
    }
    if relations.is_empty() {
        return;
    }
    let impossible = |condition: &Expr| {
        let Expr::BinaryOp { left, op: BinaryOperator::Eq, right } = condition else { return false };
        let (Expr::CompoundIdentifier(column), Expr::Value(ValueWithSpan { value: Value::SingleQuotedString(text), .. })) =
            (left.as_ref(), right.as_ref())
        else {
            return false;
        };
        let [qualifier, column] = column.as_slice() else { return false };
        relations
            .iter()
            .find(|(name, _)| *name == normalize_ident(qualifier))
            .is_some_and(|(_, table)| table.has_text(model, &normalize_ident(column), text) == Some(false))
    };
    // Only this select's own expressions: a subquery's aliases are its own (it is pruned when
    // its query is visited).
    struct OwnCases<F> {
        impossible: F,
        depth: usize,
    }
    impl<F: Fn(&Expr) -> bool> VisitorMut for OwnCases<F> {
        type Break = ();

        fn pre_visit_query(&mut self, _: &mut Query) -> ControlFlow<()> {
            self.depth += 1;
            ControlFlow::Continue(())
        }

        fn post_visit_query(&mut self, _: &mut Query) -> ControlFlow<()> {
            self.depth -= 1;
            ControlFlow::Continue(())
        }

        fn pre_visit_expr(&mut self, expr: &mut Expr) -> ControlFlow<()> {
            if self.depth == 0
                && let Expr::Case { operand: None, conditions, .. } = expr
            {
                for when in conditions.iter_mut().filter(|w| (self.impossible)(&w.condition)) {
                    when.result = null();
                }
            }
            ControlFlow::Continue(())
        }
    }
    let mut visitor = OwnCases { impossible, depth: 0 };
    for item in &mut select.projection {
        if let SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. } = item {
            let _ = VisitMut::visit(e, &mut visitor);
        }
    }
}

/// Whether a scalar subquery yields no row, and so is NULL, whatever the outer row: a plain,
/// unaggregated select that inner-joins an empty catalog (SQLAlchemy's `get_columns` reads a
/// column's identity options from `pg_sequence` through a correlation DataFusion cannot
/// decorrelate, `seqrelid = pg_get_serial_sequence(...)::regclass`).
pub fn is_empty_scalar(query: &Query, model: &Model) -> bool {
    if query.limit_clause.is_some() || query.fetch.is_some() || query.with.is_some() {
        return false;
    }
    let SetExpr::Select(select) = query.body.as_ref() else { return false };
    let aggregated = is_grouped(select)
        || select.having.is_some()
        || select.projection.iter().any(|item| match item {
            SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. } => is_aggregated(e),
            _ => true,
        });
    !aggregated && reads_no_rows(select, model)
}

/// Whether a select's FROM clause inner-joins a catalog that has no rows.
fn reads_no_rows(select: &Select, model: &Model) -> bool {
    let empty = |factor: &TableFactor| match factor {
        TableFactor::Table { name, args: None, .. } => {
            let parts: Vec<String> = name.0.iter().filter_map(|p| p.as_ident()).map(normalize_ident).collect();
            let table: Option<&SystemTable> = match parts.as_slice() {
                [schema, table] if schema == "pg_catalog" => system_table(Namespace::PgCatalog, table),
                [schema, table] if schema == "information_schema" => system_table(Namespace::InformationSchema, table),
                _ => None,
            };
            table.is_some_and(|t| t.is_empty(model))
        }
        _ => false,
    };
    select.from.iter().any(|table| {
        empty(&table.relation)
            || table.joins.iter().any(|join| {
                matches!(
                    join.join_operator,
                    JoinOperator::Join(_) | JoinOperator::Inner(_) | JoinOperator::CrossJoin(_)
                ) && empty(&join.relation)
            })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::sql::sqlparser::{dialect::PostgreSqlDialect, parser::Parser};

    fn subquery(sql: &str) -> Query {
        match Parser::new(&PostgreSqlDialect {}).try_with_sql(sql).and_then(|mut p| p.parse_expr()) {
            Ok(Expr::Subquery(query)) => *query,
            other => panic!("not a subquery: {other:?}"),
        }
    }

    #[test]
    fn correlated_subqueries_keep_only_equality_correlation() {
        // psql's collation lookup in `\d`: the outer-only conjunct guards the subquery, the
        // mixed `<>` reads the inner column `a.attcollation` equals, and the value is aggregated.
        let query = subquery(
            "(SELECT c.collname FROM pg_catalog.pg_collation c, pg_catalog.pg_type t \
             WHERE c.oid = a.attcollation AND t.oid = a.atttypid AND a.attcollation <> t.typcollation AND a.atthasdef)",
        );
        let mut counter = 0;
        let rewritten = decorrelate(&query, &mut counter).expect("correlated").to_string();
        assert_eq!(
            rewritten,
            "CASE WHEN a.atthasdef THEN (SELECT max(c.collname) AS \"rhei_subquery_1\" \
             FROM pg_catalog.pg_collation c, pg_catalog.pg_type t \
             WHERE c.oid = a.attcollation AND t.oid = a.atttypid AND c.oid <> t.typcollation) END"
        );
        let uncorrelated = subquery("(SELECT i.indnkeyatts FROM pg_catalog.pg_index i WHERE i.indexrelid = 5)");
        assert!(decorrelate(&uncorrelated, &mut counter).is_none());
    }

    #[test]
    fn array_subqueries_aggregate() {
        let query = subquery("(SELECT rolname FROM pg_catalog.pg_roles WHERE oid = 10 ORDER BY 1)");
        assert_eq!(
            array_of(&query).expect("rewrites").to_string(),
            "(SELECT array_agg(rolname ORDER BY rolname) FROM pg_catalog.pg_roles WHERE oid = 10)"
        );
        let map = subquery("(SELECT 'toast.' || x FROM unnest(tc.reloptions) x)");
        assert_eq!(array_of(&map).expect("rewrites").to_string(), "array_map_of_empty(tc.reloptions)");
        let qualified = subquery("(SELECT 'toast.' || x FROM pg_catalog.unnest(tc.reloptions) x)");
        assert_eq!(array_of(&qualified).expect("rewrites").to_string(), "array_map_of_empty(tc.reloptions)");
        let identity = subquery("(SELECT x FROM unnest(tc.reloptions) AS x)");
        assert_eq!(array_of(&identity).expect("rewrites").to_string(), "coalesce(tc.reloptions, make_array())");
    }
}
