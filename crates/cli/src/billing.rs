//! `kitakontor billing|print|rules|mandates`: fees, documents and SEPA on the command line.

use crate::args::*;
use crate::output::Out;
use crate::{facility, login, open, parse_date, parse_id, CliError, Result};
use chrono::NaiveDate;
use kitakontor_core::care::{add_months, month_start};
use kitakontor_core::command as c;
use kitakontor_core::fee::RuleSet;
use kitakontor_core::ids::*;
use kitakontor_core::person::Address;
use kitakontor_store::billing::{BillingRequest, SepaVersion};
use kitakontor_store::files::{default_documents_dir, file_name, write_atomically};
use std::path::PathBuf;
use std::sync::Arc;

/// "2026-12", "2026-12-01" or "12/2026" → the first of that month.
pub fn parse_month(s: &str) -> Result<NaiveDate> {
    let t = s.trim();
    let d = if let Some((m, y)) = t.split_once('/') {
        m.parse::<u32>().ok().zip(y.parse::<i32>().ok()).and_then(|(m, y)| NaiveDate::from_ymd_opt(y, m, 1))
    } else if t.len() == 7 {
        NaiveDate::parse_from_str(&format!("{t}-01"), "%Y-%m-%d").ok()
    } else {
        NaiveDate::parse_from_str(t, "%Y-%m-%d").ok()
    };
    d.map(month_start).ok_or_else(|| CliError::Usage(format!("'{s}' ist kein Monat (z. B. 2026-12)")))
}

fn sepa_version(a: SepaArg) -> SepaVersion {
    match a {
        SepaArg::V08 => SepaVersion::V08,
        SepaArg::V02 => SepaVersion::V02,
    }
}

pub async fn billing(cli: &Cli, out: &Out, cmd: &BillingCmd) -> Result<()> {
    let store = open(cli).await?;
    let actor = login(cli, &store).await?;
    match cmd {
        BillingCmd::Run { month, facility: f, out: dir, sepa } => {
            let fid = facility(&store, &actor, f).await?;
            let req = BillingRequest {
                facility: fid,
                month: parse_month(month)?,
                out_dir: dir.clone().unwrap_or_else(|| default_documents_dir().join("Abrechnung")),
                sepa_version: sepa_version(*sepa),
            };
            // Progress on stderr, so that --json output stays clean.
            let show = !cli.json;
            let progress = Arc::new(move |p: kitakontor_store::billing::BillingProgress| {
                if show {
                    eprint!("\r{:?}: {}/{}   ", p.phase, p.done, p.total);
                }
            });
            let s = store.billing_run(&actor, &req, progress).await?;
            if show {
                eprintln!();
            }
            out.billing(&s);
        }
        BillingCmd::Files { run, out: dir, sepa } => {
            let s = store
                .rewrite_billing_files(
                    &actor,
                    parse_id("run", run)?,
                    &dir.clone().unwrap_or_else(|| default_documents_dir().join("Abrechnung")),
                    sepa_version(*sepa),
                )
                .await?;
            out.billing(&s);
        }
        BillingCmd::Runs { facility: f } => {
            let fid = facility(&store, &actor, f).await?;
            let runs = store.billing_runs(&actor, fid).await?;
            out.value(
                &runs,
                &runs
                    .iter()
                    .map(|r| {
                        format!(
                            "{}  {}  {} Familien  {} neu, {} ersetzt, {} Gutschriften, {} unverändert  Einzug {}",
                            r.month.format("%m/%Y"),
                            r.facility,
                            r.families,
                            r.new_invoices,
                            r.replacements,
                            r.credit_notes,
                            r.unchanged,
                            kitakontor_core::de::euro(r.debit_cents)
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n"),
            );
        }
        BillingCmd::Claim { from, to, facility: f, out: dir } => {
            let fid = facility(&store, &actor, f).await?;
            let doc = store.claim_list(&actor, fid, parse_month(from)?, parse_month(to)?).await?;
            let dir = dir.clone().unwrap_or_else(|| default_documents_dir().join("Erstattung"));
            let base = format!("Erstattungsantrag_{}", doc.reference);
            let pdf = kitakontor_docs::claim_pdf(&doc, store.now().naive_utc())?;
            let (p1, p2) = (dir.join(format!("{base}.pdf")), dir.join(format!("{base}.csv")));
            write_atomically(&p1, &pdf)?;
            write_atomically(&p2, kitakontor_docs::claim_csv(&doc).as_bytes())?;
            out.value(
                &serde_json::json!({ "rows": doc.rows.len(), "total_cents": doc.total_cents, "files": [p1, p2] }),
                &format!(
                    "Erstattungsantrag: {} Zeilen, {} – {}\n  {}\n  {}",
                    doc.rows.len(),
                    kitakontor_core::de::euro(doc.total_cents),
                    doc.recipient.name,
                    p1.display(),
                    p2.display()
                ),
            );
        }
        BillingCmd::Creditor { creditor_id, iban, bic, street, postal_code, city, youth_office, facility: f } => {
            let fid = facility(&store, &actor, f).await?;
            let provider = store.provider_of(fid).await?;
            let r = store
                .execute(
                    &actor,
                    c::SetCreditor {
                        provider_id: provider,
                        address: Address { street: street.clone(), postal_code: postal_code.clone(), city: city.clone() },
                        creditor_id: creditor_id.clone(),
                        iban: iban.clone(),
                        bic: bic.clone(),
                        youth_office: youth_office.clone(),
                    }
                    .into(),
                )
                .await?;
            out.receipt(&r, "Gläubigerdaten gespeichert");
        }
    }
    Ok(())
}

pub async fn print(cli: &Cli, out: &Out, cmd: &PrintCmd) -> Result<()> {
    let store = open(cli).await?;
    let actor = login(cli, &store).await?;
    let created = store.now().naive_utc();
    let (path, bytes): (PathBuf, Vec<u8>) = match cmd {
        PrintCmd::Contract { contract, out: file } => {
            let doc = store.contract_document(&actor, parse_id("contract", contract)?).await?;
            let bytes = kitakontor_docs::contract_pdf(&doc, created)?;
            (file.clone().unwrap_or_else(|| PathBuf::from(file_name("Betreuungsvertrag", &doc.child_name, "pdf"))), bytes)
        }
        PrintCmd::FeeNotice { child, month, out: file } => {
            let month = match month {
                Some(m) => parse_month(m)?,
                None => add_months(store.now().date_naive(), 1),
            };
            let doc = store.fee_notice_document(&actor, parse_id("child", child)?, month).await?;
            let bytes = kitakontor_docs::fee_notice_pdf(&doc, created)?;
            (file.clone().unwrap_or_else(|| PathBuf::from(file_name("Kostenbescheid", &doc.child_name, "pdf"))), bytes)
        }
    };
    write_atomically(&path, &bytes)?;
    out.value(&serde_json::json!({ "file": path, "bytes": bytes.len() }), &format!("PDF geschrieben: {}", path.display()));
    Ok(())
}

pub async fn rules(cli: &Cli, out: &Out, cmd: &RulesCmd) -> Result<()> {
    match cmd {
        RulesCmd::Check { file } => {
            let text = std::fs::read_to_string(file)?;
            let set = RuleSet::from_toml(&file.display().to_string(), &text).map_err(kitakontor_store::StoreError::from)?;
            out.value(&kitakontor_store::fees::RuleSetSummary::from(&set), &format!("in Ordnung: {}", set.describe()));
            Ok(())
        }
        RulesCmd::Import { file } => {
            let store = open(cli).await?;
            let actor = login(cli, &store).await?;
            let text = std::fs::read_to_string(file)?;
            let name = file.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
            let s = store.import_rule_set(&actor, &name, &text).await?;
            out.value(
                &s,
                &format!(
                    "importiert: {} {} (Fassung {}), gültig ab {}",
                    s.municipality,
                    s.title,
                    s.version,
                    s.valid_from.format("%d.%m.%Y")
                ),
            );
            Ok(())
        }
        RulesCmd::List => {
            let store = open(cli).await?;
            let actor = login(cli, &store).await?;
            let sets = store.rule_sets(&actor).await?;
            let text = sets
                .iter()
                .map(|s| {
                    format!(
                        "{:<28} v{}  {:<14} {}  ab {}{}",
                        s.id,
                        s.version,
                        s.municipality,
                        s.model,
                        s.valid_from.format("%d.%m.%Y"),
                        s.valid_to.map(|t| format!(" bis {}", t.format("%d.%m.%Y"))).unwrap_or_default()
                    )
                })
                .collect::<Vec<_>>()
                .join("\n");
            out.value(&sets, &text);
            Ok(())
        }
    }
}

pub async fn mandates(cli: &Cli, out: &Out, cmd: &MandatesCmd) -> Result<()> {
    let store = open(cli).await?;
    let actor = login(cli, &store).await?;
    match cmd {
        MandatesCmd::Add { guardian, reference, signed_on } => {
            let id = MandateId(crate::new_id());
            let r = store
                .execute(
                    &actor,
                    c::RecordMandate {
                        mandate_id: id,
                        guardian_id: parse_id("guardian", guardian)?,
                        reference: reference.clone(),
                        signed_on: parse_date(signed_on)?,
                    }
                    .into(),
                )
                .await?;
            out.created(&r, "Mandat erfasst", id);
        }
        MandatesCmd::Revoke { mandate, on } => {
            let on = match on {
                Some(d) => parse_date(d)?,
                None => store.now().date_naive(),
            };
            let r = store.execute(&actor, c::RevokeMandate { mandate_id: parse_id("mandate", mandate)?, revoked_on: on }.into()).await?;
            out.receipt(&r, "Mandat widerrufen");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_in_the_forms_people_write_them() {
        let dec = NaiveDate::from_ymd_opt(2026, 12, 1).unwrap();
        assert_eq!(parse_month("2026-12").unwrap(), dec);
        assert_eq!(parse_month("2026-12-17").unwrap(), dec);
        assert_eq!(parse_month("12/2026").unwrap(), dec);
        assert!(parse_month("Dezember").is_err());
        assert!(parse_month("2026-13").is_err());
    }
}
