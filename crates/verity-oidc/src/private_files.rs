//! Files only their owner may read: directories created with mode 0700, files created
//! with mode 0600 and written whole. For everything Verity keeps on disk that holds a
//! secret: the master key, the data directory, the email outbox.

use std::io::Write;
use std::path::Path;

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
