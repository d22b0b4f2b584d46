//! Invalid-request guard: Discord bans a bot's IP for a while after 10,000 responses of
//! 401, 403 or 429 within 10 minutes. A misconfigured role hierarchy during a raid can burn
//! through that quickly, so the REST edge counts those responses in a sliding window and
//! stops sending once a much smaller safety budget is spent.
//!
//! Pure logic: the caller passes the clock in, which keeps it deterministic under test.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// Discord's window for counting invalid requests.
pub const INVALID_REQUEST_WINDOW: Duration = Duration::from_secs(10 * 60);
/// Default budget: a tenth of Discord's 10,000, leaving room for other processes on the IP.
pub const DEFAULT_INVALID_REQUEST_BUDGET: usize = 1_000;

/// Sliding-window counter of invalid (401/403/429) responses.
#[derive(Debug, Clone)]
pub struct InvalidRequestGuard {
    window: Duration,
    budget: usize,
    hits: VecDeque<Instant>,
}

impl InvalidRequestGuard {
    /// A guard allowing `budget` invalid responses per `window`.
    pub fn new(budget: usize, window: Duration) -> Self {
        Self {
            window,
            budget,
            hits: VecDeque::new(),
        }
    }

    fn expire(&mut self, now: Instant) {
        while let Some(&oldest) = self.hits.front() {
            if now.saturating_duration_since(oldest) >= self.window {
                self.hits.pop_front();
            } else {
                break;
            }
        }
    }

    /// Whether another request may be sent at `now` (the budget is not yet spent).
    pub fn allows(&mut self, now: Instant) -> bool {
        self.expire(now);
        self.hits.len() < self.budget
    }

    /// Records one invalid response at `now`.
    pub fn record(&mut self, now: Instant) {
        self.expire(now);
        self.hits.push_back(now);
    }

    /// Invalid responses counted in the window ending at `now`.
    pub fn count(&mut self, now: Instant) -> usize {
        self.expire(now);
        self.hits.len()
    }

    /// The configured budget.
    pub fn budget(&self) -> usize {
        self.budget
    }
}

impl Default for InvalidRequestGuard {
    fn default() -> Self {
        Self::new(DEFAULT_INVALID_REQUEST_BUDGET, INVALID_REQUEST_WINDOW)
    }
}

/// Whether an HTTP status counts towards Discord's invalid-request limit.
pub fn counts_as_invalid(status: u16) -> bool {
    matches!(status, 401 | 403 | 429)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn trips_at_budget_and_recovers_after_window() {
        let t0 = Instant::now();
        let mut g = InvalidRequestGuard::new(3, Duration::from_secs(600));
        for i in 0..3 {
            assert!(g.allows(t0 + Duration::from_secs(i)));
            g.record(t0 + Duration::from_secs(i));
        }
        assert!(!g.allows(t0 + Duration::from_secs(10)));
        // The first hit leaves the window at exactly t0 + 600 s.
        assert!(g.allows(t0 + Duration::from_secs(600)));
        assert_eq!(g.count(t0 + Duration::from_secs(600)), 2);
    }

    #[test]
    fn only_401_403_429_count() {
        assert!(counts_as_invalid(401) && counts_as_invalid(403) && counts_as_invalid(429));
        assert!(!counts_as_invalid(404) && !counts_as_invalid(500) && !counts_as_invalid(200));
    }

    proptest! {
        #[test]
        fn never_counts_more_than_hits_inside_window(
            gaps in proptest::collection::vec(0u64..120, 0..200),
            budget in 1usize..50,
        ) {
            let t0 = Instant::now();
            let window = Duration::from_secs(600);
            let mut g = InvalidRequestGuard::new(budget, window);
            let mut now = t0;
            let mut times = Vec::new();
            for gap in gaps {
                now += Duration::from_secs(gap);
                if g.allows(now) { g.record(now); times.push(now); }
                let inside = times.iter().filter(|&&t| now.duration_since(t) < window).count();
                prop_assert_eq!(g.count(now), inside);
                prop_assert!(inside <= budget);
            }
        }
    }
}
