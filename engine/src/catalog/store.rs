//! Persistence of the catalog in `_rhei_catalog`, written by the OLTP writer in the same SQLite
//! transaction as the DDL it describes.

use rusqlite::{Connection, OptionalExtension, params};

use crate::catalog::{Catalog, TableDef, TableId};
use crate::error::{EngineError, Result};
use crate::oltp::classify;

/// Reads every table definition.
///
/// # Errors
/// SQLite errors, or a definition that does not decode (a damaged file).
pub fn load(conn: &Connection) -> Result<Catalog> {
    let mut stmt = conn.prepare_cached("SELECT def FROM _rhei_catalog ORDER BY id").map_err(classify)?;
    let defs = stmt
        .query_map([], |row| row.get::<_, String>(0))
        .map_err(classify)?
        .map(|def| {
            let text = def.map_err(classify)?;
            serde_json::from_str::<TableDef>(&text)
                .map_err(|e| EngineError::Internal(format!("damaged catalog entry: {e}")))
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(Catalog::from_tables(defs))
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
