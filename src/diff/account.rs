//! The whole plan: spec users (in parts, on every core), live users missing from the spec, and the spec's managed
//! policies, put in execution order.

use std::collections::BTreeSet;

use super::desired::DesiredUser;
use super::ownership::{check_owner, live_index, Caseless, Conflict};
use super::policies::policy_changes;
use super::prune::users_not_in_spec;
use super::user::{create_user, update_user};
use crate::model::{Account, User};
use crate::plan::{Change, Notice, Plan};
use crate::spec::{Spec, SpecUser};

/// Inputs of a diff besides the two sides.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DiffOptions {
    /// Current time, seconds since the epoch (key ages).
    pub now: i64,
    /// Limit the plan to these users (lower-cased), like terraform's `-target`.
    pub only: Option<BTreeSet<String>>,
    /// The account, for the ARNs of the spec's shared policies (default: the spec's `account_id`).
    pub account_id: Option<String>,
}

impl DiffOptions {
    /// Whether the user `name` is in this plan's scope.
    #[must_use]
    pub fn in_scope(&self, name: &str) -> bool {
        self.only
            .as_ref()
            .is_none_or(|o| o.contains(&name.to_ascii_lowercase()))
    }
}

/// Why no plan could be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DiffError {
    /// Spec objects iamspec may not write to.
    #[error("{} spec object(s) conflict with live objects iamspec does not own", .0.len())]
    Conflicts(Vec<Conflict>),
}

/// What one thread's part of the spec users gives: changes by user, conflicts and notices, each in spec order.
#[derive(Default)]
struct Part {
    changes: Vec<(String, Vec<Change>)>,
    conflicts: Vec<Conflict>,
    notices: Vec<Notice>,
}

/// Computes the plan that makes `live` match `spec`.
///
/// # Errors
/// [`DiffError::Conflicts`] when spec users match live users iamspec may not write to.
pub fn diff(spec: &Spec, live: &Account, opts: &DiffOptions) -> Result<Plan, DiffError> {
    let mut plan = Plan::new();
    let mut conflicts = Vec::new();
    let mut per_user: Vec<(String, Vec<Change>)> = Vec::new();
    let live_by_name = live_index(live);

    let in_scope: Vec<&SpecUser> = spec
        .users
        .iter()
        .filter(|u| opts.in_scope(&u.name))
        .collect();
    let parts = crate::par::map_parts(in_scope, crate::par::USERS_PER_THREAD, |part| {
        let mut out = Part::default();
        for su in part {
            let have = live_by_name.get(&Caseless(&su.name)).copied();
            match plan_spec_user(spec, su, have, opts, &mut out.notices) {
                Ok(changes) if changes.is_empty() => {}
                Ok(changes) => out.changes.push((su.name.clone(), changes)),
                Err(conflict) => out.conflicts.push(conflict),
            }
        }
        out
    });
    for part in parts {
        per_user.extend(part.changes);
        conflicts.extend(part.conflicts);
        plan.notices.extend(part.notices);
    }
    let (before, after) = policy_changes(spec, live, opts, &mut plan.notices, &mut conflicts);
    let roles = super::role::role_changes(spec, live, opts, &mut plan.notices, &mut conflicts);
    let groups = super::group::group_changes(spec, live, opts, &mut plan.notices, &mut conflicts);
    if spec.delegate {
        let name = crate::names::boundary_policy(&spec.owner);
        let made = live
            .policies
            .values()
            .any(|p| p.name.eq_ignore_ascii_case(&name) && p.path == spec.path);
        if !made {
            // Every principal is created with it, and the pipeline may write none without it.
            conflicts.push(super::ownership::Conflict {
                target: crate::plan::Target::Policy(name.clone()),
                message: format!(
                    "`delegate: true` needs the permissions boundary {name} under {}, which does not exist yet",
                    spec.path
                ),
                help: "run `iamspec bootstrap --apply` once with administrator credentials (the admin step); then plan again".into(),
            });
        }
    }
    if !conflicts.is_empty() {
        return Err(DiffError::Conflicts(conflicts));
    }
    users_not_in_spec(spec, live, opts, &mut per_user, &mut plan.notices);

    per_user.sort_by_cached_key(|(name, _)| (name.to_ascii_lowercase(), name.clone()));
    plan.changes = before
        .into_iter()
        .chain(groups)
        .chain(per_user.into_iter().flat_map(|(_, c)| c))
        .chain(roles)
        .chain(after)
        .collect();
    plan.notices.sort();
    Ok(plan)
}

/// The changes for one spec user, given the live user of its name (case-insensitively), if any.
fn plan_spec_user(
    spec: &Spec,
    su: &SpecUser,
    have: Option<&User>,
    opts: &DiffOptions,
    notices: &mut Vec<Notice>,
) -> Result<Vec<Change>, Conflict> {
    let want = DesiredUser::new(spec, su, opts.account_id.as_deref());
    Ok(match have {
        None => create_user(want, opts.now),
        Some(have) => {
            let owned = check_owner(spec, su, have)?;
            update_user(want, have, owned, opts.now, notices)
        }
    })
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use proptest::prelude::*;

    use super::*;
    use crate::diff::desired_user;
    use crate::model::OWNER_TAG;

    use crate::backend::local::LocalAccount;
    use crate::policy::{AccessLevel, Grant, GrantAccess};

    const NAMES: [&str; 5] = ["alice", "bob", "carol", "dave", "erin"];
    const BUCKETS: [&str; 3] = ["b-one", "b-two", "b-three"];
    const ARNS: [&str; 4] = [
        "arn:aws:iam::aws:policy/P1",
        "arn:aws:iam::aws:policy/P2",
        "arn:aws:iam::aws:policy/P3",
        "arn:aws:iam::aws:policy/P4",
    ];
    const GROUPS: [&str; 2] = ["g1", "g2"];

    fn subset<T: Clone + std::fmt::Debug + 'static>(
        items: &'static [T],
    ) -> impl Strategy<Value = Vec<T>> {
        proptest::sample::subsequence(items.to_vec(), 0..=items.len())
    }

    fn grant() -> impl Strategy<Value = Grant> {
        (
            proptest::sample::subsequence(BUCKETS.to_vec(), 1..=2),
            proptest::option::of(Just("p/")),
            0usize..4,
        )
            .prop_map(|(buckets, prefix, level)| Grant {
                buckets: buckets.into_iter().map(str::to_owned).collect(),
                prefix: prefix.map(str::to_owned),
                access: GrantAccess::Level(
                    [
                        AccessLevel::List,
                        AccessLevel::Read,
                        AccessLevel::Write,
                        AccessLevel::ReadWrite,
                    ][level],
                ),
                kms_keys: Vec::new(),
            })
    }

    fn tags() -> impl Strategy<Value = BTreeMap<String, String>> {
        proptest::collection::btree_map(
            proptest::sample::select(vec!["team", "env", "cost"]).prop_map(str::to_owned),
            proptest::sample::select(vec!["a", "b"]).prop_map(str::to_owned),
            0..3,
        )
    }

    fn spec_user(name: &'static str) -> impl Strategy<Value = SpecUser> {
        (
            proptest::collection::vec(grant(), 0..3),
            subset(&ARNS),
            subset(&GROUPS),
            tags(),
            proptest::option::of(Just(ARNS[0])),
        )
            .prop_map(move |(grants, arns, groups, tags, boundary)| SpecUser {
                tags: tags.into(),
                grants,
                managed_policies: arns.into_iter().map(str::to_owned).collect(),
                groups: groups.into_iter().map(str::to_owned).collect(),
                permissions_boundary: boundary.map(str::to_owned),
                adopt: true,
                ..SpecUser::new(name)
            })
    }

    /// A live user: the shape of a spec user plus stray inline policies, maybe owned.
    fn live_user(name: &'static str) -> impl Strategy<Value = (User, bool)> {
        (spec_user(name), any::<bool>(), any::<bool>(), proptest::option::of(Just("/")))
            .prop_map(move |(su, owned, stray, path)| {
                let spec = base_spec(Vec::new(), false);
                let mut u = desired_user(&spec, &su);
                if !owned {
                    u.tags.remove(OWNER_TAG);
                }
                if stray {
                    let doc = crate::policy::PolicyDocument::parse(
                        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sqs:*","Resource":"*"}]}"#,
                    )
                    .unwrap();
                    u.inline_policies.insert("stray".into(), doc);
                }
                if let Some(p) = path {
                    u.path = p.to_owned();
                }
                (u, owned)
            })
    }

    fn base_spec(users: Vec<SpecUser>, prune: bool) -> Spec {
        Spec {
            account_id: Some("123456789012".into()),
            prune,
            users,
            ..Spec::empty("iamspec")
        }
    }

    fn world() -> impl Strategy<Value = (Spec, Account)> {
        let per_name: Vec<_> = NAMES
            .iter()
            .map(|n| {
                (
                    proptest::option::of(spec_user(n)),
                    proptest::option::of(live_user(n)),
                )
            })
            .collect();
        (per_name, any::<bool>()).prop_map(|(entries, prune)| {
            let mut users = Vec::new();
            let mut live = Account::default();
            for (s, l) in entries {
                if let Some(s) = s {
                    users.push(s);
                }
                if let Some((u, _)) = l {
                    live.users.insert(u.name.clone(), u);
                }
            }
            (base_spec(users, prune), live)
        })
    }

    fn local(live: &Account) -> LocalAccount {
        let mut acct = LocalAccount::new("123456789012");
        acct.users = live.users.clone();
        acct.groups = GROUPS.iter().map(|g| (*g).to_owned()).collect();
        acct
    }

    /// What iamspec manages on a user (everything but path, ARN, keys and dependents).
    fn managed_view(u: &User) -> User {
        User {
            path: String::new(),
            arn: None,
            access_keys: Vec::new(),
            dependents: None,
            ..u.clone()
        }
    }

    proptest! {
        #[test]
        fn diff_of_desired_against_itself_is_empty((spec, _) in world()) {
            let mut live = Account::default();
            for su in &spec.users {
                let u = desired_user(&spec, su);
                live.users.insert(u.name.clone(), u);
            }
            let plan = diff(&spec, &live, &DiffOptions::default()).unwrap();
            prop_assert!(plan.changes.is_empty(), "{:?}", plan.changes);
        }

        #[test]
        fn applying_the_plan_converges_and_spares_foreign_users((spec, live) in world()) {
            let plan = diff(&spec, &live, &DiffOptions::default()).unwrap();
            let mut acct = local(&live);
            let mut rng = rand::rng();
            for c in &plan.changes {
                acct.apply(&c.op, 0, &mut rng).unwrap_or_else(|e| panic!("{c:?}: {e}"));
            }
            for su in &spec.users {
                let want = desired_user(&spec, su);
                let got = acct.users.get(&su.name).expect("spec user exists after apply");
                prop_assert_eq!(managed_view(got), managed_view(&want));
            }
            for (name, before) in &live.users {
                if spec.user(name).is_some() {
                    continue;
                }
                if before.is_owned_by(&spec.owner) && spec.prune {
                    prop_assert!(!acct.users.contains_key(name), "{} was not pruned", name);
                } else {
                    prop_assert_eq!(acct.users.get(name), Some(before), "{} was touched", name);
                }
            }
            let after = Account { users: acct.users.clone(), ..Account::default() };
            let again = diff(&spec, &after, &DiffOptions::default()).unwrap();
            prop_assert!(again.changes.is_empty(), "second plan: {:?}", again.changes);
        }

        #[test]
        fn plans_are_deterministic((spec, live) in world()) {
            let a = diff(&spec, &live, &DiffOptions::default()).unwrap();
            let b = diff(&spec, &live, &DiffOptions::default()).unwrap();
            prop_assert_eq!(serde_json::to_string(&a).unwrap(), serde_json::to_string(&b).unwrap());
        }
    }

    #[test]
    fn unowned_user_without_adopt_is_a_conflict_naming_it() {
        let mut su = SpecUser::new("alice");
        let mut live = Account::default();
        live.users.insert("Alice".into(), User::new("Alice", "/"));
        let err = diff(
            &base_spec(vec![su.clone()], false),
            &live,
            &DiffOptions::default(),
        )
        .unwrap_err();
        let DiffError::Conflicts(c) = err;
        assert!(c[0].message.contains("matches live user `Alice`"), "{c:?}");
        su.name = "Alice".into();
        let DiffError::Conflicts(c) =
            diff(&base_spec(vec![su], false), &live, &DiffOptions::default()).unwrap_err();
        assert!(c[0].message.contains("not owned by iamspec"), "{c:?}");
    }

    #[test]
    fn user_scope_limits_both_sides() {
        let spec = base_spec(Vec::new(), true);
        let mut live = Account::default();
        let mut owned = User::new("old", "/iamspec/");
        owned.tags.insert(OWNER_TAG.into(), "iamspec".into());
        live.users.insert("old".into(), owned);
        let only = DiffOptions {
            now: 0,
            only: Some(["someone-else".to_owned()].into()),
            account_id: None,
        };
        assert!(diff(&spec, &live, &only).unwrap().changes.is_empty());
        assert!(!diff(&spec, &live, &DiffOptions::default())
            .unwrap()
            .changes
            .is_empty());
    }
}
