//! The local account file: a JSON file that stands in for one IAM account, for offline demos and tests. Reads and
//! writes go through the [emulator](super::LocalAccount); every write replaces the file atomically (temp file,
//! fsync, rename), so a crash never leaves half a file.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use super::{LocalAccount, LOCAL_FORMAT};
use crate::backend::{Backend, BackendError, CallStats, ErrorKind, Outcome, ReadScope};
use crate::effects::Effects;
use crate::fileio::write_atomic;
use crate::model::{AccessKey, Account, Dependents};
use crate::plan::Op;

/// A backend over a local account file.
pub struct LocalBackend {
    path: PathBuf,
    state: Mutex<LocalAccount>,
    stats: crate::backend::CallCounter,
    effects: Effects,
}

fn file_err(path: &Path, message: impl Into<String>, hint: &str) -> BackendError {
    let mut e = BackendError::new(ErrorKind::LocalFile, "open local account", message)
        .on(path.display().to_string());
    e.hint = Some(hint.to_owned());
    e
}

impl LocalBackend {
    /// Opens a local account file; a missing file is a new, empty account (written on the first change).
    ///
    /// # Errors
    /// A file that is not JSON, or not an iamspec local account.
    pub fn open(path: &Path, effects: Effects) -> Result<Self, BackendError> {
        let state = match std::fs::read_to_string(path) {
            Ok(text) => parse_account(path, &text)?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => LocalAccount::default(),
            Err(e) => {
                return Err(file_err(
                    path,
                    e.to_string(),
                    "check the path and its permissions",
                ))
            }
        };
        Ok(Self {
            path: path.to_owned(),
            state: Mutex::new(state),
            stats: crate::backend::CallCounter::default(),
            effects,
        })
    }

    fn count(&self, op: &str) {
        self.stats.count(op);
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
    async fn account_id(&self) -> Result<String, BackendError> {
        self.count("GetCallerIdentity");
        Ok(self.state.lock().expect("state lock").account_id.clone())
    }

    async fn read(&self, scope: &ReadScope) -> Result<Account, BackendError> {
        self.count("GetAccountAuthorizationDetails");
        let state = self.state.lock().expect("state lock");
        let account = state.view(scope);
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
        let state = self.state.lock().expect("state lock");
        let mut out = BTreeMap::new();
        for name in users {
            self.count("ListAccessKeys");
            if let Some(u) = state.users.get(name) {
                out.insert(
                    name.clone(),
                    (
                        u.access_keys.clone(),
                        u.dependents.clone().unwrap_or_default(),
                    ),
                );
            }
        }
        Ok(out)
    }

    async fn read_policy_tags(
        &self,
        arns: &[String],
    ) -> Result<BTreeMap<String, BTreeMap<String, String>>, BackendError> {
        let state = self.state.lock().expect("state lock");
        let mut out = BTreeMap::new();
        for arn in arns {
            self.count("ListPolicyTags");
            match state.policy_tags(arn) {
                Ok(tags) => {
                    out.insert(arn.clone(), tags);
                }
                Err(e) if e.kind == ErrorKind::NoSuchEntity => {}
                Err(e) => return Err(e),
            }
        }
        Ok(out)
    }

    async fn policy_description(&self, arn: &str) -> Result<Option<String>, BackendError> {
        self.count("GetPolicy");
        let state = self.state.lock().expect("state lock");
        Ok(state
            .managed
            .values()
            .find(|p| p.arn == arn)
            .map(|p| p.description.clone().unwrap_or_default()))
    }

    async fn list_access_keys(&self, user: &str) -> Result<Vec<AccessKey>, BackendError> {
        self.count("ListAccessKeys");
        let state = self.state.lock().expect("state lock");
        let key = state.key_of(user).ok_or_else(|| {
            BackendError::new(ErrorKind::NoSuchEntity, "ListAccessKeys", "no such user").on(user)
        })?;
        Ok(state.users[&key].access_keys.clone())
    }

    async fn execute(&self, op: &Op) -> Result<Outcome, BackendError> {
        self.count(op.api_name());
        let mut state = self.state.lock().expect("state lock");
        let mut next = state.clone();
        let outcome = next.apply(op, self.effects.now(), &mut rand::rng())?;
        self.save(&next)?;
        *state = next;
        Ok(outcome)
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
