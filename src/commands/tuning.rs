//! `/mod config suggest`: the thresholds the moderators' verdicts suggest, with an Apply
//! button (administrators; one click applies all four, validated and audited).

use super::reply::{answer, Target};
use super::{access, opt_string};
use crate::moderation::{Access, Moderation, Suggestion};
use serenity::all::{
    ButtonStyle, CommandDataOption, CommandInteraction, ComponentInteraction, Context,
    CreateActionRow, CreateButton, CreateInteractionResponse, CreateInteractionResponseMessage,
};
use std::fmt::Write as _;
use std::sync::Arc;

/// Apply button prefix: `tune-apply:{warn}:{timeout}:{kick}:{ban}`.
pub const APPLY_PREFIX: &str = "tune-apply:";
/// The reversal rate aimed at when none is given.
pub const DEFAULT_MAX_REVERSAL_RATE: f64 = 0.1;

fn render(s: &Suggestion, target: f64) -> String {
    let mut out = format!(
        "From {} cases moderators confirmed or reversed (target: at most {:.0} % reversed):\n```\n{:>8} {:>6} {:>6} {:>9} {:>7}\n",
        s.labelled,
        target * 100.0,
        "warn at",
        "acted",
        "kept",
        "reversed",
        "recall"
    );
    // The rows around the proposal (the table can be long).
    let at = s
        .proposal
        .and_then(|p| s.candidates.iter().position(|c| c.threshold == p.threshold))
        .unwrap_or(0);
    for c in s.candidates.iter().skip(at.saturating_sub(4)).take(9) {
        let mark = if Some(c.threshold) == s.proposal.map(|p| p.threshold) {
            "←"
        } else {
            ""
        };
        let _ = writeln!(
            out,
            "{:>8.3} {:>6} {:>6} {:>8.1}% {:>6.1}% {mark}",
            c.threshold,
            c.acted,
            c.confirmed,
            c.reversal_rate * 100.0,
            c.recall * 100.0
        );
    }
    out.push_str("```\n");
    let [w, t, k, b] = s.current;
    match (s.proposal, s.proposed) {
        (Some(p), Some([pw, pt, pk, pb])) => {
            let _ = write!(
                out,
                "Suggested: warn {pw} · timeout {pt} · kick {pk} · ban {pb} (now {w} · {t} · {k} · {b}): {:.1} % reversed, {:.1} % of the confirmed cases kept.",
                p.reversal_rate * 100.0,
                p.recall * 100.0
            );
        }
        _ => out.push_str(
            "No threshold keeps the reversals that low yet: more Confirm and Reverse clicks on the mod log will help.",
        ),
    }
    out
}

/// Handles `/mod config suggest`.
pub async fn suggest(
    service: &Arc<Moderation>,
    ctx: &Context,
    c: &CommandInteraction,
    args: &[CommandDataOption],
) {
    let guild = c.guild_id.map_or(0, |g| g.get());
    if access(service, guild, c.member.as_deref()) == Access::Member {
        let text = "You need Manage Messages or a moderator role to use /mod.".to_string();
        answer(&ctx.http, Target::Command(c), async move { text }).await;
        return;
    }
    let target = opt_string(args, "max_reversal_rate")
        .and_then(|v| v.trim().trim_end_matches('%').parse::<f64>().ok())
        .map(|v| if v > 1.0 { v / 100.0 } else { v })
        .unwrap_or(DEFAULT_MAX_REVERSAL_RATE)
        .clamp(0.0, 1.0);
    let (text, button) = match service.suggest_thresholds(guild, target).await {
        Ok(s) => {
            let button = s.proposed.map(|[w, t, k, b]| {
                CreateButton::new(format!("{APPLY_PREFIX}{w}:{t}:{k}:{b}"))
                    .label("Apply these thresholds")
                    .style(ButtonStyle::Primary)
            });
            (render(&s, target), button)
        }
        Err(e) => (format!("Could not read the verdicts: {e}"), None),
    };
    let mut msg = CreateInteractionResponseMessage::new()
        .content(crate::discord::limits::truncate_message(&text))
        .ephemeral(true);
    if let Some(b) = button {
        msg = msg.components(vec![CreateActionRow::Buttons(vec![b])]);
    }
    if let Err(e) = c
        .create_response(&ctx.http, CreateInteractionResponse::Message(msg))
        .await
    {
        tracing::warn!(error = %e, "could not answer /mod config suggest");
    }
}

/// The Apply button; `false` when the click is not one.
pub async fn on_button(service: &Arc<Moderation>, ctx: &Context, c: &ComponentInteraction) -> bool {
    let Some(values) = c.data.custom_id.strip_prefix(APPLY_PREFIX) else {
        return false;
    };
    let guild = c.guild_id.map_or(0, |g| g.get());
    let who = access(service, guild, c.member.as_ref());
    let values: Vec<String> = values.split(':').map(str::to_owned).collect();
    let user = c.user.id.get();
    let service = service.clone();
    answer(&ctx.http, Target::Component(c), async move {
        if who != Access::Admin {
            return "Only administrators (Administrator or Manage Server) can change settings."
                .to_string();
        }
        if values.len() != 4 {
            return "This button is no longer handled.".to_string();
        }
        let changes: Vec<(String, String)> = ["warn", "timeout", "kick", "ban"]
            .iter()
            .zip(&values)
            .map(|(k, v)| (format!("thresholds.{k}"), v.clone()))
            .collect();
        match service.set_settings(guild, user, &changes).await {
            Ok(version) => format!(
                "Thresholds set to warn {} · timeout {} · kick {} · ban {} (settings version {version}; recorded in the audit trail).",
                values[0], values[1], values[2], values[3]
            ),
            Err(e) => format!("Not changed: {e}"),
        }
    })
    .await;
    true
}
