//! Incidents: the open ones, then the last 30 days'; one incident's page with its timeline,
//! participants and response, and the raid controls of its Discord alert (End incident, Ban
//! all, Kick all, Release timeouts), each confirmed on a second page before it runs.

use crate::moderation::{Incident, IncidentDetail, RaidAction, RaidReport};
use crate::web::guard::GuildPage;
use crate::web::layout::after_post;
use crate::web::layout::{csrf_field, flash, guild_href, guild_page, when};
use crate::web::{PageError, WebState};
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use chrono::{Duration, Utc};
use maud::{html, Markup};
use serde::Deserialize;
use std::collections::HashMap;
use std::fmt::Write as _;

/// Days of closed incidents the list shows.
pub const RECENT_DAYS: i64 = 30;
/// Participants listed on an incident's page before "and N more".
const SHOWN_PARTICIPANTS: usize = 200;

/// This section's routes.
pub fn routes() -> Router<WebState> {
    Router::new()
        .route("/g/{guild}/incidents", get(list))
        .route("/g/{guild}/incidents/{id}", get(show))
        .route("/g/{guild}/incidents/{id}/action", post(act))
}

fn incident_href(guild_id: u64, id: i64) -> String {
    format!("{}/{id}", guild_href(guild_id, "incidents"))
}

/// A number of seconds as people say it: `90 s`, `10 min`, `2 h`.
pub fn secs_text(s: u64) -> String {
    if s >= 3600 && s.is_multiple_of(3600) {
        format!("{} h", s / 3600)
    } else if s >= 60 && s.is_multiple_of(60) {
        format!("{} min", s / 60)
    } else {
        format!("{s} s")
    }
}

fn id_text(v: &serde_json::Value) -> Option<String> {
    match v {
        serde_json::Value::Number(n) => Some(n.to_string()),
        serde_json::Value::String(s) => Some(s.clone()),
        _ => None,
    }
}

/// An incident's recorded `response` as sentences: the known fields in words, any other field
/// as `key: value`. Empty when nothing was recorded.
pub fn describe_response(response: &serde_json::Value) -> Vec<String> {
    let Some(obj) = response.as_object() else {
        return match response {
            serde_json::Value::Null => Vec::new(),
            other => vec![other.to_string()],
        };
    };
    let mut out = Vec::new();
    let flag = |k: &str| obj.get(k).and_then(|v| v.as_bool()).unwrap_or(false);
    if flag("dry_run") {
        out.push("Dry-run: the response was recorded, nothing was done on Discord.".to_string());
    }
    if flag("alert_moderators") {
        out.push("Moderators were alerted in the mod log.".to_string());
    }
    if let Some(pair) = obj.get("slowmode").and_then(|v| v.as_array()) {
        if let (Some(channel), Some(secs)) = (
            pair.first().and_then(id_text),
            pair.get(1).and_then(|v| v.as_u64()),
        ) {
            out.push(format!(
                "Slow-mode of {} set in channel {channel}.",
                secs_text(secs)
            ));
        }
    }
    let timed_out = obj
        .get("timeout_users")
        .and_then(|v| v.as_array())
        .map_or(0, Vec::len);
    if timed_out > 0 {
        let mut s = format!("{timed_out} new account(s) timed out");
        if let Some(secs) = obj.get("timeout_secs").and_then(|v| v.as_u64()) {
            let _ = write!(s, " for {}", secs_text(secs));
        }
        s.push('.');
        out.push(s);
    }
    if flag("raise_scores") {
        out.push("Participants' behaviour scores were raised while it was open.".to_string());
    }
    if let Some(by) = obj.get("ended_by").and_then(id_text) {
        out.push(format!("Ended by moderator {by}."));
    }
    const KNOWN: [&str; 7] = [
        "dry_run",
        "alert_moderators",
        "slowmode",
        "timeout_users",
        "timeout_secs",
        "raise_scores",
        "ended_by",
    ];
    for (k, v) in obj.iter().filter(|(k, _)| !KNOWN.contains(&k.as_str())) {
        let value = match v {
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        out.push(format!("{}: {value}", k.replace('_', " ")));
    }
    out
}

fn status(closed: Option<&chrono::DateTime<Utc>>) -> Markup {
    match closed {
        None => html! { span.badge.open { "open" } },
        Some(t) => html! { span.badge { "closed" } " " (when(t)) },
    }
}

/// `GET /g/{guild}/incidents`.
pub async fn list(State(state): State<WebState>, g: GuildPage) -> Result<Markup, PageError> {
    let now = Utc::now();
    let service = state.service();
    let open = service.open_incidents(g.guild_id).await?;
    let recent: Vec<_> = service
        .incidents_between(g.guild_id, now - Duration::days(RECENT_DAYS), now)
        .await?
        .into_iter()
        .filter(|i| i.closed_at.is_some())
        .collect();
    let rows = |list: &[Incident], testid: &str| {
        html! {
            div.table-wrap { table data-testid=(testid) {
                thead { tr { th { "Incident" } th { "Kind" } th { "Participants" } th.opt { "Started" } th.opt { "Last activity" } th { "Status" } } }
                tbody { @for i in list {
                    tr data-incident=(i.incident_id) {
                        td { a href=(incident_href(g.guild_id, i.incident_id)) { "#" (i.incident_id) } }
                        td { (i.kind.replace('_', " ")) }
                        td { (i.participants.len()) }
                        td.opt { (when(&i.window_start)) }
                        td.opt { (when(&i.window_end)) }
                        td { (status(i.closed_at.as_ref())) }
                    }
                } }
            } }
        }
    };
    Ok(guild_page(
        &g,
        "incidents",
        "Incidents",
        html! {
            h1 { "Incidents" }
            section {
                h2 { "Open" }
                @if open.is_empty() {
                    p.card data-testid="no-open-incidents" { "No open incident." }
                } @else {
                    (rows(&open, "open-incidents"))
                }
            }
            section {
                h2 { "Closed in the last " (RECENT_DAYS) " days" }
                @if recent.is_empty() {
                    p.card { "None." }
                } @else {
                    (rows(&recent, "recent-incidents"))
                }
            }
        },
    ))
}

fn parse_id(id: &str) -> Result<i64, PageError> {
    id.trim().parse::<i64>().map_err(|_| PageError::NotFound)
}

/// The raid controls: (action, button label, whether it is destructive).
const CONTROLS: [(RaidAction, &str, bool); 4] = [
    (RaidAction::End, "End incident", false),
    (RaidAction::Release, "Release timeouts", false),
    (RaidAction::Kick, "Kick all", true),
    (RaidAction::Ban, "Ban all", true),
];

/// `GET /g/{guild}/incidents/{id}`.
pub async fn show(
    State(state): State<WebState>,
    g: GuildPage,
    Path((_, id)): Path<(u64, String)>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Markup, PageError> {
    let IncidentDetail {
        incident: i,
        detector_id,
    } = state
        .service()
        .incident_detail(g.guild_id, parse_id(&id)?)
        .await?;
    let response = describe_response(&i.response);
    let base = incident_href(g.guild_id, i.incident_id);
    Ok(guild_page(
        &g,
        "incidents",
        &format!("Incident #{}", i.incident_id),
        html! {
            @if let Some(m) = q.get("done") { (flash(true, m)) }
            h1 { "Incident #" (i.incident_id) " · " (i.kind.replace('_', " ")) " " (status(i.closed_at.as_ref())) }
            div.grid {
                section.card data-testid="incident-timeline" {
                    h2 { "Timeline" }
                    ol {
                        li { "Started " (when(&i.window_start)) }
                        li { "Last activity " (when(&i.window_end)) }
                        li { @match &i.closed_at { Some(t) => { "Closed " (when(t)) }, None => "Still open" } }
                    }
                    @if let Some(c) = i.channel_id { p { "Channel " code { (c) } } }
                }
                section.card data-testid="incident-response" {
                    h2 { "What was done" }
                    @if response.is_empty() {
                        p.muted { "Nothing recorded yet." }
                    } @else {
                        ul { @for line in &response { li { (line) } } }
                    }
                }
            }
            section.card data-testid="incident-participants" {
                h2 { "Participants (" (i.participants.len()) ")" }
                @if i.participants.is_empty() {
                    p.muted { "None recorded." }
                } @else {
                    ul.ids {
                        @for u in i.participants.iter().take(SHOWN_PARTICIPANTS) {
                            li { a href=(format!("{}/{u}", guild_href(g.guild_id, "members"))) { code { (u) } } }
                        }
                    }
                    @if i.participants.len() > SHOWN_PARTICIPANTS {
                        p.muted { "and " (i.participants.len() - SHOWN_PARTICIPANTS) " more" }
                    }
                }
            }
            section.card {
                h2 { "Raid controls" }
                @if detector_id.is_none() {
                    p.muted { "This incident was recorded without a detector id, so the raid controls cannot act on it." }
                } @else {
                    p.muted { "Each asks you to confirm first. Exempt members are spared; every action is recorded as a case." }
                    div.actions {
                        @for (action, label, danger) in CONTROLS {
                            form method="post" action=(format!("{base}/action")) {
                                (csrf_field(&g.viewer))
                                input type="hidden" name="action" value=(action.as_str());
                                button class=(if danger { "danger" } else { "secondary" }) type="submit"
                                    data-testid=(format!("raid-{}", action.as_str())) { (label) }
                            }
                        }
                    }
                }
            }
        },
    ))
}

/// A raid control's form.
#[derive(Debug, Deserialize)]
pub struct ActionForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    confirm: String,
}

/// The question the confirmation page asks, as the Discord alert's confirmation asks it.
pub fn confirm_text(action: RaidAction, participants: usize) -> String {
    match action {
        RaidAction::End => "End the incident and restore its channels' slow-mode?".to_string(),
        RaidAction::Release => {
            format!("Lift the timeouts this incident gave (up to {participants} members)?")
        }
        RaidAction::Kick => {
            format!("Kick the {participants} participants (exempt members are spared)?")
        }
        RaidAction::Ban => {
            format!("Ban the {participants} participants (exempt members are spared)?")
        }
    }
}

/// What a raid control did, in one sentence (the flash after it).
pub fn report_text(action: RaidAction, incident_id: i64, r: &RaidReport) -> String {
    let mut out = match action {
        RaidAction::End if r.ended => format!("Incident #{incident_id} ended; slow-mode restored."),
        RaidAction::End => {
            format!("Incident #{incident_id} had ended already; slow-mode restored.")
        }
        RaidAction::Release => format!("{} timeouts lifted.", r.done.len()),
        RaidAction::Kick => format!("{} participants kicked.", r.done.len()),
        RaidAction::Ban => format!("{} participants banned.", r.done.len()),
    };
    if !r.spared.is_empty() {
        let _ = write!(out, " {} exempt members spared.", r.spared.len());
    }
    if !r.failed.is_empty() {
        let _ = write!(out, " {} failed:", r.failed.len());
        for (u, e) in r.failed.iter().take(5) {
            let _ = write!(out, " {u}: {e};");
        }
        out.pop();
        out.push('.');
    }
    out
}

/// `POST /g/{guild}/incidents/{id}/action`: without `confirm=yes` the confirmation page; with
/// it, the raid control, as the alert's Confirm button runs it.
pub async fn act(
    State(state): State<WebState>,
    g: GuildPage,
    Path((_, id)): Path<(u64, String)>,
    Form(f): Form<ActionForm>,
) -> Result<Response, PageError> {
    g.viewer.check_csrf(&f.csrf)?;
    let action = RaidAction::parse(f.action.trim()).ok_or_else(|| {
        PageError::BadRequest("Choose a raid control: end, release, kick or ban.".into())
    })?;
    let service = state.service();
    let detail = service.incident_detail(g.guild_id, parse_id(&id)?).await?;
    let incident_id = detail.incident.incident_id;
    let Some(detector) = detail.detector_id else {
        return Err(PageError::BadRequest(
            "This incident was recorded without a detector id; act on its members from their pages instead."
                .into(),
        ));
    };
    let base = incident_href(g.guild_id, incident_id);
    if f.confirm != "yes" {
        let count = service.raid_participants(g.guild_id, &detector).await?;
        let label = CONTROLS
            .iter()
            .find(|(a, _, _)| *a == action)
            .map_or("Confirm", |(_, l, _)| *l);
        let danger = matches!(action, RaidAction::Kick | RaidAction::Ban);
        return Ok(guild_page(
            &g,
            "incidents",
            "Are you sure?",
            html! {
                h1 { "Are you sure?" }
                section.card {
                    p data-testid="raid-confirm-text" { (confirm_text(action, count)) }
                    p.muted { "Incident #" (incident_id) ": " (count) " members." }
                    div.actions {
                        form method="post" action=(format!("{base}/action")) {
                            (csrf_field(&g.viewer))
                            input type="hidden" name="action" value=(action.as_str());
                            input type="hidden" name="confirm" value="yes";
                            button.danger[danger] type="submit" data-testid="raid-confirm" {
                                "Yes: " (label)
                            }
                        }
                        a.button.secondary href=(base) data-testid="raid-cancel" { "Cancel" }
                    }
                }
            },
        )
        .into_response());
    }
    let report = service
        .raid_action(g.guild_id, g.viewer.id(), &detector, action)
        .await?;
    let done = report_text(action, incident_id, &report);
    Ok(after_post(&base, true, &done))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn response_in_words() {
        let r = json!({
            "alert_moderators": true, "slowmode": [123, 600], "timeout_users": [1, 2],
            "timeout_secs": 3600, "raise_scores": false, "dry_run": false,
        });
        assert_eq!(
            describe_response(&r),
            vec![
                "Moderators were alerted in the mod log.",
                "Slow-mode of 10 min set in channel 123.",
                "2 new account(s) timed out for 1 h.",
            ]
        );
        assert_eq!(
            describe_response(&json!({"ended_by": 42, "note_x": "y"})),
            vec!["Ended by moderator 42.", "note x: y"]
        );
        assert!(describe_response(&json!({})).is_empty());
        assert!(describe_response(&serde_json::Value::Null).is_empty());
    }

    #[test]
    fn seconds_in_words() {
        assert_eq!(secs_text(90), "90 s");
        assert_eq!(secs_text(600), "10 min");
        assert_eq!(secs_text(7200), "2 h");
    }

    #[test]
    fn reports_say_what_failed() {
        let r = RaidReport {
            done: vec![1, 2],
            spared: vec![3],
            failed: vec![(4, "missing permissions".into())],
            ended: false,
        };
        assert_eq!(
            report_text(RaidAction::Ban, 7, &r),
            "2 participants banned. 1 exempt members spared. 1 failed: 4: missing permissions."
        );
        assert_eq!(
            confirm_text(RaidAction::Kick, 5),
            "Kick the 5 participants (exempt members are spared)?"
        );
    }
}
