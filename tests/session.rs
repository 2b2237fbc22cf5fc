//! The generic WebSocket session against a scripted loopback server: subscribe → data → forced
//! disconnect → reconnect and resubscribe; silent-while-connected detected; malformed frames
//! counted while the rest still apply; fallback URL after repeated failures.
#![allow(
    clippy::unwrap_used,
    reason = "test code: a failed unwrap is a failed test"
)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use kimp::feed::session::{self, SessionSpec, StreamClass, Subscriptions};
use kimp::feed::{FeedMsg, ParseError, Parsed};
use kimp::model::{Currency, FeedState, MarketEvent, Quote, Venue};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch};
use tokio_tungstenite::tungstenite::Message;
use tokio_util::sync::CancellationToken;

/// Test protocol: a frame `<BASE> <price>` is a quote; anything else is malformed.
fn parse(frame: &[u8], received_ms: i64) -> Result<Parsed, ParseError> {
    let text = std::str::from_utf8(frame).map_err(|_| ParseError::Utf8)?;
    if text == "ack" {
        return Ok(Parsed::nothing());
    }
    let (base, price) = text
        .split_once(' ')
        .ok_or_else(|| ParseError::field("frame", "no space"))?;
    let price: f64 = price
        .parse()
        .map_err(|_| ParseError::field("price", "not a number"))?;
    Ok(Parsed::Events(vec![MarketEvent::Quote(Quote {
        venue: Venue::Upbit,
        base: base.into(),
        currency: Currency::Krw,
        price,
        change_percent: None,
        volume: None,
        exchange_ms: None,
        received_ms,
    })]))
}

/// How the scripted server behaves on each connection (by connection number).
#[derive(Clone, Copy)]
enum Script {
    /// Send `n` quotes then close the socket.
    SendThenClose(usize),
    /// Send one quote then keep the socket open, saying nothing.
    Silent,
    /// Send good, garbage, good, then stay (sending a quote every 50 ms).
    Mixed,
}

/// Starts a server; returns its URL and a receiver of every text message clients sent.
async fn server(
    scripts: Vec<Script>,
    accepted: Arc<AtomicUsize>,
) -> (String, mpsc::UnboundedReceiver<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("ws://{}/ws", listener.local_addr().unwrap());
    let (sub_tx, sub_rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        loop {
            let (tcp, _) = listener.accept().await.unwrap();
            let n = accepted.fetch_add(1, Ordering::SeqCst);
            let script = scripts.get(n).copied().unwrap_or(Script::Mixed);
            let sub_tx = sub_tx.clone();
            tokio::spawn(async move {
                let mut ws = tokio_tungstenite::accept_async(tcp).await.unwrap();
                // Wait for the subscription before sending data, as the venues do.
                if let Some(Ok(Message::Text(t))) = ws.next().await {
                    sub_tx.send(t.to_string()).unwrap();
                }
                match script {
                    Script::SendThenClose(k) => {
                        for i in 0..k {
                            ws.send(Message::text(format!("BTC {}", 100 + i)))
                                .await
                                .unwrap();
                        }
                        let _ = ws.close(None).await;
                    }
                    Script::Silent => {
                        ws.send(Message::text("BTC 1")).await.unwrap();
                        // Drain (so pings would be answered) but never send again.
                        while let Some(Ok(_)) = ws.next().await {}
                    }
                    Script::Mixed => {
                        ws.send(Message::text("ETH 5")).await.unwrap();
                        ws.send(Message::binary(b"{not json".to_vec()))
                            .await
                            .unwrap();
                        ws.send(Message::text("ack")).await.unwrap();
                        loop {
                            if ws.send(Message::text("ETH 6")).await.is_err() {
                                break;
                            }
                            tokio::time::sleep(Duration::from_millis(50)).await;
                        }
                    }
                }
            });
        }
    });
    (url, sub_rx)
}

fn spec(urls: Vec<String>, subs: Option<Subscriptions>) -> SessionSpec {
    SessionSpec {
        feed: "test.ticker",
        urls,
        parse,
        app_ping: None,
        idle_timeout: Duration::from_millis(400),
        lifetime: None,
        subscriptions: subs,
        connect_timeout: Duration::from_secs(2),
        live: None,
        backoff: (
            Duration::from_millis(20),
            Duration::from_millis(100),
            Duration::from_secs(60),
        ),
        class: StreamClass::Ticker,
        recorder: None,
    }
}

fn frames(codes: &[String]) -> Vec<String> {
    vec![format!("sub:{}", codes.join(","))]
}

/// Collects messages until `done` says so or 10 s pass (a timeout fails the test).
async fn collect_until(
    rx: &mut mpsc::Receiver<FeedMsg>,
    mut done: impl FnMut(&[FeedMsg]) -> bool,
) -> Vec<FeedMsg> {
    let mut seen = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), async {
        while let Some(m) = rx.recv().await {
            seen.push(m);
            if done(&seen) {
                return;
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("timed out; saw {seen:#?}"));
    seen
}

fn quotes(msgs: &[FeedMsg]) -> Vec<f64> {
    msgs.iter()
        .filter_map(|m| match m {
            FeedMsg::Events { events, .. } => Some(events),
            _ => None,
        })
        .flatten()
        .filter_map(|e| match e {
            MarketEvent::Quote(q) => Some(q.price),
            _ => None,
        })
        .collect()
}

fn states(msgs: &[FeedMsg]) -> Vec<FeedState> {
    msgs.iter()
        .filter_map(|m| match m {
            FeedMsg::Status { state, .. } => Some(*state),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn reconnects_and_resubscribes_after_the_venue_drops_us() {
    let accepted = Arc::new(AtomicUsize::new(0));
    let (url, mut subs_seen) = server(
        vec![Script::SendThenClose(2), Script::SendThenClose(2)],
        accepted.clone(),
    )
    .await;
    let (_codes_tx, codes_rx) = watch::channel(vec!["KRW-BTC".to_string(), "KRW-ETH".to_string()]);
    let (tx, mut rx) = mpsc::channel(64);
    let cancel = CancellationToken::new();
    tokio::spawn(session::run(
        spec(
            vec![url],
            Some(Subscriptions {
                items: codes_rx,
                frames,
            }),
        ),
        tx,
        cancel.clone(),
    ));
    let seen = collect_until(&mut rx, |m| quotes(m).len() >= 4).await;
    cancel.cancel();
    assert_eq!(quotes(&seen), vec![100.0, 101.0, 100.0, 101.0]);
    let st = states(&seen);
    assert_eq!(st.first(), Some(&FeedState::Connecting));
    assert!(st.contains(&FeedState::Live));
    assert!(st.contains(&FeedState::Reconnecting), "{st:?}");
    // Both connections received the full subscription.
    assert_eq!(subs_seen.recv().await.unwrap(), "sub:KRW-BTC,KRW-ETH");
    assert_eq!(subs_seen.recv().await.unwrap(), "sub:KRW-BTC,KRW-ETH");
    assert!(accepted.load(Ordering::SeqCst) >= 2);
}

#[tokio::test]
async fn silent_while_connected_is_stale_and_reconnects() {
    let accepted = Arc::new(AtomicUsize::new(0));
    let (url, _subs) = server(vec![Script::Silent, Script::Mixed], accepted.clone()).await;
    let (tx, mut rx) = mpsc::channel(64);
    let cancel = CancellationToken::new();
    let s = spec(
        vec![url],
        Some(Subscriptions {
            items: watch::channel(vec!["x".into()]).1,
            frames,
        }),
    );
    tokio::spawn(session::run(s, tx, cancel.clone()));
    let seen = collect_until(&mut rx, |m| quotes(m).contains(&6.0)).await;
    cancel.cancel();
    let st = states(&seen);
    let stale = st
        .iter()
        .position(|s| *s == FeedState::Stale)
        .expect("stale reported");
    assert_eq!(st.get(stale + 1), Some(&FeedState::Reconnecting));
    assert_eq!(accepted.load(Ordering::SeqCst), 2, "reconnected once");
}

#[tokio::test]
async fn malformed_frames_are_counted_and_the_rest_applied() {
    let accepted = Arc::new(AtomicUsize::new(0));
    let (url, _subs) = server(vec![Script::Mixed], accepted).await;
    let (tx, mut rx) = mpsc::channel(64);
    let cancel = CancellationToken::new();
    let s = spec(
        vec![url],
        Some(Subscriptions {
            items: watch::channel(vec!["x".into()]).1,
            frames,
        }),
    );
    tokio::spawn(session::run(s, tx, cancel.clone()));
    let seen = collect_until(&mut rx, |m| quotes(m).len() >= 3).await;
    cancel.cancel();
    let errors = seen
        .iter()
        .filter(|m| matches!(m, FeedMsg::ParseError { .. }))
        .count();
    assert_eq!(errors, 1);
    assert_eq!(&quotes(&seen)[..2], &[5.0, 6.0]);
    // The ack parsed to no events but still counts as a message.
    assert!(
        seen.iter()
            .any(|m| matches!(m, FeedMsg::Events { events, .. } if events.is_empty()))
    );
}

#[tokio::test]
async fn waits_for_a_subscription_list_and_sends_changes_while_connected() {
    let accepted = Arc::new(AtomicUsize::new(0));
    let (url, mut subs_seen) = server(vec![Script::Mixed], accepted.clone()).await;
    let (codes_tx, codes_rx) = watch::channel(Vec::<String>::new());
    let (tx, mut rx) = mpsc::channel(64);
    let cancel = CancellationToken::new();
    tokio::spawn(session::run(
        spec(
            vec![url],
            Some(Subscriptions {
                items: codes_rx,
                frames,
            }),
        ),
        tx,
        cancel.clone(),
    ));
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        accepted.load(Ordering::SeqCst),
        0,
        "no connection before there is anything to subscribe"
    );
    codes_tx.send(vec!["KRW-BTC".into()]).unwrap();
    collect_until(&mut rx, |m| !quotes(m).is_empty()).await;
    assert_eq!(subs_seen.recv().await.unwrap(), "sub:KRW-BTC");
    cancel.cancel();
}

#[tokio::test]
async fn falls_back_to_the_next_url_after_repeated_failures() {
    // A port with nothing listening: connection refused every time.
    let dead = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let dead_url = format!("ws://{}/ws", dead.local_addr().unwrap());
    drop(dead);
    let accepted = Arc::new(AtomicUsize::new(0));
    let (url, _subs) = server(vec![Script::Mixed], accepted).await;
    let (tx, mut rx) = mpsc::channel(256);
    let cancel = CancellationToken::new();
    let s = spec(
        vec![dead_url, url],
        Some(Subscriptions {
            items: watch::channel(vec!["x".into()]).1,
            frames,
        }),
    );
    tokio::spawn(session::run(s, tx, cancel.clone()));
    let seen = collect_until(&mut rx, |m| !quotes(m).is_empty()).await;
    cancel.cancel();
    let reconnecting = states(&seen)
        .iter()
        .filter(|s| **s == FeedState::Reconnecting)
        .count();
    assert!(
        reconnecting >= 3,
        "three failures before switching: {:?}",
        states(&seen)
    );
}
