//! Durable OLAP storage (`olap_storage = "parquet"`): the OLAP copy is also kept as Parquet files
//! under `data_dir/olap/`, one directory per table (its name, with every character but ASCII
//! letters, digits, `_` and `-` percent-encoded), one file per segment, each holding the table's
//! columns and a last `_rhei_rowid` column. Spark, DuckDB or pandas read a table's directory as
//! they find it; for a sidecar it is the temporal history, every version of every row.
//!
//! `olap/manifest.json` names the files that make up every table as of one change-log sequence.
//! It is replaced atomically (written aside, synced, renamed, directory synced) after the files
//! it names are synced; files it does not name are removed after that. The change log is pruned
//! only up to the manifest's sequence, so at start the tables load from their files and the log
//! after the manifest brings them level with SQLite. A crash at any point loses nothing and
//! applies nothing twice (applying a change reads the row's current state, so it is idempotent).
//!
//! Writing runs on its own thread (`rhei-persist`) every `olap_persist_interval`, from the
//! segments the OLAP copy hands it between two sync steps (Arrow arrays are shared, not copied),
//! at a lower CPU priority than the writer. A segment unchanged since it was written keeps its
//! file, so a table that only grows at its end (history) costs only its new segments.

use std::collections::HashMap;
use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use arrow::array::{Array, ArrayRef, AsArray, Int32Array, Int64Array, IntervalMonthDayNanoArray, RecordBatch, StructArray};
use arrow::compute::concat_batches;
use arrow::datatypes::{DataType, Field, Int32Type, Int64Type, IntervalMonthDayNano, IntervalMonthDayNanoType, IntervalUnit, Schema, SchemaRef};
use datafusion::parquet::arrow::ArrowWriter;
use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use datafusion::parquet::basic::{Compression, ZstdLevel};
use datafusion::parquet::file::properties::WriterProperties;
use parking_lot::Mutex;
use rhei_config::OlapPriority;
use serde::{Deserialize, Serialize};

use crate::catalog::{TableDef, TableId};
use crate::error::{EngineError, Result};
use crate::olap::store::{PersistPart, SEGMENT_ROWS, live_rows};
use crate::olap::{OlapBackend, TableParts};
use crate::oltp::writer::OltpWriter;

/// The column every file adds after the table's own: the SQLite rowid each row came from,
/// which later changes are applied by.
pub const ROWID_COLUMN: &str = "_rhei_rowid";
const MANIFEST: &str = "manifest.json";
/// Where new files are written before they move into their tables' directories.
const STAGING: &str = ".staging";
/// Locked by the one engine that writes the directory.
const LOCK: &str = ".lock";
/// How long opening waits for an engine closing on the same directory to finish writing.
const LOCK_WAIT: Duration = Duration::from_secs(60);
const FORMAT: u32 = 1;

/// What `olap/manifest.json` holds.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Manifest {
    pub format: u32,
    /// Every table's files reflect the change log up to this sequence.
    pub seq: u64,
    pub next_file: u64,
    pub tables: Vec<ManifestTable>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ManifestTable {
    pub id: i64,
    pub name: String,
    pub rows: u64,
    pub files: Vec<ManifestFile>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ManifestFile {
    pub id: u64,
    /// Relative to `olap/`.
    pub path: String,
    pub rows: u64,
}

impl Manifest {
    pub fn table(&self, id: TableId) -> Option<&ManifestTable> {
        self.tables.iter().find(|t| t.id == id.0)
    }
}

/// A table's segments read back from its files: `(rows, rowids, file)`.
pub type PersistedSegments = Vec<(RecordBatch, Vec<i64>, u64)>;

/// Per table, the segment states written to new files: `(state, file)`.
pub type WrittenSegments = Vec<(TableId, Vec<(u64, u64)>)>;

/// The Parquet files under `data_dir/olap/` and their manifest.
pub struct ParquetStore {
    dir: PathBuf,
    manifest: Option<Manifest>,
    /// The next file id: only ever grows, so no file on disk is overwritten.
    next_file: u64,
    /// Holds the directory's lock (released when closed).
    _lock: File,
}

/// Takes `path`'s exclusive lock, waiting for a closing engine (whose persist thread may still
/// be writing its last files) but not for a live one.
fn lock(path: &Path) -> Result<File> {
    use std::os::fd::AsRawFd;
    let file = File::options().create(true).truncate(false).write(true).open(path).map_err(|e| io_error("open", path, e))?;
    let deadline = Instant::now() + LOCK_WAIT;
    loop {
        // SAFETY: flock on a descriptor this function owns; no memory is involved.
        if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } == 0 {
            return Ok(file);
        }
        let err = std::io::Error::last_os_error();
        if err.raw_os_error() != Some(libc::EWOULDBLOCK) || Instant::now() >= deadline {
            let reason = if err.raw_os_error() == Some(libc::EWOULDBLOCK) {
                "another rhei is using this data directory".to_string()
            } else {
                err.to_string()
            };
            return Err(io_error("lock", path, reason));
        }
        thread::sleep(Duration::from_millis(20));
    }
}

fn io_error(action: &'static str, path: &Path, err: impl std::fmt::Display) -> EngineError {
    EngineError::OlapStorage { action, path: path.display().to_string(), reason: err.to_string() }
}

/// A table's directory name: readable where the name is plain, unique for every name.
fn table_dir(name: &str) -> String {
    let mut dir = String::with_capacity(name.len());
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || b == b'_' || b == b'-' {
            dir.push(b as char);
        } else {
            dir.push_str(&format!("%{b:02X}"));
        }
    }
    dir
}

fn sync_dir(path: &Path) -> Result<()> {
    File::open(path).and_then(|d| d.sync_all()).map_err(|e| io_error("sync directory", path, e))
}

fn file_schema(schema: &SchemaRef) -> SchemaRef {
    let mut fields: Vec<Field> = schema.fields().iter().map(|f| stored_field(f)).collect();
    fields.push(Field::new(ROWID_COLUMN, DataType::Int64, false));
    Arc::new(Schema::new_with_metadata(fields, schema.metadata().clone()))
}

/// The fields of an interval as a file holds it: Parquet has no interval of months, days and
/// nanoseconds (its INTERVAL counts milliseconds), so each interval is a struct of its three
/// fields, which any Parquet reader reads.
fn interval_struct_fields() -> arrow::datatypes::Fields {
    arrow::datatypes::Fields::from(vec![
        Field::new("months", DataType::Int32, false),
        Field::new("days", DataType::Int32, false),
        Field::new("microseconds", DataType::Int64, false),
    ])
}

/// A column's field as its file holds it (see [`interval_struct_fields`]).
fn stored_field(field: &Field) -> Field {
    match field.data_type() {
        DataType::Interval(IntervalUnit::MonthDayNano) => field.clone().with_data_type(DataType::Struct(interval_struct_fields())),
        _ => field.clone(),
    }
}

/// A column's values as its file holds them.
fn stored_column(column: &ArrayRef) -> ArrayRef {
    let Some(intervals) = column.as_primitive_opt::<IntervalMonthDayNanoType>() else { return column.clone() };
    let months: Int32Array = intervals.unary(|i| i.months);
    let days: Int32Array = intervals.unary(|i| i.days);
    let micros: Int64Array = intervals.unary(|i| i.nanoseconds / 1000);
    Arc::new(StructArray::new(
        interval_struct_fields(),
        vec![Arc::new(months), Arc::new(days), Arc::new(micros)],
        intervals.nulls().cloned(),
    ))
}

/// A column read from a file as the OLAP copy holds it (the inverse of [`stored_column`]).
fn loaded_column(column: &ArrayRef, ty: &DataType) -> std::result::Result<ArrayRef, String> {
    if !matches!(ty, DataType::Interval(IntervalUnit::MonthDayNano)) {
        return Ok(column.clone());
    }
    let fields = column.as_struct_opt().ok_or("an interval column is not a struct")?;
    let (Some(months), Some(days), Some(micros)) = (
        fields.column(0).as_primitive_opt::<Int32Type>(),
        fields.column(1).as_primitive_opt::<Int32Type>(),
        fields.column(2).as_primitive_opt::<Int64Type>(),
    ) else {
        return Err("an interval column's fields are not int, int, bigint".into());
    };
    let values: Vec<IntervalMonthDayNano> = (0..fields.len())
        .map(|i| IntervalMonthDayNano::new(months.value(i), days.value(i), micros.value(i).saturating_mul(1000)))
        .collect();
    Ok(Arc::new(IntervalMonthDayNanoArray::new(values.into(), fields.nulls().cloned())))
}

impl ParquetStore {
    /// Opens `data_dir/olap/` (creating it), reads its manifest and removes files it does not
    /// name (left by a crash while writing). An unreadable manifest is reported and ignored:
    /// the OLAP copy is then rebuilt from SQLite.
    ///
    /// # Errors
    /// The directory cannot be created or read.
    pub fn open(data_dir: &Path) -> Result<Self> {
        let dir = data_dir.join("olap");
        fs::create_dir_all(&dir).map_err(|e| io_error("create directory", &dir, e))?;
        let lock = lock(&dir.join(LOCK))?;
        let path = dir.join(MANIFEST);
        let manifest = match fs::read(&path) {
            Ok(bytes) => match serde_json::from_slice::<Manifest>(&bytes) {
                Ok(m) if m.format == FORMAT => Some(m),
                Ok(m) => {
                    tracing::warn!("{}: format {} is not {FORMAT}; rebuilding the OLAP copy from SQLite", path.display(), m.format);
                    None
                }
                Err(e) => {
                    tracing::warn!("{} is unreadable ({e}); rebuilding the OLAP copy from SQLite", path.display());
                    None
                }
            },
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(io_error("read", &path, e)),
        };
        let next_file = manifest.as_ref().map_or(1, |m| m.next_file.max(1));
        let store = Self { dir, manifest, next_file, _lock: lock };
        store.remove_unlisted();
        Ok(store)
    }

    /// Removes durable OLAP storage left by an earlier run with `olap_storage = "parquet"`:
    /// with the change log pruned past it, it would be stale.
    ///
    /// # Errors
    /// It exists and cannot be removed.
    pub fn remove(data_dir: &Path) -> Result<()> {
        let dir = data_dir.join("olap");
        if dir.join(MANIFEST).exists() {
            // After an engine still closing on the directory has written its last files.
            let _lock = lock(&dir.join(LOCK))?;
            tracing::info!("olap_storage is memory: removing the Parquet copy in {}", dir.display());
            fs::remove_dir_all(&dir).map_err(|e| io_error("remove", &dir, e))?;
        }
        Ok(())
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn manifest(&self) -> Option<&Manifest> {
        self.manifest.as_ref()
    }

    /// A table's segments from its files, when they have exactly the columns of `def`
    /// (otherwise `None`: the table changed shape, and is read from SQLite instead).
    ///
    /// # Errors
    /// A file cannot be read or decoded.
    pub fn read_table(&self, table: &ManifestTable, def: &TableDef) -> Result<Option<PersistedSegments>> {
        let schema = def.arrow_schema();
        let mut segments = Vec::with_capacity(table.files.len());
        for file in &table.files {
            let path = self.dir.join(&file.path);
            let reader = File::open(&path).map_err(|e| io_error("open", &path, e))?;
            let builder = ParquetRecordBatchReaderBuilder::try_new(reader).map_err(|e| io_error("read", &path, e))?;
            let found = builder.schema().clone();
            let n = schema.fields().len();
            let same = found.fields().len() == n + 1
                && found.field(n).name() == ROWID_COLUMN
                && schema.fields().iter().zip(found.fields()).all(|(want, got)| {
                    let want = stored_field(want);
                    want.name() == got.name() && want.data_type() == got.data_type() && want.is_nullable() == got.is_nullable()
                });
            if !same {
                return Ok(None);
            }
            let batches = builder
                .with_batch_size(SEGMENT_ROWS)
                .build()
                .map_err(|e| io_error("read", &path, e))?
                .collect::<std::result::Result<Vec<_>, _>>()
                .map_err(|e| io_error("read", &path, e))?;
            let batch = concat_batches(&found, &batches).map_err(|e| io_error("read", &path, e))?;
            let rowids = batch
                .column(n)
                .as_any()
                .downcast_ref::<Int64Array>()
                .ok_or_else(|| io_error("read", &path, "the rowid column is not bigint"))?
                .values()
                .to_vec();
            let columns = schema
                .fields()
                .iter()
                .zip(batch.columns())
                .map(|(field, column)| loaded_column(column, field.data_type()))
                .collect::<std::result::Result<Vec<_>, _>>()
                .map_err(|e| io_error("read", &path, e))?;
            let rows = RecordBatch::try_new(schema.clone(), columns).map_err(|e| io_error("read", &path, e))?;
            segments.push((rows, rowids, file.id));
        }
        Ok(Some(segments))
    }

    /// Writes what is not on disk yet and a manifest naming every table's files as of `seq`;
    /// returns, per table, the segment states now held by new files. New files are written in
    /// `olap/.staging/` and moved into their tables' directories together just before the
    /// manifest, so a reader listing a directory sees a rewritten segment twice only for the
    /// moment between that and the removal of the old file, and never half a file.
    ///
    /// # Errors
    /// A file or the manifest cannot be written; the previous manifest then stays in force.
    pub fn write(&mut self, seq: u64, tables: Vec<TableParts>) -> Result<WrittenSegments> {
        let previous = self.manifest.clone().unwrap_or_default();
        let listed: HashMap<u64, &ManifestFile> = previous.tables.iter().flat_map(|t| &t.files).map(|f| (f.id, f)).collect();
        let staging = self.dir.join(STAGING);
        let mut manifest_tables = Vec::with_capacity(tables.len());
        let mut written = Vec::with_capacity(tables.len());
        let mut moves = Vec::new();
        for table in tables {
            let dir_name = table_dir(&table.name);
            let mut files = Vec::with_capacity(table.parts.len());
            let mut marks = Vec::new();
            for part in table.parts {
                match part {
                    // A renamed table is reloaded whole, so its kept files are where its name says;
                    // were one not, it stays where it is, which the manifest records.
                    PersistPart::Kept { file } => files.push((*listed.get(&file).ok_or_else(|| {
                        EngineError::Internal(format!("an OLAP segment credited to file {file}, which the manifest does not list"))
                    })?)
                    .clone()),
                    PersistPart::New { state, batch, rowids, live } => {
                        // Never reused, even after a failed write whose files may be on disk.
                        let id = self.next_file;
                        self.next_file += 1;
                        fs::create_dir_all(&staging).map_err(|e| io_error("create directory", &staging, e))?;
                        let staged = staging.join(format!("part-{id:016}.parquet"));
                        let (batch, rowids) = live_rows(batch, rowids, live)?;
                        let rows = write_file(&staged, &table.schema, batch, rowids)?;
                        let path = format!("{dir_name}/part-{id:016}.parquet");
                        moves.push((staged, self.dir.join(&dir_name), self.dir.join(&path)));
                        files.push(ManifestFile { id, path, rows });
                        marks.push((state, id));
                    }
                }
            }
            let rows = files.iter().map(|f| f.rows).sum();
            manifest_tables.push(ManifestTable { id: table.id.0, name: table.name, rows, files });
            written.push((table.id, marks));
        }
        let mut touched_dirs: Vec<&PathBuf> = Vec::new();
        for (staged, dir, path) in &moves {
            fs::create_dir_all(dir).map_err(|e| io_error("create directory", dir, e))?;
            fs::rename(staged, path).map_err(|e| io_error("rename", path, e))?;
            if !touched_dirs.contains(&dir) {
                touched_dirs.push(dir);
            }
        }
        for dir in touched_dirs {
            sync_dir(dir)?;
        }
        // New table directories' entries too, before the manifest names files in them.
        sync_dir(&self.dir)?;
        manifest_tables.sort_by_key(|t| t.id);
        let manifest = Manifest { format: FORMAT, seq, next_file: self.next_file, tables: manifest_tables };
        let text = serde_json::to_vec_pretty(&manifest).map_err(|e| EngineError::Internal(format!("encoding the OLAP manifest: {e}")))?;
        let path = self.dir.join(MANIFEST);
        let aside = self.dir.join(format!("{MANIFEST}.tmp"));
        File::create(&aside)
            .and_then(|mut f| f.write_all(&text).and_then(|()| f.sync_all()))
            .map_err(|e| io_error("write", &aside, e))?;
        fs::rename(&aside, &path).map_err(|e| io_error("rename", &path, e))?;
        // In force from here, whether or not the directory sync below succeeds.
        self.manifest = Some(manifest);
        sync_dir(&self.dir)?;
        self.remove_unlisted();
        Ok(written)
    }

    /// Drops a manifest the data file does not match (see `Syncer::full_load`), durably, with
    /// the files it listed, before anything is served from the copy rebuilt instead.
    ///
    /// # Errors
    /// The manifest cannot be removed.
    pub fn discard(&mut self) -> Result<()> {
        let path = self.dir.join(MANIFEST);
        match fs::remove_file(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io_error("remove", &path, e)),
        }
        sync_dir(&self.dir)?;
        self.manifest = None;
        self.remove_unlisted();
        Ok(())
    }

    /// Removes files and table directories the manifest does not name. Failing to is only
    /// worth a warning: they are ignored and removed next time.
    fn remove_unlisted(&self) {
        let listed: std::collections::HashSet<&str> =
            self.manifest.iter().flat_map(|m| &m.tables).flat_map(|t| &t.files).map(|f| f.path.as_str()).collect();
        let Ok(entries) = fs::read_dir(&self.dir) else { return };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let path = entry.path();
            if path.is_dir() {
                let Ok(files) = fs::read_dir(&path) else { continue };
                let mut kept = 0;
                for file in files.flatten() {
                    let relative = format!("{name}/{}", file.file_name().to_string_lossy());
                    if listed.contains(relative.as_str()) {
                        kept += 1;
                    } else if let Err(e) = fs::remove_file(file.path()) {
                        tracing::warn!("could not remove {}: {e}", file.path().display());
                    }
                }
                if kept == 0 {
                    let _ = fs::remove_dir(&path);
                }
            } else if name != MANIFEST && name != LOCK {
                let _ = fs::remove_file(&path);
            }
        }
    }
}

/// Writes rows with their rowids to `path`, synced; returns how many.
fn write_file(path: &Path, schema: &SchemaRef, batch: RecordBatch, rowids: Vec<i64>) -> Result<u64> {
    let rows = batch.num_rows() as u64;
    let schema = file_schema(schema);
    let mut columns: Vec<ArrayRef> = batch.columns().iter().map(stored_column).collect();
    columns.push(Arc::new(Int64Array::from(rowids)));
    let batch = RecordBatch::try_new(schema.clone(), columns).map_err(|e| io_error("write", path, e))?;
    let file = File::create(path).map_err(|e| io_error("create", path, e))?;
    let properties = WriterProperties::builder()
        .set_compression(Compression::ZSTD(ZstdLevel::default()))
        .set_max_row_group_row_count(Some(SEGMENT_ROWS))
        .build();
    let mut writer = ArrowWriter::try_new(file, schema, Some(properties)).map_err(|e| io_error("write", path, e))?;
    writer.write(&batch).map_err(|e| io_error("write", path, e))?;
    writer.finish().map_err(|e| io_error("write", path, e))?;
    writer.inner_mut().sync_all().map_err(|e| io_error("sync", path, e))?;
    Ok(rows)
}

/// What the persist thread has done, for `sync_status`.
#[derive(Debug, Clone, Default)]
pub struct PersistProgress {
    /// The change-log sequence the files on disk reflect.
    pub seq: u64,
    pub files_written: u64,
    pub last_duration: Option<Duration>,
    pub last_error: Option<String>,
}

enum Request {
    Now(tokio::sync::oneshot::Sender<std::result::Result<u64, String>>),
    /// A last write, then the thread ends; the reply (if any) is told once the write is done.
    Stop(Option<tokio::sync::oneshot::Sender<()>>),
    /// Stops without a last write, as a crash would.
    #[cfg(test)]
    Abandon,
}

/// The persist thread's handle.
pub struct Persister {
    tx: crossbeam_channel::Sender<Request>,
    progress: Arc<Mutex<PersistProgress>>,
    dir: PathBuf,
}

/// What the persist thread works with.
pub struct PersistContext {
    pub olap: Arc<dyn OlapBackend>,
    pub writer: OltpWriter,
    /// Held by the sync thread for each step, so the segments taken reflect one sequence.
    pub step_lock: Arc<Mutex<()>>,
    /// The sequence the files reflect, which the change log may be pruned up to.
    pub durable: Arc<AtomicU64>,
    /// Tables left out of the files: their copy is empty, and a start reads them from SQLite.
    pub held_back: super::HeldBack,
}

impl Persister {
    /// Starts the persist thread.
    ///
    /// # Errors
    /// The thread cannot be started.
    pub fn start(store: ParquetStore, context: PersistContext, interval: Duration, priority: OlapPriority) -> Result<Self> {
        let (tx, rx) = crossbeam_channel::unbounded();
        let dir = store.dir().to_path_buf();
        let persisted = store.manifest().map(|m| m.seq);
        let progress = Arc::new(Mutex::new(PersistProgress { seq: persisted.unwrap_or(0), ..Default::default() }));
        let mut worker = Worker { store, context, persisted, progress: progress.clone() };
        thread::Builder::new()
            .name("rhei-persist".into())
            .spawn(move || {
                // It holds the sync step's lock for a moment: never idle-only, which a busy
                // machine could leave off the CPU for a long while with the lock held.
                crate::olap::datafusion::set_priority(if priority == OlapPriority::Idle { OlapPriority::Low } else { priority });
                let stopped = loop {
                    let mut waiting = Vec::new();
                    let mut stop = false;
                    let mut stopped = Vec::new();
                    let first = match rx.recv_timeout(interval) {
                        Ok(request) => Some(request),
                        Err(crossbeam_channel::RecvTimeoutError::Disconnected) => Some(Request::Stop(None)),
                        Err(crossbeam_channel::RecvTimeoutError::Timeout) => None,
                    };
                    for request in first.into_iter().chain(rx.try_iter()) {
                        match request {
                            Request::Now(reply) => waiting.push(reply),
                            Request::Stop(reply) => {
                                stop = true;
                                stopped.extend(reply);
                            }
                            #[cfg(test)]
                            Request::Abandon => return,
                        }
                    }
                    let result = worker.persist().map_err(|e| e.to_string());
                    for reply in waiting {
                        let _ = reply.send(result.clone());
                    }
                    if stop {
                        break stopped;
                    }
                };
                // Told once the worker (and with it the directory's lock) is gone, so a caller
                // may open the directory again at once.
                drop(worker);
                for reply in stopped {
                    let _ = reply.send(());
                }
            })
            .map_err(|e| EngineError::Internal(format!("could not start the persist thread: {e}")))?;
        Ok(Self { tx, progress, dir })
    }

    /// Writes out whatever changed now; returns the sequence the files reflect.
    ///
    /// # Errors
    /// Writing failed ([`EngineError::OlapStorage`]), or the thread has stopped.
    pub async fn persist_now(&self) -> Result<u64> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        self.tx.send(Request::Now(reply)).map_err(|_| EngineError::ShuttingDown)?;
        let result = answer.await.map_err(|_| EngineError::ShuttingDown)?;
        result.map_err(|reason| EngineError::OlapStorage { action: "persist the OLAP copy to", path: self.dir.display().to_string(), reason })
    }

    pub fn progress(&self) -> PersistProgress {
        self.progress.lock().clone()
    }

    /// Writes out what changed and stops the thread; returns when that last write is done (or
    /// failed, which the progress records) and the directory's lock is released. Dropping the
    /// future early does not cancel the stop, only the wait for it.
    pub async fn stop(&self) {
        let (reply, done) = tokio::sync::oneshot::channel();
        if self.tx.send(Request::Stop(Some(reply))).is_ok() {
            // An error here means the thread had already ended: nothing is left to wait for.
            let _ = done.await;
        }
    }

    #[cfg(test)]
    pub(crate) fn abandon(&self) {
        let _ = self.tx.send(Request::Abandon);
    }
}

struct Worker {
    store: ParquetStore,
    context: PersistContext,
    /// The sequence of the last manifest written (or read at start).
    persisted: Option<u64>,
    progress: Arc<Mutex<PersistProgress>>,
}

impl Worker {
    fn persist(&mut self) -> Result<u64> {
        let started = Instant::now();
        let (seq, tables) = {
            let _step = self.context.step_lock.lock();
            let seq = self.context.olap.published_seq();
            if self.persisted == Some(seq) {
                return Ok(seq);
            }
            let held_back = &self.context.held_back;
            let parts = self.context.olap.persist_parts().map(|mut tables| {
                tables.retain(|t| !held_back.contains(t.id));
                tables
            });
            (seq, parts)
        };
        let written = match tables.and_then(|tables| self.store.write(seq, tables)) {
            Ok(written) => written,
            Err(e) => {
                tracing::error!("persisting the OLAP copy failed, will retry: {e}");
                self.progress.lock().last_error = Some(e.to_string());
                return Err(e);
            }
        };
        let files: usize = written.iter().map(|(_, marks)| marks.len()).sum();
        for (id, marks) in written {
            self.context.olap.mark_persisted(id, &marks);
        }
        self.persisted = Some(seq);
        self.context.durable.store(seq, Ordering::Release);
        self.context.writer.prune(seq);
        let mut progress = self.progress.lock();
        progress.seq = seq;
        progress.files_written += files as u64;
        progress.last_duration = Some(started.elapsed());
        progress.last_error = None;
        tracing::debug!("persisted the OLAP copy at sequence {seq}: {files} new files in {:?}", started.elapsed());
        Ok(seq)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::HtapEngine;
    use rhei_config::{EngineConfig, OlapStorage};

    fn config(dir: &Path) -> EngineConfig {
        EngineConfig {
            olap_storage: OlapStorage::Parquet,
            olap_persist_interval: Duration::from_secs(3600),
            ..EngineConfig::with_data_dir(dir)
        }
    }

    /// `(id, v)` of every row in a table's Parquet files, read with the parquet crate as any
    /// other reader would, sorted.
    fn rows_in_files(dir: &Path, table: &str) -> Vec<(i64, Option<String>)> {
        let mut rows = Vec::new();
        for entry in fs::read_dir(dir.join("olap").join(table)).expect("table directory") {
            let file = File::open(entry.expect("entry").path()).expect("open");
            for batch in ParquetRecordBatchReaderBuilder::try_new(file).expect("parquet").build().expect("reader") {
                let batch = batch.expect("batch");
                let ids = batch.column_by_name("id").expect("id");
                let ids = arrow::compute::cast(ids, &DataType::Int64).expect("cast");
                let ids = ids.as_any().downcast_ref::<Int64Array>().expect("int8");
                let vs = batch.column_by_name("v").expect("v");
                let vs = vs.as_any().downcast_ref::<arrow::array::StringArray>().expect("text");
                for i in 0..batch.num_rows() {
                    rows.push((ids.value(i), arrow::array::Array::is_valid(vs, i).then(|| vs.value(i).to_string())));
                }
            }
        }
        rows.sort();
        rows
    }

    /// An engine with Parquet storage after `setup`, its files written.
    async fn persisted(setup: &str) -> (tempfile::TempDir, HtapEngine) {
        let dir = tempfile::tempdir().expect("temp dir");
        let engine = HtapEngine::open(config(dir.path())).await.expect("open");
        engine.execute_batch(setup).await.expect("setup");
        engine.persist_olap().await.expect("persist");
        (dir, engine)
    }

    /// Stops an engine without the last write a clean close makes, as a crash would.
    fn crash(engine: HtapEngine) {
        engine.inner.persister.as_ref().expect("persister").abandon();
        engine.inner.sync.stop();
    }

    async fn olap_rows(engine: &HtapEngine, table: &str) -> String {
        let batches = engine.query(&format!("/*+ olap */ SELECT id, v FROM {table} ORDER BY id")).await.expect("olap query");
        arrow::util::pretty::pretty_format_batches(&batches).expect("format").to_string()
    }

    async fn oltp_rows(engine: &HtapEngine, table: &str) -> String {
        let batches = engine.query(&format!("/*+ oltp */ SELECT id, v FROM {table} ORDER BY id")).await.expect("oltp query");
        arrow::util::pretty::pretty_format_batches(&batches).expect("format").to_string()
    }

    /// Closing writes the files before it returns: a caller may remove or copy the directory
    /// straight after (a benchmark's temporary directory went away under the last write).
    #[tokio::test]
    async fn close_returns_after_the_last_write() {
        let dir = tempfile::tempdir().expect("temp dir");
        let engine = HtapEngine::open(config(dir.path())).await.expect("open");
        engine.execute_batch("CREATE TABLE t (id int PRIMARY KEY, v text); INSERT INTO t VALUES (1, 'a'), (2, NULL)").await.expect("setup");
        assert!(olap_rows(&engine, "t").await.contains('a'), "the OLAP copy has caught up");
        engine.close().await;
        assert_eq!(rows_in_files(dir.path(), "t"), vec![(1, Some("a".into())), (2, None)]);
        assert!(dir.path().join("olap/manifest.json").is_file());
    }

    /// The files hold exactly the committed rows; a reopen loads them instead of reading SQLite
    /// and applies the changes committed after them, which the change log kept.
    #[tokio::test]
    async fn the_olap_copy_is_written_to_parquet_and_loaded_from_it() {
        let (dir, engine) = persisted(
            "CREATE TABLE t (id int PRIMARY KEY, v text); INSERT INTO t VALUES (1, 'a'), (2, 'b'), (3, NULL);
             UPDATE t SET v = 'B' WHERE id = 2; DELETE FROM t WHERE id = 3",
        )
        .await;
        assert_eq!(rows_in_files(dir.path(), "t"), vec![(1, Some("a".into())), (2, Some("B".into()))]);
        // Changed after the files were written: only the change log has these.
        engine.execute_batch("INSERT INTO t VALUES (4, 'd'); UPDATE t SET v = 'A' WHERE id = 1; DELETE FROM t WHERE id = 2").await.expect("more");
        let expected = oltp_rows(&engine, "t").await;
        crash(engine);
        let reopened = HtapEngine::open(config(dir.path())).await.expect("reopen");
        let status = reopened.sync_status();
        assert_eq!(status.tables_from_files, 1, "loaded from its files");
        assert_eq!(olap_rows(&reopened, "t").await, expected);
        assert_eq!(oltp_rows(&reopened, "t").await, expected);
        reopened.close().await;
    }

    /// Parquet has no interval of months, days and time: an interval column is written as a
    /// struct of the three, which another reader reads, and loads back as the same intervals.
    #[tokio::test]
    async fn interval_columns_are_written_as_their_fields_and_loaded_back() {
        let (dir, engine) = persisted("CREATE TABLE t (id int PRIMARY KEY, v interval); INSERT INTO t VALUES (1, '1 mon 2 days 03:04:05.000006'), (2, NULL), (3, '-25 hours')").await;
        let file = fs::read_dir(dir.path().join("olap/t")).expect("dir").next().expect("a file").expect("entry").path();
        let batch = ParquetRecordBatchReaderBuilder::try_new(File::open(file).expect("open")).expect("parquet").build().expect("reader").next().expect("a batch").expect("batch");
        let fields = batch.column_by_name("v").expect("v").as_struct().clone();
        assert_eq!(fields.column_names(), ["months", "days", "microseconds"]);
        assert_eq!(fields.column(2).as_primitive::<Int64Type>().value(0), 3 * 3_600_000_000 + 4 * 60_000_000 + 5_000_006);
        assert!(fields.is_null(1));
        let olap = reloaded_answers_alike(dir.path(), engine, "SELECT id, v::text FROM t ORDER BY id").await;
        assert!(olap.contains("1 mon 2 days 03:04:05.000006"), "{olap}");
    }

    /// `query`'s answer on the OLAP copy of an engine reopened after a crash, from its files,
    /// asserted equal to SQLite's before the crash.
    async fn reloaded_answers_alike(dir: &Path, engine: HtapEngine, query: &str) -> String {
        let format = |b: &[RecordBatch]| arrow::util::pretty::pretty_format_batches(b).expect("format").to_string();
        let expected = format(&engine.query(&format!("/*+ oltp */ {query}")).await.expect("oltp"));
        crash(engine);
        let reopened = HtapEngine::open(config(dir)).await.expect("reopen");
        assert_eq!(reopened.sync_status().tables_from_files, 1, "loaded from its files");
        let olap = format(&reopened.query(&format!("/*+ olap */ {query}")).await.expect("olap"));
        assert_eq!(olap, expected);
        reopened.close().await;
        olap
    }

    /// Array columns are Parquet lists, and load back as the same arrays.
    #[tokio::test]
    async fn array_columns_are_written_as_lists_and_loaded_back() {
        let setup = "CREATE TABLE t (id int PRIMARY KEY, tags text[], days date[], prices numeric(6,2)[]); \
            INSERT INTO t VALUES (1, '{a,\"b c\",NULL}', '{2024-02-29}', '{1.5,NULL}'), (2, NULL, '{}', NULL)";
        let (dir, engine) = persisted(setup).await;
        let file = fs::read_dir(dir.path().join("olap/t")).expect("dir").next().expect("a file").expect("entry").path();
        let batch = ParquetRecordBatchReaderBuilder::try_new(File::open(file).expect("open")).expect("parquet").build().expect("reader").next().expect("a batch").expect("batch");
        assert!(matches!(batch.column_by_name("tags").expect("tags").data_type(), DataType::List(_)));
        let olap = reloaded_answers_alike(dir.path(), engine, "SELECT id, tags, days, prices FROM t ORDER BY id").await;
        assert!(olap.contains("[a, b c, ]"), "{olap}");
    }

    /// A segment that did not change keeps its file: a table that only grows costs a write of
    /// its new rows, not of the whole table.
    #[tokio::test]
    async fn unchanged_segments_keep_their_files() {
        let (dir, engine) = persisted("CREATE TABLE t (id int PRIMARY KEY, v text); INSERT INTO t SELECT i, 'x' FROM generate_series(1, 1000) AS s(i)").await;
        let files = |dir: &Path| {
            let mut names: Vec<String> = fs::read_dir(dir.join("olap/t")).expect("dir").map(|e| e.expect("entry").file_name().to_string_lossy().into_owned()).collect();
            names.sort();
            names
        };
        let first = files(dir.path());
        assert_eq!(first.len(), 1);
        let written = engine.inner.persister.as_ref().expect("persister").progress().files_written;
        engine.execute("INSERT INTO t VALUES (1001, 'y')").await.expect("insert");
        engine.persist_olap().await.expect("persist");
        let second = files(dir.path());
        assert_eq!(second.len(), 2, "{second:?}");
        assert!(second.contains(&first[0]), "the first file is kept: {second:?}");
        assert_eq!(engine.inner.persister.as_ref().expect("persister").progress().files_written, written + 1);
        assert_eq!(rows_in_files(dir.path(), "t").len(), 1001);
        engine.close().await;
    }

    /// Files whose columns are not the table's any more (DDL after they were written), and an
    /// unreadable manifest, are not used: those tables are read from SQLite.
    #[tokio::test]
    async fn stale_or_unreadable_files_are_not_used() {
        let (dir, engine) = persisted("CREATE TABLE t (id int PRIMARY KEY, v text); CREATE TABLE u (id int PRIMARY KEY, v text); INSERT INTO t VALUES (1, 'a'); INSERT INTO u VALUES (1, 'a')").await;
        engine.execute_batch("ALTER TABLE t ADD COLUMN w int DEFAULT 7; INSERT INTO t VALUES (2, 'b', 8)").await.expect("alter");
        crash(engine);
        let engine = HtapEngine::open(config(dir.path())).await.expect("reopen");
        assert_eq!(engine.sync_status().tables_from_files, 1, "u from its files, t from SQLite");
        let batches = engine.query("/*+ olap */ SELECT id, v, w FROM t ORDER BY id").await.expect("query");
        let text = arrow::util::pretty::pretty_format_batches(&batches).expect("format").to_string();
        assert!(text.contains("| 1  | a | 7 |") && text.contains("| 2  | b | 8 |"), "{text}");
        engine.close().await;
        let engine = HtapEngine::open(config(dir.path())).await.expect("reopen");
        assert_eq!(engine.sync_status().tables_from_files, 2, "a clean close leaves every table on disk");
        engine.close().await;
        drop(ParquetStore::open(dir.path()).expect("the closed engine releases the directory"));
        fs::write(dir.path().join("olap/manifest.json"), b"{ not json").expect("spoil");
        let engine = HtapEngine::open(config(dir.path())).await.expect("reopen");
        assert_eq!(engine.sync_status().tables_from_files, 0);
        assert_eq!(olap_rows(&engine, "u").await, oltp_rows(&engine, "u").await);
        engine.close().await;
    }

    /// A renamed table's files follow it to its new directory; a dropped table's go.
    #[tokio::test]
    async fn files_follow_renames_and_drops() {
        let (dir, engine) = persisted("CREATE TABLE t (id int PRIMARY KEY, v text); INSERT INTO t VALUES (1, 'a'); CREATE TABLE gone (id int); INSERT INTO gone VALUES (1)").await;
        assert!(dir.path().join("olap/gone").is_dir());
        engine.execute_batch("ALTER TABLE t RENAME TO \"Big Orders\"; DROP TABLE gone").await.expect("rename");
        engine.persist_olap().await.expect("persist");
        assert!(!dir.path().join("olap/t").exists() && !dir.path().join("olap/gone").exists());
        assert_eq!(rows_in_files(dir.path(), "Big%20Orders"), vec![(1, Some("a".into()))]);
        engine.close().await;
        let engine = HtapEngine::open(config(dir.path())).await.expect("reopen");
        assert_eq!(engine.sync_status().tables_from_files, 1);
        assert_eq!(olap_rows(&engine, "\"Big Orders\"").await, oltp_rows(&engine, "\"Big Orders\"").await);
        engine.close().await;
    }

    /// Files from before a run that pruned the log past them (here one with the copy in memory
    /// only, its files moved aside and back) are not used, and their manifest goes at once.
    #[tokio::test]
    async fn files_behind_a_pruned_change_log_are_discarded() {
        let (dir, engine) = persisted("CREATE TABLE t (id int PRIMARY KEY, v text); INSERT INTO t VALUES (0, 'a')").await;
        engine.close().await;
        let olap = dir.path().join("olap");
        let aside = dir.path().join("olap.aside");
        drop(ParquetStore::open(dir.path()).expect("the closed engine releases the directory"));
        fs::rename(&olap, &aside).expect("move aside");
        let engine = HtapEngine::open(EngineConfig::with_data_dir(dir.path())).await.expect("open in memory");
        engine.execute("INSERT INTO t SELECT i, 'x' FROM generate_series(1, 5000) AS s(i)").await.expect("insert");
        engine.sync_now().await.expect("sync");
        let pruned = || engine.inner.writer.with_connection(|c| c.query_row("SELECT count(*) FROM _rhei_changelog", [], |r| r.get::<_, i64>(0))).expect("count") <= 1;
        let deadline = Instant::now() + Duration::from_secs(10);
        while !pruned() {
            assert!(Instant::now() < deadline, "the log was not pruned");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        engine.close().await;
        drop(engine);
        fs::rename(&aside, &olap).expect("move back");
        let engine = HtapEngine::open(config(dir.path())).await.expect("reopen");
        assert_eq!(engine.sync_status().tables_from_files, 0);
        assert!(!olap.join("manifest.json").exists(), "the stale manifest is removed before anything is served");
        let batches = engine.query("/*+ olap */ SELECT count(*) FROM t").await.expect("count");
        assert_eq!(arrow::util::pretty::pretty_format_batches(&batches).expect("format").to_string().lines().nth(3), Some("| 5001  |"));
        engine.close().await;
    }

    /// Durable storage holds the change log back to what its files reflect.
    #[tokio::test]
    async fn the_change_log_is_kept_until_the_files_reflect_it() {
        let dir = tempfile::tempdir().expect("temp dir");
        let engine = HtapEngine::open(config(dir.path())).await.expect("open");
        engine.execute("CREATE TABLE t (id int PRIMARY KEY, v text)").await.expect("create");
        for i in 0..5000 {
            engine.execute(&format!("INSERT INTO t VALUES ({i}, 'x')")).await.expect("insert");
        }
        engine.sync_now().await.expect("sync");
        let entries = || engine.inner.writer.with_connection(|c| c.query_row("SELECT count(*) FROM _rhei_changelog", [], |r| r.get::<_, i64>(0))).expect("count");
        assert!(entries() > 5000, "pruned before the files held the changes: {}", entries());
        engine.persist_olap().await.expect("persist");
        let deadline = Instant::now() + Duration::from_secs(10);
        while entries() > 1 {
            assert!(Instant::now() < deadline, "not pruned after the files were written: {}", entries());
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        engine.close().await;
    }

    #[test]
    fn table_directories_are_distinct_and_never_the_manifest() {
        assert_eq!(table_dir("orders"), "orders");
        assert_eq!(table_dir("Order Items"), "Order%20Items");
        assert_eq!(table_dir("manifest.json"), "manifest%2Ejson");
        assert_eq!(table_dir("../x"), "%2E%2E%2Fx");
        assert_ne!(table_dir("a b"), table_dir("a%20b"));
    }
}
