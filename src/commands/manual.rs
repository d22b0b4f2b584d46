//! A moderator's own actions: `/mod warn|timeout|kick|ban|unban|note <member> [reason]`,
//! `/mod reason <case> <text>`, and the "Moderate" user menu (Warn / Timeout / Kick / Ban
//! buttons, then a form for the reason). Each parses, works out the role positions from the
//! gateway's cache, calls [`Moderation::act_manually`] and renders.

use super::reply::{answer, Target};
use super::{access, opt_int, opt_string, opt_user};
use crate::config::DurationSpec;
use crate::domain::hierarchy::Ranks;
use crate::domain::CaseAction;
use crate::enforcement::plan::{case_label, human_duration};
use crate::moderation::{Access, ManualOutcome, ManualRequest, Moderation, ServiceError};
use serenity::all::CommandOptionType;
use serenity::all::{
    ActionRowComponent, ButtonStyle, CommandDataOption, CommandInteraction, ComponentInteraction,
    Context, CreateActionRow, CreateButton, CreateCommandOption, CreateInputText,
    CreateInteractionResponse, CreateInteractionResponseMessage, CreateModal, GuildId,
    InputTextStyle, ModalInteraction, ResolvedTarget, RoleId, UserId,
};
use std::sync::Arc;
use std::time::Duration;

/// Name of the user context-menu command.
pub const MODERATE: &str = "Moderate";
/// Button prefix: `moderate:{action}:{user}`.
pub const BUTTON_PREFIX: &str = "moderate:";
/// Form prefix: `moderate-form:{action}:{user}`.
pub const FORM_PREFIX: &str = "moderate-form:";

/// The subcommands this module answers.
pub const SUBCOMMANDS: &[&str] = &["warn", "timeout", "kick", "ban", "unban", "note", "reason"];

/// The `/mod` subcommands for a moderator's own actions.
pub fn subcommands() -> Vec<CreateCommandOption> {
    let sub = |name: &str, desc: &str| {
        CreateCommandOption::new(CommandOptionType::SubCommand, name, desc)
    };
    let member =
        || CreateCommandOption::new(CommandOptionType::User, "member", "The member").required(true);
    let reason = || {
        CreateCommandOption::new(
            CommandOptionType::String,
            "reason",
            "Why (the member reads it; kept in the case)",
        )
        .max_length(500)
    };
    vec![
        sub("warn", "Warn a member")
            .add_sub_option(member())
            .add_sub_option(reason()),
        sub(
            "timeout",
            "Time a member out (default: their next step on the ladder)",
        )
        .add_sub_option(member())
        .add_sub_option(CreateCommandOption::new(
            CommandOptionType::String,
            "duration",
            "e.g. 10m, 1h, 1d (at most 28d)",
        ))
        .add_sub_option(reason()),
        sub("kick", "Kick a member")
            .add_sub_option(member())
            .add_sub_option(reason()),
        sub("ban", "Ban a member")
            .add_sub_option(member())
            .add_sub_option(
                CreateCommandOption::new(
                    CommandOptionType::String,
                    "delete_messages",
                    "Delete their messages from the last…",
                )
                .add_string_choice("nothing", "0s")
                .add_string_choice("hour", "1h")
                .add_string_choice("day", "1d")
                .add_string_choice("7 days", "7d"),
            )
            .add_sub_option(reason()),
        sub("unban", "Lift a member's ban")
            .add_sub_option(member())
            .add_sub_option(reason()),
        sub("note", "Add a note to a member's record (no action)")
            .add_sub_option(member())
            .add_sub_option(
                CreateCommandOption::new(CommandOptionType::String, "text", "The note")
                    .required(true)
                    .max_length(500),
            ),
        sub("reason", "Change a case's reason")
            .add_sub_option(
                CreateCommandOption::new(CommandOptionType::Integer, "case", "Case number")
                    .required(true)
                    .min_int_value(1)
                    .set_autocomplete(true),
            )
            .add_sub_option(
                CreateCommandOption::new(CommandOptionType::String, "text", "The new reason")
                    .required(true)
                    .max_length(500),
            ),
    ]
}

fn action_of(name: &str) -> Option<CaseAction> {
    Some(match name {
        "warn" => CaseAction::Warn,
        "timeout" => CaseAction::Timeout,
        "kick" => CaseAction::Kick,
        "ban" => CaseAction::Ban,
        "unban" => CaseAction::Unban,
        "note" => CaseAction::Note,
        _ => return None,
    })
}

fn duration(text: Option<String>, what: &str) -> Result<Option<Duration>, String> {
    match text {
        None => Ok(None),
        Some(t) => DurationSpec::parse(t.trim())
            .get()
            .map(Some)
            .ok_or_else(|| format!("`{t}` is not a {what}; write e.g. 10m, 1h or 1d")),
    }
}

/// Role positions of the moderator, the member and the bot, from the gateway's cache; `None`
/// when the guild is not cached.
fn ranks(ctx: &Context, guild: GuildId, actor: (u64, &[RoleId]), target: u64) -> Option<Ranks> {
    let g = ctx.cache.guild(guild)?;
    let top = |roles: &[RoleId]| {
        roles
            .iter()
            .filter_map(|r| g.roles.get(r))
            .map(|r| i64::from(r.position))
            .max()
            .unwrap_or(0)
    };
    let bot = ctx.cache.current_user().id;
    let member_top = |user: UserId| g.members.get(&user).map(|m| top(&m.roles));
    Some(Ranks {
        actor: top(actor.1),
        actor_is_owner: g.owner_id.get() == actor.0,
        target: member_top(UserId::new(target.max(1))).unwrap_or(0),
        target_is_owner: g.owner_id.get() == target,
        // Not cached: leave the check to Discord (a refusal fails the case with its reason).
        bot: member_top(bot).unwrap_or(i64::MAX),
    })
}

fn render(action: CaseAction, target: u64, r: &Result<ManualOutcome, ServiceError>) -> String {
    match r {
        Ok(o) if o.status == crate::domain::CaseStatus::Failed => format!(
            "Case {} recorded, but Discord refused the {action} of <@{target}>: {}",
            case_label(o.case_no),
            o.problems.join("; ")
        ),
        Ok(o) => {
            let what = match (action, o.duration) {
                (CaseAction::Timeout, Some(d)) => format!("timed out for {}", human_duration(d)),
                (CaseAction::Warn, _) => "warned".into(),
                (CaseAction::Kick, _) => "kicked".into(),
                (CaseAction::Ban, _) => "banned".into(),
                (CaseAction::Unban, _) => "unbanned".into(),
                (CaseAction::Note, _) => "noted".into(),
                (other, _) => other.to_string(),
            };
            let mut text = format!("<@{target}> {what} (case {}).", case_label(o.case_no));
            if !o.problems.is_empty() {
                text.push_str(&format!(" Note: {}", o.problems.join("; ")));
            }
            text
        }
        Err(e) => format!("Not done: {e}"),
    }
}

/// Handles `/mod warn|timeout|kick|ban|unban|note|reason`.
pub async fn on_subcommand(
    service: &Arc<Moderation>,
    ctx: &Context,
    c: &CommandInteraction,
    name: &str,
    args: &[CommandDataOption],
) {
    let guild = c.guild_id.unwrap_or(GuildId::new(1));
    let actor = c.user.id.get();
    let who = access(service, guild.get(), c.member.as_deref());
    let service = service.clone();
    if who == Access::Member {
        let text = "You need Manage Messages or a moderator role to use /mod.".to_string();
        answer(&ctx.http, Target::Command(c), async move { text }).await;
        return;
    }
    if name == "reason" {
        let case = opt_int(args, "case");
        let text = opt_string(args, "text").unwrap_or_default();
        answer(&ctx.http, Target::Command(c), async move {
            let Some(case) = case else {
                return "/mod reason needs `case`".to_string();
            };
            match service
                .set_case_reason(guild.get(), case, actor, &text)
                .await
            {
                Ok(c) => format!("Case #{} now reads: {}", c.case_no, c.reason),
                Err(e) => format!("Not changed: {e}"),
            }
        })
        .await;
        return;
    }
    let Some(action) = action_of(name) else {
        return;
    };
    let Some(target) = opt_user(args, "member") else {
        let text = format!("/mod {name} needs `member`");
        answer(&ctx.http, Target::Command(c), async move { text }).await;
        return;
    };
    let parsed = (|| -> Result<(Option<Duration>, Option<Duration>), String> {
        Ok((
            duration(opt_string(args, "duration"), "duration")?,
            duration(opt_string(args, "delete_messages"), "duration")?,
        ))
    })();
    let (length, delete_messages) = match parsed {
        Ok(v) => v,
        Err(e) => {
            answer(&ctx.http, Target::Command(c), async move { e }).await;
            return;
        }
    };
    let roles: Vec<RoleId> = c
        .member
        .as_ref()
        .map(|m| m.roles.clone())
        .unwrap_or_default();
    let ranks = ranks(ctx, guild, (actor, &roles), target);
    let reason = opt_string(args, "reason").or_else(|| opt_string(args, "text"));
    let req = ManualRequest {
        guild_id: guild.get(),
        actor,
        target,
        action,
        duration: length,
        delete_messages,
        reason,
        ranks,
        channel: Some(c.channel_id.get()),
    };
    answer(&ctx.http, Target::Command(c), async move {
        render(action, target, &service.act_manually(req).await)
    })
    .await;
}

/// Handles the "Moderate" user menu: offers the actions as buttons.
pub async fn on_user_menu(service: &Arc<Moderation>, ctx: &Context, c: &CommandInteraction) {
    let guild = c.guild_id.map_or(0, |g| g.get());
    if access(service, guild, c.member.as_deref()) == Access::Member {
        let text = "Only moderators can moderate members.".to_string();
        answer(&ctx.http, Target::Command(c), async move { text }).await;
        return;
    }
    let Some(ResolvedTarget::User(user, _)) = c.data.target() else {
        let text = "Use this on a member.".to_string();
        answer(&ctx.http, Target::Command(c), async move { text }).await;
        return;
    };
    let target = user.id.get();
    let buttons: Vec<CreateButton> = [
        ("warn", "Warn", ButtonStyle::Secondary),
        ("timeout", "Timeout", ButtonStyle::Primary),
        ("kick", "Kick", ButtonStyle::Danger),
        ("ban", "Ban", ButtonStyle::Danger),
    ]
    .into_iter()
    .map(|(a, label, style)| {
        CreateButton::new(format!("{BUTTON_PREFIX}{a}:{target}"))
            .label(label)
            .style(style)
    })
    .collect();
    let msg = CreateInteractionResponseMessage::new()
        .content(format!(
            "Moderate <@{target}>: choose the action, then give the reason."
        ))
        .components(vec![CreateActionRow::Buttons(buttons)])
        .ephemeral(true);
    if let Err(e) = c
        .create_response(&ctx.http, CreateInteractionResponse::Message(msg))
        .await
    {
        tracing::warn!(error = %e, "could not answer the Moderate menu");
    }
}

fn parse_pair(rest: &str) -> Option<(CaseAction, u64)> {
    let (action, user) = rest.split_once(':')?;
    Some((action_of(action)?, user.parse().ok()?))
}

/// A Moderate button: opens the form for the reason (and the timeout's length).
pub async fn on_button(ctx: &Context, c: &ComponentInteraction) -> bool {
    let Some((action, target)) = c
        .data
        .custom_id
        .strip_prefix(BUTTON_PREFIX)
        .and_then(parse_pair)
    else {
        return false;
    };
    let mut rows = vec![CreateActionRow::InputText(
        CreateInputText::new(
            InputTextStyle::Paragraph,
            "Reason (the member reads it)",
            "reason",
        )
        .max_length(500)
        .required(false),
    )];
    if action == CaseAction::Timeout {
        rows.push(CreateActionRow::InputText(
            CreateInputText::new(
                InputTextStyle::Short,
                "Length, e.g. 1h (empty: the ladder)",
                "duration",
            )
            .max_length(10)
            .required(false),
        ));
    }
    let modal = CreateModal::new(
        format!("{FORM_PREFIX}{action}:{target}"),
        format!("{action} member"),
    )
    .components(rows);
    if let Err(e) = c
        .create_response(&ctx.http, CreateInteractionResponse::Modal(modal))
        .await
    {
        tracing::warn!(error = %e, "could not open the Moderate form");
    }
    true
}

/// The Moderate form: carries out the action.
pub async fn on_form(service: &Arc<Moderation>, ctx: &Context, m: &ModalInteraction) -> bool {
    let Some((action, target)) = m
        .data
        .custom_id
        .strip_prefix(FORM_PREFIX)
        .and_then(parse_pair)
    else {
        return false;
    };
    let field = |id: &str| {
        m.data
            .components
            .iter()
            .flat_map(|row| row.components.iter())
            .find_map(|c| match c {
                ActionRowComponent::InputText(t) if t.custom_id == id => t.value.clone(),
                _ => None,
            })
            .filter(|v| !v.trim().is_empty())
    };
    let guild = m.guild_id.unwrap_or(GuildId::new(1));
    let actor = m.user.id.get();
    if access(service, guild.get(), m.member.as_ref()) == Access::Member {
        let text = "Only moderators can moderate members.".to_string();
        answer(&ctx.http, Target::Modal(m), async move { text }).await;
        return true;
    }
    let length = match duration(field("duration"), "duration") {
        Ok(d) => d,
        Err(e) => {
            answer(&ctx.http, Target::Modal(m), async move { e }).await;
            return true;
        }
    };
    let roles: Vec<RoleId> = m
        .member
        .as_ref()
        .map(|mm| mm.roles.clone())
        .unwrap_or_default();
    let req = ManualRequest {
        guild_id: guild.get(),
        actor,
        target,
        action,
        duration: length,
        delete_messages: None,
        reason: field("reason"),
        ranks: ranks(ctx, guild, (actor, &roles), target),
        channel: Some(m.channel_id.get()),
    };
    let service = service.clone();
    answer(&ctx.http, Target::Modal(m), async move {
        render(action, target, &service.act_manually(req).await)
    })
    .await;
    true
}
