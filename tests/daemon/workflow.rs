//! The moderator's workflow: their own actions through the bot, in the same case system.

use std::time::Duration;

use serde_json::{json, Value};

use crate::fake_discord::events::Author;
use crate::fake_discord::GuildSpec;
use crate::harness::*;

/// The bot's own role, above the moderators'.
const BOT_ROLE: u64 = GUILD + 20;
/// A role above the moderators'.
const SENIOR_ROLE: u64 = GUILD + 21;
/// The fake's bot user.
const BOT_USER: u64 = 900_000_000_000_000_001;

fn moderator() -> Author {
    Author::new(600_000_000_000_000_555, "moderator").with_roles(&[MOD_ROLE])
}

fn options() -> (Options, Author, Author) {
    let member = Author::new(account_aged(Duration::from_secs(30 * 86_400), 61), "member");
    let senior = Author::new(account_aged(Duration::from_secs(30 * 86_400), 62), "senior")
        .with_roles(&[SENIOR_ROLE]);
    let spec: GuildSpec = guild()
        .role(
            BOT_ROLE,
            "usmca-bot",
            0x10_0000_0000 | 0x2 | 0x4 | 0x2000,
            5,
        )
        .role(SENIOR_ROLE, "senior", 0, 4)
        .member(Author::new(BOT_USER, "usmca-bot").with_roles(&[BOT_ROLE]))
        .member(moderator())
        .member(member.clone())
        .member(senior.clone());
    let o = Options {
        guilds: vec![spec],
        ..Options::default()
    };
    (o, member, senior)
}

fn sub(name: &str, options: Value) -> Value {
    json!([{"name": name, "type": 1, "options": options}])
}

fn text(r: &crate::fake_discord::RecordedRequest) -> String {
    callback_data(r)["content"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_moderators_actions_are_cases_with_notices_strikes_and_the_hierarchy_respected() {
    let (o, member, senior) = options();
    let d = Daemon::start(o).await;
    let m = moderator();

    // A timeout without a length takes the member's next step on the ladder (10 minutes).
    let r = slash(
        &d,
        &m,
        MANAGE_MESSAGES,
        sub(
            "timeout",
            json!([
            {"name": "member", "type": 6, "value": member.id.to_string()},
            {"name": "reason", "type": 3, "value": "spamming invites"}]),
        ),
    )
    .await;
    assert!(
        text(&r).contains("timed out for 10m (case #1)"),
        "{}",
        text(&r)
    );
    let patch = d
        .request(
            "PATCH",
            &format!("/guilds/{GUILD}/members/{}", member.id),
            |_| true,
        )
        .await;
    assert!(patch.audit_reason().is_some_and(|a| a.contains("case #1")));
    // The member reads the moderator's reason, with the Appeal button.
    let dm = d
        .request("POST", "/channels/*/messages", |r| {
            body(r)["content"]
                .as_str()
                .is_some_and(|c| c.contains("spamming invites"))
        })
        .await;
    assert!(body(&dm)["components"].to_string().contains("appeal:"));
    // Mod log.
    d.request("POST", &format!("/channels/{MOD_LOG}/messages"), |r| {
        body(r)["embeds"][0]["title"]
            .as_str()
            .is_some_and(|t| t.starts_with("Case #1"))
    })
    .await;
    let (actor, reason): (Option<i64>, String) =
        sqlx::query_as("SELECT actor_id, reason FROM moderation_cases WHERE case_no = 1")
            .fetch_one(d.storage().pool())
            .await
            .expect("case");
    assert_eq!(actor, Some(m.id as i64));
    assert!(reason.contains("spamming invites"));

    // The same strike counts for the automatic ladder: the member's next threat draws the
    // second step (1 hour), not the first. (Past the test's 1 s cooldown.)
    tokio::time::sleep(Duration::from_millis(1_200)).await;
    d.say(GENERAL, &member, "i will kill you, you stupid bitch");
    let auto = d
        .eventually("automatic case", || async {
            let c = d.cases().await;
            c.into_iter().find(|c| c.0 == 2)
        })
        .await;
    assert_eq!(auto.2, "timeout");
    let minutes: Option<f64> = sqlx::query_scalar(
        "SELECT round(extract(epoch FROM expires_at - created_at) / 60)::float8 FROM moderation_cases WHERE case_no = 2",
    )
    .fetch_one(d.storage().pool())
    .await
    .expect("expiry");
    assert_eq!(minutes, Some(60.0), "second step of the ladder");

    // Ban with a message-deletion window.
    let r = slash(
        &d,
        &m,
        MANAGE_MESSAGES,
        sub(
            "ban",
            json!([
            {"name": "member", "type": 6, "value": member.id.to_string()},
            {"name": "delete_messages", "type": 3, "value": "1d"}]),
        ),
    )
    .await;
    assert!(text(&r).contains("banned (case #3)"), "{}", text(&r));
    let ban = d
        .request(
            "PUT",
            &format!("/guilds/{GUILD}/bans/{}", member.id),
            |_| true,
        )
        .await;
    assert_eq!(
        ban.query_param("delete_message_seconds").as_deref(),
        Some("86400")
    );

    // A member whose role is above the moderator's is refused, and nothing is recorded.
    let r = slash(
        &d,
        &m,
        MANAGE_MESSAGES,
        sub(
            "warn",
            json!([{"name": "member", "type": 6, "value": senior.id.to_string()}]),
        ),
    )
    .await;
    assert!(text(&r).contains("equal to or above yours"), "{}", text(&r));
    assert_eq!(d.cases().await.len(), 3);

    // A note, then a changed reason: both in the audit trail.
    let r = slash(
        &d,
        &m,
        MANAGE_MESSAGES,
        sub(
            "note",
            json!([
            {"name": "member", "type": 6, "value": member.id.to_string()},
            {"name": "text", "type": 3, "value": "talked to them in DMs"}]),
        ),
    )
    .await;
    assert!(text(&r).contains("noted (case #4)"), "{}", text(&r));
    let r = slash(
        &d,
        &m,
        MANAGE_MESSAGES,
        sub(
            "reason",
            json!([
            {"name": "case", "type": 4, "value": 3},
            {"name": "text", "type": 3, "value": "ban evasion ring"}]),
        ),
    )
    .await;
    assert!(text(&r).contains("ban evasion ring"), "{}", text(&r));
    let kinds: Vec<String> = sqlx::query_scalar(
        "SELECT kind FROM audit_log WHERE guild_id = $1 AND kind = 'case.reason'",
    )
    .bind(GUILD as i64)
    .fetch_all(d.storage().pool())
    .await
    .expect("audit");
    assert_eq!(kinds.len(), 1);

    // Unban lifts it on Discord.
    let r = slash(
        &d,
        &m,
        MANAGE_MESSAGES,
        sub(
            "unban",
            json!([{"name": "member", "type": 6, "value": member.id.to_string()}]),
        ),
    )
    .await;
    assert!(text(&r).contains("unbanned (case #5)"), "{}", text(&r));
    d.request(
        "DELETE",
        &format!("/guilds/{GUILD}/bans/{}", member.id),
        |_| true,
    )
    .await;

    // Members without moderator rights are refused.
    let plain = Author::new(600_000_000_000_000_556, "someone");
    let r = slash(
        &d,
        &plain,
        0,
        sub(
            "kick",
            json!([{"name": "member", "type": 6, "value": member.id.to_string()}]),
        ),
    )
    .await;
    assert!(text(&r).contains("Manage Messages"), "{}", text(&r));
}

fn audit_entry(
    id: u64,
    by: u64,
    target: u64,
    action_type: u8,
    reason: &str,
    changes: Value,
) -> Value {
    json!({
        "guild_id": GUILD.to_string(), "id": id.to_string(), "user_id": by.to_string(),
        "target_id": target.to_string(), "action_type": action_type, "reason": reason,
        "changes": changes,
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ban_made_in_discord_becomes_a_case_and_counts_on_the_next_offence() {
    let (o, member, _) = options();
    let d = Daemon::start(o).await;
    let m = moderator();
    let fresh = Author::new(account_aged(Duration::from_secs(30 * 86_400), 63), "fresh");

    // Banned in Discord's own interface, then unbanned there.
    d.fake.dispatch(
        "GUILD_AUDIT_LOG_ENTRY_CREATE",
        audit_entry(
            1_400_000_000_000_000_001,
            m.id,
            member.id,
            22,
            "raid account",
            Value::Null,
        ),
    );
    // The same entry delivered twice is one case.
    d.fake.dispatch(
        "GUILD_AUDIT_LOG_ENTRY_CREATE",
        audit_entry(
            1_400_000_000_000_000_001,
            m.id,
            member.id,
            22,
            "raid account",
            Value::Null,
        ),
    );
    // The bot's own ban (its case exists already) is not recorded again.
    d.fake.dispatch(
        "GUILD_AUDIT_LOG_ENTRY_CREATE",
        audit_entry(
            1_400_000_000_000_000_002,
            BOT_USER,
            fresh.id,
            22,
            "usmca-bot case #9",
            Value::Null,
        ),
    );
    d.fake.dispatch(
        "GUILD_AUDIT_LOG_ENTRY_CREATE",
        audit_entry(
            1_400_000_000_000_000_003,
            m.id,
            member.id,
            23,
            "second chance",
            Value::Null,
        ),
    );
    let cases = d
        .eventually("ban and unban recorded", || async {
            let c = d.cases().await;
            (c.len() == 2).then_some(c)
        })
        .await;
    let mut actions: Vec<&str> = cases.iter().map(|c| c.2.as_str()).collect();
    actions.sort_unstable();
    assert_eq!(actions, ["ban", "unban"]);
    let (actor, reason): (Option<i64>, String) =
        sqlx::query_as("SELECT actor_id, reason FROM moderation_cases WHERE action = 'ban'")
            .fetch_one(d.storage().pool())
            .await
            .expect("case");
    assert_eq!(actor, Some(m.id as i64), "the case names the moderator");
    assert!(reason.contains("raid account"), "{reason}");
    // Nothing was sent to Discord for it.
    assert!(d.fake.requests_to("PUT", "/guilds/*/bans/*").is_empty());
    d.request("POST", &format!("/channels/{MOD_LOG}/messages"), |r| {
        body(r)["embeds"][0]["title"]
            .as_str()
            .is_some_and(|t| t.starts_with("Case #") && t.contains(" · ban"))
    })
    .await;

    // The same insult: a warning for a member with a clean record, more for the one banned
    // before (the ban's strike counts).
    let insult = "you are a worthless idiot";
    d.say(GENERAL, &fresh, insult);
    d.say(GENERAL, &member, insult);
    let action_of = |user: u64| {
        let d = &d;
        async move {
            d.eventually("case", || async {
                d.cases()
                    .await
                    .into_iter()
                    .find(|c| c.1 == user)
                    .map(|c| c.2)
            })
            .await
        }
    };
    assert_eq!(action_of(fresh.id).await, "warn");
    let repeat = d
        .eventually("the repeat offender's case", || async {
            d.cases()
                .await
                .into_iter()
                .find(|c| c.1 == member.id && c.0 > 2)
                .map(|c| c.2)
        })
        .await;
    assert_ne!(
        repeat, "warn",
        "the ban made in Discord counted as a strike"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_timeout_set_and_cleared_in_discord_are_cases() {
    let (o, member, _) = options();
    let d = Daemon::start(o).await;
    let m = moderator();
    let until = (chrono::Utc::now() + chrono::Duration::hours(1)).to_rfc3339();
    d.fake.dispatch(
        "GUILD_AUDIT_LOG_ENTRY_CREATE",
        audit_entry(
            1_400_000_000_000_000_010,
            m.id,
            member.id,
            24,
            "cool down",
            json!([{"key": "communication_disabled_until", "new_value": until}]),
        ),
    );
    d.fake.dispatch(
        "GUILD_AUDIT_LOG_ENTRY_CREATE",
        audit_entry(
            1_400_000_000_000_000_011,
            m.id,
            member.id,
            24,
            "",
            json!([{"key": "communication_disabled_until", "old_value": until}]),
        ),
    );
    let cases = d
        .eventually("timeout and its lifting recorded", || async {
            let c = d.cases().await;
            (c.len() == 2).then_some(c)
        })
        .await;
    // The two entries are handled concurrently: compare as a set.
    let mut actions: Vec<&str> = cases.iter().map(|c| c.2.as_str()).collect();
    actions.sort_unstable();
    assert_eq!(actions, ["timeout", "untimeout"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_appeals_queue_lists_open_appeals_and_a_denial_carries_its_reason() {
    let mut o = Options::default();
    o.settings.moderator_roles = Some(vec![MOD_ROLE]);
    let d = Daemon::start(o).await;
    let member = Author::new(account_aged(Duration::from_secs(3 * 3600), 64), "member");
    d.say(GENERAL, &member, "i will kill you, you stupid bitch");
    d.eventually("case", || async {
        (!d.cases().await.is_empty()).then_some(())
    })
    .await;
    let appeal = d
        .storage()
        .create_appeal(GUILD, 1, member.id, "I was joking with a friend.")
        .await
        .expect("appeal");

    let m = moderator();
    let r = slash(&d, &m, MANAGE_MESSAGES, sub("appeals", json!([]))).await;
    let data = callback_data(&r);
    let listing = data["content"].as_str().unwrap_or_default().to_owned();
    assert!(
        listing.contains(&format!("#{}", appeal.appeal_id))
            && listing.contains("joking with a friend"),
        "{listing}"
    );
    let deny = data["components"][0]["components"][1]["custom_id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert_eq!(deny, format!("appeal-deny:{}", appeal.appeal_id));

    // Deny asks for the reason first.
    d.fake.dispatch(
        "INTERACTION_CREATE",
        crate::fake_discord::events::button_click(
            Some(GUILD),
            GENERAL,
            &m,
            &deny,
            crate::fake_discord::events::message(GUILD, GENERAL, d.message_id(), &m, "queue"),
        ),
    );
    let form = d
        .request("POST", "/interactions/*/*/callback", |r| {
            body(r)["type"] == 9
        })
        .await;
    let form_id = callback_data(&form)["custom_id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    d.fake.dispatch(
        "INTERACTION_CREATE",
        crate::fake_discord::events::modal_submit(
            Some(GUILD),
            GENERAL,
            &m,
            &form_id,
            &[("deny_reason", "Threats are never a joke here.")],
        ),
    );
    // The member reads the decision with its reason.
    d.request("POST", "/channels/*/messages", |r| {
        body(r)["content"]
            .as_str()
            .is_some_and(|c| c.contains("denied") && c.contains("Threats are never a joke here."))
    })
    .await;
    let (status, note): (String, Option<String>) = d
        .eventually("appeal decided", || async {
            sqlx::query_as("SELECT status, review_note FROM appeals WHERE appeal_id = $1")
                .bind(appeal.appeal_id)
                .fetch_optional(d.storage().pool())
                .await
                .ok()
                .flatten()
                .filter(|(s, _): &(String, Option<String>)| s != "open")
        })
        .await;
    assert_eq!(status, "rejected");
    assert_eq!(note.as_deref(), Some("Threats are never a joke here."));
    // The queue is empty now.
    let r = slash(&d, &m, MANAGE_MESSAGES, sub("appeals", json!([]))).await;
    assert!(text(&r).contains("No open appeals"), "{}", text(&r));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn confirm_clicks_become_labels_and_suggested_thresholds_apply_in_one_click() {
    let mut o = Options::default();
    o.settings.moderator_roles = Some(vec![MOD_ROLE]);
    let d = Daemon::start(o).await;
    let m = moderator();

    // A Confirm click on the mod log labels the case.
    let member = Author::new(account_aged(Duration::from_secs(3 * 3600), 65), "member");
    d.say(GENERAL, &member, "i will kill you, you stupid bitch");
    let post = d
        .request("POST", &format!("/channels/{MOD_LOG}/messages"), |r| {
            body(r)["components"].to_string().contains("case-confirm:")
        })
        .await;
    let confirm = body(&post)["components"][0]["components"]
        .as_array()
        .and_then(|b| {
            b.iter()
                .filter_map(|b| b["custom_id"].as_str())
                .find(|id| id.starts_with("case-confirm:"))
                .map(str::to_owned)
        })
        .expect("Confirm button");
    d.fake.dispatch(
        "INTERACTION_CREATE",
        crate::fake_discord::events::button_click(
            Some(GUILD),
            MOD_LOG,
            &m,
            &confirm,
            crate::fake_discord::events::message(GUILD, MOD_LOG, d.message_id(), &m, "case"),
        ),
    );
    let label: String = d
        .eventually("label stored", || async {
            sqlx::query_scalar("SELECT label FROM moderation_cases WHERE case_no = 1")
                .fetch_optional(d.storage().pool())
                .await
                .ok()
                .flatten()
                .flatten()
        })
        .await;
    assert_eq!(label, "confirmed");

    // Seeded verdicts: low scores were mostly reversed.
    for i in 0..30u64 {
        let score = 0.60 + i as f64 * 0.01;
        let reversed = score < 0.70 && i % 3 != 0;
        let case = usmca_bot::domain::NewCase {
            guild_id: GUILD,
            user_id: 5_000 + i,
            action: usmca_bot::domain::CaseAction::Warn,
            reason: "automatic".into(),
            scores: json!({}),
            message_id: None,
            message_excerpt: None,
            actor_id: None,
            expires_at: None,
            dry_run: false,
            status: usmca_bot::domain::CaseStatus::Applied,
            error_note: None,
            key: None,
            behaviour_score: Some(score),
        };
        let r = d
            .storage()
            .record_case_keyed(&case, None, None)
            .await
            .expect("case");
        d.storage()
            .set_case_label(
                r.case_id,
                if reversed { "reversed" } else { "confirmed" },
                m.id,
            )
            .await
            .expect("label");
    }
    let admin = Author::new(600_000_000_000_000_557, "admin");
    let r = slash(
        &d,
        &admin,
        ADMINISTRATOR,
        json!([{"name": "config", "type": 2, "options": [
            {"name": "suggest", "type": 1, "options": [
                {"name": "max_reversal_rate", "type": 3, "value": "10%"}]}]}]),
    )
    .await;
    let data = callback_data(&r);
    let shown = data["content"].as_str().unwrap_or_default().to_owned();
    assert!(shown.contains("Suggested: warn"), "{shown}");
    let apply = data["components"][0]["components"][0]["custom_id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(apply.starts_with("tune-apply:"), "{apply}");
    let warn: f64 = apply["tune-apply:".len()..]
        .split(':')
        .next()
        .and_then(|w| w.parse().ok())
        .expect("warn in the button");

    // One click by an administrator applies it.
    d.fake.dispatch(
        "INTERACTION_CREATE",
        crate::fake_discord::events::button_click_with(
            GUILD,
            GENERAL,
            &admin,
            ADMINISTRATOR,
            &apply,
            crate::fake_discord::events::message(GUILD, GENERAL, d.message_id(), &admin, "suggest"),
        ),
    );
    let stored = d
        .eventually("thresholds stored", || async {
            let (s, _) = d.storage().guild_settings(GUILD).await.ok()?;
            s.thresholds.and_then(|t| t.warn)
        })
        .await;
    assert!((stored - warn).abs() < 1e-9, "{stored} vs {warn}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_pages_with_buttons_shows_strikes_and_options_autocomplete() {
    let (mut o, member, _) = options();
    o.settings.moderator_roles = Some(vec![MOD_ROLE]);
    let d = Daemon::start(o).await;
    let m = moderator();
    // A strike from a moderator's timeout, then six notes: seven cases, two pages.
    let r = slash(
        &d,
        &m,
        MANAGE_MESSAGES,
        sub(
            "timeout",
            json!([{"name": "member", "type": 6, "value": member.id.to_string()}]),
        ),
    )
    .await;
    assert!(text(&r).contains("case #1"), "{}", text(&r));
    for i in 0..6 {
        slash(
            &d,
            &m,
            MANAGE_MESSAGES,
            sub(
                "note",
                json!([
                {"name": "member", "type": 6, "value": member.id.to_string()},
                {"name": "text", "type": 3, "value": format!("note {i}")}]),
            ),
        )
        .await;
    }
    let r = slash(
        &d,
        &m,
        MANAGE_MESSAGES,
        sub(
            "history",
            json!([{"name": "user", "type": 6, "value": member.id.to_string()}]),
        ),
    )
    .await;
    let data = callback_data(&r);
    let page = data["content"].as_str().unwrap_or_default().to_owned();
    assert!(page.contains("7 in all, page 1 of 2"), "{page}");
    assert!(
        page.contains("Active strike points: 2.0") && page.contains("fades <t:"),
        "{page}"
    );
    let older = data["components"][0]["components"][0]["custom_id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert_eq!(older, format!("history:{}:1", member.id));
    d.fake.dispatch(
        "INTERACTION_CREATE",
        crate::fake_discord::events::button_click(
            Some(GUILD),
            GENERAL,
            &m,
            &older,
            crate::fake_discord::events::message(GUILD, GENERAL, d.message_id(), &m, "history"),
        ),
    );
    let next = d
        .request("POST", "/interactions/*/*/callback", |r| {
            body(r)["type"] == 7
        })
        .await;
    let page2 = callback_data(&next)["content"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(
        page2.contains("page 2 of 2") && page2.contains("#1 timeout"),
        "{page2}"
    );

    // Autocomplete: setting keys and case numbers.
    d.fake.dispatch(
        "INTERACTION_CREATE",
        crate::fake_discord::events::autocomplete(
            GUILD,
            GENERAL,
            &m,
            MANAGE_MESSAGES,
            "mod",
            json!([{"name": "config", "type": 2, "options": [{"name": "set", "type": 1, "options": [
                {"name": "key", "type": 3, "value": "thresh", "focused": true}]}]}]),
        ),
    );
    let keys = d
        .request("POST", "/interactions/*/*/callback", |r| {
            body(r)["type"] == 8
        })
        .await;
    let choices = body(&keys)["data"]["choices"].to_string();
    assert!(
        choices.contains("thresholds.warn") && !choices.contains("dry_run"),
        "{choices}"
    );
    d.fake.clear_requests();
    d.fake.dispatch(
        "INTERACTION_CREATE",
        crate::fake_discord::events::autocomplete(
            GUILD,
            GENERAL,
            &m,
            MANAGE_MESSAGES,
            "mod",
            json!([{"name": "case", "type": 1, "options": [
                {"name": "number", "type": 4, "value": "", "focused": true}]}]),
        ),
    );
    let cases = d
        .request("POST", "/interactions/*/*/callback", |r| {
            body(r)["type"] == 8
        })
        .await;
    let choices = &body(&cases)["data"]["choices"];
    assert_eq!(choices[0]["value"], 7, "newest first: {choices}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lockdown_survives_a_restart_and_restores_every_overwrite_exactly() {
    const MEMES: u64 = GUILD + 5;
    const SEND: u64 = 1 << 11;
    const SEND_THREADS: u64 = 1 << 38;
    let mut o = Options::default();
    o.settings.moderator_roles = Some(vec![MOD_ROLE]);
    o.settings.lockdown_channels = Some(vec![GENERAL, MEMES]);
    let fake = Daemon::fake(&o).await;
    // #general had an @everyone overwrite of its own; #memes had none.
    let before_general = (GUILD, 0u8, 0x40 | SEND, 0x8000);
    fake.set_overwrite(GENERAL, GUILD, 0, before_general.2, before_general.3);
    let db = std::sync::Arc::new(crate::db::TestDb::new().await);
    db.storage
        .set_guild_settings(GUILD, &o.settings, &crate::base_config(), None)
        .await
        .expect("settings");
    let redis = std::sync::Arc::new(crate::redis_support::TestRedis::new());
    let mut d = Daemon::spawn(fake.clone(), db.clone(), redis.clone(), &o);
    d.until_ready(1).await;
    let m = moderator();
    let lockdown = |state: &str| {
        json!([{"name": "raid", "type": 2, "options": [{"name": "lockdown", "type": 1, "options": [
            {"name": "state", "type": 3, "value": state}]}]}])
    };
    let r = slash(&d, &m, MANAGE_MESSAGES, lockdown("on")).await;
    assert!(text(&r).starts_with("Lockdown on:"), "{}", text(&r));
    assert_eq!(
        fake.overwrites(GENERAL),
        vec![(GUILD, 0, 0x40, 0x8000 | SEND | SEND_THREADS)],
        "sending denied, the rest kept"
    );
    assert_eq!(
        fake.overwrites(MEMES),
        vec![(GUILD, 0, 0, SEND | SEND_THREADS)]
    );

    // A restart in between: what to restore is in Postgres, not in the process.
    d.signal("TERM");
    assert_eq!(
        d.wait_exit(Duration::from_secs(20)).await,
        Some(0),
        "{}",
        d.logs()
    );
    let d2 = Daemon::spawn(fake.clone(), db.clone(), redis, &o);
    d2.until_ready(2).await;
    let r = slash(
        &d2,
        &m,
        MANAGE_MESSAGES,
        json!([{"name": "raid", "type": 2, "options": [{"name": "status", "type": 1, "options": []}]}]),
    )
    .await;
    assert!(
        text(&r).contains(&format!("Locked down: <#{GENERAL}> <#{MEMES}>")),
        "{}",
        text(&r)
    );
    let r = slash(&d2, &m, MANAGE_MESSAGES, lockdown("off")).await;
    assert!(text(&r).starts_with("Lockdown off:"), "{}", text(&r));
    assert_eq!(
        fake.overwrites(GENERAL),
        vec![before_general],
        "restored exactly"
    );
    assert!(
        fake.overwrites(MEMES).is_empty(),
        "the overwrite it never had is gone"
    );
    let audited: Vec<String> = sqlx::query_scalar(
        "SELECT kind FROM audit_log WHERE guild_id = $1 AND kind LIKE 'channel.lockdown%' ORDER BY seq",
    )
    .bind(GUILD as i64)
    .fetch_all(db.storage.pool())
    .await
    .expect("audit");
    assert_eq!(
        audited,
        [
            "channel.lockdown",
            "channel.lockdown",
            "channel.lockdown_lifted",
            "channel.lockdown_lifted"
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_channel_can_have_thresholds_of_its_own() {
    const BANTER: u64 = GUILD + 6;
    let d = Daemon::start(Options::default()).await;
    let admin = Author::new(600_000_000_000_000_558, "admin");
    // Set from the top down, so every step stays ordered.
    for (level, value) in [
        ("ban", "0.995"),
        ("kick", "0.99"),
        ("timeout", "0.985"),
        ("warn", "0.98"),
    ] {
        let r = slash(
            &d,
            &admin,
            ADMINISTRATOR,
            json!([{"name": "config", "type": 2, "options": [{"name": "set", "type": 1, "options": [
                {"name": "key", "type": 3, "value": format!("channel.<#{BANTER}>.thresholds.{level}")},
                {"name": "value", "type": 3, "value": value}]}]}]),
        )
        .await;
        assert!(text(&r).starts_with("Set"), "{}", text(&r));
    }
    // Out of order for the channel: refused, naming the channel.
    let r = slash(
        &d,
        &admin,
        ADMINISTRATOR,
        json!([{"name": "config", "type": 2, "options": [{"name": "set", "type": 1, "options": [
            {"name": "key", "type": 3, "value": format!("channel.{BANTER}.thresholds.warn")},
            {"name": "value", "type": 3, "value": "0.999"}]}]}]),
    )
    .await;
    assert!(
        text(&r).contains("Not changed") && text(&r).contains(&format!("channel.{BANTER}")),
        "{}",
        text(&r)
    );
    let a = Author::new(account_aged(Duration::from_secs(30 * 86_400), 66), "a");
    let b = Author::new(account_aged(Duration::from_secs(30 * 86_400), 67), "b");
    let insult = "you are a stupid idiot";
    d.say(GENERAL, &a, insult);
    let banter_id = d.say(BANTER, &b, insult);
    let general = d
        .eventually("the #general case", || async {
            d.cases()
                .await
                .into_iter()
                .find(|c| c.1 == a.id)
                .map(|c| c.2)
        })
        .await;
    assert_eq!(general, "warn", "the guild's thresholds in #general");
    let banter_row = d.decision_of(banter_id).await;
    assert!(
        banter_row == "none" || banter_row == "delete",
        "no sanction in the laxer channel: {banter_row}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_moderate_menu_offers_the_actions_then_asks_for_the_reason() {
    let (o, member, _) = options();
    let d = Daemon::start(o).await;
    let m = moderator();
    d.fake.dispatch(
        "INTERACTION_CREATE",
        crate::fake_discord::events::user_command(
            GUILD,
            GENERAL,
            &m,
            MANAGE_MESSAGES,
            "Moderate",
            &member,
        ),
    );
    let menu = d
        .request("POST", "/interactions/*/*/callback", |r| {
            body(r)["data"]["components"]
                .to_string()
                .contains("moderate:")
        })
        .await;
    let timeout = body(&menu)["data"]["components"][0]["components"]
        .as_array()
        .and_then(|b| {
            b.iter()
                .filter_map(|b| b["custom_id"].as_str())
                .find(|id| id.starts_with("moderate:timeout:"))
                .map(str::to_owned)
        })
        .expect("Timeout button");
    assert_eq!(timeout, format!("moderate:timeout:{}", member.id));
    d.fake.dispatch(
        "INTERACTION_CREATE",
        crate::fake_discord::events::button_click_with(
            GUILD,
            GENERAL,
            &m,
            MANAGE_MESSAGES,
            &timeout,
            crate::fake_discord::events::message(GUILD, GENERAL, d.message_id(), &m, "menu"),
        ),
    );
    let form = d
        .request("POST", "/interactions/*/*/callback", |r| {
            body(r)["type"] == 9
        })
        .await;
    let form_id = callback_data(&form)["custom_id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert_eq!(form_id, format!("moderate-form:timeout:{}", member.id));
    let mut submit = crate::fake_discord::events::modal_submit(
        Some(GUILD),
        GENERAL,
        &m,
        &form_id,
        &[("reason", "flooding the channel"), ("duration", "2h")],
    );
    submit["member"]["permissions"] = json!(MANAGE_MESSAGES.to_string());
    d.fake.dispatch("INTERACTION_CREATE", submit);
    let done = d
        .request("POST", "/interactions/*/*/callback", |r| {
            body(r)["data"]["content"]
                .as_str()
                .is_some_and(|c| c.contains("timed out for 2h"))
        })
        .await;
    assert!(callback_data(&done)["content"]
        .to_string()
        .contains("case #1"));
    let (action, reason): (String, String) =
        sqlx::query_as("SELECT action, reason FROM moderation_cases WHERE case_no = 1")
            .fetch_one(d.storage().pool())
            .await
            .expect("case");
    assert_eq!(action, "timeout");
    assert!(reason.contains("flooding the channel"), "{reason}");
}
