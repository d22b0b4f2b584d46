//! Cases: the filtered, keyset-paginated list and one case's page with its scores, excerpt,
//! audit rows, and Reverse / Confirm / add a note.

use crate::domain::{Case, CaseAction, CaseStatus};
use crate::moderation::{CaseFilter, CaseOrigin};
use crate::web::guard::GuildPage;
use crate::web::layout::{
    actor, after_post, csrf_field, flash, guild_href, guild_page, status_badge, when, NoteForm,
};
use crate::web::{PageError, WebState};
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Form, Router};
use chrono::{NaiveDate, TimeZone, Utc};
use maud::{html, Markup};
use serde::Deserialize;

/// Cases per page.
pub const PAGE: i64 = 50;

/// This section's routes.
pub fn routes() -> Router<WebState> {
    Router::new()
        .route("/g/{guild}/cases", get(list))
        .route("/g/{guild}/cases/{case_no}", get(show))
        .route("/g/{guild}/cases/{case_no}/reverse", post(reverse))
        .route("/g/{guild}/cases/{case_no}/confirm", post(confirm))
        .route("/g/{guild}/cases/{case_no}/note", post(note))
}

/// The list's query string; empty fields mean "any".
#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    #[serde(default)]
    member: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    #[serde(default)]
    origin: String,
    #[serde(default)]
    before: String,
}

fn day(s: &str, what: &str) -> Result<Option<chrono::DateTime<Utc>>, PageError> {
    if s.trim().is_empty() {
        return Ok(None);
    }
    NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| Some(Utc.from_utc_datetime(&t)))
        .ok_or_else(|| PageError::BadRequest(format!("{what}: write a date as YYYY-MM-DD")))
}

/// An optional field: empty means "any"; otherwise `parse` reads it or says what to fix.
fn optional<T>(
    raw: &str,
    parse: impl FnOnce(&str) -> Result<T, String>,
) -> Result<Option<T>, PageError> {
    match raw.trim() {
        "" => Ok(None),
        v => parse(v).map(Some).map_err(PageError::BadRequest),
    }
}

impl ListQuery {
    /// The storage filter, or what to fix.
    pub fn filter(&self) -> Result<CaseFilter, PageError> {
        let member = optional(&self.member, crate::domain::setting_keys::parse_id)?;
        let action = optional(&self.action, |a| {
            CaseAction::parse(a)
                .map(|a| a.as_str().to_string())
                .ok_or_else(|| format!("unknown action {a:?}"))
        })?;
        let status = optional(&self.status, |s| {
            CaseStatus::parse(s)
                .map(|s| s.as_str().to_string())
                .ok_or_else(|| format!("unknown status {s:?}"))
        })?;
        let origin = optional(&self.origin, |o| match o {
            "auto" | "automatic" => Ok(CaseOrigin::Automatic),
            "manual" => Ok(CaseOrigin::Manual),
            o => Err(format!("origin {o:?}: automatic or manual")),
        })?;
        let before_case_no = optional(&self.before, |b| {
            b.parse::<i64>()
                .map_err(|_| "before: a case number".to_string())
        })?;
        // `to` is inclusive for people: up to the end of that day.
        let to = day(&self.to, "to")?.map(|t| t + chrono::Duration::days(1));
        Ok(CaseFilter {
            member,
            action,
            status,
            from: day(&self.from, "from")?,
            to,
            origin,
            before_case_no,
        })
    }

    fn with_before(&self, before: i64) -> String {
        let pairs = [
            ("member", self.member.as_str()),
            ("action", self.action.as_str()),
            ("status", self.status.as_str()),
            ("from", self.from.as_str()),
            ("to", self.to.as_str()),
            ("origin", self.origin.as_str()),
        ];
        let mut q: Vec<String> = pairs
            .iter()
            .filter(|(_, v)| !v.trim().is_empty())
            .map(|(k, v)| format!("{k}={}", crate::web::auth::encode(v.trim())))
            .collect();
        q.push(format!("before={before}"));
        q.join("&")
    }
}

const ACTIONS: [&str; 8] = [
    "note",
    "warn",
    "delete",
    "timeout",
    "kick",
    "ban",
    "unban",
    "untimeout",
];
const STATUSES: [&str; 5] = ["pending", "applied", "failed", "reversed", "expired"];

fn select(name: &str, label: &str, options: &[&str], current: &str) -> Markup {
    html! {
        label {
            (label)
            select name=(name) {
                option value="" { "any" }
                @for o in options {
                    option value=(o) selected[*o == current.trim()] { (o) }
                }
            }
        }
    }
}

fn table(g: &GuildPage, cases: &[Case], q: &ListQuery) -> Markup {
    html! {
        div #case-results {
            @if cases.is_empty() {
                p.card { "No case matches." }
            } @else {
                div.table-wrap {
                    table {
                        thead { tr {
                            th { "Case" } th { "Member" } th { "Action" } th { "Status" }
                            th.opt { "By" } th.opt { "When" } th { "Reason" }
                        } }
                        tbody {
                            @for c in cases {
                                tr data-case=(c.case_no) {
                                    td { a href=(format!("{}/{}", guild_href(g.guild_id, "cases"), c.case_no)) { "#" (c.case_no) } }
                                    td { code { (c.user_id) } }
                                    td { (c.action.as_str()) }
                                    td { (status_badge(c)) }
                                    td.opt { (actor(c)) }
                                    td.opt { (when(&c.created_at)) }
                                    td { (truncate(&c.reason, 120)) }
                                }
                            }
                        }
                    }
                }
                @if cases.len() as i64 == PAGE {
                    @if let Some(last) = cases.last() {
                        nav.pager aria-label="Pages" {
                            a.button href=(format!("{}?{}", guild_href(g.guild_id, "cases"), q.with_before(last.case_no))) { "Older cases →" }
                        }
                    }
                }
            }
        }
    }
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

/// `GET /g/{guild}/cases`: the list; an htmx request gets only the results.
pub async fn list(
    State(state): State<WebState>,
    g: GuildPage,
    headers: HeaderMap,
    Query(q): Query<ListQuery>,
) -> Result<Markup, PageError> {
    let filter = q.filter()?;
    let cases = state
        .service()
        .list_cases(g.guild_id, &filter, PAGE)
        .await?;
    if headers.contains_key("hx-request") {
        return Ok(table(&g, &cases, &q));
    }
    let action = guild_href(g.guild_id, "cases");
    Ok(guild_page(
        &g,
        "cases",
        "Cases",
        html! {
            h1 { "Cases" }
            form.filters method="get" action=(action) hx-get=(action) hx-target="#case-results" hx-select="#case-results" hx-swap="outerHTML" hx-push-url="true" {
                label { "Member id" input name="member" inputmode="numeric" value=(q.member) placeholder="any"; }
                (select("action", "Action", &ACTIONS, &q.action))
                (select("status", "Status", &STATUSES, &q.status))
                label { "From" input type="date" name="from" value=(q.from); }
                label { "To" input type="date" name="to" value=(q.to); }
                (select("origin", "By", &["automatic", "manual"], &q.origin))
                button type="submit" { "Filter" }
            }
            (table(&g, &cases, &q))
        },
    ))
}

fn scores_table(scores: &serde_json::Value) -> Markup {
    let mut rows: Vec<(&String, f64)> = scores
        .as_object()
        .into_iter()
        .flatten()
        .filter_map(|(k, v)| v.as_f64().map(|v| (k, v)))
        .collect();
    rows.sort_by(|a, b| b.1.total_cmp(&a.1));
    html! {
        @if rows.is_empty() {
            p.muted { "No classifier scores on this case." }
        } @else {
            table.scores {
                @for (k, v) in rows {
                    tr {
                        td { (k) }
                        td { (format!("{v:.3}")) }
                        td { progress max="1" value=(format!("{v:.3}")) { (format!("{v:.3}")) } }
                    }
                }
            }
        }
    }
}

/// `GET /g/{guild}/cases/{case_no}`.
pub async fn show(
    State(state): State<WebState>,
    g: GuildPage,
    Path((_, case_no)): Path<(u64, i64)>,
    Query(q): Query<std::collections::HashMap<String, String>>,
) -> Result<Markup, PageError> {
    let case = state.service().case(g.guild_id, case_no).await?;
    let audit = state.service().case_audit(&case).await?;
    let base = format!("{}/{}", guild_href(g.guild_id, "cases"), case.case_no);
    let reversible = matches!(case.status, CaseStatus::Applied | CaseStatus::Pending)
        && !matches!(
            case.action,
            CaseAction::Note | CaseAction::Unban | CaseAction::Untimeout
        );
    Ok(guild_page(
        &g,
        "cases",
        &format!("Case #{}", case.case_no),
        html! {
            @if let Some(m) = q.get("done") { (flash(true, m)) }
            h1 { "Case #" (case.case_no) " · " (case.action.as_str()) " " (status_badge(&case)) }
            div.grid {
                section.card {
                    h2 { "What" }
                    p { "Member " code { (case.user_id) } " · "
                        a href=(format!("{}/{}", guild_href(g.guild_id, "members"), case.user_id)) { "history" } }
                    p { (actor(&case)) " · " (when(&case.created_at)) }
                    @if let Some(e) = case.expires_at { p { "Ends " (when(&e)) } }
                    p { strong { "Reason: " } (case.reason) }
                    @if let Some(b) = case.behaviour_score { p { "Behaviour score " (format!("{b:.3}")) } }
                    @if let Some(l) = &case.label { p { "Moderators' verdict: " strong { (l) } } }
                    @if let (Some(by), Some(at)) = (case.reversed_by, case.reversed_at) {
                        p { "Reversed by " code { (by) } " " (when(&at)) @if let Some(r) = &case.reversed_reason { ": " (r) } }
                    }
                    @if let Some(n) = &case.error_note { p.muted { (n) } }
                }
                section.card {
                    h2 { "Message" }
                    @match &case.message_excerpt {
                        Some(t) => blockquote data-testid="excerpt" { (t) },
                        None => p.muted { "No text stored (the server does not store content, or it was purged)." },
                    }
                    (scores_table(&case.scores))
                }
            }
            section.card {
                h2 { "Act" }
                div.actions {
                    @if reversible {
                        form method="post" action=(format!("{base}/reverse")) {
                            (csrf_field(&g.viewer))
                            label { "Why reverse" input name="reason" required maxlength="400" placeholder="e.g. banter between friends"; }
                            button.danger type="submit" { "Reverse" }
                        }
                    }
                    @if case.label.is_none() && case.actor_id.is_none() && case.status == CaseStatus::Applied {
                        form method="post" action=(format!("{base}/confirm")) {
                            (csrf_field(&g.viewer))
                            button.secondary type="submit" { "Confirm" }
                        }
                    }
                    form method="post" action=(format!("{base}/note")) {
                        (csrf_field(&g.viewer))
                        label { "Note" input name="note" required maxlength="1000"; }
                        button.secondary type="submit" { "Add note" }
                    }
                }
            }
            section {
                h2 { "Audit trail" }
                div.table-wrap { table {
                    thead { tr { th { "#" } th { "Event" } th { "By" } th { "When" } th.opt { "Details" } } }
                    tbody { @for r in &audit {
                        tr {
                            td { (r.seq) }
                            td { (r.kind) }
                            td { @match r.actor_id { Some(a) => code { (a as u64) }, None => span.muted { "bot" } } }
                            td { (when(&r.created_at)) }
                            td.opt { code { (r.payload.as_deref().unwrap_or("(redacted)")) } }
                        }
                    } }
                } }
            }
        },
    ))
}

fn back(g: &GuildPage, case_no: i64, done: &str) -> Response {
    after_post(
        &format!("{}/{case_no}", guild_href(g.guild_id, "cases")),
        true,
        done,
    )
}

/// `POST …/reverse`: undoes the action on Discord, then records it.
pub async fn reverse(
    State(state): State<WebState>,
    g: GuildPage,
    Path((_, case_no)): Path<(u64, i64)>,
    Form(f): Form<NoteForm>,
) -> Result<Response, PageError> {
    g.viewer.check_csrf(&f.csrf)?;
    let why = f.reason.trim();
    if why.is_empty() {
        return Err(PageError::BadRequest(
            "Say why the case is reversed.".into(),
        ));
    }
    let r = state
        .service()
        .reverse_case(g.guild_id, case_no, g.viewer.id(), why)
        .await?;
    Ok(back(
        &g,
        case_no,
        &format!("Case #{} reversed.", r.case.case_no),
    ))
}

/// `POST …/confirm`: the moderators' verdict that the automatic action was right.
pub async fn confirm(
    State(state): State<WebState>,
    g: GuildPage,
    Path((_, case_no)): Path<(u64, i64)>,
    Form(f): Form<NoteForm>,
) -> Result<Response, PageError> {
    g.viewer.check_csrf(&f.csrf)?;
    let case = state.service().case(g.guild_id, case_no).await?;
    state
        .service()
        .confirm_case(case.case_id, g.viewer.id())
        .await?;
    Ok(back(
        &g,
        case_no,
        "Confirmed: recorded as a correct decision.",
    ))
}

/// `POST …/note`.
pub async fn note(
    State(state): State<WebState>,
    g: GuildPage,
    Path((_, case_no)): Path<(u64, i64)>,
    Form(f): Form<NoteForm>,
) -> Result<Response, PageError> {
    g.viewer.check_csrf(&f.csrf)?;
    state
        .service()
        .add_case_note(g.guild_id, case_no, g.viewer.id(), &f.note)
        .await?;
    Ok(back(&g, case_no, "Note added to the audit trail."))
}
