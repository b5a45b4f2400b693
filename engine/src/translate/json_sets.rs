//! PostgreSQL's JSON set-returning functions (`jsonb_array_elements`, `jsonb_each`,
//! `jsonb_object_keys`, their `_text` and json twins) in a query.
//!
//! At parse time ([`normalize`]) a call in a select list moves into FROM, as PostgreSQL would
//! run it: `SELECT jsonb_array_elements(doc) FROM t` becomes `SELECT "_rhei_set_1".value AS
//! jsonb_array_elements FROM t, jsonb_array_elements(doc) AS "_rhei_set_1"(value)`, a
//! function in FROM seeing the tables before it (LATERAL, as PostgreSQL's functions always
//! do). Then each engine gets its form:
//! - SQLite ([`for_sqlite`]): the call becomes the table-valued function `rhei_<name>(doc)`
//!   (`oltp::json_sets`), correlated as SQLite allows. Its columns have PostgreSQL's default
//!   names; references under other names (a column alias list, a whole-row reference to a
//!   one-column function, `jsonb_object_keys(d) AS k`) are renamed to them.
//! - DataFusion ([`for_olap`]): it cannot run a function of a column of another FROM item, so
//!   the queries run on SQLite whatever the route asked for (as reads of sequences do);
//!   DataFusion only plans them, to type their results, with each call standing in as a
//!   one-row table of typed NULLs.

use std::ops::ControlFlow;

use datafusion::sql::sqlparser::ast::{
    Expr, FunctionArg, FunctionArgExpr, FunctionArguments, GroupByExpr, Ident, ObjectName, ObjectNamePart, Query,
    Select, SelectItem, SetExpr, Statement, TableAlias, TableAliasColumnDef, TableFactor, TableWithJoins, Visit, VisitMut, Visitor, VisitorMut, visit_expressions, visit_expressions_mut,
};

use crate::catalog::{Catalog, normalize_ident, table_name};
use crate::error::{EngineError, Result};
use crate::json::{SetFunction, SetKind};
use crate::translate::{builtin_name, function_table};

/// The JSON set-returning function `name` calls, if it calls one.
fn set_function(name: &ObjectName) -> Option<SetFunction> {
    SetFunction::named(&builtin_name(name)?)
}

fn is_set_call(expr: &Expr) -> Option<SetFunction> {
    match expr {
        Expr::Function(f) if f.over.is_none() => set_function(&f.name),
        _ => None,
    }
}

/// Whether `query` calls a JSON set-returning function, in FROM or anywhere else.
pub fn called(query: &Query) -> bool {
    calls_anywhere(query)
}

fn calls_anywhere(node: &impl Visit) -> bool {
    struct Finder;
    impl Visitor for Finder {
        type Break = ();
        fn pre_visit_table_factor(&mut self, factor: &TableFactor) -> ControlFlow<()> {
            match factor {
                TableFactor::Table { name, args: Some(_), .. } | TableFactor::Function { name, .. } if set_function(name).is_some() => {
                    ControlFlow::Break(())
                }
                _ => ControlFlow::Continue(()),
            }
        }
        fn pre_visit_expr(&mut self, expr: &Expr) -> ControlFlow<()> {
            if is_set_call(expr).is_some() { ControlFlow::Break(()) } else { ControlFlow::Continue(()) }
        }
    }
    node.visit(&mut Finder).is_break()
}

/// Every SELECT of a query body, set operations included (not those of nested queries).
fn selects_of(body: &mut SetExpr, each: &mut dyn FnMut(&mut Select) -> Result<()>) -> Result<()> {
    match body {
        SetExpr::Select(select) => each(select),
        SetExpr::SetOperation { left, right, .. } => {
            selects_of(left, each)?;
            selects_of(right, each)
        }
        _ => Ok(()),
    }
}

/// Runs `rewrite` on every query of `statement`, innermost first, stopping at the first error.
fn each_query(statement: &mut Statement, rewrite: impl FnMut(&mut Query) -> Result<()>) -> Result<()> {
    struct Each<F> {
        rewrite: F,
        failure: Option<EngineError>,
    }
    impl<F: FnMut(&mut Query) -> Result<()>> VisitorMut for Each<F> {
        type Break = ();
        fn post_visit_query(&mut self, query: &mut Query) -> ControlFlow<()> {
            match (self.rewrite)(query) {
                Ok(()) => ControlFlow::Continue(()),
                Err(e) => {
                    self.failure = Some(e);
                    ControlFlow::Break(())
                }
            }
        }
    }
    let mut each = Each { rewrite, failure: None };
    let _ = statement.visit(&mut each);
    each.failure.map_or(Ok(()), Err)
}

pub(crate) fn misplaced(clause: &str) -> EngineError {
    EngineError::SetReturningNotAllowed { message: format!("set-returning functions are not allowed in {clause}") }
}

/// Moves JSON set-returning calls out of select lists into FROM (see the module doc), once at
/// parse time, and refuses them where PostgreSQL does (0A000).
///
/// # Errors
/// A call in WHERE, GROUP BY, HAVING, a join condition or an aggregate's arguments (0A000, as
/// in PostgreSQL); and, which PostgreSQL allows but rhei does not run, a select list with two
/// different calls (PostgreSQL runs them in step), a call beside GROUP BY or aggregates, or
/// one of `jsonb_each` (a record) in a select list.
pub fn normalize(statement: &mut Statement) -> Result<()> {
    if !calls_anywhere(statement) {
        return Ok(());
    }
    let mut next = 0usize;
    each_query(statement, |query| selects_of(query.body.as_mut(), &mut |select| out_of_select_list(select, &mut next)))
}

fn calls_in(node: &impl Visit) -> bool {
    visit_expressions(node, |e| if is_set_call(e).is_some() { ControlFlow::Break(()) } else { ControlFlow::Continue(()) }).is_break()
}

/// A set-returning call, as `calls_in` finds one in a node, in a clause of `select` where
/// PostgreSQL refuses it (0A000): WHERE, HAVING, a join condition; in GROUP BY, `group_by`'s
/// error. Shared by these functions and the text ones (`translate::arrays`).
pub(crate) fn refuse_in_clauses(select: &Select, calls_in: &dyn Fn(&dyn ClauseNode) -> bool, group_by: impl FnOnce() -> EngineError) -> Result<()> {
    if select.selection.as_ref().is_some_and(|e| calls_in(e)) {
        return Err(misplaced("WHERE"));
    }
    if select.having.as_ref().is_some_and(|e| calls_in(e)) {
        return Err(misplaced("HAVING"));
    }
    if let GroupByExpr::Expressions(exprs, _) = &select.group_by
        && exprs.iter().any(|e| calls_in(e))
    {
        return Err(group_by());
    }
    if select.from.iter().flat_map(|t| &t.joins).any(|join| calls_in(&join.join_operator)) {
        return Err(misplaced("JOIN conditions"));
    }
    Ok(())
}

/// The choice (`CASE`, or `COALESCE` for it and NULLIF, GREATEST, LEAST) a select-list item
/// makes among values one of which is a set-returning call, which PostgreSQL refuses.
pub(crate) fn choice_holding_call(projection: &[SelectItem], calls_in: &dyn Fn(&dyn ClauseNode) -> bool) -> Option<&'static str> {
    projection.iter().find_map(|item| {
        let inside = visit_expressions(item, |e| match e {
            Expr::Case { .. } if calls_in(e) => ControlFlow::Break("CASE"),
            Expr::Function(f) if calls_in(&f.args) && builtin_name(&f.name).is_some_and(|n| ["coalesce", "nullif", "greatest", "least"].contains(&n.as_str())) => {
                ControlFlow::Break("COALESCE")
            }
            _ => ControlFlow::Continue(()),
        });
        match inside {
            ControlFlow::Break(clause) => Some(clause),
            ControlFlow::Continue(()) => None,
        }
    })
}

/// A part of a query a set-returning call can be looked for in, by an expression and whether it
/// lies in a query the part holds (`Visit` itself takes a generic visitor, so it cannot be a
/// trait object).
pub(crate) trait ClauseNode {
    fn finds(&self, found: &mut dyn FnMut(&Expr, bool) -> bool) -> bool;
}

impl<T: Visit> ClauseNode for T {
    fn finds(&self, found: &mut dyn FnMut(&Expr, bool) -> bool) -> bool {
        crate::translate::finds_by_depth(self, found)
    }
}

fn out_of_select_list(select: &mut Select, next: &mut usize) -> Result<()> {
    // Calls in nested queries were moved into their own FROM already (innermost first), so
    // what is found here is this SELECT's.
    let finds_call = |node: &dyn ClauseNode| node.finds(&mut |e, _| is_set_call(e).is_some());
    refuse_in_clauses(select, &finds_call, || misplaced("GROUP BY"))?;
    let mut calls: Vec<Expr> = Vec::new();
    for item in &select.projection {
        let _ = visit_expressions(item, |e| {
            if is_set_call(e).is_some() && !calls.contains(e) {
                calls.push(e.clone());
            }
            ControlFlow::<()>::Continue(())
        });
    }
    let Some(call) = calls.first().cloned() else { return Ok(()) };
    let in_aggregate = select.projection.iter().any(|item| {
        visit_expressions(item, |e| match e {
            Expr::Function(f) if crate::router::calls_aggregate(e, true) && calls_in(&f.args) => ControlFlow::Break(()),
            _ => ControlFlow::Continue(()),
        })
        .is_break()
    });
    if in_aggregate {
        return Err(EngineError::SetReturningNotAllowed { message: "aggregate function calls cannot contain set-returning function calls".into() });
    }
    // PostgreSQL expands a select list's set-returning calls after grouping and window
    // functions, which the move into FROM would not.
    let grouped = !matches!(&select.group_by, GroupByExpr::Expressions(e, _) if e.is_empty())
        || select.projection.iter().any(|item| crate::router::calls_aggregate(item, true));
    if grouped {
        return Err(EngineError::unsupported("a JSON set-returning function in a select list beside GROUP BY, aggregates or window functions (call it in FROM)"));
    }
    // Nor may a call be one branch of a choice.
    if let Some(clause) = choice_holding_call(&select.projection, &finds_call) {
        return Err(misplaced(clause));
    }
    if calls.len() > 1 {
        return Err(EngineError::unsupported("two different set-returning functions in one select list (call them in FROM)"));
    }
    let (Some(function), Expr::Function(f)) = (is_set_call(&call), &call) else { return Ok(()) };
    if function.kind == SetKind::Each {
        return Err(EngineError::unsupported(format!("{} in a select list, which returns a record (call it in FROM: SELECT key, value FROM {}(...))", function.name(), function.name())));
    }
    let FunctionArguments::List(list) = &f.args else { return Ok(()) };
    *next += 1;
    let alias = Ident::with_quote('"', format!("_rhei_set_{next}"));
    let column = Ident::with_quote('"', function.columns()[0].clone());
    let reference = Expr::CompoundIdentifier(vec![alias.clone(), column.clone()]);
    // PostgreSQL names the column after the function.
    crate::translate::select_list_call_as_column(&mut select.projection, &call, &reference, Ident::with_quote('"', function.name()));
    select.from.push(TableWithJoins {
        relation: function_table(
            f.name.clone(),
            list.args.clone(),
            TableAlias { explicit: true, name: alias, columns: vec![TableAliasColumnDef::from_name(column.value)] },
        ),
        joins: Vec::new(),
    });
    Ok(())
}


/// A call in FROM, read: the function, its document argument, the name the query qualifies
/// its columns with, and the names it gives them.
struct SetFactor {
    function: SetFunction,
    /// `WITH ORDINALITY`: a last column numbering the rows from 1.
    ordinality: bool,
    argument: FunctionArg,
    qualifier: String,
    names: Vec<String>,
}

fn read_factor(factor: &TableFactor) -> Result<Option<SetFactor>> {
    let (name, args, alias, ordinality) = match factor {
        TableFactor::Table { name, args: Some(args), alias, with_ordinality, .. } => (name, &args.args, alias, *with_ordinality),
        TableFactor::Function { name, args, alias, .. } => (name, args, alias, false),
        _ => return Ok(None),
    };
    let Some(function) = set_function(name) else { return Ok(None) };
    let [argument @ FunctionArg::Unnamed(FunctionArgExpr::Expr(_))] = args.as_slice() else {
        let types = vec!["unknown"; args.len()].join(", ");
        return Err(EngineError::UndefinedFunction { name: format!("{}({types})", function.name()) });
    };
    let defaults = columns_of(function, ordinality);
    let qualifier = alias.as_ref().map_or_else(|| function.name(), |a| normalize_ident(&a.name));
    let given: Vec<String> = alias.as_ref().map(|a| a.columns.iter().map(|c| normalize_ident(&c.name)).collect()).unwrap_or_default();
    if given.len() > defaults.len() {
        return Err(EngineError::InvalidColumnReference {
            message: format!("table \"{qualifier}\" has {} columns available but {} columns specified", defaults.len(), given.len()),
        });
    }
    let names = defaults
        .iter()
        .enumerate()
        .map(|(i, default)| match given.get(i) {
            Some(name) => name.clone(),
            // A function without OUT parameters names its one column after the alias.
            None if i == 0 && function.kind == SetKind::ObjectKeys && alias.is_some() => qualifier.clone(),
            None => default.clone(),
        })
        .collect();
    Ok(Some(SetFactor { function, ordinality, argument: argument.clone(), qualifier, names }))
}

/// A call's column names, PostgreSQL's defaults (as its SQLite table names them).
fn columns_of(function: SetFunction, ordinality: bool) -> Vec<String> {
    let mut columns = function.columns();
    if ordinality {
        columns.push("ordinality".into());
    }
    columns
}

/// A name a query uses for a column of a call in FROM, and what it becomes.
struct Rename {
    qualifier: String,
    /// Matched unqualified too (a whole-row reference only when no table column has the name).
    name: String,
    column: String,
}

fn apply_renames(node: &mut impl VisitMut, renames: &[Rename]) {
    let quoted = |s: &str| Ident::with_quote('"', s);
    let _ = visit_expressions_mut(node, |expr| {
        let replacement = match expr {
            Expr::Identifier(id) => {
                let name = normalize_ident(id);
                renames.iter().find(|r| r.name == name).map(|r| Expr::CompoundIdentifier(vec![quoted(&r.qualifier), quoted(&r.column)]))
            }
            Expr::CompoundIdentifier(parts) if parts.len() == 2 => {
                let (qualifier, name) = (normalize_ident(&parts[0]), normalize_ident(&parts[1]));
                renames
                    .iter()
                    .find(|r| r.qualifier == qualifier && r.name == name)
                    .map(|r| Expr::CompoundIdentifier(vec![quoted(&r.qualifier), quoted(&r.column)]))
            }
            _ => None,
        };
        if let Some(replacement) = replacement {
            *expr = replacement;
        }
        ControlFlow::<()>::Continue(())
    });
}

/// Whether a table of `select`'s FROM (one of the catalog's) has a column `name`, which an
/// unqualified `name` then means rather than a whole row of a call.
fn table_column(select: &Select, name: &str, catalog: &Catalog) -> bool {
    let factors = select.from.iter().flat_map(|t| std::iter::once(&t.relation).chain(t.joins.iter().map(|j| &j.relation)));
    factors.into_iter().any(|factor| match factor {
        TableFactor::Table { name: table, args: None, .. } => {
            table_name(table).ok().and_then(|t| catalog.get(&t)).is_some_and(|def| def.column_index(name).is_some())
        }
        _ => false,
    })
}

/// Rewrites the calls in FROM of every SELECT of `statement` with `replace`, after renaming
/// whole-row references (and, `rename_columns`, every name the query gives a column) to what
/// the replacement calls them.
fn rewrite_factors(
    statement: &mut Statement,
    catalog: &Catalog,
    rename_columns: bool,
    replace: &dyn Fn(&SetFactor) -> Result<TableFactor>,
) -> Result<()> {
    if !calls_anywhere(statement) {
        return Ok(());
    }
    each_query(statement, |query| {
        let mut renames = Vec::new();
        selects_of(query.body.as_mut(), &mut |select| {
            let mut found = Vec::new();
            for table in &mut select.from {
                for factor in std::iter::once(&mut table.relation).chain(table.joins.iter_mut().map(|j| &mut j.relation)) {
                    if let Some(set) = read_factor(factor)? {
                        *factor = replace(&set)?;
                        found.push(set);
                    }
                }
            }
            let mut here = Vec::new();
            for set in &found {
                let columns = columns_of(set.function, set.ordinality);
                let target = |i: usize| if rename_columns { columns[i].clone() } else { set.names[i].clone() };
                if rename_columns {
                    for (i, name) in set.names.iter().enumerate() {
                        if *name != columns[i] {
                            here.push(Rename { qualifier: set.qualifier.clone(), name: name.clone(), column: target(i) });
                        }
                    }
                }
                if set.names.len() == 1 && !set.names.contains(&set.qualifier) && !table_column(select, &set.qualifier, catalog) {
                    here.push(Rename { qualifier: set.qualifier.clone(), name: set.qualifier.clone(), column: target(0) });
                }
            }
            apply_renames(select, &here);
            renames.extend(here);
            Ok(())
        })?;
        // ORDER BY of the query sees its SELECT's names, but an output column's name first.
        if let SetExpr::Select(select) = query.body.as_ref() {
            let outputs: Vec<String> = select
                .projection
                .iter()
                .filter_map(|item| match item {
                    SelectItem::ExprWithAlias { alias, .. } => Some(normalize_ident(alias)),
                    _ => None,
                })
                .collect();
            renames.retain(|r| !outputs.contains(&r.name));
        }
        if !renames.is_empty()
            && let Some(order_by) = query.order_by.as_mut()
        {
            apply_renames(order_by, &renames);
        }
        Ok(())
    })
}

/// The SQLite form of every call in FROM (see the module doc). Runs before anything looks the
/// statement's tables up in the catalog.
///
/// # Errors
/// A call with other than one argument (42883), more column aliases than columns (42P10).
pub fn for_sqlite(statement: &mut Statement, catalog: &Catalog) -> Result<()> {
    rewrite_factors(statement, catalog, true, &|set| {
        let name = ObjectName(vec![ObjectNamePart::Identifier(Ident::new(crate::oltp::json_sets::table_name(set.function, set.ordinality)))]);
        let alias = TableAlias { explicit: true, name: Ident::with_quote('"', &set.qualifier), columns: Vec::new() };
        Ok(function_table(name, vec![set.argument.clone()], alias))
    })
}

/// The stand-ins DataFusion plans in place of every call in FROM: one row of NULLs of the
/// call's column types under its column names, so a query's result types come out as they
/// would from the call (see the module doc). Never run: routing (`router::route_query`, which
/// `Session::decide_route` consults before any hint or setting) keeps these queries on SQLite.
pub fn for_olap(statement: &mut Statement, catalog: &Catalog) {
    let _ = rewrite_factors(statement, catalog, false, &|set| {
        let columns: Vec<String> = set
            .names
            .iter()
            .enumerate()
            .map(|(i, name)| {
                let is_value = match set.function.kind {
                    SetKind::ArrayElements => i == 0,
                    SetKind::Each => i == 1,
                    SetKind::ObjectKeys => false,
                };
                let ty = match (is_value, set.function.as_text, set.function.jsonb) {
                    _ if set.ordinality && i == set.names.len() - 1 => "bigint",
                    (true, false, true) => "jsonb",
                    (true, false, false) => "json",
                    _ => "text",
                };
                format!("CAST(NULL AS {ty}) AS \"{}\"", name.replace('"', "\"\""))
            })
            .collect();
        let sql = format!("SELECT {}", columns.join(", "));
        let parsed = datafusion::sql::sqlparser::parser::Parser::parse_sql(&datafusion::sql::sqlparser::dialect::PostgreSqlDialect {}, &sql)
            .map_err(|e| EngineError::Internal(e.to_string()))?;
        let Some(Statement::Query(subquery)) = parsed.into_iter().next() else {
            return Err(EngineError::Internal("stand-in is not a query".into()));
        };
        Ok(TableFactor::Derived {
            lateral: false,
            subquery,
            alias: Some(TableAlias { explicit: true, name: Ident::with_quote('"', &set.qualifier), columns: Vec::new() }),
            sample: None,
        })
    });
}
