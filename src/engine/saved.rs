//! Saved plans (`plan --out FILE`, `apply FILE`). A saved plan is a claim that apply proves: apply reads the spec
//! the plan names (its hash checked), re-reads the live account, re-plans as of the time the plan was made, and
//! goes ahead only when the changes it gets are exactly the saved ones. Nothing in the file is executed; anyone
//! who can edit the file can only make apply refuse. The fingerprint of the objects the plan touches turns a
//! plan made stale by a change behind its back into a clear "stale" rather than a mismatch.

use std::collections::BTreeSet;
use std::path::Path;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{read, Error, Planned};
use crate::backend::Backend;
use crate::diff::{DiffOptions, Guard};
use crate::model::Account;
use crate::plan::{Change, Plan, Target, FORMAT_VERSION};
use crate::spec::Spec;

/// How far in the future a plan's time may be (clock skew between the planning and the applying machine).
const CLOCK_SKEW: i64 = 300;

/// At most this many differing changes are named in a refusal.
const SHOWN: usize = 10;

/// The saved-plan file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SavedPlan {
    /// [`FORMAT_VERSION`]; files of another format are refused.
    pub format_version: u32,
    /// The iamspec version that made it; another version refuses it.
    pub iamspec_version: String,
    /// The spec file it was made from (apply reads it, unless `-f` names another copy).
    pub spec_file: String,
    /// SHA-256 of the spec's bytes.
    pub spec_sha256: String,
    /// The account it was made against.
    pub account_id: String,
    /// When it was made, seconds since the epoch: apply re-plans as of this time (key ages).
    pub planned_at: i64,
    /// The `--user` scope it was made with (lower-cased), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub only: Option<BTreeSet<String>>,
    /// Each touched live object as read at plan time.
    pub fingerprint: Vec<Fingerprint>,
    /// The plan, for people and for the comparison; never executed as such.
    pub plan: Plan,
}

/// What one live object looked like when the plan was made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fingerprint {
    /// The object.
    pub target: Target,
    /// SHA-256 of its model form, or `absent` when it did not exist.
    pub sha256: String,
}

/// Why a saved plan cannot be applied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SavedPlanError {
    /// The file is not a saved plan at all.
    #[error("not a saved plan ({0})")]
    NotAPlan(String),
    /// A saved plan of another format.
    #[error(
        "it is a saved plan of format {found}; this iamspec reads format {FORMAT_VERSION} only"
    )]
    Format {
        /// The file's format.
        found: u64,
    },
    /// Made by another iamspec version.
    #[error("it was made by iamspec {made}, this is {this}")]
    Version {
        /// The version that made it.
        made: String,
        /// This version.
        this: String,
    },
    /// The spec file changed since.
    #[error("{file} changed since the plan was made")]
    SpecChanged {
        /// The spec file.
        file: String,
    },
    /// Made for another account.
    #[error("it was made for account {planned}, the credentials are for {actual}")]
    Account {
        /// The account in the file.
        planned: String,
        /// The caller's account.
        actual: String,
    },
    /// The spec path it names could be anywhere: a forged plan could name a planted spec.
    #[error("it names the spec `{0}`, outside the current directory; pass the spec with -f")]
    SpecOutside(String),
    /// Its time is in the future.
    #[error("it claims to be made in the future ({planned_at}, now {now})")]
    Future {
        /// The file's time.
        planned_at: i64,
        /// This machine's time.
        now: i64,
    },
    /// Live objects the plan touches changed since.
    #[error("stale: live object(s) changed since the plan was made: {}", list(.0))]
    Changed(Vec<Target>),
    /// The account already holds what the plan makes: it was applied (or the same changes were made otherwise).
    #[error("already applied: the account already holds what this plan makes; nothing to do")]
    AlreadyApplied,
    /// The spec the plan names is not where the plan says, from here.
    #[error("the spec `{0}` it was made from is not there from this directory")]
    SpecMissing(String),
    /// The file's changes are not what the spec gives: edited, forged, or made from another spec.
    #[error("its changes are not what the spec gives against the live account (the file was edited, or made from another spec){}{}", lines("in the file only", .in_file), lines("from the spec only", .from_spec))]
    Mismatch {
        /// Changes in the file that re-planning does not give.
        in_file: Vec<String>,
        /// Changes re-planning gives that the file lacks.
        from_spec: Vec<String>,
    },
}

fn lines(label: &str, items: &[String]) -> String {
    if items.is_empty() {
        return String::new();
    }
    let mut out = format!("\n  {label}:");
    for line in items.iter().take(SHOWN) {
        out.push_str("\n    ");
        out.push_str(line);
    }
    if items.len() > SHOWN {
        out.push_str(&format!("\n    ... and {} more", items.len() - SHOWN));
    }
    out
}

fn list(targets: &[Target]) -> String {
    targets
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// SHA-256 of bytes, hex.
#[must_use]
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Fingerprints of the live objects a plan touches, in target order.
#[must_use]
pub fn fingerprint(plan: &Plan, live: &Account) -> Vec<Fingerprint> {
    let touched: BTreeSet<&Target> = plan.changes.iter().map(|c| &c.target).collect();
    touched
        .into_iter()
        .map(|target| {
            let json = crate::diff::kind::of(target.kind()).live_state(live, target.name());
            Fingerprint {
                target: target.clone(),
                sha256: json.map_or_else(|| "absent".to_owned(), |j| sha256_hex(j.as_bytes())),
            }
        })
        .collect()
}

impl SavedPlan {
    /// The saved form of `planned`, a plan of `spec` (read from `spec_file`, whose text is `spec_text`).
    #[must_use]
    pub fn new(spec_file: &Path, spec_text: &str, planned: &Planned) -> Self {
        Self {
            format_version: FORMAT_VERSION,
            iamspec_version: env!("CARGO_PKG_VERSION").to_owned(),
            spec_file: spec_file.display().to_string(),
            spec_sha256: sha256_hex(spec_text.as_bytes()),
            account_id: planned.account_id.clone(),
            planned_at: planned.opts.now,
            only: planned.opts.only.clone(),
            fingerprint: fingerprint(&planned.plan, &planned.live),
            plan: planned.plan.clone(),
        }
    }

    /// Reads a saved plan file's text, refusing other formats and versions with a message that says so.
    ///
    /// # Errors
    /// [`SavedPlanError::NotAPlan`], [`SavedPlanError::Format`] or [`SavedPlanError::Version`].
    pub fn parse(text: &str) -> Result<Self, SavedPlanError> {
        let value: serde_json::Value =
            serde_json::from_str(text).map_err(|e| SavedPlanError::NotAPlan(e.to_string()))?;
        // Format 1 had no top-level version; its plan carried one.
        let found = value
            .get("format_version")
            .or_else(|| value.get("plan").and_then(|p| p.get("format_version")))
            .and_then(serde_json::Value::as_u64);
        match found {
            Some(v) if v == u64::from(FORMAT_VERSION) => {}
            Some(found) => return Err(SavedPlanError::Format { found }),
            None => {
                return Err(SavedPlanError::NotAPlan(
                    "no format_version field".to_owned(),
                ))
            }
        }
        let saved: Self =
            serde_json::from_value(value).map_err(|e| SavedPlanError::NotAPlan(e.to_string()))?;
        if saved.iamspec_version != env!("CARGO_PKG_VERSION") {
            return Err(SavedPlanError::Version {
                made: saved.iamspec_version,
                this: env!("CARGO_PKG_VERSION").to_owned(),
            });
        }
        Ok(saved)
    }

    /// The spec file to prove the plan with: `given` (`-f`), or the path the plan names, which must then be
    /// relative and inside the current directory. The file is not trusted: a forged plan could name a spec an
    /// attacker planted (with `prune: true` and another owner) elsewhere.
    ///
    /// # Errors
    /// [`SavedPlanError::SpecOutside`].
    pub fn spec_path(&self, given: Option<&Path>) -> Result<std::path::PathBuf, SavedPlanError> {
        if let Some(given) = given {
            return Ok(given.to_owned());
        }
        let named = Path::new(&self.spec_file);
        let inside = named.components().all(|c| {
            matches!(
                c,
                std::path::Component::Normal(_) | std::path::Component::CurDir
            )
        });
        if inside && !self.spec_file.is_empty() {
            Ok(named.to_owned())
        } else {
            Err(SavedPlanError::SpecOutside(self.spec_file.clone()))
        }
    }

    /// Checks that the spec the plan was made from still has the same bytes.
    ///
    /// # Errors
    /// [`SavedPlanError::SpecChanged`].
    pub fn check_spec(&self, spec_file: &Path, spec_bytes: &[u8]) -> Result<(), SavedPlanError> {
        if sha256_hex(spec_bytes) == self.spec_sha256 {
            Ok(())
        } else {
            Err(SavedPlanError::SpecChanged {
                file: spec_file.display().to_string(),
            })
        }
    }

    /// Proves the claim: re-plans `spec` (whose bytes [`SavedPlan::check_spec`] accepted) against a fresh read of
    /// the caller's account (already checked against the spec's pin), as of the plan's time, and returns that
    /// plan only when its changes are exactly the saved ones.
    ///
    /// # Errors
    /// [`Error::Saved`] when the plan is foreign, from the future, stale or not what the spec gives; conflicts and
    /// backend errors as for any plan.
    pub async fn prove<B: Backend>(
        &self,
        backend: &B,
        spec: &Spec,
        caller: crate::backend::Caller,
        now: i64,
        keys: read::KeyRead,
    ) -> Result<Planned, Error> {
        let crate::backend::Caller {
            account_id,
            arn: caller_arn,
        } = caller;
        if account_id != self.account_id {
            return Err(SavedPlanError::Account {
                planned: self.account_id.clone(),
                actual: account_id,
            }
            .into());
        }
        if self.planned_at > now + CLOCK_SKEW {
            return Err(SavedPlanError::Future {
                planned_at: self.planned_at,
                now,
            }
            .into());
        }
        // Key rotation depends on time. Re-planning as of the plan's time gives the same decisions the reviewer
        // saw; a past time can only postpone rotation, never bring it forward.
        let opts = DiffOptions {
            now: self.planned_at,
            only: self.only.clone(),
            account_id: Some(account_id.clone()),
        };
        let (live, plan, keys_as_of) =
            read::planned_with_report(backend, spec, &opts, keys).await?;
        if let Err(stale) = self.check_fresh(&live) {
            // Changed since, and nothing left to do: the usual reason is this very plan, applied before.
            return Err(if plan.changes.is_empty() {
                SavedPlanError::AlreadyApplied
            } else {
                stale
            }
            .into());
        }
        if plan.changes != self.plan.changes {
            return Err(mismatch(&self.plan.changes, &plan.changes).into());
        }
        let guard = Guard::new(spec, &live, &opts);
        Ok(Planned {
            account_id,
            caller_arn,
            live,
            plan,
            opts,
            guard,
            keys_as_of,
        })
    }

    /// Compares the recorded fingerprint with a fresh read.
    ///
    /// # Errors
    /// [`SavedPlanError::Changed`] naming what changed.
    pub fn check_fresh(&self, live: &Account) -> Result<(), SavedPlanError> {
        let now = fingerprint(&self.plan, live);
        let changed: Vec<Target> = self
            .fingerprint
            .iter()
            .filter(|f| !now.contains(f))
            .map(|f| f.target.clone())
            .collect();
        if changed.is_empty() {
            Ok(())
        } else {
            Err(SavedPlanError::Changed(changed))
        }
    }
}

/// The changes each side has that the other lacks, as plan lines.
fn mismatch(saved: &[Change], fresh: &[Change]) -> SavedPlanError {
    let line = |c: &Change| {
        let mut text = format!("{} {}: {}", c.action.symbol(), c.target, c.op.describe());
        for g in &c.grants {
            let access = match (&g.before, &g.after) {
                (Some(b), Some(a)) => format!("{b} -> {a}"),
                (None, Some(a)) => a.clone(),
                (Some(b), None) => format!("{b} removed"),
                (None, None) => continue,
            };
            text.push_str(&format!("; grant {} {access}", g.target));
        }
        text
    };
    let only_in = |a: &[Change], b: &[Change]| -> Vec<String> {
        let mut rest: Vec<&Change> = b.iter().collect();
        a.iter()
            .filter(|c| match rest.iter().position(|r| r == c) {
                Some(i) => {
                    rest.swap_remove(i);
                    false
                }
                None => true,
            })
            .map(line)
            .collect()
    };
    let mut in_file = only_in(saved, fresh);
    let from_spec = only_in(fresh, saved);
    if in_file.is_empty() && from_spec.is_empty() {
        in_file.push("the same changes in another order".to_owned());
    }
    SavedPlanError::Mismatch { in_file, from_spec }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ManagedPolicy;
    use crate::plan::{Action, Change, Op};
    use crate::policy::PolicyDocument;

    fn policy(doc: &str, version: &str) -> ManagedPolicy {
        ManagedPolicy {
            name: "team-read".into(),
            path: "/iamspec/".into(),
            arn: "arn:aws:iam::123456789012:policy/iamspec/team-read".into(),
            description: None,
            tags: None,
            document: PolicyDocument::parse(doc).unwrap(),
            default_version: version.into(),
            other_versions: Vec::new(),
        }
    }

    /// regression: a saved plan never went stale when a shared managed policy changed behind its back, because
    /// every target was looked up as a user and a `policy/...` target was always "absent".
    #[test]
    fn a_changed_policy_makes_the_plan_stale() {
        let doc = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}"#;
        let mut live = Account::default();
        live.policies.insert("team-read".into(), policy(doc, "v1"));
        let mut plan = Plan::new();
        plan.changes.push(Change::new(
            Action::Update,
            Op::CreatePolicyVersion {
                policy: "team-read".into(),
                policy_arn: live.policies["team-read"].arn.clone(),
                document: PolicyDocument::parse(doc).unwrap(),
            },
            "",
        ));
        let print = fingerprint(&plan, &live);
        assert_ne!(print[0].sha256, "absent");
        let saved = SavedPlan {
            format_version: FORMAT_VERSION,
            iamspec_version: String::new(),
            spec_file: String::new(),
            spec_sha256: String::new(),
            account_id: String::new(),
            planned_at: 0,
            only: None,
            fingerprint: print,
            plan,
        };
        assert_eq!(saved.check_fresh(&live), Ok(()));
        live.policies.insert("team-read".into(), policy(doc, "v2"));
        assert_eq!(
            saved.check_fresh(&live),
            Err(SavedPlanError::Changed(vec![Target::Policy(
                "team-read".into()
            )]))
        );
    }

    #[test]
    fn format_1_files_are_refused_by_name() {
        let v1 = r#"{"iamspec_version":"0.1.0","plan":{"format_version":1,"changes":[]}}"#;
        assert_eq!(
            SavedPlan::parse(v1),
            Err(SavedPlanError::Format { found: 1 })
        );
        assert!(matches!(
            SavedPlan::parse("not json"),
            Err(SavedPlanError::NotAPlan(_))
        ));
    }
}
