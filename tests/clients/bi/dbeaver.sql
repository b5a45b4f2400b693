-- DBeaver PostgreSQL plugin (dbeaver/dbeaver plugins/org.jkiss.dbeaver.ext.postgresql) - connect + navigator SQL for PostgreSQL 15
-- Order follows a real connect: pgjdbc startup, context defaults, database info, settings, dialect keywords,
-- version/feature probes, data types; then expanding schema 'public' and table 'orders' (oid 16390).
-- Connection database assumed 'postgres'. Sources: PostgreSchema.java (2024 header), PostgreDataSource.java (2024/25),
-- PostgreDatabase.java (2021 header; the query texts used here are unchanged in the 25.1.5 capture), PostgreTableReal.java.
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

-- [1] source: pgjdbc/pgjdbc pgjdbc/src/main/java/org/postgresql/core/v3/ConnectionFactoryImpl.java :: runInitialQueries
-- essential
-- DBeaver uses pgjdbc (42.7.x in 25.x). Sent on every physical connection DBeaver opens (Main + Metadata contexts).
-- Confirmed (modulo newline->space and bind inlining) by a DBeaver 25.1.5 session capture stored in a datafusion-postgres test (DBEAVER_QUERIES).
SET extra_float_digits = 3;

-- [2] source: pgjdbc/pgjdbc pgjdbc/src/main/java/org/postgresql/core/v3/ConnectionFactoryImpl.java :: runInitialQueries
-- essential
-- Confirmed (modulo newline->space and bind inlining) by a DBeaver 25.1.5 session capture stored in a datafusion-postgres test (DBEAVER_QUERIES).
SET application_name = 'PostgreSQL JDBC Driver';

-- [3] source: dbeaver/dbeaver plugins/org.jkiss.dbeaver.ext.postgresql/src/org/jkiss/dbeaver/ext/postgresql/model/PostgreDataSource.java :: PostgreDataSource.openConnection -> Connection.setClientInfo("ApplicationName", DBUtils.getClientApplicationName(...))
-- optional
-- Exceptions are swallowed ('just ignore'). Metadata context sends 'DBeaver 25.1.5 - Metadata <postgres>'.
-- Skipped if META_CLIENT_NAME_DISABLE is set. Confirmed (modulo newline->space and bind inlining) by a DBeaver 25.1.5 session capture stored in a datafusion-postgres test (DBEAVER_QUERIES).
SET application_name = 'DBeaver 25.1.5 - Main <postgres>';

-- [4] source: dbeaver/dbeaver plugins/org.jkiss.dbeaver.ext.postgresql/src/org/jkiss/dbeaver/ext/postgresql/model/PostgreDataSource.java :: PostgreDataSource.getInternalConnectionProperties (read-only connection)
-- optional
-- Only if the connection is flagged read-only: DBeaver passes readOnly=true, readOnlyMode=always to pgjdbc.
SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY;

-- [5] source: dbeaver/dbeaver plugins/org.jkiss.dbeaver.ext.postgresql/src/org/jkiss/dbeaver/ext/postgresql/model/PostgreExecutionContext.java :: PostgreExecutionContext.refreshDefaults (called from PostgreDataSource.initializeContextState)
-- essential
-- Prepared statement (no binds). Confirmed (modulo newline->space and bind inlining) by a DBeaver 25.1.5 session capture stored in a datafusion-postgres test (DBEAVER_QUERIES).
SELECT current_schema(),session_user;

-- [6] source: dbeaver/dbeaver plugins/org.jkiss.dbeaver.ext.postgresql/src/org/jkiss/dbeaver/ext/postgresql/model/PostgreDatabase.java :: PostgreDatabase.SchemaCache.prepareLookupStatement (getSchema -> schemaCache.getAllObjects)
-- essential
-- No schema filter configured. With navigator schema filters: JDBCUtils.appendFilterClause adds a WHERE on nspname
-- (with ? binds; pg_catalog is always included). Reads columns oid, nspname, nspowner, nspacl (aclitem[]) and description.
-- Unusual: 'pg_namespace'::regclass, n.oid listed explicitly AND via n.* (duplicate column name 'oid').
-- Confirmed (modulo newline->space and bind inlining) by a DBeaver 25.1.5 session capture stored in a datafusion-postgres test (DBEAVER_QUERIES).
SELECT n.oid,n.*,d.description FROM pg_catalog.pg_namespace n
LEFT OUTER JOIN pg_catalog.pg_description d ON d.objoid=n.oid AND d.objsubid=0 AND d.classoid='pg_namespace'::regclass
 ORDER BY nspname;

-- [7] source: pgjdbc/pgjdbc pgjdbc/src/main/java/org/postgresql/jdbc/TypeInfoCache.java :: TypeInfoCache.getPGType(int) - triggered by JDBCUtils.safeGetObject(nspacl)
-- essential
-- binds: $1=1034 (aclitem[]). pgjdbc needs the type name for a column type it does not have built in. Confirmed (modulo newline->space and bind inlining) by a DBeaver 25.1.5 session capture stored in a datafusion-postgres test (DBEAVER_QUERIES).
SELECT n.nspname = ANY(current_schemas(true)), n.nspname, t.typname FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace n ON t.typnamespace = n.oid WHERE t.oid = 1034;

-- [8] source: pgjdbc/pgjdbc pgjdbc/src/main/java/org/postgresql/jdbc/TypeInfoCache.java :: TypeInfoCache.getSQLType(int)
-- essential
-- binds: $1=1034 (int8). Text as captured from DBeaver 25.1.5's bundled pgjdbc (no trailing ';'; pgjdbc 42.5/42.6 append ';').
-- Similar pairs follow for other non-built-in OIDs DBeaver reads with getObject, e.g. 22 int2vector / 30 oidvector
-- (pg_index.indkey/indclass/indoption) and 194 pg_node_tree - inferred, not in the capture.
SELECT typinput='pg_catalog.array_in'::regproc as is_array, typtype, typname, pg_type.oid   FROM pg_catalog.pg_type   LEFT JOIN (select ns.oid as nspoid, ns.nspname, r.r           from pg_namespace as ns           join ( select s.r, (current_schemas(false))[s.r] as nspname                    from generate_series(1, array_upper(current_schemas(false), 1)) as s(r) ) as r          using ( nspname )        ) as sp     ON sp.nspoid = typnamespace  WHERE pg_type.oid = 1034  ORDER BY sp.r, pg_type.oid DESC;

-- [9] source: dbeaver/dbeaver plugins/org.jkiss.dbeaver.ext.postgresql/src/org/jkiss/dbeaver/ext/postgresql/model/PostgreExecutionContext.java :: PostgreExecutionContext.refreshDefaults
-- essential
-- JDBCUtils.queryString; result like '"$user", public' is split on ','. Confirmed (modulo newline->space and bind inlining) by a DBeaver 25.1.5 session capture stored in a datafusion-postgres test (DBEAVER_QUERIES).
SHOW search_path;

-- [10] source: dbeaver/dbeaver plugins/org.jkiss.dbeaver.ext.postgresql/src/org/jkiss/dbeaver/ext/postgresql/model/PostgreDatabase.java :: PostgreDatabase.readDatabaseInfo (constructor PostgreDatabase(monitor, dataSource, databaseName))
-- optional
-- binds: $1='postgres' (connection database). Errors only logged (pg_database may be hidden on multi-tenant servers).
-- Reads datname, datdba, encoding, datcollate, datctype, datistemplate, datallowconn, datconnlimit, dattablespace, datacl. Confirmed (modulo newline->space and bind inlining) by a DBeaver 25.1.5 session capture stored in a datafusion-postgres test (DBEAVER_QUERIES).
SELECT db.oid,db.* FROM pg_catalog.pg_database db WHERE datname='postgres';

-- [11] source: dbeaver/dbeaver plugins/org.jkiss.dbeaver.ext.postgresql/src/org/jkiss/dbeaver/ext/postgresql/model/PostgreDataSource.java :: PostgreDataSource.SettingCache.prepareLookupStatement (initializeRemoteInstance preloads standard_conforming_strings)
-- optional
-- binds: $1='standard_conforming_strings'. Errors ignored. Without a name: 'select * from pg_catalog.pg_settings'
-- (Settings folder in the navigator). Capture shows it as SELECT * FROM ... (normalised by the capturing tool).
select * from pg_catalog.pg_settings where name='standard_conforming_strings';

-- [12] source: pgjdbc/pgjdbc pgjdbc/src/main/java/org/postgresql/jdbc/PgDatabaseMetaData.java :: getSQLKeywords (DBeaver JDBCDataSource.initialize -> dialect init)
-- optional
-- pgjdbc 42.x text; appears in the DBeaver capture at this point. Unusual: <> ALL ('{...}'::text[]) array literal containing
-- a double-quoted element "null", string_agg over a set-returning function.
select string_agg(word, ',') from pg_catalog.pg_get_keywords() where word <> ALL ('{a,abs,absolute,action,ada,add,admin,after,all,allocate,alter,always,and,any,are,array,as,asc,asensitive,assertion,assignment,asymmetric,at,atomic,attribute,attributes,authorization,avg,before,begin,bernoulli,between,bigint,binary,blob,boolean,both,breadth,by,c,call,called,cardinality,cascade,cascaded,case,cast,catalog,catalog_name,ceil,ceiling,chain,char,char_length,character,character_length,character_set_catalog,character_set_name,character_set_schema,characteristics,characters,check,checked,class_origin,clob,close,coalesce,cobol,code_units,collate,collation,collation_catalog,collation_name,collation_schema,collect,column,column_name,command_function,command_function_code,commit,committed,condition,condition_number,connect,connection_name,constraint,constraint_catalog,constraint_name,constraint_schema,constraints,constructors,contains,continue,convert,corr,corresponding,count,covar_pop,covar_samp,create,cross,cube,cume_dist,current,current_collation,current_date,current_default_transform_group,current_path,current_role,current_time,current_timestamp,current_transform_group_for_type,current_user,cursor,cursor_name,cycle,data,date,datetime_interval_code,datetime_interval_precision,day,deallocate,dec,decimal,declare,default,defaults,deferrable,deferred,defined,definer,degree,delete,dense_rank,depth,deref,derived,desc,describe,descriptor,deterministic,diagnostics,disconnect,dispatch,distinct,domain,double,drop,dynamic,dynamic_function,dynamic_function_code,each,element,else,end,end-exec,equals,escape,every,except,exception,exclude,excluding,exec,execute,exists,exp,external,extract,false,fetch,filter,final,first,float,floor,following,for,foreign,fortran,found,free,from,full,function,fusion,g,general,get,global,go,goto,grant,granted,group,grouping,having,hierarchy,hold,hour,identity,immediate,implementation,in,including,increment,indicator,initially,inner,inout,input,insensitive,insert,instance,instantiable,int,integer,intersect,intersection,interval,into,invoker,is,isolation,join,k,key,key_member,key_type,language,large,last,lateral,leading,left,length,level,like,ln,local,localtime,localtimestamp,locator,lower,m,map,match,matched,max,maxvalue,member,merge,message_length,message_octet_length,message_text,method,min,minute,minvalue,mod,modifies,module,month,more,multiset,mumps,name,names,national,natural,nchar,nclob,nesting,new,next,no,none,normalize,normalized,not,"null",nullable,nullif,nulls,number,numeric,object,octet_length,octets,of,old,on,only,open,option,options,or,order,ordering,ordinality,others,out,outer,output,over,overlaps,overlay,overriding,pad,parameter,parameter_mode,parameter_name,parameter_ordinal_position,parameter_specific_catalog,parameter_specific_name,parameter_specific_schema,partial,partition,pascal,path,percent_rank,percentile_cont,percentile_disc,placing,pli,position,power,preceding,precision,prepare,preserve,primary,prior,privileges,procedure,public,range,rank,read,reads,real,recursive,ref,references,referencing,regr_avgx,regr_avgy,regr_count,regr_intercept,regr_r2,regr_slope,regr_sxx,regr_sxy,regr_syy,relative,release,repeatable,restart,result,return,returned_cardinality,returned_length,returned_octet_length,returned_sqlstate,returns,revoke,right,role,rollback,rollup,routine,routine_catalog,routine_name,routine_schema,row,row_count,row_number,rows,savepoint,scale,schema,schema_name,scope_catalog,scope_name,scope_schema,scroll,search,second,section,security,select,self,sensitive,sequence,serializable,server_name,session,session_user,set,sets,similar,simple,size,smallint,some,source,space,specific,specific_name,specifictype,sql,sqlexception,sqlstate,sqlwarning,sqrt,start,state,statement,static,stddev_pop,stddev_samp,structure,style,subclass_origin,submultiset,substring,sum,symmetric,system,system_user,table,table_name,tablesample,temporary,then,ties,time,timestamp,timezone_hour,timezone_minute,to,top_level_count,trailing,transaction,transaction_active,transactions_committed,transactions_rolled_back,transform,transforms,translate,translation,treat,trigger,trigger_catalog,trigger_name,trigger_schema,trim,true,type,uescape,unbounded,uncommitted,under,union,unique,unknown,unnamed,unnest,update,upper,usage,user,user_defined_type_catalog,user_defined_type_code,user_defined_type_name,user_defined_type_schema,using,value,values,var_pop,var_samp,varchar,varying,view,when,whenever,where,width_bucket,window,with,within,without,work,write,year,zone}'::text[]);

-- [13] source: dbeaver/dbeaver plugins/org.jkiss.dbeaver.ext.postgresql/src/org/jkiss/dbeaver/ext/postgresql/model/PostgreDataSource.java :: PostgreDataSource.initialize
-- optional
-- JDBCUtils.queryString; errors -> serverVersion=''. Confirmed (modulo newline->space and bind inlining) by a DBeaver 25.1.5 session capture stored in a datafusion-postgres test (DBEAVER_QUERIES).
SELECT version();

-- [14] source: dbeaver/dbeaver plugins/org.jkiss.dbeaver.ext.postgresql/src/org/jkiss/dbeaver/ext/postgresql/PostgreUtils.java :: PostgreUtils.isMetaObjectExists(session, "pg_enum", "*") from PostgreDataSource.initialize (server >= 12)
-- optional
-- getQueryForSystemColumnChecking: "SELECT " + column + " FROM pg_catalog." + table + " WHERE 1<>1 LIMIT 1"; an error
-- just sets supportsEnumTable=false. Confirmed (modulo newline->space and bind inlining) by a DBeaver 25.1.5 session capture stored in a datafusion-postgres test (DBEAVER_QUERIES).
SELECT * FROM pg_catalog.pg_enum WHERE 1<>1 LIMIT 1;

-- [15] source: dbeaver/dbeaver plugins/org.jkiss.dbeaver.ext.postgresql/src/org/jkiss/dbeaver/ext/postgresql/PostgreUtils.java :: PostgreUtils.isMetaObjectExists(session, "pg_class", "reltype") from PostgreDataSource.initialize
-- optional
-- Confirmed (modulo newline->space and bind inlining) by a DBeaver 25.1.5 session capture stored in a datafusion-postgres test (DBEAVER_QUERIES).
SELECT reltype FROM pg_catalog.pg_class WHERE 1<>1 LIMIT 1;

-- [16] source: dbeaver/dbeaver plugins/org.jkiss.dbeaver.ext.postgresql/src/org/jkiss/dbeaver/ext/postgresql/model/PostgreDatabase.java :: PostgreDatabase.supportsSysTypCategoryColumn (only servers < 10; skipped for PG 15)
-- optional
SELECT 1 FROM pg_catalog.pg_attribute s
JOIN pg_catalog.pg_class p ON s.attrelid = p.oid
JOIN pg_catalog.pg_namespace n ON p.relnamespace = n.oid
WHERE p.relname = 'pg_type'
AND n.nspname = 'pg_catalog'
AND s.attname = 'typcategory';

-- [17] source: dbeaver/dbeaver plugins/org.jkiss.dbeaver.ext.postgresql/src/org/jkiss/dbeaver/ext/postgresql/model/PostgreDatabase.java + dbeaver/dbeaver plugins/org.jkiss.dbeaver.ext.postgresql/src/org/jkiss/dbeaver/ext/postgresql/model/PostgreDataTypeCache.java :: PostgreDatabase.cacheDataTypes (PostgreDataTypeCache.getBaseTypeNameClause)
-- essential
-- readAllTypes=false (default), typcategory present (PG >= 10). Throws DBException on failure -> connect fails.
-- Needs every pg_type column (t.*), incl. typcategory, typbasetype, typtypmod, typelem, typrelid, typarray, typtype.
-- Unusual: format_type(nullif(oid,0), int4), pg_description joined without classoid filter. Confirmed (modulo newline->space and bind inlining) by a DBeaver 25.1.5 session capture stored in a datafusion-postgres test (DBEAVER_QUERIES).
SELECT t.oid,t.*,c.relkind,format_type(nullif(t.typbasetype, 0), t.typtypmod) as base_type_name, d.description
FROM pg_catalog.pg_type t
LEFT OUTER JOIN pg_catalog.pg_type et ON et.oid=t.typelem 
LEFT OUTER JOIN pg_catalog.pg_class c ON c.oid=t.typrelid
LEFT OUTER JOIN pg_catalog.pg_description d ON t.oid=d.objoid
WHERE t.typname IS NOT NULL
AND (c.relkind IS NULL OR c.relkind = 'c') AND (et.typcategory IS NULL OR et.typcategory <> 'C');

-- [18] source: dbeaver/dbeaver plugins/org.jkiss.dbeaver.ext.postgresql/src/org/jkiss/dbeaver/ext/postgresql/model/PostgreDataTypeCache.java :: PostgreDataTypeCache.prepareObjectsStatement (per-schema type list, when the Data Types folder is opened)
-- optional
-- binds: $1=2200 (int8). Text assembled from the PostgreDataTypeCache source seen in a DBeaver-derived fork (same
-- builder as cacheDataTypes plus '\nAND t.typnamespace=? ').
SELECT t.oid,t.*,c.relkind,format_type(nullif(t.typbasetype, 0), t.typtypmod) as base_type_name, d.description
FROM pg_catalog.pg_type t
LEFT OUTER JOIN pg_catalog.pg_type et ON et.oid=t.typelem 
LEFT OUTER JOIN pg_catalog.pg_class c ON c.oid=t.typrelid
LEFT OUTER JOIN pg_catalog.pg_description d ON t.oid=d.objoid
WHERE t.typname IS NOT NULL
AND (c.relkind IS NULL OR c.relkind = 'c') AND (et.typcategory IS NULL OR et.typcategory <> 'C')
AND t.typnamespace=2200 ;

-- [19] source: dbeaver/dbeaver plugins/org.jkiss.dbeaver.ext.postgresql/src/org/jkiss/dbeaver/ext/postgresql/model/PostgreSchema.java :: PostgreSchema.TableCache.prepareLookupStatement (getTables/getViews/getChildren of schema)
-- essential
-- binds: $1=2200 (int8 schema oid). Lookup of one table adds ' AND relname=?'. PG >= 10 adds partition_expr/partition_key.
-- Row relkind ('r','v','m','f','p','S') + relispartition decide the object class. Needs all pg_class columns (c.*),
-- incl. relkind, relispartition, reltuples, relowner, reltablespace, relacl, reloptions, relpartbound.
-- Unusual: pg_get_expr(pg_node_tree, oid), pg_get_partkeydef(oid), 'pg_class'::regclass. Confirmed (modulo newline->space and bind inlining) by a DBeaver 25.1.5 session capture stored in a datafusion-postgres test (DBEAVER_QUERIES).
SELECT c.oid,c.*,d.description,pg_catalog.pg_get_expr(c.relpartbound, c.oid) as partition_expr,  pg_catalog.pg_get_partkeydef(c.oid) as partition_key 
FROM pg_catalog.pg_class c
LEFT OUTER JOIN pg_catalog.pg_description d ON d.objoid=c.oid AND d.objsubid=0 AND d.classoid='pg_class'::regclass
WHERE c.relnamespace=2200 AND c.relkind not in ('i','I','c');

-- [20] source: dbeaver/dbeaver plugins/org.jkiss.dbeaver.ext.postgresql/src/org/jkiss/dbeaver/ext/postgresql/model/PostgreSchema.java :: PostgreSchema.collectObjectStatistics (table sizes shown in navigator/properties)
-- optional
-- binds: $1=2200. Only when supportsTableStatistics and statistics display enabled. Confirmed (modulo newline->space and bind inlining) by a DBeaver 25.1.5 session capture stored in a datafusion-postgres test (DBEAVER_QUERIES).
select c.oid,pg_catalog.pg_total_relation_size(c.oid) as total_rel_size,pg_catalog.pg_relation_size(c.oid) as rel_size
FROM pg_class c
WHERE c.relnamespace=2200;

-- [21] source: dbeaver/dbeaver plugins/org.jkiss.dbeaver.ext.postgresql/src/org/jkiss/dbeaver/ext/postgresql/model/PostgreSchema.java :: PostgreSchema.TableCache.prepareChildrenStatement, schema-wide (cacheStructure with STRUCT_ATTRIBUTES, e.g. SQL editor autocompletion)
-- optional
-- binds: $1=2200.
SELECT c.relname,a.*,pg_catalog.pg_get_expr(ad.adbin, ad.adrelid, true) as def_value,dsc.description,dep.objid
FROM pg_catalog.pg_attribute a
INNER JOIN pg_catalog.pg_class c ON (a.attrelid=c.oid)
LEFT OUTER JOIN pg_catalog.pg_attrdef ad ON (a.attrelid=ad.adrelid AND a.attnum = ad.adnum)
LEFT OUTER JOIN pg_catalog.pg_description dsc ON (c.oid=dsc.objoid AND a.attnum = dsc.objsubid)
LEFT OUTER JOIN pg_depend dep on dep.refobjid = a.attrelid AND dep.deptype = 'i' and dep.refobjsubid = a.attnum and dep.classid = dep.refclassid
WHERE NOT a.attisdropped AND c.relkind not in ('i','I','c') AND c.relnamespace=2200
ORDER BY a.attnum;

-- [22] source: dbeaver/dbeaver plugins/org.jkiss.dbeaver.ext.postgresql/src/org/jkiss/dbeaver/ext/postgresql/model/PostgreSchema.java :: PostgreSchema.cacheTableInheritance (cacheStructure with STRUCT_ASSOCIATIONS)
-- optional
-- binds: $1=2200. Unusual: column aliases without AS.
SELECT i.inhrelid relid, pc.relnamespace parent_ns, pc.oid parent_oid, i.inhseqno
FROM pg_catalog.pg_inherits i, pg_class rc, pg_class pc
WHERE rc.oid=i.inhrelid AND rc.relnamespace=2200 AND pc.oid=i.inhparent;

-- [23] source: dbeaver/dbeaver plugins/org.jkiss.dbeaver.ext.postgresql/src/org/jkiss/dbeaver/ext/postgresql/model/PostgreSchema.java :: PostgreSchema.ProceduresCache.prepareLookupStatement (Functions folder)
-- optional
-- binds: $1=2200. serverType.getProceduresOidColumn()='oid', getProceduresSystemTable()='pg_proc' for PostgreSQL.
SELECT p.oid as poid,p.*,pg_catalog.pg_get_expr(p.proargdefaults, 0) as arg_defaults,d.description
FROM pg_catalog.pg_proc p
LEFT OUTER JOIN pg_catalog.pg_description d ON d.objoid=p.oid and d.classoid='pg_proc'::regclass  AND d.objsubid = 0
WHERE p.pronamespace=2200
ORDER BY p.proname;

-- [24] source: dbeaver/dbeaver plugins/org.jkiss.dbeaver.ext.postgresql/src/org/jkiss/dbeaver/ext/postgresql/model/PostgreSchema.java :: PostgreSchema.TableCache.prepareChildrenStatement (forTable = orders; Columns folder / table editor)
-- essential
-- binds: $1=16390 (int8 table oid). supportsSequences=true adds dep.objid + the pg_depend join (serial/identity detection).
-- Note: there is no a.attnum > 0 predicate, so system columns (attnum < 0: ctid, xmin, ...) come back too and are
-- handled client-side; pg_attribute should expose them like PostgreSQL does. Needs a.* (attnum, atttypid, atttypmod, attnotnull, atthasdef, attidentity, attgenerated,
-- attcollation, attndims, attacl, attoptions, ...). Same text seen in pg_stat_activity dumps of DBeaver 24.2.3/25.3.3.
-- Unusual: pg_get_expr(pg_node_tree, oid, bool), self-comparison dep.classid = dep.refclassid.
SELECT c.relname,a.*,pg_catalog.pg_get_expr(ad.adbin, ad.adrelid, true) as def_value,dsc.description,dep.objid
FROM pg_catalog.pg_attribute a
INNER JOIN pg_catalog.pg_class c ON (a.attrelid=c.oid)
LEFT OUTER JOIN pg_catalog.pg_attrdef ad ON (a.attrelid=ad.adrelid AND a.attnum = ad.adnum)
LEFT OUTER JOIN pg_catalog.pg_description dsc ON (c.oid=dsc.objoid AND a.attnum = dsc.objsubid)
LEFT OUTER JOIN pg_depend dep on dep.refobjid = a.attrelid AND dep.deptype = 'i' and dep.refobjsubid = a.attnum and dep.classid = dep.refclassid
WHERE NOT a.attisdropped AND c.relkind not in ('i','I','c') AND c.oid=16390
ORDER BY a.attnum;

-- [25] source: dbeaver/dbeaver plugins/org.jkiss.dbeaver.ext.postgresql/src/org/jkiss/dbeaver/ext/postgresql/model/PostgreSchema.java :: PostgreSchema.ConstraintCache.prepareObjectsStatement (forParent = orders; Constraints/Foreign Keys folders)
-- optional
-- binds: $1=16390. conkey/confkey (int2[]) are read as arrays to map columns. Needed for PK/FK display, not for listing.
-- Unusual: double-quoted function name "substring"(...), output alias without AS (consrc_copy), 'pg_constraint'::regclass. Confirmed (modulo newline->space and bind inlining) by a DBeaver 25.1.5 session capture stored in a datafusion-postgres test (DBEAVER_QUERIES).
SELECT c.oid,c.*,t.relname as tabrelname,rt.relnamespace as refnamespace,d.description, case when c.contype='c' then "substring"(pg_get_constraintdef(c.oid), 7) else null end consrc_copy
FROM pg_catalog.pg_constraint c
INNER JOIN pg_catalog.pg_class t ON t.oid=c.conrelid
LEFT OUTER JOIN pg_catalog.pg_class rt ON rt.oid=c.confrelid
LEFT OUTER JOIN pg_catalog.pg_description d ON d.objoid=c.oid AND d.objsubid=0 AND d.classoid='pg_constraint'::regclass
WHERE c.conrelid=16390
ORDER BY c.oid;

-- [26] source: dbeaver/dbeaver plugins/org.jkiss.dbeaver.ext.postgresql/src/org/jkiss/dbeaver/ext/postgresql/model/PostgreSchema.java :: PostgreSchema.ConstraintCache.prepareObjectsStatement (schema-wide; cacheStructure / supportsReadingKeysWithColumns)
-- optional
-- binds: $1=2200.
SELECT c.oid,c.*,t.relname as tabrelname,rt.relnamespace as refnamespace,d.description, case when c.contype='c' then "substring"(pg_get_constraintdef(c.oid), 7) else null end consrc_copy
FROM pg_catalog.pg_constraint c
INNER JOIN pg_catalog.pg_class t ON t.oid=c.conrelid
LEFT OUTER JOIN pg_catalog.pg_class rt ON rt.oid=c.confrelid
LEFT OUTER JOIN pg_catalog.pg_description d ON d.objoid=c.oid AND d.objsubid=0 AND d.classoid='pg_constraint'::regclass
WHERE t.relnamespace=2200
ORDER BY c.oid;

-- [27] source: dbeaver/dbeaver plugins/org.jkiss.dbeaver.ext.postgresql/src/org/jkiss/dbeaver/ext/postgresql/model/PostgreSchema.java :: PostgreSchema.IndexCache.prepareObjectsStatement (forTable = orders; Indexes folder)
-- optional
-- binds: $1=16390. 2024 source text; the DBeaver 25.1.5 capture ends with 'ORDER BY tabrelname, c.relname' instead.
-- keys/indclass/indoption (int2vector/oidvector) are parsed client-side. Unusual: pg_stat_get_numscans(oid),
-- pg_relation_size(oid), column alias 'keys'. If a key is 0 (expression index): 'select pg_catalog.pg_get_indexdef(?, ?, true)'.
SELECT i.*,i.indkey as keys,c.relname,c.relnamespace,c.relam,c.reltablespace,tc.relname as tabrelname,dsc.description,pg_catalog.pg_get_expr(i.indpred, i.indrelid) as pred_expr,pg_catalog.pg_get_expr(i.indexprs, i.indrelid, true) as expr,pg_catalog.pg_relation_size(i.indexrelid) as index_rel_size,pg_catalog.pg_stat_get_numscans(i.indexrelid) as index_num_scans
FROM pg_catalog.pg_index i
INNER JOIN pg_catalog.pg_class c ON c.oid=i.indexrelid
INNER JOIN pg_catalog.pg_class tc ON tc.oid=i.indrelid
LEFT OUTER JOIN pg_catalog.pg_description dsc ON i.indexrelid=dsc.objoid
WHERE  i.indrelid=16390 ORDER BY c.relname;

-- [28] source: dbeaver/dbeaver plugins/org.jkiss.dbeaver.ext.postgresql/src/org/jkiss/dbeaver/ext/postgresql/model/PostgreDatabase.java :: PostgreDatabase.AccessMethodCache (PostgreIndex.getAccessMethod while reading index columns)
-- optional
SELECT am.oid,am.* FROM pg_catalog.pg_am am 
ORDER BY am.oid;

-- [29] source: dbeaver/dbeaver plugins/org.jkiss.dbeaver.ext.postgresql/src/org/jkiss/dbeaver/ext/postgresql/model/PostgreTableReal.java :: PostgreTableReal.TriggerCache.prepareObjectsStatement (Triggers folder)
-- optional
-- args: table oid concatenated into the text (not a bind). 2020-era source revision.
SELECT x.oid,x.*,p.pronamespace as func_schema_id,d.description
FROM pg_catalog.pg_trigger x
LEFT OUTER JOIN pg_catalog.pg_proc p ON p.oid=x.tgfoid 
LEFT OUTER JOIN pg_catalog.pg_description d ON d.objoid=x.oid AND d.objsubid=0 
WHERE x.tgrelid=16390 AND NOT x.tgisinternal;

-- [30] source: dbeaver/dbeaver plugins/org.jkiss.dbeaver.ext.postgresql/src/org/jkiss/dbeaver/ext/postgresql/model/PostgreTableReal.java :: PostgreTableReal.RuleCache.prepareObjectsStatement (Rules folder)
-- optional
-- args: table oid concatenated. Unusual: '_RETURN'::name cast, pg_get_ruledef(oid).
SELECT r.oid,r.*, pg_get_ruledef(r.oid) AS definition
FROM pg_rewrite r
WHERE r.ev_class=16390 AND r.rulename <> '_RETURN'::name;

-- [31] source: dbeaver/dbeaver plugins/org.jkiss.dbeaver.ext.postgresql/src/org/jkiss/dbeaver/ext/postgresql/model/PostgreTableReal.java :: PostgreTableReal.readTableStats (Statistics properties: disk space)
-- optional
-- binds: $1=16390, $2=16390 (int8).
select pg_catalog.pg_total_relation_size(16390),pg_catalog.pg_relation_size(16390);

-- [32] source: dbeaver/dbeaver plugins/org.jkiss.dbeaver.ext.postgresql/src/org/jkiss/dbeaver/ext/postgresql/model/PostgreDatabase.java :: PostgreDatabase.RoleCache (owner properties of schema/table)
-- optional
-- Permission-denied errors are tolerated (cache set empty).
SELECT a.oid,a.* FROM pg_catalog.pg_roles a 
ORDER BY a.rolname;

-- [33] source: dbeaver/dbeaver plugins/org.jkiss.dbeaver.ext.postgresql/src/org/jkiss/dbeaver/ext/postgresql/model/PostgreDatabase.java :: PostgreDatabase.TablespaceCache (table/index tablespace property)
-- optional
SELECT t.oid,t.*,pg_tablespace_location(t.oid) loc
FROM pg_catalog.pg_tablespace t 
ORDER BY t.oid;

-- [34] source: dbeaver/dbeaver plugins/org.jkiss.dbeaver.ext.postgresql/src/org/jkiss/dbeaver/ext/postgresql/model/PostgreDatabase.java :: PostgreDatabase.CollationCache (column collation property)
-- optional
SELECT c.oid,c.* FROM pg_catalog.pg_collation c 
ORDER BY c.oid;

-- [35] source: dbeaver/dbeaver plugins/org.jkiss.dbeaver.ext.postgresql/src/org/jkiss/dbeaver/ext/postgresql/model/PostgreDataSource.java :: PostgreDataSource.prepareReadDatabaseListStatement ('Show all databases' enabled)
-- optional
-- binds: $1='postgres' (connection database name, so a template db given explicitly is still listed).
-- Runs on a bootstrap connection before the contexts are opened. Note the unparenthesised AND ... OR precedence.
SELECT db.oid,db.* FROM pg_catalog.pg_database db WHERE 1 = 1 AND datallowconn AND NOT datistemplate OR db.datname ='postgres'
ORDER BY db.datname;

-- [36] source: dbeaver/dbeaver plugins/org.jkiss.dbeaver.ext.postgresql/src/org/jkiss/dbeaver/ext/postgresql/model/PostgreDataSource.java :: PostgreDataSource.loadAvailableDatabases (only if the active database name is unknown)
-- optional
SELECT current_database();

-- [37] source: dbeaver/dbeaver plugins/org.jkiss.dbeaver.ext.postgresql/src/org/jkiss/dbeaver/ext/postgresql/model/PostgreDataSource.java :: PostgreDataSource.collectObjectStatistics (database size)
-- optional
-- binds: $1=<database oid> (5 is the usual oid of 'postgres'). Only with PROP_SHOW_DATABASE_STATISTICS.
SELECT db.datname,pg_database_size(db.oid) FROM pg_catalog.pg_database db WHERE db.oid=5;

-- [38] source: dbeaver/dbeaver plugins/org.jkiss.dbeaver.ext.postgresql/src/org/jkiss/dbeaver/ext/postgresql/model/PostgreDatabase.java :: PostgreDatabase.getDescription(monitor) (database description)
-- optional
-- binds: $1='postgres'.
select description from pg_shdescription join pg_database on objoid = pg_database.oid where datname = 'postgres';

-- [39] source: pgjdbc/pgjdbc pgjdbc/src/main/java/org/postgresql/jdbc/PgConnection.java :: getTransactionIsolation (DBeaver JDBCConnectionHolder, lazily when the transaction mode is displayed)
-- optional
SHOW TRANSACTION ISOLATION LEVEL;
