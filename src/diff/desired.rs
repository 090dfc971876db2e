//! The desired side: what the account should hold for one spec user, as the user diff compares it.

use std::collections::BTreeSet;

use crate::model::{User, OWNER_TAG};
use crate::policy::PolicyDocument;
use crate::spec::{KeyPolicy, Spec, SpecUser};

/// Everything the diff of one user needs from the spec: the desired model user and the rules to compare it by.
#[derive(Debug, Clone)]
pub struct DesiredUser<'a> {
    /// What the account should hold: tags (owner tag included, iamspec's bookkeeping tags not: they follow the
    /// live keys), raw inline policies, attachments, groups, boundary. Without the grants policy, which is
    /// compared by reference and cloned only when sent.
    pub user: User,
    /// The rendered grants, if the user has any.
    pub grants: Option<PolicyDocument>,
    /// The inline policy the grants go to.
    pub grants_policy_name: &'a str,
    /// Tag keys left alone on the live user.
    pub ignore_tags: &'a BTreeSet<String>,
    /// The account's quota of attached managed policies per user.
    pub max_attached: usize,
    /// The access key policy, when the spec declares keys.
    pub access_keys: Option<KeyPolicy>,
}

impl<'a> DesiredUser<'a> {
    /// The desired user for `su`; `account` gives the ARNs of the spec's shared policies (default: the spec's
    /// `account_id`).
    #[must_use]
    pub fn new(spec: &'a Spec, su: &'a SpecUser, account: Option<&str>) -> Self {
        let mut user = User::new(su.name.clone(), spec.path.clone());
        user.tags = su.tags.clone();
        user.tags.insert(OWNER_TAG.to_owned(), spec.owner.clone());
        user.inline_policies = su.raw_policies.clone();
        user.attached_policies = su.managed_policies.clone();
        user.attached_policies
            .extend(su.policies.iter().map(|p| policy_arn(spec, account, p)));
        user.groups = su.groups.clone();
        user.permissions_boundary =
            boundary_arn(spec, account).or_else(|| su.permissions_boundary.clone());
        Self {
            user,
            grants: su.grants_policy(),
            grants_policy_name: &su.grants_policy_name,
            ignore_tags: &spec.ignore_tags,
            max_attached: spec.max_attached,
            access_keys: su.access_keys,
        }
    }

    /// The user name.
    #[must_use]
    pub fn name(&self) -> &str {
        &self.user.name
    }

    /// Whether `policy` is the inline policy the grants render into (and the user has grants).
    #[must_use]
    pub fn is_grants_policy(&self, policy: &str) -> bool {
        self.grants.is_some() && policy == self.grants_policy_name
    }
}

/// The desired model user for a spec user, grants policy included: what the account holds after a clean apply
/// (bookkeeping tags aside).
#[must_use]
pub fn desired_user(spec: &Spec, su: &SpecUser) -> User {
    let want = DesiredUser::new(spec, su, None);
    let mut user = want.user;
    if let Some(doc) = want.grants {
        user.inline_policies
            .insert(want.grants_policy_name.to_owned(), doc);
    }
    user
}

/// The ARN a shared policy of the spec has (or will have).
#[must_use]
pub fn policy_arn(spec: &Spec, account: Option<&str>, name: &str) -> String {
    let account = account
        .or(spec.account_id.as_deref())
        .unwrap_or("000000000000");
    format!("arn:aws:iam::{account}:policy{}{name}", spec.path)
}

/// The boundary every principal carries under `delegate: true` (none otherwise).
#[must_use]
pub fn boundary_arn(spec: &Spec, account: Option<&str>) -> Option<String> {
    spec.delegate
        .then(|| policy_arn(spec, account, &crate::names::boundary_policy(&spec.owner)))
}

/// Users whose access keys the plan needs: spec users that declare keys (lower-cased).
#[must_use]
pub fn key_users(spec: &Spec) -> BTreeSet<String> {
    spec.users
        .iter()
        .filter(|u| u.access_keys.is_some())
        .map(|u| u.name.to_ascii_lowercase())
        .collect()
}
