//! The Discord checks: token, privileged intents, and per server the bot's permissions, its
//! role position against the members it moderates, and the channels it posts to.

use super::Check;
use crate::config::Config;
use crate::discord::client::http_from_config;
use crate::discord::permissions::{
    self, base_permissions, guild_roles, json_u64, member_role_ids, GuildRole, Overwrite,
};
use crate::discord::rest::{RestClient, RestError, RestPolicy};
use crate::storage::Storage;
use serenity::model::id::{GuildId, UserId};
use std::sync::Arc;
use std::time::Duration;

/// Application flag: the Server Members intent is enabled (verified bots).
const GATEWAY_GUILD_MEMBERS: u64 = 1 << 14;
/// Application flag: the Server Members intent is enabled (bots in fewer than 100 servers).
const GATEWAY_GUILD_MEMBERS_LIMITED: u64 = 1 << 15;
/// Application flag: the Message Content intent is enabled (verified bots).
const GATEWAY_MESSAGE_CONTENT: u64 = 1 << 18;
/// Application flag: the Message Content intent is enabled (bots in fewer than 100 servers).
const GATEWAY_MESSAGE_CONTENT_LIMITED: u64 = 1 << 19;

/// Members compared with the bot's role, per server.
const MEMBERS_CHECKED: u16 = 1000;

/// A REST client for the checks: its own invalid-request budget, no long retries.
fn client(config: &Config) -> Result<RestClient, String> {
    let http = http_from_config(config).map_err(|e| e.to_string())?;
    let policy = RestPolicy {
        max_attempts: 2,
        max_retry_after: Duration::from_secs(5),
        ..RestPolicy::default()
    };
    RestClient::with_policy(Arc::new(http), policy).map_err(|e| e.to_string())
}

/// Every Discord check, in order; stops after the token when it does not work.
pub async fn checks(config: &Config, storage: Option<&Storage>) -> Vec<Check> {
    let mut out = Vec::new();
    let rest = match client(config) {
        Ok(r) => r,
        Err(e) => {
            out.push(Check::fail(
                format!("Discord token: {e}"),
                "copy the token from the developer portal (Bot → Reset Token) into DISCORD_TOKEN in .env",
            ));
            return out;
        }
    };
    checks_with(&rest, config, storage, &mut out).await;
    out
}

/// The start-up checks: the Discord checks with the daemon's `Http` (and a budget of their own),
/// each failure and warning logged as a warning with its fix. Nothing is blocked by them.
pub async fn startup(http: Arc<serenity::http::Http>, config: Arc<Config>, storage: Storage) {
    let policy = RestPolicy {
        max_attempts: 2,
        max_retry_after: Duration::from_secs(5),
        ..RestPolicy::default()
    };
    let rest = match RestClient::with_policy(http, policy) {
        Ok(r) => r,
        Err(e) => {
            tracing::warn!(error = %e, "start-up checks not run");
            return;
        }
    };
    let mut out = Vec::new();
    checks_with(&rest, &config, Some(&storage), &mut out).await;
    let mut failed = 0;
    for c in &out {
        if matches!(c.status, super::Status::Fail | super::Status::Warn) {
            failed += 1;
            tracing::warn!(
                check = %c.what,
                fix = c.fix.as_deref().unwrap_or(""),
                "start-up check: {}",
                c.line()
            );
        }
    }
    if failed == 0 {
        tracing::info!(
            checks = out.len(),
            "start-up checks passed (usmca-bot doctor runs them all)"
        );
    }
}

/// The checks with an existing client (the daemon's start-up checks share its `Http`).
pub async fn checks_with(
    rest: &RestClient,
    config: &Config,
    storage: Option<&Storage>,
    out: &mut Vec<Check>,
) {
    let me = match rest.current_user().await {
        Ok(u) => u,
        Err(RestError::Unauthorized) => {
            out.push(Check::fail(
                "Discord token: rejected (401)",
                "the token was reset or mistyped: copy it again from the developer portal (Bot → Reset Token) into DISCORD_TOKEN",
            ));
            return;
        }
        Err(e) => {
            out.push(Check::fail(
                format!("Discord: cannot reach the API: {e}"),
                "check this host's internet access (or discord.api_base when a proxy is used)",
            ));
            return;
        }
    };
    let bot_id = json_u64(&me["id"]);
    let bot_name = me["username"].as_str().unwrap_or("the bot").to_string();
    out.push(Check::pass(format!(
        "Discord token is valid: logged in as {bot_name} ({bot_id})"
    )));

    match rest.current_application().await {
        Ok(app) => {
            let flags = json_u64(&app["flags"]);
            let app_id = json_u64(&app["id"]);
            out.push(Check::pass(
                "intents requested: Guilds, Guild Messages, Direct Messages, and the privileged Server Members and Message Content",
            ));
            for (name, full, limited) in [
                ("Server Members", GATEWAY_GUILD_MEMBERS, GATEWAY_GUILD_MEMBERS_LIMITED),
                ("Message Content", GATEWAY_MESSAGE_CONTENT, GATEWAY_MESSAGE_CONTENT_LIMITED),
            ] {
                if flags & (full | limited) != 0 {
                    out.push(Check::pass(format!("privileged intent {name} is enabled")));
                } else {
                    out.push(Check::fail(
                        format!("privileged intent {name} is not enabled: the gateway refuses the bot (close code 4014)"),
                        format!("developer portal → your application → Bot → Privileged Gateway Intents → enable {name} Intent, save"),
                    ));
                }
            }
            if app_id != 0 {
                out.push(Check::pass(format!(
                    "invite URL: {}",
                    permissions::invite_url(app_id)
                )));
            }
        }
        Err(e) => out.push(Check::warn(
            format!("privileged intents: cannot read the application ({e})"),
            "check in the developer portal (Bot → Privileged Gateway Intents) that Server Members and Message Content are enabled",
        )),
    }

    let guilds = match rest.current_user_guilds().await {
        Ok(g) => g,
        Err(e) => {
            out.push(Check::fail(
                format!("servers: cannot list them: {e}"),
                "check the token and the bot's access to the API",
            ));
            return;
        }
    };
    if guilds.is_empty() {
        out.push(Check::warn(
            "the bot is in no server",
            "invite it with the invite URL above (scopes bot and applications.commands)",
        ));
        return;
    }
    for g in &guilds {
        let id = json_u64(&g["id"]);
        let name = g["name"].as_str().unwrap_or("?").to_string();
        guild_checks(rest, config, storage, bot_id, id, &name, out).await;
    }
}

/// The member's highest role (position and name); @everyone (position 0) when none.
fn top_role<'a>(roles: &'a [GuildRole], member_roles: &[u64]) -> Option<&'a GuildRole> {
    roles
        .iter()
        .filter(|r| member_roles.contains(&r.id))
        .max_by_key(|r| (r.position, r.id))
}

#[allow(clippy::too_many_arguments)]
async fn guild_checks(
    rest: &RestClient,
    config: &Config,
    storage: Option<&Storage>,
    bot_id: u64,
    guild_id: u64,
    guild_name: &str,
    out: &mut Vec<Check>,
) {
    let gid = GuildId::new(guild_id.max(1));
    let label = format!("server {guild_name} ({guild_id})");
    let (guild, me) = match (
        rest.guild(gid).await,
        rest.guild_member(gid, UserId::new(bot_id.max(1))).await,
    ) {
        (Ok(g), Ok(m)) => (g, m),
        (Err(e), _) | (_, Err(e)) => {
            out.push(Check::fail(
                format!("{label}: cannot read its roles or the bot's membership: {e}"),
                "re-invite the bot with the invite URL",
            ));
            return;
        }
    };
    let roles = guild_roles(&guild);
    let my_roles = member_role_ids(&me);
    let mine = base_permissions(guild_id, &roles, &my_roles);
    let my_top = top_role(&roles, &my_roles);
    let my_role_name = my_top.map_or("@everyone".to_string(), |r| r.name.clone());
    let missing = permissions::missing(mine, &permissions::NEEDED);
    if missing.is_empty() {
        out.push(Check::pass(format!(
            "{label}: the bot has every permission it needs"
        )));
    } else {
        out.push(Check::fail(
            format!("{label}: missing permission{} {}", if missing.len() == 1 { "" } else { "s" }, missing.join(", ")),
            format!(
                "Server Settings → Roles → {my_role_name} → enable {}; or re-invite with the invite URL (it asks for all of them)",
                missing.join(", ")
            ),
        ));
    }

    // Role hierarchy: Discord refuses timeouts, kicks and bans on members whose highest role
    // is at or above the bot's. Moderators and exempt members are never acted on: skip them.
    let my_position = my_top.map_or(0, |r| r.position);
    let owner = json_u64(&guild["owner_id"]);
    match rest.guild_members(gid, MEMBERS_CHECKED).await {
        Ok(members) => {
            let moderator_bits = permissions::ADMINISTRATOR
                | permissions::MANAGE_MESSAGES
                | permissions::MODERATE_MEMBERS;
            let mut above: Vec<(String, String)> = Vec::new();
            for m in &members {
                let uid = json_u64(&m["user"]["id"]);
                if uid == bot_id || uid == owner || m["user"]["bot"].as_bool() == Some(true) {
                    continue;
                }
                let their = member_role_ids(m);
                let perms = base_permissions(guild_id, &roles, &their);
                let exempt = config.exemptions.users.contains(&uid)
                    || their.iter().any(|r| config.exemptions.roles.contains(r))
                    || their.iter().any(|r| config.discord.moderator_roles.contains(r));
                if perms & moderator_bits != 0 || exempt {
                    continue;
                }
                if let Some(top) = top_role(&roles, &their) {
                    if top.position >= my_position {
                        let name = m["user"]["username"].as_str().unwrap_or("?");
                        above.push((format!("{name} ({uid})"), top.name.clone()));
                    }
                }
            }
            if above.is_empty() {
                out.push(Check::pass(format!(
                    "{label}: the bot's role {my_role_name} is above every member it moderates ({} checked)",
                    members.len()
                )));
            } else {
                let examples: Vec<String> = above
                    .iter()
                    .take(3)
                    .map(|(who, role)| format!("{who} with {role}"))
                    .collect();
                let highest = above[0].1.clone();
                out.push(Check::fail(
                    format!(
                        "{label}: the bot's role {my_role_name} is not above {} member{} it moderates, e.g. {}: Discord refuses to time out, kick or ban them",
                        above.len(),
                        if above.len() == 1 { "" } else { "s" },
                        examples.join(", ")
                    ),
                    format!("Server Settings → Roles: drag {my_role_name} above {highest} (and every role of members it should act on)"),
                ));
            }
        }
        Err(e) => out.push(Check::warn(
            format!("{label}: cannot list members to compare roles ({e})"),
            "enable the Server Members intent; then drag the bot's role above the roles of the members it moderates",
        )),
    }

    channel_checks(
        rest, storage, bot_id, guild_id, &label, &my_roles, mine, out,
    )
    .await;
}

#[allow(clippy::too_many_arguments)]
async fn channel_checks(
    rest: &RestClient,
    storage: Option<&Storage>,
    bot_id: u64,
    guild_id: u64,
    label: &str,
    my_roles: &[u64],
    base: u64,
    out: &mut Vec<Check>,
) {
    let Some(storage) = storage else {
        out.push(Check::skip(format!(
            "{label}: configured channels not checked (Postgres not reachable)"
        )));
        return;
    };
    let settings = match storage.guild_settings(guild_id).await {
        Ok((s, _)) => s,
        Err(e) => {
            out.push(Check::skip(format!(
                "{label}: configured channels not checked ({e})"
            )));
            return;
        }
    };
    let channels = match rest.guild_channels(GuildId::new(guild_id.max(1))).await {
        Ok(c) => c,
        Err(e) => {
            out.push(Check::fail(
                format!("{label}: cannot list channels: {e}"),
                "give the bot View Channels",
            ));
            return;
        }
    };
    for (key, value, set_hint) in [
        (
            "mod_log_channel",
            settings.mod_log_channel,
            "/mod config set mod_log_channel #mod-log",
        ),
        (
            "appeal_channel",
            settings.appeal_channel,
            "/mod config set appeal_channel #appeals",
        ),
    ] {
        let Some(cid) = value else {
            if key == "mod_log_channel" {
                out.push(Check::warn(
                    format!("{label}: no mod-log channel set (cases are recorded but not posted)"),
                    format!("in Discord: {set_hint}"),
                ));
            }
            continue;
        };
        let Some(ch) = channels.iter().find(|c| json_u64(&c["id"]) == cid) else {
            out.push(Check::fail(
                format!("{label}: {key} {cid} does not exist (deleted, or the bot cannot see it)"),
                format!("in Discord: {set_hint}, or give the bot View Channel there"),
            ));
            continue;
        };
        let name = ch["name"].as_str().unwrap_or("?");
        let overwrites: Vec<Overwrite> = ch["permission_overwrites"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|o| Overwrite {
                        id: json_u64(&o["id"]),
                        member: o["type"].as_u64() == Some(1),
                        allow: json_u64(&o["allow"]),
                        deny: json_u64(&o["deny"]),
                    })
                    .collect()
            })
            .unwrap_or_default();
        let have = permissions::in_channel(base, guild_id, bot_id, my_roles, &overwrites);
        let missing = permissions::missing(have, &permissions::NEEDED_TO_POST);
        if missing.is_empty() {
            out.push(Check::pass(format!(
                "{label}: {key} #{name} exists and the bot can post there"
            )));
        } else {
            out.push(Check::fail(
                format!(
                    "{label}: {key} #{name}: the bot lacks {}",
                    missing.join(", ")
                ),
                format!(
                    "#{name} → Edit Channel → Permissions → add the bot's role and allow {}",
                    missing.join(", ")
                ),
            ));
        }
    }
}
