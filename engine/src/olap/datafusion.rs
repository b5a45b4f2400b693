//! The default OLAP backend: an in-memory Arrow copy of every table, queried with DataFusion.
//! DataFusion runs on its own multi-threaded runtime (`rhei-olap`), never on the network runtime,
//! so a long scan cannot starve connection handling; results cross back over a bounded channel
//! and dropping the receiver cancels the query.

use std::collections::HashMap;
use std::sync::Arc;

use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use datafusion::catalog::{CatalogProvider, MemoryCatalogProvider, MemoryCatalogProviderList, MemorySchemaProvider, SchemaProvider};
use datafusion::common::{DataFusionError, ScalarValue, SchemaError};
use datafusion::execution::SessionStateBuilder;
use datafusion::execution::context::SessionState;
use datafusion::logical_expr::LogicalPlan;
use datafusion::prelude::{SessionConfig, SessionContext};
use datafusion::sql::parser::Statement as DfStatement;
use datafusion::sql::sqlparser::ast::Statement;
use futures::StreamExt;
use parking_lot::{Mutex, RwLock};
use rhei_config::OlapPriority;
use tokio::sync::{mpsc, oneshot};

use crate::catalog::{TableDef, TableId};
use crate::error::{EngineError, Result};
use crate::olap::segments_table::SegmentsTable;
use crate::olap::store::TableStore;
use crate::olap::{OlapBackend, OlapRows, OlapTableStats, PlannedQuery, QueryWork, TableParts, conform_batch, result_schema};

const CHANNEL_BATCHES: usize = 4;

struct LiveTable {
    def: TableDef,
    store: TableStore,
    changed: bool,
}

struct PublishedTable {
    name: String,
    rows: u64,
    provider: Arc<SegmentsTable>,
}

/// Everything a query sees: all tables as of one sequence.
struct Snapshot {
    seq: u64,
    tables: HashMap<TableId, PublishedTable>,
    catalog: Arc<MemoryCatalogProviderList>,
}

/// In-memory Arrow tables queried with DataFusion.
pub struct DataFusionOlap {
    base: SessionState,
    partitions: usize,
    runtime: Option<tokio::runtime::Runtime>,
    live: Mutex<HashMap<TableId, LiveTable>>,
    published: RwLock<Arc<Snapshot>>,
}

/// The nice value of OLAP threads at `OlapPriority::Low` (0-19; higher yields more).
const LOW_NICE: libc::c_int = 10;

/// Gives the calling OLAP thread its CPU priority. Below normal, when the cores are contended
/// the SQLite writer, the readers and the network threads run first: a long analytical query
/// slows itself rather than the transactions beside it. On an otherwise idle machine it
/// changes nothing. (Only lowering needs no privilege, so threads start at normal.)
pub(crate) fn set_priority(priority: OlapPriority) {
    #[cfg(target_os = "linux")]
    // SAFETY: gettid, sched_setscheduler and setpriority only read their arguments; with a
    // thread id they change that thread alone.
    unsafe {
        let tid = libc::syscall(libc::SYS_gettid) as libc::pid_t;
        let failed = match priority {
            OlapPriority::Normal => false,
            OlapPriority::Low => libc::setpriority(libc::PRIO_PROCESS, tid as libc::id_t, LOW_NICE) != 0,
            OlapPriority::Idle => libc::sched_setscheduler(tid, libc::SCHED_IDLE, &libc::sched_param { sched_priority: 0 }) != 0,
        };
        if failed {
            tracing::debug!("could not lower the OLAP thread's priority: {}", std::io::Error::last_os_error());
        }
    }
}

/// DataFusion's settings for rhei's queries on `threads` threads (also what a benchmark gives
/// an in-process DataFusion it compares rhei with).
pub fn session_config(threads: usize) -> SessionConfig {
    let mut config = SessionConfig::new().with_target_partitions(threads).with_information_schema(false).with_batch_size(8192);
    config.options_mut().sql_parser.dialect = datafusion::config::Dialect::PostgreSQL;
    // `::text` must give the same Utf8 as a stored text column, not a string view.
    config.options_mut().sql_parser.map_string_types_to_utf8view = false;
    // `1.10` is numeric(3,2) in PostgreSQL, exact and with its scale, not a float.
    config.options_mut().sql_parser.parse_float_as_decimal = true;
    // `::timestamptz` and `TIMESTAMPTZ '...'` must carry a zone, as stored timestamptz columns
    // do; with none configured DataFusion types them as plain timestamps.
    config.options_mut().execution.time_zone = Some("UTC".into());
    // The top-k aggregation (`SELECT DISTINCT k ... ORDER BY k NULLS FIRST LIMIT n`) ignores
    // where NULLs sort and answered `oslo, paris` for PostgreSQL's `NULL, oslo`. It serves only
    // ORDER BY a group key or a min/max with LIMIT, none of the TPC-H queries.
    config.options_mut().optimizer.enable_topk_aggregation = false;
    config
}

/// Registers `udf` in place of any function of its name. DataFusion's own goes first, with its
/// aliases: every statement's state is rebuilt from the base one, registering each function
/// again, so an alias left behind brings DataFusion's back under the name, and which one wins
/// is the hash order of the moment (`string_to_array('', ',')` was `{}` or `{""}` by turns).
fn register(context: &SessionContext, udf: datafusion::logical_expr::ScalarUDF) {
    let _ = context.deregister_udf(udf.name());
    context.register_udf(udf);
}

impl DataFusionOlap {
    /// Creates the backend with `threads` query threads (0 = number of cores) at `priority`.
    ///
    /// # Errors
    /// The runtime cannot be started.
    pub fn new(threads: usize, priority: OlapPriority) -> Result<Self> {
        let threads = if threads == 0 { std::thread::available_parallelism().map_or(2, |n| n.get()) } else { threads };
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads)
            .thread_name("rhei-olap")
            .on_thread_start(move || set_priority(priority))
            .enable_all()
            .build()
            .map_err(|e| EngineError::Internal(format!("could not start the OLAP runtime: {e}")))?;
        let context = SessionContext::new_with_config(session_config(threads));
        register(&context, datafusion::logical_expr::ScalarUDF::from(super::udf::Divisor::default()));
        context.register_udaf(datafusion::logical_expr::AggregateUDF::from(super::numeric_spread::NumericSpread::default()));
        for aggregate in super::interval_aggregates::IntervalAggregateFunction::all() {
            context.register_udaf(datafusion::logical_expr::AggregateUDF::from(aggregate));
        }
        register(&context, datafusion::logical_expr::ScalarUDF::from(super::udf::RoundForCast::default()));
        register(&context, datafusion::logical_expr::ScalarUDF::from(super::udf::Round::default()));
        register(&context, datafusion::logical_expr::ScalarUDF::from(super::udf::ToChar::default()));
        register(&context, datafusion::logical_expr::ScalarUDF::from(super::udf::IntervalKey::default()));
        register(&context, datafusion::logical_expr::ScalarUDF::from(super::udf::IntervalText::default()));
        register(&context, datafusion::logical_expr::ScalarUDF::from(super::udf::Normalize::default()));
        register(&context, datafusion::logical_expr::ScalarUDF::from(super::udf::Unistr::default()));
        register(&context, datafusion::logical_expr::ScalarUDF::from(super::udf::JsonItems::default()));
        register(&context, datafusion::logical_expr::ScalarUDF::from(super::udf::MakeTimestamp::default()));
        register(&context, datafusion::logical_expr::ScalarUDF::from(super::udf::TypeOf::default()));
        register(&context, datafusion::logical_expr::ScalarUDF::from(super::udf::MakeTimestamptz::default()));
        register(&context, datafusion::logical_expr::ScalarUDF::from(super::udf::TimestampText::default()));
        register(&context, datafusion::logical_expr::ScalarUDF::from(super::udf::AsText::default()));
        register(&context, datafusion::logical_expr::ScalarUDF::from(super::udf::QuoteLiteral::default()));
        register(&context, datafusion::logical_expr::ScalarUDF::from(super::udf::QuoteIdent::default()));
        register(&context, datafusion::logical_expr::ScalarUDF::from(super::udf::SizePretty::default()));
        register(&context, datafusion::logical_expr::ScalarUDF::from(super::udf::Format::default()));
        register(&context, datafusion::logical_expr::ScalarUDF::from(super::udf::MathDomain::default()));
        register(&context, datafusion::logical_expr::ScalarUDF::from(super::udf::Percentile::default()));
        register(&context, datafusion::logical_expr::ScalarUDF::from(super::udf::RoundTimestamp::default()));
        register(&context, datafusion::logical_expr::ScalarUDF::from(super::udf::RoundTime::default()));
        register(&context, datafusion::logical_expr::ScalarUDF::from(super::udf::CannotCastToTime::default()));
        register(&context, datafusion::logical_expr::ScalarUDF::from(super::udf::ToDate::default()));
        register(&context, datafusion::logical_expr::ScalarUDF::from(super::udf::ArrayKey::default()));
        register(&context, datafusion::logical_expr::ScalarUDF::from(super::udf::ToTimestamp::default()));
        register(&context, datafusion::logical_expr::ScalarUDF::from(super::udf::DeclaredText::default()));
        register(&context, datafusion::logical_expr::ScalarUDF::from(super::udf::ToNumber::default()));
        register(&context, datafusion::logical_expr::ScalarUDF::from(super::udf::NumericInput::default()));
        register(&context, datafusion::logical_expr::ScalarUDF::from(super::udf::NumericOp::default()));
        register(&context, datafusion::logical_expr::ScalarUDF::from(super::udf::NumericFunction::default()));
        register(&context, datafusion::logical_expr::ScalarUDF::from(super::udf::TrimScale::default()));
        register(&context, datafusion::logical_expr::ScalarUDF::from(super::udf::IntegralDivision::default()));
        register(&context, datafusion::logical_expr::ScalarUDF::from(super::udf::ScaleOf::default()));
        register(&context, datafusion::logical_expr::ScalarUDF::from(super::udf::MinScale::default()));
        register(&context, datafusion::logical_expr::ScalarUDF::from(super::udf::Unconstrained::default()));
        register(&context, datafusion::logical_expr::ScalarUDF::from(super::udf::ToHex::default()));
        register(&context, datafusion::logical_expr::ScalarUDF::from(super::udf::WidthBucket::default()));
        register(&context, datafusion::logical_expr::ScalarUDF::from(super::udf::Mode::default()));
        register(&context, datafusion::logical_expr::ScalarUDF::from(super::udf::LikeAny::default()));
        register(&context, datafusion::logical_expr::ScalarUDF::from(super::udf::Instant::default()));
        register(&context, datafusion::logical_expr::ScalarUDF::from(super::udf::SimilarToEscape::default()));
        for function in super::udf::SplitToArray::both() {
            register(&context, datafusion::logical_expr::ScalarUDF::from(function));
        }
        register(&context, datafusion::logical_expr::ScalarUDF::from(super::udf::IntervalPart::default()));
        for product in super::udf::IntervalProduct::both() {
            register(&context, datafusion::logical_expr::ScalarUDF::from(product));
        }
        for function in super::udf::IntervalFunction::all() {
            register(&context, datafusion::logical_expr::ScalarUDF::from(function));
        }
        for function in super::udf::DegreeTrig::all() {
            register(&context, datafusion::logical_expr::ScalarUDF::from(function));
        }
        for function in super::udf::RegexpSearch::all() {
            register(&context, datafusion::logical_expr::ScalarUDF::from(function));
        }
        for function in super::bytea::ByteaFunction::all() {
            register(&context, datafusion::logical_expr::ScalarUDF::from(function));
        }
        for function in super::udf::JsonFunction::all() {
            register(&context, datafusion::logical_expr::ScalarUDF::from(function));
        }
        for function in super::network::NetworkFunction::all() {
            register(&context, datafusion::logical_expr::ScalarUDF::from(function));
        }
        for function in super::udf::WriterOnly::all() {
            register(&context, datafusion::logical_expr::ScalarUDF::from(function));
        }
        register(&context, datafusion::logical_expr::ScalarUDF::from(super::udf::UndefinedSetting::default()));
        register(&context, datafusion::logical_expr::ScalarUDF::from(super::udf::EnumInput::default()));
        register(&context, datafusion::logical_expr::ScalarUDF::from(super::udf::ClockTimestamp::default()));
        register(&context, datafusion::logical_expr::ScalarUDF::from(super::udf::DateBin::default()));
        register(&context, datafusion::logical_expr::ScalarUDF::from(super::udf::Factorial::default()));
        register(&context, datafusion::logical_expr::ScalarUDF::from(super::udf::MakeTime::default()));
        register(&context, datafusion::logical_expr::ScalarUDF::from(super::checked::CheckedArithmetic::default()));
        context.add_analyzer_rule(Arc::new(super::checked::CheckIntegerOverflow::default()));
        let base = SessionStateBuilder::new_from_existing(context.state()).with_physical_optimizer_rule(Arc::new(super::coop::CooperativeJoins)).build();
        let snapshot = Snapshot { seq: 0, tables: HashMap::new(), catalog: Arc::new(MemoryCatalogProviderList::new()) };
        Ok(Self {
            base,
            partitions: threads,
            runtime: Some(runtime),
            live: Mutex::new(HashMap::new()),
            published: RwLock::new(Arc::new(snapshot)),
        })
    }

    /// The state one statement plans and runs in. Its start time is now: `now()` reads it, and
    /// the base state's is the engine's opening (every OLAP `now()` answered that before).
    fn state_for(&self, snapshot: &Snapshot) -> SessionState {
        let mut state = SessionStateBuilder::new_from_existing(self.base.clone()).with_catalog_list(snapshot.catalog.clone()).build();
        state.mark_start_execution();
        state
    }

    /// A state for planning only: the snapshot's tables and, empty, the `unpublished` ones it
    /// does not have (made in a transaction block that has not committed).
    fn state_with(&self, snapshot: &Snapshot, unpublished: Vec<(String, SchemaRef)>) -> Result<SessionState> {
        let schema = MemorySchemaProvider::new();
        for table in snapshot.tables.values() {
            schema.register_table(table.name.clone(), table.provider.clone()).map_err(classify)?;
        }
        for (name, table_schema) in unpublished {
            if !schema.table_exist(&name) {
                let empty = datafusion::datasource::MemTable::try_new(table_schema, vec![Vec::new()]).map_err(classify)?;
                schema.register_table(name, Arc::new(empty)).map_err(classify)?;
            }
        }
        let catalog = MemoryCatalogProvider::new();
        catalog.register_schema("public", Arc::new(schema)).map_err(classify)?;
        let catalog_list = MemoryCatalogProviderList::new();
        datafusion::catalog::CatalogProviderList::register_catalog(&catalog_list, "datafusion".into(), Arc::new(catalog));
        let mut state = SessionStateBuilder::new_from_existing(self.base.clone()).with_catalog_list(Arc::new(catalog_list)).build();
        state.mark_start_execution();
        Ok(state)
    }
}

/// Maps a DataFusion error to the engine's, by variant.
/// The types a plan infers for its `$1`, `$2`, ... parameters, in order (`None` where it
/// cannot tell).
///
/// # Errors
/// DataFusion's, classified.
pub fn parameter_types(plan: &datafusion::logical_expr::LogicalPlan) -> Result<Vec<Option<arrow::datatypes::DataType>>> {
    let mut params = Vec::new();
    for (name, ty) in plan.get_parameter_types().map_err(classify)? {
        let Some(n) = name.strip_prefix('$').and_then(|n| n.parse::<usize>().ok()).filter(|n| *n > 0) else {
            continue;
        };
        if params.len() < n {
            params.resize(n, None);
        }
        params[n - 1] = ty;
    }
    Ok(params)
}

/// Plans a statement. PostgreSQL lets result columns share a name (`SELECT min(a), min(b)`,
/// `SELECT c.oid, c.*`); DataFusion wants unique names, so a projection it refuses for that is
/// planned again with its items aliased apart (`naming::alias_apart`). Returns the plan and
/// the names to put back on its result columns.
pub async fn plan_statement(
    state: &SessionState,
    stmt: Statement,
) -> std::result::Result<(LogicalPlan, Vec<(String, String)>), DataFusionError> {
    match state.statement_to_plan(DfStatement::Statement(Box::new(stmt.clone()))).await {
        Err(e) if e.to_string().contains("Projections require unique expression names") => {
            let mut stmt = stmt;
            let renames = match &mut stmt {
                Statement::Query(query) => crate::naming::alias_apart(query),
                _ => Vec::new(),
            };
            let plan = state.statement_to_plan(DfStatement::Statement(Box::new(stmt))).await?;
            Ok((plan, renames))
        }
        // A result column named as a column of the table beside that column (`SELECT id, 5 AS
        // id`) is refused as an ambiguous reference; aliased apart it plans. Where that does
        // not help, the reference was ambiguous (`ORDER BY id` there, as in PostgreSQL).
        Err(e @ DataFusionError::SchemaError(..)) if matches!(&e, DataFusionError::SchemaError(schema, _) if matches!(**schema, datafusion::common::SchemaError::AmbiguousReference { .. })) => {
            let mut apart = stmt;
            let renames = match &mut apart {
                Statement::Query(query) if !orders_by_a_name_given_twice(query) => crate::naming::alias_apart(query),
                _ => return Err(e),
            };
            match state.statement_to_plan(DfStatement::Statement(Box::new(apart))).await {
                Ok(plan) => Ok((plan, renames)),
                Err(_) => Err(e),
            }
        }
        other => other.map(|plan| (plan, Vec::new())),
    }
}

/// Whether `query` is ordered by a bare name two of its result columns have, which PostgreSQL
/// finds ambiguous (and aliased apart, DataFusion would read as the table's column).
fn orders_by_a_name_given_twice(query: &datafusion::sql::sqlparser::ast::Query) -> bool {
    use datafusion::sql::sqlparser::ast::{Expr, OrderByKind};
    let Some(names) = crate::naming::output_names(query) else { return false };
    let Some(OrderByKind::Expressions(order)) = query.order_by.as_ref().map(|o| &o.kind) else { return false };
    order.iter().any(|item| match &item.expr {
        Expr::Identifier(ident) => names.iter().filter(|n| **n == crate::catalog::normalize_ident(ident)).count() > 1,
        _ => false,
    })
}

/// A result schema with aliased-apart columns named as PostgreSQL names them (equal names
/// are fine in an Arrow schema).
pub fn renamed_apart(schema: SchemaRef, renames: &[(String, String)]) -> SchemaRef {
    if renames.is_empty() {
        return schema;
    }
    let fields: Vec<arrow::datatypes::Field> = schema
        .fields()
        .iter()
        .map(|f| match renames.iter().find(|(alias, _)| alias == f.name()) {
            Some((_, name)) => f.as_ref().clone().with_name(name.clone()),
            None => f.as_ref().clone(),
        })
        .collect();
    Arc::new(arrow::datatypes::Schema::new(fields))
}

/// A DataFusion planning error as PostgreSQL reports the same mistake. DataFusion's Plan
/// errors carry only a message, so the mistakes PostgreSQL gives their own SQLSTATE are told
/// apart by the message's fixed wording (pinned by the slt error tests).
fn plan_error(msg: &str) -> EngineError {
    let quoted = |after: &str| msg.split_once(after).and_then(|(_, rest)| rest.split('"').nth(1)).map(str::to_string);
    if msg.contains("Correlated scalar subquery must be aggregated") {
        EngineError::unsupported("a correlated scalar subquery that is not an aggregate on DataFusion (auto routing runs it on SQLite)")
    } else if msg.contains("UNION queries have different number of columns") {
        EngineError::syntax("each UNION query must have the same number of columns")
    } else if msg.starts_with("Column in SELECT must be in GROUP BY") || msg.contains("Projection references non-aggregate values") {
        let column = quoted("column").unwrap_or_default();
        let column = column.rsplit('.').next().unwrap_or(&column).to_string();
        EngineError::GroupingError {
            message: format!("column \"{column}\" must appear in the GROUP BY clause or be used in an aggregate function"),
        }
    } else if msg.starts_with("Aggregate functions are not allowed in the WHERE clause") {
        EngineError::GroupingError { message: "aggregate functions are not allowed in WHERE".into() }
    } else if let Some(rest) = msg.strip_prefix("Order by column out of bounds, specified: ") {
        let position = rest.split(',').next().unwrap_or(rest);
        EngineError::InvalidColumnReference { message: format!("ORDER BY position {position} is not in select list") }
    } else if msg.starts_with("SELECT DISTINCT ON expressions must match initial ORDER BY expressions") {
        EngineError::InvalidColumnReference { message: "SELECT DISTINCT ON expressions must match initial ORDER BY expressions".into() }
    } else if msg.starts_with("LIMIT must be >= 0") {
        EngineError::NegativeLimit
    } else if msg.starts_with("OFFSET must be >=0") {
        EngineError::NegativeOffset
    } else if let Some(rest) = msg.strip_prefix("Cannot coerce arithmetic expression ") {
        EngineError::UndefinedOperator { operator: rest.trim_end_matches(" to valid types").to_string() }
    } else if let Some(rest) = msg.strip_prefix("Failed to coerce arguments to satisfy a call to '") {
        EngineError::UndefinedFunction { name: rest.split('\'').next().unwrap_or(rest).to_string() }
    } else if msg.starts_with("Cannot create filter with non-boolean predicate") {
        EngineError::TypeMismatch { message: "argument of WHERE must be type boolean".into() }
    } else if let Some(rest) = msg.strip_prefix("Cannot infer common argument type for logical boolean operation ") {
        // `Int32 AND Boolean`, `Decimal128(38, 10) OR Boolean`: PostgreSQL names the operator
        // whose argument is not a boolean.
        let operator = rest.split_whitespace().find(|w| *w == "AND" || *w == "OR").unwrap_or("AND");
        EngineError::TypeMismatch { message: format!("argument of {operator} must be type boolean") }
    } else {
        EngineError::Olap(msg.to_string())
    }
}

/// DataFusion's refusal of a cast between two date/time types PostgreSQL has no cast between
/// either (`date::time`): 42846, as PostgreSQL says it.
fn unsupported_cast(what: &str) -> Option<EngineError> {
    let (from, to) = what.strip_prefix("Unsupported CAST from ")?.split_once(" to ")?;
    let to = to.strip_suffix(" is not supported").unwrap_or(to);
    let name = |arrow: &str| match arrow {
        "Date32" => Some("date"),
        t if t.starts_with("Time64") => Some("time without time zone"),
        // Arrow writes a zone as a second argument: `Timestamp(µs, "UTC")`.
        t if t.starts_with("Timestamp") && !t.contains(',') => Some("timestamp without time zone"),
        t if t.starts_with("Timestamp") => Some("timestamp with time zone"),
        _ => None,
    };
    Some(EngineError::CannotCoerce { from: name(from)?.into(), to: name(to)?.into() })
}

/// Arrow's failed cast of text ("Cannot cast string 'abc' to value of Int32 type", its only
/// report, a message) as PostgreSQL reports it: `invalid input syntax for type integer:
/// "abc"` (22P02), an integer past the type's range 22003, a date 22007.
fn cast_error(msg: &str) -> EngineError {
    let parsed = msg.strip_prefix("Cannot cast string '").and_then(|rest| rest.rsplit_once("' to value of ")).and_then(|(value, ty)| {
        let type_name = match ty.strip_suffix(" type")? {
            "Int16" => "smallint",
            "Int32" => "integer",
            "Int64" => "bigint",
            "Float32" => "real",
            "Float64" => "double precision",
            "Boolean" => "boolean",
            "Date32" => return Some(EngineError::InvalidDatetimeFormat { type_name: "date".into(), value: value.to_string() }),
            // PostgreSQL's error for the text, or 22007 for one it reads that Arrow does not.
            t if t.starts_with("Time64") => {
                let arrow_only = || EngineError::InvalidDatetimeFormat { type_name: "time".into(), value: value.to_string() };
                return Some(crate::value::parse_time_of_day(value).err().unwrap_or_else(arrow_only));
            }
            t if t.starts_with("Decimal") => "numeric",
            _ => return None,
        };
        if matches!(type_name, "smallint" | "integer" | "bigint") && value.trim().parse::<i128>().is_ok() {
            return Some(EngineError::IntegerValueOutOfRange { value: value.to_string(), type_name });
        }
        Some(EngineError::InvalidTextRepresentation { type_name: type_name.into(), value: value.to_string() })
    });
    parsed.unwrap_or_else(|| EngineError::InvalidTextRepresentation { type_name: "value".into(), value: msg.to_string() })
}

/// An error rhei's own functions raised inside DataFusion (with its SQLSTATE), found in the
/// layers DataFusion wraps it in: context, a stream's error carried through Arrow (an unnest's
/// input), an error shared between the consumers of one input.
fn rhei_error_inside(err: &DataFusionError) -> Option<EngineError> {
    fn external(inner: &(dyn std::error::Error + Send + Sync + 'static)) -> Option<EngineError> {
        match inner.downcast_ref::<EngineError>() {
            Some(own) => Some(own.clone()),
            None => inner.downcast_ref::<DataFusionError>().and_then(rhei_error_inside),
        }
    }
    match err {
        DataFusionError::Context(_, inner) => rhei_error_inside(inner),
        DataFusionError::Shared(inner) => rhei_error_inside(inner),
        DataFusionError::External(inner) => external(inner.as_ref()),
        DataFusionError::ArrowError(arrow, _) => match arrow.as_ref() {
            arrow::error::ArrowError::ExternalError(inner) => external(inner.as_ref()),
            _ => None,
        },
        _ => None,
    }
}

pub fn classify(err: DataFusionError) -> EngineError {
    if let Some(own) = rhei_error_inside(&err) {
        return own;
    }
    match err.find_root() {
        DataFusionError::SQL(parser, _) => EngineError::syntax(parser),
        DataFusionError::SchemaError(schema, _) => match schema.as_ref() {
            SchemaError::FieldNotFound { field, .. } => {
                EngineError::UndefinedColumn { column: field.name.clone(), table: field.relation.as_ref().map(|r| r.to_string()) }
            }
            SchemaError::AmbiguousReference { field } => EngineError::AmbiguousColumn { column: field.name.clone() },
            other => EngineError::Olap(other.to_string()),
        },
        DataFusionError::NotImplemented(what) => unsupported_cast(&what).unwrap_or_else(|| EngineError::unsupported(what)),
        DataFusionError::ArrowError(arrow, _) => match arrow.as_ref() {
            arrow::error::ArrowError::DivideByZero => EngineError::DivisionByZero,
            arrow::error::ArrowError::ArithmeticOverflow(_) => EngineError::NumericOutOfRange { type_name: "value".into() },
            // `AT TIME ZONE 'Mars/Olympus'`: "Invalid timezone \"Mars/Olympus\": failed to parse timezone".
            arrow::error::ArrowError::ParseError(msg) if msg.starts_with("Invalid timezone") => EngineError::InvalidArgument {
                message: format!("time zone \"{}\" not recognized", msg.split('"').nth(1).unwrap_or(msg)),
            },
            // `'abc'::interval` of a computed string: "Invalid input syntax for type interval: \"abc\"".
            arrow::error::ArrowError::ParseError(msg) if msg.starts_with("Invalid input syntax for type interval") => {
                EngineError::InvalidDatetimeFormat { type_name: "interval".into(), value: msg.split('"').nth(1).unwrap_or(msg).to_string() }
            }
            arrow::error::ArrowError::CastError(msg) => cast_error(msg),
            other => EngineError::Olap(other.to_string()),
        },
        DataFusionError::Plan(msg) => match msg.strip_prefix("table '").and_then(|m| m.split_once("' not found")) {
            Some((name, _)) => EngineError::UndefinedTable { name: name.rsplit('.').next().unwrap_or(name).to_string() },
            // "Invalid function 'f'.\nDid you mean 'g'?": the name is the first quoted word.
            None if msg.starts_with("Invalid function") => EngineError::UndefinedFunction {
                name: msg.split('\'').nth(1).unwrap_or(msg).to_string(),
            },
            None => plan_error(msg),
        },
        DataFusionError::Execution(msg) if msg.starts_with("negative substring length not allowed") => {
            EngineError::NegativeSubstringLength
        }
        // DataFusion's regular-expression functions report a bad pattern as the regex crate's
        // error, wrapped in one or two layers.
        other if other.to_string().contains("regex parse error") => {
            let message = other.to_string();
            EngineError::InvalidRegularExpression { message: message.lines().last().unwrap_or(&message).trim().to_string() }
        }
        other if ["Function 'sum'", "Function 'avg'"].iter().any(|f| other.to_string().contains(f)) && other.to_string().contains("Interval(") => {
            EngineError::unsupported("sum and avg of intervals on DataFusion (auto routing runs them on SQLite)")
        }
        other => EngineError::Olap(other.to_string()),
    }
}

#[async_trait::async_trait]
impl OlapBackend for DataFusionOlap {
    fn load_table(&self, def: &TableDef, batches: Vec<RecordBatch>, rowids: Vec<i64>) -> Result<()> {
        let store = TableStore::from_batches(def.arrow_schema(), batches, rowids)?;
        self.live.lock().insert(def.id, LiveTable { def: def.clone(), store, changed: true });
        Ok(())
    }

    fn apply_changes(&self, id: TableId, removed: &[i64], upserts: Option<RecordBatch>, upsert_rowids: Vec<i64>) -> Result<()> {
        let mut live = self.live.lock();
        let table = live.get_mut(&id).ok_or_else(|| EngineError::Internal(format!("OLAP table {} not loaded", id.0)))?;
        table.store.apply(removed, upserts, upsert_rowids)?;
        table.changed = true;
        Ok(())
    }

    fn drop_table(&self, id: TableId) -> Result<()> {
        self.live.lock().remove(&id);
        Ok(())
    }

    fn load_persisted(&self, def: &TableDef, files: Vec<(RecordBatch, Vec<i64>, u64)>) -> Result<()> {
        let store = TableStore::from_files(def.arrow_schema(), files)?;
        self.live.lock().insert(def.id, LiveTable { def: def.clone(), store, changed: true });
        Ok(())
    }

    fn persist_parts(&self) -> Result<Vec<TableParts>> {
        let live = self.live.lock();
        let mut tables = Vec::with_capacity(live.len());
        for (id, table) in live.iter() {
            tables.push(TableParts {
                id: *id,
                name: table.def.name.clone(),
                schema: table.store.schema().clone(),
                parts: table.store.persist_parts(),
            });
        }
        Ok(tables)
    }

    fn mark_persisted(&self, id: TableId, written: &[(u64, u64)]) {
        if let Some(table) = self.live.lock().get_mut(&id) {
            for &(state, file) in written {
                table.store.mark_persisted(state, file);
            }
        }
    }

    fn publish(&self, seq: u64) -> Result<()> {
        let previous = self.published.read().clone();
        let mut live = self.live.lock();
        let mut tables = HashMap::with_capacity(live.len());
        let catalog_list = MemoryCatalogProviderList::new();
        let catalog = MemoryCatalogProvider::new();
        let schema = Arc::new(MemorySchemaProvider::new());
        for (id, table) in live.iter_mut() {
            let reuse = previous.tables.get(id).filter(|p| !table.changed && p.name == table.def.name);
            let published = match reuse {
                Some(p) => PublishedTable { name: p.name.clone(), rows: p.rows, provider: p.provider.clone() },
                None => {
                    let segments = table.store.snapshot();
                    // The primary key, declared to the planner: grouping by it lets a query select
                    // the table's other columns, as PostgreSQL allows (functional dependency).
                    let key = &table.def.primary_key;
                    let constraints = if key.is_empty() || table.def.is_temporal() {
                        datafusion::common::Constraints::default()
                    } else {
                        datafusion::common::Constraints::new_unverified(vec![datafusion::common::Constraint::PrimaryKey(key.clone())])
                    };
                    let provider = SegmentsTable::new(table.store.schema().clone(), constraints, segments, self.partitions);
                    PublishedTable {
                        name: table.def.name.clone(),
                        rows: table.store.live_rows() as u64,
                        provider: Arc::new(provider),
                    }
                }
            };
            table.changed = false;
            schema.register_table(published.name.clone(), published.provider.clone()).map_err(classify)?;
            tables.insert(*id, published);
        }
        drop(live);
        catalog.register_schema("public", schema).map_err(classify)?;
        datafusion::catalog::CatalogProviderList::register_catalog(
            &catalog_list,
            "datafusion".into(),
            Arc::new(catalog),
        );
        *self.published.write() = Arc::new(Snapshot { seq, tables, catalog: Arc::new(catalog_list) });
        Ok(())
    }

    fn published_seq(&self) -> u64 {
        self.published.read().seq
    }

    fn table_stats(&self) -> Vec<OlapTableStats> {
        let snapshot = self.published.read().clone();
        let mut stats: Vec<_> = snapshot
            .tables
            .iter()
            .map(|(id, t)| OlapTableStats { id: *id, name: t.name.clone(), rows: t.rows })
            .collect();
        stats.sort_by(|a, b| a.name.cmp(&b.name));
        stats
    }

    async fn query(&self, stmt: Statement, params: Vec<ScalarValue>) -> Result<OlapRows> {
        let snapshot = self.published.read().clone();
        let state = self.state_for(&snapshot);
        let (schema_tx, schema_rx) = oneshot::channel::<Result<SchemaRef>>();
        let (tx, rx) = mpsc::channel(CHANNEL_BATCHES);
        let runtime = self.runtime.as_ref().ok_or(EngineError::ShuttingDown)?;
        let task = runtime.spawn(async move {
            let started = async {
                let (plan, renames) = plan_statement(&state, stmt).await?;
                let plan = if params.is_empty() { plan } else { plan.with_param_values(params)? };
                let physical = state.create_physical_plan(&plan).await?;
                let stream = datafusion::physical_plan::execute_stream(physical, state.task_ctx())?;
                Ok::<_, DataFusionError>((stream, renames))
            };
            let (mut stream, renames) = match started.await {
                Ok(started) => started,
                Err(e) => {
                    let _ = schema_tx.send(Err(classify(e)));
                    return;
                }
            };
            let schema = renamed_apart(result_schema(&stream.schema()), &renames);
            let _ = schema_tx.send(Ok(schema.clone()));
            let _keep_snapshot_alive = snapshot;
            while let Some(item) = stream.next().await {
                let item = item.map_err(classify).and_then(|b| conform_batch(b, &schema));
                let failed = item.is_err();
                if tx.send(item).await.is_err() || failed {
                    break;
                }
            }
        });
        // Made before the first await, so a caller that gives up while planning stops it too.
        let work = QueryWork(task.abort_handle());
        let schema = schema_rx.await.map_err(|_| EngineError::Internal("OLAP query task ended early".into()))??;
        Ok(OlapRows { schema, batches: rx, work })
    }

    async fn plan_schema(&self, stmt: Statement, unpublished: Vec<(String, SchemaRef)>) -> Result<PlannedQuery> {
        let snapshot = self.published.read().clone();
        let state = if unpublished.is_empty() { self.state_for(&snapshot) } else { self.state_with(&snapshot, unpublished)? };
        let (plan, renames) = plan_statement(&state, stmt).await.map_err(classify)?;
        let params = parameter_types(&plan)?;
        // The result's types as it runs: the analyzer's type coercion decides a CASE's type
        // from all its branches (before it, the first one's: `CASE WHEN c THEN 0 ELSE x END`
        // of a numeric x was integer, and SQLite's answers were cast to it). A plan it cannot
        // analyze yet (parameters of unknown type) keeps the planner's types.
        // Only the types: the analyzer merges a UNION's declared types with later branches
        // winning (`text UNION char(3)` declared bpchar), where the planner keeps what all share.
        let analyzed = state.analyzer().execute_and_check(plan.clone(), state.config_options(), |_, _| {}).ok();
        let planned = plan.schema().as_arrow().clone();
        let schema = match analyzed.as_ref().map(|a| a.schema().as_arrow().clone()) {
            Some(typed) if typed.fields().len() == planned.fields().len() => arrow::datatypes::Schema::new_with_metadata(
                planned
                    .fields()
                    .iter()
                    .zip(typed.fields())
                    .map(|(field, typed)| {
                        let retyped = field.as_ref().clone().with_data_type(typed.data_type().clone());
                        if typed.data_type() == field.data_type() { retyped } else { retyped.with_metadata(Default::default()) }
                    })
                    .collect::<Vec<_>>(),
                planned.metadata().clone(),
            ),
            _ => planned,
        };
        Ok(PlannedQuery { schema: renamed_apart(result_schema(&Arc::new(schema)), &renames), params })
    }
}

impl Drop for DataFusionOlap {
    fn drop(&mut self) {
        // Dropping a runtime blocks; this may run inside another runtime, where blocking panics.
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn an_unknown_function_is_named_alone() {
        let err = super::classify(datafusion::error::DataFusionError::Plan("Invalid function 'row_to_jsn'.\nDid you mean 'to_json'?".into()));
        assert_eq!(err.sqlstate(), "42883");
        assert_eq!(err.to_string(), "function row_to_jsn does not exist");
    }

    use std::time::Duration;

    use super::*;

    /// An aggregate over a huge join sends nothing until it is done; dropping its rows (a
    /// timeout, a cancel) must stop its work rather than leave it holding the OLAP threads.
    #[test]
    fn a_non_boolean_operand_names_its_operator() {
        for (types, operator) in [("Int32 AND Boolean", "AND"), ("Decimal128(38, 10) OR Boolean", "OR")] {
            let err = plan_error(&format!("Cannot infer common argument type for logical boolean operation {types}"));
            assert_eq!(err.sqlstate(), "42804");
            assert_eq!(err.to_string(), format!("argument of {operator} must be type boolean"), "{types}");
        }
    }

    /// rhei's functions replace DataFusion's of the same name in the state statements are
    /// planned in, and no alias keeps one of DataFusion's reachable beside them.
    #[test]
    fn rheis_functions_replace_datafusions_for_good() {
        let olap = DataFusionOlap::new(1, OlapPriority::Normal).unwrap();
        let state = SessionStateBuilder::new_from_existing(olap.base.clone()).build();
        let functions = state.scalar_functions();
        let ours = functions.get("string_to_array").expect("string_to_array");
        assert!(ours.inner().as_any().is::<super::super::udf::SplitToArray>(), "DataFusion's string_to_array answers");
        for (key, function) in functions {
            let by_name = functions.get(function.name()).expect("a function is registered under its name");
            assert!(Arc::ptr_eq(function, by_name), "{key} is another {} than the one of that name", function.name());
        }
    }

    #[tokio::test]
    async fn dropping_a_query_stops_its_work() {
        let olap = DataFusionOlap::new(2, OlapPriority::Normal).unwrap();
        let sql = "SELECT count(*) FROM generate_series(1, 100000000) a, generate_series(1, 100000000) b WHERE a.value > b.value";
        let stmt = datafusion::sql::parser::DFParser::parse_sql(sql).unwrap().pop_front().unwrap();
        let datafusion::sql::parser::Statement::Statement(stmt) = stmt else { panic!("not a query") };
        let alive = || olap.runtime.as_ref().unwrap().metrics().num_alive_tasks();
        let rows = olap.query(*stmt, Vec::new()).await.unwrap();
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert!(alive() > 0, "the query is not running");
        drop(rows);
        let gave_up = tokio::time::Instant::now() + Duration::from_secs(20);
        while alive() > 0 {
            assert!(tokio::time::Instant::now() < gave_up, "{} tasks still run after their query was dropped", alive());
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}
