//! Appeals: the server's open appeals, oldest first, each with its case and the member's text,
//! and Approve (an optional note; the case is reversed) or Deny (the reason, which the member
//! receives). Moderators decide, as with the Approve / Deny buttons in Discord.

use crate::domain::{AppealDecision, Case};
use crate::moderation::{AppealReview, ServiceError};
use crate::web::guard::GuildPage;
use crate::web::layout::{
    after_post, csrf_field, flash, guild_href, guild_page, status_badge, when, NoteForm,
};
use crate::web::{PageError, WebState};
use axum::extract::{Path, Query, State};
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Form, Router};
use maud::{html, Markup};
use std::collections::HashMap;

/// Longest note or reason the forms take (what the service keeps).
const NOTE_MAX: usize = 1_000;

/// This section's routes.
pub fn routes() -> Router<WebState> {
    Router::new()
        .route("/g/{guild}/appeals", get(list))
        .route("/g/{guild}/appeals/{id}/approve", post(approve))
        .route("/g/{guild}/appeals/{id}/deny", post(deny))
}

fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(n).collect();
        t.push('…');
        t
    }
}

fn case_summary(g: &GuildPage, case_no: i64, case: Option<&Case>) -> Markup {
    let href = format!("{}/{case_no}", guild_href(g.guild_id, "cases"));
    html! {
        @match case {
            Some(c) => p {
                a href=(href) { "Case #" (c.case_no) } " · " strong { (c.action.as_str()) } " "
                (status_badge(c)) " · " (when(&c.created_at))
                br;
                span.muted { "Reason: " } (truncate(&c.reason, 300))
            },
            None => p.muted { "Case #" (case_no) " could not be read." },
        }
    }
}

/// `GET /g/{guild}/appeals`: the open appeals, oldest first.
pub async fn list(
    State(state): State<WebState>,
    g: GuildPage,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Markup, PageError> {
    let appeals = state.service().open_appeals(g.guild_id).await?;
    let base = guild_href(g.guild_id, "appeals");
    Ok(guild_page(
        &g,
        "appeals",
        "Appeals",
        html! {
            h1 { "Appeals" }
            @if let Some(m) = q.get("done") { (flash(true, m)) }
            @if let Some(m) = q.get("failed") { (flash(false, m)) }
            p.muted {
                "Open appeals, oldest first. Approving reverses the case and tells the member; "
                "denying tells them your reason. Both are recorded in the audit log."
            }
            @if appeals.is_empty() {
                p.card data-testid="appeals-empty" { "No open appeals." }
            } @else {
                p { strong { (appeals.len()) } " open appeal" (if appeals.len() == 1 { "" } else { "s" }) "." }
            }
            @for (a, case) in &appeals {
                @let id = a.appeal_id;
                article.card id=(format!("appeal-{id}")) data-testid=(format!("appeal-{id}")) aria-labelledby=(format!("appeal-{id}-title")) {
                    h2 id=(format!("appeal-{id}-title")) { "Appeal #" (id) " · case #" (a.case_no) }
                    p { "Member " code { (a.user_id) } " · filed " (when(&a.created_at)) " · "
                        a href=(format!("{}/{}", guild_href(g.guild_id, "members"), a.user_id)) { "history" } }
                    (case_summary(&g, a.case_no, case.as_ref()))
                    h3 { "The member wrote" }
                    @match &a.body {
                        Some(t) => blockquote data-testid="appeal-text" { (t) },
                        None => p.muted { "(removed at the member's request)" },
                    }
                    div.actions {
                        form method="post" action=(format!("{base}/{id}/approve")) {
                            (csrf_field(&g.viewer))
                            label for=(format!("approve-{id}-note")) { "Note (optional, for the audit log)" }
                            input id=(format!("approve-{id}-note")) name="note" maxlength=(NOTE_MAX) autocomplete="off";
                            button type="submit" { "Approve and reverse case #" (a.case_no) }
                        }
                        form method="post" action=(format!("{base}/{id}/deny")) {
                            (csrf_field(&g.viewer))
                            label for=(format!("deny-{id}-reason")) { "Reason (the member receives it)" }
                            textarea id=(format!("deny-{id}-reason")) name="reason" required maxlength=(NOTE_MAX) rows="2" {}
                            button.danger type="submit" { "Deny" }
                        }
                    }
                }
            }
        },
    ))
}

fn back(g: &GuildPage, ok: bool, text: &str) -> Response {
    after_post(&guild_href(g.guild_id, "appeals"), ok, text)
}

/// What the moderator is told after a decision: (went as asked, text).
pub fn outcome_text(appeal_id: i64, r: &AppealReview) -> (bool, String) {
    let what = match r.decision {
        AppealDecision::Accept => "approved",
        AppealDecision::Reject => "denied",
    };
    let reversed = if r.decision == AppealDecision::Accept {
        format!(" and case #{} reversed", r.appeal.case_no)
    } else {
        String::new()
    };
    match (&r.reversal_failed, r.member_told) {
        (Some(e), _) => (
            false,
            format!(
                "Appeal #{appeal_id} is approved, but reversing case #{} failed: {e}. Reverse it from the case's page.",
                r.appeal.case_no
            ),
        ),
        (None, true) => (
            true,
            format!("Appeal #{appeal_id} {what}{reversed}; the member was told."),
        ),
        (None, false) => (
            true,
            format!(
                "Appeal #{appeal_id} {what}{reversed}. The member could not be told by DM (closed DMs or no shared server); the decision waits for them in the appeal portal."
            ),
        ),
    }
}

async fn decide(
    state: &WebState,
    g: &GuildPage,
    appeal_id: i64,
    decision: AppealDecision,
    note: &str,
) -> Result<Response, PageError> {
    match state
        .service()
        .decide_guild_appeal(g.guild_id, appeal_id, g.viewer.id(), decision, note)
        .await
    {
        Ok(r) => {
            let (ok, text) = outcome_text(appeal_id, &r);
            Ok(back(g, ok, &text))
        }
        // Already decided by someone else, or the reason is missing: say so on the queue.
        Err(ServiceError::Conflict(m) | ServiceError::Invalid(m)) => Ok(back(g, false, &m)),
        Err(e) => Err(e.into()),
    }
}

/// `POST /g/{guild}/appeals/{id}/approve`: reverses the case, tells the member.
pub async fn approve(
    State(state): State<WebState>,
    g: GuildPage,
    Path((_, id)): Path<(u64, i64)>,
    Form(f): Form<NoteForm>,
) -> Result<Response, PageError> {
    g.viewer.check_csrf(&f.csrf)?;
    decide(&state, &g, id, AppealDecision::Accept, &f.note).await
}

/// `POST /g/{guild}/appeals/{id}/deny`: the reason is required; the member receives it.
pub async fn deny(
    State(state): State<WebState>,
    g: GuildPage,
    Path((_, id)): Path<(u64, i64)>,
    Form(f): Form<NoteForm>,
) -> Result<Response, PageError> {
    g.viewer.check_csrf(&f.csrf)?;
    decide(&state, &g, id, AppealDecision::Reject, &f.reason).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Appeal, AppealStatus};
    use chrono::Utc;

    fn review(decision: AppealDecision, failed: Option<&str>, told: bool) -> AppealReview {
        AppealReview {
            appeal: Appeal {
                appeal_id: 9,
                case_id: 1,
                guild_id: 2,
                case_no: 14,
                user_id: 3,
                body: Some("please".into()),
                status: AppealStatus::Accepted,
                reviewer_id: Some(4),
                review_note: None,
                created_at: Utc::now(),
                decided_at: Some(Utc::now()),
            },
            decision,
            reversal_failed: failed.map(str::to_string),
            member_told: told,
        }
    }

    #[test]
    fn the_moderator_is_told_what_happened() {
        let (ok, t) = outcome_text(9, &review(AppealDecision::Accept, None, true));
        assert!(ok);
        assert_eq!(
            t,
            "Appeal #9 approved and case #14 reversed; the member was told."
        );
        let (ok, t) = outcome_text(9, &review(AppealDecision::Reject, None, true));
        assert!(ok);
        assert_eq!(t, "Appeal #9 denied; the member was told.");
        let (ok, t) = outcome_text(9, &review(AppealDecision::Reject, None, false));
        assert!(ok && t.contains("appeal portal"), "{t}");
        let (ok, t) = outcome_text(9, &review(AppealDecision::Accept, Some("403"), false));
        assert!(!ok && t.contains("reversing case #14 failed: 403"), "{t}");
    }
}
