//! Functions whose value is the session's, not the data's: `current_user` (and `session_user`,
//! `user`, `current_role`), `current_database()` / `current_catalog`, `current_schema`,
//! `pg_backend_pid()`, `version()` and `current_setting(name [, missing_ok])`. Neither SQLite
//! nor DataFusion knows who is connected (their connections and contexts are shared by every
//! session), so a statement calling one gets the session's value put in as a typed constant
//! before it is routed or translated; the constant then reads the same on either engine.
//! A select item whose call is replaced keeps the name PostgreSQL gives it (`current_user`).
//!
//! A front end that answers lone calls (`SELECT current_user`) from its own catalog keeps doing
//! so; this is for the calls inside queries and writes that read or change tables.

use std::ops::ControlFlow;

use datafusion::sql::sqlparser::ast::{
    CastKind, DataType as SqlType, Expr, FunctionArg, FunctionArgExpr, FunctionArguments, Ident, Query, SelectItem, SetExpr, Statement,
    Value, VisitMut, Visitor, VisitorMut,
};

/// A call whose value is the session's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SessionFunction {
    /// `current_user`, `session_user`, `user`, `current_role` (rhei has no SET ROLE: all one).
    User,
    /// `current_database()`, `current_catalog`.
    Database,
    /// `current_schema`, `current_schema()`: rhei's one schema.
    Schema,
    /// `pg_backend_pid()`.
    BackendPid,
    /// `version()`.
    Version,
    /// `current_setting(name [, missing_ok])` with a literal name and flag.
    Setting { name: String, missing_ok: bool },
}

/// The function both engines have that fails with 42704 for the setting it is given, where a
/// row evaluates it.
pub(crate) const UNDEFINED_SETTING: &str = "rhei_undefined_setting";

/// The value a session gives a call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SessionValue {
    Text(Option<String>),
    Int4(i32),
    /// `current_setting(name)` of a setting the session does not have: an error when a row
    /// evaluates it, as PostgreSQL's (not when the statement is described or a view made).
    UndefinedSetting(String),
}

impl SessionValue {
    fn expr(&self) -> Expr {
        let (value, data_type) = match self {
            SessionValue::Text(Some(text)) => (Value::SingleQuotedString(text.clone()), SqlType::Text),
            SessionValue::Text(None) => (Value::Null, SqlType::Text),
            SessionValue::Int4(n) => (Value::Number(n.to_string(), false), SqlType::Integer(None)),
            SessionValue::UndefinedSetting(name) => {
                return crate::translate::call(UNDEFINED_SETTING, vec![Expr::value(Value::SingleQuotedString(name.clone()))]);
            }
        };
        // Typed, not a bare literal: a literal would be `unknown`, and a constant in ORDER BY
        // means something else.
        Expr::Cast { kind: CastKind::Cast, expr: Box::new(Expr::value(value)), data_type, array: false, format: None }
    }

}

/// Words one of the calls must contain; a statement whose text has none is not walked.
const WORDS: &[&str] = &["user", "role", "current_", "pg_backend_pid", "version"];

/// Whether the text of a statement may call a session function (a cheap test before a walk).
pub(crate) fn may_call(sql: &str) -> bool {
    WORDS.iter().any(|word| crate::naming::mentions(sql, word))
}

/// The session function `expr` calls, if it is one.
fn session_function(expr: &Expr) -> Option<SessionFunction> {
    match expr {
        // Reserved words in PostgreSQL: unquoted, they are the function, never a column.
        Expr::Identifier(ident) if ident.quote_style.is_none() => match ident.value.to_ascii_lowercase().as_str() {
            "current_role" => Some(SessionFunction::User),
            "current_schema" => Some(SessionFunction::Schema),
            _ => None,
        },
        Expr::Function(f) if f.over.is_none() && f.filter.is_none() && f.within_group.is_empty() => {
            let name = crate::translate::builtin_function_name(f)?;
            let args = match &f.args {
                FunctionArguments::None => None,
                FunctionArguments::List(list) if list.duplicate_treatment.is_none() && list.clauses.is_empty() => Some(list.args.as_slice()),
                _ => return None,
            };
            match (name.as_str(), args) {
                ("current_user" | "session_user" | "user", None) => Some(SessionFunction::User),
                ("current_catalog", None) | ("current_database", Some([])) => Some(SessionFunction::Database),
                ("current_schema", Some([])) => Some(SessionFunction::Schema),
                ("pg_backend_pid", Some([])) => Some(SessionFunction::BackendPid),
                ("version", Some([])) => Some(SessionFunction::Version),
                ("current_setting", Some([name])) => Some(SessionFunction::Setting { name: text_argument(name)?, missing_ok: false }),
                ("current_setting", Some([name, missing_ok])) => {
                    Some(SessionFunction::Setting { name: text_argument(name)?, missing_ok: bool_argument(missing_ok)? })
                }
                _ => None,
            }
        }
        _ => None,
    }
}

fn unnamed(arg: &FunctionArg) -> Option<&Expr> {
    match arg {
        FunctionArg::Unnamed(FunctionArgExpr::Expr(expr)) => Some(expr),
        _ => None,
    }
}

fn text_argument(arg: &FunctionArg) -> Option<String> {
    match unnamed(arg)? {
        Expr::Value(v) => match &v.value {
            Value::SingleQuotedString(s) => Some(s.clone()),
            _ => None,
        },
        _ => None,
    }
}

fn bool_argument(arg: &FunctionArg) -> Option<bool> {
    match unnamed(arg)? {
        Expr::Value(v) => match &v.value {
            Value::Boolean(b) => Some(*b),
            _ => None,
        },
        _ => None,
    }
}

/// Whether `node` (a statement, a query, an expression) calls a session function anywhere
/// inside it: a walk without a copy.
pub(crate) fn calls<T: datafusion::sql::sqlparser::ast::Visit>(node: &T) -> bool {
    struct Finds;
    impl Visitor for Finds {
        type Break = ();
        fn pre_visit_expr(&mut self, expr: &Expr) -> ControlFlow<()> {
            if session_function(expr).is_some() { ControlFlow::Break(()) } else { ControlFlow::Continue(()) }
        }
    }
    node.visit(&mut Finds).is_break()
}

/// Puts the session's values in for the session functions `statement` calls, asking `answer`
/// for each (a value, never an error: an unknown setting fails where a row reads it). Returns
/// the values put in, in order (for a cache key naming them), or `None` when it calls none.
pub(crate) fn put_in(statement: &mut Statement, answer: &mut dyn FnMut(&SessionFunction) -> SessionValue) -> Option<String> {
    if !calls(statement) {
        return None;
    }
    let mut put = PutIn { answer, key: String::new() };
    let _ = statement.visit(&mut put);
    Some(put.key)
}

struct PutIn<'a> {
    answer: &'a mut dyn FnMut(&SessionFunction) -> SessionValue,
    key: String,
}

impl VisitorMut for PutIn<'_> {
    type Break = ();

    fn pre_visit_query(&mut self, query: &mut Query) -> ControlFlow<()> {
        name_items_of(query.body.as_mut());
        ControlFlow::Continue(())
    }

    fn pre_visit_statement(&mut self, statement: &mut Statement) -> ControlFlow<()> {
        let returning = match statement {
            Statement::Insert(insert) => insert.returning.as_mut(),
            Statement::Update(update) => update.returning.as_mut(),
            Statement::Delete(delete) => delete.returning.as_mut(),
            _ => None,
        };
        if let Some(items) = returning {
            name_items(items);
        }
        ControlFlow::Continue(())
    }

    fn post_visit_expr(&mut self, expr: &mut Expr) -> ControlFlow<()> {
        if let Some(function) = session_function(expr) {
            let value = (self.answer)(&function);
            // Debug quotes and escapes text: two different lists of values never read alike.
            self.key.push_str(&format!("{value:?};"));
            *expr = value.expr();
        }
        ControlFlow::Continue(())
    }
}

/// Gives the select items of a query body that call a session function the name PostgreSQL
/// gives them, which the constant put in their place would lose.
fn name_items_of(body: &mut SetExpr) {
    match body {
        SetExpr::Select(select) => name_items(&mut select.projection),
        SetExpr::SetOperation { left, right, .. } => {
            name_items_of(left);
            name_items_of(right);
        }
        _ => {}
    }
}

fn name_items(items: &mut [SelectItem]) {
    for item in items {
        if let SelectItem::UnnamedExpr(expr) = item
            && calls(expr)
        {
            let alias = Ident::with_quote('"', crate::naming::expr_name(expr));
            let expr = std::mem::replace(expr, Expr::value(Value::Null));
            *item = SelectItem::ExprWithAlias { expr, alias };
        }
    }
}

#[cfg(test)]
mod tests {
    use datafusion::sql::sqlparser::dialect::PostgreSqlDialect;
    use datafusion::sql::sqlparser::parser::Parser;

    use super::*;

    fn put(sql: &str) -> (String, Option<String>) {
        let mut statement = Parser::parse_sql(&PostgreSqlDialect {}, sql).unwrap().pop().unwrap();
        let key = put_in(&mut statement, &mut |f| match f {
            SessionFunction::User => SessionValue::Text(Some("alice".into())),
            SessionFunction::Database => SessionValue::Text(Some("shop".into())),
            SessionFunction::Schema => SessionValue::Text(Some("public".into())),
            SessionFunction::BackendPid => SessionValue::Int4(42),
            SessionFunction::Version => SessionValue::Text(Some("PostgreSQL 15.0".into())),
            SessionFunction::Setting { name, missing_ok } if name == "TimeZone" || !missing_ok => SessionValue::Text(Some("UTC".into())),
            SessionFunction::Setting { .. } => SessionValue::Text(None),
        });
        (statement.to_string(), key)
    }

    #[test]
    fn calls_become_named_constants() {
        assert_eq!(
            put("SELECT current_user, count(*) FROM t WHERE owner = session_user").0,
            "SELECT CAST('alice' AS TEXT) AS \"current_user\", count(*) FROM t WHERE owner = CAST('alice' AS TEXT)"
        );
        assert_eq!(
            put("SELECT upper(user), pg_catalog.pg_backend_pid() FROM t").0,
            "SELECT upper(CAST('alice' AS TEXT)) AS \"upper\", CAST(42 AS INTEGER) AS \"pg_backend_pid\" FROM t"
        );
        assert_eq!(put("SELECT current_schema, current_role FROM t").0, "SELECT CAST('public' AS TEXT) AS \"current_schema\", CAST('alice' AS TEXT) AS \"current_role\" FROM t");
        assert_eq!(
            put("INSERT INTO log (who, db) VALUES (current_user, current_database()) RETURNING current_catalog").0,
            "INSERT INTO log (who, db) VALUES (CAST('alice' AS TEXT), CAST('shop' AS TEXT)) RETURNING CAST('shop' AS TEXT) AS \"current_catalog\""
        );
        assert_eq!(put("SELECT current_setting('x.y', true) AS s FROM t").0, "SELECT CAST(NULL AS TEXT) AS s FROM t");
    }

    #[test]
    fn the_key_names_each_value() {
        assert_eq!(put("SELECT current_user, pg_backend_pid() FROM t").1.as_deref(), Some("Text(Some(\"alice\"));Int4(42);"));
        assert_eq!(put("SELECT id FROM users").1, None);
    }

    #[test]
    fn columns_and_other_calls_are_left_alone() {
        for sql in [
            "SELECT \"current_role\", \"current_schema\" FROM t",
            "SELECT t.current_schema FROM t",
            "SELECT current_setting(name) FROM t",
            "SELECT version(1) FROM t",
            "SELECT myschema.version() FROM t",
        ] {
            assert_eq!(put(sql), (sql.to_string(), None), "{sql}");
        }
    }
}
