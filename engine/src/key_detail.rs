//! Key values a statement gives as literals or parameters, for what SQLite cannot say itself:
//!
//! - the values in a unique violation's DETAIL (`Key (email)=(a@b.c) already exists.`); SQLite
//!   names the key's columns only. Users read them, and ORMs show them, so where the failing
//!   statement says which values the key had, they are filled in: a single-row `INSERT ...
//!   VALUES` and an `UPDATE` that sets every key column. Anything else keeps the DETAIL without
//!   values.
//! - an `INSERT ... VALUES ... ON CONFLICT (key) DO UPDATE` whose rows repeat a key, which
//!   PostgreSQL refuses (21000: the later row would update the row the earlier one inserted or
//!   updated) and SQLite runs, updating that row twice.
//!
//! Keys are compared and shown only when made of integer and text columns, whose PostgreSQL
//! output is their plain text.

use std::collections::HashSet;

use datafusion::common::ScalarValue;
use datafusion::sql::sqlparser::ast::{
    AssignmentTarget, ConflictTarget, Expr, Insert, OnConflict, OnConflictAction, OnInsert, SetExpr, Statement,
    TableFactor, TableObject, UnaryOperator, Value,
};

use crate::catalog::{Catalog, PgType, TableDef, normalize_ident, table_name};
use crate::error::{EngineError, Result};

/// `err` with the key's values in its DETAIL, when `stmt` and `params` tell them.
pub fn with_key_values(err: EngineError, stmt: &Statement, params: &[ScalarValue], catalog: &Catalog) -> EngineError {
    let EngineError::UniqueViolation { table, constraint, columns, detail } = err else { return err };
    let values = key_values(stmt, params, catalog, &table, &columns);
    let detail = match values {
        Some(values) => Some(format!("Key ({})=({}) already exists.", columns.join(", "), values.join(", "))),
        None => detail,
    };
    EngineError::UniqueViolation { table, constraint, columns, detail }
}

/// Refuses an `INSERT ... VALUES ... ON CONFLICT (columns) DO UPDATE` two of whose rows give
/// the key the same values (rows with a NULL or a computed key value are not compared).
///
/// # Errors
/// [`EngineError::UpsertAffectsRowTwice`].
pub fn refuse_repeated_upsert_keys(stmt: &Statement, params: &[ScalarValue], catalog: &Catalog) -> Result<()> {
    let Statement::Insert(insert) = stmt else { return Ok(()) };
    let Some(OnInsert::OnConflict(OnConflict {
        conflict_target: Some(ConflictTarget::Columns(target)),
        action: OnConflictAction::DoUpdate(_),
    })) = &insert.on
    else {
        return Ok(());
    };
    let Some((def, rows)) = insert_values(insert, catalog) else { return Ok(()) };
    if rows.len() < 2 {
        return Ok(());
    }
    let targets = def.insert_targets(&insert.columns);
    // Where each key column's value stands in a row, and the column's type.
    let key: Option<Vec<(usize, PgType)>> = target
        .iter()
        .map(|column| {
            let index = def.column_index(&normalize_ident(column))?;
            Some((targets.iter().position(|t| *t == Some(index))?, def.columns[index].ty))
        })
        .collect();
    let Some(key) = key else { return Ok(()) };
    let mut seen = HashSet::new();
    for row in rows {
        let tuple: Option<Vec<String>> = key.iter().map(|(at, ty)| value_text(row.get(*at)?, params, *ty)).collect();
        if let Some(tuple) = tuple
            && !seen.insert(tuple)
        {
            return Err(EngineError::UpsertAffectsRowTwice);
        }
    }
    Ok(())
}

/// The table an INSERT writes, when `catalog` has it, and its VALUES rows.
fn insert_values<'a>(insert: &'a Insert, catalog: &'a Catalog) -> Option<(&'a TableDef, &'a [Vec<Expr>])> {
    let TableObject::TableName(name) = &insert.table else { return None };
    let def = catalog.get(&table_name(name).ok()?)?;
    let SetExpr::Values(values) = insert.source.as_ref()?.body.as_ref() else { return None };
    Some((def, values.rows.as_slice()))
}

fn key_values(stmt: &Statement, params: &[ScalarValue], catalog: &Catalog, table: &str, key: &[String]) -> Option<Vec<String>> {
    // The expression the statement gives each column it sets, by column index.
    let (def, given): (&TableDef, Vec<(usize, &Expr)>) = match stmt {
        Statement::Insert(insert) => {
            let (def, [row]) = insert_values(insert, catalog)? else { return None };
            let given = def.insert_targets(&insert.columns).into_iter().zip(row).filter_map(|(t, e)| Some((t?, e))).collect();
            (def, given)
        }
        Statement::Update(update) => {
            let TableFactor::Table { name, .. } = &update.table.relation else { return None };
            let def = catalog.get(&table_name(name).ok()?)?;
            let given = update
                .assignments
                .iter()
                .filter_map(|a| match &a.target {
                    AssignmentTarget::ColumnName(name) => {
                        Some((def.column_index(&normalize_ident(name.0.last()?.as_ident()?))?, &a.value))
                    }
                    AssignmentTarget::Tuple(_) => None,
                })
                .collect();
            (def.as_ref(), given)
        }
        _ => return None,
    };
    if def.name != table {
        return None;
    }
    key.iter()
        .map(|column| {
            let index = def.column_index(column)?;
            let (_, expr) = given.iter().find(|(i, _)| *i == index)?;
            value_text(expr, params, def.columns[index].ty)
        })
        .collect()
}

/// The value `expr` gives a column of type `ty`, as PostgreSQL prints it.
fn value_text(expr: &Expr, params: &[ScalarValue], ty: PgType) -> Option<String> {
    let text = match expr {
        Expr::Value(v) => match &v.value {
            Value::Number(n, _) => n.clone(),
            Value::SingleQuotedString(s) => s.clone(),
            Value::Placeholder(p) => {
                let index: usize = p.strip_prefix('$')?.parse().ok()?;
                scalar_text(params.get(index.checked_sub(1)?)?)?
            }
            _ => return None,
        },
        Expr::UnaryOp { op: UnaryOperator::Minus, expr } => format!("-{}", value_text(expr, params, ty)?),
        Expr::Nested(inner) => value_text(inner, params, ty)?,
        _ => return None,
    };
    match ty {
        PgType::Int2 | PgType::Int4 | PgType::Int8 => text.trim().parse::<i64>().ok().map(|n| n.to_string()),
        PgType::Text | PgType::Varchar(_) => Some(text),
        _ => None,
    }
}

fn scalar_text(value: &ScalarValue) -> Option<String> {
    match value {
        ScalarValue::Int8(Some(n)) => Some(n.to_string()),
        ScalarValue::Int16(Some(n)) => Some(n.to_string()),
        ScalarValue::Int32(Some(n)) => Some(n.to_string()),
        ScalarValue::Int64(Some(n)) => Some(n.to_string()),
        ScalarValue::Utf8(Some(s)) | ScalarValue::LargeUtf8(Some(s)) | ScalarValue::Utf8View(Some(s)) => Some(s.clone()),
        _ => None,
    }
}
