//! The WebSocket session shared by the JSON-over-text venues (Bybit spot and linear, OKX public,
//! BitMEX): requests in, acknowledgements, ticker pushes and liquidation pushes out.
//!
//! A venue's [`TextProtocol`] answers each client message and says which of its symbols (and which
//! liquidation streams) the client receives; this module does the rest the same way for all:
//! fault knobs, the idle cut, per-connection ids, the greeting some venues send unasked (BitMEX's
//! welcome), and the broadcasts of what traded ([`SpotTick`]) and what liquidated ([`LiqTick`]). A
//! connection that neither sends anything nor receives data for the venue's idle limit loses its
//! TCP connection without a close frame (clients keep it alive with the venue's ping). Only data
//! pushes (tickers, liquidations, table partials) count as frames for the `malformed_every` knob;
//! acknowledgements and pongs stay intact. A silent venue sends nothing at all, pongs included,
//! and does not read the socket (which would flush automatic pong frames).

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

/// Liquidation (and other event-stream) frames of one model step or batch, serialised once.
#[derive(Debug)]
pub(crate) struct LiqTick {
    /// The model step when the frames were built.
    pub step: u64,
    pub frames: Vec<LiqFrame>,
}

/// One liquidation-stream frame.
#[derive(Debug)]
pub(crate) struct LiqFrame {
    /// What a subscription selects it by: a contract index (Bybit), 0 (OKX's one channel), or a
    /// table (BitMEX: 0 `liquidation`, 1 `instrument`).
    pub key: usize,
    pub text: Utf8Bytes,
    /// Liquidations it reports for the first time.
    pub new: u32,
    /// Liquidations it reports again (OKX late re-delivery).
    pub repeated: u32,
}

/// What a venue answers to one client message.
#[derive(Debug, Default)]
pub(crate) struct Handled {
    /// Text frames to send back, in order.
    pub replies: Vec<String>,
    /// Symbols whose current ticker to push now (new subscriptions).
    pub snapshots: Vec<usize>,
    /// Liquidation-stream keys whose current state to push now (BitMEX table partials); frames of
    /// that key built at or before the snapshot's step are then skipped.
    pub liq_snapshots: Vec<usize>,
    /// The message was the venue's ping.
    pub ping: bool,
}

/// One text venue's protocol.
pub(crate) trait TextProtocol: Send + Sized + 'static {
    const VENUE: SimVenue;
    /// Ticker pushes, if the venue has any.
    fn channel(shared: &Shared) -> Option<&broadcast::Sender<Arc<SpotTick>>>;
    /// Liquidation (event-stream) pushes, if the venue has any.
    fn liq_channel(_shared: &Shared) -> Option<&broadcast::Sender<Arc<LiqTick>>> {
        None
    }
    /// `(connections, open, pings)` counters.
    fn counters(stats: &Stats) -> (&AtomicU64, &AtomicU64, &AtomicU64);
    fn idle(opts: &SimOptions) -> Duration;
    /// A new connection's state; `conn` is a process-wide connection number, `query` the
    /// upgrade request's raw query string.
    fn open(model: &MarketModel, conn: u64, query: &str) -> Self;
    /// What the venue sends unasked right after the upgrade (BitMEX: welcome, URL subscriptions).
    fn on_open(&mut self, _model: &MarketModel, _now_ms: u64) -> Handled {
        Handled::default()
    }
    /// Answers one text message from the client.
    fn handle(&mut self, text: &str) -> Handled;
    /// The client receives symbol `index`.
    fn wants(&self, index: usize) -> bool;
    /// The push frame of symbol `index` now.
    fn snapshot(model: &MarketModel, index: usize, now_ms: u64) -> String;
    /// The client receives liquidation frames of `key`.
    fn wants_liq(&self, _key: usize) -> bool {
        false
    }
    /// The current state of liquidation stream `key` (a table partial).
    fn liq_snapshot(_model: &MarketModel, _key: usize, _now_ms: u64) -> (String, u32) {
        (String::new(), 0)
    }
    /// Counts a liquidation frame written to the client.
    fn count_liq(_stats: &Stats, _new: u32, _repeated: u32) {}
}

/// Upgrades to a session of protocol `P`.
pub(crate) fn upgrade<P: TextProtocol>(ws: WebSocketUpgrade, shared: Arc<Shared>) -> Response {
    upgrade_with_query::<P>(ws, shared, String::new())
}

/// Upgrades to a session of protocol `P` that reads the request's query string.
pub(crate) fn upgrade_with_query<P: TextProtocol>(
    ws: WebSocketUpgrade,
    shared: Arc<Shared>,
    query: String,
) -> Response {
    ws.max_message_size(MAX_MESSAGE_BYTES)
        .max_frame_size(MAX_MESSAGE_BYTES)
        .read_buffer_size(8 * 1024)
        .on_upgrade(move |socket| session::<P>(socket, shared, query))
}

/// Next item of an optional broadcast; never resolves without one.
async fn recv_opt<T: Clone>(rx: &mut Option<broadcast::Receiver<T>>) -> Result<T, RecvError> {
    match rx {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

struct Conn<'a, P> {
    socket: WebSocket,
    shared: &'a Shared,
    faults: FaultWatch,
    proto: P,
    /// Ticks at or before this step predate the last snapshots and are skipped.
    since_step: u64,
    /// Per liquidation key: frames built at or before this step predate its snapshot.
    liq_since: Vec<(usize, u64)>,
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
        if self.faults.withhold_data() {
            return true;
        }
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
        self.answer(handled).await
    }

    /// Sends replies, ticker snapshots and liquidation snapshots, in that order.
    async fn answer(&mut self, handled: Handled) -> bool {
        if handled.ping {
            Stats::bump(P::counters(&self.shared.stats).2);
        }
        for reply in handled.replies {
            if !self.send_text(reply).await {
                return false;
            }
        }
        if handled.snapshots.is_empty() && handled.liq_snapshots.is_empty() {
            return true;
        }
        let (frames, liq_frames) = {
            let model = self.shared.model();
            let step = model.steps();
            let now = now_ms();
            if !handled.snapshots.is_empty() {
                self.since_step = step;
            }
            for &key in &handled.liq_snapshots {
                self.liq_since.retain(|(k, _)| *k != key);
                self.liq_since.push((key, step));
            }
            let frames: Vec<String> = handled
                .snapshots
                .iter()
                .map(|&i| P::snapshot(&model, i, now))
                .collect();
            let liq_frames: Vec<(String, u32)> = handled
                .liq_snapshots
                .iter()
                .map(|&k| P::liq_snapshot(&model, k, now))
                .collect();
            (frames, liq_frames)
        };
        for frame in frames {
            if !self.send_data(Utf8Bytes::from(frame)).await {
                return false;
            }
        }
        for (frame, rows) in liq_frames {
            if !self.send_data(Utf8Bytes::from(frame)).await {
                return false;
            }
            P::count_liq(&self.shared.stats, rows, 0);
        }
        true
    }

    /// Pushes the liquidation frames the client receives; `Some(true)` when something was sent.
    async fn push_liq(&mut self, tick: &LiqTick) -> Option<bool> {
        let mut sent = false;
        for frame in &tick.frames {
            let stale = self
                .liq_since
                .iter()
                .any(|&(k, step)| k == frame.key && tick.step <= step);
            if stale || !self.proto.wants_liq(frame.key) {
                continue;
            }
            if !self.send_data(frame.text.clone()).await {
                return None;
            }
            P::count_liq(&self.shared.stats, frame.new, frame.repeated);
            sent = true;
        }
        Some(sent)
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

async fn session<P: TextProtocol>(socket: WebSocket, shared: Arc<Shared>, query: String) {
    let (total, open, _) = P::counters(&shared.stats);
    let _open = OpenGuard::new(total, open);
    let number = CONNECTIONS.fetch_add(1, Ordering::Relaxed) + 1;
    let (proto, greeting) = {
        let model = shared.model();
        let mut proto = P::open(&model, number, &query);
        let greeting = proto.on_open(&model, now_ms());
        (proto, greeting)
    };
    let mut conn = Conn {
        socket,
        shared: &shared,
        faults: shared.faults.watch(P::VENUE),
        proto,
        since_step: 0,
        liq_since: Vec::new(),
    };
    let idle = P::idle(&shared.opts);
    let mut rx = P::channel(&shared).map(broadcast::Sender::subscribe);
    let mut liq_rx = P::liq_channel(&shared).map(broadcast::Sender::subscribe);
    let mut deadline = Instant::now() + idle;
    let mut greeting = Some(greeting);
    loop {
        if conn.faults.dropped() {
            return;
        }
        if conn.faults.silent() {
            if !conn.faults.wait_while_silent(&shared.cancel).await {
                return;
            }
            rx = rx.map(|r| r.resubscribe());
            liq_rx = liq_rx.map(|r| r.resubscribe());
            deadline = Instant::now() + idle;
            continue;
        }
        if let Some(hello) = greeting.take()
            && !conn.answer(hello).await
        {
            return;
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
            tick = recv_opt(&mut rx) => match tick {
                Ok(tick) => match conn.push(&tick).await {
                    Some(true) => deadline = Instant::now() + idle,
                    Some(false) => {}
                    None => return,
                },
                Err(RecvError::Closed) => return,
                // A slow reader skips ahead, as a real venue's dropped frames would.
                Err(RecvError::Lagged(_)) => {}
            },
            tick = recv_opt(&mut liq_rx) => match tick {
                Ok(tick) => match conn.push_liq(&tick).await {
                    Some(true) => deadline = Instant::now() + idle,
                    Some(false) => {}
                    None => return,
                },
                Err(RecvError::Closed) => return,
                Err(RecvError::Lagged(_)) => {}
            },
        }
    }
}
