//! The catalog queries psql 15 sends (captured with `psql -E` against PostgreSQL 15), run
//! against a fixture catalog, with PostgreSQL's answers where rhei can give them.

use datafusion::sql::sqlparser::{dialect::PostgreSqlDialect, parser::Parser};
use rhei_engine::catalog::{ColumnDef, PgType, TableDef, TableId};

use super::*;

/// `t` and `u` as PostgreSQL would hold them after:
/// `CREATE TABLE t (id serial PRIMARY KEY, name varchar(20) NOT NULL, price numeric(10,2)
/// DEFAULT 0, code char(3) UNIQUE, created timestamptz, data jsonb, flag boolean DEFAULT true)`
/// and `CREATE TABLE u (a int, b text, UNIQUE (a, b))`.
fn catalog() -> Catalog {
    let col =
        |name: &str, ty| ColumnDef { name: name.into(), ty, not_null: false, is_serial: false, default_sql: None };
    Catalog::from_tables([
        TableDef {
            id: TableId(1),
            name: "t".into(),
            columns: vec![
                ColumnDef { not_null: true, is_serial: true, ..col("id", PgType::Int4) },
                ColumnDef { not_null: true, ..col("name", PgType::Varchar(Some(20))) },
                ColumnDef {
                    default_sql: Some("0".into()),
                    ..col("price", PgType::Numeric { precision: Some(10), scale: Some(2) })
                },
                col("code", PgType::Bpchar(Some(3))),
                col("created", PgType::Timestamptz),
                col("data", PgType::Jsonb),
                ColumnDef { default_sql: Some("true".into()), ..col("flag", PgType::Bool) },
            ],
            primary_key: vec![0],
            unique: vec![vec![3]],
            replica: None,
            ..Default::default()
        },
        TableDef {
            id: TableId(2),
            name: "u".into(),
            columns: vec![col("a", PgType::Int4), col("b", PgType::Text)],
            primary_key: Vec::new(),
            unique: vec![vec![0, 1]],
            replica: None,
            ..Default::default()
        },
    ])
}

/// Functions the engine has too do not make a query the catalog's by themselves: the
/// catalog has no json_build_array, so `SELECT format(...), json_build_array(...)` failed.
#[test]
fn functions_the_engine_has_are_not_catalog_queries_alone() {
    for sql in [
        "SELECT format('%s', 1), json_build_array(2)",
        "SELECT quote_ident('A'), quote_literal('b'), pg_size_pretty(10::bigint)",
        "SELECT json_build_object('a', ARRAY[1])",
        "SELECT array_upper(ARRAY[1, 2], 1)",
    ] {
        let statement = Parser::parse_sql(&PostgreSqlDialect {}, sql).expect("parses").remove(0);
        assert!(!rewrite::is_catalog_query(&statement, &catalog()), "taken for a catalog query: {sql}");
    }
}

fn query(sql: &str) -> CatalogQuery {
    let statement = Parser::parse_sql(&PostgreSqlDialect {}, sql).expect("parses").remove(0);
    assert!(rewrite::is_catalog_query(&statement, &catalog()), "not recognized as a catalog query: {sql}");
    let conn = ConnectionInfo { user: "alice".into(), database: "shop".into(), pid: 4242 };
    let settings = vec![("TimeZone".into(), "UTC".into()), ("server_version".into(), "15.0".into())];
    CatalogQuery::new(statement, &catalog(), conn, settings)
}

/// Runs a query; rows as `a|b|c` lines, NULL as empty (psql's unaligned output).
async fn try_rows(sql: &str, params: &[ScalarValue]) -> Result<(Vec<String>, Vec<String>), EngineError> {
    let (schema, batches) = query(sql).run(params).await?;
    let names = schema.fields().iter().map(|f| f.name().clone()).collect();
    let mut rows = Vec::new();
    for batch in &batches {
        for row in 0..batch.num_rows() {
            let cells: Vec<String> = batch
                .columns()
                .iter()
                .map(|col| {
                    if col.is_null(row) {
                        String::new()
                    } else {
                        arrow::util::display::array_value_to_string(col, row).expect("displayable")
                    }
                })
                .collect();
            rows.push(cells.join("|"));
        }
    }
    Ok((names, rows))
}

async fn rows(sql: &str) -> Vec<String> {
    match try_rows(sql, &[]).await {
        Ok((_, rows)) => rows,
        Err(e) => panic!("{sql}\nfailed: {} {e}", e.sqlstate()),
    }
}

const LIST_TABLES: &str = r#"SELECT n.nspname as "Schema",
  c.relname as "Name",
  CASE c.relkind WHEN 'r' THEN 'table' WHEN 'v' THEN 'view' WHEN 'm' THEN 'materialized view' WHEN 'i' THEN 'index' WHEN 'S' THEN 'sequence' WHEN 't' THEN 'TOAST table' WHEN 'f' THEN 'foreign table' WHEN 'p' THEN 'partitioned table' WHEN 'I' THEN 'partitioned index' END as "Type",
  pg_catalog.pg_get_userbyid(c.relowner) as "Owner"
FROM pg_catalog.pg_class c
     LEFT JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
     LEFT JOIN pg_catalog.pg_am am ON am.oid = c.relam
WHERE c.relkind IN ('r','p','')
      AND n.nspname <> 'pg_catalog'
      AND n.nspname !~ '^pg_toast'
      AND n.nspname <> 'information_schema'
  AND pg_catalog.pg_table_is_visible(c.oid)
ORDER BY 1,2;"#;

const LIST_TABLES_VERBOSE: &str = r#"SELECT n.nspname as "Schema",
  c.relname as "Name",
  CASE c.relkind WHEN 'r' THEN 'table' WHEN 'v' THEN 'view' WHEN 'm' THEN 'materialized view' WHEN 'i' THEN 'index' WHEN 'S' THEN 'sequence' WHEN 't' THEN 'TOAST table' WHEN 'f' THEN 'foreign table' WHEN 'p' THEN 'partitioned table' WHEN 'I' THEN 'partitioned index' END as "Type",
  pg_catalog.pg_get_userbyid(c.relowner) as "Owner",
  CASE c.relpersistence WHEN 'p' THEN 'permanent' WHEN 't' THEN 'temporary' WHEN 'u' THEN 'unlogged' END as "Persistence",
  am.amname as "Access method",
  pg_catalog.pg_size_pretty(pg_catalog.pg_table_size(c.oid)) as "Size",
  pg_catalog.obj_description(c.oid, 'pg_class') as "Description"
FROM pg_catalog.pg_class c
     LEFT JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
     LEFT JOIN pg_catalog.pg_am am ON am.oid = c.relam
WHERE c.relkind IN ('r','p','')
      AND n.nspname <> 'pg_catalog'
      AND n.nspname !~ '^pg_toast'
      AND n.nspname <> 'information_schema'
  AND pg_catalog.pg_table_is_visible(c.oid)
ORDER BY 1,2;"#;

const LIST_INDEXES: &str = r#"SELECT n.nspname as "Schema",
  c.relname as "Name",
  CASE c.relkind WHEN 'r' THEN 'table' WHEN 'v' THEN 'view' WHEN 'm' THEN 'materialized view' WHEN 'i' THEN 'index' WHEN 'S' THEN 'sequence' WHEN 't' THEN 'TOAST table' WHEN 'f' THEN 'foreign table' WHEN 'p' THEN 'partitioned table' WHEN 'I' THEN 'partitioned index' END as "Type",
  pg_catalog.pg_get_userbyid(c.relowner) as "Owner",
  c2.relname as "Table"
FROM pg_catalog.pg_class c
     LEFT JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
     LEFT JOIN pg_catalog.pg_am am ON am.oid = c.relam
     LEFT JOIN pg_catalog.pg_index i ON i.indexrelid = c.oid
     LEFT JOIN pg_catalog.pg_class c2 ON i.indrelid = c2.oid
WHERE c.relkind IN ('i','I','')
      AND n.nspname <> 'pg_catalog'
      AND n.nspname !~ '^pg_toast'
      AND n.nspname <> 'information_schema'
  AND pg_catalog.pg_table_is_visible(c.oid)
ORDER BY 1,2;"#;

const FIND_RELATION: &str = r#"SELECT c.oid,
  n.nspname,
  c.relname
FROM pg_catalog.pg_class c
     LEFT JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE c.relname OPERATOR(pg_catalog.~) '^(t)$' COLLATE pg_catalog.default
  AND pg_catalog.pg_table_is_visible(c.oid)
ORDER BY 2, 3;"#;

const TABLE_INFO: &str = r#"SELECT c.relchecks, c.relkind, c.relhasindex, c.relhasrules, c.relhastriggers, c.relrowsecurity, c.relforcerowsecurity, false AS relhasoids, c.relispartition, '', c.reltablespace, CASE WHEN c.reloftype = 0 THEN '' ELSE c.reloftype::pg_catalog.regtype::pg_catalog.text END, c.relpersistence, c.relreplident, am.amname
FROM pg_catalog.pg_class c
 LEFT JOIN pg_catalog.pg_class tc ON (c.reltoastrelid = tc.oid)
LEFT JOIN pg_catalog.pg_am am ON (c.relam = am.oid)
WHERE c.oid = '16385';"#;

const TABLE_INFO_VERBOSE: &str = r#"SELECT c.relchecks, c.relkind, c.relhasindex, c.relhasrules, c.relhastriggers, c.relrowsecurity, c.relforcerowsecurity, false AS relhasoids, c.relispartition, pg_catalog.array_to_string(c.reloptions || array(select 'toast.' || x from pg_catalog.unnest(tc.reloptions) x), ', ')
, c.reltablespace, CASE WHEN c.reloftype = 0 THEN '' ELSE c.reloftype::pg_catalog.regtype::pg_catalog.text END, c.relpersistence, c.relreplident, am.amname
FROM pg_catalog.pg_class c
 LEFT JOIN pg_catalog.pg_class tc ON (c.reltoastrelid = tc.oid)
LEFT JOIN pg_catalog.pg_am am ON (c.relam = am.oid)
WHERE c.oid = '16385';"#;

const COLUMNS: &str = r#"SELECT a.attname,
  pg_catalog.format_type(a.atttypid, a.atttypmod),
  (SELECT pg_catalog.pg_get_expr(d.adbin, d.adrelid, true)
   FROM pg_catalog.pg_attrdef d
   WHERE d.adrelid = a.attrelid AND d.adnum = a.attnum AND a.atthasdef),
  a.attnotnull,
  (SELECT c.collname FROM pg_catalog.pg_collation c, pg_catalog.pg_type t
   WHERE c.oid = a.attcollation AND t.oid = a.atttypid AND a.attcollation <> t.typcollation) AS attcollation,
  a.attidentity,
  a.attgenerated
FROM pg_catalog.pg_attribute a
WHERE a.attrelid = '16385' AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY a.attnum;"#;

const COLUMNS_VERBOSE: &str = r#"SELECT a.attname,
  pg_catalog.format_type(a.atttypid, a.atttypmod),
  (SELECT pg_catalog.pg_get_expr(d.adbin, d.adrelid, true)
   FROM pg_catalog.pg_attrdef d
   WHERE d.adrelid = a.attrelid AND d.adnum = a.attnum AND a.atthasdef),
  a.attnotnull,
  (SELECT c.collname FROM pg_catalog.pg_collation c, pg_catalog.pg_type t
   WHERE c.oid = a.attcollation AND t.oid = a.atttypid AND a.attcollation <> t.typcollation) AS attcollation,
  a.attidentity,
  a.attgenerated,
  a.attstorage,
  a.attcompression AS attcompression,
  CASE WHEN a.attstattarget=-1 THEN NULL ELSE a.attstattarget END AS attstattarget,
  pg_catalog.col_description(a.attrelid, a.attnum)
FROM pg_catalog.pg_attribute a
WHERE a.attrelid = '16385' AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY a.attnum;"#;

const INDEXES: &str = r#"SELECT c2.relname, i.indisprimary, i.indisunique, i.indisclustered, i.indisvalid, pg_catalog.pg_get_indexdef(i.indexrelid, 0, true),
  pg_catalog.pg_get_constraintdef(con.oid, true), contype, condeferrable, condeferred, i.indisreplident, c2.reltablespace
FROM pg_catalog.pg_class c, pg_catalog.pg_class c2, pg_catalog.pg_index i
  LEFT JOIN pg_catalog.pg_constraint con ON (conrelid = i.indrelid AND conindid = i.indexrelid AND contype IN ('p','u','x'))
WHERE c.oid = '16385' AND c.oid = i.indrelid AND i.indexrelid = c2.oid
ORDER BY i.indisprimary DESC, c2.relname;"#;

const POLICIES: &str = r#"SELECT pol.polname, pol.polpermissive,
  CASE WHEN pol.polroles = '{0}' THEN NULL ELSE pg_catalog.array_to_string(array(select rolname from pg_catalog.pg_roles where oid = any (pol.polroles) order by 1),',') END,
  pg_catalog.pg_get_expr(pol.polqual, pol.polrelid),
  pg_catalog.pg_get_expr(pol.polwithcheck, pol.polrelid),
  CASE pol.polcmd
    WHEN 'r' THEN 'SELECT'
    WHEN 'a' THEN 'INSERT'
    WHEN 'w' THEN 'UPDATE'
    WHEN 'd' THEN 'DELETE'
    END AS cmd
FROM pg_catalog.pg_policy pol
WHERE pol.polrelid = '16385' ORDER BY 1;"#;

const STATISTICS: &str = r#"SELECT oid, stxrelid::pg_catalog.regclass, stxnamespace::pg_catalog.regnamespace::pg_catalog.text AS nsp, stxname,
pg_catalog.pg_get_statisticsobjdef_columns(oid) AS columns,
  'd' = any(stxkind) AS ndist_enabled,
  'f' = any(stxkind) AS deps_enabled,
  'm' = any(stxkind) AS mcv_enabled,
stxstattarget
FROM pg_catalog.pg_statistic_ext
WHERE stxrelid = '16385'
ORDER BY nsp, stxname;"#;

const PUBLICATIONS: &str = r#"SELECT pubname
     , NULL
     , NULL
FROM pg_catalog.pg_publication p
     JOIN pg_catalog.pg_publication_namespace pn ON p.oid = pn.pnpubid
     JOIN pg_catalog.pg_class pc ON pc.relnamespace = pn.pnnspid
WHERE pc.oid ='16385' and pg_catalog.pg_relation_is_publishable('16385')
UNION
SELECT pubname
     , pg_get_expr(pr.prqual, c.oid)
     , (CASE WHEN pr.prattrs IS NOT NULL THEN
         (SELECT string_agg(attname, ', ')
           FROM pg_catalog.generate_series(0, pg_catalog.array_upper(pr.prattrs::pg_catalog.int2[], 1)) s,
                pg_catalog.pg_attribute
          WHERE attrelid = pr.prrelid AND attnum = prattrs[s])
        ELSE NULL END) FROM pg_catalog.pg_publication p
     JOIN pg_catalog.pg_publication_rel pr ON p.oid = pr.prpubid
     JOIN pg_catalog.pg_class c ON c.oid = pr.prrelid
WHERE pr.prrelid = '16385'
UNION
SELECT pubname
     , NULL
     , NULL
FROM pg_catalog.pg_publication p
WHERE p.puballtables AND pg_catalog.pg_relation_is_publishable('16385')
ORDER BY 1;"#;

const PARENTS: &str = r#"SELECT c.oid::pg_catalog.regclass
FROM pg_catalog.pg_class c, pg_catalog.pg_inherits i
WHERE c.oid = i.inhparent AND i.inhrelid = '16385'
  AND c.relkind != 'p' AND c.relkind != 'I'
ORDER BY inhseqno;"#;

const CHILDREN: &str = r#"SELECT c.oid::pg_catalog.regclass, c.relkind, inhdetachpending, pg_catalog.pg_get_expr(c.relpartbound, c.oid)
FROM pg_catalog.pg_class c, pg_catalog.pg_inherits i
WHERE c.oid = i.inhrelid AND i.inhparent = '16385'
ORDER BY pg_catalog.pg_get_expr(c.relpartbound, c.oid) = 'DEFAULT', c.oid::pg_catalog.regclass::pg_catalog.text;"#;

const SCHEMAS: &str = r#"SELECT n.nspname AS "Name",
  pg_catalog.pg_get_userbyid(n.nspowner) AS "Owner"
FROM pg_catalog.pg_namespace n
WHERE n.nspname !~ '^pg_' AND n.nspname <> 'information_schema'
ORDER BY 1;"#;

const DATABASES: &str = r#"SELECT d.datname as "Name",
       pg_catalog.pg_get_userbyid(d.datdba) as "Owner",
       pg_catalog.pg_encoding_to_char(d.encoding) as "Encoding",
       d.datcollate as "Collate",
       d.datctype as "Ctype",
       d.daticulocale as "ICU Locale",
       CASE d.datlocprovider WHEN 'c' THEN 'libc' WHEN 'i' THEN 'icu' END AS "Locale Provider",
       pg_catalog.array_to_string(d.datacl, E'\n') AS "Access privileges"
FROM pg_catalog.pg_database d
ORDER BY 1;"#;

const DATABASES_VERBOSE: &str = r#"SELECT d.datname as "Name",
       pg_catalog.pg_get_userbyid(d.datdba) as "Owner",
       pg_catalog.pg_encoding_to_char(d.encoding) as "Encoding",
       d.datcollate as "Collate",
       d.datctype as "Ctype",
       d.daticulocale as "ICU Locale",
       CASE d.datlocprovider WHEN 'c' THEN 'libc' WHEN 'i' THEN 'icu' END AS "Locale Provider",
       pg_catalog.array_to_string(d.datacl, E'\n') AS "Access privileges",
       CASE WHEN pg_catalog.has_database_privilege(d.datname, 'CONNECT')
            THEN pg_catalog.pg_size_pretty(pg_catalog.pg_database_size(d.datname))
            ELSE 'No Access'
       END as "Size",
       t.spcname as "Tablespace",
       pg_catalog.shobj_description(d.oid, 'pg_database') as "Description"
FROM pg_catalog.pg_database d
  JOIN pg_catalog.pg_tablespace t on d.dattablespace = t.oid
ORDER BY 1;"#;

const INDEX_COLUMNS: &str = r#"SELECT a.attname,
  pg_catalog.format_type(a.atttypid, a.atttypmod),
  CASE WHEN a.attnum <= (SELECT i.indnkeyatts FROM pg_catalog.pg_index i WHERE i.indexrelid = '16780865') THEN 'yes' ELSE 'no' END AS is_key,
  pg_catalog.pg_get_indexdef(a.attrelid, a.attnum, TRUE) AS indexdef
FROM pg_catalog.pg_attribute a
WHERE a.attrelid = '16780865' AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY a.attnum;"#;

const INDEX_INFO: &str = r#"SELECT i.indisunique, i.indisprimary, i.indisclustered, i.indisvalid,
  (NOT i.indimmediate) AND EXISTS (SELECT 1 FROM pg_catalog.pg_constraint WHERE conrelid = i.indrelid AND conindid = i.indexrelid AND contype IN ('p','u','x') AND condeferrable) AS condeferrable,
  (NOT i.indimmediate) AND EXISTS (SELECT 1 FROM pg_catalog.pg_constraint WHERE conrelid = i.indrelid AND conindid = i.indexrelid AND contype IN ('p','u','x') AND condeferred) AS condeferred,
i.indisreplident,
i.indnullsnotdistinct,
  a.amname, c2.relname, pg_catalog.pg_get_expr(i.indpred, i.indrelid, true)
FROM pg_catalog.pg_index i, pg_catalog.pg_class c, pg_catalog.pg_class c2, pg_catalog.pg_am a
WHERE i.indexrelid = c.oid AND c.oid = '16780865' AND c.relam = a.oid
AND i.indrelid = c2.oid;"#;

const FUNCTIONS_LIST: &str = r#"SELECT n.nspname as "Schema",
  p.proname as "Name",
  pg_catalog.pg_get_function_result(p.oid) as "Result data type",
  pg_catalog.pg_get_function_arguments(p.oid) as "Argument data types",
 CASE p.prokind
  WHEN 'a' THEN 'agg'
  WHEN 'w' THEN 'window'
  WHEN 'p' THEN 'proc'
  ELSE 'func'
 END as "Type"
FROM pg_catalog.pg_proc p
     LEFT JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
WHERE pg_catalog.pg_function_is_visible(p.oid)
      AND n.nspname <> 'pg_catalog'
      AND n.nspname <> 'information_schema'
ORDER BY 1, 2, 4;"#;

#[tokio::test]
async fn dt_lists_user_tables() {
    assert_eq!(rows(LIST_TABLES).await, vec!["public|t|table|alice", "public|u|table|alice"]);
    assert_eq!(
        rows(LIST_TABLES_VERBOSE).await,
        vec!["public|t|table|alice|permanent|heap|0 bytes|", "public|u|table|alice|permanent|heap|0 bytes|"]
    );
    let (names, _) = try_rows(LIST_TABLES, &[]).await.unwrap();
    assert_eq!(names, vec!["Schema", "Name", "Type", "Owner"]);
}

#[tokio::test]
async fn di_lists_constraint_indexes() {
    assert_eq!(
        rows(LIST_INDEXES).await,
        vec!["public|t_code_key|index|alice|t", "public|t_pkey|index|alice|t", "public|u_a_b_key|index|alice|u"]
    );
}

#[tokio::test]
async fn d_table_queries_match_postgres() {
    assert_eq!(rows(FIND_RELATION).await, vec!["16385|public|t"]);
    assert_eq!(rows(TABLE_INFO).await, vec!["0|r|true|false|false|false|false|false|false||0||p|d|heap"]);
    assert_eq!(rows(TABLE_INFO_VERBOSE).await, vec!["0|r|true|false|false|false|false|false|false||0||p|d|heap"]);
    assert_eq!(
        rows(COLUMNS).await,
        vec![
            "id|integer|nextval('t_id_seq'::regclass)|true|||",
            "name|character varying(20)||true|||",
            "price|numeric(10,2)|0|false|||",
            "code|character(3)||false|||",
            "created|timestamp with time zone||false|||",
            "data|jsonb||false|||",
            "flag|boolean|true|false|||",
        ]
    );
    assert_eq!(
        rows(COLUMNS_VERBOSE).await,
        vec![
            "id|integer|nextval('t_id_seq'::regclass)|true||||p|||",
            "name|character varying(20)||true||||x|||",
            "price|numeric(10,2)|0|false||||m|||",
            "code|character(3)||false||||x|||",
            "created|timestamp with time zone||false||||p|||",
            "data|jsonb||false||||x|||",
            "flag|boolean|true|false||||p|||",
        ]
    );
    assert_eq!(
        rows(INDEXES).await,
        vec![
            "t_pkey|true|true|false|true|CREATE UNIQUE INDEX t_pkey ON t USING btree (id)|PRIMARY KEY (id)|p|false|false|false|0",
            "t_code_key|false|true|false|true|CREATE UNIQUE INDEX t_code_key ON t USING btree (code)|UNIQUE (code)|u|false|false|false|0",
        ]
    );
    for empty in [POLICIES, STATISTICS, PUBLICATIONS, PARENTS, CHILDREN] {
        assert_eq!(rows(empty).await, Vec::<String>::new(), "{empty}");
    }
}

#[tokio::test]
async fn d_index_queries_work() {
    let pkey = oids::index_oid(TableId(1), 0);
    assert_eq!(pkey, 16_780_865, "the fixture queries name the primary key index by this OID");
    assert_eq!(rows(INDEX_COLUMNS).await, vec!["id|integer|yes|id"]);
    assert_eq!(rows(INDEX_INFO).await, vec!["true|true|false|true|false|false|false|false|btree|t|"]);
}

#[tokio::test]
async fn dn_and_l_list_schemas_and_the_database() {
    assert_eq!(rows(SCHEMAS).await, vec!["public|pg_database_owner"]);
    assert_eq!(rows(DATABASES).await, vec!["shop|alice|UTF8|C.UTF-8|C.UTF-8||libc|"]);
    assert_eq!(rows(DATABASES_VERBOSE).await, vec!["shop|alice|UTF8|C.UTF-8|C.UTF-8||libc||0 bytes|pg_default|"]);
}

#[tokio::test]
async fn df_lists_no_user_functions() {
    assert_eq!(rows(FUNCTIONS_LIST).await, Vec::<String>::new());
}

#[tokio::test]
async fn connect_time_functions_answer_like_postgres() {
    let (names, values) =
        try_rows("SELECT version(), current_database(), current_user, session_user, current_schema()", &[])
            .await
            .unwrap();
    assert_eq!(names, vec!["version", "current_database", "current_user", "session_user", "current_schema"]);
    let row = &values[0];
    assert!(row.starts_with("PostgreSQL 15.0 (rhei "), "{row}");
    assert!(row.ends_with("|shop|alice|alice|public"), "{row}");
    assert_eq!(
        rows("SELECT pg_backend_pid(), pg_catalog.current_setting('timezone'), pg_is_in_recovery()").await,
        vec!["4242|UTC|false"]
    );
    // Beside a catalog function, format() and quote_literal are answered here too.
    assert_eq!(
        rows("SELECT format('%s=%s', current_setting('timezone'), quote_literal('it''s')), quote_literal(NULL) IS NULL").await,
        vec!["UTC='it''s'|true"]
    );
    // asyncpg's pool reset query, `SELECT pg_advisory_unlock_all()`, is the engine's now that
    // advisory locks exist (wire::advisory_locks_are_exclusive_waited_for_and_released).
    assert_eq!(
        rows("SELECT json_build_object('a', 1, 'b', 'x\"y', 'c', true, 'd', NULL), pg_collation_is_visible(100)").await,
        vec![r#"{"a" : 1, "b" : "x\"y", "c" : true, "d" : null}|true"#]
    );
    // SQLAlchemy's get_columns: identity options from pg_sequence (empty in rhei) through a
    // correlation DataFusion cannot decorrelate.
    assert_eq!(
        rows(
            "SELECT a.attname, CASE WHEN (a.attidentity != '') THEN (SELECT json_build_object('always', \
             a.attidentity = 'a', 'start', s.seqstart) FROM pg_catalog.pg_sequence s WHERE a.attidentity != '' \
             AND s.seqrelid = CAST(CAST(pg_catalog.pg_get_serial_sequence(CAST(CAST(a.attrelid AS REGCLASS) AS TEXT), \
             a.attname) AS REGCLASS) AS OID)) ELSE NULL END AS x, (SELECT count(*) FROM pg_catalog.pg_sequence) AS n \
             FROM pg_catalog.pg_class c JOIN pg_catalog.pg_attribute a ON c.oid = a.attrelid AND a.attnum > 0 \
             WHERE c.relname = 'u' ORDER BY a.attnum"
        )
        .await,
        vec!["a||0", "b||0"]
    );
    // SQLAlchemy names columns with schema and table (`pg_catalog.pg_attribute.attname`).
    assert_eq!(
        rows(
            "SELECT pg_catalog.pg_attribute.attname, CASE WHEN pg_catalog.pg_attribute.atthasdef THEN \
             (SELECT pg_catalog.pg_get_expr(pg_catalog.pg_attrdef.adbin, pg_catalog.pg_attrdef.adrelid) \
             FROM pg_catalog.pg_attrdef WHERE pg_catalog.pg_attribute.atthasdef \
             AND pg_catalog.pg_attrdef.adrelid = pg_catalog.pg_attribute.attrelid \
             AND pg_catalog.pg_attrdef.adnum = pg_catalog.pg_attribute.attnum) ELSE NULL END AS \"default\" \
             FROM pg_catalog.pg_class JOIN pg_catalog.pg_attribute ON pg_catalog.pg_class.oid = pg_catalog.pg_attribute.attrelid \
             AND pg_catalog.pg_attribute.attnum > 0 WHERE pg_catalog.pg_class.relname = 't' AND pg_catalog.pg_attribute.attnum < 4 \
             ORDER BY pg_catalog.pg_attribute.attnum"
        )
        .await,
        vec!["id|nextval('t_id_seq'::regclass)", "name|", "price|0"]
    );
    // SQLAlchemy's get_columns asks for each column's sequence.
    assert_eq!(
        rows("SELECT pg_get_serial_sequence('t', 'id'), pg_get_serial_sequence('public.t', 'name') IS NULL").await,
        vec!["public.t_id_seq|true"]
    );
    assert_eq!(try_rows("SELECT pg_get_serial_sequence('t', 'nope')", &[]).await.unwrap_err().sqlstate(), "42703");
    // psycopg 3's TypeInfo.fetch (SQLAlchemy looks up hstore at connect): NULL for no such type.
    let type_info = "SELECT typname AS name, oid, typarray AS array_oid, oid::regtype::text AS regtype, \
                     typdelim AS delimiter FROM pg_type t WHERE t.oid = to_regtype($1) ORDER BY t.oid";
    assert_eq!(try_rows(type_info, &[ScalarValue::Utf8(Some("hstore".into()))]).await.unwrap().1, Vec::<String>::new());
    assert_eq!(
        try_rows(type_info, &[ScalarValue::Utf8(Some("numeric".into()))]).await.unwrap().1,
        vec!["numeric|1700|1231|numeric|,"]
    );
    let err = try_rows("SELECT current_setting('no_such_setting')", &[]).await.unwrap_err();
    assert_eq!(err.sqlstate(), "42704");
}

#[tokio::test]
async fn information_schema_describes_tables_and_keys() {
    assert_eq!(
        rows("SELECT table_name, table_type FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1")
            .await,
        vec!["t|BASE TABLE", "u|BASE TABLE"]
    );
    assert_eq!(
        rows(
            "SELECT column_name, data_type, is_nullable, character_maximum_length, numeric_precision, numeric_scale, \
             column_default FROM information_schema.columns WHERE table_name = 't' ORDER BY ordinal_position"
        )
        .await,
        vec![
            "id|integer|NO||32|0|nextval('t_id_seq'::regclass)",
            "name|character varying|NO|20|||",
            "price|numeric|YES||10|2|0",
            "code|character|YES|3|||",
            "created|timestamp with time zone|YES||||",
            "data|jsonb|YES||||",
            "flag|boolean|YES||||true",
        ]
    );
    assert_eq!(
        rows(
            "SELECT tc.constraint_name, tc.constraint_type, k.column_name, k.ordinal_position \
             FROM information_schema.table_constraints tc JOIN information_schema.key_column_usage k \
             ON k.constraint_name = tc.constraint_name ORDER BY 1, 4"
        )
        .await,
        vec!["t_code_key|UNIQUE|code|1", "t_pkey|PRIMARY KEY|id|1", "u_a_b_key|UNIQUE|a|1", "u_a_b_key|UNIQUE|b|2"]
    );
    assert_eq!(
        rows("SELECT schema_name FROM information_schema.schemata ORDER BY 1").await,
        vec!["information_schema", "pg_catalog", "pg_toast", "public"]
    );
}

#[tokio::test]
async fn driver_style_queries_work() {
    // pgjdbc and friends: regclass literals, oid casts, ANY over int2vector, parameters.
    assert_eq!(
        rows(
            "SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid \
             AND a.attnum = ANY(i.indkey) WHERE i.indrelid = 'public.t'::regclass AND i.indisprimary"
        )
        .await,
        vec!["id"]
    );
    assert_eq!(
        rows("SELECT 'pg_class'::regclass::oid, 'varchar'::regtype::oid, 't'::regclass::text").await,
        vec!["1259|1043|t"]
    );
    assert_eq!(rows("SELECT typname FROM pg_type WHERE oid = 1700").await, vec!["numeric"]);
    let (_, values) =
        try_rows("SELECT relname FROM pg_class WHERE oid = $1", &[ScalarValue::Int64(Some(16386))]).await.unwrap();
    assert_eq!(values, vec!["u"]);
    let described =
        query("SELECT relname, relnatts FROM pg_catalog.pg_class WHERE relname = $1").describe().await.unwrap();
    assert_eq!(described.params, vec![Some(DataType::Utf8)]);
    let columns = described.columns.unwrap();
    assert_eq!(columns.field(0).name(), "relname");
    assert_eq!(columns.field(1).data_type(), &DataType::Int16);
    let err = try_rows("SELECT 'nope'::regclass", &[]).await.unwrap_err();
    assert_eq!(err.sqlstate(), "42P01");
    let err = try_rows("SELECT * FROM pg_catalog.pg_nonexistent", &[]).await.unwrap_err();
    assert_eq!(err.sqlstate(), "42P01");
}

/// SQLAlchemy's `get_pk_constraint` / `get_unique_constraints` number key columns with
/// `generate_subscripts` beside `unnest`; its `get_indexes` splits `indkey` on spaces.
#[tokio::test]
async fn sqlalchemy_key_columns_and_vectors() {
    assert_eq!(
        rows(
            "SELECT con.conname, unnest(i.indkey) AS attnum, generate_subscripts(i.indkey, 1) AS ord \
             FROM pg_catalog.pg_constraint con JOIN pg_catalog.pg_index i ON con.conindid = i.indexrelid \
             WHERE con.contype = 'u' AND con.conrelid = 'u'::regclass"
        )
        .await,
        vec!["u_a_b_key|1|1", "u_a_b_key|2|2"]
    );
    assert_eq!(
        try_rows("SELECT generate_subscripts(i.indkey, $1) FROM pg_catalog.pg_index i WHERE i.indrelid = 'u'::regclass", &[ScalarValue::Int32(Some(2))])
            .await
            .unwrap()
            .1,
        Vec::<String>::new(),
        "a one-dimensional array has no second dimension"
    );
    assert_eq!(
        rows("SELECT i.indkey, i.indoption FROM pg_catalog.pg_index i WHERE i.indrelid = 'u'::regclass").await,
        vec!["1 2|0 0"]
    );
    let (_, no_default_opclasses) = try_rows("SELECT oid, opcname FROM pg_catalog.pg_opclass WHERE NOT opcdefault", &[]).await.unwrap();
    assert_eq!(no_default_opclasses, Vec::<String>::new());
}


/// asyncpg's type introspection (`asyncpg.introspection.INTRO_LOOKUP_TYPES_13`, which it runs
/// for every type it has no codec for, `int4[]` say): a recursive CTE with a column list, CASE
/// branches whose subqueries DataFusion cannot plan (domains and composite types, which rhei
/// has none of), `pg_range`, and an `oid[]` parameter it must be told is `oid[]`.
/// asyncpg's `_TYPEINFO_13`, which its query below reads twice.
macro_rules! asyncpg_typeinfo {
    () => {
        r#"    (
        SELECT
            t.oid                           AS oid,
            ns.nspname                      AS ns,
            t.typname                       AS name,
            t.typtype                       AS kind,
            (CASE WHEN t.typtype = 'd' THEN
                (WITH RECURSIVE typebases(oid, depth) AS (
                    SELECT
                        t2.typbasetype      AS oid,
                        0                   AS depth
                    FROM
                        pg_type t2
                    WHERE
                        t2.oid = t.oid

                    UNION ALL

                    SELECT
                        t2.typbasetype      AS oid,
                        tb.depth + 1        AS depth
                    FROM
                        pg_type t2,
                        typebases tb
                    WHERE
                       tb.oid = t2.oid
                       AND t2.typbasetype != 0
               ) SELECT oid FROM typebases ORDER BY depth DESC LIMIT 1)

               ELSE NULL
            END)                            AS basetype,
            t.typelem                       AS elemtype,
            elem_t.typdelim                 AS elemdelim,
            range_t.rngsubtype              AS range_subtype,
            (CASE WHEN t.typtype = 'c' THEN
                (SELECT
                    array_agg(ia.atttypid ORDER BY ia.attnum)
                FROM
                    pg_attribute ia
                    INNER JOIN pg_class c
                        ON (ia.attrelid = c.oid)
                WHERE
                    ia.attnum > 0 AND NOT ia.attisdropped
                    AND c.reltype = t.oid)

                ELSE NULL
            END)                            AS attrtypoids,
            (CASE WHEN t.typtype = 'c' THEN
                (SELECT
                    array_agg(ia.attname::text ORDER BY ia.attnum)
                FROM
                    pg_attribute ia
                    INNER JOIN pg_class c
                        ON (ia.attrelid = c.oid)
                WHERE
                    ia.attnum > 0 AND NOT ia.attisdropped
                    AND c.reltype = t.oid)

                ELSE NULL
            END)                            AS attrnames
        FROM
            pg_catalog.pg_type AS t
            INNER JOIN pg_catalog.pg_namespace ns ON (
                ns.oid = t.typnamespace)
            LEFT JOIN pg_type elem_t ON (
                t.typlen = -1 AND
                t.typelem != 0 AND
                t.typelem = elem_t.oid
            )
            LEFT JOIN pg_range range_t ON (
                t.oid = range_t.rngtypid
            )
    )
"#
    };
}
const ASYNCPG_INTROSPECTION: &str = concat!(
    r#"WITH RECURSIVE typeinfo_tree(
    oid, ns, name, kind, basetype, elemtype, elemdelim,
    range_subtype, attrtypoids, attrnames, depth)
AS (
    SELECT
        ti.oid, ti.ns, ti.name, ti.kind, ti.basetype,
        ti.elemtype, ti.elemdelim, ti.range_subtype,
        ti.attrtypoids, ti.attrnames, 0
    FROM
        "#,
    asyncpg_typeinfo!(),
    r#" AS ti
    WHERE
        ti.oid = any($1::oid[])

    UNION ALL

    SELECT
        ti.oid, ti.ns, ti.name, ti.kind, ti.basetype,
        ti.elemtype, ti.elemdelim, ti.range_subtype,
        ti.attrtypoids, ti.attrnames, tt.depth + 1
    FROM
        "#,
    asyncpg_typeinfo!(),
    r#" ti,
        typeinfo_tree tt
    WHERE
        (tt.elemtype IS NOT NULL AND ti.oid = tt.elemtype)
        OR (tt.attrtypoids IS NOT NULL AND ti.oid = any(tt.attrtypoids))
        OR (tt.range_subtype IS NOT NULL AND ti.oid = tt.range_subtype)
        OR (tt.basetype IS NOT NULL AND ti.oid = tt.basetype)
)

SELECT DISTINCT
    *,
    basetype::regtype::text AS basetype_name,
    elemtype::regtype::text AS elemtype_name,
    range_subtype::regtype::text AS range_subtype_name
FROM
    typeinfo_tree
ORDER BY
    depth DESC
"#
);

#[tokio::test]
async fn asyncpg_type_introspection() {
    let described = query(ASYNCPG_INTROSPECTION).describe().await.unwrap();
    let oid_list = DataType::new_list(DataType::Int64, true);
    assert_eq!(described.params, vec![Some(oid_list.clone())]);
    assert_eq!(param_type(described.params[0].as_ref()), Type::OID_ARRAY);
    // An array of OIDs is an oid[] (asyncpg knows it without asking), not an int8[].
    let aggregated = query("SELECT array_agg(oid ORDER BY oid) AS oids FROM pg_catalog.pg_type WHERE oid IN (23, 25)");
    let columns = aggregated.describe().await.unwrap().columns.unwrap();
    assert_eq!(crate::encode::pg_type_of(columns.field(0)).0, Type::OID_ARRAY);
    let int4_array = ScalarValue::List(ScalarValue::new_list_nullable(&[ScalarValue::Int64(Some(1007))], &DataType::Int64));
    let (_, rows) = try_rows(ASYNCPG_INTROSPECTION, &[int4_array]).await.unwrap();
    // oid|ns|name|kind|basetype|elemtype|elemdelim|range_subtype|attrtypoids|attrnames|depth|...
    assert_eq!(
        rows,
        vec![
            "23|pg_catalog|int4|b||0|||||1||-|",
            "1007|pg_catalog|_int4|b||23|,||||0||integer|",
        ]
    );
}

/// `set_config(name, value, is_local)` gives the value back and changes the session's setting
/// once the query is done (asyncpg turns `jit` off around its introspection so).
#[tokio::test]
async fn set_config_is_recorded_for_the_session() {
    let q = query("SELECT current_setting('TimeZone') AS cur, set_config('jit', 'off', false) AS new");
    let (_, batches) = q.run(&[]).await.unwrap();
    assert_eq!(batches.iter().map(RecordBatch::num_rows).sum::<usize>(), 1);
    let recorded = q.model.set_configs.lock().unwrap().clone();
    assert_eq!(recorded, vec![model::SettingChange { name: "jit".into(), value: "off".into(), is_local: false }]);
    let err = try_rows("SELECT set_config(NULL, 'x', false)", &[]).await.unwrap_err();
    assert_eq!(err.sqlstate(), "22004");
}

/// A CASE branch is emptied only when the row it reads is this select's and no row of that
/// catalog holds the text: an inner query reusing an outer alias (`c` for pg_class outside,
/// pg_constraint inside) keeps its branch, and so does a comparison with a non-text column.
#[tokio::test]
async fn case_branches_are_pruned_only_for_their_own_rows() {
    assert_eq!(
        rows(
            "SELECT c.relname, (SELECT max(CASE WHEN c.contype = 'p' THEN 'pk' END) FROM pg_catalog.pg_constraint c \
             WHERE c.conrelid = 't'::regclass) AS k, CASE WHEN c.relkind = 'r' THEN 'table' END AS kind, \
             CASE WHEN c.relkind = 'm' THEN 'matview' ELSE 'other' END AS never \
             FROM pg_catalog.pg_class c WHERE c.relname = 't'"
        )
        .await,
        vec!["t|pk|table|other"]
    );
    assert_eq!(rows("SELECT CASE WHEN t.oid = '23' THEN t.typname END FROM pg_catalog.pg_type t WHERE t.oid = 23").await, vec!["int4"]);
}
