//! A plain HTTP client for the dashboard: no redirects followed, cookies carried by hand, so
//! every test sees each hop (status, `Location`, `Set-Cookie`) of the login and of each page.

use reqwest::header::{HeaderMap, COOKIE, LOCATION, SET_COOKIE};
use reqwest::redirect::Policy;

use crate::fake_discord::FakeDiscord;
use crate::harness::Daemon;

/// A logged-in user: the session cookie's value and the CSRF token of their pages.
#[derive(Debug, Clone)]
pub struct Session {
    /// Value of the `usmca_session` cookie.
    pub cookie: String,
    /// The hidden `csrf` field of their forms.
    pub csrf: String,
}

impl Session {
    /// The `Cookie` header that carries it.
    pub fn header(&self) -> String {
        format!("usmca_session={}", self.cookie)
    }
}

/// One response, read whole.
#[derive(Debug)]
pub struct Reply {
    /// Status code.
    pub status: u16,
    /// Headers.
    pub headers: HeaderMap,
    /// Body text.
    pub body: String,
}

impl Reply {
    /// The `Location` header, or "".
    pub fn location(&self) -> String {
        self.header(LOCATION.as_str())
    }

    /// A header's value, or "".
    pub fn header(&self, name: &str) -> String {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    }

    /// Every `Set-Cookie` header.
    pub fn set_cookies(&self) -> Vec<String> {
        self.headers
            .get_all(SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok().map(str::to_owned))
            .collect()
    }

    /// The whole `Set-Cookie` line for cookie `name`, when one is set.
    pub fn set_cookie(&self, name: &str) -> Option<String> {
        self.set_cookies()
            .into_iter()
            .find(|c| c.starts_with(&format!("{name}=")))
    }

    /// The value `Set-Cookie` gives cookie `name`, when one is set.
    pub fn cookie_value(&self, name: &str) -> Option<String> {
        let line = self.set_cookie(name)?;
        let pair = line.split(';').next()?;
        pair.split_once('=').map(|(_, v)| v.to_owned())
    }

    /// Whether this is a redirect (302, 303 or 307).
    pub fn is_redirect(&self) -> bool {
        matches!(self.status, 302 | 303 | 307)
    }

    /// A short description for assertion messages.
    pub fn describe(&self) -> String {
        let body: String = self.body.chars().take(600).collect();
        format!(
            "{} Location={:?} Set-Cookie={:?}\n{body}",
            self.status,
            self.location(),
            self.set_cookies()
        )
    }
}

/// The `value` of the first `<input name="csrf" ...>` of a page.
pub fn csrf_of(html: &str) -> Option<String> {
    let re = regex::Regex::new(r#"<input[^>]*name="csrf"[^>]*value="([^"]+)""#).ok()?;
    re.captures(html).map(|c| c[1].to_owned())
}

/// The decoded `next` parameter of a `/login?next=...` URL.
pub fn next_param(location: &str) -> Option<String> {
    let query = location.split_once('?')?.1;
    url::form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == "next")
        .map(|(_, v)| v.into_owned())
}

/// A client for one daemon's dashboard.
pub struct Web {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    http: reqwest::Client,
}

impl Web {
    /// A client for `d`'s dashboard.
    pub fn new(d: &Daemon) -> Self {
        crate::no_proxy();
        Self {
            base: d.web_url(),
            http: reqwest::Client::builder()
                .redirect(Policy::none())
                .no_proxy()
                .timeout(std::time::Duration::from_secs(20))
                .build()
                .expect("HTTP client"),
        }
    }

    fn url(&self, path: &str) -> String {
        if path.starts_with("http://") || path.starts_with("https://") {
            path.to_owned()
        } else {
            format!("{}{path}", self.base)
        }
    }

    async fn read(r: reqwest::RequestBuilder) -> Reply {
        let resp = r.send().await.expect("dashboard answers");
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let body = resp.text().await.unwrap_or_default();
        Reply {
            status,
            headers,
            body,
        }
    }

    /// GET a path (or a full URL) with a `Cookie` header ("" for none).
    pub async fn get_with(&self, path: &str, cookie: &str) -> Reply {
        let mut r = self.http.get(self.url(path));
        if !cookie.is_empty() {
            r = r.header(COOKIE, cookie);
        }
        Self::read(r).await
    }

    /// GET a path as `session` (or anonymously).
    pub async fn get(&self, path: &str, session: Option<&Session>) -> Reply {
        self.get_with(path, &session.map(Session::header).unwrap_or_default())
            .await
    }

    /// POST a form to a path as `session` (or anonymously).
    pub async fn post(
        &self,
        path: &str,
        session: Option<&Session>,
        form: &[(&str, &str)],
    ) -> Reply {
        let mut r = self.http.post(self.url(path)).form(form);
        if let Some(s) = session {
            r = r.header(COOKIE, s.header());
        }
        Self::read(r).await
    }

    /// `GET /login?next=...`: (the fake's authorize URL, the `usmca_login` cookie's value).
    pub async fn start_login(&self, next: &str) -> (String, String) {
        let r = self
            .get(
                &format!(
                    "/login?next={}",
                    url::form_urlencoded::byte_serialize(next.as_bytes()).collect::<String>()
                ),
                None,
            )
            .await;
        assert!(r.is_redirect(), "GET /login: {}", r.describe());
        let login = r
            .cookie_value("usmca_login")
            .unwrap_or_else(|| panic!("GET /login set no usmca_login cookie: {}", r.describe()));
        (r.location(), login)
    }

    /// The fake's authorize page, logged in to Discord as `user`: the callback URL it sends
    /// the browser back to.
    pub async fn authorize(&self, fake: &FakeDiscord, user: u64, authorize_url: &str) -> String {
        fake.set_oauth_user(user);
        let r = self.get(authorize_url, None).await;
        assert!(
            r.is_redirect(),
            "the fake's authorize page: {}",
            r.describe()
        );
        let back = r.location();
        assert!(
            back.starts_with(&format!("{}/auth/callback?", self.base)),
            "authorize redirected to {back}"
        );
        back
    }

    /// The whole login as `user`, returning to `next`: the session and where the callback
    /// redirected to.
    pub async fn login_to(&self, fake: &FakeDiscord, user: u64, next: &str) -> (Session, String) {
        let (authorize, login) = self.start_login(next).await;
        let callback = self.authorize(fake, user, &authorize).await;
        let r = self
            .get_with(&callback, &format!("usmca_login={login}"))
            .await;
        assert!(r.is_redirect(), "callback: {}", r.describe());
        let cookie = r
            .cookie_value("usmca_session")
            .filter(|v| !v.is_empty())
            .unwrap_or_else(|| panic!("callback set no session: {}", r.describe()));
        let mut s = Session {
            cookie,
            csrf: String::new(),
        };
        let me = self.get("/me", Some(&s)).await;
        assert_eq!(me.status, 200, "GET /me after login: {}", me.describe());
        s.csrf = csrf_of(&me.body).expect("a CSRF field on /me (the logout form)");
        (s, r.location())
    }

    /// Logs in as `user`.
    pub async fn login(&self, fake: &FakeDiscord, user: u64) -> Session {
        self.login_to(fake, user, "/").await.0
    }
}
