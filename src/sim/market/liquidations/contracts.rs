//! The contracts each derivatives venue liquidates, with the units its wire uses.
//!
//! | venue | contracts | size unit |
//! |---|---|---|
//! | Binance USD-M | `{COIN}USDT` for every Binance coin; `1000PEPEUSDT`, `1000SHIBUSDT` | coins (× 1,000 on the multiplier symbols, whose price is per 1,000 coins) |
//! | Bybit linear | `{COIN}USDT` for every Bybit coin; `1000PEPEUSDT`, `SHIB1000USDT` | as Binance |
//! | OKX SWAP | `{COIN}-USDT-SWAP` (linear, `ctVal` coins per contract); `BTC-USD-SWAP` (100 USD), `ETH-USD-SWAP` (10 USD) | contracts |
//! | BitMEX | `XBTUSD` (inverse, 1 USD), `ETHUSD` (quanto, 100 satoshi per USD of price), `XBTUSDT` (linear, 10⁻⁶ XBT) | contracts |
//!
//! A coin under 0.001 USD (`PEPE`, `SHIB`) trades per 1,000 coins on Binance and Bybit, as the real
//! ones do (`exchanges.md` §13). Arrivals are spread over a venue's contracts by the coin's traded
//! value, so majors dominate.

use super::super::super::coins::COINS;
use super::super::super::ticker::significant_decimals;
use super::LiqExchange;

/// Coins cheaper than this trade per 1,000 on Binance and Bybit.
const MULTIPLIER_BELOW_USD: f64 = 0.001;
/// OKX's `ctVal` of the majors (coins per contract); others get a round size worth about 100 USD.
const OKX_CT_VAL: &[(&str, f64)] = &[
    ("BTC", 0.01),
    ("ETH", 0.1),
    ("SOL", 1.0),
    ("XRP", 100.0),
    ("DOGE", 1_000.0),
    ("PEPE", 10_000_000.0),
    ("SHIB", 1_000_000.0),
];
/// OKX inverse swaps: `(coin, USD per contract, share of the coin's weight)`.
const OKX_INVERSE: &[(&str, f64, f64)] = &[("BTC", 100.0, 0.2), ("ETH", 10.0, 0.15)];

/// How a contract is sized.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ContractKind {
    /// One size unit is `coins` coins (Binance/Bybit 1, or 1,000 on a multiplier symbol; OKX
    /// linear: `ctVal`; BitMEX `XBTUSDT`: 10⁻⁶).
    Linear { coins: f64 },
    /// One contract is worth `usd` USD (OKX `BTC-USD-SWAP` 100, BitMEX `XBTUSD` 1).
    Inverse { usd: f64 },
    /// BitMEX quanto (`ETHUSD`): one contract is worth `price × multiplier` satoshis.
    Quanto { multiplier: f64 },
}

/// One liquidating contract of one venue.
#[derive(Debug, Clone, PartialEq)]
pub struct LiqContract {
    /// The venue's name: `BTCUSDT`, `1000PEPEUSDT`, `BTC-USDT-SWAP`, `XBTUSD`.
    pub symbol: String,
    /// Index in [`COINS`].
    pub coin: usize,
    pub kind: ContractKind,
    /// Venue price units per USD of the coin's price: 1,000 on `1000PEPEUSDT`, else 1.
    pub price_scale: f64,
    /// Price step and the decimals that spell it.
    pub tick: f64,
    pub price_decimals: i32,
    /// Size step (venue units) and the decimals that spell it.
    pub lot: f64,
    pub lot_decimals: i32,
    /// Share of the venue's arrivals (relative).
    pub(super) weight: f64,
}

impl LiqContract {
    /// A price in venue units rounded to the tick.
    #[must_use]
    pub fn round_price(&self, price: f64) -> f64 {
        let steps = (price / self.tick).round().max(1.0);
        round_to(steps * self.tick, self.price_decimals)
    }

    /// `notional` USD as a size in venue units (at least one lot) at coin price `usd`.
    #[must_use]
    pub fn size_for(&self, notional: f64, usd: f64, xbt_usd: f64) -> f64 {
        let per_unit = self.usd_per_unit(usd, xbt_usd);
        let lots = (notional / per_unit / self.lot).round().max(1.0);
        round_to(lots * self.lot, self.lot_decimals)
    }

    /// USD value of one size unit at coin price `usd` (XBT at `xbt_usd`).
    #[must_use]
    pub fn usd_per_unit(&self, usd: f64, xbt_usd: f64) -> f64 {
        match self.kind {
            ContractKind::Linear { coins } => coins * usd,
            ContractKind::Inverse { usd: per } => per,
            ContractKind::Quanto { multiplier } => usd * multiplier * 1e-8 * xbt_usd,
        }
    }

    /// `size` units reduced to `fraction`, on the lot grid, at least one lot.
    #[must_use]
    pub fn part_of(&self, size: f64, fraction: f64) -> f64 {
        let lots = (size * fraction / self.lot).round().max(1.0);
        round_to(lots * self.lot, self.lot_decimals)
    }
}

fn round_to(value: f64, decimals: i32) -> f64 {
    if decimals <= 0 {
        value.round()
    } else {
        let scale = 10f64.powi(decimals);
        (value * scale).round() / scale
    }
}

/// Decimals of a power-of-ten step (`0.01` → 2, `100` → 0).
#[expect(
    clippy::cast_possible_truncation,
    reason = "log10 of a power-of-ten step is a small integer"
)]
fn step_decimals(step: f64) -> i32 {
    (-step.log10().round() as i32).max(0)
}

/// Binance/Bybit size step: about one coin's worth of significant digits (BTC 0.001, XRP 1).
#[expect(
    clippy::cast_possible_truncation,
    reason = "log10 of a positive price is a small float"
)]
fn lot_for_price(price: f64) -> f64 {
    let decimals = (price.log10().round() as i32 - 1).clamp(0, 3);
    10f64.powi(-decimals)
}

/// Price step and printed decimals: five significant digits (two decimals at least, as Bybit's
/// `priceScale`), the step ten times coarser from 10,000 up (`BTCUSDT`: step 0.1, `"82396.90"`).
fn tick_for_price(price: f64) -> (f64, i32) {
    let decimals = significant_decimals(price, 5);
    let coarse = i32::from(price >= 10_000.0);
    (10f64.powi(coarse - decimals), decimals)
}

/// A Binance- or Bybit-style linear perpetual on coin `coin` named by `name(base, multiplied)`.
fn usdt_perp(coin: usize, weight: f64, multiplier_name: fn(&str) -> String) -> LiqContract {
    let spec = &COINS[coin];
    let multiplied = spec.usd < MULTIPLIER_BELOW_USD;
    let (symbol, scale) = if multiplied {
        (multiplier_name(spec.symbol), 1_000.0)
    } else {
        (format!("{}USDT", spec.symbol), 1.0)
    };
    let price = spec.usd * scale;
    let (tick, price_decimals) = tick_for_price(price);
    let lot = lot_for_price(price);
    LiqContract {
        symbol,
        coin,
        kind: ContractKind::Linear { coins: scale },
        price_scale: scale,
        tick,
        price_decimals,
        lot,
        lot_decimals: step_decimals(lot),
        weight,
    }
}

fn binance() -> Vec<LiqContract> {
    COINS
        .iter()
        .enumerate()
        .filter(|(_, c)| c.on_binance() && c.usdt_24h > 0.0)
        .map(|(i, c)| usdt_perp(i, c.usdt_24h, |base| format!("1000{base}USDT")))
        .collect()
}

fn bybit() -> Vec<LiqContract> {
    COINS
        .iter()
        .enumerate()
        .filter(|(_, c)| c.on_bybit() && c.usdt_24h > 0.0)
        .map(|(i, c)| {
            // Bybit names SHIB's the other way round (`SHIB1000USDT`).
            let name = if c.symbol == "SHIB" {
                |base: &str| format!("{base}1000USDT")
            } else {
                |base: &str| format!("1000{base}USDT")
            };
            usdt_perp(i, c.usdt_24h, name)
        })
        .collect()
}

#[expect(
    clippy::cast_possible_truncation,
    reason = "log10 of a positive ratio is a small float"
)]
fn okx() -> Vec<LiqContract> {
    let mut out: Vec<LiqContract> = COINS
        .iter()
        .enumerate()
        .filter(|(_, c)| c.on_okx() && c.usdt_24h > 0.0)
        .map(|(i, c)| {
            let ct_val = OKX_CT_VAL.iter().find(|(s, _)| *s == c.symbol).map_or_else(
                || 10f64.powi((100.0 / c.usd).log10().round() as i32),
                |&(_, v)| v,
            );
            let (tick, price_decimals) = tick_for_price(c.usd);
            let lot = if ["BTC", "ETH", "SOL"].contains(&c.symbol) {
                0.01
            } else {
                1.0
            };
            LiqContract {
                symbol: format!("{}-USDT-SWAP", c.symbol),
                coin: i,
                kind: ContractKind::Linear { coins: ct_val },
                price_scale: 1.0,
                tick,
                price_decimals,
                lot,
                lot_decimals: step_decimals(lot),
                weight: c.usdt_24h,
            }
        })
        .collect();
    for &(base, usd, share) in OKX_INVERSE {
        let Some((i, c)) = COINS.iter().enumerate().find(|(_, c)| c.symbol == base) else {
            continue;
        };
        let (tick, price_decimals) = tick_for_price(c.usd);
        out.push(LiqContract {
            symbol: format!("{base}-USD-SWAP"),
            coin: i,
            kind: ContractKind::Inverse { usd },
            price_scale: 1.0,
            tick,
            price_decimals,
            lot: 1.0,
            lot_decimals: 0,
            weight: c.usdt_24h * share,
        });
    }
    out
}

fn bitmex() -> Vec<LiqContract> {
    let btc = 0;
    let eth = COINS.iter().position(|c| c.symbol == "ETH").unwrap_or(btc);
    let contract = |symbol: &str, coin, kind, (tick, price_decimals), lot, weight| LiqContract {
        symbol: symbol.to_owned(),
        coin,
        kind,
        price_scale: 1.0,
        tick,
        price_decimals,
        lot,
        lot_decimals: 0,
        weight,
    };
    vec![
        contract(
            "XBTUSD",
            btc,
            ContractKind::Inverse { usd: 1.0 },
            (0.5, 1),
            100.0,
            0.6,
        ),
        contract(
            "ETHUSD",
            eth,
            ContractKind::Quanto { multiplier: 100.0 },
            (0.05, 2),
            1.0,
            0.15,
        ),
        contract(
            "XBTUSDT",
            btc,
            ContractKind::Linear { coins: 1e-6 },
            (0.5, 1),
            1_000.0,
            0.25,
        ),
    ]
}

/// Every venue's contracts, in [`LiqExchange::ALL`] order.
pub(super) fn all() -> [Vec<LiqContract>; 4] {
    let lists = [binance(), bybit(), okx(), bitmex()];
    debug_assert_eq!(lists.len(), LiqExchange::ALL.len());
    lists
}

#[cfg(test)]
mod tests {
    use super::*;

    fn find<'a>(list: &'a [LiqContract], symbol: &str) -> &'a LiqContract {
        list.iter()
            .find(|c| c.symbol == symbol)
            .unwrap_or_else(|| panic!("{symbol} missing"))
    }

    #[test]
    fn names_units_and_steps_follow_the_venues() {
        let [binance, bybit, okx, bitmex] = all();
        let btc = find(&binance, "BTCUSDT");
        assert_eq!(
            (btc.lot, btc.lot_decimals, btc.price_decimals),
            (0.001, 3, 2)
        );
        let pepe = find(&binance, "1000PEPEUSDT");
        assert!((pepe.price_scale - 1_000.0).abs() < f64::EPSILON);
        assert_eq!(pepe.price_decimals, 7);
        find(&binance, "1000SHIBUSDT");
        find(&bybit, "SHIB1000USDT");
        find(&bybit, "1000PEPEUSDT");
        assert!(bybit.iter().all(|c| c.symbol != "STXUSDT"));
        let ok = find(&okx, "BTC-USDT-SWAP");
        assert_eq!(ok.kind, ContractKind::Linear { coins: 0.01 });
        assert_eq!(
            find(&okx, "ADA-USDT-SWAP").kind,
            ContractKind::Linear { coins: 100.0 }
        );
        assert_eq!(
            find(&okx, "BTC-USD-SWAP").kind,
            ContractKind::Inverse { usd: 100.0 }
        );
        let names: Vec<&str> = bitmex.iter().map(|c| c.symbol.as_str()).collect();
        assert_eq!(names, ["XBTUSD", "ETHUSD", "XBTUSDT"]);
    }

    #[test]
    fn sizes_land_on_the_lot_grid() {
        let [_, _, okx, bitmex] = all();
        let xbtusd = &bitmex[0];
        assert!((xbtusd.size_for(12_345.0, 100_000.0, 100_000.0) - 12_300.0).abs() < 1e-9);
        assert!((xbtusd.size_for(3.0, 100_000.0, 100_000.0) - 100.0).abs() < 1e-9);
        let ethusd = &bitmex[1];
        // 3,400 × 100 sat × 100,000 USD/XBT = 340 USD per contract.
        assert!((ethusd.usd_per_unit(3_400.0, 100_000.0) - 340.0).abs() < 1e-9);
        let btc = find(&okx, "BTC-USDT-SWAP");
        assert!((btc.size_for(10_000.0, 100_000.0, 0.0) - 10.0).abs() < 1e-9);
        assert!((btc.round_price(101_234.56) - 101_234.6).abs() < 1e-9);
        assert!((btc.part_of(10.0, 0.333) - 3.33).abs() < 1e-9);
    }
}
