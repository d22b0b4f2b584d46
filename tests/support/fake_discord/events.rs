//! Gateway event payloads (`d`) with every field serenity 0.12.5 requires, so none of them
//! silently deserialises as `Event::Unknown`. `tests/discord/contract.rs` checks each one
//! against serenity's own types.

use serde_json::{json, Value};

/// Snowflakes travel as strings; accepts both forms.
pub fn snowflake_of(v: &Value) -> Option<u64> {
    v.as_u64().or_else(|| v.as_str()?.parse().ok())
}

/// Permission bits of @everyone (role id = guild id) in every fake guild: View Channel, Send
/// Messages and Read Message History.
pub const EVERYONE_PERMISSIONS: u64 = 0x4_0000_0000 | 0x800 | 0x400;

/// Every permission bit Discord defines today: what a guild owner has.
pub const ALL_PERMISSIONS: u64 = (1 << 51) - 1;

fn now() -> String {
    chrono::Utc::now().to_rfc3339()
}

/// A role.
#[derive(Debug, Clone)]
pub struct RoleSpec {
    /// Id.
    pub id: u64,
    /// Name.
    pub name: String,
    /// Permission bits.
    pub permissions: u64,
    /// Position in the hierarchy (higher outranks lower).
    pub position: u16,
}

/// A guild text channel.
#[derive(Debug, Clone)]
pub struct ChannelSpec {
    /// Id.
    pub id: u64,
    /// Name.
    pub name: String,
    /// Permission overwrites: (role or member id, is a member, allow bits, deny bits).
    pub overwrites: Vec<(u64, bool, u64, u64)>,
}

/// A user, as author of messages and interactions or as a guild member.
#[derive(Debug, Clone)]
pub struct Author {
    /// User id.
    pub id: u64,
    /// Username.
    pub name: String,
    /// Role ids (in a guild).
    pub roles: Vec<u64>,
    /// Whether the user is a bot.
    pub bot: bool,
}

impl Author {
    /// A human user with no roles.
    pub fn new(id: u64, name: &str) -> Self {
        Self {
            id,
            name: name.to_owned(),
            roles: Vec::new(),
            bot: false,
        }
    }

    /// With these role ids.
    pub fn with_roles(mut self, roles: &[u64]) -> Self {
        self.roles = roles.to_vec();
        self
    }
}

/// A guild the fake sends in GUILD_CREATE.
#[derive(Debug, Clone)]
pub struct GuildSpec {
    /// Id (its shard is `(id >> 22) % total`).
    pub id: u64,
    /// Name.
    pub name: String,
    /// Owner's user id.
    pub owner_id: u64,
    /// Roles besides @everyone (which has the guild's id).
    pub roles: Vec<RoleSpec>,
    /// Text channels.
    pub channels: Vec<ChannelSpec>,
    /// Members.
    pub members: Vec<Author>,
    /// `preferred_locale` (the server's language), `en-US` unless set.
    pub locale: String,
    /// The server's vanity invite code, if any.
    pub vanity: Option<String>,
}

impl GuildSpec {
    /// A guild with one text channel `general` (id = guild id + 1) and no members.
    pub fn new(id: u64, name: &str) -> Self {
        Self {
            id,
            name: name.to_owned(),
            owner_id: 1,
            roles: Vec::new(),
            channels: vec![ChannelSpec {
                id: id + 1,
                name: "general".into(),
                overwrites: Vec::new(),
            }],
            members: Vec::new(),
            locale: "en-US".into(),
            vanity: None,
        }
    }

    /// With this vanity invite code (`discord.gg/CODE` is the server's own invite).
    pub fn vanity(mut self, code: &str) -> Self {
        self.vanity = Some(code.to_owned());
        self
    }

    /// With this `preferred_locale` (`es-ES`, `pt-BR`, `de`, ...).
    pub fn locale(mut self, locale: &str) -> Self {
        locale.clone_into(&mut self.locale);
        self
    }

    /// Adds a text channel.
    pub fn channel(mut self, id: u64, name: &str) -> Self {
        self.channels.push(ChannelSpec {
            id,
            name: name.to_owned(),
            overwrites: Vec::new(),
        });
        self
    }

    /// Adds a permission overwrite to channel `channel` (for a role, or a member when `member`).
    pub fn overwrite(mut self, channel: u64, id: u64, member: bool, allow: u64, deny: u64) -> Self {
        if let Some(c) = self.channels.iter_mut().find(|c| c.id == channel) {
            c.overwrites.push((id, member, allow, deny));
        }
        self
    }

    /// Adds a role.
    pub fn role(mut self, id: u64, name: &str, permissions: u64, position: u16) -> Self {
        self.roles.push(RoleSpec {
            id,
            name: name.to_owned(),
            permissions,
            position,
        });
        self
    }

    /// Adds a member.
    pub fn member(mut self, member: Author) -> Self {
        self.members.push(member);
        self
    }

    /// With this owner (`owner_id`; default 1, a user no test uses).
    pub fn owner(mut self, user_id: u64) -> Self {
        self.owner_id = user_id;
        self
    }

    /// Gives member `user_id` exactly these roles (role ids), adding the member (named
    /// `member{id}`) when the guild does not list it yet.
    pub fn with_member_roles(mut self, user_id: u64, roles: Vec<u64>) -> Self {
        match self.members.iter_mut().find(|m| m.id == user_id) {
            Some(m) => m.roles = roles,
            None => self
                .members
                .push(Author::new(user_id, &format!("member{user_id}")).with_roles(&roles)),
        }
        self
    }

    /// The guild-wide permission bits of `user_id`, as Discord computes them: every bit for
    /// the owner; otherwise @everyone's bits OR those of each of the member's roles, and every
    /// bit when that includes Administrator (`1 << 3`). Members not listed have @everyone's.
    pub fn permissions_of(&self, user_id: u64) -> u64 {
        if user_id == self.owner_id {
            return ALL_PERMISSIONS;
        }
        let roles: &[u64] = self
            .members
            .iter()
            .find(|m| m.id == user_id)
            .map_or(&[], |m| &m.roles);
        let bits = self
            .roles
            .iter()
            .filter(|r| roles.contains(&r.id))
            .fold(EVERYONE_PERMISSIONS, |acc, r| acc | r.permissions);
        if bits & (1 << 3) != 0 {
            ALL_PERMISSIONS
        } else {
            bits
        }
    }
}

/// A user object.
pub fn user(id: u64, name: &str, bot: bool) -> Value {
    json!({"id": id.to_string(), "username": name, "discriminator": "0", "global_name": name,
           "avatar": null, "bot": bot})
}

/// A guild member object (`permissions` only appears on interaction members).
pub fn member(author: &Author, guild_id: Option<u64>, permissions: Option<u64>) -> Value {
    let mut m = json!({
        "user": user(author.id, &author.name, author.bot),
        "roles": author.roles.iter().map(u64::to_string).collect::<Vec<_>>(),
        "joined_at": now(), "deaf": false, "mute": false, "flags": 0, "pending": false,
        "nick": null, "avatar": null, "communication_disabled_until": null,
    });
    if let Some(g) = guild_id {
        m["guild_id"] = json!(g.to_string());
    }
    if let Some(p) = permissions {
        m["permissions"] = json!(p.to_string());
    }
    m
}

fn role(r: &RoleSpec) -> Value {
    json!({"id": r.id.to_string(), "name": r.name, "permissions": r.permissions.to_string(),
           "color": 0, "colors": {"primary_color": 0, "secondary_color": null, "tertiary_color": null},
           "hoist": false, "managed": false, "mentionable": false, "position": r.position, "flags": 0})
}

/// READY for a shard.
pub fn ready(
    bot_user_id: u64,
    application_id: u64,
    session_id: &str,
    guild_ids: &[u64],
    shard: (u64, u64),
    resume_gateway_url: &str,
) -> Value {
    let guilds: Vec<Value> = guild_ids
        .iter()
        .map(|g| json!({"id": g.to_string(), "unavailable": true}))
        .collect();
    json!({
        "v": 10, "user": user(bot_user_id, "usmca-bot", true), "guilds": guilds,
        "session_id": session_id, "resume_gateway_url": resume_gateway_url,
        "shard": [shard.0, shard.1],
        "application": {"id": application_id.to_string(), "flags": 0},
    })
}

/// A guild's channels as `GET /guilds/{id}/channels` returns them.
pub fn channels(g: &GuildSpec) -> Vec<Value> {
    g.channels
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let overwrites: Vec<Value> = c
                .overwrites
                .iter()
                .map(|(id, member, allow, deny)| {
                    json!({"id": id.to_string(), "type": u8::from(*member),
                           "allow": allow.to_string(), "deny": deny.to_string()})
                })
                .collect();
            json!({"id": c.id.to_string(), "type": 0, "name": c.name, "guild_id": g.id.to_string(),
                   "position": i, "permission_overwrites": overwrites, "nsfw": false,
                   "rate_limit_per_user": 0, "topic": null, "parent_id": null})
        })
        .collect()
}

/// The guild object of `GET /guilds/{id}` (roles included, no members or channels).
pub fn guild_rest(g: &GuildSpec) -> Value {
    let mut v = guild_create(g);
    if let Some(o) = v.as_object_mut() {
        for k in [
            "members",
            "channels",
            "threads",
            "presences",
            "voice_states",
            "joined_at",
            "large",
            "unavailable",
            "member_count",
            "stage_instances",
            "guild_scheduled_events",
        ] {
            o.remove(k);
        }
    }
    v
}

/// GUILD_CREATE with @everyone, the roles, text channels and members.
pub fn guild_create(g: &GuildSpec) -> Value {
    let everyone = RoleSpec {
        id: g.id,
        name: "@everyone".into(),
        permissions: EVERYONE_PERMISSIONS,
        position: 0,
    };
    let roles: Vec<Value> = std::iter::once(&everyone)
        .chain(&g.roles)
        .map(role)
        .collect();
    let channels: Vec<Value> = g
        .channels
        .iter()
        .enumerate()
        .map(|(i, c)| {
            json!({"id": c.id.to_string(), "type": 0, "name": c.name, "guild_id": g.id.to_string(),
                   "position": i, "permission_overwrites": [], "nsfw": false,
                   "rate_limit_per_user": 0, "topic": null, "parent_id": null})
        })
        .collect();
    let members: Vec<Value> = g.members.iter().map(|m| member(m, None, None)).collect();
    json!({
        "id": g.id.to_string(), "name": g.name, "icon": null, "owner_id": g.owner_id.to_string(),
        "afk_timeout": 300, "verification_level": 1, "default_message_notifications": 1,
        "explicit_content_filter": 2, "mfa_level": 0, "system_channel_flags": 0, "premium_tier": 0,
        "preferred_locale": g.locale, "vanity_url_code": g.vanity, "nsfw_level": 0, "premium_progress_bar_enabled": false,
        "features": [], "emojis": [], "stickers": [], "roles": roles, "joined_at": now(),
        "large": false, "unavailable": false, "member_count": g.members.len(), "voice_states": [],
        "members": members, "channels": channels, "threads": [], "presences": [],
        "stage_instances": [], "guild_scheduled_events": [],
    })
}

/// A guild message object (MESSAGE_CREATE payload, and `resolved`/`message` in interactions).
pub fn message(
    guild_id: u64,
    channel_id: u64,
    message_id: u64,
    author: &Author,
    content: &str,
) -> Value {
    json!({
        "id": message_id.to_string(), "channel_id": channel_id.to_string(),
        "guild_id": guild_id.to_string(), "author": user(author.id, &author.name, author.bot),
        "member": {"roles": author.roles.iter().map(u64::to_string).collect::<Vec<_>>(),
                   "joined_at": now(), "deaf": false, "mute": false, "flags": 0},
        "content": content, "timestamp": now(), "edited_timestamp": null, "tts": false,
        "mention_everyone": false, "mentions": [], "mention_roles": [], "attachments": [],
        "embeds": [], "pinned": false, "type": 0, "components": [],
    })
}

/// MESSAGE_CREATE payload.
pub fn message_create(
    guild_id: u64,
    channel_id: u64,
    message_id: u64,
    author: &Author,
    content: &str,
) -> Value {
    message(guild_id, channel_id, message_id, author, content)
}

/// MESSAGE_CREATE payload mentioning `users` (the spam rules count them).
pub fn message_create_mentioning(
    guild_id: u64,
    channel_id: u64,
    message_id: u64,
    author: &Author,
    content: &str,
    users: &[u64],
) -> Value {
    let mut m = message(guild_id, channel_id, message_id, author, content);
    m["mentions"] = json!(users
        .iter()
        .map(|u| user(*u, &format!("user{u}"), false))
        .collect::<Vec<_>>());
    m
}

/// MESSAGE_UPDATE payload (an edit: new content and `edited_timestamp`).
pub fn message_update(
    guild_id: u64,
    channel_id: u64,
    message_id: u64,
    author: &Author,
    content: &str,
) -> Value {
    let mut m = message(guild_id, channel_id, message_id, author, content);
    m["edited_timestamp"] = json!(now());
    m
}

/// GUILD_MEMBER_ADD payload.
pub fn guild_member_add(guild_id: u64, author: &Author) -> Value {
    member(author, Some(guild_id), None)
}

/// Fields every interaction carries.
fn interaction(
    kind: u8,
    guild_id: Option<u64>,
    channel_id: u64,
    author: &Author,
    permissions: u64,
    data: Value,
) -> Value {
    let mut v = json!({
        "id": (1_200_000_000_000_000_000u64 + u64::from(kind) * 1000 + (author.id % 1000)).to_string(),
        "application_id": "900000000000000002", "type": kind,
        "token": format!("itoken-{kind}-{}", author.id), "version": 1,
        "channel_id": channel_id.to_string(),
        "channel": {"id": channel_id.to_string(), "type": if guild_id.is_some() { 0 } else { 1 }},
        "locale": "en-US", "entitlements": [], "attachment_size_limit": 8_388_608,
        "app_permissions": "2199023255551", "authorizing_integration_owners": {},
        "context": if guild_id.is_some() { 0 } else { 1 }, "data": data,
    });
    match guild_id {
        Some(g) => {
            v["guild_id"] = json!(g.to_string());
            v["guild_locale"] = json!("en-US");
            v["member"] = member(author, None, Some(permissions));
        }
        None => v["user"] = user(author.id, &author.name, author.bot),
    }
    v
}

/// INTERACTION_CREATE for a slash command `/name` with `options` (Discord's option objects).
/// `permissions` are the invoker's resolved permission bits in the channel.
pub fn slash_command(
    guild_id: u64,
    channel_id: u64,
    author: &Author,
    permissions: u64,
    name: &str,
    options: Value,
) -> Value {
    let data = json!({"id": "1300000000000000001", "name": name, "type": 1, "options": options,
                      "guild_id": guild_id.to_string()});
    interaction(2, Some(guild_id), channel_id, author, permissions, data)
}

/// INTERACTION_CREATE for an autocomplete request of slash command `name` (one option in
/// `options` carries `"focused": true`).
pub fn autocomplete(
    guild_id: u64,
    channel_id: u64,
    author: &Author,
    permissions: u64,
    name: &str,
    options: Value,
) -> Value {
    let data = json!({"id": "1300000000000000001", "name": name, "type": 1, "options": options,
                      "guild_id": guild_id.to_string()});
    interaction(4, Some(guild_id), channel_id, author, permissions, data)
}

/// INTERACTION_CREATE for a user context-menu command `name` on `target`.
pub fn user_command(
    guild_id: u64,
    channel_id: u64,
    author: &Author,
    permissions: u64,
    name: &str,
    target: &Author,
) -> Value {
    let id = target.id.to_string();
    let data = json!({"id": "1300000000000000003", "name": name, "type": 2, "target_id": id,
                      "resolved": {"users": {id.clone(): user(target.id, &target.name, false)},
                                   "members": {id: {"roles": target.roles.iter().map(u64::to_string).collect::<Vec<_>>(),
                                                    "joined_at": now(), "deaf": false, "mute": false,
                                                    "flags": 0, "pending": false}}},
                      "guild_id": guild_id.to_string()});
    interaction(2, Some(guild_id), channel_id, author, permissions, data)
}

/// INTERACTION_CREATE for a message context-menu command `name` on `target` (a [`message`]).
pub fn message_command(
    guild_id: u64,
    channel_id: u64,
    author: &Author,
    permissions: u64,
    name: &str,
    target: Value,
) -> Value {
    let target_id = target.get("id").cloned().unwrap_or(Value::Null);
    let id = target_id.as_str().unwrap_or_default().to_owned();
    let data = json!({"id": "1300000000000000002", "name": name, "type": 3, "target_id": target_id,
                      "resolved": {"messages": {id: target}}, "guild_id": guild_id.to_string()});
    interaction(2, Some(guild_id), channel_id, author, permissions, data)
}

/// INTERACTION_CREATE for a button click on `message`; `guild_id` `None` is a click in DMs
/// (e.g. the Appeal button).
pub fn button_click(
    guild_id: Option<u64>,
    channel_id: u64,
    author: &Author,
    custom_id: &str,
    message: Value,
) -> Value {
    let mut v = interaction(
        3,
        guild_id,
        channel_id,
        author,
        0,
        json!({"custom_id": custom_id, "component_type": 2}),
    );
    v["message"] = message;
    v
}

/// [`button_click`] by a member with `permissions` (e.g. an administrator's click).
pub fn button_click_with(
    guild_id: u64,
    channel_id: u64,
    author: &Author,
    permissions: u64,
    custom_id: &str,
    message: Value,
) -> Value {
    let mut v = interaction(
        3,
        Some(guild_id),
        channel_id,
        author,
        permissions,
        json!({"custom_id": custom_id, "component_type": 2}),
    );
    v["message"] = message;
    v
}

/// INTERACTION_CREATE for a modal submit with text inputs `(custom_id, value)`.
pub fn modal_submit(
    guild_id: Option<u64>,
    channel_id: u64,
    author: &Author,
    custom_id: &str,
    fields: &[(&str, &str)],
) -> Value {
    let rows: Vec<Value> = fields
        .iter()
        .map(|(id, value)| json!({"type": 1, "components": [{"type": 4, "custom_id": id, "value": value}]}))
        .collect();
    interaction(
        5,
        guild_id,
        channel_id,
        author,
        0,
        json!({"custom_id": custom_id, "components": rows}),
    )
}

/// A DM channel message (no guild), e.g. the bot's DM that carries the Appeal button.
pub fn dm_message(channel_id: u64, message_id: u64, author: &Author, content: &str) -> Value {
    let mut m = message(0, channel_id, message_id, author, content);
    if let Some(o) = m.as_object_mut() {
        o.remove("guild_id");
        o.remove("member");
    }
    m
}
