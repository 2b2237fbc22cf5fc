//! `[liquidations]`: the liquidation collectors' section (kept apart: `config.rs` holds the rest).

use serde::{Deserialize, Serialize};

/// `[liquidations]`: the derivatives venues' liquidation streams (SPEC §3.4, exchanges.md §4–§7).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[expect(
    clippy::struct_excessive_bools,
    reason = "one on/off switch per venue, flat keys as in the file"
)]
pub struct LiquidationsConfig {
    pub binance_enabled: bool,
    /// USD-M `/market` route with the mark-price canary on the same socket (the old `/ws/` route
    /// has been silent since 2026-04-23).
    pub binance_ws_url: String,
    pub bybit_enabled: bool,
    /// Linear public socket (`allLiquidation.{symbol}` topics).
    pub bybit_ws_url: String,
    /// REST base: `{bybit_rest_url}/v5/market/instruments-info?category=linear` (symbol list).
    pub bybit_rest_url: String,
    pub okx_enabled: bool,
    pub okx_ws_url: String,
    /// REST base: `{okx_rest_url}/api/v5/public/instruments?instType=SWAP` (contract sizes).
    pub okx_rest_url: String,
    pub bitmex_enabled: bool,
    /// The URL subscribes both tables (`liquidation`, and `instrument` for contract sizes).
    pub bitmex_ws_url: String,
    /// A connected stream with heartbeats but no liquidation for this long is shown `quiet`.
    pub quiet_after_secs: u64,
    /// Nothing alive (no liquidation, canary or pong) for this long: reconnect; nothing at all
    /// since connecting is reported as a suspect-silent endpoint.
    pub silent_timeout_secs: u64,
    /// How often the Bybit symbol list and the OKX contract table are re-read.
    pub symbols_refresh_secs: u64,
}

impl Default for LiquidationsConfig {
    fn default() -> Self {
        LiquidationsConfig {
            binance_enabled: true,
            binance_ws_url:
                "wss://fstream.binance.com/market/stream?streams=!forceOrder@arr/!markPrice@arr@1s"
                    .into(),
            bybit_enabled: true,
            bybit_ws_url: "wss://stream.bybit.com/v5/public/linear".into(),
            bybit_rest_url: "https://api.bybit.com".into(),
            okx_enabled: true,
            okx_ws_url: "wss://ws.okx.com:8443/ws/v5/public".into(),
            okx_rest_url: "https://openapi.okx.com".into(),
            bitmex_enabled: true,
            bitmex_ws_url: "wss://ws.bitmex.com/realtime?subscribe=liquidation,instrument".into(),
            quiet_after_secs: 120,
            silent_timeout_secs: 60,
            symbols_refresh_secs: 3_600,
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::config::{Config, ConfigError};

    fn invalid_key(edit: impl FnOnce(&mut Config)) -> String {
        let mut config = Config::default();
        edit(&mut config);
        match config.validate() {
            Err(ConfigError::Invalid { key, .. }) => key,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn urls_and_intervals_are_checked() {
        assert!(Config::default().validate().is_ok());
        let key = invalid_key(|c| c.liquidations.binance_ws_url = "https://x".into());
        assert_eq!(key, "liquidations.binance_ws_url");
        let key = invalid_key(|c| c.liquidations.okx_rest_url = "wss://x".into());
        assert_eq!(key, "liquidations.okx_rest_url");
        let key = invalid_key(|c| c.liquidations.silent_timeout_secs = 20);
        assert_eq!(key, "liquidations.silent_timeout_secs");
        let key = invalid_key(|c| c.liquidations.quiet_after_secs = 0);
        assert_eq!(key, "liquidations.quiet_after_secs");
    }
}
