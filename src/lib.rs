//! iamspec keeps AWS IAM users and their S3 bucket access equal to a YAML spec.
//!
//! ```text
//! spec.yaml --spec::load--> Spec --diff::desired_user--> desired users
//!                                                         \
//! Backend::read --> Account (live) ------------------> diff::diff --> Plan --render--> text | JSON
//!                                                                        \--apply::apply(Backend)--> Report
//! ```
//!
//! Everything up to and including [`diff`] is pure: no I/O, no clock, no randomness. I/O lives in [`backend`],
//! [`apply`], [`secrets`] and the CLI.

#![forbid(unsafe_code)]

pub mod apply;
pub mod backend;
pub mod cli;
pub mod diff;
pub mod drift;
pub mod model;
pub mod plan;
pub mod policy;
pub mod render;
pub mod saved;
pub mod secrets;
pub mod spec;
