//! Fee rule sets as data: one TOML file per municipality and version with validity dates
//! (`rules/*.toml` in the repository). Loading validates everything the engine relies on —
//! legal bands, monotone tables, reductions that never raise a fee — so a bad file is refused
//! with a message naming the field, before any fee is computed from it.
//!
//! Messages are German: they are read by the provider's staff who maintain the files.

use super::money::Percent;
use crate::care::CareType;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use thiserror::Error;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum RuleSetError {
    #[error("Regelwerk {file}: Datei ist kein gültiges TOML oder hat ein unbekanntes Feld: {reason}")]
    Parse { file: String, reason: String },
    #[error("Regelwerk {file}: {field}: {reason}")]
    Invalid { file: String, field: String, reason: String },
    #[error("Regelwerke {a} und {b} gelten beide für {municipality} am {day} (Gültigkeiten überschneiden sich)")]
    Overlap { a: String, b: String, municipality: String, day: NaiveDate },
}

/// How a month with a change (start, end, new hours, new sibling, new rules) is split.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Proration {
    /// Each part pays its monthly fee × its calendar days / days of the month.
    CalendarDays,
    /// The situation on the first contracted day of the month applies to the whole month;
    /// a care that starts after the 15th pays from the next month.
    WholeMonth,
}

/// Which reduction a fee line is; the claimable ones are reimbursed by the youth office.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum ReductionKind {
    /// Geschwisterermäßigung.
    Sibling,
    /// Ermäßigung für Alleinerziehende.
    SingleParent,
    /// Beitragsfreiheit (free years / free hours).
    Free,
}

impl ReductionKind {
    pub fn label_de(self) -> &'static str {
        match self {
            Self::Sibling => "Geschwisterermäßigung",
            Self::SingleParent => "Ermäßigung für Alleinerziehende",
            Self::Free => "Beitragsfreiheit",
        }
    }
}

/// Saxony model (SächsKitaG §15): a share of the operating cost per place, for the cost basis
/// hours, linear in the contracted hours.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CostShare {
    /// Average monthly operating cost per place (cents), as published by the municipality.
    pub cost_cents: i64,
    /// The published fee for `basis_tenths` hours. Give either this or `share_percent`.
    pub fee_cents: Option<i64>,
    /// The municipality's share of the cost; the fee is `cost × share`.
    pub share_percent: Option<Percent>,
    /// Cost basis in tenths of an hour: 90 (nursery, kindergarten), 60 (after-school).
    pub basis_tenths: u16,
    /// Legal band of the share [min, max] (nursery 15–23 %, kindergarten 15–30 %, after-school 0–30 %).
    pub band_percent: [Percent; 2],
}

impl CostShare {
    /// The fee for the basis hours.
    pub fn basis_fee(&self) -> i64 {
        match (self.fee_cents, self.share_percent) {
            (Some(f), _) => f,
            (None, Some(p)) => p.of(self.cost_cents),
            (None, None) => 0, // refused by validation
        }
    }

    /// The effective share in hundredths of a percent (for the explanation).
    pub fn effective_share(&self) -> u32 {
        super::money::round_div(self.basis_fee() as i128 * 10_000, self.cost_cents.max(1) as i128) as u32
    }
}

/// One income bracket: up to a yearly household income, a fee per hours band.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Bracket {
    /// Upper bound of yearly household income in cents (inclusive); omitted on the last bracket.
    pub up_to_cents: Option<i64>,
    /// Monthly fee in cents for each entry of `hour_bands_tenths`.
    pub fees_cents: Vec<i64>,
}

/// Income-bracket model (NRW-style, KiBiz §51 statutes).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IncomeBrackets {
    /// Upper bounds of the daily-hours bands in tenths (inclusive), ascending, the last ≥ 120;
    /// e.g. [50, 70, 120] for 25/35/45 weekly hours.
    pub hour_bands_tenths: Vec<u16>,
    pub brackets: Vec<Bracket>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Model {
    CostShare { care: BTreeMap<CareType, CostShare> },
    IncomeBrackets(IncomeBrackets),
}

/// Percentages parents pay by the child's place among the siblings attending at the same time
/// (oldest first): `[100, 60, 0]` = first full, second 60 %, third and later free. The last
/// entry repeats.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PayPercents {
    pub pay_percent: Vec<Percent>,
}

impl PayPercents {
    /// The percentage for the `ordinal`-th child (1-based).
    pub fn for_ordinal(&self, ordinal: usize) -> Percent {
        let i = ordinal.saturating_sub(1).min(self.pay_percent.len().saturating_sub(1));
        self.pay_percent.get(i).copied().unwrap_or(Percent::HUNDRED)
    }
}

/// Free years / free hours: from an age on, up to some hours per day are free.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FreeRule {
    /// Applies from the month in which the child reaches this age.
    pub from_age_years: u8,
    /// Hours per day that are free, in tenths (120 = the whole day).
    pub free_tenths: u16,
    /// Care types it applies to; empty = all.
    #[serde(default)]
    pub care_types: Vec<CareType>,
}

/// A validated rule set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleSet {
    /// Short id, e.g. "leipzig-2014".
    pub id: String,
    /// Municipality (Gemeinde) whose children it applies to; matches the child's municipality.
    pub municipality: String,
    /// Title of the statute for documents.
    pub title: String,
    /// Version of the file; a new version of the same statute gets a new number.
    pub version: u32,
    pub valid_from: NaiveDate,
    pub valid_to: Option<NaiveDate>,
    pub proration: Proration,
    pub model: Model,
    pub siblings: Option<PayPercents>,
    pub single_parent: Option<PayPercents>,
    #[serde(default)]
    pub free: Vec<FreeRule>,
    /// Reductions the youth office reimburses (SächsKitaG §15 Abs. 5).
    #[serde(default)]
    pub claimable: Vec<ReductionKind>,
}

impl RuleSet {
    /// Parses and validates a rule file. `file` names it in errors.
    pub fn from_toml(file: &str, text: &str) -> Result<RuleSet, RuleSetError> {
        let rs: RuleSet = toml::from_str(text).map_err(|e| RuleSetError::Parse { file: file.to_string(), reason: e.to_string() })?;
        rs.validate(file)?;
        Ok(rs)
    }

    /// "Elternbeitragssatzung Leipzig (Fassung 1, gültig ab 01.08.2014)".
    pub fn describe(&self) -> String {
        format!("{} (Fassung {}, gültig ab {})", self.title, self.version, crate::de::date(self.valid_from))
    }

    pub fn applies_on(&self, day: NaiveDate) -> bool {
        day >= self.valid_from && self.valid_to.is_none_or(|t| day <= t)
    }

    pub fn is_claimable(&self, kind: ReductionKind) -> bool {
        self.claimable.contains(&kind)
    }

    fn validate(&self, file: &str) -> Result<(), RuleSetError> {
        let bad = |field: &str, reason: String| RuleSetError::Invalid { file: file.to_string(), field: field.to_string(), reason };
        if self.id.trim().is_empty() || self.municipality.trim().is_empty() || self.title.trim().is_empty() {
            return Err(bad("id/municipality/title", "darf nicht leer sein".into()));
        }
        if let Some(to) = self.valid_to {
            if to < self.valid_from {
                return Err(bad("valid_to", format!("{to} liegt vor valid_from {}", self.valid_from)));
            }
        }
        match &self.model {
            Model::CostShare { care } => {
                if care.is_empty() {
                    return Err(bad("model.care", "mindestens eine Betreuungsart angeben".into()));
                }
                for (ct, c) in care {
                    let f = |name: &str| format!("model.care.{}.{name}", ct.code());
                    if c.cost_cents <= 0 {
                        return Err(bad(&f("cost_cents"), "muss positiv sein".into()));
                    }
                    if c.fee_cents.is_some() == c.share_percent.is_some() {
                        return Err(bad(&f("fee_cents"), "genau eines von fee_cents und share_percent angeben".into()));
                    }
                    if c.fee_cents.is_some_and(|f| f < 0) {
                        return Err(bad(&f("fee_cents"), "darf nicht negativ sein".into()));
                    }
                    if !(10..=120).contains(&c.basis_tenths) {
                        return Err(bad(&f("basis_tenths"), format!("{} liegt nicht zwischen 10 und 120 (1–12 h)", c.basis_tenths)));
                    }
                    let [lo, hi] = c.band_percent;
                    if lo > hi || hi > Percent::HUNDRED {
                        return Err(bad(&f("band_percent"), "Untergrenze ≤ Obergrenze ≤ 100 %".into()));
                    }
                    let share = c.effective_share();
                    if share < lo.0 || share > hi.0 {
                        return Err(bad(
                            &f("fee_cents"),
                            format!(
                                "Anteil {} % der Betriebskosten liegt außerhalb des gesetzlichen Rahmens {}–{} %",
                                crate::de::percent(share),
                                crate::de::percent(lo.0),
                                crate::de::percent(hi.0)
                            ),
                        ));
                    }
                }
            }
            Model::IncomeBrackets(m) => {
                if m.hour_bands_tenths.is_empty() || !m.hour_bands_tenths.windows(2).all(|w| w[0] < w[1]) {
                    return Err(bad("model.hour_bands_tenths", "aufsteigend und nicht leer".into()));
                }
                if *m.hour_bands_tenths.last().expect("not empty") < 120 {
                    return Err(bad("model.hour_bands_tenths", "die letzte Stufe muss bis 120 (12 h) reichen".into()));
                }
                if m.brackets.is_empty() {
                    return Err(bad("model.brackets", "mindestens eine Einkommensstufe angeben".into()));
                }
                for (i, b) in m.brackets.iter().enumerate() {
                    let f = format!("model.brackets[{}]", i + 1);
                    if b.fees_cents.len() != m.hour_bands_tenths.len() {
                        return Err(bad(&f, format!("{} Beiträge für {} Stundenstufen", b.fees_cents.len(), m.hour_bands_tenths.len())));
                    }
                    if b.fees_cents.iter().any(|&x| x < 0) || !b.fees_cents.windows(2).all(|w| w[0] <= w[1]) {
                        return Err(bad(&f, "Beiträge dürfen nicht negativ sein und mit den Stunden nicht sinken".into()));
                    }
                    let last = i + 1 == m.brackets.len();
                    match (b.up_to_cents, last) {
                        (None, false) => return Err(bad(&f, "nur die letzte Stufe darf ohne up_to_cents sein".into())),
                        (Some(_), true) => return Err(bad(&f, "die letzte Stufe hat keine Obergrenze (up_to_cents weglassen)".into())),
                        _ => {}
                    }
                    if i > 0 {
                        let prev = &m.brackets[i - 1];
                        if b.up_to_cents.is_some_and(|u| Some(u) <= prev.up_to_cents) {
                            return Err(bad(&f, "Einkommensgrenzen müssen aufsteigen".into()));
                        }
                        if b.fees_cents.iter().zip(&prev.fees_cents).any(|(a, p)| a < p) {
                            return Err(bad(&f, "Beiträge dürfen mit dem Einkommen nicht sinken".into()));
                        }
                    }
                }
            }
        }
        for (name, p) in [("siblings", &self.siblings), ("single_parent", &self.single_parent)] {
            if let Some(p) = p {
                if p.pay_percent.is_empty() || p.pay_percent.iter().any(|x| *x > Percent::HUNDRED) {
                    return Err(bad(&format!("{name}.pay_percent"), "nicht leer, jeder Wert höchstens 100".into()));
                }
                if !p.pay_percent.windows(2).all(|w| w[0] >= w[1]) {
                    return Err(bad(&format!("{name}.pay_percent"), "darf für spätere Kinder nicht steigen".into()));
                }
            }
        }
        // A single parent must never pay more than a couple would for the same child.
        if let Some(sp) = &self.single_parent {
            let sib = self.siblings.clone().unwrap_or(PayPercents { pay_percent: vec![Percent::HUNDRED] });
            let n = sp.pay_percent.len().max(sib.pay_percent.len());
            if let Some(k) = (1..=n).find(|&k| sp.for_ordinal(k) > sib.for_ordinal(k)) {
                return Err(bad(
                    "single_parent.pay_percent",
                    format!("für das {k}. Kind höher als ohne Ermäßigung für Alleinerziehende (siblings.pay_percent)"),
                ));
            }
        }
        for (i, fr) in self.free.iter().enumerate() {
            if !(1..=120).contains(&fr.free_tenths) {
                return Err(bad(&format!("free[{}].free_tenths", i + 1), "zwischen 1 und 120 (0,1–12 h)".into()));
            }
        }
        Ok(())
    }
}

/// All rule sets known to a device, across municipalities.
#[derive(Debug, Clone, Default)]
pub struct RuleBook {
    sets: Vec<RuleSet>,
}

impl RuleBook {
    /// Checks that no two sets of one municipality are valid on the same day.
    pub fn new(mut sets: Vec<RuleSet>) -> Result<RuleBook, RuleSetError> {
        sets.sort_by(|a, b| (a.municipality.to_lowercase(), a.valid_from).cmp(&(b.municipality.to_lowercase(), b.valid_from)));
        for w in sets.windows(2) {
            let (a, b) = (&w[0], &w[1]);
            if a.municipality.eq_ignore_ascii_case(&b.municipality) && a.valid_to.is_none_or(|t| t >= b.valid_from) {
                return Err(RuleSetError::Overlap {
                    a: format!("{} v{}", a.id, a.version),
                    b: format!("{} v{}", b.id, b.version),
                    municipality: a.municipality.clone(),
                    day: b.valid_from,
                });
            }
        }
        Ok(RuleBook { sets })
    }

    pub fn sets(&self) -> &[RuleSet] {
        &self.sets
    }

    /// The set for the municipality valid on `day`.
    pub fn applicable(&self, municipality: &str, day: NaiveDate) -> Option<&RuleSet> {
        self.sets.iter().find(|s| s.municipality.eq_ignore_ascii_case(municipality.trim()) && s.applies_on(day))
    }

    /// Days in `[from, to]` on which the applicable set changes (for splitting a month).
    pub fn changes_within(&self, municipality: &str, from: NaiveDate, to: NaiveDate) -> Vec<NaiveDate> {
        let mut v = Vec::new();
        for s in self.sets.iter().filter(|s| s.municipality.eq_ignore_ascii_case(municipality.trim())) {
            if s.valid_from > from && s.valid_from <= to {
                v.push(s.valid_from);
            }
            if let Some(next) = s.valid_to.and_then(|t| t.succ_opt()) {
                if next > from && next <= to {
                    v.push(next);
                }
            }
        }
        v
    }
}
