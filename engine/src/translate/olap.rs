//! The few rewrites DataFusion needs to answer as PostgreSQL does: casts to integers round
//! (`2.5::numeric::int` is 3, `2.5::float8::int` is 2) where DataFusion truncates; `round()`
//! rounds floats half to even and keeps a numeric's scale; explicit casts to `varchar(n)` and
//! `char(n)` cut the text; every divisor is checked for zero; integer literals that fit are
//! `integer`, as PostgreSQL types them (see [`type_integer_literals`]).

use std::ops::ControlFlow;

use datafusion::sql::sqlparser::ast::{
    BinaryOperator, CastKind, Ident, Select, SelectItem, TimezoneInfo, DataType as SqlType, Expr, FunctionArg, FunctionArgExpr, FunctionArguments, GroupByExpr, LimitClause, NamedWindowExpr,
    OrderByKind, Query, SetExpr, Statement, TableFactor, Value, ValueWithSpan, VisitMut, VisitorMut, WindowFrame, WindowFrameBound,
    WindowType, visit_expressions_mut,
};

use crate::zone::TimeZone;
use crate::catalog::{Catalog, PgType, normalize_ident};
use crate::translate::{GroupByExt, Scope, call, cast, is_comparison, is_interval_constant, null, string, take, temporal_type};

fn is_integer_type(ty: &SqlType) -> bool {
    matches!(
        ty,
        SqlType::Int2(_)
            | SqlType::SmallInt(_)
            | SqlType::Int(_)
            | SqlType::Int4(_)
            | SqlType::Integer(_)
            | SqlType::Int8(_)
            | SqlType::BigInt(_)
    )
}

/// Arrays as PostgreSQL has them, on DataFusion: an array literal (`'{1,NULL}'::int[]`, which
/// DataFusion cannot cast from text) is the array of its elements' text cast to the array
/// type; `array_remove` removes every match (DataFusion's the first); lengths and positions
/// are `integer` (DataFusion's are unsigned 64-bit).
pub(super) fn arrays_for_olap(expr: &mut Expr) {
    if let Expr::Cast { expr: inner, data_type: SqlType::Array(_), .. } = expr
        && let Expr::Value(ValueWithSpan { value: Value::SingleQuotedString(text), .. }) = inner.as_ref()
        && let Some(elements) = crate::value::parse_array_text(text)
    {
        let elem = elements.into_iter().map(|e| e.map_or_else(null, |text| string(&text))).collect();
        **inner = Expr::Array(datafusion::sql::sqlparser::ast::Array { elem, named: true });
        return;
    }
    let Expr::Function(f) = expr else { return };
    let Some(name) = f.name.0.last().and_then(|part| part.as_ident()).map(|ident| ident.value.to_ascii_lowercase()) else { return };
    match name.as_str() {
        "array_remove" => f.name = datafusion::sql::sqlparser::ast::ObjectName::from(vec![Ident::new("array_remove_all")]),
        // rhei's arrays start at 1, so a dimension's upper bound is its length; PostgreSQL has
        // no length or bounds for an empty array or a dimension it lacks (NULL), where
        // DataFusion's array_length (and it has no array_upper or array_lower) gives 0.
        "array_length" | "array_upper" | "array_lower"
            if let FunctionArguments::List(list) = &f.args
                && let [FunctionArg::Unnamed(FunctionArgExpr::Expr(array)), FunctionArg::Unnamed(FunctionArgExpr::Expr(dimension))] = list.args.as_slice() =>
        {
            let length = call("nullif", vec![call("array_length", vec![array.clone(), dimension.clone()]), Expr::value(Value::Number("0".into(), false))]);
            let bound = if name == "array_lower" { call("signum", vec![length]) } else { length };
            *expr = cast(bound, SqlType::Int(None));
        }
        "array_ndims" | "cardinality" | "array_position" => {
            let counted = std::mem::replace(expr, Expr::value(Value::Null));
            *expr = cast(counted, SqlType::Int(None));
        }
        _ => {}
    }
}

/// `FROM unnest(a) [AS u]`: PostgreSQL names the column after the alias, or `unnest`;
/// DataFusion after the call. The alias gets the column name PostgreSQL would give.
struct UnnestColumnNames;

impl VisitorMut for UnnestColumnNames {
    type Break = ();

    fn post_visit_table_factor(&mut self, factor: &mut TableFactor) -> ControlFlow<()> {
        if let TableFactor::UNNEST { alias, array_exprs, with_offset: false, with_ordinality: false, .. } = factor
            && array_exprs.len() == 1
        {
            let alias = alias.get_or_insert_with(|| datafusion::sql::sqlparser::ast::TableAlias { explicit: true, name: Ident::new("unnest"), columns: Vec::new() });
            if alias.columns.is_empty() {
                alias.columns.push(datafusion::sql::sqlparser::ast::TableAliasColumnDef { name: alias.name.clone(), data_type: None });
            }
        }
        ControlFlow::Continue(())
    }
}

/// `text` described as the declared type `ty` (a cast to varchar(n) or char(n)).
fn declared_text(text: Expr, ty: PgType) -> Expr {
    call("rhei_declared_text", vec![text, Expr::value(Value::SingleQuotedString(ty.pg_name()))])
}

/// DataFusion reads text as bytea by taking its bytes, where PostgreSQL reads bytea input
/// (`'\\x00ff'` is two bytes): casts to bytea and the argument of `sha256` and its kin go
/// through `rhei_bytea` (as literals compared with a bytea do, see
/// [`super::bytea_literals_as_input`]). Its `length` and `octet_length` count characters or refuse bytes:
/// `rhei_bytea_length` counts bytes; its `substr` takes text only.
fn bytea_for_olap(expr: &mut Expr, scope: &Scope<'_>) {
    match expr {
        Expr::Cast { data_type: SqlType::Bytea, expr: inner, .. } if !super::is_bytea(inner, scope) => {
            let mut text = std::mem::replace(inner.as_mut(), Expr::value(Value::Null));
            super::read_as_bytea(&mut text);
            *expr = text;
        }
        Expr::Substring { expr: bytes, substring_from: Some(from), substring_for, .. } if super::is_bytea(bytes, scope) => {
            let mut args = vec![std::mem::replace(bytes.as_mut(), Expr::value(Value::Null)), std::mem::replace(from.as_mut(), Expr::value(Value::Null))];
            args.extend(substring_for.as_mut().map(|count| std::mem::replace(count.as_mut(), Expr::value(Value::Null))));
            *expr = call("rhei_bytea_substring", args);
        }
        // sha224..sha512 take only a bytea: a string literal is bytea input there.
        Expr::Function(f) if matches!(f.name.to_string().to_ascii_lowercase().as_str(), "sha224" | "sha256" | "sha384" | "sha512") => {
            if let FunctionArguments::List(list) = &mut f.args
                && let [FunctionArg::Unnamed(FunctionArgExpr::Expr(arg))] = list.args.as_mut_slice()
                && super::is_string_literal(arg)
            {
                super::read_as_bytea(arg);
            }
        }
        Expr::Function(f)
            if matches!(f.name.to_string().to_ascii_lowercase().as_str(), "substr" | "substring")
                && let FunctionArguments::List(list) = &f.args
                && matches!(list.args.len(), 2 | 3)
                && let Some(FunctionArg::Unnamed(FunctionArgExpr::Expr(arg))) = list.args.first()
                && super::is_bytea(arg, scope) =>
        {
            f.name = datafusion::sql::sqlparser::ast::ObjectName::from(vec![Ident::new("rhei_bytea_substring")]);
        }
        Expr::Function(f)
            if matches!(f.name.to_string().to_ascii_lowercase().as_str(), "length" | "octet_length")
                && let FunctionArguments::List(list) = &f.args
                && let [FunctionArg::Unnamed(FunctionArgExpr::Expr(arg))] = list.args.as_slice()
                && super::is_bytea(arg, scope) =>
        {
            f.name = datafusion::sql::sqlparser::ast::ObjectName::from(vec![Ident::new("rhei_bytea_length")]);
        }
        _ => {}
    }
}

/// `OVER w` with `WINDOW w AS (...)` written out as `OVER (...)`: DataFusion 53 finds a named
/// window only for a window function that is a whole select item, so `sum(x) OVER w + 1` (or
/// the quotient an exact `avg(x) OVER w` becomes) was planned as an aggregate and failed with
/// 42803. A window built on another (`WINDOW w2 AS (w ORDER BY t)`) takes its partitioning,
/// and its ordering unless it has its own. Inner queries first, each with its own windows.
struct NamedWindowsInline;

impl datafusion::sql::sqlparser::ast::VisitorMut for NamedWindowsInline {
    type Break = ();

    fn post_visit_query(&mut self, query: &mut Query) -> ControlFlow<()> {
        use datafusion::sql::sqlparser::ast::{WindowSpec, WindowType};
        let SetExpr::Select(select) = query.body.as_mut() else { return ControlFlow::Continue(()) };
        if select.named_window.is_empty() {
            return ControlFlow::Continue(());
        }
        let mut defined: Vec<(String, WindowSpec)> = Vec::new();
        // `None` where PostgreSQL refuses the copy (42P20: overriding PARTITION BY or an ORDER
        // BY, copying a frame): left for the planner to refuse.
        let resolve = |spec: &WindowSpec, defined: &[(String, WindowSpec)]| -> Option<WindowSpec> {
            let Some(base) = spec.window_name.as_ref().and_then(|name| defined.iter().find(|(n, _)| *n == normalize_ident(name))) else {
                return spec.window_name.is_none().then(|| spec.clone());
            };
            if !spec.partition_by.is_empty() || (!spec.order_by.is_empty() && !base.1.order_by.is_empty()) || base.1.window_frame.is_some() {
                return None;
            }
            Some(WindowSpec {
                window_name: None,
                partition_by: base.1.partition_by.clone(),
                order_by: if spec.order_by.is_empty() { base.1.order_by.clone() } else { spec.order_by.clone() },
                window_frame: spec.window_frame.clone(),
            })
        };
        for datafusion::sql::sqlparser::ast::NamedWindowDefinition(name, definition) in &select.named_window {
            let spec = match definition {
                NamedWindowExpr::WindowSpec(spec) => resolve(spec, &defined),
                NamedWindowExpr::NamedWindow(other) => defined.iter().find(|(n, _)| *n == normalize_ident(other)).map(|(_, spec)| spec.clone()),
            };
            let Some(spec) = spec.filter(|_| !defined.iter().any(|(n, _)| *n == normalize_ident(name))) else {
                return ControlFlow::Continue(());
            };
            defined.push((normalize_ident(name), spec));
        }
        let mut inline = |expr: &mut Expr| {
            if let Expr::Function(f) = expr {
                let spec = match &f.over {
                    Some(WindowType::NamedWindow(name)) => defined.iter().find(|(n, _)| *n == normalize_ident(name)).map(|(_, spec)| spec.clone()),
                    // `OVER (w ...)` copies `w`; PostgreSQL refuses a copy of a frame, which
                    // `OVER w` takes as it is.
                    Some(WindowType::WindowSpec(spec)) if spec.window_name.is_some() => resolve(spec, &defined),
                    _ => None,
                };
                if let Some(spec) = spec {
                    f.over = Some(WindowType::WindowSpec(spec));
                }
            }
            ControlFlow::<()>::Continue(())
        };
        for item in &mut select.projection {
            let _ = visit_expressions_mut(item, &mut inline);
        }
        if let Some(having) = select.having.as_mut() {
            let _ = visit_expressions_mut(having, &mut inline);
        }
        if let Some(qualify) = select.qualify.as_mut() {
            let _ = visit_expressions_mut(qualify, &mut inline);
        }
        if let Some(order_by) = query.order_by.as_mut() {
            let _ = visit_expressions_mut(order_by, &mut inline);
        }
        select.named_window.clear();
        ControlFlow::Continue(())
    }
}

/// Math functions DataFusion answers less precisely than PostgreSQL: `atan2` of integers is a
/// float4 there (`atan2(1, 2)` was `0.4636476`), and the one-argument `log` divides natural
/// logarithms (`log(2)` ended in `...98114`, PostgreSQL's `log10` in `...9812`).
fn doubles_for_math(f: &mut datafusion::sql::sqlparser::ast::Function) {
    let name = f.name.to_string().to_ascii_lowercase();
    let FunctionArguments::List(list) = &mut f.args else { return };
    match (name.as_str(), list.args.len()) {
        ("atan2", 2) => {
            for arg in &mut list.args {
                if let FunctionArg::Unnamed(FunctionArgExpr::Expr(value)) = arg {
                    let number = std::mem::replace(value, Expr::value(Value::Null));
                    *value = cast(number, SqlType::DoublePrecision);
                }
            }
        }
        ("log", 1) => f.name = datafusion::sql::sqlparser::ast::ObjectName::from(vec![Ident::new("log10")]),
        _ => {}
    }
}

/// Whether PostgreSQL types `expr` bigint, as far as the statement tells: a bigint column or
/// cast, `count()`, or `sum()` of a smaller integer (`sum(sum(points)) OVER ...`).
fn is_bigint(expr: &Expr, scope: &Scope<'_>) -> bool {
    let is_small_integer = |e: &Expr| scope.column_type(e).is_some_and(|t| matches!(t, PgType::Int2 | PgType::Int4));
    match expr {
        Expr::Nested(inner) => is_bigint(inner, scope),
        Expr::Cast { data_type, .. } => matches!(data_type, SqlType::Int8(_) | SqlType::BigInt(_)),
        Expr::Function(f) => {
            let name = f.name.to_string().to_ascii_lowercase();
            name == "count" || (name == "sum" && super::first_arg(f).is_some_and(is_small_integer))
        }
        other => scope.column_type(other) == Some(PgType::Int8),
    }
}

/// Rewrites a statement for the OLAP engine, in place, for a session in time zone `zone`.
/// Never fails: what it does not recognise it leaves alone.
pub fn to_olap(stmt: &mut Statement, catalog: &Catalog, zone: TimeZone) {
    super::json_sets::for_olap(stmt, catalog);
    super::row_json::expand(stmt, catalog);
    // Before the column names below, which give the unnest an alias column list.
    super::arrays::from_items_for_olap(stmt, catalog);
    super::arrays::correlated_unnest_stand_ins_for_olap(stmt, catalog);
    let _ = datafusion::sql::sqlparser::ast::VisitMut::visit(stmt, &mut NamedWindowsInline);
    let _ = datafusion::sql::sqlparser::ast::VisitMut::visit(stmt, &mut UnnestColumnNames);
    let _ = datafusion::sql::sqlparser::ast::VisitMut::visit(stmt, &mut QueryRewrites { catalog, row_values: RowValuesInSubqueries { next: 0 } });
    let Ok(scope) = Scope::of(stmt, catalog) else { return };
    let intervals = OlapIntervals { scope: &scope, derived: super::intervals::derived_interval_columns(stmt, &scope) };
    super::arrays::order_for_olap(stmt, &scope);
    super::common_type::set_operation_columns_converted(stmt, &scope, catalog);
    let _ = super::type_of::as_constants(stmt, &scope, true);
    super::enums::as_postgresql_means(stmt, &scope, catalog, true);
    super::network::as_postgresql_means(stmt, &scope, true);
    let _ = super::array_to_json_as_postgresql(stmt, &scope, true);
    // Before the walk below, which would wrap the divisors this takes and cast avg's argument.
    super::numeric_arithmetic::in_olap_results(stmt, &scope);
    let order_distinct_aggregates = super::ordered_aggregates(stmt) <= 1;
    // Before the walk below, which translates the casts values_as_text makes and hides the
    // type of to_hex's argument (a divisor wrapped).
    let _ = visit_expressions_mut(stmt, |expr| {
        // Before the walk below, which reads the fields' literals in the session's zone.
        super::row_comparison_as_fields(expr);
        super::values_as_text(expr, &scope, (&Expr::value(Value::Boolean(true)), &Expr::value(Value::Boolean(false))));
        super::to_hex_with_width(expr, &scope);
        super::as_postgresql_means(expr, &scope, order_distinct_aggregates);
        if let Some(call) = super::like_any_call(expr, None) {
            *expr = call;
        }
        // DataFusion 53's grouped aggregates take a row whose FILTER predicate is NULL as if it
        // held (apache/datafusion#22067: `count(*) FILTER (WHERE NOT b)` counted rows with b
        // NULL); a CASE choosing true or false is never NULL. (IS TRUE and COALESCE with false
        // are not NULL either, but failed DataFusion's common-subexpression pass where shared:
        // XX000 on the field's nullability or metadata.)
        if let Expr::Function(f) = expr
            && let Some(predicate) = &mut f.filter
            && !matches!(predicate.as_ref(), Expr::Case { .. })
        {
            let condition = std::mem::replace(predicate.as_mut(), Expr::value(Value::Null));
            **predicate = Expr::Case {
                case_token: datafusion::sql::sqlparser::ast::helpers::attached_token::AttachedToken::empty(),
                end_token: datafusion::sql::sqlparser::ast::helpers::attached_token::AttachedToken::empty(),
                operand: None,
                conditions: vec![datafusion::sql::sqlparser::ast::CaseWhen { condition, result: Expr::value(Value::Boolean(true)) }],
                else_result: Some(Box::new(Expr::value(Value::Boolean(false)))),
            };
        }
        ControlFlow::<()>::Continue(())
    });
    let _ = visit_expressions_mut(stmt, |expr| {
        interval_constant_for_olap(expr);
        datetime_input_for_olap(expr, zone);
        super::make_timestamptz_zoned(expr, || Expr::value(Value::SingleQuotedString(zone.arrow_name())));
        super::math_domain_checked(expr);
        percentile_disc_for_olap(expr);
        array_agg_descending_reversed(expr);
        mode_for_olap(expr, &scope);
        super::timestamp_precision_as_rounding(expr);
        super::time_precision_as_rounding(expr);
        time_arithmetic_wrapped(expr, &scope);
        time_in_microseconds(expr, &scope);
        window_ordered_by_time_as_number(expr, &scope);
        super::arrays::operators_for_olap(expr, &scope);
        super::arrays::membership_for_olap(expr, &scope);
        super::jsonb_operators_as_calls(expr, &scope);
        super::bytea_concat_as_call(expr, &scope);
        super::bytea_literals_as_input(expr, &scope);
        super::padded_char_octet_length(expr, &scope);
        bytea_for_olap(expr, &scope);
        super::json_operators_as_calls(expr);
        json_builders_for_olap(expr);
        // json and jsonb are text on DataFusion; a cast checks (jsonb: normalizes) it.
        if let Expr::Cast { data_type: data_type @ (SqlType::JSON | SqlType::JSONB), expr: inner, .. } = expr {
            let name = if matches!(data_type, SqlType::JSONB) { "rhei_jsonb" } else { "rhei_json" };
            *expr = call(name, vec![std::mem::replace(inner.as_mut(), Expr::value(Value::Null))]);
        }
        // `~ x` (bitwise not of an integer; an inet's is `rhei_inet_not` by now) is `x # -1`:
        // DataFusion has no `~` (and a statement with one planned no result types for SQLite).
        if let Expr::UnaryOp { op: datafusion::sql::sqlparser::ast::UnaryOperator::BitwiseNot, expr: operand } = expr {
            let value = Expr::Nested(Box::new(take(operand)));
            let minus_one = Expr::value(Value::Number("-1".into(), false));
            *expr = Expr::Nested(Box::new(Expr::BinaryOp { left: Box::new(value), op: BinaryOperator::PGBitwiseXor, right: Box::new(minus_one) }));
        }
        // date_bin of a date beside literals (no timestamp of either kind) bins the instant of
        // its midnight in the session zone, a timestamptz, as PostgreSQL resolves it
        // (`translate::date_bin_type`); DataFusion binned a timestamp.
        if let Expr::Function(f) = expr
            && super::builtin_function_name(f).as_deref() == Some("date_bin")
            && let FunctionArguments::List(list) = &mut f.args
        {
            let args: Vec<(&mut Expr, Option<PgType>)> = list.args.iter_mut().skip(1).filter_map(|arg| match arg {
                FunctionArg::Unnamed(FunctionArgExpr::Expr(e)) => {
                    let ty = temporal_type(e, &scope);
                    Some((e, ty))
                }
                _ => None,
            }).collect();
            if !args.iter().any(|(_, ty)| matches!(ty, Some(PgType::Timestamp | PgType::Timestamptz))) {
                for (arg, ty) in args {
                    if ty == Some(PgType::Date) || super::is_string_literal(arg) {
                        let local = cast(take(arg), SqlType::Timestamp(None, TimezoneInfo::None));
                        *arg = call("rhei_instant", vec![local, Expr::value(Value::SingleQuotedString(zone.arrow_name()))]);
                    }
                }
            }
        }
        // date + interval is a timestamp in PostgreSQL; DataFusion keeps a date.
        if let Expr::BinaryOp { left, op: BinaryOperator::Plus | BinaryOperator::Minus, right } = expr {
            let (value, interval) = if intervals.is_interval(right) { (left, &**right) } else { (right, &**left) };
            if intervals.is_interval(interval) && temporal_type(value, &scope) == Some(PgType::Date) {
                let date = std::mem::replace(value.as_mut(), Expr::value(Value::Null));
                **value = Expr::Cast { kind: CastKind::Cast, expr: Box::new(date), data_type: SqlType::Timestamp(None, TimezoneInfo::None), array: false, format: None };
            }
        }
        // A timestamptz AT TIME ZONE is its wall-clock time there, a timestamp; DataFusion
        // kept the instant, only labelled with the zone. A timestamp's instant is labelled
        // UTC again, as rhei's timestamptz values are.
        if let Expr::AtTimeZone { timestamp, .. } = expr {
            match temporal_type(timestamp, &scope) {
                Some(source @ (PgType::Timestamptz | PgType::Date)) => {
                    // A date is the timestamptz of its midnight first, as PostgreSQL resolves it.
                    if source == PgType::Date {
                        let date = std::mem::replace(timestamp.as_mut(), Expr::value(Value::Null));
                        **timestamp = Expr::Cast { kind: CastKind::Cast, expr: Box::new(date), data_type: SqlType::Timestamp(None, TimezoneInfo::WithTimeZone), array: false, format: None };
                    }
                    let at = std::mem::replace(expr, Expr::value(Value::Null));
                    *expr = call("to_local_time", vec![at]);
                }
                Some(PgType::Timestamp) => {
                    let at = std::mem::replace(expr, Expr::value(Value::Null));
                    *expr = Expr::Cast {
                        kind: CastKind::Cast,
                        expr: Box::new(at),
                        data_type: SqlType::Timestamp(None, TimezoneInfo::WithTimeZone),
                        array: false,
                        format: None,
                    };
                }
                _ => {}
            }
        }
        canonical_timestamp_literals(expr, &scope, zone);
        canonical_date_literals(expr, &scope);
        typed_quoted_results(expr, &scope);
        super::string_literals_as_booleans(expr);
        if let Expr::Function(f) = expr {
            super::unqualify_builtin(f);
            doubles_for_math(f);
        }
        // After unqualifying: it may wrap the call in a cast.
        arrays_for_olap(expr);
        // `'s'::regclass` names a sequence for nextval and friends (planned here for their types
        // only, see `olap::udf::WriterOnly`), which take its text.
        if let Expr::Cast { data_type: SqlType::Regclass, expr: inner, .. } = expr
            && matches!(inner.as_ref(), Expr::Value(v) if matches!(v.value, Value::SingleQuotedString(_)))
        {
            *expr = std::mem::replace(inner.as_mut(), Expr::value(Value::Null));
        }
        // avg() of an integer column is numeric in PostgreSQL, float in DataFusion.
        if let Expr::Function(f) = expr
            && f.name.to_string().eq_ignore_ascii_case("avg")
            && let FunctionArguments::List(list) = &mut f.args
            && let [FunctionArg::Unnamed(FunctionArgExpr::Expr(arg))] = list.args.as_mut_slice()
            && (scope.column_type(arg).is_some_and(|t| matches!(t, PgType::Int2 | PgType::Int4 | PgType::Int8)) || super::is_integer_cast(arg))
        {
            let column = std::mem::replace(arg, Expr::value(Value::Null));
            *arg = Expr::Cast { kind: CastKind::Cast, expr: Box::new(column), data_type: SqlType::Numeric(datafusion::sql::sqlparser::ast::ExactNumberInfo::None), array: false, format: None };
        }
        // ceil() and floor() of a numeric have no fraction digits in PostgreSQL (`20`, not the
        // argument's scale, `20.00`).
        // (sqlparser reads `ceil(x)` and `floor(x)` as expressions of their own, `ceiling(x)` as
        // a call.)
        let rounded_arg = match expr {
            Expr::Ceil { expr: arg, .. } | Expr::Floor { expr: arg, .. } => Some(&**arg),
            Expr::Function(f) if f.name.to_string().eq_ignore_ascii_case("ceiling") => match &f.args {
                FunctionArguments::List(list) => match list.args.as_slice() {
                    [FunctionArg::Unnamed(FunctionArgExpr::Expr(arg))] => Some(arg),
                    _ => None,
                },
                _ => None,
            },
            _ => None,
        };
        if let Some(PgType::Numeric { precision, .. }) = rounded_arg.and_then(|arg| scope.column_type(arg)) {
            let widest = if precision.is_none_or(|p| p <= 38) { 38 } else { 76 };
            if let Expr::Function(f) = expr {
                f.name = datafusion::sql::sqlparser::ast::ObjectName::from(vec![Ident::new("ceil")]);
            }
            let rounded = std::mem::replace(expr, Expr::value(Value::Null));
            *expr = cast(rounded, SqlType::Numeric(datafusion::sql::sqlparser::ast::ExactNumberInfo::PrecisionAndScale(widest, 0)));
        }
        // sum() of a bigint is numeric in PostgreSQL (it cannot overflow), a bigint in DataFusion.
        if let Expr::Function(f) = expr
            && f.name.to_string().eq_ignore_ascii_case("sum")
            && let FunctionArguments::List(list) = &mut f.args
            && let [FunctionArg::Unnamed(FunctionArgExpr::Expr(arg))] = list.args.as_mut_slice()
            && is_bigint(arg, &scope)
        {
            let value = std::mem::replace(arg, Expr::value(Value::Null));
            let integral = SqlType::Numeric(datafusion::sql::sqlparser::ast::ExactNumberInfo::PrecisionAndScale(38, 0));
            *arg = Expr::Cast { kind: CastKind::Cast, expr: Box::new(value), data_type: integral, array: false, format: None };
        }
        if let Expr::BinaryOp { op: datafusion::sql::sqlparser::ast::BinaryOperator::Divide, right, .. } = expr {
            let divisor = std::mem::replace(right.as_mut(), Expr::value(datafusion::sql::sqlparser::ast::Value::Null));
            **right = call("rhei_divisor", vec![divisor]);
        }
        // substring(x FROM 'pattern') is a regular-expression match in PostgreSQL: the first
        // group, or the whole match, as the first element of DataFusion's regexp_match. With
        // FOR 'escape' the pattern is a SQL regular expression (see `similar`).
        if let Expr::Substring { substring_from: Some(from), substring_for: Some(escape), .. } = expr
            && matches!(from.as_ref(), Expr::Value(ValueWithSpan { value: Value::SingleQuotedString(_), .. }))
            && let Expr::Value(ValueWithSpan { value: escape @ Value::SingleQuotedString(_), .. }) = escape.as_ref()
            && let Ok(regex) = crate::translate::similar_to_pattern(take(from), Some(escape))
        {
            **from = regex;
            if let Expr::Substring { substring_for, .. } = expr {
                *substring_for = None;
            }
        }
        if let Expr::Substring { expr: text, substring_from: Some(from), substring_for: None, .. } = expr
            && matches!(from.as_ref(), Expr::Value(ValueWithSpan { value: Value::SingleQuotedString(_), .. }))
            && let Ok(first) = datafusion::sql::sqlparser::parser::Parser::new(&datafusion::sql::sqlparser::dialect::PostgreSqlDialect {})
                .try_with_sql(&format!("(regexp_match({text}, {from}))[1]"))
                .and_then(|mut p| p.parse_expr())
        {
            *expr = first;
        }
        // age(a, b), and age(t) from today's midnight (see `olap::udf::IntervalFunction`).
        if let Expr::Function(f) = expr
            && f.name.to_string().eq_ignore_ascii_case("age")
            && let FunctionArguments::List(list) = &mut f.args
            && matches!(list.args.len(), 1 | 2)
        {
            if list.args.len() == 1 {
                let midnight = Expr::Cast {
                    kind: CastKind::Cast,
                    expr: Box::new(call("current_date", vec![])),
                    data_type: SqlType::Timestamp(None, TimezoneInfo::None),
                    array: false,
                    format: None,
                };
                list.args.insert(0, FunctionArg::Unnamed(FunctionArgExpr::Expr(midnight)));
            }
            f.name = datafusion::sql::sqlparser::ast::ObjectName::from(vec![datafusion::sql::sqlparser::ast::Ident::new("rhei_age")]);
        }
        // PostgreSQL functions DataFusion has under another name: gen_random_uuid() is uuid()
        // (version 4, canonical text), sign() signum(), variance() var_samp(), ceiling() ceil(),
        // statement_timestamp() and transaction_timestamp() now() (one instant per statement
        // there, and the OLAP engine runs no explicit transaction).
        if let Expr::Function(f) = expr
            && let Some(renamed) = match f.name.to_string().to_ascii_lowercase().as_str() {
                "gen_random_uuid" => Some("uuid"),
                "sign" => Some("signum"),
                "variance" => Some("var_samp"),
                "ceiling" => Some("ceil"),
                "every" => Some("bool_and"),
                "statement_timestamp" | "transaction_timestamp" => Some("now"),
                _ => None,
            }
        {
            f.name = datafusion::sql::sqlparser::ast::ObjectName::from(vec![datafusion::sql::sqlparser::ast::Ident::new(renamed)]);
        }
        if let Expr::Function(f) = expr
            && f.name.to_string().eq_ignore_ascii_case("round")
        {
            f.name = datafusion::sql::sqlparser::ast::ObjectName::from(vec![datafusion::sql::sqlparser::ast::Ident::new("rhei_round")]);
        }
        // The OLAP copy keeps a uuid as its canonical text (lower case), and DataFusion has no
        // uuid type: a cast to uuid is that text (a statement with one did not plan at all,
        // and every column of its result was described as text).
        if let Expr::Cast { expr: inner, data_type: SqlType::Uuid, .. } = expr {
            let value = std::mem::replace(inner.as_mut(), Expr::value(datafusion::sql::sqlparser::ast::Value::Null));
            let text = Expr::Cast { kind: CastKind::Cast, expr: Box::new(value), data_type: SqlType::Text, array: false, format: None };
            *expr = call("lower", vec![text]);
        }
        // Casts to integer types round as PostgreSQL does (see `olap::udf::RoundForCast`).
        if let Expr::Cast { expr: inner, data_type, .. } = expr
            && is_integer_type(data_type)
            && !scope.column_type(inner).is_some_and(|t| matches!(t, PgType::Int2 | PgType::Int4 | PgType::Int8))
        {
            let value = std::mem::replace(inner.as_mut(), Expr::value(datafusion::sql::sqlparser::ast::Value::Null));
            **inner = call("rhei_round_for_cast", vec![value]);
        }
        // An explicit cast to varchar(n) or char(n) cuts the text to length; char(n) values
        // carry no trailing blanks (as stored, see `catalog::types::pad_bpchar`).
        if let Expr::Cast { expr: inner, data_type, .. } = expr
            && let Ok(declared) = PgType::from_sql(data_type)
            && let PgType::Varchar(Some(n)) | PgType::Bpchar(Some(n)) = declared.ty
        {
            let value = std::mem::replace(inner.as_mut(), Expr::value(datafusion::sql::sqlparser::ast::Value::Null));
            let one = Expr::value(datafusion::sql::sqlparser::ast::Value::Number("1".into(), false));
            let len = Expr::value(datafusion::sql::sqlparser::ast::Value::Number(n.to_string(), false));
            // A time or timestamp is cut from PostgreSQL's text of it (see `olap::udf::TimestampText`).
            let text = if has_timestamp_text(&value, &scope) {
                call("rhei_timestamp_text", vec![value, Expr::value(Value::SingleQuotedString(zone.arrow_name()))])
            } else {
                Expr::Cast { kind: datafusion::sql::sqlparser::ast::CastKind::Cast, expr: Box::new(value), data_type: SqlType::Text, array: false, format: None }
            };
            let cut = call("substr", vec![text, one, len]);
            let cut = if matches!(declared.ty, PgType::Bpchar(_)) { call("rtrim", vec![cut]) } else { cut };
            *expr = declared_text(cut, declared.ty);
        }
        // An interval's fields as PostgreSQL reads them (see `olap::udf::IntervalPart`).
        if let Expr::Extract { field, expr: inner, .. } = expr
            && intervals.is_interval(inner)
        {
            let name = crate::translate::field_name(field);
            let scale = crate::translate::extract_scale(&name, false).unwrap_or(0);
            let part = call("rhei_interval_part", vec![string(&name), take(inner)]);
            *expr = cast(part, SqlType::Decimal(datafusion::sql::sqlparser::ast::ExactNumberInfo::PrecisionAndScale(38, scale)));
        }
        // extract() is numeric in PostgreSQL (14 and later), with as many decimals as the
        // field has (`translate::extract_scale`). DataFusion's date_part is a float; the SQLite
        // engine's results take this planned type too.
        if let Expr::Extract { field, expr: inner, .. } = expr {
            let name = crate::translate::field_name(field);
            let scale = crate::translate::extract_scale(&name, temporal_type(inner, &scope) == Some(PgType::Date));
            // DataFusion's date_part has no decades, centuries or millennia (XX000): they are
            // counted from the year (an integer there), as PostgreSQL counts them for years AD
            // (the first century is 1-100); an interval's are its years divided.
            let calendar = temporal_type(inner, &scope).is_some();
            let of_year = match name.as_str() {
                "decade" => Some((0, 10)),
                "century" => Some((if calendar { 99 } else { 0 }, 100)),
                "millennium" => Some((if calendar { 999 } else { 0 }, 1000)),
                _ => None,
            };
            if let Some((offset, length)) = of_year
                && let Expr::Extract { field, .. } = expr
            {
                *field = datafusion::sql::sqlparser::ast::DateTimeField::Year;
                let year = std::mem::replace(expr, Expr::value(Value::Null));
                let shifted = Expr::BinaryOp { left: Box::new(year), op: BinaryOperator::Plus, right: Box::new(Expr::value(Value::Number(offset.to_string(), false))) };
                let counted = Expr::BinaryOp { left: Box::new(Expr::Nested(Box::new(shifted))), op: BinaryOperator::Divide, right: Box::new(Expr::value(Value::Number(length.to_string(), false))) };
                *expr = call("floor", vec![counted]);
            }
            if let Some(scale) = scale {
                // PostgreSQL's seconds and milliseconds keep their fraction; the microseconds
                // field counts them. Divided as a decimal of the result's scale: DataFusion's
                // decimal division keeps four more places than its dividend (`/ 1000000.0`
                // gave 59.9999 for 59.999999).
                let divisor = match name.as_str() {
                    "second" | "seconds" => Some("1000000"),
                    "millisecond" | "milliseconds" => Some("1000"),
                    _ => None,
                };
                if let Some(divisor) = divisor
                    && let Expr::Extract { field, .. } = expr
                {
                    *field = datafusion::sql::sqlparser::ast::DateTimeField::Microseconds;
                    let micros = std::mem::replace(expr, Expr::value(Value::Null));
                    let exact = cast(micros, SqlType::Decimal(datafusion::sql::sqlparser::ast::ExactNumberInfo::PrecisionAndScale(38, scale)));
                    *expr = Expr::BinaryOp { left: Box::new(exact), op: BinaryOperator::Divide, right: Box::new(Expr::value(Value::Number(divisor.into(), false))) };
                }
                let mut extracted = std::mem::replace(expr, Expr::value(Value::Null));
                // ISO day of week counts Monday as 1 in PostgreSQL, 0 in DataFusion.
                if name == "isodow" {
                    extracted = Expr::BinaryOp { left: Box::new(extracted), op: BinaryOperator::Plus, right: Box::new(Expr::value(Value::Number("1".into(), false))) };
                }
                *expr = Expr::Cast {
                    kind: CastKind::Cast,
                    expr: Box::new(Expr::Nested(Box::new(extracted))),
                    data_type: SqlType::Decimal(datafusion::sql::sqlparser::ast::ExactNumberInfo::PrecisionAndScale(38, scale)),
                    array: false,
                    format: None,
                };
            }
        }
        // SIMILAR TO is a POSIX match of the pattern PostgreSQL makes of it (DataFusion would
        // read the SQL pattern as a POSIX one); an escape that is not one character fails as
        // the statement runs, from similar_to_escape.
        if let Expr::SimilarTo { negated, expr: text, pattern, escape_char } = expr {
            let pattern = take(pattern);
            let regex = crate::translate::similar_to_pattern(pattern.clone(), escape_char.as_ref()).unwrap_or_else(|_| {
                let escape = escape_char.as_ref().map(|e| match e {
                    Value::SingleQuotedString(s) => s.clone(),
                    other => other.to_string(),
                });
                crate::translate::similar_to_escape_call(pattern, escape.as_deref())
            });
            let op = if *negated { BinaryOperator::PGRegexNotMatch } else { BinaryOperator::PGRegexMatch };
            *expr = Expr::BinaryOp { left: Box::new(take(text)), op, right: Box::new(regex) };
        }
        // Beside a timestamptz, a timestamp names an instant in the session's zone (DataFusion
        // would read it as UTC).
        if let Expr::BinaryOp { left, op, right } = expr
            && (*op == BinaryOperator::Minus || is_comparison(op))
            && zone != TimeZone::UTC
        {
            if let Some(local) = crate::translate::wall_clock_beside_instant(left, right, &scope) {
                let value = take(local);
                **local = call("rhei_instant", vec![value, Expr::value(Value::SingleQuotedString(zone.arrow_name()))]);
            }
        }
        // A date in a subtraction with a timestamp is its midnight (in the session's zone beside
        // a timestamptz), as PostgreSQL casts it; DataFusion made a duration of them
        // (`PT172799.5S`), which SQLite's answer, typed by this plan, then failed to match.
        if let Expr::BinaryOp { left, op: BinaryOperator::Minus, right } = expr {
            let (left_type, right_type) = (temporal_type(left, &scope), temporal_type(right, &scope));
            let other = match (left_type, right_type) {
                (Some(PgType::Date), Some(other @ (PgType::Timestamp | PgType::Timestamptz)))
                | (Some(other @ (PgType::Timestamp | PgType::Timestamptz)), Some(PgType::Date)) => Some(other),
                _ => None,
            };
            if let Some(other) = other {
                let date = if left_type == Some(PgType::Date) { &mut *left } else { &mut *right };
                let midnight = cast(take(date), SqlType::Timestamp(None, TimezoneInfo::None));
                **date = match other {
                    PgType::Timestamptz if zone == TimeZone::UTC => cast(midnight, SqlType::Timestamp(None, TimezoneInfo::WithTimeZone)),
                    PgType::Timestamptz => call("rhei_instant", vec![midnight, Expr::value(Value::SingleQuotedString(zone.arrow_name()))]),
                    _ => midnight,
                };
                let (a, b) = (take(left), take(right));
                *expr = call("rhei_ts_diff", vec![a, b]);
            }
        }
        // timestamp - timestamp is an interval of days and time in PostgreSQL, a duration in
        // DataFusion (see `olap::udf::IntervalFunction`).
        if let Expr::BinaryOp { left, op: BinaryOperator::Minus, right } = expr
            && matches!(temporal_type(left, &scope), Some(PgType::Timestamp | PgType::Timestamptz))
            && matches!(temporal_type(right, &scope), Some(PgType::Timestamp | PgType::Timestamptz))
        {
            let (a, b) = (take(left), take(right));
            *expr = call("rhei_ts_diff", vec![a, b]);
        }
        // An interval times or divided by a number (see `olap::udf::IntervalProduct`); the
        // divisor was wrapped in rhei_divisor above, which refuses zero.
        if let Expr::BinaryOp { left, op: op @ (BinaryOperator::Multiply | BinaryOperator::Divide), right } = expr
            && intervals.is_interval(left) != intervals.is_interval(right)
        {
            let divide = matches!(op, BinaryOperator::Divide);
            let (a, b) = (take(left), take(right));
            let (interval, number) = if intervals.is_interval(&a) { (a, b) } else { (b, a) };
            let number = Expr::Cast { kind: CastKind::Cast, expr: Box::new(number), data_type: SqlType::DoublePrecision, array: false, format: None };
            *expr = call(if divide { "rhei_interval_div" } else { "rhei_interval_mul" }, vec![interval, number]);
        }
        // Intervals are equal by length (`nullif('24:00:00', '1 day')` is NULL), also where
        // NULLs are equal.
        if let Expr::Function(f) = expr
            && f.name.to_string().eq_ignore_ascii_case("nullif")
            && let FunctionArguments::List(list) = &f.args
            && let [FunctionArg::Unnamed(FunctionArgExpr::Expr(value)), FunctionArg::Unnamed(FunctionArgExpr::Expr(other))] = list.args.as_slice()
            && intervals.is_interval(value)
        {
            let equal = Expr::BinaryOp { left: Box::new(interval_key(value.clone())), op: BinaryOperator::Eq, right: Box::new(interval_key(other.clone())) };
            *expr = super::null_when(equal, value.clone());
        }
        if let Expr::IsDistinctFrom(left, right) | Expr::IsNotDistinctFrom(left, right) = expr
            && (intervals.is_interval(left) || intervals.is_interval(right))
        {
            let (a, b) = (take(left), take(right));
            **left = interval_key(a);
            **right = interval_key(b);
        }
        // min, max, sum and avg of intervals as PostgreSQL computes them (see
        // `olap::interval_aggregates`).
        if let Expr::Function(f) = expr
            && let Some(kind) = crate::interval_aggregate::IntervalAggregate::of_name(&f.name.to_string().to_ascii_lowercase())
            && super::first_arg(f).is_some_and(|arg| intervals.is_interval(arg))
        {
            f.name = datafusion::sql::sqlparser::ast::ObjectName::from(vec![Ident::new(kind.function_name())]);
        }
        // An interval as text is PostgreSQL's text (see `olap::udf::IntervalText`).
        if let Expr::Cast { expr: inner, data_type: SqlType::Text | SqlType::Varchar(None), .. } = expr
            && intervals.is_interval(inner)
        {
            let interval = take(inner);
            *expr = call("rhei_interval_text", vec![interval]);
        }
        // date - date counts days in an integer, date_part() of a date or time is a double, in
        // PostgreSQL (DataFusion's are bigint and integer; SQLite's results take these types).
        if let Expr::BinaryOp { left, op: BinaryOperator::Minus, right } = expr
            && temporal_type(left, &scope) == Some(PgType::Date)
            && temporal_type(right, &scope) == Some(PgType::Date)
        {
            let days = std::mem::replace(expr, Expr::value(Value::Null));
            *expr = cast(Expr::Nested(Box::new(days)), SqlType::Int(None));
        }
        if let Expr::Function(f) = expr
            && f.name.to_string().eq_ignore_ascii_case("date_part")
            && let FunctionArguments::List(list) = &f.args
            && let [FunctionArg::Unnamed(FunctionArgExpr::Expr(field)), FunctionArg::Unnamed(FunctionArgExpr::Expr(source))] = list.args.as_slice()
            && intervals.is_interval(source)
        {
            let args = vec![field.clone(), source.clone()];
            *expr = call("rhei_interval_part", args);
        } else if let Expr::Function(f) = expr
            && f.name.to_string().eq_ignore_ascii_case("date_part")
            && let FunctionArguments::List(list) = &f.args
            && let Some(FunctionArg::Unnamed(FunctionArgExpr::Expr(source))) = list.args.get(1)
            && (temporal_type(source, &scope).is_some() || super::is_time(source, &scope))
        {
            let field = match list.args.first() {
                Some(FunctionArg::Unnamed(FunctionArgExpr::Expr(Expr::Value(ValueWithSpan { value: Value::SingleQuotedString(part), .. })))) => part.to_ascii_lowercase(),
                _ => String::new(),
            };
            // Seconds and milliseconds keep their fraction, computed as PostgreSQL's are:
            // the whole seconds, plus the microseconds past them divided (DataFusion's are
            // whole numbers: 59 for 59.999999).
            let per_second = match field.as_str() {
                "second" | "seconds" => Some(("1", "1000000.0")),
                "millisecond" | "milliseconds" => Some(("1000.0", "1000.0")),
                _ => None,
            };
            if let Some((whole_scale, fraction_divisor)) = per_second {
                let micros = call("date_part", vec![string("microsecond"), source.clone()]);
                let number = |n: &str| Expr::value(Value::Number(n.into(), false));
                let whole = Expr::BinaryOp { left: Box::new(micros.clone()), op: BinaryOperator::Divide, right: Box::new(number("1000000")) };
                let whole = Expr::BinaryOp { left: Box::new(cast(whole, SqlType::DoublePrecision)), op: BinaryOperator::Multiply, right: Box::new(number(whole_scale)) };
                let fraction = Expr::BinaryOp { left: Box::new(micros), op: BinaryOperator::Modulo, right: Box::new(number("1000000")) };
                let fraction = Expr::BinaryOp { left: Box::new(cast(fraction, SqlType::DoublePrecision)), op: BinaryOperator::Divide, right: Box::new(number(fraction_divisor)) };
                *expr = Expr::Nested(Box::new(Expr::BinaryOp { left: Box::new(whole), op: BinaryOperator::Plus, right: Box::new(fraction) }));
            } else {
                let mut part = std::mem::replace(expr, Expr::value(Value::Null));
                if field == "isodow" {
                    part = Expr::BinaryOp { left: Box::new(part), op: BinaryOperator::Plus, right: Box::new(Expr::value(Value::Number("1".into(), false))) };
                }
                *expr = cast(Expr::Nested(Box::new(part)), SqlType::DoublePrecision);
            }
        }
        // ntile() is an integer in PostgreSQL (DataFusion's is unsigned, which a result makes bigint).
        if let Expr::Function(f) = expr
            && f.over.is_some()
            && f.name.to_string().eq_ignore_ascii_case("ntile")
        {
            let window = std::mem::replace(expr, Expr::value(Value::Null));
            *expr = cast(window, SqlType::Int(None));
        }
        // mod(a, b) is DataFusion's `%` (the same sign rule: the dividend's).
        if let Expr::Function(f) = expr
            && f.name.to_string().eq_ignore_ascii_case("mod")
            && let FunctionArguments::List(list) = &mut f.args
            && let [FunctionArg::Unnamed(FunctionArgExpr::Expr(a)), FunctionArg::Unnamed(FunctionArgExpr::Expr(b))] = list.args.as_mut_slice()
        {
            let (a, b) = (std::mem::replace(a, Expr::value(Value::Null)), std::mem::replace(b, Expr::value(Value::Null)));
            *expr = Expr::Nested(Box::new(Expr::BinaryOp { left: Box::new(Expr::Nested(Box::new(a))), op: BinaryOperator::Modulo, right: Box::new(Expr::Nested(Box::new(b))) }));
        }
        // localtimestamp is now's wall-clock time (in the session's zone, by the cast below).
        if let Expr::Function(f) = expr
            && f.name.to_string().eq_ignore_ascii_case("localtimestamp")
            && matches!(&f.args, FunctionArguments::None)
        {
            *expr = cast(call("now", vec![]), SqlType::Timestamp(None, TimezoneInfo::None));
        }
        // COLLATE "C" (and POSIX, ucs_basic, default) is DataFusion's byte order already.
        if let Expr::Collate { expr: inner, collation } = expr
            && super::is_byte_order_collation(collation)
        {
            *expr = take(inner);
        }
        // A timestamp or date cast to timestamptz names an instant in the session's zone
        // (DataFusion would read it as UTC).
        if let Expr::Cast { expr: inner, data_type: SqlType::Timestamp(_, TimezoneInfo::WithTimeZone | TimezoneInfo::Tz), .. } = expr
            && zone != TimeZone::UTC
            && matches!(temporal_type(inner, &scope), Some(PgType::Timestamp | PgType::Date))
        {
            let local = cast(take(inner), SqlType::Timestamp(None, TimezoneInfo::None));
            *expr = call("rhei_instant", vec![local, Expr::value(Value::SingleQuotedString(zone.arrow_name()))]);
        }
        // A timestamptz cast to timestamp (or date) is its wall-clock time (day) in the
        // session's zone (DataFusion would give UTC's).
        if let Expr::Cast { expr: inner, data_type: SqlType::Timestamp(_, TimezoneInfo::None | TimezoneInfo::WithoutTimeZone) | SqlType::Date, .. } = expr
            && zone != TimeZone::UTC
            && temporal_type(inner, &scope) == Some(PgType::Timestamptz)
        {
            let there = Expr::AtTimeZone { timestamp: Box::new(take(inner)), time_zone: Box::new(Expr::value(Value::SingleQuotedString(zone.arrow_name()))) };
            **inner = call("to_local_time", vec![there]);
        }
        // A timestamp as text is PostgreSQL's (see `olap::udf::TimestampText`), and a text-like
        // column's text a result of its own (see `olap::udf::AsText`).
        // A cast to varchar is described as one (see `olap::udf::DeclaredText`).
        if let Expr::Cast { expr: inner, data_type: data_type @ (SqlType::Text | SqlType::Varchar(None) | SqlType::CharacterVarying(None) | SqlType::String(None)), .. } = expr {
            let varchar = matches!(data_type, SqlType::Varchar(None) | SqlType::CharacterVarying(None));
            let text = if has_timestamp_text(inner, &scope) {
                Some(call("rhei_timestamp_text", vec![take(inner), Expr::value(Value::SingleQuotedString(zone.arrow_name()))]))
            } else if matches!(
                scope.column_type(inner),
                Some(PgType::Bpchar(_) | PgType::Varchar(_) | PgType::Uuid | PgType::Json | PgType::Jsonb | PgType::Float4 | PgType::Float8 | PgType::Numeric { .. } | PgType::Bytea)
            ) || matches!(super::json_tag(inner, &scope), "bytea" | "float4")
                || super::arrays::is_array(inner, &scope)
            {
                Some(call("rhei_as_text", vec![take(inner)]))
            } else if !matches!(crate::translate::unnested(inner), Expr::Value(_) | Expr::Identifier(_) | Expr::CompoundIdentifier(_)) {
                // A computed value may be a double, which DataFusion writes as `2024.0`
                // (`date_part('year', d)::text`); rhei_as_text writes any other type as the
                // cast does.
                Some(call("rhei_as_text", vec![take(inner)]))
            } else if varchar {
                Some(cast(take(inner), SqlType::Text))
            } else {
                None
            };
            if let Some(text) = text {
                *expr = if varchar { declared_text(text, PgType::Varchar(None)) } else { text };
            }
        }
        // A value cast to numeric keeps the scale PostgreSQL gives it where the statement fixes
        // one (DataFusion's NUMERIC has ten places: `price::numeric` was `10.5000000000`,
        // `sum(n)::numeric` `10.0000000000`, `2::numeric` `2.0000000000`).
        if let Expr::Cast { expr: inner, data_type: data_type @ (SqlType::Numeric(datafusion::sql::sqlparser::ast::ExactNumberInfo::None) | SqlType::Decimal(datafusion::sql::sqlparser::ast::ExactNumberInfo::None)), .. } = expr
            && let Some(scale) = super::numeric_arithmetic::fixed_scale(inner, &scope).filter(|s| *s <= 38)
        {
            let widest = match scope.column_type(inner) {
                Some(PgType::Numeric { precision: Some(p), .. }) if p > 38 => 76,
                _ => 38,
            };
            *data_type = SqlType::Numeric(datafusion::sql::sqlparser::ast::ExactNumberInfo::PrecisionAndScale(widest, scale as i64));
        }
        if let Expr::Between { expr: value, low, high, .. } = expr
            && (intervals.is_interval(value) || intervals.is_interval(low) || intervals.is_interval(high))
        {
            for side in [value, low, high] {
                let operand = take(side);
                **side = interval_key(operand);
            }
        }
        if let Expr::InList { expr: value, list, .. } = expr
            && (intervals.is_interval(value) || list.iter().any(|item| intervals.is_interval(item)))
        {
            let operand = take(value);
            **value = interval_key(operand);
            for item in list {
                let operand = take(item);
                *item = interval_key(operand);
            }
        }
        // Intervals compare by their length, a month as 30 days (see `olap::udf::IntervalKey`).
        if let Expr::BinaryOp {
            left,
            op: BinaryOperator::Eq | BinaryOperator::NotEq | BinaryOperator::Lt | BinaryOperator::LtEq | BinaryOperator::Gt | BinaryOperator::GtEq,
            right,
        } = expr
            && (intervals.is_interval(left) || intervals.is_interval(right))
        {
            let (a, b) = (take(left), take(right));
            **left = interval_key(a);
            **right = interval_key(b);
        }
        ControlFlow::<()>::Continue(())
    });
    let _ = VisitMut::visit(stmt, &mut IntervalsOrderedByLength { intervals: &intervals });
    type_integer_literals(stmt);
    let _ = VisitMut::visit(stmt, &mut QueriesForDataFusion);
}

/// Two changes to every query and subquery, in one walk:
/// - `FOR UPDATE` and `FOR SHARE` go: DataFusion has no locks, and a locking read reaches it
///   only when forced there (`rhei.route = olap`) outside a transaction, where PostgreSQL's
///   locks would end with the statement anyway;
/// - DataFusion names an aggregate without the casts in its arguments (`min(v::text)` and
///   `min(v)` are both `min(t.v)`) and refuses two of one name in a select (XX000 "duplicate
///   unqualified field name", apache/datafusion#18975). Each further variant of a name gets its
///   arguments wrapped in `coalesce(...)`, once per variant: the same value and type, another
///   name.
struct QueriesForDataFusion;

impl VisitorMut for QueriesForDataFusion {
    type Break = ();

    fn post_visit_query(&mut self, query: &mut Query) -> ControlFlow<()> {
        query.locks.clear();
        ControlFlow::Continue(())
    }

    fn pre_visit_query(&mut self, query: &mut Query) -> ControlFlow<()> {
        // A plain select's ORDER BY may name its aggregates again (`ORDER BY min(v)`).
        let order_by = match (query.body.as_ref(), query.order_by.as_mut()) {
            (SetExpr::Select(_), Some(order_by)) => match &mut order_by.kind {
                OrderByKind::Expressions(items) => items.iter_mut().map(|item| &mut item.expr).collect(),
                _ => Vec::new(),
            },
            _ => Vec::new(),
        };
        let mut selects = Vec::new();
        collect_selects(&mut query.body, &mut selects);
        let mut order_by = Some(order_by);
        for select in selects {
            distinct_aggregate_names(select, order_by.take().unwrap_or_default());
        }
        ControlFlow::Continue(())
    }
}

pub(super) fn collect_selects<'a>(body: &'a mut SetExpr, into: &mut Vec<&'a mut Select>) {
    match body {
        SetExpr::Select(select) => into.push(select),
        SetExpr::SetOperation { left, right, .. } => {
            collect_selects(left, into);
            collect_selects(right, into);
        }
        _ => {}
    }
}

fn is_aggregate_call(expr: &Expr) -> bool {
    matches!(expr, Expr::Function(f) if crate::router::is_aggregate(f))
}

/// How DataFusion would name an aggregate call, near enough: its text without the casts, and
/// columns without their tables (`t.v` and `v` are one column of one table).
fn name_without_casts(expr: &Expr) -> String {
    let mut bare = expr.clone();
    let _ = visit_expressions_mut(&mut bare, |e| {
        match e {
            Expr::Cast { expr: inner, .. } => *e = std::mem::replace(inner.as_mut(), Expr::value(Value::Null)),
            Expr::CompoundIdentifier(parts) if !parts.is_empty() => *e = Expr::Identifier(parts[parts.len() - 1].clone()),
            _ => {}
        }
        ControlFlow::<()>::Continue(())
    });
    bare.to_string()
}

fn distinct_aggregate_names(select: &mut Select, order_by: Vec<&mut Expr>) {
    // First the variants of each name, in the order the calls come, then the rewrite, in the
    // same order.
    let mut calls: Vec<(String, String)> = Vec::new();
    let mut parts: Vec<&mut Expr> = Vec::new();
    for item in &mut select.projection {
        if let SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. } = item {
            parts.push(e);
        }
    }
    parts.extend(select.having.as_mut());
    parts.extend(order_by);
    for part in &mut parts {
        let _ = visit_expressions_mut(&mut **part, |e| {
            if is_aggregate_call(e) {
                calls.push((name_without_casts(e), e.to_string()));
            }
            ControlFlow::<()>::Continue(())
        });
    }
    // Each call's variant: how many other texts of its name came before its own.
    let mut variants: std::collections::HashMap<&str, Vec<&str>> = std::collections::HashMap::new();
    let wraps: Vec<usize> = calls
        .iter()
        .map(|(name, text)| {
            let seen = variants.entry(name).or_default();
            seen.iter().position(|t| t == text).unwrap_or_else(|| {
                seen.push(text);
                seen.len() - 1
            })
        })
        .collect();
    if wraps.iter().all(|w| *w == 0) {
        return;
    }
    let mut at = 0;
    for part in parts {
        let _ = visit_expressions_mut(part, |e| {
            if is_aggregate_call(e) {
                let times = wraps.get(at).copied().unwrap_or(0);
                at += 1;
                if let Expr::Function(f) = e
                    && let FunctionArguments::List(list) = &mut f.args
                {
                    for arg in &mut list.args {
                        if let FunctionArg::Unnamed(FunctionArgExpr::Expr(value)) = arg {
                            for _ in 0..times {
                                let inner = std::mem::replace(value, Expr::value(Value::Null));
                                *value = call("coalesce", vec![inner]);
                            }
                        }
                    }
                }
            }
            ControlFlow::<()>::Continue(())
        });
    }
}

/// The per-query rewrites below, in one walk of the statement (every OLAP query passes here).
struct QueryRewrites<'a> {
    catalog: &'a Catalog,
    row_values: RowValuesInSubqueries,
}

impl VisitorMut for QueryRewrites<'_> {
    type Break = ();

    fn pre_visit_query(&mut self, query: &mut Query) -> ControlFlow<()> {
        grouped_order_by_positions(query);
        recursive_cte_columns(query);
        super::distinct_on::resolve_for_datafusion(query);
        full_join_using(query, self.catalog);
        self.row_values.rewrite(query);
        ControlFlow::Continue(())
    }
}

/// `SELECT upper(region), sum(qty) FROM t GROUP BY region ORDER BY 1`: DataFusion 53 refuses
/// a position naming an item computed from the grouped columns (XX000 "Column in ORDER BY must
/// be in GROUP BY"), though it takes the item written out. Such positions in a grouped select
/// become the item.
fn grouped_order_by_positions(query: &mut Query) {
    let (SetExpr::Select(select), Some(order_by)) = (query.body.as_ref(), query.order_by.as_mut()) else { return };
    let OrderByKind::Expressions(items) = &mut order_by.kind else { return };
    if select.group_by_is_empty() {
        return;
    }
    for item in items {
        if let Some(expr) = super::positional_item(&item.expr, &select.projection)
            && matches!(expr, Expr::Function(_) | Expr::BinaryOp { .. } | Expr::Cast { .. } | Expr::Case { .. } | Expr::Nested(_))
        {
            item.expr = expr.clone();
        }
    }
}

/// `WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < 10)`: DataFusion
/// names a recursive CTE's columns after its first branch while it plans the recursive one, so
/// the column list is not known there yet ("column n does not exist"), and a first branch of
/// bare literals (`SELECT 1, 0, 1`) has duplicate names. The list's names go onto the first
/// branch's select list instead, which names a UNION's columns just the same.
pub fn recursive_cte_columns(query: &mut Query) {
    let Some(with) = query.with.as_mut().filter(|with| with.recursive) else { return };
    for cte in &mut with.cte_tables {
        let names: Option<Vec<Ident>> = cte.alias.columns.iter().map(|c| c.data_type.is_none().then(|| c.name.clone())).collect();
        if let Some(names) = names.filter(|n| !n.is_empty())
            && let Some(select) = first_select(&mut cte.query.body)
            && name_select_columns(select, names)
        {
            cte.alias.columns.clear();
        }
    }
}

/// `a FULL|RIGHT JOIN b USING (k)` (or NATURAL): in PostgreSQL the joined `k` is
/// `COALESCE(a.k, b.k)`; DataFusion gives `a.k`, NULL on rows only `b` has. For a select over one
/// such join of two named relations, the join becomes `ON a.k = b.k` and every unqualified `k`
/// of the select (outside its subqueries) the COALESCE, still named `k`; a lone `*` is spelled
/// out as PostgreSQL orders it (the joined columns, then each side's others).
fn full_join_using(query: &mut Query, catalog: &Catalog) {
    let SetExpr::Select(select) = query.body.as_mut() else { return };
    let Some((columns, left, right)) = coalesce_full_join_using(select, catalog) else { return };
    // ORDER BY k names the output column when there is one (DataFusion finds
    // `ORDER BY coalesce(..)` beside an output named k ambiguous).
    let outputs: Vec<&Ident> = select
        .projection
        .iter()
        .filter_map(|item| match item {
            SelectItem::ExprWithAlias { alias, .. } => Some(alias),
            _ => None,
        })
        .collect();
    let columns: Vec<Ident> = columns.into_iter().filter(|c| !outputs.iter().any(|o| same_name(o, c))).collect();
    let joined = JoinedColumns { columns: &columns, left: &left, right: &right };
    let _ = query.order_by.visit(&mut super::ByDepth::new(|e: &mut Expr, nested| joined.coalesce(e, nested)));
}

/// `WHERE (a, b) IN (SELECT x, y FROM ...)`: DataFusion takes one column from an IN subquery
/// ("Too many columns!"). A row-valued IN that is a conjunct of a WHERE (where false and NULL
/// filter alike) becomes `EXISTS (SELECT 1 FROM (SELECT x, y ...) AS rhei_in_n(rhei_c1, rhei_c2)
/// WHERE rhei_c1 = a AND rhei_c2 = b)`. NOT IN, whose NULL rules differ, is left alone.
struct RowValuesInSubqueries {
    next: usize,
}

impl RowValuesInSubqueries {
    fn rewrite(&mut self, query: &mut Query) {
        let SetExpr::Select(select) = query.body.as_mut() else { return };
        // Inside the EXISTS the row's columns are outer references, which DataFusion finds
        // only qualified: over one relation, they are qualified with its name.
        let outer = match select.from.as_slice() {
            [only] if only.joins.is_empty() => relation_name(&only.relation),
            _ => None,
        };
        if let Some(selection) = select.selection.as_mut() {
            self.rewrite_conjuncts(selection, outer.as_ref());
        }
    }

    fn rewrite_conjuncts(&mut self, expr: &mut Expr, outer: Option<&Ident>) {
        match expr {
            Expr::BinaryOp { left, op: BinaryOperator::And, right } => {
                self.rewrite_conjuncts(left, outer);
                self.rewrite_conjuncts(right, outer);
            }
            Expr::Nested(inner) => self.rewrite_conjuncts(inner, outer),
            Expr::InSubquery { expr: tuple, subquery, negated: false }
                if matches!(tuple.as_ref(), Expr::Tuple(items) if items.len() > 1) && !names_outer_relations(subquery) =>
            {
                let Expr::Tuple(items) = tuple.as_mut() else { return };
                for item in items.iter_mut() {
                    let _ = visit_expressions_mut(item, |e| {
                        if let (Expr::Identifier(column), Some(table)) = (&*e, outer) {
                            *e = Expr::CompoundIdentifier(vec![table.clone(), column.clone()]);
                        }
                        ControlFlow::<()>::Continue(())
                    });
                }
                self.next += 1;
                let name = format!("rhei_in_{}", self.next);
                let columns: Vec<String> = (1..=items.len()).map(|i| format!("rhei_c{i}")).collect();
                let matches: Vec<String> = columns.iter().zip(items).map(|(c, item)| format!("{name}.{c} = ({item})")).collect();
                let sql = format!(
                    "SELECT 1 FROM (SELECT 1) AS {name}({}) WHERE {}",
                    columns.join(", "),
                    matches.join(" AND ")
                );
                let parsed = datafusion::sql::sqlparser::parser::Parser::parse_sql(&datafusion::sql::sqlparser::dialect::PostgreSqlDialect {}, &sql);
                let Ok(mut statements) = parsed else { return };
                let Some(Statement::Query(mut exists)) = statements.pop() else { return };
                let SetExpr::Select(select) = exists.body.as_mut() else { return };
                let Some(TableFactor::Derived { subquery: derived, .. }) = select.from.first_mut().map(|f| &mut f.relation) else { return };
                // DataFusion wants the subquery's own column names unique too (`SELECT 1, 1`),
                // in each member of a UNION.
                fn name_members(body: &mut SetExpr, columns: &[String]) {
                    match body {
                        SetExpr::Select(select) => {
                            let _ = name_select_columns(select, columns.iter().map(|c| Ident::new(c.as_str())).collect());
                        }
                        SetExpr::SetOperation { left, right, .. } => {
                            name_members(left, columns);
                            name_members(right, columns);
                        }
                        SetExpr::Query(query) => name_members(query.body.as_mut(), columns),
                        _ => {}
                    }
                }
                // Only where names collide: renaming would break an ORDER BY naming one.
                let names = crate::naming::body_output_names(&subquery.body);
                let collide = names.as_ref().is_none_or(|n| n.iter().enumerate().any(|(i, name)| n[..i].contains(name)));
                if collide {
                    name_members(subquery.body.as_mut(), &columns);
                }
                std::mem::swap(derived, subquery);
                *expr = Expr::Exists { subquery: exists, negated: false };
            }
            _ => {}
        }
    }
}

/// Whether `query` qualifies a column with a name none of its own relations has (a correlated
/// subquery, which DataFusion cannot read from inside a derived table). Unqualified outer
/// references go unseen.
fn names_outer_relations(query: &Query) -> bool {
    use datafusion::sql::sqlparser::ast::{Visit, Visitor};
    #[derive(Default)]
    struct Names {
        relations: Vec<String>,
        qualifiers: Vec<String>,
    }
    impl Visitor for Names {
        type Break = ();
        fn pre_visit_table_factor(&mut self, factor: &TableFactor) -> ControlFlow<()> {
            match factor {
                TableFactor::Table { name, alias, .. } => {
                    self.relations.extend(name.0.last().and_then(|p| p.as_ident()).map(crate::catalog::normalize_ident));
                    self.relations.extend(alias.as_ref().map(|a| crate::catalog::normalize_ident(&a.name)));
                }
                TableFactor::Derived { alias: Some(alias), .. } => self.relations.push(crate::catalog::normalize_ident(&alias.name)),
                _ => {}
            }
            ControlFlow::Continue(())
        }
        fn pre_visit_expr(&mut self, expr: &Expr) -> ControlFlow<()> {
            if let Expr::CompoundIdentifier(parts) = expr
                && parts.len() >= 2
            {
                self.qualifiers.push(crate::catalog::normalize_ident(&parts[parts.len() - 2]));
            }
            ControlFlow::Continue(())
        }
    }
    let mut names = Names::default();
    let _ = query.visit(&mut names);
    names.qualifiers.iter().any(|q| !names.relations.contains(q))
}

/// Rewrites the select (see [`full_join_using`]); returns the USING columns and the two sides'
/// names when it did, for the query's ORDER BY.
fn coalesce_full_join_using(select: &mut Select, catalog: &Catalog) -> Option<(Vec<Ident>, Ident, Ident)> {
    use datafusion::sql::sqlparser::ast::{JoinConstraint, JoinOperator, ObjectNamePart};
    let [from] = select.from.as_mut_slice() else { return None };
    let [join] = from.joins.as_mut_slice() else { return None };
    let (JoinOperator::FullOuter(constraint) | JoinOperator::Right(constraint) | JoinOperator::RightOuter(constraint)) = &join.join_operator
    else {
        return None;
    };
    // A table's own columns, for NATURAL and `*` (a derived table's are not looked into).
    let table_columns = |factor: &TableFactor| match factor {
        TableFactor::Table { name, args: None, .. } => {
            let def = catalog.get(&crate::catalog::table_name(name).ok()?)?;
            Some(def.user_columns().iter().map(|c| Ident::with_quote('"', c.name.clone())).collect::<Vec<Ident>>())
        }
        _ => None,
    };
    let (Some(left), Some(right)) = (relation_name(&from.relation), relation_name(&join.relation)) else { return None };
    let columns: Vec<Ident> = match constraint {
        JoinConstraint::Using(names) => names
            .iter()
            .map(|name| match name.0.as_slice() {
                [ObjectNamePart::Identifier(ident)] => Some(ident.clone()),
                _ => None,
            })
            .collect::<Option<_>>()?,
        JoinConstraint::Natural => {
            let right_columns = table_columns(&join.relation)?;
            table_columns(&from.relation)?.into_iter().filter(|c| right_columns.iter().any(|r| same_name(c, r))).collect()
        }
        _ => return None,
    };
    // `*` over a join USING is the joined columns, then each side's others.
    let star = match select.projection.as_slice() {
        [SelectItem::Wildcard(_)] => {
            let (left_columns, right_columns) = (table_columns(&from.relation)?, table_columns(&join.relation)?);
            let others = |table: &Ident, all: Vec<Ident>| {
                all.into_iter()
                    .filter(|c| !columns.iter().any(|j| same_name(c, j)))
                    .map(|c| SelectItem::UnnamedExpr(Expr::CompoundIdentifier(vec![table.clone(), c])))
                    .collect::<Vec<_>>()
            };
            let mut items: Vec<SelectItem> = columns.iter().map(|c| SelectItem::UnnamedExpr(Expr::Identifier(c.clone()))).collect();
            items.extend(others(&left, left_columns));
            items.extend(others(&right, right_columns));
            Some(items)
        }
        items if items.iter().any(|item| matches!(item, SelectItem::Wildcard(_) | SelectItem::QualifiedWildcard(..))) => return None,
        _ => None,
    };
    let side = |table: &Ident, column: &Ident| Expr::CompoundIdentifier(vec![table.clone(), column.clone()]);
    let on = columns
        .iter()
        .map(|c| Expr::BinaryOp { left: Box::new(side(&left, c)), op: BinaryOperator::Eq, right: Box::new(side(&right, c)) })
        .reduce(|a, b| Expr::BinaryOp { left: Box::new(a), op: BinaryOperator::And, right: Box::new(b) })?;
    join.join_operator = match join.join_operator {
        JoinOperator::FullOuter(_) => JoinOperator::FullOuter(JoinConstraint::On(on)),
        _ => JoinOperator::RightOuter(JoinConstraint::On(on)),
    };
    if let Some(items) = star {
        select.projection = items;
    }
    let joined = JoinedColumns { columns: &columns, left: &left, right: &right };
    let mut visitor = super::ByDepth::new(|e: &mut Expr, nested| joined.coalesce(e, nested));
    for item in &mut select.projection {
        match item {
            SelectItem::UnnamedExpr(Expr::Identifier(ident)) if columns.iter().any(|c| same_name(c, ident)) => {
                let alias = ident.clone();
                let expr = joined.coalesced(&alias);
                *item = SelectItem::ExprWithAlias { expr, alias };
            }
            SelectItem::UnnamedExpr(expr) | SelectItem::ExprWithAlias { expr, .. } => {
                let _ = expr.visit(&mut visitor);
            }
            _ => {}
        }
    }
    let _ = select.selection.visit(&mut visitor);
    let _ = select.group_by.visit(&mut visitor);
    let _ = select.having.visit(&mut visitor);
    Some((columns, left, right))
}

/// The name a relation's columns are qualified with: its alias, else its table's name.
fn relation_name(factor: &TableFactor) -> Option<Ident> {
    match factor {
        TableFactor::Table { alias: Some(alias), .. } | TableFactor::Derived { alias: Some(alias), .. } => Some(alias.name.clone()),
        TableFactor::Table { name, alias: None, .. } => name.0.last().and_then(|part| part.as_ident()).cloned(),
        _ => None,
    }
}

/// Whether two identifiers name the same thing (unquoted ones fold to lower case).
fn same_name(a: &Ident, b: &Ident) -> bool {
    crate::catalog::normalize_ident(a) == crate::catalog::normalize_ident(b)
}

/// Replaces unqualified references to a FULL JOIN's USING columns, outside subqueries.
struct JoinedColumns<'a> {
    columns: &'a [Ident],
    left: &'a Ident,
    right: &'a Ident,
}

impl JoinedColumns<'_> {
    fn coalesced(&self, column: &Ident) -> Expr {
        let side = |table: &Ident| Expr::CompoundIdentifier(vec![table.clone(), column.clone()]);
        crate::translate::call("coalesce", vec![side(self.left), side(self.right)])
    }
}

impl JoinedColumns<'_> {
    /// An unqualified reference to a USING column, outside subqueries, as the coalesced sides.
    fn coalesce(&self, expr: &mut Expr, nested: bool) {
        if !nested
            && let Expr::Identifier(ident) = expr
            && self.columns.iter().any(|c| same_name(c, ident))
        {
            *expr = self.coalesced(&ident.clone());
        }
    }
}

/// The select whose column names a set expression takes (its leftmost branch).
fn first_select(body: &mut SetExpr) -> Option<&mut Select> {
    match body {
        SetExpr::Select(select) => Some(select),
        SetExpr::SetOperation { left, .. } => first_select(left),
        _ => None,
    }
}

/// Names the first columns of `select` `names`; false (and nothing changed) when it cannot:
/// a wildcard, more names than columns, or a renamed alias that GROUP BY or HAVING may use.
fn name_select_columns(select: &mut Select, names: Vec<Ident>) -> bool {
    let groups = !matches!(&select.group_by, GroupByExpr::Expressions(e, _) if e.is_empty()) || select.having.is_some();
    let nameable = names.len() <= select.projection.len()
        && select.projection.iter().take(names.len()).all(|item| match item {
            SelectItem::UnnamedExpr(_) => true,
            SelectItem::ExprWithAlias { .. } => !groups,
            _ => false,
        });
    if !nameable {
        return false;
    }
    for (item, name) in select.projection.iter_mut().zip(names) {
        *item = match std::mem::replace(item, SelectItem::UnnamedExpr(Expr::value(Value::Null))) {
            SelectItem::UnnamedExpr(expr) | SelectItem::ExprWithAlias { expr, .. } => SelectItem::ExprWithAlias { expr, alias: name },
            other => other,
        };
    }
    true
}

/// Which expressions are intervals on DataFusion, as the translation leaves them.
struct OlapIntervals<'s, 'a> {
    scope: &'s Scope<'a>,
    /// Output columns of the statement's derived tables, CTEs and VALUES lists that are
    /// intervals (see `super::intervals::derived_interval_columns`).
    derived: std::collections::HashSet<String>,
}

impl OlapIntervals<'_, '_> {
    /// Whether `expr` is an interval: a constant, an interval column (of a table, or by name of
    /// a derived table), a timestamp difference (already rewritten), or arithmetic on those.
    fn is_interval(&self, expr: &Expr) -> bool {
        let interval = |e: &Expr| self.is_interval(e);
        match expr {
            Expr::Nested(inner) => interval(inner),
            Expr::Identifier(_) | Expr::CompoundIdentifier(_) => super::intervals::is_interval_column(expr, self.scope, &self.derived),
            Expr::Function(f) => match f.name.to_string().to_ascii_lowercase().as_str() {
                "rhei_ts_diff" | "rhei_interval_mul" | "rhei_interval_div" | "rhei_age" | "justify_hours" | "justify_days" | "justify_interval" | "rhei_interval_min"
                | "rhei_interval_max" | "rhei_interval_sum" | "rhei_interval_avg" => true,
                "min" | "max" | "coalesce" | "nullif" | "lag" | "lead" | "first_value" | "last_value" | "nth_value" => {
                    super::first_arg(f).is_some_and(interval)
                }
                _ => false,
            },
            Expr::BinaryOp { left, op: BinaryOperator::Plus | BinaryOperator::Minus, right } => interval(left) && interval(right),
            Expr::BinaryOp { left, op: BinaryOperator::Multiply | BinaryOperator::Divide, right } => interval(left) || interval(right),
            Expr::UnaryOp { expr, .. } => interval(expr),
            Expr::Cast { data_type: SqlType::Interval { .. }, .. } => true,
            Expr::TypedString(typed) => matches!(typed.data_type, SqlType::Interval { .. }),
            other => is_interval_constant(other),
        }
    }
}

/// A string literal compared with an interval, read as one as PostgreSQL reads an untyped
/// literal there (`d > '2 hours'`), in DataFusion's units (see [`interval_constant_for_olap`]).
/// One that does not read is left for DataFusion to refuse.
fn string_as_interval(expr: &mut Expr) {
    let Expr::Value(ValueWithSpan { value: Value::SingleQuotedString(text), .. }) = expr else { return };
    if let Some(interval) = crate::value::parse_interval(text, None) {
        *expr = olap_interval_constant(interval);
    }
}

/// What an interval compares and sorts by on DataFusion: its length (see
/// `olap::udf::IntervalKey`), a string beside it read as an interval.
fn interval_key(mut operand: Expr) -> Expr {
    string_as_interval(&mut operand);
    call("rhei_interval_key", vec![operand])
}

/// ORDER BY an interval (written out, or named by its output name or position) sorts by its
/// length, as PostgreSQL's does; DataFusion's compares months, then days, then time, so `1
/// mon` sorted after `40 days`. Not in a set operation or a DISTINCT select, whose ORDER BY
/// names output columns only.
struct IntervalsOrderedByLength<'t, 's, 'a> {
    intervals: &'t OlapIntervals<'s, 'a>,
}

impl VisitorMut for IntervalsOrderedByLength<'_, '_, '_> {
    type Break = ();

    fn post_visit_query(&mut self, query: &mut Query) -> ControlFlow<()> {
        let (SetExpr::Select(select), Some(order_by)) = (query.body.as_ref(), query.order_by.as_mut()) else { return ControlFlow::Continue(()) };
        let OrderByKind::Expressions(items) = &mut order_by.kind else { return ControlFlow::Continue(()) };
        if select.distinct.is_some() {
            return ControlFlow::Continue(());
        }
        for item in items {
            let target = super::intervals::output_expression(&item.expr, &select.projection).unwrap_or(&item.expr);
            // DataFusion sorts by a window function only as a select-list item
            // (apache/datafusion#20963), so one stays as it is.
            let windowed = datafusion::sql::sqlparser::ast::visit_expressions(target, |e| match e {
                Expr::Function(f) if f.over.is_some() => ControlFlow::Break(()),
                _ => ControlFlow::Continue(()),
            })
            .is_break();
            if !windowed && self.intervals.is_interval(target) {
                item.expr = interval_key(target.clone());
            }
        }
        ControlFlow::Continue(())
    }
}

/// Timestamp literals in the form Arrow reads (see [`crate::value::canonical_timestamp_text`]):
/// cast or typed ones, and strings compared with a timestamp column. A timestamptz literal
/// without a zone names a wall-clock time in the session's `zone`.
fn canonical_timestamp_literals(expr: &mut Expr, scope: &Scope<'_>, zone: TimeZone) {
    // Some(Some(zone)): a timestamptz; Some(None): a timestamp.
    let zone_of = |ty: &SqlType| match ty {
        SqlType::Timestamp(_, TimezoneInfo::WithTimeZone | TimezoneInfo::Tz) => Some(Some(zone)),
        SqlType::Timestamp(..) | SqlType::TimestampNtz(_) => Some(None),
        _ => None,
    };
    fn rewrite(literal: &mut Expr, with_zone: Option<TimeZone>) {
        if let Expr::Value(ValueWithSpan { value: Value::SingleQuotedString(text), .. }) = literal
            && let Some(canonical) = crate::value::canonical_timestamp_text(text, with_zone)
        {
            *text = canonical;
        }
    }
    let column_zone = |e: &Expr| match scope.column_type(e) {
        Some(PgType::Timestamp) => Some(None),
        Some(PgType::Timestamptz) => Some(Some(zone)),
        _ => None,
    };
    match expr {
        Expr::Cast { expr: inner, data_type, .. } => {
            if let Some(with_zone) = zone_of(data_type) {
                rewrite(inner, with_zone);
            }
        }
        Expr::TypedString(typed) => {
            if let Some(with_zone) = zone_of(&typed.data_type)
                && let Value::SingleQuotedString(text) = &mut typed.value.value
                && let Some(canonical) = crate::value::canonical_timestamp_text(text, with_zone)
            {
                *text = canonical;
            }
        }
        Expr::BinaryOp { left, right, .. } => {
            if let Some(with_zone) = column_zone(left) {
                rewrite(right, with_zone);
            } else if let Some(with_zone) = column_zone(right) {
                rewrite(left, with_zone);
            }
        }
        Expr::Between { expr: column, low, high, .. } => {
            if let Some(with_zone) = column_zone(column) {
                rewrite(low, with_zone);
                rewrite(high, with_zone);
            }
        }
        Expr::InList { expr: column, list, .. } => {
            if let Some(with_zone) = column_zone(column) {
                list.iter_mut().for_each(|item| rewrite(item, with_zone));
            }
        }
        _ => {}
    }
}

/// A quoted string among CASE results or COALESCE arguments takes the type of the others in
/// PostgreSQL (`CASE ... THEN id ELSE '7' END` is an integer, `coalesce(day, '2000-01-01')` a
/// date); DataFusion made the CASE text and refused the COALESCE (XX000). Cast to that type.
fn typed_quoted_results(expr: &mut Expr, scope: &Scope<'_>) {
    let results: Vec<&mut Expr> = match expr {
        Expr::Case { conditions, else_result, .. } => {
            conditions.iter_mut().map(|c| &mut c.result).chain(else_result.iter_mut().map(|e| e.as_mut())).collect()
        }
        Expr::Function(f) if f.name.to_string().eq_ignore_ascii_case("coalesce") => match &mut f.args {
            FunctionArguments::List(list) => list
                .args
                .iter_mut()
                .filter_map(|a| match a {
                    FunctionArg::Unnamed(FunctionArgExpr::Expr(e)) => Some(e),
                    _ => None,
                })
                .collect(),
            _ => return,
        },
        _ => return,
    };
    if !results.iter().any(|e| super::is_string_literal(e)) {
        return;
    }
    let Some(ty) = super::common_type::resolved_non_string(results.iter().map(|e| &**e), scope) else { return };
    let data_type = match ty {
        PgType::Int2 => SqlType::SmallInt(None),
        PgType::Int4 => SqlType::Integer(None),
        PgType::Int8 => SqlType::BigInt(None),
        PgType::Numeric { .. } => SqlType::Numeric(datafusion::sql::sqlparser::ast::ExactNumberInfo::None),
        PgType::Float4 => SqlType::Real,
        PgType::Float8 => SqlType::DoublePrecision,
        PgType::Bool => SqlType::Boolean,
        PgType::Date => SqlType::Date,
        PgType::Timestamp => SqlType::Timestamp(None, TimezoneInfo::None),
        PgType::Timestamptz => SqlType::Timestamp(None, TimezoneInfo::WithTimeZone),
        _ => return,
    };
    for result in results {
        if let Expr::Value(ValueWithSpan { value: Value::SingleQuotedString(text), .. }) = result {
            if ty == PgType::Date
                && let Some(canonical) = crate::value::canonical_date_text(text)
            {
                *text = canonical;
            }
            let literal = std::mem::replace(result, Expr::value(Value::Null));
            *result = Expr::Cast { kind: CastKind::Cast, expr: Box::new(literal), data_type: data_type.clone(), array: false, format: None };
        }
    }
}

/// Date literals DataFusion would not read (`'01/02/2024'::date`, PostgreSQL's month/day/year
/// under DateStyle MDY) in ISO form: cast to date, typed `DATE '...'`, or compared with a date
/// column.
fn canonical_date_literals(expr: &mut Expr, scope: &Scope<'_>) {
    fn rewrite(literal: &mut Expr) {
        if let Expr::Value(ValueWithSpan { value: Value::SingleQuotedString(text), .. }) = literal
            && let Some(canonical) = crate::value::canonical_date_text(text)
        {
            *text = canonical;
        }
    }
    let is_date = |e: &Expr| scope.column_type(e) == Some(PgType::Date);
    match expr {
        Expr::Cast { expr: inner, data_type: SqlType::Date, .. } => rewrite(inner),
        Expr::TypedString(typed) if matches!(typed.data_type, SqlType::Date) => {
            if let Value::SingleQuotedString(text) = &mut typed.value.value
                && let Some(canonical) = crate::value::canonical_date_text(text)
            {
                *text = canonical;
            }
        }
        Expr::BinaryOp { left, right, .. } if is_date(left) => rewrite(right),
        Expr::BinaryOp { left, right, .. } if is_date(right) => rewrite(left),
        Expr::Between { expr: column, low, high, .. } if is_date(column) => {
            rewrite(low);
            rewrite(high);
        }
        Expr::InList { expr: column, list, .. } if is_date(column) => list.iter_mut().for_each(rewrite),
        _ => {}
    }
}

/// The marker of a literal typed here: `TRY_CAST`, which PostgreSQL SQL never contains, so
/// these casts are told apart from the query's own.
fn typed_literal(n: &str) -> Expr {
    Expr::Cast {
        kind: CastKind::TryCast,
        expr: Box::new(Expr::value(Value::Number(n.to_string(), false))),
        data_type: SqlType::Int(None),
        array: false,
        format: None,
    }
}

/// The literal back as written, if `expr` is one typed here.
fn untype(expr: &mut Expr) {
    if let Expr::Cast { kind: CastKind::TryCast, expr: inner, data_type: SqlType::Int(None), .. } = expr
        && matches!(inner.as_ref(), Expr::Value(ValueWithSpan { value: Value::Number(..), .. }))
    {
        *expr = std::mem::replace(inner.as_mut(), Expr::value(Value::Null));
    }
}

/// PostgreSQL types an integer literal as `integer` when it fits (else `bigint`); DataFusion
/// as `Int64`. So `SELECT 1`, `VALUES (1)` or `id + 1` over an integer column would come back
/// as `int8` (node-postgres then hands out strings, JDBC a Long). Literals that fit become
/// `Int32` here (their arithmetic then overflows as PostgreSQL's does, see `olap::checked`),
/// except where DataFusion wants a plain number: function arguments (window offsets,
/// `generate_series`, `round(x, 2)`; not those of `coalesce`, `nullif`, `greatest` and `least`,
/// whose value is one of them), window frame bounds, ordinals in ORDER BY and GROUP BY, LIMIT
/// and OFFSET.
fn type_integer_literals(stmt: &mut Statement) {
    let _ = visit_expressions_mut(stmt, |expr| {
        if let Expr::Value(ValueWithSpan { value: Value::Number(n, false), .. }) = expr
            && n.parse::<i32>().is_ok()
        {
            *expr = typed_literal(n);
        }
        ControlFlow::<()>::Continue(())
    });
    let _ = VisitMut::visit(stmt, &mut PlainNumbersWhereNeeded);
}

struct PlainNumbersWhereNeeded;

impl PlainNumbersWhereNeeded {
    fn untype_args(args: &mut [FunctionArg]) {
        for arg in args {
            match arg {
                FunctionArg::Unnamed(FunctionArgExpr::Expr(e))
                | FunctionArg::Named { arg: FunctionArgExpr::Expr(e), .. }
                | FunctionArg::ExprNamed { arg: FunctionArgExpr::Expr(e), .. } => untype(e),
                _ => {}
            }
        }
    }

    fn untype_frame(frame: &mut WindowFrame) {
        for bound in std::iter::once(&mut frame.start_bound).chain(frame.end_bound.as_mut()) {
            if let WindowFrameBound::Preceding(Some(e)) | WindowFrameBound::Following(Some(e)) = bound {
                untype(e);
            }
        }
    }
}

impl VisitorMut for PlainNumbersWhereNeeded {
    type Break = ();

    fn post_visit_expr(&mut self, expr: &mut Expr) -> ControlFlow<()> {
        if let Expr::Function(f) = expr {
            // The divisor check passes its argument's type through, and these give their
            // arguments' common type as their value (`coalesce(points, 0)` is an integer).
            let name = f.name.to_string().to_ascii_lowercase();
            if !matches!(name.as_str(), "rhei_divisor" | "coalesce" | "nullif" | "greatest" | "least")
                && let FunctionArguments::List(list) = &mut f.args
            {
                Self::untype_args(&mut list.args);
            }
            if let Some(WindowType::WindowSpec(spec)) = &mut f.over
                && let Some(frame) = spec.window_frame.as_mut()
            {
                Self::untype_frame(frame);
            }
        }
        ControlFlow::Continue(())
    }

    fn post_visit_query(&mut self, query: &mut Query) -> ControlFlow<()> {
        if let Some(order_by) = query.order_by.as_mut()
            && let OrderByKind::Expressions(exprs) = &mut order_by.kind
        {
            exprs.iter_mut().for_each(|o| untype(&mut o.expr));
        }
        match query.limit_clause.as_mut() {
            Some(LimitClause::LimitOffset { limit, offset, .. }) => {
                limit.iter_mut().for_each(untype);
                if let Some(offset) = offset {
                    untype(&mut offset.value);
                }
            }
            Some(LimitClause::OffsetCommaLimit { offset, limit }) => {
                untype(offset);
                untype(limit);
            }
            None => {}
        }
        if let Some(fetch) = query.fetch.as_mut() {
            fetch.quantity.iter_mut().for_each(untype);
        }
        if let SetExpr::Select(select) = query.body.as_mut() {
            if let GroupByExpr::Expressions(exprs, _) = &mut select.group_by {
                exprs.iter_mut().for_each(untype);
            }
            for window in &mut select.named_window {
                if let NamedWindowExpr::WindowSpec(spec) = &mut window.1
                    && let Some(frame) = spec.window_frame.as_mut()
                {
                    Self::untype_frame(frame);
                }
            }
        }
        ControlFlow::Continue(())
    }

    fn post_visit_table_factor(&mut self, factor: &mut TableFactor) -> ControlFlow<()> {
        match factor {
            TableFactor::Table { args: Some(args), .. } => Self::untype_args(&mut args.args),
            TableFactor::Function { args, .. } => Self::untype_args(args),
            _ => {}
        }
        ControlFlow::Continue(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::{ColumnDef, TableDef, TableId};
    use datafusion::sql::sqlparser::{dialect::PostgreSqlDialect, parser::Parser};

    /// DataFusion reads a FULL JOIN's USING column as the left side's; PostgreSQL as whichever
    /// side has the row.
    #[test]
    fn a_full_join_using_column_is_the_coalesce_of_both_sides() {
        let catalog = Catalog::from_tables([]);
        let mut stmt = Parser::parse_sql(&PostgreSqlDialect {}, "SELECT va FROM a FULL JOIN b USING (k) ORDER BY k").unwrap().remove(0);
        to_olap(&mut stmt, &catalog, TimeZone::UTC);
        assert_eq!(stmt.to_string(), "SELECT va FROM a FULL JOIN b ON a.k = b.k ORDER BY coalesce(a.k, b.k)");
        let mut stmt = Parser::parse_sql(&PostgreSqlDialect {}, "SELECT k, (SELECT k FROM c) FROM a x FULL JOIN b USING (k) WHERE k > 1 ORDER BY k").unwrap().remove(0);
        to_olap(&mut stmt, &catalog, TimeZone::UTC);
        assert_eq!(
            stmt.to_string(),
            "SELECT coalesce(x.k, b.k) AS k, (SELECT k FROM c) FROM a x FULL JOIN b ON x.k = b.k WHERE coalesce(x.k, b.k) > 1 ORDER BY k"
        );
    }

    /// `sql` over one table `t` of `columns` (the first its key), as translated for DataFusion.
    fn olap_over(columns: &[(&str, PgType)], sql: &str) -> String {
        let columns = columns.iter().map(|(name, ty)| ColumnDef { name: (*name).into(), ty: *ty, not_null: false, is_serial: false, default_sql: None }).collect();
        let catalog = Catalog::from_tables([TableDef {
            id: TableId(1),
            name: "t".into(),
            columns,
            primary_key: vec![0],
            unique: vec![],
            replica: None,
            ..Default::default()
        }]);
        let mut stmt = Parser::parse_sql(&PostgreSqlDialect {}, sql).unwrap().remove(0);
        to_olap(&mut stmt, &catalog, TimeZone::UTC);
        stmt.to_string()
    }

    /// Where the result item is not computed exactly (`numeric_arithmetic`): DISTINCT.
    #[test]
    fn ceil_and_floor_of_numeric_have_no_fraction() {
        assert_eq!(
            olap_over(&[("n", PgType::Numeric { precision: Some(8), scale: Some(2) }), ("w", PgType::Float8)], "SELECT DISTINCT ceil(n), floor(n), ceiling(n), ceil(w) FROM t"),
            "SELECT DISTINCT CAST(CEIL(n) AS NUMERIC(38,0)), CAST(FLOOR(n) AS NUMERIC(38,0)), CAST(ceil(n) AS NUMERIC(38,0)), CEIL(w) FROM t"
        );
    }

    #[test]
    fn casts_of_fractional_columns_to_integers_round() {
        assert_eq!(olap_over(&[("id", PgType::Int8), ("w", PgType::Float8)], "SELECT w::int, id::int FROM t"), "SELECT rhei_round_for_cast(w)::INT, id::INT FROM t");
    }
}

/// A time plus or minus an interval wraps around midnight in PostgreSQL (the interval's days
/// and months move nothing); DataFusion's sum ran past 24:00 or below zero. Computed as a
/// timestamp on 1970-01-01 and cut back to its time of day.
fn time_arithmetic_wrapped(expr: &mut Expr, scope: &Scope<'_>) {
    if !super::is_time(expr, scope) {
        return;
    }
    let Expr::BinaryOp { left, op: BinaryOperator::Plus | BinaryOperator::Minus, right } = expr else { return };
    let time = if super::is_time(left, scope) { left } else { right };
    let day = Expr::TypedString(datafusion::sql::sqlparser::ast::TypedString {
        data_type: SqlType::Date,
        value: ValueWithSpan { value: Value::SingleQuotedString("1970-01-01".into()), span: datafusion::sql::sqlparser::tokenizer::Span::empty() },
        uses_odbc_syntax: false,
    });
    let on_day = Expr::BinaryOp { left: Box::new(day), op: BinaryOperator::Plus, right: Box::new(take(time)) };
    **time = Expr::Nested(Box::new(on_day));
    *expr = as_olap_time(take(expr));
}

/// DataFusion's `TIME` counts nanoseconds, rhei's time columns microseconds, and DataFusion
/// cannot take the two together (`coalesce(t, '07:00'::time)` did not plan): a cast to time
/// or a time literal is a cast to microseconds. A literal PostgreSQL reads as a time, cast or
/// compared with a time, becomes its microseconds: Arrow's parser does not read `24:00:00`,
/// `1:05pm`, `allballs` or a date or zone around the time. Also the cast inside `time(p)`'s
/// rounding, made in this same walk.
fn time_in_microseconds(expr: &mut Expr, scope: &Scope<'_>) {
    fn is_plain_time(data_type: &SqlType) -> bool {
        matches!(data_type, SqlType::Time(None, TimezoneInfo::None | TimezoneInfo::WithoutTimeZone))
    }
    // A string PostgreSQL reads as a time, as its microseconds.
    fn micros_of(literal: &Expr) -> Option<Expr> {
        let Expr::Value(ValueWithSpan { value: Value::SingleQuotedString(text), .. }) = literal else { return None };
        let micros = crate::value::parse_time_of_day(text).ok()?;
        Some(as_olap_time(Expr::value(Value::Number(micros.to_string(), false))))
    }
    fn literal(expr: &mut Expr) {
        if let Some(micros) = micros_of(expr) {
            *expr = micros;
        }
    }
    let cast = |expr: &mut Expr| {
        let value = match expr {
            Expr::Cast { expr: inner, data_type, .. } if is_plain_time(data_type) => take(inner),
            Expr::TypedString(typed) if is_plain_time(&typed.data_type) => Expr::Value(typed.value.clone()),
            _ => return,
        };
        // A number is no time (Arrow would read it as microseconds).
        let number = match super::unwrap_sign(&value) {
            Expr::Value(ValueWithSpan { value: Value::Number(n, _), .. }) => Some(super::number_literal_type(n).pg_name()),
            other => scope.column_type(other).filter(|t| matches!(t, PgType::Int2 | PgType::Int4 | PgType::Int8 | PgType::Float4 | PgType::Float8 | PgType::Numeric { .. })).map(|t| t.pg_name()),
        };
        if let Some(from) = number {
            *expr = call("rhei_cannot_cast_to_time", vec![string(&from)]);
            return;
        }
        *expr = micros_of(&value).unwrap_or_else(|| as_olap_time(value));
    };
    let is_time = |e: &Expr| super::is_time(e, scope);
    match expr {
        Expr::Function(f) if f.name.to_string() == "rhei_round_time" => {
            if let FunctionArguments::List(list) = &mut f.args
                && let Some(FunctionArg::Unnamed(FunctionArgExpr::Expr(value))) = list.args.first_mut()
            {
                cast(value);
            }
        }
        Expr::BinaryOp { left, op, right } if is_comparison(op) && is_time(left) => literal(right),
        Expr::BinaryOp { left, op, right } if is_comparison(op) && is_time(right) => literal(left),
        Expr::IsDistinctFrom(left, right) | Expr::IsNotDistinctFrom(left, right) if is_time(left) => literal(right),
        Expr::IsDistinctFrom(left, right) | Expr::IsNotDistinctFrom(left, right) if is_time(right) => literal(left),
        Expr::Between { expr: value, low, high, .. } if is_time(value) => {
            literal(low);
            literal(high);
        }
        Expr::InList { expr: value, list, .. } if is_time(value) => list.iter_mut().for_each(literal),
        _ => cast(expr),
    }
}

/// A window ordered by a time is ordered by its microseconds: DataFusion's default RANGE frame
/// refuses a time key ("Cannot run range queries on datatype: Time64"). The order and the
/// peers are the same.
fn window_ordered_by_time_as_number(expr: &mut Expr, scope: &Scope<'_>) {
    let Expr::Function(f) = expr else { return };
    let Some(WindowType::WindowSpec(spec)) = &mut f.over else { return };
    for item in &mut spec.order_by {
        if super::is_time(&item.expr, scope) {
            item.expr = call("arrow_cast", vec![take(&mut item.expr), Expr::value(Value::SingleQuotedString("Int64".into()))]);
        }
    }
}

/// Whether `expr` is a timestamp, timestamptz or time, whose text is PostgreSQL's through
/// `rhei_timestamp_text` (see `olap::udf::TimestampText`).
fn has_timestamp_text(expr: &Expr, scope: &Scope<'_>) -> bool {
    matches!(temporal_type(expr, scope), Some(PgType::Timestamp | PgType::Timestamptz)) || super::is_time(expr, scope)
}

/// `value` cast to a time in microseconds (see [`time_in_microseconds`]).
fn as_olap_time(value: Expr) -> Expr {
    call("arrow_cast", vec![value, Expr::value(Value::SingleQuotedString(OLAP_TIME_TYPE.into()))])
}

/// The Arrow type of a time in the OLAP engine, as `arrow_cast` names it.
pub(crate) const OLAP_TIME_TYPE: &str = "Time64(µs)";

/// `to_date(text, pattern)` and `to_timestamp(text, pattern)` read PostgreSQL's patterns (see
/// `datetime_input`; DataFusion's take chrono's), a timestamp in the session's zone.
fn datetime_input_for_olap(expr: &mut Expr, zone: TimeZone) {
    let Expr::Function(f) = expr else { return };
    let FunctionArguments::List(list) = &mut f.args else { return };
    if list.args.len() != 2 {
        return;
    }
    let renamed = match f.name.to_string().to_ascii_lowercase().as_str() {
        "to_date" | "pg_catalog.to_date" => "rhei_to_date",
        "to_timestamp" | "pg_catalog.to_timestamp" => {
            list.args.push(FunctionArg::Unnamed(FunctionArgExpr::Expr(Expr::value(Value::SingleQuotedString(zone.arrow_name())))));
            "rhei_to_timestamp"
        }
        _ => return,
    };
    f.name = datafusion::sql::sqlparser::ast::ObjectName::from(vec![Ident::new(renamed)]);
}

/// `array_agg(x ORDER BY x DESC)` as the reverse of `array_agg(x ORDER BY x)` (NULLs placed
/// the other way round), which is the same array since the order is by the value itself:
/// DataFusion 53 merges an `array_agg` it runs reversed, beside one ordered the other way, in
/// the wrong order (apache/datafusion#22597; `array_agg(x ORDER BY x), array_agg(DISTINCT x
/// ORDER BY x DESC)` gave both ascending).
fn array_agg_descending_reversed(expr: &mut Expr) {
    use datafusion::sql::sqlparser::ast::FunctionArgumentClause;
    let Expr::Function(f) = expr else { return };
    if !f.name.to_string().eq_ignore_ascii_case("array_agg") || f.over.is_some() {
        return;
    }
    let FunctionArguments::List(list) = &mut f.args else { return };
    let [FunctionArg::Unnamed(FunctionArgExpr::Expr(value))] = list.args.as_slice() else { return };
    let value = value.clone();
    let Some(FunctionArgumentClause::OrderBy(order)) = list.clauses.iter_mut().find(|c| matches!(c, FunctionArgumentClause::OrderBy(_))) else { return };
    let [item] = order.as_mut_slice() else { return };
    if item.expr != value || item.options.asc != Some(false) {
        return;
    }
    // Descending puts NULLs first unless told otherwise; ascending the other way round.
    let nulls_first = item.options.nulls_first.unwrap_or(true);
    item.options.asc = None;
    item.options.nulls_first = Some(!nulls_first);
    let gathered = std::mem::replace(expr, Expr::value(Value::Null));
    *expr = call("array_reverse", vec![gathered]);
}

/// `percentile_disc(f) WITHIN GROUP (ORDER BY x)` (DataFusion has none): the first value, in
/// that order, whose position reaches the fraction `f` of the non-NULL values, picked from
/// them gathered in order (`array_agg`), as PostgreSQL defines it. They are gathered ascending
/// and a descending order counts from the end (the order is by the value itself, so ties are
/// equal values): DataFusion 53 merges an `array_agg` it runs reversed, beside one ordered the
/// other way, in the wrong order (apache/datafusion#22597).
fn percentile_disc_for_olap(expr: &mut Expr) {
    let Expr::Function(f) = expr else { return };
    if !f.name.to_string().eq_ignore_ascii_case("percentile_disc") || f.over.is_some() {
        return;
    }
    let ([order], FunctionArguments::List(list)) = (f.within_group.as_slice(), &f.args) else { return };
    let [FunctionArg::Unnamed(FunctionArgExpr::Expr(fraction))] = list.args.as_slice() else { return };
    let value = &order.expr;
    let filter = f.filter.as_ref().map(|c| format!(" AND ({c})")).unwrap_or_default();
    let count = format!("count({value}){}", f.filter.as_ref().map(|c| format!(" FILTER (WHERE {c})")).unwrap_or_default());
    // PostgreSQL's row number, in float8: ceil(f * n), the first row for anything below 1;
    // a fraction outside 0..1 fails (see `olap::udf::Percentile`), a NULL one gives NULL.
    let row = format!("CAST(ceil(rhei_percentile({fraction}) * CAST({count} AS DOUBLE PRECISION)) AS BIGINT)");
    let position = format!("CASE WHEN {row} < 1 THEN 1 ELSE {row} END");
    let position = if order.options.asc == Some(false) { format!("{count} + 1 - {position}") } else { position };
    let sql = format!("array_element(array_agg({value} ORDER BY {value}) FILTER (WHERE ({value}) IS NOT NULL{filter}), {position})");
    if let Ok(picked) = datafusion::sql::sqlparser::parser::Parser::new(&datafusion::sql::sqlparser::dialect::PostgreSqlDialect {})
        .try_with_sql(&sql)
        .and_then(|mut p| p.parse_expr())
    {
        *expr = picked;
    }
}

/// `mode() WITHIN GROUP (ORDER BY v)`, which DataFusion has not: the most frequent value, of
/// the values sorted (`olap::udf::Mode`), the first of equally frequent ones in the order
/// asked, as PostgreSQL's (so the smallest ascending, the largest descending). The values are
/// always gathered ascending (apache/datafusion#22597 merges opposite orderings of one query).
fn mode_for_olap(expr: &mut Expr, scope: &Scope<'_>) {
    let Expr::Function(f) = expr else { return };
    if !f.name.to_string().eq_ignore_ascii_case("mode") || f.over.is_some() {
        return;
    }
    let ([order], FunctionArguments::List(list)) = (f.within_group.as_slice(), &f.args) else { return };
    if !list.args.is_empty() {
        return;
    }
    let value = &order.expr;
    let filter = f.filter.as_ref().map(|c| format!(" AND ({c})")).unwrap_or_default();
    let descending = order.options.asc == Some(false);
    let mode = format!("rhei_mode(array_agg({value} ORDER BY {value}) FILTER (WHERE ({value}) IS NOT NULL{filter}), {descending})");
    // An unconstrained numeric keeps its own digits (see `olap::udf::Unconstrained`).
    let unconstrained = scope.column_type(value) == Some(PgType::Numeric { precision: None, scale: None });
    let sql = if unconstrained { format!("rhei_unconstrained({mode})") } else { mode };
    if let Ok(picked) = datafusion::sql::sqlparser::parser::Parser::new(&datafusion::sql::sqlparser::dialect::PostgreSqlDialect {})
        .try_with_sql(&sql)
        .and_then(|mut p| p.parse_expr())
    {
        *expr = picked;
    }
}

/// An interval constant in DataFusion's units: PostgreSQL reads forms DataFusion does not
/// (`'1 day 02:00'`, `'@ 2 hours ago'`, `'P1DT2H'`, `'2' HOUR`), so rhei reads it and writes
/// it again as `M months D days U microseconds`. One that does not read is left for DataFusion
/// to refuse, and so is one with a range or precision (`'1:30' MINUTE TO SECOND`,
/// `::interval(0)`, `'1 day 2 hours' DAY`), which rhei does not read (see
/// [`super::interval_literal`]).
fn interval_constant_for_olap(expr: &mut Expr) {
    if !matches!(expr, Expr::Interval(_) | Expr::Cast { data_type: SqlType::Interval { .. }, .. } | Expr::TypedString(_)) {
        return;
    }
    let Ok(Some(interval)) = super::interval_literal(expr) else { return };
    *expr = olap_interval_constant(interval);
}

/// An interval constant as DataFusion reads it.
fn olap_interval_constant(interval: crate::value::Interval) -> Expr {
    let text = format!("{} months {} days {} microseconds", interval.months, interval.days, interval.micros);
    Expr::Interval(datafusion::sql::sqlparser::ast::Interval {
        value: Box::new(Expr::value(Value::SingleQuotedString(text))),
        leading_field: None,
        leading_precision: None,
        last_field: None,
        fractional_seconds_precision: None,
    })
}

/// The values given to PostgreSQL's json builders become JSON text by their Arrow type
/// (`rhei_json_fragment`), which the builders take, as SQLite's take the same made by
/// `translate::json_builder_values`; `json[b]_agg(x ...)` gathers the fragments with
/// DataFusion's `array_agg` (its ORDER BY, DISTINCT and FILTER included) and joins them, and
/// `json[b]_object_agg(k, v ...)` the same with each key and value as one member text.
fn json_builders_for_olap(expr: &mut Expr) {
    let Expr::Function(f) = expr else { return };
    let name = f.name.to_string().to_ascii_lowercase();
    let FunctionArguments::List(list) = &mut f.args else { return };
    let values: fn(usize) -> bool = match name.as_str() {
        "json_build_object" | "jsonb_build_object" | "rhei_row_to_json" | "rhei_row_to_jsonb" | "json_object_agg" | "jsonb_object_agg" => |i| i % 2 == 1,
        "json_build_array" | "jsonb_build_array" | "json_agg" | "jsonb_agg" | "rhei_json_agg_rows" => |_| true,
        _ => return,
    };
    for (i, arg) in list.args.iter_mut().enumerate() {
        if let FunctionArg::Unnamed(FunctionArgExpr::Expr(value)) = arg
            && values(i)
        {
            let inner = std::mem::replace(value, Expr::value(Value::Null));
            // json_agg writes an array item on a line of its own, which its item says.
            *value = call(if name == "json_agg" { "rhei_json_agg_item" } else { "rhei_json_fragment" }, vec![inner]);
        }
    }
    // `json[b]_object_agg(k, v)` gathers `rhei_json_member(k, v)`, one text per pair.
    if matches!(name.as_str(), "json_object_agg" | "jsonb_object_agg")
        && let [FunctionArg::Unnamed(FunctionArgExpr::Expr(key)), FunctionArg::Unnamed(FunctionArgExpr::Expr(value))] = list.args.as_mut_slice()
    {
        let key = std::mem::replace(key, Expr::value(Value::Null));
        let value = std::mem::replace(value, Expr::value(Value::Null));
        list.args = vec![FunctionArg::Unnamed(FunctionArgExpr::Expr(call("rhei_json_member", vec![key, value])))];
    }
    if let Some(finish) = match name.as_str() {
        "json_agg" => Some("rhei_json_agg_array"),
        "rhei_json_agg_rows" => Some("rhei_json_agg_rows_array"),
        "jsonb_agg" => Some("rhei_jsonb_agg_array"),
        "json_object_agg" => Some("rhei_json_object_agg"),
        "jsonb_object_agg" => Some("rhei_jsonb_object_agg"),
        _ => None,
    } {
        f.name = datafusion::sql::sqlparser::ast::ObjectName::from(vec![datafusion::sql::sqlparser::ast::Ident::new("array_agg")]);
        let gathered = std::mem::replace(expr, Expr::value(Value::Null));
        *expr = call(finish, vec![gathered]);
    }
}
