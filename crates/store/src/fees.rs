//! Fee rule sets in the database and the fee inputs of families: which children share
//! guardians (siblings), their contracts as placements, the household's situation.
//!
//! A family is the set of children connected through shared guardians; its key is the
//! smallest guardian id, so the same family finds its earlier invoices on a re-run.

use crate::error::{Result, StoreError};
use crate::rows::{care_type, hours, uuid};
use crate::time::{date, parse_date, ts};
use crate::{audit, Store};
use chrono::NaiveDate;
use kitakontor_core::care::{month_end, month_start};
use kitakontor_core::fee::{family_month, ChildMonthFee, FamilyInput, FeeChild, Household, Model, Placement, RuleBook, RuleSet};
use kitakontor_core::ids::*;
use kitakontor_core::permission::{authorize, Actor, Permission, Scope};
use serde::Serialize;
use sqlx::SqliteConnection;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

/// A rule set as listed in the UI and the CLI.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct RuleSetSummary {
    pub id: String,
    pub version: u32,
    pub municipality: String,
    pub title: String,
    pub model: String,
    pub valid_from: NaiveDate,
    pub valid_to: Option<NaiveDate>,
}

impl From<&RuleSet> for RuleSetSummary {
    fn from(r: &RuleSet) -> Self {
        let model = match r.model {
            Model::CostShare { .. } => "Anteil an den Betriebskosten (Sachsen)",
            Model::IncomeBrackets(_) => "Einkommensstufen",
        };
        RuleSetSummary {
            id: r.id.clone(),
            version: r.version,
            municipality: r.municipality.clone(),
            title: r.title.clone(),
            model: model.to_string(),
            valid_from: r.valid_from,
            valid_to: r.valid_to,
        }
    }
}

/// A child as billing needs it.
#[derive(Debug, Clone)]
pub(crate) struct ChildInfo {
    pub first_name: String,
    pub last_name: String,
    pub birth_date: NaiveDate,
}

impl ChildInfo {
    pub fn name(&self) -> String {
        format!("{} {}", self.first_name, self.last_name)
    }
}

#[derive(Debug, Clone)]
pub(crate) struct GuardianInfo {
    pub id: GuardianId,
    pub first_name: String,
    pub last_name: String,
    pub street: String,
    pub postal_code: String,
    pub city: String,
    pub iban: Option<String>,
    pub account_holder: Option<String>,
}

impl GuardianInfo {
    pub fn name(&self) -> String {
        format!("{} {}", self.first_name, self.last_name)
    }
}

/// One family with everything its fees are computed from.
#[derive(Debug, Clone)]
pub(crate) struct Family {
    pub key: String,
    pub input: FamilyInput,
    pub children: HashMap<ChildId, ChildInfo>,
    /// Sorted by last and first name.
    pub guardians: Vec<GuardianInfo>,
}

impl Family {
    /// "Familie Müller (Emma, Ben)": the family name and its children's first names, so two
    /// families of the same name can be told apart in a summary.
    pub fn label(&self) -> String {
        let mut kids: Vec<&ChildInfo> = self.children.values().collect();
        kids.sort_by_key(|c| (c.birth_date, c.first_name.clone()));
        let last = self.guardians.first().map(|g| g.last_name.clone()).or_else(|| kids.first().map(|c| c.last_name.clone()));
        let firsts: Vec<&str> = kids.iter().map(|c| c.first_name.as_str()).collect();
        format!("Familie {} ({})", last.unwrap_or_default(), firsts.join(", "))
    }
}

/// The rule sets of the database, parsed once and reused while no set is added.
pub(crate) async fn rule_book(store: &Store, conn: &mut SqliteConnection) -> Result<Arc<RuleBook>> {
    let (key,): (Option<String>,) =
        sqlx::query_as("SELECT group_concat(id || ':' || version, ',') FROM (SELECT id, version FROM fee_rule_sets ORDER BY id, version)")
            .fetch_one(&mut *conn)
            .await?;
    let key = key.unwrap_or_default();
    if let Some((k, book)) = store.rule_cache.lock().expect("not poisoned").as_ref() {
        if *k == key {
            return Ok(book.clone());
        }
    }
    let rows: Vec<(String, i64, String)> =
        sqlx::query_as("SELECT id, version, source FROM fee_rule_sets ORDER BY id, version").fetch_all(&mut *conn).await?;
    let sets =
        rows.iter().map(|(id, v, src)| RuleSet::from_toml(&format!("{id} v{v}"), src)).collect::<std::result::Result<Vec<_>, _>>()?;
    let book = Arc::new(RuleBook::new(sets)?);
    *store.rule_cache.lock().expect("not poisoned") = Some((key, book.clone()));
    Ok(book)
}

/// Families with at least one child under contract in `facility` during `month`. Siblings
/// elsewhere count for the reductions but are billed by their own facility.
pub(crate) async fn families(conn: &mut SqliteConnection, facility: FacilityId, month: NaiveDate) -> Result<Vec<Family>> {
    families_among(conn, facility, month, None).await
}

/// The family of one child: its siblings are found through the guardians first, so only that
/// family's rows are read (a fee notice must not load the whole facility).
pub(crate) async fn family_of(
    conn: &mut SqliteConnection,
    facility: FacilityId,
    child: ChildId,
    month: NaiveDate,
) -> Result<Option<Family>> {
    let mut kids: BTreeSet<String> = BTreeSet::from([child.to_string()]);
    loop {
        let json = serde_json::to_string(&kids).expect("strings serialise");
        let found: Vec<(String,)> = sqlx::query_as(
            "SELECT DISTINCT b.child_id FROM child_guardians a JOIN child_guardians b ON b.guardian_id = a.guardian_id
             WHERE a.child_id IN (SELECT value FROM json_each(?))",
        )
        .bind(&json)
        .fetch_all(&mut *conn)
        .await?;
        let before = kids.len();
        kids.extend(found.into_iter().map(|f| f.0));
        if kids.len() == before {
            break;
        }
    }
    let kids: Vec<String> = kids.into_iter().collect();
    Ok(families_among(conn, facility, month, Some(&kids)).await?.into_iter().find(|f| f.children.contains_key(&child)))
}

async fn families_among(
    conn: &mut SqliteConnection,
    facility: FacilityId,
    month: NaiveDate,
    only: Option<&[String]>,
) -> Result<Vec<Family>> {
    let (first, last) = (date(month_start(month)), date(month_end(month)));
    // NULL: every child; otherwise a JSON array of child ids to restrict each query to.
    let only = only.map(|o| serde_json::to_string(o).expect("strings serialise"));
    let municipality: (String,) =
        sqlx::query_as("SELECT municipality FROM facilities WHERE id = ?").bind(facility.to_string()).fetch_one(&mut *conn).await?;
    // Contracts touching the month, anywhere.
    let contracts: Vec<(String, String, String, String, String, Option<String>)> = sqlx::query_as(
        "SELECT id, child_id, facility_id, care_type, start_date, end_date FROM contracts WHERE start_date <= ? AND (end_date IS NULL OR end_date >= ?)
         AND (?3 IS NULL OR child_id IN (SELECT value FROM json_each(?3)))",
    )
    .bind(&last)
    .bind(&first)
    .bind(&only)
    .fetch_all(&mut *conn)
    .await?;
    let versions: Vec<(String, i64, String, i64, Option<String>)> = sqlx::query_as(
        "SELECT v.contract_id, v.version_no, v.valid_from, v.care_tenths, v.end_date FROM contract_versions v
         JOIN contracts k ON k.id = v.contract_id WHERE k.start_date <= ? AND (k.end_date IS NULL OR k.end_date >= ?)
         AND (?3 IS NULL OR k.child_id IN (SELECT value FROM json_each(?3)))
         ORDER BY v.contract_id, v.version_no",
    )
    .bind(&last)
    .bind(&first)
    .bind(&only)
    .fetch_all(&mut *conn)
    .await?;
    let mut by_contract: HashMap<&str, Vec<&(String, i64, String, i64, Option<String>)>> = HashMap::new();
    for v in &versions {
        by_contract.entry(v.0.as_str()).or_default().push(v);
    }
    let mut placements: BTreeMap<String, Vec<Placement>> = BTreeMap::new();
    let mut billed_here: BTreeSet<String> = BTreeSet::new();
    for (id, child, fac, ct, start, end) in &contracts {
        let ct = care_type(ct);
        let (start, end) = (parse_date(start), end.as_deref().map(parse_date));
        let vs = by_contract.get(id.as_str()).cloned().unwrap_or_default();
        for (i, v) in vs.iter().enumerate() {
            let from = parse_date(&v.2).max(start);
            let next = vs.get(i + 1).map(|n| parse_date(&n.2).pred_opt().expect("after the first day"));
            let to = [next, end, v.4.as_deref().map(parse_date)].into_iter().flatten().min();
            if to.is_some_and(|t| t < from) {
                continue;
            }
            placements.entry(child.clone()).or_default().push(Placement { from, to, care_type: ct, care: hours(v.3) });
        }
        if *fac == facility.to_string() {
            billed_here.insert(child.clone());
        }
    }
    if billed_here.is_empty() {
        return Ok(Vec::new());
    }

    let links: Vec<(String, String)> = sqlx::query_as(
        "SELECT child_id, guardian_id FROM child_guardians WHERE ?1 IS NULL OR child_id IN (SELECT value FROM json_each(?1))",
    )
    .bind(&only)
    .fetch_all(&mut *conn)
    .await?;
    // Union–find over children and guardians: a family is a connected component.
    let mut parent: HashMap<String, String> = HashMap::new();
    fn find(p: &mut HashMap<String, String>, x: &str) -> String {
        let mut r = x.to_string();
        while let Some(n) = p.get(&r).filter(|n| **n != r) {
            r = n.clone();
        }
        p.insert(x.to_string(), r.clone());
        r
    }
    for (c, g) in &links {
        if !placements.contains_key(c) {
            continue;
        }
        let (a, b) = (find(&mut parent, &format!("c:{c}")), find(&mut parent, &format!("g:{g}")));
        if a != b {
            parent.insert(a, b);
        }
    }
    let mut components: BTreeMap<String, (Vec<String>, Vec<String>)> = BTreeMap::new();
    for child in placements.keys() {
        let root = find(&mut parent, &format!("c:{child}"));
        components.entry(root).or_default().0.push(child.clone());
    }
    for (c, g) in &links {
        if placements.contains_key(c) {
            let root = find(&mut parent, &format!("c:{c}"));
            let e = components.entry(root).or_default();
            if !e.1.contains(g) {
                e.1.push(g.clone());
            }
        }
    }

    let children: Vec<(String, String, String, String)> = sqlx::query_as(
        "SELECT id, first_name, last_name, birth_date FROM children WHERE ?1 IS NULL OR id IN (SELECT value FROM json_each(?1))",
    )
    .bind(&only)
    .fetch_all(&mut *conn)
    .await?;
    let children: HashMap<String, ChildInfo> = children
        .into_iter()
        .filter(|c| placements.contains_key(&c.0))
        .map(|c| (c.0, ChildInfo { first_name: c.1, last_name: c.2, birth_date: parse_date(&c.3) }))
        .collect();
    type GRow = (String, String, String, String, String, String, i64, Option<i64>, Option<String>, Option<String>);
    let guardians: Vec<GRow> = sqlx::query_as(
        "SELECT id, first_name, last_name, street, postal_code, city, single_parent, income_cents, iban, account_holder FROM guardians
         WHERE ?1 IS NULL OR id IN (SELECT guardian_id FROM child_guardians WHERE child_id IN (SELECT value FROM json_each(?1)))",
    )
    .bind(&only)
    .fetch_all(&mut *conn)
    .await?;
    let guardians: HashMap<String, GRow> = guardians.into_iter().map(|g| (g.0.clone(), g)).collect();

    let mut out = Vec::new();
    for (_, (kids, gids)) in components {
        if !kids.iter().any(|k| billed_here.contains(k)) {
            continue;
        }
        let mut gs: Vec<&GRow> = gids.iter().filter_map(|g| guardians.get(g)).collect();
        gs.sort_by(|a, b| (&a.2, &a.1, &a.0).cmp(&(&b.2, &b.1, &b.0)));
        let incomes: Vec<i64> = gs.iter().filter_map(|g| g.7).collect();
        let household = Household {
            from: NaiveDate::MIN,
            single_parent: gs.iter().any(|g| g.6 != 0),
            income_cents: (!incomes.is_empty()).then(|| incomes.iter().sum()),
        };
        let key = gids.iter().min().map(|g| format!("g:{g}")).unwrap_or_else(|| format!("c:{}", kids[0]));
        let input = FamilyInput {
            municipality: municipality.0.clone(),
            children: kids
                .iter()
                .map(|k| FeeChild {
                    id: uuid(k),
                    birth_date: children[k].birth_date,
                    placements: placements[k].clone(),
                    billed: billed_here.contains(k),
                })
                .collect(),
            household: vec![household],
        };
        out.push(Family {
            key,
            input,
            children: kids.iter().map(|k| (uuid(k), children[k].clone())).collect(),
            guardians: gs
                .into_iter()
                .map(|g| GuardianInfo {
                    id: uuid(&g.0),
                    first_name: g.1.clone(),
                    last_name: g.2.clone(),
                    street: g.3.clone(),
                    postal_code: g.4.clone(),
                    city: g.5.clone(),
                    iban: g.8.clone(),
                    account_holder: g.9.clone(),
                })
                .collect(),
        });
    }
    Ok(out)
}

/// A child's fee for a month, as the fee notice and the child's file show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ChildFee {
    pub child_name: String,
    pub fee: ChildMonthFee,
    /// The statute the fee comes from, for the notice ("… (Fassung 1, gültig ab 01.08.2014)").
    pub rule_set: String,
    /// The part of the reductions the youth office reimburses (`ChildMonthFee::claimable_cents`).
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub claimable_cents: i64,
}

impl Store {
    /// Imports (or adds a new version of) a fee rule file. Refused if it does not validate or
    /// overlaps another set of the same municipality; nothing is stored then.
    pub async fn import_rule_set(&self, actor: &Actor, file_name: &str, text: &str) -> Result<RuleSetSummary> {
        authorize(actor, Permission::RunBilling, Scope::Global)?;
        let set = RuleSet::from_toml(file_name, text)?;
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let exists: Option<(String,)> = sqlx::query_as("SELECT id FROM fee_rule_sets WHERE id = ? AND version = ?")
            .bind(&set.id)
            .bind(set.version as i64)
            .fetch_optional(&mut *tx)
            .await?;
        if exists.is_some() {
            return Err(StoreError::Conflict(format!(
                "Regelwerk {} Fassung {} ist schon importiert; eine Änderung braucht eine neue Fassung (version)",
                set.id, set.version
            )));
        }
        let mut all = rule_book(self, &mut tx).await?.sets().to_vec();
        all.push(set.clone());
        RuleBook::new(all)?;
        sqlx::query(
            "INSERT INTO fee_rule_sets (id, version, municipality, valid_from, valid_to, source, imported_at) VALUES (?,?,?,?,?,?,?)",
        )
        .bind(&set.id)
        .bind(set.version as i64)
        .bind(&set.municipality)
        .bind(date(set.valid_from))
        .bind(set.valid_to.map(date))
        .bind(text)
        .bind(ts(self.now()))
        .execute(&mut *tx)
        .await?;
        let records = vec![format!("rule_set:{}:{}", set.id, set.version)];
        audit::actor_action(&mut tx, self, actor, "import_rule_set", &records).await?;
        tx.commit().await?;
        Ok(RuleSetSummary::from(&set))
    }

    pub async fn rule_sets(&self, actor: &Actor) -> Result<Vec<RuleSetSummary>> {
        authorize(actor, Permission::RunBilling, Scope::Global)?;
        let mut conn = self.pool.acquire().await?;
        Ok(rule_book(self, &mut conn).await?.sets().iter().map(RuleSetSummary::from).collect())
    }

    /// The fee of one child for `month`, with the explanation. Reads income data, so it is a
    /// finance read: billing roles only, audited.
    pub async fn child_fee(&self, actor: &Actor, child: ChildId, month: NaiveDate) -> Result<ChildFee> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let (facility, group) = crate::rows::child_scope(&mut tx, child).await?;
        authorize(actor, Permission::RunBilling, Scope::Child { facility, group })?;
        let book = rule_book(self, &mut tx).await?;
        let fam = family_of(&mut tx, facility, child, month).await?;
        let fam = fam.as_ref();
        let fee = match fam {
            Some(f) => family_month(&book, &f.input, month)?.into_iter().find(|x| x.child_id == child),
            None => None,
        };
        let fee = fee.ok_or(StoreError::NoContract { month })?;
        let child_name = fam.and_then(|f| f.children.get(&child)).map(ChildInfo::name).unwrap_or_default();
        let municipality = &fam.expect("fee found in a family").input.municipality;
        let rule_set =
            book.applicable(municipality, month_start(month).max(fee_first_day(&fee))).map(RuleSet::describe).unwrap_or_default();
        audit::actor_action(&mut tx, self, actor, "compute_fee", &[format!("child:{child}")]).await?;
        tx.commit().await?;
        Ok(ChildFee { child_name, claimable_cents: fee.claimable_cents(), fee, rule_set })
    }
}

fn fee_first_day(fee: &ChildMonthFee) -> NaiveDate {
    month_end(fee.month) - chrono::Days::new(fee.days.saturating_sub(1) as u64)
}

/// A guardian's SEPA mandate as the child file shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct MandateSummary {
    pub id: MandateId,
    pub reference: String,
    pub signed_on: NaiveDate,
    pub last_used_on: Option<NaiveDate>,
    pub revoked_on: Option<NaiveDate>,
    /// Usable today (and as first or recurring debit), lapsed, or not yet signed.
    pub status: kitakontor_core::sepa::MandateStatus,
}

impl Store {
    /// The mandates of a guardian, newest first. Bank data: finance roles only, audited.
    pub async fn mandates(&self, actor: &Actor, guardian: GuardianId) -> Result<Vec<MandateSummary>> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        for scope in crate::rows::guardian_scopes(&mut tx, guardian).await? {
            authorize(actor, Permission::ReadFinance, scope)?;
        }
        let rows: Vec<(String, String, String, Option<String>, Option<String>)> = sqlx::query_as(
            "SELECT id, reference, signed_on, last_used_on, revoked_on FROM sepa_mandates WHERE guardian_id = ? ORDER BY signed_on DESC",
        )
        .bind(guardian.to_string())
        .fetch_all(&mut *tx)
        .await?;
        audit::actor_action(&mut tx, self, actor, "read_mandates", &[format!("guardian:{guardian}")]).await?;
        tx.commit().await?;
        let today = self.now().date_naive();
        Ok(rows
            .into_iter()
            .map(|r| {
                let (signed_on, last_used_on) = (parse_date(&r.2), r.3.as_deref().map(parse_date));
                MandateSummary {
                    id: uuid(&r.0),
                    reference: r.1,
                    signed_on,
                    last_used_on,
                    revoked_on: r.4.as_deref().map(parse_date),
                    status: kitakontor_core::sepa::mandate_status(&kitakontor_core::sepa::MandateUse { signed_on, last_used_on }, today),
                }
            })
            .collect())
    }
}
