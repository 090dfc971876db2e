//! Backends: where live state comes from and where changes go. The AWS account ([`aws`]) and a local JSON file
//! that stands in for one ([`local`]) implement the same trait, so the core never knows which it talks to.

pub mod aws;
mod error;
pub mod local;
mod secret;

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;

pub use error::{BackendError, ErrorKind};
pub use secret::{NewAccessKey, Secret};

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

/// The backends the CLI can select, dispatched statically.
pub enum AnyBackend {
    /// A local account file.
    Local(local::LocalBackend),
    /// AWS IAM.
    Aws(Box<aws::AwsBackend>),
}

impl Backend for AnyBackend {
    async fn account_id(&self) -> Result<String, BackendError> {
        match self {
            Self::Local(b) => b.account_id().await,
            Self::Aws(b) => b.account_id().await,
        }
    }

    async fn read(&self, scope: &ReadScope) -> Result<Account, BackendError> {
        match self {
            Self::Local(b) => b.read(scope).await,
            Self::Aws(b) => b.read(scope).await,
        }
    }

    async fn read_dependents(
        &self,
        users: &[String],
    ) -> Result<BTreeMap<String, (Vec<AccessKey>, Dependents)>, BackendError> {
        match self {
            Self::Local(b) => b.read_dependents(users).await,
            Self::Aws(b) => b.read_dependents(users).await,
        }
    }

    async fn list_access_keys(&self, user: &str) -> Result<Vec<AccessKey>, BackendError> {
        match self {
            Self::Local(b) => b.list_access_keys(user).await,
            Self::Aws(b) => b.list_access_keys(user).await,
        }
    }

    async fn execute(&self, op: &Op) -> Result<Outcome, BackendError> {
        match self {
            Self::Local(b) => b.execute(op).await,
            Self::Aws(b) => b.execute(op).await,
        }
    }

    fn stats(&self) -> CallStats {
        match self {
            Self::Local(b) => b.stats(),
            Self::Aws(b) => b.stats(),
        }
    }
}

/// Reads the account and, for prune candidates, their dependents: the full live view a diff needs.
///
/// # Errors
/// Backend errors.
pub async fn read_for_plan<B: Backend>(
    backend: &B,
    spec: &crate::spec::Spec,
    opts: &crate::diff::DiffOptions,
) -> Result<Account, BackendError> {
    let scope = ReadScope {
        owner: spec.owner.clone(),
        key_users: crate::diff::key_users(spec),
    };
    let mut live = backend.read(&scope).await?;
    let candidates = crate::diff::prune_candidates(spec, &live, opts);
    add_dependents(backend, &mut live, &candidates).await?;
    Ok(live)
}

/// Reads the keys and dependents of `users` (about to be deleted) into `live`.
///
/// # Errors
/// Backend errors.
pub async fn add_dependents<B: Backend>(
    backend: &B,
    live: &mut Account,
    users: &[String],
) -> Result<(), BackendError> {
    if users.is_empty() {
        return Ok(());
    }
    for (name, (keys, deps)) in backend.read_dependents(users).await? {
        if let Some(user) = live.users.get_mut(&name) {
            user.access_keys = keys;
            user.dependents = Some(deps);
        }
    }
    Ok(())
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
