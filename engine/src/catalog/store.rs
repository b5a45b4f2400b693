//! Persistence of the catalog in `_rhei_catalog`, written by the OLTP writer in the same SQLite
//! transaction as the DDL it describes.

use rusqlite::{Connection, OptionalExtension, params};

use crate::catalog::{Catalog, EnumDef, TableDef, TableId, ViewDef};
use crate::error::{EngineError, Result};
use crate::oltp::classify;

/// Reads every table definition.
///
/// # Errors
/// SQLite errors, or a definition that does not decode (a damaged file).
pub fn load(conn: &Connection) -> Result<Catalog> {
    let tables = definitions::<TableDef>(conn, "SELECT def FROM _rhei_catalog ORDER BY id", "catalog entry")?;
    let views = definitions::<ViewDef>(conn, "SELECT def FROM _rhei_views ORDER BY id", "view definition")?;
    let enums = definitions::<EnumDef>(conn, "SELECT def FROM _rhei_types ORDER BY id", "type definition")?;
    Ok(Catalog::from_tables(tables).with_views(views).with_enums(enums))
}

/// The JSON definitions `sql` selects, decoded; `what` names one in the error for a damaged one.
fn definitions<T: serde::de::DeserializeOwned>(conn: &Connection, sql: &str, what: &str) -> Result<Vec<T>> {
    let mut stmt = conn.prepare_cached(sql).map_err(classify)?;
    stmt.query_map([], |row| row.get::<_, String>(0))
        .map_err(classify)?
        .map(|def| {
            let text = def.map_err(classify)?;
            serde_json::from_str::<T>(&text).map_err(|e| EngineError::Internal(format!("damaged {what}: {e}")))
        })
        .collect()
}

/// The id the next created view gets (ids are never reused while a later one exists).
///
/// # Errors
/// SQLite errors.
pub fn next_view_id(conn: &Connection) -> Result<i64> {
    next_row_id(conn, "_rhei_views")
}

/// Inserts or replaces a view's definition.
///
/// # Errors
/// SQLite errors.
pub fn save_view(conn: &Connection, def: &ViewDef) -> Result<()> {
    save_row(conn, "_rhei_views", def.id, &def.name, def)
}

/// Removes a view.
///
/// # Errors
/// SQLite errors.
pub fn delete_view(conn: &Connection, id: i64) -> Result<()> {
    delete_row(conn, "_rhei_views", id)
}

/// The id the next created type gets (ids are never reused while a later one exists).
///
/// # Errors
/// SQLite errors.
pub fn next_type_id(conn: &Connection) -> Result<i64> {
    // Past every id handed out before, dropped ones too (AUTOINCREMENT keeps the highest):
    // a type's OID must not come back naming another type to clients that cached it.
    let next = next_row_id(conn, "_rhei_types")?;
    let highest: Option<i64> = conn
        .query_row("SELECT seq FROM sqlite_sequence WHERE name = '_rhei_types'", [], |r| r.get(0))
        .optional()
        .map_err(classify)?;
    Ok(next.max(highest.unwrap_or(0) + 1))
}

/// Inserts or replaces an enum type's definition.
///
/// # Errors
/// SQLite errors.
pub fn save_type(conn: &Connection, def: &EnumDef) -> Result<()> {
    save_row(conn, "_rhei_types", def.id, &def.name, def)
}

/// Removes a type.
///
/// # Errors
/// SQLite errors.
pub fn delete_type(conn: &Connection, id: i64) -> Result<()> {
    delete_row(conn, "_rhei_types", id)
}

/// The next id of one of the definition tables (`table` is one of ours, never a user's).
fn next_row_id(conn: &Connection, table: &str) -> Result<i64> {
    conn.query_row(&format!("SELECT COALESCE(MAX(id), 0) + 1 FROM {table}"), [], |r| r.get(0)).map_err(classify)
}

fn save_row(conn: &Connection, table: &str, id: i64, name: &str, def: &impl serde::Serialize) -> Result<()> {
    let text = serde_json::to_string(def).map_err(|e| EngineError::Internal(e.to_string()))?;
    conn.prepare_cached(&format!("INSERT OR REPLACE INTO {table}(id, name, def) VALUES (?1, ?2, ?3)"))
        .and_then(|mut s| s.execute(params![id, name, text]))
        .map_err(classify)?;
    Ok(())
}

fn delete_row(conn: &Connection, table: &str, id: i64) -> Result<()> {
    conn.prepare_cached(&format!("DELETE FROM {table} WHERE id = ?1")).and_then(|mut s| s.execute([id])).map_err(classify)?;
    Ok(())
}

/// Reads one table definition by id.
///
/// # Errors
/// SQLite errors, or a definition that does not decode.
pub fn load_table(conn: &Connection, id: TableId) -> Result<Option<TableDef>> {
    let text: Option<String> = conn
        .prepare_cached("SELECT def FROM _rhei_catalog WHERE id = ?1")
        .and_then(|mut s| s.query_row([id.0], |r| r.get(0)).optional())
        .map_err(classify)?;
    text.map(|t| serde_json::from_str(&t).map_err(|e| EngineError::Internal(format!("damaged catalog entry: {e}"))))
        .transpose()
}

/// The id the next created table gets (ids are never reused).
///
/// # Errors
/// SQLite errors.
pub fn next_id(conn: &Connection) -> Result<TableId> {
    conn.query_row(
        "SELECT MAX(COALESCE((SELECT MAX(id) FROM _rhei_catalog), 0), \
                COALESCE((SELECT MAX(tbl) FROM _rhei_changelog), 0)) + 1",
        [],
        |r| r.get(0),
    )
    .map(TableId)
    .map_err(classify)
}

/// Inserts or replaces a definition.
///
/// # Errors
/// SQLite errors.
pub fn save(conn: &Connection, def: &TableDef) -> Result<()> {
    let text = serde_json::to_string(def).map_err(|e| EngineError::Internal(e.to_string()))?;
    conn.prepare_cached("INSERT OR REPLACE INTO _rhei_catalog(id, name, def) VALUES (?1, ?2, ?3)")
        .and_then(|mut s| s.execute(params![def.id.0, def.name, text]))
        .map_err(classify)?;
    Ok(())
}

/// Removes a definition.
///
/// # Errors
/// SQLite errors.
pub fn delete(conn: &Connection, id: TableId) -> Result<()> {
    conn.prepare_cached("DELETE FROM _rhei_catalog WHERE id = ?1")
        .and_then(|mut s| s.execute([id.0]))
        .map_err(classify)?;
    Ok(())
}
