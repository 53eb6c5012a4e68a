//! Kitakontor's local database: an SQLCipher file per PC, and the services on top of it.
//!
//! Every change enters through [`Store::execute`]: permission guard → domain rules (from
//! `kitakontor-core`) → base tables, outbox row and audit row, all in one SQLite transaction.
//! Reads of health, income and bank data go through [`Store`] methods that write an audit row
//! in the same transaction as the read.

pub mod audit;
pub mod auth;
pub mod billing;
pub mod city;
mod commands;
mod conn;
pub mod db;
pub mod demo;
mod documents;
pub mod error;
pub mod fees;
pub mod files;
pub mod import;
pub mod key;
mod outbox;
pub mod queries;
mod rows;
pub mod settings;
pub mod sync;
pub mod time;

pub use commands::Receipt;
pub use db::Store;
pub use error::{AuthError, Result, StoreError};
