//! Saved plans (`plan --out FILE`, `apply FILE`): the plan plus what it was made from, so apply can refuse a stale,
//! edited or foreign plan. The fingerprint covers only the live objects the plan touches, so unrelated changes in
//! the account never make a plan stale.

use std::collections::BTreeSet;
use std::path::Path;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{read, Error, Planned};
use crate::backend::{Backend, ReadScope};
use crate::diff::key_users;
use crate::model::Account;
use crate::plan::{Op, Plan, Target, FORMAT_VERSION};
use crate::spec::Spec;

/// The saved-plan file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SavedPlan {
    /// [`FORMAT_VERSION`]; files of another format are refused.
    pub format_version: u32,
    /// The iamspec version that made it; another version refuses it.
    pub iamspec_version: String,
    /// The spec file it was made from.
    pub spec_file: String,
    /// SHA-256 of the spec's bytes.
    pub spec_sha256: String,
    /// The account it was made against.
    pub account_id: String,
    /// The owner tag value (to read live state the same way).
    pub owner: String,
    /// Lower-cased users whose keys were read.
    pub key_users: BTreeSet<String>,
    /// Each touched live object as read at plan time.
    pub fingerprint: Vec<Fingerprint>,
    /// The plan.
    pub plan: Plan,
    /// SHA-256 over all the fields above: an edited file no longer matches.
    pub checksum: String,
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
    /// The checksum does not match the content.
    #[error("the file was edited after it was saved (checksum mismatch)")]
    Edited,
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
    /// Live objects the plan touches changed since.
    #[error("live object(s) changed since the plan was made: {}", list(.0))]
    Changed(Vec<Target>),
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
            let json = match target {
                Target::User(name) => live
                    .find_user(name)
                    .map(|u| serde_json::to_string(u).unwrap_or_default()),
                Target::Policy(name) => live
                    .policies
                    .get(name)
                    .map(|p| serde_json::to_string(p).unwrap_or_default()),
            };
            Fingerprint {
                target: target.clone(),
                sha256: json.map_or_else(|| "absent".to_owned(), |j| sha256_hex(j.as_bytes())),
            }
        })
        .collect()
}

impl SavedPlan {
    /// The saved form of a plan of `spec` (read from `spec_file`, whose text is `spec_text`).
    #[must_use]
    pub fn new(spec: &Spec, spec_file: &Path, spec_text: &str, planned: &Planned) -> Self {
        Self {
            format_version: FORMAT_VERSION,
            iamspec_version: env!("CARGO_PKG_VERSION").to_owned(),
            spec_file: spec_file.display().to_string(),
            spec_sha256: sha256_hex(spec_text.as_bytes()),
            account_id: planned.account_id.clone(),
            owner: spec.owner.clone(),
            key_users: key_users(spec),
            fingerprint: fingerprint(&planned.plan, &planned.live),
            plan: planned.plan.clone(),
            checksum: String::new(),
        }
        .seal()
    }

    /// Checks that the spec the plan was made from still has the same bytes.
    ///
    /// # Errors
    /// [`SavedPlanError::SpecChanged`].
    pub fn check_spec(&self, spec_bytes: &[u8]) -> Result<(), SavedPlanError> {
        if sha256_hex(spec_bytes) == self.spec_sha256 {
            Ok(())
        } else {
            Err(SavedPlanError::SpecChanged {
                file: self.spec_file.clone(),
            })
        }
    }

    /// Checks the plan against the live account (same account, touched objects unchanged) and returns the fresh
    /// read it is to be applied against.
    ///
    /// # Errors
    /// [`Error::Saved`] when the plan is foreign or stale, backend errors.
    pub async fn verify<B: Backend>(&self, backend: &B) -> Result<Account, Error> {
        let actual = backend.account_id().await?;
        if actual != self.account_id {
            return Err(SavedPlanError::Account {
                planned: self.account_id.clone(),
                actual,
            }
            .into());
        }
        let scope = ReadScope {
            owner: self.owner.clone(),
            key_users: self.key_users.clone(),
        };
        let mut live = backend.read(&scope).await?;
        let pruned: Vec<String> = self
            .plan
            .changes
            .iter()
            .filter(|c| matches!(c.op, Op::DeleteUser { .. }))
            .map(|c| c.op.target_name().to_owned())
            .collect();
        read::add_dependents(backend, &mut live, &pruned).await?;
        self.check_fresh(&live)?;
        Ok(live)
    }

    fn body_checksum(&self) -> String {
        let mut copy = self.clone();
        copy.checksum = String::new();
        sha256_hex(serde_json::to_string(&copy).unwrap_or_default().as_bytes())
    }

    /// Seals the plan: computes the checksum.
    #[must_use]
    pub fn seal(mut self) -> Self {
        self.checksum = self.body_checksum();
        self
    }

    /// Reads a saved plan file's text, refusing other formats with a message that says so.
    ///
    /// # Errors
    /// [`SavedPlanError::NotAPlan`] or [`SavedPlanError::Format`].
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
        serde_json::from_value(value).map_err(|e| SavedPlanError::NotAPlan(e.to_string()))
    }

    /// Checks the file was not edited and was made by this version.
    ///
    /// # Errors
    /// [`SavedPlanError::Edited`] or [`SavedPlanError::Version`].
    pub fn check_integrity(&self) -> Result<(), SavedPlanError> {
        if self.checksum != self.body_checksum() {
            return Err(SavedPlanError::Edited);
        }
        if self.iamspec_version != env!("CARGO_PKG_VERSION") {
            return Err(SavedPlanError::Version {
                made: self.iamspec_version.clone(),
                this: env!("CARGO_PKG_VERSION").to_owned(),
            });
        }
        Ok(())
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
            owner: String::new(),
            key_users: BTreeSet::new(),
            fingerprint: print,
            plan,
            checksum: String::new(),
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
