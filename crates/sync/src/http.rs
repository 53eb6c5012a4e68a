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

impl HttpTransport {
    /// `GET /sync/snapshot`, checked; the body (NDJSON) is read in chunks as it arrives, so
    /// parsing overlaps the hub's writing (a large facility's snapshot is tens of MB).
    async fn snapshot_response(&self, token: &str) -> TResult<Response> {
        let r = self.req(self.client.get(format!("{}/sync/snapshot", self.base)).bearer_auth(token));
        check(r.send().await.map_err(|e| TransportError::Network(e.to_string()))?).await
    }
}

fn broken_off(e: reqwest::Error) -> TransportError {
    TransportError::Network(format!("Schnappschuss unvollständig: {e}"))
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
        let mut resp = self.snapshot_response(token).await?;
        let mut parser = SnapshotParser::default();
        while let Some(chunk) = resp.chunk().await.map_err(broken_off)? {
            parser.feed(&chunk)?;
        }
        parser.finish()
    }

    async fn snapshot_stream(
        &self,
        token: &str,
        header: tokio::sync::oneshot::Sender<SnapshotHeader>,
        entries: tokio::sync::mpsc::Sender<Vec<LogEntry>>,
    ) -> TResult<()> {
        let mut resp = self.snapshot_response(token).await?;
        let mut parser = SnapshotParser::default();
        let mut header = Some(header);
        while let Some(chunk) = resp.chunk().await.map_err(broken_off)? {
            parser.feed(&chunk)?;
            if let Some(h) = parser.header().filter(|_| header.is_some()) {
                if header.take().expect("checked").send(h.clone()).is_err() {
                    return Ok(());
                }
            }
            if parser.pending() >= STREAM_BATCH && entries.send(parser.take_entries()).await.is_err() {
                return Ok(());
            }
        }
        let (h, rest) = parser.finish()?;
        if let Some(tx) = header.take() {
            if tx.send(h).is_err() {
                return Ok(());
            }
        }
        let _ = entries.send(rest).await;
        Ok(())
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
/// The snapshot's NDJSON (a header line, then one entry per line), fed in pieces as they come.
#[derive(Default)]
pub struct SnapshotParser {
    /// The incomplete last line so far.
    rest: Vec<u8>,
    header: Option<SnapshotHeader>,
    entries: Vec<LogEntry>,
    /// Entries handed out already (`take_entries`).
    taken: u64,
}

/// Entries per batch handed to the store while a snapshot streams in.
const STREAM_BATCH: usize = 2_000;

fn bad(e: impl std::fmt::Display) -> TransportError {
    TransportError::Network(format!("Schnappschuss fehlerhaft: {e}"))
}

impl SnapshotParser {
    pub fn feed(&mut self, bytes: &[u8]) -> TResult<()> {
        let Some(last_newline) = bytes.iter().rposition(|b| *b == b'\n') else {
            self.rest.extend_from_slice(bytes);
            return Ok(());
        };
        let (complete, tail) = bytes.split_at(last_newline + 1);
        let mut lines = std::mem::take(&mut self.rest);
        lines.extend_from_slice(complete);
        for line in lines.split(|b| *b == b'\n') {
            self.line(line)?;
        }
        self.rest = tail.to_vec();
        Ok(())
    }

    fn line(&mut self, line: &[u8]) -> TResult<()> {
        if line.iter().all(u8::is_ascii_whitespace) {
            return Ok(());
        }
        match self.header {
            None => self.header = Some(serde_json::from_slice(line).map_err(bad)?),
            Some(_) => self.entries.push(serde_json::from_slice(line).map_err(bad)?),
        }
        Ok(())
    }

    pub fn header(&self) -> Option<&SnapshotHeader> {
        self.header.as_ref()
    }

    /// Parsed entries not handed out yet.
    pub fn pending(&self) -> usize {
        self.entries.len()
    }

    pub fn take_entries(&mut self) -> Vec<LogEntry> {
        self.taken += self.entries.len() as u64;
        std::mem::take(&mut self.entries)
    }

    /// The header and the entries not taken yet; fails when the stream ended early (fewer
    /// entries than announced, counting those taken).
    pub fn finish(mut self) -> TResult<(SnapshotHeader, Vec<LogEntry>)> {
        let rest = std::mem::take(&mut self.rest);
        self.line(&rest)?;
        let header = self.header.ok_or_else(|| bad("leer"))?;
        let got = self.taken + self.entries.len() as u64;
        if got != header.entries {
            return Err(bad(format!("{got} von {} Einträgen", header.entries)));
        }
        Ok((header, self.entries))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kitakontor_core::command::{self as c, Command};
    use kitakontor_core::ids::*;
    use uuid::Uuid;

    fn parse_snapshot(body: &str) -> TResult<(SnapshotHeader, Vec<LogEntry>)> {
        let mut parser = SnapshotParser::default();
        parser.feed(body.as_bytes())?;
        parser.finish()
    }

    fn ndjson(n: usize) -> String {
        let header = SnapshotHeader { entries: n as u64, cursor: Cursor("9.9".into()), acked_seq: 0 };
        let mut s = serde_json::to_string(&header).unwrap() + "\n";
        for i in 0..n {
            let e = LogEntry {
                seq: i as i64 + 1,
                origin: Origin::Hub { command_id: CommandId(Uuid::from_u128(i as u128 + 1)) },
                user_id: None,
                hub_time: chrono::DateTime::from_timestamp(1_790_000_000, 0).unwrap(),
                command: Command::from(c::DeleteChild { child_id: ChildId(Uuid::from_u128(i as u128 + 100)) }),
                versions: Versions::new(),
                secret_hash: None,
                facility_id: None,
                provider_id: None,
            };
            s += &(serde_json::to_string(&e).unwrap() + "\n");
        }
        s
    }

    #[test]
    fn chunks_cut_anywhere_parse_like_the_whole_body() {
        let body = ndjson(5);
        let whole = parse_snapshot(&body).unwrap();
        assert_eq!(whole.1.len(), 5);
        for size in [1, 7, 64, 300] {
            let mut p = SnapshotParser::default();
            for chunk in body.as_bytes().chunks(size) {
                p.feed(chunk).unwrap();
            }
            assert_eq!(p.finish().unwrap(), whole, "chunks of {size} bytes");
        }
    }

    #[test]
    fn a_stream_that_ends_early_is_an_error() {
        let body = ndjson(3);
        let cut = &body[..body.len() - 40];
        let mut p = SnapshotParser::default();
        p.feed(cut.as_bytes()).unwrap();
        assert!(matches!(p.finish(), Err(TransportError::Network(_))));
        let lines: Vec<&str> = body.lines().take(3).collect();
        let short = lines.join("\n") + "\n";
        let err = parse_snapshot(&short).unwrap_err().to_string();
        assert!(err.contains("2 von 3 Einträgen"), "{err}");
    }
}
