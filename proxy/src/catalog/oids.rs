//! Object identifiers as PostgreSQL 15 assigns them: the fixed OIDs of built-in namespaces,
//! types, roles and access methods (copied from PostgreSQL's `pg_*.dat` bootstrap data), and
//! the rule that gives each rhei object a stable OID derived from its table id, so an OID a
//! client read a moment ago still names the same object in its next query.
//!
//! Nothing here is stored: OIDs exist only in the proxy, computed from the engine's catalog.

use rhei_engine::catalog::{PgType, TableId};

/// `pg_catalog`.
pub const PG_CATALOG_NAMESPACE: i64 = 11;
/// `pg_toast`; present so `nspname !~ '^pg_toast'` filters have something to filter.
pub const PG_TOAST_NAMESPACE: i64 = 99;
/// `public`.
pub const PUBLIC_NAMESPACE: i64 = 2200;
/// `information_schema` (its OID is not fixed in PostgreSQL; this is 15's usual one).
pub const INFORMATION_SCHEMA_NAMESPACE: i64 = 13207;

/// The bootstrap superuser; rhei reports the connected user under it.
pub const SUPERUSER_ROLE: i64 = 10;
/// `pg_database_owner`, which owns `public` since PostgreSQL 15.
pub const DATABASE_OWNER_ROLE: i64 = 6171;

/// The one database rhei serves (PostgreSQL's `postgres` database has OID 5).
pub const DATABASE: i64 = 5;
pub const DEFAULT_TABLESPACE: i64 = 1663;
pub const GLOBAL_TABLESPACE: i64 = 1664;
/// `pg_database.encoding` for UTF8.
pub const UTF8_ENCODING: i32 = 6;

pub const HEAP_AM: i64 = 2;
pub const BTREE_AM: i64 = 403;
pub const HASH_AM: i64 = 405;

/// The `default` collation, which every collatable column uses.
pub const DEFAULT_COLLATION: i64 = 100;
pub const C_COLLATION: i64 = 950;
pub const POSIX_COLLATION: i64 = 951;

/// First OID PostgreSQL hands to user objects (`FirstNormalObjectId`); table `n` gets
/// `16384 + n`, so the first table rhei creates has 16385 as in a fresh PostgreSQL database.
pub const FIRST_NORMAL_OID: i64 = 16384;
/// Objects that hang off a table (indexes, constraints, column defaults) are numbered in a
/// block of [`SLOTS_PER_TABLE`] OIDs per table above this base, far from table OIDs.
const DERIVED_BASE: i64 = 1 << 24;
const SLOTS_PER_TABLE: i64 = 2048;
/// PostgreSQL's column limit; defaults take slots `1..=1600` (by attnum), indexes the rest.
const MAX_COLUMNS: i64 = 1600;

/// Sequences are numbered from here by their row in rhei's sequence table: above any table
/// OID rhei will hand out, below the blocks of objects derived from tables.
const SEQUENCE_BASE: i64 = 1 << 23;

/// Views are numbered from here by their row in rhei's view table: above the sequences,
/// below the blocks of objects derived from tables.
const VIEW_BASE: i64 = (1 << 23) + (1 << 22);

/// Enum types are numbered from here by their row in rhei's type table: above the views,
/// below the blocks of objects derived from tables.
const ENUM_BASE: i64 = (1 << 23) + (1 << 22) + (1 << 21);

/// An enum type's labels (`pg_enum` rows) are numbered in a block of [`LABELS_PER_ENUM`] per
/// type from here, above every other OID rhei hands out.
const ENUM_LABEL_BASE: i64 = 1 << 31;
const LABELS_PER_ENUM: i64 = 1 << 16;

/// An enum type's OID.
pub fn enum_oid(id: i64) -> i64 {
    ENUM_BASE + id
}

/// The id of the enum type whose OID `oid` is, if it is one's.
pub fn enum_id(oid: i64) -> Option<i64> {
    (ENUM_BASE < oid && oid < DERIVED_BASE).then_some(oid - ENUM_BASE)
}

/// The `pg_enum` OID of label `k` (in sort order) of enum type `id`.
pub fn enum_label_oid(id: i64, k: usize) -> i64 {
    ENUM_LABEL_BASE + id * LABELS_PER_ENUM + k as i64
}

/// A view's OID.
pub fn view_oid(id: i64) -> i64 {
    VIEW_BASE + id
}

/// A sequence's OID.
pub fn sequence_oid(id: i64) -> i64 {
    SEQUENCE_BASE + id
}

/// A user table's OID.
pub fn table_oid(id: TableId) -> i64 {
    FIRST_NORMAL_OID + id.0
}

/// The OID of the `k`th index of a table (0 is the primary key's, if any), which is also the
/// OID of the constraint the index enforces (they live in different catalogs).
pub fn index_oid(id: TableId, k: usize) -> i64 {
    DERIVED_BASE + id.0 * SLOTS_PER_TABLE + MAX_COLUMNS + 1 + k as i64
}

/// The OID of the `k`th FOREIGN KEY or CHECK constraint of a table (counted from the top of
/// the table's block, so they never meet its indexes).
pub fn constraint_oid(id: TableId, k: usize) -> i64 {
    DERIVED_BASE + id.0 * SLOTS_PER_TABLE + SLOTS_PER_TABLE - 1 - k as i64
}

/// The `pg_attrdef` OID of column `attnum`'s default.
pub fn attrdef_oid(id: TableId, attnum: i16) -> i64 {
    DERIVED_BASE + id.0 * SLOTS_PER_TABLE + i64::from(attnum)
}

/// `atttypid` and `atttypmod` of a declared column type, as PostgreSQL computes the typmod:
/// `varchar(n)` and `char(n)` store `n + 4`, `numeric(p,s)` stores `((p << 16) | s) + 4`,
/// everything else -1.
pub fn type_of(ty: &PgType) -> (i64, i32) {
    match *ty {
        PgType::Int2 => (21, -1),
        PgType::Int4 => (23, -1),
        PgType::Int8 => (20, -1),
        PgType::Float4 => (700, -1),
        PgType::Float8 => (701, -1),
        PgType::Numeric { precision: Some(p), scale } => {
            (1700, ((i32::from(p) << 16) | (i32::from(scale.unwrap_or(0)) & 0xffff)) + 4)
        }
        PgType::Numeric { precision: None, .. } => (1700, -1),
        PgType::Text => (25, -1),
        PgType::Varchar(n) => (1043, n.map_or(-1, |n| n as i32 + 4)),
        PgType::Bpchar(n) => (1042, n.map_or(-1, |n| n as i32 + 4)),
        PgType::Bool => (16, -1),
        PgType::Date => (1082, -1),
        PgType::Timestamp => (1114, -1),
        PgType::Timestamptz => (1184, -1),
        PgType::Time => (1083, -1),
        PgType::Interval => (1186, -1),
        PgType::Bytea => (17, -1),
        PgType::Uuid => (2950, -1),
        PgType::Inet => (869, -1),
        PgType::Cidr => (650, -1),
        PgType::Json => (114, -1),
        PgType::Jsonb => (3802, -1),
        PgType::Enum(e) => (enum_oid(e.def().id), -1),
        // An array column's typmod is its element's (`varchar(5)[]`: 9).
        PgType::Array(element) => {
            let (element_oid, typmod) = type_of(&element.ty());
            (builtin_type(element_oid).map_or(0, |t| t.array), typmod)
        }
    }
}

/// The declared type behind a type OID and typmod, for the types rhei stores.
fn declared_type(oid: i64, typmod: i32) -> Option<PgType> {
    let length = (typmod >= 4).then(|| (typmod - 4) as u32);
    Some(match oid {
        21 => PgType::Int2,
        23 => PgType::Int4,
        20 => PgType::Int8,
        700 => PgType::Float4,
        701 => PgType::Float8,
        1700 if typmod >= 4 => {
            let packed = typmod - 4;
            PgType::Numeric { precision: Some(((packed >> 16) & 0xffff) as u8), scale: Some((packed & 0xffff) as i8) }
        }
        1700 => PgType::Numeric { precision: None, scale: None },
        25 => PgType::Text,
        1043 => PgType::Varchar(length),
        1042 => PgType::Bpchar(length),
        16 => PgType::Bool,
        1082 => PgType::Date,
        1114 => PgType::Timestamp,
        1184 => PgType::Timestamptz,
        1083 => PgType::Time,
        1186 => PgType::Interval,
        17 => PgType::Bytea,
        2950 => PgType::Uuid,
        869 => PgType::Inet,
        650 => PgType::Cidr,
        114 => PgType::Json,
        3802 => PgType::Jsonb,
        _ => {
            // An array type proper (`_int4`), not int2vector or oidvector.
            let array = builtin_type(oid).filter(|t| t.category == 'A' && t.elem != 0 && t.name.starts_with('_'))?;
            PgType::Array(rhei_engine::catalog::ElementType::new(declared_type(array.elem, typmod)?).ok()?)
        }
    })
}

/// `format_type(oid, typmod)`: the SQL name of a type, with its modifiers. Unknown OIDs give
/// `???` and no type (OID 0) `-`, as in PostgreSQL.
pub fn format_type(oid: i64, typmod: Option<i32>) -> String {
    if oid == 0 {
        return "-".into();
    }
    // Without a typmod bpchar is `character`; with -1 it is `bpchar` (format_type_extended).
    if oid == 1042 && typmod.is_none() {
        return "character".into();
    }
    let typmod = typmod.unwrap_or(-1);
    if let Some(ty) = declared_type(oid, typmod) {
        return ty.pg_name();
    }
    match builtin_type(oid) {
        Some(t) if t.elem != 0 && t.category == 'A' && t.name.starts_with('_') => {
            format!("{}[]", format_type(t.elem, Some(typmod)))
        }
        Some(t) => match t.oid {
            18 => "\"char\"".into(),
            1266 => "time with time zone".into(),
            2276 => "\"any\"".into(),
            _ => t.name.into(),
        },
        None => "???".into(),
    }
}

/// One row of `pg_type` for a built-in type.
#[derive(Debug, Clone, Copy)]
pub struct BuiltinType {
    pub oid: i64,
    pub name: &'static str,
    /// `typlen`: bytes, or -1 for varlena, -2 for C strings.
    pub len: i16,
    pub by_value: bool,
    /// `typtype`: `b` base, `p` pseudo.
    pub kind: char,
    pub category: char,
    pub array: i64,
    pub elem: i64,
    /// `typinput`; output, receive and send are named after it (`int4in` -> `int4out`).
    pub input: &'static str,
    pub align: char,
    pub storage: char,
    pub collation: i64,
}

impl BuiltinType {
    /// The name of the I/O function that replaces `typinput`'s trailing `in`.
    pub fn io_function(&self, suffix: &str) -> String {
        if self.oid == 2276 && matches!(suffix, "recv" | "send") {
            return "-".into();
        }
        let stem = self.input.strip_suffix("in").unwrap_or(self.input);
        format!("{stem}{suffix}")
    }
}

/// A [`BuiltinType`] from one line of PostgreSQL's values; `typtype` follows the category
/// (`P` pseudo-types are `p`, all others base types).
macro_rules! t {
    (
        $oid:expr, $name:expr, $len:expr, $by_value:expr, $category:expr, $array:expr, $elem:expr, $input:expr,
        $align:expr, $storage:expr, $collation:expr
    ) => {
        BuiltinType {
            oid: $oid,
            name: $name,
            len: $len,
            by_value: $by_value,
            kind: if $category == 'P' { 'p' } else { 'b' },
            category: $category,
            array: $array,
            elem: $elem,
            input: $input,
            align: $align,
            storage: $storage,
            collation: $collation,
        }
    };
}

/// The built-in types a client may meet in rhei's catalogs or results, with PostgreSQL 15's
/// values (`SELECT ... FROM pg_type`).
pub const BUILTIN_TYPES: &[BuiltinType] = &[
    t!(16, "bool", 1, true, 'B', 1000, 0, "boolin", 'c', 'p', 0),
    t!(17, "bytea", -1, false, 'U', 1001, 0, "byteain", 'i', 'x', 0),
    t!(18, "char", 1, true, 'Z', 1002, 0, "charin", 'c', 'p', 0),
    t!(19, "name", 64, false, 'S', 1003, 18, "namein", 'c', 'p', C_COLLATION),
    t!(20, "int8", 8, true, 'N', 1016, 0, "int8in", 'd', 'p', 0),
    t!(21, "int2", 2, true, 'N', 1005, 0, "int2in", 's', 'p', 0),
    t!(22, "int2vector", -1, false, 'A', 1006, 21, "int2vectorin", 'i', 'p', 0),
    t!(23, "int4", 4, true, 'N', 1007, 0, "int4in", 'i', 'p', 0),
    t!(24, "regproc", 4, true, 'N', 1008, 0, "regprocin", 'i', 'p', 0),
    t!(25, "text", -1, false, 'S', 1009, 0, "textin", 'i', 'x', DEFAULT_COLLATION),
    t!(26, "oid", 4, true, 'N', 1028, 0, "oidin", 'i', 'p', 0),
    t!(28, "xid", 4, true, 'U', 1011, 0, "xidin", 'i', 'p', 0),
    t!(30, "oidvector", -1, false, 'A', 1013, 26, "oidvectorin", 'i', 'p', 0),
    t!(114, "json", -1, false, 'U', 199, 0, "json_in", 'i', 'x', 0),
    t!(194, "pg_node_tree", -1, false, 'Z', 0, 0, "pg_node_tree_in", 'i', 'x', DEFAULT_COLLATION),
    t!(199, "_json", -1, false, 'A', 0, 114, "array_in", 'i', 'x', 0),
    t!(650, "cidr", -1, false, 'I', 651, 0, "cidr_in", 'i', 'm', 0),
    t!(651, "_cidr", -1, false, 'A', 0, 650, "array_in", 'i', 'x', 0),
    t!(700, "float4", 4, true, 'N', 1021, 0, "float4in", 'i', 'p', 0),
    t!(701, "float8", 8, true, 'N', 1022, 0, "float8in", 'd', 'p', 0),
    t!(705, "unknown", -2, false, 'X', 0, 0, "unknownin", 'c', 'p', 0),
    t!(869, "inet", -1, false, 'I', 1041, 0, "inet_in", 'i', 'm', 0),
    t!(1000, "_bool", -1, false, 'A', 0, 16, "array_in", 'i', 'x', 0),
    t!(1001, "_bytea", -1, false, 'A', 0, 17, "array_in", 'i', 'x', 0),
    t!(1002, "_char", -1, false, 'A', 0, 18, "array_in", 'i', 'x', 0),
    t!(1003, "_name", -1, false, 'A', 0, 19, "array_in", 'i', 'x', C_COLLATION),
    t!(1005, "_int2", -1, false, 'A', 0, 21, "array_in", 'i', 'x', 0),
    t!(1006, "_int2vector", -1, false, 'A', 0, 22, "array_in", 'i', 'x', 0),
    t!(1007, "_int4", -1, false, 'A', 0, 23, "array_in", 'i', 'x', 0),
    t!(1008, "_regproc", -1, false, 'A', 0, 24, "array_in", 'i', 'x', 0),
    t!(1009, "_text", -1, false, 'A', 0, 25, "array_in", 'i', 'x', DEFAULT_COLLATION),
    t!(1011, "_xid", -1, false, 'A', 0, 28, "array_in", 'i', 'x', 0),
    t!(1013, "_oidvector", -1, false, 'A', 0, 30, "array_in", 'i', 'x', 0),
    t!(1014, "_bpchar", -1, false, 'A', 0, 1042, "array_in", 'i', 'x', DEFAULT_COLLATION),
    t!(1015, "_varchar", -1, false, 'A', 0, 1043, "array_in", 'i', 'x', DEFAULT_COLLATION),
    t!(1016, "_int8", -1, false, 'A', 0, 20, "array_in", 'd', 'x', 0),
    t!(1021, "_float4", -1, false, 'A', 0, 700, "array_in", 'i', 'x', 0),
    t!(1022, "_float8", -1, false, 'A', 0, 701, "array_in", 'd', 'x', 0),
    t!(1028, "_oid", -1, false, 'A', 0, 26, "array_in", 'i', 'x', 0),
    t!(1033, "aclitem", 12, false, 'U', 1034, 0, "aclitemin", 'd', 'p', 0),
    t!(1034, "_aclitem", -1, false, 'A', 0, 1033, "array_in", 'd', 'x', 0),
    t!(1041, "_inet", -1, false, 'A', 0, 869, "array_in", 'i', 'x', 0),
    t!(1042, "bpchar", -1, false, 'S', 1014, 0, "bpcharin", 'i', 'x', DEFAULT_COLLATION),
    t!(1043, "varchar", -1, false, 'S', 1015, 0, "varcharin", 'i', 'x', DEFAULT_COLLATION),
    t!(1082, "date", 4, true, 'D', 1182, 0, "date_in", 'i', 'p', 0),
    t!(1083, "time", 8, true, 'D', 1183, 0, "time_in", 'd', 'p', 0),
    t!(1114, "timestamp", 8, true, 'D', 1115, 0, "timestamp_in", 'd', 'p', 0),
    t!(1115, "_timestamp", -1, false, 'A', 0, 1114, "array_in", 'd', 'x', 0),
    t!(1182, "_date", -1, false, 'A', 0, 1082, "array_in", 'i', 'x', 0),
    t!(1183, "_time", -1, false, 'A', 0, 1083, "array_in", 'd', 'x', 0),
    t!(1184, "timestamptz", 8, true, 'D', 1185, 0, "timestamptz_in", 'd', 'p', 0),
    t!(1185, "_timestamptz", -1, false, 'A', 0, 1184, "array_in", 'd', 'x', 0),
    t!(1186, "interval", 16, false, 'T', 1187, 0, "interval_in", 'd', 'p', 0),
    t!(1187, "_interval", -1, false, 'A', 0, 1186, "array_in", 'd', 'x', 0),
    t!(1231, "_numeric", -1, false, 'A', 0, 1700, "array_in", 'i', 'x', 0),
    t!(1266, "timetz", 12, false, 'D', 1270, 0, "timetz_in", 'd', 'p', 0),
    t!(1270, "_timetz", -1, false, 'A', 0, 1266, "array_in", 'd', 'x', 0),
    t!(1700, "numeric", -1, false, 'N', 1231, 0, "numeric_in", 'i', 'm', 0),
    t!(2205, "regclass", 4, true, 'N', 2210, 0, "regclassin", 'i', 'p', 0),
    t!(2206, "regtype", 4, true, 'N', 2211, 0, "regtypein", 'i', 'p', 0),
    t!(2210, "_regclass", -1, false, 'A', 0, 2205, "array_in", 'i', 'x', 0),
    t!(2211, "_regtype", -1, false, 'A', 0, 2206, "array_in", 'i', 'x', 0),
    t!(2249, "record", -1, false, 'P', 2287, 0, "record_in", 'd', 'x', 0),
    t!(2275, "cstring", -2, false, 'P', 1263, 0, "cstring_in", 'c', 'p', 0),
    t!(2276, "any", 4, true, 'P', 0, 0, "any_in", 'i', 'p', 0),
    t!(2277, "anyarray", -1, false, 'P', 0, 0, "anyarray_in", 'd', 'x', 0),
    t!(2278, "void", 4, true, 'P', 0, 0, "void_in", 'i', 'p', 0),
    t!(2950, "uuid", 16, false, 'U', 2951, 0, "uuid_in", 'c', 'p', 0),
    t!(2951, "_uuid", -1, false, 'A', 0, 2950, "array_in", 'i', 'x', 0),
    t!(3802, "jsonb", -1, false, 'U', 3807, 0, "jsonb_in", 'i', 'x', 0),
    t!(3807, "_jsonb", -1, false, 'A', 0, 3802, "array_in", 'i', 'x', 0),
    t!(4089, "regnamespace", 4, true, 'N', 4090, 0, "regnamespacein", 'i', 'p', 0),
];

/// The functions rhei implements, with PostgreSQL's OIDs: (oid, name, argument types, result).
pub const BUILTIN_FUNCTIONS: &[(i64, &str, &[i64], i64)] = &[
    (89, "version", &[], 25),
    (861, "current_database", &[], 19),
    (1402, "current_schema", &[], 19),
    (1403, "current_schemas", &[16], 1003),
    (745, "current_user", &[], 19),
    (746, "session_user", &[], 19),
    (2026, "pg_backend_pid", &[], 23),
    (2077, "current_setting", &[25], 25),
    (3294, "current_setting", &[25, 16], 25),
    (2079, "pg_table_is_visible", &[26], 16),
    (1081, "format_type", &[26, 23], 25),
    (1642, "pg_get_userbyid", &[26], 19),
    (1716, "pg_get_expr", &[194, 26], 25),
    (2509, "pg_get_expr", &[194, 26, 16], 25),
    (1643, "pg_get_indexdef", &[26], 25),
    (2507, "pg_get_indexdef", &[26, 23, 16], 25),
    (1387, "pg_get_constraintdef", &[26], 25),
    (2508, "pg_get_constraintdef", &[26, 16], 25),
    (1215, "obj_description", &[26, 19], 25),
    (1348, "obj_description", &[26], 25),
    (1216, "col_description", &[26, 23], 25),
    (1597, "pg_encoding_to_char", &[23], 19),
    (1922, "has_table_privilege", &[19, 25, 25], 16),
    (1927, "has_table_privilege", &[25, 25], 16),
    (2268, "has_schema_privilege", &[19, 25, 25], 16),
    (2273, "has_schema_privilege", &[25, 25], 16),
    (1640, "pg_get_viewdef", &[25], 25),
    (1641, "pg_get_viewdef", &[26], 25),
    (3810, "pg_is_in_recovery", &[], 16),
    (1282, "quote_ident", &[25], 25),
    (2081, "pg_function_is_visible", &[26], 16),
    (2165, "pg_get_function_result", &[26], 25),
    (2162, "pg_get_function_arguments", &[26], 25),
];

/// A built-in type by OID.
pub fn builtin_type(oid: i64) -> Option<&'static BuiltinType> {
    BUILTIN_TYPES.iter().find(|t| t.oid == oid)
}

/// A type OID by any name PostgreSQL accepts for it in `'name'::regtype` (`int4`, `integer`,
/// `character varying`, `pg_catalog.text`); typmods in the name are ignored.
pub fn type_oid_by_name(name: &str) -> Option<i64> {
    let name = name.trim().to_ascii_lowercase();
    let name = name.strip_prefix("pg_catalog.").unwrap_or(&name);
    let base = name.split('(').next().unwrap_or(name).trim();
    let (base, is_array) = match base.strip_suffix("[]") {
        Some(elem) => (elem.trim(), true),
        None => (base, false),
    };
    let alias = match base {
        "integer" | "int" => "int4",
        "smallint" => "int2",
        "bigint" => "int8",
        "real" => "float4",
        "double precision" | "float" => "float8",
        "boolean" => "bool",
        "character varying" => "varchar",
        "character" | "char" => "bpchar",
        "\"char\"" => "char",
        "decimal" => "numeric",
        "timestamp without time zone" => "timestamp",
        "timestamp with time zone" => "timestamptz",
        "time without time zone" => "time",
        "time with time zone" => "timetz",
        other => other,
    };
    let elem = BUILTIN_TYPES.iter().find(|t| t.name == alias)?;
    if is_array { (elem.array != 0).then_some(elem.array) } else { Some(elem.oid) }
}

/// `typlen`, `typbyval`, `typalign` and `typstorage` of a type, for `pg_attribute`.
pub fn storage_of(oid: i64) -> (i16, bool, char, char) {
    builtin_type(oid).map_or((-1, false, 'i', 'x'), |t| (t.len, t.by_value, t.align, t.storage))
}

/// The collation a column of this type gets (`default` for collatable types, else none).
pub fn collation_of(oid: i64) -> i64 {
    builtin_type(oid).map_or(0, |t| t.collation)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typmods_are_computed_as_postgres_does() {
        assert_eq!(type_of(&PgType::Varchar(Some(20))), (1043, 24));
        assert_eq!(type_of(&PgType::Numeric { precision: Some(10), scale: Some(2) }), (1700, 655_366));
        assert_eq!(type_of(&PgType::Bpchar(Some(3))), (1042, 7));
        assert_eq!(type_of(&PgType::Text), (25, -1));
    }

    #[test]
    fn format_type_matches_postgres() {
        assert_eq!(format_type(1043, Some(24)), "character varying(20)");
        assert_eq!(format_type(1043, Some(-1)), "character varying");
        assert_eq!(format_type(1700, Some(655_366)), "numeric(10,2)");
        assert_eq!(format_type(1700, None), "numeric");
        assert_eq!(format_type(1042, Some(7)), "character(3)");
        assert_eq!(format_type(1042, Some(-1)), "bpchar");
        assert_eq!(format_type(1042, None), "character");
        assert_eq!(format_type(1184, Some(-1)), "timestamp with time zone");
        assert_eq!(format_type(1009, Some(-1)), "text[]");
        assert_eq!(format_type(18, None), "\"char\"");
        assert_eq!(format_type(19, None), "name");
        assert_eq!(format_type(123_456, None), "???");
        assert_eq!(format_type(0, None), "-", "asyncpg's introspection shows `typelem::regtype::text` of a scalar");
    }

    #[test]
    fn type_names_resolve_like_regtype() {
        assert_eq!(type_oid_by_name("integer"), Some(23));
        assert_eq!(type_oid_by_name("pg_catalog.int4"), Some(23));
        assert_eq!(type_oid_by_name("character varying(10)"), Some(1043));
        assert_eq!(type_oid_by_name("text[]"), Some(1009));
        assert_eq!(type_oid_by_name("geometry"), None);
    }

    #[test]
    fn io_functions_are_named_after_the_input_function() {
        let int4 = builtin_type(23).unwrap();
        assert_eq!(int4.io_function("out"), "int4out");
        assert_eq!(builtin_type(1082).unwrap().io_function("recv"), "date_recv");
    }

    #[test]
    fn derived_oids_do_not_collide_with_tables() {
        let a = TableId(1);
        assert_eq!(table_oid(a), 16385);
        assert!(index_oid(a, 0) > attrdef_oid(a, 1600));
        assert!(index_oid(a, 446) < attrdef_oid(TableId(2), 1));
    }
}
