//! CHECK and FOREIGN KEY constraints, enforced in SQLite by triggers rhei generates from its
//! catalog, and the names PostgreSQL would give them.
//!
//! Why triggers and not SQLite's own CHECK and REFERENCES clauses: those live in the CREATE
//! TABLE text, so adding or dropping one later (`ALTER TABLE ... ADD CONSTRAINT`, which ORMs'
//! migrations emit for every foreign key) would mean rebuilding the table; SQLite's foreign
//! keys are also switched per connection and cannot be switched inside a transaction; and their
//! errors do not say which constraint failed. Triggers are created and dropped freely inside
//! the writer's transaction, and each one raises a message naming its constraint, which
//! [`violation`] turns back into PostgreSQL's error with its DETAIL.
//!
//! Every trigger of a constraint is named after the table that declares the constraint
//! (`_rhei_k_<table id>_<n>`), including the ones that sit on the referenced table, so all of a
//! table's constraint triggers can be dropped and regenerated as a group whenever its shape or
//! a referenced table's name changes ([`triggers_sql`]).
//!
//! UNIQUE constraints declared NULLS NOT DISTINCT get triggers too, for the keys with a NULL
//! that their unique index lets through.
//!
//! Semantics, and where they differ from PostgreSQL's:
//! - CHECK passes when the expression is true or NULL, checked after each row is written (so a
//!   serial column's value is the assigned one).
//! - Foreign keys are MATCH SIMPLE: a row with any referencing column NULL references nothing.
//! - NO ACTION and RESTRICT are both checked per row as the row changes. PostgreSQL checks NO
//!   ACTION at the end of the statement (or the transaction, for DEFERRABLE INITIALLY DEFERRED
//!   constraints), so a single statement that removes a referenced row and the rows referencing
//!   it in the wrong order fails here and passes there.
//! - A key with a NULL that collides under NULLS NOT DISTINCT fails with 23505 even under
//!   `ON CONFLICT ... DO NOTHING / DO UPDATE`, where PostgreSQL takes the conflict path.
//! - CASCADE, SET NULL and SET DEFAULT apply to the referencing rows as each referenced row is
//!   deleted or its key updated; those changes are captured like any other.

use std::ops::ControlFlow;

use datafusion::sql::sqlparser::ast::{Expr, Ident, SelectItem, SetExpr, Statement, visit_expressions_mut};
use datafusion::sql::sqlparser::{dialect::PostgreSqlDialect, parser::Parser};

use crate::catalog::{Catalog, ForeignKeyDef, PgType, ReferentialAction, TableDef, TableId, quote_ident, quote_literal};
use crate::error::{EngineError, Result};
use crate::translate::{TranslateOptions, to_sqlite};

/// First field of every message a constraint trigger raises.
const MARKER: &str = "rhei-constraint";
/// Separates the message's fields (a control character no identifier or value text contains
/// unescaped... identifiers can, but they sit before the detail, which is last).
const SEP: char = '\u{1f}';
/// Separates column names inside one field.
const COLUMN_SEP: char = '\u{1e}';

/// PostgreSQL's longest identifier (NAMEDATALEN - 1 bytes); longer generated names are cut.
const MAX_IDENTIFIER_BYTES: usize = 63;

/// A constraint name as PostgreSQL makes one (`ChooseConstraintName`): `table_columns_suffix`,
/// cut to 63 bytes, with a number appended while it collides with a name in `taken`.
pub fn choose_name(table: &str, columns: &[&str], suffix: &str, taken: &[String]) -> String {
    let mut base = table.to_string();
    for column in columns {
        base.push('_');
        base.push_str(column);
    }
    let make = |n: Option<u32>| {
        let tail = match n {
            Some(n) => format!("_{suffix}{n}"),
            None => format!("_{suffix}"),
        };
        let mut head = base.clone();
        while head.len() + tail.len() > MAX_IDENTIFIER_BYTES {
            head.pop();
        }
        head + &tail
    };
    let first = make(None);
    if !taken.contains(&first) {
        return first;
    }
    (1..).map(|n| make(Some(n))).find(|name| !taken.contains(name)).unwrap_or(first)
}

/// Every constraint name a table uses (its own namespace for CHECK and FOREIGN KEY names).
pub fn constraint_names(def: &TableDef) -> Vec<String> {
    let mut names: Vec<String> = def.checks.iter().map(|c| c.name.clone()).collect();
    names.extend(def.foreign_keys.iter().map(|f| f.name.clone()));
    if !def.primary_key.is_empty() {
        names.push(def.pkey_name());
    }
    names.extend((0..def.unique.len()).map(|i| def.unique_name(i)));
    names
}

/// The first column a CHECK expression mentions, which PostgreSQL names the constraint after.
pub fn first_column(expr: &Expr, def: &TableDef) -> Option<String> {
    let mut found = None;
    let mut expr = expr.clone();
    let _ = visit_expressions_mut(&mut expr, |e| {
        let name = match e {
            Expr::Identifier(ident) => Some(crate::catalog::normalize_ident(ident)),
            Expr::CompoundIdentifier(parts) => parts.last().map(crate::catalog::normalize_ident),
            _ => None,
        };
        if let Some(name) = name.filter(|n| def.column_index(n).is_some()) {
            found = Some(name);
            return ControlFlow::Break(());
        }
        ControlFlow::Continue(())
    });
    found
}

/// Parses a stored CHECK expression (PostgreSQL text).
fn parse_expr(sql: &str) -> Result<Expr> {
    Parser::new(&PostgreSqlDialect {}).try_with_sql(sql).and_then(|mut p| p.parse_expr()).map_err(EngineError::syntax)
}

/// The SQLite form of a CHECK expression of `def`, over the row `row` (`NEW`, or the table's
/// own name when existing rows are checked; unqualified when empty, as a partial index's WHERE
/// names them).
///
/// # Errors
/// An expression that does not parse or translate (unknown columns, subqueries).
pub fn check_sql(def: &TableDef, expr_sql: &str, row: &str, opts: TranslateOptions) -> Result<String> {
    let expr = parse_expr(expr_sql)?;
    if contains_subquery(&expr) {
        return Err(EngineError::unsupported("cannot use subquery in check constraint"));
    }
    // Translated inside a SELECT from the table, so column types drive it as in any query.
    let select = format!("SELECT {expr} FROM {}", quote_ident(&def.name));
    let mut stmt = Parser::parse_sql(&PostgreSqlDialect {}, &select).map_err(EngineError::syntax)?.remove(0);
    let mut catalog_tables: Vec<TableDef> = vec![def.clone()];
    catalog_tables[0].checks.clear();
    // The enum types of its columns, for casts to them (`m <> 'sad'::mood`, as pg_dump writes).
    let enums = def.columns.iter().filter_map(|c| match c.ty {
        crate::catalog::PgType::Enum(e) => Some(e),
        _ => None,
    });
    to_sqlite(&mut stmt, &Catalog::from_tables(catalog_tables).with_enum_types(enums), opts)?;
    let mut translated = match &stmt {
        Statement::Query(q) => match q.body.as_ref() {
            SetExpr::Select(s) => match s.projection.first() {
                Some(SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. }) => e.clone(),
                _ => return Err(EngineError::Internal("check expression lost in translation".into())),
            },
            _ => return Err(EngineError::Internal("check expression lost in translation".into())),
        },
        _ => return Err(EngineError::Internal("check expression lost in translation".into())),
    };
    let _ = visit_expressions_mut(&mut translated, |e| {
        let column = match e {
            Expr::Identifier(ident) => Some(crate::catalog::normalize_ident(ident)),
            Expr::CompoundIdentifier(parts) if parts.len() == 2 => Some(crate::catalog::normalize_ident(&parts[1])),
            _ => None,
        };
        if let Some(column) = column.filter(|c| def.column_index(c).is_some()) {
            *e = if row.is_empty() {
                Expr::Identifier(Ident::with_quote('"', column))
            } else {
                Expr::CompoundIdentifier(vec![Ident::new(row), Ident::with_quote('"', column)])
            };
        }
        ControlFlow::<()>::Continue(())
    });
    Ok(translated.to_string())
}

/// Whether an expression names `column` (bare or qualified).
fn mentions_column(expr: &Expr, column: &str) -> bool {
    let mut expr = expr.clone();
    visit_expressions_mut(&mut expr, |e| match e {
        Expr::Identifier(ident) if crate::catalog::normalize_ident(ident) == column => ControlFlow::Break(()),
        Expr::CompoundIdentifier(parts) if parts.last().is_some_and(|p| crate::catalog::normalize_ident(p) == column) => {
            ControlFlow::Break(())
        }
        _ => ControlFlow::Continue(()),
    })
    .is_break()
}

/// The name PostgreSQL gives an index key that is an expression (for the index's name): a
/// function call's function, else `expr`.
pub fn expression_name(expr_sql: &str) -> String {
    match parse_expr(expr_sql) {
        Ok(Expr::Function(f)) => f.name.0.last().and_then(|p| p.as_ident()).map_or_else(|| "expr".into(), crate::catalog::normalize_ident),
        _ => "expr".into(),
    }
}

/// Whether a stored expression (a CHECK, a partial index's WHERE, an index key) names
/// `column`; false for one that does not parse.
pub fn expression_mentions_column(expr_sql: &str, column: &str) -> bool {
    parse_expr(expr_sql).is_ok_and(|e| mentions_column(&e, column))
}

/// A stored CHECK expression with a column renamed.
///
/// # Errors
/// An expression that no longer parses (a damaged catalog).
pub fn rename_column(expr_sql: &str, old: &str, new: &str) -> Result<String> {
    let mut expr = parse_expr(expr_sql)?;
    let _ = visit_expressions_mut(&mut expr, |e| {
        let target = match e {
            Expr::Identifier(ident) => Some(ident),
            Expr::CompoundIdentifier(parts) => parts.last_mut(),
            _ => None,
        };
        if let Some(ident) = target
            && crate::catalog::normalize_ident(ident) == old
        {
            *ident = if new.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_') {
                Ident::new(new)
            } else {
                Ident::with_quote('"', new)
            };
        }
        ControlFlow::<()>::Continue(())
    });
    Ok(expr.to_string())
}

pub fn contains_subquery(expr: &Expr) -> bool {
    datafusion::sql::sqlparser::ast::visit_expressions(expr, |e| match e {
        Expr::Subquery(_) | Expr::Exists { .. } | Expr::InSubquery { .. } => ControlFlow::Break(()),
        _ => ControlFlow::Continue(()),
    })
    .is_break()
}

/// PostgreSQL's text of a stored value, for DETAIL lines.
fn value_text(ty: PgType, value: &str) -> String {
    let tagged = |tag: &str| format!("rhei_text({value}, '{tag}', 0)");
    match ty {
        PgType::Date => tagged("date"),
        PgType::Timestamp => tagged("timestamp"),
        PgType::Timestamptz => tagged("timestamptz"),
        PgType::Time => tagged("time"),
        PgType::Bool => format!("CASE {value} WHEN 0 THEN 'f' WHEN 1 THEN 't' END"),
        PgType::Float4 => tagged("float4"),
        PgType::Float8 => tagged("float8"),
        PgType::Bytea => format!("'\\x' || lower(hex({value}))"),
        _ => format!("CAST({value} AS TEXT)"),
    }
}

/// `(a, b)=(1, x)`-style value lists for DETAIL lines, as SQLite text concatenation.
fn values_sql(def: &TableDef, columns: &[usize], row: &str) -> String {
    let parts: Vec<String> = columns
        .iter()
        .map(|&i| {
            let col = &def.columns[i];
            format!("coalesce({}, 'null')", value_text(col.ty, &format!("{row}.{}", quote_ident(&col.name))))
        })
        .collect();
    parts.join(" || ', ' || ")
}

/// A query answering the DETAIL line for the first key of `columns` that more than one row of
/// `def` has (`Key (a)=(1) is duplicated.`), or no row when every key is distinct (keys with a
/// NULL are distinct, as in a unique index, unless `nulls_collide`: NULLS NOT DISTINCT).
pub fn duplicate_key_sql(def: &TableDef, columns: &[usize], nulls_collide: bool) -> String {
    let keys: Vec<String> = columns.iter().map(|&i| format!("d.{}", quote_ident(&def.columns[i].name))).collect();
    let present: Vec<String> = keys.iter().map(|k| format!("{k} IS NOT NULL")).collect();
    format!(
        "SELECT {} || {} || ') is duplicated.' FROM {} AS d WHERE {} GROUP BY {} HAVING count(*) > 1 LIMIT 1",
        quote_literal(&format!("Key ({})=(", column_list(def, columns))),
        values_sql(def, columns, "d"),
        quote_ident(&def.name),
        if nulls_collide { "true".to_string() } else { present.join(" AND ") },
        keys.join(", ")
    )
}

/// Triggers making NULL keys of a UNIQUE NULLS NOT DISTINCT constraint collide: the unique
/// index behind the constraint refuses equal keys without NULLs, these the rest (a row whose
/// key has a NULL, and another with the same key, NULLs matching with `IS`).
fn nulls_not_distinct_sql(def: &TableDef, i: usize, next: &mut impl FnMut() -> String) -> String {
    let table = quote_ident(&def.name);
    let columns = &def.unique[i];
    let names: Vec<String> = columns.iter().map(|&c| quote_ident(&def.columns[c].name)).collect();
    let any_null = names.iter().map(|c| format!("NEW.{c} IS NULL")).collect::<Vec<_>>().join(" OR ");
    let same = names.iter().map(|c| format!("k.{c} IS NEW.{c}")).collect::<Vec<_>>().join(" AND ");
    let detail = format!(
        "{} || {} || ') already exists.'",
        quote_literal(&format!("Key ({})=(", column_list(def, columns))),
        values_sql(def, columns, "NEW")
    );
    let column_names = columns.iter().map(|&c| def.columns[c].name.as_str()).collect::<Vec<_>>().join(&COLUMN_SEP.to_string());
    let body = raise("unique", &[&def.name, &def.unique_name(i), &column_names], &detail);
    let mut sql = String::new();
    for (event, of) in [("INSERT", String::new()), ("UPDATE", format!(" OF {}", names.join(", ")))] {
        sql.push_str(&format!(
            "CREATE TRIGGER {} AFTER {event}{of} ON {table} WHEN {any_null} BEGIN {body} \
             WHERE EXISTS (SELECT 1 FROM {table} AS k WHERE {same} AND k.rowid <> NEW.rowid); END;\n",
            next()
        ));
    }
    sql
}

fn column_list(def: &TableDef, columns: &[usize]) -> String {
    columns.iter().map(|&i| crate::naming::display_ident(&def.columns[i].name)).collect::<Vec<_>>().join(", ")
}

/// `SELECT RAISE(ABORT, ...)` with the marker, the kind and fixed fields, then `detail_sql`
/// (a SQLite text expression) as the last field.
fn raise(kind: &str, fields: &[&str], detail_sql: &str) -> String {
    let mut head = format!("{MARKER}{SEP}{kind}");
    for f in fields {
        head.push(SEP);
        head.push_str(f);
    }
    head.push(SEP);
    format!("SELECT RAISE(ABORT, {} || {detail_sql})", quote_literal(&head))
}

fn trigger_name(owner: TableId, n: usize) -> String {
    quote_ident(&format!("_rhei_k_{}_{n}", owner.0))
}

/// The `LIKE` pattern matching every constraint trigger of a table (see [`trigger_name`]).
pub fn trigger_pattern(owner: TableId) -> String {
    format!("\\_rhei\\_k\\_{}\\_%", owner.0)
}

/// SQL creating every trigger that enforces `def`'s own CHECK constraints and foreign keys
/// (including the triggers on the tables it references). `catalog` resolves referenced
/// tables; the caller has dropped the table's earlier triggers (see [`trigger_pattern`]).
///
/// # Errors
/// A CHECK expression that no longer translates, or a referenced table that is missing.
pub fn triggers_sql(def: &TableDef, catalog: &Catalog, opts: TranslateOptions) -> Result<String> {
    let mut sql = String::new();
    let mut n = 0;
    let mut next = || {
        n += 1;
        trigger_name(def.id, n)
    };
    let table = quote_ident(&def.name);
    let all: Vec<usize> = (0..def.user_columns().len()).collect();
    for check in &def.checks {
        let condition = check_sql(def, &check.expr, "NEW", opts)?;
        let detail = format!("'Failing row contains (' || {} || ').'", values_sql(def, &all, "NEW"));
        let body = raise("check", &[&def.name, &check.name], &detail);
        for event in ["INSERT", "UPDATE"] {
            sql.push_str(&format!(
                "CREATE TRIGGER {} AFTER {event} ON {table} WHEN NOT coalesce({condition}, 1) BEGIN {body}; END;\n",
                next()
            ));
        }
    }
    for i in 0..def.unique.len() {
        if def.unique_nulls_not_distinct(i) {
            sql.push_str(&nulls_not_distinct_sql(def, i, &mut next));
        }
    }
    for fk in &def.foreign_keys {
        let parent = catalog
            .by_id(fk.references)
            .filter(|p| p.id != def.id)
            .map(|p| p.as_ref())
            .unwrap_or(def);
        sql.push_str(&foreign_key_sql(def, fk, parent, &mut next, opts)?);
    }
    Ok(sql)
}

fn foreign_key_sql(
    child: &TableDef,
    fk: &ForeignKeyDef,
    parent: &TableDef,
    next: &mut impl FnMut() -> String,
    opts: TranslateOptions,
) -> Result<String> {
    let child_table = quote_ident(&child.name);
    let parent_table = quote_ident(&parent.name);
    let col = |def: &TableDef, i: usize| quote_ident(&def.columns[i].name);
    let pairs: Vec<(String, String)> = fk.columns.iter().zip(&fk.ref_columns).map(|(&c, &p)| (col(child, c), col(parent, p))).collect();
    // A referencing row whose key columns are all set must find its referenced row.
    let all_set = pairs.iter().map(|(c, _)| format!("NEW.{c} IS NOT NULL")).collect::<Vec<_>>().join(" AND ");
    let found = pairs.iter().map(|(c, p)| format!("{parent_table}.{p} = NEW.{c}")).collect::<Vec<_>>().join(" AND ");
    let missing_detail = format!(
        "'Key ({})=(' || {} || ') is not present in table \"{}\".'",
        column_list(child, &fk.columns),
        values_sql(child, &fk.columns, "NEW"),
        parent.name.replace('\'', "''"),
    );
    let missing = raise("fk-missing", &[&child.name, &fk.name], &missing_detail);
    let mut sql = String::new();
    let changed_cols = pairs.iter().map(|(c, _)| c.clone()).collect::<Vec<_>>().join(", ");
    for event in ["INSERT".to_string(), format!("UPDATE OF {changed_cols}")] {
        sql.push_str(&format!(
            "CREATE TRIGGER {} AFTER {event} ON {child_table} WHEN {all_set} AND NOT EXISTS (SELECT 1 FROM {parent_table} WHERE {found}) \
             BEGIN {missing}; END;\n",
            next()
        ));
    }
    // The referenced side: rows referencing OLD's key.
    let referencing = pairs.iter().map(|(c, p)| format!("{child_table}.{c} = OLD.{p}")).collect::<Vec<_>>().join(" AND ");
    let still_detail = format!(
        "'Key ({})=(' || {} || ') is still referenced from table \"{}\".'",
        column_list(parent, &fk.ref_columns),
        values_sql(parent, &fk.ref_columns, "OLD"),
        child.name.replace('\'', "''"),
    );
    let referenced = raise("fk-referenced", &[&parent.name, &fk.name, &child.name], &still_detail);
    let key_changed = pairs.iter().map(|(_, p)| format!("OLD.{p} IS NOT NEW.{p}")).collect::<Vec<_>>().join(" OR ");
    let parent_cols = pairs.iter().map(|(_, p)| p.clone()).collect::<Vec<_>>().join(", ");
    let set_to = |action: ReferentialAction, from_new: bool| -> Result<String> {
        let sets = fk
            .columns
            .iter()
            .zip(&fk.ref_columns)
            .map(|(&c, &p)| {
                let value = match action {
                    ReferentialAction::Cascade if from_new => format!("NEW.{}", col(parent, p)),
                    ReferentialAction::SetDefault => match &child.columns[c].default_sql {
                        Some(default) => crate::translate::ddl::default_expr_sql(child.columns[c].ty, default, opts)?,
                        None => "NULL".to_string(),
                    },
                    _ => "NULL".to_string(),
                };
                Ok(format!("{} = {value}", col(child, c)))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(sets.join(", "))
    };
    // ON DELETE.
    let on_delete = match fk.on_delete {
        ReferentialAction::NoAction | ReferentialAction::Restrict => {
            format!("WHEN EXISTS (SELECT 1 FROM {child_table} WHERE {referencing}) BEGIN {referenced}; END")
        }
        ReferentialAction::Cascade => format!("BEGIN DELETE FROM {child_table} WHERE {referencing}; END"),
        action => format!("BEGIN UPDATE {child_table} SET {} WHERE {referencing}; END", set_to(action, false)?),
    };
    sql.push_str(&format!("CREATE TRIGGER {} AFTER DELETE ON {parent_table} {on_delete};\n", next()));
    // ON UPDATE of the referenced key.
    let on_update = match fk.on_update {
        ReferentialAction::NoAction | ReferentialAction::Restrict => format!(
            "WHEN ({key_changed}) AND EXISTS (SELECT 1 FROM {child_table} WHERE {referencing}) BEGIN {referenced}; END"
        ),
        action => format!(
            "WHEN {key_changed} BEGIN UPDATE {child_table} SET {} WHERE {referencing}; END",
            set_to(action, true)?
        ),
    };
    sql.push_str(&format!("CREATE TRIGGER {} AFTER UPDATE OF {parent_cols} ON {parent_table} {on_update};\n", next()));
    Ok(sql)
}

/// The PostgreSQL error a constraint trigger's message stands for; `None` for any other message.
pub fn violation(message: &str) -> Option<EngineError> {
    let mut fields = message.split(SEP);
    if fields.next()? != MARKER {
        return None;
    }
    let kind = fields.next()?;
    let rest: Vec<&str> = fields.collect();
    let detail = rest.last().map(|d| (*d).to_string()).filter(|d| !d.is_empty());
    match (kind, rest.as_slice()) {
        ("unique", [table, constraint, columns, _]) => Some(EngineError::UniqueViolation {
            table: (*table).into(),
            constraint: (*constraint).into(),
            columns: columns.split(COLUMN_SEP).map(str::to_string).collect(),
            detail,
        }),
        ("check", [table, constraint, _]) => {
            Some(EngineError::CheckViolation { table: (*table).into(), constraint: (*constraint).into(), detail })
        }
        ("fk-missing", [table, constraint, _]) => {
            Some(EngineError::ForeignKeyMissing { table: (*table).into(), constraint: (*constraint).into(), detail })
        }
        ("fk-referenced", [table, constraint, referencing, _]) => Some(EngineError::ForeignKeyReferenced {
            table: (*table).into(),
            constraint: (*constraint).into(),
            referencing: (*referencing).into(),
            detail,
        }),
        _ => None,
    }
}

/// Whether a referencing column of type `a` can reference a column of type `b` (PostgreSQL
/// needs an equality operator between them; here: the same family of types).
pub fn compatible(a: PgType, b: PgType) -> bool {
    use PgType as P;
    let family = |t: PgType| match t {
        P::Int2 | P::Int4 | P::Int8 => 0,
        P::Float4 | P::Float8 | P::Numeric { .. } => 1,
        P::Text | P::Varchar(_) | P::Bpchar(_) => 2,
        P::Timestamp | P::Timestamptz => 3,
        other => 10 + other.storage().len(),
    };
    a == b || family(a) == family(b) && family(a) < 10
}

/// The query finding one existing row of `child` that breaks `fk` (for ADD CONSTRAINT), giving
/// the DETAIL's value list.
pub fn first_orphan_sql(child: &TableDef, fk: &ForeignKeyDef, parent: &TableDef) -> String {
    let child_table = quote_ident(&child.name);
    let parent_table = quote_ident(&parent.name);
    let col = |def: &TableDef, i: usize| quote_ident(&def.columns[i].name);
    let all_set =
        fk.columns.iter().map(|&c| format!("{child_table}.{} IS NOT NULL", col(child, c))).collect::<Vec<_>>().join(" AND ");
    let found = fk
        .columns
        .iter()
        .zip(&fk.ref_columns)
        .map(|(&c, &p)| format!("{parent_table}.{} = {child_table}.{}", col(parent, p), col(child, c)))
        .collect::<Vec<_>>()
        .join(" AND ");
    format!(
        "SELECT {} FROM {child_table} WHERE {all_set} AND NOT EXISTS (SELECT 1 FROM {parent_table} WHERE {found}) LIMIT 1",
        values_sql(child, &fk.columns, &child_table),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_postgres() {
        assert_eq!(choose_name("orders", &["customer_id"], "fkey", &[]), "orders_customer_id_fkey");
        assert_eq!(choose_name("t", &["a"], "check", &["t_a_check".into()]), "t_a_check1");
        assert_eq!(choose_name("t", &[], "check", &[]), "t_check");
        let long = "x".repeat(70);
        let name = choose_name(&long, &["col"], "fkey", &[]);
        assert_eq!(name.len(), 63);
        assert!(name.ends_with("_fkey"));
    }

    #[test]
    fn trigger_messages_turn_back_into_postgres_errors() {
        let message = format!("{MARKER}{SEP}fk-referenced{SEP}customers{SEP}orders_customer_id_fkey{SEP}orders{SEP}Key (id)=(1) is still referenced from table \"orders\".");
        let err = violation(&message).unwrap();
        assert_eq!(err.sqlstate(), "23503");
        assert_eq!(
            err.to_string(),
            "update or delete on table \"customers\" violates foreign key constraint \"orders_customer_id_fkey\" on table \"orders\""
        );
        assert_eq!(err.detail(), Some("Key (id)=(1) is still referenced from table \"orders\"."));
        assert!(violation("CHECK constraint failed: x").is_none());
    }
}
