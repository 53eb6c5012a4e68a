//! The database key in the real OS credential store (Secret Service on Linux), not the
//! in-memory stand-in: store, reopen, lose it. Needs a D-Bus session with an unlocked keyring;
//! `scripts/test.sh` provides one with `dbus-run-session` + `gnome-keyring-daemon --unlock`.

use kitakontor_store::key::{KeySource, KeyringStore, SecretStore};
use kitakontor_store::{Store, StoreError};

#[tokio::test]
async fn the_database_key_lives_in_the_os_credential_store() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("kita.db");
    let keyring = KeyringStore;
    let source = KeySource::Store(&keyring);

    let key = source.create(&db).expect("the Secret Service accepts the key");
    Store::create(&db, &key).await.unwrap().close().await;

    // A new process would do exactly this: read the key back and open the file.
    let again = source.load(&db).expect("the key is in the keyring");
    let store = Store::open(&db, &again).await.expect("the stored key opens the database");
    assert_eq!(store.integrity_check().await.unwrap(), vec!["ok".to_string()]);
    store.close().await;

    // Losing the key is a clear error with the recovery path, never a new database.
    let name = format!("db-key:{}", std::path::absolute(&db).unwrap().display());
    assert!(keyring.get(&name).unwrap().is_some());
    keyring.delete(&name).unwrap();
    match source.load(&db) {
        Err(e @ StoreError::KeyMissing(_)) => assert!(e.to_string().contains("re-enrol"), "{e}"),
        Err(e) => panic!("expected KeyMissing, got {e}"),
        Ok(_) => panic!("the key should be gone"),
    }
    assert!(db.exists(), "the data file is untouched");
}
