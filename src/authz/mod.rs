//! The authorization model: an evaluator of identity policies, and what it answers (`can`, `who-can`, the access a
//! plan changes). The action catalogue it evaluates over is a leaf of its own ([`crate::catalogue`]) that the spec
//! and the renderer use without this module, so spec, policy and authz form no cycle; it is re-exported here for
//! callers of both. The renderer's property tests use the evaluator as their oracle. Pure: no I/O.

mod changes;
mod eval;
mod principals;
mod question;

pub use crate::catalogue::{all, expand, lookup, of_service, suggest, ActionDef, ActionLevel};
pub use changes::{access_changes, named_actions};
pub use eval::{evaluate, Cite, Context, Decision, Policies, Request};
pub use principals::{from_live, from_spec, parse_principal, Origin, UserPolicies};
pub use question::{answer, level_actions, Answer, Asked};
