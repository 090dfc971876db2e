//! Every source of nondeterminism iamspec has, in one place and injected: waiting, the clock, randomness (retry
//! jitter), and the retry policy that uses them. Production code gets [`Effects::system`]; tests get
//! [`Effects::instant`], which never waits and whose clock is whatever the test says, so no test sleeps on a real
//! timer and simulated days pass in microseconds.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// How to wait.
pub type Sleep = Arc<dyn Fn(Duration) -> Pin<Box<dyn Future<Output = ()> + Send>> + Send + Sync>;

/// The current time, seconds since the Unix epoch.
pub type Clock = Arc<dyn Fn() -> i64 + Send + Sync>;

/// A uniform random number in [0, 1).
pub type Random = Arc<dyn Fn() -> f64 + Send + Sync>;

/// The injected effects.
#[derive(Clone)]
pub struct Effects {
    /// Waiting.
    pub sleep: Sleep,
    /// The clock.
    pub clock: Clock,
    /// Randomness.
    pub random: Random,
}

impl std::fmt::Debug for Effects {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Effects").finish_non_exhaustive()
    }
}

impl Effects {
    /// The real ones: tokio's timer, the system clock, the thread-local generator.
    #[must_use]
    pub fn system() -> Self {
        Self {
            sleep: Arc::new(|d| Box::pin(tokio::time::sleep(d))),
            clock: Arc::new(system_now),
            random: Arc::new(rand::random::<f64>),
        }
    }

    /// For tests: sleeping returns at once, the clock reads `now` (see [`Effects::with_clock`] to move it), and
    /// randomness is always 0.5.
    #[must_use]
    pub fn instant(now: i64) -> Self {
        let clock = Arc::new(AtomicI64::new(now));
        Self {
            sleep: Arc::new(|_| Box::pin(async {})),
            clock: Arc::new(move || clock.load(Ordering::SeqCst)),
            random: Arc::new(|| 0.5),
        }
    }

    /// The same effects with another clock.
    #[must_use]
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// The same effects with another way of waiting (tests record the delays).
    #[must_use]
    pub fn with_sleep(mut self, sleep: Sleep) -> Self {
        self.sleep = sleep;
        self
    }

    /// The current time, seconds since the epoch.
    #[must_use]
    pub fn now(&self) -> i64 {
        (self.clock)()
    }

    /// Waits `d`.
    pub async fn sleep(&self, d: Duration) {
        (self.sleep)(d).await;
    }

    /// The delay before retry `attempt + 1` under `policy`, jittered by this randomness.
    #[must_use]
    pub fn backoff(&self, policy: &RetryPolicy, attempt: u32) -> Duration {
        policy.delay(attempt, (self.random)())
    }
}

/// Seconds since the epoch, from the system clock.
#[must_use]
pub fn system_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// Exponential backoff with full jitter. Data, so tests can use zero delays.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetryPolicy {
    /// First delay.
    pub base: Duration,
    /// Largest delay.
    pub max: Duration,
    /// Attempts in all, the first included.
    pub attempts: u32,
    /// Whether to randomise each delay in [0, delay] (AWS's "full jitter").
    pub jitter: bool,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            base: Duration::from_millis(200),
            max: Duration::from_secs(20),
            attempts: 8,
            jitter: true,
        }
    }
}

impl RetryPolicy {
    /// The delay before attempt `attempt + 1` (attempt counts from 1); `unit` in [0, 1) picks the jitter.
    #[must_use]
    pub fn delay(&self, attempt: u32, unit: f64) -> Duration {
        let exp = self
            .base
            .saturating_mul(1u32 << attempt.saturating_sub(1).min(16))
            .min(self.max);
        if self.jitter {
            exp.mul_f64(unit.clamp(0.0, 1.0))
        } else {
            exp
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        let r = RetryPolicy {
            jitter: false,
            ..RetryPolicy::default()
        };
        assert_eq!(r.delay(1, 0.5), Duration::from_millis(200));
        assert_eq!(r.delay(2, 0.5), Duration::from_millis(400));
        assert_eq!(r.delay(20, 0.5), r.max);
        let j = RetryPolicy::default();
        assert_eq!(j.delay(3, 0.0), Duration::ZERO);
        assert_eq!(j.delay(3, 1.0), Duration::from_millis(800));
        assert_eq!(
            Effects::instant(0).backoff(&j, 3),
            Duration::from_millis(400)
        );
    }

    #[tokio::test]
    async fn instant_effects_never_wait() {
        let e = Effects::instant(42);
        let started = std::time::Instant::now();
        e.sleep(Duration::from_secs(3600)).await;
        assert!(started.elapsed() < Duration::from_secs(1));
        assert_eq!(e.now(), 42);
    }
}
