//! Bybit linear liquidations (exchanges.md §5): `allLiquidation.{symbol}` has no wildcard, so the
//! collector keeps the linear symbol list (`bybit.linear_symbols`: `GET {bybit_rest_url}/v5/market/
//! instruments-info?category=linear&limit=1000`, paged by `cursor`, at start and every
//! `symbols_refresh_secs`) and subscribes every symbol's topic, ten per request, spread over as
//! many connections as Bybit's 21,000-character `args` cap needs (`split_connections`).
//!
//! A changed list opens fresh connections (Bybit fails a whole request naming a topic the
//! connection already has, so lists are never amended in place — as the spot feed does). Each
//! connection is one session with its own parser; `{"op":"ping"}` goes out every 20 s and the pong
//! is a heartbeat.
//!
//! **One feed id, several connections.** Every session reports under `bybit.liquidations`; their
//! statuses are combined (module `aggregate`): a connection that is not usable (connecting, stale,
//! reconnecting, down) decides the state, with `connection i/n: …` in the detail — part of the
//! symbols is missing then; otherwise the feed is `live` when any connection saw a liquidation
//! recently, else `quiet`. Events and parse errors pass through unchanged.

mod aggregate;

use std::fmt::Write as _;
use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use self::aggregate::Aggregate;
use super::{Options, factory, fixed_subscriptions, liq_session, text_ping};
use crate::config::LiquidationsConfig;
use crate::feed::FeedMsg;
use crate::feed::liq::bybit::{
    BybitLiqParser, parse_instruments, split_connections, subscribe_frames,
};
use crate::feed::poller::{self, Closed, Reporter};
use crate::feed::session::{self, SessionSpec};
use crate::feed::upbit::MarketSchedule;
use crate::model::{FeedId, FeedState};

pub use crate::feed::bybit::PING_FRAME;
pub use crate::feed::liq::bybit::FEED_ID;

/// The linear symbol list poller.
pub const SYMBOLS_FEED_ID: FeedId = "bybit.linear_symbols";
/// `{"op":"ping"}` interval (Bybit cuts after ~10 min without ping or data).
pub const PING_INTERVAL: Duration = Duration::from_secs(20);
/// The config key named when a connection stays silent.
pub const URL_KEY: &str = "liquidations.bybit_ws_url";
/// A list longer than this many pages (of 1,000) is taken for a cursor loop.
const MAX_PAGES: usize = 20;
/// Messages in flight from one connection's session to the combiner.
const FORWARD_QUEUE: usize = 256;

/// Starts the Bybit symbol list and liquidation sockets (nothing when `bybit_enabled` is false).
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
    if !cfg.bybit_enabled {
        return;
    }
    let (list_tx, list_rx) = watch::channel(Vec::new());
    let poller = SymbolsPoller {
        url: instruments_url(cfg),
        client: client.clone(),
        timeout: opts.rest_timeout,
        reporter: Reporter::new(SYMBOLS_FEED_ID, tx.clone(), cancel.clone()),
        cancel: cancel.clone(),
    };
    tasks.spawn(poller.run(opts.symbols_refresh, list_tx));
    tasks.spawn(run_connections(
        session_spec(cfg, opts),
        list_rx,
        tx.clone(),
        cancel.clone(),
    ));
}

/// `{bybit_rest_url}/v5/market/instruments-info?category=linear&limit=1000`.
#[must_use]
pub fn instruments_url(cfg: &LiquidationsConfig) -> String {
    format!(
        "{}/v5/market/instruments-info?category=linear&limit=1000",
        cfg.bybit_rest_url.trim_end_matches('/')
    )
}

/// One connection's session; `subscriptions` are set per connection.
fn session_spec(cfg: &LiquidationsConfig, opts: &Options) -> SessionSpec {
    liq_session(
        FEED_ID,
        &cfg.bybit_ws_url,
        URL_KEY,
        factory(BybitLiqParser::new),
        Some(text_ping(opts.ping_interval, PING_FRAME)),
        opts,
    )
}

/// The linear symbol list poller: publishes the sorted list when it changes.
struct SymbolsPoller {
    url: String,
    client: crate::feed::poller::Http,
    timeout: Duration,
    reporter: Reporter,
    cancel: CancellationToken,
}

impl SymbolsPoller {
    async fn run(mut self, refresh: Duration, list: watch::Sender<Vec<String>>) {
        let mut schedule = MarketSchedule::new(refresh);
        while schedule.wait(&self.cancel).await {
            let polled = poller::until_cancelled(&self.cancel, self.fetch_all()).await;
            let outcome = match polled {
                None | Some(Err(Closed)) => return,
                Some(Ok(outcome)) => outcome,
            };
            let reported = match outcome {
                Ok(mut symbols) => {
                    symbols.sort_unstable();
                    symbols.dedup();
                    let count = symbols.len();
                    list.send_if_modified(|current| {
                        let changed = *current != symbols;
                        if changed {
                            tracing::info!(
                                feed = SYMBOLS_FEED_ID,
                                count,
                                "linear symbol list changed"
                            );
                            *current = symbols;
                        }
                        changed
                    });
                    schedule.polled(true);
                    let detail = format!("{count} linear USDT symbols");
                    self.reporter.status(FeedState::Live, Some(detail)).await
                }
                Err(failure) => {
                    tracing::warn!(feed = SYMBOLS_FEED_ID, error = %failure, "symbol list refresh failed");
                    schedule.polled(false);
                    self.reporter.status(FeedState::Down, Some(failure)).await
                }
            };
            if reported.is_err() {
                return;
            }
        }
    }

    /// Every page of the list: `Ok(Ok(symbols))`, or `Ok(Err(why))` after a failed page (the
    /// last list stays in use).
    async fn fetch_all(&self) -> Result<Result<Vec<String>, String>, Closed> {
        let mut all = Vec::new();
        let mut cursor: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let url = match &cursor {
                None => self.url.clone(),
                Some(c) => format!("{}&cursor={}", self.url, query_escape(c)),
            };
            let body = match poller::fetch(
                &self.client,
                poller::Tag::feed(SYMBOLS_FEED_ID),
                &url,
                self.timeout,
            )
            .await
            {
                Ok(body) => body,
                Err(e) => return Ok(Err(e.to_string())),
            };
            match parse_instruments(&body) {
                Ok((symbols, next)) => {
                    all.extend(symbols);
                    match next {
                        None if all.is_empty() => return Ok(Err("no trading symbols".into())),
                        None => {
                            self.reporter.events(Vec::new()).await?;
                            return Ok(Ok(all));
                        }
                        Some(next) => cursor = Some(next),
                    }
                }
                Err(e) => {
                    self.reporter.parse_error(e.to_string()).await?;
                    return Ok(Err(e.to_string()));
                }
            }
        }
        Ok(Err(format!("more than {MAX_PAGES} pages")))
    }
}

/// Bybit's cursor arrives percent-encoded (`first%3D…%26last%3D…`): pass `%` through, encode what
/// would break the query.
fn query_escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'%') {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// Runs one set of connections per symbol list until `cancel`.
async fn run_connections(
    base: SessionSpec,
    mut list: watch::Receiver<Vec<String>>,
    tx: mpsc::Sender<FeedMsg>,
    cancel: CancellationToken,
) {
    loop {
        let symbols = loop {
            let current = list.borrow_and_update().clone();
            if !current.is_empty() {
                break current;
            }
            tokio::select! {
                () = cancel.cancelled() => return,
                changed = list.changed() => if changed.is_err() { return },
            }
        };
        let groups = split_connections(&symbols);
        tracing::info!(
            feed = FEED_ID,
            symbols = symbols.len(),
            connections = groups.len(),
            "subscribing liquidation topics"
        );
        let generation = Generation {
            base: &base,
            symbols: symbols.len(),
            tx: &tx,
            cancel: &cancel,
        };
        if !generation.run(groups, &mut list).await {
            return;
        }
    }
}

/// The connections of one symbol list.
struct Generation<'a> {
    base: &'a SessionSpec,
    symbols: usize,
    tx: &'a mpsc::Sender<FeedMsg>,
    cancel: &'a CancellationToken,
}

impl Generation<'_> {
    /// Runs a session per group until the list changes (`true`) or `cancel` (`false`).
    async fn run(&self, groups: Vec<Vec<String>>, list: &mut watch::Receiver<Vec<String>>) -> bool {
        let child = self.cancel.child_token();
        let (out_tx, mut out_rx) = mpsc::channel(FORWARD_QUEUE);
        let mut sessions = JoinSet::new();
        let mut combined = Aggregate::new(groups.len(), self.symbols);
        for (index, group) in groups.into_iter().enumerate() {
            let mut spec = self.base.clone();
            spec.subscriptions = Some(fixed_subscriptions(group, subscribe_frames));
            sessions.spawn(forwarded(index, spec, out_tx.clone(), child.clone()));
        }
        drop(out_tx);
        let restart = loop {
            tokio::select! {
                () = self.cancel.cancelled() => break false,
                changed = list.changed() => {
                    if changed.is_err() {
                        // The poller is gone: the list is final.
                        self.cancel.cancelled().await;
                        break false;
                    }
                    break true;
                }
                msg = out_rx.recv() => {
                    let Some((index, msg)) = msg else { break false };
                    if let Some(msg) = combined.message(index, msg)
                        && self.tx.send(msg).await.is_err()
                    {
                        break false;
                    }
                }
            }
        };
        child.cancel();
        while sessions.join_next().await.is_some() {}
        if restart {
            tracing::info!(
                feed = FEED_ID,
                "symbol list changed: reconnecting with the new list"
            );
        }
        restart
    }
}

/// One session whose messages go to `out` tagged with its connection index.
async fn forwarded(
    index: usize,
    spec: SessionSpec,
    out: mpsc::Sender<(usize, FeedMsg)>,
    cancel: CancellationToken,
) {
    let (tx, mut rx) = mpsc::channel(FORWARD_QUEUE);
    let forward = async move {
        while let Some(msg) = rx.recv().await {
            if out.send((index, msg)).await.is_err() {
                break;
            }
        }
    };
    tokio::join!(session::run(spec, tx, cancel), forward);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_keeps_its_encoding_and_urls_follow_the_config() {
        assert_eq!(query_escape("first%3D1%26last%3D2"), "first%3D1%26last%3D2");
        assert_eq!(query_escape("a=b&c d"), "a%3Db%26c%20d");
        let cfg = LiquidationsConfig {
            bybit_rest_url: "http://x/".into(),
            ..LiquidationsConfig::default()
        };
        assert_eq!(
            instruments_url(&cfg),
            "http://x/v5/market/instruments-info?category=linear&limit=1000"
        );
    }
}
