//! The OKX feed (`okx::spawn_with`) against a scripted loopback venue: an axum server for the
//! instrument list and a WebSocket server (`accept_async`) that acks subscriptions, answers the
//! text `ping` with the text `pong`, pushes SPOT tickers for subscribed instruments and, on cue,
//! sends the 64008 service-upgrade notice.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::RawQuery;
use axum::http::StatusCode;
use axum::routing::get;
use futures_util::{SinkExt, StreamExt};
use kimp::config::OkxConfig;
use kimp::feed::FeedMsg;
use kimp::feed::okx::{self, Options};
use kimp::model::{FeedState, MarketEvent};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;
use tokio_util::sync::CancellationToken;

use super::{own, strings};

const WAIT: Duration = Duration::from_secs(10);

type Seen = Arc<Mutex<Vec<(usize, Instant, String)>>>;

struct Venue {
    url: String,
    notice: Arc<AtomicBool>,
    seen: Seen,
}

impl Venue {
    async fn start() -> Venue {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("ws://{}/ws/v5/public", listener.local_addr().unwrap());
        let notice = Arc::new(AtomicBool::new(false));
        let seen: Seen = Arc::default();
        let (notice2, seen2) = (notice.clone(), seen.clone());
        tokio::spawn(async move {
            let count = AtomicUsize::new(0);
            loop {
                let (tcp, _) = listener.accept().await.unwrap();
                let n = count.fetch_add(1, Ordering::SeqCst) + 1;
                tokio::spawn(serve(tcp, n, notice2.clone(), seen2.clone()));
            }
        });
        Venue { url, notice, seen }
    }

    fn texts(&self, conn: usize) -> Vec<(Instant, String)> {
        let seen = self.seen.lock().unwrap();
        seen.iter()
            .filter(|(c, ..)| *c == conn)
            .map(|(_, at, t)| (*at, t.clone()))
            .collect()
    }

    fn connections(&self) -> usize {
        self.seen
            .lock()
            .unwrap()
            .iter()
            .map(|(c, ..)| *c)
            .max()
            .unwrap_or(0)
    }

    /// Waits until connection `conn` has sent `n` texts matching `pred`.
    async fn until_sent(
        &self,
        conn: usize,
        n: usize,
        pred: impl Fn(&str) -> bool,
    ) -> Vec<(Instant, String)> {
        let found = tokio::time::timeout(WAIT, async {
            loop {
                let hits: Vec<_> = self
                    .texts(conn)
                    .into_iter()
                    .filter(|(_, t)| pred(t))
                    .collect();
                if hits.len() >= n {
                    return hits;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
        .await;
        found.unwrap_or_else(|_| panic!("connection {conn} sent {:#?}", self.texts(conn)))
    }
}

fn ticker(id: &str) -> String {
    let last = match id {
        "BTC-USDT" => "9999.99",
        "ETH-USDT" => "2450.1",
        _ => "0.5",
    };
    format!(
        r#"{{"arg":{{"channel":"tickers","instId":"{id}"}},"data":[{{"instType":"SPOT","instId":"{id}","last":"{last}","bidPx":"","open24h":"9000","volCcy24h":"2222","ts":"1597026383085"}}]}}"#
    )
}

async fn serve(tcp: tokio::net::TcpStream, conn: usize, notice: Arc<AtomicBool>, seen: Seen) {
    let Ok(mut ws) = tokio_tungstenite::accept_async(tcp).await else {
        return;
    };
    let mut ids: BTreeSet<String> = BTreeSet::new();
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    loop {
        let mut out = Vec::new();
        tokio::select! {
            msg = ws.next() => {
                let text = match msg {
                    Some(Ok(Message::Text(text))) => text.to_string(),
                    Some(Ok(_)) => continue,
                    _ => return,
                };
                seen.lock().unwrap().push((conn, Instant::now(), text.clone()));
                if text == "ping" {
                    out.push("pong".to_owned());
                } else {
                    let request: serde_json::Value = serde_json::from_str(&text).unwrap();
                    assert_eq!(request["op"], "subscribe");
                    for arg in request["args"].as_array().unwrap() {
                        ids.insert(arg["instId"].as_str().unwrap().to_owned());
                        out.push(format!(r#"{{"event":"subscribe","arg":{arg},"connId":"c{conn}"}}"#));
                    }
                }
            }
            _ = tick.tick() => {
                if notice.swap(false, Ordering::SeqCst) {
                    out.push(r#"{"event":"notice","code":"64008","msg":"The connection will soon be closed for a service upgrade. Please reconnect.","connId":"c"}"#.to_owned());
                }
                out.extend(ids.iter().map(|id| ticker(id)));
            }
        }
        for text in out {
            if ws.send(Message::text(text)).await.is_err() {
                return;
            }
        }
    }
}

async fn rest() -> String {
    let body = own("okx-rest-instruments-spot.json");
    let app = Router::new().route(
        "/api/v5/public/instruments",
        get(move |RawQuery(query): RawQuery| {
            let body = body.clone();
            async move {
                if query.as_deref() == Some("instType=SPOT") {
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

/// Reads feed messages into `seen` until `pred` matches one; 10 s fail the test.
async fn until(
    rx: &mut mpsc::Receiver<FeedMsg>,
    seen: &mut Vec<FeedMsg>,
    what: &str,
    pred: impl Fn(&FeedMsg) -> bool,
) {
    let found = tokio::time::timeout(WAIT, async {
        loop {
            let msg = rx.recv().await.unwrap();
            let hit = pred(&msg);
            seen.push(msg);
            if hit {
                return;
            }
        }
    })
    .await;
    found.unwrap_or_else(|_| panic!("timed out waiting for {what}; saw {seen:#?}"));
}

fn quote_of(base: &'static str, price: f64) -> impl Fn(&FeedMsg) -> bool {
    move |m| match m {
        FeedMsg::Events {
            feed: "okx.ticker",
            events,
        } => events
            .iter()
            .any(|e| matches!(e, MarketEvent::Quote(q) if q.base == base && q.price == price)),
        _ => false,
    }
}

fn subscribe(ids: &[&str]) -> String {
    okx::subscribe_frames(&strings(ids)).remove(0)
}

#[tokio::test]
async fn subscribes_pings_on_schedule_handles_pong_resubscribes_and_obeys_the_upgrade_notice() {
    let venue = Venue::start().await;
    let cfg = OkxConfig {
        enabled: true,
        ws_url: venue.url.clone(),
        rest_url: rest().await,
        ping_interval_secs: 1,
        idle_timeout_secs: 5,
        symbols_refresh_secs: 3600,
    };
    let opts = Options {
        backoff: (
            Duration::from_millis(50),
            Duration::from_millis(200),
            Duration::from_secs(60),
        ),
    };
    let (coins_tx, coins) = watch::channel(strings(&["BTC", "ETH", "NOPE", "OLD"]));
    let (tx, mut rx) = mpsc::channel(1024);
    let cancel = CancellationToken::new();
    let mut tasks = JoinSet::new();
    okx::spawn_with(
        &cfg,
        &kimp::feed::poller::http_client(),
        coins,
        &tx,
        &cancel,
        &mut tasks,
        &opts,
    );
    let mut seen = Vec::new();

    // Subscribe frame (unknown and suspended coins dropped), quotes, list status.
    until(&mut rx, &mut seen, "BTC quote", quote_of("BTC", 9_999.99)).await;
    until(&mut rx, &mut seen, "ETH quote", quote_of("ETH", 2_450.1)).await;
    let first = venue.texts(1);
    assert_eq!(first[0].1, subscribe(&["BTC-USDT", "ETH-USDT"]));
    assert!(seen.iter().any(|m| matches!(m, FeedMsg::Status { feed: "okx.instruments", state: FeedState::Live, detail: Some(d), .. }
        if d == "3 USDT spot pairs; 2 of 4 coins subscribed")));

    // `ping` about every second from the connection's start; each `pong` parses to nothing.
    let pings = venue.until_sent(1, 2, |t| t == "ping").await;
    let after_subscribe = pings[0].0 - first[0].0;
    let between = pings[1].0 - pings[0].0;
    assert!(
        (800..1800).contains(&after_subscribe.as_millis()),
        "{after_subscribe:?}"
    );
    assert!((700..1500).contains(&between.as_millis()), "{between:?}");

    // A new coin is subscribed on the same connection (OKX accepts a repeated subscribe).
    coins_tx.send_replace(strings(&["BTC", "ETH", "NOPE", "OLD", "XRP"]));
    until(&mut rx, &mut seen, "XRP quote", quote_of("XRP", 0.5)).await;
    let all = subscribe(&["BTC-USDT", "ETH-USDT", "XRP-USDT"]);
    assert!(venue.texts(1).iter().any(|(_, t)| *t == all));
    assert_eq!(venue.connections(), 1);

    // The service-upgrade notice makes the session reconnect and subscribe everything again.
    venue.notice.store(true, Ordering::SeqCst);
    until(&mut rx, &mut seen, "reconnect", |m| {
        matches!(m, FeedMsg::Status { feed: "okx.ticker", state: FeedState::Reconnecting, detail: Some(d), .. } if d.contains("64008"))
    })
    .await;
    let second = venue.until_sent(2, 1, |t| t.contains("subscribe")).await;
    assert_eq!(second[0].1, all);
    until(&mut rx, &mut seen, "quotes on the new connection", |m| {
        matches!(
            m,
            FeedMsg::Status {
                feed: "okx.ticker",
                state: FeedState::Live,
                ..
            }
        )
    })
    .await;
    assert!(
        !seen.iter().any(|m| matches!(m, FeedMsg::ParseError { .. })),
        "{seen:#?}"
    );
    cancel.cancel();
}
