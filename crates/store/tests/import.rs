//! CSV import of an old waiting list against a real SQLCipher file: preview and commit, the
//! encodings, rejected rows, formula injection, 10,000 rows in one transaction, and a failure
//! in the middle that must leave the database exactly as it was.
//!
//! Every file is generated here; all names are invented.

use chrono::{DateTime, Utc};
use kitakontor_core::care::CareType;
use kitakontor_core::command::{self as c};
use kitakontor_core::ids::*;
use kitakontor_core::import::ImportError;
use kitakontor_core::permission::{Actor, Role};
use kitakontor_core::person::Address;
use kitakontor_store::key::DbKey;
use kitakontor_store::{Store, StoreError};
use std::time::Instant;
use uuid::Uuid;

const PW: &str = "sehr-geheimes-passwort";
const HEADER: &str = "Vorname;Nachname;Geburtsdatum;Straße;PLZ;Ort;Wohngemeinde;Betreuungsart;Stunden;Wunschtermin;Einrichtungen;Sorgeberechtigte/r Vorname;Sorgeberechtigte/r Nachname;E-Mail;Telefon;Alleinerziehend;Masernschutz";

struct World {
    _dir: tempfile::TempDir,
    store: Store,
    admin: Actor,
    director: Actor,
    sonne: FacilityId,
    wald: FacilityId,
}

fn id() -> Uuid {
    Uuid::now_v7()
}

fn facility(id: FacilityId, provider: ProviderId, name: &str) -> c::UpsertFacility {
    c::UpsertFacility {
        facility_id: id,
        provider_id: provider,
        provider_name: "Träger".into(),
        name: name.into(),
        profile: String::new(),
        address: Address::default(),
        municipality: "Leipzig".into(),
        capacities: vec![(CareType::Nursery, 10), (CareType::Kindergarten, 20)],
    }
}

/// Two facilities of one provider, a provider admin and the director of "Kita Sonnenschein".
async fn world() -> World {
    let dir = tempfile::tempdir().unwrap();
    let now = DateTime::parse_from_rfc3339("2026-11-24T09:00:00Z").unwrap().with_timezone(&Utc);
    let store = Store::create(&dir.path().join("t.db"), &DbKey::generate()).await.unwrap().with_clock(std::sync::Arc::new(move || now));
    let (sonne, wald, provider) = (FacilityId(id()), FacilityId(id()), ProviderId(id()));
    let admin_id = UserId(id());
    store
        .create_first_user(
            Some(facility(sonne, provider, "Kita Sonnenschein")),
            c::CreateUser {
                user_id: admin_id,
                username: "traeger".into(),
                display_name: "Tom Träger".into(),
                role: Role::ProviderAdmin,
                facility_id: None,
            },
            PW,
        )
        .await
        .unwrap();
    let admin = store.actor(admin_id).await.unwrap();
    store.execute(&admin, facility(wald, provider, "Waldkita  Am Bach").into()).await.unwrap();
    let director_id = UserId(id());
    store
        .execute_secret(
            &admin,
            c::CreateUser {
                user_id: director_id,
                username: "leitung".into(),
                display_name: "Lea Leitung".into(),
                role: Role::Director,
                facility_id: Some(sonne),
            }
            .into(),
            Some(PW),
        )
        .await
        .unwrap();
    let director = store.actor(director_id).await.unwrap();
    World { _dir: dir, store, admin, director, sonne, wald }
}

impl World {
    async fn count(&self, sql: &'static str) -> i64 {
        let (n,): (i64,) = sqlx::query_as(sql).fetch_one(self.store.pool()).await.unwrap();
        n
    }

    /// Row counts of every table an import writes, to compare before and after.
    async fn counts(&self) -> Vec<(&'static str, i64)> {
        let mut out = Vec::new();
        for (t, sql) in [
            ("children", "SELECT count(*) FROM children"),
            ("guardians", "SELECT count(*) FROM guardians"),
            ("child_guardians", "SELECT count(*) FROM child_guardians"),
            ("applications", "SELECT count(*) FROM applications"),
            ("application_choices", "SELECT count(*) FROM application_choices"),
            ("outbox", "SELECT count(*) FROM outbox"),
            ("audit_log", "SELECT count(*) FROM audit_log"),
        ] {
            out.push((t, self.count(sql).await));
        }
        out
    }
}

/// One row of a test file; `cells()` gives the 17 columns in header order.
#[derive(Clone)]
struct Row {
    first: String,
    last: String,
    birth: String,
    street: String,
    postal_code: String,
    city: String,
    municipality: String,
    care: String,
    hours: String,
    start: String,
    facilities: String,
    guardian_first: String,
    guardian_last: String,
    email: String,
    phone: String,
    single: String,
    measles: String,
}

fn row(first: &str, last: &str) -> Row {
    Row {
        first: first.into(),
        last: last.into(),
        birth: "01.03.2025".into(),
        street: "Hauptstraße 1".into(),
        postal_code: "04109".into(),
        city: "Leipzig".into(),
        municipality: "Leipzig".into(),
        care: "Krippe".into(),
        hours: "4,5".into(),
        start: "01.08.2027".into(),
        facilities: "Kita Sonnenschein|Waldkita am Bach".into(),
        guardian_first: "Jörg".into(),
        guardian_last: last.into(),
        email: "eltern@example.org".into(),
        phone: "+49 341 1234567".into(),
        single: "nein".into(),
        measles: "10.01.2026".into(),
    }
}

impl Row {
    fn cells(&self) -> [&str; 17] {
        [
            &self.first,
            &self.last,
            &self.birth,
            &self.street,
            &self.postal_code,
            &self.city,
            &self.municipality,
            &self.care,
            &self.hours,
            &self.start,
            &self.facilities,
            &self.guardian_first,
            &self.guardian_last,
            &self.email,
            &self.phone,
            &self.single,
            &self.measles,
        ]
    }

    /// How many commands (= outbox rows) the row turns into.
    fn commands(&self) -> i64 {
        2 + i64::from(!self.guardian_first.is_empty()) + i64::from(!self.measles.is_empty())
    }
}

/// A file as German Excel writes it: `;`, CRLF, values with `;` or quotes quoted.
fn csv(rows: &[Row]) -> String {
    let mut out = format!("{HEADER}\r\n");
    for r in rows {
        let cells: Vec<String> = r
            .cells()
            .iter()
            .map(|c| if c.contains([';', '"', '\n']) { format!("\"{}\"", c.replace('"', "\"\"")) } else { c.to_string() })
            .collect();
        out.push_str(&cells.join(";"));
        out.push_str("\r\n");
    }
    out
}

fn with_bom(text: &str) -> Vec<u8> {
    let mut b = b"\xEF\xBB\xBF".to_vec();
    b.extend_from_slice(text.as_bytes());
    b
}

fn latin1(text: &str) -> Vec<u8> {
    text.chars().map(|c| u8::try_from(u32::from(c)).expect("test text is Latin-1")).collect()
}

#[tokio::test]
async fn a_good_utf8_file_with_bom_imports_every_row() {
    let w = world().await;
    let mut ida = row("Ida", "Groß");
    ida.facilities = "waldkita am bach | KITA SONNENSCHEIN".into(); // own facility second: the child still goes there
    ida.single = "ja".into();
    let mut ole = row("Ole", "Schmidt-Weber");
    (ole.guardian_first, ole.guardian_last, ole.email, ole.phone, ole.single, ole.measles) = Default::default();
    ole.care = "Kindergarten".into();
    ole.hours = "9".into();
    ole.birth = "2023-02-28".into();
    let rows = vec![row("Anna", "Müller"), ida, ole];
    let bytes = with_bom(&csv(&rows));
    let before = w.count("SELECT count(*) FROM outbox").await;

    let preview = w.store.preview_import(&w.director, &bytes).await.unwrap();
    assert_eq!(preview.encoding, "UTF-8 mit BOM");
    assert!(preview.rejected.is_empty(), "{:?}", preview.rejected);
    assert_eq!(preview.accepted.len(), 3);
    assert_eq!(preview.accepted[1].choices, vec![w.wald, w.sonne]);
    assert_eq!(w.count("SELECT count(*) FROM outbox").await, before, "the preview writes nothing");

    let summary = w.store.commit_import(&w.director, &bytes).await.unwrap();
    assert_eq!(summary.imported, 3);
    assert!(summary.rejected.is_empty());
    assert_eq!(w.count("SELECT count(*) FROM outbox").await - before, rows.iter().map(Row::commands).sum::<i64>());

    let children: Vec<(String, String, String, String, String, Option<String>)> = sqlx::query_as(
        "SELECT first_name, last_name, birth_date, facility_id, postal_code, measles_proof FROM children ORDER BY first_name",
    )
    .fetch_all(w.store.pool())
    .await
    .unwrap();
    let sonne = w.sonne.to_string();
    assert_eq!(
        children,
        vec![
            ("Anna".into(), "Müller".into(), "2025-03-01".into(), sonne.clone(), "04109".into(), Some("2026-01-10".into())),
            ("Ida".into(), "Groß".into(), "2025-03-01".into(), sonne.clone(), "04109".into(), Some("2026-01-10".into())),
            ("Ole".into(), "Schmidt-Weber".into(), "2023-02-28".into(), sonne, "04109".into(), None),
        ]
    );
    let apps: Vec<(String, String, i64, String, String)> = sqlx::query_as(
        "SELECT c.first_name, a.care_type, a.care_tenths, a.origin, a.state FROM applications a JOIN children c ON c.id = a.child_id ORDER BY c.first_name",
    )
    .fetch_all(w.store.pool())
    .await
    .unwrap();
    assert_eq!(
        apps,
        vec![
            ("Anna".into(), "nursery".into(), 45, "paper".into(), "open".into()),
            ("Ida".into(), "nursery".into(), 45, "paper".into(), "open".into()),
            ("Ole".into(), "kindergarten".into(), 90, "paper".into(), "open".into()),
        ]
    );
    let ida_choices: Vec<(i64, String)> = sqlx::query_as(
        "SELECT ch.rank, ch.facility_id FROM application_choices ch JOIN applications a ON a.id = ch.application_id JOIN children c ON c.id = a.child_id
         WHERE c.first_name = 'Ida' ORDER BY ch.rank",
    )
    .fetch_all(w.store.pool())
    .await
    .unwrap();
    assert_eq!(ida_choices, vec![(1, w.wald.to_string()), (2, w.sonne.to_string())], "the ranking is kept");
    let guardians: Vec<(String, String, String, i64)> =
        sqlx::query_as("SELECT first_name, last_name, phone, single_parent FROM guardians ORDER BY last_name")
            .fetch_all(w.store.pool())
            .await
            .unwrap();
    assert_eq!(
        guardians,
        vec![("Jörg".into(), "Groß".into(), "+49 341 1234567".into(), 1), ("Jörg".into(), "Müller".into(), "+49 341 1234567".into(), 0)]
    );
}

#[tokio::test]
async fn a_windows_1252_file_imports_with_correct_umlauts() {
    let w = world().await;
    let mut r = row("Jörg", "Müller");
    r.street = "Große Straße 5".into();
    r.city = "Görlitz".into();
    r.municipality = "Görlitz".into();
    r.guardian_first = "Björn".into();
    let bytes = latin1(&csv(&[r]));
    assert!(std::str::from_utf8(&bytes).is_err(), "really not UTF-8");

    let preview = w.store.preview_import(&w.director, &bytes).await.unwrap();
    assert_eq!(preview.encoding, "Windows-1252");
    assert_eq!(w.store.commit_import(&w.director, &bytes).await.unwrap().imported, 1);
    let child: (String, String, String, String, String, String) =
        sqlx::query_as("SELECT first_name, last_name, street, city, municipality, search_name FROM children")
            .fetch_one(w.store.pool())
            .await
            .unwrap();
    assert_eq!(child, ("Jörg".into(), "Müller".into(), "Große Straße 5".into(), "Görlitz".into(), "Görlitz".into(), "jörg müller".into()));
    let (guardian,): (String,) = sqlx::query_as("SELECT first_name FROM guardians").fetch_one(w.store.pool()).await.unwrap();
    assert_eq!(guardian, "Björn");
    let (args,): (String,) = sqlx::query_as("SELECT args FROM outbox WHERE name = 'CreateChild'").fetch_one(w.store.pool()).await.unwrap();
    assert!(args.contains("Müller") && args.contains("Große Straße 5"), "{args}");
}

#[tokio::test]
async fn a_missing_column_rejects_the_file_and_writes_nothing() {
    let w = world().await;
    let text = csv(&[row("Anna", "Müller")]).replacen("Stunden", "Std", 1).replacen(";Wunschtermin", ";Beginn", 1);
    let before = w.counts().await;
    let err = w.store.preview_import(&w.director, text.as_bytes()).await.unwrap_err();
    assert!(
        matches!(&err, StoreError::Import(ImportError::MissingColumns { missing }) if missing == &["Stunden", "Wunschtermin"]),
        "{err:?}"
    );
    assert_eq!(err.code(), "import_invalid");
    assert!(err.to_string().starts_with("In der Kopfzeile fehlen Pflichtspalten: Stunden, Wunschtermin."), "{err}");
    let err = w.store.commit_import(&w.director, text.as_bytes()).await.unwrap_err();
    assert!(matches!(err, StoreError::Import(ImportError::MissingColumns { .. })), "{err:?}");
    assert_eq!(w.counts().await, before);
}

#[tokio::test]
async fn bad_rows_are_reported_and_the_good_ones_imported() {
    let w = world().await;
    let mut bad_date = row("Bea", "Klein");
    bad_date.birth = "31.02.2024".into();
    let mut unknown = row("Carl", "Klein");
    unknown.facilities = "Kita Sonnenschein|Kita Mond".into();
    let mut hours = row("Dana", "Klein");
    hours.hours = "14".into();
    hours.care = "Schule".into();
    let mut no_guardian = row("Emil", "Klein");
    (no_guardian.guardian_first, no_guardian.guardian_last, no_guardian.email, no_guardian.phone) = Default::default();
    let mut nameless_guardian = row("Fritz", "Klein");
    (nameless_guardian.guardian_first, nameless_guardian.guardian_last) = Default::default();
    let rows = vec![row("Anna", "Klein"), bad_date, unknown, hours, no_guardian.clone(), nameless_guardian, row("anna", "KLEIN")];
    let before = w.counts().await;

    let preview = w.store.preview_import(&w.director, csv(&rows).as_bytes()).await.unwrap();
    let summary = w.store.commit_import(&w.director, csv(&rows).as_bytes()).await.unwrap();
    assert_eq!(summary.imported, 2, "Anna and Emil");
    assert_eq!(summary.rejected, preview.rejected, "the commit reports what the preview showed");
    let reasons: Vec<(usize, Vec<String>)> = summary.rejected.into_iter().map(|r| (r.line, r.reasons)).collect();
    let guardian_missing = |l: usize| {
        vec![
            format!("Zeile {l}: Sorgeberechtigte/r Vorname fehlt (Kontaktdaten oder „Alleinerziehend“ sind angegeben)"),
            format!("Zeile {l}: Sorgeberechtigte/r Nachname fehlt (Kontaktdaten oder „Alleinerziehend“ sind angegeben)"),
        ]
    };
    assert_eq!(
        reasons,
        vec![
            (3, vec!["Zeile 3: Geburtsdatum '31.02.2024' ist kein gültiges Datum (TT.MM.JJJJ oder JJJJ-MM-TT)".to_string()]),
            (4, vec!["Zeile 4: Einrichtung 'Kita Mond' ist unbekannt (oder nicht eindeutig)".to_string()]),
            (
                5,
                vec![
                    "Zeile 5: Betreuungsart 'Schule' ist unbekannt (Krippe, Kindergarten oder Hort)".to_string(),
                    "Zeile 5: Stunden '14' ist keine gültige Stundenzahl (1 bis 12 pro Tag, höchstens eine Nachkommastelle, z. B. 4,5)"
                        .to_string(),
                ]
            ),
            (7, guardian_missing(7)),
            (8, vec!["Zeile 8: doppelt in der Datei, siehe Zeile 2".to_string()]),
        ]
    );

    let after = w.counts().await;
    let grew = |t: &str| after.iter().find(|x| x.0 == t).unwrap().1 - before.iter().find(|x| x.0 == t).unwrap().1;
    let commands = rows[0].commands() + no_guardian.commands();
    assert_eq!(commands, 4 + 3);
    assert_eq!(grew("outbox"), commands, "exactly the accepted rows' commands");
    assert_eq!(grew("audit_log"), commands);
    assert_eq!((grew("children"), grew("guardians"), grew("applications")), (2, 1, 2));
    let names: Vec<(String,)> =
        sqlx::query_as("SELECT first_name FROM children ORDER BY first_name").fetch_all(w.store.pool()).await.unwrap();
    assert_eq!(names, vec![("Anna".to_string(),), ("Emil".to_string(),)]);
}

#[tokio::test]
async fn formula_injection_is_rejected_and_stored_nowhere() {
    let w = world().await;
    let mut hyperlink = row("=HYPERLINK(\"http://example.org/x\",\"klick\")", "Lang");
    hyperlink.guardian_last = "Lang".into();
    let mut sum = row("Paul", "@SUM(A1:A9)");
    sum.guardian_last = "Lang".into();
    let mut cmd = row("Rita", "Lang");
    cmd.phone = "+cmd|' /C calc'!A0".into();
    let mut spaced = row("Sven", "Lang");
    spaced.street = "  =1+1".into();
    let good = row("Tina", "Lang-Weilig"); // a dash inside a name and "+49 …" as phone are fine
    let before = w.counts().await;

    let summary = w.store.commit_import(&w.director, csv(&[hyperlink, sum, cmd, spaced, good]).as_bytes()).await.unwrap();
    assert_eq!(summary.imported, 1);
    let rejected: Vec<(usize, Vec<String>)> = summary.rejected.into_iter().map(|r| (r.line, r.reasons)).collect();
    assert_eq!(
        rejected,
        vec![
            (2, vec!["Zeile 2: Vorname: möglicher Formel-Code (Formel-Injektion)".to_string()]),
            (3, vec!["Zeile 3: Nachname: möglicher Formel-Code (Formel-Injektion)".to_string()]),
            (4, vec!["Zeile 4: Telefon: möglicher Formel-Code (Formel-Injektion)".to_string()]),
            (5, vec!["Zeile 5: Straße: möglicher Formel-Code (Formel-Injektion)".to_string()]),
        ]
    );
    let after = w.counts().await;
    let grew = |t: &str| after.iter().find(|x| x.0 == t).unwrap().1 - before.iter().find(|x| x.0 == t).unwrap().1;
    assert_eq!((grew("children"), grew("outbox")), (1, 4));
    for needle in ["HYPERLINK", "SUM(", "cmd", "calc", "=1+1", "Paul", "Rita", "Sven"] {
        let like = format!("%{needle}%");
        let (n,): (i64,) = sqlx::query_as(
            "SELECT (SELECT count(*) FROM children WHERE first_name || last_name || street || city || municipality LIKE ?1)
                  + (SELECT count(*) FROM guardians WHERE first_name || last_name || email || phone LIKE ?1)
                  + (SELECT count(*) FROM outbox WHERE args LIKE ?1)
                  + (SELECT count(*) FROM audit_log WHERE records LIKE ?1)",
        )
        .bind(like)
        .fetch_one(w.store.pool())
        .await
        .unwrap();
        assert_eq!(n, 0, "{needle} is stored somewhere");
    }
    let (phone,): (String,) = sqlx::query_as("SELECT phone FROM guardians").fetch_one(w.store.pool()).await.unwrap();
    assert_eq!(phone, "+49 341 1234567");
}

#[tokio::test]
async fn ten_thousand_rows_import_in_one_go() {
    let w = world().await;
    let rows: Vec<Row> = (0..10_000)
        .map(|i| {
            let mut r = row(&format!("Kind{i:05}"), ["Müller", "Schulz", "Groß", "Weiß", "Köhler"][i % 5]);
            r.birth = format!("{:02}.{:02}.{}", i % 28 + 1, i % 12 + 1, 2021 + i % 5);
            r.care = if i % 3 == 0 { "Kindergarten" } else { "Krippe" }.into();
            r
        })
        .collect();
    let bytes = with_bom(&csv(&rows));
    eprintln!("10,000 rows: {} KB", bytes.len() / 1024);
    let before = w.counts().await;

    let t = Instant::now();
    let preview = w.store.preview_import(&w.director, &bytes).await.unwrap();
    eprintln!("preview of 10,000 rows: {:?}", t.elapsed());
    assert_eq!((preview.accepted.len(), preview.rejected.len()), (10_000, 0), "{:?}", preview.rejected.first());

    let t = Instant::now();
    let summary = w.store.commit_import(&w.director, &bytes).await.unwrap();
    eprintln!("commit of 10,000 rows (40,000 commands, one transaction): {:?}", t.elapsed());
    assert_eq!(summary.imported, 10_000);
    let after = w.counts().await;
    let grew = |t: &str| after.iter().find(|x| x.0 == t).unwrap().1 - before.iter().find(|x| x.0 == t).unwrap().1;
    assert_eq!((grew("children"), grew("guardians"), grew("applications"), grew("outbox")), (10_000, 10_000, 10_000, 40_000));
    assert_eq!(w.store.verify_audit().await.unwrap().first_broken, None, "the audit chain stays intact");
}

#[tokio::test]
async fn a_failure_in_the_middle_leaves_the_database_exactly_as_before() {
    let w = world().await;
    let mut rows: Vec<Row> = (0..40).map(|i| row(&format!("Kind{i:02}"), "Sommer")).collect();
    rows[25].first = "Kaputt".into(); // line 27 (header = line 1)
    let bytes = csv(&rows);
    // Something the parser cannot foresee fails inside the batch: here a trigger, standing in
    // for any rule or constraint of the database (each row is a new child, so the unique index
    // on active applications cannot collide within one import).
    sqlx::query(
        "CREATE TRIGGER test_fail BEFORE INSERT ON applications
         WHEN (SELECT first_name FROM children WHERE id = NEW.child_id) = 'Kaputt'
         BEGIN SELECT RAISE(ABORT, 'eingeschleuster Testfehler'); END",
    )
    .execute(w.store.pool())
    .await
    .unwrap();
    let before = w.counts().await;
    let head_before = w.store.verify_audit().await.unwrap().head;

    let preview = w.store.preview_import(&w.director, bytes.as_bytes()).await.unwrap();
    assert_eq!(preview.accepted.len(), 40, "the preview cannot see it coming");
    let err = w.store.commit_import(&w.director, bytes.as_bytes()).await.unwrap_err();
    let msg = err.to_string();
    assert!(matches!(&err, StoreError::Import(ImportError::RowFailed { line: 27, .. })), "{err:?}");
    assert!(
        msg.starts_with("Zeile 27: Import abgebrochen, es wurde nichts gespeichert (") && msg.contains("eingeschleuster Testfehler"),
        "{msg}"
    );
    assert_eq!(err.code(), "import_invalid");

    assert_eq!(w.counts().await, before, "nothing of rows 1–25 (nor of the probes) is left");
    let audit = w.store.verify_audit().await.unwrap();
    assert_eq!((audit.head, audit.first_broken), (head_before, None), "the audit chain ends where it ended");

    // The file itself is fine: without the fault it imports whole.
    sqlx::query("DROP TRIGGER test_fail").execute(w.store.pool()).await.unwrap();
    assert_eq!(w.store.commit_import(&w.director, bytes.as_bytes()).await.unwrap().imported, 40);
}

#[tokio::test]
async fn a_file_imported_twice_is_refused_the_second_time() {
    let w = world().await;
    let bytes = csv(&[row("Anna", "Müller"), row("Ben", "Müller")]);
    assert_eq!(w.store.commit_import(&w.director, bytes.as_bytes()).await.unwrap().imported, 2);
    let before = w.counts().await;
    let again = w.store.commit_import(&w.director, bytes.to_lowercase().as_bytes()).await.unwrap();
    assert_eq!(again.imported, 0);
    assert_eq!(again.rejected.len(), 2);
    assert!(
        again.rejected[0].reasons[0].starts_with("Zeile 2: ein Kind mit diesem Namen und Geburtsdatum ist bereits erfasst"),
        "{:?}",
        again.rejected
    );
    assert_eq!(w.counts().await, before);
}

#[tokio::test]
async fn facility_accounts_import_only_their_own_rows_and_educators_nothing() {
    let w = world().await;
    let mut elsewhere = row("Wald", "Kind");
    elsewhere.facilities = "Waldkita am Bach".into();
    let bytes = csv(&[row("Anna", "Müller"), elsewhere]);

    let summary = w.store.commit_import(&w.director, bytes.as_bytes()).await.unwrap();
    assert_eq!(summary.imported, 1);
    assert_eq!(summary.rejected[0].line, 3);
    assert!(summary.rejected[0].reasons[0].contains("Ihre Einrichtung ist nicht unter den Wunscheinrichtungen"), "{:?}", summary.rejected);

    // The provider admin may import it: the child goes to its first choice.
    let only_wald = csv(&[row("Wald", "Kind")]).replace("Kita Sonnenschein|Waldkita am Bach", "Waldkita am Bach");
    assert_eq!(w.store.commit_import(&w.admin, only_wald.as_bytes()).await.unwrap().imported, 1);
    let (facility,): (String,) =
        sqlx::query_as("SELECT facility_id FROM children WHERE first_name = 'Wald'").fetch_one(w.store.pool()).await.unwrap();
    assert_eq!(facility, w.wald.to_string());

    let educator_id = UserId(id());
    w.store
        .execute_secret(
            &w.admin,
            c::CreateUser {
                user_id: educator_id,
                username: "erzieher".into(),
                display_name: "Eva Erzieherin".into(),
                role: Role::Educator,
                facility_id: Some(w.sonne),
            }
            .into(),
            Some(PW),
        )
        .await
        .unwrap();
    let educator = w.store.actor(educator_id).await.unwrap();
    for result in [
        w.store.preview_import(&educator, bytes.as_bytes()).await.map(|_| ()),
        w.store.commit_import(&educator, bytes.as_bytes()).await.map(|_| ()),
    ] {
        assert!(matches!(result, Err(StoreError::Denied(_))), "{result:?}");
    }
}
