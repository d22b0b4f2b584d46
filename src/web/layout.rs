//! The page shell and small shared pieces of markup. maud escapes every interpolated value, so
//! names, reasons and message excerpts can never inject markup.

use super::guard::{GuildPage, Viewer};
use crate::domain::Case;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{DateTime, Utc};
use maud::{html, Markup, PreEscaped, DOCTYPE};
use serde::Deserialize;

/// The sections of a guild, in the navigation's order: (path segment, label).
pub const SECTIONS: &[(&str, &str)] = &[
    ("", "Overview"),
    ("cases", "Cases"),
    ("members", "Members"),
    ("appeals", "Appeals"),
    ("incidents", "Incidents"),
    ("settings", "Settings"),
    ("audit", "Audit log"),
    ("try", "Try a message"),
    ("access", "Access"),
];

fn head(title: &str) -> Markup {
    html! {
        head {
            meta charset="utf-8";
            meta name="viewport" content="width=device-width, initial-scale=1";
            // htmx: no eval, no injected indicator styles (the CSP allows neither).
            meta name="htmx-config" content=r#"{"allowEval":false,"includeIndicatorStyles":false,"allowScriptTags":false}"#;
            link rel="icon" href="data:,";
            link rel="stylesheet" href="/assets/dashboard.css";
            link rel="stylesheet" href="/assets/uPlot.min.css";
            script src="/assets/htmx.min.js" defer {}
            script src="/assets/uPlot.iife.min.js" defer {}
            script src="/assets/dashboard.js" defer {}
            title { (title) " · usmca-bot" }
        }
    }
}

fn top(viewer: Option<&Viewer>) -> Markup {
    html! {
        a.skip href="#main" { "Skip to content" }
        header.top {
            a.brand href="/" { "usmca-bot" }
            @if let Some(v) = viewer {
                a href="/me" { "My cases" }
                @if v.owner { a href="/operator" { "Operator" } }
                span.who {
                    span data-testid="username" { (v.session.username) }
                    form.inline method="post" action="/logout" {
                        (csrf_field(v))
                        button.secondary type="submit" { "Log out" }
                    }
                }
            }
        }
    }
}

/// A page outside any guild.
pub fn page(title: &str, viewer: Option<&Viewer>, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            (head(title))
            body {
                (top(viewer))
                main #main { (body) }
            }
        }
    }
}

/// A guild page with the guild's navigation; `section` is the current one.
pub fn guild_page(g: &GuildPage, section: &str, title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            (head(&format!("{title} · {}", g.guild_name)))
            body {
                (top(Some(&g.viewer)))
                nav.guild aria-label="Server" {
                    strong { (g.guild_name) }
                    @for (seg, label) in SECTIONS {
                        @let href = guild_href(g.guild_id, seg);
                        @if *seg == section {
                            a href=(href) aria-current="page" { (label) }
                        } @else {
                            a href=(href) { (label) }
                        }
                    }
                }
                main #main { (body) }
            }
        }
    }
}

/// `/g/{guild}/{segment}`.
pub fn guild_href(guild_id: u64, segment: &str) -> String {
    if segment.is_empty() {
        format!("/g/{guild_id}/")
    } else {
        format!("/g/{guild_id}/{segment}")
    }
}

/// The hidden CSRF field of a form.
pub fn csrf_field(v: &Viewer) -> Markup {
    html! { input type="hidden" name="csrf" value=(v.session.csrf); }
}

/// An error page.
pub fn error_page(title: &str, text: &str) -> Markup {
    page(
        title,
        None,
        html! {
            h1 { (title) }
            p.flash.error role="alert" { (text) }
            p { a href="/" { "Back to the dashboard" } }
        },
    )
}

/// A flash message after a change.
pub fn flash(ok: bool, text: &str) -> Markup {
    let class = if ok { "flash ok" } else { "flash error" };
    html! { p class=(class) role=(if ok { "status" } else { "alert" }) { (text) } }
}

/// A time in UTC, minutes precision, with the full value in the title.
pub fn when(t: &DateTime<Utc>) -> Markup {
    html! { time datetime=(t.to_rfc3339()) title=(t.to_rfc3339()) { (t.format("%Y-%m-%d %H:%M")) } }
}

/// A case's status badge.
pub fn status_badge(c: &Case) -> Markup {
    let s = c.status.as_str();
    html! { span class={ "badge " (s) } { (s) } @if c.dry_run { " " span.badge { "dry-run" } } }
}

/// Who acted on a case.
pub fn actor(c: &Case) -> Markup {
    match c.actor_id {
        None => html! { span.muted { "automatic" } },
        Some(id) => html! { "moderator " code { (id) } },
    }
}

/// Embeds `value` as JSON for the page script (`<script type="application/json">`, never
/// executed); `</` is escaped so the data cannot close the element.
pub fn json_data(id: &str, value: &serde_json::Value) -> Markup {
    let text = serde_json::to_string(value)
        .unwrap_or_else(|_| "null".into())
        .replace("</", "<\\/")
        .replace("<!--", "<\\!--");
    html! { script type="application/json" id=(id) { (PreEscaped(text)) } }
}

/// The redirect after a POST (so a reload never repeats it): back to `path`, whose page shows
/// `text` as a flash (`?done=` when it went as asked, `?failed=` otherwise).
pub fn after_post(path: &str, ok: bool, text: &str) -> Response {
    Redirect::to(&format!(
        "{path}?{}={}",
        if ok { "done" } else { "failed" },
        super::auth::encode(text)
    ))
    .into_response()
}

/// A form with the CSRF token and a moderator's text: a reason (reverse, deny) or a note.
#[derive(Debug, Default, Deserialize)]
pub struct NoteForm {
    /// The CSRF token.
    #[serde(default)]
    pub csrf: String,
    /// A reason.
    #[serde(default)]
    pub reason: String,
    /// A note.
    #[serde(default)]
    pub note: String,
}
