//! PostgreSQL's JSON set-returning functions on SQLite, as table-valued functions:
//! `rhei_jsonb_array_elements(doc)` and the rest, one eponymous virtual table per function,
//! each with PostgreSQL's column names. The translator (`translate::json_sets`) puts them where
//! a query calls the PostgreSQL functions, in FROM or in a select list. SQLite's own
//! `json_each` would not do: it writes nested values without the spacing PostgreSQL keeps
//! (json) or prints (jsonb), and unwraps strings.

use std::borrow::Cow;
use std::ffi::{CString, c_int};
use std::marker::PhantomData;

use rusqlite::vtab::{Context, Filters, IndexConstraintOp, IndexInfo, Module, VTab, VTabConfig, VTabConnection, VTabCursor};
use rusqlite::{Connection, ffi};

use crate::json::{SET_FUNCTIONS, SetFunction, SetKind};
use crate::oltp::functions::{fail, text_of};

/// The SQLite name of the table that stands for `function` (`WITH ORDINALITY`: with a last
/// column `ordinality`, each row's number from 1).
pub fn table_name(function: SetFunction, ordinality: bool) -> String {
    format!("rhei_{}{}", function.name(), if ordinality { "_ordinality" } else { "" })
}

/// Whether `name` is one of these tables (which the catalog does not know).
pub fn is_table_name(name: &str) -> bool {
    name.strip_prefix("rhei_")
        .map(|n| n.strip_suffix("_ordinality").unwrap_or(n))
        .and_then(SetFunction::named)
        .is_some()
}

/// A table's function, and whether it numbers its rows.
#[derive(Debug, Clone, Copy)]
struct TableKind {
    function: SetFunction,
    ordinality: bool,
}

/// Registers the tables of every JSON set-returning function on `conn`.
pub fn register(conn: &Connection) -> rusqlite::Result<()> {
    const MODULE: Module<'static, SetTable> = Module::eponymous_only_module();
    for name in SET_FUNCTIONS {
        let Some(function) = SetFunction::named(name) else { continue };
        for ordinality in [false, true] {
            conn.create_module(table_name(function, ordinality).as_str(), &MODULE, Some(TableKind { function, ordinality }))?;
        }
    }
    Ok(())
}

/// One function's table: its columns (and `ordinality`), then the hidden `rhei_argument` its
/// argument binds. (Named `doc` before, which made a table's own `doc` column ambiguous beside
/// the function: `FROM t, jsonb_array_elements(doc->'items')` failed.)
#[repr(C)]
struct SetTable {
    /// SQLite's part; must come first.
    base: ffi::sqlite3_vtab,
    kind: TableKind,
}

unsafe impl<'vtab> VTab<'vtab> for SetTable {
    type Aux = TableKind;
    type Cursor = SetCursor<'vtab>;

    fn connect(
        db: &mut VTabConnection,
        aux: Option<&TableKind>,
        _module_name: &[u8],
        _database_name: &[u8],
        _table_name: &[u8],
        _args: &[&[u8]],
    ) -> rusqlite::Result<(Cow<'static, std::ffi::CStr>, Self)> {
        let kind = *aux.ok_or_else(|| rusqlite::Error::ModuleError("a JSON set function without its kind".into()))?;
        db.config(VTabConfig::Innocuous)?;
        let mut columns: Vec<String> = kind.function.columns().iter().map(|c| format!("\"{}\"", c.replace('"', "\"\""))).collect();
        if kind.ordinality {
            columns.push("ordinality".into());
        }
        let schema = format!("CREATE TABLE x({}, rhei_argument HIDDEN)", columns.join(", "));
        let schema = CString::new(schema).map_err(|e| rusqlite::Error::ModuleError(e.to_string()))?;
        Ok((Cow::Owned(schema), Self { base: ffi::sqlite3_vtab::default(), kind }))
    }

    fn best_index(&self, info: &mut IndexInfo) -> rusqlite::Result<bool> {
        let argument = (self.kind.function.columns().len() + usize::from(self.kind.ordinality)) as c_int;
        Ok(plan_with_argument(info, argument))
    }

    fn open(&'vtab mut self) -> rusqlite::Result<SetCursor<'vtab>> {
        Ok(SetCursor { base: ffi::sqlite3_vtab_cursor::default(), kind: self.kind, rows: Vec::new(), at: 0, phantom: PhantomData })
    }
}

/// The plan of a table-valued function whose one argument is its hidden column `argument`:
/// usable only where SQLite passes that argument (an equality with it), which it then hands
/// to the cursor's filter as its first value. False for a plan without it (nothing to list).
pub(crate) fn plan_with_argument(info: &mut IndexInfo, argument: c_int) -> bool {
    let mut passed = None;
    for (i, constraint) in info.constraints().enumerate() {
        if constraint.column() != argument {
            continue;
        }
        if !constraint.is_usable() || constraint.operator() != IndexConstraintOp::SQLITE_INDEX_CONSTRAINT_EQ {
            return false;
        }
        passed = Some(i);
    }
    let Some(passed) = passed else { return false };
    let mut usage = info.constraint_usage(passed);
    usage.set_argv_index(1);
    usage.set_omit(true);
    info.set_estimated_cost(10.0);
    info.set_estimated_rows(10);
    true
}

/// The rows of one call, computed whole when SQLite passes the document.
#[repr(C)]
struct SetCursor<'vtab> {
    /// SQLite's part; must come first.
    base: ffi::sqlite3_vtab_cursor,
    kind: TableKind,
    rows: Vec<crate::json::SetRow>,
    at: usize,
    phantom: PhantomData<&'vtab SetTable>,
}

unsafe impl VTabCursor for SetCursor<'_> {
    fn filter(&mut self, _idx_num: c_int, _idx_str: Option<&str>, args: &Filters<'_>) -> rusqlite::Result<()> {
        self.at = 0;
        self.rows = match args.iter().next().and_then(text_of) {
            // A NULL document has no rows, as in PostgreSQL (the functions are strict).
            None => Vec::new(),
            Some(doc) => self.kind.function.rows(&doc).map_err(fail)?,
        };
        Ok(())
    }

    fn next(&mut self) -> rusqlite::Result<()> {
        self.at += 1;
        Ok(())
    }

    fn eof(&self) -> bool {
        self.at >= self.rows.len()
    }

    fn column(&self, ctx: &mut Context, i: c_int) -> rusqlite::Result<()> {
        let Some((key, value)) = self.rows.get(self.at) else { return ctx.set_result(rusqlite::types::Null) };
        // The column after the function's own is `ordinality` (where there is one).
        if self.kind.ordinality && i as usize == self.kind.function.columns().len() {
            return ctx.set_result(self.at as i64 + 1);
        }
        let cell = match (self.kind.function.kind, i) {
            (SetKind::ArrayElements, 0) => value,
            (SetKind::Each | SetKind::ObjectKeys, 0) => key,
            (SetKind::Each, 1) => value,
            _ => &None,
        };
        ctx.set_result(cell)
    }

    fn rowid(&self) -> rusqlite::Result<i64> {
        Ok(self.at as i64 + 1)
    }
}
