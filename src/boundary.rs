//! The permissions boundary of a `delegate: true` spec: the most any principal iamspec creates or writes may do,
//! derived from what the spec may grant (every grant, raw policy, shared policy and the documents of the managed
//! policies it attaches). The admin step (`iamspec bootstrap --apply`) writes it; the pipeline can only create or
//! write principals that carry it, so nothing it writes reaches further. Pure: managed documents are passed in.

use std::collections::BTreeMap;

use crate::policy::{render_grants, Effect, PolicyDocument};
use crate::spec::Spec;

/// Actions whose presence in the boundary makes it no cap at all: whoever holds them can grant themselves anything.
const ESCALATING: [&str; 4] = ["*", "iam:*", "iam:put*", "iam:attach*"];

/// The boundary and what people should know about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Boundary {
    /// The document.
    pub document: PolicyDocument,
    /// Where it is wide, and why.
    pub notes: Vec<String>,
    /// Why the cap is meaningless (the spec's own needs include administering IAM), if it is.
    pub admin_equivalent: Vec<String>,
}

/// Every managed-policy ARN the spec attaches to users, roles or groups.
#[must_use]
pub fn managed_arns(spec: &Spec) -> Vec<String> {
    let mut arns: Vec<String> = spec
        .users
        .iter()
        .flat_map(|u| u.managed_policies.iter())
        .chain(spec.roles.iter().flat_map(|r| r.managed_policies.iter()))
        .chain(spec.groups.iter().flat_map(|g| g.managed_policies.iter()))
        .cloned()
        .collect();
    arns.sort();
    arns.dedup();
    arns
}

/// The boundary of `spec`, with `managed` the documents of the managed policies it attaches (by ARN; a missing
/// one is said, and its access is then capped by the rest).
#[must_use]
pub fn boundary(spec: &Spec, managed: &BTreeMap<String, PolicyDocument>) -> Boundary {
    let grants: Vec<_> = spec
        .users
        .iter()
        .flat_map(|u| u.grants.iter())
        .chain(spec.roles.iter().flat_map(|r| r.grants.iter()))
        .chain(spec.groups.iter().flat_map(|g| g.grants.iter()))
        .chain(spec.policies.iter().flat_map(|p| p.grants.iter()))
        .cloned()
        .collect();
    let mut statements = render_grants(&grants).map_or_else(Vec::new, |d| d.statements);
    let mut notes = Vec::new();
    let mut admin_equivalent = Vec::new();
    let mut take = |source: String, doc: &PolicyDocument, statements: &mut Vec<_>| {
        for st in doc.statements.iter().filter(|s| s.effect == Effect::Allow) {
            let mut st = st.clone();
            st.sid = None;
            if st.not_action || st.not_resource {
                admin_equivalent.push(format!(
                    "{source} allows by exclusion (NotAction/NotResource), which a boundary cannot narrow"
                ));
            }
            if let Some(a) = st
                .actions
                .iter()
                .find(|a| ESCALATING.iter().any(|e| a.eq_ignore_ascii_case(e)))
            {
                admin_equivalent.push(format!("{source} allows `{a}`"));
            }
            statements.push(st);
        }
    };
    for u in &spec.users {
        for (name, doc) in &u.raw_policies {
            take(
                format!("raw policy `{name}` of user `{}`", u.name),
                doc,
                &mut statements,
            );
        }
    }
    for arn in managed_arns(spec) {
        match managed.get(&arn) {
            Some(doc) => take(format!("managed policy {arn}"), doc, &mut statements),
            None => notes.push(format!(
                "the document of {arn} was not read: what it grants beyond the spec's grants is capped away"
            )),
        }
    }
    if statements.is_empty() {
        notes.push("the spec grants nothing: the boundary allows nothing".into());
    }
    let mut unique: Vec<crate::policy::Statement> = Vec::with_capacity(statements.len());
    for st in statements {
        if !unique.contains(&st) {
            unique.push(st);
        }
    }
    let mut document = PolicyDocument::new(unique);
    for (i, st) in document.statements.iter_mut().enumerate() {
        st.sid = Some(format!("Cap{i}"));
    }
    Boundary {
        document,
        notes,
        admin_equivalent,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(text: &str) -> Spec {
        crate::spec::load("s.yaml", text)
            .unwrap_or_else(|d| panic!("{}", d.to_plain()))
            .spec
    }

    #[test]
    fn the_boundary_is_what_the_spec_grants() {
        let s = spec("version: 1\ndelegate: true\nusers:\n  a: { grants: [{buckets: [b-one], access: read}] }\nroles:\n  r:\n    trust: { account: \"123456789012\", external_id: ext-1 }\n    grants: [{buckets: [b-two], access: write}]\n");
        let b = boundary(&s, &BTreeMap::new());
        let text = b.document.to_compact_json();
        assert!(
            text.contains("arn:aws:s3:::b-one") && text.contains("arn:aws:s3:::b-two/*"),
            "{text}"
        );
        assert!(!text.contains("\"*\""), "{text}");
        assert!(b.admin_equivalent.is_empty());
    }

    #[test]
    fn administering_iam_through_the_spec_makes_the_cap_meaningless() {
        let s = spec("version: 1\ndelegate: true\nusers:\n  a:\n    managed_policies: [arn:aws:iam::aws:policy/AdministratorAccess]\n");
        let admin = PolicyDocument::parse(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#,
        )
        .unwrap();
        let b = boundary(
            &s,
            &BTreeMap::from([(
                "arn:aws:iam::aws:policy/AdministratorAccess".to_owned(),
                admin,
            )]),
        );
        assert_eq!(b.admin_equivalent.len(), 1, "{:?}", b.admin_equivalent);
        let unread = boundary(&s, &BTreeMap::new());
        assert!(
            unread.notes[0].contains("was not read"),
            "{:?}",
            unread.notes
        );
    }
}
