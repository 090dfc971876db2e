//! Files iamspec reads and writes itself (the spec, saved plans, the local account, imported specs): atomic
//! replacement, so a crash never leaves half a file.

use std::io::Write;
use std::path::Path;

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
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}
