//! Simulated OKX v5 public: the `tickers` channel over WebSocket and the SPOT instruments list
//! (`exchanges.md` §6, §14, §15).
//!
//! `{"op":"subscribe","args":[{"channel":"tickers","instId":"BTC-USDT"},..]}` is answered per
//! arg: `{"event":"subscribe","arg":{..},"connId":..}` followed by the instrument's current
//! ticker, or, for an unknown channel or instId, the 60018 error (`okx_wire.rs`); the valid args
//! of the same request still subscribe. Unsubscribe answers `{"event":"unsubscribe",..}` per arg.
//! A request that is not JSON gets 60012 `Invalid request`, an unknown `op` 60019, missing args
//! 60013. The text `ping` is answered with the text `pong`. A connection that for `okx_idle_close`
//! (30 s) neither sent anything nor received data — so also one that never subscribed — is cut
//! without a close frame.

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

use super::faults::SimVenue;
use super::market::MarketModel;
use super::okx_wire::{arg, error, event, instruments_body, missing, rest_error, ticker_frame};
use super::spot::{Handled, SpotTick, TextProtocol, upgrade};
use super::wire::mix64;
use super::{Shared, SimOptions, Stats};

/// `GET /okx/ws/v5/public`
pub(crate) async fn websocket(ws: WebSocketUpgrade, State(shared): State<Arc<Shared>>) -> Response {
    upgrade::<Okx>(ws, shared)
}

/// One OKX connection.
pub(crate) struct Okx {
    conn_id: String,
    insts: HashMap<String, usize>,
    subscribed: Vec<bool>,
}

impl Okx {
    fn args(request: &Value) -> Option<Vec<(&str, &str)>> {
        let Some(Value::Array(args)) = request.get("args") else {
            return None;
        };
        if args.is_empty() {
            return None;
        }
        args.iter()
            .map(|a| {
                let channel = a.get("channel")?.as_str()?;
                let inst = a.get("instId").and_then(Value::as_str).unwrap_or("");
                Some((channel, inst))
            })
            .collect()
    }
}

impl TextProtocol for Okx {
    const VENUE: SimVenue = SimVenue::Okx;

    fn channel(shared: &Shared) -> &broadcast::Sender<Arc<SpotTick>> {
        &shared.okx_tx
    }

    fn counters(stats: &Stats) -> (&AtomicU64, &AtomicU64, &AtomicU64) {
        (&stats.okx_connections, &stats.okx_open, &stats.okx_pings)
    }

    fn idle(opts: &SimOptions) -> Duration {
        opts.okx_idle_close
    }

    fn open(model: &MarketModel, conn: u64) -> Self {
        Okx {
            conn_id: format!("{:08x}", mix64(conn) & 0xffff_ffff),
            insts: model
                .okx
                .iter()
                .enumerate()
                .map(|(i, inst)| (inst.s.symbol.clone(), i))
                .collect(),
            subscribed: vec![false; model.okx.len()],
        }
    }

    fn handle(&mut self, text: &str) -> Handled {
        let mut out = Handled::default();
        if text == "ping" {
            out.ping = true;
            out.replies.push("pong".to_owned());
            return out;
        }
        let Ok(request) = serde_json::from_str::<Value>(text) else {
            let message = format!("Invalid request: {text}");
            out.replies.push(error("60012", &message, &self.conn_id));
            return out;
        };
        let op = request.get("op").and_then(Value::as_str).unwrap_or("");
        if op != "subscribe" && op != "unsubscribe" {
            let message = format!("Invalid op: {op}");
            out.replies.push(error("60019", &message, &self.conn_id));
            return out;
        }
        let Some(args) = Self::args(&request) else {
            out.replies
                .push(error("60013", "Invalid args", &self.conn_id));
            return out;
        };
        for (channel, inst_id) in args {
            let known = self.insts.get(inst_id).copied();
            match (channel, known) {
                ("tickers", Some(i)) => {
                    let on = op == "subscribe";
                    self.subscribed[i] = on;
                    if on {
                        out.snapshots.push(i);
                    }
                    out.replies.push(event(op, &arg(inst_id), &self.conn_id));
                }
                _ => out.replies.push(missing(channel, inst_id, &self.conn_id)),
            }
        }
        out
    }

    fn wants(&self, index: usize) -> bool {
        self.subscribed.get(index).copied().unwrap_or(false)
    }

    fn snapshot(model: &MarketModel, index: usize, now_ms: u64) -> String {
        model
            .okx
            .get(index)
            .map(|inst| ticker_frame(inst, now_ms))
            .unwrap_or_default()
    }
}

/// `GET /okx/api/v5/public/instruments?instType=SPOT`. Only SPOT is simulated: the other types
/// answer an empty list; a missing or unknown `instType` gets 51000. The `rest_status` fault
/// answers that HTTP status with OKX's error body (50011 for 429, 50001 otherwise).
pub(crate) async fn instruments(
    State(shared): State<Arc<Shared>>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let json = |status: StatusCode, body: String| {
        (
            status,
            [(header::CONTENT_TYPE, "application/json; charset=utf-8")],
            body,
        )
            .into_response()
    };
    if let Err(status) = shared.faults.rest_gate(SimVenue::Okx, &shared.cancel).await {
        let body = if status == StatusCode::TOO_MANY_REQUESTS {
            rest_error("50011", "Too Many Requests")
        } else {
            rest_error(
                "50001",
                "Service temporarily unavailable. Please try again later.",
            )
        };
        return json(status, body);
    }
    match query.get("instType").map(String::as_str) {
        Some("SPOT") => {
            let body = instruments_body(&shared.model().okx);
            shared.faults.rest_body(SimVenue::Okx, body)
        }
        Some("MARGIN" | "SWAP" | "FUTURES" | "OPTION") => {
            shared.faults.rest_body(SimVenue::Okx, rest_error("0", ""))
        }
        _ => json(
            StatusCode::BAD_REQUEST,
            rest_error("51000", "Parameter instType error"),
        ),
    }
}
