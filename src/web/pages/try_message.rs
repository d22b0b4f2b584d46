//! Try a message: scores a text with the model, shows what the server's rules find in it, and
//! the decision it would get with the server's settings (deleted by content? the sanction for a
//! member without history and for one warned the day before). Nothing is recorded or sent.

use crate::decision::Sanction;
use crate::moderation::{TextPreview, TRY_MAX_CHARS};
use crate::web::guard::GuildPage;
use crate::web::layout::{csrf_field, guild_href, guild_page};
use crate::web::{PageError, WebState};
use axum::extract::State;
use axum::routing::get;
use axum::{Form, Router};
use maud::{html, Markup};
use serde::Deserialize;

/// This section's routes.
pub fn routes() -> Router<WebState> {
    Router::new().route("/g/{guild}/try", get(show).post(run))
}

/// The form.
#[derive(Debug, Default, Deserialize)]
pub struct TryForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    text: String,
}

/// What a rule hit does, in words.
pub fn rule_effect(action: &str, label: &str, severity: f64) -> String {
    match action {
        "delete" => "deletes the message".to_string(),
        "timeout" => "deletes the message and times the member out".to_string(),
        _ => format!("counts as {label} {severity:.2} in the scores"),
    }
}

fn sanction_row(who: &str, testid: &str, s: &Sanction) -> Markup {
    html! {
        tr {
            td { (who) }
            td { (format!("{:.3}", s.behaviour)) }
            td data-testid=(testid) {
                strong { (s.decision.sanction()) }
                @if let Some(n) = &s.decision.note { br; span.muted { (n) } }
            }
        }
    }
}

fn result(p: &TextPreview) -> Markup {
    let v = &p.preview;
    let t = &p.thresholds;
    html! {
        section.card data-testid="try-result" aria-labelledby="try-result-title" {
            h2 #try-result-title { "What the bot would do" }
            p.muted { "Nothing was recorded or sent. Scored by " code { (p.model) } " with this server's settings." }
            @if p.dry_run {
                p.flash role="note" { "This server is in dry-run: these decisions would be recorded only, not acted on." }
            }
            p data-testid="try-delete" {
                @if v.delete {
                    strong { "Deleted" } " by its content, whoever writes it: "
                } @else {
                    strong { "Kept" } " by its content: "
                }
                "severity " (format!("{:.3}", v.severity))
                @if !v.label.is_empty() { " (" (v.label) ")" }
                (if v.delete { " reaches " } else { " is below " })
                "the deletion threshold " (format!("{:.3}", p.delete_at)) "."
            }
            div.table-wrap {
                table {
                    thead { tr { th { "Written by" } th { "Behaviour score" } th { "Sanction" } } }
                    tbody {
                        (sanction_row("a member of a year with no history here", "try-first", &v.first_offence))
                        (sanction_row("the same member, warned the day before", "try-repeat", &v.repeat_offence))
                    }
                }
            }
            p.muted {
                "Thresholds here: warn " (t.warn) " · timeout " (t.timeout) " · kick " (t.kick) " · ban " (t.ban)
                " (a channel can have its own)."
            }
            h3 { "Scores" }
            @if p.scores.is_empty() {
                p.muted { "The model gave no scores." }
            } @else {
                table.scores data-testid="try-scores" {
                    thead { tr { th { "Label" } th { "Score" } th { "Level" } } }
                    tbody {
                        @for (label, score) in &p.scores {
                            tr {
                                td { (label) }
                                td { (format!("{score:.3}")) }
                                td { progress max="1" value=(format!("{score:.3}")) aria-label=(label) { (format!("{score:.3}")) } }
                            }
                        }
                    }
                }
            }
            h3 { "This server's rules" }
            @if let Some(l) = &p.rules.lang { p.muted { "Language detected: " code { (l) } } }
            @if p.rules.hits.is_empty() {
                p data-testid="try-rules-none" { "No rule of this server matched (word lists, links, spam)." }
            } @else {
                div.table-wrap {
                    table data-testid="try-rules" {
                        thead { tr { th { "Rule" } th { "Matched" } th { "What it does" } } }
                        tbody {
                            @for h in &p.rules.hits {
                                tr {
                                    td { code { (h.rule) } }
                                    td { (h.term) }
                                    td { (rule_effect(h.action.as_str(), &h.label, h.severity)) }
                                }
                            }
                        }
                    }
                }
                p.muted { "Rules that delete or time out act on top of the decision above." }
            }
        }
    }
}

fn page(g: &GuildPage, text: &str, outcome: Option<Result<TextPreview, String>>) -> Markup {
    let action = guild_href(g.guild_id, "try");
    guild_page(
        g,
        "try",
        "Try a message",
        html! {
            h1 { "Try a message" }
            p.muted {
                "See how the bot would judge a message in this server: the model's scores, this server's rules and settings. "
                "Nothing is recorded, and no one is told."
            }
            form.card method="post" action=(action) {
                (csrf_field(&g.viewer))
                label for="try-text" { "Message" }
                textarea #try-text name="text" required maxlength=(TRY_MAX_CHARS) rows="4" aria-describedby="try-text-hint" { (text) }
                small.muted #try-text-hint { "Up to " (TRY_MAX_CHARS) " characters." }
                div.actions { button type="submit" { "Try it" } }
            }
            @match &outcome {
                Some(Ok(p)) => (result(p)),
                Some(Err(m)) => p.flash.error role="alert" data-testid="try-error" { (m) },
                None => {}
            }
        },
    )
}

/// `GET /g/{guild}/try`.
pub async fn show(g: GuildPage) -> Result<Markup, PageError> {
    Ok(page(&g, "", None))
}

/// `POST /g/{guild}/try`: the result under the form, which keeps the text.
pub async fn run(
    State(state): State<WebState>,
    g: GuildPage,
    Form(f): Form<TryForm>,
) -> Result<Markup, PageError> {
    g.viewer.check_csrf(&f.csrf)?;
    let outcome = match state.service().preview_text(g.guild_id, &f.text).await {
        Ok(p) => Ok(p),
        Err(crate::moderation::ServiceError::Invalid(m)) => Err(m),
        Err(crate::moderation::ServiceError::Classifier(e)) => Err(format!(
            "The model could not score this message right now ({e}); try again in a moment."
        )),
        Err(e) => return Err(e.into()),
    };
    Ok(page(&g, &f.text, Some(outcome)))
}

#[cfg(test)]
mod tests {
    use super::rule_effect;

    #[test]
    fn rule_effects_read_as_words() {
        assert_eq!(rule_effect("delete", "toxic", 0.9), "deletes the message");
        assert!(rule_effect("timeout", "toxic", 0.9).contains("times the member out"));
        assert_eq!(
            rule_effect("ladder", "insult", 0.85),
            "counts as insult 0.85 in the scores"
        );
    }
}
