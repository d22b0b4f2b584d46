//! Record first, even while Postgres is down.
//!
//! [`Records`] is where the executor and the incident responder record what they are about to
//! do. While Postgres answers, records go straight to it. Once it is unreachable (the shared
//! [`PgHealth`] breaker is open) they are appended to a local journal instead, one JSON line
//! each, fsync'd before the caller acts. A probe replays the journal into Postgres in order
//! when it returns, through the same storage calls and with the original times, so cases are
//! numbered and audit rows hash-chained as if written live. While anything waits in the
//! journal, new records go behind it, so order holds.
//!
//! Why a local file rather than Redis with AOF: an outage of Postgres often comes with one of
//! Redis (same host, same network), and the journal must hold exactly then. A file on a
//! volume of the bot's own needs nothing else to be up. It is per process (one lock per
//! directory); `docker-compose.yml` mounts a volume for it.

mod file;

pub use file::JournalFile;

use crate::brigade::IncidentUpdate;
use crate::domain::{CaseStatus, NewCase};
use crate::storage::{AuditEvent, CaseRef, PgHealth, Storage, StorageError};
use crate::telemetry::Metrics;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use std::sync::{Arc, Mutex};

/// One journaled record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "entry", rename_all = "snake_case")]
pub enum Entry {
    /// A case, before its action was taken.
    Case {
        /// The case (its key names it until it has a number).
        case: NewCase,
        /// When it was recorded.
        at: DateTime<Utc>,
        /// The process that recorded it.
        by: String,
    },
    /// A case's status after Discord answered.
    Status {
        /// Guild.
        guild_id: u64,
        /// The case's idempotency key.
        key: String,
        /// New status.
        status: CaseStatus,
        /// What went wrong, if anything.
        note: Option<String>,
        /// When.
        at: DateTime<Utc>,
    },
    /// An audit row (an incident's slow-mode change, a refused reversal).
    Audit {
        /// The event.
        event: AuditEvent,
        /// When.
        at: DateTime<Utc>,
    },
    /// An incident update from the brigade detector.
    Incident {
        /// The update.
        update: IncidentUpdate,
    },
}

/// Why the journal failed.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    /// Reading or writing the journal's files failed (a full disk, permissions).
    #[error("journal {path}: could not {what}: {source}; check storage.journal_dir is on a writable volume with free space")]
    Io {
        /// The journal directory.
        path: String,
        /// What was being done.
        what: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// Another process holds the directory.
    #[error(
        "journal {0} is in use by another process; give each process its own storage.journal_dir"
    )]
    Locked(String),
    /// An entry could not be encoded.
    #[error("journal entry not encodable: {0}")]
    Encode(serde_json::Error),
    /// A line of the journal is not an entry this build understands.
    #[error(
        "journal line {line} is unreadable: {source}; move the journal aside and replay it by hand"
    )]
    Corrupt {
        /// 1-based line.
        line: u64,
        /// The parse error.
        source: serde_json::Error,
    },
    /// The blocking write task failed.
    #[error("journal write task failed: {0}")]
    Task(String),
}

/// Why something could not be recorded anywhere: nothing may be done on Discord then.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    /// Postgres refused it for a reason other than being unreachable.
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// Postgres is unreachable and the journal failed too.
    #[error("Postgres is unreachable and the journal failed: {0}")]
    Journal(#[from] JournalError),
}

/// Where a case was recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recorded {
    /// In Postgres, numbered.
    Stored {
        /// Database id.
        case_id: i64,
        /// Number in the guild.
        case_no: i64,
    },
    /// In the journal: numbered when it is replayed.
    Journaled,
    /// A case with the same key exists already: nothing was recorded, nothing is to be done.
    Duplicate {
        /// Its number, when it is in Postgres.
        case_no: Option<i64>,
        /// Its status, when known.
        status: Option<CaseStatus>,
    },
}

/// Records in Postgres, or in the journal while Postgres is unreachable.
pub struct Records {
    storage: Storage,
    journal: Option<Arc<JournalFile>>,
    health: Arc<PgHealth>,
    metrics: Arc<Metrics>,
    /// Keys journaled since the last replay (a duplicate must not be journaled twice).
    journaled_keys: Mutex<HashSet<(u64, String)>>,
    /// One replay at a time.
    replaying: tokio::sync::Mutex<()>,
    /// The last journal write failed (a full disk): nothing can be recorded while Postgres is
    /// down.
    failing: std::sync::atomic::AtomicBool,
}

impl Records {
    /// Records through `storage`, falling back to `journal` (none: every record needs Postgres).
    pub fn new(
        storage: Storage,
        journal: Option<JournalFile>,
        health: Arc<PgHealth>,
        metrics: Arc<Metrics>,
    ) -> Self {
        let me = Self {
            storage,
            journal: journal.map(Arc::new),
            health,
            metrics,
            journaled_keys: Mutex::new(HashSet::new()),
            replaying: tokio::sync::Mutex::new(()),
            failing: std::sync::atomic::AtomicBool::new(false),
        };
        me.update_gauge();
        me
    }

    /// The Postgres breaker.
    pub fn health(&self) -> &Arc<PgHealth> {
        &self.health
    }

    /// Entries waiting in the journal.
    pub fn journal_depth(&self) -> u64 {
        self.journal.as_ref().map_or(0, |j| j.depth())
    }

    /// Whether nothing can record while Postgres is down: there is no journal, or its last
    /// write failed (a full disk).
    pub fn journal_failing(&self) -> bool {
        self.journal.is_none() || self.failing.load(std::sync::atomic::Ordering::Acquire)
    }

    /// Moderating but not recording in Postgres: the breaker is open or the journal has a
    /// backlog.
    pub fn is_degraded(&self) -> bool {
        self.health.is_down() || self.journal_depth() > 0
    }

    fn update_gauge(&self) {
        self.metrics
            .journal_depth
            .set(i64::try_from(self.journal_depth()).unwrap_or(i64::MAX));
    }

    /// Whether records go to the journal now.
    fn journaling(&self) -> bool {
        self.journal.is_some() && self.is_degraded()
    }

    /// Whether an error means "write it to the journal instead".
    fn falls_back(&self, e: &StorageError) -> bool {
        self.journal.is_some() && e.is_unavailable()
    }

    async fn append(&self, entry: Entry) -> Result<(), RecordError> {
        let Some(journal) = self.journal.clone() else {
            return Err(StorageError::NotFound("a journal (storage.journal_dir)".into()).into());
        };
        // fsync blocks: off the runtime's workers. Concurrent callers are ordered by the
        // file's lock.
        let result = tokio::task::spawn_blocking(move || journal.append(&entry))
            .await
            .unwrap_or_else(|e| Err(JournalError::Task(e.to_string())));
        self.update_gauge();
        self.failing
            .store(result.is_err(), std::sync::atomic::Ordering::Release);
        match result {
            Ok(()) => Ok(()),
            Err(e) => {
                self.metrics.journal_errors.inc();
                tracing::error!(error = %e, "journal write failed: the action is not taken");
                Err(e.into())
            }
        }
    }

    /// Writes to Postgres unless records go to the journal now. `Ok(Some)`: written there;
    /// `Ok(None)`: the caller journals it (journaling already, or Postgres just turned out to
    /// be unreachable, which opens the breaker); `Err`: Postgres refused it for another reason.
    async fn in_postgres<T>(
        &self,
        write: impl std::future::Future<Output = Result<T, StorageError>>,
    ) -> Result<Option<T>, RecordError> {
        if self.journaling() {
            return Ok(None);
        }
        match write.await {
            Ok(v) => Ok(Some(v)),
            Err(e) => {
                let e = self.health.observe(e);
                if self.falls_back(&e) {
                    Ok(None)
                } else {
                    Err(e.into())
                }
            }
        }
    }

    /// Records a case before its action is taken.
    pub async fn case(&self, case: &NewCase, by: &str) -> Result<Recorded, RecordError> {
        let stored = self
            .in_postgres(self.storage.record_case_keyed(case, None, Some(by)))
            .await?;
        if let Some(r) = stored {
            return Ok(match r.existed {
                Some(status) => Recorded::Duplicate {
                    case_no: Some(r.case_no),
                    status: Some(status),
                },
                None => Recorded::Stored {
                    case_id: r.case_id,
                    case_no: r.case_no,
                },
            });
        }
        if let Some(key) = &case.key {
            let fresh = self
                .journaled_keys
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert((case.guild_id, key.clone()));
            if !fresh {
                return Ok(Recorded::Duplicate {
                    case_no: None,
                    status: None,
                });
            }
        }
        self.append(Entry::Case {
            case: case.clone(),
            at: Utc::now(),
            by: by.to_string(),
        })
        .await?;
        Ok(Recorded::Journaled)
    }

    /// Records a case's status after Discord answered. The case is named by its key (a
    /// journaled case has no number yet).
    pub async fn case_status(
        &self,
        guild_id: u64,
        key: &str,
        status: CaseStatus,
        note: Option<&str>,
    ) -> Result<(), RecordError> {
        let write =
            self.storage
                .update_case_status(guild_id, CaseRef::Key(key), status, note, None);
        if self.in_postgres(write).await?.is_some() {
            return Ok(());
        }
        self.append(Entry::Status {
            guild_id,
            key: key.to_string(),
            status,
            note: note.map(str::to_owned),
            at: Utc::now(),
        })
        .await
    }

    /// Records an audit row.
    pub async fn audit(&self, event: &AuditEvent) -> Result<(), RecordError> {
        if self.in_postgres(self.storage.audit(event)).await?.is_some() {
            return Ok(());
        }
        self.append(Entry::Audit {
            event: event.clone(),
            at: Utc::now(),
        })
        .await
    }

    /// Records an incident update.
    pub async fn incident(&self, update: &IncidentUpdate) -> Result<(), RecordError> {
        let write = self.storage.apply_incident_update(update);
        if self.in_postgres(write).await?.is_some() {
            return Ok(());
        }
        self.append(Entry::Incident {
            update: update.clone(),
        })
        .await
    }

    /// When degraded: probes Postgres and, if it answers, replays the journal into it in order
    /// and closes the breaker once nothing waits. Returns the entries replayed.
    pub async fn recover(&self) -> Result<usize, RecordError> {
        if !self.is_degraded() {
            return Ok(0);
        }
        let _one = self.replaying.lock().await;
        if let Err(e) = self.storage.ping().await {
            self.health.observe(e);
            return Ok(0);
        }
        let mut replayed = 0;
        if let Some(journal) = &self.journal {
            // New records keep going to the journal until it is empty: read until nothing
            // is left.
            loop {
                let entries = journal.unreplayed()?;
                if entries.is_empty() {
                    break;
                }
                for (line, entry) in entries {
                    match self.apply(&entry).await {
                        Ok(()) => {}
                        Err(e) if e.is_unavailable() => {
                            self.health.observe(e);
                            self.update_gauge();
                            return Ok(replayed);
                        }
                        Err(e) => {
                            // Postgres refuses this one entry (e.g. the case it updates was
                            // never recorded): it cannot succeed later either. Keep going.
                            tracing::error!(line = line + 1, error = %e, "journal entry could not be replayed; skipped");
                            self.metrics.journal_errors.inc();
                        }
                    }
                    journal.replayed_through(line)?;
                    replayed += 1;
                    self.update_gauge();
                }
            }
        }
        self.journaled_keys
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
        if self.health.mark_up() || replayed > 0 {
            tracing::info!(
                replayed,
                "Postgres is back: journal replayed, recording there again"
            );
        }
        self.update_gauge();
        Ok(replayed)
    }

    /// Writes one journal entry into Postgres, as it would have been written live.
    async fn apply(&self, entry: &Entry) -> Result<(), StorageError> {
        match entry {
            Entry::Case { case, at, by } => self
                .storage
                .record_case_keyed(case, Some(*at), Some(by))
                .await
                .map(drop),
            Entry::Status {
                guild_id,
                key,
                status,
                note,
                at,
            } => {
                self.storage
                    .update_case_status(
                        *guild_id,
                        CaseRef::Key(key),
                        *status,
                        note.as_deref(),
                        Some(*at),
                    )
                    .await
            }
            Entry::Audit { event, at } => self.storage.audit_at(event, Some(*at)).await.map(drop),
            Entry::Incident { update } => {
                self.storage.apply_incident_update(update).await.map(drop)
            }
        }
    }
}
