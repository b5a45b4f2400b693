//! Interval values on SQLite. SQLite has no interval type; an interval there is the text
//! PostgreSQL prints for it, made and read by the functions of `oltp::intervals`. This pass
//! turns every interval a statement computes into such a function (`e - s` of two timestamps,
//! `interval '1 day' * 2`, `age(a, b)`, `justify_hours(...)`, `$1::interval`) and every use of
//! one into something SQLite can do with text: comparisons, BETWEEN and ORDER BY go by the
//! interval's length (a month as 30 days, as PostgreSQL orders them), `extract` reads its
//! fields, a timestamp plus one moves on the calendar, and min/max/sum/avg are aggregates of
//! their own. A cast to text needs nothing: the text is PostgreSQL's.
//!
//! It runs before the other SQLite rewrites, which then translate the timestamps and numbers
//! left inside these calls as they would anywhere.

use std::collections::HashSet;
use std::ops::ControlFlow;

use datafusion::sql::sqlparser::ast::{
    BinaryOperator, DataType as SqlType, Expr, Function, FunctionArg, FunctionArgExpr, FunctionArguments, OrderByKind, Query,
    Ident, SelectItem, SetExpr, Statement, TableFactor, UnaryOperator, Value, ValueWithSpan, Visit, VisitMut, Visitor, VisitorMut,
};

use super::{
    Scope, TranslateOptions, as_micros, call, field_name, first_arg, instant, interval_literal, interval_sum, is_comparison, is_interval_constant, is_time, take,
    null, number, string, temporal_type, wall_clock, zone_argument,
};
use crate::catalog::{PgType, normalize_ident};
use crate::error::{EngineError, Result};

/// Rewrites the intervals of `stmt` for SQLite, in place.
///
/// # Errors
/// An interval constant that does not parse (22007) or is out of range (22008); interval
/// arithmetic PostgreSQL has no operator for, and intervals in window functions (0A000).
pub(super) fn for_sqlite(stmt: &mut Statement, scope: &Scope<'_>, opts: TranslateOptions) -> Result<()> {
    let typing = Typing { scope, derived: derived_interval_columns(stmt, scope) };
    let mut rewrite = IntervalRewrite { typing, opts, failure: None };
    let _ = stmt.visit(&mut rewrite);
    rewrite.failure.map_or(Ok(()), Err)
}

/// Why `stmt` needs SQLite for its intervals, if it does: rhei's aggregates of intervals on
/// DataFusion take no DISTINCT, DataFusion cannot compare one with the strings of an IN list
/// or order a window by one, and its parser takes only plain strings as interval constants.
pub fn olap_lacks(stmt: &Statement, catalog: &crate::catalog::Catalog) -> Option<&'static str> {
    let Ok(scope) = Scope::of(stmt, catalog) else { return None };
    let typing = Typing { derived: derived_interval_columns(stmt, &scope), scope: &scope };
    let mut reason = None;
    let _ = datafusion::sql::sqlparser::ast::visit_expressions(stmt, |expr| {
        reason = match expr {
            Expr::Function(func)
                if matches!(function_name(func).as_str(), "min" | "max" | "sum" | "avg")
                    && matches!(&func.args, FunctionArguments::List(list) if list.duplicate_treatment == Some(datafusion::sql::sqlparser::ast::DuplicateTreatment::Distinct))
                    && first_arg(func).is_some_and(|arg| typing.is_interval(arg)) =>
            {
                Some("an aggregate of DISTINCT intervals (rhei's interval aggregates on DataFusion take every row)")
            }
            Expr::Function(func) if window_orders_by_interval(func, &typing) => Some("a window ordered by an interval (DataFusion cannot order one by it)"),
            Expr::InList { expr, list, .. } if typing.is_interval(expr) && list.iter().any(|e| !typing.is_interval(e)) => {
                Some("an interval in an IN list of strings (DataFusion cannot compare them)")
            }
            Expr::Interval(interval) if !matches!(interval.value.as_ref(), Expr::Value(ValueWithSpan { value: Value::SingleQuotedString(_) | Value::Number(..), .. })) => {
                Some("an interval constant DataFusion's parser does not take (E'...', $$...$$)")
            }
            _ => None,
        };
        if reason.is_some() { ControlFlow::Break(()) } else { ControlFlow::Continue(()) }
    });
    reason
}

/// Which expressions are intervals, by what the statement says of their operands.
struct Typing<'s, 'a> {
    scope: &'s Scope<'a>,
    /// Output columns of the statement's derived tables and CTEs that are intervals.
    derived: HashSet<String>,
}

impl Typing<'_, '_> {
    fn timestamp(&self, expr: &Expr) -> Option<PgType> {
        temporal_type(expr, self.scope)
    }

    /// Whether `expr` is an interval value.
    fn is_interval(&self, expr: &Expr) -> bool {
        let is_interval = |e: &Expr| self.is_interval(e);
        match expr {
            Expr::Nested(inner) => is_interval(inner),
            Expr::Cast { data_type: SqlType::Interval { .. }, .. } | Expr::Interval(_) => true,
            Expr::TypedString(typed) => matches!(typed.data_type, SqlType::Interval { .. }),
            Expr::UnaryOp { op: UnaryOperator::Minus | UnaryOperator::Plus, expr } => is_interval(expr),
            Expr::BinaryOp { left, op: BinaryOperator::Minus, right } if self.is_difference(left, right) => true,
            Expr::BinaryOp { left, op: BinaryOperator::Plus | BinaryOperator::Minus, right } => is_interval(left) && is_interval(right),
            Expr::BinaryOp { left, op: BinaryOperator::Multiply | BinaryOperator::Divide, right } => is_interval(left) || is_interval(right),
            Expr::Function(func) => self.is_interval_call(func),
            Expr::Identifier(_) | Expr::CompoundIdentifier(_) => is_interval_column(expr, self.scope, &self.derived),
            _ => false,
        }
    }

    /// Whether a function call gives an interval.
    fn is_interval_call(&self, func: &Function) -> bool {
        match function_name(func).as_str() {
            "age" | "justify_hours" | "justify_days" | "justify_interval" => true,
            // Functions giving one of their arguments' values.
            "min" | "max" | "sum" | "avg" | "coalesce" | "nullif" | "lag" | "lead" | "first_value" | "last_value" | "nth_value" => {
                first_arg(func).is_some_and(|arg| self.is_interval(arg))
            }
            _ => false,
        }
    }

    /// Whether `left - right` is a timestamp difference (see [`is_difference`]).
    fn is_difference(&self, left: &Expr, right: &Expr) -> bool {
        is_difference(left, right, self.scope)
    }
}

/// Whether the column `expr` names is an interval: a table's interval column, or a column of
/// a derived table or CTE that computes one (by its name, in `derived`).
pub(super) fn is_interval_column(expr: &Expr, scope: &Scope<'_>, derived: &HashSet<String>) -> bool {
    if let Some(ty) = scope.column_type(expr) {
        return ty == PgType::Interval;
    }
    let name = match expr {
        Expr::Identifier(name) => Some(name),
        Expr::CompoundIdentifier(parts) => parts.last(),
        _ => None,
    };
    name.is_some_and(|name| derived.contains(&normalize_ident(name)))
}

/// Whether `expr` is an interval value, by what the statement says of its operands (for
/// callers without the statement's derived tables at hand).
pub(crate) fn is_interval(expr: &Expr, scope: &Scope<'_>) -> bool {
    Typing { scope, derived: HashSet::new() }.is_interval(expr)
}

/// The output columns of a statement's derived tables and CTEs (and VALUES lists) that are
/// intervals, by name: the outer query sees them only as names. Inner ones first, so a
/// column passed through two levels is found.
pub(super) fn derived_interval_columns(stmt: &Statement, scope: &Scope<'_>) -> HashSet<String> {
    struct Collect<'s, 'a> {
        typing: Typing<'s, 'a>,
        found: HashSet<String>,
    }
    impl Collect<'_, '_> {
        fn add(&mut self, body: &SetExpr, renamed: &[Ident]) {
            let mut body = body;
            while let SetExpr::SetOperation { left, .. } = body {
                body = left.as_ref();
            }
            let columns: Vec<(String, bool)> = match body {
                SetExpr::Select(select) => select
                    .projection
                    .iter()
                    .map(|item| match item {
                        SelectItem::ExprWithAlias { expr, alias } => (normalize_ident(alias), self.typing.is_interval(expr)),
                        SelectItem::UnnamedExpr(expr @ Expr::Identifier(name)) => (normalize_ident(name), self.typing.is_interval(expr)),
                        SelectItem::UnnamedExpr(expr @ Expr::CompoundIdentifier(parts)) => {
                            (parts.last().map(normalize_ident).unwrap_or_default(), self.typing.is_interval(expr))
                        }
                        SelectItem::UnnamedExpr(expr) => (String::new(), self.typing.is_interval(expr)),
                        _ => (String::new(), false),
                    })
                    .collect(),
                SetExpr::Values(values) => values.rows.first().map_or_else(Vec::new, |row| {
                    row.iter().enumerate().map(|(i, e)| (format!("column{}", i + 1), self.typing.is_interval(e))).collect()
                }),
                _ => Vec::new(),
            };
            for (i, (name, interval)) in columns.into_iter().enumerate() {
                let name = renamed.get(i).map_or(name, normalize_ident);
                if interval && !name.is_empty() {
                    self.found.insert(name);
                }
            }
        }
    }
    impl Visitor for Collect<'_, '_> {
        type Break = ();

        fn post_visit_table_factor(&mut self, factor: &TableFactor) -> ControlFlow<()> {
            if let TableFactor::Derived { subquery, alias, .. } = factor {
                let renamed: Vec<Ident> = alias.iter().flat_map(|a| a.columns.iter().map(|c| c.name.clone())).collect();
                self.add(&subquery.body, &renamed);
            }
            ControlFlow::Continue(())
        }

        fn post_visit_query(&mut self, query: &Query) -> ControlFlow<()> {
            for cte in query.with.iter().flat_map(|with| &with.cte_tables) {
                let renamed: Vec<Ident> = cte.alias.columns.iter().map(|c| c.name.clone()).collect();
                self.add(&cte.query.body, &renamed);
            }
            ControlFlow::Continue(())
        }
    }
    let mut collect = Collect { typing: Typing { scope, derived: HashSet::new() }, found: HashSet::new() };
    // Twice, so a column is found through a derived table inside another.
    for _ in 0..2 {
        let _ = stmt.visit(&mut collect);
        collect.typing.derived.clone_from(&collect.found);
    }
    collect.found
}

/// Whether `left - right` is a timestamp difference (a date beside a timestamp counts as its
/// midnight; two dates give a number of days) or one of two times of day.
fn is_difference(left: &Expr, right: &Expr, scope: &Scope<'_>) -> bool {
    if is_time(left, scope) && is_time(right, scope) {
        return true;
    }
    match (temporal_type(left, scope), temporal_type(right, scope)) {
        (Some(PgType::Date), Some(PgType::Date)) => false,
        (Some(_), Some(_)) => true,
        _ => false,
    }
}

struct IntervalRewrite<'s, 'a> {
    typing: Typing<'s, 'a>,
    opts: TranslateOptions,
    failure: Option<EngineError>,
}

impl VisitorMut for IntervalRewrite<'_, '_> {
    type Break = ();

    fn pre_visit_query(&mut self, query: &mut Query) -> ControlFlow<()> {
        let result = self.order_by_length(query);
        self.stop_on_error(result)
    }

    // Outermost first: whether an interval is compared, added to a timestamp or returned
    // decides what it becomes, and the operands of what it became are visited afterwards.
    fn pre_visit_expr(&mut self, expr: &mut Expr) -> ControlFlow<()> {
        let result = self.rewrite(expr);
        self.stop_on_error(result)
    }
}

impl IntervalRewrite<'_, '_> {
    fn stop_on_error(&mut self, result: Result<()>) -> ControlFlow<()> {
        match result {
            Ok(()) => ControlFlow::Continue(()),
            Err(e) => {
                self.failure = Some(e);
                ControlFlow::Break(())
            }
        }
    }

    /// ORDER BY an interval (written out, by output name or by position) sorts by its length.
    fn order_by_length(&self, query: &mut Query) -> Result<()> {
        let Some(order_by) = query.order_by.as_mut() else { return Ok(()) };
        let OrderByKind::Expressions(items) = &mut order_by.kind else { return Ok(()) };
        let projection = output_columns(&query.body);
        let set_operation = matches!(query.body.as_ref(), SetExpr::SetOperation { .. });
        for item in items {
            let target = output_expression(&item.expr, projection).unwrap_or(&item.expr);
            if self.typing.is_interval(target) {
                // SQLite orders a set operation by its output columns only, which hold text.
                if set_operation {
                    return Err(EngineError::unsupported("ORDER BY an interval of a set operation on SQLite"));
                }
                item.expr = self.length(target.clone())?;
            }
        }
        Ok(())
    }

    fn rewrite(&self, expr: &mut Expr) -> Result<()> {
        let typing = &self.typing;
        let replacement = match &mut *expr {
            Expr::BinaryOp { left, op, right } if is_comparison(op) && (typing.is_interval(left) || typing.is_interval(right)) => {
                Expr::BinaryOp { left: Box::new(self.length(take(left))?), op: op.clone(), right: Box::new(self.length(take(right))?) }
            }
            Expr::Between { expr: value, negated, low, high }
                if typing.is_interval(value) || typing.is_interval(low) || typing.is_interval(high) =>
            {
                Expr::Between {
                    expr: Box::new(self.length(take(value))?),
                    negated: *negated,
                    low: Box::new(self.length(take(low))?),
                    high: Box::new(self.length(take(high))?),
                }
            }
            Expr::InList { expr: value, list, negated } if typing.is_interval(value) || list.iter().any(|e| typing.is_interval(e)) => {
                let mut lengths = Vec::with_capacity(list.len());
                for item in list.drain(..) {
                    lengths.push(self.length(item)?);
                }
                Expr::InList { expr: Box::new(self.length(take(value))?), list: lengths, negated: *negated }
            }
            Expr::IsDistinctFrom(left, right) | Expr::IsNotDistinctFrom(left, right) if typing.is_interval(left) || typing.is_interval(right) => {
                let (left, right) = (Box::new(self.length(take(left))?), Box::new(self.length(take(right))?));
                if matches!(expr, Expr::IsDistinctFrom(..)) { Expr::IsDistinctFrom(left, right) } else { Expr::IsNotDistinctFrom(left, right) }
            }
            Expr::Extract { field, expr: inner, .. } if typing.is_interval(inner) => {
                call("rhei_interval_part", vec![string(&field_name(field)), self.text(take(inner))?])
            }
            // to_char of an interval formats its fields (see `value::to_char_interval`).
            Expr::Function(f)
                if f.name.to_string().eq_ignore_ascii_case("to_char")
                    && matches!(crate::translate::positional_args(f).as_slice(), [value, _] if typing.is_interval(value)) =>
            {
                let mut args = crate::translate::positional_args_mut(f);
                let [value, pattern] = args.as_mut_slice() else { return Ok(()) };
                call("rhei_interval_to_char", vec![self.text(take(value))?, take(pattern)])
            }
            Expr::BinaryOp { left, op: op @ (BinaryOperator::Plus | BinaryOperator::Minus), right }
                if typing.timestamp(left).is_some() && typing.is_interval(right)
                    || *op == BinaryOperator::Plus && typing.is_interval(left) && typing.timestamp(right).is_some() =>
            {
                // A constant is added by `rhei_ts_add` with its fields spelled out.
                if (is_interval_constant(left) || is_interval_constant(right))
                    && let Some(sum) = interval_sum(expr, typing.scope, self.opts)?
                {
                    *expr = sum;
                    return Ok(());
                }
                let Expr::BinaryOp { left, op, right } = expr else { return Ok(()) };
                let subtract = *op == BinaryOperator::Minus;
                let (value, interval) = if typing.timestamp(left).is_some() { (left, right) } else { (right, left) };
                let interval = self.text(take(interval))?;
                let interval = if subtract { call("rhei_interval_neg", vec![interval]) } else { interval };
                self.add_to_timestamp(take(value), interval)?
            }
            // A time plus an interval is the time of day the clock then shows: the interval's
            // days and months do not move it, its time wraps around midnight.
            Expr::BinaryOp { left, op: op @ (BinaryOperator::Plus | BinaryOperator::Minus), right }
                if is_time(left, typing.scope) && typing.is_interval(right)
                    || *op == BinaryOperator::Plus && typing.is_interval(left) && is_time(right, typing.scope) =>
            {
                let subtract = *op == BinaryOperator::Minus;
                let (value, interval) = if is_time(left, typing.scope) { (left, right) } else { (right, left) };
                let interval = self.text(take(interval))?;
                let interval = if subtract { call("rhei_interval_neg", vec![interval]) } else { interval };
                call("rhei_time_of_day", vec![call("rhei_ts_add_interval", vec![take(value), interval, number(0)])])
            }
            // Beside a value of no known date/time type SQLite would add the interval's text as
            // a number.
            Expr::BinaryOp { left, op: BinaryOperator::Plus | BinaryOperator::Minus, right } if typing.is_interval(left) != typing.is_interval(right) => {
                return Err(EngineError::unsupported("interval arithmetic on the OLTP engine with a value not known to be a date or timestamp (cast it)"));
            }
            Expr::Cast { expr: inner, data_type, .. } if is_text_type(data_type) && typing.is_interval(inner) => self.text(take(inner))?,
            Expr::Function(func) if function_name(func) == "date_part" => {
                let FunctionArguments::List(list) = &mut func.args else { return Ok(()) };
                let [FunctionArg::Unnamed(FunctionArgExpr::Expr(field)), FunctionArg::Unnamed(FunctionArgExpr::Expr(value))] =
                    list.args.as_mut_slice()
                else {
                    return Ok(());
                };
                if !typing.is_interval(value) {
                    return Ok(());
                }
                call("rhei_interval_part", vec![std::mem::replace(field, null()), self.text(std::mem::replace(value, null()))?])
            }
            // A window ordered by an interval sorts by its length.
            Expr::Function(func) if window_orders_by_interval(func, typing) && !typing.is_interval_call(func) => {
                if let Some(datafusion::sql::sqlparser::ast::WindowType::WindowSpec(spec)) = &mut func.over {
                    for item in &mut spec.order_by {
                        if typing.is_interval(&item.expr) {
                            item.expr = self.length(std::mem::replace(&mut item.expr, null()))?;
                        }
                    }
                }
                return Ok(());
            }
            // SQLite's would compare the text.
            Expr::Function(func)
                if matches!(function_name(func).as_str(), "greatest" | "least")
                    && matches!(&func.args, FunctionArguments::List(list) if list.args.iter().any(|a| matches!(a, FunctionArg::Unnamed(FunctionArgExpr::Expr(e)) if typing.is_interval(e)))) =>
            {
                return Err(EngineError::unsupported("greatest() and least() of intervals on SQLite"));
            }
            other if typing.is_interval(other) => self.text(std::mem::replace(other, null()))?,
            _ => return Ok(()),
        };
        *expr = replacement;
        Ok(())
    }

    /// A timestamp (or date) plus an interval's text, on the calendar of the session zone for a
    /// timestamptz.
    fn add_to_timestamp(&self, value: Expr, interval: Expr) -> Result<Expr> {
        Ok(match self.typing.timestamp(&value) {
            Some(PgType::Timestamptz) => call("rhei_tstz_add_interval", vec![value, interval, zone_argument(self.opts)]),
            // date + interval is a timestamp, as in PostgreSQL.
            Some(ty @ PgType::Date) => call("rhei_ts_add_interval", vec![as_micros(value, Some(ty)), interval, number(0)]),
            _ => call("rhei_ts_add_interval", vec![value, interval, number(0)]),
        })
    }

    /// What an interval is compared and sorted by: its length, from its text. A string beside
    /// an interval is read as one, as PostgreSQL reads an untyped literal there.
    fn length(&self, expr: Expr) -> Result<Expr> {
        if !self.typing.is_interval(&expr)
            && let Expr::Value(ValueWithSpan { value: Value::SingleQuotedString(text), .. }) = &expr
        {
            let interval = crate::value::parse_interval(text, None)
                .ok_or_else(|| EngineError::InvalidDatetimeFormat { type_name: "interval".into(), value: text.clone() })?;
            return Ok(call("rhei_interval_length", vec![string(&interval.to_text().ok_or(EngineError::IntervalOutOfRange)?)]));
        }
        Ok(call("rhei_interval_length", vec![self.text(expr)?]))
    }

    /// An interval expression as a SQLite expression giving its text.
    fn text(&self, expr: Expr) -> Result<Expr> {
        let typing = &self.typing;
        match interval_literal(&expr) {
            Ok(Some(constant)) => return Ok(string(&constant.to_text().ok_or(EngineError::IntervalOutOfRange)?)),
            // A cast of what is not a constant is read as the statement runs (below).
            Ok(None) | Err(EngineError::FeatureNotSupported { .. }) => {}
            Err(invalid) => return Err(invalid),
        }
        Ok(match expr {
            Expr::Nested(inner) => self.text(*inner)?,
            Expr::Cast { expr: inner, data_type: SqlType::Interval { .. }, .. } => call("rhei_interval_in", vec![*inner]),
            Expr::UnaryOp { op: UnaryOperator::Minus, expr: inner } => call("rhei_interval_neg", vec![self.text(*inner)?]),
            Expr::UnaryOp { op: UnaryOperator::Plus, expr: inner } => self.text(*inner)?,
            Expr::BinaryOp { left, op: BinaryOperator::Minus, right } if typing.is_difference(&left, &right) => {
                self.difference(*left, *right)
            }
            Expr::BinaryOp { left, op: op @ (BinaryOperator::Plus | BinaryOperator::Minus), right }
                if typing.is_interval(&left) && typing.is_interval(&right) =>
            {
                let name = if op == BinaryOperator::Plus { "rhei_interval_add" } else { "rhei_interval_sub" };
                call(name, vec![self.text(*left)?, self.text(*right)?])
            }
            Expr::BinaryOp { left, op: BinaryOperator::Multiply, right } if typing.is_interval(&left) != typing.is_interval(&right) => {
                let (interval, factor) = if typing.is_interval(&left) { (left, right) } else { (right, left) };
                call("rhei_interval_mul", vec![self.text(*interval)?, *factor])
            }
            Expr::BinaryOp { left, op: BinaryOperator::Divide, right } if typing.is_interval(&left) && !typing.is_interval(&right) => {
                call("rhei_interval_div", vec![self.text(*left)?, *right])
            }
            Expr::BinaryOp { left, op, right } if typing.is_interval(&left) || typing.is_interval(&right) => {
                return Err(EngineError::unsupported(format!("the operator {op} between these interval operands on SQLite")));
            }
            Expr::Function(func) => self.function_text(func)?,
            // `interval E'1 day'`: the value read as the statement runs.
            Expr::Interval(interval) if interval.leading_field.is_none() && interval.last_field.is_none() => {
                call("rhei_interval_in", vec![*interval.value])
            }
            // A derived table's interval column holds the text already.
            column @ (Expr::Identifier(_) | Expr::CompoundIdentifier(_)) => column,
            other if typing.is_interval(&other) => return Err(EngineError::unsupported(format!("the interval {other} on SQLite"))),
            // Text (a parameter, a column) read as an interval.
            other => call("rhei_interval_in", vec![other]),
        })
    }

    /// `a - b` of two dates or timestamps: a date counts as its midnight, and beside a
    /// timestamptz a timestamp as the instant its wall-clock time names in the session zone.
    fn difference(&self, left: Expr, right: Expr) -> Expr {
        if is_time(&left, self.typing.scope) {
            return call("rhei_time_difference", vec![left, right]);
        }
        let (left_ty, right_ty) = (self.typing.timestamp(&left), self.typing.timestamp(&right));
        let zoned = left_ty == Some(PgType::Timestamptz) || right_ty == Some(PgType::Timestamptz);
        let micros = |value: Expr, ty: Option<PgType>| {
            let micros = as_micros(value, ty);
            if zoned && ty != Some(PgType::Timestamptz) { instant(micros, self.opts) } else { micros }
        };
        call("rhei_interval_between", vec![micros(left, left_ty), micros(right, right_ty)])
    }

    fn function_text(&self, mut func: Function) -> Result<Expr> {
        let name = function_name(&func);
        if func.over.is_some() {
            return Err(EngineError::unsupported(format!("{name}() of intervals as a window function on SQLite")));
        }
        let FunctionArguments::List(list) = &mut func.args else {
            return Err(EngineError::unsupported(format!("{name}() without arguments")));
        };
        let mut args = Vec::with_capacity(list.args.len());
        for arg in &mut list.args {
            match arg {
                FunctionArg::Unnamed(FunctionArgExpr::Expr(e)) => args.push(std::mem::replace(e, null())),
                _ => return Err(EngineError::unsupported(format!("{name}() with named arguments"))),
            }
        }
        let wall = |value: Expr| {
            let ty = self.typing.timestamp(&value);
            wall_clock(as_micros(value, ty), ty, self.opts)
        };
        let mut args = args.into_iter();
        Ok(match (name.as_str(), args.next(), args.next(), args.next()) {
            ("age", Some(a), Some(b), None) => call("rhei_interval_age", vec![wall(a), wall(b)]),
            // age(t) counts from midnight of the session's today.
            ("age", Some(a), None, None) => {
                let today = call("rhei_days", vec![wall_clock(call("rhei_now", vec![]), Some(PgType::Timestamptz), self.opts)]);
                call("rhei_interval_age", vec![as_micros(today, Some(PgType::Date)), wall(a)])
            }
            ("justify_hours" | "justify_days" | "justify_interval", Some(interval), None, None) => {
                call(&format!("rhei_{name}"), vec![self.text(interval)?])
            }
            ("coalesce", first, second, rest) => {
                let mut texts = Vec::new();
                for arg in [first, second].into_iter().flatten().chain(rest).chain(args) {
                    texts.push(self.text(arg)?);
                }
                call("coalesce", texts)
            }
            // Equal by length, as `=` compares intervals (`nullif('24:00:00', '1 day')` is NULL).
            ("nullif", Some(a), Some(b), None) => {
                let value = self.text(a)?;
                let equal = Expr::BinaryOp { left: Box::new(self.length(value.clone())?), op: BinaryOperator::Eq, right: Box::new(self.length(b)?) };
                super::null_when(equal, value)
            }
            (aggregate_name, Some(interval), None, None) if let Some(kind) = crate::interval_aggregate::IntervalAggregate::of_name(aggregate_name) => {
                let mut aggregate = func.clone();
                aggregate.name = datafusion::sql::sqlparser::ast::ObjectName(vec![datafusion::sql::sqlparser::ast::ObjectNamePart::Identifier(
                    datafusion::sql::sqlparser::ast::Ident::new(kind.function_name()),
                )]);
                if let FunctionArguments::List(list) = &mut aggregate.args {
                    list.args = vec![FunctionArg::Unnamed(FunctionArgExpr::Expr(self.text(interval)?))];
                }
                Expr::Function(aggregate)
            }
            _ => return Err(EngineError::unsupported(format!("{name}() with these arguments on intervals on SQLite"))),
        })
    }
}

fn function_name(func: &Function) -> String {
    func.name.to_string().to_ascii_lowercase()
}

fn is_text_type(ty: &SqlType) -> bool {
    matches!(ty, SqlType::Text | SqlType::Varchar(_) | SqlType::CharacterVarying(_) | SqlType::String(_) | SqlType::Interval { .. })
}

/// The select list naming a query's output columns (a set operation's are its first select's).
pub(super) fn output_columns(body: &SetExpr) -> &[SelectItem] {
    match body {
        SetExpr::SetOperation { left, .. } => output_columns(left),
        SetExpr::Select(select) => select.projection.as_slice(),
        _ => &[],
    }
}

/// The select-list expression an ORDER BY item names by position or output name.
pub(super) fn output_expression<'p>(item: &Expr, projection: &'p [SelectItem]) -> Option<&'p Expr> {
    match item {
        Expr::Value(_) => super::positional_item(item, projection),
        Expr::Identifier(name) => projection.iter().find_map(|p| match p {
            SelectItem::ExprWithAlias { expr, alias } if normalize_ident(alias) == normalize_ident(name) => Some(expr),
            _ => None,
        }),
        _ => None,
    }
}

/// Whether a window function's OVER orders by an interval.
fn window_orders_by_interval(func: &Function, typing: &Typing<'_, '_>) -> bool {
    matches!(&func.over, Some(datafusion::sql::sqlparser::ast::WindowType::WindowSpec(spec))
        if spec.order_by.iter().any(|item| typing.is_interval(&item.expr)))
}
