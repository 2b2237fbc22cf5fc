//! Simulated Bybit v5 linear: the public `allLiquidation.{symbol}` WebSocket and the paged
//! `instruments-info?category=linear` list (`exchanges.md` §5, §14, §15).
//!
//! Requests are `{"req_id":..,"op":"subscribe"|"unsubscribe"|"ping","args":[..]}`. Linear has no
//! per-request args limit ("No args limit for Futures"), only the public cap of 21,000 characters of
//! `args` per connection, counted as the JSON array of every topic the connection holds: a
//! subscribe that would pass it is refused whole (`ret_msg` text **unconfirmed**). A topic that is
//! not `allLiquidation.*` (`"error:handler not found,topic:…"`), a symbol not in the linear list
//! (`"Invalid symbol :[allLiquidation.X]"`) or a topic already held
//! (`"error:already subscribed,topic:…"`) refuse it too. The linear ack is
//! `{"success":true,"ret_msg":"","conn_id":..,"req_id":..,"op":"subscribe"}` — `req_id` always
//! present, `""` when the request had none — and nothing is pushed on subscribe; liquidations come
//! in 500 ms batches (`driver`). `{"op":"ping"}` gets the linear pong
//! `{"success":true,"ret_msg":"pong","conn_id":..,"req_id":"","op":"ping"}`. Idle cut as spot.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::Value;
use tokio::sync::broadcast;

use super::bybit::{conn_uuid, ok_json};
use super::bybit_linear_wire::{
    DEFAULT_LIMIT, MAX_LIMIT, cursor_start, instruments_body, linear_instruments,
};
use super::bybit_wire::{msg, reply, rest_error};
use super::clock::now_ms;
use super::faults::SimVenue;
use super::market::{LiqExchange, MarketModel};
use super::spot::{Handled, LiqTick, SpotTick, TextProtocol, upgrade};
use super::{Shared, SimOptions, Stats};

/// Bybit's cap on one public connection's `args`, in characters.
pub(crate) const ARGS_CHARS_CAP: usize = 21_000;
const TOPIC_PREFIX: &str = "allLiquidation.";

/// `GET /bybit/v5/public/linear`
pub(crate) async fn websocket(ws: WebSocketUpgrade, State(shared): State<Arc<Shared>>) -> Response {
    upgrade::<Linear>(ws, shared)
}

/// One linear connection.
pub(crate) struct Linear {
    conn_id: String,
    /// Every listed symbol → its liquidating contract, if it has one.
    listed: HashMap<String, Option<usize>>,
    topics: HashSet<String>,
    wants: Vec<bool>,
}

/// Characters `topic` adds to a connection's `args` array (quotes and a comma).
fn topic_chars(topic: &str) -> usize {
    topic.len() + 3
}

impl Linear {
    fn reply(&self, success: bool, ret_msg: &str, req_id: &str, op: &str) -> String {
        reply(success, ret_msg, &self.conn_id, Some(req_id), op)
    }

    fn args_chars(&self) -> usize {
        1 + self.topics.iter().map(|t| topic_chars(t)).sum::<usize>()
    }

    /// Why a subscribe to `args` is refused (`ret_msg` as JSON), else the topics.
    fn check<'a>(&self, args: &'a [Value]) -> Result<Vec<&'a str>, String> {
        let mut topics: Vec<&str> = Vec::with_capacity(args.len());
        for arg in args {
            let Some(topic) = arg.as_str() else {
                return Err(msg("error:args invalid"));
            };
            let Some(symbol) = topic.strip_prefix(TOPIC_PREFIX) else {
                return Err(msg(&format!("error:handler not found,topic:{topic}")));
            };
            if !self.listed.contains_key(symbol) {
                return Err(msg(&format!("Invalid symbol :[{topic}]")));
            }
            if self.topics.contains(topic) || topics.contains(&topic) {
                return Err(msg(&format!("error:already subscribed,topic:{topic}")));
            }
            topics.push(topic);
        }
        let added: usize = topics.iter().map(|t| topic_chars(t)).sum();
        if self.args_chars() + added > ARGS_CHARS_CAP {
            return Err(msg(&format!(
                "error:args length exceeds {ARGS_CHARS_CAP} characters per connection"
            )));
        }
        Ok(topics)
    }

    fn set(&mut self, topic: &str, on: bool) {
        let key = topic
            .strip_prefix(TOPIC_PREFIX)
            .and_then(|s| self.listed.get(s).copied().flatten());
        if let Some(slot) = key.and_then(|k| self.wants.get_mut(k)) {
            *slot = on;
        }
        if on {
            self.topics.insert(topic.to_owned());
        } else {
            self.topics.remove(topic);
        }
    }
}

impl TextProtocol for Linear {
    const VENUE: SimVenue = SimVenue::BybitLinear;

    fn channel(_shared: &Shared) -> Option<&broadcast::Sender<Arc<SpotTick>>> {
        None
    }

    fn liq_channel(shared: &Shared) -> Option<&broadcast::Sender<Arc<LiqTick>>> {
        Some(&shared.bybit_linear_tx)
    }

    fn counters(stats: &Stats) -> (&AtomicU64, &AtomicU64, &AtomicU64) {
        (
            &stats.bybit_linear_connections,
            &stats.bybit_linear_open,
            &stats.bybit_linear_pings,
        )
    }

    fn idle(opts: &SimOptions) -> Duration {
        opts.bybit_idle_close
    }

    fn open(model: &MarketModel, conn: u64, _query: &str) -> Self {
        let contracts = model.liquidation_contracts(LiqExchange::Bybit);
        Linear {
            conn_id: conn_uuid(conn),
            listed: linear_instruments(contracts)
                .into_iter()
                .map(|r| (r.symbol, r.contract))
                .collect(),
            topics: HashSet::new(),
            wants: vec![false; contracts.len()],
        }
    }

    fn handle(&mut self, text: &str) -> Handled {
        let mut out = Handled::default();
        let Ok(request) = serde_json::from_str::<Value>(text) else {
            let why = msg("error:request not json");
            out.replies.push(self.reply(false, &why, "\"\"", ""));
            return out;
        };
        let req_id = request
            .get("req_id")
            .map_or_else(|| "\"\"".to_owned(), Value::to_string);
        let op = request.get("op").and_then(Value::as_str).unwrap_or("");
        let args: &[Value] = match request.get("args") {
            Some(Value::Array(args)) => args,
            _ => &[],
        };
        match op {
            "ping" => {
                out.ping = true;
                out.replies
                    .push(self.reply(true, &msg("pong"), &req_id, "ping"));
            }
            "subscribe" => match self.check(args) {
                Ok(topics) => {
                    let topics: Vec<String> = topics.into_iter().map(str::to_owned).collect();
                    for t in &topics {
                        self.set(t, true);
                    }
                    out.replies
                        .push(self.reply(true, &msg(""), &req_id, "subscribe"));
                }
                Err(why) => out
                    .replies
                    .push(self.reply(false, &why, &req_id, "subscribe")),
            },
            "unsubscribe" => {
                for topic in args.iter().filter_map(Value::as_str) {
                    self.set(topic, false);
                }
                out.replies
                    .push(self.reply(true, &msg(""), &req_id, "unsubscribe"));
            }
            other => {
                let why = msg("error:handler not found");
                out.replies.push(self.reply(false, &why, &req_id, other));
            }
        }
        out
    }

    fn wants(&self, _index: usize) -> bool {
        false
    }

    fn snapshot(_model: &MarketModel, _index: usize, _now_ms: u64) -> String {
        String::new()
    }

    fn wants_liq(&self, key: usize) -> bool {
        self.wants.get(key).copied().unwrap_or(false)
    }

    fn count_liq(stats: &Stats, new: u32, _repeated: u32) {
        Stats::add(
            &stats.liquidations_sent[LiqExchange::Bybit.index()],
            u64::from(new),
        );
    }
}

/// `GET /bybit/v5/market/instruments-info?category=linear[&limit=N][&cursor=..]`: the linear list
/// sorted by symbol, `limit` rows per page (default 500, at most 1,000 — and at most
/// [`SimOptions::bybit_instruments_page_max`]), `nextPageCursor` until the last page. Other
/// categories answer an empty list. Errors, including the `bybit_linear` REST faults, are HTTP
/// 200 with `retCode ≠ 0` (10006 for a 429, 10016 otherwise; a bad cursor 10001 — text
/// **unconfirmed**).
pub(crate) async fn instruments_info(
    State(shared): State<Arc<Shared>>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    if let Err(status) = shared
        .faults
        .rest_gate(SimVenue::BybitLinear, &shared.cancel)
        .await
    {
        let body = if status == StatusCode::TOO_MANY_REQUESTS {
            rest_error(10006, "Too many visits!", now_ms())
        } else {
            rest_error(10016, "Internal server error.", now_ms())
        };
        return ok_json(body);
    }
    let now = now_ms();
    match query.get("category").map(String::as_str) {
        Some("linear") => {}
        Some(category @ ("inverse" | "option" | "spot")) => {
            let body = format!(
                "{{\"retCode\":0,\"retMsg\":\"OK\",\"result\":{{\"category\":\"{category}\",\"list\":[],\"nextPageCursor\":\"\"}},\"retExtInfo\":{{}},\"time\":{now}}}"
            );
            return shared.faults.rest_body(SimVenue::BybitLinear, body);
        }
        _ => return ok_json(rest_error(10001, "Illegal category", now)),
    }
    let limit = query
        .get("limit")
        .and_then(|l| l.parse::<usize>().ok())
        .unwrap_or(DEFAULT_LIMIT)
        .clamp(1, MAX_LIMIT)
        .min(shared.opts.bybit_instruments_page_max.max(1));
    let contracts = shared
        .model()
        .liquidation_contracts(LiqExchange::Bybit)
        .to_vec();
    let rows = linear_instruments(&contracts);
    let start = match query.get("cursor").map(String::as_str) {
        None | Some("") => 0,
        Some(cursor) => match cursor_start(&rows, cursor) {
            Some(start) => start,
            None => return ok_json(rest_error(10001, "Invalid cursor", now)),
        },
    };
    let end = (start + limit).min(rows.len());
    let body = instruments_body(&rows, (start, end), now);
    shared.faults.rest_body(SimVenue::BybitLinear, body)
}
