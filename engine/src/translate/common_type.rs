//! PostgreSQL's check that the branches of a CASE, the arguments of COALESCE and the columns of
//! a UNION, INTERSECT or EXCEPT can take one type: `CASE WHEN c THEN 1 ELSE 'x'::text END` is
//! 42804 "CASE types text and integer cannot be matched". SQLite returns whatever each row has,
//! and DataFusion coerces everything to text, so neither refuses.
//!
//! Only what the statement itself types is compared (literals other than quoted strings,
//! casts, typed literals, columns), and only across the categories that never meet in
//! PostgreSQL (numbers, strings, booleans, dates and times): a quoted string is `unknown` and
//! fits anything, and an expression whose type the statement does not tell is left alone.

use std::ops::ControlFlow;

use datafusion::sql::sqlparser::ast::{
    Expr, FunctionArg, FunctionArgExpr, FunctionArguments, Ident, Query, SelectItem, SetExpr, SetOperator, Statement, TableFactor, Value, Visit,
    VisitMut, Visitor, VisitorMut,
};

use crate::catalog::{Catalog, PgType, TableDef, normalize_ident, table_name};
use crate::error::{EngineError, Result};
use crate::translate::Scope;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Category {
    Number,
    String,
    Boolean,
    DateTime,
    /// `time`, which PostgreSQL files with the date/time types but casts to none of them.
    TimeOfDay,
    /// `interval`.
    Timespan,
}

/// A type the statement gives an expression: its category, its rank within it (a wider type
/// wins, as PostgreSQL's preferred and implicitly castable types do) and its name.
#[derive(Clone, Copy)]
struct Known {
    category: Category,
    rank: u8,
    name: &'static str,
    ty: PgType,
}

fn of_type(ty: PgType) -> Option<Known> {
    let known = |category, rank, name| Some(Known { category, rank, name, ty });
    match ty {
        PgType::Int2 => known(Category::Number, 0, "smallint"),
        PgType::Int4 => known(Category::Number, 1, "integer"),
        PgType::Int8 => known(Category::Number, 2, "bigint"),
        PgType::Numeric { .. } => known(Category::Number, 3, "numeric"),
        PgType::Float4 => known(Category::Number, 4, "real"),
        PgType::Float8 => known(Category::Number, 5, "double precision"),
        PgType::Bpchar(_) => known(Category::String, 0, "character"),
        PgType::Varchar(_) => known(Category::String, 1, "character varying"),
        PgType::Text => known(Category::String, 2, "text"),
        PgType::Bool => known(Category::Boolean, 0, "boolean"),
        PgType::Date => known(Category::DateTime, 0, "date"),
        PgType::Timestamp => known(Category::DateTime, 1, "timestamp without time zone"),
        PgType::Timestamptz => known(Category::DateTime, 2, "timestamp with time zone"),
        PgType::Time => known(Category::TimeOfDay, 0, "time without time zone"),
        PgType::Interval => known(Category::Timespan, 0, "interval"),
        PgType::Bytea | PgType::Uuid | PgType::Inet | PgType::Cidr | PgType::Json | PgType::Jsonb | PgType::Enum(_) | PgType::Array(_) => None,
    }
}

fn known(expr: &Expr, scope: &Scope<'_>) -> Option<Known> {
    match expr {
        Expr::Nested(inner) => known(inner, scope),
        Expr::Value(v) => match &v.value {
            Value::Number(n, _) => of_type(crate::translate::number_literal_type(n)),
            Value::Boolean(_) => of_type(PgType::Bool),
            _ => None,
        },
        Expr::Cast { data_type, .. } => PgType::from_sql(data_type).ok().and_then(|t| of_type(t.ty)),
        Expr::TypedString(typed) => PgType::from_sql(&typed.data_type).ok().and_then(|t| of_type(t.ty)),
        Expr::Identifier(_) | Expr::CompoundIdentifier(_) => scope.column_type(expr).and_then(of_type),
        _ => None,
    }
}

/// PostgreSQL's `select_common_type` over what is known of `exprs`, in its order.
fn common<'e>(context: &str, exprs: impl IntoIterator<Item = &'e Expr>, scope: &Scope<'_>) -> Result<()> {
    common_of(context, exprs.into_iter().filter_map(|e| known(e, scope)))
}

fn common_of(context: &str, types: impl IntoIterator<Item = Known>) -> Result<()> {
    let mut common: Option<Known> = None;
    for next in types {
        match common {
            None => common = Some(next),
            Some(so_far) if so_far.category != next.category => {
                return Err(EngineError::TypeMismatch { message: format!("{context} types {} and {} cannot be matched", so_far.name, next.name) });
            }
            Some(so_far) if next.rank > so_far.rank => common = Some(next),
            Some(_) => {}
        }
    }
    Ok(())
}

/// The type PostgreSQL resolves `exprs` to when the statement tells it and it is not a string
/// (the widest of the first category met): what a quoted string among them is read as.
pub(crate) fn resolved_non_string<'e>(exprs: impl IntoIterator<Item = &'e Expr>, scope: &Scope<'_>) -> Option<PgType> {
    let mut common: Option<Known> = None;
    for next in exprs.into_iter().filter_map(|e| known(e, scope)) {
        match common {
            None => common = Some(next),
            Some(so_far) if so_far.category == next.category && next.rank > so_far.rank => common = Some(next),
            Some(_) => {}
        }
    }
    common.filter(|c| c.category != Category::String).map(|c| c.ty)
}

/// What the statement says `expr`'s type is, where it does (see [`known`]).
pub(crate) fn known_type(expr: &Expr, scope: &Scope<'_>) -> Option<PgType> {
    known(expr, scope).map(|k| k.ty)
}

/// The type values of `types` are converted to where the engines would otherwise read them
/// differently from PostgreSQL: the widest date/time type where a date meets a timestamp (a
/// date's stored day number read as microseconds), the float where a numeric meets a double
/// or real (PostgreSQL's common type; DataFusion made them a decimal). `None` where there is
/// no such meeting; a lone date/time type is its own target, for untyped literals beside it.
pub(crate) fn conversion_target(types: &[Option<PgType>]) -> Option<PgType> {
    let widest = |candidates: &[PgType]| candidates.iter().rev().find(|t| types.contains(&Some(**t))).copied();
    if let Some(temporal) = widest(&[PgType::Interval, PgType::Time, PgType::Date, PgType::Timestamp, PgType::Timestamptz]) {
        return Some(temporal);
    }
    let float = widest(&[PgType::Float4, PgType::Float8])?;
    types.iter().any(|t| matches!(t, Some(PgType::Numeric { .. }))).then_some(float)
}

/// The SQL spelling of a [`conversion_target`].
pub(crate) fn conversion_sql_type(target: PgType) -> Option<datafusion::sql::sqlparser::ast::DataType> {
    use datafusion::sql::sqlparser::ast::{DataType as SqlType, TimezoneInfo};
    match target {
        PgType::Date => Some(SqlType::Date),
        PgType::Timestamp => Some(SqlType::Timestamp(None, TimezoneInfo::None)),
        PgType::Timestamptz => Some(SqlType::Timestamp(None, TimezoneInfo::WithTimeZone)),
        PgType::Time => Some(SqlType::Time(None, TimezoneInfo::None)),
        PgType::Interval => Some(SqlType::Interval { fields: None, precision: None }),
        PgType::Float4 => Some(SqlType::Real),
        PgType::Float8 => Some(SqlType::DoublePrecision),
        _ => None,
    }
}

/// Whether an untyped string literal beside a value of `target` (a [`conversion_target`]) is
/// read as one: a date, time or interval (for numbers the engines read it themselves).
pub(crate) fn is_temporal(target: PgType) -> bool {
    matches!(target, PgType::Date | PgType::Timestamp | PgType::Timestamptz | PgType::Time | PgType::Interval)
}

/// Whether a value of `ty` is cast to `target`, a [`conversion_target`].
pub(crate) fn converts_to(ty: PgType, target: PgType) -> bool {
    matches!(
        (ty, target),
        (PgType::Date, PgType::Timestamp | PgType::Timestamptz) | (PgType::Timestamp, PgType::Timestamptz) | (PgType::Numeric { .. }, PgType::Float4 | PgType::Float8)
    )
}

/// The columns of a UNION, INTERSECT or EXCEPT in one type where the engines need it (see
/// [`conversion_target`]): a date column beside a timestamp one (SQLite sorted and showed the
/// date's day number as microseconds after 1970), a numeric beside a double (DataFusion made
/// a decimal of them). Only set operations of plain SELECTs whose columns' types are known.
pub(crate) fn set_operation_columns_converted(statement: &mut Statement, scope: &Scope<'_>, catalog: &Catalog) {
    struct Convert<'s, 'a> {
        scope: &'s Scope<'a>,
        catalog: &'s Catalog,
    }
    fn leaves<'q>(body: &'q mut SetExpr, into: &mut Vec<&'q mut SetExpr>) -> bool {
        match body {
            SetExpr::SetOperation { left, right, .. } => leaves(left, into) && leaves(right, into),
            select @ SetExpr::Select(_) => {
                into.push(select);
                true
            }
            _ => false,
        }
    }
    impl VisitorMut for Convert<'_, '_> {
        type Break = ();

        fn pre_visit_query(&mut self, query: &mut Query) -> ControlFlow<()> {
            let mut selects = Vec::new();
            if !matches!(query.body.as_ref(), SetExpr::SetOperation { .. }) || !leaves(query.body.as_mut(), &mut selects) {
                return ControlFlow::Continue(());
            }
            let Some(types) = selects.iter().map(|select| columns(select, self.scope, self.catalog)).collect::<Option<Vec<_>>>() else {
                return ControlFlow::Continue(());
            };
            let width = types.first().map_or(0, Vec::len);
            if types.iter().any(|t| t.len() != width) {
                return ControlFlow::Continue(());
            }
            for position in 0..width {
                let column: Vec<Option<PgType>> = types.iter().map(|t| t[position].map(|k| k.ty)).collect();
                let Some(target) = conversion_target(&column) else { continue };
                let Some(target_sql) = conversion_sql_type(target) else { continue };
                let temporal = is_temporal(target);
                for (select, ty) in selects.iter_mut().zip(&column) {
                    let SetExpr::Select(select) = &mut **select else { continue };
                    let Some(item) = select.projection.get_mut(position) else { continue };
                    // An untyped string literal takes the column's date/time type, as PostgreSQL
                    // resolves it (SQLite sorted `'11:00'` as text after a time's number).
                    let converted = match ty {
                        Some(ty) => converts_to(*ty, target),
                        None => {
                            temporal
                                && matches!(&*item, SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. }
                                    if crate::translate::is_string_literal(e))
                        }
                    };
                    if !converted {
                        continue;
                    }
                    *item = match std::mem::replace(item, SelectItem::UnnamedExpr(Expr::value(Value::Null))) {
                        // The column keeps the name PostgreSQL gives it (the first branch's names
                        // the result, which an outer query may name: `u.d`).
                        SelectItem::UnnamedExpr(e) => {
                            let alias = Ident::with_quote('"', crate::naming::expr_name(&e));
                            SelectItem::ExprWithAlias { expr: crate::translate::cast(e, target_sql.clone()), alias }
                        }
                        SelectItem::ExprWithAlias { expr, alias } => SelectItem::ExprWithAlias { expr: crate::translate::cast(expr, target_sql.clone()), alias },
                        other => other,
                    };
                }
            }
            ControlFlow::Continue(())
        }
    }
    let _ = statement.visit(&mut Convert { scope, catalog });
}

/// The types the select list of a plain SELECT without `*` is known to have, its columns
/// named by the tables of its own FROM (each branch of a UNION has its own).
fn columns(set: &SetExpr, scope: &Scope<'_>, catalog: &Catalog) -> Option<Vec<Option<Known>>> {
    let SetExpr::Select(select) = set else { return None };
    let tables: Vec<&TableDef> = select
        .from
        .iter()
        .flat_map(|t| std::iter::once(&t.relation).chain(t.joins.iter().map(|j| &j.relation)))
        .filter_map(|factor| match factor {
            TableFactor::Table { name, args: None, .. } => table_name(name).ok().and_then(|n| catalog.get(&n)).map(|d| d.as_ref()),
            _ => None,
        })
        .collect();
    let own_column = |ident: &Ident| {
        let name = normalize_ident(ident);
        let mut found = tables.iter().filter_map(|t| t.column_index(&name).map(|i| t.columns[i].ty));
        let ty = found.next()?;
        found.next().is_none().then_some(ty)
    };
    select
        .projection
        .iter()
        .map(|item| match item {
            SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. } => Some(match e {
                Expr::Identifier(ident) => own_column(ident).and_then(of_type),
                other => known(other, scope),
            }),
            _ => None,
        })
        .collect()
}

struct Check<'s, 'a> {
    scope: &'s Scope<'a>,
    catalog: &'s Catalog,
    failure: Option<EngineError>,
}

impl Check<'_, '_> {
    fn check(&mut self, result: Result<()>) -> ControlFlow<()> {
        match result {
            Ok(()) => ControlFlow::Continue(()),
            Err(e) => {
                self.failure = Some(e);
                ControlFlow::Break(())
            }
        }
    }
}

impl Visitor for Check<'_, '_> {
    type Break = ();

    fn pre_visit_query(&mut self, query: &Query) -> ControlFlow<()> {
        if let SetExpr::SetOperation { op, left, right, .. } = query.body.as_ref()
            && let (Some(left), Some(right)) = (columns(left, self.scope, self.catalog), columns(right, self.scope, self.catalog))
            && left.len() == right.len()
        {
            let context = match op {
                SetOperator::Union => "UNION",
                SetOperator::Intersect => "INTERSECT",
                SetOperator::Except | SetOperator::Minus => "EXCEPT",
            };
            for (l, r) in left.into_iter().zip(right) {
                let result = common_of(context, [l, r].into_iter().flatten());
                self.check(result)?;
            }
        }
        ControlFlow::Continue(())
    }

    fn pre_visit_expr(&mut self, expr: &Expr) -> ControlFlow<()> {
        match expr {
            // The ELSE first, as PostgreSQL gathers them.
            Expr::Case { conditions, else_result, .. } => {
                let results = else_result.iter().map(|e| e.as_ref()).chain(conditions.iter().map(|c| &c.result));
                let result = common("CASE", results, self.scope);
                self.check(result)
            }
            Expr::Function(f) if f.name.to_string().eq_ignore_ascii_case("coalesce") => {
                let FunctionArguments::List(list) = &f.args else { return ControlFlow::Continue(()) };
                let args = list.args.iter().filter_map(|a| match a {
                    FunctionArg::Unnamed(FunctionArgExpr::Expr(e)) => Some(e),
                    _ => None,
                });
                let result = common("COALESCE", args, self.scope);
                self.check(result)
            }
            _ => ControlFlow::Continue(()),
        }
    }
}

/// Refuses CASE branches, COALESCE arguments and set-operation columns whose types cannot be
/// matched, as PostgreSQL does before running anything. A statement whose tables cannot be
/// resolved is left to fail where it runs.
///
/// # Errors
/// [`EngineError::TypeMismatch`] (42804).
pub fn check_common_types(statement: &Statement, catalog: &Catalog) -> Result<()> {
    match Scope::of(statement, catalog) {
        Ok(scope) => check_common_types_in(statement, &scope, catalog),
        Err(_) => Ok(()),
    }
}

/// [`check_common_types`] with the statement's scope at hand.
///
/// # Errors
/// [`EngineError::TypeMismatch`] (42804).
pub(crate) fn check_common_types_in(statement: &Statement, scope: &Scope<'_>, catalog: &Catalog) -> Result<()> {
    let mut check = Check { scope, catalog, failure: None };
    let _ = statement.visit(&mut check);
    check.failure.map_or(Ok(()), Err)
}
