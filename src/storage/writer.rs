//! The batched message writer: the hot path hands rows to a bounded queue and moves on; one
//! task writes them with multi-row statements every `storage.writer_flush` or every
//! `storage.writer_batch_rows` rows, whichever comes first.
//!
//! Nothing accepted is dropped: a failed flush is retried with backoff (the queue fills and
//! applies back-pressure meanwhile), and [`MessageWriter::shutdown`] drains the queue.

use super::{MessageRecord, Storage};
use crate::config::StorageConfig;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// Why a row was not accepted, or rows were not written.
#[derive(Debug, thiserror::Error)]
pub enum WriterError {
    /// The queue is full (only from [`MessageWriter::try_submit`]).
    #[error("message writer queue is full")]
    Full(Box<MessageRecord>),
    /// The writer has stopped.
    #[error("message writer has stopped")]
    Closed(Box<MessageRecord>),
    /// At shutdown, rows could not be written after every retry.
    #[error("{rows} message rows could not be written at shutdown: {last_error}")]
    Lost {
        /// Rows not written.
        rows: usize,
        /// The last database error.
        last_error: String,
    },
    /// The writer task panicked.
    #[error("message writer task failed: {0}")]
    Task(String),
}

/// Tuning for the writer.
#[derive(Debug, Clone)]
pub struct WriterOptions {
    /// Longest a row waits before it is written.
    pub flush_every: Duration,
    /// Rows that trigger a flush.
    pub batch_rows: usize,
    /// Queue length before `submit` waits.
    pub queue_capacity: usize,
    /// Longest pause between retries of a failed flush.
    pub max_retry_delay: Duration,
    /// Attempts per flush once shutting down, before giving up and reporting the loss.
    pub shutdown_attempts: u32,
    /// Global `storage.store_content`, for guilds whose settings do not say.
    pub store_content_default: bool,
}

impl WriterOptions {
    /// Options from `[storage]`: flush interval and batch size, a queue of eight batches.
    pub fn from_config(cfg: &StorageConfig) -> Self {
        let batch_rows = cfg.writer_batch_rows.max(1);
        Self {
            flush_every: cfg.writer_flush.get().unwrap_or(Duration::from_millis(50)),
            batch_rows,
            queue_capacity: batch_rows.saturating_mul(8),
            max_retry_delay: Duration::from_secs(5),
            shutdown_attempts: 5,
            store_content_default: cfg.store_content,
        }
    }
}

/// Live counters, shared with metrics.
#[derive(Debug, Default)]
pub struct WriterStats {
    accepted: AtomicU64,
    written: AtomicU64,
    flushes: AtomicU64,
    failed_flushes: AtomicU64,
    last_lag_ms: AtomicU64,
}

/// A copy of the counters at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WriterStatsSnapshot {
    /// Rows accepted.
    pub accepted: u64,
    /// Rows written.
    pub written: u64,
    /// Rows accepted but not yet written (queue depth plus the batch in progress).
    pub pending: u64,
    /// Successful flushes.
    pub flushes: u64,
    /// Flush attempts that failed (and were retried).
    pub failed_flushes: u64,
    /// Age of the oldest row of the latest flush when it was written, in milliseconds.
    pub last_lag_ms: u64,
}

impl WriterStats {
    /// Reads every counter.
    pub fn snapshot(&self) -> WriterStatsSnapshot {
        let accepted = self.accepted.load(Ordering::Relaxed);
        let written = self.written.load(Ordering::Relaxed);
        WriterStatsSnapshot {
            accepted,
            written,
            pending: accepted.saturating_sub(written),
            flushes: self.flushes.load(Ordering::Relaxed),
            failed_flushes: self.failed_flushes.load(Ordering::Relaxed),
            last_lag_ms: self.last_lag_ms.load(Ordering::Relaxed),
        }
    }
}

/// Handle to the writer task.
pub struct MessageWriter {
    tx: mpsc::Sender<(MessageRecord, Instant)>,
    stats: Arc<WriterStats>,
    closing: CancellationToken,
    task: JoinHandle<Result<(), WriterError>>,
}

impl MessageWriter {
    /// Starts the writer task on the current runtime.
    pub fn spawn(storage: Storage, opts: WriterOptions) -> Self {
        let (tx, rx) = mpsc::channel(opts.queue_capacity.max(1));
        let stats = Arc::new(WriterStats::default());
        let closing = CancellationToken::new();
        let task = tokio::spawn(run(storage, opts, rx, stats.clone(), closing.clone()));
        Self {
            tx,
            stats,
            closing,
            task,
        }
    }

    /// Queues a row, waiting while the queue is full (back-pressure).
    pub async fn submit(&self, record: MessageRecord) -> Result<(), WriterError> {
        self.tx
            .send((record, Instant::now()))
            .await
            .map_err(|e| WriterError::Closed(Box::new(e.0 .0)))?;
        self.stats.accepted.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    /// Queues a row without waiting; gives it back when the queue is full.
    pub fn try_submit(&self, record: MessageRecord) -> Result<(), WriterError> {
        match self.tx.try_send((record, Instant::now())) {
            Ok(()) => {
                self.stats.accepted.fetch_add(1, Ordering::Relaxed);
                Ok(())
            }
            Err(mpsc::error::TrySendError::Full((r, _))) => Err(WriterError::Full(Box::new(r))),
            Err(mpsc::error::TrySendError::Closed((r, _))) => Err(WriterError::Closed(Box::new(r))),
        }
    }

    /// Current counters.
    pub fn stats(&self) -> WriterStatsSnapshot {
        self.stats.snapshot()
    }

    /// The shared counters, for a metrics exporter that outlives this handle.
    pub fn stats_handle(&self) -> Arc<WriterStats> {
        self.stats.clone()
    }

    /// Stops accepting rows, writes everything queued and returns the final counters.
    pub async fn shutdown(self) -> Result<WriterStatsSnapshot, WriterError> {
        self.closing.cancel();
        drop(self.tx);
        match self.task.await {
            Ok(Ok(())) => Ok(self.stats.snapshot()),
            // Count everything accepted but unwritten, including rows still queued.
            Ok(Err(WriterError::Lost { last_error, .. })) => Err(WriterError::Lost {
                rows: self.stats.snapshot().pending as usize,
                last_error,
            }),
            Ok(Err(e)) => Err(e),
            Err(e) => Err(WriterError::Task(e.to_string())),
        }
    }
}

async fn run(
    storage: Storage,
    opts: WriterOptions,
    mut rx: mpsc::Receiver<(MessageRecord, Instant)>,
    stats: Arc<WriterStats>,
    closing: CancellationToken,
) -> Result<(), WriterError> {
    let batch_rows = opts.batch_rows.max(1);
    let mut buf: Vec<MessageRecord> = Vec::with_capacity(batch_rows);
    let mut oldest: Option<Instant> = None;
    loop {
        let deadline = oldest.map(|t| t + opts.flush_every);
        let received = match deadline {
            Some(d) => match tokio::time::timeout_at(d.into(), rx.recv()).await {
                Ok(r) => r,
                Err(_) => {
                    flush(&storage, &opts, &mut buf, &mut oldest, &stats, &closing).await?;
                    continue;
                }
            },
            None => rx.recv().await,
        };
        let Some((record, at)) = received else {
            // Every sender is gone: write what is left and stop.
            break;
        };
        buf.push(record);
        oldest.get_or_insert(at);
        // Take whatever else is already queued, so a backlog is written in full batches
        // rather than one overdue row at a time.
        let mut closed = false;
        while buf.len() < batch_rows {
            match rx.try_recv() {
                Ok((record, at)) => {
                    buf.push(record);
                    oldest.get_or_insert(at);
                }
                Err(mpsc::error::TryRecvError::Empty) => break,
                Err(mpsc::error::TryRecvError::Disconnected) => {
                    closed = true;
                    break;
                }
            }
        }
        let overdue = oldest.is_some_and(|t| t.elapsed() >= opts.flush_every);
        if buf.len() >= batch_rows || overdue {
            flush(&storage, &opts, &mut buf, &mut oldest, &stats, &closing).await?;
        }
        if closed {
            break;
        }
    }
    flush(&storage, &opts, &mut buf, &mut oldest, &stats, &closing).await
}

async fn flush(
    storage: &Storage,
    opts: &WriterOptions,
    buf: &mut Vec<MessageRecord>,
    oldest: &mut Option<Instant>,
    stats: &WriterStats,
    closing: &CancellationToken,
) -> Result<(), WriterError> {
    if buf.is_empty() {
        return Ok(());
    }
    let mut delay = Duration::from_millis(100);
    let mut attempts_while_closing = 0u32;
    loop {
        match storage
            .insert_messages(buf, opts.store_content_default)
            .await
        {
            Ok(_) => {
                stats.written.fetch_add(buf.len() as u64, Ordering::Relaxed);
                stats.flushes.fetch_add(1, Ordering::Relaxed);
                let lag = oldest.map_or(0, |t| t.elapsed().as_millis() as u64);
                stats.last_lag_ms.store(lag, Ordering::Relaxed);
                buf.clear();
                *oldest = None;
                return Ok(());
            }
            Err(e) => {
                stats.failed_flushes.fetch_add(1, Ordering::Relaxed);
                if closing.is_cancelled() {
                    attempts_while_closing += 1;
                    if attempts_while_closing >= opts.shutdown_attempts.max(1) {
                        tracing::error!(rows = buf.len(), error = %e, "giving up writing messages at shutdown");
                        return Err(WriterError::Lost {
                            rows: buf.len(),
                            last_error: e.to_string(),
                        });
                    }
                }
                tracing::warn!(rows = buf.len(), error = %e, retry_in = ?delay, "message flush failed; retrying");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(opts.max_retry_delay);
            }
        }
    }
}
