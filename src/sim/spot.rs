//! The WebSocket session shared by the JSON-over-text venues (Bybit spot, OKX public): requests
//! in, acknowledgements and ticker pushes out.
//!
//! A venue's [`TextProtocol`] answers each client message and says which of its symbols the
//! client receives; this module does the rest the same way for both: fault knobs, the idle cut,
//! per-connection ids and the broadcast of what traded. A connection that neither sends anything
//! nor receives data for the venue's idle limit loses its TCP connection without a close frame
//! (clients keep it alive with the venue's ping). Only data pushes count as frames for the
//! `malformed_every` knob; acknowledgements and pongs stay intact.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::response::Response;
use tokio::sync::broadcast;
use tokio::sync::broadcast::error::RecvError;
use tokio::time::Instant;

use super::clock::now_ms;
use super::faults::{FaultWatch, SimVenue, garbage_text};
use super::market::MarketModel;
use super::{OpenGuard, Shared, SimOptions, Stats};

const MAX_MESSAGE_BYTES: usize = 64 * 1024;
const CLOSE_GOING_AWAY: u16 = 1001;

/// Connections opened so far, across simulators: the source of connection ids.
static CONNECTIONS: AtomicU64 = AtomicU64::new(0);

/// What traded on a venue in one model step, serialised once for every connection.
#[derive(Debug)]
pub(crate) struct SpotTick {
    /// The model step that produced these frames.
    pub step: u64,
    /// `(symbol index, frame)` for every symbol that traded.
    pub frames: Vec<(usize, Utf8Bytes)>,
}

/// What a venue answers to one client message.
#[derive(Debug, Default)]
pub(crate) struct Handled {
    /// Text frames to send back, in order.
    pub replies: Vec<String>,
    /// Symbols whose current ticker to push now (new subscriptions).
    pub snapshots: Vec<usize>,
    /// The message was the venue's ping.
    pub ping: bool,
}

/// One text venue's protocol.
pub(crate) trait TextProtocol: Send + Sized + 'static {
    const VENUE: SimVenue;
    fn channel(shared: &Shared) -> &broadcast::Sender<Arc<SpotTick>>;
    /// `(connections, open, pings)` counters.
    fn counters(stats: &Stats) -> (&AtomicU64, &AtomicU64, &AtomicU64);
    fn idle(opts: &SimOptions) -> Duration;
    /// A new connection's state; `conn` is a process-wide connection number.
    fn open(model: &MarketModel, conn: u64) -> Self;
    /// Answers one text message from the client.
    fn handle(&mut self, text: &str) -> Handled;
    /// The client receives symbol `index`.
    fn wants(&self, index: usize) -> bool;
    /// The push frame of symbol `index` now.
    fn snapshot(model: &MarketModel, index: usize, now_ms: u64) -> String;
}

/// Upgrades to a session of protocol `P`.
pub(crate) fn upgrade<P: TextProtocol>(ws: WebSocketUpgrade, shared: Arc<Shared>) -> Response {
    ws.max_message_size(MAX_MESSAGE_BYTES)
        .max_frame_size(MAX_MESSAGE_BYTES)
        .read_buffer_size(8 * 1024)
        .on_upgrade(move |socket| session::<P>(socket, shared))
}

struct Conn<'a, P> {
    socket: WebSocket,
    shared: &'a Shared,
    faults: FaultWatch,
    proto: P,
    /// Ticks at or before this step predate the last snapshots and are skipped.
    since_step: u64,
}

impl<P: TextProtocol> Conn<'_, P> {
    async fn send_text(&mut self, text: String) -> bool {
        self.socket
            .send(Message::Text(Utf8Bytes::from(text)))
            .await
            .is_ok()
    }

    /// Sends one data push, garbled when the malformed knob says so.
    async fn send_data(&mut self, frame: Utf8Bytes) -> bool {
        Stats::bump(&self.shared.stats.frames);
        let frame = match self.faults.garble_next() {
            Some(kind) => {
                Stats::bump(&self.shared.stats.malformed_frames);
                Utf8Bytes::from(garbage_text(frame.as_str(), kind))
            }
            None => frame,
        };
        self.socket.send(Message::Text(frame)).await.is_ok()
    }

    async fn client_text(&mut self, text: &str) -> bool {
        let handled = self.proto.handle(text);
        if handled.ping {
            Stats::bump(P::counters(&self.shared.stats).2);
        }
        for reply in handled.replies {
            if !self.send_text(reply).await {
                return false;
            }
        }
        if handled.snapshots.is_empty() {
            return true;
        }
        let frames: Vec<String> = {
            let model = self.shared.model();
            self.since_step = model.steps();
            let now = now_ms();
            handled
                .snapshots
                .iter()
                .map(|&i| P::snapshot(&model, i, now))
                .collect()
        };
        for frame in frames {
            if !self.send_data(Utf8Bytes::from(frame)).await {
                return false;
            }
        }
        true
    }

    /// Pushes what traded; `Some(true)` when something was sent.
    async fn push(&mut self, tick: &SpotTick) -> Option<bool> {
        if tick.step <= self.since_step {
            return Some(false);
        }
        let mut sent = false;
        for (i, frame) in &tick.frames {
            if self.proto.wants(*i) {
                if !self.send_data(frame.clone()).await {
                    return None;
                }
                sent = true;
            }
        }
        Some(sent)
    }
}

async fn session<P: TextProtocol>(socket: WebSocket, shared: Arc<Shared>) {
    let (total, open, _) = P::counters(&shared.stats);
    let _open = OpenGuard::new(total, open);
    let number = CONNECTIONS.fetch_add(1, Ordering::Relaxed) + 1;
    let proto = P::open(&shared.model(), number);
    let mut conn = Conn {
        socket,
        shared: &shared,
        faults: shared.faults.watch(P::VENUE),
        proto,
        since_step: 0,
    };
    let idle = P::idle(&shared.opts);
    let mut rx = P::channel(&shared).subscribe();
    let mut deadline = Instant::now() + idle;
    loop {
        if conn.faults.dropped() {
            return;
        }
        if conn.faults.silent() {
            if !conn.faults.wait_while_silent(&shared.cancel).await {
                return;
            }
            rx = rx.resubscribe();
            deadline = Instant::now() + idle;
            continue;
        }
        tokio::select! {
            () = shared.cancel.cancelled() => {
                let frame = CloseFrame { code: CLOSE_GOING_AWAY, reason: "".into() };
                let _ = conn.socket.send(Message::Close(Some(frame))).await;
                return;
            }
            () = conn.faults.changed() => {}
            // Idle: drop the TCP connection without a close frame.
            () = tokio::time::sleep_until(deadline) => return,
            msg = conn.socket.recv() => match msg {
                Some(Ok(Message::Text(text))) => {
                    deadline = Instant::now() + idle;
                    if !conn.client_text(text.as_str()).await {
                        return;
                    }
                }
                // Protocol pings are answered by the WebSocket layer; they count as activity.
                Some(Ok(Message::Binary(_) | Message::Ping(_) | Message::Pong(_))) => {
                    deadline = Instant::now() + idle;
                }
                Some(Ok(Message::Close(_)) | Err(_)) | None => return,
            },
            tick = rx.recv() => match tick {
                Ok(tick) => match conn.push(&tick).await {
                    Some(true) => deadline = Instant::now() + idle,
                    Some(false) => {}
                    None => return,
                },
                Err(RecvError::Closed) => return,
                // A slow reader skips ahead, as a real venue's dropped frames would.
                Err(RecvError::Lagged(_)) => {}
            },
        }
    }
}
