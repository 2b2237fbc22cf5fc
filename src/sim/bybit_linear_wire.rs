//! Bybit v5 linear's wire formats as the simulator writes them (`exchanges.md` §5,
//! `fixtures/bybit/ws-all-liquidation-*.json*`, `rest-instruments-info-linear-doc.json`).
//!
//! `allLiquidation.{symbol}` pushes `{"topic","type":"snapshot","ts","data":[{"T","s","S","v","p"},
//! ..]}`: `S` is the **position** side (`Buy` = a long was liquidated), `v` the size with the
//! symbol's `qtyStep` decimals (`"0.006"`, `"20000"`), `p` the bankruptcy price with its
//! `priceScale` decimals, trailing zeros kept (`"82396.90"`). Several entries per message when the
//! 500 ms batch holds more than one.
//!
//! `GET /v5/market/instruments-info?category=linear` lists the linear contracts sorted by symbol:
//! the model's USDT perpetuals (which liquidate), two USDC perpetuals (`BTCPERP`, `ETHPERP`), a
//! dated future (`BTCUSDT-25DEC26`), a `PreLaunch` row and long-tail perpetuals `XAAAUSDT`… that
//! pad the list to 840 rows (they never liquidate), so a client must follow `nextPageCursor`
//! (`first%3D<symbol>%26last%3D<symbol>`, percent-encoded as Bybit sends it) and spread its
//! topics over more than one connection.

use super::market::{LiqContract, SimLiquidation};
use super::wire::{JsonObject, fixed, mix64};

/// Rows of the linear instrument list: past the default page of 500, as on the real venue, and
/// enough that one connection cannot hold every `allLiquidation` topic within the 21,000-character
/// `args` cap (the real list needs that with more than one topic per symbol).
pub(crate) const LINEAR_ROWS: usize = 840;
/// Rows per page without `limit`, and the largest `limit` Bybit accepts.
pub(crate) const DEFAULT_LIMIT: usize = 500;
pub(crate) const MAX_LIMIT: usize = 1_000;
/// `BTCUSDT-25DEC26` delivers at 2026-12-25 08:00 UTC.
const DELIVERY_MS: u64 = 1_798_185_600_000;

/// One row of the linear instrument list.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct LinearInstrument {
    pub symbol: String,
    pub base: String,
    pub quote: &'static str,
    pub contract_type: &'static str,
    pub status: &'static str,
    pub price_decimals: i32,
    pub tick: f64,
    pub lot: f64,
    pub lot_decimals: i32,
    pub delivery_ms: u64,
    /// Index of the liquidating contract, for the model's perpetuals.
    pub contract: Option<usize>,
}

impl LinearInstrument {
    fn extra(symbol: &str, base: &str, quote: &'static str, contract_type: &'static str) -> Self {
        LinearInstrument {
            symbol: symbol.to_owned(),
            base: base.to_owned(),
            quote,
            contract_type,
            status: "Trading",
            price_decimals: 4,
            tick: 0.000_1,
            lot: 1.0,
            lot_decimals: 0,
            delivery_ms: 0,
            contract: None,
        }
    }
}

/// `AAA`, `AAB`, … for padding row `n`.
fn letters(mut n: usize) -> String {
    let mut out = [b'A'; 3];
    for slot in out.iter_mut().rev() {
        *slot = b'A' + u8::try_from(n % 26).unwrap_or(0);
        n /= 26;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The whole linear list, sorted by symbol.
pub(crate) fn linear_instruments(contracts: &[LiqContract]) -> Vec<LinearInstrument> {
    let mut rows: Vec<LinearInstrument> = contracts
        .iter()
        .enumerate()
        .map(|(i, c)| LinearInstrument {
            symbol: c.symbol.clone(),
            base: c
                .symbol
                .strip_suffix("USDT")
                .unwrap_or(&c.symbol)
                .to_owned(),
            quote: "USDT",
            contract_type: "LinearPerpetual",
            status: "Trading",
            price_decimals: c.price_decimals,
            tick: c.tick,
            lot: c.lot,
            lot_decimals: c.lot_decimals,
            delivery_ms: 0,
            contract: Some(i),
        })
        .collect();
    for (symbol, base) in [("BTCPERP", "BTC"), ("ETHPERP", "ETH")] {
        let mut row = LinearInstrument::extra(symbol, base, "USDC", "LinearPerpetual");
        (row.price_decimals, row.tick, row.lot, row.lot_decimals) = (2, 0.1, 0.001, 3);
        rows.push(row);
    }
    let mut future = LinearInstrument::extra("BTCUSDT-25DEC26", "BTC", "USDT", "LinearFutures");
    (
        future.price_decimals,
        future.tick,
        future.lot,
        future.lot_decimals,
    ) = (2, 0.5, 0.001, 3);
    future.delivery_ms = DELIVERY_MS;
    rows.push(future);
    let mut prelaunch = LinearInstrument::extra("SIMNEWUSDT", "SIMNEW", "USDT", "LinearPerpetual");
    prelaunch.status = "PreLaunch";
    rows.push(prelaunch);
    let mut n = 0;
    while rows.len() < LINEAR_ROWS {
        let base = format!("X{}", letters(n));
        rows.push(LinearInstrument::extra(
            &format!("{base}USDT"),
            &base,
            "USDT",
            "LinearPerpetual",
        ));
        n += 1;
    }
    rows.sort_by(|a, b| a.symbol.cmp(&b.symbol));
    rows
}

fn instrument_row(r: &LinearInstrument, symbol_id: usize) -> String {
    let d = r.price_decimals;
    let q = r.lot_decimals;
    let launch = 1_585_526_400_000 + (mix64(symbol_id as u64) % 150_000_000_000);
    let mut leverage = JsonObject::with_capacity(96);
    leverage
        .str("minLeverage", "1")
        .str("maxLeverage", if r.lot < 0.01 { "100.00" } else { "50.00" })
        .str("leverageStep", "0.01");
    let mut price = JsonObject::with_capacity(96);
    price
        .str("minPrice", &fixed(r.tick, d))
        .str("maxPrice", &fixed(r.tick * 19_999_998.0, d))
        .str("tickSize", &fixed(r.tick, d));
    let max_qty = r.lot * 1_190_000.0;
    let mut lot = JsonObject::with_capacity(192);
    lot.str("maxOrderQty", &fixed(max_qty, q))
        .str("minOrderQty", &fixed(r.lot, q))
        .str("qtyStep", &fixed(r.lot, q))
        .str("postOnlyMaxOrderQty", &fixed(max_qty, q))
        .str("maxMktOrderQty", &fixed(r.lot * 500_000.0, q))
        .str("minNotionalValue", "5");
    let mut risk = JsonObject::with_capacity(64);
    risk.str("priceLimitRatioX", "0.01")
        .str("priceLimitRatioY", "0.02");
    let mut o = JsonObject::with_capacity(1_024);
    o.str("symbol", &r.symbol)
        .int("symbolId", i64::try_from(symbol_id).unwrap_or(0))
        .str("contractType", r.contract_type)
        .str("status", r.status)
        .str("baseCoin", &r.base)
        .str("quoteCoin", r.quote)
        .str("launchTime", &launch.to_string())
        .str("deliveryTime", &r.delivery_ms.to_string())
        .str(
            "deliveryFeeRate",
            if r.delivery_ms > 0 { "0.0005" } else { "" },
        )
        .str("priceScale", &d.to_string())
        .raw("leverageFilter", &leverage.finish())
        .raw("priceFilter", &price.finish())
        .raw("lotSizeFilter", &lot.finish())
        .bool("unifiedMarginTrade", true)
        .int("fundingInterval", if r.delivery_ms > 0 { 0 } else { 480 })
        .str("settleCoin", r.quote)
        .str("copyTrading", "both")
        .str("upperFundingRate", "0.00375")
        .str("lowerFundingRate", "-0.00375")
        .bool("isPreListing", r.status == "PreLaunch")
        .null("preListingInfo")
        .raw("riskParameters", &risk.finish())
        .str("symbolType", "");
    o.finish()
}

/// The cursor of the page after `rows[..end]` (`""` on the last page).
pub(crate) fn next_cursor(rows: &[LinearInstrument], start: usize, end: usize) -> String {
    match (rows.get(start), rows.get(end.wrapping_sub(1))) {
        (Some(first), Some(last)) if end < rows.len() => {
            format!("first%3D{}%26last%3D{}", first.symbol, last.symbol)
        }
        _ => String::new(),
    }
}

/// Where the page after `cursor` starts: `None` for a cursor this list never issued. Accepts the
/// cursor as sent (`first%3DA%26last%3DB`) or already decoded (`first=A&last=B`).
pub(crate) fn cursor_start(rows: &[LinearInstrument], cursor: &str) -> Option<usize> {
    let decoded = cursor
        .replace("%253D", "=")
        .replace("%2526", "&")
        .replace("%3D", "=")
        .replace("%3d", "=")
        .replace("%26", "&");
    let last = decoded.split('&').find_map(|kv| kv.strip_prefix("last="))?;
    rows.iter().position(|r| r.symbol == last).map(|i| i + 1)
}

/// One page: `{"retCode":0,"retMsg":"OK","result":{"category":"linear","list":[..],
/// "nextPageCursor":".."},"retExtInfo":{},"time":..}`.
pub(crate) fn instruments_body(
    rows: &[LinearInstrument],
    (start, end): (usize, usize),
    now_ms: u64,
) -> String {
    let list: Vec<String> = rows
        .iter()
        .enumerate()
        .take(end)
        .skip(start)
        .map(|(i, r)| instrument_row(r, i + 1))
        .collect();
    let mut cursor = String::new();
    super::wire::push_str(&mut cursor, &next_cursor(rows, start, end));
    format!(
        "{{\"retCode\":0,\"retMsg\":\"OK\",\"result\":{{\"category\":\"linear\",\"list\":[{}],\"nextPageCursor\":{cursor}}},\"retExtInfo\":{{}},\"time\":{now_ms}}}",
        list.join(",")
    )
}

fn ms(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

/// One `allLiquidation.{symbol}` push holding `events` (all of contract `c`).
pub(crate) fn liquidation_frame(c: &LiqContract, events: &[SimLiquidation], ts_ms: u64) -> String {
    let rows: Vec<String> = events
        .iter()
        .map(|e| {
            let mut o = JsonObject::with_capacity(96);
            o.int("T", ms(e.time_ms))
                .str("s", &c.symbol)
                // Position side: a liquidated long is `Buy`.
                .str("S", if e.long { "Buy" } else { "Sell" })
                .str("v", &fixed(e.size, c.lot_decimals))
                .str("p", &fixed(e.price, c.price_decimals));
            o.finish()
        })
        .collect();
    let mut topic = String::from("allLiquidation.");
    topic.push_str(&c.symbol);
    let mut o = JsonObject::with_capacity(64 + rows.len() * 96);
    o.str("topic", &topic)
        .str("type", "snapshot")
        .int("ts", ms(ts_ms))
        .raw("data", &format!("[{}]", rows.join(",")));
    o.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::market::{LiqExchange, MarketModel};

    #[test]
    fn frames_and_pages_have_the_documented_shape() {
        let m = MarketModel::new(1, 1_795_000_000_000);
        let contracts = m.liquidation_contracts(LiqExchange::Bybit);
        let e = |long, size, price, t| SimLiquidation {
            exchange: LiqExchange::Bybit,
            contract: 0,
            long,
            price,
            fill: price,
            size,
            notional_usd: size * price,
            time_ms: t,
            id: 1,
            hedge: false,
            bk_loss: 0.0,
        };
        let frame = liquidation_frame(
            &contracts[0],
            &[
                e(true, 0.006, 82_396.9, 1_791_565_600_992),
                e(true, 0.038, 82_394.3, 1_791_565_601_058),
            ],
            1_791_565_601_482,
        );
        assert_eq!(
            frame,
            r#"{"topic":"allLiquidation.BTCUSDT","type":"snapshot","ts":1791565601482,"data":[{"T":1791565600992,"s":"BTCUSDT","S":"Buy","v":"0.006","p":"82396.90"},{"T":1791565601058,"s":"BTCUSDT","S":"Buy","v":"0.038","p":"82394.30"}]}"#
        );
        let rows = linear_instruments(contracts);
        assert_eq!(rows.len(), LINEAR_ROWS);
        let body = instruments_body(&rows, (0, DEFAULT_LIMIT), 7);
        let v: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
        assert_eq!(v["result"]["list"].as_array().map(Vec::len), Some(500));
        let cursor = v["result"]["nextPageCursor"].as_str().unwrap_or_default();
        assert!(cursor.starts_with("first%3D"), "{cursor}");
        assert_eq!(cursor_start(&rows, cursor), Some(500));
        assert_eq!(cursor_start(&rows, &cursor.replace("%3D", "=")), Some(500));
        assert_eq!(cursor_start(&rows, "nope"), None);
        assert_eq!(next_cursor(&rows, 500, LINEAR_ROWS), "");
        let chars: usize = rows
            .iter()
            .filter(|r| r.status == "Trading")
            .map(|r| r.symbol.len() + "allLiquidation.".len() + 3)
            .sum();
        assert!(
            chars > 21_000,
            "{chars}: every topic must not fit one connection"
        );
        let btc = rows.iter().find(|r| r.symbol == "BTCUSDT");
        assert_eq!(btc.and_then(|r| r.contract), Some(0));
    }
}
