//! `x op ANY (subquery)` and `x op ALL (subquery)` (`SOME` is `ANY`), which neither SQLite nor
//! DataFusion has, rewritten once at parse time into what both have, keeping PostgreSQL's
//! three-valued answer (NULL when no row decides and a NULL took part); the same over an
//! `ARRAY[...]` constructor becomes the comparisons with its elements ([`over_elements`]).
//! For subqueries:
//!
//! - `= ANY` is `IN`, `<> ALL` is `NOT IN` (the standard defines them so);
//! - the ordering operators compare `x` with the subquery's `min` or `max`: `x > ANY (s)` holds
//!   when `x > min(s)`, `x > ALL (s)` fails when `x <= max(s)`;
//! - `= ALL` fails, and `<> ANY` holds, when `x` differs from the `min` or the `max`;
//! - otherwise the answer is NULL when `s` has a NULL, or when `x` is NULL and `s` has rows, and
//!   else false for ANY (an empty `s` included) and true for ALL.
//!
//! Each figure is a scalar subquery, which both engines plan anywhere an expression may stand.
//! A plain `SELECT value FROM ... WHERE ...` keeps its FROM and WHERE and takes the figure of
//! its value, so a correlated one stays correlated where DataFusion decorrelates it (by
//! equalities); any other is read as a derived table `_rhei_quantified(_rhei_value)`.

use std::ops::ControlFlow;

use datafusion::sql::sqlparser::ast::{
    BinaryOperator, Expr, Ident, Query, SelectItem, SetExpr, Statement, TableFactor, VisitMut, VisitorMut,
    visit_expressions_mut,
};
use datafusion::sql::sqlparser::dialect::PostgreSqlDialect;
use datafusion::sql::sqlparser::parser::Parser;


/// The name standing for the compared value in the templates below.
const LEFT: &str = "_rhei_left";
/// What stands for the subquery in the templates below (compared as text: a subquery put in
/// its place may itself hold other derived tables, which must stay as they are).
const PLACEHOLDER: &str = "SELECT NULL AS \"_rhei_placeholder\"";
/// The subquery's column in the templates below.
const VALUE: &str = "_rhei_value";

/// Rewrites every quantified comparison with a subquery in `statement` (see the module doc).
pub fn normalize_quantified(statement: &mut Statement) {
    let _ = visit_expressions_mut(statement, |expr| {
        let (left, op, right, all) = match expr {
            Expr::AnyOp { left, compare_op, right, .. } => (left, compare_op, right, false),
            Expr::AllOp { left, compare_op, right } => (left, compare_op, right, true),
            _ => return ControlFlow::<()>::Continue(()),
        };
        if let Expr::Array(array) = right.as_ref() {
            *expr = over_elements(left, op, &array.elem, all);
            return ControlFlow::Continue(());
        }
        let Expr::Subquery(subquery) = right.as_ref() else { return ControlFlow::Continue(()) };
        if let Some(rewritten) = rewrite(left, op, subquery, all) {
            *expr = rewritten;
        }
        ControlFlow::Continue(())
    });
}

/// `x op ANY (ARRAY[a, b])` is `x op a OR x op b` (ALL: AND), which is PostgreSQL's
/// three-valued answer too; neither engine has arrays in this form. `= ANY` is `IN` and `<> ALL`
/// `NOT IN`, which say the same. An empty array makes ANY false and ALL true.
fn over_elements(left: &Expr, op: &BinaryOperator, elements: &[Expr], all: bool) -> Expr {
    let boolean = |b: bool| Expr::value(datafusion::sql::sqlparser::ast::Value::Boolean(b));
    if elements.is_empty() {
        return boolean(all);
    }
    if matches!((op, all), (BinaryOperator::Eq, false) | (BinaryOperator::NotEq, true)) {
        return Expr::InList { expr: Box::new(left.clone()), list: elements.to_vec(), negated: all };
    }
    let joiner = if all { BinaryOperator::And } else { BinaryOperator::Or };
    let comparisons = elements
        .iter()
        .map(|e| Expr::BinaryOp { left: Box::new(left.clone()), op: op.clone(), right: Box::new(e.clone()) });
    let joined = comparisons
        .reduce(|acc, next| Expr::BinaryOp { left: Box::new(acc), op: joiner.clone(), right: Box::new(next) })
        .unwrap_or_else(|| boolean(all));
    Expr::Nested(Box::new(joined))
}

fn rewrite(left: &Expr, op: &BinaryOperator, subquery: &Query, all: bool) -> Option<Expr> {
    use BinaryOperator as B;
    let op_text = match op {
        B::Eq => "=",
        B::NotEq => "<>",
        B::Lt => "<",
        B::LtEq => "<=",
        B::Gt => ">",
        B::GtEq => ">=",
        _ => return None,
    };
    if matches!((op, all), (B::Eq, false) | (B::NotEq, true)) {
        return Some(Expr::InSubquery { expr: Box::new(left.clone()), subquery: Box::new(subquery.clone()), negated: all });
    }
    // One figure over the subquery's rows, as an uncorrelated scalar subquery.
    let over_rows = |figure: &str| format!("(SELECT {figure} FROM ({PLACEHOLDER}) AS \"_rhei_quantified\"(\"_rhei_value\"))");
    let min = over_rows("min(\"_rhei_value\")");
    let max = over_rows("max(\"_rhei_value\")");
    // The comparison with the extreme that decides the answer; for = and <> either may.
    let decides = match (op, all) {
        (B::Gt | B::GtEq, false) | (B::Lt | B::LtEq, true) => format!("{LEFT} {op_text} {min}"),
        (B::Lt | B::LtEq, false) | (B::Gt | B::GtEq, true) => format!("{LEFT} {op_text} {max}"),
        _ => format!("({LEFT} <> {min} OR {LEFT} <> {max})"),
    };
    let (decides, decided, otherwise) = match (op, all) {
        (B::Eq, true) => (decides, "false", "true"),
        (_, true) => (format!("NOT ({decides})"), "false", "true"),
        (_, false) => (decides, "true", "false"),
    };
    // 1 when the subquery has a row, or a NULL; NULL when not (no count: DataFusion names the
    // columns of several decorrelated counts alike).
    let has_rows = over_rows("max(1)");
    let has_null = over_rows("max(CASE WHEN \"_rhei_value\" IS NULL THEN 1 END)");
    let template = format!(
        "CASE WHEN {decides} THEN {decided} \
         WHEN {LEFT} IS NULL THEN CASE WHEN {has_rows} IS NOT NULL THEN NULL ELSE {otherwise} END \
         WHEN {has_null} IS NOT NULL THEN NULL ELSE {otherwise} END"
    );
    let mut expr = Parser::new(&PostgreSqlDialect {}).try_with_sql(&template).and_then(|mut p| p.parse_expr()).ok()?;
    let _ = expr.visit(&mut Substitute { left, subquery, value: super::plain_value(subquery) });
    Some(expr)
}

/// Puts the compared value and the subquery in place of the template's stand-ins.
struct Substitute<'a> {
    left: &'a Expr,
    subquery: &'a Query,
    /// The subquery's value when it is a plain select ([`super::plain_value`]), whose figures
    /// are then taken over its own FROM and WHERE instead of over it as a derived table: a
    /// correlated one keeps its outer references where both engines decorrelate them
    /// (DataFusion allows none inside a derived table).
    value: Option<&'a Expr>,
}

/// Whether `query` is a template's `SELECT figure FROM (placeholder) AS ...`.
fn over_placeholder(query: &Query) -> bool {
    matches!(query.body.as_ref(), SetExpr::Select(select)
        if matches!(select.from.as_slice(), [from] if matches!(&from.relation, TableFactor::Derived { subquery, .. } if subquery.to_string() == PLACEHOLDER)))
}

impl VisitorMut for Substitute<'_> {
    type Break = ();

    fn pre_visit_expr(&mut self, expr: &mut Expr) -> ControlFlow<()> {
        if let (Some(value), Expr::Subquery(query)) = (self.value, &mut *expr)
            && over_placeholder(query)
            && let SetExpr::Select(template) = query.body.as_ref()
            && let Some(SelectItem::UnnamedExpr(figure)) = template.projection.first()
        {
            let mut figure = figure.clone();
            let _ = visit_expressions_mut(&mut figure, |e| {
                if matches!(e, Expr::Identifier(Ident { value: name, .. }) if name == VALUE) {
                    *e = Expr::Nested(Box::new(value.clone()));
                }
                ControlFlow::<()>::Continue(())
            });
            let mut taken = self.subquery.clone();
            // An aggregate has one row: the subquery's order means nothing to it.
            taken.order_by = None;
            if let SetExpr::Select(select) = taken.body.as_mut() {
                select.projection = vec![SelectItem::UnnamedExpr(figure)];
            }
            **query = taken;
        }
        ControlFlow::Continue(())
    }

    fn post_visit_expr(&mut self, expr: &mut Expr) -> ControlFlow<()> {
        if matches!(expr, Expr::Identifier(Ident { value, .. }) if value == LEFT) {
            *expr = Expr::Nested(Box::new(self.left.clone()));
        }
        ControlFlow::Continue(())
    }

    fn pre_visit_table_factor(&mut self, factor: &mut TableFactor) -> ControlFlow<()> {
        if let TableFactor::Derived { subquery, .. } = factor
            && subquery.to_string() == PLACEHOLDER
        {
            *subquery = Box::new(self.subquery.clone());
        }
        ControlFlow::Continue(())
    }
}
