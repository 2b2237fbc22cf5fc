//! Fault specs: the compact `VENUE:KNOB[=VALUE]` syntax shared by `kimp simulate --fault`,
//! `KIMP_SIM_FAULTS` and `simulator.faults` in the config file.
//!
//! | spec | effect |
//! |---|---|
//! | `binance_futures:silent` | sockets stay open, nothing is sent or answered; REST hangs |
//! | `binance_futures:moved` | connects, acks and pongs, but never any data (a retired path) |
//! | `okx:malformed=5` | every 5th frame (and REST body) is garbage |
//! | `fx:rest_status=503` | every REST reply is that error |
//! | `upbit:rest_delay=2000` | every REST reply waits 2,000 ms |
//! | `bybit:drop_every=30` | every open socket is cut every 30 s |
//!
//! `all` as the venue applies the knob to every venue.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use super::{Faults, SimVenue};

/// Longest REST delay a spec may ask for (10 min).
const MAX_REST_DELAY_MS: u64 = 600_000;
/// Longest drop period a spec may ask for (1 day).
const MAX_DROP_EVERY_SECS: u64 = 86_400;

/// Which knob a spec turns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultKnob {
    Silent,
    Moved,
    /// Every Nth frame is garbage (N ≥ 1).
    Malformed(u32),
    RestDelayMs(u64),
    /// An HTTP error status, 400–599.
    RestStatus(u16),
    /// Drop the venue's sockets every N seconds (N ≥ 1).
    DropEverySecs(u64),
}

/// One parsed `VENUE:KNOB[=VALUE]`; `venue: None` means every venue (`all`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FaultSpec {
    pub venue: Option<SimVenue>,
    pub knob: FaultKnob,
}

impl SimVenue {
    /// The name used over HTTP and in fault specs (`binance_futures`).
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            SimVenue::Upbit => "upbit",
            SimVenue::Binance => "binance",
            SimVenue::Fx => "fx",
            SimVenue::Bithumb => "bithumb",
            SimVenue::Bybit => "bybit",
            SimVenue::Okx => "okx",
            SimVenue::FearGreed => "fear_greed",
            SimVenue::BinanceFutures => "binance_futures",
            SimVenue::BybitLinear => "bybit_linear",
            SimVenue::Bitmex => "bitmex",
        }
    }

    /// The venue of a name, as [`SimVenue::as_str`] writes it.
    #[must_use]
    pub fn parse(name: &str) -> Option<SimVenue> {
        SimVenue::ALL.into_iter().find(|v| v.as_str() == name)
    }
}

impl FromStr for FaultSpec {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let text = text.trim();
        let Some((venue, knob)) = text.split_once(':') else {
            return Err(format!(
                "`{text}` is not VENUE:KNOB[=VALUE], e.g. binance_futures:silent or okx:malformed=5"
            ));
        };
        let venue = match venue.trim() {
            "all" => None,
            name => Some(SimVenue::parse(name).ok_or_else(|| {
                let names: Vec<&str> = SimVenue::ALL.iter().map(|v| v.as_str()).collect();
                format!(
                    "unknown venue `{name}` in `{text}`, expected all or one of {}",
                    names.join(", ")
                )
            })?),
        };
        let knob = parse_knob(knob.trim()).map_err(|e| format!("`{text}`: {e}"))?;
        Ok(FaultSpec { venue, knob })
    }
}

fn parse_knob(knob: &str) -> Result<FaultKnob, String> {
    let (name, value) = match knob.split_once('=') {
        Some((name, value)) => (name.trim(), Some(value.trim())),
        None => (knob, None),
    };
    let number = |min: u64, max: u64| -> Result<u64, String> {
        let value = value.ok_or_else(|| format!("{name} needs a value: {name}=N"))?;
        let n: u64 = value
            .parse()
            .map_err(|_| format!("{name}={value}: not a whole number"))?;
        if (min..=max).contains(&n) {
            Ok(n)
        } else {
            Err(format!(
                "{name}={n} is out of range, expected {min} to {max}"
            ))
        }
    };
    let flag = |knob: FaultKnob| match value {
        None | Some("true") => Ok(knob),
        Some(v) => Err(format!("{name} takes no value, got `{v}`")),
    };
    match name {
        "silent" => flag(FaultKnob::Silent),
        "moved" => flag(FaultKnob::Moved),
        "malformed" => number(1, u64::from(u32::MAX))
            .map(|n| FaultKnob::Malformed(u32::try_from(n).unwrap_or(u32::MAX))),
        "rest_delay" => number(0, MAX_REST_DELAY_MS).map(FaultKnob::RestDelayMs),
        "rest_status" => {
            number(400, 599).map(|n| FaultKnob::RestStatus(u16::try_from(n).unwrap_or(503)))
        }
        "drop_every" => number(1, MAX_DROP_EVERY_SECS).map(FaultKnob::DropEverySecs),
        other => Err(format!(
            "unknown knob `{other}`, expected silent, moved, malformed=N, rest_delay=MS, \
             rest_status=CODE or drop_every=SECS"
        )),
    }
}

impl fmt::Display for FaultSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let venue = self.venue.map_or("all", SimVenue::as_str);
        match self.knob {
            FaultKnob::Silent => write!(f, "{venue}:silent"),
            FaultKnob::Moved => write!(f, "{venue}:moved"),
            FaultKnob::Malformed(n) => write!(f, "{venue}:malformed={n}"),
            FaultKnob::RestDelayMs(ms) => write!(f, "{venue}:rest_delay={ms}"),
            FaultKnob::RestStatus(s) => write!(f, "{venue}:rest_status={s}"),
            FaultKnob::DropEverySecs(s) => write!(f, "{venue}:drop_every={s}"),
        }
    }
}

impl FaultSpec {
    /// Turns the knob on the simulator's fault handle.
    pub fn apply(&self, faults: &Faults) {
        let venues = match self.venue {
            Some(v) => vec![v],
            None => SimVenue::ALL.to_vec(),
        };
        for venue in venues {
            match self.knob {
                FaultKnob::Silent => faults.set_silent(venue, true),
                FaultKnob::Moved => faults.set_moved(venue, true),
                FaultKnob::Malformed(n) => faults.set_malformed_every(venue, n),
                FaultKnob::RestDelayMs(ms) => {
                    faults.set_rest_delay(venue, Duration::from_millis(ms));
                }
                FaultKnob::RestStatus(s) => faults.set_rest_status(venue, Some(s)),
                FaultKnob::DropEverySecs(s) => {
                    faults.set_drop_every(venue, Duration::from_secs(s));
                }
            }
        }
    }
}

/// Parses a list of specs; the error names the 0-based index of the first bad one.
pub fn parse_all(specs: &[String]) -> Result<Vec<FaultSpec>, (usize, String)> {
    specs
        .iter()
        .enumerate()
        .map(|(i, s)| s.parse().map_err(|e| (i, e)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_parse_print_and_apply() {
        for text in [
            "binance_futures:silent",
            "binance_futures:moved",
            "okx:malformed=5",
            "fx:rest_status=503",
            "upbit:rest_delay=2000",
            "all:drop_every=30",
        ] {
            let spec: FaultSpec = text.parse().unwrap();
            assert_eq!(spec.to_string(), text);
        }
        let faults = Faults::default();
        for text in [
            "binance_futures:moved",
            "all:malformed=3",
            "fx:rest_status=502",
        ] {
            text.parse::<FaultSpec>().unwrap().apply(&faults);
        }
        let s = faults.settings();
        assert!(s.binance_futures.moved && !s.upbit.moved);
        assert_eq!(s.bitmex.malformed_every, 3);
        assert_eq!(s.fx.rest_status, Some(502));
    }

    #[test]
    fn bad_specs_say_what_is_wrong() {
        for (text, needle) in [
            ("binance_futures", "VENUE:KNOB"),
            ("kraken:silent", "unknown venue `kraken`"),
            ("okx:loud", "unknown knob `loud`"),
            ("okx:malformed", "needs a value"),
            ("okx:malformed=0", "out of range"),
            ("okx:malformed=x", "not a whole number"),
            ("fx:rest_status=200", "out of range"),
            ("fx:silent=3", "takes no value"),
        ] {
            let err = text.parse::<FaultSpec>().unwrap_err();
            assert!(err.contains(needle), "{text}: {err}");
        }
        let err = parse_all(&["okx:moved".into(), "x:y".into()]).unwrap_err();
        assert_eq!(err.0, 1);
    }
}
