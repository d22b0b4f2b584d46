//! The guild's overview: messages, flagged messages by label and actions by type per day over
//! the last 30 days (uPlot charts drawn by `dashboard.js` from embedded JSON), the appeal
//! approval and automatic-action reversal rates, and the open incidents.

use crate::moderation::{day_series, DaySeries};
use crate::web::guard::GuildPage;
use crate::web::layout::{guild_href, guild_page, json_data};
use crate::web::{PageError, WebState};
use axum::extract::State;
use axum::routing::get;
use axum::Router;
use chrono::Utc;
use maud::{html, Markup};
use serde_json::json;

/// Days the overview covers.
pub const DAYS: u32 = 30;

/// This section's routes.
pub fn routes() -> Router<WebState> {
    Router::new()
        .route("/g/{guild}", get(show))
        .route("/g/{guild}/", get(show))
}

/// The chart spec `dashboard.js` reads: `{title, series, data: [[x…], [y…]…], stacked}`.
/// With no series at all, one series of zeros named `empty` keeps the chart readable.
pub fn chart_json(title: &str, s: &DaySeries, empty: &str, stacked: bool) -> serde_json::Value {
    let mut names: Vec<&str> = s.series.iter().map(|(k, _)| k.as_str()).collect();
    let mut data: Vec<Vec<i64>> = vec![s.days.clone()];
    data.extend(s.series.iter().map(|(_, v)| v.clone()));
    if names.is_empty() {
        names.push(empty);
        data.push(vec![0; s.days.len()]);
    }
    json!({ "title": title, "series": names, "data": data, "stacked": stacked })
}

/// `part / whole` as a percentage with the counts, or "no data" when `whole` is 0.
pub fn rate_text(part: i64, whole: i64) -> String {
    if whole <= 0 {
        "no data".to_string()
    } else {
        format!(
            "{:.1}% ({part} of {whole})",
            part as f64 * 100.0 / whole as f64
        )
    }
}

fn chart(id: &str, testid: &str, label: &str, spec: &serde_json::Value) -> Markup {
    html! {
        div.chart data-source=(id) data-testid=(testid) role="img" aria-label=(label) {
            p.muted { (label) }
        }
        (json_data(id, spec))
    }
}

/// `GET /g/{guild}/`.
pub async fn show(State(state): State<WebState>, g: GuildPage) -> Result<Markup, PageError> {
    let o = state
        .service()
        .overview(g.guild_id, i64::from(DAYS))
        .await?;
    let today = Utc::now().date_naive();
    let mut messages = day_series(&o.messages, today, DAYS, str::is_empty);
    // The all-messages series is keyed "" in storage; name it for the legend.
    for (k, _) in &mut messages.series {
        *k = "messages".into();
    }
    let flagged = day_series(&o.messages, today, DAYS, |k| !k.is_empty());
    let actions = day_series(&o.actions, today, DAYS, |_| true);
    let r = &o.rates;
    Ok(guild_page(
        &g,
        "",
        "Overview",
        html! {
            h1 { "Overview" }
            p.muted { "The last " (DAYS) " days, by UTC day." }
            div.grid {
                section.card data-testid="appeal-rate" {
                    h2 { "Appeals approved" }
                    p.stat { (rate_text(r.appeals_approved, r.appeals_decided)) }
                    p.muted { "Of the appeals decided in the period." }
                }
                section.card data-testid="reversal-rate" {
                    h2 { "Automatic actions reversed" }
                    p.stat { (rate_text(r.automatic_reversed, r.automatic_cases)) }
                    p.muted { "Of the bot's own actions (dry-run left out)." }
                }
                section.card data-testid="open-incidents" {
                    h2 { "Open incidents" }
                    p.stat { (o.open_incidents) }
                    p { a href=(guild_href(g.guild_id, "incidents")) {
                        @if o.open_incidents == 0 { "Incident history" } @else { "See the open incidents" }
                    } }
                }
            }
            section.card {
                h2 { "Messages per day" }
                (chart("chart-messages-data", "chart-messages",
                    &format!("Messages per day: {} in {} days", messages.total(), DAYS),
                    &chart_json("Messages", &messages, "messages", false)))
            }
            section.card {
                h2 { "Flagged messages per day, by label" }
                (chart("chart-flagged-data", "chart-flagged",
                    &format!("Flagged messages per day: {} in {} days", flagged.total(), DAYS),
                    &chart_json("Flagged messages", &flagged, "flagged", true)))
            }
            section.card {
                h2 { "Actions per day, by type" }
                (chart("chart-actions-data", "chart-actions",
                    &format!("Actions per day: {} in {} days", actions.total(), DAYS),
                    &chart_json("Actions", &actions, "actions", true)))
            }
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_say_no_data_without_cases() {
        assert_eq!(rate_text(0, 0), "no data");
        assert_eq!(rate_text(1, 4), "25.0% (1 of 4)");
    }

    #[test]
    fn chart_json_puts_x_first_and_names_each_series() {
        let s = DaySeries {
            days: vec![0, 86_400],
            series: vec![("ban".into(), vec![1, 0]), ("warn".into(), vec![2, 3])],
        };
        let j = chart_json("Actions", &s, "actions", true);
        assert_eq!(j["series"], json!(["ban", "warn"]));
        assert_eq!(j["data"], json!([[0, 86_400], [1, 0], [2, 3]]));
        let empty = DaySeries {
            days: vec![0, 86_400],
            series: vec![],
        };
        let j = chart_json("Actions", &empty, "actions", true);
        assert_eq!(j["series"], json!(["actions"]));
        assert_eq!(j["data"], json!([[0, 86_400], [0, 0]]));
    }
}
