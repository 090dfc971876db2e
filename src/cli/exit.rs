//! Exit codes, documented in README.md. One place maps errors to them.

/// Success; for `plan --detailed-exitcode` and `drift`: no changes.
pub const OK: u8 = 0;
/// Any error: invalid spec, usage error, AWS failure, stale plan, declined confirmation, failed or partial apply.
pub const ERROR: u8 = 1;
/// Changes present (`plan --detailed-exitcode`), or drift found (`drift`).
pub const CHANGES: u8 = 2;
/// `can`: the request is denied.
pub const DENIED: u8 = 2;
