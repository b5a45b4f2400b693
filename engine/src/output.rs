//! What a statement gives back: a stream of Arrow batches (rows, streamed as the engine produces
//! them) or a command tag, protocol-free. Front ends encode these for their clients.

use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use arrow::datatypes::{Field, Schema, SchemaRef};
use arrow::record_batch::RecordBatch;
use futures::Stream;
use tokio::sync::mpsc;

use crate::error::{EngineError, Result};
use crate::router::Route;

/// PostgreSQL's command completion tag (`INSERT 0 3`, `UPDATE 2`, `CREATE TABLE`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandTag {
    pub command: &'static str,
    pub rows: Option<u64>,
}

impl CommandTag {
    pub fn new(command: &'static str) -> Self {
        Self { command, rows: None }
    }
    pub fn with_rows(command: &'static str, rows: u64) -> Self {
        Self { command, rows: Some(rows) }
    }
}

impl fmt::Display for CommandTag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.command, self.rows) {
            ("INSERT", Some(n)) => write!(f, "INSERT 0 {n}"),
            (command, Some(n)) => write!(f, "{command} {n}"),
            (command, None) => f.write_str(command),
        }
    }
}

enum Source {
    /// Batches already received, then the channel.
    Channel(VecDeque<RecordBatch>, mpsc::Receiver<Result<RecordBatch>>),
    Buffered(VecDeque<RecordBatch>),
}

/// Rows of a result, streamed. Dropping it cancels the work producing them.
pub struct RowStream {
    schema: SchemaRef,
    route: Route,
    /// `SELECT`, or the DML verb for `RETURNING` results: with the row count, the command tag.
    command: &'static str,
    source: Source,
    /// Set when the producer's column names differ from the result's (Postgres naming).
    rename: bool,
    /// `statement_timeout`: past it the stream ends with 57014 and drops its producer.
    deadline: Option<Pin<Box<tokio::time::Sleep>>>,
    /// A cancel request: when this completes the stream ends with 57014, as at the deadline.
    cancel: Option<Pin<Box<dyn Future<Output = ()> + Send + Sync>>>,
    /// Kept while rows may still come; dropping it stops the producer (a SQLite read's guard).
    producer: Option<Box<dyn Send + Sync>>,
}

impl RowStream {
    pub(crate) fn channel(schema: SchemaRef, route: Route, rx: mpsc::Receiver<Result<RecordBatch>>) -> Self {
        Self::channel_after(schema, route, None, rx)
    }

    /// Rows from a channel, after a first batch already received.
    pub(crate) fn channel_after(
        schema: SchemaRef,
        route: Route,
        first: Option<RecordBatch>,
        rx: mpsc::Receiver<Result<RecordBatch>>,
    ) -> Self {
        let front = first.into_iter().collect();
        Self { schema, route, command: "SELECT", source: Source::Channel(front, rx), rename: false, deadline: None, cancel: None, producer: None }
    }

    pub(crate) fn buffered(schema: SchemaRef, route: Route, command: &'static str, batches: Vec<RecordBatch>) -> Self {
        Self { schema, route, command, source: Source::Buffered(batches.into()), rename: false, deadline: None, cancel: None, producer: None }
    }

    /// Rows already in memory (a result read whole before being sent).
    pub fn from_batches(schema: SchemaRef, route: Route, command: &'static str, batches: Vec<RecordBatch>) -> Self {
        Self::buffered(schema, route, command, batches)
    }

    /// Gives the columns these names (keeping types), when there are as many names as columns.
    pub(crate) fn renamed(mut self, names: Option<Vec<String>>) -> Self {
        let Some(names) = names else { return self };
        if names.len() != self.schema.fields().len()
            || names.iter().zip(self.schema.fields()).all(|(n, f)| n == f.name())
        {
            return self;
        }
        let fields: Vec<Field> =
            self.schema.fields().iter().zip(names).map(|(f, n)| f.as_ref().clone().with_name(n)).collect();
        self.schema = Arc::new(Schema::new_with_metadata(fields, self.schema.metadata().clone()));
        self.rename = true;
        self
    }

    /// Ends the stream with [`EngineError::StatementTimeout`] if it is still producing at
    /// `deadline` (the producer is dropped then, which stops its work).
    pub(crate) fn with_deadline(mut self, deadline: Option<tokio::time::Instant>) -> Self {
        self.deadline = deadline.map(|d| Box::pin(tokio::time::sleep_until(d)));
        self
    }

    /// Keeps `guard` until the stream ends or stops early (dropping it is how the producer
    /// learns to stop).
    pub(crate) fn holding(mut self, guard: impl Send + Sync + 'static) -> Self {
        self.producer = Some(Box::new(guard));
        self
    }

    /// Ends the stream with [`EngineError::QueryCanceled`] when `signal` completes while it is
    /// still producing (a front end's cancel request), dropping the producer.
    pub fn cancel_on(mut self, signal: impl Future<Output = ()> + Send + Sync + 'static) -> Self {
        self.cancel = Some(Box::pin(signal));
        self
    }

    pub fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    /// Which engine produced the rows.
    pub fn route(&self) -> Route {
        self.route
    }

    pub fn command(&self) -> &'static str {
        self.command
    }

    /// Reads every batch (for tests and small results).
    ///
    /// # Errors
    /// The first error the producer reported.
    pub async fn collect(mut self) -> Result<Vec<RecordBatch>> {
        use futures::StreamExt;
        let mut out = Vec::new();
        while let Some(batch) = self.next().await {
            out.push(batch?);
        }
        Ok(out)
    }
}

impl Stream for RowStream {
    type Item = Result<RecordBatch>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let item = match &mut self.source {
            Source::Channel(front, _) if !front.is_empty() => front.pop_front().map(Ok),
            Source::Channel(_, rx) => match rx.poll_recv(cx) {
                Poll::Ready(item) => item,
                Poll::Pending => {
                    let stop = if self.deadline.as_mut().is_some_and(|d| d.as_mut().poll(cx).is_ready()) {
                        EngineError::StatementTimeout
                    } else if self.cancel.as_mut().is_some_and(|c| c.as_mut().poll(cx).is_ready()) {
                        EngineError::QueryCanceled
                    } else {
                        return Poll::Pending;
                    };
                    self.deadline = None;
                    self.cancel = None;
                    self.producer = None;
                    self.source = Source::Buffered(VecDeque::new());
                    return Poll::Ready(Some(Err(stop)));
                }
            },
            Source::Buffered(batches) => batches.pop_front().map(Ok),
        };
        let item = match item {
            Some(Ok(batch)) if self.rename => Some(
                RecordBatch::try_new(self.schema.clone(), batch.columns().to_vec())
                    .map_err(|e| EngineError::Internal(format!("renaming result columns: {e}"))),
            ),
            other => other,
        };
        Poll::Ready(item)
    }
}

/// The result of one statement.
pub enum Output {
    Rows(RowStream),
    Command(CommandTag),
    /// The statement was empty (only whitespace or comments).
    Empty,
    /// `COPY ... FROM STDIN`: the client sends data next ([`crate::Session::copy_in`]).
    CopyIn(crate::copy::CopyIn),
    /// `COPY ... TO STDOUT`: these rows, written in this format.
    CopyOut(RowStream, crate::copy::CopyFormat),
}

impl fmt::Debug for Output {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Rows(rows) => write!(f, "Rows({:?} via {})", rows.schema.fields(), rows.route),
            Self::Command(tag) => write!(f, "Command({tag})"),
            Self::Empty => f.write_str("Empty"),
            Self::CopyIn(spec) => write!(f, "CopyIn({})", spec.table),
            Self::CopyOut(rows, _) => write!(f, "CopyOut({:?})", rows.schema.fields()),
        }
    }
}
