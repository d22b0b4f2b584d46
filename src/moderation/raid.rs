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
