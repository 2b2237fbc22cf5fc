//! The model task: steps the market on a timer and broadcasts what the venues publish.
//!
//! Frames are serialised once here and shared by every connection (`Bytes` clones are cheap):
//! Upbit and Bithumb tickers in both key styles and Bybit and OKX ticker pushes after every step,
//! Binance "changed symbols" arrays once a second, and the derivatives venues' liquidation pushes
//! (`driver/liquidations.rs`: OKX and BitMEX every step, Bybit batches every 500 ms, Binance USD-M
//! samples and mark prices every second). A venue nobody is connected to costs nothing. The rate
//! multiplier runs several steps per tick and pushes Binance more often, which is what a benchmark
//! wants from "more messages"; the `liquidation_rate` knob multiplies liquidation arrivals alone.

mod liquidations;

use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::Utf8Bytes;
use bytes::Bytes;
use tokio::time::{Instant, MissedTickBehavior};

use super::binance_wire::{mini_array, ticker_1d_array};
use super::clock::now_ms;
use super::market::{MarketModel, Step};
use super::spot::SpotTick;
use super::ticker::UpbitMarket;
use super::upbit_wire::{Format, ticker_frame};
use super::{Shared, bithumb_wire, bybit_wire, okx_wire};
use liquidations::LiqPipes;

/// Binance pushes its all-market arrays once a second.
const BINANCE_PUSH_INTERVAL: Duration = Duration::from_secs(1);
/// Cap on the Binance push rate however high the multiplier goes.
const MIN_BINANCE_PUSH_INTERVAL: Duration = Duration::from_millis(10);
/// Cap on model steps per tick, so a huge multiplier cannot stall the runtime thread.
const MAX_STEPS_PER_TICK: f64 = 10_000.0;
/// Bybit batches liquidations every 500 ms; Binance pushes every second batch.
const LIQ_BATCH_INTERVAL: Duration = Duration::from_millis(500);

/// One Upbit (or Bithumb) market's ticker after a trade, in both key styles.
#[derive(Debug)]
pub(crate) struct UpbitFrame {
    pub market: usize,
    pub default: Bytes,
    pub simple: Bytes,
}

/// Everything Upbit (or Bithumb, on its own channel) published in one step.
#[derive(Debug)]
pub(crate) struct UpbitTick {
    /// The model step that produced these frames.
    pub step: u64,
    pub frames: Vec<UpbitFrame>,
}

/// One Binance push: the `data` arrays of the two all-market streams (only changed symbols).
#[derive(Debug)]
pub(crate) struct BinancePush {
    pub ticker_1d: String,
    pub mini: String,
}

fn push_period(multiplier: f64) -> Duration {
    BINANCE_PUSH_INTERVAL
        .div_f64(multiplier.max(1.0))
        .max(MIN_BINANCE_PUSH_INTERVAL)
}

/// Runs until the simulator is cancelled.
pub(crate) async fn run(shared: Arc<Shared>) {
    let mut wake = tokio::time::interval(shared.opts.tick.max(Duration::from_millis(1)));
    wake.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut carry = 0.0_f64;
    let mut changed = vec![false; shared.model().binance.len()];
    let mut next_push = Instant::now() + push_period(shared.faults.rate_multiplier());
    let mut pipes = LiqPipes::new(&shared.model(), shared.faults.cascades_requested());
    let mut batch = tokio::time::interval(LIQ_BATCH_INTERVAL);
    batch.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut batches = 0_u64;
    loop {
        tokio::select! {
            () = shared.cancel.cancelled() => return,
            _ = wake.tick() => {
                carry = (carry + shared.faults.rate_multiplier()).min(MAX_STEPS_PER_TICK);
                while carry >= 1.0 {
                    carry -= 1.0;
                    step_once(&shared, &mut changed, &mut pipes);
                }
            }
            _ = batch.tick() => {
                batches += 1;
                pipes.flush_bybit(&shared);
                if batches.is_multiple_of(2) {
                    pipes.flush_binance(&shared);
                }
            }
            () = tokio::time::sleep_until(next_push) => {
                push_binance(&shared, &mut changed);
                let now = Instant::now();
                next_push = (next_push + push_period(shared.faults.rate_multiplier())).max(now);
            }
        }
    }
}

fn step_once(shared: &Shared, changed: &mut [bool], pipes: &mut LiqPipes) {
    let now = now_ms();
    let want_upbit = shared.upbit_tx.receiver_count() > 0;
    let want_bithumb = shared.bithumb_tx.receiver_count() > 0;
    let want_bybit = shared.bybit_tx.receiver_count() > 0;
    let want_okx = shared.okx_tx.receiver_count() > 0;
    let (upbit, bithumb, bybit, okx, (okx_liq, bitmex)) = {
        let mut model = shared.model();
        pipes.before_step(shared, &mut model);
        let step = model.step(now);
        let liq = pipes.after_step(shared, &model, &step.liquidations, now);
        for &i in &step.binance {
            if let Some(c) = changed.get_mut(i) {
                *c = true;
            }
        }
        let steps = model.steps();
        (
            want_upbit.then(|| korean_tick(&model.upbit, &step.upbit, steps, ticker_frame, now)),
            want_bithumb.then(|| {
                let frame = bithumb_wire::ticker_frame;
                korean_tick(&model.bithumb, &step.bithumb, steps, frame, now)
            }),
            want_bybit.then(|| spot_tick(&model, &step, Venue::Bybit, now)),
            want_okx.then(|| spot_tick(&model, &step, Venue::Okx, now)),
            liq,
        )
    };
    // No receivers between the check and the send only loses a frame nobody wanted.
    if let Some(tick) = upbit.filter(|t| !t.frames.is_empty()) {
        let _ = shared.upbit_tx.send(Arc::new(tick));
    }
    if let Some(tick) = bithumb.filter(|t| !t.frames.is_empty()) {
        let _ = shared.bithumb_tx.send(Arc::new(tick));
    }
    if let Some(tick) = bybit.filter(|t| !t.frames.is_empty()) {
        let _ = shared.bybit_tx.send(Arc::new(tick));
    }
    if let Some(tick) = okx.filter(|t| !t.frames.is_empty()) {
        let _ = shared.okx_tx.send(Arc::new(tick));
    }
    if let Some(tick) = okx_liq.filter(|t| !t.frames.is_empty()) {
        let _ = shared.okx_liq_tx.send(Arc::new(tick));
    }
    if let Some(tick) = bitmex.filter(|t| !t.frames.is_empty()) {
        let _ = shared.bitmex_tx.send(Arc::new(tick));
    }
}

/// What an Upbit-protocol venue publishes for the markets that traded.
fn korean_tick(
    markets: &[UpbitMarket],
    traded: &[usize],
    step: u64,
    frame: fn(&UpbitMarket, Format, bool, u64) -> String,
    now: u64,
) -> UpbitTick {
    let frames = traded
        .iter()
        .filter_map(|&i| {
            let m = markets.get(i)?;
            Some(UpbitFrame {
                market: i,
                default: Bytes::from(frame(m, Format::Default, false, now)),
                simple: Bytes::from(frame(m, Format::Simple, false, now)),
            })
        })
        .collect();
    UpbitTick { step, frames }
}

#[derive(Clone, Copy)]
enum Venue {
    Bybit,
    Okx,
}

/// What Bybit or OKX pushes for the symbols that traded.
fn spot_tick(model: &MarketModel, step: &Step, venue: Venue, now: u64) -> SpotTick {
    let frame = |i: usize| match venue {
        Venue::Bybit => model.bybit.get(i).map(|s| bybit_wire::ticker_frame(s, now)),
        Venue::Okx => model
            .okx
            .get(i)
            .map(|inst| okx_wire::ticker_frame(inst, now)),
    };
    let traded = match venue {
        Venue::Bybit => &step.bybit,
        Venue::Okx => &step.okx,
    };
    let frames = traded
        .iter()
        .filter_map(|&i| Some((i, Utf8Bytes::from(frame(i)?))))
        .collect();
    SpotTick {
        step: model.steps(),
        frames,
    }
}

fn push_binance(shared: &Shared, changed: &mut [bool]) {
    let symbols: Vec<usize> = changed
        .iter()
        .enumerate()
        .filter_map(|(i, c)| c.then_some(i))
        .collect();
    changed.fill(false);
    if symbols.is_empty() || shared.binance_tx.receiver_count() == 0 {
        return;
    }
    let now = now_ms();
    let push = {
        let model = shared.model();
        BinancePush {
            ticker_1d: ticker_1d_array(&model.binance, &symbols, now),
            mini: mini_array(&model.binance, &symbols, now),
        }
    };
    let _ = shared.binance_tx.send(Arc::new(push));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn push_period_scales_with_the_multiplier_within_bounds() {
        assert_eq!(push_period(1.0), Duration::from_secs(1));
        assert_eq!(push_period(0.1), Duration::from_secs(1));
        assert_eq!(push_period(4.0), Duration::from_millis(250));
        assert_eq!(push_period(1000.0), MIN_BINANCE_PUSH_INTERVAL);
    }
}
