//! PDF/A-2b post-pass on the lopdf document printpdf built.
//!
//! printpdf's own PDF/A switch writes a PDF/X-style output intent with a CMYK profile and no
//! `pdfaid` entries, which is not PDF/A. So printpdf only builds pages and (subset) fonts, and
//! this pass adds what PDF/A-2 (ISO 19005-2) level B needs before the single serialisation:
//!
//! - an XMP metadata stream (uncompressed, as PDF/A recommends) declaring `pdfaid:part` 2 and
//!   `pdfaid:conformance` B, with title, author, subject, producer and dates equal to the Info
//!   dictionary;
//! - an Info dictionary with exactly those entries (printpdf's carries PDF/X keys and 1970 dates);
//! - an sRGB output intent (`GTS_PDFA1`) with an embedded ICC profile (`icc/sRGB.icc`, see
//!   `icc/LICENSE.txt`), which allows the DeviceRGB accent colour and DeviceGray text;
//! - a file identifier (`/ID`) in the trailer, derived from the content so output is
//!   deterministic;
//! - PDF version 1.7, and every other stream Flate-compressed here, once, at a level chosen for
//!   speed (lopdf's `compress` would use level 9, which costs a third more time for 1 % less size).

use std::io::Write;
use std::sync::OnceLock;

use chrono::{Datelike, NaiveDateTime, Timelike};
use lopdf::{Dictionary, Document, Object, Stream, StringFormat};

use crate::error::DocError;
use crate::layout::DocMeta;

/// sRGB IEC61966-2.1 ICC profile (v2, 6.9 KB) from Debian's icc-profiles-free (zlib licence).
const SRGB_ICC: &[u8] = include_bytes!("../icc/sRGB.icc");

/// The producer named in Info and XMP.
pub const PRODUCER: &str = "Kitakontor";

/// Flate level for content, font and CMap streams. Measured on a fee notice (zlib-rs, release):
/// level 1: 0.82 ms / 43.3 KB, 2: 1.05 ms / 37.7 KB, 3: 1.10 ms / 37.0 KB, 6: 1.21 ms / 36.5 KB,
/// 9: 1.64 ms / 36.2 KB. Level 2 keeps the file within 3 % of level 6 at 85 % of its time.
const FLATE_LEVEL: u32 = 2;

fn deflate(data: &[u8], level: u32) -> Result<Vec<u8>, DocError> {
    let mut enc = flate2::write::ZlibEncoder::new(Vec::with_capacity(data.len() / 2 + 64), flate2::Compression::new(level));
    enc.write_all(data)?;
    Ok(enc.finish()?)
}

/// The ICC profile, compressed once per process.
fn icc_compressed() -> &'static [u8] {
    static ICC: OnceLock<Vec<u8>> = OnceLock::new();
    ICC.get_or_init(|| deflate(SRGB_ICC, 9).expect("deflate into memory cannot fail"))
}

/// 128-bit FNV-1a over the inputs: a stable file identifier (not a security feature).
fn fingerprint(parts: &[&[u8]]) -> [u8; 16] {
    let mut a: u64 = 0xcbf2_9ce4_8422_2325;
    let mut b: u64 = 0x8422_2325_cbf2_9ce4;
    for part in parts {
        for &byte in *part {
            a = (a ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3);
            b = (b ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_0193).rotate_left(5);
        }
        a = a.rotate_left(7) ^ part.len() as u64;
    }
    let mut out = [0u8; 16];
    out[..8].copy_from_slice(&a.to_be_bytes());
    out[8..].copy_from_slice(&b.to_be_bytes());
    out
}

/// A text string for the Info dictionary: PDFDocEncoding-safe ASCII as is, anything else as
/// UTF-16BE with byte order mark.
fn text_string(s: &str) -> Object {
    if s.bytes().all(|b| (0x20..0x7f).contains(&b)) {
        Object::String(s.as_bytes().to_vec(), StringFormat::Literal)
    } else {
        let mut bytes = vec![0xfe, 0xff];
        for unit in s.encode_utf16() {
            bytes.extend_from_slice(&unit.to_be_bytes());
        }
        Object::String(bytes, StringFormat::Hexadecimal)
    }
}

/// `created` is UTC: Info date "D:20261101093000+00'00'".
fn pdf_date(t: NaiveDateTime) -> String {
    format!("D:{:04}{:02}{:02}{:02}{:02}{:02}+00'00'", t.year(), t.month(), t.day(), t.hour(), t.minute(), t.second())
}

/// The same instant for XMP: "2026-11-01T09:30:00+00:00".
fn xmp_date(t: NaiveDateTime) -> String {
    format!("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}+00:00", t.year(), t.month(), t.day(), t.hour(), t.minute(), t.second())
}

/// The XMP packet. Every value that is also in the Info dictionary is written identically.
pub fn xmp_packet(meta: &DocMeta, created: NaiveDateTime, id_hex: &str) -> String {
    let date = xmp_date(created);
    let mut s = String::with_capacity(2048);
    s.push_str("<?xpacket begin=\"\u{feff}\" id=\"W5M0MpCehiHzreSzNTczkc9d\"?>\n");
    s.push_str("<x:xmpmeta xmlns:x=\"adobe:ns:meta/\">\n <rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\">\n");
    s.push_str("  <rdf:Description rdf:about=\"\"\n    xmlns:pdfaid=\"http://www.aiim.org/pdfa/ns/id/\"\n");
    s.push_str("    xmlns:dc=\"http://purl.org/dc/elements/1.1/\"\n    xmlns:xmp=\"http://ns.adobe.com/xap/1.0/\"\n");
    s.push_str("    xmlns:pdf=\"http://ns.adobe.com/pdf/1.3/\"\n    xmlns:xmpMM=\"http://ns.adobe.com/xap/1.0/mm/\">\n");
    s.push_str("   <pdfaid:part>2</pdfaid:part>\n   <pdfaid:conformance>B</pdfaid:conformance>\n");
    s.push_str("   <dc:format>application/pdf</dc:format>\n");
    s.push_str(&format!(
        "   <dc:title><rdf:Alt><rdf:li xml:lang=\"x-default\">{}</rdf:li></rdf:Alt></dc:title>\n",
        crate::xml::escape(&meta.title)
    ));
    if !meta.author.is_empty() {
        s.push_str(&format!("   <dc:creator><rdf:Seq><rdf:li>{}</rdf:li></rdf:Seq></dc:creator>\n", crate::xml::escape(&meta.author)));
    }
    if !meta.subject.is_empty() {
        s.push_str(&format!(
            "   <dc:description><rdf:Alt><rdf:li xml:lang=\"x-default\">{}</rdf:li></rdf:Alt></dc:description>\n",
            crate::xml::escape(&meta.subject)
        ));
    }
    s.push_str(&format!("   <xmp:CreateDate>{date}</xmp:CreateDate>\n   <xmp:ModifyDate>{date}</xmp:ModifyDate>\n"));
    s.push_str(&format!("   <xmp:MetadataDate>{date}</xmp:MetadataDate>\n   <xmp:CreatorTool>{PRODUCER}</xmp:CreatorTool>\n"));
    s.push_str(&format!("   <pdf:Producer>{PRODUCER}</pdf:Producer>\n"));
    s.push_str(&format!("   <xmpMM:DocumentID>uuid:{id_hex}</xmpMM:DocumentID>\n"));
    s.push_str("  </rdf:Description>\n </rdf:RDF>\n</x:xmpmeta>\n");
    // Padding lets tools update the packet in place (recommended by the XMP spec).
    for _ in 0..8 {
        s.push_str("                                                                                \n");
    }
    s.push_str("<?xpacket end=\"w\"?>");
    s
}

/// Makes `doc` a PDF/A-2b file and serialises it.
pub fn finish(mut doc: Document, meta: &DocMeta, created: NaiveDateTime) -> Result<Vec<u8>, DocError> {
    doc.version = "1.7".to_string();

    // The file identifier: content streams plus metadata (before compression, so it does not
    // depend on the Flate implementation).
    let mut parts: Vec<&[u8]> = vec![meta.title.as_bytes(), meta.author.as_bytes(), meta.subject.as_bytes()];
    let created_s = pdf_date(created);
    parts.push(created_s.as_bytes());
    for obj in doc.objects.values() {
        if let Object::Stream(s) = obj {
            if s.dict.get(b"Length1").is_err() {
                parts.push(&s.content);
            }
        }
    }
    let id = fingerprint(&parts);
    let id_hex: String = id.iter().map(|b| format!("{b:02x}")).collect();

    // Compress every stream printpdf left plain (contents, font programs, ToUnicode CMaps).
    for obj in doc.objects.values_mut() {
        if let Object::Stream(s) = obj {
            if s.dict.get(b"Filter").is_err() && s.content.len() > 64 {
                let packed = deflate(&s.content, FLATE_LEVEL)?;
                s.dict.set("Filter", Object::Name(b"FlateDecode".to_vec()));
                s.set_content(packed);
            }
        }
    }

    // Output intent with the sRGB profile.
    let mut icc_dict = Dictionary::new();
    icc_dict.set("N", Object::Integer(3));
    icc_dict.set("Filter", Object::Name(b"FlateDecode".to_vec()));
    let icc_id = doc.add_object(Stream::new(icc_dict, icc_compressed().to_vec()).with_compression(false));
    let mut intent = Dictionary::new();
    intent.set("Type", Object::Name(b"OutputIntent".to_vec()));
    intent.set("S", Object::Name(b"GTS_PDFA1".to_vec()));
    intent.set("OutputConditionIdentifier", Object::string_literal("sRGB IEC61966-2.1"));
    intent.set("RegistryName", Object::string_literal("http://www.color.org"));
    intent.set("Info", Object::string_literal("sRGB IEC61966-2.1"));
    intent.set("DestOutputProfile", Object::Reference(icc_id));

    // XMP metadata, left uncompressed.
    let xmp = xmp_packet(meta, created, &id_hex);
    let mut xmp_dict = Dictionary::new();
    xmp_dict.set("Type", Object::Name(b"Metadata".to_vec()));
    xmp_dict.set("Subtype", Object::Name(b"XML".to_vec()));
    let xmp_id = doc.add_object(Stream::new(xmp_dict, xmp.into_bytes()).with_compression(false));

    let catalog = doc.catalog_mut()?;
    catalog.set("OutputIntents", Object::Array(vec![Object::Dictionary(intent)]));
    catalog.set("Metadata", Object::Reference(xmp_id));
    catalog.set("Lang", Object::string_literal("de-DE"));

    // Info dictionary: exactly the entries the XMP mirrors.
    let mut info = Dictionary::new();
    info.set("Title", text_string(&meta.title));
    if !meta.author.is_empty() {
        info.set("Author", text_string(&meta.author));
    }
    if !meta.subject.is_empty() {
        info.set("Subject", text_string(&meta.subject));
    }
    info.set("Creator", text_string(PRODUCER));
    info.set("Producer", text_string(PRODUCER));
    info.set("CreationDate", Object::string_literal(created_s.clone()));
    info.set("ModDate", Object::string_literal(created_s));
    // Replace printpdf's Info object in place (same object number), or add one.
    match doc.trailer.get(b"Info").and_then(Object::as_reference) {
        Ok(old) => {
            doc.objects.insert(old, Object::Dictionary(info));
        }
        Err(_) => {
            let info_id = doc.add_object(Object::Dictionary(info));
            doc.trailer.set("Info", Object::Reference(info_id));
        }
    }
    doc.trailer.set(
        "ID",
        Object::Array(vec![Object::String(id.to_vec(), StringFormat::Hexadecimal), Object::String(id.to_vec(), StringFormat::Hexadecimal)]),
    );

    let mut out = Vec::with_capacity(64 * 1024);
    doc.save_to(&mut out)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    #[test]
    fn dates_match_between_info_and_xmp() {
        let t = NaiveDate::from_ymd_opt(2026, 11, 1).unwrap().and_hms_opt(9, 30, 5).unwrap();
        assert_eq!(pdf_date(t), "D:20261101093005+00'00'");
        assert_eq!(xmp_date(t), "2026-11-01T09:30:05+00:00");
    }

    #[test]
    fn xmp_declares_pdfa_2b_and_escapes() {
        let meta = DocMeta { title: "Rechnung <R&1>".into(), author: "Träger e. V.".into(), subject: String::new() };
        let t = NaiveDate::from_ymd_opt(2026, 11, 1).unwrap().and_hms_opt(0, 0, 0).unwrap();
        let x = xmp_packet(&meta, t, "00");
        assert!(x.contains("<pdfaid:part>2</pdfaid:part>"));
        assert!(x.contains("<pdfaid:conformance>B</pdfaid:conformance>"));
        assert!(x.contains("Rechnung &lt;R&amp;1&gt;"));
        assert!(x.contains("<pdf:Producer>Kitakontor</pdf:Producer>"));
        assert!(!x.contains("dc:description"));
    }

    #[test]
    fn text_strings() {
        assert_eq!(text_string("Rechnung"), Object::String(b"Rechnung".to_vec(), StringFormat::Literal));
        match text_string("Weiß") {
            Object::String(b, StringFormat::Hexadecimal) => assert_eq!(b, vec![0xfe, 0xff, 0, b'W', 0, b'e', 0, b'i', 0, 0xdf]),
            other => panic!("{other:?}"),
        }
    }
}
