//! Who is asking: the session behind the cookie ([`Viewer`]), their rights on the guild a page
//! shows ([`GuildPage`]), and the CSRF check every POST makes.

use super::session::{cookie, same_secret, Session, SESSION_COOKIE};
use super::{PageError, WebState};
use crate::moderation::Access;
use axum::extract::{FromRequestParts, OriginalUri, Path};
use axum::http::request::Parts;
use std::collections::HashMap;

/// A logged-in user. Extracting it without a session redirects to the login page.
#[derive(Debug, Clone)]
pub struct Viewer {
    /// The session.
    pub session: Session,
    /// Its id (for logout).
    pub sid: String,
    /// Whether the user is an owner named in `web.owners`.
    pub owner: bool,
}

impl Viewer {
    /// Rejects a state-changing request whose token is missing or not the session's.
    pub fn check_csrf(&self, token: &str) -> Result<(), PageError> {
        if !token.is_empty() && same_secret(token, &self.session.csrf) {
            Ok(())
        } else {
            Err(PageError::Forbidden(
                "This form has expired or did not come from the dashboard (CSRF check failed); reload the page and try again."
                    .into(),
            ))
        }
    }

    /// The user id.
    pub fn id(&self) -> u64 {
        self.session.user_id
    }
}

impl FromRequestParts<WebState> for Viewer {
    type Rejection = PageError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &WebState,
    ) -> Result<Self, Self::Rejection> {
        let here = parts
            .extensions
            .get::<OriginalUri>()
            .map(|u| u.0.to_string())
            .unwrap_or_else(|| parts.uri.to_string());
        // A POST cannot be replayed after login: send the user back to the page instead.
        let next = if parts.method == axum::http::Method::GET {
            here
        } else {
            "/".to_string()
        };
        let Some(sid) = cookie(&parts.headers, SESSION_COOKIE).filter(|s| !s.is_empty()) else {
            return Err(PageError::Login(next));
        };
        let Some(session) = state.sessions().get(&sid).await? else {
            return Err(PageError::Login(next));
        };
        let owner = state.service().cfg().web.owners.contains(&session.user_id);
        Ok(Viewer {
            session,
            sid,
            owner,
        })
    }
}

/// A guild page: the viewer and their rights there. A guild the viewer may not see is a 404.
#[derive(Debug, Clone)]
pub struct GuildPage {
    /// The viewer.
    pub viewer: Viewer,
    /// The guild.
    pub guild_id: u64,
    /// Its name.
    pub guild_name: String,
    /// The viewer's rights there (moderator or admin).
    pub access: Access,
}

impl GuildPage {
    /// Requires administrator rights (Administrator or Manage Server).
    pub fn require_admin(&self) -> Result<(), PageError> {
        if self.access == Access::Admin {
            Ok(())
        } else {
            Err(PageError::Forbidden(
                "Only the server's administrators (Administrator or Manage Server) can do this."
                    .into(),
            ))
        }
    }
}

impl FromRequestParts<WebState> for GuildPage {
    type Rejection = PageError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &WebState,
    ) -> Result<Self, Self::Rejection> {
        let viewer = Viewer::from_request_parts(parts, state).await?;
        let Path(params) = Path::<HashMap<String, String>>::from_request_parts(parts, state)
            .await
            .map_err(|_| PageError::NotFound)?;
        let guild_id: u64 = params
            .get("guild")
            .and_then(|g| g.parse().ok())
            .ok_or(PageError::NotFound)?;
        let access = match state
            .service()
            .dashboard_access(guild_id, viewer.id())
            .await
        {
            Some(a @ (Access::Moderator | Access::Admin)) => a,
            _ => return Err(PageError::NotFound),
        };
        let guild_name = viewer
            .session
            .guilds
            .iter()
            .find(|g| g.id == guild_id)
            .map(|g| g.name.clone())
            .unwrap_or_else(|| state.service().guild(guild_id).name);
        Ok(GuildPage {
            viewer,
            guild_id,
            guild_name,
            access,
        })
    }
}
