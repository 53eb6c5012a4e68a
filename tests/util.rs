use std::path::PathBuf;
use std::process::Command;

/// The `kitakontor` program, built from the current sources as this crate's binary.
pub fn kitakontor() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_kitakontor-under-test"))
}

/// A CLI invocation against `db` with the key in the environment (the headless way).
pub fn cli(db: &std::path::Path, key_hex: &str, user: Option<&str>) -> Command {
    let mut c = Command::new(kitakontor());
    c.env_remove("KITAKONTOR_KEY_FILE")
        .env("KITAKONTOR_DB", db)
        .env("KITAKONTOR_DB_KEY", key_hex)
        .env("KITAKONTOR_PASSWORD", PASSWORD)
        .env("KITAKONTOR_NEW_PASSWORD", PASSWORD);
    if let Some(u) = user {
        c.env("KITAKONTOR_USER", u);
    }
    c
}

pub const PASSWORD: &str = "test-passwort-123";

/// `kitakontor init` for a small Leipzig facility with director `leitung`.
pub fn init(db: &std::path::Path, key_hex: &str) {
    let out = cli(db, key_hex, None)
        .args([
            "init",
            "--facility",
            "Kita Prüfstand",
            "--municipality",
            "Leipzig",
            "--nursery",
            "10",
            "--kindergarten",
            "20",
            "--admin-user",
            "leitung",
            "--admin-name",
            "Lea Leitung",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "init failed: {}", String::from_utf8_lossy(&out.stderr));
}

pub fn contains(haystack: &[u8], needle: &str) -> bool {
    let n = needle.as_bytes();
    haystack.windows(n.len()).any(|w| w == n)
}

pub fn read(path: PathBuf) -> Vec<u8> {
    std::fs::read(path).unwrap_or_default()
}
