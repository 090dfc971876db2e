//! Ownership: which live users a spec user may write to (the owner tag, `adopt`, case-insensitive names), and the
//! case-insensitive name index both sides are matched through.

use std::collections::{HashMap, HashSet};

use crate::model::{Account, User, OWNER_TAG};
use crate::spec::{Spec, SpecUser};

/// One spec object that cannot be planned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conflict {
    /// The spec's name.
    pub user: String,
    /// What is wrong.
    pub message: String,
    /// How to resolve it.
    pub help: String,
}

/// Whether the spec user `su` may be written to as the live user `have`: `Ok(true)` when iamspec owns it,
/// `Ok(false)` when the spec adopts it, a [`Conflict`] otherwise.
pub(super) fn check_owner(spec: &Spec, su: &SpecUser, have: &User) -> Result<bool, Conflict> {
    if have.name != su.name {
        return Err(Conflict {
            user: su.name.clone(),
            message: format!(
                "spec user `{}` matches live user `{}`: IAM user names are case-insensitive",
                su.name, have.name
            ),
            help: format!("rename the spec entry to `{}`", have.name),
        });
    }
    if have.is_owned_by(&spec.owner) {
        return Ok(true);
    }
    if let Some(other) = have.tags.get(OWNER_TAG) {
        return Err(Conflict {
            user: su.name.clone(),
            message: format!(
                "user `{}` is owned by `{other}`, not `{}`",
                su.name, spec.owner
            ),
            help: "two specs must not manage one user; remove it from one of them".into(),
        });
    }
    if !su.adopt {
        return Err(Conflict {
            user: su.name.clone(),
            message: format!(
                "user `{}` exists but is not owned by iamspec (no tag {OWNER_TAG}={})",
                su.name, spec.owner
            ),
            help: "add `adopt: true` to the user to take it over (the plan will tag it)".into(),
        });
    }
    Ok(false)
}

/// Spec user names, matched case-insensitively as IAM does; lookups must not be linear scans (accounts hold up
/// to 5,000 users, organisations' specs 100,000).
pub(super) fn spec_names(spec: &Spec) -> HashSet<Caseless<'_>> {
    spec.users.iter().map(|u| Caseless(&u.name)).collect()
}

/// Live users by name, case-insensitively.
pub(super) fn live_index(live: &Account) -> HashMap<Caseless<'_>, &User> {
    live.users
        .values()
        .map(|u| (Caseless(&u.name), u))
        .collect()
}

/// A user name compared and hashed as IAM compares names: ignoring ASCII case. Matching 100,000 names this way
/// costs no lower-cased copies.
#[derive(Debug, Clone, Copy)]
pub(super) struct Caseless<'a>(pub(super) &'a str);

impl PartialEq for Caseless<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.0.eq_ignore_ascii_case(other.0)
    }
}

impl Eq for Caseless<'_> {}

impl std::hash::Hash for Caseless<'_> {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        // IAM names are at most 64 bytes: one block, lower-cased on the stack, in the usual case.
        let mut block = [0u8; 64];
        for chunk in self.0.as_bytes().chunks(block.len()) {
            let block = &mut block[..chunk.len()];
            block.copy_from_slice(chunk);
            block.make_ascii_lowercase();
            state.write(block);
        }
        state.write_u8(0xff);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_match_ignoring_ascii_case_only() {
        let long = "a".repeat(70);
        let names = ["Alice", "bob", long.as_str(), "Zoë"];
        let index: HashSet<Caseless<'_>> = names.iter().map(|n| Caseless(n)).collect();
        assert!(index.contains(&Caseless("ALICE")));
        assert!(index.contains(&Caseless("Bob")));
        assert!(index.contains(&Caseless(&long.to_ascii_uppercase())));
        assert!(index.contains(&Caseless("ZOë")));
        assert!(
            !index.contains(&Caseless("ZOË")),
            "only ASCII case folds (IAM names are ASCII)"
        );
        assert!(!index.contains(&Caseless("alic")));
        assert!(!index.contains(&Caseless(&"a".repeat(64))));
    }
}
