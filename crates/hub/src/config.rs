//! Configuration: a TOML file (`--config`, else `kitakontor-hub.toml` when present), overridden
//! by the environment:
//!
//! | key           | environment                   | default          |
//! |---------------|-------------------------------|------------------|
//! | database_url  | KITAKONTOR_HUB_DATABASE_URL   | (required)       |
//! | listen        | KITAKONTOR_HUB_LISTEN         | 127.0.0.1:8443   |
//! | tls_cert      | KITAKONTOR_HUB_TLS_CERT       | none: plain HTTP |
//! | tls_key       | KITAKONTOR_HUB_TLS_KEY        | none: plain HTTP |
//! | log           | KITAKONTOR_HUB_LOG            | text (or json)   |

use serde::Deserialize;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

pub const DEFAULT_FILE: &str = "kitakontor-hub.toml";
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8443";

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("Konfigurationsdatei {path} nicht lesbar: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("Konfigurationsdatei {path} fehlerhaft: {source}")]
    Parse { path: PathBuf, source: toml::de::Error },
    #[error("{0}")]
    Invalid(String),
}

/// The file's shape (every key optional).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    database_url: Option<String>,
    listen: Option<String>,
    tls_cert: Option<PathBuf>,
    tls_key: Option<PathBuf>,
    log: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tls {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// The resolved configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub database_url: Option<String>,
    pub listen: SocketAddr,
    pub tls: Option<Tls>,
    pub log: LogFormat,
}

impl Config {
    /// Reads the file (an explicit path must exist; the default file is optional) and applies
    /// the environment.
    pub fn load(path: Option<&Path>) -> Result<Config, ConfigError> {
        Config::load_with(path, |k| std::env::var(k).ok().filter(|v| !v.trim().is_empty()))
    }

    /// `load` with the environment as a function (for tests).
    pub fn load_with(path: Option<&Path>, env: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let file = match path {
            Some(p) => read(p)?,
            None if Path::new(DEFAULT_FILE).exists() => read(Path::new(DEFAULT_FILE))?,
            None => File::default(),
        };
        let database_url = env("KITAKONTOR_HUB_DATABASE_URL").or(file.database_url);
        let listen_text = env("KITAKONTOR_HUB_LISTEN").or(file.listen).unwrap_or_else(|| DEFAULT_LISTEN.to_string());
        let listen = listen_text
            .parse()
            .map_err(|_| ConfigError::Invalid(format!("listen: „{listen_text}“ ist keine Adresse mit Port (z. B. 127.0.0.1:8443)")))?;
        let cert = env("KITAKONTOR_HUB_TLS_CERT").map(PathBuf::from).or(file.tls_cert);
        let key = env("KITAKONTOR_HUB_TLS_KEY").map(PathBuf::from).or(file.tls_key);
        let tls = match (cert, key) {
            (Some(cert), Some(key)) => Some(Tls { cert, key }),
            (None, None) => None,
            _ => return Err(ConfigError::Invalid("TLS braucht beides: tls_cert und tls_key".into())),
        };
        let log = match env("KITAKONTOR_HUB_LOG").or(file.log).as_deref().map(str::trim) {
            None | Some("text") => LogFormat::Text,
            Some("json") => LogFormat::Json,
            Some(other) => return Err(ConfigError::Invalid(format!("log: „{other}“ (erlaubt: text, json)"))),
        };
        Ok(Config { database_url, listen, tls, log })
    }

    /// The database URL, or a clear error when none is configured.
    pub fn require_database_url(&self) -> Result<&str, ConfigError> {
        self.database_url.as_deref().ok_or_else(|| {
            ConfigError::Invalid(
                "Keine Datenbank angegeben: database_url in der Konfigurationsdatei oder KITAKONTOR_HUB_DATABASE_URL setzen".into(),
            )
        })
    }
}

fn read(path: &Path) -> Result<File, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read { path: path.to_path_buf(), source })?;
    toml::from_str(&text).map_err(|source| ConfigError::Parse { path: path.to_path_buf(), source })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let m: HashMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        move |k| m.get(k).cloned()
    }

    #[test]
    fn file_then_environment() {
        let dir = std::env::temp_dir().join(format!("kk-hub-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("hub.toml");
        std::fs::write(&path, "database_url = \"postgres://file/db\"\nlisten = \"0.0.0.0:9000\"\nlog = \"json\"\n").unwrap();
        let c = Config::load_with(Some(&path), env(&[])).unwrap();
        assert_eq!(c.database_url.as_deref(), Some("postgres://file/db"));
        assert_eq!(c.listen, "0.0.0.0:9000".parse().unwrap());
        assert_eq!(c.log, LogFormat::Json);
        assert_eq!(c.tls, None);
        let c =
            Config::load_with(Some(&path), env(&[("KITAKONTOR_HUB_DATABASE_URL", "postgres://env/db"), ("KITAKONTOR_HUB_LOG", "text")]))
                .unwrap();
        assert_eq!(c.database_url.as_deref(), Some("postgres://env/db"));
        assert_eq!(c.log, LogFormat::Text);
        std::fs::write(&path, "databse_url = \"typo\"\n").unwrap();
        assert!(matches!(Config::load_with(Some(&path), env(&[])), Err(ConfigError::Parse { .. })));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn defaults_and_tls_pairs() {
        let c = Config::load_with(None, env(&[])).unwrap();
        assert_eq!(c.listen, DEFAULT_LISTEN.parse().unwrap());
        assert!(c.require_database_url().is_err());
        assert!(Config::load_with(None, env(&[("KITAKONTOR_HUB_TLS_CERT", "c.pem")])).is_err());
        let c = Config::load_with(None, env(&[("KITAKONTOR_HUB_TLS_CERT", "c.pem"), ("KITAKONTOR_HUB_TLS_KEY", "k.pem")])).unwrap();
        assert_eq!(c.tls, Some(Tls { cert: "c.pem".into(), key: "k.pem".into() }));
        assert!(Config::load_with(None, env(&[("KITAKONTOR_HUB_LISTEN", "nirgendwo")])).is_err());
    }
}
