//! The dashboard's HTTP surface, hop by hop: login and sessions, rights per server, CSRF,
//! escaping, the OAuth `state`, the security headers, and the dashboard being off.

use std::time::Duration;

use usmca_bot::domain::CaseAction;

use crate::client::{csrf_of, next_param, Reply, Session, Web};
use crate::harness::{Daemon, Options, GUILD};
use crate::world::*;

fn assert_login_redirect(r: &Reply, next: &str) {
    assert!(
        r.is_redirect(),
        "expected a redirect to log in: {}",
        r.describe()
    );
    let loc = r.location();
    assert!(loc.starts_with("/login?next="), "{loc}");
    assert_eq!(next_param(&loc).as_deref(), Some(next), "{loc}");
}

/// The flags every dashboard cookie carries over plain http.
fn assert_cookie_flags(line: &str) {
    let attrs: Vec<&str> = line.split(';').map(str::trim).collect();
    for want in ["HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(attrs.contains(&want), "{want} missing: {line}");
    }
    // http public_url: Secure would make the browser drop it (https is covered by the
    // unit test in src/web/session.rs).
    assert!(
        !attrs.iter().any(|a| a.eq_ignore_ascii_case("Secure")),
        "{line}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_sets_strict_cookies_and_logout_ends_the_session_on_the_server() {
    let d = start().await;
    let web = Web::new(&d);

    // GET /login: to Discord's authorize page, with PKCE, and a login cookie.
    let (authorize, login) = web.start_login("/me").await;
    let app_id = d.fake.config().application_id;
    assert!(
        authorize.starts_with(&format!("{}/oauth2/authorize?", d.fake.api_base())),
        "{authorize}"
    );
    for part in [
        format!("client_id={app_id}"),
        "code_challenge_method=S256".into(),
        "response_type=code".into(),
    ] {
        assert!(authorize.contains(&part), "{part} missing: {authorize}");
    }
    let r = web.get("/login?next=/me", None).await;
    assert_cookie_flags(&r.set_cookie("usmca_login").expect("login cookie"));

    // The callback: a session cookie, the login cookie cleared, back to `next`.
    let callback = web.authorize(&d.fake, MODERATOR, &authorize).await;
    let r = web
        .get_with(&callback, &format!("usmca_login={login}"))
        .await;
    assert!(r.is_redirect(), "{}", r.describe());
    assert_eq!(r.location(), "/me");
    let line = r.set_cookie("usmca_session").expect("session cookie");
    assert_cookie_flags(&line);
    assert!(!line.contains("Max-Age=0;"), "{line}");
    let cleared = r.set_cookie("usmca_login").expect("login cookie cleared");
    assert!(cleared.contains("Max-Age=0"), "{cleared}");
    let session = Session {
        cookie: r.cookie_value("usmca_session").expect("session id"),
        csrf: String::new(),
    };
    let me = web.get("/me", Some(&session)).await;
    assert_eq!(me.status, 200, "{}", me.describe());
    assert!(me.body.contains("moderator"), "{}", me.describe());
    let session = Session {
        csrf: csrf_of(&me.body).expect("csrf field"),
        ..session
    };

    // Logout needs the CSRF token: without it, or with a wrong one, nothing happens.
    for form in [vec![], vec![("csrf", "not-the-token")], vec![("csrf", "")]] {
        let r = web.post("/logout", Some(&session), &form).await;
        assert_eq!(r.status, 403, "logout with {form:?}: {}", r.describe());
        assert!(r.set_cookie("usmca_session").is_none(), "{}", r.describe());
    }
    assert_eq!(web.get("/me", Some(&session)).await.status, 200);

    let r = web
        .post("/logout", Some(&session), &[("csrf", &session.csrf)])
        .await;
    assert!(r.is_redirect(), "{}", r.describe());
    assert_eq!(r.location(), "/");
    let gone = r.set_cookie("usmca_session").expect("cookie cleared");
    assert!(gone.starts_with("usmca_session=;"), "{gone}");
    assert!(gone.contains("Max-Age=0"), "{gone}");
    // The old cookie, sent anyway, no longer works: the session is gone on the server.
    let r = web.get("/me", Some(&session)).await;
    assert_login_redirect(&r, "/me");
    let r = web
        .post("/logout", Some(&session), &[("csrf", &session.csrf)])
        .await;
    assert_login_redirect(&r, "/");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_need_a_session_and_next_stays_on_this_site() {
    let d = start().await;
    let web = Web::new(&d);
    let (case_no, _) = seed_case(&d, GUILD, OUTSIDER, CaseAction::Warn, "spam", None).await;

    // No session, or a made-up one: to the login page, and back here afterwards.
    let cases = format!("/g/{GUILD}/cases");
    for cookie in ["", "usmca_session=forged", "usmca_session="] {
        let r = web.get_with(&cases, cookie).await;
        assert_login_redirect(&r, &cases);
    }
    let r = web
        .get(&format!("/g/{GUILD}/cases?status=applied"), None)
        .await;
    assert_login_redirect(&r, &format!("/g/{GUILD}/cases?status=applied"));
    for path in ["/", "/me", &format!("/g/{GUILD}/cases/{case_no}")] {
        assert_login_redirect(&web.get(path, None).await, path);
    }
    // A POST without a session changes nothing and returns to the home page after login.
    let r = web
        .post(
            &format!("/g/{GUILD}/cases/{case_no}/reverse"),
            None,
            &[("reason", "x"), ("csrf", "x")],
        )
        .await;
    assert_login_redirect(&r, "/");
    assert_eq!(case_status(&d, GUILD, case_no).await, "applied");

    // After login the user lands where they were going...
    let (_, landed) = web.login_to(&d.fake, MODERATOR, &cases).await;
    assert_eq!(landed, cases);
    // ...but never on another site.
    for evil in [
        "//evil.example",
        "https://evil.example",
        "/\\evil.example",
        "http:evil.example",
    ] {
        let (_, landed) = web.login_to(&d.fake, MODERATOR, evil).await;
        assert_eq!(landed, "/", "next={evil}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_callback_with_another_state_or_replayed_is_refused() {
    let d = start().await;
    let web = Web::new(&d);
    let no_session = |r: &Reply| {
        assert!(
            r.cookie_value("usmca_session").is_none_or(|v| v.is_empty()),
            "a session was issued: {}",
            r.describe()
        );
    };

    let (authorize_a, cookie_a) = web.start_login("/").await;
    let callback_a = web.authorize(&d.fake, MODERATOR, &authorize_a).await;
    let (_, cookie_b) = web.start_login("/").await;

    // The callback in a browser that started another login (or none): state mismatch.
    for cookie in [format!("usmca_login={cookie_b}"), String::new()] {
        let r = web.get_with(&callback_a, &cookie).await;
        assert_eq!(r.status, 400, "cookie {cookie:?}: {}", r.describe());
        assert!(r.body.contains("state mismatch"), "{}", r.describe());
        no_session(&r);
    }
    // A state nobody started, with a matching cookie.
    let forged = callback_a.replace("state=", "state=forged");
    let forged_state = url::Url::parse(&forged)
        .expect("url")
        .query_pairs()
        .find(|(k, _)| k == "state")
        .map(|(_, v)| v.into_owned())
        .expect("state");
    let r = web
        .get_with(&forged, &format!("usmca_login={forged_state}"))
        .await;
    assert_eq!(r.status, 400, "{}", r.describe());
    no_session(&r);

    // The real browser completes its login once...
    let r = web
        .get_with(&callback_a, &format!("usmca_login={cookie_a}"))
        .await;
    assert!(r.is_redirect(), "{}", r.describe());
    assert!(r
        .cookie_value("usmca_session")
        .is_some_and(|v| !v.is_empty()));
    // ...and the same callback URL replayed is refused.
    let r = web
        .get_with(&callback_a, &format!("usmca_login={cookie_a}"))
        .await;
    assert_eq!(r.status, 400, "{}", r.describe());
    no_session(&r);

    // The used code under a fresh, valid login: Discord refuses it, no session either.
    let code = url::Url::parse(&callback_a)
        .expect("url")
        .query_pairs()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.into_owned())
        .expect("code");
    let (_, cookie_c) = web.start_login("/").await;
    let replay = format!("{}/auth/callback?code={code}&state={cookie_c}", web.base);
    let r = web
        .get_with(&replay, &format!("usmca_login={cookie_c}"))
        .await;
    assert_eq!(r.status, 400, "{}", r.describe());
    no_session(&r);
    assert_eq!(
        d.fake.requests_to("POST", "/api/v10/oauth2/token").len(),
        2,
        "one good trade and the refused replay"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_servers_pages_are_not_found_even_for_a_moderator_elsewhere() {
    let d = start().await;
    let web = Web::new(&d);
    let (other_case, _) = seed_case(&d, OTHER, OUTSIDER, CaseAction::Ban, "raid", None).await;
    let appeal = seed_appeal(&d, OTHER, other_case, OUTSIDER, "let me back").await;
    let (our_case, our_case_id) =
        seed_case(&d, GUILD, OUTSIDER, CaseAction::Warn, "spam", None).await;

    let pages = [
        format!("/g/{OTHER}/"),
        format!("/g/{OTHER}/cases"),
        format!("/g/{OTHER}/cases/{other_case}"),
        format!("/g/{OTHER}/settings"),
        format!("/g/{OTHER}/appeals"),
        format!("/g/{OTHER}/members"),
        format!("/g/{OTHER}/members/{OUTSIDER}"),
        format!("/g/{OTHER}/incidents"),
        format!("/g/{OTHER}/audit"),
        format!("/g/{OTHER}/try"),
    ];
    // The other server's moderator sees them (so a 404 below is about rights).
    let other_mod = web.login(&d.fake, OTHER_MOD).await;
    for p in &pages {
        let r = web.get(p, Some(&other_mod)).await;
        assert_eq!(r.status, 200, "{p} for its moderator: {}", r.describe());
    }
    // The access page is for administrators: refused, but there, for its moderator.
    let access = format!("/g/{OTHER}/access");
    let r = web.get(&access, Some(&other_mod)).await;
    assert_eq!(r.status, 403, "{access}: {}", r.describe());
    // A moderator of the test server only: every page of the other is a 404, as if it did
    // not exist, and names nothing of it.
    let moderator = web.login(&d.fake, MODERATOR).await;
    assert_eq!(
        web.get(&format!("/g/{GUILD}/cases"), Some(&moderator))
            .await
            .status,
        200
    );
    for p in pages.iter().chain([&access]) {
        let r = web.get(p, Some(&moderator)).await;
        assert_eq!(r.status, 404, "{p}: {}", r.describe());
        assert!(!r.body.contains("Other Server"), "{p}: {}", r.describe());
        assert!(!r.body.contains("raid"), "{p}: {}", r.describe());
    }
    // Nor can they act there with a valid token of their own.
    let csrf = moderator.csrf.as_str();
    let posts = [
        (
            format!("/g/{OTHER}/cases/{other_case}/reverse"),
            vec![("csrf", csrf), ("reason", "mine now")],
        ),
        (
            format!("/g/{OTHER}/cases/{other_case}/note"),
            vec![("csrf", csrf), ("note", "hello")],
        ),
        (
            format!("/g/{OTHER}/appeals/{appeal}/approve"),
            vec![("csrf", csrf), ("note", "ok")],
        ),
        (
            format!("/g/{OTHER}/appeals/{appeal}/deny"),
            vec![("csrf", csrf), ("reason", "no")],
        ),
        (
            format!("/g/{OTHER}/settings"),
            vec![("csrf", csrf), ("thresholds.warn", "0.5")],
        ),
        (
            format!("/g/{OTHER}/settings/preview"),
            vec![("csrf", csrf), ("thresholds.warn", "0.5")],
        ),
        (
            format!("/g/{OTHER}/try"),
            vec![("csrf", csrf), ("text", "hello")],
        ),
        (
            format!("/g/{OTHER}/access"),
            vec![("csrf", csrf), ("kind", "user"), ("subject", "1")],
        ),
    ];
    for (p, form) in &posts {
        let r = web.post(p, Some(&moderator), form).await;
        assert_eq!(r.status, 404, "POST {p}: {}", r.describe());
    }
    assert_eq!(case_status(&d, OTHER, other_case).await, "applied");
    let open = d.storage().open_appeals(OTHER).await.expect("appeals");
    assert_eq!(open.len(), 1, "the appeal is still open");
    let (settings, version) = d.storage().guild_settings(OTHER).await.expect("settings");
    assert_eq!(
        settings.thresholds, None,
        "settings untouched (version {version})"
    );
    assert!(d.storage().grants(OTHER).await.expect("grants").is_empty());

    // A plain member sees no server's pages.
    let outsider = web.login(&d.fake, OUTSIDER).await;
    for p in [
        format!("/g/{GUILD}/"),
        format!("/g/{GUILD}/cases"),
        format!("/g/{GUILD}/cases/{our_case}"),
        format!("/g/{GUILD}/settings"),
        format!("/g/{GUILD}/appeals"),
    ] {
        let r = web.get(&p, Some(&outsider)).await;
        assert_eq!(r.status, 404, "{p}: {}", r.describe());
    }
    // The portal shows a member their own cases, and nobody else's.
    let mine = format!("/me/cases/{our_case_id}");
    assert_eq!(web.get(&mine, Some(&outsider)).await.status, 200);
    let r = web.get(&mine, Some(&moderator)).await;
    assert_eq!(r.status, 404, "{}", r.describe());
    let r = web
        .post(
            &format!("{mine}/appeal"),
            Some(&moderator),
            &[("csrf", csrf), ("text", "not my case")],
        )
        .await;
    assert_eq!(r.status, 404, "{}", r.describe());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn state_changing_posts_need_the_sessions_csrf_token() {
    let d = start().await;
    let web = Web::new(&d);
    let (case_no, _) = seed_case(&d, GUILD, OUTSIDER, CaseAction::Warn, "spam", None).await;
    let (_, own_case_id) = seed_case(&d, GUILD, MODERATOR, CaseAction::Warn, "rude", None).await;
    let moderator = web.login(&d.fake, MODERATOR).await;
    let admin = web.login(&d.fake, ADMIN).await;
    assert_ne!(moderator.csrf, admin.csrf, "each session has its own token");

    let reverse = format!("/g/{GUILD}/cases/{case_no}/reverse");
    for token in [None, Some(""), Some("wrong"), Some(admin.csrf.as_str())] {
        let mut form = vec![("reason", "banter")];
        if let Some(t) = token {
            form.push(("csrf", t));
        }
        let r = web.post(&reverse, Some(&moderator), &form).await;
        assert_eq!(r.status, 403, "token {token:?}: {}", r.describe());
        assert!(r.body.contains("CSRF"), "{}", r.describe());
    }
    assert_eq!(case_status(&d, GUILD, case_no).await, "applied");

    let appeal = format!("/me/cases/{own_case_id}/appeal");
    let r = web
        .post(&appeal, Some(&moderator), &[("text", "please")])
        .await;
    assert_eq!(r.status, 403, "{}", r.describe());
    assert!(
        d.storage()
            .appeals_of_case(own_case_id)
            .await
            .expect("appeals")
            .is_empty(),
        "no appeal without the token"
    );
    let r = web.post("/logout", Some(&moderator), &[]).await;
    assert_eq!(r.status, 403, "{}", r.describe());

    // With the session's own token the same requests go through.
    let r = web
        .post(
            &reverse,
            Some(&moderator),
            &[("reason", "banter"), ("csrf", &moderator.csrf)],
        )
        .await;
    assert!(r.is_redirect(), "{}", r.describe());
    assert_eq!(case_status(&d, GUILD, case_no).await, "reversed");
    let r = web
        .post(
            &appeal,
            Some(&moderator),
            &[("text", "please"), ("csrf", &moderator.csrf)],
        )
        .await;
    assert!(r.is_redirect(), "{}", r.describe());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stored_text_and_user_names_are_escaped() {
    let d = start().await;
    let web = Web::new(&d);
    let payload = format!("{SCRIPT}{IMG}");
    let (case_no, case_id) = seed_case(
        &d,
        GUILD,
        OUTSIDER,
        CaseAction::Warn,
        &payload,
        Some(&payload),
    )
    .await;
    seed_appeal(&d, GUILD, case_no, OUTSIDER, &payload).await;
    let check = |what: &str, r: &Reply| {
        assert_eq!(r.status, 200, "{what}: {}", r.describe());
        assert!(
            !r.body.contains(SCRIPT),
            "{what}: raw <script> in\n{}",
            r.body
        );
        assert!(
            !r.body.contains("<img src=x"),
            "{what}: raw <img> in\n{}",
            r.body
        );
        assert!(
            r.body.contains(SCRIPT_ESCAPED),
            "{what}: not escaped:\n{}",
            r.body
        );
        assert!(
            r.body.contains(IMG_ESCAPED),
            "{what}: not escaped:\n{}",
            r.body
        );
    };

    // A moderator whose Discord name is markup reads a case whose message was markup.
    let evil = web.login(&d.fake, EVIL).await;
    check("home", &web.get("/", Some(&evil)).await);
    check(
        "case page",
        &web.get(&format!("/g/{GUILD}/cases/{case_no}"), Some(&evil))
            .await,
    );
    check(
        "case list",
        &web.get(&format!("/g/{GUILD}/cases"), Some(&evil)).await,
    );
    check(
        "appeals",
        &web.get(&format!("/g/{GUILD}/appeals"), Some(&evil)).await,
    );
    check(
        "member history",
        &web.get(&format!("/g/{GUILD}/members/{OUTSIDER}"), Some(&evil))
            .await,
    );
    // Text a moderator tries out comes back escaped too.
    let tried = web
        .post(
            &format!("/g/{GUILD}/try"),
            Some(&evil),
            &[("csrf", &evil.csrf), ("text", &payload)],
        )
        .await;
    check("try a message", &tried);
    let audit = web.get(&format!("/g/{GUILD}/audit"), Some(&evil)).await;
    assert_eq!(audit.status, 200, "{}", audit.describe());
    assert!(!audit.body.contains(SCRIPT) && !audit.body.contains("<img src=x"));
    // The member reads it in the portal.
    let outsider = web.login(&d.fake, OUTSIDER).await;
    check(
        "portal case",
        &web.get(&format!("/me/cases/{case_id}"), Some(&outsider))
            .await,
    );
}

/// `<script ...>` and `<link ...>` tags, and inline handlers or styles, of a page.
fn resources(html: &str) -> (Vec<String>, Vec<String>) {
    let tag = regex::Regex::new(r"(?i)<(script|link)\b[^>]*>").expect("regex");
    let src = regex::Regex::new(r#"(?i)\b(src|href)="([^"]*)""#).expect("regex");
    let mut loaded = Vec::new();
    let mut inline = Vec::new();
    for t in tag.find_iter(html).map(|m| m.as_str()) {
        match src.captures(t) {
            Some(c) if !c[2].starts_with("data:") => loaded.push(c[2].to_owned()),
            Some(_) => {}
            None if t.contains(r#"type="application/json""#) => {}
            None => inline.push(t.to_owned()),
        }
    }
    let attrs = regex::Regex::new(r#"(?i)<[a-z][^>]*\s(on[a-z]+|style)\s*="#).expect("regex");
    inline.extend(attrs.find_iter(html).map(|m| m.as_str().to_owned()));
    (loaded, inline)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_carry_a_strict_csp_and_load_assets_from_this_site_only() {
    let d = start().await;
    let web = Web::new(&d);
    let (case_no, case_id) = seed_case(&d, GUILD, ADMIN, CaseAction::Warn, "spam", None).await;
    let admin = web.login(&d.fake, ADMIN).await;

    let mut assets = std::collections::BTreeSet::new();
    for path in [
        "/".to_string(),
        "/me".into(),
        format!("/me/cases/{case_id}"),
        format!("/g/{GUILD}/"),
        format!("/g/{GUILD}/cases"),
        format!("/g/{GUILD}/cases/{case_no}"),
        format!("/g/{GUILD}/settings"),
        format!("/g/{GUILD}/appeals"),
        format!("/g/{GUILD}/members"),
        format!("/g/{GUILD}/members/{ADMIN}"),
        format!("/g/{GUILD}/incidents"),
        format!("/g/{GUILD}/audit"),
        format!("/g/{GUILD}/access"),
        format!("/g/{GUILD}/try"),
        format!("/g/{OTHER}/cases"),
        "/login?next=/".into(),
        "/assets/dashboard.js".into(),
        "/assets/missing.js".into(),
    ] {
        let r = web.get(&path, Some(&admin)).await;
        let csp = r.header("content-security-policy");
        for want in [
            "default-src 'none'",
            "script-src 'self'",
            "style-src 'self'",
            "frame-ancestors 'none'",
            "form-action 'self'",
        ] {
            assert!(csp.contains(want), "{path}: {want} missing from {csp:?}");
        }
        for banned in ["unsafe-inline", "unsafe-eval", "*", "http:", "https:"] {
            assert!(!csp.contains(banned), "{path}: {banned} in {csp:?}");
        }
        assert_eq!(r.header("x-content-type-options"), "nosniff", "{path}");
        assert_eq!(r.header("x-frame-options"), "DENY", "{path}");
        if r.header("content-type").starts_with("text/html") {
            let (loaded, inline) = resources(&r.body);
            assert!(
                inline.is_empty(),
                "{path}: inline code or style: {inline:?}"
            );
            for a in loaded {
                assert!(a.starts_with("/assets/"), "{path} loads {a}");
                assets.insert(a);
            }
        }
    }
    assert!(assets.len() >= 3, "{assets:?}");
    for a in &assets {
        let r = web.get(a, None).await;
        assert_eq!(r.status, 200, "{a}");
        let ty = r.header("content-type");
        assert!(
            ty.starts_with("text/css") || ty.starts_with("text/javascript"),
            "{a}: {ty}"
        );
    }
    for missing in [
        "/assets/nope.js",
        "/assets/..%2FCargo.toml",
        "/assets/%2e%2e%2fsrc",
    ] {
        assert_eq!(web.get(missing, None).await.status, 404, "{missing}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_is_off_without_a_client_secret() {
    let addr = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .to_string();
    let mut o = Options {
        guilds: vec![test_server()],
        ..Options::default()
    };
    o.env.push(("USMCA_WEB__ADDR".into(), addr.clone()));
    o.env
        .push(("USMCA_WEB__PUBLIC_URL".into(), format!("http://{addr}")));
    let d = Daemon::start(o).await;
    d.eventually("the log says the dashboard is off", || async {
        d.logs().contains("web dashboard off").then_some(())
    })
    .await;
    let logs = d.logs();
    let line = logs
        .lines()
        .find(|l| l.contains("web dashboard off"))
        .unwrap_or_default();
    assert!(line.contains("DISCORD_CLIENT_SECRET"), "{line}");
    assert!(!logs.contains("web dashboard listening"), "{logs}");
    // Give a late bind the chance to show up, then check nothing listens.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        tokio::net::TcpStream::connect(&addr).await.is_err(),
        "something listens on {addr}"
    );
    // The rest of the daemon runs as usual.
    assert_eq!(d.http_get("/healthz").await.0, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn portal_appeals_are_limited_per_hour_and_a_refused_one_stores_nothing() {
    let mut o = options();
    o.env
        .push(("USMCA_WEB__APPEALS_PER_HOUR".into(), "2".into()));
    let d = Daemon::start(o).await;
    let web = Web::new(&d);
    let mut cases = Vec::new();
    for i in 0..3 {
        let (_, id) = seed_case(
            &d,
            GUILD,
            OUTSIDER,
            CaseAction::Warn,
            &format!("w{i}"),
            None,
        )
        .await;
        cases.push(id);
    }
    let member = web.login(&d.fake, OUTSIDER).await;
    let appeal = |id: i64| format!("/me/cases/{id}/appeal");
    for id in &cases[..2] {
        let r = web
            .post(
                &appeal(*id),
                Some(&member),
                &[("csrf", &member.csrf), ("text", "please look again")],
            )
            .await;
        assert!(r.is_redirect(), "{}", r.describe());
    }
    // The third within the hour is refused with what to do, and nothing is stored for it.
    let r = web
        .post(
            &appeal(cases[2]),
            Some(&member),
            &[("csrf", &member.csrf), ("text", "and this one")],
        )
        .await;
    assert_eq!(r.status, 429, "{}", r.describe());
    assert!(r.body.contains("wait an hour"), "{}", r.describe());
    for (id, want) in cases.iter().zip([1, 1, 0]) {
        let stored = d.storage().appeals_of_case(*id).await.expect("appeals");
        assert_eq!(stored.len(), want, "case {id}");
    }
}
