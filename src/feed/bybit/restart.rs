//! Runs the Bybit ticker session on a fresh connection for every topic list.
//!
//! The generic session resends the whole list when it changes while connected. Bybit punishes
//! that: a subscribe request naming one topic the connection already has fails as a whole
//! (`{"success":false,"ret_msg":"error:already subscribed,topic:…"}`, probed in ccxt/ccxt#30284),
//! so new topics batched with old ones would silently never arrive, and a removed symbol (delisted)
//! would poison its batch on the next reconnect. So each list gets its own connection: once a
//! changed list has been stable for `settle`, the running session is cancelled (which marks the
//! stream not live) and a new one subscribes the whole new list. Lists change rarely (a listing
//! on a Korean venue or on Bybit); the REST fallback's grace period covers the reconnect.

use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;

use crate::feed::FeedMsg;
use crate::feed::session::{self, SessionSpec, Subscriptions};

/// Runs sessions built from `base` (its `subscriptions` replaced by the current `topics`) until
/// `cancel`, restarting on every settled change of `topics`.
pub(super) async fn run(
    base: SessionSpec,
    frames: fn(&[String]) -> Vec<String>,
    mut topics: watch::Receiver<Vec<String>>,
    settle: Duration,
    tx: mpsc::Sender<FeedMsg>,
    cancel: CancellationToken,
) {
    loop {
        let Some(current) = non_empty(&mut topics, &cancel).await else {
            return;
        };
        // The session's own list never changes, so it never resubscribes on a live connection.
        let (_fixed, items) = watch::channel(current.clone());
        let mut spec = base.clone();
        spec.subscriptions = Some(Subscriptions { items, frames });
        let child = cancel.child_token();
        let session = session::run(spec, tx.clone(), child.clone());
        tokio::pin!(session);
        let restart = tokio::select! {
            // The session only returns when cancelled or when the state task is gone.
            () = &mut session => return,
            changed = next_list(&mut topics, &current, settle, &cancel) => changed,
        };
        child.cancel();
        session.await;
        if !restart {
            return;
        }
        tracing::info!(
            feed = base.feed,
            "topic list changed: reconnecting to subscribe the new list"
        );
    }
}

/// The current list once it is non-empty; `None` when cancelled.
async fn non_empty(
    topics: &mut watch::Receiver<Vec<String>>,
    cancel: &CancellationToken,
) -> Option<Vec<String>> {
    loop {
        let list = topics.borrow_and_update().clone();
        if !list.is_empty() {
            return Some(list);
        }
        tokio::select! {
            () = cancel.cancelled() => return None,
            changed = topics.changed() => if changed.is_err() {
                // No list will ever come.
                cancel.cancelled().await;
                return None;
            },
        }
    }
}

/// Resolves `true` once `topics` differs from `current` and has not changed for `settle`;
/// `false` when cancelled. A dropped sender means the list is final: wait for `cancel`.
async fn next_list(
    topics: &mut watch::Receiver<Vec<String>>,
    current: &[String],
    settle: Duration,
    cancel: &CancellationToken,
) -> bool {
    loop {
        tokio::select! {
            () = cancel.cancelled() => return false,
            changed = topics.changed() => if changed.is_err() {
                cancel.cancelled().await;
                return false;
            },
        }
        loop {
            tokio::select! {
                () = cancel.cancelled() => return false,
                () = tokio::time::sleep(settle) => break,
                changed = topics.changed() => if changed.is_err() { break },
            }
        }
        if topics.borrow_and_update().as_slice() != current {
            return true;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_change_settles_before_it_counts_and_a_revert_does_not() {
        let (tx, mut rx) = watch::channel(vec!["a".to_owned()]);
        let cancel = CancellationToken::new();
        let current = vec!["a".to_owned()];
        let settle = Duration::from_millis(30);
        let waiter = tokio::spawn(async move {
            let changed = next_list(&mut rx, &current, settle, &cancel).await;
            (changed, rx.borrow().clone())
        });
        tx.send_replace(vec!["b".to_owned()]);
        tokio::time::sleep(Duration::from_millis(5)).await;
        tx.send_replace(vec!["a".to_owned()]);
        tokio::time::sleep(Duration::from_millis(60)).await;
        assert!(!waiter.is_finished(), "a reverted change must not restart");
        tx.send_replace(vec!["c".to_owned()]);
        let (changed, list) = tokio::time::timeout(Duration::from_secs(5), waiter)
            .await
            .unwrap()
            .unwrap();
        assert!(changed);
        assert_eq!(list, vec!["c".to_owned()]);
    }
}
