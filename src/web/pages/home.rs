//! `/`: the servers the user may open, and links to their own cases.

use crate::moderation::Access;
use crate::web::guard::Viewer;
use crate::web::layout::{guild_href, page};
use crate::web::{PageError, WebState};
use axum::extract::State;
use maud::{html, Markup};

/// `GET /`.
pub async fn home(State(state): State<WebState>, viewer: Viewer) -> Result<Markup, PageError> {
    let service = state.service();
    let candidates: Vec<u64> = viewer.session.guilds.iter().map(|g| g.id).collect();
    let served = service.served_guilds(&candidates).await;
    let mut rows = Vec::new();
    for g in viewer
        .session
        .guilds
        .iter()
        .filter(|g| served.contains(&g.id))
    {
        if let Some(a @ (Access::Moderator | Access::Admin)) =
            service.dashboard_access(g.id, viewer.id()).await
        {
            rows.push((g, a));
        }
    }
    Ok(page(
        "Servers",
        Some(&viewer),
        html! {
            h1 { "Your servers" }
            @if rows.is_empty() {
                p.card {
                    "You moderate no server that uses usmca-bot. "
                    "To see your own cases and appeal them, open "
                    a href="/me" { "My cases" } "."
                }
            } @else {
                ul.grid role="list" {
                    @for (g, a) in &rows {
                        li.card {
                            a href=(guild_href(g.id, "")) { strong { (g.name) } }
                            br;
                            span.muted { @if *a == Access::Admin { "administrator" } @else { "moderator" } }
                        }
                    }
                }
            }
            p { a href="/me" { "My own cases and appeals" } }
        },
    ))
}
