//! Static dispatch over the backends the CLI can select.

use std::collections::BTreeMap;

use super::{
    aws, local, Backend, BackendError, CallStats, Caller, LockRequest, LockState, Outcome, Pacing,
    ReadScope,
};
use crate::credential_report::CredentialReport;
use crate::model::{AccessKey, Account, Dependents, KeyUse};
use crate::plan::Op;

/// The backends the CLI can select, dispatched statically.
pub enum AnyBackend {
    /// A local account file.
    Local(Box<local::LocalBackend>),
    /// AWS IAM.
    Aws(Box<aws::AwsBackend>),
}

impl Backend for AnyBackend {
    async fn role_sessions(&self, names: &[String]) -> Result<BTreeMap<String, u32>, BackendError> {
        match self {
            Self::Local(b) => b.role_sessions(names).await,
            Self::Aws(b) => b.role_sessions(names).await,
        }
    }

    async fn caller(&self) -> Result<Caller, BackendError> {
        match self {
            Self::Local(b) => b.caller().await,
            Self::Aws(b) => b.caller().await,
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

    async fn policy_exists(&self, arn: &str) -> Result<Option<bool>, BackendError> {
        match self {
            Self::Local(b) => b.policy_exists(arn).await,
            Self::Aws(b) => b.policy_exists(arn).await,
        }
    }

    async fn read_policy_tags(
        &self,
        arns: &[String],
    ) -> Result<BTreeMap<String, BTreeMap<String, String>>, BackendError> {
        match self {
            Self::Local(b) => b.read_policy_tags(arns).await,
            Self::Aws(b) => b.read_policy_tags(arns).await,
        }
    }

    async fn policy_description(&self, arn: &str) -> Result<Option<String>, BackendError> {
        match self {
            Self::Local(b) => b.policy_description(arn).await,
            Self::Aws(b) => b.policy_description(arn).await,
        }
    }

    async fn read_groups(&self) -> Result<BTreeMap<String, crate::model::Group>, BackendError> {
        match self {
            Self::Local(b) => b.read_groups().await,
            Self::Aws(b) => b.read_groups().await,
        }
    }

    async fn policy_documents(
        &self,
        arns: &[String],
    ) -> Result<BTreeMap<String, crate::policy::PolicyDocument>, BackendError> {
        match self {
            Self::Local(b) => b.policy_documents(arns).await,
            Self::Aws(b) => b.policy_documents(arns).await,
        }
    }

    async fn list_access_keys(&self, user: &str) -> Result<Vec<AccessKey>, BackendError> {
        match self {
            Self::Local(b) => b.list_access_keys(user).await,
            Self::Aws(b) => b.list_access_keys(user).await,
        }
    }

    async fn list_keys_of(
        &self,
        users: &[String],
    ) -> Result<BTreeMap<String, Vec<AccessKey>>, BackendError> {
        match self {
            Self::Local(b) => b.list_keys_of(users).await,
            Self::Aws(b) => b.list_keys_of(users).await,
        }
    }

    async fn keys_last_used(
        &self,
        ids: &[String],
    ) -> Result<BTreeMap<String, KeyUse>, BackendError> {
        match self {
            Self::Local(b) => b.keys_last_used(ids).await,
            Self::Aws(b) => b.keys_last_used(ids).await,
        }
    }

    async fn credential_report(&self) -> Result<Option<CredentialReport>, BackendError> {
        match self {
            Self::Local(b) => b.credential_report().await,
            Self::Aws(b) => b.credential_report().await,
        }
    }

    async fn lock(&self, req: &LockRequest) -> Result<LockState, BackendError> {
        match self {
            Self::Local(b) => b.lock(req).await,
            Self::Aws(b) => b.lock(req).await,
        }
    }

    async fn lock_holder(&self, req: &LockRequest) -> Result<Option<String>, BackendError> {
        match self {
            Self::Local(b) => b.lock_holder(req).await,
            Self::Aws(b) => b.lock_holder(req).await,
        }
    }

    async fn unlock(&self, req: &LockRequest, force: bool) -> Result<(), BackendError> {
        match self {
            Self::Local(b) => b.unlock(req, force).await,
            Self::Aws(b) => b.unlock(req, force).await,
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

    fn pacing(&self) -> Option<Pacing> {
        match self {
            Self::Local(b) => b.pacing(),
            Self::Aws(b) => b.pacing(),
        }
    }
}
