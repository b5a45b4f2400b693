//! CREATE TABLE ... AS and SELECT ... INTO: a table made from a query's result. The query runs
//! where a SELECT would run (an aggregate on the OLAP engine, anything in a transaction block on
//! SQLite), the new table's columns take the types of its result columns, as PostgreSQL types
//! them, and its rows are loaded as COPY loads them (see `Session::create_table_as`).

use std::sync::Arc;

use arrow::datatypes::{DataType, Field, Schema};
use datafusion::sql::sqlparser::ast::{CreateTable, DataType as SqlType, ObjectName, Query, SelectInto, SetExpr, TableFactor};

use crate::catalog::types::{ElementType, PgType, pg_type_of_field};
use crate::catalog::{quote_ident, table_name};
use crate::error::{EngineError, Result};

/// The type name `Session::parse` gives each column of `CREATE TABLE t (a, b) AS ...` (a form
/// sqlparser does not read), so the names reach [`TableAs`] as column definitions.
pub(crate) const NAMED_COLUMN: &str = "rhei column name";

/// The alias `Session::parse` wraps the query of `... WITH NO DATA` in (`SELECT * FROM (query)
/// AS "rhei no data" LIMIT 0`): the table gets the query's columns and none of its rows.
pub(crate) const NO_DATA: &str = "rhei no data";

/// A table to make from a query.
#[derive(Debug, Clone)]
pub(crate) struct TableAs {
    pub name: String,
    pub temporary: bool,
    pub if_not_exists: bool,
    /// Names for the first result columns, in place of the query's own.
    pub column_names: Vec<String>,
    /// The query, without its INTO.
    pub query: Query,
    /// False for `WITH NO DATA`, which PostgreSQL answers with a tag of no row count.
    pub with_data: bool,
}

impl TableAs {
    /// The table a CREATE TABLE ... AS makes, `None` for a CREATE TABLE without a query.
    ///
    /// # Errors
    /// Column definitions with types (42601, as PostgreSQL's grammar has none there), table
    /// constraints (0A000), a name in another schema (42P01).
    pub fn of_create(create: &CreateTable) -> Result<Option<Self>> {
        let Some(query) = create.query.as_deref() else { return Ok(None) };
        let mut column_names = Vec::with_capacity(create.columns.len());
        for column in &create.columns {
            let named = matches!(&column.data_type, SqlType::Custom(name, modifiers) if modifiers.is_empty() && is_marker(name));
            if !named || !column.options.is_empty() {
                return Err(EngineError::syntax("CREATE TABLE ... AS takes column names only, without types or constraints"));
            }
            column_names.push(crate::catalog::normalize_ident(&column.name));
        }
        if !create.constraints.is_empty() {
            return Err(EngineError::unsupported("table constraints in CREATE TABLE ... AS (add them with ALTER TABLE afterwards)"));
        }
        Ok(Some(Self {
            name: table_name(&create.name)?,
            temporary: create.temporary,
            if_not_exists: create.if_not_exists,
            column_names,
            query: query.clone(),
            with_data: !reads_no_data(query),
        }))
    }

    /// The table a `SELECT ... INTO t` makes (the INTO of the query's first SELECT, as
    /// PostgreSQL takes it), `None` for a query without INTO.
    ///
    /// # Errors
    /// A name in another schema (42P01).
    pub fn of_select_into(query: &Query) -> Result<Option<Self>> {
        let Some(into) = select_into(query) else { return Ok(None) };
        let mut query = query.clone();
        if let Some(select) = first_select(&mut query.body) {
            select.into = None;
        }
        Ok(Some(Self { name: table_name(&into.name)?, temporary: into.temporary, if_not_exists: false, column_names: Vec::new(), query, with_data: true }))
    }

    /// The CREATE TABLE for a result of `schema`: its columns named as the result's (or by
    /// [`TableAs::column_names`]) and typed as PostgreSQL types them.
    ///
    /// # Errors
    /// More names than columns (42601), a name twice (42701), a column of a type rhei keeps no
    /// column of (0A000).
    pub fn create_statement(&self, schema: &Schema) -> Result<String> {
        if self.column_names.len() > schema.fields().len() {
            return Err(EngineError::TooManyColumnNames);
        }
        let names = self.names(schema);
        let mut columns = Vec::with_capacity(names.len());
        for (i, (name, field)) in names.iter().zip(schema.fields()).enumerate() {
            if names[..i].contains(name) {
                return Err(EngineError::ColumnSpecifiedTwice { column: name.clone() });
            }
            columns.push(format!("{} {}", quote_ident(name), column_type(field)?.pg_name()));
        }
        let temporary = if self.temporary { "TEMPORARY " } else { "" };
        Ok(format!("CREATE {temporary}TABLE {} ({})", quote_ident(&self.name), columns.join(", ")))
    }

    /// The new table's column names, in order.
    pub fn names(&self, schema: &Schema) -> Vec<String> {
        schema.fields().iter().enumerate().map(|(i, f)| self.column_names.get(i).unwrap_or(f.name()).clone()).collect()
    }
}

/// Whether `query` is the wrapping `Session::parse` gives the query of `... WITH NO DATA`.
fn reads_no_data(query: &Query) -> bool {
    let SetExpr::Select(select) = query.body.as_ref() else { return false };
    matches!(select.from.as_slice(), [from] if matches!(&from.relation, TableFactor::Derived { alias: Some(alias), .. } if alias.name.value == NO_DATA))
}

fn is_marker(name: &ObjectName) -> bool {
    matches!(name.0.as_slice(), [part] if part.as_ident().is_some_and(|i| i.value == NAMED_COLUMN))
}

/// The INTO of a query's first SELECT.
pub(crate) fn select_into(query: &Query) -> Option<&SelectInto> {
    let mut body = query.body.as_ref();
    loop {
        match body {
            SetExpr::Select(select) => return select.into.as_ref(),
            SetExpr::SetOperation { left, .. } => body = left,
            SetExpr::Query(inner) => body = inner.body.as_ref(),
            _ => return None,
        }
    }
}

fn first_select(body: &mut SetExpr) -> Option<&mut datafusion::sql::sqlparser::ast::Select> {
    match body {
        SetExpr::Select(select) => Some(select),
        SetExpr::SetOperation { left, .. } => first_select(left),
        SetExpr::Query(inner) => first_select(&mut inner.body),
        _ => None,
    }
}

/// The column type PostgreSQL gives a result column in a new table: its declared or computed
/// type; text for a NULL or an untyped literal, as PostgreSQL resolves them.
fn column_type(field: &Arc<Field>) -> Result<PgType> {
    if let Some(ty) = pg_type_of_field(field) {
        return Ok(ty);
    }
    match field.data_type() {
        DataType::Null => Ok(PgType::Text),
        DataType::List(element) | DataType::LargeList(element) | DataType::FixedSizeList(element, _) => {
            let element = pg_type_of_field(element).ok_or_else(|| not_kept(element))?;
            Ok(PgType::Array(ElementType::new(element)?))
        }
        _ => Err(not_kept(field)),
    }
}

fn not_kept(field: &Field) -> EngineError {
    EngineError::unsupported(format!("a table column of the type of result column \"{}\" ({})", field.name(), field.data_type()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::sql::sqlparser::ast::Statement;

    fn parsed(sql: &str) -> Statement {
        use datafusion::sql::sqlparser::{dialect::PostgreSqlDialect, parser::Parser};
        Parser::parse_sql(&PostgreSqlDialect {}, sql).expect("parses").remove(0)
    }

    #[test]
    fn select_into_names_the_table_and_leaves_the_query_without_it() {
        let Statement::Query(query) = parsed("SELECT a, b INTO TEMP t2 FROM t WHERE a > 1 UNION SELECT 1, 2") else { panic!() };
        let made = TableAs::of_select_into(&query).expect("reads").expect("has INTO");
        assert_eq!(made.name, "t2");
        assert!(made.temporary);
        assert!(select_into(&made.query).is_none(), "{}", made.query);
        let Statement::Query(plain) = parsed("SELECT 1") else { panic!() };
        assert!(TableAs::of_select_into(&plain).expect("reads").is_none());
    }

    #[test]
    fn columns_take_the_result_types_and_the_names_given() {
        let Statement::CreateTable(create) = parsed(&format!("CREATE TABLE \"New T\" (x \"{NAMED_COLUMN}\") AS SELECT 1")) else { panic!() };
        let made = TableAs::of_create(&create).expect("reads").expect("has a query");
        let schema = Schema::new(vec![
            Field::new("a", DataType::Int32, true),
            Field::new("v", DataType::Utf8, true).with_metadata([(crate::catalog::types::PG_TYPE_METADATA.to_string(), "character varying(3)".to_string())].into()),
            Field::new("z", DataType::Null, true),
            Field::new("arr", DataType::List(Arc::new(Field::new("item", DataType::Int64, true))), true),
        ]);
        assert_eq!(
            made.create_statement(&schema).expect("typed"),
            "CREATE TABLE \"New T\" (\"x\" integer, \"v\" character varying(3), \"z\" text, \"arr\" bigint[])"
        );
        let twice = Schema::new(vec![Field::new("a", DataType::Int32, true), Field::new("x", DataType::Int32, true)]);
        assert_eq!(made.create_statement(&twice).expect_err("x twice").sqlstate(), "42701");
        let Statement::CreateTable(create) = parsed(&format!("CREATE TABLE t (x \"{NAMED_COLUMN}\", y \"{NAMED_COLUMN}\") AS SELECT 1")) else { panic!() };
        let made = TableAs::of_create(&create).expect("reads").expect("has a query");
        let one = Schema::new(vec![Field::new("a", DataType::Int32, true)]);
        assert_eq!(made.create_statement(&one).expect_err("two names, one column").sqlstate(), "42601");
        let Statement::CreateTable(typed) = parsed("CREATE TABLE t (x int) AS SELECT 1") else { panic!() };
        assert_eq!(TableAs::of_create(&typed).expect_err("typed column").sqlstate(), "42601");
    }
}
