//! Exact numeric arithmetic in results on SQLite. An item of the outermost select list that
//! computes with numeric values (`price * qty`, `a - b`, `total / 3`) becomes calls of
//! `rhei_numeric_op` (`oltp::numeric_ops`), which give PostgreSQL's exact digits and scale;
//! SQLite's own operators compute in doubles (`1234567.89 - 3.3333` was `1234564.5566999998`).
//! `sum`, `avg`, `min` and `max` of numeric values there (also `avg` of integers, numeric in
//! PostgreSQL) become `rhei_numeric_sum` and its kin, with their arguments computed exactly.
//! PostgreSQL's numeric functions of numeric values (`round`, `power`, `sqrt`...) become
//! `rhei_numeric_fn` on both engines (see `crate::numeric_math`), their arguments computed
//! exactly. A COALESCE or CASE choosing numeric values gives, on both engines, the chosen
//! value's exact text: its own scale, as in PostgreSQL (`coalesce(x, 0)` is `0` where x is
//! NULL; both engines gave a result column one scale, x's).
//! Only result items: the exact text such a call gives would compare as text, so arithmetic
//! in WHERE, ORDER BY or an inner query keeps SQLite's numbers (ORDER BY 1 sorts by the item
//! computed again as a number), and so do the items of DISTINCT, grouped selects (`GROUP BY
//! 1` groups by the result column: items holding an aggregate, which GROUP BY cannot name,
//! are the exception) and set operations, which compare them, and select lists with a
//! wildcard (whose positions are not the result's).

use datafusion::sql::sqlparser::ast::{
    BinaryOperator, DataType as SqlType, Expr, Function, FunctionArg, FunctionArgExpr, FunctionArguments, Ident, ObjectName,
    ObjectNamePart, OrderBy, OrderByKind, SelectItem, SetExpr, Statement, UnaryOperator, Value, ValueWithSpan,
};

use super::{GroupByExt, Scope, call, first_arg, number, string};
use crate::catalog::types::PgType;
use crate::oltp::numeric_ops::{AVG, MAX, MIN, SPREAD, SUM};

/// The SQLite function computing one exact step.
pub(crate) const EXACT_OP: &str = "rhei_numeric_op";
/// The function computing PostgreSQL's numeric functions exactly, on either engine
/// (`oltp::numeric_ops`, `olap::udf::NumericFunction`).
pub(crate) const EXACT_FN: &str = "rhei_numeric_fn";
/// The DataFusion function reading text as PostgreSQL's numeric input does, to exact numeric
/// text (`olap::udf::NumericInput`).
const NUMERIC_INPUT: &str = "rhei_numeric_in";
/// The DataFusion function declaring its argument an unconstrained numeric
/// (`olap::udf::Unconstrained`).
const UNCONSTRAINED: &str = "rhei_unconstrained";

/// What a value takes part in arithmetic as.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Numeric,
    Integer,
    Other,
}

/// Which items of the statement's outermost select list compute exact numeric results on
/// SQLite (all `false` where none may).
pub(crate) fn exact_candidates(stmt: &Statement, scope: &Scope<'_>) -> Vec<bool> {
    let Statement::Query(query) = stmt else { return Vec::new() };
    let SetExpr::Select(select) = query.body.as_ref() else { return Vec::new() };
    let grouped = !select.group_by_is_empty();
    let wildcard = select.projection.iter().any(|item| matches!(item, SelectItem::Wildcard(_) | SelectItem::QualifiedWildcard(..)));
    select
        .projection
        .iter()
        .map(|item| match item {
            SelectItem::UnnamedExpr(expr) | SelectItem::ExprWithAlias { expr, .. } => {
                select.distinct.is_none()
                    && !wildcard
                    && (!grouped || aggregates(expr))
                    && (computes(expr) || numeric_input(expr, scope).is_some())
                    && kind(expr, scope) == Kind::Numeric
            }
            _ => false,
        })
        .collect()
}

/// [`exact_candidates`] of a statement as written, for describing its result before it runs.
pub(crate) fn exact_result_columns(stmt: &Statement, catalog: &crate::catalog::Catalog) -> Vec<bool> {
    Scope::of(stmt, catalog).map(|scope| exact_candidates(stmt, &scope)).unwrap_or_default()
}

/// Rewrites the numeric arithmetic of the statement's outermost select list. Runs after
/// ORDER BY names output columns by position (`OrderByOutputNames`).
pub(crate) fn in_results(stmt: &mut Statement, scope: &Scope<'_>) {
    exact_results(stmt, scope, Engine::Sqlite);
}

/// [`in_results`] for a write's RETURNING items, which SQLite computes: `abs(b)` of a
/// numeric(12,2) was `3.5` and `b / 3` a double's digits.
pub(crate) fn in_returning(stmt: &mut Statement, scope: &Scope<'_>) {
    for item in returning_mut(stmt) {
        if let SelectItem::UnnamedExpr(expr) | SelectItem::ExprWithAlias { expr, .. } = item
            && computes(expr)
            && kind(expr, scope) == Kind::Numeric
        {
            exact(expr, scope, Engine::Sqlite);
        }
    }
}

/// Which RETURNING items of a write as written [`in_returning`] computes exactly, for
/// describing its rows before it runs.
pub(crate) fn exact_returning_columns(stmt: &Statement, catalog: &crate::catalog::Catalog) -> Vec<bool> {
    let Ok(scope) = Scope::of(stmt, catalog) else { return Vec::new() };
    returning_items(stmt)
        .iter()
        .map(|item| matches!(item, SelectItem::UnnamedExpr(expr) | SelectItem::ExprWithAlias { expr, .. } if computes(expr) && kind(expr, &scope) == Kind::Numeric))
        .collect()
}

fn returning_items(stmt: &Statement) -> &[SelectItem] {
    let returning = match stmt {
        Statement::Insert(insert) => insert.returning.as_deref(),
        Statement::Update(update) => update.returning.as_deref(),
        Statement::Delete(delete) => delete.returning.as_deref(),
        _ => None,
    };
    returning.unwrap_or_default()
}

fn returning_mut(stmt: &mut Statement) -> &mut [SelectItem] {
    let returning = match stmt {
        Statement::Insert(insert) => insert.returning.as_mut(),
        Statement::Update(update) => update.returning.as_mut(),
        Statement::Delete(delete) => delete.returning.as_mut(),
        _ => None,
    };
    returning.map_or(&mut [], Vec::as_mut_slice)
}

/// Which RETURNING items of a translated write are exact numeric text (see [`in_returning`]).
pub(crate) fn exact_returning_items(stmt: &Statement) -> Vec<bool> {
    returning_items(stmt)
        .iter()
        .map(|item| matches!(item, SelectItem::UnnamedExpr(expr) | SelectItem::ExprWithAlias { expr, .. } if is_exact_call(expr)))
        .collect()
}

/// The OLAP engine's counterpart of [`in_results`]: DataFusion adds, subtracts and multiplies
/// decimals exactly at PostgreSQL's scales, but divides at a scale of its own (`7.0 / 2` was
/// `3.50000`, `avg` of a numeric(10,2) kept six places where PostgreSQL keeps sixteen
/// significant digits). An item of the outermost select list that divides or averages numeric
/// values has its numeric arithmetic computed by `rhei_numeric_op` (`olap::udf::NumericOp`),
/// and `avg(x)` becomes the exact quotient of DataFusion's `sum(x)` and `count(x)`. The same
/// items as on SQLite qualify.
pub(crate) fn in_olap_results(stmt: &mut Statement, scope: &Scope<'_>) {
    exact_results(stmt, scope, Engine::Olap);
}

/// The exact rewrite of the qualifying result items for `engine`. ORDER BY naming one (by
/// position, or on DataFusion by alias) sorts by the number, not by the exact text.
fn exact_results(stmt: &mut Statement, scope: &Scope<'_>, engine: Engine) {
    let candidates = exact_candidates(stmt, scope);
    let Statement::Query(query) = stmt else { return };
    let SetExpr::Select(select) = query.body.as_mut() else { return };
    for (i, item) in select.projection.iter_mut().enumerate() {
        let alias = match item {
            SelectItem::ExprWithAlias { alias, .. } => Some(super::normalize_ident(alias)),
            _ => None,
        };
        if let SelectItem::UnnamedExpr(expr) | SelectItem::ExprWithAlias { expr, .. } = item
            && candidates.get(i).copied().unwrap_or(false)
            && (engine == Engine::Sqlite || divides(expr, scope))
        {
            let names_item = |key: &Expr| match key {
                Expr::Value(ValueWithSpan { value: Value::Number(n, _), .. }) => n.parse::<usize>().ok() == Some(i + 1),
                Expr::Identifier(name) => alias.as_ref() == Some(&super::normalize_ident(name)),
                _ => false,
            };
            if let Some(OrderBy { kind: OrderByKind::Expressions(keys), .. }) = &mut query.order_by {
                // DataFusion 53 sorts by no window function the select list does not hold
                // (apache/datafusion#20963): such an item keeps DataFusion's scale.
                if engine == Engine::Olap && keys.iter().any(|key| names_item(&key.expr)) && has_window_function(expr) {
                    continue;
                }
                for key in keys.iter_mut().filter(|key| names_item(&key.expr)) {
                    key.expr = expr.clone();
                }
            }
            exact(expr, scope, engine);
            // An aggregate declared unconstrained (`rhei_unconstrained(sum(x))`) is a value
            // with its own digits once it is exact text.
            if engine == Engine::Olap && !is_exact_call(expr) {
                let value = std::mem::replace(expr, number(0));
                *expr = call(EXACT_OP, vec![string("+"), value, number(0)]);
            }
        }
    }
}

fn has_window_function(expr: &Expr) -> bool {
    datafusion::sql::sqlparser::ast::visit_expressions(expr, |e| match e {
        Expr::Function(f) if f.over.is_some() => std::ops::ControlFlow::Break(()),
        _ => std::ops::ControlFlow::Continue(()),
    })
    .is_break()
}

/// Whether an item's numeric arithmetic divides or averages numeric values.
fn divides(expr: &Expr, scope: &Scope<'_>) -> bool {
    if numeric_input(expr, scope).is_some() {
        return true;
    }
    match expr {
        Expr::Nested(inner) | Expr::UnaryOp { expr: inner, .. } => divides(inner, scope),
        Expr::BinaryOp { left, op, right } if arithmetic_op(op).is_some() => {
            (matches!(op, BinaryOperator::Divide) && kind(expr, scope) == Kind::Numeric) || divides(left, scope) || divides(right, scope)
        }
        // The value chosen keeps its own scale in PostgreSQL (`coalesce(x, 0)` is `0` where x
        // is NULL); DataFusion gives every row the widest scale.
        Expr::Function(f) if is_coalesce(f) || is_extreme(f) => kind(expr, scope) == Kind::Numeric,
        Expr::Case { .. } => kind(expr, scope) == Kind::Numeric,
        // DataFusion keeps the argument's scale (`ceil(2.1)` is 3.0, `power(2.5, 2)` 6.2).
        Expr::Function(f) if numeric_function(f).is_some() => kind(expr, scope) == Kind::Numeric,
        Expr::Ceil { .. } | Expr::Floor { .. } => kind(expr, scope) == Kind::Numeric,
        // DataFusion's sum, min and max of an unconstrained numeric hold its copy's ten places.
        Expr::Function(f) => {
            (matches!(exact_aggregate(f), Some(AVG | SPREAD)) && kind(expr, scope) == Kind::Numeric)
                || (matches!(exact_aggregate(f), Some(SUM | MIN | MAX)) && of_unconstrained(f, scope))
        }
        Expr::Subquery(query) => subquery_item(query).is_some_and(|item| divides(item, scope)),
        _ => false,
    }
}

fn coalesced_args(f: &Function) -> impl Iterator<Item = &Expr> {
    let args = match &f.args {
        FunctionArguments::List(list) => list.args.as_slice(),
        _ => &[],
    };
    args.iter().filter_map(|arg| match arg {
        FunctionArg::Unnamed(FunctionArgExpr::Expr(e)) => Some(e),
        _ => None,
    })
}

/// Which of the outermost select list's items are exact numeric results after translation:
/// their values are numeric text at their own scale.
pub(crate) fn exact_items(stmt: &Statement) -> Vec<bool> {
    let Statement::Query(query) = stmt else { return Vec::new() };
    let SetExpr::Select(select) = query.body.as_ref() else { return Vec::new() };
    select
        .projection
        .iter()
        .map(|item| match item {
            SelectItem::UnnamedExpr(expr) | SelectItem::ExprWithAlias { expr, .. } => is_exact_call(expr),
            _ => false,
        })
        .collect()
}

pub(crate) fn is_exact_call(expr: &Expr) -> bool {
    match expr {
        Expr::Nested(inner) => is_exact_call(inner),
        Expr::Function(f) => is_exact_function_call(f),
        _ => false,
    }
}

/// Whether `f` is an exact call this module writes, or COALESCE of one.
pub(crate) fn is_exact_function_call(f: &Function) -> bool {
    if is_coalesce(f) { first_arg(f).is_some_and(is_exact_call) } else { is_exact_function(f) }
}

/// GREATEST or LEAST: a value chosen, with its own scale in PostgreSQL (`greatest(n, 10)` is
/// `10` where n is less; both engines gave it n's scale).
fn is_extreme(f: &Function) -> bool {
    let name = f.name.to_string();
    name.eq_ignore_ascii_case("greatest") || name.eq_ignore_ascii_case("least")
}

fn is_nullif(f: &Function) -> bool {
    f.name.to_string().eq_ignore_ascii_case("nullif")
}

fn is_coalesce(f: &Function) -> bool {
    f.name.to_string().eq_ignore_ascii_case("coalesce")
}

/// Whether `f` is one of the exact SQLite functions this module writes.
fn is_exact_function(f: &Function) -> bool {
    [EXACT_OP, EXACT_FN, SUM, AVG, MIN, MAX, SPREAD].contains(&f.name.to_string().as_str())
}

/// The name of a numeric function `rhei_numeric_fn` computes (`round`, `power`, `sqrt`...),
/// called plainly: one-part name, positional arguments, no window.
fn numeric_function(f: &Function) -> Option<String> {
    let FunctionArguments::List(list) = &f.args else { return None };
    let plain = f.over.is_none()
        && f.filter.is_none()
        && f.within_group.is_empty()
        && list.duplicate_treatment.is_none()
        && list.clauses.is_empty()
        && list.args.iter().all(|arg| matches!(arg, FunctionArg::Unnamed(FunctionArgExpr::Expr(_))));
    let name = match f.name.0.as_slice() {
        [ObjectNamePart::Identifier(name)] => name.value.to_ascii_lowercase(),
        _ => return None,
    };
    (plain && crate::numeric_math::computes(&name, list.args.len())).then_some(name)
}

/// A ceil() or floor() of a number (not of a date-time field), and which.
fn ceil_or_floor(expr: &Expr) -> Option<(&'static str, &Expr)> {
    use datafusion::sql::sqlparser::ast::{CeilFloorKind, DateTimeField};
    match expr {
        Expr::Ceil { expr, field: CeilFloorKind::DateTimeField(DateTimeField::NoDateTime) } => Some(("ceil", expr)),
        Expr::Floor { expr, field: CeilFloorKind::DateTimeField(DateTimeField::NoDateTime) } => Some(("floor", expr)),
        _ => None,
    }
}

/// The plain arguments of a call.
fn plain_args(f: &Function) -> impl Iterator<Item = &Expr> {
    coalesced_args(f)
}

/// The name of an aggregate whose numeric result is computed exactly: `sum`, `avg`, `min` or
/// `max` of one argument.
fn exact_aggregate(f: &Function) -> Option<&'static str> {
    // DISTINCT compares numbers (1.5 and 1.50 are one value); the exact aggregates would see
    // the stored text.
    let plain = |list: &datafusion::sql::sqlparser::ast::FunctionArgumentList| {
        list.args.len() == 1 && !matches!(list.duplicate_treatment, Some(datafusion::sql::sqlparser::ast::DuplicateTreatment::Distinct))
    };
    if f.name.0.len() != 1 || first_arg(f).is_none() || !matches!(&f.args, FunctionArguments::List(list) if plain(list)) {
        return None;
    }
    match f.name.to_string().to_ascii_lowercase().as_str() {
        "sum" => Some(SUM),
        "avg" => Some(AVG),
        "stddev" | "stddev_samp" | "stddev_pop" | "variance" | "var_samp" | "var_pop" => Some(SPREAD),
        // Not over a window: SQLite's own (as doubles) there.
        "min" if f.over.is_none() => Some(MIN),
        "max" if f.over.is_none() => Some(MAX),
        _ => None,
    }
}

/// Whether an item computes a value this module can make exact: arithmetic, an exact
/// aggregate, or COALESCE of one.
fn computes(expr: &Expr) -> bool {
    match expr {
        Expr::Nested(inner) | Expr::UnaryOp { op: UnaryOperator::Minus | UnaryOperator::Plus, expr: inner } => computes(inner),
        // Choosing a value: its scale is the chosen value's own.
        Expr::Function(f) if is_coalesce(f) || is_extreme(f) => true,
        Expr::Case { .. } => true,
        Expr::Function(f) => exact_aggregate(f).is_some() || numeric_function(f).is_some(),
        other => ceil_or_floor(other).is_some() || is_arithmetic(other),
    }
}

/// Whether the arithmetic of an item reaches an aggregate (which GROUP BY cannot name).
fn aggregates(expr: &Expr) -> bool {
    match expr {
        Expr::Nested(inner) | Expr::UnaryOp { expr: inner, .. } => aggregates(inner),
        Expr::BinaryOp { left, op, right } if arithmetic_op(op).is_some() => aggregates(left) || aggregates(right),
        Expr::Function(f) if is_coalesce(f) => first_arg(f).is_some_and(aggregates),
        Expr::Function(f) if is_extreme(f) => coalesced_args(f).any(aggregates),
        Expr::Case { conditions, else_result, .. } => conditions.iter().map(|c| &c.result).chain(else_result.as_deref()).any(aggregates),
        Expr::Function(f) if numeric_function(f).is_some() => plain_args(f).any(aggregates),
        Expr::Function(f) => exact_aggregate(f).is_some() || f.name.to_string().eq_ignore_ascii_case("count"),
        other => ceil_or_floor(other).is_some_and(|(_, arg)| aggregates(arg)),
    }
}

/// COALESCE's arguments, when all are plain expressions.
fn coalesced(f: &mut Function) -> Option<Vec<&mut Expr>> {
    if !is_coalesce(f) {
        return None;
    }
    let FunctionArguments::List(list) = &mut f.args else { return None };
    list.args
        .iter_mut()
        .map(|arg| match arg {
            FunctionArg::Unnamed(FunctionArgExpr::Expr(e)) => Some(e),
            _ => None,
        })
        .collect()
}

fn arithmetic_op(op: &BinaryOperator) -> Option<&'static str> {
    match op {
        BinaryOperator::Plus => Some("+"),
        BinaryOperator::Minus => Some("-"),
        BinaryOperator::Multiply => Some("*"),
        BinaryOperator::Divide => Some("/"),
        _ => None,
    }
}

fn is_arithmetic(expr: &Expr) -> bool {
    match expr {
        Expr::Nested(inner) => is_arithmetic(inner),
        Expr::BinaryOp { op, .. } => arithmetic_op(op).is_some(),
        _ => false,
    }
}

/// The field of `rhei_interval_part(field, interval)`, what an interval's EXTRACT is on SQLite
/// by the time results are made exact (`translate::intervals`).
fn interval_part(f: &Function) -> Option<String> {
    if !f.name.to_string().eq_ignore_ascii_case("rhei_interval_part") {
        return None;
    }
    match first_arg(f)? {
        Expr::Value(ValueWithSpan { value: Value::SingleQuotedString(field), .. }) => Some(field.to_ascii_lowercase()),
        _ => None,
    }
}

/// Whether an aggregate's argument is an unconstrained numeric: a column declared so, or text
/// read as one ([`numeric_input`]).
fn of_unconstrained(f: &Function, scope: &Scope<'_>) -> bool {
    first_arg(f).is_some_and(|arg| scope.column_type(arg) == Some(PgType::Numeric { precision: None, scale: None }) || numeric_input(arg, scope).is_some())
}

/// The text of `text::numeric` (no precision): a text value, a string literal, a json field's
/// text (`payload->>'amount'`). PostgreSQL's numeric input keeps the digits each value was
/// written with (`9.5`, `20`); both engines' casts gave the column one scale
/// (`9.5000000000`), so such a cast is exact numeric text on both.
fn numeric_input<'e>(expr: &'e Expr, scope: &Scope<'_>) -> Option<&'e Expr> {
    use datafusion::sql::sqlparser::ast::ExactNumberInfo;
    fn is_text(expr: &Expr, scope: &Scope<'_>) -> bool {
        match expr {
            Expr::Nested(inner) => is_text(inner, scope),
            Expr::Value(ValueWithSpan { value: Value::SingleQuotedString(_), .. }) => true,
            Expr::BinaryOp { op: BinaryOperator::LongArrow | BinaryOperator::HashLongArrow, .. } => true,
            other => matches!(scope.column_type(other), Some(PgType::Text | PgType::Varchar(_) | PgType::Bpchar(_))),
        }
    }
    match expr {
        Expr::Nested(inner) => numeric_input(inner, scope),
        Expr::Cast { data_type: SqlType::Numeric(ExactNumberInfo::None) | SqlType::Decimal(ExactNumberInfo::None) | SqlType::Dec(ExactNumberInfo::None), expr: inner, .. }
            if is_text(inner, scope) =>
        {
            Some(inner)
        }
        _ => None,
    }
}

fn kind(expr: &Expr, scope: &Scope<'_>) -> Kind {
    match expr {
        Expr::Nested(inner) | Expr::UnaryOp { op: UnaryOperator::Minus | UnaryOperator::Plus, expr: inner } => kind(inner, scope),
        Expr::BinaryOp { left, op, right } if arithmetic_op(op).is_some() => match (kind(left, scope), kind(right, scope)) {
            (Kind::Other, _) | (_, Kind::Other) => Kind::Other,
            (Kind::Integer, Kind::Integer) => Kind::Integer,
            _ => Kind::Numeric,
        },
        Expr::Value(ValueWithSpan { value: Value::Number(n, _), .. }) => {
            if n.contains(['.', 'e', 'E']) {
                Kind::Numeric
            } else {
                Kind::Integer
            }
        }
        Expr::Cast { data_type: SqlType::Numeric(_) | SqlType::Decimal(_) | SqlType::Dec(_), .. } => Kind::Numeric,
        cast if super::is_integer_cast(cast) => Kind::Integer,
        Expr::Function(f) if f.name.to_string().eq_ignore_ascii_case("count") => Kind::Integer,
        // EXTRACT is numeric in PostgreSQL 14 and later (date_part stays double precision):
        // `extract(epoch from b - a) / 3600` divides at numeric's scale.
        Expr::Extract { .. } => Kind::Numeric,
        Expr::Function(f) if interval_part(f).is_some() => Kind::Numeric,
        // A scalar subquery is what its one item is (`x / (SELECT count(*) FROM t)` divides a
        // numeric by an integer; it was left to the engines' scales).
        Expr::Subquery(query) => subquery_item(query).map_or(Kind::Other, |item| kind(item, scope)),
        Expr::Function(f) if is_coalesce(f) || is_extreme(f) => {
            let FunctionArguments::List(list) = &f.args else { return Kind::Other };
            chosen_kind(list.args.iter().map(|arg| match arg {
                FunctionArg::Unnamed(FunctionArgExpr::Expr(e)) => Some(e),
                _ => None,
            }), scope)
        }
        Expr::Case { conditions, else_result, .. } => chosen_kind(conditions.iter().map(|c| Some(&c.result)).chain(else_result.as_deref().map(Some)), scope),
        // `x / nullif(n, 0)`: NULLIF is its arguments' common type, as `=` promotes them. Its
        // value stays the engine's (an exact text would not equal the number it is compared
        // with), an operand of the exact step around it.
        Expr::Function(f) if is_nullif(f) => chosen_kind(coalesced_args(f).map(Some), scope),
        Expr::Function(f) if let Some(name) = numeric_function(f) => {
            let kinds: Vec<Kind> = plain_args(f).map(|arg| kind(arg, scope)).collect();
            function_kind(&name, &kinds)
        }
        Expr::Ceil { .. } | Expr::Floor { .. } if let Some((name, arg)) = ceil_or_floor(expr) => function_kind(name, &[kind(arg, scope)]),
        Expr::Function(f) => match (exact_aggregate(f), first_arg(f).map(|arg| kind(arg, scope))) {
            (Some(_), Some(Kind::Numeric)) => Kind::Numeric,
            // avg of integers is numeric in PostgreSQL, and so are their stddev and variance;
            // their sum stays SQLite's integer.
            (Some(AVG | SPREAD), Some(Kind::Integer)) => Kind::Numeric,
            // sum of bigints is numeric in PostgreSQL (of smaller integers a bigint).
            (Some(SUM), Some(Kind::Integer)) if first_arg(f).and_then(|arg| scope.column_type(arg)) == Some(PgType::Int8) => Kind::Numeric,
            (Some(_), Some(Kind::Integer)) => Kind::Integer,
            _ => Kind::Other,
        },
        _ => match scope.column_type(expr) {
            Some(PgType::Numeric { .. }) => Kind::Numeric,
            Some(PgType::Int2 | PgType::Int4 | PgType::Int8) => Kind::Integer,
            _ => Kind::Other,
        },
    }
}

/// The scale PostgreSQL's numeric value of `expr` has in every row, where the statement fixes
/// it: an integer's is 0, a literal's the digits written after its point, a numeric(p,s)
/// column's s; a sum or difference has the larger of its operands', a product their sum, and
/// `sum`, `min` and `max` their argument's. `None` where values bring their own (a double or
/// text made numeric, a quotient, an average).
pub(crate) fn fixed_scale(expr: &Expr, scope: &Scope<'_>) -> Option<u64> {
    use datafusion::sql::sqlparser::ast::ExactNumberInfo;
    // numeric_in's display scale: the digits after the point, less the exponent (`1.5e1` is
    // 15, `1e-3` 0.001).
    let written = |text: &str| {
        let text = text.trim();
        let (mantissa, exponent) = match text.split_once(['e', 'E']) {
            Some((mantissa, exponent)) => (mantissa, exponent.parse::<i64>().ok()?),
            None => (text, 0),
        };
        let places = crate::value::is_plain_decimal(mantissa).then(|| mantissa.split_once('.').map_or(0, |(_, fraction)| fraction.len() as i64))?;
        u64::try_from(places.saturating_sub(exponent).max(0)).ok()
    };
    match expr {
        Expr::Nested(inner) | Expr::UnaryOp { op: UnaryOperator::Minus | UnaryOperator::Plus, expr: inner } => fixed_scale(inner, scope),
        _ if kind(expr, scope) == Kind::Integer => Some(0),
        Expr::Value(ValueWithSpan { value: Value::Number(n, _) | Value::SingleQuotedString(n), .. }) => written(n),
        Expr::Cast { data_type: SqlType::Numeric(info) | SqlType::Decimal(info) | SqlType::Dec(info), expr: inner, .. } => match info {
            ExactNumberInfo::PrecisionAndScale(_, scale) => u64::try_from(*scale).ok(),
            ExactNumberInfo::Precision(_) => Some(0),
            ExactNumberInfo::None => fixed_scale(inner, scope),
        },
        Expr::BinaryOp { left, op: BinaryOperator::Plus | BinaryOperator::Minus, right } => Some(fixed_scale(left, scope)?.max(fixed_scale(right, scope)?)),
        Expr::BinaryOp { left, op: BinaryOperator::Multiply, right } => Some(fixed_scale(left, scope)? + fixed_scale(right, scope)?),
        Expr::Function(f) if matches!(exact_aggregate(f), Some(SUM | MIN | MAX)) => fixed_scale(first_arg(f)?, scope),
        _ => match scope.column_type(expr) {
            Some(PgType::Numeric { scale: Some(scale), .. }) => u64::try_from(scale).ok(),
            _ => None,
        },
    }
}

/// The one item of a scalar subquery's select list.
fn subquery_item(query: &datafusion::sql::sqlparser::ast::Query) -> Option<&Expr> {
    let SetExpr::Select(select) = query.body.as_ref() else { return None };
    match select.projection.as_slice() {
        [SelectItem::UnnamedExpr(item) | SelectItem::ExprWithAlias { expr: item, .. }] => Some(item),
        _ => None,
    }
}

/// The kind of a value chosen from `candidates` (COALESCE's arguments, a CASE's results), as
/// PostgreSQL resolves their common type: numeric if any is and the rest are integers, NULLs
/// aside.
fn chosen_kind<'a>(candidates: impl Iterator<Item = Option<&'a Expr>>, scope: &Scope<'_>) -> Kind {
    let mut chosen = Kind::Integer;
    for candidate in candidates {
        match candidate.map(|e| (e, kind(e, scope))) {
            Some((Expr::Value(ValueWithSpan { value: Value::Null, .. }), _)) => {}
            Some((_, Kind::Numeric)) => chosen = Kind::Numeric,
            Some((_, Kind::Integer)) => {}
            _ => return Kind::Other,
        }
    }
    chosen
}

/// The kind of PostgreSQL's numeric function `name` of arguments of `kinds`, as its function
/// resolution picks the variant: a double argument picks the double one, a numeric one the
/// numeric one; of integers, the integer variant where there is one (`abs`, `mod`, `gcd`,
/// `lcm`), the numeric one where only it takes that many arguments (`round(i, 2)`, `div`),
/// else the double one (`sqrt(2)`, `power(2, 3)`, `ceil(5)`).
fn function_kind(name: &str, kinds: &[Kind]) -> Kind {
    if kinds.contains(&Kind::Other) {
        Kind::Other
    } else if kinds.contains(&Kind::Numeric) {
        Kind::Numeric
    } else {
        match (name, kinds.len()) {
            ("abs" | "mod" | "gcd" | "lcm", _) => Kind::Integer,
            ("div" | "trim_scale", _) | ("round" | "trunc" | "log", 2) => Kind::Numeric,
            _ => Kind::Other,
        }
    }
}

/// `expr` as exact numeric text at its own scale (a value COALESCE or CASE may choose), NULL
/// as it is: computed exactly where it computes, else the value plus zero.
fn exact_text(expr: &mut Expr, scope: &Scope<'_>, engine: Engine) {
    exact(expr, scope, engine);
    if !is_exact_call(expr) && !matches!(expr, Expr::Value(ValueWithSpan { value: Value::Null, .. })) {
        let value = std::mem::replace(expr, number(0));
        *expr = call(EXACT_OP, vec![string("+"), value, number(0)]);
    }
}

/// The engine an exact rewrite is for.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Engine {
    Sqlite,
    Olap,
}

/// Replaces each numeric step of an arithmetic tree with an exact call; integer-only parts
/// stay the engine's (integer arithmetic, as PostgreSQL's). On SQLite, `sum`, `avg`, `min` and
/// `max` become the exact aggregates. On DataFusion, whose decimal sums are exact, `avg(x)` is
/// the exact quotient of `sum(x)` and `count(x)` (over the same rows: FILTER and OVER go to
/// both), and a COALESCE holding exact text has its other arguments made exact text too
/// (DataFusion would not take text and a decimal as one type).
fn exact(expr: &mut Expr, scope: &Scope<'_>, engine: Engine) {
    if kind(expr, scope) != Kind::Numeric {
        return;
    }
    if let Some(text) = numeric_input(expr, scope) {
        // SQLite's cast (`rhei_numeric`) gives the value's own digits; DataFusion's would give
        // the column one scale, so it reads the text itself.
        let value = match engine {
            Engine::Sqlite => std::mem::replace(expr, number(0)),
            Engine::Olap => call(NUMERIC_INPUT, vec![text.clone()]),
        };
        *expr = call(EXACT_OP, vec![string("+"), value, number(0)]);
        return;
    }
    if let Some((name, _)) = ceil_or_floor(expr) {
        let (Expr::Ceil { expr: inner, .. } | Expr::Floor { expr: inner, .. }) = expr else { return };
        exact(inner, scope, engine);
        let arg = std::mem::replace(inner.as_mut(), number(0));
        *expr = call(EXACT_FN, vec![string(name), arg]);
        return;
    }
    match expr {
        Expr::Nested(inner) => exact(inner, scope, engine),
        // Its value computed exactly inside it: `x - (SELECT avg(x) ...)` at avg's scale.
        Expr::Subquery(query) => {
            if let SetExpr::Select(select) = query.body.as_mut()
                && let [SelectItem::UnnamedExpr(item) | SelectItem::ExprWithAlias { expr: item, .. }] = select.projection.as_mut_slice()
            {
                exact(item, scope, engine);
            }
        }
        Expr::Function(f) if let Some(name) = numeric_function(f) => {
            let mut args = vec![string(&name)];
            if let FunctionArguments::List(list) = &mut f.args {
                for arg in &mut list.args {
                    if let FunctionArg::Unnamed(FunctionArgExpr::Expr(value)) = arg {
                        exact(value, scope, engine);
                        args.push(std::mem::replace(value, number(0)));
                    }
                }
            }
            *expr = call(EXACT_FN, args);
        }
        // SQLite's date_part and rhei_interval_part give numbers; the operand is the numeric
        // text of extract's decimals.
        Expr::Extract { field, expr: inner, .. } if engine == Engine::Sqlite => {
            let of_date = super::temporal_type(inner, scope) == Some(PgType::Date);
            if let Some(places) = super::extract_scale(&super::field_name(field), of_date) {
                let extracted = std::mem::replace(expr, number(0));
                *expr = call("rhei_numeric", vec![extracted, super::null(), number(places)]);
            }
        }
        // The chosen value as exact text, chosen by comparing the values themselves (exact text
        // would compare as text); NULLs are passed over, as PostgreSQL does.
        Expr::Function(f) if is_extreme(f) => {
            let greatest = f.name.to_string().eq_ignore_ascii_case("greatest");
            let values: Vec<Expr> = coalesced_args(f).cloned().collect();
            let Some((first, rest)) = values.split_first() else { return };
            let mut chosen_value = first.clone();
            exact_text(&mut chosen_value, scope, engine);
            let mut chosen = (first.clone(), chosen_value);
            for value in rest {
                let mut text = value.clone();
                exact_text(&mut text, scope, engine);
                let (best, best_text) = chosen;
                let op = if greatest { BinaryOperator::Gt } else { BinaryOperator::Lt };
                // `value` wins when it is not NULL and the best so far is NULL or beaten.
                let wins = Expr::BinaryOp {
                    left: Box::new(Expr::IsNotNull(Box::new(value.clone()))),
                    op: BinaryOperator::And,
                    right: Box::new(Expr::Nested(Box::new(Expr::BinaryOp {
                        left: Box::new(Expr::IsNull(Box::new(best.clone()))),
                        op: BinaryOperator::Or,
                        right: Box::new(Expr::BinaryOp { left: Box::new(value.clone()), op: op.clone(), right: Box::new(best.clone()) }),
                    }))),
                };
                let pick = |winner: Expr, loser: Expr| Expr::Case {
                    case_token: datafusion::sql::sqlparser::ast::helpers::attached_token::AttachedToken::empty(),
                    end_token: datafusion::sql::sqlparser::ast::helpers::attached_token::AttachedToken::empty(),
                    operand: None,
                    conditions: vec![datafusion::sql::sqlparser::ast::CaseWhen { condition: wins.clone(), result: winner }],
                    else_result: Some(Box::new(loser)),
                };
                chosen = (pick(value.clone(), best), pick(text, best_text));
            }
            let (_, text) = chosen;
            // Says that the text is numeric, on either engine (`exact_items`).
            *expr = call(EXACT_OP, vec![string("+"), text, number(0)]);
        }
        // On SQLite NULLIF's value would be the double its numeric operand is read as there
        // (`nullif(n, 0) * 2` was 3.0 for a numeric(8,2) 1.50): the choice is made by
        // comparing, the value given as exact text.
        Expr::Function(f) if engine == Engine::Sqlite && is_nullif(f) => {
            let [value, other] = coalesced_args(f).collect::<Vec<_>>()[..] else { return };
            let condition = Expr::BinaryOp { left: Box::new(value.clone()), op: BinaryOperator::Eq, right: Box::new(other.clone()) };
            let mut value = value.clone();
            exact_text(&mut value, scope, engine);
            *expr = super::null_when(condition, value);
        }
        Expr::Function(f) if engine == Engine::Sqlite && let Some(field) = interval_part(f) => {
            let places = super::extract_scale(&field, false).unwrap_or(0);
            let extracted = std::mem::replace(expr, number(0));
            *expr = call("rhei_numeric", vec![extracted, super::null(), number(places)]);
        }
        Expr::UnaryOp { op: UnaryOperator::Plus, expr: inner } => {
            exact(inner, scope, engine);
            *expr = std::mem::replace(inner.as_mut(), number(0));
        }
        Expr::UnaryOp { op: UnaryOperator::Minus, expr: inner } => {
            exact(inner, scope, engine);
            let operand = std::mem::replace(inner.as_mut(), number(0));
            *expr = call(EXACT_OP, vec![string("-"), number(0), operand]);
        }
        Expr::BinaryOp { left, op, right } => {
            let Some(symbol) = arithmetic_op(op) else { return };
            exact(left, scope, engine);
            exact(right, scope, engine);
            let (l, r) = (std::mem::replace(left.as_mut(), number(0)), std::mem::replace(right.as_mut(), number(0)));
            *expr = call(EXACT_OP, vec![string(symbol), l, r]);
        }
        Expr::Case { conditions, else_result, .. } => {
            for result in conditions.iter_mut().map(|c| &mut c.result).chain(else_result.as_deref_mut()) {
                exact_text(result, scope, engine);
            }
            // Says that the text is numeric, on either engine (`exact_items`).
            let case = std::mem::replace(expr, number(0));
            *expr = call(EXACT_OP, vec![string("+"), case, number(0)]);
        }
        Expr::Function(f) => {
            if let Some(args) = coalesced(f) {
                for arg in args {
                    exact_text(arg, scope, engine);
                }
                if engine == Engine::Olap {
                    // DataFusion's COALESCE forgets that its text is numeric; adding zero
                    // keeps the value and its scale, and says so.
                    let coalesce = std::mem::replace(expr, number(0));
                    *expr = call(EXACT_OP, vec![string("+"), coalesce, number(0)]);
                }
            } else if exact_aggregate(f) == Some(SPREAD) {
                // Named by a first argument, on either engine: the aggregate's name, as its
                // answer (sample or population, root or not) depends on it.
                let name = f.name.to_string().to_ascii_lowercase();
                if let FunctionArguments::List(list) = &mut f.args {
                    if engine == Engine::Sqlite
                        && let Some(FunctionArg::Unnamed(FunctionArgExpr::Expr(arg))) = list.args.first_mut()
                    {
                        exact(arg, scope, engine);
                    }
                    list.args.insert(0, FunctionArg::Unnamed(FunctionArgExpr::Expr(string(&name))));
                }
                f.name = ObjectName(vec![ObjectNamePart::Identifier(Ident::new(SPREAD))]);
            } else if let Some(name) = exact_aggregate(f) {
                match engine {
                    Engine::Sqlite => {
                        if let FunctionArguments::List(list) = &mut f.args
                            && let Some(FunctionArg::Unnamed(FunctionArgExpr::Expr(arg))) = list.args.first_mut()
                        {
                            exact(arg, scope, engine);
                        }
                        f.name = ObjectName(vec![ObjectNamePart::Identifier(Ident::new(name))]);
                    }
                    Engine::Olap => {
                        // The OLAP copy holds an unconstrained numeric at a fixed scale, and its
                        // aggregates forget the column's declared type, by which
                        // `rhei_numeric_op` reckons with each value's own digits instead.
                        let unconstrained = of_unconstrained(f, scope);
                        let declared = |aggregate: Expr| if unconstrained { call(UNCONSTRAINED, vec![aggregate]) } else { aggregate };
                        let renamed = |name: &str| {
                            let mut aggregate = f.clone();
                            aggregate.name = ObjectName(vec![ObjectNamePart::Identifier(Ident::new(name))]);
                            Expr::Function(aggregate)
                        };
                        if name == AVG {
                            *expr = call(EXACT_OP, vec![string("/"), declared(renamed("sum")), renamed("count")]);
                        } else if unconstrained {
                            *expr = declared(Expr::Function(f.clone()));
                        }
                    }
                }
            }
        }
        _ => {}
    }
}
