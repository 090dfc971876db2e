//! Access keys: how many a user keeps, rotation by age, keys whose secret was never delivered, and the
//! bookkeeping tags that let a stateless diff tell them apart.

use std::collections::BTreeMap;

use crate::model::{is_internal_tag, AccessKey, KeyStatus, User, KEYS_SINCE_TAG, KEY_TAG_PREFIX};
use crate::plan::{Action, Change, Notice, NoticeKind, Op, Target};
use crate::policy::ACCESS_KEY_LIMIT;
use crate::spec::KeyPolicy;

pub(super) const DAY: i64 = 86_400;

/// Key changes by when they run: before additions, with them, or after.
#[derive(Default)]
pub(super) struct KeyChanges {
    pub(super) first: Vec<Change>,
    pub(super) adds: Vec<Change>,
    pub(super) removes: Vec<Change>,
}

impl KeyChanges {
    /// Ids of the keys this plan deletes (their delivery tags go with them).
    pub(super) fn deleted(&self) -> impl Iterator<Item = &str> {
        self.first
            .iter()
            .chain(&self.removes)
            .filter_map(|c| match &c.op {
                Op::DeleteAccessKey { key_id, .. } => Some(key_id.as_str()),
                _ => None,
            })
    }

    /// Whether this plan creates a key.
    pub(super) fn creates(&self) -> bool {
        self.adds
            .iter()
            .any(|c| matches!(c.op, Op::CreateAccessKey { .. }))
    }
}

fn delete_key(user: &str, id: &str, reason: &str) -> Change {
    Change::new(
        Action::Delete,
        Op::DeleteAccessKey {
            user: user.into(),
            key_id: id.into(),
        },
        reason,
    )
}

/// Key rotation without state: a key past `max_age_days` is replaced (new key first) and deactivated; an inactive
/// key past `max_age_days + grace_days` is deleted, which is at least `grace_days` after its deactivation.
pub(super) fn plan_keys(
    name: &str,
    policy: KeyPolicy,
    have: &User,
    now: i64,
    notices: &mut Vec<Notice>,
) -> KeyChanges {
    let mut out = KeyChanges::default();
    let max_age = i64::from(policy.max_age_days) * DAY;
    let expire = max_age + i64::from(policy.grace_days) * DAY;
    let mut keys: Vec<_> = have.access_keys.iter().collect();
    keys.sort_by_key(|k| (k.created, k.id.clone()));
    let age = |k: &AccessKey| now - k.created;
    let mut deletes: Vec<(&str, &str)> = Vec::new();
    let mut deactivate = Vec::new();
    let mut fresh: Vec<&AccessKey> = Vec::new();
    let mut waiting = Vec::new();
    let since: Option<i64> = have.tags.get(KEYS_SINCE_TAG).and_then(|v| v.parse().ok());
    for key in &keys {
        let undelivered = since.is_some_and(|s| key.created >= s)
            && !have
                .tags
                .contains_key(&format!("{KEY_TAG_PREFIX}{}", key.id));
        if undelivered {
            deletes.push((
                &key.id,
                "created by iamspec, but its secret was never delivered",
            ));
            continue;
        }
        match key.status {
            KeyStatus::Inactive if age(key) >= expire => {
                deletes.push((&key.id, "inactive past its grace period"))
            }
            KeyStatus::Inactive => waiting.push(*key),
            KeyStatus::Active if age(key) > max_age => {
                notices.push(Notice {
                    kind: NoticeKind::StaleKey,
                    target: Target::User(name.to_owned()),
                    message: format!(
                        "access key {} is {} days old (max_age_days {})",
                        key.id,
                        age(key) / DAY,
                        policy.max_age_days
                    ),
                });
                deactivate.push(*key);
            }
            KeyStatus::Active => fresh.push(key),
        }
    }
    // More fresh keys than wanted: the oldest go.
    while fresh.len() > policy.count {
        let k = fresh.remove(0);
        deletes.push((&k.id, "more active keys than access_keys.count"));
    }
    let creates = policy.count - fresh.len();
    // Stay within IAM's two keys: make room by deleting waiting inactive keys, then stale ones, oldest first.
    let mut total = keys.len() - deletes.len();
    let mut room_first: Vec<(&str, &str)> = Vec::new();
    let mut waiting_iter = waiting.iter();
    let mut stale_iter = deactivate.clone().into_iter();
    let mut deactivated = Vec::new();
    while total + creates > ACCESS_KEY_LIMIT {
        if let Some(k) = waiting_iter.next() {
            room_first.push((&k.id, "makes room for a new key"));
        } else if let Some(k) = stale_iter.next() {
            room_first.push((&k.id, "stale; makes room for its replacement"));
            deactivated.push(k.id.clone());
        } else {
            break;
        }
        total -= 1;
    }
    for k in waiting_iter {
        notices.push(Notice {
            kind: NoticeKind::InactiveKey,
            target: Target::User(name.to_owned()),
            message: format!(
                "inactive access key {} is deleted {} days after creation",
                k.id,
                expire / DAY
            ),
        });
    }
    for (id, reason) in room_first {
        out.first.push(delete_key(name, id, reason));
    }
    for _ in 0..creates {
        out.adds.push(Change::new(
            Action::Create,
            Op::CreateAccessKey { user: name.into() },
            "access_keys.count",
        ));
    }
    for k in deactivate.iter().filter(|k| !deactivated.contains(&k.id)) {
        out.removes.push(Change::new(
            Action::Update,
            Op::UpdateAccessKey {
                user: name.into(),
                key_id: k.id.clone(),
                status: KeyStatus::Inactive,
            },
            "older than max_age_days; replaced",
        ));
    }
    // Keys nobody can or should use go before any new key: they count against IAM's limit of two.
    for (id, reason) in deletes {
        out.first.push(delete_key(name, id, reason));
    }
    out
}

/// iamspec's bookkeeping tags a live user should carry: with keys declared, `keys-since` (kept, or set when this
/// plan creates the first key) and the delivery tags of keys that still exist; without, whatever bookkeeping is
/// there stays untouched.
pub(super) fn internal_tags(
    declares_keys: bool,
    have: &User,
    now: i64,
    creates_keys: bool,
) -> BTreeMap<String, String> {
    let mut tags: BTreeMap<String, String> = BTreeMap::new();
    if !declares_keys {
        tags.extend(
            have.tags
                .iter()
                .filter(|(k, _)| is_internal_tag(k))
                .map(|(k, v)| (k.clone(), v.clone())),
        );
        return tags;
    }
    // Set when iamspec first creates a key for the user: keys older than the mark are someone else's.
    match have.tags.get(KEYS_SINCE_TAG) {
        Some(since) => {
            tags.insert(KEYS_SINCE_TAG.to_owned(), since.clone());
        }
        None if creates_keys => {
            tags.insert(KEYS_SINCE_TAG.to_owned(), now.to_string());
        }
        None => {}
    }
    for key in &have.access_keys {
        let tag = format!("{KEY_TAG_PREFIX}{}", key.id);
        if let Some(v) = have.tags.get(&tag) {
            tags.insert(tag, v.clone());
        }
    }
    tags
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};

    use super::*;
    use crate::backend::local::LocalAccount;
    use crate::backend::Outcome;
    use crate::diff::{diff, DiffOptions};
    use crate::model::Account;
    use crate::spec::KeyPolicy;
    use crate::spec::{Spec, SpecUser};

    fn spec(count: usize) -> Spec {
        Spec {
            account_id: None,
            owner: "iamspec".into(),
            path: "/iamspec/".into(),
            prune: false,
            ignore_tags: BTreeSet::new(),
            max_attached: 10,
            ignore: Vec::new(),
            policies: Vec::new(),
            users: vec![SpecUser {
                access_keys: Some(KeyPolicy {
                    count,
                    max_age_days: 90,
                    grace_days: 7,
                }),
                ..SpecUser::new("svc")
            }],
        }
    }

    /// Plans and applies on simulated day `day`, delivering secrets as the executor does. Returns the ops.
    fn day(acct: &mut LocalAccount, spec: &Spec, day: i64) -> Vec<String> {
        let now = day * DAY;
        let live = Account {
            users: acct.users.clone(),
            ..Account::default()
        };
        let plan = diff(
            spec,
            &live,
            &DiffOptions {
                now,
                only: None,
                account_id: None,
            },
        )
        .unwrap();
        let mut rng = rand::rng();
        for c in &plan.changes {
            if let Outcome::AccessKey(k) = acct.apply(&c.op, now, &mut rng).unwrap() {
                let tags =
                    BTreeMap::from([(format!("{KEY_TAG_PREFIX}{}", k.id), "delivered".to_owned())]);
                acct.apply(&Op::TagUser { user: k.user, tags }, now, &mut rng)
                    .unwrap();
            }
        }
        plan.changes
            .iter()
            .map(|c| c.op.api_name().to_owned())
            .collect()
    }

    fn statuses(acct: &LocalAccount) -> Vec<(i64, KeyStatus)> {
        acct.users["svc"]
            .access_keys
            .iter()
            .map(|k| (k.created / DAY, k.status))
            .collect()
    }

    #[test]
    fn one_key_rotates_new_first_then_deletes_after_grace() {
        let mut acct = LocalAccount::default();
        let s = spec(1);
        assert_eq!(day(&mut acct, &s, 0), vec!["CreateUser", "CreateAccessKey"]);
        assert!(
            day(&mut acct, &s, 90).is_empty(),
            "not stale at exactly 90 days"
        );
        assert_eq!(
            day(&mut acct, &s, 91),
            vec!["CreateAccessKey", "UpdateAccessKey"]
        );
        assert_eq!(
            statuses(&acct),
            vec![(0, KeyStatus::Inactive), (91, KeyStatus::Active)]
        );
        assert!(day(&mut acct, &s, 96).is_empty(), "inside the grace period");
        assert_eq!(day(&mut acct, &s, 97), vec!["DeleteAccessKey", "UntagUser"]);
        assert_eq!(statuses(&acct), vec![(91, KeyStatus::Active)]);
        assert!(day(&mut acct, &s, 98).is_empty());
    }

    #[test]
    fn two_keys_delete_the_stale_one_first() {
        let mut acct = LocalAccount::default();
        let s = spec(2);
        assert_eq!(
            day(&mut acct, &s, 0),
            vec!["CreateUser", "CreateAccessKey", "CreateAccessKey"]
        );
        let ops = day(&mut acct, &s, 91);
        assert_eq!(
            &ops[..4],
            [
                "DeleteAccessKey",
                "DeleteAccessKey",
                "CreateAccessKey",
                "CreateAccessKey"
            ]
        );
        assert_eq!(
            statuses(&acct),
            vec![(91, KeyStatus::Active), (91, KeyStatus::Active)]
        );
        assert!(day(&mut acct, &s, 92).is_empty());
    }

    #[test]
    fn a_key_without_delivery_is_replaced() {
        let mut acct = LocalAccount::default();
        let s = spec(1);
        day(&mut acct, &s, 0);
        // A crash between CreateAccessKey and storing the secret: a key with no delivery tag.
        let mut rng = rand::rng();
        let tag = acct.users["svc"]
            .tags
            .keys()
            .find(|k| k.starts_with(KEY_TAG_PREFIX))
            .unwrap()
            .clone();
        acct.apply(
            &Op::UntagUser {
                user: "svc".into(),
                keys: vec![tag],
            },
            DAY,
            &mut rng,
        )
        .unwrap();
        assert_eq!(
            day(&mut acct, &s, 1),
            vec!["DeleteAccessKey", "CreateAccessKey"]
        );
        assert_eq!(acct.users["svc"].access_keys.len(), 1);
        assert!(day(&mut acct, &s, 2).is_empty());
    }

    #[test]
    fn keys_older_than_keys_since_are_kept_on_adoption() {
        let mut acct = LocalAccount::default();
        let mut rng = rand::rng();
        acct.apply(
            &Op::CreateUser {
                user: "svc".into(),
                path: "/".into(),
                tags: BTreeMap::new(),
            },
            0,
            &mut rng,
        )
        .unwrap();
        acct.apply(&Op::CreateAccessKey { user: "svc".into() }, 0, &mut rng)
            .unwrap();
        let mut s = spec(1);
        s.users[0].adopt = true;
        assert_eq!(
            day(&mut acct, &s, 10),
            vec!["TagUser"],
            "the hand-made key is not touched"
        );
        assert_eq!(acct.users["svc"].access_keys.len(), 1);
        assert!(day(&mut acct, &s, 11).is_empty());
    }
}
