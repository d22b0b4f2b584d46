//! What the dashboard shows beyond plain lists: daily series filled for charting, a member's
//! strike points over the coming days, one incident with the id its raid controls carry, and
//! the database migrations for the operator.

use super::cases::{MemberRecord, StrikeNow};
use super::{Moderation, ServiceError};
use crate::storage::DayCount;
pub use crate::storage::Incident;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use std::collections::BTreeMap;

/// Daily counts ready for a chart: one x per UTC day and one named series per key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DaySeries {
    /// Each day's UTC midnight, in unix seconds, oldest first.
    pub days: Vec<i64>,
    /// (key, one count per day), keys in alphabetical order.
    pub series: Vec<(String, Vec<i64>)>,
}

impl DaySeries {
    /// Sum of every series over every day.
    pub fn total(&self) -> i64 {
        self.series.iter().flat_map(|(_, v)| v.iter()).sum()
    }
}

/// The `days` UTC days ending with `last` (inclusive), one series per key of `rows` that
/// `keep` accepts; a day without a row counts 0 and rows outside the range are left out.
pub fn day_series(
    rows: &[DayCount],
    last: NaiveDate,
    days: u32,
    keep: impl Fn(&str) -> bool,
) -> DaySeries {
    let n = days.max(1) as usize;
    let first = last - Duration::days(n as i64 - 1);
    let xs = (0..n)
        .map(|i| {
            (first + Duration::days(i as i64))
                .and_time(chrono::NaiveTime::MIN)
                .and_utc()
                .timestamp()
        })
        .collect();
    let mut by_key: BTreeMap<&str, Vec<i64>> = BTreeMap::new();
    for r in rows.iter().filter(|r| keep(&r.key)) {
        let slot = (r.day - first).num_days();
        let values = by_key.entry(&r.key).or_insert_with(|| vec![0; n]);
        if let Some(v) = usize::try_from(slot).ok().and_then(|i| values.get_mut(i)) {
            *v += r.count;
        }
    }
    DaySeries {
        days: xs,
        series: by_key
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect(),
    }
}

/// A member's strike points from now on, as their strikes decay.
#[derive(Debug, Clone, PartialEq)]
pub struct StrikeForecast {
    /// Sample times, unix seconds, from now.
    pub at: Vec<i64>,
    /// Strike points at each sample.
    pub points: Vec<f64>,
}

/// Samples the strikes' total points every `24 / per_day` hours for `days` days from `now`:
/// each strike's points halve every `half_life_ms`, as the decision engine counts them.
pub fn strike_forecast(
    strikes: &[StrikeNow],
    half_life_ms: i64,
    now: DateTime<Utc>,
    days: u32,
    per_day: u32,
) -> StrikeForecast {
    let per_day = per_day.clamp(1, 96);
    let step_ms = 86_400_000 / i64::from(per_day);
    let now_ms = now.timestamp_millis();
    let samples = days * per_day + 1;
    let mut at = Vec::with_capacity(samples as usize);
    let mut points = Vec::with_capacity(samples as usize);
    for i in 0..i64::from(samples) {
        let t = now_ms + i * step_ms;
        let p: f64 = strikes
            .iter()
            .map(|s| s.points * crate::behaviour::decay(t - s.at.timestamp_millis(), half_life_ms))
            .sum::<f64>()
            + 0.0;
        at.push(t.div_euclid(1000));
        // Three decimals are plenty for a chart and keep the page small.
        points.push((p * 1000.0).round() / 1000.0);
    }
    StrikeForecast { at, points }
}

/// One incident and the detector's id that its raid controls act on.
#[derive(Debug, Clone, PartialEq)]
pub struct IncidentDetail {
    /// The incident.
    pub incident: Incident,
    /// The detector's id; `None` for an incident recorded without one (no raid controls).
    pub detector_id: Option<String>,
}

/// One applied database migration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrationLine {
    /// Version (its timestamp).
    pub version: i64,
    /// What it does.
    pub description: String,
    /// When it was applied.
    pub installed_on: DateTime<Utc>,
    /// Whether it completed.
    pub success: bool,
}

/// The database's migrations against the ones this build knows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Migrations {
    /// Applied, oldest first.
    pub applied: Vec<MigrationLine>,
    /// How many this build carries.
    pub known: usize,
}

impl Moderation {
    /// A member's strike points over the next `days` days (four samples a day), from the
    /// strikes of their record and the guild's strike half-life.
    pub fn strike_forecast(
        &self,
        guild_id: u64,
        record: &MemberRecord,
        days: u32,
    ) -> StrikeForecast {
        let half_life = self.pipeline.policy_for(guild_id).strike_half_life_ms;
        strike_forecast(&record.strikes, half_life, Utc::now(), days, 4)
    }

    /// Incident `incident_id` of a guild, with its detector id.
    pub async fn incident_detail(
        &self,
        guild_id: u64,
        incident_id: i64,
    ) -> Result<IncidentDetail, ServiceError> {
        match self
            .storage
            .incident_in_guild(guild_id, incident_id)
            .await?
        {
            Some((incident, detector_id)) => Ok(IncidentDetail {
                incident,
                detector_id,
            }),
            None => Err(ServiceError::NotFound(format!(
                "There is no incident {incident_id} in this server."
            ))),
        }
    }

    /// The migrations applied to the database and how many this build knows.
    pub async fn migrations(&self) -> Result<Migrations, ServiceError> {
        let applied = self
            .storage
            .migration_list()
            .await?
            .into_iter()
            .map(
                |(version, description, installed_on, success)| MigrationLine {
                    version,
                    description,
                    installed_on,
                    success,
                },
            )
            .collect();
        Ok(Migrations {
            applied,
            known: self.storage.migration_status().await?.known,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("date")
    }

    fn row(day: &str, key: &str, count: i64) -> DayCount {
        DayCount {
            day: d(day),
            key: key.into(),
            count,
        }
    }

    #[test]
    fn day_series_fills_missing_days_with_zero() {
        let rows = [
            row("2026-01-01", "", 5),
            row("2026-01-03", "", 7),
            row("2026-01-03", "toxicity", 2),
            row("2025-12-20", "", 99), // before the range
        ];
        let s = day_series(&rows, d("2026-01-03"), 3, |k| k.is_empty());
        assert_eq!(s.days, vec![1_767_225_600, 1_767_312_000, 1_767_398_400]);
        assert_eq!(s.series, vec![(String::new(), vec![5, 0, 7])]);
        assert_eq!(s.total(), 12);
    }

    #[test]
    fn day_series_one_series_per_key_sorted() {
        let rows = [
            row("2026-01-02", "threat", 1),
            row("2026-01-02", "insult", 3),
            row("2026-01-02", "insult", 1),
            row("2026-01-02", "", 50),
        ];
        let s = day_series(&rows, d("2026-01-02"), 2, |k| !k.is_empty());
        assert_eq!(
            s.series,
            vec![("insult".into(), vec![0, 4]), ("threat".into(), vec![0, 1])]
        );
        let none = day_series(&[], d("2026-01-02"), 30, |_| true);
        assert_eq!(none.days.len(), 30);
        assert!(none.series.is_empty());
    }

    fn strike(at: DateTime<Utc>, points: f64) -> StrikeNow {
        StrikeNow {
            at,
            points,
            now: points,
            fades_at: at,
        }
    }

    #[test]
    fn forecast_halves_each_half_life() {
        let now = Utc
            .with_ymd_and_hms(2026, 1, 1, 0, 0, 0)
            .single()
            .expect("time");
        let day = 86_400_000;
        let f = strike_forecast(&[strike(now, 4.0)], day, now, 3, 1);
        assert_eq!(f.at.len(), 4);
        assert_eq!(f.at[0], now.timestamp());
        assert_eq!(f.at[1] - f.at[0], 86_400);
        assert_eq!(f.points, vec![4.0, 2.0, 1.0, 0.5]);
    }

    #[test]
    fn forecast_sums_strikes_and_never_rises() {
        let now = Utc
            .with_ymd_and_hms(2026, 1, 1, 0, 0, 0)
            .single()
            .expect("time");
        let day = 86_400_000;
        let older = strike(now - Duration::days(1), 2.0);
        let newer = strike(now, 1.0);
        let f = strike_forecast(&[older, newer], day, now, 30, 4);
        assert_eq!(f.points.len(), 121);
        assert!((f.points[0] - 2.0).abs() < 1e-9);
        assert!(f.points.windows(2).all(|w| w[1] <= w[0]));
        let empty = strike_forecast(&[], day, now, 30, 4);
        assert!(empty
            .points
            .iter()
            .all(|p| *p == 0.0 && p.is_sign_positive()));
    }
}
