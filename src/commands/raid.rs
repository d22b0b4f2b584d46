//! `/mod raid status` and `/mod raid lockdown on|off`.

use super::reply::{answer, Target};
use super::{access, opt_string};
use crate::domain::setting_keys::parse_bool;
use crate::moderation::{Access, LockdownReport, Moderation};
use serenity::all::{
    CommandDataOption, CommandDataOptionValue, CommandInteraction, CommandOptionType, Context,
    CreateCommandOption,
};
use std::fmt::Write as _;
use std::sync::Arc;

/// The `/mod raid` group.
pub fn group() -> CreateCommandOption {
    CreateCommandOption::new(CommandOptionType::SubCommandGroup, "raid", "Raid controls")
        .add_sub_option(CreateCommandOption::new(
            CommandOptionType::SubCommand,
            "status",
            "Open incidents, locked and slowed channels",
        ))
        .add_sub_option(
            CreateCommandOption::new(
                CommandOptionType::SubCommand,
                "lockdown",
                "Close the lockdown_channels to @everyone, or open them as they were",
            )
            .add_sub_option(
                CreateCommandOption::new(CommandOptionType::String, "state", "on or off")
                    .required(true)
                    .add_string_choice("on", "on")
                    .add_string_choice("off", "off"),
            ),
        )
}

fn render(on: bool, r: &LockdownReport) -> String {
    let list = |v: &[u64]| {
        v.iter()
            .map(|c| format!("<#{c}>"))
            .collect::<Vec<_>>()
            .join(" ")
    };
    let mut out = if on {
        format!("Lockdown on: {} closed to @everyone.", list(&r.changed))
    } else {
        format!(
            "Lockdown off: {} open again, as they were.",
            list(&r.changed)
        )
    };
    if !r.unchanged.is_empty() {
        let _ = write!(out, " Already locked: {}.", list(&r.unchanged));
    }
    for (c, e) in &r.failed {
        let _ = write!(
            out,
            "\n<#{c}>: Discord refused ({e}); check the bot's Manage Channels permission there"
        );
    }
    if r.changed.is_empty() && r.failed.is_empty() && !on {
        out = "No channel is locked down.".into();
    }
    out
}

/// Handles `/mod raid …`.
pub async fn on_group(
    service: &Arc<Moderation>,
    ctx: &Context,
    c: &CommandInteraction,
    inner: &[CommandDataOption],
) {
    let guild = c.guild_id.map_or(0, |g| g.get());
    let actor = c.user.id.get();
    let who = access(service, guild, c.member.as_deref());
    let Some(sub) = inner.first() else {
        return;
    };
    let args = match &sub.value {
        CommandDataOptionValue::SubCommand(a) => a.clone(),
        _ => Vec::new(),
    };
    let name = sub.name.clone();
    let service = service.clone();
    answer(&ctx.http, Target::Command(c), async move {
        if who == Access::Member {
            return "You need Manage Messages or a moderator role to use /mod.".to_string();
        }
        match name.as_str() {
            "status" => match service.raid_status(guild).await {
                Ok(s) => {
                    let mut out = match s.incidents.len() {
                        0 => "No open incident.\n".to_string(),
                        n => format!("{n} open incident(s):\n"),
                    };
                    for i in &s.incidents {
                        let _ = writeln!(
                            out,
                            "· {} since <t:{}:R>, {} participants",
                            i.kind.replace('_', " "),
                            i.window_start.timestamp(),
                            i.participants.len()
                        );
                    }
                    let chans = |v: &[u64]| {
                        v.iter()
                            .map(|c| format!("<#{c}>"))
                            .collect::<Vec<_>>()
                            .join(" ")
                    };
                    let _ = writeln!(
                        out,
                        "Locked down: {}",
                        if s.locked.is_empty() {
                            "none".into()
                        } else {
                            chans(&s.locked)
                        }
                    );
                    let _ = writeln!(
                        out,
                        "Slow-mode: {}",
                        if s.slowed.is_empty() {
                            "none".into()
                        } else {
                            chans(&s.slowed)
                        }
                    );
                    out
                }
                Err(e) => format!("Could not read the raid status: {e}"),
            },
            "lockdown" => {
                let Some(on) = opt_string(&args, "state").and_then(|s| parse_bool(&s).ok()) else {
                    return "/mod raid lockdown needs `state`: on or off".to_string();
                };
                match service.lockdown(guild, actor, on).await {
                    Ok(r) => render(on, &r),
                    Err(e) => format!("Not done: {e}"),
                }
            }
            other => format!("unknown /mod raid {other}"),
        }
    })
    .await;
}

/// An alert's raid button (asks to confirm) or its confirmation (acts); `false` when the click
/// is neither.
pub async fn on_button(
    service: &Arc<Moderation>,
    ctx: &Context,
    c: &serenity::all::ComponentInteraction,
) -> bool {
    use crate::enforcement::incidents::{RAID_BUTTON_PREFIX, RAID_CONFIRM_PREFIX};
    use crate::moderation::RaidAction;
    use serenity::all::{
        ButtonStyle, CreateActionRow, CreateButton, CreateInteractionResponse,
        CreateInteractionResponseMessage,
    };
    let id = c.data.custom_id.as_str();
    let (confirmed, rest) = if let Some(r) = id.strip_prefix(RAID_CONFIRM_PREFIX) {
        (true, r)
    } else if let Some(r) = id.strip_prefix(RAID_BUTTON_PREFIX) {
        (false, r)
    } else {
        return false;
    };
    let Some((action, incident)) = rest
        .split_once(':')
        .and_then(|(a, i)| Some((RaidAction::parse(a)?, i.to_string())))
    else {
        return false;
    };
    let guild = c.guild_id.map_or(0, |g| g.get());
    let who = access(service, guild, c.member.as_ref());
    if who == Access::Member {
        let text = "Only moderators can use the raid controls.".to_string();
        answer(&ctx.http, Target::Component(c), async move { text }).await;
        return true;
    }
    if !confirmed {
        let count = service
            .raid_participants(guild, &incident)
            .await
            .unwrap_or(0);
        let what = match action {
            RaidAction::End => "End the incident and restore its channels' slow-mode?".to_string(),
            RaidAction::Release => "Lift the timeouts this incident gave?".to_string(),
            RaidAction::Kick => {
                format!("Kick the {count} participants (exempt members are spared)?")
            }
            RaidAction::Ban => format!("Ban the {count} participants (exempt members are spared)?"),
        };
        let msg = CreateInteractionResponseMessage::new()
            .content(what)
            .components(vec![CreateActionRow::Buttons(vec![CreateButton::new(
                format!("{RAID_CONFIRM_PREFIX}{}:{incident}", action.as_str()),
            )
            .label("Confirm")
            .style(ButtonStyle::Danger)])])
            .ephemeral(true);
        if let Err(e) = c
            .create_response(&ctx.http, CreateInteractionResponse::Message(msg))
            .await
        {
            tracing::warn!(error = %e, "could not ask to confirm a raid control");
        }
        return true;
    }
    let actor = c.user.id.get();
    let service = service.clone();
    answer(&ctx.http, Target::Component(c), async move {
        match service.raid_action(guild, actor, &incident, action).await {
            Ok(r) => {
                let mut out = match action {
                    RaidAction::End if r.ended => {
                        format!("Incident {incident} ended; slow-mode restored.")
                    }
                    RaidAction::End => {
                        format!("Incident {incident} had ended already; slow-mode restored.")
                    }
                    RaidAction::Release => format!("{} timeouts lifted.", r.done.len()),
                    RaidAction::Kick => format!("{} participants kicked.", r.done.len()),
                    RaidAction::Ban => format!("{} participants banned.", r.done.len()),
                };
                if !r.spared.is_empty() {
                    let _ = write!(out, " {} exempt members spared.", r.spared.len());
                }
                for (u, e) in r.failed.iter().take(5) {
                    let _ = write!(out, "\n<@{u}>: {e}");
                }
                out
            }
            Err(e) => format!("Not done: {e}"),
        }
    })
    .await;
    true
}
