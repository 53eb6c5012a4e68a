//! Documents Kitakontor makes on the office PC, without a network: the care contract
//! (Betreuungsvertrag), the fee notice (Kostenbescheid), the monthly family invoice with SEPA
//! pre-notification, the youth-office reimbursement claim list, and the SEPA pain.008 file.
//!
//! Input is plain data (`model`): names, dates, amounts in cents, lines already computed by the
//! fee engine. Nothing here reads a database or decides a fee; it lays out and formats (German:
//! 01.08.2027, 1.234,56 €).

pub mod model;
pub mod sepa;

// PDF documents and the claim CSV. Every `*_pdf` function returns a finished PDF/A-2b file
// (A4, Liberation Sans subset-embedded, sRGB output intent, "Seite x von y" on every page);
// `created` is the creation time in UTC, written to the metadata only, so the same input gives
// the same bytes. Invalid input (figures that do not add up, characters the font lacks) is a
// `DocError::InvalidInput`, never a silently wrong document.
mod claim;
mod contract;
mod error;
mod fee_notice;
mod font;
pub mod format;
mod invoice;
mod layout;
mod pdfa;
mod xml;

pub use claim::{claim_csv, claim_pdf};
pub use contract::contract_pdf;
pub use error::DocError;
pub use fee_notice::fee_notice_pdf;
pub use invoice::{invoice_pdf, invoices_combined_pdf};
