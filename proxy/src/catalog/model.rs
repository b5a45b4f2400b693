//! rhei's catalog as PostgreSQL objects: every relation (user tables, the indexes that enforce
//! their primary keys and UNIQUE constraints, and the system catalogs themselves) with its OID,
//! namespace and columns. Both the catalog tables and the functions that look objects up by OID
//! (`pg_get_indexdef`, `::regclass`) read this one model, so they always agree.
//!
//! A model is built per query from an immutable engine catalog snapshot and never changes.

use std::collections::HashMap;
use std::sync::Arc;

use rhei_engine::catalog::{Catalog, EnumType, IndexKey, ReferentialAction, TableDef, TableId};
use rhei_engine::oltp::sequence::SequenceDef;

use crate::catalog::oids;
use crate::catalog::tables::{self, Namespace};
pub use rhei_engine::naming::display_ident as quote_ident;

/// Who is asking: the startup parameters and backend pid of the client's connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionInfo {
    pub user: String,
    pub database: String,
    pub pid: i32,
}

impl ConnectionInfo {
    /// The user and database a client connected as (PostgreSQL's defaults when it sent none:
    /// the database is named after the user).
    pub fn of(client: &impl pgwire::api::ClientInfo) -> Self {
        let metadata = client.metadata();
        let user = metadata.get("user").filter(|u| !u.is_empty()).cloned().unwrap_or_else(|| "rhei".to_string());
        let database = metadata.get("database").filter(|d| !d.is_empty()).cloned().unwrap_or_else(|| user.clone());
        Self { user, database, pid: client.pid_and_secret_key().0 }
    }
}

/// `relkind`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RelKind {
    Table,
    Index,
    View,
    Sequence,
}

impl RelKind {
    pub fn code(self) -> &'static str {
        match self {
            Self::Table => "r",
            Self::Index => "i",
            Self::View => "v",
            Self::Sequence => "S",
        }
    }
}

/// One column of a relation.
#[derive(Debug, Clone)]
pub struct Attribute {
    pub name: String,
    pub type_oid: i64,
    pub typmod: i32,
    pub not_null: bool,
    /// The DEFAULT expression as `pg_get_expr` prints it.
    pub default: Option<String>,
}

/// What an index (relkind `i`) indexes. An index behind a PRIMARY KEY or UNIQUE constraint
/// shares its OID and name with the constraint (they live in different catalogs).
#[derive(Debug, Clone)]
pub struct Index {
    pub table_oid: i64,
    pub table_name: String,
    pub is_primary: bool,
    pub is_unique: bool,
    /// Whether a PRIMARY KEY or UNIQUE constraint owns it (not a plain CREATE INDEX).
    pub is_constraint: bool,
    /// Attribute numbers (1-based) of the indexed table columns, in key order; 0 for an
    /// expression.
    pub keys: Vec<i16>,
    pub key_names: Vec<IndexColumn>,
    /// Per key column: sorted descending.
    pub descending: Vec<bool>,
    /// NULLS NOT DISTINCT: keys with NULLs collide.
    pub nulls_not_distinct: bool,
    /// A partial index's WHERE, as PostgreSQL text.
    pub predicate: Option<String>,
}

/// One key of an index as `pg_get_indexdef` prints it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IndexColumn {
    Column(String),
    /// PostgreSQL text.
    Expression(String),
}

impl IndexColumn {
    /// As `pg_get_indexdef(index, n)` gives it: a column quoted if it must be, a function call
    /// as it is, another expression in parentheses.
    pub fn definition(&self) -> String {
        match self {
            Self::Column(name) => quote_ident(name),
            Self::Expression(sql) if is_function_call(sql) => sql.clone(),
            Self::Expression(sql) => format!("({sql})"),
        }
    }

    /// The column's name, or the expression's text.
    pub fn name(&self) -> &str {
        match self {
            Self::Column(name) | Self::Expression(name) => name,
        }
    }

    /// The text of the expression in `pg_index.indexprs`, if the key is one.
    pub fn expression(&self) -> Option<&str> {
        match self {
            Self::Column(_) => None,
            Self::Expression(sql) => Some(sql),
        }
    }
}

fn is_function_call(sql: &str) -> bool {
    matches!(
        datafusion::sql::sqlparser::parser::Parser::new(&datafusion::sql::sqlparser::dialect::PostgreSqlDialect {})
            .try_with_sql(sql)
            .and_then(|mut p| p.parse_expr()),
        Ok(datafusion::sql::sqlparser::ast::Expr::Function(_))
    )
}

impl Index {
    fn column_list(&self) -> String {
        self.key_names.iter().map(IndexColumn::definition).collect::<Vec<_>>().join(", ")
    }

    /// `pg_get_constraintdef`: `PRIMARY KEY (id)`, `UNIQUE (a, b)`.
    pub fn constraint_def(&self) -> String {
        let kind = match (self.is_primary, self.nulls_not_distinct) {
            (true, _) => "PRIMARY KEY",
            (false, false) => "UNIQUE",
            (false, true) => "UNIQUE NULLS NOT DISTINCT",
        };
        format!("{kind} ({})", self.column_list())
    }

    /// `pg_get_indexdef`: the CREATE INDEX statement that would rebuild it; `pretty` as psql's
    /// `\d` asks for it.
    pub fn index_def(&self, name: &str, pretty: bool) -> String {
        let columns: Vec<String> = self
            .key_names
            .iter()
            .zip(self.descending.iter().chain(std::iter::repeat(&false)))
            .map(|(n, desc)| format!("{}{}", n.definition(), if *desc { " DESC" } else { "" }))
            .collect();
        // Pretty, PostgreSQL prints the predicate as written and the table unqualified (it is
        // visible); otherwise each operation in parentheses. (It also writes the casts it
        // applied, `'x'::text`, which rhei does not.)
        let predicate = match self.predicate.as_deref() {
            Some(p) if pretty => format!(" WHERE {p}"),
            Some(p) => format!(" WHERE {}", parenthesized(p)),
            None => String::new(),
        };
        format!(
            "CREATE {}INDEX {} ON {}{} USING btree ({}){}{predicate}",
            if self.is_unique { "UNIQUE " } else { "" },
            quote_ident(name),
            if pretty { "" } else { "public." },
            quote_ident(&self.table_name),
            columns.join(", "),
            if self.nulls_not_distinct { " NULLS NOT DISTINCT" } else { "" }
        )
    }
}

/// An expression as PostgreSQL deparses it when not pretty: each operation in parentheses
/// (`(active AND (gone_at IS NULL))`); the text as it is if it does not parse.
pub fn parenthesized(sql: &str) -> String {
    use datafusion::sql::sqlparser::ast::Expr;
    fn deparse(expr: &Expr) -> String {
        match expr {
            Expr::Nested(inner) => deparse(inner),
            Expr::BinaryOp { left, op, right } => format!("({} {op} {})", deparse(left), deparse(right)),
            Expr::UnaryOp { op, expr } => format!("({op} {})", deparse(expr)),
            Expr::IsNull(e) => format!("({} IS NULL)", deparse(e)),
            Expr::IsNotNull(e) => format!("({} IS NOT NULL)", deparse(e)),
            Expr::IsTrue(e) => format!("({} IS TRUE)", deparse(e)),
            Expr::IsFalse(e) => format!("({} IS FALSE)", deparse(e)),
            other => other.to_string(),
        }
    }
    datafusion::sql::sqlparser::parser::Parser::new(&datafusion::sql::sqlparser::dialect::PostgreSqlDialect {})
        .try_with_sql(sql)
        .and_then(|mut p| p.parse_expr())
        .map_or_else(|_| sql.to_string(), |e| deparse(&e))
}

/// One `set_config(name, value, is_local)` call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettingChange {
    pub name: String,
    pub value: String,
    /// For the transaction block only (`SET LOCAL`).
    pub is_local: bool,
}

/// A FOREIGN KEY or CHECK constraint (PRIMARY KEY and UNIQUE ones are their [`Index`]es).
#[derive(Debug, Clone)]
pub struct Constraint {
    pub oid: i64,
    pub name: String,
    pub table_oid: i64,
    pub table_name: String,
    /// Attribute numbers of the constrained columns (for CHECK: the columns it mentions).
    pub keys: Vec<i16>,
    pub key_names: Vec<String>,
    pub kind: ConstraintKind,
}

#[derive(Debug, Clone)]
pub enum ConstraintKind {
    ForeignKey {
        ref_table_oid: i64,
        ref_table_name: String,
        ref_keys: Vec<i16>,
        ref_names: Vec<String>,
        /// The referenced table's index that the key matches (`conindid`).
        ref_index_oid: i64,
        on_update: ReferentialAction,
        on_delete: ReferentialAction,
        deferrable: bool,
        initially_deferred: bool,
    },
    Check { expr: String },
}

impl Constraint {
    /// `pg_get_constraintdef`, as PostgreSQL prints it (NO ACTION and NOT DEFERRABLE left out).
    pub fn def(&self) -> String {
        let list = |names: &[String]| names.iter().map(|n| quote_ident(n)).collect::<Vec<_>>().join(", ");
        match &self.kind {
            ConstraintKind::ForeignKey { ref_table_name, ref_names, on_update, on_delete, deferrable, initially_deferred, .. } => {
                let mut def = format!(
                    "FOREIGN KEY ({}) REFERENCES {}({})",
                    list(&self.key_names),
                    quote_ident(ref_table_name),
                    list(ref_names)
                );
                if *on_update != ReferentialAction::NoAction {
                    def.push_str(&format!(" ON UPDATE {}", on_update.sql()));
                }
                if *on_delete != ReferentialAction::NoAction {
                    def.push_str(&format!(" ON DELETE {}", on_delete.sql()));
                }
                if *deferrable {
                    def.push_str(" DEFERRABLE");
                }
                if *initially_deferred {
                    def.push_str(" INITIALLY DEFERRED");
                }
                def
            }
            ConstraintKind::Check { expr } => format!("CHECK (({expr}))"),
        }
    }
}

/// A relation as `pg_class` lists it.
#[derive(Debug, Clone)]
pub struct Relation {
    pub oid: i64,
    pub name: String,
    pub namespace: i64,
    pub kind: RelKind,
    /// For user tables: the engine's id, from which OIDs of dependent objects derive.
    pub table_id: Option<TableId>,
    pub columns: Vec<Attribute>,
    /// For indexes: what they index.
    pub index: Option<Index>,
    /// For tables: whether any index is defined on it.
    pub has_index: bool,
    /// For tables: CHECK constraints (`relchecks`), and whether foreign keys on it or pointing
    /// at it are enforced by triggers (`relhastriggers`, as in PostgreSQL). psql's `\d` reads
    /// both before it lists check and foreign-key constraints.
    pub checks: i16,
    pub has_triggers: bool,
}

impl Relation {
    pub fn namespace_name(&self) -> &'static str {
        namespace_name(self.namespace).unwrap_or("public")
    }
}

/// The name of a namespace OID.
pub fn namespace_name(oid: i64) -> Option<&'static str> {
    match oid {
        oids::PG_CATALOG_NAMESPACE => Some("pg_catalog"),
        oids::PUBLIC_NAMESPACE => Some("public"),
        oids::INFORMATION_SCHEMA_NAMESPACE => Some("information_schema"),
        oids::PG_TOAST_NAMESPACE => Some("pg_toast"),
        _ => None,
    }
}

/// Everything the catalog tables and functions of one query see.
#[derive(Debug)]
pub struct Model {
    pub conn: ConnectionInfo,
    /// Session settings, as `SHOW ALL` lists them.
    pub settings: Vec<(String, String)>,
    pub relations: Vec<Relation>,
    /// FOREIGN KEY and CHECK constraints of user tables.
    pub constraints: Vec<Constraint>,
    /// Rows per user table in the OLAP copy (`pg_stat_user_tables.n_live_tup`).
    pub row_counts: HashMap<String, u64>,
    /// Sequences (`pg_sequence`), with their OIDs.
    pub sequences: Vec<(i64, SequenceDef)>,
    /// `COMMENT ON` texts as `pg_description` holds them: (object OID, column number or 0,
    /// text), for user tables (class `pg_class`).
    pub descriptions: Vec<(i64, i32, String)>,
    /// User views' definitions by OID (`pg_get_viewdef`, `pg_views`).
    pub view_definitions: HashMap<i64, String>,
    /// Enum types (`pg_type` rows of `typtype` `e`, `pg_enum`).
    pub enums: Vec<EnumType>,
    /// Settings changed by `set_config()` calls while the query ran, in call order; the
    /// session applies them once the query has finished.
    pub set_configs: std::sync::Mutex<Vec<SettingChange>>,
    by_oid: HashMap<i64, usize>,
}

impl Model {
    pub fn new(catalog: &Catalog, conn: ConnectionInfo, settings: Vec<(String, String)>) -> Self {
        let mut relations = Vec::new();
        for table in tables::SYSTEM_TABLES {
            let namespace = match table.namespace {
                Namespace::PgCatalog => oids::PG_CATALOG_NAMESPACE,
                Namespace::InformationSchema => oids::INFORMATION_SCHEMA_NAMESPACE,
            };
            relations.push(Relation {
                oid: table.oid,
                name: table.name.to_string(),
                namespace,
                kind: if table.is_view { RelKind::View } else { RelKind::Table },
                table_id: None,
                columns: table
                    .columns
                    .iter()
                    .map(|(name, col)| Attribute {
                        name: (*name).to_string(),
                        type_oid: col.type_oid(),
                        typmod: -1,
                        not_null: false,
                        default: None,
                    })
                    .collect(),
                index: None,
                has_index: false,
                checks: 0,
                has_triggers: false,
            });
        }
        let mut public_names: Vec<String> = catalog.tables().map(|t| t.name.clone()).collect();
        public_names.extend(catalog.tables().flat_map(|t| t.indexes.iter().map(|i| i.name.clone())));
        for table in catalog.tables() {
            let referenced = catalog.tables().any(|t| t.foreign_keys.iter().any(|fk| fk.references == table.id));
            add_user_table(&mut relations, &mut public_names, table, referenced);
        }
        let mut view_definitions = HashMap::new();
        for view in catalog.views() {
            let oid = oids::view_oid(view.id);
            let columns = view
                .columns
                .iter()
                .map(|c| {
                    let (type_oid, typmod) = oids::type_of(&c.ty);
                    Attribute { name: c.name.clone(), type_oid, typmod, not_null: false, default: None }
                })
                .collect();
            relations.push(Relation {
                oid,
                name: view.name.clone(),
                namespace: oids::PUBLIC_NAMESPACE,
                kind: RelKind::View,
                table_id: None,
                columns,
                index: None,
                has_index: false,
                checks: 0,
                has_triggers: false,
            });
            // As pg_get_viewdef prints it: the query after a space, ending with a semicolon.
            view_definitions.insert(oid, format!(" {};", view.query));
        }
        let constraints = catalog.tables().flat_map(|t| table_constraints(t, catalog, &relations)).collect();
        let by_oid = relations.iter().enumerate().map(|(i, r)| (r.oid, i)).collect();
        let mut descriptions = Vec::new();
        for table in catalog.tables() {
            let oid = oids::table_oid(table.id);
            descriptions.extend(table.comment.iter().map(|c| (oid, 0, c.clone())));
            for (column, text) in &table.column_comments {
                if let Some(i) = table.column_index(column) {
                    descriptions.push((oid, i32::try_from(i + 1).unwrap_or(i32::MAX), text.clone()));
                }
            }
        }
        Self {
            conn,
            settings,
            relations,
            constraints,
            row_counts: HashMap::new(),
            sequences: Vec::new(),
            descriptions,
            view_definitions,
            enums: catalog.enums().collect(),
            set_configs: std::sync::Mutex::default(),
            by_oid,
        }
    }

    /// The comment on object `oid` (a table when `column` is 0, else its column number).
    pub fn description(&self, oid: i64, column: i32) -> Option<&str> {
        self.descriptions.iter().find(|(o, c, _)| *o == oid && *c == column).map(|(_, _, text)| text.as_str())
    }

    /// Adds the engine's sequences (`(row id, definition)`) as relations of kind `S` in
    /// `public`, with the columns a PostgreSQL sequence shows.
    pub fn add_sequences(&mut self, sequences: Vec<(i64, SequenceDef)>) {
        for (id, def) in sequences {
            let oid = oids::sequence_oid(id);
            let column = |name: &str, type_oid: i64| Attribute { name: name.to_string(), type_oid, typmod: -1, not_null: true, default: None };
            self.by_oid.insert(oid, self.relations.len());
            self.relations.push(Relation {
                oid,
                name: def.name.clone(),
                namespace: oids::PUBLIC_NAMESPACE,
                kind: RelKind::Sequence,
                table_id: None,
                columns: vec![column("last_value", 20), column("log_cnt", 20), column("is_called", 16)],
                index: None,
                has_index: false,
                checks: 0,
                has_triggers: false,
            });
            self.sequences.push((oid, def));
        }
    }

    /// A relation by OID.
    pub fn relation(&self, oid: i64) -> Option<&Relation> {
        self.by_oid.get(&oid).map(|&i| &self.relations[i])
    }

    /// A relation by name, as `'name'::regclass` resolves it: `schema.name`, or an unqualified
    /// name looked up in `pg_catalog`, then `public` (the search path).
    pub fn relation_by_name(&self, schema: Option<&str>, name: &str) -> Option<&Relation> {
        let find = |ns: i64| self.relations.iter().find(|r| r.namespace == ns && r.name == name);
        match schema {
            Some(schema) => {
                let ns = [oids::PG_CATALOG_NAMESPACE, oids::PUBLIC_NAMESPACE, oids::INFORMATION_SCHEMA_NAMESPACE]
                    .into_iter()
                    .find(|ns| namespace_name(*ns) == Some(schema))?;
                find(ns)
            }
            None => find(oids::PG_CATALOG_NAMESPACE).or_else(|| find(oids::PUBLIC_NAMESPACE)),
        }
    }

    /// Whether a relation is visible without qualification (its namespace is on the search
    /// path, which is `pg_catalog, public` here).
    /// The enum type whose OID `oid` is.
    pub fn enum_type(&self, oid: i64) -> Option<EnumType> {
        let id = oids::enum_id(oid)?;
        self.enums.iter().copied().find(|e| e.def().id == id)
    }

    /// The enum type `name` (as written in SQL: quoted keeps case) names.
    pub fn enum_by_name(&self, name: &str) -> Option<EnumType> {
        let name = crate::catalog::functions::split_qualified(name)?.pop()?;
        self.enums.iter().copied().find(|e| e.def().name == name)
    }

    pub fn is_visible(&self, oid: i64) -> Option<bool> {
        self.relation(oid).map(|r| matches!(r.namespace, oids::PG_CATALOG_NAMESPACE | oids::PUBLIC_NAMESPACE))
    }

    /// User tables (relkind `r` in `public`).
    pub fn user_tables(&self) -> impl Iterator<Item = &Relation> {
        self.relations.iter().filter(|r| r.namespace == oids::PUBLIC_NAMESPACE && r.kind == RelKind::Table)
    }

    /// Indexes of user tables: those enforcing PRIMARY KEY and UNIQUE constraints first.
    pub fn indexes(&self) -> impl Iterator<Item = (&Relation, &Index)> {
        self.relations.iter().filter_map(|r| r.index.as_ref().map(|i| (r, i)))
    }

    /// A FOREIGN KEY or CHECK constraint by OID.
    pub fn constraint(&self, oid: i64) -> Option<&Constraint> {
        self.constraints.iter().find(|c| c.oid == oid)
    }

    /// A role name by OID, as `pg_get_userbyid` gives it.
    pub fn role_name(&self, oid: i64) -> String {
        match oid {
            oids::SUPERUSER_ROLE => self.conn.user.clone(),
            oids::DATABASE_OWNER_ROLE => "pg_database_owner".to_string(),
            other => format!("unknown (OID={other})"),
        }
    }

    /// A setting's value (names are case-insensitive).
    pub fn setting(&self, name: &str) -> Option<&str> {
        self.settings.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// Adds a user table and the indexes of its primary key and UNIQUE constraints, named as
/// PostgreSQL names them (`t_pkey`, `t_a_b_key`, with a number appended on a clash).
fn add_user_table(relations: &mut Vec<Relation>, public_names: &mut Vec<String>, table: &Arc<TableDef>, referenced: bool) {
    let oid = oids::table_oid(table.id);
    let columns: Vec<Attribute> = table
        .columns
        .iter()
        .map(|c| {
            let (type_oid, typmod) = oids::type_of(&c.ty);
            let default = match (&c.default_sql, c.is_serial) {
                (Some(sql), _) => Some(sql.clone()),
                (None, true) => Some(format!("nextval('{}'::regclass)", serial_sequence(&table.name, &c.name))),
                (None, false) => None,
            };
            Attribute { name: c.name.clone(), type_oid, typmod, not_null: c.not_null, default }
        })
        .collect();
    // (constraint name, user index name, is primary, unique, keys with descending, NULLS NOT
    // DISTINCT, WHERE)
    type Key<'t> = (Option<String>, Option<&'t str>, bool, bool, Vec<(IndexKey<'t>, bool)>, bool, Option<&'t str>);
    let ascending = |positions: &[usize]| positions.iter().map(|&i| (IndexKey::Column(i), false)).collect::<Vec<_>>();
    let mut keys: Vec<Key<'_>> = Vec::new();
    if !table.primary_key.is_empty() {
        keys.push((Some(table.pkey_name()), None, true, true, ascending(&table.primary_key), false, None));
    }
    keys.extend(
        table
            .unique
            .iter()
            .enumerate()
            .map(|(i, u)| (Some(table.unique_name(i)), None, false, true, ascending(u), table.unique_nulls_not_distinct(i), None)),
    );
    keys.extend(
        table.indexes.iter().map(|i| (None, Some(i.name.as_str()), false, i.is_unique, i.keys(), false, i.predicate.as_deref())),
    );
    relations.push(Relation {
        oid,
        name: table.name.clone(),
        namespace: oids::PUBLIC_NAMESPACE,
        kind: RelKind::Table,
        table_id: Some(table.id),
        columns: columns.clone(),
        index: None,
        has_index: !keys.is_empty(),
        checks: i16::try_from(table.checks.len()).unwrap_or(i16::MAX),
        has_triggers: referenced || !table.foreign_keys.is_empty(),
    });
    for (k, (constraint, given, is_primary, is_unique, index_keys, nulls_not_distinct, predicate)) in keys.into_iter().enumerate() {
        // An expression key is named as PostgreSQL names its index column (`lower`, `expr`);
        // its type is not planned here, so it is given as text.
        let attributes: Vec<Attribute> = index_keys
            .iter()
            .map(|(key, _)| match key {
                IndexKey::Column(i) => Attribute { default: None, ..columns[*i].clone() },
                IndexKey::Expression(sql) => Attribute {
                    name: rhei_engine::translate::constraints::expression_name(sql),
                    type_oid: 25,
                    typmod: -1,
                    not_null: false,
                    default: None,
                },
            })
            .collect();
        let key_names: Vec<IndexColumn> = index_keys
            .iter()
            .map(|(key, _)| match key {
                IndexKey::Column(i) => IndexColumn::Column(table.columns[*i].name.clone()),
                IndexKey::Expression(sql) => IndexColumn::Expression((*sql).to_string()),
            })
            .collect();
        let name = match (given, constraint) {
            (Some(name), _) => name.to_string(),
            (None, base) => {
                let name = unique_name(public_names, base.unwrap_or_default());
                public_names.push(name.clone());
                name
            }
        };
        relations.push(Relation {
            oid: oids::index_oid(table.id, k),
            name,
            namespace: oids::PUBLIC_NAMESPACE,
            kind: RelKind::Index,
            table_id: None,
            columns: attributes,
            index: Some(Index {
                table_oid: oid,
                table_name: table.name.clone(),
                is_primary,
                is_unique,
                is_constraint: given.is_none(),
                keys: index_keys
                    .iter()
                    .map(|(key, _)| match key {
                        IndexKey::Column(i) => *i as i16 + 1,
                        IndexKey::Expression(_) => 0,
                    })
                    .collect(),
                key_names,
                descending: index_keys.iter().map(|(_, desc)| *desc).collect(),
                nulls_not_distinct,
                predicate: predicate.map(str::to_string),
            }),
            has_index: false,
            checks: 0,
            has_triggers: false,
        });
    }
}

/// A table's FOREIGN KEY and CHECK constraints, with OIDs from the top of its OID block.
fn table_constraints(table: &TableDef, catalog: &Catalog, relations: &[Relation]) -> Vec<Constraint> {
    let oid = oids::table_oid(table.id);
    let names = |def: &TableDef, positions: &[usize]| positions.iter().map(|&i| def.columns[i].name.clone()).collect::<Vec<_>>();
    let attnums = |positions: &[usize]| positions.iter().map(|&i| i as i16 + 1).collect::<Vec<_>>();
    let mut out = Vec::new();
    for check in &table.checks {
        let mentioned: Vec<usize> = (0..table.columns.len())
            .filter(|&i| rhei_engine::translate::constraints::expression_mentions_column(&check.expr, &table.columns[i].name))
            .collect();
        out.push(Constraint {
            oid: oids::constraint_oid(table.id, out.len()),
            name: check.name.clone(),
            table_oid: oid,
            table_name: table.name.clone(),
            keys: attnums(&mentioned),
            key_names: names(table, &mentioned),
            kind: ConstraintKind::Check { expr: check.expr.clone() },
        });
    }
    for fk in &table.foreign_keys {
        let Some(parent) = catalog.by_id(fk.references) else { continue };
        let parent_oid = oids::table_oid(parent.id);
        let mut wanted = fk.ref_columns.iter().map(|&i| i as i16 + 1).collect::<Vec<_>>();
        wanted.sort_unstable();
        let ref_index_oid = relations
            .iter()
            .filter_map(|r| r.index.as_ref().map(|i| (r.oid, i)))
            .find(|(_, i)| {
                let mut keys = i.keys.clone();
                keys.sort_unstable();
                i.table_oid == parent_oid && i.is_unique && keys == wanted
            })
            .map_or(0, |(oid, _)| oid);
        out.push(Constraint {
            oid: oids::constraint_oid(table.id, out.len()),
            name: fk.name.clone(),
            table_oid: oid,
            table_name: table.name.clone(),
            keys: attnums(&fk.columns),
            key_names: names(table, &fk.columns),
            kind: ConstraintKind::ForeignKey {
                ref_table_oid: parent_oid,
                ref_table_name: parent.name.clone(),
                ref_keys: attnums(&fk.ref_columns),
                ref_names: names(parent, &fk.ref_columns),
                ref_index_oid,
                on_update: fk.on_update,
                on_delete: fk.on_delete,
                deferrable: fk.deferrable,
                initially_deferred: fk.initially_deferred,
            },
        });
    }
    out
}

/// The sequence PostgreSQL creates for a serial column.
pub fn serial_sequence(table: &str, column: &str) -> String {
    format!("{table}_{column}_seq")
}

/// `base`, or `base1`, `base2`, ... whichever is not taken (PostgreSQL's ChooseRelationName).
fn unique_name(taken: &[String], base: String) -> String {
    if !taken.contains(&base) {
        return base;
    }
    (1..).map(|n| format!("{base}{n}")).find(|name| !taken.contains(name)).unwrap_or(base)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rhei_engine::catalog::{ColumnDef, PgType};

    fn catalog() -> Catalog {
        let col = |name: &str, ty, not_null| ColumnDef {
            name: name.into(),
            ty,
            not_null,
            is_serial: false,
            default_sql: None,
        };
        Catalog::from_tables([TableDef {
            id: TableId(1),
            name: "t".into(),
            columns: vec![
                ColumnDef { is_serial: true, ..col("id", PgType::Int4, true) },
                col("a", PgType::Text, false),
                col("b", PgType::Int4, false),
            ],
            primary_key: vec![0],
            unique: vec![vec![1, 2]],
            replica: None,
            ..Default::default()
        }])
    }

    fn model() -> Model {
        let conn = ConnectionInfo { user: "alice".into(), database: "db".into(), pid: 7 };
        Model::new(&catalog(), conn, Vec::new())
    }

    #[test]
    fn tables_get_indexes_named_like_postgres() {
        let model = model();
        let names: Vec<&str> = model.indexes().map(|(r, _)| r.name.as_str()).collect();
        assert_eq!(names, vec!["t_pkey", "t_a_b_key"]);
        let (_, pkey) = model.indexes().next().unwrap();
        assert_eq!(pkey.constraint_def(), "PRIMARY KEY (id)");
        assert_eq!(pkey.index_def("t_pkey", false), "CREATE UNIQUE INDEX t_pkey ON public.t USING btree (id)");
        let table = model.relation(16385).unwrap();
        assert!(table.has_index);
        assert_eq!(table.columns[0].default.as_deref(), Some("nextval('t_id_seq'::regclass)"));
    }

    #[test]
    fn names_resolve_through_the_search_path() {
        let model = model();
        assert_eq!(model.relation_by_name(None, "t").map(|r| r.oid), Some(16385));
        assert_eq!(model.relation_by_name(None, "pg_class").map(|r| r.oid), Some(1259));
        assert_eq!(model.relation_by_name(Some("information_schema"), "tables").map(|r| r.kind), Some(RelKind::View));
        assert!(model.relation_by_name(None, "tables").is_none());
        assert_eq!(model.is_visible(1259), Some(true));
        assert_eq!(model.is_visible(13425), Some(false));
    }

    #[test]
    fn identifiers_are_quoted_only_when_needed() {
        assert_eq!(quote_ident("abc_1"), "abc_1");
        assert_eq!(quote_ident("My T"), "\"My T\"");
        assert_eq!(quote_ident("user"), "\"user\"");
        assert_eq!(quote_ident("1a"), "\"1a\"");
    }
}
