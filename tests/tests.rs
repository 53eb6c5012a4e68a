//! Cross-crate tests, one binary (ripgrep's layout): encryption at rest and erasure, audit
//! tampering seen through the CLI, crash safety under SIGKILL, sync with the real binaries.

mod audit_tamper;
mod cli;
mod crash;
mod encryption;
mod sync_blackbox;
mod util;
