-- Metabase PostgreSQL driver - connection test and sync SQL (metabase/metabase master-era sources; PostgreSQL 15)
-- JDBC DatabaseMetaData usage: the :postgres driver supports :describe-fields, :describe-fks and :table-privileges,
-- so sync does NOT call getTables/getColumns/getPrimaryKeys/getImportedKeys for Postgres. The only DatabaseMetaData
-- call that reaches SQL is getSchemas() (entry below). getDatabaseProductVersion (dbms-version step) uses the
-- server_version ParameterStatus, no SQL. The generic sql-jdbc fallbacks in describe_table.clj - getColumns
-- (jdbc-fields-metadata), getPrimaryKeys (get-table-pks), getImportedKeys (describe-table-fks*), getIndexInfo
-- (describe-table-indexes) and describe_database.clj getTables (db-tables, types TABLE/PARTITIONED TABLE/VIEW/
-- FOREIGN TABLE/MATERIALIZED VIEW/EXTERNAL TABLE/DYNAMIC_TABLE) are what older Metabase versions or drivers
-- without those features send; their exact SQL is in pgjdbc.sql.
-- Not listed: analyze/fingerprint/field-values queries (ordinary SELECTs over the user tables built by the query processor).
-- Format: one statement per entry. Each entry starts with a "-- [n] source:" comment line,
-- then "-- essential" or "-- optional", then further "--" notes, then the statement text.
-- We append exactly one ';' to terminate each statement. If the original source string itself
-- ends in ';' the entry is marked "-- source-text-ends-with-semicolon" and we do NOT append one,
-- i.e. the final ';' IS part of the original text. An entry marked "-- empty-query" stands for a
-- zero-length query string "" (the file shows only ';').
-- Bind parameters ($1, $2, ...) have been replaced by literals; the original bind is listed in a
-- "-- binds:" line. Values substituted for string-concatenated arguments are listed in "-- args:".
-- Test schema: public (oid 2200); customers(id int PK, name text NOT NULL UNIQUE) oid 16384;
-- orders(id bigint PK, customer_id int REFERENCES customers(id), total numeric(10,2),
-- created_at timestamptz) oid 16390. OIDs of user tables are assumed values.

-- [1] source: pgjdbc/pgjdbc pgjdbc/src/main/java/org/postgresql/core/v3/ConnectionFactoryImpl.java :: runInitialQueries (every new pooled or test connection)
-- essential
-- Metabase connects through pgjdbc (bundled 42.x). Connection spec from metabase.db.spec/spec :postgres sets
-- OpenSourceSubProtocolOverride=true and ApplicationName=config/mb-version-and-process-identifier, plus sslmode=disable
-- when SSL is off (connection-details->spec :postgres in postgres.clj).
SET extra_float_digits = 3;

-- [2] source: pgjdbc/pgjdbc pgjdbc/src/main/java/org/postgresql/core/v3/ConnectionFactoryImpl.java :: runInitialQueries
-- essential
-- args: ApplicationName = "Metabase <version> [<process uuid>]" (example value).
SET application_name = 'Metabase v0.50.0 [c7b5e9a2-1c3d-4e5f-8a9b-0123456789ab]';

-- [3] source: metabase/metabase src/metabase/driver/sql_jdbc/connection.clj :: can-connect-with-spec? (driver/can-connect? :sql-jdbc, 'Test connection' / save database)
-- essential
-- clojure.java.jdbc/query on an unpooled spec (with-connection-spec-for-testing-connection); expects one row whose
-- single column equals 1 (int4).
SELECT 1;

-- [4] source: metabase/metabase src/metabase/driver/sql_jdbc/connection.clj + c3p0 :: data-warehouse-connection-pool-properties testConnectionOnCheckout=true -> PgConnection.isValid
-- essential
-- c3p0 has no preferredTestQuery, so it calls Connection.isValid(), which pgjdbc implements as an empty prepared query.
-- Sent on every checkout from the pool (before each sync step/query). Server must reply EmptyQueryResponse.
-- empty-query
;

-- [5] source: metabase/metabase src/metabase/driver/sql_jdbc/execute.clj :: set-default-connection-options! -> set-best-transaction-level! -> Connection.setTransactionIsolation
-- optional
-- pgjdbc DatabaseMetaData.supportsTransactionIsolationLevel(READ_UNCOMMITTED) is true, so Metabase always asks for it
-- (SQL text built by PgConnection.setTransactionIsolation). Errors are caught and only logged.
-- Then .setReadOnly true / .setAutoCommit true / .setHoldability send nothing with pgjdbc's default readOnlyMode=transaction.
SET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL READ UNCOMMITTED;

-- [6] source: metabase/metabase src/metabase/driver/postgres.clj :: driver/db-default-timezone :postgres (sync-timezone step)
-- optional
-- PreparedStatement text includes the trailing ';' (shown as part of the text).
-- source-text-ends-with-semicolon
show timezone;

-- [7] source: pgjdbc/pgjdbc pgjdbc/src/main/java/org/postgresql/jdbc/PgDatabaseMetaData.java :: getSchemas() via driver/syncable-schemas :sql-jdbc -> filtered-syncable-schemas -> describe-database/all-schemas
-- essential
-- JDBC DatabaseMetaData.getSchemas() (pgjdbc SQL). Metabase then drops information_schema, pg_catalog and metabase_cache*
-- schemas client-side and applies the schema-filters setting.
SELECT nspname AS TABLE_SCHEM, NULL AS TABLE_CATALOG FROM pg_catalog.pg_namespace  WHERE nspname <> 'pg_toast' AND (nspname !~ '^pg_temp_'  OR nspname = (pg_catalog.current_schemas(true))[1]) AND (nspname !~ '^pg_toast_temp_'  OR nspname = replace((pg_catalog.current_schemas(true))[1], 'pg_temp_', 'pg_toast_temp_'))  ORDER BY TABLE_SCHEM;

-- [8] source: metabase/metabase src/metabase/driver/postgres.clj :: sql-jdbc.sync/current-user-table-privileges :postgres (via describe-database/have-privilege-fn; also the sync-table-privileges step)
-- essential
-- Joined with "\n" exactly as str/join does (no trailing newline). Tables only get synced if select=true here
-- (foreign tables fall back to the probe query below). Unusual: reserved words used as column aliases after AS
-- (as role/schema/table/update/select/insert/delete), CTE, UNION, has_any_column_privilege(name, text, text) and
-- has_table_privilege/has_schema_privilege with a text object name built by || concatenation, current_user (no parens).
with table_privileges as (
 select
   NULL as role,
   t.schemaname as schema,
   t.objectname as table,
   pg_catalog.has_any_column_privilege(current_user, '"' || replace(t.schemaname, '"', '""') || '"' || '.' || '"' || replace(t.objectname, '"', '""') || '"',  'update') as update,
   pg_catalog.has_any_column_privilege(current_user, '"' || replace(t.schemaname, '"', '""') || '"' || '.' || '"' || replace(t.objectname, '"', '""') || '"',  'select') as select,
   pg_catalog.has_any_column_privilege(current_user, '"' || replace(t.schemaname, '"', '""') || '"' || '.' || '"' || replace(t.objectname, '"', '""') || '"',  'insert') as insert,
   pg_catalog.has_table_privilege(     current_user, '"' || replace(t.schemaname, '"', '""') || '"' || '.' || '"' || replace(t.objectname, '"', '""') || '"',  'delete') as delete
 from (
   select schemaname, tablename as objectname from pg_catalog.pg_tables
   union
   select schemaname, viewname as objectname from pg_catalog.pg_views
   union
   select schemaname, matviewname as objectname from pg_catalog.pg_matviews
 ) t
 where t.schemaname !~ '^pg_'
   and t.schemaname <> 'information_schema'
   and pg_catalog.has_schema_privilege(current_user, t.schemaname, 'usage')
)
select t.*
from table_privileges t;

-- [9] source: metabase/metabase src/metabase/driver/postgres.clj :: get-tables-sql (driver/describe-database* :postgres -> describe-syncable-tables)
-- essential
-- Rendered from the HoneySQL 2 form in the source (sql/format with :dialect => quoted "identifiers", function names upper-cased, numbers/strings become JDBC bind parameters, each AND/OR operand parenthesized, [:raw ...] copied verbatim); no live capture was available to byte-compare, so treat whitespace/paren placement as best-effort.
-- binds: $1=0 (objsubid), $2='^pg_', $3='information_schema', $4='public' (one ? per syncable schema).
-- !~ is an infix operator because postgres.clj requires honey.sql.pg-ops. Unusual: simple CASE on relkind ("char"),
-- 'pg_class'::regclass, join to the pg_stat_user_tables view (n_live_tup used as estimated row count).
SELECT "n"."nspname" AS "schema", "c"."relname" AS "name", CASE "c"."relkind" WHEN 'r' THEN 'TABLE' WHEN 'p' THEN 'PARTITIONED TABLE' WHEN 'v' THEN 'VIEW' WHEN 'f' THEN 'FOREIGN TABLE' WHEN 'm' THEN 'MATERIALIZED VIEW' ELSE NULL END AS "type", "d"."description" AS "description", "stat"."n_live_tup" AS "estimated_row_count" FROM "pg_catalog"."pg_class" AS "c" INNER JOIN "pg_catalog"."pg_namespace" AS "n" ON "c"."relnamespace" = "n"."oid" LEFT JOIN "pg_catalog"."pg_description" AS "d" ON ("c"."oid" = "d"."objoid") AND ("d"."objsubid" = 0) AND ("d"."classoid" = 'pg_class'::regclass) LEFT JOIN "pg_stat_user_tables" AS "stat" ON ("n"."nspname" = "stat"."schemaname") AND ("c"."relname" = "stat"."relname") WHERE ("c"."relnamespace" = "n"."oid") AND ("n"."nspname" !~ '^pg_') AND ("n"."nspname" <> 'information_schema') AND c.relkind in ('r', 'p', 'v', 'f', 'm') AND ("n"."nspname" IN ('public')) ORDER BY "type" ASC, "schema" ASC, "name" ASC;

-- [10] source: metabase/metabase src/metabase/driver/sql_jdbc/sync/describe_database.clj :: simple-select-probe-query / have-select-privilege? (only for [:postgres "FOREIGN TABLE"] rows)
-- optional
-- Rendered from the HoneySQL 2 form in the source (sql/format with :dialect => quoted "identifiers", function names upper-cased, numbers/strings become JDBC bind parameters, each AND/OR operand parenthesized, [:raw ...] copied verbatim); no live capture was available to byte-compare, so treat whitespace/paren placement as best-effort.
-- Doc string form: SELECT TRUE FROM public.my_table WHERE 1 <> 1 LIMIT 0. 15 s query timeout.
-- Older Metabase versions (no :table-privileges feature) ran this probe for every table.
SELECT TRUE AS "_" FROM "public"."orders" WHERE 1 <> 1 LIMIT 0;

-- [11] source: metabase/metabase src/metabase/driver/postgres.clj :: enum-types (sql-jdbc.sync/describe-fields-pre-process-xf :postgres; also dynamic-database-types-lookup)
-- essential
-- Run with clojure.java.jdbc/query on the pooled spec before each describe-fields reduction.
SELECT nspname, typname FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace WHERE t.oid IN (SELECT DISTINCT enumtypid FROM pg_enum e);

-- [12] source: metabase/metabase src/metabase/driver/postgres.clj :: sql-jdbc.sync/describe-fields-sql :postgres (driver/describe-fields, sync-fields step)
-- essential
-- Rendered from the HoneySQL 2 form in the source (sql/format with :dialect => quoted "identifiers", function names upper-cased, numbers/strings become JDBC bind parameters, each AND/OR operand parenthesized, [:raw ...] copied verbatim); no live capture was available to byte-compare, so treat whitespace/paren placement as best-effort.
-- binds: $1='public' (schema-names, branch 1), $2='public' (schema-names, branch 2). When sync passes table-names too,
-- ' AND ("c"."table_name" IN (?, ?))' / ' AND ("pc"."relname" IN (?, ?))' are appended to the respective WHERE.
-- All [:inline ...] literals ('public', 'pg_catalog', '%s', 'null', 'NO', 'PRIMARY KEY', 'm', 1) are literal SQL, not binds.
-- A hand-formatted copy of this exact query (single schema shown as = 'public') is in xtdb's metabase pgwire test.
-- Depends on information_schema.columns (udt_schema, udt_name, ordinal_position, column_default, is_nullable, is_identity),
-- information_schema.table_constraints / key_column_usage. Unusual: quoted aliases with '-' and '?' ("pk?"),
-- format('%I.%I', ...)::regclass::oid (CAST(CAST(... AS REGCLASS) AS OID)), col_description(oid, int), UNION ALL + ORDER BY alias.
SELECT "c"."column_name" AS "name", CASE WHEN "c"."udt_schema" IN ('public', 'pg_catalog') THEN FORMAT('%s', "c"."udt_name") ELSE FORMAT('"%s"."%s"', "c"."udt_schema", "c"."udt_name") END AS "database-type", "c"."ordinal_position" - 1 AS "database-position", "c"."table_schema" AS "table-schema", "c"."table_name" AS "table-name", "pk"."column_name" IS NOT NULL AS "pk?", COL_DESCRIPTION(CAST(CAST(FORMAT('%I.%I', CAST("c"."table_schema" AS TEXT), CAST("c"."table_name" AS TEXT)) AS REGCLASS) AS OID), "c"."ordinal_position") AS "field-comment", (("column_default" IS NULL) OR (LOWER("column_default") = 'null')) AND ("is_nullable" = 'NO') AND NOT ((("column_default" IS NOT NULL) AND ("column_default" LIKE '%nextval(%')) OR ("is_identity" <> 'NO')) AS "database-required", (("column_default" IS NOT NULL) AND ("column_default" LIKE '%nextval(%')) OR ("is_identity" <> 'NO') AS "database-is-auto-increment" FROM "information_schema"."columns" AS "c" LEFT JOIN (SELECT "tc"."table_schema", "tc"."table_name", "kc"."column_name" FROM "information_schema"."table_constraints" AS "tc" INNER JOIN "information_schema"."key_column_usage" AS "kc" ON ("tc"."constraint_name" = "kc"."constraint_name") AND ("tc"."table_schema" = "kc"."table_schema") AND ("tc"."table_name" = "kc"."table_name") WHERE "tc"."constraint_type" = 'PRIMARY KEY') AS "pk" ON ("c"."table_schema" = "pk"."table_schema") AND ("c"."table_name" = "pk"."table_name") AND ("c"."column_name" = "pk"."column_name") WHERE c.table_schema !~ '^information_schema|catalog_history|pg_' AND ("c"."table_schema" IN ('public')) UNION ALL SELECT "pa"."attname" AS "name", CASE WHEN "ptn"."nspname" IN ('public', 'pg_catalog') THEN FORMAT('%s', "pt"."typname") ELSE FORMAT('"%s"."%s"', "ptn"."nspname", "pt"."typname") END AS "database-type", "pa"."attnum" - 1 AS "database-position", "pn"."nspname" AS "table-schema", "pc"."relname" AS "table-name", FALSE AS "pk?", NULL AS "field-comment", FALSE AS "database-required", FALSE AS "database-is-auto-increment" FROM "pg_catalog"."pg_class" AS "pc" INNER JOIN "pg_catalog"."pg_namespace" AS "pn" ON "pn"."oid" = "pc"."relnamespace" INNER JOIN "pg_catalog"."pg_attribute" AS "pa" ON "pa"."attrelid" = "pc"."oid" INNER JOIN "pg_catalog"."pg_type" AS "pt" ON "pt"."oid" = "pa"."atttypid" INNER JOIN "pg_catalog"."pg_namespace" AS "ptn" ON "ptn"."oid" = "pt"."typnamespace" WHERE ("pc"."relkind" = 'm') AND ("pa"."attnum" >= 1) AND ("pn"."nspname" IN ('public')) ORDER BY "table-schema" ASC, "table-name" ASC, "database-position" ASC;

-- [13] source: metabase/metabase src/metabase/driver/postgres.clj :: sql-jdbc.sync/describe-fks-sql :postgres (driver/describe-fks, sync-fks step)
-- optional
-- Rendered from the HoneySQL 2 form in the source (sql/format with :dialect => quoted "identifiers", function names upper-cased, numbers/strings become JDBC bind parameters, each AND/OR operand parenthesized, [:raw ...] copied verbatim); no live capture was available to byte-compare, so treat whitespace/paren placement as best-effort.
-- binds: $1='public'. With table-names: ' AND ("fk_table"."relname" IN (...))' comes BEFORE the schema predicate.
-- Select list comes from (vec {...}) of a 6-entry array-map, so insertion order is kept.
-- Unusual: 'f'::char cast, = ANY(int2[] column) (ANY over conkey/confkey), unqualified pg_catalog tables.
-- NOTE: this pairs every FK column with every referenced column (cartesian for multi-column FKs) - Metabase's own query.
SELECT "fk_ns"."nspname" AS "fk-table-schema", "fk_table"."relname" AS "fk-table-name", "fk_column"."attname" AS "fk-column-name", "pk_ns"."nspname" AS "pk-table-schema", "pk_table"."relname" AS "pk-table-name", "pk_column"."attname" AS "pk-column-name" FROM "pg_constraint" AS "c" INNER JOIN "pg_class" AS "fk_table" ON "c"."conrelid" = "fk_table"."oid" INNER JOIN "pg_namespace" AS "fk_ns" ON "c"."connamespace" = "fk_ns"."oid" INNER JOIN "pg_attribute" AS "fk_column" ON "c"."conrelid" = "fk_column"."attrelid" INNER JOIN "pg_class" AS "pk_table" ON "c"."confrelid" = "pk_table"."oid" INNER JOIN "pg_namespace" AS "pk_ns" ON "pk_table"."relnamespace" = "pk_ns"."oid" INNER JOIN "pg_attribute" AS "pk_column" ON "c"."confrelid" = "pk_column"."attrelid" WHERE fk_ns.nspname !~ '^information_schema|catalog_history|pg_' AND ("c"."contype" = 'f'::char) AND ("fk_column"."attnum" = ANY(c.conkey)) AND ("pk_column"."attnum" = ANY(c.confkey)) AND ("fk_ns"."nspname" IN ('public')) ORDER BY "fk-table-schema" ASC, "fk-table-name" ASC;

-- [14] source: metabase/metabase src/metabase/driver/postgres.clj :: sql-jdbc.sync/describe-indexes-sql :postgres (driver/describe-indexes)
-- optional
-- Rendered from the HoneySQL 2 form in the source (sql/format with :dialect => quoted "identifiers", function names upper-cased, numbers/strings become JDBC bind parameters, each AND/OR operand parenthesized, [:raw ...] copied verbatim); no live capture was available to byte-compare, so treat whitespace/paren placement as best-effort.
-- Least certain rendering: how HoneySQL prints a dotted function keyword (:pg_catalog.pg_get_indexdef) and the
-- [:. [:composite f] :n] field access ( (f(x)).n vs (f(x))."n" ). binds: $1='public', $2=1.
-- Only used when the :index-info feature is on; postgres.clj comments it out ('Index sync is turned off'), so normal
-- syncs do not send this.
SELECT "tmp"."table-schema", "tmp"."table-name", TRIM(BOTH '"' FROM PG_CATALOG.PG_GET_INDEXDEF("tmp"."ci_oid", "tmp"."pos", FALSE)) AS "field-name" FROM (SELECT "n"."nspname" AS "table-schema", "ct"."relname" AS "table-name", "ci"."oid" AS "ci_oid", (INFORMATION_SCHEMA._PG_EXPANDARRAY("i"."indkey"))."n" AS "pos" FROM "pg_catalog"."pg_class" AS "ct" INNER JOIN "pg_catalog"."pg_namespace" AS "n" ON "ct"."relnamespace" = "n"."oid" INNER JOIN "pg_catalog"."pg_index" AS "i" ON "ct"."oid" = "i"."indrelid" INNER JOIN "pg_catalog"."pg_class" AS "ci" ON "ci"."oid" = "i"."indexrelid" WHERE (PG_CATALOG.PG_GET_EXPR("i"."indpred", "i"."indrelid") IS NULL) AND n.nspname !~ '^information_schema|catalog_history|pg_' AND ("n"."nspname" IN ('public'))) AS "tmp" WHERE "tmp"."pos" = 1;
