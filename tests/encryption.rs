//! The local database at rest: no plaintext, a clear error for a missing or wrong key (and no
//! new empty database over the old one), and erasure that really removes a child's data.

use crate::util::{contains, read};
use kitakontor_core::care::CareType;
use kitakontor_core::command as c;
use kitakontor_core::ids::*;
use kitakontor_core::permission::Role;
use kitakontor_core::person::Address;
use kitakontor_store::key::{DbKey, KeySource, MemoryStore};
use kitakontor_store::{Store, StoreError};
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::ConnectOptions;
use uuid::Uuid;

const CANARY_FIRST: &str = "Kanarienvogel";
const CANARY_LAST: &str = "Zwölfhügel";
const CANARY_NOTE: &str = "Kanarien-Allergie";

fn sidecar(db: &std::path::Path, suffix: &str) -> std::path::PathBuf {
    std::path::PathBuf::from(format!("{}{suffix}", db.display()))
}

#[tokio::test]
async fn no_plaintext_clear_key_errors_and_real_erasure() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("kita.db");
    let key = DbKey::generate();
    let store = Store::create(&db, &key).await.unwrap();
    let facility = FacilityId(Uuid::now_v7());
    let uid = UserId(Uuid::now_v7());
    store
        .create_first_user(
            Some(c::UpsertFacility {
                facility_id: facility,
                provider_id: ProviderId(Uuid::now_v7()),
                provider_name: "Träger".into(),
                name: "Kita".into(),
                profile: String::new(),
                address: Address::default(),
                municipality: "Leipzig".into(),
                capacities: vec![(CareType::Nursery, 5)],
            }),
            c::CreateUser {
                user_id: uid,
                username: "leitung".into(),
                display_name: "Lea".into(),
                role: Role::Director,
                facility_id: Some(facility),
            },
            "passwort-passwort",
        )
        .await
        .unwrap();
    let director = store.actor(uid).await.unwrap();
    let child = ChildId(Uuid::now_v7());
    store
        .execute(
            &director,
            c::CreateChild {
                child_id: child,
                facility_id: facility,
                group_id: None,
                first_name: CANARY_FIRST.into(),
                last_name: CANARY_LAST.into(),
                birth_date: chrono::NaiveDate::from_ymd_opt(2024, 2, 29).unwrap(),
                address: Address { street: "Kanarienweg 1".into(), postal_code: "04109".into(), city: "Leipzig".into() },
                municipality: "Leipzig".into(),
            }
            .into(),
        )
        .await
        .unwrap();
    store
        .execute(&director, c::RecordHealth { child_id: child, measles_proof: None, health_notes: CANARY_NOTE.into() }.into())
        .await
        .unwrap();
    store
        .execute(
            &director,
            c::AddGuardian {
                guardian_id: GuardianId(Uuid::now_v7()),
                child_id: child,
                first_name: "Kanarienmutter".into(),
                last_name: CANARY_LAST.into(),
                email: String::new(),
                phone: String::new(),
                address: Address::default(),
                single_parent: true,
            }
            .into(),
        )
        .await
        .unwrap();
    // The name is readable through the store …
    assert_eq!(store.search_children(&director, facility, "kanarien", 5).await.unwrap().len(), 1);
    // … but neither the database file nor its WAL holds it in plaintext.
    for f in [db.clone(), sidecar(&db, "-wal")] {
        let bytes = read(f.clone());
        assert!(!contains(&bytes, CANARY_FIRST) && !contains(&bytes, CANARY_NOTE), "plaintext in {}", f.display());
        assert!(!contains(&bytes, "SQLite format 3"), "{} has a plaintext SQLite header", f.display());
    }
    store.checkpoint().await.unwrap();
    store.close().await;
    let size_before = std::fs::metadata(&db).unwrap().len();

    // Wrong key: a clear error, the file untouched.
    match Store::open(&db, &DbKey::generate()).await {
        Err(StoreError::WrongKey(p)) => assert!(p.contains("kita.db")),
        other => panic!("expected WrongKey, got {:?}", other.map(|_| ())),
    }
    // No key at all (plain SQLite): SQLite's error 26 "file is not a database".
    let mut plain = SqliteConnectOptions::new().filename(&db).connect().await.unwrap();
    let err = sqlx::query("SELECT count(*) FROM sqlite_master").execute(&mut plain).await.unwrap_err();
    match &err {
        sqlx::Error::Database(d) => assert_eq!(d.code().as_deref(), Some("26"), "{err}"),
        other => panic!("expected error 26, got {other}"),
    }
    drop(plain);
    // A credential store without the key: KeyMissing with the recovery path, never a new database.
    let empty = MemoryStore::default();
    match KeySource::Store(&empty).load(&db) {
        Err(e @ StoreError::KeyMissing(_)) => assert!(e.to_string().contains("re-enrol"), "{e}"),
        Err(e) => panic!("expected KeyMissing, got {e}"),
        Ok(_) => panic!("expected KeyMissing, got a key"),
    }
    assert!(
        matches!(Store::create(&db, &DbKey::generate()).await, Err(StoreError::DatabaseExists(_))),
        "never a new database over the old one"
    );
    assert!(matches!(Store::open(&dir.path().join("nope.db"), &key).await, Err(StoreError::DatabaseMissing(_))));
    assert!(!dir.path().join("nope.db").exists(), "open never creates a file");
    assert_eq!(std::fs::metadata(&db).unwrap().len(), size_before, "failed opens leave the file as it was");

    // Erasure: delete the child, checkpoint, then look at every decrypted page.
    let store = Store::open(&db, &key).await.unwrap();
    let director = store.actor(uid).await.unwrap();
    store.execute(&director, c::DeleteChild { child_id: child }.into()).await.unwrap();
    store.checkpoint().await.unwrap();
    let pages: Vec<(Vec<u8>,)> = sqlx::query_as("SELECT data FROM sqlite_dbpage").fetch_all(store.pool()).await.unwrap();
    assert!(pages.len() > 5);
    let mut all = Vec::new();
    for (p,) in &pages {
        all.extend_from_slice(p);
    }
    assert!(contains(&all, "leitung"), "sanity: the decrypted pages are readable");
    for needle in [CANARY_FIRST, CANARY_LAST, CANARY_NOTE, "Kanarienweg", "Kanarienmutter"] {
        assert!(!contains(&all, needle), "'{needle}' still in a decrypted page (free space included)");
    }
    store.close().await;
    for f in [db.clone(), sidecar(&db, "-wal")] {
        assert!(!contains(&read(f), CANARY_FIRST));
    }
}
