//! The whole Bybit feed (`bybit::spawn_with`) against a scripted loopback venue: a WebSocket server
//! (`accept_async`) that acts like Bybit's spot socket — acks, pongs, snapshots for subscribed
//! topics, and Bybit's rule that a subscribe naming a topic the connection already has fails as a
//! whole — and an axum REST server for `/v5/market/tickers?category=spot`.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::RawQuery;
use axum::http::StatusCode;
use axum::routing::get;
use futures_util::{SinkExt, StreamExt};
use kimp::config::BybitConfig;
use kimp::feed::FeedMsg;
use kimp::feed::bybit::{self, Options};
use kimp::model::{FeedState, MarketEvent};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;
use tokio_util::sync::CancellationToken;

use super::{own, strings};

/// Long enough for the socket to go live at start before REST would poll.
const GRACE: Duration = Duration::from_secs(1);
const WAIT: Duration = Duration::from_secs(10);

/// The scripted socket: `up` decides whether connections are accepted and kept; `seen` records
/// every text a client sent as (connection number, text).
struct Venue {
    url: String,
    up: Arc<AtomicBool>,
    seen: Arc<Mutex<Vec<(usize, String)>>>,
}

impl Venue {
    async fn start() -> Venue {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("ws://{}/v5/public/spot", listener.local_addr().unwrap());
        let up = Arc::new(AtomicBool::new(true));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let (up2, seen2) = (up.clone(), seen.clone());
        tokio::spawn(async move {
            let count = AtomicUsize::new(0);
            loop {
                let (tcp, _) = listener.accept().await.unwrap();
                if !up2.load(Ordering::SeqCst) {
                    continue; // dropped: the handshake fails
                }
                let n = count.fetch_add(1, Ordering::SeqCst) + 1;
                tokio::spawn(serve(tcp, n, up2.clone(), seen2.clone()));
            }
        });
        Venue { url, up, seen }
    }

    fn texts(&self, conn: usize) -> Vec<String> {
        let seen = self.seen.lock().unwrap();
        seen.iter()
            .filter(|(c, _)| *c == conn)
            .map(|(_, t)| t.clone())
            .collect()
    }

    fn connections(&self) -> usize {
        self.seen
            .lock()
            .unwrap()
            .iter()
            .map(|(c, _)| *c)
            .max()
            .unwrap_or(0)
    }
}

fn snapshot(topic: &str) -> String {
    let symbol = topic.trim_start_matches("tickers.");
    let price = if symbol == "PEPEUSDT" {
        "1.234E-5"
    } else {
        "21109.77"
    };
    format!(
        r#"{{"topic":"{topic}","ts":1673853746003,"type":"snapshot","cs":1,"data":{{"symbol":"{symbol}","lastPrice":"{price}","price24hPcnt":"0.0196","turnover24h":"141946527.22907118"}}}}"#
    )
}

/// One connection: answer requests like Bybit, push a snapshot per subscribed topic every 50 ms,
/// drop the socket (no close frame) once `up` is false.
async fn serve(
    tcp: tokio::net::TcpStream,
    conn: usize,
    up: Arc<AtomicBool>,
    seen: Arc<Mutex<Vec<(usize, String)>>>,
) {
    let Ok(mut ws) = tokio_tungstenite::accept_async(tcp).await else {
        return;
    };
    let mut topics: BTreeSet<String> = BTreeSet::new();
    let mut tick = tokio::time::interval(Duration::from_millis(50));
    loop {
        tokio::select! {
            msg = ws.next() => {
                let text = match msg {
                    Some(Ok(Message::Text(text))) => text,
                    Some(Ok(_)) => continue,
                    _ => return,
                };
                seen.lock().unwrap().push((conn, text.to_string()));
                let request: serde_json::Value = serde_json::from_str(&text).unwrap();
                let reply = answer(&request, &mut topics);
                if ws.send(Message::text(reply)).await.is_err() {
                    return;
                }
            }
            _ = tick.tick() => {
                if !up.load(Ordering::SeqCst) {
                    return;
                }
                for topic in &topics {
                    if ws.send(Message::text(snapshot(topic))).await.is_err() {
                        return;
                    }
                }
            }
        }
    }
}

fn answer(request: &serde_json::Value, topics: &mut BTreeSet<String>) -> String {
    let req_id = request["req_id"].as_str().unwrap_or("");
    match request["op"].as_str() {
        Some("ping") => r#"{"success":true,"ret_msg":"pong","conn_id":"c","op":"ping"}"#.into(),
        Some("subscribe") => {
            let args: Vec<String> = request["args"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| a.as_str().unwrap().to_owned())
                .collect();
            assert!(
                args.len() <= bybit::MAX_ARGS,
                "spot allows 10 args: {args:?}"
            );
            if let Some(dup) = args.iter().find(|a| topics.contains(*a)) {
                return format!(
                    r#"{{"success":false,"ret_msg":"error:already subscribed,topic:{dup}","conn_id":"c","req_id":"{req_id}","op":"subscribe"}}"#
                );
            }
            topics.extend(args);
            format!(
                r#"{{"success":true,"ret_msg":"subscribe","conn_id":"c","req_id":"{req_id}","op":"subscribe"}}"#
            )
        }
        other => panic!("unexpected op {other:?}"),
    }
}

/// REST: the spot tickers fixture for `category=spot`, 400 otherwise; counts requests.
async fn rest(hits: Arc<AtomicUsize>) -> String {
    let body = own("bybit-rest-tickers-spot-mixed.json");
    let app = Router::new().route(
        "/v5/market/tickers",
        get(move |RawQuery(query): RawQuery| {
            let body = body.clone();
            hits.fetch_add(1, Ordering::SeqCst);
            async move {
                if query.as_deref() == Some("category=spot") {
                    (StatusCode::OK, body)
                } else {
                    (StatusCode::BAD_REQUEST, String::new())
                }
            }
        }),
    );
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    url
}

/// Every message the feed sent, with its arrival time.
struct Log {
    rx: mpsc::Receiver<FeedMsg>,
    seen: Vec<(Instant, FeedMsg)>,
}

impl Log {
    /// Reads until `pred` matches a message (returns its arrival); 10 s fail the test.
    async fn until(&mut self, what: &str, pred: impl Fn(&FeedMsg) -> bool) -> Instant {
        let found = tokio::time::timeout(WAIT, async {
            loop {
                let msg = self.rx.recv().await.unwrap();
                let at = Instant::now();
                let hit = pred(&msg);
                self.seen.push((at, msg));
                if hit {
                    return at;
                }
            }
        })
        .await;
        found.unwrap_or_else(|_| panic!("timed out waiting for {what}; saw {:#?}", self.seen))
    }

    /// Reads everything for `d`.
    async fn soak(&mut self, d: Duration) {
        let end = Instant::now() + d;
        while let Ok(Some(msg)) = tokio::time::timeout_at(end, self.rx.recv()).await {
            self.seen.push((Instant::now(), msg));
        }
    }

    fn since(&self, t: Instant) -> impl Iterator<Item = &FeedMsg> {
        self.seen
            .iter()
            .filter(move |(at, _)| *at >= t)
            .map(|(_, m)| m)
    }
}

fn status(feed: &'static str, state: FeedState) -> impl Fn(&FeedMsg) -> bool {
    move |m| matches!(m, FeedMsg::Status { feed: f, state: s, .. } if *f == feed && *s == state)
}

fn quote_from(feed: &'static str, price: f64) -> impl Fn(&FeedMsg) -> bool {
    move |m| match m {
        FeedMsg::Events { feed: f, events } if *f == feed => events
            .iter()
            .any(|e| matches!(e, MarketEvent::Quote(q) if q.base == "BTC" && q.price == price)),
        _ => false,
    }
}

fn start(
    venue: &Venue,
    rest_url: String,
    coins: watch::Receiver<Vec<String>>,
) -> (Log, CancellationToken, JoinSet<()>) {
    let cfg = BybitConfig {
        enabled: true,
        ws_url: venue.url.clone(),
        rest_url,
        ping_interval_secs: 1,
        idle_timeout_secs: 5,
        fallback_poll_secs: 1,
        symbols_refresh_secs: 3600,
    };
    let opts = Options {
        grace: GRACE,
        backoff: (
            Duration::from_millis(50),
            Duration::from_millis(200),
            Duration::from_secs(60),
        ),
        settle: Duration::from_millis(100),
    };
    let (tx, rx) = mpsc::channel(1024);
    let cancel = CancellationToken::new();
    let mut tasks = JoinSet::new();
    let client = kimp::feed::poller::http_client();
    bybit::spawn_with(&cfg, &client, coins, &tx, &cancel, &mut tasks, &opts);
    (
        Log {
            rx,
            seen: Vec::new(),
        },
        cancel,
        tasks,
    )
}

#[tokio::test]
async fn rest_stands_by_while_the_socket_is_live_and_polls_only_while_it_is_down() {
    let venue = Venue::start().await;
    let hits = Arc::new(AtomicUsize::new(0));
    let rest_url = rest(hits.clone()).await;
    let (_coins_tx, coins) = watch::channel(strings(&["BTC", "ETH", "PEPE", "ZZZ"]));
    let (mut log, cancel, _tasks) = start(&venue, rest_url, coins);

    // 1. Socket live: quotes from `bybit.ticker`, REST on standby, pings answered.
    let t0 = log
        .until(
            "bybit.rest standby",
            status(bybit::REST_FEED_ID, FeedState::Disabled),
        )
        .await;
    log.until("socket quote", quote_from(bybit::FEED_ID, 21_109.77))
        .await;
    log.soak(Duration::from_millis(1500)).await;
    assert!(log.since(t0).any(|m| {
        matches!(m, FeedMsg::Status { feed: "bybit.symbols", state: FeedState::Live, detail: Some(d), .. }
            if d == "4 USDT spot pairs; 2 of 4 coins subscribed")
    }));
    let first = venue.texts(1);
    assert_eq!(
        first[0],
        r#"{"req_id":"sub-1","op":"subscribe","args":["tickers.BTCUSDT","tickers.PEPEUSDT"]}"#
    );
    assert!(
        first.iter().any(|t| t == bybit::PING_FRAME),
        "no ping in {first:?}"
    );
    assert!(
        !log.since(t0)
            .any(status(bybit::REST_FEED_ID, FeedState::Live))
    );
    assert!(!log.since(t0).any(quote_from(bybit::REST_FEED_ID, 61_000.2)));
    assert!(
        !log.since(t0)
            .any(|m| matches!(m, FeedMsg::ParseError { .. })),
        "{:#?}",
        log.seen
    );
    assert_eq!(
        hits.load(Ordering::SeqCst),
        1,
        "only the symbol list was fetched"
    );

    // 2. Socket down: after the grace period REST delivers quotes and `bybit.rest` is live.
    venue.up.store(false, Ordering::SeqCst);
    let down = Instant::now();
    let rest_live = log
        .until(
            "bybit.rest live",
            status(bybit::REST_FEED_ID, FeedState::Live),
        )
        .await;
    assert!(
        rest_live - down >= GRACE,
        "polled {:?} after the drop",
        rest_live - down
    );
    log.until("REST quote", quote_from(bybit::REST_FEED_ID, 61_000.2))
        .await;

    // 3. Socket back: `bybit.ticker` live again, REST back on standby and silent.
    venue.up.store(true, Ordering::SeqCst);
    let back = log
        .until("socket live again", status(bybit::FEED_ID, FeedState::Live))
        .await;
    let standby = log
        .until(
            "bybit.rest standby again",
            status(bybit::REST_FEED_ID, FeedState::Disabled),
        )
        .await;
    assert!(standby >= back);
    log.soak(Duration::from_millis(1500)).await;
    assert!(
        !log.since(standby)
            .any(quote_from(bybit::REST_FEED_ID, 61_000.2))
    );
    assert!(
        log.since(standby)
            .any(quote_from(bybit::FEED_ID, 21_109.77))
    );
    assert_eq!(
        venue.texts(venue.connections())[0],
        first[0],
        "the reconnect subscribes the same topics"
    );
    cancel.cancel();
}

#[tokio::test]
async fn a_changed_symbol_list_is_subscribed_on_a_fresh_connection() {
    let venue = Venue::start().await;
    let rest_url = rest(Arc::new(AtomicUsize::new(0))).await;
    let (coins_tx, coins) = watch::channel(strings(&["BTC"]));
    let (mut log, cancel, _tasks) = start(&venue, rest_url, coins);
    log.until("socket quote", quote_from(bybit::FEED_ID, 21_109.77))
        .await;
    assert_eq!(
        venue.texts(1)[0],
        r#"{"req_id":"sub-1","op":"subscribe","args":["tickers.BTCUSDT"]}"#
    );

    coins_tx.send_replace(strings(&["BTC", "PEPE"]));
    log.until("PEPE quote", |m| {
        matches!(m, FeedMsg::Events { feed: "bybit.ticker", events }
            if events.iter().any(|e| matches!(e, MarketEvent::Quote(q) if q.base == "PEPE")))
    })
    .await;
    assert_eq!(venue.connections(), 2);
    assert_eq!(
        venue.texts(2)[0],
        r#"{"req_id":"sub-1","op":"subscribe","args":["tickers.BTCUSDT","tickers.PEPEUSDT"]}"#
    );
    assert!(
        venue.texts(1).iter().all(|t| !t.contains("PEPE")),
        "the old connection must not be asked to resubscribe: {:?}",
        venue.texts(1)
    );
    assert!(
        !log.seen
            .iter()
            .any(|(_, m)| matches!(m, FeedMsg::ParseError { .. })),
        "{:#?}",
        log.seen
    );
    cancel.cancel();
}
