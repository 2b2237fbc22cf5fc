//! The exchange simulator (SPEC §8): one loopback HTTP/WebSocket server that speaks each venue's
//! real protocol under a path prefix, driven by a seeded market model.
//!
//! | path | protocol |
//! |---|---|
//! | `WS /upbit/websocket/v1` | Upbit tickers: subscribe array, binary frames, `PING` → `{"status":"UP"}` |
//! | `GET /upbit/v1/market/all[?is_details=true]` | Upbit market list, names, `market_event` flags |
//! | `WS /bithumb/websocket/v1` | Bithumb v1 tickers: Upbit's protocol, camelCase options, KST `trade_date`/`trade_time` |
//! | `GET /bithumb/public/ticker/ALL_KRW` | Bithumb legacy tickers: string values, `date` among the coins, errors with HTTP 200 |
//! | `GET /bithumb/v1/market/all?isDetails=true` | Bithumb market list, names, `market_warning` |
//! | `GET /bithumb/v1/market/virtual_asset_warning` | Bithumb alerts (`PRICE_DIFFERENCE_HIGH`, a market twice) |
//! | `WS /binance/stream?streams=a/b`, `WS /binance/ws/<stream>`, `WS /binance/ws` | Binance spot `!ticker_1d@arr`, `!miniTicker@arr` |
//! | `WS /bybit/v5/public/spot` | Bybit spot `tickers.{symbol}`: ≤10 args per subscribe, acks, `{"op":"ping"}` pongs |
//! | `GET /bybit/v5/market/tickers?category=spot` | Bybit spot tickers, `retCode` envelope |
//! | `WS /okx/ws/v5/public` | OKX `tickers`: per-arg events, 60018 errors, text `ping` → `pong`, 30 s idle cut |
//! | `GET /okx/api/v5/public/instruments?instType=SPOT` | OKX spot instruments, `code` envelope |
//! | `WS /binance-futures/market/stream?streams=!forceOrder@arr/!markPrice@arr@1s`, `WS /binance-futures/market/ws/<streams>` | Binance USD-M `forceOrder` (sampled ≤ 1/symbol/s), `markPriceUpdate` arrays every second, server pings |
//! | `WS /binance-futures/ws/<stream>`, `/binance-futures/stream` | the legacy USD-M route: connects, answers requests, then sends nothing (the 2026 failure) |
//! | `WS /bybit/v5/public/linear` | Bybit `allLiquidation.{symbol}` in 500 ms batches, linear acks and pongs, 21,000-char args cap |
//! | `GET /bybit/v5/market/instruments-info?category=linear` | Bybit linear symbols (840 rows: past 500, and more topics than one connection's 21,000-char cap holds), `limit` + `cursor` paging |
//! | `WS /okx/ws/v5/public` (`liquidation-orders`) | OKX SWAP liquidations in contracts, late re-deliveries |
//! | `GET /okx/api/v5/public/instruments?instType=SWAP` | OKX swaps with `ctType`, `ctVal` |
//! | `WS /bitmex/realtime[?subscribe=liquidation,instrument]` | BitMEX welcome, acks, `instrument` and `liquidation` partial/insert/update/delete, text `ping` |
//! | `GET /fx/dunamu/v1/forex/recent?codes=FRX.KRWUSD` | Dunamu bank quote |
//! | `GET /fx/open-er-api/v6/latest/USD` | open.er-api daily rates |
//! | `GET /fx/frankfurter/v2/rate/USD/KRW` | Frankfurter v2 reference rate |
//! | `GET /fng/?limit=2` | alternative.me fear & greed index |
//! | `GET`/`POST /sim/faults`, `GET /sim/stats` | fault knobs ([`faults`]) and counters |
//!
//! Which coins each venue lists (slightly different sets, a ticker clash on `ALT`): [`coins`].
//! Liquidations (Poisson arrivals, heavy-tailed sizes, cascades, knob `liquidation_rate`) come from
//! the market model ([`market`]); `SimStats` counts them generated and sent per venue.
//!
//! It writes its own wire JSON and never imports `crate::feed`: a parser's misreading of a field
//! cannot be copied into the simulator and hidden. `--demo` starts it in-process and points every
//! feed at it with [`Simulator::configure`], so the demo runs exactly the production collectors.

#![allow(
    clippy::doc_markdown,
    reason = "BitMEX is a venue name, not code (as in `feed::liq`)"
)]

mod binance;
mod binance_futures;
mod binance_futures_wire;
mod binance_wire;
mod bithumb;
mod bithumb_wire;
mod bitmex;
mod bitmex_wire;
mod bybit;
mod bybit_linear;
mod bybit_linear_wire;
mod bybit_wire;
mod clock;
pub mod coins;
mod control;
mod driver;
pub mod faults;
mod fng;
pub mod frames;
mod fx;
pub mod market;
mod okx;
mod okx_swap_wire;
mod okx_wire;
mod spot;
mod stats;
mod ticker;
mod upbit;
mod upbit_wire;
mod wire;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::serve::ListenerExt;
use tokio::net::TcpListener;
use tokio::sync::broadcast;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

pub use faults::{
    FaultKnob, FaultSettings, FaultSpec, Faults, SimVenue, VenueFaults, parse_fault_specs,
};
pub use market::{LiqExchange, MarketModel, ModelState, SimLiquidation};
pub use stats::SimStats;

use binance_futures::FuturesPush;
use driver::{BinancePush, UpbitTick};
use spot::{LiqTick, SpotTick};
use stats::{OpenGuard, Stats};

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
    /// Bithumb's idle close, the same rule (observed 60 s, documented ~120 s).
    pub bithumb_idle_close: Duration,
    /// Bybit cuts a connection without client message or data for this long (~10 min).
    pub bybit_idle_close: Duration,
    /// OKX cuts a connection without client message or data (so also one without a
    /// subscription) for this long (30 s).
    pub okx_idle_close: Duration,
    /// Binance USD-M server ping interval (the real one is 3 min); no pong within 10/3 of it ⇒
    /// dropped (10 min on the real venue).
    pub binance_futures_ping_interval: Duration,
    /// Largest page of Bybit's linear `instruments-info`, whatever `limit` asks (the real cap is
    /// 1,000; lower it to make a client that asks for 1,000 page through the 840 rows).
    pub bybit_instruments_page_max: usize,
    /// The `liquidation_rate` knob at start (1 = a few liquidations per minute per venue, 0 =
    /// none until the knob is raised).
    pub liquidation_rate: f64,
    /// The message rate multiplier knob at start (1 = the real rate).
    pub rate_multiplier: f64,
    /// Fault knobs turned on at start (`kimp simulate --fault`, `simulator.faults`).
    pub faults: Vec<FaultSpec>,
}

impl Default for SimOptions {
    fn default() -> Self {
        SimOptions {
            seed: 1,
            tick: Duration::from_millis(market::STEP_MS),
            binance_ping_interval: Duration::from_secs(20),
            upbit_idle_close: Duration::from_secs(60),
            bithumb_idle_close: Duration::from_secs(60),
            bybit_idle_close: Duration::from_secs(600),
            okx_idle_close: Duration::from_secs(30),
            binance_futures_ping_interval: Duration::from_secs(180),
            bybit_instruments_page_max: 1_000,
            liquidation_rate: 1.0,
            rate_multiplier: 1.0,
            faults: Vec::new(),
        }
    }
}

/// State shared by the model task and every connection.
pub(crate) struct Shared {
    model: Mutex<MarketModel>,
    pub faults: Faults,
    pub upbit_tx: broadcast::Sender<Arc<UpbitTick>>,
    pub bithumb_tx: broadcast::Sender<Arc<UpbitTick>>,
    pub binance_tx: broadcast::Sender<Arc<BinancePush>>,
    pub bybit_tx: broadcast::Sender<Arc<SpotTick>>,
    pub okx_tx: broadcast::Sender<Arc<SpotTick>>,
    pub binance_futures_tx: broadcast::Sender<Arc<FuturesPush>>,
    pub bybit_linear_tx: broadcast::Sender<Arc<LiqTick>>,
    pub okx_liq_tx: broadcast::Sender<Arc<LiqTick>>,
    pub bitmex_tx: broadcast::Sender<Arc<LiqTick>>,
    pub opts: SimOptions,
    /// Wall time the simulator started (epoch ms).
    pub started_ms: u64,
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
        let started_ms = clock::now_ms();
        let faults = Faults::default();
        faults.set_liquidation_rate(opts.liquidation_rate);
        faults.set_rate_multiplier(opts.rate_multiplier);
        for spec in &opts.faults {
            spec.apply(&faults);
        }
        let shared = Arc::new(Shared {
            model: Mutex::new(MarketModel::new(opts.seed, started_ms)),
            faults,
            upbit_tx: broadcast::channel(BROADCAST_CAPACITY).0,
            bithumb_tx: broadcast::channel(BROADCAST_CAPACITY).0,
            binance_tx: broadcast::channel(BROADCAST_CAPACITY).0,
            bybit_tx: broadcast::channel(BROADCAST_CAPACITY).0,
            okx_tx: broadcast::channel(BROADCAST_CAPACITY).0,
            binance_futures_tx: broadcast::channel(BROADCAST_CAPACITY).0,
            bybit_linear_tx: broadcast::channel(BROADCAST_CAPACITY).0,
            okx_liq_tx: broadcast::channel(BROADCAST_CAPACITY).0,
            bitmex_tx: broadcast::channel(BROADCAST_CAPACITY).0,
            opts,
            started_ms,
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
        let drops = tokio::spawn(faults::run_drop_schedule(
            shared.faults.clone(),
            shared.cancel.clone(),
        ));
        Ok(Simulator {
            addr,
            shared,
            tasks: vec![server, model, drops],
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

    /// Counters of connections, pings, pongs, frames and liquidations.
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
        let liq = &mut cfg.liquidations;
        liq.binance_ws_url.clone_from(&urls.binance_futures_ws);
        liq.bybit_ws_url.clone_from(&urls.bybit_linear_ws);
        liq.bybit_rest_url.clone_from(&urls.bybit_rest);
        liq.okx_ws_url.clone_from(&urls.okx_ws);
        liq.okx_rest_url.clone_from(&urls.okx_rest);
        liq.bitmex_ws_url.clone_from(&urls.bitmex_ws);
        cfg.upbit.ws_url = urls.upbit_ws;
        cfg.upbit.rest_url = urls.upbit_rest;
        cfg.binance.ws_url = urls.binance_ws;
        cfg.binance.fallback_ws_url = urls.binance_fallback_ws;
        cfg.bithumb.ws_url = urls.bithumb_ws;
        cfg.bithumb.rest_url = urls.bithumb_rest;
        cfg.bybit.ws_url = urls.bybit_ws;
        cfg.bybit.rest_url = urls.bybit_rest;
        cfg.okx.ws_url = urls.okx_ws;
        cfg.okx.rest_url = urls.okx_rest;
        cfg.fx.dunamu_url = urls.dunamu;
        cfg.fx.open_er_api_url = urls.open_er_api;
        cfg.fx.frankfurter_url = urls.frankfurter;
        cfg.fear_greed.url = urls.fear_greed;
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
    bithumb_ws: String,
    bithumb_rest: String,
    bybit_ws: String,
    bybit_rest: String,
    okx_ws: String,
    okx_rest: String,
    dunamu: String,
    open_er_api: String,
    frankfurter: String,
    fear_greed: String,
    binance_futures_ws: String,
    binance_futures_legacy_ws: String,
    bybit_linear_ws: String,
    bitmex_ws: String,
}

impl Urls {
    fn new(addr: SocketAddr) -> Self {
        Urls {
            upbit_ws: format!("ws://{addr}/upbit/websocket/v1"),
            upbit_rest: format!("http://{addr}/upbit"),
            binance_ws: format!("ws://{addr}/binance/stream?streams=!ticker_1d@arr"),
            binance_fallback_ws: format!("ws://{addr}/binance/stream?streams=!miniTicker@arr"),
            bithumb_ws: format!("ws://{addr}/bithumb/websocket/v1"),
            bithumb_rest: format!("http://{addr}/bithumb"),
            bybit_ws: format!("ws://{addr}/bybit/v5/public/spot"),
            bybit_rest: format!("http://{addr}/bybit"),
            okx_ws: format!("ws://{addr}/okx/ws/v5/public"),
            okx_rest: format!("http://{addr}/okx"),
            dunamu: format!("http://{addr}/fx/dunamu/v1/forex/recent?codes=FRX.KRWUSD"),
            open_er_api: format!("http://{addr}/fx/open-er-api/v6/latest/USD"),
            frankfurter: format!("http://{addr}/fx/frankfurter/v2/rate/USD/KRW"),
            fear_greed: format!("http://{addr}/fng/?limit=2"),
            binance_futures_ws: format!(
                "ws://{addr}/binance-futures/market/stream?streams=!forceOrder@arr/!markPrice@arr@1s"
            ),
            binance_futures_legacy_ws: format!("ws://{addr}/binance-futures/ws/!forceOrder@arr"),
            bybit_linear_ws: format!("ws://{addr}/bybit/v5/public/linear"),
            bitmex_ws: format!("ws://{addr}/bitmex/realtime?subscribe=liquidation,instrument"),
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
    let faults: Vec<String> = opts.faults.iter().map(ToString::to_string).collect();
    let sim = Simulator::start(bind, opts)
        .await
        .with_context(|| format!("binding the simulator to {bind}"))?;
    let addr = sim.addr();
    let urls = Urls::new(addr);
    tracing::info!(%addr, seed, "exchange simulator listening");
    if !faults.is_empty() {
        tracing::info!(faults = %faults.join(", "), "fault knobs on at start");
    }
    tracing::info!(url = %urls.upbit_ws, "upbit websocket");
    tracing::info!(url = %format!("{}/v1/market/all?is_details=true", urls.upbit_rest), "upbit markets");
    tracing::info!(url = %urls.binance_ws, "binance stream");
    tracing::info!(url = %urls.binance_fallback_ws, "binance fallback stream");
    tracing::info!(url = %urls.bithumb_ws, "bithumb websocket");
    let bithumb = &urls.bithumb_rest;
    tracing::info!(url = %format!("{bithumb}/public/ticker/ALL_KRW"), "bithumb tickers");
    tracing::info!(url = %format!("{bithumb}/v1/market/all?isDetails=true"), "bithumb markets");
    tracing::info!(url = %format!("{bithumb}/v1/market/virtual_asset_warning"), "bithumb alerts");
    tracing::info!(url = %urls.bybit_ws, "bybit spot websocket");
    let bybit = &urls.bybit_rest;
    tracing::info!(url = %format!("{bybit}/v5/market/tickers?category=spot"), "bybit tickers");
    tracing::info!(url = %urls.okx_ws, "okx websocket");
    let okx = &urls.okx_rest;
    tracing::info!(url = %format!("{okx}/api/v5/public/instruments?instType=SPOT"), "okx instruments");
    tracing::info!(url = %urls.binance_futures_ws, "binance usd-m liquidations + mark prices");
    tracing::info!(url = %urls.binance_futures_legacy_ws, "binance usd-m legacy route (silent)");
    tracing::info!(url = %urls.bybit_linear_ws, "bybit linear liquidations");
    tracing::info!(url = %format!("{bybit}/v5/market/instruments-info?category=linear"), "bybit linear symbols");
    tracing::info!(url = %format!("{okx}/api/v5/public/instruments?instType=SWAP"), "okx swaps (liquidations on the okx websocket)");
    tracing::info!(url = %urls.bitmex_ws, "bitmex liquidations + instruments");
    tracing::info!(url = %urls.dunamu, "fx dunamu");
    tracing::info!(url = %urls.open_er_api, "fx open.er-api");
    tracing::info!(url = %urls.frankfurter, "fx frankfurter");
    tracing::info!(url = %urls.fear_greed, "fear & greed");
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
        .route("/bithumb/websocket/v1", get(bithumb::websocket))
        .route("/bithumb/public/ticker/{pair}", get(bithumb::public_ticker))
        .route("/bithumb/v1/market/all", get(bithumb::market_all))
        .route(
            "/bithumb/v1/market/virtual_asset_warning",
            get(bithumb::virtual_asset_warning),
        )
        .route("/bithumb/{*rest}", get(bithumb::not_found))
        .route("/binance/stream", get(binance::combined))
        .route("/binance/ws", get(binance::bare))
        .route("/binance/ws/{stream}", get(binance::raw))
        .route("/bybit/v5/public/spot", get(bybit::websocket))
        .route("/bybit/v5/market/tickers", get(bybit::tickers))
        .route("/okx/ws/v5/public", get(okx::websocket))
        .route("/okx/api/v5/public/instruments", get(okx::instruments))
        .route(
            "/binance-futures/market/stream",
            get(binance_futures::market_combined),
        )
        .route(
            "/binance-futures/market/ws",
            get(binance_futures::market_bare),
        )
        .route(
            "/binance-futures/market/ws/{*streams}",
            get(binance_futures::market_raw),
        )
        .route(
            "/binance-futures/stream",
            get(binance_futures::legacy_combined),
        )
        .route("/binance-futures/ws", get(binance_futures::legacy_bare))
        .route(
            "/binance-futures/ws/{*streams}",
            get(binance_futures::legacy_raw),
        )
        .route("/bybit/v5/public/linear", get(bybit_linear::websocket))
        .route(
            "/bybit/v5/market/instruments-info",
            get(bybit_linear::instruments_info),
        )
        .route("/bitmex/realtime", get(bitmex::websocket))
        .route("/fng/", get(fng::fear_greed))
        .route("/fng", get(fng::fear_greed))
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
