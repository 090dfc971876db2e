//! The apply lock, as terraform locks its state: one apply per owner and account at a time. On AWS it is the
//! customer-managed policy `iamspec-lock-<owner>` under the spec's path (CreatePolicy fails when it exists, so
//! exactly one run holds it; its description says who and since when); on `--local` a holder file beside the
//! account. plan and drift take none; the lock policy is never planned, reported or pruned.

use std::time::Duration;

use super::{Cancel, Error};
use crate::backend::{Backend, BackendError, LockRequest, LockState};
use crate::effects::Effects;
use crate::spec::Spec;

/// IAM's limit on a policy description.
const DESCRIPTION_LIMIT: usize = 1000;

/// The lock an apply of `spec` in `account_id` takes, held by `holder` (who and since when; made printable and
/// cut to IAM's description limit here).
#[must_use]
pub fn request(spec: &Spec, account_id: &str, holder: &str) -> LockRequest {
    let name = crate::names::lock_policy(&spec.owner);
    let holder: String = holder
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() || c == ' ' {
                c
            } else {
                '?'
            }
        })
        .take(DESCRIPTION_LIMIT)
        .collect();
    LockRequest {
        arn: format!("arn:aws:iam::{account_id}:policy{}{name}", spec.path),
        name,
        path: spec.path.clone(),
        owner: spec.owner.clone(),
        holder,
    }
}

/// Takes the lock, waiting up to `timeout` for another holder to release it.
///
/// # Errors
/// [`Error::Locked`] naming the holder when it is still held after `timeout`; [`Error::Interrupted`] when
/// `cancel` fires while waiting; backend errors.
pub async fn acquire<B: Backend>(
    backend: &B,
    req: &LockRequest,
    timeout: Duration,
    effects: &Effects,
    cancel: &Cancel,
) -> Result<(), Error> {
    let deadline = effects
        .now()
        .saturating_add(timeout.as_secs().try_into().unwrap_or(i64::MAX));
    let mut wait = Duration::from_secs(1);
    loop {
        match backend.lock(req).await? {
            LockState::Acquired => return Ok(()),
            LockState::HeldBy(holder) => {
                if effects.now() >= deadline {
                    return Err(Error::Locked {
                        name: req.name.clone(),
                        holder,
                    });
                }
                tracing::info!(lock = %req.name, holder = %crate::display::Escaped(&holder), "waiting for the apply lock");
            }
        }
        if cancel.is_set() {
            return Err(Error::Interrupted);
        }
        tokio::select! {
            () = effects.sleep(wait) => {}
            () = cancel.wait() => return Err(Error::Interrupted),
        }
        wait = (wait * 2).min(Duration::from_secs(10));
    }
}

/// Releases the lock this run holds. Each call of the release has its retry budget in the backend; retrying here
/// as well would multiply them.
///
/// # Errors
/// The last failure, when it could not be released.
pub async fn release<B: Backend>(backend: &B, req: &LockRequest) -> Result<(), BackendError> {
    backend.unlock(req, false).await.map_err(|mut e| {
        e.hint = Some(format!(
            "the apply lock {} may still be held; `iamspec force-unlock` removes it",
            req.name
        ));
        e
    })
}
