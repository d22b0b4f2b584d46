//! Reliability: reversals recorded only after Discord's undo, exemptions for every automatic
//! action, over-budget actions that wait, reloads that say what they could not apply.

use std::time::Duration;

use serde_json::json;

use crate::fake_discord::events::Author;
use crate::fake_discord::Fault;
use crate::harness::*;

const THREAT: &str = "i will kill you, you stupid bitch";

fn offender(seq: u64) -> Author {
    Author::new(account_aged(Duration::from_secs(2 * 3600), seq), "offender")
}

fn admin() -> Author {
    Author::new(600_000_000_000_000_777, "admin")
}

/// A case's (status, reversed_by) by number.
async fn case_state(d: &Daemon, case_no: i64) -> (String, Option<i64>) {
    sqlx::query_as(
        "SELECT status, reversed_by FROM moderation_cases WHERE guild_id = $1 AND case_no = $2",
    )
    .bind(GUILD as i64)
    .bind(case_no)
    .fetch_one(d.storage().pool())
    .await
    .expect("case")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reversal_discord_refuses_leaves_the_case_as_it_was_and_can_be_retried() {
    let d = Daemon::start(Options::default()).await;
    let who = offender(31);
    d.say(GENERAL, &who, THREAT);
    d.eventually("timeout applied", || async {
        let c = d.cases().await;
        (c.first().map(|c| (c.2.as_str(), c.3.as_str())) == Some(("timeout", "applied")))
            .then_some(())
    })
    .await;
    let pardon = || {
        json!([{"name": "pardon", "type": 1, "options": [
        {"name": "case", "type": 4, "value": 1}, {"name": "reason", "type": 3, "value": "misread"}]}])
    };

    // Discord refuses to lift the timeout: the moderator is told why, the case is unchanged.
    d.fake.fail_next(
        "PATCH",
        "/guilds/*/members/*",
        1,
        Fault::missing_permissions(),
    );
    let r = slash(&d, &admin(), ADMINISTRATOR, pardon()).await;
    let text = callback_data(&r)["content"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(
        text.contains("Could not reverse case #1")
            && text.contains("Missing Permissions")
            && text.contains("unchanged"),
        "{text}"
    );
    assert_eq!(case_state(&d, 1).await, ("applied".to_string(), None));
    let refused: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM audit_log WHERE guild_id = $1 AND kind = 'case.reverse_failed'",
    )
    .bind(GUILD as i64)
    .fetch_one(d.storage().pool())
    .await
    .expect("audit");
    assert_eq!(refused, 1, "the refusal is in the audit trail");

    // Once Discord accepts, the same command reverses it.
    let r = slash(&d, &admin(), ADMINISTRATOR, pardon()).await;
    let text = callback_data(&r)["content"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(text.contains("is reversed"), "{text}");
    let (status, by) = case_state(&d, 1).await;
    assert_eq!(status, "reversed");
    assert_eq!(by, Some(admin().id as i64));
    let lifts: Vec<_> = d
        .fake
        .requests_to("PATCH", &format!("/guilds/{GUILD}/members/{}", who.id))
        .into_iter()
        .filter(|r| body(r)["communication_disabled_until"].is_null())
        .collect();
    assert_eq!(lifts.len(), 2, "one refused lift, one accepted");
    assert_eq!(lifts[1].status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_raid_sweep_spares_exempt_users_and_roles() {
    const TRUSTED_ROLE: u64 = GUILD + 20;
    let raiders: Vec<Author> = (0..12)
        .map(|i| Author::new(account_aged(Duration::from_secs(86_400), 500 + i), "raider"))
        .collect();
    let mut opts = Options::default();
    opts.settings.exemptions = Some(usmca_bot::domain::ExemptionOverrides {
        users: Some(vec![raiders[0].id]),
        roles: Some(vec![TRUSTED_ROLE]),
        channels: None,
    });
    let d = Daemon::start(opts).await;
    // The second raider joins with the exempt role (granted on join).
    let with_role = raiders[1].clone().with_roles(&[TRUSTED_ROLE]);
    for (i, r) in raiders.iter().enumerate() {
        let who = if i == 1 { &with_role } else { r };
        d.fake.dispatch(
            "GUILD_MEMBER_ADD",
            crate::fake_discord::events::guild_member_add(GUILD, who),
        );
    }
    // Everyone else is timed out by the sweep.
    for r in &raiders[2..] {
        d.request(
            "PATCH",
            &format!("/guilds/{GUILD}/members/{}", r.id),
            |_| true,
        )
        .await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    for r in &raiders[..2] {
        assert!(
            d.fake
                .requests_to("PATCH", &format!("/guilds/{GUILD}/members/{}", r.id))
                .is_empty(),
            "exempt raider {} was timed out\n{}",
            r.id,
            d.logs()
        );
    }
    let spared: i64 =
        sqlx::query_scalar("SELECT count(*) FROM moderation_cases WHERE user_id = ANY($1)")
            .bind(vec![raiders[0].id as i64, raiders[1].id as i64])
            .fetch_one(d.storage().pool())
            .await
            .expect("cases");
    assert_eq!(spared, 0, "no case against an exempt member");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reload_names_the_keys_that_wait_for_a_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("usmca.toml");
    std::fs::write(&file, "[thresholds]\nwarn = 0.5\n").expect("write config");
    let mut opts = Options::default();
    opts.env
        .push(("USMCA_CONFIG".into(), file.display().to_string()));
    let d = Daemon::start(opts).await;
    std::fs::write(
        &file,
        "[thresholds]\nwarn = 0.55\n[limits]\nactions_per_minute = 3\n[enforcement]\nban_delete_messages = \"3d\"\n",
    )
    .expect("write config");
    d.signal("HUP");
    d.eventually("reload logged", || async {
        d.logs().contains("decision policy updated").then_some(())
    })
    .await;
    let logs = d.logs();
    for key in [
        "limits.actions_per_minute",
        "enforcement.ban_delete_messages",
    ] {
        assert!(
            logs.contains(&format!("{key} changed; takes effect after a restart")),
            "no warning for {key}:\n{logs}"
        );
    }
    assert!(!logs.contains("thresholds.warn changed; takes effect after a restart"));
    let r = slash(
        &d,
        &admin(),
        ADMINISTRATOR,
        json!([{"name": "status", "type": 1, "options": []}]),
    )
    .await;
    let text = callback_data(&r)["content"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(
        text.contains(
            "Restart pending: enforcement.ban_delete_messages, limits.actions_per_minute"
        ),
        "{text}"
    );
}

/// The `case_no` values of the log lines containing `what`, in log order.
fn case_numbers(logs: &str, what: &str) -> Vec<i64> {
    logs.lines()
        .filter(|l| l.contains(what))
        .filter_map(|l| {
            l.split_whitespace()
                .find_map(|w| w.strip_prefix("case_no="))
                .and_then(|n| n.parse().ok())
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn actions_over_the_budget_wait_and_run_oldest_first() {
    let mut opts = Options::default();
    for (k, v) in [
        ("USMCA_LIMITS__ACTIONS_PER_MINUTE", "60"),
        // New accounts posting one threat each: no brigade response muddles the count.
        ("USMCA_BRIGADE__DUPLICATE_COUNT", "1000"),
        ("USMCA_BRIGADE__COORDINATED_COUNT", "1000"),
        ("USMCA_BRIGADE__HARASSMENT_COUNT", "1000"),
    ] {
        opts.env.push((k.into(), v.into()));
    }
    let d = Daemon::start(opts).await;
    let offenders: Vec<Author> = (0..66)
        .map(|i| {
            Author::new(
                account_aged(Duration::from_secs(2 * 3600), 800 + i),
                "offender",
            )
        })
        .collect();
    for o in &offenders {
        d.say(GENERAL, o, THREAT);
    }
    let cases = d
        .eventually("every case applied", || async {
            let c = d.cases().await;
            (c.len() == offenders.len() && c.iter().all(|c| c.3 == "applied")).then_some(c)
        })
        .await;
    assert!(cases.iter().all(|c| c.2 == "timeout"), "{cases:?}");
    // Each offender timed out exactly once.
    for o in &offenders {
        let n = d
            .fake
            .requests_to("PATCH", &format!("/guilds/{GUILD}/members/{}", o.id))
            .len();
        assert_eq!(n, 1, "offender {} timed out {n} times", o.id);
    }
    let logs = d.logs();
    let queued = case_numbers(&logs, "action over the guild's budget queued");
    let ran = case_numbers(&logs, "waiting action executed");
    assert!(
        queued.len() >= 6,
        "60 a minute: at least 6 of 66 wait ({queued:?})"
    );
    assert_eq!(
        ran, queued,
        "waiting actions run in the order they were queued"
    );
}
