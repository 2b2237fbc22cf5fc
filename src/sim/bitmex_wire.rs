//! BitMEX realtime's wire formats as the simulator writes them (`exchanges.md` §7,
//! `fixtures/bitmex/`).
//!
//! - Welcome: `{"info":"Welcome to the BitMEX Realtime API.","version":..,"timestamp":..,
//!   "docs":"https://www.bitmex.com/app/wsAPI","limit":{"remaining":..}}`.
//! - Acks `{"success":true,"subscribe":"liquidation","request":{..}}` (`unsubscribe` likewise);
//!   errors `{"status":400,"error":..,"meta":{},"request":{..}}` (texts **unconfirmed**).
//! - Tables: `{"table","action":"partial","keys","types","foreignKeys","attributes","filter",
//!   "data"}` first, then `{"table","action":"insert"|"update"|"delete","data":[..]}`. Numbers
//!   are JSON numbers (`"price":10106`), times ISO strings with `Z`.
//! - `liquidation` rows `{orderID, symbol, side, price, leavesQty}`; `side` is the *order* side
//!   (`Sell` = a long liquidated); a delete carries `orderID` and `symbol` only; no timestamp.
//! - `instrument` rows: the partial carries the contract terms (`multiplier`, `isInverse`,
//!   `isQuanto`, `underlyingTo*Multiplier`, `quoteToSettleMultiplier`, currencies) and prices;
//!   updates are sparse (`lastPrice`, `markPrice`, `timestamp`, sometimes `lastChangePcnt`).
//!
//! Contract terms (BitMEX's published ones as best known; **unconfirmed** per symbol):
//! `XBTUSD` inverse, `multiplier` −100000000, `underlyingToSettleMultiplier` −100000000, 1 USD
//! per contract, lot 100; `ETHUSD` quanto, `multiplier` 100 (satoshi per USD of price), lot 1;
//! `XBTUSDT` linear, `multiplier` 1, `underlyingToPositionMultiplier` 1000000 (contracts of
//! 10⁻⁶ XBT), `quoteToSettleMultiplier` 1000000, lot 1000.

use super::clock::iso_z;
use super::market::{BitmexOrder, LiqContract};
use super::wire::{JsonObject, Num, mix64, push_str};

pub(crate) const LIQUIDATION: &str = "liquidation";
pub(crate) const INSTRUMENT: &str = "instrument";
/// The tables the simulator serves, indexed by the key its frames carry.
pub(crate) const TABLES: [&str; 2] = [LIQUIDATION, INSTRUMENT];
/// The API version the welcome names.
const VERSION: &str = "2026-09-18T09:12:44.000Z";

fn ms(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

/// `{"info":"Welcome to the BitMEX Realtime API.",…,"limit":{"remaining":N}}`
pub(crate) fn welcome(now_ms: u64, remaining: u64) -> String {
    let mut limit = JsonObject::with_capacity(24);
    limit.int("remaining", ms(remaining));
    let mut o = JsonObject::with_capacity(200);
    o.str("info", "Welcome to the BitMEX Realtime API.")
        .str("version", VERSION)
        .str("timestamp", &iso_z(now_ms))
        .str("docs", "https://www.bitmex.com/app/wsAPI")
        .raw("limit", &limit.finish());
    o.finish()
}

/// `{"op":..,"args":[..]}` as the request is echoed.
pub(crate) fn request(op: &str, args: &[String]) -> String {
    let mut list = String::from("[");
    for (i, a) in args.iter().enumerate() {
        if i > 0 {
            list.push(',');
        }
        push_str(&mut list, a);
    }
    list.push(']');
    let mut o = JsonObject::with_capacity(64);
    o.str("op", op).raw("args", &list);
    o.finish()
}

/// `{"success":true,"subscribe":"liquidation","request":{..}}` (or `"unsubscribe"`).
pub(crate) fn ack(op: &str, topic: &str, request_json: &str) -> String {
    let mut o = JsonObject::with_capacity(128);
    o.bool("success", true)
        .str(op, topic)
        .raw("request", request_json);
    o.finish()
}

/// `{"status":400,"error":..,"meta":{},"request":{..}}` (`request` left out when unparseable).
pub(crate) fn error(message: &str, request_json: Option<&str>) -> String {
    let mut o = JsonObject::with_capacity(160);
    o.int("status", 400).str("error", message).raw("meta", "{}");
    if let Some(r) = request_json {
        o.raw("request", r);
    }
    o.finish()
}

/// A stable UUID-shaped `orderID` for order `id`.
pub(crate) fn order_id(salt: u64, id: u64) -> String {
    let a = mix64(salt ^ id);
    let b = mix64(a);
    format!(
        "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0xffff,
        b >> 48,
        b & 0xffff_ffff_ffff
    )
}

/// Lot sizes are whole contracts on every simulated symbol.
#[expect(
    clippy::cast_possible_truncation,
    reason = "contract counts are whole numbers far below 2^53"
)]
fn contracts(leaves: f64) -> i64 {
    leaves.round() as i64
}

/// A liquidation row: whole (`insert`, `update`, partial) or the key only (`delete`).
fn order_row(salt: u64, c: &LiqContract, order: &BitmexOrder, whole: bool) -> String {
    let mut o = JsonObject::with_capacity(160);
    o.str("orderID", &order_id(salt, order.id))
        .str("symbol", &c.symbol);
    if whole {
        o.str("side", if order.long { "Sell" } else { "Buy" })
            .num("price", order.price, Num::Plain)
            .int("leavesQty", contracts(order.leaves));
    }
    o.finish()
}

/// `{"table":"liquidation","action":..,"data":[rows]}` for `orders` (`delete`: keys only).
pub(crate) fn liquidation_frame(
    salt: u64,
    contracts: &[LiqContract],
    action: &str,
    orders: &[BitmexOrder],
) -> String {
    let rows: Vec<String> = orders
        .iter()
        .filter_map(|o| {
            let c = contracts.get(o.contract)?;
            Some(order_row(salt, c, o, action != "delete"))
        })
        .collect();
    table_frame(LIQUIDATION, action, &rows)
}

fn table_frame(table: &str, action: &str, rows: &[String]) -> String {
    let mut o = JsonObject::with_capacity(64 + rows.iter().map(String::len).sum::<usize>());
    o.str("table", table)
        .str("action", action)
        .raw("data", &format!("[{}]", rows.join(",")));
    o.finish()
}

fn partial(
    table: &str,
    keys: &str,
    types: &str,
    foreign: &str,
    attributes: &str,
    rows: &[String],
) -> String {
    let mut o = JsonObject::with_capacity(512 + rows.iter().map(String::len).sum::<usize>());
    o.str("table", table)
        .str("action", "partial")
        .raw("keys", keys)
        .raw("types", types)
        .raw("foreignKeys", foreign)
        .raw("attributes", attributes)
        .raw("filter", "{}")
        .raw("data", &format!("[{}]", rows.join(",")));
    o.finish()
}

/// The `liquidation` partial: the orders working now (usually none).
pub(crate) fn liquidation_partial(
    salt: u64,
    contracts: &[LiqContract],
    open: &[BitmexOrder],
) -> String {
    let rows: Vec<String> = open
        .iter()
        .filter_map(|o| Some(order_row(salt, contracts.get(o.contract)?, o, true)))
        .collect();
    partial(
        LIQUIDATION,
        r#"["orderID"]"#,
        r#"{"orderID":"guid","symbol":"symbol","side":"symbol","price":"float","leavesQty":"long"}"#,
        r#"{"symbol":"instrument","side":"side"}"#,
        r#"{"orderID":"grouped"}"#,
        &rows,
    )
}

/// A contract's terms, as its instrument row states them.
struct Terms {
    root: &'static str,
    position: &'static str,
    quote: &'static str,
    underlying_symbol: &'static str,
    reference: &'static str,
    multiplier: i64,
    settl: &'static str,
    u2p: Option<i64>,
    u2s: Option<i64>,
    q2s: Option<i64>,
    quanto: bool,
    inverse: bool,
    lot: i64,
}

fn terms(symbol: &str) -> Terms {
    match symbol {
        "XBTUSD" => Terms {
            root: "XBT",
            position: "USD",
            quote: "USD",
            underlying_symbol: "XBT=",
            reference: ".BXBT",
            multiplier: -100_000_000,
            settl: "XBt",
            u2p: None,
            u2s: Some(-100_000_000),
            q2s: None,
            quanto: false,
            inverse: true,
            lot: 100,
        },
        "ETHUSD" => Terms {
            root: "ETH",
            position: "USD",
            quote: "USD",
            underlying_symbol: "ETH=",
            reference: ".BETH",
            multiplier: 100,
            settl: "XBt",
            u2p: None,
            u2s: None,
            q2s: None,
            quanto: true,
            inverse: false,
            lot: 1,
        },
        _ => Terms {
            root: "XBT",
            position: "XBT",
            quote: "USDT",
            underlying_symbol: "XBTT=",
            reference: ".BXBTT",
            multiplier: 1,
            settl: "USDt",
            u2p: Some(1_000_000),
            u2s: None,
            q2s: Some(1_000_000),
            quanto: false,
            inverse: false,
            lot: 1_000,
        },
    }
}

fn opt_int(o: &mut JsonObject, key: &str, value: Option<i64>) {
    match value {
        Some(v) => o.int(key, v),
        None => o.null(key),
    };
}

/// Prices of one instrument now: `(mark, last, 24 h change as a fraction)`.
pub(crate) type InstrumentPrices = (f64, f64, f64);

fn round_tick(c: &LiqContract, price: f64) -> f64 {
    c.round_price(price)
}

/// One full `instrument` row (the partial's).
fn instrument_row(c: &LiqContract, (mark, last, change): InstrumentPrices, now_ms: u64) -> String {
    let t = terms(&c.symbol);
    let last = round_tick(c, last);
    let prev = round_tick(c, last / (1.0 + change));
    let mut o = JsonObject::with_capacity(2_048);
    o.str("symbol", &c.symbol)
        .str("rootSymbol", t.root)
        .str("state", "Open")
        .str("typ", "FFWCSX")
        .str("listing", "2016-05-13T12:00:00.000Z")
        .str("front", "2016-05-13T12:00:00.000Z")
        .null("expiry")
        .null("settle")
        .str("positionCurrency", t.position)
        .str("underlying", t.root)
        .str("quoteCurrency", t.quote)
        .str("underlyingSymbol", t.underlying_symbol)
        .str("reference", "BMEX")
        .str("referenceSymbol", t.reference)
        .int("maxOrderQty", 10_000_000)
        .int("maxPrice", 1_000_000)
        .int("lotSize", t.lot)
        .num("tickSize", c.tick, Num::Plain)
        .int("multiplier", t.multiplier)
        .str("settlCurrency", t.settl);
    opt_int(&mut o, "underlyingToPositionMultiplier", t.u2p);
    opt_int(&mut o, "underlyingToSettleMultiplier", t.u2s);
    opt_int(&mut o, "quoteToSettleMultiplier", t.q2s);
    o.bool("isQuanto", t.quanto)
        .bool("isInverse", t.inverse)
        .num("initMargin", 0.01, Num::Plain)
        .num("maintMargin", 0.005, Num::Plain)
        .num("makerFee", -0.0001, Num::Plain)
        .num("takerFee", 0.00075, Num::Plain)
        .str("fundingInterval", "2000-01-01T08:00:00.000Z")
        .num("fundingRate", 0.0001, Num::Plain)
        .num("prevPrice24h", prev, Num::Plain)
        .num(
            "highPrice",
            round_tick(c, last.max(prev) * 1.012),
            Num::Plain,
        )
        .num(
            "lowPrice",
            round_tick(c, last.min(prev) * 0.988),
            Num::Plain,
        )
        .num("lastPrice", last, Num::Plain)
        .str("lastTickDirection", "ZeroPlusTick")
        .num("lastChangePcnt", (change * 1e4).round() / 1e4, Num::Plain)
        .num("bidPrice", round_tick(c, last - c.tick), Num::Plain)
        .num("askPrice", last, Num::Plain)
        .bool("hasLiquidity", true)
        .int("openInterest", 420_000_000 / t.lot.max(1))
        .str("fairMethod", "FundingRate")
        .num("fairPrice", round_tick(c, mark), Num::Plain)
        .str("markMethod", "FairPrice")
        .num("markPrice", round_tick(c, mark), Num::Plain)
        .str("timestamp", &iso_z(now_ms));
    o.finish()
}

/// The `instrument` partial for every contract.
pub(crate) fn instrument_partial(
    contracts: &[LiqContract],
    prices: &[InstrumentPrices],
    now_ms: u64,
) -> String {
    let rows: Vec<String> = contracts
        .iter()
        .zip(prices)
        .map(|(c, &p)| instrument_row(c, p, now_ms))
        .collect();
    partial(
        INSTRUMENT,
        r#"["symbol"]"#,
        r#"{"symbol":"symbol","rootSymbol":"symbol","state":"symbol","typ":"symbol","listing":"timestamp","front":"timestamp","expiry":"timestamp","settle":"timestamp","positionCurrency":"symbol","underlying":"symbol","quoteCurrency":"symbol","underlyingSymbol":"symbol","reference":"symbol","referenceSymbol":"symbol","maxOrderQty":"long","maxPrice":"float","lotSize":"long","tickSize":"float","multiplier":"long","settlCurrency":"symbol","underlyingToPositionMultiplier":"long","underlyingToSettleMultiplier":"long","quoteToSettleMultiplier":"long","isQuanto":"boolean","isInverse":"boolean","initMargin":"float","maintMargin":"float","makerFee":"float","takerFee":"float","fundingInterval":"timespan","fundingRate":"float","prevPrice24h":"float","highPrice":"float","lowPrice":"float","lastPrice":"float","lastTickDirection":"symbol","lastChangePcnt":"float","bidPrice":"float","askPrice":"float","hasLiquidity":"boolean","openInterest":"long","fairMethod":"symbol","fairPrice":"float","markMethod":"symbol","markPrice":"float","timestamp":"timestamp"}"#,
        r#"{"inverseLeg":"instrument","sellLeg":"instrument","buyLeg":"instrument"}"#,
        r#"{"symbol":"unique"}"#,
        &rows,
    )
}

/// A sparse `instrument` update: prices and time, now and then the 24 h change.
pub(crate) fn instrument_update(
    c: &LiqContract,
    (mark, last, change): InstrumentPrices,
    with_change: bool,
    now_ms: u64,
) -> String {
    let mut o = JsonObject::with_capacity(160);
    o.str("symbol", &c.symbol)
        .num("lastPrice", round_tick(c, last), Num::Plain)
        .num("markPrice", round_tick(c, mark), Num::Plain);
    if with_change {
        o.num("lastChangePcnt", (change * 1e4).round() / 1e4, Num::Plain);
    }
    o.str("timestamp", &iso_z(now_ms));
    table_frame(INSTRUMENT, "update", &[o.finish()])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::market::{LiqExchange, MarketModel};

    #[test]
    fn frames_have_the_recorded_shape() {
        let m = MarketModel::new(1, 1_795_000_000_000);
        let contracts = m.liquidation_contracts(LiqExchange::Bitmex);
        let order = BitmexOrder {
            id: 7,
            contract: 0,
            long: false,
            price: 10_106.0,
            leaves: 9_214.0,
        };
        let id = order_id(1, 7);
        assert_eq!(id.len(), 36);
        assert_eq!(
            liquidation_frame(1, contracts, "insert", std::slice::from_ref(&order)),
            format!(
                r#"{{"table":"liquidation","action":"insert","data":[{{"orderID":"{id}","symbol":"XBTUSD","side":"Buy","price":10106,"leavesQty":9214}}]}}"#
            )
        );
        assert_eq!(
            liquidation_frame(1, contracts, "delete", &[order]),
            format!(
                r#"{{"table":"liquidation","action":"delete","data":[{{"orderID":"{id}","symbol":"XBTUSD"}}]}}"#
            )
        );
        let w: serde_json::Value =
            serde_json::from_str(&welcome(1_626_993_367_865, 39)).unwrap_or_default();
        assert_eq!(w["timestamp"], "2021-07-22T22:36:07.865Z");
        assert_eq!(w["limit"]["remaining"], 39);
        let prices = [(100_000.0, 100_010.0, 0.01); 3];
        let p: serde_json::Value =
            serde_json::from_str(&instrument_partial(contracts, &prices, 1)).unwrap_or_default();
        assert_eq!(p["keys"][0], "symbol");
        let xbt = &p["data"][0];
        assert_eq!(
            (
                &xbt["multiplier"],
                &xbt["isInverse"],
                &xbt["underlyingToSettleMultiplier"]
            ),
            (
                &serde_json::json!(-100_000_000),
                &serde_json::json!(true),
                &serde_json::json!(-100_000_000)
            )
        );
        assert_eq!(p["data"][1]["isQuanto"], true);
        assert_eq!(p["data"][2]["underlyingToPositionMultiplier"], 1_000_000);
        assert_eq!(
            ack(
                "subscribe",
                "liquidation",
                &request("subscribe", &["liquidation".into()])
            ),
            r#"{"success":true,"subscribe":"liquidation","request":{"op":"subscribe","args":["liquidation"]}}"#
        );
    }
}
