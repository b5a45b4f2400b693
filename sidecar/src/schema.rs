//! Upstream tables as replica tables: which tables the selection covers, their columns with
//! types mapped to rhei's, and their key (primary key, or every column under REPLICA IDENTITY
//! FULL). A type rhei does not store natively is kept as text in PostgreSQL's own text form,
//! never dropped and never turned into NULL.

use datafusion::sql::sqlparser::dialect::PostgreSqlDialect;
use datafusion::sql::sqlparser::parser::Parser;
use rhei_config::{ReplicaMode, SidecarConfig};
use rhei_engine::catalog::{ColumnDef, PgType, ReplicaDef};
use rhei_engine::replica::ReplicaTableSpec;
use tokio_postgres::Client;

use crate::error::SidecarError;

/// One upstream table rhei follows.
#[derive(Debug, Clone, PartialEq)]
pub struct UpstreamTable {
    pub schema: String,
    pub name: String,
    /// The replica table's local name.
    pub local: String,
    /// The upstream's declared type of each column (`format_type`), in column order.
    pub upstream_types: Vec<String>,
    pub spec: ReplicaTableSpec,
}

impl UpstreamTable {
    /// `schema.name`, quoted for upstream SQL.
    pub fn qualified(&self) -> String {
        format!("{}.{}", quote(&self.schema), quote(&self.name))
    }
}

/// Quotes an identifier for the upstream.
pub fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// The local name of an upstream table: its own name in `public`, `schema_name` elsewhere
/// (rhei has one schema).
pub fn local_name(schema: &str, name: &str) -> String {
    if schema == "public" { name.to_string() } else { format!("{schema}_{name}") }
}

/// Maps an upstream type (as `format_type` spells it) to the type rhei stores; unknown types
/// become text.
pub fn map_type(upstream: &str) -> PgType {
    let Ok(mut parser) = Parser::new(&PostgreSqlDialect {}).try_with_sql(upstream) else { return PgType::Text };
    match parser.parse_data_type() {
        // An interval restricted to some fields or a precision holds intervals all the same.
        Ok(datafusion::sql::sqlparser::ast::DataType::Interval { .. }) if parser.peek_token().token == datafusion::sql::sqlparser::tokenizer::Token::EOF => {
            PgType::Interval
        }
        Ok(sql_type) if parser.peek_token().token == datafusion::sql::sqlparser::tokenizer::Token::EOF => {
            PgType::from_sql(&sql_type).map_or(PgType::Text, |d| d.ty)
        }
        _ => PgType::Text,
    }
}

/// The upstream tables the selection covers, with their shape.
///
/// # Errors
/// Upstream query errors; a selected table without a primary key and without REPLICA IDENTITY
/// FULL (its updates and deletes could not be matched).
pub async fn discover(client: &Client, config: &SidecarConfig) -> Result<Vec<UpstreamTable>, SidecarError> {
    let mut tables = Vec::new();
    for (schema, name, oid, identity_full) in selected(client, config).await? {
        tables.push(describe(client, config, &schema, &name, oid, identity_full).await?);
    }
    Ok(tables)
}

/// The selected upstream tables that have a primary key (what polling needs), and the names of
/// those that have none.
///
/// # Errors
/// Upstream query errors.
pub async fn discover_keyed(client: &Client, config: &SidecarConfig) -> Result<(Vec<UpstreamTable>, Vec<String>), SidecarError> {
    let mut tables = Vec::new();
    let mut keyless = Vec::new();
    for (schema, name, oid, _) in selected(client, config).await? {
        match describe(client, config, &schema, &name, oid, false).await {
            Ok(table) => tables.push(table),
            Err(SidecarError::NoKey { .. }) => keyless.push(format!("{} (no primary key)", local_name(&schema, &name))),
            Err(e) => return Err(e),
        }
    }
    Ok((tables, keyless))
}

/// Schema, name, oid and "REPLICA IDENTITY FULL" of each selected upstream table.
async fn selected(client: &Client, config: &SidecarConfig) -> Result<Vec<(String, String, u32, bool)>, SidecarError> {
    let rows = client
        .query(
            "SELECT n.nspname, c.relname, c.oid, c.relreplident::text FROM pg_class c \
             JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition AND n.nspname = ANY($1) ORDER BY 1, 2",
            &[&config.schemas],
        )
        .await?;
    Ok(rows
        .into_iter()
        .map(|row| (row.get::<_, String>(0), row.get::<_, String>(1), row.get::<_, u32>(2), row.get::<_, String>(3) == "f"))
        .filter(|(schema, name, _, _)| config.selects(schema, name))
        .collect())
}

/// The shape of one upstream table.
///
/// # Errors
/// Upstream query errors; no usable key.
pub async fn describe(
    client: &Client,
    config: &SidecarConfig,
    schema: &str,
    name: &str,
    oid: u32,
    identity_full: bool,
) -> Result<UpstreamTable, SidecarError> {
    let columns = client
        .query(
            "SELECT a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull, a.attnum FROM pg_attribute a \
             WHERE a.attrelid = $1 AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum",
            &[&oid],
        )
        .await?;
    let pk = client
        .query_opt("SELECT i.indkey::text FROM pg_index i WHERE i.indrelid = $1 AND i.indisprimary", &[&oid])
        .await?;
    let attnums: Vec<i16> = columns.iter().map(|r| r.get(3)).collect();
    let key_attnums: Vec<i16> = pk
        .map(|r| r.get::<_, String>(0).split_whitespace().filter_map(|n| n.parse().ok()).collect())
        .unwrap_or_default();
    let (key, key_unique) = if !key_attnums.is_empty() {
        (key_attnums.iter().filter_map(|k| attnums.iter().position(|a| a == k)).collect::<Vec<_>>(), true)
    } else if identity_full {
        ((0..columns.len()).collect(), false)
    } else {
        return Err(SidecarError::NoKey { schema: schema.into(), name: name.into(), quoted: format!("{}.{}", quote(schema), quote(name)) });
    };
    let upstream_types: Vec<String> = columns.iter().map(|r| r.get(1)).collect();
    let defs = columns
        .iter()
        .zip(&upstream_types)
        .map(|(r, ty)| ColumnDef { name: r.get(0), ty: map_type(ty), not_null: r.get(2), is_serial: false, default_sql: None })
        .collect();
    let local = local_name(schema, name);
    let temporal = config.mode == ReplicaMode::Temporal;
    let spec = ReplicaTableSpec {
        name: local.clone(),
        columns: defs,
        def: ReplicaDef { upstream: format!("{schema}.{name}"), key, temporal, key_unique, dropped: Vec::new() },
    };
    Ok(UpstreamTable { schema: schema.into(), name: name.into(), local, upstream_types, spec })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upstream_types_map_to_rhei_types_and_the_rest_stay_text() {
        assert_eq!(map_type("integer"), PgType::Int4);
        assert_eq!(map_type("bigint"), PgType::Int8);
        assert_eq!(map_type("numeric(12,2)"), PgType::Numeric { precision: Some(12), scale: Some(2) });
        assert_eq!(map_type("character varying(20)"), PgType::Varchar(Some(20)));
        assert_eq!(map_type("timestamp(3) with time zone"), PgType::Timestamptz);
        assert_eq!(map_type("timestamp without time zone"), PgType::Timestamp);
        assert_eq!(map_type("jsonb"), PgType::Jsonb);
        assert_eq!(map_type("uuid"), PgType::Uuid);
        assert_eq!(map_type("time(3) without time zone"), PgType::Time);
        for interval in ["interval", "interval day to second", "interval(3)", "interval minute to second(2)"] {
            assert_eq!(map_type(interval), PgType::Interval, "{interval}");
        }
        let array = |ty| PgType::Array(rhei_engine::catalog::ElementType::new(ty).expect("an element type"));
        assert_eq!(map_type("integer[]"), array(PgType::Int4));
        assert_eq!(map_type("character varying(5)[]"), array(PgType::Varchar(Some(5))));
        assert_eq!(map_type("timestamp(3) with time zone[]"), array(PgType::Timestamptz));
        assert_eq!(map_type("inet"), PgType::Inet);
        assert_eq!(map_type("cidr"), PgType::Cidr);
        for other in ["macaddr", "inet[]", "interval[]", "jsonb[]", "character(2)[]", "mood", "time with time zone", "numeric(80,2)", "tsvector"] {
            assert_eq!(map_type(other), PgType::Text, "{other}");
        }
    }

    #[test]
    fn tables_outside_public_get_prefixed_local_names() {
        assert_eq!(local_name("public", "orders"), "orders");
        assert_eq!(local_name("sales", "orders"), "sales_orders");
    }
}
