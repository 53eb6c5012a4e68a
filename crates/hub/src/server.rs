//! The HTTP side: routes, the device extractor, version headers, errors as `ErrorBody`, request
//! logs, TLS (rustls) or plain HTTP, the hold-expiry job and graceful shutdown.
//!
//! Logs carry the request id, the device id and counts — never command arguments or names.

use crate::config::{Config, Tls};
use crate::push::schema_supported;
use crate::{DeviceAuth, Hub, HubError};
use axum::body::Body;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{DefaultBodyLimit, FromRequest, FromRequestParts, Query, Request, State};
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE};
use axum::http::request::Parts;
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::NaiveDate;
use kitakontor_core::protocol::{
    EnrolReply, EnrolRequest, FreePlaces, PullReply, PushReply, PushRequest, RefreshRequest, Tokens, HEADER_PROTOCOL, HEADER_SCHEMA,
    PROTOCOL_VERSION,
};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tracing::Instrument;

/// Largest request body (a push of 500 commands stays far below).
pub const BODY_LIMIT: usize = 16 * 1024 * 1024;
/// How often the server releases lapsed holds.
pub const EXPIRY_INTERVAL: Duration = Duration::from_secs(60);
/// How long a graceful shutdown waits for requests in flight (TLS server).
const SHUTDOWN_GRACE: Duration = Duration::from_secs(30);
/// Entries per pull when the device does not say.
const DEFAULT_PULL: usize = 1000;

static REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

impl IntoResponse for HubError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        if status.is_server_error() {
            tracing::error!(error = %self, "request failed");
        } else {
            tracing::info!(code = self.code(), "request refused");
        }
        (status, Json(self.body())).into_response()
    }
}

/// The routes on a hub.
pub fn router(hub: Hub) -> Router {
    let hub = Arc::new(hub);
    let versioned = Router::new()
        .route("/enrol", post(enrol))
        .route("/token/refresh", post(refresh))
        .route("/sync/push", post(push))
        .route("/sync/pull", get(pull))
        .route("/sync/snapshot", get(snapshot))
        .route_layer(middleware::from_fn(require_versions));
    Router::new()
        .route("/health", get(health))
        .route("/city/free-places", get(free_places))
        // City rules (duplicates.rs, registry.rs): device-scoped, bearer token.
        .route("/city/duplicates", get(city_duplicates))
        .route("/city/duplicates/{id}", post(city_decide_duplicate))
        .route("/city/registry-status", get(city_registry_status))
        .merge(versioned)
        .fallback(|| async { HubError::NotFound("Dieser Pfad".into()) })
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(middleware::from_fn(request_log))
        .with_state(hub)
}

type AppState = State<Arc<Hub>>;

/// One span per request with a fresh request id (also sent back as `x-request-id`).
async fn request_log(req: Request, next: Next) -> Response {
    let id = uuid::Uuid::now_v7().simple().to_string();
    let span = tracing::info_span!("request", request_id = %id, method = %req.method(), path = %req.uri().path(), device_id = tracing::field::Empty);
    let started = Instant::now();
    let mut response = next.run(req).instrument(span.clone()).await;
    span.in_scope(|| {
        tracing::info!(status = response.status().as_u16(), millis = started.elapsed().as_millis() as u64, "request done");
    });
    if let Ok(v) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(REQUEST_ID.clone(), v);
    }
    response
}

/// Every sync request names the protocol and command-schema version it speaks; an unknown
/// one is answered 426 and the desktop keeps its outbox.
async fn require_versions(req: Request, next: Next) -> Response {
    let (protocol, schema) = {
        let header = |name: &str| req.headers().get(name).and_then(|v| v.to_str().ok()).map(str::trim).map(str::to_string);
        (header(HEADER_PROTOCOL), header(HEADER_SCHEMA))
    };
    if protocol.as_deref().and_then(|p| p.parse::<u32>().ok()) != Some(PROTOCOL_VERSION) {
        return HubError::UpgradeRequired { what: "die Protokollversion", got: protocol.unwrap_or_else(|| "(keine)".into()) }
            .into_response();
    }
    if !schema.as_deref().and_then(|s| s.parse::<u32>().ok()).is_some_and(schema_supported) {
        return HubError::UpgradeRequired { what: "die Befehls-Schemaversion", got: schema.unwrap_or_else(|| "(keine)".into()) }
            .into_response();
    }
    next.run(req).await
}

impl FromRequestParts<Arc<Hub>> for DeviceAuth {
    type Rejection = HubError;

    async fn from_request_parts(parts: &mut Parts, hub: &Arc<Hub>) -> Result<Self, Self::Rejection> {
        let token = parts
            .headers
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or(HubError::Unauthorized)?;
        let auth = hub.authenticate(token).await?;
        tracing::Span::current().record("device_id", tracing::field::display(auth.device_id));
        Ok(auth)
    }
}

/// `Json` whose refusals are `ErrorBody`s.
struct JsonBody<T>(T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for JsonBody<T> {
    type Rejection = HubError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match Json::<T>::from_request(req, state).await {
            Ok(Json(v)) => Ok(JsonBody(v)),
            Err(e @ JsonRejection::BytesRejection(_)) => {
                Err(HubError::BadRequest(format!("Anfrage nicht lesbar (höchstens 16 MiB): {}", e.body_text())))
            }
            Err(e) => Err(HubError::BadRequest(format!("Ungültige Anfrage: {}", e.body_text()))),
        }
    }
}

/// Query parameters whose refusals are `ErrorBody`s.
struct Params<T>(T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Params<T> {
    type Rejection = HubError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Query::<T>::from_request_parts(parts, state)
            .await
            .map(|Query(v)| Params(v))
            .map_err(|e: QueryRejection| HubError::BadRequest(format!("Ungültige Parameter: {}", e.body_text())))
    }
}

async fn health(State(hub): AppState) -> Result<Json<serde_json::Value>, HubError> {
    sqlx::query("SELECT 1").execute(hub.pool()).await?;
    Ok(Json(serde_json::json!({ "status": "ok", "protocol": PROTOCOL_VERSION })))
}

async fn enrol(State(hub): AppState, JsonBody(req): JsonBody<EnrolRequest>) -> Result<Json<EnrolReply>, HubError> {
    Ok(Json(hub.enrol(req).await?))
}

async fn refresh(State(hub): AppState, JsonBody(req): JsonBody<RefreshRequest>) -> Result<Json<Tokens>, HubError> {
    tracing::Span::current().record("device_id", tracing::field::display(req.device_id));
    Ok(Json(hub.refresh(req).await?))
}

async fn push(State(hub): AppState, auth: DeviceAuth, JsonBody(req): JsonBody<PushRequest>) -> Result<Json<PushReply>, HubError> {
    let commands = req.commands.len();
    let reply = hub.push(&auth, req).await?;
    let applied = reply.results.iter().filter(|r| r.outcome.is_applied()).count();
    tracing::info!(commands, applied, not_applied = commands - applied, acked_seq = reply.acked_seq, "push");
    Ok(Json(reply))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PullParams {
    #[serde(default)]
    cursor: String,
    limit: Option<usize>,
}

async fn pull(State(hub): AppState, auth: DeviceAuth, Params(p): Params<PullParams>) -> Result<Json<PullReply>, HubError> {
    let reply = hub.pull(&auth, &kitakontor_core::protocol::Cursor(p.cursor), p.limit.unwrap_or(DEFAULT_PULL)).await?;
    tracing::info!(entries = reply.entries.len(), more = reply.more, "pull");
    Ok(Json(reply))
}

async fn snapshot(State(hub): AppState, auth: DeviceAuth) -> Result<Response, HubError> {
    let stream = hub.snapshot_stream(&auth).await?;
    tracing::info!(entries = stream.header.entries, "snapshot");
    Ok(([(CONTENT_TYPE, "application/x-ndjson")], Body::from_stream(stream.into_body())).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FreePlacesParams {
    on: NaiveDate,
}

async fn free_places(State(hub): AppState, Params(p): Params<FreePlacesParams>) -> Result<Json<Vec<FreePlaces>>, HubError> {
    Ok(Json(hub.free_places(p.on).await?))
}

// ---------------------------------------------------------------------------------------------
// City rules: duplicate proposals and registry status, scoped to the device's facility.

async fn city_duplicates(State(hub): AppState, auth: DeviceAuth) -> Result<Json<Vec<crate::duplicates::DuplicateView>>, HubError> {
    let list = hub.duplicates_for(&auth).await?;
    tracing::info!(proposals = list.len(), "duplicates");
    Ok(Json(list))
}

async fn city_decide_duplicate(
    State(hub): AppState,
    auth: DeviceAuth,
    axum::extract::Path(id): axum::extract::Path<String>,
    JsonBody(body): JsonBody<crate::duplicates::DecideDuplicate>,
) -> Result<Json<crate::duplicates::DuplicateView>, HubError> {
    let id = uuid::Uuid::parse_str(&id).map_err(|_| HubError::NotFound(format!("Der Dublettenvorschlag {id}")))?;
    Ok(Json(hub.decide_duplicate(&auth, id, body.decision).await?))
}

async fn city_registry_status(State(hub): AppState, auth: DeviceAuth) -> Result<Json<crate::registry::RegistryStatus>, HubError> {
    Ok(Json(hub.registry_status(&auth).await?))
}

/// Releases lapsed holds now and then every `EXPIRY_INTERVAL` until `stop` fires.
pub fn spawn_expiry(hub: Hub, mut stop: tokio::sync::watch::Receiver<bool>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(EXPIRY_INTERVAL);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = tick.tick() => {
                    if let Err(e) = hub.expire_holds().await {
                        tracing::error!(error = %e, "releasing lapsed holds failed");
                    }
                }
                _ = stop.changed() => break,
            }
        }
    })
}

/// Resolves on SIGTERM or ctrl-c.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
    tracing::info!("shutting down: finishing requests in flight");
}

/// Serves the hub on a bound listener (plain HTTP) until `shutdown` resolves, then finishes
/// the requests in flight. For tests and for running behind a TLS proxy.
pub async fn serve_plain(
    listener: tokio::net::TcpListener,
    hub: Hub,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let expiry = spawn_expiry(hub.clone(), stopped);
    let result = axum::serve(listener, router(hub.clone())).with_graceful_shutdown(shutdown).await;
    let _ = stop.send(true);
    let _ = expiry.await;
    hub.pool().close().await;
    result
}

/// Runs the server as configured: TLS with rustls when a certificate and key are given,
/// otherwise plain HTTP (with a warning: it must sit behind a TLS proxy).
pub async fn run(hub: Hub, config: &Config, shutdown: impl Future<Output = ()> + Send + 'static) -> Result<(), Box<dyn std::error::Error>> {
    let addr: SocketAddr = config.listen;
    match &config.tls {
        None => {
            tracing::warn!(
                listen = %addr,
                "no TLS certificate configured: serving plain HTTP; this must sit behind a TLS proxy (see crates/hub/README.md)"
            );
            let listener = tokio::net::TcpListener::bind(addr).await?;
            tracing::info!(listen = %listener.local_addr()?, "hub listening (http)");
            serve_plain(listener, hub, shutdown).await?;
        }
        Some(Tls { cert, key }) => {
            // One crypto provider for the process: ring (no cmake needed to build it).
            let _ = rustls::crypto::ring::default_provider().install_default();
            let tls = axum_server::tls_rustls::RustlsConfig::from_pem_file(cert, key).await?;
            let handle = axum_server::Handle::new();
            let (stop, stopped) = tokio::sync::watch::channel(false);
            let expiry = spawn_expiry(hub.clone(), stopped);
            let h = handle.clone();
            tokio::spawn(async move {
                shutdown.await;
                h.graceful_shutdown(Some(SHUTDOWN_GRACE));
            });
            tracing::info!(listen = %addr, "hub listening (https)");
            let served = axum_server::bind_rustls(addr, tls).handle(handle).serve(router(hub.clone()).into_make_service()).await;
            let _ = stop.send(true);
            let _ = expiry.await;
            hub.pool().close().await;
            served?;
        }
    }
    Ok(())
}
