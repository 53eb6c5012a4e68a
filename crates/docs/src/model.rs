//! The data each document is made from. Amounts are cents (i64, signed where a line can be a
//! reduction or a credit); dates are calendar dates; text is final German text.

use chrono::NaiveDate;

/// A postal party: a person or an organisation with its address lines.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Party {
    pub name: String,
    pub street: String,
    pub postal_code: String,
    pub city: String,
}

/// Sender block of every letter: the provider (Träger) and the facility (Einrichtung).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Sender {
    /// The provider, the legal party of contracts and notices.
    pub provider: Party,
    /// The facility the child attends.
    pub facility: Party,
    /// Contact line shown under the sender, e.g. "Telefon 0341 123456 · kita@example.org".
    pub contact: String,
}

/// One line of a fee computation, as the fee engine explains it: "Elternbeitrag Krippe 9,0 h",
/// "Geschwisterermäßigung 2. Kind (60 %)", "anteilig 1.–14.11. (14 von 30 Tagen)".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeeLine {
    pub label: String,
    /// Optional second column: the basis of the line, e.g. "1.389,45 € × 19,89 %".
    pub detail: String,
    /// Signed: reductions are negative.
    pub amount_cents: i64,
}

/// Betreuungsvertrag (BRIEF §5, contract contents).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContractDoc {
    pub sender: Sender,
    /// Our contract reference (printed in the header and footer).
    pub contract_ref: String,
    /// The hub's application number, if the place came through the city's system.
    pub application_number: Option<String>,
    /// One or two guardians (Sorgeberechtigte).
    pub guardians: Vec<Party>,
    pub child_name: String,
    pub child_birth_date: NaiveDate,
    /// "Krippe", "Kindergarten", "Hort".
    pub care_type: String,
    /// Contracted hours per day in tenths (90 = 9,0 h).
    pub care_tenths: u16,
    pub start_date: NaiveDate,
    /// None: open-ended.
    pub end_date: Option<NaiveDate>,
    /// Settling-in (Eingewöhnung) weeks; the fee starts with it.
    pub settling_in_weeks: u8,
    /// Monthly fee at the start and how it was computed.
    pub fee_lines: Vec<FeeLine>,
    pub monthly_fee_cents: i64,
    /// e.g. "zum 5. Werktag des Monats".
    pub fee_due: String,
    /// e.g. "SEPA-Lastschrift, Mandatsreferenz KK-0001-01" or "Überweisung".
    pub payment_method: String,
    /// Notice period text, e.g. "zwei Monate zum Monatsende".
    pub notice_period: String,
    /// Date of the measles protection proof; None: still to be presented before admission.
    pub measles_proof: Option<NaiveDate>,
    /// Persons allowed to pick up the child besides the guardians ("Name (Beziehung)").
    pub pickup_persons: Vec<String>,
    /// Meals arrangement text.
    pub meals: String,
    /// Amendments and termination so far, one line each ("Änderung ab 01.02.2027: 6,0 h").
    pub versions: Vec<String>,
    /// Place and date line above the signatures.
    pub place: String,
    pub issued_on: NaiveDate,
}

/// Kostenbescheid: the fee of one child from a month on, computed line by line, with the legal
/// remedy note (Rechtsbehelfsbelehrung).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeeNoticeDoc {
    pub sender: Sender,
    /// The addressees (guardians).
    pub recipients: Vec<Party>,
    pub reference: String,
    pub issued_on: NaiveDate,
    pub child_name: String,
    pub child_birth_date: NaiveDate,
    pub care_type: String,
    pub care_tenths: u16,
    /// First month the fee applies to.
    pub valid_from: NaiveDate,
    /// "Elternbeitragssatzung Leipzig, Fassung 2014-08 (gültig ab 01.08.2014)".
    pub rule_set: String,
    pub lines: Vec<FeeLine>,
    pub monthly_fee_cents: i64,
    pub fee_due: String,
    pub payment_method: String,
    /// Where an objection (Widerspruch) is lodged; usually the provider.
    pub remedy_authority: Party,
}

/// What an invoice is (Rechnung, Gutschrift, Ersatzrechnung). A sent invoice is never edited:
/// a correction is a credit note for it and, if needed, a replacement invoice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InvoiceKind {
    Invoice,
    /// Cancels `of` in full (amounts are negative).
    CreditNote {
        of: String,
    },
    /// Replaces the invoice `replaces` (which got a credit note).
    Replacement {
        replaces: String,
    },
}

/// One child's part of a family invoice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvoiceChild {
    pub child_name: String,
    /// "Krippe, 9,0 h täglich".
    pub care: String,
    pub lines: Vec<FeeLine>,
    pub subtotal_cents: i64,
}

/// SEPA pre-notification (Vorabankündigung) printed on the invoice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreNotification {
    pub creditor_id: String,
    pub mandate_reference: String,
    /// IBAN of the debtor, printed masked except the last 4 digits ("DE89 •••• •••• •••• •••• 3000")
    /// by the renderer; given here in full, normalised.
    pub debtor_iban: String,
    pub due_date: NaiveDate,
    pub amount_cents: i64,
}

/// The monthly fee statement / invoice of one family (all its children in this facility).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvoiceDoc {
    pub sender: Sender,
    pub recipient: Party,
    pub number: String,
    pub kind: InvoiceKind,
    pub issued_on: NaiveDate,
    /// First day of the billed month.
    pub month: NaiveDate,
    pub children: Vec<InvoiceChild>,
    pub total_cents: i64,
    /// Some: paid by direct debit; None: by transfer to `transfer_iban` with the number as reference.
    pub pre_notification: Option<PreNotification>,
    pub transfer_iban: String,
    pub due_date: NaiveDate,
}

/// One row of the reimbursement claim (Erstattungsantrag, SächsKitaG §15 Abs. 5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimRow {
    pub child_name: String,
    pub child_birth_date: NaiveDate,
    /// First day of the month the reduction applies to.
    pub month: NaiveDate,
    /// "Geschwisterermäßigung 2. Kind", "Alleinerziehend 1. Kind".
    pub reduction: String,
    /// Fee before reductions.
    pub full_fee_cents: i64,
    /// The reduction amount claimed (positive).
    pub reduction_cents: i64,
}

/// The list of reductions a provider claims from the youth office for a period.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimListDoc {
    pub sender: Sender,
    /// The youth office (Jugendamt).
    pub recipient: Party,
    pub reference: String,
    pub issued_on: NaiveDate,
    /// First and last month claimed (first days of months).
    pub from_month: NaiveDate,
    pub to_month: NaiveDate,
    pub rows: Vec<ClaimRow>,
    pub total_cents: i64,
}

impl From<&kitakontor_core::fee::FeeLine> for FeeLine {
    fn from(l: &kitakontor_core::fee::FeeLine) -> Self {
        FeeLine { label: l.label.clone(), detail: l.detail.clone(), amount_cents: l.amount_cents }
    }
}
