//! PostgreSQL's names for result columns (`count`, `?column?`, the column or alias name), so a
//! result's column names do not depend on which engine ran it.

use datafusion::sql::sqlparser::ast::{DataType, Expr, ObjectNamePart, Query, SelectItem, SetExpr};

use crate::catalog::normalize_ident;

/// The output names of a query's columns, or `None` where a wildcard makes them the engine's.
pub fn output_names(query: &Query) -> Option<Vec<String>> {
    body_output_names(&query.body)
}

/// [`output_names`] of a query body (a set operation is named by its leftmost query).
pub fn body_output_names(body: &SetExpr) -> Option<Vec<String>> {
    let select = match body {
        SetExpr::Select(select) => select,
        SetExpr::Query(inner) => return body_output_names(&inner.body),
        SetExpr::SetOperation { left, .. } => return body_output_names(left),
        _ => return None,
    };
    select
        .projection
        .iter()
        .map(|item| match item {
            SelectItem::UnnamedExpr(e) => Some(expr_name(e)),
            SelectItem::ExprWithAlias { alias, .. } => Some(normalize_ident(alias)),
            _ => None,
        })
        .collect()
}

/// Gives every item of a query's outermost projections (but wildcards) an alias of its own,
/// for planners that refuse equal result column names (DataFusion), which PostgreSQL allows:
/// `SELECT min(a), min(b)`, `SELECT c.oid, c.*`. Returns each alias with the name PostgreSQL
/// gives that column, to put back on the result.
pub fn alias_apart(query: &mut Query) -> Vec<(String, String)> {
    let mut renames = Vec::new();
    alias_apart_body(query.body.as_mut(), &mut renames);
    renames
}

fn alias_apart_body(body: &mut SetExpr, renames: &mut Vec<(String, String)>) {
    match body {
        SetExpr::Select(select) => {
            for (i, item) in select.projection.iter_mut().enumerate() {
                let alias = format!("__rhei_column_{i}");
                let replaced = match std::mem::replace(item, SelectItem::Wildcard(Default::default())) {
                    SelectItem::UnnamedExpr(expr) => {
                        renames.push((alias.clone(), expr_name(&expr)));
                        SelectItem::ExprWithAlias { expr, alias: datafusion::sql::sqlparser::ast::Ident::with_quote('"', alias) }
                    }
                    SelectItem::ExprWithAlias { expr, alias: given } => {
                        renames.push((alias.clone(), normalize_ident(&given)));
                        SelectItem::ExprWithAlias { expr, alias: datafusion::sql::sqlparser::ast::Ident::with_quote('"', alias) }
                    }
                    other => other,
                };
                *item = replaced;
            }
        }
        SetExpr::Query(query) => alias_apart_body(query.body.as_mut(), renames),
        SetExpr::SetOperation { left, .. } => alias_apart_body(left, renames),
        _ => {}
    }
}

/// The name of items of a RETURNING list.
pub fn item_names(items: &[SelectItem]) -> Option<Vec<String>> {
    items
        .iter()
        .map(|item| match item {
            SelectItem::UnnamedExpr(e) => Some(expr_name(e)),
            SelectItem::ExprWithAlias { alias, .. } => Some(normalize_ident(alias)),
            _ => None,
        })
        .collect()
}

/// What PostgreSQL calls an unaliased expression's column (FigureColname).
pub fn expr_name(expr: &Expr) -> String {
    figure_colname(expr).0
}

/// An expression's column name and how strongly it holds, as in PostgreSQL: 2 for a name
/// (column, function), 1 for a type's or `case`, 0 for none (`?column?`). A cast names its
/// column after its type unless what it casts has a real name: `1.5::float8::text` is `text`,
/// `price::float8` is `price`.
fn figure_colname(expr: &Expr) -> (String, u8) {
    let named = |name: String| (name, 2);
    match expr {
        Expr::Identifier(ident) => named(normalize_ident(ident)),
        Expr::CompoundIdentifier(parts) => parts.last().map_or_else(|| ("?column?".into(), 0), |p| named(normalize_ident(p))),
        Expr::Function(f) => match f.name.0.last() {
            Some(ObjectNamePart::Identifier(ident)) => named(normalize_ident(ident)),
            _ => ("?column?".into(), 0),
        },
        Expr::Nested(inner) => figure_colname(inner),
        Expr::Cast { expr, data_type, .. } => match figure_colname(expr) {
            (name, 2) => (name, 2),
            _ => (type_colname(data_type), 1),
        },
        Expr::TypedString(t) => (type_colname(&t.data_type), 1),
        Expr::Case { .. } => ("case".into(), 1),
        Expr::Extract { .. } => named("extract".into()),
        Expr::Substring { .. } => named("substring".into()),
        Expr::Position { .. } => named("position".into()),
        Expr::Trim { .. } => named("btrim".into()),
        Expr::Ceil { .. } => named("ceil".into()),
        Expr::Floor { .. } => named("floor".into()),
        Expr::Exists { .. } => named("exists".into()),
        Expr::Array(_) => named("array".into()),
        Expr::AtTimeZone { .. } => named("timezone".into()),
        _ => ("?column?".into(), 0),
    }
}

fn type_colname(ty: &DataType) -> String {
    match ty {
        DataType::Int(_) | DataType::Int4(_) | DataType::Integer(_) => "int4".into(),
        DataType::BigInt(_) | DataType::Int8(_) => "int8".into(),
        DataType::SmallInt(_) | DataType::Int2(_) => "int2".into(),
        DataType::Text => "text".into(),
        DataType::Varchar(_) | DataType::CharacterVarying(_) => "varchar".into(),
        DataType::Numeric(_) | DataType::Decimal(_) => "numeric".into(),
        DataType::Bool | DataType::Boolean => "bool".into(),
        DataType::Date => "date".into(),
        DataType::Real | DataType::Float4 => "float4".into(),
        DataType::DoublePrecision | DataType::Float8 | DataType::Double(_) => "float8".into(),
        DataType::Timestamp(_, datafusion::sql::sqlparser::ast::TimezoneInfo::WithTimeZone | datafusion::sql::sqlparser::ast::TimezoneInfo::Tz) => {
            "timestamptz".into()
        }
        DataType::Timestamp(..) => "timestamp".into(),
        other => other.to_string().to_ascii_lowercase(),
    }
}

/// Quotes an identifier only where PostgreSQL's `quote_ident` would: names that are not all
/// lower-case letters, digits, `_` and `$` (not starting with a digit or `$`), and keywords.
pub fn display_ident(name: &str) -> String {
    let plain = name.chars().next().is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '$')
        && !RESERVED_KEYWORDS.contains(&name);
    if plain { name.to_string() } else { format!("\"{}\"", name.replace('"', "\"\"")) }
}

/// Whether `text` contains `word`, ignoring ASCII case: a look at a statement's text before
/// its tree is walked for something most statements never have.
/// Runs on every statement (several words each), so it looks for the word's first byte
/// before comparing the rest: a full comparison at every position was 7% of a point read.
pub fn mentions(text: &str, word: &str) -> bool {
    let (text, word) = (text.as_bytes(), word.as_bytes());
    let Some((&first, rest)) = word.split_first() else { return true };
    let Some(last_start) = text.len().checked_sub(word.len()) else { return false };
    let (lower, upper) = (first.to_ascii_lowercase(), first.to_ascii_uppercase());
    text[..=last_start]
        .iter()
        .enumerate()
        .any(|(i, &b)| (b == lower || b == upper) && text[i + 1..i + word.len()].eq_ignore_ascii_case(rest))
}

/// PostgreSQL's `quote_literal`: the text in single quotes, quotes doubled, and with an `E`
/// prefix and backslashes doubled when it has any.
pub fn quote_literal(text: &str) -> String {
    let quoted = text.replace('\'', "''");
    if text.contains('\\') { format!("E'{}'", quoted.replace('\\', "\\\\")) } else { format!("'{quoted}'") }
}

/// PostgreSQL 15's keywords that `quote_ident` quotes (every category but unreserved).
pub const RESERVED_KEYWORDS: &[&str] = &[
    "all",
    "analyse",
    "analyze",
    "and",
    "any",
    "array",
    "as",
    "asc",
    "asymmetric",
    "authorization",
    "between",
    "bigint",
    "binary",
    "bit",
    "boolean",
    "both",
    "case",
    "cast",
    "char",
    "character",
    "check",
    "coalesce",
    "collate",
    "collation",
    "column",
    "concurrently",
    "constraint",
    "create",
    "cross",
    "current_catalog",
    "current_date",
    "current_role",
    "current_schema",
    "current_time",
    "current_timestamp",
    "current_user",
    "dec",
    "decimal",
    "default",
    "deferrable",
    "desc",
    "distinct",
    "do",
    "else",
    "end",
    "except",
    "exists",
    "extract",
    "false",
    "fetch",
    "float",
    "for",
    "foreign",
    "freeze",
    "from",
    "full",
    "grant",
    "greatest",
    "group",
    "grouping",
    "having",
    "ilike",
    "in",
    "initially",
    "inner",
    "inout",
    "int",
    "integer",
    "intersect",
    "interval",
    "into",
    "is",
    "isnull",
    "join",
    "json",
    "lateral",
    "leading",
    "least",
    "left",
    "like",
    "limit",
    "localtime",
    "localtimestamp",
    "national",
    "natural",
    "nchar",
    "none",
    "normalize",
    "not",
    "notnull",
    "null",
    "nullif",
    "numeric",
    "offset",
    "on",
    "only",
    "or",
    "order",
    "out",
    "outer",
    "overlaps",
    "overlay",
    "placing",
    "position",
    "precision",
    "primary",
    "real",
    "references",
    "returning",
    "right",
    "row",
    "select",
    "session_user",
    "setof",
    "similar",
    "smallint",
    "some",
    "substring",
    "symmetric",
    "system_user",
    "table",
    "tablesample",
    "then",
    "time",
    "timestamp",
    "to",
    "trailing",
    "treat",
    "trim",
    "true",
    "union",
    "unique",
    "user",
    "using",
    "values",
    "varchar",
    "variadic",
    "verbose",
    "when",
    "where",
    "window",
    "with",
    "xmlattributes",
    "xmlconcat",
    "xmlelement",
    "xmlexists",
    "xmlforest",
    "xmlnamespaces",
    "xmlparse",
    "xmlpi",
    "xmlroot",
    "xmlserialize",
    "xmltable",
];

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::sql::sqlparser::ast::Statement;

    #[test]
    fn mentions_ignores_ascii_case_anywhere_in_the_text() {
        assert!(mentions("SELECT Current_User", "current_user"));
        assert!(mentions("version", "version"));
        assert!(mentions("x.VERSION", "version"));
        assert!(!mentions("versio", "version"));
        assert!(!mentions("SELECT v FROM t", "version"));
        assert!(mentions("SELECT 'é' || user", "user"));
        assert!(!mentions("", "user"));
        assert!(mentions("anything", ""));
    }
    use datafusion::sql::sqlparser::{dialect::PostgreSqlDialect, parser::Parser};

    #[test]
    fn names_follow_postgres() {
        let Statement::Query(q) = Parser::parse_sql(
            &PostgreSqlDialect {},
            "SELECT count(*), t.\"Name\", x AS Total, 1 + 1, '5'::int, amount::text, CASE WHEN true THEN 1 END, 1.5::float8::text, (CASE WHEN x THEN 1 END)::int8, amount::float8::text FROM t",
        )
        .unwrap()
        .remove(0) else {
            panic!()
        };
        assert_eq!(
            output_names(&q).unwrap(),
            vec!["count", "Name", "total", "?column?", "int4", "amount", "case", "text", "int8", "amount"]
        );
    }
}
