//! A real browser on the dashboard: Debian's headless Chromium driven through chromedriver
//! (WebDriver). A moderator logs in through the fake Discord's OAuth2, reads the charts,
//! filters the cases and reverses a timeout; a banned member logs in in a second browser and
//! appeals their ban through the portal, and the moderator approves it.
//!
//! Without `chromium` and `chromedriver` the test says why and passes without running
//! (`scripts/test.sh` installs them). With `DASHBOARD_SCREENSHOTS=1` it writes the screenshots in
//! docs/images/.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{json, Value};

use crate::fake_discord::events::Author;
use crate::harness::{slash, Daemon, GUILD, MANAGE_MESSAGES};
use crate::world::*;

/// How long the browser may take for one step.
const STEP: Duration = Duration::from_secs(20);

/// The first of `names` that is an executable file: a full path or on `PATH`.
fn which(names: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    names.iter().find_map(|n| {
        let p = PathBuf::from(n);
        if p.is_absolute() {
            return p.is_file().then_some(p);
        }
        std::env::split_paths(&path)
            .map(|d| d.join(n))
            .find(|c| c.is_file())
    })
}

/// chromedriver on a free loopback port; stopped on drop.
struct Driver {
    child: Child,
    url: String,
    chromium: PathBuf,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Driver {
    /// Starts chromedriver, or says why it cannot.
    async fn start() -> Result<Self, String> {
        let chromium = which(&["/usr/bin/chromium", "chromium", "chromium-browser"])
            .ok_or("no chromium (apt-get install chromium chromium-driver)")?;
        let driver = which(&["/usr/bin/chromedriver", "chromedriver"])
            .ok_or("no chromedriver (apt-get install chromium-driver)")?;
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| format!("no free port: {e}"))?
            .port();
        let child = Command::new(&driver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("{} does not start: {e}", driver.display()))?;
        let d = Self {
            child,
            url: format!("http://127.0.0.1:{port}"),
            chromium,
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_err()
        {
            if Instant::now() > deadline {
                return Err(format!("{} did not listen on {port}", driver.display()));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Ok(d)
    }

    /// A new browser session (its own profile: its own cookies).
    async fn browser(&self) -> Client {
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".into(),
            json!({
                "binary": self.chromium,
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu",
                         "--window-size=1280,900", "--disable-dev-shm-usage",
                         "--no-first-run", "--no-default-browser-check"],
            }),
        );
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        ClientBuilder::new(connector)
            .capabilities(caps)
            .connect(&self.url)
            .await
            .expect("chromedriver starts a Chromium session")
    }
}

/// Polls a JavaScript expression (the body of a function) until it returns a truthy value,
/// which it returns; panics with the page's text after [`STEP`].
async fn until_js(c: &Client, what: &str, script: &str) -> Value {
    let deadline = Instant::now() + STEP;
    loop {
        let v = c.execute(script, vec![]).await.unwrap_or(Value::Null);
        let truthy = match &v {
            Value::Null => false,
            Value::Bool(b) => *b,
            Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
            Value::String(s) => !s.is_empty(),
            _ => true,
        };
        if truthy {
            return v;
        }
        if Instant::now() > deadline {
            let url = c.current_url().await.map(|u| u.to_string());
            let text = c
                .execute(
                    "return document.body ? document.body.innerText : ''",
                    vec![],
                )
                .await
                .unwrap_or(Value::Null);
            panic!("{what}: not within {STEP:?}; at {url:?}:\n{text}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits for an element.
async fn element(c: &Client, css: &str) -> fantoccini::elements::Element {
    match c.wait().at_most(STEP).for_element(Locator::Css(css)).await {
        Ok(e) => e,
        Err(e) => {
            let url = c.current_url().await.map(|u| u.to_string());
            let source = c.source().await.unwrap_or_default();
            panic!("{css}: {e}; at {url:?}:\n{source}");
        }
    }
}

/// Writes a screenshot to docs/images/dashboard-NAME.png when `DASHBOARD_SCREENSHOTS=1`,
/// `height` pixels tall.
async fn screenshot(c: &Client, name: &str, height: u32) {
    if std::env::var("DASHBOARD_SCREENSHOTS").as_deref() != Ok("1") {
        return;
    }
    let (w, h) = c.get_window_size().await.expect("window size");
    c.set_window_size(1280, height).await.expect("resize");
    // Charts redraw on resize; give them a frame.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let png = c.screenshot().await.expect("screenshot");
    c.set_window_size(w as u32, h as u32)
        .await
        .expect("resize back");
    let path = format!(
        "{}/docs/images/dashboard-{name}.png",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::write(&path, png).expect("screenshot written");
    eprintln!("wrote {path}");
}

/// Logs a browser in as `user` through the fake's OAuth2 page, landing on `next`.
async fn log_in(c: &Client, d: &Daemon, user: u64, next: &str) {
    d.fake.set_oauth_user(user);
    c.goto(&format!("{}/login?next={next}", d.web_url()))
        .await
        .expect("open the login page");
    until_js(
        c,
        "logged in and back on the dashboard",
        &format!(
            "return location.origin === {origin:?} && location.pathname === {next:?} \
             && !!document.querySelector('[data-testid=username]')",
            origin = d.web_url()
        ),
    )
    .await;
}

/// The moderator's and the banned member's paths through the dashboard, in two browsers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn moderators_and_members_use_the_dashboard_in_a_real_browser() {
    let driver = match Driver::start().await {
        Ok(d) => d,
        Err(why) => {
            eprintln!(
                "SKIPPED moderators_and_members_use_the_dashboard_in_a_real_browser: {why}; \
                 scripts/test.sh installs Chromium"
            );
            return;
        }
    };
    let d = start().await;
    let g = GUILD;

    // Two weeks of history, then a timeout and a ban through /mod.
    seed_history(&d).await;
    let moderator = moderator();
    let timeout_case = mod_command(&d, &moderator, "timeout", NOISY, "flooding #general").await;
    assert!(d.fake.timed_out_until(g, NOISY).is_some());
    let ban_case = mod_command(&d, &moderator, "ban", BANNED, "threats").await;
    assert!(d.fake.is_banned(g, BANNED));

    // The moderator (an administrator here) logs in and lands on the overview.
    let admin = driver.browser().await;
    log_in(&admin, &d, ADMIN, &format!("/g/{g}/")).await;
    let width = until_js(
        &admin,
        "a chart drawn on the overview",
        "const c = document.querySelector('.chart canvas'); \
         return c ? c.getBoundingClientRect().width : 0",
    )
    .await;
    assert!(width.as_f64().is_some_and(|w| w > 100.0), "{width}");
    screenshot(&admin, "overview", 1500).await;

    // Cases: filter by action, see only the timeout.
    element(&admin, &format!("nav.guild a[href='/g/{g}/cases']"))
        .await
        .click()
        .await
        .expect("open Cases");
    element(&admin, "tr[data-case]").await;
    let all = admin
        .find_all(Locator::Css("tr[data-case]"))
        .await
        .expect("rows");
    let listed = d.cases().await.len().min(50);
    assert!(listed > 2, "the history has cases");
    assert_eq!(all.len(), listed, "the newest cases listed");
    screenshot(&admin, "cases", 900).await;
    element(&admin, "form.filters select[name=action]")
        .await
        .select_by_value("timeout")
        .await
        .expect("choose an action");
    element(&admin, "form.filters button[type=submit]")
        .await
        .click()
        .await
        .expect("filter");
    until_js(
        &admin,
        "only the timeout listed",
        &format!(
            "const rows = [...document.querySelectorAll('tr[data-case]')]; \
             return rows.length === 1 && rows[0].dataset.case === '{timeout_case}' \
             && location.search.includes('action=timeout')"
        ),
    )
    .await;

    // Open the case and reverse it: the member's timeout is lifted on Discord.
    element(&admin, &format!("tr[data-case='{timeout_case}'] a"))
        .await
        .click()
        .await
        .expect("open the case");
    element(&admin, "[data-testid=excerpt], h1").await;
    screenshot(&admin, "case", 1000).await;
    element(&admin, "form[action$='/reverse'] input[name=reason]")
        .await
        .send_keys("they were quoting someone")
        .await
        .expect("type the reason");
    element(&admin, "form[action$='/reverse'] button[type=submit]")
        .await
        .click()
        .await
        .expect("reverse");
    until_js(
        &admin,
        "the reversal confirmed",
        "const f = document.querySelector('.flash.ok'); return f && f.innerText.includes('reversed')",
    )
    .await;
    d.request("PATCH", &format!("/guilds/{g}/members/{NOISY}"), |r| {
        r.body
            .as_ref()
            .is_some_and(|b| b["communication_disabled_until"].is_null())
    })
    .await;
    assert_eq!(d.fake.timed_out_until(g, NOISY), None);

    // Settings: a lower warning threshold, previewed over the stored history, then saved.
    admin
        .goto(&format!("{}/g/{g}/settings", d.web_url()))
        .await
        .expect("open Settings");
    let field = element(&admin, "#set-thresholds-warn").await;
    field.clear().await.expect("clear the field");
    field.send_keys("0.45").await.expect("type a threshold");
    element(
        &admin,
        "#settings-form button[formaction$='/settings/preview']",
    )
    .await
    .click()
    .await
    .expect("preview");
    let replayed = element(&admin, "[data-testid=whatif] [data-testid=whatif-messages]")
        .await
        .text()
        .await
        .expect("replayed count");
    assert!(
        replayed.trim().parse::<u64>().is_ok_and(|n| n > 50),
        "the history was replayed: {replayed}"
    );
    // A lower warning threshold warns more of the rude messages.
    let warns = element(&admin, "[data-testid=whatif-count-warn]")
        .await
        .text()
        .await
        .expect("warn counts");
    let counts: Vec<u64> = warns
        .split('→')
        .filter_map(|n| n.trim().parse().ok())
        .collect();
    assert!(
        matches!(counts[..], [before, after] if after > before),
        "warnings before → after: {warns}"
    );
    admin
        .execute(
            "document.querySelector('[data-testid=whatif]').scrollIntoView()",
            vec![],
        )
        .await
        .expect("scroll to the preview");
    screenshot(&admin, "settings-whatif", 900).await;
    element(
        &admin,
        "#settings-form button[type=submit]:not([formaction])",
    )
    .await
    .click()
    .await
    .expect("save");
    until_js(
        &admin,
        "the settings saved",
        "const f = document.querySelector('.flash.ok'); return f && f.innerText.includes('Saved 1 change')",
    )
    .await;
    let (stored, _) = d.storage().guild_settings(g).await.expect("settings");
    assert_eq!(stored.thresholds.and_then(|t| t.warn), Some(0.45));

    // The banned member, in a second browser, appeals through the portal.
    let member = driver.browser().await;
    log_in(&member, &d, BANNED, "/me").await;
    let ban_id = case_id(&d, g, ban_case).await;
    element(&member, &format!("a[href='/me/cases/{ban_id}']"))
        .await
        .click()
        .await
        .expect("open my ban");
    element(&member, "#appeal-text")
        .await
        .send_keys("I was angry and I am sorry; it will not happen again.")
        .await
        .expect("type the appeal");
    screenshot(&member, "appeal-portal", 900).await;
    element(&member, "form[action$='/appeal'] button[type=submit]")
        .await
        .click()
        .await
        .expect("send the appeal");
    until_js(
        &member,
        "the appeal confirmed",
        "const f = document.querySelector('.flash.ok'); return f && f.innerText.includes('Appeal sent')",
    )
    .await;
    let appeals = d.storage().open_appeals(g).await.expect("appeals");
    assert_eq!(appeals.len(), 1, "{appeals:?}");
    let appeal = appeals[0].appeal_id;

    // The moderator finds it in the queue and approves it: the member is unbanned.
    admin
        .goto(&format!("{}/g/{g}/appeals", d.web_url()))
        .await
        .expect("open Appeals");
    let card = format!("[data-testid=appeal-{appeal}]");
    let text = element(&admin, &format!("{card} [data-testid=appeal-text]"))
        .await
        .text()
        .await
        .expect("appeal text");
    assert!(text.contains("I am sorry"), "{text}");
    element(
        &admin,
        &format!("{card} form[action$='/approve'] input[name=note]"),
    )
    .await
    .send_keys("apology accepted")
    .await
    .expect("type a note");
    element(
        &admin,
        &format!("{card} form[action$='/approve'] button[type=submit]"),
    )
    .await
    .click()
    .await
    .expect("approve");
    until_js(
        &admin,
        "the approval confirmed",
        "const f = document.querySelector('.flash.ok'); return f && f.innerText.includes('approved')",
    )
    .await;
    d.request("DELETE", &format!("/guilds/{g}/bans/{BANNED}"), |_| true)
        .await;
    assert!(!d.fake.is_banned(g, BANNED));
    let decided = d
        .storage()
        .appeal(appeal)
        .await
        .expect("appeal")
        .expect("stored");
    assert_eq!(decided.status, usmca_bot::domain::AppealStatus::Accepted);
    assert_eq!(decided.reviewer_id, Some(ADMIN));

    // The member reads the decision in the portal.
    member.refresh().await.expect("reload");
    until_js(
        &member,
        "the decision shown to the member",
        "return document.body.innerText.includes('Approved')",
    )
    .await;

    member.close().await.expect("close the member's browser");
    admin.close().await.expect("close the moderator's browser");
}

/// Sends `/mod <action> member reason` as `who` and returns the case number it made.
async fn mod_command(d: &Daemon, who: &Author, action: &str, member: u64, reason: &str) -> i64 {
    let before = d.cases().await.len();
    let r = slash(
        d,
        who,
        MANAGE_MESSAGES,
        json!([{"name": action, "type": 1, "options": [
            {"name": "member", "type": 6, "value": member.to_string()},
            {"name": "reason", "type": 3, "value": reason}]}]),
    )
    .await;
    let cases = d
        .eventually("the case recorded", || async {
            let c = d.cases().await;
            (c.len() > before).then_some(c)
        })
        .await;
    let case = cases
        .iter()
        .rev()
        .find(|c| c.1 == member && c.2 == action)
        .unwrap_or_else(|| panic!("no {action} case: {cases:?}; answer {:?}", r.body));
    d.eventually("the case applied", || async {
        d.cases()
            .await
            .iter()
            .any(|c| c.0 == case.0 && c.3 == "applied")
            .then_some(())
    })
    .await;
    case.0
}

/// The database id of case `case_no` in `guild`.
async fn case_id(d: &Daemon, guild: u64, case_no: i64) -> i64 {
    sqlx::query_scalar("SELECT case_id FROM moderation_cases WHERE guild_id = $1 AND case_no = $2")
        .bind(guild as i64)
        .bind(case_no)
        .fetch_one(d.storage().pool())
        .await
        .expect("case id")
}
