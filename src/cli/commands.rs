//! One function per command: parse what the user gave, ask the engine, render the answer. Decisions live in the
//! library.

use std::io::Write;
use std::path::Path;

use clap::CommandFactory;

use super::apply::{apply_saved, apply_spec, ask_or_refuse, ApplyArgs};
use super::args::{Cli, Command, DriftFormat, FindingsFormat, Global, PlanFormat};
use super::connect::{one_account, with_backend, with_backend_in};
use super::files::{
    load_spec, only, read_text, spec_input, stdout_error, write_file, write_stdout,
};
use super::offline::{render_policies, validate, write_findings};
use super::{exit, output, CliError};
use crate::backend::{AnyBackend, Backend};
use crate::display::{escape, Escaped};
use crate::effects::Effects;
use crate::engine::read::KeyRead;
use crate::engine::{self, Cancel, KeySink, Limits, Planned, SavedPlan};
use crate::render;
use crate::secrets::{AgeSink, NoSink, SecretsDir};
use crate::spec::{self, Spec};

/// Runs a parsed command line.
///
/// # Errors
/// Whatever the command fails with.
pub async fn run(cli: Cli) -> Result<u8, CliError> {
    let g = &Global::new(&cli.global, cli.command.connection());
    match cli.command {
        Command::Validate {
            spec,
            strict,
            format,
        } => validate(spec.path(), strict, format, g),
        Command::Render { spec, users } => render_policies(spec.path(), &users, g.color),
        Command::Plan {
            spec,
            out,
            format,
            detailed_exitcode,
            show_policies,
            users,
            keys,
            ..
        } => {
            let view = PlanOutput {
                format,
                show_policies,
            };
            plan(
                g,
                spec.path(),
                out.as_deref(),
                view,
                detailed_exitcode,
                &users,
                keys.read(),
            )
            .await
        }
        Command::Apply {
            spec,
            planfile,
            auto_approve,
            show_policies,
            concurrency,
            max_deletes,
            secrets_dir,
            encrypt_to,
            secrets_format,
            users,
            lock_timeout,
            keys,
            continue_on_error,
            ..
        } => {
            let sink = make_sink(
                secrets_dir.as_deref(),
                encrypt_to.as_deref(),
                secrets_format,
            )?;
            let opts = ApplyArgs {
                auto_approve,
                show_policies,
                concurrency: usize::from(concurrency),
                limits: Limits {
                    max_deletes,
                    has_secrets_destination: sink.is_some(),
                },
                users,
                lock_timeout,
                keys: keys.read(),
                continue_on_error,
            };
            let sink: Box<dyn KeySink> = sink.unwrap_or_else(|| Box::new(NoSink));
            match planfile {
                Some(path) => {
                    apply_saved(g, &path, spec.file.as_deref(), &opts, sink.as_ref()).await
                }
                None => apply_spec(g, spec.path(), &opts, sink.as_ref()).await,
            }
        }
        Command::Drift {
            spec,
            format,
            users,
            keys,
            ..
        } => drift(g, spec.path(), format, &users, keys.read()).await,
        Command::Import {
            path,
            users,
            adopt,
            owner,
            output,
            ..
        } => import(g, path, &users, adopt, owner, output.as_deref()).await,
        Command::SelfPolicy { spec, trust } => self_policy(spec.path(), trust.as_deref(), g),
        Command::MergeReports { files } => merge_reports(&files),
        Command::ForceUnlock { spec, force, .. } => force_unlock(g, spec.path(), force).await,
        Command::Bootstrap { spec, apply, .. } => bootstrap(g, spec.path(), apply).await,
        Command::Can {
            spec,
            user,
            action,
            resource,
            context,
            live,
            format,
            ..
        } => {
            super::access::can(
                g,
                spec.path(),
                super::access::Question {
                    who: &user,
                    action: &action,
                    resource: &resource,
                    context: &context,
                },
                live,
                format,
            )
            .await
        }
        Command::WhoCan {
            spec,
            action,
            resource,
            context,
            live,
            format,
            users,
            ..
        } => {
            super::access::who_can(
                g,
                spec.path(),
                &action,
                &resource,
                &context,
                live,
                format,
                &users,
            )
            .await
        }
        Command::Schema => {
            write_stdout(spec::json_schema().as_bytes())?;
            Ok(exit::OK)
        }
        Command::Completions { shell } => {
            // Into memory first: clap_complete panics on a write error, and `| head -c1` closes the pipe.
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "iamspec", &mut script);
            write_stdout(&script)?;
            Ok(exit::OK)
        }
        Command::Man { out_dir: Some(dir) } => {
            clap_mangen::generate_to(Cli::command(), &dir).map_err(|source| CliError::Io {
                action: "write man pages to",
                path: dir.display().to_string(),
                source,
            })?;
            Ok(exit::OK)
        }
        Command::Man { out_dir: None } => {
            let mut page = Vec::new();
            clap_mangen::Man::new(Cli::command())
                .render(&mut page)
                .map_err(stdout_error)?;
            write_stdout(&page)?;
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
    if let Some(recipient) = encrypt_to {
        // Checked before the directory, and said plainly: it is the recipient that is wrong, not the directory.
        if let Err(why) = recipient.trim().parse::<age::x25519::Recipient>() {
            return Err(CliError::Usage {
                message: format!("--encrypt-to `{recipient}` is not an age recipient ({why})"),
                hint: "an age recipient is `age1` and 58 more characters; `age-keygen -y KEYFILE` prints the one of \
                       your key"
                    .into(),
            });
        }
    }
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

/// The command that applies a saved plan as this run reached the account: the spec with -f (pipelines should
/// not take the plan's word for it) and the account options given.
fn apply_command(g: &Global, spec: &Path, plan: &Path) -> String {
    let quote = |s: &str| {
        if !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || "/._-:=@+,".contains(c))
        {
            s.to_owned()
        } else {
            format!("'{}'", s.replace('\'', "'\\''"))
        }
    };
    let mut words = vec![
        "iamspec".to_owned(),
        "apply".to_owned(),
        "-f".to_owned(),
        quote(&spec.display().to_string()),
    ];
    let mut flag = |name: &str, value: Option<&str>| {
        if let Some(v) = value {
            words.push(name.to_owned());
            words.push(quote(v));
        }
    };
    flag(
        "--local",
        g.local.as_ref().map(|p| p.to_str().unwrap_or_default()),
    );
    flag("--profile", g.profile.as_deref());
    flag("--region", g.region.as_deref());
    flag("--endpoint-url", g.endpoint_url.as_deref());
    words.push(quote(&plan.display().to_string()));
    words.join(" ")
}

/// How a plan is printed.
#[derive(Debug, Clone, Copy)]
pub(super) struct PlanOutput {
    pub(super) format: PlanFormat,
    pub(super) show_policies: bool,
}

/// Prints a plan; the text form starts with the account it is for, and who is asking, so a plan made with the
/// wrong profile shows it in its first line.
pub(super) fn print_plan(p: &Planned, g: &Global, view: PlanOutput) -> Result<(), CliError> {
    let mut out = output::buffered_stdout();
    let res = match view.format {
        PlanFormat::Text => {
            let who = match (&p.caller_arn, &g.local) {
                (Some(arn), _) => format!(", as {}", escape(arn)),
                (None, Some(file)) => format!(
                    " (local account file {})",
                    escape(&file.display().to_string())
                ),
                (None, None) => String::new(),
            };
            writeln!(out, "Account {}{who}", escape(&p.account_id)).and_then(|()| {
                render::text::plan(
                    &mut out,
                    &p.plan,
                    render::text::View {
                        style: output::stdout_style(g.color),
                        show_policies: view.show_policies,
                        verbose: g.verbose > 0,
                    },
                )
            })
        }
        PlanFormat::Json => render::json::plan(
            &mut out,
            &p.plan,
            render::json::PlanFor {
                account_id: Some(&p.account_id),
                caller_arn: p.caller_arn.as_deref(),
            },
        ),
        PlanFormat::Markdown => out.write_all(
            render::markdown::plan(&p.plan, &p.account_id, render::markdown::COMMENT_LIMIT)
                .as_bytes(),
        ),
        PlanFormat::Gitlab => serde_json::to_writer(&mut out, &render::ci::gitlab(&p.plan))
            .map_err(std::io::Error::other)
            .and_then(|()| writeln!(out)),
    };
    res.and_then(|()| out.flush()).map_err(stdout_error)
}

async fn plan(
    g: &Global,
    path: &Path,
    out: Option<&Path>,
    view: PlanOutput,
    detailed: bool,
    users: &[String],
    keys: KeyRead,
) -> Result<u8, CliError> {
    let input = spec_input(path, g)?;
    let effects = Effects::system();
    if let Some(targets) = super::accounts::targets(g, &input.spec, &effects).await? {
        return super::accounts::plan(g, &targets, &input, path, out, view, detailed, users, keys)
            .await;
    }
    with_backend(g, &effects, async |backend| {
        let p = engine::plan(backend, &input.spec, only(users), effects.now(), keys).await?;
        print_plan(&p, g, view)?;
        if let Some(out) = out {
            let saved = SavedPlan::new(path, &input.text, &p);
            let text = serde_json::to_string_pretty(&saved).map_err(|source| CliError::Json {
                what: "the saved plan",
                source,
            })?;
            write_file(out, text.as_bytes())?;
            eprintln!(
                "Saved the plan to {}. Apply it with: {}",
                escape(&out.display().to_string()),
                escape(&apply_command(g, path, out))
            );
        }
        Ok(if detailed && !p.plan.is_empty() {
            exit::CHANGES
        } else {
            exit::OK
        })
    })
    .await
}

/// `bootstrap`: the admin step of `delegate: true`. Prints the boundary the spec needs and what would change; with
/// `--apply`, makes the account hold it.
async fn bootstrap(g: &Global, path: &Path, apply: bool) -> Result<u8, CliError> {
    let input = spec_input(path, g)?;
    let spec = &input.spec;
    if !spec.delegate {
        return Err(CliError::Usage {
            message: "bootstrap writes the permissions boundary of a `delegate: true` spec, and this spec does not delegate".into(),
            hint: "add `delegate: true` to the spec (README, Running in CI)".into(),
        });
    }
    let effects = Effects::system();
    let (spec, account) = one_account(g, spec, &effects).await?;
    let spec = &spec;
    with_backend_in(g, &effects, account.as_ref(), async |backend| {
        let account_id = engine::checked_account(backend, spec.account_id.as_deref())
            .await?
            .account_id;
        let plan = engine::bootstrap::plan_boundary(backend, spec, &account_id).await?;
        for note in &plan.boundary.notes {
            eprintln!("note: {}", Escaped(note));
        }
        for why in &plan.boundary.admin_equivalent {
            eprintln!(
                "warning: the boundary caps nothing that matters: {}",
                Escaped(why)
            );
        }
        let state = match plan.ops.first() {
            None => "is up to date",
            Some(crate::plan::Op::CreatePolicy { .. }) => "does not exist yet",
            Some(_) => "is behind the spec",
        };
        eprintln!("The boundary {} {state}.", escape(&plan.arn));
        if !apply {
            let text = serde_json::to_string_pretty(&plan.boundary.document.to_value()).map_err(
                |source| CliError::Json {
                    what: "the boundary",
                    source,
                },
            )?;
            write_stdout(format!("{text}\n").as_bytes())?;
            if !plan.ops.is_empty() {
                eprintln!("Run again with --apply (administrator credentials) to write it; then give the pipeline role `iamspec self-policy`.");
            }
            return Ok(exit::OK);
        }
        engine::bootstrap::write_boundary(backend, &plan).await?;
        let done = if plan.ops.is_empty() {
            "Nothing to do: the boundary is up to date."
        } else {
            "Wrote the boundary."
        };
        write_stdout(format!("{done}\n").as_bytes())?;
        Ok(exit::OK)
    })
    .await
}

/// `force-unlock`: removes an apply lock whose run is gone, after showing who held it and asking.
async fn force_unlock(g: &Global, path: &Path, force: bool) -> Result<u8, CliError> {
    let input = spec_input(path, g)?;
    let effects = Effects::system();
    let Some(targets) = super::accounts::targets(g, &input.spec, &effects).await? else {
        return with_backend(g, &effects, async |backend| {
            unlock_one(backend, &input.spec, force).await
        })
        .await;
    };
    // One account after the other: each shows its holder and asks on its own.
    for t in &targets {
        write_stdout(format!("{}:\n", escape(&t.label())).as_bytes())?;
        let spec = input.spec.for_account(&t.id);
        with_backend_in(g, &effects, Some(t), async |backend| {
            unlock_one(backend, &spec, force).await
        })
        .await?;
    }
    Ok(exit::OK)
}

/// Removes the apply lock of `spec`'s account, after showing who holds it and asking (unless `force`).
async fn unlock_one(backend: &AnyBackend, spec: &Spec, force: bool) -> Result<u8, CliError> {
    let account_id = engine::checked_account(backend, spec.account_id.as_deref())
        .await?
        .account_id;
    let req = engine::lock::request(spec, &account_id, "");
    let Some(holder) = backend.lock_holder(&req).await? else {
        let line = format!(
            "No apply lock is held for owner `{}` in account {account_id}.\n",
            escape(&spec.owner)
        );
        write_stdout(line.as_bytes())?;
        return Ok(exit::OK);
    };
    eprintln!(
        "The apply lock {} is held by: {}",
        req.name,
        Escaped(&holder)
    );
    if !force {
        let question = "Remove it? Do this only when that apply is no longer running.".to_owned();
        ask_or_refuse(question, "force-unlock", "--force", &Cancel::new()).await?;
    }
    backend.unlock(&req, true).await?;
    write_stdout(format!("Removed the apply lock {}.\n", escape(&req.name)).as_bytes())?;
    Ok(exit::OK)
}

async fn drift(
    g: &Global,
    path: &Path,
    format: DriftFormat,
    users: &[String],
    keys: KeyRead,
) -> Result<u8, CliError> {
    let input = spec_input(path, g)?;
    let effects = Effects::system();
    if let Some(targets) = super::accounts::targets(g, &input.spec, &effects).await? {
        return super::accounts::drift(g, &targets, &input, path, format, users, keys).await;
    }
    with_backend(g, &effects, async |backend| {
        let Planned {
            account_id,
            plan,
            live,
            keys_as_of,
            ..
        } = engine::plan(backend, &input.spec, only(users), effects.now(), keys).await?;
        // The report's time is the time the plan was made for, from the one clock.
        let now = crate::drift::rfc3339(effects.now());
        let report = crate::drift::report(&plan, &live, keys_as_of, &account_id, now);
        let mut out = output::buffered_stdout();
        match format {
            DriftFormat::Json => render::json::drift(&mut out, &report),
            DriftFormat::Text => render::text::drift(
                &mut out,
                &report,
                output::stdout_style(g.color),
                g.verbose > 0,
            ),
            DriftFormat::Sarif | DriftFormat::Github => {
                let diags = crate::drift::located(
                    &report,
                    &input.spec,
                    &path.display().to_string(),
                    &input.text,
                );
                let findings = if format == DriftFormat::Sarif {
                    FindingsFormat::Sarif
                } else {
                    FindingsFormat::Github
                };
                write_findings(&diags, findings, &crate::drift::RULES)?;
                Ok(())
            }
        }
        .and_then(|()| out.flush())
        .map_err(stdout_error)?;
        Ok(if report.drifted {
            exit::CHANGES
        } else {
            exit::OK
        })
    })
    .await
}

async fn import(
    g: &Global,
    path: Option<String>,
    users: &[String],
    adopt: bool,
    owner: Option<String>,
    output: Option<&Path>,
) -> Result<u8, CliError> {
    if !g.accounts.is_empty() || g.shard.is_some() {
        return Err(CliError::Usage {
            message: "import reads the account of the credentials it runs with; --account and --shard choose among a spec's accounts, and import has no spec".into(),
            hint: "run it with credentials for that account (a profile that assumes its role, --profile)".into(),
        });
    }
    let effects = Effects::system();
    with_backend(g, &effects, async |backend| {
        let account_id = backend.account_id().await?;
        let opts = crate::import::ImportOptions {
            path,
            users: users.iter().map(|u| u.to_ascii_lowercase()).collect(),
            adopt,
            account_id: Some(account_id.clone()),
            owner,
        };
        let (live, sessions) = engine::read::for_import(backend, &opts).await?;
        let imported = crate::import::import_with_sessions(&live, &opts, &sessions);
        for (target, owner) in &imported.skipped {
            eprintln!(
                "skipped: {} belongs to owner `{}`; its own spec manages it",
                escape(&target.named()),
                escape(owner)
            );
        }
        for (name, why) in &imported.inexpressible {
            eprintln!("skipped: {}: {}", escape(name), escape(why));
        }
        if !imported.unowned.is_empty() {
            eprintln!(
                "note: {} imported user(s) carry no owner tag; `iamspec plan` refuses them until adopted (import with --adopt)",
                imported.unowned.len()
            );
        }
        let spec = &imported.spec;
        let yaml = crate::import::to_yaml(&imported, &format!("account {account_id}"));
        match output {
            Some(file) => {
                write_file(file, yaml.as_bytes())?;
                eprintln!("Wrote {} user(s) to {}.", spec.users.len(), file.display());
            }
            None => write_stdout(yaml.as_bytes())?,
        }
        Ok(exit::OK)
    })
    .await
}

/// `self-policy`: the policy iamspec needs, for one account or, for a many-account spec, for the deployer role in
/// each (with the policy the CI caller needs to assume them); with `--trust`, the trust policy of each role.
fn self_policy(path: &Path, trust: Option<&str>, g: &Global) -> Result<u8, CliError> {
    use serde_json::json;
    let (loaded, _) = load_spec(path, g.color)?;
    let spec = &loaded.spec;
    let principal = match trust {
        None => None,
        Some(p) if crate::spec::is_account_id(p) => Some(format!("arn:aws:iam::{p}:root")),
        Some(p)
            if p.starts_with("arn:")
                && p.len() <= 2048
                && p.split(':').nth(2) == Some("iam")
                && !p.chars().any(|c| c.is_whitespace() || c.is_control()) =>
        {
            Some(p.to_owned())
        }
        Some(p) => {
            return Err(CliError::Usage {
                message: format!("--trust `{}` is not an IAM principal ARN", escape(p)),
                hint: "give the CI role's ARN (arn:aws:iam::ACCOUNT:role/NAME) or an account id"
                    .into(),
            })
        }
    };
    let trust_policy = |external_id: Option<&str>| {
        principal.as_ref().map(|p| {
            let mut statement = json!({
                "Sid": "IamspecDeployer",
                "Effect": "Allow",
                "Principal": {"AWS": p},
                "Action": "sts:AssumeRole"
            });
            if let Some(id) = external_id {
                statement["Condition"] = json!({"StringEquals": {"sts:ExternalId": id}});
            }
            json!({"Version": "2012-10-17", "Statement": [statement]})
        })
    };
    let policy_of = |one: &Spec| {
        let policy = crate::selfpolicy::policy(one);
        for note in &policy.notes {
            eprintln!("note: {}", Escaped(note));
        }
        policy.document
    };
    let doc = match &spec.accounts {
        None => {
            let policy = policy_of(spec);
            match trust_policy(None) {
                None => serde_json::to_value(&policy).unwrap_or_default(),
                Some(trust) => json!({"policy": policy, "trust": trust}),
            }
        }
        Some(accounts) => {
            let mut entries = Vec::new();
            let mut roles = Vec::new();
            for a in &accounts.named {
                let mut entry = json!({
                    "name": a.name,
                    "account_id": a.id,
                    "policy": policy_of(&spec.for_account(&a.id)),
                });
                if let Some(arn) = &a.role_arn {
                    entry["role_arn"] = json!(arn);
                    roles.push(arn.clone());
                }
                if let Some(t) = trust_policy(a.external_id.as_deref()) {
                    entry["trust"] = t;
                }
                entries.push(entry);
            }
            let mut caller = Vec::new();
            if let Some(org) = &accounts.organization {
                // Accounts found at run time: one policy that holds every object of the spec, any account.
                let mut any = spec.clone();
                any.accounts = None;
                any.account_id = None;
                let arn = format!("arn:aws:iam::*:role/{}", org.role);
                let mut entry = json!({
                    "name": "organization",
                    "account_id": "*",
                    "role_arn": arn,
                    "policy": policy_of(&any),
                });
                if let Some(t) = trust_policy(org.external_id.as_deref()) {
                    entry["trust"] = t;
                }
                entries.push(entry);
                roles.push(arn);
                caller.push(json!({
                    "Sid": "ListOrganizationAccounts",
                    "Effect": "Allow",
                    "Action": "organizations:ListAccounts",
                    "Resource": "*"
                }));
            }
            if !roles.is_empty() {
                caller.insert(
                    0,
                    json!({
                        "Sid": "AssumeDeployerRoles",
                        "Effect": "Allow",
                        "Action": "sts:AssumeRole",
                        "Resource": roles
                    }),
                );
            }
            json!({
                "accounts": entries,
                "caller": {"Version": "2012-10-17", "Statement": caller},
            })
        }
    };
    let text = serde_json::to_string_pretty(&doc).map_err(|source| CliError::Json {
        what: "the self-policy",
        source,
    })?;
    write_stdout(format!("{text}\n").as_bytes())?;
    Ok(exit::OK)
}

/// `merge-reports`: the shards' JSON reports as one; the exit code sums them up as `drift` and
/// `plan --detailed-exitcode` would.
fn merge_reports(files: &[std::path::PathBuf]) -> Result<u8, CliError> {
    let mut docs = Vec::with_capacity(files.len());
    for file in files {
        let text = read_text(file)?;
        let name = escape(&file.display().to_string()).into_owned();
        let value: serde_json::Value =
            serde_json::from_str(&text).map_err(|e| CliError::Usage {
                message: format!("{name} is not JSON: {e}"),
                hint: "merge the output of `plan --format json` or `drift --format json` of each shard".into(),
            })?;
        docs.push((name, value));
    }
    let merged = render::json::merge_reports(&docs).map_err(|message| CliError::Usage {
        message,
        hint: "merge the JSON reports of the shards (`--shard I/N --format json`) of one many-account run".into(),
    })?;
    let text = serde_json::to_string_pretty(&merged).map_err(|source| CliError::Json {
        what: "the merged report",
        source,
    })?;
    write_stdout(format!("{text}\n").as_bytes())?;
    let count = |key: &str| {
        merged
            .get("summary")
            .and_then(|s| s.get(key))
            .and_then(serde_json::Value::as_u64)
            .unwrap_or(0)
    };
    Ok(if count("failed") > 0 {
        exit::ERROR
    } else if count("changed") > 0 {
        exit::CHANGES
    } else {
        exit::OK
    })
}
