//! PostgreSQL's system catalogs (`pg_catalog`) and `information_schema`, so psql's `\d`
//! family and drivers' metadata queries work against rhei.
//!
//! A query that reads a catalog relation or calls a catalog function, and no user table, is
//! answered here instead of by the engine: the statement is rewritten out of PostgreSQL-only
//! syntax ([`rewrite`]), then planned and run by a DataFusion context made for this one query,
//! whose `pg_catalog` and `information_schema` schemas hold in-memory tables built on demand
//! from the engine's catalog snapshot ([`tables`], over the [`model`]) and whose functions are
//! PostgreSQL's ([`functions`]). Routing of every other query is untouched.
//!
//! OIDs exist only here ([`oids`]); they are derived from table ids, so they are stable while a
//! table exists. The catalogs are tiny, so they are built per query and run on the calling
//! (network) runtime: planning and scanning them costs less than a hop to the OLAP runtime.
//! Nothing here writes; a catalog query sees the engine's catalog snapshot of the moment.

mod functions;
mod model;
mod oids;
mod rewrite;
mod subquery;
mod tables;

use std::any::Any;
use std::sync::Arc;

use arrow::array::RecordBatch;
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use async_trait::async_trait;
use datafusion::catalog::{SchemaProvider, TableProvider};
use datafusion::common::{DataFusionError, Result as DfResult, ScalarValue};
use datafusion::datasource::MemTable;
use datafusion::logical_expr::LogicalPlan;
use datafusion::prelude::{SessionConfig, SessionContext};
use datafusion::sql::sqlparser::ast::Statement;
use pgwire::api::Type;
use rhei_engine::catalog::Catalog;
use rhei_engine::olap::datafusion::{classify, plan_statement, renamed_apart};
use rhei_engine::olap::{conform_batch, result_schema};
use rhei_engine::{Description, EngineError, Prepared, Route, RowStream, Session, TransactionStatus};

pub use model::ConnectionInfo;
pub(crate) use oids::type_of;
use model::Model;
use tables::{Namespace, SYSTEM_TABLES, system_table};

/// Answers `prepared` from the catalogs if it is a catalog query; `None` means it is the
/// engine's to run. Cancellation-safe: nothing is written until the query has run, and then
/// only the session's settings, which `set_config()` calls changed.
///
/// # Errors
/// Planning and execution errors with their SQLSTATEs (42P01 for an unknown catalog relation,
/// 42883 for an unknown function, ...); 25P02 in a failed transaction.
pub async fn answer(
    session: &mut Session,
    conn: &ConnectionInfo,
    prepared: &Prepared,
    params: &[ScalarValue],
) -> Result<Option<RowStream>, EngineError> {
    let Some(query) = CatalogQuery::recognize(session, conn, prepared) else { return Ok(None) };
    if session.transaction_status() == TransactionStatus::Failed {
        return Err(EngineError::InFailedTransaction);
    }
    let (schema, batches) = query.run(params).await?;
    let changes = std::mem::take(&mut *query.model.set_configs.lock().unwrap_or_else(std::sync::PoisonError::into_inner));
    for change in changes {
        if change.is_local {
            session.set_local(&change.name, &change.value)?;
        } else {
            session.set(&change.name, &change.value)?;
        }
    }
    Ok(Some(RowStream::from_batches(schema, Route::Oltp, "SELECT", batches)))
}

/// The parameter types and result columns of a catalog query (extended protocol Describe);
/// `None` if `prepared` is not one.
///
/// # Errors
/// As [`answer`], for errors found while planning.
pub async fn describe(
    session: &Session,
    conn: &ConnectionInfo,
    prepared: &Prepared,
) -> Result<Option<Description>, EngineError> {
    match CatalogQuery::recognize(session, conn, prepared) {
        Some(query) => query.describe().await.map(Some),
        None => Ok(None),
    }
}

/// A catalog query's parameter type as ParameterDescription gives it. Catalog OIDs are int8
/// inside, so an int8 array parameter is an OID array (`oid = any($1::oid[])`, asyncpg's type
/// introspection), which drivers know without asking (they do not know `int8[]` so).
pub fn param_type(ty: Option<&DataType>) -> Type {
    match ty {
        Some(DataType::List(element)) if element.data_type() == &DataType::Int64 => Type::OID_ARRAY,
        Some(&OID_PARAMETER) => Type::OID,
        other => crate::types::param_type(other),
    }
}

/// Whether `prepared` is a catalog query (answered from the catalogs, not by the engine).
pub fn is_catalog_query(session: &Session, prepared: &Prepared) -> bool {
    prepared.statement().is_some_and(|statement| {
        !prepared.is_explain_route() && rewrite::is_catalog_query(statement, &session.catalog()) && !prepared.is_session_function_call()
    })
}

/// A statement recognized as a catalog query, with what answering it needs.
struct CatalogQuery {
    statement: Statement,
    model: Arc<Model>,
}

impl CatalogQuery {
    fn recognize(session: &Session, conn: &ConnectionInfo, prepared: &Prepared) -> Option<Self> {
        let statement = prepared.statement()?;
        let catalog = session.catalog();
        if prepared.is_explain_route() || !rewrite::is_catalog_query(statement, &catalog) || prepared.is_session_function_call() {
            return None;
        }
        let settings = session.settings().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        let mut query = Self::new(prepared.statement_as_written()?.into_owned(), &catalog, conn.clone(), settings);
        if let Some(model) = Arc::get_mut(&mut query.model) {
            model.row_counts = session.table_row_counts().into_iter().collect();
            model.add_sequences(session.sequences());
        }
        Some(query)
    }

    fn new(statement: Statement, catalog: &Catalog, conn: ConnectionInfo, settings: Vec<(String, String)>) -> Self {
        Self { statement, model: Arc::new(Model::new(catalog, conn, settings)) }
    }

    /// Runs the query to completion.
    async fn run(&self, params: &[ScalarValue]) -> Result<(SchemaRef, Vec<RecordBatch>), EngineError> {
        let (ctx, plan, renames) = self.plan().await?;
        let plan =
            if params.is_empty() { plan } else { plan.with_param_values(params.to_vec()).map_err(engine_error)? };
        let schema = renamed_apart(self.result_schema(&plan), &renames);
        let batches =
            ctx.execute_logical_plan(plan).await.map_err(engine_error)?.collect().await.map_err(engine_error)?;
        let batches = batches
            .into_iter()
            .map(|b| vectors_as_text(b, &schema).and_then(|b| conform_batch(b, &schema)))
            .collect::<Result<Vec<_>, _>>()?;
        Ok((schema, batches))
    }

    async fn describe(&self) -> Result<Description, EngineError> {
        let (_, plan, renames) = self.plan().await?;
        let mut params = rhei_engine::olap::datafusion::parameter_types(&plan)?;
        let mut statement = self.statement.clone();
        rewrite::rewrite(&mut statement, &self.model)?;
        cast_parameter_types(&statement, &mut params);
        oid_parameter_types(&statement, &mut params);
        Ok(Description { params, columns: Some(renamed_apart(self.result_schema(&plan), &renames)) })
    }

    async fn plan(&self) -> Result<(SessionContext, LogicalPlan, Vec<(String, String)>), EngineError> {
        let mut statement = self.statement.clone();
        rewrite::rewrite(&mut statement, &self.model)?;
        let ctx = context(&self.model)?;
        let (plan, renames) = plan_statement(&ctx.state(), statement).await.map_err(engine_error)?;
        Ok((ctx, plan, renames))
    }

    /// The result columns: the plan's, typed as every rhei result is, named as PostgreSQL
    /// names them.
    fn result_schema(&self, plan: &LogicalPlan) -> SchemaRef {
        let schema = result_schema(&Arc::new(plan.schema().as_arrow().clone()));
        let names = match &self.statement {
            Statement::Query(query) => rhei_engine::naming::output_names(query),
            _ => None,
        };
        let schema = match names {
            Some(names) if names.len() == schema.fields().len() => Arc::new(Schema::new(
                schema.fields().iter().zip(names).map(|(f, n)| f.as_ref().clone().with_name(n)).collect::<Vec<Field>>(),
            )),
            _ => schema,
        };
        // A select-list item that computes a value from an `oid` or `"char"` column is not
        // of that type (where the items can be matched to the columns: no `*`).
        let computed: Vec<bool> = match &self.statement {
            Statement::Query(query) => match query.body.as_ref() {
                datafusion::sql::sqlparser::ast::SetExpr::Select(select) => select.projection.iter().map(is_computed).collect(),
                _ => Vec::new(),
            },
            _ => Vec::new(),
        };
        let computed = if computed.len() == schema.fields().len() { computed } else { vec![false; schema.fields().len()] };
        // An `int2vector` or `oidvector` column shown as PostgreSQL shows it (see
        // [`vectors_as_text`]).
        let vectors = tables::vector_columns();
        Arc::new(Schema::new(
            schema
                .fields()
                .iter()
                .zip(computed)
                .map(|(f, computed)| {
                    let f = if computed { crate::encode::without_catalog_scalar_type(f.as_ref().clone()) } else { f.as_ref().clone() };
                    match f.data_type() {
                        DataType::List(_) if vectors.contains(f.name().as_str()) => Field::new(f.name(), DataType::Utf8, f.is_nullable()),
                        // As parameters are (see [`param_type`]).
                        DataType::List(element) if element.data_type() == &DataType::Int64 => {
                            f.with_metadata(crate::encode::pg_oid_metadata(&Type::OID_ARRAY))
                        }
                        _ => f,
                    }
                })
                .collect::<Vec<Field>>(),
        ))
    }
}

/// Whether a select-list item computes a value (anything but a column, aliased or not); a
/// `*` counts as columns.
fn is_computed(item: &datafusion::sql::sqlparser::ast::SelectItem) -> bool {
    use datafusion::sql::sqlparser::ast::{Expr, SelectItem};
    fn computed(expr: &Expr) -> bool {
        match expr {
            Expr::Nested(inner) => computed(inner),
            Expr::Identifier(_) | Expr::CompoundIdentifier(_) => false,
            _ => true,
        }
    }
    match item {
        SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. } => computed(e),
        _ => false,
    }
}

/// The described type of a parameter compared with an OID column (see [`oid_parameter_types`]).
const OID_PARAMETER: DataType = DataType::UInt32;

/// Types `oid` a parameter compared with a catalog column of type `oid` (`WHERE t.oid = $1`,
/// tokio-postgres's type introspection, which binds a `u32` and refuses an `int8` parameter),
/// as PostgreSQL types it from the column. Its value still arrives as the int8 it is inside.
fn oid_parameter_types(statement: &Statement, params: &mut [Option<DataType>]) {
    use datafusion::sql::sqlparser::ast::{BinaryOperator, Expr, Value, visit_expressions};
    let oid_columns: std::collections::HashSet<&str> = SYSTEM_TABLES
        .iter()
        .flat_map(|t| t.columns.iter())
        .filter(|(_, col)| col.type_oid() == 26)
        .map(|(name, _)| *name)
        .collect();
    let is_oid_column = |e: &Expr| match e {
        Expr::Identifier(ident) => oid_columns.contains(ident.value.as_str()),
        Expr::CompoundIdentifier(parts) => parts.last().is_some_and(|p| oid_columns.contains(p.value.as_str())),
        _ => false,
    };
    let placeholder = |e: &Expr| match e {
        Expr::Value(value) => match &value.value {
            Value::Placeholder(p) => p.strip_prefix('$').and_then(|n| n.parse::<usize>().ok()),
            _ => None,
        },
        _ => None,
    };
    let _ = visit_expressions(statement, |expr| {
        if let Expr::BinaryOp { left, op: BinaryOperator::Eq | BinaryOperator::NotEq, right } = expr {
            let n = match (placeholder(left), placeholder(right)) {
                (Some(n), None) if is_oid_column(right) => Some(n),
                (None, Some(n)) if is_oid_column(left) => Some(n),
                _ => None,
            };
            if let Some(slot) = n.and_then(|n| n.checked_sub(1)).and_then(|i| params.get_mut(i))
                && matches!(slot, None | Some(DataType::Int64))
            {
                *slot = Some(OID_PARAMETER);
            }
        }
        std::ops::ControlFlow::<()>::Continue(())
    });
}

/// Types parameters the planner left untyped by the casts applied to them (`$1::oid[]`, as
/// the rewrite spells it for DataFusion), as PostgreSQL types a parameter from its cast.
fn cast_parameter_types(statement: &Statement, params: &mut [Option<DataType>]) {
    use datafusion::sql::sqlparser::ast::{ArrayElemTypeDef, DataType as SqlType, Expr, Value, visit_expressions};
    fn arrow_type(ty: &SqlType) -> Option<DataType> {
        Some(match ty {
            SqlType::BigInt(_) => DataType::Int64,
            SqlType::Int(_) | SqlType::Integer(_) => DataType::Int32,
            SqlType::SmallInt(_) => DataType::Int16,
            SqlType::Real => DataType::Float32,
            SqlType::DoublePrecision => DataType::Float64,
            SqlType::Boolean => DataType::Boolean,
            SqlType::Text | SqlType::Varchar(_) => DataType::Utf8,
            SqlType::Array(ArrayElemTypeDef::SquareBracket(element, _) | ArrayElemTypeDef::AngleBracket(element)) => {
                DataType::new_list(arrow_type(element)?, true)
            }
            _ => return None,
        })
    }
    let _ = visit_expressions(statement, |expr| {
        if let Expr::Cast { expr: inner, data_type, .. } = expr
            && let Expr::Value(value) = inner.as_ref()
            && let Value::Placeholder(p) = &value.value
            && let Some(n) = p.strip_prefix('$').and_then(|n| n.parse::<usize>().ok())
            && let Some(slot @ None) = n.checked_sub(1).and_then(|i| params.get_mut(i))
        {
            *slot = arrow_type(data_type);
        }
        std::ops::ControlFlow::<()>::Continue(())
    });
}

/// `int2vector` and `oidvector` columns (`pg_index.indkey`, ...) are lists inside catalog
/// queries, so `attnum = ANY(indkey)` works; selected as they are, they go to the client as
/// PostgreSQL prints them, space-separated (`1 2`), which drivers split themselves
/// (SQLAlchemy's `get_indexes`). They are sent as text, not as OID 22 or 30.
fn vectors_as_text(batch: RecordBatch, schema: &SchemaRef) -> Result<RecordBatch, EngineError> {
    use arrow::array::{Array, ArrayRef, ListArray, StringBuilder};
    if !batch.columns().iter().zip(schema.fields()).any(|(c, f)| {
        matches!(c.data_type(), DataType::List(_)) && f.data_type() == &DataType::Utf8
    }) {
        return Ok(batch);
    }
    let columns = batch
        .columns()
        .iter()
        .zip(schema.fields())
        .map(|(column, field)| -> Result<ArrayRef, EngineError> {
            let Some(list) = column.as_any().downcast_ref::<ListArray>().filter(|_| field.data_type() == &DataType::Utf8)
            else {
                return Ok(column.clone());
            };
            let mut text = StringBuilder::new();
            for row in 0..list.len() {
                if list.is_null(row) {
                    text.append_null();
                    continue;
                }
                let values = list.value(row);
                let items = (0..values.len())
                    .map(|i| arrow::util::display::array_value_to_string(&values, i))
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|e| EngineError::Internal(format!("printing a vector column: {e}")))?;
                text.append_value(items.join(" "));
            }
            Ok(Arc::new(text.finish()))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let relaxed = Arc::new(Schema::new(
        batch
            .schema()
            .fields()
            .iter()
            .zip(&columns)
            .map(|(f, c)| Field::new(f.name(), c.data_type().clone(), true))
            .collect::<Vec<_>>(),
    ));
    RecordBatch::try_new(relaxed, columns).map_err(|e| EngineError::Internal(e.to_string()))
}

/// A DataFusion context with the catalogs and functions of one query.
fn context(model: &Arc<Model>) -> Result<SessionContext, EngineError> {
    let mut config = SessionConfig::new().with_target_partitions(1).with_information_schema(false);
    config.options_mut().sql_parser.dialect = datafusion::config::Dialect::PostgreSQL;
    // `::text` must give the same Utf8 as a stored text column, not a string view.
    config.options_mut().sql_parser.map_string_types_to_utf8view = false;
    let ctx = SessionContext::new_with_config(config);
    let catalog = ctx
        .catalog(&ctx.state().config_options().catalog.default_catalog)
        .ok_or_else(|| EngineError::Internal("the catalog context has no default catalog".into()))?;
    for namespace in [Namespace::PgCatalog, Namespace::InformationSchema] {
        catalog
            .register_schema(namespace.name(), Arc::new(SystemSchema { namespace, model: model.clone() }))
            .map_err(engine_error)?;
    }
    for udf in functions::udfs(model) {
        ctx.register_udf(udf);
    }
    ctx.register_udtf("pg_get_keywords", Arc::new(Keywords));
    ctx.register_udtf("pg_partition_ancestors", Arc::new(PartitionAncestors));
    Ok(ctx)
}

/// `pg_partition_ancestors(regclass)` in FROM (psql's `\d` lists foreign keys with it): the
/// table itself, as PostgreSQL answers for a table that is not a partition.
#[derive(Debug)]
struct PartitionAncestors;

impl datafusion::catalog::TableFunctionImpl for PartitionAncestors {
    fn call(&self, args: &[datafusion::logical_expr::Expr]) -> DfResult<Arc<dyn TableProvider>> {
        use datafusion::logical_expr::Expr;
        let relid = match args {
            [Expr::Literal(value, _)] => functions::oid(value),
            _ => return Err(DataFusionError::Plan("pg_partition_ancestors takes one constant regclass".into())),
        };
        let schema = Arc::new(Schema::new(vec![Field::new("relid", DataType::Int64, false)]));
        let batch = RecordBatch::try_new(schema.clone(), vec![Arc::new(arrow::array::Int64Array::from_iter_values(relid))])?;
        Ok(Arc::new(MemTable::try_new(schema, vec![vec![batch]])?))
    }
}

/// `pg_get_keywords()`: PostgreSQL's keywords that need quoting as identifiers (DBeaver reads
/// them to decide what to quote), as `(word, catcode, barelabel, catdesc, baredesc)`.
#[derive(Debug)]
struct Keywords;

impl datafusion::catalog::TableFunctionImpl for Keywords {
    fn call(&self, _args: &[datafusion::logical_expr::Expr]) -> DfResult<Arc<dyn TableProvider>> {
        use arrow::array::{BooleanArray, StringArray};
        let words = rhei_engine::naming::RESERVED_KEYWORDS;
        let schema = Arc::new(Schema::new(vec![
            Field::new("word", DataType::Utf8, false),
            Field::new("catcode", DataType::Utf8, false),
            Field::new("barelabel", DataType::Boolean, false),
            Field::new("catdesc", DataType::Utf8, false),
            Field::new("baredesc", DataType::Utf8, false),
        ]));
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![
                Arc::new(StringArray::from_iter_values(words.iter().copied())),
                Arc::new(StringArray::from_iter_values(words.iter().map(|_| "R"))),
                Arc::new(BooleanArray::from(vec![true; words.len()])),
                Arc::new(StringArray::from_iter_values(words.iter().map(|_| "reserved"))),
                Arc::new(StringArray::from_iter_values(words.iter().map(|_| "can be bare label"))),
            ],
        )?;
        Ok(Arc::new(MemTable::try_new(schema, vec![vec![batch]])?))
    }
}

/// One system schema; each table is built when a query first names it.
#[derive(Debug)]
struct SystemSchema {
    namespace: Namespace,
    model: Arc<Model>,
}

#[async_trait]
impl SchemaProvider for SystemSchema {
    fn as_any(&self) -> &dyn Any {
        self
    }

    fn table_names(&self) -> Vec<String> {
        SYSTEM_TABLES.iter().filter(|t| t.namespace == self.namespace).map(|t| t.name.to_string()).collect()
    }

    async fn table(&self, name: &str) -> DfResult<Option<Arc<dyn TableProvider>>> {
        let Some(table) = system_table(self.namespace, name) else { return Ok(None) };
        let batch = table.batch(&self.model).map_err(|e| DataFusionError::External(Box::new(e)))?;
        Ok(Some(Arc::new(MemTable::try_new(table.schema(), vec![vec![batch]])?)))
    }

    fn table_exist(&self, name: &str) -> bool {
        system_table(self.namespace, name).is_some()
    }
}

/// A DataFusion error as the engine's: an [`EngineError`] a catalog function raised keeps its
/// SQLSTATE; anything else is classified as the OLAP engine classifies it.
fn engine_error(err: DataFusionError) -> EngineError {
    match err {
        DataFusionError::External(inner) => match inner.downcast::<EngineError>() {
            Ok(engine) => *engine,
            Err(inner) => match inner.downcast::<DataFusionError>() {
                Ok(df) => engine_error(*df),
                Err(inner) => classify(DataFusionError::External(inner)),
            },
        },
        DataFusionError::Context(_, inner) | DataFusionError::Diagnostic(_, inner) => engine_error(*inner),
        DataFusionError::ArrowError(arrow, context) => match *arrow {
            arrow::error::ArrowError::ExternalError(inner) => engine_error(DataFusionError::External(inner)),
            other => classify(DataFusionError::ArrowError(Box::new(other), context)),
        },
        other => classify(other),
    }
}

#[cfg(test)]
mod tests;
