//! `[tui]`: the dashboard's section (kept apart: `config.rs` holds the collectors' sections).

use serde::{Deserialize, Serialize};

/// Which way round the up/down colours go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ColorConvention {
    /// Korean markets: red is up, blue is down.
    #[default]
    Korean,
    /// Green is up, red is down.
    Western,
}

/// Language of the dashboard's labels and number units.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Language {
    /// 한국어: Korean names first, traded value in 억/조.
    #[default]
    Ko,
    /// English: English names first, traded value in K/M/B.
    En,
}

/// Time zone of the clock and the liquidation tape.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ClockZone {
    /// Korea Standard Time, UTC+9 (no daylight saving).
    #[default]
    Kst,
    Utc,
}

/// `[tui]`: defaults for the full-screen dashboard; `l`, `t` switch language and clock live.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TuiConfig {
    /// Redraws per second at most; idle screens redraw once a second for the clock.
    pub max_fps: u32,
    pub colors: ColorConvention,
    pub language: Language,
    pub clock: ClockZone,
    /// Plain ASCII marks instead of `● ▰ ★ …`, for terminals that draw those two cells wide.
    pub ascii_symbols: bool,
}

impl Default for TuiConfig {
    fn default() -> Self {
        TuiConfig {
            max_fps: 10,
            colors: ColorConvention::Korean,
            language: Language::Ko,
            clock: ClockZone::Kst,
            ascii_symbols: false,
        }
    }
}
