//! A whole row made JSON: `row_to_json(t)`, `to_json(t)`, `to_jsonb(t)`, `json_agg(t)` and
//! `jsonb_agg(t)` (also with `t.*`), where `t` names a table, derived table or WITH query of
//! the SELECT's FROM. Neither engine has row values, so the row is spelled out by its columns,
//! which the catalog or the subquery names: `row_to_json(t)` becomes
//! `rhei_row_to_json('id', t.id, 'v', t.v)` (PostgreSQL's composite layout, `{"id":1,"v":"x"}`),
//! `to_jsonb(t)` `rhei_row_to_jsonb(...)` of the same (jsonb_build_object's layout),
//! `json_agg(t)` `rhei_json_agg_rows(rhei_row_to_json(...))` (a row a line, as PostgreSQL
//! writes it) and `jsonb_agg(t)` `jsonb_agg(rhei_row_to_jsonb(...))`. The values then become
//! JSON by their types like any builder's (`json_builder_values`, `json_builders_for_olap`).
//! Runs before the rest of either engine's translation.

use std::collections::HashMap;
use std::ops::ControlFlow;

use datafusion::sql::sqlparser::ast::{
    Expr, FunctionArg, FunctionArgExpr, FunctionArguments, Ident, ObjectName, ObjectNamePart, Query, Select, SetExpr,
    Statement, TableFactor, Visit, VisitMut, Visitor, VisitorMut, visit_expressions_mut,
};

use crate::catalog::{Catalog, normalize_ident, table_name};
use crate::translate::{builtin_name, call, string};

const ROW_FUNCTIONS: [&str; 5] = ["row_to_json", "to_json", "to_jsonb", "json_agg", "jsonb_agg"];


/// Whether the statement calls one of these functions at all (most statements do not, and
/// then nothing else is walked).
fn calls_row_functions(statement: &Statement) -> bool {
    datafusion::sql::sqlparser::ast::visit_expressions(statement, |e| match e {
        Expr::Function(f) if builtin_name(&f.name).is_some_and(|n| ROW_FUNCTIONS.contains(&n.as_str())) => ControlFlow::Break(()),
        _ => ControlFlow::Continue(()),
    })
    .is_break()
}

/// The column names of every WITH query of the statement, by name.
fn with_queries(statement: &Statement) -> HashMap<String, Vec<String>> {
    struct Ctes(HashMap<String, Vec<String>>);
    impl Visitor for Ctes {
        type Break = ();
        fn pre_visit_query(&mut self, query: &Query) -> ControlFlow<()> {
            for cte in query.with.iter().flat_map(|w| &w.cte_tables) {
                let names = if cte.alias.columns.is_empty() {
                    crate::naming::output_names(&cte.query)
                } else {
                    Some(cte.alias.columns.iter().map(|c| normalize_ident(&c.name)).collect())
                };
                if let Some(names) = names {
                    self.0.insert(normalize_ident(&cte.alias.name), names);
                }
            }
            ControlFlow::Continue(())
        }
    }
    let mut ctes = Ctes(HashMap::new());
    let _ = statement.visit(&mut ctes);
    ctes.0
}

/// A FROM item whose columns are known.
struct FromItem {
    /// What the query calls it (its alias, or its name).
    qualifier: String,
    columns: Vec<String>,
    /// The primary key's columns of a catalog table (none for other items).
    key: Vec<String>,
}

/// The FROM items of `select` whose columns are known.
fn from_items(select: &Select, catalog: &Catalog, ctes: &HashMap<String, Vec<String>>) -> Vec<FromItem> {
    let factors = select.from.iter().flat_map(|t| std::iter::once(&t.relation).chain(t.joins.iter().map(|j| &j.relation)));
    let mut items = Vec::new();
    for factor in factors {
        let (qualifier, mut columns, key_positions, alias) = match factor {
            TableFactor::Table { name, args: None, alias, .. } => {
                let Ok(name) = table_name(name) else { continue };
                let (columns, key) = match (ctes.get(&name), catalog.get(&name)) {
                    (Some(columns), _) => (columns.clone(), Vec::new()),
                    (None, Some(def)) => (def.columns.iter().map(|c| c.name.clone()).collect(), def.primary_key.clone()),
                    (None, None) => continue,
                };
                (alias.as_ref().map_or(name, |a| normalize_ident(&a.name)), columns, key, alias)
            }
            TableFactor::Derived { subquery, alias: Some(alias), .. } => {
                let columns = if alias.columns.is_empty() { crate::naming::output_names(subquery) } else { Some(Vec::new()) };
                let Some(columns) = columns else { continue };
                (normalize_ident(&alias.name), columns, Vec::new(), &None)
            }
            _ => continue,
        };
        // `AS x(a, b)` renames the first columns.
        let renamed = match (factor, alias) {
            (TableFactor::Derived { alias: Some(a), .. }, _) | (_, Some(a)) => a.columns.iter().map(|c| normalize_ident(&c.name)).collect::<Vec<_>>(),
            _ => Vec::new(),
        };
        for (i, name) in renamed.into_iter().enumerate() {
            match columns.get_mut(i) {
                Some(column) => *column = name,
                None => columns.push(name),
            }
        }
        let key = key_positions.iter().filter_map(|&i| columns.get(i).cloned()).collect();
        items.push(FromItem { qualifier, columns, key });
    }
    items
}

/// `'c1', q.c1, 'c2', q.c2, ...`: the arguments of an object builder over a row.
fn members(qualifier: &str, columns: &[String]) -> Vec<Expr> {
    columns
        .iter()
        .flat_map(|c| [string(c), Expr::CompoundIdentifier(vec![Ident::with_quote('"', qualifier), Ident::with_quote('"', c)])])
        .collect()
}

/// Spells out the whole-row arguments of the row functions (see the module doc).
pub fn expand(statement: &mut Statement, catalog: &Catalog) {
    if !calls_row_functions(statement) {
        return;
    }
    let ctes = with_queries(statement);
    struct Expand<'a> {
        catalog: &'a Catalog,
        ctes: &'a HashMap<String, Vec<String>>,
    }
    impl VisitorMut for Expand<'_> {
        type Break = ();
        // Innermost first: a subquery's rows are its own FROM's.
        fn post_visit_query(&mut self, query: &mut Query) -> ControlFlow<()> {
            expand_body(query.body.as_mut(), self.catalog, self.ctes);
            ControlFlow::Continue(())
        }
    }
    let _ = statement.visit(&mut Expand { catalog, ctes: &ctes });
}

fn expand_body(body: &mut SetExpr, catalog: &Catalog, ctes: &HashMap<String, Vec<String>>) {
    match body {
        SetExpr::Select(select) => expand_select(select, catalog, ctes),
        SetExpr::SetOperation { left, right, .. } => {
            expand_body(left, catalog, ctes);
            expand_body(right, catalog, ctes);
        }
        _ => {}
    }
}

fn expand_select(select: &mut Select, catalog: &Catalog, ctes: &HashMap<String, Vec<String>>) {
    let items = from_items(select, catalog, ctes);
    if items.is_empty() {
        return;
    }
    // A column of the same name (of any FROM item) is what an unqualified name means in
    // PostgreSQL.
    let shadowed = |name: &str| items.iter().any(|item| item.columns.iter().any(|c| c == name));
    let outer_joined = select.from.iter().flat_map(|t| &t.joins).any(|j| {
        use datafusion::sql::sqlparser::ast::JoinOperator as J;
        matches!(j.join_operator, J::Left(_) | J::LeftOuter(_) | J::Right(_) | J::RightOuter(_) | J::FullOuter(_))
    });
    let row_of = |arg: &FunctionArg| -> Option<&FromItem> {
        let qualifier = match arg {
            FunctionArg::Unnamed(FunctionArgExpr::Expr(Expr::Identifier(id))) => {
                let name = normalize_ident(id);
                if shadowed(&name) {
                    return None;
                }
                name
            }
            FunctionArg::Unnamed(FunctionArgExpr::QualifiedWildcard(name)) => table_name(name).ok()?,
            _ => return None,
        };
        items.iter().find(|item| item.qualifier == qualifier)
    };
    let rewrite = |expr: &mut Expr| {
        let Expr::Function(f) = expr else { return };
        let Some(name) = builtin_name(&f.name) else { return };
        if !ROW_FUNCTIONS.contains(&name.as_str()) {
            return;
        }
        let FunctionArguments::List(list) = &mut f.args else { return };
        let [arg] = list.args.as_mut_slice() else { return };
        let Some(FromItem { qualifier, columns, key }) = row_of(arg) else { return };
        let row = members(qualifier, columns);
        let (object, renamed) = match name.as_str() {
            "row_to_json" | "to_json" => (call("rhei_row_to_json", row), None),
            "to_jsonb" => (call("rhei_row_to_jsonb", row), None),
            "json_agg" => (call("rhei_row_to_json", row), Some("rhei_json_agg_rows")),
            _ => (call("rhei_row_to_jsonb", row), Some("jsonb_agg")),
        };
        // The row an outer join supplies for no match is NULL itself, not an object of NULLs
        // (`json_agg(e)` over a department without employees is `[null]`): told by a primary
        // key column being NULL, or, without one, every column. The test goes to the builder
        // as a last member with the empty key (no column has that name), which makes the row
        // NULL when true (see `json::row_object_or_null`).
        let object = match (outer_joined, object) {
            (true, Expr::Function(mut builder)) => {
                let tested = if key.is_empty() { columns } else { key };
                let column = |c: &String| Expr::CompoundIdentifier(vec![Ident::with_quote('"', qualifier), Ident::with_quote('"', c)]);
                let missing = tested
                    .iter()
                    .map(|c| Expr::IsNull(Box::new(column(c))))
                    .reduce(|a, b| Expr::BinaryOp { left: Box::new(a), op: datafusion::sql::sqlparser::ast::BinaryOperator::And, right: Box::new(b) });
                if let (Some(missing), FunctionArguments::List(list)) = (missing, &mut builder.args) {
                    list.args.push(FunctionArg::Unnamed(FunctionArgExpr::Expr(string(""))));
                    list.args.push(FunctionArg::Unnamed(FunctionArgExpr::Expr(missing)));
                }
                Expr::Function(builder)
            }
            (_, object) => object,
        };
        match renamed {
            // An aggregate keeps its ORDER BY, DISTINCT and FILTER.
            Some(aggregate) => {
                *arg = FunctionArg::Unnamed(FunctionArgExpr::Expr(object));
                f.name = ObjectName(vec![ObjectNamePart::Identifier(Ident::new(aggregate))]);
            }
            None => *expr = object,
        }
    };
    for item in &mut select.projection {
        let _ = visit_expressions_mut(item, |e| {
            rewrite(e);
            ControlFlow::<()>::Continue(())
        });
    }
    if let Some(having) = select.having.as_mut() {
        let _ = visit_expressions_mut(having, |e| {
            rewrite(e);
            ControlFlow::<()>::Continue(())
        });
    }
}
