//! Answering interactions within Discord's 3 seconds: the work gets two; when it needs longer
//! the interaction is deferred (ephemeral "thinking…") and the answer edited in afterwards.

use crate::discord::limits::truncate_message;
use serenity::all::{
    CommandInteraction, ComponentInteraction, CreateInteractionResponse,
    CreateInteractionResponseMessage, EditInteractionResponse, Http, ModalInteraction,
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
            let edit = EditInteractionResponse::new().content(truncate_message(&text));
            if let Err(e) = target.edit(http, edit).await {
                tracing::warn!(error = %e, "could not send a deferred interaction answer");
            }
            return;
        }
    };
    let msg = CreateInteractionResponseMessage::new()
        .content(truncate_message(&text))
        .ephemeral(true);
    if let Err(e) = target
        .create(http, CreateInteractionResponse::Message(msg))
        .await
    {
        tracing::warn!(error = %e, "could not answer an interaction");
    }
}
