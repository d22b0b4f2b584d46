//! The dashboard's reads: filtered, keyset-paginated case and audit lists, the overview's daily
//! series, member search, the messages a what-if preview replays, and dashboard access grants.

use super::cases::{case_from_row, CASE_COLUMNS};
use super::{db_id, from_db_id, AuditEvent, AuditRow, Storage, StorageError};
use crate::domain::Case;
use chrono::{DateTime, NaiveDate, Utc};
use serde::de::{Deserializer, IgnoredAny, MapAccess, Visitor};
use sqlx::types::Json;
use sqlx::{Postgres, QueryBuilder, Row};
use std::collections::HashMap;
use std::fmt;

/// Rows one query of [`Storage::replay_rows`] reads.
const REPLAY_CHUNK: i64 = 50_000;

/// A stored scores object read straight into (label, score) pairs, without building a
/// `serde_json::Value` for every message of a replay.
struct LabelScores(Vec<(String, f32)>);

impl<'de> serde::Deserialize<'de> for LabelScores {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(LabelScoresVisitor)
    }
}

struct LabelScoresVisitor;

impl<'de> Visitor<'de> for LabelScoresVisitor {
    type Value = LabelScores;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object of label scores")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<LabelScores, A::Error> {
        let mut out = Vec::with_capacity(map.size_hint().unwrap_or(8));
        while let Some(label) = map.next_key::<String>()? {
            if let MaybeNumber(Some(v)) = map.next_value()? {
                out.push((label, v as f32));
            }
        }
        // Label order, as a `serde_json::Map` iterates: the first of equal scores wins later.
        out.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(LabelScores(out))
    }
}

/// Any JSON value: its number, or `None` for anything else.
struct MaybeNumber(Option<f64>);

impl<'de> serde::Deserialize<'de> for MaybeNumber {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = MaybeNumber;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any value")
            }
            fn visit_f64<E>(self, v: f64) -> Result<MaybeNumber, E> {
                Ok(MaybeNumber(Some(v)))
            }
            fn visit_i64<E>(self, v: i64) -> Result<MaybeNumber, E> {
                Ok(MaybeNumber(Some(v as f64)))
            }
            fn visit_u64<E>(self, v: u64) -> Result<MaybeNumber, E> {
                Ok(MaybeNumber(Some(v as f64)))
            }
            fn visit_bool<E>(self, _: bool) -> Result<MaybeNumber, E> {
                Ok(MaybeNumber(None))
            }
            fn visit_str<E>(self, _: &str) -> Result<MaybeNumber, E> {
                Ok(MaybeNumber(None))
            }
            fn visit_unit<E>(self) -> Result<MaybeNumber, E> {
                Ok(MaybeNumber(None))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<MaybeNumber, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(MaybeNumber(None))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<MaybeNumber, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(MaybeNumber(None))
            }
        }
        d.deserialize_any(V)
    }
}

/// Who took a case's action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaseOrigin {
    /// The bot on its own.
    Automatic,
    /// A moderator (through the bot or in Discord's own interface).
    Manual,
}

/// What the cases list shows.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CaseFilter {
    /// One member's cases.
    pub member: Option<u64>,
    /// One action (`warn`, `ban`, …).
    pub action: Option<String>,
    /// One status (`applied`, `reversed`, …).
    pub status: Option<String>,
    /// Created at or after.
    pub from: Option<DateTime<Utc>>,
    /// Created before.
    pub to: Option<DateTime<Utc>>,
    /// Automatic or manual.
    pub origin: Option<CaseOrigin>,
    /// Keyset cursor: cases numbered below this one.
    pub before_case_no: Option<i64>,
}

/// One day of the overview's series.
#[derive(Debug, Clone, PartialEq)]
pub struct DayCount {
    /// UTC day.
    pub day: NaiveDate,
    /// Series key: a label (messages) or an action (cases); `""` for all messages.
    pub key: String,
    /// Count.
    pub count: i64,
}

/// Appeal outcomes and case reversals over a period.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct DecisionRates {
    /// Appeals decided.
    pub appeals_decided: i64,
    /// Of which approved.
    pub appeals_approved: i64,
    /// Automatic cases.
    pub automatic_cases: i64,
    /// Of which reversed.
    pub automatic_reversed: i64,
}

/// A stored message as a what-if preview replays it.
#[derive(Debug, Clone, PartialEq)]
pub struct ReplayRow {
    /// Message id.
    pub message_id: u64,
    /// Channel.
    pub channel_id: u64,
    /// Author.
    pub author_id: u64,
    /// Posted at.
    pub created_at: DateTime<Utc>,
    /// Label scores in label order (values that are not numbers left out).
    pub scores: Vec<(String, f32)>,
    /// When the author joined, where known.
    pub joined_at: Option<DateTime<Utc>>,
}

/// A member found by the members search.
#[derive(Debug, Clone, PartialEq)]
pub struct MemberSummary {
    /// User id.
    pub user_id: u64,
    /// Messages seen.
    pub message_count: i64,
    /// Last message.
    pub last_seen: DateTime<Utc>,
    /// Cases on record.
    pub cases: i64,
}

/// Someone given dashboard access to a guild by its admins.
#[derive(Debug, Clone, PartialEq)]
pub struct Grant {
    /// `user` or `role`.
    pub kind: String,
    /// The user or role id.
    pub subject_id: u64,
    /// Who granted it.
    pub granted_by: u64,
    /// When.
    pub created_at: DateTime<Utc>,
}

/// Audit list filter.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AuditFilter {
    /// Event kind, e.g. `case.created`.
    pub kind: Option<String>,
    /// Actor or target id.
    pub user: Option<u64>,
    /// Keyset cursor: rows before this sequence number.
    pub before_seq: Option<i64>,
}

/// The UTC day of `from` and the midnight that ends it: counts after it come from case_days.
fn first_day(from: DateTime<Utc>) -> (NaiveDate, DateTime<Utc>) {
    let day = from.date_naive();
    let next = day
        .succ_opt()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map_or(from, |t| t.and_utc());
    (day, next)
}

/// The cases list's conditions, each as ` AND …`.
fn push_case_filter(q: &mut QueryBuilder<Postgres>, f: &CaseFilter) {
    if let Some(m) = f.member {
        q.push(" AND user_id = ").push_bind(db_id(m));
    }
    if let Some(a) = &f.action {
        q.push(" AND action = ").push_bind(a.clone());
    }
    if let Some(s) = &f.status {
        q.push(" AND status = ").push_bind(s.clone());
    }
    if let Some(t) = f.from {
        q.push(" AND created_at >= ").push_bind(t);
    }
    if let Some(t) = f.to {
        q.push(" AND created_at < ").push_bind(t);
    }
    match f.origin {
        Some(CaseOrigin::Automatic) => {
            q.push(" AND (actor_id IS NULL) = true");
        }
        Some(CaseOrigin::Manual) => {
            q.push(" AND (actor_id IS NULL) = false");
        }
        None => {}
    }
    if let Some(c) = f.before_case_no {
        q.push(" AND case_no < ").push_bind(c);
    }
}

impl Storage {
    /// One page of a guild's cases, newest first, `limit` rows after the cursor.
    pub async fn list_cases(
        &self,
        guild_id: u64,
        f: &CaseFilter,
        limit: i64,
    ) -> Result<Vec<Case>, StorageError> {
        // A member's cases are few and their index holds the time: it serves any dates.
        if f.member.is_none() && (f.from.is_some() || f.to.is_some()) {
            return self.list_cases_by_day(guild_id, f, limit).await;
        }
        let mut q: QueryBuilder<Postgres> = QueryBuilder::new(format!(
            "SELECT {CASE_COLUMNS} FROM moderation_cases WHERE guild_id = "
        ));
        q.push_bind(db_id(guild_id));
        push_case_filter(&mut q, f);
        q.push(" ORDER BY case_no DESC LIMIT ").push_bind(limit);
        let rows = q.build().fetch_all(&self.pool).await?;
        rows.iter().map(case_from_row).collect()
    }

    /// [`Self::list_cases`] with dates and no member: the newest `limit` matching cases of each
    /// UTC day of the range (`cases_guild_day_no`, every other filter read from the index),
    /// then the newest `limit` of those. Exact whatever the order of numbers and times, and
    /// about `limit` index entries a day whatever the range's size or the cursor's depth.
    async fn list_cases_by_day(
        &self,
        guild_id: u64,
        f: &CaseFilter,
        limit: i64,
    ) -> Result<Vec<Case>, StorageError> {
        let g = db_id(guild_id);
        let mut tx = self.pool.begin().await?;
        // Over many days the plan's estimate passes jit_above_cost, and compiling would take
        // longer than the query.
        sqlx::query("SET LOCAL jit = off").execute(&mut *tx).await?;
        // The days to visit: the range, cut to the guild's first and last case.
        let (first, last): (Option<DateTime<Utc>>, Option<DateTime<Utc>>) = sqlx::query_as(
            "SELECT min(created_at), max(created_at) FROM moderation_cases WHERE guild_id = $1",
        )
        .bind(g)
        .fetch_one(&mut *tx)
        .await?;
        let (Some(first), Some(last)) = (first, last) else {
            return Ok(Vec::new());
        };
        let lo = f.from.map_or(first, |t| t.max(first)).date_naive();
        // `to` is exclusive: its last instant is 1 µs before.
        let before_to = |t: DateTime<Utc>| {
            t.checked_sub_signed(chrono::Duration::microseconds(1))
                .unwrap_or(t)
        };
        let hi = f.to.map_or(last, |t| before_to(t).min(last)).date_naive();
        if hi < lo {
            return Ok(Vec::new());
        }
        let mut q: QueryBuilder<Postgres> = QueryBuilder::new(format!(
            "SELECT {CASE_COLUMNS} FROM moderation_cases WHERE guild_id = "
        ));
        q.push_bind(g)
            .push(" AND case_no IN (SELECT x.case_no FROM generate_series(0, ")
            .push_bind((hi - lo).num_days())
            .push(") AS d(i) CROSS JOIN LATERAL (SELECT case_no FROM moderation_cases WHERE guild_id = ")
            .push_bind(g)
            .push(" AND (created_at AT TIME ZONE 'UTC')::date = ")
            .push_bind(lo)
            .push("::date + d.i::int");
        push_case_filter(&mut q, f);
        q.push(" ORDER BY case_no DESC LIMIT ")
            .push_bind(limit)
            .push(") x ORDER BY x.case_no DESC LIMIT ")
            .push_bind(limit)
            .push(") ORDER BY case_no DESC");
        let rows = q.build().fetch_all(&mut *tx).await?;
        tx.commit().await?;
        rows.iter().map(case_from_row).collect()
    }

    /// The guild's messages per day over `[from, to)`: all of them (key `""`) and the flagged
    /// ones by top label.
    pub async fn message_days(
        &self,
        guild_id: u64,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<DayCount>, StorageError> {
        let rows: Vec<(NaiveDate, String, i64)> = sqlx::query_as(
            "SELECT day, label, messages FROM message_days
             WHERE guild_id = $1 AND day >= $2 AND day < $3 ORDER BY day, label",
        )
        .bind(db_id(guild_id))
        .bind(from)
        .bind(to)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(day, key, count)| DayCount { day, key, count })
            .collect())
    }

    /// The guild's cases per day and action since `from` (dry-run cases left out).
    pub async fn case_days(
        &self,
        guild_id: u64,
        from: DateTime<Utc>,
    ) -> Result<Vec<DayCount>, StorageError> {
        let (first_day, next_midnight) = first_day(from);
        // Whole days from the case_days counts, the part of `from`'s day after it from the
        // cases themselves (cases_guild_day, index only).
        let rows: Vec<(NaiveDate, String, i64)> = sqlx::query_as(
            "SELECT day, action, sum(n)::bigint FROM (
                 SELECT day, action, cases AS n FROM case_days
                 WHERE guild_id = $1 AND day > $3 AND NOT dry_run
                 UNION ALL
                 SELECT (created_at AT TIME ZONE 'UTC')::date, action, 1 FROM moderation_cases
                 WHERE guild_id = $1 AND created_at >= $2 AND created_at < $4 AND NOT dry_run
             ) c
             GROUP BY 1, 2 HAVING sum(n) > 0 ORDER BY 1, 2",
        )
        .bind(db_id(guild_id))
        .bind(from)
        .bind(first_day)
        .bind(next_midnight)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(day, key, count)| DayCount { day, key, count })
            .collect())
    }

    /// Appeal approvals and reversals of automatic cases since `from`.
    pub async fn decision_rates(
        &self,
        guild_id: u64,
        from: DateTime<Utc>,
    ) -> Result<DecisionRates, StorageError> {
        let g = db_id(guild_id);
        let (first_day, next_midnight) = first_day(from);
        // Two independent counts: on two connections at once.
        let appeals = sqlx::query_as::<_, (i64, i64)>(
            "SELECT count(*), count(*) FILTER (WHERE a.status = 'accepted')
             FROM appeals a JOIN moderation_cases c ON c.case_id = a.case_id
             WHERE c.guild_id = $1 AND a.decided_at >= $2 AND a.status IN ('accepted', 'rejected')",
        )
        .bind(g)
        .bind(from)
        .fetch_one(&self.pool);
        // As in case_days: whole days from the counts, the first one's rest from the cases
        // (cases_guild_automatic, index only).
        let automatic = sqlx::query_as::<_, (i64, i64)>(
            "SELECT COALESCE(sum(n), 0)::bigint, COALESCE(sum(n) FILTER (WHERE reversed), 0)::bigint
             FROM (
                 SELECT cases AS n, reversed FROM case_days
                 WHERE guild_id = $1 AND day > $3 AND automatic AND NOT dry_run
                 UNION ALL
                 SELECT 1, status = 'reversed' FROM moderation_cases
                 WHERE guild_id = $1 AND created_at >= $2 AND created_at < $4
                   AND actor_id IS NULL AND NOT dry_run
             ) a",
        )
        .bind(g)
        .bind(from)
        .bind(first_day)
        .bind(next_midnight)
        .fetch_one(&self.pool);
        let ((decided, approved), (auto, reversed)) = tokio::try_join!(appeals, automatic)?;
        Ok(DecisionRates {
            appeals_decided: decided,
            appeals_approved: approved,
            automatic_cases: auto,
            automatic_reversed: reversed,
        })
    }

    /// Members whose id starts with `prefix` (digits), most recently active first; with no
    /// prefix, the members with the most cases.
    pub async fn search_members(
        &self,
        guild_id: u64,
        prefix: Option<&str>,
        limit: i64,
    ) -> Result<Vec<MemberSummary>, StorageError> {
        let g = db_id(guild_id);
        let rows: Vec<(i64, i64, DateTime<Utc>, i64)> = match prefix {
            Some(p) => {
                // Ids are bit-cast to signed; search the decimal text of the unsigned id.
                sqlx::query_as(
                    "SELECT m.user_id, m.message_count, m.last_seen,
                            (SELECT count(*) FROM moderation_cases c
                              WHERE c.guild_id = m.guild_id AND c.user_id = m.user_id)
                     FROM members m
                     WHERE m.guild_id = $1
                       AND (CASE WHEN m.user_id < 0 THEN (m.user_id::numeric + 18446744073709551616)
                                 ELSE m.user_id::numeric END)::text LIKE $2 || '%'
                     ORDER BY m.last_seen DESC LIMIT $3",
                )
                .bind(g)
                .bind(p)
                .bind(limit)
                .fetch_all(&self.pool)
                .await?
            }
            None => {
                // Counted from cases_guild_day alone; only the top rows meet the members.
                sqlx::query_as(
                    "SELECT c.user_id, COALESCE(m.message_count, 0), COALESCE(m.last_seen, c.last),
                            c.n
                     FROM (SELECT user_id, count(*) AS n, max(created_at) AS last
                           FROM moderation_cases
                           WHERE guild_id = $1 AND created_at >= now() - interval '30 days'
                           GROUP BY user_id ORDER BY count(*) DESC, user_id LIMIT $2) c
                     LEFT JOIN members m ON m.guild_id = $1 AND m.user_id = c.user_id
                     ORDER BY c.n DESC, c.user_id",
                )
                .bind(g)
                .bind(limit)
                .fetch_all(&self.pool)
                .await?
            }
        };
        Ok(rows
            .into_iter()
            .map(|(u, n, seen, cases)| MemberSummary {
                user_id: from_db_id(u),
                message_count: n,
                last_seen: seen,
                cases,
            })
            .collect())
    }

    /// The guild's messages since `from`, oldest first, with what a replay needs; at most
    /// `limit` of them.
    pub async fn replay_rows(
        &self,
        guild_id: u64,
        from: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<ReplayRow>, StorageError> {
        let g = db_id(guild_id);
        // Join times from one read of the guild's members: joining them in SQL makes Postgres
        // hash every message and sort them all again.
        let joined: HashMap<i64, DateTime<Utc>> = sqlx::query_as(
            "SELECT user_id, joined_at FROM members WHERE guild_id = $1 AND joined_at IS NOT NULL",
        )
        .bind(g)
        .fetch_all(&self.pool)
        .await?
        .into_iter()
        .collect();
        type Row = (i64, i64, i64, DateTime<Utc>, Json<LabelScores>);
        let mut out: Vec<ReplayRow> = Vec::new();
        let mut after: Option<(DateTime<Utc>, i64)> = None;
        // Keyset chunks in the index's order: a plan with a LIMIT this size walks
        // messages_guild_time (rows already in order, heap read in time order) where one query
        // for every row would be planned as a scan of the whole table, a sort spilling to disk
        // and, past jit_above_cost, JIT compilation.
        while (out.len() as i64) < limit {
            let chunk = (limit - out.len() as i64).min(REPLAY_CHUNK);
            let rows: Vec<Row> = match after {
                None => sqlx::query_as(
                    "SELECT message_id, channel_id, author_id, created_at, scores FROM messages
                     WHERE guild_id = $1 AND created_at >= $2
                     ORDER BY created_at, message_id LIMIT $3",
                )
                .bind(g)
                .bind(from)
                .bind(chunk),
                Some((at, id)) => sqlx::query_as(
                    "SELECT message_id, channel_id, author_id, created_at, scores FROM messages
                     WHERE guild_id = $1 AND (created_at, message_id) > ($2, $3)
                     ORDER BY created_at, message_id LIMIT $4",
                )
                .bind(g)
                .bind(at)
                .bind(id)
                .bind(chunk),
            }
            .fetch_all(&self.pool)
            .await?;
            let n = rows.len() as i64;
            if let Some(last) = rows.last() {
                after = Some((last.3, last.0));
            }
            out.extend(rows.into_iter().map(|r| ReplayRow {
                message_id: from_db_id(r.0),
                channel_id: from_db_id(r.1),
                author_id: from_db_id(r.2),
                created_at: r.3,
                scores: r.4 .0 .0,
                joined_at: joined.get(&r.2).copied(),
            }));
            if n < chunk {
                break;
            }
        }
        Ok(out)
    }

    /// One page of a guild's audit chain, newest first.
    pub async fn list_audit(
        &self,
        guild_id: u64,
        f: &AuditFilter,
        limit: i64,
    ) -> Result<Vec<AuditRow>, StorageError> {
        let select = "SELECT id, guild_id, seq, kind, actor_id, target_id, created_at, payload,
                    content_digest, prev_hash, row_hash
             FROM audit_log WHERE guild_id = ";
        let rest = |q: &mut QueryBuilder<Postgres>| {
            if let Some(k) = &f.kind {
                q.push(" AND kind = ").push_bind(k.clone());
            }
            if let Some(s) = f.before_seq {
                q.push(" AND seq < ").push_bind(s);
            }
            q.push(" ORDER BY seq DESC LIMIT ").push_bind(limit);
        };
        let mut q: QueryBuilder<Postgres> = QueryBuilder::new("");
        match f.user {
            // Actor or target: the newest rows of each from its own index, merged. One scan
            // for `actor_id = u OR target_id = u` walks the whole chain for a quiet member.
            Some(u) => {
                for (i, column) in ["actor_id", "target_id"].into_iter().enumerate() {
                    q.push(if i == 0 { "(" } else { ") UNION (" })
                        .push(select)
                        .push_bind(db_id(guild_id))
                        .push(format!(" AND {column} = "))
                        .push_bind(db_id(u));
                    rest(&mut q);
                }
                q.push(") ORDER BY seq DESC LIMIT ").push_bind(limit);
            }
            None => {
                q.push(select).push_bind(db_id(guild_id));
                rest(&mut q);
            }
        }
        Ok(q.build_query_as::<AuditRow>().fetch_all(&self.pool).await?)
    }

    /// Audit rows about one case (its id or number at the top of the payload), oldest first:
    /// each half from its index (`audit_case_id`, `audit_case_no`), where reading every payload
    /// of the guild as jsonb took seconds on a large chain.
    pub async fn audit_for_case(
        &self,
        guild_id: u64,
        case_id: i64,
        case_no: i64,
    ) -> Result<Vec<AuditRow>, StorageError> {
        Ok(sqlx::query_as(
            "SELECT id, guild_id, seq, kind, actor_id, target_id, created_at, payload,
                    content_digest, prev_hash, row_hash
             FROM audit_log
             WHERE guild_id = $1 AND payload IS NOT NULL
               AND audit_payload_field(payload, 'case_id') = to_jsonb($2::bigint)
             UNION
             SELECT id, guild_id, seq, kind, actor_id, target_id, created_at, payload,
                    content_digest, prev_hash, row_hash
             FROM audit_log
             WHERE guild_id = $1 AND payload IS NOT NULL
               AND audit_payload_field(payload, 'case_no') = to_jsonb($3::bigint)
             ORDER BY seq LIMIT 200",
        )
        .bind(db_id(guild_id))
        .bind(case_id)
        .bind(case_no)
        .fetch_all(&self.pool)
        .await?)
    }

    /// The guild's dashboard grants.
    pub async fn grants(&self, guild_id: u64) -> Result<Vec<Grant>, StorageError> {
        let rows = sqlx::query(
            "SELECT subject_kind, subject_id, granted_by, created_at FROM dashboard_grants
             WHERE guild_id = $1 ORDER BY created_at",
        )
        .bind(db_id(guild_id))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(Grant {
                    kind: r.try_get(0)?,
                    subject_id: from_db_id(r.try_get(1)?),
                    granted_by: from_db_id(r.try_get(2)?),
                    created_at: r.try_get(3)?,
                })
            })
            .collect()
    }

    /// Grants (`add`) or revokes dashboard access for a user or role, with its audit row in the
    /// same transaction. Returns whether anything changed.
    pub async fn set_grant(
        &self,
        guild_id: u64,
        kind: &str,
        subject_id: u64,
        by: u64,
        add: bool,
    ) -> Result<bool, StorageError> {
        let mut tx = self.pool.begin().await?;
        let changed = if add {
            sqlx::query(
                "INSERT INTO dashboard_grants (guild_id, subject_kind, subject_id, granted_by)
                 VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
            )
            .bind(db_id(guild_id))
            .bind(kind)
            .bind(db_id(subject_id))
            .bind(db_id(by))
            .execute(&mut *tx)
            .await?
            .rows_affected()
        } else {
            sqlx::query(
                "DELETE FROM dashboard_grants
                 WHERE guild_id = $1 AND subject_kind = $2 AND subject_id = $3",
            )
            .bind(db_id(guild_id))
            .bind(kind)
            .bind(db_id(subject_id))
            .execute(&mut *tx)
            .await?
            .rows_affected()
        } > 0;
        if changed {
            let event = AuditEvent {
                guild_id,
                kind: if add {
                    "dashboard.access_granted".into()
                } else {
                    "dashboard.access_revoked".into()
                },
                actor_id: Some(by),
                target_id: (kind == "user").then_some(subject_id),
                payload: serde_json::json!({ "subject": kind, "id": subject_id.to_string() }),
            };
            super::audit::append(&mut tx, &event).await?;
        }
        tx.commit().await?;
        Ok(changed)
    }

    /// Cases of `user_id` in every guild (the appeal portal), newest first.
    pub async fn cases_of_user(&self, user_id: u64, limit: i64) -> Result<Vec<Case>, StorageError> {
        let rows = sqlx::query(&format!(
            "SELECT {CASE_COLUMNS} FROM moderation_cases
             WHERE user_id = $1 AND NOT dry_run AND action <> 'note'
             ORDER BY created_at DESC LIMIT $2"
        ))
        .bind(db_id(user_id))
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(case_from_row).collect()
    }

    /// Which of `candidates` have a row in `guilds` (the bot has served them).
    pub async fn known_guilds(&self, candidates: &[u64]) -> Result<Vec<u64>, StorageError> {
        let ids: Vec<i64> = candidates.iter().map(|g| db_id(*g)).collect();
        let rows: Vec<i64> =
            sqlx::query_scalar("SELECT guild_id FROM guilds WHERE guild_id = ANY($1)")
                .bind(&ids)
                .fetch_all(&self.pool)
                .await?;
        Ok(rows.into_iter().map(from_db_id).collect())
    }

    /// The migrations applied to this database, oldest first, as (version, description,
    /// installed on, success); empty before the first migration.
    pub async fn migration_list(
        &self,
    ) -> Result<Vec<(i64, String, DateTime<Utc>, bool)>, StorageError> {
        let exists: bool = sqlx::query_scalar("SELECT to_regclass('_sqlx_migrations') IS NOT NULL")
            .fetch_one(&self.pool)
            .await?;
        if !exists {
            return Ok(Vec::new());
        }
        Ok(sqlx::query_as(
            "SELECT version, description, installed_on, success FROM _sqlx_migrations
             ORDER BY version",
        )
        .fetch_all(&self.pool)
        .await?)
    }
}
