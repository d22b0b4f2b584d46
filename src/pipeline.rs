//! The moderation flow for one message, readable top to bottom:
//!
//! 1. classify the text, allowlisted phrases cut out (or take precomputed scores),
//! 2. feed the brigade detector (shared windows) and note incident participants,
//! 3. score the message against the author's standing (pure),
//! 4. decide (pure) and record the decision in the standing,
//! 5. return everything as a serialisable [`Outcome`]; executing and persisting it is the caller's job.
//!
//! Member standing lives in an in-process [`MemberBook`]; a [`StandingStore`] lets the daemon
//! load it from and save it to the database.

use crate::behaviour::{
    decay, fingerprint, score, snowflake_ms, toxic_excess, BehaviourScore, MemberBook,
    MemberStanding, MessageFacts, RecentMessage, StandingStore, StandingStoreError, Strike,
};
use crate::brigade::{
    BrigadeDetector, BrigadeError, BrigadeParams, IncidentUpdate, JoinSignal, MessageSignal,
};
use crate::classifier::{Classifier, ClassifierError, Scores};
use crate::decision::{decide, with_rule_floor, Action, Decision, DecisionInput, Policy};
use crate::rules::{RuleAction, RuleInput, RuleReport, RuleSet};
use crate::state::WindowStore;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex, RwLock};

/// Severity from which a message counts as toxic for the brigade detector.
pub const BRIGADE_TOXIC: f64 = 0.5;
/// How far apart a strike's time and its case's time may be to match (the case is written after
/// the decision, the Discord calls in between).
const STRIKE_MATCH_MS: i64 = 60_000;
/// Members whose standing is kept in memory.
pub const DEFAULT_BOOK_CAPACITY: usize = 100_000;

/// A message as the gateway delivers it (created or edited).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MessageEvent {
    /// Guild.
    pub guild_id: u64,
    /// Channel.
    pub channel_id: u64,
    /// Message.
    pub message_id: u64,
    /// Author.
    pub author_id: u64,
    /// Author's role ids.
    pub author_roles: Vec<u64>,
    /// Author holds Manage Messages or Administrator.
    pub author_is_moderator: bool,
    /// When the author joined the guild.
    pub author_joined_at: Option<DateTime<Utc>>,
    /// Author has no avatar of their own.
    pub author_default_avatar: bool,
    /// Text.
    pub content: String,
    /// When it was sent (for an edit: when it was edited).
    pub created_at: DateTime<Utc>,
    /// This is an edit of an earlier message.
    pub edited: bool,
    /// Author of the message this replies to.
    pub reply_to_author: Option<u64>,
    /// Mentioned users.
    pub mentions: Vec<u64>,
    /// Mentioned roles.
    #[serde(default)]
    pub role_mentions: Vec<u64>,
    /// Attachments.
    #[serde(default)]
    pub attachments: u32,
}

/// A member joined a guild. The account's age comes from the user id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JoinEvent {
    /// Guild.
    pub guild_id: u64,
    /// New member.
    pub user_id: u64,
    /// Join time.
    pub joined_at: DateTime<Utc>,
    /// The account has no avatar of its own.
    pub default_avatar: bool,
    /// Role ids the member joined with (some servers grant roles on join).
    #[serde(default)]
    pub roles: Vec<u64>,
}

/// Everything decided about one message.
#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    /// Guild.
    pub guild_id: u64,
    /// Channel.
    pub channel_id: u64,
    /// Message.
    pub message_id: u64,
    /// Author.
    pub author_id: u64,
    /// Classifier probabilities, with the scores of rule hits laid over them (max per label).
    pub scores: Scores,
    /// The message's language and the rules it broke.
    pub rules: RuleReport,
    /// Behaviour score and factors.
    pub behaviour: BehaviourScore,
    /// What to do.
    pub decision: Decision,
    /// Incident changes this message caused.
    pub incidents: Vec<IncidentUpdate>,
    /// The member's stored standing could not be read (the database is down): they were
    /// judged as a member with no history, apart from what this process saw meanwhile.
    pub standing_unavailable: bool,
}

/// Why a message or join could not be processed.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    /// The classifier failed.
    #[error(transparent)]
    Classifier(#[from] ClassifierError),
    /// This pipeline was built without a classifier; use `score_message`.
    #[error("no classifier loaded; pass precomputed scores to score_message")]
    NoClassifier,
    /// The brigade detector's state store failed.
    #[error(transparent)]
    Brigade(#[from] BrigadeError),
    /// Loading or saving a standing failed.
    #[error(transparent)]
    Standing(#[from] StandingStoreError),
}

/// The moderation brain: classifier, behaviour scorer, brigade detector and decision engine.
pub struct Pipeline {
    classifier: Option<Classifier>,
    policies: RwLock<Policies>,
    rules: RwLock<RuleBook>,
    detector: BrigadeDetector,
    book: MemberBook,
    store: Option<Arc<dyn StandingStore>>,
    /// Participants of each guild's open incident, by incident id.
    incidents: Mutex<HashMap<u64, (String, BTreeSet<u64>)>>,
    /// What was last seen of each member (roles, moderator rights), so an incident's response
    /// can honour exemptions for members it reaches without a message of theirs in hand.
    members: Mutex<HashMap<(u64, u64), MemberFacts>>,
    /// Members judged without their stored standing (the store was unavailable): not saved
    /// over the stored one, and dropped once the store is back.
    provisional: Mutex<BTreeSet<(u64, u64)>>,
}

/// What the exemption rules need to know about a member.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct MemberFacts {
    roles: Vec<u64>,
    moderator: bool,
}

/// Members whose roles are remembered for incident responses; the map is cleared past this.
const MEMBER_FACTS_CAPACITY: usize = 100_000;

/// The compiled rules: the global ones and each guild's own.
#[derive(Default)]
struct RuleBook {
    base: Arc<RuleSet>,
    guilds: HashMap<u64, Arc<RuleSet>>,
}

/// The global policy and the guilds that override it (per-guild thresholds, exemptions, dry-run).
struct Policies {
    base: Arc<Policy>,
    guilds: HashMap<u64, Arc<Policy>>,
}

fn ms(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

impl Pipeline {
    /// A pipeline that classifies messages itself.
    pub fn new(classifier: Classifier, state: Arc<dyn WindowStore>, policy: Policy) -> Self {
        let mut p = Self::without_classifier(state, policy);
        p.classifier = Some(classifier);
        p
    }

    /// A pipeline for callers that classify elsewhere (batch scans, tests, benches).
    pub fn without_classifier(state: Arc<dyn WindowStore>, policy: Policy) -> Self {
        Self {
            classifier: None,
            detector: BrigadeDetector::new(policy.brigade.clone(), state),
            policies: RwLock::new(Policies {
                base: Arc::new(policy),
                guilds: HashMap::new(),
            }),
            rules: RwLock::new(RuleBook::default()),
            book: MemberBook::new(DEFAULT_BOOK_CAPACITY),
            store: None,
            incidents: Mutex::new(HashMap::new()),
            members: Mutex::new(HashMap::new()),
            provisional: Mutex::new(BTreeSet::new()),
        }
    }

    /// Loads standings from and saves them to `store`.
    pub fn with_standing_store(mut self, store: Arc<dyn StandingStore>) -> Self {
        self.store = Some(store);
        self
    }

    /// Keeps at most `capacity` standings in memory.
    pub fn with_book_capacity(mut self, capacity: usize) -> Self {
        self.book = MemberBook::new(capacity);
        self
    }

    /// The global policy (e.g. to toggle a guild's dry-run).
    pub fn policy(&self) -> Arc<Policy> {
        self.read_policies().base.clone()
    }

    /// The policy that decides `guild_id`'s messages: its override, else the global one.
    pub fn policy_for(&self, guild_id: u64) -> Arc<Policy> {
        let p = self.read_policies();
        p.guilds.get(&guild_id).unwrap_or(&p.base).clone()
    }

    /// Replaces the global policy (configuration reload). Guild overrides stay until replaced.
    pub fn set_policy(&self, policy: Policy) {
        let mut p = self.policies.write().unwrap_or_else(|e| e.into_inner());
        p.base = Arc::new(policy);
    }

    /// Sets (Some) or removes (None) the policy of one guild.
    pub fn set_guild_policy(&self, guild_id: u64, policy: Option<Policy>) {
        let mut p = self.policies.write().unwrap_or_else(|e| e.into_inner());
        match policy {
            Some(policy) => p.guilds.insert(guild_id, Arc::new(policy)),
            None => p.guilds.remove(&guild_id),
        };
    }

    /// Gives one guild raid and brigade detection settings of its own (Some), or back the
    /// global ones (None).
    pub fn set_guild_brigade(&self, guild_id: u64, params: Option<BrigadeParams>) {
        self.detector.set_guild_params(guild_id, params);
    }

    /// Replaces the rules of guilds without their own (configuration load or reload).
    pub fn set_rules(&self, rules: Arc<RuleSet>) {
        self.rules.write().unwrap_or_else(|e| e.into_inner()).base = rules;
    }

    /// Sets (Some) or removes (None) the compiled rules of one guild.
    pub fn set_guild_rules(&self, guild_id: u64, rules: Option<Arc<RuleSet>>) {
        let mut book = self.rules.write().unwrap_or_else(|e| e.into_inner());
        match rules {
            Some(r) => book.guilds.insert(guild_id, r),
            None => book.guilds.remove(&guild_id),
        };
    }

    /// The rules that apply in `guild_id`.
    pub fn rules_for(&self, guild_id: u64) -> Arc<RuleSet> {
        let book = self.rules.read().unwrap_or_else(|e| e.into_inner());
        book.guilds.get(&guild_id).unwrap_or(&book.base).clone()
    }

    /// What `guild_id`'s rules find in a message.
    pub fn check_rules(&self, ev: &MessageEvent) -> RuleReport {
        let mut targets: Vec<u64> = ev.mentions.clone();
        targets.sort_unstable();
        targets.dedup();
        let mut roles = ev.role_mentions.clone();
        roles.sort_unstable();
        roles.dedup();
        self.rules_for(ev.guild_id).check(&RuleInput {
            text: &ev.content,
            mentions: targets.len() + roles.len(),
            attachments: ev.attachments,
        })
    }

    fn read_policies(&self) -> std::sync::RwLockReadGuard<'_, Policies> {
        self.policies.read().unwrap_or_else(|e| e.into_inner())
    }

    /// The in-memory standings.
    pub fn member_book(&self) -> &MemberBook {
        &self.book
    }

    /// Classifies and handles one message.
    pub async fn on_message(&self, ev: MessageEvent) -> Result<Outcome, PipelineError> {
        let classifier = self
            .classifier
            .as_ref()
            .ok_or(PipelineError::NoClassifier)?;
        // Allowlisted phrases are not the model's to judge: it reads the rest of the message,
        // and nothing when nothing else is there.
        let scores = match self.rules_for(ev.guild_id).model_text(&ev.content) {
            None => classifier.classify(&ev.content).await?,
            Some(rest) if rest.is_empty() => {
                let labels = classifier.labels();
                Scores::new(labels.to_vec().into(), vec![0.0; labels.len()])
            }
            Some(rest) => classifier.classify(&rest).await?,
        };
        self.score_message(ev, scores).await
    }

    /// Handles one message whose scores were already computed.
    pub async fn score_message(
        &self,
        ev: MessageEvent,
        scores: Scores,
    ) -> Result<Outcome, PipelineError> {
        let now = ms(ev.created_at);
        let key = (ev.guild_id, ev.author_id);
        self.remember_member(key, &ev.author_roles, ev.author_is_moderator);
        let standing_unavailable = !self.ensure_loaded(key).await;
        let policy = self.policy_for(ev.guild_id);
        let p = &policy.behaviour;
        let report = self.check_rules(&ev);
        let scores = merge_scores(&scores, &report.scores());
        let (severity, top_label) = p.severity(scores.iter());
        let fp = fingerprint(&ev.content);
        let joined_ms = ev.author_joined_at.map(ms);

        // Brigade signals first, so that a message which opens an incident already counts as
        // a participant's. Edits were counted when first sent.
        let mut incidents = Vec::new();
        if !ev.edited {
            let targets: BTreeSet<u64> = ev
                .reply_to_author
                .iter()
                .chain(&ev.mentions)
                .copied()
                .collect();
            incidents = self
                .detector
                .on_message(&MessageSignal {
                    guild_id: ev.guild_id,
                    channel_id: ev.channel_id,
                    author_id: ev.author_id,
                    at_ms: now,
                    joined_ms,
                    toxic: severity >= BRIGADE_TOXIC,
                    targets: targets.into_iter().collect(),
                    fingerprint: fp,
                })
                .await?;
            self.note_incidents(&mut incidents);
        }
        let facts = MessageFacts {
            severity,
            top_label,
            at_ms: now,
            account_created_ms: snowflake_ms(ev.author_id),
            joined_ms,
            fingerprint: fp,
            incident_participant: self.is_participant(ev.guild_id, ev.author_id),
        };

        let policy = &*policy;
        let (behaviour, decision, saved) = self.book.update(key, |st| {
            // A re-scored edit is judged against the standing it was first judged against:
            // its own strike and toxicity must not make it look like a repeat offence.
            let behaviour = match st.record_for(ev.message_id) {
                Some(first) if ev.edited => {
                    let at = if first.at_ms > 0 {
                        first.at_ms
                    } else {
                        snowflake_ms(ev.message_id)
                    };
                    score(p, &facts, &without_message(st, at, p.history_half_life_ms))
                }
                _ => score(p, &facts, st),
            };
            let input = DecisionInput {
                guild_id: ev.guild_id,
                channel_id: ev.channel_id,
                message_id: ev.message_id,
                author_id: ev.author_id,
                author_roles: &ev.author_roles,
                author_is_moderator: ev.author_is_moderator,
                behaviour: &behaviour,
                standing: st,
                now_ms: now,
            };
            let mut decision = decide(policy, &input);
            if !report.hits.is_empty() {
                let why = report.describe();
                decision = match report.floor() {
                    Some(floor) => {
                        let min = match floor {
                            RuleAction::Timeout => Action::Timeout,
                            _ => Action::None,
                        };
                        with_rule_floor(policy, &input, decision, min, &why)
                    }
                    None => {
                        // Word hits count through the score: say which rule and term.
                        decision.summary = format!("{} · {why}", decision.summary);
                        decision.moderator_reason = format!("{}\n{why}", decision.moderator_reason);
                        decision
                    }
                };
            }
            decision.apply_to(st, ev.message_id, now, policy);
            if !ev.edited {
                let msg = RecentMessage {
                    at_ms: now,
                    severity,
                    fingerprint: fp,
                };
                st.push_message(msg, toxic_excess(severity), p.history_half_life_ms);
            }
            (
                behaviour,
                decision,
                self.store.is_some().then(|| st.clone()),
            )
        });
        if let (Some(store), Some(st)) = (&self.store, saved) {
            if !standing_unavailable && !self.is_provisional(key) {
                store.save(ev.guild_id, ev.author_id, &st).await?;
            }
        }
        Ok(Outcome {
            guild_id: ev.guild_id,
            channel_id: ev.channel_id,
            message_id: ev.message_id,
            author_id: ev.author_id,
            scores,
            rules: report,
            behaviour,
            decision,
            incidents,
            standing_unavailable,
        })
    }

    /// Lifts the strike an action taken at `at` added to a member's standing (a reversed case
    /// must not make the member's next message a repeat offence). Returns whether one was found.
    pub async fn lift_strike(
        &self,
        guild_id: u64,
        user_id: u64,
        at: DateTime<Utc>,
    ) -> Result<bool, PipelineError> {
        let key = (guild_id, user_id);
        if !self.ensure_loaded(key).await {
            return Err(PipelineError::Standing(StandingStoreError(
                "the member's standing is not available while the database is down; reverse again later to lift the strike".into(),
            )));
        }
        let at = ms(at);
        let (lifted, saved) = self.book.update(key, |st| {
            // The strike is stamped with the message's time, the case a moment later.
            let nearest = st
                .strikes
                .iter()
                .enumerate()
                .filter(|(_, s)| (s.at_ms - at).abs() <= STRIKE_MATCH_MS)
                .min_by_key(|(_, s)| (s.at_ms - at).abs())
                .map(|(i, _)| i);
            if let Some(i) = nearest {
                st.strikes.remove(i);
            }
            (nearest.is_some(), st.clone())
        });
        if let (true, Some(store)) = (lifted, &self.store) {
            if !self.is_provisional(key) {
                store.save(guild_id, user_id, &saved).await?;
            }
        }
        Ok(lifted)
    }

    /// Records a strike for `action` taken at `at` by a moderator, in the bot or in Discord's
    /// own interface: the member's next offence counts it as it would an automatic one.
    pub async fn record_strike(
        &self,
        guild_id: u64,
        user_id: u64,
        action: Action,
        at: DateTime<Utc>,
    ) -> Result<(), PipelineError> {
        let points = action.strike_points();
        if points <= 0.0 {
            return Ok(());
        }
        let key = (guild_id, user_id);
        let available = self.ensure_loaded(key).await;
        let policy = self.policy_for(guild_id);
        let at = ms(at);
        let now = ms(Utc::now()).max(at);
        let saved = self.book.update(key, |st| {
            st.add_strike(
                Strike {
                    at_ms: at,
                    points,
                    timeout: action == Action::Timeout,
                },
                action.rank(),
                now,
                policy.strike_half_life_ms,
            );
            st.clone()
        });
        if let (true, Some(store)) = (available && !self.is_provisional(key), &self.store) {
            store.save(guild_id, user_id, &saved).await?;
        }
        Ok(())
    }

    /// A member's standing as this process holds it (loaded from the store if needed).
    pub async fn member_standing(&self, guild_id: u64, user_id: u64) -> Option<MemberStanding> {
        let key = (guild_id, user_id);
        self.ensure_loaded(key).await;
        self.book.get(key)
    }

    /// The timeout the ladder gives this member next (their active timeouts counted).
    pub async fn next_timeout(&self, guild_id: u64, user_id: u64) -> std::time::Duration {
        let key = (guild_id, user_id);
        self.ensure_loaded(key).await;
        let policy = self.policy_for(guild_id);
        let now = ms(Utc::now());
        let active = self
            .book
            .get(key)
            .map_or(0, |st| st.active_timeouts(now, policy.strike_half_life_ms));
        policy.timeout_step(active)
    }

    /// Handles a member joining: raid detection.
    pub async fn on_join(&self, ev: JoinEvent) -> Result<Vec<IncidentUpdate>, PipelineError> {
        self.remember_member((ev.guild_id, ev.user_id), &ev.roles, false);
        let mut updates = self
            .detector
            .on_join(&JoinSignal {
                guild_id: ev.guild_id,
                user_id: ev.user_id,
                at_ms: ms(ev.joined_at),
                default_avatar: ev.default_avatar,
            })
            .await?;
        self.note_incidents(&mut updates);
        Ok(updates)
    }

    /// Closes incidents that have been quiet long enough; call it periodically.
    pub async fn tick(&self, now: DateTime<Utc>) -> Result<Vec<IncidentUpdate>, PipelineError> {
        let mut updates = self.detector.tick(ms(now)).await?;
        self.note_incidents(&mut updates);
        Ok(updates)
    }

    /// Loads a member's stored standing into the book unless it is there. Returns false
    /// when the store could not answer: the member is then judged from what this process has
    /// (nothing, for a member it has not seen), and that provisional standing is never saved
    /// over the stored one.
    async fn ensure_loaded(&self, key: (u64, u64)) -> bool {
        let Some(store) = &self.store else {
            return true;
        };
        if self.book.contains(key) {
            return !self.is_provisional(key);
        }
        match store.load(key.0, key.1).await {
            Ok(Some(st)) => {
                self.book.put(key, st);
                true
            }
            Ok(None) => true,
            Err(e) => {
                tracing::warn!(guild = key.0, user = key.1, error = %e, "member standing unavailable; judging without it");
                self.provisional_lock().insert(key);
                false
            }
        }
    }

    fn provisional_lock(&self) -> std::sync::MutexGuard<'_, BTreeSet<(u64, u64)>> {
        self.provisional.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn is_provisional(&self, key: (u64, u64)) -> bool {
        self.provisional_lock().contains(&key)
    }

    /// Forgets the standings built while the store was unavailable, so each member's stored
    /// standing is loaded on their next message. Call it once the store is back; returns how
    /// many were dropped.
    pub fn drop_provisional_standings(&self) -> usize {
        let keys = std::mem::take(&mut *self.provisional_lock());
        for key in &keys {
            self.book.remove(*key);
        }
        keys.len()
    }

    /// Remembers participants and marks updates for dry-run guilds as recorded only.
    fn note_incidents(&self, updates: &mut [IncidentUpdate]) {
        if updates.is_empty() {
            return;
        }
        for u in updates.iter_mut() {
            if let IncidentUpdate::Opened { guild_id, .. }
            | IncidentUpdate::ParticipantAdded { guild_id, .. } = u
            {
                let guild_id = *guild_id;
                let policy = self.policy_for(guild_id);
                u.set_dry_run(policy.is_dry_run(guild_id));
                self.spare_exempt(&policy, u);
            }
        }
        let mut map = self.incidents.lock().unwrap_or_else(|e| e.into_inner());
        for u in updates {
            match u {
                IncidentUpdate::Closed { guild_id, .. } => {
                    map.remove(guild_id);
                }
                IncidentUpdate::Opened { guild_id, .. }
                | IncidentUpdate::ParticipantAdded { guild_id, .. } => {
                    let entry = map
                        .entry(*guild_id)
                        .or_insert_with(|| (u.incident_id().to_string(), BTreeSet::new()));
                    if entry.0 != u.incident_id() {
                        *entry = (u.incident_id().to_string(), BTreeSet::new());
                    }
                    entry.1.extend(u.participants());
                }
            }
        }
    }

    fn remember_member(&self, key: (u64, u64), roles: &[u64], moderator: bool) {
        let mut map = self.members.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() >= MEMBER_FACTS_CAPACITY && !map.contains_key(&key) {
            map.clear();
        }
        map.insert(
            key,
            MemberFacts {
                roles: roles.to_vec(),
                moderator,
            },
        );
    }

    /// Why a member is exempt from automatic actions in a guild, if they are: moderators,
    /// exempt users and exempt roles (as last seen). Incident responses ask this too.
    pub fn member_exemption(&self, guild_id: u64, user_id: u64) -> Option<&'static str> {
        let facts = self
            .members
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&(guild_id, user_id))
            .cloned()
            .unwrap_or_default();
        self.policy_for(guild_id).exemptions.member_exemption(
            user_id,
            &facts.roles,
            facts.moderator,
        )
    }

    /// Takes exempt members out of an incident's timeouts, and exempt channels out of its
    /// slow-mode: exemptions hold for raid responses as for every automatic action.
    fn spare_exempt(&self, policy: &Policy, u: &mut IncidentUpdate) {
        let guild_id = match u {
            IncidentUpdate::Opened { guild_id, .. }
            | IncidentUpdate::ParticipantAdded { guild_id, .. }
            | IncidentUpdate::Closed { guild_id, .. } => *guild_id,
        };
        match u {
            IncidentUpdate::Opened { response, .. } => {
                response.timeout_users.retain(|user| {
                    let why = self.member_exemption(guild_id, *user);
                    if let Some(why) = why {
                        tracing::info!(
                            guild = guild_id,
                            user,
                            exempt = why,
                            "incident participant not timed out"
                        );
                    }
                    why.is_none()
                });
                if response
                    .slowmode
                    .is_some_and(|(c, _)| policy.exemptions.channels.contains(&c))
                {
                    response.slowmode = None;
                }
            }
            IncidentUpdate::ParticipantAdded {
                user_id,
                timeout_secs,
                ..
            } => {
                if timeout_secs.is_some() {
                    if let Some(why) = self.member_exemption(guild_id, *user_id) {
                        tracing::info!(
                            guild = guild_id,
                            user = *user_id,
                            exempt = why,
                            "incident participant not timed out"
                        );
                        *timeout_secs = None;
                    }
                }
            }
            IncidentUpdate::Closed { .. } => {}
        }
    }

    fn is_participant(&self, guild_id: u64, user_id: u64) -> bool {
        let map = self.incidents.lock().unwrap_or_else(|e| e.into_inner());
        map.get(&guild_id)
            .is_some_and(|(_, p)| p.contains(&user_id))
    }
}

/// The model's scores with rule scores laid over them: each label's score is the higher of the
/// two; a label the model lacks is added.
pub fn merge_scores(model: &Scores, rules: &[(String, f32)]) -> Scores {
    if rules.is_empty() {
        return model.clone();
    }
    let mut labels: Vec<String> = model.labels().to_vec();
    let mut values: Vec<f32> = model.values().to_vec();
    for (label, v) in rules {
        match labels.iter().position(|l| l == label) {
            Some(i) => {
                if let Some(m) = values.get_mut(i) {
                    *m = if m.is_finite() { m.max(*v) } else { *v };
                }
            }
            None => {
                labels.push(label.clone());
                values.push(*v);
            }
        }
    }
    Scores::new(labels.into(), values)
}

/// The standing as it was before the message first handled at `at` (ms): without the strikes
/// taken from then on, its toxicity, or its place among the recent messages.
fn without_message(st: &MemberStanding, at: i64, history_half_life_ms: i64) -> MemberStanding {
    let mut before = st.clone();
    before.strikes.retain(|s| s.at_ms < at);
    if let Some(pos) = before.recent.iter().position(|m| m.at_ms == at) {
        if let Some(m) = before.recent.remove(pos) {
            let own =
                toxic_excess(m.severity) * decay(before.decayed_at_ms - at, history_half_life_ms);
            before.decayed_toxicity = (before.decayed_toxicity - own).max(0.0);
        }
    }
    before
}
