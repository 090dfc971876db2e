//! The executor: runs a plan's changes against a backend in order, targets concurrently within a phase, with
//! retries, and reports what was done, what failed and what was not started. It consumes `op`s only; it never
//! reads `reason`.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use futures_util::stream::{FuturesUnordered, StreamExt};

use super::Cancel;
use crate::backend::{Backend, BackendError, ErrorKind, NewAccessKey, Outcome};
use crate::diff::kind::Existing;
use crate::diff::Guard;
use crate::effects::{Effects, RetryPolicy};
use crate::model::Account;
use crate::plan::{Change, Op, Phase, Plan};

/// Where new secrets go. Called before any other call after CreateAccessKey returns.
pub trait KeySink: Send + Sync {
    /// Writes (and fsyncs) the secret; returns where it went, for the report.
    ///
    /// # Errors
    /// When the secret could not be stored; the key is then deleted.
    fn deliver(&self, key: &NewAccessKey) -> std::io::Result<String>;

    /// Removes a secret this sink holds of a key that was just deleted as never delivered (a run killed between
    /// storing the secret and recording it), never reading or printing it; returns where it was, if anywhere.
    ///
    /// # Errors
    /// When a file that is there could not be removed.
    fn discard(&self, user: &str, key_id: &str) -> std::io::Result<Option<String>>;
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
    /// The secret file of a key deleted as never delivered was removed.
    SecretDiscarded {
        /// User.
        user: &'a str,
        /// Key id.
        key_id: &'a str,
        /// Where the file was.
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
#[derive(Clone, Debug)]
pub struct ApplyOptions {
    /// Targets worked on at once.
    pub concurrency: usize,
    /// Retry policy.
    pub retry: RetryPolicy,
    /// Waiting and jitter.
    pub effects: Effects,
    /// Access key ids known from the live read, by lower-cased user; a key outside these (and not created by this
    /// apply) found after an ambiguous CreateAccessKey was never delivered and is deleted.
    pub known_keys: BTreeMap<String, BTreeSet<String>>,
    /// Set by Ctrl-C / SIGTERM: no new call starts; the ones in flight finish.
    pub cancel: Cancel,
}

impl ApplyOptions {
    /// Default settings with these effects.
    #[must_use]
    pub fn new(effects: Effects) -> Self {
        Self {
            concurrency: 8,
            retry: RetryPolicy::default(),
            effects,
            known_keys: BTreeMap::new(),
            cancel: Cancel::new(),
        }
    }
}

/// The access key ids of every live user whose keys were read, by lower-cased user name.
#[must_use]
pub fn known_keys(live: &Account) -> BTreeMap<String, BTreeSet<String>> {
    live.users
        .values()
        .map(|u| {
            (
                u.name.to_ascii_lowercase(),
                u.access_keys.iter().map(|k| k.id.clone()).collect(),
            )
        })
        .collect()
}

impl<B> Shared<'_, B> {
    /// Whether new work must not start: a failure, or a cancellation.
    fn stopped(&self) -> bool {
        self.stop.load(Ordering::SeqCst) || self.opts.cancel.is_set()
    }
}

struct Shared<'a, B> {
    backend: &'a B,
    guard: &'a Guard,
    plan: &'a Plan,
    opts: &'a ApplyOptions,
    sink: &'a dyn KeySink,
    events: &'a (dyn Fn(&Event<'_>) + Sync),
    stop: AtomicBool,
    report: Mutex<Report>,
    known_keys: Mutex<BTreeMap<String, BTreeSet<String>>>,
}

/// Executes `plan` against `backend`, sending only what `guard` allows.
pub async fn apply<B: Backend>(
    backend: &B,
    plan: &Plan,
    guard: &Guard,
    opts: &ApplyOptions,
    sink: &dyn KeySink,
    events: &(dyn Fn(&Event<'_>) + Sync),
) -> Report {
    let shared = Shared {
        backend,
        guard,
        plan,
        opts,
        sink,
        events,
        stop: AtomicBool::new(false),
        report: Mutex::new(Report::default()),
        known_keys: Mutex::new(opts.known_keys.clone()),
    };
    // Changes of one target run in order; the target runs in the latest phase any of its changes needs.
    let mut groups: Vec<(Phase, Vec<usize>)> = Vec::new();
    let mut by_target = BTreeMap::new();
    for (i, c) in plan.changes.iter().enumerate() {
        let g = *by_target.entry(c.target.folded()).or_insert_with(|| {
            groups.push((Phase::Main, Vec::new()));
            groups.len() - 1
        });
        groups[g].1.push(i);
    }
    for (phase, indexes) in &mut groups {
        *phase = indexes
            .iter()
            .map(|i| plan.changes[*i].op.phase())
            .max()
            .unwrap_or(Phase::Main);
    }
    let mut not_started = Vec::new();
    for current in Phase::ALL {
        let mut pending = groups
            .iter()
            .filter(|(phase, _)| *phase == current)
            .map(|(_, indexes)| indexes.clone());
        if shared.stopped() {
            not_started.extend(pending.flatten());
            continue;
        }
        let mut running = FuturesUnordered::new();
        loop {
            while running.len() < opts.concurrency.max(1) && !shared.stopped() {
                match pending.next() {
                    Some(g) => running.push(run_target(&shared, g)),
                    None => break,
                }
            }
            if running.next().await.is_none() {
                break;
            }
        }
        not_started.extend(pending.flatten());
    }
    let mut report = shared.report.into_inner().expect("report lock");
    report.not_started.extend(not_started);
    report.not_started.sort_unstable();
    report.done.sort_unstable();
    report
}

async fn run_target<B: Backend>(shared: &Shared<'_, B>, indexes: Vec<usize>) {
    let mut created_user = false;
    for (pos, &i) in indexes.iter().enumerate() {
        if shared.stopped() {
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
                created_user |= change.op.creates_target();
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

/// A create met EntityAlreadyExists: re-read and accept only an object that is what this create makes (owned,
/// same path, tags and documents, nothing else on it), as an earlier attempt whose response was lost, or another
/// apply of the same spec, would have made it. Anything else is never written to.
async fn same_object_exists<B: Backend>(
    shared: &Shared<'_, B>,
    op: &Op,
    error: BackendError,
) -> Result<(), BackendError> {
    if !op.creates_target() {
        return Err(error);
    }
    let scope = crate::backend::ReadScope {
        owner: shared.guard.owner().to_owned(),
        key_users: BTreeSet::new(),
    };
    let live = shared.backend.read(&scope).await?;
    let same =
        match crate::diff::kind::of(op.target_kind()).made_by(&live, op, shared.guard.owner()) {
            Existing::Same => true,
            Existing::Differs => false,
            Existing::SameIfTagged { arn, tags } => {
                let read = shared
                    .backend
                    .read_policy_tags(std::slice::from_ref(&arn))
                    .await?;
                read.get(&arn) == Some(&tags)
            }
        };
    if same {
        tracing::info!(
            target = %crate::display::Escaped(&op.target().to_string()),
            "created by an earlier attempt or another run with the same spec; continuing"
        );
        return Ok(());
    }
    let mut e = error;
    e.hint = Some(format!(
        "a {} of this name appeared that iamspec does not own (or that differs); run `iamspec plan` again",
        op.target().kind().noun()
    ));
    Err(e)
}

/// Sends one operation, if the guard allows it.
async fn send<B: Backend>(shared: &Shared<'_, B>, op: &Op) -> Result<Outcome, BackendError> {
    if let Err(refusal) = shared.guard.check(op) {
        return Err(
            BackendError::new(ErrorKind::Refused, op.api_name(), refusal.to_string())
                .on(op.target().to_string()),
        );
    }
    shared.backend.execute(op).await
}

/// One call's retry budget: its attempts so far and when the first began.
struct Budget {
    attempt: u32,
    started: Duration,
}

impl Budget {
    fn start<B>(shared: &Shared<'_, B>) -> Self {
        Self {
            attempt: 1,
            started: shared.opts.effects.elapsed(),
        }
    }

    /// Waits before the next attempt after `error`, or says the budget is spent.
    async fn wait<B>(
        &mut self,
        shared: &Shared<'_, B>,
        index: Option<usize>,
        error: &BackendError,
    ) -> bool {
        let effects = &shared.opts.effects;
        let retry = &shared.opts.retry;
        let delay = effects.backoff(retry, self.attempt);
        let allowed = if error.kind == ErrorKind::Throttling {
            retry.allows_after_throttling(self.attempt)
        } else {
            retry.allows(self.attempt, effects.elapsed() - self.started, delay)
        };
        if !allowed {
            return false;
        }
        if let Some(index) = index {
            (shared.events)(&Event::Retrying {
                index,
                attempt: self.attempt,
                error,
                delay,
            });
        } else {
            tracing::debug!(operation = error.operation, attempt = self.attempt, ?delay, error = %crate::display::Escaped(&error.to_string()), "retrying");
        }
        shared.report.lock().expect("report lock").retries += 1;
        self.attempt += 1;
        effects.sleep(delay).await;
        true
    }
}

/// Sends an idempotent operation within one retry budget: the cleanup and bookkeeping calls around a change.
/// Removing what is already gone counts as done.
async fn send_retrying<B: Backend>(shared: &Shared<'_, B>, op: &Op) -> Result<(), BackendError> {
    let mut budget = Budget::start(shared);
    loop {
        match send(shared, op).await {
            Ok(_) => return Ok(()),
            Err(e) if e.kind == ErrorKind::NoSuchEntity && op.is_removal() => return Ok(()),
            Err(e) if e.is_retryable() && budget.wait(shared, None, &e).await => {}
            Err(e) => return Err(e),
        }
    }
}

async fn run_change<B: Backend>(
    shared: &Shared<'_, B>,
    index: usize,
    change: &Change,
    created_user: bool,
) -> Result<(), BackendError> {
    let mut budget = Budget::start(shared);
    loop {
        let result = send(shared, &change.op).await;
        let error = match result {
            Ok(Outcome::Done) => {
                if let Op::DeleteUndeliveredKey { user, key_id } = &change.op {
                    discard(shared, user, key_id);
                }
                return Ok(());
            }
            Ok(Outcome::AccessKey(key)) => return deliver(shared, key).await,
            // Another run (a second pipeline) got there first: fine only if what it made is what we would make.
            Err(e) if e.kind == ErrorKind::AlreadyExists => {
                return same_object_exists(shared, &change.op, e).await
            }
            // Removing what is already gone is done, whoever removed it.
            Err(e) if e.kind == ErrorKind::NoSuchEntity && change.op.is_removal() => return Ok(()),
            Err(e) => e,
        };
        if matches!(change.op, Op::CreateAccessKey { .. }) && error.ambiguous {
            // Never retry CreateAccessKey blindly: a key may exist whose secret we will never see.
            reconcile_keys(shared, change.op.target_name()).await?;
        }
        // A user just created may not be visible to the next call yet (IAM is eventually consistent).
        let transient =
            error.is_retryable() || (error.kind == ErrorKind::NoSuchEntity && created_user);
        if !transient || !budget.wait(shared, Some(index), &error).await {
            return Err(error);
        }
    }
}

/// A crash can leave the secret of a key it never recorded as delivered in the secrets directory; the key is gone
/// now, so the file goes too (a failure to remove it is said, never fatal: the key it holds no longer works).
fn discard<B: Backend>(shared: &Shared<'_, B>, user: &str, key_id: &str) {
    match shared.sink.discard(user, key_id) {
        Ok(Some(location)) => (shared.events)(&Event::SecretDiscarded {
            user,
            key_id,
            location: &location,
        }),
        Ok(None) => {}
        Err(e) => tracing::warn!(
            user = %crate::display::Escaped(user),
            key_id,
            error = %crate::display::Escaped(&e.to_string()),
            "the secret file of a deleted, never-delivered key could not be removed"
        ),
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
            mark_delivered(shared, &key).await
        }
        Err(io) => {
            // A key nobody can use is a liability: delete it rather than keep it.
            let delete = Op::DeleteAccessKey {
                user: key.user.clone(),
                key_id: key.id.clone(),
            };
            let deleted = send_retrying(shared, &delete).await.is_ok();
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

/// Tags the user `iamspec:key:<id>=delivered@<created>` once the secret is stored, so a later run can tell a
/// key whose secret was lost (no tag) from one that is in use, and find it in the credential report.
async fn mark_delivered<B: Backend>(
    shared: &Shared<'_, B>,
    key: &NewAccessKey,
) -> Result<(), BackendError> {
    let tag = format!("{}{}", crate::model::KEY_TAG_PREFIX, key.id);
    let op = Op::TagUser {
        user: key.user.clone(),
        tags: BTreeMap::from([(tag, crate::model::KeyRecord::delivered(key.created).value())]),
    };
    send_retrying(shared, &op).await.map_err(|mut e| {
        e.hint = Some(format!(
            "the secret of {} was stored, but the key is not marked delivered; the next apply replaces it",
            key.id
        ));
        e
    })
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
        tracing::warn!(
            user = %crate::display::Escaped(user),
            key_id = %crate::display::Escaped(&key.id),
            "deleting an access key whose secret was never received"
        );
        send_retrying(
            shared,
            &Op::DeleteAccessKey {
                user: user.to_owned(),
                key_id: key.id,
            },
        )
        .await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, VecDeque};
    use std::sync::{Arc, Mutex};

    use super::*;
    use crate::backend::local::LocalAccount;
    use crate::backend::{CallStats, ReadScope};
    use crate::model::{AccessKey, Account, Dependents};
    use crate::plan::{Action, Change};

    /// When a fault fires: instead of the call, or after the call took effect (a lost response).
    enum When {
        Instead,
        After,
    }

    /// An in-memory account that records every call and fails the ones it is told to.
    struct Recorder {
        account: Mutex<LocalAccount>,
        calls: Mutex<Vec<String>>,
        faults: Mutex<VecDeque<(&'static str, When, BackendError)>>,
    }

    impl Recorder {
        fn new(account: LocalAccount) -> Self {
            Self {
                account: Mutex::new(account),
                calls: Mutex::new(Vec::new()),
                faults: Mutex::new(VecDeque::new()),
            }
        }

        fn fail(&self, op: &'static str, when: When, error: BackendError) {
            self.faults.lock().unwrap().push_back((op, when, error));
        }

        fn calls(&self) -> Vec<String> {
            self.calls.lock().unwrap().clone()
        }
    }

    impl Backend for Recorder {
        async fn caller(&self) -> Result<crate::backend::Caller, BackendError> {
            Ok(crate::backend::Caller {
                account_id: "123456789012".into(),
                arn: None,
            })
        }
        async fn read(&self, scope: &ReadScope) -> Result<Account, BackendError> {
            Ok(self.account.lock().unwrap().view(scope))
        }
        async fn read_dependents(
            &self,
            _: &[String],
        ) -> Result<BTreeMap<String, (Vec<AccessKey>, Dependents)>, BackendError> {
            Ok(BTreeMap::new())
        }
        async fn read_policy_tags(
            &self,
            arns: &[String],
        ) -> Result<BTreeMap<String, BTreeMap<String, String>>, BackendError> {
            let account = self.account.lock().unwrap();
            Ok(arns
                .iter()
                .filter_map(|a| account.policy_tags(a).ok().map(|t| (a.clone(), t)))
                .collect())
        }
        async fn policy_description(&self, _: &str) -> Result<Option<String>, BackendError> {
            Ok(None)
        }
        async fn policy_exists(&self, _: &str) -> Result<Option<bool>, BackendError> {
            Ok(None)
        }
        async fn read_groups(&self) -> Result<BTreeMap<String, crate::model::Group>, BackendError> {
            Ok(BTreeMap::new())
        }
        async fn policy_documents(
            &self,
            _: &[String],
        ) -> Result<BTreeMap<String, crate::policy::PolicyDocument>, BackendError> {
            Ok(BTreeMap::new())
        }
        async fn lock(
            &self,
            _: &crate::backend::LockRequest,
        ) -> Result<crate::backend::LockState, BackendError> {
            Ok(crate::backend::LockState::Acquired)
        }
        async fn lock_holder(
            &self,
            _: &crate::backend::LockRequest,
        ) -> Result<Option<String>, BackendError> {
            Ok(None)
        }
        async fn unlock(
            &self,
            _: &crate::backend::LockRequest,
            _: bool,
        ) -> Result<(), BackendError> {
            Ok(())
        }
        async fn list_access_keys(&self, user: &str) -> Result<Vec<AccessKey>, BackendError> {
            self.calls
                .lock()
                .unwrap()
                .push(format!("ListAccessKeys {user}"));
            Ok(self
                .account
                .lock()
                .unwrap()
                .users
                .get(user)
                .map(|u| u.access_keys.clone())
                .unwrap_or_default())
        }
        async fn keys_last_used(
            &self,
            _: &[String],
        ) -> Result<BTreeMap<String, crate::model::KeyUse>, BackendError> {
            Ok(BTreeMap::new())
        }
        async fn credential_report(
            &self,
        ) -> Result<Option<crate::credential_report::CredentialReport>, BackendError> {
            Ok(None)
        }
        async fn execute(&self, op: &Op) -> Result<Outcome, BackendError> {
            self.calls
                .lock()
                .unwrap()
                .push(format!("{} {}", op.api_name(), op.target_name()));
            let fault = {
                let mut faults = self.faults.lock().unwrap();
                let hit = faults
                    .iter()
                    .position(|(name, _, _)| *name == op.api_name());
                hit.and_then(|i| faults.remove(i))
            };
            match fault {
                Some((_, When::Instead, e)) => Err(e),
                Some((_, When::After, e)) => {
                    let _ = self.account.lock().unwrap().apply(op, 0, &mut rand::rng());
                    Err(e)
                }
                None => self.account.lock().unwrap().apply(op, 0, &mut rand::rng()),
            }
        }
        fn stats(&self) -> CallStats {
            CallStats::new()
        }
    }

    struct Sink(Mutex<Vec<String>>, bool);

    impl KeySink for Sink {
        fn deliver(&self, key: &NewAccessKey) -> std::io::Result<String> {
            if !self.1 {
                return Err(std::io::Error::other("disk full"));
            }
            self.0.lock().unwrap().push(key.id.clone());
            Ok(format!("mem:{}", key.id))
        }

        fn discard(&self, _user: &str, key_id: &str) -> std::io::Result<Option<String>> {
            let mut held = self.0.lock().unwrap();
            let had = held.iter().any(|k| k == key_id);
            held.retain(|k| k != key_id);
            Ok(had.then(|| format!("mem:{key_id}")))
        }
    }

    fn sink() -> Sink {
        Sink(Mutex::new(Vec::new()), true)
    }

    fn opts(concurrency: usize) -> (ApplyOptions, Arc<Mutex<Vec<Duration>>>) {
        let slept = Arc::new(Mutex::new(Vec::new()));
        let s = Arc::clone(&slept);
        let sleep: crate::effects::Sleep = Arc::new(move |d| {
            s.lock().unwrap().push(d);
            Box::pin(async {})
        });
        let effects = Effects::instant(0).with_sleep(sleep);
        (
            ApplyOptions {
                concurrency,
                ..ApplyOptions::new(effects)
            },
            slept,
        )
    }

    fn change(op: Op) -> Change {
        Change::new(Action::Create, op, "")
    }

    fn create(user: &str) -> Op {
        let tags = BTreeMap::from([(crate::model::OWNER_TAG.to_owned(), "iamspec".to_owned())]);
        Op::CreateUser {
            user: user.into(),
            path: "/".into(),
            tags,
            permissions_boundary: None,
        }
    }

    fn attach(user: &str) -> Op {
        Op::AttachUserPolicy {
            user: user.into(),
            policy_arn: "arn:aws:iam::aws:policy/P".into(),
        }
    }

    fn plan(ops: Vec<Op>) -> Plan {
        Plan {
            changes: ops.into_iter().map(change).collect(),
            ..Plan::new()
        }
    }

    fn noop(_: &Event<'_>) {}

    #[tokio::test]
    async fn runs_each_users_changes_in_order() {
        let rec = Recorder::new(LocalAccount::default());
        let p = plan(vec![create("a"), attach("a"), create("b"), attach("b")]);
        let (o, _) = opts(8);
        let report = apply(&rec, &p, &Guard::allow_all(), &o, &sink(), &noop).await;
        assert!(report.is_success(), "{report:?}");
        let calls = rec.calls();
        let pos = |s: &str| calls.iter().position(|c| c == s).unwrap();
        assert!(pos("CreateUser a") < pos("AttachUserPolicy a"));
        assert!(pos("CreateUser b") < pos("AttachUserPolicy b"));
    }

    #[tokio::test]
    async fn a_failure_stops_new_work_and_reports_what_was_not_started() {
        let rec = Recorder::new(LocalAccount::default());
        rec.fail(
            "AttachUserPolicy",
            When::Instead,
            BackendError::new(ErrorKind::AccessDenied, "AttachUserPolicy", "no"),
        );
        let p = plan(vec![
            create("a"),
            attach("a"),
            create("a2"),
            create("b"),
            attach("b"),
        ]);
        // a2 is its own user; with concurrency 1 users run one after another.
        let (o, _) = opts(1);
        let report = apply(&rec, &p, &Guard::allow_all(), &o, &sink(), &noop).await;
        assert_eq!(report.done, vec![0]);
        assert_eq!(
            report.failed.iter().map(|f| f.0).collect::<Vec<_>>(),
            vec![1]
        );
        assert_eq!(report.not_started, vec![2, 3, 4]);
        assert_eq!(rec.calls(), vec!["CreateUser a", "AttachUserPolicy a"]);
    }

    #[tokio::test]
    async fn throttling_and_eventual_consistency_are_retried_with_backoff() {
        let rec = Recorder::new(LocalAccount::default());
        rec.fail(
            "CreateUser",
            When::Instead,
            BackendError::new(ErrorKind::Throttling, "CreateUser", "Rate exceeded"),
        );
        rec.fail(
            "CreateUser",
            When::Instead,
            BackendError::new(ErrorKind::Server, "CreateUser", "500"),
        );
        rec.fail(
            "AttachUserPolicy",
            When::Instead,
            BackendError::new(ErrorKind::NoSuchEntity, "AttachUserPolicy", "no user yet"),
        );
        let p = plan(vec![create("a"), attach("a")]);
        let (o, slept) = opts(1);
        let report = apply(&rec, &p, &Guard::allow_all(), &o, &sink(), &noop).await;
        assert!(report.is_success(), "{report:?}");
        assert_eq!(report.retries, 3);
        let slept = slept.lock().unwrap();
        assert_eq!(slept.len(), 3);
        assert!(slept.iter().all(|d| *d <= RetryPolicy::default().max));
    }

    /// regression: CreateGroup was missing from the retry-after-create rule, so a group's marker meeting
    /// NoSuchEntity right after the group was made failed the apply. Every create of the table counts.
    #[tokio::test]
    async fn no_such_entity_right_after_any_create_is_retried() {
        let rec = Recorder::new(LocalAccount::default());
        rec.fail(
            "PutGroupPolicy",
            When::Instead,
            BackendError::new(ErrorKind::NoSuchEntity, "PutGroupPolicy", "no group yet"),
        );
        let p = plan(vec![
            Op::CreateGroup {
                group: "g".into(),
                path: "/".into(),
            },
            Op::MarkGroup {
                group: "g".into(),
                document: crate::model::group_owner_marker("o"),
            },
        ]);
        let (o, _) = opts(1);
        let report = apply(&rec, &p, &Guard::allow_all(), &o, &sink(), &noop).await;
        assert!(report.is_success(), "{report:?}");
        assert_eq!(report.retries, 1);
    }

    #[tokio::test]
    async fn no_such_entity_without_a_create_is_not_retried() {
        let rec = Recorder::new(LocalAccount::default());
        let p = plan(vec![attach("ghost")]);
        let (o, slept) = opts(1);
        let report = apply(&rec, &p, &Guard::allow_all(), &o, &sink(), &noop).await;
        assert_eq!(report.failed.len(), 1);
        assert!(slept.lock().unwrap().is_empty());
    }

    #[tokio::test]
    async fn an_ambiguous_create_user_that_took_effect_counts_as_done() {
        let rec = Recorder::new(LocalAccount::default());
        let mut lost = BackendError::new(ErrorKind::Transport, "CreateUser", "connection reset");
        lost.ambiguous = true;
        rec.fail("CreateUser", When::After, lost);
        let p = plan(vec![create("a"), attach("a")]);
        let (o, _) = opts(1);
        let report = apply(&rec, &p, &Guard::allow_all(), &o, &sink(), &noop).await;
        assert!(report.is_success(), "{report:?}");
        assert_eq!(rec.account.lock().unwrap().users.len(), 1);
    }

    #[tokio::test]
    async fn an_ambiguous_create_access_key_is_reconciled_never_duplicated() {
        let mut acct = LocalAccount::default();
        acct.apply(&create("k"), 0, &mut rand::rng()).unwrap();
        let rec = Recorder::new(acct);
        let mut lost = BackendError::new(ErrorKind::Transport, "CreateAccessKey", "timed out");
        lost.ambiguous = true;
        rec.fail("CreateAccessKey", When::After, lost);
        let p = plan(vec![Op::CreateAccessKey { user: "k".into() }]);
        let (o, _) = opts(1);
        let s = sink();
        let report = apply(&rec, &p, &Guard::allow_all(), &o, &s, &noop).await;
        assert!(report.is_success(), "{report:?}");
        let keys = rec.account.lock().unwrap().users["k"].access_keys.clone();
        assert_eq!(keys.len(), 1, "exactly one key survives");
        assert_eq!(
            s.0.lock().unwrap().clone(),
            vec![keys[0].id.clone()],
            "and its secret was delivered"
        );
        let calls = rec.calls();
        assert_eq!(
            calls,
            vec![
                "CreateAccessKey k",
                "ListAccessKeys k",
                "DeleteAccessKey k",
                "CreateAccessKey k",
                "TagUser k"
            ]
        );
    }

    #[tokio::test]
    async fn a_key_whose_secret_cannot_be_stored_is_deleted() {
        let mut acct = LocalAccount::default();
        acct.apply(&create("k"), 0, &mut rand::rng()).unwrap();
        let rec = Recorder::new(acct);
        let p = plan(vec![Op::CreateAccessKey { user: "k".into() }]);
        let (o, _) = opts(1);
        let report = apply(
            &rec,
            &p,
            &Guard::allow_all(),
            &o,
            &Sink(Mutex::new(Vec::new()), false),
            &noop,
        )
        .await;
        assert_eq!(report.failed.len(), 1);
        assert!(report.failed[0].1.message.contains("disk full"));
        assert!(rec.account.lock().unwrap().users["k"]
            .access_keys
            .is_empty());
    }

    #[tokio::test]
    async fn the_cleanup_of_an_undelivered_key_is_retried_like_any_call() {
        let mut acct = LocalAccount::default();
        acct.apply(&create("k"), 0, &mut rand::rng()).unwrap();
        let rec = Recorder::new(acct);
        for _ in 0..2 {
            rec.fail(
                "DeleteAccessKey",
                When::Instead,
                BackendError::new(ErrorKind::Throttling, "DeleteAccessKey", "Rate exceeded"),
            );
        }
        let p = plan(vec![Op::CreateAccessKey { user: "k".into() }]);
        let (o, _) = opts(1);
        let full_disk = Sink(Mutex::new(Vec::new()), false);
        let report = apply(&rec, &p, &Guard::allow_all(), &o, &full_disk, &noop).await;
        assert_eq!(report.failed.len(), 1);
        let hint = report.failed[0].1.hint.clone().unwrap_or_default();
        assert!(hint.contains("the key was deleted"), "{hint}");
        assert!(rec.account.lock().unwrap().users["k"]
            .access_keys
            .is_empty());
        assert_eq!(
            rec.calls()
                .iter()
                .filter(|c| c.starts_with("DeleteAccessKey"))
                .count(),
            3
        );
    }

    #[tokio::test]
    async fn a_call_refused_past_its_budget_stops_within_the_deadline() {
        for (kind, calls) in [(ErrorKind::Server, 14), (ErrorKind::Throttling, 16)] {
            let rec = Recorder::new(LocalAccount::default());
            for _ in 0..100 {
                rec.fail(
                    "CreateUser",
                    When::Instead,
                    BackendError::new(kind, "CreateUser", "refused"),
                );
            }
            let effects = Effects::instant(0);
            let o = ApplyOptions::new(effects.clone());
            let report = apply(
                &rec,
                &plan(vec![create("a")]),
                &Guard::allow_all(),
                &o,
                &sink(),
                &noop,
            )
            .await;
            assert_eq!(report.failed.len(), 1);
            // Delays (jitter fixed at half): 50, 100, 200, 400, 800, 1600 ms, then 2.5 s each. A failing endpoint:
            // an attempt starts only if it could end (8 s) by the 30 s deadline, so the last starts at 20.65 s, the
            // 14th. Throttling: the pacer makes a throttled call wait on purpose, so only the 16 attempts bound it.
            assert_eq!(rec.calls().len(), calls, "{kind:?}");
            if kind == ErrorKind::Server {
                let r = RetryPolicy::default();
                assert!(effects.elapsed() + r.attempt_timeout <= r.deadline);
            }
        }
    }

    /// moto lacks service-specific credentials; IAM's DeleteConflict ordering is proven here instead.
    #[tokio::test]
    async fn prune_clears_every_dependent_before_delete_user() {
        use crate::spec::Spec;
        let mut acct = LocalAccount::default();
        acct.groups.insert("g".into());
        let mut rng = rand::rng();
        let owner = BTreeMap::from([(crate::model::OWNER_TAG.to_owned(), "iamspec".to_owned())]);
        acct.apply(
            &Op::CreateUser {
                user: "gone".into(),
                path: "/iamspec/".into(),
                tags: owner,
                permissions_boundary: None,
            },
            0,
            &mut rng,
        )
        .unwrap();
        acct.apply(
            &Op::AddUserToGroup {
                user: "gone".into(),
                group: "g".into(),
            },
            0,
            &mut rng,
        )
        .unwrap();
        acct.apply(&attach("gone"), 0, &mut rng).unwrap();
        acct.apply(
            &Op::CreateAccessKey {
                user: "gone".into(),
            },
            0,
            &mut rng,
        )
        .unwrap();
        let deps = acct
            .users
            .get_mut("gone")
            .unwrap()
            .dependents
            .get_or_insert_with(Box::default);
        deps.login_profile = true;
        deps.mfa_devices.push("mfa".into());
        deps.signing_certificates.push("cert".into());
        deps.ssh_public_keys.push("ssh".into());
        deps.service_credentials.push("svc".into());
        let live = Account {
            users: acct.users.clone(),
            ..Account::default()
        };
        let spec = Spec {
            account_id: Some("123456789012".into()),
            prune: true,
            ..Spec::empty("iamspec")
        };
        let p = crate::diff::diff(&spec, &live, &crate::diff::DiffOptions::default()).unwrap();
        let rec = Recorder::new(acct);
        let (o, _) = opts(1);
        let report = apply(&rec, &p, &Guard::allow_all(), &o, &sink(), &noop).await;
        assert!(report.is_success(), "{report:?}");
        assert!(rec.account.lock().unwrap().users.is_empty());
        let calls = rec.calls();
        assert_eq!(calls.last().unwrap(), "DeleteUser gone");
        assert!(
            calls.contains(&"DeleteServiceSpecificCredential gone".to_owned()),
            "{calls:?}"
        );
    }

    #[tokio::test]
    async fn create_user_racing_another_run_continues_only_on_an_identical_owned_user() {
        let mut acct = LocalAccount::default();
        acct.apply(&create("same"), 0, &mut rand::rng()).unwrap();
        acct.apply(
            &Op::CreateUser {
                user: "other".into(),
                path: "/".into(),
                tags: BTreeMap::new(),
                permissions_boundary: None,
            },
            0,
            &mut rand::rng(),
        )
        .unwrap();
        let rec = Recorder::new(acct);
        let (o, _) = opts(1);
        let report = apply(
            &rec,
            &plan(vec![create("same"), attach("same")]),
            &Guard::allow_all(),
            &o,
            &sink(),
            &noop,
        )
        .await;
        assert!(report.is_success(), "{report:?}");
        let report = apply(
            &rec,
            &plan(vec![create("other"), attach("other")]),
            &Guard::allow_all(),
            &o,
            &sink(),
            &noop,
        )
        .await;
        assert_eq!(report.failed.len(), 1);
        assert!(
            rec.account.lock().unwrap().users["other"]
                .attached_policies
                .is_empty(),
            "never written to"
        );
    }

    /// regression: a forged saved plan deleted a user iamspec does not own. Whatever plan it is handed, the
    /// executor sends nothing the guard (built from the spec and a fresh read) refuses.
    #[tokio::test]
    async fn the_guard_refuses_writes_to_what_the_spec_does_not_own() {
        use crate::diff::DiffOptions;
        let mut acct = LocalAccount::default();
        let mut rng = rand::rng();
        let tagged =
            |owner: &str| BTreeMap::from([(crate::model::OWNER_TAG.to_owned(), owner.to_owned())]);
        for (user, tags) in [
            ("victim", BTreeMap::new()),
            ("theirs", tagged("team-b")),
            ("stale", tagged("iamspec")),
        ] {
            acct.apply(
                &Op::CreateUser {
                    user: user.into(),
                    path: "/iamspec/".into(),
                    tags,
                    permissions_boundary: None,
                },
                0,
                &mut rng,
            )
            .unwrap();
        }
        let spec = crate::spec::load(
            "s.yaml",
            "version: 1\naccount_id: \"123456789012\"\nowner: iamspec\nprune: true\nusers:\n  mine: {}\n",
        )
        .unwrap()
        .spec;
        let live = acct.view(&crate::backend::ReadScope::default());
        let guard = Guard::new(&spec, &live, &DiffOptions::default());
        let forged = plan(vec![
            Op::DeleteUser {
                user: "victim".into(),
            },
            Op::DeleteUser {
                user: "theirs".into(),
            },
            Op::AttachUserPolicy {
                user: "theirs".into(),
                policy_arn: "arn:aws:iam::aws:policy/AdministratorAccess".into(),
            },
            Op::TagUser {
                user: "victim".into(),
                tags: tagged("iamspec"),
            },
            Op::CreateUser {
                user: "intruder".into(),
                path: "/".into(),
                tags: tagged("iamspec"),
                permissions_boundary: None,
            },
            // regression: a user `lock-<owner>` in policy_mode: managed got the lock's name; the executor
            // writes nothing under a lock's name and attaches no lock, whatever the plan says.
            Op::CreatePolicyVersion {
                policy: "iamspec-lock-iamspec".into(),
                policy_arn: "arn:aws:iam::123456789012:policy/iamspec/iamspec-lock-iamspec".into(),
                document: crate::policy::PolicyDocument::new(Vec::new()),
            },
            Op::AttachUserPolicy {
                user: "mine".into(),
                policy_arn: "arn:aws:iam::123456789012:policy/iamspec/iamspec-lock-iamspec".into(),
            },
        ]);
        for c in &forged.changes {
            assert!(guard.check(&c.op).is_err(), "{:?} passed the guard", c.op);
        }
        let rec = Recorder::new(acct);
        let (o, _) = opts(8);
        let report = apply(&rec, &forged, &guard, &o, &sink(), &noop).await;
        assert!(report.done.is_empty(), "{report:?}");
        assert!(report
            .failed
            .iter()
            .all(|(_, e)| e.kind == ErrorKind::Refused));
        assert!(
            rec.calls().is_empty(),
            "nothing was sent: {:?}",
            rec.calls()
        );
        // What the spec does own and select is allowed: creating its user, pruning the owned one.
        assert!(guard
            .check(&Op::CreateUser {
                user: "mine".into(),
                path: "/iamspec/".into(),
                tags: tagged("iamspec"),
                permissions_boundary: None,
            })
            .is_ok());
        assert!(guard
            .check(&Op::DeleteUser {
                user: "stale".into(),
            })
            .is_ok());
    }
}
