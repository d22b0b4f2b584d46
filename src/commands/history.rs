//! `/mod history <member>`: the member's cases page by page (Older / Newer buttons), their
//! active strikes and when each fades, and their recent flagged messages.

use super::access;
use super::reply::{answer, Target};
use crate::discord::limits::{truncate, truncate_message};
use crate::moderation::{Access, MemberRecord, Moderation};
use serenity::all::{
    ButtonStyle, CommandInteraction, ComponentInteraction, Context, CreateActionRow, CreateButton,
    CreateInteractionResponse, CreateInteractionResponseMessage,
};
use std::fmt::Write as _;
use std::sync::Arc;

/// Page button prefix: `history:{user}:{page}`.
pub const PREFIX: &str = "history:";

/// The record as text, and its page buttons.
pub(super) fn render(member: u64, r: &MemberRecord) -> (String, Vec<CreateActionRow>) {
    let mut out = format!("History of <@{member}>\n");
    if let Some(m) = &r.history.member {
        let _ = writeln!(
            out,
            "Joined {} · account created {} · {} messages seen",
            m.joined_at
                .map_or_else(|| "unknown".into(), |t| format!("<t:{}:D>", t.timestamp())),
            format_args!("<t:{}:D>", m.account_created_at.timestamp()),
            m.message_count
        );
    }
    if r.strikes.is_empty() {
        out.push_str("No active strikes.\n");
    } else {
        let _ = writeln!(out, "Active strike points: {:.1}", r.strike_points);
        for s in r.strikes.iter().take(5) {
            let _ = writeln!(
                out,
                "· {:.1} of {:.0} points from <t:{}:R>, fades <t:{}:R>",
                s.now,
                s.points,
                s.at.timestamp(),
                s.fades_at.timestamp()
            );
        }
    }
    if r.total_cases == 0 {
        out.push_str("No cases.\n");
    } else {
        let _ = writeln!(
            out,
            "Cases ({} in all, page {} of {}):",
            r.total_cases,
            r.page + 1,
            r.pages
        );
    }
    for c in &r.history.cases {
        let _ = writeln!(
            out,
            "#{} {} · <t:{}:f> · {}{} · {}",
            c.case_no,
            c.action,
            c.created_at.timestamp(),
            c.status,
            if c.dry_run { " (dry run)" } else { "" },
            truncate(&c.reason, 120)
        );
    }
    let flagged: Vec<_> = r
        .history
        .messages
        .iter()
        .filter(|m| m.decision != "none")
        .collect();
    let _ = writeln!(
        out,
        "{} recent messages stored, {} acted on.",
        r.history.messages.len(),
        flagged.len()
    );
    for m in flagged.iter().take(3) {
        if let Some(text) = &m.content {
            let _ = writeln!(out, "> {} ({})", truncate(text, 100), m.decision);
        }
    }
    let mut buttons = Vec::new();
    if r.page > 0 {
        buttons.push(
            CreateButton::new(format!("{PREFIX}{member}:{}", r.page - 1))
                .label("Newer")
                .style(ButtonStyle::Secondary),
        );
    }
    if r.page + 1 < r.pages {
        buttons.push(
            CreateButton::new(format!("{PREFIX}{member}:{}", r.page + 1))
                .label("Older")
                .style(ButtonStyle::Secondary),
        );
    }
    let rows = if buttons.is_empty() {
        Vec::new()
    } else {
        vec![CreateActionRow::Buttons(buttons)]
    };
    (truncate_message(&out), rows)
}

/// Page `number` of a member's record as a message with its buttons.
async fn page(
    service: &Moderation,
    guild: u64,
    member: u64,
    number: i64,
) -> CreateInteractionResponseMessage {
    match service.member_record(guild, member, number).await {
        Ok(r) => {
            let (text, rows) = render(member, &r);
            CreateInteractionResponseMessage::new()
                .content(text)
                .components(rows)
        }
        Err(e) => CreateInteractionResponseMessage::new()
            .content(format!("Could not read the history of <@{member}>: {e}")),
    }
}

/// Handles `/mod history <member>`.
pub async fn show(service: &Arc<Moderation>, ctx: &Context, c: &CommandInteraction, member: u64) {
    let guild = c.guild_id.map_or(0, |g| g.get());
    if access(service, guild, c.member.as_deref()) == Access::Member {
        let text = "You need Manage Messages or a moderator role to use /mod.".to_string();
        answer(&ctx.http, Target::Command(c), async move { text }).await;
        return;
    }
    let msg = page(service, guild, member, 0).await;
    if let Err(e) = c
        .create_response(
            &ctx.http,
            CreateInteractionResponse::Message(msg.ephemeral(true)),
        )
        .await
    {
        tracing::warn!(error = %e, "could not answer /mod history");
    }
}

/// An Older / Newer button: the page replaces the message; `false` when the click is not one.
pub async fn on_button(service: &Arc<Moderation>, ctx: &Context, c: &ComponentInteraction) -> bool {
    let Some((member, number)) = c
        .data
        .custom_id
        .strip_prefix(PREFIX)
        .and_then(|rest| rest.split_once(':'))
        .and_then(|(m, p)| Some((m.parse::<u64>().ok()?, p.parse::<i64>().ok()?)))
    else {
        return false;
    };
    let guild = c.guild_id.map_or(0, |g| g.get());
    if access(service, guild, c.member.as_ref()) == Access::Member {
        let text = "Only moderators can use these buttons.".to_string();
        answer(&ctx.http, Target::Component(c), async move { text }).await;
        return true;
    }
    let msg = page(service, guild, member, number).await;
    if let Err(e) = c
        .create_response(&ctx.http, CreateInteractionResponse::UpdateMessage(msg))
        .await
    {
        tracing::warn!(error = %e, "could not page the history");
    }
    true
}
