//! Who may do what: Discord permissions plus the configured moderator roles, and each user's
//! command budget (`limits.commands_per_minute`).

use super::Moderation;
use serenity::all::Permissions;

/// What the invoker may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// A member without moderator rights.
    Member,
    /// Manage Messages, Moderate Members, a configured moderator role, or better.
    Moderator,
    /// Administrator or Manage Server.
    Admin,
}

impl Moderation {
    /// A member's access in a guild, from their permissions there and their roles.
    pub fn access(&self, guild_id: u64, permissions: Permissions, roles: &[u64]) -> Access {
        if permissions.administrator() || permissions.manage_guild() {
            return Access::Admin;
        }
        let cfg = self.cfg();
        let extra = self
            .guilds
            .get(guild_id)
            .settings
            .moderator_roles
            .unwrap_or_default();
        let by_role = roles
            .iter()
            .any(|r| cfg.discord.moderator_roles.contains(r) || extra.contains(r));
        if permissions.manage_messages() || permissions.moderate_members() || by_role {
            Access::Moderator
        } else {
            Access::Member
        }
    }

    /// Takes one of `user`'s command tokens; false when they are out of budget. When the
    /// shared state fails the command is let through.
    pub async fn within_command_budget(&self, user: u64) -> bool {
        let per_minute = self.cfg().limits.commands_per_minute.max(1);
        let now = chrono::Utc::now().timestamp_millis();
        crate::state::WindowStore::take_token(
            &*self.state,
            &format!("cmd:{user}"),
            per_minute,
            per_minute,
            now,
        )
        .await
        .unwrap_or(true)
    }
}
