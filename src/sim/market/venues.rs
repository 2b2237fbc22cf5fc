//! The second venue of each kind: Bithumb next to Upbit, Bybit and OKX next to Binance.
//!
//! Each market trades around its leader's fair price times `1 + basis`, where the basis is the
//! venue's own small, slowly wandering offset (Bithumb ±0.1–0.3 % per coin, Bybit and OKX a few
//! basis points), so a client comparing venues sees realistic, not identical, prices. These venues
//! draw from their own seeded generator: adding them leaves Upbit's and Binance's sequences as
//! they were.

use rand::SeedableRng;
use rand::rngs::StdRng;

use super::super::clock::DAY_MS;
use super::super::coins::{
    BITHUMB_CROSS, BITHUMB_SHARE, BYBIT_OKX_CROSS, BYBIT_SHARE, COINS,
    GLOBAL_PRICE_DIFFERENCES_COIN, OKX_SHARE, WARNING_COIN, index_of, venue,
};
use super::super::ticker::{BinancePair, BinanceSymbol, UpbitMarket, UpbitQuote};
use super::super::wire::round_decimals;
use super::{MarketModel, Step, normal, revert};

/// Bithumb's day starts at 00:00 KST.
const KST_OFFSET_MS: u64 = 9 * 3_600_000;
/// OKX's `sodUtc8` is the price at 00:00 UTC+8.
const UTC8_OFFSET_MS: u64 = 8 * 3_600_000;
/// Seeds the venues' own generator (any constant that differs from the main one's).
const SEED_SALT: u64 = 0xb17_b0b_0c5;

/// A venue's offset from its leader's fair price, wandering around `level`.
#[derive(Debug, Clone, Copy)]
struct Basis {
    level: f64,
    now: f64,
}

impl Basis {
    fn draw(rng: &mut StdRng, sigma: f64, bound: f64) -> Self {
        let level = (sigma * normal(rng)).clamp(-bound, bound);
        Basis { level, now: level }
    }

    fn step(&mut self, rng: &mut StdRng) {
        self.now = revert(rng, self.now, self.level, 2e-3, 4e-5);
    }

    fn apply(self, fair: f64) -> f64 {
        fair * (1.0 + self.now)
    }
}

/// One OKX instrument: a rolling ticker plus the start-of-day prices OKX publishes.
#[derive(Debug, Clone)]
pub(crate) struct OkxInst {
    pub s: BinanceSymbol,
    /// Price at 00:00 UTC (`sodUtc0`) and at 00:00 UTC+8 (`sodUtc8`).
    pub sod_utc0: f64,
    pub sod_utc8: f64,
    day0: u64,
    day8: u64,
}

/// State of the second venues that is not a market's own.
#[derive(Debug, Clone)]
pub(crate) struct Others {
    rng: StdRng,
    bithumb: Vec<Basis>,
    bybit: Vec<Basis>,
    okx: Vec<Basis>,
}

impl Others {
    pub(crate) fn new(seed: u64) -> Self {
        Others {
            rng: StdRng::seed_from_u64(seed ^ SEED_SALT),
            bithumb: Vec::new(),
            bybit: Vec::new(),
            okx: Vec::new(),
        }
    }
}

/// The global pairs a venue lists: every coin with `bit`, then the cross pairs.
fn global_pairs(bit: u8) -> Vec<BinancePair> {
    let mut pairs: Vec<BinancePair> = COINS
        .iter()
        .enumerate()
        .filter(|(_, c)| c.venues & bit != 0)
        .map(|(i, _)| BinancePair::Usdt(i))
        .collect();
    for &(base, quote) in BYBIT_OKX_CROSS {
        let Some(b) = index_of(base) else { continue };
        pairs.push(if quote == "BTC" {
            BinancePair::Btc(b)
        } else {
            BinancePair::Usdc(b)
        });
    }
    pairs
}

impl MarketModel {
    /// Lists Bithumb, Bybit and OKX markets at wall time `start_ms`.
    pub(super) fn list_others(&mut self, start_ms: u64) {
        let mut quotes: Vec<UpbitQuote> = COINS
            .iter()
            .enumerate()
            .filter(|(_, c)| c.on_bithumb())
            .map(|(i, _)| UpbitQuote::Krw(i))
            .collect();
        quotes.push(UpbitQuote::KrwUsdt);
        quotes.extend(
            BITHUMB_CROSS
                .iter()
                .filter_map(|&(_, base)| index_of(base).map(UpbitQuote::Btc)),
        );
        for quote in quotes {
            let (sigma, bound) = match quote {
                UpbitQuote::Krw(_) => (0.0015, 0.003),
                _ => (0.0005, 0.001),
            };
            let basis = Basis::draw(&mut self.others.rng, sigma, bound);
            let (krw_24h, flags) = match quote {
                UpbitQuote::Krw(c) => (
                    COINS[c].krw_24h * BITHUMB_SHARE,
                    (
                        COINS[c].symbol == WARNING_COIN,
                        COINS[c].symbol == GLOBAL_PRICE_DIFFERENCES_COIN,
                    ),
                ),
                UpbitQuote::KrwUsdt => (1.5e11, (false, false)),
                _ => (1.0e8, (false, false)),
            };
            let change = match quote {
                UpbitQuote::Krw(c) | UpbitQuote::Btc(c) | UpbitQuote::Usdt(c) => {
                    self.coins[c].change_24h + 0.004 * normal(&mut self.others.rng)
                }
                UpbitQuote::KrwUsdt => 0.002 * normal(&mut self.others.rng),
            };
            let krw_per_quote = match quote {
                UpbitQuote::Btc(_) => self.upbit_fair(UpbitQuote::Krw(0)),
                _ => 1.0,
            };
            let fair = basis.apply(self.upbit_fair(quote));
            let market = UpbitMarket::new(
                quote,
                fair,
                change,
                (krw_24h, krw_per_quote),
                flags,
                start_ms,
                &mut self.others.rng,
            )
            .with_day_offset(KST_OFFSET_MS, start_ms);
            self.bithumb.push(market);
            self.others.bithumb.push(basis);
        }

        for pair in global_pairs(venue::BYBIT) {
            let (symbol, basis) = self.global_symbol(pair, BYBIT_SHARE);
            self.bybit.push(symbol);
            self.others.bybit.push(basis);
        }
        for pair in global_pairs(venue::OKX) {
            let (mut s, basis) = self.global_symbol(pair, OKX_SHARE);
            let (base, quote) = pair.base_quote();
            s.symbol = format!("{base}-{quote}");
            let drift = |rng: &mut StdRng| 1.0 + 0.004 * normal(rng);
            let sod_utc0 = s.t.last * drift(&mut self.others.rng);
            let sod_utc8 = s.t.last * drift(&mut self.others.rng);
            self.okx.push(OkxInst {
                sod_utc0: round_decimals(sod_utc0, s.decimals),
                sod_utc8: round_decimals(sod_utc8, s.decimals),
                s,
                day0: start_ms / DAY_MS,
                day8: (start_ms + UTC8_OFFSET_MS) / DAY_MS,
            });
            self.others.okx.push(basis);
        }
    }

    fn global_symbol(&mut self, pair: BinancePair, share: f64) -> (BinanceSymbol, Basis) {
        let rng = &mut self.others.rng;
        let basis = Basis::draw(rng, 0.0004, 0.0012);
        let coin = &self.coins[pair.coin()];
        let spec = &COINS[pair.coin()];
        let (change, quote_24h, usdt_24h) = match pair {
            BinancePair::Btc(_) => {
                let value = 4.0e7 * share;
                let btc_change = self.coins[0].change_24h;
                (
                    coin.change_24h - btc_change,
                    value / self.coins[0].usd,
                    value,
                )
            }
            BinancePair::Usdc(_) | BinancePair::Fdusd(_) => {
                (coin.change_24h, 4.0e7 * share, 4.0e7 * share)
            }
            BinancePair::Usdt(_) => (
                coin.change_24h,
                spec.usdt_24h * share,
                spec.usdt_24h * share,
            ),
        };
        let change = change + 0.002 * normal(rng);
        let fair = basis.apply(self.binance_fair(pair));
        let rng = &mut self.others.rng;
        let symbol = BinanceSymbol::new(pair, fair, change, quote_24h, usdt_24h, rng);
        (symbol, basis)
    }

    /// Steps every second-venue market at wall time `now_ms`, recording what traded in `step`.
    pub(super) fn step_others(&mut self, now_ms: u64, step: &mut Step) {
        for i in 0..self.bithumb.len() {
            self.others.bithumb[i].step(&mut self.others.rng);
            let fair = self.others.bithumb[i].apply(self.upbit_fair(self.bithumb[i].quote));
            if self.bithumb[i].step(fair, now_ms, &mut self.others.rng) {
                step.bithumb.push(i);
            }
        }
        for i in 0..self.bybit.len() {
            self.others.bybit[i].step(&mut self.others.rng);
            let fair = self.others.bybit[i].apply(self.binance_fair(self.bybit[i].pair));
            if self.bybit[i].step(fair, &mut self.others.rng) {
                step.bybit.push(i);
            }
        }
        for i in 0..self.okx.len() {
            self.others.okx[i].step(&mut self.others.rng);
            let fair = self.others.okx[i].apply(self.binance_fair(self.okx[i].s.pair));
            let inst = &mut self.okx[i];
            if now_ms / DAY_MS != inst.day0 {
                inst.day0 = now_ms / DAY_MS;
                inst.sod_utc0 = inst.s.t.last;
            }
            if (now_ms + UTC8_OFFSET_MS) / DAY_MS != inst.day8 {
                inst.day8 = (now_ms + UTC8_OFFSET_MS) / DAY_MS;
                inst.sod_utc8 = inst.s.t.last;
            }
            if inst.s.step(fair, &mut self.others.rng) {
                step.okx.push(i);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::{MarketModel, STEP_MS};

    const START: u64 = 1_795_000_000_000;

    #[test]
    fn second_venues_trade_near_their_leaders() {
        let mut m = MarketModel::new(5, START);
        let mut traded = [0_usize; 3];
        for n in 0..2_000 {
            let step = m.step(START + n * STEP_MS);
            traded[0] += step.bithumb.len();
            traded[1] += step.bybit.len();
            traded[2] += step.okx.len();
        }
        assert!(traded.iter().all(|&t| t > 2_000), "{traded:?}");
        let s = m.state();
        let near = |a: &[(String, f64)], b: &[(String, f64)], key: &dyn Fn(&str) -> String| {
            let mut n = 0;
            for (name, price) in b {
                if let Some((_, reference)) = a.iter().find(|(k, _)| *k == key(name)) {
                    assert!((price / reference - 1.0).abs() < 0.01, "{name}");
                    n += 1;
                }
            }
            n
        };
        assert!(near(&s.upbit, &s.bithumb, &str::to_owned) >= 36);
        assert!(near(&s.binance, &s.bybit, &str::to_owned) >= 36);
        assert!(near(&s.binance, &s.okx, &|id: &str| id.replace('-', "")) >= 36);
    }
}
