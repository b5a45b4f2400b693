//! What a statement takes and gives before it runs (the extended protocol's Describe): the type
//! of each `$n` parameter and the result columns. Queries are planned by the OLAP engine, which
//! infers both; parameters DataFusion cannot type (and every parameter of writes, which it does
//! not plan) are typed from the catalog, by the column each one is written to or compared with.

use std::ops::ControlFlow;

use arrow::datatypes::{DataType, SchemaRef};
use datafusion::sql::sqlparser::ast::{
    AssignmentTarget, BinaryOperator, Expr, LimitClause, ObjectNamePart, SetExpr, Statement, TableObject, Value, ValueWithSpan,
    visit_expressions,
};

use crate::catalog::{Catalog, PgType, TableDef, normalize_ident, table_name};

/// A statement's parameters and result, as far as they are known without running it.
#[derive(Debug, Clone)]
pub struct Description {
    /// One entry per `$n`, in order; `None` where nothing says what the type is.
    pub params: Vec<Option<DataType>>,
    /// The result columns, for statements that return rows.
    pub columns: Option<SchemaRef>,
}

/// The `n` of a `$n` placeholder.
fn placeholder_index(expr: &Expr) -> Option<usize> {
    match expr {
        Expr::Value(ValueWithSpan { value: Value::Placeholder(p), .. }) => {
            p.strip_prefix('$')?.parse::<usize>().ok().filter(|n| *n > 0)
        }
        Expr::Nested(inner) => placeholder_index(inner),
        _ => None,
    }
}

/// How many parameters a statement takes: its highest `$n`.
pub fn param_count(stmt: &Statement) -> usize {
    let mut max = 0;
    let _ = visit_expressions(stmt, |expr| {
        if let Some(n) = placeholder_index(expr) {
            max = max.max(n);
        }
        ControlFlow::<()>::Continue(())
    });
    max
}

/// The Arrow type a parameter of column type `ty` is described with: the column's, except
/// that a uuid is `FixedSizeBinary(16)`, so the front end can tell clients it is a uuid (they
/// refuse a UUID value for a text parameter); its value still reaches the engine as text.
pub fn param_type(ty: PgType) -> DataType {
    match ty {
        PgType::Uuid => UUID_PARAMETER,
        PgType::Inet => INET_PARAMETER,
        PgType::Cidr => CIDR_PARAMETER,
        other => other.arrow_type(),
    }
}

/// The described type of a uuid parameter (see [`param_type`]).
pub const UUID_PARAMETER: DataType = DataType::FixedSizeBinary(16);

/// The described types of inet and cidr parameters, which no Arrow type is: markers no array
/// has (a negative width), so the front end can tell clients the type (asyncpg sends an
/// `IPv4Address` only for an inet parameter); values still reach the engine as text.
pub const INET_PARAMETER: DataType = DataType::FixedSizeBinary(-869);
pub const CIDR_PARAMETER: DataType = DataType::FixedSizeBinary(-650);

/// Whether a described parameter type says more than the planner's would (a uuid, an inet, an
/// array), and so is kept over it.
pub fn keeps_over_planned(ty: &DataType) -> bool {
    *ty == UUID_PARAMETER || *ty == INET_PARAMETER || *ty == CIDR_PARAMETER || matches!(ty, DataType::List(_))
}

/// The type a parameter's value has once read: the markers above stand for text (in a list
/// too: no Arrow array of a marker type may be built).
pub fn stored_param_type(ty: &DataType) -> DataType {
    match ty {
        DataType::List(element) if keeps_over_planned(element.data_type()) => DataType::new_list(stored_param_type(element.data_type()), true),
        DataType::List(_) => ty.clone(),
        marker if keeps_over_planned(marker) => DataType::Utf8,
        other => other.clone(),
    }
}

struct Inference<'a> {
    tables: Vec<&'a TableDef>,
    types: Vec<Option<DataType>>,
}

impl Inference<'_> {
    fn set(&mut self, expr: &Expr, ty: DataType) {
        if let Some(n) = placeholder_index(expr)
            && let Some(slot) = self.types.get_mut(n - 1)
            && slot.is_none()
        {
            *slot = Some(ty);
        }
    }

    fn column_type(&self, expr: &Expr) -> Option<PgType> {
        let (qualifier, name) = match expr {
            Expr::Identifier(ident) => (None, normalize_ident(ident)),
            Expr::CompoundIdentifier(parts) if parts.len() >= 2 => {
                (Some(normalize_ident(&parts[parts.len() - 2])), normalize_ident(&parts[parts.len() - 1]))
            }
            Expr::Nested(inner) => return self.column_type(inner),
            _ => return None,
        };
        let mut found = self
            .tables
            .iter()
            .filter(|t| qualifier.as_ref().is_none_or(|q| *q == t.name) || qualifier.is_some() && self.tables.len() == 1)
            .filter_map(|t| t.column_index(&name).map(|i| t.columns[i].ty));
        found.next()
    }

    fn pair(&mut self, a: &Expr, b: &Expr) {
        // PostgreSQL compares a cidr as an inet (it has no cidr operators).
        let compared = |ty: PgType| param_type(if ty == PgType::Cidr { PgType::Inet } else { ty });
        if let Some(ty) = self.column_type(a) {
            self.set(b, compared(ty));
        }
        if let Some(ty) = self.column_type(b) {
            self.set(a, compared(ty));
        }
    }

    fn expr(&mut self, expr: &Expr) {
        match expr {
            // A number scales an interval (PostgreSQL types `d * $1` as float8).
            Expr::BinaryOp { left, op: BinaryOperator::Multiply | BinaryOperator::Divide, right }
                if self.column_type(left) == Some(PgType::Interval) || self.column_type(right) == Some(PgType::Interval) =>
            {
                let number = if self.column_type(left) == Some(PgType::Interval) { right } else { left };
                self.set(number, DataType::Float64);
            }
            // An address plus a number (`ip + $1`: bigint).
            Expr::BinaryOp { left, op: BinaryOperator::Plus, right }
                if self.column_type(left).is_some_and(|t| t.net_kind().is_some()) || self.column_type(right).is_some_and(|t| t.net_kind().is_some()) =>
            {
                let number = if self.column_type(left).is_some_and(|t| t.net_kind().is_some()) { right } else { left };
                self.set(number, DataType::Int64);
            }
            Expr::BinaryOp { left, right, .. } => self.pair(left, right),
            Expr::Between { expr, low, high, .. } => {
                self.pair(expr, low);
                self.pair(expr, high);
            }
            Expr::InList { expr, list, .. } => list.iter().for_each(|item| self.pair(expr, item)),
            // `x LIKE ANY ($1)`: a text array of patterns.
            Expr::Like { expr, pattern, any, .. } | Expr::ILike { expr, pattern, any, .. } => {
                self.set(pattern, if *any { DataType::new_list(DataType::Utf8, true) } else { DataType::Utf8 });
                self.set(expr, DataType::Utf8);
            }
            // `x = ANY ($1)`: an array of x's type.
            Expr::AnyOp { left, right, .. } | Expr::AllOp { left, right, .. } => {
                if let Some(ty) = self.column_type(left) {
                    self.set(right, DataType::new_list(param_type(ty), true));
                }
            }
            Expr::Cast { expr, data_type: datafusion::sql::sqlparser::ast::DataType::Array(element), .. } => {
                if let Ok(Some(element)) = crate::translate::array_element_type(element) {
                    self.set(expr, DataType::new_list(param_type(element), true));
                }
            }
            Expr::Cast { expr, data_type, .. } => {
                if let Ok(declared) = PgType::from_sql(data_type) {
                    self.set(expr, param_type(declared.ty));
                }
            }
            _ => {}
        }
    }
}

/// Parameter types inferred from the catalog: the column a parameter is inserted into,
/// assigned to or compared with, `LIMIT`/`OFFSET` (bigint) and explicit casts.
pub fn infer_param_types(stmt: &Statement, catalog: &Catalog) -> Vec<Option<DataType>> {
    let count = param_count(stmt);
    if count == 0 {
        return Vec::new();
    }
    let mut tables = Vec::new();
    let _ = datafusion::sql::sqlparser::ast::visit_relations(stmt, |name| {
        if let Ok(t) = table_name(name)
            && let Some(def) = catalog.get(&t)
        {
            tables.push(def.as_ref());
        }
        ControlFlow::<()>::Continue(())
    });
    let mut inference = Inference { tables, types: vec![None; count] };
    match stmt {
        Statement::Insert(insert) => {
            if let TableObject::TableName(name) = &insert.table
                && let Ok(t) = table_name(name)
                && let Some(def) = catalog.get(&t)
            {
                let targets = def.insert_targets(&insert.columns);
                if let Some(source) = &insert.source
                    && let SetExpr::Values(values) = source.body.as_ref()
                {
                    for row in &values.rows {
                        for (value, target) in row.iter().zip(&targets) {
                            if let Some(i) = target {
                                inference.set(value, param_type(def.columns[*i].ty));
                            }
                        }
                    }
                }
                if let Some(datafusion::sql::sqlparser::ast::OnInsert::OnConflict(conflict)) = &insert.on
                    && let datafusion::sql::sqlparser::ast::OnConflictAction::DoUpdate(update) = &conflict.action
                {
                    assignments(&mut inference, &update.assignments, def);
                }
            }
        }
        Statement::Update(update) => {
            if let datafusion::sql::sqlparser::ast::TableFactor::Table { name, .. } = &update.table.relation
                && let Ok(t) = table_name(name)
                && let Some(def) = catalog.get(&t)
            {
                assignments(&mut inference, &update.assignments, def);
            }
        }
        Statement::Query(query) => {
            if let Some(LimitClause::LimitOffset { limit, offset, .. }) = &query.limit_clause {
                if let Some(limit) = limit {
                    inference.set(limit, DataType::Int64);
                }
                if let Some(offset) = offset {
                    inference.set(&offset.value, DataType::Int64);
                }
            }
        }
        _ => {}
    }
    let _ = visit_expressions(stmt, |expr| {
        inference.expr(expr);
        ControlFlow::<()>::Continue(())
    });
    inference.types
}

fn assignments(inference: &mut Inference<'_>, list: &[datafusion::sql::sqlparser::ast::Assignment], def: &TableDef) {
    for assignment in list {
        if let AssignmentTarget::ColumnName(name) = &assignment.target
            && let Some(ObjectNamePart::Identifier(ident)) = name.0.last()
            && let Some(i) = def.column_index(&normalize_ident(ident))
        {
            inference.set(&assignment.value, param_type(def.columns[i].ty));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::sql::sqlparser::{dialect::PostgreSqlDialect, parser::Parser};

    fn catalog() -> Catalog {
        crate::catalog::one_table_catalog("t", &[("id", PgType::Int4), ("name", PgType::Text), ("ok", PgType::Bool)])
    }

    fn infer(sql: &str) -> Vec<Option<DataType>> {
        let stmt = Parser::parse_sql(&PostgreSqlDialect {}, sql).unwrap().remove(0);
        infer_param_types(&stmt, &catalog())
    }

    #[test]
    fn parameters_take_the_type_of_their_column() {
        assert_eq!(
            infer("INSERT INTO t (name, id) VALUES ($1, $2) ON CONFLICT (id) DO UPDATE SET ok = $3"),
            vec![Some(DataType::Utf8), Some(DataType::Int32), Some(DataType::Boolean)]
        );
        assert_eq!(infer("UPDATE t SET ok = $2 WHERE id = $1"), vec![Some(DataType::Int32), Some(DataType::Boolean)]);
        assert_eq!(infer("SELECT * FROM t WHERE t.id IN ($1, $2) LIMIT $3"), vec![
            Some(DataType::Int32),
            Some(DataType::Int32),
            Some(DataType::Int64)
        ]);
        assert_eq!(infer("SELECT $1::int8, $2"), vec![Some(DataType::Int64), None]);
    }
}
