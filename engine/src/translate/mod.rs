//! Translation of PostgreSQL statements for SQLite, on the AST (never by pasting text): casts and
//! typed literals become rhei's conversion functions (`oltp::functions`), `ILIKE` becomes a
//! case-folded `LIKE`, `now()` and friends read rhei's clock, `$n` placeholders become `?n`,
//! `EXTRACT` becomes `date_part`, and values written to or compared with typed columns are
//! converted to the column's storage form. What SQLite already shares with Postgres (`||`,
//! `RETURNING`, `ON CONFLICT ... DO UPDATE SET x = EXCLUDED.x`, TRUE/FALSE) passes through.
//!
//! Numeric columns are stored as exact text; wherever they are computed with or compared, they
//! are read as REAL so SQLite orders and sums them as numbers. A column projected bare keeps its
//! exact text.

pub(crate) mod arrays;
pub mod common_type;
pub mod constraints;
pub mod ddl;
pub mod distinct_on;
pub(crate) mod enums;
pub mod intervals;
pub mod json_sets;
pub mod lateral;
pub mod merge;
pub(crate) mod network;
pub(crate) mod numeric_arithmetic;
pub mod olap;
pub mod quantified;
pub mod returning_joined;
pub mod row_json;
pub mod type_of;
pub mod writing_with;

use std::collections::HashMap;
use std::ops::ControlFlow;

use datafusion::sql::sqlparser::ast::{
    BinaryOperator, CastKind, DataType as SqlType, Expr, Function, FunctionArg, FunctionArgExpr, GroupByExpr,
    FunctionArgumentList, FunctionArguments, Ident, ObjectName, ObjectNamePart, Query, SelectItem, SetExpr,
    Statement, TableFactor, TimezoneInfo, UnaryOperator, Value, ValueWithSpan, visit_expressions, visit_expressions_mut, visit_relations,
};
use datafusion::sql::sqlparser::tokenizer::Span;

use crate::catalog::{Catalog, ColumnDef, PgType, TableDef, normalize_ident, table_name};
use crate::error::{EngineError, Result};

/// Per-statement translation settings from the session.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct TranslateOptions {
    /// The session's time zone, for timestamptz input without a zone and for timestamptz shown
    /// or cast as wall-clock time.
    pub time_zone: crate::zone::TimeZone,
}

fn is_utc(opts: TranslateOptions) -> bool {
    opts.time_zone == crate::zone::TimeZone::UTC
}

/// A timestamptz's microseconds as the session zone's wall-clock time (others as they are).
fn wall_clock(micros: Expr, source: Option<PgType>, opts: TranslateOptions) -> Expr {
    if source == Some(PgType::Timestamptz) && !is_utc(opts) { call("rhei_local", vec![micros, zone_argument(opts)]) } else { micros }
}

/// The instant a wall-clock time (microseconds) names in the session zone.
fn instant(local: Expr, opts: TranslateOptions) -> Expr {
    if is_utc(opts) { local } else { call("rhei_utc", vec![local, zone_argument(opts)]) }
}

/// The session zone as an argument of rhei's SQLite functions.
fn zone_argument(opts: TranslateOptions) -> Expr {
    match opts.time_zone.sql_argument() {
        crate::zone::ZoneArgument::Seconds(seconds) => number(seconds.into()),
        crate::zone::ZoneArgument::Name(name) => string(name),
    }
}

/// Builds a call of a function by name.
pub fn call(name: &str, args: Vec<Expr>) -> Expr {
    Expr::Function(Function {
        name: ObjectName(vec![ObjectNamePart::Identifier(Ident::new(name))]),
        uses_odbc_syntax: false,
        parameters: FunctionArguments::None,
        args: FunctionArguments::List(FunctionArgumentList {
            duplicate_treatment: None,
            args: args.into_iter().map(|e| FunctionArg::Unnamed(FunctionArgExpr::Expr(e))).collect(),
            clauses: vec![],
        }),
        filter: None,
        null_treatment: None,
        over: None,
        within_group: vec![],
    })
}

/// `SET (a, b) = (x, y)` (or `= ROW(x, y)`, or `= (SELECT x, y ...)`, see [`nth_column`]) of
/// UPDATE, ON CONFLICT DO UPDATE and MERGE, as one assignment per column, which SQLite and
/// the rest of the translation take.
///
/// # Errors
/// 42601 when the columns and values differ in number, or a column is assigned twice, as in
/// PostgreSQL.
pub fn expand_tuple_assignments(statement: &mut Statement) -> Result<()> {
    use datafusion::sql::sqlparser::ast::{OnConflict, OnConflictAction, OnInsert, VisitMut, VisitorMut};
    struct Expand(Option<EngineError>);
    impl VisitorMut for Expand {
        type Break = ();
        fn pre_visit_statement(&mut self, statement: &mut Statement) -> std::ops::ControlFlow<()> {
            let assignments = match statement {
                Statement::Update(update) => Some(&mut update.assignments),
                Statement::Insert(insert) => match insert.on.as_mut() {
                    Some(OnInsert::OnConflict(OnConflict { action: OnConflictAction::DoUpdate(update), .. })) => Some(&mut update.assignments),
                    _ => None,
                },
                Statement::Merge(merge) => {
                    let failed = merge.clauses.iter_mut().find_map(|clause| match &mut clause.action {
                        datafusion::sql::sqlparser::ast::MergeAction::Update(update) => expand_assignments(&mut update.assignments).err(),
                        _ => None,
                    });
                    return match failed {
                        Some(e) => {
                            self.0 = Some(e);
                            std::ops::ControlFlow::Break(())
                        }
                        None => std::ops::ControlFlow::Continue(()),
                    };
                }
                _ => None,
            };
            match assignments.map(expand_assignments) {
                Some(Err(e)) => {
                    self.0 = Some(e);
                    std::ops::ControlFlow::Break(())
                }
                _ => std::ops::ControlFlow::Continue(()),
            }
        }
    }
    let mut expand = Expand(None);
    let _ = statement.visit(&mut expand);
    expand.0.map_or(Ok(()), Err)
}

fn expand_assignments(assignments: &mut Vec<datafusion::sql::sqlparser::ast::Assignment>) -> Result<()> {
    use datafusion::sql::sqlparser::ast::{Assignment, AssignmentTarget};
    if !assignments.iter().any(|a| matches!(a.target, AssignmentTarget::Tuple(_))) {
        return refuse_repeated_assignments(assignments);
    }
    let mut expanded = Vec::with_capacity(assignments.len());
    for Assignment { target, value } in std::mem::take(assignments) {
        let AssignmentTarget::Tuple(columns) = target else {
            expanded.push(Assignment { target, value });
            continue;
        };
        let values = match value {
            Expr::Tuple(values) => values,
            Expr::Function(f) if builtin_function_name(&f).as_deref() == Some("row") && let Some(values) = plain_arguments(&f) => values,
            Expr::Subquery(query) => (0..columns.len()).map(|i| Expr::Subquery(Box::new(nth_column(&query, i, columns.len())))).collect(),
            _ => return Err(EngineError::MultipleColumnSource),
        };
        if values.len() != columns.len() {
            return Err(EngineError::MalformedStatement { message: "number of columns does not match number of values" });
        }
        expanded.extend(columns.into_iter().zip(values).map(|(column, value)| Assignment { target: AssignmentTarget::ColumnName(column), value }));
    }
    *assignments = expanded;
    refuse_repeated_assignments(assignments)
}

/// `query` (a multiple-column assignment's sub-SELECT) reading only its `i`-th of `width`
/// columns: `SET (a, b) = (SELECT x, y FROM ...)` is `a = (SELECT x FROM ...), b = (SELECT y
/// FROM ...)`, one assignment per column as the translation converts them into each column's
/// storage form (each keeps its item's type, which the assignment casts read). ORDER BY and
/// GROUP BY items naming an output item by position or alias name its expression instead, so
/// every column's subquery picks the same row. A select list that cannot be cut apart (`*`, a
/// set operation) is read through a derived table naming its columns instead. Each column's
/// subquery runs on its own, so a volatile one may differ between the columns, and DISTINCT
/// over the whole row is DISTINCT over each column (a sub-SELECT of two rows that differ in
/// one column only is not refused with 21000).
fn nth_column(query: &Query, i: usize, width: usize) -> Query {
    use datafusion::sql::sqlparser::ast::{GroupByExpr, OrderByKind};
    let mut one = query.clone();
    if let SetExpr::Select(select) = one.body.as_mut()
        && select.projection.len() == width
        && select.projection.iter().all(|item| matches!(item, SelectItem::UnnamedExpr(_) | SelectItem::ExprWithAlias { .. }))
    {
        let items: Vec<(Option<String>, Expr)> = select
            .projection
            .iter()
            .filter_map(|item| match item {
                SelectItem::UnnamedExpr(e) => Some((None, e.clone())),
                SelectItem::ExprWithAlias { expr, alias } => Some((Some(normalize_ident(alias)), expr.clone())),
                _ => None,
            })
            .collect();
        // An output item by its position or alias, as its expression.
        let named = |expr: &mut Expr| {
            let at = match &*expr {
                Expr::Value(ValueWithSpan { value: Value::Number(n, _), .. }) => n.parse::<usize>().ok().and_then(|n| n.checked_sub(1)),
                Expr::Identifier(ident) => items.iter().position(|(alias, _)| alias.as_deref() == Some(normalize_ident(ident).as_str())),
                _ => None,
            };
            if let Some((_, item)) = at.and_then(|at| items.get(at)) {
                *expr = item.clone();
            }
        };
        if let GroupByExpr::Expressions(exprs, _) = &mut select.group_by {
            exprs.iter_mut().for_each(named);
        }
        let item = select.projection.swap_remove(i);
        select.projection = vec![item];
        if let Some(OrderByKind::Expressions(order)) = one.order_by.as_mut().map(|o| &mut o.kind) {
            order.iter_mut().for_each(|o| named(&mut o.expr));
        }
        return one;
    }
    let names: Vec<String> = (1..=width).map(|n| format!("\"_rhei_column_{n}\"")).collect();
    let sql = format!("SELECT {} FROM ({query}) AS \"_rhei_row\" ({})", names[i], names.join(", "));
    reread_query(&sql).unwrap_or(one)
}

/// A query rhei wrote as text around a client's (printed from its tree), read back.
fn reread_query(sql: &str) -> Option<Query> {
    use datafusion::sql::sqlparser::{dialect::PostgreSqlDialect, parser::Parser};
    match Parser::parse_sql(&PostgreSqlDialect {}, sql).ok()?.pop()? {
        Statement::Query(read) => Some(*read),
        _ => None,
    }
}

/// A column assigned twice is 42601 in PostgreSQL (SQLite kept the last value).
fn refuse_repeated_assignments(assignments: &[datafusion::sql::sqlparser::ast::Assignment]) -> Result<()> {
    use datafusion::sql::sqlparser::ast::AssignmentTarget;
    let mut seen = std::collections::HashSet::new();
    for assignment in assignments {
        if let AssignmentTarget::ColumnName(name) = &assignment.target
            && let Some(ObjectNamePart::Identifier(column)) = name.0.last()
            && !seen.insert(normalize_ident(column))
        {
            return Err(EngineError::RepeatedAssignment { column: normalize_ident(column) });
        }
    }
    Ok(())
}

/// A call's arguments when all are plain positional expressions.
fn plain_arguments(f: &datafusion::sql::sqlparser::ast::Function) -> Option<Vec<Expr>> {
    let FunctionArguments::List(list) = &f.args else { return None };
    list.args
        .iter()
        .map(|arg| match arg {
            FunctionArg::Unnamed(FunctionArgExpr::Expr(e)) => Some(e.clone()),
            _ => None,
        })
        .collect()
}

/// Rewrites PostgreSQL operators neither engine has into functions both have, once at parse
/// time: `a ^ b` (exponentiation; double precision for every numeric type but `numeric`,
/// whose exact result rhei does not compute) becomes `power(a::float8, b::float8)`; `LIKE
/// 'pattern' ESCAPE ''` (no escape character) and `ESCAPE '!'` (DataFusion takes only the
/// backslash) become the same pattern under the default backslash escape.
pub fn normalize_operators(statement: &mut Statement) {
    let _ = visit_expressions_mut(statement, |expr| {
        like_escape_as_backslash(expr);
        if let Some(each) = like_any_as_each(expr) {
            *expr = each;
        }
        // `a ^@ b` is starts_with(a, b), which both engines have as a function.
        if let Expr::BinaryOp { left, op: BinaryOperator::PGStartsWith, right } = expr {
            *expr = call("starts_with", vec![take(left), take(right)]);
        }
        // num_nulls(...) and num_nonnulls(...): how many arguments are (not) NULL, an integer.
        if let Expr::Function(f) = expr
            && let Some(name @ ("num_nulls" | "num_nonnulls")) = builtin_function_name(f).as_deref()
            && let Some(arguments) = plain_arguments(f).filter(|a| !a.is_empty())
        {
            let nulls = name == "num_nulls";
            let counted = arguments.into_iter().map(|argument| Expr::Case {
                case_token: datafusion::sql::sqlparser::ast::helpers::attached_token::AttachedToken::empty(),
                end_token: datafusion::sql::sqlparser::ast::helpers::attached_token::AttachedToken::empty(),
                operand: None,
                conditions: vec![datafusion::sql::sqlparser::ast::CaseWhen { condition: Expr::IsNull(Box::new(argument)), result: number(if nulls { 1 } else { 0 }) }],
                else_result: Some(Box::new(number(if nulls { 0 } else { 1 }))),
            });
            let sum = counted.reduce(|l, r| Expr::BinaryOp { left: Box::new(l), op: BinaryOperator::Plus, right: Box::new(r) }).unwrap_or_else(|| number(0));
            *expr = Expr::Cast { kind: CastKind::Cast, expr: Box::new(Expr::Nested(Box::new(sum))), data_type: SqlType::Integer(None), array: false, format: None };
        }
        // isfinite(date | timestamp | interval): rhei stores no infinite ones, so every value is
        // finite (NULL stays NULL).
        if let Expr::Function(f) = expr
            && builtin_function_name(f).as_deref() == Some("isfinite")
            && let Some([argument]) = plain_arguments(f).as_deref()
        {
            *expr = null_when(Expr::IsNull(Box::new(argument.clone())), Expr::Value(Value::Boolean(true).into()));
        }
        // normalize(text [, NFC | NFD | NFKC | NFKD]): the form is a keyword, which sqlparser
        // reads as a column; rhei_normalize takes it as text, on both engines.
        if let Expr::Function(f) = expr
            && builtin_function_name(f).as_deref() == Some("normalize")
            && let Some(arguments) = plain_arguments(f)
            && let Some(text) = arguments.first().filter(|_| arguments.len() <= 2)
        {
            let form = match arguments.get(1) {
                None => Some("NFC".to_string()),
                Some(Expr::Identifier(form)) if form.quote_style.is_none() => Some(form.value.to_ascii_uppercase()),
                Some(_) => None,
            };
            if let Some(form) = form {
                *expr = call("rhei_normalize", vec![text.clone(), string(&form)]);
            }
        }
        // timeofday(): the clock as text in the format PostgreSQL's has
        // (`Mon Dec 07 19:00:00.123456 2026 UTC`), which neither engine had.
        if let Expr::Function(f) = expr
            && builtin_function_name(f).as_deref() == Some("timeofday")
            && plain_arguments(f).is_some_and(|a| a.is_empty())
        {
            *expr = call("to_char", vec![call("clock_timestamp", vec![]), string("Dy Mon DD HH24:MI:SS.US YYYY TZ")]);
        }
        // `|/ x`, `||/ x` and `@ x`: square root, cube root and absolute value, which neither
        // engine reads as operators (SQLite failed on `|`).
        if let Expr::UnaryOp { op: op @ (UnaryOperator::PGSquareRoot | UnaryOperator::PGCubeRoot | UnaryOperator::PGAbs), expr: operand } = expr {
            let value = std::mem::replace(&mut **operand, Expr::Value(Value::Null.into()));
            *expr = match op {
                UnaryOperator::PGAbs => call("abs", vec![value]),
                root => {
                    let name = if matches!(root, UnaryOperator::PGSquareRoot) { "sqrt" } else { "cbrt" };
                    let float = Expr::Cast { kind: CastKind::Cast, expr: Box::new(value), data_type: SqlType::DoublePrecision, array: false, format: None };
                    call(name, vec![float])
                }
            };
        }
        if let Expr::BinaryOp { left, op: BinaryOperator::PGExp, right } = expr {
            let float = |e: &mut Box<Expr>| Expr::Cast {
                kind: CastKind::Cast,
                expr: Box::new(std::mem::replace(&mut **e, Expr::Value(Value::Null.into()))),
                data_type: SqlType::DoublePrecision,
                array: false,
                format: None,
            };
            let (base, exponent) = (float(left), float(right));
            *expr = call("power", vec![base, exponent]);
        }
        if let Expr::Function(f) = expr
            && builtin_function_name(f).as_deref() == Some("make_interval")
            && let Some(interval) = make_interval_as_sum(f)
        {
            *expr = interval;
        }
        // overlay(s placing r from p [for n]) is the text before p, r, and the text after the n
        // characters replaced (n defaults to r's length): SQLite has no overlay, and
        // DataFusion's returned no rows at all when applied to a column.
        if let Expr::Overlay { expr: text, overlay_what, overlay_from, overlay_for } = expr {
            let (text, placed, from) = (take(text), take(overlay_what), take(overlay_from));
            let count = overlay_for.as_mut().map_or_else(|| call("length", vec![placed.clone()]), |e| take(e));
            let nested = |e: Expr| Expr::Nested(Box::new(e));
            let before = call(
                "substr",
                vec![text.clone(), number(1), Expr::BinaryOp { left: Box::new(nested(from.clone())), op: BinaryOperator::Minus, right: Box::new(number(1)) }],
            );
            let after = call("substr", vec![text, Expr::BinaryOp { left: Box::new(nested(from)), op: BinaryOperator::Plus, right: Box::new(nested(count)) }]);
            let concat = |l: Expr, r: Expr| Expr::BinaryOp { left: Box::new(l), op: BinaryOperator::StringConcat, right: Box::new(r) };
            *expr = nested(concat(concat(before, placed), after));
        }
        ControlFlow::<()>::Continue(())
    });
}

/// `LIKE 'pattern' ESCAPE ''` (no escape character) and `ESCAPE '!'` written as the same
/// pattern under the default backslash escape, which is the only one DataFusion takes.
fn like_escape_as_backslash(expr: &mut Expr) {
    if let Expr::Like { pattern, escape_char, .. } | Expr::ILike { pattern, escape_char, .. } = expr
        && let Some(Value::SingleQuotedString(escape)) = escape_char
        && let Expr::Value(ValueWithSpan { value: Value::SingleQuotedString(text), .. }) = pattern.as_mut()
        && let Some(rewritten) = with_backslash_escape(text, escape)
    {
        *text = rewritten;
        *escape_char = None;
    }
}

/// `x [NOT] [I]LIKE ANY (ARRAY['a%', 'b%'])`, with the patterns written out, as each pattern's
/// own LIKE joined by OR, which is its meaning (NULLs included); neither engine takes LIKE
/// ANY. Over no patterns it is false. `None` for anything else (an array parameter or column).
fn like_any_as_each(expr: &Expr) -> Option<Expr> {
    let (Expr::Like { negated, any: true, expr: value, pattern, escape_char } | Expr::ILike { negated, any: true, expr: value, pattern, escape_char }) = expr else {
        return None;
    };
    let mut patterns = pattern.as_ref();
    while let Expr::Nested(inner) = patterns {
        patterns = inner;
    }
    let Expr::Array(array) = patterns else { return None };
    let ilike = matches!(expr, Expr::ILike { .. });
    let each = array.elem.iter().map(|pattern| {
        let (negated, expr, pattern, escape_char) = (*negated, value.clone(), Box::new(pattern.clone()), escape_char.clone());
        let mut one = if ilike { Expr::ILike { negated, any: false, expr, pattern, escape_char } } else { Expr::Like { negated, any: false, expr, pattern, escape_char } };
        like_escape_as_backslash(&mut one);
        one
    });
    let any = each.reduce(|l, r| Expr::BinaryOp { left: Box::new(l), op: BinaryOperator::Or, right: Box::new(r) });
    Some(Expr::Nested(Box::new(any.unwrap_or(Expr::Value(Value::Boolean(false).into())))))
}

/// `x [NOT] [I]LIKE ANY (array)` over an array value (a parameter, a column; patterns written
/// out were expanded at parse time): `rhei_like_any(x, array, how)` (`crate::like`), on SQLite
/// (`sqlite` given) with the array as JSON. `None` for anything else, or an ESCAPE clause.
pub(crate) fn like_any_call(expr: &mut Expr, sqlite: Option<TranslateOptions>) -> Option<Expr> {
    let ilike = matches!(expr, Expr::ILike { .. });
    let (Expr::Like { negated, any: true, expr: value, pattern, escape_char: None } | Expr::ILike { negated, any: true, expr: value, pattern, escape_char: None }) = expr else {
        return None;
    };
    let how = if ilike { crate::like::INSENSITIVE } else { 0 } | if *negated { crate::like::NEGATED } else { 0 };
    let mut array = pattern.as_ref();
    while let Expr::Nested(inner) = array {
        array = inner;
    }
    // `LIKE ANY (SELECT ...)` is a subquery's patterns, which this does not take.
    if matches!(array, Expr::Subquery(_)) {
        return None;
    }
    let array = array.clone();
    let array = match (sqlite, array) {
        (Some(opts), array) => call("rhei_array_json", vec![array, string("text"), zone_argument(opts)]),
        // An untyped literal (`'{a%,b%}'`) is a text array, as PostgreSQL reads it here.
        (None, literal @ Expr::Value(ValueWithSpan { value: Value::SingleQuotedString(_), .. })) => cast(
            literal,
            SqlType::Array(datafusion::sql::sqlparser::ast::ArrayElemTypeDef::SquareBracket(Box::new(SqlType::Text), None)),
        ),
        (None, array) => array,
    };
    Some(call("rhei_like_any", vec![take(value), array, number(how)]))
}

/// `make_interval(years, months, weeks, days, hours, mins, secs)`, by position or by name (`days
/// => 3`), as the sum of each unit's interval times its argument, which both engines compute
/// as PostgreSQL does (neither has make_interval, and SQLite cannot read the named form).
/// `None` for arguments it does not take (left for the engine to refuse).
fn make_interval_as_sum(f: &Function) -> Option<Expr> {
    const UNITS: [(&str, &str); 7] =
        [("years", "1 year"), ("months", "1 mon"), ("weeks", "7 days"), ("days", "1 day"), ("hours", "1 hour"), ("mins", "1 minute"), ("secs", "1 second")];
    let FunctionArguments::List(list) = &f.args else { return Some(interval_constant("0 seconds")) };
    let mut given: Vec<(usize, Expr)> = Vec::new();
    let mut named = false;
    for (position, arg) in list.args.iter().enumerate() {
        let (unit, value) = match arg {
            // A positional argument cannot follow a named one.
            FunctionArg::Unnamed(_) if named => return None,
            FunctionArg::Unnamed(FunctionArgExpr::Expr(value)) => (position, value),
            FunctionArg::Named { name, arg: FunctionArgExpr::Expr(value), .. } | FunctionArg::ExprNamed { name: Expr::Identifier(name), arg: FunctionArgExpr::Expr(value), .. } => {
                named = true;
                (UNITS.iter().position(|(unit, _)| *unit == normalize_ident(name))?, value)
            }
            _ => return None,
        };
        if unit >= UNITS.len() || given.iter().any(|(u, _)| *u == unit) {
            return None;
        }
        given.push((unit, value.clone()));
    }
    given.sort_by_key(|(unit, _)| *unit);
    let terms = given.into_iter().map(|(unit, value)| Expr::BinaryOp {
        left: Box::new(interval_constant(UNITS[unit].1)),
        op: BinaryOperator::Multiply,
        right: Box::new(Expr::Nested(Box::new(value))),
    });
    let sum = terms.reduce(|sum, term| Expr::BinaryOp { left: Box::new(sum), op: BinaryOperator::Plus, right: Box::new(term) });
    Some(Expr::Nested(Box::new(sum.unwrap_or_else(|| interval_constant("0 seconds")))))
}

/// `interval 'text'`.
fn interval_constant(text: &str) -> Expr {
    Expr::Interval(datafusion::sql::sqlparser::ast::Interval {
        value: Box::new(string(text)),
        leading_field: None,
        leading_precision: None,
        last_field: None,
        fractional_seconds_precision: None,
    })
}

/// `pattern` (a LIKE pattern under escape character `escape`, none when empty) written for the
/// default backslash escape; `None` when it cannot be (an escape of several characters, or one
/// ending the pattern: left for the engine to refuse).
fn with_backslash_escape(pattern: &str, escape: &str) -> Option<String> {
    let mut chars = escape.chars();
    let escape = match (chars.next(), chars.next()) {
        (None, _) => None,
        (Some('\\'), None) => return None,
        (Some(c), None) => Some(c),
        _ => return None,
    };
    let mut out = String::with_capacity(pattern.len() + 4);
    let mut pattern = pattern.chars();
    while let Some(c) = pattern.next() {
        if Some(c) == escape {
            out.push('\\');
            out.push(pattern.next()?);
        } else if c == '\\' {
            out.push_str("\\\\");
        } else {
            out.push(c);
        }
    }
    Some(out)
}

fn number(n: i64) -> Expr {
    Expr::Value(ValueWithSpan { value: Value::Number(n.to_string(), false), span: Span::empty() })
}

pub(crate) fn string(s: &str) -> Expr {
    Expr::Value(ValueWithSpan { value: Value::SingleQuotedString(s.to_string()), span: Span::empty() })
}

pub(crate) fn null() -> Expr {
    Expr::Value(ValueWithSpan { value: Value::Null, span: Span::empty() })
}

/// Wraps `expr` in the conversion to `ty`'s storage form (validating it as Postgres would).
pub fn convert_expr(ty: PgType, expr: Expr, opts: TranslateOptions) -> Expr {
    match ty {
        PgType::Int2 => call("rhei_int", vec![expr, number(16)]),
        PgType::Int4 => call("rhei_int", vec![expr, number(32)]),
        PgType::Int8 => call("rhei_int", vec![expr, number(64)]),
        PgType::Float4 => call("rhei_float", vec![expr, number(32)]),
        PgType::Float8 => call("rhei_float", vec![expr, number(64)]),
        PgType::Numeric { precision, scale } => {
            let mut f = call(
                "rhei_numeric",
                vec![expr, precision.map_or_else(null, |p| number(p.into())), scale.map_or_else(null, |s| number(s.into()))],
            );
            if let Expr::Function(f) = &mut f {
                exact_numeric_argument(f);
            }
            f
        }
        PgType::Text | PgType::Varchar(None) | PgType::Bpchar(None) => expr,
        PgType::Bytea => call("rhei_bytea", vec![expr]),
        PgType::Varchar(Some(n)) => call("rhei_varchar", vec![expr, number(n.into())]),
        PgType::Bpchar(Some(n)) => call("rhei_bpchar", vec![expr, number(n.into())]),
        PgType::Bool => call("rhei_bool", vec![expr]),
        PgType::Date => call("rhei_date", vec![expr]),
        PgType::Timestamp => call("rhei_ts", vec![expr]),
        PgType::Timestamptz => call("rhei_tstz", vec![expr, zone_argument(opts)]),
        PgType::Time => call("rhei_time", vec![expr]),
        PgType::Interval => call("rhei_interval_in", vec![expr]),
        PgType::Uuid => call("rhei_uuid", vec![expr]),
        PgType::Inet | PgType::Cidr => call(network::NET_INPUT, vec![expr, string(ty.net_kind().map_or("inet", |k| k.name()))]),
        PgType::Json => call("rhei_json", vec![expr]),
        PgType::Jsonb => call("rhei_jsonb", vec![expr]),
        // The labels go along, so the check needs no catalog (and holds in any SQL stored).
        PgType::Enum(e) => enums::checked(expr, e),
        PgType::Array(element) => call("rhei_array_in", vec![expr, string(&element.ty().pg_name()), zone_argument(opts)]),
    }
}

/// [`convert_expr`] for a value stored into a column of type `ty` (INSERT, UPDATE, DEFAULT, a
/// table rewrite), where an unconstrained numeric is also checked against what the OLAP copy
/// holds (`rhei_numeric`'s fourth argument): a cast in a query may compute a wider value.
pub fn assign_expr(ty: PgType, expr: Expr, opts: TranslateOptions) -> Expr {
    let mut converted = convert_expr(ty, expr, opts);
    if let (PgType::Numeric { scale: None, .. }, Expr::Function(f)) = (ty, &mut converted)
        && let FunctionArguments::List(list) = &mut f.args
    {
        list.args.push(FunctionArg::Unnamed(FunctionArgExpr::Expr(number(1))));
    }
    converted
}

/// Whether an INSERT's query can have its output items wrapped in conversions without changing
/// what it groups, dedups or orders by: a plain SELECT of expressions.
fn converts_in_place(source: &Query) -> bool {
    source.order_by.is_none()
        && matches!(source.body.as_ref(), SetExpr::Select(select)
            if select.distinct.is_none()
                && select.projection.iter().all(|i| matches!(i, SelectItem::UnnamedExpr(_) | SelectItem::ExprWithAlias { .. }))
                && !groups_by_position(&select.group_by))
}

/// The type of a query's item where an assignment cast depends on it (dates and times,
/// network addresses, numerics), as far as it is known.
fn typed_for_assignment(item: &Expr, scope: &Scope<'_>) -> Option<PgType> {
    let ty = temporal_type(item, scope).or_else(|| scope.column_type(item))?;
    matches!(ty, PgType::Date | PgType::Timestamp | PgType::Timestamptz | PgType::Inet | PgType::Cidr | PgType::Numeric { .. }).then_some(ty)
}

/// The expressions that give a query's columns: its first SELECT's items (the left of a set
/// operation) or its first VALUES row; `None` where a `*` leaves them unknown without the
/// catalog.
fn output_items(query: &Query) -> Option<Vec<&Expr>> {
    fn of(body: &SetExpr) -> Option<Vec<&Expr>> {
        match body {
            SetExpr::Select(select) => select
                .projection
                .iter()
                .map(|item| match item {
                    SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. } => Some(e),
                    _ => None,
                })
                .collect(),
            SetExpr::SetOperation { left, .. } => of(left),
            SetExpr::Values(values) => values.rows.first().map(|row| row.iter().collect()),
            SetExpr::Query(query) => of(&query.body),
            _ => None,
        }
    }
    of(&query.body)
}

/// Whether a GROUP BY names an output column by its position (`GROUP BY 1`).
fn groups_by_position(group_by: &datafusion::sql::sqlparser::ast::GroupByExpr) -> bool {
    match group_by {
        datafusion::sql::sqlparser::ast::GroupByExpr::All(_) => true,
        datafusion::sql::sqlparser::ast::GroupByExpr::Expressions(exprs, _) => {
            exprs.iter().any(|e| matches!(e, Expr::Value(ValueWithSpan { value: Value::Number(..), .. })))
        }
    }
}

/// Which tables a statement names, by the names and aliases it uses for them.
#[derive(Clone)]
pub(crate) struct Scope<'a> {
    by_qualifier: HashMap<String, &'a TableDef>,
    tables: Vec<&'a TableDef>,
    /// The typed columns of derived tables and WITH queries, by their names (see
    /// [`derived_columns`]).
    derived: HashMap<String, HashMap<String, PgType>>,
    /// How many derived tables, WITH queries and functions in FROM of the statement have a
    /// column of each name, typed or not: an unqualified name is typed by a derived column only
    /// where it names one column of all of them.
    derived_names: HashMap<String, usize>,
}

impl<'a> Scope<'a> {
    /// The scope of an expression that names no table (a column's DEFAULT).
    pub(crate) fn empty() -> Self {
        Scope { by_qualifier: HashMap::new(), tables: Vec::new(), derived: HashMap::new(), derived_names: HashMap::new() }
    }

    pub(crate) fn of(stmt: &Statement, catalog: &'a Catalog) -> Result<Self> {
        let mut scope = Scope::empty();
        // Walked for only when a name is not a table (rare: most statements name tables).
        let mut ctes: Option<std::collections::HashSet<String>> = None;
        let mut missing = None;
        let _ = visit_relations(stmt, |name| {
            if let Ok(table) = table_name(name) {
                match catalog.get(&table) {
                    Some(def) => {
                        scope.by_qualifier.insert(table, def.as_ref());
                        if !scope.tables.iter().any(|t| t.id == def.id) {
                            scope.tables.push(def.as_ref());
                        }
                    }
                    // SQLite's own table-valued function (see `SeriesAsSubqueries`).
                    None if table == "generate_series" || table == crate::oltp::unnest::TABLE || crate::oltp::json_sets::is_table_name(&table) || ctes.get_or_insert_with(|| cte_names(stmt)).contains(&table) => {}
                    None if missing.is_none() => missing = Some(table),
                    None => {}
                }
            }
            ControlFlow::<()>::Continue(())
        });
        if let Some(name) = missing {
            return Err(EngineError::UndefinedTable { name });
        }
        collect_aliases(stmt, catalog, &mut scope.by_qualifier);
        derived_columns(stmt, catalog, &mut scope);
        // An INSERT's alias, and in its ON CONFLICT DO UPDATE the row proposed for insertion
        // (`excluded.took`), name the target table's columns.
        if let Statement::Insert(insert) = stmt
            && let datafusion::sql::sqlparser::ast::TableObject::TableName(name) = &insert.table
            && let Ok(table) = table_name(name)
            && let Some(def) = catalog.get(&table)
        {
            if let Some(alias) = &insert.table_alias {
                scope.by_qualifier.insert(normalize_ident(alias), def.as_ref());
            }
            if insert.on.is_some() {
                scope.by_qualifier.entry("excluded".into()).or_insert(def.as_ref());
            }
        }
        Ok(scope)
    }

    /// The scope an INSERT's query reads its names in: without the written table, unless the
    /// query reads that table too (its columns would make the query's own names ambiguous:
    /// `INSERT INTO copy SELECT at FROM t` where both have `at`).
    fn of_insert_source(&self, target: &TableDef, source: &Query) -> Scope<'a> {
        let reads_target = visit_relations(source, |name| match table_name(name) {
            Ok(t) if t == target.name => ControlFlow::Break(()),
            _ => ControlFlow::Continue(()),
        })
        .is_break();
        let mut scope = self.clone();
        if !reads_target {
            scope.tables.retain(|t| t.id != target.id);
            scope.by_qualifier.retain(|qualifier, t| t.id != target.id || qualifier == "excluded");
        }
        scope
    }

    pub(crate) fn column_type(&self, expr: &Expr) -> Option<PgType> {
        match expr {
            Expr::Nested(inner) => self.column_type(inner),
            Expr::Identifier(ident) => {
                let name = normalize_ident(ident);
                let mut found = self.tables.iter().filter_map(|t| t.column_index(&name).map(|i| t.columns[i].ty));
                match (found.next(), found.next()) {
                    (Some(ty), None) => Some(ty),
                    (Some(_), Some(_)) => None,
                    // A derived table's or WITH query's column, named without its qualifier
                    // (`WITH q AS (SELECT x::date AS d ...) SELECT ... WHERE d > '2024-01-01'`:
                    // untyped, the literal stayed text and compared with day numbers).
                    (None, _) if self.derived_names.get(&name) == Some(&1) => self.derived.values().find_map(|columns| columns.get(&name)).copied(),
                    (None, _) => None,
                }
            }
            Expr::CompoundIdentifier(parts) if parts.len() >= 2 => {
                let qualifier = normalize_ident(&parts[parts.len() - 2]);
                let column = normalize_ident(&parts[parts.len() - 1]);
                if let Some(columns) = self.derived.get(&qualifier) {
                    return columns.get(&column).copied();
                }
                let table = self.by_qualifier.get(&qualifier)?;
                table.column_index(&column).map(|i| table.columns[i].ty)
            }
            // An element of an array column (`tags[1]`).
            Expr::CompoundFieldAccess { root, access_chain }
                if access_chain.len() == 1 && matches!(access_chain[0], datafusion::sql::sqlparser::ast::AccessExpr::Subscript(datafusion::sql::sqlparser::ast::Subscript::Index { .. })) =>
            {
                match self.column_type(root)? {
                    PgType::Array(element) => Some(element.ty()),
                    _ => None,
                }
            }
            _ => None,
        }
    }
}

/// The names of the statement's WITH queries, at any depth: a WITH inside a subquery, a
/// derived table or an INSERT's source names its queries as well as a leading one does.
fn cte_names(stmt: &Statement) -> std::collections::HashSet<String> {
    struct Names(std::collections::HashSet<String>);
    impl datafusion::sql::sqlparser::ast::Visitor for Names {
        type Break = ();
        fn pre_visit_query(&mut self, query: &Query) -> ControlFlow<()> {
            self.0.extend(query.with.iter().flat_map(|w| w.cte_tables.iter()).map(|cte| normalize_ident(&cte.alias.name)));
            ControlFlow::Continue(())
        }
    }
    let mut names = Names(std::collections::HashSet::new());
    let _ = datafusion::sql::sqlparser::ast::Visit::visit(stmt, &mut names);
    names.0
}

/// The columns of the statement's derived tables and WITH queries whose types the scope
/// knows: an output column that is a cast, a qualified column of a known type, or an
/// unqualified one of the tables its own FROM names (so `t.born` of `FROM (SELECT born FROM
/// users) t` is a date, which SQLite holds as a day number). Only names bound once in the
/// statement: the scope is statement-wide, and a name that is also a table's, an alias's or
/// another derived table's could mean either at some level.
fn derived_columns(stmt: &Statement, catalog: &Catalog, scope: &mut Scope<'_>) {
    use datafusion::sql::sqlparser::ast::{Visit, Visitor};
    /// A derived table or WITH query: its name, its column names, its select list, and the
    /// catalog tables of its FROM (`None` where it reads anything else).
    type Source = (String, Vec<String>, Vec<Expr>, Option<Vec<String>>);
    struct Sources(Vec<Source>, HashMap<String, usize>);
    impl Sources {
        fn count(&mut self, names: &[String]) {
            for name in names {
                *self.1.entry(name.clone()).or_default() += 1;
            }
        }
        fn add(&mut self, name: &Ident, columns: &[datafusion::sql::sqlparser::ast::TableAliasColumnDef], query: &Query) {
            let names = if columns.is_empty() { crate::naming::output_names(query) } else { Some(columns.iter().map(|c| normalize_ident(&c.name)).collect()) };
            self.count(names.as_deref().unwrap_or_default());
            let SetExpr::Select(select) = query.body.as_ref() else { return };
            let Some(names) = names else { return };
            // Up to a `*`, whose columns the names may count where the list does not.
            let items: Vec<Expr> = select
                .projection
                .iter()
                .map_while(|item| match item {
                    SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. } => Some(e.clone()),
                    _ => None,
                })
                .collect();
            let tables = select
                .from
                .iter()
                .flat_map(|t| std::iter::once(&t.relation).chain(t.joins.iter().map(|j| &j.relation)))
                .map(|factor| match factor {
                    TableFactor::Table { name, args: None, .. } => table_name(name).ok(),
                    _ => None,
                })
                .collect();
            self.0.push((normalize_ident(name), names, items, tables));
        }
    }
    impl Visitor for Sources {
        type Break = ();
        fn post_visit_table_factor(&mut self, factor: &TableFactor) -> ControlFlow<()> {
            match factor {
                TableFactor::Derived { subquery, alias: Some(alias), .. } => self.add(&alias.name, &alias.columns, subquery),
                // A function's columns (a JSON set function's, `unnest`'s) are named by its alias.
                TableFactor::Table { args: Some(_), alias: Some(alias), .. } | TableFactor::UNNEST { alias: Some(alias), .. } | TableFactor::Function { alias: Some(alias), .. } => {
                    let names: Vec<String> = std::iter::once(&alias.name).chain(alias.columns.iter().map(|c| &c.name)).map(normalize_ident).collect();
                    self.count(&names);
                }
                _ => {}
            }
            ControlFlow::Continue(())
        }
        fn pre_visit_query(&mut self, query: &Query) -> ControlFlow<()> {
            for cte in query.with.iter().flat_map(|w| &w.cte_tables) {
                self.add(&cte.alias.name, &cte.alias.columns, &cte.query);
            }
            ControlFlow::Continue(())
        }
    }
    let mut sources = Sources(Vec::new(), HashMap::new());
    let _ = stmt.visit(&mut sources);
    scope.derived_names = std::mem::take(&mut sources.1);
    if sources.0.is_empty() {
        return;
    }
    let ctes = cte_names(stmt);
    let bound_once = |name: &str| sources.0.iter().filter(|(n, ..)| n == name).count() == 1 && !scope.by_qualifier.contains_key(name);
    let once: Vec<bool> = sources.0.iter().map(|(name, ..)| bound_once(name)).collect();
    for ((name, names, items, tables), once) in sources.0.into_iter().zip(once) {
        if !once {
            continue;
        }
        // An unqualified column of the source's own FROM, when that names only tables.
        let own_column = |column: &str| {
            let tables = tables.as_ref()?;
            let mut found = tables.iter().filter(|t| !ctes.contains(*t)).filter_map(|t| catalog.get(t)).filter_map(|def| def.column_index(column).map(|i| def.columns[i].ty));
            let ty = found.next()?;
            found.next().is_none().then_some(ty)
        };
        let types = names
            .into_iter()
            .zip(&items)
            .filter_map(|(column, item)| {
                let ty = match item {
                    Expr::Cast { data_type, .. } => PgType::from_sql(data_type).ok().map(|d| d.ty),
                    Expr::CompoundIdentifier(_) => scope.column_type(item),
                    Expr::CompoundFieldAccess { .. } => arrays::subscript_type(item, scope),
                    Expr::Identifier(ident) if tables.as_ref().is_some_and(|t| t.iter().all(|t| !ctes.contains(t) && catalog.get(t).is_some())) => own_column(&normalize_ident(ident)),
                    _ => None,
                };
                ty.map(|ty| (column, ty))
            })
            .collect();
        scope.derived.insert(name, types);
    }
}

fn collect_aliases<'a>(stmt: &Statement, catalog: &'a Catalog, out: &mut HashMap<String, &'a TableDef>) {
    use datafusion::sql::sqlparser::ast::Visit;
    struct Aliases<'a, 'b> {
        catalog: &'a Catalog,
        out: &'b mut HashMap<String, &'a TableDef>,
    }
    impl datafusion::sql::sqlparser::ast::Visitor for Aliases<'_, '_> {
        type Break = ();
        fn pre_visit_table_factor(&mut self, factor: &TableFactor) -> ControlFlow<()> {
            if let TableFactor::Table { name, alias: Some(alias), .. } = factor
                && let Ok(table) = table_name(name)
                && let Some(def) = self.catalog.get(&table)
            {
                self.out.insert(normalize_ident(&alias.name), def.as_ref());
            }
            ControlFlow::Continue(())
        }
    }
    let _ = stmt.visit(&mut Aliases { catalog, out });
}

pub(crate) fn is_literal_like(expr: &Expr) -> bool {
    matches!(
        expr,
        Expr::Value(ValueWithSpan { value: Value::SingleQuotedString(_) | Value::Placeholder(_), .. })
    )
}

pub(crate) fn is_comparison(op: &BinaryOperator) -> bool {
    matches!(
        op,
        BinaryOperator::Eq
            | BinaryOperator::NotEq
            | BinaryOperator::Lt
            | BinaryOperator::LtEq
            | BinaryOperator::Gt
            | BinaryOperator::GtEq
    )
}

/// `CAST(expr AS ty)`.
/// `expr`, and a parameter as `CAST($n AS ty)`: DataFusion infers no type for a parameter
/// passed to a function of rhei's own.
pub(crate) fn typed_parameter(expr: Expr, ty: SqlType) -> Expr {
    match expr {
        parameter @ Expr::Value(ValueWithSpan { value: Value::Placeholder(_), .. }) => cast(parameter, ty),
        other => other,
    }
}

pub(crate) fn cast(expr: Expr, ty: SqlType) -> Expr {
    Expr::Cast { kind: CastKind::Cast, expr: Box::new(expr), data_type: ty, array: false, format: None }
}

fn as_real(expr: Expr) -> Expr {
    cast(expr, SqlType::Real)
}

/// The digits of a long number literal as the rewrite above writes it (`CAST('...' AS REAL)`).
fn long_number_text(expr: &Expr) -> Option<&str> {
    match unwrap_real(expr)? {
        Expr::Value(ValueWithSpan { value: Value::SingleQuotedString(t), .. })
            if t.bytes().all(|b| b.is_ascii_digit() || b".eE+-".contains(&b)) && crate::lift::needs_exact_text(t) =>
        {
            Some(t)
        }
        _ => None,
    }
}

/// A long number literal given to `rhei_numeric` goes in as its exact text, and so does a
/// numeric column (`UPDATE t SET b = a`, `INSERT ... SELECT`): read as a number it went through
/// a double (`2.50` was stored as `2.5`, and digits past the 15th were lost).
fn exact_numeric_argument(f: &mut Function) {
    if let FunctionArguments::List(list) = &mut f.args
        && let Some(FunctionArg::Unnamed(FunctionArgExpr::Expr(first))) = list.args.first_mut()
    {
        if let Some(text) = long_number_text(first).map(str::to_string) {
            *first = string(&text);
        } else if let Some(column) = exact_column(first).cloned() {
            *first = column;
        }
    }
}

/// Whether `expr` is a conversion to numeric already in SQLite form (`rhei_numeric(...)`),
/// signed or in parentheses.
fn is_numeric_cast(expr: &Expr) -> bool {
    match expr {
        Expr::Nested(inner) | Expr::UnaryOp { expr: inner, .. } => is_numeric_cast(inner),
        Expr::Function(f) => f.name.to_string() == "rhei_numeric",
        _ => false,
    }
}

/// Operands compared with a conversion to numeric (exact text, which SQLite compares as text)
/// compared by their numeric keys instead (`oltp::numeric_ops::numeric_key`): exactly, NaN
/// the greatest; each operand as the exact text it is when it was read as REAL (a numeric
/// column, a long literal).
fn numeric_keys(operands: &mut [&mut Expr]) {
    if !operands.iter().any(|operand| is_numeric_cast(operand)) {
        return;
    }
    for operand in operands {
        let value = std::mem::replace(&mut **operand, null());
        let value = match unwrap_real(&value) {
            Some(exact) => exact.clone(),
            None => value,
        };
        **operand = call(crate::oltp::numeric_ops::KEY, vec![value]);
    }
}

fn unwrap_real(expr: &Expr) -> Option<&Expr> {
    match expr {
        Expr::Cast { kind: CastKind::Cast, expr, data_type: SqlType::Real, .. } => Some(expr),
        _ => None,
    }
}

/// The decimals PostgreSQL's numeric `extract(name from x)` has: microseconds for seconds and
/// epochs (none for a date's epoch), thousandths for milliseconds, none for the rest; `None`
/// for a Julian date, which has as many as it needs.
pub(crate) fn extract_scale(name: &str, of_date: bool) -> Option<i64> {
    match name {
        "epoch" if of_date => Some(0),
        "epoch" | "second" | "seconds" | "sec" | "secs" | "s" => Some(6),
        "millisecond" | "milliseconds" | "msec" | "msecs" | "ms" => Some(3),
        "julian" => None,
        _ => Some(0),
    }
}

/// The SQLite text of a Postgres date/time field name for `date_part`.
pub(crate) fn field_name(field: &datafusion::sql::sqlparser::ast::DateTimeField) -> String {
    field.to_string().to_ascii_lowercase().trim_matches('\'').to_string()
}

/// The JSON type of a value as PostgreSQL's json builders would see it, for SQLite, which
/// stores booleans, dates and times as integers: read from the statement before it is
/// translated (`unknown` leaves it to the stored value's own type).
pub(crate) fn json_tag(expr: &Expr, scope: &Scope<'_>) -> &'static str {
    let of_type = |ty: PgType| match ty {
        PgType::Int2 | PgType::Int4 | PgType::Int8 | PgType::Float8 | PgType::Numeric { .. } => "number",
        PgType::Float4 => "float4",
        PgType::Bool => "bool",
        PgType::Date => "date",
        PgType::Timestamp => "timestamp",
        PgType::Timestamptz => "timestamptz",
        PgType::Time => "time",
        PgType::Interval => "interval",
        PgType::Json => "json",
        PgType::Jsonb => "jsonb",
        PgType::Bytea => "bytea",
        PgType::Text | PgType::Varchar(_) | PgType::Bpchar(_) | PgType::Uuid | PgType::Inet | PgType::Cidr | PgType::Enum(_) => "text",
        // SQLite holds an array as a JSON array of its elements' storage values, which are
        // their JSON values for numbers and text.
        PgType::Array(element) => match element.ty() {
            PgType::Int2 | PgType::Int4 | PgType::Int8 | PgType::Float8 => "json",
            PgType::Text | PgType::Varchar(_) | PgType::Bpchar(_) | PgType::Uuid => "json",
            _ => "unknown",
        },
    };
    match expr {
        Expr::Nested(inner) => json_tag(inner, scope),
        Expr::Value(v) => match &v.value {
            Value::Number(..) => "number",
            Value::Boolean(_) => "bool",
            Value::Null => "null",
            _ => "text",
        },
        Expr::Cast { data_type, .. } => PgType::from_sql(data_type).map_or("unknown", |t| of_type(t.ty)),
        Expr::TypedString(typed) => PgType::from_sql(&typed.data_type).map_or("unknown", |t| of_type(t.ty)),
        // `ARRAY[1, 2]` and `ARRAY['a']`, which SQLite builds as the JSON array PostgreSQL writes.
        // (Integers only: `1.50` would lose its scale.)
        Expr::Array(array)
            if !array.elem.is_empty()
                && array.elem.iter().all(|e| matches!(e, Expr::Value(v) if matches!(&v.value, Value::Number(n, _) if !n.contains(['.', 'e', 'E'])) || matches!(v.value, Value::SingleQuotedString(_)))) =>
        {
            "json"
        }
        Expr::BinaryOp { op, left, .. } => match op {
            BinaryOperator::Arrow | BinaryOperator::HashArrow => {
                if json_tag(left, scope) == "json" { "json" } else { "jsonb" }
            }
            BinaryOperator::LongArrow | BinaryOperator::HashLongArrow | BinaryOperator::StringConcat => "text",
            BinaryOperator::Plus | BinaryOperator::Minus if is_time(expr, scope) => "time",
            BinaryOperator::Plus | BinaryOperator::Minus if temporal_type(expr, scope) == Some(PgType::Timestamp) => "timestamp",
            BinaryOperator::Plus | BinaryOperator::Minus | BinaryOperator::Multiply | BinaryOperator::Divide | BinaryOperator::Modulo => {
                match json_tag(left, scope) {
                    tag @ ("date" | "timestamp" | "timestamptz") => tag,
                    _ => "number",
                }
            }
            op if is_comparison(op) => "bool",
            BinaryOperator::And
            | BinaryOperator::Or
            | BinaryOperator::AtArrow
            | BinaryOperator::ArrowAt
            | BinaryOperator::Question
            | BinaryOperator::QuestionPipe
            | BinaryOperator::QuestionAnd => "bool",
            BinaryOperator::HashMinus => "jsonb",
            _ => "unknown",
        },
        // extract() is numeric (a double on SQLite, which is why its text is made).
        Expr::Extract { .. } => "number",
        Expr::Substring { expr, .. } if json_tag(expr, scope) == "bytea" => "bytea",
        Expr::UnaryOp { op: datafusion::sql::sqlparser::ast::UnaryOperator::Not, .. }
        | Expr::IsNull(_)
        | Expr::IsNotNull(_)
        | Expr::IsTrue(_)
        | Expr::IsFalse(_)
        | Expr::IsNotTrue(_)
        | Expr::IsNotFalse(_)
        | Expr::IsDistinctFrom(..)
        | Expr::IsNotDistinctFrom(..)
        | Expr::InList { .. }
        | Expr::InSubquery { .. }
        | Expr::Between { .. }
        | Expr::Like { .. }
        | Expr::ILike { .. }
        | Expr::Exists { .. } => "bool",
        Expr::Function(f) => match f.name.to_string().to_ascii_lowercase().as_str() {
            "count" | "sum" | "avg" | "length" | "char_length" | "abs" | "round" | "floor" | "ceil" | "jsonb_array_length" | "json_array_length" => {
                "number"
            }
            "now" | "current_timestamp" => "timestamptz",
            "current_date" => "date",
            "rhei_time" | "rhei_time_of_day" | "rhei_round_time" => "time",
            "rhei_local" | "rhei_ts" => "timestamp",
            // rhei's own names: the same rewrites have run inside this expression on DataFusion.
            "jsonb_build_object" | "jsonb_build_array" | "to_jsonb" | "jsonb_agg" | "jsonb_object_agg" | "jsonb_extract_path" | "rhei_jsonb_concat"
            | "rhei_jsonb_delete" | "rhei_jsonb_delete_path" | "jsonb_set" | "jsonb_insert" | "jsonb_strip_nulls" | "rhei_jsonb" | "rhei_row_to_jsonb" => "jsonb",
            "jsonb_pretty" => "text",
            "decode" | "sha224" | "sha256" | "sha384" | "sha512" | "rhei_bytea" | "rhei_bytea_concat" => "bytea",
            "rhei_jsonb_exists_any" | "rhei_jsonb_exists_all" => "bool",
            "rhei_json" => "json",
            "rhei_json_get" | "rhei_json_path" => match first_arg(f) {
                Some(arg) if json_tag(arg, scope) == "json" => "json",
                _ => "jsonb",
            },
            "rhei_json_get_text" | "rhei_json_path_text" => "text",
            "json_build_object" | "json_build_array" | "to_json" | "json_agg" | "json_object_agg" | "json_extract_path"
            | "json_strip_nulls" | "rhei_row_to_json" | "rhei_json_agg_rows" => "json",
            "min" | "max" | "coalesce" => first_arg(f).map_or("unknown", |arg| json_tag(arg, scope)),
            // SQLite gathers integers and text into the JSON array PostgreSQL writes (not floats,
            // which serde writes as `1.0`, nor char(n), kept without its padding).
            "array_agg" if first_arg(f).is_some_and(|arg| scope.column_type(arg).is_some_and(|t| matches!(t, PgType::Int2 | PgType::Int4 | PgType::Int8 | PgType::Text | PgType::Varchar(_)))) => "json",
            "rhei_json_items" => "json",
            "make_timestamp" => "timestamp",
            "rhei_make_timestamptz" | "make_timestamptz" => "timestamptz",
            "substring" | "substr" if first_arg(f).is_some_and(|arg| json_tag(arg, scope) == "bytea") => "bytea",
            "rhei_bytea_substring" => "bytea",
            "upper" | "lower" | "concat" | "substring" | "trim" | "jsonb_typeof" | "json_typeof" => "text",
            _ => "unknown",
        },
        other => scope.column_type(other).map_or("unknown", of_type),
    }
}

/// A call's first argument, when it is a plain expression.
pub(crate) fn first_arg(f: &datafusion::sql::sqlparser::ast::Function) -> Option<&Expr> {
    match &f.args {
        FunctionArguments::List(list) => match list.args.first() {
            Some(FunctionArg::Unnamed(FunctionArgExpr::Expr(arg))) => Some(arg),
            _ => None,
        },
        _ => None,
    }
}

/// [`json_tag`], with the scale of a numeric that has one (`numeric:2`): SQLite computes with
/// it as a float, PostgreSQL puts its digits into JSON to the scale.
fn json_tag_with_scale(expr: &Expr, scope: &Scope<'_>) -> String {
    let declared = match expr {
        Expr::Cast { data_type, .. } => PgType::from_sql(data_type).ok().map(|t| t.ty),
        other => scope.column_type(other),
    };
    match declared {
        Some(PgType::Numeric { scale: Some(scale), .. }) => format!("numeric:{scale}"),
        _ => json_tag(expr, scope).to_string(),
    }
}

/// jsonb's `||` (merge or concatenate) and `-` (delete a key or element) as functions: both
/// operators mean something else on other types, so only where an operand is known to be
/// jsonb (the other side of `||` jsonb too, or a string literal, as PostgreSQL resolves it).
pub(crate) fn jsonb_operators_as_calls(expr: &mut Expr, scope: &Scope<'_>) {
    let Expr::BinaryOp { left, op, right } = expr else { return };
    let jsonb = |e: &Expr| json_tag(e, scope) == "jsonb";
    let name = match op {
        BinaryOperator::StringConcat
            if (jsonb(left) && (jsonb(right) || is_string_literal(right))) || (jsonb(right) && is_string_literal(left)) =>
        {
            "rhei_jsonb_concat"
        }
        BinaryOperator::Minus if jsonb(left) => "rhei_jsonb_delete",
        _ => return,
    };
    let left = std::mem::replace(left.as_mut(), null());
    let right = std::mem::replace(right.as_mut(), null());
    *expr = call(name, vec![left, right]);
}

/// Whether PostgreSQL types `expr` bytea: a bytea column or cast, or what bytea's functions
/// and `||` give.
pub(crate) fn is_bytea(expr: &Expr, scope: &Scope<'_>) -> bool {
    json_tag(expr, scope) == "bytea"
}

/// bytea's `||` as a call, on both engines: SQLite would concatenate the bytes as text, and
/// DataFusion refuses binary operands. Only where an operand is bytea and the other bytea too
/// or a string literal, which PostgreSQL reads as bytea there (bytea `||` text is text).
pub(crate) fn bytea_concat_as_call(expr: &mut Expr, scope: &Scope<'_>) {
    let Expr::BinaryOp { left, op: BinaryOperator::StringConcat, right } = expr else { return };
    let bytea = |e: &Expr| is_bytea(e, scope);
    if (bytea(left) && (bytea(right) || is_string_literal(right))) || (bytea(right) && is_string_literal(left)) {
        let left = std::mem::replace(left.as_mut(), null());
        let right = std::mem::replace(right.as_mut(), null());
        *expr = call("rhei_bytea_concat", vec![left, right]);
    }
}

/// `e` read as PostgreSQL's bytea input (`rhei_bytea(e)`), on either engine.
pub(crate) fn read_as_bytea(e: &mut Expr) {
    let text = std::mem::replace(e, null());
    *e = call("rhei_bytea", vec![text]);
}

/// A string literal compared with a bytea (`=`, `<`, ..., `IN`) is bytea input in PostgreSQL
/// (`'\\xadbe'` is two bytes): `rhei_bytea` reads it so, on both engines. SQLite would compare
/// a blob with text, DataFusion the text's own bytes.
pub(crate) fn bytea_literals_as_input(expr: &mut Expr, scope: &Scope<'_>) {
    match expr {
        Expr::BinaryOp { left, op, right } if is_comparison(op) => {
            if is_bytea(left, scope) && is_string_literal(right) {
                read_as_bytea(right);
            } else if is_bytea(right, scope) && is_string_literal(left) {
                read_as_bytea(left);
            }
        }
        Expr::InList { expr: tested, list, .. } if is_bytea(tested, scope) => {
            list.iter_mut().filter(|e| is_string_literal(e)).for_each(read_as_bytea);
        }
        _ => {}
    }
}

/// `octet_length` of a `char(n)` column counts its blank padding in PostgreSQL; rhei stores
/// the value without it (see `catalog::types::pad_bpchar`), so the padding is put back first.
pub(crate) fn padded_char_octet_length(expr: &mut Expr, scope: &Scope<'_>) {
    let Expr::Function(f) = expr else { return };
    if !f.name.to_string().eq_ignore_ascii_case("octet_length") {
        return;
    }
    let FunctionArguments::List(list) = &mut f.args else { return };
    if let [FunctionArg::Unnamed(FunctionArgExpr::Expr(arg))] = list.args.as_mut_slice()
        && let Some(PgType::Bpchar(Some(n))) = scope.column_type(arg)
    {
        let value = std::mem::replace(arg, null());
        *arg = call("rpad", vec![value, number(n.into())]);
    }
}

/// `make_timestamptz(...)` as `rhei_make_timestamptz(..., zone)`, which both engines have: the
/// wall-clock time in the session's zone (`session_zone`, as the engine reads zones) unless the
/// call names one.
pub(crate) fn make_timestamptz_zoned(expr: &mut Expr, session_zone: impl FnOnce() -> Expr) {
    if let Expr::Function(f) = expr
        && builtin_name(&f.name).as_deref() == Some("make_timestamptz")
        && let FunctionArguments::List(list) = &mut f.args
        && matches!(list.args.len(), 6 | 7)
    {
        if list.args.len() == 6 {
            list.args.push(FunctionArg::Unnamed(FunctionArgExpr::Expr(session_zone())));
        }
        f.name = ObjectName::from(vec![Ident::new("rhei_make_timestamptz")]);
    }
}

/// `array_to_json(a)` as both engines can answer it: an array gathered of JSON values (not of
/// arrays) (`array_to_json(array_agg(row_to_json(t)))`) joins them (`rhei_json_items`), any
/// other array is `to_json(a)`: on SQLite only one it holds as the JSON array PostgreSQL
/// writes (integers, text), others are refused there. The form with line feeds (a second
/// argument) is left for the engine to refuse. Before the JSON builders' values are typed,
/// which reads `to_json`'s argument.
///
/// # Errors
/// 0A000 on SQLite (`olap` false) for an array whose JSON it cannot write.
pub(crate) fn array_to_json_as_postgresql(stmt: &mut Statement, scope: &Scope<'_>, olap: bool) -> Result<()> {
    let mut failure = None;
    let _ = visit_expressions_mut(stmt, |expr| {
        if let Expr::Function(f) = expr
            && builtin_name(&f.name).as_deref() == Some("array_to_json")
            && let Some([array]) = plain_arguments(f).as_deref()
        {
            let of_json = matches!(array, Expr::Function(agg) if builtin_name(&agg.name).as_deref() == Some("array_agg")
                && first_arg(agg).is_some_and(|item| matches!(json_tag(item, scope), "json" | "jsonb") && !arrays::is_array(item, scope)));
            if !olap && !of_json && json_tag(array, scope) != "json" {
                failure = Some(EngineError::unsupported("array_to_json of this array on SQLite (the OLAP engine answers it outside transaction blocks)"));
                return ControlFlow::Break(());
            }
            f.name = ObjectName::from(vec![Ident::new(if of_json { "rhei_json_items" } else { "to_json" })]);
        }
        ControlFlow::<()>::Continue(())
    });
    failure.map_or(Ok(()), Err)
}

/// The values given to PostgreSQL's json builders (`json[b]_build_object`'s values,
/// `json[b]_build_array`'s, `json[b]_agg`'s) become JSON text by their type, which only the
/// statement knows on SQLite (`rhei_json_value`); `to_json[b]` take the type beside the value.
fn json_builder_values(stmt: &mut Statement, scope: &Scope<'_>, opts: TranslateOptions) {
    let _ = visit_expressions_mut(stmt, |expr| {
        jsonb_operators_as_calls(expr, scope);
        bytea_concat_as_call(expr, scope);
        bytea_literals_as_input(expr, scope);
        padded_char_octet_length(expr, scope);
        let Expr::Function(f) = expr else { return ControlFlow::<()>::Continue(()) };
        let name = f.name.to_string().to_ascii_lowercase();
        let FunctionArguments::List(list) = &mut f.args else { return ControlFlow::Continue(()) };
        let values: Box<dyn Fn(usize) -> bool> = match name.as_str() {
            "json_build_object" | "jsonb_build_object" | "rhei_row_to_json" | "rhei_row_to_jsonb" | "json_object_agg" | "jsonb_object_agg" => Box::new(|i| i % 2 == 1),
            "json_build_array" | "jsonb_build_array" | "json_agg" | "jsonb_agg" | "rhei_json_agg_rows" => Box::new(|_| true),
            "to_json" | "to_jsonb" => {
                if let [FunctionArg::Unnamed(FunctionArgExpr::Expr(arg))] = list.args.as_slice() {
                    let tag = json_tag_with_scale(arg, scope);
                    list.args.push(FunctionArg::Unnamed(FunctionArgExpr::Expr(string(&tag))));
                    list.args.push(FunctionArg::Unnamed(FunctionArgExpr::Expr(zone_argument(opts))));
                }
                return ControlFlow::Continue(());
            }
            _ => return ControlFlow::Continue(()),
        };
        let objects = matches!(name.as_str(), "json_build_object" | "jsonb_build_object" | "json_object_agg" | "jsonb_object_agg");
        for (i, arg) in list.args.iter_mut().enumerate() {
            let FunctionArg::Unnamed(FunctionArgExpr::Expr(value)) = arg else { continue };
            if values(i) {
                let tag = json_tag_with_scale(value, scope);
                let inner = std::mem::replace(value, null());
                *value = call("rhei_json_value", vec![inner, string(&tag), zone_argument(opts)]);
            } else if objects {
                // A key is the text of its JSON value (`"true"`, `"2024-03-01"`), which SQLite's
                // stored 1 or day number is not.
                let tag = json_tag(value, scope);
                if matches!(tag, "bool" | "date" | "timestamp" | "timestamptz" | "time") {
                    let inner = std::mem::replace(value, null());
                    *value = call("trim", vec![call("rhei_json_value", vec![inner, string(tag), zone_argument(opts)]), string("\"")]);
                }
            }
        }
        ControlFlow::Continue(())
    });
}

/// AND, OR and NOT take booleans: a column of another type or a number there is 42804, as in
/// PostgreSQL (SQLite would read it as a truth value). Only in statements over tables alone:
/// a derived table or WITH query can give a column a table's name with another type, which
/// the scope does not see.
fn check_boolean_operands(stmt: &Statement, scope: &Scope<'_>) -> Result<()> {
    if has_derived_relations(stmt) {
        return Ok(());
    }
    let mut failure = None;
    let _ = datafusion::sql::sqlparser::ast::visit_expressions(stmt, |expr| {
        let (operator, operands): (&str, [Option<&Expr>; 2]) = match expr {
            Expr::BinaryOp { left, op: BinaryOperator::And, right } => ("AND", [Some(left), Some(right)]),
            Expr::BinaryOp { left, op: BinaryOperator::Or, right } => ("OR", [Some(left), Some(right)]),
            Expr::UnaryOp { op: datafusion::sql::sqlparser::ast::UnaryOperator::Not, expr } => ("NOT", [Some(expr), None]),
            _ => return ControlFlow::Continue(()),
        };
        for operand in operands.into_iter().flatten() {
            let found = match operand {
                Expr::Value(ValueWithSpan { value: Value::Number(n, _), .. }) => {
                    Some(if n.contains(['.', 'e', 'E']) { "numeric".to_string() } else { "integer".to_string() })
                }
                other => scope.column_type(other).filter(|t| *t != PgType::Bool).map(|t| t.pg_name()),
            };
            if let Some(ty) = found {
                failure = Some(EngineError::TypeMismatch { message: format!("argument of {operator} must be type boolean, not type {ty}") });
                return ControlFlow::Break(());
            }
        }
        ControlFlow::Continue(())
    });
    failure.map_or(Ok(()), Err)
}

/// Whether a statement reads a derived table, a WITH query, or a table function.
fn has_derived_relations(stmt: &Statement) -> bool {
    struct Derived(bool);
    impl datafusion::sql::sqlparser::ast::Visitor for Derived {
        type Break = ();
        fn pre_visit_query(&mut self, query: &Query) -> ControlFlow<()> {
            if query.with.is_some() {
                self.0 = true;
                return ControlFlow::Break(());
            }
            ControlFlow::Continue(())
        }
        fn pre_visit_table_factor(&mut self, factor: &TableFactor) -> ControlFlow<()> {
            if !matches!(factor, TableFactor::Table { args: None, .. } | TableFactor::NestedJoin { .. }) {
                self.0 = true;
                return ControlFlow::Break(());
            }
            ControlFlow::Continue(())
        }
    }
    let mut found = Derived(false);
    let _ = datafusion::sql::sqlparser::ast::Visit::visit(stmt, &mut found);
    found.0
}

/// `value` as the text PostgreSQL makes of it (`on` / `off`) where it is a boolean; `yes` and
/// `no` are how the engine spells true and false (1 and 0 in SQLite).
fn boolean_as_text(value: &mut Expr, scope: &Scope<'_>, (on, off): (&str, &str), (yes, no): (&Expr, &Expr)) {
    if json_tag(value, scope) != "bool" {
        return;
    }
    let inner = std::mem::replace(value, null());
    *value = Expr::Case {
        case_token: datafusion::sql::sqlparser::ast::helpers::attached_token::AttachedToken::empty(),
        end_token: datafusion::sql::sqlparser::ast::helpers::attached_token::AttachedToken::empty(),
        operand: Some(Box::new(inner)),
        conditions: vec![
            datafusion::sql::sqlparser::ast::CaseWhen { condition: yes.clone(), result: string(on) },
            datafusion::sql::sqlparser::ast::CaseWhen { condition: no.clone(), result: string(off) },
        ],
        else_result: None,
    };
}

/// `value` cast to text where the engine's own text of it is not PostgreSQL's: SQLite's of a
/// date or time is its stored day number or microseconds and of a numeric(p,s) a float,
/// DataFusion's of a timestamp ISO 8601 (`2024-03-01T10:00:00Z`); the cast is translated to
/// PostgreSQL's text like any other (`d::text`). A bytea too where its text is its output
/// (`concat`, `format`; `||` with a bytea is bytea concatenation).
fn as_output_text(value: &mut Expr, scope: &Scope<'_>, bytea: bool) {
    // A numeric literal keeps its digits (`1.50`; SQLite would read a float, `1.5`).
    if let Expr::Value(ValueWithSpan { value: Value::Number(digits, _), .. }) = value
        && digits.contains('.')
    {
        *value = string(&digits.clone());
        return;
    }
    let tag = json_tag(value, scope);
    // A computed number may be a double, which neither engine writes as PostgreSQL does
    // (`2024.0` for `2024::float8 || ''`); the cast writes it so, and any other number as it was.
    let computed_number = tag == "number" && !matches!(unnested(value), Expr::Value(_) | Expr::Identifier(_) | Expr::CompoundIdentifier(_));
    let cast_needed = matches!(tag, "date" | "timestamp" | "timestamptz" | "time" | "interval" | "float4")
        || (bytea && tag == "bytea")
        || computed_number
        || matches!(scope.column_type(value), Some(PgType::Numeric { .. } | PgType::Float8));
    if cast_needed {
        let inner = std::mem::replace(value, null());
        *value = cast(inner, SqlType::Text);
    }
}

/// The places of extract's numeric where `expr` is a translated extract() (`rhei_extract`'s
/// third argument: a number, or NULL for an unconstrained one).
fn extract_places(expr: &Expr) -> Option<Expr> {
    match unnested(expr) {
        Expr::Function(f) if f.name.to_string() == "rhei_extract" => Some(positional_args(f).get(2).map_or_else(null, |places| (*places).clone())),
        _ => None,
    }
}

/// `expr` without the parentheses around it.
pub(crate) fn unnested(expr: &Expr) -> &Expr {
    match expr {
        Expr::Nested(inner) => unnested(inner),
        other => other,
    }
}

/// Where PostgreSQL writes a value as its type's text (an operand of `||`, which casts it; an
/// argument of `concat`, `concat_ws` or `format`, which use the type's output), the engines
/// must write the same: a boolean is `true` / `false` cast and `t` / `f` output (`yes` and `no`
/// in `spelled` are how the engine writes true and false: 1 and 0 in SQLite), and dates,
/// times and numbers are cast to text first (see [`as_output_text`]).
pub(crate) fn values_as_text(expr: &mut Expr, scope: &Scope<'_>, spelled: (&Expr, &Expr)) {
    match expr {
        Expr::BinaryOp { left, op: BinaryOperator::StringConcat, right } => {
            // `||` is jsonb's own operator with a jsonb operand, bytea's between two bytea (or a
            // bytea and a literal) and the arrays' with an array; json has none (it is text).
            let (left_tag, right_tag) = (json_tag(left, scope), json_tag(right, scope));
            let bytes = |tag: &str, other: &Expr, other_tag: &str| tag == "bytea" && (other_tag == "bytea" || is_string_literal(other));
            if left_tag == "jsonb"
                || right_tag == "jsonb"
                || bytes(left_tag, right, right_tag)
                || bytes(right_tag, left, left_tag)
                || matches!(**left, Expr::Array(_))
                || matches!(**right, Expr::Array(_))
            {
                return;
            }
            for operand in [left, right] {
                boolean_as_text(operand, scope, ("true", "false"), spelled);
                as_output_text(operand, scope, false);
            }
        }
        Expr::Function(f) => {
            // concat_ws's separator and format's template are text already; pg_size_pretty
            // reads a numeric's text.
            let values_from = match f.name.to_string().to_ascii_lowercase().as_str() {
                "concat" | "pg_size_pretty" => 0,
                "concat_ws" | "format" => 1,
                _ => return,
            };
            let FunctionArguments::List(list) = &mut f.args else { return };
            for arg in list.args.iter_mut().skip(values_from) {
                if let FunctionArg::Unnamed(FunctionArgExpr::Expr(value)) = arg {
                    boolean_as_text(value, scope, ("t", "f"), spelled);
                    as_output_text(value, scope, true);
                }
            }
        }
        _ => {}
    }
}

/// A string literal operand of AND, OR or NOT is a boolean constant in PostgreSQL (`flag AND
/// 't'`): cast, so SQLite does not read it as 0 and DataFusion does not refuse it.
pub(crate) fn string_literals_as_booleans(expr: &mut Expr) {
    let as_boolean = |operand: &mut Expr| {
        if is_string_literal(operand) {
            let literal = std::mem::replace(operand, null());
            *operand = Expr::Cast { kind: CastKind::Cast, expr: Box::new(literal), data_type: SqlType::Boolean, array: false, format: None };
        }
    };
    match expr {
        Expr::BinaryOp { left, op: BinaryOperator::And | BinaryOperator::Or, right } => {
            as_boolean(left);
            as_boolean(right);
        }
        Expr::UnaryOp { op: datafusion::sql::sqlparser::ast::UnaryOperator::Not, expr } => as_boolean(expr),
        _ => {}
    }
}

/// Values PostgreSQL writes as text, written as there (see [`values_as_text`]; booleans are 1
/// and 0 in SQLite), and string literals that are booleans read as booleans.
fn text_and_boolean_values(stmt: &mut Statement, scope: &Scope<'_>) {
    let spelled = (&number(1), &number(0));
    let _ = visit_expressions_mut(stmt, |expr| {
        values_as_text(expr, scope, spelled);
        string_literals_as_booleans(expr);
        ControlFlow::<()>::Continue(())
    });
}

/// Translates one statement for SQLite, in place.
///
/// # Errors
/// Unknown tables, and Postgres features SQLite cannot express.
pub fn to_sqlite(stmt: &mut Statement, catalog: &Catalog, opts: TranslateOptions) -> Result<()> {
    if has_datetime_series(stmt) {
        return Err(EngineError::unsupported("generate_series over dates or timestamps on SQLite (the OLAP engine runs it outside transaction blocks)"));
    }
    // SQLite has none of them; it read ROLLUP(a) as a call of an unknown function (42883).
    let grouping_sets = visit_expressions(stmt, |expr| match expr {
        Expr::Rollup(_) | Expr::Cube(_) | Expr::GroupingSets(_) => ControlFlow::Break(()),
        _ => ControlFlow::Continue(()),
    });
    if grouping_sets.is_break() {
        return Err(EngineError::unsupported("GROUP BY ROLLUP, CUBE or GROUPING SETS on SQLite (the OLAP engine runs them outside transaction blocks)"));
    }
    // SQLite read `WITHIN GROUP` as a syntax error (42601).
    let ordered_set = visit_expressions(stmt, |expr| match expr {
        Expr::Function(f) if !f.within_group.is_empty() => ControlFlow::Break(()),
        _ => ControlFlow::Continue(()),
    });
    if ordered_set.is_break() {
        return Err(EngineError::unsupported("ordered-set aggregates (WITHIN GROUP) on SQLite (the OLAP engine runs them outside transaction blocks)"));
    }
    arrays::unnest_for_sqlite(stmt)?;
    let _ = datafusion::sql::sqlparser::ast::VisitMut::visit(stmt, &mut SeriesAsSubqueries);
    returning_joined::expand_wildcards(stmt, catalog)?;
    let reads_joined = returning_joined::returning_reads_joined(stmt, catalog);
    let _ = datafusion::sql::sqlparser::ast::VisitMut::visit(stmt, &mut TableColumnAliases { catalog });
    distinct_on::for_sqlite(stmt, catalog)?;
    json_sets::for_sqlite(stmt, catalog)?;
    row_json::expand(stmt, catalog);
    let _ = datafusion::sql::sqlparser::ast::VisitMut::visit(stmt, &mut OrderByOutputNames);
    let mut scope = Scope::of(stmt, catalog)?;
    arrays::correlated_unnest_for_sqlite(stmt, &mut scope)?;
    let scope = scope;
    common_type::check_common_types_in(stmt, &scope, catalog)?;
    common_type::set_operation_columns_converted(stmt, &scope, catalog);
    type_of::as_constants(stmt, &scope, false)?;
    enums::as_postgresql_means(stmt, &scope, catalog, false);
    network::as_postgresql_means(stmt, &scope, false);
    check_boolean_operands(stmt, &scope)?;
    let _ = visit_expressions_mut(stmt, |expr| {
        row_comparison_as_fields(expr);
        timestamp_precision_as_rounding(expr);
        time_precision_as_rounding(expr);
        date_plus_time_as_timestamp(expr, &scope);
        // Before casts become calls, which hide the argument's type.
        to_hex_with_width(expr, &scope);
        arrays::array_literal_elements_for_sqlite(expr, &scope, opts);
        make_timestamptz_zoned(expr, || zone_argument(opts));
        as_postgresql_means(expr, &scope, true);
        ControlFlow::<()>::Continue(())
    });
    convert_written_values(stmt, &scope, opts, reads_joined)?;
    array_to_json_as_postgresql(stmt, &scope, false)?;
    json_builder_values(stmt, &scope, opts);
    text_and_boolean_values(stmt, &scope);
    intervals::for_sqlite(stmt, &scope, opts)?;
    arrays::order_for_sqlite(stmt, &scope)?;
    rewrite_typed_datetime(stmt, &scope, opts)?;
    numeric_arithmetic::in_results(stmt, &scope);
    numeric_arithmetic::in_returning(stmt, &scope);
    let mut failure = None;
    let _ = visit_expressions_mut(stmt, |expr| {
        if let Err(e) = rewrite_expr(expr, &scope, opts) {
            failure = Some(e);
            return ControlFlow::Break(());
        }
        ControlFlow::Continue(())
    });
    if let Some(e) = failure {
        return Err(e);
    }
    // What is left of arrays (`SELECT '{1,2}'::int[]`, `ARRAY[1, 2]`, `a[1]`) becomes values
    // SQLite holds: it would fail on their syntax, or read `INT[]` as a type name.
    arrays::values_for_sqlite(stmt, &scope, opts)?;
    let _ = datafusion::sql::sqlparser::ast::VisitMut::visit(stmt, &mut QueryFixups);
    match stmt {
        Statement::Query(query) => {
            if let SetExpr::Select(select) = query.body.as_mut()
                && select.distinct.is_none()
                && select.group_by_is_empty()
            {
                exact_columns(&mut select.projection);
            }
        }
        Statement::Insert(datafusion::sql::sqlparser::ast::Insert { returning: Some(items), .. })
        | Statement::Update(datafusion::sql::sqlparser::ast::Update { returning: Some(items), .. })
        | Statement::Delete(datafusion::sql::sqlparser::ast::Delete { returning: Some(items), .. }) => exact_columns(items),
        _ => {}
    }
    // `public.t` is `t`: SQLite would read `public` as the name of an attached database.
    let _ = datafusion::sql::sqlparser::ast::visit_relations_mut(stmt, |name| {
        strip_public(name);
        ControlFlow::<()>::Continue(())
    });
    if reads_joined {
        returning_joined::capture_joined_rows(stmt, catalog)?;
    }
    Ok(())
}

/// An ORDER BY name that is an output column's alias sorts by that output column, as in
/// PostgreSQL, written as its position: once a numeric column of the same name is read as
/// `CAST(b AS REAL)` (see [`rewrite_expr`]), SQLite took it for the table's column
/// (`SELECT a AS b FROM t ORDER BY b` sorted by `t.b`).
struct OrderByOutputNames;

impl datafusion::sql::sqlparser::ast::VisitorMut for OrderByOutputNames {
    type Break = ();

    fn pre_visit_query(&mut self, query: &mut Query) -> ControlFlow<()> {
        use datafusion::sql::sqlparser::ast::OrderByKind;
        let (Some(order_by), SetExpr::Select(select)) = (query.order_by.as_mut(), query.body.as_ref()) else {
            return ControlFlow::Continue(());
        };
        let OrderByKind::Expressions(exprs) = &mut order_by.kind else { return ControlFlow::Continue(()) };
        for item in exprs {
            let Expr::Identifier(name) = &item.expr else { continue };
            let name = normalize_ident(name);
            let position = select
                .projection
                .iter()
                .position(|p| matches!(p, SelectItem::ExprWithAlias { alias, .. } if normalize_ident(alias) == name));
            if let Some(position) = position {
                item.expr = number(position as i64 + 1);
            }
        }
        ControlFlow::Continue(())
    }
}

/// Per-query rewrites: PostgreSQL's NULL ordering made explicit (SQLite sorts NULLs first
/// ascending, PostgreSQL last), `LIMIT ALL` and a bare `OFFSET` spelled as SQLite wants them,
/// numeric columns projected exactly (and under their own name) in subqueries and CTEs too,
/// and aliases quoted so words like `isnull` stay names.
struct QueryFixups;

impl datafusion::sql::sqlparser::ast::VisitorMut for QueryFixups {
    type Break = ();

    fn post_visit_query(&mut self, query: &mut Query) -> ControlFlow<()> {
        use datafusion::sql::sqlparser::ast::{LimitClause, OrderByKind};
        // SQLite has no row locks and needs none: one writer runs every transaction that
        // writes, one after another, so `FOR UPDATE` / `FOR SHARE` already hold.
        query.locks.clear();
        if let Some(order_by) = query.order_by.as_mut()
            && let OrderByKind::Expressions(exprs) = &mut order_by.kind
        {
            exprs.iter_mut().for_each(postgres_nulls_order);
        }
        if let Some(LimitClause::LimitOffset { limit, offset, .. }) = query.limit_clause.as_mut() {
            if matches!(limit, Some(Expr::Value(ValueWithSpan { value: Value::Null, .. }))) {
                *limit = None;
            }
            // SQLite reads a negative count as none; PostgreSQL refuses it (2201W, 2201X).
            let counts = limit.iter_mut().map(|e| (e, 0)).chain(offset.iter_mut().map(|o| (&mut o.value, 1)));
            for (count, is_offset) in counts {
                if !matches!(count, Expr::Value(ValueWithSpan { value: Value::Number(..), .. })) {
                    let given = std::mem::replace(count, null());
                    *count = call("rhei_row_count", vec![given, number(is_offset)]);
                }
            }
            if limit.is_none() && offset.is_some() {
                *limit = Some(number(-1));
            }
        }
        // An ordinal naming a numeric column must sort by number, not by the exact text the
        // projection is about to be given back.
        if let (Some(order_by), SetExpr::Select(select)) = (query.order_by.as_mut(), query.body.as_ref())
            && let OrderByKind::Expressions(exprs) = &mut order_by.kind
        {
            for item in exprs.iter_mut() {
                if let Some(e) = positional_item(&item.expr, &select.projection)
                    && (unwrap_real(e).is_some() || is_numeric_cast(e))
                {
                    item.expr = e.clone();
                    numeric_keys(&mut [&mut item.expr]);
                }
            }
        }
        let numeric_keys_of_set = numeric_set_operation_keys(query);
        standalone_set_operands(query.body.as_mut());
        fix_projections(query.body.as_mut());
        if let Some(numeric) = numeric_keys_of_set {
            sorted_by_numeric_keys(query, &numeric);
        }
        ControlFlow::Continue(())
    }

    fn post_visit_table_factor(&mut self, factor: &mut TableFactor) -> ControlFlow<()> {
        name_derived_columns(factor);
        ControlFlow::Continue(())
    }

    fn post_visit_expr(&mut self, expr: &mut Expr) -> ControlFlow<()> {
        if let Expr::Subquery(query) = expr {
            refuse_second_row(query);
        }
        ControlFlow::Continue(())
    }
}

/// `SELECT generate_series(a, b)[::type] [AS x], ...` without FROM: PostgreSQL gives a row per value;
/// neither engine takes a set-returning function in a select list (DataFusion returns one
/// array), so the call moves into FROM as `FROM generate_series(a, b) AS x` and the item
/// becomes its column. Done once at parse time, for both engines.
pub fn normalize_set_returning(statement: &mut Statement) {
    let _ = datafusion::sql::sqlparser::ast::VisitMut::visit(statement, &mut SeriesOutOfSelectLists);
}

/// Rewrites query clauses neither engine reads as PostgreSQL means them, once at parse time:
/// - the SQL standard's `[OFFSET n ROWS] FETCH FIRST|NEXT [n] ROW|ROWS ONLY` becomes `[OFFSET
///   n] LIMIT n` (1 when no count is given): neither engine reads FETCH, SQLite not `ROWS`
///   after an offset;
/// - `a INTERSECT ALL b` and `a EXCEPT ALL b`, which SQLite cannot parse and DataFusion answers
///   without keeping multiplicities, become the distinct operation over rows numbered within
///   their duplicates: the k-th copy of a row survives INTERSECT when both sides have k
///   copies, and EXCEPT when only the left has, which is exactly PostgreSQL's counting (NULLs
///   are alike in both the numbering and the comparison). Done where the left side's column
///   names are known (no wildcard); other forms are left as they are.
///
/// # Errors
/// `FETCH ... WITH TIES` (0A000: neither engine can keep the rows that tie with the last);
/// LIMIT beside FETCH (42601).
/// `SELECT v FROM a UNION SELECT v FROM b ORDER BY id`: the ORDER BY of a set operation sees
/// only its output columns (42703 in PostgreSQL); both engines looked further and answered.
fn set_operation_order_by_unknown_column(query: &Query) -> Option<EngineError> {
    use datafusion::sql::sqlparser::ast::OrderByKind;
    if !matches!(*query.body, SetExpr::SetOperation { .. }) {
        return None;
    }
    let OrderByKind::Expressions(items) = &query.order_by.as_ref()?.kind else { return None };
    let names = crate::naming::output_names(query)?;
    items.iter().find_map(|item| match &item.expr {
        Expr::Identifier(ident) if !names.contains(&normalize_ident(ident)) => {
            Some(EngineError::UndefinedColumn { column: normalize_ident(ident), table: None })
        }
        _ => None,
    })
}

pub fn normalize_query_clauses(statement: &mut Statement) -> Result<()> {
    use datafusion::sql::sqlparser::ast::LimitClause;
    struct Clauses;
    impl datafusion::sql::sqlparser::ast::VisitorMut for Clauses {
        type Break = EngineError;
        fn pre_visit_query(&mut self, query: &mut Query) -> ControlFlow<EngineError> {
            if let Some(e) = set_operation_order_by_unknown_column(query) {
                return ControlFlow::Break(e);
            }
            counted_set_operation(query.body.as_mut());
            if let Some(LimitClause::LimitOffset { offset: Some(offset), .. }) = &mut query.limit_clause {
                offset.rows = datafusion::sql::sqlparser::ast::OffsetRows::None;
            }
            let Some(fetch) = query.fetch.take() else { return ControlFlow::Continue(()) };
            if fetch.with_ties || fetch.percent {
                return ControlFlow::Break(EngineError::unsupported("FETCH FIRST ... WITH TIES"));
            }
            let count = fetch.quantity.unwrap_or_else(|| number(1));
            match &mut query.limit_clause {
                None => {
                    query.limit_clause = Some(LimitClause::LimitOffset { limit: Some(count), offset: None, limit_by: Vec::new() });
                }
                Some(LimitClause::LimitOffset { limit: limit @ None, .. }) => *limit = Some(count),
                Some(_) => return ControlFlow::Break(EngineError::syntax("multiple LIMIT clauses not allowed")),
            }
            ControlFlow::Continue(())
        }
    }
    match datafusion::sql::sqlparser::ast::VisitMut::visit(statement, &mut Clauses) {
        ControlFlow::Break(e) => Err(e),
        ControlFlow::Continue(()) => Ok(()),
    }
}

fn counted_set_operation(body: &mut SetExpr) {
    use datafusion::sql::sqlparser::ast::{SetOperator, SetQuantifier};
    let SetExpr::SetOperation { op, set_quantifier, left, right } = body else { return };
    counted_set_operation(left.as_mut());
    counted_set_operation(right.as_mut());
    let keyword = match (op, set_quantifier) {
        (SetOperator::Intersect, SetQuantifier::All) => "INTERSECT",
        (SetOperator::Except, SetQuantifier::All) => "EXCEPT",
        _ => return,
    };
    let Some(names) = crate::naming::body_output_names(left) else { return };
    let columns: Vec<String> = (1..=names.len()).map(|i| format!("rhei_c{i}")).collect();
    let list = columns.join(", ");
    let outputs: Vec<String> =
        columns.iter().zip(&names).map(|(c, name)| format!("{c} AS {}", crate::catalog::quote_ident(name))).collect();
    let side = |query: &SetExpr, alias: &str| {
        format!("SELECT {list}, row_number() OVER (PARTITION BY {list}) AS rhei_copy FROM ({query}) AS {alias}({list})")
    };
    let sql = format!("SELECT {} FROM ({} {keyword} {}) AS rhei_counted", outputs.join(", "), side(left, "rhei_left"), side(right, "rhei_right"));
    let parsed = datafusion::sql::sqlparser::parser::Parser::parse_sql(&datafusion::sql::sqlparser::dialect::PostgreSqlDialect {}, &sql);
    if let Ok(mut statements) = parsed
        && let Some(Statement::Query(query)) = statements.pop()
    {
        *body = *query.body;
    }
}

/// `WITH q AS (...) INSERT|UPDATE|DELETE ...` (sqlparser reads it as a query whose body is the
/// write) becomes the plain write, which both engines' write paths, routing and change capture
/// know: an INSERT takes the WITH onto its source query; in an UPDATE or DELETE each reference
/// to a WITH query becomes that query as a derived table (a later WITH query's references to
/// earlier ones first). For WITH queries that only read, this is the same answer PostgreSQL
/// gives.
///
/// # Errors
/// `WITH RECURSIVE` before an UPDATE or DELETE (0A000).
pub fn normalize_data_modifying_with(statement: &mut Statement) -> Result<()> {
    use datafusion::sql::sqlparser::ast::VisitMut;
    let Statement::Query(query) = statement else { return Ok(()) };
    // WITH queries that write are split apart where the statement runs (`writing_with`).
    if !matches!(*query.body, SetExpr::Insert(_) | SetExpr::Update(_) | SetExpr::Delete(_)) || writing_with::writes(query) {
        return Ok(());
    }
    let with = query.with.take();
    let body = std::mem::replace(query.body.as_mut(), SetExpr::Values(empty_values()));
    let (SetExpr::Insert(mut write) | SetExpr::Update(mut write) | SetExpr::Delete(mut write)) = body else { return Ok(()) };
    if let Some(mut with) = with {
        match &mut write {
            Statement::Insert(insert) => {
                if let Some(source) = insert.source.as_mut() {
                    match source.with.as_mut() {
                        Some(inner) => {
                            with.cte_tables.append(&mut inner.cte_tables);
                            inner.cte_tables = with.cte_tables;
                            inner.recursive |= with.recursive;
                        }
                        None => source.with = Some(with),
                    }
                }
            }
            Statement::Update(_) | Statement::Delete(_) if with.recursive => {
                return Err(EngineError::unsupported("WITH RECURSIVE before UPDATE or DELETE"));
            }
            Statement::Update(update) => {
                let mut inline = CtesAsDerivedTables::new(with.cte_tables);
                let _ = update.assignments.visit(&mut inline);
                let _ = update.from.visit(&mut inline);
                let _ = update.selection.visit(&mut inline);
                let _ = update.returning.visit(&mut inline);
                let _ = update.table.joins.visit(&mut inline);
            }
            Statement::Delete(delete) => {
                let mut inline = CtesAsDerivedTables::new(with.cte_tables);
                let _ = delete.using.visit(&mut inline);
                let _ = delete.selection.visit(&mut inline);
                let _ = delete.returning.visit(&mut inline);
            }
            _ => {}
        }
    }
    *statement = write;
    Ok(())
}

/// Replaces references to WITH queries by the queries themselves, as derived tables named as
/// the reference was.
struct CtesAsDerivedTables {
    ctes: Vec<(String, datafusion::sql::sqlparser::ast::Cte)>,
}

impl CtesAsDerivedTables {
    fn new(ctes: Vec<datafusion::sql::sqlparser::ast::Cte>) -> Self {
        use datafusion::sql::sqlparser::ast::VisitMut;
        let mut inline = Self { ctes: Vec::new() };
        for mut cte in ctes {
            // A WITH query may read the ones before it.
            let _ = cte.query.visit(&mut inline);
            inline.ctes.push((normalize_ident(&cte.alias.name), cte));
        }
        inline
    }
}

impl datafusion::sql::sqlparser::ast::VisitorMut for CtesAsDerivedTables {
    type Break = ();

    // After the visit, so the query put in is not visited again: `WITH t AS (SELECT ... FROM t)`
    // reads the table t, and inlining its own reference to t again would never end.
    fn post_visit_table_factor(&mut self, factor: &mut TableFactor) -> ControlFlow<()> {
        let TableFactor::Table { name, alias, args: None, .. } = factor else { return ControlFlow::Continue(()) };
        let [ObjectNamePart::Identifier(ident)] = name.0.as_slice() else { return ControlFlow::Continue(()) };
        let key = normalize_ident(ident);
        let Some((_, cte)) = self.ctes.iter().find(|(n, _)| *n == key) else { return ControlFlow::Continue(()) };
        let alias = match alias.take() {
            Some(mut alias) => {
                if alias.columns.is_empty() {
                    alias.columns = cte.alias.columns.clone();
                }
                alias
            }
            None => cte.alias.clone(),
        };
        *factor = TableFactor::Derived { lateral: false, subquery: cte.query.clone(), alias: Some(alias), sample: None };
        ControlFlow::Continue(())
    }
}

/// Refuses a WITH clause naming two queries alike (42712), as PostgreSQL does; DataFusion
/// would let the later shadow the earlier.
///
/// # Errors
/// [`EngineError::DuplicateAlias`].
pub fn check_cte_names(statement: &Statement) -> Result<()> {
    struct Names(Option<String>);
    impl datafusion::sql::sqlparser::ast::Visitor for Names {
        type Break = ();
        fn pre_visit_query(&mut self, query: &Query) -> ControlFlow<()> {
            let mut seen = std::collections::HashSet::new();
            for cte in query.with.iter().flat_map(|w| w.cte_tables.iter()) {
                let name = normalize_ident(&cte.alias.name);
                if !seen.insert(name.clone()) {
                    self.0 = Some(name);
                    return ControlFlow::Break(());
                }
            }
            ControlFlow::Continue(())
        }
    }
    let mut names = Names(None);
    let _ = datafusion::sql::sqlparser::ast::Visit::visit(statement, &mut names);
    match names.0 {
        Some(name) => Err(EngineError::DuplicateAlias { name }),
        None => Ok(()),
    }
}

/// Refuses `t.c` where FROM gave table `t` an alias and nothing else in scope is called `t`
/// (`FROM emp e JOIN dept d ON e.dept_id = dept.id`): PostgreSQL's 42P01 "invalid reference to
/// FROM-clause entry"; SQLite and DataFusion called it an unknown column. Once at parse time,
/// for queries; each query sees its own FROM's names and those of the queries around it.
///
/// # Errors
/// [`EngineError::AliasedTableReference`].
pub fn check_aliased_references(statement: &Statement) -> Result<()> {
    use datafusion::sql::sqlparser::ast::{Visit, Visitor};
    #[derive(Default)]
    struct Names {
        /// What the FROM items are called (aliases, or table names without one).
        visible: Vec<String>,
        /// Names of tables FROM gave an alias.
        aliased: Vec<String>,
    }
    fn collect(factor: &TableFactor, names: &mut Names) {
        let last = |name: &ObjectName| match name.0.last() {
            Some(ObjectNamePart::Identifier(id)) => Some(normalize_ident(id)),
            _ => None,
        };
        match factor {
            TableFactor::Table { name, alias, .. } => {
                let Some(table) = last(name) else { return };
                match alias {
                    Some(alias) => {
                        names.visible.push(normalize_ident(&alias.name));
                        names.aliased.push(table);
                    }
                    None => names.visible.push(table),
                }
            }
            TableFactor::NestedJoin { table_with_joins, alias } => {
                if let Some(alias) = alias {
                    names.visible.push(normalize_ident(&alias.name));
                }
                collect(&table_with_joins.relation, names);
                table_with_joins.joins.iter().for_each(|j| collect(&j.relation, names));
            }
            TableFactor::Derived { alias: Some(alias), .. }
            | TableFactor::Function { alias: Some(alias), .. }
            | TableFactor::TableFunction { alias: Some(alias), .. }
            | TableFactor::UNNEST { alias: Some(alias), .. } => names.visible.push(normalize_ident(&alias.name)),
            TableFactor::Function { name, .. } => names.visible.extend(last(name)),
            _ => {}
        }
    }
    fn selects<'a>(body: &'a SetExpr, out: &mut Vec<&'a datafusion::sql::sqlparser::ast::Select>) {
        match body {
            SetExpr::Select(select) => out.push(select),
            SetExpr::SetOperation { left, right, .. } => {
                selects(left, out);
                selects(right, out);
            }
            _ => {}
        }
    }
    struct Check {
        scopes: Vec<Names>,
    }
    impl Visitor for Check {
        type Break = EngineError;
        fn pre_visit_query(&mut self, query: &Query) -> ControlFlow<EngineError> {
            let mut names = Names::default();
            let mut found = Vec::new();
            selects(&query.body, &mut found);
            for select in found {
                for table in &select.from {
                    collect(&table.relation, &mut names);
                    table.joins.iter().for_each(|j| collect(&j.relation, &mut names));
                }
            }
            self.scopes.push(names);
            ControlFlow::Continue(())
        }
        fn post_visit_query(&mut self, _query: &Query) -> ControlFlow<EngineError> {
            self.scopes.pop();
            ControlFlow::Continue(())
        }
        fn pre_visit_expr(&mut self, expr: &Expr) -> ControlFlow<EngineError> {
            let Expr::CompoundIdentifier(parts) = expr else { return ControlFlow::Continue(()) };
            let [qualifier, _] = parts.as_slice() else { return ControlFlow::Continue(()) };
            let qualifier = normalize_ident(qualifier);
            let visible = self.scopes.iter().any(|s| s.visible.contains(&qualifier));
            if !visible && self.scopes.iter().any(|s| s.aliased.contains(&qualifier)) {
                return ControlFlow::Break(EngineError::AliasedTableReference { table: qualifier });
            }
            ControlFlow::Continue(())
        }
    }
    // An UPDATE's or DELETE's target is in scope for its subqueries without being a FROM
    // item of any of them, so only queries are checked (not `WITH ... UPDATE`, read as one).
    let Statement::Query(query) = statement else { return Ok(()) };
    if matches!(*query.body, SetExpr::Insert(_) | SetExpr::Update(_) | SetExpr::Delete(_) | SetExpr::Merge(_)) {
        return Ok(());
    }
    match statement.visit(&mut Check { scopes: Vec::new() }) {
        ControlFlow::Break(e) => Err(e),
        ControlFlow::Continue(()) => Ok(()),
    }
}

/// Whether a `generate_series` call is left in an expression after
/// [`normalize_set_returning`]: SQLite has no such function and DataFusion's returns one
/// array, where PostgreSQL makes rows. Decided once per parsed statement, refused (with
/// [`series_in_expression`]) when it runs.
pub fn calls_series_in_expression(statement: &Statement) -> bool {
    visit_expressions(statement, |e| match e {
        Expr::Function(f) if table_name(&f.name).ok().as_deref() == Some("generate_series") => ControlFlow::Break(()),
        _ => ControlFlow::Continue(()),
    })
    .is_break()
}

/// The error for [`calls_series_in_expression`]: 0A000, saying how to write it in FROM instead.
pub fn series_in_expression() -> EngineError {
    EngineError::unsupported(
        "generate_series in a select list beside FROM, WHERE, GROUP BY or other function calls (write it in FROM: CROSS JOIN generate_series(a, b) AS g)",
    )
}

struct SeriesOutOfSelectLists;

/// The set-returning call a select-list item is, under any casts (`generate_series(...)::date`).
fn series_call(item: &Expr) -> Option<&Expr> {
    match item {
        Expr::Cast { expr, .. } | Expr::Nested(expr) => series_call(expr),
        call @ Expr::Function(_) => Some(call),
        _ => None,
    }
}

fn series_call_mut(item: &mut Expr) -> Option<&mut Expr> {
    match item {
        Expr::Cast { expr, .. } | Expr::Nested(expr) => series_call_mut(expr),
        call @ Expr::Function(_) => Some(call),
        _ => None,
    }
}

impl datafusion::sql::sqlparser::ast::VisitorMut for SeriesOutOfSelectLists {
    type Break = ();

    fn pre_visit_query(&mut self, query: &mut datafusion::sql::sqlparser::ast::Query) -> ControlFlow<()> {
        use datafusion::sql::sqlparser::ast::{SelectItem, SetExpr, TableAlias, TableWithJoins};
        let SetExpr::Select(select) = query.body.as_mut() else { return ControlFlow::Continue(()) };
        // The series' alias must not capture a name WHERE, GROUP BY or HAVING mean otherwise,
        // nor may another item aggregate over the rows it makes.
        let grouped = !matches!(&select.group_by, datafusion::sql::sqlparser::ast::GroupByExpr::Expressions(e, _) if e.is_empty());
        if !select.from.is_empty() || select.selection.is_some() || select.having.is_some() || grouped {
            return ControlFlow::Continue(());
        }
        let is_series = |e: &Expr| matches!(series_call(e), Some(Expr::Function(f)) if table_name(&f.name).ok().as_deref() == Some("generate_series") && f.over.is_none());
        let series: Vec<usize> = select
            .projection
            .iter()
            .enumerate()
            .filter(|(_, item)| matches!(item, SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. } if is_series(e)))
            .map(|(i, _)| i)
            .collect();
        // Several series in one list zip in PostgreSQL; only the single one is rewritten, and
        // only beside items that call no function (an aggregate would count the series).
        let [at] = series.as_slice() else { return ControlFlow::Continue(()) };
        let calls_functions = |item: &SelectItem| {
            let mut found = false;
            let _ = datafusion::sql::sqlparser::ast::visit_expressions(item, |e| {
                found |= matches!(e, Expr::Function(_));
                ControlFlow::<()>::Continue(())
            });
            found
        };
        if select.projection.iter().enumerate().any(|(i, item)| i != *at && calls_functions(item)) {
            return ControlFlow::Continue(());
        }
        let (mut item, name) = match &select.projection[*at] {
            SelectItem::UnnamedExpr(e) => (e.clone(), Ident::new("generate_series")),
            SelectItem::ExprWithAlias { expr, alias } => (expr.clone(), alias.clone()),
            _ => return ControlFlow::Continue(()),
        };
        // The item keeps its cast, now of the series' column (`generate_series(...)::date`).
        let Some(Expr::Function(function)) = series_call_mut(&mut item).map(|call| std::mem::replace(call, Expr::Identifier(name.clone()))) else {
            return ControlFlow::Continue(());
        };
        let datafusion::sql::sqlparser::ast::FunctionArguments::List(list) = function.args else { return ControlFlow::Continue(()) };
        select.projection[*at] = SelectItem::ExprWithAlias { expr: item, alias: name.clone() };
        select.from.push(TableWithJoins {
            relation: function_table(function.name, list.args, TableAlias { explicit: true, name, columns: Vec::new() }),
            joins: Vec::new(),
        });
        ControlFlow::Continue(())
    }
}

/// A visitor calling `rewrite` on each expression (after its parts) with whether it lies in a
/// query nested in the node visited (a subquery, a derived table), where a name may be that
/// query's own.
pub(crate) struct ByDepth<F> {
    rewrite: F,
    depth: usize,
}

impl<F: FnMut(&mut Expr, bool)> ByDepth<F> {
    pub(crate) fn new(rewrite: F) -> Self {
        ByDepth { rewrite, depth: 0 }
    }
}

impl<F: FnMut(&mut Expr, bool)> datafusion::sql::sqlparser::ast::VisitorMut for ByDepth<F> {
    type Break = ();

    fn pre_visit_query(&mut self, _query: &mut Query) -> ControlFlow<()> {
        self.depth += 1;
        ControlFlow::Continue(())
    }

    fn post_visit_query(&mut self, _query: &mut Query) -> ControlFlow<()> {
        self.depth -= 1;
        ControlFlow::Continue(())
    }

    fn post_visit_expr(&mut self, expr: &mut Expr) -> ControlFlow<()> {
        (self.rewrite)(expr, self.depth > 0);
        ControlFlow::Continue(())
    }
}

/// Whether an expression in `node` is `found`, given the expression and whether it lies in a
/// query `node` holds (a subquery's, not `node`'s own).
pub fn finds_by_depth(node: &impl datafusion::sql::sqlparser::ast::Visit, found: impl FnMut(&Expr, bool) -> bool) -> bool {
    struct Finder<F> {
        found: F,
        depth: usize,
    }
    impl<F: FnMut(&Expr, bool) -> bool> datafusion::sql::sqlparser::ast::Visitor for Finder<F> {
        type Break = ();
        fn pre_visit_query(&mut self, _: &Query) -> ControlFlow<()> {
            self.depth += 1;
            ControlFlow::Continue(())
        }
        fn post_visit_query(&mut self, _: &Query) -> ControlFlow<()> {
            self.depth -= 1;
            ControlFlow::Continue(())
        }
        fn pre_visit_expr(&mut self, expr: &Expr) -> ControlFlow<()> {
            if (self.found)(expr, self.depth > 0) { ControlFlow::Break(()) } else { ControlFlow::Continue(()) }
        }
    }
    node.visit(&mut Finder { found, depth: 0 }).is_break()
}

/// A set-returning `call` moved out of a select list into FROM: each item that is the call
/// becomes `reference` under `name`, and the call inside other items `reference`.
pub(crate) fn select_list_call_as_column(projection: &mut [SelectItem], call: &Expr, reference: &Expr, name: Ident) {
    for item in projection {
        if let SelectItem::UnnamedExpr(e) = item
            && e == call
        {
            *item = SelectItem::ExprWithAlias { expr: reference.clone(), alias: name.clone() };
            continue;
        }
        let _ = visit_expressions_mut(item, |e| {
            if e == call {
                *e = reference.clone();
            }
            ControlFlow::<()>::Continue(())
        });
    }
}

/// The lower-case name of a built-in function as a statement calls it, bare or in
/// `pg_catalog` (where pg_dump and ORMs name them); `None` for other schemas.
pub(crate) fn builtin_name(name: &ObjectName) -> Option<String> {
    match name.0.as_slice() {
        [ObjectNamePart::Identifier(f)] => Some(normalize_ident(f)),
        [ObjectNamePart::Identifier(schema), ObjectNamePart::Identifier(f)] if normalize_ident(schema) == "pg_catalog" => Some(normalize_ident(f)),
        _ => None,
    }
}

/// `FROM name(args) AS alias`: a set-returning function called in FROM.
pub(crate) fn function_table(name: ObjectName, args: Vec<FunctionArg>, alias: datafusion::sql::sqlparser::ast::TableAlias) -> TableFactor {
    TableFactor::Table {
        name,
        alias: Some(alias),
        args: Some(datafusion::sql::sqlparser::ast::TableFunctionArgs { args, settings: None }),
        with_hints: Vec::new(),
        version: None,
        with_ordinality: false,
        partitions: Vec::new(),
        json_path: None,
        sample: None,
        index_hints: Vec::new(),
    }
}

/// Whether `stmt` calls `generate_series` over dates or timestamps (SQLite's series counts
/// integers only, so such a query belongs on the OLAP engine).
pub fn has_datetime_series(stmt: &Statement) -> bool {
    use datafusion::sql::sqlparser::ast::Visit;
    struct Finder;
    impl datafusion::sql::sqlparser::ast::Visitor for Finder {
        type Break = ();
        fn pre_visit_table_factor(&mut self, factor: &TableFactor) -> ControlFlow<()> {
            if let TableFactor::Table { name, args: Some(args), .. } = factor
                && table_name(name).ok().as_deref() == Some("generate_series")
                && args.args.iter().any(|a| matches!(a, FunctionArg::Unnamed(FunctionArgExpr::Expr(e)) if is_datetime_constant(e)))
            {
                return ControlFlow::Break(());
            }
            ControlFlow::Continue(())
        }
    }
    stmt.visit(&mut Finder).is_break()
}

/// An integer literal within int4's range, or a cast to int4 / int2 (of a parameter, say).
fn is_int4(expr: &Expr) -> bool {
    match expr {
        Expr::Value(v) => matches!(&v.value, Value::Number(n, _) if n.parse::<i32>().is_ok()),
        Expr::UnaryOp { op: datafusion::sql::sqlparser::ast::UnaryOperator::Minus, expr } => is_int4(expr),
        Expr::Cast { data_type, .. } => matches!(data_type, SqlType::Int(_) | SqlType::Integer(_) | SqlType::Int4(_) | SqlType::SmallInt(_) | SqlType::Int2(_)),
        Expr::Nested(inner) => is_int4(inner),
        _ => false,
    }
}

/// A date, timestamp or interval written as a constant (`'2024-01-01'::timestamp`,
/// `timestamp '...'`, `interval '1 day'`).
fn is_datetime_constant(expr: &Expr) -> bool {
    let datetime = |t: &SqlType| matches!(t, SqlType::Date | SqlType::Timestamp(..) | SqlType::Interval { .. });
    match expr {
        Expr::Cast { data_type, .. } | Expr::TypedString(datafusion::sql::sqlparser::ast::TypedString { data_type, .. }) => datetime(data_type),
        Expr::Interval(_) => true,
        Expr::Nested(inner) => is_datetime_constant(inner),
        _ => false,
    }
}

/// `FROM generate_series(a, b[, step]) [AS g[(x)]]`: SQLite's `generate_series` table (loaded on
/// every connection) and DataFusion's name their column `value`; PostgreSQL names it after the
/// alias, or the function. It becomes `(SELECT value AS g FROM generate_series(a, b, step)) AS
/// g`, before the table names are looked up in the catalog. A timestamp series' bounds written
/// as bare strings are cast to the first bound's type, as PostgreSQL resolves them.
pub(crate) struct SeriesAsSubqueries;

impl datafusion::sql::sqlparser::ast::VisitorMut for SeriesAsSubqueries {
    type Break = ();

    fn post_visit_table_factor(&mut self, factor: &mut TableFactor) -> ControlFlow<()> {
        let TableFactor::Table { name, args: Some(args), alias, .. } = factor else { return ControlFlow::Continue(()) };
        if table_name(name).ok().as_deref() != Some("generate_series") {
            return ControlFlow::Continue(());
        }
        let first_type = match args.args.first() {
            Some(FunctionArg::Unnamed(FunctionArgExpr::Expr(
                Expr::Cast { data_type, .. } | Expr::TypedString(datafusion::sql::sqlparser::ast::TypedString { data_type, .. }),
            ))) if matches!(data_type, SqlType::Date | SqlType::Timestamp(..)) => Some(data_type.clone()),
            _ => None,
        };
        let list: Vec<String> = args
            .args
            .iter()
            .enumerate()
            .map(|(i, arg)| match (&first_type, arg) {
                (Some(ty), FunctionArg::Unnamed(FunctionArgExpr::Expr(Expr::Value(v)))) if i == 1 && matches!(v.value, Value::SingleQuotedString(_)) => {
                    format!("CAST({arg} AS {ty})")
                }
                // The step of a date/time series is an interval, however written.
                (Some(_), FunctionArg::Unnamed(FunctionArgExpr::Expr(Expr::Value(v)))) if i == 2 && matches!(v.value, Value::SingleQuotedString(_)) => {
                    format!("CAST({arg} AS INTERVAL)")
                }
                _ => arg.to_string(),
            })
            .collect();
        let (alias_name, column) = match alias {
            Some(a) => (a.name.clone(), a.columns.first().map_or_else(|| a.name.clone(), |c| c.name.clone())),
            None => (Ident::new("generate_series"), Ident::new("generate_series")),
        };
        let column = Ident::with_quote('"', normalize_ident(&column));
        // generate_series(integer, integer) is integer in PostgreSQL; both engines count in
        // 64 bits.
        let int4 = args.args.iter().all(|a| matches!(a, FunctionArg::Unnamed(FunctionArgExpr::Expr(e)) if is_int4(e)));
        let value = if int4 { "CAST(value AS integer)" } else { "value" };
        let sql = format!("SELECT {value} AS {column} FROM generate_series({})", list.join(", "));
        let Ok(mut parsed) = datafusion::sql::sqlparser::parser::Parser::parse_sql(&datafusion::sql::sqlparser::dialect::PostgreSqlDialect {}, &sql)
        else {
            return ControlFlow::Continue(());
        };
        let Some(Statement::Query(subquery)) = parsed.pop() else { return ControlFlow::Continue(()) };
        *factor = TableFactor::Derived {
            lateral: false,
            subquery,
            alias: Some(datafusion::sql::sqlparser::ast::TableAlias { explicit: true, name: alias_name, columns: Vec::new() }),
            sample: None,
        };
        ControlFlow::Continue(())
    }
}

/// `t AS w(a, b)`: SQLite has no column list on a table either (42601 "near \"(\""), and
/// DataFusion's must name every column (XX000 "Source table contains 4 columns but only 2
/// names given"); the table becomes `(SELECT c1 AS a, c2 AS b, c3 FROM t) AS w`, its columns
/// past the list keeping their names, before the tables are looked up for their columns' types.
pub(crate) struct TableColumnAliases<'c> {
    pub(crate) catalog: &'c Catalog,
}

impl datafusion::sql::sqlparser::ast::VisitorMut for TableColumnAliases<'_> {
    type Break = ();

    fn post_visit_table_factor(&mut self, factor: &mut TableFactor) -> ControlFlow<()> {
        let TableFactor::Table { name, args: None, alias: Some(alias), .. } = factor else { return ControlFlow::Continue(()) };
        let Some(def) = table_name(name).ok().and_then(|t| self.catalog.get(&t)) else { return ControlFlow::Continue(()) };
        if alias.columns.is_empty() || alias.columns.len() > def.columns.len() {
            return ControlFlow::Continue(());
        }
        let list: Vec<String> = def
            .columns
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let column = Ident::with_quote('"', &c.name);
                match alias.columns.get(i) {
                    Some(renamed) => format!("{column} AS {}", Ident::with_quote('"', normalize_ident(&renamed.name))),
                    None => column.to_string(),
                }
            })
            .collect();
        let sql = format!("SELECT {} FROM {name}", list.join(", "));
        let Ok(mut parsed) = datafusion::sql::sqlparser::parser::Parser::parse_sql(&datafusion::sql::sqlparser::dialect::PostgreSqlDialect {}, &sql)
        else {
            return ControlFlow::Continue(());
        };
        let Some(Statement::Query(subquery)) = parsed.pop() else { return ControlFlow::Continue(()) };
        let alias = datafusion::sql::sqlparser::ast::TableAlias { explicit: true, name: alias.name.clone(), columns: Vec::new() };
        *factor = TableFactor::Derived { lateral: false, subquery, alias: Some(alias), sample: None };
        ControlFlow::Continue(())
    }
}

/// `(subquery) AS v(a, b)`: SQLite has no column list on a derived table, but has one on a
/// CTE, so the subquery becomes `(WITH c(a, b) AS (subquery) SELECT * FROM c) AS v` (a CTE
/// inside the derived table, so what the subquery may refer to stays the same).
fn name_derived_columns(factor: &mut TableFactor) {
    let TableFactor::Derived { subquery, alias: Some(alias), .. } = factor else { return };
    if alias.columns.is_empty() {
        return;
    }
    let template = "WITH \"_rhei_named\" AS (SELECT 1) SELECT * FROM \"_rhei_named\"";
    let Ok(mut parsed) = datafusion::sql::sqlparser::parser::Parser::parse_sql(&datafusion::sql::sqlparser::dialect::PostgreSqlDialect {}, template)
    else {
        return;
    };
    let Some(Statement::Query(mut wrapper)) = parsed.pop() else { return };
    let Some(cte) = wrapper.with.as_mut().and_then(|w| w.cte_tables.first_mut()) else { return };
    cte.alias.columns = std::mem::take(&mut alias.columns);
    std::mem::swap(&mut cte.query, subquery);
    *subquery = wrapper;
}

/// The value a subquery of the plain form `SELECT value FROM ... [WHERE ...] [ORDER BY ...]`
/// yields row by row: no LIMIT, DISTINCT, grouping, QUALIFY, aggregate or window function,
/// none of which lets each of its rows be taken as one row of its FROM and WHERE.
pub(crate) fn plain_value(query: &Query) -> Option<&Expr> {
    let SetExpr::Select(select) = query.body.as_ref() else { return None };
    if query.limit_clause.is_some()
        || query.fetch.is_some()
        || select.distinct.is_some()
        || !matches!(&select.group_by, GroupByExpr::Expressions(e, _) if e.is_empty())
        || select.having.is_some()
        || select.qualify.is_some()
    {
        return None;
    }
    let [SelectItem::UnnamedExpr(value) | SelectItem::ExprWithAlias { expr: value, .. }] = select.projection.as_slice() else {
        return None;
    };
    (!crate::router::calls_aggregate(value, true)).then_some(value)
}

/// A scalar subquery yields its first row on SQLite whatever follows; PostgreSQL fails with
/// 21000 when there is a second. A plain `SELECT value FROM ... [WHERE ...]` (no LIMIT, no
/// DISTINCT, no grouping or aggregate, which keep it to one row or would be counted before it)
/// becomes `SELECT rhei_single_row(value, count(*) OVER ()) FROM ...`.
fn refuse_second_row(query: &mut Query) {
    if plain_value(query).is_none() {
        return;
    }
    let SetExpr::Select(select) = query.body.as_mut() else { return };
    let [SelectItem::UnnamedExpr(value) | SelectItem::ExprWithAlias { expr: value, .. }] = select.projection.as_mut_slice() else {
        return;
    };
    // Without FROM there is one row.
    if select.from.is_empty() {
        return;
    }
    let Ok(rows) = parse_sqlite_expr("count(*) OVER ()") else { return };
    let given = std::mem::replace(value, null());
    *value = call("rhei_single_row", vec![given, rows]);
}

/// `SELECT DISTINCT a, b ...` as `SELECT a, b ... GROUP BY a, b`, which gives the same rows
/// and may be ordered by any function of its items (DataFusion orders a DISTINCT select only
/// by its outputs), for an ORDER BY of `sorted` items, each one of the select list's (as
/// PostgreSQL requires; otherwise the select is left for the engine to refuse). Only a plain
/// one: no DISTINCT ON, grouping, aggregate, window, `*` or subquery among its items, each of
/// which reads a column (a constant could be taken for a position) and calls nothing volatile
/// (its value in the select list could differ from the group's). Says whether `select` now
/// groups.
pub(crate) fn distinct_as_grouping(select: &mut datafusion::sql::sqlparser::ast::Select, sorted: &[Expr]) -> bool {
    use datafusion::sql::sqlparser::ast::{Distinct, GroupByExpr};
    let exprs: Option<Vec<Expr>> = select
        .projection
        .iter()
        .map(|item| match item {
            SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. } => Some(e.clone()),
            _ => None,
        })
        .collect();
    let Some(exprs) = exprs else { return false };
    let reads_column = |e: &Expr| visit_expressions(e, |inner| if matches!(inner, Expr::Identifier(_) | Expr::CompoundIdentifier(_)) { ControlFlow::Break(()) } else { ControlFlow::Continue(()) }).is_break();
    let volatile = |e: &Expr| {
        visit_expressions(e, |inner| match inner {
            Expr::Function(f) if builtin_name(&f.name).is_some_and(|n| matches!(n.as_str(), "random" | "nextval" | "setval" | "gen_random_uuid" | "uuid" | "clock_timestamp" | "timeofday")) => ControlFlow::Break(()),
            _ => ControlFlow::Continue(()),
        })
        .is_break()
    };
    let plain = matches!(select.distinct, Some(Distinct::Distinct))
        && select.group_by_is_empty()
        && select.having.is_none()
        && !exprs.is_empty()
        && exprs.iter().all(|e| reads_column(e) && !volatile(e) && !constraints::contains_subquery(e) && !crate::router::calls_aggregate(e, true))
        && sorted.iter().all(|s| exprs.contains(s));
    if plain {
        select.distinct = None;
        select.group_by = GroupByExpr::Expressions(exprs, Vec::new());
    }
    plain
}

fn postgres_nulls_order(item: &mut datafusion::sql::sqlparser::ast::OrderByExpr) {
    numeric_keys(&mut [&mut item.expr]);
    if item.options.nulls_first.is_none() {
        item.options.nulls_first = Some(item.options.asc == Some(false));
    }
}

/// `public.t` is `t`, `public.t.c` is `t.c` and `public.t.*` is `t.*` (Prisma names every
/// table and column so): rhei keeps every table in the one schema `public`, and neither
/// engine resolves a column through its table's schema (42703), nor matches `t.*` with
/// `public.t` in FROM, nor (SQLite) reads `public.` as anything but an attached database.
pub fn unqualify_public(statement: &mut Statement) {
    let _ = datafusion::sql::sqlparser::ast::visit_relations_mut(statement, |name| {
        strip_public(name);
        ControlFlow::<()>::Continue(())
    });
    let _ = visit_expressions_mut(statement, |expr| {
        if let Expr::CompoundIdentifier(parts) = expr
            && parts.len() == 3
            && normalize_ident(&parts[0]) == "public"
        {
            parts.remove(0);
        }
        ControlFlow::<()>::Continue(())
    });
    let _ = datafusion::sql::sqlparser::ast::VisitMut::visit(statement, &mut PublicWildcards);
}

/// `a IS [NOT] DISTINCT FROM b AND c` is `(a IS DISTINCT FROM b) AND c` in PostgreSQL, where
/// IS binds tighter than AND and OR; sqlparser reads the rest of the expression into the
/// right operand, `a IS DISTINCT FROM (b AND c)` (42804 "argument of AND must be type boolean"
/// on both engines; apache/datafusion-sqlparser-rs#2436, fixed after 0.61). The AND/OR is
/// lifted back out, through a chain of them down to its leftmost operand; a parenthesized
/// operand is left as written. So is one a prefix NOT took with it (`NOT a IS DISTINCT FROM b
/// AND c` is `(NOT ...) AND c`): NOT binds tighter than AND, so a NOT directly over an AND or
/// OR comes only from this. The comparison lifted out is parenthesized (`Expr::Nested`), so
/// the statement printed reads back the same: rhei prints and re-reads statements it builds
/// around a client's (MERGE's steps, derived tables, DISTINCT ON).
pub fn distinct_from_binding_as_postgresql(statement: &mut Statement) {
    fn lifted_out(right: Expr, innermost: &dyn Fn(Expr) -> Expr) -> Expr {
        match right {
            Expr::BinaryOp { left: first, op: op @ (BinaryOperator::And | BinaryOperator::Or), right: rest } => {
                Expr::BinaryOp { left: Box::new(lifted_out(*first, innermost)), op, right: rest }
            }
            other => innermost(other),
        }
    }
    let is_and_or = |e: &Expr| matches!(e, Expr::BinaryOp { op: BinaryOperator::And | BinaryOperator::Or, .. });
    let _ = visit_expressions_mut(statement, |expr| {
        let negated = matches!(expr, Expr::IsNotDistinctFrom(..));
        match expr {
            Expr::IsDistinctFrom(left, right) | Expr::IsNotDistinctFrom(left, right) if is_and_or(right) => {
                let (left, right) = (take(left), take(right));
                *expr = lifted_out(right, &|last| {
                    let (left, last) = (Box::new(left.clone()), Box::new(last));
                    Expr::Nested(Box::new(if negated { Expr::IsNotDistinctFrom(left, last) } else { Expr::IsDistinctFrom(left, last) }))
                });
            }
            Expr::UnaryOp { op: datafusion::sql::sqlparser::ast::UnaryOperator::Not, expr: inner } if is_and_or(inner) => {
                *expr = lifted_out(take(inner), &|first| Expr::UnaryOp { op: datafusion::sql::sqlparser::ast::UnaryOperator::Not, expr: Box::new(first) });
            }
            _ => {}
        }
        ControlFlow::<()>::Continue(())
    });
}

/// `public.t` as `t`.
fn strip_public(name: &mut ObjectName) {
    if name.0.len() == 2 && name.0[0].as_ident().is_some_and(|schema| normalize_ident(schema) == "public") {
        name.0.remove(0);
    }
}

/// `public.t.*` is `t.*` (see [`unqualify_public`]), in every branch of a set operation too.
struct PublicWildcards;

impl PublicWildcards {
    fn unqualify(body: &mut SetExpr) {
        match body {
            SetExpr::Select(select) => {
                for item in &mut select.projection {
                    if let SelectItem::QualifiedWildcard(datafusion::sql::sqlparser::ast::SelectItemQualifiedWildcardKind::ObjectName(name), _) = item {
                        strip_public(name);
                    }
                }
            }
            SetExpr::SetOperation { left, right, .. } => {
                Self::unqualify(left);
                Self::unqualify(right);
            }
            _ => {}
        }
    }
}

impl datafusion::sql::sqlparser::ast::VisitorMut for PublicWildcards {
    type Break = ();

    fn pre_visit_query(&mut self, query: &mut Query) -> ControlFlow<()> {
        Self::unqualify(query.body.as_mut());
        ControlFlow::Continue(())
    }
}

/// A bare numeric column read as a number (`CAST(v AS REAL)`, see [`rewrite_expr`]) given
/// back as the exact text it holds.
fn exact_column(expr: &Expr) -> Option<&Expr> {
    unwrap_real(expr).filter(|inner| matches!(inner, Expr::Identifier(_) | Expr::CompoundIdentifier(_)))
}

/// The outermost select list (ungrouped) and RETURNING give a numeric column as the exact text
/// it holds, under an alias too (`SELECT t.n AS t_n`, as ORMs write every column), as
/// [`fix_projections`] gives a bare one: read through a double it lost the digits past the
/// 15th and its written scale. An ORDER BY naming the alias is a position by now
/// ([`OrderByOutputNames`]), which sorts by the number. Inner queries keep the number, which
/// their outer references compare, and so do grouped ones.
fn exact_columns(items: &mut [SelectItem]) {
    for item in items {
        if let SelectItem::UnnamedExpr(expr) | SelectItem::ExprWithAlias { expr, .. } = item
            && let Some(exact) = exact_column(expr).cloned()
        {
            *expr = exact;
        }
    }
}

fn fix_projections(body: &mut SetExpr) {
    match body {
        SetExpr::Select(select) => {
            // A window defined in the WINDOW clause orders NULLs as PostgreSQL does too (those
            // written in OVER (...) are fixed where the call is rewritten).
            for datafusion::sql::sqlparser::ast::NamedWindowDefinition(_, definition) in &mut select.named_window {
                if let datafusion::sql::sqlparser::ast::NamedWindowExpr::WindowSpec(spec) = definition {
                    spec.order_by.iter_mut().for_each(postgres_nulls_order);
                }
            }
            let grouped = select.distinct.is_some() || !select.group_by_is_empty();
            for item in &mut select.projection {
                match item {
                    SelectItem::UnnamedExpr(e) => {
                        if let Some(inner) = unwrap_real(e).filter(|i| matches!(i, Expr::Identifier(_) | Expr::CompoundIdentifier(_))) {
                            let name = match inner {
                                Expr::Identifier(ident) => ident.clone(),
                                Expr::CompoundIdentifier(parts) => parts.last().cloned().unwrap_or_else(|| Ident::new("?column?")),
                                _ => Ident::new("?column?"),
                            };
                            let expr = if grouped { e.clone() } else { inner.clone() };
                            *item = SelectItem::ExprWithAlias { expr, alias: Ident::with_quote('"', normalize_ident(&name)) };
                        }
                    }
                    SelectItem::ExprWithAlias { alias, .. } => {
                        *alias = Ident::with_quote('"', normalize_ident(alias));
                    }
                    _ => {}
                }
            }
        }
        SetExpr::SetOperation { left, right, .. } => {
            fix_projections(left);
            fix_projections(right);
        }
        _ => {}
    }
}

/// For a set operation whose ORDER BY names a numeric column (by position or name): each key's
/// position, and whether that column is numeric in any operand. Its values leave SQLite as
/// exact text (see [`fix_projections`]), which sorts as text (`10.500` before `2.000`); SQLite
/// sorts a set operation by its columns only, so [`sorted_by_numeric_keys`] sorts it from
/// outside. Also for a key that is a numeric column's read (`ORDER BY amt`, read as
/// `CAST(amt AS REAL)`, which names no column of the set operation). `None` where no key needs
/// it, a key names no column, the leftmost operand is not a plain SELECT or an operand has a
/// wildcard (whose columns' positions are not the items').
fn numeric_set_operation_keys(query: &Query) -> Option<Vec<(usize, bool)>> {
    fn leaves<'q>(body: &'q SetExpr, into: &mut Vec<&'q datafusion::sql::sqlparser::ast::Select>) -> bool {
        match body {
            SetExpr::SetOperation { left, right, .. } => leaves(left, into) && leaves(right, into),
            SetExpr::Select(select) => {
                into.push(select);
                true
            }
            SetExpr::Query(query) if !into.is_empty() => leaves(&query.body, into),
            _ => false,
        }
    }
    let Some(datafusion::sql::sqlparser::ast::OrderBy { kind: datafusion::sql::sqlparser::ast::OrderByKind::Expressions(keys), .. }) = &query.order_by else { return None };
    if !matches!(query.body.as_ref(), SetExpr::SetOperation { .. }) {
        return None;
    }
    let mut selects = Vec::new();
    if !leaves(&query.body, &mut selects) || selects.iter().any(|s| s.projection.iter().any(|i| matches!(i, SelectItem::Wildcard(_) | SelectItem::QualifiedWildcard(..)))) {
        return None;
    }
    let first = selects.first()?;
    let mut reads_numeric = false;
    let positions = keys
        .iter()
        .map(|key| match &key.expr {
            Expr::Value(ValueWithSpan { value: Value::Number(n, _), .. }) => n.parse::<usize>().ok()?.checked_sub(1),
            // A numeric column's name is already its read (`CAST(n AS REAL)`).
            named => {
                reads_numeric |= unwrap_real(named).is_some();
                match unwrap_real(named).unwrap_or(named) {
                    Expr::Identifier(name) => first.projection.iter().position(|item| set_column_name(item) == Some(normalize_ident(name))),
                    _ => None,
                }
            }
        })
        .collect::<Option<Vec<usize>>>()?;
    let numeric = |position: usize| {
        selects.iter().any(|select| match select.projection.get(position) {
            Some(SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. }) => unwrap_real(e).is_some() || is_numeric_cast(e),
            _ => false,
        })
    };
    let keyed: Vec<(usize, bool)> = positions.into_iter().map(|p| (p, numeric(p))).collect();
    (reads_numeric || keyed.iter().any(|(_, numeric)| *numeric)).then_some(keyed)
}

/// The name SQLite gives a set operation's column from its first operand's item: its alias, or
/// the column it reads (a numeric column's read included); `None` for another expression.
fn set_column_name(item: &SelectItem) -> Option<String> {
    match item {
        SelectItem::ExprWithAlias { alias, .. } => Some(normalize_ident(alias)),
        SelectItem::UnnamedExpr(e) => match unwrap_real(e).unwrap_or(e) {
            Expr::Identifier(ident) => Some(normalize_ident(ident)),
            Expr::CompoundIdentifier(parts) => parts.last().map(normalize_ident),
            _ => None,
        },
        _ => None,
    }
}

/// `a UNION b ORDER BY 1` as `SELECT * FROM (a UNION b) AS rhei_operand ORDER BY
/// rhei_numeric_key(rhei_operand."amt")`, its keys at `keys` (see
/// [`numeric_set_operation_keys`]). The result's columns keep their names (an outer query or a
/// GROUP BY of the first operand may use them); an expression without one is named
/// `rhei_c<n>`. Left as it is where two columns share a name.
fn sorted_by_numeric_keys(query: &mut Query, keys: &[(usize, bool)]) {
    let Some(datafusion::sql::sqlparser::ast::OrderBy { kind: datafusion::sql::sqlparser::ast::OrderByKind::Expressions(order), .. }) = &mut query.order_by else { return };
    let mut first = query.body.as_mut();
    while let SetExpr::SetOperation { left, .. } = first {
        first = left.as_mut();
    }
    let SetExpr::Select(select) = first else { return };
    let names: Vec<String> =
        select.projection.iter().enumerate().map(|(i, item)| set_column_name(item).unwrap_or_else(|| format!("rhei_c{}", i + 1))).collect();
    if names.iter().enumerate().any(|(i, name)| names[..i].contains(name)) {
        return;
    }
    for (item, name) in select.projection.iter_mut().zip(&names) {
        if let SelectItem::UnnamedExpr(expr) = item
            && !matches!(expr, Expr::Identifier(_) | Expr::CompoundIdentifier(_))
        {
            *item = SelectItem::ExprWithAlias { expr: std::mem::replace(expr, null()), alias: Ident::with_quote('"', name.as_str()) };
        }
    }
    let body = std::mem::replace(query.body.as_mut(), SetExpr::Values(empty_values()));
    let Some(outer) = select_star_from(body) else { return };
    *query.body = outer;
    for (key, (position, numeric)) in order.iter_mut().zip(keys) {
        let Some(name) = names.get(*position) else { continue };
        let column = Expr::CompoundIdentifier(vec![Ident::new("rhei_operand"), Ident::with_quote('"', name.as_str())]);
        key.expr = if *numeric { call("rhei_numeric_key", vec![column]) } else { column };
    }
}

/// UNION, INTERSECT and EXCEPT operands SQLite would not read as PostgreSQL does become
/// `SELECT * FROM (operand)`: a parenthesized one (`(SELECT ... ORDER BY v LIMIT 1) UNION ALL
/// ...`, which SQLite cannot parse), and a right operand that is itself a set operation
/// (`a UNION b INTERSECT c`: INTERSECT binds tighter in PostgreSQL, SQLite goes left to right).
fn standalone_set_operands(body: &mut SetExpr) {
    let SetExpr::SetOperation { left, right, .. } = body else { return };
    standalone_set_operands(left);
    standalone_set_operands(right);
    for (operand, is_right) in [(left, false), (right, true)] {
        let wrap = match operand.as_ref() {
            SetExpr::Query(_) => true,
            SetExpr::SetOperation { .. } => is_right,
            _ => false,
        };
        if wrap && let Some(select) = select_star_from(std::mem::replace(operand.as_mut(), SetExpr::Values(empty_values()))) {
            **operand = select;
        }
    }
}

/// `SELECT * FROM (operand) AS rhei_operand`.
fn select_star_from(operand: SetExpr) -> Option<SetExpr> {
    let template = "SELECT * FROM (SELECT 1) AS rhei_operand";
    let mut parsed = datafusion::sql::sqlparser::parser::Parser::parse_sql(&datafusion::sql::sqlparser::dialect::PostgreSqlDialect {}, template).ok()?;
    let Some(Statement::Query(mut query)) = parsed.pop() else { return None };
    let SetExpr::Select(select) = query.body.as_mut() else { return None };
    let TableFactor::Derived { subquery, .. } = &mut select.from.first_mut()?.relation else { return None };
    match operand {
        SetExpr::Query(inner) => *subquery = inner,
        other => *subquery.body = other,
    }
    Some(std::mem::replace(query.body.as_mut(), SetExpr::Values(empty_values())))
}

fn empty_values() -> datafusion::sql::sqlparser::ast::Values {
    datafusion::sql::sqlparser::ast::Values { explicit_row: false, value_keyword: false, rows: Vec::new() }
}

/// PostgreSQL's json operators as the functions both engines have for them (`crate::json`):
/// neither engine has them with PostgreSQL's meaning (SQLite's own `->` and `->>` take paths
/// and give SQL values).
pub(crate) fn json_operators_as_calls(expr: &mut Expr) {
    let Expr::BinaryOp { left, op, right } = expr else { return };
    if let BinaryOperator::QuestionPipe | BinaryOperator::QuestionAnd = op {
        // The keys as arguments of their own: an ARRAY[...] gives its elements, a '{a,b}'
        // literal is read here. Any other array stays an operator neither engine knows.
        let keys: Vec<Expr> = match right.as_ref() {
            Expr::Array(array) => array.elem.clone(),
            Expr::Value(ValueWithSpan { value: Value::SingleQuotedString(text), .. }) => match crate::json::path_steps(text) {
                Ok(steps) => steps.iter().map(|step| string(step)).collect(),
                Err(_) => return,
            },
            _ => return,
        };
        let name = if matches!(op, BinaryOperator::QuestionPipe) { "rhei_jsonb_exists_any" } else { "rhei_jsonb_exists_all" };
        let left = std::mem::replace(left.as_mut(), null());
        *expr = call(name, std::iter::once(left).chain(keys).collect());
        return;
    }
    let (name, swap) = match op {
        BinaryOperator::Arrow => ("rhei_json_get", false),
        BinaryOperator::LongArrow => ("rhei_json_get_text", false),
        BinaryOperator::HashArrow => ("rhei_json_path", false),
        BinaryOperator::HashLongArrow => ("rhei_json_path_text", false),
        BinaryOperator::AtArrow => ("rhei_jsonb_contains", false),
        BinaryOperator::ArrowAt => ("rhei_jsonb_contains", true),
        BinaryOperator::Question => ("rhei_jsonb_exists", false),
        BinaryOperator::HashMinus => ("rhei_jsonb_delete_path", false),
        _ => return,
    };
    let left = std::mem::replace(left.as_mut(), null());
    let mut right = std::mem::replace(right.as_mut(), null());
    // A path written `ARRAY['a', '1']` reaches the path functions as the text of that array,
    // as a `'{a,1}'` literal does (neither engine passes a text[] to them).
    if let Expr::Array(array) = &right
        && matches!(op, BinaryOperator::HashArrow | BinaryOperator::HashLongArrow | BinaryOperator::HashMinus)
        && let Some(steps) = array.elem.iter().map(literal_text).collect::<Option<Vec<String>>>()
    {
        let quoted: Vec<String> = steps.iter().map(|s| format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))).collect();
        right = string(&format!("{{{}}}", quoted.join(",")));
    }
    *expr = call(name, if swap { vec![right, left] } else { vec![left, right] });
}


/// Whether a collation orders text by its bytes, as rhei does on both engines: PostgreSQL's
/// `C`, `POSIX`, `ucs_basic`, and `default` (rhei's default is byte order).
pub(crate) fn is_byte_order_collation(collation: &ObjectName) -> bool {
    let name = collation.0.last().map(|part| part.to_string().trim_matches('"').to_ascii_lowercase()).unwrap_or_default();
    matches!(name.as_str(), "c" | "posix" | "ucs_basic" | "default")
}

/// A comparison of two rows (`(at, id) > ($1, $2)`, keyset pagination) as the comparisons of
/// their fields PostgreSQL makes (DataFusion refuses rows; on SQLite, which has them, a
/// literal field was compared with a date's stored day number): `=` all equal, `<>` any
/// differs, `<` `<=` `>` `>=` by the first field that differs (NULLs giving NULL alike); a
/// row `IN` a list of rows as its equalities ORed.
/// A cast to `timestamp(p)` / `timestamptz(p)` rounds to `p` fraction digits, as PostgreSQL's
/// does: the cast without the precision, then `rhei_round_timestamp` (SQLite answered such a
/// cast with raw microseconds, DataFusion refused the type).
pub(crate) fn timestamp_precision_as_rounding(expr: &mut Expr) {
    let Expr::Cast { data_type: SqlType::Timestamp(precision @ Some(_), _), .. } = expr else { return };
    let digits = precision.take().unwrap_or(6);
    if digits < 6 {
        let cast = std::mem::replace(expr, null());
        *expr = call("rhei_round_timestamp", vec![cast, number(digits as i64)]);
    }
}

/// A cast to `time(p)` rounds to `p` fraction digits, as PostgreSQL's does (SQLite answered
/// the cast with raw microseconds, DataFusion refused the type).
pub(crate) fn time_precision_as_rounding(expr: &mut Expr) {
    let Expr::Cast { data_type: SqlType::Time(precision @ Some(_), _), .. } = expr else { return };
    let digits = precision.take().unwrap_or(6);
    if digits < 6 {
        let cast = take(expr);
        *expr = call("rhei_round_time", vec![cast, number(digits as i64)]);
    }
}

pub(crate) fn row_comparison_as_fields(expr: &mut Expr) {
    // A row IN a list of rows is equal to one of them: each equality as fields, ORed.
    if let Expr::InList { expr: row, list, negated } = expr
        && let Expr::Tuple(fields) = row.as_ref()
        && !list.is_empty()
        && list.iter().all(|item| matches!(item, Expr::Tuple(values) if values.len() == fields.len()))
    {
        let equalities = list.iter().map(|item| {
            let mut equal = Expr::BinaryOp { left: row.clone(), op: BinaryOperator::Eq, right: Box::new(item.clone()) };
            row_comparison_as_fields(&mut equal);
            equal
        });
        // Balanced, so a list of thousands of rows stays within SQLite's expression depth.
        fn any_of(mut alternatives: Vec<Expr>) -> Option<Expr> {
            if alternatives.len() <= 1 {
                return alternatives.pop();
            }
            let right = alternatives.split_off(alternatives.len() / 2);
            let (l, r) = (any_of(alternatives)?, any_of(right)?);
            Some(Expr::Nested(Box::new(Expr::BinaryOp { left: Box::new(l), op: BinaryOperator::Or, right: Box::new(r) })))
        }
        let Some(any) = any_of(equalities.collect()) else { return };
        *expr = if *negated { Expr::UnaryOp { op: UnaryOperator::Not, expr: Box::new(Expr::Nested(Box::new(any))) } } else { any };
        return;
    }
    let Expr::BinaryOp { left, op, right } = expr else { return };
    let (Expr::Tuple(a), Expr::Tuple(b)) = (left.as_ref(), right.as_ref()) else { return };
    if a.len() != b.len() || a.is_empty() {
        return;
    }
    let compare = |x: &Expr, op: BinaryOperator, y: &Expr| Expr::Nested(Box::new(Expr::BinaryOp { left: Box::new(x.clone()), op, right: Box::new(y.clone()) }));
    let joined = |parts: Vec<Expr>, op: BinaryOperator| {
        parts.into_iter().reduce(|l, r| Expr::Nested(Box::new(Expr::BinaryOp { left: Box::new(l), op: op.clone(), right: Box::new(r) })))
    };
    let pairs = a.iter().zip(b.iter());
    let rewritten = match op {
        BinaryOperator::Eq => joined(pairs.map(|(x, y)| compare(x, BinaryOperator::Eq, y)).collect(), BinaryOperator::And),
        BinaryOperator::NotEq => joined(pairs.map(|(x, y)| compare(x, BinaryOperator::NotEq, y)).collect(), BinaryOperator::Or),
        BinaryOperator::Lt | BinaryOperator::LtEq | BinaryOperator::Gt | BinaryOperator::GtEq => {
            let strict = if matches!(op, BinaryOperator::Lt | BinaryOperator::LtEq) { BinaryOperator::Lt } else { BinaryOperator::Gt };
            let mut pairs: Vec<(&Expr, &Expr)> = pairs.collect();
            let Some((x, y)) = pairs.pop() else { return };
            // The last field decides with the operator itself; each one before it with its
            // strict form, or equal and the rest deciding.
            let mut decided = compare(x, op.clone(), y);
            for (x, y) in pairs.into_iter().rev() {
                let equal_then_rest = Expr::Nested(Box::new(Expr::BinaryOp { left: Box::new(compare(x, BinaryOperator::Eq, y)), op: BinaryOperator::And, right: Box::new(decided) }));
                decided = Expr::Nested(Box::new(Expr::BinaryOp { left: Box::new(compare(x, strict.clone(), y)), op: BinaryOperator::Or, right: Box::new(equal_then_rest) }));
            }
            Some(decided)
        }
        _ => None,
    };
    if let Some(rewritten) = rewritten {
        *expr = rewritten;
    }
}

/// A square root or logarithm outside its domain fails as in PostgreSQL (2201F, 2201E; SQLite
/// gave NULL, DataFusion NaN or -Infinity): each argument passes through a check first. Done
/// as a statement is translated for an engine, never to what is stored (a column default).
pub(crate) fn math_domain_checked(expr: &mut Expr) {
    let Expr::Function(f) = expr else { return };
    let domain = match f.name.to_string().to_ascii_lowercase().as_str() {
        "sqrt" | "pg_catalog.sqrt" => "sqrt",
        "ln" | "log" | "log10" | "pg_catalog.ln" | "pg_catalog.log" | "pg_catalog.log10" => "log",
        _ => return,
    };
    let FunctionArguments::List(list) = &mut f.args else { return };
    for arg in &mut list.args {
        if let FunctionArg::Unnamed(FunctionArgExpr::Expr(value)) = arg {
            let checked = std::mem::replace(value, null());
            *value = call("rhei_math_domain", vec![checked, string(domain)]);
        }
    }
}

/// Whether `expr`, translated for SQLite, is a real or double precision value: a column of
/// one, or a cast to one (`rhei_float`; `CAST(x AS REAL)` is how a numeric is read there, see
/// [`as_real`]).
fn is_double(expr: &Expr, scope: &Scope<'_>) -> bool {
    match expr {
        Expr::Nested(inner) | Expr::UnaryOp { expr: inner, .. } => is_double(inner, scope),
        Expr::Function(f) => f.name.to_string() == "rhei_float",
        Expr::Cast { data_type, .. } => {
            matches!(data_type, SqlType::Float4 | SqlType::Float8 | SqlType::DoublePrecision | SqlType::Double(_) | SqlType::Float(_))
        }
        other => matches!(scope.column_type(other), Some(PgType::Float4 | PgType::Float8)),
    }
}

/// Whether `f` is a function of a numeric value's written digits.
fn is_digits_function(f: &Function) -> bool {
    let name = f.name.to_string().to_ascii_lowercase();
    ["scale", "min_scale", "trim_scale", "div"].contains(&name.as_str())
}

fn rewrite_expr(expr: &mut Expr, scope: &Scope<'_>, opts: TranslateOptions) -> Result<()> {
    arrays::operators_for_sqlite(expr, scope, opts);
    json_operators_as_calls(expr);
    math_domain_checked(expr);
    let replaced = match expr {
        // SQLite reads a number with a fraction, or beyond 64 bits, as a double. One with more
        // digits than a double keeps, or with trailing fraction zeros (`1.50`), is written as
        // `CAST('digits' AS REAL)`: a number wherever it is compared or computed with (as
        // before), and its exact text where numeric takes it (`rhei_numeric` unwraps it, see
        // `exact_numeric_argument`).
        Expr::Value(ValueWithSpan { value: Value::Number(n, _), .. }) if n.parse::<i64>().is_err() && crate::lift::needs_exact_text(n) => {
            Some(as_real(string(n)))
        }
        Expr::UnaryOp { op: datafusion::sql::sqlparser::ast::UnaryOperator::Minus, expr: inner } if long_number_text(inner).is_some() => {
            long_number_text(inner).map(|t| as_real(string(&negated(t))))
        }
        Expr::Function(f) if f.name.to_string() == "rhei_numeric" => {
            exact_numeric_argument(f);
            None
        }
        // round() of a double rounds half to even in PostgreSQL (2.5 is 2); SQLite's rounds
        // half away from zero.
        Expr::Function(f)
            if f.name.to_string().eq_ignore_ascii_case("round")
                && matches!(&f.args, FunctionArguments::List(list) if list.args.len() == 1)
                && first_arg(f).is_some_and(|arg| is_double(arg, scope)) =>
        {
            f.name = ObjectName(vec![ObjectNamePart::Identifier(Ident::new("rhei_rint"))]);
            None
        }
        // scale(), min_scale(), trim_scale() and div() read a value's digits: a literal's
        // exact text (not the double SQLite reads it as), a numeric(p,s) column's at its
        // declared scale (it holds 12.5 for 12.50).
        Expr::Function(f) if is_digits_function(f) => {
            if let FunctionArguments::List(list) = &mut f.args {
                for arg in &mut list.args {
                    if let FunctionArg::Unnamed(FunctionArgExpr::Expr(operand)) = arg {
                        if let Some(exact) = unwrap_real(operand).cloned() {
                            *operand = exact;
                        } else if let Some(PgType::Numeric { scale: Some(scale), .. }) = scope.column_type(operand) {
                            let column = std::mem::replace(operand, number(0));
                            *operand = call(numeric_arithmetic::EXACT_FN, vec![string("round"), column, number(i64::from(scale))]);
                        }
                    }
                }
            }
            None
        }
        // Its operands go in as the exact text they are (see `numeric_arithmetic`), and so do
        // the fallbacks of a COALESCE of one (`coalesce(sum(a), 0.00)` is `0.00`).
        Expr::Function(f) if numeric_arithmetic::is_exact_function_call(f) => {
            if let FunctionArguments::List(list) = &mut f.args {
                for arg in &mut list.args {
                    if let FunctionArg::Unnamed(FunctionArgExpr::Expr(operand)) = arg
                        && let Some(exact) = unwrap_real(operand).cloned()
                    {
                        *operand = exact;
                    }
                }
            }
            None
        }
        // SQLite has IS [NOT] TRUE and FALSE but no IS [NOT] UNKNOWN (42703, a column
        // "unknown"); for a boolean it is IS [NOT] NULL.
        Expr::IsUnknown(inner) => Some(Expr::IsNull(inner.clone())),
        Expr::IsNotUnknown(inner) => Some(Expr::IsNotNull(inner.clone())),
        // $$...$$ and $tag$...$tag$: SQLite reads `$name` as a parameter (unbound: NULL).
        Expr::Value(ValueWithSpan { value: Value::DollarQuotedString(quoted), .. }) => Some(string(&quoted.value)),
        // E'...': the parser has applied its backslash escapes; SQLite reads E as a name.
        Expr::Value(ValueWithSpan { value: Value::EscapedStringLiteral(text), .. }) => Some(string(text)),
        Expr::Value(ValueWithSpan { value: Value::Placeholder(p), .. }) => {
            if let Some(n) = p.strip_prefix('$') {
                *p = format!("?{n}");
            }
            None
        }
        Expr::AtTimeZone { timestamp, time_zone } => Some(at_time_zone(timestamp, time_zone, scope, opts)?),
        // rhei orders text by its bytes, SQLite's BINARY, which knows no `C` (it failed, XX000).
        Expr::Collate { collation, .. } if is_byte_order_collation(collation) => {
            *collation = ObjectName(vec![ObjectNamePart::Identifier(Ident::new("BINARY"))]);
            None
        }
        Expr::Collate { collation, .. } => return Err(EngineError::unsupported(format!("COLLATE {collation} (rhei orders text by its bytes: COLLATE \"C\")"))),
        // `'t_id_seq'::regclass` names a sequence for nextval and friends, which take its text.
        Expr::Cast { expr: inner, data_type: SqlType::Regclass, .. }
            if matches!(inner.as_ref(), Expr::Value(ValueWithSpan { value: Value::SingleQuotedString(_), .. })) =>
        {
            Some(std::mem::replace(inner.as_mut(), null()))
        }
        // An array cast is read where the array is used (`= ANY ($1::int[])`).
        Expr::Cast { data_type: SqlType::Array(_), .. } => None,
        // extract() is numeric, with as many places as its field has: as text `2024`, and
        // `1714557600.500000` for an epoch (SQLite's double wrote `2024.0`, `1714557600.5`).
        Expr::Cast { expr: inner, data_type: SqlType::Text | SqlType::Varchar(None) | SqlType::CharacterVarying(None) | SqlType::String(None), .. }
            if let Some(places) = extract_places(inner) =>
        {
            Some(call("rhei_numeric", vec![std::mem::replace(inner.as_mut(), null()), null(), places]))
        }
        Expr::Cast { expr: inner, data_type, .. } => {
            let literal = numeric_literal(inner);
            let source = scope
                .column_type(unwrap_real(inner).unwrap_or(inner))
                .or_else(|| literal.is_some().then_some(PgType::Numeric { precision: None, scale: None }))
                .or_else(|| translated_type(inner))
                .or_else(|| temporal_type(inner, scope))
                .or_else(|| is_time(inner, scope).then_some(PgType::Time));
            let is_text = matches!(
                data_type,
                SqlType::Text | SqlType::Varchar(None) | SqlType::CharacterVarying(None) | SqlType::String(None)
            );
            match literal {
                // A numeric literal shown as text keeps its digits as written (`1.50`), which
                // SQLite's REAL would lose.
                Some(text) if is_text => Some(string(&text)),
                _ => {
                    let inner = std::mem::replace(inner.as_mut(), null());
                    Some(cast_from(inner, source, data_type, opts)?)
                }
            }
        }
        Expr::Trim { expr: inner, trim_where, trim_what, trim_characters } => {
            use datafusion::sql::sqlparser::ast::TrimWhereField;
            let name = match trim_where {
                Some(TrimWhereField::Leading) => "ltrim",
                Some(TrimWhereField::Trailing) => "rtrim",
                _ => "trim",
            };
            let mut args = vec![std::mem::replace(inner.as_mut(), null())];
            if let Some(what) = trim_what.take() {
                args.push(*what);
            } else if let Some(chars) = trim_characters.take() {
                args.extend(chars);
            }
            Some(call(name, args))
        }
        Expr::TypedString(typed) => {
            let text = match &typed.value.value {
                Value::SingleQuotedString(s) => s.clone(),
                other => other.to_string(),
            };
            Some(cast_expr(string(&text), &typed.data_type, opts)?)
        }
        Expr::Like { any: true, escape_char: None, .. } | Expr::ILike { any: true, escape_char: None, .. } => like_any_call(expr, Some(opts)),
        Expr::ILike { negated, any, expr: lhs, pattern, escape_char } => {
            let lhs = std::mem::replace(lhs.as_mut(), null());
            let pattern = std::mem::replace(pattern.as_mut(), null());
            Some(Expr::Like {
                negated: *negated,
                any: *any,
                expr: Box::new(call("lower", vec![lhs])),
                pattern: Box::new(call("lower", vec![pattern])),
                escape_char: escape_char.clone().or_else(like_escape),
            })
        }
        // PostgreSQL's LIKE escapes with a backslash unless told otherwise; SQLite's has no escape
        // character unless given one, so `'%\_%'` matched any backslash there.
        Expr::Like { escape_char: escape @ None, .. } => {
            *escape = like_escape();
            None
        }
        Expr::Function(func) => {
            if let Some(datafusion::sql::sqlparser::ast::WindowType::WindowSpec(spec)) = func.over.as_mut() {
                spec.order_by.iter_mut().for_each(postgres_nulls_order);
            }
            // An aggregate's ORDER BY too: SQLite put NULL first in `array_agg(x ORDER BY x)`.
            if let FunctionArguments::List(list) = &mut func.args {
                for clause in &mut list.clauses {
                    if let datafusion::sql::sqlparser::ast::FunctionArgumentClause::OrderBy(items) = clause {
                        items.iter_mut().for_each(postgres_nulls_order);
                    }
                }
            }
            let name = func.name.to_string().to_ascii_lowercase();
            // Extremes of values cast to numeric (exact text, which SQLite's own compare as
            // text: 19.99 came after 123456789012345.67) by number, still exact text.
            if matches!(name.as_str(), "min" | "max")
                && func.over.is_none()
                && first_arg(func).is_some_and(is_numeric_cast)
            {
                let exact = if name == "min" { crate::oltp::numeric_ops::MIN } else { crate::oltp::numeric_ops::MAX };
                func.name = ObjectName(vec![ObjectNamePart::Identifier(Ident::new(exact))]);
                return Ok(());
            }
            if name == "date_bin" {
                date_bin_in_micros(func, scope, opts);
            }
            let mut truncated_in_zone = false;
            if matches!(name.as_str(), "date_trunc" | "date_part")
                && let FunctionArguments::List(list) = &mut func.args
                && let Some(FunctionArg::Unnamed(FunctionArgExpr::Expr(arg))) = list.args.get_mut(1)
            {
                let source = temporal_type(arg, scope);
                let value = std::mem::replace(arg, null());
                *arg = wall_clock(as_micros(value, source), source, opts);
                truncated_in_zone = name == "date_trunc" && source == Some(PgType::Timestamptz) && !is_utc(opts);
            }
            // date_trunc of a timestamptz truncates its wall-clock time, then names that instant.
            if truncated_in_zone {
                Some(instant(Expr::Function(func.clone()), opts))
            } else {
                rewrite_function(func, opts)
            }
        }
        Expr::Extract { field, expr: inner, .. } => {
            let source = temporal_type(inner, scope);
            let inner = std::mem::replace(inner.as_mut(), null());
            // `rhei_extract` is SQLite's date_part under a name of its own, with the places of
            // extract's numeric as a third argument, so a cast of it to text (below) can write
            // them.
            let name = field_name(field);
            let places = extract_scale(&name, source == Some(PgType::Date)).map_or_else(null, number);
            Some(call("rhei_extract", vec![string(&name), wall_clock(as_micros(inner, source), source, opts), places]))
        }
        Expr::Position { expr: needle, r#in } => {
            let needle = std::mem::replace(needle.as_mut(), null());
            let haystack = std::mem::replace(r#in.as_mut(), null());
            Some(call("strpos", vec![haystack, needle]))
        }
        // substring(x FROM 'pattern') is a regular-expression match in PostgreSQL.
        // With FOR, the pattern is a SQL regular expression and FOR its escape.
        Expr::Substring { expr: s, substring_from: Some(from), substring_for, .. } if is_string_literal(from) => {
            let (text, pattern) = (std::mem::replace(s.as_mut(), null()), std::mem::replace(from.as_mut(), null()));
            let pattern = match substring_for.take().map(|escape| *escape) {
                None => pattern,
                Some(Expr::Value(ValueWithSpan { value: escape @ Value::SingleQuotedString(_), .. })) => similar_to_pattern(pattern, Some(&escape))?,
                Some(_) => return Err(EngineError::unsupported("substring(... FROM pattern FOR escape) with an escape that is not a constant")),
            };
            Some(call("rhei_regex_substring", vec![text, pattern]))
        }
        Expr::SimilarTo { negated, expr: text, pattern, escape_char } => {
            let (text, pattern) = (std::mem::replace(text.as_mut(), null()), std::mem::replace(pattern.as_mut(), null()));
            let matched = call("rhei_regex_match", vec![text, similar_to_pattern(pattern, escape_char.as_ref())?, string("")]);
            Some(if *negated { Expr::UnaryOp { op: datafusion::sql::sqlparser::ast::UnaryOperator::Not, expr: Box::new(matched) } } else { matched })
        }
        Expr::BinaryOp {
            left,
            op: op @ (BinaryOperator::PGRegexMatch | BinaryOperator::PGRegexIMatch | BinaryOperator::PGRegexNotMatch | BinaryOperator::PGRegexNotIMatch),
            right,
        } => {
            let flags = if matches!(op, BinaryOperator::PGRegexIMatch | BinaryOperator::PGRegexNotIMatch) { "i" } else { "" };
            let negated = matches!(op, BinaryOperator::PGRegexNotMatch | BinaryOperator::PGRegexNotIMatch);
            let (text, pattern) = (std::mem::replace(left.as_mut(), null()), std::mem::replace(right.as_mut(), null()));
            let matched = call("rhei_regex_match", vec![text, pattern, string(flags)]);
            Some(if negated { Expr::UnaryOp { op: datafusion::sql::sqlparser::ast::UnaryOperator::Not, expr: Box::new(matched) } } else { matched })
        }
        Expr::Substring { expr: s, substring_from, substring_for, .. } => {
            let mut args = vec![std::mem::replace(s.as_mut(), null())];
            args.push(substring_from.take().map_or_else(|| number(1), |e| *e));
            if let Some(len) = substring_for.take() {
                args.push(*len);
            }
            Some(call("rhei_substr", args))
        }
        Expr::Identifier(_) | Expr::CompoundIdentifier(_) => {
            scope.column_type(expr).filter(PgType::is_numeric_text).map(|_| as_real(expr.clone()))
        }
        // SQLite answers x / 0 and x % 0 with NULL; PostgreSQL with 22012.
        Expr::BinaryOp { left, op: BinaryOperator::Divide, right } => {
            // A value cast to numeric is exact text, which SQLite divides as an integer when it
            // looks like one (`7::numeric / 2` was 3): numeric divides as a number, as numeric
            // columns do.
            for operand in [&mut *left, &mut *right] {
                if is_numeric_cast(operand) {
                    let exact = std::mem::replace(operand.as_mut(), null());
                    **operand = as_real(exact);
                }
            }
            let divisor = std::mem::replace(right.as_mut(), null());
            **right = call("rhei_divisor", vec![divisor]);
            None
        }
        Expr::AnyOp { .. } | Expr::AllOp { .. } => array_membership(expr, scope, opts)?,
        Expr::BinaryOp { left, op: BinaryOperator::PGBitwiseXor, right } => {
            let (l, r) = (std::mem::replace(left.as_mut(), null()), std::mem::replace(right.as_mut(), null()));
            Some(call("rhei_bitxor", vec![l, r]))
        }
        Expr::BinaryOp { left, op: BinaryOperator::Modulo, right } => {
            let (l, r) = (std::mem::replace(left.as_mut(), null()), std::mem::replace(right.as_mut(), null()));
            Some(call("rhei_mod", vec![l, r]))
        }
        // A value cast to numeric is exact text, which SQLite compares as text (`19.99` came
        // after `123456789012345.67`, a number before any text): it compares by numeric keys.
        Expr::BinaryOp { left, op, right } if is_comparison(op) => {
            convert_literal_against_column(left, right, scope, opts);
            convert_literal_against_column(right, left, scope, opts);
            numeric_keys(&mut [left.as_mut(), right.as_mut()]);
            None
        }
        Expr::Between { expr: col, low, high, .. } => {
            convert_literal_against_column(low, col, scope, opts);
            convert_literal_against_column(high, col, scope, opts);
            numeric_keys(&mut [col.as_mut(), low.as_mut(), high.as_mut()]);
            None
        }
        // A literal beside a typed column is read as that type, as in a comparison (SQLite
        // compared a time's or date's stored number with the text: every row was distinct).
        Expr::IsDistinctFrom(left, right) | Expr::IsNotDistinctFrom(left, right) => {
            convert_literal_against_column(left, right, scope, opts);
            convert_literal_against_column(right, left, scope, opts);
            numeric_keys(&mut [left.as_mut(), right.as_mut()]);
            None
        }
        Expr::InList { expr: col, list, .. } => {
            for item in list.iter_mut() {
                convert_literal_against_column(item, col, scope, opts);
            }
            let mut operands: Vec<&mut Expr> = std::iter::once(col.as_mut()).chain(list.iter_mut()).collect();
            numeric_keys(&mut operands);
            None
        }
        _ => None,
    };
    if let Some(new) = replaced {
        *expr = new;
    }
    Ok(())
}

/// If `other` is a typed column (possibly already read as REAL) and `value` a string literal or
/// parameter, converts `value` to that column's storage form, so `ts > '2024-01-01'` compares
/// microseconds with microseconds.
fn convert_literal_against_column(value: &mut Expr, other: &Expr, scope: &Scope<'_>, opts: TranslateOptions) {
    if !is_literal_like(value) {
        return;
    }
    let column = unwrap_real(other).unwrap_or(other);
    // Beside a computed date or time (`at::date`, `date_trunc('day', at)`) too: SQLite compared
    // its stored day number or microseconds with the literal's text, and matched nothing.
    let time = || is_time(other, scope).then_some(PgType::Time);
    let Some(ty) = scope.column_type(column).or_else(|| temporal_type(other, scope)).or_else(time) else { return };
    // An enum's label is checked by `enums`, which knows a column from an output name.
    let needs = !matches!(ty, PgType::Text | PgType::Varchar(_) | PgType::Bpchar(_) | PgType::Json | PgType::Enum(_));
    if needs {
        let converted = convert_expr(ty, value.clone(), opts);
        *value = if ty.is_numeric_text() { as_real(converted) } else { converted };
    }
}

fn rewrite_function(func: &mut Function, opts: TranslateOptions) -> Option<Expr> {
    unqualify_builtin(func);
    let name = func.name.to_string().to_ascii_lowercase();
    let arg_count = match &func.args {
        FunctionArguments::None => 0,
        FunctionArguments::List(list) => list.args.len(),
        FunctionArguments::Subquery(_) => 1,
    };
    let no_args = arg_count == 0;
    match name.as_str() {
        "now" | "current_timestamp" | "transaction_timestamp" if no_args => Some(call("rhei_now", vec![])),
        "statement_timestamp" if no_args => Some(call("rhei_statement_now", vec![])),
        "clock_timestamp" if no_args => Some(call("rhei_clock_now", vec![])),
        // The session zone's wall clock now, and its day.
        "localtimestamp" if no_args => Some(wall_clock(call("rhei_now", vec![]), Some(PgType::Timestamptz), opts)),
        "current_date" if no_args => Some(call("rhei_days", vec![wall_clock(call("rhei_now", vec![]), Some(PgType::Timestamptz), opts)])),
        // SQLite has neither; a timestamp read from text is a wall-clock time in the session's zone.
        "to_date" if arg_count == 2 => {
            func.name = ObjectName(vec![ObjectNamePart::Identifier(Ident::new("rhei_to_date"))]);
            None
        }
        "to_timestamp" if arg_count == 2 => {
            if let FunctionArguments::List(list) = &mut func.args {
                list.args.push(FunctionArg::Unnamed(FunctionArgExpr::Expr(zone_argument(opts))));
            }
            func.name = ObjectName(vec![ObjectNamePart::Identifier(Ident::new("rhei_to_timestamp"))]);
            None
        }
        "to_timestamp" if arg_count == 1 => {
            func.name = ObjectName(vec![ObjectNamePart::Identifier(Ident::new("rhei_epoch_timestamp"))]);
            None
        }
        "char_length" | "character_length" => {
            func.name = ObjectName(vec![ObjectNamePart::Identifier(Ident::new("length"))]);
            None
        }
        // Booleans are 0/1 in SQLite: AND over a group is its minimum, OR its maximum.
        "bool_and" | "every" => {
            func.name = ObjectName(vec![ObjectNamePart::Identifier(Ident::new("min"))]);
            None
        }
        "bool_or" => {
            func.name = ObjectName(vec![ObjectNamePart::Identifier(Ident::new("max"))]);
            None
        }
        "greatest" | "least" => {
            func.name = ObjectName(vec![ObjectNamePart::Identifier(Ident::new(format!("rhei_{name}")))]);
            None
        }
        "mod" => {
            func.name = ObjectName(vec![ObjectNamePart::Identifier(Ident::new("rhei_mod"))]);
            None
        }
        // SQLite takes DISTINCT only in one-argument aggregates; rhei's own drops repeats
        // itself (after the aggregate's ORDER BY, which SQLite applies to any aggregate).
        "string_agg" => {
            if let FunctionArguments::List(list) = &mut func.args
                && list.duplicate_treatment == Some(datafusion::sql::sqlparser::ast::DuplicateTreatment::Distinct)
            {
                list.duplicate_treatment = None;
                func.name = ObjectName(vec![ObjectNamePart::Identifier(Ident::new("rhei_string_agg_distinct"))]);
            }
            None
        }
        _ => None,
    }
}

/// What depends on a date/time operand's type, rewritten before the other rewrites hide it:
/// `x + interval '...'`, `x - interval '...'` and `interval '...' + x` (SQLite has no
/// intervals, so the constant is parsed here and the sum becomes a function over `x`'s storage
/// form), dates compared with timestamps, and `to_char` of a date or timestamp.
fn rewrite_typed_datetime(stmt: &mut Statement, scope: &Scope<'_>, opts: TranslateOptions) -> Result<()> {
    let mut failure = None;
    let _ = visit_expressions_mut(stmt, |expr| match interval_sum(expr, scope, opts) {
        Ok(None) if matches!(expr, Expr::BinaryOp { op, .. } if is_comparison(op) || *op == BinaryOperator::Minus) => match align_temporal_operands(expr, scope, opts) {
            Ok(()) => ControlFlow::Continue(()),
            Err(e) => {
                failure = Some(e);
                ControlFlow::Break(())
            }
        },
        Ok(None) if matches!(expr, Expr::Function(f) if f.name.to_string().eq_ignore_ascii_case("to_char")) => {
            datetime_to_char(expr, scope, opts);
            ControlFlow::Continue(())
        }
        Ok(Some(sum)) => {
            *expr = sum;
            ControlFlow::Continue(())
        }
        Ok(None) => ControlFlow::Continue(()),
        Err(e) => {
            failure = Some(e);
            ControlFlow::Break(())
        }
    });
    failure.map_or(Ok(()), Err)
}

fn interval_sum(expr: &mut Expr, scope: &Scope<'_>, opts: TranslateOptions) -> Result<Option<Expr>> {
    let Expr::BinaryOp { left, op, right } = expr else { return Ok(None) };
    let subtract = match op {
        BinaryOperator::Plus => false,
        BinaryOperator::Minus => true,
        _ => return Ok(None),
    };
    let (value, interval) = match (interval_literal(left)?, interval_literal(right)?) {
        (None, Some(interval)) => (left, interval),
        (Some(interval), None) if !subtract => (right, interval),
        _ => return Ok(None),
    };
    let interval = if subtract { interval.negated() } else { interval };
    let unsupported = || EngineError::unsupported("interval arithmetic on the OLTP engine with a value not known to be a date or timestamp (cast it)");
    let ty = temporal_type(value, scope).ok_or_else(unsupported)?;
    let value = std::mem::replace(value.as_mut(), null());
    let sum = |name: &str, micros: Expr, zone: Expr| {
        call(name, vec![micros, number(interval.months), number(interval.days), number(interval.micros), zone])
    };
    Ok(Some(match ty {
        PgType::Timestamptz => sum("rhei_tstz_add", value, zone_argument(opts)),
        PgType::Timestamp => sum("rhei_ts_add", value, number(0)),
        // date + interval is a timestamp in PostgreSQL (the OLAP side casts too, see
        // `olap::to_olap`).
        PgType::Date => sum("rhei_ts_add", as_micros(value, Some(PgType::Date)), number(0)),
        _ => return Err(unsupported()),
    }))
}

/// `to_char(date or timestamp, pattern)`: PostgreSQL's patterns over the value's microseconds,
/// a timestamptz in the session's zone.
fn datetime_to_char(expr: &mut Expr, scope: &Scope<'_>, opts: TranslateOptions) {
    let Expr::Function(func) = expr else { return };
    let FunctionArguments::List(list) = &mut func.args else { return };
    let [FunctionArg::Unnamed(FunctionArgExpr::Expr(value)), FunctionArg::Unnamed(FunctionArgExpr::Expr(pattern))] =
        list.args.as_mut_slice()
    else {
        return;
    };
    if is_time(value, scope) {
        // As that time of day on 1970-01-01 (see `olap::udf::ToChar`).
        let (value, pattern) = (take(value), take(pattern));
        *expr = call("rhei_to_char", vec![value, pattern, null()]);
        return;
    }
    let Some(ty) = temporal_type(value, scope) else {
        // Anything else is formatted as a number, a float at its type's digits (see
        // `number_format`): SQLite stores both floats and numeric literals as REAL.
        let declared = match &*value {
            Expr::Cast { data_type, .. } => PgType::from_sql(data_type).ok().map(|d| d.ty),
            Expr::Nested(inner) => scope.column_type(inner),
            other => scope.column_type(other),
        };
        let significant = match declared {
            Some(PgType::Float8) => crate::number_format::FLOAT8_DIGITS,
            Some(PgType::Float4) => crate::number_format::FLOAT4_DIGITS,
            _ => 0,
        };
        let (value, pattern) = (std::mem::replace(value, null()), std::mem::replace(pattern, null()));
        *expr = call("rhei_num_to_char", vec![value, pattern, number(significant as i64)]);
        return;
    };
    let offset = match ty {
        PgType::Timestamptz => zone_argument(opts),
        _ => null(),
    };
    let value = as_micros(std::mem::replace(value, null()), Some(ty));
    let pattern = std::mem::replace(pattern, null());
    *expr = call("rhei_to_char", vec![value, pattern, offset]);
}

/// Of a timestamp and a timestamptz side by side, the timestamp: PostgreSQL reads it as the
/// instant its wall-clock time names in the session's zone.
pub(crate) fn wall_clock_beside_instant<'a>(left: &'a mut Box<Expr>, right: &'a mut Box<Expr>, scope: &Scope<'_>) -> Option<&'a mut Box<Expr>> {
    match (temporal_type(left, scope), temporal_type(right, scope)) {
        (Some(PgType::Timestamptz), Some(PgType::Timestamp)) => Some(right),
        (Some(PgType::Timestamp), Some(PgType::Timestamptz)) => Some(left),
        _ => None,
    }
}

/// Operands of different date/time types compared or subtracted as PostgreSQL does: a date as
/// the timestamp of its midnight (storage has days on one side and microseconds on the
/// other), a timestamp beside a timestamptz as the instant it names in the session's zone.
fn align_temporal_operands(expr: &mut Expr, scope: &Scope<'_>, opts: TranslateOptions) -> Result<()> {
    let Expr::BinaryOp { left, op, right } = expr else { return Ok(()) };
    if let Some(local) = wall_clock_beside_instant(left, right, scope) {
        // In UTC the wall clock is the instant already.
        if !is_utc(opts) {
            let value = std::mem::replace(local.as_mut(), null());
            **local = instant(value, opts);
        }
        return Ok(());
    }
    if *op == BinaryOperator::Minus {
        return Ok(());
    }
    let (left_ty, right_ty) = (temporal_type(left, scope), temporal_type(right, scope));
    let (date, other) = match (left_ty, right_ty) {
        (Some(PgType::Date), Some(other @ (PgType::Timestamp | PgType::Timestamptz))) => (left, other),
        (Some(other @ (PgType::Timestamp | PgType::Timestamptz)), Some(PgType::Date)) => (right, other),
        _ => return Ok(()),
    };
    let days = std::mem::replace(date.as_mut(), null());
    let zone = if other == PgType::Timestamptz { TimezoneInfo::WithTimeZone } else { TimezoneInfo::None };
    **date = cast_from(days, Some(PgType::Date), &SqlType::Timestamp(None, zone), opts)?;
    Ok(())
}

/// The value of an interval constant: `interval '1 day'`, `INTERVAL '5' MINUTE`, `'1 day'::interval`.
pub(crate) fn interval_literal(expr: &Expr) -> Result<Option<crate::value::Interval>> {
    // rhei reads an interval's text and one unit; a range or precision it would ignore.
    let qualified = match expr {
        Expr::Interval(interval) => {
            interval.last_field.is_some()
                || interval.leading_precision.is_some()
                || interval.fractional_seconds_precision.is_some()
                // A unit applies to a lone number (`'2' HOUR`); after text with units of its own
                // (`'1 day 2 hours' DAY`) it truncates, which rhei does not.
                || (interval.leading_field.is_some() && literal_text(&interval.value).is_some_and(|text| text.trim().parse::<f64>().is_err()))
        }
        Expr::Cast { data_type: SqlType::Interval { fields, precision }, .. } => fields.is_some() || precision.is_some(),
        Expr::TypedString(typed) => matches!(typed.data_type, SqlType::Interval { fields: Some(_), .. } | SqlType::Interval { precision: Some(_), .. }),
        _ => false,
    };
    if qualified {
        return Err(EngineError::unsupported("an interval constant with a field range or a precision (INTERVAL '1:30' MINUTE TO SECOND, ::interval(0))"));
    }
    let (text, unit) = match expr {
        Expr::Nested(inner) => return interval_literal(inner),
        Expr::Interval(interval) => (literal_text(&interval.value), interval.leading_field.as_ref().map(field_name)),
        Expr::Cast { expr, data_type: SqlType::Interval { .. }, .. } => (literal_text(expr), None),
        Expr::TypedString(typed) if matches!(typed.data_type, SqlType::Interval { .. }) => {
            (Some(typed.value.value.to_string().trim_matches('\'').to_string()), None)
        }
        _ => return Ok(None),
    };
    let Some(text) = text else {
        return Err(EngineError::unsupported("an interval that is not a constant on the OLTP engine"));
    };
    crate::value::parse_interval(&text, unit.as_deref())
        .map(Some)
        .ok_or(EngineError::InvalidDatetimeFormat { type_name: "interval".into(), value: text })
}

fn literal_text(expr: &Expr) -> Option<String> {
    match expr {
        Expr::Value(ValueWithSpan { value: Value::SingleQuotedString(s), .. }) => Some(s.clone()),
        Expr::Value(ValueWithSpan { value: Value::Number(n, _), .. }) => Some(n.clone()),
        _ => None,
    }
}

/// `to_hex(n)` as `rhei_to_hex(n, bits)`: PostgreSQL writes a negative integer as its two's
/// complement at its type's width (`to_hex(-1)` is `ffffffff` of an integer, sixteen `f`s of a
/// bigint); SQLite has no `to_hex`, and DataFusion read `-1` as a bigint. The width is the
/// argument's as written: a literal that fits an integer, an integer or smallint column or
/// cast; anything else a bigint.
pub(crate) fn to_hex_with_width(expr: &mut Expr, scope: &Scope<'_>) {
    let Expr::Function(f) = expr else { return };
    unqualify_builtin(f);
    if f.name.to_string().to_ascii_lowercase() != "to_hex" {
        return;
    }
    let FunctionArguments::List(list) = &mut f.args else { return };
    let [FunctionArg::Unnamed(FunctionArgExpr::Expr(arg))] = list.args.as_slice() else { return };
    let bits = integer_bits(arg, scope).unwrap_or(64);
    f.name = ObjectName(vec![ObjectNamePart::Identifier(Ident::new("rhei_to_hex"))]);
    list.args.push(FunctionArg::Unnamed(FunctionArgExpr::Expr(number(bits))));
}

/// The width of the integer type PostgreSQL gives `expr` (32 for smallint and integer, which
/// integer functions take as integer; 64 for bigint), where the statement tells.
fn integer_bits(expr: &Expr, scope: &Scope<'_>) -> Option<i64> {
    use datafusion::sql::sqlparser::ast::UnaryOperator;
    let literal = |n: &str| if n.parse::<i32>().is_ok() { Some(32) } else { n.parse::<i64>().is_ok().then_some(64) };
    match expr {
        Expr::Nested(inner) => integer_bits(inner, scope),
        Expr::Value(ValueWithSpan { value: Value::Number(n, _), .. }) => literal(n),
        Expr::UnaryOp { op: UnaryOperator::Minus, expr: inner } if let Expr::Value(ValueWithSpan { value: Value::Number(n, _), .. }) = inner.as_ref() => {
            literal(&format!("-{n}"))
        }
        Expr::UnaryOp { op: UnaryOperator::Minus | UnaryOperator::Plus, expr: inner } => integer_bits(inner, scope),
        Expr::UnaryOp { op: UnaryOperator::BitwiseNot, expr: inner } => integer_bits(inner, scope),
        Expr::BinaryOp {
            left,
            op:
                BinaryOperator::Plus
                | BinaryOperator::Minus
                | BinaryOperator::Multiply
                | BinaryOperator::Divide
                | BinaryOperator::Modulo
                | BinaryOperator::BitwiseAnd
                | BinaryOperator::BitwiseOr
                | BinaryOperator::PGBitwiseXor,
            right,
        } => Some(integer_bits(left, scope)?.max(integer_bits(right, scope)?)),
        // A shift keeps its left operand's type.
        Expr::BinaryOp { left, op: BinaryOperator::PGBitwiseShiftLeft | BinaryOperator::PGBitwiseShiftRight, .. } => integer_bits(left, scope),
        Expr::Cast { data_type: SqlType::SmallInt(_) | SqlType::Int(_) | SqlType::Integer(_) | SqlType::Int2(_) | SqlType::Int4(_), .. } => Some(32),
        Expr::Cast { data_type: SqlType::BigInt(_) | SqlType::Int8(_), .. } => Some(64),
        Expr::Function(f) if f.name.to_string().eq_ignore_ascii_case("count") => Some(64),
        // Functions whose result has their arguments' type.
        Expr::Function(f)
            if ["min", "max", "abs", "coalesce", "nullif", "greatest", "least", "lag", "lead", "first_value", "last_value", "nth_value"]
                .contains(&f.name.to_string().to_ascii_lowercase().as_str()) =>
        {
            let FunctionArguments::List(list) = &f.args else { return None };
            let width = |arg: &FunctionArg| match arg {
                FunctionArg::Unnamed(FunctionArgExpr::Expr(e)) => integer_bits(e, scope),
                _ => None,
            };
            match f.name.to_string().to_ascii_lowercase().as_str() {
                "coalesce" | "greatest" | "least" => list.args.iter().map(width).try_fold(32, |widest, w| Some(widest.max(w?))),
                _ => list.args.first().and_then(width),
            }
        }
        other => match scope.column_type(other)? {
            PgType::Int2 | PgType::Int4 => Some(32),
            PgType::Int8 => Some(64),
            _ => None,
        },
    }
}

/// `pg_catalog.f(...)` as `f(...)`: every built-in function lives in `pg_catalog`, and pg_dump
/// and ORMs name it there (`SELECT pg_catalog.setval(...)`); neither engine has that schema.
pub(crate) fn unqualify_builtin(func: &mut Function) {
    if let [schema, function] = func.name.0.as_slice()
        && schema.as_ident().is_some_and(|i| i.quote_style.is_none() && i.value.eq_ignore_ascii_case("pg_catalog"))
    {
        func.name = ObjectName(vec![function.clone()]);
    }
}

/// PostgreSQL's default LIKE escape character, spelled out for SQLite.
fn like_escape() -> Option<Value> {
    Some(Value::SingleQuotedString("\\".into()))
}

/// The POSIX pattern a `SIMILAR TO` pattern stands for (see [`crate::similar`]): worked out
/// here for a constant, by `similar_to_escape` as the statement runs otherwise.
pub(crate) fn similar_to_pattern(pattern: Expr, escape: Option<&Value>) -> Result<Expr> {
    let escape = match escape {
        None => None,
        Some(Value::SingleQuotedString(escape)) => Some(escape.as_str()),
        Some(other) => return Err(EngineError::unsupported(format!("SIMILAR TO ... ESCAPE {other} (give the escape as a string)"))),
    };
    if let Expr::Value(ValueWithSpan { value: Value::SingleQuotedString(text), .. }) = &pattern {
        return Ok(string(&crate::similar::to_regex(text, crate::similar::escape_character(escape)?)?));
    }
    Ok(similar_to_escape_call(pattern, escape))
}

/// `similar_to_escape(pattern, escape)`, which works the POSIX pattern out as the statement
/// runs (and fails then for an escape of more than one character).
pub(crate) fn similar_to_escape_call(pattern: Expr, escape: Option<&str>) -> Expr {
    call("similar_to_escape", vec![pattern, string(escape.unwrap_or("\\"))])
}

pub(crate) fn is_string_literal(expr: &Expr) -> bool {
    matches!(expr, Expr::Value(ValueWithSpan { value: Value::SingleQuotedString(_), .. }))
}

/// Whether `expr` is an interval constant (as [`interval_literal`] reads them).
pub(crate) fn is_interval_constant(expr: &Expr) -> bool {
    interval_literal(expr).is_ok_and(|i| i.is_some())
}

/// The date/time type of an operand of interval arithmetic, where the statement says it.
pub(crate) fn temporal_type(expr: &Expr, scope: &Scope<'_>) -> Option<PgType> {
    let ty = match expr {
        Expr::Nested(inner) => return temporal_type(inner, scope),
        // A scalar subquery has its one item's type (`SET day = (SELECT ts FROM ...)`).
        Expr::Subquery(query) => match query.body.as_ref() {
            SetExpr::Select(select) => match select.projection.as_slice() {
                [SelectItem::UnnamedExpr(item) | SelectItem::ExprWithAlias { expr: item, .. }] => return temporal_type(item, scope),
                _ => return None,
            },
            _ => return None,
        },
        Expr::Cast { data_type, .. } => PgType::from_sql(data_type).ok()?.ty,
        Expr::TypedString(typed) => PgType::from_sql(&typed.data_type).ok()?.ty,
        // A timestamptz's wall-clock time is a timestamp, a timestamp's (or date's) instant a
        // timestamptz.
        Expr::AtTimeZone { timestamp, .. } => match temporal_type(timestamp, scope)? {
            PgType::Timestamptz | PgType::Date => PgType::Timestamp,
            _ => PgType::Timestamptz,
        },
        Expr::Function(func) => match func.name.to_string().to_ascii_lowercase().as_str() {
            "now" | "current_timestamp" | "transaction_timestamp" | "statement_timestamp" | "clock_timestamp" | "to_timestamp"
            | "rhei_tstz_add" | "rhei_tstz_add_interval" | "rhei_now" | "rhei_statement_now" | "rhei_tstz" | "rhei_utc" | "rhei_instant" | "rhei_to_timestamp"
            | "rhei_epoch_timestamp" | "make_timestamptz" | "rhei_make_timestamptz" => PgType::Timestamptz,
            "localtimestamp" | "rhei_ts_add" | "rhei_ts_add_interval" | "rhei_ts" | "rhei_local" | "to_local_time" | "make_timestamp" => PgType::Timestamp,
            // A typed literal or cast already translated (expressions are rewritten inside out).
            "current_date" | "rhei_date" | "rhei_days" | "to_date" | "rhei_to_date" => PgType::Date,
            // Functions giving one of their arguments' values have its type (`max(at) -
            // min(at)`, `lead(at) OVER w - at`).
            // A timestamp truncated is one of its kind.
            "date_bin" => date_bin_type(func, scope),
            "date_trunc" => match &func.args {
                FunctionArguments::List(list) => match list.args.get(1) {
                    Some(FunctionArg::Unnamed(FunctionArgExpr::Expr(arg))) => {
                        temporal_type(arg, scope).filter(|ty| matches!(ty, PgType::Timestamp | PgType::Timestamptz))?
                    }
                    _ => return None,
                },
                _ => return None,
            },
            "min" | "max" | "coalesce" | "greatest" | "least" | "first_value" | "last_value" | "lag" | "lead" | "nth_value" | "rhei_round_timestamp" => {
                return first_arg(func).and_then(|arg| temporal_type(arg, scope));
            }
            _ => return None,
        },
        // A date plus or minus a number of days (an integer) is a date; a date or timestamp
        // plus or minus an interval a timestamp of its kind.
        Expr::BinaryOp { left, op: op @ (BinaryOperator::Plus | BinaryOperator::Minus), right } => {
            let days = |e: &Expr| is_integer(e, scope);
            let interval = |e: &Expr| intervals::is_interval(e, scope);
            let moved = |ty: PgType| if ty == PgType::Date { PgType::Timestamp } else { ty };
            match (temporal_type(left, scope), temporal_type(right, scope)) {
                (Some(PgType::Date), None) if days(right) => PgType::Date,
                (None, Some(PgType::Date)) if *op == BinaryOperator::Plus && days(left) => PgType::Date,
                (Some(PgType::Date), None) if *op == BinaryOperator::Plus && is_time(right, scope) => PgType::Timestamp,
                (None, Some(PgType::Date)) if *op == BinaryOperator::Plus && is_time(left, scope) => PgType::Timestamp,
                (Some(ty), None) if interval(right) => moved(ty),
                (None, Some(ty)) if *op == BinaryOperator::Plus && interval(left) => moved(ty),
                _ => return None,
            }
        }
        other => scope.column_type(other)?,
    };
    matches!(ty, PgType::Date | PgType::Timestamp | PgType::Timestamptz).then_some(ty)
}

/// Whether the statement types `expr` as a `time`: a column, a cast or typed literal (also as
/// translated for SQLite), a function giving one of its time arguments, a time plus or minus an
/// interval.
pub(crate) fn is_time(expr: &Expr, scope: &Scope<'_>) -> bool {
    let declares_time = |data_type: &SqlType| PgType::from_sql(data_type).is_ok_and(|t| t.ty == PgType::Time);
    match expr {
        Expr::Nested(inner) => is_time(inner, scope),
        Expr::Cast { data_type, .. } => declares_time(data_type),
        Expr::TypedString(typed) => declares_time(&typed.data_type),
        Expr::Function(func) => match func.name.to_string().to_ascii_lowercase().as_str() {
            "rhei_time" | "rhei_time_of_day" | "rhei_round_time" => true,
            // A time cast for DataFusion (`olap::time_in_microseconds`).
            "arrow_cast" => matches!(&func.args, FunctionArguments::List(list) if matches!(list.args.get(1),
                Some(FunctionArg::Unnamed(FunctionArgExpr::Expr(Expr::Value(ValueWithSpan { value: Value::SingleQuotedString(ty), .. })))) if ty == olap::OLAP_TIME_TYPE)),
            "min" | "max" | "coalesce" | "greatest" | "least" | "nullif" | "first_value" | "last_value" | "lag" | "lead" | "nth_value" => {
                first_arg(func).is_some_and(|arg| is_time(arg, scope))
            }
            _ => false,
        },
        Expr::BinaryOp { left, op: op @ (BinaryOperator::Plus | BinaryOperator::Minus), right } => {
            (is_time(left, scope) && intervals::is_interval(right, scope))
                || (*op == BinaryOperator::Plus && intervals::is_interval(left, scope) && is_time(right, scope))
        }
        other => scope.column_type(other) == Some(PgType::Time),
    }
}

/// A date, timestamp or timestamptz stored into a column of another of these types (or a
/// time column) goes through PostgreSQL's assignment cast: a timestamp into a date column is
/// its date, a date into a timestamptz column its midnight in the session's zone, a
/// timestamp into a time column its time of day; so does a numeric column's value stored
/// into an integer column (rounded). The value is cast, which `cast_from` reads
/// in the session's zone; the column's conversion would have taken one type's stored form
/// for another's (a timestamp's microseconds as a day number).
pub(crate) fn assignment_cast(ty: PgType, value: &mut Expr, scope: &Scope<'_>) {
    use datafusion::sql::sqlparser::ast::TimezoneInfo;
    // A numeric column, or a cast to numeric (already translated: expressions are rewritten
    // inside out).
    let numeric = match &*value {
        Expr::Cast { data_type, .. } => PgType::from_sql(data_type).ok().map(|t| t.ty),
        Expr::Function(f) if f.name.to_string().eq_ignore_ascii_case("rhei_numeric") => Some(PgType::Numeric { precision: None, scale: None }),
        other => scope.column_type(other),
    };
    if let PgType::Int2 | PgType::Int4 | PgType::Int8 = ty
        && matches!(numeric, Some(PgType::Numeric { .. }))
    {
        // numeric is stored as its text, which the integer conversion reads as text (22P02):
        // rounded first, half away from zero as PostgreSQL rounds a numeric to an integer.
        *value = call("round", vec![take(value)]);
        return;
    }
    let Some(from) = temporal_type(value, scope) else { return };
    let to = match (ty, from) {
        (PgType::Time, PgType::Timestamp | PgType::Timestamptz) => SqlType::Time(None, TimezoneInfo::None),
        (PgType::Date, PgType::Timestamp | PgType::Timestamptz) => SqlType::Date,
        (PgType::Timestamp, PgType::Date | PgType::Timestamptz) => SqlType::Timestamp(None, TimezoneInfo::None),
        (PgType::Timestamptz, PgType::Date | PgType::Timestamp) => SqlType::Timestamp(None, TimezoneInfo::WithTimeZone),
        _ => return,
    };
    *value = cast(take(value), to);
}

/// `date + time` is the timestamp of that date and time of day in PostgreSQL; SQLite would add
/// a day number to microseconds. Before the operands are translated (which hides their types).
fn date_plus_time_as_timestamp(expr: &mut Expr, scope: &Scope<'_>) {
    let Expr::BinaryOp { left, op: BinaryOperator::Plus, right } = expr else { return };
    let (date, time) = if temporal_type(left, scope) == Some(PgType::Date) && is_time(right, scope) {
        (left, right)
    } else if is_time(left, scope) && temporal_type(right, scope) == Some(PgType::Date) {
        (right, left)
    } else {
        return;
    };
    let micros = Expr::BinaryOp { left: Box::new(as_micros(take(date), Some(PgType::Date))), op: BinaryOperator::Plus, right: Box::new(take(time)) };
    // rhei_local at offset 0 changes nothing but says the sum is a timestamp.
    *expr = call("rhei_local", vec![micros, number(0)]);
}

/// The type PostgreSQL gives a number literal: integer, bigint, or numeric (a fraction, an
/// exponent, or past bigint).
pub(crate) fn number_literal_type(digits: &str) -> PgType {
    if digits.parse::<i32>().is_ok() {
        PgType::Int4
    } else if digits.parse::<i64>().is_ok() {
        PgType::Int8
    } else {
        PgType::Numeric { precision: None, scale: None }
    }
}

/// `expr` without a leading `-` or `+`.
pub(crate) fn unwrap_sign(expr: &Expr) -> &Expr {
    match expr {
        Expr::UnaryOp { op: datafusion::sql::sqlparser::ast::UnaryOperator::Minus | datafusion::sql::sqlparser::ast::UnaryOperator::Plus, expr } => unwrap_sign(expr),
        Expr::Nested(inner) => unwrap_sign(inner),
        other => other,
    }
}

/// The expression, leaving NULL in its place.
pub(crate) fn take(expr: &mut Expr) -> Expr {
    std::mem::replace(expr, null())
}

/// The rewrites both engines make of an expression PostgreSQL reads otherwise than either
/// (see each); `sort_distinct_aggregates` as [`ordered_aggregates`] allows it.
pub(crate) fn as_postgresql_means(expr: &mut Expr, scope: &Scope<'_>, sort_distinct_aggregates: bool) {
    date_trunc_of_date_as_instant(expr, scope);
    float_cast_as_declared(expr);
    chosen_values_in_common_type(expr, scope);
    unknown_literals_as_datetimes(expr, scope);
    if sort_distinct_aggregates {
        distinct_aggregate_sorted(expr);
    }
    quote_nullable_as_literal(expr);
}

/// The values COALESCE, NULLIF, GREATEST or LEAST take and a CASE's results are of one type
/// in PostgreSQL, their common type; the engines need it said where a date meets a timestamp
/// (SQLite read a date's day number as microseconds: `coalesce(d, ts)` was 1970-01-01
/// 00:00:00.019737) or a numeric a double (DataFusion made them a decimal:
/// `CASE ... THEN n ELSE f END` was 1.250000000000000), see `common_type::conversion_target`.
/// An untyped string literal among them takes a date or timestamp type beside it, as
/// PostgreSQL resolves an unknown literal: SQLite compared a date's day number with the text
/// (`nullif(d, '2024-01-15')` answered with day numbers), `greatest(d, '2020-01-01')` was 22P02
/// there and XX000 on DataFusion.
fn chosen_values_in_common_type(expr: &mut Expr, scope: &Scope<'_>) {
    let mut compares_only = false;
    let values: Vec<&mut Expr> = match expr {
        Expr::Function(f) if ["coalesce", "nullif", "greatest", "least"].contains(&f.name.to_string().to_ascii_lowercase().as_str()) => {
            // NULLIF gives its first argument, compared by a cross-type `=` where a date meets a
            // timestamp: compared in the common type, its value keeps its own (a numeric still
            // meets a double as one).
            compares_only = f.name.to_string().eq_ignore_ascii_case("nullif");
            positional_args_mut(f)
        }
        Expr::Case { conditions, else_result, .. } => conditions.iter_mut().map(|c| &mut c.result).chain(else_result.as_deref_mut()).collect(),
        _ => return,
    };
    let types: Vec<Option<PgType>> = values.iter().map(|e| temporal_type(e, scope).or_else(|| common_type::known_type(e, scope))).collect();
    let Some(target) = common_type::conversion_target(&types) else { return };
    let Some(data_type) = common_type::conversion_sql_type(target) else { return };
    let temporal = common_type::is_temporal(target);
    let mixed = types.iter().flatten().any(|ty| *ty != target);
    let original_first = values.first().map(|v| (**v).clone());
    for (value, ty) in values.into_iter().zip(types) {
        let converted = match ty {
                Some(ty) => common_type::converts_to(ty, target),
            None => temporal && matches!(value, Expr::Value(ValueWithSpan { value: Value::SingleQuotedString(_), .. })),
        };
        if converted {
            let original = std::mem::replace(value, Expr::value(Value::Null));
            *value = cast(original, data_type.clone());
        }
    }
    // NULLIF(d, ts) as `CASE WHEN d::timestamp = ts THEN NULL ELSE d END`: the value keeps
    // its date type (DataFusion's nullif also wants both arguments of one type).
    if compares_only
        && temporal
        && mixed
        && let Some(value) = original_first
        && let Expr::Function(f) = expr
        && let FunctionArguments::List(list) = &f.args
        && let [FunctionArg::Unnamed(FunctionArgExpr::Expr(compared)), FunctionArg::Unnamed(FunctionArgExpr::Expr(other))] = list.args.as_slice()
    {
        let condition = Expr::BinaryOp { left: Box::new(compared.clone()), op: BinaryOperator::Eq, right: Box::new(other.clone()) };
        *expr = null_when(condition, value);
    }
}

/// `CASE WHEN condition THEN NULL ELSE value END`.
pub(crate) fn null_when(condition: Expr, value: Expr) -> Expr {
    Expr::Case {
        case_token: datafusion::sql::sqlparser::ast::helpers::attached_token::AttachedToken::empty(),
        end_token: datafusion::sql::sqlparser::ast::helpers::attached_token::AttachedToken::empty(),
        operand: None,
        conditions: vec![datafusion::sql::sqlparser::ast::CaseWhen { condition, result: Expr::value(Value::Null) }],
        else_result: Some(Box::new(value)),
    }
}

/// A call's positional arguments (none for a call without a list).
pub(crate) fn positional_args(f: &Function) -> Vec<&Expr> {
    let FunctionArguments::List(list) = &f.args else { return Vec::new() };
    list.args
        .iter()
        .filter_map(|arg| match arg {
            FunctionArg::Unnamed(FunctionArgExpr::Expr(e)) => Some(e),
            _ => None,
        })
        .collect()
}

/// [`positional_args`], to change them.
pub(crate) fn positional_args_mut(f: &mut Function) -> Vec<&mut Expr> {
    let FunctionArguments::List(list) = &mut f.args else { return Vec::new() };
    list.args
        .iter_mut()
        .filter_map(|arg| match arg {
            FunctionArg::Unnamed(FunctionArgExpr::Expr(e)) => Some(e),
            _ => None,
        })
        .collect()
}

/// An untyped string literal beside a date or timestamp takes its type, as PostgreSQL resolves
/// an unknown literal: `d - '2019-01-01'` is a date difference (both engines refused text
/// there), and in `age()` a literal is a timestamp(tz) (SQLite refused `age('2024-01-01', d)` as
/// timestamp input, DataFusion answered NULL for `age('2024-01-01 10:00', d)`).
fn unknown_literals_as_datetimes(expr: &mut Expr, scope: &Scope<'_>) {
    let is_literal = |e: &Expr| matches!(e, Expr::Value(ValueWithSpan { value: Value::SingleQuotedString(_), .. }));
    let datetime = |e: &Expr| temporal_type(e, scope).filter(|ty| matches!(ty, PgType::Date | PgType::Timestamp | PgType::Timestamptz));
    let typed = |literal: &mut Expr, ty: PgType| {
        if let Some(data_type) = common_type::conversion_sql_type(ty) {
            let original = std::mem::replace(literal, Expr::value(Value::Null));
            *literal = cast(original, data_type);
        }
    };
    match expr {
        Expr::BinaryOp { left, op: BinaryOperator::Minus, right } => {
            if is_literal(left)
                && let Some(ty) = datetime(right)
            {
                typed(left, ty);
            } else if is_literal(right)
                && let Some(ty) = datetime(left)
            {
                typed(right, ty);
            }
        }
        Expr::Function(f) if builtin_function_name(f).as_deref() == Some("age") => {
            let mut args = positional_args_mut(f);
            // A timestamp or timestamptz argument names the variant; beside a date or another
            // literal, timestamptz, the preferred type of its category.
            let ty = args.iter().filter_map(|e| datetime(e)).find(|ty| *ty != PgType::Date).unwrap_or(PgType::Timestamptz);
            for arg in args.iter_mut().filter(|e| is_literal(e)) {
                typed(arg, ty);
            }
        }
        _ => {}
    }
}

/// A cast to `float` is a cast to double precision in PostgreSQL (`float(p)` to real up to 24
/// bits); both engines read `float` as real (`1::float / 3` was 0.33333334).
fn float_cast_as_declared(expr: &mut Expr) {
    if let Expr::Cast { data_type: data_type @ SqlType::Float(_), .. } = expr {
        let single = matches!(data_type, SqlType::Float(datafusion::sql::sqlparser::ast::ExactNumberInfo::Precision(p)) if *p <= 24);
        *data_type = if single { SqlType::Real } else { SqlType::DoublePrecision };
    }
}

/// How many aggregate calls of `stmt` order their input: by an ORDER BY of their own, or as
/// [`distinct_aggregate_sorted`] orders them. DataFusion 53 refuses two different orders in
/// one query (0A000 "Conflicting ordering requirements"), so there it orders a lone one only.
pub(crate) fn ordered_aggregates(stmt: &Statement) -> usize {
    use datafusion::sql::sqlparser::ast::{DuplicateTreatment, FunctionArgumentClause};
    let mut count = 0;
    let _ = visit_expressions(stmt, |expr| {
        if let Expr::Function(f) = expr
            && f.over.is_none()
            && let FunctionArguments::List(list) = &f.args
        {
            let ordered = list.clauses.iter().any(|c| matches!(c, FunctionArgumentClause::OrderBy(_)));
            let sorted_distinct = matches!(list.duplicate_treatment, Some(DuplicateTreatment::Distinct))
                && ["string_agg", "array_agg"].contains(&f.name.to_string().to_ascii_lowercase().as_str());
            if ordered || sorted_distinct {
                count += 1;
            }
        }
        ControlFlow::<()>::Continue(())
    });
    count
}

/// `quote_nullable(v)`, which neither engine has, is `quote_literal(v)` or `NULL` unquoted.
fn quote_nullable_as_literal(expr: &mut Expr) {
    if let Expr::Function(f) = expr
        && f.name.to_string().eq_ignore_ascii_case("quote_nullable")
        && let FunctionArguments::List(list) = &f.args
        && let [FunctionArg::Unnamed(FunctionArgExpr::Expr(value))] = list.args.as_slice()
    {
        // As PostgreSQL's quote_nullable(anyelement), of the value's text.
        let text = cast(value.clone(), SqlType::Text);
        let quoted = call("quote_literal", vec![text]);
        *expr = call("coalesce", vec![quoted, string("NULL")]);
    }
}

/// `string_agg(DISTINCT x, sep)` and `array_agg(DISTINCT x)` give their values sorted in
/// PostgreSQL, which sorts them to drop the duplicates; both engines gave them in an order of
/// their own (`HFA` for PostgreSQL's `AFH`). Without an ORDER BY of its own, such a call is
/// ordered by its value.
fn distinct_aggregate_sorted(expr: &mut Expr) {
    use datafusion::sql::sqlparser::ast::{DuplicateTreatment, FunctionArgumentClause, OrderByExpr, OrderByOptions};
    if let Expr::Function(f) = expr
        && ["string_agg", "array_agg"].contains(&f.name.to_string().to_ascii_lowercase().as_str())
        && f.over.is_none()
        && let FunctionArguments::List(list) = &mut f.args
        && matches!(list.duplicate_treatment, Some(DuplicateTreatment::Distinct))
        && !list.clauses.iter().any(|c| matches!(c, FunctionArgumentClause::OrderBy(_)))
        && let Some(FunctionArg::Unnamed(FunctionArgExpr::Expr(value))) = list.args.first()
    {
        let key = OrderByExpr { expr: value.clone(), options: OrderByOptions { asc: None, nulls_first: None }, with_fill: None };
        list.clauses.push(FunctionArgumentClause::OrderBy(vec![key]));
    }
}

/// `date_trunc()` of a date truncates its instant in PostgreSQL (the date's midnight in the
/// session's zone), a timestamptz; both engines kept a date's own type (SQLite answered with
/// microseconds, so `date_trunc('month', d)::date` was 22003, and DataFusion with a timestamp
/// written without its offset). The date is cast to timestamptz, which both engines read so.
fn date_trunc_of_date_as_instant(expr: &mut Expr, scope: &Scope<'_>) {
    if let Expr::Function(f) = expr
        && f.name.to_string().eq_ignore_ascii_case("date_trunc")
        && let FunctionArguments::List(list) = &mut f.args
        && list.args.len() == 2
        && let Some(FunctionArg::Unnamed(FunctionArgExpr::Expr(arg))) = list.args.get_mut(1)
        && temporal_type(arg, scope) == Some(PgType::Date)
    {
        let date = std::mem::replace(arg, Expr::value(Value::Null));
        *arg = cast(date, SqlType::Timestamp(None, TimezoneInfo::WithTimeZone));
    }
}

/// `x AT TIME ZONE z` on SQLite: a timestamptz's (or date's) wall-clock time in zone `z` (a
/// timestamp), or the instant a timestamp's wall-clock time names in `z` (a timestamptz). A
/// constant zone is read as `SET TIME ZONE` reads one; another is passed on as a zone name.
///
/// # Errors
/// A constant that names no zone (22023); a value whose type the statement does not show
/// (0A000: cast it).
fn at_time_zone(timestamp: &mut Expr, zone: &mut Expr, scope: &Scope<'_>, opts: TranslateOptions) -> Result<Expr> {
    let zone = match literal_text(zone) {
        Some(text) => {
            let parsed = crate::zone::TimeZone::parse(&text)
                .ok_or_else(|| EngineError::InvalidArgument { message: format!("time zone \"{text}\" not recognized") })?;
            match parsed.sql_argument() {
                crate::zone::ZoneArgument::Seconds(seconds) => number(seconds.into()),
                crate::zone::ZoneArgument::Name(name) => string(name),
            }
        }
        None => std::mem::replace(zone, null()),
    };
    let source = temporal_type(timestamp, scope);
    let value = std::mem::replace(timestamp, null());
    match source {
        Some(PgType::Timestamptz) => Ok(call("rhei_local", vec![value, zone])),
        Some(PgType::Timestamp) => Ok(call("rhei_utc", vec![value, zone])),
        // A date is first the timestamptz of its midnight in the session zone, as PostgreSQL
        // resolves it.
        Some(PgType::Date) => Ok(call("rhei_local", vec![instant(as_micros(value, Some(PgType::Date)), opts), zone])),
        _ => Err(EngineError::unsupported("AT TIME ZONE on the OLTP engine with a value not known to be a timestamp (cast it)")),
    }
}

/// Whether `expr` is known to be an integer: a literal, an integer column, a cast to one.
fn is_integer(expr: &Expr, scope: &Scope<'_>) -> bool {
    let integral = |ty: PgType| matches!(ty, PgType::Int2 | PgType::Int4 | PgType::Int8);
    match expr {
        Expr::Nested(inner) => is_integer(inner, scope),
        Expr::Value(ValueWithSpan { value: Value::Number(n, _), .. }) => !n.contains(['.', 'e', 'E']),
        Expr::Cast { data_type, .. } => PgType::from_sql(data_type).is_ok_and(|t| integral(t.ty)),
        other => scope.column_type(other).is_some_and(integral),
    }
}

/// Whether a statement turns a timestamptz into wall-clock time (a cast to date, timestamp or
/// text, `to_char`, `date_trunc`, `extract`, calendar arithmetic): in a session zone other than
/// UTC only SQLite's functions compute those in that zone, DataFusion's use UTC.
pub(crate) fn reads_local_time(stmt: &Statement, catalog: &Catalog) -> bool {
    let Ok(scope) = Scope::of(stmt, catalog) else { return false };
    fn zoned(e: &Expr, scope: &Scope<'_>) -> bool {
        match e {
            Expr::Nested(inner) => zoned(inner, scope),
            // An aggregate or choice among timestamptz values is one.
            Expr::Function(func)
                if matches!(func.name.to_string().to_ascii_lowercase().as_str(), "min" | "max" | "coalesce" | "greatest" | "least" | "nullif") =>
            {
                matches!(&func.args, FunctionArguments::List(list)
                    if list.args.iter().any(|a| matches!(a, FunctionArg::Unnamed(FunctionArgExpr::Expr(e)) if zoned(e, scope))))
            }
            _ => temporal_type(e, scope) == Some(PgType::Timestamptz),
        }
    }
    let zoned = |e: &Expr| zoned(e, &scope);
    let wall = |e: &Expr| matches!(temporal_type(e, &scope), Some(PgType::Date | PgType::Timestamp));
    let found = visit_expressions(stmt, |expr| {
        let local = match expr {
            // The session zone's day and wall clock.
            Expr::Function(func) if matches!(func.name.to_string().to_ascii_lowercase().as_str(), "current_date" | "localtimestamp") => true,
            // Wall-clock time placed as an instant, or an instant shown as wall-clock time.
            Expr::Cast { expr, data_type, .. } if wall(expr) => PgType::from_sql(data_type).is_ok_and(|t| t.ty == PgType::Timestamptz),
            Expr::Cast { expr, data_type, .. } => zoned(expr) && PgType::from_sql(data_type).map_or(true, |t| t.ty != PgType::Timestamptz),
            Expr::BinaryOp { left, op: BinaryOperator::Eq | BinaryOperator::NotEq | BinaryOperator::Lt | BinaryOperator::LtEq | BinaryOperator::Gt | BinaryOperator::GtEq, right } => {
                (zoned(left) && wall(right)) || (wall(left) && zoned(right))
            }
            Expr::Between { expr, low, high, .. } => zoned(expr) && (wall(low) || wall(high)),
            Expr::Extract { expr, .. } => zoned(expr),
            Expr::Function(func) => match &func.args {
                FunctionArguments::List(list)
                    if matches!(func.name.to_string().to_ascii_lowercase().as_str(), "to_char" | "date_trunc" | "date_part" | "date") =>
                {
                    // date_trunc of a date truncates the date's instant in the session's zone.
                    let date_trunc = func.name.to_string().eq_ignore_ascii_case("date_trunc");
                    list.args.iter().any(|arg| matches!(arg, FunctionArg::Unnamed(FunctionArgExpr::Expr(e)) if zoned(e) || (date_trunc && temporal_type(e, &scope) == Some(PgType::Date))))
                }
                _ => false,
            },
            Expr::BinaryOp { left, op: BinaryOperator::Plus | BinaryOperator::Minus, right } => {
                (zoned(left) && is_interval_constant(right)) || (zoned(right) && is_interval_constant(left))
            }
            _ => false,
        };
        if local { ControlFlow::Break(()) } else { ControlFlow::Continue(()) }
    });
    found.is_break()
}

const MICROS_PER_DAY: i64 = 86_400_000_000;

/// A date (days) or timestamp (microseconds) value as microseconds.
/// The type `date_bin(stride, source, origin)` bins in, as PostgreSQL resolves it: a
/// timestamptz beside a timestamptz or with no timestamp at all (a date, or literals), else a
/// timestamp.
pub(crate) fn date_bin_type(func: &datafusion::sql::sqlparser::ast::Function, scope: &Scope<'_>) -> PgType {
    let FunctionArguments::List(list) = &func.args else { return PgType::Timestamptz };
    let types: Vec<PgType> = list
        .args
        .iter()
        .skip(1)
        .filter_map(|arg| match arg {
            FunctionArg::Unnamed(FunctionArgExpr::Expr(e)) => temporal_type(e, scope),
            _ => None,
        })
        .collect();
    if !types.contains(&PgType::Timestamptz) && types.contains(&PgType::Timestamp) { PgType::Timestamp } else { PgType::Timestamptz }
}

/// date_bin's source and origin as the microseconds SQLite's `date_bin` takes: a date's
/// midnight (in the session zone when binned as timestamptz), a literal read as the binning
/// type.
fn date_bin_in_micros(func: &mut datafusion::sql::sqlparser::ast::Function, scope: &Scope<'_>, opts: TranslateOptions) {
    let binned = date_bin_type(func, scope);
    let FunctionArguments::List(list) = &mut func.args else { return };
    for arg in list.args.iter_mut().skip(1) {
        let FunctionArg::Unnamed(FunctionArgExpr::Expr(arg)) = arg else { continue };
        let source = temporal_type(arg, scope);
        let value = std::mem::replace(arg, null());
        *arg = match source {
            Some(PgType::Date) if binned == PgType::Timestamptz => instant(as_micros(value, source), opts),
            None if is_string_literal(&value) => convert_expr(binned, value, opts),
            _ => as_micros(value, source),
        };
    }
}

fn as_micros(value: Expr, source: Option<PgType>) -> Expr {
    match source {
        // Nested: the AST prints without parentheses, and the value may be `d + 1`.
        Some(PgType::Date) => Expr::BinaryOp {
            left: Box::new(Expr::Nested(Box::new(value))),
            op: BinaryOperator::Multiply,
            right: Box::new(number(MICROS_PER_DAY)),
        },
        _ => value,
    }
}

/// A cast whose result depends on what it converts from: dates are days and timestamps
/// microseconds in storage, so converting between them, or to text, needs the source type.
fn cast_from(inner: Expr, source: Option<PgType>, data_type: &SqlType, opts: TranslateOptions) -> Result<Expr> {
    let target = match data_type {
        SqlType::Text | SqlType::Varchar(None) | SqlType::CharacterVarying(None) | SqlType::String(None) => None,
        SqlType::Interval { .. } => return cast_expr(inner, data_type, opts),
        other => Some(PgType::from_sql(other)?.ty),
    };
    // A number is no time (`rhei_time` would take 5 for five microseconds).
    if target == Some(PgType::Time)
        && let Expr::Value(ValueWithSpan { value: Value::Number(n, _), .. }) = unwrap_sign(&inner)
    {
        return Err(EngineError::CannotCoerce { from: number_literal_type(n).pg_name(), to: PgType::Time.pg_name() });
    }
    Ok(match (source, target) {
        (Some(src @ (PgType::Timestamp | PgType::Timestamptz)), Some(PgType::Date)) => {
            call("rhei_days", vec![wall_clock(inner, Some(src), opts)])
        }
        // Each of these is a call even where it changes no value (in UTC; a wall-clock time at
        // offset 0 is its instant's): the casts around it read its type from the call
        // ([`translated_type`]), so `at::date::text` is a date and `at::timestamptz::text`
        // has an offset.
        (Some(PgType::Date), Some(PgType::Timestamp)) => call("rhei_local", vec![as_micros(inner, Some(PgType::Date)), number(0)]),
        (Some(PgType::Date), Some(PgType::Timestamptz)) => call("rhei_utc", vec![as_micros(inner, Some(PgType::Date)), zone_argument(opts)]),
        (Some(PgType::Timestamptz), Some(PgType::Timestamp)) => call("rhei_local", vec![inner, zone_argument(opts)]),
        (Some(PgType::Timestamp), Some(PgType::Timestamptz)) => call("rhei_utc", vec![inner, zone_argument(opts)]),
        // A timestamptz's time of day is its wall clock's in the session's zone.
        (Some(src @ (PgType::Timestamp | PgType::Timestamptz)), Some(PgType::Time)) => {
            call("rhei_time_of_day", vec![wall_clock(inner, Some(src), opts)])
        }
        // SQLite would take the stored day number or microseconds for a time (PostgreSQL has
        // no such cast).
        (Some(src @ PgType::Time), Some(to)) | (Some(src), Some(to @ PgType::Time))
            if src != to && ![src, to].iter().any(|t| matches!(t, PgType::Text | PgType::Varchar(_) | PgType::Bpchar(_))) =>
        {
            return Err(EngineError::CannotCoerce { from: src.pg_name(), to: to.pg_name() });
        }
        (Some(src), None) if src.is_numeric_text() => {
            let exact = match inner {
                Expr::Cast { expr, data_type: SqlType::Real, .. } => *expr,
                other => other,
            };
            Expr::Cast { kind: CastKind::Cast, expr: Box::new(exact), data_type: SqlType::Text, array: false, format: None }
        }
        (
            Some(src @ (PgType::Date | PgType::Timestamp | PgType::Timestamptz | PgType::Time | PgType::Bool | PgType::Float4 | PgType::Float8 | PgType::Bytea)),
            None,
        ) => {
            let tag = match src {
                PgType::Bytea => "bytea",
                PgType::Time => "time",
                PgType::Date => "date",
                PgType::Timestamp => "timestamp",
                PgType::Timestamptz => "timestamptz",
                PgType::Bool => "bool",
                PgType::Float4 => "float4",
                _ => "float8",
            };
            call("rhei_text", vec![inner, string(tag), zone_argument(opts)])
        }
        // Cut from the value's text (SQLite would cut the stored day number, 1 or 0, ...).
        (
            Some(src @ (PgType::Date | PgType::Timestamp | PgType::Timestamptz | PgType::Time | PgType::Bool | PgType::Float4 | PgType::Float8 | PgType::Bytea)),
            Some(PgType::Varchar(Some(_)) | PgType::Bpchar(Some(_))),
        ) => cast_expr(cast_from(inner, Some(src), &SqlType::Text, opts)?, data_type, opts)?,
        // numeric to integer rounds half away from zero in PostgreSQL, as SQLite's round() does.
        (Some(src), Some(t @ (PgType::Int2 | PgType::Int4 | PgType::Int8))) if src.is_numeric_text() => {
            convert_expr(t, call("round", vec![inner]), opts)
        }
        // A computed value of a type the statement does not say: a double among them is
        // written as PostgreSQL writes a float8 (SQLite's CAST made `2024.0` of
        // `date_part('year', d)::text` and of `sqrt(16)::text`).
        // (rhei's exact numeric functions give their text already.)
        (None, None) if !matches!(&inner, Expr::Value(_)) && !matches!(&inner, Expr::Function(f) if f.name.to_string().starts_with("rhei_numeric")) => {
            call("rhei_text", vec![inner, string("value"), zone_argument(opts)])
        }
        _ => cast_expr(inner, data_type, opts)?,
    })
}

/// The type of a boolean literal, or of a typed date/time literal or cast already in storage
/// form (`DATE '2024-03-01'` is `rhei_date('2024-03-01')` by the time its cast is seen, `at::date`
/// `rhei_days(at)`), so that `true::text` is `true` and `DATE '2024-03-01'::text` the date, not
/// SQLite's 1 and day number.
fn translated_type(expr: &Expr) -> Option<PgType> {
    match expr {
        Expr::Nested(inner) => translated_type(inner),
        Expr::Value(ValueWithSpan { value: Value::Boolean(_), .. }) => Some(PgType::Bool),
        Expr::Function(f) => match f.name.to_string().as_str() {
            "rhei_date" | "rhei_days" => Some(PgType::Date),
            "rhei_ts" | "rhei_local" | "make_timestamp" => Some(PgType::Timestamp),
            "rhei_tstz" | "rhei_utc" | "rhei_make_timestamptz" => Some(PgType::Timestamptz),
            "rhei_time" | "rhei_time_of_day" | "rhei_round_time" => Some(PgType::Time),
            // `x::real`, so its text is a real's (`0.1`, not the double's digits).
            "rhei_float" => match positional_args(f).get(1) {
                Some(Expr::Value(ValueWithSpan { value: Value::Number(bits, _), .. })) if bits == "32" => Some(PgType::Float4),
                _ => Some(PgType::Float8),
            },
            _ => None,
        },
        _ => None,
    }
}

/// A number literal's text with a minus sign, except zero: PostgreSQL's numeric has no
/// negative zero (`-0.0` is `0.0`).
fn negated(text: &str) -> String {
    if text.bytes().all(|b| matches!(b, b'0' | b'.')) { text.to_string() } else { format!("-{text}") }
}

/// The text of a numeric (non-integer) literal, sign included: `1.50`, `-2.5`, `1e3`.
/// PostgreSQL types these `numeric`; SQLite would read them as REAL.
fn numeric_literal(expr: &Expr) -> Option<String> {
    match expr {
        Expr::Value(ValueWithSpan { value: Value::Number(n, _), .. }) if n.contains(['.', 'e', 'E']) => Some(n.clone()),
        Expr::Nested(inner) => numeric_literal(inner),
        Expr::UnaryOp { op: datafusion::sql::sqlparser::ast::UnaryOperator::Minus, expr } => numeric_literal(expr).map(|n| negated(&n)),
        // One already kept as its text (see `rewrite_expr`).
        other => long_number_text(other).map(str::to_string),
    }
}

/// An integer primary key is SQLite's rowid, which SQLite numbers itself when an INSERT leaves
/// it out, whatever the column's DEFAULT. Where the key is not serial, each row the INSERT
/// writes gets the key's default instead, and without one calls `rhei_missing_value`, which
/// fails as PostgreSQL does (23502; once per row, so an INSERT ... SELECT of no rows still
/// succeeds).
fn refuse_unnumbered_key(insert: &mut datafusion::sql::sqlparser::ast::Insert, def: &TableDef, opts: TranslateOptions) -> Result<()> {
    let written = |name: &str| if insert.columns.is_empty() { insert.source.is_some() } else { insert.columns.iter().any(|c| normalize_ident(c) == name) };
    let Some((column, value)) = unwritten_key(def, written, opts)? else { return Ok(()) };
    // A query that dedups, sorts, limits or combines rows gives them before the key is made
    // (once per row it gives, in its order): it is read whole first.
    let plain = |source: &Query| source.order_by.is_none() && source.limit_clause.is_none() && source.fetch.is_none();
    if let Some(source) = insert.source.as_mut()
        && !matches!(source.body.as_ref(), SetExpr::Values(_))
        && !(plain(source) && matches!(source.body.as_ref(), SetExpr::Select(select) if select.distinct.is_none()))
    {
        let mut wrapped = datafusion::sql::sqlparser::parser::Parser::new(&datafusion::sql::sqlparser::dialect::PostgreSqlDialect {})
            .try_with_sql("WITH rhei_source AS MATERIALIZED (SELECT 1) SELECT *, NULL FROM rhei_source WHERE true")
            .and_then(|mut p| p.parse_query())
            .map_err(|e| EngineError::Internal(e.to_string()))?;
        if let SetExpr::Select(select) = wrapped.body.as_mut()
            && let Some(SelectItem::UnnamedExpr(key)) = select.projection.get_mut(1)
        {
            *key = value;
        }
        let mut original = std::mem::replace(source, wrapped);
        // `(SELECT ...)`: SQLite takes no parentheses around a WITH query's body.
        while plain(&original)
            && original.with.is_none()
            && let SetExpr::Query(inner) = original.body.as_mut()
        {
            original = std::mem::replace(inner, Box::new(Query::clone(inner)));
        }
        if let Some(cte) = source.with.as_mut().and_then(|with| with.cte_tables.first_mut()) {
            cte.query = original;
        }
        insert.columns.push(Ident::with_quote('"', &column.name));
        return Ok(());
    }
    match insert.source.as_mut().map(|source| source.body.as_mut()) {
        Some(SetExpr::Values(values)) => values.rows.iter_mut().for_each(|row| row.push(value.clone())),
        Some(SetExpr::Select(select)) => select.projection.push(SelectItem::UnnamedExpr(value)),
        // DEFAULT VALUES: the one row, of the key alone (the other columns take their defaults).
        None => {
            let mut row = datafusion::sql::sqlparser::parser::Parser::new(&datafusion::sql::sqlparser::dialect::SQLiteDialect {})
                .try_with_sql("VALUES (NULL)")
                .and_then(|mut p| p.parse_query())
                .map_err(|e| EngineError::Internal(e.to_string()))?;
            if let SetExpr::Values(values) = row.body.as_mut() {
                values.rows = vec![vec![value]];
            }
            insert.source = Some(row);
        }
        Some(_) => return Err(EngineError::Internal("an INSERT source neither plain nor wrapped".into())),
    }
    insert.columns.push(Ident::with_quote('"', &column.name));
    Ok(())
}

/// The integer primary key a write leaves out (`written` says which columns it names) and
/// the SQLite expression that must give its value per row instead of SQLite's numbering: the
/// key's default, or a call failing with 23502. `None` when the write names it, or SQLite is
/// to number it (serial).
///
/// # Errors
/// A DEFAULT that does not translate.
pub(crate) fn unwritten_key<'d>(def: &'d TableDef, written: impl Fn(&str) -> bool, opts: TranslateOptions) -> Result<Option<(&'d ColumnDef, Expr)>> {
    let Some(key) = def.rowid_alias() else { return Ok(None) };
    let column = &def.columns[key];
    if column.is_serial || written(&column.name) {
        return Ok(None);
    }
    let value = match &column.default_sql {
        Some(default) => parse_sqlite_expr(&ddl::default_expr_sql(column.ty, default, opts)?)?,
        None => call("rhei_missing_value", vec![string(&def.name), string(&column.name)]),
    };
    Ok(Some((column, value)))
}

/// Whether a VALUES item is the keyword DEFAULT.
pub(crate) fn is_default_keyword(expr: &Expr) -> bool {
    matches!(expr, Expr::Identifier(ident) if ident.quote_style.is_none() && ident.value.eq_ignore_ascii_case("default"))
}

/// An expression already in SQLite's dialect (a translated DEFAULT), as an AST node.
fn parse_sqlite_expr(sql: &str) -> Result<Expr> {
    datafusion::sql::sqlparser::parser::Parser::new(&datafusion::sql::sqlparser::dialect::SQLiteDialect {})
        .try_with_sql(sql)
        .and_then(|mut p| p.parse_expr())
        .map_err(|e| EngineError::Internal(format!("translated DEFAULT does not parse: {e}")))
}

fn cast_expr(inner: Expr, data_type: &SqlType, opts: TranslateOptions) -> Result<Expr> {
    match data_type {
        SqlType::Text | SqlType::Varchar(None) | SqlType::CharacterVarying(None) | SqlType::String(None) => {
            Ok(Expr::Cast { kind: CastKind::Cast, expr: Box::new(inner), data_type: SqlType::Text, array: false, format: None })
        }
        SqlType::Interval { .. } => Err(EngineError::unsupported("interval values on the OLTP engine")),
        _ => {
            let declared = PgType::from_sql(data_type)?;
            // An explicit cast to a length-limited string type cuts the text to length.
            Ok(match declared.ty {
                PgType::Varchar(Some(n)) => call("rhei_varchar", vec![inner, number(n.into()), number(1)]),
                PgType::Bpchar(Some(n)) => call("rhei_bpchar", vec![inner, number(n.into()), number(1)]),
                ty => convert_expr(ty, inner, opts),
            })
        }
    }
}

/// Converts values written into typed columns: INSERT ... VALUES, UPDATE ... SET and
/// ON CONFLICT ... DO UPDATE SET.
fn convert_written_values(stmt: &mut Statement, scope: &Scope<'_>, opts: TranslateOptions, reads_joined: bool) -> Result<()> {
    match stmt {
        Statement::Insert(insert) => {
            let table = match &insert.table {
                datafusion::sql::sqlparser::ast::TableObject::TableName(name) => table_name(name)?,
                other => return Err(EngineError::unsupported(format!("INSERT INTO {other}"))),
            };
            let Some(def) = scope.tables.iter().find(|t| t.name == table) else {
                return Err(EngineError::UndefinedTable { name: table });
            };
            let columns_named = !insert.columns.is_empty();
            let targets: Vec<usize> = if insert.columns.is_empty() {
                (0..def.columns.len()).collect()
            } else {
                insert
                    .columns
                    .iter()
                    .map(|c| {
                        let name = normalize_ident(c);
                        def.column_index(&name)
                            .ok_or_else(|| EngineError::UndefinedColumn { column: name, table: Some(def.name.clone()) })
                    })
                    .collect::<Result<_>>()?
            };
            if let Some(source) = insert.source.as_mut()
                && let SetExpr::Values(values) = source.body.as_mut()
            {
                // PostgreSQL fills columns a short VALUES row leaves out with their defaults;
                // SQLite wants a value per column unless the columns are named.
                let width = values.rows.iter().map(Vec::len).max().unwrap_or(0);
                if insert.columns.is_empty() && width < def.columns.len() {
                    insert.columns =
                        def.columns[..width].iter().map(|c| datafusion::sql::sqlparser::ast::Ident::with_quote('"', &c.name)).collect();
                }
                for row in &mut values.rows {
                    if row.len() > targets.len() {
                        return Err(EngineError::syntax("INSERT has more expressions than target columns"));
                    }
                    if columns_named && row.len() < targets.len() {
                        return Err(EngineError::syntax("INSERT has more target columns than expressions"));
                    }
                    for (value, &col) in row.iter_mut().zip(&targets) {
                        let column = &def.columns[col];
                        check_assigned_type(column, value)?;
                        if is_default_keyword(value) {
                            // SQLite has no DEFAULT inside VALUES: the column's default, or
                            // NULL (a serial key then numbers itself).
                            *value = match &column.default_sql {
                                Some(default) => parse_sqlite_expr(&ddl::default_expr_sql(column.ty, default, opts)?)?,
                                // The rowid: SQLite would number it (see `refuse_unnumbered_key`).
                                None if def.rowid_alias() == Some(col) && !column.is_serial => {
                                    call("rhei_missing_value", vec![string(&def.name), string(&column.name)])
                                }
                                None => null(),
                            };
                            continue;
                        }
                        let is_null = matches!(value, Expr::Value(ValueWithSpan { value: Value::Null, .. }));
                        // SQLite numbers a NULL written to an integer primary key (its rowid);
                        // PostgreSQL refuses it unless the key is serial and the value omitted.
                        assignment_cast(column.ty, value, scope);
                        network::assigned(column.ty, value, scope);
                        if def.rowid_alias() == Some(col) && !column.is_serial {
                            let v = std::mem::replace(value, null());
                            *value = call("rhei_not_null", vec![assign_expr(column.ty, v, opts), string(&def.name), string(&column.name)]);
                        } else if !is_null {
                            let v = std::mem::replace(value, null());
                            *value = assign_expr(column.ty, v, opts);
                        }
                    }
                }
            }
            // INSERT ... SELECT: each column takes the query's value through the same
            // conversion as from VALUES (SQLite stored a computed numeric as its REAL text, an
            // out-of-range smallint, an over-long varchar, an unknown enum label, and refused a
            // date string for a timestamptz). Where wrapping an output item could change what
            // the query groups, dedups or orders by (or it is a set operation), the query is
            // read through a derived table and its columns are converted there; a `*` whose
            // width is unknown stores its values as they are.
            // A query in parentheses alone (`INSERT INTO t (v) (SELECT ...)`) is that query.
            while let Some(source) = insert.source.as_mut()
                && source.with.is_none()
                && source.order_by.is_none()
                && source.limit_clause.is_none()
                && source.fetch.is_none()
                && matches!(source.body.as_ref(), SetExpr::Query(_))
            {
                if let SetExpr::Query(inner) = std::mem::replace(source.body.as_mut(), SetExpr::Values(empty_values())) {
                    **source = *inner;
                }
            }
            if let Some(source) = insert.source.as_mut()
                && !matches!(source.body.as_ref(), SetExpr::Values(_))
                && !converts_in_place(source)
                && let Some(items) = output_items(source)
            {
                // The derived table's columns are typed by casts to what its items are, where
                // that matters to the assignment below (a timestamp into a date column); `WHERE
                // true` keeps SQLite from reading an ON CONFLICT as the join's ON.
                let source_scope = scope.of_insert_source(def, source);
                let names: Vec<String> = (1..=items.len()).map(|n| crate::catalog::quote_ident(&format!("_rhei_{n}"))).collect();
                let columns: Vec<String> = items
                    .iter()
                    .zip(&names)
                    .map(|(item, name)| {
                        let column = format!("\"_rhei_source\".{name}");
                        typed_for_assignment(item, &source_scope).map_or_else(|| column.clone(), |ty| format!("CAST({column} AS {})", ty.pg_name()))
                    })
                    .collect();
                let sql = format!("SELECT {} FROM ({source}) AS \"_rhei_source\" ({}) WHERE true", columns.join(", "), names.join(", "));
                if let Some(read) = reread_query(&sql) {
                    **source = read;
                }
            }
            if let Some(source) = insert.source.as_mut()
                && converts_in_place(source)
            {
                let source_scope = scope.of_insert_source(def, source);
                if let SetExpr::Select(select) = source.body.as_mut() {
                    // As for a short VALUES row: the columns a short SELECT leaves out get defaults.
                    let width = select.projection.len();
                    if insert.columns.is_empty() && width < def.columns.len() {
                        insert.columns =
                            def.columns[..width].iter().map(|c| datafusion::sql::sqlparser::ast::Ident::with_quote('"', &c.name)).collect();
                    }
                    for (item, &col) in select.projection.iter_mut().zip(&targets) {
                        let ty = def.columns[col].ty;
                        let (SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. }) = item else { continue };
                        // Dates and times through PostgreSQL's assignment casts, then each value
                        // checked and stored in its column's form, as from VALUES.
                        network::assigned(ty, e, &source_scope);
                        assignment_cast(ty, e, &source_scope);
                        let v = std::mem::replace(e, null());
                        *e = assign_expr(ty, v, opts);
                        if def.rowid_alias() == Some(col) && !def.columns[col].is_serial {
                            // A NULL key the query gives is refused, as from VALUES (SQLite numbered it).
                            let v = std::mem::replace(e, null());
                            *e = call("rhei_not_null", vec![v, string(&def.name), string(&def.columns[col].name)]);
                        }
                    }
                }
            }
            refuse_unnumbered_key(insert, def, opts)?;
            if let Some(datafusion::sql::sqlparser::ast::OnInsert::OnConflict(conflict)) = insert.on.as_mut() {
                // `ON CONFLICT ON CONSTRAINT name`, which SQLite cannot parse, is the
                // constraint's columns.
                if let Some(datafusion::sql::sqlparser::ast::ConflictTarget::OnConstraint(name)) = &conflict.conflict_target {
                    let constraint = match name.0.last() {
                        Some(ObjectNamePart::Identifier(id)) => normalize_ident(id),
                        _ => name.to_string(),
                    };
                    let columns = match def.key_constraint(&constraint) {
                        Some(crate::catalog::KeyConstraint::Primary) => &def.primary_key,
                        Some(crate::catalog::KeyConstraint::Unique(i)) => &def.unique[i],
                        None => return Err(EngineError::UndefinedConstraint { table: def.name.clone(), constraint }),
                    };
                    let columns = columns.iter().map(|&c| Ident::with_quote('"', &def.columns[c].name)).collect();
                    conflict.conflict_target = Some(datafusion::sql::sqlparser::ast::ConflictTarget::Columns(columns));
                }
                if let datafusion::sql::sqlparser::ast::OnConflictAction::DoUpdate(update) = &mut conflict.action {
                    convert_assignments(&mut update.assignments, def, scope, opts)?;
                }
            }
        }
        Statement::Update(update) => {
            let table = match &update.table.relation {
                TableFactor::Table { name, .. } => table_name(name)?,
                other => return Err(EngineError::unsupported(format!("UPDATE {other}"))),
            };
            let def = scope.tables.iter().find(|t| t.name == table).ok_or(EngineError::UndefinedTable { name: table })?;
            convert_assignments(&mut update.assignments, def, scope, opts)?;
            explicit_alias(&mut update.table.relation);
            unqualified_returning(update.returning.as_mut(), &update.table.relation);
        }
        Statement::Delete(delete) => {
            use datafusion::sql::sqlparser::ast::FromTable;
            let (FromTable::WithFromKeyword(tables) | FromTable::WithoutKeyword(tables)) = &mut delete.from;
            tables.iter_mut().for_each(|t| explicit_alias(&mut t.relation));
            if let Some(target) = tables.first() {
                unqualified_returning(delete.returning.as_mut(), &target.relation);
            }
            // SQLite has no DELETE ... USING: a row goes when some row of the USING tables
            // meets the condition with it, which is what EXISTS over them asks. (Unless
            // RETURNING reads them: see `returning_joined`.)
            if reads_joined {
                return Ok(());
            }
            if let Some(using) = delete.using.take() {
                delete.selection = Some(Expr::Exists { subquery: Box::new(select_one_from(using, delete.selection.take())?), negated: false });
            }
        }
        _ => {}
    }
    Ok(())
}

/// Whether `stmt` compares with an array value (`x = ANY ($1)`, `'{1,2}'`), which only the
/// SQLite translation reads ([`array_membership`]); membership in an array column
/// (`x = ANY (tags)`) both engines read.
pub fn compares_with_array_value(stmt: &Statement) -> bool {
    datafusion::sql::sqlparser::ast::visit_expressions(stmt, |e| {
        if is_array_comparison(e) && !arrays::is_column_membership(e) { ControlFlow::Break(()) } else { ControlFlow::Continue(()) }
    })
        .is_break()
}

/// PostgreSQL's functions of arrays: a query calling one reads array values.
const ARRAY_FUNCTIONS: &[&str] = &[
    "unnest", "array_length", "array_upper", "array_lower", "array_ndims", "array_dims", "cardinality",
    "array_to_string", "string_to_array", "array_append", "array_prepend", "array_cat", "array_position",
    "array_positions", "array_remove", "array_replace", "trim_array", "regexp_split_to_array", "regexp_match",
    "rhei_regexp_matches_row",
];

/// Whether `stmt` has an array value SQLite cannot take (`ARRAY[...]`, `'{1,2}'::int[]`, a
/// function of arrays, `FROM unnest(...)`): not one compared with `= ANY` / `<> ALL`, nor a
/// jsonb path or key list after `#>`, `#>>`, `#-`, `?|` or `?&` (both engines take those as
/// text). SQLite has no arrays, DataFusion has.
pub fn has_array_value(stmt: &Statement) -> bool {
    use datafusion::sql::sqlparser::ast::Visit;
    #[derive(Default)]
    struct Finder {
        arrays: usize,
        json_operands: usize,
    }
    impl datafusion::sql::sqlparser::ast::Visitor for Finder {
        type Break = ();
        fn pre_visit_expr(&mut self, expr: &Expr) -> ControlFlow<()> {
            let is_array = |e: &Expr| matches!(e, Expr::Array(_) | Expr::Cast { data_type: SqlType::Array(_), .. });
            match expr {
                e if is_array(e) => self.arrays += 1,
                Expr::BinaryOp {
                    op: BinaryOperator::HashArrow | BinaryOperator::HashLongArrow | BinaryOperator::HashMinus | BinaryOperator::QuestionPipe | BinaryOperator::QuestionAnd,
                    right,
                    ..
                } if is_array(right) => self.json_operands += 1,
                Expr::Function(f)
                    if f.name.0.last().and_then(ObjectNamePart::as_ident).is_some_and(|name| ARRAY_FUNCTIONS.iter().any(|known| name.value.eq_ignore_ascii_case(known))) =>
                {
                    return ControlFlow::Break(());
                }
                _ => {}
            }
            ControlFlow::Continue(())
        }
        fn pre_visit_table_factor(&mut self, factor: &TableFactor) -> ControlFlow<()> {
            match factor {
                TableFactor::UNNEST { .. } => ControlFlow::Break(()),
                TableFactor::Table { name, args: Some(_), .. } if table_name(name).ok().as_deref() == Some("unnest") => ControlFlow::Break(()),
                _ => ControlFlow::Continue(()),
            }
        }
    }
    let mut finder = Finder::default();
    stmt.visit(&mut finder).is_break() || finder.arrays > finder.json_operands
}

/// `x op ANY / ALL (...)` over an array value rather than a subquery (those were rewritten at
/// parse time, as were `ARRAY[...]` constructors).
fn is_array_comparison(e: &Expr) -> bool {
    matches!(e, Expr::AnyOp { right, .. } | Expr::AllOp { right, .. } if !matches!(right.as_ref(), Expr::Subquery(_)))
}

/// The element type an array type names (`int[]`: integer); `None` when it names none.
///
/// # Errors
/// An element type rhei does not know.
pub(crate) fn array_element_type(element: &datafusion::sql::sqlparser::ast::ArrayElemTypeDef) -> Result<Option<PgType>> {
    use datafusion::sql::sqlparser::ast::ArrayElemTypeDef as E;
    match element {
        E::AngleBracket(t) | E::SquareBracket(t, _) | E::Parenthesis(t) => Ok(Some(PgType::from_sql(t)?.ty)),
        E::None => Ok(None),
    }
}

/// For planning a statement's result types only: each comparison with an array value becomes
/// `true` (a boolean either way), since DataFusion plans some of them (`<> ALL ($1)`) not at
/// all and the statement's columns would lose their types.
pub fn array_comparisons_as_true(stmt: &mut Statement) {
    let _ = visit_expressions_mut(stmt, |e| {
        if is_array_comparison(e) {
            *e = Expr::Value(ValueWithSpan { value: Value::Boolean(true), span: Span::empty() });
        }
        ControlFlow::<()>::Continue(())
    });
}

/// `x = ANY (array)` and `x <> ALL (array)` over an array value (a parameter, `'{1,2}'`) are
/// `x [NOT] IN (SELECT value FROM json_each(...))` on SQLite: the array reaches SQLite as a
/// JSON array (`rhei_array_json`), and a NULL array answers NULL as in PostgreSQL. Quantified
/// comparisons over subqueries and `ARRAY[...]` were rewritten at parse time; other operators
/// over an array value are refused.
fn array_membership(expr: &mut Expr, scope: &Scope<'_>, opts: TranslateOptions) -> Result<Option<Expr>> {
    if !is_array_comparison(expr) {
        return Ok(None);
    }
    let (left, right, negated) = match expr {
        Expr::AnyOp { left, compare_op: BinaryOperator::Eq, right, .. } => (left, right, false),
        Expr::AllOp { left, compare_op: BinaryOperator::NotEq, right } => (left, right, true),
        _ => return Err(EngineError::unsupported("a comparison other than = ANY or <> ALL with an array value")),
    };
    // The elements' type: the array's cast (`'{1,2}'::int[]`), else the compared value's.
    let (array, element_type) = match right.as_ref() {
        Expr::Cast { expr: inner, data_type: SqlType::Array(element), .. } => (inner.as_ref().clone(), array_element_type(element)?),
        other => (other.clone(), None),
    };
    // Over an array column, the compared value is read as its element type (PostgreSQL
    // resolves `'2024-01-01' = ANY (days)` so), to meet elements as stored.
    if let Some(PgType::Array(element)) = scope.column_type(&array) {
        let value = std::mem::replace(left.as_mut(), null());
        **left = convert_expr(element.ty(), value, opts);
    }
    let compared = unwrap_real(left).unwrap_or(left);
    let element_type = element_type.or_else(|| scope.column_type(compared)).or_else(|| temporal_type(compared, scope));
    let type_name = element_type.map_or_else(null, |t| string(&t.pg_name()));
    let mut subquery = datafusion::sql::sqlparser::parser::Parser::new(&datafusion::sql::sqlparser::dialect::SQLiteDialect {})
        .try_with_sql("SELECT value FROM json_each(NULL)")
        .and_then(|mut p| p.parse_query())
        .map_err(|e| EngineError::Internal(format!("json_each template does not parse: {e}")))?;
    let json = call("rhei_array_json", vec![array.clone(), type_name, zone_argument(opts)]);
    let _ = visit_expressions_mut(subquery.as_mut(), |e| {
        if matches!(e, Expr::Value(ValueWithSpan { value: Value::Null, .. })) {
            *e = json.clone();
        }
        ControlFlow::<()>::Continue(())
    });
    let membership = Expr::InSubquery { expr: Box::new(left.as_ref().clone()), subquery, negated };
    Ok(Some(Expr::Case {
        case_token: datafusion::sql::sqlparser::ast::helpers::attached_token::AttachedToken::empty(),
        end_token: datafusion::sql::sqlparser::ast::helpers::attached_token::AttachedToken::empty(),
        operand: None,
        conditions: vec![datafusion::sql::sqlparser::ast::CaseWhen { condition: Expr::IsNull(Box::new(array)), result: null() }],
        else_result: Some(Box::new(membership)),
    }))
}

/// `SELECT 1 FROM <from> [WHERE <condition>]`.
fn select_one_from(from: Vec<datafusion::sql::sqlparser::ast::TableWithJoins>, condition: Option<Expr>) -> Result<Query> {
    let mut parsed = datafusion::sql::sqlparser::parser::Parser::new(&datafusion::sql::sqlparser::dialect::PostgreSqlDialect {})
        .try_with_sql("SELECT 1")
        .and_then(|mut p| p.parse_query())
        .map_err(|e| EngineError::Internal(format!("SELECT 1 does not parse: {e}")))?;
    if let SetExpr::Select(select) = parsed.body.as_mut() {
        select.from = from;
        select.selection = condition;
    }
    Ok(*parsed)
}

/// RETURNING items that name the target by its table name or alias (`RETURNING a.id, a.*`)
/// written bare: SQLite's RETURNING takes only the target's columns, unqualified.
fn unqualified_returning(returning: Option<&mut Vec<SelectItem>>, target: &TableFactor) {
    let (Some(items), TableFactor::Table { name, alias, .. }) = (returning, target) else { return };
    // An alias hides the table's name, which may then be another relation's (`UPDATE t AS a
    // ... FROM t`).
    let names: Vec<String> = match alias {
        Some(alias) => vec![normalize_ident(&alias.name)],
        None => name.0.last().and_then(|p| p.as_ident()).map(|i| vec![normalize_ident(i)]).unwrap_or_default(),
    };
    let names_target = |qualifier: &[Ident]| qualifier.last().is_some_and(|q| names.contains(&normalize_ident(q)));
    for item in items.iter_mut() {
        if let SelectItem::QualifiedWildcard(datafusion::sql::sqlparser::ast::SelectItemQualifiedWildcardKind::ObjectName(qualifier), options) = item
            && names_target(&qualifier.0.iter().filter_map(|p| p.as_ident().cloned()).collect::<Vec<_>>())
        {
            *item = SelectItem::Wildcard(options.clone());
            continue;
        }
        // Inside a subquery a qualified name may mean the subquery's own table (`o2.c` beside
        // `o.c`): such items are left as written.
        let has_subquery = datafusion::sql::sqlparser::ast::visit_expressions(&*item, |e| match e {
            Expr::Subquery(_) | Expr::Exists { .. } | Expr::InSubquery { .. } => ControlFlow::Break(()),
            _ => ControlFlow::Continue(()),
        })
        .is_break();
        if has_subquery {
            continue;
        }
        let _ = visit_expressions_mut(item, |expr| {
            if let Expr::CompoundIdentifier(parts) = expr
                && parts.len() >= 2
                && names_target(&parts[..parts.len() - 1])
                && let Some(column) = parts.last().cloned()
            {
                *expr = Expr::Identifier(column);
            }
            ControlFlow::<()>::Continue(())
        });
    }
}

/// SQLite reads the target of an UPDATE or DELETE with an alias only as `t AS a`; PostgreSQL
/// also takes `t a`.
fn explicit_alias(target: &mut TableFactor) {
    if let TableFactor::Table { alias: Some(alias), .. } = target {
        alias.explicit = true;
    }
}

/// A boolean constant stored into a column of another type: PostgreSQL has no assignment cast
/// from boolean except to the string types, which store `true` or `false` (SQLite would store
/// 1 or 0 in either case). Nor from a number to a boolean, date/time, interval, enum, uuid,
/// bytea or json column (SQLite stored the number as it is, or as a day number or microseconds).
fn check_assigned_type(column: &crate::catalog::ColumnDef, value: &mut Expr) -> Result<()> {
    let flag = match value {
        Expr::Value(ValueWithSpan { value: Value::Boolean(flag), .. }) => *flag,
        Expr::Nested(inner) => return check_assigned_type(column, inner),
        signed => {
            if let Expr::Value(ValueWithSpan { value: Value::Number(n, _), .. }) = unwrap_sign(signed)
                && refuses_numbers(column.ty)
            {
                return Err(EngineError::DatatypeMismatch { column: column.name.clone(), expected: column.ty.pg_name(), found: number_literal_type(n).pg_name() });
            }
            return Ok(());
        }
    };
    match column.ty {
        PgType::Bool => Ok(()),
        PgType::Text | PgType::Varchar(_) | PgType::Bpchar(_) => {
            *value = string(if flag { "true" } else { "false" });
            Ok(())
        }
        other => Err(EngineError::TypeMismatch {
            message: format!("column \"{}\" is of type {} but expression is of type boolean", column.name, other.pg_name()),
        }),
    }
}

/// Whether PostgreSQL refuses a number stored into a column of type `ty` (it has no assignment
/// cast from a number to it).
pub(crate) fn refuses_numbers(ty: PgType) -> bool {
    matches!(
        ty,
        PgType::Bool
            | PgType::Date
            | PgType::Timestamp
            | PgType::Timestamptz
            | PgType::Time
            | PgType::Interval
            | PgType::Enum(_)
            | PgType::Uuid
            | PgType::Bytea
            | PgType::Json
            | PgType::Jsonb
            | PgType::Array(_)
    )
}

fn convert_assignments(
    assignments: &mut [datafusion::sql::sqlparser::ast::Assignment],
    def: &TableDef,
    scope: &Scope<'_>,
    opts: TranslateOptions,
) -> Result<()> {
    use datafusion::sql::sqlparser::ast::AssignmentTarget;
    for assignment in assignments {
        let AssignmentTarget::ColumnName(name) = &assignment.target else {
            return Err(EngineError::unsupported("assigning to a tuple of columns"));
        };
        let column = match name.0.last() {
            Some(ObjectNamePart::Identifier(ident)) => normalize_ident(ident),
            _ => return Err(EngineError::syntax(format!("invalid assignment target {name}"))),
        };
        let index = def
            .column_index(&column)
            .ok_or_else(|| EngineError::UndefinedColumn { column: column.clone(), table: Some(def.name.clone()) })?;
        // `SET c = DEFAULT`: the column's default, or NULL (SQLite has no DEFAULT there: 42601).
        if is_default_keyword(&assignment.value) {
            let column = &def.columns[index];
            assignment.value = match &column.default_sql {
                Some(default) => parse_sqlite_expr(&ddl::default_expr_sql(column.ty, default, opts)?)?,
                // A serial key numbers itself only as a row goes in.
                None if column.is_serial => return Err(EngineError::unsupported("SET of a serial column to DEFAULT")),
                None if column.not_null || def.rowid_alias() == Some(index) => {
                    return Err(EngineError::NotNullViolation { table: def.name.clone(), column: column.name.clone() });
                }
                None => null(),
            };
            continue;
        }
        check_assigned_type(&def.columns[index], &mut assignment.value)?;
        assignment_cast(def.columns[index].ty, &mut assignment.value, scope);
        network::assigned(def.columns[index].ty, &mut assignment.value, scope);
        if !matches!(assignment.value, Expr::Value(ValueWithSpan { value: Value::Null, .. })) {
            let v = std::mem::replace(&mut assignment.value, null());
            assignment.value = assign_expr(def.columns[index].ty, v, opts);
        }
    }
    Ok(())
}

pub(crate) trait GroupByExt {
    fn group_by_is_empty(&self) -> bool;
}

/// The select-list expression an ORDER BY position (`ORDER BY 2`) names, when `item` is one.
pub(crate) fn positional_item<'p>(item: &Expr, projection: &'p [SelectItem]) -> Option<&'p Expr> {
    let Expr::Value(ValueWithSpan { value: Value::Number(n, _), .. }) = item else { return None };
    match projection.get(n.parse::<usize>().ok()?.checked_sub(1)?)? {
        SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. } => Some(e),
        _ => None,
    }
}

/// The function call a whole query is, `SELECT f(...) [AS name]` with nothing else (as clients
/// call the session functions rhei answers itself: advisory locks, pg_notify), and the output
/// column's alias if given.
pub(crate) fn lone_call(query: &Query) -> Option<(&Function, Option<String>)> {
    let SetExpr::Select(select) = query.body.as_ref() else { return None };
    if !select.from.is_empty() || select.selection.is_some() || query.with.is_some() || select.projection.len() != 1 {
        return None;
    }
    let (expr, alias) = match &select.projection[0] {
        SelectItem::UnnamedExpr(e) => (e, None),
        SelectItem::ExprWithAlias { expr, alias } => (expr, Some(normalize_ident(alias))),
        _ => return None,
    };
    let Expr::Function(f) = expr else { return None };
    Some((f, alias))
}

/// A function's name as PostgreSQL resolves a built-in one: bare or `pg_catalog.`-qualified,
/// folded as an identifier; `None` for a name in another schema.
pub(crate) fn builtin_function_name(f: &Function) -> Option<String> {
    builtin_name(&f.name)
}

/// A lone call's built-in name when it is passed no arguments (`SELECT txid_current()`).
pub(crate) fn lone_call_without_arguments(query: &Query) -> Option<(String, Option<String>)> {
    let (f, alias) = lone_call(query)?;
    let no_arguments = match &f.args {
        FunctionArguments::None => true,
        FunctionArguments::List(list) => list.args.is_empty(),
        FunctionArguments::Subquery(_) => false,
    };
    if !no_arguments {
        return None;
    }
    Some((builtin_function_name(f)?, alias))
}

/// Whether `expr` is a cast to an integer type (`x::bigint`).
pub(crate) fn is_integer_cast(expr: &Expr) -> bool {
    matches!(expr, Expr::Cast { data_type: SqlType::SmallInt(_) | SqlType::Int(_) | SqlType::Integer(_) | SqlType::BigInt(_) | SqlType::Int2(_) | SqlType::Int4(_) | SqlType::Int8(_), .. })
}

impl GroupByExt for datafusion::sql::sqlparser::ast::Select {
    fn group_by_is_empty(&self) -> bool {
        match &self.group_by {
            datafusion::sql::sqlparser::ast::GroupByExpr::All(_) => false,
            datafusion::sql::sqlparser::ast::GroupByExpr::Expressions(exprs, _) => exprs.is_empty(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::{ColumnDef, TableId};
    use datafusion::sql::sqlparser::{dialect::PostgreSqlDialect, parser::Parser};

    /// A WITH before a write becomes the plain write: inlined as derived tables in UPDATE and
    /// DELETE (not the target, even when a WITH query shares its name), moved onto an INSERT's
    /// source; what cannot be rewritten so is refused with 0A000.
    #[test]
    fn a_with_before_a_write_becomes_the_plain_write() {
        let normalized = |sql: &str| {
            let mut statement = Parser::parse_sql(&PostgreSqlDialect {}, sql).unwrap().remove(0);
            normalize_data_modifying_with(&mut statement).map(|()| statement.to_string())
        };
        for (sql, plain) in [
            (
                "WITH t AS (SELECT 1 AS id), u(k) AS (SELECT id FROM t) UPDATE t SET x = 1 WHERE id IN (SELECT k FROM u AS w)",
                "UPDATE t SET x = 1 WHERE id IN (SELECT k FROM (SELECT id FROM (SELECT 1 AS id) t) AS w (k))",
            ),
            (
                "WITH t AS (SELECT id FROM t WHERE id > 1) DELETE FROM t WHERE id IN (SELECT id FROM t)",
                "DELETE FROM t WHERE id IN (SELECT id FROM (SELECT id FROM t WHERE id > 1) t)",
            ),
            ("WITH a AS (SELECT 1) DELETE FROM t USING a WHERE t.id = 1", "DELETE FROM t USING (SELECT 1) a WHERE t.id = 1"),
            (
                "WITH a AS (SELECT 1 AS x) INSERT INTO t WITH b AS (SELECT x FROM a) SELECT x FROM b",
                "INSERT INTO t WITH a AS (SELECT 1 AS x), b AS (SELECT x FROM a) SELECT x FROM b",
            ),
        ] {
            assert_eq!(normalized(sql).unwrap(), plain, "{sql}");
        }
        // WITH queries that write are split apart where the statement runs (`writing_with`).
        for kept in ["WITH d AS (DELETE FROM t RETURNING id) UPDATE t SET x = 1", "WITH m AS (UPDATE t SET x = 1 RETURNING *) SELECT count(*) FROM m"] {
            assert_eq!(normalized(kept).unwrap(), kept);
        }
        for refused in ["WITH RECURSIVE a AS (SELECT 1) DELETE FROM t WHERE id IN (SELECT * FROM a)"] {
            assert_eq!(normalized(refused).unwrap_err().sqlstate(), "0A000", "{refused}");
        }
    }

    /// The text set-returning functions become unnests keeping PostgreSQL's column names
    /// (under casts and subscripts too); `regexp_matches` of a volatile argument, whose two
    /// halves would read different values, and in FROM are refused.
    #[test]
    fn text_set_functions_become_unnests_named_as_postgresql_names_them() {
        let rewritten = |sql: &str| {
            let mut statement = Parser::parse_sql(&PostgreSqlDialect {}, sql).unwrap().remove(0);
            arrays::set_functions_as_unnests(&mut statement).map(|()| statement.to_string())
        };
        for (sql, unnest) in [
            ("SELECT string_to_table(s, ',') FROM t", "SELECT unnest(string_to_array(s, ',')) AS string_to_table FROM t"),
            ("SELECT string_to_table(s, ',')::text FROM t", "SELECT unnest(string_to_array(s, ','))::TEXT AS string_to_table FROM t"),
            (
                "SELECT (regexp_matches(s, 'x', 'g'))[1] FROM t",
                "SELECT (rhei_regexp_matches_row(s, 'x', unnest(rhei_regexp_matches_rows(s, 'x', 'g')), 'g'))[1] AS regexp_matches FROM t",
            ),
            ("SELECT * FROM regexp_split_to_table('a b', ' ') WITH ORDINALITY", "SELECT * FROM UNNEST(regexp_split_to_array('a b', ' ')) WITH ORDINALITY AS regexp_split_to_table"),
        ] {
            assert_eq!(rewritten(sql).unwrap(), unnest, "{sql}");
        }
        for refused in ["SELECT regexp_matches(random()::text, '1')", "SELECT regexp_matches(nextval('s')::text, '1')::text", "SELECT * FROM regexp_matches('a', 'a')"] {
            assert_eq!(rewritten(refused).unwrap_err().sqlstate(), "0A000", "{refused}");
        }
    }

    fn catalog() -> Catalog {
        let col = |name: &str, ty| ColumnDef { name: name.into(), ty, not_null: false, is_serial: false, default_sql: None };
        Catalog::from_tables([TableDef {
            id: TableId(1),
            name: "t".into(),
            columns: vec![
                col("id", PgType::Int8),
                col("amount", PgType::Numeric { precision: Some(10), scale: Some(2) }),
                col("ts", PgType::Timestamptz),
                col("name", PgType::Text),
                col("ok", PgType::Bool),
            ],
            primary_key: vec![0],
            unique: vec![],
            replica: None,
            ..Default::default()
        }])
    }

    /// The rebinding of `IS [NOT] DISTINCT FROM` survives printing and reading back (MERGE's
    /// steps and derived tables are built from printed text).
    #[test]
    fn distinct_from_binding_reads_back_the_same() {
        for (sql, bound) in [
            ("SELECT 1 FROM t WHERE a IS DISTINCT FROM b AND c", "SELECT 1 FROM t WHERE (a IS DISTINCT FROM b) AND c"),
            ("SELECT 1 FROM t WHERE NOT a IS NOT DISTINCT FROM b OR c AND d", "SELECT 1 FROM t WHERE NOT (a IS NOT DISTINCT FROM b) OR c AND d"),
            ("SELECT 1 FROM t WHERE a IS DISTINCT FROM (b AND c)", "SELECT 1 FROM t WHERE a IS DISTINCT FROM (b AND c)"),
        ] {
            let mut stmt = Parser::parse_sql(&PostgreSqlDialect {}, sql).unwrap().remove(0);
            distinct_from_binding_as_postgresql(&mut stmt);
            assert_eq!(stmt.to_string(), bound, "{sql}");
            let read_back = Parser::parse_sql(&PostgreSqlDialect {}, &stmt.to_string()).unwrap().remove(0);
            assert_eq!(read_back, stmt, "{sql}");
        }
    }

    fn sqlite(sql: &str) -> String {
        let mut stmt = Parser::parse_sql(&PostgreSqlDialect {}, sql).unwrap().remove(0);
        to_sqlite(&mut stmt, &catalog(), TranslateOptions::default()).unwrap();
        stmt.to_string()
    }

    /// round() of a double rounds half to even (`rhei_rint`); of anything else half away
    /// (`oltp::numeric_ops`' round; a result item not computed exactly: DISTINCT).
    #[test]
    fn round_of_a_double_is_rint_on_sqlite() {
        assert_eq!(
            sqlite("SELECT DISTINCT round(2.5::float8), round(2.5::real), round(2.5), round(amount) FROM t"),
            "SELECT DISTINCT rhei_rint(rhei_float(2.5, 64)), rhei_rint(rhei_float(2.5, 32)), round(2.5), round(CAST(amount AS REAL)) FROM t"
        );
    }

    /// The SQLSTATE of the error translating `sql` for SQLite.
    fn refused(sql: &str) -> &'static str {
        let mut stmt = Parser::parse_sql(&PostgreSqlDialect {}, sql).unwrap().remove(0);
        to_sqlite(&mut stmt, &catalog(), TranslateOptions::default()).unwrap_err().sqlstate()
    }

    /// Intervals reach SQLite as functions of their text: compared by length, a constant
    /// beside a timestamp still added field by field, a string beside one read as one.
    #[test]
    fn intervals_are_text_functions_on_sqlite() {
        assert_eq!(
            sqlite("SELECT now() - ts FROM t WHERE now() - ts > interval '1 day' ORDER BY 1"),
            "SELECT rhei_interval_between(rhei_now(), ts) FROM t WHERE rhei_interval_length(rhei_interval_between(rhei_now(), ts)) > \
             rhei_interval_length('1 day') ORDER BY rhei_interval_length(rhei_interval_between(rhei_now(), ts)) NULLS LAST"
        );
        assert_eq!(sqlite("SELECT ts + interval '1 day' FROM t"), "SELECT rhei_tstz_add(ts, 0, 1, 0, 0) FROM t");
        assert_eq!(
            sqlite("SELECT id FROM t WHERE (now() - ts) * 2 < '2 hours'"),
            "SELECT id FROM t WHERE rhei_interval_length(rhei_interval_mul(rhei_interval_between(rhei_now(), ts), 2)) < rhei_interval_length('02:00:00')"
        );
        assert_eq!(refused("SELECT interval 'soon'"), "22007");
        // SQLite would compare their text.
        assert_eq!(refused("SELECT greatest(now() - ts, interval '1 day') FROM t"), "0A000");
        // Beside a value of no known date/time type the text would be added as a number.
        assert_eq!(refused("SELECT abs(id) + interval '1 day' FROM t"), "0A000");
        // A timestamp moved by an interval is still one (the second constant was added as 1 us).
        assert_eq!(
            sqlite("SELECT ts + interval '1 day' + interval '1 hour' FROM t"),
            "SELECT rhei_tstz_add(rhei_tstz_add(ts, 0, 1, 0, 0), 0, 0, 3600000000, 0) FROM t"
        );
        // An interval constant written otherwise is read as the statement runs (it was
        // rewritten into itself without end).
        assert!(sqlite("SELECT interval E'1 day'").starts_with("SELECT rhei_interval_in("));
    }

    /// SQLite has no array values: one left over once `= ANY` has taken its own is the JSON
    /// array of its elements' storage values (`catalog::PgType::Array`), not handed to SQLite,
    /// which failed on `::` (XX000), read `INT[]` as a type name or `a[1]` as an alias. Arrays
    /// of a type rhei does not store, and slices, are refused (0A000). A path written
    /// `ARRAY[...]` is the path's text.
    #[test]
    fn array_values_are_json_on_sqlite() {
        assert_eq!(sqlite("SELECT '{1,2}'::int[]"), "SELECT rhei_array_in('{1,2}', 'integer', 0)");
        assert_eq!(sqlite("SELECT ARRAY[1, 2]"), "SELECT json_array(1, 2)");
        assert_eq!(sqlite("SELECT (ARRAY[1, 2])[2]"), "SELECT rhei_array_get((json_array(1, 2)), 2)");
        for sql in ["SELECT '{1 day}'::interval[]", "SELECT (ARRAY[1, 2])[1:2]", "SELECT ('{\"a\": 1}'::jsonb)['a']"] {
            assert_eq!(refused(sql), "0A000", "{sql}");
        }
        assert!(sqlite("SELECT id FROM t WHERE id = ANY ('{1,2}'::int8[])").contains("json_each"));
        assert_eq!(
            sqlite("SELECT '{}'::jsonb #> ARRAY['a', 'b\"c']"),
            "SELECT rhei_json_path(rhei_jsonb('{}'), '{\"a\",\"b\\\"c\"}')"
        );
    }

    #[test]
    fn casts_and_typed_literals_use_conversion_functions() {
        // A value of a type the statement does not say is written as PostgreSQL would (a
        // double as float8's text, not SQLite's `2024.0`).
        assert_eq!(sqlite("SELECT '5'::int, x::text FROM t"), "SELECT rhei_int('5', 32), rhei_text(x, 'value', 0) FROM t");
        assert_eq!(sqlite("SELECT DATE '2024-01-02'"), "SELECT rhei_date('2024-01-02')");
    }

    #[test]
    fn ilike_now_and_placeholders() {
        assert_eq!(
            sqlite("SELECT id FROM t WHERE name ILIKE $1 AND ts < now()"),
            "SELECT id FROM t WHERE lower(name) LIKE lower(?1) ESCAPE '\\' AND ts < rhei_now()"
        );
    }

    #[test]
    fn literals_compared_with_typed_columns_are_converted() {
        assert_eq!(
            sqlite("SELECT id FROM t WHERE ts >= '2024-01-01' AND ok = 't'"),
            "SELECT id FROM t WHERE ts >= rhei_tstz('2024-01-01', 0) AND ok = rhei_bool('t')"
        );
    }

    /// A value cast to numeric is exact text on SQLite: compared or sorted as text, `19.99`
    /// came after `123456789012345.67` and any number before it; as doubles, values past 16
    /// digits were one (and NaN was 0).
    #[test]
    fn numeric_casts_compare_and_sort_as_numbers() {
        assert_eq!(
            sqlite("SELECT id FROM t WHERE '5'::numeric < id AND id::numeric IN (1, 2.5) AND amount::numeric = amount ORDER BY amount::numeric"),
            "SELECT id FROM t WHERE rhei_numeric_key(rhei_numeric('5', NULL, NULL)) < rhei_numeric_key(id) \
             AND rhei_numeric_key(rhei_numeric(id, NULL, NULL)) IN (rhei_numeric_key(1), rhei_numeric_key(2.5)) \
             AND rhei_numeric_key(rhei_numeric(amount, NULL, NULL)) = rhei_numeric_key(amount) ORDER BY rhei_numeric_key(rhei_numeric(amount, NULL, NULL)) NULLS LAST"
        );
        assert_eq!(
            sqlite("SELECT id FROM t WHERE amount::numeric IS DISTINCT FROM 1.5"),
            "SELECT id FROM t WHERE rhei_numeric_key(rhei_numeric(amount, NULL, NULL)) IS DISTINCT FROM rhei_numeric_key(1.5)"
        );
        assert_eq!(
            sqlite("SELECT amount::numeric AS n FROM t ORDER BY n"),
            "SELECT rhei_numeric(amount, NULL, NULL) AS \"n\" FROM t ORDER BY rhei_numeric_key(rhei_numeric(amount, NULL, NULL)) NULLS LAST"
        );
        // Extremes compare exactly, wherever they are (as text, 19.99 was the max).
        assert_eq!(sqlite("SELECT max(amount::numeric) FROM t"), "SELECT rhei_numeric_max(rhei_numeric(amount, NULL, NULL)) FROM t");
        assert_eq!(
            sqlite("SELECT CAST(max(amount::numeric) AS TEXT), min(id::numeric) OVER () FROM t"),
            "SELECT CAST(rhei_numeric_max(rhei_numeric(amount, NULL, NULL)) AS TEXT), min(rhei_numeric(id, NULL, NULL)) OVER () FROM t"
        );
    }

    #[test]
    fn grouping_sets_are_refused_on_sqlite_with_0a000() {
        for sql in ["SELECT name, count(*) FROM t GROUP BY ROLLUP(name)", "SELECT name, count(*) FROM t GROUP BY CUBE(name, ok)", "SELECT name, count(*) FROM t GROUP BY GROUPING SETS ((name), ())"] {
            assert_eq!(refused(sql), "0A000", "{sql}");
        }
    }

    #[test]
    fn numeric_columns_compute_as_numbers_but_project_exactly() {
        assert_eq!(
            sqlite("SELECT amount, sum(amount) FROM t WHERE amount > 10 ORDER BY amount"),
            "SELECT amount AS \"amount\", rhei_numeric_sum(amount) FROM t WHERE CAST(amount AS REAL) > 10 ORDER BY CAST(amount AS REAL) NULLS LAST"
        );
        // Only the outermost select list sums exactly: elsewhere the exact text would compare
        // as text.
        assert_eq!(
            sqlite("SELECT id FROM t WHERE amount > (SELECT avg(amount) FROM t)"),
            "SELECT id FROM t WHERE CAST(amount AS REAL) > (SELECT avg(CAST(amount AS REAL)) FROM t)"
        );
    }

    #[test]
    fn written_values_are_converted_to_storage_form() {
        assert_eq!(
            sqlite("INSERT INTO t (id, ts, ok) VALUES (1, '2024-01-01 00:00:00+02', true) ON CONFLICT (id) DO UPDATE SET ok = EXCLUDED.ok"),
            "INSERT INTO t (id, ts, ok) VALUES (rhei_not_null(rhei_int(1, 64), 't', 'id'), rhei_tstz('2024-01-01 00:00:00+02', 0), rhei_bool(true)) ON CONFLICT(id) DO UPDATE SET ok = rhei_bool(EXCLUDED.ok)"
        );
        assert_eq!(sqlite("UPDATE t SET name = NULL WHERE id = 1"), "UPDATE t SET name = NULL WHERE id = 1");
    }

    #[test]
    fn unknown_tables_are_42p01() {
        assert_eq!(refused("SELECT * FROM nope"), "42P01");
    }
}
