//! The local account file: a JSON file that stands in for one IAM account, for offline demos and tests. Reads and
//! writes go through the [emulator](super::LocalAccount).
//!
//! Several runs may share one file: every operation re-reads the file under a `flock` on `FILE.lock` (exclusive
//! for writes, shared for reads), applies itself and replaces the file atomically (temp file, fsync, rename)
//! before the lock is released, so concurrent runs serialise and nothing is lost. The apply lock is
//! `FILE.iamspec-lock-<owner>`, created exclusively with its holder's description, as the lock policy is on AWS.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use super::{LocalAccount, LOCAL_FORMAT};
use crate::backend::{
    Backend, BackendError, CallStats, Caller, ErrorKind, LockRequest, LockState, Outcome, ReadScope,
};
use crate::effects::Effects;
use crate::fileio::{read_bounded, write_atomic, MAX_FILE_BYTES};
use crate::model::{AccessKey, Account, Dependents};
use crate::plan::Op;

/// A backend over a local account file.
pub struct LocalBackend {
    path: PathBuf,
    stats: crate::backend::CallCounter,
    effects: Effects,
    /// The id a new account file gets.
    new_account_id: Option<String>,
}

fn file_err(path: &Path, message: impl Into<String>, hint: &str) -> BackendError {
    let mut e = BackendError::new(ErrorKind::LocalFile, "open local account", message)
        .on(path.display().to_string());
    e.hint = Some(hint.to_owned());
    e
}

/// `FILE` with a suffix appended to its name (`FILE.lock`).
fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(suffix);
    path.with_file_name(name)
}

impl LocalBackend {
    /// Opens a local account file; a missing file is a new, empty account (written on the first change).
    ///
    /// # Errors
    /// A file that is not JSON, or not an iamspec local account.
    pub fn open(path: &Path, effects: Effects) -> Result<Self, BackendError> {
        Self::open_as(path, None, effects)
    }

    /// Opens the local account file of account `account_id` (one of a many-account run): a missing file is a new
    /// account with that id.
    ///
    /// # Errors
    /// As [`LocalBackend::open`].
    pub fn open_account(
        path: &Path,
        account_id: &str,
        effects: Effects,
    ) -> Result<Self, BackendError> {
        Self::open_as(path, Some(account_id.to_owned()), effects)
    }

    fn open_as(
        path: &Path,
        new_account_id: Option<String>,
        effects: Effects,
    ) -> Result<Self, BackendError> {
        let backend = Self {
            path: path.to_owned(),
            stats: crate::backend::CallCounter::default(),
            effects,
            new_account_id,
        };
        // Refuse an unusable file before anything else happens.
        backend.with_state(false, |_| Ok(()))?;
        Ok(backend)
    }

    fn count(&self, op: &str) {
        self.stats.count(op);
    }

    /// Runs `f` on the account as the file holds it now, under the file lock (exclusive when `write`), and saves
    /// the result when `write` and `f` succeeded.
    fn with_state<T>(
        &self,
        write: bool,
        f: impl FnOnce(&mut LocalAccount) -> Result<T, BackendError>,
    ) -> Result<T, BackendError> {
        let io = |e: std::io::Error| {
            file_err(
                &self.path,
                e.to_string(),
                "check the path and its permissions",
            )
        };
        // Nothing but a regular file is an account: refused before a lock file is made beside a device or FIFO.
        let exists = match std::fs::metadata(&self.path) {
            Ok(meta) if meta.is_file() => true,
            Ok(_) => {
                return Err(file_err(
                    &self.path,
                    "not a regular file",
                    "point --local at an account file iamspec wrote, or at a path that does not exist yet",
                ))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => false,
            Err(e) => return Err(io(e)),
        };
        // A read of an account that does not exist yet needs no lock (and leaves no file behind).
        let _lock = if write || exists {
            let lock = OpenOptions::new()
                .create(true)
                .truncate(false)
                .write(true)
                .mode(0o600)
                .open(sibling(&self.path, ".lock"))
                .map_err(io)?;
            if write {
                lock.lock().map_err(io)?;
            } else {
                lock.lock_shared().map_err(io)?;
            }
            Some(lock)
        } else {
            None
        };
        let mut state = match read_bounded(&self.path, MAX_FILE_BYTES) {
            Ok(text) => parse_account(&self.path, &text)?,
            Err(e) if e.is_not_found() => self
                .new_account_id
                .as_deref()
                .map_or_else(LocalAccount::default, LocalAccount::new),
            Err(e) => {
                return Err(file_err(
                    &self.path,
                    e.to_string(),
                    "point --local at an account file iamspec wrote, or at a path that does not exist yet",
                ))
            }
        };
        let out = f(&mut state)?;
        if write {
            self.save(&state)?;
        }
        Ok(out)
    }

    fn save(&self, state: &LocalAccount) -> Result<(), BackendError> {
        let text = serde_json::to_string_pretty(state)
            .map_err(|e| file_err(&self.path, e.to_string(), "report this bug"))?;
        write_atomic(&self.path, text.as_bytes()).map_err(|e| {
            file_err(
                &self.path,
                format!("write: {e}"),
                "check free space and permissions",
            )
        })
    }

    /// The apply lock of `req`: one per owner, as on AWS (`FILE.iamspec-lock-<owner>`).
    fn apply_lock_path(&self, req: &LockRequest) -> PathBuf {
        sibling(&self.path, &format!(".{}", req.name))
    }

    fn read_holder(&self, req: &LockRequest) -> Result<Option<String>, BackendError> {
        let path = self.apply_lock_path(req);
        match File::open(&path) {
            Ok(f) => {
                // A holder is one line of text: read no more than a description can hold.
                let mut text = String::new();
                f.take(4096).read_to_string(&mut text).map_err(|e| {
                    file_err(
                        &path,
                        e.to_string(),
                        "remove it with `iamspec force-unlock`",
                    )
                })?;
                Ok(Some(text))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(file_err(&path, e.to_string(), "check its permissions")),
        }
    }
}

fn parse_account(path: &Path, text: &str) -> Result<LocalAccount, BackendError> {
    let value: serde_json::Value = serde_json::from_str(text).map_err(|e| {
        file_err(
            path,
            format!("not valid JSON ({e})"),
            "the file is corrupt; restore it or start a new one",
        )
    })?;
    if value.get("iamspec_local_account").is_none() {
        return Err(file_err(
            path,
            "not an iamspec local account file (no `iamspec_local_account` field)",
            "point --local at a file iamspec created, or at a path that does not exist yet",
        ));
    }
    let account: LocalAccount = serde_json::from_value(value).map_err(|e| {
        file_err(
            path,
            format!("unreadable local account: {e}"),
            "the file was edited by hand or by a newer iamspec",
        )
    })?;
    if account.iamspec_local_account != LOCAL_FORMAT {
        return Err(file_err(
            path,
            format!(
                "local account format {} is not supported (expected {LOCAL_FORMAT})",
                account.iamspec_local_account
            ),
            "use the iamspec version that wrote it",
        ));
    }
    Ok(account)
}

impl Backend for LocalBackend {
    async fn caller(&self) -> Result<Caller, BackendError> {
        self.count("GetCallerIdentity");
        self.with_state(false, |state| {
            Ok(Caller {
                account_id: state.account_id.clone(),
                arn: None,
            })
        })
    }

    async fn read(&self, scope: &ReadScope) -> Result<Account, BackendError> {
        self.count("GetAccountAuthorizationDetails");
        let account = self.with_state(false, |state| Ok(state.view(scope)))?;
        for u in account.users.values() {
            if scope.key_users.contains(&u.name.to_ascii_lowercase()) {
                self.count("ListAccessKeys");
            }
        }
        Ok(account)
    }

    async fn read_dependents(
        &self,
        users: &[String],
    ) -> Result<BTreeMap<String, (Vec<AccessKey>, Dependents)>, BackendError> {
        for _ in users {
            self.count("ListAccessKeys");
        }
        self.with_state(false, |state| {
            Ok(users
                .iter()
                .filter_map(|name| {
                    let u = state.users.get(name)?;
                    Some((
                        name.clone(),
                        (
                            u.access_keys.clone(),
                            u.dependents.as_deref().cloned().unwrap_or_default(),
                        ),
                    ))
                })
                .collect())
        })
    }

    async fn read_policy_tags(
        &self,
        arns: &[String],
    ) -> Result<BTreeMap<String, BTreeMap<String, String>>, BackendError> {
        for _ in arns {
            self.count("ListPolicyTags");
        }
        self.with_state(false, |state| {
            let mut out = BTreeMap::new();
            for arn in arns {
                match state.policy_tags(arn) {
                    Ok(tags) => {
                        out.insert(arn.clone(), tags);
                    }
                    Err(e) if e.kind == ErrorKind::NoSuchEntity => {}
                    Err(e) => return Err(e),
                }
            }
            Ok(out)
        })
    }

    async fn policy_description(&self, arn: &str) -> Result<Option<String>, BackendError> {
        self.count("GetPolicy");
        self.with_state(false, |state| {
            Ok(state
                .managed
                .values()
                .find(|p| p.arn == arn)
                .map(|p| p.description.clone().unwrap_or_default()))
        })
    }

    async fn policy_exists(&self, arn: &str) -> Result<Option<bool>, BackendError> {
        if arn.contains(":aws:policy/") {
            // AWS's own managed policies are not in a local account file.
            return Ok(None);
        }
        Ok(Some(self.policy_description(arn).await?.is_some()))
    }

    async fn read_groups(&self) -> Result<BTreeMap<String, crate::model::Group>, BackendError> {
        self.count("GetAccountAuthorizationDetails");
        self.with_state(false, |state| Ok(state.all_groups()))
    }

    async fn policy_documents(
        &self,
        arns: &[String],
    ) -> Result<BTreeMap<String, crate::policy::PolicyDocument>, BackendError> {
        // Customer-managed documents only: the local account has no copy of AWS's managed policies.
        self.with_state(false, |state| {
            Ok(arns
                .iter()
                .filter_map(|arn| {
                    state
                        .managed
                        .values()
                        .find(|p| &p.arn == arn)
                        .map(|p| (arn.clone(), p.document.clone()))
                })
                .collect())
        })
    }

    async fn list_access_keys(&self, user: &str) -> Result<Vec<AccessKey>, BackendError> {
        self.count("ListAccessKeys");
        self.with_state(false, |state| {
            let key = state.key_of(user).ok_or_else(|| {
                BackendError::new(ErrorKind::NoSuchEntity, "ListAccessKeys", "no such user")
                    .on(user)
            })?;
            Ok(state.users[&key].access_keys.clone())
        })
    }

    async fn keys_last_used(
        &self,
        ids: &[String],
    ) -> Result<BTreeMap<String, crate::model::KeyUse>, BackendError> {
        for _ in ids {
            self.count("GetAccessKeyLastUsed");
        }
        // The file knows every key's use: a key it records no use of was never used.
        self.with_state(false, |state| {
            Ok(state
                .users
                .values()
                .flat_map(|u| &u.access_keys)
                .filter(|k| ids.contains(&k.id))
                .map(|k| {
                    (
                        k.id.clone(),
                        k.last_used.unwrap_or(crate::model::KeyUse::Never),
                    )
                })
                .collect())
        })
    }

    async fn credential_report(
        &self,
    ) -> Result<Option<crate::credential_report::CredentialReport>, BackendError> {
        // Listing a file's keys costs nothing: a report would only add a way to be out of date.
        Ok(None)
    }

    async fn lock(&self, req: &LockRequest) -> Result<LockState, BackendError> {
        let path = self.apply_lock_path(req);
        match OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)
        {
            Ok(mut f) => {
                f.write_all(req.holder.as_bytes())
                    .and_then(|()| f.sync_all())
                    .map_err(|e| file_err(&path, e.to_string(), "check free space"))?;
                Ok(LockState::Acquired)
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                Ok(match self.read_holder(req)? {
                    Some(h) if h == req.holder => LockState::Acquired,
                    Some(h) => LockState::HeldBy(h),
                    // Released between the two calls: the caller tries again.
                    None => LockState::HeldBy(String::new()),
                })
            }
            Err(e) => Err(file_err(
                &path,
                e.to_string(),
                "check the directory's permissions",
            )),
        }
    }

    async fn lock_holder(&self, req: &LockRequest) -> Result<Option<String>, BackendError> {
        self.read_holder(req)
    }

    async fn unlock(&self, req: &LockRequest, force: bool) -> Result<(), BackendError> {
        let path = self.apply_lock_path(req);
        match self.read_holder(req)? {
            None => Ok(()),
            Some(h) if h != req.holder && force && !super::super::is_lock_holder(&h) => {
                Err(super::super::not_a_lock(req, Some(&req.owner), &h))
            }
            Some(h) if force || h == req.holder => match std::fs::remove_file(&path) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    Err(file_err(&path, e.to_string(), "remove it by hand"))
                }
                _ => Ok(()),
            },
            Some(h) => Err(BackendError::new(
                ErrorKind::Other,
                "unlock",
                format!("the lock is held by another run now: {h}"),
            )
            .on(path.display().to_string())),
        }
    }

    async fn execute(&self, op: &Op) -> Result<Outcome, BackendError> {
        self.count(op.api_name());
        let now = self.effects.now();
        // Key ids and secrets from a generator seeded by the injected randomness: tests decide, nothing else does.
        let drawn = ((self.effects.random)() * (1u64 << 53) as f64) as u64;
        // The call count keeps a fixed test randomness from giving every key one secret.
        let seed = drawn ^ self.stats.snapshot().values().sum::<u64>();
        let mut rng = <rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(seed);
        self.with_state(true, |state| state.apply(op, now, &mut rng))
    }

    fn stats(&self) -> CallStats {
        self.stats.snapshot()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::local::emulator::op_create;

    #[test]
    fn refuses_foreign_and_corrupt_files() {
        let dir = tempfile::tempdir().unwrap();
        let foreign = dir.path().join("foreign.json");
        std::fs::write(&foreign, r#"{"users": {}}"#).unwrap();
        let e = LocalBackend::open(&foreign, Effects::instant(0))
            .err()
            .unwrap();
        assert!(e.message.contains("not an iamspec local account"), "{e}");
        let corrupt = dir.path().join("corrupt.json");
        std::fs::write(&corrupt, "{\"iamspec_local_account\": 1, ").unwrap();
        let e = LocalBackend::open(&corrupt, Effects::instant(0))
            .err()
            .unwrap();
        assert!(e.message.contains("not valid JSON"), "{e}");
    }

    #[tokio::test]
    async fn writes_are_persisted() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("acct.json");
        let b = LocalBackend::open(&path, Effects::instant(0)).unwrap();
        b.execute(&op_create("carol")).await.unwrap();
        let again = LocalBackend::open(&path, Effects::instant(0)).unwrap();
        let live = again.read(&ReadScope::default()).await.unwrap();
        assert!(live.users.contains_key("carol"));
    }
}
