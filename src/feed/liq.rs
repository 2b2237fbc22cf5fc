//! Liquidation feeds (SPEC §3.4, exchanges.md §4–§7, §12): one stateful parser per venue that turns
//! a frame into normalised [`Liquidation`]s, plus what the parsers share.
//!
//! Unlike the ticker parsers (plain `fn`s), a liquidation parser keeps state: a de-duplication memory
//! (Bybit resends batches after a reconnect, OKX re-delivers late, BitMEX sends insert → update →
//! delete per order), contract tables (OKX `ctVal`, BitMEX multipliers) and events *held* until the
//! contract they need is known. Hence the [`LiqParser`] trait.
//!
//! **Heartbeats.** A liquidation stream may be legitimately quiet for minutes, so the session must
//! tell "connected and data flowing" from "connected and silent" (the 2026 Binance failure mode)
//! without liquidations. [`LiqParser::parse_frame`] therefore answers a [`LiqParsed`]:
//! `Liquidations` (a liquidation frame — its list may be empty after de-duplication, which still
//! proves the subscription delivers), `Heartbeat` (canary data on the same socket — Binance
//! `markPriceUpdate`, BitMEX `instrument` rows — or a protocol pong), `Nothing` (welcome, acks,
//! unknown types) or a `Control`. A watchdog treats `Liquidations` and `Heartbeat` as "alive".
//! [`LiqParser::parse`] maps the same onto the crate-wide [`Parsed`] for callers that do not care.
//!
//! **Multiplier tickers** (exchanges.md §13): [`split_multiplier`] turns `1000PEPE` into `PEPE` × 1000.

#![allow(
    clippy::doc_markdown,
    reason = "BitMEX is a venue name, not code (an `allow`: clippy.toml may list it in doc-valid-idents later)"
)]

pub mod binance;
pub mod bitmex;
pub mod bybit;
pub mod collect;
mod common;
pub mod okx;

pub use common::{Dedupe, split_multiplier};

use crate::feed::{Control, ParseError, Parsed};
use crate::model::{Liquidation, MarketEvent, Millis};

/// De-duplication memory per parser: ids (or content keys) of the last this-many events.
pub const DEDUPE_CAPACITY: usize = 10_000;
/// At most this many events wait for an unknown contract; the oldest is dropped beyond it.
pub const HELD_MAX: usize = 1_000;
/// A held event still unvalued after this long is dropped (and counted).
pub const HELD_MAX_AGE_MS: Millis = 10 * 60 * 1_000;

/// What one liquidation-socket frame meant (see the module docs for how a watchdog reads it).
#[derive(Debug, Clone, PartialEq)]
pub enum LiqParsed {
    /// A liquidation frame: the new events in it (empty when all were duplicates, held, or the
    /// frame was an update/delete that never adds events).
    Liquidations(Vec<Liquidation>),
    /// Canary data or a pong: the connection is alive and delivering, nothing to emit.
    Heartbeat,
    /// Welcome, subscribe acknowledgements, message types kimp does not use.
    Nothing,
    /// The venue asked for a reconnect.
    Control(Control),
}

impl LiqParsed {
    /// Whether the frame proves the subscription is delivering (liquidations or canary data).
    #[must_use]
    pub fn is_alive(&self) -> bool {
        matches!(self, LiqParsed::Liquidations(_) | LiqParsed::Heartbeat)
    }

    /// The crate-wide [`Parsed`]: events become [`MarketEvent::Liquidation`]s, the rest nothing.
    #[must_use]
    pub fn into_parsed(self) -> Parsed {
        match self {
            LiqParsed::Liquidations(events) => {
                Parsed::Events(events.into_iter().map(MarketEvent::Liquidation).collect())
            }
            LiqParsed::Heartbeat | LiqParsed::Nothing => Parsed::nothing(),
            LiqParsed::Control(control) => Parsed::Control(control),
        }
    }
}

/// Counters a parser keeps for `/debug` and the status line.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LiqStats {
    /// Events dropped because their id/content was already seen.
    pub duplicates: u64,
    /// Events waiting for a contract (OKX instrument, BitMEX instrument row, XBT price).
    pub held: usize,
    /// Events that could not be valued and were dropped (too old, too many held, or a contract
    /// kimp cannot value in USD).
    pub unvalued: u64,
}

/// A stateful frame parser for one liquidation socket. Errors are counted by the caller and skipped.
pub trait LiqParser: Send {
    /// One frame → new normalised liquidations / heartbeat / nothing / control.
    fn parse_frame(&mut self, frame: &[u8], received_ms: Millis) -> Result<LiqParsed, ParseError>;

    /// One frame → normalised liquidations (as [`MarketEvent::Liquidation`]) / nothing / control.
    fn parse(&mut self, frame: &[u8], received_ms: Millis) -> Result<Parsed, ParseError> {
        self.parse_frame(frame, received_ms)
            .map(LiqParsed::into_parsed)
    }

    /// Called on reconnect: drop per-connection state (BitMEX tables), keep the dedupe memory and
    /// held events.
    fn reset_connection(&mut self) {}

    /// Instruments seen in liquidations but missing from the contract table since the last call
    /// (OKX): the caller refreshes the table. Events for them are held, never guessed.
    fn take_unknown_instruments(&mut self) -> Vec<String> {
        Vec::new()
    }

    fn stats(&self) -> LiqStats {
        LiqStats::default()
    }
}
