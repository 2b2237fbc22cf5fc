//! Capped exponential backoff with jitter, reset only after a connection has been healthy for a
//! while — so a venue that accepts and then drops us at once is not hammered (STYLE §4).

use std::time::Duration;

use rand::Rng;

/// Reconnect delays: `initial` doubling to `max`, each ±`jitter` (fraction), from an injected RNG.
#[derive(Debug, Clone)]
pub struct Backoff<R> {
    initial: Duration,
    max: Duration,
    jitter: f64,
    /// How long a connection must stay healthy before the next failure starts again from `initial`.
    healthy_after: Duration,
    attempt: u32,
    rng: R,
}

/// Defaults from STYLE §4: 500 ms doubling to 30 s, ±20 %, reset after 60 s of healthy data.
pub const INITIAL_DELAY: Duration = Duration::from_millis(500);
pub const MAX_DELAY: Duration = Duration::from_secs(30);
pub const HEALTHY_RESET: Duration = Duration::from_secs(60);

impl<R: Rng> Backoff<R> {
    pub fn new(rng: R) -> Self {
        Backoff {
            initial: INITIAL_DELAY,
            max: MAX_DELAY,
            jitter: 0.2,
            healthy_after: HEALTHY_RESET,
            attempt: 0,
            rng,
        }
    }

    /// Overrides the delays (tests, venues with other limits).
    #[must_use]
    pub fn with_limits(
        mut self,
        initial: Duration,
        max: Duration,
        healthy_after: Duration,
    ) -> Self {
        self.initial = initial;
        self.max = max;
        self.healthy_after = healthy_after;
        self
    }

    /// The delay before the next attempt, given how long the last connection was healthy.
    pub fn next_delay(&mut self, healthy_for: Duration) -> Duration {
        if healthy_for >= self.healthy_after {
            self.attempt = 0;
        }
        let exp = self.attempt.min(16);
        self.attempt = self.attempt.saturating_add(1);
        let base = self
            .initial
            .saturating_mul(1u32 << exp)
            .min(self.max)
            .as_secs_f64();
        let factor = 1.0 + self.rng.random_range(-self.jitter..=self.jitter);
        Duration::from_secs_f64((base * factor).max(0.0))
    }

    /// Number of consecutive failures since the last reset.
    #[must_use]
    pub fn attempt(&self) -> u32 {
        self.attempt
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    fn backoff() -> Backoff<StdRng> {
        Backoff::new(StdRng::seed_from_u64(7))
    }

    #[test]
    fn doubles_within_jitter_and_caps() {
        let mut b = backoff();
        let mut expected = 0.5;
        for _ in 0..12 {
            let d = b.next_delay(Duration::ZERO).as_secs_f64();
            assert!(
                d >= expected * 0.8 - 1e-9 && d <= expected * 1.2 + 1e-9,
                "{d} vs {expected}"
            );
            expected = (expected * 2.0).min(30.0);
        }
        assert!(b.next_delay(Duration::ZERO) <= Duration::from_secs(36));
    }

    #[test]
    fn resets_only_after_a_healthy_period() {
        let mut b = backoff();
        for _ in 0..5 {
            b.next_delay(Duration::from_secs(1));
        }
        // A short healthy spell does not reset: still growing.
        assert!(b.next_delay(Duration::from_secs(59)) >= Duration::from_secs_f64(16.0 * 0.8));
        // A long one does.
        assert!(b.next_delay(Duration::from_secs(61)) <= Duration::from_secs_f64(0.6));
        assert_eq!(b.attempt(), 1);
    }
}
