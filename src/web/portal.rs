//! The appeal portal: any member logs in and sees their own cases in every guild that uses the
//! bot (nobody else's), appeals one (one open appeal per case, rate-limited) and reads the
//! decision, also when they are banned and share no server with the bot.

use super::guard::Viewer;
use super::layout::{after_post, csrf_field, flash, page, status_badge, when};
use super::{PageError, WebState};
use crate::domain::{AppealStatus, CaseAction, CaseStatus};
use axum::extract::{Path, Query, State};
use axum::response::Response;
use axum::Form;
use maud::{html, Markup};
use serde::Deserialize;
use std::collections::HashMap;

/// `GET /me`: the viewer's cases everywhere.
pub async fn my_cases(State(state): State<WebState>, viewer: Viewer) -> Result<Markup, PageError> {
    let cases = state.service().cases_of_user(viewer.id()).await?;
    Ok(page(
        "My cases",
        Some(&viewer),
        html! {
            h1 { "My cases" }
            p.muted { "Every action usmca-bot's servers recorded about you. Open one to read it and appeal." }
            @if cases.is_empty() {
                p.card { "Nothing on record. Keep it that way!" }
            } @else {
                div.table-wrap { table {
                    thead { tr { th { "Server" } th { "Case" } th { "Action" } th { "Status" } th { "When" } } }
                    tbody { @for c in &cases {
                        tr {
                            td { (state.service().guild_target(c.guild_id).name) }
                            td { a href=(format!("/me/cases/{}", c.case_id)) { "#" (c.case_no) } }
                            td { (c.action.as_str()) }
                            td { (status_badge(c)) }
                            td { (when(&c.created_at)) }
                        }
                    } }
                } }
            }
        },
    ))
}

async fn own_case(
    state: &WebState,
    viewer: &Viewer,
    case_id: i64,
) -> Result<crate::domain::Case, PageError> {
    let case = state
        .service()
        .case_by_id(case_id)
        .await
        .map_err(|_| PageError::NotFound)?;
    // Someone else's case does not exist for this viewer.
    if case.user_id != viewer.id() || case.dry_run || case.action == CaseAction::Note {
        return Err(PageError::NotFound);
    }
    Ok(case)
}

/// `GET /me/cases/{case_id}`: one of the viewer's cases, its appeals and the decision.
pub async fn my_case(
    State(state): State<WebState>,
    viewer: Viewer,
    Path(case_id): Path<i64>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Markup, PageError> {
    let case = own_case(&state, &viewer, case_id).await?;
    let appeals = state.service().appeals_of_case(case.case_id).await?;
    let open = appeals.iter().any(|a| a.status == AppealStatus::Open);
    let appealable = !open
        && matches!(case.status, CaseStatus::Applied)
        && !matches!(case.action, CaseAction::Unban | CaseAction::Untimeout);
    let server = state.service().guild_target(case.guild_id).name;
    Ok(page(
        &format!("Case #{}", case.case_no),
        Some(&viewer),
        html! {
            @if let Some(m) = q.get("done") { (flash(true, m)) }
            h1 { (server) ": case #" (case.case_no) }
            section.card {
                p { strong { (case.action.as_str()) } " " (status_badge(&case)) " · " (when(&case.created_at)) }
                @if let Some(e) = case.expires_at { p { "Ends " (when(&e)) } }
                p { strong { "Reason: " } (case.reason) }
                @if let Some(t) = &case.message_excerpt { blockquote { (t) } }
            }
            h2 { "Appeals" }
            @if appeals.is_empty() { p.muted { "You have not appealed this case." } }
            @for a in &appeals {
                section.card data-appeal=(a.appeal_id) {
                    p { span class={ "badge " (a.status.as_str()) } { (a.status.as_str()) } " · filed " (when(&a.created_at)) }
                    @if let Some(b) = &a.body { blockquote { (b) } }
                    @match a.status {
                        AppealStatus::Open => p { "The moderators will answer here (and by direct message when the bot can reach you)." },
                        AppealStatus::Accepted => p { strong { "Approved" } @if let Some(n) = &a.review_note { ": " (n) } },
                        AppealStatus::Rejected => p { strong { "Denied" } @if let Some(n) = &a.review_note { ": " (n) } },
                        AppealStatus::Withdrawn => p.muted { "Withdrawn." },
                    }
                }
            }
            @if appealable {
                h2 { "Appeal" }
                form.card method="post" action=(format!("/me/cases/{}/appeal", case.case_id)) {
                    (csrf_field(&viewer))
                    label for="appeal-text" { "Why was this decision wrong? (up to 1000 characters)" }
                    textarea #appeal-text name="text" required maxlength="1000" {}
                    p { button type="submit" { "Send appeal" } }
                }
            }
            p { a href="/me" { "← All my cases" } }
        },
    ))
}

/// The appeal form.
#[derive(Deserialize)]
pub struct AppealForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    text: String,
}

/// `POST /me/cases/{case_id}/appeal`.
pub async fn file_appeal(
    State(state): State<WebState>,
    viewer: Viewer,
    Path(case_id): Path<i64>,
    Form(f): Form<AppealForm>,
) -> Result<Response, PageError> {
    viewer.check_csrf(&f.csrf)?;
    let case = own_case(&state, &viewer, case_id).await?;
    if !state.service().within_appeal_budget(viewer.id()).await {
        return Err(PageError::TooMany(
            "You have sent several appeals in a short time; wait an hour and try again.".into(),
        ));
    }
    state
        .service()
        .file_appeal(case.case_id, viewer.id(), &f.text)
        .await?;
    Ok(after_post(
        &format!("/me/cases/{}", case.case_id),
        true,
        "Appeal sent. The moderators will answer here.",
    ))
}
