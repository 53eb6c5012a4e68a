//! End-to-end: the real app window (WebKitGTK) under Xvfb, driven through WebKitWebDriver.
//!
//! Why this harness is built the way it is (the earlier "driver closed the connection" runs):
//! 1. A killed tauri-driver left WebKitWebDriver running, holding its port; the next run's app
//!    then started against a display that was gone. Here every run gets its own free port and
//!    its own Xvfb display, the driver starts in its own process group (`setsid`), and teardown
//!    kills the whole group and waits until the port is closed.
//! 2. tauri-driver's proxy dropped requests under CPU load. We talk to WebKitWebDriver
//!    directly (capability `webkitgtk:browserOptions.binary`), which is all tauri-driver does
//!    on Linux anyway.
//! 3. A screenshot right after a DOM change can show the old frame, so every step waits for the
//!    new state in the DOM first.
//!
//! Needs the Debian packages `xvfb` and `webkit2gtk-driver` (scripts/setup-debian.sh installs
//! them) and the built UI in `ui/dist`. Screenshots go to `docs/screenshots/`.

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{json, Value};
use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Short enough to wait for in a test, long enough that no step of the scenario (WebDriver
/// calls are not user input) runs into it by accident on a loaded CI machine.
const IDLE_SECONDS: u64 = 15;

struct Group(Child);

impl Drop for Group {
    fn drop(&mut self) {
        // Kill the whole process group: WebKitWebDriver and the app it started.
        unsafe {
            libc::killpg(self.0.id() as i32, libc::SIGKILL);
        }
        let _ = self.0.wait();
    }
}

fn spawn_group(cmd: &mut Command) -> Group {
    unsafe {
        cmd.pre_exec(|| {
            libc::setsid();
            Ok(())
        });
    }
    Group(cmd.stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap_or_else(|e| panic!("cannot start {cmd:?}: {e}")))
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn wait_port(port: u16, open: bool) {
    let until = Instant::now() + Duration::from_secs(20);
    while Instant::now() < until {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() == open {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("port {port} did not become {}", if open { "open" } else { "closed" });
}

fn start_xvfb() -> (Group, String) {
    for n in 90..140 {
        if Path::new(&format!("/tmp/.X11-unix/X{n}")).exists() || Path::new(&format!("/tmp/.X{n}-lock")).exists() {
            continue;
        }
        let display = format!(":{n}");
        let g = spawn_group(Command::new("Xvfb").args([&display, "-screen", "0", "1366x768x24", "-nolisten", "tcp"]));
        let until = Instant::now() + Duration::from_secs(10);
        while Instant::now() < until {
            if Path::new(&format!("/tmp/.X11-unix/X{n}")).exists() {
                return (g, display);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    panic!("no free X display for Xvfb");
}

fn screenshots_dir() -> PathBuf {
    let d: PathBuf = [env!("CARGO_MANIFEST_DIR"), "..", "docs", "screenshots"].iter().collect();
    std::fs::create_dir_all(&d).unwrap();
    d
}

struct Ui {
    c: Client,
}

impl Ui {
    async fn el(&self, testid: &str) -> fantoccini::elements::Element {
        let sel = format!("[data-testid=\"{testid}\"]");
        self.c
            .wait()
            .at_most(Duration::from_secs(20))
            .for_element(Locator::Css(&sel))
            .await
            .unwrap_or_else(|e| panic!("{sel} did not appear: {e}"))
    }

    async fn click(&self, testid: &str) {
        self.el(testid).await.click().await.unwrap_or_else(|e| panic!("click {testid}: {e}"));
    }

    async fn gone(&self, testid: &str) {
        let sel = format!("[data-testid=\"{testid}\"]");
        let until = Instant::now() + Duration::from_secs(20);
        while Instant::now() < until {
            if self.c.find_all(Locator::Css(&sel)).await.unwrap().is_empty() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("{sel} did not go away");
    }

    async fn text_of(&self, testid: &str) -> String {
        self.el(testid).await.text().await.unwrap()
    }

    async fn wait_text(&self, testid: &str, want: &str) -> String {
        let until = Instant::now() + Duration::from_secs(20);
        loop {
            let t = self.text_of(testid).await;
            if t.contains(want) {
                return t;
            }
            assert!(Instant::now() < until, "{testid} never showed '{want}' (last: '{t}')");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn shot(&self, name: &str) {
        // Let the last frame paint after the DOM state we waited for.
        tokio::time::sleep(Duration::from_millis(400)).await;
        let png = self.c.screenshot().await.unwrap();
        std::fs::write(screenshots_dir().join(format!("{name}.png")), png).unwrap();
    }

    /// Calls a Tauri command directly from the page, bypassing the UI (to prove Rust refuses).
    async fn invoke(&self, cmd: &str, input: Option<Value>) -> Result<Value, Value> {
        let script = r#"
            const [cmd, input, done] = arguments;
            window.__TAURI_INTERNALS__.invoke(cmd, input === null ? {} : { input })
              .then(v => done({ ok: v === undefined ? null : v }), e => done({ err: e }));
        "#;
        let r = self.c.execute_async(script, vec![json!(cmd), input.unwrap_or(Value::Null)]).await.unwrap();
        match r.get("err") {
            Some(e) => Err(e.clone()),
            None => Ok(r.get("ok").cloned().unwrap_or(Value::Null)),
        }
    }

    async fn login(&self, user: &str, password: &str) {
        self.click(&format!("account-{user}")).await;
        let pw = self.el("login-password").await;
        pw.send_keys(password).await.unwrap();
        self.click("login-submit").await;
        self.el("current-user").await;
    }

    async fn nav(&self, screen: &str) {
        self.click(&format!("nav-{screen}")).await;
        self.el(&format!("screen-{screen}")).await;
    }
}

/// Free places of (month, care type) as the overview chart shows them.
async fn free_in_chart(ui: &Ui, month: &str, care_type: &str) -> Option<i64> {
    ui.el("free-chart").await;
    let sel = format!("[data-testid=\"free-chart\"] [data-month=\"{month}\"][data-care-type=\"{care_type}\"]");
    let bars = ui.c.find_all(Locator::Css(&sel)).await.unwrap();
    match bars.first() {
        Some(b) => b.attr("data-free").await.unwrap().and_then(|v| v.parse().ok()),
        None => None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kita_day_in_the_real_window() {
    let app = PathBuf::from(env!("CARGO_BIN_EXE_kitakontor-desktop"));
    let dist: PathBuf = [env!("CARGO_MANIFEST_DIR"), "..", "ui", "dist", "index.html"].iter().collect();
    assert!(dist.exists(), "build the UI first (npm run build in ui/)");
    let data = tempfile::tempdir().unwrap();
    let (_xvfb, display) = start_xvfb();
    let port = free_port();
    let driver = spawn_group(
        Command::new("WebKitWebDriver")
            .arg(format!("--port={port}"))
            .env("DISPLAY", &display)
            .env("TAURI_WEBVIEW_AUTOMATION", "true")
            .env("NO_AT_BRIDGE", "1")
            .env("KITAKONTOR_DB", data.path().join("demo.db"))
            .env("KITAKONTOR_DB_KEY", kitakontor_store::key::DbKey::generate().to_hex())
            .env("KITAKONTOR_INBOX", data.path().join("Eingang"))
            .env("KITAKONTOR_IDLE_SECONDS", IDLE_SECONDS.to_string()),
    );
    wait_port(port, true);
    let mut caps = serde_json::Map::new();
    caps.insert("webkitgtk:browserOptions".into(), json!({ "binary": app, "args": ["--demo"] }));
    let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{port}"))
        .await
        .expect("WebDriver session with the app");
    // Run the scenario in its own task so a failed assertion still lets us tear down cleanly.
    let driven = client.clone();
    let inbox = data.path().join("Eingang");
    let result = tokio::spawn(async move { run(&Ui { c: driven }, &inbox).await }).await;
    let _ = client.close().await;
    drop(driver);
    wait_port(port, false);
    if let Err(e) = result {
        std::panic::resume_unwind(e.into_panic());
    }
}

/// An old waiting list as an office would export it: 3 good rows, a bad date, a formula.
const OLD_WAITING_LIST: &str = "Vorname;Nachname;Geburtsdatum;Wohngemeinde;Betreuungsart;Stunden;Wunschtermin;Einrichtungen;Sorgeberechtigte/r Vorname;Sorgeberechtigte/r Nachname\n\
Jördis;Weißbach;03.04.2025;Leipzig;Krippe;9;01.09.2027;Kita Sonnenblume;Anke;Weißbach\n\
Ömer;Yıldız;12.12.2024;Leipzig;Krippe;6;01.10.2027;Kita Sonnenblume|Kita Auenwald;Ayşe;Yıldız\n\
Zoë;Groß;30.06.2023;Leipzig;Kindergarten;4,5;01.08.2027;Kita Sonnenblume;;\n\
Max;Fehler;31.02.2024;Leipzig;Krippe;9;01.09.2027;Kita Sonnenblume;;\n\
\"=HYPERLINK(\"\"http://example.org\"\";\"\"klick\"\")\";Bösewicht;01.01.2024;Leipzig;Krippe;9;01.09.2027;Kita Sonnenblume;;\n";

async fn run(ui: &Ui, inbox: &Path) {
    // Login screen: the PC's accounts as names.
    ui.el("account-erzieherin").await;
    ui.shot("01-anmeldung").await;

    // Educator: record a check-in.
    ui.login("erzieherin", "kitakontor-demo").await;
    assert!(ui.text_of("current-user").await.contains("Jana"), "who is logged in is visible");
    ui.nav("attendance").await;
    ui.el("attendance-summary").await;
    // One script instead of a WebDriver round trip per row; polled, because the rows render
    // after the summary.
    let until = Instant::now() + Duration::from_secs(20);
    let target = loop {
        let found =
            ui.c.execute(
                r#"const rows = [...document.querySelectorAll('[data-testid^="attendance-row-"]')];
                   const free = rows.map(r => r.dataset.testid.slice('attendance-row-'.length))
                     .find(id => /Nicht erfasst/.test(document.querySelector(`[data-testid="attendance-status-${id}"]`).textContent));
                   return free ?? null;"#,
                vec![],
            )
            .await
            .unwrap()
            .as_str()
            .map(str::to_string);
        if found.is_some() || Instant::now() > until {
            break found;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let child = target.expect("a child not yet checked in");
    ui.click(&format!("check-in-{child}")).await;
    ui.wait_text(&format!("attendance-status-{child}"), "Anwesend seit").await;
    ui.shot("06-anwesenheit").await;

    // The educator sees no income data, and Rust refuses the call when made directly.
    let detail = ui.invoke("child_detail", Some(json!({ "child_id": child }))).await.expect("own group's child");
    let guardian = detail["guardians"][0]["id"].as_str().expect("a guardian").to_string();
    let refused =
        ui.invoke("guardian_finance", Some(json!({ "guardian_id": guardian }))).await.expect_err("educators may not read income data");
    assert_eq!(refused["code"], "permission_denied", "{refused}");
    ui.nav("children").await;
    ui.click(&format!("child-{child}")).await;
    ui.wait_text("child-detail", detail["last_name"].as_str().unwrap()).await;
    // The detail is on screen, with its guardians, and offers health data but no income data.
    ui.el("show-health").await;
    let fin = ui.c.find_all(Locator::Css("[data-testid^=\"finance-\"]")).await.unwrap();
    assert!(fin.is_empty(), "no income/bank button for educators");
    let name = detail["last_name"].as_str().unwrap().to_string();

    // Idle: after IDLE_SECONDS without input the session locks and child data leaves the page.
    tokio::time::sleep(Duration::from_secs(IDLE_SECONDS + 2)).await;
    ui.el("lock-screen").await;
    let source = ui.c.source().await.unwrap();
    assert!(!source.contains(&name), "locked screen still contains child data ({name})");
    let refused = ui.invoke("attendance_today", None).await.expect_err("locked in Rust too");
    assert_eq!(refused["code"], "locked");
    ui.shot("09-gesperrt").await;
    ui.el("unlock-pin").await.send_keys("1234").await.unwrap();
    ui.click("unlock-submit").await;
    ui.gone("lock-screen").await;
    ui.el("current-user").await;

    // Switch to the director: reserve a place for a waiting child; the overview changes.
    ui.click("switch-user").await;
    ui.el("account-leitung").await;
    let refused = ui.invoke("attendance_today", None).await.expect_err("the previous session is closed");
    assert_eq!(refused["code"], "not_logged_in");
    ui.login("leitung", "kitakontor-demo").await;
    ui.nav("overview").await;
    ui.shot("02-uebersicht").await;
    let waiting = ui.invoke("waiting_list", None).await.unwrap();
    let entry = waiting.as_array().unwrap().iter().find(|e| e["state"] == "open").expect("an open application").clone();
    let month = format!("{}-01", &entry["wanted_start"].as_str().unwrap()[..7]);
    let care = entry["care_type"].as_str().unwrap().to_string();
    // The wanted start lies within the chart's 12 months (demo: 1–11 months ahead).
    let until = Instant::now() + Duration::from_secs(20);
    let before = loop {
        if let Some(v) = free_in_chart(ui, &month, &care).await {
            break v;
        }
        assert!(Instant::now() < until, "no bar for {month}/{care} in the chart");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    ui.nav("applications").await;
    ui.shot("03-anmeldungen").await;
    let app_id = entry["application_id"].as_str().unwrap();
    ui.click(&format!("reserve-{app_id}")).await;
    ui.wait_text(&format!("waiting-row-{app_id}"), "Reserviert").await;
    ui.nav("overview").await;
    let until = Instant::now() + Duration::from_secs(10);
    loop {
        let now = free_in_chart(ui, &month, &care).await;
        if now == Some(before - 1) {
            break;
        }
        assert!(Instant::now() < until, "free places in {month}/{care} stayed {now:?} (was {before})");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    for (screen, file) in
        [("children", "04-kinder"), ("contracts", "05-vertraege"), ("groups", "07-gruppen"), ("settings", "08-einstellungen")]
    {
        ui.nav(screen).await;
        ui.shot(file).await;
    }

    // A file dropped into the watched inbox folder: the window notices, previews, imports.
    std::fs::write(inbox.join("alte-warteliste.csv"), OLD_WAITING_LIST).unwrap();
    ui.click("inbox-open").await;
    ui.el("screen-import").await;
    ui.click("import-file-alte-warteliste.csv").await;
    let preview = ui.wait_text("import-preview", "3 Zeilen werden übernommen").await;
    assert!(preview.contains("2 Zeilen werden abgelehnt"), "{preview}");
    let rejected = ui.text_of("import-rejected").await;
    assert!(rejected.contains("31.02.2024") && rejected.contains("Formel"), "{rejected}");
    ui.shot("10-import-vorschau").await;
    ui.click("import-commit").await;
    ui.wait_text("import-result", "3 Anmeldungen importiert").await;
    let waiting = ui.invoke("waiting_list", None).await.unwrap();
    let names: Vec<&str> = waiting.as_array().unwrap().iter().filter_map(|e| e["child_name"].as_str()).collect();
    assert!(names.contains(&"Jördis Weißbach") && names.contains(&"Zoë Groß"), "imported children are on the waiting list");
    assert!(!names.iter().any(|n| n.contains("Bösewicht") || n.contains("HYPERLINK")), "the formula row was not imported");
    assert!(inbox.join("importiert").join("alte-warteliste.csv").exists(), "the file is kept, out of the inbox");
}
