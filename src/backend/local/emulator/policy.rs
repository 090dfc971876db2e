//! Customer-managed policies as IAM keeps them: ARNs under a path, tags, a default version and at most four more,
//! DeleteConflict while other versions remain.

use std::collections::BTreeMap;

use super::{err, remove_item, LocalAccount};
use crate::backend::{BackendError, ErrorKind};
use crate::model::ManagedPolicy;
use crate::plan::{Op, PolicyOps};

impl LocalAccount {
    /// Attach*Policy: NoSuchEntity for a policy that does not exist.
    pub(super) fn check_attachable(&self, arn: &str, op: &Op) -> Result<(), BackendError> {
        if self.policy_exists(arn) {
            return Ok(());
        }
        Err(err(
            ErrorKind::NoSuchEntity,
            op,
            format!("policy {arn} does not exist or is not attachable"),
        ))
    }

    pub(super) fn policy_exists(&self, arn: &str) -> bool {
        arn.starts_with("arn:aws:iam::aws:policy/")
            || self.policies.contains(arn)
            || self.managed.values().any(|p| p.arn == arn)
    }

    fn managed_mut(&mut self, op: &Op, arn: &str) -> Result<&mut ManagedPolicy, BackendError> {
        self.managed
            .values_mut()
            .find(|p| p.arn == arn)
            .ok_or_else(|| {
                err(
                    ErrorKind::NoSuchEntity,
                    op,
                    format!("policy {arn} does not exist"),
                )
            })
    }

    /// The customer-managed policy operations, as IAM answers them (five versions at most).
    pub(super) fn apply_policy(&mut self, op: &Op, ops: PolicyOps<'_>) -> Result<(), BackendError> {
        match ops {
            PolicyOps::CreatePolicy {
                policy,
                path,
                document,
                description,
                tags,
            } => {
                if self.managed.contains_key(policy) {
                    return Err(err(
                        ErrorKind::AlreadyExists,
                        op,
                        format!("a policy called {policy} already exists"),
                    ));
                }
                if document.size() > crate::policy::MANAGED_POLICY_LIMIT {
                    return Err(err(
                        ErrorKind::LimitExceeded,
                        op,
                        "cannot exceed quota for PolicySize: 6144",
                    ));
                }
                let arn = format!("arn:aws:iam::{}:policy{path}{policy}", self.account_id);
                self.managed.insert(
                    policy.clone(),
                    ManagedPolicy {
                        name: policy.clone(),
                        path: path.clone(),
                        arn,
                        description: description.clone(),
                        document: document.clone(),
                        default_version: "v1".into(),
                        other_versions: Vec::new(),
                        tags: Some(tags.clone()),
                    },
                );
            }
            PolicyOps::AdoptPolicy {
                policy_arn, tags, ..
            } => {
                let p = self.managed_mut(op, policy_arn)?;
                p.tags
                    .get_or_insert_with(BTreeMap::new)
                    .extend(tags.iter().map(|(k, v)| (k.clone(), v.clone())));
            }
            PolicyOps::CreatePolicyVersion {
                policy_arn,
                document,
                ..
            } => {
                let p = self.managed_mut(op, policy_arn)?;
                if p.other_versions.len() + 1 >= 5 {
                    return Err(err(
                        ErrorKind::LimitExceeded,
                        op,
                        "cannot exceed quota for PolicyVersionsPerPolicy: 5",
                    ));
                }
                let next = std::iter::once(&p.default_version)
                    .chain(&p.other_versions)
                    .filter_map(|v| v.trim_start_matches('v').parse::<u32>().ok())
                    .max()
                    .unwrap_or(0)
                    + 1;
                let old = std::mem::replace(&mut p.default_version, format!("v{next}"));
                p.other_versions.push(old);
                p.document = document.clone();
            }
            PolicyOps::DeletePolicyVersion {
                policy_arn,
                version_id,
                ..
            } => {
                let p = self.managed_mut(op, policy_arn)?;
                remove_item(&mut p.other_versions, version_id).ok_or_else(|| {
                    err(
                        ErrorKind::NoSuchEntity,
                        op,
                        format!("version {version_id} not found"),
                    )
                })?;
            }
            PolicyOps::DeletePolicy {
                policy_arn,
                versions,
                ..
            } => {
                if self
                    .users
                    .values()
                    .any(|u| u.attached_policies.contains(policy_arn))
                    || self
                        .roles
                        .values()
                        .any(|r| r.attached_policies.contains(policy_arn))
                    || self
                        .managed_groups
                        .values()
                        .any(|g| g.attached_policies.contains(policy_arn))
                {
                    return Err(err(
                        ErrorKind::DeleteConflict,
                        op,
                        "cannot delete a policy attached to entities",
                    ));
                }
                let p = self.managed_mut(op, policy_arn)?;
                for v in versions {
                    let _ = remove_item(&mut p.other_versions, v);
                }
                if !p.other_versions.is_empty() {
                    return Err(err(
                        ErrorKind::DeleteConflict,
                        op,
                        "cannot delete a policy with non-default versions",
                    ));
                }
                let name = p.name.clone();
                self.managed.remove(&name);
            }
        }
        Ok(())
    }
}
