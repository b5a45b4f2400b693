//! `VACUUM` and `ANALYZE` as PostgreSQL writes them (sqlparser knows other dialects' forms).
//!
//! Tools run these unasked: `pgbench -i` vacuums the tables it loads, migration tools and
//! DBAs analyze after bulk changes. On rhei's SQLite side there are no dead row versions to
//! reclaim (freed pages go to SQLite's free list and are reused), so VACUUM only checks its
//! tables exist; ANALYZE (alone or as `VACUUM ANALYZE`) runs SQLite's ANALYZE on the tables,
//! whose statistics SQLite's planner uses to choose indexes.

use datafusion::sql::sqlparser::ast::{Ident, ObjectName, ObjectNamePart};
use datafusion::sql::sqlparser::tokenizer::Token;

use crate::catalog::table_name;
use crate::error::{EngineError, Result};

/// A parsed `VACUUM` or `ANALYZE`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Maintenance {
    /// `VACUUM` (else `ANALYZE`): the command tag, and refused inside a transaction block.
    pub vacuum: bool,
    /// Whether statistics are gathered.
    pub analyze: bool,
    /// Normalized table names; empty for every table.
    pub tables: Vec<String>,
}

/// Reads `sql` when it is a VACUUM or ANALYZE statement (`None` when it is something else).
pub fn parse(sql: &str) -> Option<Result<Maintenance>> {
    // Most statements are not these: only a text that starts with either word is tokenized.
    let mut tokens = crate::session::tokens_if_first_word(sql, &["vacuum", "analyze", "analyse"])?.into_iter().peekable();
    let vacuum = match tokens.peek() {
        Some(t) if keyword(t, "vacuum") => true,
        Some(t) if keyword(t, "analyze") || keyword(t, "analyse") => false,
        _ => return None,
    };
    tokens.next();
    Some(parse_rest(vacuum, &mut tokens))
}

/// Whether `t` is the unquoted keyword `k`.
fn keyword(t: &Token, k: &str) -> bool {
    matches!(t, Token::Word(w) if w.quote_style.is_none() && w.value.eq_ignore_ascii_case(k))
}

fn parse_rest(vacuum: bool, tokens: &mut std::iter::Peekable<std::vec::IntoIter<Token>>) -> Result<Maintenance> {
    let mut analyze = !vacuum;
    if tokens.peek() == Some(&Token::LParen) {
        // `( option [value] [, ...] )`: every option but ANALYZE only tunes the work.
        tokens.next();
        loop {
            match tokens.next() {
                Some(Token::Word(w)) => {
                    let name = w.value.to_ascii_lowercase();
                    let value_follows = !matches!(tokens.peek(), Some(Token::Comma | Token::RParen));
                    let on = if value_follows {
                        match tokens.next() {
                            Some(Token::Word(v)) => !matches!(v.value.to_ascii_lowercase().as_str(), "off" | "false"),
                            Some(Token::Number(n, _)) => n != "0",
                            Some(Token::SingleQuotedString(s)) => !matches!(s.to_ascii_lowercase().as_str(), "off" | "false" | "0"),
                            other => return Err(syntax(other)),
                        }
                    } else {
                        true
                    };
                    match name.as_str() {
                        "analyze" | "analyse" => analyze = on,
                        "verbose" | "skip_locked" | "buffer_usage_limit" => {}
                        "full" | "freeze" | "disable_page_skipping" | "index_cleanup" | "process_toast" | "process_main"
                        | "truncate" | "parallel" | "skip_database_stats" | "only_database_stats"
                            if vacuum => {}
                        _ => {
                            let command = if vacuum { "VACUUM" } else { "ANALYZE" };
                            return Err(EngineError::syntax(format!("unrecognized {command} option \"{name}\"")));
                        }
                    }
                }
                other => return Err(syntax(other)),
            }
            match tokens.next() {
                Some(Token::Comma) => continue,
                Some(Token::RParen) => break,
                other => return Err(syntax(other)),
            }
        }
    } else {
        let flags: &[&str] = if vacuum { &["full", "freeze", "verbose", "analyze", "analyse"] } else { &["verbose"] };
        while let Some(t) = tokens.peek() {
            let Some(flag) = flags.iter().find(|f| keyword(t, f)) else { break };
            if flag.starts_with("analy") {
                analyze = true;
            }
            tokens.next();
        }
    }
    let mut tables = Vec::new();
    while let Some(token) = tokens.next() {
        let Token::Word(first) = token else {
            return Err(syntax(Some(token)));
        };
        let ident = |w: datafusion::sql::sqlparser::tokenizer::Word| {
            ObjectNamePart::Identifier(match w.quote_style {
                Some(quote) => Ident::with_quote(quote, w.value),
                None => Ident::new(w.value),
            })
        };
        let mut parts = vec![ident(first)];
        while tokens.peek() == Some(&Token::Period) {
            tokens.next();
            match tokens.next() {
                Some(Token::Word(w)) => parts.push(ident(w)),
                other => return Err(syntax(other)),
            }
        }
        tables.push(table_name(&ObjectName(parts))?);
        // A column list narrows ANALYZE to those columns; SQLite analyzes whole tables.
        if tokens.peek() == Some(&Token::LParen) {
            for t in tokens.by_ref() {
                if t == Token::RParen {
                    break;
                }
            }
        }
        match tokens.next() {
            Some(Token::Comma) => {}
            None | Some(Token::SemiColon) if tokens.peek().is_none() => break,
            other => return Err(syntax(other)),
        }
    }
    Ok(Maintenance { vacuum, analyze, tables })
}

fn syntax(found: Option<Token>) -> EngineError {
    match found {
        Some(t) => EngineError::syntax(format!("syntax error at or near \"{t}\"")),
        None => EngineError::syntax("syntax error at end of input"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(sql: &str) -> Maintenance {
        parse(sql).unwrap().unwrap()
    }

    /// Only the first word decides: a long leading comment hid VACUUM from the old check, which
    /// looked at the first 256 bytes for either word.
    #[test]
    fn the_first_word_after_comments_decides() {
        let comment = format!("/* {} */ -- note\n", "x".repeat(300));
        assert_eq!(parsed(&format!("{comment}VACUUM t")), Maintenance { vacuum: true, analyze: false, tables: vec!["t".into()] });
        assert!(parse("INSERT INTO analytics VALUES (1)").is_none());
        assert!(parse("SELECT 'vacuum'").is_none());
    }

    #[test]
    fn reads_postgresql_forms() {
        assert_eq!(parsed("VACUUM"), Maintenance { vacuum: true, analyze: false, tables: vec![] });
        assert_eq!(parsed("vacuum analyze pgbench_branches"), Maintenance { vacuum: true, analyze: true, tables: vec!["pgbench_branches".into()] });
        assert_eq!(parsed("VACUUM FULL FREEZE VERBOSE a, public.\"B\";"), Maintenance { vacuum: true, analyze: false, tables: vec!["a".into(), "B".into()] });
        assert_eq!(parsed("VACUUM (ANALYZE, PARALLEL 2, INDEX_CLEANUP off) t (x, y)"), Maintenance { vacuum: true, analyze: true, tables: vec!["t".into()] });
        assert_eq!(parsed("VACUUM (ANALYZE false) t"), Maintenance { vacuum: true, analyze: false, tables: vec!["t".into()] });
        assert_eq!(parsed("ANALYSE VERBOSE t1, t2"), Maintenance { vacuum: false, analyze: true, tables: vec!["t1".into(), "t2".into()] });
        assert_eq!(parsed("analyze (skip_locked) t(c)"), Maintenance { vacuum: false, analyze: true, tables: vec!["t".into()] });
    }

    #[test]
    fn leaves_other_statements_alone_and_refuses_bad_syntax() {
        assert!(parse("SELECT 1").is_none());
        assert!(parse("\"vacuum\"").is_none());
        assert_eq!(parse("VACUUM (FROB) t").unwrap().unwrap_err().sqlstate(), "42601");
        assert_eq!(parse("ANALYZE (FULL) t").unwrap().unwrap_err().sqlstate(), "42601");
        assert_eq!(parse("VACUUM t u").unwrap().unwrap_err().sqlstate(), "42601");
        assert_eq!(parse("VACUUM (ANALYZE").unwrap().unwrap_err().sqlstate(), "42601");
    }
}
