//! In-process windows and buckets with the same semantics as the Redis scripts.

use super::{StateError, WindowSnapshot, WindowStore};
use async_trait::async_trait;
use std::collections::HashMap;
use std::sync::Mutex;

#[derive(Default)]
struct Inner {
    windows: HashMap<String, Vec<(String, i64)>>,
    buckets: HashMap<String, (f64, i64)>,
    claims: HashMap<String, (String, i64)>,
}

/// Windows and token buckets held in this process only.
#[derive(Default)]
pub struct MemoryState {
    inner: Mutex<Inner>,
}

impl MemoryState {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Drops windows that have been empty for a while, so long runs do not grow without bound.
    pub fn prune(&self, at_ms: i64, max_window_ms: i64) {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        inner
            .windows
            .retain(|_, w| w.iter().any(|(_, t)| *t > at_ms - max_window_ms));
        inner.claims.retain(|_, (_, until)| *until > at_ms);
    }
}

fn snapshot(w: &[(String, i64)], with_members: bool) -> WindowSnapshot {
    WindowSnapshot {
        count: w.len() as u64,
        members: if with_members {
            w.iter().map(|(m, _)| m.clone()).collect()
        } else {
            Vec::new()
        },
    }
}

#[async_trait]
impl WindowStore for MemoryState {
    async fn touch(
        &self,
        key: &str,
        member: &str,
        at_ms: i64,
        window_ms: i64,
        with_members: bool,
    ) -> Result<WindowSnapshot, StateError> {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let w = inner.windows.entry(key.to_string()).or_default();
        w.retain(|(m, t)| m != member && *t > at_ms - window_ms);
        // Kept sorted by time so members come out oldest first, as with a Redis sorted set.
        let pos = w.partition_point(|(_, t)| *t <= at_ms);
        w.insert(pos, (member.to_string(), at_ms));
        Ok(snapshot(w, with_members))
    }

    async fn peek(
        &self,
        key: &str,
        at_ms: i64,
        window_ms: i64,
    ) -> Result<WindowSnapshot, StateError> {
        let inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let live: Vec<(String, i64)> = inner
            .windows
            .get(key)
            .map(|w| {
                w.iter()
                    .filter(|(_, t)| *t > at_ms - window_ms)
                    .cloned()
                    .collect()
            })
            .unwrap_or_default();
        Ok(snapshot(&live, true))
    }

    async fn add_new(
        &self,
        key: &str,
        members: &[String],
        at_ms: i64,
        window_ms: i64,
    ) -> Result<Vec<String>, StateError> {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let w = inner.windows.entry(key.to_string()).or_default();
        w.retain(|(_, t)| *t > at_ms - window_ms);
        let mut added: Vec<String> = Vec::new();
        for m in members {
            if w.iter().any(|(x, _)| x == m) {
                continue;
            }
            let pos = w.partition_point(|(_, t)| *t <= at_ms);
            w.insert(pos, (m.clone(), at_ms));
            added.push(m.clone());
        }
        Ok(added)
    }

    async fn claim(
        &self,
        key: &str,
        value: &str,
        at_ms: i64,
        ttl_ms: i64,
    ) -> Result<String, StateError> {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        match inner.claims.get(key) {
            Some((held, until)) if *until > at_ms => Ok(held.clone()),
            _ => {
                inner
                    .claims
                    .insert(key.to_string(), (value.to_string(), at_ms + ttl_ms.max(1)));
                Ok(value.to_string())
            }
        }
    }

    async fn take_token(
        &self,
        key: &str,
        capacity: u32,
        per_minute: u32,
        at_ms: i64,
    ) -> Result<bool, StateError> {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let cap = f64::from(capacity);
        let (tokens, last) = inner.buckets.entry(key.to_string()).or_insert((cap, at_ms));
        let elapsed = (at_ms - *last).max(0) as f64 / 60_000.0;
        *tokens = (*tokens + elapsed * f64::from(per_minute)).min(cap);
        *last = at_ms.max(*last);
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            Ok(true)
        } else {
            Ok(false)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn window_slides_and_dedups() {
        let s = MemoryState::new();
        assert_eq!(s.touch("k", "a", 1_000, 500, false).await.unwrap().count, 1);
        assert_eq!(s.touch("k", "b", 1_200, 500, false).await.unwrap().count, 2);
        // "a" again refreshes rather than duplicates.
        let snap = s.touch("k", "a", 1_300, 500, true).await.unwrap();
        assert_eq!(snap.members, vec!["b".to_string(), "a".to_string()]);
        // 1_200 falls out at 1_700.
        assert_eq!(s.touch("k", "c", 1_700, 500, false).await.unwrap().count, 2);
    }

    #[tokio::test]
    async fn bucket_refills() {
        let s = MemoryState::new();
        assert!(s.take_token("b", 2, 60, 0).await.unwrap());
        assert!(s.take_token("b", 2, 60, 0).await.unwrap());
        assert!(!s.take_token("b", 2, 60, 0).await.unwrap());
        assert!(s.take_token("b", 2, 60, 1_000).await.unwrap());
    }
}
