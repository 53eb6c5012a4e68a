//! Document speed (ENGINEERING §E6: ≤ 2 ms per fee notice, release build, including font
//! subsetting, compression and the PDF/A pass).
//!
//! `cargo bench -p kitakontor-docs` prints a p50/p90 table first (plain timing loop, after a
//! warm-up that parses the fonts once), then criterion's statistics.

#[path = "../tests/sample/mod.rs"]
mod sample;

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::Criterion;
use kitakontor_docs::*;

fn percentiles(name: &str, n: usize, mut f: impl FnMut() -> usize) {
    let mut size = f(); // warm-up: fonts parsed, caches filled
    let mut times: Vec<Duration> = (0..n)
        .map(|_| {
            let t = Instant::now();
            size = black_box(f());
            t.elapsed()
        })
        .collect();
    times.sort();
    let p = |q: f64| times[((times.len() - 1) as f64 * q) as usize].as_secs_f64() * 1000.0;
    println!("{name:<34} p50 {:>8.3} ms   p90 {:>8.3} ms   size {:>8} bytes", p(0.5), p(0.9), size);
}

fn summary() {
    let c = sample::created();
    let notice = sample::fee_notice();
    let contract = sample::contract();
    let invoice = sample::invoice();
    let credit = sample::credit_note();
    let claim = sample::claim_list(120);
    let run = sample::invoices(300);
    println!("\n== kitakontor-docs: time per document (release) ==");
    percentiles("fee notice (Kostenbescheid)", 400, || fee_notice_pdf(&notice, c).unwrap().len());
    percentiles("contract (Betreuungsvertrag, 3 p.)", 200, || contract_pdf(&contract, c).unwrap().len());
    percentiles("invoice (Rechnung, 2 children)", 400, || invoice_pdf(&invoice, c).unwrap().len());
    percentiles("credit note (Gutschrift)", 400, || invoice_pdf(&credit, c).unwrap().len());
    percentiles("claim list, 120 rows", 50, || claim_pdf(&claim, c).unwrap().len());
    percentiles("300 invoices, separate files", 5, || run.iter().map(|i| invoice_pdf(i, c).unwrap().len()).sum());
    percentiles("300 invoices, one combined file", 5, || invoices_combined_pdf(&run, c).unwrap().len());
    println!();
}

fn criterion_benches(cr: &mut Criterion) {
    let c = sample::created();
    let notice = sample::fee_notice();
    let contract = sample::contract();
    let invoice = sample::invoice();
    let run = sample::invoices(300);
    cr.bench_function("fee_notice_pdf", |b| b.iter(|| fee_notice_pdf(black_box(&notice), c).unwrap()));
    cr.bench_function("contract_pdf", |b| b.iter(|| contract_pdf(black_box(&contract), c).unwrap()));
    cr.bench_function("invoice_pdf", |b| b.iter(|| invoice_pdf(black_box(&invoice), c).unwrap()));
    let mut g = cr.benchmark_group("billing_run");
    g.sample_size(10);
    g.bench_function("invoices_combined_pdf_300", |b| b.iter(|| invoices_combined_pdf(black_box(&run), c).unwrap()));
    g.finish();
}

fn main() {
    summary();
    let mut cr = Criterion::default().configure_from_args();
    criterion_benches(&mut cr);
    cr.final_summary();
}
