//! The desktop's sync client (ENGINEERING §E3): pushes the outbox to the city's hub in order,
//! pulls the hub's log and hands it to the store, which puts it underneath the pending
//! commands. It retries forever with back-off and at once when the hub answers again; a 401
//! refreshes the device token and never drops anything.
//!
//! The network is behind [`Transport`], so the same engine runs over HTTP ([`http`]) in the
//! app and over a simulated, faulty network in the tests.

pub mod backoff;
pub mod engine;
#[cfg(feature = "http")]
pub mod http;
pub mod tokens;
pub mod transport;

pub use engine::{SyncEngine, SyncError, SyncReport};
pub use tokens::TokenStore;
pub use transport::{Transport, TransportError};
