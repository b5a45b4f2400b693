//! RETURNING that reads the other relations of an `UPDATE ... FROM` or `DELETE ... USING`
//! (`RETURNING t.id, u.note`; `RETURNING *` is every relation's columns in PostgreSQL). SQLite's
//! RETURNING reads only the target's row, and has no USING at all. The joined rows are
//! captured once, before anything changes, in a materialized WITH query keyed by the target's
//! rowid; the write reads its values from there, and each RETURNING value of another relation
//! is looked up by the written row's rowid:
//!
//! ```sql
//! UPDATE t SET qty = qty + u.n FROM u WHERE u.t_id = t.id RETURNING t.id, u.note
//! -- becomes
//! WITH _rhei_from AS MATERIALIZED (SELECT t._rowid_ AS _rhei_target, u.n AS _rhei_from_1,
//!     u.note AS _rhei_from_2 FROM t, u WHERE u.t_id = t.id GROUP BY t._rowid_)
//! UPDATE t SET qty = qty + _rhei_from._rhei_from_1 FROM _rhei_from WHERE t._rowid_ = _rhei_from._rhei_target
//! RETURNING id, (SELECT _rhei_from_2 FROM _rhei_from WHERE _rhei_target = t._rowid_)
//! ```
//!
//! A row the join matches more than once is written once, with one of its matches, as in
//! PostgreSQL (which says it is unpredictable which); GROUP BY keeps one match per row, so
//! the write and RETURNING read the same one (SQLite takes a group's bare columns from one of
//! its rows). An UPDATE that sets the column that is the rowid (a single integer key) looks
//! its row up by the rowid it writes, computed in the capture too. Wildcards are spelled out
//! before the translation ([`expand_wildcards`]): the other relations' columns are known for
//! tables and for derived tables with column aliases. Names inside subqueries of SET or
//! RETURNING are the joined relations' only when qualified by a name no inner FROM shadows.

use std::ops::ControlFlow;

use datafusion::sql::sqlparser::ast::{
    AssignmentTarget, Expr, FromTable, Ident, ObjectName, Query, SelectItem, SelectItemQualifiedWildcardKind, SetExpr, Statement, TableFactor,
    TableWithJoins, UpdateTableFromKind, VisitMut, VisitorMut, visit_expressions,
};
use datafusion::sql::sqlparser::dialect::PostgreSqlDialect;
use datafusion::sql::sqlparser::parser::Parser;

use crate::catalog::{Catalog, PgType, TableDef, normalize_ident, table_name};
use crate::error::{EngineError, Result};

/// The WITH query holding the joined rows, and its columns.
const CAPTURED: &str = "_rhei_from";
const TARGET_ROWID: &str = "_rhei_target";
/// The rowid an UPDATE writes, where it sets the column that is the rowid.
const WRITTEN_ROWID: &str = "_rhei_written";
/// SQLite's rowid under the name a user's column named `rowid` does not hide.
const ROWID: &str = "_rowid_";

/// A relation an UPDATE or DELETE joins: the name it is referred to by, and its columns where
/// they are known.
#[derive(Debug, Clone)]
pub struct JoinedRelation {
    pub name: String,
    pub columns: Option<Vec<String>>,
    /// The declared types of the columns, where the relation is a table (in the order of
    /// `columns`, which may be aliases of its columns).
    pub types: Vec<Option<PgType>>,
}

impl JoinedRelation {
    /// The declared type of one of its columns, where known.
    pub fn column_type(&self, column: &str) -> Option<PgType> {
        let at = self.columns.as_ref()?.iter().position(|c| c == column)?;
        self.types.get(at).copied().flatten()
    }
}

/// The target of an UPDATE or DELETE with the relations it joins (none without FROM/USING).
pub struct JoinedWrite<'a> {
    /// The name the target is referred to by (its alias, or its table name).
    pub target: String,
    pub def: &'a TableDef,
    pub joined: Vec<JoinedRelation>,
}

impl JoinedWrite<'_> {
    /// The joined relation and column an expression reads, if it is one of theirs: qualified by
    /// one's name, or a bare name that is no column of the target and one relation's alone.
    pub fn reference(&self, expr: &Expr) -> Option<(usize, String)> {
        match expr {
            Expr::CompoundIdentifier(parts) if parts.len() >= 2 => {
                let qualifier = normalize_ident(&parts[parts.len() - 2]);
                let column = normalize_ident(&parts[parts.len() - 1]);
                let at = self.joined.iter().position(|j| j.name == qualifier)?;
                (qualifier != self.target).then_some((at, column))
            }
            Expr::Identifier(ident) => {
                let column = normalize_ident(ident);
                if self.def.column_index(&column).is_some() {
                    return None;
                }
                let mut having = self.joined.iter().enumerate().filter(|(_, j)| j.columns.as_ref().is_some_and(|c| c.contains(&column)));
                match (having.next(), having.next()) {
                    (Some((at, _)), None) => Some((at, column)),
                    _ => None,
                }
            }
            _ => None,
        }
    }

    /// Whether any of `items` reads a joined relation.
    fn read_by(&self, items: &[SelectItem]) -> bool {
        items.iter().any(|item| visit_expressions(item, |e| if self.reference(e).is_some() { ControlFlow::Break(()) } else { ControlFlow::Continue(()) }).is_break())
    }
}

/// The target and joined relations of `stmt`, an UPDATE with FROM or a DELETE with USING.
pub fn joined_write<'a>(stmt: &Statement, catalog: &'a Catalog) -> Option<JoinedWrite<'a>> {
    let (target, tables) = match stmt {
        Statement::Update(u) => match &u.from {
            Some(UpdateTableFromKind::AfterSet(tables) | UpdateTableFromKind::BeforeSet(tables)) => (&u.table.relation, tables),
            None => return None,
        },
        Statement::Delete(d) => {
            let (FromTable::WithFromKeyword(from) | FromTable::WithoutKeyword(from)) = &d.from;
            (&from.first()?.relation, d.using.as_ref()?)
        }
        _ => return None,
    };
    let TableFactor::Table { name, alias, .. } = target else { return None };
    let def = catalog.get(&table_name(name).ok()?)?;
    let target = match alias {
        Some(alias) => normalize_ident(&alias.name),
        None => last_name(name)?,
    };
    let joined = tables
        .iter()
        .flat_map(|t| std::iter::once(&t.relation).chain(t.joins.iter().map(|j| &j.relation)))
        .filter_map(|relation| joined_relation(relation, catalog))
        .collect();
    Some(JoinedWrite { target, def, joined })
}

fn last_name(name: &ObjectName) -> Option<String> {
    name.0.last().and_then(|p| p.as_ident()).map(normalize_ident)
}

fn joined_relation(relation: &TableFactor, catalog: &Catalog) -> Option<JoinedRelation> {
    match relation {
        TableFactor::Table { name, alias, .. } => {
            let table = table_name(name).ok();
            let def = table.as_deref().and_then(|t| catalog.get(t));
            // Column aliases rename the table's columns in order (`u AS v(a, b)`).
            let renamed: Option<Vec<String>> = alias.as_ref().filter(|a| !a.columns.is_empty()).map(|a| a.columns.iter().map(|c| normalize_ident(&c.name)).collect());
            let columns = def.map(|d| d.columns.iter().enumerate().map(|(i, c)| renamed.as_ref().and_then(|r| r.get(i).cloned()).unwrap_or_else(|| c.name.clone())).collect());
            Some(JoinedRelation {
                name: alias.as_ref().map(|a| normalize_ident(&a.name)).or_else(|| last_name(name))?,
                columns: columns.or(renamed),
                types: def.map(|d| d.columns.iter().map(|c| Some(c.ty)).collect()).unwrap_or_default(),
            })
        }
        TableFactor::Derived { alias: Some(alias), .. } => Some(JoinedRelation {
            name: normalize_ident(&alias.name),
            columns: (!alias.columns.is_empty()).then(|| alias.columns.iter().map(|c| normalize_ident(&c.name)).collect()),
            types: Vec::new(),
        }),
        _ => None,
    }
}

/// The RETURNING items of `stmt` with `*` spelled out as PostgreSQL reads it when the write
/// joins other relations (the target's columns, then each relation's), and `r.*` of a joined
/// relation as its columns. Unchanged without joined relations.
///
/// # Errors
/// 0A000 for a wildcard over a joined relation whose columns are not known (a derived table
/// without column aliases, a table function).
pub fn expand_wildcards(stmt: &mut Statement, catalog: &Catalog) -> Result<()> {
    let Some(write) = joined_write(stmt, catalog) else { return Ok(()) };
    if write.joined.is_empty() {
        return Ok(());
    }
    let target_columns = || write.def.columns.iter().map(|c| qualified(&write.target, &c.name)).collect::<Vec<_>>();
    let joined_columns = |j: &JoinedRelation| -> Result<Vec<SelectItem>> {
        let columns = j.columns.as_ref().ok_or_else(|| EngineError::unsupported(format!("RETURNING * over {}, whose columns rhei does not know here", j.name)))?;
        Ok(columns.iter().map(|c| qualified(&j.name, c)).collect())
    };
    let Some(items) = (match stmt {
        Statement::Update(u) => u.returning.as_mut(),
        Statement::Delete(d) => d.returning.as_mut(),
        _ => None,
    }) else {
        return Ok(());
    };
    let mut expanded = Vec::with_capacity(items.len());
    for item in items.drain(..) {
        match &item {
            SelectItem::Wildcard(_) => {
                expanded.extend(target_columns());
                for j in &write.joined {
                    expanded.extend(joined_columns(j)?);
                }
            }
            SelectItem::QualifiedWildcard(SelectItemQualifiedWildcardKind::ObjectName(name), _)
                if let Some(j) = last_name(name).and_then(|n| write.joined.iter().find(|j| j.name == n && n != write.target)) =>
            {
                expanded.extend(joined_columns(j)?);
            }
            _ => expanded.push(item),
        }
    }
    *items = expanded;
    Ok(())
}

fn qualified(relation: &str, column: &str) -> SelectItem {
    SelectItem::UnnamedExpr(Expr::CompoundIdentifier(vec![Ident::with_quote('"', relation), Ident::with_quote('"', column)]))
}

/// Whether the RETURNING list of `stmt` (wildcards expanded) reads a relation the write joins.
pub fn returning_reads_joined(stmt: &Statement, catalog: &Catalog) -> bool {
    let items = match stmt {
        Statement::Update(u) => u.returning.as_deref(),
        Statement::Delete(d) => d.returning.as_deref(),
        _ => None,
    };
    match (items, joined_write(stmt, catalog)) {
        (Some(items), Some(write)) => write.read_by(items),
        _ => false,
    }
}

/// Rewrites a translated UPDATE ... FROM or DELETE ... USING with RETURNING (see the module
/// doc); the caller asks [`returning_reads_joined`] of the statement as written, before the
/// translation, which strips the target's name from RETURNING. `catalog` resolves bare names.
///
/// # Errors
/// Internal: the skeleton statement does not parse.
pub fn capture_joined_rows(stmt: &mut Statement, catalog: &Catalog) -> Result<()> {
    let Some(write) = joined_write(stmt, catalog) else { return Ok(()) };
    let target_rowid = Expr::CompoundIdentifier(vec![Ident::with_quote('"', &write.target), Ident::new(ROWID)]);
    // RETURNING names the target by its table's name, even when it has an alias.
    let written_rowid = Expr::CompoundIdentifier(vec![Ident::with_quote('"', &write.def.name), Ident::new(ROWID)]);
    // Where the UPDATE sets the rowid's column, its rows are found by the rowid it writes.
    let rowid_assignment = match (&*stmt, write.def.rowid_alias()) {
        (Statement::Update(u), Some(column)) => u
            .assignments
            .iter()
            .find(|a| matches!(&a.target, AssignmentTarget::ColumnName(name) if last_name(name).as_deref() == Some(write.def.columns[column].name.as_str())))
            .map(|a| a.value.clone()),
        _ => None,
    };
    let key = if rowid_assignment.is_some() { WRITTEN_ROWID } else { TARGET_ROWID };
    let mut replacer = JoinedReferences { write: &write, captured: Vec::new(), shadowing: Vec::new(), lookup: None };
    let (condition, joined_tables, is_update) = match stmt {
        Statement::Update(u) => {
            for assignment in &mut u.assignments {
                if let ControlFlow::Break(e) = assignment.value.visit(&mut replacer) {
                    return Err(e);
                }
            }
            let Some(UpdateTableFromKind::AfterSet(tables) | UpdateTableFromKind::BeforeSet(tables)) = u.from.take() else { return Ok(()) };
            (u.selection.take(), tables, true)
        }
        Statement::Delete(d) => {
            let Some(tables) = d.using.take() else { return Ok(()) };
            (d.selection.take(), tables, false)
        }
        _ => return Ok(()),
    };
    replacer.lookup = Some(format!("{key} = {written_rowid}"));
    let returning = match stmt {
        Statement::Update(u) => u.returning.as_mut(),
        Statement::Delete(d) => d.returning.as_mut(),
        _ => None,
    };
    for item in returning.into_iter().flatten() {
        if let ControlFlow::Break(e) = item.visit(&mut replacer) {
            return Err(e);
        }
    }
    let captured = replacer.captured;
    // The capturing query: the target's rowid and each value read, over the join as written.
    let target_relation = match stmt {
        Statement::Update(u) => u.table.relation.clone(),
        Statement::Delete(d) => {
            let (FromTable::WithFromKeyword(from) | FromTable::WithoutKeyword(from)) = &d.from;
            from.first().map(|t| t.relation.clone()).ok_or_else(|| EngineError::Internal("DELETE without a target".into()))?
        }
        _ => return Ok(()),
    };
    let mut values: Vec<String> = vec![format!("{target_rowid} AS {TARGET_ROWID}")];
    // A placeholder: the translated value may hold SQLite's `?N` parameters, which do not parse.
    values.extend(rowid_assignment.is_some().then(|| format!("NULL AS {WRITTEN_ROWID}")));
    values.extend(captured.iter().enumerate().map(|(k, (at, column))| {
        let value = Expr::CompoundIdentifier(vec![Ident::with_quote('"', &write.joined[*at].name), Ident::with_quote('"', column)]);
        format!("{value} AS {CAPTURED}_{}", k + 1)
    }));
    let skeleton = format!("WITH {CAPTURED} AS MATERIALIZED (SELECT {} FROM x GROUP BY {target_rowid}) SELECT 1", values.join(", "));
    let mut query = Parser::new(&PostgreSqlDialect {})
        .try_with_sql(&skeleton)
        .and_then(|mut p| p.parse_query())
        .map_err(|e| EngineError::Internal(format!("capturing joined rows: {e}")))?;
    let capture = query.with.as_mut().and_then(|w| w.cte_tables.first_mut()).map(|cte| cte.query.body.as_mut());
    if let Some(SetExpr::Select(select)) = capture {
        select.from = std::iter::once(TableWithJoins { relation: target_relation, joins: Vec::new() }).chain(joined_tables).collect();
        select.selection = condition;
        if let (Some(value), Some(SelectItem::ExprWithAlias { expr, .. })) = (rowid_assignment, select.projection.get_mut(1)) {
            *expr = value;
        }
    }
    match stmt {
        Statement::Update(u) => {
            u.from = Some(UpdateTableFromKind::AfterSet(vec![TableWithJoins { relation: captured_relation()?, joins: Vec::new() }]));
            u.selection = Some(parse_expr(&format!("{target_rowid} = {CAPTURED}.{TARGET_ROWID}"))?);
        }
        Statement::Delete(d) => d.selection = Some(parse_expr(&format!("{target_rowid} IN (SELECT {TARGET_ROWID} FROM {CAPTURED})"))?),
        _ => {}
    }
    let write = std::mem::replace(stmt, Statement::Commit { chain: false, end: false, modifier: None });
    query.body = Box::new(if is_update { SetExpr::Update(write) } else { SetExpr::Delete(write) });
    *stmt = Statement::Query(query);
    Ok(())
}

/// Replaces references to the joined relations with the captured values: in SET (`lookup`
/// unset) a column of the capturing query the UPDATE joins, in RETURNING a lookup of the
/// written row's (`lookup` its condition). In a subquery only a qualified name whose
/// qualifier no FROM of the subqueries around it uses is the joined relation's.
struct JoinedReferences<'w, 'a> {
    write: &'w JoinedWrite<'a>,
    captured: Vec<(usize, String)>,
    /// The relation names of each subquery entered.
    shadowing: Vec<Vec<String>>,
    lookup: Option<String>,
}

impl VisitorMut for JoinedReferences<'_, '_> {
    type Break = EngineError;

    fn pre_visit_query(&mut self, query: &mut Query) -> ControlFlow<EngineError> {
        let names = match query.body.as_ref() {
            SetExpr::Select(select) => select
                .from
                .iter()
                .flat_map(|t| std::iter::once(&t.relation).chain(t.joins.iter().map(|j| &j.relation)))
                .filter_map(|relation| match relation {
                    TableFactor::Table { name, alias, .. } => alias.as_ref().map(|a| normalize_ident(&a.name)).or_else(|| last_name(name)),
                    TableFactor::Derived { alias, .. } => alias.as_ref().map(|a| normalize_ident(&a.name)),
                    _ => None,
                })
                .collect(),
            _ => Vec::new(),
        };
        self.shadowing.push(names);
        ControlFlow::Continue(())
    }

    fn post_visit_query(&mut self, _query: &mut Query) -> ControlFlow<EngineError> {
        self.shadowing.pop();
        ControlFlow::Continue(())
    }

    fn post_visit_expr(&mut self, expr: &mut Expr) -> ControlFlow<EngineError> {
        let Some(reference) = self.write.reference(expr) else { return ControlFlow::Continue(()) };
        if !self.shadowing.is_empty() {
            let Expr::CompoundIdentifier(parts) = expr else { return ControlFlow::Continue(()) };
            let qualifier = normalize_ident(&parts[parts.len() - 2]);
            if self.shadowing.iter().flatten().any(|name| *name == qualifier) {
                return ControlFlow::Continue(());
            }
        }
        let k = match self.captured.iter().position(|c| *c == reference) {
            Some(at) => at + 1,
            None => {
                self.captured.push(reference);
                self.captured.len()
            }
        };
        *expr = match &self.lookup {
            None => Expr::CompoundIdentifier(vec![Ident::new(CAPTURED), Ident::new(format!("{CAPTURED}_{k}"))]),
            Some(condition) => match parse_expr(&format!("(SELECT {CAPTURED}_{k} FROM {CAPTURED} WHERE {condition})")) {
                Ok(lookup) => lookup,
                Err(e) => return ControlFlow::Break(e),
            },
        };
        ControlFlow::Continue(())
    }
}

fn parse_expr(sql: &str) -> Result<Expr> {
    Parser::new(&PostgreSqlDialect {})
        .try_with_sql(sql)
        .and_then(|mut p| p.parse_expr())
        .map_err(|e| EngineError::Internal(format!("capturing joined rows: {sql}: {e}")))
}

/// The WITH query of captured rows as a FROM item.
fn captured_relation() -> Result<TableFactor> {
    let parsed = Parser::new(&PostgreSqlDialect {})
        .try_with_sql(&format!("SELECT 1 FROM {CAPTURED}"))
        .and_then(|mut p| p.parse_query())
        .map_err(|e| EngineError::Internal(format!("capturing joined rows: {e}")))?;
    match *parsed.body {
        SetExpr::Select(select) => select.from.into_iter().next().map(|t| t.relation).ok_or_else(|| EngineError::Internal("no table".into())),
        _ => Err(EngineError::Internal("no table".into())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::{ColumnDef, PgType, TableId};

    fn catalog() -> Catalog {
        let col = |name: &str, ty| ColumnDef { name: name.into(), ty, not_null: false, is_serial: false, default_sql: None };
        let table = |id, name: &str, columns| TableDef { id: TableId(id), name: name.into(), columns, primary_key: vec![0], ..Default::default() };
        Catalog::from_tables([
            table(1, "t", vec![col("id", PgType::Int4), col("qty", PgType::Int4), col("price", PgType::Numeric { precision: Some(10), scale: Some(2) })]),
            table(2, "u", vec![col("id", PgType::Int4), col("t_id", PgType::Int4), col("note", PgType::Text), col("amt", PgType::Numeric { precision: Some(8), scale: Some(3) })]),
        ])
    }

    fn sqlite(sql: &str) -> String {
        let mut stmt = Parser::parse_sql(&PostgreSqlDialect {}, sql).unwrap().remove(0);
        crate::translate::to_sqlite(&mut stmt, &catalog(), crate::translate::TranslateOptions::default()).unwrap();
        stmt.to_string()
    }

    #[test]
    fn joined_values_are_captured_before_the_write() {
        let sql = sqlite("UPDATE t x SET qty = x.qty + u.id, price = u.amt FROM u WHERE u.t_id = x.id RETURNING x.id, note, u.id + x.id AS s");
        assert_eq!(
            sql,
            "WITH _rhei_from AS MATERIALIZED (SELECT \"x\"._rowid_ AS _rhei_target, \"u\".\"id\" AS _rhei_from_1, \"u\".\"amt\" AS _rhei_from_2, \
             \"u\".\"note\" AS _rhei_from_3 FROM t AS x, u WHERE u.t_id = x.id GROUP BY \"x\"._rowid_) \
             UPDATE t AS x SET qty = rhei_int(x.qty + _rhei_from._rhei_from_1, 32), price = rhei_numeric(_rhei_from._rhei_from_2, 10, 2) \
             FROM _rhei_from WHERE \"x\"._rowid_ = _rhei_from._rhei_target \
             RETURNING id, (SELECT _rhei_from_3 FROM _rhei_from WHERE _rhei_target = \"t\"._rowid_), \
             (SELECT _rhei_from_1 FROM _rhei_from WHERE _rhei_target = \"t\"._rowid_) + id AS s"
        );
    }
}
