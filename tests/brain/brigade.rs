//! Brigade detector against the in-process `WindowStore` (the Redis one shares its semantics).

use crate::common::*;
use std::sync::Arc;
use usmca_bot::behaviour::snowflake_at;
use usmca_bot::brigade::{
    BrigadeDetector, BrigadeParams, IncidentKind, IncidentUpdate, JoinSignal, MessageSignal,
};
use usmca_bot::state::{MemoryState, RedisState, WindowStore};

fn detector() -> BrigadeDetector {
    BrigadeDetector::new(
        BrigadeParams::from_config(&default_config()),
        Arc::new(MemoryState::new()),
    )
}

fn old_user(n: u64) -> u64 {
    snowflake_at(T0 - 900 * DAY, n)
}

fn new_user(n: u64) -> u64 {
    snowflake_at(T0 - DAY, n)
}

fn msg(author: u64, at: i64, toxic: bool) -> MessageSignal {
    MessageSignal {
        guild_id: 1,
        channel_id: 10,
        author_id: author,
        at_ms: at,
        joined_ms: Some(at - 5 * MIN),
        toxic,
        targets: vec![],
        fingerprint: None,
    }
}

fn opened(updates: &[IncidentUpdate]) -> Vec<&IncidentUpdate> {
    updates
        .iter()
        .filter(|u| matches!(u, IncidentUpdate::Opened { .. }))
        .collect()
}

#[tokio::test]
async fn old_accounts_need_the_full_count_new_ones_weigh_more(
) -> Result<(), Box<dyn std::error::Error>> {
    let d = detector();
    // Nine established accounts with avatars: below the surge of ten.
    for n in 0..9 {
        let j = JoinSignal {
            guild_id: 1,
            user_id: old_user(n),
            at_ms: T0 + n as i64 * 1000,
            default_avatar: false,
        };
        assert!(d.on_join(&j).await?.is_empty());
    }
    let j = JoinSignal {
        guild_id: 1,
        user_id: old_user(9),
        at_ms: T0 + 9_000,
        default_avatar: false,
    };
    let u = d.on_join(&j).await?;
    assert_eq!(opened(&u).len(), 1, "{u:?}");

    // Fresh default-avatar accounts count double: five make a surge in another guild.
    let d = detector();
    let mut all = Vec::new();
    for n in 0..5 {
        let j = JoinSignal {
            guild_id: 2,
            user_id: new_user(n),
            at_ms: T0 + n as i64 * 1000,
            default_avatar: true,
        };
        all.extend(d.on_join(&j).await?);
    }
    let o = opened(&all);
    assert_eq!(o.len(), 1, "{all:?}");
    match o[0] {
        IncidentUpdate::Opened {
            kind,
            participants,
            response,
            ..
        } => {
            assert_eq!(*kind, IncidentKind::JoinSurge);
            assert_eq!(participants.len(), 5);
            assert_eq!(response.timeout_users.len(), 5);
            assert!(response.alert_moderators);
        }
        _ => unreachable!(),
    }
    Ok(())
}

#[tokio::test]
async fn a_guild_with_settings_of_its_own_is_judged_by_them_and_the_others_by_the_global_ones(
) -> Result<(), Box<dyn std::error::Error>> {
    let d = detector();
    // Guild 7 makes three joins a surge, with a short quiet period and no slow-mode; guild 8
    // keeps the global ten.
    let mut own = d.params().clone();
    own.join_surge_count = 3;
    own.quiet_period_ms = MIN;
    d.set_guild_params(7, Some(own));
    assert_eq!(d.params_for(7).join_surge_count, 3);
    assert_eq!(d.params_for(8).join_surge_count, 10);
    let join = |guild_id: u64, n: u64| JoinSignal {
        guild_id,
        user_id: old_user(n),
        at_ms: T0 + n as i64 * 1000,
        default_avatar: false,
    };
    let mut seven = Vec::new();
    for n in 0..3 {
        assert!(d.on_join(&join(8, n)).await?.is_empty(), "guild 8 keeps 10");
        seven.extend(d.on_join(&join(7, n)).await?);
    }
    assert_eq!(opened(&seven).len(), 1, "{seven:?}");
    // Its own quiet period ends its incident; guild 8 has none to end.
    let closed = d.tick(T0 + 3 * 1000 + MIN).await?;
    assert!(
        matches!(
            closed.as_slice(),
            [IncidentUpdate::Closed { guild_id: 7, .. }]
        ),
        "{closed:?}"
    );
    // Back to the global settings: three more joins within the window are not a surge.
    d.set_guild_params(7, None);
    assert_eq!(d.params_for(7).join_surge_count, 10);
    for n in 10..13 {
        let j = JoinSignal {
            at_ms: T0 + 2 * MIN + n as i64 * 1000,
            ..join(7, n)
        };
        assert!(opened(&d.on_join(&j).await?).is_empty());
    }
    Ok(())
}

#[tokio::test]
async fn lookback_joiners_become_participants_and_quiet_closes(
) -> Result<(), Box<dyn std::error::Error>> {
    let d = detector();
    // Two new accounts joined eight minutes before anything happened.
    let early = [new_user(100), new_user(101)];
    for (i, u) in early.iter().enumerate() {
        d.on_join(&JoinSignal {
            guild_id: 1,
            user_id: *u,
            at_ms: T0 - 8 * MIN + i as i64,
            default_avatar: false,
        })
        .await?;
    }
    // Four recently joined members are toxic in one channel within two minutes.
    let mut updates = Vec::new();
    for n in 0..4 {
        updates.extend(
            d.on_message(&msg(new_user(n), T0 + n as i64 * 10_000, true))
                .await?,
        );
    }
    let o = opened(&updates);
    assert_eq!(o.len(), 1, "{updates:?}");
    let (id, participants, slowmode) = match o[0] {
        IncidentUpdate::Opened {
            incident_id,
            kind,
            participants,
            response,
            ..
        } => {
            assert_eq!(*kind, IncidentKind::CoordinatedToxicity);
            (incident_id.clone(), participants.clone(), response.slowmode)
        }
        _ => unreachable!(),
    };
    assert_eq!(slowmode, Some((10, 30)));
    for u in early {
        assert!(
            participants.contains(&u),
            "lookback joiner {u} missing from {participants:?}"
        );
    }
    assert_eq!(participants.len(), 6);

    // A fifth toxic newcomer joins the open incident; nothing re-opens.
    let more = d.on_message(&msg(new_user(4), T0 + MIN, true)).await?;
    assert!(
        matches!(&more[..], [IncidentUpdate::ParticipantAdded { user_id, incident_id, timeout_secs: Some(3600), .. }] if *user_id == new_user(4) && *incident_id == id),
        "{more:?}"
    );

    // Still open within the quiet period, closed after it.
    assert!(d.tick(T0 + 5 * MIN).await?.is_empty());
    let closed = d.tick(T0 + 7 * MIN).await?;
    assert!(
        matches!(&closed[..], [IncidentUpdate::Closed { ended_at_ms, .. }] if *ended_at_ms == T0 + 6 * MIN),
        "{closed:?}"
    );
    assert!(!d.has_open_incident(1));
    Ok(())
}

#[tokio::test]
async fn harassment_and_duplicate_floods() -> Result<(), Box<dyn std::error::Error>> {
    let d = detector();
    let victim = old_user(999);
    let mut updates = Vec::new();
    for n in 0..3 {
        let mut m = msg(old_user(n), T0 + n as i64 * 1000, true);
        m.joined_ms = Some(T0 - 100 * DAY);
        m.targets = vec![victim];
        updates.extend(d.on_message(&m).await?);
    }
    assert!(
        matches!(opened(&updates)[..], [IncidentUpdate::Opened { kind: IncidentKind::TargetedHarassment, target_id: Some(t), .. }] if *t == victim),
        "{updates:?}"
    );

    // Non-toxic copies from established members still count as a flood.
    let d = detector();
    let mut updates = Vec::new();
    for n in 0..5 {
        let mut m = msg(old_user(n), T0 + n as i64 * 1000, false);
        m.joined_ms = Some(T0 - 100 * DAY);
        m.fingerprint = Some(0xfeed);
        updates.extend(d.on_message(&m).await?);
    }
    match opened(&updates)[..] {
        [IncidentUpdate::Opened {
            kind: IncidentKind::DuplicateFlood,
            participants,
            response,
            ..
        }] => {
            assert_eq!(participants.len(), 5);
            // Established accounts are not timed out.
            assert!(response.timeout_users.is_empty());
        }
        _ => panic!("expected one duplicate-flood incident: {updates:?}"),
    }
    // One member repeating themselves is not a cross-user flood.
    let d = detector();
    for i in 0..8 {
        let mut m = msg(old_user(1), T0 + i * 1000, false);
        m.fingerprint = Some(0xbeef);
        assert!(d.on_message(&m).await?.is_empty());
    }
    Ok(())
}

/// Every member of a copy-paste flood is reported exactly once (in the opening or as an added
/// participant), however many times they post: a large raid must not re-report, nor miss, anyone.
async fn flood_reports_each_member_once(
    state: Arc<dyn WindowStore>,
) -> Result<(), Box<dyn std::error::Error>> {
    let d = BrigadeDetector::new(BrigadeParams::from_config(&default_config()), state);
    let members = 300u64;
    let mut reported: Vec<u64> = Vec::new();
    let mut opened_count = 0;
    for round in 0..2i64 {
        for n in 0..members {
            let mut m = msg(old_user(n), T0 + round * 30_000 + n as i64 * 50, false);
            m.joined_ms = Some(T0 - 100 * DAY);
            m.fingerprint = Some(0xf100d);
            for u in d.on_message(&m).await? {
                match u {
                    IncidentUpdate::Opened {
                        kind, participants, ..
                    } => {
                        assert_eq!(kind, IncidentKind::DuplicateFlood);
                        opened_count += 1;
                        reported.extend(participants);
                    }
                    IncidentUpdate::ParticipantAdded { user_id, .. } => reported.push(user_id),
                    IncidentUpdate::Closed { .. } => panic!("closed during the flood"),
                }
            }
        }
    }
    assert_eq!(opened_count, 1, "one incident for the whole flood");
    let mut sorted = reported.clone();
    sorted.sort_unstable();
    sorted.dedup();
    assert_eq!(sorted.len(), reported.len(), "a member reported twice");
    let want: Vec<u64> = {
        let mut v: Vec<u64> = (0..members).map(old_user).collect();
        v.sort_unstable();
        v
    };
    assert_eq!(sorted, want, "every poster is a participant");
    Ok(())
}

#[tokio::test]
async fn large_flood_reports_each_member_once_in_memory() -> Result<(), Box<dyn std::error::Error>>
{
    flood_reports_each_member_once(Arc::new(MemoryState::new())).await
}

#[tokio::test]
async fn large_flood_reports_each_member_once_in_redis() -> Result<(), Box<dyn std::error::Error>> {
    let r = crate::redis_support::TestRedis::new();
    let redis = Arc::new(RedisState::connect(&r.config()).await?);
    flood_reports_each_member_once(redis.clone()).await?;
    // Past the opening, a flood message costs four round trips (its dup window, reading and
    // extending the active incident, its participants) and reads no member list back: the
    // dup window is not re-read, nor the participants fetched to find who is new.
    let per_message = redis.round_trips() as f64 / 600.0;
    assert!(per_message < 4.1, "{per_message} round trips a message");
    Ok(())
}
