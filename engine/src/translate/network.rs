//! `inet` and `cidr` in statements, for both engines. Both hold a value as PostgreSQL's text
//! for it (see `crate::network`), which is enough to store, compare for equality and group;
//! the rest is rewritten into the functions both engines have (`crate::network::NetFunction`):
//! - a cast to either type reads the value (`rhei_inet`), an inet cast to cidr drops its host
//!   bits (`network`), and a value cast to text, or concatenated, is `text()`'s form, with
//!   its mask;
//! - a string or parameter compared with one is read as an inet, as PostgreSQL reads it beside
//!   either type (`ip = '10.0.0.1/32'`), and so is one in COALESCE, NULLIF, CASE and IN; an
//!   inet and a cidr compare by sort key, since their texts differ;
//! - `<`, `>`, BETWEEN, ORDER BY (of a SELECT DISTINCT too), `min`, `max`, `greatest` and
//!   `least` go by the sort key (family, network, mask, address), not the text;
//! - a value written to a cidr column loses its host bits, to a text column it is `text()`'s;
//! - `<<`, `<<=`, `>>`, `>>=`, `&&`, `+`, `-`, `&`, `|`, `~` are the types' operators, and
//!   `text()`, `abbrev()`, `set_masklen()` take the type of their argument.
//!
//! What is typed a network value is read from the statement as `enums` reads enum types: a
//! column of the type (unless an output or CTE column shares its name), a cast, a function
//! of the types giving one.

use std::collections::HashSet;
use std::ops::ControlFlow;

use datafusion::sql::sqlparser::ast::{
    BinaryOperator, DataType as SqlType, Expr, Query, SetExpr, Statement, UnaryOperator, Value, ValueWithSpan, VisitMut, VisitorMut, visit_expressions,
    visit_expressions_mut,
};

use super::{Scope, builtin_name, call, is_literal_like, positional_args, positional_args_mut, string, take, typed_parameter};
use crate::catalog::{normalize_ident, table_name};
use crate::network::{NetFunction, NetKind, NetResultType};

/// `SELECT inet '10.0.0.1'` as `SELECT '10.0.0.1'::inet`: sqlparser reads typed literals of
/// its own types only, and there took `inet` for a column and the string for its alias (the
/// same literal elsewhere fails to parse, and is read again as a cast: see the session's
/// `network_literals_as_casts`).
pub fn select_list_literals_as_casts(stmt: &mut Statement) {
    struct Lists;
    impl VisitorMut for Lists {
        type Break = ();
        fn pre_visit_query(&mut self, query: &mut Query) -> ControlFlow<()> {
            let SetExpr::Select(select) = query.body.as_mut() else { return ControlFlow::Continue(()) };
            for item in &mut select.projection {
                if let datafusion::sql::sqlparser::ast::SelectItem::ExprWithAlias { expr: Expr::Identifier(name), alias } = item
                    && name.quote_style.is_none()
                    && alias.quote_style == Some('\'')
                    && let Some(kind) = NetKind::of_name(&name.value.to_ascii_lowercase())
                {
                    let data_type = SqlType::Custom(datafusion::sql::sqlparser::ast::ObjectName::from(vec![datafusion::sql::sqlparser::ast::Ident::new(kind.name())]), Vec::new());
                    let literal = string(&alias.value);
                    *item = datafusion::sql::sqlparser::ast::SelectItem::UnnamedExpr(Expr::Cast {
                        kind: datafusion::sql::sqlparser::ast::CastKind::DoubleColon,
                        expr: Box::new(literal),
                        data_type,
                        array: false,
                        format: None,
                    });
                }
            }
            ControlFlow::Continue(())
        }
    }
    let _ = stmt.visit(&mut Lists);
}

/// The function both engines read a value of the types with: `rhei_inet(value, 'inet')`.
pub(crate) const NET_INPUT: &str = "rhei_inet";

/// The kind a type name in a cast names.
fn named_kind(data_type: &SqlType) -> Option<NetKind> {
    match data_type {
        SqlType::Custom(name, modifiers) if modifiers.is_empty() => NetKind::of_name(&table_name(name).ok()?),
        _ => None,
    }
}

fn input(value: Expr, kind: NetKind) -> Expr {
    call(NET_INPUT, vec![typed_parameter(value, SqlType::Text), string(kind.name())])
}

fn key(value: Expr) -> Expr {
    call("rhei_inet_key", vec![value])
}

/// What the rewrite reads the statement's types with.
struct Typing<'s, 'a> {
    scope: &'s Scope<'a>,
    /// Names the statement gives output columns, CTE columns and derived tables' columns.
    shadowed: HashSet<String>,
}

impl Typing<'_, '_> {
    /// The network type PostgreSQL gives `expr`, as far as the statement tells.
    fn of(&self, expr: &Expr) -> Option<NetKind> {
        match expr {
            Expr::Nested(inner) => self.of(inner),
            Expr::Identifier(ident) if self.shadowed.contains(&normalize_ident(ident)) => None,
            Expr::Cast { data_type, .. } => named_kind(data_type),
            Expr::TypedString(typed) => named_kind(&typed.data_type),
            Expr::Function(f) => {
                let name = builtin_name(&f.name)?;
                match name.as_str() {
                    "min" | "max" | "coalesce" | "nullif" | "greatest" | "least" => common(positional_args(f).into_iter().map(|a| self.of(a))),
                    "set_masklen" => positional_args(f).first().and_then(|a| self.of(a)),
                    other => match NetFunction::named(other)?.result_type() {
                        NetResultType::Net(Some(kind)) => Some(kind),
                        NetResultType::Net(None) => match positional_args(f).last() {
                            Some(Expr::Value(ValueWithSpan { value: Value::SingleQuotedString(k), .. })) => NetKind::of_name(k),
                            _ => None,
                        },
                        _ => None,
                    },
                }
            }
            Expr::Case { conditions, else_result, .. } => {
                common(conditions.iter().map(|c| self.of(&c.result)).chain(else_result.iter().map(|e| self.of(e))))
            }
            Expr::BinaryOp { left, op: BinaryOperator::Plus | BinaryOperator::BitwiseAnd | BinaryOperator::BitwiseOr, right } => {
                (self.of(left).is_some() || self.of(right).is_some()).then_some(NetKind::Inet)
            }
            Expr::BinaryOp { left, op: BinaryOperator::Minus, right } => {
                (self.of(left).is_some() && self.of(right).is_none() && !is_untyped(right)).then_some(NetKind::Inet)
            }
            Expr::UnaryOp { op: UnaryOperator::BitwiseNot, expr } => self.of(expr).map(|_| NetKind::Inet),
            other => self.scope.column_type(other)?.net_kind(),
        }
    }
}

/// The type PostgreSQL resolves values of these kinds to: inet where inet and cidr meet.
fn common(kinds: impl Iterator<Item = Option<NetKind>>) -> Option<NetKind> {
    kinds.flatten().reduce(|a, b| if a == b { a } else { NetKind::Inet })
}

/// Whether `expr` is an untyped value: a string literal or a parameter.
fn is_untyped(expr: &Expr) -> bool {
    is_literal_like(expr)
}

/// `expr` read as `kind` where it is untyped.
fn typed(expr: &mut Expr, kind: NetKind) {
    if is_untyped(expr) {
        let literal = take(expr);
        *expr = input(literal, kind);
    }
}

/// Functions whose PostgreSQL meaning depends on their argument's type.
const ARGUMENT_TYPED: &[&str] = &["text", "abbrev", "set_masklen"];

/// Rewrites `stmt` so either engine answers its network values as PostgreSQL does (see the
/// module docs). Leaves a statement with none alone.
pub(crate) fn as_postgresql_means(stmt: &mut Statement, scope: &Scope<'_>, olap: bool) {
    let typing = Typing { scope, shadowed: super::enums::shadowing_names(stmt) };
    let mentions = visit_expressions(stmt, |expr| {
        let named = matches!(expr, Expr::Function(f) if builtin_name(&f.name).is_some_and(|n| NetFunction::named(&n).is_some() || ARGUMENT_TYPED.contains(&n.as_str())));
        if named || typing.of(expr).is_some() { ControlFlow::Break(()) } else { ControlFlow::Continue(()) }
    });
    if mentions.is_continue() {
        return;
    }
    let _ = stmt.visit(&mut super::enums::SortKeys { key: &|sorted: &Expr| typing.of(sorted).map(|_| key(sorted.clone())), olap });
    let _ = visit_expressions_mut(stmt, |expr| {
        rewrite(expr, &typing);
        ControlFlow::<()>::Continue(())
    });
    values_typed(stmt, &typing);
    // After the comparisons, which read `max(ip)` as a network value.
    let _ = visit_expressions_mut(stmt, |expr| {
        extreme_by_key(expr, &typing);
        ControlFlow::<()>::Continue(())
    });
}

/// `min(ip)`, `greatest(a, b)` as the value of the least or greatest sort key.
fn extreme_by_key(expr: &mut Expr, typing: &Typing<'_, '_>) {
    let Expr::Function(f) = expr else { return };
    if !matches!(builtin_name(&f.name).as_deref(), Some("min" | "max" | "greatest" | "least")) {
        return;
    }
    let Some(kind) = positional_args(f).into_iter().find_map(|a| typing.of(a)) else { return };
    for arg in positional_args_mut(f) {
        let value = take(arg);
        // A string among greatest's arguments is read as the others' type.
        let value = if is_literal_like(&value) { input(value, kind) } else { value };
        *arg = key(value);
    }
    let extreme = take(expr);
    *expr = call("rhei_inet_of_key", vec![extreme, string(kind.name())]);
}

/// A VALUES list whose column has a network value in some row reads the strings and NULLs of
/// the other rows as its type (DataFusion refuses rows whose types differ in their metadata).
fn values_typed(stmt: &mut Statement, typing: &Typing<'_, '_>) {
    struct Rows<'t, 's, 'a>(&'t Typing<'s, 'a>);
    impl VisitorMut for Rows<'_, '_, '_> {
        type Break = ();
        fn pre_visit_query(&mut self, query: &mut Query) -> ControlFlow<()> {
            let SetExpr::Values(values) = query.body.as_mut() else { return ControlFlow::Continue(()) };
            let width = values.rows.iter().map(Vec::len).max().unwrap_or(0);
            for column in 0..width {
                let Some(kind) = values.rows.iter().find_map(|row| row.get(column).and_then(|e| self.0.of(e))) else { continue };
                for row in &mut values.rows {
                    if let Some(item) = row.get_mut(column)
                        && (is_literal_like(item) || matches!(item, Expr::Value(ValueWithSpan { value: Value::Null, .. })))
                    {
                        let literal = take(item);
                        *item = input(literal, kind);
                    }
                }
            }
            ControlFlow::Continue(())
        }
    }
    let _ = stmt.visit(&mut Rows(typing));
}

/// A comparison of two values one of which is a network value: an untyped side read as an
/// inet (PostgreSQL compares a cidr as one), and by sort key where it orders or where the
/// kinds differ (an inet and a cidr of one address and mask are equal; their texts differ).
fn compared(left: &mut Expr, right: &mut Expr, ordering: bool, typing: &Typing<'_, '_>) {
    let kind_of = |e: &Expr| if is_untyped(e) { Some(NetKind::Inet) } else { typing.of(e) };
    let (left_kind, right_kind) = (kind_of(left), kind_of(right));
    if typing.of(left).is_none() && typing.of(right).is_none() {
        return;
    }
    let mixed = matches!((left_kind, right_kind), (Some(a), Some(b)) if a != b);
    for side in [left, right] {
        typed(side, NetKind::Inet);
        if ordering || mixed {
            let value = take(side);
            *side = key(value);
        }
    }
}

/// A value of a network type written to a column of type `ty` as PostgreSQL's assignment
/// casts convert it: an inet into a cidr column loses its host bits, into a text column it is
/// `text()`'s form (with the mask).
pub(crate) fn assigned(ty: crate::catalog::PgType, value: &mut Expr, scope: &Scope<'_>) {
    use crate::catalog::PgType;
    let typing = Typing { scope, shadowed: HashSet::new() };
    let Some(kind) = typing.of(value) else { return };
    match ty {
        PgType::Cidr if kind == NetKind::Inet => *value = call("network", vec![take(value)]),
        PgType::Text | PgType::Varchar(_) | PgType::Bpchar(_) => *value = call("rhei_inet_text", vec![take(value)]),
        _ => {}
    }
}

fn rewrite(expr: &mut Expr, typing: &Typing<'_, '_>) {
    match expr {
        Expr::TypedString(typed) => {
            if let Some(kind) = named_kind(&typed.data_type) {
                let literal = Expr::Value(typed.value.clone());
                *expr = input(literal, kind);
            }
        }
        Expr::Cast { expr: value, data_type, .. } => {
            if let Some(kind) = named_kind(data_type) {
                let from = typing.of(value);
                let value = take(value);
                *expr = match from {
                    Some(from) if from == kind => value,
                    // PostgreSQL's cast drops an inet's host bits; a cidr read as inet loses
                    // the mask of a single host.
                    Some(NetKind::Inet) => call("network", vec![value]),
                    _ => input(value, kind),
                };
            } else if matches!(data_type, SqlType::Text | SqlType::Varchar(_) | SqlType::CharacterVarying(_) | SqlType::Char(_) | SqlType::Character(_) | SqlType::String(_))
                && typing.of(value).is_some()
            {
                let inner = take(value);
                **value = call("rhei_inet_text", vec![inner]);
            }
        }
        Expr::BinaryOp { left, op, right } => {
            let (left_kind, right_kind) = (typing.of(left), typing.of(right));
            if left_kind.is_none() && right_kind.is_none() {
                return;
            }
            let both = |f: &str, a: Expr, b: Expr| call(f, vec![a, b]);
            match op {
                BinaryOperator::Eq | BinaryOperator::NotEq | BinaryOperator::Lt | BinaryOperator::LtEq | BinaryOperator::Gt | BinaryOperator::GtEq => {
                    let ordering = !matches!(op, BinaryOperator::Eq | BinaryOperator::NotEq);
                    compared(left, right, ordering, typing);
                }
                BinaryOperator::PGBitwiseShiftLeft => *expr = both("rhei_inet_contains", take(right), take(left)),
                BinaryOperator::PGBitwiseShiftRight => *expr = both("rhei_inet_contains", take(left), take(right)),
                BinaryOperator::Custom(custom) if custom == "<<=" => *expr = both("rhei_inet_contains_or_equal", take(right), take(left)),
                BinaryOperator::Custom(custom) if custom == ">>=" => *expr = both("rhei_inet_contains_or_equal", take(left), take(right)),
                BinaryOperator::PGOverlap => *expr = both("rhei_inet_overlaps", take(left), take(right)),
                BinaryOperator::Plus => {
                    let (net, number) = if left_kind.is_some() { (take(left), take(right)) } else { (take(right), take(left)) };
                    *expr = both("rhei_inet_add", net, typed_parameter(number, SqlType::BigInt(None)));
                }
                // `ip - '10.0.0.0'` and `ip - $1` are differences of addresses (PostgreSQL
                // resolves the untyped operand to inet).
                BinaryOperator::Minus if right_kind.is_some() || is_untyped(right) => {
                    typed(right, NetKind::Inet);
                    *expr = both("rhei_inet_difference", take(left), take(right));
                }
                BinaryOperator::Minus => {
                    let negated = Expr::UnaryOp { op: UnaryOperator::Minus, expr: Box::new(Expr::Nested(Box::new(take(right)))) };
                    *expr = both("rhei_inet_add", take(left), negated);
                }
                BinaryOperator::BitwiseAnd => *expr = both("rhei_inet_and", take(left), take(right)),
                BinaryOperator::BitwiseOr => *expr = both("rhei_inet_or", take(left), take(right)),
                BinaryOperator::StringConcat => {
                    for side in [(left, left_kind), (right, right_kind)] {
                        if let (side, Some(_)) = side {
                            let value = take(side);
                            **side = call("rhei_inet_text", vec![value]);
                        }
                    }
                }
                _ => {}
            }
        }
        Expr::UnaryOp { op: UnaryOperator::BitwiseNot, expr: value } if typing.of(value).is_some() => {
            *expr = call("rhei_inet_not", vec![take(value)]);
        }
        Expr::IsDistinctFrom(left, right) | Expr::IsNotDistinctFrom(left, right) => compared(left, right, false, typing),
        Expr::InList { expr: value, list, .. } => {
            let Some(kind) = typing.of(value) else { return };
            let items: Vec<Option<NetKind>> = list.iter().map(|i| if is_untyped(i) { Some(NetKind::Inet) } else { typing.of(i) }).collect();
            let mixed = items.iter().any(|k| k.is_some_and(|k| k != kind));
            for item in list.iter_mut() {
                typed(item, NetKind::Inet);
                if mixed {
                    let value = take(item);
                    *item = key(value);
                }
            }
            if mixed {
                let compared = take(value);
                **value = key(compared);
            }
        }
        Expr::Between { expr: value, low, high, .. } => {
            if typing.of(value).is_none() {
                return;
            }
            for side in [value, low, high] {
                typed(side, NetKind::Inet);
                let sorted = take(side);
                **side = key(sorted);
            }
        }
        // The values a CASE gives, and a simple CASE's operands, read as the values' type.
        Expr::Case { operand, conditions, else_result, .. } => {
            if let Some(kind) = common(conditions.iter().map(|c| typing.of(&c.result)).chain(else_result.iter().map(|e| typing.of(e)))) {
                conditions.iter_mut().for_each(|c| typed(&mut c.result, kind));
                if let Some(e) = else_result.as_deref_mut() {
                    typed(e, kind);
                }
            }
            if let Some(kind) = operand.as_deref().and_then(|o| typing.of(o)) {
                conditions.iter_mut().for_each(|c| typed(&mut c.condition, kind));
            }
        }
        Expr::Function(f) => {
            let Some(name) = builtin_name(&f.name) else { return };
            // COALESCE(ip, '0.0.0.0') reads the string as the arguments' type.
            if matches!(name.as_str(), "coalesce" | "nullif") {
                if let Some(kind) = common(positional_args(f).into_iter().map(|a| typing.of(a))) {
                    positional_args_mut(f).into_iter().for_each(|a| typed(a, kind));
                }
                return;
            }
            if !ARGUMENT_TYPED.contains(&name.as_str()) {
                return;
            }
            let first = positional_args(f).first().and_then(|a| typing.of(a));
            let renamed = match (name.as_str(), first) {
                ("text", Some(_)) => "rhei_inet_text",
                ("abbrev", _) => "rhei_inet_abbrev",
                ("set_masklen", _) => "rhei_set_masklen",
                _ => return,
            };
            let kind = first.unwrap_or(NetKind::Inet);
            f.name = datafusion::sql::sqlparser::ast::ObjectName::from(vec![datafusion::sql::sqlparser::ast::Ident::new(renamed)]);
            if renamed != "rhei_inet_text"
                && let datafusion::sql::sqlparser::ast::FunctionArguments::List(list) = &mut f.args
            {
                list.args.push(datafusion::sql::sqlparser::ast::FunctionArg::Unnamed(datafusion::sql::sqlparser::ast::FunctionArgExpr::Expr(string(kind.name()))));
            }
        }
        _ => {}
    }
}
