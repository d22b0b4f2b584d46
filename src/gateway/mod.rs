//! The gateway front end: serenity's events become pipeline events for the
//! [`Moderation`] service, and interactions go to the slash commands. Every handler returns at
//! once; the work runs on the service's tracked tasks.

use crate::commands;
use crate::domain::CaseAction;
use crate::moderation::{ExternalAction, GuildInfo, Moderation};
use crate::pipeline::{JoinEvent, MessageEvent};
use chrono::{DateTime, Timelike, Utc};
use serenity::all::{
    AuditLogEntry, Context, EventHandler, Guild, GuildId, Interaction, Member, Message,
    MessageUpdateEvent, PartialMember, Permissions, Ready, User, UserId,
};
use serenity::async_trait;
use std::sync::{Arc, OnceLock};
use std::time::Instant;

/// Handles gateway events for one process (all its shards). Built before the service (which
/// needs the client's `Http`), attached to it before the gateway starts.
#[derive(Clone, Default)]
pub struct Handler {
    service: Arc<OnceLock<Arc<Moderation>>>,
}

impl Handler {
    /// Connects the handler to the service; events before this are ignored.
    pub fn attach(&self, service: Arc<Moderation>) {
        let _ = self.service.set(service);
    }

    fn service(&self) -> Option<&Arc<Moderation>> {
        self.service.get()
    }
}

fn to_utc(ts: &serenity::model::Timestamp) -> DateTime<Utc> {
    DateTime::<Utc>::from_timestamp(ts.unix_timestamp(), ts.nanosecond()).unwrap_or_else(Utc::now)
}

/// Whether the author holds Manage Messages or Administrator, from the cached guild's roles.
fn is_moderator(ctx: &Context, guild_id: GuildId, user: UserId, member: &PartialMember) -> bool {
    if let Some(p) = member.permissions {
        return p.administrator() || p.manage_messages();
    }
    let Some(guild) = ctx.cache.guild(guild_id) else {
        return false;
    };
    if guild.owner_id == user {
        return true;
    }
    let everyone = guild
        .roles
        .get(&serenity::all::RoleId::new(guild_id.get()))
        .map_or(Permissions::empty(), |r| r.permissions);
    let perms = member
        .roles
        .iter()
        .filter_map(|r| guild.roles.get(r))
        .fold(everyone, |acc, r| acc | r.permissions);
    perms.administrator() || perms.manage_messages()
}

/// What the pipeline needs to know about a message's author in a guild.
struct AuthorFacts {
    roles: Vec<u64>,
    moderator: bool,
    joined_at: Option<DateTime<Utc>>,
    default_avatar: bool,
}

fn author_facts(
    ctx: &Context,
    guild_id: GuildId,
    author: &User,
    member: Option<&PartialMember>,
) -> AuthorFacts {
    AuthorFacts {
        roles: member.map_or_else(Vec::new, |m| m.roles.iter().map(|r| r.get()).collect()),
        moderator: member.is_some_and(|m| is_moderator(ctx, guild_id, author.id, m)),
        joined_at: member.and_then(|m| m.joined_at.as_ref()).map(to_utc),
        default_avatar: author.avatar.is_none(),
    }
}

/// Builds the pipeline's view of a guild message, or `None` for messages the bot ignores
/// (DMs, bots, webhooks, empty text).
fn message_event(ctx: &Context, msg: &Message) -> Option<MessageEvent> {
    let guild_id = msg.guild_id?;
    // An attachment-only message has no text for the model, but the attachment rule reads it.
    if msg.author.bot
        || msg.webhook_id.is_some()
        || (msg.content.trim().is_empty() && msg.attachments.is_empty())
    {
        return None;
    }
    let who = author_facts(ctx, guild_id, &msg.author, msg.member.as_deref());
    Some(MessageEvent {
        guild_id: guild_id.get(),
        channel_id: msg.channel_id.get(),
        message_id: msg.id.get(),
        author_id: msg.author.id.get(),
        author_roles: who.roles,
        author_is_moderator: who.moderator,
        author_joined_at: who.joined_at,
        author_default_avatar: who.default_avatar,
        content: msg.content.clone(),
        created_at: to_utc(&msg.timestamp),
        edited: false,
        reply_to_author: msg.referenced_message.as_ref().map(|m| m.author.id.get()),
        mentions: msg.mentions.iter().map(|u| u.id.get()).collect(),
        role_mentions: msg.mention_roles.iter().map(|r| r.get()).collect(),
        attachments: u32::try_from(msg.attachments.len()).unwrap_or(u32::MAX),
    })
}

/// An edit: re-scored with the new text (it may escalate, never double-punish).
fn edit_event(ctx: &Context, ev: &MessageUpdateEvent) -> Option<MessageEvent> {
    let guild_id = ev.guild_id?;
    let content = ev.content.clone()?;
    let author = ev.author.as_ref()?;
    if author.bot || content.trim().is_empty() {
        return None;
    }
    let member = ev.member.as_ref().and_then(|m| m.as_deref());
    let who = author_facts(ctx, guild_id, author, member);
    Some(MessageEvent {
        guild_id: guild_id.get(),
        channel_id: ev.channel_id.get(),
        message_id: ev.id.get(),
        author_id: author.id.get(),
        author_roles: who.roles,
        author_is_moderator: who.moderator,
        author_joined_at: who.joined_at,
        author_default_avatar: who.default_avatar,
        content,
        created_at: ev.edited_timestamp.as_ref().map_or_else(Utc::now, to_utc),
        edited: true,
        reply_to_author: None,
        mentions: ev
            .mentions
            .as_ref()
            .map_or_else(Vec::new, |m| m.iter().map(|u| u.id.get()).collect()),
        role_mentions: ev
            .mention_roles
            .as_ref()
            .map_or_else(Vec::new, |r| r.iter().map(|r| r.get()).collect()),
        attachments: ev
            .attachments
            .as_ref()
            .map_or(0, |a| u32::try_from(a.len()).unwrap_or(u32::MAX)),
    })
}

/// A ban, unban, kick or timeout from the audit log, as a case to record.
fn external_action(guild_id: u64, entry: &AuditLogEntry) -> Option<ExternalAction> {
    use serenity::all::audit_log::{Action, Change, MemberAction};
    let target = entry.target_id?.get();
    let (action, until) = match entry.action {
        Action::Member(MemberAction::BanAdd) => (CaseAction::Ban, None),
        Action::Member(MemberAction::BanRemove) => (CaseAction::Unban, None),
        Action::Member(MemberAction::Kick) => (CaseAction::Kick, None),
        Action::Member(MemberAction::Update) => {
            let change = entry.changes.iter().flatten().find_map(|c| match c {
                Change::CommunicationDisabledUntil { new, .. } => Some(*new),
                _ => None,
            })?;
            match change {
                Some(t) => (CaseAction::Timeout, Some(to_utc(&t))),
                None => (CaseAction::Untimeout, None),
            }
        }
        _ => return None,
    };
    Some(ExternalAction {
        guild_id,
        entry_id: entry.id.get(),
        moderator: entry.user_id.get(),
        target,
        action,
        until,
        reason: entry.reason.clone(),
    })
}

#[async_trait]
impl EventHandler for Handler {
    async fn ready(&self, _ctx: Context, ready: Ready) {
        tracing::info!(
            shard = ?ready.shard.map(|s| (s.id.0, s.total)),
            user = %ready.user.name,
            guilds = ready.guilds.len(),
            "connected to the Discord gateway"
        );
        if let Some(service) = self.service() {
            service.set_application_id(ready.application.id.get());
        }
        let invite = crate::discord::permissions::invite_url(ready.application.id.get());
        let first_shard = ready.shard.is_none_or(|s| s.id.0 == 0);
        if ready.guilds.is_empty() && ready.shard.is_none_or(|s| s.total == 1) {
            tracing::warn!(%invite, "the bot is in no server yet: open the invite URL to add it to one");
        } else if first_shard {
            tracing::info!(%invite, "invite URL (to add the bot to another server)");
        }
    }

    async fn guild_create(&self, ctx: Context, guild: Guild, _is_new: Option<bool>) {
        let Some(service) = self.service().cloned() else {
            return;
        };
        service.clone().spawn_tracked(async move {
            let id = guild.id.get();
            let info = GuildInfo {
                name: guild.name.clone(),
                preferred_locale: guild.preferred_locale.clone(),
                vanity_url_code: guild.vanity_url_code.clone(),
            };
            if let Err(e) = service.load_guild(id, Some(info)).await {
                tracing::error!(guild = id, error = %e, "guild settings not loaded; using the global configuration");
            }
            if let Err(e) = commands::install(&ctx.http, guild.id).await {
                tracing::warn!(guild = id, error = %e, "slash commands not installed; check the bot was invited with the applications.commands scope");
            }
        });
    }

    async fn message(&self, ctx: Context, msg: Message) {
        let received = Instant::now();
        if let (Some(service), Some(ev)) = (self.service(), message_event(&ctx, &msg)) {
            service.accept_message(ev, received);
        }
    }

    async fn message_update(
        &self,
        ctx: Context,
        _old: Option<Message>,
        _new: Option<Message>,
        event: MessageUpdateEvent,
    ) {
        let received = Instant::now();
        if let (Some(service), Some(ev)) = (self.service(), edit_event(&ctx, &event)) {
            service.accept_message(ev, received);
        }
    }

    async fn guild_member_addition(&self, _ctx: Context, member: Member) {
        let Some(service) = self.service() else {
            return;
        };
        if member.user.bot {
            return;
        }
        service.accept_join(JoinEvent {
            guild_id: member.guild_id.get(),
            user_id: member.user.id.get(),
            joined_at: member.joined_at.as_ref().map_or_else(Utc::now, to_utc),
            default_avatar: member.user.avatar.is_none(),
            roles: member.roles.iter().map(|r| r.get()).collect(),
        });
    }

    async fn guild_audit_log_entry_create(
        &self,
        ctx: Context,
        entry: AuditLogEntry,
        guild_id: GuildId,
    ) {
        let Some(service) = self.service().cloned() else {
            return;
        };
        // The bot's own actions are its cases already.
        if entry.user_id == ctx.cache.current_user().id {
            return;
        }
        let Some(ext) = external_action(guild_id.get(), &entry) else {
            return;
        };
        service.clone().spawn_tracked(async move {
            match service.record_external(ext.clone()).await {
                Ok(Some(n)) => tracing::info!(guild = ext.guild_id, case_no = n, action = %ext.action, moderator = ext.moderator, "action taken in Discord recorded"),
                Ok(None) => {}
                Err(e) => tracing::error!(guild = ext.guild_id, error = %e, "action taken in Discord not recorded"),
            }
        });
    }

    async fn interaction_create(&self, ctx: Context, interaction: Interaction) {
        tracing::debug!(id = %interaction.id(), kind = ?interaction.kind(), "interaction");
        let Some(service) = self.service().cloned() else {
            return;
        };
        service
            .clone()
            .spawn_tracked(async move { commands::dispatch(&service, &ctx, interaction).await });
    }
}
