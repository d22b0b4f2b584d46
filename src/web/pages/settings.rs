//! Settings: every per-guild key as a form field (stored value; empty means the global default,
//! shown as the placeholder), the channels' own thresholds, saving (administrators: only the
//! fields that changed, validated and audited like `/mod config set`), and the what-if preview
//! that replays the last days' stored messages through the draft (moderators too).

use crate::decision::{Action, WhatIf};
use crate::domain::setting_keys::parse_id;
use crate::domain::ThresholdOverrides;
use crate::moderation::{Access, ServiceError, SettingField, SettingProblem, SettingsForm};
use crate::web::guard::GuildPage;
use crate::web::layout::after_post;
use crate::web::layout::{csrf_field, flash, guild_href, guild_page, when};
use crate::web::{PageError, WebState};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use chrono::{TimeZone, Utc};
use maud::{html, Markup};
use std::collections::HashMap;

/// Days a preview replays unless told otherwise.
pub const DEFAULT_DAYS: i64 = 7;
/// Most days a preview replays.
pub const MAX_DAYS: i64 = 30;
/// Rows of the what-if differences table.
pub const DIFF_ROWS: usize = 100;
/// The actions the what-if counts, in the table's order.
pub const COUNTED: [Action; 5] = [
    Action::Warn,
    Action::Timeout,
    Action::Kick,
    Action::Ban,
    Action::Delete,
];
/// The prefix of the hidden field holding a field's value as the page showed it.
pub const WAS: &str = "was:";
/// The channel form's fields: the channel, then its four thresholds.
pub const CHANNEL_ID: &str = "channel_id";
const LEVELS: [&str; 4] = ["warn", "timeout", "kick", "ban"];

/// This section's routes.
pub fn routes() -> Router<WebState> {
    Router::new()
        .route("/g/{guild}/settings", get(show).post(save))
        .route("/g/{guild}/settings/preview", post(preview))
}

/// What a submitted settings form asks for.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Submission {
    /// The CSRF token.
    pub csrf: String,
    /// `days`, as written.
    pub days: Option<String>,
    /// The (key, value) changes: fields whose value differs from what the page showed.
    pub changes: Vec<(String, String)>,
    /// Every submitted key's value (to show the form again as it was sent).
    pub shown: HashMap<String, String>,
    /// The channel form's channel, as written.
    pub channel: Option<String>,
    /// What could not be read (a channel id).
    pub problems: Vec<SettingProblem>,
}

/// A field's value as compared: browsers send line breaks as CRLF, and every key is trimmed
/// when it is read.
fn normal(v: &str) -> String {
    v.replace("\r\n", "\n").trim().to_string()
}

fn level_value(t: &ThresholdOverrides, level: &str) -> Option<f64> {
    match level {
        "warn" => t.warn,
        "timeout" => t.timeout,
        "kick" => t.kick,
        _ => t.ban,
    }
}

fn channel_field(level: &str) -> String {
    format!("channel_{level}")
}

/// Reads a submitted settings form against the stored settings. A key counts as changed when
/// its value differs from the page's hidden `was:` copy (so a field left alone never undoes
/// another administrator's change made meanwhile) or, without one, from the stored value.
/// An emptied field becomes `none` (back to the global default). The channel form's fields
/// (`channel_id`, `channel_warn` …) become `channel.<id>.thresholds.<level>` changes.
pub fn read_submission(fields: &[(String, String)], form: &SettingsForm) -> Submission {
    let get = |name: &str| {
        fields
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let mut out = Submission {
        csrf: get("csrf").unwrap_or_default().to_string(),
        days: get("days").map(str::to_string),
        ..Submission::default()
    };
    for f in &form.fields {
        let Some(value) = get(f.key) else { continue };
        let value = normal(value);
        let was = get(&format!("{WAS}{}", f.key)).map_or_else(|| normal(&f.stored), normal);
        if value != was {
            let v = if value.is_empty() {
                "none".to_string()
            } else {
                value.clone()
            };
            out.changes.push((f.key.to_string(), v));
        }
        out.shown.insert(f.key.to_string(), value);
    }
    let channel = get(CHANNEL_ID).map(normal);
    let levels: Vec<(&str, String)> = LEVELS
        .iter()
        .filter_map(|l| get(&channel_field(l)).map(|v| (*l, normal(v))))
        .collect();
    for (l, v) in &levels {
        out.shown.insert(channel_field(l), v.clone());
    }
    match channel.as_deref() {
        None | Some("") if levels.iter().all(|(_, v)| v.is_empty()) => {}
        None | Some("") => out.problems.push(SettingProblem {
            key: "channel".into(),
            message: "write the channel's id (Developer Mode → Copy ID) before its thresholds"
                .into(),
        }),
        Some(c) => match parse_id(c) {
            Err(e) => out.problems.push(SettingProblem {
                key: "channel".into(),
                message: e,
            }),
            Ok(id) => {
                let stored = form
                    .channels
                    .iter()
                    .find(|(c, _)| *c == id)
                    .map(|(_, t)| *t)
                    .unwrap_or_default();
                for (level, value) in &levels {
                    let was = level_value(&stored, level)
                        .map(|v| v.to_string())
                        .unwrap_or_default();
                    if *value != was {
                        let v = if value.is_empty() { "none" } else { value };
                        out.changes
                            .push((format!("channel.{id}.thresholds.{level}"), v.to_string()));
                    }
                }
            }
        },
    }
    out.channel = channel;
    out
}

/// `days` of a preview: 1 to 30, 7 when not given.
pub fn read_days(days: Option<&str>) -> Result<i64, SettingProblem> {
    let d = days.map(str::trim).unwrap_or("");
    if d.is_empty() {
        return Ok(DEFAULT_DAYS);
    }
    d.parse::<i64>()
        .ok()
        .filter(|d| (1..=MAX_DAYS).contains(d))
        .ok_or_else(|| SettingProblem {
            key: "days".into(),
            message: format!("`{d}` is not a number of days from 1 to {MAX_DAYS}"),
        })
}

/// How a key is edited.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Input {
    Text,
    Decimal,
    Count,
    Choice(Vec<&'static str>),
    Template,
}

fn input_of(key: &str) -> Input {
    match key {
        "dry_run" | "store_content" | "rules.invites" | "brigade.timeout_new_accounts" => {
            Input::Choice(vec!["on", "off"])
        }
        "rules.link_action" | "rules.mention_action" | "rules.spam_action" => {
            Input::Choice(vec!["delete", "ladder", "timeout"])
        }
        "notices.locale" => Input::Choice(
            crate::domain::Locale::ALL
                .iter()
                .map(|l| l.code())
                .collect(),
        ),
        "notices.warn" | "notices.timeout" | "notices.kick" | "notices.ban" => Input::Template,
        k if k.starts_with("thresholds.") || k == "rules.caps_ratio" => Input::Decimal,
        k if k.ends_with("_count")
            || matches!(
                k,
                "rules.mass_mentions"
                    | "rules.emoji_max"
                    | "rules.zalgo_marks"
                    | "rules.attachments_max"
            ) =>
        {
            Input::Count
        }
        _ => Input::Text,
    }
}

/// The form's sections, by the keys' first part.
fn group_of(key: &str) -> &'static str {
    match key.split_once('.').map_or(key, |(g, _)| g) {
        "thresholds" => "Thresholds (behaviour score)",
        "dry_run" | "store_content" | "content_retention" => "Recording",
        "exemptions" => "Exemptions (added to the global ones)",
        "notices" => "Member notices",
        "rules" => "Rules beside the model",
        "brigade" => "Raids and brigades",
        _ => "Channels and roles",
    }
}

fn field_id(key: &str) -> String {
    format!("set-{}", key.replace('.', "-"))
}

/// What the page shows: the stored form, with the submitted values over it after a refused
/// save or a preview, and the problems to fix.
struct View<'a> {
    form: &'a SettingsForm,
    sub: Option<&'a Submission>,
    problems: &'a [SettingProblem],
    days: i64,
}

impl View<'_> {
    fn value(&self, f: &SettingField) -> String {
        self.sub
            .and_then(|s| s.shown.get(f.key))
            .cloned()
            .unwrap_or_else(|| f.stored.clone())
    }

    fn problems_for(&self, key: &str) -> Vec<&SettingProblem> {
        self.problems.iter().filter(|p| p.key == key).collect()
    }
}

fn problem_list(problems: &[SettingProblem]) -> Markup {
    html! {
        @if !problems.is_empty() {
            div.flash.error #settings-problems role="alert" data-testid="settings-problems" {
                p { strong { "Nothing was changed. Fix " (if problems.len() == 1 { "this" } else { "these" }) ":" } }
                ul {
                    @for p in problems {
                        li { @if !p.key.is_empty() { code { (p.key) } ": " } (p.message) }
                    }
                }
            }
        }
    }
}

fn field(v: &View<'_>, f: &SettingField) -> Markup {
    let id = field_id(f.key);
    let hint = format!("{id}-hint");
    let error = format!("{id}-problem");
    let value = v.value(f);
    let problems = v.problems_for(f.key);
    let invalid = (!problems.is_empty()).then_some("true");
    let described = if problems.is_empty() {
        hint.clone()
    } else {
        format!("{error} {hint}")
    };
    html! {
        div.field {
            label for=(id) { code { (f.key) } }
            @match input_of(f.key) {
                Input::Choice(options) => {
                    select id=(id) name=(f.key) aria-describedby=(described) aria-invalid=[invalid] {
                        option value="" selected[value.is_empty()] { "default (" (f.default) ")" }
                        @for o in &options {
                            option value=(o) selected[value == *o] { (o) }
                        }
                        @if !value.is_empty() && !options.contains(&value.as_str()) {
                            option value=(value) selected { (value) }
                        }
                    }
                }
                Input::Template => {
                    textarea id=(id) name=(f.key) rows="3" maxlength="1500" placeholder=(f.default) aria-describedby=(described) aria-invalid=[invalid] { (value) }
                }
                Input::Decimal => {
                    input id=(id) name=(f.key) value=(value) inputmode="decimal" autocomplete="off" placeholder=(f.default) aria-describedby=(described) aria-invalid=[invalid];
                }
                Input::Count => {
                    input id=(id) name=(f.key) value=(value) inputmode="numeric" autocomplete="off" placeholder=(f.default) aria-describedby=(described) aria-invalid=[invalid];
                }
                Input::Text => {
                    input id=(id) name=(f.key) value=(value) autocomplete="off" placeholder=(f.default) aria-describedby=(described) aria-invalid=[invalid];
                }
            }
            input type="hidden" name=(format!("{WAS}{}", f.key)) value=(f.stored);
            @if !problems.is_empty() {
                p.flash.error id=(error) {
                    @for (i, p) in problems.iter().enumerate() {
                        @if i > 0 { br; }
                        (p.message)
                    }
                }
            }
            div.muted id=(hint) {
                (f.takes) ". "
                @if f.stored.is_empty() { "Not set: " } @else { "Empty: " }
                "the default, " (f.default) "."
            }
        }
    }
}

fn preview_button(g: &GuildPage, include_days: bool) -> Markup {
    let url = format!("{}/preview", guild_href(g.guild_id, "settings"));
    html! {
        @if include_days {
            button.secondary type="submit" formaction=(url) hx-post=(url) hx-target="#whatif-result" hx-include="#whatif-days" { "Preview" }
        } @else {
            button.secondary type="submit" formaction=(url) hx-post=(url) hx-target="#whatif-result" { "Preview" }
        }
    }
}

fn channel_form(
    g: &GuildPage,
    v: &View<'_>,
    channel: Option<(u64, ThresholdOverrides)>,
    admin: bool,
) -> Markup {
    let action = guild_href(g.guild_id, "settings");
    let t = v.form.guild_thresholds;
    let defaults = [t.warn, t.timeout, t.kick, t.ban];
    // The submitted values go back into the form they came from.
    let sent_here = v.sub.is_some_and(|s| match (&s.channel, channel) {
        (Some(c), Some((id, _))) => parse_id(c).ok() == Some(id),
        // Only the form for another channel lets the id be written (or left empty).
        (Some(c), None) => !v
            .form
            .channels
            .iter()
            .any(|(id, _)| parse_id(c).ok() == Some(*id)),
        (None, _) => false,
    });
    let id_value = match (channel, sent_here, v.sub) {
        (Some((id, _)), _, _) => id.to_string(),
        (None, true, Some(s)) => s.channel.clone().unwrap_or_default(),
        _ => String::new(),
    };
    let prefix = match channel {
        Some((id, _)) => format!("ch-{id}"),
        None => "ch-new".to_string(),
    };
    let problems: Vec<&SettingProblem> = if sent_here {
        v.problems
            .iter()
            .filter(|p| p.key == "channel" || p.key.starts_with("channel."))
            .collect()
    } else {
        Vec::new()
    };
    html! {
        form.card.filters method="post" action=(action) aria-label=(match channel { Some((id, _)) => format!("Thresholds of channel {id}"), None => "Thresholds of another channel".to_string() }) {
            (csrf_field(&g.viewer))
            label for=(format!("{prefix}-id")) {
                "Channel id"
                @if channel.is_some() {
                    input id=(format!("{prefix}-id")) name=(CHANNEL_ID) value=(id_value) readonly;
                } @else {
                    input id=(format!("{prefix}-id")) name=(CHANNEL_ID) value=(id_value) inputmode="numeric" autocomplete="off" placeholder="e.g. 123456789012345678";
                }
            }
            @for (i, level) in LEVELS.iter().enumerate() {
                @let name = channel_field(level);
                @let stored = channel.and_then(|(_, t)| level_value(&t, level)).map(|x| x.to_string()).unwrap_or_default();
                @let value = if sent_here { v.sub.and_then(|s| s.shown.get(&name)).cloned().unwrap_or(stored) } else { stored };
                label for=(format!("{prefix}-{level}")) {
                    (level)
                    input id=(format!("{prefix}-{level}")) name=(name) value=(value) inputmode="decimal" autocomplete="off" placeholder=(defaults[i].to_string());
                }
            }
            div.actions {
                (preview_button(g, true))
                @if admin {
                    button type="submit" { @if channel.is_some() { "Save channel" } @else { "Add channel" } }
                }
            }
            @for p in problems {
                p.flash.error { code { (p.key) } ": " (p.message) }
            }
        }
    }
}

fn settings_body(
    g: &GuildPage,
    v: &View<'_>,
    done: Option<&str>,
    result: Option<Markup>,
) -> Markup {
    let admin = g.access == Access::Admin;
    let action = guild_href(g.guild_id, "settings");
    let mut groups: Vec<(&str, Vec<&SettingField>)> = Vec::new();
    for f in &v.form.fields {
        let name = group_of(f.key);
        match groups.last_mut() {
            Some((g, list)) if *g == name => list.push(f),
            _ => groups.push((name, vec![f])),
        }
    }
    html! {
        h1 { "Settings" }
        @if let Some(m) = done { (flash(true, m)) }
        p.muted {
            "This server's own values over the global configuration. An empty field uses the default shown beside it. "
            "Saved changes are checked like " code { "/mod config set" } ", recorded in the audit log, and apply at once"
            @if v.form.version > 0 { " (settings version " (v.form.version) ")" } "."
        }
        @if !admin {
            p.flash role="note" data-testid="settings-readonly" {
                "Only the server's administrators (Administrator or Manage Server) can save settings. You can change fields and preview what they would do."
            }
        }
        (problem_list(v.problems))
        form #settings-form method="post" action=(action) {
            (csrf_field(&g.viewer))
            @for (name, fields) in &groups {
                fieldset.card {
                    legend { (name) }
                    div.grid {
                        @for f in fields { (field(v, f)) }
                    }
                }
            }
            div.card.actions {
                label for="whatif-days" {
                    "Days to replay (1–" (MAX_DAYS) ")"
                    input #whatif-days type="number" name="days" min="1" max=(MAX_DAYS) step="1" value=(v.days) inputmode="numeric";
                }
                (preview_button(g, false))
                @if admin {
                    button type="submit" { "Save changes" }
                }
            }
        }
        // The preview's result shows under the buttons that ask for it.
        div #whatif-result aria-live="polite" {
            @if let Some(r) = result { (r) }
        }
        section aria-labelledby="channels-title" {
            h2 #channels-title { "Channels with thresholds of their own" }
            p.muted {
                "A channel's empty threshold follows the server's (shown greyed). Empty all four and save to give the channel back the server's thresholds."
            }
            @for (id, t) in &v.form.channels {
                (channel_form(g, v, Some((*id, *t)), admin))
            }
            (channel_form(g, v, None, admin))
        }
    }
}

fn when_ms(ms: i64) -> Markup {
    match Utc.timestamp_millis_opt(ms).single() {
        Some(t) => when(&t),
        None => html! { (ms) },
    }
}

/// The what-if result (the htmx fragment, and part of the page without scripts).
pub fn whatif_result(g: &GuildPage, days: i64, changes: &[(String, String)], w: &WhatIf) -> Markup {
    let members = guild_href(g.guild_id, "members");
    html! {
        section.card data-testid="whatif" {
            h2 { "What-if over the last " (days) " day" (if days == 1 { "" } else { "s" }) }
            p.flash.ok role="status" {
                "Nothing was executed: this replays the stored scores of past messages through the current settings and through your changes. No member was warned, timed out, kicked or banned, and nothing was saved."
            }
            p { "Changes: "
                @for (i, (k, v)) in changes.iter().enumerate() {
                    @if i > 0 { ", " }
                    code { (k) " = " (v) }
                }
            }
            p {
                strong data-testid="whatif-messages" { (w.messages) } " messages replayed; "
                strong { (w.differences.len()) } " decided differently, from "
                strong { (w.members_changed()) } " member" (if w.members_changed() == 1 { "" } else { "s" }) "."
                @if w.truncated {
                    " Only the oldest " (w.messages) " messages of the period were replayed (the limit of one preview); choose fewer days for the rest."
                }
            }
            div.table-wrap {
                table {
                    thead { tr { th { "Action" } th { "Now → with the changes" } th { "Change" } } }
                    tbody {
                        @for a in COUNTED {
                            @let (before, after) = w.count(a);
                            tr {
                                td { (if a == Action::Delete { "delete only" } else { a.as_str() }) }
                                td data-testid=(format!("whatif-count-{}", a.as_str())) { (before) " → " (after) }
                                td { (format!("{:+}", after as i64 - before as i64)) }
                            }
                        }
                    }
                }
            }
            @if w.differences.is_empty() {
                p { "No message would have been decided differently." }
            } @else {
                h3 { "Members whose outcome differs" }
                div.table-wrap {
                    table data-testid="whatif-differences" {
                        thead { tr { th { "Member" } th { "Message time (UTC)" } th { "Now → with the changes" } } }
                        tbody {
                            @for d in w.differences.iter().take(DIFF_ROWS) {
                                tr {
                                    td { a href=(format!("{members}/{}", d.author_id)) { code { (d.author_id) } } }
                                    td { (when_ms(d.at_ms)) }
                                    td { (d.before.as_str()) " → " (d.after.as_str()) }
                                }
                            }
                        }
                    }
                }
                @if w.differences.len() > DIFF_ROWS {
                    p.muted { "The first " (DIFF_ROWS) " of " (w.differences.len()) " differences." }
                }
            }
            p.muted {
                "Estimate: members start with a clean record at the start of the period, and role exemptions and moderators are not told apart. Decisions in dry-run count as nothing."
            }
        }
    }
}

fn field_of<'a>(fields: &'a [(String, String)], name: &str) -> &'a str {
    fields
        .iter()
        .rev()
        .find(|(k, _)| k == name)
        .map_or("", |(_, v)| v.as_str())
}

fn page_markup(
    g: &GuildPage,
    view: &View<'_>,
    done: Option<&str>,
    result: Option<Markup>,
) -> Markup {
    guild_page(
        g,
        "settings",
        "Settings",
        settings_body(g, view, done, result),
    )
}

/// `GET /g/{guild}/settings`.
pub async fn show(
    State(state): State<WebState>,
    g: GuildPage,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Markup, PageError> {
    let form = state.service().settings_form(g.guild_id).await?;
    let view = View {
        form: &form,
        sub: None,
        problems: &[],
        days: DEFAULT_DAYS,
    };
    Ok(page_markup(
        &g,
        &view,
        q.get("done").map(String::as_str),
        None,
    ))
}

/// `POST /g/{guild}/settings`: administrators save the fields that changed, all at once (one
/// version, one audit row). Problems come back on the page, every one at once (status 422).
pub async fn save(
    State(state): State<WebState>,
    g: GuildPage,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    g.viewer.check_csrf(field_of(&fields, "csrf"))?;
    g.require_admin()?;
    let service = state.service();
    let form = service.settings_form(g.guild_id).await?;
    let sub = read_submission(&fields, &form);
    let mut problems = sub.problems.clone();
    if problems.is_empty() && sub.changes.is_empty() {
        return Ok(done(
            &g,
            "Nothing changed: every field holds its stored value.",
        ));
    }
    if !sub.changes.is_empty() {
        // Every problem at once: the draft's too when the channel is wrong.
        let d = service.check_draft(g.guild_id, &sub.changes).await?;
        problems.extend(d.problems);
    }
    if problems.is_empty() {
        match service
            .set_settings(g.guild_id, g.viewer.id(), &sub.changes)
            .await
        {
            Ok(version) => {
                let n = sub.changes.len();
                return Ok(done(
                    &g,
                    &format!(
                        "Saved {n} change{} (settings version {version}); recorded in the audit log.",
                        if n == 1 { "" } else { "s" }
                    ),
                ));
            }
            // Checked a moment ago; another change can still have made it invalid since.
            Err(ServiceError::Invalid(m)) => problems.push(SettingProblem {
                key: String::new(),
                message: m,
            }),
            Err(e) => return Err(e.into()),
        }
    }
    let view = View {
        form: &form,
        sub: Some(&sub),
        problems: &problems,
        days: read_days(sub.days.as_deref()).unwrap_or(DEFAULT_DAYS),
    };
    Ok((
        StatusCode::UNPROCESSABLE_ENTITY,
        page_markup(&g, &view, None, None),
    )
        .into_response())
}

fn done(g: &GuildPage, text: &str) -> Response {
    after_post(&guild_href(g.guild_id, "settings"), true, text)
}

/// `POST /g/{guild}/settings/preview`: replays the last `days` days through the draft. An htmx
/// request gets the result alone (problems included, with status 200 so htmx shows them);
/// without scripts the whole page comes back with the form as sent.
pub async fn preview(
    State(state): State<WebState>,
    g: GuildPage,
    headers: HeaderMap,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    g.viewer.check_csrf(field_of(&fields, "csrf"))?;
    let service = state.service();
    let form = service.settings_form(g.guild_id).await?;
    let sub = read_submission(&fields, &form);
    let mut problems = sub.problems.clone();
    let days = match read_days(sub.days.as_deref()) {
        Ok(d) => d,
        Err(p) => {
            problems.push(p);
            DEFAULT_DAYS
        }
    };
    if problems.is_empty() && sub.changes.is_empty() {
        problems.push(SettingProblem {
            key: String::new(),
            message:
                "change a field first: the preview compares your changes with the stored settings"
                    .into(),
        });
    }
    let mut draft = None;
    if !sub.changes.is_empty() {
        // Every problem at once: the draft's too when `days` or the channel is wrong.
        let d = service.check_draft(g.guild_id, &sub.changes).await?;
        problems.extend(d.problems);
        draft = Some(d.settings);
    }
    let result = match draft {
        Some(draft) if problems.is_empty() => {
            let w = service.what_if(g.guild_id, &draft, days).await?;
            Some(whatif_result(&g, days, &sub.changes, &w))
        }
        _ => None,
    };
    if headers.contains_key("hx-request") {
        return Ok(result
            .unwrap_or_else(|| problem_list(&problems))
            .into_response());
    }
    let view = View {
        form: &form,
        sub: Some(&sub),
        problems: &problems,
        days,
    };
    // Without scripts the problems show above the form, as after a refused save.
    Ok(page_markup(&g, &view, None, result).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::GuildSettings;

    fn form(
        stored: &[(&'static str, &str)],
        channels: Vec<(u64, ThresholdOverrides)>,
    ) -> SettingsForm {
        let fields = [
            "thresholds.warn",
            "dry_run",
            "notices.warn",
            "moderator_roles",
        ]
        .into_iter()
        .map(|key| SettingField {
            key,
            takes: "",
            stored: stored
                .iter()
                .find(|(k, _)| *k == key)
                .map(|(_, v)| v.to_string())
                .unwrap_or_default(),
            default: "x".into(),
        })
        .collect();
        SettingsForm {
            fields,
            channels,
            guild_thresholds: crate::config::Thresholds {
                warn: 0.6,
                timeout: 0.75,
                kick: 0.92,
                ban: 0.97,
            },
            settings: GuildSettings::default(),
            version: 3,
        }
    }

    fn sent(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn only_changed_fields_are_sent() {
        let f = form(
            &[("thresholds.warn", "0.5"), ("notices.warn", "a\nb")],
            vec![],
        );
        let s = read_submission(
            &sent(&[
                ("csrf", "t"),
                ("thresholds.warn", "0.5"),
                ("was:thresholds.warn", "0.5"),
                ("dry_run", "on"),
                ("was:dry_run", ""),
                // A browser sends the textarea's line break as CRLF: not a change.
                ("notices.warn", "a\r\nb"),
                ("was:notices.warn", "a\r\nb"),
                ("moderator_roles", "  "),
                ("days", "3"),
            ]),
            &f,
        );
        assert_eq!(s.csrf, "t");
        assert_eq!(s.days.as_deref(), Some("3"));
        assert_eq!(s.changes, vec![("dry_run".to_string(), "on".to_string())]);
        assert!(s.problems.is_empty());
        assert_eq!(
            s.shown.get("notices.warn").map(String::as_str),
            Some("a\nb")
        );
    }

    #[test]
    fn an_emptied_field_goes_back_to_the_default_and_a_missing_was_compares_with_the_stored() {
        let f = form(&[("thresholds.warn", "0.5")], vec![]);
        let s = read_submission(&sent(&[("thresholds.warn", "")]), &f);
        assert_eq!(
            s.changes,
            vec![("thresholds.warn".to_string(), "none".to_string())]
        );
        // Another administrator changed it meanwhile; this page still showed 0.4 and the
        // field was left alone: their change stands.
        let s = read_submission(
            &sent(&[("thresholds.warn", "0.4"), ("was:thresholds.warn", "0.4")]),
            &f,
        );
        assert!(s.changes.is_empty(), "{:?}", s.changes);
        // Unknown fields are ignored.
        let s = read_submission(&sent(&[("colour", "red")]), &f);
        assert!(s.changes.is_empty() && s.problems.is_empty());
    }

    #[test]
    fn the_channel_form_becomes_channel_keys() {
        let stored = ThresholdOverrides {
            warn: Some(0.8),
            ..ThresholdOverrides::default()
        };
        let f = form(&[], vec![(42, stored)]);
        let s = read_submission(
            &sent(&[
                ("channel_id", "<#42>"),
                ("channel_warn", ""),
                ("channel_timeout", "0.85"),
                ("channel_kick", ""),
                ("channel_ban", ""),
            ]),
            &f,
        );
        assert_eq!(
            s.changes,
            vec![
                ("channel.42.thresholds.warn".to_string(), "none".to_string()),
                (
                    "channel.42.thresholds.timeout".to_string(),
                    "0.85".to_string()
                ),
            ]
        );
        // A new channel: only the filled levels.
        let s = read_submission(
            &sent(&[
                ("channel_id", "7"),
                ("channel_warn", "0.7"),
                ("channel_ban", ""),
            ]),
            &f,
        );
        assert_eq!(
            s.changes,
            vec![("channel.7.thresholds.warn".to_string(), "0.7".to_string())]
        );
        // Thresholds without a channel, or a channel that is not an id.
        let s = read_submission(&sent(&[("channel_id", ""), ("channel_warn", "0.7")]), &f);
        assert_eq!(s.problems.len(), 1);
        assert!(s.problems[0].message.contains("channel's id"));
        let s = read_submission(
            &sent(&[("channel_id", "#memes"), ("channel_warn", "0.7")]),
            &f,
        );
        assert_eq!(s.problems.len(), 1);
        assert!(s.changes.is_empty());
        // The empty "another channel" form sends nothing.
        let s = read_submission(
            &sent(&[
                ("channel_id", ""),
                ("channel_warn", ""),
                ("channel_ban", ""),
            ]),
            &f,
        );
        assert!(s.changes.is_empty() && s.problems.is_empty());
    }

    #[test]
    fn days_are_one_to_thirty() {
        assert_eq!(read_days(None), Ok(DEFAULT_DAYS));
        assert_eq!(read_days(Some(" ")), Ok(DEFAULT_DAYS));
        assert_eq!(read_days(Some("30")), Ok(30));
        assert_eq!(read_days(Some("1")), Ok(1));
        for bad in ["0", "31", "-2", "a week"] {
            let e = read_days(Some(bad)).unwrap_err();
            assert_eq!(e.key, "days");
            assert!(e.message.contains("1 to 30"), "{e}");
        }
    }

    #[test]
    fn every_key_has_a_section_and_an_input() {
        for (key, _) in crate::domain::setting_keys::KEYS {
            if key.starts_with("channel.") {
                continue;
            }
            assert!(!group_of(key).is_empty());
            let _ = input_of(key);
        }
        assert_eq!(input_of("dry_run"), Input::Choice(vec!["on", "off"]));
        assert_eq!(input_of("notices.ban"), Input::Template);
        assert_eq!(input_of("brigade.join_surge_count"), Input::Count);
        assert_eq!(input_of("thresholds.kick"), Input::Decimal);
        assert_eq!(input_of("mod_log_channel"), Input::Text);
        assert_eq!(group_of("alert_role"), "Channels and roles");
    }
}
