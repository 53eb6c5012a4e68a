//! The data of each document, gathered from the database into `kitakontor-docs`' plain
//! models. Rendering happens in `kitakontor-docs`; writing files in `files`.

use crate::billing::{doc_children, DocKind, DUE_WORKING_DAY};
use crate::error::{Result, StoreError};
use crate::fees::rule_book;
use crate::rows;
use crate::time::{date, parse_date};
use crate::{audit, Store};
use chrono::{Datelike, NaiveDate};
use kitakontor_core::care::{add_months, month_start};
use kitakontor_core::de;
use kitakontor_core::fee::{family_month, ReductionKind};
use kitakontor_core::ids::*;
use kitakontor_core::permission::{authorize, Actor, Permission, Scope};
use kitakontor_core::sepa::{mandate_status, MandateStatus, MandateUse};
use kitakontor_docs::model::*;
use sqlx::SqliteConnection;

/// The provider as sender and SEPA creditor, with the facility.
#[derive(Debug, Clone)]
pub(crate) struct CreditorData {
    pub provider: Party,
    pub facility: Party,
    pub facility_municipality: String,
    pub creditor_id: String,
    pub iban: String,
    pub bic: String,
    pub youth_office: String,
}

impl CreditorData {
    pub fn sender(&self) -> Sender {
        Sender {
            provider: self.provider.clone(),
            facility: self.facility.clone(),
            // No phone or e-mail is recorded for facilities yet; the letterhead shows none.
            contact: String::new(),
        }
    }
}

pub(crate) async fn creditor(conn: &mut SqliteConnection, facility: FacilityId) -> Result<CreditorData> {
    type Row = (String, String, String, String, String, String, String, String, String, String, String, String, String);
    let r: Option<Row> = sqlx::query_as(
        "SELECT p.name, p.street, p.postal_code, p.city, p.creditor_id, p.iban, p.bic, p.youth_office,
                f.name, f.street, f.postal_code, f.city, f.municipality
         FROM facilities f JOIN providers p ON p.id = f.provider_id WHERE f.id = ?",
    )
    .bind(facility.to_string())
    .fetch_optional(&mut *conn)
    .await?;
    let r = r.ok_or(StoreError::NotFound { what: "facility", id: facility.to_string() })?;
    Ok(CreditorData {
        provider: Party { name: r.0, street: r.1, postal_code: r.2, city: r.3 },
        creditor_id: r.4,
        iban: r.5,
        bic: r.6,
        youth_office: r.7,
        facility: Party { name: r.8, street: r.9, postal_code: r.10, city: r.11 },
        facility_municipality: r.12,
    })
}

/// A short, readable reference from a UUIDv7: its last 8 hex digits (the random part; the
/// first ones are the creation time and equal for records made in the same millisecond).
fn short_ref(uuid: &str) -> String {
    uuid[uuid.len() - 8..].to_uppercase()
}

/// "zum 5. Werktag des Monats" (the renderers write "monatlich … fällig" around it).
pub(crate) fn fee_due_text() -> String {
    format!("zum {}. Werktag des Monats", DUE_WORKING_DAY)
}

async fn guardians_of(conn: &mut SqliteConnection, child: ChildId) -> Result<Vec<(String, Party)>> {
    let rows: Vec<(String, String, String, String, String, String)> = sqlx::query_as(
        "SELECT g.id, g.first_name || ' ' || g.last_name, g.street, g.postal_code, g.city, g.last_name FROM guardians g
         JOIN child_guardians cg ON cg.guardian_id = g.id WHERE cg.child_id = ? ORDER BY g.last_name, g.first_name",
    )
    .bind(child.to_string())
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows.into_iter().map(|r| (r.0, Party { name: r.1, street: r.2, postal_code: r.3, city: r.4 })).collect())
}

/// The mandate text for the contract and notices: "SEPA-Lastschrift, Mandatsreferenz …" for
/// a mandate usable on `on`, otherwise transfer.
async fn payment_text(conn: &mut SqliteConnection, guardians: &[(String, Party)], on: NaiveDate) -> Result<String> {
    for (g, _) in guardians {
        let ms: Vec<(String, String, Option<String>)> = sqlx::query_as(
            "SELECT reference, signed_on, last_used_on FROM sepa_mandates WHERE guardian_id = ? AND revoked_on IS NULL ORDER BY signed_on DESC",
        )
        .bind(g)
        .fetch_all(&mut *conn)
        .await?;
        for (r, signed, used) in ms {
            let m = MandateUse { signed_on: parse_date(&signed), last_used_on: used.as_deref().map(parse_date) };
            if matches!(mandate_status(&m, on), MandateStatus::Usable(_)) {
                return Ok(format!("SEPA-Lastschrift, Mandatsreferenz {r}"));
            }
        }
    }
    Ok("Überweisung unter Angabe der Rechnungsnummer".to_string())
}

impl Store {
    /// Everything the Betreuungsvertrag prints. Contract readers only; the fee on it is a
    /// finance read only when income brackets apply, so the fee lines come from the rules alone.
    pub async fn contract_document(&self, actor: &Actor, contract: ContractId) -> Result<ContractDoc> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let (c, _) = rows::contract(&mut tx, contract).await?;
        let (facility, group) = rows::child_scope(&mut tx, c.child_id).await?;
        authorize(actor, Permission::ReadContracts, Scope::Child { facility, group })?;
        let cred = creditor(&mut tx, facility).await?;
        let child: (String, String, String, String, Option<String>) = sqlx::query_as(
            "SELECT first_name || ' ' || last_name, birth_date, pickup_persons, municipality, measles_proof FROM children WHERE id = ?",
        )
        .bind(c.child_id.to_string())
        .fetch_one(&mut *tx)
        .await?;
        let guardians = guardians_of(&mut tx, c.child_id).await?;
        let application: Option<(String,)> = sqlx::query_as(
            "SELECT a.id FROM reservations r JOIN applications a ON a.id = r.application_id JOIN contracts k ON k.reservation_id = r.id WHERE k.id = ?",
        )
        .bind(contract.to_string())
        .fetch_optional(&mut *tx)
        .await?;
        // The fee at the start, from the rules (siblings and income as recorded today).
        let first_version = c.versions.first().expect("a contract has its first version");
        let start_month = month_start(c.start_date);
        let book = rule_book(self, &mut tx).await?;
        let family = crate::fees::family_of(&mut tx, facility, c.child_id, start_month).await?;
        let fee_in = |month: NaiveDate| -> Result<Option<kitakontor_core::fee::ChildMonthFee>> {
            let Some(f) = &family else { return Ok(None) };
            Ok(family_month(&book, &f.input, month)?.into_iter().find(|x| x.child_id == c.child_id))
        };
        // A start mid-month shows the full monthly fee (of the next month), not the prorated first one.
        let full_month = |f: &kitakontor_core::fee::ChildMonthFee| f.days == kitakontor_core::care::month_end(start_month).day();
        let fee = match fee_in(start_month)? {
            Some(f) if full_month(&f) => Some(f),
            _ => fee_in(add_months(start_month, 1))?,
        };
        let (fee_lines, monthly) = fee.map_or((Vec::new(), 0), |f| (f.lines.iter().map(FeeLine::from).collect(), f.fee_cents));
        let payment = payment_text(&mut tx, &guardians, c.start_date.max(self.now().date_naive())).await?;
        let pickup: Vec<String> = serde_json::from_str(&child.2).unwrap_or_default();
        audit::actor_action(&mut tx, self, actor, "print_contract", &[format!("contract:{contract}")]).await?;
        tx.commit().await?;
        Ok(ContractDoc {
            sender: cred.sender(),
            contract_ref: format!("BV-{}", short_ref(&contract.to_string())),
            application_number: application.map(|a| format!("BA-{}", short_ref(&a.0))),
            guardians: guardians.into_iter().map(|g| g.1).collect(),
            child_name: child.0,
            child_birth_date: parse_date(&child.1),
            care_type: c.care_type.label_de().to_string(),
            care_tenths: first_version.care_hours.tenths(),
            start_date: c.start_date,
            end_date: c.end_date(),
            settling_in_weeks: c.settling_in_weeks,
            fee_lines,
            monthly_fee_cents: monthly,
            fee_due: fee_due_text(),
            payment_method: payment,
            notice_period: "zwei Monate zum Monatsende, schriftlich; für den Träger nur aus wichtigem Grund".into(),
            measles_proof: child.4.as_deref().map(parse_date),
            pickup_persons: pickup,
            meals: "Mittagessen und Vesper über den Essenanbieter der Einrichtung; das Essengeld wird gesondert abgerechnet.".into(),
            versions: c
                .versions
                .iter()
                .skip(1)
                .map(|v| {
                    let what = match v.end_date {
                        Some(e) => format!("Ende der Betreuung am {}", de::date(e)),
                        None => format!("{} h täglich", de::hours(v.care_hours.tenths())),
                    };
                    format!(
                        "{} ab {}: {what}{}",
                        v.kind.label_de(),
                        de::date(v.valid_from),
                        if v.note.is_empty() { String::new() } else { format!(" ({})", v.note) }
                    )
                })
                .collect(),
            place: cred.facility.city.clone(),
            issued_on: self.now().date_naive(),
        })
    }

    /// The Kostenbescheid of a child from `month` on. Billing roles only (income is read).
    pub async fn fee_notice_document(&self, actor: &Actor, child: ChildId, month: NaiveDate) -> Result<FeeNoticeDoc> {
        let fee = self.child_fee(actor, child, month).await?;
        let mut conn = self.pool.acquire().await?;
        let (facility, _) = rows::child_scope(&mut conn, child).await?;
        let cred = creditor(&mut conn, facility).await?;
        let birth: (String,) =
            sqlx::query_as("SELECT birth_date FROM children WHERE id = ?").bind(child.to_string()).fetch_one(&mut *conn).await?;
        let guardians = guardians_of(&mut conn, child).await?;
        let payment = payment_text(&mut conn, &guardians, month_start(month).max(self.now().date_naive())).await?;
        let today = self.now().date_naive();
        Ok(FeeNoticeDoc {
            sender: cred.sender(),
            recipients: guardians.into_iter().map(|g| g.1).collect(),
            reference: format!("KB-{}-{}", short_ref(&child.to_string()), month.format("%Y%m")),
            issued_on: today,
            child_name: fee.child_name,
            child_birth_date: parse_date(&birth.0),
            care_type: fee.fee.care_type.label_de().to_string(),
            care_tenths: fee.fee.care_tenths,
            valid_from: month_start(month),
            rule_set: fee.rule_set,
            lines: fee.fee.lines.iter().map(FeeLine::from).collect(),
            monthly_fee_cents: fee.fee.fee_cents,
            fee_due: fee_due_text(),
            payment_method: payment,
            remedy_authority: cred.provider.clone(),
        })
    }

    /// The reductions of `from`..=`to` (months) the youth office reimburses, from the invoices
    /// as billed (credit notes net out corrections).
    pub async fn claim_list(&self, actor: &Actor, facility: FacilityId, from: NaiveDate, to: NaiveDate) -> Result<ClaimListDoc> {
        authorize(actor, Permission::RunBilling, Scope::Facility(facility))?;
        let (from, to) = (month_start(from), month_start(to));
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let cred = creditor(&mut tx, facility).await?;
        let book = rule_book(self, &mut tx).await?;
        let claimable: Vec<ReductionKind> = book
            .sets()
            .iter()
            .filter(|s| s.municipality.eq_ignore_ascii_case(&cred.facility_municipality))
            .flat_map(|s| s.claimable.clone())
            .collect();
        let rows: Vec<(String, String, String, i64, String)> = sqlx::query_as(
            "SELECT ic.child_name, ic.birth_date, i.month, ic.full_fee_cents, ic.reductions FROM invoice_children ic
             JOIN invoices i ON i.id = ic.invoice_id WHERE i.facility_id = ? AND i.month BETWEEN ? AND ?
             ORDER BY i.month, ic.child_name, ic.birth_date",
        )
        .bind(facility.to_string())
        .bind(date(from))
        .bind(date(to))
        .fetch_all(&mut *tx)
        .await?;
        // (month, child, birth, kind) → (full fee, reduction), summed over invoices and credits.
        let mut sums: std::collections::BTreeMap<(String, String, String, ReductionKind), (i64, i64)> = Default::default();
        for (name, birth, month, full, reductions) in rows {
            let reds: Vec<kitakontor_core::fee::ReductionAmount> = serde_json::from_str(&reductions).unwrap_or_default();
            for r in reds.into_iter().filter(|r| r.claimable || claimable.contains(&r.kind)) {
                let e = sums.entry((month.clone(), name.clone(), birth.clone(), r.kind)).or_default();
                e.0 += full;
                e.1 += r.cents;
            }
        }
        let rows: Vec<ClaimRow> = sums
            .into_iter()
            .filter(|(_, v)| v.1 != 0)
            .map(|((month, name, birth, kind), (full, cents))| ClaimRow {
                child_name: name,
                child_birth_date: parse_date(&birth),
                month: parse_date(&month),
                reduction: kind.label_de().to_string(),
                full_fee_cents: full,
                reduction_cents: cents,
            })
            .collect();
        audit::actor_action(&mut tx, self, actor, "claim_list", &[format!("facility:{facility}")]).await?;
        tx.commit().await?;
        let total = rows.iter().map(|r| r.reduction_cents).sum();
        Ok(ClaimListDoc {
            sender: cred.sender(),
            recipient: Party {
                name: if cred.youth_office.is_empty() { "Jugendamt".into() } else { cred.youth_office.clone() },
                ..Party::default()
            },
            reference: format!("EA-{}-{}", from.format("%Y%m"), to.format("%Y%m")),
            issued_on: self.now().date_naive(),
            from_month: from,
            to_month: to,
            rows,
            total_cents: total,
        })
    }
}

/// A stored document as the invoice renderer needs it.
pub(crate) async fn invoice_doc(conn: &mut SqliteConnection, invoice: &str, cred: &CreditorData) -> Result<(InvoiceDoc, StoredDebit)> {
    type Row = (
        String,
        String,
        Option<String>,
        String,
        String,
        String,
        String,
        String,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
        i64,
        i64,
        String,
        String,
    );
    let r: Row = sqlx::query_as(
        "SELECT number, kind, (SELECT number FROM invoices x WHERE x.id = i.refers_to), month, payer_name, payer_street, payer_postal_code,
                payer_city, mandate_ref, mandate_signed_on, debtor_iban, sequence, collect_cents, total_cents, due_date, issued_at
         FROM invoices i WHERE id = ?",
    )
    .bind(invoice)
    .fetch_one(&mut *conn)
    .await?;
    let children = doc_children(conn, invoice).await?;
    let kind = match (DocKind::from_code(&r.1), r.2.clone()) {
        (DocKind::CreditNote, Some(of)) => InvoiceKind::CreditNote { of },
        (DocKind::Replacement, Some(replaces)) => InvoiceKind::Replacement { replaces },
        _ => InvoiceKind::Invoice,
    };
    let due = parse_date(&r.14);
    let pre = match (&r.8, &r.10) {
        (Some(mref), Some(iban)) if r.12 > 0 => Some(PreNotification {
            creditor_id: cred.creditor_id.clone(),
            mandate_reference: mref.clone(),
            debtor_iban: iban.clone(),
            due_date: due,
            amount_cents: r.12,
        }),
        _ => None,
    };
    let issued = crate::time::parse_ts(&r.15).date_naive();
    let doc = InvoiceDoc {
        sender: cred.sender(),
        recipient: Party { name: r.4.clone(), street: r.5, postal_code: r.6, city: r.7 },
        number: r.0.clone(),
        kind,
        issued_on: issued,
        month: parse_date(&r.3),
        children: children
            .iter()
            .map(|c| InvoiceChild {
                child_name: c.child_name.clone(),
                care: c.care.clone(),
                lines: c.lines.iter().map(FeeLine::from).collect(),
                subtotal_cents: c.fee_cents,
            })
            .collect(),
        total_cents: r.13,
        pre_notification: pre,
        transfer_iban: cred.iban.clone(),
        due_date: due,
    };
    let debit = StoredDebit {
        number: r.0,
        debtor_name: r.4,
        mandate_ref: r.8,
        mandate_signed_on: r.9.as_deref().map(parse_date),
        debtor_iban: r.10,
        first: r.11.as_deref() == Some("first"),
        collect_cents: r.12,
        total_cents: r.13,
        kind: r.1,
        month: parse_date(&r.3),
        due,
        issued,
    };
    Ok((doc, debit))
}

/// The payment facts of a stored document, for the SEPA file and the cashier export.
#[derive(Debug, Clone)]
pub(crate) struct StoredDebit {
    pub number: String,
    pub kind: String,
    pub debtor_name: String,
    pub mandate_ref: Option<String>,
    pub mandate_signed_on: Option<NaiveDate>,
    pub debtor_iban: Option<String>,
    pub first: bool,
    pub collect_cents: i64,
    pub total_cents: i64,
    pub month: NaiveDate,
    pub due: NaiveDate,
    pub issued: NaiveDate,
}

impl Store {
    /// The provider running a facility.
    pub async fn provider_of(&self, facility: FacilityId) -> Result<ProviderId> {
        let r: Option<(String,)> =
            sqlx::query_as("SELECT provider_id FROM facilities WHERE id = ?").bind(facility.to_string()).fetch_optional(&self.pool).await?;
        r.map(|r| crate::rows::uuid(&r.0)).ok_or(StoreError::NotFound { what: "facility", id: facility.to_string() })
    }
}
