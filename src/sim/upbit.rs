//! Simulated Upbit: the ticker WebSocket session and the REST market list.
//!
//! Behaviour follows `exchanges.md` §1 and §14: no acknowledgement of a subscribe, the first frame
//! per code is `SNAPSHOT` then `REALTIME`, unknown or lower-case codes are silently ignored, a new
//! subscribe replaces the old one, every server frame is a **binary** frame of UTF-8 JSON, text
//! `PING` is answered with `{"status":"UP"}` (and then every 10 s), errors are an error frame then
//! close 1000, and a client that sends nothing for `upbit_idle_close` loses the TCP connection
//! without a close frame (the 1006 observed at ~60 s).
//!
//! Bithumb's v1 WebSocket is the same protocol with its own quirks; it runs this session with a
//! [`Dialect`] of its own (`bithumb.rs`).

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde_json::json;
use tokio::sync::broadcast;
use tokio::sync::broadcast::error::RecvError;
use tokio::time::{Instant, Interval};

use super::clock::now_ms;
use super::driver::UpbitTick;
use super::faults::{FaultWatch, SimVenue, garbage_binary};
use super::market::MarketModel;
use super::ticker::UpbitMarket;
use super::upbit_wire::{
    Format, Subscribe, SubscribeError, market_list, parse_subscribe, ticker_frame,
};
use super::{OpenGuard, Shared, SimOptions, Stats};

/// After a text `PING`, Upbit keeps sending `{"status":"UP"}` at this interval.
const STATUS_INTERVAL: Duration = Duration::from_secs(10);
/// 855 codes fit in one real subscribe frame (~15 KB); anything far beyond is refused.
const MAX_MESSAGE_BYTES: usize = 256 * 1024;
const STATUS_UP: &str = r#"{"status":"UP"}"#;
const CLOSE_NORMAL: u16 = 1000;
const CLOSE_GOING_AWAY: u16 = 1001;

/// What differs between Upbit and the venues that copy its protocol.
pub(crate) struct Dialect {
    pub venue: SimVenue,
    pub tx: fn(&Shared) -> &broadcast::Sender<Arc<UpbitTick>>,
    pub markets: fn(&MarketModel) -> &[UpbitMarket],
    /// `(market, format, snapshot, now_ms)` → one ticker message.
    pub frame: fn(&UpbitMarket, Format, bool, u64) -> String,
    pub parse: fn(&[u8]) -> Result<Subscribe, SubscribeError>,
    pub error_frame: fn(&SubscribeError) -> String,
    pub idle: fn(&SimOptions) -> Duration,
    /// `(connections, open)` counters.
    pub counters: fn(&Stats) -> (&AtomicU64, &AtomicU64),
}

const UPBIT: Dialect = Dialect {
    venue: SimVenue::Upbit,
    tx: |shared| &shared.upbit_tx,
    markets: |model| &model.upbit,
    frame: ticker_frame,
    parse: parse_subscribe,
    error_frame: SubscribeError::frame,
    idle: |opts| opts.upbit_idle_close,
    counters: |stats| (&stats.upbit_connections, &stats.upbit_open),
};

/// `GET /upbit/websocket/v1`
pub(crate) async fn websocket(ws: WebSocketUpgrade, State(shared): State<Arc<Shared>>) -> Response {
    upgrade(ws, shared, &UPBIT)
}

/// Upgrades to a ticker session speaking `dialect`.
pub(crate) fn upgrade(
    ws: WebSocketUpgrade,
    shared: Arc<Shared>,
    dialect: &'static Dialect,
) -> Response {
    ws.max_message_size(MAX_MESSAGE_BYTES)
        .max_frame_size(MAX_MESSAGE_BYTES)
        .read_buffer_size(8 * 1024)
        .on_upgrade(move |socket| session(socket, shared, dialect))
}

/// What the client currently receives.
struct Active {
    /// Per model market: subscribed.
    markets: Vec<bool>,
    format: Format,
    realtime: bool,
    /// Model step the snapshots showed; older ticks still queued are skipped, so a client never
    /// sees a REALTIME frame that predates its SNAPSHOT.
    since_step: u64,
}

struct Conn<'a> {
    socket: WebSocket,
    shared: &'a Shared,
    dialect: &'static Dialect,
    faults: FaultWatch,
}

enum Flow {
    Continue,
    Stop,
}

impl Conn<'_> {
    /// Sends one data frame (binary) unless the endpoint has "moved" (then nothing is sent).
    async fn send_frame(&mut self, frame: Bytes) -> Flow {
        if self.faults.withhold_data() {
            return Flow::Continue;
        }
        self.send_any(frame).await
    }

    /// Sends one frame (data or `{"status":"UP"}`), garbled when the malformed knob says so.
    async fn send_any(&mut self, frame: Bytes) -> Flow {
        Stats::bump(&self.shared.stats.frames);
        let payload = match self.faults.garble_next() {
            Some(kind) => {
                Stats::bump(&self.shared.stats.malformed_frames);
                let text = String::from_utf8_lossy(&frame);
                Bytes::from(garbage_binary(&text, kind))
            }
            None => frame,
        };
        match self.socket.send(Message::Binary(payload)).await {
            Ok(()) => Flow::Continue,
            Err(_) => Flow::Stop,
        }
    }

    async fn close(&mut self, code: u16) {
        let frame = CloseFrame {
            code,
            reason: "".into(),
        };
        let _ = self.socket.send(Message::Close(Some(frame))).await;
    }

    /// Applies a subscribe: replaces the subscription, then sends the snapshots.
    async fn subscribe(&mut self, req: Subscribe) -> (Flow, Active) {
        let mut active = Active {
            markets: Vec::new(),
            format: req.format,
            realtime: req.realtime,
            since_step: 0,
        };
        let snapshots: Vec<Bytes> = {
            let model = self.shared.model();
            let markets = (self.dialect.markets)(&model);
            active.since_step = model.steps();
            active.markets = markets
                .iter()
                .map(|m| req.codes.contains(&m.code))
                .collect();
            let now = now_ms();
            markets
                .iter()
                .zip(&active.markets)
                .filter(|(_, on)| **on && req.snapshot)
                .map(|(m, _)| Bytes::from((self.dialect.frame)(m, req.format, true, now)))
                .collect()
        };
        for frame in snapshots {
            if let Flow::Stop = self.send_frame(frame).await {
                return (Flow::Stop, active);
            }
        }
        (Flow::Continue, active)
    }

    async fn realtime(&mut self, tick: &UpbitTick, active: &Active) -> Flow {
        if tick.step <= active.since_step {
            return Flow::Continue;
        }
        for f in &tick.frames {
            if !active.markets.get(f.market).copied().unwrap_or(false) {
                continue;
            }
            let frame = match active.format {
                Format::Default => f.default.clone(),
                Format::Simple => f.simple.clone(),
                Format::JsonList => list(&f.default),
                Format::SimpleList => list(&f.simple),
            };
            if let Flow::Stop = self.send_frame(frame).await {
                return Flow::Stop;
            }
        }
        Flow::Continue
    }
}

fn list(object: &Bytes) -> Bytes {
    let mut v = Vec::with_capacity(object.len() + 2);
    v.push(b'[');
    v.extend_from_slice(object);
    v.push(b']');
    Bytes::from(v)
}

async fn session(socket: WebSocket, shared: Arc<Shared>, dialect: &'static Dialect) {
    let (total, open) = (dialect.counters)(&shared.stats);
    let _open = OpenGuard::new(total, open);
    let mut conn = Conn {
        socket,
        shared: &shared,
        dialect,
        faults: shared.faults.watch(dialect.venue),
    };
    let idle = (dialect.idle)(&shared.opts);
    let mut rx = (dialect.tx)(&shared).subscribe();
    let mut active: Option<Active> = None;
    let mut status_timer: Option<Interval> = None;
    let mut deadline = Instant::now() + idle;
    loop {
        if conn.faults.dropped() {
            return;
        }
        if conn.faults.silent() {
            if !conn.faults.wait_while_silent(&shared.cancel).await {
                return;
            }
            // Resume live: skip what was published meanwhile and restart the idle clock.
            rx = rx.resubscribe();
            deadline = Instant::now() + idle;
            continue;
        }
        let realtime = active.as_ref().is_some_and(|a| a.realtime);
        let flow = tokio::select! {
            () = shared.cancel.cancelled() => {
                conn.close(CLOSE_GOING_AWAY).await;
                Flow::Stop
            }
            () = conn.faults.changed() => Flow::Continue,
            // Idle: drop the TCP connection without a close frame.
            () = tokio::time::sleep_until(deadline) => Flow::Stop,
            msg = conn.socket.recv() => match msg {
                Some(Ok(msg)) => {
                    deadline = Instant::now() + idle;
                    handle_client(&mut conn, msg, &mut active, &mut status_timer).await
                }
                None | Some(Err(_)) => Flow::Stop,
            },
            tick = rx.recv(), if realtime => match (tick, &active) {
                (Ok(tick), Some(a)) => conn.realtime(&tick, a).await,
                (Err(RecvError::Closed), _) => Flow::Stop,
                // A slow reader skips ahead, as a real venue's dropped frames would.
                _ => Flow::Continue,
            },
            () = tick_status(&mut status_timer) => conn.send_any(Bytes::from_static(STATUS_UP.as_bytes())).await,
        };
        if let Flow::Stop = flow {
            return;
        }
    }
}

async fn tick_status(status: &mut Option<Interval>) {
    match status {
        Some(interval) => {
            interval.tick().await;
        }
        None => std::future::pending().await,
    }
}

async fn handle_client(
    conn: &mut Conn<'_>,
    msg: Message,
    active: &mut Option<Active>,
    status: &mut Option<Interval>,
) -> Flow {
    let payload: Bytes = match msg {
        Message::Text(text) if text.as_str().trim() == "PING" => {
            if status.is_none() {
                let start = Instant::now() + STATUS_INTERVAL;
                *status = Some(tokio::time::interval_at(start, STATUS_INTERVAL));
            }
            return conn
                .send_any(Bytes::from_static(STATUS_UP.as_bytes()))
                .await;
        }
        Message::Text(text) => Bytes::copy_from_slice(text.as_str().as_bytes()),
        Message::Binary(bytes) => bytes,
        // Pings are answered by the WebSocket layer; they only refresh the idle clock.
        Message::Ping(_) | Message::Pong(_) => return Flow::Continue,
        Message::Close(_) => return Flow::Stop,
    };
    match (conn.dialect.parse)(&payload) {
        Ok(req) => {
            let (flow, next) = conn.subscribe(req).await;
            *active = Some(next);
            flow
        }
        Err(e) => {
            let frame = Bytes::from((conn.dialect.error_frame)(&e));
            let _ = conn.socket.send(Message::Binary(frame)).await;
            conn.close(CLOSE_NORMAL).await;
            Flow::Stop
        }
    }
}

/// `GET /upbit/v1/market/all[?is_details=true]`
pub(crate) async fn market_all(
    State(shared): State<Arc<Shared>>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    if let Err(status) = shared
        .faults
        .rest_gate(SimVenue::Upbit, &shared.cancel)
        .await
    {
        return rest_error(status);
    }
    let details = query.get("is_details").is_some_and(|v| v == "true");
    let body = market_list(&shared.model().upbit, details);
    shared.faults.rest_body(SimVenue::Upbit, body)
}

/// Unrouted Upbit paths: Upbit's gateway answers with a string `name` (`exchanges.md` §1).
pub(crate) async fn not_found() -> Response {
    let body =
        json!({"error": {"name": "not_found", "message": "no Route matched with those values"}});
    (StatusCode::NOT_FOUND, axum::Json(body)).into_response()
}

fn rest_error(status: StatusCode) -> Response {
    let body = json!({"error": {"name": status.as_u16(), "message": "simulated fault"}});
    (status, axum::Json(body)).into_response()
}
