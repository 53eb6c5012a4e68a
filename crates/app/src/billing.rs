//! Fees, documents and billing for the UI: the contract and the fee notice as PDFs (saved in
//! the documents folder and sent back for the preview), the billing run with progress, the
//! youth-office claim and the fee rule sets.

use crate::dto::*;
use crate::{App, AppError, Result};
use base64::Engine;
use kitakontor_core::care::{add_months, month_start};
use kitakontor_core::command as c;
use kitakontor_core::ids::MandateId;
use kitakontor_store::billing::{BillingRequest, BillingSummary, ProgressFn};
use kitakontor_store::fees::{ChildFee, MandateSummary, RuleSetSummary};
use kitakontor_store::files::{default_documents_dir, file_name, write_atomically};
use kitakontor_store::Receipt;
use std::path::{Path, PathBuf};
use uuid::Uuid;

fn saved(path: PathBuf, bytes: &[u8]) -> Result<SavedDocument> {
    write_atomically(&path, bytes)?;
    Ok(SavedDocument {
        file_name: path.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default(),
        path: path.display().to_string(),
        pdf_base64: base64::engine::general_purpose::STANDARD.encode(bytes),
    })
}

fn doc_error(e: kitakontor_docs::DocError) -> AppError {
    AppError::new("document", format!("Das Dokument konnte nicht erstellt werden: {e}"))
}

impl App {
    /// Where this app saves documents.
    pub fn documents_dir(&self) -> PathBuf {
        self.documents.clone().unwrap_or_else(default_documents_dir)
    }

    /// Whether `path` is one of the app's own documents (the only files the UI may open).
    pub fn is_own_document(&self, path: &Path) -> bool {
        let Ok(root) = self.documents_dir().canonicalize() else { return false };
        path.canonicalize().is_ok_and(|p| p.starts_with(root) && p.is_file())
    }

    pub async fn contract_pdf(&self, i: ContractRef) -> Result<SavedDocument> {
        let actor = self.actor().await?;
        let doc = self.store.contract_document(&actor, i.contract_id).await?;
        let bytes = kitakontor_docs::contract_pdf(&doc, self.store.now().naive_utc()).map_err(doc_error)?;
        saved(self.documents_dir().join("Verträge").join(file_name("Betreuungsvertrag", &doc.child_name, "pdf")), &bytes)
    }

    /// The child's fee for a month with the line-by-line explanation (billing roles).
    pub async fn child_fee(&self, i: ChildMonthInput) -> Result<ChildFee> {
        let actor = self.actor().await?;
        let month = i.month.map(month_start).unwrap_or_else(|| add_months(self.store.now().date_naive(), 1));
        Ok(self.store.child_fee(&actor, i.child_id, month).await?)
    }

    pub async fn fee_notice_pdf(&self, i: ChildMonthInput) -> Result<SavedDocument> {
        let actor = self.actor().await?;
        let month = i.month.map(month_start).unwrap_or_else(|| add_months(self.store.now().date_naive(), 1));
        let doc = self.store.fee_notice_document(&actor, i.child_id, month).await?;
        let bytes = kitakontor_docs::fee_notice_pdf(&doc, self.store.now().naive_utc()).map_err(doc_error)?;
        let name = file_name("Kostenbescheid", &format!("{} {}", doc.child_name, month.format("%Y-%m")), "pdf");
        saved(self.documents_dir().join("Kostenbescheide").join(name), &bytes)
    }

    /// The month's billing run for the user's facility; `progress` is called as it goes.
    pub async fn billing_run(&self, i: BillingInput, progress: ProgressFn) -> Result<BillingSummary> {
        let actor = self.actor().await?;
        let facility = self.store.default_facility(&actor).await?;
        let req = BillingRequest {
            facility,
            month: month_start(i.month),
            out_dir: self.documents_dir().join("Abrechnung"),
            sepa_version: i.sepa_version,
        };
        Ok(self.store.billing_run(&actor, &req, progress).await?)
    }

    pub async fn billing_runs(&self) -> Result<Vec<BillingSummary>> {
        let actor = self.actor().await?;
        let facility = self.store.default_facility(&actor).await?;
        Ok(self.store.billing_runs(&actor, facility).await?)
    }

    /// The youth-office claim for a period as PDF and CSV; returns both paths.
    pub async fn claim_list(&self, i: ClaimInput) -> Result<Vec<String>> {
        if i.to < i.from {
            return Err(AppError::invalid("to", "Der letzte Monat liegt vor dem ersten."));
        }
        let actor = self.actor().await?;
        let facility = self.store.default_facility(&actor).await?;
        let doc = self.store.claim_list(&actor, facility, i.from, i.to).await?;
        let dir = self.documents_dir().join("Erstattung");
        let pdf = kitakontor_docs::claim_pdf(&doc, self.store.now().naive_utc()).map_err(doc_error)?;
        let (p1, p2) =
            (dir.join(format!("Erstattungsantrag_{}.pdf", doc.reference)), dir.join(format!("Erstattungsantrag_{}.csv", doc.reference)));
        write_atomically(&p1, &pdf)?;
        write_atomically(&p2, kitakontor_docs::claim_csv(&doc).as_bytes())?;
        Ok(vec![p1.display().to_string(), p2.display().to_string()])
    }

    pub async fn mandates(&self, i: GuardianRef) -> Result<Vec<MandateSummary>> {
        let actor = self.actor().await?;
        Ok(self.store.mandates(&actor, i.guardian_id).await?)
    }

    pub async fn record_mandate(&self, i: RecordMandateInput) -> Result<Receipt> {
        let actor = self.actor().await?;
        let command = c::RecordMandate {
            mandate_id: MandateId(Uuid::now_v7()),
            guardian_id: i.guardian_id,
            reference: i.reference,
            signed_on: i.signed_on,
        };
        Ok(self.store.execute(&actor, command.into()).await?)
    }

    pub async fn revoke_mandate(&self, i: RevokeMandateInput) -> Result<Receipt> {
        let actor = self.actor().await?;
        Ok(self.store.execute(&actor, c::RevokeMandate { mandate_id: i.mandate_id, revoked_on: i.revoked_on }.into()).await?)
    }

    pub async fn rule_sets(&self) -> Result<Vec<RuleSetSummary>> {
        let actor = self.actor().await?;
        Ok(self.store.rule_sets(&actor).await?)
    }
}
