//! `kitakontor bench --what billing`: fee notices and the monthly billing run for N families
//! (default 300) with SEPA file, on a throw-away database. Prints ms per fee notice (data +
//! PDF), the whole run, and the process's peak memory.

use crate::output::Out;
use crate::{BenchArgs, Result};
use chrono::Duration;
use kitakontor_core::care::{add_months, CareHours, CareType};
use kitakontor_core::command::{self as c, Command};
use kitakontor_core::ids::*;
use kitakontor_core::permission::Role;
use kitakontor_core::person::Address;
use kitakontor_core::sepa::mandate_reference_for;
use kitakontor_store::billing::{BillingRequest, SepaVersion};
use kitakontor_store::key::DbKey;
use kitakontor_store::Store;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::Serialize;
use std::sync::Arc;
use std::time::Instant;
use uuid::Uuid;

#[derive(Serialize)]
struct Figures {
    families: u32,
    children: u32,
    fee_notice_p50_ms: f64,
    fee_notice_p99_ms: f64,
    fee_notice_pdf_only_p50_ms: f64,
    billing_run_ms: f64,
    billing_documents: u32,
    billing_debits: u32,
    rerun_ms: f64,
    peak_rss_mib: f64,
}

fn pct(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

/// Peak resident memory of this process (Linux: ru_maxrss is in KiB).
fn peak_rss_mib() -> f64 {
    let mut u: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut u) };
    u.ru_maxrss as f64 / 1024.0
}

pub async fn run(out: &Out, a: &BenchArgs) -> Result<()> {
    let dir = std::env::temp_dir().join(format!("kitakontor-bench-billing-{}", Uuid::now_v7()));
    std::fs::create_dir_all(&dir)?;
    let result = bench_in(&dir, a).await;
    let _ = std::fs::remove_dir_all(&dir);
    let f = result?;
    out.value(
        &f,
        &format!(
            "{} Familien, {} Kinder\n  Kostenbescheid (Daten + PDF): p50 {:.2} ms  p99 {:.2} ms  (nur PDF: p50 {:.2} ms)\n  Abrechnungslauf mit SEPA-Datei: {:.0} ms ({} Belege, {} Lastschriften)\n  Wiederholung (unverändert): {:.0} ms\n  Speicher (Spitze): {:.0} MiB",
            f.families, f.children, f.fee_notice_p50_ms, f.fee_notice_p99_ms, f.fee_notice_pdf_only_p50_ms, f.billing_run_ms, f.billing_documents, f.billing_debits, f.rerun_ms, f.peak_rss_mib
        ),
    );
    Ok(())
}

async fn bench_in(dir: &std::path::Path, a: &BenchArgs) -> Result<Figures> {
    let store = Store::create(&dir.join("bench.db"), &DbKey::generate()).await?;
    let (fid, pid, uid) = (FacilityId(Uuid::now_v7()), ProviderId(Uuid::now_v7()), UserId(Uuid::now_v7()));
    let n = a.families;
    store
        .create_first_user(
            Some(c::UpsertFacility {
                facility_id: fid,
                provider_id: pid,
                provider_name: "Bench-Träger".into(),
                name: "Bench-Kita".into(),
                profile: String::new(),
                address: Address { street: "Hauptstraße 1".into(), postal_code: "04109".into(), city: "Leipzig".into() },
                municipality: "Leipzig".into(),
                capacities: vec![(CareType::Nursery, 2 * n), (CareType::Kindergarten, 2 * n)],
            }),
            c::CreateUser {
                user_id: uid,
                username: "bench".into(),
                display_name: "Bench".into(),
                role: Role::ProviderAdmin,
                facility_id: None,
            },
            "bench-password-123",
        )
        .await?;
    let actor = store.actor(uid).await?;
    store.import_rule_set(&actor, "leipzig-2014.toml", kitakontor_store::demo::LEIPZIG_RULES).await?;
    let mut rng = StdRng::seed_from_u64(11);
    let today = store.now().date_naive();
    let mut cmds: Vec<(Command, Option<String>)> = vec![(
        c::SetCreditor {
            provider_id: pid,
            address: Address { street: "Hauptstraße 1".into(), postal_code: "04109".into(), city: "Leipzig".into() },
            creditor_id: "DE98ZZZ09999999999".into(),
            iban: kitakontor_store::demo::demo_iban(1),
            bic: None,
            youth_office: "Jugendamt Leipzig".into(),
        }
        .into(),
        None,
    )];
    let mut children = Vec::new();
    for f in 0..n {
        let guardian = GuardianId(Uuid::now_v7());
        let kids = if rng.gen_bool(0.25) { 2 } else { 1 };
        for k in 0..kids {
            let child = ChildId(Uuid::now_v7());
            let ct = if k == 1 || rng.gen_bool(0.3) { CareType::Nursery } else { CareType::Kindergarten };
            let age = if ct == CareType::Nursery { rng.gen_range(400..1000) } else { rng.gen_range(1100..2000) };
            cmds.push((
                c::CreateChild {
                    child_id: child,
                    facility_id: fid,
                    group_id: None,
                    first_name: ["Jürgen", "Zoë", "Mia", "Ömer"][rng.gen_range(0..4)].into(),
                    last_name: format!("Weiß{f}"),
                    birth_date: today - Duration::days(age),
                    address: Address { street: "Gohliser Straße 3".into(), postal_code: "04155".into(), city: "Leipzig".into() },
                    municipality: "Leipzig".into(),
                }
                .into(),
                None,
            ));
            if k == 0 {
                cmds.push((
                    c::AddGuardian {
                        guardian_id: guardian,
                        child_id: child,
                        first_name: "Björn".into(),
                        last_name: format!("Weiß{f}"),
                        email: String::new(),
                        phone: String::new(),
                        address: Address { street: "Gohliser Straße 3".into(), postal_code: "04155".into(), city: "Leipzig".into() },
                        single_parent: rng.gen_bool(0.2),
                    }
                    .into(),
                    None,
                ));
            } else {
                cmds.push((c::LinkGuardian { guardian_id: guardian, child_id: child }.into(), None));
            }
            cmds.push((
                c::RecordHealth { child_id: child, measles_proof: Some(today - Duration::days(30)), health_notes: String::new() }.into(),
                None,
            ));
            let start = kitakontor_core::care::month_start(today - Duration::days(300));
            let hours = CareHours::from_tenths([45, 60, 90, 100][rng.gen_range(0..4)]).expect("valid");
            crate::bench::admit(&mut cmds, child, fid, start, ct, hours);
            children.push(child);
        }
        cmds.push((
            c::SetGuardianFinance {
                guardian_id: guardian,
                income_cents: Some(rng.gen_range(2_000_000..8_000_000)),
                iban: Some(kitakontor_store::demo::demo_iban(f as u64 + 10)),
                account_holder: None,
            }
            .into(),
            None,
        ));
        cmds.push((
            c::RecordMandate {
                mandate_id: MandateId(Uuid::now_v7()),
                guardian_id: guardian,
                reference: mandate_reference_for("BENCH", f),
                signed_on: today - Duration::days(200),
            }
            .into(),
            None,
        ));
    }
    store.execute_batch(&actor, cmds).await?;
    let month = add_months(today, 1);

    // Fee notices: the data from the database plus the PDF, one after the other.
    let iterations = a.iterations.clamp(10, 2000) as usize;
    let (mut notice, mut pdf_only) = (Vec::with_capacity(iterations), Vec::with_capacity(iterations));
    for i in 0..iterations {
        let child = children[i % children.len()];
        let t = Instant::now();
        let doc = store.fee_notice_document(&actor, child, month).await?;
        let t_pdf = Instant::now();
        let bytes = kitakontor_docs::fee_notice_pdf(&doc, store.now().naive_utc())?;
        pdf_only.push(t_pdf.elapsed().as_secs_f64() * 1000.0);
        notice.push(t.elapsed().as_secs_f64() * 1000.0);
        std::hint::black_box(bytes);
    }
    notice.sort_by(|a, b| a.total_cmp(b));
    pdf_only.sort_by(|a, b| a.total_cmp(b));

    let req = BillingRequest { facility: fid, month, out_dir: dir.join("out"), sepa_version: SepaVersion::V08 };
    let t = Instant::now();
    let s = store.billing_run(&actor, &req, Arc::new(|_| {})).await?;
    let billing_run_ms = t.elapsed().as_secs_f64() * 1000.0;
    let t = Instant::now();
    let again = store.billing_run(&actor, &req, Arc::new(|_| {})).await?;
    let rerun_ms = t.elapsed().as_secs_f64() * 1000.0;
    assert_eq!(again.new_invoices + again.replacements, 0, "an unchanged month bills nothing");
    store.close().await;
    Ok(Figures {
        families: n,
        children: children.len() as u32,
        fee_notice_p50_ms: pct(&notice, 0.5),
        fee_notice_p99_ms: pct(&notice, 0.99),
        fee_notice_pdf_only_p50_ms: pct(&pdf_only, 0.5),
        billing_run_ms,
        billing_documents: s.new_invoices + s.replacements + s.credit_notes,
        billing_debits: s.debit_count,
        rerun_ms,
        peak_rss_mib: peak_rss_mib(),
    })
}
