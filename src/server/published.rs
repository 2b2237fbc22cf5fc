//! The snapshot as the API serves it: the state task's `Arc<Snapshot>` plus its §6.0 document
//! serialised once into shared [`Bytes`], so `GET /api/coins/latest` is a reference-count bump
//! and a copy to the socket, never a re-encode per request.

use std::sync::Arc;

use bytes::Bytes;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use crate::state::snapshot::Snapshot;

/// One published snapshot and its serialised document.
#[derive(Debug)]
pub struct Published {
    pub snap: Arc<Snapshot>,
    /// The §6.0 document (`/api/coins/latest`, the `data` of market `snapshot` messages).
    pub body: Bytes,
}

impl Published {
    /// Serialises `snap` once.
    #[must_use]
    pub fn new(snap: Arc<Snapshot>) -> Self {
        let body = match serde_json::to_vec(snap.as_ref()) {
            Ok(body) => Bytes::from(body),
            Err(e) => {
                // Only non-string map keys could fail; the document has none.
                tracing::error!("cannot serialise the snapshot: {e}");
                Bytes::from_static(b"{}")
            }
        };
        Published { snap, body }
    }
}

/// Serialises every snapshot the state task publishes, once, for every reader of the API.
/// Ends with `cancel` or when the state task is gone.
#[must_use]
pub fn spawn(
    mut snapshots: watch::Receiver<Arc<Snapshot>>,
    cancel: CancellationToken,
) -> watch::Receiver<Arc<Published>> {
    let first = Arc::new(Published::new(snapshots.borrow_and_update().clone()));
    let (tx, rx) = watch::channel(first);
    tokio::spawn(async move {
        loop {
            tokio::select! {
                () = cancel.cancelled() => break,
                changed = snapshots.changed() => if changed.is_err() { break },
            }
            let snap = snapshots.borrow_and_update().clone();
            tx.send_replace(Arc::new(Published::new(snap)));
        }
    });
    rx
}
