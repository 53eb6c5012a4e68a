//! The fee engine against the rule files in `rules/`: the Leipzig table to the cent, the
//! other models, and the properties every fee must have.

use chrono::NaiveDate;
use kitakontor_core::care::{CareHours, CareType};
use kitakontor_core::fee::*;
use kitakontor_core::ids::ChildId;
use proptest::prelude::*;

const LEIPZIG: &str = include_str!("../../../rules/leipzig-2014.toml");
const NRW: &str = include_str!("../../../rules/beispielstadt-nrw.toml");
const NDS: &str = include_str!("../../../rules/beispielgemeinde-niedersachsen.toml");

fn d(y: i32, m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, day).unwrap()
}

fn book(text: &str) -> RuleBook {
    RuleBook::new(vec![RuleSet::from_toml("test.toml", text).unwrap()]).unwrap()
}

fn child(n: u128, birth: NaiveDate, care_type: CareType, tenths: u16, from: NaiveDate) -> FeeChild {
    FeeChild {
        id: ChildId(uuid::Uuid::from_u128(n)),
        birth_date: birth,
        placements: vec![Placement { from, to: None, care_type, care: CareHours::from_tenths(tenths).unwrap() }],
        billed: true,
    }
}

fn family(municipality: &str, children: Vec<FeeChild>, single_parent: bool, income: Option<i64>) -> FamilyInput {
    FamilyInput {
        municipality: municipality.into(),
        children,
        household: vec![Household { from: d(2000, 1, 1), single_parent, income_cents: income }],
    }
}

fn fee_of(fees: &[ChildMonthFee], n: u128) -> i64 {
    fees.iter().find(|f| f.child_id == ChildId(uuid::Uuid::from_u128(n))).map(|f| f.fee_cents).unwrap_or(0)
}

/// Leipzig's table: nursery fee by hours, for the child's place among siblings, for couples
/// and single parents. Expected values worked out by hand from 276,32 € for 9 h (BRIEF §5):
/// fee(h) = 276,32 × h/9, then × the percentage, each rounded half up to the cent.
#[test]
fn leipzig_table_to_the_cent() {
    let rules = book(LEIPZIG);
    let month = d(2026, 11, 1);
    // (tenths, [1st, 2nd, 3rd] couple, [1st, 2nd, 3rd] single parent)
    let table: [(u16, [i64; 3], [i64; 3]); 4] = [
        (90, [27632, 16579, 0], [24869, 13816, 0]),
        (60, [18421, 11053, 0], [16579, 9211, 0]),
        (45, [13816, 8290, 0], [12434, 6908, 0]),
        (100, [30702, 18421, 0], [27632, 15351, 0]),
    ];
    for (tenths, couple, single) in table {
        for (single_parent, expected) in [(false, couple), (true, single)] {
            for ordinal in 1..=3usize {
                // Older siblings in kindergarten make the nursery child the n-th child.
                let mut kids = vec![child(1, d(2025, 3, 1), CareType::Nursery, tenths, d(2026, 1, 1))];
                for k in 1..ordinal {
                    kids.push(child(10 + k as u128, d(2021 - k as i32, 1, 1), CareType::Kindergarten, 90, d(2025, 8, 1)));
                }
                let fees = family_month(&rules, &family("Leipzig", kids, single_parent, None), month).unwrap();
                assert_eq!(
                    fee_of(&fees, 1),
                    expected[ordinal - 1],
                    "{} h, child {ordinal}, single parent {single_parent}",
                    tenths as f64 / 10.0
                );
            }
        }
    }
}

#[test]
fn leipzig_explanation_and_claimable_reductions() {
    let rules = book(LEIPZIG);
    let kids = vec![
        child(1, d(2025, 3, 1), CareType::Nursery, 90, d(2026, 1, 1)),
        child(2, d(2021, 5, 5), CareType::Kindergarten, 90, d(2024, 8, 1)),
    ];
    let fees = family_month(&rules, &family("Leipzig", kids, true, None), d(2026, 11, 1)).unwrap();
    let nursery = fees.iter().find(|f| f.child_id.0.as_u128() == 1).unwrap();
    assert_eq!(nursery.full_fee_cents, 27632);
    assert_eq!(nursery.fee_cents, 13816);
    let lines: Vec<(&str, i64)> = nursery.lines.iter().map(|l| (l.label.as_str(), l.amount_cents)).collect();
    assert_eq!(
        lines,
        vec![("Elternbeitrag Krippe, 9,0 h täglich", 27632), ("Geschwisterermäßigung", -11053), ("Ermäßigung für Alleinerziehende", -2763),]
    );
    assert!(nursery.lines[1].detail.contains("2. Kind: zahlt 60 %"), "{}", nursery.lines[1].detail);
    assert_eq!(nursery.claimable_cents(), 27632 - 13816);
    assert!(nursery.rule_sets == vec!["leipzig-2014 v1".to_string()]);
}

#[test]
fn a_change_mid_month_is_prorated_by_calendar_days() {
    let rules = book(LEIPZIG);
    // 9 h until 14 Nov, then 6 h: 14 days × 276,32 + 16 days × 184,21 over 30 days.
    let mut c = child(1, d(2025, 3, 1), CareType::Nursery, 90, d(2026, 1, 1));
    c.placements[0].to = Some(d(2026, 11, 14));
    c.placements.push(Placement {
        from: d(2026, 11, 15),
        to: None,
        care_type: CareType::Nursery,
        care: CareHours::from_tenths(60).unwrap(),
    });
    let fees = family_month(&rules, &family("Leipzig", vec![c], false, None), d(2026, 11, 1)).unwrap();
    let expected = ((27632 * 14 + 18421 * 16) as f64 / 30.0).round() as i64; // 22719,2 → 22719
    assert_eq!(fees[0].fee_cents, expected);
    assert_eq!(fees[0].lines.len(), 2);
    assert_eq!(fees[0].lines.iter().map(|l| l.amount_cents).sum::<i64>(), expected);
    assert!(fees[0].lines[0].label.starts_with("Anteilig 01.11.–14.11.2026 (14 von 30 Tagen)"), "{}", fees[0].lines[0].label);
}

#[test]
fn start_in_the_middle_of_a_month() {
    let rules = book(LEIPZIG);
    let c = child(1, d(2025, 3, 1), CareType::Nursery, 90, d(2026, 11, 16));
    let fees = family_month(&rules, &family("Leipzig", vec![c.clone()], false, None), d(2026, 11, 1)).unwrap();
    assert_eq!(fees[0].fee_cents, 13816); // 15 of 30 days
    assert_eq!(fees[0].days, 15);
    // No care in October: no fee at all.
    assert!(family_month(&rules, &family("Leipzig", vec![c], false, None), d(2026, 10, 1)).unwrap().is_empty());
}

#[test]
fn income_brackets_nrw_style() {
    let rules = book(NRW);
    let month = d(2026, 11, 1);
    let fee = |income: Option<i64>, tenths: u16| {
        let kids = vec![child(1, d(2023, 1, 1), CareType::Kindergarten, tenths, d(2026, 8, 1))];
        fee_of(&family_month(&rules, &family("Beispielstadt", kids, false, income), month).unwrap(), 1)
    };
    assert_eq!(fee(Some(2_000_000), 90), 0);
    assert_eq!(fee(Some(3_681_300), 45), 2500); // upper bound is inclusive
    assert_eq!(fee(Some(3_681_301), 70), 8000);
    assert_eq!(fee(Some(9_000_000), 90), 32000);
    assert_eq!(fee(None, 90), 32000, "no income declared: highest bracket");
    // Whole-month proration: a start on the 20th is billed from next month.
    let kids = vec![child(1, d(2023, 1, 1), CareType::Kindergarten, 90, d(2026, 11, 20))];
    assert!(family_month(&rules, &family("Beispielstadt", kids, false, Some(5_000_000)), month).unwrap().is_empty());
}

#[test]
fn free_hours_from_age_three() {
    let rules = book(NDS);
    let month = d(2026, 11, 1);
    let fee = |birth: NaiveDate, care_type, tenths| {
        let kids = vec![child(1, birth, care_type, tenths, d(2026, 1, 1))];
        family_month(&rules, &family("Beispielgemeinde", kids, false, Some(5_000_000)), month).unwrap().remove(0)
    };
    let free = fee(d(2023, 11, 30), CareType::Kindergarten, 80); // turns 3 this month
    assert_eq!((free.full_fee_cents, free.fee_cents), (30000, 0));
    assert_eq!(free.claimable_cents(), 30000);
    let beyond = fee(d(2022, 1, 1), CareType::Kindergarten, 100); // 2 h beyond the free 8 h
    assert_eq!(beyond.fee_cents, 15000);
    let nursery = fee(d(2025, 1, 1), CareType::Nursery, 80);
    assert_eq!(nursery.fee_cents, 30000);
}

#[test]
fn bad_rule_files_are_refused_with_the_field_named() {
    let broken = LEIPZIG.replace("fee_cents = 27632", "fee_cents = 35000"); // 25,19 % > 23 %
    let e = RuleSet::from_toml("leipzig.toml", &broken).unwrap_err().to_string();
    assert!(e.contains("model.care.nursery.fee_cents") && e.contains("25,19 %") && e.contains("15–23 %"), "{e}");
    let raising = LEIPZIG.replace("pay_percent = [90, 50, 0]", "pay_percent = [90, 70, 0]");
    let e = RuleSet::from_toml("leipzig.toml", &raising).unwrap_err().to_string();
    assert!(e.contains("single_parent.pay_percent") && e.contains("2. Kind"), "{e}");
    let e = RuleSet::from_toml("x.toml", "id = 1").unwrap_err().to_string();
    assert!(e.starts_with("Regelwerk x.toml"), "{e}");
    let unknown = format!("{LEIPZIG}\ncolour = \"red\"\n");
    assert!(RuleSet::from_toml("x.toml", &unknown).is_err());
    let two = vec![RuleSet::from_toml("a", LEIPZIG).unwrap(), RuleSet::from_toml("b", LEIPZIG).unwrap()];
    assert!(matches!(RuleBook::new(two), Err(RuleSetError::Overlap { .. })));
}

#[test]
fn a_new_rule_set_mid_month_applies_from_its_first_day() {
    let old =
        RuleSet::from_toml("a", &LEIPZIG.replace("valid_from = \"2014-08-01\"", "valid_from = \"2014-08-01\"\nvalid_to = \"2026-11-15\""))
            .unwrap();
    let new = RuleSet::from_toml(
        "b",
        &LEIPZIG
            .replace("valid_from = \"2014-08-01\"", "valid_from = \"2026-11-16\"")
            .replace("version = 1", "version = 2")
            .replace("fee_cents = 27632", "fee_cents = 30000"),
    )
    .unwrap();
    let rules = RuleBook::new(vec![old, new]).unwrap();
    let kids = vec![child(1, d(2025, 3, 1), CareType::Nursery, 90, d(2026, 1, 1))];
    let fees = family_month(&rules, &family("Leipzig", kids, false, None), d(2026, 11, 1)).unwrap();
    assert_eq!(fees[0].fee_cents, (27632 * 15 + 30000 * 15) / 30);
    assert_eq!(fees[0].rule_sets, vec!["leipzig-2014 v1".to_string(), "leipzig-2014 v2".to_string()]);
}

// ---- properties ----

fn any_rules() -> impl Strategy<Value = RuleBook> {
    prop_oneof![Just(book(LEIPZIG)), Just(book(NRW)), Just(book(NDS))]
}

fn municipality(rules: &RuleBook) -> String {
    rules.sets()[0].municipality.clone()
}

prop_compose! {
    fn any_family()(
        n in 1usize..5,
        births in proptest::collection::vec(0i64..4000, 5),
        types in proptest::collection::vec(0usize..3, 5),
        hours in proptest::collection::vec(10u16..=120, 5),
        starts in proptest::collection::vec(0i64..60, 5),
        single in any::<bool>(),
        income in proptest::option::of(0i64..10_000_000),
    ) -> (Vec<FeeChild>, bool, Option<i64>) {
        let kids = (0..n).map(|i| child(
            i as u128 + 1,
            d(2015, 1, 1) + chrono::Days::new(births[i] as u64),
            CareType::ALL[types[i]],
            hours[i],
            d(2026, 10, 1) + chrono::Days::new(starts[i] as u64),
        )).collect();
        (kids, single, income)
    }
}

proptest! {
    #[test]
    fn fees_are_never_negative_and_lines_add_up(rules in any_rules(), (kids, single, income) in any_family(), m in 10u32..13) {
        let f = family(&municipality(&rules), kids, single, income);
        for fee in family_month(&rules, &f, d(2026, m, 1)).unwrap() {
            prop_assert!(fee.fee_cents >= 0);
            prop_assert!(fee.reductions.iter().all(|r| r.cents > 0));
            prop_assert_eq!(fee.full_fee_cents - fee.reductions.iter().map(|r| r.cents).sum::<i64>(), fee.fee_cents);
            prop_assert_eq!(fee.lines.iter().map(|l| l.amount_cents).sum::<i64>(), fee.fee_cents);
        }
    }

    #[test]
    fn more_hours_never_cost_less(rules in any_rules(), (kids, single, income) in any_family(), extra in 1u16..60) {
        let month = d(2026, 12, 1);
        let base = family(&municipality(&rules), kids.clone(), single, income);
        let mut more = base.clone();
        let t = more.children[0].placements[0].care.tenths();
        more.children[0].placements[0].care = CareHours::from_tenths((t + extra).min(120)).unwrap();
        let a = fee_of(&family_month(&rules, &base, month).unwrap(), 1);
        let b = fee_of(&family_month(&rules, &more, month).unwrap(), 1);
        prop_assert!(b >= a, "{} → {}", a, b);
    }

    #[test]
    fn reductions_never_raise_a_fee(rules in any_rules(), (kids, _single, income) in any_family(), sibling_birth in 0i64..4000) {
        let month = d(2026, 12, 1);
        let m = municipality(&rules);
        let alone = family_month(&rules, &family(&m, kids.clone(), false, income), month).unwrap();
        let single = family_month(&rules, &family(&m, kids.clone(), true, income), month).unwrap();
        let mut with_sibling = kids.clone();
        with_sibling.push(child(99, d(2015, 1, 1) + chrono::Days::new(sibling_birth as u64), CareType::Kindergarten, 90, d(2026, 1, 1)));
        let siblings = family_month(&rules, &family(&m, with_sibling, false, income), month).unwrap();
        for f in &alone {
            let n = f.child_id.0.as_u128();
            prop_assert!(fee_of(&single, n) <= f.fee_cents);
            prop_assert!(fee_of(&siblings, n) <= f.fee_cents);
        }
    }

    #[test]
    fn a_month_split_into_parts_costs_the_full_month(cuts in proptest::collection::btree_set(2u32..=31, 0..6), tenths in 10u16..=120, ordinal in 1usize..4, single in any::<bool>()) {
        let rules = book(LEIPZIG);
        let month = d(2026, 12, 1);
        let mut kids = vec![child(1, d(2025, 3, 1), CareType::Nursery, tenths, d(2026, 1, 1))];
        for k in 1..ordinal {
            kids.push(child(10 + k as u128, d(2020, 1, k as u32), CareType::Kindergarten, 90, d(2025, 1, 1)));
        }
        let whole = family_month(&rules, &family("Leipzig", kids.clone(), single, None), month).unwrap();
        // The same situation, written as consecutive placements that change nothing.
        let mut split = kids.clone();
        let p = split[0].placements[0].clone();
        let mut days: Vec<u32> = cuts.into_iter().collect();
        days.insert(0, 1);
        split[0].placements = days.iter().enumerate().map(|(i, &day)| Placement {
            from: if i == 0 { p.from } else { d(2026, 12, day) },
            to: days.get(i + 1).map(|&n| d(2026, 12, n - 1)),
            ..p.clone()
        }).collect();
        let parts = family_month(&rules, &family("Leipzig", split, single, None), month).unwrap();
        prop_assert_eq!(fee_of(&parts, 1), fee_of(&whole, 1));
        let f = parts.iter().find(|f| f.child_id.0.as_u128() == 1).unwrap();
        prop_assert_eq!(f.lines.iter().map(|l| l.amount_cents).sum::<i64>(), fee_of(&whole, 1));
    }
}

#[test]
fn a_household_change_mid_month_is_prorated() {
    let rules = book(LEIPZIG);
    let mut f = family("Leipzig", vec![child(1, d(2025, 3, 1), CareType::Nursery, 90, d(2026, 1, 1))], false, None);
    // Single parent from 16 November: 15 days at 276,32 €, 15 days at 248,69 €.
    f.household.push(Household { from: d(2026, 11, 16), single_parent: true, income_cents: None });
    let fees = family_month(&rules, &f, d(2026, 11, 1)).unwrap();
    assert_eq!(fees[0].fee_cents, ((27632 * 15 + 24869 * 15) as f64 / 30.0).round() as i64);
    let reduction: i64 = fees[0].reductions.iter().filter(|r| r.kind == ReductionKind::SingleParent).map(|r| r.cents).sum();
    assert_eq!(reduction, fees[0].full_fee_cents - fees[0].fee_cents);
}
