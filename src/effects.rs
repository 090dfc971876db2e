//! Every source of nondeterminism iamspec has, in one place and injected: waiting, the clock, randomness (retry
//! jitter), and the retry policy that uses them. Production code gets [`Effects::system`]; tests get
//! [`Effects::instant`], which never waits and whose clock is whatever the test says, so no test sleeps on a real
//! timer and simulated days pass in microseconds.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// How to wait.
pub type Sleep = Arc<dyn Fn(Duration) -> Pin<Box<dyn Future<Output = ()> + Send>> + Send + Sync>;

/// The current time, seconds since the Unix epoch.
pub type Clock = Arc<dyn Fn() -> i64 + Send + Sync>;

/// A uniform random number in [0, 1).
pub type Random = Arc<dyn Fn() -> f64 + Send + Sync>;

/// Monotonic time since the effects were made: what pacing and retry budgets measure.
pub type Monotonic = Arc<dyn Fn() -> Duration + Send + Sync>;

/// The injected effects.
#[derive(Clone)]
pub struct Effects {
    /// Waiting.
    pub sleep: Sleep,
    /// The clock.
    pub clock: Clock,
    /// Randomness.
    pub random: Random,
    /// Monotonic time.
    pub monotonic: Monotonic,
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
        let start = std::time::Instant::now();
        Self {
            sleep: Arc::new(|d| Box::pin(tokio::time::sleep(d))),
            clock: Arc::new(system_now),
            random: Arc::new(rand::random::<f64>),
            monotonic: Arc::new(move || start.elapsed()),
        }
    }

    /// For tests: sleeping returns at once but moves monotonic time on by the time slept (so a paced or retried
    /// call sees its budget run out without waiting), the clock reads `now` (see [`Effects::with_clock`] to move
    /// it), and randomness is always 0.5.
    #[must_use]
    pub fn instant(now: i64) -> Self {
        let clock = Arc::new(AtomicI64::new(now));
        let elapsed = Arc::new(AtomicU64::new(0));
        let slept = Arc::clone(&elapsed);
        Self {
            sleep: Arc::new(move |d| {
                let nanos = u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
                slept.fetch_add(nanos, Ordering::SeqCst);
                Box::pin(async {})
            }),
            clock: Arc::new(move || clock.load(Ordering::SeqCst)),
            random: Arc::new(|| 0.5),
            monotonic: Arc::new(move || Duration::from_nanos(elapsed.load(Ordering::SeqCst))),
        }
    }

    /// Monotonic time since these effects were made.
    #[must_use]
    pub fn elapsed(&self) -> Duration {
        (self.monotonic)()
    }

    /// The same effects with another clock.
    #[must_use]
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// The same effects with another monotonic time (tests on tokio's paused clock).
    #[must_use]
    pub fn with_monotonic(mut self, monotonic: Monotonic) -> Self {
        self.monotonic = monotonic;
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

/// The retry budget of one call, the same for reads and writes: exponential backoff with full jitter on
/// throttling, 5xx and connection errors, up to `attempts` tries, and no try started that could not finish (within
/// `attempt_timeout`) before `deadline`. Data, so tests can use zero delays.
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
    /// The longest one attempt may take before it is abandoned (the SDK's attempt timeout).
    pub attempt_timeout: Duration,
    /// The whole call's budget, from its first attempt.
    pub deadline: Duration,
}

impl Default for RetryPolicy {
    /// Up to 16 attempts within 30 s: a throttled call gets a dozen tries, a silent endpoint fails in about 24 s
    /// (three attempts of 8 s).
    fn default() -> Self {
        Self {
            base: Duration::from_millis(100),
            max: Duration::from_secs(5),
            attempts: 16,
            jitter: true,
            attempt_timeout: Duration::from_secs(8),
            deadline: Duration::from_secs(30),
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

    /// Whether attempt `attempt + 1` may start `elapsed` after the first one started, `delay` from now.
    #[must_use]
    pub fn allows(&self, attempt: u32, elapsed: Duration, delay: Duration) -> bool {
        attempt < self.attempts && elapsed + delay + self.attempt_timeout <= self.deadline
    }

    /// [`RetryPolicy::allows`] after a throttled attempt: bounded by the attempts alone. A throttled call's time
    /// goes mostly to waiting its turn at the shared pacer, which slows every worker on purpose; counting that
    /// against the deadline failed calls the account would have served (one in 660 under 30% throttling).
    #[must_use]
    pub fn allows_after_throttling(&self, attempt: u32) -> bool {
        attempt < self.attempts
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
        assert_eq!(r.delay(1, 0.5), Duration::from_millis(100));
        assert_eq!(r.delay(2, 0.5), Duration::from_millis(200));
        assert_eq!(r.delay(20, 0.5), r.max);
        let j = RetryPolicy::default();
        assert_eq!(j.delay(3, 0.0), Duration::ZERO);
        assert_eq!(j.delay(3, 1.0), Duration::from_millis(400));
        assert_eq!(
            Effects::instant(0).backoff(&j, 3),
            Duration::from_millis(200)
        );
    }

    #[test]
    fn the_budget_counts_attempts_and_time() {
        let r = RetryPolicy::default();
        assert!(r.allows(1, Duration::ZERO, Duration::ZERO));
        assert!(
            !r.allows(16, Duration::ZERO, Duration::ZERO),
            "16 attempts at most"
        );
        // A silent endpoint: attempts of 8 s each; the fourth would end after 30 s.
        assert!(r.allows(2, Duration::from_secs(16), Duration::from_millis(100)));
        assert!(!r.allows(3, Duration::from_secs(24), Duration::from_millis(100)));
    }

    #[tokio::test]
    async fn instant_effects_never_wait_but_time_moves_on() {
        let e = Effects::instant(42);
        let started = std::time::Instant::now();
        e.sleep(Duration::from_secs(3600)).await;
        assert!(started.elapsed() < Duration::from_secs(1));
        assert_eq!(e.now(), 42);
        assert_eq!(e.elapsed(), Duration::from_secs(3600));
    }
}
