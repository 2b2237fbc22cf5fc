//! OKX liquidations (exchanges.md §6): one `liquidation-orders` / `SWAP` subscription covers every
//! swap; the text `ping` goes out every 20 s (OKX cuts a silent connection at 30 s) and its `pong`
//! is a heartbeat.
//!
//! Sizes are contracts, so the parser reads a contract table shared with a poller
//! (`okx.swap_instruments`): `GET {okx_rest_url}/api/v5/public/instruments?instType=SWAP` at start,
//! every `symbols_refresh_secs`, and **on demand** when the parser meets an `instId` the table does
//! not know (a new listing) — at most once per [`ON_DEMAND_MIN_GAP`](super::ON_DEMAND_MIN_GAP).
//! The parser holds such events (never guesses a contract size); after every successful refresh
//! the poller releases the held events that became valuable and sends them on `okx.liquidations`.
//! Parser and poller share the parser itself behind a mutex, locked per frame and never across an
//! `.await`.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::{Options, fixed_subscriptions, liq_session, text_ping};
use crate::config::LiquidationsConfig;
use crate::feed::liq::okx::{
    OkxInstruments, OkxLiqParser, SUBSCRIBE_FRAME, SharedOkxInstruments, parse_instruments,
};
use crate::feed::liq::{LiqParsed, LiqParser, LiqStats};
use crate::feed::poller::{self, Closed, Reporter, now_ms};
use crate::feed::session::{self, ParserFactory, SessionSpec};
use crate::feed::upbit::MarketSchedule;
use crate::feed::{FeedMsg, ParseError};
use crate::model::{FeedId, FeedState, MarketEvent, Millis};

pub use crate::feed::liq::okx::FEED_ID;

/// The swap contract table poller.
pub const INSTRUMENTS_FEED_ID: FeedId = "okx.swap_instruments";
/// OKX's keep-alive text; the answer is the text `pong`.
pub const PING_FRAME: &str = "ping";
/// The config key named when the stream stays silent.
pub const URL_KEY: &str = "liquidations.okx_ws_url";
/// Unknown-instrument reports waiting for the poller; more are dropped (a refresh is due anyway).
const UNKNOWN_QUEUE: usize = 16;

/// The parser both the session and the poller use.
type SharedParser = Arc<Mutex<OkxLiqParser>>;

/// Starts the OKX liquidation socket and its contract-table poller (nothing when `okx_enabled` is
/// false).
pub fn spawn(
    cfg: &LiquidationsConfig,
    client: &crate::feed::poller::Http,
    tx: &mpsc::Sender<FeedMsg>,
    cancel: &CancellationToken,
    tasks: &mut JoinSet<()>,
) {
    spawn_with(cfg, &Options::from_config(cfg), client, tx, cancel, tasks);
}

/// [`spawn`] with explicit timing.
pub fn spawn_with(
    cfg: &LiquidationsConfig,
    opts: &Options,
    client: &crate::feed::poller::Http,
    tx: &mpsc::Sender<FeedMsg>,
    cancel: &CancellationToken,
    tasks: &mut JoinSet<()>,
) {
    if !cfg.okx_enabled {
        return;
    }
    let table = OkxInstruments::default().shared();
    let parser: SharedParser = Arc::new(Mutex::new(OkxLiqParser::new(table.clone())));
    let (unknown_tx, unknown_rx) = mpsc::channel(UNKNOWN_QUEUE);
    let factory: ParserFactory = {
        let parser = parser.clone();
        Arc::new(move || {
            Box::new(SessionParser {
                shared: parser.clone(),
                unknown: unknown_tx.clone(),
            })
        })
    };
    tasks.spawn(session::run(
        session_spec(cfg, opts, factory),
        tx.clone(),
        cancel.clone(),
    ));
    let poller = Poller {
        url: instruments_url(cfg),
        client: client.clone(),
        table,
        parser,
        reporter: Reporter::new(INSTRUMENTS_FEED_ID, tx.clone(), cancel.clone()),
        events: Reporter::new(FEED_ID, tx.clone(), cancel.clone()),
        cancel: cancel.clone(),
        timeout: opts.rest_timeout,
        min_gap: opts.on_demand_min_gap,
    };
    tasks.spawn(poller.run(opts.symbols_refresh, unknown_rx));
}

/// `{okx_rest_url}/api/v5/public/instruments?instType=SWAP`.
#[must_use]
pub fn instruments_url(cfg: &LiquidationsConfig) -> String {
    format!(
        "{}/api/v5/public/instruments?instType=SWAP",
        cfg.okx_rest_url.trim_end_matches('/')
    )
}

/// One subscribe frame, `ping` every `ping_interval`.
fn session_spec(cfg: &LiquidationsConfig, opts: &Options, parser: ParserFactory) -> SessionSpec {
    let mut spec = liq_session(
        FEED_ID,
        &cfg.okx_ws_url,
        URL_KEY,
        parser,
        Some(text_ping(opts.ping_interval, PING_FRAME)),
        opts,
    );
    spec.subscriptions = Some(fixed_subscriptions(
        vec!["liquidation-orders/SWAP".into()],
        |_| vec![SUBSCRIBE_FRAME.to_owned()],
    ));
    spec
}

/// The session's view of the shared parser: reports unknown instruments to the poller.
struct SessionParser {
    shared: SharedParser,
    unknown: mpsc::Sender<Vec<String>>,
}

impl SessionParser {
    fn lock(&self) -> std::sync::MutexGuard<'_, OkxLiqParser> {
        self.shared.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl LiqParser for SessionParser {
    fn parse_frame(&mut self, frame: &[u8], received_ms: Millis) -> Result<LiqParsed, ParseError> {
        let (parsed, unknown) = {
            let mut parser = self.lock();
            let parsed = parser.parse_frame(frame, received_ms);
            (parsed, parser.take_unknown_instruments())
        };
        if !unknown.is_empty() {
            // A full queue means a refresh is already due; later frames report again if needed.
            let _ = self.unknown.try_send(unknown);
        }
        parsed
    }

    fn reset_connection(&mut self) {
        self.lock().reset_connection();
    }

    fn stats(&self) -> LiqStats {
        self.lock().stats()
    }
}

/// The contract-table poller.
struct Poller {
    url: String,
    client: crate::feed::poller::Http,
    table: SharedOkxInstruments,
    parser: SharedParser,
    reporter: Reporter,
    /// Sends released events on the liquidation feed.
    events: Reporter,
    cancel: CancellationToken,
    timeout: Duration,
    min_gap: Duration,
}

impl Poller {
    /// Refreshes at start, every `refresh`, and on demand (throttled) until `cancel`.
    async fn run(mut self, refresh: Duration, mut unknown: mpsc::Receiver<Vec<String>>) {
        let mut schedule = MarketSchedule::new(refresh);
        let mut last: Option<Instant> = None;
        let mut open = true;
        loop {
            let on_demand = tokio::select! {
                due = schedule.wait(&self.cancel) => {
                    if !due {
                        return;
                    }
                    false
                }
                ids = unknown.recv(), if open => {
                    let Some(ids) = ids else {
                        open = false;
                        continue;
                    };
                    let mut wanted: BTreeSet<String> = ids.into_iter().collect();
                    while let Ok(more) = unknown.try_recv() {
                        wanted.extend(more);
                    }
                    tracing::info!(feed = FEED_ID, ?wanted, "unknown instruments: refreshing contracts");
                    true
                }
            };
            if on_demand && !self.throttle(last).await {
                return;
            }
            last = Some(Instant::now());
            match self.refresh().await {
                Err(Closed) => return,
                Ok(delivered) if !on_demand => schedule.polled(delivered),
                Ok(_) => {}
            }
        }
    }

    /// Waits until `min_gap` has passed since the last fetch; `false` when cancelled.
    async fn throttle(&self, last: Option<Instant>) -> bool {
        let Some(at) = last else { return true };
        tokio::select! {
            () = self.cancel.cancelled() => false,
            () = tokio::time::sleep_until(at + self.min_gap) => true,
        }
    }

    /// One fetch: extends the table and releases held events (`Ok(true)`), or reports `down`.
    async fn refresh(&mut self) -> Result<bool, Closed> {
        let fetched = poller::until_cancelled(
            &self.cancel,
            poller::fetch(
                &self.client,
                poller::Tag::feed(INSTRUMENTS_FEED_ID),
                &self.url,
                self.timeout,
            ),
        )
        .await
        .ok_or(Closed)?;
        let failure = match fetched.map_err(|e| e.to_string()) {
            Ok(body) => match parse_instruments(&body) {
                Ok(table) if !table.is_empty() => return self.apply(table).await.map(|()| true),
                Ok(_) => "no swap contracts in the reply".to_owned(),
                Err(error) => {
                    self.reporter.parse_error(error.to_string()).await?;
                    error.to_string()
                }
            },
            Err(error) => error,
        };
        tracing::warn!(feed = INSTRUMENTS_FEED_ID, error = %failure, "contract table refresh failed");
        self.reporter.status(FeedState::Down, Some(failure)).await?;
        Ok(false)
    }

    async fn apply(&mut self, fetched: OkxInstruments) -> Result<(), Closed> {
        let count = {
            let mut table = self.table.write().unwrap_or_else(PoisonError::into_inner);
            // Extend, never shrink: a late report for a delisted swap is still valued.
            table.extend(fetched);
            table.len()
        };
        let released = self
            .parser
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .release_held(now_ms());
        self.reporter.events(Vec::new()).await?;
        if !released.is_empty() {
            tracing::info!(
                feed = FEED_ID,
                released = released.len(),
                "held liquidations valued"
            );
            let events = released.into_iter().map(MarketEvent::Liquidation).collect();
            self.events.events(events).await?;
        }
        self.reporter
            .status(FeedState::Live, Some(format!("{count} swap contracts")))
            .await
    }
}
