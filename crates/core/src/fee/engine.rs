//! The fee of every child of a family for one month.
//!
//! A month is split at every day on which something that matters changes — a contract starts,
//! ends or changes hours, a sibling starts or leaves, the household situation or the rule set
//! changes. Each part gets the monthly fee its situation would cost, and the rule set's
//! proration turns the parts into the month's amount. Rounding happens once per amount on
//! day-weighted sums, so a month split into parts with the same situation costs exactly the
//! full month.

use super::money::{round_div, Percent};
use super::rules::{Model, Proration, ReductionKind, RuleBook, RuleSet};
use crate::care::{month_end, month_start, CareHours, CareType};
use crate::de;
use crate::ids::ChildId;
use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};
use thiserror::Error;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum FeeError {
    #[error("Für {municipality} gilt am {} kein Beitragsregelwerk", de::date(*day))]
    NoRuleSet { municipality: String, day: NaiveDate },
    #[error("Das Regelwerk {rule_set} enthält keine Beiträge für {}", care_type.label_de())]
    CareTypeNotCovered { rule_set: String, care_type: CareType },
}

/// A stretch of contracted care: from a contract version's `valid_from` to the day before the
/// next version (or the contract's end).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Placement {
    pub from: NaiveDate,
    pub to: Option<NaiveDate>,
    pub care_type: CareType,
    pub care: CareHours,
}

impl Placement {
    fn contains(&self, d: NaiveDate) -> bool {
        d >= self.from && self.to.is_none_or(|t| d <= t)
    }
}

/// One child of the household. Children not `billed` (e.g. attending another provider's
/// facility) still count as siblings but get no fee here.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeeChild {
    pub id: ChildId,
    pub birth_date: NaiveDate,
    pub placements: Vec<Placement>,
    pub billed: bool,
}

/// The household's situation from `from` on (until the next entry).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Household {
    pub from: NaiveDate,
    pub single_parent: bool,
    /// Yearly household income in cents; None = not declared.
    pub income_cents: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FamilyInput {
    /// The municipality whose statute applies (the children's home municipality).
    pub municipality: String,
    pub children: Vec<FeeChild>,
    /// Sorted by `from`; the first entry also covers days before it.
    pub household: Vec<Household>,
}

/// One line of the explanation a person reads; the amounts of a child's lines sum to its fee.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct FeeLine {
    pub label: String,
    pub detail: String,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub amount_cents: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ReductionAmount {
    pub kind: ReductionKind,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub cents: i64,
    /// Reimbursed by the youth office (SächsKitaG §15 Abs. 5).
    pub claimable: bool,
}

/// The month's fee of one child, with its reductions and the explanation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ChildMonthFee {
    pub child_id: ChildId,
    pub month: NaiveDate,
    /// Care type and hours on the last contracted day of the month.
    pub care_type: CareType,
    pub care_tenths: u16,
    /// The fee before reductions.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub full_fee_cents: i64,
    pub reductions: Vec<ReductionAmount>,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub fee_cents: i64,
    pub lines: Vec<FeeLine>,
    /// The rule sets applied ("leipzig-2014 v1").
    pub rule_sets: Vec<String>,
    /// Calendar days with contracted care in the month.
    pub days: u32,
}

impl ChildMonthFee {
    pub fn claimable_cents(&self) -> i64 {
        self.reductions.iter().filter(|r| r.claimable).map(|r| r.cents).sum()
    }
}

/// The monthly fee of one situation, before proration.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Monthly {
    base: i64,
    base_label: String,
    base_detail: String,
    reductions: Vec<(ReductionKind, i64, String)>,
    fee: i64,
}

/// Fees for every billed child of the family that has care in `month`.
pub fn family_month(rules: &RuleBook, family: &FamilyInput, month: NaiveDate) -> Result<Vec<ChildMonthFee>, FeeError> {
    let (first, last) = (month_start(month), month_end(month));
    let days_in_month = last.day() as i64;

    // Split points: every day from which something may differ.
    let mut cuts = vec![first];
    let mut cut = |d: NaiveDate| {
        if d > first && d <= last {
            cuts.push(d)
        }
    };
    for c in &family.children {
        for p in &c.placements {
            cut(p.from);
            if let Some(n) = p.to.and_then(|t| t.succ_opt()) {
                cut(n);
            }
        }
    }
    for h in &family.household {
        cut(h.from);
    }
    for d in rules.changes_within(&family.municipality, first, last) {
        cut(d);
    }
    cuts.sort();
    cuts.dedup();

    // Per child: the parts (monthly situation, days) in order.
    let mut parts: Vec<Vec<Part<'_>>> = vec![Vec::new(); family.children.len()];
    for (i, &from) in cuts.iter().enumerate() {
        let to = cuts.get(i + 1).and_then(|d| d.pred_opt()).unwrap_or(last);
        let days = (to - from).num_days() + 1;
        let attending = attending_oldest_first(&family.children, from);
        if !attending.iter().any(|&(ci, _)| family.children[ci].billed) {
            continue;
        }
        let rs = rules
            .applicable(&family.municipality, from)
            .ok_or_else(|| FeeError::NoRuleSet { municipality: family.municipality.clone(), day: from })?;
        let household = household_on(&family.household, from);
        for (ordinal0, &(ci, placement)) in attending.iter().enumerate() {
            let child = &family.children[ci];
            if !child.billed {
                continue;
            }
            let m = monthly(rs, child, placement, ordinal0 + 1, &household, month)?;
            parts[ci].push(Part { m, from, days, rs, care_type: placement.care_type, tenths: placement.care.tenths() });
        }
    }

    let mut out = Vec::new();
    for (ci, child_parts) in parts.into_iter().enumerate() {
        if child_parts.is_empty() {
            continue;
        }
        let child = &family.children[ci];
        let proration = child_parts[0].rs.proration;
        let (care_type, care_tenths) = child_parts.last().map(|p| (p.care_type, p.tenths)).expect("not empty");
        let mut rule_sets: Vec<String> = child_parts.iter().map(|p| format!("{} v{}", p.rs.id, p.rs.version)).collect();
        rule_sets.dedup();
        let days: i64 = child_parts.iter().map(|p| p.days).sum();
        let fee = match proration {
            Proration::CalendarDays => Some(prorate(&child_parts, days_in_month, first)),
            Proration::WholeMonth => whole_month(&child_parts, first),
        };
        let Some(mut fee) = fee else { continue };
        fee.rule_sets = rule_sets;
        fee.child_id = child.id;
        fee.care_type = care_type;
        fee.care_tenths = care_tenths;
        fee.days = days as u32;
        fee.reductions.iter_mut().for_each(|r| r.claimable = child_parts.iter().any(|p| p.rs.is_claimable(r.kind)));
        out.push(fee);
    }
    Ok(out)
}

fn attending_oldest_first(children: &[FeeChild], day: NaiveDate) -> Vec<(usize, &Placement)> {
    let mut v: Vec<(usize, &Placement)> =
        children.iter().enumerate().filter_map(|(i, c)| c.placements.iter().find(|p| p.contains(day)).map(|p| (i, p))).collect();
    v.sort_by_key(|&(i, _)| (children[i].birth_date, children[i].id));
    v
}

fn household_on(h: &[Household], day: NaiveDate) -> Household {
    h.iter().rev().find(|x| x.from <= day).or(h.first()).cloned().unwrap_or(Household {
        from: day,
        single_parent: false,
        income_cents: None,
    })
}

/// Age in full years the child reaches by the end of `month` (free years apply "from the
/// month in which the child turns N").
fn age_in_month(birth: NaiveDate, month: NaiveDate) -> u32 {
    month_end(month).years_since(birth).unwrap_or(0)
}

/// The base fee for `tenths` hours under the rule set's model, with its explanation.
fn base_fee(rs: &RuleSet, care_type: CareType, tenths: u16, household: &Household) -> Result<(i64, String, String), FeeError> {
    let hours = de::hours(tenths);
    match &rs.model {
        Model::CostShare { care } => {
            let c = care
                .get(&care_type)
                .ok_or_else(|| FeeError::CareTypeNotCovered { rule_set: format!("{} v{}", rs.id, rs.version), care_type })?;
            let basis = c.basis_fee();
            let fee = round_div(basis as i128 * tenths as i128, c.basis_tenths as i128);
            let share = format!("{} % von {} Betriebskosten", de::percent(c.effective_share()), de::euro(c.cost_cents));
            let detail = if tenths == c.basis_tenths {
                format!("{share} für {} h", de::hours(c.basis_tenths))
            } else {
                format!("{} für {} h × {hours}/{}", de::euro(basis), de::hours(c.basis_tenths), de::hours(c.basis_tenths))
            };
            Ok((fee, format!("Elternbeitrag {}, {hours} h täglich", care_type.label_de()), detail))
        }
        Model::IncomeBrackets(m) => {
            let band = m.hour_bands_tenths.iter().position(|&b| tenths <= b).unwrap_or(m.hour_bands_tenths.len() - 1);
            let (idx, why) = match household.income_cents {
                Some(inc) => {
                    let i = m.brackets.iter().position(|b| b.up_to_cents.is_none_or(|u| inc <= u)).expect("last bracket is open");
                    let why = match m.brackets[i].up_to_cents {
                        Some(u) => format!("Einkommen bis {}", de::euro(u)),
                        None => format!("Einkommen über {}", de::euro(m.brackets[i - 1].up_to_cents.unwrap_or(0))),
                    };
                    (i, why)
                }
                None => (m.brackets.len() - 1, "Einkommen nicht nachgewiesen: höchste Stufe".to_string()),
            };
            let band_text = format!("Stundenstufe bis {} h", de::hours(m.hour_bands_tenths[band].min(120)));
            Ok((
                m.brackets[idx].fees_cents[band],
                format!("Elternbeitrag {}, {hours} h täglich, Stufe {}", care_type.label_de(), idx + 1),
                format!("{why}; {band_text}"),
            ))
        }
    }
}

fn monthly(
    rs: &RuleSet,
    child: &FeeChild,
    placement: &Placement,
    ordinal: usize,
    household: &Household,
    month: NaiveDate,
) -> Result<Monthly, FeeError> {
    let tenths = placement.care.tenths();
    let (base, base_label, base_detail) = base_fee(rs, placement.care_type, tenths, household)?;
    let mut reductions = Vec::new();
    let mut remaining = base;

    let age = age_in_month(child.birth_date, month);
    let free = rs
        .free
        .iter()
        .filter(|f| age >= f.from_age_years as u32 && (f.care_types.is_empty() || f.care_types.contains(&placement.care_type)))
        .max_by_key(|f| f.free_tenths);
    if let Some(f) = free {
        // The hours beyond the free ones cost what that many hours would cost.
        let paid = if tenths > f.free_tenths { base_fee(rs, placement.care_type, tenths - f.free_tenths, household)?.0 } else { 0 };
        let cut = (remaining - paid.min(remaining)).max(0);
        if cut > 0 {
            let text = if f.free_tenths >= 120 { "ganztägig".to_string() } else { format!("bis {} h täglich", de::hours(f.free_tenths)) };
            reductions.push((ReductionKind::Free, cut, format!("ab {} Jahren {text}", f.from_age_years)));
            remaining -= cut;
        }
    }

    let sibling_pct = rs.siblings.as_ref().map_or(Percent::HUNDRED, |s| s.for_ordinal(ordinal));
    let after_siblings = sibling_pct.of(remaining);
    if after_siblings < remaining {
        reductions.push((
            ReductionKind::Sibling,
            remaining - after_siblings,
            format!("{ordinal}. Kind: zahlt {} % des Beitrags", de::percent(sibling_pct.0)),
        ));
    }
    let mut fee = after_siblings;
    if household.single_parent {
        if let Some(sp) = &rs.single_parent {
            let pct = sp.for_ordinal(ordinal);
            // Validation guarantees pct ≤ sibling_pct, so this never raises the fee.
            let after = pct.of(remaining).min(after_siblings);
            if after < after_siblings {
                reductions.push((
                    ReductionKind::SingleParent,
                    after_siblings - after,
                    format!("{ordinal}. Kind: zahlt {} % des Beitrags", de::percent(pct.0)),
                ));
            }
            fee = after;
        }
    }
    Ok(Monthly { base, base_label, base_detail, reductions, fee })
}

/// A stretch of the month with one situation.
#[derive(Debug, Clone)]
struct Part<'a> {
    m: Monthly,
    from: NaiveDate,
    days: i64,
    rs: &'a RuleSet,
    care_type: CareType,
    tenths: u16,
}

fn empty_fee(month: NaiveDate) -> ChildMonthFee {
    ChildMonthFee {
        child_id: ChildId(uuid::Uuid::nil()),
        month: month_start(month),
        care_type: CareType::Nursery,
        care_tenths: 0,
        full_fee_cents: 0,
        reductions: Vec::new(),
        fee_cents: 0,
        lines: Vec::new(),
        rule_sets: Vec::new(),
        days: 0,
    }
}

fn lines_of(m: &Monthly) -> Vec<FeeLine> {
    let mut lines = vec![FeeLine { label: m.base_label.clone(), detail: m.base_detail.clone(), amount_cents: m.base }];
    for (kind, cents, detail) in &m.reductions {
        lines.push(FeeLine { label: kind.label_de().to_string(), detail: detail.clone(), amount_cents: -cents });
    }
    lines
}

/// Calendar-day proration over the parts of a month.
fn prorate(parts: &[Part<'_>], days_in_month: i64, first: NaiveDate) -> ChildMonthFee {
    let weighted = |f: &dyn Fn(&Monthly) -> i64| -> i128 { parts.iter().map(|p| f(&p.m) as i128 * p.days as i128).sum() };
    let dim = days_in_month as i128;
    let fee_total = round_div(weighted(&|m| m.fee), dim);
    let base_total = round_div(weighted(&|m| m.base), dim);
    let mut kinds: Vec<ReductionKind> = parts.iter().flat_map(|p| p.m.reductions.iter().map(|r| r.0)).collect();
    kinds.sort();
    kinds.dedup();
    let mut reductions: Vec<ReductionAmount> = kinds
        .iter()
        .map(|&k| ReductionAmount {
            kind: k,
            cents: round_div(weighted(&|m| m.reductions.iter().filter(|r| r.0 == k).map(|r| r.1).sum()), dim),
            claimable: false,
        })
        .collect();
    // Base − reductions = fee holds exactly per part; each rounded sum may be off by half a
    // cent, so the largest reduction absorbs the difference and the identity holds in cents.
    let diff = base_total - fee_total - reductions.iter().map(|r| r.cents).sum::<i64>();
    if let Some(r) = reductions.iter_mut().max_by_key(|r| r.cents) {
        r.cents += diff;
    }
    reductions.retain(|r| r.cents != 0);

    let lines = if parts.len() == 1 && parts[0].days == days_in_month {
        lines_of(&parts[0].m)
    } else {
        // One line per part with its share of the month; cumulative rounding makes the parts
        // sum to the month's fee exactly.
        let (mut cum, mut prev) = (0i128, 0i64);
        parts
            .iter()
            .map(|p| {
                cum += p.m.fee as i128 * p.days as i128;
                let now = round_div(cum, dim);
                let to = p.from + chrono::Days::new(p.days as u64 - 1);
                let mut detail = format!("{}: {}", p.m.base_label, de::euro(p.m.base));
                for (kind, cents, text) in &p.m.reductions {
                    detail.push_str(&format!("; {} ({text}) -{}", kind.label_de(), de::euro(*cents)));
                }
                detail.push_str(&format!("; Monatsbeitrag {} × {}/{days_in_month} Tage", de::euro(p.m.fee), p.days));
                let line = FeeLine {
                    label: format!("Anteilig {}–{} ({} von {days_in_month} Tagen)", p.from.format("%d.%m."), de::date(to), p.days),
                    detail,
                    amount_cents: now - prev,
                };
                prev = now;
                line
            })
            .collect()
    };
    ChildMonthFee { full_fee_cents: base_total, reductions, fee_cents: fee_total, lines, ..empty_fee(first) }
}

/// The situation of the first contracted day applies to the whole month; care starting after
/// the 15th is not billed for this month.
fn whole_month(parts: &[Part<'_>], first: NaiveDate) -> Option<ChildMonthFee> {
    let p = parts.first()?;
    if p.from.day() > 15 {
        return None;
    }
    let reductions = p.m.reductions.iter().map(|(k, c, _)| ReductionAmount { kind: *k, cents: *c, claimable: false }).collect();
    Some(ChildMonthFee { full_fee_cents: p.m.base, reductions, fee_cents: p.m.fee, lines: lines_of(&p.m), ..empty_fee(first) })
}
