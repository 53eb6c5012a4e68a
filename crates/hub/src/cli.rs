//! The command line of `kitakontor-hub`: the server and the administrator's tasks.

use crate::config::{Config, LogFormat};
use crate::Hub;
use clap::{Args, Parser, Subcommand};
use kitakontor_core::care::CareType;
use kitakontor_core::command::UpsertFacility;
use kitakontor_core::ids::{DeviceId, FacilityId, ProviderId, TicketId};
use kitakontor_core::person::Address;
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(name = "kitakontor-hub", version, about = "Der Hub der Stadt: zentrales Befehlslog, mit dem sich die Kitakontor-PCs abgleichen")]
pub struct Cli {
    /// Konfigurationsdatei (TOML); ohne Angabe kitakontor-hub.toml, falls vorhanden
    #[arg(long, global = true)]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Startet den Server (Standard)
    Serve,
    /// Bringt das Datenbankschema auf den neuesten Stand
    Migrate,
    /// Einrichtungen verwalten
    #[command(subcommand)]
    Facility(FacilityCommand),
    /// Erzeugt einen einmaligen Anmeldecode für einen PC einer Einrichtung
    EnrolCode {
        /// ID der Einrichtung
        #[arg(long)]
        facility: FacilityId,
        /// Gültigkeit in Stunden
        #[arg(long, default_value_t = 72)]
        valid_hours: u32,
        /// So viele Codes (je einer pro Zeile), z. B. für alle PCs einer Einrichtung
        #[arg(long, default_value_t = 1)]
        count: u32,
    },
    /// Listet die angemeldeten Geräte
    Devices,
    /// Sperrt ein Gerät (seine Tokens gelten sofort nicht mehr)
    Revoke {
        /// ID des Geräts
        #[arg(long)]
        device: DeviceId,
    },
    /// Gibt abgelaufene Reservierungen frei (läuft im Server jede Minute)
    ExpireHolds,
    /// Tickets (Genehmigungen für Kinder aus anderen Gemeinden)
    #[command(subcommand)]
    Ticket(TicketCommand),
    /// Mögliche Doppelanmeldungen über alle Träger
    #[command(subcommand)]
    Duplicates(DuplicatesCommand),
    /// Melderegister-Auszug und Abgleich
    #[command(subcommand)]
    Registry(RegistryCommand),
}

#[derive(Debug, Subcommand)]
pub enum DuplicatesCommand {
    /// Sucht in allen Kindern nach möglichen Doppelanmeldungen und legt neue Vorschläge an
    Scan,
    /// Listet alle Vorschläge (offene zuerst)
    List,
}

#[derive(Debug, Subcommand)]
pub enum RegistryCommand {
    /// Importiert einen Melderegister-Auszug (CSV, siehe docs/registry-import.md); ersetzt den bisherigen
    Import {
        /// CSV-Datei
        file: PathBuf,
    },
    /// Gleicht alle Kinder mit dem Auszug ab und zeigt die Anzahlen
    Match,
}

#[derive(Debug, Subcommand)]
pub enum FacilityCommand {
    /// Legt eine Einrichtung an oder ändert sie
    Add(FacilityArgs),
}

#[derive(Debug, Args)]
pub struct FacilityArgs {
    /// ID der Einrichtung (UUID)
    #[arg(long)]
    pub id: FacilityId,
    /// ID des Trägers (UUID)
    #[arg(long)]
    pub provider_id: ProviderId,
    /// Name des Trägers
    #[arg(long)]
    pub provider_name: String,
    /// Name der Einrichtung
    #[arg(long)]
    pub name: String,
    /// Gemeinde der Einrichtung
    #[arg(long)]
    pub municipality: String,
    /// Plätze je Betreuungsart, z. B. nursery=10,kindergarten=20 (auch krippe=, hort=)
    #[arg(long, value_parser = parse_capacities)]
    pub capacity: Capacities,
    /// Pädagogisches Profil
    #[arg(long, default_value = "")]
    pub profile: String,
    /// Straße und Hausnummer
    #[arg(long, default_value = "")]
    pub street: String,
    /// Postleitzahl
    #[arg(long, default_value = "")]
    pub postal_code: String,
    /// Ort
    #[arg(long, default_value = "")]
    pub city: String,
}

#[derive(Debug, Subcommand)]
pub enum TicketCommand {
    /// Trägt die Entscheidung des Jugendamts ein
    Decide {
        /// ID des Tickets
        #[arg(long)]
        ticket: TicketId,
        /// Genehmigt
        #[arg(long, conflicts_with = "denied", required_unless_present = "denied")]
        approved: bool,
        /// Abgelehnt
        #[arg(long)]
        denied: bool,
        /// Aktenzeichen des Bescheids
        #[arg(long)]
        reference: String,
    },
}

/// Capacities per care type, as parsed from `nursery=10,kindergarten=20`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Capacities(pub Vec<(CareType, u32)>);

pub fn parse_capacities(s: &str) -> Result<Capacities, String> {
    let mut out: Vec<(CareType, u32)> = Vec::new();
    for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (t, n) = part.split_once('=').ok_or_else(|| format!("„{part}“: erwartet Art=Anzahl, z. B. nursery=10"))?;
        let t: CareType = t.parse().map_err(|_| format!("„{t}“ ist keine Betreuungsart (nursery, kindergarten, after_school)"))?;
        let n: u32 = n.trim().parse().map_err(|_| format!("„{n}“ ist keine Anzahl"))?;
        if out.iter().any(|(x, _)| *x == t) {
            return Err(format!("{} doppelt angegeben", t.label_de()));
        }
        out.push((t, n));
    }
    if out.is_empty() {
        return Err("mindestens eine Betreuungsart angeben".into());
    }
    Ok(Capacities(out))
}

/// Sets up logging as configured (text or JSON; filter from RUST_LOG, default info without sqlx's notices).
pub fn init_logging(format: LogFormat) {
    use std::io::IsTerminal;
    // sqlx's notices ("relation … already exists, skipping") are no news for the operator.
    let filter =
        tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_ansi(std::io::stderr().is_terminal());
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
}

/// Runs the parsed command line.
pub async fn run(cli: Cli) -> Result<(), Box<dyn std::error::Error>> {
    let config = Config::load(cli.config.as_deref())?;
    init_logging(config.log);
    let hub = Hub::connect(config.require_database_url()?).await?;
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => {
            let lapsed = hub.expire_holds().await?;
            tracing::info!(lapsed, "startup: lapsed holds released");
            crate::server::run(hub, &config, crate::server::shutdown_signal()).await?;
        }
        Command::Migrate => println!("Datenbankschema ist aktuell."),
        Command::Facility(FacilityCommand::Add(a)) => {
            let name = a.name.clone();
            hub.upsert_facility(UpsertFacility {
                facility_id: a.id,
                provider_id: a.provider_id,
                provider_name: a.provider_name,
                name: a.name,
                profile: a.profile,
                address: Address { street: a.street, postal_code: a.postal_code, city: a.city },
                municipality: a.municipality,
                capacities: a.capacity.0,
            })
            .await?;
            println!("Einrichtung „{name}“ ({}) gespeichert.", a.id);
        }
        Command::EnrolCode { facility, valid_hours, count } => {
            for _ in 0..count {
                let code = hub.create_enrolment_code(facility, chrono::Duration::hours(i64::from(valid_hours))).await?;
                println!("{code}");
            }
            eprintln!("{count} Anmeldecode(s) für Einrichtung {facility}, gültig {valid_hours} Stunden, jeder nur einmal verwendbar.");
        }
        Command::Devices => {
            let devices = hub.devices().await?;
            if devices.is_empty() {
                println!("Keine Geräte angemeldet.");
            }
            for d in devices {
                let state = match d.revoked_at {
                    Some(at) => format!("gesperrt seit {}", at.format("%d.%m.%Y %H:%M UTC")),
                    None => "aktiv".to_string(),
                };
                let seen = d.last_push_at.map(|t| t.format("%d.%m.%Y %H:%M UTC").to_string()).unwrap_or_else(|| "nie".into());
                println!(
                    "{}  {}  {}  {}  bestätigt bis {}  letzte Übertragung {}",
                    d.device_id, d.name, d.facility_name, state, d.acked_seq, seen
                );
            }
        }
        Command::Revoke { device } => {
            hub.revoke_device(device).await?;
            println!("Gerät {device} gesperrt.");
        }
        Command::ExpireHolds => {
            let n = hub.expire_holds().await?;
            println!("{n} Reservierung(en) verfallen.");
        }
        Command::Ticket(TicketCommand::Decide { ticket, approved, denied, reference }) => {
            let approved = approved && !denied;
            hub.decide_ticket(ticket, approved, &reference).await?;
            println!("Ticket {ticket}: {}.", if approved { "genehmigt" } else { "abgelehnt" });
        }
        Command::Duplicates(DuplicatesCommand::Scan) => {
            let n = hub.detect_duplicates().await?;
            println!("{n} neue(r) Dublettenvorschlag/-vorschläge.");
        }
        Command::Duplicates(DuplicatesCommand::List) => {
            let rows = hub.duplicate_proposals().await?;
            if rows.is_empty() {
                println!("Keine Dublettenvorschläge.");
            }
            for p in rows {
                println!("{}  {:<9}  {:>3}  {}  ↔  {}  ({})", p.id, p.state, p.score, p.a, p.b, p.reason);
            }
        }
        Command::Registry(RegistryCommand::Import { file }) => {
            let bytes = std::fs::read(&file).map_err(|e| format!("{}: {e}", file.display()))?;
            let name = file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            let import = hub.import_registry(&name, &bytes).await?;
            println!(
                "Melderegister-Auszug „{}“ importiert: {} Einwohner ({}), ersetzt den bisherigen. Jetzt `registry match` ausführen.",
                import.file_name, import.rows, import.encoding
            );
        }
        Command::Registry(RegistryCommand::Match) => {
            let r = hub.match_registry().await?;
            println!(
                "{} Kinder abgeglichen: {} gefunden, {} phonetisch gefunden (bitte prüfen), {} nicht gefunden, {} mehrdeutig.",
                r.children, r.matched, r.matched_phonetic, r.not_found, r.ambiguous
            );
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn capacities_parse() {
        assert_eq!(
            parse_capacities("nursery=10, kindergarten=20").unwrap(),
            Capacities(vec![(CareType::Nursery, 10), (CareType::Kindergarten, 20)])
        );
        assert_eq!(parse_capacities("hort=5").unwrap(), Capacities(vec![(CareType::AfterSchool, 5)]));
        assert!(parse_capacities("nursery=10,nursery=3").is_err());
        assert!(parse_capacities("pool=3").is_err());
        assert!(parse_capacities("").is_err());
    }

    #[test]
    fn command_line_is_consistent() {
        Cli::command().debug_assert();
        let cli = Cli::try_parse_from([
            "kitakontor-hub",
            "ticket",
            "decide",
            "--ticket",
            "01930000-0000-7000-8000-000000000001",
            "--denied",
            "--reference",
            "JA-1",
        ])
        .unwrap();
        assert!(matches!(cli.command, Some(Command::Ticket(TicketCommand::Decide { approved: false, denied: true, .. }))));
        assert!(Cli::try_parse_from([
            "kitakontor-hub",
            "ticket",
            "decide",
            "--ticket",
            "01930000-0000-7000-8000-000000000001",
            "--reference",
            "R"
        ])
        .is_err());
        let cli = Cli::try_parse_from(["kitakontor-hub"]).unwrap();
        assert!(cli.command.is_none());
        // City rules.
        let cli = Cli::try_parse_from(["kitakontor-hub", "registry", "import", "auszug.csv"]).unwrap();
        assert!(matches!(cli.command, Some(Command::Registry(RegistryCommand::Import { file })) if file.as_os_str() == "auszug.csv"));
        assert!(Cli::try_parse_from(["kitakontor-hub", "registry", "import"]).is_err());
        assert!(matches!(
            Cli::try_parse_from(["kitakontor-hub", "duplicates", "scan"]).unwrap().command,
            Some(Command::Duplicates(DuplicatesCommand::Scan))
        ));
        assert!(matches!(
            Cli::try_parse_from(["kitakontor-hub", "duplicates", "list"]).unwrap().command,
            Some(Command::Duplicates(DuplicatesCommand::List))
        ));
        assert!(matches!(
            Cli::try_parse_from(["kitakontor-hub", "registry", "match"]).unwrap().command,
            Some(Command::Registry(RegistryCommand::Match))
        ));
    }
}

/// The binary's whole `main`: parse, run, report (also the test crate's copy of the binary).
pub fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("tokio runtime");
    match rt.block_on(run(cli)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("Fehler: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
