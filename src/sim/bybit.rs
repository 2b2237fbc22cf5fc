//! Simulated Bybit v5 spot: the public `tickers.{symbol}` WebSocket and the REST tickers list
//! (`exchanges.md` §5, §14, §15).
//!
//! Requests are `{"req_id":..,"op":"subscribe"|"unsubscribe"|"ping","args":[..]}`. A subscribe is
//! accepted or refused **whole**: more than 10 args (`"args size \u003e10"`, as the live venue
//! escapes it), a topic that is not `tickers.*` (`"error:handler not found,topic:…"`), an unknown
//! symbol (`"Invalid symbol :[tickers.X]"`) or a topic already subscribed
//! (`"error:already subscribed,topic:…"`) refuse it. The ack is
//! `{"success":true,"ret_msg":"subscribe","conn_id":..,"req_id":..,"op":"subscribe"}` (`req_id`
//! only when sent), then one snapshot per new topic; afterwards a snapshot whenever the symbol
//! trades. `{"op":"ping"}` gets the spot pong `{"success":true,"ret_msg":"pong","conn_id":..,
//! "op":"ping"}`. A connection with no client message and no data for `bybit_idle_close`
//! (~10 min on the real venue) is cut without a close frame. Requests that are not JSON, or an
//! unknown `op`, get `success:false` replies whose exact text is **unconfirmed**.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use tokio::sync::broadcast;

use super::bybit_wire::{
    ARGS_TOO_MANY, MAX_ARGS, msg, reply, rest_error, ticker_frame, tickers_body,
};
use super::clock::now_ms;
use super::faults::SimVenue;
use super::market::MarketModel;
use super::spot::{Handled, SpotTick, TextProtocol, upgrade};
use super::wire::mix64;
use super::{Shared, SimOptions, Stats};

/// `GET /bybit/v5/public/spot`
pub(crate) async fn websocket(ws: WebSocketUpgrade, State(shared): State<Arc<Shared>>) -> Response {
    upgrade::<Bybit>(ws, shared)
}

/// One Bybit connection.
pub(crate) struct Bybit {
    conn_id: String,
    symbols: HashMap<String, usize>,
    subscribed: Vec<bool>,
}

impl Bybit {
    fn reply(&self, success: bool, ret_msg: &str, req_id: Option<&str>, op: &str) -> String {
        reply(success, ret_msg, &self.conn_id, req_id, op)
    }

    /// Why a subscribe to `args` is refused, if it is (`ret_msg` as JSON), else the indexes.
    fn check(&self, args: &[Value]) -> Result<Vec<usize>, String> {
        if args.len() > MAX_ARGS {
            return Err(ARGS_TOO_MANY.to_owned());
        }
        let mut indexes = Vec::with_capacity(args.len());
        for arg in args {
            let Some(topic) = arg.as_str() else {
                return Err(msg("error:args invalid"));
            };
            let Some(symbol) = topic.strip_prefix("tickers.") else {
                return Err(msg(&format!("error:handler not found,topic:{topic}")));
            };
            let Some(&i) = self.symbols.get(symbol) else {
                return Err(msg(&format!("Invalid symbol :[{topic}]")));
            };
            if self.subscribed[i] || indexes.contains(&i) {
                return Err(msg(&format!("error:already subscribed,topic:{topic}")));
            }
            indexes.push(i);
        }
        Ok(indexes)
    }
}

impl TextProtocol for Bybit {
    const VENUE: SimVenue = SimVenue::Bybit;

    fn channel(shared: &Shared) -> Option<&broadcast::Sender<Arc<SpotTick>>> {
        Some(&shared.bybit_tx)
    }

    fn counters(stats: &Stats) -> (&AtomicU64, &AtomicU64, &AtomicU64) {
        (
            &stats.bybit_connections,
            &stats.bybit_open,
            &stats.bybit_pings,
        )
    }

    fn idle(opts: &SimOptions) -> Duration {
        opts.bybit_idle_close
    }

    fn open(model: &MarketModel, conn: u64, _query: &str) -> Self {
        Bybit {
            conn_id: conn_uuid(conn),
            symbols: model
                .bybit
                .iter()
                .enumerate()
                .map(|(i, s)| (s.symbol.clone(), i))
                .collect(),
            subscribed: vec![false; model.bybit.len()],
        }
    }

    fn handle(&mut self, text: &str) -> Handled {
        let mut out = Handled::default();
        let Ok(request) = serde_json::from_str::<Value>(text) else {
            out.replies
                .push(self.reply(false, &msg("error:request not json"), None, ""));
            return out;
        };
        let req_id = request.get("req_id").map(Value::to_string);
        let req_id = req_id.as_deref();
        let op = request.get("op").and_then(Value::as_str).unwrap_or("");
        let args: &[Value] = match request.get("args") {
            Some(Value::Array(args)) => args,
            _ => &[],
        };
        match op {
            "ping" => {
                out.ping = true;
                // The spot pong carries no `req_id` (docs' wss-authentication example).
                out.replies
                    .push(self.reply(true, &msg("pong"), None, "ping"));
            }
            "subscribe" => match self.check(args) {
                Ok(indexes) => {
                    for &i in &indexes {
                        self.subscribed[i] = true;
                    }
                    out.snapshots = indexes;
                    out.replies
                        .push(self.reply(true, &msg("subscribe"), req_id, "subscribe"));
                }
                Err(why) => out
                    .replies
                    .push(self.reply(false, &why, req_id, "subscribe")),
            },
            "unsubscribe" => {
                for topic in args.iter().filter_map(Value::as_str) {
                    let symbol = topic.strip_prefix("tickers.").unwrap_or(topic);
                    if let Some(&i) = self.symbols.get(symbol) {
                        self.subscribed[i] = false;
                    }
                }
                out.replies
                    .push(self.reply(true, &msg(""), req_id, "unsubscribe"));
            }
            other => {
                out.replies
                    .push(self.reply(false, &msg("error:handler not found"), req_id, other));
            }
        }
        out
    }

    fn wants(&self, index: usize) -> bool {
        self.subscribed.get(index).copied().unwrap_or(false)
    }

    fn snapshot(model: &MarketModel, index: usize, now_ms: u64) -> String {
        model
            .bybit
            .get(index)
            .map(|s| ticker_frame(s, now_ms))
            .unwrap_or_default()
    }
}

/// A UUID-shaped `conn_id` for connection number `conn`.
pub(crate) fn conn_uuid(conn: u64) -> String {
    let h = mix64(conn);
    format!(
        "{:08x}-{:04x}-4{:03x}-a{:03x}-{:012x}",
        h >> 32,
        (h >> 16) & 0xffff,
        h & 0xfff,
        (h >> 20) & 0xfff,
        mix64(h) & 0xffff_ffff_ffff
    )
}

pub(crate) fn ok_json(body: String) -> Response {
    (
        [(header::CONTENT_TYPE, "application/json; charset=utf-8")],
        body,
    )
        .into_response()
}

/// `GET /bybit/v5/market/tickers?category=spot` (only spot is simulated). Errors, including the
/// `rest_status` fault, are HTTP 200 with `retCode ≠ 0`: 10006 for a 429, 10016 otherwise.
pub(crate) async fn tickers(
    State(shared): State<Arc<Shared>>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    if let Err(status) = shared
        .faults
        .rest_gate(SimVenue::Bybit, &shared.cancel)
        .await
    {
        let body = if status == StatusCode::TOO_MANY_REQUESTS {
            rest_error(10006, "Too many visits!", now_ms())
        } else {
            rest_error(10016, "Internal server error.", now_ms())
        };
        return ok_json(body);
    }
    if query.get("category").map(String::as_str) != Some("spot") {
        return ok_json(rest_error(10001, "Illegal category", now_ms()));
    }
    let body = tickers_body(&shared.model().bybit, now_ms());
    shared.faults.rest_body(SimVenue::Bybit, body)
}
