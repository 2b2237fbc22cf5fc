//! The liquidation side of the model task: applies the knobs, counts what the model generated and
//! turns it into each venue's pushes.
//!
//! | venue | cadence | what a push holds |
//! |---|---|---|
//! | Binance USD-M | every 1,000 ms | the **latest** liquidation per symbol since the last push (the rest are dropped: sampled), each its own `forceOrder` frame; the `markPriceUpdate` array of every symbol |
//! | Bybit linear | every 500 ms | per symbol, one `allLiquidation` message with every liquidation of the batch |
//! | OKX | every step | per instrument, one `liquidation-orders` push with that step's liquidations; late re-deliveries |
//! | BitMEX | every step | `liquidation` insert / update / delete rows; sparse `instrument` updates (each symbol ~1/s) |
//!
//! Frames are built only while someone listens; counting and the model's draws do not depend on
//! it.

use std::sync::Arc;

use axum::extract::ws::Utf8Bytes;

use super::super::binance_futures::FuturesPush;
use super::super::binance_futures_wire::{force_order, mark_price};
use super::super::bitmex::instrument_prices;
use super::super::bitmex_wire::{instrument_update, liquidation_frame as bitmex_frame};
use super::super::bybit_linear_wire::liquidation_frame as bybit_frame;
use super::super::clock::now_ms;
use super::super::market::{LiqExchange, LiqStep, MarketModel, SimLiquidation};
use super::super::okx_swap_wire::liquidation_frame as okx_frame;
use super::super::spot::{LiqFrame, LiqTick};
use super::super::{Shared, Stats};

/// BitMEX updates each instrument once per this many steps (about once a second).
const INSTRUMENT_EVERY_STEPS: u64 = 4;
/// …and adds `lastChangePcnt` to one update in this many.
const CHANGE_EVERY_UPDATES: u64 = 10;

fn count(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// Liquidations waiting for their venue's next push.
pub(crate) struct LiqPipes {
    binance_latest: Vec<Option<SimLiquidation>>,
    bybit_pending: Vec<Vec<SimLiquidation>>,
    binance_pushes: u64,
    cascades_seen: u64,
}

impl LiqPipes {
    pub(crate) fn new(model: &MarketModel, cascades_seen: u64) -> Self {
        LiqPipes {
            binance_latest: vec![None; model.liquidation_contracts(LiqExchange::Binance).len()],
            bybit_pending: vec![Vec::new(); model.liquidation_contracts(LiqExchange::Bybit).len()],
            binance_pushes: 0,
            cascades_seen,
        }
    }

    /// Before a step: the rate knob and requested cascades reach the model.
    pub(crate) fn before_step(&mut self, shared: &Shared, model: &mut MarketModel) {
        let rate = shared.faults.liquidation_rate();
        if model.liquidation_rate().to_bits() != rate.to_bits() {
            model.set_liquidation_rate(rate);
        }
        let requested = shared.faults.cascades_requested();
        if requested != self.cascades_seen {
            self.cascades_seen = requested;
            model.force_liquidation_cascade();
        }
    }

    /// After a step (model still locked): counts, queues Binance and Bybit, and returns the OKX
    /// and BitMEX ticks of this step when someone listens.
    pub(crate) fn after_step(
        &mut self,
        shared: &Shared,
        model: &MarketModel,
        liq: &LiqStep,
        now: u64,
    ) -> (Option<LiqTick>, Option<LiqTick>) {
        let mut generated = [0_u64; 4];
        let want_bybit = shared.bybit_linear_tx.receiver_count() > 0;
        for e in &liq.events {
            generated[e.exchange.index()] += 1;
            match e.exchange {
                LiqExchange::Binance => {
                    if let Some(slot) = self.binance_latest.get_mut(e.contract) {
                        *slot = Some(e.clone());
                    }
                }
                LiqExchange::Bybit if want_bybit => {
                    if let Some(batch) = self.bybit_pending.get_mut(e.contract) {
                        batch.push(e.clone());
                    }
                }
                _ => {}
            }
        }
        for (counter, n) in shared.stats.liquidations_generated.iter().zip(generated) {
            Stats::add(counter, n);
        }
        let okx = (shared.okx_liq_tx.receiver_count() > 0).then(|| okx_tick(model, liq));
        let bitmex = (shared.bitmex_tx.receiver_count() > 0).then(|| bitmex_tick(model, liq, now));
        (okx, bitmex)
    }

    /// The 500 ms Bybit batch: one message per symbol that liquidated.
    pub(crate) fn flush_bybit(&mut self, shared: &Shared) {
        if self.bybit_pending.iter().all(Vec::is_empty) {
            return;
        }
        let now = now_ms();
        let tick = {
            let model = shared.model();
            let contracts = model.liquidation_contracts(LiqExchange::Bybit);
            let frames = self
                .bybit_pending
                .iter_mut()
                .enumerate()
                .filter(|(_, batch)| !batch.is_empty())
                .filter_map(|(i, batch)| {
                    let events = std::mem::take(batch);
                    let text = bybit_frame(contracts.get(i)?, &events, now);
                    Some(LiqFrame {
                        key: i,
                        text: Utf8Bytes::from(text),
                        new: count(events.len()),
                        repeated: 0,
                    })
                })
                .collect();
            LiqTick {
                step: model.steps(),
                frames,
            }
        };
        let _ = shared.bybit_linear_tx.send(Arc::new(tick));
    }

    /// The 1 s Binance push: the latest liquidation per symbol, and the mark-price canary.
    pub(crate) fn flush_binance(&mut self, shared: &Shared) {
        let now = now_ms();
        let latest: Vec<(usize, SimLiquidation)> = self
            .binance_latest
            .iter_mut()
            .enumerate()
            .filter_map(|(i, slot)| slot.take().map(|e| (i, e)))
            .collect();
        Stats::add(
            &shared.stats.binance_liquidations_published,
            latest.len() as u64,
        );
        self.binance_pushes += 1;
        if shared.binance_futures_tx.receiver_count() == 0 {
            return;
        }
        let push = {
            let model = shared.model();
            let contracts = model.liquidation_contracts(LiqExchange::Binance);
            let force_orders = latest
                .iter()
                .filter_map(|(i, e)| Some((*i, force_order(contracts.get(*i)?, e, now))))
                .collect();
            let marks: Vec<String> = contracts
                .iter()
                .enumerate()
                .map(|(i, c)| mark_price(c, model.mark_price(LiqExchange::Binance, i), now))
                .collect();
            let mark_array = format!("[{}]", marks.join(","));
            FuturesPush {
                force_orders,
                marks,
                mark_array,
                mark_3s: self.binance_pushes % 3 == 1,
            }
        };
        let _ = shared.binance_futures_tx.send(Arc::new(push));
    }
}

/// OKX: one push per instrument with this step's liquidations, then late re-deliveries.
fn okx_tick(model: &MarketModel, liq: &LiqStep) -> LiqTick {
    let contracts = model.liquidation_contracts(LiqExchange::Okx);
    let mut frames = Vec::new();
    let mut buckets: Vec<Vec<&SimLiquidation>> = vec![Vec::new(); contracts.len()];
    let mut order = Vec::new();
    for e in liq.events.iter().filter(|e| e.exchange == LiqExchange::Okx) {
        if let Some(bucket) = buckets.get_mut(e.contract) {
            if bucket.is_empty() {
                order.push(e.contract);
            }
            bucket.push(e);
        }
    }
    for i in order {
        let (Some(c), Some(same)) = (contracts.get(i), buckets.get(i)) else {
            continue;
        };
        frames.push(LiqFrame {
            key: 0,
            text: Utf8Bytes::from(okx_frame(c, same.iter().copied())),
            new: count(same.len()),
            repeated: 0,
        });
    }
    for e in &liq.okx_late {
        if let Some(c) = contracts.get(e.contract) {
            frames.push(LiqFrame {
                key: 0,
                text: Utf8Bytes::from(okx_frame(c, [e])),
                new: 0,
                repeated: 1,
            });
        }
    }
    LiqTick {
        step: model.steps(),
        frames,
    }
}

/// BitMEX: inserts, updates and deletes of this step, then the instruments due an update.
fn bitmex_tick(model: &MarketModel, liq: &LiqStep, now: u64) -> LiqTick {
    let contracts = model.liquidation_contracts(LiqExchange::Bitmex);
    let salt = model.bitmex_id_salt();
    let steps = model.steps();
    let mut frames = Vec::new();
    let inserts: Vec<_> = liq
        .events
        .iter()
        .filter(|e| e.exchange == LiqExchange::Bitmex)
        .map(|e| super::super::market::BitmexOrder {
            id: e.id,
            contract: e.contract,
            long: e.long,
            price: e.price,
            leaves: e.size,
        })
        .collect();
    for (action, orders, new) in [
        ("insert", &inserts, count(inserts.len())),
        ("update", &liq.bitmex_updates, 0),
        ("delete", &liq.bitmex_deletes, 0),
    ] {
        if orders.is_empty() {
            continue;
        }
        frames.push(LiqFrame {
            key: 0,
            text: Utf8Bytes::from(bitmex_frame(salt, contracts, action, orders)),
            new,
            repeated: 0,
        });
    }
    let prices = instrument_prices(model);
    for (i, (c, p)) in contracts.iter().zip(prices).enumerate() {
        let i = i as u64;
        if !(steps + i).is_multiple_of(INSTRUMENT_EVERY_STEPS) {
            continue;
        }
        let with_change = (steps / INSTRUMENT_EVERY_STEPS + i).is_multiple_of(CHANGE_EVERY_UPDATES);
        frames.push(LiqFrame {
            key: 1,
            text: Utf8Bytes::from(instrument_update(c, p, with_change, now)),
            new: 0,
            repeated: 0,
        });
    }
    LiqTick {
        step: steps,
        frames,
    }
}
