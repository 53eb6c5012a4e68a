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

/// A display is taken while the X server named in its lock file runs. A SIGKILLed Xvfb (our
/// teardown kills the group) leaves its lock and socket behind; those are cleared and reused,
/// otherwise the 50 displays below run out after 50 runs.
fn display_taken(n: u32) -> bool {
    let (lock, socket) = (format!("/tmp/.X{n}-lock"), format!("/tmp/.X11-unix/X{n}"));
    let Ok(text) = std::fs::read_to_string(&lock) else { return Path::new(&socket).exists() };
    let alive = match text.trim().parse::<i32>() {
        // SAFETY: signal 0 only checks that the process exists.
        Ok(pid) if pid > 0 => {
            let found = unsafe { libc::kill(pid, 0) } == 0;
            found || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
        }
        _ => false,
    };
    if !alive {
        let _ = std::fs::remove_file(&lock);
        let _ = std::fs::remove_file(&socket);
    }
    alive
}

fn start_xvfb() -> (Group, String) {
    for n in 90..140 {
        if display_taken(n) {
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

    /// Waits until `script` returns something other than null, and returns that.
    async fn poll(&self, what: &str, script: &str) -> Value {
        let until = Instant::now() + Duration::from_secs(60);
        loop {
            let v = self.c.execute(script, vec![]).await.unwrap();
            if !v.is_null() {
                return v;
            }
            assert!(Instant::now() < until, "{what} did not happen");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    async fn attr(&self, testid: &str, name: &str) -> Option<String> {
        self.el(testid).await.attr(name).await.unwrap()
    }

    /// Waits for the open PDF preview to draw its first page; returns (width, height, dark
    /// pixels sampled) of that canvas. A failed preview fails the test with its message.
    async fn pdf_drawn(&self) -> (u64, u64, u64) {
        self.el("pdf-preview").await;
        let v = self
            .poll(
                "the PDF preview's first page",
                r#"const box = document.querySelector('[data-testid="pdf-pages-box"]');
                   if (!box) return null;
                   if (box.dataset.state === 'failed') return { failed: document.querySelector('[data-testid="pdf-preview"] [data-testid="error"]')?.textContent ?? '?' };
                   const c = document.querySelector('[data-testid="pdf-page-1"]');
                   if (!c || c.dataset.rendered !== 'true') return null;
                   const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
                   let dark = 0;
                   for (let i = 0; i < d.length; i += 4 * 31) if (d[i] < 100 && d[i + 1] < 100 && d[i + 2] < 100 && d[i + 3] > 200) dark++;
                   return { w: c.width, h: c.height, dark };"#,
            )
            .await;
        assert!(v.get("failed").is_none(), "the PDF preview failed: {v}");
        (v["w"].as_u64().unwrap(), v["h"].as_u64().unwrap(), v["dark"].as_u64().unwrap())
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
            .env("KITAKONTOR_DOCUMENTS", data.path().join("Dokumente"))
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
    let documents = data.path().join("Dokumente");
    let result = tokio::spawn(async move {
        let ui = Ui { c: driven };
        run(&ui, &inbox).await;
        billing(&ui, &documents).await;
        clarification(&ui).await;
        city(&ui).await;
    })
    .await;
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

/// Every file under `dir` (recursively).
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                todo.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out
}

/// Fees and billing: the office runs the month's billing and opens a child's fee notice; the
/// director prints a contract. The documents go to `documents` (KITAKONTOR_DOCUMENTS).
async fn billing(ui: &Ui, documents: &Path) {
    ui.click("switch-user").await;
    ui.login("verwaltung", "kitakontor-demo").await;
    ui.nav("billing").await;
    // The fee statutes are listed (the demo imports Leipzig's).
    ui.wait_text("rule-sets", "Leipzig").await;
    ui.click("billing-start").await;
    ui.el("billing-progress").await;
    // Poll: the run renders a PDF per family. Clicking the heading is input, so the idle lock
    // (short in this test) does not hit the office while it waits for the run.
    let until = Instant::now() + Duration::from_secs(120);
    let mut last_input = Instant::now();
    while ui.c.find_all(Locator::Css("[data-testid=\"billing-families\"]")).await.unwrap().is_empty() {
        let errors = ui.c.find_all(Locator::Css("[data-testid=\"screen-billing\"] [data-testid=\"error\"]")).await.unwrap();
        if let Some(e) = errors.first() {
            panic!("billing failed: {}", e.text().await.unwrap());
        }
        assert!(Instant::now() < until, "the billing run did not finish");
        if last_input.elapsed() > Duration::from_secs(5) {
            ui.click("billing-title").await;
            last_input = Instant::now();
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let families: u64 = ui.attr("billing-families", "data-value").await.and_then(|v| v.parse().ok()).expect("a family count");
    assert!(families > 0, "the run billed families");
    let progress = ui.attr("billing-progress", "data-phase").await;
    assert_eq!(progress.as_deref(), Some("done"));
    let total = ui.text_of("billing-total").await;
    assert!(total.contains('€') && !total.starts_with("0,00"), "month total: {total}");
    let sepa_name = ui.text_of("billing-sepa-file").await;
    assert_eq!(sepa_name, "SEPA-Lastschrift_pain.008.001.08.xml");
    let folder = ui.text_of("billing-folder").await;
    assert!(Path::new(&folder).starts_with(documents), "run folder {folder} is under {}", documents.display());
    let sepa = files_under(documents)
        .into_iter()
        .find(|p| p.file_name().is_some_and(|n| n == sepa_name.as_str()))
        .expect("the SEPA file was written to the documents folder");
    let xml = std::fs::read_to_string(&sepa).unwrap();
    assert!(xml.contains("urn:iso:std:iso:20022:tech:xsd:pain.008.001.08"), "SEPA file of the chosen version");
    assert!(Path::new(&folder).join("Kassenexport.csv").exists(), "the cashier export is there too");
    // The run is listed among the earlier runs.
    ui.el("billing-runs").await;
    ui.shot("11-abrechnung").await;

    // The youth-office claim for the year so far: a PDF and a CSV in the documents folder.
    ui.click("claim-submit").await;
    ui.el("claim-files").await;
    let listed =
        ui.c.execute(r#"return [...document.querySelectorAll('[data-testid="claim-files"] code')].map(c => c.textContent);"#, vec![])
            .await
            .unwrap();
    let claim: Vec<&str> = listed.as_array().unwrap().iter().filter_map(Value::as_str).collect();
    assert_eq!(claim.len(), 2, "two claim files: {listed}");
    assert!(claim[0].ends_with(".pdf") && claim[1].ends_with(".csv"), "{claim:?}");
    assert!(claim.iter().all(|p| Path::new(p).starts_with(documents) && Path::new(p).is_file()), "{claim:?}");

    // A child under contract (started before today, not terminated): its fee and fee notice.
    let today = ui.c.execute("return new Date().toISOString().slice(0, 10);", vec![]).await.unwrap();
    let today = today.as_str().unwrap();
    let contracts = ui.invoke("contracts", None).await.unwrap();
    let row = contracts
        .as_array()
        .unwrap()
        .iter()
        .find(|r| {
            let c = &r["contract"];
            c["start_date"].as_str().is_some_and(|d| d < today) && c["versions"].as_array().unwrap().iter().all(|v| v["end_date"].is_null())
        })
        .expect("a running contract")
        .clone();
    let child = row["contract"]["child_id"].as_str().unwrap().to_string();
    let last_name = row["child_name"].as_str().unwrap().rsplit(' ').next().unwrap().to_string();
    ui.nav("children").await;
    ui.el("child-search").await.send_keys(&last_name).await.unwrap();
    ui.click(&format!("child-{child}")).await;
    ui.el("child-fee").await;
    let fee_total = ui.wait_text("fee-total", "€").await;
    assert!(!fee_total.starts_with("0,00") || ui.text_of("fee-lines").await.contains("Beitragsfreiheit"), "fee {fee_total}");
    ui.el("fee-rule-set").await;
    ui.click("fee-notice").await;
    let (w, h, dark) = ui.pdf_drawn().await;
    assert!(w > 300 && h > w, "an A4 page, portrait: {w}×{h}");
    assert!(dark > 50, "the page has text on it ({dark} dark samples)");
    let pages = ui.text_of("pdf-pages").await;
    assert!(pages.contains("Seite"), "page count shown: {pages}");
    let path = ui.text_of("pdf-path").await;
    assert!(Path::new(&path).starts_with(documents) && Path::new(&path).exists(), "the notice was saved: {path}");
    ui.shot("12-kostenbescheid").await;
    ui.click("pdf-close").await;
    ui.gone("pdf-preview").await;

    // Bank data on request: the guardian's SEPA mandates with their status.
    let detail = ui.invoke("child_detail", Some(json!({ "child_id": child }))).await.unwrap();
    let guardian = detail["guardians"][0]["id"].as_str().expect("a guardian").to_string();
    ui.click(&format!("finance-{guardian}")).await;
    ui.el(&format!("mandates-{guardian}")).await;
    ui.el("mandate-form").await;
    ui.shot("14-mandate").await;

    // The director prints a contract; Escape closes the preview.
    ui.click("switch-user").await;
    ui.login("leitung", "kitakontor-demo").await;
    ui.nav("contracts").await;
    let contract = row["contract"]["id"].as_str().unwrap();
    ui.click(&format!("contract-print-{contract}")).await;
    let (w, h, dark) = ui.pdf_drawn().await;
    assert!(w > 300 && h > w && dark > 50, "contract page drawn: {w}×{h}, {dark}");
    let pages = ui.text_of("pdf-pages").await;
    assert!(pages.contains("Seiten"), "a contract has several pages: {pages}");
    ui.shot("13-vertrag").await;
    ui.el("pdf-close").await.send_keys("\u{E00C}").await.unwrap();
    ui.gone("pdf-preview").await;
    assert!(files_under(documents).iter().any(|p| p.parent().is_some_and(|d| d.ends_with("Verträge"))), "the contract was saved");
}

/// Sync on a PC that is not enrolled (the demo): the status bar says so, the clarification
/// inbox shows the demo's two hub answers, one is dismissed and the count drops; the settings
/// offer the connection to the hub. The director is logged in (end of `billing`).
async fn clarification(ui: &Ui) {
    ui.wait_text("sync-state", "Offline-Betrieb (nicht mit dem Hub verbunden)").await;
    assert!(ui.c.find_all(Locator::Css("[data-testid=\"sync-now\"]")).await.unwrap().is_empty(), "nothing to sync offline");
    assert_eq!(ui.attr("sync-inbox", "data-count").await.as_deref(), Some("2"));
    assert_eq!(ui.text_of("nav-clarification-count").await.trim_start().chars().next(), Some('2'));
    ui.click("sync-inbox").await;
    ui.el("screen-clarification").await;
    let entries = ui
        .poll(
            "both demo entries",
            r#"const e = [...document.querySelectorAll('[data-testid^="inbox-entry-"]')];
               return e.length >= 2 ? e.map(x => ({ id: x.dataset.testid.slice('inbox-entry-'.length), name: x.dataset.name, status: x.dataset.status })) : null;"#,
        )
        .await;
    let entries = entries.as_array().unwrap();
    assert_eq!(entries.len(), 2, "{entries:?}");
    let find = |name: &str| {
        entries.iter().find(|e| e["name"] == name).unwrap_or_else(|| panic!("{name} in {entries:?}"))["id"].as_str().unwrap().to_string()
    };
    let (conflict, rejected) = (find("UpdateChild"), find("ReservePlace"));
    let table = ui.text_of(&format!("inbox-fields-{conflict}")).await;
    assert!(table.contains("Stand im Hub") && table.contains("Ihre Eingabe") && table.contains("Nachname"), "{table}");
    assert!(table.contains("-Brandt"), "our value: {table}");
    let card = ui.text_of(&format!("inbox-entry-{conflict}")).await;
    assert!(card.contains("Stammdaten ändern") && card.contains("Sabine Sonnenschein"), "{card}");
    let alternatives = ui.text_of(&format!("inbox-alternatives-{rejected}")).await;
    assert!(alternatives.contains("Kita Auenwald"), "{alternatives}");
    assert!(ui.text_of(&format!("inbox-message-{rejected}")).await.contains("Kein freier"), "the hub's reason");
    ui.shot("15-klaerungsbedarf").await;

    // Dismiss the refused reservation: a confirmation first, then the entry and a count go.
    ui.click(&format!("inbox-dismiss-{rejected}")).await;
    ui.el("inbox-confirm").await;
    ui.click("inbox-confirm-yes").await;
    ui.gone(&format!("inbox-entry-{rejected}")).await;
    ui.wait_text("sync-inbox", "Klärungsbedarf: 1").await;
    ui.el(&format!("inbox-entry-{conflict}")).await;
    let status = ui.invoke("sync_status", None).await.unwrap();
    assert_eq!(status["inbox_open"], 1, "{status}");
    assert!(status["enrolment"].is_null());

    // The hub connection in the settings (directors manage accounts). Rust checks the address.
    ui.nav("settings").await;
    ui.el("hub-form").await;
    let refused = ui
        .invoke("enrol", Some(json!({ "hub_url": "http://hub.leipzig.de", "code": "ABCDE", "device_name": "Büro-PC 1" })))
        .await
        .expect_err("plain http to another host");
    assert_eq!(refused["code"], "invalid_input", "{refused}");
    ui.el("hub-url").await.send_keys("https://hub.leipzig.de").await.unwrap();
    ui.el("hub-code").await.send_keys("K7M2Q-9XW4T-HB3NR-5VDJC").await.unwrap();
    ui.el("hub-device-name").await.send_keys("Büro-PC 1").await.unwrap();
    ui.el("hub-connection").await;
    ui.shot("16-hub-verbindung").await;
}

/// "Stadtabgleich" on the demo (offline, from the cache the demo seeds): the director sees the
/// proposals and the registry results, decides one after the confirmation step and it shows
/// as "wird gesendet"; Rust refuses a second decision. The director is logged in (end of
/// `clarification`).
async fn city(ui: &Ui) {
    ui.nav("city").await;
    ui.wait_text("city-stand", "Stand: ").await;
    let open = ui
        .poll(
            "an open proposal",
            r#"const r = [...document.querySelectorAll('[data-testid^="city-proposal-"]')].find(x => x.dataset.status === 'open');
               return r ? r.dataset.testid.slice('city-proposal-'.length) : null;"#,
        )
        .await;
    let open = open.as_str().unwrap().to_string();
    let row = ui.text_of(&format!("city-proposal-{open}")).await;
    assert!(row.contains("geb.") && row.contains("Kita ") && row.contains("gleiches Geburtsdatum") && row.contains("offen"), "{row}");
    let table = ui.text_of("city-proposals").await;
    assert!(table.contains("Kind bei uns") && table.contains("Kind in anderer Einrichtung") && table.contains("bestätigt"), "{table}");
    let registry = ui.text_of("city-registry").await;
    assert!(registry.contains("Nicht gefunden") && registry.contains("Gefunden") && registry.contains("geprüft am"), "{registry}");
    assert!(ui.text_of("city-extract").await.contains("Melderegister-Auszug"));
    assert!(ui.text_of("screen-city").await.contains("Ticket des Jugendamts"), "what 'nicht gefunden' means for the office");

    // "Dasselbe Kind": the dialog explains that nothing is merged; then the pill says it waits.
    ui.click(&format!("city-same-{open}")).await;
    let dialog = ui.text_of("city-confirm").await;
    assert!(dialog.contains("Dasselbe Kind?") && dialog.contains("nichts automatisch zusammengeführt"), "{dialog}");
    ui.click("city-confirm-yes").await;
    ui.gone("city-confirm").await;
    ui.wait_text(&format!("city-status-{open}"), "wird gesendet").await;
    ui.wait_text(&format!("city-note-{open}"), "Sabine Sonnenschein").await;
    ui.gone(&format!("city-same-{open}")).await;
    let again =
        ui.invoke("decide_duplicate", Some(json!({ "proposal_id": open, "decision": "rejected" }))).await.expect_err("decided already");
    assert_eq!(again["code"], "conflict", "{again}");
    // From the "Stand" line on, so the picture holds the proposals and the first registry rows.
    let script = r#"const m = document.getElementById('main');
                    const s = document.querySelector('[data-testid="city-stand"]');
                    m.scrollTop += s.getBoundingClientRect().top - m.getBoundingClientRect().top - 8;"#;
    ui.c.execute(script, vec![]).await.unwrap();
    ui.shot("17-stadtabgleich").await;
}
