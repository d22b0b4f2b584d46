//! Discord permission bits the bot needs, their names, the invite URL, and the effective
//! permissions of a member (roles, then a channel's overwrites) as Discord computes them.

/// Kick Members.
pub const KICK_MEMBERS: u64 = 1 << 1;
/// Ban Members.
pub const BAN_MEMBERS: u64 = 1 << 2;
/// Administrator (implies every permission).
pub const ADMINISTRATOR: u64 = 1 << 3;
/// Manage Channels (slow-mode during a raid).
pub const MANAGE_CHANNELS: u64 = 1 << 4;
/// View Channel.
pub const VIEW_CHANNEL: u64 = 1 << 10;
/// Send Messages.
pub const SEND_MESSAGES: u64 = 1 << 11;
/// Manage Messages (delete).
pub const MANAGE_MESSAGES: u64 = 1 << 13;
/// Embed Links (mod-log embeds).
pub const EMBED_LINKS: u64 = 1 << 14;
/// Read Message History.
pub const READ_MESSAGE_HISTORY: u64 = 1 << 16;
/// Moderate Members (timeouts).
pub const MODERATE_MEMBERS: u64 = 1 << 40;
/// View Audit Log (actions moderators take in Discord's own interface become cases).
pub const VIEW_AUDIT_LOG: u64 = 1 << 7;

/// Every permission the bot needs in a server, with its name as the Discord client shows it.
pub const NEEDED: [(u64, &str); 10] = [
    (VIEW_CHANNEL, "View Channels"),
    (SEND_MESSAGES, "Send Messages"),
    (EMBED_LINKS, "Embed Links"),
    (READ_MESSAGE_HISTORY, "Read Message History"),
    (MANAGE_MESSAGES, "Manage Messages"),
    (MODERATE_MEMBERS, "Timeout Members"),
    (KICK_MEMBERS, "Kick Members"),
    (BAN_MEMBERS, "Ban Members"),
    (MANAGE_CHANNELS, "Manage Channels"),
    (VIEW_AUDIT_LOG, "View Audit Log"),
];

/// What a channel the bot posts to (mod log, appeals) needs.
pub const NEEDED_TO_POST: [(u64, &str); 3] = [
    (VIEW_CHANNEL, "View Channel"),
    (SEND_MESSAGES, "Send Messages"),
    (EMBED_LINKS, "Embed Links"),
];

/// The sum of [`NEEDED`]: the `permissions` of the invite URL (1099511721110).
pub const fn needed_bits() -> u64 {
    let mut bits = 0;
    let mut i = 0;
    while i < NEEDED.len() {
        bits |= NEEDED[i].0;
        i += 1;
    }
    bits
}

/// The invite URL's permission integer.
pub fn invite_permissions() -> u64 {
    needed_bits()
}

/// The invite URL for application `application_id`: scopes `bot applications.commands` and
/// the permissions the bot needs.
pub fn invite_url(application_id: u64) -> String {
    format!(
        "https://discord.com/oauth2/authorize?client_id={application_id}&scope=bot%20applications.commands&permissions={}",
        needed_bits()
    )
}

/// The names of the bits of `needed` missing from `have` (Administrator grants everything).
pub fn missing(have: u64, needed: &[(u64, &'static str)]) -> Vec<&'static str> {
    if have & ADMINISTRATOR != 0 {
        return Vec::new();
    }
    needed
        .iter()
        .filter(|(bit, _)| have & bit == 0)
        .map(|(_, name)| *name)
        .collect()
}

/// One permission overwrite of a channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Overwrite {
    /// Role or member id.
    pub id: u64,
    /// A member's overwrite (else a role's).
    pub member: bool,
    /// Bits allowed.
    pub allow: u64,
    /// Bits denied.
    pub deny: u64,
}

/// A snowflake or permission field from Discord's JSON: a decimal string, or a number; 0 when
/// absent or unreadable.
pub fn json_u64(v: &serde_json::Value) -> u64 {
    v.as_u64()
        .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
        .unwrap_or(0)
}

/// One of a guild's roles, as `GET /guilds/{id}` lists them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GuildRole {
    /// Role id (the guild's own id for @everyone).
    pub id: u64,
    /// Name.
    pub name: String,
    /// Permission bits.
    pub permissions: u64,
    /// Position in the hierarchy (@everyone is 0).
    pub position: i64,
}

/// The roles of a guild object (`GET /guilds/{id}`).
pub fn guild_roles(guild: &serde_json::Value) -> Vec<GuildRole> {
    guild["roles"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|r| GuildRole {
                    id: json_u64(&r["id"]),
                    name: r["name"].as_str().unwrap_or("?").to_string(),
                    permissions: json_u64(&r["permissions"]),
                    position: r["position"].as_i64().unwrap_or(0),
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The role ids of a member object (`GET /guilds/{id}/members/{user}`).
pub fn member_role_ids(member: &serde_json::Value) -> Vec<u64> {
    member["roles"]
        .as_array()
        .map(|a| a.iter().map(json_u64).collect())
        .unwrap_or_default()
}

/// Guild-level permissions of a member with `member_roles`: @everyone's (the role whose id is
/// the guild's) and every one of their roles' together. The owner is not special-cased here.
pub fn base_permissions(guild_id: u64, roles: &[GuildRole], member_roles: &[u64]) -> u64 {
    roles
        .iter()
        .filter(|r| r.id == guild_id || member_roles.contains(&r.id))
        .fold(0, |acc, r| acc | r.permissions)
}

/// A member's permissions in a channel, as Discord computes them: the guild-level
/// `base` (@everyone and the member's roles), then the @everyone overwrite, the role overwrites
/// together, and the member's own overwrite. Administrator bypasses overwrites.
pub fn in_channel(
    base: u64,
    guild_id: u64,
    member_id: u64,
    roles: &[u64],
    overwrites: &[Overwrite],
) -> u64 {
    if base & ADMINISTRATOR != 0 {
        return u64::MAX;
    }
    let mut p = base;
    if let Some(o) = overwrites.iter().find(|o| !o.member && o.id == guild_id) {
        p = (p & !o.deny) | o.allow;
    }
    let (mut allow, mut deny) = (0, 0);
    for o in overwrites
        .iter()
        .filter(|o| !o.member && roles.contains(&o.id))
    {
        allow |= o.allow;
        deny |= o.deny;
    }
    p = (p & !deny) | allow;
    if let Some(o) = overwrites.iter().find(|o| o.member && o.id == member_id) {
        p = (p & !o.deny) | o.allow;
    }
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_permissions_are_everyone_and_the_members_roles() {
        let guild = serde_json::json!({"roles": [
            {"id": "10", "name": "@everyone", "permissions": "1024", "position": 0},
            {"id": "11", "name": "mods", "permissions": "8192", "position": 2},
            {"id": 12, "name": "other", "permissions": 8, "position": 1},
        ]});
        let roles = guild_roles(&guild);
        assert_eq!(roles.len(), 3);
        assert_eq!(base_permissions(10, &roles, &[]), VIEW_CHANNEL);
        assert_eq!(
            base_permissions(
                10,
                &roles,
                &member_role_ids(&serde_json::json!({"roles": ["11"]}))
            ),
            VIEW_CHANNEL | MANAGE_MESSAGES
        );
        assert_eq!(member_role_ids(&serde_json::json!({})), Vec::<u64>::new());
        assert_eq!(json_u64(&serde_json::json!("x")), 0);
    }

    #[test]
    fn the_invite_asks_for_exactly_what_the_readme_says() {
        // The same set, spelled with serenity's names: a bit typed wrong here or there shows.
        use serenity::all::Permissions as P;
        let want = P::VIEW_CHANNEL
            | P::SEND_MESSAGES
            | P::EMBED_LINKS
            | P::READ_MESSAGE_HISTORY
            | P::MANAGE_MESSAGES
            | P::MODERATE_MEMBERS
            | P::KICK_MEMBERS
            | P::BAN_MEMBERS
            | P::MANAGE_CHANNELS
            | P::VIEW_AUDIT_LOG;
        assert_eq!(needed_bits(), want.bits());
        assert_eq!(needed_bits(), 1_099_511_721_110);
        assert!(invite_url(42).contains("client_id=42&scope=bot%20applications.commands"));
    }

    #[test]
    fn missing_names_each_absent_bit_and_administrator_has_all() {
        let have = needed_bits() & !MODERATE_MEMBERS & !BAN_MEMBERS;
        assert_eq!(
            missing(have, &NEEDED),
            vec!["Timeout Members", "Ban Members"]
        );
        assert!(missing(ADMINISTRATOR, &NEEDED).is_empty());
    }

    #[test]
    fn overwrites_apply_everyone_then_roles_then_member() {
        let base = VIEW_CHANNEL | SEND_MESSAGES;
        let ow = [
            Overwrite {
                id: 1,
                member: false,
                allow: 0,
                deny: SEND_MESSAGES,
            },
            Overwrite {
                id: 7,
                member: false,
                allow: SEND_MESSAGES,
                deny: 0,
            },
        ];
        assert_eq!(in_channel(base, 1, 5, &[], &ow) & SEND_MESSAGES, 0);
        assert_ne!(in_channel(base, 1, 5, &[7], &ow) & SEND_MESSAGES, 0);
        let member = [Overwrite {
            id: 5,
            member: true,
            allow: 0,
            deny: VIEW_CHANNEL,
        }];
        assert_eq!(in_channel(base, 1, 5, &[7], &member) & VIEW_CHANNEL, 0);
    }
}
