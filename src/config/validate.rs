//! Post-merge checks: values that parse as TOML but cannot work (unknown venue, `https` where a
//! WebSocket URL belongs, a zero interval). Run after defaults, file, env and flags are layered,
//! so a bad file value that a flag overrides is no error.

use std::collections::HashSet;

use reqwest::Url;
use tracing_subscriber::EnvFilter;

use super::error::{ConfigError, KeyPath};
use super::{Config, FxConfig, LiquidationsConfig, SymbolsConfig, TuiConfig};
use crate::model::{FxSource, Venue};

/// Domestic (KRW) venues with a working collector; `--domestic` and `general.domestic` accept these.
pub const DOMESTIC_VENUES: &[Venue] = &[Venue::Upbit, Venue::Bithumb];
/// Global (USDT) venues with a working collector; `--overseas` and `general.overseas` accept these.
pub const OVERSEAS_VENUES: &[Venue] = &[Venue::Binance, Venue::Bybit, Venue::Okx];

/// Upper bound of every `*_secs` key: larger values overflow `Instant` arithmetic somewhere.
const MAX_SECS: u64 = 365 * 86_400;
/// `general.publish_interval_ms` bounds: faster is wasted work, slower is not live.
const PUBLISH_INTERVAL_MS: std::ops::RangeInclusive<u64> = 10..=10_000;

/// A failed check: which key, and what is wrong with it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Problem {
    pub(crate) path: KeyPath,
    pub(crate) message: String,
}

type Check = Result<(), Problem>;

fn problem(path: KeyPath, message: impl Into<String>) -> Check {
    Err(Problem {
        path,
        message: message.into(),
    })
}

impl Config {
    /// Checks the merged configuration; the error names the dotted key (but not where the value
    /// came from: [`load`](super::load) adds that).
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.check().map_err(|p| ConfigError::Invalid {
            key: p.path.to_string(),
            message: p.message,
            origin: None,
        })
    }

    /// The first problem found, section by section in file order.
    pub(crate) fn check(&self) -> Check {
        check_general(self)?;
        check_symbols(&self.symbols)?;
        check_fx(&self.fx)?;
        check_venues(self)?;
        check_liquidations(&self.liquidations)?;
        self.server.check()?;
        check_tui(&self.tui)?;
        check_simulator(self)
    }
}

fn check_general(config: &Config) -> Check {
    let general = &config.general;
    let key = |name: &str| KeyPath::of(&["general", name]);
    venue(key("domestic"), &general.domestic, DOMESTIC_VENUES)?;
    venue(key("overseas"), &general.overseas, OVERSEAS_VENUES)?;
    if let Err(message) = parse_log_level(&general.log_level) {
        return problem(key("log_level"), message);
    }
    let interval = general.publish_interval_ms;
    if !PUBLISH_INTERVAL_MS.contains(&interval) {
        let (min, max) = PUBLISH_INTERVAL_MS.into_inner();
        return problem(
            key("publish_interval_ms"),
            format!("{interval} is out of range, expected {min} to {max}"),
        );
    }
    let premium = &config.premium;
    let key = |name: &str| KeyPath::of(&["premium", name]);
    secs(key("quote_max_age_secs"), premium.quote_max_age_secs)?;
    positive(
        key("mismatch_bound_percent"),
        premium.mismatch_bound_percent,
    )
}

fn check_venues(config: &Config) -> Check {
    let upbit = &config.upbit;
    let key = |name: &str| KeyPath::of(&["upbit", name]);
    url(key("ws_url"), &upbit.ws_url, WS)?;
    url(key("rest_url"), &upbit.rest_url, HTTP)?;
    secs(key("ping_interval_secs"), upbit.ping_interval_secs)?;
    secs(key("idle_timeout_secs"), upbit.idle_timeout_secs)?;
    secs(key("market_refresh_secs"), upbit.market_refresh_secs)?;

    let binance = &config.binance;
    let key = |name: &str| KeyPath::of(&["binance", name]);
    url(key("ws_url"), &binance.ws_url, WS)?;
    url(key("fallback_ws_url"), &binance.fallback_ws_url, WS)?;
    secs(key("idle_timeout_secs"), binance.idle_timeout_secs)?;
    secs(key("lifetime_secs"), binance.lifetime_secs)?;

    let bithumb = &config.bithumb;
    let key = |name: &str| KeyPath::of(&["bithumb", name]);
    url(key("ws_url"), &bithumb.ws_url, WS)?;
    url(key("rest_url"), &bithumb.rest_url, HTTP)?;
    secs(key("ping_interval_secs"), bithumb.ping_interval_secs)?;
    secs(key("idle_timeout_secs"), bithumb.idle_timeout_secs)?;
    secs(key("market_refresh_secs"), bithumb.market_refresh_secs)?;
    secs(key("fallback_poll_secs"), bithumb.fallback_poll_secs)?;

    let bybit = &config.bybit;
    let key = |name: &str| KeyPath::of(&["bybit", name]);
    url(key("ws_url"), &bybit.ws_url, WS)?;
    url(key("rest_url"), &bybit.rest_url, HTTP)?;
    secs(key("ping_interval_secs"), bybit.ping_interval_secs)?;
    secs(key("idle_timeout_secs"), bybit.idle_timeout_secs)?;
    secs(key("fallback_poll_secs"), bybit.fallback_poll_secs)?;
    secs(key("symbols_refresh_secs"), bybit.symbols_refresh_secs)?;

    let okx = &config.okx;
    let key = |name: &str| KeyPath::of(&["okx", name]);
    url(key("ws_url"), &okx.ws_url, WS)?;
    url(key("rest_url"), &okx.rest_url, HTTP)?;
    secs(key("ping_interval_secs"), okx.ping_interval_secs)?;
    secs(key("idle_timeout_secs"), okx.idle_timeout_secs)?;
    secs(key("symbols_refresh_secs"), okx.symbols_refresh_secs)?;

    let fear_greed = &config.fear_greed;
    let key = |name: &str| KeyPath::of(&["fear_greed", name]);
    url(key("url"), &fear_greed.url, HTTP)?;
    secs(key("poll_interval_secs"), fear_greed.poll_interval_secs)
}

/// The shortest `liquidations.silent_timeout_secs`: longer than the 20 s Bybit/OKX ping interval
/// with margin, so a quiet stream whose only sign of life is a pong is never taken for dead.
const MIN_SILENT_TIMEOUT_SECS: u64 = 30;

fn check_liquidations(liq: &LiquidationsConfig) -> Check {
    let key = |name: &str| KeyPath::of(&["liquidations", name]);
    url(key("binance_ws_url"), &liq.binance_ws_url, WS)?;
    url(key("bybit_ws_url"), &liq.bybit_ws_url, WS)?;
    url(key("bybit_rest_url"), &liq.bybit_rest_url, HTTP)?;
    url(key("okx_ws_url"), &liq.okx_ws_url, WS)?;
    url(key("okx_rest_url"), &liq.okx_rest_url, HTTP)?;
    url(key("bitmex_ws_url"), &liq.bitmex_ws_url, WS)?;
    secs(key("quiet_after_secs"), liq.quiet_after_secs)?;
    secs(key("silent_timeout_secs"), liq.silent_timeout_secs)?;
    if liq.silent_timeout_secs < MIN_SILENT_TIMEOUT_SECS {
        return problem(
            key("silent_timeout_secs"),
            format!(
                "{} is too short, expected at least {MIN_SILENT_TIMEOUT_SECS} (pongs come every 20 s)",
                liq.silent_timeout_secs
            ),
        );
    }
    secs(key("symbols_refresh_secs"), liq.symbols_refresh_secs)
}

/// `tui.max_fps` bounds: below 1 the screen would lag keys; above 60 is wasted CPU.
const MAX_FPS: std::ops::RangeInclusive<u32> = 1..=60;

fn check_tui(tui: &TuiConfig) -> Check {
    if MAX_FPS.contains(&tui.max_fps) {
        return Ok(());
    }
    let (min, max) = MAX_FPS.into_inner();
    problem(
        KeyPath::of(&["tui", "max_fps"]),
        format!("{} is out of range, expected {min} to {max}", tui.max_fps),
    )
}

fn check_simulator(config: &Config) -> Check {
    let simulator = &config.simulator;
    let key = |name: &str| KeyPath::of(&["simulator", name]);
    // TOML integers are i64: a larger seed (possible from --seed) could not be printed back.
    if i64::try_from(simulator.seed).is_err() {
        return problem(
            key("seed"),
            format!(
                "{} is too large, the maximum is {}",
                simulator.seed,
                i64::MAX
            ),
        );
    }
    if let Err(message) = parse_bind_addr(&simulator.bind) {
        return problem(key("bind"), message);
    }
    if let Err(message) = rate_multiplier_in_range(simulator.rate_multiplier) {
        return problem(key("rate_multiplier"), message);
    }
    if let Err((index, message)) = crate::sim::parse_fault_specs(&simulator.faults) {
        return problem(key("faults").index(index), message);
    }
    Ok(())
}

/// A message rate multiplier within the simulator's bounds (`--rate-multiplier`,
/// `simulator.rate_multiplier`).
pub fn parse_rate_multiplier(text: &str) -> Result<f64, String> {
    let value: f64 = text
        .trim()
        .parse()
        .map_err(|_| format!("`{text}` is not a number"))?;
    rate_multiplier_in_range(value)
}

fn rate_multiplier_in_range(value: f64) -> Result<f64, String> {
    let (min, max) = crate::sim::faults::RATE_MULTIPLIER_RANGE;
    if (min..=max).contains(&value) {
        Ok(value)
    } else {
        Err(format!("{value} is out of range, expected {min} to {max}"))
    }
}

fn check_symbols(symbols: &SymbolsConfig) -> Check {
    let base = KeyPath::of(&["symbols"]);
    for (i, ticker) in symbols.no_global.iter().enumerate() {
        if ticker.trim().is_empty() {
            return problem(base.clone().key("no_global").index(i), "empty ticker");
        }
    }
    for (ticker, alias) in &symbols.aliases {
        let path = base.clone().key("aliases").key(ticker);
        if ticker.trim().is_empty() {
            return problem(path, "empty ticker");
        }
        if alias.coin.trim().is_empty() {
            return problem(path.key("coin"), "empty coin");
        }
        positive(path.key("multiplier"), alias.multiplier)?;
    }
    Ok(())
}

fn check_fx(fx: &FxConfig) -> Check {
    let key = |name: &str| KeyPath::of(&["fx", name]);
    if fx.sources.is_empty() {
        let names: Vec<_> = FxSource::ALL.iter().map(|s| s.as_str()).collect();
        return problem(
            key("sources"),
            format!("no FX source, expected some of: {}", names.join(", ")),
        );
    }
    let mut seen = HashSet::new();
    for (i, name) in fx.sources.iter().enumerate() {
        let Some(source) = FxSource::parse(name) else {
            let names: Vec<_> = FxSource::ALL.iter().map(|s| s.as_str()).collect();
            return problem(
                key("sources").index(i),
                format!(
                    "unknown FX source `{name}`, expected one of: {}",
                    names.join(", ")
                ),
            );
        };
        if !seen.insert(source) {
            return problem(key("sources").index(i), format!("`{name}` is listed twice"));
        }
    }
    secs(key("poll_interval_secs"), fx.poll_interval_secs)?;
    secs(key("timeout_secs"), fx.timeout_secs)?;
    url(key("dunamu_url"), &fx.dunamu_url, HTTP)?;
    url(key("open_er_api_url"), &fx.open_er_api_url, HTTP)?;
    url(key("frankfurter_url"), &fx.frankfurter_url, HTTP)?;
    secs(key("dunamu_max_age_secs"), fx.dunamu_max_age_secs)?;
    secs(key("open_er_api_max_age_secs"), fx.open_er_api_max_age_secs)?;
    secs(key("frankfurter_max_age_secs"), fx.frankfurter_max_age_secs)
}

fn venue(path: KeyPath, name: &str, implemented: &[Venue]) -> Check {
    if Venue::parse(name).is_some_and(|v| implemented.contains(&v)) {
        return Ok(());
    }
    let names: Vec<_> = implemented.iter().map(|v| v.as_str()).collect();
    let names = names.join(", ");
    let domestic = implemented.iter().any(|v| v.is_domestic());
    let message = match Venue::parse(name) {
        None => format!("unknown venue `{name}`, expected one of: {names}"),
        Some(v) if v.is_domestic() != domestic => {
            let side = if v.is_domestic() {
                "domestic"
            } else {
                "global"
            };
            format!("`{name}` is a {side} venue, expected one of: {names}")
        }
        Some(_) => format!("venue `{name}` is not supported yet, expected one of: {names}"),
    };
    problem(path, message)
}

fn secs(path: KeyPath, value: u64) -> Check {
    if (1..=MAX_SECS).contains(&value) {
        Ok(())
    } else {
        problem(
            path,
            format!("{value} is out of range, expected 1 to {MAX_SECS} (365 days)"),
        )
    }
}

fn positive(path: KeyPath, value: f64) -> Check {
    if value.is_finite() && value > 0.0 {
        Ok(())
    } else {
        problem(path, format!("{value} must be a number greater than 0"))
    }
}

const WS: &[&str] = &["ws", "wss"];
const HTTP: &[&str] = &["http", "https"];

fn url(path: KeyPath, text: &str, schemes: &[&str]) -> Check {
    let parsed = match Url::parse(text) {
        Ok(parsed) => parsed,
        Err(e) => return problem(path, format!("`{text}` is not a valid URL: {e}")),
    };
    if !schemes.contains(&parsed.scheme()) {
        return problem(
            path,
            format!(
                "`{text}` has scheme `{}`, expected {}",
                parsed.scheme(),
                schemes.join(" or ")
            ),
        );
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return problem(path, format!("`{text}` has no host"));
    }
    Ok(())
}

/// Checks a log filter (`info`, `kimp::feed=debug,warn`); also the clap value parser of `--log-level`.
pub fn parse_log_level(level: &str) -> Result<String, String> {
    if level.trim().is_empty() {
        return Err("empty log level, expected error, warn, info, debug or trace".into());
    }
    EnvFilter::builder()
        .parse(level)
        .map(|_| level.to_owned())
        .map_err(|e| format!("invalid log level `{level}`: {e}"))
}

/// Checks a `host:port` listen address; also the clap value parser of `--bind`.
pub fn parse_bind_addr(addr: &str) -> Result<String, String> {
    let valid = addr.rsplit_once(':').is_some_and(|(host, port)| {
        !host.is_empty() && !host.contains(char::is_whitespace) && port.parse::<u16>().is_ok()
    });
    if valid {
        Ok(addr.to_owned())
    } else {
        Err(format!(
            "invalid address `{addr}`, expected host:port such as 127.0.0.1:9100"
        ))
    }
}
