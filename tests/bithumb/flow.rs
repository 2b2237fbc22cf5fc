//! `bithumb::spawn_with` against a scripted loopback WebSocket (tokio-tungstenite) and an axum REST
//! server: socket live → quotes from `bithumb.ticker`, `bithumb.rest` on standby; socket down →
//! after the grace period `ALL_KRW` quotes from `bithumb.rest`; socket back → the socket resumes and
//! REST returns to standby. Grace 300 ms, backoff ≤ 300 ms, poll 1 s; every wait is bounded.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::RawQuery;
use axum::routing::get;
use futures_util::{SinkExt, StreamExt};
use kimp::config::BithumbConfig;
use kimp::feed::{FeedMsg, bithumb, poller};
use kimp::model::{FeedState, MarketEvent, Venue};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;
use tokio_tungstenite::tungstenite::Message;
use tokio_util::sync::CancellationToken;

use super::RECEIVED;
use super::fixtures::own_text;

const WAIT: Duration = Duration::from_secs(8);
/// Price the scripted socket sends for `KRW-BTC` (the REST fixture says 116,208,000).
const WS_PRICE: f64 = 100_000_000.0;
const REST_PRICE: f64 = 116_208_000.0;

/// REST hit counters by path.
#[derive(Default)]
struct Hits {
    all_krw: AtomicUsize,
    v1_ticker: AtomicUsize,
    list_query: std::sync::Mutex<Option<String>>,
}

async fn rest_server(hits: Arc<Hits>) -> String {
    let file = |name: &str| own_text(name);
    let (list, alerts, all_krw) = (
        file("bithumb-market-all.json"),
        file("bithumb-virtual-asset-warning.json"),
        file("bithumb-all-krw.json"),
    );
    let (h1, h2, h3) = (hits.clone(), hits.clone(), hits);
    let app = Router::new()
        .route(
            "/v1/market/all",
            get(move |RawQuery(q): RawQuery| async move {
                *h1.list_query.lock().unwrap() = q;
                list
            }),
        )
        .route(
            "/v1/market/virtual_asset_warning",
            get(move || async move { alerts }),
        )
        .route(
            "/public/ticker/ALL_KRW",
            get(move || async move {
                h2.all_krw.fetch_add(1, Ordering::SeqCst);
                all_krw
            }),
        )
        .route(
            "/v1/ticker",
            get(move || async move {
                h3.v1_ticker.fetch_add(1, Ordering::SeqCst);
                "[]"
            }),
        );
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}")
}

/// A WS server that, while `up`, accepts, reads the subscription (forwarded on `texts`) and sends a
/// `KRW-BTC` ticker every 50 ms as a binary frame, answering `PING` with `{"status":"UP"}`; when
/// `up` turns false it drops every socket without a close frame and refuses new handshakes.
async fn ws_server(up: watch::Receiver<bool>, texts: mpsc::UnboundedSender<String>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("ws://{}/websocket/v1", listener.local_addr().unwrap());
    tokio::spawn(async move {
        loop {
            let (tcp, _) = listener.accept().await.unwrap();
            if *up.borrow() {
                tokio::spawn(serve_socket(tcp, up.clone(), texts.clone()));
            }
        }
    });
    url
}

async fn serve_socket(
    tcp: TcpStream,
    mut up: watch::Receiver<bool>,
    texts: mpsc::UnboundedSender<String>,
) {
    let Ok(mut ws) = tokio_tungstenite::accept_async(tcp).await else {
        return;
    };
    let mut tick = tokio::time::interval(Duration::from_millis(50));
    loop {
        tokio::select! {
            _ = up.changed() => if !*up.borrow_and_update() { return },
            _ = tick.tick() => {
                let frame = format!(
                    r#"{{"type":"ticker","code":"KRW-BTC","trade_price":{WS_PRICE},"signed_change_rate":0.01,"trade_timestamp":{RECEIVED},"timestamp":{RECEIVED},"delisting_date":null,"stream_type":"REALTIME"}}"#
                );
                if ws.send(Message::binary(frame.into_bytes())).await.is_err() {
                    return;
                }
            }
            msg = ws.next() => match msg {
                Some(Ok(Message::Text(t))) => {
                    if t.as_str() == "PING" {
                        let _ = ws.send(Message::binary(&b"{\"status\":\"UP\"}"[..])).await;
                    }
                    let _ = texts.send(t.to_string());
                }
                Some(Ok(_)) => {}
                None | Some(Err(_)) => return,
            },
        }
    }
}

/// What a message is, for the assertions.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Seen {
    WsQuote,
    RestQuote,
    Markets,
    RestStatus(FeedState),
    WsStatus(FeedState),
}

fn classify(msg: &FeedMsg) -> Vec<Seen> {
    match msg {
        FeedMsg::Events { feed, events } => events
            .iter()
            .filter_map(|e| match (e, *feed) {
                (MarketEvent::Quote(q), f) if f == bithumb::FEED_ID => {
                    assert_eq!((q.venue, q.price), (Venue::Bithumb, WS_PRICE), "{q:?}");
                    Some(Seen::WsQuote)
                }
                (MarketEvent::Quote(q), f) if f == bithumb::REST_FEED_ID => {
                    assert_eq!(q.venue, Venue::Bithumb);
                    (q.base == "BTC").then(|| {
                        assert_eq!(q.price, REST_PRICE);
                        Seen::RestQuote
                    })
                }
                (MarketEvent::Markets { venue, markets }, f) if f == bithumb::MARKETS_FEED_ID => {
                    assert_eq!(*venue, Venue::Bithumb);
                    let zil = markets.iter().find(|m| m.base == "ZIL").unwrap();
                    assert!(
                        zil.flags
                            .contains(&"caution:PRICE_DIFFERENCE_HIGH".to_owned())
                    );
                    Some(Seen::Markets)
                }
                _ => None,
            })
            .collect(),
        FeedMsg::Status { feed, state, .. } if *feed == bithumb::REST_FEED_ID => {
            vec![Seen::RestStatus(*state)]
        }
        FeedMsg::Status { feed, state, .. } if *feed == bithumb::FEED_ID => {
            vec![Seen::WsStatus(*state)]
        }
        _ => Vec::new(),
    }
}

/// Reads messages until every one of `want` has been seen (in any order); panics after [`WAIT`].
async fn expect_all(rx: &mut mpsc::Receiver<FeedMsg>, want: &[Seen]) {
    let mut missing: Vec<Seen> = want.to_vec();
    let found = tokio::time::timeout(WAIT, async {
        while !missing.is_empty() {
            let msg = rx.recv().await.expect("feed channel open");
            for seen in classify(&msg) {
                missing.retain(|m| *m != seen);
            }
        }
    })
    .await;
    assert!(found.is_ok(), "timed out; still missing {missing:?}");
}

/// Drains for `period`, returning everything seen.
async fn drain(rx: &mut mpsc::Receiver<FeedMsg>, period: Duration) -> Vec<Seen> {
    let mut seen = Vec::new();
    let _ = tokio::time::timeout(period, async {
        while let Some(msg) = rx.recv().await {
            seen.extend(classify(&msg));
        }
    })
    .await;
    seen
}

#[tokio::test]
async fn socket_down_falls_back_to_all_krw_and_back() {
    let hits = Arc::new(Hits::default());
    let rest_url = rest_server(hits.clone()).await;
    let (up_tx, up_rx) = watch::channel(true);
    let (texts_tx, mut texts) = mpsc::unbounded_channel();
    let ws_url = ws_server(up_rx, texts_tx).await;
    let cfg = BithumbConfig {
        enabled: true,
        ws_url,
        rest_url,
        ping_interval_secs: 1,
        idle_timeout_secs: 5,
        market_refresh_secs: 600,
        fallback_poll_secs: 1,
    };
    let (tx, mut rx) = mpsc::channel(1024);
    let cancel = CancellationToken::new();
    let mut tasks = JoinSet::new();
    let opts = bithumb::Options {
        grace: Duration::from_millis(300),
        backoff: (
            Duration::from_millis(100),
            Duration::from_millis(300),
            Duration::from_secs(60),
        ),
    };
    let client = poller::http_client();
    let _codes = bithumb::spawn_with(&cfg, &client, &tx, &cancel, &mut tasks, &opts);

    // 1. Socket live: WS quotes, REST on standby and idle.
    expect_all(&mut rx, &[Seen::Markets, Seen::WsQuote]).await;
    let subscription = texts.recv().await.unwrap();
    assert!(
        subscription.contains(r#""codes":["KRW-BTC","KRW-USDT","KRW-ZIL"]"#),
        "{subscription}"
    );
    let list_query = hits.list_query.lock().unwrap().clone();
    assert_eq!(list_query.as_deref(), Some("isDetails=true"));
    let before = hits.all_krw.load(Ordering::SeqCst);
    let quiet = drain(&mut rx, Duration::from_millis(1500)).await;
    assert!(quiet.contains(&Seen::WsQuote));
    assert!(!quiet.contains(&Seen::RestQuote), "{quiet:?}");
    assert_eq!(
        hits.all_krw.load(Ordering::SeqCst),
        before,
        "polled while live"
    );
    assert_eq!(texts.recv().await.unwrap(), "PING");

    // 2. Socket down: after the grace period, ALL_KRW quotes on `bithumb.rest`.
    up_tx.send_replace(false);
    expect_all(
        &mut rx,
        &[
            Seen::WsStatus(FeedState::Reconnecting),
            Seen::RestStatus(FeedState::Live),
            Seen::RestQuote,
        ],
    )
    .await;
    let down = drain(&mut rx, Duration::from_millis(300)).await;
    assert!(!down.contains(&Seen::WsQuote), "{down:?}");

    // 3. Socket back: WS quotes again, REST back to standby and idle.
    up_tx.send_replace(true);
    expect_all(
        &mut rx,
        &[Seen::WsQuote, Seen::RestStatus(FeedState::Disabled)],
    )
    .await;
    let settled = hits.all_krw.load(Ordering::SeqCst);
    let back = drain(&mut rx, Duration::from_millis(1500)).await;
    assert!(!back.contains(&Seen::RestQuote), "{back:?}");
    assert_eq!(hits.all_krw.load(Ordering::SeqCst), settled);
    assert_eq!(
        hits.v1_ticker.load(Ordering::SeqCst),
        0,
        "KST-epoch endpoint used"
    );

    cancel.cancel();
    while tasks.join_next().await.is_some() {}
}
