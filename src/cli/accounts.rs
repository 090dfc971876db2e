//! Many accounts from one spec: the accounts a run covers (named, discovered from the organization, narrowed by
//! `--account` and `--shard`), one backend per account reached through its role, `--parallel-accounts` of them
//! worked on at once, and their answers shown per account and summed up. Each account runs the single-account engine on the
//! spec [`Spec::for_account`] makes; an account that fails fails alone.

use std::io::Write;
use std::path::Path;

use futures_util::stream::StreamExt;

use super::apply::{run_account_session, watch_signals, ApplyArgs};
use super::args::{DriftFormat, Global, PlanFormat};
use super::commands::{print_plan, PlanOutput};
use super::connect::{connect_to, print_stats};
use super::files::{only, stdout_error, write_file, write_stdout, SpecInput};
use super::{exit, output, CliError};
use crate::backend::AnyBackend;
use crate::display::{escape, Escaped};
use crate::effects::Effects;
use crate::engine::accounts::Target;
use crate::engine::read::KeyRead;
use crate::engine::{self, Planned, SavedPlan};
use crate::render;
use crate::render::json::{AccountEntry, AccountError, AccountsReport, AccountsSummary};
use crate::spec::Spec;

/// The accounts of a run of `spec`; `None` for a single-account spec, where the many-account flags are refused.
///
/// # Errors
/// Many-account flags on a single-account spec; the organization's accounts unreadable; an unknown `--account`.
pub(super) async fn targets(
    g: &Global,
    spec: &Spec,
    effects: &Effects,
) -> Result<Option<Vec<Target>>, CliError> {
    let Some(accounts) = &spec.accounts else {
        if !g.accounts.is_empty() || g.shard.is_some() {
            return Err(CliError::Usage {
                message: "--account and --shard choose among the accounts of a many-account spec, and this spec is for one account".into(),
                hint: "list the accounts under `accounts:` (README, Many accounts), or leave the flags out".into(),
            });
        }
        return Ok(None);
    };
    if let Some(dir) = g.local.as_ref().filter(|d| d.exists() && !d.is_dir()) {
        return Err(CliError::Usage {
            message: format!(
                "--local {} is a file, and a many-account spec keeps one account file per account in a directory",
                escape(&dir.display().to_string())
            ),
            hint: "give a directory (made if missing), e.g. --local accounts/".into(),
        });
    }
    let found = match &accounts.organization {
        None => None,
        Some(_) => {
            if g.local.is_some() {
                return Err(CliError::Usage {
                    message: "`organization:` lists the accounts of an AWS Organization; a local account directory has none".into(),
                    hint: "name the accounts under `accounts:` to run against --local".into(),
                });
            }
            // The organization is read with the caller's own credentials (the management account or a
            // delegated administrator).
            let backend = connect_to(g, effects, None).await?;
            let AnyBackend::Aws(aws) = &backend else {
                // `--local` was refused above; no other backend has an organization.
                return Err(CliError::Usage {
                    message: "`organization:` is read from AWS Organizations".into(),
                    hint: "run against AWS, or name the accounts under `accounts:`".into(),
                });
            };
            let listed = aws.organization_accounts().await.map_err(|mut e| {
                e.hint = Some(
                    "`organization:` needs organizations:ListAccounts in the management account (or a delegated administrator); or name the accounts under `accounts:`"
                        .into(),
                );
                CliError::from(e)
            })?;
            Some(listed)
        }
    };
    let picked = engine::accounts::select(spec, found.as_deref(), &g.accounts, g.shard)
        .map_err(engine::Error::from)?;
    Ok(Some(picked))
}

/// Runs `work` in every account, `--parallel-accounts` at once, and returns the answers in the accounts' order.
/// Each account has its own backend (own credentials, pacing and call counts).
pub(super) async fn each<T, F>(
    g: &Global,
    targets: &[Target],
    effects: &Effects,
    work: F,
) -> Vec<Result<T, CliError>>
where
    F: AsyncFn(&Target, &AnyBackend) -> Result<T, CliError>,
{
    let work = &work;
    let runs = targets.iter().enumerate().map(|(i, t)| async move {
        let result = match connect_to(g, effects, Some(t)).await {
            Ok(backend) => {
                let r = work(t, &backend).await;
                if g.stats || g.verbose > 0 {
                    eprintln!("{}:", escape(&t.label()));
                    print_stats(&backend, true);
                }
                r
            }
            Err(e) => Err(e),
        };
        (i, result)
    });
    let mut out: Vec<(usize, Result<T, CliError>)> = futures_util::stream::iter(runs)
        .buffer_unordered(g.parallel_accounts.max(1))
        .collect()
        .await;
    out.sort_by_key(|(i, _)| *i);
    out.into_iter().map(|(_, r)| r).collect()
}

/// `--user` in one account: the names its part of the spec holds, and names the spec holds nowhere (the engine
/// finds them live or says they are unknown); a user the spec puts only in other accounts is out of this one's scope.
fn only_in(
    full: &Spec,
    one: &Spec,
    users: &[String],
) -> Option<std::collections::BTreeSet<String>> {
    let given = only(users)?;
    let holds =
        |spec: &Spec, name: &str| spec.users.iter().any(|u| u.name.eq_ignore_ascii_case(name));
    Some(
        given
            .into_iter()
            .filter(|name| holds(one, name) || !holds(full, name))
            .collect(),
    )
}

/// Plans one account: its part of the spec, its part of `--user`.
async fn plan_one(
    t: &Target,
    backend: &AnyBackend,
    input: &SpecInput,
    users: &[String],
    keys: KeyRead,
    effects: &Effects,
) -> Result<Planned, CliError> {
    let spec = input.spec.for_account(&t.id);
    let only = only_in(&input.spec, &spec, users);
    Ok(engine::plan(backend, &spec, only, effects.now(), keys).await?)
}

/// Plans every account, in the accounts' order.
async fn plan_each(
    g: &Global,
    targets: &[Target],
    input: &SpecInput,
    users: &[String],
    keys: KeyRead,
) -> Vec<Result<Planned, CliError>> {
    let effects = Effects::system();
    each(g, targets, &effects, async |t, backend| {
        plan_one(t, backend, input, users, keys, &effects).await
    })
    .await
}

/// An account's error as the JSON reports carry it.
fn account_error(e: &CliError) -> AccountError {
    AccountError {
        message: e.to_string(),
        hint: account_hint(e),
    }
}

/// The hint under an account's error.
fn account_hint(e: &CliError) -> Option<String> {
    match e {
        // The single-account hint names --profile; here the credentials are the account's role.
        CliError::Engine(engine::Error::WrongAccount { .. }) => Some(
            "the credentials used for this account (its `role`/`role_arn`, or without one the caller's own) are for another account: check its entry under `accounts:`"
                .to_owned(),
        ),
        _ => e.hint(),
    }
}

/// Prints an account's error on stderr.
fn print_account_error(t: &Target, e: &CliError, color: bool) {
    let red = |s: &str| {
        if color {
            format!("\x1b[31;1m{s}\x1b[0m")
        } else {
            s.to_owned()
        }
    };
    let lines: Vec<String> = e
        .to_string()
        .lines()
        .map(|l| escape(l).into_owned())
        .collect();
    eprintln!(
        "{} account {}: {}",
        red("error:"),
        escape(&t.label()),
        lines.join("\n")
    );
    if let Some(hint) = account_hint(e) {
        eprintln!("  hint: {}", Escaped(&hint));
    }
}

/// Writes the many-account JSON document of `kind` on stdout.
fn write_report<T: serde::Serialize>(
    kind: &'static str,
    summary: AccountsSummary,
    accounts: Vec<AccountEntry<T>>,
) -> Result<(), CliError> {
    let doc = AccountsReport {
        format_version: render::json::ACCOUNTS_FORMAT,
        kind,
        summary,
        accounts,
    };
    let mut text = serde_json::to_string_pretty(&doc).map_err(|source| CliError::Json {
        what: "the report",
        source,
    })?;
    text.push('\n');
    write_stdout(text.as_bytes())
}

/// Prints the failed accounts' errors on stderr, after a machine-readable document on stdout.
fn print_errors<T>(targets: &[Target], results: &[Result<T, CliError>], color: bool) {
    for (t, r) in targets.iter().zip(results) {
        if let Err(e) = r {
            print_account_error(t, e, color);
        }
    }
}

/// The heading over an account's part of the text output.
fn heading(out: &mut dyn Write, t: &Target, g: &Global) -> std::io::Result<()> {
    let style = output::stdout_style(g.color);
    writeln!(
        out,
        "{}",
        style.bold(&format!("=== {} ===", escape(&t.label())))
    )
}

/// The closing lines: one per account, then the counts.
fn summary(
    out: &mut dyn Write,
    targets: &[Target],
    lines: &[String],
    counts: AccountsSummary,
) -> std::io::Result<()> {
    writeln!(out)?;
    writeln!(
        out,
        "Accounts: {} ({} with changes, {} failed)",
        counts.accounts, counts.changed, counts.failed
    )?;
    for (t, line) in targets.iter().zip(lines) {
        writeln!(out, "  {}: {line}", escape(&t.label()))?;
    }
    Ok(())
}

fn one_line(e: &CliError) -> String {
    let text = e.to_string();
    let first = text.lines().next().unwrap_or_default();
    format!("failed: {}", escape(first))
}

/// `plan` of a many-account spec.
#[expect(clippy::too_many_arguments, reason = "plan's options, passed on")]
pub(super) async fn plan(
    g: &Global,
    targets: &[Target],
    input: &SpecInput,
    path: &Path,
    out_file: Option<&Path>,
    view: PlanOutput,
    detailed: bool,
    users: &[String],
    keys: KeyRead,
) -> Result<u8, CliError> {
    let results = plan_each(g, targets, input, users, keys).await;
    let counts = count(&results, |p: &Planned| !p.plan.is_empty());
    show_plans(g, targets, &results, view, counts)?;
    if let Some(file) = out_file {
        if counts.failed > 0 {
            eprintln!(
                "The plan was not saved: every account must plan for a saved plan to cover them."
            );
        } else {
            let parts: Vec<SavedPart> = targets
                .iter()
                .zip(&results)
                .filter_map(|(t, r)| r.as_ref().ok().map(|p| (t, p)))
                .map(|(t, p)| SavedPart {
                    name: t.name.clone(),
                    account_id: t.id.clone(),
                    plan: SavedPlan::new(path, &input.text, p),
                })
                .collect();
            let saved = SavedAccounts {
                format_version: SAVED_FORMAT,
                kind: SAVED_KIND.into(),
                accounts: parts,
            };
            let text = serde_json::to_string_pretty(&saved).map_err(|source| CliError::Json {
                what: "the saved plan",
                source,
            })?;
            write_file(file, text.as_bytes())?;
            eprintln!(
                "Saved the plan of {} account(s) to {}. Apply it with: iamspec apply -f {} {}",
                targets.len(),
                escape(&file.display().to_string()),
                escape(&path.display().to_string()),
                escape(&file.display().to_string())
            );
        }
    }
    exit_code(counts, detailed)
}

fn count<T>(results: &[Result<T, CliError>], changed: impl Fn(&T) -> bool) -> AccountsSummary {
    AccountsSummary {
        accounts: results.len(),
        changed: results
            .iter()
            .filter(|r| r.as_ref().is_ok_and(&changed))
            .count(),
        failed: results.iter().filter(|r| r.is_err()).count(),
    }
}

/// Errors win, then changes (when asked for).
fn exit_code(counts: AccountsSummary, detailed: bool) -> Result<u8, CliError> {
    if counts.failed > 0 {
        return Err(CliError::Accounts {
            failed: counts.failed,
            total: counts.accounts,
            stopped: false,
        });
    }
    Ok(if detailed && counts.changed > 0 {
        exit::CHANGES
    } else {
        exit::OK
    })
}

/// Prints the accounts' plans: text per account under a heading and a summary, or one JSON document.
fn show_plans(
    g: &Global,
    targets: &[Target],
    results: &[Result<Planned, CliError>],
    view: PlanOutput,
    counts: AccountsSummary,
) -> Result<(), CliError> {
    let color = output::stderr_style(g.color).color;
    match view.format {
        PlanFormat::Json => {
            let accounts = targets
                .iter()
                .zip(results)
                .map(|(t, r)| {
                    let (result, error) = match r {
                        Ok(p) => (
                            Some(render::json::PlanOutput {
                                format_version: p.plan.format_version,
                                account_id: Some(&p.account_id),
                                caller_arn: p.caller_arn.as_deref(),
                                summary: p.plan.summary(),
                                changes: &p.plan.changes,
                                notices: &p.plan.notices,
                                access_changes: &p.plan.access_changes,
                            }),
                            None,
                        ),
                        Err(e) => (None, Some(account_error(e))),
                    };
                    AccountEntry {
                        name: t.name.clone(),
                        account_id: t.id.clone(),
                        changed: r.as_ref().is_ok_and(|p| !p.plan.is_empty()),
                        result,
                        error,
                    }
                })
                .collect();
            write_report("plan", counts, accounts)?;
            print_errors(targets, results, color);
            Ok(())
        }
        PlanFormat::Markdown => {
            let labels: Vec<String> = targets.iter().map(Target::label).collect();
            let parts: Vec<render::markdown::AccountPart<'_>> = labels
                .iter()
                .zip(results)
                .map(|(label, r)| {
                    let part = match r {
                        Ok(p) => Ok((&p.plan, p.account_id.as_str())),
                        Err(e) => Err(e.to_string()),
                    };
                    (label.as_str(), part)
                })
                .collect();
            write_stdout(
                render::markdown::accounts_plan(&parts, render::markdown::COMMENT_LIMIT).as_bytes(),
            )?;
            print_errors(targets, results, color);
            Ok(())
        }
        PlanFormat::Gitlab => {
            let plans = results
                .iter()
                .filter_map(|r| r.as_ref().ok())
                .map(|p| &p.plan);
            let mut text = render::ci::gitlab_accounts(plans).to_string();
            text.push('\n');
            write_stdout(text.as_bytes())?;
            print_errors(targets, results, color);
            Ok(())
        }
        PlanFormat::Text => {
            let mut lines = Vec::new();
            for (t, r) in targets.iter().zip(results) {
                {
                    let mut out = output::buffered_stdout();
                    heading(&mut out, t, g)
                        .and_then(|()| out.flush())
                        .map_err(stdout_error)?;
                }
                match r {
                    Ok(p) => {
                        print_plan(p, g, view)?;
                        lines.push(render::text::summary_line(&p.plan));
                    }
                    Err(e) => {
                        print_account_error(t, e, color);
                        lines.push(one_line(e));
                    }
                }
                write_stdout(b"\n")?;
            }
            let mut out = output::buffered_stdout();
            summary(&mut out, targets, &lines, counts)
                .and_then(|()| out.flush())
                .map_err(stdout_error)
        }
    }
}

/// `drift` of a many-account spec.
pub(super) async fn drift(
    g: &Global,
    targets: &[Target],
    input: &SpecInput,
    path: &Path,
    format: DriftFormat,
    users: &[String],
    keys: KeyRead,
) -> Result<u8, CliError> {
    let effects = Effects::system();
    // Each account's report as soon as its plan is made: its live account need not outlive it.
    let results = each(g, targets, &effects, async |t, backend| {
        let Planned {
            account_id,
            plan,
            live,
            keys_as_of,
            ..
        } = plan_one(t, backend, input, users, keys, &effects).await?;
        let now = crate::drift::rfc3339(effects.now());
        Ok(crate::drift::report(
            &plan,
            &live,
            keys_as_of,
            &account_id,
            now,
        ))
    })
    .await;
    let counts = count(&results, |r: &crate::drift::DriftReport| r.drifted);
    let color = output::stderr_style(g.color).color;
    match format {
        DriftFormat::Json => {
            let accounts = targets
                .iter()
                .zip(&results)
                .map(|(t, r)| AccountEntry {
                    name: t.name.clone(),
                    account_id: t.id.clone(),
                    changed: r.as_ref().is_ok_and(|r| r.drifted),
                    result: r.as_ref().ok(),
                    error: r.as_ref().err().map(account_error),
                })
                .collect();
            write_report("drift", counts, accounts)?;
            print_errors(targets, &results, color);
        }
        DriftFormat::Text => {
            let mut lines = Vec::new();
            for (t, r) in targets.iter().zip(&results) {
                let mut out = output::buffered_stdout();
                heading(&mut out, t, g).map_err(stdout_error)?;
                match r {
                    Ok(report) => {
                        render::text::drift(
                            &mut out,
                            report,
                            output::stdout_style(g.color),
                            g.verbose > 0,
                        )
                        .and_then(|()| writeln!(out))
                        .and_then(|()| out.flush())
                        .map_err(stdout_error)?;
                        lines.push(if report.drifted {
                            format!("drifted ({} finding(s))", report.items.len())
                        } else {
                            "No drift.".to_owned()
                        });
                    }
                    Err(e) => {
                        out.flush().map_err(stdout_error)?;
                        drop(out);
                        print_account_error(t, e, color);
                        lines.push(one_line(e));
                    }
                }
            }
            let mut out = output::buffered_stdout();
            summary(&mut out, targets, &lines, counts)
                .and_then(|()| out.flush())
                .map_err(stdout_error)?;
        }
        DriftFormat::Sarif | DriftFormat::Github => {
            // One set of findings at the spec's lines, each message naming its account.
            let mut all = crate::spec::Diagnostics {
                file: path.display().to_string(),
                source: input.text.as_str().into(),
                items: Vec::new(),
            };
            for (t, r) in targets.iter().zip(&results) {
                match r {
                    Ok(report) => {
                        let mut diags = crate::drift::located(
                            report,
                            &input.spec,
                            &path.display().to_string(),
                            &input.text,
                        );
                        for d in &mut diags.items {
                            d.message = format!("{}: {}", t.label(), d.message);
                        }
                        all.items.extend(diags.items);
                    }
                    Err(e) => print_account_error(t, e, color),
                }
            }
            let findings = if format == DriftFormat::Sarif {
                super::args::FindingsFormat::Sarif
            } else {
                super::args::FindingsFormat::Github
            };
            super::offline::write_findings(&all, findings, &crate::drift::RULES)?;
        }
    }
    if counts.failed > 0 {
        return Err(CliError::Accounts {
            failed: counts.failed,
            total: counts.accounts,
            stopped: false,
        });
    }
    Ok(if counts.changed > 0 {
        exit::CHANGES
    } else {
        exit::OK
    })
}

/// The saved form of a many-account plan.
const SAVED_KIND: &str = "iamspec-accounts-plan";
const SAVED_FORMAT: u32 = 1;

#[derive(serde::Serialize, serde::Deserialize)]
struct SavedAccounts {
    format_version: u32,
    kind: String,
    accounts: Vec<SavedPart>,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct SavedPart {
    name: String,
    account_id: String,
    plan: SavedPlan,
}

/// Whether a saved plan file holds many accounts.
pub(super) fn is_saved_accounts(value: &serde_json::Value) -> bool {
    value.get("kind").and_then(serde_json::Value::as_str) == Some(SAVED_KIND)
}

/// `apply` of a many-account spec: every account plans first; an account that fails stops the apply everywhere
/// unless `--continue-on-error`; the plans are confirmed once; then each account applies its own plan, proven
/// again under its lock, as a saved plan is.
pub(super) async fn apply_spec(
    g: &Global,
    targets: &[Target],
    input: &SpecInput,
    path: &Path,
    args: &ApplyArgs,
    sink: &dyn engine::KeySink,
) -> Result<u8, CliError> {
    let results = plan_each(g, targets, input, &args.users, args.keys).await;
    let counts = count(&results, |p: &Planned| !p.plan.is_empty());
    let view = PlanOutput {
        format: PlanFormat::Text,
        show_policies: args.show_policies,
    };
    show_plans(g, targets, &results, view, counts)?;
    if counts.failed > 0 && !args.continue_on_error {
        return Err(CliError::Accounts {
            failed: counts.failed,
            total: counts.accounts,
            stopped: true,
        });
    }
    let parts: Vec<(Target, SavedPlan)> = targets
        .iter()
        .zip(&results)
        .filter_map(|(t, r)| match r {
            Ok(p) if !p.plan.is_empty() => Some((t.clone(), SavedPlan::new(path, &input.text, p))),
            _ => None,
        })
        .collect();
    if parts.is_empty() {
        return exit_code(counts, false);
    }
    if !args.auto_approve {
        let question = format!("\nApply these changes to {} account(s)?", parts.len());
        super::apply::ask_or_refuse(question, "apply", "--auto-approve", &engine::Cancel::new())
            .await?;
    }
    let failed_to_plan = counts.failed;
    apply_parts(
        g,
        &parts,
        &input.spec,
        args,
        sink,
        failed_to_plan,
        counts.accounts,
    )
    .await
}

/// Applies proven per-account plans, each under its account's lock, and sums up.
async fn apply_parts(
    g: &Global,
    parts: &[(Target, SavedPlan)],
    spec: &Spec,
    args: &ApplyArgs,
    sink: &dyn engine::KeySink,
    failed_before: usize,
    total: usize,
) -> Result<u8, CliError> {
    let effects = Effects::system();
    let targets: Vec<Target> = parts.iter().map(|(t, _)| t.clone()).collect();
    let cancel = engine::Cancel::new();
    let signals = watch_signals(&cancel);
    let bars = output::progress_group();
    let results = each(g, &targets, &effects, async |t, backend| {
        let Some((_, saved)) = parts.iter().find(|(p, _)| p.id == t.id) else {
            return Ok(String::new());
        };
        let spec = spec.for_account(&t.id);
        run_account_session(g, backend, &spec, saved, args, sink, &cancel, t, &bars).await
    })
    .await;
    let _ = bars.clear();
    signals.abort();
    let color = output::stderr_style(g.color).color;
    let mut lines = Vec::new();
    let mut failed = failed_before;
    for (t, r) in targets.iter().zip(&results) {
        match r {
            Ok(line) => lines.push(line.clone()),
            Err(e) => {
                failed += 1;
                print_account_error(t, e, color);
                lines.push(one_line(e));
            }
        }
    }
    let mut out = output::buffered_stdout();
    writeln!(out)
        .and_then(|()| writeln!(out, "Applied to {} account(s):", targets.len()))
        .and_then(|()| {
            for (t, line) in targets.iter().zip(&lines) {
                writeln!(out, "  {}: {line}", escape(&t.label()))?;
            }
            Ok(())
        })
        .and_then(|()| out.flush())
        .map_err(stdout_error)?;
    if failed > 0 {
        return Err(CliError::Accounts {
            failed,
            total,
            stopped: false,
        });
    }
    Ok(exit::OK)
}

/// `apply` of a saved many-account plan: every part is proven against its account before any is applied, and a
/// stale part refuses the whole file.
pub(super) async fn apply_saved(
    g: &Global,
    planfile: &Path,
    value: serde_json::Value,
    spec_file: Option<&Path>,
    args: &ApplyArgs,
    sink: &dyn engine::KeySink,
) -> Result<u8, CliError> {
    let refuse = |reason: String| CliError::Usage {
        message: format!(
            "saved plan {} cannot be applied: {reason}",
            escape(&planfile.display().to_string())
        ),
        hint: "run `iamspec plan --out FILE` again and review the new plan".into(),
    };
    let saved: SavedAccounts = serde_json::from_value(value).map_err(|e| refuse(e.to_string()))?;
    if saved.format_version != SAVED_FORMAT {
        return Err(refuse(format!(
            "format {} (this iamspec reads {SAVED_FORMAT})",
            saved.format_version
        )));
    }
    let Some(first) = saved.accounts.first() else {
        return Err(refuse("it covers no account".into()));
    };
    // Every part must name the same spec, with the same bytes; each part is also parsed as a single plan would be.
    let spec_path = first
        .plan
        .spec_path(spec_file)
        .map_err(|e| refuse(e.to_string()))?;
    let text = super::files::read_text(&spec_path)?;
    for part in &saved.accounts {
        let reparsed = serde_json::to_string(&part.plan).map_err(|e| refuse(e.to_string()))?;
        SavedPlan::parse(&reparsed).map_err(|e| refuse(e.to_string()))?;
        part.plan
            .check_spec(&spec_path, text.as_bytes())
            .map_err(|e| refuse(e.to_string()))?;
        if part.plan.account_id != part.account_id {
            return Err(refuse(format!(
                "its part for `{}` is a plan of account {}",
                escape(&part.name),
                part.plan.account_id
            )));
        }
    }
    let spec = super::files::load_spec_text(&spec_path, &text, g.color)?.spec;
    let effects = Effects::system();
    let all = targets(g, &spec, &effects).await?.unwrap_or_default();
    // The plan covers exactly the run's accounts (after --account / --shard): an account added since, or one the
    // plan covers that is gone, is a different run.
    let mut planned: Vec<&str> = saved
        .accounts
        .iter()
        .map(|p| p.account_id.as_str())
        .collect();
    let mut running: Vec<&str> = all.iter().map(|t| t.id.as_str()).collect();
    planned.sort_unstable();
    running.sort_unstable();
    if planned != running {
        return Err(refuse(format!(
            "it covers account(s) {}, this run covers {}",
            planned.join(", "),
            running.join(", ")
        )));
    }
    // Proven everywhere first: one stale part refuses the file before any account is written.
    let proofs = each(g, &all, &effects, async |t, backend| {
        let Some(part) = saved.accounts.iter().find(|p| p.account_id == t.id) else {
            return Ok(false);
        };
        let one = spec.for_account(&t.id);
        let caller = engine::checked_account(backend, one.account_id.as_deref()).await?;
        match part
            .plan
            .prove(backend, &one, caller, effects.now(), args.keys)
            .await
        {
            Ok(p) => Ok(!p.plan.is_empty()),
            Err(engine::Error::Saved(engine::SavedPlanError::AlreadyApplied)) => Ok(false),
            Err(e) => Err(e.into()),
        }
    })
    .await;
    let color = output::stderr_style(g.color).color;
    let mut stale = 0;
    for (t, r) in all.iter().zip(&proofs) {
        if let Err(e) = r {
            stale += 1;
            print_account_error(t, e, color);
        }
    }
    if stale > 0 {
        return Err(refuse(format!(
            "{stale} of {} account(s) no longer match it; nothing was applied in any account",
            all.len()
        )));
    }
    let parts: Vec<(Target, SavedPlan)> = all
        .iter()
        .zip(&proofs)
        .filter(|(_, r)| matches!(r, Ok(true)))
        .filter_map(|(t, _)| {
            let part = saved.accounts.iter().find(|p| p.account_id == t.id)?;
            Some((t.clone(), part.plan.clone()))
        })
        .collect();
    if parts.is_empty() {
        write_stdout(
            b"Already applied: every account holds what this plan makes. Nothing to do.\n",
        )?;
        return Ok(exit::OK);
    }
    apply_parts(g, &parts, &spec, args, sink, 0, all.len()).await
}
