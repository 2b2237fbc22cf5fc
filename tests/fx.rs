//! REST pollers against a fake server on `127.0.0.1:0`: the USD/KRW fallback chain (`fx::run`) and
//! the Upbit market list (`upbit::run_markets`). Intervals are 1 s; every wait is bounded.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::RawQuery;
use axum::http::StatusCode;
use axum::routing::get;
use kimp::config::{FxConfig, UpbitConfig};
use kimp::feed::{FeedMsg, fx, poller, upbit};
use kimp::model::{FeedState, FxRate, FxSource, MarketEvent, Venue};
use tokio::sync::{mpsc, watch};
use tokio_util::sync::{CancellationToken, DropGuard};

const OWN: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");
/// Longest wait for one message; a poll interval is 1 s.
const WAIT: Duration = Duration::from_secs(5);

/// One fake endpoint: what it answers (status, body, delay), how often and with which query it was hit.
#[derive(Clone, Default)]
struct Endpoint(Arc<EndpointState>);

#[derive(Default)]
struct EndpointState {
    reply: Mutex<(u16, String, Duration)>,
    hits: AtomicUsize,
    last_query: Mutex<Option<String>>,
}

impl Endpoint {
    fn new(status: u16, body: &str) -> Self {
        let endpoint = Endpoint::default();
        endpoint.set(status, body);
        endpoint
    }
    fn ok_fixture(name: &str) -> Self {
        let body = std::fs::read_to_string(format!("{OWN}/{name}")).expect("own fixture");
        Endpoint::new(200, &body)
    }
    fn set(&self, status: u16, body: &str) {
        *self.0.reply.lock().expect("lock") = (status, body.to_owned(), Duration::ZERO);
    }
    fn set_delay(&self, delay: Duration) {
        self.0.reply.lock().expect("lock").2 = delay;
    }
    fn hits(&self) -> usize {
        self.0.hits.load(Ordering::SeqCst)
    }
    async fn answer(self, query: Option<String>) -> (StatusCode, String) {
        self.0.hits.fetch_add(1, Ordering::SeqCst);
        *self.0.last_query.lock().expect("lock") = query;
        let (status, body, delay) = self.0.reply.lock().expect("lock").clone();
        tokio::time::sleep(delay).await;
        (StatusCode::from_u16(status).expect("valid status"), body)
    }
}

/// Serves each endpoint at its path; returns the base URL.
async fn serve(routes: &[(&str, &Endpoint)]) -> String {
    let mut app = Router::new();
    for (path, endpoint) in routes {
        let endpoint = (*endpoint).clone();
        app = app.route(
            path,
            get(move |RawQuery(q): RawQuery| endpoint.clone().answer(q)),
        );
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("local addr");
    tokio::spawn(async move { axum::serve(listener, app).await.expect("serve") });
    format!("http://{addr}")
}

struct Fx {
    dunamu: Endpoint,
    er: Endpoint,
    frankfurter: Endpoint,
    rx: mpsc::Receiver<FeedMsg>,
    _stop: DropGuard,
}

/// Starts `fx::run` against three fake sources (all answering their fixture until changed);
/// `setup` adjusts the endpoints before the first poll.
async fn start_fx(sources: &[&str], setup: impl FnOnce(&Endpoint, &Endpoint, &Endpoint)) -> Fx {
    let dunamu = Endpoint::ok_fixture("fx-dunamu.json");
    let er = Endpoint::ok_fixture("fx-open-er-api.json");
    let frankfurter = Endpoint::ok_fixture("fx-frankfurter-usd-krw.json");
    setup(&dunamu, &er, &frankfurter);
    let base = serve(&[
        ("/dunamu", &dunamu),
        ("/er", &er),
        ("/frankfurter", &frankfurter),
    ])
    .await;
    let cfg = FxConfig {
        sources: sources.iter().map(|s| (*s).to_owned()).collect(),
        poll_interval_secs: 1,
        timeout_secs: 1,
        dunamu_url: format!("{base}/dunamu"),
        open_er_api_url: format!("{base}/er"),
        frankfurter_url: format!("{base}/frankfurter"),
        ..FxConfig::default()
    };
    let (tx, rx) = mpsc::channel(64);
    let cancel = CancellationToken::new();
    tokio::spawn(fx::run(cfg, poller::http_client(), tx, cancel.clone()));
    Fx {
        dunamu,
        er,
        frankfurter,
        rx,
        _stop: cancel.drop_guard(),
    }
}

async fn next(rx: &mut mpsc::Receiver<FeedMsg>) -> FeedMsg {
    let msg = tokio::time::timeout(WAIT, rx.recv())
        .await
        .expect("no message within 5 s");
    msg.expect("channel open")
}

async fn next_fx(rx: &mut mpsc::Receiver<FeedMsg>) -> FxRate {
    match next(rx).await {
        FeedMsg::Events {
            feed: "fx.usdkrw",
            events,
        } => match events.as_slice() {
            [MarketEvent::Fx(rate)] => *rate,
            other => panic!("expected one Fx event, got {other:?}"),
        },
        other => panic!("expected fx events, got {other:?}"),
    }
}

async fn next_status(rx: &mut mpsc::Receiver<FeedMsg>) -> (FeedState, String) {
    match next(rx).await {
        FeedMsg::Status { state, detail, .. } => (state, detail.unwrap_or_default()),
        other => panic!("expected a status, got {other:?}"),
    }
}

const DEFAULT_ORDER: &[&str] = &["dunamu", "open_er_api", "frankfurter"];

#[tokio::test]
async fn primary_ok_gives_the_dunamu_value() {
    let mut fx = start_fx(DEFAULT_ORDER, |_, _, _| {}).await;
    let rate = next_fx(&mut fx.rx).await;
    assert_eq!(
        (rate.source, rate.krw_per_usd, rate.quoted_ms),
        (FxSource::Dunamu, 1384.2, 1_789_713_130_000)
    );
    assert_eq!(
        next_status(&mut fx.rx).await,
        (FeedState::Live, "dunamu".to_owned())
    );
    assert_eq!(
        (fx.dunamu.hits(), fx.er.hits(), fx.frankfurter.hits()),
        (1, 0, 0)
    );
}

#[tokio::test]
async fn primary_500_falls_back_to_open_er_api() {
    let mut fx = start_fx(DEFAULT_ORDER, |dunamu, _, _| dunamu.set(500, "oops")).await;
    let rate = next_fx(&mut fx.rx).await;
    assert_eq!(
        (rate.source, rate.krw_per_usd),
        (FxSource::OpenErApi, 1384.83)
    );
    assert_eq!(
        next_status(&mut fx.rx).await,
        (FeedState::Live, "open_er_api".to_owned())
    );
}

#[tokio::test]
async fn primary_garbage_is_a_parse_error_and_falls_back() {
    let mut fx = start_fx(DEFAULT_ORDER, |dunamu, _, _| {
        dunamu.set(200, "<html>점검 중</html>");
    })
    .await;
    match next(&mut fx.rx).await {
        FeedMsg::ParseError { feed, error } => {
            assert_eq!(feed, "fx.usdkrw");
            assert!(error.starts_with("dunamu: invalid JSON"), "{error}");
        }
        other => panic!("expected a parse error, got {other:?}"),
    }
    assert_eq!(next_fx(&mut fx.rx).await.source, FxSource::OpenErApi);
    assert_eq!(
        next_status(&mut fx.rx).await,
        (FeedState::Live, "open_er_api".to_owned())
    );
}

#[tokio::test]
async fn slow_primary_times_out_and_falls_back() {
    let mut fx = start_fx(DEFAULT_ORDER, |dunamu, _, _| {
        dunamu.set_delay(Duration::from_secs(4));
    })
    .await;
    let started = tokio::time::Instant::now();
    assert_eq!(next_fx(&mut fx.rx).await.source, FxSource::OpenErApi);
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "the 1 s timeout cut the request"
    );
}

#[tokio::test]
async fn all_sources_down_reports_down_with_every_reason() {
    let mut fx = start_fx(DEFAULT_ORDER, |d, e, f| {
        d.set(500, "a");
        e.set(429, "b");
        f.set(422, "c");
    })
    .await;
    let (state, detail) = next_status(&mut fx.rx).await;
    assert_eq!(state, FeedState::Down);
    for reason in [
        "dunamu: HTTP 500",
        "open_er_api: HTTP 429",
        "frankfurter: HTTP 422",
    ] {
        assert!(detail.contains(reason), "{detail}");
    }
}

#[tokio::test]
async fn configured_order_is_respected_and_unknown_names_skipped() {
    let mut fx = start_fx(&["bogus", "frankfurter", "dunamu"], |_, _, _| {}).await;
    let rate = next_fx(&mut fx.rx).await;
    assert_eq!(
        (rate.source, rate.krw_per_usd),
        (FxSource::Frankfurter, 1383.95)
    );
    assert_eq!(
        next_status(&mut fx.rx).await,
        (FeedState::Live, "frankfurter".to_owned())
    );
    assert_eq!(fx.dunamu.hits(), 0);
}

#[tokio::test]
async fn open_er_api_is_not_refetched_before_its_next_update() {
    let mut fx = start_fx(&["open_er_api"], |_, _, _| {}).await;
    let first = next_fx(&mut fx.rx).await;
    assert_eq!(next_status(&mut fx.rx).await.0, FeedState::Live);
    let second = next_fx(&mut fx.rx).await;
    assert_eq!(first, second, "the cached value is reused");
    assert_eq!(fx.er.hits(), 1);
}

const MARKETS: &str = r#"[{"market":"KRW-ETH","korean_name":"이더리움","english_name":"Ethereum"},
{"market":"BTC-ETH","korean_name":"이더리움","english_name":"Ethereum"},
{"market":"KRW-USDT","korean_name":"테더","english_name":"Tether","market_event":{"warning":false,"caution":{}}},
{"market":"KRW-BTC","korean_name":"비트코인","english_name":"Bitcoin","market_event":{"warning":true,"caution":{"GLOBAL_PRICE_DIFFERENCES":true}}}]"#;

#[tokio::test]
async fn run_markets_publishes_codes_and_reports_bad_bodies() {
    let markets = Endpoint::new(200, r#"{"oops""#);
    let base = serve(&[("/v1/market/all", &markets)]).await;
    let cfg = UpbitConfig {
        rest_url: format!("{base}/"),
        market_refresh_secs: 1,
        ..UpbitConfig::default()
    };
    let (tx, mut rx) = mpsc::channel(64);
    let (codes_tx, mut codes) = watch::channel(Vec::new());
    let cancel = CancellationToken::new();
    let _stop = cancel.clone().drop_guard();
    tokio::spawn(upbit::run_markets(
        cfg,
        poller::http_client(),
        tx,
        codes_tx,
        cancel,
    ));

    assert!(matches!(
        next(&mut rx).await,
        FeedMsg::ParseError {
            feed: "upbit.markets",
            ..
        }
    ));
    assert_eq!(next_status(&mut rx).await.0, FeedState::Down);
    assert!(
        !codes.has_changed().expect("sender alive"),
        "nothing published from a bad body"
    );
    assert_eq!(
        markets.0.last_query.lock().expect("lock").as_deref(),
        Some("is_details=true")
    );

    markets.set(200, MARKETS);
    let FeedMsg::Events {
        feed: "upbit.markets",
        events,
    } = next(&mut rx).await
    else {
        panic!("expected events")
    };
    let [
        MarketEvent::Markets {
            venue: Venue::Upbit,
            markets: list,
        },
    ] = events.as_slice()
    else {
        panic!("{events:?}")
    };
    let bases: Vec<&str> = list.iter().map(|m| m.base.as_str()).collect();
    assert_eq!(bases, ["ETH", "USDT", "BTC"]);
    assert_eq!(
        list[2].flags,
        ["warning", "caution:GLOBAL_PRICE_DIFFERENCES"]
    );
    assert_eq!(next_status(&mut rx).await.0, FeedState::Live);
    tokio::time::timeout(WAIT, codes.changed())
        .await
        .expect("codes published")
        .expect("sender alive");
    assert_eq!(
        *codes.borrow_and_update(),
        ["KRW-BTC", "KRW-ETH", "KRW-USDT"]
    );

    // The same list again: another Markets event, but the code list is not re-published.
    assert!(matches!(
        next(&mut rx).await,
        FeedMsg::Events {
            feed: "upbit.markets",
            ..
        }
    ));
    assert!(!codes.has_changed().expect("sender alive"));

    markets.set(
        404,
        r#"{"error":{"name":"not_found","message":"no Route matched with those values"}}"#,
    );
    let (state, detail) = next_status(&mut rx).await;
    assert_eq!(state, FeedState::Down);
    assert!(
        detail.contains("HTTP 404") && detail.contains("no Route matched"),
        "{detail}"
    );
}

#[tokio::test]
async fn run_markets_retries_sooner_until_the_first_success() {
    let markets = Endpoint::new(503, "maintenance");
    let base = serve(&[("/v1/market/all", &markets)]).await;
    // A 60 s refresh: only the 5 s first-retry brings the list in time.
    let cfg = UpbitConfig {
        rest_url: base,
        market_refresh_secs: 60,
        ..UpbitConfig::default()
    };
    let (tx, mut rx) = mpsc::channel(64);
    let (codes_tx, _codes) = watch::channel(Vec::new());
    let cancel = CancellationToken::new();
    let _stop = cancel.clone().drop_guard();
    tokio::spawn(upbit::run_markets(
        cfg,
        poller::http_client(),
        tx,
        codes_tx,
        cancel,
    ));
    let (state, detail) = next_status(&mut rx).await;
    assert_eq!(
        (state, detail.as_str()),
        (FeedState::Down, "HTTP 503: maintenance")
    );
    markets.set(200, MARKETS);
    let started = tokio::time::Instant::now();
    let msg = tokio::time::timeout(Duration::from_secs(8), rx.recv())
        .await
        .expect("retried within 8 s");
    assert!(
        matches!(
            msg,
            Some(FeedMsg::Events {
                feed: "upbit.markets",
                ..
            })
        ),
        "{msg:?}"
    );
    assert!(
        started.elapsed() > Duration::from_secs(3),
        "the retry waits its 5 s"
    );
    assert_eq!(markets.hits(), 2);
}
