//! `iamspec self-policy` allows every call a full run makes, conditions included: a recording backend over the
//! IAM emulator turns each backend call into the IAM requests it is (action, resource ARN, and the context IAM
//! evaluates: request tags, the target's tags at that moment, the attached policy's ARN, the boundary), and the
//! evaluator decides each one under the self-policy. A call it does not allow fails the test, naming it.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;

use iamspec::authz::{evaluate, Context, Decision, Policies, Request};
use iamspec::backend::local::LocalAccount;
use iamspec::backend::{
    Backend, BackendError, CallStats, LockRequest, LockState, NewAccessKey, Outcome, ReadScope,
};
use iamspec::credential_report::CredentialReport;
use iamspec::effects::Effects;
use iamspec::engine::read::KeyRead;
use iamspec::engine::{self, ApplyOptions, KeySink, Limits};
use iamspec::model::{AccessKey, Account, Dependents, Group, KeyUse, OWNER_TAG};
use iamspec::plan::{Op, Resource, Target, TargetKind};
use iamspec::policy::PolicyDocument;

const ACCOUNT: &str = "123456789012";

struct Audited {
    account: Mutex<LocalAccount>,
    policy: Mutex<Option<PolicyDocument>>,
    denied: Mutex<Vec<String>>,
    seen: Mutex<BTreeSet<String>>,
    /// The kinds of objects created and deleted (`true`) so far.
    lifecycle: Mutex<BTreeSet<(TargetKind, bool)>>,
}

/// Context keys with their values.
type ContextKeys = Vec<(String, Vec<String>)>;

/// One IAM request: its action, resource, and context keys with values.
struct Call {
    action: String,
    resource: String,
    context: Vec<(String, Vec<String>)>,
}

impl Audited {
    fn new(account: LocalAccount) -> Self {
        Self {
            account: Mutex::new(account),
            policy: Mutex::new(None),
            denied: Mutex::new(Vec::new()),
            seen: Mutex::new(BTreeSet::new()),
            lifecycle: Mutex::new(BTreeSet::new()),
        }
    }

    /// `iam:PermissionsBoundary` as IAM sends it for `action` on a principal carrying `current`: the boundary in
    /// the request where the call sets one, the principal's where IAM sends that, nothing elsewhere.
    fn boundary_key(
        action: &str,
        current: Option<String>,
        requested: Option<&str>,
    ) -> Vec<(String, Vec<String>)> {
        if !iamspec::selfpolicy::BOUNDARY_KEYED_ACTIONS.contains(&action) {
            return Vec::new();
        }
        let setting = action.starts_with("iam:Create")
            || action.starts_with("iam:Put") && action.ends_with("PermissionsBoundary");
        let value = if setting {
            requested.map(str::to_owned)
        } else {
            current
        };
        value
            .map(|b| vec![("iam:PermissionsBoundary".to_owned(), vec![b])])
            .unwrap_or_default()
    }

    fn policy_tags(&self, arn: &str) -> Vec<(String, Vec<String>)> {
        let acct = self.account.lock().unwrap();
        acct.policy_tags(arn)
            .unwrap_or_default()
            .into_iter()
            .map(|(k, v)| (format!("aws:ResourceTag/{k}"), vec![v]))
            .collect()
    }

    fn request_tags(tags: &BTreeMap<String, String>) -> Vec<(String, Vec<String>)> {
        let mut out: Vec<(String, Vec<String>)> = tags
            .iter()
            .map(|(k, v)| (format!("aws:RequestTag/{k}"), vec![v.clone()]))
            .collect();
        out.push(("aws:TagKeys".into(), tags.keys().cloned().collect()));
        out
    }

    fn check(&self, calls: Vec<Call>) {
        let policy = self.policy.lock().unwrap().clone();
        let Some(policy) = policy else { return };
        for call in calls {
            let mut ctx = Context::new();
            for (k, v) in &call.context {
                let v: Vec<&str> = v.iter().map(String::as_str).collect();
                ctx = ctx.with(k, &v);
            }
            // Keys a request does not carry are absent, not unknown: the call is fully described here.
            for key in [
                "aws:RequestTag/iamspec:owner",
                "iam:ResourceTag/iamspec:owner",
                "aws:ResourceTag/iamspec:owner",
                "iam:PolicyARN",
                "iam:PermissionsBoundary",
                "aws:TagKeys",
            ] {
                if !call.context.iter().any(|(k, _)| k == key) {
                    ctx = ctx.without(key);
                }
            }
            let decision = evaluate(
                &Request {
                    action: &call.action,
                    resource: &call.resource,
                    context: &ctx,
                },
                &Policies {
                    known: vec![("self-policy".into(), &policy)],
                    ..Policies::default()
                },
            );
            self.seen.lock().unwrap().insert(call.action.clone());
            if !matches!(decision, Decision::Allowed(_)) {
                self.denied.lock().unwrap().push(format!(
                    "{} on {} ({:?}): {decision:?}",
                    call.action, call.resource, call.context
                ));
            }
        }
    }

    /// The IAM requests an operation is, as the core states them ([`Op::requests`]), each with its resource's
    /// ARN and the context IAM evaluates: the tags the request sets, the attached policy, the boundary, and the
    /// resource's tags and boundary as they are now. Nothing here is per kind but the ARN's resource type.
    fn calls_of(&self, op: &Op) -> Vec<Call> {
        let target = op.target();
        op.requests()
            .into_iter()
            .map(|r| {
                let action = format!("iam:{}", r.action);
                let (resource, mut context, current) = match r.resource {
                    Resource::Target => self.existing(&target),
                    Resource::New { path } => (
                        Self::arn(target.kind(), path, target.name()),
                        Vec::new(),
                        None,
                    ),
                    Resource::Policy(arn) => (arn.to_owned(), self.policy_tags(arn), None),
                    Resource::Group(group) => self.existing(&Target::Group(group.to_owned())),
                    Resource::InstanceProfile(p) => (
                        format!("arn:aws:iam::{ACCOUNT}:instance-profile/{p}"),
                        Vec::new(),
                        None,
                    ),
                };
                if let Some(tags) = r.tags {
                    context.extend(Self::request_tags(tags));
                }
                if let Some(policy) = r.policy {
                    context.push(("iam:PolicyARN".into(), vec![policy.arn().to_owned()]));
                }
                context.extend(Self::boundary_key(&action, current, r.boundary));
                Call {
                    action,
                    resource,
                    context,
                }
            })
            .collect()
    }

    fn arn(kind: TargetKind, path: &str, name: &str) -> String {
        let kind = match kind {
            TargetKind::User => "user",
            TargetKind::Role => "role",
            TargetKind::Group => "group",
            TargetKind::Policy => "policy",
        };
        format!("arn:aws:iam::{ACCOUNT}:{kind}{path}{name}")
    }

    /// An existing object's ARN (with the path it has now), its tags as resource-tag keys and its boundary.
    fn existing(&self, target: &Target) -> (String, ContextKeys, Option<String>) {
        let acct = self.account.lock().unwrap();
        let both = |tags: Vec<(&String, &String)>| -> Vec<(String, Vec<String>)> {
            tags.into_iter()
                .flat_map(|(k, v)| {
                    [
                        (format!("iam:ResourceTag/{k}"), vec![v.clone()]),
                        (format!("aws:ResourceTag/{k}"), vec![v.clone()]),
                    ]
                })
                .collect()
        };
        let name = target.name();
        let (path, tags, boundary) = match target {
            Target::User(_) => acct
                .users
                .values()
                .find(|u| u.name.eq_ignore_ascii_case(name))
                .map(|u| {
                    (
                        u.path.clone(),
                        both(u.tags.iter().collect()),
                        u.permissions_boundary.clone(),
                    )
                }),
            Target::Role(_) => acct
                .roles
                .values()
                .find(|r| r.name.eq_ignore_ascii_case(name))
                .map(|r| {
                    (
                        r.path.clone(),
                        both(r.tags.iter().collect()),
                        r.permissions_boundary.clone(),
                    )
                }),
            // Groups take no tags.
            Target::Group(_) => acct
                .managed_groups
                .values()
                .find(|g| g.name.eq_ignore_ascii_case(name))
                .map(|g| (g.path.clone(), Vec::new(), None)),
            Target::Policy(_) => acct
                .managed
                .values()
                .find(|p| p.name == name)
                .map(|p| (p.path.clone(), Vec::new(), None)),
        }
        .unwrap_or_else(|| ("/".to_owned(), Vec::new(), None));
        drop(acct);
        let arn = Self::arn(target.kind(), &path, name);
        let tags = match target {
            Target::Policy(_) => self.policy_tags(&arn),
            Target::User(_) | Target::Role(_) | Target::Group(_) => tags,
        };
        (arn, tags, boundary)
    }
}

impl Backend for Audited {
    async fn caller(&self) -> Result<iamspec::backend::Caller, BackendError> {
        Ok(iamspec::backend::Caller {
            account_id: ACCOUNT.into(),
            arn: None,
        })
    }
    async fn read(&self, scope: &ReadScope) -> Result<Account, BackendError> {
        let mut calls = vec![Call {
            action: "iam:GetAccountAuthorizationDetails".into(),
            resource: "*".into(),
            context: Vec::new(),
        }];
        let account = self.account.lock().unwrap().view(scope);
        for u in account.users.values() {
            if scope.key_users.contains(&u.name.to_ascii_lowercase()) {
                let mut c = self.calls_of(&Op::CreateAccessKey {
                    user: u.name.clone(),
                });
                c[0].action = "iam:ListAccessKeys".into();
                calls.extend(c);
            }
        }
        self.check(calls);
        Ok(account)
    }
    async fn read_dependents(
        &self,
        users: &[String],
    ) -> Result<BTreeMap<String, (Vec<AccessKey>, Dependents)>, BackendError> {
        for u in users {
            for action in [
                "ListAccessKeys",
                "GetLoginProfile",
                "ListMFADevices",
                "ListSigningCertificates",
                "ListSSHPublicKeys",
                "ListServiceSpecificCredentials",
            ] {
                let mut c = self.calls_of(&Op::DeleteUser { user: u.clone() });
                c[0].action = format!("iam:{action}");
                self.check(c);
            }
        }
        let acct = self.account.lock().unwrap();
        Ok(users
            .iter()
            .filter_map(|n| {
                acct.users.get(n).map(|u| {
                    (
                        n.clone(),
                        (
                            u.access_keys.clone(),
                            u.dependents.as_deref().cloned().unwrap_or_default(),
                        ),
                    )
                })
            })
            .collect())
    }
    async fn read_policy_tags(
        &self,
        arns: &[String],
    ) -> Result<BTreeMap<String, BTreeMap<String, String>>, BackendError> {
        self.check(
            arns.iter()
                .map(|a| Call {
                    action: "iam:ListPolicyTags".into(),
                    resource: a.clone(),
                    context: Vec::new(),
                })
                .collect(),
        );
        let acct = self.account.lock().unwrap();
        Ok(arns
            .iter()
            .filter_map(|a| acct.policy_tags(a).ok().map(|t| (a.clone(), t)))
            .collect())
    }
    async fn policy_exists(&self, arn: &str) -> Result<Option<bool>, BackendError> {
        self.check(vec![Call {
            action: "iam:GetPolicy".into(),
            resource: arn.into(),
            context: Vec::new(),
        }]);
        if arn.contains(":aws:policy/") {
            return Ok(None);
        }
        Ok(Some(self.policy_description(arn).await?.is_some()))
    }

    async fn policy_description(&self, arn: &str) -> Result<Option<String>, BackendError> {
        self.check(vec![Call {
            action: "iam:GetPolicy".into(),
            resource: arn.into(),
            context: Vec::new(),
        }]);
        let acct = self.account.lock().unwrap();
        Ok(acct
            .managed
            .values()
            .find(|p| p.arn == arn)
            .map(|p| p.description.clone().unwrap_or_default()))
    }
    async fn read_groups(&self) -> Result<BTreeMap<String, Group>, BackendError> {
        Ok(BTreeMap::new())
    }
    async fn policy_documents(
        &self,
        arns: &[String],
    ) -> Result<BTreeMap<String, PolicyDocument>, BackendError> {
        for arn in arns {
            self.check(
                ["iam:GetPolicy", "iam:GetPolicyVersion"]
                    .iter()
                    .map(|action| Call {
                        action: (*action).into(),
                        resource: arn.clone(),
                        context: Vec::new(),
                    })
                    .collect(),
            );
        }
        Ok(BTreeMap::new())
    }
    async fn list_access_keys(&self, user: &str) -> Result<Vec<AccessKey>, BackendError> {
        let mut c = self.calls_of(&Op::CreateAccessKey { user: user.into() });
        c[0].action = "iam:ListAccessKeys".into();
        self.check(c);
        let acct = self.account.lock().unwrap();
        Ok(acct
            .users
            .get(user)
            .map(|u| u.access_keys.clone())
            .unwrap_or_default())
    }
    async fn keys_last_used(
        &self,
        ids: &[String],
    ) -> Result<BTreeMap<String, KeyUse>, BackendError> {
        let owners: Vec<String> = {
            let acct = self.account.lock().unwrap();
            ids.iter()
                .filter_map(|id| {
                    acct.users
                        .values()
                        .find(|u| u.access_keys.iter().any(|k| &k.id == id))
                        .map(|u| u.name.clone())
                })
                .collect()
        };
        for user in owners {
            let mut c = self.calls_of(&Op::CreateAccessKey { user });
            c[0].action = "iam:GetAccessKeyLastUsed".into();
            self.check(c);
        }
        let acct = self.account.lock().unwrap();
        Ok(acct
            .users
            .values()
            .flat_map(|u| &u.access_keys)
            .filter(|k| ids.contains(&k.id))
            .map(|k| (k.id.clone(), k.last_used.unwrap_or(KeyUse::Never)))
            .collect())
    }
    async fn credential_report(&self) -> Result<Option<CredentialReport>, BackendError> {
        self.check(
            ["iam:GenerateCredentialReport", "iam:GetCredentialReport"]
                .iter()
                .map(|action| Call {
                    action: (*action).into(),
                    resource: "*".into(),
                    context: Vec::new(),
                })
                .collect(),
        );
        let csv = self.account.lock().unwrap().credential_report();
        Ok(Some(CredentialReport::parse(csv.as_bytes()).unwrap()))
    }
    async fn lock(&self, req: &LockRequest) -> Result<LockState, BackendError> {
        let op = Op::CreatePolicy {
            policy: req.name.clone(),
            path: req.path.clone(),
            description: Some(req.holder.clone()),
            document: PolicyDocument::parse(
                r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"s3:GetObject","Resource":"arn:aws:s3:::x/*"}]}"#,
            )
            .unwrap(),
            tags: BTreeMap::from([(OWNER_TAG.to_owned(), req.owner.clone())]),
        };
        self.execute(&op).await.map(|_| LockState::Acquired)
    }
    async fn lock_holder(&self, req: &LockRequest) -> Result<Option<String>, BackendError> {
        self.policy_description(&req.arn).await
    }
    async fn unlock(&self, req: &LockRequest, _: bool) -> Result<(), BackendError> {
        self.lock_holder(req).await?;
        let op = Op::DeletePolicy {
            policy: req.name.clone(),
            policy_arn: req.arn.clone(),
            versions: Vec::new(),
        };
        self.execute(&op).await.map(|_| ())
    }
    async fn execute(&self, op: &Op) -> Result<Outcome, BackendError> {
        if op.creates_target() || op.deletes_target() {
            self.lifecycle
                .lock()
                .unwrap()
                .insert((op.target_kind(), op.deletes_target()));
        }
        let calls = self.calls_of(op);
        self.check(calls);
        self.account.lock().unwrap().apply(op, 0, &mut rand::rng())
    }
    fn stats(&self) -> CallStats {
        CallStats::new()
    }
}

struct Keys;

impl KeySink for Keys {
    fn deliver(&self, key: &NewAccessKey) -> std::io::Result<String> {
        Ok(format!("memory:{}", key.id))
    }

    fn discard(&self, _user: &str, _key_id: &str) -> std::io::Result<Option<String>> {
        Ok(None)
    }
}

/// One apply of `text` under the lock, with the self-policy of that same spec.
async fn apply(backend: &Audited, text: &str) {
    let spec = iamspec::spec::load("s.yaml", text)
        .unwrap_or_else(|d| panic!("{}", d.to_plain()))
        .spec;
    *backend.policy.lock().unwrap() =
        Some(PolicyDocument::from_value(&iamspec::selfpolicy::policy(&spec).document).unwrap());
    let effects = Effects::instant(1_700_000_000);
    let req = engine::lock::request(&spec, ACCOUNT, "test holder");
    engine::lock::acquire(
        backend,
        &req,
        std::time::Duration::ZERO,
        &effects,
        &engine::Cancel::new(),
    )
    .await
    .unwrap();
    let p = engine::plan(backend, &spec, None, effects.now(), KeyRead::Report)
        .await
        .unwrap();
    let limits = Limits {
        max_deletes: 100,
        has_secrets_destination: true,
    };
    engine::preflight(&p.plan, &limits, &p.guard).unwrap();
    let opts = ApplyOptions {
        known_keys: engine::known_keys(&p.live),
        ..ApplyOptions::new(effects.clone())
    };
    let report = engine::apply(backend, &p.plan, &p.guard, &opts, &Keys, &|_| {}).await;
    assert!(report.is_success(), "{report:?}");
    engine::settle(backend, &spec, &p.plan, &p.opts, &effects)
        .await
        .unwrap();
    engine::lock::release(backend, &req).await.unwrap();
}

#[tokio::test]
async fn the_self_policy_allows_every_call_of_a_full_run_conditions_included() {
    let mut account = LocalAccount::new(ACCOUNT);
    account.groups.insert("readers".into());
    let mut rng = rand::rng();
    // A hand-made user the spec adopts, and a stray policy the spec will adopt too.
    account
        .apply(
            &Op::CreateUser {
                user: "legacy".into(),
                path: "/".into(),
                tags: BTreeMap::new(),
                permissions_boundary: None,
            },
            0,
            &mut rng,
        )
        .unwrap();
    // A hand-made role the spec adopts, in an instance profile (pruning takes it out).
    account
        .apply(
            &Op::CreateRole {
                role: "legacy-role".into(),
                path: "/".into(),
                trust: PolicyDocument::parse(
                    r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"sts:AssumeRole"}]}"#,
                )
                .unwrap(),
                max_session_seconds: 3600,
                tags: BTreeMap::from([("stray".to_owned(), "x".to_owned())]),
                permissions_boundary: None,
            },
            0,
            &mut rng,
        )
        .unwrap();
    account
        .roles
        .get_mut("legacy-role")
        .unwrap()
        .instance_profiles
        .push("ip".into());
    let backend = Audited::new(account);
    let groups = "groups:\n  writers:\n    grants: [{buckets: [b-five], access: write}]\n    managed_policies: [arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess]\n    policies: [shared-read]\n";
    let roles = "roles:\n  media:\n    trust: {account: \"232482882421\", external_id: ext-1}\n    grants: [{buckets: [b-one], access: read-write}]\n    managed_policies: [arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess]\n    policies: [shared-read]\n    permissions_boundary: arn:aws:iam::aws:policy/PowerUserAccess\n  legacy-role:\n    adopt: true\n    trust: {account: \"232482882421\", external_id: ext-2}\n";
    let full = format!(
        "version: 1\naccount_id: \"{ACCOUNT}\"\nowner: web\nprune: true\npolicies:\n  shared-read:\n    grants: [{{buckets: [b-two], access: read}}]\nusers:\n  keeper: {{}}\n  legacy:\n    adopt: true\n    grants: [{{buckets: [b-three], access: list}}]\n  busy:\n    tags: {{team: x}}\n    grants: [{{buckets: [b-one], access: read}}]\n    managed_policies: [arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess]\n    policies: [shared-read]\n    groups: [readers]\n    permissions_boundary: arn:aws:iam::aws:policy/PowerUserAccess\n    access_keys: {{count: 1}}\n  member:\n    groups: [writers]\n{roles}{groups}"
    );
    apply(&backend, &full).await;
    // A changed shared policy (a new version), changed roles (trust, session, grants, attachments), then prune of a
    // user with everything it holds, of the policy and of the roles.
    let changed = full
        .replace("b-two", "b-four")
        .replace("b-five], access: write}]\n    managed_policies: [arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess]", "b-five], access: read}]")
        .replace("ext-1", "ext-3")
        .replace("access: read-write}]\n    managed_policies: [arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess]", "access: read}]\n    max_session_hours: 2")
        // Boundaries added to principals that exist (new ones get theirs with CreateUser / CreateRole).
        .replace("  member:\n    groups: [writers]\n", "  member:\n    groups: [writers]\n    permissions_boundary: arn:aws:iam::aws:policy/PowerUserAccess\n")
        .replace("    adopt: true\n    trust: {account: \"232482882421\", external_id: ext-2}\n", "    adopt: true\n    trust: {account: \"232482882421\", external_id: ext-2}\n    permissions_boundary: arn:aws:iam::aws:policy/PowerUserAccess\n");
    apply(&backend, &changed).await;
    let pruned = format!(
        "version: 1\naccount_id: \"{ACCOUNT}\"\nowner: web\nprune: true\nusers:\n  keeper: {{}}\n  legacy:\n    adopt: true\n    grants: [{{buckets: [b-three], access: list}}]\n"
    );
    apply(&backend, &pruned).await;
    let denied = backend.denied.lock().unwrap().clone();
    assert!(
        denied.is_empty(),
        "the self-policy refuses:\n{}",
        denied.join("\n")
    );
    // Every kind is created and pruned in the full run, so a new kind's calls are proven here too.
    let lifecycle = backend.lifecycle.lock().unwrap().clone();
    for kind in TargetKind::ALL {
        for deleted in [false, true] {
            assert!(
                lifecycle.contains(&(kind, deleted)),
                "the full run {} no {}: add one so the self-policy is proven for its calls",
                if deleted { "deletes" } else { "creates" },
                kind.noun()
            );
        }
    }
    let seen = backend.seen.lock().unwrap().clone();
    for action in [
        "iam:CreateUser",
        "iam:TagUser",
        "iam:PutUserPolicy",
        "iam:AttachUserPolicy",
        "iam:DetachUserPolicy",
        "iam:AddUserToGroup",
        "iam:RemoveUserFromGroup",
        "iam:PutUserPermissionsBoundary",
        "iam:CreateAccessKey",
        "iam:DeleteAccessKey",
        "iam:DeleteUser",
        "iam:CreatePolicy",
        "iam:CreatePolicyVersion",
        "iam:DeletePolicy",
        "iam:ListPolicyTags",
        "iam:GetPolicy",
        "iam:ListAccessKeys",
        "iam:GetLoginProfile",
        "iam:CreateRole",
        "iam:TagRole",
        "iam:UntagRole",
        "iam:PutRolePolicy",
        "iam:DeleteRolePolicy",
        "iam:AttachRolePolicy",
        "iam:DetachRolePolicy",
        "iam:UpdateAssumeRolePolicy",
        "iam:UpdateRole",
        "iam:RemoveRoleFromInstanceProfile",
        "iam:DeleteRole",
        "iam:PutRolePermissionsBoundary",
        "iam:CreateGroup",
        "iam:PutGroupPolicy",
        "iam:AttachGroupPolicy",
        "iam:DetachGroupPolicy",
        "iam:DeleteGroupPolicy",
        "iam:DeleteGroup",
    ] {
        assert!(
            seen.contains(action),
            "{action} was not exercised: {seen:?}"
        );
    }
}

/// What the self-policy no longer allows, evaluated: taking over a user by tagging it, attaching an admin
/// policy, writing to a user without the owner tag, writing to another owner's policy.
#[test]
fn the_self_policy_refuses_what_it_must() {
    let spec = iamspec::spec::load(
        "s.yaml",
        &format!("version: 1\naccount_id: \"{ACCOUNT}\"\nowner: web\nusers:\n  alice:\n    managed_policies: [arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess]\n    groups: [readers]\n"),
    )
    .unwrap()
    .spec;
    let policy = PolicyDocument::from_value(&iamspec::selfpolicy::policy(&spec).document).unwrap();
    let ask = |action: &str, resource: &str, context: &[(&str, &str)]| {
        let mut ctx = Context::new();
        for key in [
            "aws:RequestTag/iamspec:owner",
            "iam:ResourceTag/iamspec:owner",
            "aws:ResourceTag/iamspec:owner",
            "iam:PolicyARN",
            "aws:TagKeys",
            "iam:PermissionsBoundary",
        ] {
            ctx = ctx.without(key);
        }
        for (k, v) in context {
            ctx = ctx.with(k, &[v]);
        }
        evaluate(
            &Request {
                action,
                resource,
                context: &ctx,
            },
            &Policies {
                known: vec![("self".into(), &policy)],
                ..Policies::default()
            },
        )
    };
    let user = |n: &str| format!("arn:aws:iam::{ACCOUNT}:user/iamspec/{n}");
    let owned = [("iam:ResourceTag/iamspec:owner", "web")];
    // Taking over someone else's user under the path by tagging it.
    assert!(ask(
        "iam:TagUser",
        &user("bob"),
        &[("aws:RequestTag/iamspec:owner", "web")]
    )
    .is_denied());
    // Attaching AdministratorAccess to an owned user.
    let admin = [
        ("iam:ResourceTag/iamspec:owner", "web"),
        (
            "iam:PolicyARN",
            "arn:aws:iam::aws:policy/AdministratorAccess",
        ),
    ];
    assert!(ask("iam:AttachUserPolicy", &user("alice"), &admin).is_denied());
    let spec_policy = [
        ("iam:ResourceTag/iamspec:owner", "web"),
        (
            "iam:PolicyARN",
            "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess",
        ),
    ];
    assert!(ask("iam:AttachUserPolicy", &user("alice"), &spec_policy).is_allowed());
    // Inline policies and keys on users without the owner tag, or another owner's.
    assert!(ask("iam:PutUserPolicy", &user("bob"), &[]).is_denied());
    assert!(ask(
        "iam:CreateAccessKey",
        &user("bob"),
        &[("iam:ResourceTag/iamspec:owner", "team-b")]
    )
    .is_denied());
    assert!(ask("iam:PutUserPolicy", &user("alice"), &owned).is_allowed());
    // Groups the spec does not name.
    assert!(ask(
        "iam:AddUserToGroup",
        &format!("arn:aws:iam::{ACCOUNT}:group/admins"),
        &[]
    )
    .is_denied());
    assert!(ask(
        "iam:AddUserToGroup",
        &format!("arn:aws:iam::{ACCOUNT}:group/readers"),
        &[]
    )
    .is_allowed());
    // Creating users the spec does not name, or without the owner tag.
    assert!(ask(
        "iam:CreateUser",
        &user("mallory"),
        &[("aws:RequestTag/iamspec:owner", "web")]
    )
    .is_denied());
    assert!(ask("iam:CreateUser", &user("alice"), &[]).is_denied());
    // Another owner's policy under the path; deleting policies without prune.
    let policy_arn = format!("arn:aws:iam::{ACCOUNT}:policy/iamspec/theirs");
    assert!(ask(
        "iam:CreatePolicyVersion",
        &policy_arn,
        &[("aws:ResourceTag/iamspec:owner", "team-b")]
    )
    .is_denied());
    assert!(ask(
        "iam:DeletePolicy",
        &policy_arn,
        &[("aws:ResourceTag/iamspec:owner", "web")]
    )
    .is_denied());
}

const DELEGATED: &str = "version: 1\naccount_id: \"123456789012\"\nowner: web\nprune: true\ndelegate: true\npolicies:\n  shared-read:\n    grants: [{buckets: [b-two], access: read}]\nusers:\n  keeper: {}\n  busy:\n    grants: [{buckets: [b-one], access: read}]\n    managed_policies: [arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess]\n    policies: [shared-read]\n    access_keys: {count: 1}\nroles:\n  media:\n    trust: {account: \"232482882421\", external_id: ext-1}\n    grants: [{buckets: [b-one], access: read-write}]\n    policies: [shared-read]\n";

/// The admin step, as `bootstrap --apply` does it: the boundary written with administrator rights, outside the
/// pipeline's policy.
async fn bootstrap(backend: &Audited, text: &str) {
    let spec = iamspec::spec::load("s.yaml", text).unwrap().spec;
    let live = backend.account.lock().unwrap().view(&ReadScope::default());
    let boundary = iamspec::boundary::boundary(&spec, &BTreeMap::new());
    let tags = backend.account.lock().unwrap().policy_tags(&format!(
        "arn:aws:iam::{ACCOUNT}:policy/iamspec/iamspec-boundary-web"
    ));
    let plan = engine::bootstrap::boundary_ops(&spec, &live, ACCOUNT, boundary, tags.as_ref().ok())
        .unwrap();
    let mut rng = rand::rng();
    for op in &plan.ops {
        backend
            .account
            .lock()
            .unwrap()
            .apply(op, 0, &mut rng)
            .unwrap();
    }
}

/// `delegate: true`: a full run (principals made before delegation get the boundary, new ones are created with
/// it, changes, prune) needs nothing the delegated self-policy refuses.
#[tokio::test]
async fn a_delegated_pipeline_can_make_every_call_of_a_full_run() {
    let backend = Audited::new(LocalAccount::new(ACCOUNT));
    // Before delegation: owned principals without a boundary.
    apply(&backend, &DELEGATED.replace("delegate: true\n", "")).await;
    bootstrap(&backend, DELEGATED).await;
    apply(&backend, DELEGATED).await;
    let acct = backend.account.lock().unwrap().view(&ReadScope::default());
    let b = format!("arn:aws:iam::{ACCOUNT}:policy/iamspec/iamspec-boundary-web");
    assert!(acct
        .users
        .values()
        .all(|u| u.permissions_boundary.as_deref() == Some(&b)));
    assert!(acct
        .roles
        .values()
        .all(|r| r.permissions_boundary.as_deref() == Some(&b)));
    let changed = DELEGATED
        .replace("b-two", "b-four")
        .replace("ext-1", "ext-3")
        .replace(
            "  keeper: {}\n",
            "  keeper: {}\n  late: {grants: [{buckets: [b-one], access: list}]}\n",
        );
    bootstrap(&backend, &changed).await;
    apply(&backend, &changed).await;
    apply(
        &backend,
        &format!("version: 1\naccount_id: \"{ACCOUNT}\"\nowner: web\nprune: true\ndelegate: true\nusers:\n  keeper: {{}}\n"),
    )
    .await;
    let denied = backend.denied.lock().unwrap().clone();
    assert!(
        denied.is_empty(),
        "the delegated self-policy refuses:\n{}",
        denied.join("\n")
    );
    let seen = backend.seen.lock().unwrap().clone();
    for action in [
        "iam:CreateUser",
        "iam:PutUserPolicy",
        "iam:AttachUserPolicy",
        "iam:PutUserPermissionsBoundary",
        "iam:CreateRole",
        "iam:PutRolePolicy",
        "iam:PutRolePermissionsBoundary",
        "iam:UpdateAssumeRolePolicy",
        "iam:CreatePolicyVersion",
        "iam:DeleteUser",
        "iam:DeleteRole",
    ] {
        assert!(
            seen.contains(action),
            "{action} was not exercised: {seen:?}"
        );
    }
}

/// The escalation paths of a pipeline holding the self-policy, walked with only the condition keys IAM sends for
/// each action: every one is denied, or lands on a principal whose boundary caps the result to the spec.
#[test]
fn a_delegated_pipeline_cannot_become_more_than_the_spec() {
    let spec = iamspec::spec::load("s.yaml", DELEGATED).unwrap().spec;
    let self_policy = iamspec::selfpolicy::policy(&spec);
    assert!(
        self_policy
            .notes
            .iter()
            .all(|n| !n.contains("admin-equivalent")),
        "{:?}",
        self_policy.notes
    );
    let policy = PolicyDocument::from_value(&self_policy.document).unwrap();
    let b = format!("arn:aws:iam::{ACCOUNT}:policy/iamspec/iamspec-boundary-web");
    let ask = |action: &str, resource: &str, context: &[(&str, &str)]| {
        let mut ctx = Context::new();
        for key in [
            "aws:RequestTag/iamspec:owner",
            "iam:ResourceTag/iamspec:owner",
            "aws:ResourceTag/iamspec:owner",
            "iam:PolicyARN",
            "aws:TagKeys",
            "iam:PermissionsBoundary",
        ] {
            ctx = ctx.without(key);
        }
        for (k, v) in context {
            // A condition on a key IAM does not send for this action would be a test of nothing.
            if *k == "iam:PermissionsBoundary" {
                assert!(
                    iamspec::selfpolicy::BOUNDARY_KEYED_ACTIONS.contains(&action),
                    "IAM sends no boundary key for {action}"
                );
            }
            ctx = ctx.with(k, &[v]);
        }
        evaluate(
            &Request {
                action,
                resource,
                context: &ctx,
            },
            &Policies {
                known: vec![("self".into(), &policy)],
                ..Policies::default()
            },
        )
    };
    let user = |n: &str| format!("arn:aws:iam::{ACCOUNT}:user/iamspec/{n}");
    let role = |n: &str| format!("arn:aws:iam::{ACCOUNT}:role/iamspec/{n}");
    let owned = ("iam:ResourceTag/iamspec:owner", "web");
    let bounded = ("iam:PermissionsBoundary", b.as_str());
    let create = ("aws:RequestTag/iamspec:owner", "web");

    // An admin inline policy on an owned user: denied unless the user carries the boundary, which caps it.
    assert!(ask("iam:PutUserPolicy", &user("busy"), &[owned]).is_denied());
    assert!(ask("iam:PutUserPolicy", &user("busy"), &[owned, bounded]).is_allowed());
    // Removing the boundary, or setting another one, of users and roles.
    assert!(ask(
        "iam:DeleteUserPermissionsBoundary",
        &user("busy"),
        &[owned, bounded]
    )
    .is_denied());
    assert!(ask(
        "iam:DeleteRolePermissionsBoundary",
        &role("media"),
        &[owned, bounded]
    )
    .is_denied());
    let other = (
        "iam:PermissionsBoundary",
        "arn:aws:iam::aws:policy/AdministratorAccess",
    );
    assert!(ask(
        "iam:PutUserPermissionsBoundary",
        &user("busy"),
        &[owned, other]
    )
    .is_denied());
    assert!(ask(
        "iam:PutRolePermissionsBoundary",
        &role("media"),
        &[owned, other]
    )
    .is_denied());
    assert!(ask(
        "iam:PutUserPermissionsBoundary",
        &user("busy"),
        &[owned, bounded]
    )
    .is_allowed());
    // Creating a spec user or role without the boundary (a role with any trust, not yet existing).
    assert!(ask("iam:CreateUser", &user("keeper"), &[create]).is_denied());
    assert!(ask("iam:CreateRole", &role("media"), &[create]).is_denied());
    assert!(ask("iam:CreateRole", &role("media"), &[create, bounded]).is_allowed());
    // Re-trusting an owned role (to another account, or `*`) and giving it `*`: only while it carries the
    // boundary, which caps whoever assumes it to the spec.
    assert!(ask("iam:UpdateAssumeRolePolicy", &role("media"), &[owned]).is_denied());
    assert!(ask("iam:PutRolePolicy", &role("media"), &[owned]).is_denied());
    assert!(ask(
        "iam:UpdateAssumeRolePolicy",
        &role("media"),
        &[owned, bounded]
    )
    .is_allowed());
    // Rewriting the boundary itself, or deleting it: the admin step's.
    for action in [
        "iam:CreatePolicyVersion",
        "iam:SetDefaultPolicyVersion",
        "iam:DeletePolicy",
        "iam:DeletePolicyVersion",
        "iam:TagPolicy",
        "iam:UntagPolicy",
    ] {
        assert!(
            ask(action, &b, &[("aws:ResourceTag/iamspec:owner", "web")]).is_denied(),
            "{action} on the boundary"
        );
    }
    // Taking over another owner's user or role by tagging, at creation's or adoption's statement.
    let theirs = ("iam:ResourceTag/iamspec:owner", "team-b");
    assert!(ask("iam:TagUser", &user("keeper"), &[create, theirs]).is_denied());
    assert!(ask("iam:TagRole", &role("media"), &[create, theirs]).is_denied());
    // A key for an owned user is allowed (IAM cannot condition it on the boundary): what the key can do is what
    // the user can, capped by the boundary every owned user carries.
    assert!(ask("iam:CreateAccessKey", &user("busy"), &[owned]).is_allowed());
    // Admin policies stay unattachable; a spec policy only on a bounded principal.
    let admin = (
        "iam:PolicyARN",
        "arn:aws:iam::aws:policy/AdministratorAccess",
    );
    assert!(ask(
        "iam:AttachUserPolicy",
        &user("busy"),
        &[owned, bounded, admin]
    )
    .is_denied());
    let ro = (
        "iam:PolicyARN",
        "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess",
    );
    assert!(ask("iam:AttachUserPolicy", &user("busy"), &[owned, ro]).is_denied());
    assert!(ask("iam:AttachUserPolicy", &user("busy"), &[owned, bounded, ro]).is_allowed());

    // The cap itself: a user carrying the boundary, holding an admin policy the pipeline wrote, gets nothing
    // beyond the spec's grants.
    let boundary = iamspec::boundary::boundary(&spec, &BTreeMap::new()).document;
    let admin_doc = PolicyDocument::parse(
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#,
    )
    .unwrap();
    let capped = |action: &str, resource: &str| {
        evaluate(
            &Request {
                action,
                resource,
                context: &Context::new(),
            },
            &Policies {
                known: vec![("pipeline-written".into(), &admin_doc)],
                boundary: Some(("boundary".into(), Some(&boundary))),
                ..Policies::default()
            },
        )
    };
    assert!(capped("iam:CreateUser", &user("x")).is_denied());
    assert!(capped("s3:GetObject", "arn:aws:s3:::other-bucket/k").is_denied());
    assert!(capped("s3:DeleteBucket", "arn:aws:s3:::b-one").is_denied());
    assert!(capped("s3:GetObject", "arn:aws:s3:::b-one/k").is_allowed());
}

/// regression: creation-time tagging was conditioned on the request tag alone, so a spec-named user or role of
/// another owner could be re-tagged to this owner; adoption tagging worked on users already owned by someone else.
/// Tagging with the owner tag now needs an object that carries no owner tag.
#[test]
fn tagging_takes_over_only_objects_without_an_owner() {
    let spec = iamspec::spec::load(
        "s.yaml",
        &format!("version: 1\naccount_id: \"{ACCOUNT}\"\nowner: web\nusers:\n  alice: {{}}\n  legacy: {{adopt: true}}\nroles:\n  media:\n    trust: {{account: \"{ACCOUNT}\"}}\n  old-role:\n    adopt: true\n    trust: {{account: \"{ACCOUNT}\"}}\n"),
    )
    .unwrap()
    .spec;
    let policy = PolicyDocument::from_value(&iamspec::selfpolicy::policy(&spec).document).unwrap();
    let ask = |action: &str, resource: &str, owner: Option<&str>| {
        let mut ctx = Context::new()
            .with("aws:RequestTag/iamspec:owner", &["web"])
            .with("aws:TagKeys", &["iamspec:owner"])
            .without("iam:PermissionsBoundary")
            .without("iam:PolicyARN");
        ctx = match owner {
            Some(o) => ctx
                .with("iam:ResourceTag/iamspec:owner", &[o])
                .with("aws:ResourceTag/iamspec:owner", &[o]),
            None => ctx
                .without("iam:ResourceTag/iamspec:owner")
                .without("aws:ResourceTag/iamspec:owner"),
        };
        evaluate(
            &Request {
                action,
                resource,
                context: &ctx,
            },
            &Policies {
                known: vec![("self".into(), &policy)],
                ..Policies::default()
            },
        )
    };
    let arn = |kind: &str, rest: &str| format!("arn:aws:iam::{ACCOUNT}:{kind}/{rest}");
    for (action, resource) in [
        ("iam:TagUser", arn("user", "iamspec/alice")),
        ("iam:TagUser", arn("user", "elsewhere/legacy")),
        ("iam:TagRole", arn("role", "iamspec/media")),
        ("iam:TagRole", arn("role", "elsewhere/old-role")),
    ] {
        assert!(
            ask(action, &resource, Some("team-b")).is_denied(),
            "{action} {resource} of another owner"
        );
        assert!(
            ask(action, &resource, None).is_allowed(),
            "{action} {resource} without an owner (creation or adoption)"
        );
    }
}

/// `adopt: {from_owner}`: the pipeline may tag over an object of that owner only, never one of any other owner.
#[test]
fn adoption_from_an_owner_is_allowed_from_that_owner_only() {
    let spec = iamspec::spec::load(
        "s.yaml",
        &format!("version: 1\naccount_id: \"{ACCOUNT}\"\nowner: web\npolicies:\n  shared: {{grants: [{{buckets: [b-one], access: read}}], adopt: {{from_owner: old}}}}\nusers:\n  mover: {{adopt: {{from_owner: old}}}}\nroles:\n  svc:\n    trust: {{account: \"{ACCOUNT}\"}}\n    adopt: {{from_owner: old}}\n"),
    )
    .unwrap()
    .spec;
    let policy = PolicyDocument::from_value(&iamspec::selfpolicy::policy(&spec).document).unwrap();
    let ask = |action: &str, resource: &str, owner: &str| {
        let ctx = Context::new()
            .with("aws:RequestTag/iamspec:owner", &["web"])
            .with("aws:TagKeys", &["iamspec:owner"])
            .with("iam:ResourceTag/iamspec:owner", &[owner])
            .with("aws:ResourceTag/iamspec:owner", &[owner])
            .without("iam:PermissionsBoundary")
            .without("iam:PolicyARN");
        evaluate(
            &Request {
                action,
                resource,
                context: &ctx,
            },
            &Policies {
                known: vec![("self".into(), &policy)],
                ..Policies::default()
            },
        )
    };
    for (action, resource) in [
        (
            "iam:TagUser",
            format!("arn:aws:iam::{ACCOUNT}:user/elsewhere/mover"),
        ),
        (
            "iam:TagRole",
            format!("arn:aws:iam::{ACCOUNT}:role/iamspec/svc"),
        ),
        (
            "iam:TagPolicy",
            format!("arn:aws:iam::{ACCOUNT}:policy/iamspec/shared"),
        ),
    ] {
        assert!(
            ask(action, &resource, "old").is_allowed(),
            "{action} from old"
        );
        assert!(
            ask(action, &resource, "team-c").is_denied(),
            "{action} from team-c"
        );
    }
}
