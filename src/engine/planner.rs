//! Making a plan: the account check (before any other call), the read the spec needs, the diff.

use std::collections::{BTreeMap, BTreeSet};

use super::read::{self, KeyRead};
use super::Error;
use crate::backend::{Backend, Caller};
use crate::diff::{DiffOptions, Guard};
use crate::model::Account;
use crate::plan::{AccessChange, Notice, NoticeKind, Plan};
use crate::spec::Spec;

/// A plan with what it was made from.
#[derive(Debug, Clone)]
pub struct Planned {
    /// The caller's account.
    pub account_id: String,
    /// The caller's ARN, when the backend knows it.
    pub caller_arn: Option<String>,
    /// The live state the plan was made against.
    pub live: Account,
    /// The plan.
    pub plan: Plan,
    /// The options it was made with.
    pub opts: DiffOptions,
    /// What an apply of it may write, from the same read: the executor checks every operation against it.
    pub guard: Guard,
    /// When the credential report that some of the keys came from was generated (`None`: every key was listed).
    pub keys_as_of: Option<i64>,
}

/// GetCallerIdentity before any other call; refuses an account other than the spec's pinned one.
///
/// # Errors
/// [`Error::WrongAccount`], or the backend's error.
pub async fn checked_account<B: Backend>(
    backend: &B,
    expected: Option<&str>,
) -> Result<Caller, Error> {
    let caller = backend.caller().await?;
    match expected {
        Some(expected) if expected != caller.account_id => Err(Error::WrongAccount {
            expected: expected.to_owned(),
            actual: caller.account_id,
        }),
        _ => Ok(caller),
    }
}

/// Plans `spec` against the live account: limited to `only` (lower-cased user names) when given, key ages as of
/// `now`.
///
/// # Errors
/// A wrong account, conflicts with users iamspec does not own, backend errors.
pub async fn plan<B: Backend>(
    backend: &B,
    spec: &Spec,
    only: Option<BTreeSet<String>>,
    now: i64,
    keys: KeyRead,
) -> Result<Planned, Error> {
    let caller = checked_account(backend, spec.account_id.as_deref()).await?;
    plan_in(backend, spec, caller, only, now, keys).await
}

/// [`plan`] in an account already checked with [`checked_account`].
///
/// # Errors
/// Conflicts with users iamspec does not own, backend errors.
pub async fn plan_in<B: Backend>(
    backend: &B,
    spec: &Spec,
    caller: Caller,
    only: Option<BTreeSet<String>>,
    now: i64,
    keys: KeyRead,
) -> Result<Planned, Error> {
    let Caller {
        account_id,
        arn: caller_arn,
    } = caller;
    let opts = DiffOptions {
        now,
        only,
        account_id: Some(account_id.clone()),
    };
    tracing::info!(account = %account_id, "reading live IAM");
    let (live, mut plan, keys_as_of) =
        read::planned_with_report(backend, spec, &opts, keys).await?;
    if let Some(only) = &opts.only {
        unknown_user(only, spec, &live)?;
    }
    tracing::info!(
        users = live.users.len(),
        policies = live.policies.len(),
        "read live IAM; compared with the spec"
    );
    let read = check_managed_policies(backend, spec, &live).await?;
    // Live principals that break a guardrail (the spec's own were refused when it was loaded); where the
    // evaluator cannot decide (a managed policy not read) it says nothing rather than guess.
    plan.notices.extend(
        crate::guardrails::check_live(spec, &live, &read)
            .into_iter()
            .filter(|b| b.undecided.is_none())
            .map(|b| Notice {
                kind: NoticeKind::Guardrail,
                message: b.message(),
                target: b.principal,
            }),
    );
    plan.access_changes = access_changes(backend, spec, &plan, &live, &account_id, read).await?;
    let guard = Guard::new(spec, &live, &opts);
    tracing::info!(changes = plan.changes.len(), "planned");
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

/// What the plan changes in what principals may do. The documents of managed policies the plan attaches or
/// detaches that the account read does not hold (AWS-managed ones) are read, one GetPolicy and GetPolicyVersion
/// each, unless the existence check already read them (`read`): a plan that attaches none makes no extra call.
/// Only the spec's own managed ARNs are read (the pipeline's policy allows no more); a policy detached that the
/// spec does not name shows as not read.
async fn access_changes<B: Backend>(
    backend: &B,
    spec: &Spec,
    plan: &Plan,
    live: &Account,
    account_id: &str,
    read: BTreeMap<String, crate::policy::PolicyDocument>,
) -> Result<Vec<AccessChange>, Error> {
    if plan.changes.is_empty() {
        return Ok(Vec::new());
    }
    let after = crate::plan::project(live, &plan.changes, account_id);
    let spec_arns: BTreeSet<String> = crate::boundary::managed_arns(spec).into_iter().collect();
    let customer: BTreeSet<&str> = live
        .policies
        .values()
        .chain(after.policies.values())
        .map(|p| p.arn.as_str())
        .collect();
    let arns: BTreeSet<String> = plan
        .changes
        .iter()
        .filter_map(|c| c.op.attached_arn())
        .filter(|arn| {
            !customer.contains(arn) && !read.contains_key(*arn) && spec_arns.contains(*arn)
        })
        .map(str::to_owned)
        .collect();
    let mut documents = read;
    if !arns.is_empty() {
        let arns: Vec<String> = arns.into_iter().collect();
        documents.extend(backend.policy_documents(&arns).await?);
    }
    Ok(crate::authz::access_changes(
        &plan.changes,
        live,
        &after,
        &documents,
    ))
}

/// AWS-managed policies of the kinds a bucket spec attaches: names to suggest for a mistyped ARN.
const COMMON_MANAGED: [&str; 8] = [
    "AmazonS3ReadOnlyAccess",
    "AmazonS3FullAccess",
    "AmazonS3ObjectLambdaExecutionRolePolicy",
    "AWSKeyManagementServicePowerUser",
    "CloudFrontReadOnlyAccess",
    "CloudFrontFullAccess",
    "ReadOnlyAccess",
    "PowerUserAccess",
];

/// Every managed-policy ARN the spec attaches must exist before anything is written: a typo would otherwise fail
/// half-way through an apply, leaving a user half-built. ARNs the account read already shows (customer-managed,
/// or attached to someone) cost nothing; the rest are read (GetPolicy, and GetPolicyVersion for the document the
/// access changes need), distinct ARNs once. Returns the documents read.
async fn check_managed_policies<B: Backend>(
    backend: &B,
    spec: &Spec,
    live: &Account,
) -> Result<BTreeMap<String, crate::policy::PolicyDocument>, Error> {
    let shown: BTreeSet<&str> = live
        .policies
        .values()
        .map(|p| p.arn.as_str())
        .chain(
            live.users
                .values()
                .flat_map(|u| u.attached_policies.iter().map(String::as_str)),
        )
        .chain(
            live.roles
                .values()
                .flat_map(|r| r.attached_policies.iter().map(String::as_str)),
        )
        .chain(
            live.groups
                .values()
                .flat_map(|g| g.attached_policies.iter().map(String::as_str)),
        )
        .collect();
    let unshown: Vec<String> = crate::boundary::managed_arns(spec)
        .into_iter()
        .filter(|arn| !shown.contains(arn.as_str()))
        .collect();
    let documents = if unshown.is_empty() {
        BTreeMap::new()
    } else {
        backend.policy_documents(&unshown).await?
    };
    let mut missing = Vec::new();
    for arn in unshown {
        // No document: the policy does not exist, or this backend cannot know (the local account).
        if !documents.contains_key(&arn) && backend.policy_exists(&arn).await? == Some(false) {
            let name = arn.rsplit('/').next().unwrap_or(&arn).to_owned();
            let known: Vec<String> = shown
                .iter()
                .map(|a| a.rsplit('/').next().unwrap_or(a).to_owned())
                .chain(COMMON_MANAGED.iter().map(|n| (*n).to_owned()))
                .collect();
            let suggestion = crate::suggest::closest(&name, known.iter().map(String::as_str))
                .map(|s| arn.replace(&name, s));
            missing.push((arn, suggestion));
        }
    }
    if missing.is_empty() {
        Ok(documents)
    } else {
        Err(Error::UnknownPolicies(missing))
    }
}

/// A `--user` typo must not read as "No changes": every name must be a spec user or a live one.
fn unknown_user(only: &BTreeSet<String>, spec: &Spec, live: &Account) -> Result<(), Error> {
    let known: BTreeSet<String> = spec
        .users
        .iter()
        .map(|u| u.name.clone())
        .chain(live.users.keys().cloned())
        .collect();
    let lower: BTreeSet<String> = known.iter().map(|n| n.to_ascii_lowercase()).collect();
    match only.iter().find(|name| !lower.contains(*name)) {
        None => Ok(()),
        Some(name) => Err(Error::UnknownUser {
            name: name.clone(),
            suggestion: crate::suggest::closest(name, known.iter().map(String::as_str))
                .map(str::to_owned),
        }),
    }
}
