//! Invented but realistic demo data: one provider, two Leipzig facilities with nursery and
//! kindergarten places, ~180 children (120 under contract, 60 on the waiting list), groups,
//! staff of every role, tickets for out-of-town children and the attendance of the last
//! three weeks. Everything goes through the same command handlers as real work, in one
//! transaction, so the demo also exercises the rules. Names and IBANs are made up.

use crate::error::Result;
use crate::Store;
use chrono::{Datelike, Duration, NaiveDate, Weekday};
use kitakontor_core::application::ApplicationOrigin;
use kitakontor_core::attendance::{AbsenceType, AttendanceKind};
use kitakontor_core::care::{add_months, CareHours, CareType};
use kitakontor_core::command::{self as c, Command};
use kitakontor_core::ids::*;
use kitakontor_core::permission::{Actor, Role};
use kitakontor_core::person::Address;
use kitakontor_core::protocol::{Alternative, FieldConflict, Outcome};
use kitakontor_core::sepa::mandate_reference_for;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::Serialize;
use uuid::Uuid;

/// Leipzig's fee rules (the shape of its 2014 statute), shipped in `rules/`.
pub const LEIPZIG_RULES: &str = include_str!("../../../rules/leipzig-2014.toml");

/// The password of every demo account. Demo only: printed on purpose.
pub const DEMO_PASSWORD: &str = "kitakontor-demo";
/// The quick-unlock PIN of every demo account. Demo only.
pub const DEMO_PIN: &str = "1234";

const FIRST: &[&str] = &[
    "Emma", "Mia", "Hannah", "Sophia", "Lina", "Zoë", "Ella", "Mila", "Clara", "Lea", "Lotta", "Frieda", "Jördis", "Malin", "Ida",
    "Amélie", "Noah", "Ben", "Paul", "Leon", "Finn", "Elias", "Jonas", "Luis", "Felix", "Ömer", "Jürgen", "Anton", "Theo", "Emil", "Karl",
    "Mats",
];
const LAST: &[&str] = &[
    "Müller",
    "Schmidt",
    "Schneider",
    "Fischer",
    "Weber",
    "Meyer",
    "Wagner",
    "Becker",
    "Schulz",
    "Hoffmann",
    "Schäfer",
    "Koch",
    "Bauer",
    "Richter",
    "Klein",
    "Wolf",
    "Schröder",
    "Neumann",
    "Schwarz",
    "Zimmermann",
    "Braun",
    "Krüger",
    "Hofmann",
    "Hartmann",
    "Lange",
    "Werner",
    "Krause",
    "Lehmann",
    "Köhler",
    "Groß",
    "Yılmaz",
    "Nowak",
];
const PARENT_FIRST: &[&str] =
    &["Anna", "Katrin", "Sabine", "Julia", "Doreen", "Özlem", "Thomas", "Michael", "André", "Sven", "René", "Björn"];
const STREETS: &[&str] =
    &["Karl-Liebknecht-Straße", "Eisenbahnstraße", "Georg-Schwarz-Straße", "Könneritzstraße", "Gohliser Straße", "Zschochersche Straße"];

#[derive(Debug, Clone, Serialize)]
pub struct DemoSummary {
    pub facilities: Vec<(FacilityId, String)>,
    pub accounts: Vec<(String, Role)>,
    pub children: usize,
    pub open_applications: usize,
    pub contracts: usize,
    pub attendance_events: usize,
    pub commands: usize,
}

fn id() -> Uuid {
    Uuid::now_v7()
}

/// A valid German IBAN for the made-up account number `n` (check digits computed).
pub fn demo_iban(n: u64) -> String {
    let bban = format!("86055592{:010}", n % 10_000_000_000);
    // DE + 00 moved to the end: "1314" for D=13, E=14.
    let digits = format!("{bban}131400");
    let rem = digits.bytes().fold(0u32, |r, b| (r * 10 + (b - b'0') as u32) % 97);
    format!("DE{:02}{bban}", 98 - rem)
}

impl Store {
    /// Fills an empty database with the demo. Refused if accounts exist already.
    pub async fn seed_demo(&self, seed: u64) -> Result<DemoSummary> {
        let mut rng = StdRng::seed_from_u64(seed);
        let now = self.now();
        let today = now.date_naive();
        let provider = ProviderId(id());
        let admin_id = UserId(id());
        self.create_first_user(
            None,
            c::CreateUser {
                user_id: admin_id,
                username: "traeger".into(),
                display_name: "Petra Träger-Admin".into(),
                role: Role::ProviderAdmin,
                facility_id: None,
            },
            DEMO_PASSWORD,
        )
        .await?;
        let admin = self.actor(admin_id).await?;
        let mut cmds: Vec<(Command, Option<String>)> = Vec::new();
        let push = |cmds: &mut Vec<(Command, Option<String>)>, c: Command| cmds.push((c, None));

        let facilities = [
            (FacilityId(id()), "Kita Sonnenblume", "Gohliser Straße 12", "04155", 30u32, 70u32, "Reggio-Pädagogik, naturnah"),
            (
                FacilityId(id()),
                "Kita Auenwald",
                "Könneritzstraße 80",
                "04229",
                20u32,
                56u32,
                "Situationsansatz, zweisprachig deutsch-englisch",
            ),
        ];
        for (fid, name, street, plz, n, k, profile) in &facilities {
            push(
                &mut cmds,
                c::UpsertFacility {
                    facility_id: *fid,
                    provider_id: provider,
                    provider_name: "Kinderwelt Leipzig gGmbH".into(),
                    name: (*name).into(),
                    profile: (*profile).into(),
                    address: Address { street: (*street).into(), postal_code: (*plz).into(), city: "Leipzig".into() },
                    municipality: "Leipzig".into(),
                    capacities: vec![(CareType::Nursery, *n), (CareType::Kindergarten, *k)],
                }
                .into(),
            );
        }
        // The provider as SEPA creditor. DE98ZZZ09999999999 is the Bundesbank's test creditor ID.
        push(
            &mut cmds,
            c::SetCreditor {
                provider_id: provider,
                address: Address { street: "Riebeckstraße 20".into(), postal_code: "04317".into(), city: "Leipzig".into() },
                creditor_id: "DE98ZZZ09999999999".into(),
                iban: demo_iban(9_999_999),
                bic: None,
                youth_office: "Amt für Jugend und Familie der Stadt Leipzig".into(),
            }
            .into(),
        );
        // Groups: 2 nursery, 3 kindergarten per facility.
        let group_names = [
            ("Käfer", CareType::Nursery),
            ("Schnecken", CareType::Nursery),
            ("Füchse", CareType::Kindergarten),
            ("Eulen", CareType::Kindergarten),
            ("Bären", CareType::Kindergarten),
        ];
        let mut groups: Vec<(FacilityId, GroupId, CareType)> = Vec::new();
        for (fid, ..) in &facilities {
            for (gname, ct) in group_names {
                let gid = GroupId(id());
                push(&mut cmds, c::CreateGroup { group_id: gid, facility_id: *fid, name: gname.into(), care_type: ct }.into());
                groups.push((*fid, gid, ct));
            }
        }
        // Accounts of every role.
        let mut accounts = vec![("traeger".to_string(), Role::ProviderAdmin)];
        // (username, name, role, facility, groups). Staffing follows SächsKitaG §12 roughly:
        // about two educators per nursery group, one and a half per kindergarten group.
        let staff: &[(&str, &str, Role, Option<usize>, &[&str])] = &[
            ("leitung", "Sabine Sonnenschein", Role::Director, Some(0), &[]),
            ("leitung2", "Ralf Auenberg", Role::Director, Some(1), &[]),
            ("verwaltung", "Doreen Kassner", Role::Office, Some(0), &[]),
            ("erzieherin", "Jana Käferle", Role::Educator, Some(0), &["Käfer", "Füchse"]),
            ("erzieher2", "Mehmet Öztürk", Role::Educator, Some(0), &["Käfer"]),
            ("erzieherin3", "Lisa Auwald", Role::Educator, Some(1), &["Käfer"]),
            ("technik", "Tim Techniker", Role::TechAdmin, None, &[]),
            // Further educators (no demo PIN: they use the password).
            ("erz.kaefer", "Björn Krabbel", Role::Educator, Some(0), &["Käfer"]),
            ("erz.schnecken", "Katrin Schneck", Role::Educator, Some(0), &["Schnecken"]),
            ("erz.schnecken2", "Anke Langsam", Role::Educator, Some(0), &["Schnecken"]),
            ("erz.fuechse", "Özlem Fuchs", Role::Educator, Some(0), &["Füchse", "Eulen"]),
            ("erz.eulen", "Sven Eule", Role::Educator, Some(0), &["Eulen"]),
            ("erz.baeren", "Doreen Bär", Role::Educator, Some(0), &["Bären"]),
            ("erz.baeren2", "Julia Brumm", Role::Educator, Some(0), &["Bären"]),
            ("erz.auen1", "René Auer", Role::Educator, Some(1), &["Schnecken"]),
            ("erz.auen2", "Thomas Wiese", Role::Educator, Some(1), &["Füchse", "Eulen"]),
            ("erz.auen3", "Michael Weide", Role::Educator, Some(1), &["Bären"]),
        ];
        for (user, display, role, fac, my_groups) in staff {
            let uid = UserId(id());
            let fid = fac.map(|i: usize| facilities[i].0);
            cmds.push((
                c::CreateUser { user_id: uid, username: (*user).into(), display_name: (*display).into(), role: *role, facility_id: fid }
                    .into(),
                Some(DEMO_PASSWORD.to_string()),
            ));
            accounts.push((user.to_string(), *role));
            for name in *my_groups {
                let fid = fid.expect("educators belong to a facility");
                let g = group_names.iter().position(|(n, _)| n == name).expect("a demo group");
                let gid = groups.iter().filter(|x| x.0 == fid).nth(g).expect("groups per facility").1;
                push(&mut cmds, c::AssignStaff { group_id: gid, user_id: uid }.into());
            }
        }

        let mut children = 0;
        let mut contracts = Vec::new();
        let mut family_n = 0u64;
        // 120 children under contract, spread over the two facilities in proportion to capacity.
        let placed =
            [(0usize, CareType::Nursery, 24), (0, CareType::Kindergarten, 56), (1, CareType::Nursery, 15), (1, CareType::Kindergarten, 25)];
        let mut contract_children = Vec::new();
        // (last name, address, guardians) of placed families, for siblings.
        let mut families: Vec<Family> = Vec::new();
        for (fi, ct, count) in placed {
            let fid = facilities[fi].0;
            let fac_groups: Vec<GroupId> = groups.iter().filter(|g| g.0 == fid && g.2 == ct).map(|g| g.1).collect();
            for n in 0..count {
                let age_days = match ct {
                    CareType::Nursery => rng.gen_range(400..1000),
                    _ => rng.gen_range(1100..2250),
                };
                let out_of_town = rng.gen_bool(0.06);
                let group = Some(fac_groups[n % fac_groups.len()]);
                // About one child in seven is the younger sibling of a child already placed.
                let sibling_of = (ct == CareType::Nursery && !families.is_empty() && rng.gen_bool(0.3))
                    .then(|| families[rng.gen_range(0..families.len())].clone());
                let (child, guardian, is_sibling) = match sibling_of {
                    Some(fam) => (sibling(&mut rng, &mut cmds, fid, group, today - Duration::days(age_days), &fam), fam.1[0], true),
                    None => {
                        let (child, fam) =
                            person(&mut rng, &mut cmds, fid, group, today - Duration::days(age_days), out_of_town, &mut family_n);
                        // Siblings only in Leipzig families: out-of-town children would need a ticket each.
                        if !out_of_town {
                            families.push(fam.clone());
                        }
                        (child, fam.1[0], false)
                    }
                };
                if rng.gen_bool(0.4) {
                    let who = ["Gisela Krause (Großmutter)", "Dieter Krause (Großvater)", "Maren Lind (Tante)", "Jonas Lind (Nachbar)"];
                    let persons = vec![who[rng.gen_range(0..2)].to_string(), who[rng.gen_range(2..4)].to_string()];
                    push(&mut cmds, c::SetPickupPersons { child_id: child, persons }.into());
                }
                children += 1;
                push(
                    &mut cmds,
                    c::RecordHealth {
                        child_id: child,
                        measles_proof: Some(today - Duration::days(rng.gen_range(30..300))),
                        health_notes: health_note(&mut rng),
                    }
                    .into(),
                );
                let start = add_months(today, 0) - Duration::days(rng.gen_range(60..700));
                let start = NaiveDate::from_ymd_opt(start.year(), start.month(), 1).expect("valid");
                if out_of_town {
                    let t = TicketId(id());
                    push(&mut cmds, c::RequestTicket { ticket_id: t, child_id: child, home_municipality: "Markkleeberg".into() }.into());
                    push(
                        &mut cmds,
                        c::RecordTicketDecision {
                            ticket_id: t,
                            approved: true,
                            reference: format!("JA-MKB-{}", rng.gen_range(1000..9999)),
                        }
                        .into(),
                    );
                }
                let hours = [60u16, 70, 80, 90, 90, 90, 100][rng.gen_range(0..7)];
                let (app, res, con) = (ApplicationId(id()), ReservationId(id()), ContractId(id()));
                push(
                    &mut cmds,
                    c::SubmitApplication {
                        application_id: app,
                        child_id: child,
                        choices: vec![fid],
                        wanted_start: start,
                        care_type: ct,
                        care_hours: CareHours::from_tenths(hours).expect("valid"),
                        origin: ApplicationOrigin::Paper,
                    }
                    .into(),
                );
                push(&mut cmds, c::ReservePlace { reservation_id: res, application_id: app, facility_id: fid, start_date: start }.into());
                push(
                    &mut cmds,
                    c::ConcludeContract {
                        contract_id: con,
                        reservation_id: res,
                        start_date: start,
                        care_hours: CareHours::from_tenths(hours).expect("valid"),
                        settling_in_weeks: 4,
                    }
                    .into(),
                );
                // Children turning 6 before next August leave for school.
                if ct == CareType::Kindergarten && age_days > 1900 {
                    let school = NaiveDate::from_ymd_opt(today.year() + if today.month() >= 8 { 1 } else { 0 }, 7, 31).expect("valid");
                    push(&mut cmds, c::TerminateContract { contract_id: con, end_date: school, reason: "Schuleintritt".into() }.into());
                } else if rng.gen_bool(0.08) {
                    push(
                        &mut cmds,
                        c::AmendContract {
                            contract_id: con,
                            valid_from: add_months(today, 1),
                            care_hours: CareHours::from_tenths(90).expect("valid"),
                            note: "Erhöhung auf 9 Stunden".into(),
                        }
                        .into(),
                    );
                }
                if !is_sibling && rng.gen_bool(0.9) {
                    push(
                        &mut cmds,
                        c::SetGuardianFinance {
                            guardian_id: guardian,
                            income_cents: Some(rng.gen_range(2_400_000..9_000_000)),
                            iban: Some(demo_iban(family_n)),
                            account_holder: None,
                        }
                        .into(),
                    );
                    // Most families pay by direct debit; a few old mandates were never used and lapsed.
                    if rng.gen_bool(0.95) {
                        let signed_on = if rng.gen_bool(0.04) { today - Duration::days(4 * 365) } else { start.min(today) };
                        push(
                            &mut cmds,
                            c::RecordMandate {
                                mandate_id: MandateId(id()),
                                guardian_id: guardian,
                                reference: mandate_reference_for(&format!("KW{}", fi + 1), family_n as u32),
                                signed_on,
                            }
                            .into(),
                        );
                    }
                }
                contracts.push(con);
                contract_children.push((child, start));
            }
        }
        // 60 applications on the waiting list, some with a hold, some out of town.
        let mut open = 0;
        for n in 0..60 {
            let fi = n % 2;
            let fid = facilities[fi].0;
            let ct = if rng.gen_bool(0.6) { CareType::Nursery } else { CareType::Kindergarten };
            let age_days = match ct {
                CareType::Nursery => rng.gen_range(120..700),
                _ => rng.gen_range(1000..1700),
            };
            let out_of_town = rng.gen_bool(0.1);
            let (child, _) = person(&mut rng, &mut cmds, fid, None, today - Duration::days(age_days), out_of_town, &mut family_n);
            children += 1;
            if rng.gen_bool(0.85) {
                push(
                    &mut cmds,
                    c::RecordHealth {
                        child_id: child,
                        measles_proof: Some(today - Duration::days(rng.gen_range(10..200))),
                        health_notes: String::new(),
                    }
                    .into(),
                );
            }
            if out_of_town {
                push(
                    &mut cmds,
                    c::RequestTicket { ticket_id: TicketId(id()), child_id: child, home_municipality: "Schkeuditz".into() }.into(),
                );
            }
            let wanted = add_months(today, rng.gen_range(1..12));
            let mut choices = vec![fid];
            if rng.gen_bool(0.5) {
                choices.push(facilities[1 - fi].0);
            }
            let app = ApplicationId(id());
            push(
                &mut cmds,
                c::SubmitApplication {
                    application_id: app,
                    child_id: child,
                    choices,
                    wanted_start: wanted,
                    care_type: ct,
                    care_hours: CareHours::from_tenths([45u16, 60, 90, 90][rng.gen_range(0..4)]).expect("valid"),
                    origin: [ApplicationOrigin::Portal, ApplicationOrigin::Office, ApplicationOrigin::Paper][rng.gen_range(0..3)],
                }
                .into(),
            );
            if n % 12 == 5 {
                push(
                    &mut cmds,
                    c::ReservePlace { reservation_id: ReservationId(id()), application_id: app, facility_id: fid, start_date: wanted }
                        .into(),
                );
            } else {
                open += 1;
            }
        }
        // Attendance: the last 15 working days.
        let mut attendance = 0;
        let mut day = today - Duration::days(21);
        while day < today {
            if !matches!(day.weekday(), Weekday::Sat | Weekday::Sun) {
                for (child, start) in &contract_children {
                    if *start > day {
                        continue;
                    }
                    let roll: f64 = rng.gen();
                    if roll < 0.07 {
                        push(
                            &mut cmds,
                            c::RecordAttendance {
                                event_id: AttendanceEventId(id()),
                                child_id: *child,
                                date: day,
                                kind: AttendanceKind::Absence(AbsenceType::Sick),
                                at: at(day, 7, 45),
                                corrects: None,
                            }
                            .into(),
                        );
                        attendance += 1;
                    } else if roll < 0.09 {
                        push(
                            &mut cmds,
                            c::RecordAttendance {
                                event_id: AttendanceEventId(id()),
                                child_id: *child,
                                date: day,
                                kind: AttendanceKind::Absence(AbsenceType::Holiday),
                                at: at(day, 7, 30),
                                corrects: None,
                            }
                            .into(),
                        );
                        attendance += 1;
                    } else {
                        let (ih, im) = (rng.gen_range(6..9), rng.gen_range(0..60));
                        let (oh, om) = (rng.gen_range(14..17), rng.gen_range(0..60));
                        push(
                            &mut cmds,
                            c::RecordAttendance {
                                event_id: AttendanceEventId(id()),
                                child_id: *child,
                                date: day,
                                kind: AttendanceKind::CheckIn,
                                at: at(day, ih, im),
                                corrects: None,
                            }
                            .into(),
                        );
                        push(
                            &mut cmds,
                            c::RecordAttendance {
                                event_id: AttendanceEventId(id()),
                                child_id: *child,
                                date: day,
                                kind: AttendanceKind::CheckOut,
                                at: at(day, oh, om),
                                corrects: None,
                            }
                            .into(),
                        );
                        attendance += 2;
                    }
                }
            }
            day += Duration::days(1);
        }
        // Today: most children of the early shift are already there.
        if !matches!(today.weekday(), Weekday::Sat | Weekday::Sun) {
            for (child, start) in &contract_children {
                if *start <= today && rng.gen_bool(0.6) {
                    // Only arrivals that already happened: the Kita opens at 6:00.
                    let arrived = now - Duration::minutes(rng.gen_range(5..120));
                    if arrived >= at(today, 6, 0) {
                        push(
                            &mut cmds,
                            c::RecordAttendance {
                                event_id: AttendanceEventId(id()),
                                child_id: *child,
                                date: today,
                                kind: AttendanceKind::CheckIn,
                                at: arrived,
                                corrects: None,
                            }
                            .into(),
                        );
                        attendance += 1;
                    }
                }
            }
        }
        let n = cmds.len();
        self.execute_batch(&admin, cmds).await?;
        self.import_rule_set(&admin, "leipzig-2014.toml", LEIPZIG_RULES).await?;
        for account in self.list_accounts().await?.into_iter().filter(|a| !a.username.starts_with("erz.")) {
            let actor = self.actor(account.user_id).await?;
            self.set_own_pin(&actor, DEMO_PIN).await?;
        }
        // The demo stands for a Kita whose data the hub has long confirmed: its commands are
        // not waiting for sync. (Real work after this lands in the outbox as pending.)
        // Its effects are the base state, so there is nothing to undo.
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        sqlx::query("UPDATE outbox SET status = 'applied', in_log = 1, local_effect = 0").execute(&mut *tx).await?;
        sqlx::query("DELETE FROM sync_undo").execute(&mut *tx).await?;
        tx.commit().await?;
        self.seed_demo_inbox(&admin, (facilities[0].0, facilities[0].1), (facilities[1].0, facilities[1].1)).await?;
        self.seed_demo_city(&[facilities[0].0, facilities[1].0]).await?;
        Ok(DemoSummary {
            facilities: facilities.iter().map(|f| (f.0, f.1.to_string())).collect(),
            accounts,
            children,
            open_applications: open,
            contracts: contracts.len(),
            attendance_events: attendance,
            commands: n + 1,
        })
    }
}

impl Store {
    /// Two invented answers of the hub in the clarification inbox ("Klärungsbedarf"), so the
    /// offline demo shows what sync brings: a conflict on a child's last name (another PC
    /// changed it first) and a reservation the hub refused for lack of places, with the
    /// provider's second facility as the alternative. Written directly: they stand for hub
    /// answers, which are not commands of this PC.
    async fn seed_demo_inbox(&self, admin: &Actor, first: (FacilityId, &str), second: (FacilityId, &str)) -> Result<()> {
        let now = self.now();
        let director: Option<String> =
            sqlx::query_scalar("SELECT id FROM users WHERE username = 'leitung'").fetch_optional(&self.pool).await?;
        let child: Option<(String, String, String)> = sqlx::query_as(
            "SELECT id, first_name, last_name FROM children WHERE facility_id = ? ORDER BY last_name, first_name, id LIMIT 1",
        )
        .bind(first.0.to_string())
        .fetch_optional(&self.pool)
        .await?;
        let application: Option<(String, String, String)> = sqlx::query_as(
            "SELECT a.id, a.wanted_start, a.care_type FROM applications a
             JOIN application_choices ch ON ch.application_id = a.id AND ch.rank = 1
             WHERE a.state = 'open' AND ch.facility_id = ? ORDER BY a.wanted_start, a.id LIMIT 1",
        )
        .bind(first.0.to_string())
        .fetch_optional(&self.pool)
        .await?;
        let (Some((child_id, _first_name, last_name)), Some((app_id, start, care))) = (child, application) else {
            return Ok(());
        };
        let args = |c: Command| serde_json::to_value(c).expect("command serialises")["args"].to_string();
        let update = c::UpdateChild {
            child_id: child_id.parse().expect("a child id"),
            first_name: None,
            last_name: Some(format!("{last_name}-Brandt")),
            birth_date: None,
            address: None,
            municipality: None,
            group_id: None,
        };
        let theirs_at = now - Duration::hours(3);
        let conflict = Outcome::Conflict {
            record: format!("child:{child_id}"),
            fields: vec![FieldConflict {
                field: "last_name".into(),
                theirs: serde_json::json!(last_name),
                ours: serde_json::json!(update.last_name),
            }],
            theirs_by: Some(format!(
                "UpdateChild von Büro-PC 2 am {} {} UTC",
                kitakontor_core::de::date(theirs_at.date_naive()),
                theirs_at.format("%H:%M")
            )),
        };
        let start: NaiveDate = start.parse().expect("an ISO date");
        let care_type: CareType = serde_json::from_value(serde_json::json!(care)).expect("a care type");
        let free = self
            .occupancy(admin, second.0, start, 1)
            .await?
            .months
            .iter()
            .find(|m| m.care_type == care_type)
            .map_or(0, |m| m.free.max(0) as u32);
        let reserve = c::ReservePlace {
            reservation_id: ReservationId(id()),
            application_id: app_id.parse().expect("an application id"),
            facility_id: first.0,
            start_date: start,
        };
        let rejected = Outcome::Rejected {
            code: "no_place".into(),
            message: format!(
                "Kein freier {}-Platz ab {} in {}: der Hub hat den letzten Platz bereits einer anderen Reservierung gegeben.",
                care_type.label_de(),
                kitakontor_core::de::date(start),
                first.1
            ),
            alternatives: vec![Alternative { facility_id: second.0, facility_name: second.1.into(), free_places: free }],
        };
        let rows = [
            ("ReservePlace", args(reserve.into()), rejected, now - Duration::hours(26)),
            ("UpdateChild", args(update.into()), conflict, now - Duration::hours(2)),
        ];
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        for (name, args, outcome, at) in rows {
            sqlx::query("INSERT INTO inbox (command_id, name, args, user_id, outcome, created_at) VALUES (?, ?, ?, ?, ?, ?)")
                .bind(CommandId(id()).to_string())
                .bind(name)
                .bind(args)
                .bind(&director)
                .bind(serde_json::to_string(&outcome).expect("outcome serialises"))
                .bind(crate::time::ts(at))
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }
}

/// The spelling variant an office elsewhere might have typed (for the demo's city proposals).
fn spelling_variant(last: &str) -> Option<&'static str> {
    Some(match last {
        "Müller" => "Mueller",
        "Schmidt" => "Schmitt",
        "Meyer" => "Maier",
        "Schäfer" => "Schaefer",
        "Krüger" => "Krueger",
        "Schröder" => "Schroeder",
        "Hoffmann" => "Hofmann",
        "Köhler" => "Koehler",
        "Groß" => "Gross",
        _ => return None,
    })
}

impl Store {
    /// What a sync round would have brought from the hub's city rules, so the offline demo
    /// shows the "Stadtabgleich" screen: duplicate proposals (a demo child registered again
    /// elsewhere, spelt differently; invented facilities of other providers) and the registry
    /// status of every child (out-of-town children are not found in Leipzig's registry). Written
    /// into the cache directly, as the sync engine does; one transaction per facility.
    async fn seed_demo_city(&self, facilities: &[FacilityId]) -> Result<()> {
        use kitakontor_core::protocol::city::*;
        let now = self.now();
        let fetched_at = now - Duration::minutes(40);
        let extract = RegistryImport {
            id: id(),
            imported_at: now - Duration::days(2),
            file_name: "melderegister-leipzig-kinder.csv".into(),
            rows: 48_213,
            encoding: "UTF-8".into(),
        };
        for (n, facility) in facilities.iter().enumerate() {
            type Row = (String, String, String, String, String);
            let children: Vec<Row> = sqlx::query_as(
                "SELECT id, first_name, last_name, birth_date, municipality FROM children WHERE facility_id = ?
                 ORDER BY last_name, first_name, birth_date, id",
            )
            .bind(facility.to_string())
            .fetch_all(&self.pool)
            .await?;
            let born = |d: &str| d.parse::<NaiveDate>().expect("an ISO date");
            let own = |r: &Row| OwnChild {
                child_id: r.0.parse().expect("a child id"),
                first_name: r.1.clone(),
                last_name: r.2.clone(),
                birth_date: born(&r.3),
            };
            // (the other child's facility, spelt differently (else: same address), decided days ago)
            let plans: &[(&str, bool, Option<i64>)] = if n == 0 {
                &[("Kita Pusteblume", true, None), ("Kita Löwenzahn", false, None), ("Kita Regenbogen", true, Some(3))]
            } else {
                &[("Kita Pusteblume", true, None)]
            };
            let mut proposals = Vec::new();
            let mut candidates = children.iter().filter(|r| spelling_variant(&r.2).is_some());
            for (facility_name, variant, decided) in plans {
                let Some(r) = candidates.next() else { break };
                let child = own(r);
                let (first, last, score, reason) = if *variant {
                    let last = spelling_variant(&r.2).expect("filtered").to_string();
                    (r.1.clone(), last, 70, "gleiches Geburtsdatum, Nachname klingt gleich, gleicher Vorname")
                } else {
                    (ascii_name(&r.1), r.2.clone(), 100, "gleiches Geburtsdatum, gleicher Nachname, gleicher Vorname, gleiche Anschrift")
                };
                proposals.push(DuplicateView {
                    id: id(),
                    reason: reason.into(),
                    score,
                    state: if decided.is_some() { ProposalState::Confirmed } else { ProposalState::Open },
                    decided_at: decided.map(|d| now - Duration::days(d)),
                    other: OtherChild {
                        first_name: first,
                        last_name: last,
                        birth_date: child.birth_date,
                        facility_name: (*facility_name).into(),
                    },
                    child,
                });
            }
            let registry = RegistryStatus {
                extract: Some(extract.clone()),
                children: children
                    .iter()
                    .enumerate()
                    .map(|(i, r)| {
                        let (status, registry_name) = if r.4 != "Leipzig" {
                            (Some(MatchStatus::NotFound), None)
                        } else if i == children.len() - 1 {
                            (None, None)
                        } else if i % 29 == 7 {
                            (Some(MatchStatus::Ambiguous), None)
                        } else if let Some(v) = spelling_variant(&r.2).filter(|_| i % 3 == 0) {
                            (Some(MatchStatus::MatchedPhonetic), Some(format!("{} {v}", r.1)))
                        } else {
                            (Some(MatchStatus::Matched), Some(format!("{} {}", r.1, r.2)))
                        };
                        let o = own(r);
                        ChildRegistryStatus {
                            child_id: o.child_id,
                            first_name: o.first_name,
                            last_name: o.last_name,
                            birth_date: o.birth_date,
                            status,
                            registry_name,
                            checked_at: status.map(|_| now - Duration::days(2) + Duration::hours(1)),
                        }
                    })
                    .collect(),
            };
            self.store_city_snapshot(*facility, &proposals, &registry, fetched_at).await?;
        }
        Ok(())
    }
}

/// A first name as an office without umlauts on its keyboard types it ("Jördis" → "Joerdis").
fn ascii_name(s: &str) -> String {
    s.replace('ä', "ae")
        .replace('ö', "oe")
        .replace('ü', "ue")
        .replace('Ö', "Oe")
        .replace('Ä', "Ae")
        .replace('Ü', "Ue")
        .replace(['é', 'ë'], "e")
}

/// A wall-clock time of the PC's time zone (the Kita's), as UTC.
fn at(day: NaiveDate, h: u32, m: u32) -> chrono::DateTime<chrono::Utc> {
    use chrono::TimeZone;
    let local = day.and_hms_opt(h, m, 0).expect("valid time");
    chrono::Local.from_local_datetime(&local).earliest().map(|t| t.with_timezone(&chrono::Utc)).unwrap_or_else(|| local.and_utc())
}

fn health_note(rng: &mut StdRng) -> String {
    match rng.gen_range(0..10) {
        0 => "Laktoseintoleranz".into(),
        1 => "Erdnussallergie – Notfallset im Gruppenraum".into(),
        2 => "Asthma, Spray bei Bedarf".into(),
        _ => String::new(),
    }
}

/// A family of the demo: last name, address and municipality, guardians.
type Family = ((String, Address, String), Vec<GuardianId>);

/// A child with one or two guardians; returns the child and its family.
fn person(
    rng: &mut StdRng,
    cmds: &mut Vec<(Command, Option<String>)>,
    facility: FacilityId,
    group: Option<GroupId>,
    birth: NaiveDate,
    out_of_town: bool,
    family_n: &mut u64,
) -> (ChildId, Family) {
    *family_n += 1;
    let last = LAST[rng.gen_range(0..LAST.len())];
    let (city, plz, municipality) = if out_of_town { ("Markkleeberg", "04416", "Markkleeberg") } else { ("Leipzig", "04177", "Leipzig") };
    let address = Address {
        street: format!("{} {}", STREETS[rng.gen_range(0..STREETS.len())], rng.gen_range(1..120)),
        postal_code: plz.into(),
        city: city.into(),
    };
    let home = (last.to_string(), address.clone(), municipality.to_string());
    let child = child_at_home(rng, cmds, facility, group, birth, &home);
    let single = rng.gen_bool(0.2);
    let parents = if single { 1 } else { 2 };
    let guardians: Vec<GuardianId> = (0..parents).map(|_| GuardianId(id())).collect();
    for &gid in &guardians {
        let first = PARENT_FIRST[rng.gen_range(0..PARENT_FIRST.len())];
        cmds.push((
            c::AddGuardian {
                guardian_id: gid,
                child_id: child,
                first_name: first.into(),
                last_name: last.into(),
                email: format!("{}.{}@example.org", ascii(first), ascii(last)),
                phone: format!("0341 {}", rng.gen_range(1_000_000..9_999_999)),
                address: address.clone(),
                single_parent: single,
            }
            .into(),
            None,
        ));
    }
    (child, (home, guardians))
}

/// A child of the family living at `home` (last name, address, municipality).
fn child_at_home(
    rng: &mut StdRng,
    cmds: &mut Vec<(Command, Option<String>)>,
    facility: FacilityId,
    group: Option<GroupId>,
    birth: NaiveDate,
    home: &(String, Address, String),
) -> ChildId {
    let child = ChildId(id());
    cmds.push((
        c::CreateChild {
            child_id: child,
            facility_id: facility,
            group_id: group,
            first_name: FIRST[rng.gen_range(0..FIRST.len())].into(),
            last_name: home.0.clone(),
            birth_date: birth,
            address: home.1.clone(),
            municipality: home.2.clone(),
        }
        .into(),
        None,
    ));
    child
}

/// A younger sibling of a placed child: same family name, address and guardians.
fn sibling(
    rng: &mut StdRng,
    cmds: &mut Vec<(Command, Option<String>)>,
    facility: FacilityId,
    group: Option<GroupId>,
    birth: NaiveDate,
    family: &Family,
) -> ChildId {
    let (home, guardians) = family;
    let child = child_at_home(rng, cmds, facility, group, birth, home);
    for g in guardians {
        cmds.push((c::LinkGuardian { guardian_id: *g, child_id: child }.into(), None));
    }
    child
}

fn ascii(s: &str) -> String {
    s.to_lowercase().replace('ä', "ae").replace('ö', "oe").replace('ü', "ue").replace('ß', "ss").replace('ı', "i").replace(['é', 'ë'], "e")
}

#[cfg(test)]
mod tests {
    #[test]
    fn demo_ibans_are_valid() {
        for n in [1, 42, 9_999_999_999] {
            kitakontor_core::person::normalise_iban(&super::demo_iban(n)).unwrap();
        }
    }
}
