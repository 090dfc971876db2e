//! The executor: runs a plan's changes against a backend in order, users concurrently, with retries, and reports
//! what was done, what failed and what was not started. Apply consumes `op`s only; it never reads `reason`.

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::stream::{FuturesUnordered, StreamExt};

use crate::backend::{Backend, BackendError, ErrorKind, NewAccessKey, Outcome};
use crate::plan::{Change, Op, Plan};

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

/// How the executor waits; injected so tests never sleep.
pub type Sleep = Arc<dyn Fn(Duration) -> Pin<Box<dyn Future<Output = ()> + Send>> + Send + Sync>;

/// tokio's sleep.
#[must_use]
pub fn tokio_sleep() -> Sleep {
    Arc::new(|d| Box::pin(tokio::time::sleep(d)))
}

/// Where new secrets go. Called before any other call after CreateAccessKey returns.
pub trait KeySink: Send + Sync {
    /// Writes (and fsyncs) the secret; returns where it went, for the report.
    ///
    /// # Errors
    /// When the secret could not be stored; the key is then deleted.
    fn deliver(&self, key: &NewAccessKey) -> std::io::Result<String>;
}

/// Progress events, consumed by the progress bar and logs.
#[derive(Debug)]
pub enum Event<'a> {
    /// A change is about to be sent.
    Started {
        /// Index in the plan.
        index: usize,
        /// The change.
        change: &'a Change,
    },
    /// A change failed and will be tried again.
    Retrying {
        /// Index in the plan.
        index: usize,
        /// The attempt that failed.
        attempt: u32,
        /// Why.
        error: &'a BackendError,
        /// How long until the next attempt.
        delay: Duration,
    },
    /// A change is done.
    Done {
        /// Index in the plan.
        index: usize,
    },
    /// A change failed for good.
    Failed {
        /// Index in the plan.
        index: usize,
        /// Why.
        error: &'a BackendError,
    },
    /// A new key's secret was delivered.
    KeyDelivered {
        /// User.
        user: &'a str,
        /// Key id.
        key_id: &'a str,
        /// Where the secret went.
        location: &'a str,
    },
}

/// A key created and delivered by this apply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveredKey {
    /// User.
    pub user: String,
    /// Key id.
    pub key_id: String,
    /// Where the secret is.
    pub location: String,
}

/// What happened.
#[derive(Debug, Default)]
pub struct Report {
    /// Indexes of changes done.
    pub done: Vec<usize>,
    /// Changes that failed, with the error.
    pub failed: Vec<(usize, BackendError)>,
    /// Indexes of changes never sent.
    pub not_started: Vec<usize>,
    /// Keys created and delivered.
    pub keys: Vec<DeliveredKey>,
    /// Retries made.
    pub retries: u64,
}

impl Report {
    /// Whether everything was done.
    #[must_use]
    pub fn is_success(&self) -> bool {
        self.failed.is_empty() && self.not_started.is_empty()
    }
}

/// Executor settings.
#[derive(Clone)]
pub struct ApplyOptions {
    /// Users worked on at once.
    pub concurrency: usize,
    /// Retry policy.
    pub retry: RetryPolicy,
    /// Waiting.
    pub sleep: Sleep,
    /// Access key ids known from the live read, by lower-cased user; a key outside these (and not created by this
    /// apply) found after an ambiguous CreateAccessKey was never delivered and is deleted.
    pub known_keys: BTreeMap<String, BTreeSet<String>>,
}

impl Default for ApplyOptions {
    fn default() -> Self {
        Self {
            concurrency: 8,
            retry: RetryPolicy::default(),
            sleep: tokio_sleep(),
            known_keys: BTreeMap::new(),
        }
    }
}

struct Shared<'a, B> {
    backend: &'a B,
    plan: &'a Plan,
    opts: &'a ApplyOptions,
    sink: &'a dyn KeySink,
    events: &'a (dyn Fn(&Event<'_>) + Sync),
    stop: AtomicBool,
    report: Mutex<Report>,
    known_keys: Mutex<BTreeMap<String, BTreeSet<String>>>,
}

/// Executes `plan` against `backend`.
pub async fn apply<B: Backend>(
    backend: &B,
    plan: &Plan,
    opts: &ApplyOptions,
    sink: &dyn KeySink,
    events: &(dyn Fn(&Event<'_>) + Sync),
) -> Report {
    let shared = Shared {
        backend,
        plan,
        opts,
        sink,
        events,
        stop: AtomicBool::new(false),
        report: Mutex::new(Report::default()),
        known_keys: Mutex::new(opts.known_keys.clone()),
    };
    let mut groups: Vec<Vec<usize>> = Vec::new();
    let mut by_user: BTreeMap<String, usize> = BTreeMap::new();
    for (i, c) in plan.changes.iter().enumerate() {
        let g = *by_user
            .entry(c.user.to_ascii_lowercase())
            .or_insert_with(|| {
                groups.push(Vec::new());
                groups.len() - 1
            });
        groups[g].push(i);
    }
    let mut pending = groups.into_iter();
    let mut running = FuturesUnordered::new();
    loop {
        while running.len() < opts.concurrency.max(1) && !shared.stop.load(Ordering::SeqCst) {
            match pending.next() {
                Some(g) => running.push(run_user(&shared, g)),
                None => break,
            }
        }
        if running.next().await.is_none() {
            break;
        }
    }
    drop(running);
    let mut report = shared.report.into_inner().expect("report lock");
    report.not_started.extend(pending.flatten());
    report.not_started.sort_unstable();
    report.done.sort_unstable();
    report
}

async fn run_user<B: Backend>(shared: &Shared<'_, B>, indexes: Vec<usize>) {
    let mut created_user = false;
    for (pos, &i) in indexes.iter().enumerate() {
        if shared.stop.load(Ordering::SeqCst) {
            shared
                .report
                .lock()
                .expect("report lock")
                .not_started
                .extend(&indexes[pos..]);
            return;
        }
        let change = &shared.plan.changes[i];
        (shared.events)(&Event::Started { index: i, change });
        match run_change(shared, i, change, created_user).await {
            Ok(()) => {
                created_user |= matches!(change.op, Op::CreateUser { .. });
                shared.report.lock().expect("report lock").done.push(i);
                (shared.events)(&Event::Done { index: i });
            }
            Err(error) => {
                shared.stop.store(true, Ordering::SeqCst);
                (shared.events)(&Event::Failed {
                    index: i,
                    error: &error,
                });
                let mut report = shared.report.lock().expect("report lock");
                report.failed.push((i, error));
                report.not_started.extend(&indexes[pos + 1..]);
                return;
            }
        }
    }
}

/// Whether `error` after an earlier ambiguous attempt means the earlier attempt took effect.
fn already_done(op: &Op, error: &BackendError) -> bool {
    match error.kind {
        ErrorKind::AlreadyExists => matches!(op, Op::CreateUser { .. }),
        ErrorKind::NoSuchEntity => matches!(
            op,
            Op::DeleteUser { .. }
                | Op::DeleteUserPolicy { .. }
                | Op::DetachUserPolicy { .. }
                | Op::RemoveUserFromGroup { .. }
                | Op::DeleteAccessKey { .. }
                | Op::DeleteLoginProfile { .. }
                | Op::DeleteSigningCertificate { .. }
                | Op::DeleteSshPublicKey { .. }
                | Op::DeleteServiceSpecificCredential { .. }
        ),
        _ => false,
    }
}

async fn run_change<B: Backend>(
    shared: &Shared<'_, B>,
    index: usize,
    change: &Change,
    created_user: bool,
) -> Result<(), BackendError> {
    let retry = shared.opts.retry;
    let mut ambiguous_before = false;
    let mut attempt = 0;
    loop {
        attempt += 1;
        let result = shared.backend.execute(&change.op).await;
        let error = match result {
            Ok(Outcome::Done) => return Ok(()),
            Ok(Outcome::AccessKey(key)) => return deliver(shared, key).await,
            Err(e) if ambiguous_before && already_done(&change.op, &e) => return Ok(()),
            Err(e) => e,
        };
        ambiguous_before |= error.ambiguous;
        if matches!(change.op, Op::CreateAccessKey { .. }) && error.ambiguous {
            // Never retry CreateAccessKey blindly: a key may exist whose secret we will never see.
            reconcile_keys(shared, change.op.user()).await?;
        }
        let transient =
            error.is_retryable() || (error.kind == ErrorKind::NoSuchEntity && created_user);
        if !transient || attempt >= retry.attempts {
            return Err(error);
        }
        let delay = retry.delay(attempt, rand::random::<f64>());
        (shared.events)(&Event::Retrying {
            index,
            attempt,
            error: &error,
            delay,
        });
        shared.report.lock().expect("report lock").retries += 1;
        (shared.opts.sleep)(delay).await;
    }
}

async fn deliver<B: Backend>(
    shared: &Shared<'_, B>,
    key: NewAccessKey,
) -> Result<(), BackendError> {
    match shared.sink.deliver(&key) {
        Ok(location) => {
            shared
                .known_keys
                .lock()
                .expect("keys lock")
                .entry(key.user.to_ascii_lowercase())
                .or_default()
                .insert(key.id.clone());
            (shared.events)(&Event::KeyDelivered {
                user: &key.user,
                key_id: &key.id,
                location: &location,
            });
            shared
                .report
                .lock()
                .expect("report lock")
                .keys
                .push(DeliveredKey {
                    user: key.user.clone(),
                    key_id: key.id.clone(),
                    location,
                });
            Ok(())
        }
        Err(io) => {
            // A key nobody can use is a liability: delete it rather than keep it.
            let delete = Op::DeleteAccessKey {
                user: key.user.clone(),
                key_id: key.id.clone(),
            };
            let deleted = shared.backend.execute(&delete).await.is_ok();
            let mut e = BackendError::new(
                ErrorKind::LocalFile,
                "deliver secret",
                format!("could not store the secret of {}: {io}", key.id),
            )
            .on(key.user.clone());
            e.hint = Some(if deleted {
                "the key was deleted; fix the secrets destination and apply again".into()
            } else {
                format!("delete access key {} by hand: its secret is lost", key.id)
            });
            Err(e)
        }
    }
}

async fn reconcile_keys<B: Backend>(
    shared: &Shared<'_, B>,
    user: &str,
) -> Result<(), BackendError> {
    let live = shared.backend.list_access_keys(user).await?;
    let known = shared
        .known_keys
        .lock()
        .expect("keys lock")
        .get(&user.to_ascii_lowercase())
        .cloned()
        .unwrap_or_default();
    for key in live.into_iter().filter(|k| !known.contains(&k.id)) {
        tracing::warn!(user, key_id = %key.id, "deleting an access key whose secret was never received");
        shared
            .backend
            .execute(&Op::DeleteAccessKey {
                user: user.to_owned(),
                key_id: key.id,
            })
            .await?;
    }
    Ok(())
}
