//! Literal lifting: `INSERT INTO t VALUES (7, 'x')` becomes `INSERT INTO t VALUES ($1, $2)` with
//! the values 7 and 'x' on the side, so statements that differ only in their constants share one
//! parse, one translation and one prepared SQLite statement (clients that send literals through
//! the simple protocol, pgbench `-M simple` and most ORMs, would otherwise pay all three per
//! statement).
//!
//! The lexer here only proposes; [`lift_is_safe`] decides on the parsed statement. A lifted value
//! is accepted only where the translator treats a literal and a parameter alike and SQLite binds
//! the value exactly as it would have read the literal: elements of a VALUES row, assigned values,
//! and comparisons, IN lists and BETWEEN bounds against a column. Anything else (a projection, a
//! function argument, ORDER BY 2, LIMIT 10, `DATE '...'`, `'x'::type`) keeps the statement
//! un-lifted, and it is parsed as written.

use std::ops::ControlFlow;

use datafusion::common::ScalarValue;
use datafusion::sql::sqlparser::ast::{
    Assignment, BinaryOperator, Expr, OnConflictAction, OnInsert, SetExpr, Statement, Value, ValueWithSpan, Visit,
    VisitMut, Visitor, visit_expressions_mut,
};

/// SQLite's default limit on bound parameters (SQLITE_MAX_VARIABLE_NUMBER).
const MAX_LIFTED: usize = 32_766;

/// A statement text with its literals replaced by `$n`, and the values taken out.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Lifted {
    pub text: String,
    pub values: Vec<ScalarValue>,
}

/// Proposes a lifting of `sql`'s literals, or `None` when the text has anything the simple lexer
/// here does not follow (comments, existing `$` parameters or dollar quotes, escape strings).
pub(crate) fn lift_literals(sql: &str) -> Option<Lifted> {
    let bytes = sql.as_bytes();
    let mut text = String::with_capacity(sql.len());
    let mut values = Vec::new();
    // Start of the text not yet copied to `text`.
    let mut copied = 0;
    // The last significant character before the current position, and whether it ended a word.
    let mut prev: u8 = b' ';
    let mut prev_word = false;
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        match c {
            b'$' => return None,
            b'-' if bytes.get(i + 1) == Some(&b'-') => return None,
            b'/' if bytes.get(i + 1) == Some(&b'*') => return None,
            b'"' => {
                i = closing_quote(bytes, i, b'"')?;
                prev = b'"';
                prev_word = true;
                continue;
            }
            b'\'' => {
                let end = closing_quote(bytes, i, b'\'')?;
                let typed = prev_word || followed_by_cast(bytes, end);
                if !typed && values.len() < MAX_LIFTED {
                    text.push_str(&sql[copied..i]);
                    values.push(ScalarValue::Utf8(Some(sql[i + 1..end - 1].replace("''", "'"))));
                    push_placeholder(&mut text, values.len());
                    copied = end;
                }
                i = end;
                prev = b'\'';
                prev_word = false;
                continue;
            }
            b'0'..=b'9' | b'.' | b'-' => {
                let unary_minus = c == b'-';
                let operand_position = !prev_word && prev != b'.';
                if unary_minus && !(operand_position && matches!(prev, b'(' | b',' | b'=' | b'<' | b'>' | b'+' | b'-' | b'*' | b'/')) {
                    prev = c;
                    prev_word = false;
                    i += 1;
                    continue;
                }
                let start = i;
                let digits_start = if unary_minus { skip_spaces(bytes, i + 1) } else { i };
                let end = number_end(bytes, digits_start);
                if end == digits_start {
                    // A lone `.` or `-`.
                    prev = c;
                    prev_word = false;
                    i += 1;
                    continue;
                }
                if bytes.get(end).is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'_') {
                    return None;
                }
                // After a word (LIMIT 10, SELECT 1) a number stays in the text.
                if operand_position && !followed_by_cast(bytes, end) && values.len() < MAX_LIFTED {
                    let literal: String = sql[start..end].chars().filter(|c| !c.is_whitespace()).collect();
                    let value = match literal.parse::<i64>() {
                        Ok(n) => Some(ScalarValue::Int64(Some(n))),
                        // A literal with more digits than a double holds exactly, an integer
                        // beyond bigint, or trailing fraction zeros stays in the text: numeric
                        // keeps every digit (1234567890123456789.12 was stored as
                        // 1234567890123456800.00) and the written scale (1.50 was 1.5).
                        Err(_) if !needs_exact_text(&literal) => {
                            Some(ScalarValue::Float64(Some(literal.parse::<f64>().ok().filter(|f| f.is_finite())?)))
                        }
                        Err(_) => None,
                    };
                    if let Some(value) = value {
                        text.push_str(&sql[copied..start]);
                        values.push(value);
                        push_placeholder(&mut text, values.len());
                        copied = end;
                    }
                }
                i = end;
                prev = b'0';
                prev_word = false;
                continue;
            }
            c if c.is_ascii_alphabetic() || c == b'_' || c >= 0x80 => {
                let start = i;
                while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_' || bytes[i] >= 0x80) {
                    i += 1;
                }
                // E'...' (backslash escapes) and U&'...' are read differently: leave such texts alone.
                if bytes.get(i) == Some(&b'\'') && sql[start..i].eq_ignore_ascii_case("e") {
                    return None;
                }
                if bytes.get(i) == Some(&b'&') {
                    return None;
                }
                prev = b'a';
                prev_word = true;
                continue;
            }
            c if c.is_ascii_whitespace() => {}
            c => {
                prev = c;
                prev_word = false;
            }
        }
        i += 1;
    }
    if values.is_empty() {
        return None;
    }
    text.push_str(&sql[copied..]);
    Some(Lifted { text, values })
}

fn push_placeholder(text: &mut String, n: usize) {
    text.push('$');
    text.push_str(&n.to_string());
}

/// The index just past the quote closing the one at `open` (a doubled quote is part of the text).
fn closing_quote(bytes: &[u8], open: usize, quote: u8) -> Option<usize> {
    let mut i = open + 1;
    loop {
        match bytes.get(i)? {
            q if *q == quote => {
                if bytes.get(i + 1) == Some(&quote) {
                    i += 2;
                } else {
                    return Some(i + 1);
                }
            }
            _ => i += 1,
        }
    }
}

fn skip_spaces(bytes: &[u8], mut i: usize) -> usize {
    while bytes.get(i).is_some_and(u8::is_ascii_whitespace) {
        i += 1;
    }
    i
}

fn followed_by_cast(bytes: &[u8], end: usize) -> bool {
    let next = skip_spaces(bytes, end);
    bytes.get(next) == Some(&b':') && bytes.get(next + 1) == Some(&b':')
}

/// The end of a decimal number starting at `i` (digits, one `.`, an exponent).
fn number_end(bytes: &[u8], mut i: usize) -> usize {
    let start = i;
    while bytes.get(i).is_some_and(u8::is_ascii_digit) {
        i += 1;
    }
    if bytes.get(i) == Some(&b'.') {
        i += 1;
        while bytes.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
    }
    if i == start || (i == start + 1 && bytes[start] == b'.') {
        return start;
    }
    if matches!(bytes.get(i), Some(b'e' | b'E')) {
        let mut j = i + 1;
        if matches!(bytes.get(j), Some(b'+' | b'-')) {
            j += 1;
        }
        if bytes.get(j).is_some_and(u8::is_ascii_digit) {
            while bytes.get(j).is_some_and(u8::is_ascii_digit) {
                j += 1;
            }
            i = j;
        }
    }
    i
}

/// Whether every parameter of a lifted statement sits where a literal and a parameter mean the
/// same on SQLite (see the module docs). A query routed to DataFusion gets its literals back
/// first ([`restore_literals`]): DataFusion types a parameter by its context, a literal by its text.
pub(crate) fn lift_is_safe(stmt: &Statement, lifted: usize) -> bool {
    if !matches!(stmt, Statement::Insert(_) | Statement::Update(_) | Statement::Delete(_) | Statement::Query(_)) {
        return false;
    }
    let mut approved = vec![false; lifted];
    let approve_assignments = |approved: &mut [bool], assignments: &[Assignment]| {
        for assignment in assignments {
            approve(approved, &assignment.value);
            // SET n = n + 1
            if let Expr::BinaryOp { left, op: BinaryOperator::Plus | BinaryOperator::Minus | BinaryOperator::Multiply, right } =
                &assignment.value
                && is_column(left)
            {
                approve(approved, right);
            }
        }
    };
    match stmt {
        Statement::Insert(insert) => {
            if let Some(source) = &insert.source {
                match source.body.as_ref() {
                    SetExpr::Values(values) => values.rows.iter().flatten().for_each(|e| approve(&mut approved, e)),
                    _ => return false,
                }
            }
            if let Some(OnInsert::OnConflict(conflict)) = &insert.on
                && let OnConflictAction::DoUpdate(update) = &conflict.action
            {
                approve_assignments(&mut approved, &update.assignments);
            }
        }
        Statement::Update(update) => approve_assignments(&mut approved, &update.assignments),
        _ => {}
    }
    let mut comparisons = ComparisonsWithColumns { approved: &mut approved };
    let _ = stmt.visit(&mut comparisons);
    let mut all = AllPlaceholders { seen: Vec::new() };
    let _ = stmt.visit(&mut all);
    // Each lifted value must appear exactly once, and in an approved place.
    all.seen.len() == lifted && all.seen.iter().all(|n| approved.get(*n).copied().unwrap_or(false))
}

/// Whether a number literal that is not a bigint must reach numeric as its text: a double
/// would change it (more digits than a double keeps, about 15, or an integer beyond bigint),
/// or drop the scale it was written with (`1.50`, which PostgreSQL's numeric shows as `1.50`).
pub(crate) fn needs_exact_text(literal: &str) -> bool {
    let written_scale = !literal.contains(['e', 'E']) && literal.contains('.') && literal.ends_with('0');
    written_scale || !literal.contains(['.', 'e', 'E']) || significant_digits(literal) > f64::DIGITS as usize
}

/// The significant digits of a number literal's mantissa (`-0.00120e5` has 3).
fn significant_digits(literal: &str) -> usize {
    let mantissa = literal.split(['e', 'E']).next().unwrap_or(literal);
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    digits.trim_start_matches('0').trim_end_matches('0').len()
}

/// Puts lifted values back as literals, for a statement that is planned by DataFusion.
pub(crate) fn restore_literals<V: VisitMut>(stmt: &mut V, values: &[ScalarValue]) {
    if values.is_empty() {
        return;
    }
    let _ = visit_expressions_mut(stmt, |expr| {
        if let Some(value) = placeholder_index(expr).and_then(|n| values.get(n)) {
            let literal = match value {
                ScalarValue::Int64(Some(n)) => Value::Number(n.to_string(), false),
                ScalarValue::Float64(Some(f)) => {
                    let mut text = f.to_string();
                    if !text.contains(['.', 'e', 'E']) && f.is_finite() {
                        text.push_str(".0");
                    }
                    Value::Number(text, false)
                }
                ScalarValue::Utf8(Some(s)) => Value::SingleQuotedString(s.clone()),
                _ => return ControlFlow::<()>::Continue(()),
            };
            *expr = Expr::value(literal);
        }
        ControlFlow::Continue(())
    });
}

/// Whether a lifted number (`values`, by placeholder) is written into a column PostgreSQL
/// refuses a number for (a date/time, enum, uuid, bytea or json column, see
/// [`crate::translate::refuses_numbers`]): bound as a parameter, SQLite would store it as a day
/// number or microseconds, where the literal written out fails with 42804.
pub(crate) fn number_into_refusing_column(
    stmt: &Statement,
    values: &[ScalarValue],
    catalog: impl FnOnce() -> std::sync::Arc<crate::catalog::Catalog>,
) -> bool {
    // The catalog only for a write given a number (most statements are not).
    if !matches!(stmt, Statement::Insert(_) | Statement::Update(_)) || !values.iter().any(|v| matches!(v, ScalarValue::Int64(_) | ScalarValue::Float64(_))) {
        return false;
    }
    let catalog = catalog();
    let is_number = |e: &Expr| placeholder_index(e).and_then(|n| values.get(n)).is_some_and(|v| matches!(v, ScalarValue::Int64(_) | ScalarValue::Float64(_)));
    let refuses = |def: &crate::catalog::TableDef, column: Option<usize>| column.is_some_and(|i| crate::translate::refuses_numbers(def.columns[i].ty));
    let assigned = |def: &crate::catalog::TableDef, assignments: &[Assignment]| {
        assignments.iter().any(|a| match &a.target {
            datafusion::sql::sqlparser::ast::AssignmentTarget::ColumnName(name) => {
                is_number(&a.value) && refuses(def, name.0.last().and_then(|part| part.as_ident()).and_then(|ident| def.column_index(&crate::catalog::normalize_ident(ident))))
            }
            datafusion::sql::sqlparser::ast::AssignmentTarget::Tuple(_) => false,
        })
    };
    let table = |name: &datafusion::sql::sqlparser::ast::ObjectName| crate::catalog::table_name(name).ok().and_then(|n| catalog.get(&n).cloned());
    match stmt {
        Statement::Insert(insert) => {
            let datafusion::sql::sqlparser::ast::TableObject::TableName(name) = &insert.table else { return false };
            let Some(def) = table(name) else { return false };
            let columns = def.insert_targets(&insert.columns);
            let rows = match insert.source.as_ref().map(|s| s.body.as_ref()) {
                Some(SetExpr::Values(values)) => values.rows.as_slice(),
                _ => &[],
            };
            let in_rows = rows.iter().any(|row| row.iter().zip(&columns).any(|(e, column)| is_number(e) && refuses(&def, *column)));
            let in_upsert = matches!(&insert.on, Some(OnInsert::OnConflict(conflict))
                if matches!(&conflict.action, OnConflictAction::DoUpdate(update) if assigned(&def, &update.assignments)));
            in_rows || in_upsert
        }
        Statement::Update(update) => match &update.table.relation {
            datafusion::sql::sqlparser::ast::TableFactor::Table { name, .. } => table(name).is_some_and(|def| assigned(&def, &update.assignments)),
            _ => false,
        },
        _ => false,
    }
}

/// Marks `expr`'s lifted value as approved, if `expr` is one.
fn approve(approved: &mut [bool], expr: &Expr) {
    if let Some(n) = placeholder_index(expr)
        && let Some(slot) = approved.get_mut(n)
    {
        *slot = true;
    }
}

fn placeholder_index(expr: &Expr) -> Option<usize> {
    match expr {
        Expr::Value(ValueWithSpan { value: Value::Placeholder(p), .. }) => {
            p.strip_prefix('$')?.parse::<usize>().ok()?.checked_sub(1)
        }
        _ => None,
    }
}

fn is_column(expr: &Expr) -> bool {
    matches!(expr, Expr::Identifier(_) | Expr::CompoundIdentifier(_))
}

struct ComparisonsWithColumns<'a> {
    approved: &'a mut Vec<bool>,
}

impl ComparisonsWithColumns<'_> {
    fn approve(&mut self, expr: &Expr) {
        approve(self.approved, expr);
    }
}

impl Visitor for ComparisonsWithColumns<'_> {
    type Break = ();

    fn pre_visit_expr(&mut self, expr: &Expr) -> ControlFlow<()> {
        match expr {
            Expr::BinaryOp { left, op, right } if crate::translate::is_comparison(op) => {
                if is_column(left) {
                    self.approve(right);
                }
                if is_column(right) {
                    self.approve(left);
                }
            }
            Expr::InList { expr, list, .. } if is_column(expr) => list.iter().for_each(|e| self.approve(e)),
            Expr::Between { expr, low, high, .. } if is_column(expr) => {
                self.approve(low);
                self.approve(high);
            }
            _ => {}
        }
        ControlFlow::Continue(())
    }
}

struct AllPlaceholders {
    seen: Vec<usize>,
}

impl Visitor for AllPlaceholders {
    type Break = ();

    fn pre_visit_expr(&mut self, expr: &Expr) -> ControlFlow<()> {
        if let Expr::Value(ValueWithSpan { value: Value::Placeholder(_), .. }) = expr {
            self.seen.push(placeholder_index(expr).unwrap_or(usize::MAX));
        }
        ControlFlow::Continue(())
    }
}

#[cfg(test)]
mod tests {
    use datafusion::sql::sqlparser::{dialect::PostgreSqlDialect, parser::Parser};

    use super::*;

    fn lifted(sql: &str) -> Option<(String, Vec<ScalarValue>)> {
        lift_literals(sql).map(|l| (l.text, l.values))
    }

    fn safe(sql: &str) -> bool {
        let Some(l) = lift_literals(sql) else { return false };
        let Ok(mut statements) = Parser::parse_sql(&PostgreSqlDialect {}, &l.text) else { return false };
        statements.len() == 1 && lift_is_safe(&statements.pop().unwrap(), l.values.len())
    }

    #[test]
    fn values_numbers_and_strings_are_lifted() {
        let (text, values) = lifted("INSERT INTO t VALUES (1, 'it''s', -2.5, 1e3)").unwrap();
        assert_eq!(text, "INSERT INTO t VALUES ($1, $2, $3, $4)");
        assert_eq!(
            values,
            vec![
                ScalarValue::Int64(Some(1)),
                ScalarValue::Utf8(Some("it's".into())),
                ScalarValue::Float64(Some(-2.5)),
                ScalarValue::Float64(Some(1000.0)),
            ]
        );
    }

    /// A double holds about 15 significant digits and no written scale: longer literals,
    /// integers beyond bigint and fractions ending in zeros stay in the text, so numeric
    /// columns receive every digit and the scale (`12.50`).
    #[test]
    fn numbers_a_double_cannot_hold_stay_in_the_text() {
        let (text, values) = lifted(
            "INSERT INTO t VALUES (1, 1234567890123456789.12, 999999999999999999999999999999, 0.000000000000000000000000000001, 12.50, 12.5, 1.0e1)",
        )
        .unwrap();
        assert_eq!(text, "INSERT INTO t VALUES ($1, 1234567890123456789.12, 999999999999999999999999999999, $2, 12.50, $3, $4)");
        assert_eq!(
            values,
            vec![ScalarValue::Int64(Some(1)), ScalarValue::Float64(Some(1e-30)), ScalarValue::Float64(Some(12.5)), ScalarValue::Float64(Some(10.0))]
        );
    }

    #[test]
    fn identifiers_typed_literals_and_casts_stay() {
        let (text, _) = lifted(r#"INSERT INTO "t 1" (c2, "x'y") VALUES (DATE '2024-01-01', '5'::int, 3, a1 - 1)"#).unwrap();
        assert_eq!(text, r#"INSERT INTO "t 1" (c2, "x'y") VALUES (DATE '2024-01-01', '5'::int, $1, a1 - $2)"#);
        assert_eq!(lifted("SELECT * FROM t LIMIT 10"), None);
    }

    #[test]
    fn restored_literals_read_as_the_original_text() {
        let l = lift_literals("SELECT * FROM t WHERE a = 1 AND b = 'x''y' AND c = -2.5 AND d = 1e20").unwrap();
        let mut stmt = Parser::parse_sql(&PostgreSqlDialect {}, &l.text).unwrap().pop().unwrap();
        restore_literals(&mut stmt, &l.values);
        assert_eq!(stmt.to_string(), "SELECT * FROM t WHERE a = 1 AND b = 'x''y' AND c = -2.5 AND d = 100000000000000000000.0");
    }

    #[test]
    fn texts_the_lexer_does_not_follow_are_left_alone() {
        assert_eq!(lifted("INSERT INTO t VALUES ($1, 2)"), None);
        assert_eq!(lifted("INSERT INTO t VALUES (1) -- note"), None);
        assert_eq!(lifted("INSERT INTO t VALUES (E'a\\'b')"), None);
        assert_eq!(lifted("INSERT INTO t VALUES ('unterminated)"), None);
    }

    #[test]
    fn only_places_where_literal_and_parameter_agree_are_safe() {
        assert!(safe("INSERT INTO t VALUES (1, 'x')"));
        assert!(safe("UPDATE t SET v = 'y', n = n + -5 WHERE id = 3"));
        assert!(safe("DELETE FROM t WHERE id IN (1, 2) OR k BETWEEN 'a' AND 'b'"));
        assert!(safe("INSERT INTO t VALUES (1, 'x') ON CONFLICT (id) DO UPDATE SET v = 'z'"));
        assert!(safe("SELECT * FROM t WHERE id = 1 AND v <> 'x'"));
        assert!(!safe("SELECT a + 1 FROM t WHERE id = 1"));
        assert!(!safe("SELECT a FROM t WHERE id = 1 ORDER BY a, 2"));
        assert!(!safe("SELECT a, count(*) FROM t GROUP BY a HAVING count(*) > 1"));
        assert!(!safe("UPDATE t SET v = upper('y') WHERE id = 3"));
        assert!(!safe("UPDATE t SET n = 2 * n WHERE id = 3"));
        assert!(!safe("INSERT INTO t SELECT 1, 'x'"));
        assert!(!safe("DELETE FROM t WHERE id + 1 = 3"));
    }
}
