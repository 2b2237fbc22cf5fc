//! Bounded memory of recently seen event ids, for de-duplication.
//!
//! Duplicates come from replays (`BitMEX` resends its recent liquidations on subscribe, a warm start
//! overlaps the first live events, a reconnect may repeat a batch), so only *recent* ids matter.
//! Each venue remembers its own last [`IDS_PER_VENUE`] ids, so a busy venue cannot push a quiet
//! venue's ids out. Ids are stored as 64-bit hashes (16 bytes each with the table, instead of the
//! string): two different ids collide with probability ~n²/2⁶⁵ (≈ 10⁻¹¹ for the 32 k remembered).

use std::collections::{HashSet, VecDeque};
use std::hash::{DefaultHasher, Hash, Hasher};

/// Ids remembered per venue.
pub const IDS_PER_VENUE: usize = 8_192;

/// The last `cap` ids of one venue.
#[derive(Debug, Clone)]
pub struct IdMemory {
    set: HashSet<u64>,
    order: VecDeque<u64>,
    cap: usize,
}

impl IdMemory {
    #[must_use]
    pub fn new(cap: usize) -> Self {
        IdMemory {
            set: HashSet::with_capacity(cap),
            order: VecDeque::with_capacity(cap),
            cap,
        }
    }

    /// Remembers `id`; false if it was already remembered.
    pub fn insert(&mut self, id: &str) -> bool {
        // DefaultHasher::new() has fixed keys: the same id always hashes the same.
        let mut h = DefaultHasher::new();
        id.hash(&mut h);
        let key = h.finish();
        if !self.set.insert(key) {
            return false;
        }
        self.order.push_back(key);
        if self.order.len() > self.cap
            && let Some(old) = self.order.pop_front()
        {
            self.set.remove(&old);
        }
        true
    }

    /// Ids remembered.
    #[must_use]
    pub fn len(&self) -> usize {
        self.order.len()
    }

    /// Bytes held: the ring plus the hash table (8-byte keys + 1 control byte per bucket).
    #[must_use]
    pub fn bytes(&self) -> usize {
        let buckets = (self.set.capacity() * 8 / 7).next_power_of_two();
        self.order.capacity() * 8 + buckets * 9
    }
}
