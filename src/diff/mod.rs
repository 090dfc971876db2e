//! The pure diff: desired (the spec) against live (an [`Account`](crate::model::Account)) gives a
//! [`Plan`](crate::plan::Plan).
//!
//! No I/O, no clock (`now` is passed in), no randomness. Ownership rules of DESIGN.md live here: the owner tag,
//! `adopt`, case-insensitive names, exclusivity over owned users, pruning, and the per-user ordering rule. One
//! file per job: the desired user, ownership, the user field diff, keys, managed policies, prune, and the account
//! that puts them together.

mod account;
mod desired;
mod group;
mod keys;
pub mod kind;
mod ownership;
mod policies;
mod principal;
mod prune;
mod role;
mod user;

pub use account::{diff, DiffError, DiffOptions};
pub use desired::{boundary_arn, desired_user, key_users, policy_arn, DesiredUser};
pub use group::desired_group;
pub use ownership::{Conflict, Guard, Refusal, Right};
pub use policies::policy_tag_reads;
pub use prune::prune_candidates;
pub use role::desired_role;
