//! Fault injection: the knobs that make the simulator misbehave the way real venues do.
//!
//! Knobs live in one `watch` channel so every open connection notices a change at once (drop now,
//! go silent, resume) without polling. They are set in-process through [`Faults`] (the handle
//! [`super::Simulator::faults`] returns) or over HTTP (`/sim/faults`, see `control.rs`).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use super::market::LIQUIDATION_RATE_RANGE;
use super::wire::truncate_half;

mod spec;

pub use spec::{FaultKnob, FaultSpec, parse_all as parse_fault_specs};

/// A simulated venue, as fault knobs address it (`"upbit"`, …, `"fear_greed"`, `"binance_futures"`,
/// `"bybit_linear"`, `"bitmex"` over HTTP). OKX liquidations share the OKX socket and knobs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SimVenue {
    Upbit,
    Binance,
    /// Every USD/KRW source (Dunamu, open.er-api, Frankfurter).
    Fx,
    Bithumb,
    Bybit,
    Okx,
    /// alternative.me's fear & greed index (REST only).
    FearGreed,
    /// Binance USD-M liquidation and mark-price streams (`/binance-futures/…`).
    BinanceFutures,
    /// Bybit linear: the `allLiquidation` socket and `instruments-info?category=linear`.
    BybitLinear,
    /// BitMEX realtime (`liquidation`, `instrument`).
    Bitmex,
}

/// Number of [`SimVenue`]s.
const VENUES: usize = 10;

impl SimVenue {
    /// Every venue.
    pub const ALL: [SimVenue; VENUES] = [
        SimVenue::Upbit,
        SimVenue::Binance,
        SimVenue::Fx,
        SimVenue::Bithumb,
        SimVenue::Bybit,
        SimVenue::Okx,
        SimVenue::FearGreed,
        SimVenue::BinanceFutures,
        SimVenue::BybitLinear,
        SimVenue::Bitmex,
    ];

    fn index(self) -> usize {
        self as usize
    }
}

/// Knobs of one venue.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct VenueFaults {
    /// Keep sockets open but send nothing and answer nothing (no data, no pongs, no acks); REST
    /// requests hang until this is cleared.
    pub silent: bool,
    /// Every Nth frame (and every Nth REST body) is garbage: truncated JSON, non-JSON text or, on
    /// Upbit's binary frames, invalid UTF-8. 0 = off.
    pub malformed_every: u32,
    /// Delay before every REST reply.
    pub rest_delay_ms: u64,
    /// Answer every REST request with this error instead of data: the HTTP status (e.g. 503) on
    /// most venues; on Bithumb and Bybit, whose errors come with HTTP 200, the venue's in-body
    /// error (`{"status":"5500",…}`, `{"error":{"name":<status>,…}}`, `"retCode":10016`).
    pub rest_status: Option<u16>,
    /// A moved endpoint: sockets connect, subscriptions are acknowledged and pings answered, but
    /// no data is ever sent (what a venue's retired path does, like Binance USD-M's in 2026).
    #[serde(default)]
    pub moved: bool,
    /// Drop every open WebSocket of the venue this often (seconds, abruptly, as
    /// [`Faults::drop_connections`]); 0 = never.
    #[serde(default)]
    pub drop_every_secs: u64,
}

/// Every knob; what `GET /sim/faults` returns.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FaultSettings {
    pub upbit: VenueFaults,
    pub binance: VenueFaults,
    pub fx: VenueFaults,
    pub bithumb: VenueFaults,
    pub bybit: VenueFaults,
    pub okx: VenueFaults,
    pub fear_greed: VenueFaults,
    #[serde(default)]
    pub binance_futures: VenueFaults,
    #[serde(default)]
    pub bybit_linear: VenueFaults,
    #[serde(default)]
    pub bitmex: VenueFaults,
    /// Message rate multiplier (benchmarks): the model steps this many times per tick and Binance
    /// pushes this many times per second. 1 = real rate.
    pub rate_multiplier: f64,
    /// Liquidation arrival rate multiplier (burst tests): 1 = a few per minute per venue, 0 = none.
    /// Liquidations per wall second ≈ 0.92 × this × `rate_multiplier` × (250 ms / tick).
    #[serde(default = "one")]
    pub liquidation_rate: f64,
}

fn one() -> f64 {
    1.0
}

impl Default for FaultSettings {
    fn default() -> Self {
        FaultSettings {
            upbit: VenueFaults::default(),
            binance: VenueFaults::default(),
            fx: VenueFaults::default(),
            bithumb: VenueFaults::default(),
            bybit: VenueFaults::default(),
            okx: VenueFaults::default(),
            fear_greed: VenueFaults::default(),
            binance_futures: VenueFaults::default(),
            bybit_linear: VenueFaults::default(),
            bitmex: VenueFaults::default(),
            rate_multiplier: 1.0,
            liquidation_rate: 1.0,
        }
    }
}

impl FaultSettings {
    /// The knobs of one venue.
    #[must_use]
    pub fn venue(&self, venue: SimVenue) -> &VenueFaults {
        match venue {
            SimVenue::Upbit => &self.upbit,
            SimVenue::Binance => &self.binance,
            SimVenue::Fx => &self.fx,
            SimVenue::Bithumb => &self.bithumb,
            SimVenue::Bybit => &self.bybit,
            SimVenue::Okx => &self.okx,
            SimVenue::FearGreed => &self.fear_greed,
            SimVenue::BinanceFutures => &self.binance_futures,
            SimVenue::BybitLinear => &self.bybit_linear,
            SimVenue::Bitmex => &self.bitmex,
        }
    }

    fn venue_mut(&mut self, venue: SimVenue) -> &mut VenueFaults {
        match venue {
            SimVenue::Upbit => &mut self.upbit,
            SimVenue::Binance => &mut self.binance,
            SimVenue::Fx => &mut self.fx,
            SimVenue::Bithumb => &mut self.bithumb,
            SimVenue::Bybit => &mut self.bybit,
            SimVenue::Okx => &mut self.okx,
            SimVenue::FearGreed => &mut self.fear_greed,
            SimVenue::BinanceFutures => &mut self.binance_futures,
            SimVenue::BybitLinear => &mut self.bybit_linear,
            SimVenue::Bitmex => &mut self.bitmex,
        }
    }
}

/// Knobs plus one-shot actions, which connections detect as counters moving past what they saw.
#[derive(Debug, Clone, Default)]
pub(crate) struct FaultState {
    pub settings: FaultSettings,
    drops: [u64; VENUES],
    shutdowns: u64,
    cascades: u64,
}

/// Bounds of the rate multiplier: below it the market freezes, above it one tick does too much work.
pub const RATE_MULTIPLIER_RANGE: (f64, f64) = (0.01, 1000.0);

/// In-process handle to the fault knobs (cheap to clone; all clones control the same simulator).
#[derive(Debug, Clone)]
pub struct Faults {
    tx: watch::Sender<FaultState>,
    rest_replies: Arc<[AtomicU64; VENUES]>,
}

impl Default for Faults {
    fn default() -> Self {
        Faults {
            tx: watch::Sender::new(FaultState::default()),
            rest_replies: Arc::new(std::array::from_fn(|_| AtomicU64::new(0))),
        }
    }
}

impl Faults {
    /// The current knobs.
    #[must_use]
    pub fn settings(&self) -> FaultSettings {
        self.tx.borrow().settings.clone()
    }

    /// Closes every open WebSocket of `venue` now, abruptly (TCP closed, no close frame: 1006).
    pub fn drop_connections(&self, venue: SimVenue) {
        self.tx.send_modify(|s| s.drops[venue.index()] += 1);
    }

    /// Silent-while-connected on or off.
    pub fn set_silent(&self, venue: SimVenue, silent: bool) {
        self.tx
            .send_modify(|s| s.settings.venue_mut(venue).silent = silent);
    }

    /// Every `every`th frame is garbage; 0 turns it off.
    pub fn set_malformed_every(&self, venue: SimVenue, every: u32) {
        self.tx
            .send_modify(|s| s.settings.venue_mut(venue).malformed_every = every);
    }

    /// Delays every REST reply of `venue`.
    pub fn set_rest_delay(&self, venue: SimVenue, delay: Duration) {
        let ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX);
        self.tx
            .send_modify(|s| s.settings.venue_mut(venue).rest_delay_ms = ms);
    }

    /// Answers every REST request of `venue` with this status; `None` restores normal replies.
    pub fn set_rest_status(&self, venue: SimVenue, status: Option<u16>) {
        self.tx
            .send_modify(|s| s.settings.venue_mut(venue).rest_status = status);
    }

    /// Every open Binance stream gets `serverShutdown`, then a close.
    pub fn binance_server_shutdown(&self) {
        self.tx.send_modify(|s| s.shutdowns += 1);
    }

    /// Message rate multiplier, clamped to [`RATE_MULTIPLIER_RANGE`]; non-finite means 1.
    pub fn set_rate_multiplier(&self, multiplier: f64) {
        let m = if multiplier.is_finite() {
            multiplier.clamp(RATE_MULTIPLIER_RANGE.0, RATE_MULTIPLIER_RANGE.1)
        } else {
            1.0
        };
        self.tx.send_modify(|s| s.settings.rate_multiplier = m);
    }

    /// The current message rate multiplier.
    #[must_use]
    pub fn rate_multiplier(&self) -> f64 {
        self.tx.borrow().settings.rate_multiplier
    }

    /// Liquidation arrival rate multiplier, clamped to [`LIQUIDATION_RATE_RANGE`]; non-finite
    /// means 1. 0 stops liquidations; a few thousand make a burst of ≥ 10,000 per second.
    pub fn set_liquidation_rate(&self, rate: f64) {
        let r = if rate.is_finite() {
            rate.clamp(LIQUIDATION_RATE_RANGE.0, LIQUIDATION_RATE_RANGE.1)
        } else {
            1.0
        };
        self.tx.send_modify(|s| s.settings.liquidation_rate = r);
    }

    /// The current liquidation rate multiplier.
    #[must_use]
    pub fn liquidation_rate(&self) -> f64 {
        self.tx.borrow().settings.liquidation_rate
    }

    /// Starts a liquidation cascade on every venue at the next model step.
    pub fn liquidation_cascade(&self) {
        self.tx.send_modify(|s| s.cascades += 1);
    }

    /// Cascades requested so far (the model task starts one per increment).
    pub(crate) fn cascades_requested(&self) -> u64 {
        self.tx.borrow().cascades
    }

    /// Edits one venue's knobs in place (a single notification to connections).
    pub(crate) fn update_venue(&self, venue: SimVenue, edit: impl FnOnce(&mut VenueFaults)) {
        self.tx.send_modify(|s| edit(s.settings.venue_mut(venue)));
    }

    /// A moved endpoint on or off (see [`VenueFaults::moved`]).
    pub fn set_moved(&self, venue: SimVenue, moved: bool) {
        self.tx
            .send_modify(|s| s.settings.venue_mut(venue).moved = moved);
    }

    /// Drops `venue`'s connections every `every` (rounded down to whole seconds; zero = never).
    pub fn set_drop_every(&self, venue: SimVenue, every: Duration) {
        self.tx
            .send_modify(|s| s.settings.venue_mut(venue).drop_every_secs = every.as_secs());
    }

    /// Every knob back to normal (open connections resume).
    pub fn reset(&self) {
        self.tx
            .send_modify(|s| s.settings = FaultSettings::default());
    }

    pub(crate) fn watch(&self, venue: SimVenue) -> FaultWatch {
        let rx = self.tx.subscribe();
        let (drops_seen, shutdowns_seen) = {
            let s = rx.borrow();
            (s.drops[venue.index()], s.shutdowns)
        };
        FaultWatch {
            rx,
            venue,
            drops_seen,
            shutdowns_seen,
            frames: 0,
        }
    }

    /// Applies the REST knobs of `venue`: hang while silent, delay, then maybe an error status.
    pub(crate) async fn rest_gate(
        &self,
        venue: SimVenue,
        cancel: &CancellationToken,
    ) -> Result<(), StatusCode> {
        let mut watch = self.watch(venue);
        if !watch.wait_while_silent(cancel).await {
            return Err(StatusCode::SERVICE_UNAVAILABLE);
        }
        let knobs = self.settings().venue(venue).clone();
        if knobs.rest_delay_ms > 0 {
            tokio::select! {
                () = tokio::time::sleep(Duration::from_millis(knobs.rest_delay_ms)) => {}
                () = cancel.cancelled() => return Err(StatusCode::SERVICE_UNAVAILABLE),
            }
        }
        match knobs.rest_status.map(StatusCode::from_u16) {
            Some(Ok(status)) => Err(status),
            Some(Err(_)) => Err(StatusCode::SERVICE_UNAVAILABLE),
            None => Ok(()),
        }
    }

    /// A 200 JSON reply, garbled when the malformed knob says this one is due.
    pub(crate) fn rest_body(&self, venue: SimVenue, body: String) -> Response {
        let every = u64::from(self.settings().venue(venue).malformed_every);
        let n = self.rest_replies[venue.index()].fetch_add(1, Ordering::Relaxed) + 1;
        let body = if every > 0 && n.is_multiple_of(every) {
            truncate_half(&body).to_owned()
        } else {
            body
        };
        (
            [(header::CONTENT_TYPE, "application/json; charset=utf-8")],
            body,
        )
            .into_response()
    }
}

/// Runs the `drop_every_secs` schedules until `cancel`: each venue's connections are dropped
/// every N seconds, counted from when its knob was set (a changed period restarts the count).
pub(crate) async fn run_drop_schedule(faults: Faults, cancel: CancellationToken) {
    let mut rx = faults.tx.subscribe();
    let mut next: [Option<tokio::time::Instant>; VENUES] = [None; VENUES];
    let mut periods = [0u64; VENUES];
    loop {
        let now = tokio::time::Instant::now();
        {
            let state = rx.borrow_and_update();
            for venue in SimVenue::ALL {
                let i = venue.index();
                let period = state.settings.venue(venue).drop_every_secs;
                if period != periods[i] {
                    periods[i] = period;
                    next[i] = (period > 0).then(|| now + Duration::from_secs(period));
                }
            }
        }
        for venue in SimVenue::ALL {
            let i = venue.index();
            if next[i].is_some_and(|at| at <= now) {
                faults.drop_connections(venue);
                next[i] = Some(now + Duration::from_secs(periods[i]));
            }
        }
        let wake = next.iter().flatten().min().copied();
        tokio::select! {
            () = cancel.cancelled() => return,
            changed = rx.changed() => if changed.is_err() { return },
            () = sleep_until(wake) => {}
        }
    }
}

async fn sleep_until(at: Option<tokio::time::Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// One connection's view of the knobs.
pub(crate) struct FaultWatch {
    rx: watch::Receiver<FaultState>,
    venue: SimVenue,
    drops_seen: u64,
    shutdowns_seen: u64,
    frames: u64,
}

impl FaultWatch {
    /// Resolves when any knob changes (never, once the simulator is gone).
    pub(crate) async fn changed(&mut self) {
        if self.rx.changed().await.is_err() {
            std::future::pending::<()>().await;
        }
    }

    /// A drop of this venue's connections was requested since this connection opened.
    pub(crate) fn dropped(&self) -> bool {
        self.rx.borrow().drops[self.venue.index()] != self.drops_seen
    }

    /// A Binance `serverShutdown` was requested since the last call.
    pub(crate) fn take_shutdown(&mut self) -> bool {
        let now = self.rx.borrow().shutdowns;
        let fired = now != self.shutdowns_seen;
        self.shutdowns_seen = now;
        fired
    }

    pub(crate) fn silent(&self) -> bool {
        self.rx.borrow().settings.venue(self.venue).silent
    }

    /// The moved-endpoint knob: data frames are withheld, control replies still go out.
    pub(crate) fn withhold_data(&self) -> bool {
        self.rx.borrow().settings.venue(self.venue).moved
    }

    /// Counts one outgoing data frame; `Some(k)` when it must be replaced by garbage kind `k`.
    pub(crate) fn garble_next(&mut self) -> Option<u64> {
        let every = u64::from(self.rx.borrow().settings.venue(self.venue).malformed_every);
        self.frames += 1;
        (every > 0 && self.frames.is_multiple_of(every)).then(|| self.frames / every)
    }

    /// Waits out a silent spell without touching the socket (reading would flush automatic
    /// pongs). Returns `false` when the connection must end instead (dropped or shutting down).
    pub(crate) async fn wait_while_silent(&mut self, cancel: &CancellationToken) -> bool {
        loop {
            if self.dropped() || cancel.is_cancelled() {
                return false;
            }
            if !self.silent() {
                return true;
            }
            tokio::select! {
                () = self.changed() => {}
                () = cancel.cancelled() => return false,
            }
        }
    }
}

/// Garbage that replaces a text frame: valid UTF-8 (text frames must be), invalid JSON.
pub(crate) fn garbage_text(frame: &str, kind: u64) -> String {
    match kind % 2 {
        0 => "<html><body><h1>502 Bad Gateway</h1></body></html>".to_owned(),
        _ => truncate_half(frame).to_owned(),
    }
}

/// Garbage that replaces a binary frame: also invalid UTF-8 every third time.
pub(crate) fn garbage_binary(frame: &str, kind: u64) -> Vec<u8> {
    match kind % 3 {
        2 => vec![0xff, 0xfe, b'{', 0xc3, 0x28, b'}'],
        k => garbage_text(frame, k).into_bytes(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn watch_sees_drops_and_garbles_every_nth() {
        let faults = Faults::default();
        let mut w = faults.watch(SimVenue::Binance);
        assert!(!w.dropped());
        faults.drop_connections(SimVenue::Upbit);
        assert!(!w.dropped(), "another venue's drop");
        faults.drop_connections(SimVenue::Binance);
        assert!(w.dropped());
        faults.set_malformed_every(SimVenue::Binance, 3);
        let garbled: Vec<bool> = (0..6).map(|_| w.garble_next().is_some()).collect();
        assert_eq!(garbled, [false, false, true, false, false, true]);
        assert!(faults.watch(SimVenue::Binance).take_shutdown().eq(&false));
    }

    #[test]
    fn garbage_is_never_valid_json() {
        let frame = r#"{"e":"1dTicker","s":"BTCUSDT","c":"101234.50000000"}"#;
        for kind in 0..6 {
            let text = garbage_text(frame, kind);
            assert!(serde_json::from_str::<serde_json::Value>(&text).is_err());
            let bin = garbage_binary(frame, kind);
            assert!(serde_json::from_slice::<serde_json::Value>(&bin).is_err());
        }
    }
}
