//! Messages in, actions out: deletion, timeouts, escalation, exemptions, dry-run.

use std::time::Duration;

use crate::fake_discord::events::Author;
use crate::harness::*;

const INSULT: &str = "i will kill you, you stupid bitch";

fn newcomer(seq: u64) -> Author {
    Author::new(account_aged(Duration::from_secs(3 * 3600), seq), "newcomer")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn toxic_message_is_deleted_and_timed_out_with_case_audit_and_mod_log() {
    let d = Daemon::start(Options::default()).await;
    let author = newcomer(1);
    let msg = d.say(GENERAL, &author, INSULT);

    let delete = d
        .request(
            "DELETE",
            &format!("/channels/{GENERAL}/messages/{msg}"),
            |_| true,
        )
        .await;
    let reason = delete.audit_reason().unwrap_or_default();
    assert!(reason.starts_with("usmca-bot case #1:"), "{reason}");
    assert!(
        reason.contains("toxic"),
        "the reason carries the scores: {reason}"
    );
    assert!(reason.chars().count() <= 512);

    let timeout = d
        .request(
            "PATCH",
            &format!("/guilds/{GUILD}/members/{}", author.id),
            |_| true,
        )
        .await;
    let until = body(&timeout)["communication_disabled_until"]
        .as_str()
        .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
        .expect("a timeout end");
    let minutes = (until.with_timezone(&chrono::Utc) - chrono::Utc::now()).num_minutes();
    assert!(
        (8..=10).contains(&minutes),
        "first step of the ladder is 10m, got {minutes}m"
    );
    assert!(timeout.audit_reason().is_some());

    let post = d
        .request("POST", &format!("/channels/{MOD_LOG}/messages"), |_| true)
        .await;
    let embed = &body(&post)["embeds"][0];
    assert_eq!(embed["title"], "Case #1 · timeout (10m)");
    let fields = embed["fields"].to_string();
    assert!(
        fields.contains(&author.id.to_string()) && fields.contains("toxic"),
        "{fields}"
    );
    let buttons = body(&post)["components"][0]["components"].to_string();
    assert!(
        buttons.contains("Reverse") && buttons.contains("Confirm"),
        "{buttons}"
    );

    // The member hears about it with an Appeal button (DM).
    let dm = d
        .request("POST", "/channels/*/messages", |r| {
            body(r)["content"]
                .as_str()
                .is_some_and(|c| c.contains("timed out for 10m"))
        })
        .await;
    assert!(body(&dm)["components"].to_string().contains("appeal:"));

    let cases = d
        .eventually("case applied", || async {
            let c = d.cases().await;
            (c.first().map(|c| c.3.as_str()) == Some("applied")).then_some(c)
        })
        .await;
    assert_eq!(cases.len(), 1);
    assert_eq!((cases[0].1, cases[0].2.as_str()), (author.id, "timeout"));
    let audit: Vec<String> =
        sqlx::query_scalar("SELECT kind FROM audit_log WHERE guild_id = $1 ORDER BY seq")
            .bind(GUILD as i64)
            .fetch_all(d.storage().pool())
            .await
            .expect("audit rows");
    assert!(audit.contains(&"case.created".to_string()), "{audit:?}");
    assert!(d.storage().verify_audit(Some(GUILD)).await.is_ok());
    // The message row is written too (batched), with its decision.
    let decision: String = d
        .eventually("message row", || async {
            sqlx::query_scalar("SELECT decision FROM messages WHERE message_id = $1")
                .bind(msg as i64)
                .fetch_optional(d.storage().pool())
                .await
                .ok()
                .flatten()
        })
        .await;
    assert_eq!(decision, "timeout");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clean_messages_are_left_alone() {
    let d = Daemon::start(Options::default()).await;
    let author = newcomer(2);
    for text in [
        "good morning everyone",
        "has anyone tried the new patch?",
        "thanks, that helped",
    ] {
        d.say(GENERAL, &author, text);
    }
    d.eventually("three rows", || async {
        (d.message_rows().await == 3).then_some(())
    })
    .await;
    assert!(d.cases().await.is_empty());
    assert!(d
        .fake
        .requests_to("DELETE", "/channels/*/messages/*")
        .is_empty());
    assert!(d
        .fake
        .requests_to("PATCH", "/guilds/*/members/*")
        .is_empty());
}
