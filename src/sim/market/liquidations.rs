//! Liquidations on the four derivatives venues, generated with the market (SPEC §3.4, §8).
//!
//! - **Arrivals** are Poisson per venue: [`RATES_PER_MIN`] per minute of market time at
//!   `liquidation_rate` 1 (Binance 20, Bybit 24, OKX 8, BitMEX 3), spread over the venue's
//!   contracts by traded value, so BTC and ETH dominate. The rate knob multiplies them (0 stops
//!   them; 10,000 makes ~2,300 per model step).
//! - **Sizes** are heavy-tailed: log-normal notional around 1,500 USD (mostly 100–50,000 USD), and
//!   one in ~70 a whale drawn from a Pareto tail (1M USD and more now and then, capped at 20M).
//! - **Side** follows the recent move: a coin trading below its ~1-minute average liquidates
//!   mostly longs, above it mostly shorts.
//! - **Cascades**: now and then (about once per 10 minutes of market time, more often after a
//!   sharp move) every venue's rate jumps 15–60 × and decays over a few seconds, nearly all on one
//!   side, with bigger sizes.
//! - **Prices**: the bankruptcy / order price sits 0.15–0.6 % beyond the coin's price (below it for
//!   a liquidated long); Binance's average fill `ap` lies between the two.
//! - **BitMEX orders** live a few steps: insert, sometimes an update (part filled: `leavesQty`
//!   drops, sometimes the price moves a tick), then delete.
//! - **OKX** re-delivers about 3 % of its reports 1–6 s later, as the real channel does.
//!
//! Everything is drawn from the generator's own seeded RNG, in a fixed order per step: the other
//! venues' draws do not shift, and the same seed gives the same liquidations.

mod contracts;

pub use contracts::{ContractKind, LiqContract};

use std::collections::VecDeque;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::super::coins::COINS;
use super::super::wire::mix64;
use super::{Coin, STEP_MS, STEPS_PER_DAY, VOL_BOOST, normal};

/// Seeds the generator's RNG (differs from every other stream's salt).
const SEED_SALT: u64 = 0x11c0_1da7_e5ee_d5a1;
/// Arrivals per minute of market time at `liquidation_rate` 1, in [`LiqExchange::ALL`] order.
pub const RATES_PER_MIN: [f64; 4] = [20.0, 24.0, 8.0, 3.0];
/// Bounds of the `liquidation_rate` knob.
pub const LIQUIDATION_RATE_RANGE: (f64, f64) = (0.0, 100_000.0);
/// Cap on one venue's arrivals per step, so the top of the knob cannot stall the model.
const MAX_EVENTS_PER_STEP: f64 = 25_000.0;
/// Median notional (USD) and the log-normal spread.
const NOTIONAL_MEDIAN: f64 = 1_500.0;
const NOTIONAL_SIGMA: f64 = 1.5;
/// Share of whales, their Pareto tail and the cap.
const WHALE_SHARE: f64 = 0.015;
const WHALE_ALPHA: f64 = 1.1;
const WHALE_SCALE: f64 = 30.0;
const MAX_NOTIONAL: f64 = 2.0e7;
/// Weight of each step in the price average the side bias compares against.
const TREND_ALPHA: f64 = 0.02;
/// A cascade starts with this probability per step on a flat market (one per ~10 min).
const CASCADE_PER_STEP: f64 = 1.0 / 2_400.0;
/// Per-step decay of a cascade's rate multiplier; it ends below [`CASCADE_END`].
const CASCADE_DECAY: f64 = 0.85;
const CASCADE_END: f64 = 1.5;
/// Share of a cascade's liquidations on its side.
const CASCADE_SIDE: f64 = 0.85;
/// Share of OKX reports delivered a second time, and how many steps later.
const OKX_REDELIVERY: f64 = 0.03;
const OKX_REDELIVERY_STEPS: (u64, u64) = (4, 24);

/// A derivatives venue the generator serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum LiqExchange {
    Binance,
    Bybit,
    Okx,
    Bitmex,
}

impl LiqExchange {
    pub const ALL: [LiqExchange; 4] = [
        LiqExchange::Binance,
        LiqExchange::Bybit,
        LiqExchange::Okx,
        LiqExchange::Bitmex,
    ];

    #[must_use]
    pub fn index(self) -> usize {
        self as usize
    }
}

/// One liquidation as the venue reports it (prices and sizes in the venue's units).
#[derive(Debug, Clone, PartialEq)]
pub struct SimLiquidation {
    pub exchange: LiqExchange,
    /// Index into the venue's [`LiqContract`]s.
    pub contract: usize,
    /// The liquidated position was long (its liquidation order sells).
    pub long: bool,
    /// Bankruptcy / order price, on the tick grid.
    pub price: f64,
    /// Average fill price (Binance `ap`), on the tick grid.
    pub fill: f64,
    /// Size in venue units (coins, multiplied coins or contracts), on the lot grid.
    pub size: f64,
    /// USD value as the venue's normalisation reads it (`exchanges.md` §12).
    pub notional_usd: f64,
    /// Event time (epoch ms).
    pub time_ms: u64,
    /// Sequence number, unique per model (BitMEX `orderID`s derive from it).
    pub id: u64,
    /// OKX: hedge-mode account (`posSide` `long`/`short`) rather than one-way (`net`).
    pub hedge: bool,
    /// OKX `bkLoss`: usually 0.
    pub bk_loss: f64,
}

/// A working BitMEX liquidation order (an `insert`, `update` or `delete` row).
#[derive(Debug, Clone, PartialEq)]
pub struct BitmexOrder {
    /// The [`SimLiquidation::id`] that inserted it.
    pub id: u64,
    pub contract: usize,
    pub long: bool,
    pub price: f64,
    pub leaves: f64,
}

/// What liquidated in one model step.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LiqStep {
    /// New liquidations of every venue, in time order.
    pub events: Vec<SimLiquidation>,
    /// BitMEX orders whose `leavesQty` or price changed.
    pub bitmex_updates: Vec<BitmexOrder>,
    /// BitMEX orders done.
    pub bitmex_deletes: Vec<BitmexOrder>,
    /// Earlier OKX reports delivered again.
    pub okx_late: Vec<SimLiquidation>,
    /// A cascade is running.
    pub cascade: bool,
}

impl LiqStep {
    /// New liquidations of `exchange` in this step.
    #[must_use]
    pub fn count(&self, exchange: LiqExchange) -> usize {
        self.events
            .iter()
            .filter(|e| e.exchange == exchange)
            .count()
    }
}

#[derive(Debug, Clone)]
struct Cascade {
    intensity: f64,
    long: bool,
}

#[derive(Debug, Clone)]
struct OpenOrder {
    order: BitmexOrder,
    /// `(step, price, leaves)` of the pending update.
    update: Option<(u64, f64, f64)>,
    delete_step: u64,
}

/// The generator's state (part of [`super::MarketModel`]).
#[derive(Debug, Clone)]
pub(super) struct Liquidations {
    rng: StdRng,
    pub(super) contracts: [Vec<LiqContract>; 4],
    cumulative: [Vec<f64>; 4],
    /// Per coin: average log price (the side bias compares against it).
    average_ln: Vec<f64>,
    rate: f64,
    cascade: Option<Cascade>,
    force_cascade: bool,
    last_ms: u64,
    next_id: u64,
    steps: u64,
    open: Vec<OpenOrder>,
    late: VecDeque<(u64, SimLiquidation)>,
    /// Seed-derived salt of BitMEX order ids.
    pub(super) id_salt: u64,
}

fn cumulative(contracts: &[LiqContract]) -> Vec<f64> {
    let mut total = 0.0;
    contracts
        .iter()
        .map(|c| {
            total += c.weight;
            total
        })
        .collect()
}

#[expect(
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    reason = "a non-negative count far below 2^53"
)]
fn to_count(x: f64) -> u64 {
    x.max(0.0).round() as u64
}

/// A Poisson draw: Knuth's product below 30, a rounded normal above.
fn poisson(rng: &mut StdRng, lambda: f64) -> u64 {
    if lambda <= 0.0 {
        return 0;
    }
    if lambda >= 30.0 {
        return to_count(lambda + lambda.sqrt() * normal(rng));
    }
    let limit = (-lambda).exp();
    let mut product: f64 = rng.random();
    let mut k = 0;
    while product > limit {
        product *= rng.random::<f64>();
        k += 1;
    }
    k
}

impl Liquidations {
    pub(super) fn new(seed: u64, coins: &[Coin], start_ms: u64) -> Self {
        let contracts = contracts::all();
        let cumulative = std::array::from_fn(|i| cumulative(&contracts[i]));
        Liquidations {
            rng: StdRng::seed_from_u64(seed ^ SEED_SALT),
            contracts,
            cumulative,
            average_ln: coins.iter().map(|c| c.usd.ln()).collect(),
            rate: 1.0,
            cascade: None,
            force_cascade: false,
            last_ms: start_ms,
            next_id: 1,
            steps: 0,
            open: Vec::new(),
            late: VecDeque::new(),
            id_salt: mix64(seed ^ SEED_SALT),
        }
    }

    /// The rate multiplier, clamped to [`LIQUIDATION_RATE_RANGE`]; non-finite means 1.
    pub(super) fn set_rate(&mut self, rate: f64) {
        self.rate = if rate.is_finite() {
            rate.clamp(LIQUIDATION_RATE_RANGE.0, LIQUIDATION_RATE_RANGE.1)
        } else {
            1.0
        };
    }

    pub(super) fn rate(&self) -> f64 {
        self.rate
    }

    /// Starts a cascade at the next step.
    pub(super) fn force_cascade(&mut self) {
        self.force_cascade = true;
    }

    /// The BitMEX orders working now (a `liquidation` partial's rows).
    pub(super) fn open_orders(&self) -> Vec<BitmexOrder> {
        self.open.iter().map(|o| o.order.clone()).collect()
    }

    /// How far coin `i` is below (negative) or above its recent average, in typical moves.
    fn trend_z(&self, coins: &[Coin], i: usize) -> f64 {
        let sigma_step = COINS[i].daily_vol / STEPS_PER_DAY.sqrt() * VOL_BOOST;
        let sigma = sigma_step / (2.0 * TREND_ALPHA).sqrt();
        (coins[i].usd.ln() - self.average_ln[i]) / sigma
    }

    /// One model step at wall time `now_ms`.
    pub(super) fn step(&mut self, coins: &[Coin], now_ms: u64) -> LiqStep {
        self.steps += 1;
        let mut out = LiqStep::default();
        self.step_cascade(coins);
        let intensity = self.cascade.as_ref().map_or(1.0, |c| c.intensity);
        out.cascade = self.cascade.is_some();
        let start = self.last_ms.min(now_ms);
        let span = now_ms - start;
        for exchange in LiqExchange::ALL {
            let per_step = RATES_PER_MIN[exchange.index()] / 60_000.0 * STEP_MS as f64;
            let lambda = (per_step * self.rate * intensity).min(MAX_EVENTS_PER_STEP);
            let n = poisson(&mut self.rng, lambda);
            for _ in 0..n {
                let event = self.event(exchange, coins, start, span);
                out.events.push(event);
            }
        }
        out.events.sort_by_key(|e| e.time_ms);
        for event in &out.events {
            match event.exchange {
                LiqExchange::Bitmex => self.open_order(event),
                LiqExchange::Okx if self.rng.random_bool(OKX_REDELIVERY) => {
                    let (lo, hi) = OKX_REDELIVERY_STEPS;
                    let due = self.steps + self.rng.random_range(lo..=hi);
                    let at = self.late.partition_point(|(d, _)| *d <= due);
                    self.late.insert(at, (due, event.clone()));
                }
                _ => {}
            }
        }
        self.bitmex_lifecycle(&mut out);
        while self.late.front().is_some_and(|(due, _)| *due <= self.steps) {
            if let Some((_, event)) = self.late.pop_front() {
                out.okx_late.push(event);
            }
        }
        for (avg, coin) in self.average_ln.iter_mut().zip(coins) {
            *avg += TREND_ALPHA * (coin.usd.ln() - *avg);
        }
        self.last_ms = now_ms.max(self.last_ms);
        out
    }

    fn step_cascade(&mut self, coins: &[Coin]) {
        let z = self.trend_z(coins, 0);
        if let Some(c) = &mut self.cascade {
            c.intensity *= CASCADE_DECAY;
            if c.intensity < CASCADE_END {
                self.cascade = None;
            }
        }
        let p = (CASCADE_PER_STEP * (1.0 + 3.0 * z.abs())).min(0.05);
        let start = self.rng.random_bool(p) || std::mem::take(&mut self.force_cascade);
        if start && self.cascade.is_none() {
            let long = if z.abs() < 0.3 {
                self.rng.random_bool(0.5)
            } else {
                z < 0.0
            };
            let intensity = self.rng.random_range(15.0..60.0);
            self.cascade = Some(Cascade { intensity, long });
        }
    }

    fn event(
        &mut self,
        exchange: LiqExchange,
        coins: &[Coin],
        start: u64,
        span: u64,
    ) -> SimLiquidation {
        let v = exchange.index();
        let total = self.cumulative[v].last().copied().unwrap_or(0.0);
        let pick = self.rng.random::<f64>() * total;
        let index = self.cumulative[v]
            .partition_point(|&w| w <= pick)
            .min(self.contracts[v].len().saturating_sub(1));
        let coin = self.contracts[v][index].coin;
        let long = match &self.cascade {
            Some(c) if self.rng.random_bool(CASCADE_SIDE) => c.long,
            _ => {
                let z = self.trend_z(coins, coin);
                let p_long = (1.0 / (1.0 + (1.5 * z).exp())).clamp(0.1, 0.9);
                self.rng.random_bool(p_long)
            }
        };
        let rng = &mut self.rng;
        let mut notional = (NOTIONAL_MEDIAN.ln() + NOTIONAL_SIGMA * normal(rng)).exp();
        if rng.random_bool(WHALE_SHARE) {
            let u = rng.random::<f64>().max(1e-12);
            notional *= WHALE_SCALE * u.powf(-1.0 / WHALE_ALPHA);
        }
        if self.cascade.is_some() {
            notional *= 1.5;
        }
        let notional = notional.min(MAX_NOTIONAL);
        let beyond = rng.random_range(0.0015..0.006);
        let fill_gap = beyond * rng.random_range(0.1..0.6);
        let direction = if long { -1.0 } else { 1.0 };
        let usd = coins[coin].usd;
        let bankrupt_usd = usd * (1.0 + direction * beyond);
        let fill_usd = usd * (1.0 + direction * fill_gap);
        let offset = if span == 0 {
            0
        } else {
            rng.random_range(0..span)
        };
        let hedge = rng.random_bool(0.4);
        let bk_loss = if rng.random_bool(0.05) {
            notional * rng.random_range(1e-5..5e-4)
        } else {
            0.0
        };
        let xbt = coins[0].usd;
        let c = &self.contracts[v][index];
        let price = c.round_price(bankrupt_usd * c.price_scale);
        let fill = c.round_price(fill_usd * c.price_scale);
        let size = c.size_for(notional, bankrupt_usd, xbt);
        let valued_at = if exchange == LiqExchange::Binance {
            fill
        } else {
            price
        };
        let notional_usd = size * c.usd_per_unit(valued_at / c.price_scale, xbt);
        let id = self.next_id;
        self.next_id += 1;
        SimLiquidation {
            exchange,
            contract: index,
            long,
            price,
            fill,
            size,
            notional_usd,
            time_ms: start + offset,
            id,
            hedge,
            bk_loss: (bk_loss * 1e4).round() / 1e4,
        }
    }

    /// A new BitMEX insert: decides its update and delete now.
    fn open_order(&mut self, event: &SimLiquidation) {
        let c = &self.contracts[LiqExchange::Bitmex.index()][event.contract];
        let order = BitmexOrder {
            id: event.id,
            contract: event.contract,
            long: event.long,
            price: event.price,
            leaves: event.size,
        };
        let rng = &mut self.rng;
        let (update, delete_step) = if rng.random_bool(0.45) && event.size > c.lot {
            let at = self.steps + rng.random_range(1..=4);
            let leaves = c.part_of(event.size, rng.random_range(0.2..0.8));
            let ticks = f64::from(rng.random_range(0..=2_u8));
            let worse = if event.long { -c.tick } else { c.tick };
            let price = c.round_price(event.price + ticks * worse);
            let leaves = if leaves >= event.size {
                event.size - c.lot
            } else {
                leaves
            };
            (Some((at, price, leaves)), at + rng.random_range(1..=6))
        } else {
            (None, self.steps + rng.random_range(1..=8))
        };
        self.open.push(OpenOrder {
            order,
            update,
            delete_step,
        });
    }

    fn bitmex_lifecycle(&mut self, out: &mut LiqStep) {
        let now = self.steps;
        for o in &mut self.open {
            if let Some((at, price, leaves)) = o.update
                && at <= now
            {
                o.order.price = price;
                o.order.leaves = leaves;
                o.update = None;
                out.bitmex_updates.push(o.order.clone());
            }
        }
        let mut kept = Vec::with_capacity(self.open.len());
        for o in self.open.drain(..) {
            if o.delete_step <= now {
                out.bitmex_deletes.push(o.order);
            } else {
                kept.push(o);
            }
        }
        self.open = kept;
    }
}

#[cfg(test)]
mod tests {
    use super::super::MarketModel;
    use super::*;

    const START: u64 = 1_795_000_000_000;

    fn run(seed: u64, rate: f64, steps: u64) -> Vec<LiqStep> {
        let mut m = MarketModel::new(seed, START);
        m.set_liquidation_rate(rate);
        (0..steps)
            .map(|n| m.step(START + n * STEP_MS).liquidations)
            .collect()
    }

    #[test]
    fn poisson_mean_is_lambda() {
        let mut rng = StdRng::seed_from_u64(3);
        for lambda in [0.2, 4.0, 80.0] {
            let n = 4_000;
            let total: u64 = (0..n).map(|_| poisson(&mut rng, lambda)).sum();
            let mean = total as f64 / f64::from(n);
            assert!((mean / lambda - 1.0).abs() < 0.08, "{lambda}: {mean}");
        }
    }

    #[test]
    fn deterministic_and_independent_of_the_other_streams() {
        let a = run(11, 30.0, 300);
        assert_eq!(a, run(11, 30.0, 300));
        assert_ne!(a, run(12, 30.0, 300));
        // The rate knob changes liquidations only: prices stay where they were.
        let mut quiet = MarketModel::new(11, START);
        quiet.set_liquidation_rate(0.0);
        let mut busy = MarketModel::new(11, START);
        busy.set_liquidation_rate(500.0);
        for n in 0..100 {
            let (q, b) = (
                quiet.step(START + n * STEP_MS),
                busy.step(START + n * STEP_MS),
            );
            assert!(q.liquidations.events.is_empty());
            assert_eq!((q.upbit, q.binance, q.okx), (b.upbit, b.binance, b.okx));
        }
        assert_eq!(quiet.state(), busy.state());
    }

    #[test]
    fn rates_sizes_sides_and_lifecycles_are_plausible() {
        // Five simulated minutes at ten times the default rate.
        let steps = run(5, 10.0, 1_200);
        let mut per_venue = [0_usize; 4];
        let mut notionals = Vec::new();
        let (mut inserts, mut deletes) = (0, 0);
        for s in &steps {
            for e in &s.events {
                per_venue[e.exchange.index()] += 1;
                notionals.push(e.notional_usd);
                assert!(e.size > 0.0 && e.price > 0.0);
            }
            inserts += s.count(LiqExchange::Bitmex);
            deletes += s.bitmex_deletes.len();
        }
        // 5 minutes × 10 × rate, plus cascades.
        for (v, &n) in per_venue.iter().enumerate() {
            let expected = RATES_PER_MIN[v] * 50.0;
            assert!(
                (expected * 0.7..expected * 4.0).contains(&(n as f64)),
                "venue {v}: {n} vs {expected}"
            );
        }
        assert!(deletes <= inserts && inserts - deletes < 10);
        notionals.sort_by(f64::total_cmp);
        let median = notionals[notionals.len() / 2];
        assert!((500.0..6_000.0).contains(&median), "{median}");
        let big = notionals.iter().filter(|&&n| n >= 1.0e6).count();
        assert!(big >= 1, "a whale now and then");
        let in_range = notionals
            .iter()
            .filter(|&&n| (100.0..50_000.0).contains(&n))
            .count();
        assert!(in_range * 10 >= notionals.len() * 8, "{in_range}");
    }

    #[test]
    fn a_forced_cascade_bursts_on_one_side() {
        let mut m = MarketModel::new(3, START);
        m.set_liquidation_rate(20.0);
        for n in 0..40 {
            m.step(START + n * STEP_MS);
        }
        m.force_liquidation_cascade();
        let mut events = Vec::new();
        for n in 40..60 {
            let s = m.step(START + n * STEP_MS).liquidations;
            events.extend(s.events);
        }
        let longs = events.iter().filter(|e| e.long).count();
        let share = longs.max(events.len() - longs) as f64 / events.len() as f64;
        // Calm: ~20 × 55 / 240 ≈ 4.6 per step; a cascade multiplies that.
        assert!(events.len() > 300, "{}", events.len());
        assert!(share > 0.75, "{share}");
    }
}
