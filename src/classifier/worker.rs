//! The inference worker: a dedicated OS thread that drains a bounded queue in micro-batches,
//! so async callers never run the model on the runtime's threads.

use super::engine::Engine;
use super::{ClassifierError, Scores};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::sync::{oneshot, OwnedSemaphorePermit};

/// Reply channel of one queued request.
pub(crate) type Reply = oneshot::Sender<Result<Vec<Scores>, ClassifierError>>;

/// One queued request: up to `max_batch` tokenised texts (normalised and tokenised by the
/// caller, so this thread only pads and runs the model) and the queue permits it holds until
/// answered.
pub(crate) struct Job {
    pub(crate) rows: Vec<Vec<i64>>,
    pub(crate) reply: Reply,
    pub(crate) _permit: OwnedSemaphorePermit,
}

/// Counters read by the health probe.
#[derive(Default)]
pub(crate) struct Stats {
    pub(crate) batches: AtomicU64,
    pub(crate) messages: AtomicU64,
    pub(crate) errors: AtomicU64,
    /// Milliseconds since the Unix epoch of the last successful inference; 0 = never.
    pub(crate) last_success_ms: AtomicU64,
    /// A worker thread is running (cleared when the last one exits, even by panic).
    pub(crate) worker_alive: AtomicBool,
    /// Worker threads running.
    pub(crate) workers_running: AtomicUsize,
    /// Called after every inference call with the batch size and how long it took (metrics).
    pub(crate) observer: std::sync::OnceLock<BatchObserver>,
}

impl std::fmt::Debug for Stats {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stats")
            .field("batches", &self.batches)
            .field("messages", &self.messages)
            .field("errors", &self.errors)
            .finish_non_exhaustive()
    }
}

/// Receives (batch size, inference time) after each inference call.
pub type BatchObserver = Box<dyn Fn(usize, Duration) + Send + Sync>;

/// Clears `worker_alive` when the last worker returns or unwinds.
struct AliveGuard<'a>(&'a Stats);

impl Drop for AliveGuard<'_> {
    fn drop(&mut self) {
        if self.0.workers_running.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.0.worker_alive.store(false, Ordering::Relaxed);
        }
    }
}

impl Stats {
    pub(crate) fn record(&self, result: &Result<Vec<Scores>, ClassifierError>, n: usize) {
        match result {
            Ok(_) => {
                self.batches.fetch_add(1, Ordering::Relaxed);
                self.messages.fetch_add(n as u64, Ordering::Relaxed);
                let now = SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .map_or(0, |d| d.as_millis() as u64);
                self.last_success_ms.store(now.max(1), Ordering::Relaxed);
            }
            Err(_) => {
                self.errors.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

/// Batching limits.
#[derive(Debug, Clone, Copy)]
pub(crate) struct BatchPolicy {
    pub(crate) max_batch: usize,
    pub(crate) max_wait: Duration,
}

/// Runs until every sender is dropped. Several workers may share one queue: the one that holds
/// the queue gathers the next micro-batch and lets go of it before running the model, so each
/// batch goes to whichever worker is free. The caller counts the worker in `workers_running`
/// before starting it.
pub(crate) fn run(
    engine: Arc<Engine>,
    rx: Arc<Mutex<Receiver<Job>>>,
    policy: BatchPolicy,
    stats: Arc<Stats>,
) {
    let _alive = AliveGuard(&stats);
    let mut carry: Option<Job> = None;
    loop {
        let Some((jobs, count)) = gather(&rx, &mut carry, policy) else {
            return;
        };
        process(&engine, jobs, count, &stats);
    }
}

/// Takes the next micro-batch off the shared queue; `None` once every sender is gone.
fn gather(
    rx: &Mutex<Receiver<Job>>,
    carry: &mut Option<Job>,
    policy: BatchPolicy,
) -> Option<(Vec<Job>, usize)> {
    // A job left over from the last batch must not wait behind an idle worker blocked in recv():
    // when the queue is held, it runs alone.
    let rx = match carry.take() {
        None => rx.lock().unwrap_or_else(|p| p.into_inner()),
        Some(job) => match rx.try_lock() {
            Ok(guard) => {
                *carry = Some(job);
                guard
            }
            Err(std::sync::TryLockError::Poisoned(p)) => {
                *carry = Some(job);
                p.into_inner()
            }
            Err(std::sync::TryLockError::WouldBlock) => {
                let n = job.rows.len();
                return Some((vec![job], n));
            }
        },
    };
    {
        let first = match carry.take() {
            Some(job) => job,
            None => match rx.recv() {
                Ok(job) => job,
                Err(_) => return None,
            },
        };
        let mut count = first.rows.len();
        let mut jobs = vec![first];
        let deadline = Instant::now() + policy.max_wait;
        while count < policy.max_batch {
            let Some(left) = deadline.checked_duration_since(Instant::now()) else {
                break;
            };
            match rx.recv_timeout(left) {
                Ok(job) if count + job.rows.len() > policy.max_batch => {
                    *carry = Some(job);
                    break;
                }
                Ok(job) => {
                    count += job.rows.len();
                    jobs.push(job);
                }
                Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => break,
            }
        }
        Some((jobs, count))
    }
}

fn process(engine: &Engine, jobs: Vec<Job>, count: usize, stats: &Stats) {
    let mut rows = Vec::with_capacity(count);
    let mut sizes = Vec::with_capacity(jobs.len());
    let mut replies = Vec::with_capacity(jobs.len());
    let mut permits = Vec::with_capacity(jobs.len());
    for job in jobs {
        sizes.push(job.rows.len());
        rows.extend(job.rows);
        replies.push(job.reply);
        permits.push(job._permit);
    }
    // A panic inside the runtime must not kill the only worker thread: the batch fails, later
    // messages are still classified.
    let started = Instant::now();
    let result =
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| engine.infer_tokens(&rows)))
            .unwrap_or_else(|_| Err(ClassifierError::Runtime("inference panicked".into())));
    stats.record(&result, count);
    if let Some(observe) = stats.observer.get() {
        observe(count, started.elapsed());
    }
    // Free the queue slots before answering, so a caller that sees its reply also sees the space.
    drop(permits);
    match result {
        Ok(scores) => {
            let mut scores = scores.into_iter();
            for (reply, n) in replies.into_iter().zip(sizes) {
                // A caller that gave up (dropped its future) is not an error.
                let _ = reply.send(Ok(scores.by_ref().take(n).collect()));
            }
        }
        Err(e) => {
            tracing::warn!(error = %e, messages = count, "classification batch failed");
            let message = e.to_string();
            for reply in replies {
                let _ = reply.send(Err(ClassifierError::Runtime(message.clone())));
            }
        }
    }
}
