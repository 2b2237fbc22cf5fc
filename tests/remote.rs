//! `--remote`: a client of another kimp's API gateway. A simulator, the collectors and the API run
//! in-process; the remote client's snapshot mirrors `/api/coins/latest`, liquidations reach it, a
//! gateway restart shows as `remote.link` reconnecting then live again, and the built binary's
//! `kimp snapshot --remote URL --json` prints the document; against a fake gateway, a `seq` gap
//! makes the client ask for a fresh snapshot.
#![allow(
    clippy::unwrap_used,
    reason = "test code: a failed unwrap is a failed test"
)]

use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use kimp::app::{self, Running, StartOptions};
use kimp::clock::now_ms;
use kimp::config::Config;
use kimp::feed::FeedMsg;
use kimp::model::{FeedState, LiqVenue, Liquidation, MarketEvent, Side};
use kimp::remote::{self, LINK_FEED};
use kimp::server::{self, Api, Servers, Service};
use kimp::sim::SimOptions;
use kimp::state::snapshot::Snapshot;
use tokio_util::sync::CancellationToken;

const TIMEOUT: Duration = Duration::from_secs(15);

/// Collectors on the simulator (liquidations injected by the tests) with the API on free ports.
struct Env {
    cfg: Config,
    running: Running,
    api: Api,
    servers: Option<Servers>,
    api_cancel: CancellationToken,
}

impl Env {
    async fn start() -> Env {
        let mut cfg = Config::default();
        cfg.server.gateway_port = 0;
        cfg.server.market_port = 0;
        cfg.server.liquidation_port = 0;
        cfg.server.ws_updates_per_sec = 20;
        cfg.liquidations.binance_enabled = false;
        cfg.liquidations.bybit_enabled = false;
        cfg.liquidations.okx_enabled = false;
        cfg.liquidations.bitmex_enabled = false;
        let opts = StartOptions {
            demo: Some(SimOptions {
                seed: 3,
                ..SimOptions::default()
            }),
            database: None,
            record: None,
        };
        let running = app::start(cfg.clone(), opts, CancellationToken::new())
            .await
            .unwrap();
        let api_cancel = running.cancel.child_token();
        let api = Api::new(&cfg.server, &running.state, api_cancel.clone());
        let servers = server::start(&api, &cfg.server, &[Service::Gateway]).unwrap();
        let env = Env {
            cfg,
            running,
            api,
            servers: Some(servers),
            api_cancel,
        };
        env.wait_for_data().await;
        env
    }

    fn url(&self) -> String {
        format!("http://{}", self.gateway())
    }

    fn gateway(&self) -> std::net::SocketAddr {
        self.servers
            .as_ref()
            .unwrap()
            .addr(Service::Gateway)
            .unwrap()
    }

    async fn wait_for_data(&self) {
        wait_until("demo data", || {
            let latest = self.api.latest();
            latest
                .snap
                .coin("BTC")
                .is_some_and(|c| c.premium_percent.is_some())
        })
        .await;
    }

    /// Stops the API (its WebSocket clients are closed) and starts it again on the same port.
    async fn restart_gateway(&mut self) {
        let port = self.gateway().port();
        self.api_cancel.cancel();
        self.servers.take().unwrap().wait().await;
        self.api_cancel = self.running.cancel.child_token();
        let mut cfg = self.cfg.server.clone();
        cfg.gateway_port = port;
        self.api = Api::new(&cfg, &self.running.state, self.api_cancel.clone());
        self.servers = Some(server::start(&self.api, &cfg, &[Service::Gateway]).unwrap());
    }

    async fn stop(self) {
        self.running.cancel.cancel();
        if let Some(servers) = self.servers {
            servers.wait().await;
        }
        self.running.shutdown().await;
    }
}

async fn wait_until(what: &str, mut ready: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + TIMEOUT;
    while !ready() {
        assert!(tokio::time::Instant::now() < deadline, "timed out: {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

fn link_state(client: &Running) -> Option<FeedState> {
    client
        .state
        .snapshots
        .borrow()
        .feed(LINK_FEED)
        .map(|f| f.state)
}

/// Coins and both premiums, by symbol.
fn premiums(snap: &Snapshot) -> Vec<(String, Option<f64>, Option<f64>)> {
    let mut rows: Vec<_> = snap
        .coins
        .iter()
        .map(|c| (c.symbol.clone(), c.premium_percent, c.premium_usdt_percent))
        .collect();
    rows.sort_by(|a, b| a.0.cmp(&b.0));
    rows
}

fn close(a: Option<f64>, b: Option<f64>) -> bool {
    match (a, b) {
        (Some(x), Some(y)) => (x - y).abs() <= 1e-9 * x.abs().max(1.0),
        (None, None) => true,
        _ => false,
    }
}

fn same_premiums(a: &Snapshot, b: &Snapshot) -> bool {
    let (a, b) = (premiums(a), premiums(b));
    a.len() == b.len()
        && a.iter()
            .zip(&b)
            .all(|(x, y)| x.0 == y.0 && close(x.1, y.1) && close(x.2, y.2))
}

/// Waits until the client's document equals one the server published (it trails by at most an
/// update interval, so the server's recent documents are kept to compare against).
async fn wait_mirrors(env: &Env, client: &Running) {
    let mut served: Vec<Arc<Snapshot>> = Vec::new();
    wait_until("the remote snapshot matches the served one", || {
        let latest = Arc::clone(&env.api.latest().snap);
        if served.last().is_none_or(|s| !Arc::ptr_eq(s, &latest)) {
            served.push(latest);
        }
        let mine = client.state.snapshots.borrow().clone();
        !mine.coins.is_empty()
            && served
                .iter()
                .rev()
                .take(100)
                .any(|s| same_premiums(s, &mine))
    })
    .await;
}

fn liquidation(id: &str) -> Liquidation {
    Liquidation {
        id: id.to_string(),
        exchange: LiqVenue::Bybit,
        symbol: "BTCUSDT".into(),
        base: "BTC".into(),
        side: Side::Long,
        price: 100_000.0,
        quantity: 2.0,
        notional_usd: 200_000.0,
        time_ms: now_ms(),
        received_ms: now_ms(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remote_snapshot_mirrors_the_gateway_and_gets_liquidations() {
    let env = Env::start().await;
    let client = remote::start(
        &Config::default(),
        &remote::Upstreams::gateway(&env.url()),
        None,
        CancellationToken::new(),
    )
    .unwrap();
    let mut events = client.state.liquidations.subscribe();
    wait_until("link live", || link_state(&client) == Some(FeedState::Live)).await;
    wait_mirrors(&env, &client).await;
    let served: serde_json::Value = reqwest::get(format!("{}/api/coins/latest", env.url()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mine = client.state.snapshots.borrow().clone();
    let served_feeds = served["feeds"].as_array().unwrap().len();
    assert_eq!(
        mine.feeds.len(),
        served_feeds + 1,
        "upstream feeds plus the link row"
    );
    assert_eq!(mine.feeds[0].feed, LINK_FEED);
    assert_eq!(kimp::tui::labels::feed_label(LINK_FEED), Some("SRV"));
    let header = kimp::tui::widgets::header::feed_state(&mine, "SRV");
    assert_eq!(header, Some(FeedState::Live), "the dashboard's SRV mark");
    assert!(mine.feed("upbit.ticker").is_some());

    let msg = FeedMsg::Events {
        feed: "bybit.liquidations",
        events: vec![MarketEvent::Liquidation(liquidation("bybit:remote-1"))],
    };
    env.running.state.feed_tx.send(msg).await.unwrap();
    let got = tokio::time::timeout(TIMEOUT, events.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got.id, "bybit:remote-1");
    wait_until("the event on the tape", || {
        client
            .state
            .snapshots
            .borrow()
            .recent_liquidations
            .first()
            .map(|l| l.id.as_str())
            == Some("bybit:remote-1")
    })
    .await;
    client.shutdown().await;
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gateway_restart_reconnects_with_fresh_data() {
    let mut env = Env::start().await;
    let client = remote::start(
        &Config::default(),
        &remote::Upstreams::gateway(&env.url()),
        None,
        CancellationToken::new(),
    )
    .unwrap();
    wait_until("link live", || link_state(&client) == Some(FeedState::Live)).await;
    env.restart_gateway().await;
    wait_until("link reconnecting", || {
        link_state(&client) == Some(FeedState::Reconnecting)
    })
    .await;
    let before = client.state.snapshots.borrow().timestamp.clone();
    wait_until("link live again", || {
        link_state(&client) == Some(FeedState::Live)
    })
    .await;
    wait_until("fresh data", || {
        client.state.snapshots.borrow().timestamp > before
    })
    .await;
    wait_mirrors(&env, &client).await;
    let link = client
        .state
        .snapshots
        .borrow()
        .feed(LINK_FEED)
        .cloned()
        .unwrap();
    assert!(link.reconnects >= 1, "{link:?}");
    assert_eq!(link.gaps.len(), 1, "{link:?}");
    client.shutdown().await;
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snapshot_remote_json_from_the_binary() {
    let env = Env::start().await;
    let dir = tempfile::tempdir().unwrap();
    let url = env.url();
    let output = tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_kimp"))
            .args(["snapshot", "--json", "--remote", &url, "--data-dir"])
            .arg(dir.path())
            .env_clear()
            .env("HOME", dir.path())
            .stdin(Stdio::null())
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    let doc: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(doc["feeds"][0]["feed"], LINK_FEED);
    assert_eq!(doc["feeds"][0]["state"], "live");
    assert!(doc["coins"].as_array().is_some_and(|c| !c.is_empty()));
    assert!(doc["coins"][0]["premium_percent"].is_number() || doc["coins"][0]["stale"] == true);
    env.stop().await;
}

/// A fake gateway: `/ws/liquidations` sends an empty snapshot; `/ws/prices` sends a snapshot,
/// then a message that skips a `seq`, and reports what the client sends back.
async fn fake_gateway(
    listener: tokio::net::TcpListener,
    doc: serde_json::Value,
    replies: tokio::sync::mpsc::Sender<String>,
) {
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message;
    use tokio_tungstenite::tungstenite::handshake::server::{Request, Response};
    loop {
        let (tcp, _) = listener.accept().await.unwrap();
        let (doc, replies) = (doc.clone(), replies.clone());
        tokio::spawn(async move {
            let mut path = String::new();
            #[expect(clippy::result_large_err, reason = "tungstenite's callback signature")]
            let callback = |req: &Request, resp: Response| {
                path = req.uri().path().to_string();
                Ok(resp)
            };
            let mut ws = tokio_tungstenite::accept_hdr_async(tcp, callback)
                .await
                .unwrap();
            let frames = if path == "/ws/prices" {
                let status = serde_json::json!({"feeds": doc["feeds"].clone()});
                vec![("snapshot", 1, doc), ("status", 3, status)]
            } else {
                let data = serde_json::json!({"recent": [], "summary": null, "feeds": []});
                vec![("snapshot", 1, data)]
            };
            for (kind, seq, data) in frames {
                let msg = serde_json::json!({"seq": seq, "type": kind, "ts_ms": 0, "data": data});
                ws.send(Message::text(msg.to_string())).await.unwrap();
            }
            while let Some(Ok(msg)) = ws.next().await {
                if let Message::Text(text) = msg {
                    let _ = replies.send(text.to_string()).await;
                }
            }
        });
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_seq_gap_asks_for_a_fresh_snapshot() {
    let cfg = Config::default();
    let empty = kimp::state::MarketState::new(kimp::state::StateConfig::from_config(&cfg));
    let doc = serde_json::to_value(empty.snapshot(now_ms())).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (tx, mut replies) = tokio::sync::mpsc::channel(4);
    let server = tokio::spawn(fake_gateway(listener, doc, tx));
    let client = remote::start(
        &cfg,
        &remote::Upstreams::gateway(&url),
        None,
        CancellationToken::new(),
    )
    .unwrap();
    let reply = tokio::time::timeout(TIMEOUT, replies.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(reply, r#"{"type":"snapshot"}"#);
    wait_until("link live", || link_state(&client) == Some(FeedState::Live)).await;
    client.shutdown().await;
    server.abort();
}
