//! The exchange simulator over real loopback sockets: each venue's protocol as a client sees it,
//! the market model's determinism and realism, and every fault knob's observable effect.
#![expect(
    clippy::unwrap_used,
    reason = "test code: a failed unwrap is a failed test"
)]

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use kimp::sim::{MarketModel, SimOptions, SimVenue, Simulator};
use serde_json::Value;
use tokio::net::TcpStream;
use tokio::time::{Instant, timeout};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream, connect_async};

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

const WAIT: Duration = Duration::from_secs(5);

fn options() -> SimOptions {
    SimOptions {
        seed: 42,
        tick: Duration::from_millis(20),
        binance_ping_interval: Duration::from_millis(300),
        upbit_idle_close: Duration::from_secs(60),
        bithumb_idle_close: Duration::from_secs(60),
        bybit_idle_close: Duration::from_secs(600),
        okx_idle_close: Duration::from_secs(30),
        binance_futures_ping_interval: Duration::from_millis(300),
        bybit_instruments_page_max: 1_000,
        liquidation_rate: 1.0,
        ..SimOptions::default()
    }
}

/// [`options`] with no liquidations until a test raises the knob.
fn quiet_options() -> SimOptions {
    SimOptions {
        liquidation_rate: 0.0,
        ..options()
    }
}

async fn start_with(opts: SimOptions) -> Simulator {
    Simulator::start("127.0.0.1:0".parse().unwrap(), opts)
        .await
        .unwrap()
}

async fn start() -> Simulator {
    start_with(options()).await
}

async fn connect(sim: &Simulator, path: &str) -> Ws {
    let url = format!("ws://{}{path}", sim.addr());
    connect_async(url.as_str()).await.unwrap().0
}

/// Next message of any kind; `None` on timeout. Panics on a transport error.
async fn next_any(ws: &mut Ws, within: Duration) -> Option<Message> {
    match timeout(within, ws.next()).await {
        Err(_) => None,
        Ok(Some(Ok(m))) => Some(m),
        Ok(other) => panic!("connection ended: {other:?}"),
    }
}

/// Next text or binary frame, skipping pings and pongs; panics after [`WAIT`].
async fn next_data(ws: &mut Ws) -> Message {
    let deadline = Instant::now() + WAIT;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match next_any(ws, left).await {
            Some(Message::Ping(_) | Message::Pong(_)) => {}
            Some(m) => return m,
            None => panic!("no data frame within {WAIT:?}"),
        }
    }
}

fn json(msg: &Message) -> Value {
    serde_json::from_slice(&msg.clone().into_data()).unwrap_or_else(|e| panic!("{e}: {msg:?}"))
}

/// Reads until the connection ends; true if it ended without a close frame (abrupt drop).
async fn ends_abruptly(ws: &mut Ws, within: Duration) -> bool {
    let deadline = Instant::now() + within;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match timeout(left, ws.next()).await {
            Err(elapsed) => panic!("still open after {within:?}: {elapsed}"),
            Ok(Some(Ok(Message::Close(_)))) => return false,
            Ok(Some(Ok(_))) => {}
            Ok(Some(Err(_)) | None) => return true,
        }
    }
}

async fn upbit_subscribe(ws: &mut Ws, codes: &[&str], format: &str) {
    let request = serde_json::json!([{"ticket": "test"}, {"format": format}, {"type": "ticker", "codes": codes}]);
    ws.send(Message::text(request.to_string())).await.unwrap();
}

async fn get(sim: &Simulator, path: &str) -> (u16, String) {
    let response = reqwest::get(format!("http://{}{path}", sim.addr()))
        .await
        .unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

/// Next text frame (pings skipped) as JSON; panics on a binary frame or after [`WAIT`].
async fn next_text_json(ws: &mut Ws) -> Value {
    let msg = next_data(ws).await;
    assert!(msg.is_text(), "expected a text frame: {msg:?}");
    json(&msg)
}

/// Sends one text frame.
async fn send_text(ws: &mut Ws, text: &str) {
    ws.send(Message::text(text)).await.unwrap();
}

/// Reads `n` data frames of a Binance stream as JSON.
async fn binance_frames(ws: &mut Ws, n: usize) -> Vec<Value> {
    let mut out = Vec::new();
    while out.len() < n {
        let msg = next_data(ws).await;
        assert!(msg.is_text(), "Binance frames are text: {msg:?}");
        out.push(json(&msg));
    }
    out
}

#[path = "sim/binance.rs"]
mod binance;
#[path = "sim/binance_futures.rs"]
mod binance_futures;
#[path = "sim/bithumb.rs"]
mod bithumb;
#[path = "sim/bitmex.rs"]
mod bitmex;
#[path = "sim/bybit.rs"]
mod bybit;
#[path = "sim/bybit_linear.rs"]
mod bybit_linear;
#[path = "sim/consistency.rs"]
mod consistency;
#[path = "sim/faults.rs"]
mod faults;
#[path = "sim/fear_greed.rs"]
mod fear_greed;
#[path = "sim/liquidations.rs"]
mod liquidations;
#[path = "sim/okx.rs"]
mod okx;
#[path = "sim/okx_liquidations.rs"]
mod okx_liquidations;
#[path = "sim/upbit.rs"]
mod upbit;
#[path = "sim/venue_faults.rs"]
mod venue_faults;

#[tokio::test]
async fn fx_endpoints_agree_with_each_other() {
    let sim = start().await;
    let (status, body) = get(&sim, "/fx/dunamu/v1/forex/recent?codes=FRX.KRWUSD").await;
    assert_eq!(status, 200);
    assert!(body.contains("\"basePrice\":"), "{body}");
    let dunamu: Value = serde_json::from_str(&body).unwrap();
    let d = &dunamu[0];
    assert_eq!(
        (
            d["code"].as_str(),
            d["currencyCode"].as_str(),
            d["provider"].as_str()
        ),
        (Some("FRX.KRWUSD"), Some("USD"), Some("하나은행"))
    );
    let base = d["basePrice"].as_f64().unwrap();
    assert!((1300.0..1480.0).contains(&base), "{base}");
    assert!(d["timestamp"].as_u64().unwrap() > 1_700_000_000_000);

    let (_, body) = get(&sim, "/fx/open-er-api/v6/latest/USD").await;
    let er: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        (er["result"].as_str(), er["base_code"].as_str()),
        (Some("success"), Some("USD"))
    );
    assert_eq!(er["rates"]["USD"], 1);
    let krw = er["rates"]["KRW"].as_f64().unwrap();
    assert!((krw / base - 1.0).abs() < 0.01, "{krw} vs {base}");
    assert!(er["time_next_update_unix"].as_u64() > er["time_last_update_unix"].as_u64());

    let (_, body) = get(&sim, "/fx/frankfurter/v2/rate/USD/KRW").await;
    let fr: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        (fr["base"].as_str(), fr["quote"].as_str()),
        (Some("USD"), Some("KRW"))
    );
    assert!((fr["rate"].as_f64().unwrap() / base - 1.0).abs() < 0.01);
    assert_eq!(fr["date"].as_str().unwrap().len(), 10);
    assert_eq!(get(&sim, "/fx/frankfurter/v2/rate/USD/XXX").await.0, 422);
    assert_eq!(
        get(&sim, "/fx/dunamu/v1/forex/recent?codes=FRX.KRWXXX")
            .await
            .1,
        "[]"
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn wire_prices_reproduce_the_premium_formulas() {
    let sim = start().await;
    let mut upbit = connect(&sim, "/upbit/websocket/v1").await;
    upbit_subscribe(&mut upbit, &["KRW-BTC", "KRW-USDT"], "DEFAULT").await;
    let mut krw = BTreeMap::new();
    while krw.len() < 2 {
        let v = json(&next_data(&mut upbit).await);
        krw.insert(
            v["code"].as_str().unwrap().to_owned(),
            v["trade_price"].as_f64().unwrap(),
        );
    }
    let mut binance = connect(&sim, "/binance/ws/!ticker_1d@arr").await;
    sim.faults().set_rate_multiplier(4.0);
    let mut g = None;
    while g.is_none() {
        let data = json(&next_data(&mut binance).await);
        g = data
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["s"] == "BTCUSDT")
            .map(|t| t["c"].as_str().unwrap().parse::<f64>().unwrap());
    }
    let (_, body) = get(&sim, "/fx/dunamu/v1/forex/recent?codes=FRX.KRWUSD").await;
    let f = serde_json::from_str::<Value>(&body).unwrap()[0]["basePrice"]
        .as_f64()
        .unwrap();
    let (k, u, g) = (krw["KRW-BTC"], krw["KRW-USDT"], g.unwrap());
    let tether = u / f - 1.0;
    let kimp_usdt = k / (g * u) - 1.0;
    let kimp = k / (g * f) - 1.0;
    assert!((0.003..0.025).contains(&tether), "tether premium {tether}");
    assert!((-0.01..0.03).contains(&kimp_usdt), "kimp_usdt {kimp_usdt}");
    assert!(((1.0 + kimp) / ((1.0 + kimp_usdt) * (1.0 + tether)) - 1.0).abs() < 1e-9);
    let model = sim.model_state();
    assert!(
        (kimp_usdt - model.kimp_usdt).abs() < 0.01,
        "{kimp_usdt} vs model {}",
        model.kimp_usdt
    );
    sim.shutdown().await;
}

#[test]
fn same_seed_same_model_states_different_seed_differs() {
    let start = 1_795_000_000_000;
    let run = |seed| {
        let mut m = MarketModel::new(seed, start);
        (0..50)
            .map(|n| {
                m.step(start + n * 250);
                m.state()
            })
            .collect::<Vec<_>>()
    };
    let (a, b, c) = (run(9), run(9), run(10));
    assert_eq!(a, b);
    assert_ne!(a[0], c[0]);
    assert_ne!(a[0], a[49], "the market moves");
}

#[tokio::test]
async fn configure_points_feeds_at_the_simulator_and_shutdown_closes() {
    let sim = start().await;
    let mut cfg = kimp::config::Config::default();
    sim.configure(&mut cfg);
    let addr = sim.addr();
    assert_eq!(cfg.upbit.ws_url, format!("ws://{addr}/upbit/websocket/v1"));
    assert_eq!(cfg.upbit.rest_url, format!("http://{addr}/upbit"));
    assert_eq!(
        cfg.binance.ws_url,
        format!("ws://{addr}/binance/stream?streams=!ticker_1d@arr")
    );
    assert_eq!(
        cfg.binance.fallback_ws_url,
        format!("ws://{addr}/binance/stream?streams=!miniTicker@arr")
    );
    assert_eq!(
        cfg.bithumb.ws_url,
        format!("ws://{addr}/bithumb/websocket/v1")
    );
    assert_eq!(
        cfg.bybit.ws_url,
        format!("ws://{addr}/bybit/v5/public/spot")
    );
    assert_eq!(cfg.okx.ws_url, format!("ws://{addr}/okx/ws/v5/public"));
    let liq = &cfg.liquidations;
    assert_eq!(
        liq.binance_ws_url,
        format!(
            "ws://{addr}/binance-futures/market/stream?streams=!forceOrder@arr/!markPrice@arr@1s"
        )
    );
    assert_eq!(
        liq.bybit_ws_url,
        format!("ws://{addr}/bybit/v5/public/linear")
    );
    assert_eq!(liq.bybit_rest_url, format!("http://{addr}/bybit"));
    assert_eq!(liq.okx_ws_url, format!("ws://{addr}/okx/ws/v5/public"));
    assert_eq!(liq.okx_rest_url, format!("http://{addr}/okx"));
    assert_eq!(
        liq.bitmex_ws_url,
        format!("ws://{addr}/bitmex/realtime?subscribe=liquidation,instrument")
    );
    // The feeds append these paths to the REST bases.
    let rest = [
        cfg.fx.dunamu_url.clone(),
        cfg.fx.open_er_api_url.clone(),
        cfg.fx.frankfurter_url.clone(),
        cfg.fear_greed.url.clone(),
        format!("{}/public/ticker/ALL_KRW", cfg.bithumb.rest_url),
        format!("{}/v1/market/all?isDetails=true", cfg.bithumb.rest_url),
        format!("{}/v1/market/virtual_asset_warning", cfg.bithumb.rest_url),
        format!("{}/v5/market/tickers?category=spot", cfg.bybit.rest_url),
        format!(
            "{}/api/v5/public/instruments?instType=SPOT",
            cfg.okx.rest_url
        ),
        format!(
            "{}/v5/market/instruments-info?category=linear&limit=1000",
            liq.bybit_rest_url
        ),
        format!(
            "{}/api/v5/public/instruments?instType=SWAP",
            liq.okx_rest_url
        ),
    ];
    for url in &rest {
        let path = url.strip_prefix(&format!("http://{addr}")).unwrap();
        let (status, body) = get(&sim, path).await;
        assert_eq!(status, 200, "{url}");
        serde_json::from_str::<Value>(&body).unwrap_or_else(|e| panic!("{url}: {e}"));
    }
    let mut sockets = Vec::new();
    for url in [
        &cfg.bithumb.ws_url,
        &cfg.bybit.ws_url,
        &cfg.okx.ws_url,
        &cfg.upbit.ws_url,
        &cfg.liquidations.bybit_ws_url,
        &cfg.liquidations.bitmex_ws_url,
        &cfg.liquidations.binance_ws_url,
    ] {
        sockets.push(connect_async(url.as_str()).await.unwrap().0);
    }
    sim.shutdown().await;
    for ws in &mut sockets {
        // Frames sent before the shutdown (BitMEX's welcome, a mark-price push) may come first.
        loop {
            match next_data(ws).await {
                Message::Close(Some(f)) => {
                    assert_eq!(u16::from(f.code), 1001);
                    break;
                }
                Message::Text(_) | Message::Binary(_) => {}
                other => panic!("{other:?}"),
            }
        }
    }
    assert!(TcpStream::connect(addr).await.is_err(), "listener closed");
}
