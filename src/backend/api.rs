//! The backend contract: one trait every account implementation fulfils, and the reads built on it.

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;

use super::{BackendError, NewAccessKey};
use crate::credential_report::CredentialReport;
use crate::model::{AccessKey, Account, Dependents, KeyUse};
use crate::plan::Op;

/// What a read needs to know beyond "everything": whose access keys to list.
#[derive(Debug, Clone, Default)]
pub struct ReadScope {
    /// The owner tag value; keys are listed only for users carrying it (or being adopted).
    pub owner: String,
    /// Lower-cased names of spec users that declare access keys.
    pub key_users: BTreeSet<String>,
}

/// What an operation produced.
#[derive(Debug)]
pub enum Outcome {
    /// Nothing to hand back.
    Done,
    /// CreateAccessKey's new key, secret included: deliver it before anything else.
    AccessKey(NewAccessKey),
}

/// The apply lock: one holder at a time per owner and account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockRequest {
    /// The lock's name (`iamspec-lock-<owner>`): on AWS a customer-managed policy of that name.
    pub name: String,
    /// The IAM path it lives under (the spec's).
    pub path: String,
    /// Its ARN on AWS.
    pub arn: String,
    /// The owner tag value it carries.
    pub owner: String,
    /// Who holds it and since when, unique to this run (printable ASCII; at most 1,000 characters).
    pub holder: String,
}

/// Whether a lock's holder text is one iamspec writes (`iamspec <version> apply by ...`): force-unlock removes
/// nothing else.
#[must_use]
pub fn is_lock_holder(holder: &str) -> bool {
    holder.starts_with("iamspec ") && holder.contains(" apply by ")
}

/// The refusal to force-unlock something that is not a lock of `req.owner`'s runs.
#[must_use]
pub fn not_a_lock(req: &LockRequest, owner: Option<&str>, holder: &str) -> BackendError {
    let mut e = BackendError::new(
        super::ErrorKind::Refused,
        "DeletePolicy",
        format!(
            "`{}` is not an apply lock of owner `{}`: {}",
            req.name,
            req.owner,
            if is_lock_holder(holder) {
                match owner {
                    Some(o) => format!("it carries the owner tag `{o}`"),
                    None => "it carries no owner tag".to_owned(),
                }
            } else {
                "its description is not one an apply writes".to_owned()
            }
        ),
    )
    .on(req.name.clone());
    e.hint = Some(
        "iamspec removes only locks its own runs made; if this policy is truly stale, delete it by hand".into(),
    );
    e
}

/// The answer to a lock attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LockState {
    /// This run holds the lock now.
    Acquired,
    /// Another run holds it; what its holder text says.
    HeldBy(String),
}

/// API calls made, by operation name.
pub type CallStats = BTreeMap<String, u64>;

/// The identity the backend's calls are made as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// The account id.
    pub account_id: String,
    /// The caller's ARN (a user or an assumed role); none for the local account file.
    pub arn: Option<String>,
}

/// One IAM account, live.
pub trait Backend: Send + Sync {
    /// Who is calling (STS GetCallerIdentity on AWS).
    fn caller(&self) -> impl Future<Output = Result<Caller, BackendError>> + Send;

    /// The maximum session duration (seconds) of each of these roles, for import: the account read lacks it.
    /// Backends that keep it in the role's tag need no call (the default: none known).
    fn role_sessions(
        &self,
        names: &[String],
    ) -> impl Future<Output = Result<BTreeMap<String, u32>, BackendError>> + Send {
        let _ = names;
        async { Ok(BTreeMap::new()) }
    }

    /// The caller's account id.
    fn account_id(&self) -> impl Future<Output = Result<String, BackendError>> + Send {
        async { self.caller().await.map(|c| c.account_id) }
    }

    /// Reads every user with tags, policies, attachments, groups and boundary, and the keys of `scope.key_users`.
    fn read(&self, scope: &ReadScope)
        -> impl Future<Output = Result<Account, BackendError>> + Send;

    /// Reads what DeleteUser requires gone, for users about to be pruned.
    fn read_dependents(
        &self,
        users: &[String],
    ) -> impl Future<Output = Result<BTreeMap<String, (Vec<AccessKey>, Dependents)>, BackendError>> + Send;

    /// Reads the tags of managed policies by ARN (ListPolicyTags each): the account read does not return them.
    /// Policies that no longer exist are left out.
    fn read_policy_tags(
        &self,
        arns: &[String],
    ) -> impl Future<Output = Result<BTreeMap<String, BTreeMap<String, String>>, BackendError>> + Send;

    /// The description of a managed policy (GetPolicy), `None` when it does not exist.
    fn policy_description(
        &self,
        arn: &str,
    ) -> impl Future<Output = Result<Option<String>, BackendError>> + Send;

    /// Whether a managed policy exists (GetPolicy on AWS), `None` where this backend cannot know (the local account
    /// holds no AWS-managed policies). Required of every backend, so none forgets to answer.
    fn policy_exists(
        &self,
        arn: &str,
    ) -> impl Future<Output = Result<Option<bool>, BackendError>> + Send;

    /// Reads every group with its inline and attached policies (for `can` / `who-can --live`).
    fn read_groups(
        &self,
    ) -> impl Future<Output = Result<BTreeMap<String, crate::model::Group>, BackendError>> + Send;

    /// The default-version documents of managed policies by ARN (GetPolicy, GetPolicyVersion); policies that do
    /// not exist (or whose documents this backend cannot know) are left out.
    fn policy_documents(
        &self,
        arns: &[String],
    ) -> impl Future<Output = Result<BTreeMap<String, crate::policy::PolicyDocument>, BackendError>> + Send;

    /// Lists a user's access keys (reconciling an ambiguous CreateAccessKey).
    fn list_access_keys(
        &self,
        user: &str,
    ) -> impl Future<Output = Result<Vec<AccessKey>, BackendError>> + Send;

    /// Lists the access keys of these users (ListAccessKeys each); users that no longer exist are left out.
    fn list_keys_of(
        &self,
        users: &[String],
    ) -> impl Future<Output = Result<BTreeMap<String, Vec<AccessKey>>, BackendError>> + Send {
        async move {
            let mut out = BTreeMap::new();
            for user in users {
                match self.list_access_keys(user).await {
                    Ok(keys) => {
                        out.insert(user.clone(), keys);
                    }
                    Err(e) if e.kind == super::ErrorKind::NoSuchEntity => {}
                    Err(e) => return Err(e),
                }
            }
            Ok(out)
        }
    }

    /// When each of these keys was last used (GetAccessKeyLastUsed each); keys whose use cannot be known here are
    /// left out. Required of every backend: what it answers decides whether a key is someone's or unused.
    fn keys_last_used(
        &self,
        ids: &[String],
    ) -> impl Future<Output = Result<BTreeMap<String, KeyUse>, BackendError>> + Send;

    /// The account's credential report (every user's key slots and their last use), `None` where this backend has
    /// none or cannot read it: then the keys of every user that declares them are listed. Required of every
    /// backend, so none forgets to answer.
    fn credential_report(
        &self,
    ) -> impl Future<Output = Result<Option<CredentialReport>, BackendError>> + Send;

    /// Takes the apply lock if nobody holds it.
    fn lock(
        &self,
        req: &LockRequest,
    ) -> impl Future<Output = Result<LockState, BackendError>> + Send;

    /// Who holds the lock, if anyone.
    fn lock_holder(
        &self,
        req: &LockRequest,
    ) -> impl Future<Output = Result<Option<String>, BackendError>> + Send;

    /// Releases the lock if this run (`req.holder`) holds it, or whoever holds it with `force`.
    ///
    /// # Errors
    /// A lock held by another run (without `force`), backend errors.
    fn unlock(
        &self,
        req: &LockRequest,
        force: bool,
    ) -> impl Future<Output = Result<(), BackendError>> + Send;

    /// Performs one operation.
    fn execute(&self, op: &Op) -> impl Future<Output = Result<Outcome, BackendError>> + Send;

    /// Calls made so far, by operation.
    fn stats(&self) -> CallStats;

    /// How reads and writes were paced, for backends that can be throttled.
    fn pacing(&self) -> Option<Pacing> {
        None
    }
}

/// What a backend's pacers did.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Pacing {
    /// Reads.
    pub reads: crate::pacing::PacingStats,
    /// Writes.
    pub writes: crate::pacing::PacingStats,
}

/// API calls by operation, shared by the backends' `stats()`.
#[derive(Debug, Default)]
pub struct CallCounter(std::sync::Mutex<CallStats>);

impl CallCounter {
    /// Counts one call of `op`.
    pub fn count(&self, op: &str) {
        *self
            .0
            .lock()
            .expect("stats lock")
            .entry(op.to_owned())
            .or_default() += 1;
    }

    /// The counts so far.
    #[must_use]
    pub fn snapshot(&self) -> CallStats {
        self.0.lock().expect("stats lock").clone()
    }
}
