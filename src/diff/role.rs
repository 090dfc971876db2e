//! Roles: spec roles against live ones (trust, session duration, tags, grants, attachments), and live roles that
//! left the spec (deleted when owned and `prune: true`, otherwise reported). Roles are not users: no keys, no
//! groups, no credentials; their trust policy says who may assume them.

use std::collections::{BTreeMap, HashMap};

use super::ownership::Conflict;
use super::principal::{
    foreign_notice, kept_notice, policy_changes, Policies, PolicyOps, NO_POLICIES,
};
use super::DiffOptions;
use crate::model::{Account, Role, GRANTS_POLICY, MAX_SESSION_TAG, OWNER_TAG, SERVICE_ROLE_PATH};
use crate::plan::{Action, Change, Notice, NoticeKind, Op, Target};
use crate::spec::{Spec, SpecRole};

/// The role the spec wants, as the account would hold it (the grants policy included).
#[must_use]
pub fn desired_role(spec: &Spec, sr: &SpecRole) -> Role {
    desired_role_in(spec, sr, None)
}

/// [`desired_role`], with the account the spec's shared policies' ARNs name (default: the spec's `account_id`).
#[must_use]
pub fn desired_role_in(spec: &Spec, sr: &SpecRole, account: Option<&str>) -> Role {
    let mut tags = sr.tags.clone();
    tags.insert(OWNER_TAG.to_owned(), spec.owner.clone());
    tags.insert(
        MAX_SESSION_TAG.to_owned(),
        sr.max_session_seconds.to_string(),
    );
    let mut inline_policies = BTreeMap::new();
    if let Some(doc) = sr.grants_policy() {
        inline_policies.insert(GRANTS_POLICY.to_owned(), doc);
    }
    Role {
        name: sr.name.clone(),
        path: spec.path.clone(),
        arn: None,
        tags,
        trust: sr.trust_document(),
        inline_policies,
        attached_policies: sr
            .managed_policies
            .iter()
            .cloned()
            .chain(
                sr.policies
                    .iter()
                    .map(|p| super::desired::policy_arn(spec, account, p)),
            )
            .collect(),
        permissions_boundary: super::desired::boundary_arn(spec, account)
            .or_else(|| sr.permissions_boundary.clone()),
        instance_profiles: Vec::new(),
    }
}

/// Whether a live role is one iamspec may ever consider: not service-linked.
fn manageable(role: &Role) -> bool {
    !role.path.starts_with(SERVICE_ROLE_PATH)
}

/// Whether the spec role `sr` may be written to as the live role `have`: `Ok(true)` owned, `Ok(false)` adopted.
pub(super) fn check_role_owner(spec: &Spec, sr: &SpecRole, have: &Role) -> Result<bool, Conflict> {
    let conflict = |message: String, help: &str| Conflict {
        target: Target::Role(sr.name.clone()),
        message,
        help: help.to_owned(),
    };
    if !manageable(have) {
        return Err(conflict(
            format!("role `{}` is service-linked ({})", have.name, have.path),
            "AWS manages service-linked roles; pick another name",
        ));
    }
    if have.name != sr.name {
        return Err(conflict(
            format!(
                "spec role `{}` matches live role `{}`: IAM role names are case-insensitive",
                sr.name, have.name
            ),
            &format!("rename the spec entry to `{}`", have.name),
        ));
    }
    if have.is_owned_by(&spec.owner) {
        return Ok(true);
    }
    if let Some(other) = have.tags.get(OWNER_TAG) {
        if sr.adopt_from.as_deref() == Some(other.as_str()) {
            return Ok(false);
        }
        return Err(conflict(
            format!(
                "role `{}` is owned by `{other}`, not `{}`",
                sr.name, spec.owner
            ),
            &super::ownership::from_owner_help("role", other),
        ));
    }
    if let Some(from) = &sr.adopt_from {
        return Err(conflict(
            format!(
                "role `{}` has no owner, but the spec takes it over from `{from}` only",
                sr.name
            ),
            "use `adopt: true` for an object without an owner",
        ));
    }
    if !sr.adopt {
        return Err(conflict(
            format!(
                "role `{}` exists but is not owned by iamspec (no tag {OWNER_TAG}={})",
                sr.name, spec.owner
            ),
            "add `adopt: true` to the role to take it over (the plan will tag it)",
        ));
    }
    Ok(false)
}

/// The spec's role names, lower-cased.
pub(super) fn spec_role_names(spec: &Spec) -> std::collections::HashSet<String> {
    spec.roles
        .iter()
        .map(|r| r.name.to_ascii_lowercase())
        .collect()
}

/// Live roles by lower-cased name.
pub(super) fn role_index(live: &Account) -> HashMap<String, &Role> {
    live.roles
        .values()
        .map(|r| (r.name.to_ascii_lowercase(), r))
        .collect()
}

/// Every role change, in spec order then live order, and the notices about live roles. `--user` scopes a plan to
/// users: then roles are left out, like shared policies.
pub(super) fn role_changes(
    spec: &Spec,
    live: &Account,
    opts: &DiffOptions,
    notices: &mut Vec<Notice>,
    conflicts: &mut Vec<Conflict>,
) -> Vec<Change> {
    if opts.only.is_some() {
        return Vec::new();
    }
    let index = role_index(live);
    let mut out = Vec::new();
    for sr in &spec.roles {
        let want = desired_role_in(spec, sr, opts.account_id.as_deref());
        match index.get(&sr.name.to_ascii_lowercase()) {
            None => out.extend(create_role(&want)),
            Some(have) => match check_role_owner(spec, sr, have) {
                Ok(owned) => out.extend(update_role(&want, have, owned, spec)),
                Err(c) => conflicts.push(c),
            },
        }
    }
    // An index, not `Spec::role` per live role: a spec may list many roles, an account holds up to 5,000.
    let in_spec = spec_role_names(spec);
    for have in live.roles.values().filter(|r| manageable(r)) {
        if in_spec.contains(&have.name.to_ascii_lowercase()) {
            continue;
        }
        let target = || Target::Role(have.name.clone());
        if spec.ignores_role(have) {
            notices.push(Notice {
                kind: NoticeKind::Ignored,
                target: target(),
                message: "ignored by an `ignore` rule".into(),
            });
        } else if have.is_owned_by(&spec.owner) {
            if spec.prune {
                out.extend(delete_role(have));
            } else {
                notices.push(kept_notice(target()));
            }
        } else {
            let owner = have.tags.get(OWNER_TAG).map(String::as_str);
            notices.extend(foreign_notice(
                spec,
                target(),
                &have.path,
                owner,
                "the owner tag",
            ));
        }
    }
    out
}

fn change(action: Action, op: Op, reason: impl Into<String>) -> Change {
    Change::new(action, op, reason)
}

/// CreateRole (trust, session and tags in one call), then its grants and attachments.
fn create_role(want: &Role) -> Vec<Change> {
    let role = want.name.clone();
    let mut out = vec![change(
        Action::Create,
        Op::CreateRole {
            role: role.clone(),
            path: want.path.clone(),
            trust: want.trust.clone(),
            max_session_seconds: session_seconds(want),
            tags: want.tags.clone().into(),
            permissions_boundary: want.permissions_boundary.clone(),
        },
        "in the spec, not in the account",
    )];
    let (adds, _) = policy_changes(&ROLE_OPS, &role, &policies(want), &NO_POLICIES, None);
    out.extend(adds);
    out
}

fn policies(role: &Role) -> Policies<'_> {
    Policies {
        inline: &role.inline_policies,
        attached: &role.attached_policies,
    }
}

/// The role operations on a role's policies.
const ROLE_OPS: PolicyOps = PolicyOps {
    noun: "role",
    put: |role, name, doc| Op::PutRolePolicy {
        role: role.to_owned(),
        policy_name: name.to_owned(),
        document: doc.clone(),
    },
    delete: |role, name| Op::DeleteRolePolicy {
        role: role.to_owned(),
        policy_name: name.to_owned(),
    },
    attach: |role, arn| Op::AttachRolePolicy {
        role: role.to_owned(),
        policy_arn: arn.to_owned(),
    },
    detach: |role, arn| Op::DetachRolePolicy {
        role: role.to_owned(),
        policy_arn: arn.to_owned(),
    },
};

fn session_seconds(role: &Role) -> u32 {
    role.tags
        .get(MAX_SESSION_TAG)
        .and_then(|v| v.parse().ok())
        .unwrap_or(3600)
}

/// The changes that make the live role `have` what `want` says; additions before removals.
fn update_role(want: &Role, have: &Role, owned: bool, spec: &Spec) -> Vec<Change> {
    let role = have.name.clone();
    let mut adds = Vec::new();
    let mut removes = Vec::new();
    // Tags: the owner tag (adoption), the session record, the spec's tags; others removed unless ignored.
    let to_set: BTreeMap<String, String> = want
        .tags
        .iter()
        .filter(|(k, v)| have.tags.get(*k) != Some(*v))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    if !owned {
        adds.push(change(
            Action::Update,
            Op::AdoptRole {
                role: role.clone(),
                tags: to_set,
            },
            super::ownership::adoption_reason(
                have.tags.get(OWNER_TAG).map(String::as_str),
                "tagging",
            ),
        ));
    } else if !to_set.is_empty() {
        let reason = to_set
            .iter()
            .map(|(k, v)| match have.tags.get(k) {
                Some(old) => format!("{k}: {old} -> {v}"),
                None => format!("{k}: new"),
            })
            .collect::<Vec<_>>()
            .join(", ");
        adds.push(change(
            Action::Update,
            Op::TagRole {
                role: role.clone(),
                tags: to_set,
            },
            reason,
        ));
    }
    let stale: Vec<String> = have
        .tags
        .keys()
        .filter(|k| !want.tags.contains_key(*k) && !spec.ignore_tags.contains(*k))
        .cloned()
        .collect();
    if !stale.is_empty() {
        removes.push(change(
            Action::Update,
            Op::UntagRole {
                role: role.clone(),
                keys: stale,
            },
            "tags not in the spec",
        ));
    }
    if have.trust != want.trust {
        let mut c = change(
            Action::Update,
            Op::UpdateAssumeRolePolicy {
                role: role.clone(),
                document: want.trust.clone(),
            },
            "trust differs from the spec",
        );
        c.before = Some(have.trust.clone());
        adds.push(c);
    }
    let seconds = session_seconds(want);
    if have.tags.get(MAX_SESSION_TAG) != want.tags.get(MAX_SESSION_TAG) {
        adds.push(change(
            Action::Update,
            Op::UpdateRole {
                role: role.clone(),
                max_session_seconds: seconds,
            },
            "max_session_hours",
        ));
    }
    let (more, fewer) = policy_changes(&ROLE_OPS, &role, &policies(want), &policies(have), None);
    adds.extend(more);
    removes.extend(fewer);
    match (&want.permissions_boundary, &have.permissions_boundary) {
        (Some(w), h) if Some(w) != h.as_ref() => adds.push(change(
            if h.is_some() {
                Action::Update
            } else {
                Action::Create
            },
            Op::PutRolePermissionsBoundary {
                role: role.clone(),
                policy_arn: w.clone(),
            },
            "permissions_boundary",
        )),
        (None, Some(_)) => removes.push(change(
            Action::Delete,
            Op::DeleteRolePermissionsBoundary { role: role.clone() },
            "no permissions_boundary in the spec",
        )),
        _ => {}
    }
    adds.extend(removes);
    adds
}

/// Everything DeleteRole requires gone (inline and attached policies; instance profiles go in DeleteRole), then
/// the role.
fn delete_role(have: &Role) -> Vec<Change> {
    let why = "owned, not in the spec, prune: true";
    let role = have.name.clone();
    let mut out = Vec::new();
    for policy in have.inline_policies.keys() {
        out.push(change(
            Action::Delete,
            Op::DeleteRolePolicy {
                role: role.clone(),
                policy_name: policy.clone(),
            },
            why,
        ));
    }
    for arn in &have.attached_policies {
        out.push(change(
            Action::Delete,
            Op::DetachRolePolicy {
                role: role.clone(),
                policy_arn: arn.clone(),
            },
            why,
        ));
    }
    out.push(change(
        Action::Delete,
        Op::DeleteRole {
            role,
            instance_profiles: have.instance_profiles.clone(),
        },
        why,
    ));
    out
}

/// Roles: owned by the owner tag (or adopted), service-linked ones never touched, pruned when owned and gone from
/// the spec (and not ignored).
pub(super) struct RoleKind;

impl super::kind::Kind for RoleKind {
    fn kind(&self) -> crate::plan::TargetKind {
        crate::plan::TargetKind::Role
    }

    fn section(&self) -> &'static str {
        "roles"
    }

    fn declared(&self, spec: &Spec, name: &str) -> bool {
        spec.roles.iter().any(|r| r.name == name)
    }

    fn rights(
        &self,
        spec: &Spec,
        live: &Account,
        opts: &DiffOptions,
        grant: &mut dyn FnMut(&str, super::ownership::Right),
    ) {
        use super::ownership::Right;
        // `--user` scopes an apply to users.
        if opts.only.is_some() {
            return;
        }
        let live_roles = role_index(live);
        for sr in &spec.roles {
            let have = live_roles.get(&sr.name.to_ascii_lowercase());
            if let Some(right) =
                super::ownership::right_of(have, |have| check_role_owner(spec, sr, have))
            {
                grant(&sr.name, right);
            }
        }
        if spec.prune && spec.account_id.is_some() {
            let in_spec = spec_role_names(spec);
            for have in live.roles.values().filter(|r| {
                r.is_owned_by(&spec.owner)
                    && manageable(r)
                    && !in_spec.contains(&r.name.to_ascii_lowercase())
                    && !spec.ignores_role(r)
            }) {
                grant(&have.name, Right::Prune);
            }
        }
    }

    fn live_state(&self, live: &Account, name: &str) -> Option<String> {
        live.find_role(name)
            .map(|r| serde_json::to_string(r).unwrap_or_default())
    }

    fn made_by(&self, live: &Account, op: &Op, _owner: &str) -> super::kind::Existing {
        let Op::CreateRole {
            role,
            path,
            trust,
            tags,
            ..
        } = op
        else {
            return super::kind::Existing::Differs;
        };
        let same = live.find_role(role).is_some_and(|r| {
            r.name == *role && r.path == *path && r.tags.iter().eq(tags.iter()) && r.trust == *trust
        });
        super::kind::Existing::from(same)
    }

    fn reach(&self) -> super::kind::Reach {
        super::kind::Reach::Principal { username: false }
    }

    fn holds_access_keys(&self) -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diff::{diff, DiffOptions};

    const SPEC: &str = r#"
version: 1
account_id: "123456789012"
owner: media
prune: true
roles:
  cloudinary-media:
    trust: { account: "232482882421", external_id: "my-cloud-7f3a" }
    grants:
      - buckets: [photos-prod]
        access: read-write
    managed_policies: [arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess]
    max_session_hours: 2
    tags: { service: cloudinary }
"#;

    fn spec() -> Spec {
        crate::spec::load("s.yaml", SPEC)
            .unwrap_or_else(|d| panic!("{}", d.to_plain()))
            .spec
    }

    fn ops(plan: &crate::plan::Plan) -> Vec<String> {
        plan.changes
            .iter()
            .map(|c| format!("{} {}", c.op.api_name(), c.target))
            .collect()
    }

    #[test]
    fn a_new_role_is_created_with_trust_grants_and_attachments_then_nothing() {
        let spec = spec();
        let plan = diff(&spec, &Account::default(), &DiffOptions::default()).unwrap();
        assert_eq!(
            ops(&plan),
            [
                "CreateRole role/cloudinary-media",
                "PutRolePolicy role/cloudinary-media",
                "AttachRolePolicy role/cloudinary-media"
            ]
        );
        assert!(plan.changes[0]
            .op
            .describe()
            .contains("trusted by account 232482882421 (external ID), sessions up to 2 h"));
        let mut live = Account::default();
        let role = desired_role(&spec, &spec.roles[0]);
        live.roles.insert(role.name.clone(), role);
        let plan = diff(&spec, &live, &DiffOptions::default()).unwrap();
        assert!(plan.changes.is_empty(), "{:?}", ops(&plan));
    }

    #[test]
    fn trust_session_and_stray_policies_are_repaired() {
        let spec = spec();
        let mut role = desired_role(&spec, &spec.roles[0]);
        role.trust = crate::policy::PolicyDocument::parse(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"sts:AssumeRole"}]}"#,
        )
        .unwrap();
        role.tags.insert(MAX_SESSION_TAG.into(), "43200".into());
        role.tags.insert("stray".into(), "x".into());
        role.attached_policies
            .insert("arn:aws:iam::aws:policy/AdministratorAccess".into());
        let mut live = Account::default();
        live.roles.insert(role.name.clone(), role);
        let plan = diff(&spec, &live, &DiffOptions::default()).unwrap();
        assert_eq!(
            ops(&plan),
            [
                "TagRole role/cloudinary-media",
                "UpdateAssumeRolePolicy role/cloudinary-media",
                "UpdateRole role/cloudinary-media",
                "UntagRole role/cloudinary-media",
                "DetachRolePolicy role/cloudinary-media"
            ]
        );
    }

    #[test]
    fn ownership_adoption_prune_and_service_linked_roles() {
        let mut spec = spec();
        let sr = spec.roles[0].clone();
        let mut live = Account::default();
        let mut foreign = desired_role(&spec, &sr);
        foreign.tags.remove(OWNER_TAG);
        live.roles.insert(foreign.name.clone(), foreign);
        let crate::diff::DiffError::Conflicts(c) =
            diff(&spec, &live, &DiffOptions::default()).unwrap_err();
        assert!(c[0].message.contains("not owned by iamspec"), "{c:?}");
        spec.roles[0].adopt = true;
        let plan = diff(&spec, &live, &DiffOptions::default()).unwrap();
        assert_eq!(ops(&plan), ["TagRole role/cloudinary-media"]);
        assert!(matches!(plan.changes[0].op, Op::AdoptRole { .. }));

        // Owned roles that left the spec are pruned; service-linked and other owners' are never touched.
        spec.roles.clear();
        let mut live = Account::default();
        let mut gone = desired_role(&spec, &sr);
        gone.instance_profiles = vec!["ip".into()];
        live.roles.insert(gone.name.clone(), gone);
        let mut linked = desired_role(&spec, &sr);
        linked.name = "AWSServiceRoleForX".into();
        linked.path = "/aws-service-role/x/".into();
        live.roles.insert(linked.name.clone(), linked);
        let plan = diff(&spec, &live, &DiffOptions::default()).unwrap();
        assert_eq!(
            ops(&plan),
            [
                "DeleteRolePolicy role/cloudinary-media",
                "DetachRolePolicy role/cloudinary-media",
                "DeleteRole role/cloudinary-media"
            ]
        );
        let scoped = DiffOptions {
            only: Some(["someone".to_owned()].into()),
            ..DiffOptions::default()
        };
        assert!(diff(&spec, &live, &scoped).unwrap().changes.is_empty());
    }

    #[test]
    fn trust_rules_are_checked() {
        for (yaml, expect) in [
            ("{ account: \"232482882421\" }", "needs the `external_id`"),
            ("{ account: \"2324\", external_id: ab }", "is not 12 digits"),
            (
                "{ role_arn: \"arn:aws:iam::23:role/x\", external_id: ab }",
                "is not a role ARN",
            ),
            (
                "{ account: \"232482882421\", external_id: \"a b\" }",
                "external ID is not valid",
            ),
            ("{ external_id: ab }", "exactly one of"),
        ] {
            let text = format!(
                "version: 1\naccount_id: \"123456789012\"\nroles:\n  r:\n    trust: {yaml}\n"
            );
            let err = crate::spec::load("s.yaml", &text).expect_err(yaml);
            assert!(
                err.to_plain().contains(expect),
                "{yaml}: {}",
                err.to_plain()
            );
        }
        // The spec's own account needs no external ID.
        let own = "version: 1\naccount_id: \"123456789012\"\nroles:\n  r:\n    trust: { account: \"123456789012\" }\n    max_session_hours: 12\n";
        let spec = crate::spec::load("s.yaml", own).unwrap().spec;
        assert_eq!(spec.roles[0].max_session_seconds, 43_200);
        let bad = "version: 1\naccount_id: \"123456789012\"\nroles:\n  r:\n    trust: { account: \"123456789012\" }\n    max_session_hours: 13\n";
        assert!(crate::spec::load("s.yaml", bad).is_err());
    }

    #[test]
    fn shared_policies_and_the_boundary_are_planned_and_converge() {
        let text = "version: 1\naccount_id: \"123456789012\"\npolicies:\n  shared: { grants: [{buckets: [b-one], access: read}] }\nroles:\n  r:\n    trust: { account: \"123456789012\" }\n    policies: [shared]\n    permissions_boundary: arn:aws:iam::aws:policy/PowerUserAccess\n";
        let spec = crate::spec::load("s.yaml", text).unwrap().spec;
        let plan = diff(&spec, &Account::default(), &DiffOptions::default()).unwrap();
        let role_ops: Vec<String> = ops(&plan)
            .into_iter()
            .filter(|o| o.ends_with("role/r"))
            .collect();
        // The boundary is set by CreateRole itself: the role never exists without it.
        assert_eq!(role_ops, ["CreateRole role/r", "AttachRolePolicy role/r"]);
        assert!(plan.changes.iter().any(|c| matches!(&c.op,
            Op::CreateRole { permissions_boundary: Some(b), .. } if b == "arn:aws:iam::aws:policy/PowerUserAccess")));
        assert!(plan.changes.iter().any(|c| matches!(&c.op,
            Op::AttachRolePolicy { policy_arn, .. } if policy_arn == "arn:aws:iam::123456789012:policy/iamspec/shared")));
        let mut live = Account::default();
        let mut role = desired_role(&spec, &spec.roles[0]);
        live.roles.insert(role.name.clone(), role.clone());
        let none = diff(&spec, &live, &DiffOptions::default()).unwrap();
        assert!(none
            .changes
            .iter()
            .all(|c| !matches!(c.target, Target::Role(_))));
        let mut unbounded = spec.clone();
        unbounded.roles[0].permissions_boundary = None;
        role.permissions_boundary = Some("arn:aws:iam::aws:policy/PowerUserAccess".into());
        live.roles.insert(role.name.clone(), role);
        let plan = diff(&unbounded, &live, &DiffOptions::default()).unwrap();
        assert!(ops(&plan).contains(&"DeleteRolePermissionsBoundary role/r".to_owned()));
    }

    #[test]
    fn policy_mode_managed_puts_the_grants_in_the_roles_own_policy() {
        let text = "version: 1\naccount_id: \"123456789012\"\nroles:\n  r:\n    trust: { account: \"123456789012\" }\n    policy_mode: managed\n    grants: [{buckets: [b-one], access: read}]\n";
        let spec = crate::spec::load("s.yaml", text).unwrap().spec;
        assert!(spec.roles[0].grants.is_empty());
        assert_eq!(spec.policies[0].name, "iamspec-role-r");
        let plan = diff(&spec, &Account::default(), &DiffOptions::default()).unwrap();
        assert_eq!(
            ops(&plan),
            [
                "CreatePolicy policy/iamspec-role-r",
                "CreateRole role/r",
                "AttachRolePolicy role/r"
            ]
        );
    }

    #[test]
    fn ignore_rules_naming_roles_or_only_tags_keep_roles_from_prune() {
        let base =
            "version: 1\naccount_id: \"123456789012\"\nowner: media\nprune: true\nroles: {}\n";
        let mut live = Account::default();
        let mut role = desired_role(&spec(), &spec().roles[0]);
        role.tags.insert("keep".into(), "yes".into());
        live.roles.insert(role.name.clone(), role);
        for (rule, ignored) in [
            ("ignore: [{roles: \"cloudinary-*\"}]", true),
            ("ignore: [{tags: {keep: \"*\"}}]", true),
            ("ignore: [{users: \"cloudinary-*\"}]", false),
        ] {
            let spec = crate::spec::load("s.yaml", &format!("{base}{rule}\n"))
                .unwrap()
                .spec;
            let plan = diff(&spec, &live, &DiffOptions::default()).unwrap();
            assert_eq!(plan.changes.is_empty(), ignored, "{rule}: {:?}", ops(&plan));
            let guard = crate::diff::Guard::new(&spec, &live, &DiffOptions::default());
            let delete = Op::DeleteRole {
                role: "cloudinary-media".into(),
                instance_profiles: Vec::new(),
            };
            assert_eq!(guard.check(&delete).is_err(), ignored, "{rule}");
        }
        let both = format!("{base}ignore: [{{users: a, roles: b}}]\n");
        assert!(crate::spec::load("s.yaml", &both).is_err());
    }
}
