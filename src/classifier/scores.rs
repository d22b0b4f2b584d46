//! Per-label probabilities for one text.

use serde::ser::{Serialize, SerializeMap, Serializer};
use std::sync::Arc;

/// Probabilities for one text, one per model label, in the model's label order.
#[derive(Debug, Clone, PartialEq)]
pub struct Scores {
    labels: Arc<[String]>,
    values: Vec<f32>,
}

impl Scores {
    /// Pairs `values` with `labels`; the caller guarantees equal lengths (extra entries on
    /// either side are ignored). Public so callers can score with precomputed probabilities.
    pub fn new(labels: Arc<[String]>, values: Vec<f32>) -> Self {
        debug_assert_eq!(labels.len(), values.len());
        Self { labels, values }
    }

    /// Probability of `label`, or `None` when the model has no such label.
    pub fn get(&self, label: &str) -> Option<f32> {
        self.labels
            .iter()
            .position(|l| l == label)
            .and_then(|i| self.values.get(i).copied())
    }

    /// `(label, probability)` pairs in label order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, f32)> {
        self.labels
            .iter()
            .map(String::as_str)
            .zip(self.values.iter().copied())
    }

    /// The label with the highest probability (the first one on ties).
    pub fn max(&self) -> (&str, f32) {
        let mut best = ("", f32::NEG_INFINITY);
        for (label, value) in self.iter() {
            if value > best.1 {
                best = (label, value);
            }
        }
        if best.0.is_empty() {
            // Only reachable with NaN everywhere; report the first label rather than nothing.
            best = (
                self.labels.first().map_or("", String::as_str),
                self.values.first().copied().unwrap_or(f32::NAN),
            );
        }
        best
    }

    /// The labels, in order.
    pub fn labels(&self) -> &[String] {
        &self.labels
    }

    /// The probabilities, in label order.
    pub fn values(&self) -> &[f32] {
        &self.values
    }
}

/// Serialises as a JSON object `label -> probability`, in label order.
impl Serialize for Scores {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.values.len()))?;
        for (label, value) in self.iter() {
            map.serialize_entry(label, &value)?;
        }
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scores() -> Scores {
        let labels: Arc<[String]> =
            vec!["toxic".to_string(), "insult".into(), "threat".into()].into();
        Scores::new(labels, vec![0.2, 0.9, 0.5])
    }

    #[test]
    fn lookup_and_max() {
        let s = scores();
        assert_eq!(s.get("insult"), Some(0.9));
        assert_eq!(s.get("missing"), None);
        assert_eq!(s.max(), ("insult", 0.9));
        assert_eq!(s.iter().count(), 3);
    }

    #[test]
    fn serialises_in_label_order() {
        let json = serde_json::to_string(&scores()).unwrap_or_default();
        assert!(json.starts_with("{\"toxic\":0.2"), "{json}");
        let t = json.find("threat").unwrap_or(0);
        let i = json.find("insult").unwrap_or(usize::MAX);
        assert!(i < t, "{json}");
    }
}
