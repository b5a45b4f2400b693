//! Routing of read queries: rules first (DESIGN.md, Routing). Primary-key and unique-key lookups
//! and small limited reads go to SQLite; aggregates (wherever they appear, COALESCE(sum(x), 0)
//! included), GROUP BY, DISTINCT, window functions, joins, set operations and full scans go to
//! the OLAP engine. Every decision carries its reason, which `EXPLAIN ROUTE` shows.

use std::collections::HashSet;
use std::fmt;
use std::ops::ControlFlow;

use datafusion::sql::sqlparser::ast::{
    BinaryOperator, Distinct, Expr, Function, GroupByExpr, Query, SetExpr, Statement, Value, ValueWithSpan, Visit, Visitor,
    visit_expressions, visit_relations,
};

use crate::catalog::{Catalog, TableDef, normalize_ident, table_name};

/// Which engine runs a statement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Route {
    Oltp,
    Olap,
}

impl fmt::Display for Route {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Oltp => "oltp",
            Self::Olap => "olap",
        })
    }
}

/// A routing decision and why it was made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteDecision {
    pub route: Route,
    pub reason: String,
    /// The query reads at most one row through a primary, unique or upstream key: it finishes
    /// in a B-tree descent whatever the table's size.
    pub key_lookup: bool,
}

impl RouteDecision {
    pub fn new(route: Route, reason: impl Into<String>) -> Self {
        Self { route, reason: reason.into(), key_lookup: false }
    }

    fn key_lookup(reason: &str) -> Self {
        Self { key_lookup: true, ..Self::new(Route::Oltp, reason) }
    }
}

/// Why a query SQLite would answer for its shape goes to DataFusion: it has array values.
pub const ARRAY_VALUE_REASON: &str = "array value (SQLite has no arrays)";

/// A LIMIT at or below this is a small read SQLite answers by stopping early.
pub const SMALL_LIMIT: u64 = 1000;

/// Aggregate functions, by name.
const AGGREGATES: &[&str] = &[
    "count", "sum", "avg", "min", "max", "stddev", "stddev_samp", "stddev_pop", "variance", "var_samp", "var_pop",
    "string_agg", "array_agg", "bool_and", "bool_or", "every", "median", "percentile_cont", "percentile_disc",
    "approx_distinct", "corr", "covar_pop", "covar_samp", "regr_slope", "first_value", "last_value", "json_agg",
    "jsonb_agg", "rhei_json_agg_rows", "group_concat",
];

#[derive(Default)]
struct Features {
    aggregate: bool,
    window: bool,
    grouped: bool,
    distinct: bool,
    set_operation: bool,
    subquery: bool,
    /// `IN (subquery)` or `EXISTS` in a select list, which DataFusion plans only as filters.
    membership_in_select_list: bool,
    /// A scalar subquery that is not an aggregate: DataFusion refuses a correlated one and
    /// does not check an uncorrelated one for a second row (21000).
    plain_scalar_subquery: bool,
}

/// Whether a scalar subquery's value is an aggregate (so it has one row, on either engine).
fn is_aggregated(query: &Query) -> bool {
    matches!(query.body.as_ref(), SetExpr::Select(select) if calls_aggregate(&select.projection, false))
}

/// Whether `f` is a call of an aggregate function (not over a window).
pub(crate) fn is_aggregate(f: &Function) -> bool {
    f.over.is_none() && AGGREGATES.contains(&f.name.to_string().to_ascii_lowercase().as_str())
}

/// Whether `node` calls an aggregate function, or with `windows` also a window function.
pub(crate) fn calls_aggregate<V: Visit>(node: &V, windows: bool) -> bool {
    visit_expressions(node, |e| match e {
        Expr::Function(f) if (windows && f.over.is_some()) || is_aggregate(f) => ControlFlow::Break(()),
        _ => ControlFlow::Continue(()),
    })
    .is_break()
}

impl Visitor for Features {
    type Break = ();

    fn pre_visit_expr(&mut self, expr: &Expr) -> ControlFlow<()> {
        match expr {
            Expr::Function(f) => {
                if f.over.is_some() {
                    self.window = true;
                }
                if is_aggregate(f) {
                    self.aggregate = true;
                }
            }
            Expr::Subquery(query) => {
                self.subquery = true;
                if !is_aggregated(query) {
                    self.plain_scalar_subquery = true;
                }
            }
            Expr::InSubquery { .. } | Expr::Exists { .. } => self.subquery = true,
            _ => {}
        }
        ControlFlow::Continue(())
    }

    fn pre_visit_query(&mut self, query: &Query) -> ControlFlow<()> {
        self.visit_set_expr(&query.body);
        ControlFlow::Continue(())
    }
}

impl Features {
    fn visit_set_expr(&mut self, body: &SetExpr) {
        match body {
            SetExpr::Select(select) => {
                let _ = visit_expressions(&select.projection, |e| {
                    if matches!(e, Expr::InSubquery { .. } | Expr::Exists { .. }) {
                        self.membership_in_select_list = true;
                    }
                    ControlFlow::<()>::Continue(())
                });
                if matches!(&select.group_by, GroupByExpr::All(_))
                    || matches!(&select.group_by, GroupByExpr::Expressions(e, _) if !e.is_empty())
                    || select.having.is_some()
                {
                    self.grouped = true;
                }
                if matches!(select.distinct, Some(Distinct::Distinct | Distinct::On(_))) {
                    self.distinct = true;
                }
            }
            SetExpr::SetOperation { .. } => self.set_operation = true,
            SetExpr::Query(q) => self.visit_set_expr(&q.body),
            _ => {}
        }
    }
}

/// Decides where a read query runs.
pub fn route_query(query: &Query, catalog: &Catalog) -> RouteDecision {
    // A locking read (a job queue's `FOR UPDATE SKIP LOCKED`) belongs with the writes.
    if !query.locks.is_empty() {
        return RouteDecision::new(Route::Oltp, "locking read");
    }
    if crate::translate::json_sets::called(query) {
        return RouteDecision::new(Route::Oltp, "JSON set-returning functions run on SQLite (DataFusion cannot call a function of another FROM item's columns)");
    }
    let stmt = Statement::Query(Box::new(query.clone()));
    if let Some(reason) = crate::translate::intervals::olap_lacks(&stmt, catalog) {
        return RouteDecision::new(Route::Oltp, reason);
    }
    if crate::translate::arrays::unnest_only_sqlite_runs(query, catalog) {
        return RouteDecision::new(Route::Oltp, "an unnest of another FROM item's column in a form DataFusion cannot plan (SQLite runs it)");
    }
    if crate::translate::compares_with_array_value(&stmt) {
        return RouteDecision::new(Route::Oltp, "an array value compared with = ANY or <> ALL (rhei reads arrays on SQLite)");
    }
    let mut tables = Vec::new();
    let mut names = HashSet::new();
    let _ = visit_relations(&stmt, |name| {
        if let Ok(t) = table_name(name) {
            names.insert(t.clone());
            tables.push(t);
        }
        ControlFlow::<()>::Continue(())
    });
    let ctes: HashSet<String> = query
        .with
        .as_ref()
        .map(|w| w.cte_tables.iter().map(|c| normalize_ident(&c.alias.name)).collect())
        .unwrap_or_default();
    let mut features = Features::default();
    let _ = stmt.visit(&mut features);
    if features.membership_in_select_list {
        return RouteDecision::new(Route::Oltp, "IN or EXISTS subquery in a select list (DataFusion runs them only as filters)");
    }
    if features.plain_scalar_subquery {
        return RouteDecision::new(Route::Oltp, "scalar subquery that is not an aggregate (DataFusion runs correlated ones only aggregated)");
    }
    if features.window {
        return RouteDecision::new(Route::Olap, "window function");
    }
    if features.aggregate {
        return RouteDecision::new(Route::Olap, "aggregate");
    }
    if features.grouped {
        return RouteDecision::new(Route::Olap, "GROUP BY/HAVING");
    }
    if features.distinct {
        return RouteDecision::new(Route::Olap, "DISTINCT");
    }
    if features.set_operation {
        return RouteDecision::new(Route::Olap, "set operation");
    }
    if crate::translate::type_of::types_computed_values(&stmt, catalog) {
        return RouteDecision::new(Route::Olap, "pg_typeof of a computed value (SQLite keeps no types of values)");
    }
    if crate::translate::has_datetime_series(&stmt) {
        return RouteDecision::new(Route::Olap, "generate_series over dates or timestamps (SQLite's counts integers only)");
    }
    // What would go to SQLite for its shape alone goes to DataFusion when it has array values
    // (looked for only then: a scan or join goes there anyway).
    let sqlite_unless_arrays =
        |decision: RouteDecision| if crate::translate::has_array_value(&stmt) { RouteDecision::new(Route::Olap, ARRAY_VALUE_REASON) } else { decision };
    if tables.is_empty() {
        return sqlite_unless_arrays(RouteDecision::new(Route::Oltp, "no tables"));
    }
    if !ctes.is_empty() || tables.len() > 1 || features.subquery {
        return RouteDecision::new(Route::Olap, "join or subquery");
    }
    let Some(def) = catalog.get(&tables[0]) else {
        return sqlite_unless_arrays(RouteDecision::new(Route::Oltp, "unknown table"));
    };
    if let SetExpr::Select(select) = query.body.as_ref()
        && let Some(selection) = &select.selection
    {
        let pinned = pinned_columns(selection, def);
        if !def.primary_key.is_empty() && def.primary_key.iter().all(|c| pinned.contains(c)) {
            return sqlite_unless_arrays(RouteDecision::key_lookup("primary-key lookup"));
        }
        if def.unique.iter().any(|u| u.iter().all(|c| pinned.contains(c))) {
            return sqlite_unless_arrays(RouteDecision::key_lookup("unique-key lookup"));
        }
        // A replica table keeps the upstream's key as an index, not a primary key (a temporal
        // one holds many versions per key).
        if let Some(replica) = &def.replica
            && replica.key_unique
            && !replica.key.is_empty()
            && replica.key.iter().all(|c| pinned.contains(c))
        {
            return sqlite_unless_arrays(RouteDecision::key_lookup("upstream-key lookup"));
        }
    }
    if let Some(limit) = limit_of(query)
        && limit <= SMALL_LIMIT
    {
        return sqlite_unless_arrays(RouteDecision::new(Route::Oltp, format!("small read (LIMIT {limit})")));
    }
    RouteDecision::new(Route::Olap, "table scan")
}

/// Columns of `def` that `selection` fixes to one value with `=` in its top-level AND chain.
fn pinned_columns(selection: &Expr, def: &TableDef) -> HashSet<usize> {
    let mut out = HashSet::new();
    let mut stack = vec![selection];
    while let Some(expr) = stack.pop() {
        match expr {
            Expr::BinaryOp { left, op: BinaryOperator::And, right } => {
                stack.push(left);
                stack.push(right);
            }
            Expr::Nested(inner) => stack.push(inner),
            Expr::BinaryOp { left, op: BinaryOperator::Eq, right } => {
                for (col, value) in [(left, right), (right, left)] {
                    if is_constant(value)
                        && let Some(i) = column_of(col, def)
                    {
                        out.insert(i);
                    }
                }
            }
            _ => {}
        }
    }
    out
}

fn is_constant(expr: &Expr) -> bool {
    match expr {
        Expr::Value(_) | Expr::TypedString(_) => true,
        Expr::Cast { expr, .. } | Expr::Nested(expr) | Expr::UnaryOp { expr, .. } => is_constant(expr),
        _ => false,
    }
}

fn column_of(expr: &Expr, def: &TableDef) -> Option<usize> {
    match expr {
        Expr::Identifier(ident) => def.column_index(&normalize_ident(ident)),
        Expr::CompoundIdentifier(parts) => parts.last().and_then(|i| def.column_index(&normalize_ident(i))),
        Expr::Cast { expr, .. } | Expr::Nested(expr) => column_of(expr, def),
        _ => None,
    }
}

fn limit_of(query: &Query) -> Option<u64> {
    use datafusion::sql::sqlparser::ast::LimitClause;
    match &query.limit_clause {
        Some(LimitClause::LimitOffset { limit: Some(Expr::Value(ValueWithSpan { value: Value::Number(n, _), .. })), .. }) => {
            n.parse().ok()
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::{ColumnDef, PgType, TableId};
    use datafusion::sql::sqlparser::{dialect::PostgreSqlDialect, parser::Parser};

    fn catalog() -> Catalog {
        let col = |name: &str| ColumnDef { name: name.into(), ty: PgType::Int8, not_null: false, is_serial: false, default_sql: None };
        Catalog::from_tables([
            TableDef { id: TableId(1), name: "t".into(), columns: vec![col("id"), col("u"), col("v")], primary_key: vec![0], unique: vec![vec![1]], replica: None, ..Default::default() },
            TableDef { id: TableId(2), name: "s".into(), columns: vec![col("id")], primary_key: vec![0], unique: vec![], replica: None, ..Default::default() },
        ])
    }

    fn route(sql: &str) -> (Route, String) {
        let Statement::Query(q) = Parser::parse_sql(&PostgreSqlDialect {}, sql).unwrap().remove(0) else { panic!() };
        let d = route_query(&q, &catalog());
        (d.route, d.reason)
    }

    /// SQLite has no arrays: an array value other than one compared with = ANY goes to the
    /// OLAP engine, even in a key lookup or without tables.
    #[test]
    fn array_values_go_to_olap() {
        let olap = (Route::Olap, "array value (SQLite has no arrays)".to_string());
        assert_eq!(route("SELECT ARRAY[1, 2]"), olap);
        assert_eq!(route("SELECT '{1,2}'::int[]"), olap);
        assert_eq!(route("SELECT cardinality(ARRAY[1])"), olap);
        assert_eq!(route("SELECT x FROM unnest(ARRAY[1, 2]) AS x"), olap);
        assert_eq!(route("SELECT id, string_to_array(v::text, ',') FROM t WHERE id = 5"), olap);
        assert_eq!(route("SELECT regexp_split_to_array(v::text, '\\s+') FROM t WHERE id = 5"), olap);
        assert_eq!(route("SELECT * FROM t WHERE id = ANY('{1,2}')").0, Route::Oltp);
        // jsonb paths and key lists are text to both engines; a select-list subquery only
        // SQLite runs keeps the query there.
        assert_eq!(route("SELECT v #>> ARRAY['a', 'b'], v ?| ARRAY['x'] FROM t WHERE id = 5"), (Route::Oltp, "primary-key lookup".into()));
        assert_eq!(route("SELECT ARRAY[id], (SELECT u FROM s WHERE s.id = t.id) FROM t").0, Route::Oltp);
    }

    /// An unnest of a column DataFusion cannot plan (joined, numbered) stays on SQLite; the
    /// plain form it runs as a projection goes to it as any array value.
    #[test]
    fn unnests_datafusion_cannot_plan_stay_on_sqlite() {
        let sqlite = "an unnest of another FROM item's column in a form DataFusion cannot plan (SQLite runs it)".to_string();
        assert_eq!(route("SELECT t.id, x FROM t CROSS JOIN unnest(t.v) AS x"), (Route::Oltp, sqlite.clone()));
        assert_eq!(route("SELECT t.id, x.n FROM t, unnest(t.v) WITH ORDINALITY AS x(n, i)"), (Route::Oltp, sqlite));
        assert_eq!(route("SELECT t.id, x FROM t, unnest(t.v) AS x").0, Route::Olap);
    }

    #[test]
    fn types_of_computed_values_go_to_olap() {
        assert_eq!(route("SELECT pg_typeof(id + 1) FROM t WHERE id = 5"), (Route::Olap, "pg_typeof of a computed value (SQLite keeps no types of values)".into()));
        assert_eq!(route("SELECT pg_typeof(1 + 2)").0, Route::Olap);
        assert_eq!(route("SELECT pg_typeof(v), pg_typeof(1), pg_typeof('x'::text) FROM t WHERE id = 5"), (Route::Oltp, "primary-key lookup".into()));
    }

    #[test]
    fn keyed_and_small_reads_go_to_sqlite() {
        assert_eq!(route("SELECT * FROM t WHERE id = 5"), (Route::Oltp, "primary-key lookup".into()));
        assert_eq!(route("SELECT v FROM t WHERE u = $1 AND v > 3"), (Route::Oltp, "unique-key lookup".into()));
        assert_eq!(route("SELECT * FROM t LIMIT 10").0, Route::Oltp);
        assert_eq!(route("SELECT 1").0, Route::Oltp);
    }

    /// `x = ANY (subquery)` becomes `IN` at parse time; in a select list only SQLite runs it.
    #[test]
    fn membership_tests_in_select_lists_go_to_sqlite() {
        let (route_to, reason) = route("SELECT id, v IN (SELECT id FROM s) FROM t");
        assert_eq!(route_to, Route::Oltp, "{reason}");
        assert_eq!(route("SELECT id, EXISTS (SELECT 1 FROM s WHERE s.id = t.v) FROM t").0, Route::Oltp);
        assert_eq!(route("SELECT id FROM t WHERE v IN (SELECT id FROM s)").0, Route::Olap);
    }

    #[test]
    fn plain_scalar_subqueries_go_to_sqlite_and_aggregated_ones_to_olap() {
        let (route_to, reason) = route("SELECT id, (SELECT id FROM s WHERE s.id = t.v) FROM t");
        assert_eq!(route_to, Route::Oltp, "{reason}");
        assert_eq!(route("SELECT id FROM t WHERE v > (SELECT max(id) FROM s)").0, Route::Olap);
    }

    #[test]
    fn analytics_go_to_olap_even_when_disguised() {
        assert_eq!(route("SELECT COALESCE(sum(v), 0) FROM t WHERE id = 1"), (Route::Olap, "aggregate".into()));
        assert_eq!(route("SELECT DISTINCT v FROM t").0, Route::Olap);
        assert_eq!(route("SELECT * FROM t").0, Route::Olap);
        assert_eq!(route("SELECT id, row_number() OVER (ORDER BY v) FROM t").1, "window function");
        assert_eq!(route("SELECT * FROM t JOIN s ON t.id = s.id WHERE t.id = 1").0, Route::Olap);
        assert_eq!(route("SELECT v FROM t GROUP BY v").0, Route::Olap);
        assert_eq!(route("SELECT id FROM t UNION SELECT id FROM s").0, Route::Olap);
    }
}
