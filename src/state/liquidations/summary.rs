//! The serialisable views of the liquidation book: the SPEC §6.0 `/api/liquidations/summary`
//! document ([`LiquidationSummary`]) and the per exchange × coin table of
//! `/api/liquidations/aggregated` ([`Aggregated`]).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::model::{Coverage, FeedState, LiqVenue, Liquidation, Millis};

/// A rolling window of the liquidation stats.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
pub enum Window {
    #[serde(rename = "1m")]
    M1,
    #[serde(rename = "5m")]
    M5,
    #[serde(rename = "1h")]
    H1,
    #[serde(rename = "4h")]
    H4,
    #[serde(rename = "24h")]
    H24,
}

impl Window {
    /// Every window, shortest first (the order of the JSON keys).
    pub const ALL: [Window; 5] = [Window::M1, Window::M5, Window::H1, Window::H4, Window::H24];

    /// The name used in JSON keys and in `?window=`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Window::M1 => "1m",
            Window::M5 => "5m",
            Window::H1 => "1h",
            Window::H4 => "4h",
            Window::H24 => "24h",
        }
    }

    /// Parses `1m`, `5m`, `1h`, `4h` or `24h` (the `?window=` query value).
    #[must_use]
    pub fn parse(name: &str) -> Option<Window> {
        Window::ALL.into_iter().find(|w| w.as_str() == name)
    }

    /// Length of the window in milliseconds.
    #[must_use]
    pub fn duration_ms(self) -> Millis {
        const MINUTE: Millis = 60_000;
        match self {
            Window::M1 => MINUTE,
            Window::M5 => 5 * MINUTE,
            Window::H1 => 60 * MINUTE,
            Window::H4 => 240 * MINUTE,
            Window::H24 => 1_440 * MINUTE,
        }
    }

    /// Dense index for per-window arrays.
    #[must_use]
    pub fn index(self) -> usize {
        self as usize
    }
}

/// Totals of one window: `{"long_usd", "short_usd", "count", "largest"}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct WindowStats {
    /// Liquidated long positions, USD notional.
    pub long_usd: f64,
    /// Liquidated short positions, USD notional.
    pub short_usd: f64,
    pub count: u64,
    /// The biggest event of the window (the §6.0 event object), `null` when there is none.
    pub largest: Option<Liquidation>,
}

/// The five windows of one scope, serialised as `"1m": {…}, "5m": {…}, …, "24h": {…}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct WindowSet {
    #[serde(rename = "1m")]
    pub m1: WindowStats,
    #[serde(rename = "5m")]
    pub m5: WindowStats,
    #[serde(rename = "1h")]
    pub h1: WindowStats,
    #[serde(rename = "4h")]
    pub h4: WindowStats,
    #[serde(rename = "24h")]
    pub h24: WindowStats,
}

impl WindowSet {
    /// The stats of one window.
    #[must_use]
    pub fn get(&self, window: Window) -> &WindowStats {
        match window {
            Window::M1 => &self.m1,
            Window::M5 => &self.m5,
            Window::H1 => &self.h1,
            Window::H4 => &self.h4,
            Window::H24 => &self.h24,
        }
    }

    /// Builds the set from per-window stats in [`Window::ALL`] order.
    #[must_use]
    pub fn from_array(stats: [WindowStats; 5]) -> Self {
        let [m1, m5, h1, h4, h24] = stats;
        WindowSet {
            m1,
            m5,
            h1,
            h4,
            h24,
        }
    }
}

/// One exchange in the summary.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct VenueSummary {
    /// `sampled`, `partial` or `complete` (SPEC §7).
    pub coverage: Coverage,
    /// Health of the venue's liquidation feed. The book does not know it: it is `null` until the
    /// caller (the state task, which owns feed health) fills it with
    /// [`LiquidationSummary::set_state`].
    pub state: Option<FeedState>,
    /// Exchange time of the newest event seen, `null` when none.
    #[schema(value_type = Option<i64>)]
    pub last_event_ms: Option<Millis>,
    #[serde(flatten)]
    pub windows: WindowSet,
}

/// The SPEC §6.0 `GET /api/liquidations/summary` document. Every venue of [`LiqVenue::ALL`] is
/// present, with zeros when it has sent nothing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct LiquidationSummary {
    /// All venues together (the sum of `exchanges`; `largest` is the biggest of theirs).
    pub total: WindowSet,
    pub exchanges: BTreeMap<LiqVenue, VenueSummary>,
}

impl LiquidationSummary {
    /// Fills in a venue's feed state (owned by the state task's feed health, not by the book).
    pub fn set_state(&mut self, venue: LiqVenue, state: FeedState) {
        if let Some(v) = self.exchanges.get_mut(&venue) {
            v.state = Some(state);
        }
    }
}

/// One exchange × coin line of [`Aggregated`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AggRow {
    pub exchange: LiqVenue,
    /// The coin, or [`OTHER_COIN`](super::OTHER_COIN) for coins beyond the tracked set.
    pub coin: String,
    pub long_usd: f64,
    pub short_usd: f64,
    pub count: u64,
}

/// `GET /api/liquidations/aggregated?window=…`: totals per exchange × coin.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Aggregated {
    pub window: Window,
    /// Time resolution of the window's start edge (the window may reach this much further back).
    #[schema(value_type = i64)]
    pub bucket_ms: Millis,
    /// Largest first (long + short), then exchange and coin; only non-empty lines.
    pub rows: Vec<AggRow>,
}
