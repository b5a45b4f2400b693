//! Arrow to the wire: result column descriptions (OID per column) and DataRows encoded straight
//! from Arrow arrays by arrow-pg; parameters decoded from text or binary into scalars of the
//! types the engine inferred. Only this crate knows Postgres OIDs.

use std::sync::Arc;

use arrow::array::RecordBatch;
use arrow::datatypes::{DataType, Schema, SchemaRef};
use arrow_pg::datatypes::{arrow_schema_to_pg_fields, into_pg_type};
use datafusion::common::{ParamValues, ScalarValue};
use futures::{Stream, StreamExt, stream};
use pgwire::api::Type;
use pgwire::api::portal::{Format, Portal};
use pgwire::api::results::FieldInfo;
use pgwire::error::{PgWireError, PgWireResult};
use pgwire::messages::data::DataRow;
use rhei_engine::{EngineError, RowStream};

use crate::error::to_pgwire;

/// Column descriptions for a result schema in the given formats.
///
/// # Errors
/// A column type with no Postgres counterpart (an internal error).
pub fn fields(schema: &Schema, format: &Format) -> PgWireResult<Vec<FieldInfo>> {
    arrow_schema_to_pg_fields(schema, format, None)
}

/// The Postgres type reported for a parameter: the inferred one, or text when nothing says.
pub fn param_type(ty: Option<&DataType>) -> Type {
    ty.and_then(|t| into_pg_type(t).ok()).unwrap_or(Type::TEXT)
}

/// Decodes a portal's parameters into scalars, typed as the client said or as inferred.
///
/// # Errors
/// Malformed parameter bytes (22P02 or 08P01 from pgwire).
pub fn decode_params<S: Clone>(portal: &Portal<S>, inferred: &[Option<DataType>]) -> PgWireResult<Vec<ScalarValue>> {
    // arrow-pg converts an integer or float the client sent only to integer and float types;
    // for a numeric target (a float8 parameter into a numeric column, as psycopg sends Python
    // floats) it is decoded as sent and cast here, as PostgreSQL's assignment cast would.
    let to_numeric: Vec<Option<&DataType>> = inferred
        .iter()
        .enumerate()
        .map(|(i, ty)| {
            let sent = portal.statement.parameter_types.get(i).and_then(Option::as_ref);
            ty.as_ref().filter(|ty| {
                matches!(ty, DataType::Decimal128(..) | DataType::Decimal256(..))
                    && sent.is_some_and(|t| matches!(*t, Type::INT2 | Type::INT4 | Type::INT8 | Type::FLOAT4 | Type::FLOAT8))
            })
        })
        .collect();
    let hints: Vec<Option<&DataType>> =
        inferred.iter().zip(&to_numeric).map(|(ty, numeric)| if numeric.is_some() { None } else { ty.as_ref() }).collect();
    let values = match arrow_pg::datatypes::df::deserialize_parameters(portal, &hints)? {
        ParamValues::List(values) => values.into_iter().map(|v| v.value).collect::<Vec<_>>(),
        ParamValues::Map(_) => return Err(crate::error::protocol_violation("named parameters are not supported")),
    };
    values
        .into_iter()
        .zip(to_numeric.iter().copied().chain(std::iter::repeat(None)))
        .map(|(value, numeric)| match numeric {
            Some(ty) => value.cast_to(ty).map_err(|e| {
                let info = pgwire::error::ErrorInfo::new(
                    "ERROR".into(),
                    "22003".into(),
                    format!("numeric parameter out of range: {e}"),
                );
                PgWireError::UserError(Box::new(info))
            }),
            None => Ok(value),
        })
        .collect()
}

/// Makes a batch's columns the types its description promised, so a DataRow always matches
/// the RowDescription sent before it (Describe may have planned types the executing engine
/// produced differently).
fn conform(batch: RecordBatch, schema: &SchemaRef) -> Result<RecordBatch, EngineError> {
    if batch.schema().fields().iter().zip(schema.fields()).all(|(a, b)| a.data_type() == b.data_type())
        && batch.num_columns() == schema.fields().len()
    {
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
        .map(|(col, field)| arrow::compute::cast(col, field.data_type()))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| EngineError::Internal(format!("converting a result column: {e}")))?;
    let relaxed = Arc::new(Schema::new(
        schema.fields().iter().map(|f| f.as_ref().clone().with_nullable(true)).collect::<Vec<_>>(),
    ));
    RecordBatch::try_new(relaxed, columns).map_err(|e| EngineError::Internal(e.to_string()))
}

/// Text-format timestamp and float columns rendered as PostgreSQL prints them, where pgwire
/// differs: it writes timestamps with six fractional digits always (`00:01:00.000000+00`, where
/// PostgreSQL writes `00:01:00+00`) and floats as Rust's shortest form (`2.0`, `inf`, where
/// PostgreSQL writes `2`, `Infinity`). The column's type OID stays as it was (it comes from
/// `fields`).
fn pg_text_columns(batch: RecordBatch, fields: &[FieldInfo]) -> RecordBatch {
    let rewritten = |i: usize, column: &arrow::array::ArrayRef| {
        matches!(
            column.data_type(),
            DataType::Timestamp(arrow::datatypes::TimeUnit::Microsecond, _) | DataType::Float64 | DataType::Float32
        ) && fields.get(i).is_some_and(|f| f.format() == pgwire::api::results::FieldFormat::Text)
    };
    if !batch.columns().iter().enumerate().any(|(i, c)| rewritten(i, c)) {
        return batch;
    }
    let schema = batch.schema();
    let mut columns = Vec::with_capacity(batch.num_columns());
    let mut schema_fields = Vec::with_capacity(batch.num_columns());
    for (i, column) in batch.columns().iter().enumerate() {
        if !rewritten(i, column) {
            columns.push(column.clone());
            schema_fields.push(schema.field(i).as_ref().clone());
            continue;
        }
        let text: arrow::array::StringArray = (0..column.len()).map(|row| rhei_engine::copy::pg_text(column, row)).collect();
        columns.push(Arc::new(text) as arrow::array::ArrayRef);
        schema_fields.push(arrow::datatypes::Field::new(schema.field(i).name(), DataType::Utf8, true));
    }
    RecordBatch::try_new(Arc::new(Schema::new(schema_fields)), columns).unwrap_or(batch)
}

/// Turns a stream of Arrow batches into DataRows for `fields`, converting each batch to
/// `schema` first when given.
pub fn data_rows(
    rows: RowStream,
    fields: Arc<Vec<FieldInfo>>,
    schema: Option<SchemaRef>,
) -> impl Stream<Item = PgWireResult<DataRow>> + Send + 'static {
    rows.flat_map(move |batch| {
        let encoded: Box<dyn Iterator<Item = PgWireResult<DataRow>> + Send> =
            match batch.and_then(|b| match &schema {
                Some(s) => conform(b, s),
                None => Ok(b),
            }) {
                Ok(batch) => Box::new(arrow_pg::datatypes::encode_recordbatch(fields.clone(), pg_text_columns(batch, &fields))),
                Err(e) => Box::new(std::iter::once(Err::<DataRow, PgWireError>(to_pgwire(&e)))),
            };
        stream::iter(encoded)
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
