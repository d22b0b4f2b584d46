//! The toxicity classifier: model manifest, normalisation, tokenisation, the ONNX Runtime
//! session and the batching inference worker.
//!
//! [`Classifier::load`] is synchronous (call it before the runtime gets busy, or from
//! `spawn_blocking`); [`Classifier::classify`] never blocks the async runtime.

mod engine;
mod error;
mod normalize;
pub mod runtime;
mod scores;
mod segment;
mod tokenize;
mod worker;

pub use worker::BatchObserver;

pub use error::ClassifierError;
// The manifest format is its own top-level module so configuration validation can read it.
pub use crate::manifest::{
    IdType, IoSpec, Manifest, ManifestError, OutputKind, TokenizerKind, TokenizerSpec,
    MANIFEST_FILE,
};
pub use normalize::{normalize, normalize_with, Lexicon, Rules};
pub use scores::Scores;
pub use tokenize::{EncodedBatch, HfTokenizer, TextTokenizer, WordIndex};

use crate::config::ModelConfig;
use engine::Engine;
use std::sync::atomic::Ordering;
use std::sync::mpsc::Sender;
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use tokio::sync::{oneshot, Semaphore};
use worker::{BatchPolicy, Job, Stats};

/// A loaded model behind a batching worker thread. Cheap to clone; all clones share one worker,
/// which stops when the last clone is dropped.
#[derive(Clone)]
pub struct Classifier {
    inner: Arc<Inner>,
}

struct Inner {
    engine: Arc<Engine>,
    tx: Sender<Job>,
    permits: Arc<Semaphore>,
    capacity: usize,
    max_batch: usize,
    stats: Arc<Stats>,
}

/// What the health probe reports.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ClassifierHealth {
    /// The model is loaded and the worker is running.
    pub loaded: bool,
    /// When an inference last succeeded (`None`: not since load).
    pub last_success: Option<SystemTime>,
    /// Texts queued or being classified.
    pub queue_depth: usize,
    /// Inference calls that succeeded.
    pub batches: u64,
    /// Texts classified.
    pub messages: u64,
    /// Inference calls that failed.
    pub errors: u64,
}

impl std::fmt::Debug for Classifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Classifier")
            .field("model", &self.model_name())
            .finish_non_exhaustive()
    }
}

impl Classifier {
    /// Loads the runtime, checks and opens the model (one session per worker), warms it up and
    /// starts the worker threads. `model.workers = 0` means one worker here (the daemon's default);
    /// the one-shot tools resolve it with [`ModelConfig::workers_for`] first.
    pub fn load(cfg: &ModelConfig) -> Result<Classifier, ClassifierError> {
        if cfg.max_batch == 0 || cfg.queue_capacity == 0 {
            return Err(ClassifierError::Config(
                "model.max_batch and model.queue_capacity must be at least 1".into(),
            ));
        }
        let manifest = Manifest::locate(&cfg.dir)?;
        let workers = cfg.workers.max(1);
        let engine = Arc::new(Engine::load(cfg, manifest, workers)?);
        // Warm-up: the first run allocates and optimises; pay that before the first real message.
        engine.infer(&["warm-up".to_string()], &Rules::DEFAULT)?;
        let stats = Arc::new(Stats::default());
        stats.worker_alive.store(true, Ordering::Relaxed);
        let max_batch = cfg.max_batch.min(cfg.queue_capacity);
        let policy = BatchPolicy {
            max_batch,
            max_wait: cfg.max_wait.get().unwrap_or(Duration::from_millis(3)),
        };
        let (tx, rx) = std::sync::mpsc::channel();
        let rx = Arc::new(std::sync::Mutex::new(rx));
        for i in 0..workers {
            let (worker_engine, worker_stats, worker_rx) =
                (engine.clone(), stats.clone(), rx.clone());
            stats.workers_running.fetch_add(1, Ordering::AcqRel);
            std::thread::Builder::new()
                .name(format!("usmca-classifier-{i}"))
                .spawn(move || worker::run(worker_engine, worker_rx, policy, worker_stats))
                .map_err(|e| {
                    stats.workers_running.fetch_sub(1, Ordering::AcqRel);
                    ClassifierError::Runtime(format!("cannot start an inference thread: {e}"))
                })?;
        }
        tracing::info!(model = %engine.manifest.name, max_batch, workers, "classifier loaded");
        Ok(Classifier {
            inner: Arc::new(Inner {
                engine,
                tx,
                permits: Arc::new(Semaphore::new(cfg.queue_capacity)),
                capacity: cfg.queue_capacity,
                max_batch,
                stats,
            }),
        })
    }

    /// [`Classifier::load`] for a one-shot tool (`scan`, `classify`, `evaluate`): `model.workers = 0`
    /// means one worker per core.
    pub fn load_for_tool(cfg: &ModelConfig) -> Result<Classifier, ClassifierError> {
        let cfg = ModelConfig {
            workers: cfg.workers_for(true),
            ..cfg.clone()
        };
        Self::load(&cfg)
    }

    /// Calls `observer(batch size, inference time)` after every inference call (first one wins).
    pub fn set_batch_observer(&self, observer: worker::BatchObserver) {
        let _ = self.inner.stats.observer.set(observer);
    }

    /// Classifies one normalised text through the batching worker.
    pub async fn classify(&self, text: &str) -> Result<Scores, ClassifierError> {
        let mut scores = self.classify_batch(vec![text.to_string()]).await?;
        scores.pop().ok_or(ClassifierError::WorkerStopped)
    }

    /// Classifies many texts through the worker (normalised), waiting for queue space as needed.
    pub async fn classify_batch(&self, texts: Vec<String>) -> Result<Vec<Scores>, ClassifierError> {
        let n = texts.len();
        let mut pending = Vec::new();
        // Normalise and tokenise here, on the caller's task, so the single inference thread (the
        // bottleneck under load) only pads and runs the model.
        let engine = &self.inner.engine;
        let mut rows = texts.iter().map(|t| engine.tokenize(t, &Rules::DEFAULT));
        loop {
            let chunk = rows
                .by_ref()
                .take(self.inner.max_batch)
                .collect::<Result<Vec<_>, _>>()?;
            if chunk.is_empty() {
                break;
            }
            let permit = self
                .inner
                .permits
                .clone()
                .acquire_many_owned(chunk.len() as u32)
                .await
                .map_err(|_| ClassifierError::WorkerStopped)?;
            let (reply, rx) = oneshot::channel();
            self.inner
                .tx
                .send(Job {
                    rows: chunk,
                    reply,
                    _permit: permit,
                })
                .map_err(|_| ClassifierError::WorkerStopped)?;
            pending.push(rx);
        }
        let mut out = Vec::with_capacity(n);
        for rx in pending {
            out.extend(rx.await.map_err(|_| ClassifierError::WorkerStopped)??);
        }
        Ok(out)
    }

    /// Classifies normalised texts on the calling thread, bypassing the queue (CLI, benches).
    pub fn classify_blocking(&self, texts: &[String]) -> Result<Vec<Scores>, ClassifierError> {
        self.classify_blocking_with(texts, &Rules::DEFAULT)
    }

    /// Classifies raw texts (no normalisation) on the calling thread: the model's own behaviour.
    pub fn classify_raw_blocking(&self, texts: &[String]) -> Result<Vec<Scores>, ClassifierError> {
        self.classify_blocking_with(texts, &Rules::NONE)
    }

    /// Classifies on the calling thread with the given normalisation rules, in batches of `max_batch`.
    pub fn classify_blocking_with(
        &self,
        texts: &[String],
        rules: &Rules,
    ) -> Result<Vec<Scores>, ClassifierError> {
        let engine = &self.inner.engine;
        let stats = &self.inner.stats;
        let chunks: Vec<&[String]> = texts.chunks(self.inner.max_batch).collect();
        let threads = engine.sessions().min(chunks.len());
        if threads <= 1 {
            let mut out = Vec::with_capacity(texts.len());
            for chunk in chunks {
                let result = engine.infer(chunk, rules);
                stats.record(&result, chunk.len());
                out.extend(result?);
            }
            return Ok(out);
        }
        // One thread per session; each takes the next chunk as soon as it is free, so the
        // normalising and tokenising run in parallel too.
        let next = std::sync::atomic::AtomicUsize::new(0);
        let mut done: Vec<(usize, Result<Vec<Scores>, ClassifierError>)> =
            std::thread::scope(|scope| {
                let handles: Vec<_> = (0..threads)
                    .map(|_| {
                        scope.spawn(|| {
                            let mut mine = Vec::new();
                            loop {
                                let i = next.fetch_add(1, Ordering::Relaxed);
                                let Some(chunk) = chunks.get(i) else {
                                    return mine;
                                };
                                let result = engine.infer(chunk, rules);
                                stats.record(&result, chunk.len());
                                let failed = result.is_err();
                                mine.push((i, result));
                                if failed {
                                    // Stop the others early: skip past the last chunk.
                                    next.store(chunks.len(), Ordering::Relaxed);
                                    return mine;
                                }
                            }
                        })
                    })
                    .collect();
                handles
                    .into_iter()
                    .flat_map(|h| {
                        h.join().unwrap_or_else(|_| {
                            vec![(
                                usize::MAX,
                                Err(ClassifierError::Runtime("inference panicked".into())),
                            )]
                        })
                    })
                    .collect()
            });
        done.sort_by_key(|(i, _)| *i);
        let mut out = Vec::with_capacity(texts.len());
        for (_, result) in done {
            out.extend(result?);
        }
        Ok(out)
    }

    /// How many inference sessions (workers) this classifier runs.
    pub fn workers(&self) -> usize {
        self.inner.engine.sessions()
    }

    /// Non-padding token ids of `text` after `rules` (special tokens included for transformer models).
    pub fn tokenize(&self, text: &str, rules: &Rules) -> Result<Vec<i64>, ClassifierError> {
        self.inner.engine.tokenize(text, rules)
    }

    /// The model's labels, in output order.
    pub fn labels(&self) -> &[String] {
        &self.inner.engine.labels
    }

    /// The model's name from its manifest.
    pub fn model_name(&self) -> &str {
        &self.inner.engine.manifest.name
    }

    /// A snapshot for health endpoints and `/mod status`.
    pub fn health(&self) -> ClassifierHealth {
        let s = &self.inner.stats;
        let ms = s.last_success_ms.load(Ordering::Relaxed);
        ClassifierHealth {
            loaded: s.worker_alive.load(Ordering::Relaxed),
            last_success: (ms > 0).then(|| SystemTime::UNIX_EPOCH + Duration::from_millis(ms)),
            queue_depth: self.inner.capacity - self.inner.permits.available_permits(),
            batches: s.batches.load(Ordering::Relaxed),
            messages: s.messages.load(Ordering::Relaxed),
            errors: s.errors.load(Ordering::Relaxed),
        }
    }
}
