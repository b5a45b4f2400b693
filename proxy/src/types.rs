//! Arrow to the wire: result column descriptions (OID per column), parameter types, and the
//! stream of DataRows (encoded by [`crate::encode`]). Only this crate knows Postgres OIDs.

use std::sync::Arc;

use arrow::array::RecordBatch;
use arrow::datatypes::{DataType, Schema, SchemaRef};
use futures::{Stream, StreamExt, stream};
use pgwire::api::Type;
use pgwire::api::portal::Format;
use pgwire::api::results::FieldInfo;
use pgwire::error::PgWireResult;
use pgwire::messages::data::DataRow;
use rhei_engine::catalog::types::declares_unconstrained_numeric;
use rhei_engine::{EngineError, RowStream};

use crate::error::to_pgwire;

/// Column descriptions for a result schema in the given formats.
///
/// # Errors
/// Result format codes that do not fit the columns (08P01).
pub fn fields(schema: &Schema, format: &Format) -> PgWireResult<Vec<FieldInfo>> {
    crate::encode::fields(schema, format)
}

/// The Postgres type reported for a parameter: the inferred one, or text when nothing says.
pub fn param_type(ty: Option<&DataType>) -> Type {
    match ty {
        Some(&rhei_engine::describe::UUID_PARAMETER) => Type::UUID,
        Some(&rhei_engine::describe::INET_PARAMETER) => Type::INET,
        Some(&rhei_engine::describe::CIDR_PARAMETER) => Type::CIDR,
        Some(DataType::List(element)) => match element.data_type() {
            &rhei_engine::describe::UUID_PARAMETER => Type::UUID_ARRAY,
            DataType::Utf8 => Type::TEXT_ARRAY,
            DataType::Date32 => Type::DATE_ARRAY,
            DataType::Timestamp(_, None) => Type::TIMESTAMP_ARRAY,
            DataType::Timestamp(_, Some(_)) => Type::TIMESTAMPTZ_ARRAY,
            DataType::Time64(_) => Type::TIME_ARRAY,
            DataType::Decimal128(..) | DataType::Decimal256(..) => Type::NUMERIC_ARRAY,
            _ => crate::encode::arrow_pg_type(ty.unwrap_or(&DataType::Utf8)),
        },
        other => other.map_or(Type::TEXT, crate::encode::arrow_pg_type),
    }
}

/// Makes a batch's columns the types its description promised, so a DataRow always matches
/// the RowDescription sent before it (Describe may have planned types the executing engine
/// produced differently).
fn conform(batch: RecordBatch, schema: &SchemaRef) -> Result<RecordBatch, EngineError> {
    let batch_schema = batch.schema();
    // An unconstrained numeric read from SQLite is its exact text, described as numeric as the
    // OLAP copy's decimal is: casting it to the decimal would round and pad it.
    let kept = |at: usize| {
        let (have, want) = (batch_schema.field(at), schema.field(at));
        have.data_type() == want.data_type() || (have.data_type() == &DataType::Utf8 && declares_unconstrained_numeric(have) && declares_unconstrained_numeric(want))
    };
    if batch.num_columns() == schema.fields().len() && (0..batch.num_columns()).all(kept) {
        return Ok(batch);
    }
    if batch.num_columns() != schema.fields().len() {
        return Err(EngineError::Internal(format!(
            "result has {} columns but was described with {}",
            batch.num_columns(),
            schema.fields().len()
        )));
    }
    let columns = batch
        .columns()
        .iter()
        .zip(schema.fields())
        .enumerate()
        .map(|(at, (col, field))| if kept(at) { Ok(col.clone()) } else { arrow::compute::cast(col, field.data_type()) })
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| EngineError::Internal(format!("converting a result column: {e}")))?;
    let relaxed = Arc::new(Schema::new(
        (0..schema.fields().len())
            .map(|at| if kept(at) { batch_schema.field(at) } else { schema.field(at) }.clone().with_nullable(true))
            .collect::<Vec<_>>(),
    ));
    RecordBatch::try_new(relaxed, columns).map_err(|e| EngineError::Internal(e.to_string()))
}

/// Rows encoded at a time.
const ENCODE_ROWS: usize = 8192;

/// Turns a stream of Arrow batches into DataRows for `fields`, converting each batch to
/// `schema` first when given; text follows the session's `style` (time zone, IntervalStyle).
pub fn data_rows(
    rows: RowStream,
    fields: Arc<Vec<FieldInfo>>,
    schema: Option<SchemaRef>,
    style: crate::encode::TextStyle,
) -> impl Stream<Item = PgWireResult<DataRow>> + Send + 'static {
    // A batch is encoded whole, so big ones (a join can emit millions of rows at once) go in
    // slices: the rows of at most one slice are held encoded at a time.
    let slices = rows.flat_map(|batch| {
        let pieces: Vec<Result<RecordBatch, EngineError>> = match batch {
            Ok(batch) if batch.num_rows() > ENCODE_ROWS => {
                (0..batch.num_rows()).step_by(ENCODE_ROWS).map(|at| Ok(batch.slice(at, ENCODE_ROWS.min(batch.num_rows() - at)))).collect()
            }
            other => vec![other],
        };
        stream::iter(pieces)
    });
    slices.flat_map(move |batch| {
        let encoded = batch
            .and_then(|b| match &schema {
                Some(s) => conform(b, s),
                None => Ok(b),
            })
            .map_err(|e| to_pgwire(&e))
            .and_then(|batch| crate::encode::encode_batch(&batch, &fields, style));
        let rows: Vec<PgWireResult<DataRow>> = match encoded {
            Ok(rows) => rows.into_iter().map(Ok).collect(),
            Err(e) => vec![Err(e)],
        };
        stream::iter(rows)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::datatypes::{Field, TimeUnit};

    #[test]
    fn declared_types_get_postgres_oids() {
        let schema = Schema::new(vec![
            Field::new("a", DataType::Int64, true),
            Field::new("b", DataType::Decimal128(10, 2), true),
            Field::new("c", DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())), true),
            Field::new("d", DataType::Utf8, true),
        ]);
        let f = fields(&schema, &Format::UnifiedText).unwrap();
        let oids: Vec<u32> = f.iter().map(|f| f.datatype().oid()).collect();
        assert_eq!(oids, vec![20, 1700, 1184, 25]);
        assert_eq!(param_type(None), Type::TEXT);
        assert_eq!(param_type(Some(&DataType::Int32)), Type::INT4);
    }
}
