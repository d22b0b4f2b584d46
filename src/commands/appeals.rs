//! Appeals and mod-log buttons.
//!
//! Appeal button (in the member's DM, `appeal:{case id}`) → modal → stored appeal (one open per
//! case) → post in the appeal-review channel with Approve / Deny → the decision is recorded,
//! the action reversed on approval, and the member told either way.

use super::reply::{answer, Target};
use super::{access, within_rate, Access};
use crate::daemon::Bot;
use crate::discord::limits::{truncate, EmbedText};
use crate::discord::rest::{parse_appeal_custom_id, Button, ButtonStyle, OutgoingMessage};
use crate::enforcement::modlog::parse_case_button;
use crate::storage::{AppealDecision, AuditEvent, CaseStatus, StorageError};
use serenity::all::{
    ActionRowComponent, ComponentInteraction, Context, CreateActionRow, CreateInputText,
    CreateInteractionResponse, CreateModal, InputTextStyle, ModalInteraction, UserId,
};
use std::sync::Arc;

/// Modal `custom_id` prefix; the case id follows.
pub const APPEAL_MODAL_PREFIX: &str = "appeal-modal:";
/// Review button prefixes; the appeal id follows.
pub const APPROVE_PREFIX: &str = "appeal-approve:";
/// Deny button prefix.
pub const DENY_PREFIX: &str = "appeal-deny:";
/// Longest appeal text kept.
pub const APPEAL_MAX_CHARS: u16 = 1_000;

fn id_after(custom_id: &str, prefix: &str) -> Option<i64> {
    custom_id.strip_prefix(prefix)?.parse().ok()
}

/// Handles a button click.
pub async fn on_component(bot: &Arc<Bot>, ctx: &Context, c: ComponentInteraction) {
    let id = c.data.custom_id.clone();
    let user = c.user.id.get();
    if !within_rate(bot, user).await {
        let text = "You are clicking too fast; try again in a minute.".to_string();
        answer(&ctx.http, Target::Component(&c), async move { text }).await;
        return;
    }
    if let Some(case_id) = parse_appeal_custom_id(&id) {
        open_appeal_form(bot, ctx, &c, case_id as i64).await;
        return;
    }
    let guild_id = c.guild_id.map(|g| g.get()).unwrap_or(0);
    let who = access(bot, guild_id, c.member.as_ref());
    let bot2 = bot.clone();
    let work = async move {
        if who == Access::Member {
            return "Only moderators can use these buttons.".to_string();
        }
        if let Some(appeal) = id_after(&id, APPROVE_PREFIX) {
            return review(&bot2, appeal, user, AppealDecision::Accept).await;
        }
        if let Some(appeal) = id_after(&id, DENY_PREFIX) {
            return review(&bot2, appeal, user, AppealDecision::Reject).await;
        }
        match parse_case_button(&id) {
            Some((true, case_id)) => reverse_from_log(&bot2, case_id, user).await,
            Some((false, case_id)) => confirm_from_log(&bot2, case_id, user).await,
            None => "This button is no longer handled.".to_string(),
        }
    };
    answer(&ctx.http, Target::Component(&c), work).await;
}

async fn open_appeal_form(bot: &Arc<Bot>, ctx: &Context, c: &ComponentInteraction, case_id: i64) {
    let problem = match bot.storage.case_by_id(case_id).await {
        Ok(Some(case)) if case.user_id != c.user.id.get() => {
            Some("Only the member this case is about can appeal it.".to_string())
        }
        Ok(Some(case)) if case.status == CaseStatus::Reversed => {
            Some(format!("Case #{} was already reversed.", case.case_no))
        }
        Ok(Some(_)) => None,
        Ok(None) => Some("This case no longer exists.".to_string()),
        Err(e) => Some(format!(
            "Could not open the appeal form right now ({e}); try again later."
        )),
    };
    if let Some(text) = problem {
        answer(&ctx.http, Target::Component(c), async move { text }).await;
        return;
    }
    let input = CreateInputText::new(
        InputTextStyle::Paragraph,
        "Why should this be reversed?",
        "appeal_text",
    )
    .max_length(APPEAL_MAX_CHARS)
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
pub async fn on_modal(bot: &Arc<Bot>, ctx: &Context, m: ModalInteraction) {
    let Some(case_id) = id_after(&m.data.custom_id, APPEAL_MODAL_PREFIX) else {
        let text = "This form is no longer handled.".to_string();
        answer(&ctx.http, Target::Modal(&m), async move { text }).await;
        return;
    };
    let text: String = m
        .data
        .components
        .iter()
        .flat_map(|row| row.components.iter())
        .find_map(|c| match c {
            ActionRowComponent::InputText(t) => t.value.clone(),
            _ => None,
        })
        .unwrap_or_default();
    let user = m.user.id.get();
    let bot2 = bot.clone();
    answer(&ctx.http, Target::Modal(&m), async move {
        file_appeal(&bot2, case_id, user, &text).await
    })
    .await;
}

async fn file_appeal(bot: &Bot, case_id: i64, user: u64, text: &str) -> String {
    let text = text.trim();
    if text.is_empty() {
        return "Your appeal was empty; press Appeal again and say why the decision was wrong."
            .into();
    }
    let text = truncate(text, usize::from(APPEAL_MAX_CHARS));
    let case = match bot.storage.case_by_id(case_id).await {
        Ok(Some(c)) => c,
        Ok(None) => return "This case no longer exists.".into(),
        Err(e) => {
            return format!(
                "Your appeal could not be saved right now ({e}); please try again later."
            )
        }
    };
    if case.user_id != user {
        return "Only the member this case is about can appeal it.".into();
    }
    let appeal = match bot
        .storage
        .create_appeal(case.guild_id, case.case_no, user, &text)
        .await
    {
        Ok(a) => a,
        Err(StorageError::Conflict(_)) => {
            return format!(
                "You already have an open appeal for case #{}; the moderators will answer it.",
                case.case_no
            )
        }
        Err(e) => {
            return format!(
                "Your appeal could not be saved right now ({e}); please try again later."
            )
        }
    };
    bot.metrics.appeals.with_label_values(&["filed"]).inc();
    let view = bot.guilds.get(case.guild_id);
    let channel = view
        .settings
        .appeal_channel
        .or(view.settings.mod_log_channel);
    match channel {
        Some(ch) => {
            let post = OutgoingMessage {
                content: String::new(),
                embed: Some(EmbedText {
                    title: Some(format!("Appeal #{} · case #{} ({})", appeal.appeal_id, case.case_no, case.action)),
                    description: Some(text.clone()),
                    fields: vec![
                        ("Member".into(), format!("<@{user}> ({user})"), true),
                        ("Case reason".into(), case.reason.clone(), false),
                    ],
                    footer: Some("Approve reverses the action; Deny keeps it. The member is told either way.".into()),
                    author: None,
                }),
                embed_color: Some(0x34_98_DB),
                buttons: vec![
                    Button { label: "Approve".into(), custom_id: format!("{APPROVE_PREFIX}{}", appeal.appeal_id), style: ButtonStyle::Success },
                    Button { label: "Deny".into(), custom_id: format!("{DENY_PREFIX}{}", appeal.appeal_id), style: ButtonStyle::Danger },
                ],
                mention_users: Vec::new(),
            };
            bot.executor.post(ch, &post).await;
        }
        None => tracing::warn!(guild = case.guild_id, "appeal stored but no appeal_channel or mod_log_channel is set; set one with /mod config set appeal_channel"),
    }
    format!(
        "Your appeal for case #{} was received. The moderators of {} will review it, and you will get a message with their decision.",
        case.case_no,
        bot.guilds.target(case.guild_id).name
    )
}

async fn review(bot: &Bot, appeal_id: i64, reviewer: u64, decision: AppealDecision) -> String {
    let note = match decision {
        AppealDecision::Accept => "approved",
        AppealDecision::Reject => "denied",
    };
    let appeal = match bot
        .storage
        .decide_appeal(appeal_id, reviewer, decision, note)
        .await
    {
        Ok(a) => a,
        Err(StorageError::Conflict(_)) => {
            return format!("Appeal #{appeal_id} was already decided.")
        }
        Err(e) => return format!("Could not record the decision on appeal #{appeal_id}: {e}"),
    };
    let target = bot.guilds.target(appeal.guild_id);
    let outcome = match decision {
        AppealDecision::Accept => {
            bot.metrics.appeals.with_label_values(&["accepted"]).inc();
            let why = format!("appeal #{appeal_id} approved");
            match bot
                .reverse_case(appeal.guild_id, appeal.case_no, reviewer, &why)
                .await
            {
                Ok(_) | Err(crate::enforcement::EnforcementError::Storage(StorageError::Conflict(_))) => {
                    format!("Your appeal for case #{} in {} was approved; the action was reversed.", appeal.case_no, target.name)
                }
                Err(e) => return format!("Appeal #{appeal_id} is approved, but reversing case #{} failed: {e}. Reverse it with /mod pardon.", appeal.case_no),
            }
        }
        AppealDecision::Reject => {
            bot.metrics.appeals.with_label_values(&["rejected"]).inc();
            format!(
                "Your appeal for case #{} in {} was reviewed and denied; the decision stands.",
                appeal.case_no, target.name
            )
        }
    };
    let uid = UserId::new(appeal.user_id.max(1));
    if let Err(e) = bot.executor.rest().dm_member(uid, &outcome, None).await {
        tracing::info!(user = appeal.user_id, error = %e, "appeal decision not delivered by DM");
    }
    format!(
        "Appeal #{appeal_id} {note}; <@{}> was told.",
        appeal.user_id
    )
}

async fn reverse_from_log(bot: &Bot, case_id: i64, by: u64) -> String {
    let case = match bot.storage.case_by_id(case_id).await {
        Ok(Some(c)) => c,
        Ok(None) => return "This case no longer exists.".into(),
        Err(e) => return format!("Could not read the case: {e}"),
    };
    match bot
        .reverse_case(case.guild_id, case.case_no, by, "reversed from the mod log")
        .await
    {
        Ok(_) => format!("Case #{} reversed.", case.case_no),
        Err(e) => format!("Could not reverse case #{}: {e}", case.case_no),
    }
}

async fn confirm_from_log(bot: &Bot, case_id: i64, by: u64) -> String {
    let case = match bot.storage.case_by_id(case_id).await {
        Ok(Some(c)) => c,
        Ok(None) => return "This case no longer exists.".into(),
        Err(e) => return format!("Could not read the case: {e}"),
    };
    let event = AuditEvent {
        guild_id: case.guild_id,
        kind: "case.confirmed".into(),
        actor_id: Some(by),
        target_id: Some(case.user_id),
        payload: serde_json::json!({ "case_no": case.case_no }),
    };
    match bot.storage.audit(&event).await {
        Ok(_) => format!(
            "Case #{} confirmed; recorded in the audit trail.",
            case.case_no
        ),
        Err(e) => format!("Could not record the confirmation: {e}"),
    }
}
