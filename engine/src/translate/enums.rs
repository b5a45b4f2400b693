//! Enum types (`CREATE TYPE ... AS ENUM`) as PostgreSQL reads them, for both engines. Both
//! hold an enum value as its label's text, which is enough to store, compare for equality
//! and group; what text cannot do is said here:
//! - a cast to the type (`'ok'::mood`) checks the label (`rhei_enum`, on both engines);
//! - a label compared with a column of the type is checked too (`m = 'nah'` is 22P02);
//! - order is the labels' declared order, not text order: ORDER BY, `<`, `>`, BETWEEN,
//!   `min` and `max` go by each value's position among the labels.

use std::ops::ControlFlow;

use datafusion::sql::sqlparser::ast::{
    BinaryOperator, CaseWhen, DataType as SqlType, Expr, FunctionArg, FunctionArgExpr, FunctionArguments, OrderByKind, Query,
    SelectItem, SetExpr, Statement, Value, ValueWithSpan, VisitMut, VisitorMut, WindowType, helpers::attached_token::AttachedToken,
    visit_expressions_mut,
};

use crate::catalog::{Catalog, EnumType, PgType, table_name};
use crate::translate::{Scope, call, string};

/// The function both engines check a label with: `rhei_enum(value, type name, label...)`.
pub(crate) const ENUM_INPUT: &str = "rhei_enum";

/// `expr` checked as a value of `ty` (22P02 where it is not one of its labels).
pub(crate) fn checked(expr: Expr, ty: EnumType) -> Expr {
    let def = ty.def();
    call(ENUM_INPUT, [expr, string(&def.name)].into_iter().chain(def.labels.iter().map(|l| string(l))).collect())
}

/// The position of `expr`'s label among `ty`'s (1 for the first), NULL for NULL.
fn position(expr: Expr, ty: EnumType) -> Expr {
    Expr::Case {
        case_token: AttachedToken::empty(),
        end_token: AttachedToken::empty(),
        operand: Some(Box::new(expr)),
        conditions: ty.def().labels.iter().enumerate().map(|(k, label)| CaseWhen { condition: string(label), result: number(k + 1) }).collect(),
        else_result: None,
    }
}

/// The label at the position `expr` computes (the inverse of [`position`]).
fn label_at(expr: Expr, ty: EnumType) -> Expr {
    Expr::Case {
        case_token: AttachedToken::empty(),
        end_token: AttachedToken::empty(),
        operand: Some(Box::new(expr)),
        conditions: ty.def().labels.iter().enumerate().map(|(k, label)| CaseWhen { condition: number(k + 1), result: string(label) }).collect(),
        else_result: None,
    }
}

fn number(n: usize) -> Expr {
    Expr::value(Value::Number(n.to_string(), false))
}

/// The enum type PostgreSQL gives `expr`, as far as the statement tells: a column of one, a
/// cast to one, or a checked value.
fn enum_type_of(expr: &Expr, scope: &Scope<'_>, catalog: &Catalog) -> Option<EnumType> {
    match expr {
        Expr::Nested(inner) => enum_type_of(inner, scope, catalog),
        Expr::Cast { data_type, .. } => named_enum(data_type, catalog),
        Expr::Function(f) if f.name.to_string() == ENUM_INPUT => match &f.args {
            FunctionArguments::List(list) => match list.args.get(1) {
                Some(FunctionArg::Unnamed(FunctionArgExpr::Expr(Expr::Value(ValueWithSpan { value: Value::SingleQuotedString(name), .. })))) => {
                    catalog.enum_type(name)
                }
                _ => None,
            },
            _ => None,
        },
        other => match scope.column_type(other)? {
            PgType::Enum(e) => Some(e),
            _ => None,
        },
    }
}

/// The enum type a type name in a cast names.
fn named_enum(data_type: &SqlType, catalog: &Catalog) -> Option<EnumType> {
    match data_type {
        SqlType::Custom(name, modifiers) if modifiers.is_empty() => catalog.enum_type(&table_name(name).ok()?),
        _ => None,
    }
}

fn is_string_literal(expr: &Expr) -> bool {
    matches!(expr, Expr::Value(ValueWithSpan { value: Value::SingleQuotedString(_), .. }))
}

/// Rewrites `stmt` so either engine answers its enum values as PostgreSQL does (see the
/// module docs). Does nothing to a statement of a catalog without enum types.
pub(crate) fn as_postgresql_means(stmt: &mut Statement, scope: &Scope<'_>, catalog: &Catalog) {
    if catalog.enums().next().is_none() {
        return;
    }
    let _ = stmt.visit(&mut OrderByPosition { scope, catalog });
    let _ = visit_expressions_mut(stmt, |expr| {
        rewrite(expr, scope, catalog);
        ControlFlow::<()>::Continue(())
    });
}

/// Sorts by a value's position among its type's labels: the ORDER BY of each query and of
/// each window.
struct OrderByPosition<'s, 'a> {
    scope: &'s Scope<'a>,
    catalog: &'a Catalog,
}

impl VisitorMut for OrderByPosition<'_, '_> {
    type Break = ();

    fn pre_visit_query(&mut self, query: &mut Query) -> ControlFlow<()> {
        let projection = match query.body.as_ref() {
            SetExpr::Select(select) if select.distinct.is_none() => Some(select.projection.clone()),
            _ => None,
        };
        if let Some(order_by) = &mut query.order_by
            && let OrderByKind::Expressions(items) = &mut order_by.kind
        {
            for item in items {
                // `ORDER BY 2`: the select-list item it names.
                let named = match (&item.expr, &projection) {
                    (Expr::Value(ValueWithSpan { value: Value::Number(n, _), .. }), Some(projection)) => {
                        match n.parse::<usize>().ok().and_then(|n| projection.get(n.checked_sub(1)?)) {
                            Some(SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. }) => Some(e.clone()),
                            _ => None,
                        }
                    }
                    _ => None,
                };
                let sorted = named.as_ref().unwrap_or(&item.expr);
                if let Some(ty) = enum_type_of(sorted, self.scope, self.catalog) {
                    item.expr = position(sorted.clone(), ty);
                }
            }
        }
        ControlFlow::Continue(())
    }

    fn pre_visit_expr(&mut self, expr: &mut Expr) -> ControlFlow<()> {
        if let Expr::Function(f) = expr
            && let Some(WindowType::WindowSpec(spec)) = &mut f.over
        {
            for item in &mut spec.order_by {
                if let Some(ty) = enum_type_of(&item.expr, self.scope, self.catalog) {
                    item.expr = position(item.expr.clone(), ty);
                }
            }
        }
        ControlFlow::Continue(())
    }
}

fn rewrite(expr: &mut Expr, scope: &Scope<'_>, catalog: &Catalog) {
    match expr {
        Expr::Cast { expr: value, data_type, .. } => {
            if let Some(ty) = named_enum(data_type, catalog) {
                let value = std::mem::replace(value.as_mut(), Expr::value(Value::Null));
                *expr = checked(value, ty);
            }
        }
        Expr::BinaryOp { left, op, right } => {
            let Some(ty) = enum_type_of(left, scope, catalog).or_else(|| enum_type_of(right, scope, catalog)) else { return };
            let ordering = matches!(op, BinaryOperator::Lt | BinaryOperator::LtEq | BinaryOperator::Gt | BinaryOperator::GtEq);
            if !ordering && !matches!(op, BinaryOperator::Eq | BinaryOperator::NotEq) {
                return;
            }
            for side in [left, right] {
                if is_string_literal(side) {
                    let literal = std::mem::replace(side.as_mut(), Expr::value(Value::Null));
                    **side = checked(literal, ty);
                }
                if ordering {
                    let value = std::mem::replace(side.as_mut(), Expr::value(Value::Null));
                    **side = position(value, ty);
                }
            }
        }
        Expr::InList { expr: value, list, .. } => {
            let Some(ty) = enum_type_of(value, scope, catalog) else { return };
            for item in list.iter_mut().filter(|i| is_string_literal(i)) {
                let literal = std::mem::replace(item, Expr::value(Value::Null));
                *item = checked(literal, ty);
            }
        }
        Expr::Between { expr: value, low, high, .. } => {
            let Some(ty) = enum_type_of(value, scope, catalog) else { return };
            for side in [value, low, high] {
                let mut taken = std::mem::replace(side.as_mut(), Expr::value(Value::Null));
                if is_string_literal(&taken) {
                    taken = checked(taken, ty);
                }
                **side = position(taken, ty);
            }
        }
        // min(m) as the label at the least position.
        Expr::Function(f) if matches!(f.name.to_string().to_ascii_lowercase().as_str(), "min" | "max") => {
            let FunctionArguments::List(list) = &mut f.args else { return };
            let [FunctionArg::Unnamed(FunctionArgExpr::Expr(arg))] = list.args.as_mut_slice() else { return };
            let Some(ty) = enum_type_of(arg, scope, catalog) else { return };
            let value = std::mem::replace(arg, Expr::value(Value::Null));
            *arg = position(value, ty);
            let aggregate = std::mem::replace(expr, Expr::value(Value::Null));
            *expr = label_at(aggregate, ty);
        }
        _ => {}
    }
}
