//! Builds serenity's [`Http`] client from configuration.
//!
//! With `discord.api_base` set, every REST route is rewritten onto that base (an HTTP proxy such
//! as twilight-http-proxy or nirn-proxy, or a fake Discord in tests). serenity's own rate
//! limiter then has to be off: it builds its requests without the proxy substitution, so with it
//! on nothing would reach the configured base. Rate limits become the proxy's job, and
//! [`super::rest::RestClient`] honours the 429s it passes through.

use serenity::http::{Http, HttpBuilder};

use crate::config::{Config, Secret};

/// Errors building the HTTP client.
#[derive(Debug, thiserror::Error)]
pub enum HttpSetupError {
    /// No bot token configured.
    #[error("discord.token is empty: set DISCORD_TOKEN to the bot token from the Discord developer portal")]
    MissingToken,
    /// The API base is not an absolute http(s) URL.
    #[error("discord.api_base `{0}` is not an http:// or https:// URL (leave it empty for Discord itself)")]
    BadApiBase(String),
}

/// How REST requests reach Discord.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiRoute {
    /// Straight to discord.com, paced by serenity's rate limiter.
    Direct,
    /// Through this base URL (no trailing slash), rate limiter off.
    Proxy(String),
}

impl ApiRoute {
    /// Reads `api_base` (empty or whitespace means [`ApiRoute::Direct`]).
    pub fn parse(api_base: &str) -> Result<Self, HttpSetupError> {
        let base = api_base.trim();
        if base.is_empty() {
            return Ok(Self::Direct);
        }
        match url::Url::parse(base) {
            Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => {
                Ok(Self::Proxy(base.trim_end_matches('/').to_owned()))
            }
            _ => Err(HttpSetupError::BadApiBase(base.to_owned())),
        }
    }
}

/// Builds the [`Http`] client for `token` and `route`.
pub fn build_http(token: &Secret, route: &ApiRoute) -> Result<Http, HttpSetupError> {
    if token.is_empty() {
        return Err(HttpSetupError::MissingToken);
    }
    let builder = HttpBuilder::new(token.expose().trim());
    Ok(match route {
        ApiRoute::Direct => builder.build(),
        ApiRoute::Proxy(base) => builder
            .proxy(base.as_str())
            .ratelimiter_disabled(true)
            .build(),
    })
}

/// [`build_http`] from the `[discord]` section of `config`.
pub fn http_from_config(config: &Config) -> Result<Http, HttpSetupError> {
    build_http(
        &config.discord.token,
        &ApiRoute::parse(&config.discord.api_base)?,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_base_selects_proxy_and_disables_ratelimiter() {
        let route = ApiRoute::parse(" http://127.0.0.1:9/ ").unwrap_or(ApiRoute::Direct);
        assert_eq!(route, ApiRoute::Proxy("http://127.0.0.1:9".into()));
        let http = build_http(&Secret::new("abc"), &route).map_err(|e| e.to_string());
        let http = http.as_ref().map_err(String::as_str);
        assert!(
            matches!(http, Ok(h) if h.ratelimiter.is_none() && h.proxy.as_deref() == Some("http://127.0.0.1:9"))
        );
        assert!(matches!(http, Ok(h) if h.token() == "Bot abc"));
    }

    #[test]
    fn empty_api_base_keeps_serenity_ratelimiter() {
        assert_eq!(ApiRoute::parse("  ").ok(), Some(ApiRoute::Direct));
        let http = build_http(&Secret::new("abc"), &ApiRoute::Direct);
        assert!(matches!(http, Ok(h) if h.ratelimiter.is_some() && h.proxy.is_none()));
    }

    #[test]
    fn bad_inputs_say_what_to_fix() {
        assert!(matches!(
            ApiRoute::parse("ftp://x"),
            Err(HttpSetupError::BadApiBase(_))
        ));
        assert!(matches!(
            ApiRoute::parse("not a url"),
            Err(HttpSetupError::BadApiBase(_))
        ));
        let err = build_http(&Secret::new(" "), &ApiRoute::Direct).err();
        assert!(matches!(err, Some(HttpSetupError::MissingToken)));
    }
}
