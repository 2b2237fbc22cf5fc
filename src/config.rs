//! Typed configuration: defaults, the TOML file, layering with env and CLI, validation (SPEC §9).
//!
//! Every key has a default equal to the real exchanges' endpoints, so an empty file is a working
//! configuration; `config.example.toml` documents every key and a test keeps it equal to
//! [`Config::default`].
//!
//! Submodules: [`load`](load()) finds, reads and layers (defaults → file → env/flags),
//! `validate` runs the post-merge checks, `error` turns byte spans into line, column and dotted key.

mod error;
mod liquidations;
mod load;
mod server;
mod tui;
mod validate;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub use error::{ConfigError, Origin, key_at, line_column};
pub use liquidations::LiquidationsConfig;
pub use load::{Loaded, Paths, config_file_path, default_paths, load};
pub use server::{ServerConfig, parse_bind_ip};
pub use tui::{ClockZone, ColorConvention, Language, TuiConfig};
pub use validate::{
    DOMESTIC_VENUES, OVERSEAS_VENUES, parse_bind_addr, parse_log_level, parse_rate_multiplier,
};

/// The whole configuration file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub general: GeneralConfig,
    pub premium: PremiumConfig,
    pub symbols: SymbolsConfig,
    pub fx: FxConfig,
    pub upbit: UpbitConfig,
    pub bithumb: BithumbConfig,
    pub binance: BinanceConfig,
    pub bybit: BybitConfig,
    pub okx: OkxConfig,
    pub liquidations: LiquidationsConfig,
    pub tui: TuiConfig,
    pub server: ServerConfig,
    pub fear_greed: FearGreedConfig,
    pub simulator: SimulatorConfig,
}

#[allow(clippy::derivable_impls)]
impl Default for Config {
    fn default() -> Self {
        Config {
            general: GeneralConfig::default(),
            premium: PremiumConfig::default(),
            symbols: SymbolsConfig::default(),
            fx: FxConfig::default(),
            upbit: UpbitConfig::default(),
            bithumb: BithumbConfig::default(),
            binance: BinanceConfig::default(),
            bybit: BybitConfig::default(),
            okx: OkxConfig::default(),
            liquidations: LiquidationsConfig::default(),
            tui: TuiConfig::default(),
            server: ServerConfig::default(),
            fear_greed: FearGreedConfig::default(),
            simulator: SimulatorConfig::default(),
        }
    }
}

/// `[general]`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GeneralConfig {
    /// Domestic (KRW) venue of the premium columns: `upbit` (later: `bithumb`).
    pub domestic: String,
    /// Global (USDT) venue of the premium columns: `binance` (later: `bybit`, `okx`).
    pub overseas: String,
    /// Where logs (and later the database and favourites) live; empty = the platform data dir.
    pub data_dir: String,
    /// `error`, `warn`, `info`, `debug`, `trace`, or a tracing filter directive.
    pub log_level: String,
    /// How often the state task publishes a new snapshot when something changed.
    pub publish_interval_ms: u64,
}

impl Default for GeneralConfig {
    fn default() -> Self {
        GeneralConfig {
            domestic: "upbit".into(),
            overseas: "binance".into(),
            data_dir: String::new(),
            log_level: "info".into(),
            publish_interval_ms: 250,
        }
    }
}

/// `[premium]` freshness rules (SPEC §5).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PremiumConfig {
    /// A quote older than this is stale: its premium is `null` and the row is marked stale.
    pub quote_max_age_secs: u64,
    /// |premium| above this is flagged as a probable ticker mismatch (`suspect:premium_bound`).
    pub mismatch_bound_percent: f64,
}

impl Default for PremiumConfig {
    fn default() -> Self {
        PremiumConfig {
            quote_max_age_secs: 30,
            mismatch_bound_percent: 30.0,
        }
    }
}

/// `[symbols]`: the only place that decides "same coin" across venues (SPEC §4, exchanges.md §13).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SymbolsConfig {
    /// Tickers that name different coins on domestic and global venues; never compared.
    pub no_global: Vec<String>,
    /// Global-venue ticker → the coin it stands for and how many units one ticker unit holds.
    pub aliases: BTreeMap<String, AliasConfig>,
}

impl Default for SymbolsConfig {
    fn default() -> Self {
        let mut aliases = BTreeMap::new();
        for coin in [
            "PEPE", "SHIB", "BONK", "FLOKI", "LUNC", "XEC", "SATS", "RATS", "CAT",
        ] {
            aliases.insert(
                format!("1000{coin}"),
                AliasConfig {
                    coin: coin.into(),
                    multiplier: 1000.0,
                },
            );
        }
        SymbolsConfig {
            no_global: vec!["TON".into(), "ALT".into()],
            aliases,
        }
    }
}

/// One alias: `"1000PEPE" = { coin = "PEPE", multiplier = 1000 }`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AliasConfig {
    pub coin: String,
    pub multiplier: f64,
}

/// `[fx]`: USD/KRW sources in fallback order (exchanges.md §8).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FxConfig {
    /// Source names in the order they are tried: `dunamu`, `open_er_api`, `frankfurter`.
    pub sources: Vec<String>,
    pub poll_interval_secs: u64,
    pub timeout_secs: u64,
    pub dunamu_url: String,
    pub open_er_api_url: String,
    pub frankfurter_url: String,
    /// A value older than its source's limit is stale: premiums against it become `null`.
    pub dunamu_max_age_secs: u64,
    pub open_er_api_max_age_secs: u64,
    pub frankfurter_max_age_secs: u64,
}

impl Default for FxConfig {
    fn default() -> Self {
        FxConfig {
            sources: vec!["dunamu".into(), "open_er_api".into(), "frankfurter".into()],
            poll_interval_secs: 60,
            timeout_secs: 10,
            dunamu_url: "https://quotation-api-cdn.dunamu.com/v1/forex/recent?codes=FRX.KRWUSD"
                .into(),
            open_er_api_url: "https://open.er-api.com/v6/latest/USD".into(),
            frankfurter_url: "https://api.frankfurter.dev/v2/rate/USD/KRW".into(),
            // Dunamu holds the last bank quote over nights and weekends: 3 days covers a long weekend.
            dunamu_max_age_secs: 3 * 86_400,
            open_er_api_max_age_secs: 26 * 3_600,
            frankfurter_max_age_secs: 4 * 86_400,
        }
    }
}

/// `[upbit]`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct UpbitConfig {
    pub enabled: bool,
    pub ws_url: String,
    /// REST base; the market list is `{rest_url}/v1/market/all?is_details=true`.
    pub rest_url: String,
    /// Keep-alive: Upbit closes idle sockets at ~60 s.
    pub ping_interval_secs: u64,
    /// No frame for this long = stale, reconnect.
    pub idle_timeout_secs: u64,
    pub market_refresh_secs: u64,
}

impl Default for UpbitConfig {
    fn default() -> Self {
        UpbitConfig {
            enabled: true,
            ws_url: "wss://api.upbit.com/websocket/v1".into(),
            rest_url: "https://api.upbit.com".into(),
            ping_interval_secs: 20,
            idle_timeout_secs: 30,
            market_refresh_secs: 600,
        }
    }
}

/// `[binance]` (spot tickers)
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BinanceConfig {
    pub enabled: bool,
    /// Primary all-market stream (`!ticker_1d@arr`; the seed's `!ticker@arr` is retired).
    pub ws_url: String,
    /// Used after the primary fails repeatedly (`!miniTicker@arr`).
    pub fallback_ws_url: String,
    pub idle_timeout_secs: u64,
    /// Reconnect before Binance's 24 h connection lifetime.
    pub lifetime_secs: u64,
}

impl Default for BinanceConfig {
    fn default() -> Self {
        BinanceConfig {
            enabled: true,
            ws_url: "wss://stream.binance.com:9443/stream?streams=!ticker_1d@arr".into(),
            fallback_ws_url: "wss://stream.binance.com:9443/stream?streams=!miniTicker@arr".into(),
            idle_timeout_secs: 30,
            lifetime_secs: 23 * 3_600,
        }
    }
}

/// `[bithumb]`: the Upbit-compatible v1 WebSocket, with the legacy `ALL_KRW` REST ticker as the
/// automatic fallback while the WebSocket is down.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BithumbConfig {
    pub enabled: bool,
    pub ws_url: String,
    /// REST base: `{rest_url}/v1/market/all?isDetails=true`, `{rest_url}/v1/market/virtual_asset_warning`,
    /// `{rest_url}/public/ticker/ALL_KRW`.
    pub rest_url: String,
    /// Keep-alive: Bithumb closes idle sockets at ~60 s.
    pub ping_interval_secs: u64,
    /// No frame for this long = stale, reconnect.
    pub idle_timeout_secs: u64,
    pub market_refresh_secs: u64,
    /// `ALL_KRW` poll interval while the WebSocket is not live.
    pub fallback_poll_secs: u64,
}

impl Default for BithumbConfig {
    fn default() -> Self {
        BithumbConfig {
            enabled: true,
            ws_url: "wss://ws-api.bithumb.com/websocket/v1".into(),
            rest_url: "https://api.bithumb.com".into(),
            ping_interval_secs: 20,
            idle_timeout_secs: 30,
            market_refresh_secs: 600,
            fallback_poll_secs: 3,
        }
    }
}

/// `[bybit]` (spot tickers)
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BybitConfig {
    pub enabled: bool,
    pub ws_url: String,
    /// REST base: `{rest_url}/v5/market/tickers?category=spot` (fallback and symbol list).
    pub rest_url: String,
    /// `{"op":"ping"}` interval (Bybit cuts after ~10 min without ping or data).
    pub ping_interval_secs: u64,
    pub idle_timeout_secs: u64,
    /// REST tickers poll interval while the WebSocket is not live.
    pub fallback_poll_secs: u64,
    /// How often the spot symbol list is refreshed.
    pub symbols_refresh_secs: u64,
}

impl Default for BybitConfig {
    fn default() -> Self {
        BybitConfig {
            enabled: true,
            ws_url: "wss://stream.bybit.com/v5/public/spot".into(),
            rest_url: "https://api.bybit.com".into(),
            ping_interval_secs: 20,
            idle_timeout_secs: 30,
            fallback_poll_secs: 5,
            symbols_refresh_secs: 3_600,
        }
    }
}

/// `[okx]` (spot tickers)
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OkxConfig {
    pub enabled: bool,
    pub ws_url: String,
    /// REST base: `{rest_url}/api/v5/public/instruments?instType=SPOT` (symbol list).
    pub rest_url: String,
    /// Text `ping` when the socket has been silent this long (OKX cuts at 30 s).
    pub ping_interval_secs: u64,
    pub idle_timeout_secs: u64,
    pub symbols_refresh_secs: u64,
}

impl Default for OkxConfig {
    fn default() -> Self {
        OkxConfig {
            enabled: true,
            ws_url: "wss://ws.okx.com:8443/ws/v5/public".into(),
            rest_url: "https://openapi.okx.com".into(),
            ping_interval_secs: 20,
            idle_timeout_secs: 30,
            symbols_refresh_secs: 3_600,
        }
    }
}

/// `[fear_greed]`: alternative.me's crypto fear & greed index.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FearGreedConfig {
    pub enabled: bool,
    pub url: String,
    pub poll_interval_secs: u64,
}

impl Default for FearGreedConfig {
    fn default() -> Self {
        FearGreedConfig {
            enabled: true,
            url: "https://api.alternative.me/fng/?limit=2".into(),
            poll_interval_secs: 3_600,
        }
    }
}

/// `[simulator]`: the built-in exchange simulator used by `--demo` and `kimp simulate`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SimulatorConfig {
    pub seed: u64,
    /// Default listen address of `kimp simulate`.
    pub bind: String,
    /// Message rate multiplier at start (1 = the real venues' rate).
    pub rate_multiplier: f64,
    /// Fault knobs on at start, `VENUE:KNOB[=VALUE]` each (see [`crate::sim::FaultSpec`]); used
    /// by `kimp simulate`, `--demo` and `kimp doctor --demo`.
    pub faults: Vec<String>,
}

impl Default for SimulatorConfig {
    fn default() -> Self {
        SimulatorConfig {
            seed: 1,
            bind: "127.0.0.1:9100".into(),
            rate_multiplier: 1.0,
            faults: Vec::new(),
        }
    }
}
