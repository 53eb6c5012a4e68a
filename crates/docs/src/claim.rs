//! The reimbursement claim (Erstattungsantrag, SächsKitaG § 15 Abs. 5): the reductions a
//! provider granted to parents in a period, claimed from the youth office. As a PDF letter with
//! the full table, and as CSV for the office's spreadsheet.

use chrono::NaiveDateTime;

use crate::error::DocError;
use crate::fee_notice::sender_footer;
use crate::format::{amount, date, euro, month_short, month_year};
use crate::layout::{address_block, fit_width, to_pdf, Align, Column, DocMeta, Layout, Row, RowKind, Style};
use crate::model::ClaimListDoc;

fn period(doc: &ClaimListDoc) -> String {
    if doc.from_month == doc.to_month {
        month_year(doc.from_month)
    } else {
        format!("{} bis {}", month_year(doc.from_month), month_year(doc.to_month))
    }
}

fn validate(doc: &ClaimListDoc) -> Result<(), DocError> {
    let sum: i64 = doc.rows.iter().map(|r| r.reduction_cents).sum();
    if sum != doc.total_cents {
        return Err(DocError::InvalidInput(format!(
            "Erstattungsantrag {}: Summe der Zeilen {} ≠ Gesamtbetrag {}",
            doc.reference,
            euro(sum),
            euro(doc.total_cents)
        )));
    }
    Ok(())
}

/// Renders the claim as a letter to the youth office with one table row per child and month.
/// Long lists continue on further pages with the table header repeated.
pub fn claim_pdf(doc: &ClaimListDoc, created: NaiveDateTime) -> Result<Vec<u8>, DocError> {
    validate(doc)?;
    let period = period(doc);
    let mut l = Layout::new(
        format!("Erstattungsantrag {} · {}", doc.reference, period),
        vec![format!("Erstattungsantrag {} · {}", doc.reference, period), sender_footer(&doc.sender)],
    );
    let info = vec![
        ("Unser Zeichen".to_string(), doc.reference.clone()),
        ("Datum".to_string(), date(doc.issued_on)),
        ("Zeitraum".to_string(), format!("{} – {}", month_short(doc.from_month), month_short(doc.to_month))),
        ("Einrichtung".to_string(), doc.sender.facility.name.clone()),
    ];
    l.letter_head(
        &doc.sender,
        &address_block(std::slice::from_ref(&doc.recipient)),
        &info,
        "Antrag auf Erstattung von Elternbeitragsermäßigungen",
        &format!("nach § 15 Abs. 5 SächsKitaG für {period}"),
    );
    l.paragraph("Sehr geehrte Damen und Herren,", Style::BODY);
    l.paragraph(
        &format!(
            "für die Einrichtung {} beantragen wir die Erstattung der Ermäßigungen der Elternbeiträge, die wir im Zeitraum {} \
             gewährt haben. Die folgende Aufstellung nennt je Kind und Monat den ungekürzten Elternbeitrag und den Betrag der \
             Ermäßigung ({} Positionen, Gesamtbetrag {}).",
            doc.sender.facility.name,
            period,
            doc.rows.len(),
            euro(doc.total_cents)
        ),
        Style::BODY,
    );

    // Dense list at 8.5 pt. Number, date, month and amount columns are as wide as their widest
    // entry (so they never wrap); names and reduction kinds share the rest by their length.
    const SIZE: f32 = 8.5;
    let body = Style::TABLE.with_size(SIZE);
    let bold = Style::TABLE_BOLD.with_size(SIZE + 0.5);
    let full_sum: i64 = doc.rows.iter().map(|r| r.full_fee_cents).sum();
    let nr_w = fit_width([doc.rows.len().to_string().as_str(), "Nr."], bold);
    let date_w = fit_width(["00.00.0000", "Geburts-"], bold);
    let month_w = fit_width(["00/0000", "Monat"], bold);
    let full_w = fit_width([euro(full_sum).as_str(), "Beitrag voll"], bold);
    let claim_w = fit_width([euro(doc.total_cents).as_str(), "Erstattung"], bold);
    let rest = l.width() - nr_w - date_w - month_w - full_w - claim_w;
    // Split the rest between names and reduction kinds so that as few rows as possible wrap.
    let name_ws: Vec<f32> = doc.rows.iter().map(|r| fit_width([r.child_name.as_str()], body)).collect();
    let kind_ws: Vec<f32> = doc.rows.iter().map(|r| fit_width([r.reduction.as_str()], body)).collect();
    let wrapped = |name_w: f32| name_ws.iter().zip(&kind_ws).filter(|(n, k)| **n > name_w || **k > rest - name_w).count();
    let name_need = name_ws.iter().copied().fold(0.0, f32::max);
    let kind_need = kind_ws.iter().copied().fold(0.0, f32::max);
    let name_w = [rest - kind_need, name_need, rest * name_need / (name_need + kind_need).max(1.0)]
        .into_iter()
        .map(|w| w.clamp(rest * 0.3, rest * 0.7))
        .min_by_key(|w| wrapped(*w))
        .unwrap_or(rest / 2.0);
    let cols = [
        Column::new("Nr.", nr_w, Align::Right),
        Column::new("Kind", name_w, Align::Left),
        Column::new("Geburts-\ndatum", date_w, Align::Left),
        Column::new("Monat", month_w, Align::Left),
        Column::new("Ermäßigung", rest - name_w, Align::Left),
        Column::new("Beitrag voll", full_w, Align::Right),
        Column::new("Erstattung", claim_w, Align::Right),
    ];
    let mut rows: Vec<Row> = doc
        .rows
        .iter()
        .enumerate()
        .map(|(i, r)| {
            Row::new(
                RowKind::Normal,
                vec![
                    (i + 1).to_string(),
                    r.child_name.clone(),
                    date(r.child_birth_date),
                    month_short(r.month),
                    r.reduction.clone(),
                    euro(r.full_fee_cents),
                    euro(r.reduction_cents),
                ],
            )
        })
        .collect();
    rows.push(Row::new(
        RowKind::Total,
        vec![
            String::new(),
            format!("Summe ({} Positionen)", doc.rows.len()),
            String::new(),
            String::new(),
            String::new(),
            euro(full_sum),
            euro(doc.total_cents),
        ],
    ));
    l.table_sized(&cols, &rows, SIZE);

    l.paragraph(
        &format!(
            "Wir bitten um Erstattung von {} auf das Ihnen bekannte Konto des Trägers. Die Ermäßigungen wurden nach der \
             geltenden Elternbeitragssatzung gewährt; die Nachweise liegen uns vor und können eingesehen werden. Wir \
             bestätigen die Richtigkeit der Angaben.",
            euro(doc.total_cents)
        ),
        Style::BODY,
    );
    l.gap(4.0);
    l.ensure(4.0 * Style::BODY.line_height());
    l.paragraph("Mit freundlichen Grüßen", Style::BODY);
    l.signatures(&[(doc.sender.provider.name.clone(), "Unterschrift und Stempel des Trägers".into())]);

    let pages = l.finish()?;
    let meta = DocMeta {
        title: format!("Erstattungsantrag {} – {}", doc.reference, period),
        author: doc.sender.provider.name.clone(),
        subject: format!("Erstattung von Elternbeitragsermäßigungen, {period}"),
    };
    to_pdf(pages, &meta, created)
}

/// The claim as CSV for Excel/LibreOffice (German locale): UTF-8 with byte order mark (so Excel
/// detects the encoding), `;` as separator, `\r\n` line ends, decimal comma without thousands
/// separators, dates as `TT.MM.JJJJ`, months as `MM/JJJJ`.
///
/// Columns (the first line is this header):
///
/// | Column        | Content                                         | Example                          |
/// |---------------|-------------------------------------------------|----------------------------------|
/// | `Kind`        | child's name                                    | `Jürgen Weiß`                    |
/// | `Geburtsdatum`| date of birth                                   | `12.03.2025`                     |
/// | `Monat`       | month the reduction applies to                  | `11/2026`                        |
/// | `Ermäßigung`  | kind of reduction                               | `Geschwisterermäßigung 2. Kind`  |
/// | `Beitrag_voll`| fee before reductions, euros                    | `1234,56`                        |
/// | `Erstattung`  | reduction claimed, euros                        | `493,82`                         |
///
/// Fields containing `;`, `"` or a line break are quoted with `"` (inner quotes doubled).
/// No total line: the spreadsheet sums.
pub fn claim_csv(doc: &ClaimListDoc) -> String {
    fn field(s: &str) -> String {
        if s.contains([';', '"', '\n', '\r']) {
            format!("\"{}\"", s.replace('"', "\"\""))
        } else {
            s.to_string()
        }
    }
    // Spreadsheet numbers: decimal comma, no thousands dots, ASCII minus.
    fn number(cents: i64) -> String {
        amount(cents).replace('.', "").replace('\u{2212}', "-")
    }
    let mut out = String::with_capacity(64 + doc.rows.len() * 80);
    out.push('\u{feff}');
    out.push_str("Kind;Geburtsdatum;Monat;Ermäßigung;Beitrag_voll;Erstattung\r\n");
    for r in &doc.rows {
        out.push_str(&format!(
            "{};{};{};{};{};{}\r\n",
            field(&r.child_name),
            date(r.child_birth_date),
            month_short(r.month),
            field(&r.reduction),
            number(r.full_fee_cents),
            number(r.reduction_cents)
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ClaimRow, Party, Sender};
    use chrono::NaiveDate;

    #[test]
    fn csv_format() {
        let d = |y, m, day| NaiveDate::from_ymd_opt(y, m, day).unwrap();
        let doc = ClaimListDoc {
            sender: Sender::default(),
            recipient: Party::default(),
            reference: "EA-1".into(),
            issued_on: d(2026, 7, 1),
            from_month: d(2026, 1, 1),
            to_month: d(2026, 6, 1),
            rows: vec![
                ClaimRow {
                    child_name: "Jürgen Weiß".into(),
                    child_birth_date: d(2025, 3, 12),
                    month: d(2026, 11, 1),
                    reduction: "Geschwisterermäßigung 2. Kind".into(),
                    full_fee_cents: 123_456,
                    reduction_cents: 49_382,
                },
                ClaimRow {
                    child_name: "Anna \"Änni\"; Groß".into(),
                    child_birth_date: d(2022, 1, 2),
                    month: d(2026, 1, 1),
                    reduction: "Alleinerziehend 1. Kind".into(),
                    full_fee_cents: 5,
                    reduction_cents: -100,
                },
            ],
            total_cents: 49_282,
        };
        let csv = claim_csv(&doc);
        let mut lines = csv.split("\r\n");
        assert_eq!(lines.next().unwrap(), "\u{feff}Kind;Geburtsdatum;Monat;Ermäßigung;Beitrag_voll;Erstattung");
        assert_eq!(lines.next().unwrap(), "Jürgen Weiß;12.03.2025;11/2026;Geschwisterermäßigung 2. Kind;1234,56;493,82");
        assert_eq!(lines.next().unwrap(), "\"Anna \"\"Änni\"\"; Groß\";02.01.2022;01/2026;Alleinerziehend 1. Kind;0,05;-1,00");
        assert_eq!(lines.next().unwrap(), "");
        assert!(lines.next().is_none());
    }
}
