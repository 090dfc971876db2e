//! `apply`: the session the engine runs, seen from a terminal or a pipeline: the plan shown, the question asked (or a
//! piped "yes"), progress and key deliveries on stderr, Ctrl-C and SIGTERM turned into a clean stop, and how it
//! ended. Applying a spec and a saved plan are one path.

use std::path::Path;

use super::args::{Global, PlanFormat};
use super::commands::{print_plan, PlanOutput};
use super::connect::with_backend;
use super::files::{load_spec_text, only, read_text, spec_input, write_stdout};
use super::{exit, output, CliError};
use crate::backend::AnyBackend;
use crate::display::{escape, Escaped};
use crate::effects::Effects;
use crate::engine::{self, Cancel, Event, KeySink, Limits, Planned, SavedPlan};
use crate::spec::Spec;

pub(super) struct ApplyArgs {
    pub(super) auto_approve: bool,
    pub(super) show_policies: bool,
    pub(super) concurrency: usize,
    pub(super) limits: Limits,
    pub(super) users: Vec<String>,
    pub(super) lock_timeout: std::time::Duration,
    pub(super) keys: engine::read::KeyRead,
    pub(super) continue_on_error: bool,
}

/// Who holds the apply lock: user, host, process and time, plus a nonce that makes this run's text unique.
fn lock_holder(effects: &Effects) -> String {
    let user = std::env::var("USER").unwrap_or_else(|_| "unknown".into());
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .or_else(|_| std::env::var("HOSTNAME"))
        .unwrap_or_else(|_| "unknown-host".into());
    let since = time::OffsetDateTime::from_unix_timestamp(effects.now())
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default();
    // Randomness from the injected effects, like every other source of nondeterminism.
    let nonce = ((effects.random)() * f64::from(u32::MAX)) as u32;
    format!(
        "iamspec {} apply by {user}@{host} (pid {}) since {since} [{nonce:08x}]",
        env!("CARGO_PKG_VERSION"),
        std::process::id()
    )
}

/// Sets `cancel` on the first Ctrl-C or SIGTERM. The returned task is aborted when the apply is over.
pub(super) fn watch_signals(cancel: &Cancel) -> tokio::task::JoinHandle<()> {
    let cancel = cancel.clone();
    tokio::spawn(async move {
        let term = async {
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(mut s) => {
                    s.recv().await;
                }
                Err(_) => std::future::pending::<()>().await,
            }
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            () = term => {}
        }
        eprintln!("Interrupted: no new change starts; waiting for the calls in flight, then releasing the lock.");
        cancel.set();
    })
}

/// Asks for confirmation on the terminal; Ctrl-C while asking is a "no".
/// Asks on a terminal; without one, a "yes" piped to stdin is an explicit answer, and anything else (an empty or
/// closed stdin in CI) refuses, naming the flag that confirms in advance.
pub(super) async fn ask_or_refuse(
    question: String,
    command: &'static str,
    flag: &'static str,
    cancel: &Cancel,
) -> Result<(), CliError> {
    if output::interactive() {
        return if confirmed(question, cancel).await {
            Ok(())
        } else {
            Err(CliError::Declined)
        };
    }
    eprintln!("{question} Reading the answer from stdin (\"yes\" goes ahead): ");
    let piped = tokio::task::spawn_blocking(output::piped_yes);
    if piped.await.unwrap_or(false) {
        Ok(())
    } else {
        Err(CliError::NeedsApproval { command, flag })
    }
}

async fn confirmed(question: String, cancel: &Cancel) -> bool {
    let ask = tokio::task::spawn_blocking(move || output::confirm(&question));
    tokio::select! {
        answer = ask => answer.unwrap_or(false),
        () = cancel.wait() => false,
    }
}

/// What people see of an apply session: the plan on stdout, the question on the terminal (or a piped "yes"),
/// progress and key deliveries on stderr.
struct Terminal<'a> {
    g: &'a Global,
    show_policies: bool,
    bar: std::sync::OnceLock<indicatif::ProgressBar>,
    /// One account of many: its plan was shown with the others, and its lines name it; its bar is one of
    /// `bars`, the run's bars, one per account applying.
    account: Option<String>,
    bars: Option<&'a indicatif::MultiProgress>,
}

impl<'a> Terminal<'a> {
    fn new(g: &'a Global, show_policies: bool) -> Self {
        Self {
            g,
            show_policies,
            bar: std::sync::OnceLock::new(),
            account: None,
            bars: None,
        }
    }

    /// What an account's line starts with: `prod (111111111111): `, or nothing for a single account.
    fn prefix(&self) -> String {
        self.account
            .as_ref()
            .map(|a| format!("{}: ", escape(a)))
            .unwrap_or_default()
    }

    fn finish(&self) {
        if let Some(bar) = self.bar.get() {
            bar.finish_and_clear();
        }
    }

    fn suspend(&self, f: impl FnOnce()) {
        if let Some(bars) = self.bars {
            return bars.suspend(f);
        }
        match self.bar.get() {
            Some(bar) => bar.suspend(f),
            None => f(),
        }
    }
}

impl engine::session::Operator<CliError> for Terminal<'_> {
    fn show(&self, planned: &Planned) -> Result<(), CliError> {
        if self.account.is_some() {
            return Ok(());
        }
        print_plan(
            planned,
            self.g,
            PlanOutput {
                format: PlanFormat::Text,
                show_policies: self.show_policies,
            },
        )
    }

    async fn confirm(&self, planned: &Planned, cancel: &Cancel) -> Result<(), CliError> {
        let question = format!("\nApply these changes to account {}?", planned.account_id);
        ask_or_refuse(question, "apply", "--auto-approve", cancel).await
    }

    fn executing(&self, changes: usize) {
        let bar = match (self.bars, &self.account) {
            (Some(bars), Some(account)) => {
                let bar = bars.add(output::progress(changes));
                bar.set_prefix(format!("{} ", escape(account)));
                bar
            }
            _ => output::progress(changes),
        };
        let _ = self.bar.set(bar);
    }

    fn event(&self, e: &Event<'_>) {
        let style = output::stderr_style(self.g.color);
        match e {
            Event::Started { change, .. } => {
                let target = change.target.to_string();
                if let Some(bar) = self.bar.get() {
                    bar.set_message(
                        escape(&format!("{target}: {}", change.op.describe())).into_owned(),
                    );
                }
                tracing::info!(target = %Escaped(&target), op = change.op.api_name(), "applying");
            }
            Event::Done { .. } => {
                if let Some(bar) = self.bar.get() {
                    bar.inc(1);
                }
            }
            Event::Retrying {
                attempt,
                error,
                delay,
                ..
            } => {
                tracing::info!(attempt, ?delay, error = %Escaped(&error.to_string()), "retrying");
            }
            Event::Failed { .. } => {}
            Event::KeyDelivered {
                user,
                key_id,
                location,
            } => self.suspend(|| {
                eprintln!(
                    "{}{} access key {} for {}: secret written to {}",
                    self.prefix(),
                    style.bold("key:"),
                    Escaped(key_id),
                    Escaped(user),
                    Escaped(location)
                );
            }),
            Event::SecretDiscarded {
                user,
                key_id,
                location,
            } => self.suspend(|| {
                eprintln!(
                    "{}{} access key {} for {} was never recorded as delivered and is deleted; its secret file {} is removed",
                    self.prefix(),
                    style.bold("key:"),
                    Escaped(key_id),
                    Escaped(user),
                    Escaped(location)
                );
            }),
        }
    }

    fn warn(&self, message: &str) {
        self.suspend(|| eprintln!("{}warning: {}", self.prefix(), Escaped(message)));
    }
}

fn session_settings(args: &ApplyArgs, effects: &Effects) -> engine::session::Settings {
    engine::session::Settings {
        holder: lock_holder(effects),
        lock_timeout: args.lock_timeout,
        limits: args.limits,
        concurrency: args.concurrency,
        keys: args.keys,
    }
}

/// Runs an apply session with Ctrl-C and SIGTERM watched, and says how it ended.
async fn run_session(
    g: &Global,
    backend: &AnyBackend,
    spec: &Spec,
    source: engine::session::Source<'_>,
    args: &ApplyArgs,
    sink: &dyn KeySink,
) -> Result<u8, CliError> {
    let effects = Effects::system();
    let cancel = Cancel::new();
    let signals = watch_signals(&cancel);
    let terminal = Terminal::new(g, args.show_policies);
    let outcome = engine::session::run(
        backend,
        spec,
        source,
        &session_settings(args, &effects),
        sink,
        &effects,
        &cancel,
        &terminal,
    )
    .await;
    terminal.finish();
    signals.abort();
    match outcome? {
        engine::session::Outcome::NoChanges => Ok(exit::OK),
        engine::session::Outcome::AlreadyApplied => {
            write_stdout(
                b"Already applied: the account holds what this plan makes. Nothing to do.\n",
            )?;
            Ok(exit::OK)
        }
        engine::session::Outcome::Applied { plan, report } => reported(&plan, &report, &cancel),
    }
}

/// Applies one account's proven plan (from a many-account run) under its lock, and says in one line how it went;
/// failed changes are printed naming the account.
#[expect(
    clippy::too_many_arguments,
    reason = "the session's inputs, each used once"
)]
pub(super) async fn run_account_session(
    g: &Global,
    backend: &AnyBackend,
    spec: &Spec,
    saved: &SavedPlan,
    args: &ApplyArgs,
    sink: &dyn KeySink,
    cancel: &Cancel,
    target: &engine::accounts::Target,
    bars: &indicatif::MultiProgress,
) -> Result<String, CliError> {
    let effects = Effects::system();
    let mut terminal = Terminal::new(g, args.show_policies);
    terminal.account = Some(target.label());
    terminal.bars = Some(bars);
    let outcome = engine::session::run(
        backend,
        spec,
        engine::session::Source::Saved(saved),
        &session_settings(args, &effects),
        sink,
        &effects,
        cancel,
        &terminal,
    )
    .await;
    terminal.finish();
    Ok(match outcome? {
        engine::session::Outcome::NoChanges => "No changes.".to_owned(),
        engine::session::Outcome::AlreadyApplied => "Already applied.".to_owned(),
        engine::session::Outcome::Applied { plan, report } => {
            for (index, error) in &report.failed {
                let change = &plan.changes[*index];
                let line = format!(
                    "{}failed to {} for {}: {error}",
                    terminal.prefix(),
                    change.op.describe(),
                    change.target
                );
                eprintln!("error: {}", Escaped(&line));
                if let Some(hint) = &error.hint {
                    eprintln!("  hint: {}", Escaped(hint));
                }
            }
            if !report.is_success() {
                return Err(CliError::ApplyFailed {
                    done: report.done.len(),
                    failed: report.failed.len(),
                    not_started: report.not_started.len(),
                });
            }
            format!("Apply complete: {} change(s) made.", report.done.len())
        }
    })
}

/// An executed plan's report: failures with their hints, then the outcome.
fn reported(
    plan: &crate::plan::Plan,
    report: &engine::Report,
    cancel: &Cancel,
) -> Result<u8, CliError> {
    for (index, error) in &report.failed {
        let change = &plan.changes[*index];
        let line = format!(
            "failed to {} for {}: {error}",
            change.op.describe(),
            change.target
        );
        eprintln!("error: {}", Escaped(&line));
        if let Some(hint) = &error.hint {
            eprintln!("  hint: {}", Escaped(hint));
        }
    }
    if !report.not_started.is_empty() {
        eprintln!("{} change(s) were not started.", report.not_started.len());
    }
    if report.is_success() {
        write_stdout(
            format!("Apply complete: {} change(s) made.\n", report.done.len()).as_bytes(),
        )?;
        Ok(exit::OK)
    } else if cancel.is_set() && report.failed.is_empty() {
        eprintln!(
            "{} change(s) were made before the interruption.",
            report.done.len()
        );
        Err(engine::Error::Interrupted.into())
    } else {
        Err(CliError::ApplyFailed {
            done: report.done.len(),
            failed: report.failed.len(),
            not_started: report.not_started.len(),
        })
    }
}

pub(super) async fn apply_spec(
    g: &Global,
    path: &Path,
    args: &ApplyArgs,
    sink: &dyn KeySink,
) -> Result<u8, CliError> {
    let input = spec_input(path, g)?;
    let effects = Effects::system();
    if let Some(targets) = super::accounts::targets(g, &input.spec, &effects).await? {
        return super::accounts::apply_spec(g, &targets, &input, path, args, sink).await;
    }
    let only = only(&args.users);
    let source = engine::session::Source::Spec {
        only: only.as_ref(),
        approved: args.auto_approve,
    };
    with_backend(g, &effects, async |backend| {
        run_session(g, backend, &input.spec, source, args, sink).await
    })
    .await
}

/// Whether text given as a saved plan reads like a spec instead: not JSON, with a top-level `version:` or `users:`.
fn looks_like_spec(text: &str) -> bool {
    let text = text.trim_start_matches('\u{feff}');
    !text.trim_start().starts_with('{')
        && text
            .lines()
            .any(|l| l.starts_with("version:") || l.starts_with("users:"))
}

/// Applies a saved plan: the plan is a claim, proven by re-planning its spec against the live account (under the
/// lock) before anything is written. A saved plan was reviewed when it was made: no second confirmation.
pub(super) async fn apply_saved(
    g: &Global,
    planfile: &Path,
    spec_file: Option<&Path>,
    args: &ApplyArgs,
    sink: &dyn KeySink,
) -> Result<u8, CliError> {
    let refuse = |reason| CliError::SavedPlan {
        path: planfile.display().to_string(),
        reason,
    };
    let text = read_text(planfile)?;
    // Saved plans are JSON objects; a spec (`iamspec apply spec.yaml`) is the common slip.
    if looks_like_spec(&text) {
        let name = escape(&planfile.display().to_string()).into_owned();
        return Err(CliError::Usage {
            message: format!("{name} is a spec, not a saved plan"),
            hint: format!(
                "apply a spec with `iamspec apply -f {name}`; a saved plan comes from `iamspec plan --out FILE`"
            ),
        });
    }
    if let Ok(value) = serde_json::from_str::<serde_json::Value>(&text) {
        if super::accounts::is_saved_accounts(&value) {
            return super::accounts::apply_saved(g, planfile, value, spec_file, args, sink).await;
        }
    }
    let saved = SavedPlan::parse(&text).map_err(refuse)?;
    let spec_path = saved.spec_path(spec_file).map_err(refuse)?;
    let text = match read_text(&spec_path) {
        // The path came from the plan, not from the user: say so.
        Err(CliError::Read { problem, .. }) if spec_file.is_none() && problem.is_not_found() => {
            return Err(refuse(engine::SavedPlanError::SpecMissing(
                spec_path.display().to_string(),
            )));
        }
        other => other?,
    };
    saved
        .check_spec(&spec_path, text.as_bytes())
        .map_err(refuse)?;
    let spec = load_spec_text(&spec_path, &text, g.color)?.spec;
    if spec.accounts.is_some() {
        return Err(CliError::Usage {
            message: format!(
                "{} is the plan of one account, and its spec lists many",
                escape(&planfile.display().to_string())
            ),
            hint: "make the plan again with `iamspec plan -f SPEC --out FILE`: it covers every account".into(),
        });
    }
    let effects = Effects::system();
    with_backend(g, &effects, async |backend| {
        let source = engine::session::Source::Saved(&saved);
        match run_session(g, backend, &spec, source, args, sink).await {
            Err(CliError::Engine(engine::Error::Saved(reason))) => Err(refuse(reason)),
            other => other,
        }
    })
    .await
}
