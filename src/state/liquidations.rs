//! Liquidation state: the tape of recent events and rolling stats per venue, pure and synchronous.
//!
//! [`LiquidationBook::apply`] takes one normalised [`Liquidation`] (dropping repeats by id);
//! [`LiquidationBook::summary`] builds the SPEC §6.0 `/api/liquidations/summary` document,
//! [`LiquidationBook::aggregated`] the per exchange × coin table, [`LiquidationBook::recent`] the
//! tape. Memory is fixed by the bucket layout, not by the event rate (figures in
//! [`LiquidationBook::memory_footprint`] and the submodules): 10 k events/s for 24 h costs the same
//! as one event a minute.
//!
//! Windows are relative to the `now` passed in and are made of time buckets (1 s for 1m/5m, 10 s
//! for 1h/4h/24h, 5 min for the exchange × coin table): a window holds every event aged ≤ its
//! length, plus those in the bucket holding its start edge. Events are bucketed by their exchange
//! time (clamped to `now` when a venue's clock runs ahead); events older than 24 h reach the tape
//! but no window.

mod coins;
mod dedupe;
mod rings;
mod summary;

use std::collections::{BTreeMap, HashSet, VecDeque};
use std::sync::Arc;

use crate::model::{LiqVenue, Liquidation, Millis};
use coins::CoinAgg;
pub use coins::{AGG_MS, MAX_COINS, OTHER_COIN};
pub use dedupe::IDS_PER_VENUE;
use dedupe::IdMemory;
use rings::{Acc, VenueWindows};
pub use rings::{COARSE_MS, COARSE_SLOTS, FINE_MS, FINE_SLOTS};
pub use summary::{
    AggRow, Aggregated, LiquidationSummary, VenueSummary, Window, WindowSet, WindowStats,
};

/// Events kept on the tape by default.
pub const TAPE_LEN: usize = 1_000;
const VENUES: usize = LiqVenue::ALL.len();

/// Sizes of the book's internal structures, for tests and `/metrics`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct BookSizes {
    /// Events on the tape (≤ the tape length).
    pub tape: usize,
    /// Ids remembered for de-duplication (≤ 4 × [`IDS_PER_VENUE`]).
    pub ids: usize,
    /// Time buckets per venue: fine + coarse (constant).
    pub buckets_per_venue: usize,
    /// Largest-event candidates in the peaks deques (≤ 4 × [`COARSE_SLOTS`]).
    pub peaks: usize,
    /// Exchange × coin cells over all aggregation buckets.
    pub coin_cells: usize,
    /// Coins with a line of their own (≤ [`MAX_COINS`]).
    pub coins: usize,
}

/// The tape and rolling stats of every liquidation venue.
#[derive(Debug, Clone)]
pub struct LiquidationBook {
    /// Newest at the back.
    tape: VecDeque<Arc<Liquidation>>,
    tape_len: usize,
    seen: [IdMemory; VENUES],
    venues: [VenueWindows; VENUES],
    coins: CoinAgg,
    last_event_ms: [Option<Millis>; VENUES],
    applied: u64,
    rejected: u64,
}

impl Default for LiquidationBook {
    fn default() -> Self {
        Self::new()
    }
}

impl LiquidationBook {
    /// A book with the default tape length ([`TAPE_LEN`]).
    #[must_use]
    pub fn new() -> Self {
        Self::with_tape_len(TAPE_LEN)
    }

    /// A book keeping the last `tape_len` events on the tape.
    #[must_use]
    pub fn with_tape_len(tape_len: usize) -> Self {
        LiquidationBook {
            tape: VecDeque::with_capacity(tape_len),
            tape_len,
            seen: std::array::from_fn(|_| IdMemory::new(IDS_PER_VENUE)),
            venues: std::array::from_fn(|_| VenueWindows::default()),
            coins: CoinAgg::default(),
            last_event_ms: [None; VENUES],
            applied: 0,
            rejected: 0,
        }
    }

    /// Adds one event as of `now`. Returns false, changing nothing, if its id was seen recently
    /// (the last [`IDS_PER_VENUE`] ids of its venue) or its notional is not a finite number ≥ 0
    /// (it would poison 24 h of totals).
    pub fn apply(&mut self, liq: Liquidation, now: Millis) -> bool {
        if !(liq.notional_usd.is_finite() && liq.notional_usd >= 0.0) {
            self.rejected += 1;
            return false;
        }
        let v = liq.exchange.index();
        if !self.seen[v].insert(&liq.id) {
            self.rejected += 1;
            return false;
        }
        let liq = Arc::new(liq);
        self.venues[v].apply(&liq, now);
        self.coins.apply(&liq, now);
        let last = &mut self.last_event_ms[v];
        *last = Some(last.map_or(liq.time_ms, |t| t.max(liq.time_ms)));
        if self.tape_len > 0 {
            if self.tape.len() == self.tape_len {
                self.tape.pop_front();
            }
            self.tape.push_back(liq);
        }
        self.applied += 1;
        true
    }

    /// The tape, newest first (in arrival order): at most `limit` events of at least `min_usd`,
    /// from `exchange` only when given.
    #[must_use]
    pub fn recent(
        &self,
        limit: usize,
        min_usd: f64,
        exchange: Option<LiqVenue>,
    ) -> Vec<&Liquidation> {
        self.tape
            .iter()
            .rev()
            .filter(|l| l.notional_usd >= min_usd && exchange.is_none_or(|e| l.exchange == e))
            .take(limit)
            .map(AsRef::as_ref)
            .collect()
    }

    /// The whole tape, newest first (in arrival order), as the shared events.
    pub fn tape(&self) -> impl Iterator<Item = &Arc<Liquidation>> {
        self.tape.iter().rev()
    }

    /// Exchange time of the venue's newest event.
    #[must_use]
    pub fn last_event_ms(&self, venue: LiqVenue) -> Option<Millis> {
        self.last_event_ms[venue.index()]
    }

    /// The §6.0 summary as of `now`. Each venue's `state` is `null`: the caller fills it from feed
    /// health with [`LiquidationSummary::set_state`].
    #[must_use]
    pub fn summary(&self, now: Millis) -> LiquidationSummary {
        let per_venue: Vec<[Acc<'_>; 5]> = self.venues.iter().map(|v| v.windows(now)).collect();
        let mut total = [Acc::default(); 5];
        for accs in &per_venue {
            for (t, a) in total.iter_mut().zip(accs) {
                t.sums.add(&a.sums);
                t.offer(a.largest);
            }
        }
        let exchanges: BTreeMap<LiqVenue, VenueSummary> = LiqVenue::ALL
            .iter()
            .zip(&per_venue)
            .map(|(&venue, accs)| {
                let summary = VenueSummary {
                    coverage: venue.coverage(),
                    state: None,
                    last_event_ms: self.last_event_ms(venue),
                    windows: window_set(accs),
                };
                (venue, summary)
            })
            .collect();
        LiquidationSummary {
            total: window_set(&total),
            exchanges,
        }
    }

    /// Totals per exchange × coin over `window` as of `now` (5-minute edge resolution).
    #[must_use]
    pub fn aggregated(&self, window: Window, now: Millis) -> Aggregated {
        self.coins.aggregated(window, now)
    }

    /// Events accepted so far.
    #[must_use]
    pub fn applied(&self) -> u64 {
        self.applied
    }

    /// Events refused (repeated id or unusable notional).
    #[must_use]
    pub fn rejected(&self) -> u64 {
        self.rejected
    }

    /// Sizes of the internal structures; every one is bounded by a constant.
    #[must_use]
    pub fn sizes(&self) -> BookSizes {
        BookSizes {
            tape: self.tape.len(),
            ids: self.seen.iter().map(IdMemory::len).sum(),
            buckets_per_venue: FINE_SLOTS + COARSE_SLOTS,
            peaks: self.venues.iter().map(VenueWindows::peak_count).sum(),
            coin_cells: self.coins.cell_count(),
            coins: self.coins.coin_count(),
        }
    }

    /// Estimated heap bytes held by the book: rings, id memory, coin cells, and every event kept
    /// (tape and largest-candidates, each counted once).
    ///
    /// Fixed part: 4 venues × (301 × 40 B fine + 8,641 × 32 B coarse) ≈ 1.15 MB, plus the id
    /// memory ≈ 4 × 213 KB. Variable part, bounded: the tape (1,000 events ≈ 250 KB), largest
    /// candidates (≤ 1,204 fine + a handful of peaks in practice), exchange × coin cells (typically
    /// a few hundred KB, ≤ 3.6 MB).
    #[must_use]
    pub fn memory_footprint(&self) -> usize {
        let mut seen_events = HashSet::new();
        let events: usize = self
            .tape
            .iter()
            .chain(self.venues.iter().flat_map(VenueWindows::held_events))
            .filter(|l| seen_events.insert(Arc::as_ptr(l)))
            .map(|l| event_bytes(l))
            .sum();
        size_of::<Self>()
            + self.tape.capacity() * size_of::<Arc<Liquidation>>()
            + self.seen.iter().map(IdMemory::bytes).sum::<usize>()
            + self
                .venues
                .iter()
                .map(VenueWindows::own_bytes)
                .sum::<usize>()
            + self.coins.bytes()
            + events
    }
}

/// Heap bytes of one shared event: the `Arc` block (two counters + the struct) and its strings.
fn event_bytes(l: &Liquidation) -> usize {
    2 * size_of::<usize>()
        + size_of::<Liquidation>()
        + l.id.capacity()
        + l.symbol.capacity()
        + l.base.capacity()
}

fn window_set(accs: &[Acc<'_>; 5]) -> WindowSet {
    WindowSet::from_array(accs.map(|a| WindowStats {
        long_usd: a.sums.long_usd,
        short_usd: a.sums.short_usd,
        count: a.sums.count,
        largest: a.largest.map(|l| Liquidation::clone(l)),
    }))
}
