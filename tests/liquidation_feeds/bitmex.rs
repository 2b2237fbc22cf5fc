//! BitMEX: both tables subscribed by the URL, `ping` answered by `pong`, events valued from the
//! instrument table and counted once per `orderID`, reconnect.
#![allow(clippy::doc_markdown, reason = "BitMEX is a venue name, not code")]

use kimp::feed::liq::collect::bitmex;
use kimp::model::{FeedState, LiqVenue, Side};

use super::{Feed, WsServer, close_to, config, fixture_lines, options};

const PATH: &str = "/realtime?subscribe=liquidation,instrument";
const FEED: &str = "bitmex.liquidations";
const WELCOME: &str = r#"{"info":"Welcome to the BitMEX Realtime API.","version":"2026-01-01T00:00:00.000Z","timestamp":"2026-11-24T00:00:00.000Z","docs":"https://www.bitmex.com/app/wsAPI","limit":{"remaining":39}}"#;

fn pong(text: &str) -> Option<String> {
    (text == "ping").then(|| "pong".into())
}

#[tokio::test]
async fn bitmex_tables_valued_events_once_per_order_and_reconnect() {
    let mut server = WsServer::start(pong).await;
    let cfg = config(|c| {
        c.bitmex_enabled = true;
        c.bitmex_ws_url = server.url(PATH);
    });
    let mut feed = Feed::start(|tx, cancel, tasks| {
        bitmex::spawn_with(&cfg, &options(), tx, cancel, tasks);
    });
    let conn = server.next().await;
    assert_eq!(conn.uri, PATH, "the URL subscribes both tables");
    conn.send(WELCOME);
    conn.send(fixture_lines("liq-bitmex-instrument-insert.json")[0].clone());
    feed.status(FEED, FeedState::Live).await;
    let lines = fixture_lines("liq-bitmex-liquidations-constructed.jsonl");
    conn.send(lines[0].clone()); // empty partial
    conn.send(lines[1].clone()); // ETHUSD (quanto) and XBTUSDT (linear) inserts
    let events = feed.liquidations(FEED).await;
    assert_eq!(events.len(), 2, "{events:?}");
    assert!(
        events
            .iter()
            .all(|e| e.exchange == LiqVenue::Bitmex && e.side == Side::Long)
    );
    let linear = events.iter().find(|e| e.symbol == "XBTUSDT").unwrap();
    assert_eq!(linear.base, "BTC");
    assert!(close_to(linear.quantity, 2.5));
    assert!(close_to(linear.notional_usd, 150_000.0));
    let quanto = events.iter().find(|e| e.symbol == "ETHUSD").unwrap();
    assert!(quanto.notional_usd > 0.0, "{quanto:?}");

    conn.send(lines[2].clone()); // update
    conn.send(lines[3].clone()); // the same orderID inserted again: not counted
    conn.send(
        r#"{"table":"liquidation","action":"insert","data":[{"orderID":"00000000-0000-0000-0000-0000000000b1","symbol":"XBTUSDT","side":"Buy","price":60000,"leavesQty":1000000}]}"#,
    );
    let next = feed.liquidations(FEED).await;
    assert_eq!(next.len(), 1, "{next:?}");
    assert_eq!(next[0].side, Side::Short);
    assert!(close_to(next[0].notional_usd, 60_000.0));

    conn.close();
    feed.status(FEED, FeedState::Reconnecting).await;
    let again = server.next().await;
    assert_eq!(again.uri, PATH, "resubscribed by the URL");
}
