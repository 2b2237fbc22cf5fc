//! Simulated BitMEX realtime: the `liquidation` and `instrument` tables (`exchanges.md` §7, §12).
//!
//! `GET /bitmex/realtime[?subscribe=liquidation,instrument]`. The first frame is the welcome; the
//! URL's topics, or each topic of `{"op":"subscribe","args":[..]}` (a string or a list), get an ack
//! `{"success":true,"subscribe":..,"request":{..}}` and then the table's `partial`:
//! `liquidation` lists the orders working now (usually none: `data:[]`), `instrument` the contract
//! terms and prices of `XBTUSD`, `ETHUSD` and `XBTUSDT`. Afterwards each liquidation is an
//! `insert` (order side: `Sell` = a long liquidated), sometimes an `update` (part filled, price
//! moved), then a `delete` (`orderID` and `symbol` only), a few steps apart; `instrument` gets
//! sparse price `update`s about once a second per symbol (the socket's canary). `unsubscribe`
//! works the same way. Text `ping` → `pong`. Errors (`{"status":400,"error":..,"meta":{},
//! "request":{..}}`, texts **unconfirmed**): an unknown table (filtered topics such as
//! `liquidation:XBTUSD` are not simulated), a topic already subscribed, an unknown `op`, a
//! request that is not JSON. There is no idle cut (BitMEX's is undocumented).

use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{RawQuery, State};
use axum::response::Response;
use serde_json::Value;
use tokio::sync::broadcast;

use super::bitmex_wire::{
    InstrumentPrices, TABLES, ack, error, instrument_partial, liquidation_partial, request, welcome,
};
use super::faults::SimVenue;
use super::market::{LiqExchange, MarketModel};
use super::spot::{Handled, LiqTick, SpotTick, TextProtocol, upgrade_with_query};
use super::{Shared, SimOptions, Stats};

/// The connection budget the welcome reports.
const REMAINING: u64 = 39;
/// No idle cut: this is only a bound on the timer.
const NO_IDLE_CUT: Duration = Duration::from_secs(86_400);

/// `GET /bitmex/realtime`
pub(crate) async fn websocket(
    ws: WebSocketUpgrade,
    State(shared): State<Arc<Shared>>,
    RawQuery(query): RawQuery,
) -> Response {
    upgrade_with_query::<Bitmex>(ws, shared, query.unwrap_or_default())
}

/// One BitMEX connection.
pub(crate) struct Bitmex {
    url_topics: Vec<String>,
    subscribed: [bool; 2],
}

/// The prices an `instrument` row shows for every contract now.
pub(crate) fn instrument_prices(model: &MarketModel) -> Vec<InstrumentPrices> {
    model
        .liquidation_contracts(LiqExchange::Bitmex)
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let mark = model.mark_price(LiqExchange::Bitmex, i);
            let (_, change) = model.coin_usd(c.coin);
            (mark, mark * 1.000_1, change)
        })
        .collect()
}

impl Bitmex {
    /// Subscribes or unsubscribes `topics`, answering each (request echoed as `request_json`).
    fn apply(&mut self, op: &str, topics: &[String], request_json: &str, out: &mut Handled) {
        let on = op == "subscribe";
        for topic in topics {
            let Some(key) = TABLES.iter().position(|t| t == topic) else {
                let why = format!("Unknown table: {topic}");
                out.replies.push(error(&why, Some(request_json)));
                continue;
            };
            if self.subscribed[key] == on {
                let why = if on {
                    format!("You are already subscribed to this topic: {topic}")
                } else {
                    format!("You are not subscribed to this topic: {topic}")
                };
                out.replies.push(error(&why, Some(request_json)));
                continue;
            }
            self.subscribed[key] = on;
            out.replies.push(ack(op, topic, request_json));
            if on {
                out.liq_snapshots.push(key);
            }
        }
    }
}

fn topics_of(args: Option<&Value>) -> Option<Vec<String>> {
    match args? {
        Value::String(one) => Some(vec![one.clone()]),
        Value::Array(list) => list.iter().map(|a| a.as_str().map(str::to_owned)).collect(),
        _ => None,
    }
}

impl TextProtocol for Bitmex {
    const VENUE: SimVenue = SimVenue::Bitmex;

    fn channel(_shared: &Shared) -> Option<&broadcast::Sender<Arc<SpotTick>>> {
        None
    }

    fn liq_channel(shared: &Shared) -> Option<&broadcast::Sender<Arc<LiqTick>>> {
        Some(&shared.bitmex_tx)
    }

    fn counters(stats: &Stats) -> (&AtomicU64, &AtomicU64, &AtomicU64) {
        (
            &stats.bitmex_connections,
            &stats.bitmex_open,
            &stats.bitmex_pings,
        )
    }

    fn idle(_opts: &SimOptions) -> Duration {
        NO_IDLE_CUT
    }

    fn open(_model: &MarketModel, _conn: u64, query: &str) -> Self {
        let url_topics = query
            .split('&')
            .find_map(|kv| kv.strip_prefix("subscribe="))
            .map(|list| {
                list.replace("%2C", ",")
                    .replace("%2c", ",")
                    .split(',')
                    .filter(|t| !t.is_empty())
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default();
        Bitmex {
            url_topics,
            subscribed: [false; 2],
        }
    }

    fn on_open(&mut self, _model: &MarketModel, now_ms: u64) -> Handled {
        let mut out = Handled::default();
        out.replies.push(welcome(now_ms, REMAINING));
        let topics = std::mem::take(&mut self.url_topics);
        if !topics.is_empty() {
            let request_json = request("subscribe", &topics);
            self.apply("subscribe", &topics, &request_json, &mut out);
        }
        out
    }

    fn handle(&mut self, text: &str) -> Handled {
        let mut out = Handled::default();
        if text == "ping" {
            out.ping = true;
            out.replies.push("pong".to_owned());
            return out;
        }
        let Ok(parsed) = serde_json::from_str::<Value>(text) else {
            out.replies
                .push(error(&format!("Unable to parse request: {text}"), None));
            return out;
        };
        let op = parsed.get("op").and_then(Value::as_str).unwrap_or("");
        let topics = topics_of(parsed.get("args"));
        match (op, topics) {
            ("subscribe" | "unsubscribe", Some(topics)) => {
                self.apply(op, &topics, &request(op, &topics), &mut out);
            }
            ("subscribe" | "unsubscribe", None) => {
                let why = "Invalid args: expected a topic or a list of topics";
                out.replies.push(error(why, Some(&parsed.to_string())));
            }
            (other, _) => {
                let why = format!("Unknown or unsupported op: {other}");
                out.replies.push(error(&why, Some(&parsed.to_string())));
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
        self.subscribed.get(key).copied().unwrap_or(false)
    }

    fn liq_snapshot(model: &MarketModel, key: usize, now_ms: u64) -> (String, u32) {
        let contracts = model.liquidation_contracts(LiqExchange::Bitmex);
        if key == 0 {
            let open = model.bitmex_open_orders();
            let rows = u32::try_from(open.len()).unwrap_or(u32::MAX);
            let frame = liquidation_partial(model.bitmex_id_salt(), contracts, &open);
            (frame, rows)
        } else {
            let prices = instrument_prices(model);
            (instrument_partial(contracts, &prices, now_ms), 0)
        }
    }

    fn count_liq(stats: &Stats, new: u32, _repeated: u32) {
        Stats::add(
            &stats.liquidations_sent[LiqExchange::Bitmex.index()],
            u64::from(new),
        );
    }
}
