//! Writes every kind of PDF made from the invented demo data into a folder, for looking at:
//! `cargo run -p kitakontor-docs --example samples -- /tmp/kk-pdf`
#[path = "../tests/sample/mod.rs"]
mod sample;

use kitakontor_docs::*;

fn main() {
    let dir = std::path::PathBuf::from(std::env::args().nth(1).unwrap_or_else(|| "kitakontor-samples".into()));
    std::fs::create_dir_all(&dir).unwrap();
    let c = sample::created();
    let files: Vec<(&str, Vec<u8>)> = vec![
        ("contract.pdf", contract_pdf(&sample::contract(), c).unwrap()),
        ("fee-notice.pdf", fee_notice_pdf(&sample::fee_notice(), c).unwrap()),
        ("invoice.pdf", invoice_pdf(&sample::invoice(), c).unwrap()),
        ("invoice-transfer.pdf", invoice_pdf(&sample::invoice_transfer(), c).unwrap()),
        ("credit-note.pdf", invoice_pdf(&sample::credit_note(), c).unwrap()),
        ("replacement.pdf", invoice_pdf(&sample::replacement(), c).unwrap()),
        ("invoices-combined.pdf", invoices_combined_pdf(&sample::invoices(3), c).unwrap()),
        ("claim-list.pdf", claim_pdf(&sample::claim_list(120), c).unwrap()),
    ];
    for (name, bytes) in files {
        println!("{name}: {} bytes", bytes.len());
        std::fs::write(dir.join(name), bytes).unwrap();
    }
    std::fs::write(dir.join("claim-list.csv"), claim_csv(&sample::claim_list(120))).unwrap();
}
