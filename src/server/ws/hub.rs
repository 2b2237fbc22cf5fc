//! The shared half of a WebSocket stream: messages serialised once into [`Frame`]s and broadcast to
//! every connection, plus the state a joining (or resyncing) client gets as its `snapshot`.
//!
//! A frame is the *tail* of a message, `"type":…,"ts_ms":…,"data":…}`; each connection writes its
//! own `{"seq":N,` before it (a copy, not a re-encode). Frames carry the hub's own sequence number
//! so a connection can tell which of them its snapshot already contains:
//!
//! 1. the connection subscribes to the broadcast, then reads the snapshot and the hub number
//!    `as_of` it is current to (one lock);
//! 2. the hub updates its base state and bumps its number under that lock *before* broadcasting;
//! 3. so every frame numbered above `as_of` reaches the connection, and those at or below it are
//!    already in its snapshot and skipped.

use std::io::Write as _;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use serde::Serialize;
use tokio::sync::broadcast;

use crate::clock::now_ms;

/// One serialised message, shared by every connection.
#[derive(Debug)]
pub struct Frame {
    /// The hub's number of the frame (not the per-connection `seq`).
    pub hub_seq: u64,
    /// `"type":…,"ts_ms":…,"data":…}`.
    pub tail: String,
}

/// What a stream's `snapshot` message is made of.
pub trait Base: Send + 'static {
    /// Writes the `data` of a `snapshot` message.
    fn write_snapshot(&self, out: &mut Vec<u8>) -> serde_json::Result<()>;
}

struct Inner<B> {
    hub_seq: u64,
    base: B,
    /// The `snapshot` frame as of `hub_seq`, built on first demand.
    cached: Option<Arc<Frame>>,
}

/// One stream's broadcast and snapshot state.
pub struct Hub<B> {
    tx: broadcast::Sender<Arc<Frame>>,
    inner: Mutex<Inner<B>>,
}

/// A client's starting point: the snapshot frame and the hub number it is current to.
#[derive(Debug, Clone)]
pub struct Joined {
    pub snapshot: Arc<Frame>,
    pub as_of: u64,
}

impl<B: Base> Hub<B> {
    /// A hub whose clients may fall `queue_len` frames behind before they are resynced.
    #[must_use]
    pub fn new(base: B, queue_len: usize) -> Self {
        Hub {
            tx: broadcast::channel(queue_len.max(1)).0,
            inner: Mutex::new(Inner {
                hub_seq: 0,
                base,
                cached: None,
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner<B>> {
        // The base is plain data; a panic elsewhere leaves it usable.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Subscribes a new connection: its receiver, then its snapshot (in that order, see above).
    pub fn join(&self) -> (broadcast::Receiver<Arc<Frame>>, Joined) {
        let rx = self.tx.subscribe();
        (rx, self.snapshot())
    }

    /// The current snapshot frame and the hub number it is current to.
    pub fn snapshot(&self) -> Joined {
        let mut inner = self.lock();
        let as_of = inner.hub_seq;
        if let Some(frame) = &inner.cached {
            return Joined {
                snapshot: Arc::clone(frame),
                as_of,
            };
        }
        let frame = Arc::new(Frame {
            hub_seq: as_of,
            tail: tail("snapshot", now_ms(), |out| inner.base.write_snapshot(out)),
        });
        inner.cached = Some(Arc::clone(&frame));
        Joined {
            snapshot: frame,
            as_of,
        }
    }

    /// Reads the base (the hub task deciding what changed).
    pub fn with_base<T>(&self, f: impl FnOnce(&B) -> T) -> T {
        f(&self.lock().base)
    }

    /// Changes the base without a message: the change must not matter to any client (the data
    /// is equal to what they hold, only fresher in ways updates never carry).
    pub fn refresh_base(&self, update: impl FnOnce(&mut B)) {
        let mut inner = self.lock();
        update(&mut inner.base);
        inner.cached = None;
    }

    /// Applies `update` to the base and broadcasts a `kind` message with `data`, in that order.
    pub fn publish<T: Serialize + ?Sized>(
        &self,
        kind: &str,
        data: &T,
        update: impl FnOnce(&mut B),
    ) {
        let tail = tail(kind, now_ms(), |out| serde_json::to_writer(out, data));
        let mut inner = self.lock();
        update(&mut inner.base);
        inner.hub_seq += 1;
        inner.cached = None;
        let frame = Arc::new(Frame {
            hub_seq: inner.hub_seq,
            tail,
        });
        drop(inner);
        // No connection is fine.
        let _ = self.tx.send(frame);
    }

    /// Applies `update` and broadcasts a fresh `snapshot` to everyone (the hub itself missed data).
    pub fn publish_snapshot(&self, update: impl FnOnce(&mut B)) {
        let mut inner = self.lock();
        update(&mut inner.base);
        inner.hub_seq += 1;
        let frame = Arc::new(Frame {
            hub_seq: inner.hub_seq,
            tail: tail("snapshot", now_ms(), |out| inner.base.write_snapshot(out)),
        });
        inner.cached = Some(Arc::clone(&frame));
        drop(inner);
        let _ = self.tx.send(frame);
    }

    /// Connections subscribed now.
    #[must_use]
    pub fn receivers(&self) -> usize {
        self.tx.receiver_count()
    }
}

/// Builds `"type":"{kind}","ts_ms":{ts},"data":{…}}`, with `data` written by `write`. A data
/// value that cannot be serialised (a bug) becomes `null` and is logged.
pub fn tail(
    kind: &str,
    ts_ms: i64,
    write: impl FnOnce(&mut Vec<u8>) -> serde_json::Result<()>,
) -> String {
    let mut out = Vec::with_capacity(256);
    let _ = write!(out, "\"type\":\"{kind}\",\"ts_ms\":{ts_ms},\"data\":");
    let start = out.len();
    if let Err(e) = write(&mut out) {
        tracing::error!(kind, "cannot serialise a websocket message: {e}");
        out.truncate(start);
        out.extend_from_slice(b"null");
    }
    out.push(b'}');
    String::from_utf8(out).unwrap_or_else(|e| {
        tracing::error!(kind, "websocket message is not UTF-8: {e}");
        format!("\"type\":\"{kind}\",\"ts_ms\":{ts_ms},\"data\":null}}")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Count(u32);

    impl Base for Count {
        fn write_snapshot(&self, out: &mut Vec<u8>) -> serde_json::Result<()> {
            serde_json::to_writer(out, &self.0)
        }
    }

    #[test]
    fn frames_after_the_snapshot_are_numbered_above_it() {
        let hub = Hub::new(Count(0), 8);
        hub.publish("update", &1, |c| c.0 = 1);
        let (mut rx, joined) = hub.join();
        assert_eq!(joined.as_of, 1);
        assert!(joined.snapshot.tail.contains("\"data\":1}"));
        hub.publish("update", &2, |c| c.0 = 2);
        let frame = rx.try_recv().unwrap();
        assert_eq!(frame.hub_seq, 2);
        assert!(frame.tail.starts_with("\"type\":\"update\",\"ts_ms\":"));
        assert!(frame.tail.ends_with("\"data\":2}"));
    }
}
