//! The detector: signals counted in shared `WindowStore` windows, incidents opened, extended and
//! closed per guild.

use super::incident::{BrigadeParams, IncidentKind, IncidentUpdate, Response};
use super::signals::{BrigadeError, JoinSignal, MessageSignal};
use crate::behaviour::snowflake_ms;
use crate::state::WindowStore;
use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex, RwLock};

/// Participants are remembered this long (the incident's own windows are far shorter).
const PARTICIPANT_TTL_MS: i64 = 7 * 86_400_000;

struct Open {
    id: String,
    last_activity_ms: i64,
}

/// What fired, for opening an incident.
struct Trigger {
    kind: IncidentKind,
    channel_id: Option<u64>,
    target_id: Option<u64>,
    members: Vec<u64>,
}

/// Per-guild raid and brigade detection. Counting windows live in the shared store so every
/// shard and process sees the same counts; this process remembers which incidents it saw open
/// so that it can report their end.
pub struct BrigadeDetector {
    p: Arc<BrigadeParams>,
    /// Guilds with settings of their own (`brigade.*` guild overrides).
    guilds: RwLock<HashMap<u64, Arc<BrigadeParams>>>,
    state: Arc<dyn WindowStore>,
    open: Mutex<HashMap<u64, Open>>,
}

fn is_new_account(p: &BrigadeParams, user_id: u64, now_ms: i64) -> bool {
    now_ms - snowflake_ms(user_id) < p.new_account_ms
}

/// Join weight in half-units: 2, +1 for a new account, +1 for a default avatar.
fn join_units(p: &BrigadeParams, j: &JoinSignal) -> u32 {
    2 + u32::from(is_new_account(p, j.user_id, j.at_ms)) + u32::from(j.default_avatar)
}

fn parse_ids(members: &[String]) -> Vec<u64> {
    members
        .iter()
        .filter_map(|m| m.split('|').next().and_then(|id| id.parse().ok()))
        .collect()
}

impl BrigadeDetector {
    /// A detector over `state`.
    pub fn new(p: BrigadeParams, state: Arc<dyn WindowStore>) -> Self {
        Self {
            p: Arc::new(p),
            guilds: RwLock::new(HashMap::new()),
            state,
            open: Mutex::new(HashMap::new()),
        }
    }

    /// The settings of guilds without their own.
    pub fn params(&self) -> &BrigadeParams {
        &self.p
    }

    /// The settings that apply in `guild_id`: its own, else the global ones.
    pub fn params_for(&self, guild_id: u64) -> Arc<BrigadeParams> {
        self.guilds
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(&guild_id)
            .unwrap_or(&self.p)
            .clone()
    }

    /// Gives one guild settings of its own (Some), or back the global ones (None). Counts in
    /// the windows are kept: a lower threshold applies to the joins and messages already seen.
    pub fn set_guild_params(&self, guild_id: u64, params: Option<BrigadeParams>) {
        let mut map = self.guilds.write().unwrap_or_else(|e| e.into_inner());
        match params {
            Some(p) => map.insert(guild_id, Arc::new(p)),
            None => map.remove(&guild_id),
        };
    }

    /// Records a join; opens a join-surge incident or adds the member to an open one.
    pub async fn on_join(&self, j: &JoinSignal) -> Result<Vec<IncidentUpdate>, BrigadeError> {
        let g = j.guild_id;
        let p = self.params_for(g);
        let mut out = self.close_quiet(&p, g, j.at_ms).await?;
        let recent_window = p.lookback_ms + p.join_surge_window_ms;
        self.state
            .touch(
                &format!("brigade:{g}:recent_joins"),
                &j.user_id.to_string(),
                j.at_ms,
                recent_window,
                false,
            )
            .await?;
        let snap = self
            .state
            .touch(
                &format!("brigade:{g}:joins"),
                &format!("{}|{}", j.user_id, join_units(&p, j)),
                j.at_ms,
                p.join_surge_window_ms,
                true,
            )
            .await?;
        let units: u64 = snap
            .members
            .iter()
            .filter_map(|m| m.split('|').nth(1).and_then(|u| u.parse::<u64>().ok()))
            .sum();
        let trigger = (units >= 2 * u64::from(p.join_surge_count)).then(|| Trigger {
            kind: IncidentKind::JoinSurge,
            channel_id: None,
            target_id: None,
            members: parse_ids(&snap.members),
        });
        let suspicious = is_new_account(&p, j.user_id, j.at_ms) || j.default_avatar;
        out.extend(
            self.activity(&p, g, j.at_ms, trigger, suspicious.then_some(j.user_id))
                .await?,
        );
        Ok(out)
    }

    /// Records a message's signals; opens or extends an incident when one fires.
    pub async fn on_message(&self, m: &MessageSignal) -> Result<Vec<IncidentUpdate>, BrigadeError> {
        let g = m.guild_id;
        let p = self.params_for(g);
        let now = m.at_ms;
        let mut out = self.close_quiet(&p, g, now).await?;
        let author = m.author_id.to_string();
        let recently_joined = m.joined_ms.is_some_and(|t| now - t < p.new_member_ms)
            || is_new_account(&p, m.author_id, now);
        let mut trigger = None;

        if let Some(fp) = m.fingerprint {
            let key = format!("brigade:{g}:dup:{fp:016x}");
            if let Some(members) = self
                .count(
                    g,
                    &key,
                    &author,
                    now,
                    p.duplicate_window_ms,
                    p.duplicate_count,
                )
                .await?
            {
                trigger = Some(Trigger {
                    kind: IncidentKind::DuplicateFlood,
                    channel_id: Some(m.channel_id),
                    target_id: None,
                    members,
                });
            }
        }
        if m.toxic && recently_joined {
            let key = format!("brigade:{g}:coord:{}", m.channel_id);
            let fired = self
                .count(
                    g,
                    &key,
                    &author,
                    now,
                    p.coordinated_window_ms,
                    p.coordinated_count,
                )
                .await?;
            if let (None, Some(members)) = (&trigger, fired) {
                trigger = Some(Trigger {
                    kind: IncidentKind::CoordinatedToxicity,
                    channel_id: Some(m.channel_id),
                    target_id: None,
                    members,
                });
            }
        }
        if m.toxic {
            for t in m.targets.iter().filter(|t| **t != m.author_id) {
                let key = format!("brigade:{g}:harass:{t}");
                let fired = self
                    .count(
                        g,
                        &key,
                        &author,
                        now,
                        p.harassment_window_ms,
                        p.harassment_count,
                    )
                    .await?;
                if let (None, Some(members)) = (&trigger, fired) {
                    trigger = Some(Trigger {
                        kind: IncidentKind::TargetedHarassment,
                        channel_id: Some(m.channel_id),
                        target_id: Some(*t),
                        members,
                    });
                }
            }
        }
        // During an incident, toxic messages from recently joined members join it too.
        let joiner = (m.toxic && recently_joined).then_some(m.author_id);
        out.extend(self.activity(&p, g, now, trigger, joiner).await?);
        Ok(out)
    }

    /// Closes incidents that have been quiet for `brigade.quiet_period`. Call it now and then
    /// (the other methods also close a guild's incident lazily).
    pub async fn tick(&self, now_ms: i64) -> Result<Vec<IncidentUpdate>, BrigadeError> {
        let guilds: Vec<u64> = self.lock().keys().copied().collect();
        let mut out = Vec::new();
        for g in guilds {
            let p = self.params_for(g);
            out.extend(self.close_quiet(&p, g, now_ms).await?);
        }
        Ok(out)
    }

    /// Whether this process has an open incident for the guild.
    pub fn has_open_incident(&self, guild_id: u64) -> bool {
        self.lock().contains_key(&guild_id)
    }

    /// Adds `member` to window `key` of guild `g`; when the window then holds at least
    /// `threshold` members, returns the members that take part (see below), fetched only then so
    /// the common case moves no member lists.
    async fn count(
        &self,
        g: u64,
        key: &str,
        member: &str,
        now: i64,
        window_ms: i64,
        threshold: u32,
    ) -> Result<Option<Vec<u64>>, BrigadeError> {
        let snap = self.state.touch(key, member, now, window_ms, false).await?;
        if snap.count < u64::from(threshold) {
            return Ok(None);
        }
        // The whole window is read once, by the caller whose touch reached the threshold (each
        // touch adds at most one member, so exactly one sees it), or while this process knows of
        // no open incident. Later members of an open incident are only themselves: re-reading a
        // window that grows with a raid on every message would cost O(raid size) per message.
        if snap.count > u64::from(threshold) && self.lock().contains_key(&g) {
            return Ok(Some(member.parse().map(|m| vec![m]).unwrap_or_default()));
        }
        let full = self.state.peek(key, now, window_ms).await?;
        Ok(Some(parse_ids(&full.members)))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Open>> {
        self.open.lock().unwrap_or_else(|e| e.into_inner())
    }

    async fn close_quiet(
        &self,
        p: &BrigadeParams,
        g: u64,
        now: i64,
    ) -> Result<Vec<IncidentUpdate>, BrigadeError> {
        let candidate = {
            let open = self.lock();
            open.get(&g)
                .filter(|o| now - o.last_activity_ms >= p.quiet_period_ms)
                .map(|o| (o.id.clone(), o.last_activity_ms))
        };
        let Some((id, last)) = candidate else {
            return Ok(Vec::new());
        };
        // Another process may have kept the incident alive.
        let active = self.peek_active(p, g, now).await?;
        let mut open = self.lock();
        if active.as_deref() == Some(id.as_str()) {
            if let Some(o) = open.get_mut(&g) {
                o.last_activity_ms = now;
            }
            return Ok(Vec::new());
        }
        open.remove(&g);
        Ok(vec![IncidentUpdate::Closed {
            incident_id: id,
            guild_id: g,
            ended_at_ms: last + p.quiet_period_ms,
        }])
    }

    async fn peek_active(
        &self,
        p: &BrigadeParams,
        g: u64,
        now: i64,
    ) -> Result<Option<String>, BrigadeError> {
        let snap = self
            .state
            .peek(&format!("brigade:{g}:active"), now, p.quiet_period_ms)
            .await?;
        Ok(snap.members.last().cloned())
    }

    /// Opens an incident for `trigger` or extends the open one with the trigger's members and
    /// `joiner`. Without either, only reports nothing.
    async fn activity(
        &self,
        p: &BrigadeParams,
        g: u64,
        now: i64,
        trigger: Option<Trigger>,
        joiner: Option<u64>,
    ) -> Result<Vec<IncidentUpdate>, BrigadeError> {
        if trigger.is_none() && joiner.is_none() {
            return Ok(Vec::new());
        }
        let active = self.peek_active(p, g, now).await?;
        let (id, opened) = match (active, &trigger) {
            (Some(id), _) => (id, false),
            (None, Some(_)) => {
                // Several tasks or processes may see the same surge at once: one claim wins
                // and opens the incident; the others join it.
                // The nonce tells apart claimers that saw the surge in the same millisecond.
                let mine = format!("{g}-{now}#{:016x}", rand::random::<u64>());
                let holder = self
                    .state
                    .claim(
                        &format!("brigade:{g}:opening"),
                        &mine,
                        now,
                        p.quiet_period_ms,
                    )
                    .await?;
                let id = holder.split('#').next().unwrap_or(&holder).to_string();
                (id, holder == mine)
            }
            (None, None) => return Ok(Vec::new()),
        };
        self.state
            .touch(
                &format!("brigade:{g}:active"),
                &id,
                now,
                p.quiet_period_ms,
                false,
            )
            .await?;
        self.lock().insert(
            g,
            Open {
                id: id.clone(),
                last_activity_ms: now,
            },
        );

        let mut members: BTreeSet<u64> = trigger
            .as_ref()
            .map(|t| t.members.iter().copied().collect())
            .unwrap_or_default();
        members.extend(joiner);
        if opened {
            let lookback = self
                .state
                .peek(
                    &format!("brigade:{g}:recent_joins"),
                    now,
                    p.lookback_ms + p.join_surge_window_ms,
                )
                .await?;
            let surge = trigger
                .as_ref()
                .is_some_and(|t| t.kind == IncidentKind::JoinSurge);
            members.extend(
                parse_ids(&lookback.members)
                    .into_iter()
                    .filter(|u| surge || is_new_account(p, *u, now)),
            );
        }
        let pkey = format!("brigade:{g}:incident:{id}:participants");
        // Atomic "who is new": also when opening, a concurrent claimer that lost may have added
        // members already, and two tasks offering the same member report it once.
        let offered: Vec<String> = members.iter().map(u64::to_string).collect();
        let new = parse_ids(
            &self
                .state
                .add_new(&pkey, &offered, now, PARTICIPANT_TTL_MS)
                .await?,
        );
        let timeout = |u: u64| {
            (p.timeout_new_accounts && is_new_account(p, u, now))
                .then_some(p.participant_timeout_secs)
        };
        if let (true, Some(t)) = (opened, trigger) {
            return Ok(vec![IncidentUpdate::Opened {
                incident_id: id,
                guild_id: g,
                kind: t.kind,
                started_at_ms: now,
                channel_id: t.channel_id,
                target_id: t.target_id,
                response: Response {
                    alert_moderators: true,
                    slowmode: t
                        .channel_id
                        .filter(|_| p.slowmode_secs > 0)
                        .map(|c| (c, p.slowmode_secs)),
                    timeout_users: new
                        .iter()
                        .copied()
                        .filter(|u| timeout(*u).is_some())
                        .collect(),
                    timeout_secs: p.participant_timeout_secs,
                    raise_scores: true,
                    dry_run: false,
                },
                participants: new,
            }]);
        }
        Ok(new
            .into_iter()
            .map(|u| IncidentUpdate::ParticipantAdded {
                incident_id: id.clone(),
                guild_id: g,
                user_id: u,
                at_ms: now,
                timeout_secs: timeout(u),
                dry_run: false,
            })
            .collect())
    }
}
