//! Binance spot's all-market ticker arrays as the simulator writes them.
//!
//! Element shapes follow `web-socket-streams.md`: `!ticker_1d@arr` elements are rolling-window
//! tickers (`e` = `1dTicker`; `e, E, s, p, P, o, h, l, c, w, v, q, O, C, F, L, n`), `!miniTicker@arr`
//! elements are `24hrMiniTicker` (`e, E, s, c, o, h, l, v, q`). Prices and volumes are strings with
//! 8 decimals (`"101234.56000000"`), `P` is a percent string with 3 decimals, times and ids are
//! integers. Keys keep Binance's order, which `serde_json` would sort.

use super::ticker::BinanceSymbol;
use super::wire::{JsonObject, round_decimals};

fn price(value: f64) -> String {
    format!("{:.8}", round_decimals(value, 8))
}

/// Start of the rolling window: 24 h before `event_ms`, snapped down to the minute.
fn window_open(event_ms: u64) -> u64 {
    let start = event_ms.saturating_sub(86_400_000);
    start - start % 60_000
}

fn ms(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

/// The `!ticker_1d@arr` data array for the changed `indexes` (`e`=`1dTicker`).
pub(crate) fn ticker_1d_array(
    symbols: &[BinanceSymbol],
    indexes: &[usize],
    event_ms: u64,
) -> String {
    let items: Vec<String> = indexes
        .iter()
        .filter_map(|&i| symbols.get(i))
        .map(|s| {
            let t = &s.t;
            let open = round_decimals(t.open, s.decimals);
            let change = t.last - open;
            let percent = if open > 0.0 {
                round_decimals(change / open * 100.0, 3)
            } else {
                0.0
            };
            // `-0.000` is not something Binance prints.
            let percent = if percent == 0.0 { 0.0 } else { percent };
            let weighted = if t.base_volume > 0.0 {
                t.quote_volume / t.base_volume
            } else {
                t.last
            };
            let mut o = JsonObject::with_capacity(384);
            o.str("e", "1dTicker")
                .int("E", ms(event_ms))
                .str("s", &s.symbol)
                .str("p", &price(change))
                .str("P", &format!("{percent:.3}"))
                .str("o", &price(open))
                .str("h", &price(t.high))
                .str("l", &price(t.low))
                .str("c", &price(t.last))
                .str("w", &price(weighted))
                .str("v", &price(t.base_volume))
                .str("q", &price(t.quote_volume))
                .int("O", ms(window_open(event_ms)))
                .int("C", ms(event_ms.saturating_sub(1)))
                .int("F", ms(t.first_id))
                .int("L", ms(t.last_id))
                .int("n", ms(t.last_id - t.first_id + 1));
            o.finish()
        })
        .collect();
    format!("[{}]", items.join(","))
}

/// The `!miniTicker@arr` data array for the changed `indexes` (`e`=`24hrMiniTicker`).
pub(crate) fn mini_array(symbols: &[BinanceSymbol], indexes: &[usize], event_ms: u64) -> String {
    let items: Vec<String> = indexes
        .iter()
        .filter_map(|&i| symbols.get(i))
        .map(|s| {
            let t = &s.t;
            let mut o = JsonObject::with_capacity(256);
            o.str("e", "24hrMiniTicker")
                .int("E", ms(event_ms))
                .str("s", &s.symbol)
                .str("c", &price(t.last))
                .str("o", &price(round_decimals(t.open, s.decimals)))
                .str("h", &price(t.high))
                .str("l", &price(t.low))
                .str("v", &price(t.base_volume))
                .str("q", &price(t.quote_volume));
            o.finish()
        })
        .collect();
    format!("[{}]", items.join(","))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_open_snaps_to_the_minute() {
        assert_eq!(window_open(1_795_000_123_456), 1_794_913_680_000);
    }
}
