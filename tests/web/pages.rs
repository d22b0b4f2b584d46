//! Each dashboard page over plain HTTP: what it shows, checked against what Postgres holds;
//! what its forms change (cases, settings versions, grants, audit rows); and what reached the
//! fake Discord. One daemon per page family.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, NaiveDate, Utc};
use regex::Regex;
use serde_json::{json, Value};
use usmca_bot::domain::{
    AppealDecision, AppealStatus, BrigadeOverrides, CaseAction, CaseStatus, ExemptionOverrides,
    NewCase, RuleOverrides,
};
use usmca_bot::storage::NewIncident;

use crate::client::{Reply, Session, Web};
use crate::fake_discord::events::{self, Author};
use crate::harness::{account_aged, body, Daemon, GENERAL, GUILD};
use crate::world::*;

/// An insult the model is sure of: deleted and warned on a first offence.
const WORTHLESS: &str = "you are a worthless idiot";
/// The decisions the overview counts as flagged.
const FLAGGED: &str = "('warn', 'delete', 'timeout', 'kick', 'ban')";

// ---------------------------------------------------------------------------------------------
// Reading pages.

/// Whether `html[at..]` starts the tag `<name` (not `<name2` or `<namespace`).
fn opens_tag(html: &str, at: usize, name: &str) -> bool {
    html[at..].starts_with(&format!("<{name}"))
        && html[at + 1 + name.len()..]
            .chars()
            .next()
            .is_some_and(|c| c.is_whitespace() || c == '>' || c == '/')
}

/// The element whose start tag holds `marker`, from its start tag to its end tag ("" when no
/// tag holds it). Maud writes well-formed markup, so counting the tag's own name is enough.
fn element<'a>(html: &'a str, marker: &str) -> &'a str {
    let Some(at) = html.find(marker) else {
        return "";
    };
    let Some(start) = html[..at].rfind('<') else {
        return "";
    };
    let name: String = html[start + 1..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric())
        .collect();
    let close = format!("</{name}>");
    let mut depth = 0usize;
    let mut i = start;
    while i < html.len() {
        if opens_tag(html, i, &name) {
            depth += 1;
            i += name.len() + 1;
        } else if html[i..].starts_with(&close) {
            depth -= 1;
            i += close.len();
            if depth == 0 {
                return &html[start..i];
            }
        } else {
            i += html[i..].chars().next().map_or(1, char::len_utf8);
        }
    }
    &html[start..]
}

/// The element with `data-testid="{id}"`.
fn testid<'a>(html: &'a str, id: &str) -> &'a str {
    element(html, &format!("data-testid=\"{id}\""))
}

/// Whether some element carries `data-testid="{id}"`.
fn has_testid(html: &str, id: &str) -> bool {
    html.contains(&format!("data-testid=\"{id}\""))
}

/// The text of some markup: tags dropped, entities decoded, white space collapsed.
fn text(markup: &str) -> String {
    let tags = Regex::new(r"<[^>]*>").expect("regex");
    let t = tags
        .replace_all(markup, " ")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&#x27;", "'")
        .replace("&amp;", "&");
    t.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The values of attribute `attr` on the `<tr>` rows of some markup, in order.
fn row_values(markup: &str, attr: &str) -> Vec<String> {
    let re = Regex::new(&format!(r#"<tr {attr}="([^"]*)""#)).expect("regex");
    re.captures_iter(markup).map(|c| c[1].to_owned()).collect()
}

/// [`row_values`] as numbers.
fn row_ids(markup: &str, attr: &str) -> Vec<i64> {
    row_values(markup, attr)
        .iter()
        .map(|v| v.parse().unwrap_or_else(|_| panic!("{attr}={v:?}")))
        .collect()
}

/// The JSON a page embeds for its script under `id`.
fn json_data(html: &str, id: &str) -> Value {
    let re = Regex::new(&format!(
        r#"<script type="application/json" id="{id}">(.*?)</script>"#
    ))
    .expect("regex");
    let raw = re
        .captures(html)
        .unwrap_or_else(|| panic!("no JSON block {id} in\n{html}"))[1]
        .to_owned();
    serde_json::from_str(&raw).unwrap_or_else(|e| panic!("{id}: {e}: {raw}"))
}

/// The start tag of the form control named `name` (`<input`, `<textarea` or `<select`).
fn control<'a>(html: &'a str, name: &str) -> &'a str {
    let re = Regex::new(&format!(
        r#"<(input|textarea|select)\b[^>]*\bname="{}"[^>]*>"#,
        regex::escape(name)
    ))
    .expect("regex");
    re.find(html).map_or("", |m| m.as_str())
}

/// An attribute's value in a start tag, decoded.
fn attr(tag: &str, name: &str) -> Option<String> {
    let re = Regex::new(&format!(r#"\s{}="([^"]*)""#, regex::escape(name))).expect("regex");
    re.captures(tag).map(|c| text(&c[1]))
}

/// A 303 to `path` with a `key` (`done` or `failed`) message: the message, decoded.
fn redirect_message(r: &Reply, path: &str, key: &str) -> String {
    assert_eq!(
        r.status,
        303,
        "expected a redirect to {path}: {}",
        r.describe()
    );
    let loc = r.location();
    let (to, query) = loc.split_once('?').unwrap_or((loc.as_str(), ""));
    assert_eq!(to, path, "{loc}");
    url::form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.into_owned())
        .unwrap_or_else(|| panic!("no {key}= in {loc}"))
}

/// A request as htmx sends it (`HX-Request: true`): a GET, or a POST of `form`.
async fn htmx(web: &Web, path: &str, s: &Session, form: Option<&[(&str, &str)]>) -> Reply {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .timeout(Duration::from_secs(20))
        .build()
        .expect("HTTP client");
    let url = format!("{}{path}", web.base);
    let request = match form {
        Some(f) => client.post(url).form(f),
        None => client.get(url),
    };
    let r = request
        .header(reqwest::header::COOKIE, s.header())
        .header("HX-Request", "true")
        .send()
        .await
        .expect("dashboard answers");
    Reply {
        status: r.status().as_u16(),
        headers: r.headers().clone(),
        body: r.text().await.unwrap_or_default(),
    }
}

/// POSTs a form as htmx does.
async fn post_htmx(web: &Web, path: &str, s: &Session, form: &[(&str, &str)]) -> Reply {
    htmx(web, path, s, Some(form)).await
}

/// GETs a page that must answer 200.
async fn page(web: &Web, path: &str, s: &Session) -> String {
    let r = web.get(path, Some(s)).await;
    assert_eq!(r.status, 200, "GET {path}: {}", r.describe());
    r.body
}

// ---------------------------------------------------------------------------------------------
// Reading Postgres.

async fn count(d: &Daemon, sql: &str, guild: u64) -> i64 {
    sqlx::query_scalar(sql)
        .bind(guild as i64)
        .fetch_one(d.storage().pool())
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

/// Audit rows of `kind` in `guild`, oldest first: (actor, target, payload).
async fn audit_rows(d: &Daemon, guild: u64, kind: &str) -> Vec<(Option<u64>, Option<u64>, Value)> {
    let rows: Vec<(Option<i64>, Option<i64>, Option<String>)> = sqlx::query_as(
        "SELECT actor_id, target_id, payload FROM audit_log
         WHERE guild_id = $1 AND kind = $2 ORDER BY seq",
    )
    .bind(guild as i64)
    .bind(kind)
    .fetch_all(d.storage().pool())
    .await
    .expect("audit rows");
    rows.into_iter()
        .map(|(a, t, p)| {
            (
                a.map(|a| a as u64),
                t.map(|t| t as u64),
                p.and_then(|p| serde_json::from_str(&p).ok())
                    .unwrap_or(Value::Null),
            )
        })
        .collect()
}

/// `(day, key) -> count` rows of a query returning `(date, text, bigint)`.
async fn day_counts(d: &Daemon, sql: &str) -> BTreeMap<(NaiveDate, String), i64> {
    let rows: Vec<(NaiveDate, String, i64)> = sqlx::query_as(sql)
        .bind(GUILD as i64)
        .fetch_all(d.storage().pool())
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    rows.into_iter().map(|(day, k, n)| ((day, k), n)).collect()
}

/// A case as the bot records one (automatic unless `actor`), `dry_run` as given.
async fn record_case(
    d: &Daemon,
    user_id: u64,
    action: CaseAction,
    actor: Option<u64>,
    dry_run: bool,
) -> i64 {
    let case = NewCase {
        guild_id: GUILD,
        user_id,
        action,
        reason: format!("{} for the overview", action.as_str()),
        scores: json!({"toxic": 0.97}),
        message_id: None,
        message_excerpt: None,
        actor_id: actor,
        expires_at: None,
        dry_run,
        status: CaseStatus::Applied,
        error_note: None,
        key: None,
        behaviour_score: Some(0.9),
    };
    d.storage()
        .record_case_keyed(&case, None, None)
        .await
        .expect("case recorded")
        .case_no
}

// ---------------------------------------------------------------------------------------------
// Overview.

/// The chart `name` of an overview: its series names and its data (x first).
fn chart(html: &str, name: &str) -> (Vec<String>, Vec<Vec<f64>>) {
    let div = element(html, &format!("data-source=\"{name}-data\""));
    assert!(
        div.starts_with("<div class=\"chart\"") && div.contains(&format!("data-testid=\"{name}\"")),
        "{name}: {div}"
    );
    let spec = json_data(html, &format!("{name}-data"));
    let series = spec["series"]
        .as_array()
        .unwrap_or_else(|| panic!("{name}: {spec}"))
        .iter()
        .map(|s| s.as_str().unwrap_or_default().to_owned())
        .collect();
    let data = spec["data"]
        .as_array()
        .unwrap_or_else(|| panic!("{name}: {spec}"))
        .iter()
        .map(|col| {
            col.as_array()
                .unwrap_or_else(|| panic!("{name}: {spec}"))
                .iter()
                .map(|v| v.as_f64().unwrap_or(f64::NAN))
                .collect()
        })
        .collect();
    (series, data)
}

/// The 30 UTC midnights up to today, as unix seconds.
fn last_30_days() -> Vec<f64> {
    let today = Utc::now().date_naive();
    (0..30)
        .rev()
        .map(|back| {
            (today - chrono::Duration::days(back))
                .and_time(chrono::NaiveTime::MIN)
                .and_utc()
                .timestamp() as f64
        })
        .collect()
}

/// Asserts that chart `name` has one series per key of `expected` (by name, in order) and
/// that each day holds the stored count.
fn assert_chart(html: &str, name: &str, expected: &BTreeMap<(NaiveDate, String), i64>) {
    let (series, data) = chart(html, name);
    let days = last_30_days();
    assert_eq!(data[0], days, "{name}: one x per day, the last 30 UTC days");
    let mut keys: Vec<String> = expected.keys().map(|(_, k)| k.clone()).collect();
    keys.sort();
    keys.dedup();
    assert_eq!(series, keys, "{name}: one series per key");
    assert_eq!(data.len(), series.len() + 1, "{name}");
    for (i, key) in series.iter().enumerate() {
        let column = &data[i + 1];
        assert_eq!(column.len(), 30, "{name}/{key}");
        for (x, got) in days.iter().zip(column) {
            let day = DateTime::from_timestamp(*x as i64, 0)
                .expect("day")
                .date_naive();
            let want = expected.get(&(day, key.clone())).copied().unwrap_or(0);
            assert_eq!(*got, want as f64, "{name}/{key} on {day}");
        }
    }
    let total: i64 = expected.values().sum();
    assert!(total > 0, "{name}: nothing seeded");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_overview_charts_and_rates_are_what_postgres_holds() {
    let d = start().await;
    let web = Web::new(&d);
    let g = GUILD;
    seed_history(&d).await;
    // A dry-run ban: recorded, never done. Neither an action on the chart nor in the rates.
    record_case(&d, NOISY, CaseAction::Ban, None, true).await;
    // A moderator's kick: an action, but not an automatic one.
    record_case(&d, NOISY, CaseAction::Kick, Some(MODERATOR), false).await;
    // Two appeals of automatic warnings: one approved, one denied.
    let automatic: Vec<(i64, i64)> = sqlx::query_as(
        "SELECT case_no, user_id FROM moderation_cases
         WHERE guild_id = $1 AND actor_id IS NULL AND NOT dry_run ORDER BY case_no LIMIT 3",
    )
    .bind(g as i64)
    .fetch_all(d.storage().pool())
    .await
    .expect("automatic cases");
    assert_eq!(automatic.len(), 3, "the history has automatic warnings");
    for (i, decision) in [AppealDecision::Accept, AppealDecision::Reject]
        .into_iter()
        .enumerate()
    {
        let (case_no, user) = automatic[i];
        let appeal = seed_appeal(&d, g, case_no, user as u64, "it was a joke").await;
        d.storage()
            .decide_appeal(appeal, MODERATOR, decision, "decided")
            .await
            .expect("appeal decided");
    }
    // One automatic warning reversed through its case page.
    let admin = web.login(&d.fake, ADMIN).await;
    let reversed = automatic[2].0;
    let r = web
        .post(
            &format!("/g/{g}/cases/{reversed}/reverse"),
            Some(&admin),
            &[("csrf", &admin.csrf), ("reason", "quoting a song")],
        )
        .await;
    assert!(r.is_redirect(), "{}", r.describe());
    assert_eq!(case_status(&d, g, reversed).await, "reversed");
    // An open incident.
    let now = Utc::now();
    d.storage()
        .insert_incident(&NewIncident {
            guild_id: g,
            channel_id: Some(GENERAL),
            kind: "duplicate_flood".into(),
            window_start: now - chrono::Duration::minutes(5),
            window_end: now,
            participants: vec![NOISY],
            response: json!({"alert_moderators": true}),
        })
        .await
        .expect("incident");

    let html = page(&web, &format!("/g/{g}/"), &admin).await;

    // Messages per day: every stored message, by UTC day.
    let messages = day_counts(
        &d,
        "SELECT (created_at AT TIME ZONE 'UTC')::date, 'messages', count(*) FROM messages
         WHERE guild_id = $1 GROUP BY 1",
    )
    .await;
    assert_chart(&html, "chart-messages", &messages);
    // Flagged messages per day, one series per top label.
    let flagged = day_counts(
        &d,
        &format!(
            "SELECT (m.created_at AT TIME ZONE 'UTC')::date, top.key, count(*) FROM messages m,
               LATERAL (SELECT key FROM jsonb_each(m.scores) ORDER BY value::float8 DESC, key LIMIT 1) top
             WHERE m.guild_id = $1 AND m.decision IN {FLAGGED} GROUP BY 1, 2"
        ),
    )
    .await;
    assert_eq!(
        flagged
            .keys()
            .map(|(_, k)| k.as_str())
            .collect::<std::collections::BTreeSet<_>>(),
        ["insult", "threat"].into(),
        "the history flags insults and threats"
    );
    assert_chart(&html, "chart-flagged", &flagged);
    // Actions per day, one series per action; the dry-run ban is not one.
    let actions = day_counts(
        &d,
        "SELECT (created_at AT TIME ZONE 'UTC')::date, action, count(*) FROM moderation_cases
         WHERE guild_id = $1 AND NOT dry_run GROUP BY 1, 2",
    )
    .await;
    assert_chart(&html, "chart-actions", &actions);
    assert_eq!(chart(&html, "chart-actions").0, ["kick", "warn"]);

    // Appeals: one of the two decided was approved.
    let appeals = text(testid(&html, "appeal-rate"));
    assert!(appeals.contains("50.0% (1 of 2)"), "{appeals}");
    // Reversals: one of the automatic, acted-on cases (not the moderator's, not dry-run).
    let auto = count(
        &d,
        "SELECT count(*) FROM moderation_cases
         WHERE guild_id = $1 AND actor_id IS NULL AND NOT dry_run",
        g,
    )
    .await;
    let reversals = text(testid(&html, "reversal-rate"));
    let want = format!("{:.1}% (1 of {auto})", 100.0 / auto as f64);
    assert!(reversals.contains(&want), "{want} in {reversals}");
    let incidents = testid(&html, "open-incidents");
    assert!(
        text(incidents).contains("Open incidents 1"),
        "{}",
        text(incidents)
    );
    assert!(
        incidents.contains(&format!("href=\"/g/{g}/incidents\"")),
        "{incidents}"
    );

    // A server with no history: one zero series per chart, no rates, no incident.
    let other_mod = web.login(&d.fake, OTHER_MOD).await;
    let html = page(&web, &format!("/g/{OTHER}/"), &other_mod).await;
    for (name, empty) in [
        ("chart-messages", "messages"),
        ("chart-flagged", "flagged"),
        ("chart-actions", "actions"),
    ] {
        let (series, data) = chart(&html, name);
        assert_eq!(series, [empty], "{name}");
        assert_eq!(data[0], last_30_days(), "{name}");
        assert_eq!(data[1], vec![0.0; 30], "{name}");
    }
    for card in ["appeal-rate", "reversal-rate"] {
        assert!(
            text(testid(&html, card)).contains("no data"),
            "{card}: {}",
            testid(&html, card)
        );
    }
    let incidents = testid(&html, "open-incidents");
    assert!(text(incidents).contains("Open incidents 0"), "{incidents}");
    assert!(
        incidents.contains(&format!("href=\"/g/{OTHER}/incidents\"")),
        "{incidents}"
    );
}

// ---------------------------------------------------------------------------------------------
// Members.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn members_are_found_by_id_and_a_members_page_shows_strikes_cases_and_messages() {
    let mut o = options();
    o.settings.store_content = Some(true);
    let d = Daemon::start(o).await;
    let web = Web::new(&d);
    let g = GUILD;

    // NOISY insults someone: the message is deleted and NOISY warned (one case, one strike).
    let said = d.say(GENERAL, &Author::new(NOISY, "noisy"), WORTHLESS);
    d.request(
        "DELETE",
        &format!("/channels/{GENERAL}/messages/{said}"),
        |_| true,
    )
    .await;
    let warned = d
        .eventually("NOISY's warning applied", || async {
            d.cases()
                .await
                .into_iter()
                .find(|c| c.1 == NOISY && c.2 == "warn" && c.3 == "applied")
                .map(|c| c.0)
        })
        .await;
    let decision = d.decision_of(said).await;
    assert!(
        ["warn", "delete"].contains(&decision.as_str()),
        "{decision}"
    );
    // Six cases for OUTSIDER: two pages of five.
    let mut outsider_cases = Vec::new();
    for i in 0..6 {
        let (n, _) = seed_case(
            &d,
            g,
            OUTSIDER,
            CaseAction::Warn,
            &format!("spam {i}"),
            None,
        )
        .await;
        outsider_cases.push(n);
    }
    let moderator = web.login(&d.fake, MODERATOR).await;
    let members = format!("/g/{g}/members");

    // No search: the members with cases in the last 30 days, most cases first.
    let html = page(&web, &members, &moderator).await;
    let results = testid(&html, "member-results");
    assert_eq!(
        row_ids(results, "data-member"),
        [OUTSIDER as i64, NOISY as i64],
        "{results}"
    );
    for id in [OUTSIDER, NOISY] {
        assert!(
            results.contains(&format!("href=\"/g/{g}/members/{id}\"")),
            "{results}"
        );
    }
    // By the first digits of an id: members the bot has seen post.
    let prefix = &NOISY.to_string()[..12];
    let html = page(&web, &format!("{members}?q={prefix}"), &moderator).await;
    let found = row_ids(testid(&html, "member-results"), "data-member");
    assert!(found.contains(&(NOISY as i64)), "{found:?}");
    assert!(
        found.iter().all(|id| id.to_string().starts_with(prefix)),
        "{found:?}"
    );
    let html = page(&web, &format!("{members}?q=7"), &moderator).await;
    assert!(
        text(testid(&html, "member-results")).contains("No member's id starts with 7"),
        "{html}"
    );
    // A search that is not an id says how to search; htmx gets the results alone.
    let html = page(&web, &format!("{members}?q=abc"), &moderator).await;
    assert!(
        text(testid(&html, "member-results")).contains("search by user id"),
        "{html}"
    );
    assert!(row_ids(&html, "data-member").is_empty());
    let r = htmx(&web, &format!("{members}?q={prefix}"), &moderator, None).await;
    assert_eq!(r.status, 200, "{}", r.describe());
    assert!(
        r.body.starts_with("<div id=\"member-results\"") && !r.body.contains("<html"),
        "{}",
        r.describe()
    );
    assert!(row_ids(&r.body, "data-member").contains(&(NOISY as i64)));

    // NOISY's page: the warning's strike, its chart, the case and the flagged message.
    let html = page(&web, &format!("{members}/{NOISY}"), &moderator).await;
    let facts = text(testid(&html, "member-facts"));
    assert!(facts.contains("1 messages seen"), "{facts}");
    let standing = testid(&html, "standing");
    assert_eq!(text(testid(standing, "strike-points")), "1.0", "{standing}");
    let strikes = testid(standing, "strikes");
    assert_eq!(strikes.matches("<li>").count(), 1, "{strikes}");
    assert!(text(strikes).contains("1.0 of 1 points"), "{strikes}");
    assert!(!has_testid(&html, "no-strikes"));
    assert!(
        element(&html, "data-source=\"chart-strikes-data\"")
            .contains("data-testid=\"chart-strikes\""),
        "{html}"
    );
    let spec = json_data(&html, "chart-strikes-data");
    assert_eq!(spec["series"], json!(["strike points"]));
    let at: Vec<i64> = serde_json::from_value(spec["data"][0].clone()).expect("times");
    let points: Vec<f64> = serde_json::from_value(spec["data"][1].clone()).expect("points");
    assert_eq!((at.len(), points.len()), (121, 121), "30 days, 4 a day");
    assert!(at.windows(2).all(|w| w[1] - w[0] == 21_600), "{at:?}");
    assert!(
        (at[0] - Utc::now().timestamp()).abs() < 60,
        "from now: {}",
        at[0]
    );
    // One warning strike (1 point) halving every 7 days: 2^(-30/7) of it is left after 30.
    assert!((0.99..=1.0).contains(&points[0]), "{points:?}");
    assert!(points.windows(2).all(|w| w[1] <= w[0]), "{points:?}");
    assert!((0.04..=0.06).contains(&points[120]), "{points:?}");
    let cases = testid(&html, "member-cases");
    assert_eq!(row_ids(cases, "data-case"), [warned], "{cases}");
    assert!(text(cases).contains("warn"), "{cases}");
    assert!(!has_testid(&html, "cases-older") && !has_testid(&html, "cases-newer"));
    let flagged = testid(&html, "flagged-messages");
    assert!(
        flagged.contains(&format!("<blockquote>{WORTHLESS}</blockquote>")),
        "{flagged}"
    );

    // OUTSIDER's page: no strike (the cases were not the bot's actions), five cases a page.
    let here = format!("{members}/{OUTSIDER}");
    let html = page(&web, &here, &moderator).await;
    assert!(has_testid(&html, "no-strikes"), "{html}");
    assert!(!has_testid(&html, "chart-strikes"));
    assert!(
        text(testid(&html, "member-facts")).contains("has not seen this member post"),
        "{html}"
    );
    let newest: Vec<i64> = outsider_cases.iter().rev().take(5).copied().collect();
    assert_eq!(row_ids(testid(&html, "member-cases"), "data-case"), newest);
    assert_eq!(
        attr(testid(&html, "cases-older"), "href").as_deref(),
        Some(format!("{here}?page=1").as_str())
    );
    assert!(!has_testid(&html, "cases-newer"));
    let html = page(&web, &format!("{here}?page=1"), &moderator).await;
    assert_eq!(
        row_ids(testid(&html, "member-cases"), "data-case"),
        [outsider_cases[0]]
    );
    assert_eq!(
        attr(testid(&html, "cases-newer"), "href").as_deref(),
        Some(format!("{here}?page=0").as_str())
    );
    assert!(!has_testid(&html, "cases-older"));

    // Someone with no case at all; and an id that is not one.
    let html = page(&web, &format!("{members}/{ADMIN}"), &moderator).await;
    assert!(has_testid(&html, "no-cases") && has_testid(&html, "no-strikes"));
    assert!(!has_testid(&html, "member-cases"));
    let r = web
        .get(&format!("{members}/not-an-id"), Some(&moderator))
        .await;
    assert_eq!(r.status, 404, "{}", r.describe());
}

// ---------------------------------------------------------------------------------------------
// Incidents.

/// A raid control's form.
async fn raid_control(
    web: &Web,
    s: &Session,
    incident: &str,
    action: &str,
    confirm: bool,
) -> Reply {
    let mut form = vec![("csrf", s.csrf.as_str()), ("action", action)];
    if confirm {
        form.push(("confirm", "yes"));
    }
    web.post(&format!("{incident}/action"), Some(s), &form)
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_incidents_raid_controls_ask_first_then_act_and_ending_keeps_the_record() {
    let raiders: Vec<Author> = (0..3)
        .map(|i| {
            Author::new(
                account_aged(Duration::from_secs(86_400), 1_500 + i),
                "raider",
            )
        })
        .collect();
    let exempt = raiders[0].id;
    let mut o = options();
    o.settings.brigade = Some(BrigadeOverrides {
        join_surge_count: Some(3),
        ..BrigadeOverrides::default()
    });
    o.settings.exemptions = Some(ExemptionOverrides {
        users: Some(vec![exempt]),
        ..ExemptionOverrides::default()
    });
    let d = Daemon::start(o).await;
    let web = Web::new(&d);
    let g = GUILD;

    // An earlier flood, recorded (and closed) without a detector id: no raid controls.
    let now = Utc::now();
    let flood = d
        .storage()
        .insert_incident(&NewIncident {
            guild_id: g,
            channel_id: Some(GENERAL),
            kind: "duplicate_flood".into(),
            window_start: now - chrono::Duration::hours(3),
            window_end: now - chrono::Duration::hours(2),
            participants: vec![OUTSIDER],
            response: json!({"slowmode": [GENERAL, 600], "alert_moderators": true}),
        })
        .await
        .expect("incident");
    d.storage()
        .close_incident(flood, &json!({}))
        .await
        .expect("closed");

    // Three new accounts join at once: a join surge.
    for r in &raiders {
        d.fake
            .dispatch("GUILD_MEMBER_ADD", events::guild_member_add(g, r));
    }
    let (id, detector): (i64, String) = d
        .eventually("the raid recorded with every raider", || async {
            let rows: Vec<(i64, String, Vec<i64>)> = sqlx::query_as(
                "SELECT incident_id, detector_id, participants FROM brigade_incidents
                 WHERE detector_id IS NOT NULL",
            )
            .fetch_all(d.storage().pool())
            .await
            .expect("incidents");
            rows.into_iter()
                .find(|(_, _, p)| raiders.iter().all(|r| p.contains(&(r.id as i64))))
                .map(|(id, det, _)| (id, det))
        })
        .await;
    // The new accounts but the exempt one are timed out.
    let timeouts = format!("incident:{detector}:");
    d.eventually("two timeouts applied", || async {
        let n: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM moderation_cases WHERE action_key LIKE $1 || '%'
             AND action = 'timeout' AND status = 'applied'",
        )
        .bind(&timeouts)
        .fetch_one(d.storage().pool())
        .await
        .expect("timeout cases");
        (n == 2).then_some(())
    })
    .await;
    for r in &raiders[1..] {
        assert!(d.fake.timed_out_until(g, r.id).is_some(), "{}", r.id);
    }
    assert!(d.fake.timed_out_until(g, exempt).is_none());

    let moderator = web.login(&d.fake, MODERATOR).await;
    let list = format!("/g/{g}/incidents");
    let incident = format!("{list}/{id}");
    let html = page(&web, &list, &moderator).await;
    assert_eq!(
        row_ids(testid(&html, "open-incidents"), "data-incident"),
        [id]
    );
    assert_eq!(
        row_ids(testid(&html, "recent-incidents"), "data-incident"),
        [flood]
    );
    assert!(!has_testid(&html, "no-open-incidents"));
    assert!(html.contains(&format!("href=\"{incident}\"")));

    // The raid's page: timeline, what was done, who took part, the four controls.
    let html = page(&web, &incident, &moderator).await;
    assert!(
        text(testid(&html, "incident-timeline")).contains("Still open"),
        "{html}"
    );
    // The response decided when it opened (which timeouts it lists depends on which joins
    // the detector had counted by then; the timeouts themselves are checked above).
    let response = text(testid(&html, "incident-response"));
    assert!(
        response.contains("Moderators were alerted in the mod log.")
            && response.contains("Participants' behaviour scores were raised while it was open."),
        "{response}"
    );
    let participants = testid(&html, "incident-participants");
    assert!(
        text(participants).contains("Participants (3)"),
        "{participants}"
    );
    for r in &raiders {
        assert!(
            participants.contains(&format!("href=\"/g/{g}/members/{}\"", r.id)),
            "{participants}"
        );
    }
    for control in ["raid-end", "raid-release", "raid-kick", "raid-ban"] {
        assert!(has_testid(&html, control), "{control} missing");
    }
    // The flood's page: its slow-mode in words, and no controls.
    let html = page(&web, &format!("{list}/{flood}"), &moderator).await;
    let response = text(testid(&html, "incident-response"));
    assert!(
        response.contains(&format!("Slow-mode of 10 min set in channel {GENERAL}.")),
        "{response}"
    );
    assert!(!has_testid(&html, "raid-kick"));
    assert!(html.contains("raid controls cannot act on it"), "{html}");
    let r = raid_control(&web, &moderator, &format!("{list}/{flood}"), "kick", true).await;
    assert_eq!(r.status, 400, "{}", r.describe());

    // Without the session's token, or with no such control, nothing happens.
    let r = web
        .post(
            &format!("{incident}/action"),
            Some(&moderator),
            &[("csrf", "forged"), ("action", "kick"), ("confirm", "yes")],
        )
        .await;
    assert_eq!(r.status, 403, "{}", r.describe());
    let r = raid_control(&web, &moderator, &incident, "nuke", true).await;
    assert_eq!(r.status, 400, "{}", r.describe());
    assert!(d
        .fake
        .requests_to("DELETE", "/guilds/*/members/*")
        .is_empty());

    // Release: asked, then the two timeouts are lifted on Discord and their cases reversed.
    let r = raid_control(&web, &moderator, &incident, "release", false).await;
    assert_eq!(r.status, 200, "{}", r.describe());
    assert_eq!(
        text(testid(&r.body, "raid-confirm-text")),
        "Lift the timeouts this incident gave (up to 3 members)?"
    );
    let r = raid_control(&web, &moderator, &incident, "release", true).await;
    assert_eq!(
        redirect_message(&r, &incident, "done"),
        "2 timeouts lifted."
    );
    for raider in &raiders[1..] {
        d.request(
            "PATCH",
            &format!("/guilds/{g}/members/{}", raider.id),
            |r| {
                r.body
                    .as_ref()
                    .is_some_and(|b| b["communication_disabled_until"].is_null())
            },
        )
        .await;
        assert_eq!(d.fake.timed_out_until(g, raider.id), None);
    }
    let reversed: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM moderation_cases WHERE action_key LIKE $1 || '%' AND status = 'reversed'",
    )
    .bind(&timeouts)
    .fetch_one(d.storage().pool())
    .await
    .expect("count");
    assert_eq!(reversed, 2);

    // Kick all: the confirmation first, and nobody is kicked by it.
    let r = raid_control(&web, &moderator, &incident, "kick", false).await;
    assert_eq!(r.status, 200, "{}", r.describe());
    assert_eq!(
        text(testid(&r.body, "raid-confirm-text")),
        "Kick the 3 participants (exempt members are spared)?"
    );
    let confirm = element(&r.body, "data-testid=\"raid-confirm\"");
    assert!(text(confirm).contains("Yes: Kick all"), "{confirm}");
    assert!(
        control(&r.body, "confirm").contains("value=\"yes\""),
        "{}",
        r.body
    );
    assert_eq!(
        attr(element(&r.body, "data-testid=\"raid-cancel\""), "href").as_deref(),
        Some(incident.as_str())
    );
    assert!(d
        .fake
        .requests_to("DELETE", "/guilds/*/members/*")
        .is_empty());
    // Confirmed: each participant but the exempt one kicked once, each with a case.
    let r = raid_control(&web, &moderator, &incident, "kick", true).await;
    assert_eq!(
        redirect_message(&r, &incident, "done"),
        "2 participants kicked. 1 exempt members spared."
    );
    let created = audit_rows(&d, g, "case.created").await;
    for raider in &raiders[1..] {
        let kicks = d
            .fake
            .requests_to("DELETE", &format!("/guilds/{g}/members/{}", raider.id));
        assert_eq!(kicks.len(), 1, "raider {}", raider.id);
        assert!(!d.fake.is_member(g, raider.id));
        let key = format!("raid:{detector}:kick:{}", raider.id);
        let (case_no, actor, status): (i64, Option<i64>, String) = sqlx::query_as(
            "SELECT case_no, actor_id, status FROM moderation_cases
             WHERE guild_id = $1 AND action_key = $2 AND action = 'kick'",
        )
        .bind(g as i64)
        .bind(&key)
        .fetch_one(d.storage().pool())
        .await
        .unwrap_or_else(|e| panic!("no case {key}: {e}"));
        assert_eq!(
            (actor, status.as_str()),
            (Some(MODERATOR as i64), "applied")
        );
        assert!(
            created
                .iter()
                .any(|(_, _, p)| p["case_no"] == case_no && p["action"] == "kick"),
            "no case.created row for #{case_no}"
        );
    }
    assert!(d
        .fake
        .requests_to("DELETE", &format!("/guilds/{g}/members/{exempt}"))
        .is_empty());
    assert!(d.fake.is_member(g, exempt));
    // Confirming again kicks nobody twice.
    let r = raid_control(&web, &moderator, &incident, "kick", true).await;
    assert_eq!(r.status, 303, "{}", r.describe());
    assert_eq!(d.fake.requests_to("DELETE", "/guilds/*/members/*").len(), 2);

    // End: asked, then closed; what was done is still on the page, with who ended it.
    let r = raid_control(&web, &moderator, &incident, "end", false).await;
    assert_eq!(
        text(testid(&r.body, "raid-confirm-text")),
        "End the incident and restore its channels' slow-mode?"
    );
    let r = raid_control(&web, &moderator, &incident, "end", true).await;
    let done = redirect_message(&r, &incident, "done");
    assert_eq!(done, format!("Incident #{id} ended; slow-mode restored."));
    let html = page(&web, &r.location(), &moderator).await;
    assert!(html.contains(&done), "the flash: {html}");
    let timeline = text(testid(&html, "incident-timeline"));
    assert!(timeline.contains("Closed"), "{timeline}");
    let response = text(testid(&html, "incident-response"));
    for line in [
        "Moderators were alerted in the mod log.".to_string(),
        "Participants' behaviour scores were raised while it was open.".to_string(),
        format!("Ended by moderator {MODERATOR}."),
    ] {
        assert!(response.contains(&line), "{line} in {response}");
    }
    let closed: Option<DateTime<Utc>> =
        sqlx::query_scalar("SELECT closed_at FROM brigade_incidents WHERE incident_id = $1")
            .bind(id)
            .fetch_one(d.storage().pool())
            .await
            .expect("incident");
    assert!(closed.is_some());
    assert!(
        audit_rows(&d, g, "incident.closed")
            .await
            .iter()
            .any(|(_, _, p)| p["incident_id"] == id && p["response"]["ended_by"] == MODERATOR),
        "no incident.closed row naming the moderator"
    );
    let html = page(&web, &list, &moderator).await;
    assert!(has_testid(&html, "no-open-incidents"), "{html}");
    let mut recent = row_ids(testid(&html, "recent-incidents"), "data-incident");
    recent.sort_unstable();
    assert_eq!(recent, [flood, id]);

    // Another server's moderator cannot reach it through their own server.
    let other_mod = web.login(&d.fake, OTHER_MOD).await;
    let theirs = format!("/g/{OTHER}/incidents/{id}");
    assert_eq!(web.get(&theirs, Some(&other_mod)).await.status, 404);
    let r = raid_control(&web, &other_mod, &theirs, "ban", true).await;
    assert_eq!(r.status, 404, "{}", r.describe());
    assert!(d.fake.requests_to("PUT", "/guilds/*/bans/*").is_empty());
}

// ---------------------------------------------------------------------------------------------
// Access, audit log, operator.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn access_grants_audit_pages_chain_verification_and_the_operator_page() {
    let mut o = options();
    o.env
        .push(("USMCA_WEB__OWNERS".into(), format!("[{ADMIN}]")));
    let d = Daemon::start(o).await;
    let web = Web::new(&d);
    let g = GUILD;
    let admin = web.login(&d.fake, ADMIN).await;
    let moderator = web.login(&d.fake, MODERATOR).await;
    let outsider = web.login(&d.fake, OUTSIDER).await;
    let access = format!("/g/{g}/access");

    // Access: administrators only.
    let html = page(&web, &access, &admin).await;
    assert!(has_testid(&html, "no-grants"), "{html}");
    assert!(has_testid(&html, "grant-form") && has_testid(&html, "grant-submit"));
    assert_eq!(web.get(&access, Some(&moderator)).await.status, 403);
    let r = web
        .post(
            &access,
            Some(&moderator),
            &[
                ("csrf", &moderator.csrf),
                ("op", "grant"),
                ("kind", "user"),
                ("subject", &OUTSIDER.to_string()),
            ],
        )
        .await;
    assert_eq!(r.status, 403, "{}", r.describe());
    let grant = |op: &'static str, kind: &'static str, subject: String| {
        let (web, admin, access) = (&web, &admin, &access);
        async move {
            web.post(
                access,
                Some(admin),
                &[
                    ("csrf", &admin.csrf),
                    ("op", op),
                    ("kind", kind),
                    ("subject", &subject),
                ],
            )
            .await
        }
    };
    // What cannot be granted says what to write.
    let r = grant("grant", "group", OUTSIDER.to_string()).await;
    assert_eq!(r.status, 400, "{}", r.describe());
    assert!(r.body.contains("user or a role"), "{}", r.describe());
    let r = grant("grant", "user", "bob".into()).await;
    assert_eq!(r.status, 400, "{}", r.describe());
    assert!(d.storage().grants(g).await.expect("grants").is_empty());

    // A plain member has no dashboard; granted, they do at once; revoked, at once not.
    let overview = format!("/g/{g}/");
    assert_eq!(web.get(&overview, Some(&outsider)).await.status, 404);
    let r = grant("grant", "user", OUTSIDER.to_string()).await;
    assert_eq!(
        redirect_message(&r, &access, "done"),
        format!("Access granted to user {OUTSIDER}.")
    );
    let html = page(&web, &r.location(), &admin).await;
    assert!(
        html.contains(&format!("Access granted to user {OUTSIDER}.")),
        "the flash: {html}"
    );
    let rows = testid(&html, "grants");
    let row = element(rows, "data-testid=\"grant-row\"");
    assert_eq!(attr(row, "data-kind").as_deref(), Some("user"));
    assert_eq!(
        attr(row, "data-subject"),
        Some(OUTSIDER.to_string()),
        "{row}"
    );
    assert!(has_testid(row, "grant-revoke"), "{row}");
    assert!(!has_testid(&html, "no-grants"));
    assert!(page(&web, &overview, &outsider)
        .await
        .contains("<h1>Overview</h1>"));
    // Granted moderator access, not administrator.
    assert_eq!(web.get(&access, Some(&outsider)).await.status, 403);
    let r = grant("revoke", "user", OUTSIDER.to_string()).await;
    assert_eq!(
        redirect_message(&r, &access, "done"),
        format!("Access revoked from user {OUTSIDER}.")
    );
    assert_eq!(web.get(&overview, Some(&outsider)).await.status, 404);
    assert!(has_testid(&page(&web, &access, &admin).await, "no-grants"));
    let granted = audit_rows(&d, g, "dashboard.access_granted").await;
    let revoked = audit_rows(&d, g, "dashboard.access_revoked").await;
    assert_eq!(
        (granted.len(), revoked.len()),
        (1, 1),
        "{granted:?} {revoked:?}"
    );
    for (actor, target, _) in granted.iter().chain(&revoked) {
        assert_eq!((*actor, *target), (Some(ADMIN), Some(OUTSIDER)));
    }

    // The audit log: more than a page of rows, newest first, 50 at a time.
    for i in 0..55 {
        seed_case(
            &d,
            g,
            NOISY,
            CaseAction::Warn,
            &format!("audit filler {i}"),
            None,
        )
        .await;
    }
    seed_case(
        &d,
        OTHER,
        OUTSIDER,
        CaseAction::Warn,
        "only-in-the-other-server",
        None,
    )
    .await;
    let seqs = |sql: &'static str| {
        let d = &d;
        async move {
            sqlx::query_scalar::<_, i64>(sql)
                .bind(g as i64)
                .fetch_all(d.storage().pool())
                .await
                .expect("seqs")
        }
    };
    let all = seqs("SELECT seq FROM audit_log WHERE guild_id = $1 ORDER BY seq DESC").await;
    assert!(all.len() > 50 && all.len() <= 100, "{}", all.len());
    let audit = format!("/g/{g}/audit");
    let html = page(&web, &audit, &moderator).await;
    let first = row_ids(testid(&html, "audit-rows"), "data-seq");
    assert_eq!(first, all[..50]);
    let older = attr(testid(&html, "audit-older"), "href").expect("a link to older rows");
    assert_eq!(older, format!("{audit}?before={}", all[49]));
    let html = page(&web, &older, &moderator).await;
    assert_eq!(row_ids(testid(&html, "audit-rows"), "data-seq"), all[50..]);
    assert!(!has_testid(&html, "audit-older"));
    // Another server's rows are not listed: the payloads shown are this server's.
    let html = page(&web, &audit, &moderator).await;
    assert!(html.contains("audit filler 54"), "the newest row's payload");
    for path in [audit.clone(), older.clone()] {
        let html = page(&web, &path, &moderator).await;
        assert!(!html.contains("only-in-the-other-server"), "{path}");
    }
    // By kind, by member, and both; the next page keeps the filters.
    let html = page(
        &web,
        &format!("{audit}?kind=dashboard.access_granted"),
        &moderator,
    )
    .await;
    let rows = testid(&html, "audit-rows");
    assert_eq!(row_ids(rows, "data-seq").len(), 1, "{rows}");
    assert!(
        rows.contains("<code>dashboard.access_granted</code>"),
        "{rows}"
    );
    let html = page(&web, &format!("{audit}?user={OUTSIDER}"), &moderator).await;
    let kinds: Vec<String> = Regex::new(r"<td><code>([a-z._]+)</code></td>")
        .expect("regex")
        .captures_iter(testid(&html, "audit-rows"))
        .map(|c| c[1].to_owned())
        .collect();
    assert_eq!(
        kinds,
        ["dashboard.access_revoked", "dashboard.access_granted"],
        "{html}"
    );
    let html = page(&web, &format!("{audit}?kind=case.created"), &moderator).await;
    let created = seqs(
        "SELECT seq FROM audit_log WHERE guild_id = $1 AND kind = 'case.created' ORDER BY seq DESC",
    )
    .await;
    assert_eq!(created.len(), 55);
    assert_eq!(
        row_ids(testid(&html, "audit-rows"), "data-seq"),
        created[..50]
    );
    assert_eq!(
        attr(testid(&html, "audit-older"), "href"),
        Some(format!(
            "{audit}?kind=case%2Ecreated&before={}",
            created[49]
        ))
    );
    let html = page(
        &web,
        &format!("{audit}?kind=case.created&before={}", created[49]),
        &moderator,
    )
    .await;
    assert_eq!(
        row_ids(testid(&html, "audit-rows"), "data-seq"),
        created[50..]
    );
    let html = page(&web, &format!("{audit}?kind=no.such_kind"), &moderator).await;
    assert!(has_testid(&html, "audit-empty") && !has_testid(&html, "audit-rows"));
    for bad in ["kind=DROP%20TABLE", "user=bob", "before=yesterday"] {
        let r = web.get(&format!("{audit}?{bad}"), Some(&moderator)).await;
        assert_eq!(r.status, 400, "{bad}: {}", r.describe());
    }

    // Verify the chain: every row of this server checked; htmx gets the result alone.
    let verify = format!("{audit}/verify");
    let rows = count(&d, "SELECT count(*) FROM audit_log WHERE guild_id = $1", g).await;
    let r = web
        .post(&verify, Some(&moderator), &[("csrf", &moderator.csrf)])
        .await;
    assert_eq!(r.status, 200, "{}", r.describe());
    let result = testid(&r.body, "verify-result");
    assert!(
        result.contains("data-verify=\"ok\"")
            && text(result) == format!("The chain is intact: {rows} rows checked."),
        "{result}"
    );
    assert!(
        has_testid(&r.body, "audit-rows"),
        "the page with the result"
    );
    let r = post_htmx(&web, &verify, &moderator, &[("csrf", &moderator.csrf)]).await;
    assert_eq!(r.status, 200, "{}", r.describe());
    assert!(
        r.body.starts_with("<div id=\"verify-result\"") && !r.body.contains("<html"),
        "{}",
        r.body
    );
    assert!(r.body.contains("data-verify=\"ok\""), "{}", r.body);
    let r = web
        .post(&verify, Some(&moderator), &[("csrf", "forged")])
        .await;
    assert_eq!(r.status, 403, "{}", r.describe());
    // A row changed behind the bot's back breaks the chain.
    sqlx::query(
        "UPDATE audit_log SET kind = 'case.tampered' WHERE guild_id = $1
         AND seq = (SELECT min(seq) + 3 FROM audit_log WHERE guild_id = $1)",
    )
    .bind(g as i64)
    .execute(d.storage().pool())
    .await
    .expect("tamper");
    let r = post_htmx(&web, &verify, &moderator, &[("csrf", &moderator.csrf)]).await;
    assert!(
        r.body.contains("data-verify=\"broken\"") && r.body.contains("The chain is broken:"),
        "{}",
        r.body
    );

    // The operator page: for the owners only; everyone else gets a 404.
    let html = page(&web, "/operator", &admin).await;
    assert!(
        text(testid(&html, "operator-version"))
            .contains(&format!("usmca-bot {}", env!("CARGO_PKG_VERSION"))),
        "{html}"
    );
    assert!(text(testid(&html, "operator-model")).contains("Queue depth"));
    assert!(text(testid(&html, "operator-queue")).starts_with("Queue depth"));
    let stores = text(testid(&html, "operator-stores"));
    assert!(
        stores.contains("Postgres up") && stores.contains("Redis up"),
        "{stores}"
    );
    assert!(has_testid(&html, "operator-shards"), "{html}");
    assert!(has_testid(&html, "operator-processes"), "{html}");
    let carried = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations"))
        .expect("migrations")
        .filter_map(Result::ok)
        .filter(|e| e.path().extension().is_some_and(|x| x == "sql"))
        .count();
    assert_eq!(
        text(testid(&html, "operator-migrations-summary")),
        format!("{carried} applied of the {carried} this build carries")
    );
    assert_eq!(
        testid(&html, "operator-migrations").matches("<tr>").count(),
        carried + 1,
        "a row per migration under the header"
    );
    assert!(page(&web, "/", &admin).await.contains("href=\"/operator\""));
    for s in [&moderator, &outsider] {
        let r = web.get("/operator", Some(s)).await;
        assert_eq!(r.status, 404, "{}", r.describe());
        assert!(!r.body.contains("operator-migrations"));
    }
    assert!(!page(&web, "/", &moderator)
        .await
        .contains("href=\"/operator\""));
    let r = web.get("/operator", None).await;
    assert!(r.is_redirect() && r.location().starts_with("/login?next="));
}

// ---------------------------------------------------------------------------------------------
// Settings.

/// The stored settings' version.
async fn settings_version(d: &Daemon) -> i64 {
    d.storage().guild_settings(GUILD).await.expect("settings").1
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn settings_save_what_is_valid_refuse_the_rest_and_preview_over_stored_history() {
    let d = start().await;
    let web = Web::new(&d);
    let g = GUILD;
    seed_history(&d).await;
    let admin = web.login(&d.fake, ADMIN).await;
    let moderator = web.login(&d.fake, MODERATOR).await;
    let settings = format!("/g/{g}/settings");
    let preview = format!("{settings}/preview");
    let version = settings_version(&d).await;
    let cases = count(
        &d,
        "SELECT count(*) FROM moderation_cases WHERE guild_id = $1",
        g,
    )
    .await;
    let default_warn = crate::base_config().thresholds.warn.to_string();

    // The form: each key empty with the global default as its placeholder.
    let html = page(&web, &settings, &admin).await;
    let warn = control(&html, "thresholds.warn");
    assert_eq!(attr(warn, "value").as_deref(), Some(""), "{warn}");
    assert_eq!(
        attr(warn, "placeholder"),
        Some(default_warn.clone()),
        "{warn}"
    );
    let was = control(&html, "was:thresholds.warn");
    assert_eq!(attr(was, "type").as_deref(), Some("hidden"), "{was}");
    assert!(html.contains("Save changes"));
    assert_eq!(
        attr(control(&html, "days"), "value").as_deref(),
        Some("7"),
        "{html}"
    );
    assert!(control(&html, "days").contains("id=\"whatif-days\""));
    assert!(!has_testid(&html, "settings-readonly"));
    // A moderator reads it, previews, but cannot save.
    let html = page(&web, &settings, &moderator).await;
    assert!(has_testid(&html, "settings-readonly") && !html.contains("Save changes"));
    let r = web
        .post(
            &settings,
            Some(&moderator),
            &[
                ("csrf", &moderator.csrf),
                ("thresholds.warn", "0.55"),
                ("was:thresholds.warn", ""),
            ],
        )
        .await;
    assert_eq!(r.status, 403, "{}", r.describe());

    // Preview: the last 14 days replayed through a lower warning threshold, nothing done.
    let r = post_htmx(
        &web,
        &preview,
        &moderator,
        &[
            ("csrf", &moderator.csrf),
            ("thresholds.warn", "0.4"),
            ("was:thresholds.warn", ""),
            ("days", "14"),
        ],
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.describe());
    assert!(!r.body.contains("<html"), "a fragment: {}", r.describe());
    let whatif = testid(&r.body, "whatif");
    assert!(text(whatif).contains("Nothing was executed"), "{whatif}");
    assert!(
        text(whatif).contains("What-if over the last 14 days"),
        "{whatif}"
    );
    let replayed: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM messages WHERE guild_id = $1 AND created_at >= $2",
    )
    .bind(g as i64)
    .bind(Utc::now() - chrono::Duration::days(14))
    .fetch_one(d.storage().pool())
    .await
    .expect("count");
    assert_eq!(
        text(testid(whatif, "whatif-messages")),
        replayed.to_string()
    );
    let arrow = Regex::new(r"^(\d+) → (\d+)$").expect("regex");
    let mut counts = BTreeMap::new();
    for a in ["warn", "timeout", "kick", "ban", "delete"] {
        let cell = text(testid(whatif, &format!("whatif-count-{a}")));
        let c = arrow
            .captures(&cell)
            .unwrap_or_else(|| panic!("whatif-count-{a}: {cell:?}"));
        let n = |i: usize| c[i].parse::<i64>().expect("count");
        counts.insert(a, (n(1), n(2)));
    }
    let (before, after) = counts["warn"];
    assert!(after > before, "a lower threshold warns more: {counts:?}");
    assert_eq!(
        settings_version(&d).await,
        version,
        "a preview saves nothing"
    );
    // Every problem at once, each under its key.
    let r = post_htmx(
        &web,
        &preview,
        &moderator,
        &[
            ("csrf", &moderator.csrf),
            ("thresholds.warn", "high"),
            ("was:thresholds.warn", ""),
            ("dry_run", "maybe"),
            ("was:dry_run", ""),
            ("days", "40"),
        ],
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.describe());
    let problems = testid(&r.body, "settings-problems");
    for key in ["days", "thresholds.warn", "dry_run"] {
        assert!(
            problems.contains(&format!("<code>{key}</code>")),
            "{key} in {problems}"
        );
    }
    assert!(!has_testid(&r.body, "whatif"));
    let r = web
        .post(
            &preview,
            Some(&moderator),
            &[("csrf", &moderator.csrf), ("thresholds.warn", "")],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.describe());
    assert!(
        text(testid(&r.body, "settings-problems")).contains("change a field first"),
        "{}",
        r.describe()
    );
    let r = web
        .post(
            &preview,
            Some(&moderator),
            &[("csrf", "forged"), ("thresholds.warn", "0.4")],
        )
        .await;
    assert_eq!(r.status, 403, "{}", r.describe());

    // An invalid save changes nothing and names every problem.
    let r = web
        .post(
            &settings,
            Some(&admin),
            &[("csrf", "forged"), ("thresholds.warn", "0.55")],
        )
        .await;
    assert_eq!(r.status, 403, "{}", r.describe());
    let r = web
        .post(
            &settings,
            Some(&admin),
            &[
                ("csrf", &admin.csrf),
                ("thresholds.ban", "0.1"),
                ("was:thresholds.ban", ""),
                ("notices.warn", "hi {score}"),
                ("was:notices.warn", ""),
            ],
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.describe());
    // Both problems, each on the field the rules name: a ban threshold below the kick one is
    // reported on thresholds.kick (the lower of the pair), as `/mod config set` reports it.
    let problems = text(testid(&r.body, "settings-problems"));
    for (key, says) in [
        (
            "thresholds.kick",
            "must be strictly below thresholds.ban (0.1)",
        ),
        ("notices.warn", "unknown variable `{score}`"),
    ] {
        assert!(
            problems.contains(&format!("{key} : ")) && problems.contains(says),
            "{key}: {says} in {problems}"
        );
        assert_eq!(
            attr(control(&r.body, key), "aria-invalid").as_deref(),
            Some("true"),
            "{key}"
        );
    }
    assert_eq!(
        attr(control(&r.body, "thresholds.ban"), "value").as_deref(),
        Some("0.1"),
        "the form as it was sent"
    );
    assert_eq!(settings_version(&d).await, version);

    // A valid save: one change, one new version, one audit row by the administrator.
    let r = web
        .post(
            &settings,
            Some(&admin),
            &[
                ("csrf", &admin.csrf),
                ("thresholds.warn", "0.55"),
                ("was:thresholds.warn", ""),
                // Left as shown: not a change.
                ("dry_run", ""),
                ("was:dry_run", ""),
            ],
        )
        .await;
    let saved = settings_version(&d).await;
    assert!(saved > version);
    assert_eq!(
        redirect_message(&r, &settings, "done"),
        format!("Saved 1 change (settings version {saved}); recorded in the audit log.")
    );
    let (stored, _) = d.storage().guild_settings(g).await.expect("settings");
    assert_eq!(stored.thresholds.and_then(|t| t.warn), Some(0.55));
    assert_eq!(stored.dry_run, None);
    let html = page(&web, &r.location(), &admin).await;
    assert_eq!(
        attr(control(&html, "thresholds.warn"), "value").as_deref(),
        Some("0.55")
    );
    assert_eq!(
        attr(control(&html, "was:thresholds.warn"), "value").as_deref(),
        Some("0.55")
    );
    let audited = audit_rows(&d, g, "guild.settings").await;
    let by_admin: Vec<_> = audited
        .iter()
        .filter(|(actor, _, _)| *actor == Some(ADMIN))
        .collect();
    assert_eq!(by_admin.len(), 1, "{audited:?}");
    assert!(
        by_admin[0].2.to_string().contains("0.55"),
        "{:?}",
        by_admin[0]
    );
    // The same values again: nothing to save.
    let r = web
        .post(
            &settings,
            Some(&admin),
            &[
                ("csrf", &admin.csrf),
                ("thresholds.warn", "0.55"),
                ("was:thresholds.warn", "0.55"),
            ],
        )
        .await;
    assert_eq!(
        redirect_message(&r, &settings, "done"),
        "Nothing changed: every field holds its stored value."
    );
    assert_eq!(settings_version(&d).await, saved);

    // A channel's own thresholds.
    let general = GENERAL.to_string();
    let r = web
        .post(
            &settings,
            Some(&admin),
            &[
                ("csrf", &admin.csrf),
                ("channel_id", &general),
                ("channel_warn", "0.7"),
                ("channel_timeout", "0.8"),
                ("channel_kick", ""),
                ("channel_ban", ""),
            ],
        )
        .await;
    let channel_version = settings_version(&d).await;
    assert_eq!(
        redirect_message(&r, &settings, "done"),
        format!("Saved 2 changes (settings version {channel_version}); recorded in the audit log.")
    );
    let (stored, _) = d.storage().guild_settings(g).await.expect("settings");
    let own = stored
        .channel_thresholds
        .as_ref()
        .and_then(|c| c.get(&GENERAL))
        .copied()
        .expect("the channel's thresholds");
    assert_eq!(
        (own.warn, own.timeout, own.kick, own.ban),
        (Some(0.7), Some(0.8), None, None)
    );
    let html = page(&web, &settings, &admin).await;
    let id_field = Regex::new(&format!(
        r#"<input[^>]*name="channel_id"[^>]*value="{GENERAL}"[^>]*readonly"#
    ))
    .expect("regex");
    assert!(id_field.is_match(&html), "a read-only form for the channel");
    // A warning threshold above the channel's timeout one is refused, keyed by the channel.
    let r = web
        .post(
            &settings,
            Some(&admin),
            &[
                ("csrf", &admin.csrf),
                ("channel_id", &general),
                ("channel_warn", "0.9"),
                ("channel_timeout", "0.8"),
            ],
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.describe());
    let key = format!("channel.{GENERAL}.thresholds.warn");
    assert!(
        testid(&r.body, "settings-problems").contains(&format!("<code>{key}</code>")),
        "{key}: {}",
        testid(&r.body, "settings-problems")
    );
    // Thresholds without a channel.
    let r = web
        .post(
            &settings,
            Some(&admin),
            &[
                ("csrf", &admin.csrf),
                ("channel_id", ""),
                ("channel_warn", "0.7"),
            ],
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.describe());
    assert!(
        text(testid(&r.body, "settings-problems")).contains("channel's id"),
        "{}",
        r.describe()
    );
    assert_eq!(settings_version(&d).await, channel_version);
    assert_eq!(
        count(
            &d,
            "SELECT count(*) FROM moderation_cases WHERE guild_id = $1",
            g
        )
        .await,
        cases,
        "no case from any of it"
    );
}

// ---------------------------------------------------------------------------------------------
// Try a message; appeals.

/// Rows that trying a message must not add: cases, messages, audit rows.
async fn footprint(d: &Daemon) -> (i64, i64, i64) {
    (
        count(
            d,
            "SELECT count(*) FROM moderation_cases WHERE guild_id = $1",
            GUILD,
        )
        .await,
        count(
            d,
            "SELECT count(*) FROM messages WHERE guild_id = $1",
            GUILD,
        )
        .await,
        count(
            d,
            "SELECT count(*) FROM audit_log WHERE guild_id = $1",
            GUILD,
        )
        .await,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trying_a_message_records_nothing_and_appeals_are_decided_from_the_queue() {
    let mut o = options();
    o.settings.rules = Some(RuleOverrides {
        lists: Some(vec![usmca_bot::config::WordListSpec {
            name: "slang".into(),
            label: "insult".into(),
            severity: 0.9,
            terms: vec!["flurbo".into()],
        }]),
        ..RuleOverrides::default()
    });
    let d = Daemon::start(o).await;
    let web = Web::new(&d);
    let g = GUILD;
    let moderator = web.login(&d.fake, MODERATOR).await;
    let try_page = format!("/g/{g}/try");

    let html = page(&web, &try_page, &moderator).await;
    assert!(control(&html, "text").starts_with("<textarea"), "{html}");
    let before = (footprint(&d).await, d.fake.requests().len());
    let tried = |text: &'static str| {
        let (web, moderator, try_page) = (&web, &moderator, &try_page);
        async move {
            web.post(
                try_page,
                Some(moderator),
                &[("csrf", &moderator.csrf), ("text", text)],
            )
            .await
        }
    };
    // An insult: deleted by its content, a warning first, more for a repeat.
    let r = tried(WORTHLESS).await;
    assert_eq!(r.status, 200, "{}", r.describe());
    let result = testid(&r.body, "try-result");
    assert!(
        text(testid(result, "try-delete")).starts_with("Deleted by its content"),
        "{result}"
    );
    assert_eq!(text(testid(result, "try-first")), "warn", "{result}");
    let repeat = text(testid(result, "try-repeat"));
    assert!(repeat.starts_with("timeout"), "{repeat}");
    let scores = testid(result, "try-scores");
    let top: f64 = Regex::new(r"<td>(0\.\d{3}|1\.000)</td>")
        .expect("regex")
        .captures(scores)
        .and_then(|c| c[1].parse().ok())
        .unwrap_or_else(|| panic!("{scores}"));
    assert!(top >= 0.9, "the top score: {scores}");
    assert!(has_testid(result, "try-rules-none"));
    assert!(
        control(&r.body, "text").starts_with("<textarea") && r.body.contains(WORTHLESS),
        "the text stays in the form"
    );
    // Kind words are kept.
    let r = tried("thanks for the help, see you tomorrow").await;
    let result = testid(&r.body, "try-result");
    assert!(
        text(testid(result, "try-delete")).starts_with("Kept by its content"),
        "{result}"
    );
    assert_eq!(text(testid(result, "try-first")), "none", "{result}");
    // The server's own word list.
    let r = tried("what a flurbo").await;
    let rules = testid(&r.body, "try-rules");
    assert!(
        text(rules).contains("slang") && text(rules).contains("flurbo"),
        "{rules}"
    );
    // Nothing to try; someone else's token.
    let r = tried("   ").await;
    assert_eq!(r.status, 200, "{}", r.describe());
    assert!(
        text(testid(&r.body, "try-error")).contains("write the message to try first"),
        "{}",
        r.describe()
    );
    let r = web
        .post(
            &try_page,
            Some(&moderator),
            &[("csrf", "forged"), ("text", WORTHLESS)],
        )
        .await;
    assert_eq!(r.status, 403, "{}", r.describe());
    // Nothing was recorded, and Discord heard nothing.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(footprint(&d).await, before.0);
    let since: Vec<String> = d.fake.requests()[before.1..]
        .iter()
        .map(|r| format!("{} {}", r.method, r.path))
        .filter(|r| !r.contains("/oauth2/") && !r.contains("/users/@me"))
        .filter(|r| !r.starts_with("GET "))
        .collect();
    assert!(since.is_empty(), "{since:?}");

    // Appeals: this server's, oldest first, the member's text escaped.
    let (ban, _) = seed_case(&d, g, BANNED, CaseAction::Ban, "threats", None).await;
    let (timeout, _) = seed_case(&d, g, NOISY, CaseAction::Timeout, "flooding", None).await;
    let (elsewhere, _) = seed_case(&d, OTHER, OUTSIDER, CaseAction::Warn, "spam", None).await;
    let first = seed_appeal(&d, g, ban, BANNED, "I was angry <b>sorry</b>").await;
    let second = seed_appeal(&d, g, timeout, NOISY, "it was one message").await;
    let theirs = seed_appeal(&d, OTHER, elsewhere, OUTSIDER, "not yours").await;
    let appeals = format!("/g/{g}/appeals");
    let html = page(&web, &appeals, &moderator).await;
    let order: Vec<i64> = Regex::new(r#"<article class="card" id="appeal-(\d+)""#)
        .expect("regex")
        .captures_iter(&html)
        .map(|c| c[1].parse().expect("id"))
        .collect();
    assert_eq!(order, [first, second], "{html}");
    let card = testid(&html, &format!("appeal-{first}"));
    assert!(
        card.contains("I was angry &lt;b&gt;sorry&lt;/b&gt;") && !card.contains("<b>sorry"),
        "{card}"
    );
    assert!(
        card.contains(&format!("href=\"/g/{g}/cases/{ban}\"")),
        "{card}"
    );
    assert!(!html.contains("not yours"));
    // Another server's appeal is not found through this one.
    for action in ["approve", "deny"] {
        let r = web
            .post(
                &format!("{appeals}/{theirs}/{action}"),
                Some(&moderator),
                &[("csrf", &moderator.csrf), ("reason", "no"), ("note", "ok")],
            )
            .await;
        assert_eq!(r.status, 404, "{action}: {}", r.describe());
    }
    let other = d
        .storage()
        .appeal(theirs)
        .await
        .expect("appeal")
        .expect("kept");
    assert_eq!(other.status, AppealStatus::Open);
    // Bad token; a denial without a reason.
    let deny = format!("{appeals}/{first}/deny");
    let r = web
        .post(
            &deny,
            Some(&moderator),
            &[("csrf", "forged"), ("reason", "no")],
        )
        .await;
    assert_eq!(r.status, 403, "{}", r.describe());
    let r = web
        .post(
            &deny,
            Some(&moderator),
            &[("csrf", &moderator.csrf), ("reason", "  ")],
        )
        .await;
    assert_eq!(
        redirect_message(&r, &appeals, "failed"),
        "Say why the appeal is denied: the member receives this reason."
    );
    assert_eq!(
        d.storage()
            .appeal(first)
            .await
            .expect("appeal")
            .expect("kept")
            .status,
        AppealStatus::Open
    );
    // Denied with a reason: recorded, and the member gets it by DM.
    let reason = "threats are never a joke here";
    let r = web
        .post(
            &deny,
            Some(&moderator),
            &[("csrf", &moderator.csrf), ("reason", reason)],
        )
        .await;
    assert_eq!(
        redirect_message(&r, &appeals, "done"),
        format!("Appeal #{first} denied; the member was told.")
    );
    let denied = d
        .storage()
        .appeal(first)
        .await
        .expect("appeal")
        .expect("kept");
    assert_eq!(
        (
            denied.status,
            denied.reviewer_id,
            denied.review_note.as_deref()
        ),
        (AppealStatus::Rejected, Some(MODERATOR), Some(reason))
    );
    d.request("POST", "/users/@me/channels", |r| {
        body(r)["recipient_id"]
            .to_string()
            .contains(&BANNED.to_string())
    })
    .await;
    let dm = d
        .request("POST", "/channels/*/messages", |r| {
            body(r).to_string().contains(reason)
        })
        .await;
    assert!(
        body(&dm).to_string().contains(&format!("case #{ban}")),
        "{}",
        body(&dm)
    );
    assert_eq!(
        case_status(&d, g, ban).await,
        "applied",
        "a denial keeps the case"
    );
    // Approved: the case is reversed (the timeout lifted on Discord) and the member told.
    let approve = format!("{appeals}/{second}/approve");
    let r = web
        .post(
            &approve,
            Some(&moderator),
            &[("csrf", &moderator.csrf), ("note", "fair enough")],
        )
        .await;
    assert_eq!(
        redirect_message(&r, &appeals, "done"),
        format!("Appeal #{second} approved and case #{timeout} reversed; the member was told.")
    );
    assert_eq!(case_status(&d, g, timeout).await, "reversed");
    d.request("PATCH", &format!("/guilds/{g}/members/{NOISY}"), |r| {
        r.body
            .as_ref()
            .is_some_and(|b| b["communication_disabled_until"].is_null())
    })
    .await;
    let decided = audit_rows(&d, g, "appeal.decided").await;
    assert_eq!(decided.len(), 2, "{decided:?}");
    assert!(decided
        .iter()
        .all(|(actor, _, _)| *actor == Some(MODERATOR)));
    // Deciding again is refused on the queue.
    for (path, form) in [(&approve, ("note", "again")), (&deny, ("reason", "again"))] {
        let r = web
            .post(path, Some(&moderator), &[("csrf", &moderator.csrf), form])
            .await;
        let id = if path == &approve { second } else { first };
        assert_eq!(
            redirect_message(&r, &appeals, "failed"),
            format!("Appeal #{id} was already decided.")
        );
    }
    let html = page(&web, &appeals, &moderator).await;
    assert!(has_testid(&html, "appeals-empty"), "{html}");
    // A plain member has no queue.
    let outsider = web.login(&d.fake, OUTSIDER).await;
    assert_eq!(web.get(&appeals, Some(&outsider)).await.status, 404);
}
