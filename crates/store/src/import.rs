//! Import of an old waiting list (CSV) as paper applications.
//!
//! Two steps, both taking the file's bytes: `preview_import` parses and checks (nothing is
//! written), `commit_import` parses again — the file in the watched folder may have changed
//! since the preview — and runs the accepted rows' commands through `execute_batch`, in one
//! transaction: every row or none. Parsing and the row rules live in `kitakontor_core::import`;
//! here are the checks that need the database (facility names, children already on file, the
//! actor's facility).

use crate::error::Result;
use crate::time::parse_date;
use crate::Store;
use chrono::NaiveDate;
use kitakontor_core::application::ApplicationOrigin;
use kitakontor_core::command::{self as cmd, Command};
use kitakontor_core::ids::{ApplicationId, ChildId, FacilityId, GuardianId};
use kitakontor_core::import::{parse_waiting_list, ImportError, ImportPreview, ImportRow, RejectedRow};
use kitakontor_core::permission::{authorize, Actor, Permission, Scope};
use serde::Serialize;
use std::collections::{HashMap, HashSet};
use uuid::Uuid;

/// What a finished import reports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ImportSummary {
    /// Rows imported, each as a child with a paper application.
    pub imported: usize,
    /// Rows left out, with their reasons (as in the preview).
    pub rejected: Vec<RejectedRow>,
}

type Batch = Vec<(Command, Option<String>)>;

impl Store {
    /// Parses and checks a waiting-list file without writing anything.
    pub async fn preview_import(&self, actor: &Actor, bytes: &[u8]) -> Result<ImportPreview> {
        authorize(actor, Permission::ManageApplications, actor_scope(actor))?;
        let facilities: Vec<(String, String)> = sqlx::query_as("SELECT id, name FROM facilities").fetch_all(&self.pool).await?;
        // Two facilities with the same name cannot be told apart from the file; such a name
        // resolves to nothing, and the row says "unbekannt (oder nicht eindeutig)".
        let mut by_name: HashMap<String, Option<FacilityId>> = HashMap::new();
        for (id, name) in facilities {
            let id = id.parse().ok().map(FacilityId);
            by_name.entry(facility_key(&name)).and_modify(|e| *e = None).or_insert(id);
        }
        let today = self.now().date_naive();
        let mut preview = parse_waiting_list(bytes, today, &|name| by_name.get(&facility_key(name)).copied().flatten())?;

        // A child already on file (same name and birth date) would be created a second time;
        // the usual cause is a file imported twice. Its application belongs on the existing
        // file, which the office does by hand.
        let children: Vec<(String, String, String)> =
            sqlx::query_as("SELECT first_name, last_name, birth_date FROM children").fetch_all(&self.pool).await?;
        let on_file: HashSet<(String, String, NaiveDate)> =
            children.into_iter().map(|(f, l, b)| child_key(&f, &l, parse_date(&b))).collect();
        let mut moved = Vec::new();
        preview.accepted.retain(|row| {
            let mut reasons = Vec::new();
            if on_file.contains(&child_key(&row.first_name, &row.last_name, row.birth_date)) {
                reasons.push(format!(
                    "Zeile {}: ein Kind mit diesem Namen und Geburtsdatum ist bereits erfasst (Datei schon einmal importiert?); den Antrag bitte in der Akte des Kindes anlegen",
                    row.line
                ));
            }
            // A facility account may only create children of its own facility; the guard
            // would refuse the row inside the batch and so stop the whole import.
            if let Some(own) = actor.facility_id {
                if !row.choices.contains(&own) {
                    reasons.push(format!("Zeile {}: Ihre Einrichtung ist nicht unter den Wunscheinrichtungen; die Zeile gehört zur Liste einer anderen Einrichtung", row.line));
                }
            }
            if reasons.is_empty() {
                return true;
            }
            moved.push(RejectedRow { line: row.line, reasons });
            false
        });
        preview.rejected.extend(moved);
        preview.rejected.sort_by_key(|r| r.line);
        Ok(preview)
    }

    /// Imports every accepted row as a child (with guardian and measles proof if given) and a
    /// paper application, all in one transaction. If any command fails, nothing is written and
    /// the error names the row's line.
    pub async fn commit_import(&self, actor: &Actor, bytes: &[u8]) -> Result<ImportSummary> {
        let preview = self.preview_import(actor, bytes).await?;
        // Checked up front so that a missing right is one clear error, not a failure at row 1.
        authorize(actor, Permission::WriteChildren, actor_scope(actor))?;
        if preview.accepted.iter().any(|r| r.measles_proof.is_some()) {
            authorize(actor, Permission::WriteHealth, actor_scope(actor))?;
        }
        let mut batch: Batch = Vec::new();
        // starts[i] = index in `batch` of row i's first command; starts[n] = batch.len().
        let mut starts = Vec::with_capacity(preview.accepted.len() + 1);
        for row in &preview.accepted {
            starts.push(batch.len());
            batch.extend(row_commands(actor, row).into_iter().map(|c| (c, None)));
        }
        starts.push(batch.len());
        let summary = ImportSummary { imported: preview.accepted.len(), rejected: preview.rejected };
        if batch.is_empty() {
            return Ok(summary);
        }
        match self.execute_batch_indexed(actor, batch).await {
            Ok(_) => Ok(summary),
            Err((failed, e)) => {
                // starts[i] <= failed < starts[i + 1]: row i's commands contain the failing one.
                let row = starts.partition_point(|s| *s <= failed).saturating_sub(1);
                match preview.accepted.get(row) {
                    Some(r) => Err(ImportError::RowFailed { line: r.line, reason: e.to_string() }.into()),
                    None => Err(e),
                }
            }
        }
    }
}

/// The commands of one row: the child (in the actor's facility if it is among the choices,
/// else the first choice), its guardian, its measles proof, its application.
fn row_commands(actor: &Actor, row: &ImportRow) -> Vec<Command> {
    let Some(&first_choice) = row.choices.first() else { return Vec::new() };
    let facility_id = actor.facility_id.filter(|f| row.choices.contains(f)).unwrap_or(first_choice);
    let child_id = ChildId(Uuid::now_v7());
    let mut out: Vec<Command> = vec![cmd::CreateChild {
        child_id,
        facility_id,
        group_id: None,
        first_name: row.first_name.clone(),
        last_name: row.last_name.clone(),
        birth_date: row.birth_date,
        address: row.address.clone(),
        municipality: row.municipality.clone(),
    }
    .into()];
    if let Some(g) = &row.guardian {
        out.push(
            cmd::AddGuardian {
                guardian_id: GuardianId(Uuid::now_v7()),
                child_id,
                first_name: g.first_name.clone(),
                last_name: g.last_name.clone(),
                email: g.email.clone(),
                phone: g.phone.clone(),
                // The old lists have one address per row: the household's.
                address: row.address.clone(),
                single_parent: g.single_parent,
            }
            .into(),
        );
    }
    if let Some(proof) = row.measles_proof {
        out.push(cmd::RecordHealth { child_id, measles_proof: Some(proof), health_notes: String::new() }.into());
    }
    out.push(
        cmd::SubmitApplication {
            application_id: ApplicationId(Uuid::now_v7()),
            child_id,
            choices: row.choices.clone(),
            wanted_start: row.wanted_start,
            care_type: row.care_type,
            care_hours: row.care_hours,
            origin: ApplicationOrigin::Paper,
        }
        .into(),
    );
    out
}

fn actor_scope(actor: &Actor) -> Scope {
    actor.facility_id.map(Scope::Facility).unwrap_or(Scope::Global)
}

/// Facility names as people type them: case and runs of blanks do not matter.
fn facility_key(name: &str) -> String {
    name.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase()
}

fn child_key(first: &str, last: &str, birth: NaiveDate) -> (String, String, NaiveDate) {
    (first.trim().to_lowercase(), last.trim().to_lowercase(), birth)
}
