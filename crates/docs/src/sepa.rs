//! SEPA direct-debit file (pain.008) for a billing run: pain.008.001.08 (current) and
//! pain.008.001.02 (still accepted by German banks). Validated against the official XSDs in
//! `crates/docs/xsd/` by the tests.

use chrono::{NaiveDate, NaiveDateTime};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pain008Version {
    /// pain.008.001.08
    V08,
    /// pain.008.001.02
    V02,
}

/// FRST for the first collection under a mandate, RCUR afterwards.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sequence {
    First,
    Recurring,
}

/// The provider collecting the fees.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Creditor {
    pub name: String,
    /// Normalised IBAN (no spaces).
    pub iban: String,
    /// Optional since SEPA "IBAN only"; written when present.
    pub bic: Option<String>,
    /// Gläubiger-Identifikationsnummer, e.g. DE98ZZZ09999999999.
    pub creditor_id: String,
}

/// One collection from one debtor under one mandate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirectDebit {
    /// Unique per file; we use the invoice number.
    pub end_to_end_id: String,
    /// Positive.
    pub amount_cents: i64,
    pub mandate_reference: String,
    pub mandate_signed_on: NaiveDate,
    pub sequence: Sequence,
    pub debtor_name: String,
    pub debtor_iban: String,
    pub debtor_bic: Option<String>,
    /// Verwendungszweck, e.g. "Elternbeitrag 11/2026 Rechnung R-2026-000123".
    pub remittance: String,
}

/// A whole pain.008 message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirectDebitFile {
    pub message_id: String,
    /// Creation time, UTC.
    pub created_at: NaiveDateTime,
    pub creditor: Creditor,
    /// Requested collection date (ReqdColltnDt).
    pub collection_date: NaiveDate,
    pub debits: Vec<DirectDebit>,
}

// ---------------------------------------------------------------------------------------------
// The writer.
// ---------------------------------------------------------------------------------------------

use kitakontor_core::person::normalise_iban;
use kitakontor_core::sepa as rules;
use kitakontor_core::DomainError;
use std::collections::HashSet;
use std::fmt::Write as _;
use unicode_normalization::char::is_combining_mark;
use unicode_normalization::UnicodeNormalization;

/// Largest single SEPA direct debit: 999,999,999.99 EUR (EPC rulebook).
pub const MAX_AMOUNT_CENTS: i64 = 99_999_999_999;
/// Max35Text: MsgId, PmtInfId, EndToEndId, MndtId.
pub const MAX_ID_LEN: usize = 35;
/// Names (Nm): the XSD allows 140, the EPC guidelines 70.
pub const MAX_NAME_LEN: usize = 70;
/// Unstructured remittance information (Ustrd), Max140Text.
pub const MAX_REMITTANCE_LEN: usize = 140;

/// Why a pain.008 file could not be written. Each variant names the debit (by end-to-end ID) or
/// party it is about.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SepaFileError {
    #[error("the direct-debit file contains no debits")]
    Empty,
    #[error("{field} {value:?} is {len} characters long, at most {max} are allowed")]
    IdTooLong { field: &'static str, value: String, len: usize, max: usize },
    #[error("{field} {value:?} is invalid: {reason}")]
    InvalidId { field: &'static str, value: String, reason: String },
    #[error("the end-to-end ID {0:?} occurs more than once in the file")]
    DuplicateEndToEndId(String),
    #[error("debit {end_to_end_id}: the amount must be positive, got {amount_cents} cents")]
    NonPositiveAmount { end_to_end_id: String, amount_cents: i64 },
    #[error("debit {end_to_end_id}: {amount_cents} cents is more than the SEPA maximum of 999,999,999.99 EUR")]
    AmountTooLarge { end_to_end_id: String, amount_cents: i64 },
    #[error("the sum of all debits is too large for one file")]
    TotalTooLarge,
    #[error("IBAN of the {whose}: {reason}")]
    InvalidIban { whose: String, reason: String },
    #[error("BIC of the {whose}: {reason}")]
    InvalidBic { whose: String, reason: String },
    #[error("creditor ID: {reason}")]
    InvalidCreditorId { reason: String },
    #[error("debit {end_to_end_id}: mandate reference: {reason}")]
    InvalidMandateReference { end_to_end_id: String, reason: String },
    #[error("debit {end_to_end_id}: the mandate was signed on {signed_on}, after the collection date {collection_date}")]
    MandateSignedAfterCollection { end_to_end_id: String, signed_on: NaiveDate, collection_date: NaiveDate },
    #[error("name of the {whose} is empty or has no characters of the SEPA character set")]
    MissingName { whose: String },
}

impl Pain008Version {
    /// "pain.008.001.08" / "pain.008.001.02".
    pub fn message_name(self) -> &'static str {
        match self {
            Self::V08 => "pain.008.001.08",
            Self::V02 => "pain.008.001.02",
        }
    }

    /// The XML namespace of the document.
    pub fn namespace(self) -> &'static str {
        match self {
            Self::V08 => "urn:iso:std:iso:20022:tech:xsd:pain.008.001.08",
            Self::V02 => "urn:iso:std:iso:20022:tech:xsd:pain.008.001.02",
        }
    }

    /// The element holding a BIC in FinInstnId: `BICFI` since version .03, `BIC` in .02.
    fn bic_element(self) -> &'static str {
        match self {
            Self::V08 => "BICFI",
            Self::V02 => "BIC",
        }
    }
}

impl Sequence {
    /// The ISO 20022 SeqTp code.
    pub fn code(self) -> &'static str {
        match self {
            Self::First => "FRST",
            Self::Recurring => "RCUR",
        }
    }
}

impl From<rules::Sequence> for Sequence {
    fn from(s: rules::Sequence) -> Self {
        match s {
            rules::Sequence::First => Self::First,
            rules::Sequence::Recurring => Self::Recurring,
        }
    }
}

/// Converts free text (names, remittance information) to the SEPA basic Latin character set
/// (a–z A–Z 0–9 / - ? : ( ) . , ' + space):
///
/// - German letters are spelt out: ä→ae, ö→oe, ü→ue, ß→ss; Ä→Ae, or AE inside an uppercase word
///   ("MÜLLER" → "MUELLER"); likewise æ→ae, œ→oe, ø→oe, þ→th;
/// - other accented letters lose their accents (é→e, č→c, å→a, ñ→n; Unicode NFKD), and
///   letters without a decomposition are mapped by hand (ł→l, đ/ð→d, ı→i);
/// - punctuation gets its nearest allowed neighbour: & → +, quotes → ', dashes and _ → -,
///   ; → ",", ! → ".", brackets → ( ), \ and | → /, € → EUR, @ → (at), # → Nr., % → Prozent;
/// - anything else becomes a space; runs of whitespace collapse to one space; the result is
///   trimmed.
///
/// Text in a script without Latin letters (e.g. 李) therefore comes out empty.
pub fn sepa_text(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::with_capacity(s.len());
    for (i, &c) in chars.iter().enumerate() {
        if rules::is_sepa_char(c) {
            out.push(c);
            continue;
        }
        // Uppercase context: "MÜLLER" → "MUELLER", but "Müller"/"Ü." → "Ue".
        let next = chars.get(i + 1).copied();
        let prev = if i > 0 { Some(chars[i - 1]) } else { None };
        let upper_word =
            next.is_some_and(|n| n.is_uppercase()) || (!next.is_some_and(|n| n.is_alphabetic()) && prev.is_some_and(|p| p.is_uppercase()));
        let spelt = |mixed: &'static str, upper: &'static str| if upper_word { upper } else { mixed };
        let replacement: Option<&str> = match c {
            'ä' | 'æ' => Some("ae"),
            'ö' | 'ø' | 'œ' => Some("oe"),
            'ü' => Some("ue"),
            'ß' => Some("ss"),
            'Ä' | 'Æ' => Some(spelt("Ae", "AE")),
            'Ö' | 'Ø' | 'Œ' => Some(spelt("Oe", "OE")),
            'Ü' => Some(spelt("Ue", "UE")),
            'ẞ' => Some("SS"),
            'þ' => Some("th"),
            'Þ' => Some(spelt("Th", "TH")),
            'ł' => Some("l"),
            'Ł' => Some("L"),
            'đ' | 'ð' => Some("d"),
            'Đ' | 'Ð' => Some("D"),
            'ı' => Some("i"),
            'ħ' => Some("h"),
            'Ħ' => Some("H"),
            'ŧ' => Some("t"),
            'Ŧ' => Some("T"),
            'ŋ' => Some("n"),
            'Ŋ' => Some("N"),
            _ => None,
        };
        if let Some(r) = replacement {
            out.push_str(r);
            continue;
        }
        for x in c.nfkd().filter(|x| !is_combining_mark(*x)) {
            if rules::is_sepa_char(x) {
                out.push(x);
            } else {
                out.push_str(punctuation(x));
            }
        }
    }
    // Collapse whitespace.
    out.split(' ').filter(|w| !w.is_empty()).collect::<Vec<_>>().join(" ")
}

fn punctuation(c: char) -> &'static str {
    match c {
        '&' => "+",
        '"' | '`' | '´' | '‘' | '’' | '‚' | '‛' | '“' | '”' | '„' | '‟' | '«' | '»' | '‹' | '›' => "'",
        '_' | '~' | '‐' | '‑' | '‒' | '–' | '—' | '―' | '−' | '⁄' => "-",
        ';' => ",",
        '!' | '·' | '•' => ".",
        '[' | '{' | '<' => "(",
        ']' | '}' | '>' => ")",
        '\\' | '|' => "/",
        '€' => " EUR ",
        '@' => "(at)",
        '#' => "Nr.",
        '%' => " Prozent",
        _ => " ",
    }
}

/// Cuts ASCII text (as [`sepa_text`] returns) to `max` characters and trims the end.
fn cut(mut s: String, max: usize) -> String {
    debug_assert!(s.is_ascii());
    s.truncate(max);
    s.truncate(s.trim_end().len());
    s
}

/// "123.45" from 12345 cents; `cents` is non-negative.
fn amount(cents: i128) -> String {
    format!("{}.{:02}", cents / 100, cents % 100)
}

fn reason_of(e: DomainError) -> String {
    match e {
        DomainError::InvalidField { reason, .. } => reason,
        other => other.to_string(),
    }
}

/// Checks an identifier (MsgId, EndToEndId): 1–35 characters of the SEPA character set, not
/// starting with "/" and without "//" (EPC rules for references). Identifiers are never
/// transliterated or cut: a changed ID would no longer match the invoice.
fn check_id(field: &'static str, value: &str) -> Result<(), SepaFileError> {
    let invalid = |reason: String| SepaFileError::InvalidId { field, value: value.to_string(), reason };
    if value.is_empty() {
        return Err(invalid("is empty".into()));
    }
    if let Some(c) = value.chars().find(|c| !rules::is_sepa_char(*c)) {
        return Err(invalid(format!("character '{c}' is not allowed")));
    }
    if value.len() > MAX_ID_LEN {
        return Err(SepaFileError::IdTooLong { field, value: value.to_string(), len: value.len(), max: MAX_ID_LEN });
    }
    if value.starts_with('/') || value.contains("//") {
        return Err(invalid("must not start with '/' or contain '//'".into()));
    }
    Ok(())
}

fn check_bic(bic: &Option<String>, version: Pain008Version, whose: &str) -> Result<Option<String>, SepaFileError> {
    let Some(raw) = bic else { return Ok(None) };
    let bic = rules::validate_bic(raw).map_err(|e| SepaFileError::InvalidBic { whose: whose.to_string(), reason: reason_of(e) })?;
    if version == Pain008Version::V02 {
        // BICIdentifier of .02: [A-Z]{6}[A-Z2-9][A-NP-Z0-9]([A-Z0-9]{3})? — the location code
        // must not start with 0 or 1 nor end in O (ISO 9362 before 2014).
        let loc: Vec<char> = bic[6..8].chars().collect();
        if matches!(loc[0], '0' | '1') || loc[1] == 'O' {
            return Err(SepaFileError::InvalidBic {
                whose: whose.to_string(),
                reason: format!("location code {}{} is not accepted in pain.008.001.02 (use pain.008.001.08)", loc[0], loc[1]),
            });
        }
    }
    Ok(Some(bic))
}

/// One debit, checked and converted, ready to write.
struct Tx<'a> {
    debit: &'a DirectDebit,
    mandate_reference: String,
    debtor_name: String,
    debtor_iban: String,
    debtor_bic: Option<String>,
    remittance: String,
}

/// Minimal indenting XML writer; callers pass escaped-safe element names.
struct Xml {
    out: String,
    depth: usize,
}

impl Xml {
    fn indent(&mut self) {
        for _ in 0..self.depth {
            self.out.push_str("  ");
        }
    }
    fn open(&mut self, tag: &str) {
        self.indent();
        let _ = writeln!(self.out, "<{tag}>");
        self.depth += 1;
    }
    fn close(&mut self, tag: &str) {
        self.depth -= 1;
        self.indent();
        let _ = writeln!(self.out, "</{tag}>");
    }
    fn leaf(&mut self, tag: &str, text: &str) {
        self.indent();
        let _ = writeln!(self.out, "<{tag}>{}</{tag}>", crate::xml::escape(text));
    }
    fn leaf_attr(&mut self, tag: &str, attr: &str, value: &str, text: &str) {
        self.indent();
        let _ = writeln!(self.out, "<{tag} {attr}=\"{}\">{}</{tag}>", crate::xml::escape(value), crate::xml::escape(text));
    }
    /// `<FinInstnId>` with the BIC, or `Othr/Id NOTPROVIDED` without one.
    fn agent(&mut self, tag: &str, bic: Option<&str>, version: Pain008Version) {
        self.open(tag);
        self.open("FinInstnId");
        match bic {
            Some(bic) => self.leaf(version.bic_element(), bic),
            None => {
                self.open("Othr");
                self.leaf("Id", "NOTPROVIDED");
                self.close("Othr");
            }
        }
        self.close("FinInstnId");
        self.close(tag);
    }
    fn iban_account(&mut self, tag: &str, iban: &str) {
        self.open(tag);
        self.open("Id");
        self.leaf("IBAN", iban);
        self.close("Id");
        self.close(tag);
    }
}

/// Writes a SEPA core direct-debit initiation (pain.008) for `file`.
///
/// Layout: one group header, then one payment information block per sequence type present
/// (FRST first, then RCUR; PmtInfId = MsgId + "-FRST"/"-RCUR", MsgId cut to 30 characters for
/// it), each with batch booking, SEPA/CORE, charges SLEV and the creditor scheme ID. Debits keep
/// their order within a block.
///
/// Everything is checked before anything is written: IDs (1–35 SEPA characters, no
/// transliteration — an ID must match the invoice), IBANs, BICs (for .02 also the stricter
/// pre-2014 location-code rule of its schema), creditor ID, mandate references, amounts
/// (1 cent to 999,999,999.99 EUR) and unique end-to-end IDs. Names and remittance text are
/// converted with [`sepa_text`] and cut to 70 and 140 characters. CreDtTm is written in UTC
/// with a "Z".
pub fn pain008(file: &DirectDebitFile, version: Pain008Version) -> Result<String, SepaFileError> {
    if file.debits.is_empty() {
        return Err(SepaFileError::Empty);
    }
    check_id("message ID", &file.message_id)?;
    let creditor = &file.creditor;
    let creditor_name = cut(sepa_text(&creditor.name), MAX_NAME_LEN);
    if creditor_name.is_empty() {
        return Err(SepaFileError::MissingName { whose: "creditor".into() });
    }
    let creditor_iban =
        normalise_iban(&creditor.iban).map_err(|e| SepaFileError::InvalidIban { whose: "creditor".into(), reason: reason_of(e) })?;
    let creditor_bic = check_bic(&creditor.bic, version, "creditor")?;
    let creditor_id =
        rules::validate_creditor_id(&creditor.creditor_id).map_err(|e| SepaFileError::InvalidCreditorId { reason: reason_of(e) })?;

    let mut seen = HashSet::new();
    let mut txs = Vec::with_capacity(file.debits.len());
    let mut total: i128 = 0;
    for debit in &file.debits {
        let e2e = &debit.end_to_end_id;
        check_id("end-to-end ID", e2e)?;
        if !seen.insert(e2e.as_str()) {
            return Err(SepaFileError::DuplicateEndToEndId(e2e.clone()));
        }
        if debit.amount_cents <= 0 {
            return Err(SepaFileError::NonPositiveAmount { end_to_end_id: e2e.clone(), amount_cents: debit.amount_cents });
        }
        if debit.amount_cents > MAX_AMOUNT_CENTS {
            return Err(SepaFileError::AmountTooLarge { end_to_end_id: e2e.clone(), amount_cents: debit.amount_cents });
        }
        total += i128::from(debit.amount_cents);
        let mandate_reference = rules::validate_mandate_reference(&debit.mandate_reference)
            .map_err(|e| SepaFileError::InvalidMandateReference { end_to_end_id: e2e.clone(), reason: reason_of(e) })?;
        if debit.mandate_signed_on > file.collection_date {
            return Err(SepaFileError::MandateSignedAfterCollection {
                end_to_end_id: e2e.clone(),
                signed_on: debit.mandate_signed_on,
                collection_date: file.collection_date,
            });
        }
        let whose = format!("debtor of debit {e2e}");
        let debtor_name = cut(sepa_text(&debit.debtor_name), MAX_NAME_LEN);
        if debtor_name.is_empty() {
            return Err(SepaFileError::MissingName { whose });
        }
        let debtor_iban =
            normalise_iban(&debit.debtor_iban).map_err(|e| SepaFileError::InvalidIban { whose: whose.clone(), reason: reason_of(e) })?;
        let debtor_bic = check_bic(&debit.debtor_bic, version, &whose)?;
        let remittance = cut(sepa_text(&debit.remittance), MAX_REMITTANCE_LEN);
        txs.push(Tx { debit, mandate_reference, debtor_name, debtor_iban, debtor_bic, remittance });
    }
    // CtrlSum is a decimal with at most 18 digits.
    if total >= 10i128.pow(18) {
        return Err(SepaFileError::TotalTooLarge);
    }

    let mut x = Xml { out: String::new(), depth: 0 };
    x.out.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(x.out, "<Document xmlns=\"{}\">", version.namespace());
    x.depth = 1;
    x.open("CstmrDrctDbtInitn");

    x.open("GrpHdr");
    x.leaf("MsgId", &file.message_id);
    x.leaf("CreDtTm", &file.created_at.format("%Y-%m-%dT%H:%M:%SZ").to_string());
    x.leaf("NbOfTxs", &txs.len().to_string());
    x.leaf("CtrlSum", &amount(total));
    x.open("InitgPty");
    x.leaf("Nm", &creditor_name);
    x.close("InitgPty");
    x.close("GrpHdr");

    let msg_prefix: String = file.message_id.chars().take(MAX_ID_LEN - 5).collect();
    for sequence in [Sequence::First, Sequence::Recurring] {
        let block: Vec<&Tx> = txs.iter().filter(|t| t.debit.sequence == sequence).collect();
        if block.is_empty() {
            continue;
        }
        let block_sum: i128 = block.iter().map(|t| i128::from(t.debit.amount_cents)).sum();
        x.open("PmtInf");
        x.leaf("PmtInfId", &format!("{msg_prefix}-{}", sequence.code()));
        x.leaf("PmtMtd", "DD");
        x.leaf("BtchBookg", "true");
        x.leaf("NbOfTxs", &block.len().to_string());
        x.leaf("CtrlSum", &amount(block_sum));
        x.open("PmtTpInf");
        x.open("SvcLvl");
        x.leaf("Cd", "SEPA");
        x.close("SvcLvl");
        x.open("LclInstrm");
        x.leaf("Cd", "CORE");
        x.close("LclInstrm");
        x.leaf("SeqTp", sequence.code());
        x.close("PmtTpInf");
        x.leaf("ReqdColltnDt", &file.collection_date.format("%Y-%m-%d").to_string());
        x.open("Cdtr");
        x.leaf("Nm", &creditor_name);
        x.close("Cdtr");
        x.iban_account("CdtrAcct", &creditor_iban);
        x.agent("CdtrAgt", creditor_bic.as_deref(), version);
        x.leaf("ChrgBr", "SLEV");
        x.open("CdtrSchmeId");
        x.open("Id");
        x.open("PrvtId");
        x.open("Othr");
        x.leaf("Id", &creditor_id);
        x.open("SchmeNm");
        x.leaf("Prtry", "SEPA");
        x.close("SchmeNm");
        x.close("Othr");
        x.close("PrvtId");
        x.close("Id");
        x.close("CdtrSchmeId");
        for t in block {
            x.open("DrctDbtTxInf");
            x.open("PmtId");
            x.leaf("EndToEndId", &t.debit.end_to_end_id);
            x.close("PmtId");
            x.leaf_attr("InstdAmt", "Ccy", "EUR", &amount(i128::from(t.debit.amount_cents)));
            x.open("DrctDbtTx");
            x.open("MndtRltdInf");
            x.leaf("MndtId", &t.mandate_reference);
            x.leaf("DtOfSgntr", &t.debit.mandate_signed_on.format("%Y-%m-%d").to_string());
            x.close("MndtRltdInf");
            x.close("DrctDbtTx");
            x.agent("DbtrAgt", t.debtor_bic.as_deref(), version);
            x.open("Dbtr");
            x.leaf("Nm", &t.debtor_name);
            x.close("Dbtr");
            x.iban_account("DbtrAcct", &t.debtor_iban);
            if !t.remittance.is_empty() {
                x.open("RmtInf");
                x.leaf("Ustrd", &t.remittance);
                x.close("RmtInf");
            }
            x.close("DrctDbtTxInf");
        }
        x.close("PmtInf");
    }

    x.close("CstmrDrctDbtInitn");
    x.out.push_str("</Document>\n");
    Ok(x.out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transliteration() {
        assert_eq!(sepa_text("Zoë Müller-Lüdenscheidt"), "Zoe Mueller-Luedenscheidt");
        assert_eq!(sepa_text("Ärger Öl Übel Straße"), "Aerger Oel Uebel Strasse");
        assert_eq!(sepa_text("MÜLLER ÄRGER GROẞ Ü."), "MUELLER AERGER GROSS Ue.");
        assert_eq!(sepa_text("Müller & Söhne"), "Mueller + Soehne");
        assert_eq!(sepa_text("José Łukasz Dvořák Øster Ærø Håkon"), "Jose Lukasz Dvorak Oester Aeroe Hakon");
        assert_eq!(sepa_text("„Sonnenschein“ – Kita; 50% @ #3 [A] €"), "'Sonnenschein' - Kita, 50 Prozent (at) Nr.3 (A) EUR");
        assert_eq!(sepa_text("  a\t\nb\u{a0}c  "), "a b c");
        assert_eq!(sepa_text("李"), "");
        assert_eq!(sepa_text("ﬁne"), "fine");
        let s = sepa_text("äöüß ÄÖÜ éèêçñ “”‘’ –—…«» ¿¡ 😀");
        assert!(s.chars().all(rules::is_sepa_char), "{s}");
    }

    #[test]
    fn cut_and_escape() {
        assert_eq!(cut("abc def".into(), 4), "abc");
        assert_eq!(crate::xml::escape("O'Neil <&>\""), "O&apos;Neil &lt;&amp;&gt;&quot;");
        assert_eq!(amount(1), "0.01");
        assert_eq!(amount(12345), "123.45");
        assert_eq!(amount(99_999_999_999), "999999999.99");
    }
}
