//! The seeded market model behind every simulated venue.
//!
//! One [`MarketModel::step`] is [`STEP_MS`] of market time. Each step moves the USD/KRW rate, the
//! tether premium, the market-wide kimchi premium and every coin's USD price (a mean-reverting
//! random walk with a common market factor), then lets a random subset of each venue's markets
//! trade. Upbit's KRW price is derived exactly as the premium formulas read it back:
//! `K = G × U × (1 + kimp_usdt)` with `U = F × (1 + tether_premium)`, so a client that computes the
//! premium from the wire recovers the model's numbers. Bithumb, Bybit and OKX trade a small,
//! wandering basis away from Upbit and Binance (`market/venues.rs`). Liquidations on the
//! derivatives venues arrive with the market (`market/liquidations.rs`). Everything random comes from
//! `StdRng`s seeded from `seed` and drawn in a fixed order: same seed and start time ⇒ same states.

mod liquidations;
mod state;
mod venues;

pub use liquidations::{
    BitmexOrder, ContractKind, LIQUIDATION_RATE_RANGE, LiqContract, LiqExchange, LiqStep,
    RATES_PER_MIN, SimLiquidation,
};
pub use state::ModelState;
pub(crate) use venues::OkxInst;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::clock::DAY_MS;
use super::coins::{
    BINANCE_CROSS, COINS, GLOBAL_PRICE_DIFFERENCES_COIN, GLOBAL_PRICE_DIFFERENCES_EXTRA,
    UPBIT_CROSS, WARNING_COIN, index_of,
};
use super::ticker::{BinancePair, BinanceSymbol, UpbitMarket, UpbitQuote};
use super::wire::round_decimals;
use liquidations::Liquidations;
use venues::Others;

/// Market time covered by one model step.
pub const STEP_MS: u64 = 250;
/// Steps in a day of market time: rolling 24 h counters decay by `1 / STEPS_PER_DAY` per step.
pub(crate) const STEPS_PER_DAY: f64 = (DAY_MS / STEP_MS) as f64;
/// Real intraday volatility makes a dull demo; prices move this many times faster.
const VOL_BOOST: f64 = 3.0;
/// Share of a coin's move that comes from the common market factor (crypto moves together).
const MARKET_BETA: f64 = 0.6;
/// Pull of a coin's log price back to its anchor per step, so hour-long demos stay realistic.
const PRICE_REVERSION: f64 = 2e-5;
/// Dunamu republishes the bank quote about once a minute.
const FX_QUOTE_EVERY_STEPS: u64 = 240;
const USD_KRW_LEVEL: f64 = 1384.0;
const TETHER_PREMIUM_LEVEL: f64 = 0.013;
const KIMP_LEVEL: f64 = 0.010;

/// The last published Dunamu bank quote.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct FxQuote {
    pub price: f64,
    pub open: f64,
    pub high: f64,
    pub low: f64,
    pub prev_close: f64,
    pub updated_ms: u64,
    pub updates_today: u32,
}

/// What traded in one step (indexes into each venue's markets) and what liquidated.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Step {
    pub upbit: Vec<usize>,
    pub binance: Vec<usize>,
    pub bithumb: Vec<usize>,
    pub bybit: Vec<usize>,
    pub okx: Vec<usize>,
    pub liquidations: LiqStep,
}

#[derive(Debug, Clone)]
struct Coin {
    usd: f64,
    anchor_ln: f64,
    premium: f64,
    premium_level: f64,
    change_24h: f64,
}

/// The whole simulated market.
#[derive(Debug, Clone)]
pub struct MarketModel {
    rng: StdRng,
    coins: Vec<Coin>,
    pub(crate) upbit: Vec<UpbitMarket>,
    pub(crate) binance: Vec<BinanceSymbol>,
    pub(crate) bithumb: Vec<UpbitMarket>,
    pub(crate) bybit: Vec<BinanceSymbol>,
    pub(crate) okx: Vec<OkxInst>,
    others: Others,
    liq: Liquidations,
    fx: f64,
    fx_level: f64,
    fx_daily: f64,
    pub(crate) fx_quote: FxQuote,
    tether_premium: f64,
    kimp: f64,
    steps: u64,
}

/// A standard normal draw (Box–Muller; `rand_distr` is not a dependency).
pub(crate) fn normal(rng: &mut StdRng) -> f64 {
    let u1 = rng.random::<f64>().max(f64::MIN_POSITIVE);
    let u2 = rng.random::<f64>();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// Mean-reverting step of `x` towards `level`.
fn revert(rng: &mut StdRng, x: f64, level: f64, pull: f64, sigma: f64) -> f64 {
    x + pull * (level - x) + sigma * normal(rng)
}

impl MarketModel {
    /// A fresh market at wall time `start_ms`, fully determined by `seed` and `start_ms`.
    #[must_use]
    pub fn new(seed: u64, start_ms: u64) -> Self {
        let mut rng = StdRng::seed_from_u64(seed);
        let fx_level = USD_KRW_LEVEL + 4.0 * normal(&mut rng);
        let fx = fx_level + 1.5 * normal(&mut rng);
        let coins: Vec<Coin> = COINS
            .iter()
            .map(|spec| {
                let anchor = spec.usd * (0.03 * normal(&mut rng)).exp();
                let usd = anchor * (0.01 * normal(&mut rng)).exp();
                let mut premium_level = 0.003 * normal(&mut rng);
                if spec.symbol == GLOBAL_PRICE_DIFFERENCES_COIN {
                    premium_level += GLOBAL_PRICE_DIFFERENCES_EXTRA;
                }
                let change_24h = (spec.daily_vol * normal(&mut rng)).clamp(-0.15, 0.15);
                Coin {
                    usd,
                    anchor_ln: anchor.ln(),
                    premium: premium_level,
                    premium_level,
                    change_24h,
                }
            })
            .collect();
        let fx_quote = FxQuote {
            price: fx_round(fx),
            open: fx_round(fx - normal(&mut rng)),
            high: fx_round(fx + 2.0),
            low: fx_round(fx - 2.5),
            prev_close: fx_round(fx + 1.5 * normal(&mut rng)),
            updated_ms: start_ms.saturating_sub(20_000),
            updates_today: 200,
        };
        let liq = Liquidations::new(seed, &coins, start_ms);
        let mut model = MarketModel {
            rng,
            coins,
            upbit: Vec::new(),
            binance: Vec::new(),
            bithumb: Vec::new(),
            bybit: Vec::new(),
            okx: Vec::new(),
            others: Others::new(seed),
            liq,
            fx,
            fx_level,
            fx_daily: round_decimals(fx + 0.8 * normal_fixed(seed), 4),
            fx_quote,
            tether_premium: TETHER_PREMIUM_LEVEL,
            kimp: KIMP_LEVEL,
            steps: 0,
        };
        model.list_markets(start_ms);
        model.list_others(start_ms);
        model
    }

    fn list_markets(&mut self, start_ms: u64) {
        let mut upbit = Vec::new();
        for (i, spec) in COINS.iter().enumerate().filter(|(_, c)| c.on_upbit()) {
            let quote = UpbitQuote::Krw(i);
            let flags = (
                spec.symbol == WARNING_COIN,
                spec.symbol == GLOBAL_PRICE_DIFFERENCES_COIN,
            );
            upbit.push(self.upbit_market(quote, spec.krw_24h, flags, start_ms));
        }
        upbit.push(self.upbit_market(UpbitQuote::KrwUsdt, 5.0e11, (false, false), start_ms));
        for &(quote, base) in UPBIT_CROSS {
            let Some(b) = index_of(base) else { continue };
            let q = if quote == "BTC" {
                UpbitQuote::Btc(b)
            } else {
                UpbitQuote::Usdt(b)
            };
            upbit.push(self.upbit_market(q, 3.0e8, (false, false), start_ms));
        }
        self.upbit = upbit;

        let mut binance = Vec::new();
        for (i, spec) in COINS.iter().enumerate().filter(|(_, c)| c.on_binance()) {
            let pair = BinancePair::Usdt(i);
            binance.push(self.binance_symbol(pair, spec.usdt_24h));
        }
        for &(base, quote) in BINANCE_CROSS {
            let Some(b) = index_of(base) else { continue };
            let pair = if quote == "FDUSD" {
                BinancePair::Fdusd(b)
            } else {
                BinancePair::Btc(b)
            };
            binance.push(self.binance_symbol(pair, 4.0e7));
        }
        self.binance = binance;
    }

    fn upbit_market(
        &mut self,
        quote: UpbitQuote,
        krw_24h: f64,
        (warning, global_diff): (bool, bool),
        start_ms: u64,
    ) -> UpbitMarket {
        let fair = self.upbit_fair(quote);
        let change = match quote {
            UpbitQuote::Krw(c) | UpbitQuote::Btc(c) | UpbitQuote::Usdt(c) => {
                self.coins[c].change_24h + 0.003 * normal(&mut self.rng)
            }
            UpbitQuote::KrwUsdt => 0.002 * normal(&mut self.rng),
        };
        // Traded value in the market's own quote currency.
        let krw_per_quote = match quote {
            UpbitQuote::Krw(_) | UpbitQuote::KrwUsdt => 1.0,
            UpbitQuote::Btc(_) => self.upbit_fair(UpbitQuote::Krw(0)),
            UpbitQuote::Usdt(_) => self.usdt_krw(),
        };
        UpbitMarket::new(
            quote,
            fair,
            change,
            (krw_24h, krw_per_quote),
            (warning, global_diff),
            start_ms,
            &mut self.rng,
        )
    }

    fn binance_symbol(&mut self, pair: BinancePair, usdt_24h: f64) -> BinanceSymbol {
        let fair = self.binance_fair(pair);
        let (change, quote_24h) = match pair {
            BinancePair::Usdt(c) | BinancePair::Fdusd(c) | BinancePair::Usdc(c) => {
                (self.coins[c].change_24h, usdt_24h)
            }
            BinancePair::Btc(c) => (
                self.coins[c].change_24h - self.coins[0].change_24h,
                usdt_24h / self.coins[0].usd,
            ),
        };
        BinanceSymbol::new(pair, fair, change, quote_24h, usdt_24h, &mut self.rng)
    }

    /// USDT/KRW as the domestic market prices it (before Upbit's 1 KRW tick).
    fn usdt_krw(&self) -> f64 {
        self.fx * (1.0 + self.tether_premium)
    }

    fn upbit_fair(&self, quote: UpbitQuote) -> f64 {
        match quote {
            UpbitQuote::Krw(c) => {
                let coin = &self.coins[c];
                coin.usd * self.usdt_krw() * (1.0 + self.kimp + coin.premium)
            }
            UpbitQuote::KrwUsdt => self.usdt_krw(),
            UpbitQuote::Btc(c) => self.coins[c].usd / self.coins[0].usd,
            UpbitQuote::Usdt(c) => self.coins[c].usd,
        }
    }

    fn binance_fair(&self, pair: BinancePair) -> f64 {
        match pair {
            BinancePair::Usdt(c) => self.coins[c].usd,
            BinancePair::Btc(c) => self.coins[c].usd / self.coins[0].usd,
            // FDUSD trades a hair under USDT, USDC a hair over.
            BinancePair::Fdusd(c) => self.coins[c].usd * 1.0003,
            BinancePair::Usdc(c) => self.coins[c].usd * 0.9998,
        }
    }

    /// Advances the market by one step at wall time `now_ms`; returns what traded.
    pub fn step(&mut self, now_ms: u64) -> Step {
        self.steps += 1;
        let rng = &mut self.rng;
        self.fx = revert(rng, self.fx, self.fx_level, 1e-4, 0.004);
        self.tether_premium = revert(rng, self.tether_premium, TETHER_PREMIUM_LEVEL, 2e-4, 4e-5);
        self.kimp = revert(rng, self.kimp, KIMP_LEVEL, 2e-4, 6e-5);
        let market = normal(rng);
        let idiosyncratic = (1.0 - MARKET_BETA * MARKET_BETA).sqrt();
        for (coin, spec) in self.coins.iter_mut().zip(COINS) {
            let sigma = spec.daily_vol / STEPS_PER_DAY.sqrt() * VOL_BOOST;
            let shock = MARKET_BETA * market + idiosyncratic * normal(rng);
            let ln = coin.usd.ln();
            coin.usd = (ln + PRICE_REVERSION * (coin.anchor_ln - ln) + sigma * shock).exp();
            coin.premium = revert(rng, coin.premium, coin.premium_level, 1e-4, 2e-5);
        }
        if self.steps.is_multiple_of(FX_QUOTE_EVERY_STEPS) {
            self.publish_fx_quote(now_ms);
        }

        let mut step = Step::default();
        for i in 0..self.upbit.len() {
            let fair = self.upbit_fair(self.upbit[i].quote);
            if self.upbit[i].step(fair, now_ms, &mut self.rng) {
                step.upbit.push(i);
            }
        }
        for i in 0..self.binance.len() {
            let fair = self.binance_fair(self.binance[i].pair);
            if self.binance[i].step(fair, &mut self.rng) {
                step.binance.push(i);
            }
        }
        self.step_others(now_ms, &mut step);
        step.liquidations = self.liq.step(&self.coins, now_ms);
        step
    }

    /// Multiplies every venue's liquidation arrival rate (clamped to
    /// [`LIQUIDATION_RATE_RANGE`]; 0 stops them, 1 is the default).
    pub fn set_liquidation_rate(&mut self, rate: f64) {
        self.liq.set_rate(rate);
    }

    /// The current liquidation rate multiplier.
    #[must_use]
    pub fn liquidation_rate(&self) -> f64 {
        self.liq.rate()
    }

    /// Starts a liquidation cascade at the next step.
    pub fn force_liquidation_cascade(&mut self) {
        self.liq.force_cascade();
    }

    /// The contracts `exchange` liquidates.
    #[must_use]
    pub fn liquidation_contracts(&self, exchange: LiqExchange) -> &[LiqContract] {
        &self.liq.contracts[exchange.index()]
    }

    /// BitMEX liquidation orders working now.
    #[must_use]
    pub fn bitmex_open_orders(&self) -> Vec<BitmexOrder> {
        self.liq.open_orders()
    }

    /// Seed-derived salt of BitMEX `orderID`s.
    pub(crate) fn bitmex_id_salt(&self) -> u64 {
        self.liq.id_salt
    }

    /// Mark price of contract `index` of `exchange` in the venue's price units.
    #[must_use]
    pub fn mark_price(&self, exchange: LiqExchange, index: usize) -> f64 {
        self.liquidation_contracts(exchange)
            .get(index)
            .map_or(0.0, |c| self.coins[c.coin].usd * c.price_scale)
    }

    /// A coin's USD price and 24 h change (fraction).
    pub(crate) fn coin_usd(&self, coin: usize) -> (f64, f64) {
        self.coins
            .get(coin)
            .map_or((0.0, 0.0), |c| (c.usd, c.change_24h))
    }

    fn publish_fx_quote(&mut self, now_ms: u64) {
        let q = &mut self.fx_quote;
        if now_ms / DAY_MS != q.updated_ms / DAY_MS {
            q.prev_close = q.price;
            q.open = fx_round(self.fx);
            q.high = q.open;
            q.low = q.open;
            q.updates_today = 0;
        }
        q.price = fx_round(self.fx);
        q.high = q.high.max(q.price);
        q.low = q.low.min(q.price);
        q.updated_ms = now_ms;
        q.updates_today += 1;
    }

    /// Steps taken so far: orders published ticks against snapshots.
    pub(crate) fn steps(&self) -> u64 {
        self.steps
    }

    /// USD/KRW as the daily reference sources (open.er-api, Frankfurter) publish it.
    pub(crate) fn fx_daily(&self) -> f64 {
        self.fx_daily
    }
}

/// Bank quotes move in 0.1 KRW.
fn fx_round(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

/// A seed-derived offset that does not disturb the main random sequence.
fn normal_fixed(seed: u64) -> f64 {
    normal(&mut StdRng::seed_from_u64(seed ^ 0x5eed_f00d))
}

#[cfg(test)]
mod tests {
    use super::*;

    const START: u64 = 1_795_000_000_000;

    #[test]
    fn same_seed_same_states_and_different_seed_differs() {
        let mut a = MarketModel::new(7, START);
        let mut b = MarketModel::new(7, START);
        let mut c = MarketModel::new(8, START);
        for n in 0..200 {
            let now = START + n * STEP_MS;
            assert_eq!(a.step(now), b.step(now));
            c.step(now);
            assert_eq!(a.state(), b.state());
        }
        assert_ne!(a.state(), c.state());
    }

    #[test]
    fn prices_premiums_and_rates_are_plausible() {
        let mut m = MarketModel::new(1, START);
        let mut traded_upbit = std::collections::BTreeSet::new();
        for n in 0..2_000 {
            let step = m.step(START + n * STEP_MS);
            assert!(
                step.upbit.len() < m.upbit.len(),
                "not every market trades every step"
            );
            traded_upbit.extend(step.upbit);
        }
        assert_eq!(
            traded_upbit.len(),
            m.upbit.len(),
            "every market trades eventually"
        );
        let s = m.state();
        assert!((1340.0..1430.0).contains(&s.usd_krw), "{}", s.usd_krw);
        let tether = s.usdt_krw / s.usd_krw - 1.0;
        assert!((0.005..0.02).contains(&tether), "{tether}");
        let btc = s.binance.iter().find(|(k, _)| k == "BTCUSDT").unwrap().1;
        assert!((85_000.0..120_000.0).contains(&btc), "{btc}");
        let krw_btc = s.upbit.iter().find(|(k, _)| k == "KRW-BTC").unwrap().1;
        let kimp_usdt = krw_btc / (btc * s.usdt_krw) - 1.0;
        assert!((-0.01..0.03).contains(&kimp_usdt), "{kimp_usdt}");
        let pepe = s.binance.iter().find(|(k, _)| k == "PEPEUSDT").unwrap().1;
        assert!(pepe > 1e-6 && pepe < 1e-4, "{pepe}");
    }
}
