//! The spec: YAML -> [`RawSpec`] (serde) -> [`Spec`] (validated), with located diagnostics and lint warnings.

mod diagnostic;
mod raw;
mod split;
mod structure;
pub mod tree;
mod validate;

pub use diagnostic::{Diagnostic, Diagnostics, Report, Severity};
pub use raw::{
    json_schema, PolicyMode, RawAccessKeys, RawGrant, RawIgnore, RawPolicy, RawSpec, RawUser,
};
pub use validate::{glob_match, load, IgnoreRule, KeyPolicy, Loaded, Spec, SpecPolicy, SpecUser};
