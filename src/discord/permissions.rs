//! The permissions the bot needs in a server, each with the calls that need it: the invite
//! URL's integer is computed from this list (and checked against the README by a test).

use serenity::all::Permissions;

/// Every permission the bot uses, with what for.
pub const REQUIRED: &[(Permissions, &str)] = &[
    (Permissions::VIEW_CHANNEL, "read the channels it moderates"),
    (
        Permissions::SEND_MESSAGES,
        "mod-log posts, appeal reviews, notices when DMs are closed",
    ),
    (Permissions::EMBED_LINKS, "mod-log and alert embeds"),
    (
        Permissions::READ_MESSAGE_HISTORY,
        "check a message still exists",
    ),
    (Permissions::MANAGE_MESSAGES, "delete offending messages"),
    (
        Permissions::MODERATE_MEMBERS,
        "time members out and lift timeouts",
    ),
    (Permissions::KICK_MEMBERS, "kick"),
    (Permissions::BAN_MEMBERS, "ban and unban"),
    (Permissions::MANAGE_CHANNELS, "slow-mode during a raid"),
    (
        Permissions::VIEW_AUDIT_LOG,
        "record actions moderators take in Discord's own interface",
    ),
];

/// The permission integer of the invite URL.
pub fn invite_permissions() -> u64 {
    REQUIRED
        .iter()
        .fold(Permissions::empty(), |acc, (p, _)| acc | *p)
        .bits()
}

/// The invite URL for application `app_id`.
pub fn invite_url(app_id: u64) -> String {
    format!(
        "https://discord.com/oauth2/authorize?client_id={app_id}&scope=bot%20applications.commands&permissions={}",
        invite_permissions()
    )
}
