//! [`ModelState`]: a comparable view of the model, for tests and `--demo` checks.

use super::MarketModel;

/// Comparable view of the model: rates and every last price.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelState {
    pub usd_krw: f64,
    pub usdt_krw: f64,
    pub kimp_usdt: f64,
    /// `(code, trade_price)` for every Upbit market, `KRW-BTC` style.
    pub upbit: Vec<(String, f64)>,
    /// `(symbol, last price)` for every Binance symbol, `BTCUSDT` style.
    pub binance: Vec<(String, f64)>,
    /// `(code, trade_price)` for every Bithumb market, `KRW-BTC` style.
    pub bithumb: Vec<(String, f64)>,
    /// `(symbol, lastPrice)` for every Bybit spot symbol, `BTCUSDT` style.
    pub bybit: Vec<(String, f64)>,
    /// `(instId, last)` for every OKX spot instrument, `BTC-USDT` style.
    pub okx: Vec<(String, f64)>,
}

/// `(name, last price)` of every market in `items`.
fn named<T>(items: &[T], f: impl Fn(&T) -> (&str, f64)) -> Vec<(String, f64)> {
    items
        .iter()
        .map(|x| {
            let (name, price) = f(x);
            (name.to_owned(), price)
        })
        .collect()
}

impl MarketModel {
    /// Comparable snapshot of rates and last prices.
    #[must_use]
    pub fn state(&self) -> ModelState {
        ModelState {
            usd_krw: self.fx,
            usdt_krw: self.usdt_krw(),
            kimp_usdt: self.kimp,
            upbit: named(&self.upbit, |m| (&m.code, m.t.last)),
            binance: named(&self.binance, |s| (&s.symbol, s.t.last)),
            bithumb: named(&self.bithumb, |m| (&m.code, m.t.last)),
            bybit: named(&self.bybit, |s| (&s.symbol, s.t.last)),
            okx: named(&self.okx, |i| (&i.s.symbol, i.s.t.last)),
        }
    }
}
