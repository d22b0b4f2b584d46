//! Human-friendly durations ("10m", "1h 30m", "7d") that are parsed during validation,
//! so one bad value is reported together with every other problem instead of aborting the load.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::time::Duration;

/// A duration as written in configuration. Accepts humantime strings or a bare number of seconds.
#[derive(Clone, PartialEq, Eq)]
pub struct DurationSpec {
    raw: String,
    parsed: Option<Duration>,
}

impl DurationSpec {
    /// Builds a spec from a literal known to be valid (used for built-in defaults).
    pub fn from_secs(secs: u64) -> Self {
        let d = Duration::from_secs(secs);
        Self {
            raw: humantime::format_duration(d).to_string(),
            parsed: Some(d),
        }
    }

    /// Parses `raw`; an unparsable value is kept and reported by validation.
    pub fn parse(raw: &str) -> Self {
        let trimmed = raw.trim();
        let parsed = if let Ok(secs) = trimmed.parse::<u64>() {
            Some(Duration::from_secs(secs))
        } else {
            humantime::parse_duration(trimmed).ok()
        };
        Self {
            raw: trimmed.to_string(),
            parsed,
        }
    }

    /// The parsed value, or `None` when the text was not a duration.
    pub fn get(&self) -> Option<Duration> {
        self.parsed
    }

    /// The parsed value, or zero. Only call after validation succeeded.
    pub fn value(&self) -> Duration {
        self.parsed.unwrap_or_default()
    }

    /// The text as the operator wrote it.
    pub fn raw(&self) -> &str {
        &self.raw
    }
}

impl fmt::Debug for DurationSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.raw)
    }
}

impl fmt::Display for DurationSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.raw)
    }
}

impl Serialize for DurationSpec {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.raw)
    }
}

impl<'de> Deserialize<'de> for DurationSpec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Int(u64),
            Float(f64),
            Str(String),
        }
        Ok(match Raw::deserialize(d)? {
            Raw::Int(n) => DurationSpec::from_secs(n),
            // Negative or fractional numbers are kept verbatim so validation can name them.
            Raw::Float(f) => DurationSpec {
                raw: f.to_string(),
                parsed: (f >= 0.0 && f.is_finite()).then(|| Duration::from_secs_f64(f)),
            },
            Raw::Str(s) => DurationSpec::parse(&s),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_humantime_and_seconds() {
        assert_eq!(
            DurationSpec::parse("10m").get(),
            Some(Duration::from_secs(600))
        );
        assert_eq!(
            DurationSpec::parse("1h 30m").get(),
            Some(Duration::from_secs(5400))
        );
        assert_eq!(
            DurationSpec::parse("45").get(),
            Some(Duration::from_secs(45))
        );
        assert_eq!(
            DurationSpec::parse("7d").get(),
            Some(Duration::from_secs(7 * 86_400))
        );
        assert_eq!(DurationSpec::parse("soon").get(), None);
        assert_eq!(DurationSpec::parse("soon").raw(), "soon");
    }
}
