//! The functions of the network types (`inet`, `cidr`) on DataFusion, under the names the
//! translation gives them: each one `crate::network::NetFunction`, which SQLite's
//! `oltp::network` calls too. A result that is a network value carries its type in the
//! field's metadata, so the wire describes it as PostgreSQL does.

use std::any::Any;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, BooleanArray, Int32Array, Int64Array, StringArray};
use arrow::datatypes::{DataType, Field, FieldRef};
use datafusion::common::{Result, ScalarValue};
use datafusion::logical_expr::{ColumnarValue, ReturnFieldArgs, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility};

use super::udf::{external, unscalar};
use crate::network::{NetArg, NetFunction, NetKind, NetResultType, NetValue};

#[derive(Debug, PartialEq, Eq, Hash)]
pub struct NetworkFunction {
    name: &'static str,
    function: NetFunction,
    signature: Signature,
}

impl NetworkFunction {
    pub fn all() -> Vec<Self> {
        NetFunction::ALL
            .iter()
            .map(|&(name, function, arity)| Self { name, function, signature: Signature::any(arity, Volatility::Immutable) })
            .collect()
    }
}

impl ScalarUDFImpl for NetworkFunction {
    fn as_any(&self) -> &dyn Any {
        self
    }

    fn name(&self) -> &str {
        self.name
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(match self.function.result_type() {
            NetResultType::Net(_) | NetResultType::Text => DataType::Utf8,
            NetResultType::Int4 => DataType::Int32,
            NetResultType::Int8 => DataType::Int64,
            NetResultType::Bool => DataType::Boolean,
        })
    }

    fn return_field_from_args(&self, args: ReturnFieldArgs) -> Result<FieldRef> {
        let kind = match self.function.result_type() {
            NetResultType::Net(Some(kind)) => Some(kind),
            // The kind the last argument names.
            NetResultType::Net(None) => match args.scalar_arguments.last() {
                Some(Some(ScalarValue::Utf8(Some(name)))) => NetKind::of_name(name),
                _ => None,
            },
            _ => None,
        };
        Ok(Arc::new(match kind {
            Some(kind) => kind.pg_type().arrow_field(self.name, true),
            None => Field::new(self.name, self.return_type(&[])?, true),
        }))
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows;
        let columns: Vec<ArrayRef> = args
            .args
            .iter()
            .enumerate()
            .map(|(i, value)| {
                let array = value.to_array(rows)?;
                // Only an integer is cast to one: Arrow's cast of text or a fraction would give
                // NULL or cut it, where the function refuses it (as on SQLite).
                let to = if self.function.takes_number(i) && array.data_type().is_integer() { DataType::Int64 } else { DataType::Utf8 };
                Ok(arrow::compute::cast(&array, &to)?)
            })
            .collect::<Result<_>>()?;
        fn arg(column: &ArrayRef, row: usize) -> NetArg<'_> {
            if column.is_null(row) {
                NetArg::Null
            } else if let Some(numbers) = column.as_primitive_opt::<arrow::datatypes::Int64Type>() {
                NetArg::Int(numbers.value(row))
            } else {
                NetArg::Text(column.as_string::<i32>().value(row))
            }
        }
        let mut results = Vec::with_capacity(rows);
        for row in 0..rows {
            let row_args: Vec<NetArg<'_>> = columns.iter().map(|c| arg(c, row)).collect();
            results.push(self.function.call(&row_args).map_err(external)?);
        }
        let text = |v: &NetValue| if let NetValue::Text(t) = v { Some(t.clone()) } else { None };
        let number = |v: &NetValue| if let NetValue::Int(n) = v { Some(*n) } else { None };
        let array: ArrayRef = match self.function.result_type() {
            NetResultType::Net(_) | NetResultType::Text => Arc::new(results.iter().map(text).collect::<StringArray>()),
            NetResultType::Int4 => Arc::new(results.iter().map(|v| number(v).map(|n| n as i32)).collect::<Int32Array>()),
            NetResultType::Int8 => Arc::new(results.iter().map(number).collect::<Int64Array>()),
            NetResultType::Bool => Arc::new(results.iter().map(|v| if let NetValue::Bool(b) = v { Some(*b) } else { None }).collect::<BooleanArray>()),
        };
        unscalar(array, &args)
    }
}
