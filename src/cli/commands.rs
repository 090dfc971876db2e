//! One function per command. Commands read files and talk to backends; decisions live in the library.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::Path;
use std::time::Duration;

use clap::CommandFactory;

use super::args::{Cli, ColorChoice, Command, Format, Global};
use super::{exit, output, print_diagnostics, CliError};
use crate::apply::{self, ApplyOptions, Event, KeySink};
use crate::backend::aws::{AwsBackend, AwsOptions};
use crate::backend::local::{system_now, LocalBackend};
use crate::backend::{read_for_plan, AnyBackend, Backend, ReadScope};
use crate::diff::{diff, DiffOptions};
use crate::model::Account;
use crate::plan::{Op, Plan};
use crate::render;
use crate::saved::{fingerprint, sha256_hex, SavedPlan};
use crate::secrets::{AgeSink, NoSink, SecretsDir};
use crate::spec::{self, Loaded, Spec};

/// Runs a parsed command line.
///
/// # Errors
/// Whatever the command fails with.
pub async fn run(cli: Cli) -> Result<u8, CliError> {
    let g = &cli.global;
    match cli.command {
        Command::Validate { spec, strict } => validate(&spec.file, strict, g.color),
        Command::Render { spec, users } => render_policies(&spec.file, &users, g.color),
        Command::Plan {
            spec,
            out,
            format,
            detailed_exitcode,
            users,
        } => {
            plan(
                g,
                &spec.file,
                out.as_deref(),
                format,
                detailed_exitcode,
                &users,
            )
            .await
        }
        Command::Apply {
            spec,
            planfile,
            auto_approve,
            concurrency,
            max_deletes,
            secrets_dir,
            encrypt_to,
            secrets_format,
            users,
        } => {
            let sink = make_sink(
                secrets_dir.as_deref(),
                encrypt_to.as_deref(),
                secrets_format,
            )?;
            let opts = ApplyArgs {
                auto_approve,
                concurrency: usize::from(concurrency),
                max_deletes,
                has_sink: sink.is_some(),
                users,
            };
            let sink: Box<dyn KeySink> = sink.unwrap_or_else(|| Box::new(NoSink));
            match planfile {
                Some(path) => apply_saved(g, &path, &opts, sink.as_ref()).await,
                None => apply_spec(g, &spec.file, &opts, sink.as_ref()).await,
            }
        }
        Command::Drift {
            spec,
            format,
            users,
        } => drift(g, &spec.file, format, &users).await,
        Command::Import {
            path,
            users,
            adopt,
            output,
        } => import(g, path, &users, adopt, output.as_deref()).await,
        Command::SelfPolicy { spec } => {
            let (loaded, _) = load_spec(&spec.file, g.color)?;
            let doc = crate::selfpolicy::policy(&loaded.spec);
            println!("{}", serde_json::to_string_pretty(&doc).unwrap_or_default());
            Ok(exit::OK)
        }
        Command::Schema => {
            print!("{}", spec::json_schema());
            Ok(exit::OK)
        }
        Command::Completions { shell } => {
            clap_complete::generate(
                shell,
                &mut Cli::command(),
                "iamspec",
                &mut std::io::stdout(),
            );
            Ok(exit::OK)
        }
    }
}

/// Where new secrets go: encrypted with --encrypt-to, plain 0600 files with --secrets-dir, else nowhere.
fn make_sink(
    dir: Option<&Path>,
    encrypt_to: Option<&str>,
    format: crate::secrets::SecretsFormat,
) -> Result<Option<Box<dyn KeySink>>, CliError> {
    let io = |dir: &Path| {
        let path = dir.display().to_string();
        move |source| CliError::Io {
            action: "prepare secrets directory",
            path,
            source,
        }
    };
    Ok(match (dir, encrypt_to) {
        (dir, Some(recipient)) => {
            let dir = dir.unwrap_or(Path::new("iamspec-secrets"));
            Some(Box::new(
                AgeSink::prepare(dir, recipient, format).map_err(io(dir))?,
            ))
        }
        (Some(dir), None) => Some(Box::new(SecretsDir::prepare(dir, format).map_err(io(dir))?)),
        (None, None) => None,
    })
}

fn read_text(path: &Path) -> Result<String, CliError> {
    std::fs::read_to_string(path).map_err(|source| CliError::Io {
        action: "read",
        path: path.display().to_string(),
        source,
    })
}

/// Reads and validates the spec; prints warnings.
fn load_spec(path: &Path, color: ColorChoice) -> Result<(Loaded, String), CliError> {
    let text = read_text(path)?;
    let loaded = spec::load(&path.display().to_string(), &text).map_err(CliError::Spec)?;
    if !loaded.warnings.items.is_empty() {
        print_diagnostics(&loaded.warnings, output::stderr_style(color).color);
    }
    Ok((loaded, text))
}

fn validate(path: &Path, strict: bool, color: ColorChoice) -> Result<u8, CliError> {
    let (loaded, _) = load_spec(path, color)?;
    let (_, warnings) = loaded.warnings.counts();
    if strict && warnings > 0 {
        return Err(CliError::Other(format!(
            "{}: {warnings} warning(s) under --strict",
            path.display()
        )));
    }
    println!(
        "{} is valid: {} user(s), {warnings} warning(s).",
        path.display(),
        loaded.spec.users.len()
    );
    Ok(exit::OK)
}

fn render_policies(path: &Path, users: &[String], color: ColorChoice) -> Result<u8, CliError> {
    let (loaded, _) = load_spec(path, color)?;
    let only: BTreeSet<String> = users.iter().map(|u| u.to_ascii_lowercase()).collect();
    let mut out = output::buffered_stdout();
    for user in &loaded.spec.users {
        if !only.is_empty() && !only.contains(&user.name.to_ascii_lowercase()) {
            continue;
        }
        match user.grants_policy() {
            Some(doc) => {
                let _ = writeln!(
                    out,
                    "# {}: inline policy {} ({} of {} characters)\n{}\n",
                    user.name,
                    crate::model::GRANTS_POLICY,
                    doc.size(),
                    crate::policy::INLINE_USER_LIMIT,
                    doc.to_pretty_json()
                );
            }
            None => {
                let _ = writeln!(out, "# {}: no grants\n", user.name);
            }
        }
    }
    let _ = out.flush();
    Ok(exit::OK)
}

async fn connect(g: &Global) -> Result<AnyBackend, CliError> {
    Ok(match &g.local {
        Some(path) => AnyBackend::Local(Box::new(LocalBackend::open(path)?)),
        None => AnyBackend::Aws(Box::new(
            AwsBackend::connect(&AwsOptions {
                profile: g.profile.clone(),
                region: g.region.clone(),
                endpoint_url: g.endpoint_url.clone(),
                page_size: std::env::var("IAMSPEC_PAGE_SIZE")
                    .ok()
                    .and_then(|v| v.parse().ok()),
            })
            .await,
        )),
    })
}

fn print_stats(backend: &AnyBackend, enabled: bool) {
    if !enabled {
        return;
    }
    let stats = backend.stats();
    let total: u64 = stats.values().sum();
    eprintln!("API calls: {total}");
    for (op, n) in stats {
        eprintln!("  {op:<36} {n}");
    }
}

/// The account check: GetCallerIdentity before any other call, refusing a foreign account.
async fn checked_account(backend: &AnyBackend, expected: Option<&str>) -> Result<String, CliError> {
    let actual = backend.account_id().await?;
    if let Some(expected) = expected {
        if expected != actual {
            return Err(CliError::WrongAccount {
                expected: expected.to_owned(),
                actual,
            });
        }
    }
    Ok(actual)
}

fn diff_options(users: &[String], account_id: &str) -> DiffOptions {
    DiffOptions {
        now: system_now(),
        only: (!users.is_empty()).then(|| users.iter().map(|u| u.to_ascii_lowercase()).collect()),
        account_id: Some(account_id.to_owned()),
    }
}

struct Planned {
    spec: Spec,
    spec_text: String,
    account_id: String,
    live: Account,
    plan: Plan,
}

/// The spec, read and validated before any backend exists: an invalid spec makes no AWS call.
struct SpecInput {
    spec: Spec,
    text: String,
}

fn spec_input(path: &Path, g: &Global) -> Result<SpecInput, CliError> {
    let (loaded, text) = load_spec(path, g.color)?;
    Ok(SpecInput {
        spec: loaded.spec,
        text,
    })
}

async fn make_plan(
    backend: &AnyBackend,
    input: SpecInput,
    users: &[String],
) -> Result<Planned, CliError> {
    let SpecInput {
        spec,
        text: spec_text,
    } = input;
    let account_id = checked_account(backend, spec.account_id.as_deref()).await?;
    let opts = diff_options(users, &account_id);
    let live = read_for_plan(backend, &spec, &opts).await?;
    let plan = match diff(&spec, &live, &opts) {
        Ok(p) => p,
        Err(crate::diff::DiffError::Conflicts(c)) => return Err(CliError::Conflicts(c)),
    };
    Ok(Planned {
        spec,
        spec_text,
        account_id,
        live,
        plan,
    })
}

fn print_plan(plan: &Plan, format: Format, color: ColorChoice) -> Result<(), CliError> {
    let mut out = output::buffered_stdout();
    let res = match format {
        Format::Text => render::text::plan(&mut out, plan, output::stdout_style(color)),
        Format::Json => render::json::plan(&mut out, plan),
    };
    res.and_then(|()| out.flush())
        .map_err(|source| CliError::Io {
            action: "write",
            path: "stdout".into(),
            source,
        })
}

async fn plan(
    g: &Global,
    path: &Path,
    out: Option<&Path>,
    format: Format,
    detailed: bool,
    users: &[String],
) -> Result<u8, CliError> {
    let input = spec_input(path, g)?;
    let backend = connect(g).await?;
    let result = async {
        let p = make_plan(&backend, input, users).await?;
        print_plan(&p.plan, format, g.color)?;
        if let Some(out) = out {
            let saved = SavedPlan {
                iamspec_version: env!("CARGO_PKG_VERSION").to_owned(),
                spec_file: path.display().to_string(),
                spec_sha256: sha256_hex(p.spec_text.as_bytes()),
                account_id: p.account_id.clone(),
                owner: p.spec.owner.clone(),
                key_users: crate::diff::key_users(&p.spec),
                fingerprint: fingerprint(&p.plan, &p.live),
                plan: p.plan.clone(),
                checksum: String::new(),
            }
            .seal();
            let text =
                serde_json::to_string_pretty(&saved).map_err(|e| CliError::Other(e.to_string()))?;
            crate::backend::local::write_atomic(out, text.as_bytes()).map_err(|source| {
                CliError::Io {
                    action: "write",
                    path: out.display().to_string(),
                    source,
                }
            })?;
            eprintln!(
                "Saved the plan to {}. Apply it with: iamspec apply {}",
                out.display(),
                out.display()
            );
        }
        Ok(if detailed && !p.plan.is_empty() {
            exit::CHANGES
        } else {
            exit::OK
        })
    }
    .await;
    print_stats(&backend, g.stats || g.verbose > 0);
    result
}

struct ApplyArgs {
    auto_approve: bool,
    concurrency: usize,
    max_deletes: usize,
    has_sink: bool,
    users: Vec<String>,
}

/// Refusals that must happen before any write.
fn preflight(plan: &Plan, args: &ApplyArgs) -> Result<(), CliError> {
    let destructive = plan.destructive_count();
    if destructive > args.max_deletes {
        return Err(CliError::TooManyDeletes {
            count: destructive,
            max: args.max_deletes,
        });
    }
    let keys = plan
        .changes
        .iter()
        .filter(|c| matches!(c.op, Op::CreateAccessKey { .. }))
        .count();
    if keys > 0 && !args.has_sink {
        return Err(CliError::NoSecretsDestination(keys));
    }
    Ok(())
}

async fn apply_spec(
    g: &Global,
    path: &Path,
    args: &ApplyArgs,
    sink: &dyn KeySink,
) -> Result<u8, CliError> {
    let input = spec_input(path, g)?;
    let backend = connect(g).await?;
    let result = async {
        let p = make_plan(&backend, input, &args.users).await?;
        print_plan(&p.plan, Format::Text, g.color)?;
        if p.plan.is_empty() {
            return Ok(exit::OK);
        }
        preflight(&p.plan, args)?;
        if !args.auto_approve {
            if !output::interactive() {
                return Err(CliError::NeedsApproval);
            }
            if !output::confirm(
                "\nApply these changes to account {}?"
                    .replace("{}", &p.account_id)
                    .as_str(),
            ) {
                return Err(CliError::Declined);
            }
        }
        execute(&backend, &p.plan, &p.live, args, sink, g).await?;
        settle(&backend, &p.spec, &p.plan, &args.users, &p.account_id).await?;
        Ok(exit::OK)
    }
    .await;
    print_stats(&backend, g.stats || g.verbose > 0);
    result
}

async fn apply_saved(
    g: &Global,
    path: &Path,
    args: &ApplyArgs,
    sink: &dyn KeySink,
) -> Result<u8, CliError> {
    let stale = |reason: String| CliError::StalePlan {
        path: path.display().to_string(),
        reason,
    };
    let text = read_text(path)?;
    let saved: SavedPlan =
        serde_json::from_str(&text).map_err(|e| stale(format!("not a saved plan ({e})")))?;
    saved.check_integrity().map_err(stale)?;
    if let Ok(spec_now) = std::fs::read(&saved.spec_file) {
        if sha256_hex(&spec_now) != saved.spec_sha256 {
            return Err(stale(format!(
                "{} changed since the plan was made",
                saved.spec_file
            )));
        }
    }
    let backend = connect(g).await?;
    let result = async {
        let account = backend.account_id().await?;
        if account != saved.account_id {
            return Err(stale(format!(
                "it was made for account {}, the credentials are for {account}",
                saved.account_id
            )));
        }
        let scope = ReadScope {
            owner: saved.owner.clone(),
            key_users: saved.key_users.clone(),
        };
        let mut live = backend.read(&scope).await?;
        let pruned: Vec<String> = saved
            .plan
            .changes
            .iter()
            .filter(|c| matches!(c.op, Op::DeleteUser { .. }))
            .map(|c| c.user.clone())
            .collect();
        crate::backend::add_dependents(&backend, &mut live, &pruned).await?;
        saved.check_fresh(&live).map_err(stale)?;
        print_plan(&saved.plan, Format::Text, g.color)?;
        if saved.plan.is_empty() {
            return Ok(exit::OK);
        }
        preflight(&saved.plan, args)?;
        // A saved plan was reviewed when it was made: no second confirmation.
        execute(&backend, &saved.plan, &live, args, sink, g).await?;
        Ok(exit::OK)
    }
    .await;
    print_stats(&backend, g.stats || g.verbose > 0);
    result
}

async fn execute(
    backend: &AnyBackend,
    plan: &Plan,
    live: &Account,
    args: &ApplyArgs,
    sink: &dyn KeySink,
    g: &Global,
) -> Result<(), CliError> {
    let known_keys: BTreeMap<String, BTreeSet<String>> = live
        .users
        .values()
        .map(|u| {
            (
                u.name.to_ascii_lowercase(),
                u.access_keys.iter().map(|k| k.id.clone()).collect(),
            )
        })
        .collect();
    let opts = ApplyOptions {
        concurrency: args.concurrency,
        known_keys,
        ..ApplyOptions::default()
    };
    let bar = output::progress(plan.changes.len());
    let style = output::stderr_style(g.color);
    let on_event = |e: &Event<'_>| match e {
        Event::Started { change, .. } => {
            bar.set_message(format!("{}: {}", change.user, change.op.describe()));
            tracing::info!(user = %change.user, op = change.op.api_name(), "applying");
        }
        Event::Done { .. } => bar.inc(1),
        Event::Retrying {
            attempt,
            error,
            delay,
            ..
        } => {
            tracing::warn!(attempt, ?delay, %error, "retrying");
        }
        Event::Failed { .. } => {}
        Event::KeyDelivered {
            user,
            key_id,
            location,
        } => {
            bar.suspend(|| {
                eprintln!(
                    "{} access key {key_id} for {user}: secret written to {location}",
                    style.bold("key:")
                )
            });
        }
    };
    let report = apply::apply(backend, plan, &opts, sink, &on_event).await;
    bar.finish_and_clear();
    for (index, error) in &report.failed {
        let c = &plan.changes[*index];
        eprintln!(
            "error: failed to {} for {}: {error}",
            c.op.describe(),
            c.user
        );
        if let Some(hint) = &error.hint {
            eprintln!("  hint: {hint}");
        }
    }
    if !report.not_started.is_empty() {
        eprintln!("{} change(s) were not started.", report.not_started.len());
    }
    if report.is_success() {
        println!("Apply complete: {} change(s) made.", report.done.len());
        Ok(())
    } else {
        Err(CliError::ApplyFailed {
            done: report.done.len(),
            failed: report.failed.len(),
            not_started: report.not_started.len(),
        })
    }
}

/// Re-reads until the touched users match (IAM is eventually consistent), so the next plan is clean.
async fn settle(
    backend: &AnyBackend,
    spec: &Spec,
    plan: &Plan,
    users: &[String],
    account_id: &str,
) -> Result<(), CliError> {
    let touched: BTreeSet<String> = plan
        .changes
        .iter()
        .map(|c| c.user.to_ascii_lowercase())
        .collect();
    let mut opts = diff_options(users, account_id);
    opts.only = Some(match opts.only {
        Some(only) => only.intersection(&touched).cloned().collect(),
        None => touched,
    });
    for attempt in 0..5u32 {
        let live = read_for_plan(backend, spec, &opts).await?;
        let again = diff(spec, &live, &opts)
            .map_err(|crate::diff::DiffError::Conflicts(c)| CliError::Conflicts(c))?;
        // Creating keys is not idempotent: a key still missing from a stale read must not count as drift.
        if again
            .changes
            .iter()
            .all(|c| matches!(c.op, Op::CreateAccessKey { .. }))
        {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(250 * 2u64.pow(attempt))).await;
    }
    tracing::warn!("IAM does not show every change yet (eventual consistency); the next plan may list some of them");
    Ok(())
}

async fn drift(g: &Global, path: &Path, format: Format, users: &[String]) -> Result<u8, CliError> {
    let input = spec_input(path, g)?;
    let backend = connect(g).await?;
    let result = async {
        let p = make_plan(&backend, input, users).await?;
        let now = time::OffsetDateTime::now_utc()
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default();
        let report = crate::drift::report(&p.plan, &p.account_id, now);
        let mut out = output::buffered_stdout();
        let io = |source| CliError::Io {
            action: "write",
            path: "stdout".into(),
            source,
        };
        match format {
            Format::Json => {
                serde_json::to_writer_pretty(&mut out, &report)
                    .map_err(|e| CliError::Other(e.to_string()))?;
                writeln!(out).map_err(io)?;
            }
            Format::Text => {
                render::text::drift(&mut out, &report, output::stdout_style(g.color))
                    .map_err(io)?;
            }
        }
        out.flush().map_err(io)?;
        Ok(if report.drifted {
            exit::CHANGES
        } else {
            exit::OK
        })
    }
    .await;
    print_stats(&backend, g.stats || g.verbose > 0);
    result
}

async fn import(
    g: &Global,
    path: Option<String>,
    users: &[String],
    adopt: bool,
    output: Option<&Path>,
) -> Result<u8, CliError> {
    let backend = connect(g).await?;
    let result = async {
        let account_id = backend.account_id().await?;
        let mut live = backend.read(&ReadScope::default()).await?;
        let opts = crate::import::ImportOptions {
            path,
            users: users.iter().map(|u| u.to_ascii_lowercase()).collect(),
            adopt,
            account_id: Some(account_id.clone()),
        };
        // Key counts are carried over: list them for the imported users only.
        let names: Vec<String> = crate::import::selected(&live, &opts)
            .iter()
            .map(|u| u.name.clone())
            .collect();
        for name in names {
            let keys = backend.list_access_keys(&name).await?;
            if let Some(u) = live.users.get_mut(&name) {
                u.access_keys = keys;
            }
        }
        let spec = crate::import::import(&live, &opts);
        let yaml = crate::import::to_yaml(&spec, &format!("account {account_id}"));
        match output {
            Some(file) => {
                crate::backend::local::write_atomic(file, yaml.as_bytes()).map_err(|source| {
                    CliError::Io {
                        action: "write",
                        path: file.display().to_string(),
                        source,
                    }
                })?;
                eprintln!("Wrote {} user(s) to {}.", spec.users.len(), file.display());
            }
            None => print!("{yaml}"),
        }
        Ok(exit::OK)
    }
    .await;
    print_stats(&backend, g.stats || g.verbose > 0);
    result
}
