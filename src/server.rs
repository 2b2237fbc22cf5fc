//! The REST + WebSocket API of `--serve` (SPEC §6): three services, each one axum `Router` —
//! market data ([`market`], 8001), liquidations ([`liquidation`], 8002) and the gateway
//! ([`gateway`], 8000) — over one read-only view of the state ([`Api`]).
//!
//! Nothing here writes market state: REST handlers read the latest published snapshot (whose §6.0
//! document is serialised once, [`published`]); WebSocket connections read shared frames from two
//! hubs ([`ws`]). [`start`] binds the listeners (connection cap, `TCP_NODELAY`, [`listen`]) and
//! serves until the cancellation token fires; [`Servers::wait`] then lets WebSocket clients get
//! their 1001 close.

mod common;
pub mod error;
pub mod gateway;
pub mod health;
pub mod liquidation;
mod listen;
pub mod market;
pub mod metrics;
pub mod published;
pub mod role;
pub mod ws;

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use axum::Router;
use axum::response::Response;
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::config::{ServerConfig, parse_bind_ip};
use crate::state::task::StateHandle;
pub use error::ApiError;
pub use metrics::{Metrics, Stream};
use published::Published;
pub use role::Role;
use ws::Hub;
use ws::liquidation::LiqBase;
use ws::market::MarketBase;

/// WebSocket read buffer per connection (tungstenite's default is 128 KiB); clients only send
/// pings, pongs and the odd `{"type":"snapshot"}`.
const WS_READ_BUFFER: usize = 2 * 1024;
/// Bytes tungstenite collects before handing them to the socket: none, each frame (at most
/// [`ws::FRAGMENT`]) goes at once to [`ws::upgrade::Coalesce`], which batches the writes.
const WS_WRITE_BUFFER: usize = 0;
/// Hard cap of a connection's unsent bytes (the largest snapshot fits many times over).
const WS_MAX_WRITE_BUFFER: usize = 16 * 1024 * 1024;
/// How long [`Servers::wait`] gives servers and WebSocket connections to finish.
const SHUTDOWN_WAIT: Duration = Duration::from_secs(2);

/// One of the three services.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Service {
    Gateway,
    Market,
    Liquidation,
}

impl Service {
    pub const ALL: [Service; 3] = [Service::Gateway, Service::Market, Service::Liquidation];

    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Service::Gateway => "gateway",
            Service::Market => "market",
            Service::Liquidation => "liquidation",
        }
    }

    fn index(self) -> usize {
        self as usize
    }

    /// The configured port and its config key.
    #[must_use]
    pub fn port(self, cfg: &ServerConfig) -> (u16, &'static str) {
        match self {
            Service::Gateway => (cfg.gateway_port, "server.gateway_port"),
            Service::Market => (cfg.market_port, "server.market_port"),
            Service::Liquidation => (cfg.liquidation_port, "server.liquidation_port"),
        }
    }
}

/// Settings every request and connection needs.
#[derive(Debug, Clone)]
pub struct Settings {
    /// `None`: no token required.
    pub token: Option<String>,
    pub cors_origins: Vec<String>,
    pub request_timeout: Duration,
    pub write_timeout: Duration,
    pub max_ws_message: usize,
    pub max_connections: usize,
}

impl Settings {
    #[must_use]
    pub fn from_config(cfg: &ServerConfig) -> Self {
        Settings {
            token: (!cfg.token.is_empty()).then(|| cfg.token.clone()),
            cors_origins: cfg.cors_origins.clone(),
            request_timeout: Duration::from_secs(cfg.request_timeout_secs),
            write_timeout: Duration::from_millis(cfg.ws_write_timeout_ms),
            max_ws_message: cfg.max_ws_message_bytes,
            max_connections: cfg.max_connections,
        }
    }
}

struct Inner {
    settings: Settings,
    published: watch::Receiver<Arc<Published>>,
    market: Arc<Hub<MarketBase>>,
    liquidations: Arc<Hub<LiqBase>>,
    metrics: Arc<Metrics>,
    cancel: CancellationToken,
    connections: TaskTracker,
}

/// The API's shared, read-only view of the state; cheap to clone.
#[derive(Clone)]
pub struct Api(Arc<Inner>);

impl Api {
    /// Starts the snapshot serialiser and the two WebSocket hubs over `state`. They end with
    /// `cancel` (or when the state task ends). Must be called inside a tokio runtime.
    #[must_use]
    pub fn new(cfg: &ServerConfig, state: &StateHandle, cancel: CancellationToken) -> Api {
        let metrics = Arc::new(Metrics::default());
        // Subscribe before seeding from a snapshot, so no event falls between the two.
        let events = state.liquidations.subscribe();
        let published = published::spawn(state.snapshots.clone(), cancel.clone());
        let first = published.borrow().clone();
        let queue = cfg.ws_queue_len;
        let market = Arc::new(Hub::new(
            MarketBase {
                published: Arc::clone(&first),
            },
            queue,
        ));
        let liquidations = Arc::new(Hub::new(LiqBase::from_snapshot(&first.snap), queue));
        let rate = cfg.ws_updates_per_sec;
        ws::market::spawn(Arc::clone(&market), published.clone(), rate, cancel.clone());
        ws::liquidation::spawn(
            Arc::clone(&liquidations),
            events,
            published.clone(),
            rate,
            Arc::clone(&metrics),
            cancel.clone(),
        );
        Api(Arc::new(Inner {
            settings: Settings::from_config(cfg),
            published,
            market,
            liquidations,
            metrics,
            cancel,
            connections: TaskTracker::new(),
        }))
    }

    /// The latest snapshot and its serialised document.
    #[must_use]
    pub fn latest(&self) -> Arc<Published> {
        self.0.published.borrow().clone()
    }

    #[must_use]
    pub fn metrics(&self) -> &Metrics {
        &self.0.metrics
    }

    #[must_use]
    pub fn settings(&self) -> &Settings {
        &self.0.settings
    }

    /// WebSocket connections open now.
    #[must_use]
    pub fn ws_clients(&self, stream: Stream) -> usize {
        match stream {
            Stream::Market => self.0.market.receivers(),
            Stream::Liquidations => self.0.liquidations.receivers(),
        }
    }

    /// Accepts a WebSocket on `stream` with the API's limits and serves it in a tracked task.
    pub fn upgrade(&self, upgrade: ws::upgrade::Upgrade, stream: Stream) -> Response {
        let s = &self.0.settings;
        let ctx = ws::Context {
            write_timeout: s.write_timeout,
            counters: Arc::clone(&self.0.metrics),
            stream,
            cancel: self.0.cancel.clone(),
        };
        let config = WebSocketConfig::default()
            .read_buffer_size(WS_READ_BUFFER)
            .write_buffer_size(WS_WRITE_BUFFER)
            .max_write_buffer_size(WS_MAX_WRITE_BUFFER)
            .max_message_size(Some(s.max_ws_message))
            .max_frame_size(Some(s.max_ws_message));
        let tracker = self.0.connections.clone();
        let spawn = move |conn| {
            tokio::spawn(tracker.track_future(conn));
        };
        let api = self.clone();
        upgrade.accept(config, spawn, move |socket| async move {
            match stream {
                Stream::Market => ws::run(socket, Arc::clone(&api.0.market), ctx).await,
                Stream::Liquidations => {
                    ws::run(socket, Arc::clone(&api.0.liquidations), ctx).await;
                }
            }
        })
    }
}

/// The router of `service`.
pub fn router(api: &Api, service: Service) -> Router {
    match service {
        Service::Gateway => gateway::router(api.clone()),
        Service::Market => market::router(api.clone()),
        Service::Liquidation => liquidation::router(api.clone()),
    }
}

/// Starts `services` over a running app (`--serve`). With `announce` (headless), the addresses
/// are also printed on stderr, one `kimp: SERVICE listening on http://ADDR` line each.
pub fn serve(
    cfg: &ServerConfig,
    running: &crate::app::Running,
    services: &[Service],
    announce: bool,
) -> anyhow::Result<Servers> {
    let api = Api::new(cfg, &running.state, running.cancel.clone());
    let servers = start(&api, cfg, services)?;
    if announce {
        for (service, addr) in servers.bound() {
            eprintln!("kimp: {} listening on http://{addr}", service.as_str());
        }
    }
    Ok(servers)
}

/// Running servers.
pub struct Servers {
    api: Api,
    bound: Vec<(Service, SocketAddr)>,
    tasks: JoinSet<()>,
}

/// Binds every service of `services` on `cfg.bind` and its port, and serves until the API's
/// cancellation token fires. Fails (naming the port's config key) if a port cannot be bound.
pub fn start(api: &Api, cfg: &ServerConfig, services: &[Service]) -> anyhow::Result<Servers> {
    let ip: IpAddr = parse_bind_ip(&cfg.bind).map_err(|e| anyhow::anyhow!("server.bind: {e}"))?;
    let mut bound = Vec::new();
    let mut tasks = JoinSet::new();
    for &service in services {
        let (port, key) = service.port(cfg);
        let addr = SocketAddr::new(ip, port);
        let tcp = listen::bind(addr).with_context(|| {
            format!(
                "cannot listen on {addr} for the {} service ({key})",
                service.as_str()
            )
        })?;
        let local = tcp.local_addr().context("listener address")?;
        let listener = listen::CappedListener::new(
            tcp,
            api.settings().max_connections,
            Arc::clone(&api.0.metrics),
            service,
        );
        let app = router(api, service);
        let cancel = api.0.cancel.clone();
        tasks.spawn(async move {
            let serve = axum::serve(listener, app).with_graceful_shutdown(cancel.cancelled_owned());
            if let Err(e) = serve.await {
                tracing::error!(service = service.as_str(), "server stopped: {e}");
            }
        });
        tracing::info!(service = service.as_str(), addr = %local, "listening");
        bound.push((service, local));
    }
    Ok(Servers {
        api: api.clone(),
        bound,
        tasks,
    })
}

impl Servers {
    /// Where a service listens.
    #[must_use]
    pub fn addr(&self, service: Service) -> Option<SocketAddr> {
        self.bound
            .iter()
            .find(|(s, _)| *s == service)
            .map(|(_, a)| *a)
    }

    /// Every bound service and address.
    #[must_use]
    pub fn bound(&self) -> &[(Service, SocketAddr)] {
        &self.bound
    }

    /// Waits (bounded) for the servers to stop and every WebSocket to be closed; call after the
    /// cancellation token fired.
    pub async fn wait(mut self) {
        let connections = self.api.0.connections.clone();
        connections.close();
        let all = async {
            while self.tasks.join_next().await.is_some() {}
            connections.wait().await;
        };
        if tokio::time::timeout(SHUTDOWN_WAIT, all).await.is_err() {
            tracing::warn!("API connections did not close in time; dropping them");
            self.tasks.abort_all();
        }
    }
}
