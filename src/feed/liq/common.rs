//! Pieces every liquidation parser uses: a bounded de-duplication memory, a bounded queue of events
//! held for an unknown contract, a per-frame collector of rows, a one-or-many JSON payload and the
//! multiplier-ticker rule.

use std::collections::{HashSet, VecDeque};
use std::fmt;
use std::hash::{DefaultHasher, Hasher};

use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};

use super::{HELD_MAX, HELD_MAX_AGE_MS, LiqParsed};
use crate::feed::ParseError;
use crate::model::{Liquidation, Millis};

/// Remembers the last `capacity` keys (as 64-bit hashes: no string is kept; a false "seen" needs a
/// hash collision among 10k keys, odds ~1e-11) — and, when made with [`Dedupe::keeping`], every
/// key younger than a time window up to a hard cap, for venues that re-send events late.
#[derive(Debug, Clone)]
pub struct Dedupe {
    seen: HashSet<u64>,
    /// Keys in arrival order with the time they were first seen.
    order: VecDeque<(u64, Millis)>,
    capacity: usize,
    keep_ms: Millis,
    hard_cap: usize,
}

impl Dedupe {
    #[must_use]
    pub fn new(capacity: usize) -> Self {
        Self::keeping(capacity, 0, capacity)
    }

    /// Keeps at least the last `capacity` keys, and beyond that every key younger than
    /// `keep_ms`, up to `hard_cap` keys.
    #[must_use]
    pub fn keeping(capacity: usize, keep_ms: Millis, hard_cap: usize) -> Self {
        let capacity = capacity.max(1);
        Dedupe {
            seen: HashSet::with_capacity(capacity),
            order: VecDeque::with_capacity(capacity),
            capacity,
            keep_ms,
            hard_cap: hard_cap.max(capacity),
        }
    }

    /// Records the key made of `parts`; `true` when it was not seen before (the event is new).
    pub fn insert(&mut self, parts: &[&str]) -> bool {
        self.insert_at(parts, 0)
    }

    /// [`Dedupe::insert`] at time `now` (what [`Dedupe::keeping`]'s window is measured in).
    pub fn insert_at(&mut self, parts: &[&str], now: Millis) -> bool {
        let key = hash(parts);
        if !self.seen.insert(key) {
            return false;
        }
        self.order.push_back((key, now));
        while self.order.len() > self.capacity
            && let Some(&(oldest, at)) = self.order.front()
            && (self.order.len() > self.hard_cap || now - at > self.keep_ms)
        {
            self.order.pop_front();
            self.seen.remove(&oldest);
        }
        true
    }

    #[must_use]
    pub fn contains(&self, parts: &[&str]) -> bool {
        self.seen.contains(&hash(parts))
    }

    #[must_use]
    pub fn len(&self) -> usize {
        self.order.len()
    }

    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }
}

/// std's `DefaultHasher::new()` uses fixed keys: the same key hashes the same in every run.
fn hash(parts: &[&str]) -> u64 {
    let mut h = DefaultHasher::new();
    for part in parts {
        h.write(part.as_bytes());
        h.write_u8(0xff); // not valid UTF-8: parts cannot run into each other
    }
    h.finish()
}

/// What a held event's retry decided.
pub(crate) enum Release {
    Ready(Liquidation),
    /// The contract is still unknown: keep waiting (until too old).
    Wait,
    /// It can never be valued: drop and count.
    Drop,
}

/// Events waiting for the contract data they need, oldest first, bounded in number and age.
#[derive(Debug)]
pub(crate) struct Held<T> {
    items: VecDeque<(Millis, T)>,
    pub(crate) dropped: u64,
}

impl<T> Default for Held<T> {
    fn default() -> Self {
        Held {
            items: VecDeque::new(),
            dropped: 0,
        }
    }
}

impl<T> Held<T> {
    pub(crate) fn push(&mut self, received_ms: Millis, item: T) {
        if self.items.len() >= HELD_MAX {
            self.items.pop_front();
            self.dropped += 1;
        }
        self.items.push_back((received_ms, item));
    }

    pub(crate) fn len(&self) -> usize {
        self.items.len()
    }

    /// Retries every held item; returns those now valued. Items older than [`HELD_MAX_AGE_MS`]
    /// at `now_ms`, and those `retry` gives up on, are dropped and counted.
    pub(crate) fn release(
        &mut self,
        now_ms: Millis,
        mut retry: impl FnMut(Millis, &T) -> Release,
    ) -> Vec<Liquidation> {
        let mut ready = Vec::new();
        let mut dropped = 0;
        self.items.retain(|(at, item)| match retry(*at, item) {
            Release::Ready(event) => {
                ready.push(event);
                false
            }
            Release::Wait if now_ms.saturating_sub(*at) <= HELD_MAX_AGE_MS => true,
            Release::Wait | Release::Drop => {
                dropped += 1;
                false
            }
        });
        self.dropped += dropped;
        ready
    }
}

/// Collects a frame's rows: a bad row is skipped (and logged); the frame is an error only when rows
/// failed and none produced an event — so a useless frame moves the error counter once.
#[derive(Default)]
pub(crate) struct Batch {
    pub(crate) events: Vec<Liquidation>,
    failed: Option<(ParseError, usize)>,
}

impl Batch {
    pub(crate) fn add(&mut self, feed: &'static str, row: Result<Option<Liquidation>, ParseError>) {
        match row {
            Ok(Some(event)) => self.events.push(event),
            Ok(None) => {}
            Err(error) => {
                tracing::debug!(feed, %error, "skipping liquidation row");
                self.failed = Some(match self.failed.take() {
                    None => (error, 1),
                    Some((first, n)) => (first, n + 1),
                });
            }
        }
    }

    pub(crate) fn finish(self) -> Result<LiqParsed, ParseError> {
        match self.failed {
            Some((first, count)) if self.events.is_empty() => Err(match first {
                ParseError::Field { field, reason } if count > 1 => ParseError::Field {
                    field,
                    reason: format!("{reason} (and {} more failed rows)", count - 1),
                },
                other => other,
            }),
            _ => Ok(LiqParsed::Liquidations(self.events)),
        }
    }
}

/// A JSON value that is one `T` or an array of them (Binance `data`, Bybit `data`), read in one pass.
pub(crate) struct OneOrMany<T>(pub(crate) Vec<T>);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for OneOrMany<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(OneOrManyVisitor(std::marker::PhantomData))
    }
}

struct OneOrManyVisitor<T>(std::marker::PhantomData<T>);

impl<'de, T: Deserialize<'de>> Visitor<'de> for OneOrManyVisitor<T> {
    type Value = OneOrMany<T>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object or an array of objects")
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        let one = T::deserialize(de::value::MapAccessDeserializer::new(map))?;
        Ok(OneOrMany(vec![one]))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut all = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(4096));
        while let Some(one) = seq.next_element()? {
            all.push(one);
        }
        Ok(OneOrMany(all))
    }
}

/// A JSON object read as `T`; any other value (an OKX `candle` row is an array) is skipped as
/// `None`, so a push on another channel of the socket never fails the frame.
pub(crate) struct MapOrSkip<T>(pub(crate) Option<T>);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for MapOrSkip<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(MapOrSkipVisitor(std::marker::PhantomData))
    }
}

struct MapOrSkipVisitor<T>(std::marker::PhantomData<T>);

impl<'de, T: Deserialize<'de>> Visitor<'de> for MapOrSkipVisitor<T> {
    type Value = MapOrSkip<T>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        T::deserialize(de::value::MapAccessDeserializer::new(map)).map(|t| MapOrSkip(Some(t)))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<de::IgnoredAny>()?.is_some() {}
        Ok(MapOrSkip(None))
    }
    fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
        Ok(MapOrSkip(None))
    }
    fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
        Ok(MapOrSkip(None))
    }
    fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
        Ok(MapOrSkip(None))
    }
    fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
        Ok(MapOrSkip(None))
    }
    fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
        Ok(MapOrSkip(None))
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(MapOrSkip(None))
    }
}

/// A price or size that must be a positive number.
pub(crate) fn positive(field: &'static str, value: f64) -> Result<f64, ParseError> {
    if value > 0.0 {
        Ok(value)
    } else {
        Err(ParseError::field(field, format!("not positive: {value}")))
    }
}

/// `1000PEPE` → (`PEPE`, 1000): a multiplier ticker's coin and how many coins one unit holds.
///
/// Built-in rule (exchanges.md §13; the config alias table stays the authority for spot rows): a
/// prefix `1` followed by three or more `0`s (`1000`, `10000`, `1000000`), or `1M`, in front of a
/// letter; or such a power of ten as a suffix after a letter (Bybit `SHIB1000`). Anything else is
/// its own coin with multiplier 1 (`1INCH`, `A8`, `B3`).
#[must_use]
pub fn split_multiplier(base: &str) -> (&str, f64) {
    if let Some(rest) = base.strip_prefix("1M")
        && rest.starts_with(|c: char| c.is_ascii_alphabetic())
    {
        return (rest, 1e6);
    }
    let zeros = |digits: &str| {
        let n = digits.strip_prefix('1')?.len();
        (n >= 3 && digits.bytes().skip(1).all(|b| b == b'0')).then(|| 10f64.powi(n_i32(n)))
    };
    let lead = base.bytes().take_while(u8::is_ascii_digit).count();
    if let (Some(digits), Some(rest)) = (base.get(..lead), base.get(lead..))
        && rest.starts_with(|c: char| c.is_ascii_alphabetic())
        && let Some(m) = zeros(digits)
    {
        return (rest, m);
    }
    let trail = base.bytes().rev().take_while(u8::is_ascii_digit).count();
    let cut = base.len() - trail;
    if let (Some(rest), Some(digits)) = (base.get(..cut), base.get(cut..))
        && rest.ends_with(|c: char| c.is_ascii_alphabetic())
        && let Some(m) = zeros(digits)
    {
        return (rest, m);
    }
    (base, 1.0)
}

fn n_i32(n: usize) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dedupe_is_bounded_and_remembers() {
        let mut d = Dedupe::new(2);
        assert!(d.insert(&["a"]));
        assert!(!d.insert(&["a"]));
        assert!(d.insert(&["b"]));
        assert!(d.insert(&["c"])); // evicts "a"
        assert_eq!(d.len(), 2);
        assert!(!d.contains(&["a"]));
        assert!(d.insert(&["a"]));
        // Parts do not run into each other.
        assert!(d.insert(&["ab", "c"]));
        assert!(d.insert(&["a", "bc"]));
    }

    #[test]
    fn a_window_keeps_young_keys_beyond_the_capacity() {
        let mut d = Dedupe::keeping(2, 1_000, 4);
        assert!(d.insert_at(&["a"], 0));
        assert!(d.insert_at(&["b"], 100));
        assert!(d.insert_at(&["c"], 200));
        assert!(
            !d.insert_at(&["a"], 300),
            "younger than the window: still known"
        );
        assert!(d.insert_at(&["d"], 400));
        assert!(d.insert_at(&["e"], 500), "hard cap: the oldest goes");
        assert!(!d.contains(&["a"]) && d.contains(&["b"]));
        assert!(
            d.insert_at(&["f"], 5_000),
            "old keys go once over the capacity"
        );
        assert_eq!(d.len(), 2);
        assert!(d.contains(&["e"]) && d.contains(&["f"]));
    }

    #[test]
    fn multiplier_tickers() {
        assert_eq!(split_multiplier("1000PEPE"), ("PEPE", 1000.0));
        assert_eq!(split_multiplier("10000LADYS"), ("LADYS", 10_000.0));
        assert_eq!(split_multiplier("1000000MOG"), ("MOG", 1e6));
        assert_eq!(split_multiplier("1MBABYDOGE"), ("BABYDOGE", 1e6));
        assert_eq!(split_multiplier("SHIB1000"), ("SHIB", 1000.0));
        assert_eq!(split_multiplier("1INCH"), ("1INCH", 1.0));
        assert_eq!(split_multiplier("100X"), ("100X", 1.0));
        assert_eq!(split_multiplier("1000"), ("1000", 1.0));
        assert_eq!(split_multiplier("BTC"), ("BTC", 1.0));
        assert_eq!(split_multiplier("A8"), ("A8", 1.0));
        assert_eq!(split_multiplier("1M"), ("1M", 1.0));
    }

    #[test]
    fn held_events_age_out() {
        let mut held: Held<u8> = Held::default();
        held.push(0, 1);
        held.push(HELD_MAX_AGE_MS, 2);
        let ready = held.release(HELD_MAX_AGE_MS + 1, |_, _| Release::Wait);
        assert!(ready.is_empty());
        assert_eq!((held.len(), held.dropped), (1, 1));
        for i in 0..=HELD_MAX {
            held.push(0, u8::try_from(i % 200).unwrap());
        }
        assert_eq!(held.len(), HELD_MAX);
        assert_eq!(held.dropped, 3);
    }
}
