//! Bybit linear: the symbol list paged by cursor, `allLiquidation.*` subscriptions in requests of
//! ten, position-side events, reconnect; 1,200 symbols spread over connections within Bybit's
//! limits, reported as one feed that turns `quiet` on pongs alone.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{RawQuery, State};
use axum::routing::get;
use kimp::feed::liq::collect::{Options, bybit};
use kimp::model::{FeedState, LiqVenue, Side};
use serde_json::{Value, json};
use tokio::net::TcpListener;

use super::{Feed, ServerConn, WsServer, close_to, config, fixture_lines, options, states};

const FEED: &str = "bybit.liquidations";
const SYMBOLS: &str = "bybit.linear_symbols";
/// Bybit's cap on a connection's subscribe `args`, in characters.
const ARGS_CHARS_CAP: usize = 21_000;

/// Answers Bybit's `{"op":"ping"}` like the linear socket does.
fn pong(text: &str) -> Option<String> {
    text.contains(r#""op":"ping""#).then(|| {
        r#"{"success":true,"ret_msg":"pong","conn_id":"c1","req_id":"ping","op":"ping"}"#.into()
    })
}

/// `/v5/market/instruments-info` over `symbols`, `page` rows per page at most (and at most the
/// request's `limit`), with a percent-encoded cursor like Bybit's.
async fn rest(symbols: Vec<String>, page: usize) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let state = Arc::new((symbols, page));
    let app = Router::new()
        .route("/v5/market/instruments-info", get(instruments))
        .with_state(state);
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    url
}

async fn instruments(
    State(state): State<Arc<(Vec<String>, usize)>>,
    RawQuery(query): RawQuery,
) -> String {
    let query = query.unwrap_or_default();
    assert!(query.starts_with("category=linear&limit=1000"), "{query}");
    let param = |key: &str| {
        query
            .split('&')
            .find_map(|kv| kv.strip_prefix(key)?.strip_prefix('='))
            .map(str::to_owned)
    };
    let limit: usize = param("limit").unwrap().parse().unwrap();
    let start: usize =
        param("cursor").map_or(0, |c| c.strip_prefix("next%3D").unwrap().parse().unwrap());
    let (symbols, page) = &*state;
    let end = (start + limit.min(*page)).min(symbols.len());
    let list: Vec<Value> = symbols[start..end]
        .iter()
        .map(|s| json!({"symbol": s, "status": "Trading", "quoteCoin": "USDT", "contractType": "LinearPerpetual"}))
        .collect();
    let next = if end < symbols.len() {
        format!("next%3D{end}")
    } else {
        String::new()
    };
    json!({"retCode": 0, "retMsg": "OK", "result": {"category": "linear", "list": list, "nextPageCursor": next}, "retExtInfo": {}, "time": 1})
        .to_string()
}

async fn start(symbols: Vec<String>, page: usize, opts: &Options) -> (WsServer, Feed) {
    let server = WsServer::start(pong).await;
    let rest_url = rest(symbols, page).await;
    let cfg = config(|c| {
        c.bybit_enabled = true;
        c.bybit_ws_url = server.url("/v5/public/linear");
        c.bybit_rest_url = rest_url;
    });
    let opts = opts.clone();
    let feed = Feed::start(|tx, cancel, tasks| {
        let client = kimp::feed::poller::http_client();
        bybit::spawn_with(&cfg, &opts, &client, tx, cancel, tasks);
    });
    (server, feed)
}

/// Every subscribe request the connection sends within `quiet` of the last one → its topics.
async fn subscribed(conn: &mut ServerConn, quiet: Duration) -> Vec<Vec<String>> {
    let mut requests = Vec::new();
    while let Ok(Some(text)) = tokio::time::timeout(quiet, conn.from_client.recv()).await {
        let request: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(request["op"], "subscribe", "{text}");
        let args = request["args"].as_array().unwrap();
        requests.push(
            args.iter()
                .map(|a| a.as_str().unwrap().to_owned())
                .collect(),
        );
    }
    assert!(!requests.is_empty(), "no subscribe request");
    requests
}

#[tokio::test]
async fn bybit_symbols_subscribe_events_and_reconnect() {
    let symbols = vec!["BTCUSDT".into(), "ETHUSDT".into(), "1000PEPEUSDT".into()];
    let (mut server, mut feed) = start(symbols, 2, &options()).await;
    let detail = feed.status(SYMBOLS, FeedState::Live).await;
    assert_eq!(
        detail.as_deref(),
        Some("3 linear USDT symbols"),
        "both pages read"
    );
    let mut conn = server.next().await;
    let want = vec![vec![
        "allLiquidation.1000PEPEUSDT".to_owned(),
        "allLiquidation.BTCUSDT".to_owned(),
        "allLiquidation.ETHUSDT".to_owned(),
    ]];
    assert_eq!(
        subscribed(&mut conn, Duration::from_millis(300)).await,
        want
    );

    let frames = fixture_lines("liq-bybit-all-liquidation-multi.jsonl");
    conn.send(frames[0].clone());
    let events = feed.liquidations(FEED).await;
    assert_eq!(events.len(), 2);
    assert!(events.iter().all(|e| e.exchange == LiqVenue::Bybit));
    assert_eq!(
        events[0].side,
        Side::Long,
        "S = Buy: a long position was liquidated"
    );
    assert!(close_to(events[0].notional_usd, 0.006 * 82_396.90));
    conn.send(frames[1].clone());
    let pepe = feed.liquidations(FEED).await;
    assert_eq!(pepe.len(), 1, "the row with an empty size is skipped");
    assert_eq!((pepe[0].base.as_str(), pepe[0].side), ("PEPE", Side::Short));
    assert!(close_to(pepe[0].notional_usd, 120_000.0 * 0.012_345));
    assert!(close_to(pepe[0].quantity, 120_000_000.0));

    conn.close();
    feed.status(FEED, FeedState::Reconnecting).await;
    let mut again = server.next().await;
    assert_eq!(
        subscribed(&mut again, Duration::from_millis(300)).await,
        want,
        "resubscribed after the reconnect"
    );
}

#[tokio::test]
async fn bybit_1200_symbols_use_several_connections_within_the_limits() {
    let symbols: Vec<String> = (0..1200).map(|i| format!("COIN{i:04}USDT")).collect();
    let mut opts = options();
    opts.quiet_after = Duration::from_millis(500);
    opts.silent_timeout = Duration::from_secs(1);
    let (mut server, mut feed) = start(symbols.clone(), 1000, &opts).await;
    let mut all = BTreeSet::new();
    let mut per_connection = Vec::new();
    let mut conns = Vec::new();
    while all.len() < symbols.len() {
        let mut conn = server.next().await;
        let requests = subscribed(&mut conn, Duration::from_millis(300)).await;
        let mut chars = 0;
        for args in &requests {
            assert!(args.len() <= 10, "{} args in one request", args.len());
            chars += args.iter().map(|a| a.len() + 3).sum::<usize>();
            for topic in args {
                assert!(all.insert(topic.clone()), "{topic} subscribed twice");
            }
        }
        assert!(
            chars <= ARGS_CHARS_CAP,
            "{chars} args characters on one connection"
        );
        per_connection.push(requests.iter().map(Vec::len).sum::<usize>());
        conns.push(conn);
    }
    assert!(per_connection.len() > 1, "{per_connection:?}");
    let want: BTreeSet<String> = symbols
        .iter()
        .map(|s| format!("allLiquidation.{s}"))
        .collect();
    assert_eq!(all, want);

    // Pongs alone: one feed, live then quiet, never stale.
    let n = per_connection.len();
    let detail = feed.status(FEED, FeedState::Live).await;
    assert_eq!(detail, Some(format!("{n} connections, 1200 symbols")));
    let quiet = feed.status(FEED, FeedState::Quiet).await.unwrap();
    assert!(
        quiet.starts_with(&format!("{n} connections, 1200 symbols; no liquidation")),
        "{quiet}"
    );
    let window = feed.during(Duration::from_millis(1_500)).await;
    assert!(states(&window, FEED).is_empty(), "{window:?}");
    assert_eq!(server.accepted(), n, "no reconnect");
}
