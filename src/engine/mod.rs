//! The engine: the one junction between the command line and the backends. It reads the scope a command needs,
//! diffs, checks and executes plans, settles after apply, and builds and checks saved plans. The CLI asks and
//! shows; backends only translate; the pure core decides.

pub mod access;
pub mod accounts;
pub mod bootstrap;
mod cancel;
mod error;
mod execute;
pub mod lock;
mod planner;
mod preflight;
pub mod read;
mod saved;
pub mod session;
mod settle;

pub use cancel::Cancel;
pub use error::Error;
pub use execute::{apply, known_keys, ApplyOptions, DeliveredKey, Event, KeySink, Report};
pub use planner::{checked_account, plan, plan_in, Planned};
pub use preflight::{preflight, Limits};
pub use saved::{fingerprint, sha256_hex, Fingerprint, SavedPlan, SavedPlanError};
pub use settle::settle;
