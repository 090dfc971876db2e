//! IAM's quotas that iamspec checks before any call.

/// IAM's limit on the sum of a user's inline policy sizes, whitespace excluded.
pub const INLINE_USER_LIMIT: usize = 2_048;
/// IAM's limit on one managed policy version, whitespace excluded.
pub const MANAGED_POLICY_LIMIT: usize = 6_144;
/// IAM's default quota of managed policies attached to one user.
pub const DEFAULT_ATTACHED_LIMIT: usize = 10;
/// The highest value that quota can be raised to.
pub const MAX_ATTACHED_LIMIT: usize = 20;
/// Access keys per user.
pub const ACCESS_KEY_LIMIT: usize = 2;
/// Tags per user.
pub const TAG_LIMIT: usize = 50;
