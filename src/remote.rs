//! `--remote URL`: the dashboard and `kimp snapshot` fed by another kimp's API gateway instead of
//! local collectors (SPEC §6.1, §6.2).
//!
//! Two WebSocket links, `/ws/prices` and `/ws/liquidations`, each in its own task
//! ([`stream::run`]), merge what they receive into one upstream [`Snapshot`] ([`apply`]): the
//! `snapshot` message replaces the document, `update` merges rows and header fields, `status`
//! replaces the feeds' health, `liquidation` pushes an event onto the tape. A publisher task puts
//! the merged document on the usual watch channel (coalesced to [`PUBLISH_INTERVAL`], and at
//! least once a second so the link's age moves), with a synthetic feed row [`LINK_FEED`] first in
//! `feeds`: `live` when both links are up, `reconnecting` while a link is being re-established,
//! `down` after [`DOWN_AFTER`] failed attempts in a row, with the reason in `detail`/`last_error`.
//!
//! Links reconnect with the collectors' backoff ([`crate::feed::backoff`]); a `seq` gap asks the
//! server for a fresh `snapshot`. The server's pair is shown: `d`/`o` in the dashboard cannot
//! switch venues with `--remote` (the footer says so), since premiums are computed upstream.
//! Ages (`age_ms`) are as of the server's last message carrying the row; history (sparklines,
//! percentiles) is kept in memory only and starts empty.

pub mod apply;
pub mod link;
pub mod local;
pub mod stream;

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::sync::{broadcast, mpsc, watch};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::app::Running;
use crate::clock::now_ms;
use crate::commands::snapshot::{Collected, missing_feeds};
use crate::config::Config;
use crate::model::FeedId;
use crate::state::snapshot::Snapshot;
use crate::state::task::{Change, LIQUIDATION_CHANNEL, StateHandle};
use crate::state::{MarketState, StateConfig};
pub use apply::Merged;
pub use link::{DOWN_AFTER, LinkHealth};
pub use stream::Kind;

/// The synthetic feed row that reports the link to the server.
pub const LINK_FEED: FeedId = "remote.link";
/// The same row in a gateway-only process (`--role gateway`): its links to the two services. A
/// separate id, so a `--remote` client of that gateway shows both its own link and the gateway's.
pub const UPSTREAM_FEED: FeedId = "gateway.upstreams";

/// Whether `feed` is a link row ([`LINK_FEED`] or [`UPSTREAM_FEED`]).
#[must_use]
pub fn is_link_feed(feed: &str) -> bool {
    feed == LINK_FEED || feed == UPSTREAM_FEED
}
/// Longest interval between two published snapshots while data arrives.
pub const PUBLISH_INTERVAL: Duration = Duration::from_millis(100);
/// Publish at least this often, so ages and the link row stay current.
const MAX_QUIET: Duration = Duration::from_secs(1);

/// What both links share: the merged upstream document, the links' health, the outputs.
pub struct Shared {
    pub merged: Merged,
    pub health: LinkHealth,
    /// What a gateway-only process polls itself (names, fear & greed).
    pub local: local::Local,
    dirty: bool,
    /// Symbols of coins changed since the last publish.
    changed: Vec<String>,
    seq: u64,
    liquidations: broadcast::Sender<Arc<crate::model::Liquidation>>,
}

/// The shared state, locked briefly by each link and the publisher (never across an await).
pub type SharedState = Arc<Mutex<Shared>>;

/// Locks `shared`; a panicked holder leaves consistent-enough data to keep going.
pub fn lock(shared: &SharedState) -> std::sync::MutexGuard<'_, Shared> {
    shared.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Shared {
    /// Marks the document changed (`coins` were updated).
    pub fn touch(&mut self, coins: impl IntoIterator<Item = String>) {
        self.dirty = true;
        self.changed.extend(coins);
    }

    /// Sends a new liquidation to whoever listens on the handle's stream.
    pub fn announce(&self, liq: Arc<crate::model::Liquidation>) {
        if self.liquidations.receiver_count() > 0 {
            let _ = self.liquidations.send(liq);
        }
    }

    /// The document consumers see: the merged one with the link row first.
    fn render(&self, now: crate::model::Millis) -> Snapshot {
        let mut snap = self.merged.snap.clone();
        snap.taken_ms = now;
        self.local.overlay(&mut snap, now);
        snap.feeds.insert(0, self.health.row(now));
        snap
    }
}

/// Checks a `--remote` value: `http(s)://host[:port]` (or `ws(s)://…`), kept without a trailing
/// slash.
///
/// # Errors
/// Names what is wrong with the URL.
pub fn parse_url(text: &str) -> Result<String, String> {
    let text = text.trim().trim_end_matches('/');
    let rest = ["http://", "https://", "ws://", "wss://"]
        .iter()
        .find_map(|scheme| text.strip_prefix(scheme))
        .ok_or_else(|| format!("{text}: expected http://HOST:PORT (or https, ws, wss)"))?;
    if rest.is_empty() || rest.starts_with('/') {
        return Err(format!("{text}: no host"));
    }
    Ok(text.to_string())
}

/// The WebSocket URL of `path` on the server at `base` (see [`parse_url`]).
#[must_use]
pub fn ws_url(base: &str, path: &str) -> String {
    let base = if let Some(rest) = base.strip_prefix("http://") {
        format!("ws://{rest}")
    } else if let Some(rest) = base.strip_prefix("https://") {
        format!("wss://{rest}")
    } else {
        base.to_string()
    };
    format!("{base}{path}")
}

/// Where the two streams come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upstreams {
    /// Shown in the link row.
    pub label: String,
    /// WebSocket URL of the market stream.
    pub prices: String,
    /// WebSocket URL of the liquidation stream.
    pub liquidations: String,
    /// Run the names and fear & greed pollers here (a gateway-only process).
    pub local_pollers: bool,
    /// The id of the link row.
    pub feed: FeedId,
}

impl Upstreams {
    /// Both streams from one gateway at `url` (`--remote`).
    #[must_use]
    pub fn gateway(url: &str) -> Self {
        Upstreams {
            label: url.to_string(),
            prices: ws_url(url, Kind::Prices.path()),
            liquidations: ws_url(url, Kind::Liquidations.path()),
            local_pollers: false,
            feed: LINK_FEED,
        }
    }

    /// A gateway-only process (`--role gateway`): the market service's `/ws/market` at `market`,
    /// the liquidation service's `/ws/liquidations` at `liquidation`, names and fear & greed
    /// polled locally.
    #[must_use]
    pub fn split(market: &str, liquidation: &str) -> Self {
        Upstreams {
            label: format!("market {market} · liquidation {liquidation}"),
            prices: ws_url(market, "/ws/market"),
            liquidations: ws_url(liquidation, Kind::Liquidations.path()),
            local_pollers: true,
            feed: UPSTREAM_FEED,
        }
    }

    fn url(&self, kind: Kind) -> &str {
        match kind {
            Kind::Prices => &self.prices,
            Kind::Liquidations => &self.liquidations,
        }
    }
}

/// Starts both links to `upstreams` and the publisher; the returned run's snapshots are the
/// server's document. `token` is sent as `Authorization: Bearer` when set.
///
/// # Errors
/// When the in-memory history cannot be opened.
pub fn start(
    cfg: &Config,
    upstreams: &Upstreams,
    token: Option<&str>,
    cancel: CancellationToken,
) -> anyhow::Result<Running> {
    let now = now_ms();
    let empty = MarketState::new(StateConfig::from_config(cfg)).snapshot(now);
    let (liquidations, _) = broadcast::channel(LIQUIDATION_CHANNEL);
    let (changes, _) = broadcast::channel(64);
    let shared = Arc::new(Mutex::new(Shared {
        merged: Merged::new(empty),
        health: LinkHealth::new(upstreams.feed, &upstreams.label, now),
        local: local::Local::default(),
        dirty: true,
        changed: Vec::new(),
        seq: 0,
        liquidations: liquidations.clone(),
    }));
    let first = lock(&shared).render(now);
    let (snap_tx, snapshots) = watch::channel(Arc::new(first));
    // Local pollers (a gateway) feed names and fear & greed here.
    let (feed_tx, feed_rx) = mpsc::channel(64);
    // Dropped at once: the pair is the server's, so a venue switch reports it cannot be done.
    let (commands, _) = mpsc::channel(1);
    let mut tasks = JoinSet::new();
    for kind in Kind::ALL {
        tasks.spawn(stream::run(
            kind,
            upstreams.url(kind).to_string(),
            token.map(str::to_string),
            Arc::clone(&shared),
            cancel.clone(),
        ));
    }
    let mut feeds = vec![upstreams.feed];
    if upstreams.local_pollers {
        feeds.extend(local::spawn(cfg, &feed_tx, &cancel, &mut tasks));
    }
    tasks.spawn(publish(
        shared,
        snap_tx,
        changes.clone(),
        feed_rx,
        cancel.clone(),
    ));
    let handle = StateHandle {
        feed_tx,
        commands,
        snapshots,
        changes,
        liquidations,
    };
    Running::fed(handle, feeds, cancel, tasks)
}

/// Publishes the merged document when it changed (at most every [`PUBLISH_INTERVAL`]) and at
/// least every [`MAX_QUIET`].
async fn publish(
    shared: SharedState,
    out: watch::Sender<Arc<Snapshot>>,
    changes: broadcast::Sender<Arc<Change>>,
    mut feed_rx: mpsc::Receiver<crate::feed::FeedMsg>,
    cancel: CancellationToken,
) {
    let mut tick = tokio::time::interval(PUBLISH_INTERVAL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last = tokio::time::Instant::now();
    loop {
        tokio::select! {
            () = cancel.cancelled() => return,
            Some(msg) = feed_rx.recv() => {
                let mut s = lock(&shared);
                if s.local.apply(msg, now_ms()) {
                    s.touch([]);
                }
                continue;
            }
            _ = tick.tick() => {}
        }
        let (snap, change) = {
            let mut s = lock(&shared);
            if !s.dirty && last.elapsed() < MAX_QUIET {
                continue;
            }
            s.dirty = false;
            s.seq += 1;
            let mut coins = std::mem::take(&mut s.changed);
            coins.sort_unstable();
            coins.dedup();
            let change = Change { seq: s.seq, coins };
            (s.render(now_ms()), change)
        };
        last = tokio::time::Instant::now();
        out.send_replace(Arc::new(snap));
        let _ = changes.send(Arc::new(change));
    }
}

/// `kimp snapshot --remote`: waits until the link is live (both documents received; at most
/// `max_wait`), or for exactly `wait`, and returns the document.
pub async fn collect(
    running: &Running,
    wait: Option<Duration>,
    max_wait: Duration,
    cancel: &CancellationToken,
) -> Collected {
    let mut rx = running.state.snapshots.clone();
    let until_live = async {
        loop {
            if missing_feeds(&rx.borrow_and_update(), &running.feeds).is_empty() {
                return;
            }
            if rx.changed().await.is_err() {
                return;
            }
        }
    };
    let waiting = async {
        match wait {
            Some(d) => tokio::time::sleep(d).await,
            None => {
                let _ = tokio::time::timeout(max_wait, until_live).await;
            }
        }
    };
    tokio::select! {
        () = cancel.cancelled() => {}
        () = waiting => {}
    }
    let snapshot = running.state.snapshots.borrow().clone();
    let missing = missing_feeds(&snapshot, &running.feeds);
    Collected { snapshot, missing }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        assert_eq!(parse_url("http://h:8000/").as_deref(), Ok("http://h:8000"));
        assert!(parse_url("h:8000").is_err());
        assert!(parse_url("http://").is_err());
        assert_eq!(ws_url("http://h:1", "/ws/prices"), "ws://h:1/ws/prices");
        assert_eq!(ws_url("https://h", "/x"), "wss://h/x");
        assert_eq!(ws_url("ws://h", "/x"), "ws://h/x");
    }
}
