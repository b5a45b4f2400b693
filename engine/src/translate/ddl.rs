//! DDL: Postgres CREATE TABLE / ALTER TABLE to a catalog entry plus SQLite DDL. Tables are STRICT
//! (SQLite then rejects a value of the wrong storage class instead of keeping it), a single integer
//! primary key becomes SQLite's rowid alias (serial columns then number themselves), and every
//! DEFAULT is stored converted to the column's storage form.

use datafusion::sql::sqlparser::ast::{
    ColumnDef as SqlColumnDef, ColumnOption, CreateTable, DeferrableInitial, Expr, ForeignKeyConstraint, GeneratedAs, Ident,
    IndexColumn, ReferentialAction, TableConstraint,
};
use datafusion::sql::sqlparser::{dialect::PostgreSqlDialect, parser::Parser};

use crate::catalog::{
    Catalog, CheckDef, ColumnDef, ForeignKeyDef, PgType, ReferentialAction as CatalogAction, TableDef, TableId, normalize_ident,
    quote_ident, table_name,
};
use crate::translate::constraints;
use crate::error::{EngineError, Result};
use crate::translate::{TranslateOptions, to_sqlite};

/// `CREATE TABLE t (LIKE other [, more columns])` with `LIKE other` written out as other's
/// columns: their names, types and NOT NULL (also of its primary key), which is what
/// PostgreSQL copies without INCLUDING options (defaults, constraints and indexes are not).
/// sqlparser's PostgreSQL dialect reads `LIKE other` as a column named `like` of type `other`
/// (an unquoted `like` cannot name a column in PostgreSQL).
///
/// # Errors
/// 42P01 for an unknown table.
pub fn like_columns_written_out(create: &mut CreateTable, catalog: &Catalog) -> Result<()> {
    let is_like = |column: &SqlColumnDef| {
        column.name.quote_style.is_none()
            && column.name.value.eq_ignore_ascii_case("like")
            && column.options.is_empty()
            && matches!(column.data_type, datafusion::sql::sqlparser::ast::DataType::Custom(..))
    };
    if !create.columns.iter().any(is_like) {
        return Ok(());
    }
    let mut columns = Vec::with_capacity(create.columns.len());
    for column in std::mem::take(&mut create.columns) {
        if !is_like(&column) {
            columns.push(column);
            continue;
        }
        let datafusion::sql::sqlparser::ast::DataType::Custom(name, _) = &column.data_type else { continue };
        let source = table_name(name)?;
        let def = catalog.get(&source).ok_or(EngineError::UndefinedTable { name: source })?;
        let written: Vec<String> = def
            .user_columns()
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let not_null = c.not_null || c.is_serial || def.primary_key.contains(&i);
                format!("{} {}{}", quote_ident(&c.name), c.ty.pg_name(), if not_null { " NOT NULL" } else { "" })
            })
            .collect();
        let sql = format!("CREATE TABLE _rhei_like ({})", written.join(", "));
        match Parser::parse_sql(&PostgreSqlDialect {}, &sql).map_err(|e| EngineError::Internal(format!("LIKE's columns: {e}")))?.pop() {
            Some(datafusion::sql::sqlparser::ast::Statement::CreateTable(copied)) => columns.extend(copied.columns),
            _ => return Err(EngineError::Internal("LIKE's columns are not a table".into())),
        }
    }
    create.columns = columns;
    Ok(())
}

/// A column as parsed from DDL, before its table exists, with the constraints written on it.
pub struct ParsedColumn {
    pub def: ColumnDef,
    pub primary: bool,
    pub unique: bool,
    /// Names written for the column's PRIMARY KEY and UNIQUE constraints (`CONSTRAINT n ...`).
    pub primary_name: Option<String>,
    pub unique_name: Option<String>,
    /// The column's UNIQUE constraint was written NULLS NOT DISTINCT.
    pub unique_nulls_not_distinct: bool,
    /// CHECK constraints written on the column: name (if given) and expression.
    pub checks: Vec<(Option<String>, Expr)>,
    /// REFERENCES written on the column (its `columns` are empty: the column itself).
    pub references: Vec<(Option<String>, ForeignKeyConstraint)>,
}

/// A column as parsed from DDL, before its table exists.
///
/// # Errors
/// Unsupported types and column options.
pub fn column_def(col: &SqlColumnDef, catalog: &Catalog) -> Result<ParsedColumn> {
    let declared = catalog.column_type(&col.data_type)?;
    let mut parsed = ParsedColumn {
        def: ColumnDef {
            name: normalize_ident(&col.name),
            ty: declared.ty,
            not_null: false,
            is_serial: declared.is_serial,
            default_sql: None,
        },
        primary: false,
        unique: false,
        primary_name: None,
        unique_name: None,
        unique_nulls_not_distinct: false,
        checks: Vec::new(),
        references: Vec::new(),
    };
    for option in &col.options {
        let name = option.name.as_ref().map(normalize_ident);
        match &option.option {
            ColumnOption::NotNull => parsed.def.not_null = true,
            ColumnOption::Null => parsed.def.not_null = false,
            ColumnOption::Default(expr) => parsed.def.default_sql = Some(expr.to_string()),
            ColumnOption::PrimaryKey(_) => {
                parsed.primary = true;
                parsed.primary_name = name;
            }
            ColumnOption::Unique(unique) => {
                parsed.unique = true;
                parsed.unique_name = name;
                parsed.unique_nulls_not_distinct = nulls_not_distinct(unique);
            }
            ColumnOption::Check(check) => parsed.checks.push((name.or(check.name.as_ref().map(normalize_ident)), (*check.expr).clone())),
            ColumnOption::ForeignKey(fk) => parsed.references.push((name.or(fk.name.as_ref().map(normalize_ident)), fk.clone())),
            // An identity column numbers itself as a serial column does.
            ColumnOption::Generated { generated_as: GeneratedAs::Always | GeneratedAs::ByDefault, generation_expr: None, .. }
                if matches!(declared.ty, PgType::Int2 | PgType::Int4 | PgType::Int8) =>
            {
                parsed.def.is_serial = true;
            }
            other => return Err(EngineError::unsupported(format!("column option {other}"))),
        }
    }
    if parsed.primary || parsed.def.is_serial {
        parsed.def.not_null = true;
    }
    Ok(parsed)
}

/// Whether a UNIQUE constraint was written `NULLS NOT DISTINCT` (PostgreSQL 15): its NULL keys
/// collide, which rhei's constraint triggers enforce (`translate::constraints`) beside the
/// unique index, whose NULLs never do.
pub fn nulls_not_distinct(unique: &datafusion::sql::sqlparser::ast::UniqueConstraint) -> bool {
    matches!(unique.nulls_distinct, datafusion::sql::sqlparser::ast::NullsDistinctOption::NotDistinct)
}

/// Column positions of a key written as `(a, b)` in ALTER TABLE ... ADD PRIMARY KEY / UNIQUE.
///
/// # Errors
/// Unknown columns, expressions.
pub fn key_columns(def: &TableDef, columns: &[IndexColumn]) -> Result<Vec<usize>> {
    index_columns(columns, &def.columns, &def.name)
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

fn column_positions(idents: &[Ident], def: &TableDef) -> Result<Vec<usize>> {
    idents
        .iter()
        .map(|ident| {
            let name = normalize_ident(ident);
            def.column_index(&name).ok_or(EngineError::UndefinedColumn { column: name, table: Some(def.name.clone()) })
        })
        .collect()
}

/// Adds a CHECK constraint to `def`, named as PostgreSQL names it unless `name` is given.
///
/// # Errors
/// A name already used by a constraint of the table, or an expression that does not translate.
pub fn add_check(def: &mut TableDef, name: Option<String>, expr: &Expr, column: Option<&str>, opts: TranslateOptions) -> Result<String> {
    let taken = constraints::constraint_names(def);
    let name = match name {
        Some(name) if taken.contains(&name) => {
            return Err(EngineError::DuplicateConstraint { table: def.name.clone(), constraint: name });
        }
        Some(name) => name,
        None => {
            let column = column.map(str::to_string).or_else(|| constraints::first_column(expr, def));
            constraints::choose_name(&def.name, &column.as_deref().into_iter().collect::<Vec<_>>(), "check", &taken)
        }
    };
    // Translating it now finds unknown columns and unsupported expressions at DDL time.
    constraints::check_sql(def, &expr.to_string(), "NEW", opts)?;
    def.checks.push(CheckDef { name: name.clone(), expr: expr.to_string() });
    Ok(name)
}

fn referential_action(action: Option<ReferentialAction>) -> CatalogAction {
    match action {
        None | Some(ReferentialAction::NoAction) => CatalogAction::NoAction,
        Some(ReferentialAction::Restrict) => CatalogAction::Restrict,
        Some(ReferentialAction::Cascade) => CatalogAction::Cascade,
        Some(ReferentialAction::SetNull) => CatalogAction::SetNull,
        Some(ReferentialAction::SetDefault) => CatalogAction::SetDefault,
    }
}

/// Adds a FOREIGN KEY constraint to `def`. `columns` overrides the constraint's own column list
/// (a REFERENCES clause written on a column). `catalog` holds the referenced table unless the
/// table references itself.
///
/// # Errors
/// As PostgreSQL: unknown tables or columns, a referenced column list that is not the primary
/// key or a UNIQUE constraint (42830), types that cannot be compared (42804), a duplicate name.
pub fn add_foreign_key(
    def: &mut TableDef,
    name: Option<String>,
    fk: &ForeignKeyConstraint,
    columns: Option<Vec<usize>>,
    catalog: &Catalog,
) -> Result<String> {
    let columns = match columns {
        Some(columns) => columns,
        None => column_positions(&fk.columns, def)?,
    };
    let parent_name = table_name(&fk.foreign_table)?;
    let parent: TableDef = if parent_name == def.name {
        def.clone()
    } else {
        match catalog.get(&parent_name) {
            Some(parent) => parent.as_ref().clone(),
            None => return Err(EngineError::UndefinedTable { name: parent_name }),
        }
    };
    let ref_columns = if fk.referred_columns.is_empty() {
        if parent.primary_key.is_empty() {
            return Err(EngineError::NoMatchingUniqueKey { table: parent.name.clone() });
        }
        parent.primary_key.clone()
    } else {
        column_positions(&fk.referred_columns, &parent)?
    };
    if ref_columns.len() != columns.len() {
        return Err(EngineError::IncompatibleForeignKey {
            constraint: name.unwrap_or_default(),
            detail: "number of referencing and referenced columns for foreign key disagree".into(),
        });
    }
    let same_set = |key: &[usize]| {
        let mut a = key.to_vec();
        let mut b = ref_columns.clone();
        a.sort_unstable();
        b.sort_unstable();
        a == b
    };
    if !(same_set(&parent.primary_key) || parent.unique.iter().any(|u| same_set(u)) || parent.indexes.iter().any(|i| i.is_unique_key() && same_set(&i.columns))) {
        return Err(EngineError::NoMatchingUniqueKey { table: parent.name.clone() });
    }
    let taken = constraints::constraint_names(def);
    let column_names: Vec<&str> = columns.iter().map(|&i| def.columns[i].name.as_str()).collect();
    let name = match name {
        Some(name) if taken.contains(&name) => {
            return Err(EngineError::DuplicateConstraint { table: def.name.clone(), constraint: name });
        }
        Some(name) => name,
        None => constraints::choose_name(&def.name, &column_names, "fkey", &taken),
    };
    for (&c, &p) in columns.iter().zip(&ref_columns) {
        let (a, b) = (def.columns[c].ty, parent.columns[p].ty);
        if !constraints::compatible(a, b) {
            return Err(EngineError::IncompatibleForeignKey {
                constraint: name,
                detail: format!(
                    "Key columns \"{}\" and \"{}\" are of incompatible types: {} and {}.",
                    def.columns[c].name,
                    parent.columns[p].name,
                    a.pg_name(),
                    b.pg_name()
                ),
            });
        }
    }
    let (deferrable, initially_deferred) = match &fk.characteristics {
        Some(c) => (c.deferrable.unwrap_or(false), matches!(c.initially, Some(DeferrableInitial::Deferred))),
        None => (false, false),
    };
    def.foreign_keys.push(ForeignKeyDef {
        name: name.clone(),
        columns,
        references: parent.id,
        ref_columns,
        on_delete: referential_action(fk.on_delete),
        on_update: referential_action(fk.on_update),
        deferrable: deferrable || initially_deferred,
        initially_deferred,
    });
    Ok(name)
}

/// The name of a new PRIMARY KEY (`suffix` "pkey") or UNIQUE ("key") constraint of `def` on
/// `columns`: `given`, or one chosen as PostgreSQL chooses it. Such a constraint is also an
/// index, so its name must be free among relations (tables and indexes, `catalog`'s and `def`'s
/// own) as well as among the table's constraints.
///
/// # Errors
/// The given name is taken by a relation (42P07) or by a constraint of the table (42710).
pub fn key_constraint_name(def: &TableDef, given: Option<String>, columns: &[usize], suffix: &str, catalog: &Catalog) -> Result<String> {
    let mut relations: Vec<String> = Vec::new();
    for table in catalog.tables().map(|t| t.as_ref()).filter(|t| t.id != def.id).chain(std::iter::once(def)) {
        relations.push(table.name.clone());
        relations.extend(table.indexes.iter().map(|i| i.name.clone()));
        if !table.primary_key.is_empty() {
            relations.push(table.pkey_name());
        }
        relations.extend((0..table.unique.len()).map(|i| table.unique_name(i)));
    }
    let constraints = constraints::constraint_names(def);
    match given {
        Some(name) if relations.contains(&name) => Err(EngineError::DuplicateTable { name }),
        Some(name) if constraints.contains(&name) => Err(EngineError::DuplicateConstraint { table: def.name.clone(), constraint: name }),
        Some(name) => Ok(name),
        None => {
            let names: Vec<&str> = if suffix == "pkey" { Vec::new() } else { columns.iter().map(|&c| def.columns[c].name.as_str()).collect() };
            relations.extend(constraints);
            Ok(constraints::choose_name(&def.name, &names, suffix, &relations))
        }
    }
}

/// The catalog entry for a CREATE TABLE. `catalog` resolves the tables its foreign keys
/// reference.
///
/// # Errors
/// Unsupported types or constraints, duplicate or unknown columns, more than one primary key,
/// foreign keys PostgreSQL would refuse.
pub fn table_def(create: &CreateTable, id: TableId, catalog: &Catalog, opts: TranslateOptions) -> Result<TableDef> {
    let name = table_name(&create.name)?;
    if create.query.is_some() {
        return Err(EngineError::unsupported("CREATE TABLE ... AS"));
    }
    let mut columns = Vec::with_capacity(create.columns.len());
    let mut primary_key = Vec::new();
    let mut primary_key_name = None;
    let mut unique: Vec<(Vec<usize>, Option<String>, bool)> = Vec::new();
    let mut column_checks = Vec::new();
    let mut column_references = Vec::new();
    for col in &create.columns {
        let parsed = column_def(col, catalog)?;
        if columns.iter().any(|c: &ColumnDef| c.name == parsed.def.name) {
            return Err(EngineError::DuplicateColumn { table: name.clone(), column: parsed.def.name });
        }
        if parsed.primary {
            if !primary_key.is_empty() {
                return Err(EngineError::MultiplePrimaryKeys { table: name.clone() });
            }
            primary_key.push(columns.len());
            primary_key_name = parsed.primary_name.clone();
        }
        if parsed.unique {
            unique.push((vec![columns.len()], parsed.unique_name.clone(), parsed.unique_nulls_not_distinct));
        }
        for (check_name, expr) in parsed.checks {
            column_checks.push((check_name, expr, parsed.def.name.clone()));
        }
        for (fk_name, fk) in parsed.references {
            column_references.push((fk_name, fk, columns.len()));
        }
        columns.push(parsed.def);
    }
    let mut table_checks = Vec::new();
    let mut table_references = Vec::new();
    for constraint in &create.constraints {
        match constraint {
            TableConstraint::PrimaryKey(pk) => {
                if !primary_key.is_empty() {
                    return Err(EngineError::MultiplePrimaryKeys { table: name.clone() });
                }
                primary_key = index_columns(&pk.columns, &columns, &name)?;
                primary_key_name = pk.name.as_ref().map(normalize_ident);
                for &i in &primary_key {
                    columns[i].not_null = true;
                }
            }
            TableConstraint::Unique(u) => {
                unique.push((index_columns(&u.columns, &columns, &name)?, u.name.as_ref().map(normalize_ident), nulls_not_distinct(u)));
            }
            TableConstraint::Check(check) => table_checks.push((check.name.as_ref().map(normalize_ident), (*check.expr).clone())),
            TableConstraint::ForeignKey(fk) => table_references.push((fk.name.as_ref().map(normalize_ident), fk.clone())),
            other => return Err(EngineError::unsupported(format!("table constraint {other}"))),
        }
    }
    if columns.is_empty() {
        return Err(EngineError::unsupported("tables without columns"));
    }
    let mut def = TableDef { id, name, columns, primary_key, primary_key_name, ..Default::default() };
    for (columns, given, nulls_not_distinct) in unique {
        let name = key_constraint_name(&def, given, &columns, "key", catalog)?;
        if nulls_not_distinct {
            def.nulls_not_distinct.push(name.clone());
        }
        def.add_unique(columns, name);
    }
    // PostgreSQL names column constraints first, then table constraints, each in order.
    for (check_name, expr, column) in column_checks {
        add_check(&mut def, check_name, &expr, Some(&column), opts)?;
    }
    for (check_name, expr) in table_checks {
        add_check(&mut def, check_name, &expr, None, opts)?;
    }
    for (fk_name, fk, column) in column_references {
        add_foreign_key(&mut def, fk_name, &fk, Some(vec![column]), catalog)?;
    }
    for (fk_name, fk) in table_references {
        add_foreign_key(&mut def, fk_name, &fk, None, catalog)?;
    }
    Ok(def)
}

/// SQLite's text for one column definition (without table constraints).
pub fn sqlite_column(def: &TableDef, index: usize, opts: TranslateOptions) -> Result<String> {
    let col = &def.columns[index];
    let mut sql = format!("{} {}", quote_ident(&col.name), col.ty.storage());
    let serial_rowid = def.rowid_alias() == Some(index) && col.is_serial;
    if def.rowid_alias() == Some(index) {
        // A single integer primary key is declared the way that makes it the rowid alias.
        sql.push_str(" PRIMARY KEY");
        // A serial key never hands out an id again once used, as a PostgreSQL sequence does;
        // a plain rowid would give the largest id again after its row was deleted.
        if serial_rowid {
            sql.push_str(" AUTOINCREMENT");
        }
    }
    if col.not_null && !serial_rowid {
        sql.push_str(" NOT NULL");
    }
    if let Some(default) = &col.default_sql {
        sql.push_str(&format!(" DEFAULT ({})", default_expr_sql(col.ty, default, opts)?));
    } else if col.is_serial && !serial_rowid {
        return Err(EngineError::unsupported("ADD COLUMN of a serial type (SQLite cannot add a column whose default changes per row)"));
    }
    Ok(sql)
}

/// The SQLite expression for a column's DEFAULT, converted to the column's storage form.
///
/// # Errors
/// A DEFAULT that does not parse or translate.
pub fn default_expr_sql(ty: PgType, default: &str, opts: TranslateOptions) -> Result<String> {
    let mut expr = Parser::new(&PostgreSqlDialect {})
        .try_with_sql(default)
        .and_then(|mut p| p.parse_expr())
        .map_err(EngineError::syntax)?;
    // `'ok'::mood`, as pg_dump writes an enum column's default: the column's own conversion
    // checks the label, and the catalog the default is translated with has no types (nor
    // does the type keep the name it had when the default was written: ALTER TYPE RENAME).
    if let PgType::Enum(_) = ty
        && let Expr::Cast { expr: value, data_type: datafusion::sql::sqlparser::ast::DataType::Custom(..), .. } = &expr
        && matches!(value.as_ref(), Expr::Value(v) if matches!(v.value, datafusion::sql::sqlparser::ast::Value::SingleQuotedString(_)))
    {
        expr = value.as_ref().clone();
    }
    // SQLite's default is one expression for every connection; it cannot know whose session
    // writes the row.
    if crate::session_values::calls(&expr) {
        return Err(EngineError::unsupported(format!("DEFAULT {expr} (a value of the writing session; give the value in the INSERT)")));
    }
    // Translate the expression alone through a SELECT, so the same rewrites apply as everywhere.
    let mut stmt = Parser::parse_sql(&PostgreSqlDialect {}, &format!("SELECT {expr}"))
        .map_err(EngineError::syntax)?
        .remove(0);
    let no_tables = crate::catalog::Catalog::default();
    if let datafusion::sql::sqlparser::ast::Statement::Query(q) = &mut stmt
        && let datafusion::sql::sqlparser::ast::SetExpr::Select(s) = q.body.as_mut()
        && let Some(datafusion::sql::sqlparser::ast::SelectItem::UnnamedExpr(e)) = s.projection.first_mut()
    {
        let scope = crate::translate::Scope::empty();
        crate::translate::assignment_cast(ty, e, &scope);
    }
    to_sqlite(&mut stmt, &no_tables, opts)?;
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
    Ok(crate::translate::assign_expr(ty, translated, opts).to_string())
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
        table_def(&create, TableId(1), &Catalog::default(), TranslateOptions::default()).unwrap()
    }

    #[test]
    fn serial_primary_key_becomes_the_rowid_alias() {
        let def = create("CREATE TABLE \"My T\" (id serial PRIMARY KEY, name varchar(10) NOT NULL DEFAULT 'x', ok boolean DEFAULT true)");
        assert_eq!(def.name, "My T");
        assert_eq!(
            sqlite_create_table(&def, TranslateOptions::default()).unwrap(),
            "CREATE TABLE \"My T\" (\"id\" INTEGER PRIMARY KEY AUTOINCREMENT, \"name\" TEXT NOT NULL DEFAULT (rhei_varchar('x', 10)), \"ok\" INTEGER DEFAULT (rhei_bool(true))) STRICT"
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
