//! Discord misbehaving, the gateway reconnecting, and shutdown mid-stream.

use std::time::Duration;

use crate::fake_discord::events::Author;
use crate::fake_discord::Fault;
use crate::harness::*;

const THREAT: &str = "i will kill you, you stupid bitch";

fn offender(seq: u64) -> Author {
    Author::new(account_aged(Duration::from_secs(2 * 3600), seq), "offender")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limited_action_is_retried_after_retry_after() {
    let d = Daemon::start(Options::default()).await;
    d.fake.fail_next(
        "PATCH",
        "/guilds/*/members/*",
        1,
        Fault::RateLimited { retry_after: 0.4 },
    );
    let who = offender(1);
    d.say(GENERAL, &who, THREAT);
    let member = format!("/guilds/{GUILD}/members/{}", who.id);
    let ok = d.request("PATCH", &member, |r| r.status < 300).await;
    let attempts = d.fake.requests_to("PATCH", &member);
    assert_eq!(attempts.len(), 2, "one 429, then the retry");
    assert_eq!(attempts[0].status, 429);
    assert!(
        ok.at.duration_since(attempts[0].at) >= Duration::from_millis(350),
        "waited retry_after"
    );
    d.eventually("case applied", || async {
        let c = d.cases().await;
        (c.first().map(|c| c.3.as_str()) == Some("applied")).then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forbidden_action_fails_the_case_once_without_retrying() {
    let d = Daemon::start(Options::default()).await;
    d.fake.fail_next(
        "PATCH",
        "/guilds/*/members/*",
        100,
        Fault::missing_permissions(),
    );
    let (a, b) = (offender(2), offender(3));
    d.say(GENERAL, &a, THREAT);
    d.say(GENERAL, &b, THREAT);
    let cases = d
        .eventually("two failed cases", || async {
            let c = d.cases().await;
            (c.len() == 2 && c.iter().all(|c| c.3 == "failed")).then_some(c)
        })
        .await;
    assert!(cases.iter().all(|c| c.2 == "timeout"));
    let note: Option<String> =
        sqlx::query_scalar("SELECT error_note FROM moderation_cases WHERE case_no = 1")
            .fetch_one(d.storage().pool())
            .await
            .expect("note");
    assert!(note.is_some_and(|n| n.contains("403")));
    // The mod log says it failed.
    d.request("POST", &format!("/channels/{MOD_LOG}/messages"), |r| {
        body(r)["embeds"][0]["title"]
            .as_str()
            .is_some_and(|t| t.contains("FAILED"))
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    // One attempt per action: a 403 is never retried; nobody was told of a timeout that did not happen.
    assert_eq!(d.fake.requests_to("PATCH", "/guilds/*/members/*").len(), 2);
    assert!(d.fake.requests_to("POST", "/users/@me/channels").is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_errors_are_retried_with_backoff() {
    let d = Daemon::start(Options::default()).await;
    d.fake
        .fail_next("DELETE", "/channels/*/messages/*", 2, Fault::ServerError);
    let who = offender(4);
    let msg = d.say(GENERAL, &who, THREAT);
    let path = format!("/channels/{GENERAL}/messages/{msg}");
    d.request("DELETE", &path, |r| r.status < 300).await;
    let statuses: Vec<u16> = d
        .fake
        .requests_to("DELETE", &path)
        .iter()
        .map(|r| r.status)
        .collect();
    assert_eq!(statuses, vec![500, 500, 204]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconnect_request_resumes_and_moderation_continues() {
    let d = Daemon::start(Options::default()).await;
    assert_eq!(d.fake.reconnect_shard(0), 1);
    d.eventually("RESUME sent", || async {
        (!d.fake.gateway_commands_with(6).is_empty()).then_some(())
    })
    .await;
    assert!(d.fake.wait_for_shards(1, WAIT).await);
    let who = offender(5);
    let msg = d
        .eventually("message delivered after the resume", || async {
            // Dispatch only once the resumed session is registered again.
            (d.fake.shard_count_connected() == 1).then(|| d.say(GENERAL, &who, THREAT))
        })
        .await;
    d.request(
        "DELETE",
        &format!("/channels/{GENERAL}/messages/{msg}"),
        |_| true,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_mid_stream_loses_no_accepted_message() {
    let mut d = Daemon::start(Options::default()).await;
    let author = Author::new(account_aged(Duration::from_secs(90 * 86_400), 6), "chatty");
    for i in 0..150 {
        d.say(
            GENERAL,
            &author,
            &format!("message number {i} about the weekend plans"),
        );
    }
    // Stop while messages are still being classified and written.
    d.eventually("some messages in", || async {
        (d.message_rows().await > 0 || d.logs().contains("decided")).then_some(())
    })
    .await;
    d.signal("TERM");
    let code = d.wait_exit(Duration::from_secs(30)).await;
    assert_eq!(code, Some(0), "clean exit:\n{}", d.logs());
    let logs = d.logs();
    let line = logs
        .lines()
        .find(|l| l.contains("shutdown complete"))
        .unwrap_or_else(|| panic!("no shutdown line:\n{logs}"))
        .to_string();
    let field = |name: &str| -> i64 {
        line.split(&format!("{name}="))
            .nth(1)
            .and_then(|r| r.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(-1)
    };
    let accepted = field("accepted");
    assert!(accepted > 0, "{line}");
    assert_eq!(
        field("processed"),
        accepted,
        "every accepted message finished: {line}"
    );
    assert_eq!(
        d.message_rows().await,
        accepted,
        "every accepted message is stored"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closed_dms_fall_back_to_a_mention_in_the_channel() {
    let d = Daemon::start(Options::default()).await;
    // The first message the bot posts is the DM notice: the member does not accept DMs.
    d.fake
        .fail_next("POST", "/channels/*/messages", 1, Fault::cannot_dm());
    let who = offender(7);
    d.say(GENERAL, &who, THREAT);
    let mention = d
        .request("POST", &format!("/channels/{GENERAL}/messages"), |_| true)
        .await;
    let b = body(&mention);
    assert!(
        b["content"]
            .as_str()
            .is_some_and(|c| c.starts_with(&format!("<@{}>", who.id))),
        "{b}"
    );
    assert_eq!(
        b["allowed_mentions"]["users"],
        serde_json::json!([who.id.to_string()])
    );
    assert_eq!(
        b["allowed_mentions"]["parse"],
        serde_json::json!([]),
        "nobody else is pinged"
    );
    assert!(b["components"].to_string().contains("appeal:"), "{b}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn moderator_commands_are_rate_limited_per_user() {
    let mut opts = Options::default();
    opts.env
        .push(("USMCA_LIMITS__COMMANDS_PER_MINUTE".into(), "2".into()));
    let d = Daemon::start(opts).await;
    let admin = Author::new(600_000_000_000_000_777, "admin");
    let status = serde_json::json!([{"name": "status", "type": 1, "options": []}]);
    for _ in 0..3 {
        d.fake.dispatch(
            "INTERACTION_CREATE",
            crate::fake_discord::events::slash_command(
                GUILD,
                GENERAL,
                &admin,
                ADMINISTRATOR,
                "mod",
                status.clone(),
            ),
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let answers = d
        .eventually("three answers", || async {
            let a = d.fake.requests_to("POST", "/interactions/*/*/callback");
            (a.len() == 3).then_some(a)
        })
        .await;
    let texts: Vec<String> = answers
        .iter()
        .map(|r| body(r)["data"]["content"].to_string())
        .collect();
    assert!(texts[..2].iter().all(|t| t.contains("Model")), "{texts:?}");
    assert!(texts[2].contains("too fast"), "{texts:?}");
}
