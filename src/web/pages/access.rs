//! Dashboard access, for the server's administrators only: who besides moderators may use the
//! dashboard (users or roles granted moderator access), granting and revoking (audited).

use crate::web::guard::GuildPage;
use crate::web::layout::after_post;
use crate::web::layout::{csrf_field, flash, guild_href, guild_page, when};
use crate::web::{PageError, WebState};
use axum::extract::{Query, State};
use axum::response::Response;
use axum::routing::get;
use axum::{Form, Router};
use maud::{html, Markup};
use serde::Deserialize;
use std::collections::HashMap;

/// This section's routes.
pub fn routes() -> Router<WebState> {
    Router::new().route("/g/{guild}/access", get(show).post(change))
}

/// `GET /g/{guild}/access`.
pub async fn show(
    State(state): State<WebState>,
    g: GuildPage,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Markup, PageError> {
    g.require_admin()?;
    let grants = state.service().dashboard_grants(g.guild_id).await?;
    let action = guild_href(g.guild_id, "access");
    Ok(guild_page(
        &g,
        "access",
        "Access",
        html! {
            @if let Some(m) = q.get("done") { (flash(true, m)) }
            h1 { "Dashboard access" }
            p.muted { "Administrators (Administrator or Manage Server) and moderators (Manage Messages, Moderate Members or a moderator role) can always open this dashboard. Grant others moderator access here." }
            section {
                h2 { "Granted" }
                @if grants.is_empty() {
                    p.card data-testid="no-grants" { "No one is granted access beyond the server's own rights." }
                } @else {
                    div.table-wrap { table data-testid="grants" {
                        thead { tr { th { "Who" } th.opt { "Granted by" } th.opt { "When" } th { span.visually-hidden { "Revoke" } } } }
                        tbody { @for gr in &grants {
                            tr data-testid="grant-row" data-kind=(gr.kind) data-subject=(gr.subject_id) {
                                td { (gr.kind) " " code { (gr.subject_id) } }
                                td.opt { code { (gr.granted_by) } }
                                td.opt { (when(&gr.created_at)) }
                                td {
                                    form method="post" action=(action) {
                                        (csrf_field(&g.viewer))
                                        input type="hidden" name="op" value="revoke";
                                        input type="hidden" name="kind" value=(gr.kind);
                                        input type="hidden" name="subject" value=(gr.subject_id);
                                        button.danger type="submit" data-testid="grant-revoke"
                                            aria-label=(format!("Revoke {} {}", gr.kind, gr.subject_id)) { "Revoke" }
                                    }
                                }
                            }
                        } }
                    } }
                }
            }
            section.card {
                h2 { "Grant access" }
                form.filters method="post" action=(action) data-testid="grant-form" {
                    (csrf_field(&g.viewer))
                    input type="hidden" name="op" value="grant";
                    label { "A user or a role"
                        select name="kind" {
                            option value="user" { "user" }
                            option value="role" { "role" }
                        }
                    }
                    label { "Its id" input name="subject" required inputmode="numeric" autocomplete="off" placeholder="e.g. 412345678901234567"; }
                    button type="submit" data-testid="grant-submit" { "Grant" }
                }
                p.muted { "Copy an id in Discord with Developer Mode on: right-click the user or role → Copy ID." }
            }
        },
    ))
}

/// The grant / revoke form.
#[derive(Debug, Deserialize)]
pub struct GrantForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    op: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    subject: String,
}

/// What a grant change did, in words.
pub fn change_text(add: bool, kind: &str, subject: &str, changed: bool) -> String {
    let who = format!("{kind} {}", subject.trim());
    match (add, changed) {
        (true, true) => format!("Access granted to {who}."),
        (true, false) => format!("{who} already had access."),
        (false, true) => format!("Access revoked from {who}."),
        (false, false) => format!("{who} had no grant."),
    }
}

/// `POST /g/{guild}/access`: grants or revokes, then back to the page.
pub async fn change(
    State(state): State<WebState>,
    g: GuildPage,
    Form(f): Form<GrantForm>,
) -> Result<Response, PageError> {
    g.viewer.check_csrf(&f.csrf)?;
    g.require_admin()?;
    let add = match f.op.as_str() {
        "grant" => true,
        "revoke" => false,
        _ => return Err(PageError::BadRequest("Choose grant or revoke.".into())),
    };
    let changed = state
        .service()
        .set_dashboard_grant(g.guild_id, &f.kind, &f.subject, g.viewer.id(), add)
        .await?;
    let done = change_text(add, &f.kind, &f.subject, changed);
    Ok(after_post(&guild_href(g.guild_id, "access"), true, &done))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn change_texts() {
        assert_eq!(
            change_text(true, "role", " 5 ", true),
            "Access granted to role 5."
        );
        assert_eq!(
            change_text(true, "user", "5", false),
            "user 5 already had access."
        );
        assert_eq!(
            change_text(false, "user", "5", true),
            "Access revoked from user 5."
        );
        assert_eq!(
            change_text(false, "role", "5", false),
            "role 5 had no grant."
        );
    }
}
