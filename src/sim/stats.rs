//! Counters of what the simulator did: connections per venue, keep-alive traffic, frames, and
//! liquidations generated and delivered per venue (what a "nothing lost" test compares against).

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
    /// Binance USD-M sockets (`/binance-futures/…`, the silent legacy route included).
    pub binance_futures_connections: u64,
    pub binance_futures_open: u64,
    pub binance_futures_pings: u64,
    /// Pongs that answered the latest USD-M server ping.
    pub binance_futures_pongs: u64,
    pub bybit_linear_connections: u64,
    pub bybit_linear_open: u64,
    /// Linear `{"op":"ping"}` requests answered with a pong.
    pub bybit_linear_pings: u64,
    pub bitmex_connections: u64,
    pub bitmex_open: u64,
    /// Text `ping`s answered with `pong`.
    pub bitmex_pings: u64,
    /// Liquidations the model generated per venue (whether anyone listened or not).
    pub binance_liquidations_generated: u64,
    pub bybit_liquidations_generated: u64,
    pub okx_liquidations_generated: u64,
    pub bitmex_liquidations_generated: u64,
    /// Binance `forceOrder` events that survived the 1-per-symbol-per-second sampling.
    pub binance_liquidations_published: u64,
    /// Liquidations written to clients, summed over connections: Binance `forceOrder` events,
    /// Bybit `allLiquidation` entries, OKX `details` (first deliveries), BitMEX rows (inserts and
    /// the rows of `liquidation` partials).
    pub binance_liquidations_sent: u64,
    pub bybit_liquidations_sent: u64,
    pub okx_liquidations_sent: u64,
    pub bitmex_liquidations_sent: u64,
    /// OKX `details` delivered a second time (late re-deliveries), summed over connections.
    pub okx_liquidations_redelivered: u64,
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
    pub binance_futures_connections: AtomicU64,
    pub binance_futures_open: AtomicU64,
    pub binance_futures_pings: AtomicU64,
    pub binance_futures_pongs: AtomicU64,
    pub bybit_linear_connections: AtomicU64,
    pub bybit_linear_open: AtomicU64,
    pub bybit_linear_pings: AtomicU64,
    pub bitmex_connections: AtomicU64,
    pub bitmex_open: AtomicU64,
    pub bitmex_pings: AtomicU64,
    /// Per [`LiqExchange`](super::market::LiqExchange) index.
    pub liquidations_generated: [AtomicU64; 4],
    pub binance_liquidations_published: AtomicU64,
    pub liquidations_sent: [AtomicU64; 4],
    pub okx_liquidations_redelivered: AtomicU64,
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
            binance_futures_connections: get(&self.binance_futures_connections),
            binance_futures_open: get(&self.binance_futures_open),
            binance_futures_pings: get(&self.binance_futures_pings),
            binance_futures_pongs: get(&self.binance_futures_pongs),
            bybit_linear_connections: get(&self.bybit_linear_connections),
            bybit_linear_open: get(&self.bybit_linear_open),
            bybit_linear_pings: get(&self.bybit_linear_pings),
            bitmex_connections: get(&self.bitmex_connections),
            bitmex_open: get(&self.bitmex_open),
            bitmex_pings: get(&self.bitmex_pings),
            binance_liquidations_generated: get(&self.liquidations_generated[0]),
            bybit_liquidations_generated: get(&self.liquidations_generated[1]),
            okx_liquidations_generated: get(&self.liquidations_generated[2]),
            bitmex_liquidations_generated: get(&self.liquidations_generated[3]),
            binance_liquidations_published: get(&self.binance_liquidations_published),
            binance_liquidations_sent: get(&self.liquidations_sent[0]),
            bybit_liquidations_sent: get(&self.liquidations_sent[1]),
            okx_liquidations_sent: get(&self.liquidations_sent[2]),
            bitmex_liquidations_sent: get(&self.liquidations_sent[3]),
            okx_liquidations_redelivered: get(&self.okx_liquidations_redelivered),
            frames: get(&self.frames),
            malformed_frames: get(&self.malformed_frames),
        }
    }

    pub(crate) fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn add(counter: &AtomicU64, n: u64) {
        if n > 0 {
            counter.fetch_add(n, Ordering::Relaxed);
        }
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
