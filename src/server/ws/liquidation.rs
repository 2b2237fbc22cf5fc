//! The liquidation stream (`/ws/liquidations` on 8002 and 8000): `snapshot` = the newest events
//! (`recent`, newest first), the `summary` and the liquidation feeds; `liquidation` = one new
//! event, sent the moment the state task accepts it, never coalesced; `update` = `{"summary"}`
//! when the totals changed, at most `ws_updates_per_sec`; `status` = `{"feeds"}` when a
//! liquidation feed's state changed.
//!
//! If this hub itself falls behind the state task's event stream (it should not: it only
//! serialises), it reseeds from the latest snapshot and sends everyone a fresh `snapshot`.

use std::collections::{HashSet, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use serde::ser::{Serialize, SerializeStruct, Serializer};
use tokio::runtime::Handle;
use tokio::sync::broadcast::{self, error::RecvError};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::MissedTickBehavior;
use tokio_util::sync::CancellationToken;

use super::hub::{Base, Hub};
use crate::model::Liquidation;
use crate::server::health::is_liquidation_feed;
use crate::server::metrics::Metrics;
use crate::server::published::Published;
use crate::state::liquidations::LiquidationSummary;
use crate::state::snapshot::{FeedRow, Snapshot};

/// Events in a `snapshot` message's `recent` list.
pub const SNAPSHOT_RECENT: usize = 200;

/// The liquidation hub's base.
#[derive(Default)]
pub struct LiqBase {
    /// Newest first.
    recent: VecDeque<Arc<Liquidation>>,
    summary: Option<LiquidationSummary>,
    feeds: Vec<FeedRow>,
    /// Ids of the events seeded from a snapshot, until the first event not among them arrives
    /// (events sent between subscribing and that snapshot would otherwise be sent twice).
    seeded: HashSet<String>,
}

impl LiqBase {
    /// Takes the tape, summary and feeds of `snap`.
    #[must_use]
    pub fn from_snapshot(snap: &Snapshot) -> Self {
        let recent: VecDeque<Arc<Liquidation>> = snap
            .liquidation_tape
            .iter()
            .take(SNAPSHOT_RECENT)
            .cloned()
            .collect();
        LiqBase {
            seeded: recent.iter().map(|l| l.id.clone()).collect(),
            recent,
            summary: snap.liquidations.clone(),
            feeds: liquidation_feeds(snap),
        }
    }

    fn push(&mut self, liq: Arc<Liquidation>) {
        self.seeded.clear();
        if self.recent.len() == SNAPSHOT_RECENT {
            self.recent.pop_back();
        }
        self.recent.push_front(liq);
    }
}

/// A list of shared events, serialised as the events.
struct Events<'a>(&'a VecDeque<Arc<Liquidation>>);

impl Serialize for Events<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.iter().map(AsRef::as_ref))
    }
}

impl Serialize for LiqBase {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("LiquidationSnapshot", 3)?;
        st.serialize_field("recent", &Events(&self.recent))?;
        st.serialize_field("summary", &self.summary)?;
        st.serialize_field("feeds", &self.feeds)?;
        st.end()
    }
}

impl Base for LiqBase {
    fn write_snapshot(&self, out: &mut Vec<u8>) -> serde_json::Result<()> {
        serde_json::to_writer(out, self)
    }
}

#[derive(serde::Serialize)]
struct SummaryUpdate<'a> {
    summary: &'a Option<LiquidationSummary>,
}

#[derive(serde::Serialize)]
struct Status<'a> {
    feeds: &'a [FeedRow],
}

fn liquidation_feeds(snap: &Snapshot) -> Vec<FeedRow> {
    snap.feeds
        .iter()
        .filter(|f| is_liquidation_feed(f.feed))
        .cloned()
        .collect()
}

/// Starts the hub task. `events` must be subscribed before the hub's base was seeded.
///
/// It runs on a thread of its own (driven with [`Handle::block_on`]), not as one more task on
/// the workers: in a burst the workers are busy with every client connection's writes, and a hub
/// task queued behind them fell more than the event channel's capacity behind the state and
/// had to resync every client (events lost to them) whenever the machine was busy.
pub fn spawn(
    hub: Arc<Hub<LiqBase>>,
    mut events: broadcast::Receiver<Arc<Liquidation>>,
    mut published: watch::Receiver<Arc<Published>>,
    updates_per_sec: u32,
    metrics: Arc<Metrics>,
    cancel: CancellationToken,
) -> JoinHandle<()> {
    let period = Duration::from_secs(1) / updates_per_sec.max(1);
    let run = async move {
        let mut tick = tokio::time::interval(period);
        tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                () = cancel.cancelled() => break,
                event = events.recv() => match event {
                    Ok(liq) => publish_event(&hub, liq),
                    Err(RecvError::Lagged(n)) => {
                        metrics.hub_lagged.inc_by(n);
                        let latest = published.borrow().clone();
                        hub.publish_snapshot(|b| *b = LiqBase::from_snapshot(&latest.snap));
                    }
                    Err(RecvError::Closed) => break,
                },
                _ = tick.tick() => match published.has_changed() {
                    Ok(true) => {
                        let next = published.borrow_and_update().clone();
                        publish_changes(&hub, &next.snap);
                    }
                    Ok(false) => {}
                    Err(_) => break,
                },
            }
        }
    };
    let handle = Handle::current();
    tokio::task::spawn_blocking(move || handle.block_on(run))
}

fn publish_event(hub: &Hub<LiqBase>, liq: Arc<Liquidation>) {
    if hub.with_base(|b| b.seeded.contains(&liq.id)) {
        return;
    }
    let event = Arc::clone(&liq);
    hub.publish("liquidation", event.as_ref(), move |b| b.push(liq));
}

/// Sends the summary and the liquidation feeds' states if they changed.
pub fn publish_changes(hub: &Hub<LiqBase>, snap: &Snapshot) {
    let feeds = liquidation_feeds(snap);
    let (summary_changed, feeds_changed) = hub.with_base(|b| {
        let states = |f: &[FeedRow]| -> Vec<_> { f.iter().map(|r| (r.feed, r.state)).collect() };
        (
            b.summary != snap.liquidations,
            states(&b.feeds) != states(&feeds),
        )
    });
    if feeds_changed {
        hub.publish("status", &Status { feeds: &feeds }, |b| {
            b.feeds.clone_from(&feeds);
        });
    } else {
        // Counters and ages move on; only state changes are worth a message.
        hub.refresh_base(|b| b.feeds = feeds);
    }
    if summary_changed {
        let summary = snap.liquidations.clone();
        hub.publish(
            "update",
            &SummaryUpdate {
                summary: &snap.liquidations,
            },
            |b| b.summary = summary,
        );
    }
}
