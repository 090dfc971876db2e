//! The admin step of delegated administration (`iamspec bootstrap`): the permissions boundary of a
//! `delegate: true` spec, created or brought up to date with administrator credentials. The pipeline's own policy
//! can never change it; this is the one place that writes it.

use std::collections::BTreeMap;

use super::Error;
use crate::backend::{Backend, ReadScope};
use crate::boundary::Boundary;
use crate::model::{Account, OWNER_TAG};
use crate::plan::Op;
use crate::spec::Spec;

/// IAM keeps at most five versions of a managed policy.
const VERSION_LIMIT: usize = 5;

/// The boundary a spec needs in one account, and the calls that make the account hold it.
#[derive(Debug, Clone)]
pub struct BoundaryPlan {
    /// The boundary policy's ARN.
    pub arn: String,
    /// What it should say.
    pub boundary: Boundary,
    /// The calls: none when it is up to date.
    pub ops: Vec<Op>,
}

/// The calls that make `live` hold `boundary` as `spec`'s boundary policy in `account_id`. Pure.
///
/// # Errors
/// [`Error::Bootstrap`] when a policy of that name exists that this owner did not make (its tags say so), or the
/// document is over IAM's size limit.
pub fn boundary_ops(
    spec: &Spec,
    live: &Account,
    account_id: &str,
    boundary: Boundary,
    live_tags: Option<&BTreeMap<String, String>>,
) -> Result<BoundaryPlan, Error> {
    let name = crate::names::boundary_policy(&spec.owner);
    let arn = crate::diff::policy_arn(spec, Some(account_id), &name);
    let size = crate::policy::non_whitespace_len(&boundary.document.to_compact_json());
    if size > crate::policy::MANAGED_POLICY_LIMIT {
        return Err(Error::Bootstrap(format!(
            "the boundary renders to {size} characters, over IAM's {} for a managed policy: the spec grants too many separate things to cap in one policy",
            crate::policy::MANAGED_POLICY_LIMIT
        )));
    }
    let existing = live
        .policies
        .values()
        .find(|p| p.name.eq_ignore_ascii_case(&name) && p.path == spec.path);
    let ops = match existing {
        None => vec![Op::CreatePolicy {
            policy: name.clone(),
            path: spec.path.clone(),
            description: Some(format!(
                "iamspec permissions boundary of owner {}: the most any principal it manages may do",
                spec.owner
            )),
            document: boundary.document.clone(),
            tags: BTreeMap::from([(OWNER_TAG.to_owned(), spec.owner.clone())]),
        }],
        Some(p) => {
            if live_tags.and_then(|t| t.get(OWNER_TAG)) != Some(&spec.owner) {
                return Err(Error::Bootstrap(format!(
                    "a policy {name} exists under {} that owner `{}` did not make (no matching owner tag): iamspec will not write to it",
                    spec.path, spec.owner
                )));
            }
            if p.document == boundary.document {
                Vec::new()
            } else {
                let mut ops = Vec::new();
                if p.other_versions.len() + 1 >= VERSION_LIMIT {
                    if let Some(oldest) = p.other_versions.first() {
                        ops.push(Op::DeletePolicyVersion {
                            policy: name.clone(),
                            policy_arn: p.arn.clone(),
                            version_id: oldest.clone(),
                        });
                    }
                }
                ops.push(Op::CreatePolicyVersion {
                    policy: name.clone(),
                    policy_arn: p.arn.clone(),
                    document: boundary.document.clone(),
                });
                ops
            }
        }
    };
    Ok(BoundaryPlan { arn, boundary, ops })
}

/// Reads what the boundary needs (the account, the attached managed policies' documents, the boundary's tags)
/// and works out its calls.
///
/// # Errors
/// Backend errors, and those of [`boundary_ops`].
pub async fn plan_boundary<B: Backend>(
    backend: &B,
    spec: &Spec,
    account_id: &str,
) -> Result<BoundaryPlan, Error> {
    let live = backend
        .read(&ReadScope {
            owner: spec.owner.clone(),
            key_users: std::collections::BTreeSet::new(),
        })
        .await?;
    let managed = backend
        .policy_documents(&crate::boundary::managed_arns(spec))
        .await?;
    let boundary = crate::boundary::boundary(spec, &managed);
    let name = crate::names::boundary_policy(&spec.owner);
    let arn = crate::diff::policy_arn(spec, Some(account_id), &name);
    let tags = if live.policies.values().any(|p| p.arn == arn) {
        backend
            .read_policy_tags(std::slice::from_ref(&arn))
            .await?
            .remove(&arn)
    } else {
        None
    };
    boundary_ops(spec, &live, account_id, boundary, tags.as_ref())
}

/// Sends the boundary's calls, in order, each within the backend's own retry budget.
///
/// # Errors
/// The first call that fails.
pub async fn write_boundary<B: Backend>(backend: &B, plan: &BoundaryPlan) -> Result<(), Error> {
    for op in &plan.ops {
        backend.execute(op).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> Spec {
        crate::spec::load(
            "s.yaml",
            "version: 1\nowner: web\ndelegate: true\nusers:\n  a: { grants: [{buckets: [b-one], access: read}] }\n",
        )
        .unwrap()
        .spec
    }

    #[test]
    fn the_boundary_is_created_then_versioned_and_never_written_when_foreign() {
        let spec = spec();
        let b = crate::boundary::boundary(&spec, &BTreeMap::new());
        let plan =
            boundary_ops(&spec, &Account::default(), "123456789012", b.clone(), None).unwrap();
        assert!(
            matches!(&plan.ops[..], [Op::CreatePolicy { policy, tags, .. }]
            if policy == "iamspec-boundary-web" && tags[OWNER_TAG] == "web")
        );
        assert_eq!(
            plan.arn,
            "arn:aws:iam::123456789012:policy/iamspec/iamspec-boundary-web"
        );

        let mut live = Account::default();
        let mut made = crate::model::ManagedPolicy {
            name: "iamspec-boundary-web".into(),
            path: "/iamspec/".into(),
            arn: plan.arn.clone(),
            description: None,
            document: b.document.clone(),
            default_version: "v5".into(),
            other_versions: vec!["v1".into(), "v2".into(), "v3".into(), "v4".into()],
            tags: None,
        };
        live.policies.insert(made.name.clone(), made.clone());
        let ours = BTreeMap::from([(OWNER_TAG.to_owned(), "web".to_owned())]);
        let same = boundary_ops(&spec, &live, "123456789012", b.clone(), Some(&ours)).unwrap();
        assert!(same.ops.is_empty());
        made.document = crate::policy::PolicyDocument::new(Vec::new());
        live.policies.insert(made.name.clone(), made);
        let stale = boundary_ops(&spec, &live, "123456789012", b.clone(), Some(&ours)).unwrap();
        assert!(
            matches!(&stale.ops[..], [Op::DeletePolicyVersion { version_id, .. }, Op::CreatePolicyVersion { .. }] if version_id == "v1")
        );
        let theirs = BTreeMap::from([(OWNER_TAG.to_owned(), "team-b".to_owned())]);
        assert!(boundary_ops(&spec, &live, "123456789012", b.clone(), Some(&theirs)).is_err());
        assert!(boundary_ops(&spec, &live, "123456789012", b, None).is_err());
    }
}
