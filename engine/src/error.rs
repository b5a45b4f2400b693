//! The engine's error type. Each variant says what went wrong for the user, carries structured
//! fields, and picks its SQLSTATE exactly once, in [`EngineError::sqlstate`]. The proxy only
//! encodes these; it never re-classifies. Foreign errors (rusqlite, DataFusion) are classified on
//! entry by code or variant, never by message text.

use std::fmt;

/// Everything that can go wrong inside the engine, as a user of a Postgres database would see it.
#[derive(Debug, Clone, thiserror::Error)]
pub enum EngineError {
    #[error("syntax error: {message}")]
    Syntax { message: String, position: Option<u32> },
    #[error("relation \"{name}\" does not exist")]
    UndefinedTable { name: String },
    #[error("relation \"{name}\" already exists")]
    DuplicateTable { name: String },
    #[error("column \"{column}\" does not exist")]
    UndefinedColumn { column: String, table: Option<String> },
    #[error("column \"{column}\" of relation \"{table}\" already exists")]
    DuplicateColumn { table: String, column: String },
    #[error("function {name} does not exist")]
    UndefinedFunction { name: String },
    #[error("type \"{name}\" does not exist")]
    UndefinedType { name: String },
    #[error("type \"{name}\" already exists")]
    DuplicateType { name: String },
    #[error("invalid input value for enum {type_name}: \"{value}\"")]
    InvalidEnumValue { type_name: String, value: String },
    #[error("enum label \"{label}\" already exists")]
    DuplicateEnumLabel { label: String },
    #[error("\"{label}\" is not an existing enum label")]
    UndefinedEnumLabel { label: String },
    #[error("invalid enum label \"{label}\"")]
    InvalidEnumLabel { label: String, detail: &'static str },
    #[error("duplicate key value violates unique constraint \"{constraint}\"")]
    /// `columns`: the key's columns as SQLite names them, from which the catalog tells which
    /// constraint or unique index it was ([`crate::catalog::Catalog::name_unique_violation`]).
    UniqueViolation { table: String, constraint: String, columns: Vec<String>, detail: Option<String> },
    #[error("null value in column \"{column}\" of relation \"{table}\" violates not-null constraint")]
    NotNullViolation { table: String, column: String },
    #[error("new row for relation \"{table}\" violates check constraint \"{constraint}\"")]
    CheckViolation { table: String, constraint: String, detail: Option<String> },
    #[error("check constraint \"{constraint}\" of relation \"{table}\" is violated by some row")]
    CheckViolatedByExistingRow { table: String, constraint: String },
    #[error("insert or update on table \"{table}\" violates foreign key constraint \"{constraint}\"")]
    ForeignKeyMissing { table: String, constraint: String, detail: Option<String> },
    #[error("update or delete on table \"{table}\" violates foreign key constraint \"{constraint}\" on table \"{referencing}\"")]
    ForeignKeyReferenced { table: String, constraint: String, referencing: String, detail: Option<String> },
    #[error("there is no unique constraint matching given keys for referenced table \"{table}\"")]
    NoMatchingUniqueKey { table: String },
    #[error("foreign key constraint \"{constraint}\" cannot be implemented")]
    IncompatibleForeignKey { constraint: String, detail: String },
    /// `object` as PostgreSQL names it: `table t`, `column b of table t`, `constraint t_pkey on table t`.
    #[error("cannot drop {object} because other objects depend on it")]
    DependentObjects { object: String, detail: String },
    /// TRUNCATE of a table that a table left out of the statement references.
    #[error("cannot truncate a table referenced in a foreign key constraint")]
    TruncateReferenced { detail: String, hint: String },
    #[error("could not create unique index \"{index}\"")]
    DuplicateKeys { index: String, detail: String },
    #[error("constraint \"{constraint}\" for relation \"{table}\" already exists")]
    DuplicateConstraint { table: String, constraint: String },
    #[error("constraint \"{constraint}\" of relation \"{table}\" does not exist")]
    UndefinedConstraint { table: String, constraint: String },
    #[error("index \"{name}\" does not exist")]
    UndefinedIndex { name: String },
    #[error("column reference \"{column}\" is ambiguous")]
    AmbiguousColumn { column: String },
    #[error("{message}")]
    GroupingError { message: String },
    #[error("{message}")]
    InvalidColumnReference { message: String },
    /// A statement that parses but breaks a rule of its grammar (`SET (a, b) = (1)`), or a
    /// number pattern of its own (two decimal points), in PostgreSQL's words.
    #[error("{message}")]
    MalformedStatement { message: &'static str },
    #[error("source for a multiple-column UPDATE item must be a sub-SELECT or ROW() expression")]
    MultipleColumnSource,
    #[error("multiple assignments to same column \"{column}\"")]
    RepeatedAssignment { column: String },
    #[error("{message}")]
    WindowingError { message: String },
    #[error("{message}")]
    TypeMismatch { message: String },
    #[error("cannot cast type {from} to {to}")]
    CannotCoerce { from: String, to: String },
    #[error("operator does not exist: {operator}")]
    UndefinedOperator { operator: String },
    #[error("WITH query name \"{name}\" specified more than once")]
    DuplicateAlias { name: String },
    #[error("table name \"{name}\" specified more than once")]
    DuplicateTableName { name: String },
    #[error("LIMIT must not be negative")]
    NegativeLimit,
    #[error("ON CONFLICT DO UPDATE command cannot affect row a second time")]
    UpsertAffectsRowTwice,
    #[error("more than one row returned by a subquery used as an expression")]
    SubqueryReturnedRows,
    #[error("MERGE command cannot affect row a second time")]
    MergeAffectsRowTwice,
    #[error("cannot execute MERGE on relation \"{name}\"")]
    MergeOnView { name: String },
    #[error("OFFSET must not be negative")]
    NegativeOffset,
    #[error("negative substring length not allowed")]
    NegativeSubstringLength,
    #[error("multiple primary keys for table \"{table}\" are not allowed")]
    MultiplePrimaryKeys { table: String },
    #[error("column \"{column}\" of relation \"{table}\" contains null values")]
    ColumnContainsNulls { table: String, column: String },
    #[error("column \"{column}\" is in a primary key")]
    ColumnInPrimaryKey { column: String },
    #[error("column \"{column}\" cannot be cast automatically to type {type_name} (add USING {column}::{type_name})")]
    CannotCastAutomatically { column: String, type_name: String },
    #[error("invalid input syntax for type {type_name}: \"{value}\"")]
    InvalidTextRepresentation { type_name: String, value: String },
    /// A cidr with bits set right of its mask (`10.1.2.3/8`).
    #[error("invalid cidr value: \"{value}\"")]
    InvalidCidr { value: String },
    /// inet arithmetic past the family's addresses.
    #[error("result is out of range")]
    NetworkResultOutOfRange,
    #[error("malformed array literal: \"{value}\"")]
    MalformedArrayLiteral { value: String },
    #[error("invalid input syntax for type {type_name}: \"{value}\"")]
    InvalidDatetimeFormat { type_name: String, value: String },
    /// A `to_char` field of a calendar date (AM, a month's or day's name) asked of an interval.
    #[error("invalid format specification for an interval value")]
    IntervalFormatField,
    /// A zone given to a function (`make_timestamptz(..., 'Nowhere/X')`) that names none.
    #[error("time zone \"{zone}\" not recognized")]
    UnrecognizedTimeZone { zone: String },
    /// `make_timestamp`'s and `make_date`'s date that is no day (`2024-02-30`).
    #[error("date field value out of range: {value}")]
    DateFieldOutOfRange { value: String },
    /// `make_timestamp` past 294276 AD or before 4713 BC.
    #[error("timestamp out of range: {value}")]
    TimestampOutOfRange { value: String },
    /// `make_timestamp`'s time of day past 24:00:00 or with a field out of range.
    #[error("time field value out of range: {value}")]
    TimeFieldOutOfRange { value: String },
    #[error("date/time field value out of range: \"{value}\"")]
    DatetimeFieldOverflow { value: String },
    #[error("{type_name} out of range")]
    NumericOutOfRange { type_name: String },
    /// A value with more integer digits than a `numeric(precision, scale)` holds; see
    /// [`EngineError::numeric_field_overflow`].
    #[error("numeric field overflow")]
    NumericFieldOverflow { detail: String },
    /// A value for an unconstrained numeric column past what its OLAP copy (Decimal128(38,10))
    /// holds; PostgreSQL would take it, so the DETAIL says what rhei does differently.
    #[error("numeric field overflow")]
    UnconstrainedNumericTooWide,
    #[error("value too long for type {type_name}")]
    StringTooLong { type_name: String },
    #[error("division by zero")]
    DivisionByZero,
    #[error("cursor \"{name}\" does not exist")]
    UndefinedCursor { name: String },
    #[error("cursor \"{name}\" already exists")]
    DuplicateCursor { name: String },
    /// rhei's cursors are PostgreSQL's without SCROLL.
    #[error("cursor can only scan forward")]
    CursorScansForwardOnly,
    #[error("DECLARE CURSOR can only be used in transaction blocks")]
    CursorOutsideTransaction,
    /// A read that must see the latest commits, while the OLAP copy cannot take them.
    #[error("the OLAP copy cannot catch up with the latest commits: {reason}")]
    OlapCopyBehind { reason: String },
    /// A read sent to the OLAP engine by a hint or `rhei.route` that names a table the copy
    /// holds back (a stored value its column type cannot represent); automatic routing sends
    /// such reads to SQLite instead.
    #[error("table \"{table}\" is not in the OLAP copy: {reason}")]
    OlapTableHeldBack { table: String, reason: String },
    /// An interval past PostgreSQL's 32-bit months and days, or 64-bit microseconds.
    #[error("interval out of range")]
    IntervalOutOfRange,
    #[error("timestamps cannot be binned into intervals containing months or years")]
    BinStrideHasMonths,
    #[error("stride must be greater than zero")]
    BinStrideNotPositive,
    #[error("column \"{column}\" is of type {expected} but expression is of type {found}")]
    DatatypeMismatch { column: String, expected: String, found: String },
    #[error("{message} (COPY data line {line})")]
    BadCopyData { line: u64, message: String },
    #[error("{what} is not supported")]
    FeatureNotSupported { what: String },
    /// A field a type has not (`extract(week FROM interval ...)`).
    #[error("unit \"{unit}\" not supported for type {type_name}")]
    UnitNotSupported { unit: String, type_name: String },
    /// `FROM emp e ... emp.id`: a table named by its name where FROM gave it an alias.
    #[error("invalid reference to FROM-clause entry for table \"{table}\"")]
    AliasedTableReference { table: String },
    /// A set-returning function where PostgreSQL refuses one (WHERE, an aggregate's arguments).
    #[error("{message}")]
    SetReturningNotAllowed { message: String },
    #[error("cannot execute {statement} in a read-only transaction")]
    ReadOnlyTransaction { statement: String },
    #[error("cannot execute {statement}: rhei is a read-only replica of {upstream} here; write to the upstream database")]
    ReadOnlyReplica { statement: String, upstream: String },
    #[error("current transaction is aborted, commands ignored until end of transaction block")]
    InFailedTransaction,
    #[error("there is no transaction in progress")]
    NoActiveTransaction,
    #[error("there is already a transaction in progress")]
    ActiveTransaction,
    #[error("{command} cannot run inside a transaction block")]
    NotInTransactionBlock { command: &'static str },
    #[error("savepoint \"{name}\" does not exist")]
    UndefinedSavepoint { name: String },
    #[error("unrecognized configuration parameter \"{name}\"")]
    UndefinedParameter { name: String },
    #[error("invalid value for parameter \"{name}\": \"{value}\"")]
    InvalidParameterValue { name: String, value: String },
    /// `json[b]_build_object` with a NULL key (`position` counts arguments from 1).
    #[error("argument {position}: key must not be null")]
    NullKey { position: usize },
    /// jsonb cannot hold `\u0000`.
    #[error("unsupported Unicode escape sequence")]
    UnsupportedUnicodeEscape,
    /// `jsonb_insert` at a key the object has.
    #[error("cannot replace existing key")]
    CannotReplaceExistingKey,
    /// A step of a jsonb path (`#-`, `jsonb_set`) that must index an array and is no integer.
    #[error("path element at position {position} is not an integer: \"{element}\"")]
    PathElementNotInteger { position: usize, element: String },
    /// A NUL character in text, which PostgreSQL's text cannot hold.
    #[error("invalid byte sequence for encoding \"UTF8\": 0x00")]
    NulInText,
    /// Bytes that are not text in the encoding they were said to be in (`convert_from`).
    #[error("invalid byte sequence for encoding \"{encoding}\": {bytes}")]
    InvalidByteSequence { encoding: &'static str, bytes: String },
    /// A character the target encoding has no code for (`convert_to`).
    #[error("character with byte sequence {bytes} in encoding \"UTF8\" has no equivalent in encoding \"{encoding}\"")]
    UntranslatableCharacter { encoding: &'static str, bytes: String },
    /// A listener of the channel has as many notifications waiting as it may hold.
    #[error("too many notifications in the NOTIFY queue")]
    NotifyQueueFull,
    /// A function argument out of its domain (`split_part(s, d, 0)`).
    #[error("{message}")]
    InvalidArgument { message: String },
    #[error("cannot take square root of a negative number")]
    SquareRootOfNegative,
    #[error("cannot take logarithm of zero")]
    LogarithmOfZero,
    #[error("cannot take logarithm of a negative number")]
    LogarithmOfNegative,
    #[error("zero raised to a negative power is undefined")]
    ZeroToNegativePower,
    #[error("a negative number raised to a non-integer power yields a complex result")]
    NegativeToFractionalPower,
    /// A trigonometric function's argument outside its domain (`asind(2)`, `sind('Infinity')`).
    #[error("input is out of range")]
    InputOutOfRange,
    /// A numeric result past the 131072 digits numeric holds before its point.
    #[error("value overflows numeric format")]
    NumericFormatOverflow,
    /// A `format()` template that ends inside a `%` specifier.
    #[error("unterminated format() type specifier")]
    UnterminatedFormatSpecifier,
    /// A `format()` conversion other than `s`, `I`, `L` and `%`.
    #[error("unrecognized format() type specifier \"{specifier}\"")]
    UnrecognizedFormatSpecifier { specifier: char },
    /// A number written in a `format()` template (a width, a position) past `integer`.
    #[error("number is out of range")]
    FormatNumberOutOfRange,
    /// A text value past an integer type's range where one is read (a `format()` width).
    #[error("value \"{value}\" is out of range for type {type_name}")]
    IntegerValueOutOfRange { value: String, type_name: &'static str },
    /// Text `to_date`/`to_timestamp` cannot read by its pattern's field (`field` as written).
    #[error("invalid value \"{value}\" for \"{field}\"")]
    InvalidPatternValue { value: String, field: String },
    /// An hour past 12 read beside AM or PM.
    #[error("hour \"{hour}\" is invalid for the 12-hour clock")]
    TwelveHourClock { hour: i64 },
    /// NaN written into a real or double precision column: SQLite keeps no NaN (it stored
    /// NULL in its place).
    #[error("cannot store NaN in column \"{column}\": rhei's SQLite storage has no NaN for real and double precision")]
    NanNotStored { column: String },
    /// `width_bucket` given a count below one, equal or infinite bounds, or NaN.
    #[error("{message}")]
    WidthBucket { message: &'static str },
    /// An ordered-set aggregate's fraction outside 0..1.
    #[error("percentile value {value} is not between 0 and 1")]
    PercentileOutOfRange { value: String },
    /// An index expression or predicate that is not immutable (`now()`).
    #[error("functions in index {what} must be marked IMMUTABLE")]
    MutableIndexFunction { what: &'static str },
    /// A NULL where a function needs a value (`set_config(NULL, ...)`).
    #[error("{message}")]
    NullValueNotAllowed { message: String },
    #[error("invalid regular expression: {message}")]
    InvalidRegularExpression { message: String },
    /// A position outside a value (`get_byte(b, 5)` of a shorter bytea).
    #[error("{message}")]
    SubscriptOutOfRange { message: String },
    /// An ESCAPE clause that is not one character (`SIMILAR TO ... ESCAPE 'ab'`).
    #[error("{message}")]
    InvalidEscapeSequence { message: String },
    /// `unistr` of a backslash that starts no Unicode escape.
    #[error("invalid Unicode escape")]
    InvalidUnicodeEscape,
    /// A value past what a function can make (`chr(0)`, a character past U+10FFFF).
    #[error("{message}")]
    ProgramLimitExceeded { message: String },
    #[error("canceling statement due to user request")]
    QueryCanceled,
    /// A table changed under a statement that had already read its definition (dropped and
    /// made again while a COPY started): retry it.
    #[error("could not serialize access: {what}")]
    ObjectChanged { what: String },
    /// The client ended COPY FROM STDIN with CopyFail, or stopped sending: nothing is loaded.
    #[error("COPY from stdin failed: {message}")]
    CopyFailed { message: String },
    #[error("canceling statement due to statement timeout")]
    StatementTimeout,
    #[error("could not open data directory \"{path}\": {reason}")]
    DataDirectory { path: String, reason: String },
    /// Reading or writing the OLAP copy's Parquet files (`olap_storage = "parquet"`).
    #[error("could not {action} \"{path}\": {reason}")]
    OlapStorage { action: &'static str, path: String, reason: String },
    #[error("the OLTP writer thread has stopped")]
    WriterGone,
    /// The commit went into the write-ahead log, which could then not be synced to disk: it is
    /// visible, but a power loss could take it back.
    #[error("could not make the commit durable: {reason}")]
    NotDurable { reason: String },
    /// `which`: "maximum" or "minimum".
    #[error("nextval: reached {which} value of sequence \"{name}\" ({bound})")]
    SequenceExhausted { name: String, which: &'static str, bound: i64 },
    /// `what`: `currval of sequence "s"` or `lastval`.
    #[error("{what} is not yet defined in this session")]
    SequenceNotYetDefined { what: String },
    #[error("\"{name}\" is not a sequence")]
    NotASequence { name: String },
    /// DROP VIEW naming a table.
    #[error("\"{name}\" is not a view")]
    NotAView { name: String },
    /// DROP TABLE naming a view.
    #[error("\"{name}\" is not a table")]
    NotATable { name: String },
    #[error("view \"{name}\" does not exist")]
    UndefinedView { name: String },
    #[error("infinite recursion detected in rules for relation \"{relation}\"")]
    InfiniteRecursion { relation: String },
    #[error("column \"{column}\" specified more than once")]
    ColumnSpecifiedTwice { column: String },
    #[error("too many column names were specified")]
    TooManyColumnNames,
    #[error("setval: value {value} is out of bounds for sequence \"{name}\" ({min}..{max})")]
    SequenceValueOutOfBounds { name: String, value: i64, min: i64, max: i64 },
    #[error("the engine is shutting down")]
    ShuttingDown,
    #[error("internal error in SQLite: {0}")]
    Sqlite(String),
    #[error("internal error in the OLAP engine: {0}")]
    Olap(String),
    #[error("internal error: {0}")]
    Internal(String),
}

impl EngineError {
    /// The PostgreSQL SQLSTATE for this error (Appendix A of the PostgreSQL manual).
    pub fn sqlstate(&self) -> &'static str {
        match self {
            Self::Syntax { .. } | Self::MalformedStatement { .. } | Self::RepeatedAssignment { .. } => "42601",
            Self::MultipleColumnSource => "0A000",
            Self::UndefinedTable { .. } | Self::AliasedTableReference { .. } | Self::UndefinedView { .. } => "42P01",
            Self::DuplicateTable { .. } => "42P07",
            Self::UndefinedColumn { .. } => "42703",
            Self::DuplicateColumn { .. } => "42701",
            Self::UndefinedFunction { .. } => "42883",
            Self::UndefinedType { .. } => "42704",
            Self::UniqueViolation { .. } | Self::DuplicateKeys { .. } => "23505",
            Self::NotNullViolation { .. } => "23502",
            Self::CheckViolation { .. } | Self::CheckViolatedByExistingRow { .. } => "23514",
            Self::ForeignKeyMissing { .. } | Self::ForeignKeyReferenced { .. } => "23503",
            Self::NoMatchingUniqueKey { .. } => "42830",
            Self::IncompatibleForeignKey { .. } => "42804",
            Self::DependentObjects { .. } => "2BP01",
            Self::DuplicateConstraint { .. } | Self::DuplicateType { .. } | Self::DuplicateEnumLabel { .. } => "42710",
            Self::InvalidEnumValue { .. } => "22P02",
            Self::UndefinedEnumLabel { .. } => "22023",
            Self::InvalidEnumLabel { .. } => "42602",
            Self::UndefinedConstraint { .. } | Self::UndefinedIndex { .. } => "42704",
            Self::AmbiguousColumn { .. } => "42702",
            Self::GroupingError { .. } => "42803",
            Self::InvalidColumnReference { .. } => "42P10",
            Self::WindowingError { .. } => "42P20",
            Self::TypeMismatch { .. } => "42804",
            Self::CannotCoerce { .. } => "42846",
            Self::UndefinedOperator { .. } => "42883",
            Self::DuplicateAlias { .. } | Self::DuplicateTableName { .. } => "42712",
            Self::NegativeLimit => "2201W",
            // PostgreSQL 15 says so with feature_not_supported (views take MERGE from 17).
            Self::MergeOnView { .. } => "0A000",
            Self::UpsertAffectsRowTwice | Self::SubqueryReturnedRows | Self::MergeAffectsRowTwice => "21000",
            Self::NegativeOffset => "2201X",
            Self::NegativeSubstringLength => "22011",
            Self::NullValueNotAllowed { .. } => "22004",
            Self::MutableIndexFunction { .. } => "42P17",
            Self::MultiplePrimaryKeys { .. } | Self::ColumnInPrimaryKey { .. } => "42P16",
            Self::ColumnContainsNulls { .. } => "23502",
            Self::CannotCastAutomatically { .. } => "42804",
            Self::InvalidTextRepresentation { .. } | Self::InvalidCidr { .. } | Self::MalformedArrayLiteral { .. } | Self::PathElementNotInteger { .. } => "22P02",
            Self::InvalidDatetimeFormat { .. } | Self::InvalidPatternValue { .. } | Self::TwelveHourClock { .. } | Self::IntervalFormatField => "22007",
            Self::DatetimeFieldOverflow { .. } | Self::DateFieldOutOfRange { .. } | Self::TimeFieldOutOfRange { .. } | Self::TimestampOutOfRange { .. } | Self::IntervalOutOfRange | Self::BinStrideNotPositive => "22008",
            Self::OlapCopyBehind { .. } => "XX000",
            Self::NumericOutOfRange { .. } | Self::NumericFieldOverflow { .. } | Self::NumericFormatOverflow | Self::InputOutOfRange | Self::UnconstrainedNumericTooWide | Self::FormatNumberOutOfRange | Self::IntegerValueOutOfRange { .. } | Self::PercentileOutOfRange { .. } | Self::NetworkResultOutOfRange => {
                "22003"
            }
            Self::StringTooLong { .. } => "22001",
            Self::DivisionByZero => "22012",
            Self::UndefinedCursor { .. } => "34000",
            Self::DuplicateCursor { .. } => "42P03",
            Self::CursorScansForwardOnly => "55000",
            Self::CursorOutsideTransaction => "25P01",
            Self::DatatypeMismatch { .. } => "42804",
            Self::BadCopyData { .. } => "22P04",
            Self::FeatureNotSupported { .. }
            | Self::UnitNotSupported { .. }
            | Self::TruncateReferenced { .. }
            | Self::SetReturningNotAllowed { .. }
            | Self::BinStrideHasMonths => {
                "0A000"
            }
            Self::ReadOnlyTransaction { .. } | Self::ReadOnlyReplica { .. } => "25006",
            Self::InFailedTransaction => "25P02",
            Self::NoActiveTransaction => "25P01",
            Self::ActiveTransaction | Self::NotInTransactionBlock { .. } => "25001",
            Self::UndefinedSavepoint { .. } => "3B001",
            Self::NotifyQueueFull => "54000",
            Self::NulInText | Self::InvalidByteSequence { .. } => "22021",
            Self::UntranslatableCharacter { .. } => "22P05",
            Self::UndefinedParameter { .. } => "42704",
            Self::InvalidParameterValue { .. }
            | Self::UnrecognizedTimeZone { .. }
            | Self::InvalidArgument { .. }
            | Self::UnterminatedFormatSpecifier
            | Self::UnrecognizedFormatSpecifier { .. }
            | Self::NullKey { .. }
            | Self::CannotReplaceExistingKey => "22023",
            Self::UnsupportedUnicodeEscape => "22P05",
            Self::SquareRootOfNegative | Self::ZeroToNegativePower | Self::NegativeToFractionalPower => "2201F",
            Self::WidthBucket { .. } => "2201G",
            Self::NanNotStored { .. } => "0A000",
            Self::LogarithmOfZero | Self::LogarithmOfNegative => "2201E",
            Self::InvalidRegularExpression { .. } => "2201B",
            Self::SubscriptOutOfRange { .. } => "2202E",
            Self::InvalidEscapeSequence { .. } => "22025",
            // PostgreSQL's unistr reports its escapes as syntax.
            Self::InvalidUnicodeEscape => "42601",
            Self::ProgramLimitExceeded { .. } => "54000",
            Self::QueryCanceled | Self::StatementTimeout | Self::CopyFailed { .. } => "57014",
            Self::ObjectChanged { .. } => "40001",
            Self::DataDirectory { .. } | Self::OlapStorage { .. } => "58030",
            Self::WriterGone => "XX000",
            Self::NotDurable { .. } => "58030",
            Self::SequenceExhausted { .. } => "2200H",
            Self::SequenceNotYetDefined { .. } | Self::OlapTableHeldBack { .. } => "55000",
            Self::NotASequence { .. } | Self::NotAView { .. } | Self::NotATable { .. } => "42809",
            Self::InfiniteRecursion { .. } => "42P17",
            Self::ColumnSpecifiedTwice { .. } => "42701",
            Self::TooManyColumnNames => "42601",
            Self::SequenceValueOutOfBounds { .. } => "22003",
            Self::ShuttingDown => "57P01",
            Self::Sqlite(_) => "XX000",
            Self::Olap(_) => "XX000",
            Self::Internal(_) => "XX000",
        }
    }

    /// Character position (1-based) in the statement text, when the error points at one.
    pub fn position(&self) -> Option<u32> {
        match self {
            Self::Syntax { position, .. } => *position,
            _ => None,
        }
    }

    /// PostgreSQL's DETAIL line, where there is one.
    pub fn detail(&self) -> Option<&str> {
        match self {
            Self::UniqueViolation { detail, .. }
            | Self::CheckViolation { detail, .. }
            | Self::ForeignKeyMissing { detail, .. }
            | Self::ForeignKeyReferenced { detail, .. } => detail.as_deref(),
            Self::IncompatibleForeignKey { detail, .. }
            | Self::DependentObjects { detail, .. }
            | Self::DuplicateKeys { detail, .. }
            | Self::TruncateReferenced { detail, .. } => {
                Some(detail)
            }
            Self::InvalidEnumLabel { detail, .. } => Some(detail),
            Self::NumericFieldOverflow { detail } => Some(detail),
            Self::InvalidCidr { .. } => Some("Value has bits set to right of mask."),
            Self::MergeOnView { .. } => Some("This operation is not supported for views."),
            Self::UnconstrainedNumericTooWide => Some(
                "rhei keeps at most 28 digits before the decimal point in a numeric column declared without precision; declare it numeric(p,s) (p up to 76) for wider values.",
            ),
            _ => None,
        }
    }

    /// PostgreSQL's HINT line, where there is one.
    pub fn hint(&self) -> Option<&str> {
        match self {
            Self::DependentObjects { .. } => Some("Use DROP ... CASCADE to drop the dependent objects too."),
            Self::NotAView { .. } => Some("Use DROP TABLE to remove a table."),
            Self::NotATable { .. } => Some("Use DROP VIEW to remove a view."),
            Self::TruncateReferenced { hint, .. } => Some(hint),
            Self::InvalidEscapeSequence { .. } => Some("Escape string must be empty or one character."),
            Self::IntervalFormatField => Some("Intervals are not tied to specific calendar dates."),
            Self::InvalidUnicodeEscape => Some("Unicode escapes must be \\XXXX, \\+XXXXXX, \\uXXXX, or \\UXXXXXXXX."),
            Self::UnterminatedFormatSpecifier | Self::UnrecognizedFormatSpecifier { .. } => Some("For a single \"%\" use \"%%\"."),
            Self::OlapTableHeldBack { .. } => Some("Leave the route automatic (SET rhei.route = auto, no /*+ olap */ hint) and SQLite answers it."),
            Self::CannotReplaceExistingKey => Some("Try using the function jsonb_set to replace key value."),
            Self::DatatypeMismatch { .. } => Some("You will need to rewrite or cast the expression."),
            Self::MergeAffectsRowTwice => Some("Ensure that not more than one source row matches any one target row."),
            Self::UpsertAffectsRowTwice => {
                Some("Ensure that no rows proposed for insertion within the same command have duplicate constrained values.")
            }
            _ => None,
        }
    }

    /// The table and constraint an integrity violation names (ErrorResponse fields `t` and
    /// `n`, which drivers expose, e.g. psycopg's `diag.constraint_name`).
    pub fn constraint(&self) -> Option<(&str, &str)> {
        match self {
            Self::UniqueViolation { table, constraint, .. }
            | Self::CheckViolation { table, constraint, .. }
            | Self::CheckViolatedByExistingRow { table, constraint }
            | Self::ForeignKeyMissing { table, constraint, .. }
            | Self::ForeignKeyReferenced { table, constraint, .. } => Some((table, constraint)),
            _ => None,
        }
    }

    /// Whether this error is about the statement itself (its grouping, references, set
    /// operation shapes, a WHERE that is not a boolean), so whichever engine plans it must refuse it. The OLTP side asks the
    /// OLAP planner, which checks these as PostgreSQL does, where SQLite would not (it accepts
    /// bare columns beside aggregates, for one).
    pub fn is_semantic(&self) -> bool {
        matches!(
            self,
            Self::AmbiguousColumn { .. }
                | Self::GroupingError { .. }
                | Self::InvalidColumnReference { .. }
                | Self::WindowingError { .. }
                | Self::UndefinedOperator { .. }
                | Self::DuplicateAlias { .. }
                | Self::NegativeLimit
                | Self::NegativeOffset
                | Self::TypeMismatch { .. }
        )
    }

    pub(crate) fn syntax(message: impl fmt::Display) -> Self {
        Self::Syntax { message: message.to_string(), position: None }
    }

    pub(crate) fn unsupported(what: impl fmt::Display) -> Self {
        Self::FeatureNotSupported { what: what.to_string() }
    }

    /// A value too wide for `numeric(precision, scale)`, with PostgreSQL's DETAIL.
    pub(crate) fn numeric_field_overflow(precision: i32, scale: i32) -> Self {
        // apply_typmod's words: 10^0 is written 1, a negative power as it is.
        let integer_digits = precision.saturating_sub(scale);
        let bound = if integer_digits == 0 { "1".to_string() } else { format!("10^{integer_digits}") };
        Self::NumericFieldOverflow { detail: format!("A field with precision {precision}, scale {scale} must round to an absolute value less than {bound}.") }
    }
}

pub type Result<T, E = EngineError> = std::result::Result<T, E>;

/// `work`'s result, or an internal error (XX000) carrying the panic's message when it panicked:
/// for the engine's own threads, which serve other statements after one fails so.
pub fn unless_panicked<T>(work: impl FnOnce() -> Result<T>) -> Result<T> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(work)).unwrap_or_else(|panic| {
        let message = panic.downcast_ref::<&str>().map(|s| s.to_string()).or_else(|| panic.downcast_ref::<String>().cloned()).unwrap_or_default();
        Err(EngineError::Internal(format!("a statement failed unexpectedly: {message}")))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A panic becomes the statement's XX000 error, and the thread that caught it goes on.
    #[test]
    fn a_panic_is_one_failed_statement() {
        let failed = unless_panicked(|| -> Result<()> { panic!("list of the wrong element type") }).expect_err("caught");
        assert_eq!(failed.sqlstate(), "XX000");
        assert!(failed.to_string().contains("list of the wrong element type"), "{failed}");
        assert_eq!(unless_panicked(|| Ok(7)).expect("no panic"), 7);
    }
}
