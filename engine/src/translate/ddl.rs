//! DDL: Postgres CREATE TABLE / ALTER TABLE to a catalog entry plus SQLite DDL. Tables are STRICT
//! (SQLite then rejects a value of the wrong storage class instead of keeping it), a single integer
//! primary key becomes SQLite's rowid alias (serial columns then number themselves), and every
//! DEFAULT is stored converted to the column's storage form.

use datafusion::sql::sqlparser::ast::{
    ColumnDef as SqlColumnDef, ColumnOption, CreateTable, Expr, IndexColumn, TableConstraint,
};
use datafusion::sql::sqlparser::{dialect::PostgreSqlDialect, parser::Parser};

use crate::catalog::{ColumnDef, PgType, TableDef, TableId, normalize_ident, quote_ident, table_name};
use crate::error::{EngineError, Result};
use crate::translate::{TranslateOptions, convert_expr, to_sqlite};

/// A column as parsed from DDL, before its table exists.
pub fn column_def(col: &SqlColumnDef) -> Result<(ColumnDef, bool, bool)> {
    let declared = PgType::from_sql(&col.data_type)?;
    let mut def = ColumnDef {
        name: normalize_ident(&col.name),
        ty: declared.ty,
        not_null: false,
        is_serial: declared.is_serial,
        default_sql: None,
    };
    let (mut primary, mut unique) = (false, false);
    for option in &col.options {
        match &option.option {
            ColumnOption::NotNull => def.not_null = true,
            ColumnOption::Null => def.not_null = false,
            ColumnOption::Default(expr) => def.default_sql = Some(expr.to_string()),
            ColumnOption::PrimaryKey(_) => primary = true,
            ColumnOption::Unique(_) => unique = true,
            ColumnOption::Check(_) => return Err(EngineError::unsupported("CHECK constraints")),
            ColumnOption::ForeignKey(_) => return Err(EngineError::unsupported("FOREIGN KEY constraints")),
            other => return Err(EngineError::unsupported(format!("column option {other}"))),
        }
    }
    if primary || declared.is_serial {
        def.not_null = true;
    }
    Ok((def, primary, unique))
}

fn index_columns(columns: &[IndexColumn], defs: &[ColumnDef], table: &str) -> Result<Vec<usize>> {
    columns
        .iter()
        .map(|c| {
            let name = match &c.column.expr {
                Expr::Identifier(ident) => normalize_ident(ident),
                other => return Err(EngineError::unsupported(format!("constraint on expression {other}"))),
            };
            defs.iter()
                .position(|d| d.name == name)
                .ok_or_else(|| EngineError::UndefinedColumn { column: name, table: Some(table.to_string()) })
        })
        .collect()
}

/// The catalog entry for a CREATE TABLE.
///
/// # Errors
/// Unsupported types or constraints, duplicate or unknown columns, more than one primary key.
pub fn table_def(create: &CreateTable, id: TableId) -> Result<TableDef> {
    let name = table_name(&create.name)?;
    if create.query.is_some() {
        return Err(EngineError::unsupported("CREATE TABLE ... AS"));
    }
    let mut columns = Vec::with_capacity(create.columns.len());
    let mut primary_key = Vec::new();
    let mut unique = Vec::new();
    for col in &create.columns {
        let (def, primary, is_unique) = column_def(col)?;
        if columns.iter().any(|c: &ColumnDef| c.name == def.name) {
            return Err(EngineError::DuplicateColumn { table: name.clone(), column: def.name });
        }
        if primary {
            if !primary_key.is_empty() {
                return Err(EngineError::syntax(format!("multiple primary keys for table \"{name}\" are not allowed")));
            }
            primary_key.push(columns.len());
        }
        if is_unique {
            unique.push(vec![columns.len()]);
        }
        columns.push(def);
    }
    for constraint in &create.constraints {
        match constraint {
            TableConstraint::PrimaryKey(pk) => {
                if !primary_key.is_empty() {
                    return Err(EngineError::syntax(format!("multiple primary keys for table \"{name}\" are not allowed")));
                }
                primary_key = index_columns(&pk.columns, &columns, &name)?;
                for &i in &primary_key {
                    columns[i].not_null = true;
                }
            }
            TableConstraint::Unique(u) => unique.push(index_columns(&u.columns, &columns, &name)?),
            other => return Err(EngineError::unsupported(format!("table constraint {other}"))),
        }
    }
    if columns.is_empty() {
        return Err(EngineError::unsupported("tables without columns"));
    }
    Ok(TableDef { id, name, columns, primary_key, unique, replica: None })
}

/// SQLite's text for one column definition (without table constraints).
pub fn sqlite_column(def: &TableDef, index: usize, opts: TranslateOptions) -> Result<String> {
    let col = &def.columns[index];
    let mut sql = format!("{} {}", quote_ident(&col.name), col.ty.storage());
    let serial_rowid = def.rowid_alias() == Some(index) && col.is_serial;
    if def.rowid_alias() == Some(index) {
        // A single integer primary key is declared the way that makes it the rowid alias.
        sql.push_str(" PRIMARY KEY");
    }
    if col.not_null && !serial_rowid {
        sql.push_str(" NOT NULL");
    }
    if let Some(default) = &col.default_sql {
        sql.push_str(&format!(" DEFAULT ({})", default_expr_sql(col.ty, default, opts)?));
    } else if col.is_serial && !serial_rowid {
        return Err(EngineError::unsupported("serial columns that are not the table's only primary key column"));
    }
    Ok(sql)
}

/// The SQLite expression for a column's DEFAULT, converted to the column's storage form.
///
/// # Errors
/// A DEFAULT that does not parse or translate.
pub fn default_expr_sql(ty: PgType, default: &str, opts: TranslateOptions) -> Result<String> {
    let expr = Parser::new(&PostgreSqlDialect {})
        .try_with_sql(default)
        .and_then(|mut p| p.parse_expr())
        .map_err(EngineError::syntax)?;
    // Translate the expression alone through a SELECT, so the same rewrites apply as everywhere.
    let mut stmt = Parser::parse_sql(&PostgreSqlDialect {}, &format!("SELECT {expr}"))
        .map_err(EngineError::syntax)?
        .remove(0);
    to_sqlite(&mut stmt, &crate::catalog::Catalog::default(), opts)?;
    let translated = match &stmt {
        datafusion::sql::sqlparser::ast::Statement::Query(q) => match q.body.as_ref() {
            datafusion::sql::sqlparser::ast::SetExpr::Select(s) => match s.projection.first() {
                Some(datafusion::sql::sqlparser::ast::SelectItem::UnnamedExpr(e)) => e.clone(),
                _ => expr,
            },
            _ => expr,
        },
        _ => expr,
    };
    Ok(convert_expr(ty, translated, opts).to_string())
}

/// SQLite CREATE TABLE for a catalog entry.
///
/// # Errors
/// DEFAULT expressions that do not parse or translate.
pub fn sqlite_create_table(def: &TableDef, opts: TranslateOptions) -> Result<String> {
    let mut parts = Vec::with_capacity(def.columns.len() + 2);
    for i in 0..def.columns.len() {
        parts.push(sqlite_column(def, i, opts)?);
    }
    let list = |cols: &[usize]| cols.iter().map(|&i| quote_ident(&def.columns[i].name)).collect::<Vec<_>>().join(", ");
    if !def.primary_key.is_empty() && def.rowid_alias().is_none() {
        parts.push(format!("PRIMARY KEY ({})", list(&def.primary_key)));
    }
    for u in &def.unique {
        parts.push(format!("UNIQUE ({})", list(u)));
    }
    Ok(format!("CREATE TABLE {} ({}) STRICT", quote_ident(&def.name), parts.join(", ")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::sql::sqlparser::ast::Statement;

    fn create(sql: &str) -> TableDef {
        let Statement::CreateTable(create) = Parser::parse_sql(&PostgreSqlDialect {}, sql).unwrap().remove(0) else {
            panic!("not a CREATE TABLE")
        };
        table_def(&create, TableId(1)).unwrap()
    }

    #[test]
    fn serial_primary_key_becomes_the_rowid_alias() {
        let def = create("CREATE TABLE \"My T\" (id serial PRIMARY KEY, name varchar(10) NOT NULL DEFAULT 'x', ok boolean DEFAULT true)");
        assert_eq!(def.name, "My T");
        assert_eq!(
            sqlite_create_table(&def, TranslateOptions::default()).unwrap(),
            "CREATE TABLE \"My T\" (\"id\" INTEGER PRIMARY KEY, \"name\" TEXT NOT NULL DEFAULT (rhei_varchar('x', 10)), \"ok\" INTEGER DEFAULT (rhei_bool(true))) STRICT"
        );
    }

    #[test]
    fn composite_keys_and_unique_constraints() {
        let def = create("CREATE TABLE t (a text, b int, c date UNIQUE, PRIMARY KEY (a, b))");
        assert_eq!(def.primary_key, vec![0, 1]);
        assert_eq!(def.unique, vec![vec![2]]);
        assert!(def.columns[0].not_null && def.columns[1].not_null);
        assert_eq!(
            sqlite_create_table(&def, TranslateOptions::default()).unwrap(),
            "CREATE TABLE \"t\" (\"a\" TEXT NOT NULL, \"b\" INTEGER NOT NULL, \"c\" INTEGER, PRIMARY KEY (\"a\", \"b\"), UNIQUE (\"c\")) STRICT"
        );
    }
}
