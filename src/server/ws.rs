//! WebSocket fan-out (SPEC §6.1): one task per connection reading a [`Hub`]'s shared frames.
//!
//! - The first message is a full `snapshot`; every message is `{"seq":N,` + the shared frame tail,
//!   `seq` +1 per message on this connection.
//! - The per-client queue is the hub's broadcast ring (`server.ws_queue_len` frames). A client that
//!   falls further behind gets `Lagged`: it is sent a fresh snapshot instead of the backlog; more
//!   than [`MAX_LAGS`] lags within [`LAG_WINDOW`] without catching up in between (an empty queue
//!   after a write) close it with 1013: it cannot keep up.
//! - A write that does not finish within `server.ws_write_timeout_ms` (the client stopped reading
//!   and the socket is full) closes it with 1013; the close frame is given [`EVICT_GRACE`] to get
//!   through, and nothing else waits on that client meanwhile.
//! - Binary client messages close with 1003, oversized ones with 1009; `{"type":"snapshot"}` asks
//!   for a fresh snapshot (a client that saw a `seq` gap); other text is ignored.
//! - Shutdown closes every connection with 1001.
//! - A message longer than [`FRAGMENT`] goes out as fragments of at most that size, the shared
//!   tail straight from the hub's copy ([`upgrade`] says why).

pub mod hub;
pub mod liquidation;
pub mod market;
pub mod upgrade;

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::{Sink, SinkExt, Stream, StreamExt};
use tokio::sync::broadcast::{self, error::RecvError, error::TryRecvError};
use tokio::time::{Instant, timeout};
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::Frame as WireFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::{CloseCode, Data, OpCode};
use tokio_tungstenite::tungstenite::{Message, Utf8Bytes};
use tokio_util::sync::CancellationToken;

use super::metrics::WsCounters;
pub use hub::{Base, Frame, Hub, Joined};

/// Lags tolerated within [`LAG_WINDOW`] before a client is closed (1013).
pub const MAX_LAGS: usize = 3;
/// See [`MAX_LAGS`].
pub const LAG_WINDOW: Duration = Duration::from_secs(30);
/// How long an evicted client's close frame may take to get through.
pub const EVICT_GRACE: Duration = Duration::from_secs(5);
/// How long a close at shutdown (1001) may take.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(1);
/// Most frames written with one flush when a burst is queued…
const BATCH: usize = 1_024;
/// …and most bytes of them (a venue pushes its liquidations in batches of thousands: one `write`
/// per 64 frames made the fan-out of a 2,500-event batch to 100 clients 4,000 system calls).
const BATCH_BYTES: usize = 64 * 1024;
/// Largest WebSocket frame sent: longer messages are fragmented. It bounds the connection's write
/// buffer, which keeps the capacity of the largest frame it ever held.
pub const FRAGMENT: usize = 4 * 1024;

/// Close codes (RFC 6455 §7.4.1).
pub mod code {
    pub const GOING_AWAY: u16 = 1001;
    pub const UNSUPPORTED: u16 = 1003;
    pub const TOO_BIG: u16 = 1009;
    pub const TRY_AGAIN_LATER: u16 = 1013;
}

/// What a connection needs besides its hub.
#[derive(Clone)]
pub struct Context {
    pub write_timeout: Duration,
    pub counters: Arc<super::Metrics>,
    pub stream: super::metrics::Stream,
    pub cancel: CancellationToken,
}

/// The next thing a connection does.
#[derive(Debug, PartialEq, Eq)]
enum Step {
    Continue,
    Resync,
    Close(u16, &'static str),
    /// The client is gone (or closed): nothing more to send.
    Gone,
}

/// Error type the connection's socket reports; only its kind matters here.
pub type SocketError = tokio_tungstenite::tungstenite::Error;

struct Conn<'a, B> {
    hub: &'a Hub<B>,
    counters: &'a WsCounters,
    write_timeout: Duration,
    /// `seq` of the last message sent on this connection.
    seq: u64,
    /// Hub frames at or below this are in the snapshot the client holds.
    as_of: u64,
    lags: VecDeque<Instant>,
}

/// Serves one connection until the client leaves, is evicted, or the server shuts down.
pub async fn run<S, B>(mut socket: S, hub: Arc<Hub<B>>, ctx: Context)
where
    S: Sink<Message, Error = SocketError> + Stream<Item = Result<Message, SocketError>> + Unpin,
    B: Base,
{
    let counters = ctx.counters.ws(ctx.stream);
    counters.accepted.inc();
    counters.open.inc();
    let (mut rx, joined) = hub.join();
    let mut conn = Conn {
        hub: &hub,
        counters,
        write_timeout: ctx.write_timeout,
        seq: 0,
        as_of: joined.as_of,
        lags: VecDeque::new(),
    };
    let mut step = conn.write(&mut socket, &[joined.snapshot]).await;
    while step == Step::Continue {
        step = tokio::select! {
            () = ctx.cancel.cancelled() => Step::Close(code::GOING_AWAY, "server shutting down"),
            inbound = socket.next() => inbound_step(inbound, counters),
            frame = rx.recv() => conn.deliver(&mut socket, &mut rx, frame).await,
        };
        if step == Step::Resync {
            step = conn.resync(&mut socket).await;
        }
    }
    drop(rx);
    if let Step::Close(close_code, reason) = step {
        let grace = if close_code == code::GOING_AWAY {
            SHUTDOWN_GRACE
        } else {
            EVICT_GRACE
        };
        close(&mut socket, close_code, reason, grace).await;
    } else {
        // A close from the client is answered by the socket; let that reply out.
        let _ = timeout(SHUTDOWN_GRACE, socket.flush()).await;
    }
    counters.open.dec();
}

impl<B: Base> Conn<'_, B> {
    /// Delivers a received frame (and whatever else is queued, one flush), or handles a lag.
    async fn deliver<S>(
        &mut self,
        socket: &mut S,
        rx: &mut broadcast::Receiver<Arc<Frame>>,
        received: Result<Arc<Frame>, RecvError>,
    ) -> Step
    where
        S: Sink<Message, Error = SocketError> + Unpin,
    {
        let first = match received {
            Ok(frame) => frame,
            Err(RecvError::Lagged(_)) => return self.lagged(),
            Err(RecvError::Closed) => return Step::Close(code::GOING_AWAY, "stream ended"),
        };
        let mut bytes = first.tail.len();
        let mut batch = vec![first];
        let mut after = Step::Continue;
        while batch.len() < BATCH && bytes < BATCH_BYTES {
            match rx.try_recv() {
                Ok(frame) => {
                    bytes += frame.tail.len();
                    batch.push(frame);
                }
                Err(TryRecvError::Lagged(_)) => {
                    after = self.lagged();
                    break;
                }
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Closed) => {
                    after = Step::Close(code::GOING_AWAY, "stream ended");
                    break;
                }
            }
        }
        batch.retain(|f| f.hub_seq > self.as_of);
        match self.write(socket, &batch).await {
            Step::Continue => {
                if after == Step::Continue && rx.is_empty() {
                    // Caught up: earlier lags no longer count against it.
                    self.lags.clear();
                }
                after
            }
            other => other,
        }
    }

    /// Writes frames with one flush, bounded by the write timeout.
    async fn write<S>(&mut self, socket: &mut S, frames: &[Arc<Frame>]) -> Step
    where
        S: Sink<Message, Error = SocketError> + Unpin,
    {
        if frames.is_empty() {
            return Step::Continue;
        }
        let sending = async {
            for frame in frames {
                self.seq += 1;
                let sent = send_message(socket, self.seq, frame).await?;
                self.counters.bytes.inc_by(sent as u64);
                self.counters.messages.inc();
            }
            socket.flush().await
        };
        match timeout(self.write_timeout, sending).await {
            Ok(Ok(())) => Step::Continue,
            Ok(Err(_)) => Step::Gone,
            Err(_) => {
                self.counters.evicted.inc();
                Step::Close(code::TRY_AGAIN_LATER, "too slow: stopped reading")
            }
        }
    }

    fn lagged(&mut self) -> Step {
        let now = Instant::now();
        while self
            .lags
            .front()
            .is_some_and(|t| now.duration_since(*t) > LAG_WINDOW)
        {
            self.lags.pop_front();
        }
        self.lags.push_back(now);
        if self.lags.len() > MAX_LAGS {
            self.counters.evicted.inc();
            return Step::Close(code::TRY_AGAIN_LATER, "too slow: fell behind repeatedly");
        }
        Step::Resync
    }

    /// Sends a fresh snapshot; frames it already contains are skipped afterwards.
    async fn resync<S>(&mut self, socket: &mut S) -> Step
    where
        S: Sink<Message, Error = SocketError> + Unpin,
    {
        self.counters.resyncs.inc();
        let joined = self.hub.snapshot();
        self.as_of = joined.as_of;
        self.write(socket, &[joined.snapshot]).await
    }
}

/// What a message from the client means.
fn inbound_step(inbound: Option<Result<Message, SocketError>>, counters: &WsCounters) -> Step {
    match inbound {
        None | Some(Ok(Message::Close(_))) => Step::Gone,
        Some(Err(e)) => {
            if is_too_big(&e) {
                counters.bad_input.inc();
                Step::Close(code::TOO_BIG, "message too big")
            } else {
                Step::Gone
            }
        }
        Some(Ok(Message::Binary(_))) => {
            counters.bad_input.inc();
            Step::Close(code::UNSUPPORTED, "binary messages are not accepted")
        }
        Some(Ok(Message::Text(text))) => {
            if wants_snapshot(text.as_str()) {
                Step::Resync
            } else {
                Step::Continue
            }
        }
        Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_))) => Step::Continue,
    }
}

/// `{"type":"snapshot"}` (any spacing, other keys ignored).
fn wants_snapshot(text: &str) -> bool {
    #[derive(serde::Deserialize)]
    struct Request<'a> {
        #[serde(rename = "type", borrow)]
        kind: Option<&'a str>,
    }
    serde_json::from_str::<Request<'_>>(text).is_ok_and(|r| r.kind == Some("snapshot"))
}

fn is_too_big(error: &SocketError) -> bool {
    matches!(error, SocketError::Capacity(_))
}

/// The hub's shared copy of a frame, as the payload of outgoing fragments.
struct Shared(Arc<Frame>);

impl AsRef<[u8]> for Shared {
    fn as_ref(&self) -> &[u8] {
        self.0.tail.as_bytes()
    }
}

/// Queues message `seq` (`{"seq":N,` + the frame's tail) on `socket`: one text frame when it
/// fits in [`FRAGMENT`], else the prefix and then the tail in fragments of at most [`FRAGMENT`]
/// bytes cut at character boundaries. Returns the message's length.
async fn send_message<S>(socket: &mut S, seq: u64, frame: &Arc<Frame>) -> Result<usize, SocketError>
where
    S: Sink<Message, Error = SocketError> + Unpin,
{
    let tail = frame.tail.as_str();
    let prefix = seq_prefix(seq, 0);
    let len = prefix.len() + tail.len();
    if len <= FRAGMENT {
        socket
            .feed(Message::Text(Utf8Bytes::from(message_text(seq, tail))))
            .await?;
        return Ok(len);
    }
    let first = WireFrame::message(Bytes::from(prefix), OpCode::Data(Data::Text), false);
    socket.feed(Message::Frame(first)).await?;
    let shared = Bytes::from_owner(Shared(Arc::clone(frame)));
    let mut start = 0;
    while start < tail.len() {
        let mut end = (start + FRAGMENT).min(tail.len());
        while !tail.is_char_boundary(end) {
            end -= 1;
        }
        let last = end == tail.len();
        let part = WireFrame::message(shared.slice(start..end), OpCode::Data(Data::Continue), last);
        socket.feed(Message::Frame(part)).await?;
        start = end;
    }
    Ok(len)
}

/// `{"seq":N,` followed by the shared tail.
fn message_text(seq: u64, tail: &str) -> String {
    let mut text = seq_prefix(seq, tail.len());
    text.push_str(tail);
    text
}

/// `{"seq":N,` with room for `more` bytes after it (no `fmt` machinery: this runs for every
/// message to every client).
fn seq_prefix(seq: u64, more: usize) -> String {
    let mut digits = itoa::Buffer::new();
    let mut prefix = String::with_capacity(28 + more);
    prefix.push_str("{\"seq\":");
    prefix.push_str(digits.format(seq));
    prefix.push(',');
    prefix
}

async fn close<S>(socket: &mut S, close_code: u16, reason: &'static str, grace: Duration)
where
    S: Sink<Message, Error = SocketError> + Unpin,
{
    let frame = CloseFrame {
        code: CloseCode::from(close_code),
        reason: Utf8Bytes::from_static(reason),
    };
    let _ = timeout(grace, socket.send(Message::Close(Some(frame)))).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_is_prefix_plus_tail() {
        let text = message_text(7, "\"type\":\"update\",\"ts_ms\":1,\"data\":{}}");
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["seq"], 7);
        assert_eq!(v["type"], "update");
    }

    #[test]
    fn snapshot_requests_are_recognised() {
        assert!(wants_snapshot(r#"{"type":"snapshot"}"#));
        assert!(wants_snapshot(r#"{ "type" : "snapshot", "why": "gap" }"#));
        assert!(!wants_snapshot(r#"{"type":"ping"}"#));
        assert!(!wants_snapshot("snapshot"));
    }
}
