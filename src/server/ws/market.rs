//! The market stream (`/ws/market` on 8001, `/ws/prices` on 8000): `snapshot` = the §6.0
//! document; `update` = what changed since the previous update, at most `ws_updates_per_sec`;
//! `status` = every feed's health, when any feed's state changed.
//!
//! `update` data: the header values (`timestamp`, `pair`, `exchange_rate`, `usdt_krw_rate`,
//! `tether_premium_percent`, `fx`) always; `coins`: the full rows of coins whose data changed (ages
//! alone do not count); `removed`: symbols no longer listed; `fear_greed` and `liquidations` (the
//! summary) only when they changed. Changes between two ticks are coalesced into one update.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::MissedTickBehavior;
use tokio_util::sync::CancellationToken;

use super::hub::{Base, Hub};
use crate::model::FearGreed;
use crate::server::published::Published;
use crate::state::liquidations::LiquidationSummary;
use crate::state::snapshot::{CoinRow, FeedRow, FxInfo, Pair, Snapshot, VenuePrice};

/// The market hub's base: the snapshot the last message was computed from.
pub struct MarketBase {
    pub published: Arc<Published>,
}

impl Base for MarketBase {
    fn write_snapshot(&self, out: &mut Vec<u8>) -> serde_json::Result<()> {
        out.extend_from_slice(&self.published.body);
        Ok(())
    }
}

/// `update` data.
#[derive(Debug, Serialize)]
pub struct Update<'a> {
    pub timestamp: &'a str,
    pub pair: Pair,
    pub exchange_rate: Option<f64>,
    pub usdt_krw_rate: Option<f64>,
    pub tether_premium_percent: Option<f64>,
    pub fx: Option<FxInfo>,
    pub coins: Vec<&'a CoinRow>,
    pub removed: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fear_greed: Option<&'a FearGreed>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub liquidations: Option<&'a LiquidationSummary>,
}

/// `status` data.
#[derive(Debug, Serialize)]
pub struct Status<'a> {
    pub feeds: &'a [FeedRow],
}

/// Starts the hub task: every `1 / updates_per_sec`, if a new snapshot was published, sends what
/// changed. Ends with `cancel` or when the snapshots stop.
pub fn spawn(
    hub: Arc<Hub<MarketBase>>,
    mut published: watch::Receiver<Arc<Published>>,
    updates_per_sec: u32,
    cancel: CancellationToken,
) -> JoinHandle<()> {
    let period = Duration::from_secs(1) / updates_per_sec.max(1);
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(period);
        tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                () = cancel.cancelled() => break,
                _ = tick.tick() => {}
            }
            match published.has_changed() {
                Ok(true) => {}
                Ok(false) => continue,
                Err(_) => break,
            }
            let next = published.borrow_and_update().clone();
            step(&hub, &next);
        }
    })
}

/// Publishes what changed from the hub's base to `next` (and moves the base to `next`).
pub fn step(hub: &Hub<MarketBase>, next: &Arc<Published>) {
    let last = hub.with_base(|b| Arc::clone(&b.published));
    let (prev, snap) = (&last.snap, &next.snap);
    let set = |b: &mut MarketBase| b.published = Arc::clone(next);
    if feeds_changed(prev, snap) {
        hub.publish("status", &Status { feeds: &snap.feeds }, set);
    }
    match diff(prev, snap) {
        Some(update) => hub.publish("update", &update, set),
        None => hub.refresh_base(set),
    }
}

fn feeds_changed(a: &Snapshot, b: &Snapshot) -> bool {
    a.feeds.len() != b.feeds.len()
        || a.feeds
            .iter()
            .zip(&b.feeds)
            .any(|(x, y)| x.feed != y.feed || x.state != y.state || x.detail != y.detail)
}

/// The update from `a` to `b`, or `None` when nothing but ages changed.
#[must_use]
pub fn diff<'a>(a: &Snapshot, b: &'a Snapshot) -> Option<Update<'a>> {
    let old: HashMap<&str, &CoinRow> = a.coins.iter().map(|c| (c.symbol.as_str(), c)).collect();
    let coins: Vec<&CoinRow> = b
        .coins
        .iter()
        .filter(|c| old.get(c.symbol.as_str()).is_none_or(|o| !same_row(o, c)))
        .collect();
    let listed: HashSet<&str> = b.coins.iter().map(|c| c.symbol.as_str()).collect();
    let removed: Vec<String> = a
        .coins
        .iter()
        .filter(|c| !listed.contains(c.symbol.as_str()))
        .map(|c| c.symbol.clone())
        .collect();
    let fear_greed = (a.fear_greed != b.fear_greed)
        .then_some(b.fear_greed.as_ref())
        .flatten();
    let liquidations = (a.liquidations != b.liquidations)
        .then_some(b.liquidations.as_ref())
        .flatten();
    let header = !same(a.exchange_rate, b.exchange_rate)
        || !same(a.usdt_krw_rate, b.usdt_krw_rate)
        || !same(a.tether_premium_percent, b.tether_premium_percent)
        || a.pair != b.pair
        || a.fx.map(|f| (f.source, f.stale)) != b.fx.map(|f| (f.source, f.stale));
    let changed = header
        || !coins.is_empty()
        || !removed.is_empty()
        || fear_greed.is_some()
        || liquidations.is_some();
    changed.then(|| Update {
        timestamp: &b.timestamp,
        pair: b.pair,
        exchange_rate: b.exchange_rate,
        usdt_krw_rate: b.usdt_krw_rate,
        tether_premium_percent: b.tether_premium_percent,
        fx: b.fx,
        coins,
        removed,
        fear_greed,
        liquidations,
    })
}

fn same(a: Option<f64>, b: Option<f64>) -> bool {
    a.map(f64::to_bits) == b.map(f64::to_bits)
}

fn same_price(a: &VenuePrice, b: &VenuePrice) -> bool {
    a.price.to_bits() == b.price.to_bits()
        && a.currency == b.currency
        && same(a.change_percent, b.change_percent)
        && same(a.volume, b.volume)
        && a.stale == b.stale
}

/// Equal but for ages.
fn same_row(a: &CoinRow, b: &CoinRow) -> bool {
    a.name_ko == b.name_ko
        && a.name_en == b.name_en
        && same(a.global_price_krw, b.global_price_krw)
        && same(a.premium_percent, b.premium_percent)
        && same(a.premium_usdt_percent, b.premium_usdt_percent)
        && a.stale == b.stale
        && a.flags == b.flags
        && a.prices.len() == b.prices.len()
        && a.prices
            .iter()
            .zip(&b.prices)
            .all(|((va, pa), (vb, pb))| va == vb && same_price(pa, pb))
}
