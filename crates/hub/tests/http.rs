//! The HTTP server on an ephemeral port: health, headers, auth, push/pull/snapshot, errors.

mod common;

use common::*;
use kitakontor_core::command::SCHEMA_VERSION;
use kitakontor_core::protocol::*;
use reqwest::StatusCode;

impl Server {
    fn sync(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.client
            .request(method, format!("{}{path}", self.base))
            .header(HEADER_PROTOCOL, PROTOCOL_VERSION.to_string())
            .header(HEADER_SCHEMA, SCHEMA_VERSION.to_string())
    }

    async fn error(resp: reqwest::Response) -> (StatusCode, ErrorBody) {
        let status = resp.status();
        (status, resp.json::<ErrorBody>().await.expect("an ErrorBody"))
    }
}

#[tokio::test]
async fn the_server_speaks_the_protocol() {
    let e = env().await;
    city(&e.hub).await;
    let s = serve(&e).await;

    // Health pings the database.
    let health = s.client.get(format!("{}/health", s.base)).send().await.unwrap();
    assert_eq!(health.status(), StatusCode::OK);
    assert!(health.headers().contains_key("x-request-id"));
    assert_eq!(health.json::<serde_json::Value>().await.unwrap()["status"], "ok");

    // Enrolment over HTTP.
    let code = e.hub.create_enrolment_code(FAC_A, chrono::Duration::hours(1)).await.unwrap();
    let no_headers = s
        .client
        .post(format!("{}/enrol", s.base))
        .json(&EnrolRequest { code: code.clone(), device_name: "PC".into() })
        .send()
        .await
        .unwrap();
    let (status, body) = Server::error(no_headers).await;
    assert_eq!((status.as_u16(), body.code.as_str()), (426, "upgrade_required"));
    let reply: EnrolReply = s
        .sync(reqwest::Method::POST, "/enrol")
        .json(&EnrolRequest { code, device_name: "Büro-PC".into() })
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(reply.facility_id, FAC_A);
    let token = reply.tokens.access_token.clone();

    // Without a token: 401; with an unknown protocol: 426 (before auth).
    let (status, body) = Server::error(s.sync(reqwest::Method::GET, "/sync/pull").send().await.unwrap()).await;
    assert_eq!((status.as_u16(), body.code.as_str()), (401, "unauthorized"));
    let wrong = s
        .client
        .get(format!("{}/sync/pull", s.base))
        .header(HEADER_PROTOCOL, (PROTOCOL_VERSION + 1).to_string())
        .header(HEADER_SCHEMA, SCHEMA_VERSION.to_string())
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    let (status, body) = Server::error(wrong).await;
    assert_eq!((status.as_u16(), body.code.as_str()), (426, "upgrade_required"));
    assert!(body.message.contains("Protokollversion"), "{}", body.message);
    let wrong_schema = s
        .client
        .get(format!("{}/sync/pull", s.base))
        .header(HEADER_PROTOCOL, PROTOCOL_VERSION.to_string())
        .header(HEADER_SCHEMA, "99")
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(wrong_schema.status().as_u16(), 426);

    // Push and pull.
    let mut d = Device {
        auth: kitakontor_hub::DeviceAuth { device_id: reply.device_id, facility_id: reply.facility_id, provider_id: reply.provider_id },
        tokens: reply.tokens.clone(),
        next_seq: 1,
        versions: Default::default(),
        user: kitakontor_core::ids::UserId(uuid::Uuid::now_v7()),
    };
    let child = new_child(FAC_A, "Anna", "Netz");
    let id = child.child_id;
    let pc = d.command(child, &[r("child", id)]);
    let req = d.request(vec![pc]);
    let resp = s.sync(reqwest::Method::POST, "/sync/push").bearer_auth(&token).json(&req).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let pushed: PushReply = resp.json().await.unwrap();
    assert_eq!(pushed.acked_seq, 1);
    assert!(pushed.results[0].outcome.is_applied());

    let pulled: PullReply =
        s.sync(reqwest::Method::GET, "/sync/pull?cursor=&limit=2").bearer_auth(&token).send().await.unwrap().json().await.unwrap();
    assert_eq!(pulled.entries.len(), 2);
    assert!(pulled.more);
    let rest: PullReply = s
        .sync(reqwest::Method::GET, &format!("/sync/pull?cursor={}&limit=100", pulled.next_cursor.0))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(rest.entries.len(), 2, "the third facility and the child");
    assert_eq!(rest.acked_seq, 1);

    // The snapshot streams NDJSON: a header line, then the entries.
    let snap = s.sync(reqwest::Method::GET, "/sync/snapshot").bearer_auth(&token).send().await.unwrap();
    assert_eq!(snap.headers()["content-type"], "application/x-ndjson");
    let text = snap.text().await.unwrap();
    let mut lines = text.lines();
    let header: SnapshotHeader = serde_json::from_str(lines.next().unwrap()).unwrap();
    let entries: Vec<LogEntry> = lines.map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(header.entries, 4);
    assert_eq!(header.cursor, rest.next_cursor);
    let mut all = pulled.entries.clone();
    all.extend(rest.entries.clone());
    assert_eq!(entries, all);

    // A gap: 409 with the expected sequence.
    d.next_seq = 5;
    let pc = d.command(new_child(FAC_A, "Lücke", "Netz"), &[]);
    let resp = s.sync(reqwest::Method::POST, "/sync/push").bearer_auth(&token).json(&d.request(vec![pc])).send().await.unwrap();
    let (status, body) = Server::error(resp).await;
    assert_eq!((status.as_u16(), body.code.as_str(), body.expected_seq), (409, "gap", Some(2)));

    // Malformed bodies and parameters are ErrorBodies too.
    let resp = s
        .sync(reqwest::Method::POST, "/sync/push")
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body("{\"device_id\":1}")
        .send()
        .await
        .unwrap();
    let (status, body) = Server::error(resp).await;
    assert_eq!((status.as_u16(), body.code.as_str()), (400, "bad_request"));
    let resp = s.sync(reqwest::Method::GET, "/sync/pull?cursor=kaputt").bearer_auth(&token).send().await.unwrap();
    assert_eq!(Server::error(resp).await.0.as_u16(), 400);

    // Free places for the city, no device needed.
    let free: Vec<FreePlaces> =
        s.client.get(format!("{}/city/free-places?on=2027-08-01", s.base)).send().await.unwrap().json().await.unwrap();
    assert_eq!(free.len(), 6);
    assert_eq!(s.client.get(format!("{}/city/free-places?on=morgen", s.base)).send().await.unwrap().status().as_u16(), 400);

    // Refresh, then revocation: 403.
    let fresh: Tokens = s
        .sync(reqwest::Method::POST, "/token/refresh")
        .json(&RefreshRequest { device_id: reply.device_id, refresh_token: reply.tokens.refresh_token.clone() })
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    e.hub.revoke_device(reply.device_id).await.unwrap();
    let (status, body) =
        Server::error(s.sync(reqwest::Method::GET, "/sync/pull").bearer_auth(&fresh.access_token).send().await.unwrap()).await;
    assert_eq!((status.as_u16(), body.code.as_str()), (403, "revoked"));

    // Graceful shutdown: the server returns and closes the pool.
    s.stop().await;
    assert!(e.hub.pool().is_closed());
}

/// TLS with rustls: a self-signed certificate made with `openssl`, the server from a config
/// with `tls_cert`/`tls_key`, a rustls client that trusts exactly that certificate.
#[tokio::test]
async fn the_server_serves_tls_when_given_a_certificate() {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, ServerName};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let dir = std::env::temp_dir().join(format!("kitakontor-hub-tls-{}", uuid::Uuid::now_v7()));
    std::fs::create_dir_all(&dir).unwrap();
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    let made = std::process::Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=localhost",
        ])
        .args(["-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost", "-addext", "basicConstraints=critical,CA:FALSE"])
        .args(["-addext", "extendedKeyUsage=serverAuth", "-keyout"])
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output();
    if !made.as_ref().is_ok_and(|o| o.status.success()) {
        eprintln!("skipped: openssl could not make a test certificate ({made:?})");
        return;
    }

    let e = env().await;
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let config = kitakontor_hub::config::Config {
        database_url: None,
        listen: format!("127.0.0.1:{port}").parse().unwrap(),
        tls: Some(kitakontor_hub::config::Tls { cert: cert.clone(), key }),
        log: kitakontor_hub::config::LogFormat::Text,
    };
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let hub = e.hub.clone();
    let server = tokio::spawn(async move {
        kitakontor_hub::server::run(hub, &config, async move {
            let _ = stopped.await;
        })
        .await
        .map_err(|e| e.to_string())
    });

    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut roots = rustls::RootCertStore::empty();
    for c in CertificateDer::pem_file_iter(&cert).unwrap() {
        roots.add(c.unwrap()).unwrap();
    }
    let client = rustls::ClientConfig::builder().with_root_certificates(roots).with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(std::sync::Arc::new(client));
    let mut tcp = None;
    for _ in 0..100 {
        match tokio::net::TcpStream::connect(("127.0.0.1", port)).await {
            Ok(s) => {
                tcp = Some(s);
                break;
            }
            Err(_) => tokio::time::sleep(std::time::Duration::from_millis(50)).await,
        }
    }
    let mut tls = connector.connect(ServerName::try_from("127.0.0.1").unwrap(), tcp.expect("the TLS server listens")).await.unwrap();
    tls.write_all(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n").await.unwrap();
    let mut answer = Vec::new();
    tls.read_to_end(&mut answer).await.unwrap();
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains("\"status\":\"ok\""), "{answer}");

    stop.send(()).unwrap();
    server.await.unwrap().unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
}
