//! Belegung: per facility, care type and month — capacity, contracted, reserved, free and
//! required staff — for a forecast horizon (24 months in the app).
//!
//! Counting rule, so that no place is counted twice: in each month a child occupies at most one
//! place. A child with a contract touching the month counts as contracted (in the care type of
//! the contract that starts latest, e.g. after moving from Krippe to Kindergarten); otherwise a
//! child with an active hold counts as reserved; otherwise it does not count.

use crate::care::{add_months, month_start, CareHours, CareType, Period};
use crate::ids::ChildId;
use crate::staffing;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};

/// One contract's stretch of care with constant hours (an amendment starts a new span).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ContractSpan {
    pub child_id: ChildId,
    pub care_type: CareType,
    pub period: Period,
    pub care_hours: CareHours,
}

/// An active or past hold; only holds active at `now` count.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Hold {
    pub child_id: ChildId,
    pub care_type: CareType,
    pub start_date: NaiveDate,
    pub active: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct MonthOccupancy {
    pub month: NaiveDate,
    pub care_type: CareType,
    pub capacity: u32,
    pub contracted: u32,
    pub reserved: u32,
    /// capacity − contracted − reserved; negative means overbooked.
    pub free: i64,
    /// Sum of contracted hours per day in this month.
    pub contracted_hours: f64,
    /// Required pedagogical FTE per SächsKitaG §12.
    pub required_fte: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Forecast {
    pub months: Vec<MonthOccupancy>,
    /// Leadership FTE per month (1 per 10 FTE of pedagogical staff over all care types).
    pub leadership_fte: Vec<(NaiveDate, f64)>,
}

impl Forecast {
    pub fn get(&self, month: NaiveDate, care_type: CareType) -> Option<&MonthOccupancy> {
        self.months.iter().find(|m| m.month == month && m.care_type == care_type)
    }
}

/// Computes the forecast for `months` months starting with the month of `from`.
/// Care types without capacity are still reported when they have children (capacity 0).
///
/// One pass over the spans and holds into a child × month table, then one pass to count:
/// linear in (spans + holds) × months, no per-month maps (3,000 children × 24 months ≈ 1 ms).
pub fn forecast(capacity: &BTreeMap<CareType, u32>, contracts: &[ContractSpan], holds: &[Hold], from: NaiveDate, months: u32) -> Forecast {
    let n = months as usize;
    let first = month_start(from);
    // Month boundaries: month m is [starts[m], starts[m + 1]).
    let starts: Vec<NaiveDate> = (0..=months).map(|i| add_months(first, i)).collect();
    // The months (as an index range) a period touches within the horizon.
    let touched = |start: NaiveDate, end: Option<NaiveDate>| -> Option<(usize, usize)> {
        if start >= starts[n] || end.is_some_and(|e| e < starts[0]) {
            return None;
        }
        let lo = starts[1..].partition_point(|s| *s <= start);
        let hi = match end {
            Some(e) => starts[1..].partition_point(|s| *s <= e).min(n - 1),
            None => n - 1,
        };
        (lo <= hi).then_some((lo, hi))
    };
    let mut child_index: HashMap<ChildId, usize> = HashMap::with_capacity(contracts.len() + holds.len());
    let mut index_of = |c: ChildId| {
        let next = child_index.len();
        *child_index.entry(c).or_insert(next)
    };
    let spans: Vec<(usize, &ContractSpan)> = contracts.iter().map(|c| (index_of(c.child_id), c)).collect();
    let hold_rows: Vec<(usize, &Hold)> = holds.iter().filter(|h| h.active).map(|h| (index_of(h.child_id), h)).collect();
    let children = child_index.len();

    // placed[child * n + m]: the contract span that counts for this child in month m.
    let mut placed: Vec<Option<&ContractSpan>> = vec![None; children * n];
    for (ci, span) in &spans {
        if let Some((lo, hi)) = touched(span.period.start, span.period.end) {
            for slot in &mut placed[ci * n + lo..=ci * n + hi] {
                if slot.is_none_or(|cur| span.period.start > cur.period.start) {
                    *slot = Some(span);
                }
            }
        }
    }
    // reserved[child * n + m]: a hold counts only where the child has no contract.
    let mut reserved: Vec<Option<CareType>> = vec![None; children * n];
    for (ci, hold) in &hold_rows {
        if let Some((lo, hi)) = touched(hold.start_date, None) {
            for m in lo..=hi {
                let k = ci * n + m;
                if placed[k].is_none() && reserved[k].is_none() {
                    reserved[k] = Some(hold.care_type);
                }
            }
        }
    }

    let slot_of = |ct: CareType| CareType::ALL.iter().position(|c| *c == ct).expect("in ALL");
    let mut out = Vec::with_capacity(n * 3);
    let mut leadership = Vec::with_capacity(n);
    for m in 0..n {
        let (mut contracted, mut hours, mut held) = ([0u32; 3], [0u32; 3], [0u32; 3]);
        for ci in 0..children {
            if let Some(span) = placed[ci * n + m] {
                let s = slot_of(span.care_type);
                contracted[s] += 1;
                hours[s] += span.care_hours.tenths() as u32;
            } else if let Some(ct) = reserved[ci * n + m] {
                held[slot_of(ct)] += 1;
            }
        }
        let mut total_fte = 0.0;
        for (s, ct) in CareType::ALL.into_iter().enumerate() {
            let cap = capacity.get(&ct).copied();
            if cap.is_none() && contracted[s] == 0 && held[s] == 0 {
                continue;
            }
            let cap = cap.unwrap_or(0);
            let contracted_hours = hours[s] as f64 / 10.0;
            let fte = staffing::required_fte_for_total(ct, contracted_hours);
            total_fte += fte;
            out.push(MonthOccupancy {
                month: starts[m],
                care_type: ct,
                capacity: cap,
                contracted: contracted[s],
                reserved: held[s],
                free: cap as i64 - contracted[s] as i64 - held[s] as i64,
                contracted_hours,
                required_fte: fte,
            });
        }
        leadership.push((starts[m], staffing::leadership_fte(total_fte)));
    }
    Forecast { months: out, leadership_fte: leadership }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use uuid::Uuid;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    fn arb_date() -> impl Strategy<Value = NaiveDate> {
        (0i64..900).prop_map(|n| d(2026, 1, 1) + chrono::Duration::days(n))
    }

    fn arb_contract() -> impl Strategy<Value = ContractSpan> {
        (0u128..30, 0usize..3, arb_date(), proptest::option::of(0i64..500), 10u16..=120).prop_map(|(c, ct, start, len, h)| ContractSpan {
            child_id: ChildId(Uuid::from_u128(c)),
            care_type: CareType::ALL[ct],
            period: Period { start, end: len.map(|l| start + chrono::Duration::days(l)) },
            care_hours: CareHours::from_tenths(h).unwrap(),
        })
    }

    fn arb_hold() -> impl Strategy<Value = Hold> {
        (0u128..30, 0usize..3, arb_date(), any::<bool>()).prop_map(|(c, ct, start, active)| Hold {
            child_id: ChildId(Uuid::from_u128(c)),
            care_type: CareType::ALL[ct],
            start_date: start,
            active,
        })
    }

    proptest! {
        #[test]
        fn free_is_capacity_minus_contracted_minus_holds_and_nobody_counts_twice(
            caps in proptest::collection::vec(0u32..40, 3),
            contracts in proptest::collection::vec(arb_contract(), 0..40),
            holds in proptest::collection::vec(arb_hold(), 0..20),
        ) {
            let capacity: BTreeMap<CareType, u32> = CareType::ALL.iter().copied().zip(caps.iter().copied()).collect();
            let from = d(2026, 6, 15);
            let f = forecast(&capacity, &contracts, &holds, from, 24);
            for i in 0..24 {
                let month = add_months(from, i);
                let rows: Vec<&MonthOccupancy> = f.months.iter().filter(|m| m.month == month).collect();
                let mut counted = 0u32;
                for r in &rows {
                    prop_assert_eq!(r.free, r.capacity as i64 - r.contracted as i64 - r.reserved as i64);
                    prop_assert_eq!(r.capacity, capacity[&r.care_type]);
                    counted += r.contracted + r.reserved;
                }
                // Independent count: distinct children with a contract or an active hold this month.
                let mut children: Vec<ChildId> = contracts.iter().filter(|c| c.period.touches_month(month)).map(|c| c.child_id)
                    .chain(holds.iter().filter(|h| h.active && h.start_date <= crate::care::month_end(month)).map(|h| h.child_id))
                    .collect();
                children.sort();
                children.dedup();
                prop_assert_eq!(counted as usize, children.len(), "month {}", month);
                let contracted_children: std::collections::HashSet<ChildId> =
                    contracts.iter().filter(|c| c.period.touches_month(month)).map(|c| c.child_id).collect();
                prop_assert_eq!(rows.iter().map(|r| r.contracted).sum::<u32>() as usize, contracted_children.len());
            }
        }
    }

    #[test]
    fn example_month() {
        let child = |n| ChildId(Uuid::from_u128(n));
        let capacity = BTreeMap::from([(CareType::Nursery, 10), (CareType::Kindergarten, 20)]);
        let h9 = CareHours::from_tenths(90).unwrap();
        let contracts = vec![
            ContractSpan {
                child_id: child(1),
                care_type: CareType::Nursery,
                period: Period { start: d(2026, 1, 1), end: Some(d(2027, 2, 28)) },
                care_hours: h9,
            },
            // Child 1 moves to Kindergarten in March 2027.
            ContractSpan {
                child_id: child(1),
                care_type: CareType::Kindergarten,
                period: Period { start: d(2027, 3, 1), end: None },
                care_hours: h9,
            },
            ContractSpan {
                child_id: child(2),
                care_type: CareType::Nursery,
                period: Period { start: d(2026, 1, 1), end: None },
                care_hours: CareHours::from_tenths(45).unwrap(),
            },
        ];
        // Child 2 also has an active hold: it must not count twice.
        let holds = vec![
            Hold { child_id: child(2), care_type: CareType::Nursery, start_date: d(2026, 12, 1), active: true },
            Hold { child_id: child(3), care_type: CareType::Nursery, start_date: d(2027, 1, 1), active: true },
            Hold { child_id: child(4), care_type: CareType::Nursery, start_date: d(2026, 12, 1), active: false },
        ];
        let f = forecast(&capacity, &contracts, &holds, d(2026, 12, 10), 24);
        let dec = f.get(d(2026, 12, 1), CareType::Nursery).unwrap();
        assert_eq!((dec.contracted, dec.reserved, dec.free), (2, 0, 8));
        assert!((dec.required_fte - (1.0 + 0.5) / 5.0).abs() < 1e-12);
        let jan = f.get(d(2027, 1, 1), CareType::Nursery).unwrap();
        assert_eq!((jan.contracted, jan.reserved, jan.free), (2, 1, 7));
        let mar_n = f.get(d(2027, 3, 1), CareType::Nursery).unwrap();
        let mar_k = f.get(d(2027, 3, 1), CareType::Kindergarten).unwrap();
        assert_eq!((mar_n.contracted, mar_k.contracted), (1, 1));
        // February: child 1's nursery contract ends Feb 28, kindergarten starts Mar 1 — one place.
        let feb: u32 = f.months.iter().filter(|m| m.month == d(2027, 2, 1)).map(|m| m.contracted).sum();
        assert_eq!(feb, 2);
        assert_eq!(f.months.iter().filter(|m| m.month == d(2026, 12, 1)).count(), 2);
    }
}
