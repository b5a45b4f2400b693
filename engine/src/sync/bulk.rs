//! Bulk loads handed from the writer to sync. A COPY into an empty table logs one "reload this
//! table" entry instead of a change per row; sync would then read the whole table back out of
//! SQLite, which for a six-million-row table took longer than the COPY itself. The COPY's
//! converter already holds every row, so it builds the Arrow batches as it goes and the writer,
//! as the transaction commits, leaves them here keyed by the reload entry's sequence.
//! Sync uses them in place of the read when that entry is the table's latest reload in its
//! step; anything else (a crash, a later schema change, a rolled-back transaction whose
//! sequence was reused) falls back to reading SQLite, which is always right.

use std::collections::HashMap;
use std::sync::Arc;

use arrow::record_batch::RecordBatch;
use parking_lot::Mutex;

use crate::catalog::{TableDef, TableId};

/// A table's whole content as of change-log entry `seq`.
#[derive(Debug)]
pub struct BulkLoad {
    pub seq: u64,
    /// The definition the batches were built with; sync uses them only if it still holds.
    pub def: TableDef,
    pub batches: Vec<RecordBatch>,
    pub rowids: Vec<i64>,
}

/// Committed bulk loads waiting for sync, at most one per table (a newer load replaces an
/// older one, whose reload entry is superseded anyway).
#[derive(Clone, Default)]
pub struct BulkLoads(Arc<Mutex<HashMap<TableId, BulkLoad>>>);

impl BulkLoads {
    pub fn offer(&self, load: BulkLoad) {
        self.0.lock().insert(load.def.id, load);
    }

    /// Removes the table's load if it belongs to a step that has read up to `last`: it is
    /// returned when it is exactly the content of the reload entry `reload_seq` under `def`,
    /// and dropped otherwise (that entry is superseded). A load newer than `last` stays.
    pub fn take(&self, table: TableId, reload_seq: u64, last: u64, def: &TableDef) -> Option<BulkLoad> {
        let mut loads = self.0.lock();
        if loads.get(&table)?.seq > last {
            return None;
        }
        let load = loads.remove(&table)?;
        let usable = load.seq == reload_seq && load.def == *def;
        if !usable {
            tracing::debug!("bulk load of {} at {} superseded (reload entry {reload_seq}, same definition: {})", def.name, load.seq, load.def == *def);
        }
        usable.then_some(load)
    }

    /// Takes back a load whose transaction failed to commit.
    pub fn withdraw(&self, table: TableId, seq: u64) {
        let mut loads = self.0.lock();
        if loads.get(&table).is_some_and(|l| l.seq == seq) {
            loads.remove(&table);
        }
    }

    /// Drops the table's load (the table is gone).
    pub fn forget(&self, table: TableId) {
        self.0.lock().remove(&table);
    }
}
