//! Array values and array columns in statements. SQLite holds an array as a JSON array of its
//! elements' storage values (see `catalog::PgType::Array`): on SQLite, `ARRAY[...]` is built
//! with `json_array`, a cast to an array type reads its value with `rhei_array_in`, `a[i]` and
//! the containment operators call `oltp::arrays`, an unnest of values is a derived table over
//! its subscripts and one of another FROM item's column the table-valued `rhei_unnest`
//! (`oltp::unnest`). On DataFusion, which has arrays, a string
//! literal meeting an array column is read as that column's type, as PostgreSQL reads it, the
//! containment operators are its array functions (both engines would otherwise take `@>` for
//! jsonb's), and `FROM t, unnest(t.a)` a select-list unnest it can plan.

use std::ops::ControlFlow;

use datafusion::sql::sqlparser::ast::{
    AccessExpr, BinaryOperator, DataType as SqlType, Expr, Ident, OrderByKind, Query, SetExpr, Statement, Subscript, Value, ValueWithSpan, VisitMut, VisitorMut,
    visit_expressions_mut,
};

use super::{GroupByExt, Scope, TranslateOptions, array_element_type, builtin_name, call, first_arg, positional_args, positional_args_mut, string, zone_argument};
use crate::catalog::{PgType, normalize_ident};
use crate::error::{EngineError, Result};

/// The element type of `expr` where the statement makes it an array of a known type: an array
/// column, or a cast to an array type.
fn element_type(expr: &Expr, scope: &Scope<'_>) -> Option<PgType> {
    match expr {
        Expr::Nested(inner) => element_type(inner, scope),
        Expr::Cast { data_type: SqlType::Array(element), .. } => array_element_type(element).ok().flatten(),
        // COALESCE and NULLIF have their arguments' type.
        Expr::Function(f) if matches!(builtin_name(&f.name).as_deref(), Some("coalesce" | "nullif")) => {
            positional_args(f).into_iter().find_map(|e| element_type(e, scope))
        }
        other => match scope.column_type(other) {
            Some(PgType::Array(element)) => Some(element.ty()),
            _ => None,
        },
    }
}

/// Functions whose result is an array.
const ARRAY_RESULTS: &[&str] = &[
    // What SQLite's translation makes of `ARRAY[...]` and of casts to an array type.
    "json_array", "rhei_array_in", "rhei_array_cast",
    "array_append", "array_prepend", "array_cat", "array_remove", "array_replace", "trim_array", "string_to_array", "regexp_split_to_array", "array_agg",
    "regexp_match", "rhei_regexp_matches_row", "rhei_regexp_matches_rows",
    // DataFusion's, which `array_agg(x ORDER BY x DESC)` becomes there.
    "array_reverse",
];

/// Whether `expr` is an array value: one of [`element_type`]'s, `ARRAY[...]`, or a function,
/// `||`, COALESCE, NULLIF or CASE giving one.
pub(crate) fn is_array(expr: &Expr, scope: &Scope<'_>) -> bool {
    match expr {
        Expr::Array(_) => true,
        Expr::Nested(inner) => is_array(inner, scope),
        Expr::Function(f) => match builtin_name(&f.name).as_deref() {
            Some("coalesce" | "nullif") => positional_args(f).into_iter().any(|e| is_array(e, scope)),
            Some(name) => ARRAY_RESULTS.contains(&name),
            None => false,
        },
        Expr::Case { conditions, else_result, .. } => {
            conditions.iter().any(|c| is_array(&c.result, scope)) || else_result.as_deref().is_some_and(|e| is_array(e, scope))
        }
        Expr::BinaryOp { left, op: BinaryOperator::StringConcat, right } => is_array(left, scope) || is_array(right, scope),
        other => element_type(other, scope).is_some(),
    }
}

fn is_string_literal(expr: &Expr) -> bool {
    matches!(expr, Expr::Value(ValueWithSpan { value: Value::SingleQuotedString(_), .. }))
}

/// The SQL type `element[]`.
fn array_sql_type(element: PgType) -> Option<SqlType> {
    let ty = datafusion_type(element)?;
    Some(SqlType::Array(datafusion::sql::sqlparser::ast::ArrayElemTypeDef::SquareBracket(Box::new(ty), None)))
}

/// The operands of a containment operator over arrays (`@>`, `<@`, `&&`), with whether it asks
/// for overlap rather than containment, and the operands in the order containment takes them
/// (`b <@ a` is `a @> b`).
fn containment(expr: &mut Expr, scope: &Scope<'_>) -> Option<(bool, Expr, Expr)> {
    let Expr::BinaryOp { left, op, right } = expr else { return None };
    if !matches!(op, BinaryOperator::AtArrow | BinaryOperator::ArrowAt | BinaryOperator::PGOverlap) || !(is_array(left, scope) || is_array(right, scope)) {
        return None;
    }
    let overlap = matches!(op, BinaryOperator::PGOverlap);
    let swap = matches!(op, BinaryOperator::ArrowAt);
    let (left, right) = (std::mem::replace(left.as_mut(), super::null()), std::mem::replace(right.as_mut(), super::null()));
    Some(if swap { (overlap, right, left) } else { (overlap, left, right) })
}

/// An operand with no array type of its own read as the element type of the other operand, an
/// array column's (or a cast's), by `typed`: on SQLite any such operand (a literal, `ARRAY[...]`,
/// a parameter; `rhei_array_in` leaves one already in storage form as it is), on DataFusion
/// string literals only (`only_literals`).
fn operands_typed(left: &mut Expr, right: &mut Expr, scope: &Scope<'_>, only_literals: bool, typed: impl Fn(&mut Expr, PgType)) {
    let untyped = |e: &Expr| if only_literals { is_string_literal(e) } else { element_type(e, scope).is_none() && !is_null(e) };
    // Beside a string literal, an array whose type only its elements or its function tell.
    let typed_side = |e: &Expr, other: &Expr| element_type(e, scope).or_else(|| if is_string_literal(other) { inferred_element_type(e, scope) } else { None });
    if untyped(right)
        && let Some(element) = typed_side(left, right)
    {
        typed(right, element);
    } else if untyped(left)
        && let Some(element) = typed_side(right, left)
    {
        typed(left, element);
    }
}

/// The element type of an array value the statement does not declare, as PostgreSQL would
/// resolve it: `ARRAY[1, 2]` of integers (bigint here, so numbers keep the form SQLite built
/// the array with), of doubles for numbers with a fraction, of text for strings; an array
/// function's result of its array argument's type (text for `string_to_array`).
fn inferred_element_type(expr: &Expr, scope: &Scope<'_>) -> Option<PgType> {
    match expr {
        Expr::Nested(inner) => inferred_element_type(inner, scope),
        Expr::Array(array) => array.elem.iter().find(|e| !is_null(e)).and_then(|e| match e {
            Expr::Value(ValueWithSpan { value: Value::Number(n, _), .. }) => Some(if n.contains(['.', 'e', 'E']) { PgType::Float8 } else { PgType::Int8 }),
            Expr::Value(ValueWithSpan { value: Value::SingleQuotedString(_), .. }) => Some(PgType::Text),
            Expr::Value(ValueWithSpan { value: Value::Boolean(_), .. }) => Some(PgType::Bool),
            Expr::Cast { data_type, .. } => PgType::from_sql(data_type).ok().map(|d| d.ty),
            other => scope.column_type(other),
        }),
        Expr::Function(f) => {
            let first = first_arg(f);
            match builtin_name(&f.name)?.as_str() {
                "string_to_array" | "regexp_split_to_array" => Some(PgType::Text),
                // Of its argument's type (`array_to_string(array_agg(day), ',')` writes dates).
                "array_agg" => first.and_then(|a| match a {
                    Expr::Cast { data_type, .. } => PgType::from_sql(data_type).ok().map(|d| d.ty),
                    other => scope.column_type(other),
                }),
                "array_append" | "array_cat" | "array_remove" | "array_replace" | "trim_array" => {
                    first.and_then(|a| element_type(a, scope).or_else(|| inferred_element_type(a, scope)))
                }
                _ => None,
            }
        }
        _ => element_type(expr, scope),
    }
}

/// [`operands_typed`] for string literals only.
fn literals_typed(left: &mut Expr, right: &mut Expr, scope: &Scope<'_>, typed: impl Fn(&mut Expr, PgType)) {
    operands_typed(left, right, scope, true, typed);
}

fn is_null(expr: &Expr) -> bool {
    matches!(expr, Expr::Value(ValueWithSpan { value: Value::Null, .. }))
}

/// What PostgreSQL resolves beside an array as an array too: a string literal, NULL, a parameter.
fn is_untyped(expr: &Expr) -> bool {
    is_string_literal(expr) || is_null(expr) || matches!(expr, Expr::Value(ValueWithSpan { value: Value::Placeholder(_), .. }))
}

/// The functions whose second argument is an element of their first, an array.
const ELEMENT_ARGUMENTS: &[&str] = &["array_append", "array_remove", "array_position"];

/// SQLite: `@>`, `<@`, `&&` and `||` over arrays as rhei's functions, before they are taken
/// for jsonb's or text's; casts to text or to another array type; and the operand
/// or element meeting an array column read as the column's (element) type, so that `prices =
/// ARRAY[1.5]`, `'2024-01-01' = ANY (days)` and `array_position(prices, 2)` compare stored
/// forms (`"1.50"`, a day number).
pub(crate) fn operators_for_sqlite(expr: &mut Expr, scope: &Scope<'_>, opts: TranslateOptions) {
    let read = |value: &mut Expr, element: PgType| {
        let taken = std::mem::replace(value, super::null());
        *value = call("rhei_array_in", vec![taken, string(&element.pg_name()), zone_argument(opts)]);
    };
    let as_element = |value: &mut Expr, element: PgType| {
        let taken = std::mem::replace(value, super::null());
        *value = super::convert_expr(element, taken, opts);
    };
    match expr {
        // An array as text is PostgreSQL's text for it, not the JSON SQLite holds.
        Expr::Cast { expr: inner, data_type: SqlType::Text | SqlType::Varchar(None) | SqlType::CharacterVarying(None) | SqlType::String(None), .. }
            if is_array(inner, scope) =>
        {
            let element = element_type(inner, scope).unwrap_or(PgType::Text);
            let value = std::mem::replace(inner.as_mut(), super::null());
            *expr = call("rhei_array_text", vec![value, string(&element.pg_name()), zone_argument(opts)]);
            return;
        }
        // To an array of another type element by element, as each element would be cast (a day
        // number is no text element).
        Expr::Cast { expr: inner, data_type: SqlType::Array(target), .. } => {
            if let Some(source) = element_type(inner, scope)
                && let Ok(Some(target)) = array_element_type(target)
                && target != source
            {
                let value = std::mem::replace(inner.as_mut(), super::null());
                *expr = call("rhei_array_cast", vec![value, string(&source.pg_name()), string(&target.pg_name()), zone_argument(opts)]);
            }
            return;
        }
        Expr::Function(f) => {
            let Some(name) = builtin_name(&f.name) else { return };
            // Elements are written as their type's output (a day number is no date's text).
            if name == "array_to_string" {
                let args = positional_args(f);
                if let [array, _, ..] = args.as_slice()
                    && args.len() <= 3
                {
                    let element = element_type(array, scope).or_else(|| inferred_element_type(array, scope)).unwrap_or(PgType::Text);
                    let mut args: Vec<Expr> = args.into_iter().cloned().collect();
                    args.splice(1..1, [string(&element.pg_name()), zone_argument(opts)]);
                    *expr = call("rhei_array_to_string", args);
                }
                return;
            }
            let mut args = positional_args_mut(f);
            let (array, element) = match (name.as_str(), args.as_mut_slice()) {
                (known, [array, element]) if ELEMENT_ARGUMENTS.contains(&known) => (&**array, &mut **element),
                ("array_prepend", [element, array]) => (&**array, &mut **element),
                _ => return,
            };
            if let Some(ty) = element_type(array, scope)
                && !is_null(element)
            {
                as_element(element, ty);
            }
            return;
        }
        _ => {}
    }
    let Expr::BinaryOp { left, op, right } = expr else { return };
    // `||` with an array: a string literal, NULL or a parameter is an array too (as
    // PostgreSQL resolves it), any other value an element.
    if matches!(op, BinaryOperator::StringConcat) && (is_array(left, scope) || is_array(right, scope)) {
        let left_array = is_array(left, scope) || is_untyped(left);
        let right_array = is_array(right, scope) || is_untyped(right);
        let name = match (left_array, right_array) {
            (true, true) => {
                operands_typed(left, right, scope, false, read);
                "array_cat"
            }
            (true, false) => {
                if let Some(ty) = element_type(left, scope) {
                    as_element(right, ty);
                }
                "array_append"
            }
            _ => {
                if let Some(ty) = element_type(right, scope) {
                    as_element(left, ty);
                }
                "array_prepend"
            }
        };
        let (left, right) = (std::mem::replace(left.as_mut(), super::null()), std::mem::replace(right.as_mut(), super::null()));
        *expr = call(name, vec![left, right]);
        return;
    }
    // `<` and its kin compare sort keys, element by element (see `oltp::arrays`).
    if matches!(op, BinaryOperator::Lt | BinaryOperator::LtEq | BinaryOperator::Gt | BinaryOperator::GtEq)
        && let Some(element) = element_type(left, scope).or_else(|| element_type(right, scope))
    {
        operands_typed(left, right, scope, false, read);
        for operand in [left, right] {
            let value = std::mem::replace(operand.as_mut(), super::null());
            **operand = sort_key(value, element);
        }
        return;
    }
    if !matches!(op, BinaryOperator::Eq | BinaryOperator::NotEq | BinaryOperator::AtArrow | BinaryOperator::ArrowAt | BinaryOperator::PGOverlap) {
        return;
    }
    operands_typed(left, right, scope, false, read);
    if let Some((overlap, left, right)) = containment(expr, scope) {
        *expr = call(if overlap { "rhei_array_overlaps" } else { "rhei_array_contains" }, vec![left, right]);
    }
}

/// SQLite: beside an element of a known type, a string literal in `ARRAY[...]` is one of that
/// type (`ARRAY['2024-01-01'::date, '2024-02-01']` holds two day numbers; the second was
/// text). Before casts become calls, which hide the type.
pub(crate) fn array_literal_elements_for_sqlite(expr: &mut Expr, scope: &Scope<'_>, opts: TranslateOptions) {
    if let Some(element) = literal_element_type(expr, scope)
        && let Expr::Array(array) = expr
    {
        for literal in array.elem.iter_mut().filter(|e| is_string_literal(e)) {
            let taken = std::mem::replace(literal, super::null());
            *literal = super::convert_expr(element, taken, opts);
        }
    }
}

/// The type a string literal in `ARRAY[...]` takes beside typed elements: theirs without its
/// length or precision (PostgreSQL resolves the common type so: `ARRAY[1.5::numeric(3,1),
/// '12.345']` keeps `12.345`); `None` where literals stay text.
fn literal_element_type(array: &Expr, scope: &Scope<'_>) -> Option<PgType> {
    match inferred_element_type(array, scope)? {
        PgType::Text | PgType::Varchar(_) | PgType::Bpchar(_) => None,
        PgType::Numeric { .. } => Some(PgType::Numeric { precision: None, scale: None }),
        other => Some(other),
    }
}

/// `rhei_array_key(value, element type)`: bytes that sort as PostgreSQL orders the arrays.
fn sort_key(value: Expr, element: PgType) -> Expr {
    call("rhei_array_key", vec![value, string(&element.pg_name())])
}

/// SQLite: ORDER BY an array (written out, by output name or by position) sorts by its
/// [`sort_key`]; the JSON text SQLite holds would sort `[10]` before `[9]`.
///
/// # Errors
/// ORDER BY an array column of a set operation (0A000): SQLite orders one by its output
/// columns only.
pub(crate) fn order_for_sqlite(stmt: &mut Statement, scope: &Scope<'_>) -> Result<()> {
    order_by_keys(stmt, scope, false)
}

/// DataFusion: ORDER BY an array sorts by `rhei_array_key` (its own ordering of lists puts a
/// NULL element first), except in a DISTINCT select or a set operation, which DataFusion
/// orders only by their output columns.
pub(crate) fn order_for_olap(stmt: &mut Statement, scope: &Scope<'_>) {
    let _ = order_by_keys(stmt, scope, true);
}

fn order_by_keys(stmt: &mut Statement, scope: &Scope<'_>, olap: bool) -> Result<()> {
    struct ArrayOrder<'s, 'c> {
        scope: &'s Scope<'c>,
        olap: bool,
        failure: Option<EngineError>,
    }
    impl VisitorMut for ArrayOrder<'_, '_> {
        type Break = ();
        fn pre_visit_query(&mut self, query: &mut Query) -> ControlFlow<()> {
            let Some(order_by) = query.order_by.as_mut() else { return ControlFlow::Continue(()) };
            let OrderByKind::Expressions(items) = &mut order_by.kind else { return ControlFlow::Continue(()) };
            let set_operation = matches!(query.body.as_ref(), SetExpr::SetOperation { .. });
            if self.olap && set_operation {
                return ControlFlow::Continue(());
            }
            // DataFusion orders a DISTINCT select only by its outputs: a plain one groups
            // instead (see `distinct_as_grouping`), where it sorts an array.
            let distinct = matches!(query.body.as_ref(), SetExpr::Select(select) if select.distinct.is_some());
            if self.olap && distinct {
                let projection = super::intervals::output_columns(&query.body);
                let sorted: Vec<Expr> = items.iter().map(|item| super::intervals::output_expression(&item.expr, projection).unwrap_or(&item.expr).clone()).collect();
                let sorts_array = sorted.iter().any(|e| element_type(e, self.scope).is_some());
                let SetExpr::Select(select) = query.body.as_mut() else { return ControlFlow::Continue(()) };
                if !sorts_array || !super::distinct_as_grouping(select, &sorted) {
                    return ControlFlow::Continue(());
                }
            }
            let projection = super::intervals::output_columns(&query.body);
            for item in items {
                let target = super::intervals::output_expression(&item.expr, projection).unwrap_or(&item.expr);
                if let Some(element) = element_type(target, self.scope) {
                    if set_operation {
                        self.failure = Some(EngineError::unsupported("ORDER BY an array of a set operation on SQLite"));
                        return ControlFlow::Break(());
                    }
                    item.expr = if self.olap { call("rhei_array_key", vec![target.clone()]) } else { sort_key(target.clone(), element) };
                }
            }
            ControlFlow::Continue(())
        }
    }
    let mut order = ArrayOrder { scope, olap, failure: None };
    let _ = stmt.visit(&mut order);
    order.failure.map_or(Ok(()), Err)
}

/// DataFusion: a string literal meeting an array column is an array of the column's type (it
/// would compare a list with text), and `@>`, `<@`, `&&` over arrays are its array functions.
pub(crate) fn operators_for_olap(expr: &mut Expr, scope: &Scope<'_>) {
    let read = |literal: &mut Expr, element: PgType| {
        if let Some(ty) = array_sql_type(element) {
            let text = std::mem::replace(literal, super::null());
            *literal = super::cast(text, ty);
            super::olap::arrays_for_olap(literal);
        }
    };
    match expr {
        // Beside an element of a known type, a string literal is one of that type (DataFusion
        // cannot unify a date and text in `ARRAY['2024-01-01'::date, '2024-02-01']`).
        Expr::Array(_) => {
            if let Some(ty) = literal_element_type(expr, scope).and_then(datafusion_type)
                && let Expr::Array(array) = expr
            {
                for literal in array.elem.iter_mut().filter(|e| is_string_literal(e)) {
                    let taken = std::mem::replace(literal, super::null());
                    *literal = super::cast(taken, ty.clone());
                }
            }
            return;
        }
        // String literals beside an array in IN, IS DISTINCT FROM and CASE are of its type.
        Expr::InList { expr: value, list, .. } => {
            if let Some(element) = element_type(value, scope) {
                list.iter_mut().filter(|e| is_string_literal(e)).for_each(|e| read(e, element));
            }
            return;
        }
        Expr::IsDistinctFrom(left, right) | Expr::IsNotDistinctFrom(left, right) => {
            literals_typed(left, right, scope, read);
            return;
        }
        Expr::Case { conditions, else_result, .. } => {
            let results = conditions.iter_mut().map(|c| &mut c.result).chain(else_result.iter_mut().map(|e| e.as_mut()));
            let mut results: Vec<&mut Expr> = results.collect();
            if let Some(element) = results.iter().find_map(|r| element_type(r, scope)) {
                results.iter_mut().filter(|r| is_string_literal(r)).for_each(|r| read(r, element));
            }
            return;
        }
        // DataFusion counts a negative subscript from the end; PostgreSQL has no such element.
        Expr::CompoundFieldAccess { root, access_chain } if is_array(root, scope) => {
            for access in access_chain.iter_mut() {
                if let AccessExpr::Subscript(Subscript::Index { index }) = access
                    && !matches!(index, Expr::Value(ValueWithSpan { value: Value::Number(n, _), .. }) if n.parse::<i64>().is_ok_and(|n| n >= 1))
                {
                    let at = std::mem::replace(index, super::null());
                    let below_one = Expr::BinaryOp { left: Box::new(at.clone()), op: BinaryOperator::Lt, right: Box::new(Expr::value(Value::Number("1".into(), false))) };
                    *index = super::null_when(below_one, at);
                }
            }
            return;
        }
        _ => {}
    }
    // A cast to an array of varchar(n) (Django casts its list parameters so) is one to text[]
    // there: DataFusion has no varchar of a length.
    if let Expr::Cast { data_type: data_type @ SqlType::Array(_), .. } = expr
        && let SqlType::Array(element) = &*data_type
        && let Ok(Some(PgType::Varchar(_) | PgType::Bpchar(_) | PgType::Uuid)) = array_element_type(element)
    {
        *data_type = SqlType::Array(datafusion::sql::sqlparser::ast::ArrayElemTypeDef::SquareBracket(Box::new(SqlType::Text), None));
        return;
    }
    if let Expr::Function(f) = expr
        && let Some(name) = builtin_name(&f.name)
    {
        let mut args = positional_args_mut(f);
        match (name.as_str(), args.as_mut_slice()) {
            // A string literal beside an array is one of its type (DataFusion cannot find a
            // common type for a list and text).
            ("coalesce" | "nullif", args) => {
                if let Some(element) = args.iter().find_map(|a| element_type(a, scope)) {
                    args.iter_mut().filter(|a| is_string_literal(a)).for_each(|a| read(a, element));
                }
            }
            // An element is cast to the array's element type, which DataFusion would not do
            // for a numeric(p,s) array and a number of another scale, or a date and text.
            (known, [array, element]) if ELEMENT_ARGUMENTS.contains(&known) => element_cast(array, element, scope),
            ("array_prepend", [element, array]) => element_cast(array, element, scope),
            // Booleans are written `t` and `f`, as their output is (DataFusion writes `true`).
            ("array_to_string", [array, ..]) if element_type(array, scope).or_else(|| inferred_element_type(array, scope)) == Some(PgType::Bool) => {
                let text_array = super::cast(std::mem::replace(&mut **array, super::null()), array_sql_type(PgType::Text).unwrap_or(SqlType::Text));
                let replaced = call("array_replace_all", vec![text_array, string("true"), string("t")]);
                **array = call("array_replace_all", vec![replaced, string("false"), string("f")]);
            }
            _ => {}
        }
        return;
    }
    let Expr::BinaryOp { left, op, right } = expr else { return };
    // `<` and its kin compare sort keys, element by element (DataFusion's comparison of lists
    // takes a NULL element as the smallest).
    if matches!(op, BinaryOperator::Lt | BinaryOperator::LtEq | BinaryOperator::Gt | BinaryOperator::GtEq)
        && (element_type(left, scope).is_some() || element_type(right, scope).is_some())
    {
        literals_typed(left, right, scope, read);
        for operand in [left, right] {
            let value = std::mem::replace(operand.as_mut(), super::null());
            **operand = call("rhei_array_key", vec![value]);
        }
        return;
    }
    // An array `||` NULL is the array (PostgreSQL takes NULL for an array there, DataFusion
    // for an element).
    if matches!(op, BinaryOperator::StringConcat) {
        if is_null(right) && is_array(left, scope) {
            *expr = std::mem::replace(left.as_mut(), super::null());
            return;
        }
        if is_null(left) && is_array(right, scope) {
            *expr = std::mem::replace(right.as_mut(), super::null());
            return;
        }
    }
    literals_typed(left, right, scope, read);
    if let Some((overlap, left, right)) = containment(expr, scope) {
        *expr = call(if overlap { "array_has_any" } else { "array_has_all" }, vec![left, right]);
    }
}

/// `x = ANY (a)` or `x <> ALL (a)` where `a` names a column (an array column, as nothing
/// else can stand there).
pub(crate) fn is_column_membership(expr: &Expr) -> bool {
    let is_column = |e: &Expr| matches!(e, Expr::Identifier(_) | Expr::CompoundIdentifier(_));
    match expr {
        Expr::AnyOp { compare_op: BinaryOperator::Eq, right, .. } | Expr::AllOp { compare_op: BinaryOperator::NotEq, right, .. } => is_column(right),
        _ => false,
    }
}

/// DataFusion: `x = ANY (a)` over an array column with PostgreSQL's answers, which
/// `array_has` alone does not give: false for an empty array, NULL for a NULL array, and NULL
/// when no element matched but `x` or an element is NULL. `x <> ALL (a)` is its negation.
pub(crate) fn membership_for_olap(expr: &mut Expr, scope: &Scope<'_>) {
    if !is_column_membership(expr) {
        return;
    }
    let negated = matches!(expr, Expr::AllOp { .. });
    let (Expr::AnyOp { left, right, .. } | Expr::AllOp { left, right, .. }) = expr else { return };
    let (mut value, array) = (left.as_ref().clone(), right.as_ref().clone());
    element_cast(&array, &mut value, scope);
    let is_null = |e: &Expr| Expr::IsNull(Box::new(e.clone()));
    let boolean = |b: bool| Expr::value(Value::Boolean(b));
    let when = |condition: Expr, result: Expr| datafusion::sql::sqlparser::ast::CaseWhen { condition, result };
    let empty = Expr::BinaryOp { left: Box::new(call("cardinality", vec![array.clone()])), op: BinaryOperator::Eq, right: Box::new(Expr::value(Value::Number("0".into(), false))) };
    let mut null_element = super::null();
    if let Some(ty) = element_type(&array, scope).and_then(datafusion_type) {
        null_element = super::cast(null_element, ty);
    }
    let holds_null = Expr::IsNotNull(Box::new(call("array_position", vec![array.clone(), null_element])));
    let membership = Expr::Case {
        case_token: datafusion::sql::sqlparser::ast::helpers::attached_token::AttachedToken::empty(),
        end_token: datafusion::sql::sqlparser::ast::helpers::attached_token::AttachedToken::empty(),
        operand: None,
        conditions: vec![
            when(is_null(&array), super::null()),
            when(empty, boolean(false)),
            when(is_null(&value), super::null()),
            when(call("array_has", vec![array, value]), boolean(true)),
            when(holds_null, super::null()),
        ],
        else_result: Some(Box::new(boolean(false))),
    };
    *expr = if negated { Expr::UnaryOp { op: datafusion::sql::sqlparser::ast::UnaryOperator::Not, expr: Box::new(Expr::Nested(Box::new(membership))) } } else { membership };
}

/// DataFusion: `element` cast to the element type of `array`, where it has a known one.
fn element_cast(array: &Expr, element: &mut Expr, scope: &Scope<'_>) {
    if is_null(element) {
        return;
    }
    let Some(ty) = element_type(array, scope).and_then(datafusion_type) else { return };
    let value = std::mem::replace(element, super::null());
    *element = super::cast(value, ty);
}

/// The SQL type of `element` (`numeric(6,2)`), for a cast on DataFusion.
fn datafusion_type(element: PgType) -> Option<SqlType> {
    // DataFusion has no varchar of a length; its elements are text there.
    if matches!(element, PgType::Text | PgType::Varchar(_) | PgType::Bpchar(_) | PgType::Uuid) {
        return Some(SqlType::Text);
    }
    datafusion::sql::sqlparser::parser::Parser::new(&datafusion::sql::sqlparser::dialect::PostgreSqlDialect {})
        .try_with_sql(&element.pg_name())
        .and_then(|mut p| p.parse_data_type())
        .ok()
}

/// SQLite: what is left of arrays once the statement is translated becomes values SQLite can
/// hold: `ARRAY[...]` a JSON array (`json_array`), a cast to an array type `rhei_array_in`,
/// `a[i]` `rhei_array_get`.
///
/// # Errors
/// An array of a type rhei does not store, a slice (`a[1:2]`): 0A000.
pub(crate) fn values_for_sqlite(stmt: &mut Statement, scope: &Scope<'_>, opts: TranslateOptions) -> Result<()> {
    let mut failure = None;
    let _ = visit_expressions_mut(stmt, |expr| {
        match value_for_sqlite(expr, scope, opts) {
            Ok(()) => ControlFlow::Continue(()),
            Err(e) => {
                failure = Some(e);
                ControlFlow::Break(())
            }
        }
    });
    failure.map_or(Ok(()), Err)
}

fn value_for_sqlite(expr: &mut Expr, scope: &Scope<'_>, opts: TranslateOptions) -> Result<()> {
    match expr {
        Expr::Array(array) => {
            let elements = std::mem::take(&mut array.elem);
            *expr = call("json_array", elements);
        }
        Expr::Cast { data_type: SqlType::Array(element), expr: inner, .. } => {
            let element = match array_element_type(element)? {
                Some(ty) => crate::catalog::ElementType::new(ty)?.ty(),
                None => PgType::Text,
            };
            let value = std::mem::replace(inner.as_mut(), super::null());
            *expr = call("rhei_array_in", vec![value, string(&element.pg_name()), zone_argument(opts)]);
        }
        // Left until here, so that `days[1] = '2024-01-01'` was typed as a date comparison.
        Expr::CompoundFieldAccess { root, access_chain }
            if is_array(root, scope) && access_chain.iter().all(|a| matches!(a, AccessExpr::Subscript(Subscript::Index { .. }))) =>
        {
            let mut value = std::mem::replace(root.as_mut(), super::null());
            for access in std::mem::take(access_chain) {
                if let AccessExpr::Subscript(Subscript::Index { index }) = access {
                    value = call("rhei_array_get", vec![value, index]);
                }
            }
            *expr = value;
        }
        // A slice, or a subscript of something not an array (jsonb's `doc['k']`): SQLite would
        // read `x[1]` as an alias.
        Expr::CompoundFieldAccess { .. } => return Err(EngineError::unsupported("this subscript on SQLite (array slices, jsonb subscripts)")),
        _ => {}
    }
    Ok(())
}

/// SQLite: `FROM unnest(a[, b ...]) [WITH ORDINALITY] [AS u[(x, y ...)]]` over arrays that
/// name no column (literals, parameters: `INSERT INTO t SELECT * FROM unnest($1::int[],
/// $2::text[])`, the bulk insert drivers suggest) becomes a derived table reading element `i`
/// of each array for `i` up to the longest one's length, as PostgreSQL zips them (a shorter
/// array gives NULLs): `(SELECT (a)[i] AS x, (b)[i] AS y [, i AS ordinality] FROM
/// generate_series(1, n) ...) AS u`. The columns are named as PostgreSQL names them.
///
/// An unnest of another FROM item's column is left for [`correlated_unnest_for_sqlite`] (SQLite
/// takes no derived table that reads one); a select-list unnest moves into FROM first.
///
/// # Errors
/// A select-list unnest that cannot move (see [`unnests_out_of_select_lists`]), or one left
/// in an expression (0A000); more column names than columns (42P10).
pub(crate) fn unnest_for_sqlite(stmt: &mut Statement) -> Result<()> {
    unnests_out_of_select_lists(stmt)?;
    let in_expression = datafusion::sql::sqlparser::ast::visit_expressions(&*stmt, |e| match e {
        Expr::Function(f) if builtin_name(&f.name).as_deref() == Some("unnest") => ControlFlow::Break(()),
        _ => ControlFlow::Continue(()),
    });
    // SQLite has no such function: 42883 would say unnest does not exist.
    if in_expression.is_break() {
        return Err(EngineError::unsupported("unnest in a select list on SQLite (call it in FROM; the OLAP engine runs it outside transaction blocks)"));
    }
    unnests_as_subqueries(stmt, false)
}

/// SQLite: the unnests [`unnest_for_sqlite`] left, those of another FROM item's column (`FROM
/// posts AS p, unnest(p.tags) AS tag`, and `SELECT id, unnest(tags) FROM posts`, moved into FROM
/// there), become `rhei_unnest(p.tags)` (`oltp::unnest`), a table-valued function SQLite lets
/// read a column of a FROM item before it. The names the query uses for the element and the
/// ordinality are renamed to its columns (`tag` is `tag.rhei_element`), a `*` lists
/// the other items' columns and the element under its name, and the scope learns the element's
/// type (so `tag > '2024-01-01'` of a date array compares days).
///
/// # Errors
/// An unnest of several arrays one of which names a column, or a `*` beside a FROM item
/// without a name (0A000).
pub(crate) fn correlated_unnest_for_sqlite(stmt: &mut Statement, scope: &mut Scope<'_>) -> Result<()> {
    struct Correlated<'s, 'c> {
        scope: &'s mut Scope<'c>,
        failure: Option<EngineError>,
    }
    impl VisitorMut for Correlated<'_, '_> {
        type Break = ();
        fn post_visit_query(&mut self, query: &mut Query) -> ControlFlow<()> {
            let mut selects = Vec::new();
            super::olap::collect_selects(&mut query.body, &mut selects);
            let mut renamed = Vec::new();
            for select in selects {
                match unnests_as_table_functions(select, self.scope) {
                    Ok(renames) => renamed.extend(renames),
                    Err(e) => {
                        self.failure = Some(e);
                        return ControlFlow::Break(());
                    }
                }
            }
            // ORDER BY sees the select list's names first; a set operation's, its output
            // columns only.
            if let (Some(order_by), SetExpr::Select(select)) = (query.order_by.as_mut(), query.body.as_ref()) {
                let outputs: Vec<String> = select
                    .projection
                    .iter()
                    .filter_map(|item| match item {
                        datafusion::sql::sqlparser::ast::SelectItem::ExprWithAlias { alias, .. } => Some(normalize_ident(alias)),
                        _ => None,
                    })
                    .collect();
                renamed.retain(|r| !outputs.contains(&r.name));
                rename_in_this_query(order_by, &renamed);
            }
            ControlFlow::Continue(())
        }
    }
    let mut correlated = Correlated { scope, failure: None };
    let _ = stmt.visit(&mut correlated);
    if let Some(e) = correlated.failure {
        return Err(e);
    }
    // Outside a query (UPDATE ... FROM, DELETE ... USING) SQLite would read UNNEST as syntax.
    if datafusion::sql::sqlparser::ast::Visit::visit(&*stmt, &mut CorrelatedUnnest).is_break() {
        return Err(EngineError::unsupported("unnest of another FROM item's column in UPDATE ... FROM or DELETE ... USING on SQLite"));
    }
    Ok(())
}

/// Renames the names of `names` in `node`, an unqualified one only outside nested queries
/// (whose own FROM items may have a column of that name: `tag IN (SELECT tag FROM featured)`).
fn rename_in_this_query<N: VisitMut>(node: &mut N, names: &[ElementName]) {
    let _ = node.visit(&mut super::ByDepth::new(|expr: &mut Expr, nested| {
        if !nested || matches!(expr, Expr::CompoundIdentifier(_)) {
            rename_element(expr, names);
        }
    }));
}

/// A name a query gives an unnest's element or ordinality, and the `rhei_unnest` column it
/// stands for.
struct ElementName {
    qualifier: String,
    name: String,
    ordinality: bool,
}

impl ElementName {
    fn expression(&self) -> Expr {
        let quoted = |s: &str| Ident::with_quote('"', s);
        let column = if self.ordinality { crate::oltp::unnest::ORDINALITY } else { crate::oltp::unnest::ELEMENT };
        Expr::CompoundIdentifier(vec![quoted(&self.qualifier), Ident::new(column)])
    }
}

fn rename_element(expr: &mut Expr, names: &[ElementName]) {
    let found = match expr {
        Expr::Identifier(ident) => {
            let name = normalize_ident(ident);
            names.iter().find(|n| n.name == name)
        }
        Expr::CompoundIdentifier(parts) if parts.len() == 2 => {
            let (qualifier, name) = (normalize_ident(&parts[0]), normalize_ident(&parts[1]));
            names.iter().find(|n| n.qualifier == qualifier && n.name == name)
        }
        _ => None,
    };
    if let Some(found) = found {
        *expr = found.expression();
    }
}

/// [`correlated_unnest_for_sqlite`] in one select: its unnests become `rhei_unnest`, their names
/// renamed in its clauses; returns the names for the query's ORDER BY.
fn unnests_as_table_functions(select: &mut datafusion::sql::sqlparser::ast::Select, scope: &mut Scope<'_>) -> Result<Vec<ElementName>> {
    use datafusion::sql::sqlparser::ast::{FunctionArg, FunctionArgExpr, ObjectName, ObjectNamePart, SelectItem, TableAlias, TableFactor};
    let mut names = Vec::new();
    let mut qualifiers: Vec<Option<(String, Option<usize>)>> = Vec::new();
    for table in &mut select.from {
        for factor in std::iter::once(&mut table.relation).chain(table.joins.iter_mut().map(|j| &mut j.relation)) {
            let TableFactor::UNNEST { alias, array_exprs, with_ordinality, .. } = factor else {
                qualifiers.push(factor_qualifier(factor).map(|q| (q, None)));
                continue;
            };
            let [array] = array_exprs.as_slice() else {
                return Err(EngineError::unsupported("unnest of several arrays, one of them another FROM item's column, on SQLite (the OLAP engine runs it outside transaction blocks)"));
            };
            let (qualifier, columns) = unnest_names(alias.as_ref(), 1, *with_ordinality);
            for (i, name) in columns.into_iter().enumerate() {
                names.push(ElementName { qualifier: qualifier.clone(), name, ordinality: i == 1 });
            }
            if let Some(ty) = element_type(array, scope).or_else(|| inferred_element_type(array, scope)) {
                scope.derived.insert(qualifier.clone(), [(crate::oltp::unnest::ELEMENT.to_string(), ty)].into());
            }
            qualifiers.push(Some((qualifier.clone(), Some(names.len() - 1 - usize::from(*with_ordinality)))));
            let argument = FunctionArg::Unnamed(FunctionArgExpr::Expr(array.clone()));
            *factor = super::function_table(
                ObjectName(vec![ObjectNamePart::Identifier(Ident::new(crate::oltp::unnest::TABLE))]),
                vec![argument],
                TableAlias { explicit: true, name: Ident::with_quote('"', &qualifier), columns: Vec::new() },
            );
        }
    }
    if names.is_empty() {
        return Ok(names);
    }
    // `*`: every other item's columns, and the element (and ordinality) under their names.
    let mut projection = Vec::with_capacity(select.projection.len());
    for item in std::mem::take(&mut select.projection) {
        match item {
            SelectItem::Wildcard(_) => {
                let merges_columns = select.from.iter().flat_map(|t| &t.joins).any(|join| joins_by_names(&join.join_operator));
                if merges_columns {
                    return Err(EngineError::unsupported("* beside an unnest of another FROM item's column and a join USING or NATURAL, on SQLite"));
                }
                for qualifier in &qualifiers {
                    // A select-list unnest moved into FROM is no column of `*`.
                    if qualifier.as_ref().is_some_and(|(q, _)| q.starts_with(MOVED_UNNEST)) {
                        continue;
                    }
                    let Some((qualifier, unnest)) = qualifier else {
                        return Err(EngineError::unsupported("* beside an unnest of another FROM item's column and a FROM item without a name, on SQLite"));
                    };
                    match unnest {
                        Some(first) => {
                            for name in names[*first..].iter().take_while(|n| n.qualifier == *qualifier) {
                                projection.push(SelectItem::ExprWithAlias { expr: name.expression(), alias: Ident::with_quote('"', &name.name) });
                            }
                        }
                        None => projection.push(SelectItem::QualifiedWildcard(
                            datafusion::sql::sqlparser::ast::SelectItemQualifiedWildcardKind::ObjectName(ObjectName(vec![ObjectNamePart::Identifier(Ident::with_quote('"', qualifier))])),
                            Default::default(),
                        )),
                    }
                }
            }
            SelectItem::QualifiedWildcard(datafusion::sql::sqlparser::ast::SelectItemQualifiedWildcardKind::ObjectName(object), _)
                if names.iter().any(|n| object.0.last().and_then(|p| p.as_ident()).is_some_and(|q| normalize_ident(q) == n.qualifier)) =>
            {
                let qualifier = object.0.last().and_then(|p| p.as_ident()).map(normalize_ident).unwrap_or_default();
                for name in names.iter().filter(|n| n.qualifier == qualifier) {
                    projection.push(SelectItem::ExprWithAlias { expr: name.expression(), alias: Ident::with_quote('"', &name.name) });
                }
            }
            // A bare name keeps it as the result column's name.
            SelectItem::UnnamedExpr(Expr::Identifier(ident)) if names.iter().any(|n| n.name == normalize_ident(&ident)) => {
                let mut expr = Expr::Identifier(ident.clone());
                rename_element(&mut expr, &names);
                projection.push(SelectItem::ExprWithAlias { expr, alias: ident });
            }
            mut other => {
                rename_in_this_query(&mut other, &names);
                projection.push(other);
            }
        }
    }
    // The other clauses, each name renamed once (the select list's items are final).
    rename_in_this_query(select, &names);
    select.projection = projection;
    Ok(names)
}

/// Whether a join merges columns of the same name (`USING`, `NATURAL`), which `*` shows once.
fn joins_by_names(operator: &datafusion::sql::sqlparser::ast::JoinOperator) -> bool {
    use datafusion::sql::sqlparser::ast::{JoinConstraint, JoinOperator as J};
    let constraint = match operator {
        J::Join(c) | J::Inner(c) | J::Left(c) | J::LeftOuter(c) | J::Right(c) | J::RightOuter(c) | J::FullOuter(c) => c,
        _ => return false,
    };
    matches!(constraint, JoinConstraint::Using(_) | JoinConstraint::Natural)
}

/// The names PostgreSQL gives an unnest of `arrays` arrays: the relation's (its alias, else
/// `unnest`) and each column's (the alias's column list, else the alias for the one array of
/// an aliased unnest, else `unnest`; `ordinality` last WITH ORDINALITY).
fn unnest_names(alias: Option<&datafusion::sql::sqlparser::ast::TableAlias>, arrays: usize, with_ordinality: bool) -> (String, Vec<String>) {
    let relation = alias.map_or_else(|| "unnest".to_string(), |a| normalize_ident(&a.name));
    let given: Vec<String> = alias.map(|a| a.columns.iter().map(|c| normalize_ident(&c.name)).collect()).unwrap_or_default();
    let columns = (0..arrays + usize::from(with_ordinality))
        .map(|i| {
            given.get(i).cloned().unwrap_or_else(|| match i {
                _ if i == arrays => "ordinality".to_string(),
                0 if arrays == 1 && alias.is_some() => relation.clone(),
                _ => "unnest".to_string(),
            })
        })
        .collect();
    (relation, columns)
}

/// The alias prefix of a select-list unnest moved into FROM.
const MOVED_UNNEST: &str = "_rhei_unnest_";

/// The name a FROM item's columns are qualified by: its alias, or a table's name.
fn factor_qualifier(factor: &datafusion::sql::sqlparser::ast::TableFactor) -> Option<String> {
    use datafusion::sql::sqlparser::ast::TableFactor;
    match factor {
        TableFactor::Table { alias: Some(alias), .. } | TableFactor::Derived { alias: Some(alias), .. } | TableFactor::Function { alias: Some(alias), .. } => {
            Some(normalize_ident(&alias.name))
        }
        TableFactor::Table { name, alias: None, .. } => name.0.last().and_then(|p| p.as_ident()).map(normalize_ident),
        _ => None,
    }
}

/// SQLite: `SELECT id, unnest(tags) FROM posts` becomes `SELECT id, "_rhei_unnest_1".unnest
/// AS unnest FROM posts, unnest(tags) AS "_rhei_unnest_1"(unnest)`, the rows PostgreSQL makes
/// of one set-returning call in a select list (none for an empty or NULL array), which
/// [`unnest_for_sqlite`] and [`correlated_unnest_for_sqlite`] then take as any unnest in FROM.
///
/// # Errors
/// Beside GROUP BY, aggregates or window functions (which PostgreSQL runs before the call), or
/// two different calls (which it runs in step): 0A000.
fn unnests_out_of_select_lists(stmt: &mut Statement) -> Result<()> {
    use datafusion::sql::sqlparser::ast::{SelectItem, TableAlias, TableAliasColumnDef, TableFactor, TableWithJoins};
    struct Moves {
        next: usize,
        failure: Option<EngineError>,
    }
    fn is_unnest_call(e: &Expr) -> bool {
        matches!(e, Expr::Function(f) if f.over.is_none() && builtin_name(&f.name).as_deref() == Some("unnest") && positional_args(f).len() == 1)
    }
    impl Moves {
        fn move_calls(&mut self, select: &mut datafusion::sql::sqlparser::ast::Select) -> Result<()> {
            let mut calls: Vec<Expr> = Vec::new();
            for item in &select.projection {
                let _ = datafusion::sql::sqlparser::ast::visit_expressions(item, |e| {
                    if is_unnest_call(e) && !calls.contains(e) {
                        calls.push(e.clone());
                    }
                    ControlFlow::<()>::Continue(())
                });
            }
            let Some(call) = calls.first().cloned() else { return Ok(()) };
            let grouped = !select.group_by_is_empty() || select.projection.iter().any(|item| crate::router::calls_aggregate(item, true));
            if grouped || calls.len() > 1 {
                return Err(EngineError::unsupported("unnest in a select list beside GROUP BY, aggregates, window functions or another unnest, on SQLite (call it in FROM; the OLAP engine runs it outside transaction blocks)"));
            }
            let Expr::Function(f) = &call else { return Ok(()) };
            let Some(array) = positional_args(f).first().map(|a| (*a).clone()) else { return Ok(()) };
            // SQLite's `*` would list the derived table made of an unnest of values too.
            if !names_a_column(&array) && select.projection.iter().any(|item| matches!(item, SelectItem::Wildcard(_))) {
                return Err(EngineError::unsupported("unnest of values in a select list beside * on SQLite (call it in FROM)"));
            }
            self.next += 1;
            let alias = Ident::with_quote('"', format!("{MOVED_UNNEST}{}", self.next));
            let reference = Expr::CompoundIdentifier(vec![alias.clone(), Ident::new("unnest")]);
            super::select_list_call_as_column(&mut select.projection, &call, &reference, Ident::new("unnest"));
            select.from.push(TableWithJoins {
                relation: TableFactor::UNNEST {
                    alias: Some(TableAlias { explicit: true, name: alias, columns: vec![TableAliasColumnDef::from_name("unnest")] }),
                    array_exprs: vec![array],
                    with_offset: false,
                    with_offset_alias: None,
                    with_ordinality: false,
                },
                joins: Vec::new(),
            });
            Ok(())
        }
    }
    impl VisitorMut for Moves {
        type Break = ();
        fn post_visit_query(&mut self, query: &mut Query) -> ControlFlow<()> {
            let mut selects = Vec::new();
            super::olap::collect_selects(&mut query.body, &mut selects);
            for select in selects {
                if let Err(e) = self.move_calls(select) {
                    self.failure = Some(e);
                    return ControlFlow::Break(());
                }
            }
            ControlFlow::Continue(())
        }
    }
    let mut moves = Moves { next: 0, failure: None };
    let _ = stmt.visit(&mut moves);
    moves.failure.map_or(Ok(()), Err)
}

/// DataFusion: [`unnest_for_sqlite`]'s derived table for an unnest WITH ORDINALITY, which
/// DataFusion does not number; the others are its own.
fn unnest_with_ordinality_for_olap(stmt: &mut Statement) {
    let _ = unnests_as_subqueries(stmt, true);
}

fn unnests_as_subqueries(stmt: &mut Statement, only_numbered: bool) -> Result<()> {
    struct Unnests(Option<EngineError>, bool);
    impl VisitorMut for Unnests {
        type Break = ();
        fn post_visit_table_factor(&mut self, factor: &mut datafusion::sql::sqlparser::ast::TableFactor) -> ControlFlow<()> {
            if self.1 && !matches!(factor, datafusion::sql::sqlparser::ast::TableFactor::UNNEST { with_ordinality: true, .. }) {
                return ControlFlow::Continue(());
            }
            // DataFusion refuses two output columns of one name (`unnest`, `unnest`).
            match unnest_as_subquery(factor, self.1) {
                Ok(Some(subquery)) => *factor = subquery,
                Ok(None) => {}
                Err(e) => {
                    self.0 = Some(e);
                    return ControlFlow::Break(());
                }
            }
            ControlFlow::Continue(())
        }
    }
    let mut unnests = Unnests(None, only_numbered);
    let _ = stmt.visit(&mut unnests);
    unnests.0.map_or(Ok(()), Err)
}

/// Whether `stmt` unnests another FROM item's column in a form the OLAP translation leaves as
/// it is (a join, several arrays, `t.*`...), which DataFusion cannot plan and SQLite runs
/// (`correlated_unnest_for_sqlite`): the router's cue to keep such a read on SQLite.
pub(crate) fn unnest_only_sqlite_runs(query: &Query, catalog: &crate::catalog::Catalog) -> bool {
    if !unnests_a_column(query) {
        return false;
    }
    let mut planned = Statement::Query(Box::new(query.clone()));
    from_items_for_olap(&mut planned, catalog);
    datafusion::sql::sqlparser::ast::Visit::visit(&planned, &mut CorrelatedUnnest).is_break()
}

/// Whether `query` unnests another FROM item's column anywhere: the cheap question before
/// [`unnest_only_sqlite_runs`], which wants the catalog.
pub(crate) fn unnests_a_column(query: &Query) -> bool {
    datafusion::sql::sqlparser::ast::Visit::visit(query, &mut CorrelatedUnnest).is_break()
}

/// Whether an unnest's array names a column (of another FROM item), rather than being a value.
fn names_a_column(array: &Expr) -> bool {
    !qualifiers_of(array).is_empty()
}

/// Breaks at an unnest of another FROM item's column.
struct CorrelatedUnnest;

impl datafusion::sql::sqlparser::ast::Visitor for CorrelatedUnnest {
    type Break = ();
    fn pre_visit_table_factor(&mut self, factor: &datafusion::sql::sqlparser::ast::TableFactor) -> ControlFlow<()> {
        match factor {
            datafusion::sql::sqlparser::ast::TableFactor::UNNEST { array_exprs, .. } if array_exprs.iter().any(names_a_column) => ControlFlow::Break(()),
            _ => ControlFlow::Continue(()),
        }
    }
}

/// The rewrites of FROM items `translate::olap::to_olap` makes before it looks for the unnests
/// DataFusion cannot plan, in its order: the router asks [`unnest_only_sqlite_runs`] of the
/// same form, so no stand-in ([`correlated_unnest_stand_ins_for_olap`]) is ever run.
pub(crate) fn from_items_for_olap(stmt: &mut Statement, catalog: &crate::catalog::Catalog) {
    unnest_with_ordinality_for_olap(stmt);
    let _ = stmt.visit(&mut super::SeriesAsSubqueries);
    let _ = stmt.visit(&mut super::TableColumnAliases { catalog });
    lateral_unnest_for_olap(stmt, catalog);
}

/// DataFusion: the unnests [`unnest_only_sqlite_runs`] finds become stand-ins, one row of NULLs
/// of the element's (and the ordinality's) type under the names the query gives them, so a
/// query's result types come out as they would from the unnest. Never run: routing
/// (`Session::decide_route`, before any hint or setting) keeps these queries on SQLite.
pub(crate) fn correlated_unnest_stand_ins_for_olap(stmt: &mut Statement, catalog: &crate::catalog::Catalog) {
    use datafusion::sql::sqlparser::ast::{TableAlias, TableFactor};
    struct StandIns<'s, 'c>(&'s Scope<'c>);
    impl VisitorMut for StandIns<'_, '_> {
        type Break = ();
        fn pre_visit_table_factor(&mut self, factor: &mut TableFactor) -> ControlFlow<()> {
            let TableFactor::UNNEST { alias, array_exprs, with_ordinality, .. } = factor else { return ControlFlow::Continue(()) };
            let [array] = array_exprs.as_slice() else { return ControlFlow::Continue(()) };
            if !names_a_column(array) {
                return ControlFlow::Continue(());
            }
            let (relation, columns) = unnest_names(alias.as_ref(), 1, *with_ordinality);
            let element = element_type(array, self.0).or_else(|| inferred_element_type(array, self.0)).and_then(datafusion_type).map_or_else(|| "text".to_string(), |t| t.to_string());
            let items: Vec<String> = columns
                .iter()
                .enumerate()
                .map(|(i, name)| format!("CAST(NULL AS {}) AS {}", if i == 0 { element.as_str() } else { "bigint" }, Ident::with_quote('"', name)))
                .collect();
            let sql = format!("SELECT {}", items.join(", "));
            if let Ok(subquery) =
                datafusion::sql::sqlparser::parser::Parser::new(&datafusion::sql::sqlparser::dialect::PostgreSqlDialect {}).try_with_sql(&sql).and_then(|mut p| p.parse_query())
            {
                let alias = TableAlias { explicit: true, name: Ident::with_quote('"', relation), columns: Vec::new() };
                *factor = TableFactor::Derived { lateral: false, subquery, alias: Some(alias), sample: None };
            }
            ControlFlow::Continue(())
        }
    }
    if datafusion::sql::sqlparser::ast::Visit::visit(&*stmt, &mut CorrelatedUnnest).is_continue() {
        return;
    }
    let Ok(scope) = Scope::of(stmt, catalog) else { return };
    let _ = stmt.visit(&mut StandIns(&scope));
}

/// Text set-returning functions with the array function whose elements each returns:
/// `string_to_table(...)` is `unnest(string_to_array(...))`.
const TEXT_SETS: &[(&str, &str)] = &[("string_to_table", "string_to_array"), ("regexp_split_to_table", "regexp_split_to_array")];

fn text_set_as_array(name: &str) -> Option<(&'static str, &'static str)> {
    TEXT_SETS.iter().copied().find(|(set, _)| *set == name)
}

/// Whether `node` calls one of the text set-returning functions, itself (not in a query it
/// holds) unless `anywhere`.
fn calls_text_set_at(node: &impl datafusion::sql::sqlparser::ast::Visit, anywhere: bool) -> bool {
    super::finds_by_depth(node, |e, nested| (anywhere || !nested) && is_text_set(e))
}

fn is_text_set(e: &Expr) -> bool {
    matches!(e, Expr::Function(f) if f.over.is_none() && builtin_name(&f.name).is_some_and(|n| n == "regexp_matches" || text_set_as_array(&n).is_some()))
}

fn calls_text_set(node: &impl datafusion::sql::sqlparser::ast::Visit) -> bool {
    calls_text_set_at(node, false)
}

/// A text set-returning call where PostgreSQL refuses one (0A000, its messages): WHERE,
/// HAVING, a join condition, an aggregate's arguments, a CASE or COALESCE branch; and in GROUP
/// BY, which PostgreSQL runs but rhei does not (0A000). The unnest it becomes would otherwise
/// run there, or multiply the rows.
fn check_text_set_placement(stmt: &Statement) -> Result<()> {
    use datafusion::sql::sqlparser::ast::{Select, Visit, Visitor};
    fn check(select: &Select) -> Result<()> {
        use super::json_sets::{ClauseNode, choice_holding_call, misplaced, refuse_in_clauses};
        let finds_call = |node: &dyn ClauseNode| node.finds(&mut |e, nested| !nested && is_text_set(e));
        refuse_in_clauses(select, &finds_call, || EngineError::unsupported("a set-returning function in GROUP BY"))?;
        if let Some(clause) = choice_holding_call(&select.projection, &finds_call) {
            return Err(misplaced(clause));
        }
        let in_aggregate = datafusion::sql::sqlparser::ast::visit_expressions(&select.projection, |e| match e {
            Expr::Function(f) if crate::router::calls_aggregate(e, false) && calls_text_set(&f.args) => ControlFlow::Break(()),
            _ => ControlFlow::Continue(()),
        });
        if in_aggregate.is_break() {
            return Err(EngineError::SetReturningNotAllowed { message: "aggregate function calls cannot contain set-returning function calls".into() });
        }
        Ok(())
    }
    fn selects(body: &SetExpr) -> Result<()> {
        match body {
            SetExpr::Select(select) => check(select),
            SetExpr::SetOperation { left, right, .. } => selects(left).and_then(|()| selects(right)),
            _ => Ok(()),
        }
    }
    struct Queries;
    impl Visitor for Queries {
        type Break = EngineError;
        fn pre_visit_query(&mut self, query: &Query) -> ControlFlow<EngineError> {
            match selects(&query.body) {
                Err(e) => ControlFlow::Break(e),
                Ok(()) => ControlFlow::Continue(()),
            }
        }
    }
    if !calls_text_set_at(stmt, true) {
        return Ok(());
    }
    match stmt.visit(&mut Queries) {
        ControlFlow::Break(e) => Err(e),
        ControlFlow::Continue(()) => Ok(()),
    }
}

/// Functions in FROM and set-returning calls that are unnests, made `unnest` at parse time so
/// both engines take them as any other unnest:
/// - `LATERAL unnest(a) AS x` (sqlparser reads it as a function in FROM) is `unnest(a) AS x`:
///   a function in FROM sees the items before it with or without LATERAL in PostgreSQL (SQLite
///   failed on its syntax, DataFusion found no table function `unnest`);
/// - `string_to_table(s, d)` and `regexp_split_to_table(s, p)`, which neither engine has, are
///   the unnest of `string_to_array` and `regexp_split_to_array`, in FROM (named as PostgreSQL
///   names a function's column: by the alias, else by the function) and in select lists (an
///   unaliased call keeps its name as the column's); `regexp_matches` in select lists.
///
/// # Errors
/// `regexp_matches` in FROM (0A000), which neither engine has a table function for.
pub(crate) fn set_functions_as_unnests(stmt: &mut Statement) -> Result<()> {
    use datafusion::sql::sqlparser::ast::{FunctionArg, FunctionArgExpr, FunctionArguments, SelectItem, TableAlias, TableFactor};
    fn calls_volatile(expr: &Expr) -> bool {
        const VOLATILE: &[&str] = &["random", "nextval", "setval", "gen_random_uuid", "clock_timestamp", "timeofday"];
        datafusion::sql::sqlparser::ast::visit_expressions(expr, |e| match e {
            Expr::Function(f) if builtin_name(&f.name).is_some_and(|name| VOLATILE.contains(&name.as_str())) => ControlFlow::Break(()),
            _ => ControlFlow::Continue(()),
        })
        .is_break()
    }
    fn volatile_regexp_matches(expr: &Expr) -> bool {
        matches!(expr, Expr::Function(f) if builtin_name(&f.name).as_deref() == Some("regexp_matches")
            && matches!(&f.args, FunctionArguments::List(list) if list.args.iter().any(|arg| matches!(arg, FunctionArg::Unnamed(FunctionArgExpr::Expr(e)) if calls_volatile(e)))))
    }
    /// The call an item is named by, under casts, parentheses and subscripts, as PostgreSQL's
    /// FigureColname looks through them.
    fn named_call(item: &mut Expr) -> &mut Expr {
        match item {
            Expr::Cast { expr, .. } | Expr::Nested(expr) => named_call(expr),
            Expr::CompoundFieldAccess { root, .. } => named_call(root),
            other => other,
        }
    }
    fn plain_args(args: &[FunctionArg]) -> Option<Vec<Expr>> {
        args.iter().map(|a| match a {
            FunctionArg::Unnamed(FunctionArgExpr::Expr(e)) => Some(e.clone()),
            _ => None,
        }).collect()
    }
    /// `string_to_table(...)` as `unnest(string_to_array(...))`, and `regexp_matches(s, p [,
    /// flags])` as its rows (see `oltp::regex::Search`), with the set function's name.
    fn text_set_call(expr: &Expr) -> Option<(Expr, &'static str)> {
        let Expr::Function(f) = expr else { return None };
        let name = builtin_name(&f.name)?;
        let FunctionArguments::List(list) = &f.args else { return None };
        if f.over.is_some() || f.filter.is_some() || list.duplicate_treatment.is_some() || !list.clauses.is_empty() {
            return None;
        }
        let args = plain_args(&list.args)?;
        if name == "regexp_matches" {
            // Its text and pattern are read by both halves (a volatile one is refused, as it
            // would differ between them).
            let [text, pattern, flags @ ..] = args.as_slice() else { return None };
            let flags = match flags {
                [] => string(""),
                [flags] => flags.clone(),
                _ => return None,
            };
            let rows = call("rhei_regexp_matches_rows", vec![text.clone(), pattern.clone(), flags.clone()]);
            let row = call("rhei_regexp_matches_row", vec![text.clone(), pattern.clone(), call("unnest", vec![rows]), flags]);
            return Some((row, "regexp_matches"));
        }
        let (name, array) = text_set_as_array(&name)?;
        Some((call("unnest", vec![call(array, args)]), name))
    }
    check_text_set_placement(stmt)?;
    struct Unnests;
    impl VisitorMut for Unnests {
        type Break = EngineError;
        fn pre_visit_table_factor(&mut self, factor: &mut TableFactor) -> ControlFlow<EngineError> {
            let (name, args, alias, with_ordinality, lateral_syntax) = match factor {
                TableFactor::Function { name, args, alias, .. } => (name, args.as_slice(), alias, false, true),
                TableFactor::Table { name, args: Some(args), alias, with_ordinality, .. } => (name, args.args.as_slice(), alias, *with_ordinality, false),
                _ => return ControlFlow::Continue(()),
            };
            let Some(function) = builtin_name(name) else { return ControlFlow::Continue(()) };
            if function == "regexp_matches" {
                return ControlFlow::Break(EngineError::unsupported("regexp_matches in FROM (call it in the select list)"));
            }
            let Some(args) = plain_args(args) else { return ControlFlow::Continue(()) };
            let (array_exprs, alias) = if function == "unnest" && lateral_syntax {
                (args, alias.take())
            } else if let Some((set, array)) = text_set_as_array(&function) {
                let named = alias.take().unwrap_or_else(|| TableAlias { explicit: true, name: Ident::new(set), columns: Vec::new() });
                (vec![call(array, args)], Some(named))
            } else {
                return ControlFlow::Continue(());
            };
            *factor = TableFactor::UNNEST { alias, array_exprs, with_offset: false, with_offset_alias: None, with_ordinality };
            ControlFlow::Continue(())
        }
        fn pre_visit_query(&mut self, query: &mut Query) -> ControlFlow<EngineError> {
            fn name_items(body: &mut SetExpr) {
                match body {
                    SetExpr::Select(select) => {
                        for item in &mut select.projection {
                            if let SelectItem::UnnamedExpr(e) = item {
                                let call = named_call(e);
                                if let Some((unnest, name)) = text_set_call(call).filter(|_| !volatile_regexp_matches(call)) {
                                    *call = unnest;
                                    *item = SelectItem::ExprWithAlias { expr: e.clone(), alias: Ident::new(name) };
                                }
                            }
                        }
                    }
                    SetExpr::SetOperation { left, right, .. } => {
                        name_items(left);
                        name_items(right);
                    }
                    _ => {}
                }
            }
            name_items(&mut query.body);
            ControlFlow::Continue(())
        }
        fn post_visit_expr(&mut self, expr: &mut Expr) -> ControlFlow<EngineError> {
            if volatile_regexp_matches(expr) {
                return ControlFlow::Break(EngineError::unsupported("regexp_matches of a volatile argument (random(), nextval(), ...)"));
            }
            if let Some((unnest, _)) = text_set_call(expr) {
                *expr = unnest;
            }
            ControlFlow::Continue(())
        }
    }
    match stmt.visit(&mut Unnests) {
        ControlFlow::Break(e) => Err(e),
        ControlFlow::Continue(()) => Ok(()),
    }
}

/// The columns an unnest's alias names, at most as many as it has (42P10 otherwise, as in
/// PostgreSQL), checked at parse time for both engines.
///
/// # Errors
/// More names than columns.
pub(crate) fn check_unnest_aliases(stmt: &Statement) -> Result<()> {
    use datafusion::sql::sqlparser::ast::{TableFactor, Visit, Visitor};
    struct Check;
    impl Visitor for Check {
        type Break = EngineError;
        fn pre_visit_table_factor(&mut self, factor: &TableFactor) -> ControlFlow<EngineError> {
            if let TableFactor::UNNEST { alias: Some(alias), array_exprs, with_ordinality, .. } = factor
                && let Err(e) = unnest_width(alias, array_exprs.len() + usize::from(*with_ordinality))
            {
                return ControlFlow::Break(e);
            }
            ControlFlow::Continue(())
        }
    }
    match stmt.visit(&mut Check) {
        ControlFlow::Break(e) => Err(e),
        ControlFlow::Continue(()) => Ok(()),
    }
}

fn unnest_width(alias: &datafusion::sql::sqlparser::ast::TableAlias, width: usize) -> Result<()> {
    if alias.columns.len() > width {
        return Err(EngineError::InvalidColumnReference {
            message: format!("table \"{}\" has {width} columns available but {} columns specified", normalize_ident(&alias.name), alias.columns.len()),
        });
    }
    Ok(())
}

fn unnest_as_subquery(factor: &datafusion::sql::sqlparser::ast::TableFactor, unique_names: bool) -> Result<Option<datafusion::sql::sqlparser::ast::TableFactor>> {
    use datafusion::sql::sqlparser::ast::{TableAlias, TableFactor};
    let TableFactor::UNNEST { alias, array_exprs, with_ordinality, with_offset: false, .. } = factor else { return Ok(None) };
    if array_exprs.is_empty() {
        return Ok(None);
    }
    // Left for `correlated_unnest_for_sqlite`.
    if array_exprs.iter().any(names_a_column) {
        return Ok(None);
    }
    if let Some(alias) = alias {
        unnest_width(alias, array_exprs.len() + usize::from(*with_ordinality))?;
    }
    let (relation, names) = unnest_names(alias.as_ref(), array_exprs.len(), *with_ordinality);
    if unique_names && (1..names.len()).any(|i| names[..i].contains(&names[i])) {
        return Ok(None);
    }
    let quoted = |s: &String| Ident::with_quote('"', s).to_string();
    let mut items: Vec<String> = array_exprs.iter().zip(&names).map(|(array, name)| format!("({array})[rhei_unnest_at] AS {}", quoted(name))).collect();
    if *with_ordinality {
        items.push(format!("rhei_unnest_at AS {}", quoted(&names[array_exprs.len()])));
    }
    let lengths: Vec<String> = array_exprs.iter().map(|array| format!("coalesce(CAST(cardinality({array}) AS bigint), 0)")).collect();
    let longest = if let [one] = lengths.as_slice() { one.clone() } else { format!("greatest({})", lengths.join(", ")) };
    let sql = format!("SELECT {} FROM generate_series(1, {longest}) AS rhei_unnest_series(rhei_unnest_at)", items.join(", "));
    let parsed = datafusion::sql::sqlparser::parser::Parser::new(&datafusion::sql::sqlparser::dialect::PostgreSqlDialect {})
        .try_with_sql(&sql)
        .and_then(|mut p| p.parse_query())
        .map_err(|e| EngineError::Internal(format!("unnest as a derived table: {e}")))?;
    Ok(Some(TableFactor::Derived {
        lateral: false,
        subquery: parsed,
        alias: Some(TableAlias { explicit: true, name: Ident::with_quote('"', relation), columns: Vec::new() }),
        sample: None,
    }))
}

/// The element type of `a[i]` where the statement gives `a` one (an array column, a cast to an
/// array type, `ARRAY[...]`): the type of a derived table's column holding it.
pub(crate) fn subscript_type(item: &Expr, scope: &Scope<'_>) -> Option<PgType> {
    let Expr::CompoundFieldAccess { root, access_chain } = item else { return None };
    if !matches!(access_chain.as_slice(), [AccessExpr::Subscript(Subscript::Index { .. })]) {
        return None;
    }
    element_type(root, scope).or_else(|| inferred_element_type(root, scope))
}

/// DataFusion: `FROM t AS p, unnest(p.tags) AS tag`, PostgreSQL's way to take an array
/// column's elements as rows (a function of another FROM item's column, which DataFusion cannot
/// plan), becomes `FROM (SELECT p.*, unnest(p.tags) AS tag FROM t AS p) AS p`: DataFusion's
/// unnest in a select list gives the same rows (none for an empty or NULL array). Only the
/// plain form: one array, no WITH ORDINALITY, no column list in the alias, over a table named
/// once without joins of its own.
pub(crate) fn lateral_unnest_for_olap(stmt: &mut Statement, catalog: &crate::catalog::Catalog) {
    struct LateralUnnest<'c>(&'c crate::catalog::Catalog);
    impl VisitorMut for LateralUnnest<'_> {
        type Break = ();
        fn pre_visit_query(&mut self, query: &mut Query) -> ControlFlow<()> {
            let mut selects = Vec::new();
            super::olap::collect_selects(&mut query.body, &mut selects);
            for select in selects {
                unnest_as_projection(select, self.0);
            }
            ControlFlow::Continue(())
        }
    }
    let _ = stmt.visit(&mut LateralUnnest(catalog));
}

/// The rewrite of [`lateral_unnest_for_olap`] in one select, where it keeps the meaning: not
/// under `t.*`, nor under `*` unless the unnest directly follows its table and ends FROM (else
/// the new column would show in another place), not where the
/// unnest's alias qualifies a name (`x.x`: it is no relation after) or is a column of the
/// table too, and only where the array names one earlier table unambiguously.
fn unnest_as_projection(select: &mut datafusion::sql::sqlparser::ast::Select, catalog: &crate::catalog::Catalog) {
    use datafusion::sql::sqlparser::ast::{SelectItem, TableAlias, TableFactor};
    // `t.*` would show the new column; `*` shows the same columns in the same order only when
    // the unnest comes right after its table, last in FROM (checked below).
    if select.projection.iter().any(|item| matches!(item, SelectItem::QualifiedWildcard(..))) {
        return;
    }
    let wildcard = select.projection.iter().any(|item| matches!(item, SelectItem::Wildcard(_)));
    let qualifiers_used: Vec<String> = {
        let mut used = Vec::new();
        let _ = datafusion::sql::sqlparser::ast::visit_expressions(&*select, |e| {
            if let Expr::CompoundIdentifier(parts) = e
                && parts.len() >= 2
            {
                used.push(normalize_ident(&parts[parts.len() - 2]));
            }
            ControlFlow::<()>::Continue(())
        });
        used
    };
    let from = &mut select.from;
    let tables_before = |at: usize, from: &[datafusion::sql::sqlparser::ast::TableWithJoins]| from[..at].iter().filter(|t| matches!(t.relation, TableFactor::Table { .. })).count();
    let mut at = 0;
    while at < from.len() {
        let TableFactor::UNNEST { alias, array_exprs, with_offset: false, with_ordinality: false, .. } = &from[at].relation else {
            at += 1;
            continue;
        };
        let ([array], true) = (array_exprs.as_slice(), from[at].joins.is_empty()) else {
            at += 1;
            continue;
        };
        if alias.as_ref().is_some_and(|a| !a.columns.is_empty()) {
            at += 1;
            continue;
        }
        let column = alias.as_ref().map_or_else(|| "unnest".to_string(), |a| normalize_ident(&a.name));
        // The one earlier FROM item the array's columns name (by qualifier, or unqualified
        // when it is the only table before).
        let qualifiers = qualifiers_of(array);
        if qualifiers_used.contains(&column) || (qualifiers.iter().any(Option::is_none) && tables_before(at, from) != 1) {
            at += 1;
            continue;
        }
        let source = (0..at).find(|&k| {
            let TableFactor::Table { name, alias: table_alias, args: None, .. } = &from[k].relation else { return false };
            let qualifier = table_alias.as_ref().map_or_else(|| name.0.last().and_then(|p| p.as_ident()).map(normalize_ident).unwrap_or_default(), |a| normalize_ident(&a.name));
            from[k].joins.is_empty() && qualifiers.iter().all(|q| q.as_deref().is_none_or(|q| q == qualifier))
        });
        let Some(source) = source.filter(|&source| !wildcard || (source + 1 == at && at + 1 == from.len())) else {
            at += 1;
            continue;
        };
        let TableFactor::Table { name, alias: table_alias, .. } = &from[source].relation else { return };
        let clashes = crate::catalog::table_name(name).ok().and_then(|table| catalog.get(&table)).is_none_or(|def| def.column_index(&column).is_some());
        if clashes {
            at += 1;
            continue;
        }
        let qualifier = match table_alias {
            Some(a) => a.name.clone(),
            None => match name.0.last().and_then(|p| p.as_ident()) {
                Some(ident) => ident.clone(),
                None => return,
            },
        };
        let sql = format!("SELECT {qualifier}.*, unnest({array}) AS {} FROM {}", Ident::with_quote('"', column), from[source].relation);
        let Ok(subquery) = datafusion::sql::sqlparser::parser::Parser::new(&datafusion::sql::sqlparser::dialect::PostgreSqlDialect {})
            .try_with_sql(&sql)
            .and_then(|mut p| p.parse_query())
        else {
            at += 1;
            continue;
        };
        from[source].relation = TableFactor::Derived {
            lateral: false,
            subquery,
            alias: Some(TableAlias { explicit: true, name: qualifier, columns: Vec::new() }),
            sample: None,
        };
        from.remove(at);
    }
}

/// The qualifiers of the columns `expr` names (`None` for an unqualified one).
fn qualifiers_of(expr: &Expr) -> Vec<Option<String>> {
    let mut found = Vec::new();
    let _ = datafusion::sql::sqlparser::ast::visit_expressions(expr, |e| {
        match e {
            Expr::Identifier(_) => found.push(None),
            Expr::CompoundIdentifier(parts) if parts.len() >= 2 => found.push(Some(normalize_ident(&parts[parts.len() - 2]))),
            _ => {}
        }
        ControlFlow::<()>::Continue(())
    });
    found
}
