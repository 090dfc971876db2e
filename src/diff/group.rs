//! Managed groups: spec groups against live ones (the owner marker, grants, attachments), and owned groups that
//! left the spec (emptied and deleted with `prune: true`, otherwise reported). A user joins a group by listing it in
//! its `groups`, planned with the user; an owned group's other members (added by hand) are removed.
//!
//! IAM groups take no tags, so ownership is an inline policy of iamspec's (see [`GROUP_OWNER_POLICY`]), written
//! right after CreateGroup and read in the same account-read pages as everything else. A group without it is never
//! written to unless the spec adopts it, and never deleted.

use std::collections::{BTreeMap, HashMap};

use super::ownership::Conflict;
use super::principal::{
    foreign_notice, kept_notice, policy_changes, Policies, PolicyOps, NO_POLICIES,
};
use super::DiffOptions;
use crate::model::{group_owner_marker, Account, Group, GRANTS_POLICY, GROUP_OWNER_POLICY};
use crate::plan::{Action, Change, Notice, Op, Target};
use crate::spec::{Spec, SpecGroup};

/// The group the spec wants, as the account would hold it (marker and grants policy included).
#[must_use]
pub fn desired_group(spec: &Spec, sg: &SpecGroup) -> Group {
    desired_group_in(spec, sg, None)
}

/// [`desired_group`], with the account the spec's shared policies' ARNs name (default: the spec's `account_id`).
#[must_use]
pub fn desired_group_in(spec: &Spec, sg: &SpecGroup, account: Option<&str>) -> Group {
    let mut inline_policies = BTreeMap::new();
    inline_policies.insert(
        GROUP_OWNER_POLICY.to_owned(),
        group_owner_marker(&spec.owner),
    );
    if let Some(doc) = sg.grants_policy() {
        inline_policies.insert(GRANTS_POLICY.to_owned(), doc);
    }
    Group {
        name: sg.name.clone(),
        path: spec.path.clone(),
        inline_policies,
        attached_policies: sg
            .managed_policies
            .iter()
            .cloned()
            .chain(
                sg.policies
                    .iter()
                    .map(|p| super::desired::policy_arn(spec, account, p)),
            )
            .collect(),
    }
}

/// The spec's group names, lower-cased.
pub(super) fn spec_group_names(spec: &Spec) -> std::collections::HashSet<String> {
    spec.groups
        .iter()
        .map(|g| g.name.to_ascii_lowercase())
        .collect()
}

/// Live groups by lower-cased name.
pub(super) fn group_index(live: &Account) -> HashMap<String, &Group> {
    live.groups
        .values()
        .map(|g| (g.name.to_ascii_lowercase(), g))
        .collect()
}

/// Live users by the lower-cased names of the groups they are in.
fn members_by_group(live: &Account) -> HashMap<String, Vec<&str>> {
    let mut out: HashMap<String, Vec<&str>> = HashMap::new();
    for u in live.users.values() {
        for g in &u.groups {
            out.entry(g.to_ascii_lowercase())
                .or_default()
                .push(u.name.as_str());
        }
    }
    out
}

/// Whether the spec group `sg` may be written to as the live group `have`: `Ok(true)` owned, `Ok(false)` adopted.
pub(super) fn check_group_owner(
    spec: &Spec,
    sg: &SpecGroup,
    have: &Group,
) -> Result<bool, Conflict> {
    let conflict = |message: String, help: &str| Conflict {
        target: Target::Group(sg.name.clone()),
        message,
        help: help.to_owned(),
    };
    if have.name != sg.name {
        return Err(conflict(
            format!(
                "spec group `{}` matches live group `{}`: IAM group names are case-insensitive",
                sg.name, have.name
            ),
            &format!("rename the spec entry to `{}`", have.name),
        ));
    }
    match have.owner() {
        Some(owner) if owner == spec.owner => Ok(true),
        Some(other) if sg.adopt_from.as_deref() == Some(other.as_str()) => Ok(false),
        Some(other) => Err(conflict(
            format!("group `{}` is owned by `{other}`, not `{}`", sg.name, spec.owner),
            &super::ownership::from_owner_help("group", &other),
        )),
        None if sg.adopt_from.is_some() => Err(conflict(
            format!("group `{}` has no owner marker, but the spec takes it over from another owner only", sg.name),
            "use `adopt: true` for a group without a marker",
        )),
        None if sg.adopt => Ok(false),
        None => Err(conflict(
            format!(
                "group `{}` exists but is not owned by iamspec (no inline policy {GROUP_OWNER_POLICY} for `{}`)",
                sg.name, spec.owner
            ),
            "add `adopt: true` to the group to take it over (the plan will mark it)",
        )),
    }
}

/// Every group change and the notices about live groups. `--user` scopes a plan to users: then groups are left
/// out, like roles and shared policies.
pub(super) fn group_changes(
    spec: &Spec,
    live: &Account,
    opts: &DiffOptions,
    notices: &mut Vec<Notice>,
    conflicts: &mut Vec<Conflict>,
) -> Vec<Change> {
    if opts.only.is_some() {
        return Vec::new();
    }
    let index = group_index(live);
    let members = members_by_group(live);
    let spec_users: std::collections::HashSet<String> = spec
        .users
        .iter()
        .map(|u| u.name.to_ascii_lowercase())
        .collect();
    let mut out = Vec::new();
    for sg in &spec.groups {
        let want = desired_group_in(spec, sg, opts.account_id.as_deref());
        match index.get(&sg.name.to_ascii_lowercase()) {
            None => out.extend(create_group(&want)),
            Some(have) => match check_group_owner(spec, sg, have) {
                Ok(owned) => {
                    out.extend(update_group(&want, have, owned));
                    // iamspec is exclusive over an owned group's members: they are the spec users that list it
                    // (whose memberships the users' own changes keep); anyone else is out.
                    let strays = members
                        .get(&have.name.to_ascii_lowercase())
                        .into_iter()
                        .flatten()
                        .filter(|u| !spec_users.contains(&u.to_ascii_lowercase()));
                    out.extend(strays.map(|user| {
                        change(
                            Action::Delete,
                            Op::RemoveGroupMember {
                                group: have.name.clone(),
                                user: (*user).to_owned(),
                            },
                            "a member the spec does not list",
                        )
                    }));
                }
                Err(c) => conflicts.push(c),
            },
        }
    }
    let in_spec = spec_group_names(spec);
    for have in live.groups.values() {
        if in_spec.contains(&have.name.to_ascii_lowercase()) {
            continue;
        }
        let target = || Target::Group(have.name.clone());
        match have.owner() {
            Some(owner) if owner == spec.owner && spec.prune => {
                out.extend(delete_group(have, live))
            }
            Some(owner) if owner == spec.owner => notices.push(kept_notice(target())),
            // Unmarked groups are the account's (users may still list them in `groups`): only those under the
            // spec's path are worth a word.
            owner => notices.extend(foreign_notice(
                spec,
                target(),
                &have.path,
                owner.as_deref(),
                "iamspec's owner marker",
            )),
        }
    }
    out
}

fn change(action: Action, op: Op, reason: impl Into<String>) -> Change {
    Change::new(action, op, reason)
}

/// The group operations on a group's policies.
const GROUP_OPS: PolicyOps = PolicyOps {
    noun: "group",
    put: |group, name, doc| Op::PutGroupPolicy {
        group: group.to_owned(),
        policy_name: name.to_owned(),
        document: doc.clone(),
    },
    delete: |group, name| Op::DeleteGroupPolicy {
        group: group.to_owned(),
        policy_name: name.to_owned(),
    },
    attach: |group, arn| Op::AttachGroupPolicy {
        group: group.to_owned(),
        policy_arn: arn.to_owned(),
    },
    detach: |group, arn| Op::DetachGroupPolicy {
        group: group.to_owned(),
        policy_arn: arn.to_owned(),
    },
};

fn policies(group: &Group) -> Policies<'_> {
    Policies {
        inline: &group.inline_policies,
        attached: &group.attached_policies,
    }
}

/// CreateGroup, its owner marker, its grants and attachments.
fn create_group(want: &Group) -> Vec<Change> {
    let group = want.name.as_str();
    let mut out = vec![change(
        Action::Create,
        Op::CreateGroup {
            group: group.to_owned(),
            path: want.path.clone(),
        },
        "in the spec, not in the account",
    )];
    // The marker first: until it is written the group looks hand-made, and a crash there leaves it to adoption.
    out.push(change(
        Action::Create,
        Op::MarkGroup {
            group: group.to_owned(),
            document: want.inline_policies[GROUP_OWNER_POLICY].clone(),
        },
        "groups take no tags: this marks it as iamspec's",
    ));
    let (adds, _) = policy_changes(
        &GROUP_OPS,
        group,
        &policies(want),
        &NO_POLICIES,
        Some(GROUP_OWNER_POLICY),
    );
    out.extend(adds);
    out
}

/// The changes that make the live group `have` what `want` says; additions before removals.
fn update_group(want: &Group, have: &Group, owned: bool) -> Vec<Change> {
    let group = have.name.as_str();
    let mut adds = Vec::new();
    let mut removes = Vec::new();
    if !owned {
        adds.push(change(
            Action::Update,
            Op::MarkGroup {
                group: group.to_owned(),
                document: want.inline_policies[GROUP_OWNER_POLICY].clone(),
            },
            super::ownership::adoption_reason(have.owner().as_deref(), "the owner marker"),
        ));
    }
    let (more, fewer) = policy_changes(
        &GROUP_OPS,
        group,
        &policies(want),
        &policies(have),
        Some(GROUP_OWNER_POLICY),
    );
    adds.extend(more);
    removes.extend(fewer);
    adds.extend(removes);
    adds
}

/// Members out, policies (but the marker) deleted and detached, then the group with its marker.
fn delete_group(have: &Group, live: &Account) -> Vec<Change> {
    let why = "owned, not in the spec, prune: true";
    let group = have.name.as_str();
    let mut out = Vec::new();
    for u in live
        .users
        .values()
        .filter(|u| u.groups.iter().any(|g| g.eq_ignore_ascii_case(group)))
    {
        out.push(change(
            Action::Delete,
            Op::RemoveGroupMember {
                group: group.to_owned(),
                user: u.name.clone(),
            },
            why,
        ));
    }
    for name in have
        .inline_policies
        .keys()
        .filter(|n| *n != GROUP_OWNER_POLICY)
    {
        out.push(change(
            Action::Delete,
            Op::DeleteGroupPolicy {
                group: group.to_owned(),
                policy_name: name.clone(),
            },
            why,
        ));
    }
    for arn in &have.attached_policies {
        out.push(change(
            Action::Delete,
            Op::DetachGroupPolicy {
                group: group.to_owned(),
                policy_arn: arn.clone(),
            },
            why,
        ));
    }
    out.push(change(
        Action::Delete,
        Op::DeleteGroup {
            group: group.to_owned(),
        },
        why,
    ));
    out
}

/// Groups: IAM groups take no tags, so ownership is iamspec's marker policy inside the group.
pub(super) struct GroupKind;

impl super::kind::Kind for GroupKind {
    fn kind(&self) -> crate::plan::TargetKind {
        crate::plan::TargetKind::Group
    }

    fn section(&self) -> &'static str {
        "groups"
    }

    fn declared(&self, spec: &Spec, name: &str) -> bool {
        spec.groups.iter().any(|g| g.name == name)
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
        let live_groups = group_index(live);
        for sg in &spec.groups {
            let have = live_groups.get(&sg.name.to_ascii_lowercase());
            if let Some(right) =
                super::ownership::right_of(have, |have| check_group_owner(spec, sg, have))
            {
                grant(&sg.name, right);
            }
        }
        if spec.prune && spec.account_id.is_some() {
            let in_spec = spec_group_names(spec);
            for have in live.groups.values().filter(|g| {
                g.is_owned_by(&spec.owner) && !in_spec.contains(&g.name.to_ascii_lowercase())
            }) {
                grant(&have.name, Right::Prune);
            }
        }
    }

    fn live_state(&self, live: &Account, name: &str) -> Option<String> {
        live.find_group(name)
            .map(|g| serde_json::to_string(g).unwrap_or_default())
    }

    fn made_by(&self, live: &Account, op: &Op, owner: &str) -> super::kind::Existing {
        let Op::CreateGroup { group, path } = op else {
            return super::kind::Existing::Differs;
        };
        // Groups take no tags: only an empty group of that path, unmarked or marked by this owner, nobody in it.
        let same = live.find_group(group).is_some_and(|g| {
            g.name == *group
                && g.path == *path
                && g.attached_policies.is_empty()
                && g.inline_policies.keys().all(|k| k == GROUP_OWNER_POLICY)
                && (g.inline_policies.is_empty() || g.is_owned_by(owner))
                && !live
                    .users
                    .values()
                    .any(|u| u.groups.iter().any(|m| m.eq_ignore_ascii_case(group)))
        });
        super::kind::Existing::from(same)
    }

    fn reach(&self) -> super::kind::Reach {
        super::kind::Reach::Members
    }

    fn holds_access_keys(&self) -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diff::{diff, DiffOptions};
    use crate::model::User;

    const SPEC: &str = r#"
version: 1
account_id: "123456789012"
owner: media
prune: true
groups:
  media-writers:
    grants:
      - buckets: [photos-prod]
        access: read-write
    managed_policies: [arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess]
users:
  iam_pixelshift: { groups: [media-writers] }
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
    fn a_new_group_is_created_and_marked_before_its_members_join() {
        let spec = spec();
        let plan = diff(&spec, &Account::default(), &DiffOptions::default()).unwrap();
        assert_eq!(
            ops(&plan),
            [
                "CreateGroup group/media-writers",
                "PutGroupPolicy group/media-writers",
                "PutGroupPolicy group/media-writers",
                "AttachGroupPolicy group/media-writers",
                "CreateUser iam_pixelshift",
                "AddUserToGroup iam_pixelshift",
            ]
        );
        assert!(matches!(plan.changes[1].op, Op::MarkGroup { .. }));
        assert_eq!(
            plan.changes[1].op.describe(),
            "mark as owned by media (inline policy iamspec-owner; groups take no tags)"
        );
    }

    #[test]
    fn ownership_is_the_marker_adoption_writes_it_and_prune_empties_the_group() {
        let mut spec = spec();
        let sg = spec.groups[0].clone();
        let mut live = Account::default();
        let mut hand_made = desired_group(&spec, &sg);
        hand_made.inline_policies.remove(GROUP_OWNER_POLICY);
        live.groups
            .insert(hand_made.name.clone(), hand_made.clone());
        let crate::diff::DiffError::Conflicts(c) =
            diff(&spec, &live, &DiffOptions::default()).unwrap_err();
        assert!(c[0].message.contains("not owned by iamspec"), "{c:?}");
        // A marker naming another owner is that owner's group.
        let mut theirs = desired_group(&spec, &sg);
        theirs
            .inline_policies
            .insert(GROUP_OWNER_POLICY.into(), group_owner_marker("team-b"));
        live.groups.insert(theirs.name.clone(), theirs);
        let crate::diff::DiffError::Conflicts(c) =
            diff(&spec, &live, &DiffOptions::default()).unwrap_err();
        assert!(c[0].message.contains("owned by `team-b`"), "{c:?}");
        spec.groups[0].adopt = true;
        live.groups.insert(hand_made.name.clone(), hand_made);
        let plan = diff(&spec, &live, &DiffOptions::default()).unwrap();
        assert!(
            matches!(plan.changes[0].op, Op::MarkGroup { .. }),
            "{:?}",
            ops(&plan)
        );

        // Pruned: members out (whoever they are), policies, then the group; unmarked groups never.
        spec.groups.clear();
        spec.users.clear();
        let mut live = Account::default();
        let owned = desired_group(&spec, &sg);
        live.groups.insert(owned.name.clone(), owned);
        let mut unmarked = desired_group(&spec, &sg);
        unmarked.name = "hand-made".into();
        unmarked.inline_policies.remove(GROUP_OWNER_POLICY);
        live.groups.insert(unmarked.name.clone(), unmarked);
        let mut member = User::new("someone", "/");
        member.groups.insert("media-writers".into());
        live.users.insert(member.name.clone(), member);
        let plan = diff(&spec, &live, &DiffOptions::default()).unwrap();
        assert_eq!(
            ops(&plan),
            [
                "RemoveUserFromGroup group/media-writers",
                "DeleteGroupPolicy group/media-writers",
                "DetachGroupPolicy group/media-writers",
                "DeleteGroup group/media-writers",
            ]
        );
    }

    #[test]
    fn a_forged_marker_is_not_ownership() {
        let mut g = Group::default();
        let mut marker = group_owner_marker("media");
        marker.statements[0].effect = crate::policy::Effect::Allow;
        g.inline_policies.insert(GROUP_OWNER_POLICY.into(), marker);
        assert_eq!(g.owner(), None, "only the exact marker counts");
        g.inline_policies
            .insert(GROUP_OWNER_POLICY.into(), group_owner_marker("media"));
        assert!(g.is_owned_by("media"));
    }

    #[test]
    fn compliance_cis_flags_users_with_direct_permissions() {
        let text = "version: 1\ncompliance: cis\ngroups:\n  g: { grants: [{buckets: [b-one], access: read}] }\nusers:\n  direct: { grants: [{buckets: [b-one], access: read}] }\n  through: { groups: [g] }\n";
        let loaded = crate::spec::load("s.yaml", text).unwrap();
        let warnings: Vec<&str> = loaded
            .warnings
            .items
            .iter()
            .map(|d| d.field.as_str())
            .collect();
        assert_eq!(warnings, ["users.direct.grants"]);
        let without = text.replace("compliance: cis\n", "");
        assert!(crate::spec::load("s.yaml", &without)
            .unwrap()
            .warnings
            .items
            .is_empty());
    }
}
