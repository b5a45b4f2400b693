//! bytea's functions on DataFusion, under the names the translation gives them on both
//! engines (`crate::bytea` does the work for both): the cast from text, which reads
//! PostgreSQL's bytea input where DataFusion would take the text's own bytes; `encode` and
//! `decode` with PostgreSQL's formats (DataFusion's base64 has no padding or line breaks, and no
//! `escape`); `convert_to` and `convert_from`; `get_byte`; `||`; and `length` of bytes, which DataFusion counts as characters.

use std::any::Any;
use std::borrow::Cow;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, BinaryBuilder, Int32Builder, StringArray, StringBuilder};
use arrow::datatypes::DataType;
use datafusion::common::Result;
use datafusion::logical_expr::{ColumnarValue, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility};

use super::udf::{external, texts, unscalar};

#[derive(Debug, PartialEq, Eq, Hash, Clone, Copy)]
enum ByteaOp {
    /// `text::bytea`: PostgreSQL's bytea input.
    Input,
    Encode,
    Decode,
    GetByte,
    Concat,
    Length,
    /// `substring(b FROM start [FOR count])`.
    Substring,
    ConvertTo,
    ConvertFrom,
}

#[derive(Debug, PartialEq, Eq, Hash)]
pub struct ByteaFunction {
    name: &'static str,
    op: ByteaOp,
    signature: Signature,
}

impl ByteaFunction {
    pub fn all() -> Vec<Self> {
        let of = |name, op| Self { name, op, signature: Signature::variadic_any(Volatility::Immutable) };
        vec![
            of("rhei_bytea", ByteaOp::Input),
            of("encode", ByteaOp::Encode),
            of("decode", ByteaOp::Decode),
            of("get_byte", ByteaOp::GetByte),
            of("rhei_bytea_concat", ByteaOp::Concat),
            of("rhei_bytea_length", ByteaOp::Length),
            of("rhei_bytea_substring", ByteaOp::Substring),
            of("convert_to", ByteaOp::ConvertTo),
            of("convert_from", ByteaOp::ConvertFrom),
        ]
    }

    fn takes(&self, arguments: usize) -> bool {
        match self.op {
            ByteaOp::Input | ByteaOp::Length => arguments == 1,
            ByteaOp::Substring => matches!(arguments, 2 | 3),
            _ => arguments == 2,
        }
    }
}

/// A bytea argument's rows: binary as it is, text (an untyped literal) read as bytea input.
enum Bytes {
    Binary(ArrayRef),
    Text(ArrayRef),
    Null,
}

impl Bytes {
    fn of(value: &ColumnarValue, rows: usize) -> Result<Self> {
        let array = value.to_array(rows)?;
        Ok(match array.data_type() {
            DataType::Null => Self::Null,
            DataType::Binary | DataType::LargeBinary | DataType::BinaryView | DataType::FixedSizeBinary(_) => {
                Self::Binary(arrow::compute::cast(&array, &DataType::Binary)?)
            }
            _ => Self::Text(arrow::compute::cast(&array, &DataType::Utf8)?),
        })
    }

    fn at(&self, i: usize) -> Result<Option<Cow<'_, [u8]>>> {
        match self {
            Self::Null => Ok(None),
            Self::Binary(a) if a.is_null(i) => Ok(None),
            Self::Text(a) if a.is_null(i) => Ok(None),
            Self::Binary(a) => Ok(Some(Cow::Borrowed(a.as_binary::<i32>().value(i)))),
            Self::Text(a) => {
                let text = a.as_string::<i32>().value(i);
                crate::bytea::parse_input(text.as_bytes()).map(|b| Some(Cow::Owned(b))).map_err(external)
            }
        }
    }
}

/// Each row's value of an integer argument, as bigint.
fn integers(value: &ColumnarValue, rows: usize) -> Result<ArrayRef> {
    Ok(arrow::compute::cast(&value.to_array(rows)?, &DataType::Int64)?)
}

fn text_at(array: &StringArray, i: usize) -> Option<&str> {
    (!array.is_null(i)).then(|| array.value(i))
}

/// `f(bytes, name)` of each row's bytea and text (`encode`, `convert_from`); NULL where either is.
fn bytes_to_text(args: &ScalarFunctionArgs, f: fn(&[u8], &str) -> crate::error::Result<String>) -> Result<ArrayRef> {
    let rows = args.number_rows;
    let (bytes, names) = (Bytes::of(&args.args[0], rows)?, texts(&args.args[1], rows)?);
    let mut out = StringBuilder::with_capacity(rows, 0);
    for i in 0..rows {
        match (bytes.at(i)?, text_at(&names, i)) {
            (Some(b), Some(name)) => out.append_value(f(&b, name).map_err(external)?),
            _ => out.append_null(),
        }
    }
    Ok(Arc::new(out.finish()))
}

/// `f(text, name)` of each row's two texts (`decode`, `convert_to`); NULL where either is.
fn text_to_bytes(args: &ScalarFunctionArgs, f: fn(&str, &str) -> crate::error::Result<Vec<u8>>) -> Result<ArrayRef> {
    let rows = args.number_rows;
    let (text, names) = (texts(&args.args[0], rows)?, texts(&args.args[1], rows)?);
    let mut out = BinaryBuilder::with_capacity(rows, 0);
    for i in 0..rows {
        match (text_at(&text, i), text_at(&names, i)) {
            (Some(t), Some(name)) => out.append_value(f(t, name).map_err(external)?),
            _ => out.append_null(),
        }
    }
    Ok(Arc::new(out.finish()))
}

impl ScalarUDFImpl for ByteaFunction {
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
        Ok(match self.op {
            ByteaOp::Input | ByteaOp::Decode | ByteaOp::Concat | ByteaOp::Substring | ByteaOp::ConvertTo => DataType::Binary,
            ByteaOp::Encode | ByteaOp::ConvertFrom => DataType::Utf8,
            ByteaOp::GetByte | ByteaOp::Length => DataType::Int32,
        })
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        if !self.takes(args.args.len()) {
            return Err(datafusion::error::DataFusionError::Plan(format!("function {} does not take {} arguments", self.name, args.args.len())));
        }
        let rows = args.number_rows;
        let out: ArrayRef = match self.op {
            ByteaOp::Input | ByteaOp::Length => {
                let bytes = Bytes::of(&args.args[0], rows)?;
                if self.op == ByteaOp::Input {
                    let mut out = BinaryBuilder::with_capacity(rows, 0);
                    for i in 0..rows {
                        out.append_option(bytes.at(i)?);
                    }
                    Arc::new(out.finish())
                } else {
                    let mut out = Int32Builder::with_capacity(rows);
                    for i in 0..rows {
                        out.append_option(bytes.at(i)?.map(|b| b.len() as i32));
                    }
                    Arc::new(out.finish())
                }
            }
            ByteaOp::Encode => bytes_to_text(&args, crate::bytea::encode)?,
            ByteaOp::ConvertFrom => bytes_to_text(&args, crate::bytea::convert_from)?,
            ByteaOp::Decode => text_to_bytes(&args, crate::bytea::decode)?,
            ByteaOp::ConvertTo => text_to_bytes(&args, crate::bytea::convert_to)?,
            ByteaOp::Substring => {
                let bytes = Bytes::of(&args.args[0], rows)?;
                let starts = integers(&args.args[1], rows)?;
                let counts = args.args.get(2).map(|c| integers(c, rows)).transpose()?;
                let starts = starts.as_primitive::<arrow::datatypes::Int64Type>();
                let counts = counts.as_ref().map(|c| c.as_primitive::<arrow::datatypes::Int64Type>());
                let mut out = BinaryBuilder::with_capacity(rows, 0);
                for i in 0..rows {
                    let count = match counts {
                        Some(c) if c.is_null(i) => {
                            out.append_null();
                            continue;
                        }
                        Some(c) => Some(c.value(i)),
                        None => None,
                    };
                    match bytes.at(i)? {
                        Some(b) if starts.is_valid(i) => out.append_value(crate::bytea::substring(&b, starts.value(i), count).map_err(external)?),
                        _ => out.append_null(),
                    }
                }
                Arc::new(out.finish())
            }
            ByteaOp::GetByte => {
                let bytes = Bytes::of(&args.args[0], rows)?;
                let positions = integers(&args.args[1], rows)?;
                let positions = positions.as_primitive::<arrow::datatypes::Int64Type>();
                let mut out = Int32Builder::with_capacity(rows);
                for i in 0..rows {
                    match bytes.at(i)? {
                        Some(b) if positions.is_valid(i) => out.append_value(crate::bytea::get_byte(&b, positions.value(i)).map_err(external)?),
                        _ => out.append_null(),
                    }
                }
                Arc::new(out.finish())
            }
            ByteaOp::Concat => {
                let (left, right) = (Bytes::of(&args.args[0], rows)?, Bytes::of(&args.args[1], rows)?);
                let mut out = BinaryBuilder::with_capacity(rows, 0);
                for i in 0..rows {
                    match (left.at(i)?, right.at(i)?) {
                        (Some(a), Some(b)) => out.append_value([a.as_ref(), b.as_ref()].concat()),
                        _ => out.append_null(),
                    }
                }
                Arc::new(out.finish())
            }
        };
        unscalar(out, &args)
    }
}
