//! Answering interactions within Discord's 3 seconds: the work gets two; when it needs longer
//! the interaction is deferred (ephemeral "thinking…") and the answer edited in afterwards.
//! An answer longer than one message is split at line breaks: the first part answers, the
//! rest follow as ephemeral follow-up messages, in order.

use crate::discord::limits::split_long_message;
use serenity::all::{
    CommandInteraction, ComponentInteraction, CreateInteractionResponse,
    CreateInteractionResponseFollowup, CreateInteractionResponseMessage, EditInteractionResponse,
    Http, ModalInteraction,
};
use std::future::Future;
use std::time::Duration;

/// How long work may take before the interaction is deferred.
pub const DEFER_AFTER: Duration = Duration::from_secs(2);

/// The interactions that can be answered with a message.
pub enum Target<'a> {
    /// A slash or context-menu command.
    Command(&'a CommandInteraction),
    /// A button click.
    Component(&'a ComponentInteraction),
    /// A modal submit.
    Modal(&'a ModalInteraction),
}

impl Target<'_> {
    async fn create(&self, http: &Http, r: CreateInteractionResponse) -> serenity::Result<()> {
        match self {
            Target::Command(i) => i.create_response(http, r).await,
            Target::Component(i) => i.create_response(http, r).await,
            Target::Modal(i) => i.create_response(http, r).await,
        }
    }

    async fn edit(&self, http: &Http, r: EditInteractionResponse) -> serenity::Result<()> {
        match self {
            Target::Command(i) => i.edit_response(http, r).await.map(drop),
            Target::Component(i) => i.edit_response(http, r).await.map(drop),
            Target::Modal(i) => i.edit_response(http, r).await.map(drop),
        }
    }

    async fn follow_up(
        &self,
        http: &Http,
        r: CreateInteractionResponseFollowup,
    ) -> serenity::Result<()> {
        match self {
            Target::Command(i) => i.create_followup(http, r).await.map(drop),
            Target::Component(i) => i.create_followup(http, r).await.map(drop),
            Target::Modal(i) => i.create_followup(http, r).await.map(drop),
        }
    }

    /// Sends the parts after the first, in order; stops at the first refusal.
    async fn follow_ups(&self, http: &Http, rest: &[String]) {
        for part in rest {
            let r = CreateInteractionResponseFollowup::new()
                .content(part)
                .ephemeral(true);
            if let Err(e) = self.follow_up(http, r).await {
                tracing::warn!(error = %e, "could not send the rest of an interaction answer");
                return;
            }
        }
    }
}

/// The parts of an answer: never empty (Discord refuses an empty message).
fn parts(text: &str) -> Vec<String> {
    let parts = split_long_message(text);
    if parts.is_empty() {
        vec!["Done.".to_string()]
    } else {
        parts
    }
}

/// Runs `work` and answers with its text, ephemerally (only the invoker sees it).
pub async fn answer<F>(http: &Http, target: Target<'_>, work: F)
where
    F: Future<Output = String> + Send + 'static,
{
    let mut task = tokio::spawn(work);
    let text = match tokio::time::timeout(DEFER_AFTER, &mut task).await {
        Ok(joined) => joined.unwrap_or_else(|e| format!("Something went wrong: {e}")),
        Err(_) => {
            let defer = CreateInteractionResponseMessage::new().ephemeral(true);
            if let Err(e) = target
                .create(http, CreateInteractionResponse::Defer(defer))
                .await
            {
                tracing::warn!(error = %e, "could not defer an interaction");
            }
            let text = task
                .await
                .unwrap_or_else(|e| format!("Something went wrong: {e}"));
            let parts = parts(&text);
            let edit = EditInteractionResponse::new().content(&parts[0]);
            if let Err(e) = target.edit(http, edit).await {
                tracing::warn!(error = %e, "could not send a deferred interaction answer");
                return;
            }
            target.follow_ups(http, &parts[1..]).await;
            return;
        }
    };
    let parts = parts(&text);
    let msg = CreateInteractionResponseMessage::new()
        .content(&parts[0])
        .ephemeral(true);
    if let Err(e) = target
        .create(http, CreateInteractionResponse::Message(msg))
        .await
    {
        tracing::warn!(error = %e, "could not answer an interaction");
        return;
    }
    target.follow_ups(http, &parts[1..]).await;
}
