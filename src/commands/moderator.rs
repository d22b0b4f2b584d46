//! `/mod …` and "Check toxicity".

use super::reply::{answer, Target};
use super::{access, CHECK_TOXICITY};
use crate::domain::notices::{self, NoticeKind};
use crate::domain::{setting_keys, Case, CaseAction};
use crate::enforcement::modlog::top_scores;
use crate::moderation::{Access, Moderation, StatusSummary};
use serenity::all::{
    CommandDataOption, CommandDataOptionValue, CommandInteraction, Context, ResolvedTarget,
};
use std::fmt::Write as _;
use std::sync::Arc;

/// A parsed `/mod` invocation.
#[derive(Debug, Clone, PartialEq)]
pub enum ModCommand {
    /// `/mod status`
    Status,
    /// `/mod history user`
    History(u64),
    /// `/mod case number`
    Case(i64),
    /// `/mod pardon case [reason]`
    Pardon(i64, Option<String>),
    /// `/mod config show`
    ConfigShow,
    /// `/mod config set key value`
    ConfigSet(String, String),
    /// `/mod dryrun on|off`
    DryRun(bool),
    /// `/mod rules list`
    RulesList,
    /// `/mod rules add kind value [list] [label] [severity]`
    RulesAdd {
        /// What kind of rule.
        kind: String,
        /// The word, phrase, domain or invite.
        value: String,
        /// Word list name.
        list: Option<String>,
        /// Label a word hit feeds.
        label: Option<String>,
        /// Score a word hit gives.
        severity: Option<f64>,
    },
    /// `/mod rules remove kind value`
    RulesRemove(String, String),
    /// `/mod rules test text`
    RulesTest(String),
}

fn opt<'a>(opts: &'a [CommandDataOption], name: &str) -> Option<&'a CommandDataOptionValue> {
    opts.iter().find(|o| o.name == name).map(|o| &o.value)
}

fn string(opts: &[CommandDataOption], name: &str) -> Option<String> {
    super::opt_string(opts, name)
}

fn int(opts: &[CommandDataOption], name: &str) -> Option<i64> {
    super::opt_int(opts, name)
}

/// Reads `/mod`'s options; `Err` says what is missing.
pub fn parse(options: &[CommandDataOption]) -> Result<ModCommand, String> {
    let Some(first) = options.first() else {
        return Err("choose a subcommand, e.g. /mod status".into());
    };
    let sub = match &first.value {
        CommandDataOptionValue::SubCommand(o) | CommandDataOptionValue::SubCommandGroup(o) => o,
        _ => return Err("choose a subcommand, e.g. /mod status".into()),
    };
    let need = |what: &str| format!("/mod {} needs `{what}`", first.name);
    match first.name.as_str() {
        "status" => Ok(ModCommand::Status),
        "history" => match opt(sub, "user") {
            Some(CommandDataOptionValue::User(u)) => Ok(ModCommand::History(u.get())),
            _ => Err(need("user")),
        },
        "case" => int(sub, "number")
            .map(ModCommand::Case)
            .ok_or_else(|| need("number")),
        "pardon" => int(sub, "case")
            .map(|c| ModCommand::Pardon(c, string(sub, "reason")))
            .ok_or_else(|| need("case")),
        "dryrun" => {
            let s = string(sub, "state").ok_or_else(|| need("state"))?;
            setting_keys::parse_bool(&s).map(ModCommand::DryRun)
        }
        "rules" => {
            let Some(inner) = sub.first() else {
                return Err("use /mod rules list, add, remove or test".into());
            };
            let args = match &inner.value {
                CommandDataOptionValue::SubCommand(o) => o.as_slice(),
                _ => &[],
            };
            let need = |what: &str| format!("/mod rules {} needs `{what}`", inner.name);
            match inner.name.as_str() {
                "list" => Ok(ModCommand::RulesList),
                "add" => Ok(ModCommand::RulesAdd {
                    kind: string(args, "kind").ok_or_else(|| need("kind"))?,
                    value: string(args, "value").ok_or_else(|| need("value"))?,
                    list: string(args, "list"),
                    label: string(args, "label"),
                    severity: match opt(args, "severity") {
                        Some(CommandDataOptionValue::Number(n)) => Some(*n),
                        Some(CommandDataOptionValue::Integer(i)) => Some(*i as f64),
                        _ => None,
                    },
                }),
                "remove" => Ok(ModCommand::RulesRemove(
                    string(args, "kind").ok_or_else(|| need("kind"))?,
                    string(args, "value").ok_or_else(|| need("value"))?,
                )),
                "test" => Ok(ModCommand::RulesTest(
                    string(args, "text").ok_or_else(|| need("text"))?,
                )),
                other => Err(format!("unknown /mod rules {other}")),
            }
        }
        "config" => {
            let Some(inner) = sub.first() else {
                return Err("use /mod config show or /mod config set".into());
            };
            let args = match &inner.value {
                CommandDataOptionValue::SubCommand(o) => o.as_slice(),
                _ => &[],
            };
            match inner.name.as_str() {
                "show" => Ok(ModCommand::ConfigShow),
                "set" => {
                    let key = string(args, "key").ok_or_else(|| need("key"))?;
                    let value = string(args, "value").ok_or_else(|| need("value"))?;
                    Ok(ModCommand::ConfigSet(key, value))
                }
                other => Err(format!("unknown /mod config {other}")),
            }
        }
        other => Err(format!("unknown subcommand /mod {other}")),
    }
}

/// Handles a slash or context-menu command.
pub async fn on_command(service: &Arc<Moderation>, ctx: &Context, c: CommandInteraction) {
    let user = c.user.id.get();
    let Some(guild_id) = c.guild_id.map(|g| g.get()) else {
        let text = "Moderation commands work inside a server.".to_string();
        answer(&ctx.http, Target::Command(&c), async move { text }).await;
        return;
    };
    let who = access(service, guild_id, c.member.as_deref());
    if !service.within_command_budget(user).await {
        let text = "You are sending commands too fast; try again in a minute.".to_string();
        answer(&ctx.http, Target::Command(&c), async move { text }).await;
        return;
    }
    if c.data.name == super::manual::MODERATE {
        super::manual::on_user_menu(service, ctx, &c).await;
        return;
    }
    if let Some(first) = c.data.options.first() {
        if let (true, CommandDataOptionValue::SubCommandGroup(inner)) =
            (first.name == "config", &first.value)
        {
            if let Some(suggest) = inner.iter().find(|o| o.name == "suggest") {
                let args = match &suggest.value {
                    CommandDataOptionValue::SubCommand(a) => a.clone(),
                    _ => Vec::new(),
                };
                super::tuning::suggest(service, ctx, &c, &args).await;
                return;
            }
        }
        if let ("history", CommandDataOptionValue::SubCommand(args)) =
            (first.name.as_str(), &first.value)
        {
            if let Some(member) = super::opt_user(args, "user") {
                super::history::show(service, ctx, &c, member).await;
                return;
            }
        }
        if let ("raid", CommandDataOptionValue::SubCommandGroup(inner)) =
            (first.name.as_str(), &first.value)
        {
            super::raid::on_group(service, ctx, &c, inner).await;
            return;
        }
        if first.name == "appeals" {
            super::appeals::queue(service, ctx, &c).await;
            return;
        }
        if super::manual::SUBCOMMANDS.contains(&first.name.as_str()) {
            if let CommandDataOptionValue::SubCommand(args) = &first.value {
                let name = first.name.clone();
                super::manual::on_subcommand(service, ctx, &c, &name, args).await;
                return;
            }
        }
    }
    if c.data.name == CHECK_TOXICITY {
        let text = match c.data.target() {
            Some(ResolvedTarget::Message(m)) if who != Access::Member => {
                let service = service.clone();
                let content = m.content.clone();
                let author = m.author.id.get();
                answer(&ctx.http, Target::Command(&c), async move {
                    check_toxicity(&service, author, &content).await
                })
                .await;
                return;
            }
            Some(ResolvedTarget::Message(_)) => "Only moderators can check messages.".to_string(),
            _ => "Use this on a message.".to_string(),
        };
        answer(&ctx.http, Target::Command(&c), async move { text }).await;
        return;
    }
    let parsed = parse(&c.data.options);
    let service = service.clone();
    answer(&ctx.http, Target::Command(&c), async move {
        match parsed {
            Err(e) => e,
            Ok(cmd) => run(&service, guild_id, user, who, cmd).await,
        }
    })
    .await;
}

async fn check_toxicity(service: &Moderation, author: u64, content: &str) -> String {
    if content.trim().is_empty() {
        return "That message has no text to check.".into();
    }
    match service.check_text(content).await {
        Ok((scores, model)) => {
            let json = serde_json::to_value(&scores).unwrap_or_default();
            format!(
                "Scores for <@{author}>'s message ({model}): {}",
                top_scores(&json, 6)
            )
        }
        Err(e) => format!("Could not classify the message: {e}"),
    }
}

/// Runs a parsed `/mod` command for `user` in `guild_id`.
pub async fn run(
    service: &Moderation,
    guild_id: u64,
    user: u64,
    who: Access,
    cmd: ModCommand,
) -> String {
    let admin_only = matches!(
        cmd,
        ModCommand::ConfigSet(..)
            | ModCommand::DryRun(_)
            | ModCommand::RulesAdd { .. }
            | ModCommand::RulesRemove(..)
    );
    if who == Access::Member {
        return "You need Manage Messages or a moderator role to use /mod.".into();
    }
    if admin_only && who != Access::Admin {
        return "Only administrators (Administrator or Manage Server) can change settings.".into();
    }
    match cmd {
        ModCommand::Status => render_status(&service.status(guild_id).await),
        ModCommand::History(member) => history(service, guild_id, member).await,
        ModCommand::Case(n) => match service.case(guild_id, n).await {
            Ok(c) => describe_case(&c),
            Err(crate::moderation::ServiceError::NotFound(m)) => m,
            Err(e) => format!("Could not read case #{n}: {e}"),
        },
        ModCommand::Pardon(n, reason) => {
            let why = reason.unwrap_or_else(|| "pardoned by a moderator".into());
            match service.reverse_case(guild_id, n, user, &why).await {
                Ok(r) => format!(
                    "Case #{n} ({}) against <@{}> is reversed{}.",
                    r.case.action,
                    r.case.user_id,
                    match r.case.action {
                        CaseAction::Timeout => " and the timeout lifted",
                        CaseAction::Ban => " and the ban lifted",
                        _ => "",
                    }
                ),
                Err(e) => format!("Could not reverse case #{n}: {e}"),
            }
        }
        ModCommand::ConfigShow => config_show(service, guild_id),
        ModCommand::ConfigSet(key, value) => {
            config_set(service, guild_id, user, &key, &value).await
        }
        ModCommand::RulesList => service.rules_list(guild_id).join("\n"),
        ModCommand::RulesAdd {
            kind,
            value,
            list,
            label,
            severity,
        } => match service
            .add_rule(
                guild_id,
                user,
                &kind,
                &value,
                list.as_deref(),
                label.as_deref(),
                severity,
            )
            .await
        {
            Ok(said) => format!("{said} (recorded in the audit trail)."),
            Err(e) => format!("Not added: {e}"),
        },
        ModCommand::RulesRemove(kind, value) => {
            match service.remove_rule(guild_id, user, &kind, &value).await {
                Ok(said) => format!("{said} (recorded in the audit trail)."),
                Err(e) => format!("Not removed: {e}"),
            }
        }
        ModCommand::RulesTest(text) => {
            let r = service.test_rules(guild_id, &text);
            let lang = r.lang.as_deref().unwrap_or("not detected");
            if r.hits.is_empty() {
                format!("No rule matches (language: {lang}).")
            } else {
                let lines: Vec<String> = r
                    .hits
                    .iter()
                    .map(|h| {
                        format!(
                            "- rule {} matched `{}`: {} ({} {:.2})",
                            h.rule,
                            h.term,
                            h.action.as_str(),
                            h.label,
                            h.severity
                        )
                    })
                    .collect();
                format!("Language: {lang}\n{}", lines.join("\n"))
            }
        }
        ModCommand::DryRun(on) => {
            let v = if on { "on" } else { "off" };
            match service.set_setting(guild_id, user, "dry_run", v).await {
                Ok(_) => format!(
                    "Dry-run is {v}: {}",
                    if on {
                        "decisions are recorded and posted to the mod log, nothing is executed."
                    } else {
                        "the bot acts on its decisions."
                    }
                ),
                Err(e) => format!("Not changed: {e}"),
            }
        }
    }
}

/// `/mod status` in words.
fn render_status(s: &StatusSummary) -> String {
    let mut out = String::new();
    let up = s.uptime.as_secs();
    let _ = writeln!(
        out,
        "**usmca-bot** up {}h {}m · shards {} in this process",
        up / 3600,
        (up % 3600) / 60,
        s.shard_label
    );
    for shard in &s.shards {
        let latency = shard
            .latency
            .map_or_else(|| "n/a".to_string(), |l| format!("{} ms", l.as_millis()));
        let _ = writeln!(
            out,
            "· shard {}: {} (latency {latency})",
            shard.id, shard.stage
        );
    }
    for line in &s.other_processes {
        let _ = writeln!(out, "· {line}");
    }
    let m = &s.model;
    let last = m
        .since_last
        .map_or_else(|| "never".to_string(), |d| format!("{}s ago", d.as_secs()));
    let _ = writeln!(
        out,
        "Model `{}`: {} · queue {} · {} messages classified · last inference {last}",
        m.name,
        if m.loaded { "loaded" } else { "NOT loaded" },
        m.queue_depth,
        m.messages
    );
    let _ = writeln!(
        out,
        "Postgres: {}",
        match &s.postgres {
            Ok(t) => format!("ok ({} ms)", t.as_millis()),
            Err(e) => format!("FAILING: {e}"),
        }
    );
    let _ = writeln!(
        out,
        "Redis: {}",
        if s.redis_ok {
            "ok"
        } else {
            "unreachable: using in-process windows (state is not shared between processes)"
        }
    );
    let _ = writeln!(
        out,
        "Message writer: {} rows written, {} queued",
        s.writer.0, s.writer.1
    );
    let _ = writeln!(
        out,
        "Dry-run in this server: {}",
        if s.dry_run {
            "ON (nothing is executed)"
        } else {
            "off"
        }
    );
    if !s.restart_pending.is_empty() {
        let _ = writeln!(
            out,
            "Restart pending: {} changed since start and take effect after a restart",
            s.restart_pending.join(", ")
        );
    }
    out
}

async fn history(service: &Moderation, guild_id: u64, member: u64) -> String {
    match service.member_record(guild_id, member, 0).await {
        Ok(r) => super::history::render(member, &r).0,
        Err(e) => format!("Could not read the history of <@{member}>: {e}"),
    }
}

fn describe_case(c: &Case) -> String {
    let mut out = format!(
        "**Case #{}** · {} · <@{}>\nStatus: {}{}\nBy: {}\nCreated: {}\n",
        c.case_no,
        c.action,
        c.user_id,
        c.status,
        if c.dry_run { " (dry run)" } else { "" },
        c.actor_id
            .map_or_else(|| "usmca-bot (automatic)".into(), |a| format!("<@{a}>")),
        c.created_at.to_rfc3339()
    );
    if let Some(e) = c.expires_at {
        let _ = writeln!(out, "Expires: {}", e.to_rfc3339());
    }
    let _ = writeln!(out, "Scores: {}", top_scores(&c.scores, 6));
    let _ = writeln!(out, "Reason: {}", c.reason);
    if let Some(x) = &c.message_excerpt {
        let _ = writeln!(out, "Message: > {x}");
    }
    if let Some(n) = &c.error_note {
        let _ = writeln!(out, "Problems: {n}");
    }
    if let (Some(by), Some(at)) = (c.reversed_by, c.reversed_at) {
        let _ = writeln!(
            out,
            "Reversed by <@{by}> at {}: {}",
            at.to_rfc3339(),
            c.reversed_reason.as_deref().unwrap_or("")
        );
    }
    out
}

fn config_show(service: &Moderation, guild_id: u64) -> String {
    let (view, eff) = service.effective_settings(guild_id);
    let chan = |c: Option<u64>| c.map_or_else(|| "not set".to_string(), |c| format!("<#{c}>"));
    let ids = |v: &[u64]| {
        if v.is_empty() {
            "none".to_string()
        } else {
            v.iter().map(u64::to_string).collect::<Vec<_>>().join(", ")
        }
    };
    let t = eff.thresholds;
    let overridden = serde_json::to_string(&view.settings).unwrap_or_default();
    let target = service.guild_target(guild_id);
    let custom: Vec<&str> = NoticeKind::ALL
        .into_iter()
        .filter(|k| target.notices.overrides.template(*k).is_some())
        .map(NoticeKind::key)
        .collect();
    let variables = notices::VARIABLES
        .iter()
        .map(|(v, what)| format!("`{{{v}}}` {what}"))
        .collect::<Vec<_>>()
        .join("; ");
    format!(
        "Effective settings for this server\n\
         thresholds: warn {} · timeout {} · kick {} · ban {} · delete_at {} (message severity)\n\
         dry_run: {} · store_content: {} · content_retention: {}\n\
         mod_log_channel: {} · appeal_channel: {}\n\
         moderator_roles: {}\n\
         exemptions: roles {} · channels {} · users {}\n\
         notices: language {} ({}) · own templates: {}\n\
         {}\n\
         Server overrides: `{overridden}`\n\
         Settable keys: {}\n\
         Notice template variables: {variables}",
        t.warn,
        t.timeout,
        t.kick,
        t.ban,
        eff.enforcement.delete_at,
        eff.enforcement.dry_run,
        eff.storage.store_content,
        eff.storage.content_retention.raw(),
        chan(view.settings.mod_log_channel),
        chan(view.settings.appeal_channel),
        ids(&eff.discord.moderator_roles),
        ids(&eff.exemptions.roles),
        ids(&eff.exemptions.channels),
        ids(&eff.exemptions.users),
        target.notices.locale.code(),
        if target.notices.overrides.locale.is_some() {
            "set with notices.locale".to_string()
        } else if view.preferred_locale.is_empty() {
            "default".to_string()
        } else {
            format!("server language {}", view.preferred_locale)
        },
        if custom.is_empty() {
            "none".to_string()
        } else {
            custom.join(", ")
        },
        brigade_line(&eff.brigade),
        grouped_keys(service.settable_keys())
    )
}

/// Raid and brigade detection in effect, in one line.
fn brigade_line(b: &crate::config::BrigadeConfig) -> String {
    format!(
        "brigade: raid at {} joins in {} · coordinated {} in {} · harassment {} in {} · \
         duplicates {} in {} · lookback {} · quiet_period {} · slowmode {} · \
         new accounts timed out: {} ({})",
        b.join_surge_count,
        b.join_surge_window,
        b.coordinated_count,
        b.coordinated_window,
        b.harassment_count,
        b.harassment_window,
        b.duplicate_count,
        b.duplicate_window,
        b.lookback,
        b.quiet_period,
        b.slowmode,
        if b.timeout_new_accounts { "on" } else { "off" },
        b.participant_timeout
    )
}

/// The settable keys, those of one section together: `brigade.join_surge_count|join_surge_window`.
fn grouped_keys(keys: &[(&str, &str)]) -> String {
    let mut groups: Vec<(&str, Vec<&str>)> = Vec::new();
    for (key, _) in keys {
        let (section, rest) = match key.split_once('.') {
            Some((s, r)) if !key.starts_with("channel.") => (s, r),
            _ => (*key, ""),
        };
        match groups.iter_mut().find(|(s, _)| *s == section) {
            Some((_, rests)) if !rest.is_empty() => rests.push(rest),
            _ => groups.push((section, if rest.is_empty() { vec![] } else { vec![rest] })),
        }
    }
    groups
        .iter()
        .map(|(section, rests)| {
            if rests.is_empty() {
                (*section).to_string()
            } else {
                format!("{section}.{}", rests.join("|"))
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

async fn config_set(
    service: &Moderation,
    guild_id: u64,
    user: u64,
    key: &str,
    value: &str,
) -> String {
    match service.set_setting(guild_id, user, key, value).await {
        Ok(change) => format!(
            "Set `{key}` = `{value}` (settings version {}; recorded in the audit trail).",
            change.version
        ),
        Err(e) => format!("Not changed: {e}"),
    }
}

#[cfg(test)]
mod tests {
    use super::grouped_keys;

    #[test]
    fn settable_keys_are_listed_by_section() {
        let keys = [
            ("thresholds.warn", ""),
            ("thresholds.ban", ""),
            ("dry_run", ""),
            ("channel.<#channel>.thresholds.warn|timeout|kick|ban", ""),
            ("brigade.join_surge_count", ""),
            ("brigade.slowmode", ""),
        ];
        assert_eq!(
            grouped_keys(&keys),
            "thresholds.warn|ban, dry_run, channel.<#channel>.thresholds.warn|timeout|kick|ban, \
             brigade.join_surge_count|slowmode"
        );
        // Every key of the real list is in it.
        let all = grouped_keys(crate::domain::setting_keys::KEYS);
        assert!(
            all.contains("brigade.join_surge_count|join_surge_window|"),
            "{all}"
        );
    }
}
