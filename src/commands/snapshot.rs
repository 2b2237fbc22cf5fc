//! `kimp snapshot [--json] [--wait SECS]`: collect until every enabled feed has delivered (at most
//! [`MAX_WAIT`]) or for exactly `SECS`, print the premium table or the §6.0 document once, exit.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use crate::app::Running;
use crate::model::{FeedId, FeedState};
use crate::state::snapshot::Snapshot;

/// Longest a snapshot waits for every feed without `--wait`.
pub const MAX_WAIT: Duration = Duration::from_secs(30);
/// After every feed has delivered, collect this much longer: all-market streams such as
/// Binance's push only the symbols that changed each second, so one frame is not the whole market.
pub const SETTLE: Duration = Duration::from_secs(3);

/// What a snapshot run ended with.
#[derive(Debug)]
pub struct Collected {
    pub snapshot: Arc<Snapshot>,
    /// Enabled feeds that never became live.
    pub missing: Vec<FeedId>,
}

/// Waits on `running`'s snapshots as described above and returns the last one.
pub async fn collect(
    running: &Running,
    wait: Option<Duration>,
    cancel: &CancellationToken,
) -> Collected {
    let mut rx = running.state.snapshots.clone();
    if let Some(d) = wait {
        tokio::select! {
            () = cancel.cancelled() => {}
            () = tokio::time::sleep(d) => {}
        }
    } else {
        let all_live = wait_all_live(&mut rx, &running.feeds, cancel);
        if tokio::time::timeout(MAX_WAIT, all_live).await.is_ok() {
            tokio::select! {
                () = cancel.cancelled() => {}
                () = tokio::time::sleep(SETTLE) => {}
            }
        }
    }
    let snapshot = rx.borrow().clone();
    let missing = missing_feeds(&snapshot, &running.feeds);
    Collected { snapshot, missing }
}

async fn wait_all_live(
    rx: &mut watch::Receiver<Arc<Snapshot>>,
    feeds: &[FeedId],
    cancel: &CancellationToken,
) {
    loop {
        if missing_feeds(&rx.borrow_and_update(), feeds).is_empty() {
            return;
        }
        tokio::select! {
            () = cancel.cancelled() => return,
            r = rx.changed() => if r.is_err() { return },
        }
    }
}

/// Feeds of `feeds` that have not delivered data yet (never live).
#[must_use]
pub fn missing_feeds(snap: &Snapshot, feeds: &[FeedId]) -> Vec<FeedId> {
    feeds
        .iter()
        .copied()
        .filter(|f| {
            snap.feed(f).is_none_or(|row| {
                row.messages == 0 || !matches!(row.state, FeedState::Live | FeedState::Quiet)
            })
        })
        .collect()
}
