//! `rhei_unnest(array)`: the elements of an array as SQLite holds it (a JSON array of storage
//! values, see `oltp::arrays`) as rows, an eponymous table-valued function. The translator
//! (`translate::arrays::correlated_unnest_for_sqlite`) puts it where a query unnests another
//! FROM item's column, which SQLite lets a table-valued function read. SQLite's `json_each`
//! would do the same, but its eight columns (`id`, `key`, `value`, `type`, ...) made a
//! query's own unqualified `id` ambiguous.

use std::borrow::Cow;
use std::ffi::c_int;
use std::marker::PhantomData;

use rusqlite::vtab::{Context, Filters, IndexInfo, Module, VTab, VTabConfig, VTabConnection, VTabCursor};
use rusqlite::{Connection, ffi};

use crate::oltp::functions::fail;

/// The table's name, and its columns: the element, its position from 1, then the hidden
/// array argument.
pub const TABLE: &str = "rhei_unnest";
pub const ELEMENT: &str = "rhei_element";
pub const ORDINALITY: &str = "rhei_ordinality";
const ARRAY_COLUMN: c_int = 2;

/// Registers the table on `conn`.
pub fn register(conn: &Connection) -> rusqlite::Result<()> {
    const MODULE: Module<'static, UnnestTable> = Module::eponymous_only_module();
    conn.create_module(TABLE, &MODULE, None)
}

#[repr(C)]
struct UnnestTable {
    /// SQLite's part; must come first.
    base: ffi::sqlite3_vtab,
}

unsafe impl<'vtab> VTab<'vtab> for UnnestTable {
    type Aux = ();
    type Cursor = UnnestCursor<'vtab>;

    fn connect(
        db: &mut VTabConnection,
        _aux: Option<&()>,
        _module_name: &[u8],
        _database_name: &[u8],
        _table_name: &[u8],
        _args: &[&[u8]],
    ) -> rusqlite::Result<(Cow<'static, std::ffi::CStr>, Self)> {
        db.config(VTabConfig::Innocuous)?;
        Ok((Cow::Borrowed(c"CREATE TABLE x(rhei_element, rhei_ordinality, rhei_array HIDDEN)"), Self { base: ffi::sqlite3_vtab::default() }))
    }

    fn best_index(&self, info: &mut IndexInfo) -> rusqlite::Result<bool> {
        Ok(crate::oltp::json_sets::plan_with_argument(info, ARRAY_COLUMN))
    }

    fn open(&'vtab mut self) -> rusqlite::Result<UnnestCursor<'vtab>> {
        Ok(UnnestCursor { base: ffi::sqlite3_vtab_cursor::default(), elements: Vec::new(), at: 0, phantom: PhantomData })
    }
}

/// The elements of one array, read whole when SQLite passes it.
#[repr(C)]
struct UnnestCursor<'vtab> {
    /// SQLite's part; must come first.
    base: ffi::sqlite3_vtab_cursor,
    elements: Vec<rusqlite::types::Value>,
    at: usize,
    phantom: PhantomData<&'vtab UnnestTable>,
}

unsafe impl VTabCursor for UnnestCursor<'_> {
    fn filter(&mut self, _idx_num: c_int, _idx_str: Option<&str>, args: &Filters<'_>) -> rusqlite::Result<()> {
        self.at = 0;
        // A NULL array has no rows, as in PostgreSQL.
        self.elements = match args.iter().next() {
            None | Some(rusqlite::types::ValueRef::Null) => Vec::new(),
            Some(value) => crate::oltp::arrays::elements_of(value).map_err(fail)?,
        };
        Ok(())
    }

    fn next(&mut self) -> rusqlite::Result<()> {
        self.at += 1;
        Ok(())
    }

    fn eof(&self) -> bool {
        self.at >= self.elements.len()
    }

    fn column(&self, ctx: &mut Context, i: c_int) -> rusqlite::Result<()> {
        match i {
            0 => ctx.set_result(&self.elements.get(self.at).cloned().unwrap_or(rusqlite::types::Value::Null)),
            _ => ctx.set_result(&(self.at as i64 + 1)),
        }
    }

    fn rowid(&self) -> rusqlite::Result<i64> {
        Ok(self.at as i64 + 1)
    }
}
