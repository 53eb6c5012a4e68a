//! Cross-crate tests, one binary (ripgrep's layout): encryption at rest and erasure, audit
//! tampering seen through the CLI, crash safety under SIGKILL, sync with the real binaries,
//! the city's proposals and registry matches between the real hub and the desktop's cache.

mod audit_tamper;
mod cli;
mod crash;
mod encryption;
mod sync_blackbox;
mod sync_city;
mod util;
