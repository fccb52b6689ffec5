//! Files only their owner may read: directories created with mode 0700, files created
//! with mode 0600 and written whole, secrets read only when nobody else may read them.
//! For everything Verity keeps on disk that holds a secret: the master key, the audit
//! key, the data directory, the email outbox.

use std::io::Write;
use std::path::Path;

/// Whether [`load_or_create`] made a new file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PrivateFile {
    /// The file did not exist; it was created with the new contents.
    Created,
    /// The file existed and was read.
    Existing,
}

/// Reads the secret at `path`, or creates the file with `make()` when it does not exist.
/// The file is created with mode 0600 (atomically: several processes starting at once end
/// up with one file, and nobody reads a half-written one); an existing file readable or
/// writable by group or others is refused rather than used. The error says why, without
/// the path.
pub fn load_or_create(
    path: &Path,
    make: impl FnOnce() -> String,
) -> Result<(String, PrivateFile), String> {
    match std::fs::symlink_metadata(path) {
        Ok(_) => return Ok((read_private_file(path)?, PrivateFile::Existing)),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
        Err(error) => return Err(error.to_string()),
    }
    if let Some(parent) = path
        .parent()
        .filter(|parent| !parent.as_os_str().is_empty())
    {
        create_private_dir(parent).map_err(|error| error.to_string())?;
    }
    let contents = make();
    // Written in full to a private temporary file, then linked into place: the link
    // fails if another process created the file meanwhile.
    let temporary = path.with_extension(format!("tmp-{}", crate::random::uuid().simple()));
    let written = write_private_file(&temporary, contents.as_bytes())
        .and_then(|()| std::fs::hard_link(&temporary, path));
    let _ = std::fs::remove_file(&temporary);
    match written {
        Ok(()) => {
            sync_parent(path);
            Ok((contents, PrivateFile::Created))
        }
        Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => {
            Ok((read_private_file(path)?, PrivateFile::Existing))
        }
        Err(error) => Err(error.to_string()),
    }
}

/// Reads an existing secret file, refusing one that others may read or write.
pub fn read_private_file(path: &Path) -> Result<String, String> {
    let metadata = std::fs::metadata(path).map_err(|error| error.to_string())?;
    if !metadata.is_file() {
        return Err("not a regular file".into());
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = metadata.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(format!(
                "mode {mode:04o} lets group or others read it; refusing to use it \
                 (restrict it with `chmod 600 {}`, and consider the key exposed)",
                path.display()
            ));
        }
    }
    std::fs::read_to_string(path).map_err(|error| error.to_string())
}

/// Creates `path` and any missing parents, each with mode 0700 (on Unix). A directory
/// that exists already is left as it is.
pub fn create_private_dir(path: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(path)
}

/// Creates `path`, which must not exist, with mode 0600 (on Unix) and writes `contents`
/// durably.
pub fn write_private_file(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(contents)?;
    file.sync_all()
}

/// Makes a new directory entry durable (best effort: not every platform can).
fn sync_parent(path: &Path) {
    if let Some(parent) = path
        .parent()
        .filter(|parent| !parent.as_os_str().is_empty())
        && let Ok(directory) = std::fs::File::open(parent)
    {
        let _ = directory.sync_all();
    }
}

#[cfg(test)]
#[cfg(unix)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn directories_are_0700_and_files_0600_and_never_overwritten() {
        let root = tempfile::tempdir().unwrap();
        let nested = root.path().join("data").join("outbox");
        create_private_dir(&nested).unwrap();
        assert_eq!(mode(&root.path().join("data")), 0o700);
        assert_eq!(mode(&nested), 0o700);
        create_private_dir(&nested).unwrap();
        let file = nested.join("secret");
        write_private_file(&file, b"s3cret").unwrap();
        assert_eq!(mode(&file), 0o600);
        assert_eq!(std::fs::read(&file).unwrap(), b"s3cret");
        let again = write_private_file(&file, b"other").unwrap_err();
        assert_eq!(again.kind(), std::io::ErrorKind::AlreadyExists);
    }
}
