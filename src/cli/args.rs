//! Command-line definitions (clap derive). The contract is DESIGN.md's "Command line".

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::secrets::SecretsFormat;

const EXAMPLES: &str = "\
Examples:
  iamspec validate -f iamspec.yaml
  iamspec plan -f examples/team.yaml --local account.json
  iamspec apply -f examples/pixelshift.yaml --local account.json \\
      --auto-approve --secrets-dir ./secrets
  iamspec plan --profile prod --out plan.json
  iamspec apply plan.json
  iamspec drift --format json > drift.json

Exit codes: 0 ok / no changes, 1 error,
            2 changes present (plan --detailed-exitcode, drift).";

/// `iamspec --version`: the release and the git revision it was built from.
const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (",
    env!("IAMSPEC_GIT_REV"),
    ")"
);

/// Manage AWS IAM users and their S3 bucket access from a YAML spec.
#[derive(Debug, Parser)]
#[command(name = "iamspec", version = VERSION, about, after_help = EXAMPLES, propagate_version = true)]
pub struct Cli {
    /// Options every command takes.
    #[command(flatten)]
    pub global: GlobalArgs,
    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

impl Command {
    /// The account options, for commands that use an account.
    #[must_use]
    pub fn connection(&self) -> Option<&Connection> {
        match self {
            Self::Plan { account, .. }
            | Self::Apply { account, .. }
            | Self::Drift { account, .. }
            | Self::Import { account, .. }
            | Self::Can { account, .. }
            | Self::WhoCan { account, .. }
            | Self::ForceUnlock { account, .. }
            | Self::Bootstrap { account, .. } => Some(account),
            Self::Validate { .. }
            | Self::Render { .. }
            | Self::SelfPolicy { .. }
            | Self::MergeReports { .. }
            | Self::Schema
            | Self::Completions { .. }
            | Self::Man { .. } => None,
        }
    }
}

/// Options every command takes, under their own heading in every command's help.
#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// More logs on stderr: -v phases and timings, -vv every API call, -vvv the SDK's own logs (RUST_LOG overrides)
    #[arg(short, long, global = true, action = clap::ArgAction::Count, help_heading = "Global options")]
    pub verbose: u8,
    /// Colour: auto (terminal only, honours NO_COLOR), always, never
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto, help_heading = "Global options")]
    pub color: ColorChoice,
}

/// Where the account is: AWS (the default credential chain) or a local file. Only commands that read or write an
/// account take these.
#[derive(Debug, Args, Clone, Default)]
#[command(next_help_heading = "Account")]
pub struct Connection {
    /// Use a local JSON file as the account instead of AWS (created on first write)
    #[arg(long, value_name = "FILE")]
    pub local: Option<PathBuf>,
    /// AWS profile from the shared config files
    #[arg(long, env = "AWS_PROFILE")]
    pub profile: Option<String>,
    /// AWS region (IAM is global; default us-east-1)
    #[arg(long)]
    pub region: Option<String>,
    /// IAM/STS endpoint, e.g. http://127.0.0.1:5000 for moto (AWS_ENDPOINT_URL works too)
    #[arg(long, value_name = "URL", conflicts_with = "local")]
    pub endpoint_url: Option<String>,
    /// Print API calls by operation at the end (stderr; -v does too)
    #[arg(long)]
    pub stats: bool,
    /// Many-account specs: run in this account only, by its name under `accounts:` or its id (repeatable)
    #[arg(long = "account", value_name = "NAME|ID")]
    pub accounts: Vec<String>,
    /// Many-account specs: accounts worked on at once (IAM's limits are per account: each has its own pacing,
    /// retries and lock)
    #[arg(long, value_name = "N", default_value_t = 16, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub parallel_accounts: u16,
    /// Many-account specs: run part I of N of the accounts (by id), for a CI matrix; `iamspec merge-reports`
    /// joins the parts' JSON
    #[arg(long, value_name = "I/N")]
    pub shard: Option<crate::engine::accounts::Shard>,
}

/// What a command runs with: the global options and, for commands that use an account, where it is.
#[derive(Debug, Clone, Default)]
pub struct Global {
    /// The local account file, if any.
    pub local: Option<PathBuf>,
    /// The AWS profile.
    pub profile: Option<String>,
    /// The AWS region.
    pub region: Option<String>,
    /// The endpoint URL.
    pub endpoint_url: Option<String>,
    /// Print call statistics.
    pub stats: bool,
    /// `--account` names or ids.
    pub accounts: Vec<String>,
    /// Accounts at once.
    pub parallel_accounts: usize,
    /// `--shard`.
    pub shard: Option<crate::engine::accounts::Shard>,
    /// Verbosity.
    pub verbose: u8,
    /// Colour choice.
    pub color: ColorChoice,
}

impl Global {
    /// The options of a parsed command line.
    #[must_use]
    pub fn new(global: &GlobalArgs, connection: Option<&Connection>) -> Self {
        let c = connection.cloned().unwrap_or_default();
        Self {
            local: c.local,
            profile: c.profile,
            region: c.region,
            endpoint_url: c.endpoint_url,
            stats: c.stats,
            accounts: c.accounts,
            parallel_accounts: usize::from(c.parallel_accounts),
            shard: c.shard,
            verbose: global.verbose,
            color: global.color,
        }
    }
}

/// When to colour output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum ColorChoice {
    /// On a terminal, unless NO_COLOR is set.
    #[default]
    Auto,
    /// Always.
    Always,
    /// Never.
    Never,
}

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum Format {
    /// For people.
    #[default]
    Text,
    /// One JSON document on stdout.
    Json,
}

/// `plan`'s output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum PlanFormat {
    /// For people.
    #[default]
    Text,
    /// One JSON document on stdout (schemas/plan.schema.json).
    Json,
    /// A pull-request comment: summary, access changes, a section per target, policy diffs folded.
    Markdown,
    /// GitLab's merge-request report (`artifacts:reports:terraform`): {"create", "update", "delete"}.
    Gitlab,
}

/// `validate`'s output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum FindingsFormat {
    /// For people, on stderr.
    #[default]
    Text,
    /// SARIF 2.1.0 on stdout, for code scanning.
    Sarif,
    /// GitHub Actions annotations (`::error file=...`) on stdout.
    Github,
}

/// `drift`'s output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum DriftFormat {
    /// For people.
    #[default]
    Text,
    /// One JSON document on stdout (schemas/drift.schema.json).
    Json,
    /// SARIF 2.1.0, each drifted object at the spec line that declares it.
    Sarif,
    /// GitHub Actions annotations.
    Github,
}

/// The spec file option.
#[derive(Debug, Args, Clone)]
pub struct SpecArg {
    /// The spec file [default: iamspec.yaml]
    #[arg(short = 'f', long = "file", value_name = "SPEC")]
    pub file: Option<PathBuf>,
}

impl SpecArg {
    /// The spec file to read: the one given, or `iamspec.yaml`.
    #[must_use]
    pub fn path(&self) -> &std::path::Path {
        self.file
            .as_deref()
            .unwrap_or(std::path::Path::new("iamspec.yaml"))
    }
}

/// Commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check a spec: errors and lint warnings, no AWS calls
    Validate {
        /// The spec.
        #[command(flatten)]
        spec: SpecArg,
        /// Treat warnings as errors
        #[arg(long)]
        strict: bool,
        /// Output format: findings for people (stderr), SARIF for code scanning, or GitHub annotations
        #[arg(long, value_enum, default_value_t = FindingsFormat::Text)]
        format: FindingsFormat,
    },
    /// Print the policies the spec produces, offline
    Render {
        /// The spec.
        #[command(flatten)]
        spec: SpecArg,
        /// Only these users
        #[arg(long = "user", value_name = "NAME")]
        users: Vec<String>,
    },
    /// Show what apply would change
    #[command(after_help = "\
Examples:
  iamspec plan -f iamspec.yaml --out plan.json        # then: iamspec apply -f iamspec.yaml plan.json
  iamspec plan -f iamspec.yaml --format markdown      # a pull-request comment
  iamspec plan -f accounts.yaml --account prod        # one account of a many-account spec
  iamspec plan -f accounts.yaml --shard 2/4 --format json   # part 2 of 4 (a CI matrix)")]
    Plan {
        /// The spec.
        #[command(flatten)]
        spec: SpecArg,
        /// Save the plan for `iamspec apply FILE`
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
        /// Output format
        #[arg(long, value_enum, default_value_t = PlanFormat::Text)]
        format: PlanFormat,
        /// Exit 2 when there are changes (0 none, 1 error)
        #[arg(long)]
        detailed_exitcode: bool,
        /// Print new policies' JSON too (changed policies always show their JSON diff)
        #[arg(long)]
        show_policies: bool,
        /// Only these users (repeatable)
        #[arg(long = "user", value_name = "NAME")]
        users: Vec<String>,
        /// How access keys are read.
        #[command(flatten)]
        keys: KeysArg,
        /// The account.
        #[command(flatten)]
        account: Connection,
    },
    /// Make the account match the spec (or execute a saved plan)
    #[command(after_help = "\
Examples:
  iamspec apply -f iamspec.yaml                       # plan, ask, apply
  iamspec apply -f iamspec.yaml plan.json             # a reviewed plan, proven again first
  iamspec apply -f accounts.yaml --parallel-accounts 32
  iamspec apply -f accounts.yaml --continue-on-error  # the accounts that planned; exit 1")]
    Apply {
        /// The spec.
        #[command(flatten)]
        spec: SpecArg,
        /// A saved plan from `plan --out`: apply re-plans from its spec (the path it names, or -f) and goes ahead
        /// only if the changes are the same
        #[arg(value_name = "PLANFILE")]
        planfile: Option<PathBuf>,
        /// Do not ask for confirmation (without a terminal, `yes` on stdin also confirms)
        #[arg(long)]
        auto_approve: bool,
        /// Print new policies' JSON too (changed policies always show their JSON diff)
        #[arg(long)]
        show_policies: bool,
        /// Users worked on at once
        #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=64))]
        concurrency: u16,
        /// Refuse the whole apply when it has more destructive changes than this
        #[arg(long, default_value_t = 5)]
        max_deletes: usize,
        /// Write new access key secrets here (one 0600 file per key)
        #[arg(long, value_name = "DIR")]
        secrets_dir: Option<PathBuf>,
        /// Encrypt new secrets to this age recipient (age1...); files go to --secrets-dir or ./iamspec-secrets
        #[arg(long, value_name = "AGE_RECIPIENT")]
        encrypt_to: Option<String>,
        /// Secret file format
        #[arg(long, value_enum, default_value_t = SecretsFormat::Json)]
        secrets_format: SecretsFormat,
        /// Only these users (repeatable; a saved plan keeps the scope it was made with)
        #[arg(long = "user", value_name = "NAME", conflicts_with = "planfile")]
        users: Vec<String>,
        /// Wait this long for another apply's lock (e.g. 30s, 5m; default 0: fail at once, naming the holder)
        #[arg(long, value_name = "DURATION", default_value = "0", value_parser = parse_duration)]
        lock_timeout: std::time::Duration,
        /// Many-account specs: apply to the accounts that planned even when others failed (default: an account
        /// that fails to plan stops the apply everywhere)
        #[arg(long)]
        continue_on_error: bool,
        /// How access keys are read.
        #[command(flatten)]
        keys: KeysArg,
        /// The account.
        #[command(flatten)]
        account: Connection,
    },
    /// Report where live IAM differs from the spec (exit 2 on drift)
    #[command(after_help = "\
Examples:
  iamspec drift -f iamspec.yaml                  # keys from the credential report (<= 4 h old)
  iamspec drift -f iamspec.yaml --fresh-keys     # every key user's keys listed now
  iamspec drift -f iamspec.yaml --format sarif > drift.sarif
  iamspec drift -f accounts.yaml --shard 1/4 --format json > drift-1.json
  iamspec merge-reports drift-1.json drift-2.json drift-3.json drift-4.json")]
    Drift {
        /// The spec.
        #[command(flatten)]
        spec: SpecArg,
        /// Output format
        #[arg(long, value_enum, default_value_t = DriftFormat::Text)]
        format: DriftFormat,
        /// Only these users (repeatable)
        #[arg(long = "user", value_name = "NAME")]
        users: Vec<String>,
        /// How access keys are read.
        #[command(flatten)]
        keys: KeysArg,
        /// The account.
        #[command(flatten)]
        account: Connection,
    },
    /// Write a spec describing live users (to adopt hand-made users)
    Import {
        /// Only users whose IAM path starts with this
        #[arg(long, value_name = "PATH")]
        path: Option<String>,
        /// Only these users (repeatable)
        #[arg(long = "user", value_name = "NAME")]
        users: Vec<String>,
        /// Mark users without the owner tag `adopt: true` (the next apply tags them)
        #[arg(long)]
        adopt: bool,
        /// The spec's owner (default: the owner most of the users carry, else iamspec); users of other owners are
        /// left out
        #[arg(long, value_name = "NAME")]
        owner: Option<String>,
        /// Write the spec here instead of stdout
        #[arg(short = 'o', long = "output", value_name = "FILE")]
        output: Option<PathBuf>,
        /// The account.
        #[command(flatten)]
        account: Connection,
    },
    /// The admin step of `delegate: true`: print the permissions boundary the spec needs, or (--apply, with
    /// administrator credentials) create or update it
    #[command(after_help = "\
Examples:
  iamspec bootstrap -f iamspec.yaml --profile admin            # print the boundary
  iamspec bootstrap -f iamspec.yaml --profile admin --apply    # create or update it
  iamspec self-policy -f iamspec.yaml                          # the pipeline role's policy")]
    Bootstrap {
        /// The spec.
        #[command(flatten)]
        spec: SpecArg,
        /// Create or update the boundary (otherwise only print it and what would change)
        #[arg(long)]
        apply: bool,
        /// The account.
        #[command(flatten)]
        account: Connection,
    },
    /// Print the least-privilege IAM policy iamspec needs for this spec
    SelfPolicy {
        /// The spec.
        #[command(flatten)]
        spec: SpecArg,
        /// Also print the trust policy that lets this principal (the CI role's ARN) assume the deployer role
        #[arg(long, value_name = "PRINCIPAL_ARN")]
        trust: Option<String>,
    },
    /// Join the JSON reports of `plan` or `drift` shards (`--shard I/N --format json`) into one; exit 1 when an
    /// account failed, 2 when one has changes or drift, else 0
    #[command(after_help = "\
Examples:
  iamspec merge-reports shard-1.json shard-2.json shard-3.json > drift.json")]
    MergeReports {
        /// The reports, each from one shard
        #[arg(value_name = "REPORT", required = true)]
        files: Vec<PathBuf>,
    },
    /// Whether a user or role may do an action on a resource, and which policy decides (exit 0 allowed, 2
    /// denied, 1 cannot decide)
    #[command(after_help = "\
Examples:
  iamspec can -f iamspec.yaml iam_pixelshift s3:PutObject photos-prod/uploads/a.jpg
  iamspec can -f iamspec.yaml iam_pixelshift read photos-prod/a.jpg      # an access word: every action of it
  iamspec can -f iamspec.yaml role/cloudinary-media write 'photos-prod/*' # some object there (names the parts)
  iamspec can -f iamspec.yaml --live reader s3:ListBucket photos-prod --context s3:prefix=team/")]
    Can {
        /// The spec (offline, the default: what apply makes of its users).
        #[command(flatten)]
        spec: SpecArg,
        /// The user, or `role/NAME`
        user: String,
        /// The action (s3:GetObject), or an access word: list, read, write, read-write, full
        action: String,
        /// An ARN, `bucket`, `bucket/key`, `bucket/prefix/*` (some object there), or `*`
        resource: String,
        /// A condition key's value for the request (repeatable), e.g. s3:prefix=team/
        #[arg(long = "context", value_name = "KEY=VALUE")]
        context: Vec<String>,
        /// Evaluate the live account's policies instead of the spec's (one account read)
        #[arg(long)]
        live: bool,
        /// Output format
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
        /// The account.
        #[command(flatten)]
        account: Connection,
    },
    /// Which users and roles may do an action on a resource, with the deciding policy
    #[command(after_help = "\
Examples:
  iamspec who-can -f iamspec.yaml write 'photos-prod/*'   # who may write anywhere in it
  iamspec who-can -f iamspec.yaml s3:DeleteObject photos-prod/a.jpg --format json
  iamspec who-can -f iamspec.yaml --live read 'photos-prod/*'")]
    WhoCan {
        /// The spec (offline, the default: what apply makes of its users).
        #[command(flatten)]
        spec: SpecArg,
        /// The action (s3:PutObject), or an access word: list, read, write, read-write, full
        action: String,
        /// An ARN, `bucket`, `bucket/key`, `bucket/prefix/*` (some object there), or `*`
        resource: String,
        /// A condition key's value for the request (repeatable), e.g. s3:prefix=team/
        #[arg(long = "context", value_name = "KEY=VALUE")]
        context: Vec<String>,
        /// Evaluate the live account's users instead of the spec's (one account read)
        #[arg(long)]
        live: bool,
        /// Output format
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
        /// Only these users (repeatable)
        #[arg(long = "user", value_name = "NAME")]
        users: Vec<String>,
        /// The account.
        #[command(flatten)]
        account: Connection,
    },
    /// Remove a stale apply lock (after a crashed or killed apply), after showing its holder and asking
    ForceUnlock {
        /// The spec (its owner, path and account name the lock).
        #[command(flatten)]
        spec: SpecArg,
        /// Do not ask for confirmation
        #[arg(long)]
        force: bool,
        /// The account.
        #[command(flatten)]
        account: Connection,
    },
    /// Print the spec's JSON Schema
    Schema,
    /// Print shell completions
    Completions {
        /// The shell
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff), or write every page (one per command) to a directory
    #[command(after_help = "\
Examples:
  iamspec man > ~/.local/share/man/man1/iamspec.1
  iamspec man --out-dir ~/.local/share/man/man1      # iamspec.1, iamspec-plan.1, ...")]
    Man {
        /// Write iamspec.1 and a page per command here instead of printing the main page
        #[arg(long, value_name = "DIR")]
        out_dir: Option<PathBuf>,
    },
}

/// A duration: seconds (`90`), or a number with `s`, `m` or `h` (`30s`, `5m`, `1h`).
fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    let text = text.trim();
    let (number, unit) = match text.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => text.split_at(i),
        None => (text, "s"),
    };
    let n: u64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a duration such as 30s, 5m or 1h"))?;
    let seconds = match unit {
        "s" => n,
        "m" => n.saturating_mul(60),
        "h" => n.saturating_mul(3600),
        _ => return Err(format!("`{text}` is not a duration such as 30s, 5m or 1h")),
    };
    Ok(std::time::Duration::from_secs(seconds))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("0"), Ok(std::time::Duration::ZERO));
        assert_eq!(parse_duration("90"), Ok(std::time::Duration::from_secs(90)));
        assert_eq!(
            parse_duration("5m"),
            Ok(std::time::Duration::from_secs(300))
        );
        assert_eq!(
            parse_duration("1h"),
            Ok(std::time::Duration::from_secs(3600))
        );
        assert!(parse_duration("5 minutes").is_err());
        assert!(parse_duration("-1s").is_err());
    }
}

/// How a plan reads access keys.
#[derive(Debug, Clone, Copy, clap::Args)]
pub struct KeysArg {
    /// List every key user's keys (ListAccessKeys each) instead of reading the credential report, which IAM
    /// regenerates at most every four hours: a key made by hand since shows at once
    #[arg(long)]
    pub fresh_keys: bool,
}

impl KeysArg {
    /// The engine's read mode.
    #[must_use]
    pub fn read(self) -> crate::engine::read::KeyRead {
        if self.fresh_keys {
            crate::engine::read::KeyRead::Fresh
        } else {
            crate::engine::read::KeyRead::Report
        }
    }
}
