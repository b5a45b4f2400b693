//! `ALTER SEQUENCE` as PostgreSQL writes it, which sqlparser does not read: migrations restart
//! sequences (`RESTART WITH 1`), and pg_dump ties a serial column's sequence to it with
//! `ALTER SEQUENCE ... OWNED BY t.c` and sets its owner with `OWNER TO`.

use datafusion::sql::sqlparser::tokenizer::Token;

use crate::error::{EngineError, Result};
use crate::oltp::sequence::regclass_name;

/// A parsed `ALTER SEQUENCE`: what it changes (`None`: left as it is).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AlterSequence {
    pub name: String,
    pub if_exists: bool,
    /// `AS type`, in bits.
    pub bits: Option<u32>,
    pub increment: Option<i64>,
    /// `Some(None)`: `NO MINVALUE` (the type's default).
    pub min_value: Option<Option<i64>>,
    pub max_value: Option<Option<i64>>,
    pub start: Option<i64>,
    /// `Some(None)`: `RESTART` (at the start value).
    pub restart: Option<Option<i64>>,
    pub cycle: Option<bool>,
    /// `Some(None)`: `OWNED BY NONE`; else the table and column.
    pub owned_by: Option<Option<(String, String)>>,
}

impl AlterSequence {
    /// Whether it changes nothing (`OWNER TO`): the sequence is left alone, not rewritten.
    pub fn changes_nothing(&self) -> bool {
        *self == Self { name: self.name.clone(), if_exists: self.if_exists, ..Self::default() }
    }
}

/// Reads `sql` when it is an ALTER SEQUENCE statement (`None` when it is something else).
pub fn parse(sql: &str) -> Option<Result<AlterSequence>> {
    let tokens = crate::session::tokens_if_first_word(sql, &["alter"])?;
    // One statement only: the text of several is split before it comes here.
    if tokens.contains(&Token::SemiColon) {
        return None;
    }
    if !(tokens.len() > 2 && keyword(&tokens[0], "alter") && keyword(&tokens[1], "sequence")) {
        return None;
    }
    Some(Reader { tokens, at: 2 }.alter())
}

fn keyword(t: &Token, k: &str) -> bool {
    matches!(t, Token::Word(w) if w.quote_style.is_none() && w.value.eq_ignore_ascii_case(k))
}

struct Reader {
    tokens: Vec<Token>,
    at: usize,
}

impl Reader {
    fn peek_is(&self, k: &str) -> bool {
        self.tokens.get(self.at).is_some_and(|t| keyword(t, k))
    }

    fn eat(&mut self, k: &str) -> bool {
        let found = self.peek_is(k);
        if found {
            self.at += 1;
        }
        found
    }

    fn error(&self) -> EngineError {
        match self.tokens.get(self.at) {
            Some(t) => EngineError::syntax(format!("syntax error at or near \"{t}\"")),
            None => EngineError::syntax("syntax error at end of input"),
        }
    }

    fn expect(&mut self, k: &str) -> Result<()> {
        if self.eat(k) { Ok(()) } else { Err(self.error()) }
    }

    fn number(&mut self) -> Result<i64> {
        let negative = matches!(self.tokens.get(self.at), Some(Token::Minus));
        if negative || matches!(self.tokens.get(self.at), Some(Token::Plus)) {
            self.at += 1;
        }
        let Some(Token::Number(digits, _)) = self.tokens.get(self.at) else { return Err(self.error()) };
        let text = if negative { format!("-{digits}") } else { digits.clone() };
        let value = text.parse::<i64>().map_err(|_| EngineError::InvalidArgument { message: format!("value \"{text}\" is out of range for type bigint") })?;
        self.at += 1;
        Ok(value)
    }

    fn number_follows(&self) -> bool {
        matches!(self.tokens.get(self.at), Some(Token::Number(..) | Token::Minus | Token::Plus))
    }

    /// A possibly qualified name, as dotted parts (quoted parts keep their case).
    fn name(&mut self) -> Result<Vec<String>> {
        let mut parts = Vec::new();
        loop {
            let Some(Token::Word(w)) = self.tokens.get(self.at) else { return Err(self.error()) };
            parts.push(match w.quote_style {
                Some(_) => format!("\"{}\"", w.value.replace('"', "\"\"")),
                None => w.value.clone(),
            });
            self.at += 1;
            if matches!(self.tokens.get(self.at), Some(Token::Period)) {
                self.at += 1;
            } else {
                return Ok(parts);
            }
        }
    }

    fn alter(mut self) -> Result<AlterSequence> {
        let mut alter = AlterSequence::default();
        if self.eat("if") {
            self.expect("exists")?;
            alter.if_exists = true;
        }
        alter.name = regclass_name(&self.name()?.join("."));
        if self.at == self.tokens.len() {
            return Err(self.error());
        }
        let options_start = self.at;
        while self.at < self.tokens.len() {
            if self.at == options_start && self.eat("owner") {
                // One user owns everything in rhei: there is no owner to change. As in
                // PostgreSQL, OWNER TO is a form of its own, not an option among others.
                self.expect("to")?;
                self.name()?;
                if self.at < self.tokens.len() {
                    return Err(self.error());
                }
            } else if self.eat("as") {
                let ty = self.name()?.join(".").to_ascii_lowercase();
                alter.bits = Some(match ty.trim_start_matches("pg_catalog.") {
                    "smallint" | "int2" => 16,
                    "integer" | "int" | "int4" => 32,
                    "bigint" | "int8" => 64,
                    _ => return Err(EngineError::InvalidArgument { message: "sequence type must be smallint, integer, or bigint".into() }),
                });
            } else if self.eat("increment") {
                self.eat("by");
                alter.increment = Some(self.number()?);
            } else if self.eat("minvalue") {
                alter.min_value = Some(Some(self.number()?));
            } else if self.eat("maxvalue") {
                alter.max_value = Some(Some(self.number()?));
            } else if self.eat("no") {
                if self.eat("minvalue") {
                    alter.min_value = Some(None);
                } else if self.eat("maxvalue") {
                    alter.max_value = Some(None);
                } else if self.eat("cycle") {
                    alter.cycle = Some(false);
                } else {
                    return Err(self.error());
                }
            } else if self.eat("start") {
                self.eat("with");
                alter.start = Some(self.number()?);
            } else if self.eat("restart") {
                let with = self.eat("with");
                alter.restart = Some(if with || self.number_follows() { Some(self.number()?) } else { None });
            } else if self.eat("cache") {
                if self.number()? < 1 {
                    return Err(EngineError::InvalidArgument { message: "CACHE must be greater than zero".into() });
                }
            } else if self.eat("cycle") {
                alter.cycle = Some(true);
            } else if self.eat("owned") {
                self.expect("by")?;
                if self.eat("none") {
                    alter.owned_by = Some(None);
                } else {
                    let mut parts = self.name()?;
                    if parts.len() < 2 {
                        return Err(EngineError::InvalidArgument { message: "invalid OWNED BY option".into() });
                    }
                    let column = parts.pop().unwrap_or_default();
                    let column = column.strip_prefix('"').and_then(|c| c.strip_suffix('"')).map_or_else(|| column.to_ascii_lowercase(), |c| c.replace("\"\"", "\""));
                    alter.owned_by = Some(Some((regclass_name(&parts.join(".")), column)));
                }
            } else if self.peek_is("rename") || self.peek_is("set") {
                return Err(EngineError::unsupported("ALTER SEQUENCE ... RENAME TO / SET"));
            } else {
                return Err(self.error());
            }
        }
        Ok(alter)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_postgresql_forms() {
        let a = parse("ALTER SEQUENCE public.t_id_seq OWNED BY public.t.id;").unwrap().unwrap();
        assert_eq!((a.name.as_str(), a.owned_by), ("t_id_seq", Some(Some(("t".to_string(), "id".to_string())))));
        let a = parse("alter sequence if exists s restart with -5 increment by -1 no minvalue cycle").unwrap().unwrap();
        assert_eq!((a.if_exists, a.restart, a.increment, a.min_value, a.cycle), (true, Some(Some(-5)), Some(-1), Some(None), Some(true)));
        assert_eq!(parse("ALTER SEQUENCE s RESTART").unwrap().unwrap().restart, Some(None));
        assert_eq!(parse("ALTER SEQUENCE s OWNER TO app").unwrap().unwrap(), AlterSequence { name: "s".into(), ..Default::default() });
        assert_eq!(parse("ALTER SEQUENCE s BOGUS").unwrap().unwrap_err().sqlstate(), "42601");
        assert!(parse("ALTER TABLE t ADD c int").is_none());
    }
}
