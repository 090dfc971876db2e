//! The spec: YAML -> [`RawSpec`] (serde) -> [`Spec`] (validated), with located diagnostics and lint warnings. One
//! file per job: the serde shape (`raw`), loading (`load`), field checks (`validate`), naming rules (`names`), the
//! validated model (`model`), and the position-keeping tree with its diagnostics.

mod diagnostic;
mod guardrails;
mod lint;
mod load;
mod model;
mod names;
mod raw;
mod split;
mod structure;
pub mod tree;
mod validate;

pub use diagnostic::{Diagnostic, Diagnostics, Report, Severity};
pub use lint::{Lint, RawLint};
pub use load::{load, locate, Located};
pub use model::{
    Accounts, GuardRule, Guardrail, IgnoreRule, KeyPolicy, Loaded, NamedAccount, Organization,
    ScopeKind, Spec, SpecGroup, SpecPolicy, SpecRole, SpecUser,
};
pub use raw::{
    json_schema, Compliance, PolicyMode, RawAccessKeys, RawAccount, RawAdopt, RawGrant, RawGroup,
    RawGuardDeny, RawGuardTrust, RawGuardrail, RawIgnore, RawOrganization, RawPolicy, RawRole,
    RawSpec, RawTrust, RawUser,
};
pub(crate) use validate::is_account_id;
pub use validate::PathSeg;
