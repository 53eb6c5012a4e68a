//! Someone edits one audit row directly in the database file; `kitakontor audit verify`
//! must name that row and exit with code 10.

use crate::util::{cli, init};
use kitakontor_store::key::DbKey;
use kitakontor_store::Store;

#[tokio::test]
async fn audit_verify_names_the_changed_row() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("kita.db");
    let key = DbKey::generate();
    init(&db, &key.to_hex());
    let out = cli(&db, &key.to_hex(), Some("leitung"))
        .args(["users", "add", "--username", "technik", "--name", "Tim Technik", "--role", "tech-admin"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    for name in ["Jördis", "Ömer", "Zoë"] {
        let out = cli(&db, &key.to_hex(), Some("leitung"))
            .args([
                "children",
                "add",
                "--first-name",
                name,
                "--last-name",
                "Groß",
                "--birth-date",
                "2024-03-01",
                "--municipality",
                "Leipzig",
            ])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
    let ok = cli(&db, &key.to_hex(), Some("technik")).args(["audit", "verify"]).output().unwrap();
    assert_eq!(ok.status.code(), Some(0), "{}{}", String::from_utf8_lossy(&ok.stdout), String::from_utf8_lossy(&ok.stderr));
    // Directors may not verify (technical and provider admins do): exit code 4.
    let denied = cli(&db, &key.to_hex(), Some("leitung")).args(["audit", "verify"]).output().unwrap();
    assert_eq!(denied.status.code(), Some(4));

    // Tamper: who did row 5? Someone rewrites it, bypassing the immutability trigger.
    let store = Store::open(&db, &key).await.unwrap();
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM audit_log").fetch_one(store.pool()).await.unwrap();
    assert!(rows > 6);
    assert!(
        sqlx::query("UPDATE audit_log SET user_id = 'jemand-anderes' WHERE seq = 5").execute(store.pool()).await.is_err(),
        "trigger blocks edits"
    );
    sqlx::query("DROP TRIGGER audit_log_no_update").execute(store.pool()).await.unwrap();
    sqlx::query("UPDATE audit_log SET user_id = 'jemand-anderes' WHERE seq = 5").execute(store.pool()).await.unwrap();
    store.close().await;

    let broken = cli(&db, &key.to_hex(), Some("technik")).args(["audit", "verify"]).output().unwrap();
    let stdout = String::from_utf8_lossy(&broken.stdout);
    assert_eq!(broken.status.code(), Some(10), "{stdout}");
    assert!(stdout.contains("Zeile 5"), "names the row: {stdout}");
    let json = cli(&db, &key.to_hex(), Some("technik")).args(["--json", "audit", "verify"]).output().unwrap();
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(v["first_broken"]["seq"], 5);
}
