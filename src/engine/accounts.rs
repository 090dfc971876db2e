//! Many accounts: which accounts a run covers, how each is reached, and how a run's accounts split into shards.
//! Pure: the organization's accounts come in as data (read by the backend); each account then runs the
//! single-account engine on [`crate::spec::Spec::for_account`].

use std::collections::BTreeSet;

use crate::backend::aws::{Assume, OrgAccount};
use crate::spec::Spec;

/// One account of a run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// Its name in the spec (an organization's account is named by its id).
    pub name: String,
    /// Its 12-digit id; every call is checked to land there.
    pub id: String,
    /// The role assumed there; `None` uses the caller's own credentials.
    pub assume: Option<Assume>,
}

impl Target {
    /// `prod (111111111111)`, or the id alone when it is the name.
    #[must_use]
    pub fn label(&self) -> String {
        if self.name == self.id {
            self.id.clone()
        } else {
            format!("{} ({})", self.name, self.id)
        }
    }
}

/// Part `index` (1-based) of `count` equal parts of a run's accounts: `--shard 2/4`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// Which part, from 1.
    pub index: usize,
    /// How many parts.
    pub count: usize,
}

impl std::str::FromStr for Shard {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("`{s}` is not a shard: write I/N, e.g. 1/4");
        let (i, n) = s.split_once('/').ok_or_else(bad)?;
        let index: usize = i.trim().parse().map_err(|_| bad())?;
        let count: usize = n.trim().parse().map_err(|_| bad())?;
        if count == 0 || count > 1000 || index == 0 || index > count {
            return Err(format!(
                "shard `{s}`: I must be between 1 and N, and N between 1 and 1000"
            ));
        }
        Ok(Self { index, count })
    }
}

/// Why a run has no accounts to work on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SelectError {
    /// `--account` names no account of the run.
    #[error("--account {given}: not an account of this spec{}", if *.discovered { " or of the organization" } else { "" })]
    Unknown {
        /// What was given.
        given: String,
        /// Whether the organization's accounts were searched too.
        discovered: bool,
        /// The closest name.
        suggestion: Option<String>,
    },
    /// Nothing is left (an empty organization, everything excluded, an empty shard).
    #[error("no account to work on{0}")]
    Empty(String),
}

/// The accounts a run of `spec` covers: the named ones in spec order, then the organization's active accounts
/// (by id) that are neither excluded nor named; narrowed to `only` (names or ids) and to `shard`.
///
/// # Errors
/// An `--account` that is none of them; nothing left to run.
pub fn select(
    spec: &Spec,
    organization: Option<&[OrgAccount]>,
    only: &[String],
    shard: Option<Shard>,
) -> Result<Vec<Target>, SelectError> {
    let Some(accounts) = &spec.accounts else {
        return Ok(Vec::new());
    };
    let session = crate::names::session_name(&spec.owner);
    let mut targets: Vec<Target> = accounts
        .named
        .iter()
        .map(|a| Target {
            name: a.name.clone(),
            id: a.id.clone(),
            assume: a.role_arn.as_ref().map(|arn| Assume {
                role_arn: arn.clone(),
                external_id: a.external_id.clone(),
                session_name: session.clone(),
            }),
        })
        .collect();
    if let (Some(org), Some(found)) = (&accounts.organization, organization) {
        let named: BTreeSet<&str> = accounts.named.iter().map(|a| a.id.as_str()).collect();
        let mut ids: Vec<&str> = found
            .iter()
            .filter(|a| a.active && !org.exclude.contains(&a.id) && !named.contains(a.id.as_str()))
            .map(|a| a.id.as_str())
            // Outside data: only what is an account id is taken.
            .filter(|id| crate::spec::is_account_id(id))
            .collect();
        ids.sort_unstable();
        ids.dedup();
        targets.extend(ids.into_iter().map(|id| Target {
            name: id.to_owned(),
            id: id.to_owned(),
            assume: Some(Assume {
                role_arn: format!("arn:aws:iam::{id}:role/{}", org.role),
                external_id: org.external_id.clone(),
                session_name: session.clone(),
            }),
        }));
    }
    if !only.is_empty() {
        for given in only {
            if !targets.iter().any(|t| t.name == *given || t.id == *given) {
                let suggestion =
                    crate::suggest::closest(given, targets.iter().map(|t| t.name.as_str()))
                        .map(str::to_owned);
                return Err(SelectError::Unknown {
                    given: given.clone(),
                    discovered: organization.is_some(),
                    suggestion,
                });
            }
        }
        targets.retain(|t| only.iter().any(|g| *g == t.name || *g == t.id));
    }
    if let Some(shard) = shard {
        // By id, so every shard of a matrix agrees whatever order the spec lists them in.
        let mut ids: Vec<String> = targets.iter().map(|t| t.id.clone()).collect();
        ids.sort_unstable();
        let mine: BTreeSet<&String> = ids
            .iter()
            .enumerate()
            .filter(|(i, _)| i % shard.count == shard.index - 1)
            .map(|(_, id)| id)
            .collect();
        targets.retain(|t| mine.contains(&t.id));
        if targets.is_empty() {
            return Err(SelectError::Empty(format!(
                " in shard {}/{} (the run has {} account(s))",
                shard.index,
                shard.count,
                ids.len()
            )));
        }
    }
    if targets.is_empty() {
        return Err(SelectError::Empty(if organization.is_some() {
            ": the organization has no active account that is not excluded".into()
        } else {
            String::new()
        }));
    }
    Ok(targets)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(text: &str) -> Spec {
        crate::spec::load("s.yaml", text).unwrap().spec
    }

    const TWO: &str = "version: 1\nowner: platform\naccounts:\n  prod: { id: \"111111111111\", role: deployer }\n  staging: { id: \"222222222222\", role_arn: \"arn:aws:iam::222222222222:role/ci/iamspec\", external_id: x-7f3a }\nusers:\n  a: {}\n  b: { accounts: [prod] }\n";

    fn org(ids: &[(&str, bool)]) -> Vec<OrgAccount> {
        ids.iter()
            .map(|(id, active)| OrgAccount {
                id: (*id).into(),
                name: format!("n{id}"),
                active: *active,
            })
            .collect()
    }

    #[test]
    fn named_accounts_assume_their_roles_and_objects_follow_their_lists() {
        let s = spec(TWO);
        let t = select(&s, None, &[], None).unwrap();
        assert_eq!(t.len(), 2);
        assert_eq!(
            t[0].assume.as_ref().unwrap().role_arn,
            "arn:aws:iam::111111111111:role/deployer"
        );
        assert_eq!(
            t[1].assume.as_ref().unwrap().external_id.as_deref(),
            Some("x-7f3a")
        );
        assert_eq!(
            t[1].assume.as_ref().unwrap().session_name,
            "iamspec-platform"
        );
        let prod = s.for_account("111111111111");
        let staging = s.for_account("222222222222");
        assert_eq!(prod.users.len(), 2);
        assert_eq!(staging.users.len(), 1);
        assert_eq!(staging.account_id.as_deref(), Some("222222222222"));
        assert!(staging.accounts.is_none());
    }

    #[test]
    fn narrowing_by_name_or_id_and_unknown_names() {
        let s = spec(TWO);
        let t = select(&s, None, &["222222222222".into()], None).unwrap();
        assert_eq!(t.len(), 1);
        assert_eq!(t[0].name, "staging");
        let e = select(&s, None, &["prd".into()], None).unwrap_err();
        assert!(
            matches!(&e, SelectError::Unknown { suggestion: Some(s), .. } if s == "prod"),
            "{e:?}"
        );
    }

    #[test]
    fn organization_accounts_are_active_not_excluded_and_not_named_twice() {
        let s = spec("version: 1\naccounts:\n  prod: { id: \"111111111111\", role: r }\norganization: { role: OrganizationAccountAccessRole, exclude: [\"333333333333\"] }\n");
        let found = org(&[
            ("111111111111", true),
            ("333333333333", true),
            ("444444444444", false),
            ("555555555555", true),
            ("not-an-id", true),
        ]);
        let t = select(&s, Some(&found), &[], None).unwrap();
        let ids: Vec<&str> = t.iter().map(|t| t.id.as_str()).collect();
        assert_eq!(ids, ["111111111111", "555555555555"]);
        assert_eq!(
            t[1].assume.as_ref().unwrap().role_arn,
            "arn:aws:iam::555555555555:role/OrganizationAccountAccessRole"
        );
    }

    #[test]
    fn shards_partition_the_accounts() {
        let s = spec("version: 1\norganization: { role: r }\n");
        let found = org(&(0..10)
            .map(|i| (format!("{i:012}"), true))
            .collect::<Vec<_>>()
            .iter()
            .map(|(id, a)| (id.as_str(), *a))
            .collect::<Vec<_>>());
        let mut seen = Vec::new();
        for i in 1..=3 {
            let shard = format!("{i}/3").parse().unwrap();
            for t in select(&s, Some(&found), &[], Some(shard)).unwrap() {
                seen.push(t.id);
            }
        }
        seen.sort();
        assert_eq!(seen.len(), 10);
        seen.dedup();
        assert_eq!(seen.len(), 10);
        assert!("0/3".parse::<Shard>().is_err());
        assert!("4/3".parse::<Shard>().is_err());
        assert!("x".parse::<Shard>().is_err());
        let e = select(&s, Some(&found[..1]), &[], Some("2/2".parse().unwrap())).unwrap_err();
        assert!(matches!(e, SelectError::Empty(_)));
    }

    #[test]
    fn session_names_stay_in_sts_alphabet() {
        use crate::names::session_name;
        assert!(session_name("web platform/x").starts_with("iamspec-web-platform-x-"));
        assert_eq!(session_name("platform"), "iamspec-platform");
        assert_eq!(session_name(&"a".repeat(100)).len(), 64);
    }
}
