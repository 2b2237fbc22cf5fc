//! Per exchange × coin totals for `/api/liquidations/aggregated`, in 5-minute buckets.
//!
//! Memory is bounded in both dimensions: 289 buckets (24 h plus the edge bucket), and at most
//! [`MAX_COINS`] distinct coins with their own line. A coin keeps its line while it has events in
//! the last 24 h; when the table is full, a new coin reuses the line of a coin that has been quiet
//! for 24 h, or else is counted under [`OTHER_COIN`]. Each bucket holds one 24-byte cell per
//! exchange × coin that had events in it: at most 289 × 4 × 129 cells ≈ 3.6 MB in the worst
//! case, typically a few hundred KB. Window edges are at 5-minute resolution (see
//! [`Aggregated::bucket_ms`](super::Aggregated)).

use std::collections::HashMap;

use super::rings::Sums;
use super::summary::{AggRow, Aggregated, Window};
use crate::model::{LiqVenue, Liquidation, Millis, Side};

/// Width of an aggregation bucket.
pub const AGG_MS: Millis = 300_000;
/// Buckets kept: 24 h plus the bucket holding the window's start edge.
pub const AGG_SLOTS: usize = 289;
/// Coins with a line of their own.
pub const MAX_COINS: usize = 128;
/// The coin name of the line that collects every coin beyond [`MAX_COINS`].
pub const OTHER_COIN: &str = "(other)";
/// The coin id of [`OTHER_COIN`] (the first id past the tracked coins).
#[expect(
    clippy::cast_possible_truncation,
    reason = "MAX_COINS is a small constant"
)]
const OTHER: u16 = MAX_COINS as u16;
const VENUES: usize = LiqVenue::ALL.len();

#[derive(Debug, Clone, Copy)]
struct Cell {
    venue: u8,
    coin: u16,
    count: u32,
    long_usd: f64,
    short_usd: f64,
}

#[derive(Debug, Clone)]
struct Slot {
    idx: i64,
    /// Sorted by (venue, coin).
    cells: Vec<Cell>,
}

/// The exchange × coin buckets and the coin table.
#[derive(Debug, Clone)]
pub struct CoinAgg {
    slots: Vec<Slot>,
    names: Vec<String>,
    /// Newest bucket each coin has events in.
    last_idx: Vec<i64>,
    index: HashMap<String, u16>,
}

impl Default for CoinAgg {
    fn default() -> Self {
        CoinAgg {
            slots: vec![
                Slot {
                    idx: i64::MIN,
                    cells: Vec::new(),
                };
                AGG_SLOTS
            ],
            names: Vec::new(),
            last_idx: Vec::new(),
            index: HashMap::new(),
        }
    }
}

fn span() -> i64 {
    i64::try_from(AGG_SLOTS).unwrap_or(i64::MAX)
}

impl CoinAgg {
    /// Adds an event (time clamped to `now`); events older than 24 h are ignored.
    pub fn apply(&mut self, liq: &Liquidation, now: Millis) {
        let ai = liq.time_ms.min(now).div_euclid(AGG_MS);
        let oldest = now.div_euclid(AGG_MS) - span() + 1;
        if ai < oldest {
            return;
        }
        let coin = self.coin_id(&liq.base, ai, oldest);
        let pos = usize::try_from(ai.rem_euclid(span())).unwrap_or(0);
        let s = &mut self.slots[pos];
        if s.idx < ai {
            s.idx = ai;
            s.cells.clear();
        }
        if s.idx != ai {
            return;
        }
        let venue = u8::try_from(liq.exchange.index()).unwrap_or(u8::MAX);
        let key = (venue, coin);
        let at = match s.cells.binary_search_by_key(&key, |c| (c.venue, c.coin)) {
            Ok(i) => i,
            Err(i) => {
                s.cells.insert(
                    i,
                    Cell {
                        venue,
                        coin,
                        count: 0,
                        long_usd: 0.0,
                        short_usd: 0.0,
                    },
                );
                i
            }
        };
        let c = &mut s.cells[at];
        c.count = c.count.saturating_add(1);
        match liq.side {
            Side::Long => c.long_usd += liq.notional_usd,
            Side::Short => c.short_usd += liq.notional_usd,
        }
    }

    /// The line of `base`: its own, a recycled one, or [`OTHER`].
    fn coin_id(&mut self, base: &str, ai: i64, oldest: i64) -> u16 {
        if let Some(&id) = self.index.get(base) {
            let last = &mut self.last_idx[usize::from(id)];
            *last = (*last).max(ai);
            return id;
        }
        let id = if self.names.len() < MAX_COINS {
            self.names.push(base.to_string());
            self.last_idx.push(ai);
            self.names.len() - 1
        } else if let Some(free) = self.last_idx.iter().position(|&l| l < oldest) {
            // Every bucket of the old coin has expired, so its id can mean the new coin.
            let old = std::mem::replace(&mut self.names[free], base.to_string());
            self.index.remove(&old);
            self.last_idx[free] = ai;
            free
        } else {
            return OTHER;
        };
        let id = u16::try_from(id).unwrap_or(OTHER);
        self.index.insert(base.to_string(), id);
        id
    }

    /// Totals per exchange × coin over `window` as of `now`.
    #[must_use]
    pub fn aggregated(&self, window: Window, now: Millis) -> Aggregated {
        let cur = now.div_euclid(AGG_MS);
        let start = (now - window.duration_ms()).div_euclid(AGG_MS);
        let width = MAX_COINS + 1;
        let mut acc = vec![Sums::default(); VENUES * width];
        for s in self.slots.iter().filter(|s| s.idx >= start && s.idx <= cur) {
            for c in &s.cells {
                let a = &mut acc[usize::from(c.venue) * width + usize::from(c.coin)];
                a.add(&Sums {
                    long_usd: c.long_usd,
                    short_usd: c.short_usd,
                    count: u64::from(c.count),
                });
            }
        }
        let mut rows: Vec<AggRow> = acc
            .iter()
            .enumerate()
            .filter(|(_, s)| s.count > 0)
            .map(|(i, s)| AggRow {
                exchange: LiqVenue::ALL[i / width],
                coin: self.name(i % width).to_string(),
                long_usd: s.long_usd,
                short_usd: s.short_usd,
                count: s.count,
            })
            .collect();
        rows.sort_by(|a, b| {
            (b.long_usd + b.short_usd)
                .total_cmp(&(a.long_usd + a.short_usd))
                .then_with(|| a.exchange.cmp(&b.exchange))
                .then_with(|| a.coin.cmp(&b.coin))
        });
        Aggregated {
            window,
            bucket_ms: AGG_MS,
            rows,
        }
    }

    fn name(&self, id: usize) -> &str {
        self.names.get(id).map_or(OTHER_COIN, String::as_str)
    }

    /// Coins with a line of their own.
    #[must_use]
    pub fn coin_count(&self) -> usize {
        self.names.len()
    }

    /// Cells held over all buckets.
    #[must_use]
    pub fn cell_count(&self) -> usize {
        self.slots.iter().map(|s| s.cells.len()).sum()
    }

    /// Bytes held by the buckets, the cells and the coin table.
    #[must_use]
    pub fn bytes(&self) -> usize {
        let cells: usize = self.slots.iter().map(|s| s.cells.capacity()).sum();
        let names: usize = self.names.iter().map(|n| 2 * (n.capacity() + 24)).sum();
        self.slots.capacity() * size_of::<Slot>()
            + cells * size_of::<Cell>()
            + names
            + self.last_idx.capacity() * 8
    }
}
