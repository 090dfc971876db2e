//! The spec as serde reads it: field names, types and defaults, nothing checked yet. Its JSON Schema is generated
//! from these types (`iamspec schema`, schemas/iamspec.schema.json).

use indexmap::IndexMap;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::policy::AccessLevel;

/// An iamspec spec file (version 1).
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "iamspec spec")]
pub struct RawSpec {
    /// Spec format version; must be 1.
    pub version: u32,
    /// The 12-digit AWS account this spec is for; checked before any other call. Required with `prune: true`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_id: Option<String>,
    /// Many accounts, by a name of your choice: each is reached by assuming a role in it (README, Many accounts).
    /// Exclusive with `account_id`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "unique_map_opt"
    )]
    pub accounts: Option<IndexMap<String, RawAccount>>,
    /// Every ACTIVE account of the caller's AWS Organization (ListAccounts), reached by assuming `role` in each.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organization: Option<RawOrganization>,
    /// Value of the `iamspec:owner` tag on the users this spec manages (default `iamspec`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// IAM path for the users iamspec creates (default `/iamspec/`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Delete owned users that are no longer in the spec (requires `account_id`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prune: Option<bool>,
    /// Tag keys on managed users that iamspec neither reports nor removes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ignore_tags: Option<Vec<String>>,
    /// The account's quota of managed policies per user (IAM default 10, at most 20).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_attached_policies: Option<u32>,
    /// Live users iamspec must neither report nor touch, by name glob and/or tag.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ignore: Option<Vec<RawIgnore>>,
    /// Shared grant sets, each a customer-managed policy under `path` that users attach by name.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "unique_map_opt"
    )]
    pub policies: Option<IndexMap<String, RawPolicy>>,
    /// The users, by IAM user name (`users: ~` or an empty `users:` means none).
    #[serde(default, deserialize_with = "unique_map")]
    #[schemars(with = "Option<IndexMap<String, RawUser>>")]
    pub users: IndexMap<String, RawUser>,
    /// Roles that services (in other accounts) assume, by name.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "unique_map_opt"
    )]
    pub roles: Option<IndexMap<String, RawRole>>,
    /// Groups iamspec manages: their grants and managed policies reach every user that lists them in `groups`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "unique_map_opt"
    )]
    pub groups: Option<IndexMap<String, RawGroup>>,
    /// A baseline to lint for: `cis` warns about users that carry permissions directly instead of through groups
    /// (CIS AWS Foundations 1.15, Security Hub IAM.2); `validate --strict` then fails on them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compliance: Option<Compliance>,
    /// Delegated administration: every user and role iamspec creates or writes carries the permissions boundary
    /// `iamspec-boundary-<owner>` (made by the admin step, `iamspec bootstrap --apply`), which caps it to what the
    /// spec may grant, and `self-policy` lets the pipeline write principals only with it in place.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delegate: Option<bool>,
    /// Lint rules whose warnings are accepted here: `lint: { allow: [broad-bucket-pattern] }`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lint: Option<super::RawLint>,
    /// Access no principal may have, whatever the rest of the spec (or the live account) says: `validate` fails
    /// on a principal that breaks one, `plan` and `drift` report live principals that do.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guardrails: Option<Vec<RawGuardrail>>,
}

/// One account of `accounts:`.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawAccount {
    /// Its 12-digit id; every call there is checked to land in it.
    pub id: String,
    /// The role to assume there, by name (`arn:aws:iam::<id>:role/<role>`). Without `role` or `role_arn` the
    /// caller's own credentials are used, and must be in this account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// The role to assume there, by ARN (for a role under a path, or another partition).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role_arn: Option<String>,
    /// The external id the role's trust policy asks for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
}

/// `organization:`: the accounts of the caller's organization.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawOrganization {
    /// The role to assume in each account, by name (e.g. `OrganizationAccountAccessRole`).
    pub role: String,
    /// The external id the role's trust policy asks for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    /// Account ids to leave out (the management account, say).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exclude: Option<Vec<String>>,
}

/// One guardrail: a name and exactly one rule.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawGuardrail {
    /// Its name, in findings (`audit-logs-are-append-only`).
    pub name: String,
    /// Actions no principal may be allowed on these resources.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deny: Option<RawGuardDeny>,
    /// The only accounts a role may trust.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trust: Option<RawGuardTrust>,
}

/// `deny: { actions, resources }`.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawGuardDeny {
    /// Actions or patterns (`s3:DeleteObject`, `s3:PutBucket*`).
    pub actions: Vec<String>,
    /// `bucket`, `bucket/*`, `bucket/prefix/*`, `*`, or an S3 ARN.
    pub resources: Vec<String>,
}

/// `trust: { accounts }`.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawGuardTrust {
    /// 12-digit account ids.
    pub accounts: Vec<String>,
}

/// Baselines `compliance` can lint for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Compliance {
    /// CIS AWS Foundations: permissions through groups (or roles), not on users.
    Cis,
}

/// A managed group.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawGroup {
    /// The accounts this object is in, by their name under `accounts:` or their id (default: every account).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accounts: Option<Vec<String>>,
    /// Bucket grants, rendered into the group's inline policy `iamspec-grants`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grants: Option<Vec<RawGrant>>,
    /// Managed policy ARNs to attach.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub managed_policies: Option<Vec<String>>,
    /// Shared policies of the spec (under `policies`) to attach, by name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policies: Option<Vec<String>>,
    /// Take over an existing group without iamspec's owner marker (`true`), or one another owner's marker names
    /// (`{from_owner: NAME}`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub adopt: Option<RawAdopt>,
    /// Lint rules whose warnings are accepted here: `lint: { allow: [broad-bucket-pattern] }`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lint: Option<super::RawLint>,
}

/// A role a service assumes: who (`trust`) and what (grants, managed policies).
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawRole {
    /// The accounts this object is in, by their name under `accounts:` or their id (default: every account).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accounts: Option<Vec<String>>,
    /// Who may assume the role.
    pub trust: RawTrust,
    /// Tags (the owner tag is added).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "unique_map_opt"
    )]
    pub tags: Option<IndexMap<String, String>>,
    /// Bucket grants, rendered into the role's inline policy `iamspec-grants`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grants: Option<Vec<RawGrant>>,
    /// Managed policy ARNs to attach.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub managed_policies: Option<Vec<String>>,
    /// Shared policies of the spec (under `policies`) to attach, by name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policies: Option<Vec<String>>,
    /// The permissions boundary's managed policy ARN.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permissions_boundary: Option<String>,
    /// Where the grants go: `inline` (the role's `iamspec-grants`, the default) or `managed` (a customer-managed
    /// policy `iamspec-role-NAME`, attached).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy_mode: Option<PolicyMode>,
    /// Longest session, in hours (1-12; default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_session_hours: Option<u32>,
    /// Take over an existing role without the owner tag (`true`), or one of another owner (`{from_owner: NAME}`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub adopt: Option<RawAdopt>,
    /// Lint rules whose warnings are accepted here: `lint: { allow: [broad-bucket-pattern] }`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lint: Option<super::RawLint>,
}

/// Who may assume a role: another account (with the external ID its service gave you) or one role.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawTrust {
    /// The 12-digit account the service runs in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    /// One role that may assume this one (instead of a whole account).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role_arn: Option<String>,
    /// The external ID the service gave you (required for another account).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
}

/// A named grant set, rendered to a customer-managed policy.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawPolicy {
    /// The accounts this object is in, by their name under `accounts:` or their id (default: every account).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accounts: Option<Vec<String>>,
    /// What the policy is for (the IAM policy description).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The grants, as for users.
    pub grants: Vec<RawGrant>,
    /// Take over a live policy of this name under `path` that has no owner tag (`true`), or one of another owner
    /// (`{from_owner: NAME}`); the plan tags it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub adopt: Option<RawAdopt>,
}

/// One user.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawUser {
    /// The accounts this object is in, by their name under `accounts:` or their id (default: every account).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accounts: Option<Vec<String>>,
    /// Tags (besides the owner tag, which iamspec adds).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "unique_map_opt"
    )]
    pub tags: Option<IndexMap<String, String>>,
    /// S3 bucket grants, rendered into the inline policy `iamspec-grants`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grants: Option<Vec<RawGrant>>,
    /// Managed policy ARNs to attach.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub managed_policies: Option<Vec<String>>,
    /// Names of the spec's shared `policies` to attach.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policies: Option<Vec<String>>,
    /// Where the grants go: `inline` (default, the 2,048-character inline policy) or `managed` (the user's own
    /// customer-managed policy `iamspec-<user>`, up to 6,144 characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy_mode: Option<PolicyMode>,
    /// IAM group names the user belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub groups: Option<Vec<String>>,
    /// Permissions boundary policy ARN.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permissions_boundary: Option<String>,
    /// Take over a live user that has no owner tag (`true`), or one of another owner (`{from_owner: NAME}`: a team
    /// split or rename); the plan tags it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub adopt: Option<RawAdopt>,
    /// Access keys iamspec creates, delivers and rotates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_keys: Option<RawAccessKeys>,
    /// Name of the inline policy the grants render into (default `iamspec-grants`; `import` keeps a live name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grants_policy_name: Option<String>,
    /// Inline policies kept verbatim, by name: the escape hatch for statements grants cannot express.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub raw_policies: Option<IndexMap<String, crate::policy::PolicyDocument>>,
    /// Lint rules whose warnings are accepted here: `lint: { allow: [broad-bucket-pattern] }`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lint: Option<super::RawLint>,
}

/// Where a user's grants are rendered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum PolicyMode {
    /// The inline policy (default).
    Inline,
    /// A customer-managed policy of the user's own.
    Managed,
}

/// One grant: buckets, an optional prefix, and an access level or explicit actions.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawGrant {
    /// Bucket names, `*` for every bucket, or patterns with `*`.
    pub buckets: Vec<String>,
    /// Limit object actions and listing to keys under this prefix.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
    /// An access level (give this or `actions`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access: Option<AccessLevel>,
    /// Explicit `s3:` actions (give this or `access`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actions: Option<Vec<String>>,
    /// KMS key ARNs the buckets are encrypted with (SSE-KMS): reads get kms:Decrypt, writes kms:GenerateDataKey
    /// and kms:Decrypt, on these keys only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kms_keys: Option<Vec<String>>,
    /// Lint rules whose warnings are accepted here: `lint: { allow: [broad-bucket-pattern] }`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lint: Option<super::RawLint>,
}

/// Access key policy for a user.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawAccessKeys {
    /// How many active keys the user keeps (0-2; default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u32>,
    /// Keys older than this are rotated (default 90).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_age_days: Option<u32>,
    /// Days a rotated key stays (deactivated) before it is deleted (default 7).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grace_days: Option<u32>,
    /// An active key unused for this many days (or never used and this old) is reported by drift and replaced
    /// by apply like a stale key: deactivated, then deleted after grace_days (unset: not judged).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_unused_days: Option<u32>,
}

/// A rule for live users iamspec ignores.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawIgnore {
    /// A user-name glob (`*` and `?`), matched case-insensitively.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub users: Option<String>,
    /// A role-name glob: the rule applies to roles (a rule naming neither users nor roles applies to both, by tags).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub roles: Option<String>,
    /// Tags that must all be present with these values (`*` matches any value).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "unique_map_opt"
    )]
    pub tags: Option<IndexMap<String, String>>,
}

/// A mapping that refuses duplicate keys (a plain map would keep the last one silently). The error sends `load`
/// to the position-keeping tree, which names both lines.
pub(super) fn unique_map<'de, D, V>(deserializer: D) -> Result<IndexMap<String, V>, D::Error>
where
    D: serde::Deserializer<'de>,
    V: Deserialize<'de>,
{
    struct Visitor<V>(std::marker::PhantomData<V>);
    impl<'de, V: Deserialize<'de>> serde::de::Visitor<'de> for Visitor<V> {
        type Value = IndexMap<String, V>;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a mapping")
        }
        // `users: ~` and `users:` mean the same: no entries.
        fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
            Ok(IndexMap::new())
        }
        fn visit_none<E: serde::de::Error>(self) -> Result<Self::Value, E> {
            Ok(IndexMap::new())
        }
        fn visit_map<A: serde::de::MapAccess<'de>>(
            self,
            mut map: A,
        ) -> Result<Self::Value, A::Error> {
            let mut out = IndexMap::with_capacity(map.size_hint().unwrap_or(0));
            while let Some((k, v)) = map.next_entry::<String, V>()? {
                if out.contains_key(&k) {
                    return Err(serde::de::Error::custom(format!("duplicate key `{k}`")));
                }
                out.insert(k, v);
            }
            Ok(out)
        }
    }
    // `any`, not `map`: a null (`users: ~`) must reach `visit_unit` instead of failing as "not a mapping".
    deserializer.deserialize_any(Visitor(std::marker::PhantomData))
}

fn unique_map_opt<'de, D, V>(deserializer: D) -> Result<Option<IndexMap<String, V>>, D::Error>
where
    D: serde::Deserializer<'de>,
    V: Deserialize<'de>,
{
    struct Unique<V>(IndexMap<String, V>);
    impl<'de, V: Deserialize<'de>> Deserialize<'de> for Unique<V> {
        fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            unique_map(d).map(Unique)
        }
    }
    Ok(Option::<Unique<V>>::deserialize(deserializer)?.map(|u| u.0))
}

/// The spec's JSON Schema, as a pretty JSON string with a trailing newline.
#[must_use]
pub fn json_schema() -> String {
    let schema = schemars::schema_for!(RawSpec);
    let mut text = serde_json::to_string_pretty(&schema).unwrap_or_default();
    text.push('\n');
    text
}

/// `adopt:` as written: `true` (an object without an owner) or `{from_owner: NAME}` (an object of that owner only).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum RawAdopt {
    /// `adopt: true` / `false`.
    Flag(bool),
    /// `adopt: {from_owner: NAME}`.
    From {
        /// The owner it is taken from.
        from_owner: String,
    },
}

impl RawAdopt {
    /// Whether the object may be taken over at all.
    #[must_use]
    pub fn adopts(&self) -> bool {
        match self {
            Self::Flag(b) => *b,
            Self::From { .. } => true,
        }
    }

    /// The owner it is taken from, for `{from_owner}`.
    #[must_use]
    pub fn from_owner(&self) -> Option<&str> {
        match self {
            Self::Flag(_) => None,
            Self::From { from_owner } => Some(from_owner),
        }
    }
}

// By hand rather than `untagged`: a wrong field gets its own message, not serde's "did not match any variant".
impl<'de> Deserialize<'de> for RawAdopt {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = RawAdopt;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("true, false, or {from_owner: NAME}")
            }
            fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<RawAdopt, E> {
                Ok(RawAdopt::Flag(v))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<RawAdopt, A::Error> {
                let mut from = None;
                while let Some(key) = map.next_key::<String>()? {
                    if key != "from_owner" {
                        return Err(serde::de::Error::unknown_field(&key, &["from_owner"]));
                    }
                    from = Some(map.next_value::<String>()?);
                }
                from.map(|from_owner| RawAdopt::From { from_owner })
                    .ok_or_else(|| serde::de::Error::missing_field("from_owner"))
            }
        }
        d.deserialize_any(V)
    }
}

impl JsonSchema for RawAdopt {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Adopt".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "`true`: take over an object without an owner; `{from_owner: NAME}`: take over one of that owner only.",
            "type": ["boolean", "object"],
            "properties": { "from_owner": { "type": "string" } },
            "additionalProperties": false
        })
    }
}
