//! The moderation service: the one place where moderation operations live. Every front end
//! (slash commands, buttons and modals, the gateway's events, and the coming web dashboard)
//! calls these methods; none reaches into the parts behind them.
//!
//! - [`flow`](Moderation::accept_message): one message or join, from the gateway to the
//!   executor, readable top to bottom.
//! - cases: queries, history, standing, reverse and confirm.
//! - appeals: the form check, filing, the review post, the decision.
//! - guilds: per-guild settings (cached in process, validated, audited, announced to the
//!   other processes over Redis).
//! - incidents: queries over recorded incidents.
//! - status: the `/mod status` summary, readiness checks, shard heartbeats.
//! - access: who may do what, and the per-user command budget.

mod access;
mod appeals;
mod cases;
mod dashboard;
mod flow;
mod guilds;
mod incidents;
mod insights;
mod manual;
mod raid;
mod status;

pub use crate::storage::{AuditFilter, CaseFilter, CaseOrigin};
pub use access::Access;
pub use appeals::{AppealForm, AppealReview, FiledAppeal};
pub use cases::{MemberRecord, Reversed, StrikeNow, Suggestion, HISTORY_PAGE};
pub use dashboard::{member_permissions, replay_stored, Overview, WHATIF_MAX_MESSAGES};
pub use dashboard::{
    Draft, SettingField, SettingProblem, SettingsForm, TextPreview, TRY_MAX_CHARS,
};
pub use guilds::{GuildInfo, GuildView, SettingChange};
pub use insights::{
    day_series, DaySeries, Incident, IncidentDetail, MigrationLine, Migrations, StrikeForecast,
};
pub use manual::{ExternalAction, ManualOutcome, ManualRequest};
pub use raid::{LockdownReport, RaidAction, RaidReport, RaidStatus};
pub use status::{ModelLine, ShardLine, StatusSummary, HEARTBEAT_INTERVAL, HEARTBEAT_TTL};

use crate::classifier::Classifier;
use crate::config::{Config, LiveConfig};
use crate::enforcement::{EnforcementError, Executor, IncidentResponder};
use crate::journal::Records;
use crate::pipeline::Pipeline;
use crate::state::ResilientState;
use crate::storage::{MessageWriter, Storage, StorageError};
use crate::telemetry::Metrics;
use guilds::Guilds;
use serenity::gateway::ShardManager;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Instant;
use tokio_util::task::TaskTracker;

/// Why a moderation operation did not happen. Each message says what to do about it.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// The thing asked for does not exist (in this guild).
    #[error("{0}")]
    NotFound(String),
    /// The caller may not do this.
    #[error("{0}")]
    Forbidden(String),
    /// The request itself is wrong (a bad setting value, an empty appeal).
    #[error("{0}")]
    Invalid(String),
    /// It conflicts with what is recorded (already reversed, already decided, one open appeal).
    #[error("{0}")]
    Conflict(String),
    /// Postgres failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// Recording or undoing an action failed.
    #[error(transparent)]
    Enforcement(#[from] EnforcementError),
    /// The classifier failed.
    #[error(transparent)]
    Classifier(#[from] crate::classifier::ClassifierError),
}

/// What the service is built from (the daemon assembles it).
pub struct Parts {
    /// Live configuration (SIGHUP reloads it).
    pub config: Arc<LiveConfig>,
    /// The moderation brain.
    pub pipeline: Arc<Pipeline>,
    /// The classifier (also used directly by "Check toxicity").
    pub classifier: Classifier,
    /// Postgres.
    pub storage: Storage,
    /// Shared windows and buckets (Redis, or in-process while it is away).
    pub state: Arc<ResilientState>,
    /// Batched message rows.
    pub writer: MessageWriter,
    /// Discord actions.
    pub executor: Executor,
    /// Where actions are recorded first: Postgres, or the journal while it is down.
    pub records: Arc<Records>,
    /// Metrics.
    pub metrics: Arc<Metrics>,
    /// This process's shard range, for `/mod status`.
    pub shard_label: String,
}

/// The moderation service. One per process; share it as `Arc<Moderation>`.
pub struct Moderation {
    config: Arc<LiveConfig>,
    pipeline: Arc<Pipeline>,
    classifier: Classifier,
    storage: Storage,
    state: Arc<ResilientState>,
    writer: tokio::sync::RwLock<Option<MessageWriter>>,
    executor: Executor,
    records: Arc<Records>,
    incidents: IncidentResponder,
    metrics: Arc<Metrics>,
    guilds: Guilds,
    tracker: TaskTracker,
    closing: AtomicBool,
    accepted: AtomicU64,
    processed: AtomicU64,
    shards: OnceLock<Arc<ShardManager>>,
    shard_label: String,
    started: Instant,
    rights: dashboard::RightsCache,
    application_id: OnceLock<u64>,
}

impl Moderation {
    /// Assembles the service.
    pub fn new(parts: Parts) -> Self {
        let incidents = IncidentResponder::new(
            parts.executor.clone(),
            parts.records.clone(),
            parts.storage.clone(),
            parts.metrics.clone(),
        );
        let guilds = Guilds::default();
        let cfg = parts.config.get();
        guilds.load_deny_file(&cfg);
        guilds.set_base_rules(&parts.pipeline, &cfg);
        Self {
            config: parts.config,
            pipeline: parts.pipeline,
            classifier: parts.classifier,
            storage: parts.storage,
            state: parts.state,
            writer: tokio::sync::RwLock::new(Some(parts.writer)),
            executor: parts.executor,
            records: parts.records,
            incidents,
            metrics: parts.metrics,
            guilds,
            tracker: TaskTracker::new(),
            closing: AtomicBool::new(false),
            accepted: AtomicU64::new(0),
            processed: AtomicU64::new(0),
            shards: OnceLock::new(),
            shard_label: parts.shard_label,
            started: Instant::now(),
            rights: dashboard::RightsCache::default(),
            application_id: OnceLock::new(),
        }
    }

    /// The current configuration.
    pub fn cfg(&self) -> Arc<Config> {
        self.config.get()
    }

    /// Remembers the application id Discord sent in READY.
    pub fn set_application_id(&self, id: u64) {
        let _ = self.application_id.set(id);
    }

    /// The application (OAuth client) id: `discord.application_id`, or the one from READY.
    pub fn application_id(&self) -> Option<u64> {
        match self.cfg().discord.application_id {
            0 => self.application_id.get().copied(),
            id => Some(id),
        }
    }

    /// The live configuration (to follow reloads).
    pub fn live_config(&self) -> &Arc<LiveConfig> {
        &self.config
    }

    /// Metrics.
    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.metrics
    }

    /// Hands the service the gateway's shards (once the client is built).
    pub fn attach_shards(&self, shards: Arc<ShardManager>) {
        let _ = self.shards.set(shards);
    }

    /// Whether shutdown has begun (no new work is accepted).
    pub fn is_closing(&self) -> bool {
        self.closing.load(Ordering::Acquire)
    }

    /// Runs front-end work (an interaction, a guild's set-up) on a task shutdown waits for.
    /// Returns false once shutdown has begun.
    pub fn spawn_tracked<F>(&self, work: F) -> bool
    where
        F: std::future::Future<Output = ()> + Send + 'static,
    {
        if self.is_closing() {
            return false;
        }
        self.tracker.spawn(work);
        true
    }

    /// Messages accepted and fully processed so far.
    pub fn counters(&self) -> (u64, u64) {
        (
            self.accepted.load(Ordering::Relaxed),
            self.processed.load(Ordering::Relaxed),
        )
    }

    /// Stops taking events, waits for the work in flight, and drains the message writer.
    pub async fn drain(&self) {
        self.closing.store(true, Ordering::Release);
        self.tracker.close();
        self.tracker.wait().await;
        let writer = self.writer.write().await.take();
        if let Some(w) = writer {
            match w.shutdown().await {
                Ok(s) => tracing::info!(
                    written = s.written,
                    accepted = s.accepted,
                    "message writer drained"
                ),
                Err(e) => tracing::error!(error = %e, "message writer lost rows at shutdown"),
            }
        }
    }

    /// Closes the gateway's shards.
    pub async fn close_shards(&self) {
        if let Some(sm) = self.shards.get() {
            sm.shutdown_all().await;
        }
    }

    /// Applies a reloaded global configuration to the decision policies.
    pub fn apply_reloaded_config(&self, cfg: &Config) {
        match crate::decision::Policy::from_config(cfg) {
            Ok(p) => {
                self.pipeline.set_policy(p);
                self.guilds.reapply(&self.pipeline, cfg);
                tracing::info!("decision policy updated from the reloaded configuration");
            }
            Err(e) => {
                tracing::error!(error = %e, "reloaded configuration not applied to decisions")
            }
        }
    }

    /// While Postgres is down or the journal has a backlog: probes Postgres and replays the
    /// journal once it answers. Members judged without their stored standing meanwhile get it
    /// back on their next message. The daemon calls this every second.
    pub async fn recover_records(&self) {
        if !self.records.is_degraded() {
            return;
        }
        match self.records.recover().await {
            Ok(_) if !self.records.is_degraded() => {
                let dropped = self.pipeline.drop_provisional_standings();
                if dropped > 0 {
                    tracing::info!(
                        members = dropped,
                        "provisional standings dropped; stored ones load again"
                    );
                }
            }
            Ok(_) => {}
            Err(e) => tracing::error!(error = %e, "journal replay failed"),
        }
    }

    /// Settles the cases that processes no longer alive left pending (a crash, a kill):
    /// checked against Discord and confirmed, completed once, expired, or marked unknown.
    /// Cases of processes alive now (this one included) are left to them. The daemon runs it
    /// at start (after replaying its journal) and every few seconds, so a crashed sibling's
    /// cases are settled too once its heartbeat has gone quiet.
    pub async fn reconcile_pending(&self) {
        self.recover_records().await;
        if self.records.is_degraded() {
            return;
        }
        let live = self.live_processes().await;
        match self.executor.reconcile(&live).await {
            Ok(r) if r == Default::default() => {}
            Ok(r) => tracing::info!(
                confirmed = r.confirmed,
                completed = r.completed,
                lapsed = r.lapsed,
                unresolved = r.unresolved,
                "cases left pending by an earlier run reconciled"
            ),
            Err(e) => tracing::error!(error = %e, "pending cases not reconciled"),
        }
    }

    /// Whether the guild is in dry-run.
    pub fn is_dry_run(&self, guild_id: u64) -> bool {
        self.pipeline.policy_for(guild_id).is_dry_run(guild_id)
    }

    /// The classifier's scores for a text, with the model's name ("Check toxicity").
    pub async fn check_text(
        &self,
        text: &str,
    ) -> Result<(crate::classifier::Scores, String), ServiceError> {
        let scores = self.classifier.classify(text).await?;
        Ok((scores, self.classifier.model_name().to_string()))
    }
}
