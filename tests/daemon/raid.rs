//! A raid: fresh accounts joining together and posting the same slur.

use std::time::Duration;

use serde_json::Value;

use crate::fake_discord::events::{self, Author};
use crate::harness::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn raid_of_new_accounts_opens_one_incident_and_times_them_out() {
    let d = Daemon::start(Options::default()).await;
    let raiders: Vec<Author> = (0..15)
        .map(|i| Author::new(account_aged(Duration::from_secs(86_400), 100 + i), "raider"))
        .collect();
    for r in &raiders {
        d.fake
            .dispatch("GUILD_MEMBER_ADD", events::guild_member_add(GUILD, r));
    }
    // The surge opens an incident before anyone speaks.
    d.eventually("join surge incident", || async {
        let n: i64 = sqlx::query_scalar("SELECT count(*) FROM brigade_incidents")
            .fetch_one(d.storage().pool())
            .await
            .ok()?;
        (n > 0).then_some(())
    })
    .await;
    for r in &raiders {
        d.say(GENERAL, r, "fuck you faggot");
    }
    let incident: (i64, Vec<i64>) = d
        .eventually("incident with all 15 raiders", || async {
            let rows: Vec<(i64, Vec<i64>)> =
                sqlx::query_as("SELECT incident_id, participants FROM brigade_incidents")
                    .fetch_all(d.storage().pool())
                    .await
                    .ok()?;
            rows.into_iter()
                .find(|(_, p)| raiders.iter().all(|r| p.contains(&(r.id as i64))))
        })
        .await;
    let incidents: i64 = sqlx::query_scalar("SELECT count(*) FROM brigade_incidents")
        .fetch_one(d.storage().pool())
        .await
        .expect("count");
    assert_eq!(incidents, 1, "one incident, not one per signal");
    assert!(incident.1.len() >= 15);
    for r in &raiders {
        d.request(
            "PATCH",
            &format!("/guilds/{GUILD}/members/{}", r.id),
            |_| true,
        )
        .await;
    }
    // Moderators were alerted in the mod log.
    d.request("POST", &format!("/channels/{MOD_LOG}/messages"), |r| {
        body(r)["embeds"][0]["title"]
            .as_str()
            .is_some_and(|t| t.starts_with("Incident"))
    })
    .await;
}

/// The audit rows of `kind` in the test guild: (created_at, payload).
async fn audit_rows(d: &Daemon, kind: &str) -> Vec<(chrono::DateTime<chrono::Utc>, Value)> {
    let rows: Vec<(chrono::DateTime<chrono::Utc>, Option<String>)> = sqlx::query_as(
        "SELECT created_at, payload FROM audit_log WHERE guild_id = $1 AND kind = $2 ORDER BY seq",
    )
    .bind(GUILD as i64)
    .bind(kind)
    .fetch_all(d.storage().pool())
    .await
    .expect("audit rows");
    rows.into_iter()
        .map(|(t, p)| {
            (
                t,
                p.and_then(|p| serde_json::from_str(&p).ok())
                    .unwrap_or(Value::Null),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_mode_changes_are_in_the_audit_trail_before_discord_is_called() {
    let mut opts = Options::default();
    // Close the incident soon after the flood, so the lift is seen too.
    opts.env
        .push(("USMCA_BRIGADE__QUIET_PERIOD".into(), "2s".into()));
    let d = Daemon::start(opts).await;
    // Five established accounts post one text: a duplicate flood in #general.
    for i in 0..5 {
        let who = Author::new(
            account_aged(Duration::from_secs(400 * 86_400), 700 + i),
            "spammer",
        );
        d.say(
            GENERAL,
            &who,
            "free nitro at nitro-gift dot example, claim it now",
        );
    }
    let slowed = d
        .request("PATCH", &format!("/channels/{GENERAL}"), |r| {
            r.body
                .as_ref()
                .is_some_and(|b| b["rate_limit_per_user"].as_u64().is_some_and(|s| s > 0))
        })
        .await;
    let rows = audit_rows(&d, "incident.slowmode").await;
    let set = rows
        .iter()
        .find(|(_, p)| p["seconds"].as_u64().is_some_and(|s| s > 0))
        .unwrap_or_else(|| panic!("no incident.slowmode row for setting slow-mode: {rows:?}"));
    assert_eq!(set.1["channel_id"], GENERAL);
    assert!(
        set.0 <= slowed.wall,
        "recorded at {} but Discord was called at {}",
        set.0,
        slowed.wall
    );

    // The incident ends after its quiet period: the lift is recorded before it is made.
    let lifted = d
        .request("PATCH", &format!("/channels/{GENERAL}"), |r| {
            r.body
                .as_ref()
                .is_some_and(|b| b["rate_limit_per_user"].as_u64() == Some(0))
        })
        .await;
    let rows = audit_rows(&d, "incident.slowmode").await;
    let lift = rows
        .iter()
        .find(|(_, p)| p["seconds"].as_u64() == Some(0))
        .unwrap_or_else(|| panic!("no incident.slowmode row for lifting slow-mode: {rows:?}"));
    assert!(lift.0 <= lifted.wall, "lift recorded after the call");
    assert!(audit_rows(&d, "incident.slowmode_failed").await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_incidents_slow_mode_gives_the_channel_back_its_own_interval() {
    let mut opts = Options::default();
    opts.env
        .push(("USMCA_BRIGADE__QUIET_PERIOD".into(), "2s".into()));
    let fake = Daemon::fake(&opts).await;
    // The server had its own 7 s slow-mode in #general.
    fake.set_slowmode(GENERAL, 7);
    let db = std::sync::Arc::new(crate::db::TestDb::new().await);
    db.storage
        .set_guild_settings(GUILD, &opts.settings, &crate::base_config(), None)
        .await
        .expect("settings");
    let d = Daemon::spawn(
        fake,
        db,
        std::sync::Arc::new(crate::redis_support::TestRedis::new()),
        &opts,
    );
    d.until_ready(1).await;
    for i in 0..5 {
        let who = Author::new(
            account_aged(Duration::from_secs(400 * 86_400), 720 + i),
            "spammer",
        );
        d.say(
            GENERAL,
            &who,
            "free nitro at nitro-gift dot example, claim it now",
        );
    }
    d.request("PATCH", &format!("/channels/{GENERAL}"), |r| {
        r.body
            .as_ref()
            .is_some_and(|b| b["rate_limit_per_user"].as_u64() == Some(30))
    })
    .await;
    // The end of the incident restores 7 s, not 0.
    d.request("PATCH", &format!("/channels/{GENERAL}"), |r| {
        r.body
            .as_ref()
            .is_some_and(|b| b["rate_limit_per_user"].as_u64() == Some(7))
    })
    .await;
    // Once Discord confirmed it, nothing is left to restore.
    d.eventually("slow-mode record cleared", || async {
        let left: i64 = sqlx::query_scalar("SELECT count(*) FROM channel_locks")
            .fetch_one(d.storage().pool())
            .await
            .ok()?;
        (left == 0).then_some(())
    })
    .await;
}

/// Clicks a button as a moderator (moderator role configured) and returns the answer.
async fn click(d: &Daemon, who: &Author, custom_id: &str) -> crate::fake_discord::RecordedRequest {
    let before = d
        .fake
        .requests_to("POST", "/interactions/*/*/callback")
        .len();
    d.fake.dispatch(
        "INTERACTION_CREATE",
        events::button_click(
            Some(GUILD),
            MOD_LOG,
            who,
            custom_id,
            events::message(GUILD, MOD_LOG, d.message_id(), who, "alert"),
        ),
    );
    d.eventually("button answered", || async {
        d.fake
            .requests_to("POST", "/interactions/*/*/callback")
            .get(before)
            .cloned()
    })
    .await
}

/// A daemon where `raiders` join at once (moderator role MOD_ROLE; `exempt` exempt by user),
/// and the raid alert it posted to the mod log.
async fn raided(raiders: &[Author], exempt: u64) -> (Daemon, crate::fake_discord::RecordedRequest) {
    let mut opts = Options::default();
    opts.settings.moderator_roles = Some(vec![MOD_ROLE]);
    opts.settings.exemptions = Some(usmca_bot::domain::ExemptionOverrides {
        users: Some(vec![exempt]),
        ..Default::default()
    });
    let d = Daemon::start(opts).await;
    for r in raiders {
        d.fake
            .dispatch("GUILD_MEMBER_ADD", events::guild_member_add(GUILD, r));
    }
    let alert = d
        .request("POST", &format!("/channels/{MOD_LOG}/messages"), |r| {
            body(r)["components"].to_string().contains("raid:")
        })
        .await;
    (d, alert)
}

/// The custom id of the alert's button starting with `prefix`.
fn alert_button(alert: &crate::fake_discord::RecordedRequest, prefix: &str) -> String {
    body(alert)["components"][0]["components"]
        .as_array()
        .and_then(|b| {
            b.iter()
                .filter_map(|b| b["custom_id"].as_str())
                .find(|id| id.starts_with(prefix))
                .map(str::to_owned)
        })
        .unwrap_or_else(|| panic!("no {prefix} button"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_alerts_raid_controls_ask_to_confirm_then_act_on_every_participant_but_the_exempt() {
    let raiders: Vec<Author> = (0..12)
        .map(|i| Author::new(account_aged(Duration::from_secs(86_400), 900 + i), "raider"))
        .collect();
    let (d, alert) = raided(&raiders, raiders[0].id).await;
    let button = |prefix: &str| alert_button(&alert, prefix);
    let m = Author::new(600_000_000_000_000_888, "moderator").with_roles(&[MOD_ROLE]);
    for r in &raiders[1..] {
        d.request(
            "PATCH",
            &format!("/guilds/{GUILD}/members/{}", r.id),
            |_| true,
        )
        .await;
    }

    // /mod raid status names the open incident.
    let status = slash(
        &d,
        &m,
        MANAGE_MESSAGES,
        serde_json::json!([{"name": "raid", "type": 2, "options": [{"name": "status", "type": 1, "options": []}]}]),
    )
    .await;
    let text = callback_data(&status)["content"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(
        text.contains("1 open incident") && text.contains("join surge"),
        "{text}"
    );

    // Release timeouts: the incident's timeouts are lifted (and their cases reversed).
    let ask = click(&d, &m, &button("raid:release:")).await;
    let confirm = body(&ask)["data"]["components"][0]["components"][0]["custom_id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(confirm.starts_with("raid-confirm:release:"), "{confirm}");
    let done = click(&d, &m, &confirm).await;
    let text = body(&done)["data"]["content"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(text.contains("11 timeouts lifted"), "{text}");
    for r in &raiders[1..] {
        assert!(
            d.fake.timed_out_until(GUILD, r.id).is_none(),
            "raider {} still timed out",
            r.id
        );
    }
    let reversed: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM moderation_cases WHERE action = 'timeout' AND status = 'reversed'",
    )
    .fetch_one(d.storage().pool())
    .await
    .expect("count");
    assert_eq!(reversed, 11);

    // Ban all: first a confirmation, nothing done yet.
    let ask = click(&d, &m, &button("raid:ban:")).await;
    let confirm = body(&ask)["data"]["components"][0]["components"][0]["custom_id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(confirm.starts_with("raid-confirm:ban:"), "{confirm}");
    assert!(d.fake.requests_to("PUT", "/guilds/*/bans/*").is_empty());
    let done = click(&d, &m, &confirm).await;
    let text = body(&done)["data"]["content"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(
        text.contains("11 participants banned") && text.contains("1 exempt"),
        "{text}"
    );
    for r in &raiders[1..] {
        assert!(d.fake.is_banned(GUILD, r.id), "raider {} not banned", r.id);
    }
    assert!(
        !d.fake.is_banned(GUILD, raiders[0].id),
        "the exempt member was banned"
    );
    let bans: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM moderation_cases WHERE action = 'ban' AND actor_id = $1",
    )
    .bind(m.id as i64)
    .fetch_one(d.storage().pool())
    .await
    .expect("count");
    assert_eq!(bans, 11, "one case per participant, naming the moderator");
    // Confirming twice does not ban twice.
    click(&d, &m, &confirm).await;
    assert_eq!(d.fake.requests_to("PUT", "/guilds/*/bans/*").len(), 11);

    // End: the incident is closed.
    let ask = click(&d, &m, &button("raid:end:")).await;
    let confirm = body(&ask)["data"]["components"][0]["components"][0]["custom_id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let done = click(&d, &m, &confirm).await;
    assert!(
        body(&done)["data"]["content"].to_string().contains("ended"),
        "{}",
        body(&done)
    );
    let open: i64 =
        sqlx::query_scalar("SELECT count(*) FROM brigade_incidents WHERE closed_at IS NULL")
            .fetch_one(d.storage().pool())
            .await
            .expect("count");
    assert_eq!(open, 0);
}

/// `/mod config …` as a server administrator; the answer's text.
async fn config(d: &Daemon, sub: &str, options: Value) -> String {
    let admin = Author::new(600_000_000_000_000_901, "admin");
    let r = slash(
        d,
        &admin,
        ADMINISTRATOR,
        serde_json::json!([{"name": "config", "type": 2, "options": [{"name": sub, "type": 1, "options": options}]}]),
    )
    .await;
    callback_data(&r)["content"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

async fn config_set(d: &Daemon, key: &str, value: &str) -> String {
    config(
        d,
        "set",
        serde_json::json!([
            {"name": "key", "type": 3, "value": key},
            {"name": "value", "type": 3, "value": value}
        ]),
    )
    .await
}

async fn incidents(d: &Daemon) -> Vec<(String, Vec<i64>)> {
    sqlx::query_as("SELECT kind, participants FROM brigade_incidents WHERE guild_id = $1")
        .bind(GUILD as i64)
        .fetch_all(d.storage().pool())
        .await
        .expect("incidents")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_servers_own_join_surge_count_opens_an_incident_the_global_one_would_not() {
    let d = Daemon::start(Options::default()).await;
    // Established accounts (without an avatar of their own): the global surge takes ten.
    let joiners: Vec<Author> = (0..5)
        .map(|i| {
            Author::new(
                account_aged(Duration::from_secs(400 * 86_400), 1_100 + i),
                "joiner",
            )
        })
        .collect();
    for j in &joiners[..3] {
        d.fake
            .dispatch("GUILD_MEMBER_ADD", events::guild_member_add(GUILD, j));
    }
    d.eventually("the three joins handled", || async {
        let n: i64 = sqlx::query_scalar("SELECT count(*) FROM members WHERE guild_id = $1")
            .bind(GUILD as i64)
            .fetch_one(d.storage().pool())
            .await
            .ok()?;
        (n >= 3).then_some(())
    })
    .await;
    // The member row is written just before the join is counted: give the count a moment.
    tokio::time::sleep(Duration::from_millis(1_000)).await;
    assert!(
        incidents(&d).await.is_empty(),
        "three joins are no raid at the global count"
    );

    // Autocomplete offers the brigade keys.
    let admin = Author::new(600_000_000_000_000_901, "admin");
    d.fake.dispatch(
        "INTERACTION_CREATE",
        events::autocomplete(
            GUILD,
            GENERAL,
            &admin,
            ADMINISTRATOR,
            "mod",
            serde_json::json!([{"name": "config", "type": 2, "options": [{"name": "set", "type": 1, "options": [
                {"name": "key", "type": 3, "value": "brigade.join", "focused": true}]}]}]),
        ),
    );
    let keys = d
        .request("POST", "/interactions/*/*/callback", |r| {
            body(r)["type"] == 8
        })
        .await;
    let choices = body(&keys)["data"]["choices"].to_string();
    assert!(
        choices.contains("\"brigade.join_surge_count\"")
            && choices.contains("\"brigade.join_surge_window\"")
            && !choices.contains("thresholds."),
        "{choices}"
    );

    // Below the global rule's minimum: refused, saying what to write; nothing changes.
    let text = config_set(&d, "brigade.join_surge_count", "1").await;
    assert!(
        text.contains("Not changed")
            && text.contains("brigade.join_surge_count")
            && text.contains("at least 2"),
        "{text}"
    );
    let text = config_set(&d, "brigade.join_surge_window", "a while").await;
    assert!(
        text.contains("Not changed") && text.contains("not a duration"),
        "{text}"
    );
    let text = config_set(&d, "brigade.join_surge_count", "3").await;
    assert!(text.contains("Set `brigade.join_surge_count`"), "{text}");
    let text = config(&d, "show", serde_json::json!([])).await;
    assert!(
        text.contains("brigade: raid at 3 joins in 60s") && !text.ends_with('…'),
        "{text}"
    );

    // The next join makes four within the minute: a surge for this server.
    d.fake.dispatch(
        "GUILD_MEMBER_ADD",
        events::guild_member_add(GUILD, &joiners[3]),
    );
    let (kind, participants) = d
        .eventually("join surge incident", || async {
            incidents(&d).await.into_iter().next()
        })
        .await;
    assert_eq!(kind, "join_surge");
    for j in &joiners[..4] {
        assert!(
            participants.contains(&(j.id as i64)),
            "{} not among {participants:?}",
            j.id
        );
    }
    d.request("POST", &format!("/channels/{MOD_LOG}/messages"), |r| {
        body(r)["embeds"][0]["title"]
            .as_str()
            .is_some_and(|t| t.starts_with("Incident"))
    })
    .await;

    // `none` gives the server the global count back.
    let text = config_set(&d, "brigade.join_surge_count", "none").await;
    assert!(text.contains("Set `brigade.join_surge_count`"), "{text}");
    let text = config(&d, "show", serde_json::json!([])).await;
    assert!(text.contains("brigade: raid at 10 joins in 60s"), "{text}");
    let stored = d.storage().guild_settings(GUILD).await.expect("settings").0;
    assert_eq!(stored.brigade, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kick_all_asks_to_confirm_then_kicks_each_participant_once_with_a_case_but_the_exempt() {
    let raiders: Vec<Author> = (0..8)
        .map(|i| {
            Author::new(
                account_aged(Duration::from_secs(86_400), 1_200 + i),
                "raider",
            )
        })
        .collect();
    let exempt = &raiders[0];
    let (d, alert) = raided(&raiders, exempt.id).await;
    let kick_button = alert_button(&alert, "raid:kick:");
    let incident = kick_button
        .strip_prefix("raid:kick:")
        .unwrap_or_default()
        .to_owned();
    // Every raider is a participant before anyone acts.
    d.eventually("all raiders are participants", || async {
        let p: Vec<i64> =
            sqlx::query_scalar("SELECT participants FROM brigade_incidents WHERE detector_id = $1")
                .bind(&incident)
                .fetch_optional(d.storage().pool())
                .await
                .ok()??;
        raiders
            .iter()
            .all(|r| p.contains(&(r.id as i64)))
            .then_some(())
    })
    .await;
    let m = Author::new(600_000_000_000_000_889, "moderator").with_roles(&[MOD_ROLE]);

    // The button only asks; nobody is kicked yet.
    let ask = click(&d, &m, &kick_button).await;
    let asked = body(&ask)["data"]["content"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(
        asked.contains("Kick the 8 participants") && asked.contains("exempt members are spared"),
        "{asked}"
    );
    let confirm = body(&ask)["data"]["components"][0]["components"][0]["custom_id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert_eq!(confirm, format!("raid-confirm:kick:{incident}"));
    assert!(d
        .fake
        .requests_to("DELETE", "/guilds/*/members/*")
        .is_empty());

    // Confirmed: seven kicks, the exempt member spared.
    let done = click(&d, &m, &confirm).await;
    let text = body(&done)["data"]["content"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(
        text.contains("7 participants kicked") && text.contains("1 exempt members spared"),
        "{text}"
    );
    for r in &raiders[1..] {
        let kicks = d
            .fake
            .requests_to("DELETE", &format!("/guilds/{GUILD}/members/{}", r.id));
        assert_eq!(
            kicks.len(),
            1,
            "raider {} kicked {} times",
            r.id,
            kicks.len()
        );
        let reason = kicks[0].audit_reason().unwrap_or_default();
        assert!(
            reason.contains("you took part in a raid on this server")
                && reason.contains(&format!(
                    "raid participant (incident {incident}), kick by <@{}>",
                    m.id
                )),
            "{reason}"
        );
        assert!(
            !d.fake.is_member(GUILD, r.id),
            "raider {} still a member",
            r.id
        );
    }
    assert!(
        d.fake
            .requests_to("DELETE", &format!("/guilds/{GUILD}/members/{}", exempt.id))
            .is_empty(),
        "the exempt member was kicked"
    );
    assert!(d.fake.is_member(GUILD, exempt.id));

    // One applied case per kicked participant, naming the moderator and the incident.
    let cases: Vec<(i64, i64, String, String)> = sqlx::query_as(
        "SELECT case_no, user_id, status, reason FROM moderation_cases
         WHERE action = 'kick' AND actor_id = $1 ORDER BY user_id",
    )
    .bind(m.id as i64)
    .fetch_all(d.storage().pool())
    .await
    .expect("cases");
    let mut kicked: Vec<i64> = raiders[1..].iter().map(|r| r.id as i64).collect();
    kicked.sort_unstable();
    assert_eq!(
        cases.iter().map(|c| c.1).collect::<Vec<_>>(),
        kicked,
        "one case per kicked participant: {cases:?}"
    );
    for (_, _, status, reason) in &cases {
        assert_eq!(status, "applied");
        assert_eq!(
            reason,
            &format!(
                "raid participant (incident {incident}), kick by <@{}>",
                m.id
            )
        );
    }
    // Each case has its audit rows: created before the call, then applied.
    let created = audit_rows(&d, "case.created").await;
    let statuses = audit_rows(&d, "case.status").await;
    for (case_no, user, _, reason) in &cases {
        assert!(
            created.iter().any(|(_, p)| p["case_no"] == *case_no
                && p["action"] == "kick"
                && p["reason"] == reason.as_str()),
            "no case.created row for case #{case_no} (user {user})"
        );
        assert!(
            statuses.iter().any(|(_, p)| p["case_no"] == *case_no),
            "no case.status row for case #{case_no}: {statuses:?}"
        );
    }

    // Confirming again kicks nobody twice.
    click(&d, &m, &confirm).await;
    assert_eq!(d.fake.requests_to("DELETE", "/guilds/*/members/*").len(), 7);
    let kick_cases: i64 =
        sqlx::query_scalar("SELECT count(*) FROM moderation_cases WHERE action = 'kick'")
            .fetch_one(d.storage().pool())
            .await
            .expect("count");
    assert_eq!(kick_cases, 7);
}
