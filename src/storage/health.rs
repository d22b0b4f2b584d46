//! Whether Postgres is reachable: a circuit breaker shared by everything on the hot path. Once
//! a query fails because the server is unreachable, callers stop waiting on the pool (the
//! standing store answers at once, cases go to the journal) until a probe sees it back.

use super::StorageError;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// The breaker. Cheap to share behind an `Arc`.
#[derive(Debug, Default)]
pub struct PgHealth {
    down: AtomicBool,
    /// When it went down, ms since the epoch (0: up).
    since_ms: AtomicU64,
}

impl PgHealth {
    /// Whether Postgres is known to be unreachable.
    pub fn is_down(&self) -> bool {
        self.down.load(Ordering::Acquire)
    }

    /// Opens the breaker; returns true when this call did (it was up).
    pub fn mark_down(&self) -> bool {
        let was_up = !self.down.swap(true, Ordering::AcqRel);
        if was_up {
            let now = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_millis() as u64);
            self.since_ms.store(now, Ordering::Release);
        }
        was_up
    }

    /// Closes the breaker; returns true when this call did (it was down).
    pub fn mark_up(&self) -> bool {
        let was_down = self.down.swap(false, Ordering::AcqRel);
        self.since_ms.store(0, Ordering::Release);
        was_down
    }

    /// Opens the breaker when `e` says the server is unreachable; returns `e`.
    pub fn observe(&self, e: StorageError) -> StorageError {
        if e.is_unavailable() && self.mark_down() {
            tracing::error!(error = %e, "Postgres unreachable: moderating on, recording to the journal until it returns");
        }
        e
    }
}

impl StorageError {
    /// Whether the error means the server could not be reached (as opposed to a query it
    /// refused): the cases the breaker opens for.
    pub fn is_unavailable(&self) -> bool {
        match self {
            StorageError::Connect { .. } => true,
            StorageError::Db(e) => match e {
                sqlx::Error::Io(_)
                | sqlx::Error::PoolTimedOut
                | sqlx::Error::PoolClosed
                | sqlx::Error::WorkerCrashed
                | sqlx::Error::Tls(_) => true,
                sqlx::Error::Database(db) => db.code().is_some_and(|c| {
                    // Connection exceptions, shutdown in progress, too many connections.
                    c.starts_with("08")
                        || matches!(c.as_ref(), "57P01" | "57P02" | "57P03" | "53300")
                }),
                _ => false,
            },
            _ => false,
        }
    }
}
