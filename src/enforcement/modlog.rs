//! Mod-log posts: one embed per case, with buttons moderators use to reverse or confirm it. Pure.

use super::plan::{human_duration, ActRequest};
use crate::discord::limits::EmbedText;
use crate::discord::rest::{Button, ButtonStyle, OutgoingMessage};
use crate::domain::{CaseAction, CaseStatus};

/// `custom_id` prefix of the mod-log "Reverse" button; the case's database id follows.
pub const REVERSE_PREFIX: &str = "case-reverse:";
/// `custom_id` prefix of the mod-log "Confirm" button.
pub const CONFIRM_PREFIX: &str = "case-confirm:";

/// Embed colours by action: grey notes, amber warnings, orange timeouts, red kicks and bans.
fn colour(action: CaseAction, status: CaseStatus) -> u32 {
    if status == CaseStatus::Failed {
        return 0x99_00_00;
    }
    match action {
        CaseAction::Warn => 0xF1_C4_0F,
        CaseAction::Timeout => 0xE6_7E_22,
        CaseAction::Kick | CaseAction::Ban => 0xE7_4C_3C,
        CaseAction::Delete => 0x95_A5_A6,
        _ => 0x2E_CC_71,
    }
}

/// The highest scores as "insult 0.93 · toxic 0.88".
pub fn top_scores(scores: &serde_json::Value, n: usize) -> String {
    let mut pairs: Vec<(String, f64)> = scores
        .as_object()
        .map(|o| {
            o.iter()
                .filter_map(|(k, v)| v.as_f64().map(|f| (k.clone(), f)))
                .collect()
        })
        .unwrap_or_default();
    pairs.sort_by(|a, b| b.1.total_cmp(&a.1));
    if pairs.is_empty() {
        return "—".into();
    }
    pairs
        .iter()
        .take(n)
        .map(|(k, v)| format!("{k} {v:.2}"))
        .collect::<Vec<_>>()
        .join(" · ")
}

/// The mod-log message for a case: who, what, scores, reason, excerpt, outcome, and buttons.
pub fn case_post(
    req: &ActRequest,
    case_id: Option<i64>,
    case_no: Option<i64>,
    status: CaseStatus,
    problems: &[String],
) -> OutgoingMessage {
    let mut what = req.action.as_str().to_string();
    if let (CaseAction::Timeout, Some(t)) = (req.action, req.timeout) {
        what = format!("timeout ({})", human_duration(t));
    }
    let mut title = format!("Case {} · {what}", super::plan::case_label(case_no));
    if req.dry_run {
        title.push_str(" · dry run (not executed)");
    } else if status == CaseStatus::Failed {
        title.push_str(" · FAILED");
    }
    let actor = req.actor_id.map_or_else(
        || "usmca-bot (automatic)".to_string(),
        |a| format!("<@{a}>"),
    );
    let mut fields = vec![
        (
            "Member".into(),
            format!("<@{}> ({})", req.user_id, req.user_id),
            true,
        ),
        ("By".into(), actor, true),
        ("Scores".into(), top_scores(&req.scores, 3), false),
        ("Reason".into(), req.moderator_reason.clone(), false),
    ];
    if let Some((channel, message)) = req
        .delete
        .or(req.message_id.zip(req.notice_channel).map(|(m, c)| (c, m)))
    {
        fields.push(("Message".into(), format!("{message} in <#{channel}>"), true));
    }
    if let Some(text) = &req.excerpt {
        fields.push((
            "Excerpt".into(),
            format!("> {}", text.replace('\n', "\n> ")),
            false,
        ));
    }
    if !problems.is_empty() {
        fields.push(("Problems".into(), problems.join("\n"), false));
    }
    let embed = EmbedText {
        title: Some(title),
        description: Some(req.summary.clone()),
        fields,
        footer: Some(format!("status: {status}")),
        author: None,
    };
    let mut msg = OutgoingMessage {
        embed: Some(embed),
        embed_color: Some(colour(req.action, status)),
        ..OutgoingMessage::default()
    };
    // A journaled case has no id yet: its buttons come with the number, in `/mod case`.
    if let (false, false, Some(case_id)) = (req.dry_run, status == CaseStatus::Failed, case_id) {
        msg.buttons = vec![
            Button {
                label: "Reverse".into(),
                custom_id: format!("{REVERSE_PREFIX}{case_id}"),
                style: ButtonStyle::Danger,
            },
            Button {
                label: "Confirm".into(),
                custom_id: format!("{CONFIRM_PREFIX}{case_id}"),
                style: ButtonStyle::Success,
            },
        ];
    }
    msg
}

/// The case id in a mod-log button's `custom_id`, with whether it is a reversal.
pub fn parse_case_button(custom_id: &str) -> Option<(bool, i64)> {
    if let Some(id) = custom_id.strip_prefix(REVERSE_PREFIX) {
        return id.parse().ok().map(|id| (true, id));
    }
    custom_id
        .strip_prefix(CONFIRM_PREFIX)?
        .parse()
        .ok()
        .map(|id| (false, id))
}

/// Appeal review button prefixes; the appeal id follows.
pub const APPROVE_PREFIX: &str = "appeal-approve:";
/// Deny button prefix.
pub const DENY_PREFIX: &str = "appeal-deny:";

/// What an appeal review button asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReviewButton {
    /// Approve appeal N.
    Approve(i64),
    /// Deny appeal N.
    Deny(i64),
}

/// Reads an Approve / Deny button's `custom_id`.
pub fn parse_review_button(custom_id: &str) -> Option<ReviewButton> {
    let id = |prefix: &str| custom_id.strip_prefix(prefix)?.parse().ok();
    id(APPROVE_PREFIX)
        .map(ReviewButton::Approve)
        .or_else(|| id(DENY_PREFIX).map(ReviewButton::Deny))
}

/// The post that puts an appeal before the moderators, with Approve and Deny.
pub fn appeal_review_post(
    appeal_id: i64,
    case_no: i64,
    action: CaseAction,
    user: u64,
    text: &str,
    case_reason: &str,
) -> OutgoingMessage {
    OutgoingMessage {
        content: String::new(),
        embed: Some(EmbedText {
            title: Some(format!("Appeal #{appeal_id} · case #{case_no} ({action})")),
            description: Some(text.to_string()),
            fields: vec![
                ("Member".into(), format!("<@{user}> ({user})"), true),
                ("Case reason".into(), case_reason.to_string(), false),
            ],
            footer: Some(
                "Approve reverses the action; Deny keeps it. The member is told either way.".into(),
            ),
            author: None,
        }),
        embed_color: Some(0x34_98_DB),
        buttons: vec![
            Button {
                label: "Approve".into(),
                custom_id: format!("{APPROVE_PREFIX}{appeal_id}"),
                style: ButtonStyle::Success,
            },
            Button {
                label: "Deny".into(),
                custom_id: format!("{DENY_PREFIX}{appeal_id}"),
                style: ButtonStyle::Danger,
            },
        ],
        mention_users: Vec::new(),
        mention_roles: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn req() -> ActRequest {
        ActRequest {
            guild_id: 1,
            user_id: 42,
            action: CaseAction::Timeout,
            timeout: Some(Duration::from_secs(600)),
            delete: Some((7, 8)),
            message_id: Some(8),
            summary: "insult".into(),
            moderator_reason: "x".repeat(5_000),
            label: Some("insult".into()),
            grounds: Vec::new(),
            scores: serde_json::json!({"toxic": 0.9, "insult": 0.95, "threat": 0.1, "obscene": 0.2}),
            excerpt: Some("you idiot".into()),
            notice_channel: Some(7),
            actor_id: None,
            dry_run: false,
            key: None,
            ban_delete: None,
            behaviour_score: None,
        }
    }

    #[test]
    fn post_names_case_member_scores_and_fits_discord() {
        let m = case_post(&req(), Some(99), Some(5), CaseStatus::Applied, &[]);
        let e = m.embed.clone().unwrap_or_default().fit();
        assert!(e.within_limits());
        assert_eq!(e.title.as_deref(), Some("Case #5 · timeout (10m)"));
        let fields: Vec<_> = e.fields.iter().map(|f| f.0.as_str()).collect();
        assert!(fields.contains(&"Excerpt") && fields.contains(&"Message"));
        assert_eq!(top_scores(&req().scores, 2), "insult 0.95 · toxic 0.90");
        assert_eq!(m.buttons.len(), 2);
        assert_eq!(parse_case_button(&m.buttons[0].custom_id), Some((true, 99)));
        assert_eq!(
            parse_case_button(&m.buttons[1].custom_id),
            Some((false, 99))
        );
        assert!(m.to_json().is_ok());
    }

    #[test]
    fn dry_run_and_failed_cases_have_no_buttons() {
        let mut r = req();
        r.dry_run = true;
        let m = case_post(&r, Some(1), Some(1), CaseStatus::Applied, &[]);
        assert!(m.buttons.is_empty());
        assert!(m
            .embed
            .and_then(|e| e.title)
            .unwrap_or_default()
            .contains("dry run"));
        let m = case_post(
            &req(),
            Some(1),
            Some(1),
            CaseStatus::Failed,
            &["403".into()],
        );
        assert!(m.buttons.is_empty());
        assert_eq!(parse_case_button("appeal:1"), None);
    }
}
