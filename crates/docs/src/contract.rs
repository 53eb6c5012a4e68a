//! Betreuungsvertrag: the care contract between the provider and the guardians (BRIEF §5:
//! parties, child, start, hours, settling-in/trial period, fee and due date, payment, notice,
//! medical certificate and measles proof, pick-up persons, illness rules, meals, the hub's
//! application number), with data protection note, amendment list and signature fields.

use chrono::NaiveDateTime;

use crate::error::DocError;
use crate::fee_notice::{check_sum, fee_columns, fee_rows, sender_footer};
use crate::format::{date, euro, hours};
use crate::layout::{address_line, to_pdf, DocMeta, Layout, Style, LEFT};
use crate::model::ContractDoc;

/// Renders the contract. `created` (UTC) goes into the PDF metadata; the contract is dated
/// `doc.place`, `doc.issued_on`.
pub fn contract_pdf(doc: &ContractDoc, created: NaiveDateTime) -> Result<Vec<u8>, DocError> {
    if doc.guardians.is_empty() {
        return Err(DocError::InvalidInput(format!("Betreuungsvertrag {} ohne Sorgeberechtigte", doc.contract_ref)));
    }
    check_sum(&format!("Betreuungsvertrag {}", doc.contract_ref), &doc.fee_lines, doc.monthly_fee_cents)?;
    let label = format!("Betreuungsvertrag {} · {}", doc.contract_ref, doc.child_name);
    let mut l = Layout::new(label.clone(), vec![label, sender_footer(&doc.sender)]);
    let facility = &doc.sender.facility;
    let provider = &doc.sender.provider;

    let mut info = vec![("Vertrags-Nr.".to_string(), doc.contract_ref.clone()), ("Datum".to_string(), date(doc.issued_on))];
    if let Some(app) = &doc.application_number {
        info.push(("Antrag Kita-Portal".to_string(), app.clone()));
    }
    l.document_head(&doc.sender, "Betreuungsvertrag", &format!("über einen Platz in der Kindertageseinrichtung {}", facility.name), &info);

    // Parties.
    l.paragraph("Zwischen", Style::BODY);
    l.paragraph_at(
        LEFT + 12.0,
        l.width() - 12.0,
        &format!(
            "{}, {}, als Träger der Kindertageseinrichtung {}, {} – im Folgenden „Träger“ –",
            provider.name,
            address_line(provider),
            facility.name,
            address_line(facility)
        ),
        Style::BODY,
    );
    l.gap(5.0);
    l.paragraph("und", Style::BODY);
    for g in &doc.guardians {
        l.paragraph_at(LEFT + 12.0, l.width() - 12.0, &format!("{}, {}", g.name, address_line(g)), Style::BOLD);
    }
    l.paragraph_at(LEFT + 12.0, l.width() - 12.0, "als Personensorgeberechtigte – im Folgenden „Eltern“ –", Style::BODY);
    l.gap(5.0);
    l.paragraph("wird folgender Vertrag über die Betreuung des Kindes geschlossen.", Style::BODY);

    l.heading("§ 1 Kind und Betreuungsumfang");
    let mut kv = vec![
        ("Kind".to_string(), doc.child_name.clone()),
        ("Geboren am".to_string(), date(doc.child_birth_date)),
        ("Betreuungsart".to_string(), doc.care_type.clone()),
        ("Betreuungszeit".to_string(), format!("{} Stunden täglich, montags bis freitags", hours(doc.care_tenths))),
        ("Beginn".to_string(), date(doc.start_date)),
        (
            "Ende".to_string(),
            match doc.end_date {
                Some(end) => format!("{} (befristet)", date(end)),
                None => "unbefristet; der Vertrag endet spätestens mit dem Schuleintritt des Kindes".to_string(),
            },
        ),
    ];
    if let Some(app) = &doc.application_number {
        kv.push(("Platzvergabe".to_string(), format!("über das Kita-Portal der Kommune, Antragsnummer {app}")));
    }
    l.key_values(&kv, 95.0);
    l.paragraph(
        "Die Öffnungs- und Schließzeiten der Einrichtung werden durch Aushang bekannt gegeben. Eine dauerhafte Änderung der \
         Betreuungszeit vereinbaren die Eltern mit dem Träger schriftlich mit einem Monat Vorlauf zum Monatsersten.",
        Style::BODY,
    );

    l.heading("§ 2 Eingewöhnung und Probezeit");
    l.paragraph(
        &format!(
            "Die Betreuung beginnt mit einer Eingewöhnung von {} Wochen, in der ein Elternteil oder eine vertraute Bezugsperson \
             das Kind begleitet und die Betreuungszeit schrittweise verlängert wird. Die Eingewöhnung gilt zugleich als \
             Probezeit: In dieser Zeit können beide Seiten den Vertrag mit einer Frist von zwei Wochen schriftlich kündigen. \
             Der Elternbeitrag ist ab Vertragsbeginn zu zahlen, auch während der Eingewöhnung.",
            doc.settling_in_weeks
        ),
        Style::BODY,
    );

    l.heading("§ 3 Elternbeitrag, Fälligkeit und Zahlungsweise");
    l.paragraph(
        &format!(
            "Der monatliche Elternbeitrag beträgt bei Vertragsbeginn {} und setzt sich wie folgt zusammen:",
            euro(doc.monthly_fee_cents)
        ),
        Style::BODY,
    );
    let cols = fee_columns(l.width());
    l.table(&cols, &fee_rows(&doc.fee_lines, "Monatlicher Elternbeitrag", doc.monthly_fee_cents));
    l.paragraph(
        &format!(
            "Der Beitrag ist {} fällig. Zahlungsweise: {}. Der Beitrag wird durch Kostenbescheid festgesetzt; ändern sich die \
             Betreuungszeit, die Zahl gleichzeitig betreuter Geschwister oder die Beitragssatzung, ergeht ein neuer Bescheid. \
             Der Beitrag ist auch bei Abwesenheit des Kindes (Krankheit, Urlaub) und während der Schließzeiten in voller Höhe \
             zu zahlen.",
            doc.fee_due, doc.payment_method
        ),
        Style::BODY,
    );

    l.heading("§ 4 Kündigung");
    l.paragraph(
        &format!(
            "Die Eltern können den Vertrag schriftlich kündigen; die Kündigungsfrist beträgt {}. Der Träger kann mit \
             derselben Frist kündigen, wenn ein wichtiger Grund vorliegt, insbesondere bei einem Zahlungsrückstand von mehr als zwei \
             Monatsbeiträgen trotz Mahnung, bei wiederholter Verletzung der Pflichten aus diesem Vertrag oder wenn das Kind \
             die Einrichtung länger als vier Wochen unentschuldigt nicht besucht. Das Recht zur fristlosen Kündigung aus \
             wichtigem Grund bleibt unberührt.",
            doc.notice_period
        ),
        Style::BODY,
    );

    l.heading("§ 5 Ärztliche Bescheinigung und Masernschutz (§ 20 IfSG)");
    l.paragraph(
        "Vor der Aufnahme legen die Eltern eine ärztliche Bescheinigung über die gesundheitliche Eignung des Kindes für den \
         Besuch der Einrichtung vor, die nicht älter als eine Woche ist, sowie den Nachweis einer ärztlichen Beratung zum \
         Impfschutz (§ 34 Abs. 10a IfSG). Nach § 20 Abs. 8 und 9 IfSG darf das Kind erst betreut werden, wenn ein Nachweis \
         über einen ausreichenden Impfschutz gegen Masern oder eine Immunität gegen Masern vorliegt.",
        Style::BODY,
    );
    l.paragraph(
        &match doc.measles_proof {
            Some(d) => format!("Der Nachweis über den Masernschutz wurde am {} vorgelegt.", date(d)),
            None => "Der Nachweis über den Masernschutz liegt noch nicht vor. Er ist vor dem ersten Betreuungstag vorzulegen; \
                     ohne ihn kann das Kind nicht aufgenommen werden."
                .to_string(),
        },
        Style::BOLD,
    );

    l.heading("§ 6 Erkrankungen (§ 34 IfSG)");
    l.paragraph(
        "Ist das Kind an einer ansteckenden Krankheit im Sinne von § 34 IfSG erkrankt oder besteht ein entsprechender Verdacht \
         (zum Beispiel Masern, Mumps, Windpocken, Keuchhusten, Scharlach, ansteckende Magen-Darm-Erkrankungen oder \
         Kopflausbefall), darf es die Einrichtung nicht besuchen. Das gilt auch, wenn in der Wohngemeinschaft des Kindes eine \
         solche Krankheit auftritt, soweit das Gesetz dies vorsieht. Die Eltern teilen der Einrichtung die Erkrankung \
         unverzüglich mit, damit sie ihre Meldepflichten erfüllen und andere Eltern informieren kann.",
        Style::BODY,
    );
    l.paragraph(
        "Das Kind darf die Einrichtung erst wieder besuchen, wenn nach ärztlichem Urteil eine Weiterverbreitung der Krankheit \
         nicht mehr zu befürchten ist; die Einrichtung kann dafür eine ärztliche Bescheinigung verlangen. Nach Fieber, \
         Erbrechen oder Durchfall bleibt das Kind bis 48 Stunden nach dem Abklingen der Beschwerden zu Hause. Erkrankt das \
         Kind während der Betreuung, holen die Eltern es umgehend ab. Medikamente gibt das Personal nur nach schriftlicher \
         ärztlicher Verordnung und gesonderter Vereinbarung.",
        Style::BODY,
    );

    l.heading("§ 7 Abholberechtigte Personen");
    if doc.pickup_persons.is_empty() {
        l.paragraph("Außer den Eltern ist niemand berechtigt, das Kind abzuholen.", Style::BODY);
    } else {
        l.paragraph("Außer den Eltern dürfen das Kind abholen:", Style::BODY);
        l.bullets(&doc.pickup_persons, Style::BODY);
    }
    l.paragraph(
        "Abholberechtigte weisen sich auf Verlangen mit einem Lichtbildausweis aus. Änderungen teilen die Eltern schriftlich mit.",
        Style::BODY,
    );

    l.heading("§ 8 Verpflegung");
    l.paragraph(&doc.meals, Style::BODY);

    l.heading("§ 9 Datenschutz");
    l.paragraph(
        "Der Träger verarbeitet die personenbezogenen Daten des Kindes und der Eltern, soweit dies zur Erfüllung dieses \
         Vertrags und gesetzlicher Pflichten erforderlich ist (Art. 6 Abs. 1 Buchst. b und c DSGVO), insbesondere für die \
         Platzvergabe, die Betreuung, die Beitragsabrechnung und die Erstattung von Ermäßigungen durch das Jugendamt. Daten \
         werden nur weitergegeben, soweit ein Gesetz es vorschreibt oder die Eltern eingewilligt haben, und gelöscht, sobald \
         sie nicht mehr benötigt werden und keine Aufbewahrungsfrist mehr besteht. Die Eltern haben das Recht auf Auskunft, \
         Berichtigung, Löschung, Einschränkung der Verarbeitung und Widerspruch sowie das Recht, sich bei der \
         Datenschutz-Aufsichtsbehörde zu beschweren. Die ausführlichen Datenschutzhinweise haben die Eltern erhalten.",
        Style::BODY,
    );

    l.heading("§ 10 Vertragsänderungen");
    l.paragraph("Änderungen und Ergänzungen dieses Vertrags bedürfen der Schriftform. Bisherige Fassungen und Änderungen:", Style::BODY);
    if doc.versions.is_empty() {
        l.paragraph("keine", Style::BODY);
    } else {
        l.bullets(&doc.versions, Style::BODY);
    }

    // Place, date and signatures, kept together.
    let rows = (doc.guardians.len() + 1).div_ceil(2) as f32;
    l.gap(6.0);
    l.ensure(2.0 * Style::BODY.line_height() + rows * 58.0);
    l.paragraph(&format!("{}, {}", doc.place, date(doc.issued_on)), Style::BODY);
    let mut fields: Vec<(String, String)> =
        doc.guardians.iter().map(|g| ("Unterschrift Sorgeberechtigte/r".to_string(), g.name.clone())).collect();
    fields.push(("Für den Träger (Unterschrift, Stempel)".to_string(), provider.name.clone()));
    l.signatures(&fields);

    let pages = l.finish()?;
    let meta = DocMeta {
        title: format!("Betreuungsvertrag {} – {}", doc.contract_ref, doc.child_name),
        author: provider.name.clone(),
        subject: format!("Betreuung ab {} in der Einrichtung {}", date(doc.start_date), facility.name),
    };
    to_pdf(pages, &meta, created)
}
