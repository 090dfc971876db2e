//! One apply, start to end: account check -> lock -> plan (or prove a saved plan) -> show -> preflight -> confirm ->
//! execute (events) -> settle -> unlock. The lock is released on every path once taken. The caller (the CLI)
//! supplies an [`Operator`] for what people see and answer; applying a spec and applying a saved plan differ only
//! in their [`Source`]. A run over many accounts is this session, once per account.

use std::collections::BTreeSet;
use std::future::Future;
use std::time::Duration;

use super::{
    apply, checked_account, known_keys, lock, plan_in, preflight, settle, ApplyOptions, Cancel,
    Error, Event, KeySink, Limits, Planned, Report, SavedPlan, SavedPlanError,
};
use crate::backend::Backend;
use crate::effects::Effects;
use crate::spec::Spec;

/// What is applied.
#[derive(Debug, Clone, Copy)]
pub enum Source<'a> {
    /// The spec, planned now (limited to these lower-cased user names when given); people confirm it.
    Spec {
        /// `--user` names.
        only: Option<&'a BTreeSet<String>>,
        /// Confirmed in advance (`--auto-approve`).
        approved: bool,
    },
    /// A saved plan, proven by planning its spec again; it was reviewed when it was made, so no confirmation.
    Saved(&'a SavedPlan),
}

/// The session's settings.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Who holds the lock, in its text (user, host, process, time, nonce).
    pub holder: String,
    /// How long to wait for another apply's lock.
    pub lock_timeout: Duration,
    /// Limits checked before anything is written (`--max-deletes`).
    pub limits: Limits,
    /// Targets worked on at once.
    pub concurrency: usize,
    /// How access keys are read.
    pub keys: super::read::KeyRead,
}

/// How it ended, when it did not fail.
#[derive(Debug)]
pub enum Outcome {
    /// The plan was empty: nothing to do.
    NoChanges,
    /// A saved plan whose changes the account already holds.
    AlreadyApplied,
    /// The changes were executed: the report says which of the plan's changes were made, failed or not started.
    Applied {
        /// What was executed.
        plan: crate::plan::Plan,
        /// How it went, by index into `plan.changes`.
        report: Report,
    },
}

/// What the session asks of whoever runs it: showing, asking, progress. Errors of its own (a declined
/// confirmation, a closed stdout) are the caller's error type.
pub trait Operator<E>: Sync {
    /// Shows the plan about to be applied.
    ///
    /// # Errors
    /// The caller's, e.g. stdout closed.
    fn show(&self, planned: &Planned) -> Result<(), E>;

    /// Asks whether to apply it; an error declines.
    fn confirm(&self, planned: &Planned, cancel: &Cancel) -> impl Future<Output = Result<(), E>>;

    /// Before the first change, with their number.
    fn executing(&self, changes: usize);

    /// Each executor event.
    fn event(&self, event: &Event<'_>);

    /// Something worth knowing that does not change the outcome (the lock could not be released after a failure;
    /// the account does not show every change yet).
    fn warn(&self, message: &str);
}

/// Runs the session: everything after the spec is loaded.
///
/// # Errors
/// The account check, the lock, planning or proving, preflight, the operator's, an interruption; an apply whose
/// changes failed is an [`Outcome::Applied`] with the failures in its report.
#[expect(
    clippy::too_many_arguments,
    reason = "the session's inputs, each used once"
)]
pub async fn run<B, O, E>(
    backend: &B,
    spec: &Spec,
    source: Source<'_>,
    settings: &Settings,
    sink: &dyn KeySink,
    effects: &Effects,
    cancel: &Cancel,
    operator: &O,
) -> Result<Outcome, E>
where
    B: Backend,
    O: Operator<E>,
    E: From<Error>,
{
    let caller = checked_account(backend, spec.account_id.as_deref())
        .await
        .map_err(E::from)?;
    let req = lock::request(spec, &caller.account_id, &settings.holder);
    lock::acquire(backend, &req, settings.lock_timeout, effects, cancel)
        .await
        .map_err(E::from)?;
    tracing::info!(lock = %req.name, "holding the apply lock");
    let session = Session {
        backend,
        spec,
        settings,
        sink,
        effects,
        cancel,
        operator,
    };
    let result = session.locked(source, caller).await;
    let released = lock::release(backend, &req).await;
    match (result, released) {
        (Ok(outcome), Ok(())) => Ok(outcome),
        (Ok(_), Err(e)) => Err(E::from(Error::from(e))),
        (Err(e), Ok(())) => Err(e),
        (Err(e), Err(release)) => {
            let mut message = release.to_string();
            if let Some(hint) = &release.hint {
                message.push_str(&format!(" (hint: {hint})"));
            }
            operator.warn(&message);
            Err(e)
        }
    }
}

/// Waits for `work` unless `cancel` fires first (reads only: nothing is left half done).
async fn unless_cancelled<T>(
    cancel: &Cancel,
    work: impl Future<Output = Result<T, Error>>,
) -> Result<T, Error> {
    tokio::select! {
        r = work => r,
        () = cancel.wait() => Err(Error::Interrupted),
    }
}

/// What the session works with once the lock is held.
struct Session<'a, B, O> {
    backend: &'a B,
    spec: &'a Spec,
    settings: &'a Settings,
    sink: &'a dyn KeySink,
    effects: &'a Effects,
    cancel: &'a Cancel,
    operator: &'a O,
}

impl<B: Backend, O> Session<'_, B, O> {
    async fn locked<E>(
        &self,
        source: Source<'_>,
        caller: crate::backend::Caller,
    ) -> Result<Outcome, E>
    where
        O: Operator<E>,
        E: From<Error>,
    {
        let Self {
            backend,
            spec,
            settings,
            sink,
            effects,
            cancel,
            operator,
        } = *self;
        let planned = match source {
            Source::Spec { only, .. } => {
                let planning = plan_in(
                    backend,
                    spec,
                    caller,
                    only.cloned(),
                    effects.now(),
                    self.settings.keys,
                );
                unless_cancelled(cancel, planning).await.map_err(E::from)?
            }
            Source::Saved(saved) => {
                let proving = saved.prove(backend, spec, caller, effects.now(), self.settings.keys);
                match unless_cancelled(cancel, proving).await {
                    Ok(p) => p,
                    Err(Error::Saved(SavedPlanError::AlreadyApplied)) => {
                        return Ok(Outcome::AlreadyApplied)
                    }
                    Err(e) => return Err(E::from(e)),
                }
            }
        };
        operator.show(&planned)?;
        if planned.plan.is_empty() {
            return Ok(Outcome::NoChanges);
        }
        preflight(&planned.plan, &settings.limits, &planned.guard).map_err(E::from)?;
        if let Source::Spec {
            approved: false, ..
        } = source
        {
            operator.confirm(&planned, cancel).await?;
        }
        let opts = ApplyOptions {
            concurrency: settings.concurrency,
            known_keys: known_keys(&planned.live),
            cancel: cancel.clone(),
            ..ApplyOptions::new(effects.clone())
        };
        operator.executing(planned.plan.changes.len());
        let report = apply(
            backend,
            &planned.plan,
            &planned.guard,
            &opts,
            sink,
            &|e: &Event<'_>| operator.event(e),
        )
        .await;
        if report.is_success() {
            match settle(backend, spec, &planned.plan, &planned.opts, effects).await {
            Ok(true) => {}
            Ok(false) => operator.warn(
                "IAM does not show every change yet (eventual consistency); the next plan may list some of them",
            ),
            Err(Error::Interrupted) => return Err(E::from(Error::Interrupted)),
            // The apply itself succeeded; only the look afterwards failed. Failing now would send a pipeline to
            // retry work that is done.
            Err(e) => operator.warn(&format!(
                "the changes were made, but reading them back failed ({e}); the next plan will confirm them"
            )),
        }
        }
        Ok(Outcome::Applied {
            plan: planned.plan,
            report,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;
    use crate::backend::local::LocalBackend;

    /// Counts what the session shows and answers the question as told.
    struct Recorder {
        shown: AtomicUsize,
        yes: bool,
    }

    impl Operator<Error> for Recorder {
        fn show(&self, _: &Planned) -> Result<(), Error> {
            self.shown.fetch_add(1, Ordering::SeqCst);
            Ok(())
        }
        async fn confirm(&self, _: &Planned, _: &Cancel) -> Result<(), Error> {
            if self.yes {
                Ok(())
            } else {
                Err(Error::Interrupted)
            }
        }
        fn executing(&self, _: usize) {}
        fn event(&self, _: &Event<'_>) {}
        fn warn(&self, message: &str) {
            panic!("unexpected warning: {message}");
        }
    }

    #[tokio::test]
    async fn plans_asks_applies_and_always_releases_the_lock() {
        let dir = tempfile::tempdir().unwrap();
        let effects = Effects::system();
        let backend = LocalBackend::open(&dir.path().join("a.json"), effects.clone()).unwrap();
        let spec = crate::spec::load(
            "s.yaml",
            "version: 1\nusers:\n  alice:\n    grants: [{buckets: [photos-prod], access: read}]\n",
        )
        .unwrap()
        .spec;
        let settings = Settings {
            holder: "test".into(),
            // No waiting: a lock left behind by an earlier run fails the next at once.
            lock_timeout: Duration::ZERO,
            limits: Limits {
                max_deletes: 5,
                has_secrets_destination: false,
            },
            concurrency: 2,
            keys: crate::engine::read::KeyRead::Report,
        };
        let cancel = Cancel::new();
        let session = |yes: bool, approved: bool| {
            let recorder = Recorder {
                shown: AtomicUsize::new(0),
                yes,
            };
            let (backend, spec, settings, effects, cancel) =
                (&backend, &spec, &settings, &effects, &cancel);
            async move {
                let source = Source::Spec {
                    only: None,
                    approved,
                };
                let out = run(
                    backend,
                    spec,
                    source,
                    settings,
                    &crate::secrets::NoSink,
                    effects,
                    cancel,
                    &recorder,
                )
                .await;
                (out, recorder.shown.load(Ordering::SeqCst))
            }
        };
        // Declined: shown, nothing written, the lock released (the next run takes it at once).
        let (out, shown) = session(false, false).await;
        assert!(matches!(out, Err(Error::Interrupted)), "{out:?}");
        assert_eq!(shown, 1);
        // Confirmed: applied.
        let (out, _) = session(true, false).await;
        match out {
            Ok(Outcome::Applied { report, plan }) => {
                assert!(report.is_success());
                assert_eq!(report.done.len(), plan.changes.len());
            }
            other => panic!("{other:?}"),
        }
        // Approved in advance, nothing left to do.
        let (out, shown) = session(false, true).await;
        assert!(matches!(out, Ok(Outcome::NoChanges)), "{out:?}");
        assert_eq!(shown, 1);
    }
}
