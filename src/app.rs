//! Wires the tasks of a run: the optional in-process simulator (`--demo`), the state task and
//! every enabled collector, all under one `CancellationToken`.

use std::time::Duration;

use anyhow::Context;
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::clock::now_ms;
use crate::config::Config;
use crate::feed::session::{self, AppPing, SessionSpec, Subscriptions};
use crate::feed::{binance, fx, poller, upbit};
use crate::model::{FeedId, FeedState};
use crate::sim::{SimOptions, Simulator};
use crate::state::task::{self, StateHandle};
use crate::state::{MarketState, StateConfig};

/// How long to wait for a WebSocket handshake.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Upbit's keep-alive message; the venue answers `{"status":"UP"}`.
const UPBIT_PING: &str = "PING";
/// Ticket name in Upbit subscribe frames.
const UPBIT_TICKET: &str = "kimp";

/// A running set of collectors and the state they feed.
pub struct Running {
    pub state: StateHandle,
    /// Feeds that are enabled and expected to deliver.
    pub feeds: Vec<FeedId>,
    pub cancel: CancellationToken,
    tasks: JoinSet<()>,
    state_task: tokio::task::JoinHandle<MarketState>,
    simulator: Option<Simulator>,
}

impl Running {
    /// Stops every task and waits (bounded) for them.
    pub async fn shutdown(mut self) {
        self.cancel.cancel();
        let wait = async {
            while self.tasks.join_next().await.is_some() {}
            let _ = (&mut self.state_task).await;
        };
        if tokio::time::timeout(Duration::from_secs(3), wait)
            .await
            .is_err()
        {
            tracing::warn!("tasks did not stop within 3 s; aborting them");
            self.tasks.abort_all();
            self.state_task.abort();
        }
        if let Some(sim) = self.simulator.take() {
            sim.shutdown().await;
        }
    }
}

/// Starts collectors for `cfg`. With `demo`, first starts the simulator on loopback and points
/// every feed at it, so the demo runs exactly the code that talks to the real exchanges.
pub async fn start(
    mut cfg: Config,
    demo: Option<SimOptions>,
    cancel: CancellationToken,
) -> anyhow::Result<Running> {
    let simulator = match demo {
        Some(opts) => {
            let bind = "127.0.0.1:0".parse().context("simulator address")?;
            let sim = Simulator::start(bind, opts)
                .await
                .context("starting the built-in simulator")?;
            sim.configure(&mut cfg);
            tracing::info!(addr = %sim.addr(), "demo: feeds point at the built-in simulator");
            Some(sim)
        }
        None => None,
    };
    let now = now_ms();
    let mut state = MarketState::new(StateConfig::from_config(&cfg));
    let feeds = enabled_feeds(&cfg);
    for (feed, enabled) in all_feeds(&cfg) {
        let initial = if enabled {
            FeedState::Connecting
        } else {
            FeedState::Disabled
        };
        state.register_feed(feed, initial, now);
    }
    let publish = Duration::from_millis(cfg.general.publish_interval_ms);
    let (handle, state_task) = task::spawn(state, publish, cancel.clone());
    let mut tasks = JoinSet::new();
    spawn_collectors(&cfg, &handle, &cancel, &mut tasks);
    Ok(Running {
        state: handle,
        feeds,
        cancel,
        tasks,
        state_task,
        simulator,
    })
}

fn all_feeds(cfg: &Config) -> Vec<(FeedId, bool)> {
    vec![
        (upbit::MARKETS_FEED_ID, cfg.upbit.enabled),
        (upbit::FEED_ID, cfg.upbit.enabled),
        (binance::FEED_ID, cfg.binance.enabled),
        (fx::FEED_ID, !cfg.fx.sources.is_empty()),
    ]
}

/// The feeds a run expects data from.
#[must_use]
pub fn enabled_feeds(cfg: &Config) -> Vec<FeedId> {
    all_feeds(cfg)
        .into_iter()
        .filter(|(_, on)| *on)
        .map(|(f, _)| f)
        .collect()
}

fn spawn_collectors(
    cfg: &Config,
    state: &StateHandle,
    cancel: &CancellationToken,
    tasks: &mut JoinSet<()>,
) {
    let client = poller::http_client();
    let tx = &state.feed_tx;
    if cfg.upbit.enabled {
        let (codes_tx, codes_rx) = watch::channel(Vec::new());
        tasks.spawn(upbit::run_markets(
            cfg.upbit.clone(),
            client.clone(),
            tx.clone(),
            codes_tx,
            cancel.clone(),
        ));
        tasks.spawn(session::run(
            upbit_session(cfg, codes_rx),
            tx.clone(),
            cancel.clone(),
        ));
    }
    if cfg.binance.enabled {
        tasks.spawn(session::run(
            binance_session(cfg),
            tx.clone(),
            cancel.clone(),
        ));
    }
    if !cfg.fx.sources.is_empty() {
        tasks.spawn(fx::run(cfg.fx.clone(), client, tx.clone(), cancel.clone()));
    }
}

fn default_backoff() -> (Duration, Duration, Duration) {
    (
        crate::feed::backoff::INITIAL_DELAY,
        crate::feed::backoff::MAX_DELAY,
        crate::feed::backoff::HEALTHY_RESET,
    )
}

fn upbit_frames(codes: &[String]) -> Vec<String> {
    vec![upbit::subscribe_frame(UPBIT_TICKET, codes)]
}

fn upbit_session(cfg: &Config, codes: watch::Receiver<Vec<String>>) -> SessionSpec {
    SessionSpec {
        feed: upbit::FEED_ID,
        urls: vec![cfg.upbit.ws_url.clone()],
        parse: upbit::parse,
        app_ping: Some(AppPing {
            interval: Duration::from_secs(cfg.upbit.ping_interval_secs),
            message: tokio_tungstenite::tungstenite::Message::text(UPBIT_PING),
        }),
        idle_timeout: Duration::from_secs(cfg.upbit.idle_timeout_secs),
        lifetime: None,
        subscriptions: Some(Subscriptions {
            items: codes,
            frames: upbit_frames,
        }),
        connect_timeout: CONNECT_TIMEOUT,
        live: None,
        backoff: default_backoff(),
    }
}

fn binance_session(cfg: &Config) -> SessionSpec {
    SessionSpec {
        feed: binance::FEED_ID,
        urls: vec![
            cfg.binance.ws_url.clone(),
            cfg.binance.fallback_ws_url.clone(),
        ],
        parse: binance::parse,
        // Binance pings us; tungstenite answers.
        app_ping: None,
        idle_timeout: Duration::from_secs(cfg.binance.idle_timeout_secs),
        lifetime: Some(Duration::from_secs(cfg.binance.lifetime_secs)),
        subscriptions: None,
        connect_timeout: CONNECT_TIMEOUT,
        live: None,
        backoff: default_backoff(),
    }
}
