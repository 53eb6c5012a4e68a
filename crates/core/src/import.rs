//! Import of an old waiting list from a CSV export (Excel, older office software).
//!
//! Pure: takes the file's bytes, "today" and a resolver of facility names, and returns a
//! preview — every data row either accepted with typed values or rejected with German
//! reasons. The store turns the accepted rows into commands, all in one transaction.
//!
//! Rules (also in `docs/csv-import.md`, keep both in step):
//! - Encoding: UTF-8 with or without BOM; bytes that are not valid UTF-8 are read as
//!   Windows-1252 (what German Excel writes for "CSV (Trennzeichen-getrennt)"; it is a superset
//!   of ISO-8859-1's printable characters). UTF-16 and spreadsheet files are refused by name.
//! - Delimiter: `;` or `,`, whichever occurs more often outside quotes in the header line
//!   (`;` wins a tie, as German Excel writes it), or as named by Excel's hint line `sep=;`.
//!   Quoting as RFC 4180 (`"a;b"`, `""` inside); a quote left open is a whole-file error,
//!   because it would silently swallow every following row into one value.
//! - Formula injection: a cell of an imported column is refused if it starts with TAB or CR, or
//!   if its first non-blank character is `=`, `+`, `-` or `@` (or their full-width forms).
//!   Blanks count because every value is trimmed before it is stored: " =1+1" would be stored
//!   as "=1+1" and run when a later export is opened in a spreadsheet. Only the *first*
//!   character counts ("Müller-Lüdenscheidt" is fine). The one exception is `Telefon`: a
//!   leading `+` is allowed if the rest consists only of digits, blanks and `/ - ( ) .`
//!   ("+49 341 1234567"); "+cmd" stays refused. Columns the import ignores are not checked:
//!   their contents are never stored.

use crate::application::{validate_choices, MAX_CHOICES};
use crate::care::{CareHours, CareType};
use crate::ids::FacilityId;
use crate::person::{validate_birth_date, validate_name, Address};
use chrono::{Datelike, NaiveDate};
use serde::Serialize;
use std::borrow::Cow;
use std::collections::HashMap;
use thiserror::Error;

/// Largest accepted file. An export of 20,000 rows is about 4 MB; more is not a waiting list.
pub const MAX_BYTES: usize = 10 * 1024 * 1024;
/// Most data rows per file (the header and empty lines do not count).
pub const MAX_ROWS: usize = 20_000;
/// Most columns in the header; bounds the memory a hostile file can make us allocate.
pub const MAX_COLUMNS: usize = 200;
/// Longest free-text value (street, e-mail, …); names have their own limit of 100.
pub const MAX_TEXT: usize = 200;
/// How much of a bad value a reason quotes back.
const ECHO_CHARS: usize = 40;

/// What the office sees before it confirms the import.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ImportPreview {
    /// The encoding the file was read with, e.g. "UTF-8" or "Windows-1252".
    pub encoding: String,
    pub accepted: Vec<ImportRow>,
    pub rejected: Vec<RejectedRow>,
}

/// A data row that passed every check, with typed values (trimmed).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ImportRow {
    /// Line in the file where the row starts (the header is line 1).
    pub line: usize,
    pub first_name: String,
    pub last_name: String,
    pub birth_date: NaiveDate,
    pub address: Address,
    /// Wohngemeinde.
    pub municipality: String,
    pub care_type: CareType,
    pub care_hours: CareHours,
    pub wanted_start: NaiveDate,
    /// Ranked facility choices, most wanted first (1–5, no repeats).
    pub choices: Vec<FacilityId>,
    pub guardian: Option<ImportGuardian>,
    pub measles_proof: Option<NaiveDate>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ImportGuardian {
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub phone: String,
    pub single_parent: bool,
}

/// A data row that will not be imported, with every reason found (German, "Zeile N: …").
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct RejectedRow {
    pub line: usize,
    pub reasons: Vec<String>,
}

/// The file as a whole cannot be imported. Messages are German: they go to the office as is.
#[derive(Debug, Clone, PartialEq, Eq, Error, Serialize)]
#[serde(tag = "code", rename_all = "snake_case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum ImportError {
    #[error("Die Datei ist {} groß; erlaubt sind höchstens 10 MB.", megabytes(*bytes))]
    TooLarge { bytes: usize },
    #[error("Die Datei hat mehr als 20.000 Datenzeilen. Bitte in mehrere Dateien aufteilen.")]
    TooManyRows,
    #[error("Die Datei ist leer: keine Kopfzeile gefunden.")]
    Empty,
    #[error("Die Datei ist keine CSV-Textdatei, sondern {found}. Bitte in Excel „Speichern unter“ → „CSV UTF-8 (durch Trennzeichen getrennt)“ wählen.")]
    NotCsv { found: String },
    #[error("Die Datei beginnt mit einer UTF-8-Kennung (BOM), enthält aber in Zeile {line} Bytes, die kein UTF-8 sind. Die Datei ist vermutlich beschädigt.")]
    InvalidUtf8 { line: usize },
    #[error("In der Kopfzeile fehlen Pflichtspalten: {}. Nötig sind: {}.", missing.join(", "), required_columns().join(", "))]
    MissingColumns { missing: Vec<String> },
    #[error("Die Spalte „{name}“ steht zweimal in der Kopfzeile; es ist nicht klar, welche gilt.")]
    DuplicateColumn { name: String },
    #[error("Die Kopfzeile hat mehr als 200 Spalten; das ist keine Warteliste.")]
    TooManyColumns,
    #[error(
        "Zeile {line}: ein Anführungszeichen wird nicht geschlossen. Die Datei ist vermutlich beschädigt; es wurde nichts übernommen."
    )]
    UnclosedQuote { line: usize },
    /// Raised by the store when a command of an accepted row fails during the import's one
    /// transaction (everything is rolled back). `reason` is the store's message.
    #[error("Zeile {line}: Import abgebrochen, es wurde nichts gespeichert ({reason}).")]
    RowFailed { line: usize, reason: String },
}

fn megabytes(bytes: usize) -> String {
    format!("{:.1} MB", bytes as f64 / (1024.0 * 1024.0)).replace('.', ",")
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Col {
    FirstName,
    LastName,
    BirthDate,
    Street,
    PostalCode,
    City,
    Municipality,
    CareType,
    Hours,
    WantedStart,
    Facilities,
    GuardianFirst,
    GuardianLast,
    Email,
    Phone,
    SingleParent,
    Measles,
}

/// (column, header as documented, required, further accepted spellings). Headers are matched
/// case-insensitively after trimming and collapsing blanks.
const COLUMNS: &[(Col, &str, bool, &[&str])] = &[
    (Col::FirstName, "Vorname", true, &[]),
    (Col::LastName, "Nachname", true, &[]),
    (Col::BirthDate, "Geburtsdatum", true, &[]),
    (Col::Street, "Straße", false, &["strasse"]),
    (Col::PostalCode, "PLZ", false, &[]),
    (Col::City, "Ort", false, &[]),
    (Col::Municipality, "Wohngemeinde", true, &[]),
    (Col::CareType, "Betreuungsart", true, &[]),
    (Col::Hours, "Stunden", true, &[]),
    (Col::WantedStart, "Wunschtermin", true, &[]),
    (Col::Facilities, "Einrichtungen", true, &[]),
    (Col::GuardianFirst, "Sorgeberechtigte/r Vorname", false, &[]),
    (Col::GuardianLast, "Sorgeberechtigte/r Nachname", false, &[]),
    (Col::Email, "E-Mail", false, &["email"]),
    (Col::Phone, "Telefon", false, &[]),
    (Col::SingleParent, "Alleinerziehend", false, &[]),
    (Col::Measles, "Masernschutz", false, &[]),
];

fn label(col: Col) -> &'static str {
    COLUMNS.iter().find(|c| c.0 == col).map(|c| c.1).unwrap_or("?")
}

/// The documented names of the required columns, in file order.
pub fn required_columns() -> Vec<&'static str> {
    COLUMNS.iter().filter(|c| c.2).map(|c| c.1).collect()
}

/// The documented names of all columns, in file order (for a template file).
pub fn all_columns() -> Vec<&'static str> {
    COLUMNS.iter().map(|c| c.1).collect()
}

fn normalise_header(h: &str) -> String {
    h.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase()
}

/// Parses and checks a waiting-list export. `today` decides which birth and proof dates lie
/// in the future; `facility_by_name` maps a facility name as written in the file to its id
/// (`None` = unknown or ambiguous).
pub fn parse_waiting_list(
    bytes: &[u8],
    today: NaiveDate,
    facility_by_name: &dyn Fn(&str) -> Option<FacilityId>,
) -> Result<ImportPreview, ImportError> {
    if bytes.len() > MAX_BYTES {
        return Err(ImportError::TooLarge { bytes: bytes.len() });
    }
    let (text, encoding) = decode(bytes)?;
    let mut reader = match excel_separator_line(&text) {
        // Excel's own hint line "sep=;" names the delimiter; the header follows on line 2.
        Some((delimiter, skip)) => Reader { src: &text, pos: skip, line: 2, delimiter },
        None => Reader { src: &text, pos: 0, line: 1, delimiter: detect_delimiter(&text) as u8 },
    };

    let header = loop {
        match reader.next_record()? {
            None => return Err(ImportError::Empty),
            Some(r) if r.is_blank() => continue,
            Some(r) => break r,
        }
    };
    if header.count > MAX_COLUMNS {
        return Err(ImportError::TooManyColumns);
    }
    let index = map_header(&header.fields)?;

    let mut accepted = Vec::new();
    let mut rejected = Vec::new();
    // (first, last, birth date) lower-cased → line of the first row with that child.
    let mut seen: HashMap<(String, String, NaiveDate), usize> = HashMap::new();
    let mut rows = 0usize;
    while let Some(record) = reader.next_record()? {
        if record.is_blank() {
            continue;
        }
        rows += 1;
        if rows > MAX_ROWS {
            return Err(ImportError::TooManyRows);
        }
        let mut check = RowCheck { line: record.line, reasons: Vec::new() };
        if record.count != header.count {
            // A shifted row would put values into the wrong columns; refuse it whole.
            check.reason(format!(
                "{} Felder statt {} wie in der Kopfzeile. Steht ein Trennzeichen in einem Wert ohne Anführungszeichen (z. B. 4,5 bei Komma-Trennung)?",
                record.count, header.count
            ));
            rejected.push(RejectedRow { line: record.line, reasons: check.reasons });
            continue;
        }
        let cell = |col: Col| index.get(&col).and_then(|&i| record.fields.get(i)).map(String::as_str).unwrap_or("");
        let (row, key) = check_row(&mut check, &cell, today, facility_by_name);
        if let Some(key) = key {
            if let Some(first) = seen.get(&key) {
                check.reason(format!("doppelt in der Datei, siehe Zeile {first}"));
            } else {
                seen.insert(key, record.line);
            }
        }
        match row {
            Some(row) if check.reasons.is_empty() => accepted.push(row),
            _ => rejected.push(RejectedRow { line: record.line, reasons: check.reasons }),
        }
    }
    Ok(ImportPreview { encoding: encoding.to_string(), accepted, rejected })
}

fn map_header(fields: &[String]) -> Result<HashMap<Col, usize>, ImportError> {
    let mut index = HashMap::new();
    for (i, h) in fields.iter().enumerate() {
        let h = normalise_header(h);
        let found = COLUMNS.iter().find(|(_, name, _, aliases)| name.to_lowercase() == h || aliases.contains(&h.as_str()));
        // Unknown columns (a "Bemerkung" of the old list) are ignored, not an error.
        if let Some((col, name, _, _)) = found {
            if index.insert(*col, i).is_some() {
                return Err(ImportError::DuplicateColumn { name: name.to_string() });
            }
        }
    }
    let missing: Vec<String> = COLUMNS.iter().filter(|c| c.2 && !index.contains_key(&c.0)).map(|c| c.1.to_string()).collect();
    if !missing.is_empty() {
        return Err(ImportError::MissingColumns { missing });
    }
    Ok(index)
}

// ---------------------------------------------------------------------------------------
// One row

struct RowCheck {
    line: usize,
    reasons: Vec<String>,
}

impl RowCheck {
    fn reason(&mut self, text: String) {
        self.reasons.push(format!("Zeile {}: {text}", self.line));
    }

    /// The trimmed value of a cell, or `None` (with a reason) if it must not be used.
    fn text<'a>(&mut self, col: Col, raw: &'a str) -> Option<&'a str> {
        if is_formula(col, raw) {
            // The value is not quoted back: the reason list may itself end up in a spreadsheet.
            self.reason(format!("{}: möglicher Formel-Code (Formel-Injektion)", label(col)));
            return None;
        }
        let v = raw.trim();
        if v.chars().any(char::is_control) {
            self.reason(format!("{} enthält Steuerzeichen (z. B. einen Zeilenumbruch)", label(col)));
            return None;
        }
        if v.chars().count() > MAX_TEXT {
            self.reason(format!("{} ist zu lang (höchstens {MAX_TEXT} Zeichen)", label(col)));
            return None;
        }
        Some(v)
    }

    fn required<'a>(&mut self, col: Col, raw: &'a str) -> Option<&'a str> {
        match self.text(col, raw)? {
            "" => {
                self.reason(format!("{} fehlt", label(col)));
                None
            }
            v => Some(v),
        }
    }

    fn name(&mut self, col: Col, raw: &str) -> Option<String> {
        let v = self.required(col, raw)?;
        if validate_name("name", v).is_err() {
            self.reason(format!("{} ist zu lang (höchstens 100 Zeichen)", label(col)));
            return None;
        }
        Some(v.to_string())
    }

    fn date(&mut self, col: Col, v: &str) -> Option<NaiveDate> {
        let d = parse_date(v);
        if d.is_none() {
            self.reason(format!("{} '{}' ist kein gültiges Datum (TT.MM.JJJJ oder JJJJ-MM-TT)", label(col), echo(v)));
        }
        d
    }
}

type Key = (String, String, NaiveDate);

/// Checks one row. Returns the typed row if every cell is fine (the caller still looks at
/// `check.reasons`), and the duplicate key whenever names and birth date are readable, so a
/// repeated child is found even if one of its rows has other faults too.
fn check_row<'r>(
    check: &mut RowCheck,
    cell: &dyn Fn(Col) -> &'r str,
    today: NaiveDate,
    facility_by_name: &dyn Fn(&str) -> Option<FacilityId>,
) -> (Option<ImportRow>, Option<Key>) {
    let first = check.name(Col::FirstName, cell(Col::FirstName));
    let last = check.name(Col::LastName, cell(Col::LastName));
    let birth = check.required(Col::BirthDate, cell(Col::BirthDate)).and_then(|v| check.date(Col::BirthDate, v));
    let key = match (&first, &last, birth) {
        (Some(f), Some(l), Some(b)) => Some((f.to_lowercase(), l.to_lowercase(), b)),
        _ => None,
    };
    let birth = birth.filter(|&b| {
        let ok = validate_birth_date(b, today).is_ok();
        if !ok {
            let why = if b > today { "liegt in der Zukunft" } else { "liegt mehr als 16 Jahre zurück" };
            check.reason(format!("Geburtsdatum {} {why}", de(b)));
        }
        ok
    });

    let street = check.text(Col::Street, cell(Col::Street));
    let postal_code = check.text(Col::PostalCode, cell(Col::PostalCode)).map(excel_postal_code);
    let city = check.text(Col::City, cell(Col::City));
    let address = match (street, postal_code, city) {
        (Some(s), Some(p), Some(c)) => {
            let a = Address { street: s.to_string(), postal_code: p.clone(), city: c.to_string() };
            if a.validate().is_err() {
                check.reason(format!("PLZ '{}' ist keine 5-stellige Postleitzahl", echo(&p)));
                None
            } else {
                Some(a)
            }
        }
        _ => None,
    };
    let municipality = check.name(Col::Municipality, cell(Col::Municipality));

    let care_type = check.required(Col::CareType, cell(Col::CareType)).and_then(|v| match v.parse::<CareType>() {
        Ok(t) => Some(t),
        Err(_) => {
            check.reason(format!("Betreuungsart '{}' ist unbekannt (Krippe, Kindergarten oder Hort)", echo(v)));
            None
        }
    });
    let care_hours = check.required(Col::Hours, cell(Col::Hours)).and_then(|v| match parse_hours(v) {
        Some(h) => Some(h),
        None => {
            check.reason(format!(
                "Stunden '{}' ist keine gültige Stundenzahl (1 bis 12 pro Tag, höchstens eine Nachkommastelle, z. B. 4,5)",
                echo(v)
            ));
            None
        }
    });
    let wanted_start = check.required(Col::WantedStart, cell(Col::WantedStart)).and_then(|v| check.date(Col::WantedStart, v));
    let choices = check.required(Col::Facilities, cell(Col::Facilities)).and_then(|v| facilities(check, v, facility_by_name));

    let measles_proof = match check.text(Col::Measles, cell(Col::Measles)) {
        Some("") => Some(None),
        Some(v) => match check.date(Col::Measles, v) {
            Some(d) if d > today => {
                check.reason(format!("Masernschutz-Nachweis {} liegt in der Zukunft", de(d)));
                None
            }
            Some(d) => Some(Some(d)),
            None => None,
        },
        None => None,
    };
    let guardian = guardian(check, cell);

    // Every cell was checked above (so all reasons are collected); the row exists only if
    // none of them failed.
    let row = match (first, last, birth, address, municipality, care_type, care_hours, wanted_start, choices, guardian, measles_proof) {
        (
            Some(first_name),
            Some(last_name),
            Some(birth_date),
            Some(address),
            Some(municipality),
            Some(care_type),
            Some(care_hours),
            Some(wanted_start),
            Some(choices),
            Some(guardian),
            Some(measles_proof),
        ) => Some(ImportRow {
            line: check.line,
            first_name,
            last_name,
            birth_date,
            address,
            municipality,
            care_type,
            care_hours,
            wanted_start,
            choices,
            guardian,
            measles_proof,
        }),
        _ => None,
    };
    (row, key)
}

/// `Some(None)` = no guardian given; `None` = given but faulty (reasons recorded).
fn guardian<'r>(check: &mut RowCheck, cell: &dyn Fn(Col) -> &'r str) -> Option<Option<ImportGuardian>> {
    let gf = check.text(Col::GuardianFirst, cell(Col::GuardianFirst));
    let gl = check.text(Col::GuardianLast, cell(Col::GuardianLast));
    let email = check.text(Col::Email, cell(Col::Email));
    let phone = check.text(Col::Phone, cell(Col::Phone));
    let single = check.text(Col::SingleParent, cell(Col::SingleParent)).and_then(|v| match parse_yes_no(v) {
        Some(b) => Some(b),
        None => {
            check.reason(format!("Alleinerziehend '{}' ist weder „ja“ noch „nein“", echo(v)));
            None
        }
    });
    let (gf, gl, email, phone, single) = (gf?, gl?, email?, phone?, single?);
    if gf.is_empty() && gl.is_empty() && email.is_empty() && phone.is_empty() && !single {
        return Some(None);
    }
    // Contact data without a person cannot be stored (a guardian needs a name), and silently
    // dropping it would lose what the office typed.
    let mut ok = true;
    for (col, v) in [(Col::GuardianFirst, gf), (Col::GuardianLast, gl)] {
        if v.is_empty() {
            check.reason(format!("{} fehlt (Kontaktdaten oder „Alleinerziehend“ sind angegeben)", label(col)));
            ok = false;
        } else if validate_name("name", v).is_err() {
            check.reason(format!("{} ist zu lang (höchstens 100 Zeichen)", label(col)));
            ok = false;
        }
    }
    if !email.is_empty() && !plausible_email(email) {
        check.reason(format!("E-Mail '{}' ist keine gültige Adresse", echo(email)));
        ok = false;
    }
    ok.then(|| {
        Some(ImportGuardian {
            first_name: gf.into(),
            last_name: gl.into(),
            email: email.into(),
            phone: phone.into(),
            single_parent: single,
        })
    })
}

fn facilities(check: &mut RowCheck, v: &str, facility_by_name: &dyn Fn(&str) -> Option<FacilityId>) -> Option<Vec<FacilityId>> {
    let names: Vec<&str> = v.split('|').map(str::trim).filter(|n| !n.is_empty()).collect();
    if names.is_empty() {
        check.reason("Einrichtungen fehlt".into());
        return None;
    }
    if names.len() > MAX_CHOICES {
        check.reason(format!("höchstens {MAX_CHOICES} Einrichtungen, angegeben sind {}", names.len()));
        return None;
    }
    let mut ids = Vec::with_capacity(names.len());
    let mut ok = true;
    for name in names {
        match facility_by_name(name) {
            Some(id) if ids.contains(&id) => {
                check.reason(format!("Einrichtung '{}' ist doppelt genannt", echo(name)));
                ok = false;
            }
            Some(id) => ids.push(id),
            None => {
                check.reason(format!("Einrichtung '{}' ist unbekannt (oder nicht eindeutig)", echo(name)));
                ok = false;
            }
        }
    }
    // The domain rule is the last word, in case the checks above and it ever drift apart.
    if ok && validate_choices(&ids).is_err() {
        check.reason("die Einrichtungen verletzen die Regeln für Wunscheinrichtungen (1 bis 5, keine doppelt)".into());
        ok = false;
    }
    ok.then_some(ids)
}

/// See the module documentation for the rule and why blanks are skipped.
fn is_formula(col: Col, raw: &str) -> bool {
    if raw.starts_with(['\t', '\r']) {
        return true;
    }
    let t = raw.trim_start();
    let Some(first) = t.chars().next() else { return false };
    if !matches!(first, '=' | '+' | '-' | '@' | '＝' | '＋' | '－' | '＠') {
        return false;
    }
    // "+49 341 1234567" is how phone numbers are written; it is not a formula as long as
    // nothing but digits and separators follows.
    let phone_like = col == Col::Phone
        && first == '+'
        && t[1..].chars().any(|c| c.is_ascii_digit())
        && t[1..].chars().all(|c| c.is_ascii_digit() || matches!(c, ' ' | '/' | '-' | '(' | ')' | '.'));
    !phone_like
}

fn plausible_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else { return false };
    !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains('@')
        && !s.chars().any(char::is_whitespace)
}

fn parse_yes_no(v: &str) -> Option<bool> {
    match v.to_lowercase().as_str() {
        "" | "nein" | "n" | "falsch" | "0" => Some(false),
        "ja" | "j" | "wahr" | "x" | "1" => Some(true),
        _ => None,
    }
}

/// Excel stores a PLZ as a number and drops the leading zero of Saxony's 0xxxx codes
/// ("04109" → "4109"). No German PLZ has four digits, so a four-digit number can only be that.
fn excel_postal_code(v: &str) -> String {
    if v.len() == 4 && v.bytes().all(|b| b.is_ascii_digit()) {
        format!("0{v}")
    } else {
        v.to_string()
    }
}

/// `TT.MM.JJJJ` (also `T.M.JJJJ`) or `JJJJ-MM-TT`. Two-digit years are refused: "01.03.24"
/// could be 1924 or 2024, and guessing wrong moves a child out of the age range silently.
fn parse_date(v: &str) -> Option<NaiveDate> {
    let digits = |s: &str, min: usize, max: usize| (min..=max).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit());
    let (y, m, d) = if let Some((d, rest)) = v.split_once('.') {
        let (m, y) = rest.split_once('.')?;
        if !(digits(d, 1, 2) && digits(m, 1, 2) && digits(y, 4, 4)) {
            return None;
        }
        (y, m, d)
    } else {
        let mut parts = v.splitn(3, '-');
        let (y, m, d) = (parts.next()?, parts.next()?, parts.next()?);
        if !(digits(y, 4, 4) && digits(m, 2, 2) && digits(d, 2, 2)) {
            return None;
        }
        (y, m, d)
    };
    NaiveDate::from_ymd_opt(y.parse().ok()?, m.parse().ok()?, d.parse().ok()?)
}

/// "4,5", "4.5" or "9". Checked by hand first because `f64::from_str` also takes "inf",
/// "1e1" and "+9", none of which an office means.
fn parse_hours(v: &str) -> Option<CareHours> {
    let separators = v.bytes().filter(|b| matches!(b, b',' | b'.')).count();
    if separators > 1 || !v.bytes().all(|b| b.is_ascii_digit() || matches!(b, b',' | b'.')) || !v.bytes().any(|b| b.is_ascii_digit()) {
        return None;
    }
    v.parse::<CareHours>().ok()
}

fn de(d: NaiveDate) -> String {
    format!("{:02}.{:02}.{:04}", d.day(), d.month(), d.year())
}

/// A bad value quoted back in a reason: shortened, control characters made visible.
fn echo(v: &str) -> String {
    let mut out: String = v.chars().take(ECHO_CHARS).map(|c| if c.is_control() { '�' } else { c }).collect();
    if v.chars().count() > ECHO_CHARS {
        out.push('…');
    }
    out
}

// ---------------------------------------------------------------------------------------
// Bytes → text

fn decode(bytes: &[u8]) -> Result<(Cow<'_, str>, &'static str), ImportError> {
    let not_csv = |found: &str| Err(ImportError::NotCsv { found: found.to_string() });
    if bytes.starts_with(&[0xFF, 0xFE]) || bytes.starts_with(&[0xFE, 0xFF]) {
        return not_csv("UTF-16-Text („Unicode-Text“)");
    }
    if bytes.starts_with(b"PK\x03\x04") {
        return not_csv("eine Excel-Arbeitsmappe (.xlsx) oder ein ZIP-Archiv");
    }
    if bytes.starts_with(&[0xD0, 0xCF, 0x11, 0xE0]) {
        return not_csv("eine alte Excel-Arbeitsmappe (.xls)");
    }
    if bytes.iter().take(4096).any(|&b| b == 0) {
        // NUL does not occur in text; this is UTF-16 without a BOM or a binary file.
        return not_csv("eine Binärdatei");
    }
    if let Some(rest) = bytes.strip_prefix(b"\xEF\xBB\xBF") {
        // The BOM says UTF-8; reading the rest as Windows-1252 would only hide a broken file.
        return match std::str::from_utf8(rest) {
            Ok(s) => Ok((Cow::Borrowed(s), "UTF-8 mit BOM")),
            Err(e) => Err(ImportError::InvalidUtf8 { line: 1 + rest[..e.valid_up_to()].iter().filter(|&&b| b == b'\n').count() }),
        };
    }
    match std::str::from_utf8(bytes) {
        Ok(s) => Ok((Cow::Borrowed(s), "UTF-8")),
        Err(_) => Ok((Cow::Owned(bytes.iter().map(|&b| windows_1252(b)).collect()), "Windows-1252")),
    }
}

/// Windows-1252 → Unicode. 0x00–0x7F and 0xA0–0xFF are the same code points (Latin-1);
/// 0x80–0x9F hold typographic characters. The five unassigned bytes map to the C1 control
/// characters of the same value (as the WHATWG Encoding Standard does), which the name check
/// then refuses.
fn windows_1252(b: u8) -> char {
    const HIGH: [char; 32] = [
        '€', '\u{81}', '‚', 'ƒ', '„', '…', '†', '‡', 'ˆ', '‰', 'Š', '‹', 'Œ', '\u{8D}', 'Ž', '\u{8F}', //
        '\u{90}', '‘', '’', '“', '”', '•', '–', '—', '˜', '™', 'š', '›', 'œ', '\u{9D}', 'ž', 'Ÿ',
    ];
    match b {
        0x80..=0x9F => HIGH[(b - 0x80) as usize],
        _ => b as char,
    }
}

// ---------------------------------------------------------------------------------------
// Text → records (RFC 4180, lenient where Excel is)

/// `sep=;` or `sep=,` as the first line: the delimiter and where line 2 starts.
fn excel_separator_line(text: &str) -> Option<(u8, usize)> {
    let first = text.get(..4)?;
    if !first.eq_ignore_ascii_case("sep=") {
        return None;
    }
    let delimiter = *text.as_bytes().get(4).filter(|&&b| b == b';' || b == b',')?;
    let rest = &text[5..];
    let skip = match rest.as_bytes() {
        [b'\r', b'\n', ..] => 2,
        [b'\n' | b'\r', ..] => 1,
        _ => return None,
    };
    Some((delimiter, 5 + skip))
}

fn detect_delimiter(text: &str) -> char {
    let (mut semicolons, mut commas, mut quoted, mut started) = (0usize, 0usize, false, false);
    for c in text.chars() {
        match c {
            '"' => quoted = !quoted,
            '\n' | '\r' if !quoted && started => break,
            ';' if !quoted => semicolons += 1,
            ',' if !quoted => commas += 1,
            _ => {}
        }
        started |= !c.is_whitespace();
    }
    if semicolons >= commas && semicolons > 0 {
        ';'
    } else {
        ','
    }
}

struct Record {
    /// Line where the record starts.
    line: usize,
    /// The fields, at most `MAX_COLUMNS + 1` of them kept (enough to see a mismatch).
    fields: Vec<String>,
    /// How many fields the record really has.
    count: usize,
}

impl Record {
    fn is_blank(&self) -> bool {
        self.fields.iter().all(|f| f.trim().is_empty())
    }
}

struct Reader<'a> {
    src: &'a str,
    pos: usize,
    line: usize,
    delimiter: u8,
}

impl Reader<'_> {
    /// The next record, or `None` at the end. Delimiters, quotes and line breaks are ASCII,
    /// so every index this computes lies on a character boundary.
    fn next_record(&mut self) -> Result<Option<Record>, ImportError> {
        let b = self.src.as_bytes();
        if self.pos >= b.len() {
            return Ok(None);
        }
        let line = self.line;
        let mut fields = Vec::new();
        let mut count = 0;
        loop {
            let mut field = String::new();
            if b.get(self.pos) == Some(&b'"') {
                let opened = self.line;
                self.pos += 1;
                loop {
                    let Some(q) = b[self.pos..].iter().position(|&c| c == b'"').map(|q| self.pos + q) else {
                        return Err(ImportError::UnclosedQuote { line: opened });
                    };
                    let chunk = &self.src[self.pos..q];
                    self.line += line_breaks(chunk);
                    field.push_str(chunk);
                    self.pos = q + 1;
                    if b.get(self.pos) == Some(&b'"') {
                        field.push('"');
                        self.pos += 1;
                    } else {
                        break;
                    }
                }
            }
            // Unquoted text, or text after a closing quote (`"a"b`), which Excel keeps as is.
            let end = b[self.pos..].iter().position(|&c| c == self.delimiter || c == b'\n' || c == b'\r').map_or(b.len(), |e| self.pos + e);
            field.push_str(&self.src[self.pos..end]);
            self.pos = end;
            if count <= MAX_COLUMNS {
                fields.push(field);
            }
            count += 1;
            match b.get(self.pos) {
                Some(&c) if c == self.delimiter => self.pos += 1,
                Some(b'\r') => {
                    self.pos += if b.get(self.pos + 1) == Some(&b'\n') { 2 } else { 1 };
                    self.line += 1;
                    break;
                }
                Some(_) => {
                    self.pos += 1;
                    self.line += 1;
                    break;
                }
                None => break,
            }
        }
        Ok(Some(Record { line, fields, count }))
    }
}

fn line_breaks(s: &str) -> usize {
    let b = s.as_bytes();
    b.iter().enumerate().filter(|&(i, &c)| c == b'\n' || (c == b'\r' && b.get(i + 1) != Some(&b'\n'))).count()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use uuid::Uuid;

    const HEADER: &str = "Vorname;Nachname;Geburtsdatum;Straße;PLZ;Ort;Wohngemeinde;Betreuungsart;Stunden;Wunschtermin;Einrichtungen;Sorgeberechtigte/r Vorname;Sorgeberechtigte/r Nachname;E-Mail;Telefon;Alleinerziehend;Masernschutz";

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 24).unwrap()
    }

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    const SONNE: FacilityId = FacilityId(Uuid::from_u128(1));
    const WALD: FacilityId = FacilityId(Uuid::from_u128(2));

    fn resolve(name: &str) -> Option<FacilityId> {
        match name.to_lowercase().as_str() {
            "kita sonnenschein" => Some(SONNE),
            "waldkita" => Some(WALD),
            _ => None,
        }
    }

    fn parse(text: &str) -> Result<ImportPreview, ImportError> {
        parse_waiting_list(text.as_bytes(), today(), &resolve)
    }

    fn good_line(first: &str) -> String {
        format!("{first};Müller;01.03.2025;Hauptstraße 1;04109;Leipzig;Leipzig;Krippe;4,5;2026-08-01;Kita Sonnenschein|Waldkita;Jörg;Müller;joerg@example.org;+49 341 1234567;nein;10.01.2026")
    }

    /// A file with one good row plus `line` (the row under test, line 3).
    fn reasons_of(line: &str) -> Vec<String> {
        let p = parse(&format!("{HEADER}\n{}\n{line}\n", good_line("Anna"))).unwrap();
        assert_eq!(p.accepted.len(), 1, "the good row stays accepted: {p:?}");
        assert_eq!(p.rejected.len(), 1, "{p:?}");
        assert_eq!(p.rejected[0].line, 3);
        p.rejected[0].reasons.clone()
    }

    fn with(first: &str, col: usize, value: &str) -> String {
        let mut cells: Vec<String> = good_line(first).split(';').map(String::from).collect();
        cells[col] = value.to_string();
        cells.join(";")
    }

    #[test]
    fn a_good_file_gives_typed_rows() {
        let text = format!("\u{feff}{HEADER}\r\n{}\r\n\r\n{}\r\n", good_line("Anna"), with("Ben", 15, "ja"));
        let p = parse(&text).unwrap();
        assert_eq!(p.encoding, "UTF-8 mit BOM");
        assert!(p.rejected.is_empty(), "{:?}", p.rejected);
        assert_eq!(p.accepted.len(), 2);
        let a = &p.accepted[0];
        assert_eq!(a.line, 2);
        assert_eq!((a.first_name.as_str(), a.last_name.as_str(), a.birth_date), ("Anna", "Müller", d(2025, 3, 1)));
        assert_eq!(a.address, Address { street: "Hauptstraße 1".into(), postal_code: "04109".into(), city: "Leipzig".into() });
        assert_eq!(a.municipality, "Leipzig");
        assert_eq!(a.care_type, CareType::Nursery);
        assert_eq!(a.care_hours.tenths(), 45);
        assert_eq!(a.wanted_start, d(2026, 8, 1));
        assert_eq!(a.choices, vec![SONNE, WALD]);
        assert_eq!(a.measles_proof, Some(d(2026, 1, 10)));
        let g = a.guardian.as_ref().unwrap();
        assert_eq!(
            (g.first_name.as_str(), g.email.as_str(), g.phone.as_str(), g.single_parent),
            ("Jörg", "joerg@example.org", "+49 341 1234567", false)
        );
        assert_eq!(p.accepted[1].line, 4, "the empty line is skipped but counted");
        assert!(p.accepted[1].guardian.as_ref().unwrap().single_parent);
    }

    #[test]
    fn optional_columns_may_be_missing_and_headers_are_case_insensitive() {
        let text = "vorname,NACHNAME, Geburtsdatum ,Wohngemeinde,Betreuungsart,Stunden,Wunschtermin,Einrichtungen,Bemerkung\n\
                    Ida,Groß,2024-05-05,Markkleeberg,hort,9,01.09.2026,waldkita,=egal\n";
        let p = parse(text).unwrap();
        assert_eq!(p.encoding, "UTF-8");
        assert!(p.rejected.is_empty(), "an ignored column is not checked: {:?}", p.rejected);
        let r = &p.accepted[0];
        assert_eq!(r.care_type, CareType::AfterSchool);
        assert_eq!(r.care_hours.tenths(), 90);
        assert_eq!(r.address, Address::default());
        assert_eq!(r.guardian, None);
        assert_eq!(r.measles_proof, None);
    }

    #[test]
    fn windows_1252_is_decoded() {
        let text = format!("{HEADER}\n{}\n", good_line("Zoë"));
        let bytes: Vec<u8> = text.chars().map(|c| u8::try_from(u32::from(c)).expect("Latin-1 test text")).collect();
        let p = parse_waiting_list(&bytes, today(), &resolve).unwrap();
        assert_eq!(p.encoding, "Windows-1252");
        let r = &p.accepted[0];
        assert_eq!((r.first_name.as_str(), r.last_name.as_str(), r.address.street.as_str()), ("Zoë", "Müller", "Hauptstraße 1"));
        assert_eq!(r.guardian.as_ref().unwrap().first_name, "Jörg");
        assert_eq!(windows_1252(0x80), '€');
        assert_eq!(windows_1252(0x84), '„');
        assert_eq!(windows_1252(0xDF), 'ß');
    }

    #[test]
    fn quoting_follows_rfc_4180() {
        let row =
            "\"Anna\";\"Müller\";01.03.2025;\"Weg 1; Hinterhaus\";;;Leipzig;Krippe;\"4,5\";01.08.2026;\"Kita \"\"Sonnenschein\"\"\";;;;;;";
        let p = parse(&format!("{HEADER}\n{row}\n")).unwrap();
        assert_eq!(p.rejected.len(), 1, "the facility name contains quotes, so it is unknown");
        assert!(p.rejected[0].reasons[0].contains("Kita \"Sonnenschein\""), "{:?}", p.rejected);
        let row = "Anna;Müller;01.03.2025;\"Weg 1; Hinterhaus\";;;Leipzig;Krippe;\"4,5\";01.08.2026;Waldkita;;;;;;";
        let p = parse(&format!("{HEADER}\n{row}\n")).unwrap();
        assert_eq!(p.accepted[0].address.street, "Weg 1; Hinterhaus");
        // A quoted line break is one value; the next record starts two lines further down.
        let row = "Anna;Müller;01.03.2025;\"Weg 1\nHinterhaus\";;;Leipzig;Krippe;4;01.08.2026;Waldkita;;;;;;";
        let p = parse(&format!("{HEADER}\n{row}\n{}\n", good_line("Ben"))).unwrap();
        assert_eq!(p.rejected[0].line, 2);
        assert!(p.rejected[0].reasons[0].contains("Steuerzeichen"), "{:?}", p.rejected);
        assert_eq!(p.accepted[0].line, 4);
    }

    #[test]
    fn excels_separator_line_is_honoured() {
        let text =
            format!("sep=,\r\n{}\r\n{}\r\n", HEADER.replace(';', ","), good_line("Anna").replace("4,5", "\"4,5\"").replace(';', ","));
        let p = parse(&text).unwrap();
        assert!(p.rejected.is_empty(), "{:?}", p.rejected);
        assert_eq!(p.accepted[0].line, 3, "the hint line counts as line 1");
        assert_eq!(p.accepted[0].care_hours.tenths(), 45);
    }

    #[test]
    fn comma_files_are_detected() {
        let text = "Vorname,Nachname,Geburtsdatum,Wohngemeinde,Betreuungsart,Stunden,Wunschtermin,Einrichtungen\n\
                    Ida,Groß,01.01.2024,Leipzig,Krippe,\"4,5\",01.09.2026,Waldkita\n\
                    Ole,Groß,01.01.2024,Leipzig,Krippe,4,5,01.09.2026,Waldkita\n";
        let p = parse(text).unwrap();
        assert_eq!(p.accepted.len(), 1);
        assert_eq!(p.accepted[0].care_hours.tenths(), 45);
        assert_eq!(p.rejected[0].line, 3);
        assert!(p.rejected[0].reasons[0].contains("9 Felder statt 8"), "{:?}", p.rejected);
    }

    #[test]
    fn missing_required_columns_reject_the_file() {
        let err = parse("Vorname;Nachname;Wohngemeinde;Betreuungsart;Wunschtermin;Einrichtungen\nA;B;C;Krippe;01.01.2027;Waldkita\n")
            .unwrap_err();
        assert_eq!(err, ImportError::MissingColumns { missing: vec!["Geburtsdatum".into(), "Stunden".into()] });
        let msg = err.to_string();
        assert!(msg.starts_with("In der Kopfzeile fehlen Pflichtspalten: Geburtsdatum, Stunden."), "{msg}");
        assert_eq!(parse("").unwrap_err(), ImportError::Empty);
        assert_eq!(parse("\n \n").unwrap_err(), ImportError::Empty);
        let dup = format!("{HEADER};vorname\n");
        assert_eq!(parse(&dup).unwrap_err(), ImportError::DuplicateColumn { name: "Vorname".into() });
    }

    #[test]
    fn broken_and_foreign_files_are_refused_whole() {
        let err = parse(&format!("{HEADER}\n{}\n\"Anna;Müller\n", good_line("Ben"))).unwrap_err();
        assert_eq!(err, ImportError::UnclosedQuote { line: 3 });
        for (bytes, what) in [
            (&b"PK\x03\x04rest"[..], "xlsx"),
            (&[0xFF, 0xFE, b'V', 0][..], "UTF-16"),
            (&[0xD0, 0xCF, 0x11, 0xE0][..], "(.xls)"),
            (&b"V\0o\0"[..], "Binär"),
        ] {
            let err = parse_waiting_list(bytes, today(), &resolve).unwrap_err();
            assert!(matches!(err, ImportError::NotCsv { .. }) && err.to_string().contains(what), "{err}");
        }
        let mut bad = b"\xEF\xBB\xBF".to_vec();
        bad.extend_from_slice(format!("{HEADER}\nM\u{fc}ller\n").as_bytes());
        bad.extend_from_slice(b"\xFC\n");
        assert_eq!(parse_waiting_list(&bad, today(), &resolve).unwrap_err(), ImportError::InvalidUtf8 { line: 3 });
    }

    #[test]
    fn limits() {
        let big = vec![b' '; MAX_BYTES + 1];
        let err = parse_waiting_list(&big, today(), &resolve).unwrap_err();
        assert_eq!(err, ImportError::TooLarge { bytes: MAX_BYTES + 1 });
        assert!(err.to_string().contains("10,0 MB"), "{err}");
        let mut text = format!("{HEADER}\n");
        for i in 0..MAX_ROWS {
            text.push_str(&format!("K{i}\n"));
        }
        let p = parse(&text).unwrap();
        assert_eq!(p.rejected.len(), MAX_ROWS, "exactly the limit is fine");
        text.push_str("\n\nzu viel\n");
        assert_eq!(parse(&text).unwrap_err(), ImportError::TooManyRows);
        let wide = format!("{HEADER}{}\n", ";x".repeat(MAX_COLUMNS));
        assert_eq!(parse(&wide).unwrap_err(), ImportError::TooManyColumns);
    }

    #[test]
    fn invalid_dates_are_named() {
        assert_eq!(
            reasons_of(&with("Ben", 2, "31.02.2024")),
            vec!["Zeile 3: Geburtsdatum '31.02.2024' ist kein gültiges Datum (TT.MM.JJJJ oder JJJJ-MM-TT)"]
        );
        assert!(reasons_of(&with("Ben", 2, "01.03.24"))[0].contains("'01.03.24' ist kein gültiges Datum"));
        assert_eq!(reasons_of(&with("Ben", 2, "01.01.2027")), vec!["Zeile 3: Geburtsdatum 01.01.2027 liegt in der Zukunft"]);
        assert_eq!(reasons_of(&with("Ben", 2, "01.01.2000")), vec!["Zeile 3: Geburtsdatum 01.01.2000 liegt mehr als 16 Jahre zurück"]);
        assert!(reasons_of(&with("Ben", 9, "August"))[0].contains("Wunschtermin 'August' ist kein gültiges Datum"));
        assert_eq!(reasons_of(&with("Ben", 16, "01.12.2026")), vec!["Zeile 3: Masernschutz-Nachweis 01.12.2026 liegt in der Zukunft"]);
        let p = parse(&format!("{HEADER}\n{}\n", with("Ben", 2, "1.3.2025"))).unwrap();
        assert_eq!(p.accepted[0].birth_date, d(2025, 3, 1), "single-digit day and month are fine");
    }

    #[test]
    fn every_field_rule_has_a_german_reason() {
        assert_eq!(reasons_of(&with("", 1, "")), vec!["Zeile 3: Vorname fehlt", "Zeile 3: Nachname fehlt"]);
        assert_eq!(
            reasons_of(&with(&"x".repeat(101), 6, " ")),
            vec!["Zeile 3: Vorname ist zu lang (höchstens 100 Zeichen)", "Zeile 3: Wohngemeinde fehlt"]
        );
        assert_eq!(reasons_of(&with("Ben", 4, "123")), vec!["Zeile 3: PLZ '123' ist keine 5-stellige Postleitzahl"]);
        assert_eq!(
            reasons_of(&with("Ben", 7, "Schule")),
            vec!["Zeile 3: Betreuungsart 'Schule' ist unbekannt (Krippe, Kindergarten oder Hort)"]
        );
        for bad in ["13", "0", "4,55", "inf", "1e1", "4,5,0", ","] {
            assert!(reasons_of(&with("Ben", 8, bad))[0].contains("keine gültige Stundenzahl"), "{bad}");
        }
        assert_eq!(
            reasons_of(&with("Ben", 10, "Kita Mond")),
            vec!["Zeile 3: Einrichtung 'Kita Mond' ist unbekannt (oder nicht eindeutig)"]
        );
        assert_eq!(reasons_of(&with("Ben", 10, "Waldkita|waldkita")), vec!["Zeile 3: Einrichtung 'waldkita' ist doppelt genannt"]);
        assert_eq!(reasons_of(&with("Ben", 10, "a|b|c|d|e|f")), vec!["Zeile 3: höchstens 5 Einrichtungen, angegeben sind 6"]);
        assert_eq!(reasons_of(&with("Ben", 10, " | ")), vec!["Zeile 3: Einrichtungen fehlt"]);
        assert_eq!(reasons_of(&with("Ben", 15, "vielleicht")), vec!["Zeile 3: Alleinerziehend 'vielleicht' ist weder „ja“ noch „nein“"]);
        assert_eq!(reasons_of(&with("Ben", 13, "kein-at")), vec!["Zeile 3: E-Mail 'kein-at' ist keine gültige Adresse"]);
        assert_eq!(reasons_of(&with("Ben", 3, &"x".repeat(201))), vec!["Zeile 3: Straße ist zu lang (höchstens 200 Zeichen)"]);
        assert_eq!(reasons_of("zu;wenig"), vec!["Zeile 3: 2 Felder statt 17 wie in der Kopfzeile. Steht ein Trennzeichen in einem Wert ohne Anführungszeichen (z. B. 4,5 bei Komma-Trennung)?"]);
    }

    #[test]
    fn guardian_data_needs_a_guardian_name() {
        let mut cells: Vec<String> = good_line("Ben").split(';').map(String::from).collect();
        cells[11].clear();
        cells[12].clear();
        let reasons = reasons_of(&cells.join(";"));
        assert_eq!(
            reasons,
            vec![
                "Zeile 3: Sorgeberechtigte/r Vorname fehlt (Kontaktdaten oder „Alleinerziehend“ sind angegeben)",
                "Zeile 3: Sorgeberechtigte/r Nachname fehlt (Kontaktdaten oder „Alleinerziehend“ sind angegeben)",
            ]
        );
        for cell in &mut cells[13..=15] {
            cell.clear();
        }
        let p = parse(&format!("{HEADER}\n{}\n", cells.join(";"))).unwrap();
        assert_eq!(p.accepted[0].guardian, None, "no guardian data at all is fine");
    }

    #[test]
    fn excel_postal_codes_get_their_leading_zero_back() {
        let p = parse(&format!("{HEADER}\n{}\n", with("Ben", 4, "4109"))).unwrap();
        assert_eq!(p.accepted[0].address.postal_code, "04109");
    }

    #[test]
    fn formula_cells_are_refused_without_quoting_them() {
        const MSG: &str = "möglicher Formel-Code (Formel-Injektion)";
        for (col, payload) in [
            (0, "=HYPERLINK(\"http://x\",\"klick\")"),
            (1, "@SUM(A1:A2)"),
            (3, "+cmd|' /C calc'!A0"),
            (5, "-2+3"),
            (6, " =1+1"),
            (11, "\t=1"),
            (12, "\rx"),
            (13, "=a@b.de"),
            (14, "+cmd"),
            (14, "-49 341"),
            (14, "+49 341 =1"),
            (0, "＝1+1"),
        ] {
            let reasons = reasons_of(&with("Ben", col, &format!("\"{}\"", payload.replace('"', "\"\""))));
            assert!(reasons.iter().any(|r| r.ends_with(MSG)), "{payload:?}: {reasons:?}");
            assert!(!reasons.iter().any(|r| r.contains(payload.trim())), "the payload is not quoted back: {reasons:?}");
        }
        // Not formulas: a dash inside a name, a phone number with a leading +.
        for (col, ok) in [(1, "Müller-Lüdenscheidt"), (14, "+49 (0)341 / 123-45.6"), (14, "0341 123456 (abends)")] {
            let p = parse(&format!("{HEADER}\n{}\n", with("Ben", col, ok))).unwrap();
            assert!(p.rejected.is_empty(), "{ok}: {:?}", p.rejected);
        }
    }

    #[test]
    fn a_child_listed_twice_is_rejected_the_second_time() {
        let twin = with("Anna", 8, "9").replace("Müller;01", "MÜLLER;01");
        let p = parse(&format!("{HEADER}\n{}\n{}\n{}\n{}\n", good_line("Anna"), good_line("Ben"), twin, good_line("anna"))).unwrap();
        assert_eq!(p.accepted.len(), 2);
        assert_eq!(
            p.rejected,
            vec![
                RejectedRow { line: 4, reasons: vec!["Zeile 4: doppelt in der Datei, siehe Zeile 2".into()] },
                RejectedRow { line: 5, reasons: vec!["Zeile 5: doppelt in der Datei, siehe Zeile 2".into()] },
            ]
        );
    }

    #[test]
    fn the_preview_serialises_for_the_ui() {
        let p = parse(&format!("{HEADER}\n{}\n{}\n", good_line("Anna"), with("Ben", 2, "x"))).unwrap();
        let j = serde_json::to_value(&p).unwrap();
        assert_eq!(j["encoding"], "UTF-8");
        assert_eq!(j["accepted"][0]["care_hours"], 4.5);
        assert_eq!(j["accepted"][0]["birth_date"], "2025-03-01");
        assert_eq!(j["rejected"][0]["line"], 3);
        let e = serde_json::to_value(ImportError::MissingColumns { missing: vec!["PLZ".into()] }).unwrap();
        assert_eq!(e["code"], "missing_columns");
    }

    /// A value the generator may put into a cell: good ones, bad ones, and CSV's own syntax.
    fn cell() -> impl Strategy<Value = String> {
        prop_oneof![
            Just(String::new()),
            Just("Kita Sonnenschein|Waldkita".to_string()),
            Just("01.03.2025".to_string()),
            Just("4,5".to_string()),
            Just("Krippe".to_string()),
            Just("=1+1".to_string()),
            "[a-zA-ZäöüÄÖÜß ;,\"|=+@\\-\t\r\n0-9.]{0,12}",
        ]
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
            let _ = parse_waiting_list(&bytes, today(), &resolve);
            let mut with_header = HEADER.as_bytes().to_vec();
            with_header.push(b'\n');
            with_header.extend_from_slice(&bytes);
            let _ = parse_waiting_list(&with_header, today(), &resolve);
        }

        #[test]
        fn every_data_row_is_accepted_or_rejected(rows in proptest::collection::vec(proptest::collection::vec(cell(), 17), 0..20)) {
            let mut text = format!("{HEADER}\n");
            let mut expected = 0;
            for r in &rows {
                let quoted: Vec<String> = r.iter().map(|c| format!("\"{}\"", c.replace('"', "\"\""))).collect();
                if !r.iter().all(|c| c.trim().is_empty()) {
                    expected += 1;
                }
                text.push_str(&quoted.join(";"));
                text.push_str("\r\n");
            }
            let p = parse(&text).unwrap();
            prop_assert_eq!(p.accepted.len() + p.rejected.len(), expected);
            for a in &p.accepted {
                for s in [&a.first_name, &a.last_name, &a.address.street, &a.municipality] {
                    prop_assert!(!s.starts_with(['=', '+', '-', '@']), "{:?}", a);
                }
            }
        }

        #[test]
        fn good_rows_round_trip(
            rows in proptest::collection::vec(("[A-ZÄÖÜ][a-zäöüß]{1,10}( [A-Z][a-z]{1,6})?", "[A-ZÄÖÜ][a-zäöüß]{1,10}(-[A-Z][a-z]{2,8})?", 0i64..3000, 10u16..=120, any::<bool>()), 1..30),
            semicolon in any::<bool>(),
        ) {
            let sep = if semicolon { ";" } else { "," };
            let mut text = HEADER.replace(';', sep) + "\n";
            let mut expected = Vec::new();
            for (i, (first, last, age_days, tenths, iso)) in rows.iter().enumerate() {
                let first = format!("{first}{i}"); // no accidental duplicates
                let birth = today() - chrono::Duration::days(*age_days);
                let date = if *iso { birth.format("%Y-%m-%d").to_string() } else { de(birth) };
                let hours = format!("\"{},{}\"", tenths / 10, tenths % 10);
                let cells = [first.as_str(), last.as_str(), date.as_str(), "", "", "", "Leipzig", "Kindergarten", hours.as_str(), "01.08.2027", "Waldkita", "", "", "", "", "", ""];
                text.push_str(&cells.join(sep));
                text.push('\n');
                expected.push((first, last.clone(), birth, *tenths));
            }
            let p = parse(&text).unwrap();
            prop_assert!(p.rejected.is_empty(), "{:?}", p.rejected);
            let got: Vec<_> = p.accepted.iter().map(|r| (r.first_name.clone(), r.last_name.clone(), r.birth_date, r.care_hours.tenths())).collect();
            prop_assert_eq!(got, expected);
        }
    }
}
