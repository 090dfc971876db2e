//! The local account: a JSON file ([`LocalBackend`]) that stands in for one IAM account, and the IAM emulator
//! ([`LocalAccount`]) it wraps.

mod emulator;
mod file;

pub use emulator::{LocalAccount, DEFAULT_ACCOUNT_ID, LOCAL_FORMAT};
pub use file::LocalBackend;
