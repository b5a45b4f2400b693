//! Views (`CREATE VIEW v AS SELECT ...`): a view is its query, put in wherever a statement
//! names it, as the derived table `(query) AS v` (with the view's column names), before the
//! statement is routed or translated. Either engine then answers it as it answers any
//! subquery, so a view reads exactly what its query would, on SQLite and on DataFusion, and a
//! temporal table inside it follows `rhei.as_of` as it does anywhere. A CTE of the same name
//! hides a view, as it hides a table.
//!
//! Views are read-only here: PostgreSQL writes through a simple view into its table; rhei
//! refuses writes to a view (0A000).

use std::ops::ControlFlow;
use std::sync::Arc;

use datafusion::sql::sqlparser::ast::{
    Ident, ObjectName, Query, SetExpr, Statement, TableAlias, TableFactor, Visit, VisitMut, Visitor, VisitorMut,
};
use datafusion::sql::sqlparser::dialect::PostgreSqlDialect;
use datafusion::sql::sqlparser::parser::Parser;

use crate::catalog::{Catalog, ViewDef, normalize_ident, table_name};
use crate::error::{EngineError, Result};

/// How many view references one statement may expand (views of views included): past it, a
/// view reads itself through others (made so by CREATE OR REPLACE of one it reads).
const MAX_EXPANSIONS: usize = 1000;

/// The query of a view, parsed.
///
/// # Errors
/// A stored text that no longer parses (a damaged catalog).
pub fn parsed_query(view: &ViewDef) -> Result<Query> {
    let mut statements = Parser::parse_sql(&PostgreSqlDialect {}, &view.query)
        .map_err(|e| EngineError::Internal(format!("view \"{}\" has a query that does not parse: {e}", view.name)))?;
    match statements.pop() {
        Some(Statement::Query(query)) if statements.is_empty() => Ok(*query),
        _ => Err(EngineError::Internal(format!("view \"{}\" has a query that is not one SELECT", view.name))),
    }
}

/// The relations `query` reads by name (tables and views, normalized), CTEs of its own aside.
pub fn reads(query: &Query) -> Vec<String> {
    struct Reads {
        ctes: Vec<Vec<String>>,
        names: Vec<String>,
    }
    impl Visitor for Reads {
        type Break = ();
        fn pre_visit_query(&mut self, query: &Query) -> ControlFlow<()> {
            self.ctes.push(cte_names(query));
            ControlFlow::Continue(())
        }
        fn post_visit_query(&mut self, _query: &Query) -> ControlFlow<()> {
            self.ctes.pop();
            ControlFlow::Continue(())
        }
        fn pre_visit_table_factor(&mut self, factor: &TableFactor) -> ControlFlow<()> {
            if let TableFactor::Table { name, args: None, .. } = factor
                && let Ok(name) = table_name(name)
                && !self.ctes.iter().flatten().any(|cte| *cte == name)
                && !self.names.contains(&name)
            {
                self.names.push(name);
            }
            ControlFlow::Continue(())
        }
    }
    let mut reads = Reads { ctes: Vec::new(), names: Vec::new() };
    let _ = query.visit(&mut reads);
    reads.names
}

fn cte_names(query: &Query) -> Vec<String> {
    query.with.iter().flat_map(|with| with.cte_tables.iter().map(|cte| normalize_ident(&cte.alias.name))).collect()
}

/// The views that read `name` (a table or a view), directly or through other views, each
/// once, nearest first: what DROP ... CASCADE takes with it.
pub fn dependents(catalog: &Catalog, name: &str) -> Vec<String> {
    let mut found: Vec<String> = Vec::new();
    let mut frontier = vec![name.to_string()];
    while let Some(next) = frontier.pop() {
        for view in catalog.views().filter(|v| v.reads.contains(&next)) {
            if !found.contains(&view.name) && view.name != name {
                found.push(view.name.clone());
                frontier.push(view.name.clone());
            }
        }
    }
    found
}

/// `statement` with every view it names replaced by its query; returns the views put in, one
/// entry per reference (none when it names none).
///
/// # Errors
/// A view whose query reads itself through other views (42P17), or a damaged definition.
pub fn expand(statement: &mut Statement, catalog: &Catalog) -> Result<Vec<Arc<ViewDef>>> {
    if !catalog.has_views() {
        return Ok(Vec::new());
    }
    let mut expander = Expander { catalog, ctes: Vec::new(), expanded: Vec::new(), failure: None };
    let _ = statement.visit(&mut expander);
    match expander.failure {
        Some(failure) => Err(failure),
        None => Ok(expander.expanded),
    }
}

/// [`expand`] of a query: the query with its views put in and the views, `None` when it names
/// none (told without copying it, as every query is asked once views exist).
///
/// # Errors
/// As [`expand`].
pub fn expand_query(query: &Query, catalog: &Catalog) -> Result<Option<(Query, Vec<Arc<ViewDef>>)>> {
    let names_a_view = catalog.has_views()
        && datafusion::sql::sqlparser::ast::visit_relations(query, |name| match table_name(name) {
            Ok(name) if catalog.view(&name).is_some() => ControlFlow::Break(()),
            _ => ControlFlow::Continue(()),
        })
        .is_break();
    if !names_a_view {
        return Ok(None);
    }
    let mut statement = Statement::Query(Box::new(query.clone()));
    let views = expand(&mut statement, catalog)?;
    match statement {
        Statement::Query(query) if !views.is_empty() => Ok(Some((*query, views))),
        _ => Ok(None),
    }
}

/// A write whose target is a view, refused: rhei's views are read-only.
///
/// # Errors
/// [`EngineError::Unsupported`] (0A000) when the INSERT, UPDATE or DELETE writes to a view.
pub fn refuse_write(catalog: &Catalog, statement: &Statement) -> Result<()> {
    use datafusion::sql::sqlparser::ast::{FromTable, TableObject};
    let (verb, targets): (&str, Vec<&ObjectName>) = match statement {
        Statement::Insert(insert) => match &insert.table {
            TableObject::TableName(name) => ("INSERT", vec![name]),
            _ => return Ok(()),
        },
        Statement::Update(update) => ("UPDATE", table_names(std::slice::from_ref(&update.table))),
        Statement::Delete(delete) => match &delete.from {
            FromTable::WithFromKeyword(from) | FromTable::WithoutKeyword(from) => ("DELETE", table_names(from)),
        },
        _ => return Ok(()),
    };
    for target in targets {
        if let Ok(name) = table_name(target)
            && catalog.view(&name).is_some()
            && catalog.get(&name).is_none()
        {
            return Err(EngineError::unsupported(format!("{verb} on view \"{name}\" (rhei's views are read-only: write to its tables)")));
        }
    }
    Ok(())
}

/// [`refuse_write`] of every write inside `query` (a data-modifying WITH).
///
/// # Errors
/// As [`refuse_write`].
pub fn refuse_writes_within(catalog: &Catalog, query: &Query) -> Result<()> {
    struct Writes<'c> {
        catalog: &'c Catalog,
        failure: Option<EngineError>,
    }
    impl Visitor for Writes<'_> {
        type Break = ();
        fn pre_visit_statement(&mut self, statement: &Statement) -> ControlFlow<()> {
            match refuse_write(self.catalog, statement) {
                Ok(()) => ControlFlow::Continue(()),
                Err(e) => {
                    self.failure = Some(e);
                    ControlFlow::Break(())
                }
            }
        }
    }
    let mut writes = Writes { catalog, failure: None };
    let _ = query.visit(&mut writes);
    writes.failure.map_or(Ok(()), Err)
}

fn table_names(from: &[datafusion::sql::sqlparser::ast::TableWithJoins]) -> Vec<&ObjectName> {
    from.iter()
        .filter_map(|t| match &t.relation {
            TableFactor::Table { name, .. } => Some(name),
            _ => None,
        })
        .collect()
}

/// Whether `query` reads a table `FOR SYSTEM_TIME` (which a view's stored text could not
/// keep).
pub fn has_system_time(query: &Query) -> bool {
    struct Versioned;
    impl Visitor for Versioned {
        type Break = ();
        fn pre_visit_table_factor(&mut self, factor: &TableFactor) -> ControlFlow<()> {
            match factor {
                TableFactor::Table { version: Some(_), .. } => ControlFlow::Break(()),
                _ => ControlFlow::Continue(()),
            }
        }
    }
    query.visit(&mut Versioned).is_break()
}

struct Expander<'c> {
    catalog: &'c Catalog,
    /// The CTE names in scope, per enclosing query.
    ctes: Vec<Vec<String>>,
    /// The views put in so far.
    expanded: Vec<Arc<ViewDef>>,
    failure: Option<EngineError>,
}

impl VisitorMut for Expander<'_> {
    type Break = ();

    fn pre_visit_query(&mut self, query: &mut Query) -> ControlFlow<()> {
        self.ctes.push(cte_names(query));
        ControlFlow::Continue(())
    }

    fn post_visit_query(&mut self, _query: &mut Query) -> ControlFlow<()> {
        self.ctes.pop();
        ControlFlow::Continue(())
    }

    // The replacement is visited in turn (its fields after this), so views of views expand.
    fn pre_visit_table_factor(&mut self, factor: &mut TableFactor) -> ControlFlow<()> {
        let TableFactor::Table { name, alias, args: None, version, .. } = factor else { return ControlFlow::Continue(()) };
        let Ok(normalized) = table_name(name) else { return ControlFlow::Continue(()) };
        if self.ctes.iter().flatten().any(|cte| *cte == normalized) || self.catalog.get(&normalized).is_some() {
            return ControlFlow::Continue(());
        }
        let Some(view) = self.catalog.view(&normalized) else { return ControlFlow::Continue(()) };
        if version.is_some() {
            self.failure = Some(EngineError::unsupported(format!("FOR SYSTEM_TIME on view \"{normalized}\" (use SET rhei.as_of)")));
            return ControlFlow::Break(());
        }
        // The view's query would read an enclosing WITH query instead of its table (PostgreSQL
        // binds a view's names when it is made).
        if let Some(captured) = view.reads.iter().find(|r| self.ctes.iter().flatten().any(|cte| cte == *r)) {
            self.failure = Some(EngineError::unsupported(format!(
                "a WITH query named \"{captured}\" beside view \"{normalized}\", which reads the relation of that name (rename the WITH query)"
            )));
            return ControlFlow::Break(());
        }
        self.expanded.push(view.clone());
        if self.expanded.len() > MAX_EXPANSIONS {
            self.failure = Some(EngineError::InfiniteRecursion { relation: normalized });
            return ControlFlow::Break(());
        }
        let query = match parsed_query(view) {
            Ok(query) => query,
            Err(e) => {
                self.failure = Some(e);
                return ControlFlow::Break(());
            }
        };
        // The view's column names go on the derived table, and names the reference gives in
        // front of them; not for a query with `*`, whose columns follow its tables (a column
        // added later would not match the list: PostgreSQL keeps a view's columns as they
        // were, rhei shows the new one too).
        let given = alias.take();
        let mut columns: Vec<datafusion::sql::sqlparser::ast::TableAliasColumnDef> = given.as_ref().map(|a| a.columns.clone()).unwrap_or_default();
        if !has_wildcard(&query) {
            let named = view.columns.iter().skip(columns.len());
            columns.extend(named.map(|c| datafusion::sql::sqlparser::ast::TableAliasColumnDef { name: Ident::with_quote('"', c.name.clone()), data_type: None }));
        }
        let alias = TableAlias { explicit: true, name: given.map_or_else(|| Ident::with_quote('"', normalized.clone()), |a| a.name), columns };
        *factor = TableFactor::Derived { lateral: false, subquery: Box::new(query), alias: Some(alias), sample: None };
        ControlFlow::Continue(())
    }
}

/// Whether a select list of `query` (its leftmost SELECT's) has a wildcard.
fn has_wildcard(query: &Query) -> bool {
    let mut body = query.body.as_ref();
    loop {
        match body {
            SetExpr::SetOperation { left, .. } => body = left,
            SetExpr::Query(inner) => body = &inner.body,
            SetExpr::Select(select) => {
                return select.projection.iter().any(|i| matches!(i, datafusion::sql::sqlparser::ast::SelectItem::Wildcard(_) | datafusion::sql::sqlparser::ast::SelectItem::QualifiedWildcard(..)));
            }
            _ => return false,
        }
    }
}

/// The output column names of a view's query (PostgreSQL's, as a client sees them), with
/// `given` (an explicit column list) in front.
///
/// # Errors
/// More names given than the query has columns (42601), a name twice (42701), or a select
/// list PostgreSQL's naming cannot follow (`*` of an unknown relation).
pub fn column_names(query: &Query, given: &[String], planned: Option<Vec<String>>) -> Result<Vec<String>> {
    let mut names = match crate::naming::output_names(query).or(planned) {
        Some(names) => names,
        None => return Err(EngineError::unsupported("a view whose columns cannot be named (name each select item with AS)")),
    };
    if given.len() > names.len() {
        return Err(EngineError::syntax("CREATE VIEW specifies more column names than columns"));
    }
    for (name, given) in names.iter_mut().zip(given) {
        name.clone_from(given);
    }
    for (i, name) in names.iter().enumerate() {
        if names[..i].contains(name) {
            return Err(EngineError::ColumnSpecifiedTwice { column: name.clone() });
        }
    }
    Ok(names)
}

/// Whether `query` is a plain query a view can hold (no writes inside: a data-modifying WITH).
pub fn is_plain_query(query: &Query) -> bool {
    !crate::translate::writing_with::writes(query) && !matches!(query.body.as_ref(), SetExpr::Insert(_) | SetExpr::Update(_) | SetExpr::Delete(_))
}
