//! Simulated Binance USD-M market streams (`exchanges.md` §4, §14, §16): liquidations and mark
//! prices on the `/market` route, and the legacy route that went silent in 2026.
//!
//! - `WS /binance-futures/market/stream?streams=a/b` (combined, `{"stream","data"}`),
//!   `WS /binance-futures/market/ws/<stream>[/<stream>…]` (raw) and `/market/ws` (streams by
//!   `SUBSCRIBE`; every live request of the spot simulator is answered the same way).
//! - `!forceOrder@arr` and `<symbol>@forceOrder`: one `forceOrder` event per frame, **sampled** —
//!   at most the latest liquidation per symbol per 1,000 ms is pushed, the rest are dropped, as on
//!   the real venue.
//! - `!markPrice@arr@1s` (every second) and `!markPrice@arr` (every 3 s): the array of
//!   `markPriceUpdate` for every symbol — the canary that proves a quiet socket is alive;
//!   `<symbol>@markPrice@1s` / `<symbol>@markPrice` the single object.
//! - Server pings every `binance_futures_ping_interval` (real: 3 min); a client that leaves one
//!   unanswered for 10/3 of the interval (real: 10 min) is dropped.
//! - Legacy `WS /binance-futures/ws/<stream>`, `/binance-futures/ws` and
//!   `/binance-futures/stream?streams=…`: the connection is accepted, live requests are answered,
//!   and then **nothing** is sent — no data, no pings — like `fstream.binance.com/ws/!forceOrder@arr`
//!   since 2026-04-23.
//!
//! Symbols are the model's coins as `XXXUSDT`, with `1000PEPEUSDT` and `1000SHIBUSDT` for the
//! tiny-price coins (price per 1,000 coins).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, Query, State};
use axum::response::Response;
use bytes::Bytes;
use tokio::sync::broadcast::error::RecvError;
use tokio::time::{Instant, MissedTickBehavior};

use super::binance::{Subscriptions, handle_request};
use super::clock::now_ms;
use super::faults::{FaultWatch, SimVenue, garbage_text};
use super::market::LiqExchange;
use super::{OpenGuard, Shared, Stats};

pub(crate) const FORCE_ORDER_ALL: &str = "!forceOrder@arr";
pub(crate) const MARK_ALL_1S: &str = "!markPrice@arr@1s";
pub(crate) const MARK_ALL: &str = "!markPrice@arr";
const MAX_MESSAGE_BYTES: usize = 64 * 1024;
/// The legacy route never pings: this only bounds its timer.
const NEVER: Duration = Duration::from_secs(86_400);

/// One push of the USD-M market streams, serialised once (raw events; the session wraps them).
#[derive(Debug)]
pub(crate) struct FuturesPush {
    /// `(contract, forceOrder event)`: at most one per symbol, the latest of the last second.
    pub force_orders: Vec<(usize, String)>,
    /// `markPriceUpdate` per contract.
    pub marks: Vec<String>,
    /// `[markPriceUpdate, …]` for every contract.
    pub mark_array: String,
    /// This push also serves the 3-second mark-price streams.
    pub mark_3s: bool,
}

fn split_streams(list: &str) -> Vec<String> {
    list.split('/')
        .filter(|n| !n.is_empty())
        .map(str::to_owned)
        .collect()
}

/// `GET /binance-futures/market/stream?streams=a/b`
pub(crate) async fn market_combined(
    ws: WebSocketUpgrade,
    State(shared): State<Arc<Shared>>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let streams = query
        .get("streams")
        .map(|s| split_streams(s))
        .unwrap_or_default();
    upgrade(ws, shared, streams, true, false)
}

/// `GET /binance-futures/market/ws/<stream>[/<stream>…]`
pub(crate) async fn market_raw(
    ws: WebSocketUpgrade,
    State(shared): State<Arc<Shared>>,
    Path(streams): Path<String>,
) -> Response {
    upgrade(ws, shared, split_streams(&streams), false, false)
}

/// `GET /binance-futures/market/ws`
pub(crate) async fn market_bare(
    ws: WebSocketUpgrade,
    State(shared): State<Arc<Shared>>,
) -> Response {
    upgrade(ws, shared, Vec::new(), false, false)
}

/// `GET /binance-futures/ws/<stream>`: connected, silent.
pub(crate) async fn legacy_raw(
    ws: WebSocketUpgrade,
    State(shared): State<Arc<Shared>>,
    Path(streams): Path<String>,
) -> Response {
    upgrade(ws, shared, split_streams(&streams), false, true)
}

/// `GET /binance-futures/ws`: connected, silent.
pub(crate) async fn legacy_bare(
    ws: WebSocketUpgrade,
    State(shared): State<Arc<Shared>>,
) -> Response {
    upgrade(ws, shared, Vec::new(), false, true)
}

/// `GET /binance-futures/stream?streams=…`: connected, silent.
pub(crate) async fn legacy_combined(
    ws: WebSocketUpgrade,
    State(shared): State<Arc<Shared>>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let streams = query
        .get("streams")
        .map(|s| split_streams(s))
        .unwrap_or_default();
    upgrade(ws, shared, streams, true, true)
}

fn upgrade(
    ws: WebSocketUpgrade,
    shared: Arc<Shared>,
    streams: Vec<String>,
    combined: bool,
    legacy: bool,
) -> Response {
    ws.max_message_size(MAX_MESSAGE_BYTES)
        .max_frame_size(MAX_MESSAGE_BYTES)
        .read_buffer_size(8 * 1024)
        .on_upgrade(move |socket| {
            let subs = Subscriptions { streams, combined };
            session(socket, shared, subs, legacy)
        })
}

async fn session(
    mut socket: WebSocket,
    shared: Arc<Shared>,
    mut subs: Subscriptions,
    legacy: bool,
) {
    let stats = &shared.stats;
    let _open = OpenGuard::new(
        &stats.binance_futures_connections,
        &stats.binance_futures_open,
    );
    let mut faults = shared.faults.watch(SimVenue::BinanceFutures);
    let mut rx = shared.binance_futures_tx.subscribe();
    let symbols: HashMap<String, usize> = shared
        .model()
        .liquidation_contracts(LiqExchange::Binance)
        .iter()
        .enumerate()
        .map(|(i, c)| (c.symbol.to_ascii_lowercase(), i))
        .collect();
    let interval = if legacy {
        NEVER
    } else {
        shared
            .opts
            .binance_futures_ping_interval
            .max(Duration::from_millis(10))
    };
    let pong_timeout = interval.mul_f64(10.0 / 3.0);
    let mut ping = tokio::time::interval_at(Instant::now() + interval, interval);
    ping.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut awaiting: Option<(Bytes, Instant)> = None;
    loop {
        if faults.dropped() {
            return;
        }
        if faults.silent() {
            if !faults.wait_while_silent(&shared.cancel).await {
                return;
            }
            rx = rx.resubscribe();
            ping.reset();
            awaiting = None;
            continue;
        }
        tokio::select! {
            () = shared.cancel.cancelled() => {
                let frame = CloseFrame { code: 1001, reason: "".into() };
                let _ = socket.send(Message::Close(Some(frame))).await;
                return;
            }
            () = faults.changed() => {}
            _ = ping.tick(), if !legacy => {
                if awaiting.as_ref().is_some_and(|(_, since)| since.elapsed() >= pong_timeout) {
                    return;
                }
                let payload = Bytes::from(now_ms().to_string());
                let since = awaiting.map_or_else(Instant::now, |(_, since)| since);
                awaiting = Some((payload.clone(), since));
                Stats::bump(&stats.binance_futures_pings);
                if socket.send(Message::Ping(payload)).await.is_err() {
                    return;
                }
            }
            msg = socket.recv() => match msg {
                Some(Ok(Message::Text(text))) => {
                    let reply = handle_request(text.as_str(), &mut subs);
                    if socket.send(Message::Text(reply.into())).await.is_err() {
                        return;
                    }
                }
                Some(Ok(Message::Pong(payload))) => {
                    if awaiting.as_ref().is_some_and(|(p, _)| *p == payload) {
                        awaiting = None;
                        Stats::bump(&stats.binance_futures_pongs);
                    }
                }
                Some(Ok(Message::Close(_)) | Err(_)) | None => return,
                Some(Ok(Message::Binary(_) | Message::Ping(_))) => {}
            },
            push = rx.recv() => match push {
                Ok(push) if !legacy => {
                    let mut out = Out { socket: &mut socket, faults: &mut faults, shared: &shared };
                    if out.push(&push, &subs, &symbols).await.is_err() {
                        return;
                    }
                }
                Ok(_) | Err(RecvError::Lagged(_)) => {}
                Err(RecvError::Closed) => return,
            },
        }
    }
}

struct Out<'a> {
    socket: &'a mut WebSocket,
    faults: &'a mut FaultWatch,
    shared: &'a Shared,
}

impl Out<'_> {
    async fn send(&mut self, stream: &str, data: &str, combined: bool) -> Result<(), axum::Error> {
        if self.faults.withhold_data() {
            return Ok(());
        }
        let frame = if combined {
            format!("{{\"stream\":\"{stream}\",\"data\":{data}}}")
        } else {
            data.to_owned()
        };
        Stats::bump(&self.shared.stats.frames);
        let frame = match self.faults.garble_next() {
            Some(kind) => {
                Stats::bump(&self.shared.stats.malformed_frames);
                garbage_text(&frame, kind)
            }
            None => frame,
        };
        self.socket
            .send(Message::Text(Utf8Bytes::from(frame)))
            .await
    }

    async fn push(
        &mut self,
        push: &FuturesPush,
        subs: &Subscriptions,
        symbols: &HashMap<String, usize>,
    ) -> Result<(), axum::Error> {
        let sent_counter = &self.shared.stats.liquidations_sent[LiqExchange::Binance.index()];
        for stream in &subs.streams {
            let name = stream.as_str();
            match name {
                FORCE_ORDER_ALL => {
                    for (_, event) in &push.force_orders {
                        self.send(name, event, subs.combined).await?;
                        Stats::bump(sent_counter);
                    }
                }
                MARK_ALL_1S => self.send(name, &push.mark_array, subs.combined).await?,
                MARK_ALL if push.mark_3s => {
                    self.send(name, &push.mark_array, subs.combined).await?;
                }
                _ => {
                    let Some((symbol, kind)) = name.split_once('@') else {
                        continue;
                    };
                    let Some(&index) = symbols.get(symbol) else {
                        continue;
                    };
                    match kind {
                        "forceOrder" => {
                            for (_, event) in push.force_orders.iter().filter(|(i, _)| *i == index)
                            {
                                self.send(name, event, subs.combined).await?;
                                Stats::bump(sent_counter);
                            }
                        }
                        "markPrice@1s" => {
                            if let Some(mark) = push.marks.get(index) {
                                self.send(name, mark, subs.combined).await?;
                            }
                        }
                        "markPrice" if push.mark_3s => {
                            if let Some(mark) = push.marks.get(index) {
                                self.send(name, mark, subs.combined).await?;
                            }
                        }
                        // Other streams: connected, silent (not simulated).
                        _ => {}
                    }
                }
            }
        }
        Ok(())
    }
}
