//! Moderators and members through interactions: `/mod`, "Check toxicity", appeals.

use std::time::Duration;

use serde_json::json;

use crate::fake_discord::events::{self, Author};
use crate::harness::*;

const THREAT: &str = "i will kill you, you stupid bitch";

/// A long-standing member (account from 2019) who administers the server.
const ADMIN_ID: u64 = 600_000_000_000_000_900;

fn admin() -> Author {
    Author::new(ADMIN_ID, "admin")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mod_status_is_answered_ephemerally_with_health() {
    let d = Daemon::start(Options::default()).await;
    let r = slash(
        &d,
        &admin(),
        ADMINISTRATOR,
        json!([{"name": "status", "type": 1, "options": []}]),
    )
    .await;
    assert_eq!(body(&r)["type"], 4, "answered directly, not deferred");
    let data = callback_data(&r);
    assert_eq!(data["flags"], 64, "ephemeral");
    let text = data["content"].as_str().unwrap_or_default();
    for want in [
        "Model `toxblock-lstm`",
        "Postgres: ok",
        "Redis: ok",
        "shard 0",
        "Dry-run in this server: off",
    ] {
        assert!(text.contains(want), "missing {want:?} in:\n{text}");
    }
    // A member without moderator rights is refused.
    let member = Author::new(account_aged(Duration::from_secs(86_400), 901), "member");
    let r = slash(
        &d,
        &member,
        0,
        json!([{"name": "status", "type": 1, "options": []}]),
    )
    .await;
    let text = callback_data(&r)["content"].to_string();
    assert!(text.contains("Manage Messages"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn config_set_validates_applies_and_audits() {
    let d = Daemon::start(Options::default()).await;
    let set = |k: &str, v: &str| {
        json!([{"name": "config", "type": 2, "options": [
            {"name": "set", "type": 1, "options": [
                {"name": "key", "type": 3, "value": k}, {"name": "value", "type": 3, "value": v}]}]}])
    };
    // Out of order: refused with the rule, nothing stored.
    let r = slash(&d, &admin(), ADMINISTRATOR, set("thresholds.warn", "0.9")).await;
    let text = callback_data(&r)["content"].to_string();
    assert!(
        text.contains("Not changed") && text.contains("thresholds.warn"),
        "{text}"
    );
    // A notice template with a variable that does not exist: refused, naming the valid ones.
    let r = slash(
        &d,
        &admin(),
        ADMINISTRATOR,
        set("notices.warn", "warned, score {score}"),
    )
    .await;
    let text = callback_data(&r)["content"].to_string();
    assert!(
        text.contains("Not changed") && text.contains("{score}") && text.contains("{why}"),
        "{text}"
    );
    // The notices' language: accepted, and shown by /mod config show.
    let r = slash(&d, &admin(), ADMINISTRATOR, set("notices.locale", "pt-BR")).await;
    let text = callback_data(&r)["content"].to_string();
    assert!(text.contains("Set `notices.locale`"), "{text}");
    let r = slash(
        &d,
        &admin(),
        ADMINISTRATOR,
        json!([{"name": "config", "type": 2, "options": [{"name": "show", "type": 1, "options": []}]}]),
    )
    .await;
    let text = callback_data(&r)["content"].to_string();
    assert!(
        text.contains("notices: language pt (set with notices.locale)")
            && text.contains("delete_at 0.985"),
        "{text}"
    );
    // Moderators may not change settings.
    let moderator = admin().with_roles(&[MOD_ROLE]);
    let r = slash(&d, &moderator, MANAGE_MESSAGES, set("dry_run", "on")).await;
    assert!(callback_data(&r)["content"]
        .to_string()
        .contains("Only administrators"));
    // Dry-run on through /mod dryrun: the next toxic message is only recorded.
    let r = slash(
        &d,
        &admin(),
        ADMINISTRATOR,
        json!([{"name": "dryrun", "type": 1, "options": [{"name": "state", "type": 3, "value": "on"}]}]),
    )
    .await;
    assert!(callback_data(&r)["content"]
        .to_string()
        .contains("Dry-run is on"));
    let offender = Author::new(account_aged(Duration::from_secs(3600), 902), "offender");
    d.say(GENERAL, &offender, THREAT);
    let cases = d
        .eventually("dry-run case", || async {
            let c = d.cases().await;
            (!c.is_empty()).then_some(c)
        })
        .await;
    assert!(cases[0].4, "recorded as dry run");
    d.assert_no_enforcement();
    let audited: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM audit_log WHERE kind = 'guild.settings' AND actor_id = $1",
    )
    .bind(admin().id as i64)
    .fetch_one(d.storage().pool())
    .await
    .expect("audit count");
    assert_eq!(
        audited, 2,
        "the changes (notices.locale, dry-run) are in the audit trail with who made them"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_toxicity_context_menu_scores_the_message() {
    let d = Daemon::start(Options::default()).await;
    let moderator = admin().with_roles(&[MOD_ROLE]);
    let target = events::message(
        GUILD,
        GENERAL,
        d.message_id(),
        &Author::new(5, "someone"),
        "you are a stupid idiot",
    );
    d.fake.dispatch(
        "INTERACTION_CREATE",
        events::message_command(
            GUILD,
            GENERAL,
            &moderator,
            MANAGE_MESSAGES,
            "Check toxicity",
            target,
        ),
    );
    let r = d
        .request("POST", "/interactions/*/*/callback", |_| true)
        .await;
    let text = callback_data(&r)["content"].to_string();
    assert!(text.contains("insult") && text.contains("toxic"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn appeal_approved_lifts_the_timeout() {
    let mut opts = Options::default();
    opts.settings.moderator_roles = Some(vec![MOD_ROLE]);
    let d = Daemon::start(opts).await;
    let member = Author::new(account_aged(Duration::from_secs(3 * 3600), 903), "member");
    d.say(GENERAL, &member, THREAT);
    d.request(
        "PATCH",
        &format!("/guilds/{GUILD}/members/{}", member.id),
        |r| body(r)["communication_disabled_until"].is_string(),
    )
    .await;

    // The DM carries the Appeal button.
    let dm = d
        .request("POST", "/channels/*/messages", |r| {
            body(r)["components"].to_string().contains("appeal:")
        })
        .await;
    let custom_id = body(&dm)["components"][0]["components"][0]["custom_id"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let dm_channel: u64 = dm
        .path
        .split('/')
        .nth(4)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let dm_message = events::dm_message(
        dm_channel,
        d.message_id(),
        &Author::new(900_000_000_000_000_001, "usmca-bot"),
        "notice",
    );

    // Clicking it opens the appeal form (a modal).
    d.fake.dispatch(
        "INTERACTION_CREATE",
        events::button_click(None, dm_channel, &member, &custom_id, dm_message),
    );
    let modal = d
        .request("POST", "/interactions/*/*/callback", |r| {
            body(r)["type"] == 9
        })
        .await;
    let modal_id = callback_data(&modal)["custom_id"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(modal_id.starts_with("appeal-modal:"), "{modal_id}");

    // Submitting it stores the appeal and posts it for review.
    d.fake.dispatch(
        "INTERACTION_CREATE",
        events::modal_submit(
            None,
            dm_channel,
            &member,
            &modal_id,
            &[("appeal_text", "I was quoting a film, sorry.")],
        ),
    );
    let ack = d
        .request("POST", "/interactions/*/*/callback", |r| {
            callback_data(r)["content"].to_string().contains("received")
        })
        .await;
    assert_eq!(body(&ack)["type"], 4);
    let review = d
        .request("POST", &format!("/channels/{APPEALS}/messages"), |_| true)
        .await;
    let approve = body(&review)["components"][0]["components"][0]["custom_id"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(approve.starts_with("appeal-approve:"), "{approve}");
    assert!(body(&review)["embeds"][0]["description"]
        .to_string()
        .contains("quoting a film"));
    // A second appeal for the same case is refused while one is open.
    d.fake.dispatch(
        "INTERACTION_CREATE",
        events::modal_submit(
            None,
            dm_channel,
            &member,
            &modal_id,
            &[("appeal_text", "again")],
        ),
    );
    d.request("POST", "/interactions/*/*/callback", |r| {
        callback_data(r)["content"]
            .to_string()
            .contains("already have an open appeal")
    })
    .await;

    // A moderator approves: the timeout is lifted, the case reversed, the member told.
    let moderator = admin().with_roles(&[MOD_ROLE]);
    let sent = d.fake.dispatch(
        "INTERACTION_CREATE",
        events::button_click(
            Some(GUILD),
            APPEALS,
            &moderator,
            &approve,
            events::message(
                GUILD,
                APPEALS,
                d.message_id(),
                &Author::new(900_000_000_000_000_001, "usmca-bot"),
                "appeal",
            ),
        ),
    );
    assert_eq!(sent, 1);
    d.request(
        "PATCH",
        &format!("/guilds/{GUILD}/members/{}", member.id),
        |r| body(r)["communication_disabled_until"].is_null(),
    )
    .await;
    let status: String = d
        .eventually("case reversed", || async {
            sqlx::query_scalar("SELECT status FROM moderation_cases WHERE case_no = 1")
                .fetch_optional(d.storage().pool())
                .await
                .ok()
                .flatten()
                .filter(|s: &String| s == "reversed")
        })
        .await;
    assert_eq!(status, "reversed");
    d.request("POST", "/channels/*/messages", |r| {
        body(r)["content"].to_string().contains("was approved")
    })
    .await;
    let appeal: (String, Option<i64>) = sqlx::query_as("SELECT status, reviewer_id FROM appeals")
        .fetch_one(d.storage().pool())
        .await
        .expect("appeal row");
    assert_eq!(appeal, ("accepted".to_string(), Some(moderator.id as i64)));
    assert!(d.storage().verify_audit(Some(GUILD)).await.is_ok());

    // The reversed case's strike is gone: the next offence starts the ladder again (10m, not 1h).
    tokio::time::sleep(Duration::from_millis(1_200)).await;
    d.say(GENERAL, &member, THREAT);
    let again = d
        .request(
            "PATCH",
            &format!("/guilds/{GUILD}/members/{}", member.id),
            |r| body(r)["communication_disabled_until"].is_string() && r.at > ack.at,
        )
        .await;
    let until = body(&again)["communication_disabled_until"]
        .as_str()
        .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
        .map(|t| (t.with_timezone(&chrono::Utc) - chrono::Utc::now()).num_minutes());
    assert!(until.is_some_and(|m| m <= 10), "{until:?}");
}
