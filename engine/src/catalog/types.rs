//! Declared PostgreSQL column types and what each becomes in SQLite storage and in Arrow.
//! SQLite forgets declared types, so rhei keeps them here (DESIGN.md, Types). The storage
//! conventions fixed here are shared with `oltp::functions`: timestamps are INTEGER microseconds
//! since the Unix epoch (UTC), dates INTEGER days, booleans INTEGER 0/1, numeric exact TEXT,
//! uuid canonical TEXT.

use std::sync::Arc;

use arrow::datatypes::{DataType, Field, IntervalUnit, TimeUnit};
use datafusion::sql::sqlparser::ast::{ArrayElemTypeDef, CharacterLength, DataType as SqlType, ExactNumberInfo, TimezoneInfo};
use serde::{Deserialize, Serialize};

use crate::error::{EngineError, Result};

/// Arrow field metadata key carrying the declared Postgres type (e.g. `character varying(20)`),
/// so front ends can report exact type OIDs and typmods for table columns.
pub const PG_TYPE_METADATA: &str = "rhei.pg_type";
/// [`PgType::pg_name`] of an unconstrained `numeric`, whose values keep each its own scale.
pub const UNCONSTRAINED_NUMERIC: &str = "numeric";

/// Whether `field`'s metadata declares it an unconstrained `numeric` (whatever Arrow type
/// carries it: the OLAP copy's decimal, or SQLite's exact text).
pub fn declares_unconstrained_numeric(field: &Field) -> bool {
    field.metadata().get(PG_TYPE_METADATA).map(String::as_str) == Some(UNCONSTRAINED_NUMERIC)
}

/// Metadata of a text field whose values are numeric text computed exactly on the OLAP
/// engine (`olap::udf::NumericOp`): an unconstrained numeric there, where a numeric column
/// cast to text keeps the column's declared type but is text.
pub const EXACT_NUMERIC_TEXT: &str = "rhei.exact_numeric_text";

/// A text field of exact numeric text computed on the OLAP engine (see [`EXACT_NUMERIC_TEXT`]).
pub fn exact_numeric_text_field(name: &str) -> Field {
    Field::new(name, DataType::Utf8, true).with_metadata(
        [(PG_TYPE_METADATA.to_string(), UNCONSTRAINED_NUMERIC.to_string()), (EXACT_NUMERIC_TEXT.to_string(), String::new())].into(),
    )
}

/// The PostgreSQL type of a planned result `field`: its declared type where it carries one,
/// else the type its Arrow type stands for (a computed decimal is an unconstrained numeric,
/// as PostgreSQL types an expression); `None` for an Arrow type rhei stores no column of.
pub fn pg_type_of_field(field: &Field) -> Option<PgType> {
    if let Some(declared) = field.metadata().get(PG_TYPE_METADATA).and_then(|name| PgType::from_pg_name(name)) {
        return Some(declared);
    }
    Some(match field.data_type() {
        DataType::Int16 => PgType::Int2,
        DataType::Int32 => PgType::Int4,
        DataType::Int64 => PgType::Int8,
        DataType::Float32 => PgType::Float4,
        DataType::Float64 => PgType::Float8,
        DataType::Decimal128(..) | DataType::Decimal256(..) => PgType::Numeric { precision: None, scale: None },
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => PgType::Text,
        DataType::Boolean => PgType::Bool,
        DataType::Date32 => PgType::Date,
        DataType::Time64(_) | DataType::Time32(_) => PgType::Time,
        DataType::Interval(_) => PgType::Interval,
        DataType::Timestamp(_, None) => PgType::Timestamp,
        DataType::Timestamp(_, Some(_)) => PgType::Timestamptz,
        DataType::Binary | DataType::LargeBinary | DataType::BinaryView => PgType::Bytea,
        _ => return None,
    })
}

/// `field` carrying `declared` (a [`PgType::pg_name`]) as its declared type, if there is one.
pub fn with_declared_type(field: Field, declared: Option<String>) -> Field {
    match declared {
        Some(declared) => field.with_metadata([(PG_TYPE_METADATA.to_string(), declared)].into()),
        None => field,
    }
}

/// An OLAP result `field` (as planned, before [`crate::olap::result_type`] widens it) keeping
/// its declared type only where its values still have it. DataFusion keeps a column's field
/// metadata through `CAST`, so `price::float8` was described (and encoded) as the column's
/// `numeric(12,2)` and `created_at::date` as a timestamp: garbage on the wire. A cast to
/// unconstrained `numeric` (exactly its decimal type, not a wider one) is declared one, so its
/// values keep their own scale (`qty::numeric` is `10`, not `10.0000000000`).
pub fn with_checked_declared_type(field: Field) -> Field {
    let Some(name) = field.metadata().get(PG_TYPE_METADATA) else { return field };
    if PgType::from_pg_name(name).is_some_and(|declared| declared.is_olap_result_type(field.data_type())) {
        return field;
    }
    if field.data_type() == &DataType::Utf8 && field.metadata().contains_key(EXACT_NUMERIC_TEXT) {
        return field;
    }
    let unconstrained = PgType::Numeric { precision: None, scale: None };
    let declared = (field.data_type() == &unconstrained.arrow_type()).then(|| unconstrained.pg_name());
    let mut metadata = field.metadata().clone();
    metadata.remove(PG_TYPE_METADATA);
    with_declared_type(field.with_metadata(metadata), declared)
}

/// Scale used in Arrow for `numeric` declared without precision and scale.
pub const UNCONSTRAINED_NUMERIC_SCALE: i8 = 10;
const MAX_DECIMAL128_PRECISION: u8 = 38;
/// Precisions above Decimal128's are kept in Decimal256 (ORMs declare `numeric(65,30)`).
const MAX_DECIMAL256_PRECISION: u8 = 76;

/// A declared column type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum PgType {
    Int2,
    Int4,
    Int8,
    Float4,
    Float8,
    /// `numeric(p,s)`; `None` for unconstrained `numeric`.
    Numeric { precision: Option<u8>, scale: Option<i8> },
    Text,
    Varchar(Option<u32>),
    Bpchar(Option<u32>),
    Bool,
    Date,
    Timestamp,
    Timestamptz,
    /// `time` (without time zone): microseconds since midnight, 0 to 24:00:00 inclusive.
    Time,
    /// `interval`: PostgreSQL's text for it in SQLite (`1 day 02:00:00`, made by
    /// `rhei_interval_in`), `Interval(MonthDayNano)` in the OLAP copy.
    Interval,
    Bytea,
    Uuid,
    /// `inet` and `cidr`: PostgreSQL's text for the value in SQLite and in the OLAP copy
    /// (see `crate::network`).
    Inet,
    Cidr,
    Json,
    Jsonb,
    /// A type made by `CREATE TYPE ... AS ENUM`: text in SQLite and in the OLAP copy, checked
    /// against the labels as it is stored.
    Enum(EnumType),
    /// A one-dimensional array (`text[]`, `integer[]`): in SQLite a JSON array of its
    /// elements' storage values (`'["a",null]'`, `'[1,2]'`; what `rhei_array_in` makes and
    /// `json_each` reads), in the OLAP copy an Arrow `List` of the element's Arrow type.
    Array(ElementType),
}

/// The element type of an array column: one of the types [`ElementType::new`] accepts. Interned
/// like [`EnumType`], so a column type stays `Copy`.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct ElementType(&'static PgType);

impl ElementType {
    /// The element type `ty`, if rhei stores arrays of it: numbers (numeric with a declared
    /// precision, since an unconstrained numeric's elements would lose their own scales in
    /// an Arrow list), text and varchar (not char(n), whose elements would have to be padded
    /// on output), booleans, dates, timestamps and uuids.
    ///
    /// # Errors
    /// 0A000 for any other type.
    pub fn new(ty: PgType) -> Result<Self> {
        use PgType as T;
        match ty {
            T::Int2 | T::Int4 | T::Int8 | T::Float4 | T::Float8 | T::Numeric { precision: Some(_), .. } => {}
            T::Text | T::Varchar(_) | T::Bool | T::Date | T::Timestamp | T::Timestamptz | T::Uuid => {}
            other => return Err(EngineError::unsupported(format!("arrays of {}", other.pg_name()))),
        }
        static INTERNED: Interned<PgType> = std::sync::LazyLock::new(Default::default);
        Ok(Self(intern(&INTERNED, ty)))
    }

    pub fn ty(self) -> PgType {
        *self.0
    }
}

impl std::fmt::Debug for ElementType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl Serialize for ElementType {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        self.0.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for ElementType {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        Self::new(PgType::deserialize(deserializer)?).map_err(serde::de::Error::custom)
    }
}

/// A user-defined enum type: its labels in their sort order.
#[derive(Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct EnumDef {
    /// Its row in `_rhei_types`, from which its OID derives; kept across ALTER TYPE.
    pub id: i64,
    pub name: String,
    pub labels: Vec<String>,
}

impl EnumDef {
    /// The label's position in the sort order, if it is one of the type's.
    pub fn position(&self, label: &str) -> Option<usize> {
        self.labels.iter().position(|l| l == label)
    }
}

/// Values kept once each for the life of the process (see [`EnumType`]).
type Interned<T> = std::sync::LazyLock<std::sync::Mutex<std::collections::HashSet<&'static T>>>;

/// `value` as kept in `interned`: the one kept already if there is an equal one.
fn intern<T: Eq + std::hash::Hash>(interned: &Interned<T>, value: T) -> &'static T {
    let mut interned = interned.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some(known) = interned.get(&value) {
        return known;
    }
    let value: &'static T = Box::leak(Box::new(value));
    interned.insert(value);
    value
}

/// An [`EnumDef`] as a column type carries it. Interned, so a column type stays `Copy` and
/// carries everything a conversion or an error message needs without a catalog at hand: each
/// distinct definition (a type as created, and again after each ALTER TYPE) is kept once for
/// the life of the process, a few bytes per DDL statement.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct EnumType(&'static EnumDef);

impl EnumType {
    pub fn new(def: EnumDef) -> Self {
        static INTERNED: Interned<EnumDef> = std::sync::LazyLock::new(Default::default);
        Self(intern(&INTERNED, def))
    }

    pub fn def(self) -> &'static EnumDef {
        self.0
    }
}

impl std::fmt::Debug for EnumType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl Serialize for EnumType {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        self.0.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for EnumType {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        EnumDef::deserialize(deserializer).map(Self::new)
    }
}

/// How [`PgType::metadata_name`] writes an enum type: this prefix, then its definition as JSON.
const ENUM_METADATA_PREFIX: &str = "rhei.enum ";

/// A type as written in DDL, with whether it was one of the serial pseudo-types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeclaredType {
    pub ty: PgType,
    pub is_serial: bool,
}

impl PgType {
    /// Maps a parsed SQL type to a column type.
    ///
    /// # Errors
    /// [`EngineError::UndefinedType`] for types rhei does not store.
    pub fn from_sql(sql: &SqlType) -> Result<DeclaredType> {
        let plain = |ty| Ok(DeclaredType { ty, is_serial: false });
        match sql {
            SqlType::Int2(_) | SqlType::SmallInt(_) => plain(Self::Int2),
            SqlType::Int(_) | SqlType::Int4(_) | SqlType::Integer(_) => plain(Self::Int4),
            SqlType::Int8(_) | SqlType::BigInt(_) => plain(Self::Int8),
            SqlType::Float4 | SqlType::Real => plain(Self::Float4),
            SqlType::Float8 | SqlType::DoublePrecision | SqlType::Double(_) => plain(Self::Float8),
            SqlType::Float(info) => match info {
                ExactNumberInfo::Precision(p) if *p <= 24 => plain(Self::Float4),
                _ => plain(Self::Float8),
            },
            SqlType::Numeric(info) | SqlType::Decimal(info) => {
                let (precision, scale) = match info {
                    ExactNumberInfo::None => (None, None),
                    ExactNumberInfo::Precision(p) => (Some(*p), Some(0)),
                    ExactNumberInfo::PrecisionAndScale(p, s) => (Some(*p), Some(*s)),
                };
                if let Some(p) = precision
                    && (p == 0 || p > u64::from(MAX_DECIMAL256_PRECISION))
                {
                    return Err(EngineError::unsupported(format!(
                        "numeric precision {p} (rhei supports 1 to {MAX_DECIMAL256_PRECISION})"
                    )));
                }
                let scale = match scale {
                    Some(s) if s < 0 || Some(s as u64) > precision => {
                        return Err(EngineError::unsupported(format!("numeric scale {s}")));
                    }
                    s => s.map(|s| s as i8),
                };
                plain(Self::Numeric { precision: precision.map(|p| p as u8), scale })
            }
            SqlType::Text | SqlType::String(None) => plain(Self::Text),
            SqlType::Varchar(len) | SqlType::CharacterVarying(len) => plain(Self::Varchar(char_len(len)?)),
            SqlType::Char(len) | SqlType::Character(len) => plain(Self::Bpchar(Some(char_len(len)?.unwrap_or(1)))),
            SqlType::Bool | SqlType::Boolean => plain(Self::Bool),
            SqlType::Date => plain(Self::Date),
            SqlType::Timestamp(_, TimezoneInfo::WithTimeZone | TimezoneInfo::Tz) => plain(Self::Timestamptz),
            SqlType::Timestamp(_, _) => plain(Self::Timestamp),
            // `time with time zone` is a type of its own, which rhei does not store.
            SqlType::Time(_, TimezoneInfo::None | TimezoneInfo::WithoutTimeZone) => plain(Self::Time),
            // A field range or a precision (`interval day to second`, `interval(0)`) would
            // restrict the values stored; rhei stores them as given.
            SqlType::Interval { fields: None, precision: None } => plain(Self::Interval),
            SqlType::Interval { .. } => Err(EngineError::unsupported("an interval column with a field range or a precision")),
            SqlType::Bytea => plain(Self::Bytea),
            SqlType::Uuid => plain(Self::Uuid),
            SqlType::JSON => plain(Self::Json),
            SqlType::JSONB => plain(Self::Jsonb),
            // `int[][]` and `int[3]` are PostgreSQL's `int[]` too: neither the number of
            // dimensions nor a size is enforced there.
            SqlType::Array(ArrayElemTypeDef::SquareBracket(element, _) | ArrayElemTypeDef::AngleBracket(element)) => {
                let element = Self::from_sql(element)?;
                if element.is_serial {
                    return Err(EngineError::unsupported("array of serial"));
                }
                match element.ty {
                    array @ Self::Array(_) => plain(array),
                    ty => plain(Self::Array(ElementType::new(ty)?)),
                }
            }
            SqlType::Custom(name, _) => {
                let name = name.to_string().to_ascii_lowercase();
                let serial = |ty| Ok(DeclaredType { ty, is_serial: true });
                match name.trim_matches('"') {
                    "smallserial" | "serial2" => serial(Self::Int2),
                    "serial" | "serial4" => serial(Self::Int4),
                    "bigserial" | "serial8" => serial(Self::Int8),
                    "timestamptz" => plain(Self::Timestamptz),
                    "bpchar" => plain(Self::Bpchar(None)),
                    "float" => plain(Self::Float8),
                    "inet" => plain(Self::Inet),
                    "cidr" => plain(Self::Cidr),
                    other => Err(EngineError::UndefinedType { name: other.to_string() }),
                }
            }
            other => Err(EngineError::UndefinedType { name: other.to_string().to_ascii_lowercase() }),
        }
    }

    /// The Arrow type of this column in the OLAP copy and in query results.
    pub fn arrow_type(&self) -> DataType {
        match self {
            Self::Int2 => DataType::Int16,
            Self::Int4 => DataType::Int32,
            Self::Int8 => DataType::Int64,
            Self::Float4 => DataType::Float32,
            Self::Float8 => DataType::Float64,
            Self::Numeric { precision, scale } => match (precision, scale) {
                (Some(p), Some(s)) if *p <= MAX_DECIMAL128_PRECISION => DataType::Decimal128(*p, *s),
                (Some(p), Some(s)) => DataType::Decimal256(*p, *s),
                _ => DataType::Decimal128(MAX_DECIMAL128_PRECISION, UNCONSTRAINED_NUMERIC_SCALE),
            },
            Self::Text | Self::Varchar(_) | Self::Bpchar(_) | Self::Uuid | Self::Inet | Self::Cidr | Self::Json | Self::Jsonb | Self::Enum(_) => {
                DataType::Utf8
            }
            Self::Bool => DataType::Boolean,
            Self::Date => DataType::Date32,
            Self::Timestamp => DataType::Timestamp(TimeUnit::Microsecond, None),
            Self::Timestamptz => DataType::Timestamp(TimeUnit::Microsecond, Some(Arc::from("UTC"))),
            Self::Time => DataType::Time64(TimeUnit::Microsecond),
            Self::Interval => DataType::Interval(IntervalUnit::MonthDayNano),
            Self::Bytea => DataType::Binary,
            Self::Array(element) => DataType::List(Arc::new(Field::new_list_field(element.ty().arrow_type(), true))),
        }
    }

    /// The SQLite STRICT column type that stores this type.
    pub fn storage(&self) -> &'static str {
        match self {
            Self::Int2 | Self::Int4 | Self::Int8 | Self::Bool | Self::Date | Self::Timestamp | Self::Timestamptz | Self::Time => {
                "INTEGER"
            }
            Self::Float4 | Self::Float8 => "REAL",
            Self::Numeric { .. }
            | Self::Text
            | Self::Varchar(_)
            | Self::Bpchar(_)
            | Self::Uuid
            | Self::Inet
            | Self::Cidr
            | Self::Json
            | Self::Jsonb
            | Self::Interval
            | Self::Enum(_)
            | Self::Array(_) => "TEXT",
            Self::Bytea => "BLOB",
        }
    }

    /// PostgreSQL's name for the type, as `format_type` prints it.
    pub fn pg_name(&self) -> String {
        match self {
            Self::Int2 => "smallint".into(),
            Self::Int4 => "integer".into(),
            Self::Int8 => "bigint".into(),
            Self::Float4 => "real".into(),
            Self::Float8 => "double precision".into(),
            Self::Numeric { precision: Some(p), scale: Some(s) } => format!("numeric({p},{s})"),
            Self::Numeric { .. } => UNCONSTRAINED_NUMERIC.into(),
            Self::Text => "text".into(),
            Self::Varchar(Some(n)) => format!("character varying({n})"),
            Self::Varchar(None) => "character varying".into(),
            Self::Bpchar(Some(n)) => format!("character({n})"),
            Self::Bpchar(None) => "bpchar".into(),
            Self::Bool => "boolean".into(),
            Self::Date => "date".into(),
            Self::Timestamp => "timestamp without time zone".into(),
            Self::Timestamptz => "timestamp with time zone".into(),
            Self::Time => "time without time zone".into(),
            Self::Interval => "interval".into(),
            Self::Bytea => "bytea".into(),
            Self::Uuid => "uuid".into(),
            Self::Inet => "inet".into(),
            Self::Cidr => "cidr".into(),
            Self::Json => "json".into(),
            Self::Jsonb => "jsonb".into(),
            Self::Enum(e) => crate::naming::display_ident(&e.def().name),
            Self::Array(element) => format!("{}[]", element.ty().pg_name()),
        }
    }

    /// The name Arrow field metadata carries for this type: [`PgType::pg_name`], except that
    /// an enum type carries its whole definition (a name alone could not be read back without
    /// the catalog).
    pub fn metadata_name(&self) -> String {
        match self {
            Self::Enum(e) => format!("{ENUM_METADATA_PREFIX}{}", serde_json::to_string(e.def()).unwrap_or_default()),
            other => other.pg_name(),
        }
    }

    /// The type [`PgType::metadata_name`] names (the inverse, for types carried in Arrow field
    /// metadata); `None` for any other text.
    pub fn from_pg_name(name: &str) -> Option<Self> {
        if let Some(def) = name.strip_prefix(ENUM_METADATA_PREFIX) {
            return serde_json::from_str::<EnumDef>(def).ok().map(|def| Self::Enum(EnumType::new(def)));
        }
        let with_arg = |prefix: &str| name.strip_prefix(prefix).and_then(|r| r.strip_prefix('(')).and_then(|r| r.strip_suffix(')'));
        Some(match name {
            "smallint" => Self::Int2,
            "integer" => Self::Int4,
            "bigint" => Self::Int8,
            "real" => Self::Float4,
            "double precision" => Self::Float8,
            "numeric" => Self::Numeric { precision: None, scale: None },
            "text" => Self::Text,
            "character varying" => Self::Varchar(None),
            "bpchar" => Self::Bpchar(None),
            "boolean" => Self::Bool,
            "date" => Self::Date,
            "timestamp without time zone" => Self::Timestamp,
            "timestamp with time zone" => Self::Timestamptz,
            "time without time zone" => Self::Time,
            "interval" => Self::Interval,
            "bytea" => Self::Bytea,
            "uuid" => Self::Uuid,
            "inet" => Self::Inet,
            "cidr" => Self::Cidr,
            "json" => Self::Json,
            "jsonb" => Self::Jsonb,
            _ => {
                if let Some(element) = name.strip_suffix("[]") {
                    Self::Array(ElementType::new(Self::from_pg_name(element)?).ok()?)
                } else if let Some(args) = with_arg("numeric") {
                    let (p, s) = args.split_once(',')?;
                    Self::Numeric { precision: Some(p.trim().parse().ok()?), scale: Some(s.trim().parse().ok()?) }
                } else if let Some(n) = with_arg("character varying") {
                    Self::Varchar(Some(n.parse().ok()?))
                } else if let Some(n) = with_arg("character") {
                    Self::Bpchar(Some(n.parse().ok()?))
                } else {
                    return None;
                }
            }
        })
    }

    /// Which network address type this is, for `inet` and `cidr`.
    pub fn net_kind(&self) -> Option<crate::network::NetKind> {
        match self {
            Self::Inet => Some(crate::network::NetKind::Inet),
            Self::Cidr => Some(crate::network::NetKind::Cidr),
            _ => None,
        }
    }

    /// Whether values of this type are ordered and compared in SQLite through a conversion
    /// (numeric is stored as text, which would compare character by character).
    pub fn is_numeric_text(&self) -> bool {
        matches!(self, Self::Numeric { .. })
    }

    /// Whether `ty` is this type's in OLAP results: its type in the OLAP copy, widened as
    /// results are ([`crate::olap::result_type`]).
    pub fn is_olap_result_type(&self, ty: &DataType) -> bool {
        crate::olap::result_type(ty) == crate::olap::result_type(&self.arrow_type())
    }

    /// Whether a result column of Arrow type `ty`, from either engine, can hold values of this
    /// type: its OLAP result type, or for numeric SQLite's exact text.
    pub fn is_carried_by(&self, ty: &DataType) -> bool {
        self.is_olap_result_type(ty) || (self.is_numeric_text() && crate::olap::result_type(ty) == DataType::Utf8)
    }

    /// An Arrow field for a column of this type, carrying the declared type as metadata.
    pub fn arrow_field(&self, name: &str, nullable: bool) -> Field {
        Field::new(name, self.arrow_type(), nullable)
            .with_metadata([(PG_TYPE_METADATA.to_string(), self.metadata_name())].into())
    }
}

#[cfg(test)]
mod name_tests {
    use super::*;

    #[test]
    fn every_type_reads_back_from_its_name() {
        for ty in [
            PgType::Int2,
            PgType::Int4,
            PgType::Int8,
            PgType::Float4,
            PgType::Float8,
            PgType::Numeric { precision: None, scale: None },
            PgType::Numeric { precision: Some(10), scale: Some(2) },
            PgType::Text,
            PgType::Varchar(None),
            PgType::Varchar(Some(20)),
            PgType::Bpchar(Some(3)),
            PgType::Bpchar(None),
            PgType::Bool,
            PgType::Date,
            PgType::Timestamp,
            PgType::Timestamptz,
            PgType::Time,
            PgType::Interval,
            PgType::Bytea,
            PgType::Uuid,
            PgType::Inet,
            PgType::Cidr,
            PgType::Json,
            PgType::Jsonb,
        ] {
            assert_eq!(PgType::from_pg_name(&ty.metadata_name()), Some(ty), "{}", ty.pg_name());
        }
        let mood = PgType::Enum(EnumType::new(EnumDef { id: 3, name: "Mood".into(), labels: vec!["sad".into(), "a \"b\"".into()] }));
        assert_eq!(PgType::from_pg_name(&mood.metadata_name()), Some(mood));
        assert_eq!(mood.pg_name(), "\"Mood\"");
        assert_eq!(PgType::from_pg_name("macaddr"), None);
        let names = PgType::Array(ElementType::new(PgType::Varchar(Some(5))).unwrap());
        assert_eq!(names.pg_name(), "character varying(5)[]");
        assert_eq!(PgType::from_pg_name(&names.metadata_name()), Some(names));
        assert_eq!(PgType::from_pg_name("interval[]"), None);
    }
}

/// The declared width of a `char(n)` column, from its Arrow field's metadata.
pub fn bpchar_width(field: &Field) -> Option<usize> {
    match field.metadata().get(PG_TYPE_METADATA).and_then(|name| PgType::from_pg_name(name)) {
        Some(PgType::Bpchar(Some(n))) => usize::try_from(n).ok(),
        _ => None,
    }
}

/// A `char(n)` value as PostgreSQL shows it: padded with blanks to `n` characters. rhei keeps
/// char(n) values without trailing blanks, which PostgreSQL ignores in comparisons, `length`
/// and concatenation anyway, and pads them only on output.
pub fn pad_bpchar(mut value: String, width: usize) -> String {
    let len = value.chars().count();
    value.extend(std::iter::repeat_n(' ', width.saturating_sub(len)));
    value
}

fn char_len(len: &Option<CharacterLength>) -> Result<Option<u32>> {
    match len {
        None => Ok(None),
        Some(CharacterLength::IntegerLength { length, .. }) => match u32::try_from(*length) {
            Ok(n) if n > 0 => Ok(Some(n)),
            _ => Err(EngineError::unsupported(format!("character length {length}"))),
        },
        Some(CharacterLength::Max) => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::sql::sqlparser::{dialect::PostgreSqlDialect, parser::Parser};

    fn parse_type(sql: &str) -> DeclaredType {
        let mut parser = Parser::new(&PostgreSqlDialect {}).try_with_sql(sql).unwrap();
        PgType::from_sql(&parser.parse_data_type().unwrap()).unwrap()
    }

    #[test]
    fn every_design_type_maps_to_its_arrow_type() {
        let cases: &[(&str, PgType, DataType)] = &[
            ("smallint", PgType::Int2, DataType::Int16),
            ("integer", PgType::Int4, DataType::Int32),
            ("bigint", PgType::Int8, DataType::Int64),
            ("real", PgType::Float4, DataType::Float32),
            ("double precision", PgType::Float8, DataType::Float64),
            ("numeric(12,2)", PgType::Numeric { precision: Some(12), scale: Some(2) }, DataType::Decimal128(12, 2)),
            ("text", PgType::Text, DataType::Utf8),
            ("varchar(20)", PgType::Varchar(Some(20)), DataType::Utf8),
            ("char(3)", PgType::Bpchar(Some(3)), DataType::Utf8),
            ("boolean", PgType::Bool, DataType::Boolean),
            ("date", PgType::Date, DataType::Date32),
            ("timestamp", PgType::Timestamp, DataType::Timestamp(TimeUnit::Microsecond, None)),
            ("timestamptz", PgType::Timestamptz, DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))),
            (
                "timestamp with time zone",
                PgType::Timestamptz,
                DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            ),
            ("time", PgType::Time, DataType::Time64(TimeUnit::Microsecond)),
            ("time without time zone", PgType::Time, DataType::Time64(TimeUnit::Microsecond)),
            ("bytea", PgType::Bytea, DataType::Binary),
            ("uuid", PgType::Uuid, DataType::Utf8),
            ("inet", PgType::Inet, DataType::Utf8),
            ("cidr", PgType::Cidr, DataType::Utf8),
            ("json", PgType::Json, DataType::Utf8),
            ("jsonb", PgType::Jsonb, DataType::Utf8),
        ];
        for (sql, ty, arrow) in cases {
            let declared = parse_type(sql);
            assert_eq!(declared.ty, *ty, "{sql}");
            assert_eq!(&declared.ty.arrow_type(), arrow, "{sql}");
            assert!(!declared.is_serial);
        }
    }

    #[test]
    fn serials_are_integers_with_a_flag() {
        assert_eq!(parse_type("serial"), DeclaredType { ty: PgType::Int4, is_serial: true });
        assert_eq!(parse_type("bigserial"), DeclaredType { ty: PgType::Int8, is_serial: true });
    }

    #[test]
    fn unknown_types_are_undefined() {
        let mut parser = Parser::new(&PostgreSqlDialect {}).try_with_sql("geometry").unwrap();
        let err = PgType::from_sql(&parser.parse_data_type().unwrap()).unwrap_err();
        assert_eq!(err.sqlstate(), "42704");
    }
}
