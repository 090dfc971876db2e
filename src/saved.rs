//! Saved plans (`plan --out FILE`, `apply FILE`): the plan plus what it was made from, so apply can refuse a stale,
//! edited or foreign plan. The fingerprint covers only the live users the plan touches, so unrelated changes in the
//! account never make a plan stale.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::model::Account;
use crate::plan::Plan;

/// The saved-plan file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SavedPlan {
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
    /// SHA-256 of each touched live user as read at plan time (`absent` for users to create).
    pub fingerprint: BTreeMap<String, String>,
    /// The plan.
    pub plan: Plan,
    /// SHA-256 over all the fields above: an edited file no longer matches.
    pub checksum: String,
}

/// SHA-256 of bytes, hex.
#[must_use]
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Fingerprints of the live users a plan touches.
#[must_use]
pub fn fingerprint(plan: &Plan, live: &Account) -> BTreeMap<String, String> {
    let touched: BTreeSet<&str> = plan.changes.iter().map(|c| c.user.as_str()).collect();
    touched
        .into_iter()
        .map(|name| {
            let value = live.find_user(name).map_or_else(
                || "absent".to_owned(),
                |u| sha256_hex(serde_json::to_string(u).unwrap_or_default().as_bytes()),
            );
            (name.to_owned(), value)
        })
        .collect()
}

impl SavedPlan {
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

    /// Checks the file was not edited and was made by this version. Returns why not.
    pub fn check_integrity(&self) -> Result<(), String> {
        if self.checksum != self.body_checksum() {
            return Err("the file was edited after it was saved (checksum mismatch)".into());
        }
        if self.iamspec_version != env!("CARGO_PKG_VERSION") {
            return Err(format!(
                "it was made by iamspec {}, this is {}",
                self.iamspec_version,
                env!("CARGO_PKG_VERSION")
            ));
        }
        Ok(())
    }

    /// Compares the recorded fingerprint with a fresh read. Returns what changed.
    pub fn check_fresh(&self, live: &Account) -> Result<(), String> {
        let now = fingerprint(&self.plan, live);
        let changed: Vec<&str> = self
            .fingerprint
            .iter()
            .filter(|(user, hash)| now.get(*user) != Some(hash))
            .map(|(user, _)| user.as_str())
            .collect();
        if changed.is_empty() {
            Ok(())
        } else {
            Err(format!(
                "live user(s) changed since the plan was made: {}",
                changed.join(", ")
            ))
        }
    }
}
