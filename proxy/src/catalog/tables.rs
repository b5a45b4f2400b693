//! The system catalogs and information_schema views a client may query, with PostgreSQL 15's
//! column names and types, and how each one's rows are derived from the [`Model`]. A catalog
//! PostgreSQL has but rhei has nothing for (`pg_policy`, `pg_inherits`, ...) is still defined,
//! empty, because psql joins against it and a missing relation would fail the whole command.
//!
//! Column types follow one convention ([`Col`]): `oid` and `xid` are Int64, `name`, `"char"`,
//! `regproc` and `pg_node_tree` are Utf8, `int2vector` and `oidvector` are lists (so
//! `attnum = ANY(indkey)` works; note they index from 1 here, as arrays do, not from 0).

use std::sync::Arc;

use arrow::array::{ArrayRef, RecordBatch, new_empty_array};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use datafusion::common::ScalarValue;
use rhei_engine::EngineError;
use rhei_engine::catalog::EnumType;

use crate::catalog::model::{ConstraintKind, IndexColumn, Model, RelKind, Relation, namespace_name, parenthesized};
use crate::catalog::oids::{self, BUILTIN_TYPES};

/// The PostgreSQL type of a catalog column, and the Arrow type that holds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Col {
    Oid,
    Name,
    /// The one-byte `"char"` type (`relkind`).
    Char,
    Text,
    Bool,
    Int2,
    Int4,
    Int8,
    Float4,
    Timestamptz,
    Regproc,
    Xid,
    NodeTree,
    Int2Vector,
    OidVector,
    TextArray,
    CharArray,
    Int2Array,
    OidArray,
    AclArray,
    AnyArray,
    Bytea,
    /// information_schema's domains, reported as their base types.
    SqlIdentifier,
    CharacterData,
    YesOrNo,
    CardinalNumber,
}

impl Col {
    pub fn arrow_type(self) -> DataType {
        let list = |inner| DataType::List(Arc::new(Field::new_list_field(inner, true)));
        match self {
            Self::Oid | Self::Xid | Self::Int8 => DataType::Int64,
            Self::Name
            | Self::Char
            | Self::Text
            | Self::Regproc
            | Self::NodeTree
            | Self::AnyArray
            | Self::SqlIdentifier
            | Self::CharacterData
            | Self::YesOrNo => DataType::Utf8,
            Self::Bool => DataType::Boolean,
            Self::Int2 => DataType::Int16,
            Self::Int4 | Self::CardinalNumber => DataType::Int32,
            Self::Float4 => DataType::Float32,
            Self::Timestamptz => DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            Self::Int2Vector | Self::Int2Array => list(DataType::Int16),
            Self::OidVector | Self::OidArray => list(DataType::Int64),
            Self::TextArray | Self::CharArray | Self::AclArray => list(DataType::Utf8),
            Self::Bytea => DataType::Binary,
        }
    }

    /// `atttypid` of a column of this type.
    pub fn type_oid(self) -> i64 {
        match self {
            Self::Oid => 26,
            Self::Name | Self::SqlIdentifier => 19,
            Self::Char => 18,
            Self::Text => 25,
            Self::Bool => 16,
            Self::Int2 => 21,
            Self::Int4 | Self::CardinalNumber => 23,
            Self::Int8 => 20,
            Self::Float4 => 700,
            Self::Timestamptz => 1184,
            Self::Regproc => 24,
            Self::Xid => 28,
            Self::NodeTree => 194,
            Self::Int2Vector => 22,
            Self::OidVector => 30,
            Self::TextArray => 1009,
            Self::CharArray => 1002,
            Self::Int2Array => 1005,
            Self::OidArray => 1028,
            Self::AclArray => 1034,
            Self::AnyArray => 2277,
            Self::Bytea => 17,
            Self::CharacterData | Self::YesOrNo => 1043,
        }
    }
}

/// The schema a system relation lives in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Namespace {
    PgCatalog,
    InformationSchema,
}

impl Namespace {
    pub fn name(self) -> &'static str {
        match self {
            Self::PgCatalog => "pg_catalog",
            Self::InformationSchema => "information_schema",
        }
    }
}

type Row = Vec<ScalarValue>;

/// One system catalog or view: its definition and where its rows come from.
pub struct SystemTable {
    pub namespace: Namespace,
    pub name: &'static str,
    /// PostgreSQL 15's OID for it.
    pub oid: i64,
    pub is_view: bool,
    pub columns: &'static [(&'static str, Col)],
    rows: fn(&Model) -> Vec<Row>,
}

impl SystemTable {
    pub fn schema(&self) -> SchemaRef {
        Arc::new(Schema::new(
            self.columns
                .iter()
                .map(|(name, col)| {
                    let field = Field::new(*name, col.arrow_type(), true);
                    // Described as PostgreSQL describes them: drivers read `oid` and `"char"`
                    // columns in binary as those types (tokio-postgres's type introspection).
                    match col {
                        Col::Oid => field.with_metadata(crate::encode::pg_oid_metadata(&pgwire::api::Type::OID)),
                        Col::Char => field.with_metadata(crate::encode::pg_oid_metadata(&pgwire::api::Type::CHAR)),
                        _ => field,
                    }
                })
                .collect::<Vec<_>>(),
        ))
    }

    /// Whether the relation has no rows for this model.
    pub fn is_empty(&self, model: &Model) -> bool {
        (self.rows)(model).is_empty()
    }

    /// Whether some row holds `value` in `column`, a text-like column (`None` for a column it
    /// does not have or one of another type, where a literal compares otherwise).
    pub fn has_text(&self, model: &Model, column: &str, value: &str) -> Option<bool> {
        let i = self.columns.iter().position(|(name, col)| *name == column && matches!(col, Col::Char | Col::Name | Col::Text))?;
        Some((self.rows)(model).iter().any(|row| matches!(row.get(i), Some(ScalarValue::Utf8(Some(v))) if v == value)))
    }

    /// The relation's rows as one batch.
    ///
    /// # Errors
    /// A row that does not fit the definition (a bug: XX000).
    pub fn batch(&self, model: &Model) -> Result<RecordBatch, EngineError> {
        let rows = (self.rows)(model);
        let schema = self.schema();
        let columns = self
            .columns
            .iter()
            .enumerate()
            .map(|(j, (name, col))| {
                let ty = col.arrow_type();
                if rows.is_empty() {
                    return Ok(new_empty_array(&ty));
                }
                let cells = rows
                    .iter()
                    .map(|row| {
                        let cell = row.get(j).ok_or_else(|| {
                            EngineError::Internal(format!("{}: row without column {name}", self.name))
                        })?;
                        if cell.data_type() == ty { Ok(cell.clone()) } else { cell.cast_to(&ty).map_err(bug) }
                    })
                    .collect::<Result<Vec<_>, EngineError>>()?;
                ScalarValue::iter_to_array(cells).map_err(bug)
            })
            .collect::<Result<Vec<ArrayRef>, EngineError>>()?;
        if let Some(row) = rows.iter().find(|r| r.len() != self.columns.len()) {
            return Err(EngineError::Internal(format!(
                "{}: a row has {} values for {} columns",
                self.name,
                row.len(),
                self.columns.len()
            )));
        }
        RecordBatch::try_new(schema, columns).map_err(|e| EngineError::Internal(e.to_string()))
    }
}

fn bug(e: impl std::fmt::Display) -> EngineError {
    EngineError::Internal(format!("building a catalog table: {e}"))
}

/// Builds a row; every value is cast to its column's type, so integer literals may be any width.
macro_rules! row {
    ($($v:expr),* $(,)?) => { vec![$(ScalarValue::from($v)),*] };
}

const NULL: ScalarValue = ScalarValue::Null;

fn int2_array(values: &[i16]) -> ScalarValue {
    let values: Vec<ScalarValue> = values.iter().map(|v| ScalarValue::from(*v)).collect();
    ScalarValue::List(ScalarValue::new_list_nullable(&values, &DataType::Int16))
}

fn oid_array(values: &[i64]) -> ScalarValue {
    let values: Vec<ScalarValue> = values.iter().map(|v| ScalarValue::from(*v)).collect();
    ScalarValue::List(ScalarValue::new_list_nullable(&values, &DataType::Int64))
}

/// The names of catalog columns of type `int2vector` or `oidvector`.
pub fn vector_columns() -> std::collections::HashSet<&'static str> {
    SYSTEM_TABLES
        .iter()
        .flat_map(|t| t.columns.iter())
        .filter(|(_, col)| matches!(col, Col::Int2Vector | Col::OidVector))
        .map(|(name, _)| *name)
        .collect()
}

fn none(_: &Model) -> Vec<Row> {
    Vec::new()
}

use Col::*;

/// Every system relation rhei answers for.
pub const SYSTEM_TABLES: &[SystemTable] = &[
    SystemTable {
        namespace: Namespace::PgCatalog,
        name: "pg_namespace",
        oid: 2615,
        is_view: false,
        columns: &[("oid", Oid), ("nspname", Name), ("nspowner", Oid), ("nspacl", AclArray)],
        rows: pg_namespace,
    },
    SystemTable {
        namespace: Namespace::PgCatalog,
        name: "pg_class",
        oid: 1259,
        is_view: false,
        columns: &[
            ("oid", Oid),
            ("relname", Name),
            ("relnamespace", Oid),
            ("reltype", Oid),
            ("reloftype", Oid),
            ("relowner", Oid),
            ("relam", Oid),
            ("relfilenode", Oid),
            ("reltablespace", Oid),
            ("relpages", Int4),
            ("reltuples", Float4),
            ("relallvisible", Int4),
            ("reltoastrelid", Oid),
            ("relhasindex", Bool),
            ("relisshared", Bool),
            ("relpersistence", Char),
            ("relkind", Char),
            ("relnatts", Int2),
            ("relchecks", Int2),
            ("relhasrules", Bool),
            ("relhastriggers", Bool),
            ("relhassubclass", Bool),
            ("relrowsecurity", Bool),
            ("relforcerowsecurity", Bool),
            ("relispopulated", Bool),
            ("relreplident", Char),
            ("relispartition", Bool),
            ("relrewrite", Oid),
            ("relfrozenxid", Xid),
            ("relminmxid", Xid),
            ("relacl", AclArray),
            ("reloptions", TextArray),
            ("relpartbound", NodeTree),
        ],
        rows: pg_class,
    },
    SystemTable {
        namespace: Namespace::PgCatalog,
        name: "pg_attribute",
        oid: 1249,
        is_view: false,
        columns: &[
            ("attrelid", Oid),
            ("attname", Name),
            ("atttypid", Oid),
            ("attstattarget", Int4),
            ("attlen", Int2),
            ("attnum", Int2),
            ("attndims", Int4),
            ("attcacheoff", Int4),
            ("atttypmod", Int4),
            ("attbyval", Bool),
            ("attalign", Char),
            ("attstorage", Char),
            ("attcompression", Char),
            ("attnotnull", Bool),
            ("atthasdef", Bool),
            ("atthasmissing", Bool),
            ("attidentity", Char),
            ("attgenerated", Char),
            ("attisdropped", Bool),
            ("attislocal", Bool),
            ("attinhcount", Int4),
            ("attcollation", Oid),
            ("attacl", AclArray),
            ("attoptions", TextArray),
            ("attfdwoptions", TextArray),
            ("attmissingval", AnyArray),
        ],
        rows: pg_attribute,
    },
    SystemTable {
        namespace: Namespace::PgCatalog,
        name: "pg_type",
        oid: 1247,
        is_view: false,
        columns: &[
            ("oid", Oid),
            ("typname", Name),
            ("typnamespace", Oid),
            ("typowner", Oid),
            ("typlen", Int2),
            ("typbyval", Bool),
            ("typtype", Char),
            ("typcategory", Char),
            ("typispreferred", Bool),
            ("typisdefined", Bool),
            ("typdelim", Char),
            ("typrelid", Oid),
            ("typsubscript", Regproc),
            ("typelem", Oid),
            ("typarray", Oid),
            ("typinput", Regproc),
            ("typoutput", Regproc),
            ("typreceive", Regproc),
            ("typsend", Regproc),
            ("typmodin", Regproc),
            ("typmodout", Regproc),
            ("typanalyze", Regproc),
            ("typalign", Char),
            ("typstorage", Char),
            ("typnotnull", Bool),
            ("typbasetype", Oid),
            ("typtypmod", Int4),
            ("typndims", Int4),
            ("typcollation", Oid),
            ("typdefaultbin", NodeTree),
            ("typdefault", Text),
            ("typacl", AclArray),
        ],
        rows: pg_type,
    },
    SystemTable {
        namespace: Namespace::PgCatalog,
        name: "pg_index",
        oid: 2610,
        is_view: false,
        columns: &[
            ("indexrelid", Oid),
            ("indrelid", Oid),
            ("indnatts", Int2),
            ("indnkeyatts", Int2),
            ("indisunique", Bool),
            ("indnullsnotdistinct", Bool),
            ("indisprimary", Bool),
            ("indisexclusion", Bool),
            ("indimmediate", Bool),
            ("indisclustered", Bool),
            ("indisvalid", Bool),
            ("indcheckxmin", Bool),
            ("indisready", Bool),
            ("indislive", Bool),
            ("indisreplident", Bool),
            ("indkey", Int2Vector),
            ("indcollation", OidVector),
            ("indclass", OidVector),
            ("indoption", Int2Vector),
            ("indexprs", NodeTree),
            ("indpred", NodeTree),
        ],
        rows: pg_index,
    },
    SystemTable {
        namespace: Namespace::PgCatalog,
        name: "pg_constraint",
        oid: 2606,
        is_view: false,
        columns: &[
            ("oid", Oid),
            ("conname", Name),
            ("connamespace", Oid),
            ("contype", Char),
            ("condeferrable", Bool),
            ("condeferred", Bool),
            ("convalidated", Bool),
            ("conrelid", Oid),
            ("contypid", Oid),
            ("conindid", Oid),
            ("conparentid", Oid),
            ("confrelid", Oid),
            ("confupdtype", Char),
            ("confdeltype", Char),
            ("confmatchtype", Char),
            ("conislocal", Bool),
            ("coninhcount", Int4),
            ("connoinherit", Bool),
            ("conkey", Int2Array),
            ("confkey", Int2Array),
            ("conpfeqop", OidArray),
            ("conppeqop", OidArray),
            ("conffeqop", OidArray),
            ("confdelsetcols", Int2Array),
            ("conexclop", OidArray),
            ("conbin", NodeTree),
        ],
        rows: pg_constraint,
    },
    SystemTable {
        namespace: Namespace::PgCatalog,
        name: "pg_attrdef",
        oid: 2604,
        is_view: false,
        columns: &[("oid", Oid), ("adrelid", Oid), ("adnum", Int2), ("adbin", NodeTree)],
        rows: pg_attrdef,
    },
    SystemTable {
        namespace: Namespace::PgCatalog,
        name: "pg_description",
        oid: 2609,
        is_view: false,
        columns: &[("objoid", Oid), ("classoid", Oid), ("objsubid", Int4), ("description", Text)],
        rows: pg_description,
    },
    SystemTable {
        namespace: Namespace::PgCatalog,
        name: "pg_shdescription",
        oid: 2396,
        is_view: false,
        columns: &[("objoid", Oid), ("classoid", Oid), ("description", Text)],
        rows: none,
    },
    SystemTable {
        namespace: Namespace::PgCatalog,
        name: "pg_database",
        oid: 1262,
        is_view: false,
        columns: &[
            ("oid", Oid),
            ("datname", Name),
            ("datdba", Oid),
            ("encoding", Int4),
            ("datlocprovider", Char),
            ("datistemplate", Bool),
            ("datallowconn", Bool),
            ("datconnlimit", Int4),
            ("datfrozenxid", Xid),
            ("datminmxid", Xid),
            ("dattablespace", Oid),
            ("datcollate", Text),
            ("datctype", Text),
            ("daticulocale", Text),
            ("datcollversion", Text),
            ("datacl", AclArray),
        ],
        rows: pg_database,
    },
    SystemTable {
        namespace: Namespace::PgCatalog,
        name: "pg_roles",
        oid: 12000,
        is_view: true,
        columns: &[
            ("rolname", Name),
            ("rolsuper", Bool),
            ("rolinherit", Bool),
            ("rolcreaterole", Bool),
            ("rolcreatedb", Bool),
            ("rolcanlogin", Bool),
            ("rolreplication", Bool),
            ("rolconnlimit", Int4),
            ("rolpassword", Text),
            ("rolvaliduntil", Timestamptz),
            ("rolbypassrls", Bool),
            ("rolconfig", TextArray),
            ("oid", Oid),
        ],
        rows: pg_roles,
    },
    SystemTable {
        namespace: Namespace::PgCatalog,
        name: "pg_user",
        oid: 12014,
        is_view: true,
        columns: &[
            ("usename", Name),
            ("usesysid", Oid),
            ("usecreatedb", Bool),
            ("usesuper", Bool),
            ("userepl", Bool),
            ("usebypassrls", Bool),
            ("passwd", Text),
            ("valuntil", Timestamptz),
            ("useconfig", TextArray),
        ],
        rows: pg_user,
    },
    SystemTable {
        namespace: Namespace::PgCatalog,
        name: "pg_settings",
        oid: 12104,
        is_view: true,
        columns: &[
            ("name", Text),
            ("setting", Text),
            ("unit", Text),
            ("category", Text),
            ("short_desc", Text),
            ("extra_desc", Text),
            ("context", Text),
            ("vartype", Text),
            ("source", Text),
            ("min_val", Text),
            ("max_val", Text),
            ("enumvals", TextArray),
            ("boot_val", Text),
            ("reset_val", Text),
            ("sourcefile", Text),
            ("sourceline", Int4),
            ("pending_restart", Bool),
        ],
        rows: pg_settings,
    },
    SystemTable {
        namespace: Namespace::PgCatalog,
        name: "pg_am",
        oid: 2601,
        is_view: false,
        columns: &[("oid", Oid), ("amname", Name), ("amhandler", Regproc), ("amtype", Char)],
        rows: pg_am,
    },
    SystemTable {
        namespace: Namespace::PgCatalog,
        name: "pg_inherits",
        oid: 2611,
        is_view: false,
        columns: &[("inhrelid", Oid), ("inhparent", Oid), ("inhseqno", Int4), ("inhdetachpending", Bool)],
        rows: none,
    },
    // asyncpg's type introspection joins it; rhei has no range types.
    SystemTable {
        namespace: Namespace::PgCatalog,
        name: "pg_range",
        oid: 3541,
        is_view: false,
        columns: &[
            ("rngtypid", Oid),
            ("rngsubtype", Oid),
            ("rngmultitypid", Oid),
            ("rngcollation", Oid),
            ("rngsubopc", Oid),
            ("rngcanonical", Regproc),
            ("rngsubdiff", Regproc),
        ],
        rows: none,
    },
    SystemTable {
        namespace: Namespace::PgCatalog,
        name: "pg_collation",
        oid: 3456,
        is_view: false,
        columns: &[
            ("oid", Oid),
            ("collname", Name),
            ("collnamespace", Oid),
            ("collowner", Oid),
            ("collprovider", Char),
            ("collisdeterministic", Bool),
            ("collencoding", Int4),
            ("collcollate", Text),
            ("collctype", Text),
            ("colliculocale", Text),
            ("collversion", Text),
        ],
        rows: pg_collation,
    },
    SystemTable {
        namespace: Namespace::PgCatalog,
        name: "pg_tablespace",
        oid: 1213,
        is_view: false,
        columns: &[("oid", Oid), ("spcname", Name), ("spcowner", Oid), ("spcacl", AclArray), ("spcoptions", TextArray)],
        rows: pg_tablespace,
    },
    SystemTable {
        namespace: Namespace::PgCatalog,
        name: "pg_proc",
        oid: 1255,
        is_view: false,
        columns: &[
            ("oid", Oid),
            ("proname", Name),
            ("pronamespace", Oid),
            ("proowner", Oid),
            ("prolang", Oid),
            ("procost", Float4),
            ("prorows", Float4),
            ("provariadic", Oid),
            ("prosupport", Regproc),
            ("prokind", Char),
            ("prosecdef", Bool),
            ("proleakproof", Bool),
            ("proisstrict", Bool),
            ("proretset", Bool),
            ("provolatile", Char),
            ("proparallel", Char),
            ("pronargs", Int2),
            ("pronargdefaults", Int2),
            ("prorettype", Oid),
            ("proargtypes", OidVector),
            ("proallargtypes", OidArray),
            ("proargmodes", CharArray),
            ("proargnames", TextArray),
            ("proargdefaults", NodeTree),
            ("protrftypes", OidArray),
            ("prosrc", Text),
            ("probin", Text),
            ("prosqlbody", NodeTree),
            ("proconfig", TextArray),
            ("proacl", AclArray),
        ],
        rows: pg_proc,
    },
    SystemTable {
        namespace: Namespace::PgCatalog,
        name: "pg_extension",
        oid: 3079,
        is_view: false,
        columns: &[
            ("oid", Oid),
            ("extname", Name),
            ("extowner", Oid),
            ("extnamespace", Oid),
            ("extrelocatable", Bool),
            ("extversion", Text),
            ("extconfig", OidArray),
            ("extcondition", TextArray),
        ],
        rows: none,
    },
    SystemTable {
        namespace: Namespace::PgCatalog,
        name: "pg_policy",
        oid: 3256,
        is_view: false,
        columns: &[
            ("oid", Oid),
            ("polname", Name),
            ("polrelid", Oid),
            ("polcmd", Char),
            ("polpermissive", Bool),
            ("polroles", OidArray),
            ("polqual", NodeTree),
            ("polwithcheck", NodeTree),
        ],
        rows: none,
    },
    SystemTable {
        namespace: Namespace::PgCatalog,
        name: "pg_statistic_ext",
        oid: 3381,
        is_view: false,
        columns: &[
            ("oid", Oid),
            ("stxrelid", Oid),
            ("stxname", Name),
            ("stxnamespace", Oid),
            ("stxowner", Oid),
            ("stxstattarget", Int4),
            ("stxkeys", Int2Vector),
            ("stxkind", CharArray),
            ("stxexprs", NodeTree),
        ],
        rows: none,
    },
    SystemTable {
        namespace: Namespace::PgCatalog,
        name: "pg_publication",
        oid: 6104,
        is_view: false,
        columns: &[
            ("oid", Oid),
            ("pubname", Name),
            ("pubowner", Oid),
            ("puballtables", Bool),
            ("pubinsert", Bool),
            ("pubupdate", Bool),
            ("pubdelete", Bool),
            ("pubtruncate", Bool),
            ("pubviaroot", Bool),
        ],
        rows: none,
    },
    SystemTable {
        namespace: Namespace::PgCatalog,
        name: "pg_publication_namespace",
        oid: 6237,
        is_view: false,
        columns: &[("oid", Oid), ("pnpubid", Oid), ("pnnspid", Oid)],
        rows: none,
    },
    SystemTable {
        namespace: Namespace::PgCatalog,
        name: "pg_publication_rel",
        oid: 6106,
        is_view: false,
        columns: &[("oid", Oid), ("prpubid", Oid), ("prrelid", Oid), ("prqual", NodeTree), ("prattrs", Int2Vector)],
        rows: none,
    },
    SystemTable {
        namespace: Namespace::PgCatalog,
        name: "pg_trigger",
        oid: 2620,
        is_view: false,
        columns: &[
            ("oid", Oid),
            ("tgrelid", Oid),
            ("tgparentid", Oid),
            ("tgname", Name),
            ("tgfoid", Oid),
            ("tgtype", Int2),
            ("tgenabled", Char),
            ("tgisinternal", Bool),
            ("tgconstrrelid", Oid),
            ("tgconstrindid", Oid),
            ("tgconstraint", Oid),
            ("tgdeferrable", Bool),
            ("tginitdeferred", Bool),
            ("tgnargs", Int2),
            ("tgattr", Int2Vector),
            ("tgargs", Bytea),
            ("tgqual", NodeTree),
            ("tgoldtable", Name),
            ("tgnewtable", Name),
        ],
        rows: none,
    },
    SystemTable {
        namespace: Namespace::PgCatalog,
        name: "pg_rewrite",
        oid: 2618,
        is_view: false,
        columns: &[
            ("oid", Oid),
            ("rulename", Name),
            ("ev_class", Oid),
            ("ev_type", Char),
            ("ev_enabled", Char),
            ("is_instead", Bool),
            ("ev_qual", NodeTree),
            ("ev_action", NodeTree),
        ],
        rows: none,
    },
    SystemTable {
        namespace: Namespace::PgCatalog,
        name: "pg_depend",
        oid: 2608,
        is_view: false,
        columns: &[
            ("classid", Oid),
            ("objid", Oid),
            ("objsubid", Int4),
            ("refclassid", Oid),
            ("refobjid", Oid),
            ("refobjsubid", Int4),
            ("deptype", Char),
        ],
        rows: none,
    },
    // Empty: every index uses its type's default operator class (SQLAlchemy's get_indexes
    // lists the others, `WHERE NOT opcdefault`).
    SystemTable {
        namespace: Namespace::PgCatalog,
        name: "pg_opclass",
        oid: 2616,
        is_view: false,
        columns: &[
            ("oid", Oid),
            ("opcmethod", Oid),
            ("opcname", Name),
            ("opcnamespace", Oid),
            ("opcowner", Oid),
            ("opcfamily", Oid),
            ("opcintype", Oid),
            ("opcdefault", Bool),
            ("opckeytype", Oid),
        ],
        rows: none,
    },
    SystemTable {
        namespace: Namespace::PgCatalog,
        name: "pg_enum",
        oid: 3501,
        is_view: false,
        columns: &[("oid", Oid), ("enumtypid", Oid), ("enumsortorder", Float4), ("enumlabel", Name)],
        rows: pg_enum,
    },
    SystemTable {
        namespace: Namespace::PgCatalog,
        name: "pg_sequence",
        oid: 2224,
        is_view: false,
        columns: &[
            ("seqrelid", Oid),
            ("seqtypid", Oid),
            ("seqstart", Int8),
            ("seqincrement", Int8),
            ("seqmax", Int8),
            ("seqmin", Int8),
            ("seqcache", Int8),
            ("seqcycle", Bool),
        ],
        rows: pg_sequence,
    },
    SystemTable {
        namespace: Namespace::PgCatalog,
        name: "pg_tables",
        oid: 12033,
        is_view: true,
        columns: &[
            ("schemaname", Name),
            ("tablename", Name),
            ("tableowner", Name),
            ("tablespace", Name),
            ("hasindexes", Bool),
            ("hasrules", Bool),
            ("hastriggers", Bool),
            ("rowsecurity", Bool),
        ],
        rows: pg_tables,
    },
    SystemTable {
        namespace: Namespace::PgCatalog,
        name: "pg_indexes",
        oid: 12043,
        is_view: true,
        columns: &[
            ("schemaname", Name),
            ("tablename", Name),
            ("indexname", Name),
            ("tablespace", Name),
            ("indexdef", Text),
        ],
        rows: pg_indexes,
    },
    SystemTable {
        namespace: Namespace::PgCatalog,
        name: "pg_views",
        oid: 12028,
        is_view: true,
        columns: &[("schemaname", Name), ("viewname", Name), ("viewowner", Name), ("definition", Text)],
        rows: pg_views,
    },
    SystemTable {
        namespace: Namespace::PgCatalog,
        name: "pg_matviews",
        oid: 12038,
        is_view: true,
        columns: &[
            ("schemaname", Name),
            ("matviewname", Name),
            ("matviewowner", Name),
            ("tablespace", Name),
            ("hasindexes", Bool),
            ("ispopulated", Bool),
            ("definition", Text),
        ],
        rows: none,
    },
    SystemTable {
        namespace: Namespace::PgCatalog,
        name: "pg_stat_user_tables",
        oid: 12161,
        is_view: true,
        columns: &[
            ("relid", Oid),
            ("schemaname", Name),
            ("relname", Name),
            ("seq_scan", Int8),
            ("seq_tup_read", Int8),
            ("idx_scan", Int8),
            ("idx_tup_fetch", Int8),
            ("n_tup_ins", Int8),
            ("n_tup_upd", Int8),
            ("n_tup_del", Int8),
            ("n_tup_hot_upd", Int8),
            ("n_live_tup", Int8),
            ("n_dead_tup", Int8),
            ("n_mod_since_analyze", Int8),
            ("n_ins_since_vacuum", Int8),
            ("last_vacuum", Timestamptz),
            ("last_autovacuum", Timestamptz),
            ("last_analyze", Timestamptz),
            ("last_autoanalyze", Timestamptz),
            ("vacuum_count", Int8),
            ("autovacuum_count", Int8),
            ("analyze_count", Int8),
            ("autoanalyze_count", Int8),
        ],
        rows: pg_stat_user_tables,
    },
    SystemTable {
        namespace: Namespace::InformationSchema,
        name: "tables",
        oid: 13425,
        is_view: true,
        columns: &[
            ("table_catalog", SqlIdentifier),
            ("table_schema", SqlIdentifier),
            ("table_name", SqlIdentifier),
            ("table_type", CharacterData),
            ("self_referencing_column_name", SqlIdentifier),
            ("reference_generation", CharacterData),
            ("user_defined_type_catalog", SqlIdentifier),
            ("user_defined_type_schema", SqlIdentifier),
            ("user_defined_type_name", SqlIdentifier),
            ("is_insertable_into", YesOrNo),
            ("is_typed", YesOrNo),
            ("commit_action", CharacterData),
        ],
        rows: information_schema_tables,
    },
    SystemTable {
        namespace: Namespace::InformationSchema,
        name: "columns",
        oid: 13295,
        is_view: true,
        columns: &[
            ("table_catalog", SqlIdentifier),
            ("table_schema", SqlIdentifier),
            ("table_name", SqlIdentifier),
            ("column_name", SqlIdentifier),
            ("ordinal_position", CardinalNumber),
            ("column_default", CharacterData),
            ("is_nullable", YesOrNo),
            ("data_type", CharacterData),
            ("character_maximum_length", CardinalNumber),
            ("character_octet_length", CardinalNumber),
            ("numeric_precision", CardinalNumber),
            ("numeric_precision_radix", CardinalNumber),
            ("numeric_scale", CardinalNumber),
            ("datetime_precision", CardinalNumber),
            ("interval_type", CharacterData),
            ("interval_precision", CardinalNumber),
            ("character_set_catalog", SqlIdentifier),
            ("character_set_schema", SqlIdentifier),
            ("character_set_name", SqlIdentifier),
            ("collation_catalog", SqlIdentifier),
            ("collation_schema", SqlIdentifier),
            ("collation_name", SqlIdentifier),
            ("domain_catalog", SqlIdentifier),
            ("domain_schema", SqlIdentifier),
            ("domain_name", SqlIdentifier),
            ("udt_catalog", SqlIdentifier),
            ("udt_schema", SqlIdentifier),
            ("udt_name", SqlIdentifier),
            ("scope_catalog", SqlIdentifier),
            ("scope_schema", SqlIdentifier),
            ("scope_name", SqlIdentifier),
            ("maximum_cardinality", CardinalNumber),
            ("dtd_identifier", SqlIdentifier),
            ("is_self_referencing", YesOrNo),
            ("is_identity", YesOrNo),
            ("identity_generation", CharacterData),
            ("identity_start", CharacterData),
            ("identity_increment", CharacterData),
            ("identity_maximum", CharacterData),
            ("identity_minimum", CharacterData),
            ("identity_cycle", YesOrNo),
            ("is_generated", CharacterData),
            ("generation_expression", CharacterData),
            ("is_updatable", YesOrNo),
        ],
        rows: information_schema_columns,
    },
    SystemTable {
        namespace: Namespace::InformationSchema,
        name: "schemata",
        oid: 13382,
        is_view: true,
        columns: &[
            ("catalog_name", SqlIdentifier),
            ("schema_name", SqlIdentifier),
            ("schema_owner", SqlIdentifier),
            ("default_character_set_catalog", SqlIdentifier),
            ("default_character_set_schema", SqlIdentifier),
            ("default_character_set_name", SqlIdentifier),
            ("sql_path", CharacterData),
        ],
        rows: information_schema_schemata,
    },
    SystemTable {
        namespace: Namespace::InformationSchema,
        name: "sequences",
        oid: 13386,
        is_view: true,
        columns: &[
            ("sequence_catalog", SqlIdentifier),
            ("sequence_schema", SqlIdentifier),
            ("sequence_name", SqlIdentifier),
            ("data_type", CharacterData),
            ("numeric_precision", CardinalNumber),
            ("numeric_precision_radix", CardinalNumber),
            ("numeric_scale", CardinalNumber),
            ("start_value", CharacterData),
            ("minimum_value", CharacterData),
            ("maximum_value", CharacterData),
            ("increment", CharacterData),
            ("cycle_option", YesOrNo),
        ],
        rows: information_schema_sequences,
    },
    SystemTable {
        namespace: Namespace::InformationSchema,
        name: "table_constraints",
        oid: 13411,
        is_view: true,
        columns: &[
            ("constraint_catalog", SqlIdentifier),
            ("constraint_schema", SqlIdentifier),
            ("constraint_name", SqlIdentifier),
            ("table_catalog", SqlIdentifier),
            ("table_schema", SqlIdentifier),
            ("table_name", SqlIdentifier),
            ("constraint_type", CharacterData),
            ("is_deferrable", YesOrNo),
            ("initially_deferred", YesOrNo),
            ("enforced", YesOrNo),
            ("nulls_distinct", YesOrNo),
        ],
        rows: information_schema_table_constraints,
    },
    SystemTable {
        namespace: Namespace::InformationSchema,
        name: "key_column_usage",
        oid: 13329,
        is_view: true,
        columns: &[
            ("constraint_catalog", SqlIdentifier),
            ("constraint_schema", SqlIdentifier),
            ("constraint_name", SqlIdentifier),
            ("table_catalog", SqlIdentifier),
            ("table_schema", SqlIdentifier),
            ("table_name", SqlIdentifier),
            ("column_name", SqlIdentifier),
            ("ordinal_position", CardinalNumber),
            ("position_in_unique_constraint", CardinalNumber),
        ],
        rows: information_schema_key_column_usage,
    },
    SystemTable {
        namespace: Namespace::InformationSchema,
        name: "referential_constraints",
        oid: 13339,
        is_view: true,
        columns: &[
            ("constraint_catalog", SqlIdentifier),
            ("constraint_schema", SqlIdentifier),
            ("constraint_name", SqlIdentifier),
            ("unique_constraint_catalog", SqlIdentifier),
            ("unique_constraint_schema", SqlIdentifier),
            ("unique_constraint_name", SqlIdentifier),
            ("match_option", CharacterData),
            ("update_rule", CharacterData),
            ("delete_rule", CharacterData),
        ],
        rows: information_schema_referential_constraints,
    },
    SystemTable {
        namespace: Namespace::InformationSchema,
        name: "check_constraints",
        oid: 13260,
        is_view: true,
        columns: &[
            ("constraint_catalog", SqlIdentifier),
            ("constraint_schema", SqlIdentifier),
            ("constraint_name", SqlIdentifier),
            ("check_clause", CharacterData),
        ],
        rows: information_schema_check_constraints,
    },
    SystemTable {
        namespace: Namespace::InformationSchema,
        name: "constraint_column_usage",
        oid: 13300,
        is_view: true,
        columns: &[
            ("table_catalog", SqlIdentifier),
            ("table_schema", SqlIdentifier),
            ("table_name", SqlIdentifier),
            ("column_name", SqlIdentifier),
            ("constraint_catalog", SqlIdentifier),
            ("constraint_schema", SqlIdentifier),
            ("constraint_name", SqlIdentifier),
        ],
        rows: information_schema_constraint_column_usage,
    },
];

/// A system relation by schema and name.
pub fn system_table(namespace: Namespace, name: &str) -> Option<&'static SystemTable> {
    SYSTEM_TABLES.iter().find(|t| t.namespace == namespace && t.name == name)
}

fn pg_namespace(_: &Model) -> Vec<Row> {
    [oids::PG_CATALOG_NAMESPACE, oids::PG_TOAST_NAMESPACE, oids::PUBLIC_NAMESPACE, oids::INFORMATION_SCHEMA_NAMESPACE]
        .into_iter()
        .map(|oid| {
            let owner = if oid == oids::PUBLIC_NAMESPACE { oids::DATABASE_OWNER_ROLE } else { oids::SUPERUSER_ROLE };
            row![oid, namespace_name(oid).unwrap_or_default(), owner, NULL]
        })
        .collect()
}

fn pg_sequence(model: &Model) -> Vec<Row> {
    model
        .sequences
        .iter()
        .map(|(oid, s)| {
            let type_oid = match s.bits {
                16 => 21,
                32 => 23,
                _ => 20,
            };
            row![*oid, type_oid, s.start, s.increment, s.max_value, s.min_value, 1i64, s.cycle]
        })
        .collect()
}

fn pg_class(model: &Model) -> Vec<Row> {
    model
        .relations
        .iter()
        .map(|r| {
            // System catalogs replicate nothing (`n`), user tables by primary key (`d`).
            let (am, filenode, tuples, replident) = match r.kind {
                RelKind::Table if r.table_id.is_none() => (oids::HEAP_AM, r.oid, -1.0f32, "n"),
                RelKind::Table => (oids::HEAP_AM, r.oid, -1.0f32, "d"),
                RelKind::Index => (oids::BTREE_AM, r.oid, 0.0, "n"),
                RelKind::View => (0, 0, -1.0, "n"),
                RelKind::Sequence => (0, r.oid, 1.0, "n"),
            };
            row![
                r.oid,
                r.name.as_str(),
                r.namespace,
                0,
                0,
                oids::SUPERUSER_ROLE,
                am,
                filenode,
                0,
                0,
                tuples,
                0,
                0,
                r.has_index,
                false,
                "p",
                r.kind.code(),
                r.columns.len() as i16,
                r.checks,
                false,
                r.has_triggers,
                false,
                false,
                false,
                true,
                replident,
                false,
                0,
                0,
                1,
                NULL,
                NULL,
                NULL,
            ]
        })
        .collect()
}

fn pg_attribute(model: &Model) -> Vec<Row> {
    let mut rows = Vec::new();
    for r in &model.relations {
        for (i, a) in r.columns.iter().enumerate() {
            let (len, by_value, align, storage) = oids::storage_of(a.type_oid);
            rows.push(row![
                r.oid,
                a.name.as_str(),
                a.type_oid,
                -1,
                len,
                i as i16 + 1,
                // attndims: an array column's dimensions as declared (rhei's are one).
                if oids::builtin_type(a.type_oid).is_some_and(|t| t.category == 'A' && t.name.starts_with('_')) { 1 } else { 0 },
                -1,
                a.typmod,
                by_value,
                align.to_string(),
                storage.to_string(),
                "",
                a.not_null,
                a.default.is_some(),
                false,
                "",
                "",
                false,
                true,
                0,
                oids::collation_of(a.type_oid),
                NULL,
                NULL,
                NULL,
                NULL,
            ]);
        }
    }
    rows
}

/// Each enum label in sort order, numbered 1, 2, ... as PostgreSQL numbers a type's labels
/// when it is created (one added BEFORE or AFTER another gets a position between them there;
/// here the labels are numbered again).
fn pg_enum(model: &Model) -> Vec<Row> {
    model
        .enums
        .iter()
        .flat_map(|e| {
            let def = e.def();
            def.labels.iter().enumerate().map(move |(k, label)| {
                row![oids::enum_label_oid(def.id, k), oids::enum_oid(def.id), (k + 1) as f32, label.as_str()]
            })
        })
        .collect()
}

/// A `pg_type` row of an enum type (PostgreSQL also makes an array type `_name` for each,
/// which rhei has not: `typarray` is 0).
fn enum_type_row(ty: EnumType) -> Row {
    let def = ty.def();
    row![
        oids::enum_oid(def.id),
        def.name.as_str(),
        oids::PUBLIC_NAMESPACE,
        oids::SUPERUSER_ROLE,
        4i16,
        true,
        "e",
        "E",
        false,
        true,
        ",",
        0,
        "-",
        0,
        0,
        "enum_in",
        "enum_out",
        "enum_recv",
        "enum_send",
        "-",
        "-",
        "-",
        "i",
        "p",
        false,
        0,
        -1,
        0,
        0,
        NULL,
        NULL,
        NULL,
    ]
}

fn pg_type(model: &Model) -> Vec<Row> {
    let enums = model.enums.iter().map(|e| enum_type_row(*e));
    BUILTIN_TYPES
        .iter()
        .map(|t| {
            let is_array = t.category == 'A' && t.name.starts_with('_');
            let modifiers = |suffix: &str| match t.oid {
                1042 | 1043 => format!("{}{suffix}", t.name),
                1700 => format!("numeric{suffix}"),
                _ => "-".to_string(),
            };
            row![
                t.oid,
                t.name,
                oids::PG_CATALOG_NAMESPACE,
                oids::SUPERUSER_ROLE,
                t.len,
                t.by_value,
                t.kind.to_string(),
                t.category.to_string(),
                matches!(t.oid, 16 | 25 | 701 | 1184 | 1186 | 26),
                true,
                ",",
                0,
                if is_array || matches!(t.oid, 22 | 30) { "array_subscript_handler" } else { "-" },
                t.elem,
                t.array,
                t.input,
                t.io_function("out"),
                t.io_function("recv"),
                t.io_function("send"),
                modifiers("typmodin"),
                modifiers("typmodout"),
                if is_array { "array_typanalyze" } else { "-" },
                t.align.to_string(),
                t.storage.to_string(),
                false,
                0,
                -1,
                0,
                t.collation,
                NULL,
                NULL,
                NULL,
            ]
        })
        .chain(enums)
        .collect()
}

fn pg_index(model: &Model) -> Vec<Row> {
    model
        .indexes()
        .map(|(r, index)| {
            let n = index.keys.len() as i16;
            let collations: Vec<i64> = r.columns.iter().map(|a| oids::collation_of(a.type_oid)).collect();
            // indoption bit 1 is INDOPTION_DESC; a descending key also sorts NULLs first (bit 2).
            let options: Vec<i16> = (0..index.keys.len()).map(|i| if index.descending.get(i) == Some(&true) { 3 } else { 0 }).collect();
            let expressions: Vec<String> = index.key_names.iter().filter_map(IndexColumn::expression).map(parenthesized).collect();
            row![
                r.oid,
                index.table_oid,
                n,
                n,
                index.is_unique,
                index.nulls_not_distinct,
                index.is_primary,
                false,
                true,
                false,
                true,
                false,
                true,
                true,
                false,
                int2_array(&index.keys),
                oid_array(&collations),
                oid_array(&vec![0; index.keys.len()]),
                int2_array(&options),
                // What `pg_get_expr(indexprs | indpred, indrelid)` gives back (SQLAlchemy's
                // expressions and postgresql_where).
                ScalarValue::Utf8(Some(expressions.join(", ")).filter(|e| !e.is_empty())),
                ScalarValue::Utf8(index.predicate.as_deref().map(parenthesized)),
            ]
        })
        .collect()
}

fn pg_constraint(model: &Model) -> Vec<Row> {
    let mut rows: Vec<Row> = model
        .indexes()
        .filter(|(_, index)| index.is_constraint)
        .map(|(r, index)| {
            row![
                r.oid,
                r.name.as_str(),
                r.namespace,
                if index.is_primary { "p" } else { "u" },
                false,
                false,
                true,
                index.table_oid,
                0,
                r.oid,
                0,
                0,
                " ",
                " ",
                " ",
                true,
                0,
                true,
                int2_array(&index.keys),
                NULL,
                NULL,
                NULL,
                NULL,
                NULL,
                NULL,
                NULL,
            ]
        })
        .collect();
    for c in &model.constraints {
        let row = match &c.kind {
            ConstraintKind::ForeignKey { ref_table_oid, ref_keys, ref_index_oid, on_update, on_delete, deferrable, initially_deferred, .. } => {
                // Equality operators: int4 = int4 (96) stands in for all of them.
                let ops = oid_array(&vec![96; c.keys.len()]);
                row![
                    c.oid,
                    c.name.as_str(),
                    oids::PUBLIC_NAMESPACE,
                    "f",
                    *deferrable,
                    *initially_deferred,
                    true,
                    c.table_oid,
                    0,
                    *ref_index_oid,
                    0,
                    *ref_table_oid,
                    on_update.code().to_string(),
                    on_delete.code().to_string(),
                    "s",
                    true,
                    0,
                    true,
                    int2_array(&c.keys),
                    int2_array(ref_keys),
                    ops.clone(),
                    ops.clone(),
                    ops,
                    NULL,
                    NULL,
                    NULL,
                ]
            }
            ConstraintKind::Check { expr } => row![
                c.oid,
                c.name.as_str(),
                oids::PUBLIC_NAMESPACE,
                "c",
                false,
                false,
                true,
                c.table_oid,
                0,
                0,
                0,
                0,
                " ",
                " ",
                " ",
                true,
                0,
                false,
                int2_array(&c.keys),
                NULL,
                NULL,
                NULL,
                NULL,
                NULL,
                NULL,
                expr.as_str(),
            ],
        };
        rows.push(row);
    }
    rows
}

/// `COMMENT ON TABLE` / `COLUMN` texts, all of user tables (class `pg_class`, 1259).
fn pg_description(model: &Model) -> Vec<Row> {
    model.descriptions.iter().map(|(oid, column, text)| row![*oid, 1259i64, *column, text.as_str()]).collect()
}

fn pg_attrdef(model: &Model) -> Vec<Row> {
    let mut rows = Vec::new();
    for r in model.user_tables() {
        let Some(id) = r.table_id else { continue };
        for (i, a) in r.columns.iter().enumerate() {
            if let Some(default) = &a.default {
                let attnum = i as i16 + 1;
                rows.push(row![oids::attrdef_oid(id, attnum), r.oid, attnum, default.as_str()]);
            }
        }
    }
    rows
}

fn pg_database(model: &Model) -> Vec<Row> {
    vec![row![
        oids::DATABASE,
        model.conn.database.as_str(),
        oids::SUPERUSER_ROLE,
        oids::UTF8_ENCODING,
        "c",
        false,
        true,
        -1,
        716,
        1,
        oids::DEFAULT_TABLESPACE,
        "C.UTF-8",
        "C.UTF-8",
        NULL,
        NULL,
        NULL,
    ]]
}

fn pg_roles(model: &Model) -> Vec<Row> {
    vec![
        row![
            model.conn.user.as_str(),
            true,
            true,
            true,
            true,
            true,
            true,
            -1,
            "********",
            NULL,
            true,
            NULL,
            oids::SUPERUSER_ROLE,
        ],
        row![
            "pg_database_owner",
            false,
            true,
            false,
            false,
            false,
            false,
            -1,
            "********",
            NULL,
            false,
            NULL,
            oids::DATABASE_OWNER_ROLE,
        ],
    ]
}

fn pg_user(model: &Model) -> Vec<Row> {
    vec![row![model.conn.user.as_str(), oids::SUPERUSER_ROLE, true, true, true, true, "********", NULL, NULL]]
}

fn pg_settings(model: &Model) -> Vec<Row> {
    model
        .settings
        .iter()
        .map(|(name, value)| {
            row![
                name.as_str(),
                value.as_str(),
                NULL,
                NULL,
                NULL,
                NULL,
                "user",
                "string",
                "session",
                NULL,
                NULL,
                NULL,
                NULL,
                value.as_str(),
                NULL,
                NULL,
                false,
            ]
        })
        .collect()
}

fn pg_am(_: &Model) -> Vec<Row> {
    [
        (oids::HEAP_AM, "heap", "heap_tableam_handler", "t"),
        (oids::BTREE_AM, "btree", "bthandler", "i"),
        (oids::HASH_AM, "hash", "hashhandler", "i"),
        (783, "gist", "gisthandler", "i"),
        (2742, "gin", "ginhandler", "i"),
        (4000, "spgist", "spghandler", "i"),
        (3580, "brin", "brinhandler", "i"),
    ]
    .into_iter()
    .map(|(oid, name, handler, kind)| row![oid, name, handler, kind])
    .collect()
}

fn pg_collation(_: &Model) -> Vec<Row> {
    [
        (oids::DEFAULT_COLLATION, "default", "d", None),
        (oids::C_COLLATION, "C", "c", Some("C")),
        (oids::POSIX_COLLATION, "POSIX", "c", Some("POSIX")),
    ]
    .into_iter()
    .map(|(oid, name, provider, locale)| {
        row![
            oid,
            name,
            oids::PG_CATALOG_NAMESPACE,
            oids::SUPERUSER_ROLE,
            provider,
            true,
            -1,
            locale,
            locale,
            NULL,
            NULL
        ]
    })
    .collect()
}

fn pg_tablespace(_: &Model) -> Vec<Row> {
    vec![
        row![oids::DEFAULT_TABLESPACE, "pg_default", oids::SUPERUSER_ROLE, NULL, NULL],
        row![oids::GLOBAL_TABLESPACE, "pg_global", oids::SUPERUSER_ROLE, NULL, NULL],
    ]
}

fn pg_proc(_: &Model) -> Vec<Row> {
    oids::BUILTIN_FUNCTIONS
        .iter()
        .map(|(oid, name, args, result)| {
            row![
                *oid,
                *name,
                oids::PG_CATALOG_NAMESPACE,
                oids::SUPERUSER_ROLE,
                12,
                1.0f32,
                0.0f32,
                0,
                "-",
                "f",
                false,
                false,
                true,
                false,
                "s",
                "s",
                args.len() as i16,
                0,
                *result,
                oid_array(args),
                NULL,
                NULL,
                NULL,
                NULL,
                NULL,
                *name,
                NULL,
                NULL,
                NULL,
                NULL,
            ]
        })
        .collect()
}

/// One row per user table; `n_live_tup` is the table's row count in the OLAP copy (what BI
/// tools read as the estimated size), the activity counters are zero.
fn pg_stat_user_tables(model: &Model) -> Vec<Row> {
    model
        .user_tables()
        .map(|r| {
            let live = model.row_counts.get(&r.name).map(|n| *n as i64);
            let zero = 0i64;
            row![
                r.oid,
                "public",
                r.name.as_str(),
                zero,
                zero,
                zero,
                zero,
                zero,
                zero,
                zero,
                zero,
                live,
                zero,
                zero,
                zero,
                NULL,
                NULL,
                NULL,
                NULL,
                zero,
                zero,
                zero,
                zero,
            ]
        })
        .collect()
}

fn pg_views(model: &Model) -> Vec<Row> {
    model
        .relations
        .iter()
        .filter_map(|r| model.view_definitions.get(&r.oid).map(|definition| row![r.namespace_name(), r.name.as_str(), model.conn.user.as_str(), definition.as_str()]))
        .collect()
}

fn pg_tables(model: &Model) -> Vec<Row> {
    model
        .relations
        .iter()
        .filter(|r| r.kind == RelKind::Table)
        .map(|r| {
            row![r.namespace_name(), r.name.as_str(), model.conn.user.as_str(), NULL, r.has_index, false, false, false]
        })
        .collect()
}

fn pg_indexes(model: &Model) -> Vec<Row> {
    model
        .indexes()
        .map(|(r, index)| {
            row![r.namespace_name(), index.table_name.as_str(), r.name.as_str(), NULL, index.index_def(&r.name, false)]
        })
        .collect()
}

/// Tables and views as information_schema shows them (indexes are not tables there).
fn listed_relations(model: &Model) -> impl Iterator<Item = &Relation> {
    model.relations.iter().filter(|r| matches!(r.kind, RelKind::Table | RelKind::View))
}

fn information_schema_tables(model: &Model) -> Vec<Row> {
    let db = model.conn.database.as_str();
    listed_relations(model)
        .map(|r| {
            let (kind, insertable) = match r.kind {
                RelKind::View => ("VIEW", "NO"),
                _ => ("BASE TABLE", "YES"),
            };
            row![db, r.namespace_name(), r.name.as_str(), kind, NULL, NULL, NULL, NULL, NULL, insertable, "NO", NULL]
        })
        .collect()
}

fn information_schema_columns(model: &Model) -> Vec<Row> {
    let db = model.conn.database.as_str();
    let mut rows = Vec::new();
    for r in listed_relations(model) {
        for (i, a) in r.columns.iter().enumerate() {
            let ty = oids::builtin_type(a.type_oid);
            let is_array = ty.is_some_and(|t| t.elem != 0 && t.len == -1);
            let user_type = model.enum_type(a.type_oid);
            let data_type = match (is_array, user_type) {
                (true, _) => "ARRAY".to_string(),
                (_, Some(_)) => "USER-DEFINED".to_string(),
                _ => oids::format_type(a.type_oid, None),
            };
            let modifier = (a.typmod >= 4).then_some(a.typmod - 4);
            let (char_max, char_octets) = match a.type_oid {
                1042 | 1043 => (modifier, Some(modifier.map_or(1_073_741_824, |n| n * 4))),
                25 => (None, Some(1_073_741_824)),
                _ => (None, None),
            };
            let (precision, radix, scale) = match a.type_oid {
                21 => (Some(16), Some(2), Some(0)),
                23 => (Some(32), Some(2), Some(0)),
                20 => (Some(64), Some(2), Some(0)),
                700 => (Some(24), Some(2), None),
                701 => (Some(53), Some(2), None),
                1700 => (modifier.map(|m| (m >> 16) & 0xffff), Some(10), modifier.map(|m| m & 0xffff)),
                _ => (None, None, None),
            };
            let datetime_precision = match a.type_oid {
                1082 => Some(0),
                1083 | 1114 | 1184 | 1186 | 1266 => Some(if a.typmod >= 0 { a.typmod } else { 6 }),
                _ => None,
            };
            let (collation_schema, collation_name) = match oids::collation_of(a.type_oid) {
                0 | oids::DEFAULT_COLLATION => (None, None),
                _ => (Some("pg_catalog"), Some("C")),
            };
            rows.push(row![
                db,
                r.namespace_name(),
                r.name.as_str(),
                a.name.as_str(),
                i as i32 + 1,
                a.default.as_deref(),
                if a.not_null { "NO" } else { "YES" },
                data_type,
                char_max,
                char_octets,
                precision,
                radix,
                scale,
                datetime_precision,
                NULL,
                NULL,
                NULL,
                NULL,
                NULL,
                collation_name.map(|_| db),
                collation_schema,
                collation_name,
                NULL,
                NULL,
                NULL,
                db,
                if user_type.is_some() { "public" } else { "pg_catalog" },
                user_type.map_or_else(|| ty.map_or("???", |t| t.name).to_string(), |e| e.def().name.clone()),
                NULL,
                NULL,
                NULL,
                NULL,
                (i + 1).to_string(),
                "NO",
                "NO",
                NULL,
                NULL,
                NULL,
                NULL,
                NULL,
                "NO",
                "NEVER",
                NULL,
                if r.kind == RelKind::Table { "YES" } else { "NO" },
            ]);
        }
    }
    rows
}

fn information_schema_schemata(model: &Model) -> Vec<Row> {
    let db = model.conn.database.as_str();
    [oids::PG_TOAST_NAMESPACE, oids::PG_CATALOG_NAMESPACE, oids::PUBLIC_NAMESPACE, oids::INFORMATION_SCHEMA_NAMESPACE]
        .into_iter()
        .map(|oid| {
            let owner = if oid == oids::PUBLIC_NAMESPACE { oids::DATABASE_OWNER_ROLE } else { oids::SUPERUSER_ROLE };
            row![db, namespace_name(oid).unwrap_or_default(), model.role_name(owner), NULL, NULL, NULL, NULL]
        })
        .collect()
}

fn information_schema_sequences(model: &Model) -> Vec<Row> {
    let db = model.conn.database.as_str();
    model
        .sequences
        .iter()
        .map(|(_, s)| {
            let precision = i32::try_from(s.bits).unwrap_or(64);
            row![
                db,
                "public",
                s.name.as_str(),
                rhei_engine::oltp::sequence::type_name(s.bits),
                precision,
                2,
                0,
                s.start.to_string(),
                s.min_value.to_string(),
                s.max_value.to_string(),
                s.increment.to_string(),
                if s.cycle { "YES" } else { "NO" },
            ]
        })
        .collect()
}

fn information_schema_table_constraints(model: &Model) -> Vec<Row> {
    let db = model.conn.database.as_str();
    let yes_no = |b: bool| if b { "YES" } else { "NO" };
    let row = |name: &str, table: &str, kind: &str, deferrable: bool, deferred: bool, nulls_distinct: Option<&str>| {
        row![db, "public", name, db, "public", table, kind, yes_no(deferrable), yes_no(deferred), "YES", nulls_distinct]
    };
    let mut rows: Vec<Row> = model
        .indexes()
        .filter(|(_, index)| index.is_constraint)
        .map(|(r, index)| match index.is_primary {
            true => row(&r.name, &index.table_name, "PRIMARY KEY", false, false, None),
            false => row(&r.name, &index.table_name, "UNIQUE", false, false, Some("YES")),
        })
        .collect();
    for c in &model.constraints {
        rows.push(match &c.kind {
            ConstraintKind::ForeignKey { deferrable, initially_deferred, .. } => {
                row(&c.name, &c.table_name, "FOREIGN KEY", *deferrable, *initially_deferred, None)
            }
            ConstraintKind::Check { .. } => row(&c.name, &c.table_name, "CHECK", false, false, None),
        });
    }
    // PostgreSQL 15 reports each NOT NULL column as a CHECK constraint named
    // `<namespace oid>_<table oid>_<attnum>_not_null`.
    for r in model.user_tables() {
        for (i, _) in r.columns.iter().enumerate().filter(|(_, a)| a.not_null) {
            let name = format!("{}_{}_{}_not_null", r.namespace, r.oid, i + 1);
            rows.push(row(&name, &r.name, "CHECK", false, false, None));
        }
    }
    rows
}

fn information_schema_key_column_usage(model: &Model) -> Vec<Row> {
    let db = model.conn.database.as_str();
    let mut rows = Vec::new();
    for (r, index) in model.indexes().filter(|(_, index)| index.is_constraint) {
        for (position, column) in index.key_names.iter().enumerate() {
            rows.push(row![
                db,
                "public",
                r.name.as_str(),
                db,
                "public",
                index.table_name.as_str(),
                column.name(),
                position as i32 + 1,
                NULL,
            ]);
        }
    }
    for c in &model.constraints {
        let ConstraintKind::ForeignKey { ref_keys, ref_index_oid, .. } = &c.kind else { continue };
        // The position of each referenced column within the referenced key's own column order.
        let unique_keys = model.relation(*ref_index_oid).and_then(|r| r.index.as_ref()).map(|i| i.keys.clone()).unwrap_or_default();
        for (position, column) in c.key_names.iter().enumerate() {
            let in_unique = ref_keys.get(position).and_then(|k| unique_keys.iter().position(|u| u == k)).map(|p| p as i32 + 1);
            rows.push(row![db, "public", c.name.as_str(), db, "public", c.table_name.as_str(), column.as_str(), position as i32 + 1, in_unique]);
        }
    }
    rows
}

fn information_schema_referential_constraints(model: &Model) -> Vec<Row> {
    let db = model.conn.database.as_str();
    model
        .constraints
        .iter()
        .filter_map(|c| match &c.kind {
            ConstraintKind::ForeignKey { ref_index_oid, on_update, on_delete, .. } => {
                let unique_name = model.relation(*ref_index_oid).map(|r| r.name.clone());
                Some(row![db, "public", c.name.as_str(), db, "public", unique_name, "NONE", on_update.sql(), on_delete.sql()])
            }
            ConstraintKind::Check { .. } => None,
        })
        .collect()
}

fn information_schema_check_constraints(model: &Model) -> Vec<Row> {
    let db = model.conn.database.as_str();
    let mut rows: Vec<Row> = model
        .constraints
        .iter()
        .filter_map(|c| match &c.kind {
            ConstraintKind::Check { expr } => Some(row![db, "public", c.name.as_str(), format!("(({expr}))")]),
            ConstraintKind::ForeignKey { .. } => None,
        })
        .collect();
    for r in model.user_tables() {
        for (i, a) in r.columns.iter().enumerate().filter(|(_, a)| a.not_null) {
            let name = format!("{}_{}_{}_not_null", r.namespace, r.oid, i + 1);
            rows.push(row![db, "public", name, format!("{} IS NOT NULL", a.name)]);
        }
    }
    rows
}

/// Columns used by constraints: a table's own key columns for PRIMARY KEY, UNIQUE and CHECK,
/// the referenced columns for FOREIGN KEY (as PostgreSQL lists them).
fn information_schema_constraint_column_usage(model: &Model) -> Vec<Row> {
    let db = model.conn.database.as_str();
    let mut rows = Vec::new();
    for (r, index) in model.indexes().filter(|(_, index)| index.is_constraint) {
        for column in &index.key_names {
            rows.push(row![db, "public", index.table_name.as_str(), column.name(), db, "public", r.name.as_str()]);
        }
    }
    for c in &model.constraints {
        match &c.kind {
            ConstraintKind::ForeignKey { ref_table_name, ref_names, .. } => {
                for column in ref_names {
                    rows.push(row![db, "public", ref_table_name.as_str(), column.as_str(), db, "public", c.name.as_str()]);
                }
            }
            ConstraintKind::Check { .. } => {
                for column in &c.key_names {
                    rows.push(row![db, "public", c.table_name.as_str(), column.as_str(), db, "public", c.name.as_str()]);
                }
            }
        }
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::model::ConnectionInfo;
    use rhei_engine::catalog::Catalog;

    #[test]
    fn every_table_builds_with_its_declared_columns() {
        let conn = ConnectionInfo { user: "u".into(), database: "d".into(), pid: 1 };
        let model = Model::new(&Catalog::default(), conn, vec![("TimeZone".into(), "UTC".into())]);
        for table in SYSTEM_TABLES {
            let batch = table.batch(&model).unwrap_or_else(|e| panic!("{}: {e}", table.name));
            assert_eq!(batch.num_columns(), table.columns.len(), "{}", table.name);
        }
        let names: Vec<String> = SYSTEM_TABLES.iter().map(|t| format!("{}.{}", t.namespace.name(), t.name)).collect();
        let mut unique = names.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), names.len());
    }
}
