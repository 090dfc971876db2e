//! Client-side pacing at the account's rate limit, learnt from throttling: a token bucket whose rate follows
//! CUBIC, as the AWS SDKs' adaptive retry mode does. Off until the first throttle (an account that never throttles
//! costs nothing); then every call waits for a token; a throttle cuts the rate multiplicatively, successes grow it
//! back along a cubic curve that flattens near the rate that last failed and probes beyond it after.
//!
//! Two rules the SDKs lack keep it steady under concurrency and random faults: one cut per congestion event (a
//! throttle of a call scheduled before the last cut was caused by the old rate, so it does not cut again; keyed on
//! when calls were sent instead, calls queued at the old rate cut again and again, and 1,000 users took 219 s
//! instead of 154 s at 20 writes/s), and a floor, since throttling that does not follow the rate (a noisy neighbour, a fault) must not
//! stall the run. Time and waiting come from [`Effects`], so tests run simulated minutes in milliseconds.

use std::sync::Mutex;
use std::time::Duration;

use crate::effects::Effects;

/// How a pacer adapts. Data, so tests and the benchmark can compare settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PacingConfig {
    /// Whether to pace at all; off, calls go as fast as concurrency allows and throttles are left to retries.
    pub adaptive: bool,
    /// The lowest rate, calls per second.
    pub floor: f64,
    /// The share of the rate kept after a throttle.
    pub beta: f64,
    /// CUBIC's scale: how fast the rate grows back, calls/s per s³.
    pub scale: f64,
}

impl Default for PacingConfig {
    /// The SDKs' constants (β 0.7, C 0.4) with a floor of 10 calls/s.
    fn default() -> Self {
        Self {
            adaptive: true,
            floor: 10.0,
            beta: 0.7,
            scale: 0.4,
        }
    }
}

impl PacingConfig {
    /// No pacing: the comparison the benchmark makes.
    #[must_use]
    pub fn off() -> Self {
        Self {
            adaptive: false,
            ..Self::default()
        }
    }
}

/// What a pacer did, for `--stats` and the benchmark.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct PacingStats {
    /// Calls that went through it.
    pub calls: u64,
    /// Of which answered with throttling.
    pub throttled: u64,
    /// Time calls spent waiting for a token, summed over calls.
    pub waited: Duration,
    /// The rate now, calls/s, `None` while pacing is off (no throttle yet).
    pub rate: Option<f64>,
}

/// Proof that a call waited its turn, carrying the rate it was scheduled at.
#[derive(Debug, Clone, Copy)]
#[must_use = "record the call's outcome"]
pub struct Ticket {
    epoch: u64,
    sent: f64,
}

/// One rate, shared by every worker that sends a kind of call (reads or writes).
#[derive(Debug)]
pub struct Pacer {
    config: PacingConfig,
    effects: Effects,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    enabled: bool,
    /// Tokens per second.
    rate: f64,
    /// Negative when callers have reserved tokens they are waiting for.
    tokens: f64,
    refilled_at: f64,
    /// The rate of the last cut and the time the cubic takes to regain it.
    w_max: f64,
    k: f64,
    last_cut: f64,
    /// Cuts so far: a call scheduled before the last one was scheduled at a rate already cut.
    epoch: u64,
    /// Responses per second, smoothed over half-second buckets, once one has closed.
    measured: f64,
    measured_known: bool,
    bucket: f64,
    in_bucket: u64,
    first_at: Option<f64>,
    answered: u64,
    in_flight: u64,
    stats: PacingStats,
}

/// A bucket holds at most one token: pacing spaces calls evenly rather than letting them burst.
const CAPACITY: f64 = 1.0;
/// Weight of the newest half-second in the measured rate.
const SMOOTHING: f64 = 0.8;
/// The shortest span a rate is measured over, seconds: a few answers in an instant say little.
const MIN_SPAN: f64 = 0.05;
/// The shortest round trip believed, seconds.
const MIN_RTT: f64 = 0.001;

impl Pacer {
    /// A pacer, off until the first throttle.
    #[must_use]
    pub fn new(config: PacingConfig, effects: Effects) -> Self {
        Self {
            config,
            effects,
            state: Mutex::new(State::default()),
        }
    }

    fn now(&self) -> f64 {
        self.effects.elapsed().as_secs_f64()
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic elsewhere cannot leave the numbers inconsistent in a way that matters more than stopping.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Waits until a call may be sent.
    pub async fn acquire(&self) -> Ticket {
        let now = self.now();
        let (wait, epoch) = {
            let mut s = self.state();
            s.stats.calls += 1;
            s.in_flight += 1;
            if !s.enabled {
                return Ticket {
                    epoch: s.epoch,
                    sent: now,
                };
            }
            let refill = (now - s.refilled_at).max(0.0) * s.rate;
            s.tokens = (s.tokens + refill).min(CAPACITY);
            s.refilled_at = now;
            // Reserve now, wait after: callers queue in order instead of racing for each token.
            s.tokens -= 1.0;
            let wait = if s.tokens >= 0.0 {
                0.0
            } else {
                -s.tokens / s.rate
            };
            let wait = Duration::from_secs_f64(wait.min(3600.0));
            s.stats.waited += wait;
            (wait, s.epoch)
        };
        if !wait.is_zero() {
            self.effects.sleep(wait).await;
        }
        Ticket {
            epoch,
            sent: now + wait.as_secs_f64(),
        }
    }

    /// Learns from a call's answer: `throttled` when the service refused it for rate.
    pub fn record(&self, ticket: Ticket, throttled: bool) {
        let now = self.now();
        let c = self.config;
        let mut s = self.state();
        // Little's law: before pacing, the rate offered is the calls in flight over one's round trip.
        #[expect(clippy::cast_precision_loss, reason = "counts far below 2^52")]
        let offered = s.in_flight as f64 / (now - ticket.sent).max(MIN_RTT);
        s.in_flight = s.in_flight.saturating_sub(1);
        if !c.adaptive {
            s.stats.throttled += u64::from(throttled);
            return;
        }
        let measured = s.measure(now);
        if throttled {
            s.stats.throttled += 1;
            if s.enabled && ticket.epoch < s.epoch {
                return;
            }
            let base = if s.enabled {
                s.rate.min(measured.max(c.floor))
            } else {
                offered.max(measured).max(c.floor)
            };
            s.w_max = base;
            s.k = (base * (1.0 - c.beta) / c.scale).cbrt();
            s.last_cut = now;
            s.epoch += 1;
            if !s.enabled {
                s.enabled = true;
                s.tokens = 0.0;
                s.refilled_at = now;
            }
            s.rate = (base * c.beta).max(c.floor);
            tracing::debug!(rate = s.rate, "throttled: pacing slower");
        } else if s.enabled {
            let t = now - s.last_cut - s.k;
            let cubic = c.scale * t * t * t + s.w_max;
            // Never more than twice what is actually being answered: a rate nobody uses proves nothing.
            s.rate = cubic.min(2.0 * measured).max(c.floor);
        }
    }

    /// What this pacer did so far.
    #[must_use]
    pub fn stats(&self) -> PacingStats {
        let s = self.state();
        PacingStats {
            rate: s.enabled.then_some(s.rate),
            ..s.stats
        }
    }
}

impl State {
    /// Counts one response and returns the response rate: smoothed over half-second buckets, or before the first
    /// one closes, the average so far (a throttle in the first instants must not drop the rate to the floor).
    fn measure(&mut self, now: f64) -> f64 {
        let first = *self.first_at.get_or_insert(now);
        if self.answered == 0 {
            self.bucket = now;
        }
        self.answered += 1;
        self.in_bucket += 1;
        let bucket = (now * 2.0).floor() / 2.0;
        if bucket > self.bucket {
            #[expect(clippy::cast_precision_loss, reason = "counts far below 2^52")]
            let current = self.in_bucket as f64 / (bucket - self.bucket);
            self.measured = if self.measured_known {
                current * SMOOTHING + self.measured * (1.0 - SMOOTHING)
            } else {
                current
            };
            self.measured_known = true;
            self.in_bucket = 0;
            self.bucket = bucket;
        }
        if self.measured_known {
            self.measured
        } else {
            #[expect(clippy::cast_precision_loss, reason = "counts far below 2^52")]
            let answered = self.answered as f64;
            answered / (now - first).max(MIN_SPAN)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A server-side token bucket: `rate` per second, `burst` deep, in simulated time.
    struct Limiter {
        rate: f64,
        burst: f64,
        tokens: f64,
        at: f64,
    }

    impl Limiter {
        fn new(rate: f64, burst: f64) -> Self {
            Self {
                rate,
                burst,
                tokens: burst,
                at: 0.0,
            }
        }

        fn admit(&mut self, now: f64) -> bool {
            self.tokens = (self.tokens + (now - self.at) * self.rate).min(self.burst);
            self.at = now;
            if self.tokens >= 1.0 {
                self.tokens -= 1.0;
                true
            } else {
                false
            }
        }
    }

    /// Effects on tokio's paused clock: concurrent workers wait in virtual time that jumps to the next wake-up.
    fn paused_effects() -> Effects {
        let start = tokio::time::Instant::now();
        Effects::instant(0)
            .with_sleep(std::sync::Arc::new(|d| Box::pin(tokio::time::sleep(d))))
            .with_monotonic(std::sync::Arc::new(move || start.elapsed()))
    }

    /// `workers` run `calls` calls through one pacer, like the executor: each call takes `latency`, a throttled one
    /// is retried after exponential backoff (jitter fixed at half). Returns (seconds, throttled answers).
    async fn concurrent(
        config: PacingConfig,
        limiter: Limiter,
        workers: usize,
        calls: u32,
        latency: Duration,
    ) -> (f64, u64) {
        let effects = paused_effects();
        let pacer = Pacer::new(config, effects.clone());
        let limiter = Mutex::new(limiter);
        let next = std::sync::atomic::AtomicU32::new(0);
        let worker = || async {
            while next.fetch_add(1, std::sync::atomic::Ordering::SeqCst) < calls {
                let mut attempt = 0;
                loop {
                    attempt += 1;
                    let ticket = pacer.acquire().await;
                    let admitted = limiter
                        .lock()
                        .unwrap()
                        .admit(effects.elapsed().as_secs_f64());
                    effects.sleep(latency).await;
                    pacer.record(ticket, !admitted);
                    if admitted {
                        break;
                    }
                    let backoff = Duration::from_millis(50 << (attempt - 1).min(6));
                    effects
                        .sleep(backoff.min(Duration::from_millis(2500)))
                        .await;
                }
            }
        };
        futures_util::future::join_all((0..workers).map(|_| worker())).await;
        (effects.elapsed().as_secs_f64(), pacer.stats().throttled)
    }

    #[tokio::test(start_paused = true)]
    async fn eight_workers_run_near_the_limit_with_few_throttles() {
        let (secs, throttled) = concurrent(
            PacingConfig::default(),
            Limiter::new(20.0, 5.0),
            8,
            3000,
            Duration::from_millis(30),
        )
        .await;
        assert!(secs <= 165.0, "{secs:.1} s for a 150 s floor");
        assert!(throttled < 150, "{throttled} throttled of 3000");
    }

    #[tokio::test(start_paused = true)]
    async fn without_pacing_the_limit_is_hit_again_and_again() {
        let run = |config| {
            concurrent(
                config,
                Limiter::new(20.0, 5.0),
                8,
                1000,
                Duration::from_millis(30),
            )
        };
        let (_, paced) = run(PacingConfig::default()).await;
        let (_, unpaced) = run(PacingConfig::off()).await;
        assert!(unpaced > paced * 5, "{unpaced} unpaced vs {paced} paced");
    }

    #[tokio::test]
    async fn nothing_waits_before_the_first_throttle() {
        let effects = Effects::instant(0);
        let pacer = Pacer::new(PacingConfig::default(), effects.clone());
        for _ in 0..1000 {
            let t = pacer.acquire().await;
            pacer.record(t, false);
        }
        assert_eq!(effects.elapsed(), Duration::ZERO);
        assert_eq!(pacer.stats().rate, None);
    }

    #[tokio::test]
    async fn random_throttling_keeps_the_floor() {
        let effects = Effects::instant(0);
        let pacer = Pacer::new(PacingConfig::default(), effects.clone());
        for i in 0..1000u32 {
            let t = pacer.acquire().await;
            effects.sleep(Duration::from_millis(5)).await;
            pacer.record(t, i % 3 == 0);
        }
        let config = PacingConfig::default();
        let rate = pacer.stats().rate.expect("pacing on");
        assert!(rate >= config.floor, "{rate}");
        // 1,000 calls at no less than the floor (each also taking 5 ms).
        let bound = 1000.0 / config.floor + 5.0 + 1.0;
        assert!(
            effects.elapsed().as_secs_f64() <= bound,
            "{:?}",
            effects.elapsed()
        );
    }

    #[tokio::test]
    async fn throttles_of_calls_sent_before_a_cut_cut_once() {
        let effects = Effects::instant(0);
        let pacer = Pacer::new(PacingConfig::default(), effects.clone());
        // Prime the measured rate: 100 calls answered within a second.
        for _ in 0..100 {
            let t = pacer.acquire().await;
            effects.sleep(Duration::from_millis(10)).await;
            pacer.record(t, false);
        }
        let mut in_flight = Vec::new();
        for _ in 0..8 {
            in_flight.push(pacer.acquire().await);
        }
        effects.sleep(Duration::from_millis(10)).await;
        for t in in_flight {
            pacer.record(t, true);
        }
        let rate = pacer.stats().rate.expect("on");
        assert!(rate > 50.0, "eight throttles of one burst cut once: {rate}");
    }
}
