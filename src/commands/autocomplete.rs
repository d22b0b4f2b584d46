//! Autocompletion for `/mod`: setting keys for `config set`, the guild's recent case numbers
//! for `case`, `pardon` and `reason`.

use super::access;
use crate::moderation::{Access, Moderation};
use serenity::all::{
    CommandInteraction, Context, CreateAutocompleteResponse, CreateInteractionResponse,
};
use std::sync::Arc;

/// Discord shows at most 25 choices.
const MAX_CHOICES: usize = 25;

/// Answers an autocomplete request.
pub async fn respond(service: &Arc<Moderation>, ctx: &Context, a: CommandInteraction) {
    let Some(focused) = a.data.autocomplete() else {
        return;
    };
    let guild = a.guild_id.map_or(0, |g| g.get());
    let typed = focused.value.trim().to_ascii_lowercase();
    let mut response = CreateAutocompleteResponse::new();
    // Members see nothing: the options are for moderators.
    if access(service, guild, a.member.as_deref()) != Access::Member {
        match focused.name {
            "key" => {
                for (key, what) in service
                    .settable_keys()
                    .iter()
                    .filter(|(k, _)| k.contains(typed.as_str()))
                    .take(MAX_CHOICES)
                {
                    let label = crate::discord::limits::truncate(&format!("{key} ({what})"), 100);
                    response = response.add_string_choice(label, *key);
                }
            }
            "case" | "number" => {
                let typed = typed.trim_start_matches('#');
                if let Ok(cases) = service.recent_cases(guild, 200).await {
                    for (n, action, user) in cases
                        .into_iter()
                        .filter(|(n, _, _)| n.to_string().starts_with(typed))
                        .take(MAX_CHOICES)
                    {
                        response =
                            response.add_int_choice(format!("#{n} {action} · user {user}"), n);
                    }
                }
            }
            _ => {}
        }
    }
    if let Err(e) = a
        .create_response(&ctx.http, CreateInteractionResponse::Autocomplete(response))
        .await
    {
        tracing::debug!(error = %e, "autocomplete not answered");
    }
}
