//! The plan as data: an ordered list of [`Change`]s, each one IAM operation with its typed [`Target`] and a reason.
//!
//! `apply` executes `op`s in order and never reads `reason`; renderers only display. The serde form is the stable
//! JSON of `plan --format json` (schemas/plan.schema.json); `FORMAT_VERSION` changes when a consumer must.

mod changes;
mod ops;
mod project;
mod requests;
mod target;

pub use changes::{
    AccessChange, AccessEffect, Action, Change, GrantChange, Notice, NoticeKind, Plan, Summary,
    ASSUME_ROLE, FORMAT_VERSION,
};
pub use ops::{
    tag_value_words, trust_difference, trust_words, ByKind, Effect, GroupOps, Op, Phase, PolicyOps,
    RoleOps, Traits, UserOps,
};
pub use project::project;
pub use requests::{Attachment, Request, Resource};
pub use target::{Target, TargetKind};
