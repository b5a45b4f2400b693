//! The PostgreSQL functions psql and drivers call on catalogs and at connect (`format_type`,
//! `pg_get_indexdef`, `current_setting`, `version()`, ...), as DataFusion scalar UDFs over the
//! query's [`Model`]. Each is a plain function of one row's arguments; [`PgFunction`] applies it
//! row by row (catalog tables are small). Strict functions return NULL on any NULL argument, as
//! PostgreSQL's do. Errors carry their SQLSTATE as an [`EngineError`] inside DataFusion's error.

use std::any::Any;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use arrow::array::{Array, new_empty_array};
use arrow::datatypes::{DataType, Field};
use datafusion::common::{DataFusionError, Result as DfResult, ScalarValue};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, TypeSignature, Volatility,
};
use rhei_engine::EngineError;

use crate::catalog::model::{IndexColumn, Model, SettingChange, namespace_name, quote_ident};
use crate::catalog::oids;

type Eval = fn(&Model, &[ScalarValue]) -> Result<ScalarValue, EngineError>;

/// One function: its name, accepted argument counts, result type and body.
struct Definition {
    name: &'static str,
    arities: &'static [usize],
    returns: fn(&[DataType]) -> DataType,
    /// Whether any NULL argument makes the result NULL without calling the body.
    is_strict: bool,
    eval: Eval,
}

type Returns = fn(&[DataType]) -> DataType;

const fn def(name: &'static str, arities: &'static [usize], returns: Returns, eval: Eval) -> Definition {
    Definition { name, arities, returns, is_strict: true, eval }
}

const fn lenient(name: &'static str, arities: &'static [usize], returns: Returns, eval: Eval) -> Definition {
    Definition { name, arities, returns, is_strict: false, eval }
}

fn utf8(_: &[DataType]) -> DataType {
    DataType::Utf8
}
fn boolean(_: &[DataType]) -> DataType {
    DataType::Boolean
}
fn int4(_: &[DataType]) -> DataType {
    DataType::Int32
}
fn int8(_: &[DataType]) -> DataType {
    DataType::Int64
}
fn text_array(_: &[DataType]) -> DataType {
    DataType::List(Arc::new(Field::new_list_field(DataType::Utf8, true)))
}
/// `information_schema._pg_expandarray`'s rows, as a list of `(x, n)` structs for `unnest`.
fn expanded_array(args: &[DataType]) -> DataType {
    let element = match args.first() {
        Some(DataType::List(f) | DataType::LargeList(f)) => f.data_type().clone(),
        _ => DataType::Utf8,
    };
    let fields = vec![Field::new("x", element, true), Field::new("n", DataType::Int32, false)];
    DataType::List(Arc::new(Field::new_list_field(DataType::Struct(fields.into()), true)))
}

/// The type of the first argument, if it is a list (else a list of text).
fn first_list(args: &[DataType]) -> DataType {
    match args.first() {
        Some(list @ (DataType::List(_) | DataType::LargeList(_))) => list.clone(),
        _ => text_array(args),
    }
}

/// Every function registered for catalog queries. Names are PostgreSQL's; a call written
/// `pg_catalog.f(...)` reaches `f` after the rewrite strips the schema.
const FUNCTIONS: &[Definition] = &[
    def("version", &[0], utf8, version),
    def("current_database", &[0], utf8, current_database),
    def("current_catalog", &[0], utf8, current_database),
    def("current_schema", &[0], utf8, |_, _| Ok(text("public"))),
    def("current_schemas", &[1], text_array, current_schemas),
    def("current_user", &[0], utf8, current_user),
    def("current_role", &[0], utf8, current_user),
    def("session_user", &[0], utf8, current_user),
    def("user", &[0], utf8, current_user),
    def("pg_backend_pid", &[0], int4, |m, _| Ok(ScalarValue::Int32(Some(m.conn.pid)))),
    lenient("current_setting", &[1, 2], utf8, current_setting),
    lenient("set_config", &[3], utf8, set_config),
    def("pg_is_in_recovery", &[0], boolean, |_, _| Ok(ScalarValue::Boolean(Some(false)))),
    def("pg_table_is_visible", &[1], boolean, table_is_visible),
    def("pg_type_is_visible", &[1], boolean, |m, a| {
        Ok(ScalarValue::Boolean(Some(oid(&a[0]).is_some_and(|oid| oids::builtin_type(oid).is_some() || m.enum_type(oid).is_some()))))
    }),
    lenient("format_type", &[2], utf8, format_type),
    def("pg_get_userbyid", &[1], utf8, |m, a| Ok(text(m.role_name(oid(&a[0]).unwrap_or(0))))),
    def("pg_get_expr", &[2, 3], utf8, |_, a| Ok(text(string(&a[0])))),
    def("pg_get_indexdef", &[1, 3], utf8, index_def),
    def("pg_get_constraintdef", &[1, 2], utf8, constraint_def),
    def("pg_get_viewdef", &[1, 2], utf8, |m, a| Ok(ScalarValue::Utf8(oid(&a[0]).and_then(|o| m.view_definitions.get(&o).cloned())))),
    def("pg_get_triggerdef", &[1, 2], utf8, no_text),
    def("pg_get_partkeydef", &[1], utf8, no_text),
    // A set-returning function in PostgreSQL; rhei has no partitions, so a table's only
    // ancestor is itself (one row, as this scalar gives in a select list). In FROM, the table
    // function of the same name answers.
    def("pg_partition_ancestors", &[1], int8, |_, a| Ok(ScalarValue::Int64(oid(&a[0])))),
    def("pg_get_statisticsobjdef_columns", &[1], utf8, no_text),
    def("obj_description", &[1, 2], utf8, obj_description),
    def("col_description", &[2], utf8, col_description),
    def("shobj_description", &[2], utf8, no_text),
    def("pg_encoding_to_char", &[1], utf8, encoding_to_char),
    def("has_table_privilege", &[2, 3], boolean, granted),
    def("has_schema_privilege", &[2, 3], boolean, granted),
    def("has_database_privilege", &[2, 3], boolean, granted),
    def("has_column_privilege", &[3, 4], boolean, granted),
    def("has_any_column_privilege", &[2, 3], boolean, granted),
    def("has_function_privilege", &[2, 3], boolean, granted),
    def("pg_relation_is_publishable", &[1], boolean, relation_is_publishable),
    def("pg_table_size", &[1], int8, no_bytes),
    def("pg_relation_size", &[1, 2], int8, no_bytes),
    def("pg_total_relation_size", &[1], int8, no_bytes),
    def("pg_indexes_size", &[1], int8, no_bytes),
    def("pg_database_size", &[1], int8, no_bytes),
    def("pg_size_pretty", &[1], utf8, size_pretty),
    def("quote_ident", &[1], utf8, |_, a| Ok(text(quote_ident(&string(&a[0]))))),
    // Beside a catalog function (`format(...)`), the whole query is answered here.
    def("quote_literal", &[1], utf8, |_, a| {
        Ok(if a[0].is_null() { ScalarValue::Utf8(None) } else { text(rhei_engine::naming::quote_literal(&string(&a[0]))) })
    }),
    def("array_upper", &[2], int4, array_upper),
    lenient("format", &[1, 2, 3, 4, 5, 6, 7, 8], utf8, format),
    def("pg_stat_get_numscans", &[1], int8, no_bytes),
    def("pg_get_ruledef", &[1, 2], utf8, no_text),
    def("pg_tablespace_location", &[1], utf8, |_, _| Ok(text(""))),
    def("pg_expandarray", &[1], expanded_array, pg_expandarray),
    def("array_lower", &[2], int4, array_lower),
    def("pg_get_serial_sequence", &[2], utf8, serial_sequence),
    def("pg_collation_is_visible", &[1], boolean, |_, _| Ok(ScalarValue::Boolean(Some(true)))),
    lenient("json_build_object", &[0, 2, 4, 6, 8, 10, 12, 14, 16], utf8, json_build_object),
    def("to_regclass", &[1], int8, to_regclass),
    def("to_regtype", &[1], int8, |_, a| Ok(ScalarValue::Int64(oids::type_oid_by_name(&string(&a[0]))))),
    def("pg_function_is_visible", &[1], boolean, |_, a| {
        Ok(ScalarValue::Boolean(Some(builtin_function(&a[0]).is_some())))
    }),
    def("pg_get_function_result", &[1], utf8, |_, a| {
        Ok(ScalarValue::Utf8(builtin_function(&a[0]).map(|(_, _, _, result)| oids::format_type(*result, None))))
    }),
    def("pg_get_function_arguments", &[1], utf8, |_, a| {
        Ok(ScalarValue::Utf8(
            builtin_function(&a[0])
                .map(|(_, _, args, _)| args.iter().map(|t| oids::format_type(*t, None)).collect::<Vec<_>>().join(", ")),
        ))
    }),
    // The reg* types' input functions (for `$1::regclass`) and output functions (what a
    // client is shown of a reg* value).
    def("regclassin", &[1], int8, regclass_in),
    def("regtypein", &[1], int8, regtype_in),
    def("regclassout", &[1], utf8, regclass_out),
    def("regprocout", &[1], utf8, |_, a| {
        let oid = oid(&a[0]).unwrap_or(0);
        Ok(text(
            oids::BUILTIN_FUNCTIONS.iter().find(|f| f.0 == oid).map_or_else(|| oid.to_string(), |f| f.1.to_string()),
        ))
    }),
    // `ARRAY(SELECT f(x) FROM unnest(arr) x)` where DataFusion cannot map `f` over `arr`.
    lenient("array_map_of_empty", &[1], first_list, array_map_of_empty),
    def("regnamespaceout", &[1], utf8, |_, a| {
        let oid = oid(&a[0]).unwrap_or(0);
        Ok(text(namespace_name(oid).map_or_else(|| oid.to_string(), str::to_string)))
    }),
];

/// Names of the registered functions that make a query the catalog's, for recognizing catalog
/// queries: all but those the engine answers too, which the catalog has for queries that read
/// its tables (`array_upper(indkey, 1)`, `format('%I', relname)`): alone, a call of one is the
/// engine's (`SELECT format('%s', 1), json_build_array(2)` failed on the catalog's side).
pub fn names() -> impl Iterator<Item = &'static str> {
    FUNCTIONS.iter().map(|f| f.name).filter(|name| {
        !matches!(*name, "array_upper" | "array_lower" | "format" | "quote_ident" | "quote_literal" | "json_build_object" | "pg_size_pretty")
    })
}

/// The functions as DataFusion UDFs bound to one model.
pub fn udfs(model: &Arc<Model>) -> Vec<ScalarUDF> {
    FUNCTIONS.iter().map(|definition| ScalarUDF::new_from_impl(PgFunction::new(definition, model.clone()))).collect()
}

/// A [`Definition`] bound to a model, as DataFusion calls it.
struct PgFunction {
    name: &'static str,
    signature: Signature,
    returns: Returns,
    is_strict: bool,
    eval: Eval,
    model: Arc<Model>,
}

impl PgFunction {
    fn new(definition: &Definition, model: Arc<Model>) -> Self {
        // set_config changes the session: it runs only where the query evaluates it, never
        // folded into a constant while planning (as in PostgreSQL, where it is volatile).
        let volatility = if definition.name == "set_config" { Volatility::Volatile } else { Volatility::Stable };
        let signature = match definition.arities {
            [0] => Signature::nullary(volatility),
            arities => Signature::one_of(
                arities.iter().map(|&n| if n == 0 { TypeSignature::Nullary } else { TypeSignature::Any(n) }).collect(),
                volatility,
            ),
        };
        Self {
            name: definition.name,
            signature,
            returns: definition.returns,
            is_strict: definition.is_strict,
            eval: definition.eval,
            model,
        }
    }

    fn call(&self, args: &[ScalarValue], returns: &DataType) -> DfResult<ScalarValue> {
        if self.is_strict && args.iter().any(ScalarValue::is_null) {
            return ScalarValue::try_from(returns);
        }
        let value = (self.eval)(&self.model, args).map_err(|e| DataFusionError::External(Box::new(e)))?;
        if &value.data_type() == returns { Ok(value) } else { value.cast_to(returns) }
    }
}

impl std::fmt::Debug for PgFunction {
    // The model is the whole catalog; plans that print a function should not print that.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgFunction").field("name", &self.name).finish_non_exhaustive()
    }
}

impl PartialEq for PgFunction {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name && Arc::ptr_eq(&self.model, &other.model)
    }
}

impl Eq for PgFunction {}

impl Hash for PgFunction {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.name.hash(state);
    }
}

impl ScalarUDFImpl for PgFunction {
    fn as_any(&self) -> &dyn Any {
        self
    }

    fn name(&self) -> &str {
        self.name
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, args: &[DataType]) -> DfResult<DataType> {
        Ok((self.returns)(args))
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> DfResult<ColumnarValue> {
        let returns = args.return_type().clone();
        let scalars: Option<Vec<ScalarValue>> = args
            .args
            .iter()
            .map(|a| match a {
                ColumnarValue::Scalar(s) => Some(s.clone()),
                ColumnarValue::Array(_) => None,
            })
            .collect();
        if let Some(scalars) = scalars {
            return Ok(ColumnarValue::Scalar(self.call(&scalars, &returns)?));
        }
        let arrays = ColumnarValue::values_to_arrays(&args.args)?;
        let mut out = Vec::with_capacity(args.number_rows);
        for row in 0..args.number_rows {
            let values = arrays.iter().map(|a| ScalarValue::try_from_array(a, row)).collect::<DfResult<Vec<_>>>()?;
            out.push(self.call(&values, &returns)?);
        }
        if out.is_empty() {
            return Ok(ColumnarValue::Array(new_empty_array(&returns)));
        }
        Ok(ColumnarValue::Array(ScalarValue::iter_to_array(out)?))
    }
}

fn text(value: impl Into<String>) -> ScalarValue {
    ScalarValue::Utf8(Some(value.into()))
}

/// An argument as an OID (or any integer; numeric strings count, as `'16385'` does in
/// PostgreSQL where an untyped literal meets an oid parameter).
pub(crate) fn oid(value: &ScalarValue) -> Option<i64> {
    use ScalarValue as S;
    match value {
        S::Int8(v) => v.map(i64::from),
        S::Int16(v) => v.map(i64::from),
        S::Int32(v) => v.map(i64::from),
        S::Int64(v) => *v,
        S::UInt8(v) => v.map(i64::from),
        S::UInt16(v) => v.map(i64::from),
        S::UInt32(v) => v.map(i64::from),
        S::UInt64(v) => v.and_then(|v| i64::try_from(v).ok()),
        S::Utf8(Some(s)) | S::LargeUtf8(Some(s)) | S::Utf8View(Some(s)) => s.trim().parse().ok(),
        _ => None,
    }
}

/// An argument as text.
fn string(value: &ScalarValue) -> String {
    match value {
        ScalarValue::Utf8(Some(s)) | ScalarValue::LargeUtf8(Some(s)) | ScalarValue::Utf8View(Some(s)) => s.clone(),
        other => other.to_string(),
    }
}

fn flag(value: &ScalarValue) -> Option<bool> {
    match value {
        ScalarValue::Boolean(b) => *b,
        other => match string(other).to_ascii_lowercase().as_str() {
            "t" | "true" | "on" | "1" => Some(true),
            "f" | "false" | "off" | "0" => Some(false),
            _ => None,
        },
    }
}

fn builtin_function(value: &ScalarValue) -> Option<&'static (i64, &'static str, &'static [i64], i64)> {
    let oid = oid(value)?;
    oids::BUILTIN_FUNCTIONS.iter().find(|f| f.0 == oid)
}

/// `format(template, args...)`, as the engines have it (see `rhei_engine::text_format`).
fn format(_: &Model, args: &[ScalarValue]) -> Result<ScalarValue, EngineError> {
    let Some(template) = args.first().filter(|a| !a.is_null()).map(string) else { return Ok(ScalarValue::Utf8(None)) };
    let values: Vec<Option<String>> = args[1..].iter().map(|a| (!a.is_null()).then(|| string(a))).collect();
    let values: Vec<Option<&str>> = values.iter().map(Option::as_deref).collect();
    Ok(text(rhei_engine::text_format::format(&template, &values)?))
}

/// `obj_description(oid [, catalog])`: a table's `COMMENT ON` (only tables have comments).
fn obj_description(model: &Model, args: &[ScalarValue]) -> Result<ScalarValue, EngineError> {
    let on_class = args.get(1).is_none_or(|c| string(c) == "pg_class");
    let text = oid(&args[0]).filter(|_| on_class).and_then(|oid| model.description(oid, 0));
    Ok(ScalarValue::Utf8(text.map(str::to_string)))
}

/// `col_description(table oid, column number)`.
fn col_description(model: &Model, args: &[ScalarValue]) -> Result<ScalarValue, EngineError> {
    let column = oid(&args[1]).and_then(|c| i32::try_from(c).ok()).filter(|c| *c > 0);
    let text = oid(&args[0]).zip(column).and_then(|(table, column)| model.description(table, column));
    Ok(ScalarValue::Utf8(text.map(str::to_string)))
}

fn no_text(_: &Model, _: &[ScalarValue]) -> Result<ScalarValue, EngineError> {
    Ok(ScalarValue::Utf8(None))
}

/// Privileges are not enforced: every connected user may do everything.
fn granted(_: &Model, _: &[ScalarValue]) -> Result<ScalarValue, EngineError> {
    Ok(ScalarValue::Boolean(Some(true)))
}

/// Relation sizes: the OLAP copy is in memory and SQLite pages are shared, so there is no
/// per-relation on-disk size to report.
fn no_bytes(_: &Model, _: &[ScalarValue]) -> Result<ScalarValue, EngineError> {
    Ok(ScalarValue::Int64(Some(0)))
}

fn version(_: &Model, _: &[ScalarValue]) -> Result<ScalarValue, EngineError> {
    Ok(text(rhei_engine::version_text()))
}

fn current_database(model: &Model, _: &[ScalarValue]) -> Result<ScalarValue, EngineError> {
    Ok(text(model.conn.database.as_str()))
}

fn current_user(model: &Model, _: &[ScalarValue]) -> Result<ScalarValue, EngineError> {
    Ok(text(model.conn.user.as_str()))
}

fn current_schemas(_: &Model, args: &[ScalarValue]) -> Result<ScalarValue, EngineError> {
    let names: &[&str] = if flag(&args[0]) == Some(true) { &["pg_catalog", "public"] } else { &["public"] };
    let values: Vec<ScalarValue> = names.iter().map(|n| text(*n)).collect();
    Ok(ScalarValue::List(ScalarValue::new_list_nullable(&values, &DataType::Utf8)))
}

/// `current_setting(name [, missing_ok])`: 42704 for an unknown name unless `missing_ok`.
fn current_setting(model: &Model, args: &[ScalarValue]) -> Result<ScalarValue, EngineError> {
    if args[0].is_null() {
        return Ok(ScalarValue::Utf8(None));
    }
    let name = string(&args[0]);
    match model.setting(&name) {
        Some(value) => Ok(text(value)),
        None if args.get(1).and_then(flag) == Some(true) => Ok(ScalarValue::Utf8(None)),
        None => Err(EngineError::UndefinedParameter { name }),
    }
}

/// `set_config(name, value, is_local)`: gives back the value and leaves the change for the
/// session to make when the query ends (see [`Model::set_configs`]), which validates it as
/// `SET` (or, `is_local`, `SET LOCAL`) does.
fn set_config(model: &Model, args: &[ScalarValue]) -> Result<ScalarValue, EngineError> {
    if args[0].is_null() {
        return Err(EngineError::NullValueNotAllowed { message: "SET requires parameter name".into() });
    }
    let value = if args[1].is_null() { String::new() } else { string(&args[1]) };
    let is_local = flag(&args[2]) == Some(true);
    let mut changes = model.set_configs.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    changes.push(SettingChange { name: string(&args[0]), value: value.clone(), is_local });
    Ok(text(value))
}

fn table_is_visible(model: &Model, args: &[ScalarValue]) -> Result<ScalarValue, EngineError> {
    Ok(ScalarValue::Boolean(oid(&args[0]).and_then(|oid| model.is_visible(oid))))
}

/// `format_type(oid, typmod)`: NULL for a NULL type; a NULL typmod means none.
fn format_type(model: &Model, args: &[ScalarValue]) -> Result<ScalarValue, EngineError> {
    let Some(type_oid) = oid(&args[0]) else { return Ok(ScalarValue::Utf8(None)) };
    if let Some(e) = model.enum_type(type_oid) {
        return Ok(text(quote_ident(&e.def().name)));
    }
    let typmod = oid(&args[1]).and_then(|m| i32::try_from(m).ok());
    Ok(text(oids::format_type(type_oid, typmod)))
}

/// `pg_get_indexdef(oid [, column, pretty])`: the whole definition, or with a column number
/// above 0 just that key column's name.
fn index_def(model: &Model, args: &[ScalarValue]) -> Result<ScalarValue, EngineError> {
    let Some(relation) = oid(&args[0]).and_then(|oid| model.relation(oid)) else { return Ok(ScalarValue::Utf8(None)) };
    let Some(index) = &relation.index else { return Ok(ScalarValue::Utf8(None)) };
    match args.get(1).and_then(oid).filter(|&column| column > 0) {
        Some(column) => Ok(ScalarValue::Utf8(
            usize::try_from(column - 1).ok().and_then(|i| index.key_names.get(i)).map(IndexColumn::definition),
        )),
        None => Ok(text(index.index_def(&relation.name, args.get(2).and_then(flag) == Some(true)))),
    }
}

fn constraint_def(model: &Model, args: &[ScalarValue]) -> Result<ScalarValue, EngineError> {
    let Some(oid) = oid(&args[0]) else { return Ok(ScalarValue::Utf8(None)) };
    if let Some(constraint) = model.constraint(oid) {
        return Ok(text(constraint.def()));
    }
    let index = model.relation(oid).and_then(|r| r.index.as_ref()).filter(|i| i.is_constraint);
    Ok(ScalarValue::Utf8(index.map(|i| i.constraint_def())))
}

fn encoding_to_char(_: &Model, args: &[ScalarValue]) -> Result<ScalarValue, EngineError> {
    Ok(text(match oid(&args[0]) {
        Some(0) => "SQL_ASCII",
        Some(6) => "UTF8",
        _ => "",
    }))
}

fn relation_is_publishable(model: &Model, args: &[ScalarValue]) -> Result<ScalarValue, EngineError> {
    let relation = oid(&args[0]).and_then(|oid| model.relation(oid));
    Ok(ScalarValue::Boolean(Some(relation.is_some_and(|r| r.table_id.is_some()))))
}

/// `pg_size_pretty(bigint)`, rounding as PostgreSQL 15 does (half away from zero, switching
/// unit at 10240 of the smaller one).
fn size_pretty(_: &Model, args: &[ScalarValue]) -> Result<ScalarValue, EngineError> {
    oid(&args[0]).map(|size| rhei_engine::text_format::size_pretty(&size.to_string())).transpose().map(ScalarValue::Utf8)
}

fn list_len(value: &ScalarValue) -> Option<usize> {
    match value {
        ScalarValue::List(list) if !list.is_null(0) => Some(list.value(0).len()),
        ScalarValue::LargeList(list) if !list.is_null(0) => Some(list.value(0).len()),
        _ => None,
    }
}

/// `array_upper(array, 1)`: the length of a non-empty one-dimensional array, else NULL.
fn array_upper(_: &Model, args: &[ScalarValue]) -> Result<ScalarValue, EngineError> {
    let len = list_len(&args[0]).filter(|n| *n > 0 && oid(&args[1]) == Some(1));
    Ok(ScalarValue::Int32(len.and_then(|n| i32::try_from(n).ok())))
}

/// `information_schema._pg_expandarray(a)`: each element with its 1-based position, as the
/// `(x, n)` records PostgreSQL's set-returning function yields (the rewrite unnests them).
fn pg_expandarray(_: &Model, args: &[ScalarValue]) -> Result<ScalarValue, EngineError> {
    let ScalarValue::List(list) = &args[0] else {
        return Err(EngineError::Internal("_pg_expandarray of a non-array".into()));
    };
    let values = if list.is_empty() || list.is_null(0) { new_empty_array(&expanded_element(list.data_type())) } else { list.value(0) };
    let positions: arrow::array::Int32Array = (1..=values.len() as i32).collect();
    let DataType::List(item) = expanded_array(&[list.data_type().clone()]) else {
        return Err(EngineError::Internal("_pg_expandarray result type".into()));
    };
    let DataType::Struct(fields) = item.data_type() else {
        return Err(EngineError::Internal("_pg_expandarray element type".into()));
    };
    let records = arrow::array::StructArray::try_new(fields.clone(), vec![values, Arc::new(positions)], None)
        .map_err(|e| EngineError::Internal(e.to_string()))?;
    Ok(ScalarValue::List(Arc::new(arrow::array::ListArray::new(
        item,
        arrow::buffer::OffsetBuffer::from_lengths([records.len()]),
        Arc::new(records),
        None,
    ))))
}

fn expanded_element(list: &DataType) -> DataType {
    match list {
        DataType::List(f) | DataType::LargeList(f) => f.data_type().clone(),
        _ => DataType::Utf8,
    }
}

fn array_lower(_: &Model, args: &[ScalarValue]) -> Result<ScalarValue, EngineError> {
    let len = list_len(&args[0]).filter(|n| *n > 0 && oid(&args[1]) == Some(1));
    Ok(ScalarValue::Int32(len.map(|_| 1)))
}

/// An empty array for an empty or NULL one; mapping over elements is not supported.
fn array_map_of_empty(_: &Model, args: &[ScalarValue]) -> Result<ScalarValue, EngineError> {
    match (&args[0], list_len(&args[0])) {
        (ScalarValue::List(list), Some(0)) => Ok(ScalarValue::List(list.clone())),
        (ScalarValue::List(list), None) => {
            let element = match list.data_type() {
                DataType::List(field) => field.data_type().clone(),
                _ => DataType::Utf8,
            };
            Ok(ScalarValue::List(ScalarValue::new_list_nullable(&[], &element)))
        }
        (ScalarValue::Null, _) => Ok(ScalarValue::List(ScalarValue::new_list_nullable(&[], &DataType::Utf8))),
        _ => Err(EngineError::FeatureNotSupported {
            what: "ARRAY(SELECT ... FROM unnest(array)) over a non-empty array".into(),
        }),
    }
}

/// `to_regclass(text)`: the OID of a relation name, or NULL.
fn to_regclass(model: &Model, args: &[ScalarValue]) -> Result<ScalarValue, EngineError> {
    Ok(ScalarValue::Int64(relation_oid(model, &string(&args[0]))))
}

/// `pg_get_serial_sequence(table, column)`: `public.t_c_seq` for a serial column, NULL for any
/// other; 42P01 / 42703 when the table / column does not exist.
fn serial_sequence(model: &Model, args: &[ScalarValue]) -> Result<ScalarValue, EngineError> {
    let table = string(&args[0]);
    let column = string(&args[1]);
    let relation = relation_oid(model, &table)
        .and_then(|oid| model.relation(oid))
        .ok_or_else(|| EngineError::UndefinedTable { name: table.clone() })?;
    let attribute = relation
        .columns
        .iter()
        .find(|c| c.name == column)
        .ok_or_else(|| EngineError::UndefinedColumn { column: column.clone(), table: Some(relation.name.clone()) })?;
    let sequence = crate::catalog::model::serial_sequence(&relation.name, &attribute.name);
    let is_serial = attribute.default.as_deref() == Some(format!("nextval('{sequence}'::regclass)").as_str());
    if is_serial {
        return Ok(ScalarValue::Utf8(Some(format!("{}.{sequence}", relation.namespace_name()))));
    }
    // A default drawing from a sequence the table owns (a serial column as pg_dump restores it).
    let owned = attribute
        .default
        .as_deref()
        .and_then(rhei_engine::oltp::sequence::nextval_sequence)
        .filter(|name| model.sequences.iter().any(|(_, s)| &s.name == name && s.owner.is_some() && s.owner == relation.table_id));
    Ok(ScalarValue::Utf8(owned.map(|name| format!("public.{}", rhei_engine::naming::display_ident(&name)))))
}

/// `json_build_object(k1, v1, ...)` as PostgreSQL writes it (`{"k1" : v1, ...}`); SQLAlchemy's
/// get_columns builds identity and collation details with it.
fn json_build_object(_: &Model, args: &[ScalarValue]) -> Result<ScalarValue, EngineError> {
    fn quoted(s: &str) -> String {
        let mut out = String::with_capacity(s.len() + 2);
        out.push('"');
        for c in s.chars() {
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                '\t' => out.push_str("\\t"),
                c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
                c => out.push(c),
            }
        }
        out.push('"');
        out
    }
    let mut fields = Vec::with_capacity(args.len() / 2);
    for pair in args.chunks(2) {
        let [key, value] = pair else { break };
        if key.is_null() {
            // PostgreSQL: 22004 "null value not allowed for object key"; rhei has no such error.
            return Err(EngineError::FeatureNotSupported { what: "json_build_object with a NULL key".into() });
        }
        let value = match value {
            v if v.is_null() => "null".to_string(),
            ScalarValue::Boolean(Some(b)) => b.to_string(),
            v if v.data_type().is_numeric() => v.to_string(),
            v => quoted(&string(v)),
        };
        fields.push(format!("{} : {value}", quoted(&string(key))));
    }
    Ok(text(format!("{{{}}}", fields.join(", "))))
}

/// `regclassin`: a relation name (or an OID in digits) to its OID; 42P01 if there is none.
fn regclass_in(model: &Model, args: &[ScalarValue]) -> Result<ScalarValue, EngineError> {
    let name = string(&args[0]);
    let oid = match name.trim().parse::<i64>() {
        Ok(oid) => oid,
        Err(_) => relation_oid(model, &name).ok_or(EngineError::UndefinedTable { name })?,
    };
    Ok(ScalarValue::Int64(Some(oid)))
}

/// `regtypein`: a type name (or an OID in digits) to its OID; 42704 if there is none.
fn regtype_in(model: &Model, args: &[ScalarValue]) -> Result<ScalarValue, EngineError> {
    let name = string(&args[0]);
    let oid = match name.trim().parse::<i64>() {
        Ok(oid) => oid,
        Err(_) => match oids::type_oid_by_name(&name) {
            Some(oid) => oid,
            None => model.enum_by_name(&name).map(|e| oids::enum_oid(e.def().id)).ok_or(EngineError::UndefinedType { name })?,
        },
    };
    Ok(ScalarValue::Int64(Some(oid)))
}

/// Resolves `name` or `schema.name` (quoted parts keep their case, others fold) to an OID.
pub fn relation_oid(model: &Model, name: &str) -> Option<i64> {
    let parts = split_qualified(name)?;
    match parts.as_slice() {
        [table] => model.relation_by_name(None, table).map(|r| r.oid),
        [schema, table] => model.relation_by_name(Some(schema), table).map(|r| r.oid),
        [_, schema, table] => model.relation_by_name(Some(schema), table).map(|r| r.oid),
        _ => None,
    }
}

/// Splits a possibly qualified, possibly quoted name as PostgreSQL's `stringToQualifiedNameList`.
pub(crate) fn split_qualified(name: &str) -> Option<Vec<String>> {
    let mut parts = Vec::new();
    let mut chars = name.trim().chars().peekable();
    loop {
        let mut part = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            loop {
                match chars.next()? {
                    '"' if chars.peek() == Some(&'"') => {
                        chars.next();
                        part.push('"');
                    }
                    '"' => break,
                    c => part.push(c),
                }
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c == '.' {
                    break;
                }
                part.push(c.to_ascii_lowercase());
                chars.next();
            }
            part = part.trim().to_string();
        }
        if part.is_empty() {
            return None;
        }
        parts.push(part);
        match chars.next() {
            None => return Some(parts),
            Some('.') => continue,
            Some(_) => return None,
        }
    }
}

/// `regclassout`: a relation's name, schema-qualified when its schema is not on the search
/// path; an unknown OID prints as the number.
pub fn regclass_name(model: &Model, oid: i64) -> String {
    match model.relation(oid) {
        Some(r) if model.is_visible(oid) == Some(true) => quote_ident(&r.name),
        Some(r) => format!("{}.{}", r.namespace_name(), quote_ident(&r.name)),
        None => oid.to_string(),
    }
}

fn regclass_out(model: &Model, args: &[ScalarValue]) -> Result<ScalarValue, EngineError> {
    Ok(ScalarValue::Utf8(oid(&args[0]).map(|oid| regclass_name(model, oid))))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::model::ConnectionInfo;
    use rhei_engine::catalog::Catalog;

    fn model() -> Model {
        let conn = ConnectionInfo { user: "alice".into(), database: "db".into(), pid: 42 };
        Model::new(&Catalog::default(), conn, vec![("TimeZone".into(), "UTC".into())])
    }

    #[test]
    fn current_setting_follows_postgres() {
        let m = model();
        assert_eq!(current_setting(&m, &[text("timezone")]).unwrap(), text("UTC"));
        let err = current_setting(&m, &[text("nope")]).unwrap_err();
        assert_eq!(err.sqlstate(), "42704");
        assert_eq!(
            current_setting(&m, &[text("nope"), ScalarValue::Boolean(Some(true))]).unwrap(),
            ScalarValue::Utf8(None)
        );
    }

    #[test]
    fn sizes_print_like_pg_size_pretty() {
        let m = model();
        let pretty = |n: i64| string(&size_pretty(&m, &[ScalarValue::Int64(Some(n))]).unwrap());
        assert_eq!(pretty(0), "0 bytes");
        assert_eq!(pretty(10239), "10239 bytes");
        assert_eq!(pretty(10240), "10 kB");
        assert_eq!(pretty(1_000_000_000), "954 MB");
    }

    #[test]
    fn qualified_names_split_like_postgres() {
        assert_eq!(split_qualified("Public.\"My T\""), Some(vec!["public".into(), "My T".into()]));
        assert_eq!(split_qualified("a..b"), None);
        assert_eq!(relation_oid(&model(), "pg_catalog.pg_class"), Some(1259));
        assert_eq!(relation_oid(&model(), "missing"), None);
    }
}
