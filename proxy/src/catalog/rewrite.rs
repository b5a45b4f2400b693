//! Which statements are catalog queries, and the rewrites that turn the PostgreSQL-only syntax
//! psql and drivers put in them into SQL DataFusion plans:
//!
//! - `pg_catalog.f(...)` calls lose the schema; unqualified `pg_class` gains it.
//! - `a OPERATOR(pg_catalog.~) b` becomes `a ~ b` (likewise for the other operators).
//! - `x COLLATE pg_catalog.default` becomes `x` (rhei compares text bytewise, like `C`).
//! - reg* values are OIDs: `'t'::regclass`, `'int4'::regtype`, `'public'::regnamespace`
//!   become the OID literal, resolved here (an unknown name is the error PostgreSQL gives),
//!   `$1::regclass` becomes `regclassin($1)`, and `c.oid::regclass` is `c.oid`. Where the value
//!   is shown (a `::text` cast, or a column of the result) it goes through the type's output
//!   function (`regclassout(c.oid)`), which prints the name as PostgreSQL does.
//! - `::oid` becomes `::bigint`; `::name`, `::"char"`, `::pg_node_tree` become `::text`.
//! - Subqueries are reshaped for DataFusion's decorrelation ([`subquery`]).
//! - `'{0}'` compared with an array-typed catalog column becomes an array literal (PostgreSQL
//!   types the untyped literal from the column).
//! - Unaliased computed select items are named as PostgreSQL names them (`format_type`), so
//!   outer queries can refer to them and DataFusion accepts repeated names (`NULL, NULL`).

use std::collections::HashSet;
use std::ops::ControlFlow;

use datafusion::sql::sqlparser::ast::{AccessExpr, ArrayElemTypeDef};
use datafusion::sql::sqlparser::ast::{
    BinaryOperator, CastKind, DataType as SqlType, Expr, FunctionArg, FunctionArgExpr,
    FunctionArguments, Ident, ObjectName, ObjectNamePart, Query, Select, SelectItem, SetExpr, Statement, TableFactor,
    Value, ValueWithSpan, Visit, VisitMut, Visitor, VisitorMut, visit_expressions_mut,
};
use rhei_engine::EngineError;
use rhei_engine::catalog::{Catalog, normalize_ident};
use rhei_engine::naming::expr_name;
use rhei_engine::translate::call;

use crate::catalog::functions::{self, relation_oid};
use crate::catalog::model::{Model, namespace_name};
use crate::catalog::oids;
use crate::catalog::subquery;
use crate::catalog::tables::{self, Namespace, SYSTEM_TABLES, system_table};

fn parts(name: &ObjectName) -> Vec<String> {
    name.0
        .iter()
        .map(|p| match p {
            ObjectNamePart::Identifier(ident) => normalize_ident(ident),
            other => other.to_string(),
        })
        .collect()
}

/// What a relation name in a FROM clause refers to.
#[derive(Debug, PartialEq, Eq)]
enum Target {
    User,
    System,
    Other,
}

fn classify_relation(parts: &[String], catalog: &Catalog) -> Target {
    let (schema, table) = match parts {
        [table] => (None, table.as_str()),
        [schema, table] | [_, schema, table] => (Some(schema.as_str()), table.as_str()),
        _ => return Target::Other,
    };
    match schema {
        None if catalog.get(table).is_some() || catalog.view(table).is_some() => Target::User,
        None if system_table(Namespace::PgCatalog, table).is_some() => Target::System,
        Some("public") if catalog.get(table).is_some() || catalog.view(table).is_some() => Target::User,
        Some("pg_catalog" | "information_schema") => Target::System,
        _ => Target::Other,
    }
}

/// Looks for catalog relations, catalog functions and user tables.
struct Finder<'a> {
    catalog: &'a Catalog,
    uses_catalog: bool,
    uses_user_table: bool,
    /// Calls nextval, currval, setval or lastval, which only the engine's writer runs (their
    /// argument is often `'s'::regclass`, which alone would look like a catalog query).
    uses_sequences: bool,
}

impl Visitor for Finder<'_> {
    type Break = ();

    fn pre_visit_table_factor(&mut self, factor: &TableFactor) -> ControlFlow<()> {
        match factor {
            TableFactor::Table { name, args: None, .. } => match classify_relation(&parts(name), self.catalog) {
                Target::User => self.uses_user_table = true,
                Target::System => self.uses_catalog = true,
                Target::Other => {}
            },
            // A set-returning catalog function in FROM (`pg_catalog.pg_get_keywords()`); the
            // session's channels are the engine's to list.
            TableFactor::Table { name, args: Some(_), .. } => {
                if matches!(parts(name).as_slice(), [schema, function] if schema == "pg_catalog" && function != "pg_listening_channels")
                    || parts(name).last().is_some_and(|n| n == "pg_get_keywords")
                {
                    self.uses_catalog = true;
                }
            }
            _ => {}
        }
        ControlFlow::Continue(())
    }

    fn pre_visit_expr(&mut self, expr: &Expr) -> ControlFlow<()> {
        if let Expr::Cast { data_type, .. } = expr
            && custom_type(data_type).is_some_and(|t| t.starts_with("reg"))
        {
            self.uses_catalog = true;
        }
        if let Expr::Function(f) = expr {
            let name = parts(&f.name);
            let is_catalog_function = match name.as_slice() {
                [schema, _] if schema == "pg_catalog" => true,
                [function] => functions::names().any(|n| n == function),
                _ => false,
            };
            self.uses_catalog |= is_catalog_function;
            self.uses_sequences |= name.last().is_some_and(|n| matches!(n.as_str(), "nextval" | "currval" | "setval" | "lastval"));
        }
        ControlFlow::Continue(())
    }
}

/// Whether a statement is a query the catalog answers: it reads a `pg_catalog` or
/// `information_schema` relation or calls one of the catalog functions, and reads no user
/// table (a user table named like a catalog, `pg_class` say, shadows it as in `public` first).
pub fn is_catalog_query(stmt: &Statement, catalog: &Catalog) -> bool {
    // A WITH query that writes names its table where a read's would not be looked for.
    let Statement::Query(query) = stmt else { return false };
    if rhei_engine::translate::writing_with::writes(query) {
        return false;
    }
    let mut finder = Finder { catalog, uses_catalog: false, uses_user_table: false, uses_sequences: false };
    let _ = Visit::visit(stmt, &mut finder);
    finder.uses_catalog && !finder.uses_user_table && !finder.uses_sequences
}

/// Rewrites a catalog query in place for DataFusion (see the module doc).
///
/// # Errors
/// `'x'::regclass` naming no relation (42P01), `'x'::regtype` no type (42704).
pub fn rewrite(stmt: &mut Statement, model: &Model) -> Result<(), EngineError> {
    let array_columns: HashSet<&'static str> = SYSTEM_TABLES
        .iter()
        .flat_map(|t| t.columns.iter())
        .filter(|(_, col)| matches!(col.arrow_type(), arrow::datatypes::DataType::List(_)))
        .map(|(name, _)| *name)
        .collect();
    let mut rewriter = Rewriter { model, array_columns, subqueries: 0, depth: 0 };
    if let ControlFlow::Break(e) = VisitMut::visit(stmt, &mut rewriter) {
        return Err(e);
    }
    // What is left of `x::regclass` (x an OID-valued expression) is x, as an integer.
    let _ = visit_expressions_mut(stmt, |e| {
        if let Expr::Cast { data_type, expr: inner, kind, .. } = e
            && reg_type(data_type).is_some()
        {
            *e = cast(kind, std::mem::replace(inner.as_mut(), Expr::value(Value::Null)), SqlType::BigInt(None));
        }
        ControlFlow::<()>::Continue(())
    });
    Ok(())
}

struct Rewriter<'a> {
    model: &'a Model,
    array_columns: HashSet<&'static str>,
    /// Subqueries reshaped so far, for naming their results apart.
    subqueries: usize,
    /// How many queries enclose the node being visited (0 outside the statement's own).
    depth: usize,
}

impl VisitorMut for Rewriter<'_> {
    type Break = EngineError;

    fn pre_visit_table_factor(&mut self, factor: &mut TableFactor) -> ControlFlow<EngineError> {
        if let TableFactor::Table { name, args, .. } = factor {
            let parts = parts(name);
            let qualified: Option<Vec<String>> = match (parts.as_slice(), args.is_some()) {
                // Table functions (`pg_catalog.unnest(...)`) are DataFusion's own.
                ([schema, function], true) if schema == "pg_catalog" => Some(vec![function.clone()]),
                ([table], false) if system_table(Namespace::PgCatalog, table).is_some() => {
                    Some(vec!["pg_catalog".into(), table.clone()])
                }
                ([_, schema, table], false) => Some(vec![schema.clone(), table.clone()]),
                _ => None,
            };
            if let Some(qualified) = qualified {
                *name = ObjectName::from(qualified.into_iter().map(Ident::new).collect::<Vec<_>>());
            }
            // DataFusion's generate_series wants bigint bounds; PostgreSQL's accepts integer
            // expressions (`generate_series(1, array_upper(current_schemas(false), 1))`).
            if self::parts(name).last().is_some_and(|n| n == "generate_series")
                && let Some(table_args) = args
            {
                for arg in &mut table_args.args {
                    if let FunctionArg::Unnamed(FunctionArgExpr::Expr(e)) = arg {
                        let inner = std::mem::replace(e, Expr::value(Value::Null));
                        *e = cast(&CastKind::Cast, inner, SqlType::BigInt(None));
                    }
                }
            }
        }
        ControlFlow::Continue(())
    }

    fn pre_visit_expr(&mut self, expr: &mut Expr) -> ControlFlow<EngineError> {
        // `x::regclass::text` is the name regclass prints, not the OID: the text cast becomes
        // the output function, before the inner cast is rewritten to an OID.
        if let Expr::Cast { expr: inner, data_type, .. } = expr
            && is_text_type(data_type)
            && let Expr::Cast { data_type: reg, .. } = inner.as_ref()
            && let Some(reg) = reg_type(reg)
        {
            *expr = reg_output(&reg, std::mem::replace(inner.as_mut(), Expr::value(Value::Null)));
        }
        ControlFlow::Continue(())
    }

    fn post_visit_expr(&mut self, expr: &mut Expr) -> ControlFlow<EngineError> {
        match self.rewrite_expr(expr) {
            Ok(Some(replacement)) => {
                *expr = replacement;
                ControlFlow::Continue(())
            }
            Ok(None) => ControlFlow::Continue(()),
            Err(e) => ControlFlow::Break(e),
        }
    }

    fn pre_visit_query(&mut self, query: &mut Query) -> ControlFlow<EngineError> {
        // asyncpg's type introspection is a recursive CTE with a column list.
        rhei_engine::translate::olap::recursive_cte_columns(query);
        // Named before their expressions are rewritten, so `c.oid::regclass` is still `oid`.
        for_each_select(query.body.as_mut(), &mut name_select_items);
        // Before the subqueries in those branches are visited, which could not be planned.
        let model = self.model;
        for_each_select(query.body.as_mut(), &mut |select| subquery::prune_impossible_branches(select, model));
        if self.depth == 0 {
            // What the client sees of a reg* value is its name, as PostgreSQL's output
            // function prints it; inside the query it is the OID.
            for_each_select(query.body.as_mut(), &mut |select| {
                for item in &mut select.projection {
                    if let SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. } = item
                        && let Expr::Cast { data_type, .. } = e
                        && let Some(reg) = reg_type(data_type)
                    {
                        *e = reg_output(&reg, std::mem::replace(e, Expr::value(Value::Null)));
                    }
                }
            });
        }
        self.depth += 1;
        ControlFlow::Continue(())
    }

    fn post_visit_query(&mut self, query: &mut Query) -> ControlFlow<EngineError> {
        self.depth -= 1;
        let model = self.model;
        let subqueries = &mut self.subqueries;
        for_each_select(query.body.as_mut(), &mut |select| {
            subquery::drop_unevaluated(select, model);
            for item in &mut select.projection {
                if let SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. } = item {
                    let _ = visit_expressions_mut(e, |e| {
                        if let Expr::Exists { subquery, negated } = e
                            && let Some(count) = subquery::exists_as_max(subquery, *negated, subqueries)
                        {
                            *e = count;
                        }
                        ControlFlow::<()>::Continue(())
                    });
                }
            }
        });
        ControlFlow::Continue(())
    }
}

impl Rewriter<'_> {
    /// The OID a name stands for as a reg* literal (`'t'::regclass`), or PostgreSQL's error.
    fn reg_input(&self, reg: &str, name: String) -> Result<i64, EngineError> {
        match reg {
            "regclass" => relation_oid(self.model, &name).ok_or(EngineError::UndefinedTable { name }),
            "regtype" => oids::type_oid_by_name(&name)
                .or_else(|| self.model.enum_by_name(&name).map(|e| oids::enum_oid(e.def().id)))
                .ok_or(EngineError::UndefinedType { name }),
            "regnamespace" => [oids::PG_CATALOG_NAMESPACE, oids::PUBLIC_NAMESPACE, oids::INFORMATION_SCHEMA_NAMESPACE]
                .into_iter()
                .find(|ns| namespace_name(*ns) == Some(name.as_str()))
                .ok_or(EngineError::InvalidTextRepresentation { type_name: reg.into(), value: name }),
            "regrole" if name == self.model.conn.user => Ok(oids::SUPERUSER_ROLE),
            "regproc" | "regprocedure" => oids::BUILTIN_FUNCTIONS
                .iter()
                .find(|f| f.1 == name.trim_start_matches("pg_catalog."))
                .map(|f| f.0)
                .ok_or(EngineError::UndefinedFunction { name }),
            _ => Err(EngineError::InvalidTextRepresentation { type_name: reg.into(), value: name }),
        }
    }

    /// The replacement for one expression (its children already rewritten), if it needs one.
    fn rewrite_expr(&mut self, expr: &mut Expr) -> Result<Option<Expr>, EngineError> {
        Ok(match expr {
            Expr::Collate { expr: inner, .. } => Some(std::mem::replace(inner.as_mut(), Expr::value(Value::Null))),
            Expr::Function(f) => {
                if let [schema, function] = parts(&f.name).as_slice()
                    && schema == "pg_catalog"
                {
                    f.name = ObjectName::from(vec![Ident::new(function.clone())]);
                }
                // `information_schema._pg_expandarray(a)` (pgjdbc's getPrimaryKeys and
                // getIndexInfo) returns a set of `(x, n)` records: an unnest of their list,
                // which DataFusion runs in step with other unnests as PostgreSQL runs SRFs.
                if matches!(parts(&f.name).as_slice(), [schema, name] if schema == "information_schema" && name == "_pg_expandarray")
                    || matches!(parts(&f.name).as_slice(), [name] if name == "_pg_expandarray")
                {
                    let mut inner = f.clone();
                    inner.name = ObjectName::from(vec![Ident::new("pg_expandarray")]);
                    return Ok(Some(call("unnest", vec![Expr::Function(inner)])));
                }
                match (&f.args, parts(&f.name).as_slice()) {
                    (FunctionArguments::Subquery(query), [name]) if name == "array" => {
                        let array = subquery::array_of(query)?;
                        match &array {
                            Expr::Subquery(query) => {
                                Some(subquery::decorrelate(query, &mut self.subqueries).unwrap_or(array))
                            }
                            _ => Some(array),
                        }
                    }
                    (FunctionArguments::List(list), [name]) if name == "generate_subscripts" => {
                        let args: Vec<&Expr> = list
                            .args
                            .iter()
                            .filter_map(|a| match a {
                                FunctionArg::Unnamed(FunctionArgExpr::Expr(e)) => Some(e),
                                _ => None,
                            })
                            .collect();
                        match args.as_slice() {
                            [array, dim] => Some(generate_subscripts(array, dim)?),
                            _ => None,
                        }
                    }
                    _ => None,
                }
            }
            Expr::BinaryOp { left, op, right } => {
                if let BinaryOperator::PGCustomBinaryOperator(name) = op
                    && let Some(plain) = name.last().and_then(|o| plain_operator(o))
                {
                    *op = plain;
                }
                if matches!(op, BinaryOperator::Eq | BinaryOperator::NotEq) {
                    self.type_array_literal(left, right);
                    self.type_array_literal(right, left);
                }
                None
            }
            Expr::Cast { kind, expr: inner, data_type, .. } => self.rewrite_cast(kind, inner.as_mut(), data_type)?,
            // `x <> ALL (array)` (DataFusion takes ALL with subqueries only): `x` is in none.
            Expr::AllOp { left, compare_op: BinaryOperator::NotEq, right, .. } if !matches!(right.as_ref(), Expr::Subquery(_)) => {
                let array = std::mem::replace(right.as_mut(), Expr::value(Value::Null));
                let item = std::mem::replace(left.as_mut(), Expr::value(Value::Null));
                Some(Expr::UnaryOp {
                    op: datafusion::sql::sqlparser::ast::UnaryOperator::Not,
                    expr: Box::new(call("array_has", vec![array, item])),
                })
            }
            // `(record).field` as DataFusion's `get_field(record, 'field')`.
            Expr::CompoundFieldAccess { root, access_chain }
                if access_chain.iter().all(|a| matches!(a, AccessExpr::Dot(Expr::Identifier(_)))) =>
            {
                let mut out = root.as_ref().clone();
                for access in access_chain.iter() {
                    if let AccessExpr::Dot(Expr::Identifier(field)) = access {
                        out = call("get_field", vec![out, Expr::value(Value::SingleQuotedString(normalize_ident(field)))]);
                    }
                }
                Some(out)
            }
            Expr::Subquery(query) if subquery::is_empty_scalar(query, self.model) => Some(Expr::value(Value::Null)),
            Expr::Subquery(query) => subquery::decorrelate(query, &mut self.subqueries),
            _ => None,
        })
    }

    /// `'{1,2}'` compared with an array-typed catalog column becomes `make_array(1, 2)`.
    fn type_array_literal(&self, literal: &mut Expr, other: &Expr) {
        let column = match other {
            Expr::Identifier(ident) => normalize_ident(ident),
            Expr::CompoundIdentifier(idents) => idents.last().map(normalize_ident).unwrap_or_default(),
            _ => return,
        };
        if !self.array_columns.contains(column.as_str()) {
            return;
        }
        let Some(elements) = string_literal(literal)
            .and_then(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')).map(str::to_string))
        else {
            return;
        };
        let args = elements
            .split(',')
            .map(str::trim)
            .filter(|e| !e.is_empty())
            .map(|e| {
                if e.parse::<i64>().is_ok() {
                    Expr::value(Value::Number(e.to_string(), false))
                } else {
                    Expr::value(Value::SingleQuotedString(e.trim_matches('"').to_string()))
                }
            })
            .collect();
        *literal = call("make_array", args);
    }

    fn rewrite_cast(
        &self,
        kind: &CastKind,
        inner: &mut Expr,
        data_type: &mut SqlType,
    ) -> Result<Option<Expr>, EngineError> {
        if let SqlType::Array(ArrayElemTypeDef::SquareBracket(elem, _) | ArrayElemTypeDef::AngleBracket(elem)) =
            data_type
            && let Some(mapped) = custom_type(elem).and_then(|name| plain_type(&name))
        {
            **elem = mapped;
            return Ok(None);
        }
        let take = |inner: &mut Expr| std::mem::replace(inner, Expr::value(Value::Null));
        // An int2vector or oidvector as text is its numbers space-separated (`indkey::text`),
        // not the list DataFusion prints (`[1, 2]`).
        let column = match &*inner {
            Expr::Identifier(ident) => Some(normalize_ident(ident)),
            Expr::CompoundIdentifier(parts) => parts.last().map(normalize_ident),
            _ => None,
        };
        if is_text_type(data_type) && column.is_some_and(|c| tables::vector_columns().contains(c.as_str())) {
            return Ok(Some(call("array_to_string", vec![take(inner), Expr::value(Value::SingleQuotedString(" ".into()))])));
        }
        let Some(type_name) = custom_type(data_type) else { return Ok(None) };
        let literal = string_literal(inner).map(str::to_string);
        let number = match &*inner {
            Expr::Value(ValueWithSpan { value: Value::Number(n, _), .. }) => n.parse::<i64>().ok(),
            _ => literal.as_deref().and_then(|s| s.trim().parse::<i64>().ok()),
        };
        let oid_literal = |oid: i64| Some(Expr::value(Value::Number(oid.to_string(), false)));
        let is_placeholder = matches!(&*inner, Expr::Value(ValueWithSpan { value: Value::Placeholder(_), .. }));
        Ok(match type_name.as_str() {
            reg if reg_type(data_type).is_some() => match (number, literal) {
                (Some(oid), _) => oid_literal(oid),
                // regproc columns (`pg_type.typinput`, ...) hold function names here, so a
                // regproc literal is the bare name (`'pg_catalog.array_in'::regproc`, which
                // pgjdbc compares `typinput` with).
                (None, Some(name)) if reg == "regproc" => {
                    let bare = name.trim().trim_start_matches("pg_catalog.").to_string();
                    Some(Expr::value(Value::SingleQuotedString(bare)))
                }
                (None, Some(name)) => oid_literal(self.reg_input(reg, name)?),
                (None, None) if (is_placeholder || is_text_valued(inner)) && matches!(reg, "regclass" | "regtype") => {
                    Some(call(&format!("{reg}in"), vec![take(inner)]))
                }
                // An OID-valued expression: left for the output rule or the final pass.
                (None, None) => None,
            },
            other => plain_type(other).map(|ty| cast(kind, take(inner), ty)),
        })
    }
}

/// The name of a type PostgreSQL spells as an identifier (`oid`, `pg_catalog.text`), lower case
/// and without `pg_catalog`.
fn custom_type(ty: &SqlType) -> Option<String> {
    if matches!(ty, SqlType::Regclass) {
        return Some("regclass".into());
    }
    let SqlType::Custom(name, modifiers) = ty else { return None };
    if !modifiers.is_empty() {
        return None;
    }
    match parts(name).as_slice() {
        [schema, name] if schema == "pg_catalog" => Some(name.clone()),
        [name] => Some(name.clone()),
        _ => None,
    }
}

/// `generate_subscripts(a, dim)` (SQLAlchemy pairs it with `unnest(a)` to number key columns)
/// as `unnest` of `1..=cardinality(a)`, which DataFusion runs in step with the other `unnest`s
/// of the select list as PostgreSQL does. Catalog arrays are one-dimensional: any other `dim`
/// has no subscripts.
fn generate_subscripts(array: &Expr, dim: &Expr) -> Result<Expr, EngineError> {
    let sql = format!("unnest(CASE WHEN {dim} = 1 THEN range(1, CAST(cardinality({array}) AS BIGINT) + 1) END)");
    datafusion::sql::sqlparser::parser::Parser::new(&datafusion::sql::sqlparser::dialect::PostgreSqlDialect {})
        .try_with_sql(&sql)
        .and_then(|mut parser| parser.parse_expr())
        .map_err(|e| EngineError::Internal(format!("rewriting generate_subscripts: {e}")))
}

/// The reg* type (`regclass`, `regtype`, ...) a cast is to, if it is to one.
/// Whether an expression certainly gives text (so a reg* cast of it reads a name, not an OID):
/// text functions, concatenations and text casts.
fn is_text_valued(expr: &Expr) -> bool {
    match expr {
        Expr::Function(f) => matches!(
            parts(&f.name).last().map(String::as_str),
            Some("format" | "concat" | "concat_ws" | "quote_ident" | "lower" | "upper" | "trim" | "btrim" | "replace")
        ),
        Expr::BinaryOp { op: BinaryOperator::StringConcat, .. } => true,
        Expr::Cast { data_type, .. } => is_text_type(data_type),
        Expr::Nested(inner) => is_text_valued(inner),
        _ => false,
    }
}

fn reg_type(ty: &SqlType) -> Option<String> {
    custom_type(ty).filter(|t| {
        matches!(t.as_str(), "regclass" | "regtype" | "regnamespace" | "regrole" | "regproc" | "regprocedure")
    })
}

/// PostgreSQL's output function of a reg* type, applied to an OID-valued expression.
fn reg_output(reg: &str, oid: Expr) -> Expr {
    match reg {
        "regclass" => call("regclassout", vec![oid]),
        "regtype" => call("format_type", vec![oid, Expr::value(Value::Null)]),
        "regnamespace" => call("regnamespaceout", vec![oid]),
        "regrole" => call("pg_get_userbyid", vec![oid]),
        _ => call("regprocout", vec![oid]),
    }
}

fn is_text_type(ty: &SqlType) -> bool {
    matches!(ty, SqlType::Text | SqlType::Varchar(_))
        || custom_type(ty).is_some_and(|t| matches!(t.as_str(), "text" | "name" | "varchar"))
}

/// The SQL type DataFusion knows for a catalog type name.
fn plain_type(name: &str) -> Option<SqlType> {
    Some(match name {
        "oid" | "xid" | "int8" | "regoper" | "regoperator" | "regconfig" | "regdictionary" | "regcollation" => {
            SqlType::BigInt(None)
        }
        "int4" => SqlType::Int(None),
        "int2" => SqlType::SmallInt(None),
        "float4" => SqlType::Real,
        "float8" => SqlType::DoublePrecision,
        "bool" => SqlType::Boolean,
        "text" | "name" | "char" | "bpchar" | "varchar" | "pg_node_tree" | "aclitem" | "cstring" | "unknown"
        | "int2vector" | "oidvector" | "anyarray" => SqlType::Text,
        _ => return None,
    })
}

fn cast(kind: &CastKind, expr: Expr, data_type: SqlType) -> Expr {
    Expr::Cast { kind: kind.clone(), expr: Box::new(expr), data_type, array: false, format: None }
}

fn string_literal(expr: &Expr) -> Option<&str> {
    match expr {
        Expr::Value(ValueWithSpan {
            value: Value::SingleQuotedString(s) | Value::EscapedStringLiteral(s) | Value::DoubleQuotedString(s),
            ..
        }) => Some(s),
        _ => None,
    }
}

/// The operator `OPERATOR(pg_catalog.<op>)` stands for.
fn plain_operator(op: &str) -> Option<BinaryOperator> {
    Some(match op {
        "~" => BinaryOperator::PGRegexMatch,
        "~*" => BinaryOperator::PGRegexIMatch,
        "!~" => BinaryOperator::PGRegexNotMatch,
        "!~*" => BinaryOperator::PGRegexNotIMatch,
        "=" => BinaryOperator::Eq,
        "<>" | "!=" => BinaryOperator::NotEq,
        "<" => BinaryOperator::Lt,
        "<=" => BinaryOperator::LtEq,
        ">" => BinaryOperator::Gt,
        ">=" => BinaryOperator::GtEq,
        "||" => BinaryOperator::StringConcat,
        "+" => BinaryOperator::Plus,
        "-" => BinaryOperator::Minus,
        "*" => BinaryOperator::Multiply,
        "/" => BinaryOperator::Divide,
        "%" => BinaryOperator::Modulo,
        _ => return None,
    })
}

/// Calls `f` on each select of a query body (both sides of set operations).
fn for_each_select<F: FnMut(&mut Select)>(body: &mut SetExpr, f: &mut F) {
    match body {
        SetExpr::Select(select) => f(select),
        SetExpr::SetOperation { left, right, .. } => {
            for_each_select(left, f);
            for_each_select(right, f);
        }
        _ => {}
    }
}

/// Names unaliased computed select items as PostgreSQL does, so outer queries can refer to
/// them. A name that repeats an earlier item's or a column of the select's own relations gets a
/// suffix: DataFusion rejects repeated names and mistakes such an alias for the column when
/// sorting (the final result columns are renamed to PostgreSQL's names anyway).
fn name_select_items(select: &mut Select) {
    let columns = subquery::Scope::of(select).into_columns();
    let mut taken: HashSet<String> = HashSet::new();
    for item in &mut select.projection {
        let (expr, name) = match item {
            SelectItem::UnnamedExpr(e @ (Expr::Identifier(_) | Expr::CompoundIdentifier(_))) => {
                taken.insert(expr_name(e));
                continue;
            }
            SelectItem::ExprWithAlias { alias, .. } => {
                taken.insert(normalize_ident(alias));
                continue;
            }
            SelectItem::UnnamedExpr(e) => (e.clone(), expr_name(e)),
            SelectItem::Wildcard(_) | SelectItem::QualifiedWildcard(..) => continue,
        };
        let mut unique = name.clone();
        let mut n = 1;
        while columns.contains(&unique) || !taken.insert(unique.clone()) {
            n += 1;
            unique = format!("{name}_{n}");
        }
        *item = SelectItem::ExprWithAlias { expr, alias: Ident::with_quote('"', unique) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::model::ConnectionInfo;
    use datafusion::sql::sqlparser::{dialect::PostgreSqlDialect, parser::Parser};
    use rhei_engine::catalog::{ColumnDef, PgType, TableDef, TableId};

    fn catalog() -> Catalog {
        Catalog::from_tables([TableDef {
            id: TableId(1),
            name: "t".into(),
            columns: vec![ColumnDef {
                name: "id".into(),
                ty: PgType::Int4,
                not_null: true,
                is_serial: false,
                default_sql: None,
            }],
            primary_key: vec![0],
            unique: Vec::new(),
            replica: None,
            ..Default::default()
        }])
    }

    fn parse(sql: &str) -> Statement {
        Parser::parse_sql(&PostgreSqlDialect {}, sql).unwrap().remove(0)
    }

    fn rewritten(sql: &str) -> String {
        let catalog = catalog();
        let model = Model::new(&catalog, ConnectionInfo { user: "u".into(), database: "d".into(), pid: 1 }, Vec::new());
        let mut stmt = parse(sql);
        rewrite(&mut stmt, &model).unwrap();
        stmt.to_string()
    }

    #[test]
    fn catalog_queries_are_recognized_and_user_queries_are_not() {
        let catalog = catalog();
        let is = |sql: &str| is_catalog_query(&parse(sql), &catalog);
        assert!(is("SELECT relname FROM pg_catalog.pg_class"));
        assert!(is("SELECT * FROM pg_type"));
        assert!(is("SELECT table_name FROM information_schema.tables"));
        assert!(is("SELECT version()"));
        assert!(is("SELECT 't'::regclass::oid"));
        assert!(is("SELECT current_user"));
        assert!(is("SELECT pg_catalog.current_setting('TimeZone')"));
        assert!(!is("SELECT * FROM t"));
        assert!(!is("SELECT version() FROM t"));
        assert!(!is("SELECT c.relname FROM pg_class c JOIN t ON t.id = c.oid"));
        assert!(!is("SELECT 1"));
        assert!(!is("SELECT now()"));
        assert!(!is("INSERT INTO t VALUES (1)"));
    }

    #[test]
    fn psql_syntax_becomes_datafusion_syntax() {
        assert_eq!(
            rewritten(
                "SELECT c.oid FROM pg_catalog.pg_class c WHERE c.relname OPERATOR(pg_catalog.~) '^(t)$' COLLATE pg_catalog.default"
            ),
            "SELECT c.oid FROM pg_catalog.pg_class c WHERE c.relname ~ '^(t)$'"
        );
        assert_eq!(
            rewritten("SELECT pg_catalog.format_type(a.atttypid, a.atttypmod) FROM pg_attribute a"),
            "SELECT format_type(a.atttypid, a.atttypmod) AS \"format_type\" FROM pg_catalog.pg_attribute a"
        );
        assert_eq!(rewritten("SELECT NULL, NULL"), "SELECT NULL AS \"?column?\", NULL AS \"?column?_2\"");
    }

    #[test]
    fn reg_values_are_oids_shown_by_name() {
        // Compared, a regclass is its OID; shown, it is the name regclassout prints.
        assert_eq!(
            rewritten("SELECT a.attname FROM pg_attribute a WHERE a.attrelid = 'public.t'::regclass"),
            "SELECT a.attname FROM pg_catalog.pg_attribute a WHERE a.attrelid = 16385"
        );
        assert_eq!(rewritten("SELECT 't'::regclass AS r"), "SELECT regclassout(16385) AS r");
        assert_eq!(
            rewritten("SELECT c.oid::pg_catalog.regclass FROM pg_class c WHERE c.oid::regclass::text = 't'"),
            "SELECT regclassout(c.oid::BIGINT) AS \"oid_2\" FROM pg_catalog.pg_class c WHERE regclassout(c.oid::BIGINT) = 't'"
        );
        assert_eq!(
            rewritten("SELECT relname FROM pg_class WHERE oid = $1::regclass"),
            "SELECT relname FROM pg_catalog.pg_class WHERE oid = regclassin($1)"
        );
        // Named by the outer cast, as PostgreSQL names it.
        assert_eq!(rewritten("SELECT 'int4'::regtype::oid"), "SELECT 23::BIGINT AS \"oid\"");
        assert_eq!(rewritten("SELECT 'integer'::regtype"), "SELECT format_type(23, NULL) AS \"regtype\"");
    }

    #[test]
    fn unknown_regclass_names_are_undefined_tables() {
        let catalog = catalog();
        let model = Model::new(&catalog, ConnectionInfo { user: "u".into(), database: "d".into(), pid: 1 }, Vec::new());
        let mut stmt = parse("SELECT 'nope'::regclass");
        assert_eq!(rewrite(&mut stmt, &model).unwrap_err().sqlstate(), "42P01");
    }
}
