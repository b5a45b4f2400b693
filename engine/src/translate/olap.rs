//! The few rewrites DataFusion needs to answer as PostgreSQL does: casts to integers round
//! (`2.5::numeric::int` is 3, `2.5::float8::int` is 2) where DataFusion truncates; `round()`
//! rounds floats half to even and keeps a numeric's scale; explicit casts to `varchar(n)` and
//! `char(n)` cut the text; every divisor is checked for zero.

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
        if let Expr::Function(f) = expr
            && f.name.to_string().eq_ignore_ascii_case("round")
        {
            f.name = datafusion::sql::sqlparser::ast::ObjectName::from(vec![datafusion::sql::sqlparser::ast::Ident::new("rhei_round")]);
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
            let text = Expr::Cast {
                kind: datafusion::sql::sqlparser::ast::CastKind::Cast,
                expr: Box::new(value),
                data_type: SqlType::Text,
                array: false,
                format: None,
            };
            let cut = call("substr", vec![text, one, len]);
            let cut = if matches!(declared.ty, PgType::Bpchar(_)) { call("rtrim", vec![cut]) } else { cut };
            *expr = cut;
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
        assert_eq!(stmt.to_string(), "SELECT rhei_round_for_cast(w)::INT, id::INT FROM t");
    }
}
