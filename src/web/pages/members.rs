//! Members: search by id prefix, and one member's page: their cases page by page, their
//! standing (active strike points and when each fades, as `/mod history` shows it), a chart of
//! their strike points over the next 30 days, and their recent flagged messages.

use crate::moderation::{MemberRecord, ServiceError};
use crate::web::guard::GuildPage;
use crate::web::layout::{actor, guild_href, guild_page, json_data, status_badge, when};
use crate::web::{PageError, WebState};
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::routing::get;
use axum::Router;
use maud::{html, Markup};
use serde::Deserialize;
use serde_json::json;

/// Days the strike chart looks ahead.
pub const FORECAST_DAYS: u32 = 30;

/// This section's routes.
pub fn routes() -> Router<WebState> {
    Router::new()
        .route("/g/{guild}/members", get(list))
        .route("/g/{guild}/members/{user}", get(show))
}

/// The search's query string.
#[derive(Debug, Default, Deserialize)]
pub struct SearchQuery {
    #[serde(default)]
    q: String,
}

/// Whether a stored message's decision counts it as flagged: an action was decided (the
/// overview's flagged counts use the same decisions).
pub fn is_flagged(decision: &str) -> bool {
    matches!(decision, "warn" | "delete" | "timeout" | "kick" | "ban")
}

/// The first `n` characters of `s`, with an ellipsis when cut (the case page has the rest).
fn short(s: &str, n: usize) -> String {
    match s.char_indices().nth(n) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

fn member_href(guild_id: u64, user_id: u64) -> String {
    format!("{}/{user_id}", guild_href(guild_id, "members"))
}

/// `GET /g/{guild}/members?q=`: an htmx request gets only the results.
pub async fn list(
    State(state): State<WebState>,
    g: GuildPage,
    headers: HeaderMap,
    Query(q): Query<SearchQuery>,
) -> Result<Markup, PageError> {
    let (found, problem) = match state.service().search_members(g.guild_id, &q.q).await {
        Ok(f) => (f, None),
        // A wrong search is shown beside the form, not as an error page.
        Err(ServiceError::Invalid(m)) => (Vec::new(), Some(m)),
        Err(e) => return Err(e.into()),
    };
    let results = html! {
        div #member-results data-testid="member-results" {
            @if let Some(m) = &problem {
                p.flash.error role="alert" { (m) }
            } @else if found.is_empty() {
                p.card {
                    @if q.q.trim().is_empty() { "No member has cases in the last 30 days." }
                    @else { "No member's id starts with " code { (q.q.trim()) } "." }
                }
            } @else {
                @if q.q.trim().is_empty() {
                    p.muted { "Members with the most cases in the last 30 days." }
                }
                div.table-wrap { table {
                    thead { tr { th { "Member" } th { "Cases" } th.opt { "Messages" } th.opt { "Last seen" } } }
                    tbody { @for m in &found {
                        tr data-member=(m.user_id) {
                            td { a href=(member_href(g.guild_id, m.user_id)) { code { (m.user_id) } } }
                            td { (m.cases) }
                            td.opt { (m.message_count) }
                            td.opt { (when(&m.last_seen)) }
                        }
                    } }
                } }
            }
        }
    };
    if headers.contains_key("hx-request") {
        return Ok(results);
    }
    let action = guild_href(g.guild_id, "members");
    Ok(guild_page(
        &g,
        "members",
        "Members",
        html! {
            h1 { "Members" }
            form.filters role="search" method="get" action=(action) hx-get=(action) hx-target="#member-results" hx-select="#member-results" hx-swap="outerHTML" hx-push-url="true" {
                label { "User id (or its first digits)"
                    input type="search" name="q" inputmode="numeric" value=(q.q) autocomplete="off" placeholder="e.g. 4123"; }
                button type="submit" { "Search" }
            }
            (results)
        },
    ))
}

/// The member page's query string.
#[derive(Debug, Default, Deserialize)]
pub struct PageQuery {
    #[serde(default)]
    page: Option<i64>,
}

fn standing(r: &MemberRecord) -> Markup {
    html! {
        @if r.strikes.is_empty() {
            p data-testid="no-strikes" { "No active strikes." }
        } @else {
            p { "Active strike points: " strong data-testid="strike-points" { (format!("{:.1}", r.strike_points)) } }
            ul data-testid="strikes" {
                @for s in &r.strikes {
                    li { (format!("{:.1}", s.now)) " of " (format!("{:.0}", s.points)) " points from "
                        (when(&s.at)) ", fades " (when(&s.fades_at)) }
                }
            }
        }
    }
}

/// `GET /g/{guild}/members/{user}?page=`.
pub async fn show(
    State(state): State<WebState>,
    g: GuildPage,
    Path((_, user)): Path<(u64, String)>,
    Query(pq): Query<PageQuery>,
) -> Result<Markup, PageError> {
    let user: u64 = user.trim().parse().map_err(|_| PageError::NotFound)?;
    let page = pq.page.unwrap_or(0).max(0);
    let service = state.service();
    let r = service.member_record(g.guild_id, user, page).await?;
    let forecast = service.strike_forecast(g.guild_id, &r, FORECAST_DAYS);
    let chart = json!({
        "title": "Strike points",
        "series": ["strike points"],
        "data": [forecast.at, forecast.points],
    });
    let here = member_href(g.guild_id, user);
    let flagged: Vec<_> = r
        .history
        .messages
        .iter()
        .filter(|m| is_flagged(&m.decision))
        .collect();
    Ok(guild_page(
        &g,
        "members",
        &format!("Member {user}"),
        html! {
            h1 { "Member " code { (user) } }
            div.grid {
                section.card data-testid="member-facts" {
                    h2 { "Member" }
                    @match &r.history.member {
                        Some(m) => {
                            p { "Joined " @match &m.joined_at { Some(t) => (when(t)), None => span.muted { "unknown" } } }
                            p { "Account created " (when(&m.account_created_at)) }
                            p { (m.message_count) " messages seen, last " (when(&m.last_seen)) }
                        }
                        None => p.muted { "The bot has not seen this member post." },
                    }
                    p { a href=(format!("{}?member={user}", guild_href(g.guild_id, "cases"))) { "All their cases" } }
                }
                section.card data-testid="standing" {
                    h2 { "Standing" }
                    (standing(&r))
                }
            }
            @if !r.strikes.is_empty() {
                section.card {
                    h2 { "Strike points over the next " (FORECAST_DAYS) " days" }
                    div.chart data-source="chart-strikes-data" data-testid="chart-strikes" role="img"
                        aria-label=(format!("Strike points now {:.1}, falling as each strike's points halve", r.strike_points)) {
                        p.muted { "Strike points now " (format!("{:.1}", r.strike_points)) "." }
                    }
                    (json_data("chart-strikes-data", &chart))
                }
            }
            section {
                h2 { "Cases" }
                @if r.total_cases == 0 {
                    p.card data-testid="no-cases" { "No cases." }
                } @else {
                    p.muted { (r.total_cases) " in all, page " (r.page + 1) " of " (r.pages) }
                    div.table-wrap { table data-testid="member-cases" {
                        thead { tr { th { "Case" } th { "Action" } th { "Status" } th.opt { "By" } th.opt { "When" } th { "Reason" } } }
                        tbody { @for c in &r.history.cases {
                            tr data-case=(c.case_no) {
                                td { a href=(format!("{}/{}", guild_href(g.guild_id, "cases"), c.case_no)) { "#" (c.case_no) } }
                                td { (c.action.as_str()) }
                                td { (status_badge(c)) }
                                td.opt { (actor(c)) }
                                td.opt { (when(&c.created_at)) }
                                td { (short(&c.reason, 160)) }
                            }
                        } }
                    } }
                    @if r.pages > 1 {
                        nav.pager aria-label="Pages" {
                            @if r.page > 0 { a.button href=(format!("{here}?page={}", r.page - 1)) data-testid="cases-newer" { "← Newer" } }
                            @if r.page + 1 < r.pages { a.button href=(format!("{here}?page={}", r.page + 1)) data-testid="cases-older" { "Older →" } }
                        }
                    }
                }
            }
            section {
                h2 { "Recent flagged messages" }
                @if flagged.is_empty() {
                    p.muted { "None among their " (r.history.messages.len()) " most recent messages." }
                } @else {
                    ul.plain data-testid="flagged-messages" {
                        @for m in &flagged {
                            li.card {
                                p { strong { (m.decision) } " · " (when(&m.created_at)) " · top score " (format!("{:.2}", m.max_score)) }
                                @match &m.content {
                                    Some(t) => blockquote { (t) },
                                    None => p.muted { "No text stored (the server does not store content, or it was purged)." },
                                }
                            }
                        }
                    }
                }
            }
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flagged_leaves_out_clean_and_unscored_messages() {
        assert!(is_flagged("warn"));
        assert!(is_flagged("ban"));
        assert!(!is_flagged("none"));
        assert!(!is_flagged("error"));
        assert!(!is_flagged("allow"));
    }

    #[test]
    fn short_cuts_on_characters() {
        assert_eq!(short("héllo", 2), "hé…");
        assert_eq!(short("hi", 2), "hi");
    }
}
