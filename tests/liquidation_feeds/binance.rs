//! Binance USD-M: the `/market` combined stream (subscribed by its URL), events, reconnect; and the
//! liveness rules of the liquidation class: suspect-silent, quiet on canaries only, live again on a
//! liquidation, heartbeats reported sparingly.

use std::time::Duration;

use kimp::feed::FeedMsg;
use kimp::feed::liq::collect::{Options, binance};
use kimp::feed::session::{quiet_detail, silent_detail};
use kimp::model::{FeedState, LiqVenue, Side};

use super::{Feed, WsServer, close_to, config, fixture_lines, options, states};

const PATH: &str = "/market/stream?streams=!forceOrder@arr/!markPrice@arr@1s";
const FEED: &str = "binance.liquidations";

fn force_order(side: &str, time_ms: u64) -> String {
    format!(
        r#"{{"stream":"!forceOrder@arr","data":{{"e":"forceOrder","E":{time_ms},"o":{{"s":"BTCUSDT","S":"{side}","o":"LIMIT","f":"IOC","q":"0.014","p":"9910","ap":"9910","X":"FILLED","l":"0.014","z":"0.014","T":{time_ms}}}}}}}"#
    )
}

async fn start(opts: &Options) -> (WsServer, Feed) {
    let server = WsServer::start(|_| None).await;
    let cfg = config(|c| {
        c.binance_enabled = true;
        c.binance_ws_url = server.url(PATH);
    });
    let opts = opts.clone();
    let feed = Feed::start(|tx, cancel, tasks| {
        binance::spawn_with(&cfg, &opts, tx, cancel, tasks);
    });
    (server, feed)
}

#[tokio::test]
async fn binance_events_and_reconnect_on_the_market_route() {
    let (mut server, mut feed) = start(&options()).await;
    let conn = server.next().await;
    assert_eq!(conn.uri, PATH, "the URL is the subscription");
    let canary = fixture_lines("liq-binance-markprice-canary.jsonl");
    conn.send(canary[0].clone());
    assert_eq!(feed.status(FEED, FeedState::Live).await, None);
    conn.send(force_order("SELL", 1_791_565_601_000));
    let events = feed.liquidations(FEED).await;
    assert_eq!(events.len(), 1);
    let e = &events[0];
    assert_eq!(
        (e.exchange, e.side, e.base.as_str(), e.time_ms),
        (LiqVenue::Binance, Side::Long, "BTC", 1_791_565_601_000),
        "SELL is the liquidation order closing a long"
    );
    assert!(close_to(e.notional_usd, 9910.0 * 0.014), "{e:?}");
    // A dated USD-M future from the recording is a liquidation too.
    conn.send(canary[2].clone());
    let dated = feed.liquidations(FEED).await;
    assert_eq!(dated[0].symbol, "BTCUSDT_260925");
    assert!(close_to(dated[0].notional_usd, 81010.2 * 0.5));

    conn.close();
    feed.status(FEED, FeedState::Reconnecting).await;
    let again = server.next().await;
    assert_eq!(again.uri, PATH, "reconnects to the same stream");
    again.send(force_order("BUY", 1_791_565_602_000));
    let events = feed.liquidations(FEED).await;
    assert_eq!(events[0].side, Side::Short);
}

#[tokio::test]
async fn a_silent_endpoint_is_reported_and_reconnected() {
    let mut opts = options();
    opts.silent_timeout = Duration::from_millis(600);
    let (mut server, mut feed) = start(&opts).await;
    let first = server.next().await;
    let started = tokio::time::Instant::now();
    let detail = feed.status(FEED, FeedState::Stale).await;
    assert_eq!(
        detail.as_deref(),
        Some(silent_detail("liquidations.binance_ws_url").as_str())
    );
    assert!(detail.unwrap().contains("connected but silent"));
    let _second = server.next().await;
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "reconnected after {:?}",
        started.elapsed()
    );
    assert_eq!(server.accepted(), 2);
    assert!(
        !states(&feed.seen, FEED).contains(&FeedState::Live),
        "a silent socket is never live: {:?}",
        feed.seen
    );
    drop(first);
}

#[tokio::test]
async fn canaries_only_are_quiet_never_stale_and_a_liquidation_is_live() {
    let mut opts = options();
    opts.quiet_after = Duration::from_millis(500);
    opts.silent_timeout = Duration::from_millis(700);
    let (mut server, mut feed) = start(&opts).await;
    let conn = server.next().await;
    let canary = fixture_lines("liq-binance-markprice-canary.jsonl");
    let cmds = conn.cmds.clone();
    let pump = tokio::spawn(async move {
        for i in 0.. {
            let frame = canary[i % 2].clone();
            if cmds.send(super::Cmd::Send(frame)).is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    });
    feed.status(FEED, FeedState::Live).await;
    let detail = feed.status(FEED, FeedState::Quiet).await;
    assert_eq!(
        detail.as_deref(),
        Some(quiet_detail(opts.quiet_after).as_str())
    );
    // Three silent timeouts of canaries only: still quiet on the same connection.
    let window = feed.during(Duration::from_millis(2_100)).await;
    let seen = states(&window, FEED);
    assert!(seen.is_empty(), "no transition while quiet: {seen:?}");
    assert_eq!(server.accepted(), 1, "no reconnect");
    // ~35 canaries in the window; heartbeats reach the state task sparingly.
    let heartbeats = window
        .iter()
        .filter(|m| matches!(m, FeedMsg::Events { events, .. } if events.is_empty()))
        .count();
    assert!(heartbeats <= 1, "{heartbeats} heartbeat messages");

    conn.send(force_order("SELL", 1_791_565_603_000));
    let live_at = feed.seen.len();
    let events = feed.liquidations(FEED).await;
    assert_eq!(events.len(), 1);
    assert_eq!(
        states(&feed.seen[live_at..], FEED),
        vec![FeedState::Live],
        "live again before the event"
    );
    pump.abort();
}
