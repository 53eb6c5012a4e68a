//! The database key: 256 random bits, handed to SQLCipher as a raw key (no passphrase KDF).
//!
//! Where it lives, in order of precedence:
//! 1. `KITAKONTOR_DB_KEY` — 64 hex characters (headless servers, CI);
//! 2. a key file (`--key-file` / `KITAKONTOR_KEY_FILE`) holding the same 64 hex characters;
//! 3. the OS credential store through `keyring` (the desktop default).
//!
//! `SecretStore` abstracts 3 so tests run with an in-memory store.

use crate::error::{Result, StoreError};
use rand::RngCore;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

pub const KEY_ENV: &str = "KITAKONTOR_DB_KEY";
const SERVICE: &str = "kitakontor";

/// A 256-bit SQLCipher key. Not `Debug`/`Display` so it never lands in a log.
#[derive(Clone, PartialEq, Eq)]
pub struct DbKey([u8; 32]);

impl DbKey {
    pub fn generate() -> DbKey {
        let mut k = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut k);
        DbKey(k)
    }

    pub fn from_hex(s: &str) -> Result<DbKey> {
        let bytes = hex::decode(s.trim()).map_err(|_| StoreError::InvalidKey("expected 64 hex characters".into()))?;
        let arr: [u8; 32] = bytes.try_into().map_err(|_| StoreError::InvalidKey("expected 64 hex characters (32 bytes)".into()))?;
        Ok(DbKey(arr))
    }

    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// The value for `PRAGMA key`: a raw key blob, so SQLCipher skips PBKDF2.
    pub(crate) fn pragma_value(&self) -> String {
        format!("\"x'{}'\"", self.to_hex())
    }
}

/// A place to keep secrets by name (the OS credential store, or memory in tests).
pub trait SecretStore: Send + Sync {
    fn get(&self, name: &str) -> Result<Option<String>>;
    fn set(&self, name: &str, secret: &str) -> Result<()>;
    fn delete(&self, name: &str) -> Result<()>;
}

/// The OS credential store (Secret Service on Linux, Keychain on macOS, Credential Manager on Windows).
pub struct KeyringStore;

impl SecretStore for KeyringStore {
    fn get(&self, name: &str) -> Result<Option<String>> {
        let entry = keyring::Entry::new(SERVICE, name).map_err(|e| StoreError::CredentialStore(e.to_string()))?;
        match entry.get_password() {
            Ok(s) => Ok(Some(s)),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(e) => Err(StoreError::CredentialStore(e.to_string())),
        }
    }
    fn set(&self, name: &str, secret: &str) -> Result<()> {
        let entry = keyring::Entry::new(SERVICE, name).map_err(|e| StoreError::CredentialStore(e.to_string()))?;
        entry.set_password(secret).map_err(|e| StoreError::CredentialStore(e.to_string()))
    }
    fn delete(&self, name: &str) -> Result<()> {
        let entry = keyring::Entry::new(SERVICE, name).map_err(|e| StoreError::CredentialStore(e.to_string()))?;
        match entry.delete_credential() {
            Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
            Err(e) => Err(StoreError::CredentialStore(e.to_string())),
        }
    }
}

/// An in-memory store for tests.
#[derive(Default)]
pub struct MemoryStore(Mutex<HashMap<String, String>>);

impl SecretStore for MemoryStore {
    fn get(&self, name: &str) -> Result<Option<String>> {
        Ok(self.0.lock().expect("not poisoned").get(name).cloned())
    }
    fn set(&self, name: &str, secret: &str) -> Result<()> {
        self.0.lock().expect("not poisoned").insert(name.into(), secret.into());
        Ok(())
    }
    fn delete(&self, name: &str) -> Result<()> {
        self.0.lock().expect("not poisoned").remove(name);
        Ok(())
    }
}

/// Where the key of one database comes from.
pub enum KeySource<'a> {
    /// An explicit key (from `KITAKONTOR_DB_KEY`).
    Explicit(DbKey),
    /// A file with 64 hex characters.
    File(PathBuf),
    /// A credential store entry named after the database path.
    Store(&'a dyn SecretStore),
}

impl KeySource<'_> {
    /// The entry name in the credential store: one key per database file.
    fn entry_name(db: &Path) -> String {
        let abs = std::path::absolute(db).unwrap_or_else(|_| db.to_path_buf());
        format!("db-key:{}", abs.display())
    }

    /// Loads the key for an existing database.
    pub fn load(&self, db: &Path) -> Result<DbKey> {
        match self {
            KeySource::Explicit(k) => Ok(k.clone()),
            KeySource::File(p) => {
                let s = std::fs::read_to_string(p).map_err(|e| StoreError::KeyMissing(format!("key file {}: {e}", p.display())))?;
                DbKey::from_hex(&s)
            }
            KeySource::Store(s) => s
                .get(&Self::entry_name(db))?
                .map(|h| DbKey::from_hex(&h))
                .transpose()?
                .ok_or_else(|| StoreError::KeyMissing(format!("credential store has no key for {}", db.display()))),
        }
    }

    /// Creates and stores a key for a new database. Refuses to replace an existing key file.
    pub fn create(&self, db: &Path) -> Result<DbKey> {
        match self {
            KeySource::Explicit(k) => Ok(k.clone()),
            KeySource::File(p) => {
                if p.exists() {
                    // An existing key file is reused: it may belong to a database being restored.
                    return self.load(db);
                }
                let key = DbKey::generate();
                write_private(p, &key.to_hex())?;
                Ok(key)
            }
            KeySource::Store(s) => {
                let key = DbKey::generate();
                s.set(&Self::entry_name(db), &key.to_hex())?;
                Ok(key)
            }
        }
    }
}

fn write_private(path: &Path, content: &str) -> Result<()> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(path).map_err(|e| StoreError::InvalidKey(format!("cannot write key file {}: {e}", path.display())))?;
    f.write_all(content.as_bytes()).and_then(|_| f.sync_all()).map_err(|e| StoreError::InvalidKey(e.to_string()))
}

/// The database file when none is given: `$XDG_DATA_HOME/kitakontor/kitakontor.db`
/// (`~/.local/share/kitakontor/kitakontor.db`).
pub fn default_db_path() -> PathBuf {
    let base = std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))
        .unwrap_or_else(|| PathBuf::from("."));
    base.join("kitakontor").join("kitakontor.db")
}

/// The key source the CLI and the desktop app share: `KITAKONTOR_DB_KEY`, else the key file,
/// else the credential store.
pub fn key_source<'a>(key_file: Option<PathBuf>, store: &'a dyn SecretStore) -> Result<KeySource<'a>> {
    if let Ok(hex) = std::env::var(KEY_ENV) {
        return Ok(KeySource::Explicit(DbKey::from_hex(&hex)?));
    }
    Ok(match key_file {
        Some(p) => KeySource::File(p),
        None => KeySource::Store(store),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip_and_reject_garbage() {
        let k = DbKey::generate();
        assert!(DbKey::from_hex(&k.to_hex()).unwrap() == k);
        assert!(DbKey::from_hex("abc").is_err());
        assert!(DbKey::from_hex(&"zz".repeat(32)).is_err());
        let mem = MemoryStore::default();
        let src = KeySource::Store(&mem);
        let db = Path::new("/tmp/x.db");
        assert!(matches!(src.load(db), Err(StoreError::KeyMissing(_))));
        let created = src.create(db).unwrap();
        assert!(src.load(db).unwrap() == created);
    }
}
