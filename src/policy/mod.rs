//! Policies: grants rendered to canonical IAM documents, semantic comparison, summaries and IAM's size limits.

mod document;
mod limits;
#[cfg(test)]
mod proof;
mod render;
mod summary;

pub use document::{non_whitespace_len, Effect, PolicyDocument, PolicyParseError, Statement};
pub use limits::{
    ACCESS_KEY_LIMIT, DEFAULT_ATTACHED_LIMIT, INLINE_USER_LIMIT, MANAGED_POLICY_LIMIT,
    MAX_ATTACHED_LIMIT, TAG_LIMIT,
};
pub use render::{
    kms_actions_for, placement, render_grants, size_bound, AccessLevel, Grant, GrantAccess,
    Placement, REGION_ACTION,
};
pub use summary::{summarize, GrantKey, GrantSummary};
