//! Secret delivery: each new access key's secret is written to its own file, fsynced, before any other call.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use crate::backend::NewAccessKey;
use crate::engine::KeySink;

/// The file layout of a delivered secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum SecretsFormat {
    /// `{"AccessKeyId", "SecretAccessKey", "UserName", "CreateDate"}`.
    #[default]
    Json,
    /// `AWS_ACCESS_KEY_ID=...` lines for a dotenv file.
    Env,
    /// An `[iamspec-USER]` profile for ~/.aws/credentials.
    AwsCredentials,
}

/// Writes each secret to `DIR/USER-KEYID.EXT` with mode 0600, in a directory of mode 0700.
#[derive(Debug)]
pub struct SecretsDir {
    dir: PathBuf,
    format: SecretsFormat,
}

impl SecretsDir {
    /// Prepares the directory: created with 0700 when missing; refused when others can read it.
    ///
    /// # Errors
    /// When the directory cannot be created or is readable by others.
    pub fn prepare(dir: &Path, format: SecretsFormat) -> std::io::Result<Self> {
        make_private_dir(dir)?;
        let mode = fs::metadata(dir)?.permissions().mode();
        if mode & 0o077 != 0 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::PermissionDenied,
                format!(
                    "secrets directory {} has mode {:o}; others could read the secrets (run `chmod 700 {}`)",
                    dir.display(),
                    mode & 0o777,
                    dir.display()
                ),
            ));
        }
        Ok(Self {
            dir: dir.to_owned(),
            format,
        })
    }
}

/// Creates `dir` (and any missing parent) with mode 0700, or checks that the existing path is a directory.
fn make_private_dir(dir: &Path) -> std::io::Result<()> {
    match fs::metadata(dir) {
        Ok(meta) if meta.is_dir() => Ok(()),
        Ok(_) => Err(std::io::Error::new(
            std::io::ErrorKind::NotADirectory,
            format!("{} is not a directory", dir.display()),
        )),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            // Every directory created on the way gets 0700, not just the last: the umask is not to be trusted.
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)
        }
        Err(e) => Err(e),
    }
}

/// Writes `bytes` to a new file `path` (mode 0600) and fsyncs it and its directory. A failed write leaves no file
/// behind: an empty or partial secret file is worse than none.
fn write_secret(dir: &Path, path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    write_secret_with(dir, path, |f| f.write_all(bytes))
}

/// [`write_secret`] with the writing step given: tests make it fail half way.
fn write_secret_with(
    dir: &Path,
    path: &Path,
    fill: impl FnOnce(&mut fs::File) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let mut f = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    let written = fill(&mut f).and_then(|()| f.sync_all());
    if let Err(e) = written {
        drop(f);
        let _ = fs::remove_file(path);
        return Err(e);
    }
    fs::File::open(dir)?.sync_all()
}

fn rfc3339(secs: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(secs)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

/// The bytes of a secret file in `format`.
#[must_use]
pub fn render_secret(key: &NewAccessKey, format: SecretsFormat) -> (String, String) {
    match format {
        SecretsFormat::Json => {
            let doc = serde_json::json!({
                "AccessKeyId": key.id,
                "SecretAccessKey": key.secret.expose(),
                "UserName": key.user,
                "CreateDate": rfc3339(key.created),
            });
            (
                "json".into(),
                format!(
                    "{}\n",
                    serde_json::to_string_pretty(&doc).unwrap_or_default()
                ),
            )
        }
        SecretsFormat::Env => (
            "env".into(),
            format!(
                "AWS_ACCESS_KEY_ID={}\nAWS_SECRET_ACCESS_KEY={}\n",
                key.id,
                key.secret.expose()
            ),
        ),
        SecretsFormat::AwsCredentials => (
            "ini".into(),
            format!(
                "[iamspec-{}]\naws_access_key_id = {}\naws_secret_access_key = {}\n",
                key.user,
                key.id,
                key.secret.expose()
            ),
        ),
    }
}

impl KeySink for SecretsDir {
    fn deliver(&self, key: &NewAccessKey) -> std::io::Result<String> {
        let (ext, body) = render_secret(key, self.format);
        let path = self.dir.join(format!("{}-{}.{ext}", key.user, key.id));
        write_secret(&self.dir, &path, body.as_bytes())?;
        Ok(path.display().to_string())
    }

    fn discard(&self, user: &str, key_id: &str) -> std::io::Result<Option<String>> {
        discard_in(&self.dir, user, key_id)
    }
}

/// Removes `DIR/USER-KEYID.*` (any format, sealed or not): the secret of a key that no longer exists.
fn discard_in(dir: &Path, user: &str, key_id: &str) -> std::io::Result<Option<String>> {
    let stem = format!("{user}-{key_id}.");
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    let mut removed = None;
    for entry in entries {
        let entry = entry?;
        if entry.file_name().to_string_lossy().starts_with(&stem) {
            std::fs::remove_file(entry.path())?;
            removed = Some(entry.path().display().to_string());
        }
    }
    Ok(removed)
}

/// Writes each secret encrypted to an age recipient: `DIR/USER-KEYID.EXT.age`. The files are safe to upload as a CI
/// artifact; only the holder of the matching identity can read them.
pub struct AgeSink {
    dir: PathBuf,
    recipient: age::x25519::Recipient,
    format: SecretsFormat,
}

impl std::fmt::Debug for AgeSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AgeSink")
            .field("dir", &self.dir)
            .field("recipient", &self.recipient.to_string())
            .finish()
    }
}

impl AgeSink {
    /// Parses the recipient (`age1...`) and prepares the directory (created with 0700 when missing).
    ///
    /// # Errors
    /// An invalid recipient or an unusable directory.
    pub fn prepare(dir: &Path, recipient: &str, format: SecretsFormat) -> std::io::Result<Self> {
        let recipient: age::x25519::Recipient = recipient.trim().parse().map_err(|e: &str| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("--encrypt-to: not an age recipient: {e}"),
            )
        })?;
        make_private_dir(dir)?;
        Ok(Self {
            dir: dir.to_owned(),
            recipient,
            format,
        })
    }
}

impl KeySink for AgeSink {
    fn deliver(&self, key: &NewAccessKey) -> std::io::Result<String> {
        let (ext, body) = render_secret(key, self.format);
        let sealed =
            age::encrypt(&self.recipient, body.as_bytes()).map_err(std::io::Error::other)?;
        let path = self.dir.join(format!("{}-{}.{ext}.age", key.user, key.id));
        write_secret(&self.dir, &path, &sealed)?;
        Ok(path.display().to_string())
    }

    fn discard(&self, user: &str, key_id: &str) -> std::io::Result<Option<String>> {
        discard_in(&self.dir, user, key_id)
    }
}

/// The sink when no destination was given: refuses, so no key is created whose secret would be lost.
#[derive(Debug)]
pub struct NoSink;

impl KeySink for NoSink {
    fn deliver(&self, _key: &NewAccessKey) -> std::io::Result<String> {
        Err(std::io::Error::other(
            "no --secrets-dir or --encrypt-to given",
        ))
    }

    fn discard(&self, _user: &str, _key_id: &str) -> std::io::Result<Option<String>> {
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::Secret;

    #[test]
    fn writes_0600_in_0700_and_refuses_open_dirs() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("secrets");
        let sink = SecretsDir::prepare(&dir, SecretsFormat::Json).unwrap();
        let key = NewAccessKey {
            user: "u".into(),
            id: "AKIA1".into(),
            secret: Secret::new("s3cr3t".into()),
            created: 0,
        };
        let path = sink.deliver(&key).unwrap();
        assert_eq!(
            fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        assert_eq!(
            fs::metadata(&dir).unwrap().permissions().mode() & 0o777,
            0o700
        );
        let body: serde_json::Value =
            serde_json::from_str(&fs::read_to_string(&path).unwrap()).unwrap();
        assert_eq!(body["SecretAccessKey"], "s3cr3t");
        assert_eq!(body["CreateDate"], "1970-01-01T00:00:00Z");

        let identity = age::x25519::Identity::generate();
        let age_sink = AgeSink::prepare(
            &tmp.path().join("sealed"),
            &identity.to_public().to_string(),
            SecretsFormat::Env,
        )
        .unwrap();
        let sealed = age_sink.deliver(&key).unwrap();
        let bytes = fs::read(&sealed).unwrap();
        assert!(!String::from_utf8_lossy(&bytes).contains("s3cr3t"));
        let opened = String::from_utf8(age::decrypt(&identity, &bytes).unwrap()).unwrap();
        assert_eq!(
            opened,
            "AWS_ACCESS_KEY_ID=AKIA1\nAWS_SECRET_ACCESS_KEY=s3cr3t\n"
        );
        assert!(AgeSink::prepare(tmp.path(), "not-a-recipient", SecretsFormat::Json).is_err());

        let open = tmp.path().join("open");
        fs::create_dir(&open).unwrap();
        fs::set_permissions(&open, fs::Permissions::from_mode(0o755)).unwrap();
        assert!(SecretsDir::prepare(&open, SecretsFormat::Json).is_err());
    }

    #[test]
    fn parents_are_private_a_file_is_not_a_directory_and_failed_writes_leave_nothing() {
        let tmp = tempfile::tempdir().unwrap();
        let deep = tmp.path().join("a/b/secrets");
        SecretsDir::prepare(&deep, SecretsFormat::Json).unwrap();
        for dir in [tmp.path().join("a"), tmp.path().join("a/b"), deep.clone()] {
            assert_eq!(
                fs::metadata(&dir).unwrap().permissions().mode() & 0o777,
                0o700,
                "{}",
                dir.display()
            );
        }
        let file = tmp.path().join("plain-file");
        fs::write(&file, "x").unwrap();
        let e = SecretsDir::prepare(&file, SecretsFormat::Json).unwrap_err();
        assert!(e.to_string().contains("is not a directory"), "{e}");
        // The disk fills half way through a secret: no file, empty or partial, stays behind.
        let target = tmp.path().join("partial.json");
        let e = write_secret_with(tmp.path(), &target, |f| {
            f.write_all(b"{\"AccessKeyId\":")?;
            Err(std::io::Error::other("no space left on device"))
        })
        .unwrap_err();
        assert!(e.to_string().contains("no space"));
        assert!(!target.exists(), "the partial secret file was left behind");
        write_secret(tmp.path(), &target, b"ok").unwrap();
        assert_eq!(fs::read(&target).unwrap(), b"ok");
    }
}
