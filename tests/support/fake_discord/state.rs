//! What the fake Discord remembers of the moderation done through it: member timeouts and
//! presence, bans, and messages (known and deleted), so tests and the daemon can read Discord's
//! state back after the fact.

use std::collections::{HashMap, HashSet};

use serde_json::{json, Value};

use super::events::{self, Author, GuildSpec};

/// A member's state; members never seen are present and not timed out.
#[derive(Debug, Clone)]
pub(crate) struct MemberState {
    /// Still in the guild (false after a kick or ban).
    pub(crate) present: bool,
    /// `communication_disabled_until` (ISO 8601), when timed out.
    pub(crate) timed_out_until: Option<String>,
}

impl Default for MemberState {
    fn default() -> Self {
        Self {
            present: true,
            timed_out_until: None,
        }
    }
}

/// Guild members, bans and messages, keyed by (guild, user) and (channel, message).
#[derive(Debug, Default)]
pub(crate) struct DiscordState {
    members: HashMap<(u64, u64), MemberState>,
    /// (guild, user) → ban reason.
    bans: HashMap<(u64, u64), Option<String>>,
    /// Message objects the fake saw (dispatched or posted), for `GET` answers.
    messages: HashMap<(u64, u64), Value>,
    deleted: HashSet<(u64, u64)>,
    /// (channel, role or member) → (type, allow, deny): permission overwrites.
    overwrites: HashMap<(u64, u64), (u8, u64, u64)>,
    /// channel → slow-mode seconds.
    slowmode: HashMap<u64, u64>,
}

impl DiscordState {
    /// Sets a permission overwrite.
    pub(crate) fn set_overwrite(
        &mut self,
        channel: u64,
        target: u64,
        kind: u8,
        allow: u64,
        deny: u64,
    ) {
        self.overwrites
            .insert((channel, target), (kind, allow, deny));
    }

    /// Removes a permission overwrite; whether there was one.
    pub(crate) fn delete_overwrite(&mut self, channel: u64, target: u64) -> bool {
        self.overwrites.remove(&(channel, target)).is_some()
    }

    /// A channel's overwrites, sorted by target.
    pub(crate) fn overwrites(&self, channel: u64) -> Vec<(u64, u8, u64, u64)> {
        let mut out: Vec<(u64, u8, u64, u64)> = self
            .overwrites
            .iter()
            .filter(|((c, _), _)| *c == channel)
            .map(|((_, t), (k, a, d))| (*t, *k, *a, *d))
            .collect();
        out.sort_unstable();
        out
    }

    /// Sets a channel's slow-mode.
    pub(crate) fn set_slowmode(&mut self, channel: u64, secs: u64) {
        self.slowmode.insert(channel, secs);
    }

    /// A channel object as `GET /channels/{id}` answers.
    pub(crate) fn channel(&self, channel: u64) -> Value {
        let overwrites: Vec<Value> = self
            .overwrites(channel)
            .into_iter()
            .map(|(t, k, a, d)| {
                json!({"id": t.to_string(), "type": k, "allow": a.to_string(), "deny": d.to_string()})
            })
            .collect();
        json!({
            "id": channel.to_string(), "type": 0, "name": "channel", "position": 0,
            "permission_overwrites": overwrites, "nsfw": false, "topic": null,
            "rate_limit_per_user": self.slowmode.get(&channel).copied().unwrap_or(0),
        })
    }

    pub(crate) fn member(&self, guild: u64, user: u64) -> MemberState {
        self.members
            .get(&(guild, user))
            .cloned()
            .unwrap_or_default()
    }

    fn member_mut(&mut self, guild: u64, user: u64) -> &mut MemberState {
        self.members.entry((guild, user)).or_default()
    }

    /// Sets (`Some`) or clears (`None`) a timeout.
    pub(crate) fn set_timeout(&mut self, guild: u64, user: u64, until: Option<String>) {
        self.member_mut(guild, user).timed_out_until = until;
    }

    /// A kick: the member leaves.
    pub(crate) fn kick(&mut self, guild: u64, user: u64) {
        self.member_mut(guild, user).present = false;
    }

    /// A member (re)joins (GUILD_MEMBER_ADD).
    pub(crate) fn join(&mut self, guild: u64, user: u64) {
        self.member_mut(guild, user).present = true;
    }

    /// Bans (the member leaves too).
    pub(crate) fn ban(&mut self, guild: u64, user: u64, reason: Option<String>) {
        self.bans.insert((guild, user), reason);
        self.member_mut(guild, user).present = false;
    }

    /// Lifts a ban; false when there was none.
    pub(crate) fn unban(&mut self, guild: u64, user: u64) -> bool {
        self.bans.remove(&(guild, user)).is_some()
    }

    /// The ban, with its reason, when `user` is banned.
    pub(crate) fn ban_of(&self, guild: u64, user: u64) -> Option<Option<String>> {
        self.bans.get(&(guild, user)).cloned()
    }

    /// Remembers a message object (for `GET /channels/{c}/messages/{m}`).
    pub(crate) fn remember_message(&mut self, message: &Value) {
        let channel = message.get("channel_id").and_then(events::snowflake_of);
        let id = message.get("id").and_then(events::snowflake_of);
        if let (Some(channel), Some(id)) = (channel, id) {
            self.messages.insert((channel, id), message.clone());
        }
    }

    /// Deletes a message; false when it was already deleted.
    pub(crate) fn delete_message(&mut self, channel: u64, message: u64) -> bool {
        self.deleted.insert((channel, message))
    }

    pub(crate) fn is_deleted(&self, channel: u64, message: u64) -> bool {
        self.deleted.contains(&(channel, message))
    }

    /// The message as `GET` answers it: the one seen, or a stand-in when unknown.
    pub(crate) fn message(&self, channel: u64, message: u64) -> Value {
        self.messages
            .get(&(channel, message))
            .cloned()
            .unwrap_or_else(|| events::dm_message(channel, message, &Author::new(1, "author"), ""))
    }

    /// Tracks what gateway dispatches tell about members and messages.
    pub(crate) fn observe_dispatch(&mut self, event: &str, d: &Value) {
        match event {
            "MESSAGE_CREATE" | "MESSAGE_UPDATE" => self.remember_message(d),
            "GUILD_MEMBER_ADD" => {
                let guild = d.get("guild_id").and_then(events::snowflake_of);
                let user = d.pointer("/user/id").and_then(events::snowflake_of);
                if let (Some(g), Some(u)) = (guild, user) {
                    self.join(g, u);
                }
            }
            _ => {}
        }
    }
}

/// The member object `GET`/`PATCH /guilds/{g}/members/{u}` answer: the configured member's
/// name and roles when the guild spec lists it, with the remembered timeout.
pub(crate) fn member_json(
    guilds: &[GuildSpec],
    guild: u64,
    user: u64,
    state: &MemberState,
) -> Value {
    let author = guilds
        .iter()
        .filter(|g| g.id == guild)
        .flat_map(|g| &g.members)
        .find(|m| m.id == user)
        .cloned()
        .unwrap_or_else(|| Author::new(user, "member"));
    let mut m = events::member(&author, Some(guild), None);
    m["communication_disabled_until"] = json!(state.timed_out_until);
    m
}
