//! The guild's audit log: the hash-chained rows newest first, filtered by kind and member,
//! keyset-paginated, and a "Verify chain" button that walks the whole chain.

use crate::moderation::AuditFilter;
use crate::web::guard::GuildPage;
use crate::web::layout::{csrf_field, guild_href, guild_page, when};
use crate::web::{PageError, WebState};
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::routing::{get, post};
use axum::{Form, Router};
use maud::{html, Markup};
use serde::Deserialize;

/// Rows per page.
pub const PAGE: i64 = 50;

/// Event kinds offered as suggestions in the kind filter.
const KINDS: [&str; 16] = [
    "case.created",
    "case.status",
    "case.reversed",
    "case.reverse_failed",
    "case.confirmed",
    "case.note",
    "case.reason",
    "appeal.created",
    "appeal.decided",
    "guild.settings",
    "incident.opened",
    "incident.closed",
    "incident.slowmode",
    "dashboard.access_granted",
    "dashboard.access_revoked",
    "privacy.forget",
];

/// This section's routes.
pub fn routes() -> Router<WebState> {
    Router::new()
        .route("/g/{guild}/audit", get(list))
        .route("/g/{guild}/audit/verify", post(verify))
}

/// The list's query string; empty fields mean "any".
#[derive(Debug, Default, Deserialize)]
pub struct AuditQuery {
    #[serde(default)]
    kind: String,
    #[serde(default)]
    user: String,
    #[serde(default)]
    before: String,
}

impl AuditQuery {
    /// The service filter, or what to fix.
    pub fn filter(&self) -> Result<AuditFilter, PageError> {
        let kind = match self.kind.trim() {
            "" => None,
            k if k.len() <= 64
                && k.chars()
                    .all(|c| c.is_ascii_lowercase() || c == '.' || c == '_') =>
            {
                Some(k.to_string())
            }
            k => {
                return Err(PageError::BadRequest(format!(
                    "kind {k:?}: an event kind such as case.created (lower-case letters, dots, underscores)"
                )))
            }
        };
        let user = match self.user.trim() {
            "" => None,
            u => Some(crate::domain::setting_keys::parse_id(u).map_err(PageError::BadRequest)?),
        };
        let before_seq = match self.before.trim() {
            "" => None,
            b => Some(b.parse::<i64>().map_err(|_| {
                PageError::BadRequest("before: a sequence number (the # column)".into())
            })?),
        };
        Ok(AuditFilter {
            kind,
            user,
            before_seq,
        })
    }

    /// The query string of the next page.
    fn with_before(&self, before: i64) -> String {
        let mut q: Vec<String> = [("kind", &self.kind), ("user", &self.user)]
            .iter()
            .filter(|(_, v)| !v.trim().is_empty())
            .map(|(k, v)| format!("{k}={}", crate::web::auth::encode(v.trim())))
            .collect();
        q.push(format!("before={before}"));
        q.join("&")
    }
}

fn id_cell(id: Option<i64>, none: &str) -> Markup {
    match id {
        // Ids are stored bit-cast to signed.
        Some(a) => html! { code { (a as u64) } },
        None => html! { span.muted { (none) } },
    }
}

fn verify_result(result: Option<&Result<u64, String>>) -> Markup {
    html! {
        div #verify-result data-testid="verify-result" role="status" aria-live="polite" {
            @match result {
                None => {}
                Some(Ok(rows)) => p.flash.ok data-verify="ok" {
                    "The chain is intact: " (rows) " rows checked."
                },
                Some(Err(m)) => p.flash.error data-verify="broken" {
                    "The chain is broken: " (m)
                },
            }
        }
    }
}

async fn render(
    state: &WebState,
    g: &GuildPage,
    q: &AuditQuery,
    verified: Option<&Result<u64, String>>,
) -> Result<Markup, PageError> {
    let filter = q.filter()?;
    let rows = state
        .service()
        .audit_page(g.guild_id, &filter, PAGE)
        .await?;
    let action = guild_href(g.guild_id, "audit");
    Ok(guild_page(
        g,
        "audit",
        "Audit log",
        html! {
            h1 { "Audit log" }
            section.card {
                p.muted { "Every action and change is a row in a hash chain; verifying walks the whole chain and changes nothing." }
                form method="post" action=(format!("{action}/verify")) hx-post=(format!("{action}/verify")) hx-target="#verify-result" hx-swap="outerHTML" {
                    (csrf_field(&g.viewer))
                    button.secondary type="submit" data-testid="verify-chain" { "Verify chain" }
                }
                (verify_result(verified))
            }
            form.filters method="get" action=(action) {
                label { "Kind" input name="kind" list="audit-kinds" value=(q.kind) placeholder="any" autocomplete="off"; }
                datalist #audit-kinds { @for k in KINDS { option value=(k) {} } }
                label { "Member or moderator id" input name="user" inputmode="numeric" value=(q.user) placeholder="any"; }
                button type="submit" { "Filter" }
            }
            @if rows.is_empty() {
                p.card data-testid="audit-empty" { "No audit row matches." }
            } @else {
                div.table-wrap { table data-testid="audit-rows" {
                    thead { tr { th { "#" } th { "Event" } th { "By" } th.opt { "About" } th { "When" } th.opt { "Details" } } }
                    tbody { @for r in &rows {
                        tr data-seq=(r.seq) {
                            td { (r.seq) }
                            td { code { (r.kind) } }
                            td { (id_cell(r.actor_id, "bot")) }
                            td.opt { (id_cell(r.target_id, "–")) }
                            td { (when(&r.created_at)) }
                            td.opt {
                                @match &r.payload {
                                    Some(p) => details { summary { "details" } pre { (p) } },
                                    None => span.muted { "(redacted)" },
                                }
                            }
                        }
                    } }
                } }
                @if rows.len() as i64 == PAGE {
                    @if let Some(last) = rows.last() {
                        nav.pager aria-label="Pages" {
                            a.button href=(format!("{action}?{}", q.with_before(last.seq))) data-testid="audit-older" { "Older rows →" }
                        }
                    }
                }
            }
        },
    ))
}

/// `GET /g/{guild}/audit?kind=&user=&before=`.
pub async fn list(
    State(state): State<WebState>,
    g: GuildPage,
    Query(q): Query<AuditQuery>,
) -> Result<Markup, PageError> {
    render(&state, &g, &q, None).await
}

/// `POST /g/{guild}/audit/verify`: the result alone for htmx, else the page with it.
pub async fn verify(
    State(state): State<WebState>,
    g: GuildPage,
    headers: HeaderMap,
    Form(f): Form<crate::web::auth::CsrfForm>,
) -> Result<Markup, PageError> {
    g.viewer.check_csrf(&f.csrf)?;
    let result = state.service().verify_guild_audit(g.guild_id).await;
    if headers.contains_key("hx-request") {
        return Ok(verify_result(Some(&result)));
    }
    render(&state, &g, &AuditQuery::default(), Some(&result)).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(kind: &str, user: &str, before: &str) -> AuditQuery {
        AuditQuery {
            kind: kind.into(),
            user: user.into(),
            before: before.into(),
        }
    }

    #[test]
    fn filters_parse_and_reject_with_a_fix() {
        let f = q("case.created", "<@123>", "40").filter().ok();
        assert_eq!(
            f,
            Some(AuditFilter {
                kind: Some("case.created".into()),
                user: Some(123),
                before_seq: Some(40),
            })
        );
        assert_eq!(q("", "", "").filter().ok(), Some(AuditFilter::default()));
        assert!(q("DROP TABLE", "", "").filter().is_err());
        assert!(q("", "bob", "").filter().is_err());
        assert!(q("", "", "x").filter().is_err());
    }

    #[test]
    fn next_page_keeps_the_filters() {
        assert_eq!(
            q("case.note", " 5 ", "99").with_before(40),
            "kind=case%2Enote&user=5&before=40"
        );
        assert_eq!(q("", "", "").with_before(7), "before=7");
    }
}
