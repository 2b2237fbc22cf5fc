//! The immutable snapshot every consumer reads: exactly the SPEC §6.0 `GET /api/coins/latest`
//! document (which `kimp snapshot --json` prints), built by the state task and shared as an `Arc`.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

pub use crate::model::FearGreed;
use crate::model::{Currency, FeedState, FxSource, Liquidation, Millis, Venue};
use crate::state::health::Gap;
use crate::state::liquidations::{Aggregated, LiquidationSummary, Window};

/// The §6.0 document.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Snapshot {
    /// ISO-8601 UTC with milliseconds.
    pub timestamp: String,
    pub pair: Pair,
    /// USD/KRW bank rate (KRW per USD), `null` when no fresh value.
    pub exchange_rate: Option<f64>,
    /// KRW per USDT on the domestic venue of the pair.
    pub usdt_krw_rate: Option<f64>,
    pub tether_premium_percent: Option<f64>,
    pub fx: Option<FxInfo>,
    /// Filled by the fear & greed poller (a later module); `null` until then.
    pub fear_greed: Option<FearGreed>,
    pub coins: Vec<CoinRow>,
    /// The `/api/liquidations/summary` document.
    pub liquidations: Option<LiquidationSummary>,
    pub feeds: Vec<FeedRow>,
    /// The newest liquidations, newest first (the tape; not part of the §6.0 document).
    #[serde(skip)]
    pub recent_liquidations: Vec<Liquidation>,
    /// When the snapshot was taken (epoch ms).
    #[serde(skip)]
    pub taken_ms: Millis,
    /// Per exchange × coin liquidation totals, one per window of [`AGGREGATED_WINDOWS`] in that
    /// order (`/api/liquidations/aggregated`; not part of the §6.0 document).
    #[serde(skip)]
    pub liquidations_by_coin: Vec<Aggregated>,
    /// The book's whole liquidation tape, newest first, shared with the book (`/recent`, and the
    /// API's live stream seeds itself from it); not part of the §6.0 document.
    #[serde(skip)]
    pub liquidation_tape: Vec<Arc<Liquidation>>,
    /// Fresh KRW per USDT of every domestic venue that has one (premiums recomputed for another
    /// pair need the other venue's rate); not part of the §6.0 document.
    #[serde(skip)]
    pub usdt_krw_rates: BTreeMap<Venue, f64>,
}

/// The windows of [`Snapshot::liquidations_by_coin`], in order.
pub const AGGREGATED_WINDOWS: [Window; 3] = [Window::H1, Window::H4, Window::H24];

/// The venue pair of the premium columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Pair {
    pub domestic: Venue,
    pub global: Venue,
}

/// Where the bank rate came from and how old it is.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct FxInfo {
    pub source: FxSource,
    #[schema(value_type = i64)]
    pub age_ms: Millis,
    pub stale: bool,
}

/// One coin row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CoinRow {
    pub symbol: String,
    pub name_ko: Option<String>,
    pub name_en: Option<String>,
    /// Every venue that quotes the coin, not only the selected pair.
    pub prices: BTreeMap<Venue, VenuePrice>,
    pub global_price_krw: Option<f64>,
    pub premium_percent: Option<f64>,
    pub premium_usdt_percent: Option<f64>,
    /// A leg or rate the premium needs is missing or too old: the premiums are `null`.
    pub stale: bool,
    /// Venue flags (`warning`, `caution:GLOBAL_PRICE_DIFFERENCES`) and kimp's own
    /// (`no_global_market`, `ticker_clash`, `suspect:premium_bound`).
    pub flags: Vec<String>,
}

/// One venue's quote of a coin. Global prices are per unit of the coin (aliases applied).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct VenuePrice {
    pub price: f64,
    pub currency: Currency,
    pub change_percent: Option<f64>,
    pub volume: Option<f64>,
    #[schema(value_type = i64)]
    pub age_ms: Millis,
    pub stale: bool,
}

/// One stream's health, as in the §6.0 `feeds` array.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct FeedRow {
    pub feed: &'static str,
    pub state: FeedState,
    /// Age of the last message, `null` if none yet.
    #[schema(value_type = Option<i64>)]
    pub age_ms: Option<Millis>,
    pub messages: u64,
    pub parse_errors: u64,
    pub reconnects: u64,
    /// Total outage time so far.
    #[schema(value_type = i64)]
    pub gap_ms: Millis,
    /// The most recent outages (newest last).
    pub gaps: Vec<Gap>,
    pub detail: Option<String>,
    pub last_error: Option<String>,
}

impl Snapshot {
    /// The row of a coin, if listed.
    #[must_use]
    pub fn coin(&self, symbol: &str) -> Option<&CoinRow> {
        self.coins.iter().find(|c| c.symbol == symbol)
    }

    /// The health row of a feed.
    #[must_use]
    pub fn feed(&self, feed: &str) -> Option<&FeedRow> {
        self.feeds.iter().find(|f| f.feed == feed)
    }

    /// Per exchange × coin liquidation totals over `window`, if it is one of
    /// [`AGGREGATED_WINDOWS`].
    #[must_use]
    pub fn aggregated(&self, window: Window) -> Option<&Aggregated> {
        let i = AGGREGATED_WINDOWS.iter().position(|w| *w == window)?;
        self.liquidations_by_coin.get(i)
    }
}

/// [`FeedRow`] as read from JSON (a remote server's `feeds`).
#[derive(Deserialize)]
struct FeedRowWire {
    feed: String,
    state: FeedState,
    age_ms: Option<Millis>,
    messages: u64,
    parse_errors: u64,
    reconnects: u64,
    gap_ms: Millis,
    gaps: Vec<Gap>,
    detail: Option<String>,
    last_error: Option<String>,
}

impl<'de> Deserialize<'de> for FeedRow {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        FeedRowWire::deserialize(d).map(FeedRow::from)
    }
}

impl From<FeedRowWire> for FeedRow {
    fn from(w: FeedRowWire) -> Self {
        FeedRow {
            feed: intern_feed_id(w.feed),
            state: w.state,
            age_ms: w.age_ms,
            messages: w.messages,
            parse_errors: w.parse_errors,
            reconnects: w.reconnects,
            gap_ms: w.gap_ms,
            gaps: w.gaps,
            detail: w.detail,
            last_error: w.last_error,
        }
    }
}

/// Feed ids read from JSON are interned: each distinct name is leaked once, so a long run
/// against a server does not grow memory per message.
fn intern_feed_id(name: String) -> &'static str {
    use std::collections::BTreeSet;
    use std::sync::Mutex;
    static NAMES: Mutex<BTreeSet<&'static str>> = Mutex::new(BTreeSet::new());
    let mut names = NAMES
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some(known) = names.get(name.as_str()) {
        return known;
    }
    let leaked: &'static str = Box::leak(name.into_boxed_str());
    names.insert(leaked);
    leaked
}

/// Formats epoch ms as `2026-11-24T03:59:00.123Z`.
#[must_use]
pub fn iso8601(ms: Millis) -> String {
    let format = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
    );
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|t| t.format(format).ok())
        .unwrap_or_default()
}

/// Reads a [`iso8601`] time back as epoch ms (any RFC 3339 time is accepted).
#[must_use]
pub fn parse_iso8601(text: &str) -> Option<Millis> {
    let t =
        time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339).ok()?;
    Millis::try_from(t.unix_timestamp_nanos() / 1_000_000).ok()
}

/// Milliseconds from one document `timestamp` to another; 0 when either is unreadable. Both ends
/// of the WebSocket `update` patches go by it (ages a patch leaves out grew by exactly this).
#[must_use]
pub fn timestamp_gap_ms(from: &str, to: &str) -> Millis {
    match (parse_iso8601(from), parse_iso8601(to)) {
        (Some(t0), Some(t1)) => t1 - t0,
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn iso8601_reads_back() {
        let ms = 1_790_640_000_123;
        assert_eq!(super::parse_iso8601(&super::iso8601(ms)), Some(ms));
        assert_eq!(super::parse_iso8601("yesterday"), None);
    }

    #[test]
    fn iso8601_has_milliseconds_and_z() {
        assert_eq!(
            super::iso8601(1_790_640_000_123),
            "2026-09-29T00:00:00.123Z"
        );
    }
}
