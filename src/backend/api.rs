//! The backend contract: one trait every account implementation fulfils, and the reads built on it.

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;

use super::{BackendError, NewAccessKey};
use crate::model::{AccessKey, Account, Dependents};
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

/// API calls made, by operation name.
pub type CallStats = BTreeMap<String, u64>;

/// One IAM account, live.
pub trait Backend: Send + Sync {
    /// The account id (STS GetCallerIdentity on AWS).
    fn account_id(&self) -> impl Future<Output = Result<String, BackendError>> + Send;

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

    /// Lists a user's access keys (reconciling an ambiguous CreateAccessKey).
    fn list_access_keys(
        &self,
        user: &str,
    ) -> impl Future<Output = Result<Vec<AccessKey>, BackendError>> + Send;

    /// Performs one operation.
    fn execute(&self, op: &Op) -> impl Future<Output = Result<Outcome, BackendError>> + Send;

    /// Calls made so far, by operation.
    fn stats(&self) -> CallStats;
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
