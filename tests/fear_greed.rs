//! The fear & greed index: the parser on kimp's own fixtures (alternative.me's documented reply,
//! an error reply) and `fear_greed::run` against a local axum server (value delivered, then a
//! 500 → `down`). Poll interval 1 s; every wait is bounded.
#![allow(
    clippy::unwrap_used,
    reason = "test code: a failed unwrap is a failed test"
)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::http::StatusCode;
use axum::routing::get;
use kimp::config::FearGreedConfig;
use kimp::feed::{FeedMsg, ParseError, fear_greed, poller};
use kimp::model::{FearGreed, FeedState, MarketEvent};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

const OWN: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");
/// 2026-09-30 00:00 UTC, a day after the fixture's publication.
const RECEIVED: i64 = 1_790_726_400_000;
const WAIT: Duration = Duration::from_secs(5);

fn own(name: &str) -> String {
    std::fs::read_to_string(format!("{OWN}/{name}")).unwrap()
}

fn doc_value() -> FearGreed {
    FearGreed {
        value: 73,
        class: "Greed".into(),
        previous: Some(74),
        updated_ms: 1_790_640_000_000,
    }
}

#[test]
fn parses_the_documented_reply_with_seconds_as_ms() {
    let body = own("fng-alternative-me.json");
    assert_eq!(
        fear_greed::parse(body.as_bytes(), RECEIVED).unwrap(),
        doc_value()
    );
}

#[test]
fn metadata_error_is_a_venue_error() {
    let err = fear_greed::parse(own("fng-error.json").as_bytes(), RECEIVED).unwrap_err();
    assert!(
        matches!(&err, ParseError::Venue(m) if m == "Unknown limit value"),
        "{err:?}"
    );
}

#[test]
fn bad_replies_are_errors_and_a_bad_previous_is_dropped() {
    let body = |rows: &str| format!(r#"{{"data":[{rows}],"metadata":{{"error":null}}}}"#);
    let today = r#"{"value":"20","value_classification":"Extreme Fear","timestamp":"1790640000"}"#;
    let parse = |b: String| fear_greed::parse(b.as_bytes(), RECEIVED);
    let only = parse(body(today)).unwrap();
    assert_eq!((only.value, only.previous), (20, None));
    let junk_prev = parse(body(&format!(r#"{today},{{"value":"x"}}"#))).unwrap();
    assert_eq!(junk_prev.previous, None);
    assert!(parse(body("")).is_err());
    assert!(parse(body(&today.replace("\"20\"", "\"101\""))).is_err());
    assert!(
        parse(body(
            &today.replace(r#","value_classification":"Extreme Fear""#, "")
        ))
        .is_err()
    );
    // Milliseconds where seconds belong land far in the future.
    assert!(parse(body(&today.replace("1790640000", "1790640000000"))).is_err());
    assert!(fear_greed::parse(b"<html>", RECEIVED).is_err());
}

#[tokio::test]
async fn run_delivers_the_value_then_reports_down_on_500() {
    let reply = Arc::new(Mutex::new((200u16, own("fng-alternative-me.json"))));
    let served = reply.clone();
    let app = Router::new().route(
        "/fng/",
        get(move || {
            let (status, body) = served.lock().unwrap().clone();
            async move { (StatusCode::from_u16(status).unwrap(), body) }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let cfg = FearGreedConfig {
        enabled: true,
        url: format!("http://{addr}/fng/?limit=2"),
        poll_interval_secs: 1,
    };
    let (tx, mut rx) = mpsc::channel(64);
    let cancel = CancellationToken::new();
    let task = tokio::spawn(fear_greed::run(
        cfg,
        poller::http_client(),
        tx,
        cancel.clone(),
    ));
    let next = async |rx: &mut mpsc::Receiver<FeedMsg>| {
        tokio::time::timeout(WAIT, rx.recv())
            .await
            .expect("a message in time")
            .expect("channel open")
    };
    let FeedMsg::Events { feed, events } = next(&mut rx).await else {
        panic!("expected the value first")
    };
    assert_eq!(feed, fear_greed::FEED_ID);
    assert_eq!(events, [MarketEvent::FearGreed(doc_value())]);
    let FeedMsg::Status { state, detail, .. } = next(&mut rx).await else {
        panic!("expected a status")
    };
    assert_eq!(
        (state, detail.as_deref()),
        (FeedState::Live, Some("73 Greed"))
    );
    reply.lock().unwrap().0 = 500;
    let msg = next(&mut rx).await;
    let FeedMsg::Status {
        feed,
        state,
        detail,
        ..
    } = msg
    else {
        panic!("expected a status, got {msg:?}")
    };
    assert_eq!((feed, state), (fear_greed::FEED_ID, FeedState::Down));
    assert!(detail.unwrap().starts_with("HTTP 500"));
    cancel.cancel();
    tokio::time::timeout(WAIT, task).await.unwrap().unwrap();
}
