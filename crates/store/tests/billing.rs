//! The billing run against the demo database: documents, gapless numbers, the SEPA file
//! validated against the official XSD, re-runs that never bill twice, corrections as credit
//! note plus replacement, immutable invoices, the youth-office claim, permissions.

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use kitakontor_core::care::CareHours;
use kitakontor_core::command as c;
use kitakontor_core::ids::*;
use kitakontor_core::permission::Actor;
use kitakontor_store::billing::{BillingProblem, BillingRequest, ProblemKind, SepaVersion};
use kitakontor_store::key::DbKey;
use kitakontor_store::{Store, StoreError};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};

struct Demo {
    _dir: tempfile::TempDir,
    store: Store,
    admin: Actor,
    office: Actor,
    facility: FacilityId,
    out: PathBuf,
}

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 24, 9, 0, 0).unwrap()
}

async fn demo() -> Demo {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::create(&dir.path().join("demo.db"), &DbKey::generate()).await.unwrap().with_clock(Arc::new(now));
    let summary = store.seed_demo(2026).await.unwrap();
    let accounts = store.list_accounts().await.unwrap();
    let id_of = |name: &str| accounts.iter().find(|a| a.username == name).unwrap().user_id;
    let admin = store.actor(id_of("traeger")).await.unwrap();
    let office = store.actor(id_of("verwaltung")).await.unwrap();
    let out = dir.path().join("out");
    Demo { store, admin, office, facility: summary.facilities[0].0, out, _dir: dir }
}

fn december() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 12, 1).unwrap()
}

fn request(d: &Demo, version: SepaVersion) -> BillingRequest {
    BillingRequest { facility: d.facility, month: december(), out_dir: d.out.clone(), sepa_version: version }
}

fn quiet() -> kitakontor_store::billing::ProgressFn {
    Arc::new(|_| {})
}

fn xsd(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/xsd").join(name)
}

fn xmllint(xsd: &Path, file: &Path) {
    let out = Command::new("xmllint")
        .args(["--noout", "--schema"])
        .arg(xsd)
        .arg(file)
        .output()
        .expect("xmllint must be installed (Debian: libxml2-utils)");
    assert!(out.status.success(), "{} does not validate: {}", file.display(), String::from_utf8_lossy(&out.stderr));
}

async fn count(store: &Store, sql: &'static str) -> i64 {
    let (n,): (i64,) = sqlx::query_as(sql).fetch_one(store.pool()).await.unwrap();
    n
}

#[tokio::test]
async fn a_month_is_billed_once_with_files_and_a_valid_sepa_file() {
    let d = demo().await;
    let phases = Arc::new(Mutex::new(Vec::new()));
    let p2 = phases.clone();
    let s =
        d.store.billing_run(&d.office, &request(&d, SepaVersion::V08), Arc::new(move |p| p2.lock().unwrap().push(p.phase))).await.unwrap();

    assert!(s.families >= 50, "{s:?}");
    assert_eq!(s.new_invoices, s.families, "one invoice per family");
    assert_eq!((s.replacements, s.credit_notes, s.unchanged), (0, 0, 0));
    assert!(s.debit_count > 0 && s.debit_cents > 0);
    assert!(s.debit_count + s.transfer_count <= s.new_invoices);
    assert!(s.claimable_cents > 0, "the demo has siblings and single parents");
    // 5th working day of December 2026: Tue 1, Wed 2, Thu 3, Fri 4, Mon 7.
    assert_eq!(s.collection_date, NaiveDate::from_ymd_opt(2026, 12, 7).unwrap());
    let phases = phases.lock().unwrap().clone();
    assert_eq!(phases.first(), Some(&kitakontor_store::billing::BillingPhase::Computing));
    assert_eq!(phases.last(), Some(&kitakontor_store::billing::BillingPhase::Done));

    // Files: one PDF per document, the print file, SEPA, cashier export.
    let pdfs = s.files.iter().filter(|f| f.contains("/Rechnungen/") && f.ends_with(".pdf")).count();
    assert_eq!(pdfs as u32, s.new_invoices);
    for f in &s.files {
        assert!(Path::new(f).metadata().unwrap().len() > 100, "{f} is empty");
    }
    let sepa = s.files.iter().find(|f| f.ends_with("pain.008.001.08.xml")).expect("SEPA file");
    xmllint(&xsd("pain.008.001.08.xsd"), Path::new(sepa));
    let xml = std::fs::read_to_string(sepa).unwrap();
    assert_eq!(xml.matches("<DrctDbtTxInf>").count() as u32, s.debit_count);
    assert!(xml.contains("<ReqdColltnDt>2026-12-07</ReqdColltnDt>") || xml.contains("<Dt>2026-12-07</Dt>"), "collection date");
    assert!(xml.contains("DE98ZZZ09999999999"));
    let csv = std::fs::read_to_string(s.files.iter().find(|f| f.ends_with("Kassenexport.csv")).unwrap()).unwrap();
    assert!(csv.starts_with("\u{feff}Belegnummer;Belegart;"));
    assert_eq!(csv.lines().count() as u32, 1 + s.new_invoices);

    // Gapless numbers 1..n of 2026.
    let n = count(&d.store, "SELECT count(*) FROM invoices").await;
    assert_eq!(count(&d.store, "SELECT max(seq) FROM invoices WHERE year = 2026").await, n);
    assert_eq!(count(&d.store, "SELECT min(seq) FROM invoices WHERE year = 2026").await, 1);

    // The month again, unchanged: nothing new, nothing collected, no SEPA file.
    let again = d.store.billing_run(&d.office, &request(&d, SepaVersion::V08), quiet()).await.unwrap();
    assert_eq!((again.new_invoices, again.replacements, again.credit_notes), (0, 0, 0));
    assert_eq!(again.unchanged, s.families);
    assert_eq!((again.debit_count, again.debit_cents), (0, 0));
    assert!(!again.files.iter().any(|f| f.ends_with(".xml")));
    assert_eq!(count(&d.store, "SELECT count(*) FROM invoices").await, n);
    assert_ne!(again.out_dir, s.out_dir, "each run has its own folder");

    // The files of a run can be written again from the database, with the same documents.
    let again_dir = d.out.join("neu");
    let rewritten = d.store.rewrite_billing_files(&d.office, s.run_id, &again_dir, SepaVersion::V08).await.unwrap();
    assert_eq!(rewritten.files.len(), s.files.len());
    let xml2 = std::fs::read_to_string(rewritten.files.iter().find(|f| f.ends_with(".xml")).unwrap()).unwrap();
    assert_eq!(xml2.matches("<DrctDbtTxInf>").count() as u32, s.debit_count);
    assert_eq!(count(&d.store, "SELECT count(*) FROM invoices").await, n);

    // A sent invoice is never edited or deleted.
    let e = sqlx::query("UPDATE invoices SET total_cents = 1").execute(d.store.pool()).await.unwrap_err();
    assert!(e.to_string().contains("never edited"), "{e}");
    assert!(sqlx::query("DELETE FROM invoices").execute(d.store.pool()).await.is_err());
}

#[tokio::test]
async fn a_correction_is_a_credit_note_and_a_replacement_never_an_edit() {
    let d = demo().await;
    let first = d.store.billing_run(&d.office, &request(&d, SepaVersion::V02), quiet()).await.unwrap();
    let sepa = first.files.iter().find(|f| f.ends_with("pain.008.001.02.xml")).expect("SEPA .02 file");
    xmllint(&xsd("pain.008.001.02.xsd"), Path::new(sepa));

    // A child billed by direct debit goes from its hours to 10 h from 1 December.
    let (contract, invoice_total): (String, i64) = sqlx::query_as(
        "SELECT k.id, i.total_cents FROM contracts k JOIN invoice_children ic ON ic.child_id = k.child_id JOIN invoices i ON i.id = ic.invoice_id
         JOIN contract_versions v ON v.contract_id = k.id
         WHERE k.facility_id = ? AND i.collect_cents > 0 AND ic.fee_cents > 0 AND k.end_date IS NULL GROUP BY k.id HAVING max(v.care_tenths) < 100 AND count(*) = 1 LIMIT 1",
    )
    .bind(d.facility.to_string())
    .fetch_one(d.store.pool())
    .await
    .unwrap();
    let contract: ContractId = contract.parse().unwrap();
    d.store
        .execute(
            &d.admin,
            c::AmendContract {
                contract_id: contract,
                valid_from: december(),
                care_hours: CareHours::from_tenths(100).unwrap(),
                note: "mehr Stunden".into(),
            }
            .into(),
        )
        .await
        .unwrap();
    let before = count(&d.store, "SELECT count(*) FROM invoices").await;
    let s = d.store.billing_run(&d.office, &request(&d, SepaVersion::V08), quiet()).await.unwrap();
    assert_eq!((s.new_invoices, s.replacements, s.credit_notes), (0, 1, 1), "{s:?}");
    assert_eq!(s.unchanged, first.families - 1);
    assert_eq!(count(&d.store, "SELECT count(*) FROM invoices").await, before + 2);
    // The credit note cancels the old invoice in full; the replacement refers to it.
    let (credit_total, credit_ref): (i64, String) =
        sqlx::query_as("SELECT total_cents, refers_to FROM invoices WHERE kind = 'credit_note'").fetch_one(d.store.pool()).await.unwrap();
    assert_eq!(credit_total, -invoice_total);
    let (repl_total, repl_ref, collect): (i64, String, i64) =
        sqlx::query_as("SELECT total_cents, refers_to, collect_cents FROM invoices WHERE kind = 'replacement'")
            .fetch_one(d.store.pool())
            .await
            .unwrap();
    assert_eq!(repl_ref, credit_ref);
    assert!(repl_total > invoice_total);
    // Only the difference is collected: the old amount was already debited.
    assert_eq!(collect, repl_total - invoice_total);
    assert_eq!(s.debit_cents, collect);
    // Numbers stay gapless.
    let n = count(&d.store, "SELECT count(*) FROM invoices").await;
    assert_eq!(count(&d.store, "SELECT max(seq) FROM invoices").await, n);
    let pdfs: Vec<&String> = s.files.iter().filter(|f| f.contains("/Rechnungen/")).collect();
    assert_eq!(pdfs.len(), 2);
}

#[tokio::test]
async fn a_revoked_mandate_means_transfer_and_is_reported() {
    let d = demo().await;
    let (mandate, guardian): (String, String) =
        sqlx::query_as("SELECT m.id, m.guardian_id FROM sepa_mandates m JOIN child_guardians cg ON cg.guardian_id = m.guardian_id JOIN children c ON c.id = cg.child_id JOIN contracts k ON k.child_id = c.id WHERE k.facility_id = ? AND k.end_date IS NULL AND m.revoked_on IS NULL LIMIT 1")
            .bind(d.facility.to_string())
            .fetch_one(d.store.pool())
            .await
            .unwrap();
    d.store
        .execute(
            &d.office,
            c::RevokeMandate { mandate_id: mandate.parse().unwrap(), revoked_on: NaiveDate::from_ymd_opt(2026, 11, 20).unwrap() }.into(),
        )
        .await
        .unwrap();
    let s = d.store.billing_run(&d.office, &request(&d, SepaVersion::V08), quiet()).await.unwrap();
    let (number, collect, mref): (String, i64, Option<String>) = sqlx::query_as(
        "SELECT number, collect_cents, mandate_ref FROM invoices i WHERE family_key IN
         (SELECT 'g:' || min(guardian_id) FROM child_guardians WHERE child_id IN (SELECT child_id FROM child_guardians WHERE guardian_id = ?))",
    )
    .bind(&guardian)
    .fetch_one(d.store.pool())
    .await
    .unwrap();
    assert_eq!((collect, mref), (0, None), "invoice {number} must be paid by transfer");
    assert!(s.problems.iter().any(|p: &BillingProblem| p.kind == ProblemKind::NoMandate || p.kind == ProblemKind::MandateLapsed));
    let sepa = std::fs::read_to_string(s.files.iter().find(|f| f.ends_with(".xml")).unwrap()).unwrap();
    assert!(!sepa.contains(&number), "no debit for the revoked mandate");
}

#[tokio::test]
async fn the_youth_office_claim_lists_the_reductions_billed() {
    let d = demo().await;
    let s = d.store.billing_run(&d.office, &request(&d, SepaVersion::V08), quiet()).await.unwrap();
    let claim = d.store.claim_list(&d.office, d.facility, december(), december()).await.unwrap();
    assert_eq!(claim.total_cents, s.claimable_cents);
    assert!(!claim.rows.is_empty());
    assert!(claim.rows.iter().all(|r| r.reduction_cents > 0 && r.reduction_cents <= r.full_fee_cents));
    assert!(claim.recipient.name.contains("Jugend"));
}

#[tokio::test]
async fn only_billing_roles_may_bill_and_see_fees() {
    let d = demo().await;
    let accounts = d.store.list_accounts().await.unwrap();
    for name in ["leitung", "erzieherin", "technik"] {
        let id = accounts.iter().find(|a| a.username == name).unwrap().user_id;
        let actor = d.store.actor(id).await.unwrap();
        let e = d.store.billing_run(&actor, &request(&d, SepaVersion::V08), quiet()).await.unwrap_err();
        assert!(matches!(e, StoreError::Denied(_)), "{name}: {e:?}");
        assert!(matches!(d.store.claim_list(&actor, d.facility, december(), december()).await, Err(StoreError::Denied(_))));
    }
    assert_eq!(count(&d.store, "SELECT count(*) FROM invoices").await, 0);
    // An office account of the other facility may not bill this one.
    let other = Actor { facility_id: Some(FacilityId(uuid::Uuid::now_v7())), ..d.office.clone() };
    assert!(matches!(d.store.billing_run(&other, &request(&d, SepaVersion::V08), quiet()).await, Err(StoreError::Denied(_))));
}

#[tokio::test]
async fn fee_rules_import_is_validated_and_versioned() {
    let d = demo().await;
    let rules = kitakontor_store::demo::LEIPZIG_RULES;
    // The same file again: refused, nothing stored.
    assert!(matches!(d.store.import_rule_set(&d.office, "leipzig.toml", rules).await, Err(StoreError::Conflict(_))));
    // A new version overlapping the old one: refused with the overlap named.
    let v2 = rules.replace("version = 1", "version = 2").replace("valid_from = \"2014-08-01\"", "valid_from = \"2027-01-01\"");
    let e = d.store.import_rule_set(&d.office, "leipzig-v2.toml", &v2).await.unwrap_err();
    assert!(matches!(e, StoreError::RuleSet(_)), "{e:?}");
    // A broken file names the field.
    let e = d.store.import_rule_set(&d.office, "kaputt.toml", &rules.replace("fee_cents = 27632", "fee_cents = -5")).await.unwrap_err();
    assert!(e.to_string().contains("fee_cents"), "{e}");
    assert_eq!(d.store.rule_sets(&d.office).await.unwrap().len(), 1);
    // Directors don't manage fees.
    let leitung = d.store.list_accounts().await.unwrap().into_iter().find(|a| a.username == "leitung").unwrap();
    let leitung = d.store.actor(leitung.user_id).await.unwrap();
    assert!(matches!(d.store.import_rule_set(&leitung, "x.toml", &v2).await, Err(StoreError::Denied(_))));
}

#[tokio::test]
async fn documents_for_contract_and_fee_notice() {
    let d = demo().await;
    let contracts = d.store.contracts(&d.admin, d.facility).await.unwrap();
    let (_, contract) = &contracts[0];
    let doc = d.store.contract_document(&d.admin, contract.id).await.unwrap();
    assert!(!doc.guardians.is_empty());
    assert!(doc.monthly_fee_cents > 0 || doc.fee_lines.is_empty());
    assert_eq!(doc.start_date, contract.start_date);
    let notice = d.store.fee_notice_document(&d.office, contract.child_id, december()).await.unwrap();
    assert_eq!(notice.lines.iter().map(|l| l.amount_cents).sum::<i64>(), notice.monthly_fee_cents);
    assert!(notice.rule_set.contains("Leipzig"));
    // Educators neither print contracts nor see fees.
    let erz = d.store.list_accounts().await.unwrap().into_iter().find(|a| a.username == "erzieherin").unwrap();
    let erz = d.store.actor(erz.user_id).await.unwrap();
    assert!(matches!(d.store.contract_document(&erz, contract.id).await, Err(StoreError::Denied(_))));
    assert!(matches!(d.store.fee_notice_document(&erz, contract.child_id, december()).await, Err(StoreError::Denied(_))));
}

#[tokio::test]
async fn mandates_are_recorded_checked_and_listed() {
    let d = demo().await;
    // A guardian with an IBAN and no mandate yet.
    let (guardian,): (String,) = sqlx::query_as(
        "SELECT g.id FROM guardians g WHERE g.iban IS NOT NULL AND NOT EXISTS (SELECT 1 FROM sepa_mandates m WHERE m.guardian_id = g.id) LIMIT 1",
    )
    .fetch_one(d.store.pool())
    .await
    .unwrap();
    let guardian: GuardianId = guardian.parse().unwrap();
    let record = |reference: &str, signed_on: NaiveDate| c::RecordMandate {
        mandate_id: MandateId(uuid::Uuid::now_v7()),
        guardian_id: guardian,
        reference: reference.into(),
        signed_on,
    };
    let nov = NaiveDate::from_ymd_opt(2026, 11, 2).unwrap();
    // Not in the SEPA character set, too long, in the future, taken: each refused, nothing stored.
    for (reference, on) in
        [("KK–Ü1", nov), (&"K".repeat(36)[..], nov), ("KK-NEU-1", NaiveDate::from_ymd_opt(2026, 12, 1).unwrap()), ("KK-KW1-000001", nov)]
    {
        assert!(d.store.execute(&d.office, record(reference, on).into()).await.is_err(), "{reference} {on}");
    }
    assert!(d.store.mandates(&d.office, guardian).await.unwrap().is_empty());
    d.store.execute(&d.office, record("KK-NEU-1", nov).into()).await.unwrap();
    let list = d.store.mandates(&d.office, guardian).await.unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].status, kitakontor_core::sepa::MandateStatus::Usable(kitakontor_core::sepa::Sequence::First));
    // Educators and directors see no bank data.
    let leitung = d.store.list_accounts().await.unwrap().into_iter().find(|a| a.username == "leitung").unwrap();
    let leitung = d.store.actor(leitung.user_id).await.unwrap();
    assert!(matches!(d.store.mandates(&leitung, guardian).await, Err(StoreError::Denied(_))));
}
