//! rhei's catalog: the declared shape of every user table, kept in `_rhei_catalog` inside the
//! SQLite file so it commits atomically with the DDL that changes it. The in-memory [`Catalog`]
//! is an immutable snapshot swapped whole on DDL; readers never see a half-applied change.

pub mod store;
pub mod types;

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow::datatypes::{Schema, SchemaRef};
use datafusion::sql::sqlparser::ast::{Ident, ObjectName, ObjectNamePart};
use serde::{Deserialize, Serialize};

use crate::error::{EngineError, Result};
pub use types::{DeclaredType, ElementType, EnumDef, EnumType, PgType};

/// Stable identifier of a table; survives renames. Used as the change log's table key.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct TableId(pub i64);

/// One column as declared.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ColumnDef {
    pub name: String,
    pub ty: PgType,
    pub not_null: bool,
    pub is_serial: bool,
    /// The DEFAULT expression as written (Postgres SQL), for catalogs and `\d`.
    pub default_sql: Option<String>,
}

/// One user table as declared.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TableDef {
    pub id: TableId,
    pub name: String,
    pub columns: Vec<ColumnDef>,
    /// Column positions of the primary key, in key order; empty for tables without one.
    pub primary_key: Vec<usize>,
    /// Column position lists of UNIQUE constraints.
    pub unique: Vec<Vec<usize>>,
    /// The PRIMARY KEY constraint's name when it was given one (otherwise `<table>_pkey`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub primary_key_name: Option<String>,
    /// The UNIQUE constraints' names, `unique_names[i]` naming `unique[i]`. Catalogs written
    /// before names were kept have none, and their constraints take PostgreSQL's default names.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unique_names: Vec<String>,
    /// Names of the UNIQUE constraints declared NULLS NOT DISTINCT (their NULL keys collide).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub nulls_not_distinct: Vec<String>,
    /// Set for a table rhei follows from an upstream database (sidecar mode).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replica: Option<ReplicaDef>,
    /// CHECK constraints, in creation order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub checks: Vec<CheckDef>,
    /// FOREIGN KEY constraints this table declares (it is the referencing side).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub foreign_keys: Vec<ForeignKeyDef>,
    /// Indexes made by CREATE INDEX (not the ones behind PRIMARY KEY and UNIQUE).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub indexes: Vec<IndexDef>,
    /// `COMMENT ON TABLE` (`pg_description`, psql's `\dt+`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// `COMMENT ON COLUMN`, by column name (they follow renames and go with the column).
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub column_comments: std::collections::BTreeMap<String, String>,
}

/// A CHECK constraint: a boolean expression every row must not make false.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckDef {
    pub name: String,
    /// The expression as written (PostgreSQL SQL), for catalogs and for re-translation.
    pub expr: String,
}

/// What a FOREIGN KEY does to referencing rows when the referenced row is deleted or its key
/// updated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ReferentialAction {
    NoAction,
    Restrict,
    Cascade,
    SetNull,
    SetDefault,
}

impl ReferentialAction {
    /// `pg_constraint.confdeltype` / `confupdtype`.
    pub fn code(self) -> char {
        match self {
            Self::NoAction => 'a',
            Self::Restrict => 'r',
            Self::Cascade => 'c',
            Self::SetNull => 'n',
            Self::SetDefault => 'd',
        }
    }

    /// As `pg_get_constraintdef` and DDL write it.
    pub fn sql(self) -> &'static str {
        match self {
            Self::NoAction => "NO ACTION",
            Self::Restrict => "RESTRICT",
            Self::Cascade => "CASCADE",
            Self::SetNull => "SET NULL",
            Self::SetDefault => "SET DEFAULT",
        }
    }
}

/// A FOREIGN KEY constraint (MATCH SIMPLE: a row with any key column NULL references nothing).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ForeignKeyDef {
    pub name: String,
    /// Positions of the referencing columns in this table.
    pub columns: Vec<usize>,
    /// The referenced table, by id so renames do not break the reference.
    pub references: TableId,
    /// Positions of the referenced columns in the referenced table (its primary key or a
    /// UNIQUE constraint).
    pub ref_columns: Vec<usize>,
    pub on_delete: ReferentialAction,
    pub on_update: ReferentialAction,
    /// Declared DEFERRABLE / INITIALLY DEFERRED; kept for the catalogs. rhei checks every
    /// foreign key when each row changes (see `translate::constraints`).
    #[serde(default)]
    pub deferrable: bool,
    #[serde(default)]
    pub initially_deferred: bool,
}

/// An index made by CREATE INDEX, on columns and expressions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexDef {
    pub name: String,
    /// Positions of the indexed columns, in key order (the keys that are expressions left out).
    pub columns: Vec<usize>,
    /// Per key, in key order: whether it is sorted descending.
    pub descending: Vec<bool>,
    pub is_unique: bool,
    /// The keys that are expressions (`lower(email)`): their place among the keys and their
    /// PostgreSQL text. The other places are `columns`', in order.
    #[serde(default)]
    pub expressions: Vec<(usize, String)>,
    /// A partial index's WHERE, as PostgreSQL text (`active`, `deleted_at IS NULL`): only the
    /// rows it holds for are indexed, so a unique partial index constrains only them.
    #[serde(default)]
    pub predicate: Option<String>,
}

/// One key of an index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IndexKey<'a> {
    /// A column, by position.
    Column(usize),
    /// An expression, as PostgreSQL text.
    Expression(&'a str),
}

impl IndexDef {
    /// Whether the index makes its columns unique in every row (what a foreign key needs).
    pub fn is_unique_key(&self) -> bool {
        self.is_unique && self.predicate.is_none() && self.expressions.is_empty()
    }

    /// The keys in order, each with whether it sorts descending.
    pub fn keys(&self) -> Vec<(IndexKey<'_>, bool)> {
        let count = self.columns.len() + self.expressions.len();
        let mut columns = self.columns.iter();
        (0..count)
            .filter_map(|place| {
                let key = match self.expressions.iter().find(|(at, _)| *at == place) {
                    Some((_, sql)) => IndexKey::Expression(sql),
                    None => IndexKey::Column(*columns.next()?),
                };
                Some((key, self.descending.get(place).copied().unwrap_or(false)))
            })
            .collect()
    }
}

/// How a replica table follows its upstream table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplicaDef {
    /// The upstream table, `schema.name`.
    pub upstream: String,
    /// Column positions of the upstream's key (primary key or replica identity), in key order.
    pub key: Vec<usize>,
    /// Temporal (SCD Type 2): every version is kept, with [`VALID_FROM`] and [`VALID_TO`] as its
    /// last two columns. Otherwise a mirror: current rows only, keyed by `key`.
    pub temporal: bool,
    /// Whether the key identifies one row (it is the upstream's primary key). `false` when the
    /// upstream has only REPLICA IDENTITY FULL: the key is then every column and equal rows are
    /// legitimate duplicates.
    pub key_unique: bool,
    /// Columns the upstream dropped. A temporal table keeps them, because the history before
    /// the drop has their values; current rows do not show them (the upstream does not).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dropped: Vec<String>,
}

/// First instant a version of a temporal table's row was current (upstream commit time).
pub const VALID_FROM: &str = "_rhei_valid_from";
/// Instant a version stopped being current; NULL for the current version.
pub const VALID_TO: &str = "_rhei_valid_to";

impl TableDef {
    /// Position of a column by its (already normalized) name.
    pub fn column_index(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c.name == name)
    }

    /// The column each value of an INSERT's rows goes to, for its column list `named` (every
    /// column in order when empty); `None` where a named column does not exist.
    pub fn insert_targets(&self, named: &[Ident]) -> Vec<Option<usize>> {
        if named.is_empty() {
            (0..self.columns.len()).map(Some).collect()
        } else {
            named.iter().map(|c| self.column_index(&normalize_ident(c))).collect()
        }
    }

    /// The Arrow schema of the table's rows (user columns only).
    pub fn arrow_schema(&self) -> SchemaRef {
        Arc::new(Schema::new(
            self.columns.iter().map(|c| c.ty.arrow_field(&c.name, !c.not_null)).collect::<Vec<_>>(),
        ))
    }

    /// Whether the single-column integer primary key is SQLite's rowid alias, so lookups by it
    /// are rowid lookups.
    pub fn rowid_alias(&self) -> Option<usize> {
        match self.primary_key.as_slice() {
            [i] if matches!(self.columns[*i].ty, PgType::Int2 | PgType::Int4 | PgType::Int8) => Some(*i),
            _ => None,
        }
    }

    /// The columns users see as the table's own: all but the validity columns of a temporal
    /// table.
    pub fn user_columns(&self) -> &[ColumnDef] {
        match &self.replica {
            Some(r) if r.temporal => &self.columns[..self.columns.len().saturating_sub(2)],
            _ => &self.columns,
        }
    }

    /// Whether this is a temporal replica table (queries see versions, not rows).
    pub fn is_temporal(&self) -> bool {
        self.replica.as_ref().is_some_and(|r| r.temporal)
    }

    /// The primary key constraint's name: as given, or PostgreSQL's default.
    pub fn pkey_name(&self) -> String {
        self.primary_key_name.clone().unwrap_or_else(|| format!("{}_pkey", self.name))
    }

    /// The name of UNIQUE constraint `i`: as given or chosen when it was made, or PostgreSQL's
    /// default for catalogs that did not keep it.
    pub fn unique_name(&self, i: usize) -> String {
        match self.unique_names.get(i) {
            Some(name) => name.clone(),
            None => {
                let columns: Vec<&str> = self.unique[i].iter().map(|&c| self.columns[c].name.as_str()).collect();
                format!("{}_{}_key", self.name, columns.join("_"))
            }
        }
    }

    /// Fixes the key constraints' names as they are now, before a rename: PostgreSQL's index
    /// names do not follow the table's.
    pub fn freeze_key_names(&mut self) {
        if !self.primary_key.is_empty() && self.primary_key_name.is_none() {
            self.primary_key_name = Some(self.pkey_name());
        }
        self.name_unique_constraints();
    }

    /// Adds a UNIQUE constraint with its name.
    pub fn add_unique(&mut self, columns: Vec<usize>, name: String) {
        self.name_unique_constraints();
        self.unique.push(columns);
        self.unique_names.push(name);
    }

    /// Removes UNIQUE constraint `i`.
    pub fn remove_unique(&mut self, i: usize) {
        self.name_unique_constraints();
        self.unique.remove(i);
        let name = self.unique_names.remove(i);
        self.nulls_not_distinct.retain(|n| *n != name);
    }

    /// Whether UNIQUE constraint `i` treats NULL keys as equal.
    pub fn unique_nulls_not_distinct(&self, i: usize) -> bool {
        !self.nulls_not_distinct.is_empty() && self.nulls_not_distinct.contains(&self.unique_name(i))
    }

    /// Gives every UNIQUE constraint its name explicitly, so the two lists stay parallel.
    fn name_unique_constraints(&mut self) {
        let names: Vec<String> = (self.unique_names.len()..self.unique.len()).map(|i| self.unique_name(i)).collect();
        self.unique_names.extend(names);
    }

    /// The PRIMARY KEY or UNIQUE constraint called `name`.
    pub fn key_constraint(&self, name: &str) -> Option<KeyConstraint> {
        if !self.primary_key.is_empty() && self.pkey_name() == name {
            return Some(KeyConstraint::Primary);
        }
        (0..self.unique.len()).find(|&i| self.unique_name(i) == name).map(KeyConstraint::Unique)
    }
}

impl Catalog {
    /// A unique violation as SQLite reports it (table and columns) named after the constraint
    /// or unique index PostgreSQL would name: the primary key's, a UNIQUE constraint's as given
    /// or chosen, or a CREATE UNIQUE INDEX's own name. Other errors pass through.
    pub fn name_unique_violation(&self, err: EngineError) -> EngineError {
        let EngineError::UniqueViolation { table, constraint, columns, detail } = err else { return err };
        // An index on expressions is reported by its name alone.
        if table.is_empty()
            && let Some(owner) = self.tables().find(|t| t.indexes.iter().any(|i| i.name == constraint))
        {
            return EngineError::UniqueViolation { table: owner.name.clone(), constraint, columns, detail };
        }
        let named = self.get(&table).and_then(|def| {
            let positions: Option<Vec<usize>> = columns.iter().map(|c| def.column_index(c)).collect();
            let positions = positions?;
            let same = |key: &[usize]| key.len() == positions.len() && key.iter().all(|k| positions.contains(k));
            if !def.primary_key.is_empty() && same(&def.primary_key) {
                return Some(def.pkey_name());
            }
            if let Some(i) = def.unique.iter().position(|u| same(u)) {
                return Some(def.unique_name(i));
            }
            def.indexes.iter().find(|i| i.is_unique && i.expressions.is_empty() && same(&i.columns)).map(|i| i.name.clone())
        });
        EngineError::UniqueViolation { constraint: named.unwrap_or(constraint), table, columns, detail }
    }
}

/// A constraint enforced by a unique index: the primary key, or UNIQUE constraint `i`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyConstraint {
    Primary,
    Unique(usize),
}

/// A view (`CREATE VIEW`): a named query, read as a derived table wherever it is named (see
/// `crate::views`), kept in `_rhei_views`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ViewDef {
    /// Its row in `_rhei_views`, from which its OID derives; kept by CREATE OR REPLACE.
    pub id: i64,
    pub name: String,
    /// The defining query as PostgreSQL text (views it names stay names).
    pub query: String,
    /// The output columns: names (an explicit column list first) and the types planned when
    /// the view was made (text where the planner could not tell).
    pub columns: Vec<ViewColumn>,
    /// The tables and views the query reads, by normalized name (for DROP's dependency check).
    pub reads: Vec<String>,
}

/// One output column of a view.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ViewColumn {
    pub name: String,
    pub ty: PgType,
}

/// An immutable view of all tables.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    tables: BTreeMap<String, Arc<TableDef>>,
    /// Whether any table is temporal (queries then need the temporal rewrite).
    has_temporal: bool,
    views: BTreeMap<String, Arc<ViewDef>>,
    /// Enum types by name.
    enums: BTreeMap<String, EnumType>,
}

impl Catalog {
    pub fn from_tables(tables: impl IntoIterator<Item = TableDef>) -> Self {
        let tables: BTreeMap<String, Arc<TableDef>> = tables.into_iter().map(|t| (t.name.clone(), Arc::new(t))).collect();
        let has_temporal = tables.values().any(|t| t.is_temporal());
        Self { tables, has_temporal, views: BTreeMap::new(), enums: BTreeMap::new() }
    }

    /// This catalog with `enums` (replacing any it had).
    pub fn with_enums(mut self, enums: impl IntoIterator<Item = EnumDef>) -> Self {
        self.enums = enums.into_iter().map(|e| (e.name.clone(), EnumType::new(e))).collect();
        self
    }

    /// This catalog with these enum types besides its own.
    pub fn with_enum_types(mut self, enums: impl IntoIterator<Item = EnumType>) -> Self {
        self.enums.extend(enums.into_iter().map(|e| (e.def().name.clone(), e)));
        self
    }

    /// An enum type by normalized name.
    pub fn enum_type(&self, name: &str) -> Option<EnumType> {
        self.enums.get(name).copied()
    }

    pub fn enums(&self) -> impl Iterator<Item = EnumType> + '_ {
        self.enums.values().copied()
    }

    /// The column type `sql` names: a built-in one, or an enum type of this catalog.
    ///
    /// # Errors
    /// [`EngineError::UndefinedType`] for a name that is neither.
    pub fn column_type(&self, sql: &datafusion::sql::sqlparser::ast::DataType) -> Result<DeclaredType> {
        match PgType::from_sql(sql) {
            Err(EngineError::UndefinedType { name }) => match sql {
                datafusion::sql::sqlparser::ast::DataType::Custom(object, modifiers) if modifiers.is_empty() => {
                    match table_name(object).ok().and_then(|n| self.enum_type(&n)) {
                        Some(e) => Ok(DeclaredType { ty: PgType::Enum(e), is_serial: false }),
                        None => Err(EngineError::UndefinedType { name }),
                    }
                }
                _ => Err(EngineError::UndefinedType { name }),
            },
            other => other,
        }
    }

    /// This catalog with the views and types of `other` (replacing any it had).
    pub fn with_objects_of(mut self, other: &Catalog) -> Self {
        self.views = other.views.clone();
        self.enums = other.enums.clone();
        self
    }

    /// This catalog with `views` (replacing any it had).
    pub fn with_views(mut self, views: impl IntoIterator<Item = ViewDef>) -> Self {
        self.views = views.into_iter().map(|v| (v.name.clone(), Arc::new(v))).collect();
        self
    }

    /// A view by normalized name.
    pub fn view(&self, name: &str) -> Option<&Arc<ViewDef>> {
        self.views.get(name)
    }

    pub fn views(&self) -> impl Iterator<Item = &Arc<ViewDef>> {
        self.views.values()
    }

    pub fn has_views(&self) -> bool {
        !self.views.is_empty()
    }

    /// Whether any table keeps versions (see `TableDef::is_temporal`).
    pub fn has_temporal(&self) -> bool {
        self.has_temporal
    }

    /// A table by normalized name.
    pub fn get(&self, name: &str) -> Option<&Arc<TableDef>> {
        self.tables.get(name)
    }

    /// A table by name, or the Postgres error for a missing relation.
    ///
    /// # Errors
    /// [`EngineError::UndefinedTable`].
    pub fn require(&self, name: &str) -> Result<&Arc<TableDef>> {
        self.get(name).ok_or_else(|| EngineError::UndefinedTable { name: name.to_string() })
    }

    pub fn by_id(&self, id: TableId) -> Option<&Arc<TableDef>> {
        self.tables.values().find(|t| t.id == id)
    }

    pub fn tables(&self) -> impl Iterator<Item = &Arc<TableDef>> {
        self.tables.values()
    }

    pub fn is_empty(&self) -> bool {
        self.tables.is_empty()
    }
}

/// Normalizes an identifier as PostgreSQL does: unquoted names fold to lower case, quoted names
/// keep their spelling.
pub fn normalize_ident(ident: &Ident) -> String {
    if ident.quote_style.is_some() { ident.value.clone() } else { ident.value.to_lowercase() }
}

/// The table name an object name refers to. rhei has one schema, `public`; `public.t` and
/// `t` are the same table.
///
/// # Errors
/// [`EngineError::UndefinedTable`] for other schemas (`pg_catalog` is the front end's).
pub fn table_name(name: &ObjectName) -> Result<String> {
    let parts: Vec<String> = name
        .0
        .iter()
        .map(|p| match p {
            ObjectNamePart::Identifier(ident) => normalize_ident(ident),
            other => other.to_string(),
        })
        .collect();
    match parts.as_slice() {
        [table] => Ok(table.clone()),
        [schema, table] if schema == "public" => Ok(table.clone()),
        _ => Err(EngineError::UndefinedTable { name: name.to_string() }),
    }
}

/// Quotes an identifier for SQLite (and Postgres): always double-quoted, inner quotes doubled,
/// so no name is ever pasted into SQL unquoted.
pub fn quote_ident(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 2);
    out.push('"');
    for ch in name.chars() {
        if ch == '"' {
            out.push('"');
        }
        out.push(ch);
    }
    out.push('"');
    out
}

/// Quotes a string literal for SQLite.
pub fn quote_literal(value: &str) -> String {
    format!("'{}'", value.replace('\'', "''"))
}

/// A catalog of one table (id 1) keyed by its first column, for tests.
#[cfg(test)]
pub(crate) fn one_table_catalog(name: &str, columns: &[(&str, PgType)]) -> Catalog {
    let columns = columns
        .iter()
        .map(|(name, ty)| ColumnDef { name: (*name).into(), ty: *ty, not_null: false, is_serial: false, default_sql: None })
        .collect();
    Catalog::from_tables([TableDef { id: TableId(1), name: name.into(), columns, primary_key: vec![0], ..Default::default() }])
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Keys come back in the order written, columns and expressions interleaved, each with its
    /// own sort order (`CREATE INDEX ON t (tenant, (a + b) DESC, lower(email))`).
    #[test]
    fn index_keys_interleave_columns_and_expressions() {
        let index = IndexDef {
            name: "t_tenant_expr_lower_idx".into(),
            columns: vec![2],
            descending: vec![false, true, false],
            is_unique: false,
            expressions: vec![(1, "a + b".into()), (2, "lower(email)".into())],
            predicate: None,
        };
        assert_eq!(
            index.keys(),
            vec![(IndexKey::Column(2), false), (IndexKey::Expression("a + b"), true), (IndexKey::Expression("lower(email)"), false)]
        );
        assert!(!IndexDef { is_unique: true, ..index }.is_unique_key(), "an expression index is no key for a foreign key");
        assert_eq!(crate::translate::constraints::expression_name("lower(email)"), "lower");
        assert_eq!(crate::translate::constraints::expression_name("a + b"), "expr");
    }

    /// SQLite names only the index of a unique violation on expressions; the table is found
    /// by it (the ErrorResponse's table field was empty).
    #[test]
    fn expression_index_violations_name_their_table() {
        let mut catalog = one_table_catalog("users", &[("id", PgType::Int4), ("email", PgType::Text)]);
        let mut users = catalog.get("users").unwrap().as_ref().clone();
        users.indexes.push(IndexDef {
            name: "users_lower_idx".into(),
            columns: Vec::new(),
            descending: vec![false],
            is_unique: true,
            expressions: vec![(0, "lower(email)".into())],
            predicate: None,
        });
        catalog = Catalog::from_tables([users]);
        let violation = EngineError::UniqueViolation { table: String::new(), constraint: "users_lower_idx".into(), columns: Vec::new(), detail: None };
        match catalog.name_unique_violation(violation) {
            EngineError::UniqueViolation { table, constraint, .. } => assert_eq!((table.as_str(), constraint.as_str()), ("users", "users_lower_idx")),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn identifiers_fold_like_postgres_and_quote_safely() {
        assert_eq!(normalize_ident(&Ident::new("MyTable")), "mytable");
        assert_eq!(normalize_ident(&Ident::with_quote('"', "MyTable")), "MyTable");
        assert_eq!(quote_ident("we\"ird name"), "\"we\"\"ird name\"");
        assert_eq!(quote_literal("it's"), "'it''s'");
    }
}
