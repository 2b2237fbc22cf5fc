//! Counters of what the simulator did: connections per venue, keep-alive traffic, frames.

use std::sync::atomic::{AtomicU64, Ordering};

use serde::Serialize;

/// Counters of what the simulator did; `GET /sim/stats` serves the same.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct SimStats {
    pub upbit_connections: u64,
    pub upbit_open: u64,
    pub bithumb_connections: u64,
    pub bithumb_open: u64,
    pub binance_connections: u64,
    pub binance_open: u64,
    pub binance_pings: u64,
    /// Pongs that answered the latest server ping (unsolicited pongs don't count, as on Binance).
    pub binance_pongs: u64,
    pub bybit_connections: u64,
    pub bybit_open: u64,
    /// `{"op":"ping"}` requests answered with a pong.
    pub bybit_pings: u64,
    pub okx_connections: u64,
    pub okx_open: u64,
    /// Text `ping`s answered with `pong`.
    pub okx_pings: u64,
    /// Data frames sent on every venue (garbage included).
    pub frames: u64,
    pub malformed_frames: u64,
}

#[derive(Debug, Default)]
pub(crate) struct Stats {
    pub upbit_connections: AtomicU64,
    pub upbit_open: AtomicU64,
    pub bithumb_connections: AtomicU64,
    pub bithumb_open: AtomicU64,
    pub binance_connections: AtomicU64,
    pub binance_open: AtomicU64,
    pub binance_pings: AtomicU64,
    pub binance_pongs: AtomicU64,
    pub bybit_connections: AtomicU64,
    pub bybit_open: AtomicU64,
    pub bybit_pings: AtomicU64,
    pub okx_connections: AtomicU64,
    pub okx_open: AtomicU64,
    pub okx_pings: AtomicU64,
    pub frames: AtomicU64,
    pub malformed_frames: AtomicU64,
}

impl Stats {
    pub(crate) fn snapshot(&self) -> SimStats {
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        SimStats {
            upbit_connections: get(&self.upbit_connections),
            upbit_open: get(&self.upbit_open),
            bithumb_connections: get(&self.bithumb_connections),
            bithumb_open: get(&self.bithumb_open),
            binance_connections: get(&self.binance_connections),
            binance_open: get(&self.binance_open),
            binance_pings: get(&self.binance_pings),
            binance_pongs: get(&self.binance_pongs),
            bybit_connections: get(&self.bybit_connections),
            bybit_open: get(&self.bybit_open),
            bybit_pings: get(&self.bybit_pings),
            okx_connections: get(&self.okx_connections),
            okx_open: get(&self.okx_open),
            okx_pings: get(&self.okx_pings),
            frames: get(&self.frames),
            malformed_frames: get(&self.malformed_frames),
        }
    }

    pub(crate) fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

/// Counts a connection as open for as long as it lives.
pub(crate) struct OpenGuard<'a>(&'a AtomicU64);

impl<'a> OpenGuard<'a> {
    pub(crate) fn new(total: &AtomicU64, open: &'a AtomicU64) -> Self {
        Stats::bump(total);
        Stats::bump(open);
        OpenGuard(open)
    }
}

impl Drop for OpenGuard<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}
