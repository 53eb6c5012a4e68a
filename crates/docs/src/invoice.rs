//! The monthly family invoice (Rechnung), its credit note (Gutschrift) and replacement invoice
//! (Ersatzrechnung), with the SEPA pre-notification or transfer instructions; and the combined
//! print file of a billing run.

use chrono::NaiveDateTime;

use crate::error::DocError;
use crate::fee_notice::{check_sum, fee_columns, sender_footer};
use crate::format::{date, euro, iban_grouped, iban_masked, month_year};
use crate::layout::{address_block, to_pdf, DocMeta, Layout, Page, Row, RowKind, Style};
use crate::model::{InvoiceDoc, InvoiceKind};

/// Title line and the German name of the kind.
fn title(doc: &InvoiceDoc) -> String {
    match &doc.kind {
        InvoiceKind::Invoice => format!("Rechnung {}", doc.number),
        InvoiceKind::CreditNote { of } => format!("Gutschrift {} zu Rechnung {}", doc.number, of),
        InvoiceKind::Replacement { replaces } => format!("Ersatzrechnung {} für Rechnung {}", doc.number, replaces),
    }
}

fn short_kind(doc: &InvoiceDoc) -> &'static str {
    match doc.kind {
        InvoiceKind::Invoice => "Rechnung",
        InvoiceKind::CreditNote { .. } => "Gutschrift",
        InvoiceKind::Replacement { .. } => "Ersatzrechnung",
    }
}

fn validate(doc: &InvoiceDoc) -> Result<(), DocError> {
    if doc.children.is_empty() {
        return Err(DocError::InvalidInput(format!("{} {} ohne Positionen", short_kind(doc), doc.number)));
    }
    for c in &doc.children {
        check_sum(&format!("{} {}, {}", short_kind(doc), doc.number, c.child_name), &c.lines, c.subtotal_cents)?;
    }
    let sum: i64 = doc.children.iter().map(|c| c.subtotal_cents).sum();
    if sum != doc.total_cents {
        return Err(DocError::InvalidInput(format!(
            "{} {}: Summe der Kinder {} ≠ Gesamtbetrag {}",
            short_kind(doc),
            doc.number,
            euro(sum),
            euro(doc.total_cents)
        )));
    }
    if let Some(pn) = &doc.pre_notification {
        // A replacement collects only the difference to the invoice it replaces, if that was
        // collected already; never more than its total.
        let ok = match doc.kind {
            InvoiceKind::Replacement { .. } => pn.amount_cents > 0 && pn.amount_cents <= doc.total_cents,
            _ => pn.amount_cents == doc.total_cents,
        };
        if !ok {
            return Err(DocError::InvalidInput(format!(
                "{} {}: Lastschriftbetrag {} ≠ Gesamtbetrag {}",
                short_kind(doc),
                doc.number,
                euro(pn.amount_cents),
                euro(doc.total_cents)
            )));
        }
    }
    Ok(())
}

/// Lays out one invoice into its own pages (own "Seite x von y").
fn layout_invoice(doc: &InvoiceDoc) -> Result<Vec<Page>, DocError> {
    validate(doc)?;
    let month = month_year(doc.month);
    let title = title(doc);
    let mut l = Layout::new(
        format!("{title} · {}", doc.recipient.name),
        vec![format!("{title} · Leistungszeitraum {month}"), sender_footer(&doc.sender)],
    );
    let number_label = match doc.kind {
        InvoiceKind::CreditNote { .. } => "Gutschrift-Nr.",
        _ => "Rechnungs-Nr.",
    };
    let info = vec![
        (number_label.to_string(), doc.number.clone()),
        ("Datum".to_string(), date(doc.issued_on)),
        ("Zeitraum".to_string(), month.clone()),
        ("Einrichtung".to_string(), doc.sender.facility.name.clone()),
    ];
    l.letter_head(&doc.sender, &address_block(std::slice::from_ref(&doc.recipient)), &info, &title, &format!("Elternbeiträge {month}"));

    l.paragraph("Sehr geehrte Sorgeberechtigte,", Style::BODY);
    let intro = match &doc.kind {
        InvoiceKind::Invoice => format!(
            "für die Betreuung in der Einrichtung {} berechnen wir Ihnen für {} die folgenden Elternbeiträge:",
            doc.sender.facility.name, month
        ),
        InvoiceKind::CreditNote { of } => format!(
            "die Rechnung {of} für {month} heben wir mit dieser Gutschrift vollständig auf. Gutgeschrieben werden die folgenden \
             Beträge:"
        ),
        InvoiceKind::Replacement { replaces } => format!(
            "diese Rechnung ersetzt die Rechnung {replaces}, die mit einer Gutschrift aufgehoben wurde. Für {month} berechnen \
             wir Ihnen die folgenden Elternbeiträge:"
        ),
    };
    l.paragraph(&intro, Style::BODY);

    let mut rows = Vec::new();
    for c in &doc.children {
        rows.push(Row::new(RowKind::Group, vec![format!("{} – {}", c.child_name, c.care)]));
        rows.extend(c.lines.iter().map(|fl| Row::new(RowKind::Normal, vec![fl.label.clone(), fl.detail.clone(), euro(fl.amount_cents)])));
        if doc.children.len() > 1 {
            rows.push(Row::new(RowKind::Subtotal, vec![format!("Summe {}", c.child_name), String::new(), euro(c.subtotal_cents)]));
        }
    }
    let total_label = match doc.kind {
        InvoiceKind::CreditNote { .. } => "Gutschrift gesamt",
        _ => "Rechnungsbetrag",
    };
    rows.push(Row::new(RowKind::Total, vec![total_label.into(), String::new(), euro(doc.total_cents)]));
    let cols = fee_columns(l.width());
    l.table(&cols, &rows);

    match (&doc.pre_notification, &doc.kind) {
        (Some(pn), kind) => {
            l.heading("SEPA-Lastschrift – Vorabankündigung");
            let difference = match kind {
                InvoiceKind::Replacement { replaces } if pn.amount_cents < doc.total_cents => format!(
                    " Das ist der Unterschied zur Rechnung {replaces}, deren Betrag von {} bereits eingezogen wurde.",
                    euro(doc.total_cents - pn.amount_cents)
                ),
                _ => String::new(),
            };
            l.paragraph(
                &format!(
                    "Wir ziehen den Betrag von {} am {} mit der SEPA-Lastschrift zu Mandatsreferenz {}, Gläubiger-ID {}, von \
                     Ihrem Konto IBAN {} ein.{difference} Bitte sorgen Sie für ausreichende Deckung Ihres Kontos.",
                    euro(pn.amount_cents),
                    date(pn.due_date),
                    pn.mandate_reference,
                    pn.creditor_id,
                    iban_masked(&pn.debtor_iban)
                ),
                Style::BODY,
            );
        }
        (None, InvoiceKind::CreditNote { .. }) => {
            l.heading("Erstattung");
            l.paragraph(
                &format!(
                    "Den Betrag von {} verrechnen wir mit der Ersatzrechnung; ein verbleibendes Guthaben erstatten wir Ihnen \
                     bis zum {}. Bereits eingezogene Beträge werden nicht erneut eingezogen.",
                    euro(doc.total_cents.abs()),
                    date(doc.due_date)
                ),
                Style::BODY,
            );
        }
        (None, _) => {
            l.heading("Zahlung");
            l.paragraph(
                &format!(
                    "Bitte überweisen Sie den Betrag von {} bis zum {} auf das Konto IBAN {} (Kontoinhaber: {}). Bitte geben \
                     Sie als Verwendungszweck die Rechnungsnummer {} an.",
                    euro(doc.total_cents),
                    date(doc.due_date),
                    iban_grouped(&doc.transfer_iban),
                    doc.sender.provider.name,
                    doc.number
                ),
                Style::BODY,
            );
        }
    }
    l.paragraph("Die Betreuungsleistungen sind nach § 4 Nr. 25 UStG von der Umsatzsteuer befreit.", Style::BODY.with_size(9.0));
    l.gap(2.0);
    l.ensure(4.0 * Style::BODY.line_height());
    l.paragraph("Mit freundlichen Grüßen", Style::BODY);
    l.paragraph(&doc.sender.provider.name, Style::BODY);
    l.paragraph("Dieses Schreiben wurde maschinell erstellt und ist ohne Unterschrift gültig.", Style::SMALL);
    l.finish()
}

fn meta(doc: &InvoiceDoc) -> DocMeta {
    DocMeta {
        title: title(doc),
        author: doc.sender.provider.name.clone(),
        subject: format!("Elternbeiträge {} – {}", month_year(doc.month), doc.recipient.name),
    }
}

/// Renders one invoice, credit note or replacement invoice.
pub fn invoice_pdf(doc: &InvoiceDoc, created: NaiveDateTime) -> Result<Vec<u8>, DocError> {
    let pages = layout_invoice(doc)?;
    to_pdf(pages, &meta(doc), created)
}

/// One print file for a billing run: every invoice starts on a new page and has its own
/// "Seite x von y". The fonts are embedded once for the whole file.
pub fn invoices_combined_pdf(docs: &[InvoiceDoc], created: NaiveDateTime) -> Result<Vec<u8>, DocError> {
    let first = docs.first().ok_or_else(|| DocError::InvalidInput("keine Rechnungen zum Drucken".into()))?;
    let mut pages = Vec::new();
    for doc in docs {
        pages.extend(layout_invoice(doc)?);
    }
    let meta = DocMeta {
        title: format!("Rechnungen {} ({} Stück)", month_year(first.month), docs.len()),
        author: first.sender.provider.name.clone(),
        subject: format!("Elternbeiträge {}", month_year(first.month)),
    };
    to_pdf(pages, &meta, created)
}
