//! Carrying out an incident's response: persist the update, alert the moderators, slow the
//! channel down, time out the participating new accounts, and lift slow-mode when it ends.
//!
//! The executor's rule holds here too: every change on Discord is recorded first. Participant
//! timeouts are cases (through [`Executor::act`]); slow-mode changes are audit rows
//! (`incident.slowmode`) written before the call, with a second row when Discord refused.

use super::{ActRequest, Executor, GuildTarget};
use crate::brigade::IncidentUpdate;
use crate::discord::limits::EmbedText;
use crate::discord::rest::OutgoingMessage;
use crate::domain::{CaseAction, Ground};
use crate::journal::Records;
use crate::storage::{AuditEvent, ChannelLock, Storage};
use crate::telemetry::Metrics;
use serenity::all::ChannelId;
use std::sync::Arc;
use std::time::Duration;

/// Executes incident responses for one process.
#[derive(Clone)]
pub struct IncidentResponder {
    executor: Executor,
    records: Arc<Records>,
    metrics: Arc<Metrics>,
    /// Postgres: the channels slowed down and what they had before.
    storage: Storage,
}

impl IncidentResponder {
    /// A responder acting through `executor` and recording through `records`.
    pub fn new(
        executor: Executor,
        records: Arc<Records>,
        storage: Storage,
        metrics: Arc<Metrics>,
    ) -> Self {
        Self {
            executor,
            records,
            metrics,
            storage,
        }
    }

    /// Persists `updates` and carries out their responses (unless the guild is in dry-run).
    /// `channel` is where the triggering message was posted, if any; `target` names the guild
    /// and its mod-log channel.
    pub async fn respond(
        &self,
        updates: &[IncidentUpdate],
        channel: Option<u64>,
        target: impl Fn(u64) -> GuildTarget,
    ) {
        for u in updates {
            if let Err(e) = self.records.incident(u).await {
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
                    let guild = target(*guild_id);
                    let channel = channel_id.or(channel);
                    if let (Some(log), true) = (guild.mod_log, response.alert_moderators) {
                        let mut post = incident_alert(
                            incident_id,
                            kind_name,
                            participants,
                            response.dry_run,
                            channel,
                        );
                        if let Some(role) = guild.alert_role {
                            post.content = format!("<@&{role}> a possible raid is under way");
                            post.mention_roles.push(role);
                        }
                        self.executor.post(log, &post).await;
                    }
                    if response.dry_run {
                        continue;
                    }
                    if let Some((ch, secs)) = response.slowmode {
                        self.slow_down(*guild_id, incident_id, kind_name, ch, secs)
                            .await;
                    }
                    self.timeout_participants(
                        incident_id,
                        &guild,
                        *guild_id,
                        &u.timeouts(),
                        channel,
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
                        let guild = target(*guild_id);
                        self.timeout_participants(
                            incident_id,
                            &guild,
                            *guild_id,
                            &u.timeouts(),
                            channel,
                        )
                        .await;
                    }
                }
                IncidentUpdate::Closed {
                    incident_id,
                    guild_id,
                    ..
                } => {
                    tracing::info!(guild = guild_id, incident = %incident_id, "incident closed");
                    self.restore_slowmode(*guild_id, incident_id).await;
                    if let Some(log) = target(*guild_id).mod_log {
                        let text = format!("Incident `{incident_id}` ended after a quiet period.");
                        self.executor.post(log, &OutgoingMessage::text(text)).await;
                    }
                }
            }
        }
    }

    /// Slows a channel down for an incident. What it had before is kept in Postgres first, so
    /// the end of the incident restores exactly that, from this process or another, after a
    /// restart too. Without Postgres nothing is changed: it could not be undone reliably.
    async fn slow_down(&self, guild_id: u64, incident_id: &str, kind: &str, ch: u64, secs: u64) {
        let previous = match self
            .executor
            .rest()
            .channel_state(ChannelId::new(ch.max(1)))
            .await
        {
            Ok((_, seconds)) => seconds,
            Err(e) => {
                tracing::warn!(channel = ch, error = %e, "channel not read; slow-mode not set");
                return;
            }
        };
        let lock = ChannelLock {
            guild_id,
            channel_id: ch,
            kind: "slowmode".into(),
            previous: serde_json::json!({ "seconds": previous, "incident": incident_id }),
        };
        match self.storage.record_lock_audited(&lock, None, false).await {
            Ok(true) => {}
            Ok(false) => return, // Already slowed down (by another incident or process).
            Err(e) => {
                tracing::warn!(channel = ch, error = %e, "slow-mode not set: its previous value could not be kept");
                return;
            }
        }
        let reason = format!("usmca-bot: incident {incident_id} ({kind})");
        if !self
            .set_slowmode(guild_id, incident_id, ch, secs, &reason)
            .await
        {
            if let Err(e) = self
                .storage
                .remove_lock_audited(guild_id, ch, "slowmode", None, false)
                .await
            {
                tracing::warn!(channel = ch, error = %e, "slow-mode record not cleared");
            }
        }
    }

    /// Restores the slow-mode of the channels an incident slowed down.
    pub async fn restore_slowmode(&self, guild_id: u64, incident_id: &str) {
        let locks = match self.storage.locks(guild_id, "slowmode").await {
            Ok(l) => l,
            Err(e) => {
                tracing::warn!(guild = guild_id, error = %e, "slowed channels not read; slow-mode stays until the next try");
                return;
            }
        };
        for lock in locks
            .into_iter()
            .filter(|l| l.previous["incident"].as_str() == Some(incident_id))
        {
            let previous = lock.previous["seconds"].as_u64().unwrap_or(0);
            let reason = format!("usmca-bot: incident {incident_id} ended");
            if self
                .set_slowmode(guild_id, incident_id, lock.channel_id, previous, &reason)
                .await
            {
                if let Err(e) = self
                    .storage
                    .remove_lock_audited(guild_id, lock.channel_id, "slowmode", None, false)
                    .await
                {
                    tracing::warn!(channel = lock.channel_id, error = %e, "slow-mode record not cleared");
                }
            }
        }
    }

    /// Records the slow-mode change, then makes it. Returns whether Discord accepted it. When
    /// the record cannot be written nothing is sent: an unexplained change is worse than none.
    async fn set_slowmode(
        &self,
        guild_id: u64,
        incident_id: &str,
        channel: u64,
        secs: u64,
        reason: &str,
    ) -> bool {
        let record = |kind: &str, extra: serde_json::Value| AuditEvent {
            guild_id,
            kind: kind.into(),
            actor_id: None,
            target_id: Some(channel),
            payload: serde_json::json!({
                "incident": incident_id, "channel_id": channel, "seconds": secs, "detail": extra,
            }),
        };
        if let Err(e) = self
            .records
            .audit(&record("incident.slowmode", serde_json::Value::Null))
            .await
        {
            self.metrics.postgres_errors.inc();
            tracing::error!(channel, error = %e, "slow-mode change not recorded; not changing it");
            return false;
        }
        match self
            .executor
            .rest()
            .set_slowmode(ChannelId::new(channel.max(1)), secs, reason)
            .await
        {
            Ok(()) => true,
            Err(e) => {
                tracing::warn!(channel, error = %e, "could not change slow-mode");
                let failed = record(
                    "incident.slowmode_failed",
                    serde_json::json!({ "error": e.to_string() }),
                );
                if let Err(e) = self.records.audit(&failed).await {
                    tracing::error!(channel, error = %e, "slow-mode failure not recorded");
                }
                false
            }
        }
    }

    async fn timeout_participants(
        &self,
        incident_id: &str,
        guild: &GuildTarget,
        guild_id: u64,
        timeouts: &[(u64, u64)],
        channel: Option<u64>,
    ) {
        for (user, secs) in timeouts {
            let req = ActRequest {
                guild_id,
                user_id: *user,
                action: CaseAction::Timeout,
                timeout: Some(Duration::from_secs(*secs)),
                delete: None,
                message_id: None,
                summary: "timeout: a new account taking part in a raid".into(),
                moderator_reason: format!("participant of incident {incident_id} (new account)"),
                label: None,
                grounds: vec![Ground::Raid, Ground::NewAccount],
                scores: serde_json::json!({}),
                excerpt: None,
                notice_channel: channel,
                actor_id: None,
                dry_run: false,
                key: Some(format!("incident:{incident_id}:{user}")),
                ban_delete: None,
                behaviour_score: None,
            };
            if let Err(e) = self.executor.act(&req, guild).await {
                tracing::error!(guild = guild_id, user, error = %e, "incident timeout not recorded");
            }
        }
    }
}

/// The raid controls on an incident's alert; each asks for confirmation before it acts.
pub const RAID_BUTTON_PREFIX: &str = "raid:";
/// The confirmation button's prefix: `raid-confirm:{action}:{incident}`.
pub const RAID_CONFIRM_PREFIX: &str = "raid-confirm:";

fn raid_buttons(incident: &str) -> Vec<crate::discord::rest::Button> {
    use crate::discord::rest::{Button, ButtonStyle};
    [
        ("end", "End incident", ButtonStyle::Secondary),
        ("release", "Release timeouts", ButtonStyle::Primary),
        ("kick", "Kick all", ButtonStyle::Danger),
        ("ban", "Ban all", ButtonStyle::Danger),
    ]
    .into_iter()
    .map(|(a, label, style)| Button {
        label: label.into(),
        custom_id: format!("{RAID_BUTTON_PREFIX}{a}:{incident}"),
        style,
    })
    .collect()
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
        buttons: if dry_run {
            Vec::new()
        } else {
            raid_buttons(id)
        },
        mention_users: Vec::new(),
        mention_roles: Vec::new(),
    }
}
