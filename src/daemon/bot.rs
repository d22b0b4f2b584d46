//! The daemon's shared state and the flow of one event, readable top to bottom:
//!
//! message → [`Pipeline`] (classify, brigade signals, behaviour score, decision)
//!         → batched message row ([`MessageWriter`])
//!         → [`Executor`] (case + audit row, Discord calls, mod-log post)
//!         → incident responses (persist, alert, slow-mode, participant timeouts).

use super::guilds::Guilds;
use crate::brigade::IncidentUpdate;
use crate::classifier::Classifier;
use crate::config::{Config, LiveConfig};
use crate::discord::limits::EmbedText;
use crate::discord::rest::OutgoingMessage;
use crate::enforcement::{plan, ActRequest, Executor};
use crate::pipeline::{JoinEvent, MessageEvent, Outcome, Pipeline};
use crate::state::ResilientState;
use crate::storage::{CaseAction, MemberSeen, MessageRecord, MessageWriter, Storage};
use crate::telemetry::Metrics;
use serenity::gateway::ShardManager;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};
use tokio_util::task::TaskTracker;

/// Everything the event handlers share. One per process.
pub struct Bot {
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
    /// Batched message rows (taken out at shutdown to drain it).
    pub writer: tokio::sync::RwLock<Option<MessageWriter>>,
    /// Discord actions.
    pub executor: Executor,
    /// Metrics.
    pub metrics: Arc<Metrics>,
    /// Guild settings.
    pub guilds: Guilds,
    /// In-flight event work; shutdown waits for it.
    pub tracker: TaskTracker,
    /// Set once shutdown begins: no new event is accepted.
    pub closing: AtomicBool,
    /// Messages accepted for processing.
    pub accepted: AtomicU64,
    /// Messages fully processed (row queued, actions done).
    pub processed: AtomicU64,
    /// The gateway's shards (set once the client is built).
    pub shards: OnceLock<Arc<ShardManager>>,
    /// This process's shard range, for `/mod status`.
    pub shard_label: String,
    /// Process start.
    pub started: Instant,
    /// Channels put in slow-mode by an open incident: incident id → channel.
    slowed: Mutex<HashMap<String, u64>>,
}

impl Bot {
    /// Assembles the shared state.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        config: Arc<LiveConfig>,
        pipeline: Arc<Pipeline>,
        classifier: Classifier,
        storage: Storage,
        state: Arc<ResilientState>,
        writer: MessageWriter,
        executor: Executor,
        metrics: Arc<Metrics>,
        shard_label: String,
    ) -> Self {
        Self {
            config,
            pipeline,
            classifier,
            storage,
            state,
            writer: tokio::sync::RwLock::new(Some(writer)),
            executor,
            metrics,
            guilds: Guilds::default(),
            tracker: TaskTracker::new(),
            closing: AtomicBool::new(false),
            accepted: AtomicU64::new(0),
            processed: AtomicU64::new(0),
            shards: OnceLock::new(),
            shard_label,
            started: Instant::now(),
            slowed: Mutex::new(HashMap::new()),
        }
    }

    /// The current configuration.
    pub fn cfg(&self) -> Arc<Config> {
        self.config.get()
    }

    /// Accepts a message for processing unless shutdown has begun; the work runs on its own
    /// task so no gateway handler waits for the model, the database or Discord.
    pub fn accept_message(self: &Arc<Self>, ev: MessageEvent, received: Instant) -> bool {
        if self.closing.load(Ordering::Acquire) {
            return false;
        }
        self.accepted.fetch_add(1, Ordering::Relaxed);
        self.metrics.messages_received.inc();
        let bot = self.clone();
        self.tracker.spawn(async move {
            bot.handle_message(ev, received).await;
            bot.processed.fetch_add(1, Ordering::Relaxed);
        });
        true
    }

    /// Accepts a member join (raid detection, member row).
    pub fn accept_join(self: &Arc<Self>, ev: JoinEvent) -> bool {
        if self.closing.load(Ordering::Acquire) {
            return false;
        }
        let bot = self.clone();
        self.tracker.spawn(async move { bot.handle_join(ev).await });
        true
    }

    async fn handle_message(&self, ev: MessageEvent, received: Instant) {
        let guild_id = ev.guild_id;
        let view = self.guilds.get(guild_id);
        let store_content = view
            .settings
            .store_content
            .unwrap_or(self.cfg().storage.store_content);
        let outcome = match self.pipeline.on_message(ev.clone()).await {
            Ok(o) => o,
            Err(e) => {
                // Still record the message: nothing accepted is lost, even when unscored.
                tracing::error!(guild = guild_id, message = ev.message_id, error = %e, "could not score message");
                self.write_row(&ev, None, "error", store_content).await;
                return;
            }
        };
        self.metrics.messages_classified.inc();
        let d = &outcome.decision;
        tracing::debug!(guild = guild_id, message = ev.message_id, action = d.action.as_str(), reason = %d.moderator_reason, "decided");
        self.metrics
            .decisions
            .with_label_values(&[d.action.as_str(), if d.dry_run { "true" } else { "false" }])
            .inc();
        self.metrics
            .decision_latency
            .observe(received.elapsed().as_secs_f64());
        self.write_row(&ev, Some(&outcome), d.action.as_str(), store_content)
            .await;
        self.enforce(&ev, &outcome, store_content).await;
        self.handle_incidents(&outcome.incidents, Some(ev.channel_id))
            .await;
    }

    async fn write_row(
        &self,
        ev: &MessageEvent,
        outcome: Option<&Outcome>,
        decision: &str,
        store_content: bool,
    ) {
        let record = MessageRecord {
            message_id: ev.message_id,
            guild_id: ev.guild_id,
            channel_id: ev.channel_id,
            author_id: ev.author_id,
            created_at: ev.created_at,
            edited_at: ev.edited.then_some(ev.created_at),
            scores: outcome
                .map(|o| {
                    o.scores
                        .iter()
                        .map(|(k, v)| (k.to_string(), f64::from(v)))
                        .collect()
                })
                .unwrap_or_default(),
            decision: decision.to_string(),
            content: store_content.then(|| ev.content.clone()),
        };
        let writer = self.writer.read().await;
        let result = match writer.as_ref() {
            Some(w) => w.submit(record).await,
            None => Err(crate::storage::WriterError::Closed(Box::new(record))),
        };
        if let Err(e) = result {
            tracing::error!(message = ev.message_id, error = %e, "message row not queued");
        }
    }

    /// Executes a message's decision: a case (recorded also in dry-run) and the Discord calls.
    async fn enforce(&self, ev: &MessageEvent, outcome: &Outcome, store_content: bool) {
        let d = &outcome.decision;
        let Some(action) = plan::case_action(d) else {
            return;
        };
        let req = ActRequest {
            guild_id: ev.guild_id,
            user_id: ev.author_id,
            action,
            timeout: d.timeout_secs.map(Duration::from_secs),
            delete: d.delete_message.then_some((ev.channel_id, ev.message_id)),
            message_id: Some(ev.message_id),
            member_reason: d.member_reason.clone(),
            moderator_reason: d.moderator_reason.clone(),
            scores: serde_json::to_value(&outcome.scores).unwrap_or_default(),
            excerpt: store_content.then(|| ev.content.clone()),
            notice_channel: Some(ev.channel_id),
            actor_id: None,
            dry_run: d.dry_run,
        };
        let target = self.guilds.target(ev.guild_id);
        match self.executor.act(&req, &target).await {
            Ok(done) => tracing::info!(
                guild = ev.guild_id, user = ev.author_id, case_no = done.case_no,
                action = action.as_str(), status = %done.status, dry_run = d.dry_run,
                "moderation action"
            ),
            Err(e) => {
                self.metrics.postgres_errors.inc();
                tracing::error!(guild = ev.guild_id, user = ev.author_id, error = %e, "could not record the action; nothing was sent to Discord");
            }
        }
    }

    async fn handle_join(&self, ev: JoinEvent) {
        let seen = MemberSeen {
            guild_id: ev.guild_id,
            user_id: ev.user_id,
            joined_at: Some(ev.joined_at),
            seen_at: ev.joined_at,
        };
        if let Err(e) = self.storage.upsert_member(&seen).await {
            self.metrics.postgres_errors.inc();
            tracing::warn!(guild = ev.guild_id, user = ev.user_id, error = %e, "member row not stored");
        }
        match self.pipeline.on_join(ev).await {
            Ok(updates) => self.handle_incidents(&updates, None).await,
            Err(e) => {
                tracing::error!(guild = ev.guild_id, error = %e, "raid detection failed for a join")
            }
        }
    }

    /// Persists incident updates and carries out their responses (unless the guild is in dry-run).
    pub async fn handle_incidents(&self, updates: &[IncidentUpdate], channel: Option<u64>) {
        for u in updates {
            if let Err(e) = self.storage.apply_incident_update(u).await {
                self.metrics.postgres_errors.inc();
                tracing::error!(incident = u.incident_id(), error = %e, "incident not persisted");
            }
            match u {
                IncidentUpdate::Opened {
                    incident_id,
                    guild_id,
                    kind,
                    channel_id,
                    participants,
                    response,
                    ..
                } => {
                    let kind_name = kind.as_str();
                    self.metrics.incidents.with_label_values(&[kind_name]).inc();
                    tracing::warn!(guild = guild_id, incident = %incident_id, kind = %kind_name, participants = participants.len(), dry_run = response.dry_run, "incident opened");
                    let target = self.guilds.target(*guild_id);
                    if let (Some(log), true) = (target.mod_log, response.alert_moderators) {
                        let post = incident_alert(
                            incident_id,
                            kind_name,
                            participants,
                            response.dry_run,
                            channel_id.or(channel),
                        );
                        self.executor.post(log, &post).await;
                    }
                    if response.dry_run {
                        continue;
                    }
                    if let Some((ch, secs)) = response.slowmode {
                        let reason = format!("usmca-bot: incident {incident_id} ({kind_name})");
                        match self
                            .executor
                            .rest()
                            .set_slowmode(serenity::all::ChannelId::new(ch.max(1)), secs, &reason)
                            .await
                        {
                            Ok(()) => {
                                self.slowed_lock().insert(incident_id.clone(), ch);
                            }
                            Err(e) => {
                                tracing::warn!(channel = ch, error = %e, "could not set slow-mode")
                            }
                        }
                    }
                    self.timeout_participants(
                        incident_id,
                        *guild_id,
                        &u.timeouts(),
                        channel_id.or(channel),
                    )
                    .await;
                }
                IncidentUpdate::ParticipantAdded {
                    incident_id,
                    guild_id,
                    dry_run,
                    ..
                } => {
                    if !dry_run {
                        self.timeout_participants(incident_id, *guild_id, &u.timeouts(), channel)
                            .await;
                    }
                }
                IncidentUpdate::Closed {
                    incident_id,
                    guild_id,
                    ..
                } => {
                    tracing::info!(guild = guild_id, incident = %incident_id, "incident closed");
                    let ch = self.slowed_lock().remove(incident_id);
                    if let Some(ch) = ch {
                        let reason = format!("usmca-bot: incident {incident_id} ended");
                        if let Err(e) = self
                            .executor
                            .rest()
                            .set_slowmode(serenity::all::ChannelId::new(ch.max(1)), 0, &reason)
                            .await
                        {
                            tracing::warn!(channel = ch, error = %e, "could not lift slow-mode");
                        }
                    }
                    if let Some(log) = self.guilds.target(*guild_id).mod_log {
                        let text = format!("Incident `{incident_id}` ended after a quiet period.");
                        self.executor.post(log, &OutgoingMessage::text(text)).await;
                    }
                }
            }
        }
    }

    fn slowed_lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, u64>> {
        self.slowed.lock().unwrap_or_else(|e| e.into_inner())
    }

    async fn timeout_participants(
        &self,
        incident_id: &str,
        guild_id: u64,
        timeouts: &[(u64, u64)],
        channel: Option<u64>,
    ) {
        let target = self.guilds.target(guild_id);
        for (user, secs) in timeouts {
            let req = ActRequest {
                guild_id,
                user_id: *user,
                action: CaseAction::Timeout,
                timeout: Some(Duration::from_secs(*secs)),
                delete: None,
                message_id: None,
                member_reason: "your new account took part in a raid on this server".into(),
                moderator_reason: format!("participant of incident {incident_id} (new account)"),
                scores: serde_json::json!({}),
                excerpt: None,
                notice_channel: channel,
                actor_id: None,
                dry_run: false,
            };
            if let Err(e) = self.executor.act(&req, &target).await {
                tracing::error!(guild = guild_id, user, error = %e, "incident timeout not recorded");
            }
        }
    }

    /// Reverses a case: Discord (lift a timeout or ban), the case record and audit row, the mod
    /// log, and the strike it added to the member's standing.
    pub async fn reverse_case(
        &self,
        guild_id: u64,
        case_no: i64,
        by: u64,
        why: &str,
    ) -> Result<crate::storage::Case, crate::enforcement::EnforcementError> {
        let target = self.guilds.target(guild_id);
        let case = self
            .executor
            .reverse(guild_id, case_no, by, why, &target)
            .await?;
        if case.actor_id.is_none() && !case.dry_run {
            if let Err(e) = self
                .pipeline
                .lift_strike(guild_id, case.user_id, case.created_at)
                .await
            {
                tracing::warn!(guild = guild_id, case_no, error = %e, "strike not lifted");
            }
        }
        Ok(case)
    }

    /// Whether the guild is in dry-run.
    pub fn is_dry_run(&self, guild_id: u64) -> bool {
        self.pipeline.policy_for(guild_id).is_dry_run(guild_id)
    }

    /// The message writer's counters (zero once it has been drained).
    pub async fn writer_stats(&self) -> crate::storage::WriterStatsSnapshot {
        self.writer
            .read()
            .await
            .as_ref()
            .map(MessageWriter::stats)
            .unwrap_or_default()
    }
}

/// The moderators' alert for a new incident.
fn incident_alert(
    id: &str,
    kind: &str,
    participants: &[u64],
    dry_run: bool,
    channel: Option<u64>,
) -> OutgoingMessage {
    let mut list: Vec<String> = participants.iter().map(|p| format!("<@{p}>")).collect();
    list.truncate(50);
    let mut fields = vec![
        ("Kind".into(), kind.replace('_', " "), true),
        ("Participants".into(), participants.len().to_string(), true),
    ];
    if let Some(c) = channel {
        fields.push(("Channel".into(), format!("<#{c}>"), true));
    }
    fields.push(("Members".into(), list.join(" "), false));
    OutgoingMessage {
        content: String::new(),
        embed: Some(EmbedText {
            title: Some(format!(
                "Incident `{id}` opened{}",
                if dry_run { " (dry run: no response executed)" } else { "" }
            )),
            description: Some("Possible raid or brigade. New participating accounts are timed out; slow-mode is on while it lasts.".into()),
            fields,
            footer: None,
            author: None,
        }),
        embed_color: Some(0xE7_4C_3C),
        buttons: Vec::new(),
        mention_users: Vec::new(),
    }
}
