//! Turning an exported message into the pipeline's [`MessageEvent`].

use super::input::ScanMessage;
use crate::pipeline::MessageEvent;

/// A Discord id from an export. Real exports carry numeric snowflakes; hand-made JSON lines may
/// use any string, which is mapped to a stable number (then account age means nothing).
pub fn id_number(id: &str) -> u64 {
    id.trim().parse().unwrap_or_else(|_| {
        // FNV-1a: stable across runs and platforms, unlike the std hasher.
        id.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        })
    })
}

/// The pipeline event for `msg`.
pub fn to_event(msg: &ScanMessage) -> MessageEvent {
    MessageEvent {
        guild_id: msg.guild_id.as_deref().map(id_number).unwrap_or(0),
        channel_id: id_number(&msg.channel_id),
        message_id: id_number(&msg.id),
        author_id: id_number(&msg.author_id),
        author_roles: msg.author_roles.iter().map(|r| id_number(r)).collect(),
        author_is_moderator: msg.author_is_moderator,
        author_joined_at: msg.author_joined_at,
        author_default_avatar: false,
        content: msg.content.clone(),
        created_at: msg.timestamp,
        edited: false,
        reply_to_author: msg.reply_to.as_deref().map(id_number),
        mentions: msg.mentions.iter().map(|m| id_number(m)).collect(),
        role_mentions: Vec::new(),
        attachments: msg.attachments,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_numbers_or_stable_hashes() {
        assert_eq!(id_number("1180000000000001000"), 1_180_000_000_000_001_000);
        assert_eq!(id_number("alice"), id_number("alice"));
        assert_ne!(id_number("alice"), id_number("bob"));
    }
}
