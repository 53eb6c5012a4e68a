//! Errors as the UI gets them: a stable `code` to branch on and a German `message` to show.
//! The UI never parses message text.

use kitakontor_core::DomainError;
use kitakontor_store::{AuthError, StoreError};
use kitakontor_sync::{SyncError, TransportError};
use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct AppError {
    pub code: String,
    pub message: String,
}

impl std::fmt::Display for AppError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "[{}] {}", self.code, self.message)
    }
}

impl std::error::Error for AppError {}

impl AppError {
    pub fn new(code: &str, message: impl Into<String>) -> AppError {
        AppError { code: code.into(), message: message.into() }
    }
    pub fn not_logged_in() -> AppError {
        AppError::new("not_logged_in", "Bitte melden Sie sich an.")
    }
    pub fn locked() -> AppError {
        AppError::new("locked", "Die Sitzung ist gesperrt. Bitte mit PIN oder Passwort entsperren.")
    }
    pub fn invalid(field: &str, reason: impl Into<String>) -> AppError {
        AppError::new("invalid_input", format!("{}: {}", field_de(field), reason.into()))
    }
}

fn field_de(field: &str) -> &str {
    match field {
        "first_name" => "Vorname",
        "last_name" => "Nachname",
        "birth_date" => "Geburtsdatum",
        "postal_code" => "PLZ",
        "municipality" => "Wohngemeinde",
        "care_hours" => "Betreuungsumfang",
        "iban" => "IBAN",
        "income" => "Einkommen",
        "username" => "Benutzername",
        "display_name" => "Name",
        "date" => "Datum",
        "pin" => "PIN",
        "password" => "Passwort",
        "idle_minutes" => "Sperrzeit",
        "measles_proof" => "Masernschutz",
        "health_notes" => "Gesundheitshinweise",
        "settling_in_weeks" => "Eingewöhnung",
        "bic" => "BIC",
        "creditor_id" => "Gläubiger-ID",
        "mandate_reference" => "Mandatsreferenz",
        "signed_on" => "Unterschrieben am",
        "pickup_persons" => "Abholberechtigte",
        "hub_url" => "Hub-Adresse",
        "code" => "Anmeldecode",
        "device_name" => "Name dieses PCs",
        other => other,
    }
}

fn date_de(d: chrono::NaiveDate) -> String {
    d.format("%d.%m.%Y").to_string()
}

fn domain_de(e: &DomainError) -> String {
    use DomainError as D;
    match e {
        D::InvalidField { field, reason } => format!("{}: {reason}", field_de(field)),
        D::ChoiceCount(n) => format!("Eine Anmeldung nennt 1 bis 5 Einrichtungen, nicht {n}."),
        D::DuplicateChoice => "Eine Einrichtung ist doppelt in der Wunschliste.".into(),
        D::IllegalTransition { from, .. } => format!("Das geht bei einer Anmeldung im Status „{}“ nicht.", from.label_de()),
        D::NoFreePlace { care_type, month, capacity, taken } => {
            format!("Kein freier {}-Platz im {} ({taken} von {capacity} belegt).", care_type.label_de(), month.format("%m/%Y"))
        }
        D::CareTypeNotOffered(c) => format!("Die Einrichtung bietet keine {}-Plätze an.", c.label_de()),
        D::ReservationExpired(t) => {
            format!("Die Reservierung ist am {} abgelaufen.", t.with_timezone(&chrono::Local).format("%d.%m.%Y %H:%M"))
        }
        D::ReservationNotActive(s) => format!("Die Reservierung ist nicht mehr aktiv ({s})."),
        D::AlreadyPlaced => "Das Kind hat schon eine Reservierung oder einen Vertrag für diesen Zeitraum.".into(),
        D::MeaslesProofMissing => "Der Nachweis über den Masernschutz fehlt (Pflicht seit 1. März 2020).".into(),
        D::TicketRequired { municipality } => {
            format!("Das Kind wohnt in {municipality}: Aufnahme nur mit genehmigtem Ticket des Jugendamts.")
        }
        D::SignedVersionImmutable => "Eine unterschriebene Vertragsversion ist unveränderlich – bitte eine Änderung anlegen.".into(),
        D::ContractTerminated => "Der Vertrag ist bereits gekündigt.".into(),
        D::DateTooEarly { date, earliest } => format!("Das Datum {} liegt vor dem {}.", date_de(*date), date_de(*earliest)),
        D::TicketAlreadyDecided => "Über das Ticket wurde bereits entschieden.".into(),
        D::AlreadyCheckedIn => "Das Kind ist bereits angemeldet (da).".into(),
        D::NotCheckedIn => "Das Kind ist heute noch nicht angekommen.".into(),
    }
}

fn auth_de(e: &AuthError) -> String {
    match e {
        AuthError::BadCredentials => "Benutzername oder Passwort falsch.".into(),
        AuthError::BadPin { remaining } => format!("PIN falsch. Noch {remaining} Versuche, dann ist das Passwort nötig."),
        AuthError::PinLocked => "Die PIN ist nach 5 Fehlversuchen gesperrt. Bitte mit dem Passwort anmelden.".into(),
        AuthError::NoPin => "Für dieses Konto ist keine PIN gesetzt. Bitte mit dem Passwort anmelden.".into(),
        AuthError::TooSoon { seconds } => format!("Zu viele Fehlversuche. Bitte in {seconds} Sekunden erneut versuchen."),
        AuthError::HourlyLimit => "Mehr als 100 Fehlversuche in einer Stunde – das Konto ist vorerst gesperrt.".into(),
        AuthError::Inactive => "Dieses Konto ist deaktiviert.".into(),
        AuthError::WeakPassword(n) => format!("Das Passwort braucht mindestens {n} Zeichen."),
        AuthError::BadPinFormat => "Die PIN besteht aus 4 bis 8 Ziffern.".into(),
    }
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> AppError {
        let message = match &e {
            StoreError::Denied(_) => "Dafür fehlt Ihnen die Berechtigung.".to_string(),
            StoreError::Domain(d) => domain_de(d),
            StoreError::Auth(a) => auth_de(a),
            StoreError::NotFound { what, .. } => format!("Nicht gefunden ({what})."),
            StoreError::Conflict(m) => format!("Nicht möglich: {m}"),
            StoreError::DatabaseMissing(p) => format!("Die Datenbank {p} fehlt."),
            StoreError::DatabaseExists(p) => format!("Die Datenbank {p} existiert bereits."),
            StoreError::KeyMissing(_) => {
                "Der Datenbank-Schlüssel fehlt. Bitte den PC neu registrieren und die Daten vom Hub wiederherstellen.".into()
            }
            StoreError::WrongKey(_) => "Der Datenbank-Schlüssel passt nicht zur Datenbank. Die Daten sind unverändert.".into(),
            StoreError::CredentialStore(m) => format!("Der Schlüsselbund des Betriebssystems ist nicht erreichbar ({m})."),
            StoreError::InvalidKey(m) => format!("Ungültiger Schlüssel: {m}"),
            StoreError::Import(i) => i.to_string(),
            // Rule-set and fee messages are German already and name the field or the statute.
            StoreError::RuleSet(r) => r.to_string(),
            StoreError::Fee(f) => f.to_string(),
            StoreError::NoContract { month } => {
                format!("Im {} besteht kein Betreuungsvertrag – dafür gibt es keinen Elternbeitrag.", month.format("%m/%Y"))
            }
            StoreError::File { path, reason } => format!("Die Datei {path} konnte nicht geschrieben werden ({reason})."),
            // German already: says why the decision cannot be taken.
            StoreError::City(c) => c.to_string(),
            other => {
                tracing::error!(error = %other, "store failure");
                "Interner Fehler der Datenbank. Bitte erneut versuchen; die Daten sind unverändert.".into()
            }
        };
        AppError { code: e.code().into(), message }
    }
}

/// Sync errors: the hub's own messages are German already; network details stay in the log.
impl From<SyncError> for AppError {
    fn from(e: SyncError) -> AppError {
        match e {
            SyncError::NotEnrolled => AppError::new("not_enrolled", "Dieser PC ist nicht beim Hub angemeldet (Offline-Betrieb)."),
            SyncError::Store(s) => s.into(),
            SyncError::Tokens(m) => {
                AppError::new("credential_store", format!("Die Hub-Anmeldung konnte nicht im Schlüsselbund gespeichert werden ({m})."))
            }
            SyncError::Transport(t) => t.into(),
        }
    }
}

impl From<TransportError> for AppError {
    fn from(t: TransportError) -> AppError {
        match t {
            TransportError::Network(detail) => {
                tracing::warn!(%detail, "hub not reachable");
                AppError::new(
                    "hub_unreachable",
                    "Der Hub ist nicht erreichbar. Bitte die Hub-Adresse und die Netzwerkverbindung prüfen und erneut versuchen.",
                )
            }
            TransportError::Server(m) => AppError::new("hub_error", format!("Der Hub hat einen Fehler gemeldet: {m}")),
            TransportError::Unauthorized => AppError::new("hub_unauthorized", "Die Anmeldung dieses PCs beim Hub ist abgelaufen."),
            TransportError::Revoked => {
                AppError::new("hub_revoked", "Dieser PC wurde beim Hub abgemeldet. Bitte mit einem neuen Anmeldecode neu anmelden.")
            }
            TransportError::UpgradeRequired(m) => AppError::new("upgrade_required", format!("Update erforderlich: {m}")),
            TransportError::Gap { expected } => {
                AppError::new("hub_error", format!("Der Hub erwartet Befehl Nr. {expected}; der nächste Abgleich holt das nach."))
            }
            TransportError::Refused(m) => AppError::new("hub_refused", format!("Der Hub hat die Anfrage abgelehnt: {m}")),
            TransportError::NotSupported => AppError::new("hub_error", "Diese Verbindung zum Hub kennt den Abgleich mit der Stadt nicht."),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn german_messages_with_stable_codes() {
        let e: AppError = StoreError::Domain(DomainError::MeaslesProofMissing).into();
        assert_eq!(e.code, "rule_violated");
        assert!(e.message.contains("Masernschutz"));
        let e: AppError = StoreError::Auth(AuthError::BadPin { remaining: 2 }).into();
        assert!(e.message.contains("Noch 2 Versuche"));
    }

    #[test]
    fn sync_errors_are_german_without_network_details() {
        let e: AppError =
            SyncError::Transport(TransportError::Network("tcp connect error: Connection refused (os error 111)".into())).into();
        assert_eq!(e.code, "hub_unreachable");
        assert!(e.message.starts_with("Der Hub ist nicht erreichbar") && !e.message.contains("os error"), "{}", e.message);
        let e: AppError = SyncError::NotEnrolled.into();
        assert_eq!(e.code, "not_enrolled");
        let e: AppError = TransportError::UpgradeRequired("Protokoll 2".into()).into();
        assert_eq!((e.code.as_str(), e.message.as_str()), ("upgrade_required", "Update erforderlich: Protokoll 2"));
    }
}
