//! Simulator frames without a server, for benchmarks: what each venue's socket would carry while
//! the seeded model runs, byte for byte as the simulator writes it.
//!
//! [`sample`] steps a fresh [`MarketModel`] and collects every ticker frame the market venues
//! publish (Upbit and Bithumb in the DEFAULT format kimp subscribes to, Bybit and OKX pushes,
//! Binance `!ticker_1d@arr` combined-stream frames once a second of market time).
//! [`binance_all_market`] is one `!ticker_1d@arr` frame quoting every simulated Binance symbol,
//! repeated under numbered names up to the requested size (Binance's real array lists ~2,000
//! symbols).

use super::binance_wire::ticker_1d_array;
use super::market::{MarketModel, STEP_MS};
use super::upbit_wire::{Format, ticker_frame};
use super::{bithumb_wire, bybit_wire, okx_wire};
use crate::model::Venue;

/// Model steps between two Binance pushes (one second of market time).
const BINANCE_EVERY_STEPS: usize = 4;

/// Every frame one venue's socket carried during a [`sample`], in order.
#[derive(Debug, Clone)]
pub struct VenueFrames {
    pub venue: Venue,
    pub frames: Vec<Vec<u8>>,
}

/// Runs the model for `steps` steps from `start_ms` and returns each market venue's frames.
#[must_use]
pub fn sample(seed: u64, start_ms: u64, steps: usize) -> Vec<VenueFrames> {
    let mut model = MarketModel::new(seed, start_ms);
    let mut out: Vec<VenueFrames> = Venue::ALL
        .into_iter()
        .map(|venue| VenueFrames {
            venue,
            frames: Vec::new(),
        })
        .collect();
    let mut changed: Vec<usize> = Vec::new();
    for n in 1..=steps {
        let now = start_ms + STEP_MS * n as u64;
        let step = model.step(now);
        let push = |out: &mut Vec<VenueFrames>, venue: Venue, frame: String| {
            if let Some(v) = out.iter_mut().find(|v| v.venue == venue) {
                v.frames.push(frame.into_bytes());
            }
        };
        for &i in &step.upbit {
            push(
                &mut out,
                Venue::Upbit,
                ticker_frame(&model.upbit[i], Format::Default, false, now),
            );
        }
        for &i in &step.bithumb {
            let frame = bithumb_wire::ticker_frame(&model.bithumb[i], Format::Default, false, now);
            push(&mut out, Venue::Bithumb, frame);
        }
        for &i in &step.bybit {
            push(
                &mut out,
                Venue::Bybit,
                bybit_wire::ticker_frame(&model.bybit[i], now),
            );
        }
        for &i in &step.okx {
            push(
                &mut out,
                Venue::Okx,
                okx_wire::ticker_frame(&model.okx[i], now),
            );
        }
        changed.extend(&step.binance);
        if n % BINANCE_EVERY_STEPS == 0 && !changed.is_empty() {
            changed.sort_unstable();
            changed.dedup();
            let data = ticker_1d_array(&model.binance, &changed, now);
            push(&mut out, Venue::Binance, combined("!ticker_1d@arr", &data));
            changed.clear();
        }
    }
    out
}

/// One `!ticker_1d@arr` combined-stream frame with `tickers` elements: every simulated symbol
/// (USDT pairs and a few BTC/FDUSD crosses), then copies with numbered symbols (`<BASE><n>USDT`,
/// `<SYMBOL><n>`) until the count is reached.
#[must_use]
pub fn binance_all_market(seed: u64, start_ms: u64, tickers: usize) -> Vec<u8> {
    let model = MarketModel::new(seed, start_ms);
    let all: Vec<usize> = (0..model.binance.len()).collect();
    let data = ticker_1d_array(&model.binance, &all, start_ms);
    let elements = split_elements(&data);
    let mut items = elements.clone();
    let mut copy = 1;
    while items.len() < tickers && !elements.is_empty() {
        for e in &elements {
            if items.len() >= tickers {
                break;
            }
            items.push(renamed(e, copy));
        }
        copy += 1;
    }
    combined("!ticker_1d@arr", &format!("[{}]", items.join(","))).into_bytes()
}

/// An element with its symbol numbered: `BTCUSDT` → `BTC2USDT`, `ETHBTC` → `ETHBTC2`.
fn renamed(element: &str, copy: usize) -> String {
    const KEY: &str = "\"s\":\"";
    let Some(start) = element.find(KEY).map(|i| i + KEY.len()) else {
        return element.to_string();
    };
    let Some(len) = element.get(start..).and_then(|rest| rest.find('"')) else {
        return element.to_string();
    };
    let symbol = element.get(start..start + len).unwrap_or_default();
    let numbered = match symbol.strip_suffix("USDT") {
        Some(base) => format!("{base}{copy}USDT"),
        None => format!("{symbol}{copy}"),
    };
    format!(
        "{}{numbered}{}",
        element.get(..start).unwrap_or_default(),
        element.get(start + len..).unwrap_or_default()
    )
}

fn combined(stream: &str, data: &str) -> String {
    format!("{{\"stream\":\"{stream}\",\"data\":{data}}}")
}

/// The top-level objects of a JSON array the simulator wrote (no nested objects in tickers).
fn split_elements(array: &str) -> Vec<String> {
    let inner = array.trim().trim_start_matches('[').trim_end_matches(']');
    inner
        .split("},{")
        .filter(|s| !s.is_empty())
        .map(|s| format!("{{{}}}", s.trim_start_matches('{').trim_end_matches('}')))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sample_has_frames_for_every_venue() {
        let frames = sample(7, 1_700_000_000_000, 40);
        for v in &frames {
            assert!(!v.frames.is_empty(), "{:?} published nothing", v.venue);
        }
    }

    #[test]
    fn all_market_frame_reaches_the_requested_size() {
        let frame = binance_all_market(7, 1_700_000_000_000, 1_000);
        let value: serde_json::Value = serde_json::from_slice(&frame).unwrap();
        let data = value["data"].as_array().unwrap();
        assert_eq!(data.len(), 1_000);
        let mut names: Vec<&str> = data.iter().map(|e| e["s"].as_str().unwrap()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), 1_000, "symbols are unique");
    }
}
