//! Functions rhei adds to DataFusion so analytical answers match PostgreSQL's.

use std::any::Any;

use arrow::array::{Array, Float64Array};
use arrow::datatypes::DataType;
use arrow::error::ArrowError;
use datafusion::common::{Result, ScalarValue};
use datafusion::error::DataFusionError;
use datafusion::logical_expr::{ColumnarValue, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility};

/// `rhei_divisor(b)`: `b` unchanged, or a division-by-zero error when it is zero. DataFusion
/// refuses integer and decimal division by zero itself, but gives `inf` for floats, where
/// PostgreSQL raises 22012; to_olap wraps every divisor in it.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct Divisor {
    signature: Signature,
}

impl Default for Divisor {
    fn default() -> Self {
        Self { signature: Signature::any(1, Volatility::Immutable) }
    }
}

fn division_by_zero() -> DataFusionError {
    DataFusionError::ArrowError(Box::new(ArrowError::DivideByZero), None)
}

impl ScalarUDFImpl for Divisor {
    fn as_any(&self) -> &dyn Any {
        self
    }

    fn name(&self) -> &str {
        "rhei_divisor"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        Ok(arg_types.first().cloned().unwrap_or(DataType::Null))
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let Some(value) = args.args.into_iter().next() else {
            return Err(DataFusionError::Internal("rhei_divisor takes one argument".into()));
        };
        // Any numeric zero: an integer divisor of a float dividend is cast to float by the
        // planner after this check, and would give `inf` too.
        let zero = match &value {
            ColumnarValue::Scalar(s) if s.data_type().is_numeric() => {
                matches!(s.cast_to(&DataType::Float64)?, ScalarValue::Float64(Some(f)) if f == 0.0)
            }
            ColumnarValue::Array(array) if array.data_type().is_numeric() => {
                let floats = arrow::compute::cast(array, &DataType::Float64)?;
                floats.as_any().downcast_ref::<Float64Array>().is_some_and(|a| a.iter().any(|v| v == Some(0.0)))
            }
            _ => false,
        };
        if zero { Err(division_by_zero()) } else { Ok(value) }
    }
}
