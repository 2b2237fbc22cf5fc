//! Simulated OKX v5 public: the `tickers` and `liquidation-orders` channels over WebSocket and the
//! SPOT and SWAP instrument lists (`exchanges.md` §6, §14, §15).
//!
//! `{"op":"subscribe","args":[{"channel":"tickers","instId":"BTC-USDT"},..]}` is answered per
//! arg: `{"event":"subscribe","arg":{..},"connId":..}` followed by the instrument's current
//! ticker, or, for an unknown channel or instId, the 60018 error (`okx_wire.rs`); the valid args
//! of the same request still subscribe. `{"channel":"liquidation-orders","instType":"SWAP"}` is
//! one subscription for every swap: acked the same way, then every swap liquidation the model
//! generates arrives as it happens (`okx_swap_wire.rs`; the real feed is partial — OKX says it
//! does not show every liquidation — the simulator shows all of its own), and about 3 % of
//! reports arrive a second time 1–6 s later, as OKX re-delivers late. `FUTURES`, `MARGIN` and
//! `OPTION` are acked but carry nothing here. Unsubscribe answers `{"event":"unsubscribe",..}`
//! per arg. A request that is not JSON gets 60012 `Invalid request`, an unknown `op` 60019,
//! missing args 60013. The text `ping` is answered with the text `pong`. A connection that for
//! `okx_idle_close` (30 s) neither sent anything nor received data — so also one that never
//! subscribed — is cut without a close frame.

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
use super::market::LiqExchange;
use super::market::MarketModel;
use super::okx_swap_wire::{liquidation_arg, swap_instruments_body};
use super::okx_wire::{arg, error, event, instruments_body, missing, rest_error, ticker_frame};
use super::spot::{Handled, LiqTick, SpotTick, TextProtocol, upgrade};
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
    /// Subscribed to `liquidation-orders` / `SWAP`.
    swap_liquidations: bool,
}

/// One subscription argument: `(channel, instId, instType)`, absent fields empty.
type Arg<'a> = (&'a str, &'a str, &'a str);

impl Okx {
    fn args(request: &Value) -> Option<Vec<Arg<'_>>> {
        let Some(Value::Array(args)) = request.get("args") else {
            return None;
        };
        if args.is_empty() {
            return None;
        }
        args.iter()
            .map(|a| {
                let channel = a.get("channel")?.as_str()?;
                let field = |k| a.get(k).and_then(Value::as_str).unwrap_or("");
                Some((channel, field("instId"), field("instType")))
            })
            .collect()
    }

    /// One `liquidation-orders` arg.
    fn liquidations(&mut self, op: &str, inst_type: &str, out: &mut Handled) {
        match inst_type {
            "SWAP" | "FUTURES" | "MARGIN" | "OPTION" => {
                if inst_type == "SWAP" {
                    self.swap_liquidations = op == "subscribe";
                }
                let arg = liquidation_arg(inst_type);
                out.replies.push(event(op, &arg, &self.conn_id));
            }
            _ => {
                let message = format!(
                    "Wrong URL or channel:liquidation-orders,instType:{inst_type} doesn't exist. \
                     Please use the correct URL, channel and parameters referring to API document."
                );
                out.replies.push(error("60018", &message, &self.conn_id));
            }
        }
    }
}

impl TextProtocol for Okx {
    const VENUE: SimVenue = SimVenue::Okx;

    fn channel(shared: &Shared) -> Option<&broadcast::Sender<Arc<SpotTick>>> {
        Some(&shared.okx_tx)
    }

    fn liq_channel(shared: &Shared) -> Option<&broadcast::Sender<Arc<LiqTick>>> {
        Some(&shared.okx_liq_tx)
    }

    fn counters(stats: &Stats) -> (&AtomicU64, &AtomicU64, &AtomicU64) {
        (&stats.okx_connections, &stats.okx_open, &stats.okx_pings)
    }

    fn idle(opts: &SimOptions) -> Duration {
        opts.okx_idle_close
    }

    fn open(model: &MarketModel, conn: u64, _query: &str) -> Self {
        Okx {
            conn_id: format!("{:08x}", mix64(conn) & 0xffff_ffff),
            insts: model
                .okx
                .iter()
                .enumerate()
                .map(|(i, inst)| (inst.s.symbol.clone(), i))
                .collect(),
            subscribed: vec![false; model.okx.len()],
            swap_liquidations: false,
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
        for (channel, inst_id, inst_type) in args {
            if channel == "liquidation-orders" {
                self.liquidations(op, inst_type, &mut out);
                continue;
            }
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

    fn wants_liq(&self, _key: usize) -> bool {
        self.swap_liquidations
    }

    fn count_liq(stats: &Stats, new: u32, repeated: u32) {
        let okx = LiqExchange::Okx.index();
        Stats::add(&stats.liquidations_sent[okx], u64::from(new));
        Stats::add(&stats.okx_liquidations_redelivered, u64::from(repeated));
    }
}

/// `GET /okx/api/v5/public/instruments?instType=SPOT|SWAP`: the spot pairs, or the swaps with
/// their contract values (`ctType`, `ctVal`); MARGIN, FUTURES and OPTION answer an empty list; a
/// missing or unknown `instType` gets 51000. The `rest_status` fault
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
        Some("SWAP") => {
            let body =
                swap_instruments_body(shared.model().liquidation_contracts(LiqExchange::Okx));
            shared.faults.rest_body(SimVenue::Okx, body)
        }
        Some("MARGIN" | "FUTURES" | "OPTION") => {
            shared.faults.rest_body(SimVenue::Okx, rest_error("0", ""))
        }
        _ => json(
            StatusCode::BAD_REQUEST,
            rest_error("51000", "Parameter instType error"),
        ),
    }
}
