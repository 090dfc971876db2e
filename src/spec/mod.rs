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
    GuardRule, Guardrail, IgnoreRule, KeyPolicy, Loaded, Spec, SpecGroup, SpecPolicy, SpecRole,
    SpecUser,
};
pub use raw::{
    json_schema, Compliance, PolicyMode, RawAccessKeys, RawAdopt, RawGrant, RawGroup, RawGuardDeny,
    RawGuardTrust, RawGuardrail, RawIgnore, RawPolicy, RawRole, RawSpec, RawTrust, RawUser,
};
pub use validate::PathSeg;
