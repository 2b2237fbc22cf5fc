//! The market stream (`/ws/market` on 8001, `/ws/prices` on 8000): `snapshot` = the §6.0
//! document; `update` = what changed since the previous update, at most `ws_updates_per_sec`;
//! `status` = every feed's health, when any feed's state changed.
//!
//! `update` data: the header values (`timestamp`, `pair`, `exchange_rate`, `usdt_krw_rate`,
//! `tether_premium_percent`, `fx`) always; `coins`: a [`RowPatch`] per coin that changed;
//! `removed`: symbols no longer listed; `fear_greed` and `liquidations` (the summary) only when
//! they changed. Changes between two ticks are coalesced into one update.
//!
//! A patch is a new coin's full row, or the symbol and only the fields that changed: in `prices`
//! only the venues whose quote changed (`null` for a venue that stopped quoting the coin). Ages
//! are left out when they only grew with the clock: a client adds the time between the two
//! updates' `timestamp`s to every age it holds, and a quote whose age did anything else (it was
//! received again, unchanged) is sent. Sending full rows made an update about 40 % of the whole
//! document at every tick.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::MissedTickBehavior;
use tokio_util::sync::CancellationToken;

use super::hub::{Base, Hub};
use crate::model::FearGreed;
use crate::model::{Millis, Venue};
use crate::server::published::Published;
use crate::state::liquidations::LiquidationSummary;
use crate::state::snapshot::{
    CoinRow, FeedRow, FxInfo, Pair, Snapshot, VenuePrice, timestamp_gap_ms,
};

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
    pub coins: Vec<RowPatch<'a>>,
    pub removed: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fear_greed: Option<&'a FearGreed>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub liquidations: Option<&'a LiquidationSummary>,
}

/// One coin in an `update`: its symbol and what changed (everything for a new coin).
#[derive(Debug, Serialize)]
pub struct RowPatch<'a> {
    pub symbol: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name_ko: Option<Option<&'a str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name_en: Option<Option<&'a str>>,
    /// Venues whose quote changed; `None` (`null`) for one no longer quoting the coin.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub prices: BTreeMap<Venue, Option<&'a VenuePrice>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub global_price_krw: Option<Option<f64>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub premium_percent: Option<Option<f64>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub premium_usdt_percent: Option<Option<f64>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stale: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub flags: Option<&'a [String]>,
}

impl<'a> RowPatch<'a> {
    /// A new coin: every field.
    #[must_use]
    pub fn full(row: &'a CoinRow) -> Self {
        RowPatch {
            symbol: &row.symbol,
            name_ko: Some(row.name_ko.as_deref()),
            name_en: Some(row.name_en.as_deref()),
            prices: row.prices.iter().map(|(v, p)| (*v, Some(p))).collect(),
            global_price_krw: Some(row.global_price_krw),
            premium_percent: Some(row.premium_percent),
            premium_usdt_percent: Some(row.premium_usdt_percent),
            stale: Some(row.stale),
            flags: Some(&row.flags),
        }
    }

    /// What changed from `old` to `new`, `elapsed` ms later; `None` when nothing did.
    #[must_use]
    pub fn between(old: &CoinRow, new: &'a CoinRow, elapsed: Millis) -> Option<Self> {
        let changed = |a: Option<f64>, b: Option<f64>| (!same(a, b)).then_some(b);
        let mut prices: BTreeMap<Venue, Option<&VenuePrice>> = new
            .prices
            .iter()
            .filter(|(v, p)| {
                old.prices
                    .get(v)
                    .is_none_or(|o| !same_price(o, p) || o.age_ms + elapsed != p.age_ms)
            })
            .map(|(v, p)| (*v, Some(p)))
            .collect();
        for v in old.prices.keys().filter(|v| !new.prices.contains_key(v)) {
            prices.insert(*v, None);
        }
        let patch = RowPatch {
            symbol: &new.symbol,
            name_ko: (old.name_ko != new.name_ko).then_some(new.name_ko.as_deref()),
            name_en: (old.name_en != new.name_en).then_some(new.name_en.as_deref()),
            prices,
            global_price_krw: changed(old.global_price_krw, new.global_price_krw),
            premium_percent: changed(old.premium_percent, new.premium_percent),
            premium_usdt_percent: changed(old.premium_usdt_percent, new.premium_usdt_percent),
            stale: (old.stale != new.stale).then_some(new.stale),
            flags: (old.flags != new.flags).then_some(&new.flags),
        };
        let empty = patch.name_ko.is_none()
            && patch.name_en.is_none()
            && patch.prices.is_empty()
            && patch.global_price_krw.is_none()
            && patch.premium_percent.is_none()
            && patch.premium_usdt_percent.is_none()
            && patch.stale.is_none()
            && patch.flags.is_none();
        (!empty).then_some(patch)
    }
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

/// The update from `a` to `b`, or `None` when nothing changed but ages growing with the clock.
#[must_use]
pub fn diff<'a>(a: &Snapshot, b: &'a Snapshot) -> Option<Update<'a>> {
    // What a client has to go by: 0 when unreadable, and then every age that moved is sent.
    let elapsed = timestamp_gap_ms(&a.timestamp, &b.timestamp);
    let old: HashMap<&str, &CoinRow> = a.coins.iter().map(|c| (c.symbol.as_str(), c)).collect();
    let coins: Vec<RowPatch<'a>> = b
        .coins
        .iter()
        .filter_map(|c| match old.get(c.symbol.as_str()) {
            Some(o) => RowPatch::between(o, c, elapsed),
            None => Some(RowPatch::full(c)),
        })
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
