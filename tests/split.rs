//! Split deployment (SPEC §6.2) end to end in one test process: a market service (`--role
//! market`, 8001) and a liquidation service (`--role liquidation`, 8002), each with its own
//! collectors against one simulator, and a gateway (`--role gateway`, 8000) that runs no exchange
//! collectors and serves what it reads from the two services' streams, plus its own coin-name
//! and fear & greed pollers.
#![allow(
    clippy::unwrap_used,
    reason = "test code: a failed unwrap is a failed test"
)]

use std::time::Duration;

use futures_util::StreamExt;
use kimp::app::{self, Running, StartOptions};
use kimp::config::Config;
use kimp::remote::{self, Upstreams};
use kimp::server::{self, Api, Role, Servers, Service};
use kimp::sim::{SimOptions, SimVenue, Simulator};
use serde_json::Value;
use tokio_util::sync::CancellationToken;

const TIMEOUT: Duration = Duration::from_secs(25);

/// One "process": a run, its API and its servers.
struct Process {
    running: Running,
    servers: Servers,
}

impl Process {
    fn url(&self, service: Service) -> String {
        format!("http://{}", self.servers.addr(service).unwrap())
    }

    async fn stop(self) {
        self.running.cancel.cancel();
        self.servers.wait().await;
        self.running.shutdown().await;
    }
}

fn serve(running: Running, cfg: &Config, role: Role) -> Process {
    let api = Api::new(&cfg.server, &running.state, running.cancel.clone());
    let servers = server::start(&api, &cfg.server, role.services()).unwrap();
    Process { running, servers }
}

fn config(sim: &Simulator, role: Role) -> Config {
    let mut cfg = Config::default();
    sim.configure(&mut cfg);
    cfg.server.gateway_port = 0;
    cfg.server.market_port = 0;
    cfg.server.liquidation_port = 0;
    role.apply(&mut cfg);
    cfg
}

async fn local(sim: &Simulator, role: Role) -> Process {
    let cfg = config(sim, role);
    let opts = StartOptions::default();
    let running = app::start(cfg.clone(), opts, CancellationToken::new())
        .await
        .unwrap();
    serve(running, &cfg, role)
}

async fn get(url: &str) -> (u16, Value) {
    let response = reqwest::get(url).await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

/// Polls `url` until `ready` holds for its JSON body.
async fn wait_for(url: &str, ready: impl Fn(&Value) -> bool) -> Value {
    let deadline = tokio::time::Instant::now() + TIMEOUT;
    loop {
        let (status, body) = get(url).await;
        if status == 200 && ready(&body) {
            return body;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{url} not ready: {body}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// What must agree between the market service and the gateway for one coin.
fn essentials(coin: &Value) -> Value {
    let prices: serde_json::Map<String, Value> = coin["prices"]
        .as_object()
        .unwrap_or_else(|| panic!("no prices: {coin}"))
        .iter()
        .map(|(venue, p)| (venue.clone(), p["price"].clone()))
        .collect();
    serde_json::json!({
        "symbol": coin["symbol"], "name_ko": coin["name_ko"], "name_en": coin["name_en"],
        "premium_percent": coin["premium_percent"],
        "premium_usdt_percent": coin["premium_usdt_percent"], "prices": prices,
    })
}

fn coins(doc: &Value) -> Vec<Value> {
    doc["coins"]
        .as_array()
        .unwrap()
        .iter()
        .map(essentials)
        .collect()
}

fn has_btc_premium(doc: &Value) -> bool {
    doc["coins"].as_array().is_some_and(|c| {
        c.iter()
            .any(|c| c["symbol"] == "BTC" && c["premium_percent"].is_number())
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gateway_serves_the_market_and_liquidation_services() {
    let opts = SimOptions {
        seed: 5,
        ..SimOptions::default()
    };
    let sim = Simulator::start("127.0.0.1:0".parse().unwrap(), opts)
        .await
        .unwrap();
    sim.faults().set_liquidation_rate(40.0);
    let market = local(&sim, Role::Market).await;
    let liquidation = local(&sim, Role::Liquidation).await;
    let cfg = config(&sim, Role::Gateway);
    let upstreams = Upstreams::split(
        &market.url(Service::Market),
        &liquidation.url(Service::Liquidation),
    );
    let running = remote::start(&cfg, &upstreams, None, CancellationToken::new()).unwrap();
    let gateway = serve(running, &cfg, Role::Gateway);
    let gw = gateway.url(Service::Gateway);

    // Coins, premiums, liquidation totals and the gateway's own fear & greed all arrive.
    wait_for(&format!("{gw}/api/coins/latest"), |doc| {
        has_btc_premium(doc)
            && doc["fear_greed"]["value"].is_number()
            && doc["liquidations"]["total"]["24h"]["count"]
                .as_u64()
                .is_some_and(|n| n > 0)
    })
    .await;
    let (status, fng) = get(&format!("{gw}/api/fear_greed_index")).await;
    assert_eq!(status, 200, "{fng}");
    let (_, names) = get(&format!("{gw}/api/coin-names")).await;
    assert_eq!(names["BTC"]["ko"], "비트코인", "{names}");

    // Freeze the prices, then the gateway's rows must equal the market service's exactly.
    let from_gateway = gateway_matches_market(&sim, &market, &gw).await;

    // Feed health of both services is visible on the gateway, behind the link row.
    let feeds: Vec<&str> = from_gateway["feeds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["feed"].as_str().unwrap())
        .collect();
    assert_eq!(feeds.first(), Some(&"gateway.upstreams"), "{feeds:?}");
    for feed in [
        "upbit.ticker",
        "binance.ticker",
        "bybit.liquidations",
        "fear_greed",
    ] {
        assert!(feeds.contains(&feed), "{feed} missing from {feeds:?}");
    }

    // The gateway's liquidation stream carries the liquidation service's events.
    let (mut ws, _) = tokio_tungstenite::connect_async(format!(
        "ws://{}/ws/liquidations",
        gateway.servers.addr(Service::Gateway).unwrap()
    ))
    .await
    .unwrap();
    let deadline = tokio::time::Instant::now() + TIMEOUT;
    let mut kinds = Vec::new();
    while !kinds.iter().any(|k| k == "liquidation") {
        let msg = tokio::time::timeout_at(deadline, ws.next())
            .await
            .expect("no liquidation through the gateway")
            .unwrap()
            .unwrap();
        let msg: Value = serde_json::from_str(msg.to_text().unwrap()).unwrap();
        kinds.push(msg["type"].as_str().unwrap().to_string());
    }
    assert_eq!(kinds[0], "snapshot");

    // The market service going away takes the gateway's health down, with the reason.
    market.stop().await;
    let health = wait_for_status(&format!("{gw}/health"), 503).await;
    let reasons = health["reasons"].to_string();
    assert!(reasons.contains("gateway.upstreams"), "{health}");

    gateway.stop().await;
    liquidation.stop().await;
    sim.shutdown().await;
}

/// Freezes the simulated prices, then checks the gateway's coins equal the market service's;
/// returns the gateway's document.
async fn gateway_matches_market(sim: &Simulator, market: &Process, gw: &str) -> Value {
    for venue in [
        SimVenue::Upbit,
        SimVenue::Bithumb,
        SimVenue::Binance,
        SimVenue::Bybit,
        SimVenue::Okx,
    ] {
        sim.faults().set_silent(venue, true);
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let mk = market.url(Service::Market);
    let (_, mut from_market) = get(&format!("{mk}/api/market/prices")).await;
    let (_, premiums) = get(&format!("{mk}/api/market/premiums")).await;
    for (coin, premium) in from_market["coins"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .zip(premiums["coins"].as_array().unwrap())
    {
        assert_eq!(coin["symbol"], premium["symbol"]);
        coin["premium_percent"] = premium["premium_percent"].clone();
        coin["premium_usdt_percent"] = premium["premium_usdt_percent"].clone();
    }
    let (_, from_gateway) = get(&format!("{gw}/api/coins/latest")).await;
    let mut a = coins(&from_market);
    let mut b = coins(&from_gateway);
    let key = |v: &Value| v["symbol"].as_str().unwrap().to_string();
    a.sort_by_key(key);
    b.sort_by_key(key);
    assert!(a.len() > 10, "{from_market}");
    assert_eq!(a, b);

    from_gateway
}

async fn wait_for_status(url: &str, want: u16) -> Value {
    let deadline = tokio::time::Instant::now() + TIMEOUT;
    loop {
        let (status, body) = get(url).await;
        if status == want {
            return body;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{url}: {status} {body}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Runs the binary with `args` (a fresh data dir); it must fail: returns its stderr.
fn failing_run(args: &[&str]) -> String {
    let data = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_kimp"))
        .args(args)
        .env("KIMP_DATA_DIR", data.path())
        .output()
        .unwrap();
    assert!(!out.status.success(), "{args:?} succeeded");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn gateway_role_needs_both_upstreams() {
    let upstream = ["--market-url", "http://127.0.0.1:1"];
    let gateway = [
        &["--serve", "--headless", "--role", "gateway"][..],
        &upstream,
    ]
    .concat();
    let err = failing_run(&gateway);
    assert!(err.contains("--liquidation-url"), "{err}");
    let err = failing_run(&[&["--serve", "--headless"][..], &upstream].concat());
    assert!(err.contains("--role gateway"), "{err}");
}
