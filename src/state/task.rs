//! The single writer: receives every [`FeedMsg`] over one bounded channel, applies it to the
//! [`MarketState`], and on each publish tick (if anything changed, and at least once a second so
//! freshness can expire) publishes an `Arc<Snapshot>` on a watch channel plus a [`Change`] on a
//! broadcast stream.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{broadcast, mpsc, watch};
use tokio::task::JoinHandle;
use tokio::time::{Instant, MissedTickBehavior};
use tokio_util::sync::CancellationToken;

use super::MarketState;
use super::snapshot::{Pair, Snapshot};
use crate::clock::now_ms;
use crate::feed::FeedMsg;
use crate::history::{History, PremiumSample};
use crate::model::{Liquidation, Millis};
use crate::record::Recorder;

/// Capacity of the collectors → state channel: a few seconds of the busiest venue.
pub const FEED_CHANNEL: usize = 8192;
/// Freshness is time-based: publish at least this often even when nothing arrived.
const MAX_QUIET: Duration = Duration::from_secs(1);
/// Premium samples are kept per minute.
const MINUTE_MS: Millis = 60_000;
/// Capacity of the new-liquidation stream: 6.5 s of a 10 k/s burst. Venues push in batches
/// (Bybit's 500 ms `allLiquidation` holds thousands in a burst) that the state forwards in a few
/// milliseconds while the API's fan-out publishes each event to every client; with 8,192 a Bybit
/// batch landing with the OKX and `BitMEX` ones overflowed it and every client was resynced (events
/// lost to them). About 2.5 MB of slots.
pub const LIQUIDATION_CHANNEL: usize = 65_536;

/// What changed between two published snapshots.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// Publication number, +1 per snapshot.
    pub seq: u64,
    /// Coins whose rows received new data.
    pub coins: Vec<String>,
}

/// Requests to the state task that are not feed data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StateCommand {
    SetPair(Pair),
}

/// The other end of the state task.
#[derive(Debug, Clone)]
pub struct StateHandle {
    /// Where collectors send.
    pub feed_tx: mpsc::Sender<FeedMsg>,
    pub commands: mpsc::Sender<StateCommand>,
    pub snapshots: watch::Receiver<Arc<Snapshot>>,
    pub changes: broadcast::Sender<Arc<Change>>,
    /// Every newly accepted liquidation, at once (not at the publish tick) and never coalesced:
    /// the API's `liquidation` messages. Re-deliveries the book rejected are not sent.
    pub liquidations: broadcast::Sender<Arc<Liquidation>>,
}

/// Where the state task's "now" comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Clock {
    /// The system clock (live collectors).
    Wall,
    /// The recording's time (`--replay`): starts here, then follows [`FeedMsg::Tick`].
    Replay(Millis),
}

impl Clock {
    fn now(self) -> Millis {
        match self {
            Clock::Wall => now_ms(),
            Clock::Replay(at) => at,
        }
    }
}

/// How the state task runs besides its state.
#[derive(Debug, Clone)]
pub struct TaskOptions {
    pub clock: Clock,
    /// Every status transition received is recorded here (`--record`).
    pub recorder: Option<Recorder>,
}

impl Default for TaskOptions {
    fn default() -> Self {
        TaskOptions {
            clock: Clock::Wall,
            recorder: None,
        }
    }
}

/// Starts the state task. It ends when `cancel` fires (after a last publish) or every sender is gone.
#[must_use]
pub fn spawn(
    state: MarketState,
    history: Option<History>,
    publish_interval: Duration,
    cancel: CancellationToken,
) -> (StateHandle, JoinHandle<MarketState>) {
    spawn_with(
        state,
        history,
        publish_interval,
        cancel,
        TaskOptions::default(),
    )
}

/// [`spawn`] with a clock and a recorder.
#[must_use]
pub fn spawn_with(
    state: MarketState,
    history: Option<History>,
    publish_interval: Duration,
    cancel: CancellationToken,
    opts: TaskOptions,
) -> (StateHandle, JoinHandle<MarketState>) {
    let (feed_tx, feed_rx) = mpsc::channel(FEED_CHANNEL);
    let (cmd_tx, cmd_rx) = mpsc::channel(16);
    let (snap_tx, snapshots) = watch::channel(Arc::new(state.snapshot(opts.clock.now())));
    let (changes, _) = broadcast::channel(64);
    let (liquidations, _) = broadcast::channel(LIQUIDATION_CHANNEL);
    let task = Writer {
        state,
        snap_tx,
        changes: changes.clone(),
        liquidations: liquidations.clone(),
        pending: BTreeSet::new(),
        dirty: false,
        seq: 0,
        history,
        sampled_minute: None,
        clock: opts.clock,
        recorder: opts.recorder,
    };
    let join = tokio::spawn(task.run(feed_rx, cmd_rx, publish_interval, cancel));
    let handle = StateHandle {
        feed_tx,
        commands: cmd_tx,
        snapshots,
        changes,
        liquidations,
    };
    (handle, join)
}

struct Writer {
    state: MarketState,
    snap_tx: watch::Sender<Arc<Snapshot>>,
    changes: broadcast::Sender<Arc<Change>>,
    liquidations: broadcast::Sender<Arc<Liquidation>>,
    pending: BTreeSet<String>,
    dirty: bool,
    seq: u64,
    /// Where new liquidations and per-minute premium samples are persisted.
    history: Option<History>,
    /// The minute whose premium samples were last recorded.
    sampled_minute: Option<Millis>,
    clock: Clock,
    recorder: Option<Recorder>,
}

impl Writer {
    /// Once a minute, records every coin's premiums for sparklines and percentiles.
    fn sample_premiums(&mut self, snap: &Snapshot, now: Millis) {
        let minute = now - now.rem_euclid(MINUTE_MS);
        let Some(history) = &self.history else { return };
        if self.sampled_minute == Some(minute) {
            return;
        }
        self.sampled_minute = Some(minute);
        for coin in &snap.coins {
            if coin.premium_percent.is_none() && coin.premium_usdt_percent.is_none() {
                continue;
            }
            history.record_premium(PremiumSample {
                minute_ms: minute,
                coin: coin.symbol.clone(),
                domestic: snap.pair.domestic,
                global: snap.pair.global,
                premium_percent: coin.premium_percent,
                premium_usdt_percent: coin.premium_usdt_percent,
            });
        }
    }

    async fn run(
        mut self,
        mut feed_rx: mpsc::Receiver<FeedMsg>,
        mut cmd_rx: mpsc::Receiver<StateCommand>,
        publish_interval: Duration,
        cancel: CancellationToken,
    ) -> MarketState {
        let mut tick = tokio::time::interval(publish_interval);
        tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let mut last_publish = Instant::now();
        loop {
            tokio::select! {
                () = cancel.cancelled() => break,
                msg = feed_rx.recv() => match msg {
                    Some(msg) => self.apply(msg),
                    None => break,
                },
                Some(cmd) = cmd_rx.recv() => match cmd {
                    StateCommand::SetPair(pair) => {
                        self.state.set_pair(pair);
                        self.dirty = true;
                    }
                },
                _ = tick.tick() => {
                    if self.dirty || last_publish.elapsed() >= MAX_QUIET {
                        self.publish();
                        last_publish = Instant::now();
                    }
                }
            }
        }
        // Drain what is already queued so a final snapshot reflects it.
        while let Ok(msg) = feed_rx.try_recv() {
            self.apply(msg);
        }
        self.publish();
        self.state
    }

    fn apply(&mut self, msg: FeedMsg) {
        match (&msg, &mut self.clock, &self.recorder) {
            (FeedMsg::Tick { at_ms }, Clock::Replay(now), _) => {
                *now = (*now).max(*at_ms);
                return;
            }
            (
                FeedMsg::Status {
                    feed,
                    state,
                    at_ms,
                    detail,
                },
                _,
                Some(recorder),
            ) => recorder.status(feed, *state, *at_ms, detail.as_deref()),
            _ => {}
        }
        let applied = self.state.apply(msg, self.clock.now());
        self.pending.extend(applied.coins);
        for liq in applied.liquidations {
            if self.liquidations.receiver_count() > 0 {
                // No receivers is fine; a lagging one resyncs from a snapshot.
                let _ = self.liquidations.send(Arc::new(liq.clone()));
            }
            if let Some(history) = &self.history {
                // Never blocks: a full queue is counted by the history, not waited on.
                history.record_liquidation(liq);
            }
        }
        self.dirty = true;
    }

    fn publish(&mut self) {
        self.seq += 1;
        let now = self.clock.now();
        let snap = Arc::new(self.state.snapshot(now));
        self.sample_premiums(&snap, now);
        self.snap_tx.send_replace(snap);
        let change = Change {
            seq: self.seq,
            coins: std::mem::take(&mut self.pending).into_iter().collect(),
        };
        // No receivers is fine: the change stream is for whoever listens.
        let _ = self.changes.send(Arc::new(change));
        self.dirty = false;
    }
}
