//! OKX: the one `liquidation-orders` subscription, contract-valued events, reconnect; an unknown
//! `instId` refetches the contract table on demand and releases the held event.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use kimp::feed::liq::collect::okx;
use kimp::feed::liq::okx::SUBSCRIBE_FRAME;
use kimp::model::{FeedState, LiqVenue, Side};
use tokio::net::TcpListener;

use super::{Feed, OWN, WsServer, close_to, config, fixture_lines, options};

const FEED: &str = "okx.liquidations";
const INSTRUMENTS: &str = "okx.swap_instruments";
/// A listing newer than the first table the venue serves.
const NEW_LISTING: &str = r#"{"instId":"BTC-USDC-SWAP","instType":"SWAP","ctType":"linear","ctVal":"0.0001","ctMult":"1","ctValCcy":"BTC","settleCcy":"USDC","state":"live"}"#;

fn pong(text: &str) -> Option<String> {
    (text == "ping").then(|| "pong".into())
}

/// `/api/v5/public/instruments`: the recorded table first, then with [`NEW_LISTING`] added.
async fn rest(hits: Arc<AtomicUsize>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let app = Router::new()
        .route("/api/v5/public/instruments", get(instruments))
        .with_state(hits);
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    url
}

async fn instruments(State(hits): State<Arc<AtomicUsize>>) -> String {
    let recorded = std::fs::read_to_string(format!("{OWN}/liq-okx-instruments-swap.json")).unwrap();
    if hits.fetch_add(1, Ordering::SeqCst) == 0 {
        return recorded;
    }
    let with_listing = recorded.replacen(r#""data":["#, &format!(r#""data":[{NEW_LISTING},"#), 1);
    assert_ne!(with_listing, recorded);
    with_listing
}

async fn start() -> (WsServer, Feed, Arc<AtomicUsize>) {
    let server = WsServer::start(pong).await;
    let hits = Arc::new(AtomicUsize::new(0));
    let rest_url = rest(hits.clone()).await;
    let cfg = config(|c| {
        c.okx_enabled = true;
        c.okx_ws_url = server.url("/ws/v5/public");
        c.okx_rest_url = rest_url;
    });
    let feed = Feed::start(|tx, cancel, tasks| {
        let client = kimp::feed::poller::http_client();
        okx::spawn_with(&cfg, &options(), &client, tx, cancel, tasks);
    });
    (server, feed, hits)
}

#[tokio::test]
async fn okx_subscribe_contract_valued_events_and_reconnect() {
    let (mut server, mut feed, _) = start().await;
    let detail = feed.status(INSTRUMENTS, FeedState::Live).await;
    assert_eq!(detail.as_deref(), Some("3 swap contracts"));
    let mut conn = server.next().await;
    assert_eq!(conn.recv().await, SUBSCRIBE_FRAME);
    let frames = fixture_lines("liq-okx-liquidation-orders-constructed.jsonl");
    conn.send(frames[0].clone());
    let events = feed.liquidations(FEED).await;
    assert_eq!(events.len(), 3, "{events:?}");
    assert!(events.iter().all(|e| e.exchange == LiqVenue::Okx));
    let by_time = |t: i64| events.iter().find(|e| e.time_ms == t).unwrap();
    // Inverse BTC-USD-SWAP: 100 USD per contract; net mode reads the order side.
    let buy = by_time(1_791_565_600_100);
    assert_eq!(buy.side, Side::Short, "buy closes a short");
    assert!(close_to(buy.notional_usd, 300.0));
    let sell = by_time(1_791_565_600_200);
    assert_eq!(sell.side, Side::Long);
    assert!(close_to(sell.notional_usd, 2_000.0));
    // Linear BTC-USDT-SWAP: 0.01 BTC per contract; hedge mode names the position.
    let long = by_time(1_791_565_600_771);
    assert_eq!(long.side, Side::Long);
    assert!(close_to(long.quantity, 0.0855));
    assert!(close_to(long.notional_usd, 8.55 * 0.01 * 82_655.7));

    conn.close();
    feed.status(FEED, FeedState::Reconnecting).await;
    let mut again = server.next().await;
    assert_eq!(again.recv().await, SUBSCRIBE_FRAME, "resubscribed");
}

#[tokio::test]
async fn okx_unknown_instrument_refetches_the_table_and_releases_the_event() {
    let (mut server, mut feed, hits) = start().await;
    feed.status(INSTRUMENTS, FeedState::Live).await;
    assert_eq!(hits.load(Ordering::SeqCst), 1);
    let mut conn = server.next().await;
    assert_eq!(conn.recv().await, SUBSCRIBE_FRAME);
    let frames = fixture_lines("liq-okx-liquidation-orders-constructed.jsonl");
    conn.send(frames[1].clone()); // BTC-USDC-SWAP: not in the first table
    let events = feed.liquidations(FEED).await;
    assert_eq!(hits.load(Ordering::SeqCst), 2, "one on-demand refetch");
    assert_eq!(events.len(), 1);
    let e = &events[0];
    assert_eq!((e.symbol.as_str(), e.side), ("BTC-USDC-SWAP", Side::Long));
    assert!(close_to(e.quantity, 0.01), "{e:?}");
    assert!(close_to(e.notional_usd, 600.0), "{e:?}");
    let detail = feed.status(INSTRUMENTS, FeedState::Live).await;
    assert_eq!(detail.as_deref(), Some("4 swap contracts"));
}
