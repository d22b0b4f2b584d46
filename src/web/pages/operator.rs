//! `/operator`, for the owners named in `web.owners` only (anyone else gets 404): this process
//! and its shards, the other processes' shard heartbeats, the model and its queue, Postgres,
//! Redis, the message writer, the version and the applied migrations.

use crate::web::guard::Viewer;
use crate::web::layout::{page, when};
use crate::web::{PageError, WebState};
use axum::extract::State;
use axum::routing::get;
use axum::Router;
use maud::{html, Markup};
use std::time::Duration;

/// This section's routes.
pub fn routes() -> Router<WebState> {
    Router::new().route("/operator", get(show))
}

/// A duration as people read it: `45 s`, `12 min`, `3 h 5 min`, `2 d 4 h`.
pub fn duration_text(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0..=59 => format!("{s} s"),
        60..=3599 => format!("{} min", s / 60),
        3600..=86_399 => format!("{} h {} min", s / 3600, s % 3600 / 60),
        _ => format!("{} d {} h", s / 86_400, s % 86_400 / 3600),
    }
}

fn ok_badge(ok: bool, yes: &str, no: &str) -> Markup {
    html! {
        @if ok { span.badge.applied { (yes) } } @else { span.badge.reversed { (no) } }
    }
}

/// `GET /operator`.
pub async fn show(State(state): State<WebState>, viewer: Viewer) -> Result<Markup, PageError> {
    if !viewer.owner {
        return Err(PageError::NotFound);
    }
    let service = state.service();
    let s = service.status(0).await;
    let migrations = service.migrations().await;
    Ok(page(
        "Operator",
        Some(&viewer),
        html! {
            h1 { "Operator" }
            div.grid {
                section.card data-testid="operator-version" {
                    h2 { "This process" }
                    p { "usmca-bot " strong { (env!("CARGO_PKG_VERSION")) } }
                    p { "Up " (duration_text(s.uptime)) " · shards " code { (s.shard_label) } }
                    @if !s.restart_pending.is_empty() {
                        p.flash.error { "A restart is needed to apply: " (s.restart_pending.join(", ")) }
                    }
                }
                section.card data-testid="operator-model" {
                    h2 { "Model" }
                    p { code { (s.model.name) } " " (ok_badge(s.model.loaded, "loaded", "not running")) }
                    p data-testid="operator-queue" { "Queue depth " strong { (s.model.queue_depth) } }
                    p { (s.model.messages) " texts classified"
                        @if let Some(d) = s.model.since_last { ", the last " (duration_text(d)) " ago" } }
                }
                section.card data-testid="operator-stores" {
                    h2 { "Stores" }
                    p { "Postgres "
                        @match &s.postgres {
                            Ok(d) => { (ok_badge(true, "up", "")) " " (format!("{:.1} ms", d.as_secs_f64() * 1000.0)) },
                            Err(e) => { (ok_badge(false, "", "down")) " " (e) },
                        }
                    }
                    p { "Redis " (ok_badge(s.redis_ok, "up", "away: in-process windows")) }
                    p { "Message writer: " (s.writer.0) " written, " (s.writer.1) " queued" }
                }
            }
            section {
                h2 { "Shards of this process" }
                @if s.shards.is_empty() {
                    p.card { "No shard started yet." }
                } @else {
                    div.table-wrap { table data-testid="operator-shards" {
                        thead { tr { th { "Shard" } th { "Stage" } th { "Latency" } } }
                        tbody { @for l in &s.shards {
                            tr { td { (l.id) } td { (l.stage) }
                                td { @match l.latency { Some(d) => (format!("{} ms", d.as_millis())), None => span.muted { "–" } } } }
                        } }
                    } }
                }
            }
            section {
                h2 { "Other processes (shard heartbeats)" }
                @if s.other_processes.is_empty() {
                    p.card data-testid="operator-processes" { "No other process is sending heartbeats." }
                } @else {
                    ul.card data-testid="operator-processes" { @for line in &s.other_processes { li { (line) } } }
                }
            }
            section {
                h2 { "Migrations" }
                @match &migrations {
                    Err(e) => p.flash.error { "Could not read the migrations: " (e) },
                    Ok(m) => {
                        p data-testid="operator-migrations-summary" {
                            (m.applied.iter().filter(|l| l.success).count()) " applied of the " (m.known) " this build carries"
                            @if m.applied.iter().filter(|l| l.success).count() < m.known { " · run " code { "usmca-bot migrate" } }
                        }
                        @if !m.applied.is_empty() {
                            div.table-wrap { table data-testid="operator-migrations" {
                                thead { tr { th { "Version" } th { "Migration" } th.opt { "Applied" } th { "State" } } }
                                tbody { @for l in &m.applied {
                                    tr { td { code { (l.version) } } td { (l.description) } td.opt { (when(&l.installed_on)) }
                                        td { (ok_badge(l.success, "done", "failed")) } }
                                } }
                            } }
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
    fn durations_in_words() {
        assert_eq!(duration_text(Duration::from_secs(45)), "45 s");
        assert_eq!(duration_text(Duration::from_secs(720)), "12 min");
        assert_eq!(
            duration_text(Duration::from_secs(3600 * 3 + 300)),
            "3 h 5 min"
        );
        assert_eq!(
            duration_text(Duration::from_secs(86_400 * 2 + 3600 * 4)),
            "2 d 4 h"
        );
    }
}
