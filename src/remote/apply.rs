//! Merging the server's messages into one [`Snapshot`]-shaped document.
//!
//! Market stream: `snapshot` = the whole §6.0 document, `update` = header fields plus a patch per
//! changed coin (`server::ws::market::RowPatch`: what changed, or a new coin's full row; the ages
//! it leaves out grew by the time between the updates' `timestamp`s), `removed`, optional
//! `fear_greed` and `liquidations`; `status` = `{feeds}`.
//! Liquidation stream: `snapshot` = `{recent, summary, feeds}`, `update` = `{summary}`, `status` =
//! `{feeds}` (liquidation feeds only), `liquidation` = one event.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::Deserialize;
use serde_json::Value;

use super::stream::Kind;
use crate::model::{FearGreed, Liquidation, Millis, Venue};
use crate::server::ws::liquidation::SNAPSHOT_RECENT;
use crate::state::liquidations::LiquidationSummary;
use crate::state::snapshot::{
    CoinRow, FeedRow, FxInfo, Pair, Snapshot, VenuePrice, timestamp_gap_ms,
};

/// One message as sent by the server.
#[derive(Debug, Deserialize)]
pub struct Envelope {
    pub seq: u64,
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub ts_ms: Millis,
    #[serde(default)]
    pub data: Value,
}

/// Market `update` data.
#[derive(Debug, Deserialize)]
struct Update {
    timestamp: String,
    pair: Pair,
    exchange_rate: Option<f64>,
    usdt_krw_rate: Option<f64>,
    tether_premium_percent: Option<f64>,
    fx: Option<FxInfo>,
    #[serde(default)]
    coins: Vec<RowPatch>,
    #[serde(default)]
    removed: Vec<String>,
    #[serde(default)]
    fear_greed: Option<FearGreed>,
    #[serde(default)]
    liquidations: Option<LiquidationSummary>,
}

/// A changed coin in an `update`: absent fields are unchanged, `null` ones became `null`.
#[derive(Debug, Deserialize)]
#[expect(
    clippy::option_option,
    reason = "absent (unchanged), null and a value are three different things in a patch"
)]
struct RowPatch {
    symbol: String,
    #[serde(default, deserialize_with = "present")]
    name_ko: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    name_en: Option<Option<String>>,
    #[serde(default)]
    prices: BTreeMap<Venue, Option<VenuePrice>>,
    #[serde(default, deserialize_with = "present")]
    global_price_krw: Option<Option<f64>>,
    #[serde(default, deserialize_with = "present")]
    premium_percent: Option<Option<f64>>,
    #[serde(default, deserialize_with = "present")]
    premium_usdt_percent: Option<Option<f64>>,
    #[serde(default)]
    stale: Option<bool>,
    #[serde(default)]
    flags: Option<Vec<String>>,
}

/// A field that is present, `null` or not: `Some(None)` for `null` (absent is `None` by default).
#[expect(clippy::option_option, reason = "see `RowPatch`")]
fn present<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

impl RowPatch {
    /// Applies the patch to the row the client holds.
    fn apply(self, row: &mut CoinRow) {
        let set = |field: &mut Option<f64>, value: Option<Option<f64>>| {
            if let Some(v) = value {
                *field = v;
            }
        };
        if let Some(v) = self.name_ko {
            row.name_ko = v;
        }
        if let Some(v) = self.name_en {
            row.name_en = v;
        }
        for (venue, price) in self.prices {
            match price {
                Some(p) => row.prices.insert(venue, p),
                None => row.prices.remove(&venue),
            };
        }
        set(&mut row.global_price_krw, self.global_price_krw);
        set(&mut row.premium_percent, self.premium_percent);
        set(&mut row.premium_usdt_percent, self.premium_usdt_percent);
        if let Some(v) = self.stale {
            row.stale = v;
        }
        if let Some(v) = self.flags {
            row.flags = v;
        }
    }

    /// A coin the client does not hold yet (the server sends every field for it).
    fn into_row(self) -> CoinRow {
        let mut row = CoinRow {
            symbol: self.symbol.clone(),
            name_ko: None,
            name_en: None,
            prices: BTreeMap::new(),
            global_price_krw: None,
            premium_percent: None,
            premium_usdt_percent: None,
            stale: false,
            flags: Vec::new(),
        };
        self.apply(&mut row);
        row
    }
}

/// `status` data (both streams).
#[derive(Debug, Deserialize)]
struct Status {
    feeds: Vec<FeedRow>,
}

/// Liquidation `snapshot` data.
#[derive(Debug, Deserialize)]
struct LiqSnapshot {
    recent: Vec<Liquidation>,
    summary: Option<LiquidationSummary>,
    feeds: Vec<FeedRow>,
}

/// Liquidation `update` data.
#[derive(Debug, Deserialize)]
struct SummaryUpdate {
    summary: Option<LiquidationSummary>,
}

/// What applying a message did.
#[derive(Debug, Default)]
pub struct Applied {
    /// It was the stream's `snapshot`.
    pub snapshot: bool,
    /// Coins whose rows changed.
    pub coins: Vec<String>,
    /// A new liquidation (to announce).
    pub liquidation: Option<Arc<Liquidation>>,
}

/// The upstream document as merged so far (`feeds` are the server's, without the link row).
///
/// The two streams may come from one gateway or from two services (`--role gateway`): each
/// stream's feed rows and liquidation summary are kept apart and combined, so a market service's
/// messages (no liquidation feeds, an empty summary) never erase what the liquidation service
/// sent, and the other way round.
#[derive(Debug, Clone)]
pub struct Merged {
    pub snap: Snapshot,
    /// Feed rows as last sent on each stream ([`Kind::index`]).
    feeds: [Vec<FeedRow>; 2],
    /// The liquidation summary as last sent on each stream.
    summaries: [Option<LiquidationSummary>; 2],
}

impl Merged {
    /// Starts from `empty` (the local config's empty document).
    #[must_use]
    pub fn new(empty: Snapshot) -> Self {
        Merged {
            snap: empty,
            feeds: [Vec::new(), Vec::new()],
            summaries: [None, None],
        }
    }

    /// Applies a message of `kind`'s stream.
    ///
    /// # Errors
    /// When the data does not have the message type's shape (unknown types are ignored).
    pub fn apply(&mut self, kind: Kind, msg: Envelope) -> serde_json::Result<Applied> {
        let mut applied = Applied::default();
        match (kind, msg.kind.as_str()) {
            (Kind::Prices, "snapshot") => {
                let mut doc: Snapshot = serde_json::from_value(msg.data)?;
                let old = &mut self.snap;
                doc.recent_liquidations = std::mem::take(&mut old.recent_liquidations);
                doc.liquidation_tape = std::mem::take(&mut old.liquidation_tape);
                applied.coins = doc.coins.iter().map(|c| c.symbol.clone()).collect();
                self.feeds[kind.index()] = std::mem::take(&mut doc.feeds);
                self.summaries[kind.index()] = doc.liquidations.take();
                self.snap = doc;
                self.note_rate();
                self.compose();
                applied.snapshot = true;
            }
            (Kind::Prices, "update") => {
                let update: Update = serde_json::from_value(msg.data)?;
                applied.coins = self.merge_update(update);
            }
            (_, "status") => {
                let status: Status = serde_json::from_value(msg.data)?;
                self.feeds[kind.index()] = status.feeds;
                self.compose();
            }
            (Kind::Liquidations, "snapshot") => {
                let doc: LiqSnapshot = serde_json::from_value(msg.data)?;
                self.snap.liquidation_tape = doc.recent.iter().cloned().map(Arc::new).collect();
                self.snap.recent_liquidations = doc.recent;
                self.summaries[kind.index()] = doc.summary;
                self.feeds[kind.index()] = doc.feeds;
                self.compose();
                applied.snapshot = true;
            }
            (Kind::Liquidations, "update") => {
                let update: SummaryUpdate = serde_json::from_value(msg.data)?;
                self.summaries[kind.index()] = update.summary;
                self.compose();
            }
            (Kind::Liquidations, "liquidation") => {
                let liq: Liquidation = serde_json::from_value(msg.data)?;
                applied.liquidation = self.push_liquidation(liq);
            }
            _ => tracing::debug!(stream = kind.name(), kind = msg.kind, "ignored message"),
        }
        Ok(applied)
    }

    fn merge_update(&mut self, u: Update) -> Vec<String> {
        let snap = &mut self.snap;
        // Ages the patches leave out grew with the server's clock.
        let elapsed = timestamp_gap_ms(&snap.timestamp, &u.timestamp);
        if elapsed != 0 {
            for p in snap.coins.iter_mut().flat_map(|c| c.prices.values_mut()) {
                p.age_ms += elapsed;
            }
        }
        snap.timestamp = u.timestamp;
        snap.pair = u.pair;
        snap.exchange_rate = u.exchange_rate;
        snap.usdt_krw_rate = u.usdt_krw_rate;
        snap.tether_premium_percent = u.tether_premium_percent;
        snap.fx = u.fx;
        if u.fear_greed.is_some() {
            snap.fear_greed = u.fear_greed;
        }
        if u.liquidations.is_some() {
            self.summaries[Kind::Prices.index()] = u.liquidations;
        }
        let snap = &mut self.snap;
        snap.coins.retain(|c| !u.removed.contains(&c.symbol));
        let mut changed = Vec::with_capacity(u.coins.len());
        for patch in u.coins {
            changed.push(patch.symbol.clone());
            match snap.coins.iter_mut().find(|c| c.symbol == patch.symbol) {
                Some(existing) => patch.apply(existing),
                None => snap.coins.push(patch.into_row()),
            }
        }
        self.note_rate();
        self.compose();
        changed
    }

    /// Keeps `usdt_krw_rates` (not in the document) consistent with the pair's rate.
    fn note_rate(&mut self) {
        let snap = &mut self.snap;
        snap.usdt_krw_rates.clear();
        if let Some(rate) = snap.usdt_krw_rate {
            snap.usdt_krw_rates.insert(snap.pair.domestic, rate);
        }
    }

    /// Rebuilds the combined feed rows and summary: the market stream's rows, then the
    /// liquidation stream's (which replace a market-stream row of the same feed: it is the
    /// liquidation service's own view); the liquidation stream's summary once it sent one.
    fn compose(&mut self) {
        let [prices, liquidations] = &self.feeds;
        let mut rows = prices.clone();
        for row in liquidations {
            match rows.iter_mut().find(|f| f.feed == row.feed) {
                Some(existing) => existing.clone_from(row),
                None => rows.push(row.clone()),
            }
        }
        self.snap.feeds = rows;
        let [from_prices, from_liquidations] = &self.summaries;
        self.snap.liquidations = from_liquidations.clone().or_else(|| from_prices.clone());
    }

    /// Puts a new event on the tape (newest first, bounded); `None` if it is already there.
    fn push_liquidation(&mut self, liq: Liquidation) -> Option<Arc<Liquidation>> {
        let snap = &mut self.snap;
        if snap.recent_liquidations.iter().any(|l| l.id == liq.id) {
            return None;
        }
        let shared = Arc::new(liq.clone());
        snap.recent_liquidations.insert(0, liq);
        snap.recent_liquidations.truncate(SNAPSHOT_RECENT);
        snap.liquidation_tape.insert(0, Arc::clone(&shared));
        snap.liquidation_tape.truncate(SNAPSHOT_RECENT);
        Some(shared)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::state::{MarketState, StateConfig};

    fn merged() -> Merged {
        Merged::new(MarketState::new(StateConfig::from_config(&Config::default())).snapshot(0))
    }

    fn envelope(seq: u64, kind: &str, data: &Value) -> Envelope {
        serde_json::from_value(
            serde_json::json!({"seq": seq, "type": kind, "ts_ms": 1, "data": data}),
        )
        .expect("envelope")
    }

    #[test]
    fn snapshot_round_trips_and_updates_merge() {
        let mut m = merged();
        let mut doc = serde_json::to_value(&m.snap).expect("doc");
        doc["coins"] = serde_json::json!([{"symbol": "BTC", "name_ko": "비트코인", "name_en": null,
            "prices": {}, "global_price_krw": null, "premium_percent": 1.5,
            "premium_usdt_percent": null, "stale": false, "flags": []}]);
        doc["feeds"] = serde_json::json!([{"feed": "upbit.ticker", "state": "live", "age_ms": 5,
            "messages": 3, "parse_errors": 0, "reconnects": 0, "gap_ms": 0, "gaps": [],
            "detail": null, "last_error": null}]);
        let applied = m
            .apply(Kind::Prices, envelope(1, "snapshot", &doc))
            .expect("apply");
        assert!(applied.snapshot);
        assert_eq!(
            m.snap.coin("BTC").and_then(|c| c.premium_percent),
            Some(1.5)
        );
        assert_eq!(m.snap.feed("upbit.ticker").map(|f| f.messages), Some(3));
        let mut update = doc.clone();
        update["coins"][0]["premium_percent"] = serde_json::json!(2.0);
        update["removed"] = serde_json::json!([]);
        let applied = m
            .apply(Kind::Prices, envelope(2, "update", &update))
            .expect("apply");
        assert_eq!(applied.coins, vec!["BTC".to_string()]);
        assert_eq!(
            m.snap.coin("BTC").and_then(|c| c.premium_percent),
            Some(2.0)
        );
        assert_eq!(
            serde_json::to_value(&m.snap).expect("doc")["coins"][0]["premium_percent"],
            2.0
        );
    }

    fn quote(price: f64, age_ms: i64) -> Value {
        serde_json::json!({"price": price, "currency": "KRW", "change_percent": 1.25,
            "volume": 1.0e9, "age_ms": age_ms, "stale": false})
    }

    fn coin(symbol: &str, prices: &Value, premium: Option<f64>) -> Value {
        serde_json::json!({"symbol": symbol, "name_ko": null, "name_en": symbol, "prices": prices,
            "global_price_krw": 100.0, "premium_percent": premium, "premium_usdt_percent": 0.5,
            "stale": false, "flags": []})
    }

    fn document(base: &Snapshot, timestamp: &str, coins: &Value) -> Snapshot {
        let mut doc = serde_json::to_value(base).expect("doc");
        doc["timestamp"] = serde_json::json!(timestamp);
        doc["coins"] = coins.clone();
        serde_json::from_value(doc).expect("snapshot")
    }

    #[test]
    fn patches_rebuild_the_servers_rows_exactly() {
        use crate::server::ws::market::diff;
        let mut m = merged();
        let base = m.snap.clone();
        let a = document(
            &base,
            "2026-11-24T03:59:00.000Z",
            &serde_json::json!([
                coin(
                    "BTC",
                    &serde_json::json!({"upbit": quote(10.0, 100), "bithumb": quote(11.0, 40)}),
                    Some(1.0)
                ),
                coin(
                    "ETH",
                    &serde_json::json!({"upbit": quote(5.0, 10), "okx": quote(4.0, 20)}),
                    Some(2.0)
                ),
                coin(
                    "XRP",
                    &serde_json::json!({"upbit": quote(1.0, 0)}),
                    Some(3.0)
                ),
                coin(
                    "SOL",
                    &serde_json::json!({"upbit": quote(7.0, 0)}),
                    Some(4.0)
                ),
            ]),
        );
        // 250 ms later: BTC's Upbit price moved (Bithumb only aged), ETH's OKX quote went away
        // and its premium became null, XRP's quote was received again unchanged (age back to 0),
        // SOL was delisted, ADA is new.
        let b = document(
            &base,
            "2026-11-24T03:59:00.250Z",
            &serde_json::json!([
                coin(
                    "BTC",
                    &serde_json::json!({"upbit": quote(10.5, 0), "bithumb": quote(11.0, 290)}),
                    Some(1.0)
                ),
                coin("ETH", &serde_json::json!({"upbit": quote(5.0, 260)}), None),
                coin(
                    "XRP",
                    &serde_json::json!({"upbit": quote(1.0, 3)}),
                    Some(3.0)
                ),
                coin(
                    "ADA",
                    &serde_json::json!({"upbit": quote(0.5, 1)}),
                    Some(5.0)
                ),
            ]),
        );
        let doc = serde_json::to_value(&a).expect("doc");
        m.apply(Kind::Prices, envelope(1, "snapshot", &doc))
            .expect("snapshot");
        let update = serde_json::to_value(diff(&a, &b).expect("changed")).expect("update");
        let patch = |symbol: &str| {
            update["coins"]
                .as_array()
                .expect("coins")
                .iter()
                .find(|c| c["symbol"] == symbol)
                .cloned()
        };
        assert_eq!(
            patch("BTC").expect("BTC"),
            serde_json::json!({"symbol": "BTC", "prices": {"upbit": quote(10.5, 0)}}),
            "only the quote that changed"
        );
        assert_eq!(
            patch("ETH").expect("ETH"),
            serde_json::json!({"symbol": "ETH", "prices": {"okx": null}, "premium_percent": null})
        );
        assert_eq!(
            patch("XRP").expect("XRP"),
            serde_json::json!({"symbol": "XRP", "prices": {"upbit": quote(1.0, 3)}})
        );
        assert_eq!(
            patch("ADA").expect("ADA")["name_en"],
            "ADA",
            "a new coin is whole"
        );
        assert_eq!(update["removed"], serde_json::json!(["SOL"]));
        m.apply(Kind::Prices, envelope(2, "update", &update))
            .expect("update");
        let rows = |s: &Snapshot| {
            let mut rows = s.coins.clone();
            rows.sort_by(|x, y| x.symbol.cmp(&y.symbol));
            rows
        };
        assert_eq!(rows(&m.snap), rows(&b));
        assert!(diff(&b, &b).is_none(), "nothing changed");
    }
}
