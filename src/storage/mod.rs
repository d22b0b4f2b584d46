//! Postgres persistence: guilds and their settings, members, messages (through the batched
//! [`MessageWriter`]), moderation cases, appeals, brigade incidents and the hash-chained audit log.
//!
//! Queries are checked at run time (`sqlx::query` with binds), so building needs no database.
//! Migrations are embedded in the binary and applied by `usmca-bot migrate` or at daemon start.

mod appeals;
mod audit;
mod cases;
mod dashboard;
mod guilds;
mod health;
mod incidents;
mod locks;
mod members;
mod messages;
mod privacy;
mod standings;
mod writer;

pub use audit::{
    row_hash, verify_rows, AuditEvent, AuditRow, ChainFault, FaultKind,
    VerifyError as AuditVerifyError, VerifyReport, GENESIS_HASH,
};
pub use cases::{CaseRef, MemberHistory, RecordedCase};
pub use dashboard::{
    AuditFilter, CaseFilter, CaseOrigin, DayCount, DecisionRates, Grant, MemberSummary, ReplayRow,
};
pub use health::PgHealth;
pub use incidents::{Incident, NewIncident};
pub use locks::ChannelLock;
pub use members::{account_created_at, Member, MemberSeen};
pub use messages::{MessageRecord, StoredMessage, FLAGGED_DECISIONS};
pub use privacy::{spawn_retention_task, ForgetReport};
pub use standings::PgStandingStore;
pub use writer::{MessageWriter, WriterError, WriterOptions, WriterStats, WriterStatsSnapshot};

use crate::config::{DatabaseConfig, Problem};
use sqlx::postgres::{PgPool, PgPoolOptions};
use std::time::Duration;

/// Why a storage operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// The database could not be reached.
    #[error("could not connect to Postgres at {url}: {source}; check database.url / DATABASE_URL and that the server is running")]
    Connect {
        /// The URL with its password redacted.
        url: String,
        /// The driver's error.
        source: sqlx::Error,
    },
    /// Applying migrations failed.
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A query failed.
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
    /// The thing asked for does not exist.
    #[error("not found: {0}")]
    NotFound(String),
    /// The request conflicts with what is stored (e.g. a second open appeal for one case).
    #[error("conflict: {0}")]
    Conflict(String),
    /// Per-guild settings failed validation.
    #[error("invalid guild settings:\n{}", render(.0))]
    Invalid(Vec<Problem>),
    /// A stored row holds a value this build does not understand.
    #[error("unexpected stored data: {0}")]
    Corrupt(String),
}

fn render(problems: &[Problem]) -> String {
    problems
        .iter()
        .map(|p| format!("  - {p}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Outcome of [`Storage::migrate`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MigrateReport {
    /// Migrations applied by this call.
    pub applied: usize,
    /// Migrations known to this build.
    pub known: usize,
}

/// Handle to the database; cheap to clone (it wraps a connection pool).
#[derive(Debug, Clone)]
pub struct Storage {
    pool: PgPool,
}

/// The migrations compiled into this binary.
static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!();

impl Storage {
    /// Opens a pool of `database.max_connections` connections to `database.url`.
    pub async fn connect(cfg: &DatabaseConfig) -> Result<Self, StorageError> {
        let pool = PgPoolOptions::new()
            .max_connections(cfg.max_connections.max(1))
            .acquire_timeout(Duration::from_secs(5))
            .connect(cfg.url.expose())
            .await
            .map_err(|source| StorageError::Connect {
                url: cfg.url.redacted(),
                source,
            })?;
        Ok(Self { pool })
    }

    /// Connects and, when `database.migrate_on_start` is set, applies pending migrations: what
    /// the daemon calls at start-up.
    pub async fn open(cfg: &DatabaseConfig) -> Result<Self, StorageError> {
        let storage = Self::connect(cfg).await?;
        if cfg.migrate_on_start {
            let report = storage.migrate().await?;
            if report.applied > 0 {
                tracing::info!(applied = report.applied, "database migrations applied");
            }
        }
        Ok(storage)
    }

    /// Wraps an existing pool (tests, tools).
    pub fn from_pool(pool: PgPool) -> Self {
        Self { pool }
    }

    /// The underlying pool, for queries this module does not offer.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Applies pending migrations; a second run is a no-op. Safe to run from several processes
    /// at once (sqlx serialises them with an advisory lock).
    pub async fn migrate(&self) -> Result<MigrateReport, StorageError> {
        let before = self.applied_migrations().await?;
        MIGRATOR.run(&self.pool).await?;
        let after = self.applied_migrations().await?;
        Ok(MigrateReport {
            applied: after.saturating_sub(before),
            known: MIGRATOR.iter().count(),
        })
    }

    /// Migrations applied to this database and migrations the binary knows: the schema is
    /// current when the first is at least the second.
    pub async fn migration_status(&self) -> Result<MigrateReport, StorageError> {
        Ok(MigrateReport {
            applied: self.applied_migrations().await?,
            known: MIGRATOR.iter().count(),
        })
    }

    async fn applied_migrations(&self) -> Result<usize, StorageError> {
        let exists: bool = sqlx::query_scalar("SELECT to_regclass('_sqlx_migrations') IS NOT NULL")
            .fetch_one(&self.pool)
            .await?;
        if !exists {
            return Ok(0);
        }
        let n: i64 = sqlx::query_scalar("SELECT count(*) FROM _sqlx_migrations WHERE success")
            .fetch_one(&self.pool)
            .await?;
        Ok(usize::try_from(n).unwrap_or(0))
    }

    /// One round trip (`SELECT 1`): whether the server answers now.
    pub async fn ping(&self) -> Result<(), StorageError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    /// Whether the database has `table` (false on any error): tools that read the bot's
    /// tables from a database that may not be the bot's ask this first.
    pub async fn has_table(&self, table: &str) -> bool {
        sqlx::query_scalar::<_, bool>("SELECT to_regclass($1) IS NOT NULL")
            .bind(table)
            .fetch_one(&self.pool)
            .await
            .unwrap_or(false)
    }

    /// Closes every pooled connection.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// Discord snowflakes fit in 63 bits; Postgres has no unsigned BIGINT, so ids are stored bit-cast.
pub(crate) fn db_id(id: u64) -> i64 {
    id as i64
}

/// Inverse of [`db_id`].
pub(crate) fn from_db_id(id: i64) -> u64 {
    id as u64
}

/// Makes sure a guild row exists (cases, members and settings reference it).
pub(crate) async fn ensure_guild(
    conn: &mut sqlx::PgConnection,
    guild_id: u64,
) -> Result<(), StorageError> {
    sqlx::query("INSERT INTO guilds (guild_id) VALUES ($1) ON CONFLICT (guild_id) DO NOTHING")
        .bind(db_id(guild_id))
        .execute(conn)
        .await?;
    Ok(())
}
