//! Printing results: German tables for people, JSON (`--json`) for scripts.

use kitakontor_core::contract::Contract;
use kitakontor_core::occupancy::Forecast;
use kitakontor_store::audit::Report;
use kitakontor_store::auth::AccountSummary;
use kitakontor_store::demo::DemoSummary;
use kitakontor_store::queries::*;
use kitakontor_store::Receipt;
use serde::Serialize;

pub struct Out {
    pub json: bool,
}

/// 123456 cents → "1.234,56 €".
pub fn euro(cents: i64) -> String {
    kitakontor_core::de::euro(cents)
}

/// 4.5 h → "4,5"
fn hours_de(h: f64) -> String {
    format!("{h}").replace('.', ",")
}

/// A timestamp as the office's wall-clock time (the PC's time zone).
fn clock(t: chrono::DateTime<chrono::Utc>) -> String {
    t.with_timezone(&chrono::Local).format("%H:%M").to_string()
}

fn de(d: chrono::NaiveDate) -> String {
    d.format("%d.%m.%Y").to_string()
}

impl Out {
    pub fn billing(&self, s: &kitakontor_store::billing::BillingSummary) {
        if self.json {
            self.value(s, "");
            return;
        }
        println!("Abrechnung {} · {} ({} ms)", s.month.format("%m/%Y"), s.facility, s.millis);
        println!(
            "  {} Familien · {} neue Rechnungen · {} Ersatzrechnungen · {} Gutschriften · {} unverändert",
            s.families, s.new_invoices, s.replacements, s.credit_notes, s.unchanged
        );
        println!(
            "  Monatssumme {} · Lastschrift {} ({} Posten) am {} · {} per Überweisung",
            euro(s.month_total_cents),
            euro(s.debit_cents),
            s.debit_count,
            s.collection_date.format("%d.%m.%Y"),
            s.transfer_count
        );
        println!("  Erstattungsfähige Ermäßigungen (Jugendamt): {}", euro(s.claimable_cents));
        if !s.problems.is_empty() {
            println!("  Zu klären ({}):", s.problems.len());
            for p in &s.problems {
                println!("    - {}: {}", p.family, p.message);
            }
        }
        println!("  Dateien in {}:", s.out_dir);
        let pdfs = s.files.iter().filter(|f| f.contains("/Rechnungen/")).count();
        if pdfs > 0 {
            println!("    Rechnungen/ ({pdfs} PDF)");
        }
        for f in s.files.iter().filter(|f| !f.contains("/Rechnungen/")) {
            println!("    {}", std::path::Path::new(f).file_name().map(|n| n.to_string_lossy()).unwrap_or_default());
        }
    }

    pub fn line(&self, s: &str) {
        if self.json {
            println!("{}", serde_json::json!({ "message": s }));
        } else {
            println!("{s}");
        }
    }

    pub fn value<T: Serialize>(&self, v: &T, human: &str) {
        if self.json {
            println!("{}", serde_json::to_string_pretty(v).expect("json"));
        } else {
            println!("{human}");
        }
    }

    pub fn receipt(&self, r: &Receipt, msg: &str) {
        if self.json {
            println!("{}", serde_json::json!({ "message": msg, "command_id": r.command_id, "client_seq": r.client_seq }));
        } else {
            println!("{msg} (Befehl #{}, {})", r.client_seq, r.command_id);
        }
    }

    /// A receipt for a command that created a record; JSON carries the new id for scripts.
    pub fn created(&self, r: &Receipt, msg: &str, id: impl std::fmt::Display) {
        if self.json {
            println!(
                "{}",
                serde_json::json!({ "message": msg, "id": id.to_string(), "command_id": r.command_id, "client_seq": r.client_seq })
            );
        } else {
            println!("{msg}: {id} (Befehl #{}, {})", r.client_seq, r.command_id);
        }
    }

    pub fn demo(&self, s: &DemoSummary, path: String, took: std::time::Duration) {
        if self.json {
            return println!("{}", serde_json::to_string_pretty(s).expect("json"));
        }
        println!("Demo-Datenbank angelegt: {path} ({} Befehle in {:.1} s)", s.commands, took.as_secs_f64());
        for (id, name) in &s.facilities {
            println!("  Einrichtung {name}: {id}");
        }
        println!(
            "  {} Kinder, {} Verträge, {} offene Anmeldungen, {} Anwesenheitseinträge",
            s.children, s.contracts, s.open_applications, s.attendance_events
        );
        println!("  Konten (Passwort für alle: {}, PIN {}):", kitakontor_store::demo::DEMO_PASSWORD, kitakontor_store::demo::DEMO_PIN);
        for (u, r) in &s.accounts {
            println!("    {u:<12} {}", r.label_de());
        }
    }

    pub fn accounts(&self, a: &[AccountSummary]) {
        if self.json {
            return println!("{}", serde_json::to_string_pretty(a).expect("json"));
        }
        for x in a {
            println!(
                "{:<12} {:<24} {:<26} {}{}",
                x.username,
                x.display_name,
                x.role.label_de(),
                if x.has_pin { "PIN " } else { "" },
                if x.active { "" } else { "(deaktiviert)" }
            );
        }
    }

    pub fn children(&self, c: &[ChildSummary]) {
        if self.json {
            return println!("{}", serde_json::to_string_pretty(c).expect("json"));
        }
        if c.is_empty() {
            println!("Keine Kinder gefunden.");
        }
        for x in c {
            println!(
                "{}  {:<28} {}  {}",
                x.id,
                format!("{}, {}", x.last_name, x.first_name),
                de(x.birth_date),
                x.group.as_deref().unwrap_or("–")
            );
        }
    }

    pub fn child(&self, d: &ChildDetail) {
        if self.json {
            return println!("{}", serde_json::to_string_pretty(d).expect("json"));
        }
        let c = &d.child;
        println!("{} {} (geb. {})", c.first_name, c.last_name, de(c.birth_date));
        println!("  Anschrift: {}, {} {} – Wohngemeinde {}", c.address.street, c.address.postal_code, c.address.city, c.municipality);
        for g in &d.guardians {
            println!(
                "  Sorgeberechtigt: {} {} {} {} {}{}",
                g.first_name,
                g.last_name,
                g.email,
                g.phone,
                g.id,
                if g.single_parent { " (alleinerziehend)" } else { "" }
            );
        }
        for k in &d.contracts {
            let v = k.current();
            println!(
                "  Vertrag {} {} ab {} {} h{}",
                k.id,
                k.care_type.label_de(),
                de(k.start_date),
                hours_de(v.care_hours.hours()),
                k.end_date().map(|e| format!(" bis {}", de(e))).unwrap_or_default()
            );
        }
        for t in &d.tickets {
            println!("  Ticket {} ({}): {}", t.id, t.home_municipality, t.state.label_de());
        }
    }

    pub fn waiting_list(&self, w: &[WaitingEntry]) {
        if self.json {
            return println!("{}", serde_json::to_string_pretty(w).expect("json"));
        }
        println!(
            "{:>3}  {:<36}  {:<26} {:<10} {:<12} {:>5}  {:<5} {:<22}",
            "Nr", "Anmeldung", "Kind", "Beginn", "Art", "Std", "Wahl", "Status"
        );
        for e in w {
            let mut status = e.state.label_de().to_string();
            if let Some(d) = e.hold_days_left {
                status = format!("Reserviert, noch {d} Tage");
            }
            if e.out_of_town {
                status.push_str(&format!(" · Ticket: {}", e.ticket.map(|t| t.label_de()).unwrap_or("fehlt")));
            }
            println!(
                "{:>3}  {}  {:<26} {:<10} {:<12} {:>5}  {:<5} {}",
                e.position,
                e.application_id,
                e.child_name,
                de(e.wanted_start),
                e.care_type.label_de(),
                hours_de(e.care_hours.hours()),
                e.rank,
                status
            );
        }
    }

    pub fn forecast(&self, f: &Forecast) {
        if self.json {
            return println!("{}", serde_json::to_string_pretty(f).expect("json"));
        }
        println!("{:<8} {:<12} {:>6} {:>9} {:>10} {:>5} {:>10}", "Monat", "Art", "Plätze", "Vertrag", "Reserviert", "Frei", "Personal");
        for m in &f.months {
            println!(
                "{:<8} {:<12} {:>6} {:>9} {:>10} {:>5} {:>10}",
                m.month.format("%m/%Y").to_string(),
                m.care_type.label_de(),
                m.capacity,
                m.contracted,
                m.reserved,
                m.free,
                format!("{:.2}", m.required_fte).replace('.', ",")
            );
        }
    }

    pub fn contracts(&self, c: &[(String, Contract)]) {
        if self.json {
            return println!("{}", serde_json::to_string_pretty(c).expect("json"));
        }
        for (name, k) in c {
            let v = k.current();
            println!(
                "{}  {:<26} {:<12} ab {} {:>4} h  Version {}{}",
                k.id,
                name,
                k.care_type.label_de(),
                de(k.start_date),
                hours_de(v.care_hours.hours()),
                v.version_no,
                k.end_date().map(|e| format!("  endet {}", de(e))).unwrap_or_default()
            );
        }
    }

    pub fn attendance(&self, a: &[AttendanceRow]) {
        if self.json {
            return println!("{}", serde_json::to_string_pretty(a).expect("json"));
        }
        use kitakontor_core::attendance::DayStatus;
        for r in a {
            let s = match r.status {
                DayStatus::NotRecorded => "–".to_string(),
                DayStatus::Present { since } => format!("da seit {}", clock(since)),
                DayStatus::Left { arrived, left } => format!("{}–{}", clock(arrived), clock(left)),
                DayStatus::Absent(t) => t.label_de().to_string(),
            };
            println!("{}  {:<26} {:<10} {}", r.child_id, r.child_name, r.group.as_deref().unwrap_or("–"), s);
        }
    }

    pub fn tickets(&self, t: &[TicketSummary]) {
        if self.json {
            return println!("{}", serde_json::to_string_pretty(t).expect("json"));
        }
        for x in t {
            println!("{}  Kind {}  {:<14} {:<10} {}", x.id, x.child_id, x.home_municipality, x.state.label_de(), x.reference);
        }
    }

    pub fn audit(&self, r: &Report) {
        if self.json {
            return println!("{}", serde_json::to_string_pretty(r).expect("json"));
        }
        match &r.first_broken {
            None => println!("Audit-Kette intakt: {} Zeilen, Kopf {}", r.rows, r.head),
            Some(b) => println!("Audit-Kette GEBROCHEN bei Zeile {}: {}", b.seq, b.reason),
        }
    }
}
