//! The authorization model: the action catalogue of the AWS Service Authorization Reference and an evaluator of
//! identity policies. Validation and rendering place each action by the catalogue; `iamspec can` and `who-can`
//! evaluate; the renderer's property tests use the evaluator as their oracle. Pure: no I/O.

mod catalogue;
mod changes;
#[rustfmt::skip]
mod catalogue_data;
mod eval;
mod principals;
mod question;

pub use catalogue::{all, expand, lookup, of_service, suggest, ActionDef, ActionLevel};
pub use changes::access_changes;
pub use eval::{evaluate, Cite, Context, Decision, Policies, Request};
pub use principals::{from_live, from_spec, parse_principal, Origin, UserPolicies};
pub use question::{answer, level_actions, Answer, Asked};
