//! End-to-end scenarios through the `Pipeline` with the bundled model on real Davidson tweets
//! (`tests/fixtures/davidson-brain.csv`), synthetic authors and timestamps.

use crate::common::*;
use chrono::{DateTime, Utc};
use std::collections::BTreeSet;
use std::sync::Arc;
use usmca_bot::behaviour::snowflake_at;
use usmca_bot::brigade::IncidentUpdate;
use usmca_bot::classifier::Classifier;
use usmca_bot::decision::Action;
use usmca_bot::pipeline::{JoinEvent, MessageEvent, Outcome, Pipeline};
use usmca_bot::state::MemoryState;

type TestResult = Result<(), Box<dyn std::error::Error>>;

const GUILD: u64 = 1_000;
const CHANNEL: u64 = 2_000;

struct Tweets {
    clean: Vec<String>,
    insult: Vec<String>,
    slur: String,
}

fn tweets() -> Result<Tweets, Box<dyn std::error::Error>> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/davidson-brain.csv"
    );
    let mut rd = csv::ReaderBuilder::new()
        .comment(Some(b'#'))
        .from_path(path)?;
    let (mut clean, mut insult, mut slur) = (Vec::new(), Vec::new(), None);
    for row in rd.records() {
        let row = row?;
        let (kind, text) = (
            row.get(0).unwrap_or(""),
            row.get(3).unwrap_or("").to_string(),
        );
        match kind {
            "clean" => clean.push(text),
            "insult" => insult.push(text),
            "slur" => slur = Some(text),
            other => return Err(format!("unknown kind {other:?}").into()),
        }
    }
    let slur = slur.ok_or("fixture has no slur row")?;
    assert!(clean.len() >= 20 && insult.len() >= 10);
    Ok(Tweets {
        clean,
        insult,
        slur,
    })
}

fn pipeline(dry_run: bool) -> Pipeline {
    let mut cfg = default_config();
    cfg.model.dir = concat!(env!("CARGO_MANIFEST_DIR"), "/models/toxblock-lstm").into();
    cfg.enforcement.dry_run = dry_run;
    let classifier = match Classifier::load(&cfg.model) {
        Ok(c) => c,
        Err(e) => panic!("cannot load the bundled model (run scripts/setup-onnxruntime.sh): {e}"),
    };
    Pipeline::new(classifier, Arc::new(MemoryState::new()), policy(&cfg))
}

fn at(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or_default()
}

struct Member {
    id: u64,
    joined_ms: i64,
    moderator: bool,
}

impl Member {
    fn veteran(n: u64) -> Self {
        Self {
            id: snowflake_at(T0 - 800 * DAY, n),
            joined_ms: T0 - 700 * DAY,
            moderator: false,
        }
    }
}

static NEXT_ID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

fn message(m: &Member, text: &str, at_ms: i64) -> MessageEvent {
    MessageEvent {
        guild_id: GUILD,
        channel_id: CHANNEL,
        message_id: NEXT_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
        author_id: m.id,
        author_roles: vec![],
        author_is_moderator: m.moderator,
        author_joined_at: Some(at(m.joined_ms)),
        author_default_avatar: false,
        content: text.to_string(),
        created_at: at(at_ms),
        edited: false,
        reply_to_author: None,
        mentions: vec![],
        role_mentions: vec![],
        attachments: 0,
    }
}

/// 200 clean messages, two hours apart, ending just before `T0`.
async fn clean_history(p: &Pipeline, m: &Member, t: &Tweets) -> TestResult {
    for i in 0..200 {
        let text = &t.clean[i % t.clean.len()];
        let o = p
            .on_message(message(m, text, T0 - (200 - i as i64) * 2 * HOUR))
            .await?;
        assert_eq!(
            o.decision.action,
            Action::None,
            "clean tweet punished: {text:?} {:?}",
            o.behaviour
        );
    }
    Ok(())
}

fn trace(o: &Outcome) -> String {
    format!(
        "{:.3} sev {:.3} -> {} {:?} {:?}",
        o.behaviour.score,
        o.behaviour.severity,
        o.decision.action.as_str(),
        o.decision.timeout_secs,
        o.decision.note
    )
}

#[tokio::test]
async fn veteran_insult_is_deleted_and_at_most_a_warning_then_escalation_times_out_longer(
) -> TestResult {
    let t = tweets()?;
    let p = pipeline(false);
    let m = Member::veteran(1);
    clean_history(&p, &m, &t).await?;

    let first = p
        .on_message(message(&m, &t.insult[t.insult.len() - 2], T0 + MIN))
        .await?;
    assert!(
        first.behaviour.severity > 0.9,
        "model should find it toxic: {}",
        trace(&first)
    );
    assert!(
        first.decision.action.rank() <= Action::Warn.rank(),
        "{}",
        trace(&first)
    );
    // The clean record softens the sanction; it never keeps an abusive message up.
    assert_eq!(
        first.decision.delete_message,
        first.behaviour.severity >= p.policy().delete_at,
        "{}",
        trace(&first)
    );
    assert!(
        first.behaviour.severity >= p.policy().delete_at,
        "the fixture's insult is above delete_at: {}",
        trace(&first)
    );
    assert!(
        first
            .behaviour
            .factors
            .iter()
            .any(|f| f.name == "clean history" && f.contribution < 0.0),
        "{:?}",
        first.behaviour.factors
    );

    // Ten more minutes of insults, one a minute, getting nastier.
    let mut timeouts = Vec::new();
    let mut log = vec![trace(&first)];
    for (i, text) in t.insult.iter().enumerate().take(10) {
        let o = p
            .on_message(message(&m, text, T0 + (2 + i as i64) * MIN))
            .await?;
        log.push(trace(&o));
        assert!(
            o.decision.action.rank() <= Action::Timeout.rank(),
            "no kick for insults: {log:#?}"
        );
        if let Some(s) = o.decision.timeout_secs {
            timeouts.push(s);
        }
    }
    assert!(timeouts.len() >= 2, "expected two timeouts: {log:#?}");
    assert!(
        timeouts[1] > timeouts[0],
        "second timeout must be longer: {log:#?}"
    );
    assert_eq!(timeouts[0], 600, "{log:#?}");
    Ok(())
}

#[tokio::test]
async fn raid_of_fresh_accounts_is_one_incident_with_timeouts() -> TestResult {
    let t = tweets()?;
    let p = pipeline(false);
    // 15 accounts created the day before, joining within one minute.
    let raiders: Vec<Member> = (0..15)
        .map(|n| Member {
            id: snowflake_at(T0 - DAY, 500 + n),
            joined_ms: T0 + n as i64 * 4_000,
            moderator: false,
        })
        .collect();
    let mut updates = Vec::new();
    for r in &raiders {
        updates.extend(
            p.on_join(JoinEvent {
                guild_id: GUILD,
                user_id: r.id,
                joined_at: at(r.joined_ms),
                default_avatar: false,
                roles: Vec::new(),
            })
            .await?,
        );
    }
    // Each posts the same slur.
    let mut outcomes = Vec::new();
    for (i, r) in raiders.iter().enumerate() {
        let o = p
            .on_message(message(r, &t.slur, T0 + 70_000 + i as i64 * 3_000))
            .await?;
        updates.extend(o.incidents.clone());
        outcomes.push(o);
    }
    let ids: BTreeSet<&str> = updates.iter().map(IncidentUpdate::incident_id).collect();
    assert_eq!(ids.len(), 1, "one incident: {updates:#?}");
    let opened = updates
        .iter()
        .filter(|u| matches!(u, IncidentUpdate::Opened { .. }))
        .count();
    assert_eq!(opened, 1);
    let want: BTreeSet<u64> = raiders.iter().map(|r| r.id).collect();
    let participants: BTreeSet<u64> = updates
        .iter()
        .flat_map(IncidentUpdate::participants)
        .collect();
    assert_eq!(participants, want);
    let timed_out: BTreeSet<u64> = updates
        .iter()
        .flat_map(IncidentUpdate::timeouts)
        .map(|(u, _)| u)
        .collect();
    assert_eq!(timed_out, want, "every raider is timed out");
    assert!(updates
        .iter()
        .flat_map(IncidentUpdate::timeouts)
        .all(|(_, s)| s == 3600));
    for o in &outcomes {
        assert!(o.decision.delete_message, "{}", trace(o));
        // The slur from a day-old raider is a timeout, like the incident's response, not a kick.
        assert_eq!(o.decision.action, Action::Timeout, "{}", trace(o));
        assert!(
            o.behaviour
                .factors
                .iter()
                .any(|f| f.name == "raid participant"),
            "{:?}",
            o.behaviour.factors
        );
        assert!(!o.decision.dry_run);
    }
    // The outcome is what `scan` prints.
    let json = serde_json::to_value(&outcomes[0])?;
    assert!(
        json["scores"]["identity_hate"]
            .as_f64()
            .is_some_and(|v| v > 0.5),
        "{json}"
    );
    Ok(())
}

#[tokio::test]
async fn moderators_are_never_punished() -> TestResult {
    let t = tweets()?;
    let p = pipeline(false);
    let m = Member {
        moderator: true,
        ..Member::veteran(2)
    };
    for (i, text) in t.insult.iter().chain([&t.slur]).enumerate() {
        let o = p
            .on_message(message(&m, text, T0 + i as i64 * 10_000))
            .await?;
        assert_eq!(
            (o.decision.action, o.decision.delete_message),
            (Action::None, false),
            "{}",
            trace(&o)
        );
        assert!(
            o.decision
                .note
                .as_deref()
                .is_some_and(|n| n.contains("moderator"))
                || o.decision.level == Action::None
        );
    }
    // The same slur from an ordinary new member is acted on.
    let newbie = Member {
        id: snowflake_at(T0 - HOUR, 9),
        joined_ms: T0 - MIN,
        moderator: false,
    };
    let o = p
        .on_message(message(&newbie, &t.slur, T0 + 5 * MIN))
        .await?;
    assert!(
        o.decision.action.rank() >= Action::Timeout.rank(),
        "{}",
        trace(&o)
    );
    Ok(())
}

#[tokio::test]
async fn dry_run_guild_records_but_executes_nothing() -> TestResult {
    let t = tweets()?;
    let p = pipeline(true);
    let m = Member {
        id: snowflake_at(T0 - HOUR, 3),
        joined_ms: T0 - MIN,
        moderator: false,
    };
    let mut acted = 0;
    for (i, text) in t.insult.iter().chain([&t.slur]).enumerate() {
        let o = p
            .on_message(message(&m, text, T0 + i as i64 * 3 * MIN))
            .await?;
        assert!(
            o.decision.dry_run && !o.decision.executable(),
            "{}",
            trace(&o)
        );
        if o.decision.action != Action::None {
            acted += 1;
        }
    }
    assert!(acted >= 5, "dry run still records real decisions ({acted})");
    // Nothing was executed, so the member has no strikes.
    let st = p.member_book().get((GUILD, m.id)).ok_or("standing kept")?;
    assert!(st.strikes.is_empty() && st.last_action.is_none());
    Ok(())
}

#[tokio::test]
async fn edited_message_escalates_without_double_punishment() -> TestResult {
    let t = tweets()?;
    let p = pipeline(false);
    let m = Member {
        id: snowflake_at(T0 - 30 * DAY, 4),
        joined_ms: T0 - 20 * DAY,
        moderator: false,
    };
    let original = message(&m, &t.insult[0], T0);
    let first = p.on_message(original.clone()).await?;
    // The edit turns it into a slur: only the stronger part is emitted.
    let edit = MessageEvent {
        content: t.slur.clone(),
        edited: true,
        created_at: at(T0 + 5 * MIN),
        ..original.clone()
    };
    let second = p.on_message(edit.clone()).await?;
    assert!(
        second.decision.severity()
            > (
                first.decision.action.rank(),
                0,
                first.decision.delete_message
            ),
        "{} then {}",
        trace(&first),
        trace(&second)
    );
    // Re-delivered again: nothing more.
    let third = p
        .on_message(MessageEvent {
            created_at: at(T0 + 10 * MIN),
            ..edit
        })
        .await?;
    assert_eq!(
        (third.decision.action, third.decision.delete_message),
        (Action::None, false),
        "{}",
        trace(&third)
    );
    Ok(())
}
