//! MERGE (PostgreSQL 15). SQLite has nothing like it, so a MERGE becomes plain writes that run
//! one after another on the writer, inside one savepoint:
//!
//! 1. the matched pairs, before anything changes: `SELECT t._rowid_, <the clause taken> FROM
//!    <source> JOIN <target> ON <condition>`, kept in a temporary table ([`MATCHED`]);
//! 2. a check that no target row is acted on by two source rows ([`check_sql`]; 21000, as in
//!    PostgreSQL);
//! 3. the rows of each WHEN NOT MATCHED ... INSERT clause: an `INSERT ... SELECT` of the
//!    source rows that match no target row (`NOT EXISTS`) and take that clause (a CASE over
//!    the NOT MATCHED clauses' conditions in order); where a later INSERT clause follows, the
//!    rowids it adds are kept, and the later clauses do not count those rows as matches;
//! 4. one UPDATE or DELETE per acting WHEN MATCHED clause, of the target rows the kept pairs
//!    give that clause (an UPDATE joins the source again, for the values of the source row
//!    that chose it; the row is untouched until then, so the choice comes out the same).
//!
//! Every decision is so made on the rows as they were before the statement, as in PostgreSQL:
//! a row the INSERT adds is not then matched, and an UPDATE that changes the join key is not
//! matched again. A source that reads the target table itself is read again by step 4, after
//! step 3's inserts (PostgreSQL reads it once).
//!
//! A WITH before the MERGE (`WITH s AS (...) MERGE INTO t USING s ...`) goes before each of
//! these statements, where it is inlined as for any write.
//!
//! sqlparser reads neither `THEN DO NOTHING` nor `INSERT DEFAULT VALUES`; the session reads a
//! statement that fails to parse again with each written as an action naming a column of its
//! own ([`DO_NOTHING`], [`DEFAULT_VALUES`]), which this module recognizes. A row of nothing but
//! defaults is inserted naming one column: the first with a DEFAULT, given its default
//! expression, or else the first that is not serial, given NULL (what it defaults to).

use std::ops::ControlFlow;

use datafusion::sql::sqlparser::ast::{
    Expr, Merge, MergeAction, MergeClause, MergeClauseKind, MergeInsertKind, Query, SelectItem, SetExpr, Statement, TableFactor, Value, ValueWithSpan,
    VisitMut, VisitorMut, With,
};
use datafusion::sql::sqlparser::dialect::PostgreSqlDialect;
use datafusion::sql::sqlparser::parser::Parser;

use crate::catalog::{Catalog, normalize_ident, quote_ident, table_name};
use crate::error::{EngineError, Result};

/// The temporary table of the matched pairs: `c1` the target row's rowid, `c2` the clause
/// taken (its position among the statement's clauses, from 1; NULL where none is).
pub const MATCHED: &str = "rhei_merge";
/// The temporary table the check writes its (never any) rows to.
pub const CHECKED: &str = "rhei_merge_checked";
/// The column a `DO NOTHING` action is written to name when the statement is read again.
pub const DO_NOTHING: &str = "rhei do nothing";
/// The column `INSERT DEFAULT VALUES` is written to name when the statement is read again.
pub const DEFAULT_VALUES: &str = "rhei default values";
/// What a read of one clause's matched rows is marked with before the translation.
const MARKER: &str = "rhei_merge_5e1f_clause_";
/// What a read of the rows earlier INSERT clauses added is marked with (their clause numbers
/// follow, comma-separated).
const INSERTED_MARKER: &str = "rhei_merge_5e1f_inserted_";
/// What every marker starts with; none is left once [`read_matched`] has run.
pub const MARKERS: &str = "rhei_merge_5e1f_";

/// The temporary table of the rowids an INSERT clause added.
pub fn inserted_table(clause: usize) -> String {
    format!("rhei_merge_inserted_{clause}")
}

/// One statement a MERGE runs.
#[derive(Debug)]
pub struct Write {
    pub statement: Statement,
    /// The temporary table its RETURNING rows (the rowids it added) are kept in, if any.
    pub keeps: Option<String>,
}

/// A MERGE as plain statements (see the module docs).
#[derive(Debug)]
pub struct Plan {
    /// The matched pairs, a query; `None` where no WHEN MATCHED clause acts.
    pub matched: Option<Statement>,
    /// The clauses that act on matched rows (UPDATE or DELETE), by number.
    pub acting: Vec<usize>,
    /// The writes, in the order they run: the INSERTs, then each acting clause's UPDATE or
    /// DELETE (reading the kept rows once [`read_matched`] has rewritten them).
    pub writes: Vec<Write>,
    /// The target table's name.
    pub target: String,
}

/// The statements of `merge` (see the module docs).
///
/// # Errors
/// 42P01 for an unknown target, 0A000 for a view (as PostgreSQL 15), 0A000 and 42601 for what PostgreSQL 15 has
/// not (RETURNING, `NOT MATCHED BY SOURCE`, Oracle's forms).
pub fn plan(merge: &Merge, with: Option<&With>, catalog: &Catalog) -> Result<Plan> {
    let TableFactor::Table { name, alias, args: None, .. } = &merge.table else {
        return Err(EngineError::unsupported("MERGE into anything but a table"));
    };
    let target = table_name(name)?;
    if catalog.get(&target).is_none() {
        if catalog.view(&target).is_some() {
            return Err(EngineError::MergeOnView { name: target });
        }
        return Err(EngineError::UndefinedTable { name: target });
    }
    if merge.output.is_some() {
        return Err(EngineError::unsupported("MERGE ... RETURNING"));
    }
    if alias.as_ref().is_some_and(|a| !a.columns.is_empty()) {
        return Err(EngineError::syntax("column aliases on the target of MERGE"));
    }
    // The name the target's rows go by; an unaliased target is aliased by its own name, so
    // that every statement below can name its rowid.
    let reference = alias.as_ref().map_or_else(|| quote_ident(&target), |a| a.name.to_string());
    let target_as = format!("{name} AS {reference}");
    let source = merge.source.to_string();
    let on = merge.on.to_string();
    let parse = |sql: &str| parse(&match with {
        Some(with) => format!("{with} {sql}"),
        None => sql.to_string(),
    });

    let clauses: Vec<Clause> = merge.clauses.iter().enumerate().map(|(i, clause)| Clause::of(i + 1, clause)).collect::<Result<_>>()?;
    for kind in [true, false] {
        let of_kind: Vec<&Clause> = clauses.iter().filter(|c| c.matched == kind).collect();
        if of_kind.iter().rev().skip(1).any(|c| c.condition == "true") {
            return Err(EngineError::MalformedStatement { message: "unreachable WHEN clause specified after unconditional WHEN clause" });
        }
    }
    let source_name = match &merge.source {
        TableFactor::Derived { alias: None, .. } => return Err(EngineError::MalformedStatement { message: "subquery in FROM must have an alias" }),
        TableFactor::Derived { alias: Some(a), .. } | TableFactor::Table { alias: Some(a), .. } => Some(normalize_ident(&a.name)),
        TableFactor::Table { name, alias: None, .. } => table_name(name).ok(),
        _ => None,
    };
    let target_name = alias.as_ref().map_or_else(|| target.clone(), |a| normalize_ident(&a.name));
    if source_name.as_deref() == Some(target_name.as_str()) {
        return Err(EngineError::DuplicateTableName { name: target_name });
    }
    let matched: Vec<&Clause> = clauses.iter().filter(|c| c.matched).collect();
    let not_matched: Vec<&Clause> = clauses.iter().filter(|c| !c.matched).collect();
    let acting: Vec<usize> = matched.iter().filter(|c| !matches!(c.action, Action::Nothing)).map(|c| c.number).collect();

    let mut writes = Vec::new();
    let inserts: Vec<&Clause> = not_matched.iter().copied().filter(|c| matches!(c.action, Action::Insert { .. })).collect();
    let taken = taken_clause(&not_matched);
    for (i, clause) in inserts.iter().enumerate() {
        let Action::Insert { columns, values } = &clause.action else { continue };
        let (columns, values) = inserted_values(columns, values, &target, catalog)?;
        let earlier: Vec<String> = inserts[..i].iter().map(|c| c.number.to_string()).collect();
        let not_added_here = if earlier.is_empty() { String::new() } else { format!(" AND {reference}._rowid_ NOT IN (SELECT '{INSERTED_MARKER}{}')", earlier.join(",")) };
        let later = i + 1 < inserts.len();
        let text = format!(
            "INSERT INTO {}{columns} SELECT {values} FROM {source} WHERE NOT EXISTS (SELECT 1 FROM {target_as} WHERE ({on}){not_added_here}) AND {taken} = {}{}",
            quote_ident(&target),
            clause.number,
            if later { " RETURNING _rowid_" } else { "" }
        );
        writes.push(Write { statement: parse(&text)?, keeps: later.then(|| inserted_table(clause.number)) });
    }
    let taken = taken_clause(&matched);
    for clause in matched.iter().filter(|c| acting.contains(&c.number)) {
        let rows = format!("{reference}._rowid_ IN (SELECT '{MARKER}{}')", clause.number);
        let text = match &clause.action {
            Action::Update(assignments) => format!("UPDATE {target_as} SET {assignments} FROM {source} WHERE ({on}) AND {taken} = {} AND {rows}", clause.number),
            Action::Delete => format!("DELETE FROM {target_as} WHERE {rows}"),
            Action::Insert { .. } | Action::Nothing => continue,
        };
        writes.push(Write { statement: parse(&text)?, keeps: None });
    }
    let matched = if acting.is_empty() {
        None
    } else {
        let acting = acting.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ");
        Some(parse(&format!("SELECT {reference}._rowid_, {taken} FROM {source} JOIN {target_as} ON {on} WHERE {taken} IN ({acting})"))?)
    };
    Ok(Plan { matched, acting, writes, target })
}

/// The check run after the matched pairs are kept: a target row that two source rows act on
/// fails the statement.
pub fn check_sql(acting: &[usize]) -> String {
    let acting = acting.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ");
    format!("SELECT rhei_merge_target_once(count(*)) FROM temp.{} WHERE \"c2\" IN ({acting}) GROUP BY \"c1\" HAVING count(*) > 1", quote_ident(MATCHED))
}

/// After translation: each marked read of one clause's matched rows becomes a read of the
/// kept pairs, `SELECT "c1" FROM temp."rhei_merge" WHERE "c2" = <clause>`, and each marked
/// read of the rows earlier INSERT clauses added a read of their kept rowids.
pub fn read_matched(statement: &mut Statement) {
    struct Kept;
    impl VisitorMut for Kept {
        type Break = ();
        fn pre_visit_query(&mut self, query: &mut Query) -> ControlFlow<()> {
            let Some(marker) = marker(query) else { return ControlFlow::Continue(()) };
            let sql = if let Some(clause) = marker.strip_prefix(MARKER) {
                format!("SELECT \"c1\" FROM temp.{} WHERE \"c2\" = {}", quote_ident(MATCHED), clause.parse::<usize>().unwrap_or(0))
            } else if let Some(clauses) = marker.strip_prefix(INSERTED_MARKER) {
                let reads: Vec<String> = clauses
                    .split(',')
                    .filter_map(|c| c.parse::<usize>().ok())
                    .map(|c| format!("SELECT \"c1\" FROM temp.{}", quote_ident(&inserted_table(c))))
                    .collect();
                reads.join(" UNION ALL ")
            } else {
                return ControlFlow::Continue(());
            };
            if let Ok(mut parsed) = Parser::parse_sql(&PostgreSqlDialect {}, &sql)
                && let Some(Statement::Query(read)) = parsed.pop()
            {
                *query = *read;
            }
            ControlFlow::Continue(())
        }
    }
    let _ = statement.visit(&mut Kept);
}

/// The marker text of a marked read (`SELECT '<marker>'`).
fn marker(query: &Query) -> Option<String> {
    let SetExpr::Select(select) = query.body.as_ref() else { return None };
    let [item] = select.projection.as_slice() else { return None };
    let (SelectItem::UnnamedExpr(expr) | SelectItem::ExprWithAlias { expr, .. }) = item else { return None };
    match expr {
        Expr::Value(ValueWithSpan { value: Value::SingleQuotedString(text), .. }) if text.starts_with(MARKERS) => Some(text.clone()),
        _ => None,
    }
}

/// One WHEN clause.
struct Clause {
    number: usize,
    matched: bool,
    /// Its condition as text; `true` where it has none.
    condition: String,
    action: Action,
}

enum Action {
    /// The SET list, as text.
    Update(String),
    Delete,
    Insert { columns: Vec<String>, values: Vec<Expr> },
    Nothing,
}

impl Clause {
    fn of(number: usize, clause: &MergeClause) -> Result<Self> {
        let matched = match clause.clause_kind {
            MergeClauseKind::Matched => true,
            MergeClauseKind::NotMatched | MergeClauseKind::NotMatchedByTarget => false,
            MergeClauseKind::NotMatchedBySource => return Err(EngineError::unsupported("WHEN NOT MATCHED BY SOURCE")),
        };
        let action = match &clause.action {
            MergeAction::Update(update) => {
                if update.update_predicate.is_some() || update.delete_predicate.is_some() {
                    return Err(EngineError::syntax("WHERE or DELETE WHERE after a MERGE clause's UPDATE"));
                }
                let does_nothing = matches!(update.assignments.as_slice(), [only] if only.target.to_string() == quote_ident(DO_NOTHING));
                if does_nothing {
                    Action::Nothing
                } else {
                    Action::Update(update.assignments.iter().map(ToString::to_string).collect::<Vec<_>>().join(", "))
                }
            }
            MergeAction::Delete { .. } => Action::Delete,
            MergeAction::Insert(insert) => {
                let columns: Vec<String> = insert.columns.iter().map(ToString::to_string).collect();
                if columns == [quote_ident(DO_NOTHING)] {
                    Action::Nothing
                } else if columns == [quote_ident(DEFAULT_VALUES)] {
                    Action::Insert { columns: Vec::new(), values: Vec::new() }
                } else {
                    let MergeInsertKind::Values(values) = &insert.kind else { return Err(EngineError::syntax("INSERT ROW in MERGE")) };
                    if insert.insert_predicate.is_some() {
                        return Err(EngineError::syntax("WHERE after a MERGE clause's INSERT"));
                    }
                    let [row] = values.rows.as_slice() else {
                        return Err(EngineError::syntax("MERGE's INSERT takes a single row of VALUES"));
                    };
                    Action::Insert { columns, values: row.clone() }
                }
            }
        };
        let condition = clause.predicate.as_ref().map_or_else(|| "true".to_string(), |p| format!("({p})"));
        Ok(Self { number, matched, condition, action })
    }
}

/// `CASE WHEN <condition> THEN <number> ... END` over `clauses` in order: the clause a row
/// takes (a NULL condition does not hold).
fn taken_clause(clauses: &[&Clause]) -> String {
    let whens: String = clauses.iter().map(|c| format!(" WHEN {} THEN {}", c.condition, c.number)).collect();
    format!("(CASE{whens} END)")
}

/// An INSERT clause's column list (text, with its parentheses; empty for none) and values:
/// a value written `DEFAULT` leaves its column out, as the default is what an omitted column
/// gets.
fn inserted_values(columns: &[String], values: &[Expr], target: &str, catalog: &Catalog) -> Result<(String, String)> {
    // Without a column list, the table's first columns (PostgreSQL fills the rest with their
    // defaults).
    let named: Vec<String> = if columns.is_empty() {
        let def = catalog.get(target).ok_or_else(|| EngineError::UndefinedTable { name: target.to_string() })?;
        def.user_columns().iter().take(values.len()).map(|c| quote_ident(&c.name)).collect()
    } else {
        columns.to_vec()
    };
    if values.len() > named.len() {
        return Err(EngineError::syntax("INSERT has more expressions than target columns"));
    }
    if values.len() < named.len() {
        return Err(EngineError::syntax("INSERT has more target columns than expressions"));
    }
    let (kept_columns, kept_values): (Vec<String>, Vec<String>) =
        named.iter().zip(values).filter(|(_, value)| !super::is_default_keyword(value)).map(|(column, value)| (column.clone(), value.to_string())).unzip();
    if kept_values.is_empty() {
        let def = catalog.get(target).ok_or_else(|| EngineError::UndefinedTable { name: target.to_string() })?;
        let columns = def.user_columns();
        let (column, value) = match columns.iter().find(|c| c.default_sql.is_some()) {
            Some(c) => (c, format!("({})", c.default_sql.as_deref().unwrap_or("NULL"))),
            None => match columns.iter().find(|c| !c.is_serial) {
                Some(c) => (c, "NULL".to_string()),
                None => return Err(EngineError::unsupported("MERGE inserting only default values into a table of serial columns")),
            },
        };
        return Ok((format!(" ({})", quote_ident(&column.name)), value));
    }
    Ok((format!(" ({})", kept_columns.join(", ")), kept_values.join(", ")))
}

/// A write to `target` that changes nothing: the statement of a MERGE whose every clause does
/// nothing.
pub fn no_change(target: &str) -> Result<Statement> {
    parse(&format!("DELETE FROM {} WHERE false", quote_ident(target)))
}

/// A MERGE written after a WITH (a query whose body is the MERGE), and the WITH.
pub fn of_query(query: &Query) -> Option<(&Merge, Option<&With>)> {
    match query.body.as_ref() {
        SetExpr::Merge(Statement::Merge(merge)) => Some((merge, query.with.as_ref())),
        _ => None,
    }
}

/// One step's text as a statement, read as the session reads what a client sends (a WITH
/// before a write inlined).
fn parse(sql: &str) -> Result<Statement> {
    let mut parsed = Parser::parse_sql(&PostgreSqlDialect {}, sql).map_err(|e| EngineError::Internal(format!("a MERGE step: {e}")))?;
    match (parsed.pop(), parsed.is_empty()) {
        (Some(mut statement), true) => {
            super::normalize_data_modifying_with(&mut statement)?;
            Ok(statement)
        }
        _ => Err(EngineError::Internal("a MERGE step is not one statement".into())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn merge(sql: &str) -> Merge {
        match Parser::parse_sql(&PostgreSqlDialect {}, sql).unwrap().pop() {
            Some(Statement::Merge(m)) => m,
            other => panic!("{other:?}"),
        }
    }

    fn catalog() -> Catalog {
        use crate::catalog::{ColumnDef, PgType, TableDef, TableId};
        let col = |name: &str, ty| ColumnDef { name: name.into(), ty, not_null: false, is_serial: false, default_sql: None };
        Catalog::from_tables([TableDef {
            id: TableId(1),
            name: "stock".into(),
            columns: vec![col("item", PgType::Text), col("qty", PgType::Int4)],
            primary_key: vec![0],
            ..Default::default()
        }])
    }

    #[test]
    fn clauses_become_an_insert_then_one_write_per_acting_clause() {
        let plan = plan(
            &merge(
                "MERGE INTO stock s USING d ON s.item = d.item WHEN MATCHED AND d.qty < 0 THEN DELETE \
                 WHEN MATCHED AND s.qty > 9 THEN UPDATE SET \"rhei do nothing\" = NULL WHEN MATCHED THEN UPDATE SET qty = s.qty + d.qty \
                 WHEN NOT MATCHED THEN INSERT (item, qty) VALUES (d.item, DEFAULT)",
            ),
            None,
            &catalog(),
        )
        .unwrap();
        assert_eq!(plan.acting, [1, 3]);
        assert_eq!(
            plan.matched.unwrap().to_string(),
            "SELECT s._rowid_, (CASE WHEN (d.qty < 0) THEN 1 WHEN (s.qty > 9) THEN 2 WHEN true THEN 3 END) FROM d JOIN stock AS s ON s.item = d.item \
             WHERE (CASE WHEN (d.qty < 0) THEN 1 WHEN (s.qty > 9) THEN 2 WHEN true THEN 3 END) IN (1, 3)"
        );
        let writes: Vec<String> = plan.writes.iter().map(|w| w.statement.to_string()).collect();
        assert_eq!(
            writes,
            [
                "INSERT INTO \"stock\" (item) SELECT d.item FROM d WHERE NOT EXISTS (SELECT 1 FROM stock AS s WHERE (s.item = d.item)) AND (CASE WHEN true THEN 4 END) = 4",
                "DELETE FROM stock AS s WHERE s._rowid_ IN (SELECT 'rhei_merge_5e1f_clause_1')",
                "UPDATE stock AS s SET qty = s.qty + d.qty FROM d WHERE (s.item = d.item) AND (CASE WHEN (d.qty < 0) THEN 1 WHEN (s.qty > 9) THEN 2 WHEN true THEN 3 END) = 3 AND s._rowid_ IN (SELECT 'rhei_merge_5e1f_clause_3')",
            ]
        );
        let mut delete = plan.writes[1].statement.clone();
        read_matched(&mut delete);
        assert_eq!(delete.to_string(), "DELETE FROM stock AS s WHERE s._rowid_ IN (SELECT \"c1\" FROM temp.\"rhei_merge\" WHERE \"c2\" = 1)");
    }

    #[test]
    fn a_later_insert_clause_does_not_match_the_rows_an_earlier_one_added() {
        let plan = plan(
            &merge(
                "MERGE INTO stock USING d ON stock.item = d.item WHEN NOT MATCHED AND d.qty < 0 THEN INSERT VALUES (d.item) \
                 WHEN NOT MATCHED AND d.qty IS NULL THEN INSERT (\"rhei do nothing\") VALUES (NULL) WHEN NOT MATCHED THEN INSERT (qty, item) VALUES (d.qty, d.item)",
            ),
            None,
            &catalog(),
        )
        .unwrap();
        assert!(plan.matched.is_none());
        let keeps: Vec<Option<String>> = plan.writes.iter().map(|w| w.keeps.clone()).collect();
        assert_eq!(keeps, [Some("rhei_merge_inserted_1".to_string()), None]);
        let mut second = plan.writes[1].statement.clone();
        assert_eq!(
            second.to_string(),
            "INSERT INTO \"stock\" (qty, item) SELECT d.qty, d.item FROM d WHERE NOT EXISTS (SELECT 1 FROM stock AS \"stock\" WHERE (stock.item = d.item) \
             AND \"stock\"._rowid_ NOT IN (SELECT 'rhei_merge_5e1f_inserted_1')) AND (CASE WHEN (d.qty < 0) THEN 1 WHEN (d.qty IS NULL) THEN 2 WHEN true THEN 3 END) = 3"
        );
        read_matched(&mut second);
        assert!(second.to_string().contains("NOT IN (SELECT \"c1\" FROM temp.\"rhei_merge_inserted_1\")"), "{second}");
        assert!(plan.writes[0].statement.to_string().ends_with(" = 1 RETURNING _rowid_"), "{}", plan.writes[0].statement);
    }

    #[test]
    fn what_postgresql_15_has_not_is_refused() {
        let catalog = catalog();
        for (sql, state) in [
            ("MERGE INTO nosuch USING d ON true WHEN MATCHED THEN DELETE", "42P01"),
            ("MERGE INTO stock USING d ON true WHEN NOT MATCHED BY SOURCE THEN DELETE", "0A000"),
            ("MERGE INTO stock USING d ON true WHEN NOT MATCHED THEN INSERT (item) VALUES (1), (2)", "42601"),
            ("MERGE INTO stock USING d ON true WHEN NOT MATCHED THEN INSERT (item, qty) VALUES (1)", "42601"),
            ("MERGE INTO stock USING d ON true WHEN NOT MATCHED THEN INSERT VALUES (1, 2, 3)", "42601"),
            ("MERGE INTO stock USING d ON true WHEN MATCHED THEN DELETE WHEN MATCHED AND d.x THEN DELETE", "42601"),
            ("MERGE INTO stock USING (SELECT 1 AS x) ON true WHEN MATCHED THEN DELETE", "42601"),
            ("MERGE INTO stock USING stock ON true WHEN MATCHED THEN DELETE", "42712"),
            ("MERGE INTO stock AS s USING d AS s ON true WHEN MATCHED THEN DELETE", "42712"),
        ] {
            assert_eq!(plan(&merge(sql), None, &catalog).unwrap_err().sqlstate(), state, "{sql}");
        }
    }
}
