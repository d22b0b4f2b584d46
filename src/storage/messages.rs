//! Message rows: ids, scores and the decision, written in batches by the [`super::MessageWriter`].

use super::{db_id, from_db_id, Storage, StorageError};
use chrono::{DateTime, Utc};
use std::collections::{BTreeMap, HashMap, HashSet};

/// One classified message, as handed to the writer.
#[derive(Debug, Clone, PartialEq)]
pub struct MessageRecord {
    /// Message id.
    pub message_id: u64,
    /// Guild id.
    pub guild_id: u64,
    /// Channel id.
    pub channel_id: u64,
    /// Author id.
    pub author_id: u64,
    /// When it was posted.
    pub created_at: DateTime<Utc>,
    /// When it was last edited (an edit is written again and replaces the row).
    pub edited_at: Option<DateTime<Utc>>,
    /// Probability per classifier label.
    pub scores: BTreeMap<String, f64>,
    /// What was decided, e.g. `allow`, `delete`, `warn`.
    pub decision: String,
    /// Text. Stored only where the guild's effective `storage.store_content` is on (checked
    /// again when written, so a caller cannot store text a guild has not allowed).
    pub content: Option<String>,
}

impl MessageRecord {
    /// The highest label score.
    pub fn max_score(&self) -> f64 {
        self.scores.values().copied().fold(0.0, f64::max)
    }
}

/// A message as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredMessage {
    /// Message id.
    pub message_id: u64,
    /// Channel id.
    pub channel_id: u64,
    /// When it was posted.
    pub created_at: DateTime<Utc>,
    /// When it was edited.
    pub edited_at: Option<DateTime<Utc>>,
    /// Label scores.
    pub scores: serde_json::Value,
    /// Highest score.
    pub max_score: f32,
    /// Decision.
    pub decision: String,
    /// Text, if stored and not yet purged.
    pub content: Option<String>,
}

/// Decisions that count a message as flagged on the dashboard.
pub const FLAGGED_DECISIONS: [&str; 5] = ["warn", "delete", "timeout", "kick", "ban"];

/// Per (guild, UTC day, label) counts of the rows first inserted by this batch: label `""`
/// counts every message, a label the flagged messages whose top score it is.
fn day_counts(
    rows: &[&MessageRecord],
    inserted: &HashSet<i64>,
) -> BTreeMap<(i64, chrono::NaiveDate, String), i64> {
    let mut days = BTreeMap::new();
    for m in rows
        .iter()
        .filter(|m| inserted.contains(&db_id(m.message_id)))
    {
        let g = db_id(m.guild_id);
        let day = m.created_at.date_naive();
        *days.entry((g, day, String::new())).or_insert(0) += 1;
        if FLAGGED_DECISIONS.contains(&m.decision.as_str()) {
            let top = m
                .scores
                .iter()
                .fold(None::<(&String, f64)>, |best, (k, v)| match best {
                    Some((_, b)) if b >= *v => best,
                    _ => Some((k, *v)),
                })
                .map_or_else(|| "rule".to_string(), |(k, _)| k.clone());
            *days.entry((g, day, top)).or_insert(0) += 1;
        }
    }
    days
}

impl Storage {
    /// Writes a batch in one transaction: a multi-row upsert of the messages (UNNEST arrays) and
    /// of their authors' activity. Later copies of one message id win (edits). Text is kept
    /// only for guilds whose settings enable `store_content`, or, where a guild sets nothing,
    /// when `store_content_default` (the global `storage.store_content`) is on.
    pub async fn insert_messages(
        &self,
        batch: &[MessageRecord],
        store_content_default: bool,
    ) -> Result<u64, StorageError> {
        if batch.is_empty() {
            return Ok(0);
        }
        // ON CONFLICT cannot touch one row twice in a statement: keep the last copy of each id.
        let mut latest: HashMap<u64, &MessageRecord> = HashMap::with_capacity(batch.len());
        for m in batch {
            latest.insert(m.message_id, m);
        }
        let rows: Vec<&MessageRecord> = latest.into_values().collect();
        let n = rows.len();
        let mut ids = Vec::with_capacity(n);
        let mut guilds = Vec::with_capacity(n);
        let mut channels = Vec::with_capacity(n);
        let mut authors = Vec::with_capacity(n);
        let mut created = Vec::with_capacity(n);
        let mut edited = Vec::with_capacity(n);
        let mut scores = Vec::with_capacity(n);
        let mut maxes = Vec::with_capacity(n);
        let mut decisions = Vec::with_capacity(n);
        let mut contents = Vec::with_capacity(n);
        for m in &rows {
            ids.push(db_id(m.message_id));
            guilds.push(db_id(m.guild_id));
            channels.push(db_id(m.channel_id));
            authors.push(db_id(m.author_id));
            created.push(m.created_at);
            edited.push(m.edited_at);
            scores.push(serde_json::to_value(&m.scores).unwrap_or_default());
            maxes.push(m.max_score() as f32);
            decisions.push(m.decision.clone());
            contents.push(m.content.clone());
        }

        // Author activity, aggregated per (guild, user); edits do not count as new messages.
        let mut activity: HashMap<(i64, i64), (i64, DateTime<Utc>, u64)> = HashMap::new();
        for m in batch {
            let e = activity
                .entry((db_id(m.guild_id), db_id(m.author_id)))
                .or_insert((0, m.created_at, m.author_id));
            if m.edited_at.is_none() {
                e.0 += 1;
            }
            e.1 = e.1.max(m.edited_at.unwrap_or(m.created_at));
        }
        let mut a_guild = Vec::with_capacity(activity.len());
        let mut a_user = Vec::with_capacity(activity.len());
        let mut a_count = Vec::with_capacity(activity.len());
        let mut a_seen = Vec::with_capacity(activity.len());
        let mut a_created = Vec::with_capacity(activity.len());
        for ((g, u), (count, seen, raw_user)) in activity {
            a_guild.push(g);
            a_user.push(u);
            a_count.push(count);
            a_seen.push(seen);
            a_created.push(super::account_created_at(raw_user));
        }

        let mut tx = self.pool.begin().await?;
        let inserted: Vec<(i64, bool)> = sqlx::query_as(
            "INSERT INTO messages (message_id, guild_id, channel_id, author_id, created_at, edited_at,
                                   scores, max_score, decision, content)
             SELECT t.id, t.g, t.c, t.a, t.cr, t.ed, t.sc, t.mx, t.de,
                    CASE WHEN COALESCE((gs.settings->>'store_content')::boolean, $11) THEN t.co END
             FROM UNNEST($1::bigint[], $2::bigint[], $3::bigint[], $4::bigint[],
                         $5::timestamptz[], $6::timestamptz[], $7::jsonb[], $8::real[],
                         $9::text[], $10::text[]) AS t(id, g, c, a, cr, ed, sc, mx, de, co)
             LEFT JOIN guilds gs ON gs.guild_id = t.g
             ON CONFLICT (message_id) DO UPDATE SET
               edited_at = EXCLUDED.edited_at, scores = EXCLUDED.scores, max_score = EXCLUDED.max_score,
               decision = EXCLUDED.decision,
               content = EXCLUDED.content
             RETURNING message_id, (xmax = 0)",
        )
        .bind(&ids)
        .bind(&guilds)
        .bind(&channels)
        .bind(&authors)
        .bind(&created)
        .bind(&edited)
        .bind(&scores)
        .bind(&maxes)
        .bind(&decisions)
        .bind(&contents)
        .bind(store_content_default)
        .fetch_all(&mut *tx)
        .await?;
        let written = inserted.len() as u64;
        sqlx::query(
            "INSERT INTO guilds (guild_id) SELECT DISTINCT g FROM UNNEST($1::bigint[]) AS g
             ON CONFLICT (guild_id) DO NOTHING",
        )
        .bind(&a_guild)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO members (guild_id, user_id, account_created_at, first_seen, last_seen, message_count)
             SELECT g, u, c, s, s, n FROM UNNEST($1::bigint[], $2::bigint[], $3::timestamptz[],
                                                 $4::timestamptz[], $5::bigint[]) AS t(g, u, c, s, n)
             ORDER BY g, u
             ON CONFLICT (guild_id, user_id) DO UPDATE SET
               message_count = members.message_count + EXCLUDED.message_count,
               last_seen = GREATEST(members.last_seen, EXCLUDED.last_seen)",
        )
        .bind(&a_guild)
        .bind(&a_user)
        .bind(&a_created)
        .bind(&a_seen)
        .bind(&a_count)
        .execute(&mut *tx)
        .await?;
        let new_ids: HashSet<i64> = inserted
            .into_iter()
            .filter_map(|(id, fresh)| fresh.then_some(id))
            .collect();
        let days = day_counts(&rows, &new_ids);
        if !days.is_empty() {
            let (mut d_guild, mut d_day, mut d_label, mut d_n) =
                (Vec::new(), Vec::new(), Vec::new(), Vec::new());
            for ((g, day, label), n) in days {
                d_guild.push(g);
                d_day.push(day);
                d_label.push(label);
                d_n.push(n);
            }
            sqlx::query(
                "INSERT INTO message_days (guild_id, day, label, messages)
                 SELECT * FROM UNNEST($1::bigint[], $2::date[], $3::text[], $4::bigint[])
                 ON CONFLICT (guild_id, day, label) DO UPDATE SET
                   messages = message_days.messages + EXCLUDED.messages",
            )
            .bind(&d_guild)
            .bind(&d_day)
            .bind(&d_label)
            .bind(&d_n)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(written)
    }

    /// A member's most recent messages, newest first.
    pub async fn recent_messages(
        &self,
        guild_id: u64,
        user_id: u64,
        limit: i64,
    ) -> Result<Vec<StoredMessage>, StorageError> {
        type Row = (
            i64,
            i64,
            DateTime<Utc>,
            Option<DateTime<Utc>>,
            serde_json::Value,
            f32,
            String,
            Option<String>,
        );
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT message_id, channel_id, created_at, edited_at, scores, max_score, decision, content
             FROM messages WHERE guild_id = $1 AND author_id = $2
             ORDER BY created_at DESC LIMIT $3",
        )
        .bind(db_id(guild_id))
        .bind(db_id(user_id))
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|r| StoredMessage {
                message_id: from_db_id(r.0),
                channel_id: from_db_id(r.1),
                created_at: r.2,
                edited_at: r.3,
                scores: r.4,
                max_score: r.5,
                decision: r.6,
                content: r.7,
            })
            .collect())
    }

    /// Messages stored for a guild (all authors).
    pub async fn count_messages(&self, guild_id: u64) -> Result<i64, StorageError> {
        Ok(
            sqlx::query_scalar("SELECT count(*) FROM messages WHERE guild_id = $1")
                .bind(db_id(guild_id))
                .fetch_one(&self.pool)
                .await?,
        )
    }
}
