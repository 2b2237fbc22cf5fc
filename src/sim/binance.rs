//! Simulated Binance spot market streams: `!ticker_1d@arr` and `!miniTicker@arr`.
//!
//! Behaviour follows `exchanges.md` §3 and Binance's `web-socket-streams.md`: raw streams at
//! `/ws/<stream>` send the bare array, combined streams at `/stream?streams=a/b` wrap it as
//! `{"stream":..,"data":[..]}`; arrays carry only the symbols that changed since the last push;
//! prices and volumes are strings; the server pings (with a payload) every
//! `binance_ping_interval` and drops a client that leaves a ping unanswered for three intervals;
//! live `SUBSCRIBE`/`UNSUBSCRIBE`/`LIST_SUBSCRIPTIONS`/`SET_PROPERTY`/`GET_PROPERTY` requests are
//! answered. The retired `!ticker@arr` is accepted and sends nothing, like the dead real stream.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, Query, State};
use axum::response::Response;
use bytes::Bytes;
use serde_json::{Value, json};
use tokio::sync::broadcast::error::RecvError;
use tokio::time::{Instant, MissedTickBehavior};

use super::clock::now_ms;
use super::driver::BinancePush;
use super::faults::{FaultWatch, SimVenue, garbage_text};
use super::{OpenGuard, Shared, Stats};

/// The primary all-market stream (rolling 1-day window).
pub(crate) const TICKER_1D: &str = "!ticker_1d@arr";
/// The fallback all-market stream.
pub(crate) const MINI_TICKER: &str = "!miniTicker@arr";
const MAX_MESSAGE_BYTES: usize = 64 * 1024;
/// Binance's limit of streams per connection.
const MAX_STREAMS: usize = 1024;
/// No pong for this many ping intervals ⇒ disconnect (20 s pings, 1 min limit on the real venue).
const PONG_GRACE_INTERVALS: u32 = 3;

/// `GET /binance/stream?streams=a/b` (combined).
pub(crate) async fn combined(
    ws: WebSocketUpgrade,
    State(shared): State<Arc<Shared>>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let streams = query
        .get("streams")
        .map(|s| {
            s.split('/')
                .filter(|n| !n.is_empty())
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    upgrade(ws, shared, streams, true)
}

/// `GET /binance/ws/<stream>` (raw).
pub(crate) async fn raw(
    ws: WebSocketUpgrade,
    State(shared): State<Arc<Shared>>,
    Path(stream): Path<String>,
) -> Response {
    upgrade(ws, shared, vec![stream], false)
}

/// `GET /binance/ws` (raw, streams come by `SUBSCRIBE`).
pub(crate) async fn bare(ws: WebSocketUpgrade, State(shared): State<Arc<Shared>>) -> Response {
    upgrade(ws, shared, Vec::new(), false)
}

fn upgrade(
    ws: WebSocketUpgrade,
    shared: Arc<Shared>,
    streams: Vec<String>,
    combined: bool,
) -> Response {
    ws.max_message_size(MAX_MESSAGE_BYTES)
        .max_frame_size(MAX_MESSAGE_BYTES)
        .read_buffer_size(8 * 1024)
        .on_upgrade(move |socket| session(socket, shared, Subscriptions { streams, combined }))
}

/// A connection's streams and whether frames are wrapped (`SET_PROPERTY combined`).
pub(crate) struct Subscriptions {
    pub streams: Vec<String>,
    pub combined: bool,
}

async fn session(mut socket: WebSocket, shared: Arc<Shared>, mut subs: Subscriptions) {
    let stats = &shared.stats;
    let _open = OpenGuard::new(&stats.binance_connections, &stats.binance_open);
    let mut faults = shared.faults.watch(SimVenue::Binance);
    let mut rx = shared.binance_tx.subscribe();
    let interval = shared
        .opts
        .binance_ping_interval
        .max(std::time::Duration::from_millis(10));
    let mut ping = tokio::time::interval_at(Instant::now() + interval, interval);
    ping.set_missed_tick_behavior(MissedTickBehavior::Delay);
    // Latest ping payload and when the oldest unanswered ping went out.
    let mut awaiting: Option<(Bytes, Instant)> = None;
    loop {
        if faults.dropped() {
            return;
        }
        if faults.take_shutdown() {
            send_shutdown(&mut socket, subs.combined).await;
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
                close(&mut socket, 1001).await;
                return;
            }
            () = faults.changed() => {}
            _ = ping.tick() => {
                if awaiting.as_ref().is_some_and(|(_, since)| since.elapsed() >= interval * PONG_GRACE_INTERVALS) {
                    return;
                }
                let payload = Bytes::from(now_ms().to_string());
                let since = awaiting.map_or_else(Instant::now, |(_, since)| since);
                awaiting = Some((payload.clone(), since));
                Stats::bump(&stats.binance_pings);
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
                        Stats::bump(&stats.binance_pongs);
                    }
                }
                Some(Ok(Message::Close(_)) | Err(_)) | None => return,
                Some(Ok(Message::Binary(_) | Message::Ping(_))) => {}
            },
            push = rx.recv() => match push {
                Ok(push) => {
                    if send_push(&mut socket, &mut faults, &shared, &push, &subs).await.is_err() {
                        return;
                    }
                }
                Err(RecvError::Closed) => return,
                Err(RecvError::Lagged(_)) => {}
            },
        }
    }
}

async fn send_push(
    socket: &mut WebSocket,
    faults: &mut FaultWatch,
    shared: &Shared,
    push: &BinancePush,
    subs: &Subscriptions,
) -> Result<(), axum::Error> {
    for stream in &subs.streams {
        let data = match stream.as_str() {
            TICKER_1D => &push.ticker_1d,
            MINI_TICKER => &push.mini,
            // The retired `!ticker@arr` and unknown names: connected, silent.
            _ => continue,
        };
        if faults.withhold_data() {
            continue;
        }
        let frame = if subs.combined {
            format!("{{\"stream\":\"{stream}\",\"data\":{data}}}")
        } else {
            data.clone()
        };
        Stats::bump(&shared.stats.frames);
        let frame = match faults.garble_next() {
            Some(kind) => {
                Stats::bump(&shared.stats.malformed_frames);
                garbage_text(&frame, kind)
            }
            None => frame,
        };
        socket.send(Message::Text(Utf8Bytes::from(frame))).await?;
    }
    Ok(())
}

async fn close(socket: &mut WebSocket, code: u16) {
    let frame = CloseFrame {
        code,
        reason: "".into(),
    };
    let _ = socket.send(Message::Close(Some(frame))).await;
}

/// `{"e":"serverShutdown","E":..}` (combined: stream `!serverShutdown`), then close 1000.
async fn send_shutdown(socket: &mut WebSocket, combined: bool) {
    let event = format!("{{\"e\":\"serverShutdown\",\"E\":{}}}", now_ms());
    let frame = if combined {
        format!("{{\"stream\":\"!serverShutdown\",\"data\":{event}}}")
    } else {
        event
    };
    let _ = socket.send(Message::Text(Utf8Bytes::from(frame))).await;
    close(socket, 1000).await;
}

/// Answers one live request (Binance's error texts from `web-socket-streams.md`).
pub(crate) fn handle_request(text: &str, subs: &mut Subscriptions) -> String {
    let request: Value = match serde_json::from_str(text) {
        Ok(v) => v,
        Err(e) => return json!({"code": 3, "msg": format!("Invalid JSON: {e}")}).to_string(),
    };
    let error = |code: u8, msg: &str| json!({"code": code, "msg": msg}).to_string();
    let Some(id) = request.get("id").filter(|id| id.is_u64()) else {
        return error(2, "Invalid request: request ID must be an unsigned integer");
    };
    let params: Vec<&Value> = match request.get("params") {
        Some(Value::Array(p)) => p.iter().collect(),
        None => Vec::new(),
        Some(_) => return error(2, "Invalid request: params must be an array"),
    };
    let names = || -> Option<Vec<String>> {
        params
            .iter()
            .map(|p| p.as_str().map(str::to_owned))
            .collect()
    };
    let result = match request.get("method").and_then(Value::as_str) {
        Some("SUBSCRIBE") => {
            let Some(names) = names() else {
                return error(2, "Invalid request: stream name must be a string");
            };
            let mut streams = subs.streams.clone();
            for n in names {
                if !streams.contains(&n) {
                    streams.push(n);
                }
            }
            if streams.len() > MAX_STREAMS {
                return error(2, "Invalid request: too many parameters");
            }
            subs.streams = streams;
            Value::Null
        }
        Some("UNSUBSCRIBE") => {
            let Some(names) = names() else {
                return error(2, "Invalid request: stream name must be a string");
            };
            subs.streams.retain(|s| !names.contains(s));
            Value::Null
        }
        Some("LIST_SUBSCRIPTIONS") => json!(subs.streams),
        Some("SET_PROPERTY") => match (params.first().and_then(|p| p.as_str()), params.get(1)) {
            (Some("combined"), Some(Value::Bool(on))) => {
                subs.combined = *on;
                Value::Null
            }
            (Some("combined"), _) => return error(1, "Invalid value type: expected Boolean"),
            _ => return json!({"code": 0, "msg": "Unknown property", "id": id}).to_string(),
        },
        Some("GET_PROPERTY") => match params.first().and_then(|p| p.as_str()) {
            Some("combined") => Value::Bool(subs.combined),
            _ => return json!({"code": 0, "msg": "Unknown property", "id": id}).to_string(),
        },
        other => {
            let variant = other.unwrap_or("");
            return error(
                2,
                &format!(
                    "Invalid request: unknown variant `{variant}`, expected one of `SUBSCRIBE`, \
                     `UNSUBSCRIBE`, `LIST_SUBSCRIPTIONS`, `SET_PROPERTY`, `GET_PROPERTY`"
                ),
            );
        }
    };
    // Binance puts `result` before `id`; serde_json would sort the keys.
    format!("{{\"result\":{result},\"id\":{id}}}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn subs() -> Subscriptions {
        Subscriptions {
            streams: vec![TICKER_1D.to_owned()],
            combined: true,
        }
    }

    #[test]
    fn live_requests_are_answered_like_binance() {
        let mut s = subs();
        let reply = handle_request(
            r#"{"method":"SUBSCRIBE","params":["!miniTicker@arr"],"id":1}"#,
            &mut s,
        );
        assert_eq!(reply, r#"{"result":null,"id":1}"#);
        assert_eq!(s.streams, [TICKER_1D, MINI_TICKER]);
        let reply = handle_request(r#"{"method":"LIST_SUBSCRIPTIONS","id":2}"#, &mut s);
        assert_eq!(
            reply,
            r#"{"result":["!ticker_1d@arr","!miniTicker@arr"],"id":2}"#
        );
        let reply = handle_request(
            r#"{"method":"UNSUBSCRIBE","params":["!ticker_1d@arr"],"id":3}"#,
            &mut s,
        );
        assert_eq!(reply, r#"{"result":null,"id":3}"#);
        assert_eq!(s.streams, [MINI_TICKER]);
        let reply = handle_request(
            r#"{"method":"SET_PROPERTY","params":["combined",false],"id":4}"#,
            &mut s,
        );
        assert_eq!(reply, r#"{"result":null,"id":4}"#);
        assert!(!s.combined);
        let reply = handle_request(
            r#"{"method":"GET_PROPERTY","params":["combined"],"id":5}"#,
            &mut s,
        );
        assert_eq!(reply, r#"{"result":false,"id":5}"#);
    }

    #[test]
    fn bad_requests_get_error_objects() {
        let mut s = subs();
        for (request, code) in [
            ("garbage", 3),
            (r#"{"method":"SUBSCRIBE","params":["x"]}"#, 2),
            (r#"{"method":"SUBSCRIBE","params":["x"],"id":-1}"#, 2),
            (r#"{"method":"NOPE","id":1}"#, 2),
            (r#"{"method":"SUBSCRIBE","params":[1],"id":1}"#, 2),
            (
                r#"{"method":"SET_PROPERTY","params":["combined","yes"],"id":1}"#,
                1,
            ),
            (r#"{"method":"GET_PROPERTY","params":["speed"],"id":1}"#, 0),
        ] {
            let reply: Value = serde_json::from_str(&handle_request(request, &mut s)).unwrap();
            assert_eq!(reply["code"], code, "{request}: {reply}");
            assert!(reply["msg"].as_str().is_some_and(|m| !m.is_empty()));
        }
        assert_eq!(s.streams, [TICKER_1D], "errors change nothing");
    }
}
