//! OKX v5 liquidations (exchanges.md §6, §12): `liquidation-orders` with `instType: SWAP`, one
//! subscription for every swap; coverage is **partial** by OKX's own statement.
//!
//! Each `data[i]` is one instrument with `details[]`. Side: `posSide` when it is `long`/`short`
//! (hedge mode names the liquidated position), else (`net`) the order `side` — `sell` closes a long.
//! `sz` is in **contracts** and `bkPx` is the bankruptcy price, so every event needs the contract
//! size from [`OkxInstruments`] (linear: quantity = `sz × ctVal`, notional = quantity × `bkPx`;
//! inverse: notional = `sz × ctVal` USD, quantity = notional / `bkPx`).
//!
//! **Unknown `instId`** (a listing newer than the table): the event is *held*, never guessed, and
//! the id is reported by [`LiqParser::take_unknown_instruments`] so the caller refreshes the table;
//! held events are released by the first frame parsed after the table knows them (bounded by
//! [`HELD_MAX`](super::HELD_MAX) and [`HELD_MAX_AGE_MS`](super::HELD_MAX_AGE_MS)).
//!
//! **Not SWAP** (`instType: FUTURES` rows, e.g. `XRP-USD-230929`): skipped — kimp subscribes to
//! swaps only and its table holds swaps only. Other channels on the socket count as a heartbeat.
//!
//! **De-duplication** (late re-deliveries): by content — `instId, ts, posSide, side, sz, bkPx` and
//! the how-many-th identical detail in the frame — so a re-delivery in another position is still
//! caught. The event id follows exchanges.md §12: `okx:{instId}:{ts}:{i}`, `i` the detail's index.

mod instruments;

pub use instruments::{OkxContract, OkxInstruments, SharedOkxInstruments, parse_instruments};

use std::borrow::Cow;
use std::collections::BTreeSet;
use std::sync::PoisonError;

use serde::Deserialize;

use super::common::{Batch, Dedupe, Held, MapOrSkip, Release, positive};
use super::{DEDUPE_CAPACITY, LiqParsed, LiqParser, LiqStats};

/// OKX re-sends reports late (seconds later): every key of the last minute is remembered, however
/// fast events come (the simulator's 3 % re-sends up to 6 s late were counted twice in a 2,300/s
/// OKX burst when only the last 10,000 keys were kept).
const REDELIVERY_WINDOW_MS: Millis = 60_000;
/// The window's bound: a minute at ~4,000 OKX events/s (about 6 MB).
const DEDUPE_HARD_CAP: usize = 250_000;
use crate::feed::num::{self, Num};
use crate::feed::{Control, ParseError};
use crate::model::{FeedId, LiqVenue, Liquidation, Millis, Side};

pub const FEED_ID: FeedId = "okx.liquidations";
const CHANNEL: &str = "liquidation-orders";
/// The one subscription that covers every swap.
pub const SUBSCRIBE_FRAME: &str =
    r#"{"op":"subscribe","args":[{"channel":"liquidation-orders","instType":"SWAP"}]}"#;
/// `notice` code announcing a service-upgrade disconnect (exchanges.md §6, unconfirmed).
const NOTICE_UPGRADE: &str = "64008";

/// A push, an event reply, or the text `pong` (handled before JSON).
/// okx.com/docs-v5 "Liquidation orders channel" (recorded by thrasher-corp/gocryptotrader):
/// `{"arg": {"channel": "liquidation-orders", "instType": "SWAP" }, "data": [ { "details": [ {
/// "bkLoss": "0", "bkPx": "0.007831", "ccy": "", "posSide": "short", "side": "buy", "sz": "13",
/// "ts": "1692266434010" } ], "instFamily": "IOST-USDT", "instId": "IOST-USDT-SWAP", "instType":
/// "SWAP", "uly": "IOST-USDT"}]}`; replies `{"event":"subscribe","arg":{…},"connId":"a4d3ae55"}`,
/// `{"event":"error","code":"60012","msg":"Invalid request: …","connId":"a4d3ae55"}`.
#[derive(Deserialize)]
struct OkxFrame<'a> {
    #[serde(borrow)]
    event: Option<Cow<'a, str>>,
    #[serde(borrow)]
    code: Option<Num<'a>>,
    #[serde(borrow)]
    msg: Option<Cow<'a, str>>,
    #[serde(borrow)]
    arg: Option<OkxArg<'a>>,
    #[serde(borrow)]
    data: Option<Vec<MapOrSkip<OkxLiquidationRow<'a>>>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct OkxArg<'a> {
    #[serde(borrow)]
    channel: Option<Cow<'a, str>>,
    #[serde(borrow)]
    inst_type: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct OkxLiquidationRow<'a> {
    #[serde(borrow)]
    inst_id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    inst_type: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    details: Vec<OkxDetail<'a>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct OkxDetail<'a> {
    #[serde(borrow)]
    pos_side: Option<Cow<'a, str>>,
    #[serde(borrow)]
    side: Option<Cow<'a, str>>,
    #[serde(borrow)]
    sz: Option<Num<'a>>,
    #[serde(borrow)]
    bk_px: Option<Num<'a>>,
    #[serde(borrow)]
    ts: Option<Num<'a>>,
}

/// A detail read and checked, waiting only for its contract.
#[derive(Debug, Clone)]
struct Detail {
    inst_id: String,
    side: Side,
    contracts: f64,
    price: f64,
    time_ms: Millis,
    index: usize,
}

/// The OKX liquidation parser: reads the shared contract table, de-duplicates, holds events for
/// unknown instruments.
#[derive(Debug)]
pub struct OkxLiqParser {
    instruments: SharedOkxInstruments,
    seen: Dedupe,
    held: Held<Detail>,
    unknown: BTreeSet<String>,
    duplicates: u64,
}

impl OkxLiqParser {
    /// A parser reading `instruments` (refreshed by the caller; see the module docs).
    #[must_use]
    pub fn new(instruments: SharedOkxInstruments) -> Self {
        OkxLiqParser {
            instruments,
            seen: Dedupe::keeping(DEDUPE_CAPACITY, REDELIVERY_WINDOW_MS, DEDUPE_HARD_CAP),
            held: Held::default(),
            unknown: BTreeSet::new(),
            duplicates: 0,
        }
    }

    /// The shared table this parser reads.
    #[must_use]
    pub fn instruments(&self) -> &SharedOkxInstruments {
        &self.instruments
    }

    /// Values the held events whose contract the table now knows (the table is locked once). Runs
    /// at the start of every liquidation frame; call it after refreshing the table to emit them at
    /// once.
    pub fn release_held(&mut self, now_ms: Millis) -> Vec<Liquidation> {
        if self.held.len() == 0 {
            return Vec::new();
        }
        let table = self
            .instruments
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        self.held.release(now_ms, |received_ms, detail| {
            match table.get(&detail.inst_id) {
                None => Release::Wait,
                Some(contract) => {
                    value(detail, contract, received_ms).map_or(Release::Drop, Release::Ready)
                }
            }
        })
    }

    /// One checked detail → an event now, or held (`None`).
    fn place(
        &mut self,
        detail: Detail,
        received_ms: Millis,
    ) -> Result<Option<Liquidation>, ParseError> {
        let table = self
            .instruments
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        let Some(contract) = table.get(&detail.inst_id) else {
            drop(table);
            self.unknown.insert(detail.inst_id.clone());
            self.held.push(received_ms, detail);
            return Ok(None);
        };
        value(&detail, contract, received_ms)
            .map(Some)
            .ok_or_else(|| {
                ParseError::field("instId", format!("{} is not valued in USD", detail.inst_id))
            })
    }

    fn rows(
        &mut self,
        rows: Vec<MapOrSkip<OkxLiquidationRow<'_>>>,
        arg_type: Option<&str>,
        received_ms: Millis,
    ) -> Batch {
        let mut batch = Batch::default();
        for row in rows.into_iter().filter_map(|MapOrSkip(row)| row) {
            if row.inst_type.as_deref().or(arg_type) != Some("SWAP") {
                continue;
            }
            let Some(inst_id) = row.inst_id.as_deref() else {
                batch.add(FEED_ID, Err(ParseError::field("instId", "missing")));
                continue;
            };
            let mut keys: Vec<String> = Vec::with_capacity(row.details.len());
            for (index, raw) in row.details.iter().enumerate() {
                let key = content_key(raw);
                let repeat = keys.iter().filter(|k| **k == key).count().to_string();
                let fresh = self.seen.insert_at(&[inst_id, &key, &repeat], received_ms);
                keys.push(key);
                if !fresh {
                    self.duplicates += 1;
                    continue;
                }
                let placed =
                    read_detail(inst_id, raw, index).and_then(|d| self.place(d, received_ms));
                batch.add(FEED_ID, placed);
            }
        }
        batch
    }
}

impl LiqParser for OkxLiqParser {
    fn parse_frame(&mut self, frame: &[u8], received_ms: Millis) -> Result<LiqParsed, ParseError> {
        if frame.trim_ascii() == b"pong" {
            return Ok(LiqParsed::Heartbeat);
        }
        let frame: OkxFrame<'_> = serde_json::from_slice(frame)?;
        if let Some(event) = frame.event.as_deref() {
            return reply(event, frame.code.as_ref(), frame.msg.as_deref());
        }
        let (Some(arg), Some(rows)) = (frame.arg, frame.data) else {
            return Err(ParseError::field("arg", "missing: not a push or an event"));
        };
        if arg.channel.as_deref() != Some(CHANNEL) {
            return Ok(LiqParsed::Heartbeat);
        }
        let released = self.release_held(received_ms);
        let mut batch = self.rows(rows, arg.inst_type.as_deref(), received_ms);
        batch.events.splice(0..0, released);
        batch.finish()
    }

    fn take_unknown_instruments(&mut self) -> Vec<String> {
        std::mem::take(&mut self.unknown).into_iter().collect()
    }

    fn stats(&self) -> LiqStats {
        LiqStats {
            duplicates: self.duplicates,
            held: self.held.len(),
            unvalued: self.held.dropped,
        }
    }
}

/// `{"event":…}`: subscribe acks and counts are nothing, errors are errors, the upgrade notice asks
/// for a reconnect.
fn reply(event: &str, code: Option<&Num<'_>>, msg: Option<&str>) -> Result<LiqParsed, ParseError> {
    let code = code.map(Num::describe).unwrap_or_default();
    match event {
        "error" => Err(ParseError::Venue(format!("{code}: {}", msg.unwrap_or("")))),
        "notice" if code == NOTICE_UPGRADE => Ok(LiqParsed::Control(Control::Reconnect(
            "okx service upgrade notice",
        ))),
        _ => Ok(LiqParsed::Nothing),
    }
}

/// The fields that identify a detail, as sent: `ts|posSide|side|sz|bkPx`.
fn content_key(d: &OkxDetail<'_>) -> String {
    let text = |n: Option<&Num<'_>>| n.map(Num::describe).unwrap_or_default();
    format!(
        "{}|{}|{}|{}|{}",
        text(d.ts.as_ref()),
        d.pos_side.as_deref().unwrap_or(""),
        d.side.as_deref().unwrap_or(""),
        text(d.sz.as_ref()),
        text(d.bk_px.as_ref()),
    )
}

fn read_detail(inst_id: &str, d: &OkxDetail<'_>, index: usize) -> Result<Detail, ParseError> {
    let side = match d.pos_side.as_deref() {
        // Hedge mode names the liquidated position itself.
        Some("long") => Side::Long,
        Some("short") => Side::Short,
        // One-way (`net`) mode: the liquidation order's side; selling closes a long.
        pos => match d.side.as_deref() {
            Some("sell") => Side::Long,
            Some("buy") => Side::Short,
            side => {
                return Err(ParseError::field(
                    "side",
                    format!("unknown posSide {pos:?} / side {side:?}"),
                ));
            }
        },
    };
    Ok(Detail {
        inst_id: inst_id.to_owned(),
        side,
        contracts: positive("sz", num::required_f64("sz", d.sz.as_ref())?)?,
        price: positive("bkPx", num::required_f64("bkPx", d.bk_px.as_ref())?)?,
        time_ms: num::optional_ms("ts", d.ts.as_ref())?
            .ok_or_else(|| ParseError::field("ts", "missing or empty"))?,
        index,
    })
}

/// A detail with its contract → the event; `None` when the contract is not USD-valued.
fn value(d: &Detail, contract: &OkxContract, received_ms: Millis) -> Option<Liquidation> {
    let (quantity, notional_usd) = contract.value(d.contracts, d.price)?;
    let base = d.inst_id.split('-').next().unwrap_or(&d.inst_id);
    Some(Liquidation {
        id: format!("okx:{}:{}:{}", d.inst_id, d.time_ms, d.index),
        exchange: LiqVenue::Okx,
        symbol: d.inst_id.clone(),
        base: base.to_owned(),
        side: d.side,
        price: d.price,
        quantity,
        notional_usd,
        time_ms: d.time_ms,
        received_ms,
    })
}
