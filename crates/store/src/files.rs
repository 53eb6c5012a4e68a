//! Writing a billing run's files from what the database holds: a PDF per document, one
//! combined print file, the SEPA pain.008 file and the cashier export (CSV). Every file is
//! written to a temporary name and renamed, so a crash never leaves half a file that looks
//! whole; running it again for the same run rewrites the same files.

use crate::billing::{BillingPhase, BillingProgress, ProgressFn, SepaVersion};
use crate::documents::{creditor, invoice_doc, StoredDebit};
use crate::error::{Result, StoreError};
use crate::Store;
use kitakontor_core::de;
use kitakontor_core::ids::BillingRunId;
use kitakontor_docs::model::InvoiceDoc;
use kitakontor_docs::sepa::{pain008, Creditor, DirectDebit, DirectDebitFile, Pain008Version, Sequence};
use std::path::{Path, PathBuf};

pub struct RunFiles {
    pub dir: PathBuf,
    pub paths: Vec<PathBuf>,
}

/// Writes `bytes` to `path` via a temporary file in the same folder and a rename.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let err = |e: std::io::Error| StoreError::File { path: path.display().to_string(), reason: e.to_string() };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(err)?;
    }
    let tmp = path.with_extension("part");
    std::fs::write(&tmp, bytes).map_err(err)?;
    std::fs::rename(&tmp, path).map_err(err)
}

fn doc_error(path: &Path, e: impl std::fmt::Display) -> StoreError {
    StoreError::File { path: path.display().to_string(), reason: e.to_string() }
}

/// A folder name from free text: letters, digits, '-' only.
fn slug(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        match c {
            'ä' => out.push_str("ae"),
            'ö' => out.push_str("oe"),
            'ü' => out.push_str("ue"),
            'Ä' => out.push_str("Ae"),
            'Ö' => out.push_str("Oe"),
            'Ü' => out.push_str("Ue"),
            'ß' => out.push_str("ss"),
            c if c.is_ascii_alphanumeric() => out.push(c),
            _ if !out.ends_with('-') => out.push('-'),
            _ => {}
        }
    }
    out.trim_matches('-').to_string()
}

pub(crate) async fn write_run_files(
    store: &Store,
    run: BillingRunId,
    out_dir: &Path,
    version: SepaVersion,
    progress: ProgressFn,
) -> Result<RunFiles> {
    let mut conn = store.pool().acquire().await?;
    let (facility, month, run_at): (String, String, String) =
        sqlx::query_as("SELECT facility_id, month, run_at FROM billing_runs WHERE id = ?")
            .bind(run.to_string())
            .fetch_one(&mut *conn)
            .await?;
    let (nth,): (i64,) = sqlx::query_as("SELECT count(*) FROM billing_runs WHERE facility_id = ? AND month = ? AND run_at <= ?")
        .bind(&facility)
        .bind(&month)
        .bind(&run_at)
        .fetch_one(&mut *conn)
        .await?;
    let cred = creditor(&mut conn, crate::rows::uuid(&facility)).await?;
    let dir = out_dir.join(format!("{}_{}_Lauf-{nth:02}", &month[..7], slug(&cred.facility.name)));
    let ids: Vec<(String,)> =
        sqlx::query_as("SELECT id FROM invoices WHERE run_id = ? ORDER BY seq").bind(run.to_string()).fetch_all(&mut *conn).await?;
    let mut docs: Vec<(InvoiceDoc, StoredDebit)> = Vec::with_capacity(ids.len());
    for (id,) in &ids {
        docs.push(invoice_doc(&mut conn, id, &cred).await?);
    }
    drop(conn);
    let created = store.now().naive_utc();
    let total = docs.len() as u32;
    progress(BillingProgress { phase: BillingPhase::Documents, done: 0, total });

    // PDFs on every core: rendering is CPU-bound and independent per document.
    let pdf_dir = dir.join("Rechnungen");
    let rendered = {
        let docs: Vec<InvoiceDoc> = docs.iter().map(|d| d.0.clone()).collect();
        let progress = progress.clone();
        let target = pdf_dir.clone();
        tokio::task::spawn_blocking(move || render_all(&docs, &target, created, &progress))
            .await
            .map_err(|e| StoreError::File { path: dir_name(&pdf_dir), reason: e.to_string() })??
    };
    let mut paths = rendered;
    if !docs.is_empty() {
        let combined = dir.join("Sammeldruck.pdf");
        let all: Vec<InvoiceDoc> = docs.iter().map(|d| d.0.clone()).collect();
        let c2 = combined.clone();
        let bytes = tokio::task::spawn_blocking(move || kitakontor_docs::invoices_combined_pdf(&all, created))
            .await
            .map_err(|e| doc_error(&c2, e))?
            .map_err(|e| doc_error(&combined, e))?;
        write_atomically(&combined, &bytes)?;
        paths.push(combined);
    }

    progress(BillingProgress { phase: BillingPhase::SepaFile, done: 0, total: 1 });
    let debits: Vec<&StoredDebit> = docs.iter().map(|d| &d.1).filter(|d| d.collect_cents > 0).collect();
    if let Some(first) = debits.first() {
        let (v, name) = match version {
            SepaVersion::V08 => (Pain008Version::V08, "SEPA-Lastschrift_pain.008.001.08.xml"),
            SepaVersion::V02 => (Pain008Version::V02, "SEPA-Lastschrift_pain.008.001.02.xml"),
        };
        let file = DirectDebitFile {
            message_id: format!("KK{}", run.0.simple()),
            created_at: created,
            creditor: Creditor {
                name: cred.provider.name.clone(),
                iban: cred.iban.clone(),
                bic: (!cred.bic.is_empty()).then(|| cred.bic.clone()),
                creditor_id: cred.creditor_id.clone(),
            },
            collection_date: first.due,
            debits: debits
                .iter()
                .map(|d| DirectDebit {
                    end_to_end_id: d.number.clone(),
                    amount_cents: d.collect_cents,
                    mandate_reference: d.mandate_ref.clone().unwrap_or_default(),
                    mandate_signed_on: d.mandate_signed_on.unwrap_or(d.issued),
                    sequence: if d.first { Sequence::First } else { Sequence::Recurring },
                    debtor_name: d.debtor_name.clone(),
                    debtor_iban: d.debtor_iban.clone().unwrap_or_default(),
                    debtor_bic: None,
                    remittance: format!("Elternbeitrag {} Rechnung {}", d.month.format("%m/%Y"), d.number),
                })
                .collect(),
        };
        let path = dir.join(name);
        let xml = pain008(&file, v).map_err(|e| doc_error(&path, e))?;
        write_atomically(&path, xml.as_bytes())?;
        paths.push(path);
    }
    let csv = dir.join("Kassenexport.csv");
    write_atomically(&csv, cashier_csv(&docs.iter().map(|d| d.1.clone()).collect::<Vec<_>>()).as_bytes())?;
    paths.push(csv);
    Ok(RunFiles { dir, paths })
}

fn dir_name(p: &Path) -> String {
    p.display().to_string()
}

fn render_all(docs: &[InvoiceDoc], dir: &Path, created: chrono::NaiveDateTime, progress: &ProgressFn) -> Result<Vec<PathBuf>> {
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get()).clamp(1, 8);
    let chunk = docs.len().div_ceil(threads).max(1);
    let done = std::sync::atomic::AtomicU32::new(0);
    let total = docs.len() as u32;
    let results: Vec<Result<Vec<PathBuf>>> = std::thread::scope(|s| {
        let handles: Vec<_> = docs
            .chunks(chunk)
            .map(|part| {
                let done = &done;
                s.spawn(move || {
                    let mut out = Vec::with_capacity(part.len());
                    for d in part {
                        let path = dir.join(format!("{}.pdf", d.number));
                        let bytes = kitakontor_docs::invoice_pdf(d, created).map_err(|e| doc_error(&path, e))?;
                        write_atomically(&path, &bytes)?;
                        out.push(path);
                        let n = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
                        if n % 25 == 0 || n == total {
                            progress(BillingProgress { phase: BillingPhase::Documents, done: n, total });
                        }
                    }
                    Ok(out)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("renderer thread does not panic")).collect()
    });
    let mut paths = Vec::with_capacity(docs.len());
    for r in results {
        paths.extend(r?);
    }
    Ok(paths)
}

/// The cashier export (Kassenexport): one row per document of the run, semicolon-separated,
/// UTF-8 with BOM, German decimal comma. Columns (docs/billing.md):
/// Belegnummer; Belegart; Belegdatum; Monat; Zahler; Zahlart; Mandatsreferenz; Betrag; Einzug; Fälligkeit.
pub(crate) fn cashier_csv(docs: &[StoredDebit]) -> String {
    let mut out = String::from("\u{feff}Belegnummer;Belegart;Belegdatum;Monat;Zahler;Zahlart;Mandatsreferenz;Betrag;Einzug;Fälligkeit\r\n");
    let kind = |k: &str| match k {
        "credit_note" => "Gutschrift",
        "replacement" => "Ersatzrechnung",
        _ => "Rechnung",
    };
    for d in docs {
        let method = if d.collect_cents > 0 {
            "Lastschrift"
        } else if d.total_cents < 0 {
            "Erstattung"
        } else {
            "Überweisung"
        };
        let row = [
            d.number.clone(),
            kind(&d.kind).to_string(),
            de::date(d.issued),
            d.month.format("%m/%Y").to_string(),
            d.debtor_name.clone(),
            method.to_string(),
            d.mandate_ref.clone().unwrap_or_default(),
            de::amount(d.total_cents),
            de::amount(d.collect_cents),
            de::date(d.due),
        ];
        // Payer and mandate reference are free text; the rest are numbers, dates and our codes.
        let fields: Vec<String> = row.iter().enumerate().map(|(i, f)| if i == 4 || i == 6 { csv_text(f) } else { csv_field(f) }).collect();
        out.push_str(&fields.join(";"));
        out.push_str("\r\n");
    }
    out
}

/// A text field: a leading = + - @ tab or CR would be run as a formula by spreadsheet
/// programs, so it gets a leading apostrophe. (Amounts are written by `csv_field` directly:
/// their minus sign is a number's, not a formula's.)
fn csv_text(s: &str) -> String {
    if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        csv_field(&format!("'{s}"))
    } else {
        csv_field(s)
    }
}

/// Quotes a field when it contains a separator, a quote or a line break.
fn csv_field(s: &str) -> String {
    if s.contains([';', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// Where documents go unless the user says otherwise: `~/Dokumente/Kitakontor` (or
/// `~/Documents/Kitakontor` on an English desktop), overridable with `KITAKONTOR_DOCUMENTS`.
pub fn default_documents_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("KITAKONTOR_DOCUMENTS") {
        return PathBuf::from(d);
    }
    let home = std::env::var_os("HOME").map(PathBuf::from).unwrap_or_else(std::env::temp_dir);
    let base = ["Dokumente", "Documents"].iter().map(|d| home.join(d)).find(|p| p.is_dir()).unwrap_or_else(|| home.join("Dokumente"));
    base.join("Kitakontor")
}

/// A file name from a person's name: "Betreuungsvertrag_Jürgen-Weiß.pdf" keeps umlauts but no
/// separators or control characters.
pub fn file_name(prefix: &str, name: &str, ext: &str) -> String {
    let clean: String = name.chars().map(|c| if c.is_alphanumeric() { c } else { '-' }).collect();
    let clean = clean.split('-').filter(|p| !p.is_empty()).collect::<Vec<_>>().join("-");
    format!("{prefix}_{clean}.{ext}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cashier_fields_cannot_become_formulas() {
        assert_eq!(csv_text("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(csv_text("-Müller"), "'-Müller");
        assert_eq!(csv_text("Anna Weiß"), "Anna Weiß");
        assert_eq!(csv_field("-12,00"), "-12,00");
        assert_eq!(csv_field("a;b"), "\"a;b\"");
    }
}
