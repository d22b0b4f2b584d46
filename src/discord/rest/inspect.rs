//! Read-only requests for checking the bot's set-up (`usmca-bot doctor` and the start-up
//! checks): who the bot is, its application, its servers, their roles, channels and members.
//! Answers are returned as JSON; the caller reads the fields it needs.

use super::{Call, RestClient, RestError};
use serde_json::Value;
use serenity::http::{LightMethod, Route};
use serenity::model::id::{GuildId, UserId};

impl RestClient {
    async fn get_json(&self, call: Call, what: &str) -> Result<Value, RestError> {
        let body = self.send(call).await?;
        serde_json::from_slice(&body).map_err(|e| RestError::Decode(format!("{what}: {e}")))
    }

    /// `GET /users/@me`: the bot user (checks the token).
    pub async fn current_user(&self) -> Result<Value, RestError> {
        self.get_json(Call::new(LightMethod::Get, Route::UserMe), "current user")
            .await
    }

    /// `GET /oauth2/applications/@me`: the application, with its id and `flags` (privileged
    /// intents).
    pub async fn current_application(&self) -> Result<Value, RestError> {
        let call = Call::new(LightMethod::Get, Route::Oauth2ApplicationCurrent);
        self.get_json(call, "application").await
    }

    /// `GET /users/@me/guilds`: the servers the bot is in (first 200).
    pub async fn current_user_guilds(&self) -> Result<Vec<Value>, RestError> {
        let mut call = Call::new(LightMethod::Get, Route::UserMeGuilds);
        call.params = Some(vec![("limit", "200".into())]);
        let v = self.get_json(call, "guild list").await?;
        Ok(v.as_array().cloned().unwrap_or_default())
    }

    /// `GET /guilds/{id}`: the server with its roles and owner.
    pub async fn guild(&self, guild: GuildId) -> Result<Value, RestError> {
        let call = Call::new(LightMethod::Get, Route::Guild { guild_id: guild });
        self.get_json(call, "guild").await
    }

    /// `GET /guilds/{id}/channels`: the server's channels with their permission overwrites.
    pub async fn guild_channels(&self, guild: GuildId) -> Result<Vec<Value>, RestError> {
        let call = Call::new(LightMethod::Get, Route::GuildChannels { guild_id: guild });
        let v = self.get_json(call, "channels").await?;
        Ok(v.as_array().cloned().unwrap_or_default())
    }

    /// `GET /guilds/{id}/members/{user}`: one member with their role ids.
    pub async fn guild_member(&self, guild: GuildId, user: UserId) -> Result<Value, RestError> {
        let route = Route::GuildMember {
            guild_id: guild,
            user_id: user,
        };
        self.get_json(Call::new(LightMethod::Get, route), "member")
            .await
    }

    /// `GET /guilds/{id}/members?limit=N`: the first `limit` (at most 1000) members; needs the
    /// Server Members intent.
    pub async fn guild_members(&self, guild: GuildId, limit: u16) -> Result<Vec<Value>, RestError> {
        let mut call = Call::new(LightMethod::Get, Route::GuildMembers { guild_id: guild });
        call.params = Some(vec![("limit", limit.min(1000).to_string())]);
        let v = self.get_json(call, "members").await?;
        Ok(v.as_array().cloned().unwrap_or_default())
    }
}
