//! Rolling sums of one venue in fixed time buckets, so memory does not depend on the event rate.
//!
//! * **fine** ring: 1 s buckets covering 5 min (301 slots) → the 1m and 5m windows, each slot
//!   keeping its own largest event, so the largest of a window is the largest of its slots (exact).
//! * **coarse** ring: 10 s buckets covering 24 h (8,641 slots) → the 1h, 4h and 24h windows.
//! * **peaks**: the coarse windows' largest events as a monotonic deque of suffix maxima (time
//!   ascending, size strictly descending, at most one entry per 10 s bucket). The largest event of
//!   any window is the first entry inside it — exact at bucket resolution. The deque is bounded by
//!   the slot count (8,641) and in practice holds a handful of entries (≈ ln n for random sizes).
//!
//! A window of length `W` over buckets of length `B` is the buckets from the one holding `now − W`
//! to the one holding `now`: every event aged ≤ `W` is in, an event aged up to `W + B` may be in.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use super::summary::Window;
use crate::model::{Liquidation, Millis, Side};

/// Width of a fine bucket.
pub const FINE_MS: Millis = 1_000;
/// Fine buckets kept: the 5 min window plus the bucket holding its start edge.
pub const FINE_SLOTS: usize = 301;
/// Width of a coarse bucket.
pub const COARSE_MS: Millis = 10_000;
/// Coarse buckets kept: the 24 h window plus the bucket holding its start edge.
pub const COARSE_SLOTS: usize = 8_641;

/// Long/short USD and count.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Sums {
    pub long_usd: f64,
    pub short_usd: f64,
    pub count: u64,
}

impl Sums {
    fn add_event(&mut self, liq: &Liquidation) {
        match liq.side {
            Side::Long => self.long_usd += liq.notional_usd,
            Side::Short => self.short_usd += liq.notional_usd,
        }
        self.count += 1;
    }

    pub fn add(&mut self, other: &Sums) {
        self.long_usd += other.long_usd;
        self.short_usd += other.short_usd;
        self.count += other.count;
    }
}

/// A window's sums and largest event, borrowed from the rings.
#[derive(Debug, Clone, Copy, Default)]
pub struct Acc<'a> {
    pub sums: Sums,
    pub largest: Option<&'a Arc<Liquidation>>,
}

impl<'a> Acc<'a> {
    /// Keeps the bigger of the two (the later one on a tie, as the rings do).
    pub fn offer(&mut self, liq: Option<&'a Arc<Liquidation>>) {
        if let Some(l) = liq
            && self
                .largest
                .is_none_or(|cur| l.notional_usd >= cur.notional_usd)
        {
            self.largest = Some(l);
        }
    }
}

#[derive(Debug, Clone)]
struct FineSlot {
    idx: i64,
    sums: Sums,
    largest: Option<Arc<Liquidation>>,
}

#[derive(Debug, Clone, Copy)]
struct CoarseSlot {
    idx: i64,
    sums: Sums,
}

/// Sums of the 1h, 4h and 24h windows over their *completed* coarse buckets (all but the
/// current one), as of current bucket `ccur`: summing 8,641 slots for every snapshot (four a
/// second) was most of the state task's time, and those buckets only change when a late event
/// lands in one.
#[derive(Debug, Clone, Copy)]
struct CoarseDone {
    ccur: i64,
    sums: [Sums; 3],
}

/// The rolling windows of one venue.
#[derive(Debug)]
pub struct VenueWindows {
    fine: Vec<FineSlot>,
    coarse: Vec<CoarseSlot>,
    peaks: VecDeque<(i64, Arc<Liquidation>)>,
    done: Mutex<Option<CoarseDone>>,
}

impl Clone for VenueWindows {
    fn clone(&self) -> Self {
        VenueWindows {
            fine: self.fine.clone(),
            coarse: self.coarse.clone(),
            peaks: self.peaks.clone(),
            done: Mutex::new(*self.done_cache()),
        }
    }
}

/// Index of the slot holding bucket `idx` in a ring of `len` slots.
fn slot(idx: i64, len: usize) -> usize {
    // rem_euclid of a positive modulus is in 0..len, so the cast is lossless.
    usize::try_from(idx.rem_euclid(i64::try_from(len).unwrap_or(i64::MAX))).unwrap_or(0)
}

/// Number of buckets a ring keeps, as a bucket-index distance.
fn span(len: usize) -> i64 {
    i64::try_from(len).unwrap_or(i64::MAX)
}

impl Default for VenueWindows {
    fn default() -> Self {
        let empty = i64::MIN;
        VenueWindows {
            fine: vec![
                FineSlot {
                    idx: empty,
                    sums: Sums::default(),
                    largest: None,
                };
                FINE_SLOTS
            ],
            coarse: vec![
                CoarseSlot {
                    idx: empty,
                    sums: Sums::default(),
                };
                COARSE_SLOTS
            ],
            peaks: VecDeque::new(),
            done: Mutex::new(None),
        }
    }
}

impl VenueWindows {
    /// Adds an event (its time clamped to `now`); events older than 24 h only miss the windows.
    pub fn apply(&mut self, liq: &Arc<Liquidation>, now: Millis) {
        let t = liq.time_ms.min(now);
        let (fi, fcur) = (t.div_euclid(FINE_MS), now.div_euclid(FINE_MS));
        if fi > fcur - span(FINE_SLOTS) {
            let s = &mut self.fine[slot(fi, FINE_SLOTS)];
            if s.idx < fi {
                *s = FineSlot {
                    idx: fi,
                    sums: Sums::default(),
                    largest: None,
                };
            }
            if s.idx == fi {
                s.sums.add_event(liq);
                if s.largest
                    .as_ref()
                    .is_none_or(|cur| liq.notional_usd >= cur.notional_usd)
                {
                    s.largest = Some(Arc::clone(liq));
                }
            }
        }
        let (ci, ccur) = (t.div_euclid(COARSE_MS), now.div_euclid(COARSE_MS));
        let oldest = ccur - span(COARSE_SLOTS) + 1;
        while self.peaks.front().is_some_and(|(i, _)| *i < oldest) {
            self.peaks.pop_front();
        }
        if ci >= oldest {
            let s = &mut self.coarse[slot(ci, COARSE_SLOTS)];
            if s.idx < ci {
                *s = CoarseSlot {
                    idx: ci,
                    sums: Sums::default(),
                };
            }
            if s.idx == ci {
                s.sums.add_event(liq);
                self.push_peak(ci, liq);
                let done = self.done.get_mut().unwrap_or_else(PoisonError::into_inner);
                if done.is_some_and(|d| ci < d.ccur) {
                    // A late event changed a completed bucket.
                    *done = None;
                }
            }
        }
    }

    /// Inserts an event into the suffix-maxima deque (events may arrive slightly out of order).
    fn push_peak(&mut self, ci: i64, liq: &Arc<Liquidation>) {
        let v = liq.notional_usd;
        let p = self.peaks.partition_point(|(i, _)| *i <= ci);
        // A later (or same-bucket) event at least as big makes this one irrelevant.
        if self.peaks.get(p).is_some_and(|(_, l)| l.notional_usd >= v)
            || (p > 0 && self.peaks[p - 1].0 == ci && self.peaks[p - 1].1.notional_usd > v)
        {
            return;
        }
        let mut q = p;
        while q > 0 && self.peaks[q - 1].1.notional_usd <= v {
            q -= 1;
        }
        self.peaks.drain(q..p);
        self.peaks.insert(q, (ci, Arc::clone(liq)));
    }

    /// Sums and largest of every window as of `now`, in [`Window::ALL`] order.
    #[must_use]
    pub fn windows(&self, now: Millis) -> [Acc<'_>; 5] {
        let mut out = [Acc::default(); 5];
        let fcur = now.div_euclid(FINE_MS);
        let fstart = |w: Window| (now - w.duration_ms()).div_euclid(FINE_MS);
        let (m1, m5) = (fstart(Window::M1), fstart(Window::M5));
        for s in self.fine.iter().filter(|s| s.idx >= m5 && s.idx <= fcur) {
            out[Window::M5.index()].sums.add(&s.sums);
            out[Window::M5.index()].offer(s.largest.as_ref());
            if s.idx >= m1 {
                out[Window::M1.index()].sums.add(&s.sums);
                out[Window::M1.index()].offer(s.largest.as_ref());
            }
        }
        let ccur = now.div_euclid(COARSE_MS);
        let coarse = [Window::H1, Window::H4, Window::H24]
            .map(|w| (w.index(), (now - w.duration_ms()).div_euclid(COARSE_MS)));
        let done = self.completed(ccur, &coarse);
        let current = &self.coarse[slot(ccur, COARSE_SLOTS)];
        for (k, &(w, _)) in coarse.iter().enumerate() {
            out[w].sums = done[k];
            if current.idx == ccur {
                out[w].sums.add(&current.sums);
            }
        }
        for &(w, start) in &coarse {
            out[w].largest = self
                .peaks
                .iter()
                .find(|(i, _)| *i >= start && *i <= ccur)
                .map(|(_, l)| l);
        }
        out
    }

    /// Sums of each coarse window's buckets before `ccur` (cached until `ccur` moves on or a
    /// late event lands in one of them).
    fn completed(&self, ccur: i64, coarse: &[(usize, i64); 3]) -> [Sums; 3] {
        let mut cache = self.done_cache();
        if let Some(d) = *cache
            && d.ccur == ccur
        {
            return d.sums;
        }
        let mut sums = [Sums::default(); 3];
        for s in self.coarse.iter().filter(|s| s.idx < ccur) {
            for (k, &(_, start)) in coarse.iter().enumerate() {
                if s.idx >= start {
                    sums[k].add(&s.sums);
                }
            }
        }
        *cache = Some(CoarseDone { ccur, sums });
        sums
    }

    fn done_cache(&self) -> MutexGuard<'_, Option<CoarseDone>> {
        // Plain data: a panic elsewhere leaves it usable.
        self.done.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Events kept as largest-candidates (fine slots and peaks), for the memory accounting.
    pub fn held_events(&self) -> impl Iterator<Item = &Arc<Liquidation>> {
        self.fine
            .iter()
            .filter_map(|s| s.largest.as_ref())
            .chain(self.peaks.iter().map(|(_, l)| l))
    }

    /// Length of the peaks deque.
    #[must_use]
    pub fn peak_count(&self) -> usize {
        self.peaks.len()
    }

    /// Bytes of the rings and the deque, not counting the events they point to.
    #[must_use]
    pub fn own_bytes(&self) -> usize {
        self.fine.capacity() * size_of::<FineSlot>()
            + self.coarse.capacity() * size_of::<CoarseSlot>()
            + self.peaks.capacity() * size_of::<(i64, Arc<Liquidation>)>()
    }
}
