//! The office's main flow through the real `kitakontor` program, and the exit codes scripts
//! rely on: 2 wrong call, 3 not found, 4 permission denied, 5 rule violated, 6 login failed,
//! 7 database or key problem.

use crate::util::{cli, PASSWORD};
use kitakontor_store::key::DbKey;
use serde_json::Value;
use std::path::Path;

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn run(db: &Path, key: &str, user: Option<&str>, args: &[&str]) -> Run {
    let o = cli(db, key, user).args(args).output().unwrap();
    Run {
        code: o.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&o.stdout).into(),
        stderr: String::from_utf8_lossy(&o.stderr).into(),
    }
}

fn ok_json(db: &Path, key: &str, user: &str, args: &[&str]) -> Value {
    let mut all = vec!["--json"];
    all.extend_from_slice(args);
    let r = run(db, key, Some(user), &all);
    assert_eq!(r.code, 0, "{args:?}: {}", r.stderr);
    serde_json::from_str(&r.stdout).unwrap_or_else(|e| panic!("{args:?} printed no JSON ({e}): {}", r.stdout))
}

fn id(v: &Value) -> String {
    v["id"].as_str().expect("created id").to_string()
}

#[test]
fn reserve_conclude_amend_terminate_and_exit_codes() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("kita.db");
    let key = DbKey::generate().to_hex();
    let init = run(
        &db,
        &key,
        None,
        &[
            "--json",
            "init",
            "--facility",
            "Kita Löwenzahn",
            "--municipality",
            "Leipzig",
            "--nursery",
            "1",
            "--admin-user",
            "leitung",
            "--admin-name",
            "Lea Leitung",
        ],
    );
    assert_eq!(init.code, 0, "{}", init.stderr);
    let facility = serde_json::from_str::<Value>(&init.stdout).unwrap()["facility_id"].as_str().unwrap().to_string();
    assert_eq!(
        run(&db, &key, None, &["init", "--facility", "X", "--municipality", "Y", "--admin-user", "a", "--admin-name", "b"]).code,
        7,
        "init never overwrites"
    );

    let bad = run(
        &db,
        &key,
        Some("leitung"),
        &["children", "add", "--first-name", "Jörg", "--last-name", "Weiß", "--birth-date", "2024-13-01", "--municipality", "Leipzig"],
    );
    assert_eq!(bad.code, 2, "{}", bad.stderr);
    assert!(bad.stderr.contains("2024-13-01"), "names the bad value: {}", bad.stderr);

    let child = id(&ok_json(
        &db,
        &key,
        "leitung",
        &["children", "add", "--first-name", "Jörg", "--last-name", "Weiß", "--birth-date", "2024-03-01", "--municipality", "Leipzig"],
    ));
    let app = id(&ok_json(
        &db,
        &key,
        "leitung",
        &[
            "applications",
            "submit",
            "--child",
            &child,
            "--choice",
            &facility,
            "--start",
            "2027-01-01",
            "--care-type",
            "krippe",
            "--hours",
            "9",
        ],
    ));
    let res = id(&ok_json(&db, &key, "leitung", &["applications", "reserve", &app]));
    // No measles proof yet: a rule, exit 5, and the message says what is missing.
    let no_proof = run(&db, &key, Some("leitung"), &["contracts", "create", "--reservation", &res, "--hours", "9"]);
    assert_eq!(no_proof.code, 5, "{}", no_proof.stderr);
    assert!(no_proof.stderr.contains("measles"), "{}", no_proof.stderr);
    ok_json(&db, &key, "leitung", &["children", "set-health", &child, "--measles-proof", "2025-02-01"]);
    let contract = id(&ok_json(&db, &key, "leitung", &["contracts", "create", "--reservation", &res, "--hours", "9"]));
    ok_json(&db, &key, "leitung", &["contracts", "amend", &contract, "--from", "01.06.2027", "--hours", "4,5"]);
    ok_json(&db, &key, "leitung", &["contracts", "terminate", &contract, "--end", "2027-12-31", "--reason", "Umzug"]);
    assert_eq!(run(&db, &key, Some("leitung"), &["contracts", "terminate", &contract, "--end", "2028-01-31", "--reason", "x"]).code, 5);

    let f = ok_json(&db, &key, "leitung", &["occupancy", "--months", "13", "--from", "2027-01-01"]);
    let month = |m: &str| f["months"].as_array().unwrap().iter().find(|r| r["month"] == m && r["care_type"] == "nursery").cloned().unwrap();
    assert_eq!((month("2027-01-01")["contracted"].as_u64(), month("2027-01-01")["free"].as_i64()), (Some(1), Some(0)));
    assert_eq!(month("2027-06-01")["contracted_hours"].as_f64(), Some(4.5));
    assert_eq!(month("2028-01-01")["free"].as_i64(), Some(1), "terminated contract frees the place");

    let export = run(&db, &key, Some("leitung"), &["export", "family", &child]);
    assert_eq!(export.code, 0, "{}", export.stderr);
    assert!(export.stdout.contains("Weiß") && export.stdout.contains("Jörg"));

    // Exit codes.
    assert_eq!(run(&db, &key, Some("leitung"), &["children", "show", "01890000-0000-7000-8000-000000000000"]).code, 3);
    ok_json(&db, &key, "leitung", &["users", "add", "--username", "erzieherin", "--name", "Erika Erzieherin", "--role", "educator"]);
    let denied = run(&db, &key, Some("erzieherin"), &["applications", "list"]);
    assert_eq!(denied.code, 4, "{}", denied.stderr);
    let wrong_pw = cli(&db, &key, Some("leitung")).env("KITAKONTOR_PASSWORD", format!("{PASSWORD}x")).args(["outbox"]).output().unwrap();
    assert_eq!(wrong_pw.status.code(), Some(0), "outbox status needs no login");
    let wrong_pw = cli(&db, &key, Some("leitung")).env("KITAKONTOR_PASSWORD", format!("{PASSWORD}x")).args(["occupancy"]).output().unwrap();
    assert_eq!(wrong_pw.status.code(), Some(6));
    let wrong_key = run(&db, &DbKey::generate().to_hex(), Some("leitung"), &["occupancy"]);
    assert_eq!(wrong_key.code, 7);
    assert!(wrong_key.stderr.contains("wrong_key"), "{}", wrong_key.stderr);
    assert_eq!(run(&dir.path().join("missing.db"), &key, Some("leitung"), &["occupancy"]).code, 7);
    assert!(!dir.path().join("missing.db").exists());
}

/// The fee staff's month on the command line: demo, billing run with SEPA file, a second run
/// that bills nothing, the claim, a contract and a fee notice as PDF, a broken rule file.
#[test]
fn billing_and_documents_on_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("demo.db");
    let key = DbKey::generate().to_hex();
    let demo_pw = |c: &mut std::process::Command| {
        c.env("KITAKONTOR_PASSWORD", kitakontor_store::demo::DEMO_PASSWORD);
    };
    let go = |user: &str, args: &[&str]| {
        let mut c = cli(&db, &key, Some(user));
        demo_pw(&mut c);
        let o = c.args(args).output().unwrap();
        Run {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into(),
            stderr: String::from_utf8_lossy(&o.stderr).into(),
        }
    };
    assert_eq!(run(&db, &key, None, &["demo"]).code, 0);
    // Next month, as the office bills it (the demo's contracts are relative to today).
    let next = kitakontor_core::care::add_months(chrono::Utc::now().date_naive(), 1);
    let (month, month_slash) = (next.format("%Y-%m").to_string(), next.format("%m/%Y").to_string());
    let out = dir.path().join("abrechnung");
    let out_s = out.to_str().unwrap();
    let r = go("verwaltung", &["--json", "billing", "run", "--month", &month, "--out", out_s]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let s: Value = serde_json::from_str(&r.stdout).unwrap();
    assert!(s["families"].as_u64().unwrap() > 10);
    let files: Vec<String> = s["files"].as_array().unwrap().iter().map(|f| f.as_str().unwrap().to_string()).collect();
    assert!(files.iter().any(|f| f.ends_with("pain.008.001.08.xml")), "{files:?}");
    assert!(files.iter().all(|f| Path::new(f).exists()));
    let again = go("verwaltung", &["--json", "billing", "run", "--month", &month_slash, "--out", out_s]);
    let a: Value = serde_json::from_str(&again.stdout).unwrap();
    assert_eq!((a["new_invoices"].as_u64(), a["debit_count"].as_u64()), (Some(0), Some(0)), "no double billing");

    // Directors don't bill (4); a month that is no month is a wrong call (2).
    assert_eq!(go("leitung", &["billing", "run", "--month", &month, "--out", out_s]).code, 4);
    assert_eq!(go("verwaltung", &["billing", "run", "--month", "Dezember", "--out", out_s]).code, 2);

    let claim = go("verwaltung", &["--json", "billing", "claim", "--from", &month, "--to", &month, "--out", out_s]);
    assert_eq!(claim.code, 0, "{}", claim.stderr);

    let contracts: Value = serde_json::from_str(&go("leitung", &["--json", "contracts", "list"]).stdout).unwrap();
    let contract = contracts.as_array().unwrap()[0][1]["id"].as_str().unwrap().to_string();
    let pdf = dir.path().join("vertrag.pdf");
    let r = go("leitung", &["print", "contract", &contract, "--out", pdf.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(std::fs::read(&pdf).unwrap().starts_with(b"%PDF-"));
    let child = contracts.as_array().unwrap()[0][1]["child_id"].as_str().unwrap().to_string();
    let notice = dir.path().join("bescheid.pdf");
    assert_eq!(go("verwaltung", &["print", "fee-notice", &child, "--month", &month, "--out", notice.to_str().unwrap()]).code, 0);
    assert_eq!(go("erzieherin", &["print", "fee-notice", &child, "--out", notice.to_str().unwrap()]).code, 4);

    // A rule file outside the legal band: exit 5, the field named, nothing imported.
    let bad = dir.path().join("kaputt.toml");
    std::fs::write(&bad, kitakontor_store::demo::LEIPZIG_RULES.replace("fee_cents = 27632", "fee_cents = 40000")).unwrap();
    let r = go("verwaltung", &["rules", "check", bad.to_str().unwrap()]);
    assert_eq!(r.code, 5, "{}", r.stderr);
    assert!(r.stderr.contains("model.care.nursery.fee_cents"), "{}", r.stderr);
    assert_eq!(go("verwaltung", &["rules", "import", bad.to_str().unwrap()]).code, 5);
    let list: Value = serde_json::from_str(&go("verwaltung", &["--json", "rules", "list"]).stdout).unwrap();
    assert_eq!(list.as_array().unwrap().len(), 1);
}

/// The city's proposals and registry matches on the command line, from the demo's cache
/// (offline): the table, a decision queued and shown as waiting, the exit codes of bad calls.
#[test]
fn city_proposals_and_decisions_on_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("demo.db");
    let key = DbKey::generate().to_hex();
    let go = |user: &str, args: &[&str]| {
        let o = cli(&db, &key, Some(user)).env("KITAKONTOR_PASSWORD", kitakontor_store::demo::DEMO_PASSWORD).args(args).output().unwrap();
        Run {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into(),
            stderr: String::from_utf8_lossy(&o.stderr).into(),
        }
    };
    assert_eq!(run(&db, &key, None, &["demo"]).code, 0);

    let r = go("leitung", &["sync", "duplicates"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let header = r.stdout.lines().find(|l| l.starts_with("Nr.")).unwrap_or_else(|| panic!("a table: {}", r.stdout));
    for col in ["Kind bei uns", "Kind in anderer Einrichtung", "Grund", "Status"] {
        assert!(header.contains(col), "{header}");
    }
    assert!(r.stdout.starts_with("Stand: "), "{}", r.stdout);
    assert!(
        r.stdout.contains("offen") && r.stdout.contains("bestätigt (dasselbe Kind)") && r.stdout.contains("Kita Pusteblume"),
        "{}",
        r.stdout
    );

    let list: Value = serde_json::from_str(&go("leitung", &["--json", "sync", "duplicates"]).stdout).unwrap();
    let proposals = list["proposals"].as_array().unwrap();
    let open = proposals.iter().find(|p| p["status"] == "open").unwrap()["id"].as_str().unwrap().to_string();
    let decided = proposals.iter().find(|p| p["status"] == "confirmed").unwrap()["id"].as_str().unwrap().to_string();
    assert!(list["fetched_at"].is_string());

    let r = go("leitung", &["sync", "decide", &open, "--same"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.starts_with("Entschieden: dasselbe Kind") && r.stdout.contains("nächsten Abgleich"), "{}", r.stdout);
    let r = go("leitung", &["sync", "duplicates"]);
    let row = r.stdout.lines().find(|l| l.starts_with(&open)).unwrap();
    assert!(row.ends_with("entschieden (dasselbe Kind), wird gesendet"), "{row}");

    // Again (5), already decided on the hub (5), unknown (3), no number (2), no choice (2),
    // both choices (2), not the role for it (4).
    assert_eq!(go("leitung", &["sync", "decide", &open, "--different"]).code, 5);
    let r = go("leitung", &["sync", "decide", &decided, "--different"]);
    assert_eq!(r.code, 5);
    assert!(r.stderr.contains("bereits entschieden: bestätigt (dasselbe Kind)"), "{}", r.stderr);
    let r = go("leitung", &["sync", "decide", &uuid::Uuid::now_v7().to_string(), "--different"]);
    assert_eq!(r.code, 3);
    assert!(r.stderr.contains("auf diesem PC nicht bekannt"), "{}", r.stderr);
    assert_eq!(go("leitung", &["sync", "decide", "vorschlag-1", "--same"]).code, 2);
    assert_eq!(go("leitung", &["sync", "decide", &open]).code, 2);
    assert_eq!(go("leitung", &["sync", "decide", &open, "--same", "--different"]).code, 2);
    assert_eq!(go("erzieherin", &["sync", "duplicates"]).code, 4);
    assert_eq!(go("verwaltung", &["sync", "registry"]).code, 4);
    assert_eq!(go("verwaltung", &["sync", "decide", &open, "--same"]).code, 4);

    let r = go("leitung", &["sync", "registry"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("Melderegister-Auszug „melderegister-leipzig-kinder.csv“"), "{}", r.stdout);
    let header = r.stdout.lines().find(|l| l.starts_with("Kind ")).unwrap_or_else(|| panic!("a table: {}", r.stdout));
    assert!(header.contains("Geburtsdatum") && header.contains("Ergebnis") && header.contains("geprüft am"), "{header}");
    for result in ["Gefunden", "Nicht gefunden", "Ähnlicher Name – bitte prüfen (im Melderegister: "] {
        assert!(r.stdout.contains(result), "{result}: {}", r.stdout);
    }
}
