//! One table's rows in the in-memory OLAP copy, keyed by SQLite rowid. Rows live in immutable
//! Arrow segments; an upsert marks the old version dead and appends the new one, a delete marks
//! it dead. Applying an update costs O(changed rows), never a re-copy of the table. A published
//! snapshot holds each segment's state as [`SegmentRows`], whose live rows are filtered out of
//! the segment when a query first scans them: not by sync, which would pay for it on every
//! step that touches the segment even when no query reads the table (TPC-B's updates to random
//! accounts re-filtered the whole accounts table every few milliseconds, a third of rhei's CPU
//! beside a TPC-H run). Small trailing segments are merged and mostly-dead ones rewritten so
//! scans stay fast.
//!
//! For durable storage each segment knows the Parquet file that holds exactly its live rows, if
//! one does: a segment that has not changed since it was written is not written again.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use arrow::array::{BooleanArray, RecordBatch};
use arrow::buffer::BooleanBuffer;
use arrow::compute::{concat_batches, filter_record_batch};
use arrow::datatypes::SchemaRef;

use crate::error::{EngineError, Result};

/// Rows per segment when loading or merging.
pub const SEGMENT_ROWS: usize = 64 * 1024;
/// Below this many rows a segment counts as small and is merged with other small ones.
const SMALL_SEGMENT_ROWS: usize = SEGMENT_ROWS / 4;
const MAX_SMALL_SEGMENTS: usize = 16;

/// Rowids are well-distributed integers already; a multiplicative hash is enough and much
/// cheaper than SipHash on the sync path.
#[derive(Default)]
pub struct RowidHasher(u64);

impl Hasher for RowidHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(*b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }
    fn write_i64(&mut self, v: i64) {
        self.0 = (v as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15).rotate_left(29);
    }
}

type RowidMap<V> = HashMap<i64, V, BuildHasherDefault<RowidHasher>>;

/// Names one state of one segment's live rows, process-wide: a persisted file is credited to
/// the segment only if the segment still has the state that was written.
static NEXT_SEGMENT_STATE: AtomicU64 = AtomicU64::new(1);

fn next_state() -> u64 {
    NEXT_SEGMENT_STATE.fetch_add(1, Ordering::Relaxed)
}

/// One state of a segment's rows, as a snapshot sees it.
#[derive(Debug)]
pub struct SegmentRows {
    batch: RecordBatch,
    /// Which rows are live; `None` when all are.
    live: Option<Vec<bool>>,
    visible: OnceLock<RecordBatch>,
}

impl SegmentRows {
    /// The live rows, filtered on the first call.
    ///
    /// # Errors
    /// Only if Arrow fails to filter (an internal error).
    pub fn visible(&self) -> Result<RecordBatch> {
        if let Some(v) = self.visible.get() {
            return Ok(v.clone());
        }
        let v = self.filtered()?;
        Ok(self.visible.get_or_init(|| v).clone())
    }

    /// The live rows, from the cache if a scan filled it, without filling it: `get_or_init`
    /// would make the sync thread wait for a query thread filling it, which runs at a lower
    /// priority.
    fn uncached(&self) -> Result<RecordBatch> {
        match self.visible.get() {
            Some(v) => Ok(v.clone()),
            None => self.filtered(),
        }
    }

    fn filtered(&self) -> Result<RecordBatch> {
        match &self.live {
            None => Ok(self.batch.clone()),
            Some(live) => {
                let mask = BooleanArray::new(BooleanBuffer::collect_bool(live.len(), |i| live[i]), None);
                filter_record_batch(&self.batch, &mask).map_err(|e| EngineError::Olap(e.to_string()))
            }
        }
    }
}

struct Segment {
    batch: RecordBatch,
    rowids: Vec<i64>,
    live: Vec<bool>,
    live_count: usize,
    /// The current state's rows, shared with snapshots; `None` after a change.
    rows: Option<Arc<SegmentRows>>,
    /// Changes whenever `live` does.
    state: u64,
    /// The durable file holding exactly the live rows of this state.
    file: Option<u64>,
}

impl Segment {
    fn new(batch: RecordBatch, rowids: Vec<i64>) -> Self {
        let n = rowids.len();
        Self { rows: None, batch, rowids, live: vec![true; n], live_count: n, state: next_state(), file: None }
    }

    /// The current state's rows: the same value until the segment changes, so a filtering
    /// done for one snapshot serves the next.
    fn rows(&mut self) -> Arc<SegmentRows> {
        let all_live = self.live_count == self.live.len();
        self.rows
            .get_or_insert_with(|| {
                Arc::new(SegmentRows { batch: self.batch.clone(), live: (!all_live).then(|| self.live.clone()), visible: OnceLock::new() })
            })
            .clone()
    }

    /// The live rows only, with their rowids.
    fn compacted(&mut self) -> Result<(RecordBatch, Vec<i64>)> {
        Ok((self.rows().uncached()?, live_rowids(&self.rowids, &self.live)))
    }
}

fn live_rowids(rowids: &[i64], live: &[bool]) -> Vec<i64> {
    rowids.iter().zip(live).filter(|(_, l)| **l).map(|(r, _)| *r).collect()
}

/// The rows of a [`PersistPart::New`] to write: those `live` marks (all without it), with their
/// rowids.
///
/// # Errors
/// Only if Arrow fails to filter (an internal error).
pub fn live_rows(batch: RecordBatch, rowids: Vec<i64>, live: Option<Vec<bool>>) -> Result<(RecordBatch, Vec<i64>)> {
    let Some(live) = live else { return Ok((batch, rowids)) };
    let kept = live_rowids(&rowids, &live);
    let batch = filter_record_batch(&batch, &BooleanArray::from(live)).map_err(|e| EngineError::Olap(e.to_string()))?;
    Ok((batch, kept))
}

/// One segment as durable storage sees it.
pub enum PersistPart {
    /// Its live rows are already in this file.
    Kept { file: u64 },
    /// Rows to write, those of `batch` (with `rowids`) that `live` marks, or all without it;
    /// once written, [`TableStore::mark_persisted`] with `state`.
    New { state: u64, batch: RecordBatch, rowids: Vec<i64>, live: Option<Vec<bool>> },
}

/// A table's rows, mutable by the sync thread only.
pub struct TableStore {
    schema: SchemaRef,
    segments: Vec<Option<Segment>>,
    index: RowidMap<(u32, u32)>,
}

impl TableStore {
    pub fn new(schema: SchemaRef) -> Self {
        Self { schema, segments: Vec::new(), index: RowidMap::default() }
    }

    /// A table holding exactly these rows (a whole-table load). The batches become segments
    /// as they are, cut where longer than a segment, so a large load is not copied again.
    ///
    /// # Errors
    /// `rowids` does not match the batches' rows, or Arrow fails to merge small segments.
    pub fn from_batches(schema: SchemaRef, batches: Vec<RecordBatch>, rowids: Vec<i64>) -> Result<Self> {
        if batches.iter().map(RecordBatch::num_rows).sum::<usize>() != rowids.len() {
            return Err(EngineError::Internal("a table load with a rowid count unlike its row count".into()));
        }
        let mut store = Self::new(schema);
        store.index.reserve(rowids.len());
        let mut start = 0;
        for batch in batches {
            let mut offset = 0;
            while offset < batch.num_rows() {
                let len = (batch.num_rows() - offset).min(SEGMENT_ROWS);
                let ids = rowids[start..start + len].to_vec();
                store.insert_segment(Segment::new(batch.slice(offset, len), ids));
                offset += len;
                start += len;
            }
        }
        store.merge_small()?;
        Ok(store)
    }

    pub fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    pub fn live_rows(&self) -> usize {
        self.index.len()
    }

    /// Removes the rows with these rowids (absent ones are ignored), then appends `upserts`,
    /// whose rows carry `upsert_rowids`. A rowid both removed and upserted ends up upserted.
    ///
    /// # Errors
    /// Only if Arrow fails to filter or concatenate (an internal error).
    pub fn apply(&mut self, removed: &[i64], upserts: Option<RecordBatch>, upsert_rowids: Vec<i64>) -> Result<()> {
        let mut touched = Vec::new();
        for rowid in removed.iter().chain(&upsert_rowids) {
            if let Some((seg, row)) = self.index.remove(rowid) {
                let segment = self.segments[seg as usize].as_mut().expect("indexed segment exists");
                if segment.live[row as usize] {
                    segment.live[row as usize] = false;
                    segment.live_count -= 1;
                    segment.rows = None;
                    segment.state = next_state();
                    segment.file = None;
                    touched.push(seg as usize);
                }
            }
        }
        if let Some(batch) = upserts
            && batch.num_rows() > 0
        {
            self.append(batch, upsert_rowids)?;
        }
        touched.sort_unstable();
        touched.dedup();
        for seg in touched {
            self.maybe_rewrite(seg)?;
        }
        self.merge_small()?;
        Ok(())
    }

    fn append(&mut self, batch: RecordBatch, rowids: Vec<i64>) -> Result<()> {
        let mut offset = 0;
        while offset < batch.num_rows() {
            let len = (batch.num_rows() - offset).min(SEGMENT_ROWS);
            let part = batch.slice(offset, len);
            let ids = rowids[offset..offset + len].to_vec();
            self.insert_segment(Segment::new(part, ids));
            offset += len;
        }
        Ok(())
    }

    fn insert_segment(&mut self, segment: Segment) {
        let slot = match self.segments.iter().position(Option::is_none) {
            Some(free) => free,
            None => {
                self.segments.push(None);
                self.segments.len() - 1
            }
        };
        for (row, rowid) in segment.rowids.iter().enumerate() {
            self.index.insert(*rowid, (slot as u32, row as u32));
        }
        self.segments[slot] = Some(segment);
    }

    /// Rewrites a segment that is mostly dead (or drops an empty one).
    fn maybe_rewrite(&mut self, seg: usize) -> Result<()> {
        let Some(segment) = self.segments[seg].as_mut() else { return Ok(()) };
        if segment.live_count == 0 {
            self.segments[seg] = None;
            return Ok(());
        }
        if segment.live_count * 2 >= segment.rowids.len() {
            return Ok(());
        }
        let (batch, rowids) = segment.compacted()?;
        self.segments[seg] = None;
        self.insert_segment(Segment::new(batch, rowids));
        Ok(())
    }

    fn merge_small(&mut self) -> Result<()> {
        let small: Vec<usize> = self
            .segments
            .iter()
            .enumerate()
            .filter_map(|(i, s)| s.as_ref().filter(|s| s.live_count < SMALL_SEGMENT_ROWS).map(|_| i))
            .collect();
        if small.len() <= MAX_SMALL_SEGMENTS {
            return Ok(());
        }
        let mut batches = Vec::with_capacity(small.len());
        let mut rowids = Vec::new();
        for i in small {
            let mut segment = self.segments[i].take().expect("listed segment exists");
            let (batch, ids) = segment.compacted()?;
            batches.push(batch);
            rowids.extend(ids);
        }
        let merged = concat_batches(&self.schema, &batches).map_err(|e| EngineError::Olap(e.to_string()))?;
        self.append(merged, rowids)
    }

    /// A table whose rows come from durable files, each `(rows, rowids, file)` becoming one
    /// segment already persisted in that file.
    ///
    /// # Errors
    /// A file's rowids do not match its rows, or Arrow fails to merge small segments.
    pub fn from_files(schema: SchemaRef, files: Vec<(RecordBatch, Vec<i64>, u64)>) -> Result<Self> {
        let mut store = Self::new(schema);
        store.index.reserve(files.iter().map(|f| f.1.len()).sum());
        for (batch, rowids, file) in files {
            if batch.num_rows() != rowids.len() {
                return Err(EngineError::Internal("a persisted segment with a rowid count unlike its row count".into()));
            }
            let mut segment = Segment::new(batch, rowids);
            segment.file = Some(file);
            store.insert_segment(segment);
        }
        store.merge_small()?;
        Ok(store)
    }

    /// What durable storage needs to hold this table: for each segment with live rows, the file
    /// already holding them, or the rows to write. Cheap (arrays are shared, masks copied): the
    /// sync thread waits while it runs.
    pub fn persist_parts(&self) -> Vec<PersistPart> {
        self.segments
            .iter()
            .flatten()
            .filter(|s| s.live_count > 0)
            .map(|segment| match segment.file {
                Some(file) => PersistPart::Kept { file },
                None => PersistPart::New {
                    state: segment.state,
                    batch: segment.batch.clone(),
                    rowids: segment.rowids.clone(),
                    live: (segment.live_count < segment.rowids.len()).then(|| segment.live.clone()),
                },
            })
            .collect()
    }

    /// Records that `file` holds the segment state `state`, if a segment still has it.
    pub fn mark_persisted(&mut self, state: u64, file: u64) {
        if let Some(segment) = self.segments.iter_mut().flatten().find(|s| s.state == state) {
            segment.file = Some(file);
        }
    }

    /// The live rows, segment by segment, filtered when first scanned.
    pub fn snapshot(&mut self) -> Vec<Arc<SegmentRows>> {
        self.segments.iter_mut().flatten().filter(|s| s.live_count > 0).map(Segment::rows).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Array, Int64Array, StringArray};
    use arrow::datatypes::{DataType, Field, Schema};
    use std::sync::Arc;

    fn schema() -> SchemaRef {
        Arc::new(Schema::new(vec![Field::new("id", DataType::Int64, false), Field::new("v", DataType::Utf8, true)]))
    }

    fn batch(rows: &[(i64, Option<&str>)]) -> RecordBatch {
        RecordBatch::try_new(
            schema(),
            vec![
                Arc::new(Int64Array::from(rows.iter().map(|r| r.0).collect::<Vec<_>>())),
                Arc::new(StringArray::from(rows.iter().map(|r| r.1).collect::<Vec<_>>())),
            ],
        )
        .unwrap()
    }

    fn contents(store: &mut TableStore) -> Vec<(i64, Option<String>)> {
        rows_of(&store.snapshot())
    }

    /// The rows a snapshot shows, sorted.
    fn rows_of(snapshot: &[Arc<SegmentRows>]) -> Vec<(i64, Option<String>)> {
        let mut out: Vec<_> = snapshot
            .iter()
            .map(|rows| rows.visible().unwrap())
            .flat_map(|b| {
                let ids = b.column(0).as_any().downcast_ref::<Int64Array>().unwrap().clone();
                let vs = b.column(1).as_any().downcast_ref::<StringArray>().unwrap().clone();
                (0..b.num_rows())
                    .map(|i| (ids.value(i), vs.is_valid(i).then(|| vs.value(i).to_string())))
                    .collect::<Vec<_>>()
            })
            .collect();
        out.sort();
        out
    }

    #[test]
    fn upsert_replaces_and_delete_removes() {
        let mut store = TableStore::new(schema());
        store.apply(&[], Some(batch(&[(1, Some("a")), (2, Some("b"))])), vec![10, 20]).unwrap();
        store.apply(&[10], Some(batch(&[(1, None)])), vec![10]).unwrap();
        store.apply(&[20], None, vec![]).unwrap();
        assert_eq!(contents(&mut store), vec![(1, None)]);
        assert_eq!(store.live_rows(), 1);
    }

    /// Sync leaves the filtering to the first scan; a snapshot keeps the rows it was taken
    /// with, and an unchanged segment's filtered rows serve the next snapshot.
    #[test]
    fn snapshots_filter_when_scanned_and_keep_their_rows() {
        let owned = |rows: &[(i64, &str)]| rows.iter().map(|(id, v)| (*id, Some(v.to_string()))).collect::<Vec<_>>();
        let letters = ["a", "b", "c", "d", "e", "f", "g", "h"];
        let eight: Vec<(i64, Option<&str>)> = (1..=8).map(|i| (i, Some(letters[i as usize - 1]))).collect();
        let mut store = TableStore::new(schema());
        store.apply(&[], Some(batch(&eight)), (1..=8).collect()).unwrap();
        store.apply(&[], Some(batch(&[(9, Some("i"))])), vec![9]).unwrap();
        store.apply(&[2], None, vec![]).unwrap();
        let first = store.snapshot();
        assert!(first.iter().all(|rows| rows.visible.get().is_none()), "filtered before any scan");
        // Row 1 replaced and row 3 deleted after the snapshot; their segment stays (5 of its 8
        // rows live), so the first snapshot and the store share its arrays.
        store.apply(&[1, 3], Some(batch(&[(1, Some("A"))])), vec![1]).unwrap();
        let all_but_2 = [(1, "a"), (3, "c"), (4, "d"), (5, "e"), (6, "f"), (7, "g"), (8, "h"), (9, "i")];
        assert_eq!(rows_of(&first), owned(&all_but_2));
        let second = store.snapshot();
        assert_eq!(rows_of(&second), owned(&[(1, "A"), (4, "d"), (5, "e"), (6, "f"), (7, "g"), (8, "h"), (9, "i")]));
        // Unchanged segments keep their rows, filtered once: the all-live one of row 9, and the
        // partly dead one of rows 1-8 once scanned.
        let segment_of = |snapshot: &[Arc<SegmentRows>], id: i64| {
            snapshot
                .iter()
                .find(|r| r.batch.column(0).as_any().downcast_ref::<Int64Array>().unwrap().values().contains(&id))
                .cloned()
                .expect("a segment holding the id")
        };
        assert!(Arc::ptr_eq(&segment_of(&first, 9), &segment_of(&second, 9)));
        assert!(!Arc::ptr_eq(&segment_of(&first, 8), &segment_of(&second, 8)), "a changed segment's rows shared");
        store.apply(&[], Some(batch(&[(10, Some("j"))])), vec![10]).unwrap();
        let third = store.snapshot();
        let partly_dead = segment_of(&third, 8);
        assert!(Arc::ptr_eq(&segment_of(&second, 8), &partly_dead));
        assert!(partly_dead.visible.get().is_some(), "the scan's filtering was not kept");
        assert_eq!(rows_of(&first), owned(&all_but_2), "the first snapshot changed");
    }

    #[test]
    fn many_small_applies_merge_and_stay_correct() {
        let mut store = TableStore::new(schema());
        for i in 0..200 {
            store.apply(&[], Some(batch(&[(i, Some("x"))])), vec![i]).unwrap();
            if i % 3 == 0 {
                store.apply(&[i], None, vec![]).unwrap();
            }
        }
        let expected: Vec<_> = (0..200).filter(|i| i % 3 != 0).map(|i| (i, Some("x".to_string()))).collect();
        assert_eq!(contents(&mut store), expected);
        assert!(store.segments.iter().flatten().count() <= MAX_SMALL_SEGMENTS + 1);
    }

    #[test]
    fn a_load_from_batches_keeps_every_row_under_its_rowid() {
        let big: Vec<(i64, Option<&str>)> = (0..(SEGMENT_ROWS as i64 + 5)).map(|i| (i, Some("b"))).collect();
        let batches = vec![batch(&[(-1, None)]), batch(&big), batch(&[(-2, Some("c"))])];
        let rowids: Vec<i64> = std::iter::once(-100).chain(0..SEGMENT_ROWS as i64 + 5).chain(std::iter::once(-200)).collect();
        let mut store = TableStore::from_batches(schema(), batches, rowids).unwrap();
        assert_eq!(store.live_rows(), SEGMENT_ROWS + 7);
        // Rows are found by rowid: replace the first and last, delete one from the cut batch.
        store.apply(&[-100, -200, SEGMENT_ROWS as i64 + 1], Some(batch(&[(-1, Some("a"))])), vec![-100]).unwrap();
        let got = contents(&mut store);
        assert_eq!(got.len(), SEGMENT_ROWS + 5);
        assert_eq!(got[0], (-1, Some("a".to_string())));
        assert!(!got.iter().any(|r| r.0 == SEGMENT_ROWS as i64 + 1 || r.0 == -2));
        assert!(TableStore::from_batches(schema(), vec![batch(&[(1, None)])], vec![]).is_err());
    }
}
