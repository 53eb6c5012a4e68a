//! pain.008 files from `kitakontor_docs::sepa::pain008`, validated against the official ISO 20022
//! schemas in `crates/docs/xsd/` with `xmllint` (package libxml2-utils). A missing xmllint fails
//! these tests: without it nothing proves the files are valid.

use chrono::NaiveDate;
use kitakontor_docs::sepa::{pain008, sepa_text, Creditor, DirectDebit, DirectDebitFile, Pain008Version, SepaFileError, Sequence};
use std::path::{Path, PathBuf};
use std::process::Command;

fn d(y: i32, m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, day).unwrap()
}

fn xsd(version: Pain008Version) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("xsd").join(format!("{}.xsd", version.message_name()))
}

/// Runs `xmllint --noout --schema <xsd> <file>`; returns (success, stderr).
fn xmllint(version: Pain008Version, xml: &str, name: &str) -> (bool, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    std::fs::write(&path, xml).unwrap();
    let out = match Command::new("xmllint").arg("--noout").arg("--schema").arg(xsd(version)).arg(&path).output() {
        Ok(out) => out,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            panic!("xmllint not found on PATH: the SEPA XML tests need it to validate against the XSDs (Debian/Ubuntu: apt-get install libxml2-utils)")
        }
        Err(e) => panic!("could not run xmllint: {e}"),
    };
    (out.status.success(), String::from_utf8_lossy(&out.stderr).into_owned())
}

fn assert_valid(version: Pain008Version, xml: &str) {
    let (ok, stderr) = xmllint(version, xml, &format!("{}.xml", version.message_name()));
    assert!(ok, "xmllint rejected the {} file:\n{stderr}\n{xml}", version.message_name());
}

fn debit(e2e: &str, cents: i64, sequence: Sequence, name: &str, iban: &str, bic: Option<&str>) -> DirectDebit {
    DirectDebit {
        end_to_end_id: e2e.into(),
        amount_cents: cents,
        mandate_reference: format!("KK-LE01-{:06}", cents % 1000),
        mandate_signed_on: d(2026, 7, 15),
        sequence,
        debtor_name: name.into(),
        debtor_iban: iban.into(),
        debtor_bic: bic.map(Into::into),
        remittance: format!("Elternbeitrag 11/2026 Rechnung {e2e}"),
    }
}

fn sample() -> DirectDebitFile {
    DirectDebitFile {
        message_id: "KK-2026-11-LE01-0001".into(),
        created_at: d(2026, 11, 2).and_hms_opt(9, 30, 5).unwrap(),
        creditor: Creditor {
            name: "Kita-Träger „Sonnenschein“ e.V.".into(),
            iban: "DE89 3704 0044 0532 0130 00".into(),
            bic: Some("cobadeffxxx".into()),
            creditor_id: "DE98ZZZ09999999999".into(),
        },
        collection_date: d(2026, 11, 6),
        debits: vec![
            debit("R-2026-000123", 18750, Sequence::First, "Zoë Müller-Lüdenscheidt", "DE02120300000000202051", Some("BYLADEM1001")),
            debit("R-2026-000124", 9999, Sequence::Recurring, "Ömer Çelik & Ayşe Çelik", "DE02500105170137075030", None),
            debit("R-2026-000125", 1, Sequence::Recurring, "GROẞMANN, JÜRGEN", "DE75512108001245126199", Some("SOLADEST600")),
            DirectDebit {
                debtor_name: "Maximiliane Anneliese Friederike Großherzogin von und zu Sachsen-Weißenfels-Querfurt".into(),
                remittance: "Elternbeitrag Krippe 9,0 h für Maximiliane (11/2026), Geschwisterermäßigung 2. Kind (60 %), \
                             anteilig 1.–14.11. (14 von 30 Tagen), Rechnung R-2026-000126 – bitte Fragen an die Verwaltung"
                    .into(),
                ..debit("R-2026-000126", 123_456, Sequence::First, "", "AT611904300234573201", None)
            },
        ],
    }
}

/// Text of every `<tag>…</tag>` in document order (the writer puts each leaf on one line).
fn values(xml: &str, tag: &str) -> Vec<String> {
    let open = format!("<{tag}");
    let close = format!("</{tag}>");
    xml.lines()
        .map(str::trim)
        .filter(|l| l.starts_with(&open) && l.ends_with(&close))
        .map(|l| l[l.find('>').unwrap() + 1..l.len() - close.len()].to_string())
        .collect()
}

fn cents(s: &str) -> i64 {
    let (euros, cents) = s.split_once('.').expect("two decimals");
    assert_eq!(cents.len(), 2, "{s} has two decimals");
    euros.parse::<i64>().unwrap() * 100 + cents.parse::<i64>().unwrap()
}

#[test]
fn both_versions_validate_against_the_iso_schemas() {
    let file = sample();
    for version in [Pain008Version::V08, Pain008Version::V02] {
        let xml = pain008(&file, version).unwrap();
        assert_valid(version, &xml);
        assert!(xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"));
        assert!(xml.contains(&format!("<Document xmlns=\"urn:iso:std:iso:20022:tech:xsd:{}\">", version.message_name())));
        // BIC element per version, NOTPROVIDED without a BIC.
        let (bic, other) = match version {
            Pain008Version::V08 => ("BICFI", "BIC"),
            Pain008Version::V02 => ("BIC", "BICFI"),
        };
        assert_eq!(values(&xml, bic), ["COBADEFFXXX", "BYLADEM1001", "COBADEFFXXX", "SOLADEST600"]);
        assert!(values(&xml, other).is_empty());
        assert_eq!(xml.matches("<Id>NOTPROVIDED</Id>").count(), 2);
        // Transliterated, escaped, cut.
        let names = values(&xml, "Nm");
        assert_eq!(
            names,
            [
                "Kita-Traeger 'Sonnenschein' e.V.", // InitgPty
                "Kita-Traeger 'Sonnenschein' e.V.", // Cdtr (FRST)
                "Zoe Mueller-Luedenscheidt",
                "Maximiliane Anneliese Friederike Grossherzogin von und zu Sachsen-Weis",
                "Kita-Traeger 'Sonnenschein' e.V.", // Cdtr (RCUR)
                "Oemer Celik + Ayse Celik",
                "GROSSMANN, JUERGEN",
            ]
            .map(|s| s.replace('\'', "&apos;"))
        );
        assert!(names.iter().all(|n| n.replace("&apos;", "'").len() <= 70));
        let ustrd = values(&xml, "Ustrd");
        assert_eq!(ustrd.len(), 4);
        assert!(ustrd.iter().all(|u| u.len() <= 140 && u.is_ascii()));
        assert!(ustrd[1].starts_with("Elternbeitrag Krippe 9,0 h fuer Maximiliane (11/2026), Geschwisterermaessigung 2. Kind (60 Prozent)"));
        assert_eq!(values(&xml, "CreDtTm"), ["2026-11-02T09:30:05Z"]);
        assert_eq!(values(&xml, "ReqdColltnDt"), ["2026-11-06", "2026-11-06"]);
        assert_eq!(values(&xml, "IBAN")[0], "DE89370400440532013000");
        assert_eq!(values(&xml, "MndtId")[0], "KK-LE01-000750");
        assert_eq!(values(&xml, "DtOfSgntr")[0], "2026-07-15");
        // The creditor ID under SEPA scheme name, in both blocks.
        assert_eq!(xml.matches("<Id>DE98ZZZ09999999999</Id>").count(), 2);
        assert_eq!(values(&xml, "Prtry"), ["SEPA", "SEPA"]);
    }
}

#[test]
fn sums_counts_and_blocks() {
    let file = sample();
    for version in [Pain008Version::V08, Pain008Version::V02] {
        let xml = pain008(&file, version).unwrap();
        let expected: i64 = file.debits.iter().map(|d| d.amount_cents).sum();
        let ctrl: Vec<i64> = values(&xml, "CtrlSum").iter().map(|s| cents(s)).collect();
        let nb: Vec<usize> = values(&xml, "NbOfTxs").iter().map(|s| s.parse().unwrap()).collect();
        // Group header, FRST block, RCUR block.
        assert_eq!(ctrl, [expected, 18750 + 123_456, 9999 + 1]);
        assert_eq!(nb, [4, 2, 2]);
        assert_eq!(values(&xml, "SeqTp"), ["FRST", "RCUR"]);
        assert_eq!(values(&xml, "PmtInfId"), ["KK-2026-11-LE01-0001-FRST", "KK-2026-11-LE01-0001-RCUR"]);
        assert_eq!(values(&xml, "EndToEndId"), ["R-2026-000123", "R-2026-000126", "R-2026-000124", "R-2026-000125"]);
        let amounts: Vec<String> = xml.lines().filter(|l| l.contains("<InstdAmt")).map(|l| l.trim().to_string()).collect();
        assert_eq!(
            amounts,
            [
                r#"<InstdAmt Ccy="EUR">187.50</InstdAmt>"#,
                r#"<InstdAmt Ccy="EUR">1234.56</InstdAmt>"#,
                r#"<InstdAmt Ccy="EUR">99.99</InstdAmt>"#,
                r#"<InstdAmt Ccy="EUR">0.01</InstdAmt>"#,
            ]
        );
        assert_eq!(values(&xml, "BtchBookg"), ["true", "true"]);
        assert_eq!(values(&xml, "ChrgBr"), ["SLEV", "SLEV"]);
    }
}

#[test]
fn only_recurring_gives_one_block_and_max_amount_is_exact() {
    let mut file = sample();
    file.debits.retain(|d| d.sequence == Sequence::Recurring);
    file.debits[0].amount_cents = 99_999_999_999;
    file.creditor.bic = None;
    // A 35-character message ID: PmtInfId stays within 35.
    file.message_id = "M".repeat(35);
    for version in [Pain008Version::V08, Pain008Version::V02] {
        let xml = pain008(&file, version).unwrap();
        assert_valid(version, &xml);
        assert_eq!(xml.matches("<PmtInf>").count(), 1);
        assert_eq!(values(&xml, "SeqTp"), ["RCUR"]);
        assert_eq!(values(&xml, "PmtInfId"), [format!("{}-RCUR", "M".repeat(30))]);
        assert_eq!(values(&xml, "CtrlSum"), ["1000000000.00", "1000000000.00"]);
    }
}

#[test]
fn bic_with_a_digit_location_is_v08_only() {
    // Location code starting with 0 (a test BIC): allowed by the .08 schema, not by .02's.
    let mut file = sample();
    file.debits[1].debtor_bic = Some("TESTDE01".into());
    assert_valid(Pain008Version::V08, &pain008(&file, Pain008Version::V08).unwrap());
    let err = pain008(&file, Pain008Version::V02).unwrap_err();
    assert!(
        matches!(&err, SepaFileError::InvalidBic { whose, reason } if whose.contains("R-2026-000124") && reason.contains("pain.008.001.02")),
        "{err}"
    );
}

#[test]
fn specific_errors() {
    let v = Pain008Version::V08;

    let mut f = sample();
    f.debits.clear();
    assert_eq!(pain008(&f, v), Err(SepaFileError::Empty));

    let mut f = sample();
    f.debits[2].amount_cents = -500;
    assert_eq!(pain008(&f, v), Err(SepaFileError::NonPositiveAmount { end_to_end_id: "R-2026-000125".into(), amount_cents: -500 }));
    f.debits[2].amount_cents = 0;
    assert!(matches!(pain008(&f, v), Err(SepaFileError::NonPositiveAmount { amount_cents: 0, .. })));
    f.debits[2].amount_cents = 100_000_000_000;
    assert!(matches!(pain008(&f, v), Err(SepaFileError::AmountTooLarge { .. })));

    let mut f = sample();
    f.debits[3].end_to_end_id = "R-2026-000124".into();
    assert_eq!(pain008(&f, v), Err(SepaFileError::DuplicateEndToEndId("R-2026-000124".into())));

    let mut f = sample();
    f.debits[0].end_to_end_id = "R".repeat(36);
    assert!(matches!(pain008(&f, v), Err(SepaFileError::IdTooLong { field: "end-to-end ID", len: 36, max: 35, .. })));
    f.debits[0].end_to_end_id = "R-2026_1".into();
    assert!(matches!(pain008(&f, v), Err(SepaFileError::InvalidId { field: "end-to-end ID", .. })));
    let mut f = sample();
    f.message_id = "M".repeat(36);
    assert!(matches!(pain008(&f, v), Err(SepaFileError::IdTooLong { field: "message ID", .. })));
    f.message_id = String::new();
    assert!(matches!(pain008(&f, v), Err(SepaFileError::InvalidId { field: "message ID", .. })));

    let mut f = sample();
    f.debits[1].debtor_iban = "DE02500105170137075031".into();
    let err = pain008(&f, v).unwrap_err();
    assert_eq!(
        err,
        SepaFileError::InvalidIban { whose: "debtor of debit R-2026-000124".into(), reason: "checksum is wrong (typo?)".into() }
    );
    assert_eq!(err.to_string(), "IBAN of the debtor of debit R-2026-000124: checksum is wrong (typo?)");

    let mut f = sample();
    f.creditor.iban = "DE8937040044053201300".into();
    assert!(matches!(pain008(&f, v), Err(SepaFileError::InvalidIban { whose, .. }) if whose == "creditor"));

    let mut f = sample();
    f.creditor.bic = Some("COBADEFFXX".into());
    assert!(matches!(pain008(&f, v), Err(SepaFileError::InvalidBic { whose, .. }) if whose == "creditor"));

    let mut f = sample();
    f.creditor.creditor_id = "DE97ZZZ09999999999".into();
    assert!(matches!(pain008(&f, v), Err(SepaFileError::InvalidCreditorId { reason }) if reason.contains("checksum")));

    let mut f = sample();
    f.debits[0].mandate_reference = "KK-LE01-ÄÖ".into();
    assert!(matches!(pain008(&f, v), Err(SepaFileError::InvalidMandateReference { reason, .. }) if reason.contains("'Ä'")));

    let mut f = sample();
    f.debits[0].mandate_signed_on = d(2026, 11, 7);
    assert!(matches!(pain008(&f, v), Err(SepaFileError::MandateSignedAfterCollection { .. })));

    let mut f = sample();
    f.debits[0].debtor_name = " 李 ".into();
    assert!(matches!(pain008(&f, v), Err(SepaFileError::MissingName { whose }) if whose.contains("R-2026-000123")));
}

#[test]
fn broken_documents_are_rejected_by_xmllint() {
    let file = sample();
    for version in [Pain008Version::V08, Pain008Version::V02] {
        let xml = pain008(&file, version).unwrap();
        let mut broken: Vec<(&str, String)> = Vec::new();
        // A required element removed.
        broken.push(("no ReqdColltnDt", xml.lines().filter(|l| !l.contains("<ReqdColltnDt>")).collect::<Vec<_>>().join("\n")));
        // The other version's BIC element name.
        broken.push(match version {
            Pain008Version::V08 => ("BIC instead of BICFI", xml.replace("BICFI>", "BIC>")),
            Pain008Version::V02 => ("BICFI instead of BIC", xml.replace("<BIC>", "<BICFI>").replace("</BIC>", "</BICFI>")),
        });
        // Elements out of order: ChrgBr before CdtrAgt.
        let mut lines: Vec<&str> = xml.lines().collect();
        let chrgbr = lines.iter().position(|l| l.trim() == "<ChrgBr>SLEV</ChrgBr>").unwrap();
        let line = lines.remove(chrgbr);
        let cdtr_agt = lines.iter().position(|l| l.trim() == "<CdtrAgt>").unwrap();
        lines.insert(cdtr_agt, line);
        let reordered = lines.join("\n");
        broken.push(("ChrgBr before CdtrAgt", reordered));
        // A negative amount (the schemas have minInclusive 0).
        broken.push(("negative amount", xml.replacen(">187.50<", ">-187.50<", 1)));
        // A lowercase IBAN country code.
        broken.push(("lowercase IBAN", xml.replacen("DE02120300000000202051", "de02120300000000202051", 1)));
        for (what, doc) in broken {
            assert_ne!(doc, xml, "{what}: the mutation changed nothing");
            let (ok, stderr) = xmllint(version, &doc, "broken.xml");
            assert!(!ok, "{} ({what}) was accepted by xmllint", version.message_name());
            assert!(stderr.contains("fails to validate") || stderr.contains("error"), "{stderr}");
        }
        // And a .02 document is not a valid .08 one (different namespace) and vice versa.
        let other = match version {
            Pain008Version::V08 => Pain008Version::V02,
            Pain008Version::V02 => Pain008Version::V08,
        };
        assert!(!xmllint(other, &xml, "wrong-version.xml").0);
    }
}

#[test]
fn core_sequence_converts() {
    use kitakontor_core::sepa as rules;
    assert_eq!(Sequence::from(rules::Sequence::First), Sequence::First);
    assert_eq!(Sequence::from(rules::Sequence::Recurring), Sequence::Recurring);
    assert_eq!(Sequence::First.code(), "FRST");
    assert_eq!(sepa_text("Zoë Müller-Lüdenscheidt"), "Zoe Mueller-Luedenscheidt");
}
