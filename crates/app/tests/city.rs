//! "Stadtabgleich" through the app layer on the demo (offline, not enrolled): the cached
//! proposals and registry statuses for the roles that manage the waiting list, refusals for
//! the others, a decision queued as "wird gesendet", and bad input refused in German.

use kitakontor_app::dto::DecideDuplicateInput;
use kitakontor_core::protocol::city::{Decision, MatchStatus, ProposalState};
use kitakontor_store::city::ProposalStatus;

mod common;
use common::{code, demo_app, login};

#[tokio::test]
async fn only_directors_and_provider_admins_see_and_decide() {
    let (_d, app) = demo_app().await;
    login(&app, "leitung").await;
    let open = app.city_overview().await.unwrap().proposals.into_iter().find(|p| p.status == ProposalStatus::Open).unwrap().view.id;
    // Columns: city_overview, decide_duplicate.
    for (user, expected) in [
        ("traeger", ["ok", "ok"]),
        ("verwaltung", ["permission_denied", "permission_denied"]),
        ("erzieherin", ["permission_denied", "permission_denied"]),
        ("technik", ["permission_denied", "permission_denied"]),
    ] {
        login(&app, user).await;
        assert_eq!(code(app.city_overview().await), expected[0], "{user} × city_overview");
        let decided = app.decide_duplicate(DecideDuplicateInput { proposal_id: open, decision: Decision::Rejected }).await;
        assert_eq!(code(decided), expected[1], "{user} × decide_duplicate");
    }
}

#[tokio::test]
async fn the_demo_shows_proposals_and_registry_statuses_offline_and_a_decision_waits_to_be_sent() {
    let (_d, app) = demo_app().await;
    login(&app, "leitung").await;
    let o = app.city_overview().await.unwrap();
    assert!(!o.enrolled, "the demo is not enrolled");
    assert!(o.fetched_at.is_some(), "but it has a cached state");
    assert_eq!(o.last_error, None);
    // The director of the first Kita sees its proposals only: open ones first, one decided.
    assert_eq!(o.proposals.len(), 3, "{:?}", o.proposals);
    assert_eq!(o.proposals.iter().filter(|p| p.status == ProposalStatus::Open).count(), 2);
    assert_eq!(o.proposals.last().unwrap().status, ProposalStatus::Confirmed);
    assert!(o.proposals.iter().all(|p| p.view.other.facility_name.starts_with("Kita ")));
    // Every child of the Kita has a registry status; out-of-town children are not found.
    assert!(o.registry.extract.is_some());
    assert!(o.registry.children.len() > 50, "{}", o.registry.children.len());
    for s in [MatchStatus::Matched, MatchStatus::MatchedPhonetic, MatchStatus::NotFound] {
        assert!(o.registry.children.iter().any(|c| c.status == Some(s)), "{s:?}");
    }
    let leitung2 = {
        login(&app, "leitung2").await;
        app.city_overview().await.unwrap()
    };
    assert_eq!(leitung2.proposals.len(), 1, "the other Kita's director sees its own");
    assert!(leitung2.registry.children.iter().all(|c| !o.registry.children.iter().any(|x| x.child_id == c.child_id)));

    login(&app, "leitung").await;
    let open = o.proposals[0].view.id;
    let p = app.decide_duplicate(DecideDuplicateInput { proposal_id: open, decision: Decision::Confirmed }).await.unwrap();
    assert_eq!((p.status, p.view.state), (ProposalStatus::Sending, ProposalState::Open));
    assert_eq!(p.local.as_ref().and_then(|l| l.decided_by.as_deref()), Some("Sabine Sonnenschein"));
    let again = app.city_overview().await.unwrap();
    assert_eq!(again.proposals.iter().find(|x| x.view.id == open).unwrap().status, ProposalStatus::Sending);

    // Deciding again, a decided proposal, an unknown one: refused with German messages.
    let e = app.decide_duplicate(DecideDuplicateInput { proposal_id: open, decision: Decision::Rejected }).await.unwrap_err();
    assert_eq!(e.code, "conflict");
    assert!(e.message.contains("bereits entschieden") && e.message.contains("nächsten Abgleich"), "{}", e.message);
    let confirmed = o.proposals.iter().find(|p| p.status == ProposalStatus::Confirmed).unwrap().view.id;
    let e = app.decide_duplicate(DecideDuplicateInput { proposal_id: confirmed, decision: Decision::Rejected }).await.unwrap_err();
    assert_eq!(
        (e.code.as_str(), e.message.as_str()),
        ("conflict", "Über diesen Dublettenvorschlag wurde bereits entschieden: bestätigt (dasselbe Kind).")
    );
    let e =
        app.decide_duplicate(DecideDuplicateInput { proposal_id: uuid::Uuid::now_v7(), decision: Decision::Rejected }).await.unwrap_err();
    assert_eq!(e.code, "not_found");
    assert!(e.message.contains("auf diesem PC nicht bekannt"), "{}", e.message);
    // The other Kita's proposal is not this director's to decide.
    let theirs = leitung2.proposals[0].view.id;
    let e = app.decide_duplicate(DecideDuplicateInput { proposal_id: theirs, decision: Decision::Rejected }).await.unwrap_err();
    assert_eq!(e.code, "not_found");
    assert_eq!(app.store().pending_city_decisions().await.unwrap().len(), 1);
}

#[test]
fn the_decision_input_refuses_unknown_fields() {
    let ok: DecideDuplicateInput =
        serde_json::from_str(r#"{"proposal_id":"0193a5b0-0000-7000-8000-000000000001","decision":"rejected"}"#).unwrap();
    assert_eq!(ok.decision, Decision::Rejected);
    assert!(serde_json::from_str::<DecideDuplicateInput>(r#"{"proposal_id":"0193a5b0-0000-7000-8000-000000000001","decision":"merged"}"#)
        .is_err());
    assert!(serde_json::from_str::<DecideDuplicateInput>(
        r#"{"proposal_id":"0193a5b0-0000-7000-8000-000000000001","decision":"rejected","facility_id":"x"}"#
    )
    .is_err());
}
