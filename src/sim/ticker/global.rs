//! Rolling-window spot tickers of the global venues (Binance, Bybit, OKX): one symbol's last
//! trade, 24 h open/high/low and volumes. The venues differ only on the wire.

use rand::Rng;
use rand::rngs::StdRng;

use super::super::coins::COINS;
use super::super::market::{STEPS_PER_DAY, normal};
use super::super::wire::round_decimals;
use super::{DECAY, significant_decimals, trade_probability, trade_value};

/// How a global spot symbol is quoted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BinancePair {
    /// `{coin}USDT`
    Usdt(usize),
    /// `{coin}BTC`
    Btc(usize),
    /// `{coin}FDUSD`
    Fdusd(usize),
    /// `{coin}USDC` (Bybit, OKX)
    Usdc(usize),
}

impl BinancePair {
    /// The coin index.
    pub(crate) fn coin(self) -> usize {
        match self {
            BinancePair::Usdt(c)
            | BinancePair::Btc(c)
            | BinancePair::Fdusd(c)
            | BinancePair::Usdc(c) => c,
        }
    }

    /// `(base, quote)` tickers (`("BTC", "USDT")`).
    pub(crate) fn base_quote(self) -> (&'static str, &'static str) {
        let quote = match self {
            BinancePair::Usdt(_) => "USDT",
            BinancePair::Btc(_) => "BTC",
            BinancePair::Fdusd(_) => "FDUSD",
            BinancePair::Usdc(_) => "USDC",
        };
        (COINS[self.coin()].symbol, quote)
    }
}

/// One global spot symbol and its rolling-window counters.
#[derive(Debug, Clone)]
pub(crate) struct BinanceSymbol {
    /// The venue's name for it: `BTCUSDT` (Binance, Bybit) or `BTC-USDT` (OKX).
    pub symbol: String,
    pub pair: BinancePair,
    /// Decimals of the price unit (Binance prints 8 regardless; values are rounded to this).
    pub decimals: i32,
    trade_prob: f64,
    avg_trade_value: f64,
    pub t: BinanceTicker,
}

/// The fields of a rolling-window ticker.
#[derive(Debug, Clone)]
pub(crate) struct BinanceTicker {
    pub open: f64,
    pub high: f64,
    pub low: f64,
    pub last: f64,
    /// Base quantity of the last trade.
    pub last_qty: f64,
    pub base_volume: f64,
    pub quote_volume: f64,
    pub first_id: u64,
    pub last_id: u64,
    count: f64,
}

impl BinanceSymbol {
    pub(crate) fn new(
        pair: BinancePair,
        fair: f64,
        change: f64,
        quote_24h: f64,
        usdt_24h: f64,
        rng: &mut StdRng,
    ) -> Self {
        let (base, quote) = pair.base_quote();
        let symbol = format!("{base}{quote}");
        let decimals = significant_decimals(fair, 6);
        let trade_prob = trade_probability(usdt_24h, 0.3, 1e7);
        let last = round_decimals(fair, decimals);
        let open = round_decimals(fair / (1.0 + change), decimals);
        let high = round_decimals(
            open.max(last) * (1.0 + rng.random_range(0.0..0.02)),
            decimals,
        );
        let low = round_decimals(
            open.min(last) * (1.0 - rng.random_range(0.0..0.02)),
            decimals,
        );
        let quote_volume = quote_24h * rng.random_range(0.7..1.3);
        let avg_trade_value = quote_24h / (STEPS_PER_DAY * trade_prob);
        let count = (quote_volume / (avg_trade_value / 3.0)).max(1.0).round();
        let last_id = rng.random_range(100_000_000..4_000_000_000_u64);
        let t = BinanceTicker {
            open,
            high,
            low,
            last,
            last_qty: round_decimals(avg_trade_value / last, 6),
            base_volume: quote_volume / f64::midpoint(open, last),
            quote_volume,
            first_id: last_id.saturating_sub(count_u64(count)),
            last_id,
            count,
        };
        BinanceSymbol {
            symbol,
            pair,
            decimals,
            trade_prob,
            avg_trade_value,
            t,
        }
    }

    /// One model step; returns whether the symbol traded (and so belongs in "changed" arrays).
    pub(crate) fn step(&mut self, fair: f64, rng: &mut StdRng) -> bool {
        let t = &mut self.t;
        t.base_volume *= DECAY;
        t.quote_volume *= DECAY;
        t.count *= DECAY;
        // The rolling window's open follows the price a day behind; a slow pull approximates it.
        t.open += (t.last - t.open) / STEPS_PER_DAY;
        if !rng.random_bool(self.trade_prob) {
            return false;
        }
        let price = round_decimals(fair * (1.0 + 0.000_1 * normal(rng)), self.decimals);
        let trades = rng.random_range(1..=4_u64);
        let value = trade_value(self.avg_trade_value, rng);
        t.last = price;
        t.last_qty = value / price;
        t.high = t.high.max(price);
        t.low = t.low.min(price);
        t.quote_volume += value;
        t.base_volume += value / price;
        t.last_id += trades;
        t.count += trades as f64;
        t.first_id = t.last_id.saturating_sub(count_u64(t.count));
        true
    }
}

#[expect(
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    reason = "a trade count: non-negative and far below 2^53"
)]
fn count_u64(count: f64) -> u64 {
    count.max(0.0).round() as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binance_decimals_keep_six_digits() {
        assert_eq!(significant_decimals(101_234.5, 6), 2);
        assert_eq!(significant_decimals(2.31, 6), 5);
        assert_eq!(significant_decimals(0.000_006_2, 6), 8);
    }

    #[test]
    fn pairs_name_base_and_quote() {
        assert_eq!(BinancePair::Usdc(0).base_quote(), ("BTC", "USDC"));
        assert_eq!(BinancePair::Btc(1).base_quote(), ("ETH", "BTC"));
    }
}
