//! The REST + WebSocket API (SPEC §6) over real sockets on `127.0.0.1:0`, fed by the real
//! collectors running against the in-process simulator; liquidations are injected through the
//! state task's feed channel so their counts are exact. Routers are also called directly with
//! `tower::ServiceExt::oneshot` for the error cases.
//!
//! Files: this one (harness, REST documents), `server/errors.rs` (JSON errors, token),
//! `server/ws.rs` (fan-out: snapshot first, contiguous seq, coalescing, lag resync, 1013
//! eviction, close codes, shutdown), `server/e2e.rs` (`kimp --demo --serve --headless`).
#![allow(
    clippy::unwrap_used,
    reason = "test code: a failed unwrap is a failed test"
)]

#[path = "server/e2e.rs"]
mod e2e;
#[path = "server/errors.rs"]
mod errors;
#[path = "server/rest.rs"]
mod rest;
#[path = "server/ws.rs"]
mod ws;

use std::time::Duration;

use kimp::app::{self, Running, StartOptions};
use kimp::clock::now_ms;
use kimp::config::{Config, ServerConfig};
use kimp::feed::FeedMsg;
use kimp::model::{FeedState, LiqVenue, Liquidation, MarketEvent, Side};
use kimp::server::{self, Api, Servers, Service};
use kimp::sim::SimOptions;
use kimp::state::task::{self, StateHandle};
use kimp::state::{MarketState, StateConfig};
use serde_json::Value;
use tokio_util::sync::CancellationToken;

/// How long the demo may take to deliver every market feed.
const DATA_TIMEOUT: Duration = Duration::from_secs(20);

/// A running app with its API on free ports.
pub(crate) struct Env {
    pub(crate) running: Running,
    pub(crate) api: Api,
    pub(crate) servers: Servers,
    pub(crate) http: reqwest::Client,
}

/// The test config: simulator-fed market feeds, no liquidation collectors (the tests inject
/// liquidations themselves), every port free.
pub(crate) fn test_config() -> Config {
    let mut cfg = Config::default();
    cfg.server.gateway_port = 0;
    cfg.server.market_port = 0;
    cfg.server.liquidation_port = 0;
    cfg.liquidations.binance_enabled = false;
    cfg.liquidations.bybit_enabled = false;
    cfg.liquidations.okx_enabled = false;
    cfg.liquidations.bitmex_enabled = false;
    cfg
}

impl Env {
    pub(crate) async fn start(tweak: impl FnOnce(&mut Config)) -> Env {
        let mut cfg = test_config();
        tweak(&mut cfg);
        let opts = StartOptions {
            demo: Some(SimOptions {
                seed: 11,
                ..SimOptions::default()
            }),
            database: None,
            record: None,
        };
        let running = app::start(cfg.clone(), opts, CancellationToken::new())
            .await
            .unwrap();
        let api = Api::new(&cfg.server, &running.state, running.cancel.clone());
        let servers = server::start(&api, &cfg.server, &Service::ALL).unwrap();
        Env {
            running,
            api,
            servers,
            http: reqwest::Client::new(),
        }
    }

    pub(crate) fn url(&self, service: Service, path: &str) -> String {
        format!("http://{}{path}", self.servers.addr(service).unwrap())
    }

    pub(crate) fn ws_url(&self, service: Service, path: &str) -> String {
        format!("ws://{}{path}", self.servers.addr(service).unwrap())
    }

    /// GET over the socket: status and JSON body.
    pub(crate) async fn get(&self, service: Service, path: &str) -> (u16, Value) {
        let response = self.http.get(self.url(service, path)).send().await.unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        let body = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("{path}: not JSON ({e}): {text}"));
        (status, body)
    }

    /// Waits until BTC has both premiums and the fear & greed index arrived.
    pub(crate) async fn wait_for_data(&self) {
        let deadline = tokio::time::Instant::now() + DATA_TIMEOUT;
        loop {
            let latest = self.api.latest();
            let snap = &latest.snap;
            let ready = snap.fear_greed.is_some()
                && snap.coin("BTC").is_some_and(|c| {
                    c.premium_percent.is_some() && c.premium_usdt_percent.is_some()
                });
            if ready {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "no demo data within {DATA_TIMEOUT:?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Sends liquidations into the state task as if a collector had parsed them.
    pub(crate) async fn inject(&self, events: Vec<Liquidation>) {
        let msg = FeedMsg::Events {
            feed: "bybit.liquidations",
            events: events.into_iter().map(MarketEvent::Liquidation).collect(),
        };
        self.running.state.feed_tx.send(msg).await.unwrap();
    }

    /// Reports a liquidation feed's state as a collector would.
    pub(crate) async fn set_feed(&self, feed: &'static str, state: FeedState) {
        let msg = FeedMsg::Status {
            feed,
            state,
            at_ms: now_ms(),
            detail: None,
        };
        self.running.state.feed_tx.send(msg).await.unwrap();
    }

    /// Waits until the published snapshot's tape holds `id`.
    pub(crate) async fn wait_for_liquidation(&self, id: &str) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        while !self
            .api
            .latest()
            .snap
            .liquidation_tape
            .iter()
            .any(|l| l.id == id)
        {
            assert!(
                tokio::time::Instant::now() < deadline,
                "{id} never published"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Cancels everything and waits for servers, WebSocket connections and collectors.
    pub(crate) async fn stop(self) {
        self.running.cancel.cancel();
        self.servers.wait().await;
        self.running.shutdown().await;
    }
}

/// An API over a bare state task (no collectors, no simulator): fast, and nothing arrives that
/// a test does not send.
pub(crate) struct Bare {
    pub(crate) api: Api,
    pub(crate) state: StateHandle,
    pub(crate) cancel: CancellationToken,
    pub(crate) servers: Option<Servers>,
}

impl Bare {
    /// Without listeners (for `oneshot`).
    pub(crate) fn new(tweak: impl FnOnce(&mut ServerConfig)) -> Bare {
        let mut cfg = test_config();
        tweak(&mut cfg.server);
        let cancel = CancellationToken::new();
        let state = MarketState::new(StateConfig::from_config(&cfg));
        let (handle, _join) = task::spawn(state, None, Duration::from_millis(50), cancel.clone());
        let api = Api::new(&cfg.server, &handle, cancel.clone());
        Bare {
            api,
            state: handle,
            cancel,
            servers: None,
        }
    }

    /// With listeners on free ports for `services`.
    pub(crate) fn serve(tweak: impl FnOnce(&mut ServerConfig), services: &[Service]) -> Bare {
        let mut cfg = test_config().server;
        tweak(&mut cfg);
        let mut bare = Bare::new(|s| *s = cfg.clone());
        bare.servers = Some(server::start(&bare.api, &cfg, services).unwrap());
        bare
    }

    pub(crate) fn ws_url(&self, service: Service, path: &str) -> String {
        let addr = self.servers.as_ref().unwrap().addr(service).unwrap();
        format!("ws://{addr}{path}")
    }

    pub(crate) async fn inject(&self, events: Vec<Liquidation>) {
        let msg = FeedMsg::Events {
            feed: "bybit.liquidations",
            events: events.into_iter().map(MarketEvent::Liquidation).collect(),
        };
        self.state.feed_tx.send(msg).await.unwrap();
    }

    pub(crate) async fn stop(self) {
        self.cancel.cancel();
        if let Some(servers) = self.servers {
            servers.wait().await;
        }
    }
}

/// A liquidation with a unique id (`test:{tag}:{n}`), stamped now.
pub(crate) fn liquidation(
    tag: &str,
    n: usize,
    exchange: LiqVenue,
    notional_usd: f64,
) -> Liquidation {
    let now = now_ms();
    Liquidation {
        id: format!("{}:test:{tag}:{n}", exchange.as_str()),
        exchange,
        symbol: "BTCUSDT".into(),
        base: "BTC".into(),
        side: if n.is_multiple_of(2) {
            Side::Long
        } else {
            Side::Short
        },
        price: 100_000.0,
        quantity: notional_usd / 100_000.0,
        notional_usd,
        time_ms: now,
        received_ms: now,
    }
}

/// Checks that `text` is `OpenMetrics` text as Prometheus reads it: `# HELP`/`# TYPE`/`# UNIT`
/// comments, every other line `name{labels} value` (or `name value`) with a number for value and
/// a name of the family its `# TYPE` line declared (`_total` for counters), family names unique,
/// and `# EOF` last. Returns the samples as `(series, value)`, series being `name{labels}`.
pub(crate) fn parse_metrics(text: &str) -> Vec<(String, f64)> {
    assert!(text.ends_with("\n# EOF\n"), "no # EOF at the end:\n{text}");
    let mut families: Vec<String> = Vec::new();
    let mut current: Option<(String, String)> = None;
    let mut samples = Vec::new();
    for line in text.lines() {
        if line == "# EOF" {
            continue;
        }
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').unwrap();
            assert!(
                ["counter", "gauge"].contains(&kind),
                "unexpected type: {line}"
            );
            families.push(name.to_owned());
            current = Some((name.to_owned(), kind.to_owned()));
            continue;
        }
        if line.starts_with("# HELP ") || line.starts_with("# UNIT ") {
            continue;
        }
        assert!(!line.starts_with('#'), "unexpected comment: {line}");
        let (series, value) = line.rsplit_once(' ').unwrap();
        let value: f64 = value
            .parse()
            .unwrap_or_else(|_| panic!("not a number: {line}"));
        let name = match series.split_once('{') {
            Some((name, labels)) => {
                let labels = labels.strip_suffix('}').unwrap();
                for pair in labels.split("\",") {
                    let key = pair.split_once("=\"").unwrap().0;
                    assert!(
                        !key.is_empty()
                            && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
                        "label name in {line}"
                    );
                }
                assert!(labels.ends_with('"'), "labels of {line}");
                name
            }
            None => series,
        };
        assert!(
            name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
            "metric name in {line}"
        );
        let (family, kind) = current.as_ref().unwrap();
        let expected = if kind == "counter" {
            format!("{family}_total")
        } else {
            family.clone()
        };
        assert_eq!(name, expected, "sample outside its family: {line}");
        samples.push((series.to_owned(), value));
    }
    let mut repeated: Vec<&String> = families
        .iter()
        .enumerate()
        .filter(|(i, name)| families[..*i].contains(name))
        .map(|(_, name)| name)
        .collect();
    repeated.dedup();
    // OpenMetrics: a family name appears once (strict parsers reject the scrape otherwise).
    assert!(repeated.is_empty(), "family names repeat: {repeated:?}");
    samples
}

/// The value of `series` (`name{labels}`) in `/metrics` text, checking the whole text first.
pub(crate) fn metric(text: &str, series: &str) -> Option<f64> {
    parse_metrics(text)
        .into_iter()
        .find(|(s, _)| s == series)
        .map(|(_, v)| v)
}

#[test]
fn a_role_keeps_only_its_collectors() {
    use kimp::feed::liq::collect::feeds as liquidation_feeds;
    use kimp::server::Role;
    let mut cfg = Config::default();
    Role::Market.apply(&mut cfg);
    let market = app::enabled_feeds(&cfg);
    assert!(market.contains(&"upbit.ticker") && market.contains(&"fx.usdkrw"));
    assert!(
        liquidation_feeds(&cfg.liquidations)
            .iter()
            .all(|(_, on)| !on)
    );
    let mut cfg = Config::default();
    Role::Liquidation.apply(&mut cfg);
    assert_eq!(
        app::enabled_feeds(&cfg),
        Vec::<&str>::new(),
        "no market feed"
    );
    assert!(
        liquidation_feeds(&cfg.liquidations)
            .iter()
            .all(|(_, on)| *on)
    );
    let mut cfg = Config::default();
    Role::All.apply(&mut cfg);
    assert_eq!(cfg, Config::default());
    assert_eq!(Role::All.services(), Service::ALL);
    assert_eq!(Role::Market.services(), [Service::Market]);
}
