//! The crash-test workload: commands in a loop, each acknowledged on stdout only after its
//! transaction committed. A test kills this process with SIGKILL at random moments and then
//! checks that every acknowledged command is in the database exactly once.

use crate::{CliError, Result};
use chrono::{Duration, NaiveDate};
use kitakontor_core::command as c;
use kitakontor_core::ids::*;
use kitakontor_core::permission::Actor;
use kitakontor_core::person::Address;
use kitakontor_store::Store;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::io::Write;
use uuid::Uuid;

pub async fn run(store: &Store, actor: &Actor, seed: u64, count: u64) -> Result<()> {
    let facility = store.default_facility(actor).await?;
    let mut rng = StdRng::seed_from_u64(seed);
    let mut mine: Vec<ChildId> = Vec::new();
    let today = store.now().date_naive();
    let stdout = std::io::stdout();
    let mut n = 0u64;
    while count == 0 || n < count {
        n += 1;
        let command: c::Command = if mine.is_empty() || rng.gen_bool(0.6) {
            let id = ChildId(Uuid::now_v7());
            mine.push(id);
            c::CreateChild {
                child_id: id,
                facility_id: facility,
                group_id: None,
                first_name: format!("Stress{}", rng.gen_range(0..100_000)),
                last_name: "Prüfling".into(),
                birth_date: today - Duration::days(rng.gen_range(400..2000)),
                address: Address::default(),
                municipality: "Leipzig".into(),
            }
            .into()
        } else {
            let child = mine[rng.gen_range(0..mine.len())];
            c::RecordHealth {
                child_id: child,
                measles_proof: Some(NaiveDate::from_ymd_opt(2025, 1, 1).expect("valid")),
                health_notes: format!("Notiz {}", rng.gen::<u32>()),
            }
            .into()
        };
        let r = store.execute(actor, command).await?;
        let mut out = stdout.lock();
        writeln!(out, "ACK {} {}", r.command_id, r.client_seq).map_err(CliError::Io)?;
        out.flush().map_err(CliError::Io)?;
    }
    Ok(())
}
