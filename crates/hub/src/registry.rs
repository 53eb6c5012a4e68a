//! The residents' registry extract (Melderegister): a CSV import that replaces the previous
//! extract all-or-nothing, and the matching of the `children` read model against it. Matching
//! only files a status per child (`registry_matches`); it never changes a child's data.
//!
//! File format: docs/registry-import.md.

use crate::duplicates::{first_given_name, normalise_name, phonetic};
use crate::{DeviceAuth, Hub, HubError};
use chrono::{DateTime, Datelike, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use uuid::Uuid;

/// The columns of the extract, in this order.
pub const COLUMNS: [&str; 8] =
    ["Familienname", "Vornamen", "Geburtsdatum (TT.MM.JJJJ)", "Straße", "Hausnummer", "PLZ", "Ort", "Gemeindeschlüssel"];

/// At most this many errors are reported for one file.
const MAX_ERRORS: usize = 20;

/// One resident of the extract, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resident {
    pub line: usize,
    pub last_name: String,
    pub first_names: String,
    pub birth_date: NaiveDate,
    pub street: String,
    pub house_number: String,
    pub postal_code: String,
    pub city: String,
    pub municipality_key: String,
}

/// A parsed extract.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Extract {
    /// `UTF-8` or `Windows-1252`.
    pub encoding: &'static str,
    pub residents: Vec<Resident>,
}

/// Decodes the file: UTF-8 (a BOM is skipped); when that is not valid UTF-8, Windows-1252.
fn decode(bytes: &[u8]) -> (String, &'static str) {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    match std::str::from_utf8(bytes) {
        Ok(s) => (s.to_string(), "UTF-8"),
        Err(_) => (encoding_rs::WINDOWS_1252.decode_without_bom_handling(bytes).0.into_owned(), "Windows-1252"),
    }
}

/// Splits one line at `;`. Fields may be quoted ("…", a quote inside doubled); a quoted field
/// must not span lines.
fn split_line(line: &str) -> Result<Vec<String>, String> {
    let mut fields = Vec::new();
    let mut cur = String::new();
    let mut chars = line.chars().peekable();
    let mut quoted = false;
    let mut at_start = true;
    while let Some(c) = chars.next() {
        if quoted {
            if c == '"' {
                if chars.peek() == Some(&'"') {
                    chars.next();
                    cur.push('"');
                } else {
                    quoted = false;
                }
            } else {
                cur.push(c);
            }
        } else if c == '"' && at_start {
            quoted = true;
            at_start = false;
        } else if c == ';' {
            fields.push(std::mem::take(&mut cur));
            at_start = true;
        } else {
            cur.push(c);
            if !c.is_whitespace() {
                at_start = false;
            }
        }
    }
    if quoted {
        return Err("ein Anführungszeichen wird nicht geschlossen".into());
    }
    fields.push(cur);
    Ok(fields)
}

/// `TT.MM.JJJJ`, a real calendar day, not after `today`, not before 1900.
fn parse_date(s: &str, today: NaiveDate) -> Result<NaiveDate, String> {
    let parts: Vec<&str> = s.split('.').collect();
    let shape = parts.len() == 3 && [2, 2, 4].iter().zip(&parts).all(|(len, p)| p.len() == *len && p.chars().all(|c| c.is_ascii_digit()));
    if !shape {
        return Err(format!("„{s}“ ist kein Datum im Format TT.MM.JJJJ"));
    }
    let (d, m, y) = (parts[0].parse().unwrap_or(0), parts[1].parse().unwrap_or(0), parts[2].parse().unwrap_or(0));
    let date = NaiveDate::from_ymd_opt(y, m, d).ok_or_else(|| format!("„{s}“ ist kein gültiger Kalendertag"))?;
    if date.year() < 1900 || date > today {
        return Err(format!("„{s}“ liegt nicht zwischen 01.01.1900 und heute"));
    }
    Ok(date)
}

fn header_matches(found: &str, expected: &str) -> bool {
    let norm = |s: &str| s.trim().to_lowercase().replace("ss", "ß");
    let found = norm(found);
    // "Geburtsdatum" is accepted without the format hint.
    found == norm(expected) || expected.split(" (").next().is_some_and(|short| found == norm(short))
}

/// Parses and validates a whole extract. Errors name line and column (German), at most 20.
pub fn parse(bytes: &[u8], today: NaiveDate) -> Result<Extract, Vec<String>> {
    let (text, encoding) = decode(bytes);
    let mut errors = Vec::new();
    let mut residents = Vec::new();
    let mut lines = text.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l)).enumerate().map(|(i, l)| (i + 1, l));
    let header = lines.by_ref().find(|(_, l)| !l.trim().is_empty());
    let Some((hline, header)) = header else {
        return Err(vec!["Die Datei ist leer: erwartet wird eine Kopfzeile und je Zeile ein Einwohner".into()]);
    };
    match split_line(header) {
        Ok(h) if h.len() == COLUMNS.len() && h.iter().zip(COLUMNS).all(|(f, e)| header_matches(f, e)) => {}
        _ => {
            return Err(vec![format!(
                "Zeile {hline}: die Kopfzeile muss genau diese Spalten haben, getrennt durch Semikolon: {}",
                COLUMNS.join(";")
            )])
        }
    }
    for (n, line) in lines {
        if errors.len() >= MAX_ERRORS {
            errors.push(format!("… weitere Fehler nicht angezeigt (höchstens {MAX_ERRORS})"));
            break;
        }
        if line.trim().is_empty() {
            continue;
        }
        let fields = match split_line(line) {
            Ok(f) => f,
            Err(e) => {
                errors.push(format!("Zeile {n}: {e}"));
                continue;
            }
        };
        if fields.len() != COLUMNS.len() {
            errors.push(format!("Zeile {n}: {} Spalten statt {} (Trennzeichen ist das Semikolon)", fields.len(), COLUMNS.len()));
            continue;
        }
        let f: Vec<&str> = fields.iter().map(|s| s.trim()).collect();
        let mut bad = |col: usize, msg: String| errors.push(format!("Zeile {n}, Spalte {} ({}): {msg}", col + 1, COLUMNS[col]));
        for col in [0, 1, 3, 4, 6] {
            if f[col].is_empty() {
                bad(col, "darf nicht leer sein".into());
            } else if f[col].chars().count() > 200 || f[col].chars().any(char::is_control) {
                bad(col, "zu lang oder mit Steuerzeichen".into());
            }
        }
        let birth = parse_date(f[2], today).map_err(|e| bad(2, e)).ok();
        if !(f[5].len() == 5 && f[5].chars().all(|c| c.is_ascii_digit())) {
            bad(5, format!("„{}“ ist keine Postleitzahl (fünf Ziffern)", f[5]));
        }
        if !(f[7].len() == 8 && f[7].chars().all(|c| c.is_ascii_digit())) {
            bad(7, format!("„{}“ ist kein amtlicher Gemeindeschlüssel (acht Ziffern)", f[7]));
        }
        if let Some(birth_date) = birth {
            residents.push(Resident {
                line: n,
                last_name: f[0].into(),
                first_names: f[1].into(),
                birth_date,
                street: f[3].into(),
                house_number: f[4].into(),
                postal_code: f[5].into(),
                city: f[6].into(),
                municipality_key: f[7].into(),
            });
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    if residents.is_empty() {
        return Err(vec!["Die Datei enthält nur die Kopfzeile, keinen Einwohner".into()]);
    }
    Ok(Extract { encoding, residents })
}

// The wire types a PC reads live in `kitakontor_core::protocol::city`, shared with the
// desktop; re-exported here for the hub's callers.
pub use kitakontor_core::protocol::city::{ChildRegistryStatus, MatchStatus, RegistryImport, RegistryStatus};

/// Counts of one matching run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MatchReport {
    pub children: usize,
    pub matched: usize,
    pub matched_phonetic: usize,
    pub not_found: usize,
    pub ambiguous: usize,
}

/// What matching reads of a child or resident.
struct Person<'a> {
    last_name: &'a str,
    first_names: &'a str,
}

/// The pure matching rule for one child against the residents with its birth date and postal
/// code: exact names first, then phonetic; more than one hit is `Ambiguous`.
fn classify(child: &Person, candidates: &[(Uuid, Person)]) -> (MatchStatus, Option<Uuid>) {
    let exact_first = |c: &Person, r: &Person| {
        let f = normalise_name(c.first_names);
        f == normalise_name(r.first_names) || f == normalise_name(first_given_name(r.first_names))
    };
    let exact: Vec<Uuid> = candidates
        .iter()
        .filter(|(_, r)| normalise_name(r.last_name) == normalise_name(child.last_name) && exact_first(child, r))
        .map(|(id, _)| *id)
        .collect();
    match exact.len() {
        1 => return (MatchStatus::Matched, Some(exact[0])),
        n if n > 1 => return (MatchStatus::Ambiguous, None),
        _ => {}
    }
    let last = phonetic(child.last_name);
    let first = phonetic(first_given_name(child.first_names));
    let sounds: Vec<Uuid> = candidates
        .iter()
        .filter(|(_, r)| {
            !last.is_empty()
                && !first.is_empty()
                && phonetic(r.last_name) == last
                && r.first_names.split(|c: char| c.is_whitespace() || c == '-').any(|g| phonetic(g) == first)
        })
        .map(|(id, _)| *id)
        .collect();
    match sounds.len() {
        0 => (MatchStatus::NotFound, None),
        1 => (MatchStatus::MatchedPhonetic, Some(sounds[0])),
        _ => (MatchStatus::Ambiguous, None),
    }
}

impl Hub {
    /// Imports an extract: validates the whole file first, then replaces the previous extract
    /// (and the match statuses, which referred to it) in one transaction. On any error nothing
    /// is stored and the previous extract stays.
    pub async fn import_registry(&self, file_name: &str, bytes: &[u8]) -> Result<RegistryImport, HubError> {
        let now = self.now();
        let extract = parse(bytes, now.date_naive()).map_err(|errors| {
            HubError::BadRequest(format!("Melderegister-Auszug „{file_name}“ nicht importiert:\n{}", errors.join("\n")))
        })?;
        let import = RegistryImport {
            id: Uuid::now_v7(),
            imported_at: now,
            file_name: file_name.to_string(),
            rows: i32::try_from(extract.residents.len()).map_err(|_| HubError::BadRequest("Zu viele Zeilen".into()))?,
            encoding: extract.encoding.to_string(),
        };
        let mut tx = self.pool.begin().await?;
        sqlx::query("LOCK TABLE registry_imports IN EXCLUSIVE MODE").execute(&mut *tx).await?;
        sqlx::query("DELETE FROM registry_matches").execute(&mut *tx).await?;
        sqlx::query("DELETE FROM registry_residents").execute(&mut *tx).await?;
        sqlx::query("DELETE FROM registry_imports").execute(&mut *tx).await?;
        sqlx::query("INSERT INTO registry_imports (id, imported_at, file_name, row_count, encoding) VALUES ($1, $2, $3, $4, $5)")
            .bind(import.id)
            .bind(import.imported_at)
            .bind(&import.file_name)
            .bind(import.rows)
            .bind(&import.encoding)
            .execute(&mut *tx)
            .await?;
        for chunk in extract.residents.chunks(5000) {
            let col = |f: fn(&Resident) -> String| chunk.iter().map(f).collect::<Vec<String>>();
            sqlx::query(
                "INSERT INTO registry_residents (id, import_id, line, last_name, first_names, birth_date, street, house_number, postal_code,
                     city, municipality_key)
                 SELECT gen_random_uuid(), $1, u.* FROM unnest($2::int4[], $3::text[], $4::text[], $5::date[], $6::text[], $7::text[],
                     $8::text[], $9::text[], $10::text[]) AS u",
            )
            .bind(import.id)
            .bind(chunk.iter().map(|r| i32::try_from(r.line).unwrap_or(i32::MAX)).collect::<Vec<i32>>())
            .bind(col(|r| r.last_name.clone()))
            .bind(col(|r| r.first_names.clone()))
            .bind(chunk.iter().map(|r| r.birth_date).collect::<Vec<NaiveDate>>())
            .bind(col(|r| r.street.clone()))
            .bind(col(|r| r.house_number.clone()))
            .bind(col(|r| r.postal_code.clone()))
            .bind(col(|r| r.city.clone()))
            .bind(col(|r| r.municipality_key.clone()))
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        tracing::info!(rows = import.rows, encoding = %import.encoding, "registry extract imported");
        Ok(import)
    }

    /// The extract in use, if any.
    pub async fn registry_import(&self) -> Result<Option<RegistryImport>, HubError> {
        let row: Option<(Uuid, DateTime<Utc>, String, i32, String)> = sqlx::query_as(
            "SELECT id, imported_at, file_name, row_count, encoding FROM registry_imports ORDER BY imported_at DESC LIMIT 1",
        )
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|(id, imported_at, file_name, rows, encoding)| RegistryImport { id, imported_at, file_name, rows, encoding }))
    }

    /// Matches every child of the `children` read model against the extract and replaces the
    /// stored statuses. Child data is only read.
    pub async fn match_registry(&self) -> Result<MatchReport, HubError> {
        let now = self.now();
        let mut tx = self.pool.begin().await?;
        let imported: Option<(Uuid,)> =
            sqlx::query_as("SELECT id FROM registry_imports LIMIT 1 FOR SHARE").fetch_optional(&mut *tx).await?;
        if imported.is_none() {
            return Err(HubError::BadRequest("Es wurde noch kein Melderegister-Auszug importiert (registry import DATEI)".into()));
        }
        let children: Vec<(Uuid, String, String)> =
            sqlx::query_as("SELECT id, first_name, last_name FROM children ORDER BY id").fetch_all(&mut *tx).await?;
        // Candidates: same birth date and postal code (index on registry_residents).
        let pairs: Vec<(Uuid, Uuid, String, String)> = sqlx::query_as(
            "SELECT c.id, r.id, r.first_names, r.last_name FROM children c
             JOIN registry_residents r ON r.birth_date = c.birth_date AND r.postal_code = btrim(c.address->>'postal_code')",
        )
        .fetch_all(&mut *tx)
        .await?;
        let mut by_child: BTreeMap<Uuid, Vec<(Uuid, Person)>> = BTreeMap::new();
        for (child, resident, first_names, last_name) in &pairs {
            by_child.entry(*child).or_default().push((*resident, Person { last_name, first_names }));
        }
        let mut report = MatchReport { children: children.len(), ..MatchReport::default() };
        let (mut ids, mut statuses, mut residents) = (Vec::new(), Vec::new(), Vec::new());
        for (id, first_name, last_name) in &children {
            let person = Person { last_name, first_names: first_name };
            let (status, resident) = classify(&person, by_child.get(id).map(Vec::as_slice).unwrap_or(&[]));
            match status {
                MatchStatus::Matched => report.matched += 1,
                MatchStatus::MatchedPhonetic => report.matched_phonetic += 1,
                MatchStatus::NotFound => report.not_found += 1,
                MatchStatus::Ambiguous => report.ambiguous += 1,
            }
            ids.push(*id);
            statuses.push(status.code());
            residents.push(resident);
        }
        sqlx::query("DELETE FROM registry_matches").execute(&mut *tx).await?;
        sqlx::query(
            "INSERT INTO registry_matches (child_id, status, resident_id, checked_at)
             SELECT u.c, u.s, u.r, $4 FROM unnest($1::uuid[], $2::text[], $3::uuid[]) AS u(c, s, r)",
        )
        .bind(&ids)
        .bind(&statuses)
        .bind(&residents)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        tracing::info!(?report, "registry matching");
        Ok(report)
    }

    /// The match status of the device's facility's children.
    pub async fn registry_status(&self, auth: &DeviceAuth) -> Result<RegistryStatus, HubError> {
        let extract = self.registry_import().await?;
        type Row = (Uuid, String, String, NaiveDate, Option<String>, Option<String>, Option<DateTime<Utc>>);
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT c.id, c.first_name, c.last_name, c.birth_date, m.status, r.first_names || ' ' || r.last_name, m.checked_at
             FROM children c LEFT JOIN registry_matches m ON m.child_id = c.id LEFT JOIN registry_residents r ON r.id = m.resident_id
             WHERE c.facility_id = $1 ORDER BY c.last_name, c.first_name, c.id",
        )
        .bind(auth.facility_id.0)
        .fetch_all(&self.pool)
        .await?;
        let children = rows
            .into_iter()
            .map(|(child_id, first_name, last_name, birth_date, status, registry_name, checked_at)| ChildRegistryStatus {
                child_id,
                first_name,
                last_name,
                birth_date,
                status: status.as_deref().and_then(MatchStatus::from_code),
                registry_name,
                checked_at,
            })
            .collect();
        Ok(RegistryStatus { extract, children })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str = "Familienname;Vornamen;Geburtsdatum (TT.MM.JJJJ);Straße;Hausnummer;PLZ;Ort;Gemeindeschlüssel\n";

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 24).unwrap()
    }

    #[test]
    fn a_good_file_parses_with_bom_quotes_and_crlf() {
        let text = format!("\u{feff}{HEADER}Meier;\"Jürgen Paul\";17.05.2023;Lindenstraße;4a;04109;Leipzig;14713000\r\nSchmitt;Paula;01.02.2022;Birkenweg;9;04105;Leipzig;14713000\r\n\r\n");
        let e = parse(text.as_bytes(), today()).unwrap();
        assert_eq!(e.encoding, "UTF-8");
        assert_eq!(e.residents.len(), 2);
        assert_eq!(e.residents[0].first_names, "Jürgen Paul");
        assert_eq!(e.residents[0].birth_date, NaiveDate::from_ymd_opt(2023, 5, 17).unwrap());
        assert_eq!(e.residents[1].line, 3);
    }

    #[test]
    fn windows_1252_is_read() {
        // Header and a row in Windows-1252: ß = 0xDF, ü = 0xFC.
        let mut file = b"Familienname;Vornamen;Geburtsdatum (TT.MM.JJJJ);Stra\xDFe;Hausnummer;PLZ;Ort;Gemeindeschl\xFCssel\n".to_vec();
        file.extend_from_slice(b"M\xFCller;J\xFCrgen;17.05.2023;Hauptstra\xDFe;1;04109;Leipzig;14713000\n");
        let e = parse(&file, today()).unwrap();
        assert_eq!(e.encoding, "Windows-1252");
        assert_eq!(e.residents[0].last_name, "Müller");
        assert_eq!(e.residents[0].street, "Hauptstraße");
    }

    #[test]
    fn errors_name_line_and_column() {
        let text = format!("{HEADER}Meier;Jürgen;17.05.2023;Lindenstraße;4;04109;Leipzig;14713000\nSchmitt;Paula;31.02.2022;Birkenweg;9;4105;Leipzig;147\n");
        let errors = parse(text.as_bytes(), today()).unwrap_err();
        assert_eq!(
            errors,
            vec![
                "Zeile 3, Spalte 3 (Geburtsdatum (TT.MM.JJJJ)): „31.02.2022“ ist kein gültiger Kalendertag",
                "Zeile 3, Spalte 6 (PLZ): „4105“ ist keine Postleitzahl (fünf Ziffern)",
                "Zeile 3, Spalte 8 (Gemeindeschlüssel): „147“ ist kein amtlicher Gemeindeschlüssel (acht Ziffern)",
            ]
        );
        let e = parse(format!("{HEADER}A;B;2023-05-17;S;1;04109;L;14713000\n").as_bytes(), today()).unwrap_err();
        assert!(e[0].starts_with("Zeile 2, Spalte 3") && e[0].contains("TT.MM.JJJJ"), "{e:?}");
        let e = parse(format!("{HEADER}A;B;17.05.2030;S;1;04109;L;14713000\n").as_bytes(), today()).unwrap_err();
        assert!(e[0].contains("heute"), "{e:?}");
        let e = parse(format!("{HEADER}A;B;17.05.2023;S;1;04109;L\n").as_bytes(), today()).unwrap_err();
        assert_eq!(e, vec!["Zeile 2: 7 Spalten statt 8 (Trennzeichen ist das Semikolon)"]);
        let e = parse(b"Name,Vorname\n", today()).unwrap_err();
        assert!(e[0].starts_with("Zeile 1: die Kopfzeile"), "{e:?}");
        assert!(parse(b"", today()).is_err());
        assert!(parse(HEADER.as_bytes(), today()).is_err());
    }

    #[test]
    fn classification() {
        let r = |l: &'static str, f: &'static str| Person { last_name: l, first_names: f };
        let (a, b) = (Uuid::from_u128(1), Uuid::from_u128(2));
        let child = r("Meier", "Jürgen");
        assert_eq!(classify(&child, &[(a, r("Meier", "Jürgen Paul"))]), (MatchStatus::Matched, Some(a)));
        assert_eq!(classify(&child, &[(a, r("MEIER", "Juergen"))]), (MatchStatus::Matched, Some(a)));
        assert_eq!(classify(&child, &[(a, r("Maier", "Jürgen")), (b, r("Meier", "Jürgen"))]), (MatchStatus::Matched, Some(b)));
        assert_eq!(classify(&child, &[(a, r("Mayer", "Paul Jürgen"))]), (MatchStatus::MatchedPhonetic, Some(a)));
        assert_eq!(classify(&child, &[(a, r("Mayer", "Jürgen")), (b, r("Maier", "Jürgen"))]), (MatchStatus::Ambiguous, None));
        assert_eq!(classify(&child, &[(a, r("Meier", "Jürgen")), (b, r("Meier", "Jürgen"))]), (MatchStatus::Ambiguous, None));
        assert_eq!(classify(&child, &[(a, r("Schulze", "Jürgen"))]), (MatchStatus::NotFound, None));
        assert_eq!(classify(&child, &[]), (MatchStatus::NotFound, None));
    }
}
