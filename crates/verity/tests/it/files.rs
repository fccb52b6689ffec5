//! What Verity keeps on disk is its owner's only: the data directory is created 0700,
//! the database (with its `-wal` and `-shm` files) and the master key file are 0600.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use verity::app::App;
use verity::config::Config;

use crate::support::Target;

/// The permission bits of `path`.
pub fn mode(path: &Path) -> u32 {
    std::fs::metadata(path)
        .unwrap_or_else(|error| panic!("{}: {error}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

/// The database's files, the `-wal` and `-shm` ones as SQLite names them.
fn database_files(data: &Path) -> [std::path::PathBuf; 3] {
    ["verity.db", "verity.db-wal", "verity.db-shm"].map(|name| data.join(name))
}

#[tokio::test]
async fn the_data_directory_is_0700_and_the_database_and_key_files_0600() {
    let target = Target::sqlite();
    let data = target.dir.path().join("data");
    target.ok(&["keys", "list"]);
    assert_eq!(mode(&data), 0o700, "the data directory");
    assert_eq!(mode(&data.join("master.key")), 0o600, "the master key");

    // With the store open (as a running server holds it) the WAL files exist too.
    let mut config = Config::default();
    config.store.data_dir = data.clone();
    let app = App::open(config.clone()).await.unwrap();
    for file in database_files(&data) {
        assert_eq!(mode(&file), 0o600, "{}", file.display());
    }
    drop(app);

    // Files an older version (or a careless copy) left readable are restricted.
    for file in database_files(&data).iter().filter(|file| file.exists()) {
        std::fs::set_permissions(file, std::fs::Permissions::from_mode(0o644)).unwrap();
    }
    let app = App::open(config).await.unwrap();
    for file in database_files(&data) {
        assert_eq!(mode(&file), 0o600, "{}", file.display());
    }
    drop(app);
}

#[test]
fn a_nested_data_directory_is_created_0700_all_the_way_down() {
    let target = Target::sqlite();
    let nested = target.dir.path().join("srv").join("verity");
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_verity"));
    command
        .current_dir(target.dir.path())
        .env_remove("RUST_LOG");
    for (key, _) in std::env::vars().filter(|(key, _)| key.starts_with("VERITY__")) {
        command.env_remove(key);
    }
    let output = command
        .arg("--data-dir")
        .arg(&nested)
        .args(["org", "list"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    assert_eq!(mode(&target.dir.path().join("srv")), 0o700);
    assert_eq!(mode(&nested), 0o700);
    assert_eq!(mode(&nested.join("verity.db")), 0o600);
}
