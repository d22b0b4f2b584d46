//! `MemberBook`: every member's standing, in memory, with a bound on how many members it holds.

use super::standing::MemberStanding;
use std::collections::HashMap;
use std::sync::Mutex;

/// (guild id, user id).
pub type MemberKey = (u64, u64);

/// Standings of recently active members. When full, the least recently seen tenth is evicted
/// (the daemon persists standings through the pipeline's `StandingStore`, so eviction loses nothing).
pub struct MemberBook {
    capacity: usize,
    members: Mutex<HashMap<MemberKey, MemberStanding>>,
}

impl MemberBook {
    /// A book holding at most `capacity` members (at least 16).
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity: capacity.max(16),
            members: Mutex::new(HashMap::new()),
        }
    }

    /// Number of members held.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether the book is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether `key` is held.
    pub fn contains(&self, key: MemberKey) -> bool {
        self.lock().contains_key(&key)
    }

    /// A copy of one member's standing.
    pub fn get(&self, key: MemberKey) -> Option<MemberStanding> {
        self.lock().get(&key).cloned()
    }

    /// Inserts or replaces a standing (e.g. loaded from the database).
    pub fn put(&self, key: MemberKey, standing: MemberStanding) {
        let mut m = self.lock();
        m.insert(key, standing);
        self.evict(&mut m);
    }

    /// Drops a member's standing (the next use loads it again, or starts afresh).
    pub fn remove(&self, key: MemberKey) -> Option<MemberStanding> {
        self.lock().remove(&key)
    }

    /// Runs `f` on the member's standing (created empty when absent) under the lock; `f` must
    /// be quick and must not block.
    pub fn update<R>(&self, key: MemberKey, f: impl FnOnce(&mut MemberStanding) -> R) -> R {
        let mut m = self.lock();
        let r = f(m.entry(key).or_default());
        self.evict(&mut m);
        r
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<MemberKey, MemberStanding>> {
        // A panic elsewhere while holding the lock leaves plain data behind; keep going.
        self.members.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn evict(&self, m: &mut HashMap<MemberKey, MemberStanding>) {
        if m.len() <= self.capacity {
            return;
        }
        let mut seen: Vec<i64> = m.values().map(MemberStanding::last_seen_ms).collect();
        let drop = (self.capacity / 10).max(m.len() - self.capacity);
        let (_, cutoff, _) = seen.select_nth_unstable(drop.saturating_sub(1));
        let cutoff = *cutoff;
        let mut removed = 0;
        m.retain(|_, s| {
            if removed < drop && s.last_seen_ms() <= cutoff {
                removed += 1;
                false
            } else {
                true
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::behaviour::standing::RecentMessage;

    #[test]
    fn stays_bounded_and_keeps_recent_members() {
        let book = MemberBook::new(100);
        for i in 0..1_000u64 {
            book.update((1, i), |s| {
                s.push_message(
                    RecentMessage {
                        at_ms: i as i64,
                        severity: 0.0,
                        fingerprint: None,
                    },
                    0.0,
                    1_000,
                )
            });
        }
        assert!(book.len() <= 100);
        assert!(book.contains((1, 999)));
        assert!(!book.contains((1, 0)));
    }
}
