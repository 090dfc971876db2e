//! iamspec keeps AWS IAM users and their S3 bucket access equal to a YAML spec.
//!
//! ```text
//! spec.yaml --spec::load--> Spec --diff::DesiredUser--> desired users
//!                                                        \
//! engine::read --Backend::read--> Account (live) ---> diff::diff --> Plan --render--> text | JSON
//!                                                                       \--engine::apply(Backend)--> Report
//! ```
//!
//! Layers, each importing only those below it: [`cli`] (arguments, rendering choice, exit codes) -> [`engine`]
//! (read, diff, preflight, apply, settle, saved plans) -> the pure core ([`spec`], [`policy`], [`diff`],
//! [`plan`], [`model`], [`render`]) and [`backend`] (IAM or the local file; it knows neither spec, diff, engine
//! nor cli). Everything in the core is pure: no I/O, no clock, no randomness. Those live in [`effects`], injected.
//!
//! The pure half, end to end:
//!
//! ```
//! use iamspec::diff::{diff, DiffOptions};
//! use iamspec::model::Account;
//!
//! let text = "version: 1\nusers:\n  pixelshift:\n    grants:\n      - buckets: [photos-prod]\n        access: read-write\n";
//! let loaded = iamspec::spec::load("iamspec.yaml", text).expect("valid spec");
//! let plan = diff(&loaded.spec, &Account::default(), &DiffOptions::default()).expect("no conflicts");
//! assert_eq!(iamspec::render::text::summary_line(&plan), "Plan: 2 to add, 0 to change, 0 to destroy.");
//! assert_eq!(plan.changes[1].grants[0].after.as_deref(), Some("read-write"));
//! assert_eq!(plan.changes[1].target, iamspec::plan::Target::User("pixelshift".into()));
//! ```

#![forbid(unsafe_code)]

pub mod authz;
pub mod backend;
pub mod boundary;
pub mod catalogue;
pub mod cli;
pub mod credential_report;
pub mod diff;
pub mod display;
pub mod drift;
pub mod effects;
pub mod engine;
pub mod fileio;
pub mod guardrails;
pub mod import;
pub mod model;
pub mod names;
pub mod pacing;
mod par;
pub mod pattern;
pub mod plan;
pub mod policy;
pub mod render;
pub mod secrets;
pub mod selfpolicy;
pub mod sorted;
pub mod spec;
pub mod suggest;
