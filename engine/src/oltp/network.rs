//! The functions of the network types (`inet`, `cidr`) on SQLite, under the names the
//! translation gives them: each one `crate::network::NetFunction`, which DataFusion's
//! `olap::network` calls too.

use rusqlite::functions::{Context, FunctionFlags};
use rusqlite::types::{Value, ValueRef};
use rusqlite::Connection;

use crate::network::{NetArg, NetFunction, NetValue};
use crate::oltp::functions::fail;

fn arg<'a>(ctx: &'a Context<'_>, i: usize) -> NetArg<'a> {
    match ctx.get_raw(i) {
        ValueRef::Null => NetArg::Null,
        ValueRef::Integer(n) => NetArg::Int(n),
        ValueRef::Real(f) => NetArg::Float(f),
        ValueRef::Text(t) | ValueRef::Blob(t) => std::str::from_utf8(t).map_or(NetArg::Null, NetArg::Text),
    }
}

/// Registers the functions on a connection.
///
/// # Errors
/// SQLite refuses a registration.
pub fn register(conn: &Connection, pure: FunctionFlags) -> rusqlite::Result<()> {
    for &(name, function, arity) in NetFunction::ALL {
        conn.create_scalar_function(name, arity as i32, pure, move |ctx| {
            let args: Vec<NetArg<'_>> = (0..ctx.len()).map(|i| arg(ctx, i)).collect();
            Ok(match function.call(&args).map_err(fail)? {
                NetValue::Null => Value::Null,
                NetValue::Text(t) => Value::Text(t),
                NetValue::Int(n) => Value::Integer(n),
                NetValue::Bool(b) => Value::Integer(i64::from(b)),
            })
        })?;
    }
    Ok(())
}
