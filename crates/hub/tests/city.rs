//! City rules on the real PostgreSQL: duplicate proposals across providers (spelling
//! variants, not siblings), scoped to the involved facilities over HTTP; the residents'
//! registry extract (all-or-nothing import) and matching. Invented names only.

mod common;

use chrono::NaiveDate;
use common::*;
use kitakontor_core::command as c;
use kitakontor_core::ids::*;
use kitakontor_core::person::Address;
use kitakontor_core::protocol::ErrorBody;
use kitakontor_hub::duplicates::DuplicateView;
use kitakontor_hub::registry::{MatchReport, MatchStatus, RegistryStatus};
use kitakontor_hub::HubError;
use reqwest::StatusCode;
use uuid::Uuid;

const FAC_D: FacilityId = FacilityId(Uuid::from_u128(0x0193_0000_0000_7000_8000_0000_0000_00f4));

impl Server {
    async fn get(&self, d: &Device, path: &str) -> reqwest::Response {
        self.client.get(format!("{}{path}", self.base)).bearer_auth(&d.tokens.access_token).send().await.unwrap()
    }

    async fn decide(&self, d: &Device, id: Uuid, body: serde_json::Value) -> reqwest::Response {
        self.client
            .post(format!("{}/city/duplicates/{id}", self.base))
            .bearer_auth(&d.tokens.access_token)
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    async fn duplicates(&self, d: &Device) -> Vec<DuplicateView> {
        let resp = self.get(d, "/city/duplicates").await;
        assert_eq!(resp.status(), StatusCode::OK);
        resp.json().await.unwrap()
    }
}

fn child(facility: FacilityId, first: &str, last: &str, born: NaiveDate, street: &str, postal: &str) -> c::CreateChild {
    c::CreateChild {
        birth_date: born,
        address: Address { street: street.into(), postal_code: postal.into(), city: "Leipzig".into() },
        ..new_child(facility, first, last)
    }
}

async fn create(d: &mut Device, hub: &kitakontor_hub::Hub, c: c::CreateChild) -> ChildId {
    let id = c.child_id;
    assert!(d.send(hub, c, &[r("child", id)]).await.is_applied());
    id
}

async fn proposals(hub: &kitakontor_hub::Hub) -> Vec<(Uuid, Uuid, String)> {
    sqlx::query_as("SELECT least(child_a, child_b), greatest(child_a, child_b), state FROM duplicate_proposals ORDER BY 1, 2")
        .fetch_all(hub.pool())
        .await
        .unwrap()
}

fn pair(a: ChildId, b: ChildId) -> (Uuid, Uuid) {
    (a.0.min(b.0), a.0.max(b.0))
}

#[tokio::test]
async fn duplicates_across_providers_are_proposed_and_decided_only_by_involved_facilities() {
    let e = env().await;
    city(&e.hub).await;
    e.hub.upsert_facility(facility(FAC_D, OTHER_PROVIDER, "Kita Löwenzahn", 3, 3)).await.unwrap();
    let mut pc_a = enrol(&e.hub, FAC_A, "PC A").await; // provider 1
    let mut pc_d = enrol(&e.hub, FAC_D, "PC D").await; // provider 2
    let pc_c = enrol(&e.hub, FAC_C, "PC C").await; // not involved
    let born = day(2023, 5, 17);

    // Facility A: Jürgen Meier and his sister (same address and last name, other first name and birth date).
    let juergen = create(&mut pc_a, &e.hub, child(FAC_A, "Jürgen", "Meier", born, "Lindenstraße 4", "04109")).await;
    let frieda = create(&mut pc_a, &e.hub, child(FAC_A, "Frieda", "Meier", day(2021, 2, 3), "Lindenstraße 4", "04109")).await;
    // Facility D (other provider): the same boy, spelt differently; a different address.
    let juergen_d = create(&mut pc_d, &e.hub, child(FAC_D, "Juergen", "Maier", born, "Birkenweg 9", "04105")).await;
    // Paula at D first, then at A as "Schmidt" at the same address written differently.
    let paula_d = create(&mut pc_d, &e.hub, child(FAC_D, "Paula", "Schmitt", day(2022, 1, 10), "Ahornstr. 7", "04107")).await;
    let paula_a = create(&mut pc_a, &e.hub, child(FAC_A, "Paula", "Schmidt", day(2022, 1, 10), "Ahornstraße 7", "04107")).await;
    // Not a duplicate: same name, other birth date.
    create(&mut pc_d, &e.hub, child(FAC_D, "Jürgen", "Meier", day(2023, 5, 18), "Lindenstraße 4", "04109")).await;

    // Found when the hub applied the children (the apply hook), none for the sister.
    let found = proposals(&e.hub).await;
    let mut expected = vec![
        (pair(juergen, juergen_d).0, pair(juergen, juergen_d).1, "open".to_string()),
        (pair(paula_a, paula_d).0, pair(paula_a, paula_d).1, "open".to_string()),
    ];
    expected.sort();
    assert_eq!(found, expected);
    assert!(found.iter().all(|(a, b, _)| ![*a, *b].contains(&frieda.0)));
    // The full scan finds nothing new, and finds the same again from scratch.
    assert_eq!(e.hub.detect_duplicates().await.unwrap(), 0);
    sqlx::query("DELETE FROM duplicate_proposals").execute(e.hub.pool()).await.unwrap();
    assert_eq!(e.hub.detect_duplicates().await.unwrap(), 2);
    assert_eq!(proposals(&e.hub).await, expected);
    // An update is checked again (cheap: same birth date): nothing new, no second row per pair.
    let upd = c::UpdateChild {
        child_id: juergen_d,
        first_name: Some("Jürgen".into()),
        last_name: None,
        birth_date: None,
        address: None,
        municipality: None,
        group_id: None,
    };
    assert!(pc_d.send(&e.hub, upd, &[r("child", juergen_d)]).await.is_applied());
    assert_eq!(proposals(&e.hub).await.len(), 2);

    let s = serve(&e).await;
    // No token: 401.
    let anon = s.client.get(format!("{}/city/duplicates", s.base)).send().await.unwrap();
    assert_eq!(anon.status(), StatusCode::UNAUTHORIZED);
    // The uninvolved facility C sees nothing.
    assert!(s.duplicates(&pc_c).await.is_empty());
    // A sees both, with only name, birth date and the other facility's name of the other child.
    let raw: serde_json::Value = s.get(&pc_a, "/city/duplicates").await.json().await.unwrap();
    let other_keys: Vec<String> = raw[0]["other"].as_object().unwrap().keys().cloned().collect();
    assert_eq!(other_keys.len(), 4, "{raw}");
    for k in ["first_name", "last_name", "birth_date", "facility_name"] {
        assert!(other_keys.iter().any(|x| x == k), "{raw}");
    }
    let text = raw.to_string();
    assert!(!text.contains("Birkenweg") && !text.contains("guardian") && !text.contains("04105"), "{text}");
    let list_a = s.duplicates(&pc_a).await;
    assert_eq!(list_a.len(), 2);
    let jp = list_a.iter().find(|v| v.child.child_id == juergen.0).unwrap();
    assert_eq!((jp.other.first_name.as_str(), jp.other.last_name.as_str()), ("Jürgen", "Maier"));
    assert_eq!(jp.other.facility_name, "Kita Löwenzahn");
    assert_eq!(jp.other.birth_date, born);
    assert_eq!(jp.state, "open");
    assert!(jp.reason.contains("gleiches Geburtsdatum") && jp.reason.contains("Nachname klingt gleich"), "{}", jp.reason);
    let pp = list_a.iter().find(|v| v.child.child_id == paula_a.0).unwrap();
    assert!(pp.reason.contains("gleiche Anschrift"), "{}", pp.reason);
    assert_eq!(pp.other.facility_name, "Kita Löwenzahn");
    // D sees them from its side.
    let list_d = s.duplicates(&pc_d).await;
    assert_eq!(list_d.len(), 2);
    assert!(list_d.iter().all(|v| v.other.facility_name == "Kita Sonnenblume"));

    // C may not decide (not found, nothing changes); unknown ids and bad bodies are refused.
    let resp = s.decide(&pc_c, jp.id, serde_json::json!({"decision": "confirmed"})).await;
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    assert_eq!(resp.json::<ErrorBody>().await.unwrap().code, "not_found");
    assert_eq!(s.decide(&pc_a, Uuid::now_v7(), serde_json::json!({"decision": "confirmed"})).await.status(), StatusCode::NOT_FOUND);
    assert_eq!(s.decide(&pc_a, jp.id, serde_json::json!({"decision": "merged"})).await.status(), StatusCode::BAD_REQUEST);
    assert!(proposals(&e.hub).await.iter().all(|p| p.2 == "open"));

    // A confirms Jürgen: recorded as "same child", nothing deleted.
    let resp = s.decide(&pc_a, jp.id, serde_json::json!({"decision": "confirmed"})).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let v: DuplicateView = resp.json().await.unwrap();
    assert_eq!(v.state, "confirmed");
    assert!(v.decided_at.is_some());
    let by: Option<Uuid> = sqlx::query_scalar("SELECT decided_by_device FROM duplicate_proposals WHERE id = $1")
        .bind(jp.id)
        .fetch_one(e.hub.pool())
        .await
        .unwrap();
    assert_eq!(by, Some(pc_a.auth.device_id.0));
    let children: i64 = sqlx::query_scalar("SELECT count(*) FROM children").fetch_one(e.hub.pool()).await.unwrap();
    assert_eq!(children, 6);
    // D sees it confirmed; the same decision again is fine, the opposite is refused.
    assert_eq!(s.duplicates(&pc_d).await.iter().find(|x| x.id == jp.id).unwrap().state, "confirmed");
    assert_eq!(s.decide(&pc_d, jp.id, serde_json::json!({"decision": "confirmed"})).await.status(), StatusCode::OK);
    assert_eq!(s.decide(&pc_d, jp.id, serde_json::json!({"decision": "rejected"})).await.status(), StatusCode::BAD_REQUEST);
    // D rejects the Paula pair; a rescan does not propose it again.
    assert_eq!(s.decide(&pc_d, pp.id, serde_json::json!({"decision": "rejected"})).await.status(), StatusCode::OK);
    assert_eq!(e.hub.detect_duplicates().await.unwrap(), 0);
    let mut states: Vec<String> = proposals(&e.hub).await.into_iter().map(|p| p.2).collect();
    states.sort();
    assert_eq!(states, vec!["confirmed", "rejected"]);
    // The administrator's list.
    let rows = e.hub.duplicate_proposals().await.unwrap();
    assert_eq!(rows.len(), 2);
    assert!(rows.iter().any(|r| r.a.contains("Kita Löwenzahn") || r.b.contains("Kita Löwenzahn")));

    // Deleting a child's file removes its proposals.
    assert!(pc_d.send(&e.hub, c::DeleteChild { child_id: paula_d }, &[r("child", paula_d)]).await.is_applied());
    assert_eq!(proposals(&e.hub).await.len(), 1);
    s.stop().await;
}

const HEADER: &str = "Familienname;Vornamen;Geburtsdatum (TT.MM.JJJJ);Straße;Hausnummer;PLZ;Ort;Gemeindeschlüssel\n";

fn good_file() -> String {
    format!(
        "\u{feff}{HEADER}\
         Meier;Jürgen Paul;17.05.2023;Lindenstraße;4;04109;Leipzig;14713000\n\
         Mayer;Paula;10.01.2022;Ahornstraße;7;04109;Leipzig;14713000\n\
         Krause;Lotta;09.09.2021;Birkenweg;9;04109;Leipzig;14713000\n\
         Krause;Lotta;09.09.2021;Ulmenallee;12;04109;Leipzig;14713000\n\
         Schulze;Emil;06.06.2022;Eichenstraße;1;04105;Leipzig;14713000\n"
    )
}

#[tokio::test]
async fn the_registry_extract_is_imported_all_or_nothing_and_children_are_matched() {
    let e = env().await;
    city(&e.hub).await;
    let mut pc_a = enrol(&e.hub, FAC_A, "PC A").await;
    let pc_b = enrol(&e.hub, FAC_B, "PC B").await;

    let matched = create(&mut pc_a, &e.hub, child(FAC_A, "Jürgen", "Meier", day(2023, 5, 17), "Lindenstraße 4", "04109")).await;
    let phonetic = create(&mut pc_a, &e.hub, child(FAC_A, "Paula", "Maier", day(2022, 1, 10), "Ahornstraße 7", "04109")).await;
    let ambiguous = create(&mut pc_a, &e.hub, child(FAC_A, "Lotta", "Krause", day(2021, 9, 9), "Birkenweg 9", "04109")).await;
    // Emil lives in 04105 per the registry; the office has 04109: not found.
    let not_found = create(&mut pc_a, &e.hub, child(FAC_A, "Emil", "Schulze", day(2022, 6, 6), "Eichenstraße 1", "04109")).await;

    // No extract yet: matching is refused.
    assert!(matches!(e.hub.match_registry().await, Err(HubError::BadRequest(_))));
    assert!(e.hub.registry_import().await.unwrap().is_none());

    let first = e.hub.import_registry("melde-2026-11.csv", good_file().as_bytes()).await.unwrap();
    assert_eq!((first.rows, first.encoding.as_str(), first.imported_at), (5, "UTF-8", start_time()));
    let report = e.hub.match_registry().await.unwrap();
    assert_eq!(report, MatchReport { children: 4, matched: 1, matched_phonetic: 1, not_found: 1, ambiguous: 1 });

    // A file with a bad date in line 3: refused with line and column, nothing stored, the previous extract stays.
    let bad = good_file().replace("10.01.2022", "10.13.2022");
    let err = e.hub.import_registry("kaputt.csv", bad.as_bytes()).await.unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("Zeile 3, Spalte 3 (Geburtsdatum (TT.MM.JJJJ)): „10.13.2022“"), "{msg}");
    assert_eq!(err.status(), 400);
    assert_eq!(e.hub.registry_import().await.unwrap(), Some(first.clone()));
    let residents: i64 = sqlx::query_scalar("SELECT count(*) FROM registry_residents").fetch_one(e.hub.pool()).await.unwrap();
    assert_eq!(residents, 5);

    // The facility's view over HTTP.
    let s = serve(&e).await;
    let resp = s.get(&pc_a, "/city/registry-status").await;
    assert_eq!(resp.status(), StatusCode::OK);
    let status: RegistryStatus = resp.json().await.unwrap();
    assert_eq!(status.extract.as_ref().map(|x| x.rows), Some(5));
    let of = |id: ChildId| status.children.iter().find(|c| c.child_id == id.0).unwrap();
    assert_eq!(of(matched).status, Some(MatchStatus::Matched));
    assert_eq!(of(matched).registry_name.as_deref(), Some("Jürgen Paul Meier"));
    assert_eq!(of(phonetic).status, Some(MatchStatus::MatchedPhonetic));
    assert_eq!(of(phonetic).registry_name.as_deref(), Some("Paula Mayer"));
    assert_eq!(of(ambiguous).status, Some(MatchStatus::Ambiguous));
    assert_eq!(of(not_found).status, Some(MatchStatus::NotFound));
    assert_eq!(of(not_found).checked_at, Some(start_time()));
    // Another facility sees none of A's children.
    let other: RegistryStatus = s.get(&pc_b, "/city/registry-status").await.json().await.unwrap();
    assert!(other.children.is_empty());

    // Child data is never overwritten by the registry's spelling.
    let name: (String, String) =
        sqlx::query_as("SELECT first_name, last_name FROM children WHERE id = $1").bind(phonetic.0).fetch_one(e.hub.pool()).await.unwrap();
    assert_eq!(name, ("Paula".to_string(), "Maier".to_string()));

    // A new extract replaces the old one (and its statuses); matching again uses it.
    let second = format!("{HEADER}Schulze;Emil;06.06.2022;Eichenstraße;1;04109;Leipzig;14713000\n");
    let imported = e.hub.import_registry("melde-2026-12.csv", second.as_bytes()).await.unwrap();
    assert_eq!(imported.rows, 1);
    assert_eq!(e.hub.registry_import().await.unwrap(), Some(imported));
    let unchecked: i64 = sqlx::query_scalar("SELECT count(*) FROM registry_matches").fetch_one(e.hub.pool()).await.unwrap();
    assert_eq!(unchecked, 0);
    let report = e.hub.match_registry().await.unwrap();
    assert_eq!(report, MatchReport { children: 4, matched: 1, matched_phonetic: 0, not_found: 3, ambiguous: 0 });
    // Stopping the server closes the hub's pool: last.
    s.stop().await;
}
