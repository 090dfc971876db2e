//! Access keys: how many a user keeps, rotation by age without an outage, keys whose secret was never delivered,
//! and the bookkeeping tags (`iamspec:key:<id>`, `iamspec:keys-since`) that let a stateless diff tell them apart.

use std::collections::BTreeMap;

use crate::model::{
    is_internal_tag, AccessKey, KeyMark, KeyRecord, KeyStatus, KeyUse, User, KEYS_SINCE_TAG,
    KEY_TAG_PREFIX,
};
use crate::plan::{Action, Change, Notice, NoticeKind, Op, Target};
use crate::policy::ACCESS_KEY_LIMIT;
use crate::spec::KeyPolicy;

pub(super) const DAY: i64 = 86_400;

/// The record of key `id` in the user's tags, `None` without one.
fn record(have: &User, id: &str) -> Option<KeyMark> {
    have.tags
        .get(&format!("{KEY_TAG_PREFIX}{id}"))
        .map(|v| KeyRecord::parse(v).mark)
}

/// The tag value recording `mark` for `key`: with its creation time, which is what matches it to its slot in
/// the credential report.
fn recorded(key: &AccessKey, mark: KeyMark) -> String {
    KeyRecord {
        mark,
        created: Some(key.created),
    }
    .value()
}

/// Key changes by when they run: before additions, with them, or after; and the bookkeeping tag each remaining
/// key should carry.
#[derive(Default)]
pub(super) struct KeyChanges {
    pub(super) first: Vec<Change>,
    pub(super) adds: Vec<Change>,
    pub(super) removes: Vec<Change>,
    /// `iamspec:key:<id>` -> value, for every key that stays and carries (or gets) a tag.
    pub(super) marks: BTreeMap<String, String>,
}

impl KeyChanges {
    /// Whether this plan creates a key.
    pub(super) fn creates(&self) -> bool {
        self.adds
            .iter()
            .any(|c| matches!(c.op, Op::CreateAccessKey { .. }))
    }
}

fn delete_key(user: &str, id: &str, reason: String) -> Change {
    Change::new(
        Action::Delete,
        Op::DeleteAccessKey {
            user: user.into(),
            key_id: id.into(),
        },
        reason,
    )
}

fn deactivate_key(user: &str, id: &str, reason: &str) -> Change {
    Change::new(
        Action::Update,
        Op::UpdateAccessKey {
            user: user.into(),
            key_id: id.into(),
            status: KeyStatus::Inactive,
        },
        reason,
    )
}

/// `YYYY-MM-DD` of a time, for people.
fn day_of(t: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(t)
        .map(|d| d.date().to_string())
        .unwrap_or_else(|_| t.to_string())
}

/// Why an active key counts as unused under `max_unused_days`: last used longer ago than that, or never used
/// and older than that. A key whose last use is unknown is not judged.
fn unused(key: &AccessKey, policy: KeyPolicy, now: i64) -> Option<String> {
    let days = policy.max_unused_days?;
    let limit = i64::from(days) * DAY;
    match key.last_used? {
        KeyUse::At(t) if now - t > limit => Some(format!(
            "access key {} was last used on {} ({} days ago; max_unused_days {days})",
            key.id,
            day_of(t),
            (now - t) / DAY
        )),
        KeyUse::Never if now - key.created > limit => Some(format!(
            "access key {} was never used since it was made on {} (max_unused_days {days})",
            key.id,
            day_of(key.created)
        )),
        KeyUse::At(_) | KeyUse::Never => None,
    }
}

/// Key rotation without an outage, from live state alone (the tags are the record):
///
/// - a key whose secret was never delivered (created by iamspec, no tag, never used) is deleted first: nobody can
///   use it; one without a record that was used is someone's (made by hand): reported and kept;
/// - a key past `max_age_days` is replaced: the new key is created (and its secret delivered) before the old one
///   is deactivated, and the deactivation is recorded (`inactive:<time>`);
/// - an inactive key is deleted on an apply at least `grace_days` after its recorded deactivation, never by the
///   apply that deactivated it; one found inactive without a record starts its grace now;
/// - IAM allows two keys: with `count: 2` and no room, the oldest stale key is deleted to make room for its
///   replacement, one key per apply, so an active, delivered key always remains; an inactive key inside its
///   grace is never deleted to make room (the rotation waits, and says until when).
pub(super) fn plan_keys(
    name: &str,
    policy: KeyPolicy,
    have: &User,
    now: i64,
    notices: &mut Vec<Notice>,
) -> KeyChanges {
    let mut out = KeyChanges::default();
    let max_age = i64::from(policy.max_age_days) * DAY;
    let grace = i64::from(policy.grace_days) * DAY;
    let mut keys: Vec<&AccessKey> = have.access_keys.iter().collect();
    keys.sort_by_key(|k| (k.created, k.id.clone()));
    let notice = |kind, message: String| Notice {
        kind,
        target: Target::User(name.to_owned()),
        message,
    };
    let tag = |id: &str| format!("{KEY_TAG_PREFIX}{id}");

    let (mut fresh, mut stale, mut waiting) = (Vec::new(), Vec::new(), Vec::new());
    // Keys without a delivery record that someone used: not iamspec's to count, rotate or delete, but they take
    // one of IAM's two slots.
    let mut foreign = 0;
    let unrecorded: std::collections::HashSet<&str> =
        have.unrecorded_keys().map(|k| k.id.as_str()).collect();
    for key in keys {
        let m = record(have, &key.id);
        if unrecorded.contains(key.id.as_str()) {
            match key.last_used {
                Some(KeyUse::Never) => out.first.push(Change::new(
                    Action::Delete,
                    Op::DeleteUndeliveredKey {
                        user: name.into(),
                        key_id: key.id.clone(),
                    },
                    "created by iamspec, but its secret was never delivered (and it was never used)",
                )),
                used => {
                    foreign += 1;
                    let why = match used {
                        Some(KeyUse::At(t)) => format!("was used on {}", day_of(t)),
                        _ => "its last use could not be read".to_owned(),
                    };
                    notices.push(notice(
                        NoticeKind::UnrecordedKey,
                        format!(
                            "access key {} has no delivery record of iamspec's but {why}: made outside iamspec? It is kept, never deleted by iamspec; delete or deactivate it by hand if it should go",
                            key.id
                        ),
                    ));
                }
            }
            continue;
        }
        match (key.status, m) {
            (KeyStatus::Inactive, Some(KeyMark::Inactive(at)))
                if at <= now && now - at >= grace =>
            {
                out.first.push(delete_key(
                    name,
                    &key.id,
                    format!(
                        "inactive since {} (grace_days {})",
                        day_of(at),
                        policy.grace_days
                    ),
                ));
            }
            (KeyStatus::Inactive, m) => {
                // Grace starts at the recorded deactivation, or now for a key found inactive without one.
                let at = match m {
                    Some(KeyMark::Inactive(at)) => at,
                    None | Some(KeyMark::Delivered | KeyMark::Kept) => now,
                };
                out.marks
                    .insert(tag(&key.id), recorded(key, KeyMark::Inactive(at)));
                waiting.push((key, at));
                notices.push(notice(
                    NoticeKind::InactiveKey,
                    format!(
                        "inactive access key {} is deleted by an apply on or after {}",
                        key.id,
                        day_of(at + grace)
                    ),
                ));
            }
            (KeyStatus::Active, m) => {
                // A key without a record here predates iamspec's management of the user's keys (an unrecorded
                // newer one was handled above): recorded as kept, only so the credential report can be matched.
                let mark = match m {
                    None | Some(KeyMark::Kept) => KeyMark::Kept,
                    Some(KeyMark::Delivered | KeyMark::Inactive(_)) => KeyMark::Delivered,
                };
                out.marks.insert(tag(&key.id), recorded(key, mark));
                if now - key.created > max_age {
                    notices.push(notice(
                        NoticeKind::StaleKey,
                        format!(
                            "access key {} is {} days old (max_age_days {})",
                            key.id,
                            (now - key.created) / DAY,
                            policy.max_age_days
                        ),
                    ));
                    stale.push((key, "older than max_age_days; its replacement is active"));
                } else if let Some(unused) = unused(key, policy, now) {
                    notices.push(notice(NoticeKind::UnusedKey, unused));
                    stale.push((
                        key,
                        "unused for longer than max_unused_days; its replacement is active",
                    ));
                } else {
                    fresh.push(key);
                }
            }
        }
    }

    // More fresh keys than wanted (the count went down): the oldest are deactivated, then deleted after grace.
    let mut deactivate: Vec<(&AccessKey, &str)> = Vec::new();
    while fresh.len() > policy.count {
        deactivate.push((fresh.remove(0), "more active keys than access_keys.count"));
    }

    let live_after = fresh.len() + stale.len() + waiting.len() + deactivate.len() + foreign;
    let mut room = ACCESS_KEY_LIMIT.saturating_sub(live_after);
    let need = policy.count.saturating_sub(fresh.len());
    if need > room && room == 0 && waiting.is_empty() && deactivate.is_empty() {
        // No room and nothing to wait for: the oldest stale key goes first, if another active key remains.
        if !stale.is_empty() && fresh.len() + stale.len() >= 2 {
            let (k, _) = stale.remove(0);
            out.marks.remove(&tag(&k.id));
            out.first.push(delete_key(
                name,
                &k.id,
                "stale; IAM allows two keys, so it goes before its replacement (one per apply)"
                    .into(),
            ));
            room = 1;
        }
    }
    let creates = need.min(room);
    if creates < need && foreign > 0 && waiting.is_empty() {
        notices.push(notice(
            NoticeKind::UnrecordedKey,
            "a new access key waits for room: IAM allows two, and a key iamspec did not make holds one".into(),
        ));
    }
    if creates < need {
        if let Some((w, at)) = waiting.iter().min_by_key(|(_, at)| *at) {
            notices.push(notice(
                NoticeKind::InactiveKey,
                format!(
                    "a new access key waits for room: IAM allows two, and inactive key {} stays until {}",
                    w.id,
                    day_of(at + grace)
                ),
            ));
        }
    }
    for _ in 0..creates {
        out.adds.push(Change::new(
            Action::Create,
            Op::CreateAccessKey { user: name.into() },
            "access_keys.count",
        ));
    }
    // A stale key is deactivated only once enough fresh keys exist without it (after this apply's creates):
    // the newest stale keys stay active while they are still needed to reach `count`.
    let fresh_after = fresh.len() + creates;
    let keep_active = policy.count.saturating_sub(fresh_after);
    let retire = stale.len().saturating_sub(keep_active);
    deactivate.extend(stale.iter().take(retire).copied());
    for (k, reason) in deactivate {
        out.marks
            .insert(tag(&k.id), recorded(k, KeyMark::Inactive(now)));
        out.removes.push(deactivate_key(name, &k.id, reason));
    }
    out
}

/// iamspec's bookkeeping tags a live user should carry: with keys declared, `keys-since` (kept, or set when this
/// plan creates the first key) and each remaining key's mark (`delivered`, `inactive:<time>`); without keys
/// declared, whatever bookkeeping is there stays untouched.
pub(super) fn internal_tags(
    keys: Option<&KeyChanges>,
    have: &User,
    now: i64,
) -> BTreeMap<String, String> {
    let Some(keys) = keys else {
        return have
            .tags
            .iter()
            .filter(|(k, _)| is_internal_tag(k))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
    };
    let mut tags = keys.marks.clone();
    // Set when iamspec first creates a key for the user: keys older than the mark are someone else's.
    match have.tags.get(KEYS_SINCE_TAG) {
        Some(since) => {
            tags.insert(KEYS_SINCE_TAG.to_owned(), since.clone());
        }
        None if keys.creates() => {
            tags.insert(KEYS_SINCE_TAG.to_owned(), now.to_string());
        }
        None => {}
    }
    tags
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};

    use proptest::prelude::*;

    use super::*;
    use crate::backend::local::LocalAccount;
    use crate::backend::Outcome;
    use crate::diff::{diff, DiffOptions};
    use crate::model::OWNER_TAG;
    use crate::spec::{Spec, SpecUser};

    const GRACE_DAYS: u32 = 7;

    fn spec(count: usize, adopt: bool) -> Spec {
        Spec {
            users: vec![SpecUser {
                access_keys: Some(KeyPolicy {
                    count,
                    max_age_days: 90,
                    grace_days: GRACE_DAYS,
                    max_unused_days: None,
                }),
                adopt,
                ..SpecUser::new("svc")
            }],
            ..Spec::empty("iamspec")
        }
    }

    /// Applies plans on simulated days as the executor would (each new key's secret delivered, then tagged), and
    /// checks the safety rules after every single operation.
    struct Sim {
        acct: LocalAccount,
        spec: Spec,
        /// Keys whose secret reached someone: created and delivered here, or hand-made before iamspec.
        delivered: BTreeSet<String>,
        /// When each key was deactivated by an apply, in seconds.
        deactivated: BTreeMap<String, i64>,
    }

    impl Sim {
        fn new(count: usize) -> Self {
            Self {
                acct: LocalAccount::default(),
                spec: spec(count, false),
                delivered: BTreeSet::new(),
                deactivated: BTreeMap::new(),
            }
        }

        fn keys(&self) -> Vec<AccessKey> {
            self.acct
                .users
                .get("svc")
                .map(|u| u.access_keys.clone())
                .unwrap_or_default()
        }

        fn active_delivered(&self) -> usize {
            self.keys()
                .iter()
                .filter(|k| k.status == KeyStatus::Active && self.delivered.contains(&k.id))
                .count()
        }

        /// One apply at `now` (seconds): the ops, by API name.
        fn apply_at(&mut self, now: i64) -> Vec<String> {
            // Read as a backend reads: keys of the key user, with their use.
            let live = self.acct.view(&crate::backend::ReadScope {
                owner: "iamspec".into(),
                key_users: BTreeSet::from(["svc".to_owned()]),
            });
            let opts = DiffOptions {
                now,
                only: None,
                account_id: None,
            };
            let plan = diff(&self.spec, &live, &opts).unwrap();
            let mut rng = rand::rng();
            let had_key = self.active_delivered() > 0;
            for c in &plan.changes {
                if let Op::DeleteAccessKey { key_id, .. } = &c.op {
                    let was_active = self
                        .keys()
                        .iter()
                        .any(|k| &k.id == key_id && k.status == KeyStatus::Active);
                    match self.deactivated.get(key_id) {
                        Some(at) => assert!(
                            now - at >= i64::from(GRACE_DAYS) * DAY,
                            "{key_id} deleted {}s after its deactivation",
                            now - at
                        ),
                        // Never deactivated: only an undelivered key, or a stale one making room (count 2).
                        None => assert!(
                            !self.delivered.contains(key_id) || was_active,
                            "{key_id} deleted inactive without a recorded deactivation"
                        ),
                    }
                }
                match self.acct.apply(&c.op, now, &mut rng).unwrap() {
                    Outcome::AccessKey(k) => {
                        let tags = BTreeMap::from([(
                            format!("{KEY_TAG_PREFIX}{}", k.id),
                            KeyRecord::delivered(k.created).value(),
                        )]);
                        self.acct
                            .apply(&Op::TagUser { user: k.user, tags }, now, &mut rng)
                            .unwrap();
                        self.delivered.insert(k.id);
                    }
                    Outcome::Done => {}
                }
                if let Op::UpdateAccessKey {
                    key_id,
                    status: KeyStatus::Inactive,
                    ..
                } = &c.op
                {
                    self.deactivated.insert(key_id.clone(), now);
                }
                if had_key {
                    assert!(
                        self.active_delivered() >= 1,
                        "no active delivered key after {:?}: {:?}",
                        c.op,
                        self.keys()
                    );
                }
            }
            plan.changes
                .iter()
                .map(|c| c.op.api_name().to_owned())
                .collect()
        }

        fn day(&mut self, day: i64) -> Vec<String> {
            self.apply_at(day * DAY)
        }

        /// Days since creation and status of each key, oldest first.
        fn state(&self) -> Vec<(i64, KeyStatus)> {
            let mut keys = self.keys();
            keys.sort_by_key(|k| k.created);
            keys.iter().map(|k| (k.created / DAY, k.status)).collect()
        }
    }

    use KeyStatus::{Active, Inactive};

    /// regression: grace was counted from creation, so a 100-day-old key was deactivated and then deleted by the
    /// very next apply, seconds later.
    #[test]
    fn one_key_rotates_new_first_and_is_deleted_only_after_grace() {
        let mut sim = Sim::new(1);
        assert_eq!(sim.day(0), ["CreateUser", "CreateAccessKey"]);
        assert!(sim.day(90).is_empty(), "not stale at exactly 90 days");
        assert_eq!(
            sim.day(100),
            ["TagUser", "CreateAccessKey", "UpdateAccessKey"]
        );
        assert_eq!(sim.state(), [(0, Inactive), (100, Active)]);
        assert!(
            sim.apply_at(100 * DAY + 10).is_empty(),
            "seconds later: nothing deleted"
        );
        assert!(sim.day(106).is_empty(), "inside the grace period");
        assert_eq!(sim.day(107), ["DeleteAccessKey", "UntagUser"]);
        assert_eq!(sim.state(), [(100, Active)]);
        assert!(sim.day(108).is_empty());
    }

    /// regression: with `count: 2` and both keys stale, both were deleted at once.
    #[test]
    fn two_stale_keys_rotate_one_per_apply() {
        let mut sim = Sim::new(2);
        assert_eq!(
            sim.day(0),
            ["CreateUser", "CreateAccessKey", "CreateAccessKey"]
        );
        assert_eq!(
            sim.day(91),
            ["DeleteAccessKey", "CreateAccessKey", "UntagUser"]
        );
        assert_eq!(sim.state(), [(0, Active), (91, Active)]);
        assert_eq!(
            sim.day(92),
            ["DeleteAccessKey", "CreateAccessKey", "UntagUser"]
        );
        assert_eq!(sim.state(), [(91, Active), (92, Active)]);
        assert!(sim.day(93).is_empty());
    }

    #[test]
    fn a_missed_month_rotates_on_the_next_apply_and_still_waits_for_grace() {
        let mut sim = Sim::new(1);
        sim.day(0);
        assert_eq!(
            sim.day(130),
            ["TagUser", "CreateAccessKey", "UpdateAccessKey"]
        );
        assert!(sim.day(136).is_empty());
        assert_eq!(sim.day(137), ["DeleteAccessKey", "UntagUser"]);
    }

    #[test]
    fn an_adopted_users_old_key_is_replaced_then_deleted_after_grace() {
        let mut sim = Sim::new(1);
        sim.spec = spec(1, true);
        let mut rng = rand::rng();
        sim.acct
            .apply(
                &Op::CreateUser {
                    user: "svc".into(),
                    path: "/".into(),
                    tags: BTreeMap::new(),
                    permissions_boundary: None,
                },
                0,
                &mut rng,
            )
            .unwrap();
        let Outcome::AccessKey(old) = sim
            .acct
            .apply(&Op::CreateAccessKey { user: "svc".into() }, 0, &mut rng)
            .unwrap()
        else {
            panic!("no key")
        };
        sim.delivered.insert(old.id);
        // The first run sees a 200-day-old key someone made by hand.
        assert_eq!(
            sim.day(200),
            ["TagUser", "CreateAccessKey", "UpdateAccessKey"],
            "adopt, replace, deactivate"
        );
        assert_eq!(sim.state(), [(0, Inactive), (200, Active)]);
        assert!(sim.day(206).is_empty());
        assert_eq!(sim.day(207), ["DeleteAccessKey", "UntagUser"]);
    }

    #[test]
    fn a_key_found_inactive_starts_its_grace_at_first_sight() {
        let mut sim = Sim::new(1);
        sim.day(0);
        let id = sim.keys()[0].id.clone();
        // Someone deactivates it by hand on day 40.
        sim.acct
            .apply(
                &Op::UpdateAccessKey {
                    user: "svc".into(),
                    key_id: id.clone(),
                    status: Inactive,
                },
                40 * DAY,
                &mut rand::rng(),
            )
            .unwrap();
        assert_eq!(sim.day(50), ["TagUser", "CreateAccessKey"]);
        assert_eq!(
            sim.acct.users["svc"].tags[&format!("{KEY_TAG_PREFIX}{id}")],
            format!("inactive:{}@0", 50 * DAY)
        );
        sim.deactivated.insert(id, 50 * DAY);
        assert!(sim.day(56).is_empty());
        assert_eq!(sim.day(57), ["DeleteAccessKey", "UntagUser"]);
    }

    #[test]
    fn a_key_without_delivery_is_replaced() {
        let mut sim = Sim::new(1);
        sim.day(0);
        // A crash between CreateAccessKey and storing the secret: a key with no delivery tag.
        let tag = sim.acct.users["svc"]
            .tags
            .keys()
            .find(|k| k.starts_with(KEY_TAG_PREFIX))
            .unwrap()
            .clone();
        let id = tag.trim_start_matches(KEY_TAG_PREFIX).to_owned();
        sim.delivered.remove(&id);
        sim.acct
            .apply(
                &Op::UntagUser {
                    user: "svc".into(),
                    keys: vec![tag],
                },
                DAY,
                &mut rand::rng(),
            )
            .unwrap();
        assert_eq!(sim.day(1), ["DeleteAccessKey", "CreateAccessKey"]);
        assert_eq!(sim.keys().len(), 1);
        assert!(sim.day(2).is_empty());
    }

    /// regression: a key made by hand on a user whose keys iamspec manages was taken for one whose secret was
    /// never delivered, and deleted, breaking whoever used it.
    #[test]
    fn a_key_made_by_hand_and_used_is_kept_and_reported() {
        let mut sim = Sim::new(1);
        sim.day(0);
        let mut rng = rand::rng();
        let Outcome::AccessKey(k) = sim
            .acct
            .apply(&Op::CreateAccessKey { user: "svc".into() }, DAY, &mut rng)
            .unwrap()
        else {
            panic!("a key")
        };
        let used = 2 * DAY;
        sim.acct.users.get_mut("svc").unwrap().access_keys[1].last_used = Some(KeyUse::At(used));
        let live = sim.acct.view(&crate::backend::ReadScope {
            owner: "iamspec".into(),
            key_users: BTreeSet::from(["svc".to_owned()]),
        });
        let opts = DiffOptions {
            now: 3 * DAY,
            only: None,
            account_id: None,
        };
        let plan = diff(&sim.spec, &live, &opts).unwrap();
        assert!(plan.changes.is_empty(), "{:?}", plan.changes);
        let n = plan
            .notices
            .iter()
            .find(|n| n.kind == NoticeKind::UnrecordedKey)
            .expect("reported");
        assert!(
            n.message.contains(&k.id) && n.message.contains("used on"),
            "{}",
            n.message
        );
        // Applies go on without touching it; the spec's own key stays the only one iamspec counts.
        for day in 3..200 {
            sim.day(day);
            assert!(sim.keys().iter().any(|key| key.id == k.id), "day {day}");
        }
        // Never used: the same key is one whose secret iamspec lost, and it goes.
        sim.acct
            .users
            .get_mut("svc")
            .unwrap()
            .access_keys
            .iter_mut()
            .for_each(|key| {
                if key.id == k.id {
                    key.last_used = None;
                }
            });
        assert!(sim.day(200).contains(&"DeleteAccessKey".to_owned()));
        assert!(!sim.keys().iter().any(|key| key.id == k.id));
    }

    #[test]
    fn keys_older_than_keys_since_are_kept_on_adoption() {
        let mut sim = Sim::new(1);
        sim.spec = spec(1, true);
        let mut rng = rand::rng();
        sim.acct
            .apply(
                &Op::CreateUser {
                    user: "svc".into(),
                    path: "/".into(),
                    tags: BTreeMap::new(),
                    permissions_boundary: None,
                },
                0,
                &mut rng,
            )
            .unwrap();
        sim.acct
            .apply(&Op::CreateAccessKey { user: "svc".into() }, 0, &mut rng)
            .unwrap();
        assert_eq!(sim.day(10), ["TagUser"], "the hand-made key is not touched");
        assert!(sim.acct.users["svc"].is_owned_by("iamspec"));
        assert_eq!(sim.keys().len(), 1);
        assert!(sim.day(11).is_empty());
        assert!(!sim.acct.users["svc"].tags.contains_key(OWNER_TAG) || sim.day(12).is_empty());
    }

    #[test]
    fn a_key_unused_past_max_unused_days_is_replaced_like_a_stale_one() {
        let mut sim = Sim::new(1);
        if let Some(k) = sim.spec.users[0].access_keys.as_mut() {
            k.max_unused_days = Some(30);
        }
        sim.day(0);
        // Used on day 20: judged from then on.
        sim.acct.users.get_mut("svc").unwrap().access_keys[0].last_used =
            Some(KeyUse::At(20 * DAY));
        assert!(sim.day(31).is_empty(), "used 11 days ago");
        assert!(sim.day(50).is_empty(), "used exactly 30 days ago");
        assert_eq!(
            sim.day(51),
            ["TagUser", "CreateAccessKey", "UpdateAccessKey"],
            "unused for 31 days: replaced, the new key first"
        );
        // The new key was never used; its age counts from its creation, and the old one goes after grace.
        assert_eq!(sim.day(58), ["DeleteAccessKey", "UntagUser"]);
        assert!(sim.day(81).is_empty(), "30 days old, never used: not yet");
        assert_eq!(
            sim.day(82),
            ["TagUser", "CreateAccessKey", "UpdateAccessKey"]
        );
        // Without the field, use is not judged.
        let mut plain = Sim::new(1);
        plain.day(0);
        assert!(plain.day(89).is_empty());
    }

    #[test]
    fn an_unused_key_is_named_with_its_last_use() {
        let mut sim = Sim::new(1);
        if let Some(k) = sim.spec.users[0].access_keys.as_mut() {
            k.max_unused_days = Some(30);
        }
        sim.day(0);
        let live = sim.acct.view(&crate::backend::ReadScope {
            owner: "iamspec".into(),
            key_users: BTreeSet::from(["svc".to_owned()]),
        });
        let opts = DiffOptions {
            now: 40 * DAY,
            only: None,
            account_id: None,
        };
        let plan = diff(&sim.spec, &live, &opts).unwrap();
        let n = plan
            .notices
            .iter()
            .find(|n| n.kind == NoticeKind::UnusedKey)
            .expect("reported");
        assert!(
            n.message
                .contains("never used since it was made on 1970-01-01"),
            "{}",
            n.message
        );
    }

    proptest! {
        /// Any schedule of applies (gaps from hours to months) keeps the rules, and reaches a steady state with
        /// `count` active keys and nothing else once applies become frequent.
        #[test]
        fn any_schedule_of_applies_is_safe(
            count in 1usize..=2,
            gaps in proptest::collection::vec(0i64..(120 * DAY), 1..25),
        ) {
            let mut sim = Sim::new(count);
            let mut now = 0;
            sim.apply_at(now);
            for gap in gaps {
                now += gap;
                sim.apply_at(now);
                let active = sim.keys().iter().filter(|k| k.status == Active).count();
                prop_assert!(active >= 1.min(count));
                prop_assert!(sim.keys().len() <= ACCESS_KEY_LIMIT);
            }
            // Once applies are daily: exactly `count` active keys, none stale, and any inactive key is inside
            // the grace period that started when it was deactivated.
            for _ in 0..3 {
                now += DAY;
                sim.apply_at(now);
            }
            let keys = sim.keys();
            let active: Vec<&AccessKey> = keys.iter().filter(|k| k.status == Active).collect();
            prop_assert_eq!(active.len(), count, "{:?}", keys);
            // Rotation replaces one stale key per apply, so a key that went stale at one of the last applies may
            // still wait for its turn: at most `count - 1` days.
            let allowed = (90 + count as i64 - 1) * DAY;
            prop_assert!(active.iter().all(|k| now - k.created <= allowed), "{:?}", keys);
            for k in keys.iter().filter(|k| k.status == Inactive) {
                let at = sim.deactivated[&k.id];
                prop_assert!(now - at < i64::from(GRACE_DAYS) * DAY, "{:?} deactivated at {}", k, at);
            }
        }
    }
}
