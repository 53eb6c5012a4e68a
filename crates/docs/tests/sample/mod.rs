//! Invented demo data (no real persons) for the PDF tests and the benchmark: umlauts, ß,
//! four-digit amounts, a German IBAN.
#![allow(dead_code)]

use chrono::{NaiveDate, NaiveDateTime};
use kitakontor_docs::model::*;

pub const IBAN: &str = "DE89370400440532013000";
pub const CREDITOR_IBAN: &str = "DE02120300000000202051";

pub fn d(y: i32, m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, day).unwrap()
}

pub fn created() -> NaiveDateTime {
    d(2026, 10, 28).and_hms_opt(9, 30, 0).unwrap()
}

pub fn sender() -> Sender {
    Sender {
        provider: Party {
            name: "Kinderwelt Sachsen gGmbH".into(),
            street: "Löhrstraße 17".into(),
            postal_code: "04105".into(),
            city: "Leipzig".into(),
        },
        facility: Party {
            name: "Kita Sonnenblume".into(),
            street: "Gießerstraße 5".into(),
            postal_code: "04229".into(),
            city: "Leipzig".into(),
        },
        contact: "Telefon 0341 123456 · kita-sonnenblume@example.org".into(),
    }
}

pub fn guardian_1() -> Party {
    Party {
        name: "Zoë Müller-Lüdenscheidt".into(),
        street: "Käthe-Kollwitz-Straße 88".into(),
        postal_code: "04109".into(),
        city: "Leipzig".into(),
    }
}

pub fn guardian_2() -> Party {
    Party { name: "Björn Weiß".into(), street: "Käthe-Kollwitz-Straße 88".into(), postal_code: "04109".into(), city: "Leipzig".into() }
}

pub fn fee_lines() -> Vec<FeeLine> {
    vec![
        FeeLine { label: "Elternbeitrag Krippe 9,0 h".into(), detail: "6.022,96\u{a0}€ × 20,5 %".into(), amount_cents: 123_456 },
        FeeLine {
            label: "Geschwisterermäßigung 2. Kind (40 % Nachlass)".into(),
            detail: "1.234,56\u{a0}€ × 40 %".into(),
            amount_cents: -49_382,
        },
        FeeLine {
            label: "Verpflegungspauschale Frühstück und Vesper".into(), detail: "21 Tage × 1,50\u{a0}€".into(), amount_cents: 3_150
        },
    ]
}

pub fn fee_total() -> i64 {
    fee_lines().iter().map(|l| l.amount_cents).sum()
}

pub fn fee_notice() -> FeeNoticeDoc {
    FeeNoticeDoc {
        sender: sender(),
        recipients: vec![guardian_1(), guardian_2()],
        reference: "KB-2026-0815".into(),
        issued_on: d(2026, 10, 28),
        child_name: "Jürgen Weiß".into(),
        child_birth_date: d(2025, 3, 12),
        care_type: "Krippe".into(),
        care_tenths: 90,
        valid_from: d(2026, 11, 1),
        rule_set: "Elternbeitragssatzung Leipzig, Fassung 2014-08 (gültig ab 01.08.2014)".into(),
        lines: fee_lines(),
        monthly_fee_cents: fee_total(),
        fee_due: "zum 5. Werktag des Monats".into(),
        payment_method: "SEPA-Lastschrift, Mandatsreferenz KK-0815-01".into(),
        remedy_authority: Party {
            name: "Kinderwelt Sachsen gGmbH, Geschäftsstelle".into(),
            street: "Löhrstraße 17".into(),
            postal_code: "04105".into(),
            city: "Leipzig".into(),
        },
    }
}

pub fn contract() -> ContractDoc {
    ContractDoc {
        sender: sender(),
        contract_ref: "BV-2027-0042".into(),
        application_number: Some("LE-2026-004711".into()),
        guardians: vec![guardian_1(), guardian_2()],
        child_name: "Jürgen Weiß".into(),
        child_birth_date: d(2025, 3, 12),
        care_type: "Krippe".into(),
        care_tenths: 90,
        start_date: d(2027, 8, 1),
        end_date: None,
        settling_in_weeks: 4,
        fee_lines: fee_lines(),
        monthly_fee_cents: fee_total(),
        fee_due: "zum 5. Werktag des Monats".into(),
        payment_method: "SEPA-Lastschrift, Mandatsreferenz KK-0815-01".into(),
        notice_period: "zwei Monate zum Monatsende".into(),
        measles_proof: Some(d(2027, 6, 14)),
        pickup_persons: vec!["Gisela Weiß (Großmutter)".into(), "Ömer Öztürk (Nachbar)".into()],
        meals: "Frühstück, Mittagessen und Vesper werden in der Einrichtung angeboten; das Mittagessen liefert ein externer \
                Caterer und wird direkt mit den Eltern abgerechnet."
            .into(),
        versions: vec!["Vertrag geschlossen am 15.06.2027".into(), "Änderung ab 01.02.2028: Betreuungszeit 6,0 h".into()],
        place: "Leipzig".into(),
        issued_on: d(2027, 6, 15),
    }
}

pub fn invoice_children() -> Vec<InvoiceChild> {
    let second = vec![
        FeeLine {
            label: "Elternbeitrag Kindergarten 6,0 h".into(), detail: "2.580,00\u{a0}€ × 15 % × 6/9".into(), amount_cents: 25_800
        },
        FeeLine { label: "Geschwisterermäßigung 2. Kind (60 %)".into(), detail: "258,00\u{a0}€ × 40 %".into(), amount_cents: -10_320 },
    ];
    vec![
        InvoiceChild {
            child_name: "Jürgen Weiß".into(),
            care: "Krippe, 9,0 h täglich".into(),
            lines: fee_lines(),
            subtotal_cents: fee_total(),
        },
        InvoiceChild {
            child_name: "Änne Weiß".into(), care: "Kindergarten, 6,0 h täglich".into(), subtotal_cents: 15_480, lines: second
        },
    ]
}

pub fn invoice() -> InvoiceDoc {
    let children = invoice_children();
    let total = children.iter().map(|c| c.subtotal_cents).sum();
    InvoiceDoc {
        sender: sender(),
        recipient: guardian_1(),
        number: "R-2026-000123".into(),
        kind: InvoiceKind::Invoice,
        issued_on: d(2026, 10, 28),
        month: d(2026, 11, 1),
        children,
        total_cents: total,
        pre_notification: Some(PreNotification {
            creditor_id: "DE98ZZZ09999999999".into(),
            mandate_reference: "KK-0815-01".into(),
            debtor_iban: IBAN.into(),
            due_date: d(2026, 11, 6),
            amount_cents: total,
        }),
        transfer_iban: CREDITOR_IBAN.into(),
        due_date: d(2026, 11, 6),
    }
}

/// An invoice paid by transfer (the debtor's IBAN is the creditor's here: printed in full).
pub fn invoice_transfer() -> InvoiceDoc {
    let mut inv = invoice();
    inv.number = "R-2026-000124".into();
    inv.pre_notification = None;
    inv.transfer_iban = IBAN.into();
    inv
}

pub fn credit_note() -> InvoiceDoc {
    let mut inv = invoice();
    inv.number = "G-2026-000007".into();
    inv.kind = InvoiceKind::CreditNote { of: "R-2026-000123".into() };
    for c in &mut inv.children {
        for l in &mut c.lines {
            l.amount_cents = -l.amount_cents;
        }
        c.subtotal_cents = -c.subtotal_cents;
    }
    inv.total_cents = -inv.total_cents;
    inv.pre_notification = None;
    inv
}

pub fn replacement() -> InvoiceDoc {
    let mut inv = invoice();
    inv.number = "R-2026-000131".into();
    inv.kind = InvoiceKind::Replacement { replaces: "R-2026-000123".into() };
    inv
}

/// `n` family invoices with varying names (for the combined print file and the benchmark).
pub fn invoices(n: usize) -> Vec<InvoiceDoc> {
    (0..n)
        .map(|i| {
            let mut inv = if i % 3 == 2 { invoice_transfer() } else { invoice() };
            inv.number = format!("R-2026-{:06}", 200 + i);
            inv.recipient.name = format!("Zoë Müller-Lüdenscheidt {}", i + 1);
            inv
        })
        .collect()
}

pub fn claim_list(rows: usize) -> ClaimListDoc {
    let names = ["Jürgen Weiß", "Änne Weiß", "Sören Groß", "Lütfiye Çelik", "Maximilian Straßburger-Höß", "Zoë Ähn"];
    let reductions = ["Geschwisterermäßigung 2. Kind", "Alleinerziehend 1. Kind", "Geschwister 3. Kind (beitragsfrei)"];
    let rows: Vec<ClaimRow> = (0..rows)
        .map(|i| {
            let full = 123_456 - (i as i64 % 7) * 1_000;
            ClaimRow {
                child_name: format!("{} {}", names[i % names.len()], i + 1),
                child_birth_date: d(2021 + (i % 4) as i32, 1 + (i % 12) as u32, 1 + (i % 28) as u32),
                month: d(2026, 1 + (i % 6) as u32, 1),
                reduction: reductions[i % reductions.len()].into(),
                full_fee_cents: full,
                reduction_cents: full * 4 / 10,
            }
        })
        .collect();
    let total = rows.iter().map(|r| r.reduction_cents).sum();
    ClaimListDoc {
        sender: sender(),
        recipient: Party {
            name: "Stadt Leipzig, Amt für Jugend und Familie".into(),
            street: "Naumburger Straße 26".into(),
            postal_code: "04229".into(),
            city: "Leipzig".into(),
        },
        reference: "EA-2026-H1".into(),
        issued_on: d(2026, 7, 10),
        from_month: d(2026, 1, 1),
        to_month: d(2026, 6, 1),
        rows,
        total_cents: total,
    }
}
