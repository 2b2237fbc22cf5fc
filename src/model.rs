//! Normalised types every layer after a feed speaks (SPEC §4).
//!
//! Nothing here knows a venue's field names: feed modules translate their private wire types into
//! these, and the state, the snapshot and the output formats only ever see these.

use serde::{Deserialize, Serialize};

/// Epoch milliseconds (UTC).
pub type Millis = i64;

/// A market venue whose spot prices kimp compares. Liquidation venues join in a later module.
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
#[serde(rename_all = "lowercase")]
pub enum Venue {
    Upbit,
    Bithumb,
    Binance,
    Bybit,
    Okx,
}

impl Venue {
    /// Every market venue, domestic first; the order of `prices` in the JSON document.
    pub const ALL: [Venue; 5] = [
        Venue::Upbit,
        Venue::Bithumb,
        Venue::Binance,
        Venue::Bybit,
        Venue::Okx,
    ];

    /// Lower-case name used in config, CLI, JSON and feed ids.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Venue::Upbit => "upbit",
            Venue::Bithumb => "bithumb",
            Venue::Binance => "binance",
            Venue::Bybit => "bybit",
            Venue::Okx => "okx",
        }
    }

    /// Dense index for per-venue arrays.
    #[must_use]
    pub fn index(self) -> usize {
        self as usize
    }

    /// The currency this venue's spot prices are quoted in.
    #[must_use]
    pub fn currency(self) -> Currency {
        if self.is_domestic() {
            Currency::Krw
        } else {
            Currency::Usdt
        }
    }

    /// Korean won venue (Upbit, Bithumb).
    #[must_use]
    pub fn is_domestic(self) -> bool {
        matches!(self, Venue::Upbit | Venue::Bithumb)
    }

    /// Parses a venue name as written in config and on the command line.
    #[must_use]
    pub fn parse(name: &str) -> Option<Venue> {
        Venue::ALL.into_iter().find(|v| v.as_str() == name)
    }
}

impl std::fmt::Display for Venue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Quote currency of a spot market.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum Currency {
    Krw,
    Usdt,
}

/// One venue's latest ticker for one coin.
#[derive(Debug, Clone, PartialEq)]
pub struct Quote {
    pub venue: Venue,
    /// Base asset as the venue lists it (`BTC`, `1000PEPE`); `symbols` decides which coin it is.
    pub base: String,
    pub currency: Currency,
    /// Last trade price in `currency`.
    pub price: f64,
    /// 24 h change in percent (`2.2` = +2.2 %); Korean venues: vs the daily close, global: rolling.
    pub change_percent: Option<f64>,
    /// 24 h traded value in `currency`.
    pub volume: Option<f64>,
    /// Exchange timestamp, when the message carries one.
    pub exchange_ms: Option<Millis>,
    /// When kimp received the frame.
    pub received_ms: Millis,
}

/// Where a USD/KRW value came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FxSource {
    Dunamu,
    OpenErApi,
    Frankfurter,
}

impl FxSource {
    pub const ALL: [FxSource; 3] = [FxSource::Dunamu, FxSource::OpenErApi, FxSource::Frankfurter];

    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            FxSource::Dunamu => "dunamu",
            FxSource::OpenErApi => "open_er_api",
            FxSource::Frankfurter => "frankfurter",
        }
    }

    #[must_use]
    pub fn parse(name: &str) -> Option<FxSource> {
        FxSource::ALL.into_iter().find(|s| s.as_str() == name)
    }
}

/// A USD/KRW bank rate with its provenance.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FxRate {
    pub source: FxSource,
    /// KRW per USD.
    pub krw_per_usd: f64,
    /// When the source says the rate was quoted (its own timestamp), which is what ages it.
    pub quoted_ms: Millis,
    pub received_ms: Millis,
}

/// One listed market of a venue: names and the venue's own warning flags.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MarketInfo {
    pub venue: Venue,
    pub base: String,
    pub name_ko: Option<String>,
    pub name_en: Option<String>,
    /// `warning`, `caution:GLOBAL_PRICE_DIFFERENCES`, `delisting:2026-12-01`, …
    pub flags: Vec<String>,
}

/// The crypto fear & greed index (alternative.me): 0 = extreme fear, 100 = extreme greed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct FearGreed {
    pub value: u8,
    /// `Extreme Fear`, `Fear`, `Neutral`, `Greed`, `Extreme Greed`.
    pub class: String,
    /// Yesterday's value.
    pub previous: Option<u8>,
    /// When the value was published (the day's 00:00 UTC), epoch ms.
    #[schema(value_type = i64)]
    pub updated_ms: Millis,
}

/// A derivatives venue whose liquidations kimp collects (SPEC §3.4).
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
#[serde(rename_all = "lowercase")]
pub enum LiqVenue {
    Binance,
    Bybit,
    Okx,
    Bitmex,
}

impl LiqVenue {
    pub const ALL: [LiqVenue; 4] = [
        LiqVenue::Binance,
        LiqVenue::Bybit,
        LiqVenue::Okx,
        LiqVenue::Bitmex,
    ];

    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            LiqVenue::Binance => "binance",
            LiqVenue::Bybit => "bybit",
            LiqVenue::Okx => "okx",
            LiqVenue::Bitmex => "bitmex",
        }
    }

    /// How much of the venue's liquidations its public feed shows (SPEC §7): Binance pushes at most
    /// one per symbol per second, OKX says its feed is not the total, Bybit and `BitMEX` send all.
    #[must_use]
    pub fn coverage(self) -> Coverage {
        match self {
            LiqVenue::Binance => Coverage::Sampled,
            LiqVenue::Okx => Coverage::Partial,
            LiqVenue::Bybit | LiqVenue::Bitmex => Coverage::Complete,
        }
    }

    #[must_use]
    pub fn index(self) -> usize {
        self as usize
    }
}

/// Coverage label of a liquidation feed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Coverage {
    Sampled,
    Partial,
    Complete,
}

/// The side of the **liquidated position** (not the liquidation order's side).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Side {
    Long,
    Short,
}

/// One liquidation, normalised (SPEC §4, exchanges.md §12).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Liquidation {
    /// `{exchange}:…`, unique per event; the key for de-duplication.
    pub id: String,
    pub exchange: LiqVenue,
    /// The venue's contract symbol (`BTCUSDT`, `BTC-USDT-SWAP`, `XBTUSD`).
    pub symbol: String,
    /// The coin (`BTC`; `1000PEPE` → `PEPE`, `XBT` → `BTC`).
    pub base: String,
    pub side: Side,
    pub price: f64,
    /// In base units.
    pub quantity: f64,
    pub notional_usd: f64,
    /// Exchange time, or receive time where the venue sends none (`BitMEX`).
    #[schema(value_type = i64)]
    pub time_ms: Millis,
    #[serde(skip)]
    pub received_ms: Millis,
}

/// What a feed hands to the state task.
#[derive(Debug, Clone, PartialEq)]
pub enum MarketEvent {
    Quote(Quote),
    Fx(FxRate),
    /// A venue's complete market list (replaces the previous one).
    Markets {
        venue: Venue,
        markets: Vec<MarketInfo>,
    },
    FearGreed(FearGreed),
    Liquidation(Liquidation),
}

/// Health of one stream (SPEC §7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum FeedState {
    /// Connected, nothing received yet.
    Connecting,
    Live,
    Quiet,
    Stale,
    Down,
    Reconnecting,
    Disabled,
}

impl FeedState {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            FeedState::Connecting => "connecting",
            FeedState::Live => "live",
            FeedState::Quiet => "quiet",
            FeedState::Stale => "stale",
            FeedState::Down => "down",
            FeedState::Reconnecting => "reconnecting",
            FeedState::Disabled => "disabled",
        }
    }

    /// Whether data from this feed can currently be trusted to be arriving.
    #[must_use]
    pub fn is_usable(self) -> bool {
        matches!(self, FeedState::Live | FeedState::Quiet)
    }
}

/// Identifier of a stream, `venue.stream` (`upbit.ticker`, `fx.usdkrw`).
pub type FeedId = &'static str;
