//! BitMEX liquidations (exchanges.md §7, §12): the `liquidation` and `instrument` tables on one
//! socket (`wss://ws.bitmex.com/realtime?subscribe=liquidation,instrument`); complete coverage.
//!
//! A liquidation is an *order* keyed by `orderID`: `insert` when it enters the book, `update` when
//! its price or `leavesQty` changes, `delete` when done. Each `orderID` is counted **once, at
//! insert** (stamped on receipt — BitMEX sends no timestamp); updates, deletes and re-inserts of a
//! seen `orderID` add nothing. Rows of a `liquidation` *partial* (orders already working when we
//! subscribed) are counted like inserts unless seen before — after a reconnect that recovers the
//! orders inserted during the gap without double-counting. `side` is the order side: `Sell` closes
//! a long.
//!
//! The USD value needs the contract's multipliers from the `instrument` table (module `contracts`); an
//! insert for a symbol not in the table yet (the instrument partial comes after the liquidation
//! one), or a quanto/XBT-quoted contract before any XBT price, is **held** and released by the
//! instrument frame that makes it valuable (bounded like every held event). `instrument` frames are
//! the socket's canary: they make a [`LiqParsed::Heartbeat`]. [`LiqParser::reset_connection`] clears
//! the table (a new partial comes) but keeps the seen `orderID`s and held events.

#![allow(
    clippy::doc_markdown,
    reason = "BitMEX is a venue name, not code (an `allow`: clippy.toml may list it in doc-valid-idents later)"
)]

mod contracts;

use std::borrow::Cow;
use std::time::Duration;

use serde::Deserialize;

use self::contracts::{Contracts, InstrumentFields, Valued};
use super::common::{Batch, Dedupe, Held, Release, positive};
use super::{DEDUPE_CAPACITY, LiqParsed, LiqParser, LiqStats};
use crate::feed::ParseError;
use crate::feed::num::{self, Num};
use crate::model::{FeedId, LiqVenue, Liquidation, Millis, Side};

pub const FEED_ID: FeedId = "bitmex.liquidations";
/// Both tables on one socket (the URL's `?subscribe=liquidation,instrument` does the same).
pub const SUBSCRIBE_FRAME: &str = r#"{"op":"subscribe","args":["liquidation","instrument"]}"#;
/// BitMEX sends no pings; after this long without a frame send [`PING_FRAME`], expect `pong`.
pub const PING_INTERVAL: Duration = Duration::from_secs(5);
pub const PING_FRAME: &str = "ping";

/// Any frame: welcome, subscribe reply, error or a table message.
/// bitmex.com/app/wsAPI (recorded by bmoscon/cryptofeed and tardis-dev/tardis-node):
/// `{"info":"Welcome to the BitMEX Realtime API.","version":"2021-07-14T01:26:29.000Z",…,
/// "limit":{"remaining":39}}`; `{"success":true,"subscribe":"orderBookL2:XRPU21","request":{…}}`;
/// `{"status":400,"error":"Unknown table: x","meta":{},"request":{…}}`;
/// `{"table":"liquidation","action":"insert","data":[{"orderID":"dd9cea25-207c-0dab-15b5-b88da776f500",
/// "symbol":"XBTUSD","side":"Buy","price":10106,"leavesQty":9214}]}`.
#[derive(Deserialize)]
struct BitmexFrame<'a> {
    #[serde(borrow)]
    table: Option<Cow<'a, str>>,
    #[serde(borrow)]
    action: Option<Cow<'a, str>>,
    #[serde(borrow)]
    data: Option<Vec<BitmexRow<'a>>>,
    #[serde(borrow)]
    info: Option<Cow<'a, str>>,
    success: Option<bool>,
    #[serde(borrow)]
    error: Option<Cow<'a, str>>,
    #[serde(borrow)]
    status: Option<Num<'a>>,
}

/// A row of either table: liquidation `{orderID, symbol, side, price, leavesQty}`; instrument
/// (~100 fields in a partial, sparse in updates) `{"symbol":"ETHM19","rootSymbol":"ETH",…,
/// "quoteCurrency":"XBT","underlyingToPositionMultiplier":1,"underlyingToSettleMultiplier":null,
/// "multiplier":100000000,"isQuanto":false,"isInverse":false,"settlCurrency":"XBt",
/// "lastPrice":0.03161,"markPrice":0.03162,…}`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct BitmexRow<'a> {
    #[serde(rename = "orderID", borrow)]
    order_id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    symbol: Option<Cow<'a, str>>,
    #[serde(borrow)]
    side: Option<Cow<'a, str>>,
    #[serde(borrow)]
    price: Option<Num<'a>>,
    #[serde(borrow)]
    leaves_qty: Option<Num<'a>>,
    #[serde(borrow)]
    multiplier: Option<Num<'a>>,
    is_inverse: Option<bool>,
    is_quanto: Option<bool>,
    #[serde(borrow)]
    underlying_to_position_multiplier: Option<Num<'a>>,
    #[serde(borrow)]
    underlying_to_settle_multiplier: Option<Num<'a>>,
    #[serde(borrow)]
    settl_currency: Option<Cow<'a, str>>,
    #[serde(borrow)]
    quote_currency: Option<Cow<'a, str>>,
    #[serde(borrow)]
    root_symbol: Option<Cow<'a, str>>,
    #[serde(borrow)]
    last_price: Option<Num<'a>>,
    #[serde(borrow)]
    mark_price: Option<Num<'a>>,
}

/// An inserted order checked and waiting for its contract.
#[derive(Debug, Clone)]
struct Order {
    id: String,
    symbol: String,
    side: Side,
    price: f64,
    leaves: f64,
}

/// The BitMEX liquidation parser: per-connection contract table, seen `orderID`s, held orders.
#[derive(Debug)]
pub struct BitmexLiqParser {
    contracts: Contracts,
    seen: Dedupe,
    held: Held<Order>,
    duplicates: u64,
    unvalued: u64,
}

impl Default for BitmexLiqParser {
    fn default() -> Self {
        Self::new()
    }
}

impl BitmexLiqParser {
    #[must_use]
    pub fn new() -> Self {
        BitmexLiqParser {
            contracts: Contracts::default(),
            seen: Dedupe::new(DEDUPE_CAPACITY),
            held: Held::default(),
            duplicates: 0,
            unvalued: 0,
        }
    }

    /// Instruments currently in the table (for `/debug`).
    #[must_use]
    pub fn instruments(&self) -> usize {
        self.contracts.len()
    }

    fn instrument_frame(
        &mut self,
        action: &str,
        rows: &[BitmexRow<'_>],
        received_ms: Millis,
    ) -> Result<LiqParsed, ParseError> {
        let mut failed = None;
        for row in rows {
            let Some(symbol) = row.symbol.as_deref() else {
                failed.get_or_insert(ParseError::field("symbol", "missing in instrument row"));
                continue;
            };
            if let Err(error) = self.contracts.apply(action, &fields(symbol, row)) {
                failed.get_or_insert(error);
            }
        }
        let released = self.release(received_ms);
        match failed {
            Some(error) if released.is_empty() => Err(error),
            _ if released.is_empty() => Ok(LiqParsed::Heartbeat),
            _ => Ok(LiqParsed::Liquidations(released)),
        }
    }

    fn liquidation_frame(
        &mut self,
        action: &str,
        rows: &[BitmexRow<'_>],
        received_ms: Millis,
    ) -> Result<LiqParsed, ParseError> {
        let mut batch = Batch::default();
        batch.events = self.release(received_ms);
        if matches!(action, "insert" | "partial") {
            for row in rows {
                let placed = read_order(row).map(|order| self.place(order, received_ms));
                batch.add(FEED_ID, placed);
            }
        }
        batch.finish()
    }

    /// A new order → its event now, or held; a seen `orderID` → nothing.
    fn place(&mut self, order: Order, received_ms: Millis) -> Option<Liquidation> {
        if !self.seen.insert(&[&order.id]) {
            self.duplicates += 1;
            return None;
        }
        match self.try_value(&order, received_ms) {
            Release::Ready(event) => Some(event),
            Release::Wait => {
                self.held.push(received_ms, order);
                None
            }
            Release::Drop => {
                self.unvalued += 1;
                None
            }
        }
    }

    fn release(&mut self, now_ms: Millis) -> Vec<Liquidation> {
        let mut held = std::mem::take(&mut self.held);
        let ready = held.release(now_ms, |received_ms, order| {
            self.try_value(order, received_ms)
        });
        self.held = held;
        ready
    }

    fn try_value(&self, order: &Order, received_ms: Millis) -> Release {
        let Some(contract) = self.contracts.get(&order.symbol) else {
            return Release::Wait;
        };
        let (quantity, notional_usd) = match contract.value(
            order.price,
            order.leaves,
            self.contracts.xbt_usd(),
        ) {
            Valued::Ready(q, n) => (q, n),
            Valued::NeedXbt => return Release::Wait,
            Valued::Never(why) => {
                tracing::debug!(feed = FEED_ID, symbol = %order.symbol, why, "liquidation not valued");
                return Release::Drop;
            }
        };
        Release::Ready(Liquidation {
            id: format!("bitmex:{}", order.id),
            exchange: LiqVenue::Bitmex,
            symbol: order.symbol.clone(),
            base: contract.base().unwrap_or(&order.symbol).to_owned(),
            side: order.side,
            price: order.price,
            quantity,
            notional_usd,
            time_ms: received_ms,
            received_ms,
        })
    }
}

impl LiqParser for BitmexLiqParser {
    fn parse_frame(&mut self, frame: &[u8], received_ms: Millis) -> Result<LiqParsed, ParseError> {
        if frame.trim_ascii() == b"pong" {
            return Ok(LiqParsed::Heartbeat);
        }
        let frame: BitmexFrame<'_> = serde_json::from_slice(frame)?;
        if let Some(error) = frame.error.as_deref() {
            let status = frame.status.as_ref().map(Num::describe).unwrap_or_default();
            return Err(ParseError::Venue(
                format!("{status} {error}").trim().to_owned(),
            ));
        }
        let Some(table) = frame.table.as_deref() else {
            return match (frame.info.is_some(), frame.success) {
                (true, _) | (_, Some(true)) => Ok(LiqParsed::Nothing),
                _ => Err(ParseError::field(
                    "table",
                    "missing: not a table message or a reply",
                )),
            };
        };
        let action = frame
            .action
            .as_deref()
            .ok_or_else(|| ParseError::field("action", "missing"))?;
        let rows = frame.data.as_deref().unwrap_or_default();
        match table {
            "liquidation" => self.liquidation_frame(action, rows, received_ms),
            "instrument" => self.instrument_frame(action, rows, received_ms),
            _ => Ok(LiqParsed::Heartbeat),
        }
    }

    fn reset_connection(&mut self) {
        self.contracts.clear();
    }

    fn stats(&self) -> LiqStats {
        LiqStats {
            duplicates: self.duplicates,
            held: self.held.len(),
            unvalued: self.unvalued + self.held.dropped,
        }
    }
}

fn fields<'r, 'a>(symbol: &'r str, row: &'r BitmexRow<'a>) -> InstrumentFields<'r, 'a> {
    InstrumentFields {
        symbol,
        multiplier: row.multiplier.as_ref(),
        is_inverse: row.is_inverse,
        is_quanto: row.is_quanto,
        underlying_to_position: row.underlying_to_position_multiplier.as_ref(),
        underlying_to_settle: row.underlying_to_settle_multiplier.as_ref(),
        settl_currency: row.settl_currency.as_deref(),
        quote_currency: row.quote_currency.as_deref(),
        root_symbol: row.root_symbol.as_deref(),
        last_price: row.last_price.as_ref(),
        mark_price: row.mark_price.as_ref(),
    }
}

fn read_order(row: &BitmexRow<'_>) -> Result<Order, ParseError> {
    let order_id = row.order_id.as_deref().filter(|id| !id.is_empty());
    let order_id = order_id.ok_or_else(|| ParseError::field("orderID", "missing"))?;
    let symbol = row
        .symbol
        .as_deref()
        .ok_or_else(|| ParseError::field("symbol", "missing"))?;
    let side = match row.side.as_deref() {
        // The order side: a Sell order closes a long position.
        Some("Sell") => Side::Long,
        Some("Buy") => Side::Short,
        other => return Err(ParseError::field("side", format!("unknown side {other:?}"))),
    };
    Ok(Order {
        id: order_id.to_owned(),
        symbol: symbol.to_owned(),
        side,
        price: positive("price", num::required_f64("price", row.price.as_ref())?)?,
        leaves: positive(
            "leavesQty",
            num::required_f64("leavesQty", row.leaves_qty.as_ref())?,
        )?,
    })
}
