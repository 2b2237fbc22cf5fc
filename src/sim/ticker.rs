//! Per-market ticker state of the model: what a Korean market (Upbit, Bithumb) or a global spot
//! symbol (Binance, Bybit, OKX; `global.rs`) has traded.
//!
//! Each market keeps the counters its venue publishes (Upbit: daily open/high/low since 00:00 UTC,
//! Bithumb the same since 00:00 KST, `acc_trade_*` since the day start and over a rolling 24 h;
//! global venues: a rolling 1-day window). Rolling counters decay by `1 / STEPS_PER_DAY` per step
//! while trades add to them, so they hover around the coin's typical daily value however long the
//! simulator runs.

mod global;

pub(crate) use global::{BinancePair, BinanceSymbol};

use rand::Rng;
use rand::rngs::StdRng;

use super::clock::{DAY_MS, date_dashed_utc};
use super::coins::{COINS, USDT_NAMES};
use super::market::{STEPS_PER_DAY, normal};
use super::wire::round_decimals;

const DECAY: f64 = 1.0 - 1.0 / STEPS_PER_DAY;

/// How a Korean market is quoted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum UpbitQuote {
    /// `KRW-{coin}`
    Krw(usize),
    /// `KRW-USDT`: the domestic USDT rate.
    KrwUsdt,
    /// `BTC-{coin}`
    Btc(usize),
    /// `USDT-{coin}`
    Usdt(usize),
}

impl UpbitQuote {
    fn code(self) -> String {
        match self {
            UpbitQuote::Krw(c) => format!("KRW-{}", COINS[c].symbol),
            UpbitQuote::KrwUsdt => "KRW-USDT".to_owned(),
            UpbitQuote::Btc(c) => format!("BTC-{}", COINS[c].symbol),
            UpbitQuote::Usdt(c) => format!("USDT-{}", COINS[c].symbol),
        }
    }

    fn names(self) -> (&'static str, &'static str) {
        match self {
            UpbitQuote::Krw(c) | UpbitQuote::Btc(c) | UpbitQuote::Usdt(c) => {
                (COINS[c].name_ko, COINS[c].name_en)
            }
            UpbitQuote::KrwUsdt => USDT_NAMES,
        }
    }

    /// Rounds to the market's price unit (Upbit's KRW 호가 단위; 8 decimals on BTC markets).
    fn round(self, price: f64) -> f64 {
        match self {
            UpbitQuote::Krw(_) | UpbitQuote::KrwUsdt => {
                let (unit, decimals) = upbit_krw_unit(price);
                if unit >= 1.0 {
                    ((price / unit).round() * unit).max(unit)
                } else {
                    round_decimals(price, decimals)
                }
            }
            UpbitQuote::Btc(_) => round_decimals(price, 8),
            UpbitQuote::Usdt(_) => round_decimals(price, significant_decimals(price, 6)),
        }
    }
}

/// Upbit's KRW price unit for a price level: `(unit, decimals)`.
fn upbit_krw_unit(price: f64) -> (f64, i32) {
    const UNITS: &[(f64, f64, i32)] = &[
        (2_000_000.0, 1_000.0, 0),
        (1_000_000.0, 500.0, 0),
        (500_000.0, 100.0, 0),
        (100_000.0, 50.0, 0),
        (10_000.0, 10.0, 0),
        (1_000.0, 1.0, 0),
        (100.0, 0.1, 1),
        (10.0, 0.01, 2),
        (1.0, 0.001, 3),
        (0.1, 0.000_1, 4),
        (0.01, 0.000_01, 5),
        (0.001, 0.000_001, 6),
    ];
    UNITS
        .iter()
        .find(|(min, _, _)| price >= *min)
        .map_or((1e-8, 8), |&(_, unit, decimals)| (unit, decimals))
}

/// Decimals that keep `digits` significant digits at this price level (2 to 8, like Binance).
#[expect(
    clippy::cast_possible_truncation,
    reason = "log10 of a positive price is a small integer-valued float"
)]
pub(crate) fn significant_decimals(price: f64, digits: i32) -> i32 {
    let magnitude = if price > 0.0 {
        price.log10().floor() as i32
    } else {
        0
    };
    (digits - 1 - magnitude).clamp(2, 8)
}

/// Trade probability per step from a typical daily traded value (KRW or USDT).
fn trade_probability(daily_value: f64, per_decade: f64, floor_value: f64) -> f64 {
    (0.1 + per_decade * (daily_value / floor_value).max(1.0).log10()).clamp(0.05, 0.95)
}

/// A trade's value: lognormal around the mean, sometimes tiny (dust trades make the tiny
/// exponent-form volumes the real feed carries).
fn trade_value(avg: f64, rng: &mut StdRng) -> f64 {
    let v = avg * (normal(rng) - 0.5).exp();
    if rng.random_bool(0.08) { v * 0.002 } else { v }
}

/// One Upbit market and its ticker counters.
#[derive(Debug, Clone)]
pub(crate) struct UpbitMarket {
    pub code: String,
    pub name_ko: &'static str,
    pub name_en: &'static str,
    pub quote: UpbitQuote,
    pub warning: bool,
    pub global_price_differences: bool,
    trade_prob: f64,
    avg_trade_value: f64,
    /// Where the venue's day starts: 0 = 00:00 UTC (Upbit), 9 h = 00:00 KST (Bithumb).
    day_offset_ms: u64,
    pub t: UpbitTicker,
}

/// The fields of Upbit's `ticker` message.
#[derive(Debug, Clone)]
pub(crate) struct UpbitTicker {
    pub opening: f64,
    pub high: f64,
    pub low: f64,
    pub last: f64,
    pub prev_close: f64,
    /// Price 24 h ago (a slow pull approximates the rolling window; Bithumb's `fluctate_24H`).
    pub open_24h: f64,
    pub trade_volume: f64,
    pub ask: bool,
    pub acc_price: f64,
    pub acc_volume: f64,
    pub acc_price_24h: f64,
    pub acc_volume_24h: f64,
    pub acc_ask_volume: f64,
    pub acc_bid_volume: f64,
    pub trade_ms: u64,
    pub high_52w: f64,
    pub high_52w_date: String,
    pub low_52w: f64,
    pub low_52w_date: String,
    day: u64,
}

impl UpbitMarket {
    /// `krw_24h` is the typical daily value in KRW, `krw_per_quote` converts it to the quote.
    pub(crate) fn new(
        quote: UpbitQuote,
        fair: f64,
        change: f64,
        (krw_24h, krw_per_quote): (f64, f64),
        (warning, global_price_differences): (bool, bool),
        start_ms: u64,
        rng: &mut StdRng,
    ) -> Self {
        let trade_prob = trade_probability(krw_24h, 0.3, 1e9);
        let value_24h = krw_24h / krw_per_quote;
        let last = quote.round(fair);
        let prev_close = quote.round(fair / (1.0 + change));
        let opening = quote.round(prev_close * (1.0 + 0.002 * normal(rng)));
        // USDT is pegged: its daily and yearly ranges are a fraction of a coin's.
        let calm = if quote == UpbitQuote::KrwUsdt {
            0.15
        } else {
            1.0
        };
        let high = quote.round(opening.max(last) * (1.0 + calm * rng.random_range(0.0..0.02)));
        let low = quote.round(opening.min(last) * (1.0 - calm * rng.random_range(0.0..0.02)));
        let acc_price_24h = value_24h * rng.random_range(0.7..1.3);
        let day_fraction = (start_ms % DAY_MS) as f64 / DAY_MS as f64;
        let acc_price = acc_price_24h * day_fraction.max(0.02) * rng.random_range(0.8..1.2);
        let mid = f64::midpoint(opening, last);
        let acc_volume = round_decimals(acc_price / mid, 8);
        let acc_ask_volume = round_decimals(acc_volume * rng.random_range(0.4..0.6), 8);
        let avg_trade_value = value_24h / (STEPS_PER_DAY * trade_prob);
        let trade_volume = round_decimals(trade_value(avg_trade_value, rng) / last, 8).max(1e-8);
        let (code, (name_ko, name_en)) = (quote.code(), quote.names());
        let t = UpbitTicker {
            opening,
            high,
            low,
            last,
            prev_close,
            open_24h: prev_close,
            trade_volume,
            ask: rng.random_bool(0.5),
            acc_price,
            acc_volume,
            acc_price_24h,
            acc_volume_24h: round_decimals(acc_price_24h / mid, 8),
            acc_ask_volume,
            acc_bid_volume: round_decimals(acc_volume - acc_ask_volume, 8),
            trade_ms: start_ms.saturating_sub(rng.random_range(0..3_000)),
            high_52w: quote.round(high * (1.0 + calm * rng.random_range(0.2..1.0))),
            high_52w_date: date_dashed_utc(start_ms, rng.random_range(30..300)),
            low_52w: quote.round(low * (1.0 - calm * rng.random_range(0.15..0.55))),
            low_52w_date: date_dashed_utc(start_ms, rng.random_range(1..360)),
            day: start_ms / DAY_MS,
        };
        UpbitMarket {
            code,
            name_ko,
            name_en,
            quote,
            warning,
            global_price_differences,
            trade_prob,
            avg_trade_value,
            day_offset_ms: 0,
            t,
        }
    }

    /// The venue's day starts `offset_ms` after 00:00 UTC (Bithumb: 00:00 KST is 15:00 UTC the
    /// day before, so pass 9 h).
    pub(crate) fn with_day_offset(mut self, offset_ms: u64, now_ms: u64) -> Self {
        self.day_offset_ms = offset_ms;
        self.t.day = (now_ms + offset_ms) / DAY_MS;
        self
    }

    /// One model step; returns whether the market traded (and so publishes a ticker).
    pub(crate) fn step(&mut self, fair: f64, now_ms: u64, rng: &mut StdRng) -> bool {
        let t = &mut self.t;
        t.acc_price_24h *= DECAY;
        t.acc_volume_24h *= DECAY;
        t.open_24h += (t.last - t.open_24h) / STEPS_PER_DAY;
        if !rng.random_bool(self.trade_prob) {
            return false;
        }
        let day = (now_ms + self.day_offset_ms) / DAY_MS;
        if day != t.day {
            // The day (and the change vs the previous close) resets at 00:00 UTC on Upbit,
            // 00:00 KST on Bithumb.
            t.day = day;
            t.prev_close = t.last;
            t.opening = t.last;
            t.high = t.last;
            t.low = t.last;
            t.acc_price = 0.0;
            t.acc_volume = 0.0;
            t.acc_ask_volume = 0.0;
            t.acc_bid_volume = 0.0;
        }
        let ask = rng.random_bool(0.5);
        // Sells hit the bid, buys lift the ask: half a spread either side of fair.
        let half_spread = 0.000_15 * fair * rng.random::<f64>();
        let price = self.quote.round(if ask {
            fair - half_spread
        } else {
            fair + half_spread
        });
        let volume = round_decimals(trade_value(self.avg_trade_value, rng) / price, 8).max(1e-8);
        t.last = price;
        t.high = t.high.max(price);
        t.low = t.low.min(price);
        t.trade_volume = volume;
        t.ask = ask;
        t.acc_price += price * volume;
        t.acc_volume += volume;
        t.acc_price_24h += price * volume;
        t.acc_volume_24h += volume;
        if ask {
            t.acc_ask_volume += volume;
        } else {
            t.acc_bid_volume += volume;
        }
        t.trade_ms = now_ms;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upbit_units_follow_the_price_level() {
        let btc = UpbitQuote::Krw(0);
        assert!((btc.round(143_210_432.0) - 143_210_000.0).abs() < 1e-6);
        assert!((UpbitQuote::KrwUsdt.round(1_402.4) - 1_402.0).abs() < 1e-9);
        assert!((btc.round(0.014_023_7) - 0.014_02).abs() < 1e-12);
        assert!((btc.round(532.17) - 532.2).abs() < 1e-9);
        assert!((UpbitQuote::Btc(1).round(0.033_712_345_67) - 0.033_712_35).abs() < 1e-12);
    }
}
