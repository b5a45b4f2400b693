//! Data-modifying WITH queries: `WITH moved AS (DELETE FROM jobs WHERE ... RETURNING *)
//! INSERT INTO done SELECT * FROM moved`, `WITH u AS (UPDATE ... RETURNING id) SELECT count(*)
//! FROM u`. SQLite has none, so such a statement becomes several: each writing WITH query runs
//! first, in the order written, its RETURNING rows kept in a temporary table
//! (`oltp::WriteFirst`), then the statement itself reads them from there, all inside one
//! savepoint of the writer.
//!
//! For translation, each writing WITH query's body is replaced by a read of its target table
//! with the RETURNING list's columns that matches no row (a *stand-in*): the translation types
//! its columns as PostgreSQL would, the OLAP planner can describe the result, and afterwards
//! [`read_kept_rows`] turns each stand-in into a read of the kept rows.
//!
//! Unlike PostgreSQL, where every part sees the same snapshot, each part here sees the changes
//! of the parts before it (a main query reading the table an earlier part updated sees the new
//! values). A writing WITH query with column names of its own, or beside WITH RECURSIVE, is
//! refused (0A000).

use std::ops::ControlFlow;

use datafusion::sql::sqlparser::ast::{Expr, Query, SelectItem, SetExpr, Statement, TableFactor, Value, ValueWithSpan, VisitMut, VisitorMut};
use datafusion::sql::sqlparser::dialect::PostgreSqlDialect;
use datafusion::sql::sqlparser::parser::Parser;

use crate::catalog::Catalog;
use crate::error::{EngineError, Result};

/// What a stand-in's marker starts with; the rest is its temporary table's number.
const KEPT_ROWS: &str = "rhei_with_";

/// Whether any WITH query of `query` writes.
pub fn writes(query: &Query) -> bool {
    query.with.as_ref().is_some_and(|with| with.cte_tables.iter().any(|cte| is_write(&cte.query.body)))
}

fn is_write(body: &SetExpr) -> bool {
    matches!(body, SetExpr::Insert(_) | SetExpr::Update(_) | SetExpr::Delete(_) | SetExpr::Merge(_))
}

/// A statement with writing WITH queries, as the statements SQLite runs.
pub struct Split {
    /// The writes, in the order written.
    pub steps: Vec<Step>,
    /// The statement itself, with stand-ins for the writes (a plain INSERT, UPDATE or DELETE
    /// when it is one).
    pub main: Statement,
}

pub struct Step {
    /// The write as a plain INSERT, UPDATE or DELETE, reading the WITH queries before it.
    pub write: Statement,
    /// Its temporary table, and the names its RETURNING rows are read under (none without
    /// RETURNING).
    pub temp: String,
    pub columns: Vec<String>,
}

impl Step {
    /// The temporary table's own columns, by position (`c1`, `c2`, ...): RETURNING may give
    /// two columns one name (`RETURNING id, id`), which a table cannot have.
    pub fn temp_columns(&self) -> Vec<String> {
        (1..=self.columns.len()).map(|i| format!("c{i}")).collect()
    }
}

/// Splits `query` (see the module docs). `returning_names` gives a write's RETURNING column
/// names, as its result would name them.
///
/// # Errors
/// 0A000 for what this cannot run (see the module docs); a write's own errors.
pub fn split(query: &Query, catalog: &Catalog, returning_names: impl Fn(&Statement, &Catalog) -> Result<Vec<String>>) -> Result<Split> {
    let Some(with) = query.with.as_ref() else { return Err(EngineError::Internal("no WITH to split".into())) };
    if with.recursive {
        return Err(EngineError::unsupported("WITH RECURSIVE beside a WITH query that writes"));
    }
    let mut before = Vec::new();
    let mut steps = Vec::new();
    for (number, cte) in with.cte_tables.iter().enumerate() {
        let write = match cte.query.body.as_ref() {
            SetExpr::Insert(write) | SetExpr::Update(write) | SetExpr::Delete(write) => write,
            SetExpr::Merge(_) => return Err(EngineError::unsupported("MERGE inside WITH")),
            _ => {
                before.push(cte.clone());
                continue;
            }
        };
        if !cte.alias.columns.is_empty() {
            return Err(EngineError::unsupported("column names on a WITH query that writes"));
        }
        if cte.query.with.is_some() {
            return Err(EngineError::unsupported("a WITH inside a WITH query that writes"));
        }
        let step = with_queries(query, &before, cte.query.body.as_ref().clone())?;
        let columns = returning_names(&step, catalog)?;
        let temp = format!("{KEPT_ROWS}{number}");
        // Without RETURNING there is nothing to read (PostgreSQL refuses a reference to it).
        if !columns.is_empty() {
            let mut stand_in = cte.clone();
            stand_in.query = Box::new(stand_in_query(write, &temp)?);
            before.push(stand_in);
        }
        steps.push(Step { write: step, temp, columns });
    }
    let main = with_queries(query, &before, query.body.as_ref().clone())?;
    Ok(Split { steps, main })
}

/// `body` under the WITH queries `ctes`, as one plain statement.
fn with_queries(query: &Query, ctes: &[datafusion::sql::sqlparser::ast::Cte], body: SetExpr) -> Result<Statement> {
    let mut query = query.clone();
    query.with = query.with.take().filter(|_| !ctes.is_empty()).map(|mut with| {
        with.cte_tables = ctes.to_vec();
        with
    });
    if is_write(&body) {
        // ORDER BY and LIMIT after a write are PostgreSQL syntax errors; none here.
        query.order_by = None;
        query.limit_clause = None;
        query.fetch = None;
        query.locks.clear();
    }
    query.body = Box::new(body);
    let mut statement = Statement::Query(Box::new(query));
    super::normalize_data_modifying_with(&mut statement)?;
    Ok(statement)
}

/// `SELECT <RETURNING list> FROM <the write's tables> WHERE '<marker>' IS NULL`.
fn stand_in_query(write: &Statement, temp: &str) -> Result<Query> {
    use datafusion::sql::sqlparser::ast::{FromTable, TableObject, UpdateTableFromKind};
    // How the written table is named in the statement: its alias, or its name.
    let named = |relation: &TableFactor| match relation {
        TableFactor::Table { alias: Some(alias), .. } => Some(alias.name.to_string()),
        TableFactor::Table { name, .. } => Some(name.to_string()),
        _ => None,
    };
    let (tables, target, returning) = match write {
        Statement::Insert(insert) => {
            let TableObject::TableName(name) = &insert.table else { return Err(EngineError::unsupported("INSERT INTO a table function")) };
            let alias = insert.table_alias.as_ref().map(|a| format!(" AS {a}")).unwrap_or_default();
            let target = insert.table_alias.as_ref().map_or_else(|| name.to_string(), ToString::to_string);
            (vec![format!("{name}{alias}")], Some(target), insert.returning.as_deref())
        }
        Statement::Update(update) => {
            let mut tables = vec![update.table.to_string()];
            if let Some(UpdateTableFromKind::BeforeSet(from) | UpdateTableFromKind::AfterSet(from)) = &update.from {
                tables.extend(from.iter().map(ToString::to_string));
            }
            (tables, named(&update.table.relation), update.returning.as_deref())
        }
        Statement::Delete(delete) => {
            let (FromTable::WithFromKeyword(from) | FromTable::WithoutKeyword(from)) = &delete.from;
            let target = from.first().and_then(|t| named(&t.relation));
            let mut tables: Vec<String> = from.iter().map(ToString::to_string).collect();
            tables.extend(delete.using.iter().flatten().map(ToString::to_string));
            (tables, target, delete.returning.as_deref())
        }
        _ => return Err(EngineError::Internal("a stand-in for a statement that does not write".into())),
    };
    // `RETURNING *` is the written table's columns (SQLite returns no others), not those of
    // the tables an UPDATE ... FROM or DELETE ... USING reads.
    let items = returning
        .unwrap_or_default()
        .iter()
        .map(|item| match (item, &target) {
            (SelectItem::Wildcard(_), Some(target)) => format!("{target}.*"),
            _ => item.to_string(),
        })
        .collect::<Vec<_>>()
        .join(", ");
    // Text of the AST's own display (names quoted as parsed) and of rhei's marker: nothing a
    // client wrote is pasted in unquoted.
    let sql = format!("SELECT {items} FROM {} WHERE '{temp}' IS NULL", tables.join(", "));
    let mut parsed = Parser::parse_sql(&PostgreSqlDialect {}, &sql).map_err(|e| EngineError::Internal(format!("a WITH query's stand-in: {e}")))?;
    match parsed.pop() {
        Some(Statement::Query(query)) => Ok(*query),
        _ => Err(EngineError::Internal("a WITH query's stand-in is not a query".into())),
    }
}

/// The temporary table a stand-in stands for.
fn marker(query: &Query) -> Option<&str> {
    let SetExpr::Select(select) = query.body.as_ref() else { return None };
    match select.selection.as_ref()? {
        Expr::IsNull(inner) => match inner.as_ref() {
            Expr::Value(ValueWithSpan { value: Value::SingleQuotedString(text), .. }) if text.starts_with(KEPT_ROWS) => Some(text),
            _ => None,
        },
        _ => None,
    }
}

/// After translation: each stand-in becomes a read of its step's kept rows,
/// `SELECT "c1" AS "id", ... FROM temp."rhei_with_<n>"`.
pub fn read_kept_rows(statement: &mut Statement, steps: &[Step]) {
    struct KeptRows<'a>(&'a [Step]);
    impl VisitorMut for KeptRows<'_> {
        type Break = ();
        fn pre_visit_query(&mut self, query: &mut Query) -> ControlFlow<()> {
            let Some(step) = marker(query).and_then(|temp| self.0.iter().find(|s| s.temp == temp)) else { return ControlFlow::Continue(()) };
            use crate::catalog::quote_ident;
            let columns = step.temp_columns().iter().zip(&step.columns).map(|(c, name)| format!("{} AS {}", quote_ident(c), quote_ident(name))).collect::<Vec<_>>();
            let sql = format!("SELECT {} FROM temp.{}", columns.join(", "), quote_ident(&step.temp));
            if let Ok(mut parsed) = Parser::parse_sql(&PostgreSqlDialect {}, &sql)
                && let Some(Statement::Query(read)) = parsed.pop()
            {
                query.body = read.body;
            }
            ControlFlow::Continue(())
        }
    }
    let _ = statement.visit(&mut KeptRows(steps));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(sql: &str) -> Query {
        match Parser::parse_sql(&PostgreSqlDialect {}, sql).unwrap().pop() {
            Some(Statement::Query(q)) => *q,
            other => panic!("{other:?}"),
        }
    }

    fn names(write: &Statement, _: &Catalog) -> Result<Vec<String>> {
        let returning = match write {
            Statement::Insert(i) => i.returning.clone(),
            Statement::Update(u) => u.returning.clone(),
            Statement::Delete(d) => d.returning.clone(),
            _ => None,
        };
        Ok(returning.unwrap_or_default().iter().map(|item| item.to_string()).collect())
    }

    #[test]
    fn writes_run_first_and_the_statement_reads_their_rows() {
        let query = parse(
            "WITH src AS (SELECT id FROM a WHERE x > 1), moved AS (DELETE FROM jobs WHERE id IN (SELECT id FROM src) RETURNING id, payload), \
             gone AS (DELETE FROM jobs WHERE id = 0) INSERT INTO done SELECT id, payload FROM moved",
        );
        assert!(writes(&query));
        let split = split(&query, &Catalog::default(), names).unwrap();
        let steps: Vec<String> = split.steps.iter().map(|s| format!("{} -> {} {:?}", s.write, s.temp, s.columns)).collect();
        assert_eq!(
            steps,
            [
                "DELETE FROM jobs WHERE id IN (SELECT id FROM (SELECT id FROM a WHERE x > 1) src) RETURNING id, payload -> rhei_with_1 [\"id\", \"payload\"]",
                "DELETE FROM jobs WHERE id = 0 -> rhei_with_2 []",
            ]
        );
        let mut main = split.main.clone();
        assert_eq!(
            main.to_string(),
            "INSERT INTO done WITH src AS (SELECT id FROM a WHERE x > 1), moved AS (SELECT id, payload FROM jobs WHERE 'rhei_with_1' IS NULL) SELECT id, payload FROM moved"
        );
        read_kept_rows(&mut main, &split.steps);
        assert_eq!(
            main.to_string(),
            "INSERT INTO done WITH src AS (SELECT id FROM a WHERE x > 1), moved AS (SELECT \"c1\" AS \"id\", \"c2\" AS \"payload\" FROM temp.\"rhei_with_1\") SELECT id, payload FROM moved"
        );
    }

    #[test]
    fn returning_star_stands_for_the_written_tables_columns() {
        let query = parse("WITH x AS (UPDATE t AS w SET v = u.v FROM u WHERE w.id = u.id RETURNING *) SELECT * FROM x");
        let split = split(&query, &Catalog::default(), names).unwrap();
        assert_eq!(split.main.to_string(), "WITH x AS (SELECT w.* FROM t AS w, u WHERE 'rhei_with_0' IS NULL) SELECT * FROM x");
    }

    #[test]
    fn what_cannot_be_split_is_refused() {
        for sql in [
            "WITH RECURSIVE u AS (UPDATE t SET x = 1 RETURNING id) SELECT * FROM u",
            "WITH u(a) AS (UPDATE t SET x = 1 RETURNING id) SELECT * FROM u",
        ] {
            let error = split(&parse(sql), &Catalog::default(), names).err().expect(sql);
            assert_eq!(error.sqlstate(), "0A000", "{sql}");
        }
    }
}
