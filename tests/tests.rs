//! Cross-crate tests, one binary (ripgrep's layout): encryption at rest and erasure, audit
//! tampering seen through the CLI, crash safety under SIGKILL.

mod audit_tamper;
mod cli;
mod crash;
mod encryption;
mod util;
