//! Appeals and mod-log buttons.
//!
//! Appeal button (in the member's DM, `appeal:{case id}`) → modal → stored appeal (one open per
//! case) → post in the appeal-review channel with Approve / Deny → the decision is recorded,
//! the action reversed on approval, and the member told either way.

use super::access;
use super::reply::{answer, Target};
use crate::discord::limits::truncate;
use crate::discord::rest::AppealRef;
use crate::domain::AppealDecision;
use crate::enforcement::modlog::{
    parse_case_button, parse_review_button, ReviewButton, APPROVE_PREFIX, DENY_PREFIX,
};
use crate::moderation::{Access, Moderation};
use serenity::all::{
    ActionRowComponent, CommandInteraction, ComponentInteraction, Context, CreateActionRow,
    CreateButton, CreateInputText, CreateInteractionResponse, CreateInteractionResponseMessage,
    CreateModal, InputTextStyle, ModalInteraction,
};
use std::sync::Arc;

/// Modal `custom_id` prefix; the case id follows.
pub const APPEAL_MODAL_PREFIX: &str = "appeal-modal:";
/// The deny form's `custom_id` prefix; the appeal id follows.
pub const DENY_FORM_PREFIX: &str = "appeal-deny-form:";

fn id_after(custom_id: &str, prefix: &str) -> Option<i64> {
    custom_id.strip_prefix(prefix)?.parse().ok()
}

/// Handles a button click.
pub async fn on_component(service: &Arc<Moderation>, ctx: &Context, c: ComponentInteraction) {
    let id = c.data.custom_id.clone();
    let user = c.user.id.get();
    if !service.within_command_budget(user).await {
        let text = "You are clicking too fast; try again in a minute.".to_string();
        answer(&ctx.http, Target::Component(&c), async move { text }).await;
        return;
    }
    if super::manual::on_button(ctx, &c).await
        || super::tuning::on_button(service, ctx, &c).await
        || super::history::on_button(service, ctx, &c).await
        || super::raid::on_button(service, ctx, &c).await
    {
        return;
    }
    match AppealRef::parse(&id) {
        Some(AppealRef::Case(case_id)) => {
            open_appeal_form(service, ctx, &c, case_id as i64).await;
            return;
        }
        Some(AppealRef::Key { guild, key }) => {
            // Recorded while Postgres was down: the case has an id once the journal is replayed.
            match service.case_by_key(guild, &key).await {
                Ok(case) => open_appeal_form(service, ctx, &c, case.case_id).await,
                Err(_) => {
                    let text = "Your case is still being recorded (the bot's database was briefly unavailable); press Appeal again in a few minutes.".to_string();
                    answer(&ctx.http, Target::Component(&c), async move { text }).await;
                }
            }
            return;
        }
        None => {}
    }
    let guild_id = c.guild_id.map(|g| g.get()).unwrap_or(0);
    let who = access(service, guild_id, c.member.as_ref());
    // Deny asks for the reason the member will read.
    if let (Some(ReviewButton::Deny(appeal)), false) =
        (parse_review_button(&id), who == Access::Member)
    {
        let input = CreateInputText::new(
            InputTextStyle::Paragraph,
            "Why is it denied? (the member reads this)",
            "deny_reason",
        )
        .max_length(1_000)
        .required(true);
        let modal = CreateModal::new(format!("{DENY_FORM_PREFIX}{appeal}"), "Deny appeal")
            .components(vec![CreateActionRow::InputText(input)]);
        if let Err(e) = c
            .create_response(&ctx.http, CreateInteractionResponse::Modal(modal))
            .await
        {
            tracing::warn!(error = %e, "could not open the deny form");
        }
        return;
    }
    let service = service.clone();
    let work = async move {
        if who == Access::Member {
            return "Only moderators can use these buttons.".to_string();
        }
        match parse_review_button(&id) {
            Some(ReviewButton::Approve(appeal)) => {
                return review(&service, appeal, user, AppealDecision::Accept, None).await
            }
            // Handled above for moderators.
            Some(ReviewButton::Deny(_)) | None => {}
        }
        match parse_case_button(&id) {
            Some((true, case_id)) => {
                match service
                    .reverse_case_by_id(case_id, user, "reversed from the mod log")
                    .await
                {
                    Ok(r) => format!("Case #{} reversed.", r.case.case_no),
                    Err(e) => format!("Could not reverse the case: {e}"),
                }
            }
            Some((false, case_id)) => match service.confirm_case(case_id, user).await {
                Ok(case) => format!(
                    "Case #{} confirmed; recorded in the audit trail.",
                    case.case_no
                ),
                Err(e) => format!("Could not record the confirmation: {e}"),
            },
            None => "This button is no longer handled.".to_string(),
        }
    };
    answer(&ctx.http, Target::Component(&c), work).await;
}

async fn open_appeal_form(
    service: &Moderation,
    ctx: &Context,
    c: &ComponentInteraction,
    case_id: i64,
) {
    let form = match service.appeal_form(case_id, c.user.id.get()).await {
        Ok(f) => f,
        Err(e) => {
            let text = match e {
                crate::moderation::ServiceError::Storage(e) => {
                    format!("Could not open the appeal form right now ({e}); try again later.")
                }
                other => other.to_string(),
            };
            answer(&ctx.http, Target::Component(c), async move { text }).await;
            return;
        }
    };
    let input = CreateInputText::new(
        InputTextStyle::Paragraph,
        "Why should this be reversed?",
        "appeal_text",
    )
    .max_length(u16::try_from(form.max_chars).unwrap_or(u16::MAX))
    .required(true);
    let modal = CreateModal::new(format!("{APPEAL_MODAL_PREFIX}{case_id}"), "Appeal")
        .components(vec![CreateActionRow::InputText(input)]);
    if let Err(e) = c
        .create_response(&ctx.http, CreateInteractionResponse::Modal(modal))
        .await
    {
        tracing::warn!(error = %e, "could not open the appeal form");
    }
}

/// Handles a modal submit (the appeal text).
pub async fn on_modal(service: &Arc<Moderation>, ctx: &Context, m: ModalInteraction) {
    if super::manual::on_form(service, ctx, &m).await {
        return;
    }
    if let Some(appeal) = id_after(&m.data.custom_id, DENY_FORM_PREFIX) {
        let guild_id = m.guild_id.map_or(0, |g| g.get());
        let who = access(service, guild_id, m.member.as_ref());
        let reason = form_text(&m);
        let reviewer = m.user.id.get();
        let service = service.clone();
        answer(&ctx.http, Target::Modal(&m), async move {
            if who == Access::Member {
                return "Only moderators can decide appeals.".to_string();
            }
            review(
                &service,
                appeal,
                reviewer,
                AppealDecision::Reject,
                Some(&reason),
            )
            .await
        })
        .await;
        return;
    }
    let Some(case_id) = id_after(&m.data.custom_id, APPEAL_MODAL_PREFIX) else {
        let text = "This form is no longer handled.".to_string();
        answer(&ctx.http, Target::Modal(&m), async move { text }).await;
        return;
    };
    let text = form_text(&m);
    let user = m.user.id.get();
    let service = service.clone();
    answer(&ctx.http, Target::Modal(&m), async move {
        match service.file_appeal(case_id, user, &text).await {
            Ok(filed) => format!(
                "Your appeal for case #{} was received. The moderators of {} will review it, and you will get a message with their decision.",
                filed.appeal.case_no, filed.guild_name
            ),
            Err(crate::moderation::ServiceError::Storage(e)) => format!(
                "Your appeal could not be saved right now ({e}); please try again later."
            ),
            Err(e) => e.to_string(),
        }
    })
    .await;
}

/// The first text input of a submitted form.
fn form_text(m: &ModalInteraction) -> String {
    m.data
        .components
        .iter()
        .flat_map(|row| row.components.iter())
        .find_map(|c| match c {
            ActionRowComponent::InputText(t) => t.value.clone(),
            _ => None,
        })
        .unwrap_or_default()
}

/// `/mod appeals`: the open appeals, oldest first, each with Approve and Deny.
pub async fn queue(service: &Arc<Moderation>, ctx: &Context, c: &CommandInteraction) {
    let guild_id = c.guild_id.map_or(0, |g| g.get());
    if access(service, guild_id, c.member.as_deref()) == Access::Member {
        let text = "You need Manage Messages or a moderator role to use /mod.".to_string();
        answer(&ctx.http, Target::Command(c), async move { text }).await;
        return;
    }
    let appeals = match service.open_appeals(guild_id).await {
        Ok(a) => a,
        Err(e) => {
            let text = format!("Could not read the appeals: {e}");
            answer(&ctx.http, Target::Command(c), async move { text }).await;
            return;
        }
    };
    // Discord allows 5 rows of buttons: the 5 oldest get theirs; the count says how many wait.
    let shown = appeals.len().min(5);
    let mut text = match appeals.len() {
        0 => "No open appeals.".to_string(),
        n => format!(
            "{n} open appeal{} (oldest first):\n",
            if n == 1 { "" } else { "s" }
        ),
    };
    let mut rows = Vec::new();
    for (a, case) in appeals.iter().take(shown) {
        let what = case.as_ref().map_or_else(
            || "?".to_string(),
            |c| format!("{} · {}", c.action, truncate(&c.reason, 80)),
        );
        text.push_str(&format!(
            "**#{}** · case #{} ({what}) · <@{}> · filed <t:{}:R>\n> {}\n",
            a.appeal_id,
            a.case_no,
            a.user_id,
            a.created_at.timestamp(),
            truncate(a.body.as_deref().unwrap_or("(redacted)"), 300).replace('\n', "\n> ")
        ));
        rows.push(CreateActionRow::Buttons(vec![
            CreateButton::new(format!("{APPROVE_PREFIX}{}", a.appeal_id))
                .label(format!("Approve #{}", a.appeal_id))
                .style(serenity::all::ButtonStyle::Success),
            CreateButton::new(format!("{DENY_PREFIX}{}", a.appeal_id))
                .label(format!("Deny #{}", a.appeal_id))
                .style(serenity::all::ButtonStyle::Danger),
        ]));
    }
    if appeals.len() > shown {
        text.push_str(&format!("…and {} more after these.", appeals.len() - shown));
    }
    let msg = CreateInteractionResponseMessage::new()
        .content(crate::discord::limits::truncate_message(&text))
        .components(rows)
        .ephemeral(true);
    if let Err(e) = c
        .create_response(&ctx.http, CreateInteractionResponse::Message(msg))
        .await
    {
        tracing::warn!(error = %e, "could not answer /mod appeals");
    }
}

async fn review(
    service: &Moderation,
    appeal_id: i64,
    reviewer: u64,
    decision: AppealDecision,
    reason: Option<&str>,
) -> String {
    let note = match decision {
        AppealDecision::Accept => "approved",
        AppealDecision::Reject => "denied",
    };
    match service.decide_appeal(appeal_id, reviewer, decision, reason).await {
        Ok(r) => match r.reversal_failed {
            Some(e) => format!(
                "Appeal #{appeal_id} is approved, but reversing case #{} failed: {e}. Reverse it with /mod pardon.",
                r.appeal.case_no
            ),
            None if r.member_told => format!(
                "Appeal #{appeal_id} {note}; <@{}> was told.",
                r.appeal.user_id
            ),
            None => format!(
                "Appeal #{appeal_id} {note}; <@{}> could not be told by DM (closed DMs or no shared server).",
                r.appeal.user_id
            ),
        },
        Err(crate::moderation::ServiceError::Conflict(m)) => m,
        Err(e) => format!("Could not record the decision on appeal #{appeal_id}: {e}"),
    }
}
