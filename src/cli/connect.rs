//! How a command reaches an account: the endpoint checked before any call, the backend (the local account file,
//! one file per account of a many-account run, or AWS with the account's role assumed), the one account of a
//! command that works in one, and the call statistics printed whatever the outcome.

use super::args::Global;
use super::CliError;
use crate::backend::aws::{AwsBackend, AwsOptions};
use crate::backend::local::LocalBackend;
use crate::backend::{AnyBackend, Backend};
use crate::display::escape;
use crate::effects::Effects;
use crate::pacing::PacingConfig;
use crate::spec::Spec;

/// An endpoint the SDK can use: `http://` or `https://` and a host. Checked before any call, as the SDK would
/// otherwise fail each request with the reason buried in its debug text.
fn check_endpoint(url: &str, given_as: &str) -> Result<(), CliError> {
    let lower = url.to_ascii_lowercase();
    let rest = lower
        .strip_prefix("http://")
        .or_else(|| lower.strip_prefix("https://"));
    let problem = match rest {
        None => "has no http:// or https:// scheme",
        Some(r) if r.is_empty() || r.starts_with('/') || r.starts_with(':') => "has no host",
        Some(r) if r.chars().any(|c| c.is_whitespace() || c.is_control()) => {
            "contains spaces or control characters"
        }
        Some(_) => return Ok(()),
    };
    let suggestion = if rest.is_none() && !url.contains("://") {
        format!("write it as http://{url} (or https://)")
    } else {
        "write it as http://HOST:PORT or https://HOST".to_owned()
    };
    Err(CliError::Usage {
        message: format!("{given_as} `{url}` {problem}"),
        hint: suggestion,
    })
}

/// The backend of one account of a many-account run (`None`: the single account of the caller): with `--local DIR`
/// its file `DIR/<id>.json`, on AWS its role assumed.
pub(super) async fn connect_to(
    g: &Global,
    effects: &Effects,
    account: Option<&crate::engine::accounts::Target>,
) -> Result<AnyBackend, CliError> {
    if g.local.is_none() {
        if let Some(url) = &g.endpoint_url {
            check_endpoint(url, "--endpoint-url")?;
        }
        for var in [
            "AWS_ENDPOINT_URL",
            "AWS_ENDPOINT_URL_IAM",
            "AWS_ENDPOINT_URL_STS",
        ] {
            if let Ok(url) = std::env::var(var) {
                check_endpoint(&url, var)?;
            }
        }
    }
    if let (None, Some(profile)) = (&g.local, &g.profile) {
        crate::backend::aws::check_profile(profile)?;
    }
    Ok(match &g.local {
        Some(dir) if account.is_some() => {
            let id = account.map(|a| a.id.as_str()).unwrap_or_default();

            std::fs::create_dir_all(dir).map_err(|source| CliError::Io {
                action: "create the local accounts directory",
                path: dir.display().to_string(),
                source,
            })?;
            AnyBackend::Local(Box::new(LocalBackend::open_account(
                &dir.join(format!("{id}.json")),
                id,
                effects.clone(),
            )?))
        }
        Some(path) => AnyBackend::Local(Box::new(LocalBackend::open(path, effects.clone())?)),
        None => AnyBackend::Aws(Box::new(
            AwsBackend::connect(
                &AwsOptions {
                    profile: g.profile.clone(),
                    region: g.region.clone(),
                    endpoint_url: g.endpoint_url.clone(),
                    page_size: std::env::var("IAMSPEC_PAGE_SIZE")
                        .ok()
                        .and_then(|v| v.parse().ok()),
                    // Off only to measure what pacing saves (BENCHMARKS.md).
                    pacing: if std::env::var("IAMSPEC_PACING").is_ok_and(|v| v == "off") {
                        PacingConfig::off()
                    } else {
                        PacingConfig::default()
                    },
                    assume: account.and_then(|a| a.assume.clone()),
                },
                effects.clone(),
            )
            .await,
        )),
    })
}

pub(super) fn print_stats(backend: &AnyBackend, enabled: bool) {
    if !enabled {
        return;
    }
    let stats = backend.stats();
    let total: u64 = stats.values().sum();
    eprintln!("API calls: {total}");
    for (op, n) in stats {
        eprintln!("  {op:<36} {n}");
    }
    if let Some(pacing) = backend.pacing() {
        for (class, p) in [("reads", pacing.reads), ("writes", pacing.writes)] {
            let rate = p
                .rate
                .map_or_else(|| "not paced".to_owned(), |r| format!("paced at {r:.1}/s"));
            eprintln!(
                "Throttled {class}: {} of {} ({rate}, {:.1} s waited)",
                p.throttled,
                p.calls,
                p.waited.as_secs_f64()
            );
        }
    }
}

/// Runs `body` against a backend for `g`, then prints the call statistics whatever the outcome.
pub(super) async fn with_backend<T, F>(
    g: &Global,
    effects: &Effects,
    body: F,
) -> Result<T, CliError>
where
    F: AsyncFnOnce(&AnyBackend) -> Result<T, CliError>,
{
    with_backend_in(g, effects, None, body).await
}

/// [`with_backend`] in one account of a many-account run (`None`: the caller's).
pub(super) async fn with_backend_in<T, F>(
    g: &Global,
    effects: &Effects,
    account: Option<&crate::engine::accounts::Target>,
    body: F,
) -> Result<T, CliError>
where
    F: AsyncFnOnce(&AnyBackend) -> Result<T, CliError>,
{
    let backend = connect_to(g, effects, account).await?;
    let result = body(&backend).await;
    print_stats(&backend, g.stats || g.verbose > 0);
    result
}

/// The account a command that works in one account at a time runs in: `None` for a single-account spec; for a
/// many-account spec, the one account `--account` leaves, with the spec of that account.
pub(super) async fn one_account(
    g: &Global,
    spec: &Spec,
    effects: &Effects,
) -> Result<(Spec, Option<crate::engine::accounts::Target>), CliError> {
    match super::accounts::targets(g, spec, effects).await? {
        None => Ok((spec.clone(), None)),
        Some(mut targets) if targets.len() == 1 => {
            let target = targets.remove(0);
            Ok((spec.for_account(&target.id), Some(target)))
        }
        Some(targets) => {
            let names: Vec<String> = targets
                .iter()
                .take(10)
                .map(|t| escape(&t.name).into_owned())
                .collect();
            Err(CliError::Usage {
                message: format!(
                    "this command works in one account at a time, and this run has {}",
                    targets.len()
                ),
                hint: format!(
                    "name one with --account ({}{})",
                    names.join(", "),
                    if targets.len() > 10 { ", ..." } else { "" }
                ),
            })
        }
    }
}
