//! AWS IAM through aws-config and aws-sdk-iam: SDK shapes converted to the model at this boundary.
//!
//! Reads cost the minimum the API allows: one paginated GetAccountAuthorizationDetails over the whole account, plus
//! ListAccessKeys only for users whose spec declares keys, plus per-user dependents only for prune candidates.
//! The SDK's own retries are off: reads are retried here, writes by the executor, both with one budget per call
//! ([`RetryPolicy`]), so one layer owns every retry and `--stats` counts every attempt. Every call, first try or
//! retry, waits its turn at a [`Pacer`], one for reads and one for writes, as IAM limits them apart.

use std::collections::BTreeMap;
use std::time::Duration;

use aws_config::meta::region::ProvideRegion;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region};
use aws_sdk_iam::types::{EntityType, Tag};
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextMut;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;

use super::bounded::Pages;
use super::{
    Backend, BackendError, CallStats, Caller, ErrorKind, LockRequest, LockState, Outcome, ReadScope,
};
use crate::effects::{Effects, RetryPolicy};
use crate::model::{AccessKey, Account, Dependents};
use crate::pacing::{Pacer, PacingConfig};
use crate::plan::Op;
use crate::policy::PolicyDocument;

mod decode;
mod errors;
mod profile;
mod read;
mod write;

use errors::MapErrInto;
pub use profile::check_profile;

type BoxFuture<'a, T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send + 'a>>;

/// Per-user reads in flight at once.
const READ_CONCURRENCY: usize = 8;

/// The apply lock policy's document: a Deny of something that does not exist, harmless if anyone attached it.
const LOCK_DOCUMENT: &str = r#"{"Version":"2012-10-17","Statement":[{"Sid":"IamspecApplyLock","Effect":"Deny","Action":"s3:GetObject","Resource":"arn:aws:s3:::iamspec-lock-placeholder/*"}]}"#;

/// How to reach AWS.
#[derive(Debug, Clone, Default)]
pub struct AwsOptions {
    /// A profile from the shared config/credentials files.
    pub profile: Option<String>,
    /// The region (IAM is global; default us-east-1).
    pub region: Option<String>,
    /// An endpoint URL (moto, LocalStack); AWS_ENDPOINT_URL(_IAM) are honoured too.
    pub endpoint_url: Option<String>,
    /// Items per GetAccountAuthorizationDetails page (IAM's maximum, 1000, unless testing).
    pub page_size: Option<i32>,
    /// How calls are paced once IAM throttles.
    pub pacing: PacingConfig,
    /// A role to assume (in another account) for every call; the caller's credentials only call STS.
    pub assume: Option<Assume>,
}

/// A role assumed for a run in one account of many.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assume {
    /// The role's ARN.
    pub role_arn: String,
    /// The external id its trust policy asks for.
    pub external_id: Option<String>,
    /// The session name, seen in CloudTrail (`iamspec-<owner>`).
    pub session_name: String,
}

/// An account of the caller's organization, as ListAccounts gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrgAccount {
    /// The 12-digit id.
    pub id: String,
    /// Its name: outside text, shown escaped.
    pub name: String,
    /// ACTIVE (neither suspended nor closing).
    pub active: bool,
}

/// At most this many accounts are read from an organization (AWS's quota can be raised to a few thousand).
const MAX_ORG_ACCOUNTS: usize = 20_000;

/// Which of IAM's rate limits a call counts against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    Read,
    Write,
}

/// IAM (and STS for the account id) over the AWS SDK.
pub struct AwsBackend {
    iam: aws_sdk_iam::Client,
    sts: aws_sdk_sts::Client,
    organizations: aws_sdk_organizations::Client,
    /// The role every call goes through, if any: named when it cannot be assumed.
    assume: Option<Assume>,
    stats: super::CallCounter,
    page_size: i32,
    retry: RetryPolicy,
    effects: Effects,
    reads: Pacer,
    writes: Pacer,
    /// Whether IAM or STS has answered once: until then a refused connection is a wrong or dead endpoint, not a
    /// blip worth the retry budget.
    reached: std::sync::atomic::AtomicBool,
}

/// Appends `iamspec/<version>` to the user agent so changes can be traced in CloudTrail.
#[derive(Debug)]
struct UserAgentSuffix;

impl Intercept for UserAgentSuffix {
    fn name(&self) -> &'static str {
        "iamspec user agent"
    }

    fn modify_before_transmit(
        &self,
        context: &mut BeforeTransmitInterceptorContextMut<'_>,
        _rc: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let headers = context.request_mut().headers_mut();
        let ua = headers.get("user-agent").unwrap_or_default().to_owned();
        headers.insert(
            "user-agent",
            format!("{ua} iamspec/{}", env!("CARGO_PKG_VERSION"))
                .trim()
                .to_owned(),
        );
        Ok(())
    }
}

fn seconds(dt: Option<&aws_smithy_types::DateTime>) -> i64 {
    dt.map_or(0, aws_smithy_types::DateTime::secs)
}

impl AwsBackend {
    /// Loads the AWS configuration (default chain, profile, region, endpoint) and builds the clients.
    pub async fn connect(opts: &AwsOptions, effects: Effects) -> Self {
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .retry_config(RetryConfig::disabled())
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(Duration::from_secs(3))
                    .operation_attempt_timeout(RetryPolicy::default().attempt_timeout)
                    .build(),
            );
        if let Some(profile) = &opts.profile {
            loader = loader.profile_name(profile);
        }
        if let Some(url) = &opts.endpoint_url {
            loader = loader.endpoint_url(url);
        }
        // Region from the flag, the environment or the profile; never IMDS (IAM is global, and a lookup there
        // costs seconds off EC2).
        let region = match opts.region.clone() {
            Some(r) => Some(Region::new(r)),
            None => {
                let env = aws_config::environment::region::EnvironmentVariableRegionProvider::new();
                match env.region().await {
                    Some(r) => Some(r),
                    None => {
                        let mut profile = aws_config::profile::ProfileFileRegionProvider::builder();
                        if let Some(name) = &opts.profile {
                            profile = profile.profile_name(name);
                        }
                        ProvideRegion::region(&profile.build()).await
                    }
                }
            }
        };
        loader = loader.region(region.unwrap_or_else(|| Region::new("us-east-1")));
        let mut sdk = loader.load().await;
        if let Some(assume) = &opts.assume {
            // The SDK's provider: assumed on the first call (the account pin), refreshed before it expires, so an
            // apply longer than the session still signs. Its STS calls use the caller's credentials.
            let mut provider = aws_config::sts::AssumeRoleProvider::builder(&assume.role_arn)
                .session_name(&assume.session_name)
                .configure(&sdk);
            if let Some(id) = &assume.external_id {
                provider = provider.external_id(id);
            }
            let provider = provider.build().await;
            sdk = sdk
                .into_builder()
                .credentials_provider(aws_sdk_iam::config::SharedCredentialsProvider::new(
                    provider,
                ))
                .build();
        }
        let iam = aws_sdk_iam::Client::from_conf(
            aws_sdk_iam::config::Builder::from(&sdk)
                .interceptor(UserAgentSuffix)
                .interceptor(super::bounded::BoundedResponses::default())
                .build(),
        );
        let sts = aws_sdk_sts::Client::from_conf(
            aws_sdk_sts::config::Builder::from(&sdk)
                .interceptor(UserAgentSuffix)
                .interceptor(super::bounded::BoundedResponses::default())
                .build(),
        );
        let organizations = aws_sdk_organizations::Client::from_conf(
            aws_sdk_organizations::config::Builder::from(&sdk)
                .interceptor(UserAgentSuffix)
                // A page is at most 20 accounts of a few hundred bytes.
                .interceptor(super::bounded::BoundedResponses::json(1 << 20))
                .build(),
        );
        Self {
            iam,
            sts,
            organizations,
            assume: opts.assume.clone(),
            stats: super::CallCounter::default(),
            page_size: opts.page_size.unwrap_or(1000).clamp(1, 1000),
            retry: RetryPolicy::default(),
            reads: Pacer::new(opts.pacing, effects.clone()),
            writes: Pacer::new(opts.pacing, effects.clone()),
            effects,
            reached: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// The first call's credentials error, when a role is assumed, is the role refusing: said so, with the STS
    /// error that came back (AccessDenied for a role that is missing or does not trust the caller).
    fn unassumable(&self, mut e: BackendError) -> BackendError {
        if let (Some(assume), ErrorKind::Credentials) = (&self.assume, e.kind) {
            let cause = errors::innermost_of(&e);
            e.message = format!("could not assume role {}: {cause}", assume.role_arn);
            e.hint = Some(
                "check that the role exists in that account, that its trust policy lets the caller assume it \
                 (`iamspec self-policy --trust CALLER_ARN` prints one), and the external id"
                    .into(),
            );
        }
        e
    }

    /// Every account of the caller's organization (Organizations ListAccounts, paginated and bounded).
    ///
    /// # Errors
    /// The call's (AccessDenied outside the management or a delegated administrator account,
    /// AWSOrganizationsNotInUse), or more than [`MAX_ORG_ACCOUNTS`] accounts.
    pub async fn organization_accounts(&self) -> Result<Vec<OrgAccount>, BackendError> {
        use aws_sdk_organizations::types::{AccountState, AccountStatus};
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        let mut pages = Pages::new("ListAccounts");
        loop {
            let t = token.clone();
            let page = self
                .retrying(Class::Read, "ListAccounts", "", || {
                    self.organizations
                        .list_accounts()
                        .set_next_token(t.clone())
                        .send()
                        .map_err_into("ListAccounts", "")
                })
                .await?;
            for a in page.accounts() {
                let Some(id) = a.id() else { continue };
                let active = match (a.state(), a.status()) {
                    (Some(state), _) => *state == AccountState::Active,
                    #[allow(deprecated)]
                    (None, Some(status)) => *status == AccountStatus::Active,
                    (None, None) => false,
                };
                out.push(OrgAccount {
                    id: id.to_owned(),
                    name: a.name().unwrap_or_default().to_owned(),
                    active,
                });
            }
            if out.len() > MAX_ORG_ACCOUNTS {
                return Err(BackendError::new(
                    ErrorKind::BadResponse,
                    "ListAccounts",
                    format!("the organization lists more than {MAX_ORG_ACCOUNTS} accounts"),
                ));
            }
            let next = page.next_token();
            match pages.next(next.is_some(), next, page.accounts().len())? {
                Some(next) => token = Some(next),
                None => return Ok(out),
            }
        }
    }

    /// Runs `read` for each name, a few at once: per-user reads are bound by latency, and the pacer keeps them
    /// within IAM's rate whatever the concurrency.
    async fn per_user<'a, T: Send + 'a>(
        &'a self,
        names: &'a [String],
        read: impl Fn(&'a str) -> BoxFuture<'a, Result<T, BackendError>>,
    ) -> Result<BTreeMap<String, T>, BackendError> {
        use futures_util::stream::{StreamExt, TryStreamExt};
        // Boxed futures: with a closure over borrowed names, the compiler cannot prove the stream Send otherwise.
        let reads: Vec<BoxFuture<'a, Result<(String, T), BackendError>>> = names
            .iter()
            .map(|name| {
                let fut = read(name);
                Box::pin(async move { fut.await.map(|v| (name.clone(), v)) }) as BoxFuture<'a, _>
            })
            .collect();
        futures_util::stream::iter(reads)
            .buffer_unordered(READ_CONCURRENCY)
            .try_collect()
            .await
    }

    /// Sends one call once: waits its turn at the pacer of its class, counts it, and tells the pacer how it went.
    async fn once<T, Fut>(
        &self,
        class: Class,
        op: &str,
        target: &str,
        call: Fut,
    ) -> Result<T, BackendError>
    where
        Fut: std::future::Future<Output = Result<T, BackendError>>,
    {
        let pacer = match class {
            Class::Read => &self.reads,
            Class::Write => &self.writes,
        };
        let ticket = pacer.acquire().await;
        self.stats.count(op);
        let sent = self.effects.elapsed();
        let result = call.await;
        let latency = self.effects.elapsed().saturating_sub(sent);
        pacer.record(
            ticket,
            matches!(&result, Err(e) if e.kind == ErrorKind::Throttling),
        );
        let status = match &result {
            Ok(_) => "ok".to_owned(),
            Err(e) => format!("{:?}", e.kind),
        };
        // One line per call at -vv: never a body, only what was called, on what, and how it went.
        tracing::debug!(
            operation = op,
            target = %crate::display::Escaped(target),
            status,
            latency_ms = latency.as_millis(),
            "call"
        );
        match &result {
            Err(e)
                if matches!(
                    e.kind,
                    ErrorKind::Unreachable | ErrorKind::Transport | ErrorKind::Config
                ) => {}
            _ => self
                .reached
                .store(true, std::sync::atomic::Ordering::Relaxed),
        }
        result
    }

    /// Runs an idempotent call within one retry budget: reads, and the lock's own writes.
    async fn retrying<T, F, Fut>(
        &self,
        class: Class,
        op: &str,
        target: &str,
        mut call: F,
    ) -> Result<T, BackendError>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T, BackendError>>,
    {
        let started = self.effects.elapsed();
        let mut attempt = 0;
        loop {
            attempt += 1;
            match self.once(class, op, target, call()).await {
                Ok(v) => return Ok(v),
                Err(e)
                    if e.kind == ErrorKind::Unreachable
                        && !self.reached.load(std::sync::atomic::Ordering::Relaxed) =>
                {
                    return Err(e);
                }
                // A bare 500 is an emulator's answer, either for a call it lacks (it will say so again) or for a
                // request that crashed mid-way (moto reading the account while other requests write to it). A read
                // is idempotent, so it gets a few quick tries before the caller is told it is unsupported.
                Err(e) if e.is_retryable() || (e.kind == ErrorKind::Unsupported && attempt < 3) => {
                    let delay = self.effects.backoff(&self.retry, attempt);
                    // Past the budget an unreachable endpoint must fail, not hang: the caller is waiting.
                    let allowed = if e.kind == ErrorKind::Throttling {
                        self.retry.allows_after_throttling(attempt)
                    } else {
                        self.retry
                            .allows(attempt, self.effects.elapsed() - started, delay)
                    };
                    if !allowed {
                        return Err(e);
                    }
                    tracing::debug!(operation = op, attempt, ?delay, error = %crate::display::Escaped(&e.to_string()), "retrying");
                    self.effects.sleep(delay).await;
                }
                Err(e) => return Err(e),
            }
        }
    }
}

fn tags_of(tags: &std::collections::BTreeMap<String, String>) -> Vec<Tag> {
    tags.iter()
        .filter_map(|(k, v)| Tag::builder().key(k).value(v).build().ok())
        .collect()
}

impl Backend for AwsBackend {
    async fn role_sessions(&self, names: &[String]) -> Result<BTreeMap<String, u32>, BackendError> {
        let found = self
            .per_user(names, |name| {
                Box::pin(async move {
                    let out = self
                        .retrying(Class::Read, "GetRole", name, || {
                            self.iam
                                .get_role()
                                .role_name(name)
                                .send()
                                .map_err_into("GetRole", name)
                        })
                        .await?;
                    Ok(out
                        .role()
                        .and_then(|r| r.max_session_duration())
                        .and_then(|s| u32::try_from(s).ok()))
                })
            })
            .await?;
        Ok(found
            .into_iter()
            .filter_map(|(name, seconds)| seconds.map(|s| (name, s)))
            .collect())
    }

    async fn caller(&self) -> Result<Caller, BackendError> {
        let out = self
            .retrying(Class::Read, "GetCallerIdentity", "", || {
                self.sts
                    .get_caller_identity()
                    .send()
                    .map_err_into("GetCallerIdentity", "")
            })
            .await
            .map_err(|e| self.unassumable(e))?;
        let account_id = out.account().map(str::to_owned).ok_or_else(|| {
            BackendError::new(
                ErrorKind::Other,
                "GetCallerIdentity",
                "the response has no account id",
            )
        })?;
        Ok(Caller {
            account_id,
            arn: out.arn().map(str::to_owned),
        })
    }

    async fn read(&self, scope: &ReadScope) -> Result<Account, BackendError> {
        let mut account = Account::default();
        let mut marker: Option<String> = None;
        let mut pages = Pages::new("GetAccountAuthorizationDetails");
        loop {
            let m = marker.clone();
            let page = self
                .retrying(Class::Read, "GetAccountAuthorizationDetails", "", || {
                    self.iam
                        .get_account_authorization_details()
                        .set_filter(Some(decode::entity_types()))
                        .max_items(self.page_size)
                        .set_marker(m.clone())
                        .send()
                        .map_err_into("GetAccountAuthorizationDetails", "")
                })
                .await?;
            let items = decode::add_page(&mut account, &page)?;
            match pages.next(page.is_truncated(), page.marker(), items)? {
                Some(next) => marker = Some(next),
                None => break,
            }
        }
        let key_users: Vec<String> = account
            .users
            .values()
            .filter(|u| scope.key_users.contains(&u.name.to_ascii_lowercase()))
            .map(|u| u.name.clone())
            .collect();
        let listed = self
            .per_user(&key_users, |name| Box::pin(self.list_keys(name)))
            .await?;
        for (name, keys) in listed {
            if let Some(u) = account.users.get_mut(&name) {
                u.access_keys = keys;
            }
        }
        Ok(account)
    }

    async fn read_dependents(
        &self,
        users: &[String],
    ) -> Result<BTreeMap<String, (Vec<AccessKey>, Dependents)>, BackendError> {
        self.per_user(users, |user| {
            Box::pin(async move { Ok((self.list_keys(user).await?, self.dependents(user).await?)) })
        })
        .await
    }

    async fn read_policy_tags(
        &self,
        arns: &[String],
    ) -> Result<BTreeMap<String, BTreeMap<String, String>>, BackendError> {
        let mut out = BTreeMap::new();
        for arn in arns {
            let mut tags = BTreeMap::new();
            let mut marker: Option<String> = None;
            let mut pages = Pages::new("ListPolicyTags");
            let found = loop {
                let m = marker.clone();
                let page = self
                    .retrying(Class::Read, "ListPolicyTags", arn, || {
                        self.iam
                            .list_policy_tags()
                            .policy_arn(arn)
                            .set_marker(m.clone())
                            .send()
                            .map_err_into("ListPolicyTags", arn)
                    })
                    .await;
                let page = match page {
                    Ok(page) => page,
                    Err(e) if e.kind == ErrorKind::NoSuchEntity => break false,
                    Err(e) => return Err(e),
                };
                tags.extend(
                    page.tags()
                        .iter()
                        .map(|t| (t.key().to_owned(), t.value().to_owned())),
                );
                match pages.next(page.is_truncated(), page.marker(), page.tags().len())? {
                    Some(next) => marker = Some(next),
                    None => break true,
                }
            };
            if found {
                out.insert(arn.clone(), tags);
            }
        }
        Ok(out)
    }

    async fn policy_description(&self, arn: &str) -> Result<Option<String>, BackendError> {
        let got = self
            .retrying(Class::Read, "GetPolicy", arn, || {
                self.iam
                    .get_policy()
                    .policy_arn(arn)
                    .send()
                    .map_err_into("GetPolicy", arn)
            })
            .await;
        match got {
            Ok(out) => Ok(Some(
                out.policy()
                    .and_then(|p| p.description())
                    .unwrap_or_default()
                    .to_owned(),
            )),
            Err(e) if e.kind == ErrorKind::NoSuchEntity => Ok(None),
            Err(e) => Err(e),
        }
    }

    async fn policy_exists(&self, arn: &str) -> Result<Option<bool>, BackendError> {
        Ok(Some(self.policy_description(arn).await?.is_some()))
    }

    async fn read_groups(&self) -> Result<BTreeMap<String, crate::model::Group>, BackendError> {
        let mut groups = BTreeMap::new();
        let mut marker: Option<String> = None;
        let mut pages = Pages::new("GetAccountAuthorizationDetails");
        loop {
            let m = marker.clone();
            let page = self
                .retrying(Class::Read, "GetAccountAuthorizationDetails", "", || {
                    self.iam
                        .get_account_authorization_details()
                        .filter(EntityType::Group)
                        .max_items(self.page_size)
                        .set_marker(m.clone())
                        .send()
                        .map_err_into("GetAccountAuthorizationDetails", "")
                })
                .await?;
            for g in page.group_detail_list() {
                let group = decode::group_of(g)?;
                groups.insert(group.name.clone(), group);
            }
            match pages.next(
                page.is_truncated(),
                page.marker(),
                page.group_detail_list().len(),
            )? {
                Some(next) => marker = Some(next),
                None => return Ok(groups),
            }
        }
    }

    async fn policy_documents(
        &self,
        arns: &[String],
    ) -> Result<BTreeMap<String, PolicyDocument>, BackendError> {
        let mut out = BTreeMap::new();
        for arn in arns {
            let policy = self
                .retrying(Class::Read, "GetPolicy", arn, || {
                    self.iam
                        .get_policy()
                        .policy_arn(arn)
                        .send()
                        .map_err_into("GetPolicy", arn)
                })
                .await;
            let version = match policy {
                Ok(out) => out
                    .policy()
                    .and_then(|p| p.default_version_id())
                    .map(str::to_owned),
                Err(e) if e.kind == ErrorKind::NoSuchEntity => None,
                Err(e) => return Err(e),
            };
            let Some(version) = version else { continue };
            let got = self
                .retrying(Class::Read, "GetPolicyVersion", arn, || {
                    self.iam
                        .get_policy_version()
                        .policy_arn(arn)
                        .version_id(&version)
                        .send()
                        .map_err_into("GetPolicyVersion", arn)
                })
                .await?;
            if let Some(doc) = got.policy_version().and_then(|v| v.document()) {
                out.insert(arn.clone(), decode::decode_policy(arn, &version, doc)?);
            }
        }
        Ok(out)
    }

    async fn list_access_keys(&self, user: &str) -> Result<Vec<AccessKey>, BackendError> {
        self.list_keys(user).await
    }

    async fn list_keys_of(
        &self,
        users: &[String],
    ) -> Result<BTreeMap<String, Vec<AccessKey>>, BackendError> {
        let listed = self
            .per_user(users, |name| {
                Box::pin(async move {
                    match self.list_keys(name).await {
                        Ok(keys) => Ok(Some(keys)),
                        // Gone since the account read: it has no keys to plan.
                        Err(e) if e.kind == ErrorKind::NoSuchEntity => Ok(None),
                        Err(e) => Err(e),
                    }
                })
            })
            .await?;
        Ok(listed
            .into_iter()
            .filter_map(|(name, keys)| keys.map(|k| (name, k)))
            .collect())
    }

    async fn keys_last_used(
        &self,
        ids: &[String],
    ) -> Result<BTreeMap<String, crate::model::KeyUse>, BackendError> {
        let uses = self
            .per_user(ids, |id| Box::pin(self.key_last_used(id)))
            .await?;
        Ok(uses
            .into_iter()
            .filter_map(|(id, used)| used.map(|u| (id, u)))
            .collect())
    }

    async fn credential_report(
        &self,
    ) -> Result<Option<crate::credential_report::CredentialReport>, BackendError> {
        self.read_credential_report().await
    }

    async fn lock(&self, req: &LockRequest) -> Result<LockState, BackendError> {
        let owner = Tag::builder()
            .key(crate::model::OWNER_TAG)
            .value(&req.owner)
            .build()
            .map_err(|e| BackendError::new(ErrorKind::Invalid, "CreatePolicy", e.to_string()))?;
        let started = self.effects.elapsed();
        let mut attempt = 0;
        loop {
            attempt += 1;
            let created = self
                .once(
                    Class::Write,
                    "CreatePolicy",
                    &req.name,
                    self.iam
                        .create_policy()
                        .policy_name(&req.name)
                        .path(&req.path)
                        .description(&req.holder)
                        .policy_document(LOCK_DOCUMENT)
                        .tags(owner.clone())
                        .send()
                        .map_err_into("CreatePolicy", &req.name),
                )
                .await;
            let error = match created {
                Ok(_) => return Ok(LockState::Acquired),
                Err(e) => e,
            };
            // CreatePolicy is not idempotent: after a lost response or a refusal, the holder text says whose it is.
            if error.kind == ErrorKind::AlreadyExists || error.ambiguous {
                match self.lock_holder(req).await? {
                    Some(h) if h == req.holder => return Ok(LockState::Acquired),
                    Some(h) => return Ok(LockState::HeldBy(h)),
                    None => {}
                }
            }
            // AlreadyExists with no holder: released between our two calls; try again.
            let transient = error.is_retryable() || error.kind == ErrorKind::AlreadyExists;
            let delay = self.effects.backoff(&self.retry, attempt);
            if !transient
                || !self
                    .retry
                    .allows(attempt, self.effects.elapsed() - started, delay)
            {
                return Err(error);
            }
            self.effects.sleep(delay).await;
        }
    }

    async fn lock_holder(&self, req: &LockRequest) -> Result<Option<String>, BackendError> {
        self.policy_description(&req.arn).await
    }

    async fn unlock(&self, req: &LockRequest, force: bool) -> Result<(), BackendError> {
        match self.lock_holder(req).await? {
            None => Ok(()),
            Some(h) if force || h == req.holder => {
                if h != req.holder {
                    // Another run's lock: only one this owner's runs made, never a policy of that name made by
                    // hand or by another owner.
                    let tags = self
                        .read_policy_tags(std::slice::from_ref(&req.arn))
                        .await?;
                    let owner = tags
                        .get(&req.arn)
                        .and_then(|t| t.get(crate::model::OWNER_TAG));
                    if owner != Some(&req.owner) || !super::is_lock_holder(&h) {
                        return Err(super::not_a_lock(req, owner.map(String::as_str), &h));
                    }
                }
                let deleted = self
                    .retrying(Class::Write, "DeletePolicy", &req.arn, || {
                        self.iam
                            .delete_policy()
                            .policy_arn(&req.arn)
                            .send()
                            .map_err_into("DeletePolicy", &req.name)
                    })
                    .await;
                match deleted {
                    Err(e) if e.kind != ErrorKind::NoSuchEntity => Err(e),
                    _ => Ok(()),
                }
            }
            Some(h) => Err(BackendError::new(
                ErrorKind::Other,
                "DeletePolicy",
                format!("the lock is held by another run now: {h}"),
            )
            .on(&req.name)),
        }
    }

    async fn execute(&self, op: &Op) -> Result<Outcome, BackendError> {
        if let Op::DeletePolicy {
            policy_arn,
            versions,
            ..
        } = op
        {
            // DeletePolicy refuses while other versions exist.
            for version in versions {
                let deleted = self
                    .once(
                        Class::Write,
                        "DeletePolicyVersion",
                        policy_arn,
                        self.iam
                            .delete_policy_version()
                            .policy_arn(policy_arn)
                            .version_id(version)
                            .send()
                            .map_err_into("DeletePolicyVersion", op.target_name()),
                    )
                    .await;
                match deleted {
                    Err(e) if e.kind != ErrorKind::NoSuchEntity => return Err(e),
                    _ => {}
                }
            }
        }
        if let Op::DeleteGroup { group } = op {
            // The marker is the group's last policy, and DeleteGroup refuses while it exists.
            let removed = self
                .once(
                    Class::Write,
                    "DeleteGroupPolicy",
                    group,
                    self.iam
                        .delete_group_policy()
                        .group_name(group)
                        .policy_name(crate::model::GROUP_OWNER_POLICY)
                        .send()
                        .map_err_into("DeleteGroupPolicy", group),
                )
                .await;
            match removed {
                Err(e) if e.kind != ErrorKind::NoSuchEntity => return Err(e),
                _ => {}
            }
        }
        if let Op::DeleteRole {
            role,
            instance_profiles,
        } = op
        {
            // DeleteRole refuses while an instance profile holds the role.
            for profile in instance_profiles {
                let removed = self
                    .once(
                        Class::Write,
                        "RemoveRoleFromInstanceProfile",
                        role,
                        self.iam
                            .remove_role_from_instance_profile()
                            .role_name(role)
                            .instance_profile_name(profile)
                            .send()
                            .map_err_into("RemoveRoleFromInstanceProfile", role),
                    )
                    .await;
                match removed {
                    Err(e) if e.kind != ErrorKind::NoSuchEntity => return Err(e),
                    _ => {}
                }
            }
        }
        self.once(Class::Write, op.api_name(), op.target_name(), self.send(op))
            .await
    }

    fn stats(&self) -> CallStats {
        self.stats.snapshot()
    }

    fn pacing(&self) -> Option<super::Pacing> {
        Some(super::Pacing {
            reads: self.reads.stats(),
            writes: self.writes.stats(),
        })
    }
}
