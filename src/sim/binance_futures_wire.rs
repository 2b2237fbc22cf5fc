//! Binance USD-M's wire formats as the simulator writes them (`exchanges.md` §4,
//! `fixtures/binance/usdm-forceorder-doc.json`, `forceorder-combined-recorded.jsonl`).
//!
//! `forceOrder`: `{"e":"forceOrder","E":..,"o":{"s","S","o":"LIMIT","f":"IOC","q","p","ap",
//! "X":"FILLED","l","z","T"}}` with prices and quantities as plain decimal strings (`"9910"`,
//! `"0.014"`), `E` and `T` integers, `S` the liquidation *order* side (`SELL` closes a long), `l` =
//! `z` = `q` (filled). `markPriceUpdate` (Binance's "Mark Price Stream"):
//! `{"e":"markPriceUpdate","E":..,"s","p","i","P","r","T"}` with 8-decimal strings. Keys keep
//! Binance's order, which `serde_json` would sort.

use super::market::{LiqContract, SimLiquidation};
use super::wire::{JsonObject, fixed, mix64, plain};

const EIGHT_HOURS_MS: u64 = 8 * 3_600_000;

fn ms(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

/// One `forceOrder` event (raw, without the combined-stream wrapper), pushed at `event_ms`.
pub(crate) fn force_order(c: &LiqContract, e: &SimLiquidation, event_ms: u64) -> String {
    let q = plain(e.size, c.lot_decimals);
    let mut o = JsonObject::with_capacity(256);
    o.str("s", &c.symbol)
        .str("S", if e.long { "SELL" } else { "BUY" })
        .str("o", "LIMIT")
        .str("f", "IOC")
        .str("q", &q)
        .str("p", &plain(e.price, c.price_decimals))
        .str("ap", &plain(e.fill, c.price_decimals))
        .str("X", "FILLED")
        .str("l", &q)
        .str("z", &q)
        .int("T", ms(e.time_ms));
    let mut event = JsonObject::with_capacity(300);
    event
        .str("e", "forceOrder")
        .int("E", ms(event_ms.max(e.time_ms)))
        .raw("o", &o.finish());
    event.finish()
}

/// Next funding time: the next 00:00, 08:00 or 16:00 UTC.
fn next_funding(now_ms: u64) -> u64 {
    (now_ms / EIGHT_HOURS_MS + 1) * EIGHT_HOURS_MS
}

/// A symbol's steady funding rate around 0.01 % (seed-free: a property of the symbol).
fn funding_rate(symbol: &str) -> f64 {
    let h = symbol
        .bytes()
        .fold(0_u64, |acc, b| mix64(acc ^ u64::from(b)));
    let unit = (h >> 11) as f64 / (1_u64 << 53) as f64;
    0.000_1 + (unit - 0.5) * 0.000_16
}

/// One `markPriceUpdate` for contract `c` at mark price `mark` (venue units).
pub(crate) fn mark_price(c: &LiqContract, mark: f64, now_ms: u64) -> String {
    let index = mark * 0.999_8;
    let mut o = JsonObject::with_capacity(200);
    o.str("e", "markPriceUpdate")
        .int("E", ms(now_ms))
        .str("s", &c.symbol)
        .str("p", &fixed(mark, 8))
        .str("i", &fixed(index, 8))
        .str("P", &fixed(mark * 1.000_05, 8))
        .str("r", &fixed(funding_rate(&c.symbol), 8))
        .int("T", ms(next_funding(now_ms)));
    o.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::market::{LiqExchange, MarketModel};

    #[test]
    fn force_order_has_the_documented_shape() {
        let m = MarketModel::new(1, 1_795_000_000_000);
        let contracts = m.liquidation_contracts(LiqExchange::Binance);
        let btc = &contracts[0];
        let e = SimLiquidation {
            exchange: LiqExchange::Binance,
            contract: 0,
            long: true,
            price: 9_910.0,
            fill: 9_910.0,
            size: 0.014,
            notional_usd: 138.74,
            time_ms: 1_568_014_460_893,
            id: 1,
            hedge: false,
            bk_loss: 0.0,
        };
        assert_eq!(
            force_order(btc, &e, 1_568_014_460_893),
            r#"{"e":"forceOrder","E":1568014460893,"o":{"s":"BTCUSDT","S":"SELL","o":"LIMIT","f":"IOC","q":"0.014","p":"9910","ap":"9910","X":"FILLED","l":"0.014","z":"0.014","T":1568014460893}}"#
        );
        let mark = mark_price(btc, 11_794.15, 1_562_305_380_000);
        assert!(
            mark.starts_with(
                r#"{"e":"markPriceUpdate","E":1562305380000,"s":"BTCUSDT","p":"11794.15000000","i":"#
            ),
            "{mark}"
        );
        assert!(mark.ends_with(r#""T":1562313600000}"#), "{mark}");
    }
}
