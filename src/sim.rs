//! The exchange simulator (SPEC §8): one loopback HTTP/WebSocket server that speaks each venue's
//! real protocol under a path prefix, driven by a seeded market model.
//!
//! | path | protocol |
//! |---|---|
//! | `WS /upbit/websocket/v1` | Upbit tickers: subscribe array, binary frames, `PING` → `{"status":"UP"}` |
//! | `GET /upbit/v1/market/all[?is_details=true]` | Upbit market list, names, `market_event` flags |
//! | `WS /binance/stream?streams=a/b`, `WS /binance/ws/<stream>`, `WS /binance/ws` | Binance spot `!ticker_1d@arr`, `!miniTicker@arr` |
//! | `GET /fx/dunamu/v1/forex/recent?codes=FRX.KRWUSD` | Dunamu bank quote |
//! | `GET /fx/open-er-api/v6/latest/USD` | open.er-api daily rates |
//! | `GET /fx/frankfurter/v2/rate/USD/KRW` | Frankfurter v2 reference rate |
//! | `GET`/`POST /sim/faults`, `GET /sim/stats` | fault knobs ([`faults`]) and counters |
//!
//! It writes its own wire JSON and never imports `crate::feed`: a parser's misreading of a field
//! cannot be copied into the simulator and hidden. `--demo` starts it in-process and points every
//! feed at it with [`Simulator::configure`], so the demo runs exactly the production collectors.

mod binance;
mod binance_wire;
mod clock;
pub mod coins;
mod control;
mod driver;
pub mod faults;
mod fx;
pub mod market;
mod ticker;
mod upbit;
mod upbit_wire;
mod wire;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::serve::ListenerExt;
use serde::Serialize;
use tokio::net::TcpListener;
use tokio::sync::broadcast;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

pub use faults::{FaultSettings, Faults, SimVenue, VenueFaults};
pub use market::{MarketModel, ModelState};

use driver::{BinancePush, UpbitTick};

/// Frames buffered per connection before a slow reader skips ahead (it then just misses ticks).
const BROADCAST_CAPACITY: usize = 1024;
/// How long [`Simulator::shutdown`] waits for its tasks.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(3);

/// Simulator settings.
#[derive(Debug, Clone, PartialEq)]
pub struct SimOptions {
    /// Model seed: same seed ⇒ same sequence of prices.
    pub seed: u64,
    /// Wall time per model step (each step is 250 ms of market time; shorter = faster market).
    pub tick: Duration,
    /// Binance server ping interval (the real one is 20 s); no pong within 3 intervals ⇒ dropped.
    pub binance_ping_interval: Duration,
    /// Upbit closes a socket whose client sent nothing (no `PING`, no ping frame) for this long,
    /// without a close frame (observed ~60 s).
    pub upbit_idle_close: Duration,
}

impl Default for SimOptions {
    fn default() -> Self {
        SimOptions {
            seed: 1,
            tick: Duration::from_millis(market::STEP_MS),
            binance_ping_interval: Duration::from_secs(20),
            upbit_idle_close: Duration::from_secs(60),
        }
    }
}

/// Counters of what the simulator did; `GET /sim/stats` serves the same.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct SimStats {
    pub upbit_connections: u64,
    pub upbit_open: u64,
    pub binance_connections: u64,
    pub binance_open: u64,
    pub binance_pings: u64,
    /// Pongs that answered the latest server ping (unsolicited pongs don't count, as on Binance).
    pub binance_pongs: u64,
    /// Data frames sent on every venue (garbage included).
    pub frames: u64,
    pub malformed_frames: u64,
}

#[derive(Debug, Default)]
pub(crate) struct Stats {
    pub upbit_connections: AtomicU64,
    pub upbit_open: AtomicU64,
    pub binance_connections: AtomicU64,
    pub binance_open: AtomicU64,
    pub binance_pings: AtomicU64,
    pub binance_pongs: AtomicU64,
    pub frames: AtomicU64,
    pub malformed_frames: AtomicU64,
}

impl Stats {
    fn snapshot(&self) -> SimStats {
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        SimStats {
            upbit_connections: get(&self.upbit_connections),
            upbit_open: get(&self.upbit_open),
            binance_connections: get(&self.binance_connections),
            binance_open: get(&self.binance_open),
            binance_pings: get(&self.binance_pings),
            binance_pongs: get(&self.binance_pongs),
            frames: get(&self.frames),
            malformed_frames: get(&self.malformed_frames),
        }
    }

    pub(crate) fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

/// Counts a connection as open for as long as it lives.
pub(crate) struct OpenGuard<'a>(&'a AtomicU64);

impl<'a> OpenGuard<'a> {
    pub(crate) fn new(total: &AtomicU64, open: &'a AtomicU64) -> Self {
        Stats::bump(total);
        Stats::bump(open);
        OpenGuard(open)
    }
}

impl Drop for OpenGuard<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// State shared by the model task and every connection.
pub(crate) struct Shared {
    model: Mutex<MarketModel>,
    pub faults: Faults,
    pub upbit_tx: broadcast::Sender<Arc<UpbitTick>>,
    pub binance_tx: broadcast::Sender<Arc<BinancePush>>,
    pub opts: SimOptions,
    pub cancel: CancellationToken,
    pub stats: Stats,
}

impl Shared {
    /// The model, locked briefly (never across an `.await`). A panic while stepping leaves a
    /// usable model behind, so poisoning is ignored.
    pub(crate) fn model(&self) -> MutexGuard<'_, MarketModel> {
        self.model.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A running simulator. Dropping it stops it too; [`Simulator::shutdown`] also waits.
pub struct Simulator {
    addr: SocketAddr,
    shared: Arc<Shared>,
    tasks: Vec<JoinHandle<()>>,
}

impl Simulator {
    /// Binds `bind` (port 0 picks a free port), spawns the server and the model, returns at once.
    pub async fn start(bind: SocketAddr, opts: SimOptions) -> std::io::Result<Simulator> {
        let listener = TcpListener::bind(bind).await?;
        let addr = listener.local_addr()?;
        let cancel = CancellationToken::new();
        let shared = Arc::new(Shared {
            model: Mutex::new(MarketModel::new(opts.seed, clock::now_ms())),
            faults: Faults::default(),
            upbit_tx: broadcast::channel(BROADCAST_CAPACITY).0,
            binance_tx: broadcast::channel(BROADCAST_CAPACITY).0,
            opts,
            cancel: cancel.clone(),
            stats: Stats::default(),
        });
        let app = router(Arc::clone(&shared));
        let listener = listener.tap_io(|tcp| {
            // Small frames should leave at once, not wait for Nagle.
            let _ = tcp.set_nodelay(true);
        });
        let server = tokio::spawn(async move {
            let serve = axum::serve(listener, app).with_graceful_shutdown(cancel.cancelled_owned());
            if let Err(e) = serve.await {
                tracing::warn!(error = %e, "simulator server stopped");
            }
        });
        let model = tokio::spawn(driver::run(Arc::clone(&shared)));
        Ok(Simulator {
            addr,
            shared,
            tasks: vec![server, model],
        })
    }

    /// The bound address.
    #[must_use]
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The fault knobs.
    #[must_use]
    pub fn faults(&self) -> &Faults {
        &self.shared.faults
    }

    /// Counters of connections, pings, pongs and frames.
    #[must_use]
    pub fn stats(&self) -> SimStats {
        self.shared.stats.snapshot()
    }

    /// The model's current rates and prices.
    #[must_use]
    pub fn model_state(&self) -> ModelState {
        self.shared.model().state()
    }

    /// Points every feed URL of `cfg` at this simulator.
    pub fn configure(&self, cfg: &mut crate::config::Config) {
        let urls = Urls::new(self.addr);
        cfg.upbit.ws_url = urls.upbit_ws;
        cfg.upbit.rest_url = urls.upbit_rest;
        cfg.binance.ws_url = urls.binance_ws;
        cfg.binance.fallback_ws_url = urls.binance_fallback_ws;
        cfg.fx.dunamu_url = urls.dunamu;
        cfg.fx.open_er_api_url = urls.open_er_api;
        cfg.fx.frankfurter_url = urls.frankfurter;
    }

    /// Stops the server, every connection and the model, waiting up to 3 s.
    pub async fn shutdown(mut self) {
        self.shared.cancel.cancel();
        let tasks = std::mem::take(&mut self.tasks);
        let _ = tokio::time::timeout(SHUTDOWN_GRACE, futures_util::future::join_all(tasks)).await;
    }
}

impl Drop for Simulator {
    fn drop(&mut self) {
        self.shared.cancel.cancel();
    }
}

/// The URLs a client uses, for one bound address.
struct Urls {
    upbit_ws: String,
    upbit_rest: String,
    binance_ws: String,
    binance_fallback_ws: String,
    dunamu: String,
    open_er_api: String,
    frankfurter: String,
}

impl Urls {
    fn new(addr: SocketAddr) -> Self {
        Urls {
            upbit_ws: format!("ws://{addr}/upbit/websocket/v1"),
            upbit_rest: format!("http://{addr}/upbit"),
            binance_ws: format!("ws://{addr}/binance/stream?streams=!ticker_1d@arr"),
            binance_fallback_ws: format!("ws://{addr}/binance/stream?streams=!miniTicker@arr"),
            dunamu: format!("http://{addr}/fx/dunamu/v1/forex/recent?codes=FRX.KRWUSD"),
            open_er_api: format!("http://{addr}/fx/open-er-api/v6/latest/USD"),
            frankfurter: format!("http://{addr}/fx/frankfurter/v2/rate/USD/KRW"),
        }
    }
}

/// Runs the simulator alone (`kimp simulate`) until `cancel`.
pub async fn run_standalone(
    bind: SocketAddr,
    opts: SimOptions,
    cancel: CancellationToken,
) -> anyhow::Result<()> {
    use anyhow::Context as _;
    let seed = opts.seed;
    let sim = Simulator::start(bind, opts)
        .await
        .with_context(|| format!("binding the simulator to {bind}"))?;
    let addr = sim.addr();
    let urls = Urls::new(addr);
    tracing::info!(%addr, seed, "exchange simulator listening");
    tracing::info!(url = %urls.upbit_ws, "upbit websocket");
    tracing::info!(url = %format!("{}/v1/market/all?is_details=true", urls.upbit_rest), "upbit markets");
    tracing::info!(url = %urls.binance_ws, "binance stream");
    tracing::info!(url = %urls.binance_fallback_ws, "binance fallback stream");
    tracing::info!(url = %urls.dunamu, "fx dunamu");
    tracing::info!(url = %urls.open_er_api, "fx open.er-api");
    tracing::info!(url = %urls.frankfurter, "fx frankfurter");
    tracing::info!(url = %format!("http://{addr}/sim/faults"), "fault knobs (GET, POST)");
    cancel.cancelled().await;
    sim.shutdown().await;
    tracing::info!("exchange simulator stopped");
    Ok(())
}

fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/upbit/websocket/v1", get(upbit::websocket))
        .route("/upbit/v1/market/all", get(upbit::market_all))
        .route("/upbit/{*rest}", get(upbit::not_found))
        .route("/binance/stream", get(binance::combined))
        .route("/binance/ws", get(binance::bare))
        .route("/binance/ws/{stream}", get(binance::raw))
        .route("/fx/dunamu/v1/forex/recent", get(fx::dunamu))
        .route("/fx/open-er-api/v6/latest/{base}", get(fx::open_er_api))
        .route(
            "/fx/frankfurter/v2/rate/{base}/{quote}",
            get(fx::frankfurter),
        )
        .route(
            "/sim/faults",
            get(control::get_faults).post(control::post_faults),
        )
        .route("/sim/stats", get(get_stats))
        .fallback(not_found)
        .with_state(shared)
}

async fn get_stats(State(shared): State<Arc<Shared>>) -> Response {
    axum::Json(shared.stats.snapshot()).into_response()
}

async fn not_found() -> Response {
    control::json_error(StatusCode::NOT_FOUND, "not_found", "no such simulator path")
}
