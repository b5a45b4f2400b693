//! The few rewrites DataFusion needs to answer as PostgreSQL does. Casting a numeric or float
//! column to an integer type rounds in PostgreSQL (`2.5::numeric::int` is 3) but truncates in
//! DataFusion, so such casts get an explicit `round()`.

use std::ops::ControlFlow;

use datafusion::sql::sqlparser::ast::{DataType as SqlType, Expr, Statement, visit_expressions_mut};

use crate::catalog::{Catalog, PgType};
use crate::translate::{Scope, call};

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

/// Rewrites a statement for the OLAP engine, in place. Never fails: what it does not
/// recognise it leaves alone.
pub fn to_olap(stmt: &mut Statement, catalog: &Catalog) {
    let Ok(scope) = Scope::of(stmt, catalog) else { return };
    let _ = visit_expressions_mut(stmt, |expr| {
        if let Expr::BinaryOp { op: datafusion::sql::sqlparser::ast::BinaryOperator::Divide, right, .. } = expr {
            let divisor = std::mem::replace(right.as_mut(), Expr::value(datafusion::sql::sqlparser::ast::Value::Null));
            **right = call("rhei_divisor", vec![divisor]);
        }
        if let Expr::Cast { expr: inner, data_type, .. } = expr
            && is_integer_type(data_type)
            && scope
                .column_type(inner)
                .is_some_and(|t| matches!(t, PgType::Numeric { .. } | PgType::Float4 | PgType::Float8))
        {
            let value = std::mem::replace(inner.as_mut(), Expr::value(datafusion::sql::sqlparser::ast::Value::Null));
            **inner = call("round", vec![value]);
        }
        ControlFlow::<()>::Continue(())
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::{ColumnDef, TableDef, TableId};
    use datafusion::sql::sqlparser::{dialect::PostgreSqlDialect, parser::Parser};

    #[test]
    fn casts_of_fractional_columns_to_integers_round() {
        let col = |name: &str, ty| ColumnDef { name: name.into(), ty, not_null: false, is_serial: false, default_sql: None };
        let catalog = Catalog::from_tables([TableDef {
            id: TableId(1),
            name: "t".into(),
            columns: vec![col("id", PgType::Int8), col("w", PgType::Float8)],
            primary_key: vec![0],
            unique: vec![],
            replica: None,
            ..Default::default()
        }]);
        let mut stmt = Parser::parse_sql(&PostgreSqlDialect {}, "SELECT w::int, id::int FROM t").unwrap().remove(0);
        to_olap(&mut stmt, &catalog);
        assert_eq!(stmt.to_string(), "SELECT round(w)::INT, id::INT FROM t");
    }
}
