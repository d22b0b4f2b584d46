//! The flow of one event, readable top to bottom:
//!
//! message → [`Pipeline`](crate::pipeline::Pipeline) (classify, brigade signals, behaviour
//!           score, decision)
//!         → batched message row ([`MessageWriter`])
//!         → [`Executor`](crate::enforcement::Executor) (case + audit row, Discord calls,
//!           mod-log post)
//!         → incident responses ([`IncidentResponder`](crate::enforcement::IncidentResponder)).
//!
//! Each event runs on its own tracked task, so no gateway handler waits for the model, the
//! database or Discord, and shutdown can wait for the work in flight.

use super::Moderation;
use crate::brigade::IncidentUpdate;
use crate::enforcement::{plan, ActRequest};
use crate::pipeline::{JoinEvent, MessageEvent, Outcome};
use crate::storage::{MemberSeen, MessageRecord, MessageWriter, WriterError};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

impl Moderation {
    /// Accepts a message for processing unless shutdown has begun.
    pub fn accept_message(self: &Arc<Self>, ev: MessageEvent, received: Instant) -> bool {
        if self.is_closing() {
            return false;
        }
        self.accepted.fetch_add(1, Ordering::Relaxed);
        self.metrics.messages_received.inc();
        let me = self.clone();
        self.tracker.spawn(async move {
            me.handle_message(ev, received).await;
            me.processed.fetch_add(1, Ordering::Relaxed);
        });
        true
    }

    /// Accepts a member join (raid detection, member row).
    pub fn accept_join(self: &Arc<Self>, ev: JoinEvent) -> bool {
        if self.is_closing() {
            return false;
        }
        let me = self.clone();
        self.tracker.spawn(async move { me.handle_join(ev).await });
        true
    }

    /// Closes incidents that have been quiet long enough and lifts their responses; the daemon
    /// calls it every few seconds.
    pub async fn close_quiet_incidents(&self) {
        match self.pipeline.tick(chrono::Utc::now()).await {
            Ok(updates) if !updates.is_empty() => self.respond_to_incidents(&updates, None).await,
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "incident tick failed"),
        }
    }

    async fn handle_message(&self, ev: MessageEvent, received: Instant) {
        let guild_id = ev.guild_id;
        let store_content = self
            .guilds
            .get(guild_id)
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
        // Act before queueing the row: a writer held back by a Postgres outage must not hold
        // back moderation.
        self.enforce(&ev, &outcome, store_content).await;
        self.write_row(&ev, Some(&outcome), d.action.as_str(), store_content)
            .await;
        self.respond_to_incidents(&outcome.incidents, Some(ev.channel_id))
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
            None => Err(WriterError::Closed(Box::new(record))),
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
            summary: d.summary.clone(),
            moderator_reason: if outcome.standing_unavailable {
                format!(
                    "{} (member history unavailable while Postgres is down: judged without it)",
                    d.moderator_reason
                )
            } else {
                d.moderator_reason.clone()
            },
            label: Some(
                self.pipeline
                    .policy_for(ev.guild_id)
                    .behaviour
                    .notice_label(outcome.scores.iter()),
            ),
            grounds: d.grounds.clone(),
            scores: serde_json::to_value(&outcome.scores).unwrap_or_default(),
            excerpt: store_content.then(|| ev.content.clone()),
            notice_channel: Some(ev.channel_id),
            actor_id: None,
            dry_run: d.dry_run,
            // One case per message and decision: an edit that escalates is a new decision.
            key: Some(format!("msg:{}:{}", ev.message_id, action.as_str())),
            ban_delete: None,
            behaviour_score: Some(outcome.behaviour.score),
        };
        let target = self.guilds.target(ev.guild_id);
        match self.executor.act(&req, &target).await {
            Ok(done) if done.duplicate => {}
            Ok(done) => tracing::info!(
                guild = ev.guild_id, user = ev.author_id, case_no = done.case.no, key = %done.case.key,
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
        let guild_id = ev.guild_id;
        match self.pipeline.on_join(ev).await {
            Ok(updates) => self.respond_to_incidents(&updates, None).await,
            Err(e) => {
                tracing::error!(guild = guild_id, error = %e, "raid detection failed for a join")
            }
        }
    }

    async fn respond_to_incidents(&self, updates: &[IncidentUpdate], channel: Option<u64>) {
        if updates.is_empty() {
            return;
        }
        self.incidents
            .respond(updates, channel, |g| self.guilds.target(g))
            .await;
    }

    /// The message writer's counters (zero once it has been drained).
    pub(super) async fn writer_stats(&self) -> crate::storage::WriterStatsSnapshot {
        self.writer
            .read()
            .await
            .as_ref()
            .map(MessageWriter::stats)
            .unwrap_or_default()
    }
}
