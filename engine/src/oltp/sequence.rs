//! PostgreSQL sequences on the SQLite writer: `CREATE SEQUENCE`, `DROP SEQUENCE`, `nextval`,
//! `currval`, `setval`, `lastval`, and the sequences behind serial columns that are not the
//! table's rowid (a `bigserial` beside the key).
//!
//! The functions are SQLite functions on the writer's connection only, over counters held in
//! memory: a column DEFAULT `nextval('t_n_seq'::regclass)` then numbers rows inside SQLite's own
//! INSERT. As in PostgreSQL a sequence is not transactional: a value handed out stays used when
//! the transaction rolls back. The counters are written to `_rhei_sequences` just before every
//! commit, in that commit, so a row numbered by a sequence is never durable without the
//! sequence's progress past it. (A value shown by a `SELECT nextval(...)` whose transaction
//! then rolled back can come again after a crash, before anything else commits.)
//!
//! `currval` and `lastval` are per session, as in PostgreSQL: the writer says whose statement
//! runs ([`Sequences::running`]) and forgets a session when it ends.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use datafusion::sql::sqlparser::ast::{DataType as SqlType, Expr, ObjectName, SequenceOptions};
use parking_lot::Mutex;
use rusqlite::functions::FunctionFlags;
use rusqlite::types::{Value, ValueRef};
use rusqlite::{Connection, params};

use crate::alter_sequence::AlterSequence;
use crate::catalog::{Catalog, PgType, TableId, normalize_ident, quote_ident, table_name};
use crate::error::{EngineError, Result};
use crate::oltp::classify;
use crate::oltp::functions::fail;
use crate::oltp::writer::{SessionId, SharedCatalog};

/// Where sequences live in the data file.
pub const SEQUENCES_SQL: &str = "CREATE TABLE IF NOT EXISTS _rhei_sequences (\
    id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL UNIQUE, last_value INTEGER NOT NULL, is_called INTEGER NOT NULL, \
    increment INTEGER NOT NULL, min_value INTEGER NOT NULL, max_value INTEGER NOT NULL, \
    start_value INTEGER NOT NULL, cycle INTEGER NOT NULL, owner INTEGER, bits INTEGER NOT NULL, generation INTEGER NOT NULL)";

/// A sequence's definition, as CREATE SEQUENCE gives it (PostgreSQL's defaults filled in).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SequenceDef {
    pub name: String,
    pub increment: i64,
    pub min_value: i64,
    pub max_value: i64,
    pub start: i64,
    pub cycle: bool,
    /// The table whose serial column it numbers: dropped with that table.
    pub owner: Option<TableId>,
    /// Its type: 16, 32 or 64 bits (smallint, integer, bigint).
    pub bits: u32,
}

impl SequenceDef {
    /// A sequence of `bits` (16, 32 or 64) counting up from 1, as a serial column's.
    pub fn serial(name: String, bits: u32, owner: TableId) -> Self {
        Self { name, increment: 1, min_value: 1, max_value: type_max(bits), start: 1, cycle: false, owner: Some(owner), bits }
    }

    /// The definition CREATE SEQUENCE's options give.
    ///
    /// # Errors
    /// 22023 for contradicting options (PostgreSQL's messages), 0A000 for OWNED BY a column
    /// and for a type that is not an integer.
    pub fn from_options(name: &ObjectName, data_type: Option<&SqlType>, options: &[SequenceOptions], owned_by: Option<&ObjectName>) -> Result<Self> {
        let bits = match data_type {
            None | Some(SqlType::BigInt(_) | SqlType::Int8(_)) => 64,
            Some(SqlType::Int(_) | SqlType::Integer(_) | SqlType::Int4(_)) => 32,
            Some(SqlType::SmallInt(_) | SqlType::Int2(_)) => 16,
            Some(_) => return Err(EngineError::InvalidArgument { message: "sequence type must be smallint, integer, or bigint".into() }),
        };
        if owned_by.is_some_and(|o| !o.to_string().eq_ignore_ascii_case("none")) {
            return Err(EngineError::unsupported("CREATE SEQUENCE ... OWNED BY a column"));
        }
        let mut increment = 1;
        let (mut min, mut max, mut start, mut cycle) = (None, None, None, false);
        for option in options {
            match option {
                SequenceOptions::IncrementBy(e, _) => increment = integer_option(e, "INCREMENT")?,
                SequenceOptions::MinValue(e) => min = e.as_ref().map(|e| integer_option(e, "MINVALUE")).transpose()?,
                SequenceOptions::MaxValue(e) => max = e.as_ref().map(|e| integer_option(e, "MAXVALUE")).transpose()?,
                SequenceOptions::StartWith(e, _) => start = Some(integer_option(e, "START")?),
                // Every value is handed out by the one writer: there is nothing to cache.
                SequenceOptions::Cache(e) => {
                    if integer_option(e, "CACHE")? < 1 {
                        return Err(EngineError::InvalidArgument { message: "CACHE must be greater than zero".into() });
                    }
                }
                SequenceOptions::Cycle(no) => cycle = !no,
            }
        }
        let min_value = min.unwrap_or_else(|| default_min(increment, bits));
        let max_value = max.unwrap_or_else(|| default_max(increment, bits));
        let start = start.unwrap_or(if increment > 0 { min_value } else { max_value });
        let def = Self { name: table_name(name)?, increment, min_value, max_value, start, cycle, owner: None, bits };
        def.validate()?;
        Ok(def)
    }

    /// PostgreSQL's checks of a sequence's options against each other and its type.
    fn validate(&self) -> Result<()> {
        let invalid = |message: String| Err(EngineError::InvalidArgument { message });
        let (min_value, max_value, start) = (self.min_value, self.max_value, self.start);
        let type_name = type_name(self.bits);
        if self.increment == 0 {
            return invalid("INCREMENT must not be zero".into());
        }
        if min_value < type_min(self.bits) {
            return invalid(format!("MINVALUE ({min_value}) is out of range for sequence data type {type_name}"));
        }
        if max_value > type_max(self.bits) {
            return invalid(format!("MAXVALUE ({max_value}) is out of range for sequence data type {type_name}"));
        }
        if min_value >= max_value {
            return invalid(format!("MINVALUE ({min_value}) must be less than MAXVALUE ({max_value})"));
        }
        if start < min_value {
            return invalid(format!("START value ({start}) cannot be less than MINVALUE ({min_value})"));
        }
        if start > max_value {
            return invalid(format!("START value ({start}) cannot be greater than MAXVALUE ({max_value})"));
        }
        Ok(())
    }
}

/// The smallest value of a sequence without MINVALUE.
fn default_min(increment: i64, bits: u32) -> i64 {
    if increment > 0 { 1 } else { type_min(bits) }
}

/// The largest value of a sequence without MAXVALUE.
fn default_max(increment: i64, bits: u32) -> i64 {
    if increment > 0 { type_max(bits) } else { -1 }
}

fn type_max(bits: u32) -> i64 {
    match bits {
        16 => i64::from(i16::MAX),
        32 => i64::from(i32::MAX),
        _ => i64::MAX,
    }
}

fn type_min(bits: u32) -> i64 {
    match bits {
        16 => i64::from(i16::MIN),
        32 => i64::from(i32::MIN),
        _ => i64::MIN,
    }
}

/// The SQL name of a sequence type of `bits`.
pub fn type_name(bits: u32) -> &'static str {
    match bits {
        16 => "smallint",
        32 => "integer",
        _ => "bigint",
    }
}

fn integer_option(expr: &Expr, option: &str) -> Result<i64> {
    let text = expr.to_string();
    text.replace(' ', "")
        .parse::<i64>()
        .map_err(|_| EngineError::InvalidArgument { message: format!("{option} must be an integer, not {text}") })
}

/// One sequence: its definition and which version of it is current. Every CREATE, ALTER and
/// restart writes a new generation, as PostgreSQL gives the sequence a new relfilenode: a
/// rollback brings back the row of the generation before, and with it that generation's
/// position.
#[derive(Debug, Clone)]
struct Counter {
    /// Its row in `_rhei_sequences`, from which its OID derives.
    id: i64,
    generation: i64,
    def: SequenceDef,
}

/// Where a generation of a sequence stands. Kept outside the transaction (nextval and setval
/// are not undone by a rollback).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Position {
    last_value: i64,
    /// False until the first nextval: that one returns `last_value` itself (the start).
    is_called: bool,
}

fn next_value(def: &SequenceDef, position: &mut Position) -> Result<i64> {
    if !position.is_called {
        position.is_called = true;
        return Ok(position.last_value);
    }
    let next = match position.last_value.checked_add(def.increment) {
        Some(n) if n >= def.min_value && n <= def.max_value => n,
        _ if def.cycle => {
            if def.increment > 0 {
                def.min_value
            } else {
                def.max_value
            }
        }
        _ => {
            let (bound, which) = if def.increment > 0 { (def.max_value, "maximum") } else { (def.min_value, "minimum") };
            return Err(EngineError::SequenceExhausted { name: def.name.clone(), which, bound });
        }
    };
    position.last_value = next;
    Ok(next)
}

#[derive(Default)]
struct State {
    counters: HashMap<String, Counter>,
    /// The position of every generation that may be current, by generation.
    positions: HashMap<i64, Position>,
    /// Sequences whose position moved since the last commit wrote it.
    moved: HashSet<String>,
    /// The generation the next CREATE, ALTER or restart gets.
    next_generation: i64,
    /// Per session: the last value nextval (or setval) gave for each sequence, and the last
    /// value nextval gave of all.
    seen: HashMap<SessionId, (HashMap<String, i64>, Option<i64>)>,
}

impl State {
    fn counter(&self, name: &str) -> Result<&Counter> {
        self.counters.get(name).ok_or_else(|| EngineError::UndefinedTable { name: name.to_string() })
    }

    fn take_generation(&mut self) -> i64 {
        self.next_generation += 1;
        self.next_generation
    }

    fn mark_moved(&mut self, name: &str) {
        if !self.moved.contains(name) {
            self.moved.insert(name.to_string());
        }
    }
}

/// The writer's sequences, shared with the SQL functions registered on its connection.
#[derive(Default)]
pub struct Sequences {
    state: Mutex<State>,
    /// The session whose statement the writer runs now. Set before every write, so kept out
    /// of the mutex.
    running: AtomicU64,
}

impl Sequences {
    /// Reads every sequence from the data file (at start, and after a rollback may have
    /// brought back other generations). A generation already held keeps its position in
    /// memory, which is never behind the file's.
    ///
    /// # Errors
    /// The table cannot be read.
    pub fn load(&self, conn: &Connection) -> Result<()> {
        let mut stmt = conn
            .prepare(
                "SELECT name, last_value, is_called, increment, min_value, max_value, start_value, cycle, owner, bits, rowid, generation \
                 FROM _rhei_sequences",
            )
            .map_err(classify)?;
        let stored = stmt
            .query_map([], |r| {
                let counter = Counter {
                    def: SequenceDef {
                        name: r.get(0)?,
                        increment: r.get(3)?,
                        min_value: r.get(4)?,
                        max_value: r.get(5)?,
                        start: r.get(6)?,
                        cycle: r.get(7)?,
                        owner: r.get::<_, Option<i64>>(8)?.map(TableId),
                        bits: r.get(9)?,
                    },
                    id: r.get(10)?,
                    generation: r.get(11)?,
                };
                Ok((counter, Position { last_value: r.get(1)?, is_called: r.get(2)? }))
            })
            .map_err(classify)?
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(classify)?;
        let mut state = self.state.lock();
        let mut counters = HashMap::with_capacity(stored.len());
        for (counter, stored_position) in stored {
            state.next_generation = state.next_generation.max(counter.generation);
            match state.positions.get(&counter.generation) {
                Some(held) if *held != stored_position => state.mark_moved(&counter.def.name),
                Some(_) => {}
                None => {
                    state.positions.insert(counter.generation, stored_position);
                }
            }
            counters.insert(counter.def.name.clone(), counter);
        }
        state.moved.retain(|name| counters.contains_key(name));
        state.counters = counters;
        Ok(())
    }

    /// Every sequence with its row id (stable for its life, whence its OID), by name.
    pub fn list(&self) -> Vec<(i64, SequenceDef)> {
        let mut all: Vec<(i64, SequenceDef)> = self.state.lock().counters.values().map(|c| (c.id, c.def.clone())).collect();
        all.sort_by(|a, b| a.1.name.cmp(&b.1.name));
        all
    }

    pub fn exists(&self, name: &str) -> bool {
        self.state.lock().counters.contains_key(name)
    }

    /// Names of the sequences owned by `table`.
    pub fn owned_by(&self, table: TableId) -> Vec<String> {
        self.state.lock().counters.values().filter(|c| c.def.owner == Some(table)).map(|c| c.def.name.clone()).collect()
    }

    /// Whose statement runs next (for currval and lastval).
    pub fn running(&self, session: SessionId) {
        self.running.store(session, Ordering::Relaxed);
    }

    /// Forgets what a session that ended has seen.
    pub fn session_ended(&self, session: SessionId) {
        self.state.lock().seen.remove(&session);
    }

    /// CREATE SEQUENCE inside the writer's open transaction.
    ///
    /// # Errors
    /// The row cannot be written.
    pub fn create(&self, conn: &Connection, def: SequenceDef) -> Result<()> {
        let mut state = self.state.lock();
        let generation = state.take_generation();
        conn.execute(
            "INSERT INTO _rhei_sequences (name, last_value, is_called, increment, min_value, max_value, start_value, cycle, owner, bits, generation) \
             VALUES (?1, ?2, 0, ?3, ?4, ?5, ?2, ?6, ?7, ?8, ?9)",
            params![def.name, def.start, def.increment, def.min_value, def.max_value, def.cycle, def.owner.map(|t| t.0), def.bits, generation],
        )
        .map_err(classify)?;
        state.positions.insert(generation, Position { last_value: def.start, is_called: false });
        state.counters.insert(def.name.clone(), Counter { id: conn.last_insert_rowid(), generation, def });
        Ok(())
    }

    /// Writes a new generation of `name` with definition `def` at `position`.
    fn write_generation(state: &mut State, conn: &Connection, def: SequenceDef, position: Position) -> Result<()> {
        let generation = state.take_generation();
        conn.execute(
            "UPDATE _rhei_sequences SET last_value = ?2, is_called = ?3, increment = ?4, min_value = ?5, max_value = ?6, \
             start_value = ?7, cycle = ?8, owner = ?9, bits = ?10, generation = ?11 WHERE name = ?1",
            params![
                def.name,
                position.last_value,
                position.is_called,
                def.increment,
                def.min_value,
                def.max_value,
                def.start,
                def.cycle,
                def.owner.map(|t| t.0),
                def.bits,
                generation
            ],
        )
        .map_err(classify)?;
        state.positions.insert(generation, position);
        state.moved.remove(&def.name);
        if let Some(counter) = state.counters.get_mut(&def.name) {
            counter.generation = generation;
            counter.def = def;
        }
        Ok(())
    }

    /// ALTER SEQUENCE inside the writer's open transaction; `owner` is the OWNED BY table,
    /// already looked up.
    ///
    /// # Errors
    /// 42P01 for an unknown sequence, 22023 for options that contradict each other.
    pub fn alter(&self, conn: &Connection, alter: &AlterSequence, owner: Option<Option<TableId>>) -> Result<()> {
        let mut state = self.state.lock();
        let counter = state.counter(&alter.name)?.clone();
        let current = state.positions.get(&counter.generation).copied().unwrap_or(Position { last_value: counter.def.start, is_called: false });
        let mut def = counter.def;
        if let Some(bits) = alter.bits {
            // Bounds that were the old type's defaults follow the new type, as in PostgreSQL.
            if def.max_value == default_max(def.increment, def.bits) {
                def.max_value = default_max(def.increment, bits);
            }
            if def.min_value == default_min(def.increment, def.bits) {
                def.min_value = default_min(def.increment, bits);
            }
            def.bits = bits;
        }
        if let Some(increment) = alter.increment {
            def.increment = increment;
        }
        if let Some(min) = alter.min_value {
            def.min_value = min.unwrap_or_else(|| default_min(def.increment, def.bits));
        }
        if let Some(max) = alter.max_value {
            def.max_value = max.unwrap_or_else(|| default_max(def.increment, def.bits));
        }
        if let Some(start) = alter.start {
            def.start = start;
        }
        if let Some(cycle) = alter.cycle {
            def.cycle = cycle;
        }
        if let Some(owner) = owner {
            def.owner = owner;
        }
        def.validate()?;
        let position = match alter.restart {
            Some(restart) => Position { last_value: restart.unwrap_or(def.start), is_called: false },
            None => current,
        };
        if position.last_value < def.min_value {
            return Err(EngineError::InvalidArgument {
                message: format!("RESTART value ({}) cannot be less than MINVALUE ({})", position.last_value, def.min_value),
            });
        }
        if position.last_value > def.max_value {
            return Err(EngineError::InvalidArgument {
                message: format!("RESTART value ({}) cannot be greater than MAXVALUE ({})", position.last_value, def.max_value),
            });
        }
        Self::write_generation(&mut state, conn, def, position)
    }

    /// Starts a sequence over (TRUNCATE ... RESTART IDENTITY), in the writer's open
    /// transaction: a rollback undoes it, as in PostgreSQL.
    ///
    /// # Errors
    /// The row cannot be written.
    pub fn restart(&self, conn: &Connection, name: &str) -> Result<()> {
        let mut state = self.state.lock();
        let def = state.counter(name)?.def.clone();
        let position = Position { last_value: def.start, is_called: false };
        Self::write_generation(&mut state, conn, def, position)
    }

    /// DROP SEQUENCE inside the writer's open transaction. The dropped generation's position
    /// is kept until a commit: a rollback brings the sequence back where it stood.
    ///
    /// # Errors
    /// The row cannot be deleted.
    pub fn drop_sequence(&self, conn: &Connection, name: &str) -> Result<()> {
        conn.execute("DELETE FROM _rhei_sequences WHERE name = ?1", [name]).map_err(classify)?;
        let mut state = self.state.lock();
        state.counters.remove(name);
        state.moved.remove(name);
        Ok(())
    }

    /// Writes the positions moved since the last commit; called just before COMMIT.
    ///
    /// # Errors
    /// The rows cannot be written.
    pub fn write_moved(&self, conn: &Connection) -> Result<()> {
        let state = self.state.lock();
        if state.moved.is_empty() {
            return Ok(());
        }
        let mut stmt = conn
            .prepare_cached("UPDATE _rhei_sequences SET last_value = ?3, is_called = ?4 WHERE name = ?1 AND generation = ?2")
            .map_err(classify)?;
        for name in &state.moved {
            if let Some(counter) = state.counters.get(name)
                && let Some(position) = state.positions.get(&counter.generation)
            {
                stmt.execute(params![name, counter.generation, position.last_value, position.is_called]).map_err(classify)?;
            }
        }
        Ok(())
    }

    /// The commit that wrote the moved positions succeeded: generations no sequence uses now
    /// can no longer come back.
    pub fn written(&self) {
        let mut state = self.state.lock();
        state.moved.clear();
        let current: HashSet<i64> = state.counters.values().map(|c| c.generation).collect();
        state.positions.retain(|generation, _| current.contains(generation));
    }

    fn nextval(&self, name: &str) -> Result<i64> {
        let mut state = self.state.lock();
        let state = &mut *state;
        let counter = state.counters.get(name).ok_or_else(|| EngineError::UndefinedTable { name: name.to_string() })?;
        let position = state.positions.entry(counter.generation).or_insert(Position { last_value: counter.def.start, is_called: false });
        let value = next_value(&counter.def, position)?;
        state.mark_moved(name);
        let seen = state.seen.entry(self.running.load(Ordering::Relaxed)).or_default();
        match seen.0.get_mut(name) {
            Some(last) => *last = value,
            None => {
                seen.0.insert(name.to_string(), value);
            }
        }
        seen.1 = Some(value);
        Ok(value)
    }

    fn currval(&self, name: &str) -> Result<i64> {
        let state = self.state.lock();
        state.counter(name)?;
        state
            .seen
            .get(&self.running.load(Ordering::Relaxed))
            .and_then(|(by_name, _)| by_name.get(name).copied())
            .ok_or_else(|| EngineError::SequenceNotYetDefined { what: format!("currval of sequence \"{name}\"") })
    }

    fn lastval(&self) -> Result<i64> {
        let state = self.state.lock();
        state
            .seen
            .get(&self.running.load(Ordering::Relaxed))
            .and_then(|(_, last)| *last)
            .ok_or_else(|| EngineError::SequenceNotYetDefined { what: "lastval".into() })
    }

    /// setval; with `is_called` the value also becomes the session's currval, as in
    /// PostgreSQL.
    fn setval(&self, name: &str, value: i64, is_called: bool) -> Result<i64> {
        let mut state = self.state.lock();
        let counter = state.counter(name)?;
        let (def, generation) = (&counter.def, counter.generation);
        if value < def.min_value || value > def.max_value {
            return Err(EngineError::SequenceValueOutOfBounds { name: name.to_string(), value, min: def.min_value, max: def.max_value });
        }
        state.positions.insert(generation, Position { last_value: value, is_called });
        state.mark_moved(name);
        if is_called {
            state.seen.entry(self.running.load(Ordering::Relaxed)).or_default().0.insert(name.to_string(), value);
        }
        Ok(value)
    }

    /// Registers nextval, currval, setval, lastval and pg_get_serial_sequence on the writer's
    /// connection.
    ///
    /// # Errors
    /// SQLite refuses a registration.
    pub fn register(self: &Arc<Self>, conn: &Connection, catalog: SharedCatalog) -> rusqlite::Result<()> {
        // Not deterministic: SQLite must call them for every row.
        let flags = FunctionFlags::SQLITE_UTF8;
        for (function, read) in [("nextval", Self::nextval as fn(&Self, &str) -> Result<i64>), ("currval", Self::currval)] {
            let this = self.clone();
            let tables = catalog.clone();
            conn.create_scalar_function(function, 1, flags, move |ctx| {
                // A column DEFAULT calls nextval for every row with the same name: it is read
                // once per statement.
                let name = ctx.get_or_create_aux(0, |v| Ok::<_, std::convert::Infallible>(sequence_arg(v)))?;
                let Some(name) = name.as_deref() else { return Ok(Value::Null) };
                match read(&this, name) {
                    Err(EngineError::UndefinedTable { .. }) if rowid_serial_owner(&tables.read(), name).is_some() => {
                        Err(fail(EngineError::unsupported(format!(
                            "{function} of \"{name}\": that serial key is SQLite's rowid, which numbers rows itself"
                        ))))
                    }
                    Err(EngineError::UndefinedTable { .. }) if tables.read().get(name).is_some() => {
                        Err(fail(EngineError::NotASequence { name: name.to_string() }))
                    }
                    result => result.map(Value::Integer).map_err(fail),
                }
            })?;
        }
        let this = self.clone();
        conn.create_scalar_function("lastval", 0, flags, move |_| this.lastval().map(Value::Integer).map_err(fail))?;
        let tables = catalog.clone();
        let this = self.clone();
        conn.create_scalar_function("pg_get_serial_sequence", 2, flags, move |ctx| {
            let (Some(table), Some(column)) = (crate::oltp::functions::text_of(ctx.get_raw(0)), crate::oltp::functions::text_of(ctx.get_raw(1)))
            else {
                return Ok(Value::Null);
            };
            let catalog = tables.read().clone();
            let owned = |sequence: &str, table: TableId| this.state.lock().counters.get(sequence).is_some_and(|c| c.def.owner == Some(table));
            serial_sequence_of(&catalog, &table, &column, owned).map(|s| s.map_or(Value::Null, Value::Text)).map_err(fail)
        })?;
        for arity in [2, 3] {
            let this = self.clone();
            let tables = catalog.clone();
            conn.create_scalar_function("setval", arity, flags, move |ctx| {
                let Some(name) = sequence_arg(ctx.get_raw(0)) else { return Ok(Value::Null) };
                let value = match ctx.get_raw(1) {
                    ValueRef::Integer(v) => v,
                    ValueRef::Null => return Ok(Value::Null),
                    other => match crate::oltp::functions::to_int(other, 64)? {
                        Value::Integer(v) => v,
                        _ => return Ok(Value::Null),
                    },
                };
                // setval is strict: a NULL is_called changes nothing.
                let is_called = match (arity, ctx.get_raw(ctx.len() - 1)) {
                    (2, _) => true,
                    (_, ValueRef::Null) => return Ok(Value::Null),
                    (_, flag) => !matches!(flag, ValueRef::Integer(0)),
                };
                if !this.exists(&name) {
                    let catalog = tables.read().clone();
                    if let Some(table) = rowid_serial_owner(&catalog, &name) {
                        // SAFETY: the connection is the writer's own, busy running the statement
                        // that called this function; the handle is used for a read and a write
                        // of sqlite_sequence (not a table the statement reads) and dropped
                        // before the function returns.
                        let conn = unsafe { ctx.get_connection()? };
                        return rowid_setval(&conn, &catalog, &name, &table, value, is_called).map(Value::Integer).map_err(fail);
                    }
                    if catalog.get(&name).is_some() {
                        return Err(fail(EngineError::NotASequence { name }));
                    }
                }
                this.setval(&name, value, is_called).map(Value::Integer).map_err(fail)
            })?;
        }
        Ok(())
    }
}

/// CREATE SEQUENCE with its options in the order sqlparser reads them (INCREMENT, MINVALUE,
/// MAXVALUE, START, CACHE, CYCLE, OWNED BY), or None when `sql` is not a CREATE SEQUENCE.
/// PostgreSQL takes them in any order, and pg_dump writes START before INCREMENT.
pub fn options_in_parser_order(sql: &str) -> Option<String> {
    use datafusion::sql::sqlparser::dialect::PostgreSqlDialect;
    use datafusion::sql::sqlparser::tokenizer::{Token, Tokenizer};
    let mut tokens = Tokenizer::new(&PostgreSqlDialect {}, sql).tokenize().ok()?;
    while matches!(tokens.last(), Some(Token::SemiColon | Token::Whitespace(_))) {
        tokens.pop();
    }
    if tokens.contains(&Token::SemiColon) {
        return None;
    }
    let keyword = |t: &Token| match t {
        Token::Word(w) if w.quote_style.is_none() => Some(w.value.to_ascii_uppercase()),
        _ => None,
    };
    let words: Vec<String> = tokens.iter().filter_map(keyword).take(3).collect();
    let is_create_sequence = words.first().is_some_and(|w| w == "CREATE")
        && words.iter().skip(1).any(|w| w == "SEQUENCE")
        && words.get(1).is_some_and(|w| matches!(w.as_str(), "SEQUENCE" | "TEMP" | "TEMPORARY"));
    if !is_create_sequence {
        return None;
    }
    let rank = |word: &str| match word {
        "INCREMENT" => Some(0),
        "MINVALUE" => Some(1),
        "MAXVALUE" => Some(2),
        "START" => Some(3),
        "CACHE" => Some(4),
        "CYCLE" => Some(5),
        "OWNED" => Some(6),
        _ => None,
    };
    // Options start at their keyword; NO starts the option named by the word after it.
    let mut head = String::new();
    let mut groups: Vec<(u8, String)> = Vec::new();
    let mut after_no = false;
    for (i, token) in tokens.iter().enumerate() {
        let word = keyword(token);
        let next_word = || tokens[i + 1..].iter().find(|t| !matches!(t, Token::Whitespace(_))).and_then(keyword);
        let starts = match word.as_deref() {
            Some("NO") => next_word().as_deref().and_then(rank).map(|r| (r, true)),
            Some(w) if !after_no => rank(w).map(|r| (r, false)),
            _ => None,
        };
        after_no = matches!(starts, Some((_, true)));
        match (starts, groups.last_mut()) {
            (Some((rank, _)), _) => groups.push((rank, token.to_string())),
            (None, Some((_, text))) => text.push_str(&token.to_string()),
            (None, None) => head.push_str(&token.to_string()),
        }
    }
    groups.sort_by_key(|(rank, _)| *rank);
    let options: Vec<&str> = groups.iter().map(|(_, text)| text.trim()).collect();
    Some(format!("{} {}", head.trim_end(), options.join(" ")))
}

/// `pg_get_serial_sequence(table, column)`: `public.<sequence>` for a serial column or one
/// whose default draws from a sequence the table owns (as pg_dump restores a serial column),
/// NULL for another; 42P01 / 42703 for a table / column that does not exist. The column is
/// taken as written (PostgreSQL does not fold its case), the table as a regclass text.
fn serial_sequence_of(catalog: &Catalog, table: &str, column: &str, owned: impl Fn(&str, TableId) -> bool) -> Result<Option<String>> {
    let name = regclass_name(table);
    let def = catalog.get(&name).ok_or(EngineError::UndefinedTable { name })?;
    let col = def
        .columns
        .iter()
        .find(|c| c.name == column)
        .ok_or_else(|| EngineError::UndefinedColumn { column: column.to_string(), table: Some(def.name.clone()) })?;
    let drawn_from = col.default_sql.as_deref().and_then(nextval_sequence);
    let sequence = match drawn_from {
        Some(sequence) if col.is_serial || owned(&sequence, def.id) => sequence,
        None if col.is_serial => format!("{}_{}_seq", def.name, col.name),
        _ => return Ok(None),
    };
    Ok(Some(format!("public.{}", crate::naming::display_ident(&sequence))))
}

/// The sequence a column DEFAULT `nextval('s'::regclass)` draws from.
pub fn nextval_sequence(default: &str) -> Option<String> {
    let at = default.to_ascii_lowercase().find("nextval('")?;
    let (argument, _) = default[at + "nextval('".len()..].split_once('\'')?;
    Some(regclass_name(argument))
}

/// The table whose serial key is SQLite's rowid and whose sequence, as PostgreSQL would name
/// it, is `sequence`. Such a key numbers itself (the next id is the largest plus one), so it
/// has no counter of its own.
pub(crate) fn rowid_serial_owner(catalog: &Catalog, sequence: &str) -> Option<String> {
    catalog.tables().find_map(|t| {
        let key = t.rowid_alias()?;
        let col = &t.columns[key];
        (col.is_serial && col.default_sql.is_none() && format!("{}_{}_seq", t.name, col.name) == sequence).then(|| t.name.clone())
    })
}

/// setval on the sequence of `table`'s serial key, which is SQLite's rowid. Its counter is
/// the table's entry in sqlite_sequence (the key is AUTOINCREMENT): the next id is one past the
/// larger of it and the largest id present, so a value below the largest id continues from
/// there, where PostgreSQL would hand out ids that collide. Tables made before serial keys were
/// AUTOINCREMENT have no counter: setval is accepted there only when it leaves the next id
/// where SQLite puts it anyway (`setval(seq, max(id))`, the reset after loading rows).
fn rowid_setval(conn: &Connection, catalog: &Catalog, sequence: &str, table: &str, value: i64, is_called: bool) -> Result<i64> {
    let max = match catalog.get(table).and_then(|t| t.rowid_alias().map(|k| t.columns[k].ty)) {
        Some(PgType::Int2) => i16::MAX.into(),
        Some(PgType::Int4) => i32::MAX.into(),
        _ => i64::MAX,
    };
    if !(1..=max).contains(&value) {
        return Err(EngineError::SequenceValueOutOfBounds { name: sequence.to_string(), value, min: 1, max });
    }
    let sql: String = conn
        .query_row("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?1", [table], |r| r.get(0))
        .map_err(classify)?;
    let next = if is_called { value.checked_add(1) } else { Some(value) };
    if sql.contains(" AUTOINCREMENT") {
        conn.execute("DELETE FROM sqlite_sequence WHERE name = ?1", [table]).map_err(classify)?;
        conn.execute("INSERT INTO sqlite_sequence (name, seq) VALUES (?1, ?2)", rusqlite::params![table, next.map_or(value, |n| n - 1)])
            .map_err(classify)?;
        return Ok(value);
    }
    let largest: Option<i64> = conn.query_row(&format!("SELECT max(rowid) FROM {}", quote_ident(table)), [], |r| r.get(0)).map_err(classify)?;
    if next == largest.unwrap_or(0).checked_add(1) {
        Ok(value)
    } else {
        Err(EngineError::unsupported(format!(
            "setval of \"{sequence}\" to other than the largest key: the key is SQLite's rowid, which continues from its largest value"
        )))
    }
}

/// A sequence named as PostgreSQL reads a regclass text: `s`, `public.s`, `"My Seq"`.
fn sequence_arg(value: ValueRef<'_>) -> Option<String> {
    let text = match value {
        ValueRef::Text(t) => String::from_utf8_lossy(t).into_owned(),
        ValueRef::Null => return None,
        other => crate::oltp::functions::text_of(other)?,
    };
    Some(regclass_name(&text))
}

/// The relation name in a regclass text (`public.s` is `s`; quoted names keep their case).
pub fn regclass_name(text: &str) -> String {
    let text = text.trim();
    let unqualified = match text.split_once('.') {
        Some((schema, rest)) if !schema.starts_with('"') && normalize_ident_text(schema) == "public" => rest,
        _ => text,
    };
    normalize_ident_text(unqualified)
}

fn normalize_ident_text(text: &str) -> String {
    match text.strip_prefix('"').and_then(|t| t.strip_suffix('"')) {
        Some(quoted) => quoted.replace("\"\"", "\""),
        None => normalize_ident(&datafusion::sql::sqlparser::ast::Ident::new(text)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sequence(increment: i64, min: i64, max: i64, cycle: bool) -> (SequenceDef, Position) {
        let start = if increment > 0 { min } else { max };
        let def = SequenceDef { name: "s".into(), increment, min_value: min, max_value: max, start, cycle, owner: None, bits: 64 };
        (def, Position { last_value: start, is_called: false })
    }

    #[test]
    fn counts_from_the_start_and_stops_or_cycles_at_the_bound() {
        let (def, mut p) = sequence(2, 1, 5, false);
        let mut next = || next_value(&def, &mut p);
        assert_eq!((next().unwrap(), next().unwrap(), next().unwrap()), (1, 3, 5));
        let e = next().unwrap_err();
        assert_eq!(e.sqlstate(), "2200H");
        assert_eq!(e.to_string(), "nextval: reached maximum value of sequence \"s\" (5)");
        let (def, mut p) = sequence(-1, -2, -1, true);
        let mut next = || next_value(&def, &mut p);
        assert_eq!((next().unwrap(), next().unwrap(), next().unwrap()), (-1, -2, -1));
    }

    #[test]
    fn options_are_put_in_the_order_the_parser_reads_them() {
        let dumped = "CREATE SEQUENCE public.t_id_seq\n    AS integer\n    START WITH 1\n    INCREMENT BY 1\n    NO MINVALUE\n    NO MAXVALUE\n    CACHE 1;";
        assert_eq!(
            options_in_parser_order(dumped).unwrap(),
            "CREATE SEQUENCE public.t_id_seq\n    AS integer INCREMENT BY 1 NO MINVALUE NO MAXVALUE START WITH 1 CACHE 1"
        );
        assert_eq!(options_in_parser_order("CREATE SEQUENCE s CYCLE MAXVALUE 3").unwrap(), "CREATE SEQUENCE s MAXVALUE 3 CYCLE");
        assert!(options_in_parser_order("CREATE TABLE t (start int)").is_none());
    }

    #[test]
    fn regclass_texts_name_the_relation() {
        assert_eq!(regclass_name("public.t_id_seq"), "t_id_seq");
        assert_eq!(regclass_name("T_ID_SEQ"), "t_id_seq");
        assert_eq!(regclass_name("\"My Seq\""), "My Seq");
    }
}
