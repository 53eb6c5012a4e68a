//! Enrolment, tokens, revocation and the device's scope.

mod common;

use chrono::Duration;
use common::*;
use kitakontor_core::protocol::{EnrolRequest, RefreshRequest};
use kitakontor_hub::HubError;

#[tokio::test]
async fn a_code_works_once_and_binds_the_facility() {
    let e = env().await;
    city(&e.hub).await;
    let code = e.hub.create_enrolment_code(FAC_A, Duration::hours(72)).await.unwrap();
    assert_eq!(code.len(), 23, "4 groups of 5 characters: {code}");
    // Typed sloppily: lower case, spaces instead of dashes.
    let typed = code.to_lowercase().replace('-', " ");
    let reply = e.hub.enrol(EnrolRequest { code: typed, device_name: "Büro-PC 1".into() }).await.unwrap();
    assert_eq!(reply.facility_id, FAC_A);
    assert_eq!(reply.provider_id, PROVIDER);
    assert_eq!(reply.tokens.access_expires_at, start_time() + Duration::hours(1));
    let again = e.hub.enrol(EnrolRequest { code: code.clone(), device_name: "Büro-PC 2".into() }).await;
    assert!(matches!(again, Err(HubError::InvalidCode)), "{again:?}");

    // The code is stored only as its SHA-256 (of the canonical form), never in plain text.
    let (hashed, plain): (i64, i64) = sqlx::query_as(
        "SELECT count(*) FILTER (WHERE code_hash = sha256(convert_to($1, 'UTF8'))),
                count(*) FILTER (WHERE position(convert_to($1, 'UTF8') IN code_hash) > 0) FROM enrolment_codes",
    )
    .bind(code.replace('-', ""))
    .fetch_one(e.hub.pool())
    .await
    .unwrap();
    assert_eq!((hashed, plain), (1, 0));

    // The device's scope comes from the enrolment.
    let auth = e.hub.authenticate(&reply.tokens.access_token).await.unwrap();
    assert_eq!((auth.device_id, auth.facility_id, auth.provider_id), (reply.device_id, FAC_A, PROVIDER));
    let devices = e.hub.devices().await.unwrap();
    assert_eq!(devices.len(), 1);
    assert_eq!(devices[0].name, "Büro-PC 1");
    assert_eq!(devices[0].facility_name, "Kita Sonnenblume");
}

#[tokio::test]
async fn expired_and_unknown_codes_are_refused() {
    let e = env().await;
    city(&e.hub).await;
    let code = e.hub.create_enrolment_code(FAC_B, Duration::hours(2)).await.unwrap();
    e.clock.advance(Duration::hours(2));
    let r = e.hub.enrol(EnrolRequest { code, device_name: "PC".into() }).await;
    assert!(matches!(r, Err(HubError::InvalidCode)), "{r:?}");
    let r = e.hub.enrol(EnrolRequest { code: "00000-00000-00000-00000".into(), device_name: "PC".into() }).await;
    assert!(matches!(r, Err(HubError::InvalidCode)));
    let r = e.hub.enrol(EnrolRequest { code: "kein code".into(), device_name: "PC".into() }).await;
    assert!(matches!(r, Err(HubError::InvalidCode)));
    // Only for facilities the hub knows.
    let r = e.hub.create_enrolment_code(kitakontor_core::ids::FacilityId(uuid::Uuid::now_v7()), Duration::hours(1)).await;
    assert!(matches!(r, Err(HubError::NotFound(_))), "{r:?}");
}

#[tokio::test]
async fn tokens_expire_refresh_rotates_and_revocation_is_final() {
    let e = env().await;
    city(&e.hub).await;
    let d = enrol(&e.hub, FAC_A, "Büro-PC 1").await;
    assert!(matches!(e.hub.authenticate("unknown").await, Err(HubError::Unauthorized)));

    // The access token runs out after an hour by the hub's clock.
    e.clock.advance(Duration::minutes(61));
    assert!(matches!(e.hub.authenticate(&d.tokens.access_token).await, Err(HubError::Unauthorized)));

    // Refresh: a new pair; the old refresh token stops working.
    let fresh = e.hub.refresh(RefreshRequest { device_id: d.auth.device_id, refresh_token: d.tokens.refresh_token.clone() }).await.unwrap();
    assert_ne!(fresh.access_token, d.tokens.access_token);
    assert_ne!(fresh.refresh_token, d.tokens.refresh_token);
    assert_eq!(e.hub.authenticate(&fresh.access_token).await.unwrap(), d.auth);
    let old = e.hub.refresh(RefreshRequest { device_id: d.auth.device_id, refresh_token: d.tokens.refresh_token.clone() }).await;
    assert!(matches!(old, Err(HubError::Unauthorized)), "{old:?}");
    // A refresh token belongs to its device.
    let other = enrol(&e.hub, FAC_B, "PC B").await;
    let wrong = e.hub.refresh(RefreshRequest { device_id: other.auth.device_id, refresh_token: fresh.refresh_token.clone() }).await;
    assert!(matches!(wrong, Err(HubError::Unauthorized)));

    // Revoked: access and refresh both answer Revoked.
    e.hub.revoke_device(d.auth.device_id).await.unwrap();
    assert!(matches!(e.hub.authenticate(&fresh.access_token).await, Err(HubError::Revoked)));
    let r = e.hub.refresh(RefreshRequest { device_id: d.auth.device_id, refresh_token: fresh.refresh_token }).await;
    assert!(matches!(r, Err(HubError::Revoked)), "{r:?}");
    assert!(e.hub.devices().await.unwrap().iter().any(|x| x.device_id == d.auth.device_id && x.revoked_at.is_some()));
    // The other device is untouched.
    assert_eq!(e.hub.authenticate(&other.tokens.access_token).await.unwrap().facility_id, FAC_B);
}

#[tokio::test]
async fn refresh_tokens_run_out_after_90_days() {
    let e = env().await;
    city(&e.hub).await;
    let d = enrol(&e.hub, FAC_A, "PC").await;
    e.clock.advance(Duration::days(90));
    let r = e.hub.refresh(RefreshRequest { device_id: d.auth.device_id, refresh_token: d.tokens.refresh_token }).await;
    assert!(matches!(r, Err(HubError::Unauthorized)), "{r:?}");
}

#[tokio::test]
async fn a_device_acts_only_in_its_own_facility() {
    let e = env().await;
    city(&e.hub).await;
    let mut a = enrol(&e.hub, FAC_A, "PC A").await;
    let mut b = enrol(&e.hub, FAC_B, "PC B").await;
    let (child, _) = child_with_application(&mut a, &e.hub, "Anna").await;

    // B names A's child: out of scope, whatever B claims.
    let update = kitakontor_core::command::UpdateChild {
        child_id: child,
        first_name: Some("Hanna".into()),
        last_name: None,
        birth_date: None,
        address: None,
        municipality: None,
        group_id: None,
    };
    let o = b.send(&e.hub, update.clone(), &[r("child", child)]).await;
    assert_eq!(rejected_code(&o), Some("out_of_scope"), "{o:?}");
    // Leaving the record out of base_versions does not help.
    let o = b.send(&e.hub, update, &[]).await;
    assert_eq!(rejected_code(&o), Some("out_of_scope"), "{o:?}");
    // Creating a child in another facility is refused too.
    let o = b.send(&e.hub, new_child(FAC_A, "Max", "Fremd"), &[]).await;
    assert_eq!(rejected_code(&o), Some("out_of_scope"), "{o:?}");
    // And a facility's master data only from its own devices.
    let o = b.send(&e.hub, facility(FAC_A, PROVIDER, "Übernommen", 1, 1), &[r("facility", FAC_A)]).await;
    assert_eq!(rejected_code(&o), Some("out_of_scope"), "{o:?}");
    let children: Vec<String> = sqlx::query_scalar("SELECT first_name FROM children").fetch_all(e.hub.pool()).await.unwrap();
    assert_eq!(children, vec!["Anna"]);
}
