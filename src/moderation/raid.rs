//! Raid controls: locking the configured channels down (deny Send Messages to @everyone) and
//! opening them again exactly as they were, and the raid status. Each channel's previous
//! overwrite is recorded (and audited) before Discord is called, so a restart or another
//! process restores it.

use super::{Moderation, ServiceError};
use crate::storage::{ChannelLock, Incident};
use serenity::all::ChannelId;

/// Send Messages.
const SEND_MESSAGES: u64 = 1 << 11;
/// Send Messages in Threads.
const SEND_IN_THREADS: u64 = 1 << 38;

/// A raid control on an incident's alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RaidAction {
    /// Close the incident and restore its channels' slow-mode.
    End,
    /// Lift the timeouts the incident gave.
    Release,
    /// Kick every participant (exemptions honoured).
    Kick,
    /// Ban every participant (exemptions honoured).
    Ban,
}

impl RaidAction {
    /// Reads `end`, `release`, `kick`, `ban`.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "end" => RaidAction::End,
            "release" => RaidAction::Release,
            "kick" => RaidAction::Kick,
            "ban" => RaidAction::Ban,
            _ => return None,
        })
    }

    /// The word for it.
    pub fn as_str(self) -> &'static str {
        match self {
            RaidAction::End => "end",
            RaidAction::Release => "release",
            RaidAction::Kick => "kick",
            RaidAction::Ban => "ban",
        }
    }
}

/// What a raid control did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RaidReport {
    /// Members acted on (cases recorded).
    pub done: Vec<u64>,
    /// Exempt members left alone.
    pub spared: Vec<u64>,
    /// Members Discord refused, with why.
    pub failed: Vec<(u64, String)>,
    /// The incident was open and is closed now.
    pub ended: bool,
}

/// What a lockdown change did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LockdownReport {
    /// Channels changed.
    pub changed: Vec<u64>,
    /// Channels left as they were (already locked, or nothing to restore).
    pub unchanged: Vec<u64>,
    /// Channels Discord refused, with why.
    pub failed: Vec<(u64, String)>,
}

/// A guild's raid state.
#[derive(Debug, Clone, PartialEq)]
pub struct RaidStatus {
    /// Open incidents, newest first.
    pub incidents: Vec<Incident>,
    /// Locked-down channels.
    pub locked: Vec<u64>,
    /// Channels in an incident's slow-mode.
    pub slowed: Vec<u64>,
}

impl Moderation {
    /// Locks the guild's `lockdown_channels` (on) or restores them exactly (off).
    pub async fn lockdown(
        &self,
        guild_id: u64,
        actor: u64,
        on: bool,
    ) -> Result<LockdownReport, ServiceError> {
        if on {
            self.lock_channels(guild_id, actor).await
        } else {
            self.unlock_channels(guild_id, actor).await
        }
    }

    async fn lock_channels(
        &self,
        guild_id: u64,
        actor: u64,
    ) -> Result<LockdownReport, ServiceError> {
        let channels = self
            .guilds
            .get(guild_id)
            .settings
            .lockdown_channels
            .unwrap_or_default();
        if channels.is_empty() {
            return Err(ServiceError::Invalid(
                "No channels to lock: set them first with /mod config set lockdown_channels #general, #memes".into(),
            ));
        }
        let rest = self.executor.rest();
        let reason = format!("usmca-bot: raid lockdown by {actor}");
        let mut report = LockdownReport::default();
        for channel in channels {
            let cid = ChannelId::new(channel.max(1));
            let (overwrites, _) = match rest.channel_state(cid).await {
                Ok(s) => s,
                Err(e) => {
                    report.failed.push((channel, e.to_string()));
                    continue;
                }
            };
            let current = overwrites.iter().find(|o| o.0 == guild_id);
            let (had, allow, deny) = current.map_or((false, 0, 0), |o| (true, o.2, o.3));
            let lock = ChannelLock {
                guild_id,
                channel_id: channel,
                kind: "lockdown".into(),
                previous: serde_json::json!({
                    "had": had, "allow": allow.to_string(), "deny": deny.to_string(),
                }),
            };
            if !self.storage.record_lock(&lock, Some(actor)).await? {
                report.unchanged.push(channel);
                continue;
            }
            let locked_allow = allow & !(SEND_MESSAGES | SEND_IN_THREADS);
            let locked_deny = deny | SEND_MESSAGES | SEND_IN_THREADS;
            match rest
                .put_overwrite(cid, guild_id, 0, locked_allow, locked_deny, &reason)
                .await
            {
                Ok(()) => report.changed.push(channel),
                Err(e) => {
                    // Not changed on Discord: nothing to restore later.
                    self.storage
                        .remove_lock(guild_id, channel, "lockdown", Some(actor))
                        .await?;
                    report.failed.push((channel, e.to_string()));
                }
            }
        }
        Ok(report)
    }

    async fn unlock_channels(
        &self,
        guild_id: u64,
        actor: u64,
    ) -> Result<LockdownReport, ServiceError> {
        let rest = self.executor.rest();
        let reason = format!("usmca-bot: lockdown lifted by {actor}");
        let mut report = LockdownReport::default();
        for lock in self.storage.locks(guild_id, "lockdown").await? {
            let cid = ChannelId::new(lock.channel_id.max(1));
            let bits = |k: &str| {
                lock.previous[k]
                    .as_str()
                    .and_then(|v| v.parse::<u64>().ok())
                    .unwrap_or(0)
            };
            let result = if lock.previous["had"].as_bool().unwrap_or(false) {
                rest.put_overwrite(cid, guild_id, 0, bits("allow"), bits("deny"), &reason)
                    .await
            } else {
                match rest.delete_overwrite(cid, guild_id, &reason).await {
                    Err(crate::discord::rest::RestError::NotFound { .. }) => Ok(()),
                    other => other,
                }
            };
            match result {
                Ok(()) => {
                    self.storage
                        .remove_lock(guild_id, lock.channel_id, "lockdown", Some(actor))
                        .await?;
                    report.changed.push(lock.channel_id);
                }
                // Kept: a retry restores it.
                Err(e) => report.failed.push((lock.channel_id, e.to_string())),
            }
        }
        Ok(report)
    }

    /// How many members a raid control would touch (for its confirmation).
    pub async fn raid_participants(
        &self,
        guild_id: u64,
        incident: &str,
    ) -> Result<usize, ServiceError> {
        Ok(self
            .raid_incident(guild_id, incident)
            .await?
            .participants
            .len())
    }

    async fn raid_incident(&self, guild_id: u64, incident: &str) -> Result<Incident, ServiceError> {
        match self.storage.incident_by_detector_id(incident).await? {
            Some(i) if i.guild_id == guild_id => Ok(i),
            _ => Err(ServiceError::NotFound(format!(
                "Incident {incident} is not recorded in this server."
            ))),
        }
    }

    /// Carries out a raid control, confirmed by moderator `actor`: every action recorded
    /// first as a case (one per participant, idempotent per incident and action), exemptions
    /// honoured.
    pub async fn raid_action(
        &self,
        guild_id: u64,
        actor: u64,
        incident: &str,
        action: RaidAction,
    ) -> Result<RaidReport, ServiceError> {
        use crate::domain::{CaseAction, CaseStatus, Ground};
        use crate::enforcement::ActRequest;
        let inc = self.raid_incident(guild_id, incident).await?;
        let mut report = RaidReport::default();
        match action {
            RaidAction::End => {
                if inc.closed_at.is_none() {
                    self.storage
                        .close_incident(inc.incident_id, &serde_json::json!({ "ended_by": actor }))
                        .await?;
                    report.ended = true;
                }
                self.incidents.restore_slowmode(guild_id, incident).await;
            }
            RaidAction::Release => {
                let prefix = format!("incident:{incident}:");
                for case in self
                    .storage
                    .cases_with_key_prefix(guild_id, &prefix)
                    .await?
                {
                    if case.action != CaseAction::Timeout || case.status != CaseStatus::Applied {
                        continue;
                    }
                    match self
                        .reverse_case(guild_id, case.case_no, actor, "released after the raid")
                        .await
                    {
                        Ok(_) => report.done.push(case.user_id),
                        Err(e) => report.failed.push((case.user_id, e.to_string())),
                    }
                }
            }
            RaidAction::Kick | RaidAction::Ban => {
                let case_action = if action == RaidAction::Kick {
                    CaseAction::Kick
                } else {
                    CaseAction::Ban
                };
                let target = self.guilds.target(guild_id);
                for user in inc.participants {
                    if self.pipeline.member_exemption(guild_id, user).is_some() {
                        report.spared.push(user);
                        continue;
                    }
                    let req = ActRequest {
                        guild_id,
                        user_id: user,
                        action: case_action,
                        timeout: None,
                        delete: None,
                        message_id: None,
                        summary: "you took part in a raid on this server".into(),
                        moderator_reason: format!(
                            "raid participant (incident {incident}), {} by <@{actor}>",
                            action.as_str()
                        ),
                        label: None,
                        grounds: vec![Ground::Raid],
                        scores: serde_json::json!({}),
                        excerpt: None,
                        notice_channel: None,
                        actor_id: Some(actor),
                        dry_run: false,
                        ban_delete: None,
                        behaviour_score: None,
                        key: Some(format!("raid:{incident}:{}:{user}", action.as_str())),
                    };
                    match self.executor.act(&req, &target).await {
                        Ok(done) if done.status == CaseStatus::Failed => {
                            report.failed.push((user, done.problems.join("; ")))
                        }
                        Ok(_) => report.done.push(user),
                        Err(e) => report.failed.push((user, e.to_string())),
                    }
                }
            }
        }
        tracing::info!(
            guild = guild_id,
            incident,
            action = action.as_str(),
            actor,
            done = report.done.len(),
            spared = report.spared.len(),
            failed = report.failed.len(),
            "raid control"
        );
        Ok(report)
    }

    /// Open incidents and the channels locked or slowed down.
    pub async fn raid_status(&self, guild_id: u64) -> Result<RaidStatus, ServiceError> {
        Ok(RaidStatus {
            incidents: self.storage.open_incidents(guild_id).await?,
            locked: self
                .storage
                .locks(guild_id, "lockdown")
                .await?
                .into_iter()
                .map(|l| l.channel_id)
                .collect(),
            slowed: self
                .storage
                .locks(guild_id, "slowmode")
                .await?
                .into_iter()
                .map(|l| l.channel_id)
                .collect(),
        })
    }
}
