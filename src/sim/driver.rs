//! The model task: steps the market on a timer and broadcasts what the venues publish.
//!
//! Frames are serialised once here and shared by every connection (`Bytes` clones are cheap):
//! Upbit tickers in both key styles after every step, Binance "changed symbols" arrays once a
//! second. The rate multiplier runs several steps per tick and pushes Binance more often, which is
//! what a benchmark wants from "more messages".

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use tokio::time::{Instant, MissedTickBehavior};

use super::Shared;
use super::binance_wire::{mini_array, ticker_1d_array};
use super::clock::now_ms;
use super::upbit_wire::{Format, ticker_frame};

/// Binance pushes its all-market arrays once a second.
const BINANCE_PUSH_INTERVAL: Duration = Duration::from_secs(1);
/// Cap on the Binance push rate however high the multiplier goes.
const MIN_BINANCE_PUSH_INTERVAL: Duration = Duration::from_millis(10);
/// Cap on model steps per tick, so a huge multiplier cannot stall the runtime thread.
const MAX_STEPS_PER_TICK: f64 = 10_000.0;

/// One Upbit market's ticker after a trade, in both key styles.
#[derive(Debug)]
pub(crate) struct UpbitFrame {
    pub market: usize,
    pub default: Bytes,
    pub simple: Bytes,
}

/// Everything Upbit published in one step.
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
    loop {
        tokio::select! {
            () = shared.cancel.cancelled() => return,
            _ = wake.tick() => {
                carry = (carry + shared.faults.rate_multiplier()).min(MAX_STEPS_PER_TICK);
                while carry >= 1.0 {
                    carry -= 1.0;
                    step_once(&shared, &mut changed);
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

fn step_once(shared: &Shared, changed: &mut [bool]) {
    let now = now_ms();
    let want_upbit = shared.upbit_tx.receiver_count() > 0;
    let tick = {
        let mut model = shared.model();
        let step = model.step(now);
        for &i in &step.binance {
            if let Some(c) = changed.get_mut(i) {
                *c = true;
            }
        }
        if !want_upbit || step.upbit.is_empty() {
            return;
        }
        let frames = step
            .upbit
            .iter()
            .filter_map(|&i| {
                let m = model.upbit.get(i)?;
                Some(UpbitFrame {
                    market: i,
                    default: Bytes::from(ticker_frame(m, Format::Default, false, now)),
                    simple: Bytes::from(ticker_frame(m, Format::Simple, false, now)),
                })
            })
            .collect();
        UpbitTick {
            step: model.steps(),
            frames,
        }
    };
    // No receivers between the check and the send only loses a frame nobody wanted.
    let _ = shared.upbit_tx.send(Arc::new(tick));
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
