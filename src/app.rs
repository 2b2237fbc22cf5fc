//! Wires the tasks of a run: the optional in-process simulator (`--demo`), the state task and
//! every enabled collector, all under one `CancellationToken`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::clock::now_ms;
use crate::config::Config;
use crate::feed::session::{self, AppPing, SessionSpec, StreamClass, Subscriptions};
use crate::feed::{binance, bithumb, bybit, fear_greed, fx, liq, okx, poller, upbit};
use crate::history::{History, HistoryOptions};
use crate::model::{FeedId, FeedState, Millis};
use crate::record::Recorder;
use crate::record::line::{FORMAT_VERSION, Header};
use crate::replay::{self, ReplayReport, Speed};
use crate::sim::{SimOptions, Simulator};
use crate::state::task::{self, Clock, StateHandle, TaskOptions};
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
    /// `None` when the state is fed from elsewhere ([`Running::fed`]).
    state_task: Option<tokio::task::JoinHandle<MarketState>>,
    simulator: Option<Simulator>,
    history: History,
    recorder: Option<Recorder>,
    /// The replay driver (`--replay`); its report once the recording ends.
    replay: Option<tokio::task::JoinHandle<ReplayReport>>,
}

/// How a run starts besides its config.
#[derive(Debug, Clone, Default)]
pub struct StartOptions {
    /// Start the simulator in-process and point every feed at it.
    pub demo: Option<SimOptions>,
    /// The history database file; `None` keeps history in memory (`--no-persist`).
    pub database: Option<PathBuf>,
    /// Record every frame, body and status to this file (`--record`).
    pub record: Option<PathBuf>,
}

/// The database file in `data_dir`: the demo keeps its simulated history apart from real data.
#[must_use]
pub fn database_path(data_dir: &Path, demo: bool) -> PathBuf {
    data_dir.join(if demo { "kimp-demo.db" } else { "kimp.db" })
}

impl Running {
    /// Stops every task and waits (bounded) for them.
    pub async fn shutdown(mut self) {
        self.cancel.cancel();
        let wait = async {
            while self.tasks.join_next().await.is_some() {}
            if let Some(task) = &mut self.state_task {
                let _ = task.await;
            }
        };
        if tokio::time::timeout(Duration::from_secs(3), wait)
            .await
            .is_err()
        {
            tracing::warn!("tasks did not stop within 3 s; aborting them");
            self.tasks.abort_all();
            if let Some(task) = &self.state_task {
                task.abort();
            }
        }
        // The state task has finished sending: everything queued reaches the disk.
        if let Err(e) = self.history.clone().flush_and_close().await {
            tracing::error!("history: {e}");
        }
        if let Some(recorder) = self.recorder.take() {
            let report = recorder.finish().await;
            if report.dropped > 0 || report.error.is_some() {
                tracing::warn!("{report}");
                eprintln!("kimp: {report}");
            } else {
                tracing::info!("{report}");
            }
        }
        if let Some(sim) = self.simulator.take() {
            sim.shutdown().await;
        }
    }

    /// A run whose `state` is fed by `tasks` instead of collectors and a state task (`--remote`):
    /// no simulator, history in memory only. `feeds` are the feeds expected to deliver.
    pub fn fed(
        state: StateHandle,
        feeds: Vec<FeedId>,
        cancel: CancellationToken,
        tasks: JoinSet<()>,
    ) -> anyhow::Result<Running> {
        Ok(Running {
            state,
            feeds,
            cancel,
            tasks,
            state_task: None,
            simulator: None,
            history: open_history(None)?,
            recorder: None,
            replay: None,
        })
    }

    /// Keeps `sim` running with this run and stops it at [`Running::shutdown`].
    #[must_use]
    pub fn with_simulator(mut self, sim: Option<Simulator>) -> Running {
        self.simulator = sim;
        self
    }

    /// The in-process simulator of a `--demo` run.
    #[must_use]
    pub fn simulator(&self) -> Option<&Simulator> {
        self.simulator.as_ref()
    }

    /// Waits for the end of the recording being replayed (`None` when this is not a replay, or
    /// the replay was already awaited).
    pub async fn replay_finished(&mut self) -> Option<ReplayReport> {
        let task = self.replay.take()?;
        match task.await {
            Ok(report) => Some(report),
            Err(e) => {
                tracing::error!("replay: {e}");
                None
            }
        }
    }

    /// The history store (premium samples for sparklines, liquidation pages).
    #[must_use]
    pub fn history(&self) -> &History {
        &self.history
    }

    /// Where the history lives (`:memory:` or the file path).
    #[must_use]
    pub fn history_location(&self) -> &str {
        self.history.location()
    }
}

/// Starts the simulator on loopback and points every endpoint of `cfg` at it (`--demo`).
pub async fn start_simulator(opts: SimOptions, cfg: &mut Config) -> anyhow::Result<Simulator> {
    let bind = "127.0.0.1:0".parse().context("simulator address")?;
    let sim = Simulator::start(bind, opts)
        .await
        .context("starting the built-in simulator")?;
    sim.configure(cfg);
    tracing::info!(addr = %sim.addr(), "demo: feeds point at the built-in simulator");
    Ok(sim)
}

/// Starts collectors for `cfg`. With `demo`, first starts the simulator on loopback and points
/// every feed at it, so the demo runs exactly the code that talks to the real exchanges.
pub async fn start(
    mut cfg: Config,
    opts: StartOptions,
    cancel: CancellationToken,
) -> anyhow::Result<Running> {
    let simulator = match opts.demo {
        Some(opts) => Some(start_simulator(opts, &mut cfg).await?),
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
    let recorder = match &opts.record {
        Some(path) => Some(Recorder::create(path, &record_header(&cfg, now))?),
        None => None,
    };
    let history = open_history(opts.database.as_deref())?;
    let since = now - LIQUIDATION_WARM_START_MS;
    match history.load_recent(since).await {
        Ok(events) => {
            let applied = state.warm_liquidations(events, now);
            tracing::info!(
                applied,
                location = history.location(),
                "liquidations of the last 24 h restored"
            );
        }
        Err(e) => tracing::error!("history: cannot read the last 24 h: {e}"),
    }
    let publish = Duration::from_millis(cfg.general.publish_interval_ms);
    let task_opts = TaskOptions {
        clock: Clock::Wall,
        recorder: recorder.clone(),
    };
    let (handle, state_task) = task::spawn_with(
        state,
        Some(history.clone()),
        publish,
        cancel.clone(),
        task_opts,
    );
    let mut tasks = JoinSet::new();
    let client = poller::http_client().with_recorder(recorder.clone());
    spawn_collectors(&cfg, &client, &handle, &cancel, &mut tasks);
    Ok(Running {
        state: handle,
        feeds,
        cancel,
        tasks,
        state_task: Some(state_task),
        simulator,
        history,
        recorder,
        replay: None,
    })
}

/// The first line of a recording of `cfg`'s run.
fn record_header(cfg: &Config, now: Millis) -> Header {
    Header {
        kimp_recording: FORMAT_VERSION,
        kimp_version: env!("CARGO_PKG_VERSION").to_owned(),
        started_ms: now,
        pair: StateConfig::from_config(cfg).pair,
        feeds: all_feeds(cfg)
            .into_iter()
            .filter(|(_, on)| *on)
            .map(|(f, _)| f.to_owned())
            .collect(),
    }
}

/// Replays the recording at `path` (`--replay`): no simulator, no network, history in memory.
/// The feeds the recording had enabled are registered; the pair is the recorded one; the state's
/// clock is the recording's.
pub fn start_replay(
    cfg: &Config,
    path: &Path,
    speed: Speed,
    cancel: CancellationToken,
) -> anyhow::Result<Running> {
    let (header, reader) = replay::open(path)?;
    let start = header.started_ms;
    let mut state_cfg = StateConfig::from_config(cfg);
    state_cfg.pair = header.pair;
    let mut state = MarketState::new(state_cfg);
    let recorded = |f: &str| header.feeds.iter().any(|h| h == f);
    let mut feeds = Vec::new();
    for (feed, _) in all_feeds(cfg) {
        let on = recorded(feed);
        let initial = if on {
            FeedState::Connecting
        } else {
            FeedState::Disabled
        };
        state.register_feed(feed, initial, start);
        if on && !FALLBACK_FEEDS.contains(&feed) && !liq::collect::FEEDS.contains(&feed) {
            feeds.push(feed);
        }
    }
    state.register_feed(replay::FEED_ID, FeedState::Live, start);
    let publish = Duration::from_millis(cfg.general.publish_interval_ms);
    let history = open_history(None)?;
    let task_opts = TaskOptions {
        clock: Clock::Replay(start),
        recorder: None,
    };
    let (handle, state_task) = task::spawn_with(
        state,
        Some(history.clone()),
        publish,
        cancel.clone(),
        task_opts,
    );
    let tx = handle.feed_tx.clone();
    let driver_cancel = cancel.clone();
    let driver = tokio::task::spawn_blocking(move || {
        let report = replay::run_blocking(reader, speed, start, &tx, &driver_cancel);
        tracing::info!("replay: {}", report.summary());
        report
    });
    tracing::info!(file = %path.display(), kimp = %header.kimp_version, "replaying");
    Ok(Running {
        state: handle,
        feeds,
        cancel,
        tasks: JoinSet::new(),
        state_task: Some(state_task),
        simulator: None,
        history,
        recorder: None,
        replay: Some(driver),
    })
}

/// How far back persisted liquidations rebuild the tape and the windows at start.
const LIQUIDATION_WARM_START_MS: i64 = 24 * 3_600_000;

/// Opens the database, or keeps history in memory with a clear warning when the file cannot be
/// used (locked by another kimp, corrupt, read-only disk): never a crash, never silent.
fn open_history(path: Option<&Path>) -> anyhow::Result<History> {
    let (history, problem) = History::open_or_memory(path, HistoryOptions::default())
        .context("opening the history database")?;
    if let Some(e) = problem {
        tracing::error!("{e}; keeping history in memory for this run");
        eprintln!("kimp: {e}; keeping history in memory for this run");
    }
    Ok(history)
}

fn all_feeds(cfg: &Config) -> Vec<(FeedId, bool)> {
    let mut feeds = vec![
        (upbit::MARKETS_FEED_ID, cfg.upbit.enabled),
        (upbit::FEED_ID, cfg.upbit.enabled),
    ];
    feeds.extend(bithumb::FEEDS.iter().map(|f| (*f, cfg.bithumb.enabled)));
    feeds.push((binance::FEED_ID, cfg.binance.enabled));
    feeds.extend(bybit::FEEDS.iter().map(|f| (*f, cfg.bybit.enabled)));
    feeds.extend(okx::FEEDS.iter().map(|f| (*f, cfg.okx.enabled)));
    feeds.push((fx::FEED_ID, !cfg.fx.sources.is_empty()));
    feeds.push((fear_greed::FEED_ID, cfg.fear_greed.enabled));
    feeds.extend(liq::collect::feeds(&cfg.liquidations));
    feeds
}

/// Feeds that only stand in while another is down: not expected to deliver.
const FALLBACK_FEEDS: &[FeedId] = &[bithumb::REST_FEED_ID, bybit::REST_FEED_ID];

/// The feeds a run expects data from: enabled, not a stand-by fallback, and not a liquidation
/// stream (those may legitimately be quiet for minutes; their state is reported, not awaited).
#[must_use]
pub fn enabled_feeds(cfg: &Config) -> Vec<FeedId> {
    all_feeds(cfg)
        .into_iter()
        .filter(|(f, on)| *on && !FALLBACK_FEEDS.contains(f) && !liq::collect::FEEDS.contains(f))
        .map(|(f, _)| f)
        .collect()
}

fn spawn_collectors(
    cfg: &Config,
    client: &poller::Http,
    state: &StateHandle,
    cancel: &CancellationToken,
    tasks: &mut JoinSet<()>,
) {
    let tx = &state.feed_tx;
    let upbit_codes = spawn_upbit(cfg, client, tx, cancel, tasks);
    let bithumb_codes = bithumb::spawn(&cfg.bithumb, client, tx, cancel, tasks);
    // The coins listed on either Korean venue: what the global venues subscribe to.
    let (coins_tx, coins) = watch::channel(Vec::new());
    tasks.spawn(merge_codes(
        vec![upbit_codes, bithumb_codes],
        coins_tx,
        cancel.clone(),
    ));
    bybit::spawn(&cfg.bybit, client, coins.clone(), tx, cancel, tasks);
    okx::spawn(&cfg.okx, client, coins, tx, cancel, tasks);
    liq::collect::spawn_all(cfg, client, tx, cancel, tasks);
    if cfg.binance.enabled {
        tasks.spawn(session::run(
            SessionSpec {
                recorder: client.recorder().cloned(),
                ..binance_session(cfg)
            },
            tx.clone(),
            cancel.clone(),
        ));
    }
    if !cfg.fx.sources.is_empty() {
        tasks.spawn(fx::run(
            cfg.fx.clone(),
            client.clone(),
            tx.clone(),
            cancel.clone(),
        ));
    }
    if cfg.fear_greed.enabled {
        tasks.spawn(fear_greed::run(
            cfg.fear_greed.clone(),
            client.clone(),
            tx.clone(),
            cancel.clone(),
        ));
    }
}

/// Upbit's market-list poller and ticker socket; returns the listed `KRW-…` codes.
fn spawn_upbit(
    cfg: &Config,
    client: &crate::feed::poller::Http,
    tx: &tokio::sync::mpsc::Sender<crate::feed::FeedMsg>,
    cancel: &CancellationToken,
    tasks: &mut JoinSet<()>,
) -> watch::Receiver<Vec<String>> {
    let (codes_tx, codes_rx) = watch::channel(Vec::new());
    if cfg.upbit.enabled {
        tasks.spawn(upbit::run_markets(
            cfg.upbit.clone(),
            client.clone(),
            tx.clone(),
            codes_tx,
            cancel.clone(),
        ));
        tasks.spawn(session::run(
            SessionSpec {
                recorder: client.recorder().cloned(),
                ..upbit_session(cfg, codes_rx.clone())
            },
            tx.clone(),
            cancel.clone(),
        ));
    }
    codes_rx
}

/// Keeps `out` equal to the sorted union of the base assets (`KRW-BTC` → `BTC`) of every input,
/// without `USDT` (the rate, not a coin). An input whose sender is gone keeps its last list.
async fn merge_codes(
    inputs: Vec<watch::Receiver<Vec<String>>>,
    out: watch::Sender<Vec<String>>,
    cancel: CancellationToken,
) {
    let mut open = inputs.clone();
    loop {
        let mut coins: Vec<String> = inputs
            .iter()
            .flat_map(|rx| rx.borrow().clone())
            .filter_map(|code| code.strip_prefix("KRW-").map(str::to_string))
            .filter(|base| base != "USDT")
            .collect();
        coins.sort_unstable();
        coins.dedup();
        out.send_if_modified(|current| {
            let changed = *current != coins;
            if changed {
                *current = coins;
            }
            changed
        });
        if open.is_empty() {
            return;
        }
        let closed = {
            let changes =
                futures_util::future::select_all(open.iter_mut().map(|rx| Box::pin(rx.changed())));
            tokio::select! {
                () = cancel.cancelled() => return,
                (result, index, _) = changes => result.is_err().then_some(index),
            }
        };
        if let Some(index) = closed {
            open.swap_remove(index);
        }
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
        class: StreamClass::Ticker,
        recorder: None,
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
        class: StreamClass::Ticker,
        recorder: None,
    }
}
