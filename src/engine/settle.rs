//! After apply: re-read the touched users until they match the spec (IAM is eventually consistent), so the next
//! plan is clean.

use std::collections::BTreeSet;
use std::time::Duration;

use super::{read, Error};
use crate::backend::Backend;
use crate::diff::DiffOptions;
use crate::effects::Effects;
use crate::plan::{Op, Plan};
use crate::spec::Spec;

/// Re-reads the users `plan` touched until a plan for them is empty, at most five times with growing pauses.
/// Returns whether they settled.
///
/// # Errors
/// Backend errors and conflicts of the re-read.
pub async fn settle<B: Backend>(
    backend: &B,
    spec: &Spec,
    plan: &Plan,
    opts: &DiffOptions,
    effects: &Effects,
) -> Result<bool, Error> {
    let touched: BTreeSet<String> = plan
        .changes
        .iter()
        // The other kinds are confirmed by the next plan: settling is about users' eventual consistency (their
        // keys), and `opts.only` names users.
        .filter(|c| crate::diff::kind::of(c.target.kind()).holds_access_keys())
        .map(|c| c.target.name().to_ascii_lowercase())
        .collect();
    let mut opts = opts.clone();
    opts.only = Some(match opts.only {
        Some(only) => only.intersection(&touched).cloned().collect(),
        None => touched,
    });
    for attempt in 0..5u32 {
        // Keys listed, of the users this apply touched only (`opts.only`): their keys are newer than any report.
        let (_, again) = read::planned(backend, spec, &opts, read::KeyRead::Fresh).await?;
        // Creating keys is not idempotent: a key still missing from a stale read must not count as drift.
        if again
            .changes
            .iter()
            .all(|c| matches!(c.op, Op::CreateAccessKey { .. }))
        {
            return Ok(true);
        }
        effects
            .sleep(Duration::from_millis(250 * 2u64.pow(attempt)))
            .await;
    }
    Ok(false)
}
