//! Kostenbescheid: the monthly parent fee of one child from a month on, computed line by line,
//! with due date, payment and the legal remedy note (Rechtsbehelfsbelehrung).

use chrono::NaiveDateTime;

use crate::error::DocError;
use crate::format::{date, euro, hours, month_year};
use crate::layout::{address_block, address_line, mm, to_pdf, Align, Column, DocMeta, Layout, Row, RowKind, Style};
use crate::model::{FeeLine, FeeNoticeDoc, Party};

/// Lines of a fee computation and their total as table rows (shared with the contract).
pub(crate) fn fee_rows(lines: &[FeeLine], total_label: &str, total_cents: i64) -> Vec<Row> {
    let mut rows: Vec<Row> =
        lines.iter().map(|l| Row::new(RowKind::Normal, vec![l.label.clone(), l.detail.clone(), euro(l.amount_cents)])).collect();
    rows.push(Row::new(RowKind::Total, vec![total_label.to_string(), String::new(), euro(total_cents)]));
    rows
}

/// Columns Position | Grundlage | Betrag over the text width.
pub(crate) fn fee_columns(width: f32) -> Vec<Column> {
    let amount_w = mm(28.0);
    let detail_w = mm(55.0);
    vec![
        Column::new("Position", width - amount_w - detail_w, Align::Left),
        Column::new("Grundlage", detail_w, Align::Left),
        Column::new("Betrag", amount_w, Align::Right),
    ]
}

/// Checks that the lines add up to the stated total: a document whose figures do not add up
/// must not leave the office.
pub(crate) fn check_sum(what: &str, lines: &[FeeLine], total: i64) -> Result<(), DocError> {
    let sum: i64 = lines.iter().map(|l| l.amount_cents).sum();
    if sum != total {
        return Err(DocError::InvalidInput(format!("{what}: Summe der Positionen {} ≠ Gesamtbetrag {}", euro(sum), euro(total))));
    }
    Ok(())
}

/// Footer line with the sender: "Träger · Straße, PLZ Ort · contact".
pub(crate) fn sender_footer(sender: &crate::model::Sender) -> String {
    let mut parts = vec![sender.provider.name.clone()];
    let addr = address_line(&sender.provider);
    if !addr.is_empty() {
        parts.push(addr);
    }
    if !sender.contact.is_empty() {
        parts.push(sender.contact.clone());
    }
    parts.join(" · ")
}

/// Recipients living elsewhere than the first one (named in the body: the window shows one
/// address).
pub(crate) fn other_addresses(recipients: &[Party]) -> Vec<&Party> {
    match recipients.split_first() {
        Some((first, rest)) => rest
            .iter()
            .filter(|p| (p.street.as_str(), p.postal_code.as_str()) != (first.street.as_str(), first.postal_code.as_str()))
            .collect(),
        None => Vec::new(),
    }
}

/// Renders a fee notice. `created` (UTC) goes into the PDF metadata only; the letter is dated
/// `doc.issued_on`.
pub fn fee_notice_pdf(doc: &FeeNoticeDoc, created: NaiveDateTime) -> Result<Vec<u8>, DocError> {
    if doc.recipients.is_empty() {
        return Err(DocError::InvalidInput("Kostenbescheid ohne Empfänger".into()));
    }
    check_sum("Kostenbescheid", &doc.lines, doc.monthly_fee_cents)?;
    let from = month_year(doc.valid_from);
    let mut l = Layout::new(
        format!("Kostenbescheid {} · {}", doc.reference, doc.child_name),
        vec![format!("Kostenbescheid {} · {}", doc.reference, doc.child_name), sender_footer(&doc.sender)],
    );
    let info = vec![
        ("Unser Zeichen".to_string(), doc.reference.clone()),
        ("Datum".to_string(), date(doc.issued_on)),
        ("Kind".to_string(), doc.child_name.clone()),
        ("Geboren am".to_string(), date(doc.child_birth_date)),
    ];
    l.letter_head(
        &doc.sender,
        &address_block(&doc.recipients),
        &info,
        "Kostenbescheid",
        &format!("Elternbeitrag für {} ab {}", doc.child_name, from),
    );

    l.paragraph("Sehr geehrte Sorgeberechtigte,", Style::BODY);
    l.paragraph(
        &format!(
            "für die Betreuung Ihres Kindes {} (geboren am {}) in der Einrichtung {} ({}, vertragliche Betreuungszeit {} Stunden \
             täglich) setzen wir den monatlichen Elternbeitrag ab dem {} wie folgt fest:",
            doc.child_name,
            date(doc.child_birth_date),
            doc.sender.facility.name,
            doc.care_type,
            hours(doc.care_tenths),
            date(doc.valid_from),
        ),
        Style::BODY,
    );

    l.heading("Berechnung");
    let cols = fee_columns(l.width());
    l.table(&cols, &fee_rows(&doc.lines, &format!("Monatlicher Elternbeitrag ab {from}"), doc.monthly_fee_cents));
    l.paragraph(&format!("Grundlage der Berechnung: {}.", doc.rule_set), Style::BODY.with_size(9.0));

    l.heading("Fälligkeit und Zahlung");
    l.paragraph(
        &format!(
            "Der Elternbeitrag von {} ist monatlich {} fällig, erstmals für {}. Zahlungsweise: {}.",
            euro(doc.monthly_fee_cents),
            doc.fee_due,
            from,
            doc.payment_method
        ),
        Style::BODY,
    );
    l.paragraph(
        "Dieser Bescheid gilt, bis er durch einen neuen Bescheid ersetzt wird, etwa wenn sich die Betreuungszeit, die Zahl \
         der gleichzeitig betreuten Geschwister oder die Beitragssatzung ändert. Bitte teilen Sie uns Änderungen, die den \
         Beitrag betreffen, unverzüglich mit.",
        Style::BODY,
    );
    let others = other_addresses(&doc.recipients);
    if !others.is_empty() {
        let names: Vec<String> = others.iter().map(|p| format!("{}, {}", p.name, address_line(p))).collect();
        l.paragraph(&format!("Dieser Bescheid ergeht gleichlautend an: {}.", names.join("; ")), Style::BODY);
    }

    l.heading("Rechtsbehelfsbelehrung");
    let ra = &doc.remedy_authority;
    l.paragraph(
        &format!(
            "Gegen diesen Bescheid kann innerhalb eines Monats nach Bekanntgabe Widerspruch erhoben werden. Der Widerspruch ist \
             schriftlich oder zur Niederschrift bei {}, {} einzulegen.",
            ra.name,
            address_line(ra)
        ),
        Style::BODY,
    );

    l.gap(4.0);
    l.ensure(4.0 * Style::BODY.line_height());
    l.paragraph("Mit freundlichen Grüßen", Style::BODY);
    l.paragraph(&doc.sender.provider.name, Style::BODY);
    l.paragraph("Dieser Bescheid wurde maschinell erstellt und ist ohne Unterschrift gültig.", Style::SMALL);

    let pages = l.finish()?;
    let meta = DocMeta {
        title: format!("Kostenbescheid {} – {}", doc.reference, doc.child_name),
        author: doc.sender.provider.name.clone(),
        subject: format!("Elternbeitrag ab {from}"),
    };
    to_pdf(pages, &meta, created)
}
