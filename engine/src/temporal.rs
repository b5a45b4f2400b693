//! Point-in-time queries over temporal replica tables (DESIGN.md, Temporal queries).
//!
//! A temporal table stores versions; users query rows. Every reference to one is rewritten into
//! a derived table over its versions before routing, so both engines answer the same SQL:
//! - no clause (and no `rhei.as_of`): the current versions (`_rhei_valid_to IS NULL`), with the
//!   upstream's columns only, so `SELECT *` looks exactly like the upstream table;
//! - `FOR SYSTEM_TIME AS OF x` (or `SET rhei.as_of = x` for every table of the session): the
//!   versions valid at `x`, same columns;
//! - `FOR SYSTEM_TIME BETWEEN a AND b`: versions valid at any instant from `a` to `b`;
//! - `FOR SYSTEM_TIME ALL`: every version. These two also show the validity columns.
//!
//! sqlparser reads `FOR SYSTEM_TIME AS OF <expr>` only when the dialect allows table versioning,
//! and the other two forms not at all, so texts that mention SYSTEM_TIME are first rewritten
//! token by token into the AS OF form (with marker identifiers) and parsed with a PostgreSQL
//! dialect that has versioning on.

use std::ops::ControlFlow;

use datafusion::sql::sqlparser::ast::{
    Expr, Ident, Query, Statement, TableAlias, TableFactor, TableVersion, VisitMut, VisitorMut,
};
use datafusion::sql::sqlparser::dialect::{Dialect, PostgreSqlDialect, Precedence};
use datafusion::sql::sqlparser::parser::{Parser, ParserError};
use datafusion::sql::sqlparser::tokenizer::{Token, Tokenizer, Word};

use crate::catalog::{Catalog, TableDef, VALID_FROM, VALID_TO, quote_ident, table_name};
use crate::error::{EngineError, Result};

/// The session setting that time-travels every temporal table (`SET rhei.as_of = '...'`;
/// empty or `DEFAULT` for the present).
pub(crate) const AS_OF_SETTING: &str = "rhei.as_of";

/// Validates a `rhei.as_of` value: empty, or a timestamp PostgreSQL would read.
pub(crate) fn is_valid_as_of(value: &str) -> bool {
    value.trim().is_empty() || crate::value::parse_timestamp_micros(value.trim()).is_some()
}

const BETWEEN_MARKER: &str = "__rhei_system_time_between";
const ALL_MARKER: &str = "__rhei_system_time_all";

/// PostgreSQL's dialect with `FOR SYSTEM_TIME AS OF` after table names. It reports itself as
/// PostgreSqlDialect, so every PostgreSQL-specific parse rule still applies.
#[derive(Debug)]
pub(crate) struct TemporalDialect(PostgreSqlDialect);

// Every method PostgreSqlDialect overrides is delegated (sqlparser 0.61); only table versioning
// differs.
impl Dialect for TemporalDialect {
    fn dialect(&self) -> std::any::TypeId {
        std::any::TypeId::of::<PostgreSqlDialect>()
    }
    fn supports_table_versioning(&self) -> bool {
        true
    }
    fn identifier_quote_style(&self, identifier: &str) -> Option<char> {
        self.0.identifier_quote_style(identifier)
    }
    fn is_delimited_identifier_start(&self, ch: char) -> bool {
        self.0.is_delimited_identifier_start(ch)
    }
    fn is_identifier_start(&self, ch: char) -> bool {
        self.0.is_identifier_start(ch)
    }
    fn is_identifier_part(&self, ch: char) -> bool {
        self.0.is_identifier_part(ch)
    }
    fn is_custom_operator_part(&self, ch: char) -> bool {
        self.0.is_custom_operator_part(ch)
    }
    fn get_next_precedence(&self, parser: &Parser) -> Option<std::result::Result<u8, ParserError>> {
        self.0.get_next_precedence(parser)
    }
    fn prec_value(&self, prec: Precedence) -> u8 {
        self.0.prec_value(prec)
    }
    fn supports_unicode_string_literal(&self) -> bool {
        self.0.supports_unicode_string_literal()
    }
    fn supports_filter_during_aggregation(&self) -> bool {
        self.0.supports_filter_during_aggregation()
    }
    fn supports_group_by_expr(&self) -> bool {
        self.0.supports_group_by_expr()
    }
    fn allow_extract_custom(&self) -> bool {
        self.0.allow_extract_custom()
    }
    fn allow_extract_single_quotes(&self) -> bool {
        self.0.allow_extract_single_quotes()
    }
    fn supports_create_index_with_clause(&self) -> bool {
        self.0.supports_create_index_with_clause()
    }
    fn supports_explain_with_utility_options(&self) -> bool {
        self.0.supports_explain_with_utility_options()
    }
    fn supports_listen_notify(&self) -> bool {
        self.0.supports_listen_notify()
    }
    fn supports_factorial_operator(&self) -> bool {
        self.0.supports_factorial_operator()
    }
    fn supports_bitwise_shift_operators(&self) -> bool {
        self.0.supports_bitwise_shift_operators()
    }
    fn supports_comment_on(&self) -> bool {
        self.0.supports_comment_on()
    }
    fn supports_load_extension(&self) -> bool {
        self.0.supports_load_extension()
    }
    fn supports_named_fn_args_with_colon_operator(&self) -> bool {
        self.0.supports_named_fn_args_with_colon_operator()
    }
    fn supports_named_fn_args_with_expr_name(&self) -> bool {
        self.0.supports_named_fn_args_with_expr_name()
    }
    fn supports_empty_projections(&self) -> bool {
        self.0.supports_empty_projections()
    }
    fn supports_nested_comments(&self) -> bool {
        self.0.supports_nested_comments()
    }
    fn supports_string_escape_constant(&self) -> bool {
        self.0.supports_string_escape_constant()
    }
    fn supports_numeric_literal_underscores(&self) -> bool {
        self.0.supports_numeric_literal_underscores()
    }
    fn supports_array_typedef_with_brackets(&self) -> bool {
        self.0.supports_array_typedef_with_brackets()
    }
    fn supports_geometric_types(&self) -> bool {
        self.0.supports_geometric_types()
    }
    fn supports_set_names(&self) -> bool {
        self.0.supports_set_names()
    }
    fn supports_alter_column_type_using(&self) -> bool {
        self.0.supports_alter_column_type_using()
    }
    fn supports_notnull_operator(&self) -> bool {
        self.0.supports_notnull_operator()
    }
    fn supports_interval_options(&self) -> bool {
        self.0.supports_interval_options()
    }
}

/// Whether a statement text may use `FOR SYSTEM_TIME` (cheap: most texts never do).
pub(crate) fn mentions_system_time(sql: &str) -> bool {
    crate::naming::mentions(sql, "system_time")
}

/// Parses a text that mentions SYSTEM_TIME, reading every form of the clause.
///
/// # Errors
/// The parser's, for texts that do not parse.
pub(crate) fn parse(sql: &str) -> std::result::Result<Vec<Statement>, ParserError> {
    let dialect = TemporalDialect(PostgreSqlDialect {});
    let tokens = Tokenizer::new(&dialect, sql).tokenize()?;
    let mut out: Vec<Token> = Vec::with_capacity(tokens.len() + 8);
    let word = |t: &Token, kw: &str| matches!(t, Token::Word(Word { value, quote_style: None, .. }) if value.eq_ignore_ascii_case(kw));
    let ident = |name: &str| Token::Word(Word { value: name.into(), quote_style: None, keyword: datafusion::sql::sqlparser::keywords::Keyword::NoKeyword });
    let space = || Token::Whitespace(datafusion::sql::sqlparser::tokenizer::Whitespace::Space);
    let significant = |out: &[Token], back: usize| out.iter().rev().filter(|t| !matches!(t, Token::Whitespace(_))).nth(back).cloned();
    for token in tokens {
        let after_system_time = significant(&out, 0).is_some_and(|t| word(&t, "system_time"))
            && significant(&out, 1).is_some_and(|t| word(&t, "for"));
        if after_system_time && (word(&token, "between") || word(&token, "all")) {
            let marker = if word(&token, "all") { ALL_MARKER } else { BETWEEN_MARKER };
            out.extend([ident("AS"), space(), ident("OF"), space(), ident(marker)]);
            if marker == BETWEEN_MARKER {
                out.extend([space(), token]);
            }
            continue;
        }
        out.push(token);
    }
    let text: String = out.iter().map(ToString::to_string).collect();
    Parser::new(&dialect).try_with_sql(&text)?.parse_statements()
}

/// Which versions of a temporal table a reference sees.
enum Versions {
    Current,
    AsOf(String),
    Between(String, String),
    All,
}

impl Versions {
    fn of(version: Option<&TableVersion>, session_as_of: Option<&str>) -> Result<Self> {
        let at = |e: &Expr| format!("CAST({e} AS TIMESTAMPTZ)");
        match version {
            None => Ok(session_as_of.map_or(Self::Current, |t| Self::AsOf(at(&Expr::value(datafusion::sql::sqlparser::ast::Value::SingleQuotedString(t.to_string())))))),
            Some(TableVersion::ForSystemTimeAsOf(Expr::Identifier(i))) if i.value == ALL_MARKER => Ok(Self::All),
            Some(TableVersion::ForSystemTimeAsOf(Expr::Between { expr, negated: false, low, high }))
                if matches!(expr.as_ref(), Expr::Identifier(i) if i.value == BETWEEN_MARKER) =>
            {
                Ok(Self::Between(at(low), at(high)))
            }
            Some(TableVersion::ForSystemTimeAsOf(e)) => Ok(Self::AsOf(at(e))),
            Some(other) => Err(EngineError::unsupported(format!("table version clause {other}"))),
        }
    }

    /// The derived table standing for `def` under these versions.
    fn subquery(&self, def: &TableDef) -> Result<Query> {
        let dropped = def.replica.as_ref().map(|r| r.dropped.as_slice()).unwrap_or_default();
        let (user, current): (Vec<String>, Vec<String>) = (
            def.user_columns().iter().map(|c| quote_ident(&c.name)).collect(),
            def.user_columns().iter().filter(|c| !dropped.contains(&c.name)).map(|c| quote_ident(&c.name)).collect(),
        );
        let all: Vec<String> = def.columns.iter().map(|c| quote_ident(&c.name)).collect();
        let (from, to) = (quote_ident(VALID_FROM), quote_ident(VALID_TO));
        let (columns, filter) = match self {
            Self::Current => (current, format!("{to} IS NULL")),
            Self::AsOf(t) => (user, format!("{from} <= {t} AND ({to} IS NULL OR {to} > {t})")),
            Self::Between(a, b) => (all, format!("{from} <= {b} AND ({to} IS NULL OR {to} > {a})")),
            Self::All => (all, "true".to_string()),
        };
        let sql = format!("SELECT {} FROM {} WHERE {filter}", columns.join(", "), quote_ident(&def.name));
        match Parser::parse_sql(&PostgreSqlDialect {}, &sql).map_err(|e| EngineError::syntax(e.to_string()))?.pop() {
            Some(Statement::Query(q)) => Ok(*q),
            _ => Err(EngineError::Internal("temporal rewrite did not produce a query".into())),
        }
    }
}

struct Rewriter<'a> {
    catalog: &'a Catalog,
    as_of: Option<&'a str>,
    changed: bool,
    error: Option<EngineError>,
}

impl VisitorMut for Rewriter<'_> {
    type Break = ();

    fn post_visit_table_factor(&mut self, factor: &mut TableFactor) -> ControlFlow<()> {
        let TableFactor::Table { name, alias, version, args: None, .. } = factor else { return ControlFlow::Continue(()) };
        let Some(def) = table_name(name).ok().and_then(|n| self.catalog.get(&n)) else {
            return ControlFlow::Continue(());
        };
        if !def.is_temporal() {
            if version.is_some() {
                self.error = Some(EngineError::unsupported(format!(
                    "FOR SYSTEM_TIME on \"{}\", which keeps no history (only temporal replica tables do)",
                    def.name
                )));
                return ControlFlow::Break(());
            }
            return ControlFlow::Continue(());
        }
        let subquery = match Versions::of(version.as_ref(), self.as_of).and_then(|v| v.subquery(def)) {
            Ok(q) => q,
            Err(e) => {
                self.error = Some(e);
                return ControlFlow::Break(());
            }
        };
        let alias = alias.take().unwrap_or_else(|| TableAlias {
            explicit: true,
            name: Ident::with_quote('"', def.name.clone()),
            columns: Vec::new(),
        });
        *factor = TableFactor::Derived { lateral: false, subquery: Box::new(subquery), alias: Some(alias), sample: None };
        self.changed = true;
        ControlFlow::Continue(())
    }
}

/// The query with every temporal table reference replaced by the versions it sees; `None` when
/// it names no temporal table (and uses no FOR SYSTEM_TIME).
///
/// # Errors
/// FOR SYSTEM_TIME on a table without history (0A000).
pub(crate) fn rewrite(query: &Query, catalog: &Catalog, as_of: Option<&str>) -> Result<Option<Query>> {
    let mut rewritten = query.clone();
    let mut rewriter = Rewriter { catalog, as_of, changed: false, error: None };
    let _ = rewritten.visit(&mut rewriter);
    if let Some(e) = rewriter.error {
        return Err(e);
    }
    Ok(rewriter.changed.then_some(rewritten))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::{ColumnDef, PgType, ReplicaDef, TableId};

    fn catalog() -> Catalog {
        let col = |name: &str, ty| ColumnDef { name: name.into(), ty, not_null: false, is_serial: false, default_sql: None };
        Catalog::from_tables([
            TableDef {
                id: TableId(1),
                name: "t".into(),
                columns: vec![col("id", PgType::Int8), col("v", PgType::Text), col(VALID_FROM, PgType::Timestamptz), col(VALID_TO, PgType::Timestamptz)],
                primary_key: vec![],
                unique: vec![],
                replica: Some(ReplicaDef { upstream: "public.t".into(), key: vec![0], temporal: true, key_unique: true, dropped: Vec::new() }),
                ..Default::default()
            },
            TableDef {
                id: TableId(2),
                name: "plain".into(),
                columns: vec![col("id", PgType::Int8)],
                primary_key: vec![0],
                unique: vec![],
                replica: None,
                ..Default::default()
            },
        ])
    }

    fn rewritten(sql: &str, as_of: Option<&str>) -> String {
        let Statement::Query(q) = parse(sql).unwrap().remove(0) else { panic!("not a query") };
        rewrite(&q, &catalog(), as_of).unwrap().map_or_else(|| q.to_string(), |q| q.to_string())
    }

    #[test]
    fn every_form_of_the_clause_becomes_a_filter_on_the_versions() {
        assert_eq!(
            rewritten("SELECT * FROM t WHERE id = 1", None),
            "SELECT * FROM (SELECT \"id\", \"v\" FROM \"t\" WHERE \"_rhei_valid_to\" IS NULL) AS \"t\" WHERE id = 1"
        );
        assert_eq!(
            rewritten("SELECT v FROM t FOR SYSTEM_TIME AS OF '2026-01-01 00:00:00+00' AS x", None),
            "SELECT v FROM (SELECT \"id\", \"v\" FROM \"t\" WHERE \"_rhei_valid_from\" <= CAST('2026-01-01 00:00:00+00' AS TIMESTAMPTZ) \
             AND (\"_rhei_valid_to\" IS NULL OR \"_rhei_valid_to\" > CAST('2026-01-01 00:00:00+00' AS TIMESTAMPTZ))) AS x"
        );
        assert_eq!(
            rewritten("select count(*) from t for system_time between '2026-01-01' and now() where id > 0", None),
            "SELECT count(*) FROM (SELECT \"id\", \"v\", \"_rhei_valid_from\", \"_rhei_valid_to\" FROM \"t\" WHERE \"_rhei_valid_from\" <= CAST(now() AS TIMESTAMPTZ) \
             AND (\"_rhei_valid_to\" IS NULL OR \"_rhei_valid_to\" > CAST('2026-01-01' AS TIMESTAMPTZ))) AS \"t\" WHERE id > 0"
        );
        assert_eq!(
            rewritten("SELECT * FROM t FOR SYSTEM_TIME ALL ORDER BY 1", None),
            "SELECT * FROM (SELECT \"id\", \"v\", \"_rhei_valid_from\", \"_rhei_valid_to\" FROM \"t\" WHERE true) AS \"t\" ORDER BY 1"
        );
    }

    #[test]
    fn the_session_as_of_applies_to_every_temporal_table_but_not_to_others() {
        assert_eq!(
            rewritten("SELECT * FROM t JOIN plain USING (id)", Some("2026-01-01")),
            "SELECT * FROM (SELECT \"id\", \"v\" FROM \"t\" WHERE \"_rhei_valid_from\" <= CAST('2026-01-01' AS TIMESTAMPTZ) \
             AND (\"_rhei_valid_to\" IS NULL OR \"_rhei_valid_to\" > CAST('2026-01-01' AS TIMESTAMPTZ))) AS \"t\" JOIN plain USING(id)"
        );
        assert_eq!(rewritten("SELECT * FROM plain", Some("2026-01-01")), "SELECT * FROM plain");
    }

    #[test]
    fn history_clauses_on_tables_without_history_are_refused() {
        let Statement::Query(q) = parse("SELECT * FROM plain FOR SYSTEM_TIME ALL").unwrap().remove(0) else { panic!() };
        let err = rewrite(&q, &catalog(), None).unwrap_err();
        assert_eq!(err.sqlstate(), "0A000");
    }

    #[test]
    fn the_clause_inside_strings_and_comments_is_left_alone() {
        assert_eq!(
            rewritten("SELECT 'for system_time all' FROM plain -- for system_time all", None),
            "SELECT 'for system_time all' FROM plain"
        );
    }
}
