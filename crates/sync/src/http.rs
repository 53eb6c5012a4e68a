//! The transport over HTTPS with reqwest (rustls). Every request carries the protocol and
//! schema versions; error bodies are the hub's `ErrorBody`.

use crate::transport::{TResult, Transport, TransportError};
use kitakontor_core::command::SCHEMA_VERSION;
use kitakontor_core::protocol::*;
use reqwest::{Client, RequestBuilder, Response, StatusCode};
use std::time::Duration;

#[derive(Clone)]
pub struct HttpTransport {
    base: String,
    client: Client,
}

impl HttpTransport {
    pub fn new(hub_url: &str) -> Result<HttpTransport, TransportError> {
        // Fails only when a provider is installed already, which is just as good.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = Client::builder()
            .connect_timeout(Duration::from_secs(10))
            // A page of 5,000 entries or a snapshot of a large facility takes a while on a slow line.
            .timeout(Duration::from_secs(300))
            .user_agent(concat!("kitakontor/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| TransportError::Refused(e.to_string()))?;
        Ok(HttpTransport { base: hub_url.trim_end_matches('/').to_string(), client })
    }

    fn req(&self, r: RequestBuilder) -> RequestBuilder {
        r.header(HEADER_PROTOCOL, PROTOCOL_VERSION.to_string()).header(HEADER_SCHEMA, SCHEMA_VERSION.to_string())
    }

    async fn send<R: serde::de::DeserializeOwned>(&self, r: RequestBuilder) -> TResult<R> {
        let resp = self.req(r).send().await.map_err(|e| TransportError::Network(e.to_string()))?;
        let resp = check(resp).await?;
        resp.json().await.map_err(|e| TransportError::Network(format!("Antwort unvollständig: {e}")))
    }
}

async fn check(resp: Response) -> TResult<Response> {
    let status = resp.status();
    if status.is_success() {
        return Ok(resp);
    }
    let body: Option<ErrorBody> = resp.json().await.ok();
    let message = body.as_ref().map(|b| b.message.clone()).unwrap_or_else(|| status.to_string());
    Err(match status {
        StatusCode::UNAUTHORIZED => TransportError::Unauthorized,
        StatusCode::FORBIDDEN => TransportError::Revoked,
        StatusCode::UPGRADE_REQUIRED => TransportError::UpgradeRequired(message),
        StatusCode::CONFLICT => match body.and_then(|b| b.expected_seq) {
            Some(expected) => TransportError::Gap { expected },
            None => TransportError::Refused(message),
        },
        s if s.is_server_error() || s == StatusCode::TOO_MANY_REQUESTS || s == StatusCode::REQUEST_TIMEOUT => {
            TransportError::Server(message)
        }
        _ => TransportError::Refused(message),
    })
}

impl Transport for HttpTransport {
    async fn enrol(&self, req: &EnrolRequest) -> TResult<EnrolReply> {
        self.send(self.client.post(format!("{}/enrol", self.base)).json(req)).await
    }

    async fn refresh(&self, req: &RefreshRequest) -> TResult<Tokens> {
        self.send(self.client.post(format!("{}/token/refresh", self.base)).json(req)).await
    }

    async fn push(&self, token: &str, req: &PushRequest) -> TResult<PushReply> {
        self.send(self.client.post(format!("{}/sync/push", self.base)).bearer_auth(token).json(req)).await
    }

    async fn pull(&self, token: &str, cursor: &Cursor, limit: usize) -> TResult<PullReply> {
        let url = format!("{}/sync/pull", self.base);
        self.send(self.client.get(url).bearer_auth(token).query(&[("cursor", cursor.0.as_str()), ("limit", &limit.to_string())])).await
    }

    async fn snapshot(&self, token: &str) -> TResult<(SnapshotHeader, Vec<LogEntry>)> {
        let r = self.req(self.client.get(format!("{}/sync/snapshot", self.base)).bearer_auth(token));
        let resp = check(r.send().await.map_err(|e| TransportError::Network(e.to_string()))?).await?;
        let body = resp.text().await.map_err(|e| TransportError::Network(format!("Schnappschuss unvollständig: {e}")))?;
        parse_snapshot(&body)
    }

    async fn duplicates(&self, token: &str) -> TResult<Vec<city::DuplicateView>> {
        self.send(self.client.get(format!("{}/city/duplicates", self.base)).bearer_auth(token)).await
    }

    async fn decide_duplicate(&self, token: &str, id: uuid::Uuid, decision: city::Decision) -> TResult<city::DuplicateView> {
        let body = city::DecideDuplicate { decision };
        self.send(self.client.post(format!("{}/city/duplicates/{id}", self.base)).bearer_auth(token).json(&body)).await
    }

    async fn registry_status(&self, token: &str) -> TResult<city::RegistryStatus> {
        self.send(self.client.get(format!("{}/city/registry-status", self.base)).bearer_auth(token)).await
    }

    async fn health(&self) -> TResult<()> {
        let resp = self.client.get(format!("{}/health", self.base)).timeout(Duration::from_secs(3)).send().await;
        check(resp.map_err(|e| TransportError::Network(e.to_string()))?).await.map(|_| ())
    }
}

/// NDJSON: a header line, then one entry per line. A cut-off stream is an error (the header
/// says how many entries follow), never a partial snapshot.
pub fn parse_snapshot(body: &str) -> TResult<(SnapshotHeader, Vec<LogEntry>)> {
    let mut lines = body.lines().filter(|l| !l.trim().is_empty());
    let bad = |e: String| TransportError::Network(format!("Schnappschuss fehlerhaft: {e}"));
    let header: SnapshotHeader = serde_json::from_str(lines.next().ok_or_else(|| bad("leer".into()))?).map_err(|e| bad(e.to_string()))?;
    let entries: Vec<LogEntry> = lines.map(|l| serde_json::from_str(l).map_err(|e| bad(e.to_string()))).collect::<TResult<_>>()?;
    if entries.len() as u64 != header.entries {
        return Err(bad(format!("{} von {} Einträgen", entries.len(), header.entries)));
    }
    Ok((header, entries))
}
