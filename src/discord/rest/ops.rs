//! The typed moderation requests: one method per Discord action, each with an audit-log reason.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{json, Value};
use serenity::http::{LightMethod, Route};
use serenity::model::id::{ChannelId, GuildId, MessageId, UserId};

use super::message::{AppealRef, Button, ButtonStyle, OutgoingMessage};
use super::{Call, RestClient, RestError};
use crate::discord::limits::{clamp_ban_delete_seconds, clamp_timeout, SLOWMODE_MAX_SECS};

fn appeal_button(case: &AppealRef) -> Button {
    Button {
        label: "Appeal".into(),
        custom_id: case.custom_id(),
        style: ButtonStyle::Primary,
    }
}

#[derive(Deserialize)]
struct WithId {
    id: String,
}

fn id_of(body: &[u8]) -> Result<u64, RestError> {
    let parsed: WithId =
        serde_json::from_slice(body).map_err(|e| RestError::Decode(format!("no `id`: {e}")))?;
    parsed
        .id
        .parse()
        .map_err(|_| RestError::Decode(format!("`id` is not a snowflake: {}", parsed.id)))
}

/// How a notice reached the member.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// As a direct message.
    Dm(MessageId),
    /// DMs were closed: as a message in the fallback channel that mentions them.
    ChannelMention(MessageId),
}

impl RestClient {
    /// Tells `user` about an action: by DM when they accept DMs from the bot, otherwise by a
    /// message in `fallback` that mentions (and may ping) only them. The appeal button goes
    /// with either; whoever handles its click must check the clicker is the case's member.
    pub async fn notify_member(
        &self,
        user: UserId,
        fallback: ChannelId,
        content: &str,
        appeal_case: Option<AppealRef>,
    ) -> Result<Delivery, RestError> {
        match self.dm_member(user, content, appeal_case.clone()).await {
            Ok(id) => Ok(Delivery::Dm(id)),
            Err(RestError::DmClosed) => {
                let mut message = OutgoingMessage::text(format!("<@{user}> {content}"));
                message.mention_users.push(user);
                message
                    .buttons
                    .extend(appeal_case.as_ref().map(appeal_button));
                self.post_message(fallback, &message)
                    .await
                    .map(Delivery::ChannelMention)
            }
            Err(e) => Err(e),
        }
    }

    /// Deletes a message.
    pub async fn delete_message(
        &self,
        channel: ChannelId,
        message: MessageId,
        reason: &str,
    ) -> Result<(), RestError> {
        let route = Route::ChannelMessage {
            channel_id: channel,
            message_id: message,
        };
        self.send(Call::new(LightMethod::Delete, route).reason(reason))
            .await
            .map(drop)
    }

    /// Posts `message` in `channel`; returns the new message's id.
    pub async fn post_message(
        &self,
        channel: ChannelId,
        message: &OutgoingMessage,
    ) -> Result<MessageId, RestError> {
        let route = Route::ChannelMessages {
            channel_id: channel,
        };
        let body = self
            .send(Call::new(LightMethod::Post, route).json(&message.to_json()?))
            .await?;
        Ok(MessageId::new(id_of(&body)?))
    }

    /// DMs `user` with `content`, adding an "Appeal" button carrying `appeal_case` when given.
    /// Returns [`RestError::DmClosed`] when the member does not accept DMs from the bot, so the
    /// caller can mention them in a channel instead. Send it before a kick or ban: a bot cannot
    /// DM someone who shares no server with it.
    pub async fn dm_member(
        &self,
        user: UserId,
        content: &str,
        appeal_case: Option<AppealRef>,
    ) -> Result<MessageId, RestError> {
        let open = Call::new(LightMethod::Post, Route::UserMeDmChannels)
            .json(&json!({ "recipient_id": user.to_string() }));
        let channel = ChannelId::new(id_of(&self.send(open).await?)?);
        let mut message = OutgoingMessage::text(content);
        message
            .buttons
            .extend(appeal_case.as_ref().map(appeal_button));
        self.post_message(channel, &message).await
    }

    /// Times `user` out for `duration` (capped at 28 days); returns when it ends.
    pub async fn timeout_member(
        &self,
        guild: GuildId,
        user: UserId,
        duration: Duration,
        reason: &str,
    ) -> Result<DateTime<Utc>, RestError> {
        let capped = chrono::Duration::from_std(clamp_timeout(duration))
            .map_err(|e| RestError::Invalid(format!("timeout duration: {e}")))?;
        let until = Utc::now() + capped;
        self.edit_member(
            guild,
            user,
            json!({ "communication_disabled_until": until.to_rfc3339() }),
            reason,
        )
        .await?;
        Ok(until)
    }

    /// Lifts a timeout early.
    pub async fn remove_timeout(
        &self,
        guild: GuildId,
        user: UserId,
        reason: &str,
    ) -> Result<(), RestError> {
        self.edit_member(
            guild,
            user,
            json!({ "communication_disabled_until": null }),
            reason,
        )
        .await
    }

    async fn edit_member(
        &self,
        guild: GuildId,
        user: UserId,
        body: Value,
        reason: &str,
    ) -> Result<(), RestError> {
        let route = Route::GuildMember {
            guild_id: guild,
            user_id: user,
        };
        self.send(
            Call::new(LightMethod::Patch, route)
                .json(&body)
                .reason(reason),
        )
        .await
        .map(drop)
    }

    /// Kicks `user` from `guild`.
    pub async fn kick(&self, guild: GuildId, user: UserId, reason: &str) -> Result<(), RestError> {
        let route = Route::GuildMember {
            guild_id: guild,
            user_id: user,
        };
        self.send(Call::new(LightMethod::Delete, route).reason(reason))
            .await
            .map(drop)
    }

    /// Bans `user`, deleting their messages from the last `delete_messages` (capped at 7 days).
    pub async fn ban(
        &self,
        guild: GuildId,
        user: UserId,
        delete_messages: Duration,
        reason: &str,
    ) -> Result<(), RestError> {
        let route = Route::GuildBan {
            guild_id: guild,
            user_id: user,
        };
        let mut call = Call::new(LightMethod::Put, route).reason(reason);
        call.params = Some(vec![(
            "delete_message_seconds",
            clamp_ban_delete_seconds(delete_messages).to_string(),
        )]);
        self.send(call).await.map(drop)
    }

    /// Lifts a ban.
    pub async fn unban(&self, guild: GuildId, user: UserId, reason: &str) -> Result<(), RestError> {
        let route = Route::GuildBan {
            guild_id: guild,
            user_id: user,
        };
        self.send(Call::new(LightMethod::Delete, route).reason(reason))
            .await
            .map(drop)
    }

    /// Sets `channel`'s slow-mode to `seconds` between messages (capped at 6 hours; 0 turns it off).
    pub async fn set_slowmode(
        &self,
        channel: ChannelId,
        seconds: u64,
        reason: &str,
    ) -> Result<(), RestError> {
        let route = Route::Channel {
            channel_id: channel,
        };
        let body = json!({ "rate_limit_per_user": seconds.min(SLOWMODE_MAX_SECS) });
        self.send(
            Call::new(LightMethod::Patch, route)
                .json(&body)
                .reason(reason),
        )
        .await
        .map(drop)
    }

    /// Whether `user` is a member of `guild` now, and until when they are timed out (`None`
    /// inside: not timed out). `Ok(None)`: not a member (left, kicked or banned).
    pub async fn member_state(
        &self,
        guild: GuildId,
        user: UserId,
    ) -> Result<Option<Option<DateTime<Utc>>>, RestError> {
        let route = Route::GuildMember {
            guild_id: guild,
            user_id: user,
        };
        match self.send(Call::new(LightMethod::Get, route)).await {
            Ok(body) => {
                let v: Value = serde_json::from_slice(&body)
                    .map_err(|e| RestError::Decode(format!("member: {e}")))?;
                let until = v["communication_disabled_until"]
                    .as_str()
                    .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
                    .map(|t| t.with_timezone(&Utc))
                    .filter(|t| *t > Utc::now());
                Ok(Some(until))
            }
            Err(RestError::NotFound { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Whether `user` is banned from `guild`.
    pub async fn is_banned(&self, guild: GuildId, user: UserId) -> Result<bool, RestError> {
        let route = Route::GuildBan {
            guild_id: guild,
            user_id: user,
        };
        match self.send(Call::new(LightMethod::Get, route)).await {
            Ok(_) => Ok(true),
            Err(RestError::NotFound { .. }) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// A channel's permission overwrites as (target, type, allow, deny), and its slow-mode.
    pub async fn channel_state(
        &self,
        channel: ChannelId,
    ) -> Result<(Vec<(u64, u8, u64, u64)>, u64), RestError> {
        let body = self
            .send(Call::new(
                LightMethod::Get,
                Route::Channel {
                    channel_id: channel,
                },
            ))
            .await?;
        let v: Value = serde_json::from_slice(&body)
            .map_err(|e| RestError::Decode(format!("channel: {e}")))?;
        let bits = |x: &Value| {
            x.as_str()
                .and_then(|s| s.parse::<u64>().ok())
                .or_else(|| x.as_u64())
                .unwrap_or(0)
        };
        let overwrites = v["permission_overwrites"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|o| {
                        let id = o["id"].as_str()?.parse().ok()?;
                        Some((
                            id,
                            o["type"].as_u64().unwrap_or(0) as u8,
                            bits(&o["allow"]),
                            bits(&o["deny"]),
                        ))
                    })
                    .collect()
            })
            .unwrap_or_default();
        Ok((overwrites, v["rate_limit_per_user"].as_u64().unwrap_or(0)))
    }

    /// Sets a permission overwrite (`kind` 0: role, 1: member).
    pub async fn put_overwrite(
        &self,
        channel: ChannelId,
        target: u64,
        kind: u8,
        allow: u64,
        deny: u64,
        reason: &str,
    ) -> Result<(), RestError> {
        let route = Route::ChannelPermission {
            channel_id: channel,
            target_id: serenity::model::id::TargetId::new(target.max(1)),
        };
        let body = json!({ "type": kind, "allow": allow.to_string(), "deny": deny.to_string() });
        self.send(
            Call::new(LightMethod::Put, route)
                .json(&body)
                .reason(reason),
        )
        .await
        .map(drop)
    }

    /// Removes a permission overwrite.
    pub async fn delete_overwrite(
        &self,
        channel: ChannelId,
        target: u64,
        reason: &str,
    ) -> Result<(), RestError> {
        let route = Route::ChannelPermission {
            channel_id: channel,
            target_id: serenity::model::id::TargetId::new(target.max(1)),
        };
        self.send(Call::new(LightMethod::Delete, route).reason(reason))
            .await
            .map(drop)
    }
}
