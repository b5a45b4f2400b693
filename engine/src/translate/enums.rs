//! Enum types (`CREATE TYPE ... AS ENUM`) as PostgreSQL reads them, for both engines. Both
//! hold an enum value as its label's text, which is enough to store, compare for equality
//! and group; what text cannot do is said here:
//! - a cast to the type (`'ok'::mood`) checks the label (`rhei_enum`, on both engines);
//! - a label compared with a column of the type is checked too (`m = 'nah'` is 22P02);
//! - order is the labels' declared order, not text order: ORDER BY (of a query, a window, a
//!   named window, an aggregate), `<`, `>`, BETWEEN, `min` and `max` go by each value's
//!   position among the labels.
//!
//! What is typed an enum is read from the statement: a column of one (a name that an output
//! or CTE column anywhere in the statement also has is left alone, since the statement-wide
//! scope cannot tell which it is), a cast to one, `min`/`max` of one. Not yet by position:
//! ORDER BY of set operations (and of a DISTINCT select DataFusion cannot run as a GROUP BY,
//! see `translate::distinct_as_grouping`), row comparisons, `ANY`/`ALL`, greatest/least.

use std::collections::HashSet;
use std::ops::ControlFlow;

use datafusion::sql::sqlparser::ast::{
    BinaryOperator, CaseWhen, DataType as SqlType, Expr, Function, FunctionArg, FunctionArgExpr, FunctionArgumentClause, FunctionArguments,
    NamedWindowExpr, OrderByExpr, OrderByKind, Query, SelectItem, SetExpr, Statement, Value, ValueWithSpan, Visit, VisitMut,
    Visitor, VisitorMut, WindowType, helpers::attached_token::AttachedToken, visit_expressions, visit_expressions_mut,
};

use crate::catalog::{Catalog, EnumType, PgType, normalize_ident, table_name};
use crate::translate::{Scope, call, first_arg, is_literal_like, positional_args_mut, string};

/// The function both engines check a label with: `rhei_enum(value, type name, label...)`.
pub(crate) const ENUM_INPUT: &str = "rhei_enum";

/// `expr` checked as a value of `ty` (22P02 where it is not one of its labels). A parameter
/// is text (DataFusion infers no type through the function).
pub(crate) fn checked(expr: Expr, ty: EnumType) -> Expr {
    let def = ty.def();
    let expr = super::typed_parameter(expr, SqlType::Text);
    call(ENUM_INPUT, [expr, string(&def.name)].into_iter().chain(def.labels.iter().map(|l| string(l))).collect())
}

/// The position of `expr`'s label among `ty`'s (1 for the first), NULL for NULL.
fn position(expr: Expr, ty: EnumType) -> Expr {
    case_of(expr, ty.def().labels.iter().enumerate().map(|(k, label)| (string(label), number(k + 1))))
}

/// The label at the position `expr` computes (the inverse of [`position`]).
fn label_at(expr: Expr, ty: EnumType) -> Expr {
    case_of(expr, ty.def().labels.iter().enumerate().map(|(k, label)| (number(k + 1), string(label))))
}

/// `CASE expr WHEN a THEN b ... END` over `(a, b)` pairs.
fn case_of(expr: Expr, pairs: impl Iterator<Item = (Expr, Expr)>) -> Expr {
    Expr::Case {
        case_token: AttachedToken::empty(),
        end_token: AttachedToken::empty(),
        operand: Some(Box::new(expr)),
        conditions: pairs.map(|(condition, result)| CaseWhen { condition, result }).collect(),
        else_result: None,
    }
}

fn number(n: usize) -> Expr {
    Expr::value(Value::Number(n.to_string(), false))
}

/// Replaces `expr` in place by what `make` makes of it.
fn replace_with(expr: &mut Expr, make: impl FnOnce(Expr) -> Expr) {
    let taken = std::mem::replace(expr, Expr::value(Value::Null));
    *expr = make(taken);
}

/// What the rewrite reads the statement's types with.
struct Typing<'s, 'a> {
    scope: &'s Scope<'a>,
    catalog: &'a Catalog,
    /// Names the statement gives output columns, CTE columns and derived tables' columns.
    shadowed: HashSet<String>,
}

impl Typing<'_, '_> {
    /// The enum type PostgreSQL gives `expr`, as far as the statement tells: a column of one,
    /// a cast to one, a checked value, `min` or `max` of one.
    fn of(&self, expr: &Expr) -> Option<EnumType> {
        match expr {
            Expr::Identifier(ident) if self.shadowed.contains(&normalize_ident(ident)) => None,
            Expr::Function(f) if is_extreme(f) => first_arg(f).and_then(|arg| self.of(arg)),
            other => enum_type_of(other, self.scope, self.catalog),
        }
    }
}

/// The names a statement gives columns of its own (select-list aliases, CTE and derived
/// table column lists), which a bare column name may mean instead of a table's column.
pub(crate) fn shadowing_names(stmt: &Statement) -> HashSet<String> {
    struct Names(HashSet<String>);
    impl Visitor for Names {
        type Break = ();
        fn pre_visit_query(&mut self, query: &Query) -> ControlFlow<()> {
            if let SetExpr::Select(select) = query.body.as_ref() {
                for item in &select.projection {
                    // `t.m AS m` names the column it is.
                    if let SelectItem::ExprWithAlias { alias, expr } = item {
                        let alias = normalize_ident(alias);
                        let same = match expr {
                            Expr::Identifier(ident) => normalize_ident(ident) == alias,
                            Expr::CompoundIdentifier(parts) => parts.last().is_some_and(|p| normalize_ident(p) == alias),
                            _ => false,
                        };
                        if !same {
                            self.0.insert(alias);
                        }
                    }
                }
            }
            for cte in query.with.iter().flat_map(|w| &w.cte_tables) {
                self.0.extend(cte.alias.columns.iter().map(|c| normalize_ident(&c.name)));
            }
            ControlFlow::Continue(())
        }
        fn pre_visit_table_factor(&mut self, factor: &datafusion::sql::sqlparser::ast::TableFactor) -> ControlFlow<()> {
            if let datafusion::sql::sqlparser::ast::TableFactor::Derived { alias: Some(alias), .. } = factor {
                self.0.extend(alias.columns.iter().map(|c| normalize_ident(&c.name)));
            }
            ControlFlow::Continue(())
        }
    }
    let mut names = Names(HashSet::new());
    let _ = stmt.visit(&mut names);
    names.0
}

/// The enum type of `expr` where it is a cast, a checked value or a table's column.
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

/// Rewrites `stmt` so either engine answers its enum values as PostgreSQL does (see the
/// module docs). Does nothing to a statement of a catalog without enum types.
pub(crate) fn as_postgresql_means(stmt: &mut Statement, scope: &Scope<'_>, catalog: &Catalog, olap: bool) {
    if catalog.enums().next().is_none() {
        return;
    }
    let typing = Typing { scope, catalog, shadowed: shadowing_names(stmt) };
    let _ = stmt.visit(&mut SortKeys { key: &|sorted: &Expr| typing.of(sorted).map(|ty| position(sorted.clone(), ty)), olap });
    let _ = visit_expressions_mut(stmt, |expr| {
        rewrite(expr, &typing);
        ControlFlow::<()>::Continue(())
    });
    // After the comparisons, which read `max(m)` as an enum.
    let _ = visit_expressions_mut(stmt, |expr| {
        extreme_by_position(expr, &typing);
        ControlFlow::<()>::Continue(())
    });
}

/// Sorts by the key `key` makes of a sorted value, where it makes one (an enum's position
/// among its type's labels, an inet's sort key): the ORDER BY of each query, of each window
/// (named ones too) and of each aggregate.
pub(crate) struct SortKeys<'k> {
    pub(crate) key: &'k dyn Fn(&Expr) -> Option<Expr>,
    /// For DataFusion, which orders a DISTINCT select only by its outputs (SQLite by anything).
    pub(crate) olap: bool,
}

impl SortKeys<'_> {
    fn by_key(&self, items: &mut [OrderByExpr]) {
        for item in items {
            if let Some(key) = (self.key)(&item.expr) {
                item.expr = key;
            }
        }
    }
}

impl VisitorMut for SortKeys<'_> {
    type Break = ();

    fn pre_visit_query(&mut self, query: &mut Query) -> ControlFlow<()> {
        // A set operation's ORDER BY names output columns, which SQLite refuses to compute on.
        let SetExpr::Select(select) = query.body.as_mut() else { return ControlFlow::Continue(()) };
        for window in &mut select.named_window {
            if let NamedWindowExpr::WindowSpec(spec) = &mut window.1 {
                self.by_key(&mut spec.order_by);
            }
        }
        // Positions and output names stand for their select-list items, unless a `*` comes
        // before (whose columns this does not count).
        let items: Option<Vec<(Option<String>, Expr)>> = select
            .projection
            .iter()
            .map(|item| match item {
                SelectItem::UnnamedExpr(e) => Some((None, e.clone())),
                SelectItem::ExprWithAlias { expr, alias } => Some((Some(normalize_ident(alias)), expr.clone())),
                _ => None,
            })
            .collect();
        // What an ORDER BY item sorts: the select-list item it names, or itself; `None` for a
        // number or output name this cannot follow.
        let sorted = |expr: &Expr| -> Option<Expr> {
            let named = match (expr, &items) {
                (Expr::Value(ValueWithSpan { value: Value::Number(n, _), .. }), Some(items)) => {
                    n.parse::<usize>().ok().and_then(|n| items.get(n.checked_sub(1)?)).map(|(_, e)| e.clone())
                }
                (Expr::Identifier(name), Some(items)) => {
                    let name = normalize_ident(name);
                    items.iter().find(|(alias, _)| alias.as_ref() == Some(&name)).map(|(_, e)| e.clone())
                }
                _ => None,
            };
            match named {
                Some(named) => Some(named),
                None if matches!(expr, Expr::Value(_)) => None,
                None => Some(expr.clone()),
            }
        };
        let Some(order_by) = &mut query.order_by else { return ControlFlow::Continue(()) };
        let OrderByKind::Expressions(order) = &mut order_by.kind else { return ControlFlow::Continue(()) };
        // A name in the key that an output column of another item has would be read as that
        // output by DataFusion (`SELECT lv AS level, note AS lv ... ORDER BY level`).
        let captured = |e: &Expr| {
            let outputs = items.as_deref().unwrap_or_default();
            visit_expressions(e, |inner| match inner {
                Expr::Identifier(ident) => {
                    let name = normalize_ident(ident);
                    let other = outputs.iter().any(|(alias, item)| alias.as_ref() == Some(&name) && !matches!(item, Expr::Identifier(i) if normalize_ident(i) == name));
                    if other { ControlFlow::Break(()) } else { ControlFlow::Continue(()) }
                }
                _ => ControlFlow::Continue(()),
            })
            .is_break()
        };
        let keyed = |e: &Expr| if captured(e) { None } else { (self.key)(e) };
        // DataFusion orders a DISTINCT select only by its outputs: a plain one groups by its
        // items instead, and then sorts by any function of them.
        if self.olap && select.distinct.is_some() {
            let order_sorted: Option<Vec<Expr>> = order.iter().map(|item| sorted(&item.expr)).collect();
            let takes_key = order_sorted.iter().flatten().any(|e| keyed(e).is_some());
            if !(takes_key && order_sorted.is_some_and(|sorted| super::distinct_as_grouping(select, &sorted))) {
                return ControlFlow::Continue(());
            }
        }
        for item in order {
            if let Some(key) = sorted(&item.expr).and_then(|e| keyed(&e)) {
                item.expr = key;
            }
        }
        ControlFlow::Continue(())
    }

    fn pre_visit_expr(&mut self, expr: &mut Expr) -> ControlFlow<()> {
        if let Expr::Function(f) = expr {
            if let Some(WindowType::WindowSpec(spec)) = &mut f.over {
                self.by_key(&mut spec.order_by);
            }
            if let FunctionArguments::List(list) = &mut f.args {
                for clause in &mut list.clauses {
                    if let FunctionArgumentClause::OrderBy(order) = clause {
                        self.by_key(order);
                    }
                }
            }
            self.by_key(&mut f.within_group);
        }
        ControlFlow::Continue(())
    }
}

fn is_extreme(f: &Function) -> bool {
    matches!(f.name.to_string().to_ascii_lowercase().as_str(), "min" | "max")
}

/// `min(m)` as the label at the least position.
fn extreme_by_position(expr: &mut Expr, typing: &Typing<'_, '_>) {
    let Expr::Function(f) = expr else { return };
    if !is_extreme(f) {
        return;
    }
    let Some(ty) = first_arg(f).and_then(|arg| typing.of(arg)) else { return };
    if let [arg] = positional_args_mut(f).as_mut_slice() {
        replace_with(arg, |value| position(value, ty));
    }
    replace_with(expr, |aggregate| label_at(aggregate, ty));
}

fn rewrite(expr: &mut Expr, typing: &Typing<'_, '_>) {
    let catalog = typing.catalog;
    match expr {
        // A cast to text is text: its field would keep the column's type otherwise (DataFusion
        // keeps a field's metadata through a cast), and drivers read it as the enum.
        Expr::Cast { expr: value, data_type: SqlType::Text | SqlType::Varchar(None), .. } if typing.of(value).is_some() => {
            let value = std::mem::replace(value.as_mut(), Expr::value(Value::Null));
            *expr = Expr::BinaryOp { left: Box::new(value), op: BinaryOperator::StringConcat, right: Box::new(string("")) };
        }
        Expr::Cast { expr: value, data_type, .. } => {
            if let Some(ty) = named_enum(data_type, catalog) {
                let value = std::mem::replace(value.as_mut(), Expr::value(Value::Null));
                *expr = checked(value, ty);
            }
        }
        Expr::BinaryOp { left, op, right } => {
            let Some(ty) = typing.of(left).or_else(|| typing.of(right)) else { return };
            let ordering = matches!(op, BinaryOperator::Lt | BinaryOperator::LtEq | BinaryOperator::Gt | BinaryOperator::GtEq);
            if !ordering && !matches!(op, BinaryOperator::Eq | BinaryOperator::NotEq) {
                return;
            }
            for side in [left, right] {
                if is_literal_like(side) {
                    replace_with(side, |literal| checked(literal, ty));
                }
                if ordering {
                    replace_with(side, |value| position(value, ty));
                }
            }
        }
        Expr::InList { expr: value, list, .. } => {
            let Some(ty) = typing.of(value) else { return };
            for item in list.iter_mut().filter(|i| is_literal_like(i)) {
                replace_with(item, |literal| checked(literal, ty));
            }
        }
        Expr::Between { expr: value, low, high, .. } => {
            let Some(ty) = typing.of(value) else { return };
            for side in [value, low, high] {
                if is_literal_like(side) {
                    replace_with(side, |literal| checked(literal, ty));
                }
                replace_with(side, |value| position(value, ty));
            }
        }
        _ => {}
    }
}

/// `sql` (an expression, or with `is_query` a statement) with its casts to type `old`
/// naming `new` instead, for ALTER TYPE ... RENAME TO (PostgreSQL keeps a type by OID in
/// stored expressions, rhei keeps their text); `None` where it casts to no such type.
pub(crate) fn with_type_renamed(sql: &str, old: &str, new: &str, is_query: bool) -> Option<String> {
    use datafusion::sql::sqlparser::{dialect::PostgreSqlDialect, parser::Parser};
    fn rename(node: &mut impl VisitMut, old: &str, new: &str) -> bool {
        let mut renamed = false;
        let _ = visit_expressions_mut(node, |expr| {
            if let Expr::Cast { data_type: SqlType::Custom(name, modifiers), .. } = expr
                && modifiers.is_empty()
                && table_name(name).is_ok_and(|n| n == old)
            {
                *name = datafusion::sql::sqlparser::ast::ObjectName::from(vec![datafusion::sql::sqlparser::ast::Ident::with_quote('"', new)]);
                renamed = true;
            }
            ControlFlow::<()>::Continue(())
        });
        renamed
    }
    if is_query {
        let mut statement = Parser::parse_sql(&PostgreSqlDialect {}, sql).ok()?.pop()?;
        rename(&mut statement, old, new).then(|| statement.to_string())
    } else {
        let mut expr = Parser::new(&PostgreSqlDialect {}).try_with_sql(sql).and_then(|mut p| p.parse_expr()).ok()?;
        rename(&mut expr, old, new).then(|| expr.to_string())
    }
}

#[cfg(test)]
mod tests {
    use datafusion::sql::sqlparser::{dialect::PostgreSqlDialect, parser::Parser};

    use crate::catalog::{Catalog, ColumnDef, EnumDef, EnumType, PgType, TableDef, TableId};
    use crate::translate::TranslateOptions;

    fn catalog() -> Catalog {
        let size = EnumType::new(EnumDef { id: 1, name: "size".into(), labels: vec!["small".into(), "large".into()] });
        let column = |name: &str, ty| ColumnDef { name: name.into(), ty, not_null: false, is_serial: false, default_sql: None };
        Catalog::from_tables([TableDef {
            id: TableId(1),
            name: "boxes".into(),
            columns: vec![column("id", PgType::Int4), column("s", PgType::Enum(size)), column("label", PgType::Text)],
            primary_key: vec![0],
            ..Default::default()
        }])
        .with_enum_types([size])
    }

    fn sqlite(sql: &str) -> String {
        let mut stmt = Parser::parse_sql(&PostgreSqlDialect {}, sql).unwrap().remove(0);
        crate::translate::to_sqlite(&mut stmt, &catalog(), TranslateOptions::default()).unwrap();
        stmt.to_string()
    }

    /// A name a CTE's select list gives is that column, not a table's enum column of the name.
    #[test]
    fn a_cte_column_named_like_an_enum_column_is_not_one() {
        assert_eq!(
            sqlite("WITH x AS (SELECT label AS s FROM boxes) SELECT s FROM x WHERE s = 'b'"),
            "WITH x AS (SELECT label AS \"s\" FROM boxes) SELECT s FROM x WHERE s = 'b'"
        );
        // The table's column is one; a parameter is checked as a label, typed text.
        assert_eq!(
            sqlite("SELECT label FROM boxes WHERE s > $1"),
            "SELECT label FROM boxes WHERE CASE s WHEN 'small' THEN 1 WHEN 'large' THEN 2 END > \
             CASE rhei_enum(CAST(?1 AS TEXT), 'size', 'small', 'large') WHEN 'small' THEN 1 WHEN 'large' THEN 2 END"
        );
    }
}
