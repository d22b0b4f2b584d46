//! What an action consists of on Discord, in which order, and what the member is told. Pure.

use crate::decision::{Action, Decision};
use crate::domain::notices::{self, Locale, NoticeFacts, NoticeKind};
use crate::domain::{CaseAction, Ground, NoticeOverrides};
use std::time::Duration;

/// One automatic or moderator action against a member, ready to execute.
#[derive(Debug, Clone, PartialEq)]
pub struct ActRequest {
    /// Guild.
    pub guild_id: u64,
    /// Member.
    pub user_id: u64,
    /// What the case records: warn, delete, timeout, kick or ban.
    pub action: CaseAction,
    /// Timeout length (for `timeout`).
    pub timeout: Option<Duration>,
    /// The offending message to delete: (channel, message).
    pub delete: Option<(u64, u64)>,
    /// The triggering message, recorded in the case even when it is not deleted.
    pub message_id: Option<u64>,
    /// One line for moderators: the mod log's description and the audit-log header.
    pub summary: String,
    /// Detailed reason for moderators and the audit-log header.
    pub moderator_reason: String,
    /// What the message was flagged as (a model label), when a message is involved; the member
    /// notice names it in words.
    pub label: Option<String>,
    /// Why the sanction, in terms the member is told.
    pub grounds: Vec<Ground>,
    /// Classifier scores (JSON object, `{}` for none).
    pub scores: serde_json::Value,
    /// Text of the message, only where the guild stores content.
    pub excerpt: Option<String>,
    /// Channel where the member is mentioned when their DMs are closed.
    pub notice_channel: Option<u64>,
    /// `None`: the bot; otherwise the moderator.
    pub actor_id: Option<u64>,
    /// Record only.
    pub dry_run: bool,
    /// Messages deleted with a ban (a moderator's choice); `None`: the configured window.
    pub ban_delete: Option<Duration>,
    /// The behaviour score an automatic action was decided at.
    pub behaviour_score: Option<f64>,
    /// Idempotency key: one case per message and decision (`msg:{message}:{action}`), per
    /// incident participant (`incident:{id}:{user}`). `None` (a moderator's action) gets a
    /// unique one.
    pub key: Option<String>,
}

/// One Discord call of an action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Tell the member (DM, else a mention in the notice channel) with an Appeal button.
    Notify,
    /// Delete the offending message.
    DeleteMessage,
    /// Time the member out.
    Timeout(Duration),
    /// Kick.
    Kick,
    /// Ban.
    Ban,
    /// Lift a ban (a moderator's `/mod unban`).
    Unban,
}

impl Step {
    /// Whether this step is the action itself (its failure fails the case).
    pub fn is_punishment(self) -> bool {
        matches!(
            self,
            Step::Timeout(_) | Step::Kick | Step::Ban | Step::Unban
        )
    }
}

/// The case action a decision records, if any.
pub fn case_action(d: &Decision) -> Option<CaseAction> {
    match d.action {
        Action::Warn => Some(CaseAction::Warn),
        Action::Timeout => Some(CaseAction::Timeout),
        Action::Kick => Some(CaseAction::Kick),
        Action::Ban => Some(CaseAction::Ban),
        Action::Delete => Some(CaseAction::Delete),
        Action::None if d.delete_message => Some(CaseAction::Delete),
        Action::None => None,
    }
}

/// The calls of `req`, in order. Kicks and bans notify first: a bot cannot DM someone who
/// shares no server with it, and the notice carries the appeal button. Timeouts and warnings
/// notify after the action, so the member is never told of something that failed.
pub fn steps(req: &ActRequest) -> Vec<Step> {
    let delete = req.delete.map(|_| Step::DeleteMessage);
    let mut out = Vec::with_capacity(3);
    match req.action {
        CaseAction::Kick | CaseAction::Ban => {
            out.push(Step::Notify);
            out.extend(delete);
            out.push(if req.action == CaseAction::Kick {
                Step::Kick
            } else {
                Step::Ban
            });
        }
        CaseAction::Timeout => {
            out.extend(delete);
            out.push(Step::Timeout(
                req.timeout.unwrap_or(Duration::from_secs(600)),
            ));
            out.push(Step::Notify);
        }
        CaseAction::Warn => {
            out.extend(delete);
            out.push(Step::Notify);
        }
        CaseAction::Unban => out.push(Step::Unban),
        // A note is recorded only.
        CaseAction::Note => {}
        _ => out.extend(delete),
    }
    out
}

/// "10m", "1h", "1d 2h": the largest two units.
pub fn human_duration(d: Duration) -> String {
    let s = d.as_secs();
    let units = [(86_400, "d"), (3_600, "h"), (60, "m"), (1, "s")];
    let mut parts = Vec::new();
    let mut rest = s;
    for (size, name) in units {
        if rest >= size {
            parts.push(format!("{}{name}", rest / size));
            rest %= size;
        }
        if parts.len() == 2 {
            break;
        }
    }
    if parts.is_empty() {
        "0s".into()
    } else {
        parts.join(" ")
    }
}

/// How a case is named to people: `#12`, or a placeholder while it waits in the journal for
/// its number (recorded while Postgres was down).
pub fn case_label(case_no: Option<i64>) -> String {
    case_no.map_or_else(|| "number pending".to_string(), |n| format!("#{n}"))
}

/// How a server words its member notices.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NoticeStyle {
    /// Language of the shipped wording.
    pub locale: Locale,
    /// The server's own templates and language override.
    pub overrides: NoticeOverrides,
}

/// The notice kind of a sanction (`None` for a deletion alone, which is not notified).
pub fn notice_kind(action: CaseAction) -> Option<NoticeKind> {
    match action {
        CaseAction::Warn => Some(NoticeKind::Warn),
        CaseAction::Timeout => Some(NoticeKind::Timeout),
        CaseAction::Kick => Some(NoticeKind::Kick),
        CaseAction::Ban => Some(NoticeKind::Ban),
        _ => None,
    }
}

/// What the member reads: what happened to the message and why, the sanction and why, when a
/// timeout ends (`ends_unix`), the case number and where to appeal — in words, in the server's
/// language or its own template, never with a score.
pub fn member_notice(
    req: &ActRequest,
    guild_name: &str,
    style: &NoticeStyle,
    case_no: Option<i64>,
    ends_unix: Option<i64>,
) -> String {
    let kind = notice_kind(req.action).unwrap_or(NoticeKind::Warn);
    let facts = NoticeFacts {
        kind,
        guild: guild_name,
        channel: req
            .delete
            .map(|(c, _)| c)
            .or(req.message_id.and(req.notice_channel)),
        label: req.label.as_deref(),
        deleted: req.delete.is_some(),
        grounds: &req.grounds,
        duration: req.timeout.filter(|_| kind == NoticeKind::Timeout),
        ends_unix,
        case_no,
    };
    notices::render(style.overrides.template(kind), style.locale, &facts)
}

/// The audit-log reason Discord shows in the server's audit log: case, top scores, then the
/// detailed reason (cut to 512 characters on send, so the scores come first).
pub fn audit_log_reason(req: &ActRequest, case_no: Option<i64>) -> String {
    let case = case_label(case_no);
    let detail = req
        .moderator_reason
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    format!(
        "usmca-bot case {case}: {} | scores: {} | {detail}",
        req.summary,
        super::modlog::top_scores(&req.scores, 3)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(action: CaseAction, delete: bool) -> ActRequest {
        ActRequest {
            guild_id: 1,
            user_id: 2,
            action,
            timeout: (action == CaseAction::Timeout).then(|| Duration::from_secs(3_600)),
            delete: delete.then_some((3, 4)),
            message_id: Some(4),
            summary: "timeout 1h + delete: behaviour score 0.81 (insult 0.93; message)".into(),
            moderator_reason: "score 0.81".into(),
            label: Some("insult".into()),
            grounds: vec![
                Ground::EarlierSanctions {
                    count: 1,
                    window_secs: 7 * 86_400,
                },
                Ground::Content,
            ],
            scores: serde_json::json!({}),
            excerpt: None,
            notice_channel: Some(3),
            actor_id: None,
            dry_run: false,
            key: None,
            ban_delete: None,
            behaviour_score: None,
        }
    }

    #[test]
    fn kicks_and_bans_notify_before_acting() {
        assert_eq!(
            steps(&req(CaseAction::Ban, true)),
            vec![Step::Notify, Step::DeleteMessage, Step::Ban]
        );
        assert_eq!(
            steps(&req(CaseAction::Kick, false)),
            vec![Step::Notify, Step::Kick]
        );
    }

    #[test]
    fn timeouts_and_warnings_notify_after_acting() {
        assert_eq!(
            steps(&req(CaseAction::Timeout, true)),
            vec![
                Step::DeleteMessage,
                Step::Timeout(Duration::from_secs(3_600)),
                Step::Notify
            ]
        );
        assert_eq!(steps(&req(CaseAction::Warn, false)), vec![Step::Notify]);
        assert_eq!(
            steps(&req(CaseAction::Delete, true)),
            vec![Step::DeleteMessage]
        );
    }

    #[test]
    fn durations_read_like_people_write_them() {
        assert_eq!(human_duration(Duration::from_secs(600)), "10m");
        assert_eq!(human_duration(Duration::from_secs(3_600)), "1h");
        assert_eq!(human_duration(Duration::from_secs(93_600)), "1d 2h");
        assert_eq!(human_duration(Duration::from_secs(0)), "0s");
    }

    #[test]
    fn notice_says_what_and_why_in_words_without_scores() {
        let style = NoticeStyle::default();
        let text = member_notice(
            &req(CaseAction::Timeout, true),
            "Chess Club",
            &style,
            Some(12),
            Some(1_800_000_000),
        );
        assert!(
            text.starts_with(
                "Your message in <#3> was removed because it was flagged as an insult.\n"
            ),
            "{text}"
        );
        assert!(
            text.contains("timed out in **Chess Club** for 1 hour because you were already warned or sanctioned once in the last 7 days and the message was abusive"),
            "{text}"
        );
        assert!(
            text.contains("<t:1800000000:R>")
                && text.contains("Case #12")
                && text.contains("**Appeal**"),
            "{text}"
        );
        assert!(
            !text.contains("0.8") && !text.contains("0.93") && !text.contains("score"),
            "{text}"
        );

        // Kept, warned, in Spanish.
        let style = NoticeStyle {
            locale: Locale::Es,
            ..NoticeStyle::default()
        };
        let text = member_notice(&req(CaseAction::Warn, false), "Club", &style, Some(3), None);
        assert!(
            text.starts_with(
                "Tu mensaje en <#3> se marcó como un insulto.\nRecibiste una advertencia"
            ),
            "{text}"
        );

        // The server's own template wins.
        let mut style = NoticeStyle::default();
        style.overrides.warn = Some("{guild}: warned ({label}), case {case}".into());
        let text = member_notice(&req(CaseAction::Warn, false), "Club", &style, Some(3), None);
        assert_eq!(text, "Club: warned (an insult), case 3");
    }
}
