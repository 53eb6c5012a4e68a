//! `kitakontor bench`: child search and the 24-month occupancy forecast on a facility with
//! 3,000 children under contract. Prints p50/p99 in milliseconds. Uses a throw-away database in
//! the temp folder with a random key.

use crate::output::Out;
use crate::{BenchArgs, Result};
use chrono::{Duration, NaiveDate};
use kitakontor_core::application::ApplicationOrigin;
use kitakontor_core::care::{add_months, CareHours, CareType};
use kitakontor_core::command::{self as c, Command};
use kitakontor_core::ids::*;
use kitakontor_core::permission::Role;
use kitakontor_core::person::Address;
use kitakontor_store::key::DbKey;
use kitakontor_store::Store;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::Serialize;
use std::time::Instant;
use uuid::Uuid;

#[derive(Serialize)]
struct Figures {
    children: u32,
    iterations: u32,
    seed_seconds: f64,
    seed_commands_per_second: f64,
    search_p50_ms: f64,
    search_p99_ms: f64,
    forecast_p50_ms: f64,
    forecast_p99_ms: f64,
    forecast_cold_p50_ms: f64,
    forecast_cold_p99_ms: f64,
}

fn pct(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

pub async fn run(out: &Out, a: &BenchArgs) -> Result<()> {
    let dir = std::env::temp_dir().join(format!("kitakontor-bench-{}", Uuid::now_v7()));
    std::fs::create_dir_all(&dir)?;
    let result = bench_in(&dir, a).await;
    let _ = std::fs::remove_dir_all(&dir);
    let f = result?;
    out.value(&f, &format!(
        "{} Kinder, {} Durchläufe (Aufbau: {:.1} s, {:.0} Befehle/s)\n  Kindersuche:         p50 {:.3} ms  p99 {:.3} ms\n  Belegung 24 Monate:  p50 {:.3} ms  p99 {:.3} ms\n  … nach Änderung:     p50 {:.3} ms  p99 {:.3} ms (ohne Zwischenspeicher)",
        f.children, f.iterations, f.seed_seconds, f.seed_commands_per_second, f.search_p50_ms, f.search_p99_ms, f.forecast_p50_ms, f.forecast_p99_ms,
        f.forecast_cold_p50_ms, f.forecast_cold_p99_ms
    ));
    Ok(())
}

/// The commands that place a child: application, reservation, contract (as the office does it).
pub(crate) fn admit(
    cmds: &mut Vec<(Command, Option<String>)>,
    child: ChildId,
    facility: FacilityId,
    start: NaiveDate,
    care_type: CareType,
    hours: CareHours,
) -> ContractId {
    let (app, res, contract) = (ApplicationId(Uuid::now_v7()), ReservationId(Uuid::now_v7()), ContractId(Uuid::now_v7()));
    cmds.push((
        c::SubmitApplication {
            application_id: app,
            child_id: child,
            choices: vec![facility],
            wanted_start: start,
            care_type,
            care_hours: hours,
            origin: ApplicationOrigin::Office,
        }
        .into(),
        None,
    ));
    cmds.push((c::ReservePlace { reservation_id: res, application_id: app, facility_id: facility, start_date: start }.into(), None));
    cmds.push((
        c::ConcludeContract { contract_id: contract, reservation_id: res, start_date: start, care_hours: hours, settling_in_weeks: 4 }
            .into(),
        None,
    ));
    contract
}

async fn bench_in(dir: &std::path::Path, a: &BenchArgs) -> Result<Figures> {
    let store = Store::create(&dir.join("bench.db"), &DbKey::generate()).await?;
    let fid = FacilityId(Uuid::now_v7());
    let uid = UserId(Uuid::now_v7());
    let n = a.children;
    store
        .create_first_user(
            Some(c::UpsertFacility {
                facility_id: fid,
                provider_id: ProviderId(Uuid::now_v7()),
                provider_name: "Bench-Träger".into(),
                name: "Bench-Kita".into(),
                profile: String::new(),
                address: Address::default(),
                municipality: "Leipzig".into(),
                capacities: vec![(CareType::Nursery, n), (CareType::Kindergarten, n)],
            }),
            c::CreateUser {
                user_id: uid,
                username: "bench".into(),
                display_name: "Bench".into(),
                role: Role::Director,
                facility_id: Some(fid),
            },
            "bench-password-123",
        )
        .await?;
    let actor = store.actor(uid).await?;
    let mut rng = StdRng::seed_from_u64(7);
    let today = store.now().date_naive();
    let first = ["Emma", "Mia", "Noah", "Ben", "Lina", "Jörg", "Zoë", "Paul", "Ida", "Emil", "Clara", "Finn"];
    let last = ["Müller", "Schmidt", "Schäfer", "Krüger", "Weber", "Groß", "Lehmann", "Köhler", "Wolf", "Neumann"];
    let mut cmds: Vec<(Command, Option<String>)> = Vec::new();
    for i in 0..n {
        let child = ChildId(Uuid::now_v7());
        let ct = if i % 3 == 0 { CareType::Nursery } else { CareType::Kindergarten };
        cmds.push((
            c::CreateChild {
                child_id: child,
                facility_id: fid,
                group_id: None,
                first_name: first[rng.gen_range(0..first.len())].into(),
                last_name: format!("{}{}", last[rng.gen_range(0..last.len())], i),
                birth_date: today - Duration::days(rng.gen_range(400..2000)),
                address: Address::default(),
                municipality: "Leipzig".into(),
            }
            .into(),
            None,
        ));
        cmds.push((
            c::RecordHealth { child_id: child, measles_proof: Some(today - Duration::days(30)), health_notes: String::new() }.into(),
            None,
        ));
        let start = add_months(today, rng.gen_range(0..30)) - Duration::days(365);
        let hours = CareHours::from_tenths([45, 60, 90, 100][rng.gen_range(0..4)]).expect("valid");
        let contract = admit(&mut cmds, child, fid, start, ct, hours);
        if rng.gen_bool(0.3) {
            cmds.push((
                c::TerminateContract {
                    contract_id: contract,
                    end_date: start + Duration::days(rng.gen_range(60..700)),
                    reason: "Umzug".into(),
                }
                .into(),
                None,
            ));
        }
    }
    let seeded = cmds.len();
    let t = Instant::now();
    store.execute_batch(&actor, cmds).await?;
    let seed_seconds = t.elapsed().as_secs_f64();

    let queries = ["mü", "emma", "sch", "jö", "zoë 12", "ida kö", "neu", "x", "ben wolf", "cla"];
    let mut search = Vec::with_capacity(a.iterations as usize);
    let mut forecast = Vec::with_capacity(a.iterations as usize);
    let mut cold = Vec::with_capacity(a.iterations as usize);
    for i in 0..a.iterations {
        let q = queries[i as usize % queries.len()];
        let t = Instant::now();
        let r = store.search_children(&actor, fid, q, 20).await?;
        search.push(t.elapsed().as_secs_f64() * 1000.0);
        std::hint::black_box(r);
        let t = Instant::now();
        let f = store.occupancy(&actor, fid, today, 24).await?;
        forecast.push(t.elapsed().as_secs_f64() * 1000.0);
        std::hint::black_box(f);
        // Cold: right after a change the cached inputs are gone and come from the database.
        store.clear_caches();
        let t = Instant::now();
        let f = store.occupancy(&actor, fid, today, 24).await?;
        cold.push(t.elapsed().as_secs_f64() * 1000.0);
        std::hint::black_box(f);
    }
    search.sort_by(|a, b| a.total_cmp(b));
    forecast.sort_by(|a, b| a.total_cmp(b));
    cold.sort_by(|a, b| a.total_cmp(b));
    store.close().await;
    Ok(Figures {
        children: n,
        iterations: a.iterations,
        seed_seconds,
        seed_commands_per_second: seeded as f64 / seed_seconds,
        search_p50_ms: pct(&search, 0.5),
        search_p99_ms: pct(&search, 0.99),
        forecast_p50_ms: pct(&forecast, 0.5),
        forecast_p99_ms: pct(&forecast, 0.99),
        forecast_cold_p50_ms: pct(&cold, 0.5),
        forecast_cold_p99_ms: pct(&cold, 0.99),
    })
}
