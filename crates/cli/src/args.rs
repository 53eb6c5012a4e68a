//! Command-line arguments. Help texts are German (the office's language) with the English
//! code names in brackets where scripts need them.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

#[derive(Parser)]
#[command(
    name = "kitakontor",
    version,
    about = "Kitakontor – die Büro-App der Kita, auf der Kommandozeile (the Kita office app, headless)",
    long_about = "Kitakontor – die Büro-App der Kita, auf der Kommandozeile.\n\n\
Alles, was die App kann, geht auch hier: Kinder suchen, Warteliste, Reservierungen, Verträge,\n\
Anwesenheit, Belegung, Tickets, Audit-Prüfung, Datenexport.\n\n\
Anmeldung: --user NAME (oder KITAKONTOR_USER); das Passwort kommt aus KITAKONTOR_PASSWORD\n\
oder wird abgefragt. Datenbank-Schlüssel: KITAKONTOR_DB_KEY (64 Hex-Zeichen), --key-file,\n\
sonst der Schlüsselbund des Betriebssystems.\n\n\
Exit-Codes: 0 ok · 1 sonstiger Fehler · 2 Aufruf falsch · 3 nicht gefunden · 4 keine Berechtigung ·\n\
5 Regel verletzt/Konflikt · 6 Anmeldung fehlgeschlagen · 7 Datenbank/Schlüssel · 8 Hub nicht erreichbar/abgelehnt ·\n10 Audit-Kette gebrochen"
)]
pub struct Cli {
    /// Datenbankdatei (database file)
    #[arg(long, global = true, env = "KITAKONTOR_DB")]
    pub db: Option<PathBuf>,
    /// Datei mit dem Datenbank-Schlüssel (64 Hex-Zeichen); ohne: KITAKONTOR_DB_KEY oder Schlüsselbund
    #[arg(long, global = true, env = "KITAKONTOR_KEY_FILE")]
    pub key_file: Option<PathBuf>,
    /// Datei für die Hub-Anmeldung dieses PCs (Tokens, Modus 0600); ohne: Schlüsselbund
    #[arg(long, global = true, env = "KITAKONTOR_TOKEN_FILE")]
    pub token_file: Option<PathBuf>,
    /// Benutzername für die Anmeldung (login name)
    #[arg(long, short, global = true, env = "KITAKONTOR_USER")]
    pub user: Option<String>,
    /// Ausgabe als JSON (für Skripte)
    #[arg(long, global = true)]
    pub json: bool,
    #[command(subcommand)]
    pub command: Cmd,
}

#[derive(Subcommand)]
pub enum Cmd {
    /// Neue, leere Datenbank mit Einrichtung und erster Leitung anlegen (create a database)
    Init(InitArgs),
    /// Demo-Datenbank mit erfundenen Daten anlegen (create the demo database)
    Demo {
        /// Zufalls-Seed der Demo-Daten
        #[arg(long, default_value_t = 2026)]
        seed: u64,
    },
    /// Benutzerkonten verwalten (user management)
    #[command(subcommand)]
    Users(UsersCmd),
    /// Kinder suchen und anzeigen (children)
    #[command(subcommand)]
    Children(ChildrenCmd),
    /// Bedarfsanmeldungen und Warteliste (applications, waiting list)
    #[command(subcommand)]
    Applications(ApplicationsCmd),
    /// Reservierungen stornieren oder verfallen lassen (reservations)
    #[command(subcommand)]
    Reservations(ReservationsCmd),
    /// Betreuungsverträge (contracts)
    #[command(subcommand)]
    Contracts(ContractsCmd),
    /// Anwesenheit erfassen und anzeigen (attendance)
    #[command(subcommand)]
    Attendance(AttendanceCmd),
    /// Belegung und Personalbedarf für die nächsten Monate (occupancy forecast)
    Occupancy {
        #[arg(long)]
        facility: Option<String>,
        /// Anzahl Monate (number of months)
        #[arg(long, default_value_t = 24)]
        months: u32,
        /// Erster Monat (YYYY-MM-DD), Standard: heute
        #[arg(long)]
        from: Option<String>,
    },
    /// Tickets für Kinder aus anderen Gemeinden (out-of-town tickets)
    #[command(subcommand)]
    Tickets(TicketsCmd),
    /// Audit-Kette prüfen (audit)
    #[command(subcommand)]
    Audit(AuditCmd),
    /// Datenexport nach DSGVO Art. 20 (export)
    #[command(subcommand)]
    Export(ExportCmd),
    /// Abgleich mit dem Hub der Stadt: anmelden, synchronisieren, Klärungsbedarf (sync)
    #[command(subcommand)]
    Sync(SyncCmd),
    /// Abrechnung: Monatslauf, Erstattungsantrag, Gläubigerdaten (billing)
    #[command(subcommand)]
    Billing(BillingCmd),
    /// Dokumente als PDF erzeugen: Betreuungsvertrag, Kostenbescheid (print)
    #[command(subcommand)]
    Print(PrintCmd),
    /// Beitragsregelwerke (Satzungen) prüfen, importieren, anzeigen (fee rule sets)
    #[command(subcommand)]
    Rules(RulesCmd),
    /// SEPA-Lastschriftmandate der Sorgeberechtigten (mandates)
    #[command(subcommand)]
    Mandates(MandatesCmd),
    /// Ausstehende Befehle für den Abgleich mit dem Hub (outbox status)
    Outbox,
    /// Messung: Kindersuche und Belegungsprognose mit 3.000 Kindern (benchmark)
    Bench(BenchArgs),
    /// Testwerkzeug: führt Befehle in einer Schleife aus und meldet jede Bestätigung (crash tests)
    #[command(hide = true)]
    Stress {
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Höchstzahl Befehle (0 = endlos)
        #[arg(long, default_value_t = 0)]
        count: u64,
    },
}

#[derive(Args)]
pub struct InitArgs {
    /// Name der Einrichtung
    #[arg(long)]
    pub facility: String,
    /// Gemeinde der Einrichtung (z. B. Leipzig)
    #[arg(long)]
    pub municipality: String,
    /// Träger
    #[arg(long, default_value = "Eigener Träger")]
    pub provider: String,
    /// Krippenplätze
    #[arg(long, default_value_t = 0)]
    pub nursery: u32,
    /// Kindergartenplätze
    #[arg(long, default_value_t = 0)]
    pub kindergarten: u32,
    /// Hortplätze
    #[arg(long, default_value_t = 0)]
    pub after_school: u32,
    /// Benutzername der Leitung
    #[arg(long)]
    pub admin_user: String,
    /// Anzeigename der Leitung
    #[arg(long)]
    pub admin_name: String,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum RoleArg {
    ProviderAdmin,
    Director,
    Office,
    Educator,
    TechAdmin,
}

#[derive(Subcommand)]
pub enum UsersCmd {
    /// Konten dieses PCs auflisten
    List,
    /// Konto anlegen (Passwort aus KITAKONTOR_NEW_PASSWORD oder Abfrage)
    Add {
        #[arg(long)]
        username: String,
        #[arg(long)]
        name: String,
        #[arg(long, value_enum)]
        role: RoleArg,
        /// Einrichtung (Standard: die eigene)
        #[arg(long)]
        facility: Option<String>,
        /// Gruppen (für Erzieher/innen), mehrfach möglich
        #[arg(long)]
        group: Vec<String>,
    },
    /// Rolle ändern
    Role {
        username: String,
        #[arg(value_enum)]
        role: RoleArg,
    },
    /// Konto deaktivieren
    Deactivate { username: String },
    /// Passwort neu setzen (aus KITAKONTOR_NEW_PASSWORD oder Abfrage)
    ResetPassword { username: String },
    /// Eigene PIN setzen (aus KITAKONTOR_NEW_PIN oder Abfrage)
    SetPin,
}

#[derive(Subcommand)]
pub enum ChildrenCmd {
    /// Suche nach Namen (alle Wörter müssen vorkommen)
    Search {
        query: String,
        #[arg(long)]
        facility: Option<String>,
        #[arg(long, default_value_t = 20)]
        limit: u32,
    },
    /// Stammdaten, Sorgeberechtigte, Verträge eines Kindes
    Show { child: String },
    /// Gesundheitsdaten (wird protokolliert)
    Health { child: String },
    /// Einkommen und Bankverbindung eines Sorgeberechtigten (wird protokolliert)
    Finance { guardian: String },
    /// Kind anlegen
    Add {
        #[arg(long)]
        first_name: String,
        #[arg(long)]
        last_name: String,
        /// Geburtsdatum YYYY-MM-DD
        #[arg(long)]
        birth_date: String,
        #[arg(long)]
        municipality: String,
        #[arg(long, default_value = "")]
        street: String,
        #[arg(long, default_value = "")]
        postal_code: String,
        #[arg(long, default_value = "")]
        city: String,
        #[arg(long)]
        facility: Option<String>,
        #[arg(long)]
        group: Option<String>,
    },
    /// Masernschutz und Gesundheitshinweise erfassen
    SetHealth {
        child: String,
        /// Datum des Masernschutz-Nachweises YYYY-MM-DD
        #[arg(long)]
        measles_proof: Option<String>,
        #[arg(long, default_value = "")]
        notes: String,
    },
    /// Kinderakte endgültig löschen
    Delete { child: String },
}

#[derive(Subcommand)]
pub enum ApplicationsCmd {
    /// Warteliste der Einrichtung, in Reihenfolge
    List {
        #[arg(long)]
        facility: Option<String>,
    },
    /// Bedarfsanmeldung erfassen
    Submit {
        #[arg(long)]
        child: String,
        /// Einrichtungen in Wunschreihenfolge (1–5), mehrfach angeben
        #[arg(long = "choice", required = true)]
        choices: Vec<String>,
        /// Gewünschter Beginn YYYY-MM-DD
        #[arg(long)]
        start: String,
        /// nursery | kindergarten | after_school (oder krippe | hort)
        #[arg(long)]
        care_type: String,
        /// Betreuungsumfang in Stunden, z. B. 4,5 oder 9
        #[arg(long)]
        hours: String,
        #[arg(long, default_value = "office")]
        origin: String,
    },
    /// Platz in der Warteliste ändern (kleinere Zahl = weiter vorn)
    Rank { application: String, priority: i32 },
    /// Platz für 7 Tage reservieren
    Reserve {
        application: String,
        #[arg(long)]
        facility: Option<String>,
        /// Beginn YYYY-MM-DD (Standard: gewünschter Beginn)
        #[arg(long)]
        start: Option<String>,
    },
    /// Anmeldung ablehnen
    Reject {
        application: String,
        #[arg(long)]
        reason: String,
    },
    /// Anmeldung zurückziehen
    Withdraw { application: String },
}

#[derive(Subcommand)]
pub enum ReservationsCmd {
    /// Reservierung stornieren
    Cancel {
        reservation: String,
        #[arg(long, default_value = "")]
        reason: String,
    },
    /// Abgelaufene Reservierung als verfallen markieren
    Expire { reservation: String },
}

#[derive(Subcommand)]
pub enum ContractsCmd {
    /// Verträge der Einrichtung
    List {
        #[arg(long)]
        facility: Option<String>,
    },
    /// Vertrag aus einer Reservierung schließen
    Create {
        #[arg(long)]
        reservation: String,
        /// Betreuungsumfang in Stunden
        #[arg(long)]
        hours: String,
        /// Beginn YYYY-MM-DD (Standard: Beginn der Reservierung)
        #[arg(long)]
        start: Option<String>,
        /// Eingewöhnung in Wochen
        #[arg(long, default_value_t = 4)]
        settling_in_weeks: u8,
    },
    /// Änderung (neue Vertragsversion)
    Amend {
        contract: String,
        /// Gültig ab YYYY-MM-DD
        #[arg(long)]
        from: String,
        #[arg(long)]
        hours: String,
        #[arg(long, default_value = "")]
        note: String,
    },
    /// Kündigung zum Datum
    Terminate {
        contract: String,
        /// Letzter Betreuungstag YYYY-MM-DD
        #[arg(long)]
        end: String,
        #[arg(long)]
        reason: String,
    },
}

#[derive(Clone, Copy, ValueEnum)]
pub enum AbsenceArg {
    Sick,
    Holiday,
    Other,
}

#[derive(Subcommand)]
pub enum AttendanceCmd {
    /// Anwesenheit eines Tages (Standard: heute)
    Day {
        #[arg(long)]
        date: Option<String>,
        #[arg(long)]
        facility: Option<String>,
    },
    /// Kind kommt
    CheckIn { child: String },
    /// Kind geht
    CheckOut { child: String },
    /// Abwesenheit erfassen
    Absent {
        child: String,
        #[arg(long = "type", value_enum)]
        kind: AbsenceArg,
        #[arg(long)]
        date: Option<String>,
    },
}

#[derive(Subcommand)]
pub enum TicketsCmd {
    /// Tickets der Einrichtung
    List {
        #[arg(long)]
        facility: Option<String>,
    },
    /// Ticket beim Jugendamt beantragen
    Request {
        child: String,
        #[arg(long)]
        municipality: String,
    },
    /// Entscheidung des Jugendamts erfassen
    Decide {
        ticket: String,
        #[arg(long, conflicts_with = "deny", required_unless_present = "deny")]
        approve: bool,
        #[arg(long)]
        deny: bool,
        #[arg(long, default_value = "")]
        reference: String,
    },
}

#[derive(Subcommand)]
pub enum AuditCmd {
    /// Hash-Kette prüfen; nennt die erste gebrochene Zeile
    Verify,
}

#[derive(Subcommand)]
pub enum ExportCmd {
    /// Alle Daten einer Familie als JSON (DSGVO Art. 20)
    Family {
        child: String,
        /// Ausgabedatei (Standard: Standardausgabe)
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

#[derive(Args)]
pub struct BenchArgs {
    #[arg(long, default_value_t = 3000)]
    pub children: u32,
    #[arg(long, default_value_t = 2000)]
    pub iterations: u32,
    /// Was gemessen wird: Suche und Belegung (search), Abrechnung (billing), Abgleich mit dem Hub
    /// (sync-push, sync-initial) oder der Hub unter Last (hub-load)
    #[arg(long, value_enum, default_value_t = BenchWhat::Search)]
    pub what: BenchWhat,
    /// Familien für --what billing
    #[arg(long, default_value_t = 300)]
    pub families: u32,
    /// Adresse des Hubs für --what sync-push|sync-initial|hub-load
    #[arg(long)]
    pub hub: Option<String>,
    /// Datei mit Anmeldecodes, einer pro Zeile (kitakontor-hub enrol-code --count N)
    #[arg(long)]
    pub codes_file: Option<PathBuf>,
    /// Einrichtung (Id) auf dem Hub, zu der die Codes gehören
    #[arg(long)]
    pub facility: Option<String>,
    /// Träger (Id) dieser Einrichtung
    #[arg(long)]
    pub provider: Option<String>,
    /// Offline erfasste Befehle für --what sync-push
    #[arg(long, default_value_t = 1000)]
    pub commands: u32,
    /// Datensätze für --what sync-initial
    #[arg(long, default_value_t = 50_000)]
    pub rows: u32,
    /// Gleichzeitige PCs für --what hub-load
    #[arg(long, default_value_t = 500)]
    pub devices: u32,
    /// Befehle pro Sendung für --what hub-load
    #[arg(long, default_value_t = 10)]
    pub batch: u32,
    /// Sendungen pro PC für --what hub-load
    #[arg(long, default_value_t = 20)]
    pub pushes: u32,
    /// Angebotene Last in Befehlen/s für --what hub-load (jeder PC sendet im Takt);
    /// 0 = so schnell wie möglich (jeder PC sendet sofort wieder)
    #[arg(long, default_value_t = 0)]
    pub rate: u32,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BenchWhat {
    Search,
    Billing,
    /// 1.000 Offline-Befehle an den Hub senden
    SyncPush,
    /// Erster Abgleich eines neuen PCs mit 50.000 Datensätzen
    SyncInitial,
    /// Lastgenerator: viele PCs senden gleichzeitig an den Hub
    HubLoad,
}

#[derive(Subcommand)]
pub enum SyncCmd {
    /// Diesen PC mit einem Anmeldecode beim Hub anmelden (enrol)
    Enrol {
        /// Adresse des Hubs, z. B. https://hub.leipzig.de
        #[arg(long)]
        hub: String,
        /// Einmaliger Anmeldecode vom Hub-Administrator
        #[arg(long)]
        code: String,
        /// Name dieses PCs, wie ihn der Hub anzeigt
        #[arg(long, default_value = "Büro-PC")]
        name: String,
    },
    /// Jetzt einmal abgleichen: Änderungen senden, Neues holen (now)
    Now,
    /// Ohne Ende abgleichen, mit Wartezeiten bei Fehlern (run)
    Run {
        /// Sekunden zwischen zwei Abgleichen
        #[arg(long, default_value_t = 30)]
        interval: u64,
    },
    /// Stand des Abgleichs: letzter Abgleich, wartende Änderungen, Klärungsbedarf (status)
    Status,
    /// Klärungsbedarf anzeigen (inbox)
    Inbox {
        /// Auch erledigte Einträge
        #[arg(long)]
        all: bool,
    },
    /// Eintrag im Klärungsbedarf erledigen (resolve)
    Resolve {
        id: i64,
        /// retry = eigene Eingabe erneut senden, dismiss = Stand des Hubs behalten
        #[arg(long, value_enum)]
        action: ResolveArg,
    },
    /// Mögliche Doppelanmeldungen, die der Hub der Stadt gefunden hat – Stand des letzten Abgleichs (duplicates)
    Duplicates,
    /// Über eine mögliche Doppelanmeldung entscheiden; gesendet wird beim nächsten Abgleich (decide)
    Decide {
        /// Nummer des Vorschlags (siehe `sync duplicates`)
        id: String,
        /// Dasselbe Kind (confirmed): es ist doppelt angemeldet. Zusammengeführt wird nichts automatisch.
        #[arg(long, conflicts_with = "different", required_unless_present = "different")]
        same: bool,
        /// Verschiedene Kinder (rejected): der Vorschlag kommt nicht wieder.
        #[arg(long)]
        different: bool,
    },
    /// Abgleich mit dem Melderegister – Stand des letzten Abgleichs (registry)
    Registry,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum ResolveArg {
    Retry,
    Dismiss,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum SepaArg {
    /// pain.008.001.08 (aktuell)
    #[value(name = "08")]
    V08,
    /// pain.008.001.02 (von deutschen Banken noch angenommen)
    #[value(name = "02")]
    V02,
}

#[derive(Subcommand)]
pub enum BillingCmd {
    /// Monatsabrechnung: Beiträge berechnen, Rechnungen (PDF), Sammeldruck, SEPA-Datei, Kassenexport
    Run {
        /// Monat, z. B. 2026-12
        #[arg(long)]
        month: String,
        #[arg(long)]
        facility: Option<String>,
        /// Zielordner (Standard: ~/Dokumente/Kitakontor/Abrechnung)
        #[arg(long)]
        out: Option<PathBuf>,
        /// SEPA-Format
        #[arg(long, value_enum, default_value_t = SepaArg::V08)]
        sepa: SepaArg,
    },
    /// Dateien eines früheren Laufs neu schreiben (PDFs, Sammeldruck, SEPA, Kassenexport)
    Files {
        /// Kennung des Laufs (siehe `billing runs --json`)
        run: String,
        #[arg(long)]
        out: Option<PathBuf>,
        #[arg(long, value_enum, default_value_t = SepaArg::V08)]
        sepa: SepaArg,
    },
    /// Bisherige Abrechnungsläufe
    Runs {
        #[arg(long)]
        facility: Option<String>,
    },
    /// Erstattungsantrag ans Jugendamt (SächsKitaG §15 Abs. 5) als PDF und CSV
    Claim {
        /// Erster Monat, z. B. 2026-01
        #[arg(long)]
        from: String,
        /// Letzter Monat, z. B. 2026-12
        #[arg(long)]
        to: String,
        #[arg(long)]
        facility: Option<String>,
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Anschrift und SEPA-Gläubigerdaten des Trägers setzen
    Creditor {
        /// Gläubiger-Identifikationsnummer, z. B. DE98ZZZ09999999999
        #[arg(long)]
        creditor_id: String,
        #[arg(long)]
        iban: String,
        #[arg(long)]
        bic: Option<String>,
        #[arg(long)]
        street: String,
        #[arg(long)]
        postal_code: String,
        #[arg(long)]
        city: String,
        /// Jugendamt, das die Ermäßigungen erstattet
        #[arg(long, default_value = "")]
        youth_office: String,
        #[arg(long)]
        facility: Option<String>,
    },
}

#[derive(Subcommand)]
pub enum PrintCmd {
    /// Betreuungsvertrag als PDF
    Contract {
        contract: String,
        /// Ausgabedatei (Standard: Betreuungsvertrag_<Kind>.pdf im aktuellen Ordner)
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Kostenbescheid eines Kindes ab einem Monat als PDF
    FeeNotice {
        child: String,
        /// Monat, z. B. 2026-12 (Standard: nächster Monat)
        #[arg(long)]
        month: Option<String>,
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
pub enum RulesCmd {
    /// Regelwerke in der Datenbank
    List,
    /// Datei prüfen, ohne sie zu importieren
    Check { file: PathBuf },
    /// Datei prüfen und importieren
    Import { file: PathBuf },
}

#[derive(Subcommand)]
pub enum MandatesCmd {
    /// Unterschriebenes Mandat erfassen
    Add {
        #[arg(long)]
        guardian: String,
        /// Mandatsreferenz (höchstens 35 Zeichen)
        #[arg(long)]
        reference: String,
        /// Unterschrieben am YYYY-MM-DD
        #[arg(long)]
        signed_on: String,
    },
    /// Mandat widerrufen
    Revoke {
        mandate: String,
        /// Widerrufen am YYYY-MM-DD (Standard: heute)
        #[arg(long)]
        on: Option<String>,
    },
}
