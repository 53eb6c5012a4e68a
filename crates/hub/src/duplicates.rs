//! The de-duplicated waiting list (§4: "duplicates … are detected and merged, never silently
//! dropped"): the hub looks for the same child registered twice — in any facility of any
//! provider, also with spelling variants — and files a *proposal*. Nothing is ever merged or
//! deleted here: a device of an involved facility confirms ("same child") or rejects; merging
//! the applications themselves happens in the offices.
//!
//! The comparison is a pure function ([`compare`]) on [`Keys`]: Kölner Phonetik (crate
//! `rphonetic`) of first and last name, birth date, and the address (postal code + normalised
//! street). Candidates: same birth date, same phonetic last name, and (same phonetic first
//! name or same address).

use crate::{DeviceAuth, Hub, HubError};
use chrono::{DateTime, NaiveDate, Utc};
use kitakontor_core::person::Address;
use rphonetic::{Cologne, Encoder};
use sqlx::types::Json;
use sqlx::PgConnection;
use uuid::Uuid;

/// Folds letters the Kölner Phonetik does not know (it only reads A–Z and Ä/Ö/Ü) to their base
/// letter: "Zoë" → "Zoe", "José" → "Jose". ß becomes "ss".
fn fold(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        let r = match c {
            'à' | 'á' | 'â' | 'ã' | 'å' | 'ą' | 'ă' => "a",
            'À' | 'Á' | 'Â' | 'Ã' | 'Å' | 'Ą' | 'Ă' => "A",
            'è' | 'é' | 'ê' | 'ë' | 'ę' | 'ě' => "e",
            'È' | 'É' | 'Ê' | 'Ë' | 'Ę' | 'Ě' => "E",
            'ì' | 'í' | 'î' | 'ï' | 'ı' => "i",
            'Ì' | 'Í' | 'Î' | 'Ï' | 'İ' => "I",
            'ò' | 'ó' | 'ô' | 'õ' | 'ø' | 'ő' => "o",
            'Ò' | 'Ó' | 'Ô' | 'Õ' | 'Ø' | 'Ő' => "O",
            'ù' | 'ú' | 'û' | 'ů' | 'ű' => "u",
            'Ù' | 'Ú' | 'Û' | 'Ů' | 'Ű' => "U",
            'ç' | 'ć' | 'č' => "c",
            'Ç' | 'Ć' | 'Č' => "C",
            'ñ' | 'ń' | 'ň' => "n",
            'Ñ' | 'Ń' | 'Ň' => "N",
            'š' | 'ś' | 'ş' => "s",
            'Š' | 'Ś' | 'Ş' => "S",
            'ž' | 'ź' | 'ż' => "z",
            'Ž' | 'Ź' | 'Ż' => "Z",
            'ł' => "l",
            'Ł' => "L",
            'ř' => "r",
            'Ř' => "R",
            'ý' | 'ÿ' => "y",
            'Ý' => "Y",
            'ß' => "ss",
            other => {
                out.push(other);
                continue;
            }
        };
        out.push_str(r);
    }
    out
}

/// Kölner Phonetik of a name ("" when it has no letters the algorithm codes).
pub fn phonetic(name: &str) -> String {
    Cologne.encode(&fold(name.trim()))
}

/// A name for exact comparison: lower case, umlauts transcribed (ä → ae, ß → ss), accents
/// folded, hyphens and runs of spaces as one space. "Jürgen" and "Juergen" are equal.
pub fn normalise_name(name: &str) -> String {
    let lower = name.trim().to_lowercase().replace('ä', "ae").replace('ö', "oe").replace('ü', "ue");
    let folded = fold(&lower);
    folded.split(|c: char| c.is_whitespace() || c == '-').filter(|p| !p.is_empty()).collect::<Vec<_>>().join(" ")
}

/// The first of several given names ("Anna-Lena Marie" → "Anna"), the one offices write.
pub fn first_given_name(first_names: &str) -> &str {
    first_names.split(|c: char| c.is_whitespace() || c == '-').find(|p| !p.is_empty()).unwrap_or("")
}

/// A street for comparison: lower case letters and digits only, "straße"/"strasse"/"str." as "str".
/// "Lindenstraße 4" and "Lindenstr. 4" are equal.
pub fn normalise_street(street: &str) -> String {
    let s = normalise_name(street).replace("strasse", "str");
    s.chars().filter(|c| c.is_ascii_alphanumeric()).collect()
}

/// What the comparison reads of a child.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keys {
    pub first_norm: String,
    pub last_norm: String,
    /// Kölner Phonetik of the first given name.
    pub first_phonetic: String,
    pub last_phonetic: String,
    pub birth_date: NaiveDate,
    /// Postal code + normalised street (with the house number); `None` when either is empty.
    pub address: Option<String>,
}

impl Keys {
    pub fn new(first_name: &str, last_name: &str, birth_date: NaiveDate, address: &Address) -> Keys {
        let street = normalise_street(&address.street);
        let postal = address.postal_code.trim();
        Keys {
            first_norm: normalise_name(first_name),
            last_norm: normalise_name(last_name),
            first_phonetic: phonetic(first_given_name(first_name)),
            last_phonetic: phonetic(last_name),
            birth_date,
            address: (!street.is_empty() && !postal.is_empty()).then(|| format!("{postal} {street}")),
        }
    }
}

/// A candidate pair: how sure (0–100) and why (German, for the office).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub score: i32,
    pub reason: String,
}

/// The comparison of two children of different records. `None`: not a candidate pair.
pub fn compare(a: &Keys, b: &Keys) -> Option<Candidate> {
    if a.birth_date != b.birth_date || a.last_phonetic.is_empty() || a.last_phonetic != b.last_phonetic {
        return None;
    }
    let first_sounds = !a.first_phonetic.is_empty() && a.first_phonetic == b.first_phonetic;
    let same_address = a.address.is_some() && a.address == b.address;
    if !first_sounds && !same_address {
        return None;
    }
    let mut score = 30;
    let mut why = vec!["gleiches Geburtsdatum".to_string()];
    if a.last_norm == b.last_norm {
        score += 15;
        why.push("gleicher Nachname".into());
    } else {
        score += 5;
        why.push("Nachname klingt gleich".into());
    }
    if a.first_norm == b.first_norm {
        score += 35;
        why.push("gleicher Vorname".into());
    } else if first_sounds {
        score += 25;
        why.push("Vorname klingt gleich".into());
    } else {
        why.push("anderer Vorname (Zwillinge?)".into());
    }
    if same_address {
        score += 20;
        why.push("gleiche Anschrift".into());
    }
    Some(Candidate { score: score.min(100), reason: why.join(", ") })
}

// The wire types a PC reads and sends live in `kitakontor_core::protocol::city`, shared with
// the desktop; re-exported here for the hub's callers.
pub use kitakontor_core::protocol::city::{DecideDuplicate, Decision, DuplicateView, OtherChild, OwnChild, ProposalState};

/// One proposal for the city's administrator (`duplicates list`).
#[derive(Debug, Clone, PartialEq)]
pub struct ProposalRow {
    pub id: Uuid,
    pub state: String,
    pub score: i32,
    pub reason: String,
    pub a: String,
    pub b: String,
}

type ChildRow = (Uuid, Uuid, String, String, NaiveDate, Json<Address>);

fn keys_of(r: &ChildRow) -> Keys {
    Keys::new(&r.2, &r.3, r.4, &r.5 .0)
}

/// Files an open proposal for a pair unless the pair already has one (in any state: a
/// rejected pair is not proposed again). Returns whether it was new.
async fn propose(conn: &mut PgConnection, a: Uuid, b: Uuid, c: &Candidate, now: DateTime<Utc>) -> Result<bool, HubError> {
    let (lo, hi) = if a < b { (a, b) } else { (b, a) };
    let n = sqlx::query(
        "INSERT INTO duplicate_proposals (id, child_a, child_b, reason, score, state, created_at) VALUES ($1, $2, $3, $4, $5, 'open', $6)
         ON CONFLICT (least(child_a, child_b), greatest(child_a, child_b)) DO NOTHING",
    )
    .bind(Uuid::now_v7())
    .bind(lo)
    .bind(hi)
    .bind(&c.reason)
    .bind(c.score)
    .bind(now)
    .execute(conn)
    .await?
    .rows_affected();
    Ok(n == 1)
}

/// Looks for duplicates of one child among the children with the same birth date. Called by
/// `apply` inside the transaction of a CreateChild/UpdateChild (cheap: one index lookup).
/// Pairs that two concurrent transactions write are found by the next full scan.
pub(crate) async fn detect_for_child(conn: &mut PgConnection, child: Uuid, now: DateTime<Utc>) -> Result<usize, HubError> {
    let rows: Vec<ChildRow> = sqlx::query_as(
        "SELECT c.id, c.facility_id, c.first_name, c.last_name, c.birth_date, c.address FROM children c
         WHERE c.birth_date = (SELECT birth_date FROM children WHERE id = $1)",
    )
    .bind(child)
    .fetch_all(&mut *conn)
    .await?;
    let Some(me) = rows.iter().find(|r| r.0 == child) else { return Ok(0) };
    let mine = keys_of(me);
    let mut new = 0;
    for other in rows.iter().filter(|r| r.0 != child) {
        if let Some(c) = compare(&mine, &keys_of(other)) {
            new += usize::from(propose(conn, child, other.0, &c, now).await?);
        }
    }
    Ok(new)
}

/// Removes the proposals of a deleted child (its file is gone; nothing may point at it).
pub(crate) async fn forget_child(conn: &mut PgConnection, child: Uuid) -> Result<(), HubError> {
    sqlx::query("DELETE FROM duplicate_proposals WHERE child_a = $1 OR child_b = $1").bind(child).execute(&mut *conn).await?;
    sqlx::query("DELETE FROM registry_matches WHERE child_id = $1").bind(child).execute(conn).await?;
    Ok(())
}

const VIEW: &str = "SELECT p.id, p.reason, p.score, p.state, p.decided_at,
        mine.id, mine.first_name, mine.last_name, mine.birth_date,
        other.first_name, other.last_name, other.birth_date, COALESCE(f.name, 'Einrichtung ' || other.facility_id::text)
     FROM duplicate_proposals p
     JOIN children mine ON mine.id IN (p.child_a, p.child_b)
     JOIN children other ON other.id IN (p.child_a, p.child_b) AND other.id <> mine.id
     LEFT JOIN facilities f ON f.id = other.facility_id
     WHERE mine.facility_id = $1";

type ViewRow = (Uuid, String, i32, String, Option<DateTime<Utc>>, Uuid, String, String, NaiveDate, String, String, NaiveDate, String);

fn view(r: ViewRow) -> DuplicateView {
    DuplicateView {
        id: r.0,
        reason: r.1,
        score: r.2,
        // The table's CHECK allows only these three; anything else would be a bug shown as open.
        state: ProposalState::from_code(&r.3).unwrap_or(ProposalState::Open),
        decided_at: r.4,
        child: OwnChild { child_id: r.5, first_name: r.6, last_name: r.7, birth_date: r.8 },
        other: OtherChild { first_name: r.9, last_name: r.10, birth_date: r.11, facility_name: r.12 },
    }
}

impl Hub {
    /// Scans the whole `children` read model (grouped by birth date) and files new open
    /// proposals. Returns how many are new. Never merges or changes a child.
    pub async fn detect_duplicates(&self) -> Result<usize, HubError> {
        let now = self.now();
        let mut tx = self.pool.begin().await?;
        let rows: Vec<ChildRow> = sqlx::query_as(
            "SELECT id, facility_id, first_name, last_name, birth_date, address FROM children c
             WHERE EXISTS (SELECT 1 FROM children o WHERE o.birth_date = c.birth_date AND o.id <> c.id)
             ORDER BY birth_date, id",
        )
        .fetch_all(&mut *tx)
        .await?;
        let keys: Vec<Keys> = rows.iter().map(keys_of).collect();
        let mut new = 0;
        let mut start = 0;
        while start < rows.len() {
            let end = start + rows[start..].iter().take_while(|r| r.4 == rows[start].4).count();
            for i in start..end {
                for j in i + 1..end {
                    if let Some(c) = compare(&keys[i], &keys[j]) {
                        new += usize::from(propose(&mut tx, rows[i].0, rows[j].0, &c, now).await?);
                    }
                }
            }
            start = end;
        }
        tx.commit().await?;
        tracing::info!(children = rows.len(), new, "duplicate scan");
        Ok(new)
    }

    /// The proposals that involve a child of the device's facility, one row per own child.
    pub async fn duplicates_for(&self, auth: &DeviceAuth) -> Result<Vec<DuplicateView>, HubError> {
        let rows: Vec<ViewRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!("{VIEW} ORDER BY p.state = 'open' DESC, p.score DESC, p.id")))
            .bind(auth.facility_id.0)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.into_iter().map(view).collect())
    }

    /// A device of an involved facility decides a proposal. Unknown and foreign proposals are
    /// "not found" alike. Deciding again with the same decision is a no-op; a decided proposal
    /// cannot be turned round.
    pub async fn decide_duplicate(&self, auth: &DeviceAuth, id: Uuid, decision: Decision) -> Result<DuplicateView, HubError> {
        let now = self.now();
        let mut tx = self.pool.begin().await?;
        let state: Option<(String,)> = sqlx::query_as(
            "SELECT p.state FROM duplicate_proposals p
             WHERE p.id = $1 AND EXISTS (SELECT 1 FROM children c WHERE c.id IN (p.child_a, p.child_b) AND c.facility_id = $2)
             FOR UPDATE OF p",
        )
        .bind(id)
        .bind(auth.facility_id.0)
        .fetch_optional(&mut *tx)
        .await?;
        let Some((state,)) = state else {
            return Err(HubError::NotFound(format!("Der Dublettenvorschlag {id}")));
        };
        if state == "open" {
            sqlx::query("UPDATE duplicate_proposals SET state = $2, decided_by_device = $3, decided_at = $4 WHERE id = $1")
                .bind(id)
                .bind(decision.code())
                .bind(auth.device_id.0)
                .bind(now)
                .execute(&mut *tx)
                .await?;
        } else if state != decision.code() {
            let label = Decision::from_code(&state).map_or(state.as_str(), |d| d.label_de());
            return Err(HubError::BadRequest(format!("Über diesen Dublettenvorschlag wurde bereits entschieden: {label}")));
        }
        let row: ViewRow = sqlx::query_as(sqlx::AssertSqlSafe(format!("{VIEW} AND p.id = $2 ORDER BY mine.id LIMIT 1")))
            .bind(auth.facility_id.0)
            .bind(id)
            .fetch_one(&mut *tx)
            .await?;
        tx.commit().await?;
        tracing::info!(proposal = %id, decision = decision.code(), "duplicate decided");
        Ok(view(row))
    }

    /// All proposals, open first (the city administrator's `duplicates list`).
    pub async fn duplicate_proposals(&self) -> Result<Vec<ProposalRow>, HubError> {
        type Row = (Uuid, String, i32, String, Option<String>, Option<String>);
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT p.id, p.state, p.score, p.reason,
                    (SELECT c.first_name || ' ' || c.last_name || ' (' || to_char(c.birth_date, 'DD.MM.YYYY') || ', '
                            || COALESCE(f.name, c.facility_id::text) || ')'
                       FROM children c LEFT JOIN facilities f ON f.id = c.facility_id WHERE c.id = p.child_a),
                    (SELECT c.first_name || ' ' || c.last_name || ' (' || to_char(c.birth_date, 'DD.MM.YYYY') || ', '
                            || COALESCE(f.name, c.facility_id::text) || ')'
                       FROM children c LEFT JOIN facilities f ON f.id = c.facility_id WHERE c.id = p.child_b)
             FROM duplicate_proposals p ORDER BY p.state = 'open' DESC, p.score DESC, p.created_at, p.id",
        )
        .fetch_all(&self.pool)
        .await?;
        let gone = || "(gelöscht)".to_string();
        Ok(rows
            .into_iter()
            .map(|(id, state, score, reason, a, b)| ProposalRow {
                id,
                state,
                score,
                reason,
                a: a.unwrap_or_else(gone),
                b: b.unwrap_or_else(gone),
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(street: &str, postal: &str) -> Address {
        Address { street: street.into(), postal_code: postal.into(), city: "Leipzig".into() }
    }

    fn keys(first: &str, last: &str, d: (i32, u32, u32), street: &str) -> Keys {
        Keys::new(first, last, NaiveDate::from_ymd_opt(d.0, d.1, d.2).unwrap(), &addr(street, "04109"))
    }

    const BORN: (i32, u32, u32) = (2023, 5, 17);

    #[test]
    fn phonetic_codes_of_spelling_variants_agree() {
        assert_eq!(phonetic("Meier"), phonetic("Maier"));
        assert_eq!(phonetic("Meier"), phonetic("Mayer"));
        assert_eq!(phonetic("Schmidt"), phonetic("Schmitt"));
        assert_eq!(phonetic("Jürgen"), phonetic("Juergen"));
        assert_eq!(phonetic("Zoë"), phonetic("Zoe"));
        assert_eq!(phonetic("Müller"), phonetic("Mueller"));
        assert_eq!(phonetic("Strauß"), phonetic("Strauss"));
        assert_ne!(phonetic("Meier"), phonetic("Schmidt"));
        assert_eq!(phonetic("---"), "");
    }

    #[test]
    fn names_and_streets_normalise() {
        assert_eq!(normalise_name("  Jürgen "), normalise_name("Juergen"));
        assert_eq!(normalise_name("Zoë"), "zoe");
        assert_eq!(normalise_name("Anna-Lena  Marie"), "anna lena marie");
        assert_eq!(normalise_street("Lindenstraße 4"), normalise_street("Lindenstr. 4"));
        assert_eq!(normalise_street("Lindenstrasse 4"), "lindenstr4");
        assert_eq!(first_given_name("Anna-Lena Marie"), "Anna");
    }

    #[test]
    fn spelling_variants_are_candidates() {
        let pairs = [
            (("Jürgen", "Meier"), ("Juergen", "Maier")),
            (("Jürgen", "Meier"), ("Jürgen", "Mayer")),
            (("Paula", "Schmidt"), ("Paula", "Schmitt")),
            (("Zoë", "Kühn"), ("Zoe", "Kuehn")),
            (("Lea", "Größer"), ("Lea", "Groesser")),
        ];
        for ((f1, l1), (f2, l2)) in pairs {
            let a = keys(f1, l1, BORN, "Lindenstraße 4");
            let b = keys(f2, l2, BORN, "Birkenweg 9");
            let c = compare(&a, &b).unwrap_or_else(|| panic!("{f1} {l1} / {f2} {l2}"));
            assert!(c.score >= 60, "{c:?}");
            assert!(c.reason.contains("gleiches Geburtsdatum"), "{c:?}");
        }
        // Same spelling, same address: the strongest proposal.
        let a = keys("Paula", "Schmidt", BORN, "Lindenstraße 4");
        let b = keys("Paula", "Schmidt", BORN, "Lindenstr. 4");
        let c = compare(&a, &b).unwrap();
        assert_eq!(c.score, 100);
        assert_eq!(c.reason, "gleiches Geburtsdatum, gleicher Nachname, gleicher Vorname, gleiche Anschrift");
        // Symmetric.
        assert_eq!(compare(&b, &a), Some(c));
    }

    #[test]
    fn a_different_first_name_counts_only_at_the_same_address() {
        let a = keys("Emil", "Maier", BORN, "Lindenstraße 4");
        let b = keys("Oskar", "Meier", BORN, "Birkenweg 9");
        assert_eq!(compare(&a, &b), None);
        // Same address and birth date (twins?): a weak proposal that the office rejects.
        let twin = keys("Oskar", "Maier", BORN, "Lindenstr. 4");
        let c = compare(&a, &twin).unwrap();
        assert!(c.score < 70 && c.reason.contains("Zwillinge"), "{c:?}");
    }

    #[test]
    fn non_matches() {
        // Different birth date.
        let a = keys("Jürgen", "Meier", BORN, "Lindenstraße 4");
        assert_eq!(compare(&a, &keys("Jürgen", "Meier", (2023, 5, 18), "Lindenstraße 4")), None);
        // Siblings: same address and last name, different first names and birth dates.
        let sister = keys("Frieda", "Meier", (2021, 2, 3), "Lindenstraße 4");
        assert_eq!(compare(&a, &sister), None);
        // Same birth date and first name, but a last name that sounds different.
        assert_eq!(compare(&a, &keys("Jürgen", "Schulze", BORN, "Lindenstraße 4")), None);
        // No address on both sides is not "the same address".
        let x = Keys::new("Emil", "Maier", NaiveDate::from_ymd_opt(2023, 5, 17).unwrap(), &addr("", ""));
        let y = Keys::new("Oskar", "Maier", NaiveDate::from_ymd_opt(2023, 5, 17).unwrap(), &addr("", ""));
        assert_eq!(compare(&x, &y), None);
    }
}
