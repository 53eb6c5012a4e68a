//! Where the device tokens live: the OS credential store in the app (never the database
//! file), memory in tests.

use kitakontor_core::protocol::Tokens;
use kitakontor_store::key::SecretStore;
use std::sync::Arc;

/// The credential-store entry holding this PC's hub tokens.
pub const TOKENS_ENTRY: &str = "hub-tokens";

#[derive(Clone)]
pub struct TokenStore(Arc<dyn SecretStore>);

impl TokenStore {
    pub fn new(store: Arc<dyn SecretStore>) -> TokenStore {
        TokenStore(store)
    }

    pub fn get(&self) -> Result<Option<Tokens>, String> {
        match self.0.get(TOKENS_ENTRY).map_err(|e| e.to_string())? {
            Some(json) => serde_json::from_str(&json).map(Some).map_err(|e| format!("gespeicherte Hub-Anmeldung unlesbar: {e}")),
            None => Ok(None),
        }
    }

    pub fn set(&self, tokens: &Tokens) -> Result<(), String> {
        self.0.set(TOKENS_ENTRY, &serde_json::to_string(tokens).expect("tokens serialise")).map_err(|e| e.to_string())
    }

    pub fn delete(&self) -> Result<(), String> {
        self.0.delete(TOKENS_ENTRY).map_err(|e| e.to_string())
    }
}

/// Secrets in a file (mode 0600), for headless PCs and scripts that run without a desktop
/// session and its credential store (`kitakontor --token-file`). Written atomically.
pub struct FileSecrets(std::path::PathBuf);

impl FileSecrets {
    pub fn new(path: impl Into<std::path::PathBuf>) -> FileSecrets {
        FileSecrets(path.into())
    }

    fn read(&self) -> kitakontor_store::Result<std::collections::BTreeMap<String, String>> {
        match std::fs::read_to_string(&self.0) {
            Ok(s) => serde_json::from_str(&s).map_err(|e| cred(format!("{}: {e}", self.0.display()))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Default::default()),
            Err(e) => Err(cred(format!("{}: {e}", self.0.display()))),
        }
    }

    fn write(&self, map: &std::collections::BTreeMap<String, String>) -> kitakontor_store::Result<()> {
        let tmp = self.0.with_extension("tmp");
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create(true).truncate(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
        let write = || -> std::io::Result<()> {
            use std::io::Write;
            let mut f = opts.open(&tmp)?;
            f.write_all(serde_json::to_string(map).expect("map serialises").as_bytes())?;
            f.sync_all()?;
            std::fs::rename(&tmp, &self.0)
        };
        write().map_err(|e| cred(format!("{}: {e}", self.0.display())))
    }
}

fn cred(msg: String) -> kitakontor_store::StoreError {
    kitakontor_store::StoreError::CredentialStore(msg)
}

impl SecretStore for FileSecrets {
    fn get(&self, name: &str) -> kitakontor_store::Result<Option<String>> {
        Ok(self.read()?.get(name).cloned())
    }

    fn set(&self, name: &str, secret: &str) -> kitakontor_store::Result<()> {
        let mut m = self.read()?;
        m.insert(name.into(), secret.into());
        self.write(&m)
    }

    fn delete(&self, name: &str) -> kitakontor_store::Result<()> {
        let mut m = self.read()?;
        m.remove(name);
        self.write(&m)
    }
}
