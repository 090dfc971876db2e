//! Backends: where live state comes from and where changes go. The AWS account ([`aws`]) and a local JSON file
//! that stands in for one ([`local`]) implement the same trait, so the core never knows which it talks to.

mod any;
mod api;
pub mod aws;
mod bounded;
mod error;
pub mod local;
mod secret;

pub use any::AnyBackend;
pub use api::{
    is_lock_holder, not_a_lock, Backend, CallCounter, CallStats, Caller, LockRequest, LockState,
    Outcome, Pacing, ReadScope,
};
pub use error::{BackendError, ErrorKind};
pub use secret::{NewAccessKey, Secret};
