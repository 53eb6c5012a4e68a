//! End-to-end checks of every PDF kind with the real tools a recipient's software would use:
//! poppler's `pdftotext`/`pdffonts` and `qpdf`. A missing tool fails the test with a clear
//! message (install `poppler-utils` and `qpdf`); nothing is skipped silently.

mod sample;

use std::path::{Path, PathBuf};
use std::process::Command;

use kitakontor_docs::model::{FeeLine, InvoiceChild};
use kitakontor_docs::*;
use sample::*;

// ---------------------------------------------------------------------------------------------
// Tool helpers

/// Runs a tool; panics with an install hint if it is missing. Returns (exit code, stdout, stderr).
fn run(tool: &str, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(tool)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("required tool `{tool}` could not be run ({e}); install poppler-utils (pdftotext, pdffonts) and qpdf"));
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// `pdftotext -layout` of the whole file or of one page.
fn text(path: &Path, page: Option<usize>) -> String {
    let page_s = page.map(|n| n.to_string());
    let mut args = vec!["-layout", "-enc", "UTF-8"];
    if let Some(n) = &page_s {
        args.extend(["-f", n, "-l", n]);
    }
    args.extend([p(path), "-"]);
    let (code, out, err) = run("pdftotext", &args);
    assert_eq!(code, 0, "pdftotext failed: {err}");
    out
}

/// Whitespace-normalised: U+00A0 and runs of spaces/line breaks become one space, so a phrase
/// can be found regardless of where a line was broken.
fn flat(s: &str) -> String {
    s.replace('\u{a0}', " ").split_whitespace().collect::<Vec<_>>().join(" ")
}

fn assert_contains_all(path: &Path, expected: &[&str]) {
    let t = flat(&text(path, None));
    for e in expected {
        assert!(t.contains(&flat(e)), "{}: text lacks {e:?}\n--- text ---\n{t}", path.display());
    }
}

fn page_count(path: &Path) -> usize {
    let (code, out, err) = run("pdfinfo", &[p(path)]);
    assert_eq!(code, 0, "pdfinfo failed: {err}");
    out.lines().find_map(|l| l.strip_prefix("Pages:")).map(|v| v.trim().parse().unwrap()).expect("pdfinfo reports pages")
}

/// qpdf finds no syntax, stream or xref problem and prints no warning.
fn assert_qpdf_clean(path: &Path) {
    let (code, out, err) = run("qpdf", &["--check", p(path)]);
    assert_eq!(code, 0, "qpdf --check exit {code} for {}:\n{out}\n{err}", path.display());
    assert!(out.contains("No syntax or stream encoding errors found"), "{out}");
    let all = format!("{out}{err}").to_lowercase();
    assert!(!all.contains("warning") && !all.contains("error:"), "qpdf reports problems:\n{out}\n{err}");
}

/// Every font embedded, subset (ABCDEF+ tag) and with a ToUnicode map (text extraction).
fn assert_fonts_embedded_subset(path: &Path) {
    let (code, out, err) = run("pdffonts", &[p(path)]);
    assert_eq!(code, 0, "pdffonts failed: {err}");
    let fonts: Vec<&str> = out.lines().skip(2).filter(|l| !l.trim().is_empty()).collect();
    assert!(!fonts.is_empty(), "no fonts listed:\n{out}");
    for line in fonts {
        let cols: Vec<&str> = line.split_whitespace().collect();
        let n = cols.len();
        let (name, emb, sub, uni) = (cols[0], cols[n - 5], cols[n - 4], cols[n - 3]);
        let (tag, base) = name.split_once('+').unwrap_or(("", name));
        assert!(tag.len() == 6 && tag.chars().all(|c| c.is_ascii_uppercase()), "font {name} has no subset tag");
        assert!(base.starts_with("LiberationSans"), "unexpected font {name}");
        assert_eq!(emb, "yes", "font not embedded: {line}");
        assert_eq!(sub, "yes", "font not subset: {line}");
        assert_eq!(uni, "yes", "font without ToUnicode: {line}");
    }
}

/// PDF/A-2b identification: uncompressed XMP packet in the catalog with pdfaid part 2 and
/// conformance B, dates and title equal to the Info dictionary; sRGB output intent.
fn assert_pdfa(bytes: &[u8], title: &str) {
    let doc = lopdf::Document::load_mem(bytes).expect("lopdf parses the file");
    assert_eq!(doc.version, "1.7");
    let catalog = doc.catalog().unwrap();
    let meta_ref = catalog.get(b"Metadata").unwrap().as_reference().unwrap();
    let stream = doc.get_object(meta_ref).unwrap().as_stream().unwrap();
    assert!(stream.dict.get(b"Filter").is_err(), "XMP must stay uncompressed");
    assert_eq!(stream.dict.get(b"Subtype").unwrap().as_name().unwrap(), b"XML");
    let xmp = String::from_utf8(stream.content.clone()).unwrap();
    assert!(xmp.contains("<pdfaid:part>2</pdfaid:part>"), "{xmp}");
    assert!(xmp.contains("<pdfaid:conformance>B</pdfaid:conformance>"), "{xmp}");
    assert!(xmp.contains("<xmp:CreateDate>2026-10-28T09:30:00+00:00</xmp:CreateDate>"), "{xmp}");
    assert!(xmp.contains("<pdf:Producer>Kitakontor</pdf:Producer>"), "{xmp}");
    assert!(xmp.contains(&format!("<rdf:li xml:lang=\"x-default\">{title}</rdf:li>")), "XMP title: {xmp}");

    let info_ref = doc.trailer.get(b"Info").unwrap().as_reference().unwrap();
    let info = doc.get_object(info_ref).unwrap().as_dict().unwrap();
    assert_eq!(info.get(b"CreationDate").unwrap().as_str().unwrap(), b"D:20261028093000+00'00'");
    let info_title = lopdf::decode_text_string(info.get(b"Title").unwrap()).unwrap();
    assert_eq!(info_title, title);
    assert_eq!(lopdf::decode_text_string(info.get(b"Producer").unwrap()).unwrap(), "Kitakontor");

    let intents = catalog.get(b"OutputIntents").unwrap().as_array().unwrap();
    assert_eq!(intents.len(), 1);
    let intent = intents[0].as_dict().unwrap();
    assert_eq!(intent.get(b"S").unwrap().as_name().unwrap(), b"GTS_PDFA1");
    let icc = doc.get_object(intent.get(b"DestOutputProfile").unwrap().as_reference().unwrap()).unwrap().as_stream().unwrap();
    assert_eq!(icc.dict.get(b"N").unwrap().as_i64().unwrap(), 3);
    let profile = icc.decompressed_content().unwrap();
    assert_eq!(&profile[36..40], b"acsp", "embedded ICC profile is not an ICC profile");
    assert_eq!(&profile[16..20], b"RGB ");

    let id = doc.trailer.get(b"ID").unwrap().as_array().unwrap();
    assert_eq!(id.len(), 2);
    assert_eq!(id[0].as_str().unwrap().len(), 16);
}

/// The checks every PDF gets.
fn check_pdf(dir: &Path, name: &str, bytes: &[u8], title: &str, expected: &[&str]) -> PathBuf {
    assert!(bytes.starts_with(b"%PDF-1.7\n"));
    let path = write(dir, name, bytes);
    assert_qpdf_clean(&path);
    assert_fonts_embedded_subset(&path);
    assert_pdfa(bytes, title);
    assert_contains_all(&path, expected);
    let n = page_count(&path);
    for i in 1..=n {
        let t = text(&path, Some(i));
        assert!(t.contains(&format!("Seite {i} von {n}")), "{name}: page {i} lacks \"Seite {i} von {n}\"");
    }
    path
}

fn tmp() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

// ---------------------------------------------------------------------------------------------
// One test per kind

#[test]
fn fee_notice() {
    let dir = tmp();
    let pdf = fee_notice_pdf(&sample::fee_notice(), created()).unwrap();
    let path = check_pdf(
        dir.path(),
        "kostenbescheid.pdf",
        &pdf,
        "Kostenbescheid KB-2026-0815 – Jürgen Weiß",
        &[
            "Kostenbescheid",
            "Jürgen Weiß",
            "Zoë Müller-Lüdenscheidt",
            "Björn Weiß",
            "Käthe-Kollwitz-Straße 88",
            "1.234,56 €",
            "−493,82 €",
            "772,24 €",
            "12.03.2025",
            "28.10.2026",
            "01.11.2026",
            "Monatlicher Elternbeitrag ab November 2026",
            "Elternbeitragssatzung Leipzig, Fassung 2014-08",
            "zum 5. Werktag des Monats",
            "Rechtsbehelfsbelehrung",
            "Gegen diesen Bescheid kann innerhalb eines Monats nach Bekanntgabe Widerspruch erhoben werden. Der Widerspruch ist \
             schriftlich oder zur Niederschrift bei Kinderwelt Sachsen gGmbH, Geschäftsstelle, Löhrstraße 17, 04105 Leipzig \
             einzulegen.",
        ],
    );
    // Amounts are right-aligned: in the layout text each amount ends its line.
    let t = text(&path, None);
    for amount in ["1.234,56 €", "−493,82 €", "31,50 €", "772,24 €"] {
        let line = t.lines().find(|l| l.replace('\u{a0}', " ").contains(amount)).unwrap_or_else(|| panic!("{amount} missing"));
        assert!(line.replace('\u{a0}', " ").trim_end().ends_with(amount), "{amount} not at line end: {line:?}");
    }
    // Sizes: subset fonts keep a fee notice small (the full fonts alone are 800 KB).
    assert!(pdf.len() < 80_000, "fee notice is {} bytes", pdf.len());
}

#[test]
fn contract() {
    let dir = tmp();
    let doc = sample::contract();
    let pdf = contract_pdf(&doc, created()).unwrap();
    let path = check_pdf(
        dir.path(),
        "vertrag.pdf",
        &pdf,
        "Betreuungsvertrag BV-2027-0042 – Jürgen Weiß",
        &[
            "Betreuungsvertrag",
            "BV-2027-0042",
            "Jürgen Weiß",
            "Zoë Müller-Lüdenscheidt",
            "Björn Weiß",
            "12.03.2025",
            "01.08.2027",
            "9,0 Stunden täglich",
            "Eingewöhnung von 4 Wochen",
            "Probezeit",
            "1.234,56 €",
            "772,24 €",
            "zum 5. Werktag des Monats",
            "SEPA-Lastschrift, Mandatsreferenz KK-0815-01",
            "Kündigungsfrist beträgt zwei Monate zum Monatsende",
            "§ 20 IfSG",
            "Masernschutz wurde am 14.06.2027 vorgelegt",
            "§ 34 IfSG",
            "erst wieder besuchen",
            "Gisela Weiß (Großmutter)",
            "Ömer Öztürk (Nachbar)",
            "Frühstück, Mittagessen und Vesper",
            "LE-2026-004711",
            "Datenschutz",
            "Änderung ab 01.02.2028: Betreuungszeit 6,0 h",
            "Leipzig, 15.06.2027",
            "Unterschrift Sorgeberechtigte/r",
            "Für den Träger",
        ],
    );
    assert!(page_count(&path) >= 2);
    // Signature fields for each guardian and the provider on the last page.
    let last = flat(&text(&path, Some(page_count(&path))));
    assert_eq!(last.matches("Unterschrift Sorgeberechtigte/r").count(), 2, "{last}");
    assert!(last.contains("Für den Träger (Unterschrift, Stempel) Kinderwelt Sachsen gGmbH") || last.contains("Für den Träger"));

    // Without measles proof the contract says it is still missing.
    let mut no_proof = doc.clone();
    no_proof.measles_proof = None;
    no_proof.application_number = None;
    let path = write(dir.path(), "vertrag2.pdf", &contract_pdf(&no_proof, created()).unwrap());
    let t = flat(&text(&path, None));
    assert!(t.contains("Masernschutz liegt noch nicht vor"));
    assert!(!t.contains("LE-2026-004711"));
}

#[test]
fn invoice_with_sepa_pre_notification() {
    let dir = tmp();
    let pdf = invoice_pdf(&sample::invoice(), created()).unwrap();
    check_pdf(
        dir.path(),
        "rechnung.pdf",
        &pdf,
        "Rechnung R-2026-000123",
        &[
            "Rechnung R-2026-000123",
            "Elternbeiträge November 2026",
            "Zoë Müller-Lüdenscheidt",
            "Jürgen Weiß – Krippe, 9,0 h täglich",
            "Änne Weiß – Kindergarten, 6,0 h täglich",
            "Summe Jürgen Weiß",
            "772,24 €",
            "Summe Änne Weiß",
            "154,80 €",
            "Rechnungsbetrag",
            "927,04 €",
            "Wir ziehen den Betrag von 927,04 € am 06.11.2026 mit der SEPA-Lastschrift zu Mandatsreferenz KK-0815-01, \
             Gläubiger-ID DE98ZZZ09999999999, von Ihrem Konto IBAN DE89 •••• •••• •••• ••30 00 ein.",
        ],
    );
    // The debtor's IBAN is never printed in full.
    let t = flat(&text(&write(dir.path(), "r.pdf", &pdf), None));
    assert!(!t.contains("DE89 3704"), "{t}");
}

#[test]
fn invoice_with_transfer() {
    let dir = tmp();
    let pdf = invoice_pdf(&sample::invoice_transfer(), created()).unwrap();
    check_pdf(
        dir.path(),
        "rechnung-ueberweisung.pdf",
        &pdf,
        "Rechnung R-2026-000124",
        &[
            "Bitte überweisen Sie den Betrag von 927,04 € bis zum 06.11.2026 auf das Konto IBAN DE89 3704 0044 0532 0130 00",
            "Verwendungszweck die Rechnungsnummer R-2026-000124",
            "Jürgen Weiß",
            "Änne Weiß",
        ],
    );
}

#[test]
fn credit_note_and_replacement() {
    let dir = tmp();
    let pdf = invoice_pdf(&sample::credit_note(), created()).unwrap();
    check_pdf(
        dir.path(),
        "gutschrift.pdf",
        &pdf,
        "Gutschrift G-2026-000007 zu Rechnung R-2026-000123",
        &[
            "Gutschrift G-2026-000007 zu Rechnung R-2026-000123",
            "Zoë Müller-Lüdenscheidt",
            "Jürgen Weiß",
            "−1.234,56 €",
            "−772,24 €",
            "Gutschrift gesamt",
            "−927,04 €",
            "28.10.2026",
        ],
    );
    let pdf = invoice_pdf(&sample::replacement(), created()).unwrap();
    check_pdf(
        dir.path(),
        "ersatzrechnung.pdf",
        &pdf,
        "Ersatzrechnung R-2026-000131 für Rechnung R-2026-000123",
        &["Ersatzrechnung R-2026-000131 für Rechnung R-2026-000123", "ersetzt die Rechnung R-2026-000123", "927,04 €", "Jürgen Weiß"],
    );
}

#[test]
fn combined_invoices_number_pages_per_invoice() {
    let dir = tmp();
    let mut docs = sample::invoices(3);
    // Make the middle invoice long enough for two pages.
    let lines: Vec<FeeLine> = (0..40)
        .map(|i| FeeLine { label: format!("Nachberechnung Tag {} (Jürgen)", i + 1), detail: "1 Tag".into(), amount_cents: 1_000 })
        .collect();
    docs[1]
        .children
        .push(InvoiceChild { child_name: "Jürgen Weiß".into(), care: "Nachberechnung".into(), subtotal_cents: 40_000, lines });
    docs[1].total_cents += 40_000;
    let total = docs[1].total_cents;
    if let Some(pn) = &mut docs[1].pre_notification {
        pn.amount_cents = total;
    }
    let pdf = invoices_combined_pdf(&docs, created()).unwrap();
    let path = write(dir.path(), "sammel.pdf", &pdf);
    assert_qpdf_clean(&path);
    assert_fonts_embedded_subset(&path);
    assert_pdfa(&pdf, "Rechnungen November 2026 (3 Stück)");
    assert_contains_all(&path, &["Zoë Müller-Lüdenscheidt 1", "Zoë Müller-Lüdenscheidt 2", "Zoë Müller-Lüdenscheidt 3", "1.327,04 €"]);
    let n = page_count(&path);
    assert_eq!(n, 4, "1 + 2 + 1 pages");
    let expect = [("R-2026-000200", 1, 1), ("R-2026-000201", 1, 2), ("R-2026-000201", 2, 2), ("R-2026-000202", 1, 1)];
    for (i, (number, x, y)) in expect.iter().enumerate() {
        let t = text(&path, Some(i + 1));
        assert!(t.contains(number), "page {} is not invoice {number}", i + 1);
        assert!(t.contains(&format!("Seite {x} von {y}")), "page {} lacks Seite {x} von {y}:\n{t}", i + 1);
    }
    // Each invoice starts on a new page: its letter head (address window) is on its first page.
    assert!(text(&path, Some(2)).contains("Zoë Müller-Lüdenscheidt 2"));
    assert!(text(&path, Some(4)).contains("Zoë Müller-Lüdenscheidt 3"));
    assert!(matches!(invoices_combined_pdf(&[], created()), Err(DocError::InvalidInput(_))));
}

#[test]
fn claim_list_spans_pages_with_header_and_page_numbers() {
    let dir = tmp();
    let doc = sample::claim_list(120);
    let pdf = claim_pdf(&doc, created()).unwrap();
    let path = check_pdf(
        dir.path(),
        "erstattung.pdf",
        &pdf,
        "Erstattungsantrag EA-2026-H1 – Januar 2026 bis Juni 2026",
        &[
            "Stadt Leipzig, Amt für Jugend und Familie",
            "§ 15 Abs. 5 SächsKitaG",
            "Jürgen Weiß 1",
            "Straßburger-Höß 5",
            "Zoë Ähn 120",
            "Lütfiye Çelik 4",
            "1.234,56 €",
            "493,82 €",
            "Summe (120 Positionen)",
            "57.830,40 €",
        ],
    );
    let n = page_count(&path);
    assert!(n >= 3, "120 rows should need several pages, got {n}");
    // Every row appears exactly once (none lost or doubled at a page break). Long names wrap
    // inside their cell, so look for the last name word followed by the row's number.
    let all = flat(&text(&path, None));
    let tokens: Vec<&str> = all.split(' ').collect();
    for row in &doc.rows {
        let words: Vec<&str> = row.child_name.split(' ').collect();
        let (last, num) = (words[words.len() - 2], words[words.len() - 1]);
        let count = tokens.windows(2).filter(|w| w[0] == last && w[1] == num).count();
        assert_eq!(count, 1, "{} appears {count} times", row.child_name);
    }
    for page in 1..=n {
        let t = text(&path, Some(page));
        assert!(t.contains("Ermäßigung") && t.contains("Erstattung"), "table header missing on page {page}");
    }
}

#[test]
fn claim_csv_has_bom_header_and_all_rows() {
    let doc = sample::claim_list(120);
    let csv = claim_csv(&doc);
    assert!(csv.starts_with("\u{feff}Kind;Geburtsdatum;Monat;Ermäßigung;Beitrag_voll;Erstattung\r\n"));
    let lines: Vec<&str> = csv.trim_end().split("\r\n").collect();
    assert_eq!(lines.len(), 121);
    assert_eq!(lines[1], "Jürgen Weiß 1;01.01.2021;01/2026;Geschwisterermäßigung 2. Kind;1234,56;493,82");
    assert!(lines.iter().all(|l| l.split(';').count() == 6));
}

// ---------------------------------------------------------------------------------------------
// Cross-cutting properties

/// An IBAN or amount joined with U+00A0 is never split across lines, wherever the paragraph
/// puts it: vary the text before it and look at every printed line.
#[test]
fn no_break_space_is_never_a_line_break() {
    let dir = tmp();
    let iban = "DE89 3704 0044 0532 0130 00";
    for pad in 0..24 {
        let mut inv = sample::invoice_transfer();
        // Lengthens the provider name (in the transfer paragraph) one character at a time.
        inv.sender.provider.name = format!("Kinderwelt Sachsen {} gGmbH", "x".repeat(pad));
        let pdf = invoice_pdf(&inv, created()).unwrap();
        let t = text(&write(dir.path(), &format!("nbsp-{pad}.pdf"), &pdf), None);
        let t = t.replace('\u{a0}', " ");
        assert!(t.lines().any(|l| l.contains(iban)), "pad {pad}: IBAN split:\n{t}");
        assert!(t.lines().any(|l| l.contains("927,04 €")), "pad {pad}: amount split");
        // And the IBAN's groups never end a line with a continuation on the next.
        for l in t.lines() {
            let l = l.trim_end();
            assert!(!(l.ends_with("DE89") || l.ends_with("3704") || l.ends_with("0532")), "pad {pad}: line ends inside IBAN: {l}");
        }
    }
}

#[test]
fn output_is_deterministic() {
    let a = fee_notice_pdf(&sample::fee_notice(), created()).unwrap();
    let b = fee_notice_pdf(&sample::fee_notice(), created()).unwrap();
    assert_eq!(a, b);
    let mut other = sample::fee_notice();
    other.child_name = "Jürgen Weiss".into();
    let c = fee_notice_pdf(&other, created()).unwrap();
    assert_ne!(a, c);
}

#[test]
fn figures_that_do_not_add_up_are_refused() {
    let mut doc = sample::fee_notice();
    doc.monthly_fee_cents += 1;
    assert!(matches!(fee_notice_pdf(&doc, created()), Err(DocError::InvalidInput(_))));
    let mut inv = sample::invoice();
    inv.total_cents -= 100;
    assert!(matches!(invoice_pdf(&inv, created()), Err(DocError::InvalidInput(_))));
    let mut claim = sample::claim_list(3);
    claim.total_cents = 0;
    assert!(matches!(claim_pdf(&claim, created()), Err(DocError::InvalidInput(_))));
}

#[test]
fn characters_missing_from_the_font_are_refused() {
    let mut doc = sample::fee_notice();
    doc.child_name = "李小龙".into();
    let err = fee_notice_pdf(&doc, created()).unwrap_err();
    assert!(err.to_string().contains("nicht enthalten"), "{err}");
}
