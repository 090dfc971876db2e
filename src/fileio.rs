//! Files iamspec reads and writes itself (the spec, saved plans, the local account, imported specs). Reads are
//! bounded and take regular files only: a spec that is `/dev/zero`, a FIFO or a 200 MB file is refused at once,
//! having read at most the limit. Writes replace a file atomically, so a crash never leaves half a file.

use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::Path;

/// Why a file could not be read.
#[derive(Debug)]
pub enum ReadError {
    /// It is not a regular file (a device, a FIFO, a directory, a socket).
    NotRegular(&'static str),
    /// It is larger than the limit.
    TooLarge {
        /// Its size, or a lower bound when it grew while being read.
        size: u64,
        /// The limit.
        limit: u64,
    },
    /// It is not UTF-8 text.
    NotUtf8 {
        /// The byte offset of the first invalid byte.
        offset: usize,
    },
    /// Opening or reading failed.
    Io(std::io::Error),
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotRegular(kind) => write!(f, "it is {kind}, not a regular file"),
            Self::TooLarge { size, limit } => {
                write!(f, "it is {size} bytes; the limit is {limit} bytes")
            }
            Self::NotUtf8 { offset } => write!(f, "it is not UTF-8 text (byte {offset})"),
            Self::Io(e) => e.fmt(f),
        }
    }
}

// No `source`: the message already carries the I/O error, and a cause chain would say it twice.
impl std::error::Error for ReadError {}

impl ReadError {
    /// Whether the file does not exist.
    #[must_use]
    pub fn is_not_found(&self) -> bool {
        matches!(self, Self::Io(e) if e.kind() == std::io::ErrorKind::NotFound)
    }
}

/// The largest file iamspec reads: a spec, a saved plan or a local account file.
pub const MAX_FILE_BYTES: u64 = 64 * 1024 * 1024;

/// Reads a regular file of at most `limit` bytes as UTF-8 text. The file is opened without blocking (a FIFO with
/// no writer would otherwise hang the open), checked to be a regular file, and read no further than the limit.
///
/// # Errors
/// [`ReadError`].
pub fn read_bounded(path: &Path, limit: u64) -> Result<String, ReadError> {
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .map_err(ReadError::Io)?;
    let meta = file.metadata().map_err(ReadError::Io)?;
    let kind = meta.file_type();
    if !kind.is_file() {
        return Err(ReadError::NotRegular(if kind.is_dir() {
            "a directory"
        } else if kind.is_fifo() {
            "a FIFO"
        } else if kind.is_char_device() {
            "a character device"
        } else if kind.is_block_device() {
            "a block device"
        } else if kind.is_socket() {
            "a socket"
        } else {
            "a special file"
        }));
    }
    if meta.len() > limit {
        return Err(ReadError::TooLarge {
            size: meta.len(),
            limit,
        });
    }
    let mut bytes = Vec::with_capacity(usize::try_from(meta.len()).unwrap_or(0));
    file.take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(ReadError::Io)?;
    if bytes.len() as u64 > limit {
        return Err(ReadError::TooLarge {
            size: bytes.len() as u64,
            limit,
        });
    }
    String::from_utf8(bytes).map_err(|e| ReadError::NotUtf8 {
        offset: e.utf8_error().valid_up_to(),
    })
}

/// Replaces `path` with `bytes` atomically: write a temp file beside it, fsync, rename, fsync the directory.
///
/// # Errors
/// I/O errors.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_devices_fifos_directories_and_oversized_files() {
        let dir = tempfile::tempdir().unwrap();
        assert!(matches!(
            read_bounded(Path::new("/dev/zero"), 1024),
            Err(ReadError::NotRegular("a character device"))
        ));
        assert!(matches!(
            read_bounded(dir.path(), 1024),
            Err(ReadError::NotRegular("a directory"))
        ));
        let fifo = dir.path().join("fifo");
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(made.success());
        let started = std::time::Instant::now();
        assert!(matches!(
            read_bounded(&fifo, 1024),
            Err(ReadError::NotRegular("a FIFO"))
        ));
        assert!(started.elapsed() < std::time::Duration::from_secs(1));
        let big = dir.path().join("big");
        std::fs::write(&big, vec![b'a'; 2048]).unwrap();
        assert!(matches!(
            read_bounded(&big, 1024),
            Err(ReadError::TooLarge { size: 2048, .. })
        ));
        assert_eq!(read_bounded(&big, 2048).unwrap().len(), 2048);
        std::fs::write(&big, b"ok\xff").unwrap();
        assert!(matches!(
            read_bounded(&big, 2048),
            Err(ReadError::NotUtf8 { offset: 2 })
        ));
        let link = dir.path().join("zero-link");
        std::os::unix::fs::symlink("/dev/zero", &link).unwrap();
        assert!(matches!(
            read_bounded(&link, 1024),
            Err(ReadError::NotRegular(_))
        ));
        assert!(read_bounded(&dir.path().join("missing"), 1)
            .unwrap_err()
            .is_not_found());
    }
}
