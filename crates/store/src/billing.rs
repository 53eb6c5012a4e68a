//! The monthly billing run of a facility.
//!
//! 1. Compute every family's fees for the month (`kitakontor-core::fee`).
//! 2. Compare with what was billed before for that month: an unchanged family gets nothing
//!    new; a changed one gets a credit note for its invoice and a replacement invoice; a family
//!    no longer billable gets a credit note. A sent invoice is never edited (SQL trigger).
//! 3. Store the documents with gapless numbers per year, mark the mandates used and write the
//!    audit row — one transaction.
//! 4. Write the files from what was stored (`files::write_run_files`): one PDF per document,
//!    the combined print file, the SEPA file and the cashier export. Writing can be repeated
//!    for a run without touching the database.

use crate::error::{Result, StoreError};
use crate::fees::{families, rule_book, Family};
use crate::time::{date, parse_date, ts};
use crate::{audit, Store};
use chrono::{Datelike, NaiveDate};
use kitakontor_core::calendar::{earliest_collection_date, nth_working_day};
use kitakontor_core::care::{month_start, CareType};
use kitakontor_core::de;
use kitakontor_core::fee::{family_month, ChildMonthFee, FeeLine, ReductionAmount};
use kitakontor_core::ids::*;
use kitakontor_core::permission::{authorize, Actor, Permission, Scope};
use kitakontor_core::sepa::{mandate_status, MandateStatus, MandateUse, Sequence};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use sqlx::SqliteConnection;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

/// Fees are due on this working day of the month ("zum 5. Werktag"); the SEPA collection date
/// is that day unless the file can't reach the bank in time, then the next possible day.
pub const DUE_WORKING_DAY: u32 = 5;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum SepaVersion {
    /// pain.008.001.08, current.
    #[default]
    V08,
    /// pain.008.001.02, still accepted by German banks.
    V02,
}

#[derive(Debug, Clone)]
pub struct BillingRequest {
    pub facility: FacilityId,
    /// Any day of the billed month.
    pub month: NaiveDate,
    /// Folder the run's files go to (a subfolder per run is created inside).
    pub out_dir: PathBuf,
    pub sepa_version: SepaVersion,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum BillingPhase {
    Computing,
    Saving,
    Documents,
    SepaFile,
    Done,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct BillingProgress {
    pub phase: BillingPhase,
    pub done: u32,
    pub total: u32,
}

pub type ProgressFn = Arc<dyn Fn(BillingProgress) + Send + Sync>;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum ProblemKind {
    /// No usable mandate: the family pays by transfer.
    NoMandate,
    /// The mandate was not used for 36 months; a new one is needed.
    MandateLapsed,
    /// A child without guardians: no one to address the invoice to.
    NoGuardian,
    /// The fee could not be computed (no rule set, care type missing).
    FeeNotComputable,
    /// A correction lowered an amount that was already collected: refund by transfer.
    Refund,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct BillingProblem {
    pub family: String,
    pub kind: ProblemKind,
    /// German, for the summary.
    pub message: String,
}

/// What the fee staff sees after a run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct BillingSummary {
    pub run_id: BillingRunId,
    pub facility: String,
    pub month: NaiveDate,
    pub families: u32,
    pub new_invoices: u32,
    pub replacements: u32,
    pub credit_notes: u32,
    pub unchanged: u32,
    /// Sum of the month's fees of all billed families (current state).
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub month_total_cents: i64,
    /// Collected by this run's SEPA file.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub debit_cents: i64,
    pub debit_count: u32,
    /// Documents of this run to be paid by transfer.
    pub transfer_count: u32,
    /// Reductions of the month the youth office reimburses.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub claimable_cents: i64,
    pub collection_date: NaiveDate,
    pub problems: Vec<BillingProblem>,
    /// Absolute paths of the files written.
    pub files: Vec<String>,
    pub out_dir: String,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub millis: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DocKind {
    Invoice,
    CreditNote,
    Replacement,
}

impl DocKind {
    pub fn code(self) -> &'static str {
        match self {
            DocKind::Invoice => "invoice",
            DocKind::CreditNote => "credit_note",
            DocKind::Replacement => "replacement",
        }
    }
    pub fn from_code(s: &str) -> DocKind {
        match s {
            "credit_note" => DocKind::CreditNote,
            "replacement" => DocKind::Replacement,
            _ => DocKind::Invoice,
        }
    }
}

/// One child's part of a document, as stored in `invoice_children`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct DocChild {
    pub child_id: Option<ChildId>,
    pub child_name: String,
    pub birth_date: NaiveDate,
    pub care: String,
    pub full_fee_cents: i64,
    pub fee_cents: i64,
    pub reductions: Vec<ReductionAmount>,
    pub lines: Vec<FeeLine>,
}

impl DocChild {
    fn of(fee: &ChildMonthFee, name: String, birth: NaiveDate) -> DocChild {
        DocChild {
            child_id: Some(fee.child_id),
            child_name: name,
            birth_date: birth,
            care: care_text(fee.care_type, fee.care_tenths),
            full_fee_cents: fee.full_fee_cents,
            fee_cents: fee.fee_cents,
            reductions: fee.reductions.clone(),
            lines: fee.lines.clone(),
        }
    }

    /// The same part with every amount negated (for a credit note).
    fn negated(&self) -> DocChild {
        let mut c = self.clone();
        c.full_fee_cents = -c.full_fee_cents;
        c.fee_cents = -c.fee_cents;
        c.reductions.iter_mut().for_each(|r| r.cents = -r.cents);
        c.lines.iter_mut().for_each(|l| l.amount_cents = -l.amount_cents);
        c
    }
}

pub(crate) fn care_text(care_type: CareType, tenths: u16) -> String {
    format!("{}, {} h täglich", care_type.label_de(), de::hours(tenths))
}

/// How a family is paid this month.
#[derive(Debug, Clone)]
struct Payment {
    mandate_id: Option<String>,
    mandate_ref: Option<String>,
    mandate_signed_on: Option<NaiveDate>,
    debtor_iban: Option<String>,
    sequence: Option<Sequence>,
}

/// A document to be stored.
#[derive(Debug, Clone)]
struct NewDoc {
    kind: DocKind,
    refers_to: Option<String>,
    family_key: String,
    payer: (String, String, String, String),
    payment: Payment,
    collect_cents: i64,
    total_cents: i64,
    content_hash: String,
    children: Vec<DocChild>,
}

/// The current (not credited) invoice of a family for the month.
#[derive(Debug, Clone)]
struct Current {
    id: String,
    content_hash: String,
    total_cents: i64,
    collect_cents: i64,
    children: Vec<DocChild>,
}

fn content_hash(children: &[DocChild]) -> String {
    let mut h = Sha256::new();
    h.update(serde_json::to_vec(children).expect("serialisable"));
    hex::encode(h.finalize())
}

impl Store {
    /// Runs billing for one facility and month; see the module docs. Safe to repeat: a second
    /// run of an unchanged month creates no documents and collects nothing.
    pub async fn billing_run(&self, actor: &Actor, req: &BillingRequest, progress: ProgressFn) -> Result<BillingSummary> {
        let started = std::time::Instant::now();
        authorize(actor, Permission::RunBilling, Scope::Facility(req.facility))?;
        let month = month_start(req.month);
        let today = self.now().date_naive();
        let collection_date = nth_working_day(month, DUE_WORKING_DAY).max(earliest_collection_date(today));
        let run_id = BillingRunId(uuid::Uuid::now_v7());

        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let creditor = crate::documents::creditor(&mut tx, req.facility).await?;
        progress(BillingProgress { phase: BillingPhase::Computing, done: 0, total: 1 });
        let book = rule_book(self, &mut tx).await?;
        let fams = families(&mut tx, req.facility, month).await?;
        let mandates = usable_mandates(&mut tx).await?;
        let mut current = current_invoices(&mut tx, req.facility, month).await?;

        let mut problems = Vec::new();
        let mut docs: Vec<NewDoc> = Vec::new();
        let (mut unchanged, mut month_total, mut claimable, mut billed_families) = (0u32, 0i64, 0i64, 0u32);
        let total = fams.len() as u32;
        for (i, fam) in fams.iter().enumerate() {
            if i % 50 == 0 {
                progress(BillingProgress { phase: BillingPhase::Computing, done: i as u32, total });
            }
            let fees = match family_month(&book, &fam.input, month) {
                Ok(f) => f,
                Err(e) => {
                    problems.push(BillingProblem { family: fam.label(), kind: ProblemKind::FeeNotComputable, message: e.to_string() });
                    continue;
                }
            };
            let mut children: Vec<DocChild> = fees
                .iter()
                .map(|f| {
                    let c = &fam.children[&f.child_id];
                    DocChild::of(f, c.name(), c.birth_date)
                })
                .collect();
            children.sort_by(|a, b| (a.birth_date, &a.child_name).cmp(&(b.birth_date, &b.child_name)));
            let prev = current.remove(&fam.key);
            if children.is_empty() && prev.is_none() {
                continue;
            }
            let Some(payer) = fam.guardians.first() else {
                problems.push(BillingProblem {
                    family: fam.label(),
                    kind: ProblemKind::NoGuardian,
                    message: "Kein Sorgeberechtigter erfasst – an wen soll die Rechnung gehen?".into(),
                });
                continue;
            };
            billed_families += u32::from(!children.is_empty());
            let total_cents: i64 = children.iter().map(|c| c.fee_cents).sum();
            month_total += total_cents;
            claimable += fees.iter().map(ChildMonthFee::claimable_cents).sum::<i64>();
            let hash = content_hash(&children);
            if prev.as_ref().is_some_and(|p| p.content_hash == hash) {
                unchanged += 1;
                continue;
            }
            let (payment, payment_problem) = payment_for(fam, &mandates, collection_date);
            let payer_addr = (payer.name(), payer.street.clone(), payer.postal_code.clone(), payer.city.clone());
            let debtor = fam
                .guardians
                .iter()
                .find(|g| payment.mandate_id.as_ref().is_some_and(|m| mandates.get(m).is_some_and(|x| x.guardian_id == g.id.to_string())));
            let payer_addr = debtor
                .map(|g| (g.account_holder.clone().unwrap_or_else(|| g.name()), g.street.clone(), g.postal_code.clone(), g.city.clone()))
                .unwrap_or(payer_addr);
            let already = prev.as_ref().map_or(0, |p| p.total_cents);
            if let Some(p) = &prev {
                docs.push(NewDoc {
                    kind: DocKind::CreditNote,
                    refers_to: Some(p.id.clone()),
                    family_key: fam.key.clone(),
                    payer: payer_addr.clone(),
                    payment: Payment { mandate_id: None, mandate_ref: None, mandate_signed_on: None, debtor_iban: None, sequence: None },
                    collect_cents: 0,
                    total_cents: -p.total_cents,
                    content_hash: content_hash(&p.children.iter().map(DocChild::negated).collect::<Vec<_>>()),
                    children: p.children.iter().map(DocChild::negated).collect(),
                });
                if total_cents < already && p.collect_cents > 0 {
                    problems.push(BillingProblem {
                        family: fam.label(),
                        kind: ProblemKind::Refund,
                        message: format!("{} zu viel eingezogen – bitte per Überweisung erstatten", de::euro(already - total_cents)),
                    });
                }
            }
            if children.is_empty() {
                continue;
            }
            let due_now = (total_cents - already).max(0);
            let collect = if payment.sequence.is_some() { due_now } else { 0 };
            if let Some(p) = payment_problem {
                if due_now > 0 {
                    problems.push(p);
                }
            }
            docs.push(NewDoc {
                kind: if prev.is_some() { DocKind::Replacement } else { DocKind::Invoice },
                refers_to: prev.map(|p| p.id),
                family_key: fam.key.clone(),
                payer: payer_addr,
                payment: if collect > 0 { payment } else { Payment { sequence: None, ..payment } },
                collect_cents: collect,
                total_cents,
                content_hash: hash,
                children,
            });
        }
        // Families billed before but without any care this month any more: credit their invoice.
        for (key, p) in current {
            docs.push(NewDoc {
                kind: DocKind::CreditNote,
                refers_to: Some(p.id.clone()),
                family_key: key,
                payer: payer_of(&mut tx, &p.id).await?,
                payment: Payment { mandate_id: None, mandate_ref: None, mandate_signed_on: None, debtor_iban: None, sequence: None },
                collect_cents: 0,
                total_cents: -p.total_cents,
                content_hash: content_hash(&p.children.iter().map(DocChild::negated).collect::<Vec<_>>()),
                children: p.children.iter().map(DocChild::negated).collect(),
            });
        }

        progress(BillingProgress { phase: BillingPhase::Saving, done: 0, total: docs.len() as u32 });
        let facility_name = creditor.facility.name.clone();
        sqlx::query("INSERT INTO billing_runs (id, facility_id, month, run_at, user_id, summary) VALUES (?,?,?,?,?, '{}')")
            .bind(run_id.to_string())
            .bind(req.facility.to_string())
            .bind(date(month))
            .bind(ts(self.now()))
            .bind(actor.user_id.to_string())
            .execute(&mut *tx)
            .await?;
        let year = today.year();
        let (mut seq,): (i64,) =
            sqlx::query_as("SELECT COALESCE(MAX(seq), 0) FROM invoices WHERE year = ?").bind(year).fetch_one(&mut *tx).await?;
        let due = date(collection_date);
        let now = ts(self.now());
        for (i, d) in docs.iter().enumerate() {
            if i % 50 == 0 {
                progress(BillingProgress { phase: BillingPhase::Saving, done: i as u32, total: docs.len() as u32 });
            }
            seq += 1;
            store_doc(&mut tx, d, run_id, req.facility, month, year, seq, &due, &now).await?;
            if d.collect_cents > 0 {
                sqlx::query("UPDATE sepa_mandates SET last_used_on = ?, version = version + 1 WHERE id = ?")
                    .bind(&due)
                    .bind(&d.payment.mandate_id)
                    .execute(&mut *tx)
                    .await?;
            }
        }
        let records = vec![format!("billing_run:{run_id}"), format!("facility:{}", req.facility)];
        audit::actor_action(&mut tx, self, actor, "billing_run", &records).await?;
        tx.commit().await?;

        let mut summary = BillingSummary {
            run_id,
            facility: facility_name,
            month,
            families: billed_families,
            new_invoices: docs.iter().filter(|d| d.kind == DocKind::Invoice).count() as u32,
            replacements: docs.iter().filter(|d| d.kind == DocKind::Replacement).count() as u32,
            credit_notes: docs.iter().filter(|d| d.kind == DocKind::CreditNote).count() as u32,
            unchanged,
            month_total_cents: month_total,
            debit_cents: docs.iter().map(|d| d.collect_cents).sum(),
            debit_count: docs.iter().filter(|d| d.collect_cents > 0).count() as u32,
            transfer_count: docs.iter().filter(|d| d.kind != DocKind::CreditNote && d.collect_cents == 0 && d.total_cents > 0).count()
                as u32,
            claimable_cents: claimable,
            collection_date,
            problems,
            files: Vec::new(),
            out_dir: String::new(),
            millis: started.elapsed().as_millis() as u64,
        };
        // The run is listed from here on, also if writing its files fails below.
        self.save_summary(&summary).await?;
        let files = crate::files::write_run_files(self, run_id, &req.out_dir, req.sepa_version, progress.clone()).await?;
        summary.out_dir = files.dir.display().to_string();
        summary.files = files.paths.iter().map(|p| p.display().to_string()).collect();
        summary.millis = started.elapsed().as_millis() as u64;
        self.save_summary(&summary).await?;
        progress(BillingProgress { phase: BillingPhase::Done, done: 1, total: 1 });
        Ok(summary)
    }

    async fn save_summary(&self, summary: &BillingSummary) -> Result<()> {
        sqlx::query("UPDATE billing_runs SET summary = ? WHERE id = ?")
            .bind(serde_json::to_string(summary).expect("serialisable"))
            .bind(summary.run_id.to_string())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Writes a run's files again from the stored documents (after a crash or a lost folder).
    /// The database is not changed except for the file list in the run's summary.
    pub async fn rewrite_billing_files(
        &self,
        actor: &Actor,
        run: BillingRunId,
        out_dir: &std::path::Path,
        version: SepaVersion,
    ) -> Result<BillingSummary> {
        let row: Option<(String, String)> = sqlx::query_as("SELECT facility_id, summary FROM billing_runs WHERE id = ?")
            .bind(run.to_string())
            .fetch_optional(&self.pool)
            .await?;
        let (facility, summary) = row.ok_or(StoreError::NotFound { what: "billing run", id: run.to_string() })?;
        authorize(actor, Permission::RunBilling, Scope::Facility(crate::rows::uuid(&facility)))?;
        let mut summary: BillingSummary = serde_json::from_str(&summary).map_err(|_| {
            StoreError::Conflict("Der Lauf wurde nicht abgeschlossen; bitte die Abrechnung für den Monat erneut starten".into())
        })?;
        let files = crate::files::write_run_files(self, run, out_dir, version, Arc::new(|_| {})).await?;
        summary.out_dir = files.dir.display().to_string();
        summary.files = files.paths.iter().map(|p| p.display().to_string()).collect();
        self.save_summary(&summary).await?;
        Ok(summary)
    }

    /// Earlier runs of a facility, newest first, as their summaries.
    pub async fn billing_runs(&self, actor: &Actor, facility: FacilityId) -> Result<Vec<BillingSummary>> {
        authorize(actor, Permission::RunBilling, Scope::Facility(facility))?;
        let rows: Vec<(String,)> =
            sqlx::query_as("SELECT summary FROM billing_runs WHERE facility_id = ? AND summary != '{}' ORDER BY run_at DESC")
                .bind(facility.to_string())
                .fetch_all(&self.pool)
                .await?;
        Ok(rows.iter().filter_map(|r| serde_json::from_str(&r.0).ok()).collect())
    }
}

#[allow(clippy::too_many_arguments)]
async fn store_doc(
    conn: &mut SqliteConnection,
    d: &NewDoc,
    run: BillingRunId,
    facility: FacilityId,
    month: NaiveDate,
    year: i32,
    seq: i64,
    due: &str,
    now: &str,
) -> Result<()> {
    let id = InvoiceId(uuid::Uuid::now_v7()).to_string();
    let number = format!("{year}-{seq:06}");
    sqlx::query(
        "INSERT INTO invoices (id, number, year, seq, kind, refers_to, run_id, facility_id, month, family_key, payer_name, payer_street,
         payer_postal_code, payer_city, mandate_ref, mandate_signed_on, debtor_iban, sequence, collect_cents, total_cents, due_date,
         issued_at, content_hash) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
    )
    .bind(&id)
    .bind(&number)
    .bind(year)
    .bind(seq)
    .bind(d.kind.code())
    .bind(&d.refers_to)
    .bind(run.to_string())
    .bind(facility.to_string())
    .bind(date(month))
    .bind(&d.family_key)
    .bind(&d.payer.0)
    .bind(&d.payer.1)
    .bind(&d.payer.2)
    .bind(&d.payer.3)
    .bind(&d.payment.mandate_ref)
    .bind(d.payment.mandate_signed_on.map(date))
    .bind(&d.payment.debtor_iban)
    .bind(d.payment.sequence.map(|s| match s {
        Sequence::First => "first",
        Sequence::Recurring => "recurring",
    }))
    .bind(d.collect_cents)
    .bind(d.total_cents)
    .bind(due)
    .bind(now)
    .bind(&d.content_hash)
    .execute(&mut *conn)
    .await?;
    for c in &d.children {
        sqlx::query(
            "INSERT INTO invoice_children (invoice_id, child_id, child_name, birth_date, care, full_fee_cents, fee_cents, reductions, lines)
             VALUES (?,?,?,?,?,?,?,?,?)",
        )
        .bind(&id)
        .bind(c.child_id.map(|c| c.to_string()))
        .bind(&c.child_name)
        .bind(date(c.birth_date))
        .bind(&c.care)
        .bind(c.full_fee_cents)
        .bind(c.fee_cents)
        .bind(serde_json::to_string(&c.reductions).expect("serialisable"))
        .bind(serde_json::to_string(&c.lines).expect("serialisable"))
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

#[derive(Debug, Clone)]
struct MandateRow {
    guardian_id: String,
    reference: String,
    signed_on: NaiveDate,
    last_used_on: Option<NaiveDate>,
}

async fn usable_mandates(conn: &mut SqliteConnection) -> Result<HashMap<String, MandateRow>> {
    let rows: Vec<(String, String, String, String, Option<String>)> =
        sqlx::query_as("SELECT id, guardian_id, reference, signed_on, last_used_on FROM sepa_mandates WHERE revoked_on IS NULL")
            .fetch_all(&mut *conn)
            .await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            (
                r.0,
                MandateRow { guardian_id: r.1, reference: r.2, signed_on: parse_date(&r.3), last_used_on: r.4.as_deref().map(parse_date) },
            )
        })
        .collect())
}

/// The family's mandate for the collection date: the first guardian (by name) with an IBAN and
/// a usable mandate. Otherwise transfer, with the reason as a problem.
fn payment_for(fam: &Family, mandates: &HashMap<String, MandateRow>, on: NaiveDate) -> (Payment, Option<BillingProblem>) {
    let none = Payment { mandate_id: None, mandate_ref: None, mandate_signed_on: None, debtor_iban: None, sequence: None };
    let mut lapsed = None;
    for g in &fam.guardians {
        let Some(iban) = &g.iban else { continue };
        let mut own: Vec<(&String, &MandateRow)> = mandates.iter().filter(|(_, m)| m.guardian_id == g.id.to_string()).collect();
        own.sort_by_key(|(_, m)| std::cmp::Reverse(m.signed_on));
        for (id, m) in own {
            match mandate_status(&MandateUse { signed_on: m.signed_on, last_used_on: m.last_used_on }, on) {
                MandateStatus::Usable(seq) => {
                    return (
                        Payment {
                            mandate_id: Some(id.clone()),
                            mandate_ref: Some(m.reference.clone()),
                            mandate_signed_on: Some(m.signed_on),
                            debtor_iban: Some(iban.clone()),
                            sequence: Some(seq),
                        },
                        None,
                    )
                }
                MandateStatus::Lapsed { unused_since } => lapsed = Some((m.reference.clone(), unused_since)),
                MandateStatus::NotYetSigned => {}
            }
        }
    }
    let problem = match lapsed {
        Some((r, since)) => BillingProblem {
            family: fam.label(),
            kind: ProblemKind::MandateLapsed,
            message: format!(
                "Mandat {r} seit {} über 36 Monate ungenutzt und daher verfallen – neues Mandat einholen; bis dahin Überweisung",
                de::date(since)
            ),
        },
        None => BillingProblem {
            family: fam.label(),
            kind: ProblemKind::NoMandate,
            message: "Kein gültiges SEPA-Mandat – Zahlung per Überweisung".into(),
        },
    };
    (none, Some(problem))
}

async fn current_invoices(conn: &mut SqliteConnection, facility: FacilityId, month: NaiveDate) -> Result<HashMap<String, Current>> {
    let rows: Vec<(String, String, String, Option<String>, String, i64, i64)> = sqlx::query_as(
        "SELECT id, kind, family_key, refers_to, content_hash, total_cents, collect_cents FROM invoices
         WHERE facility_id = ? AND month = ? ORDER BY year, seq",
    )
    .bind(facility.to_string())
    .bind(date(month))
    .fetch_all(&mut *conn)
    .await?;
    let credited: std::collections::HashSet<&str> = rows.iter().filter(|r| r.1 == "credit_note").filter_map(|r| r.3.as_deref()).collect();
    let mut out = HashMap::new();
    for r in rows.iter().filter(|r| r.1 != "credit_note" && !credited.contains(r.0.as_str())) {
        let children = doc_children(conn, &r.0).await?;
        out.insert(r.2.clone(), Current { id: r.0.clone(), content_hash: r.4.clone(), total_cents: r.5, collect_cents: r.6, children });
    }
    Ok(out)
}

pub(crate) async fn doc_children(conn: &mut SqliteConnection, invoice: &str) -> Result<Vec<DocChild>> {
    let rows: Vec<(Option<String>, String, String, String, i64, i64, String, String)> = sqlx::query_as(
        "SELECT child_id, child_name, birth_date, care, full_fee_cents, fee_cents, reductions, lines FROM invoice_children
         WHERE invoice_id = ? ORDER BY birth_date, child_name",
    )
    .bind(invoice)
    .fetch_all(&mut *conn)
    .await?;
    rows.into_iter()
        .map(|r| {
            Ok(DocChild {
                child_id: r.0.as_deref().map(crate::rows::uuid),
                child_name: r.1,
                birth_date: parse_date(&r.2),
                care: r.3,
                full_fee_cents: r.4,
                fee_cents: r.5,
                reductions: serde_json::from_str(&r.6).map_err(|e| StoreError::Conflict(format!("invoice data unreadable: {e}")))?,
                lines: serde_json::from_str(&r.7).map_err(|e| StoreError::Conflict(format!("invoice data unreadable: {e}")))?,
            })
        })
        .collect()
}

async fn payer_of(conn: &mut SqliteConnection, invoice: &str) -> Result<(String, String, String, String)> {
    Ok(sqlx::query_as("SELECT payer_name, payer_street, payer_postal_code, payer_city FROM invoices WHERE id = ?")
        .bind(invoice)
        .fetch_one(&mut *conn)
        .await?)
}
