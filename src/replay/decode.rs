//! One recorded line → the [`FeedMsg`]s the live collector would have sent for it, through the
//! same parse functions (the table of feed id → parser lives here).

#![allow(
    clippy::doc_markdown,
    reason = "BitMEX is a venue name, not code (as in `feed::liq`)"
)]

use std::collections::HashMap;

use crate::feed::liq::binance::BinanceLiqParser;
use crate::feed::liq::bitmex::BitmexLiqParser;
use crate::feed::liq::bybit::BybitLiqParser;
use crate::feed::liq::okx::{OkxInstruments, OkxLiqParser};
use crate::feed::liq::{self, LiqParsed, LiqParser};
use crate::feed::session::{HEARTBEAT_REPORT, ParseFn};
use crate::feed::{
    FeedMsg, ParseError, Parsed, binance, bithumb, bybit, fear_greed, fx, okx, upbit,
};
use crate::model::{FeedId, MarketEvent, MarketInfo, Millis, Venue};
use crate::record::line::{Kind, Line};

/// Every feed id a recording may name, as the `'static` id the state knows.
const FEEDS: &[FeedId] = &[
    upbit::FEED_ID,
    upbit::MARKETS_FEED_ID,
    bithumb::FEED_ID,
    bithumb::REST_FEED_ID,
    bithumb::MARKETS_FEED_ID,
    binance::FEED_ID,
    bybit::FEED_ID,
    bybit::REST_FEED_ID,
    bybit::SYMBOLS_FEED_ID,
    okx::FEED_ID,
    okx::INSTRUMENTS_FEED_ID,
    fx::FEED_ID,
    fear_greed::FEED_ID,
    liq::binance::FEED_ID,
    liq::collect::bybit::SYMBOLS_FEED_ID,
    liq::bybit::FEED_ID,
    liq::collect::okx::INSTRUMENTS_FEED_ID,
    liq::okx::FEED_ID,
    liq::bitmex::FEED_ID,
];

/// The state's id for a recorded feed name.
#[must_use]
pub fn static_feed_id(name: &str) -> Option<FeedId> {
    FEEDS.iter().copied().find(|f| *f == name)
}

/// The frame parser of a ticker stream.
fn ticker_parser(feed: FeedId) -> Option<ParseFn> {
    Some(match feed {
        upbit::FEED_ID => upbit::parse,
        bithumb::FEED_ID => bithumb::parse,
        binance::FEED_ID => binance::parse,
        bybit::FEED_ID => bybit::parse,
        okx::FEED_ID => okx::parse,
        _ => return None,
    })
}

/// A new stateful parser for a liquidation stream (OKX's is shared, see [`Decoder`]).
fn liq_parser(feed: FeedId) -> Option<Box<dyn LiqParser>> {
    Some(match feed {
        liq::binance::FEED_ID => Box::new(BinanceLiqParser::new()),
        liq::bybit::FEED_ID => Box::new(BybitLiqParser::new()),
        liq::bitmex::FEED_ID => Box::new(BitmexLiqParser::new()),
        _ => return None,
    })
}

/// Replay-side parser state, rebuilt from the recording in order.
pub struct Decoder {
    /// Liquidation parsers per recorded session: their memory lives as long as the session.
    liq: HashMap<(FeedId, u64), Box<dyn LiqParser>>,
    /// OKX's parser, shared by its sessions and the contract table (as live).
    okx: OkxLiqParser,
    okx_table: crate::feed::liq::okx::SharedOkxInstruments,
    /// When each liquidation session last reported a heartbeat (as the live session throttles).
    heartbeat_at: HashMap<(FeedId, u64), Millis>,
    /// Bithumb's last market list, waiting for its alerts.
    bithumb_markets: Option<Vec<MarketInfo>>,
}

impl Default for Decoder {
    fn default() -> Self {
        Decoder::new()
    }
}

impl Decoder {
    #[must_use]
    pub fn new() -> Self {
        let okx_table = OkxInstruments::default().shared();
        Decoder {
            liq: HashMap::new(),
            okx: OkxLiqParser::new(okx_table.clone()),
            okx_table,
            heartbeat_at: HashMap::new(),
            bithumb_markets: None,
        }
    }

    /// The messages of one line; `Err` when the line is unusable (named feed unknown, fields
    /// missing). A payload that does not parse is a [`FeedMsg::ParseError`] of its feed, as live.
    pub fn decode(&mut self, line: &Line<'_>) -> Result<Vec<FeedMsg>, String> {
        let feed =
            static_feed_id(&line.feed).ok_or_else(|| format!("unknown feed `{}`", line.feed))?;
        match line.kind {
            Kind::Status => {
                let state = line.state.ok_or("status without `state`")?;
                Ok(vec![FeedMsg::Status {
                    feed,
                    state,
                    at_ms: line.at.unwrap_or(line.t),
                    detail: line.detail.as_deref().map(str::to_owned),
                }])
            }
            Kind::Open => {
                let s = line.s.ok_or("open without session `s`")?;
                if let Some(parser) = self.session_parser(feed, s) {
                    parser.reset_connection();
                }
                Ok(Vec::new())
            }
            Kind::Ws => {
                let s = line.s.ok_or("ws without session `s`")?;
                let payload = line.payload()?;
                self.ws(feed, s, &payload, line.t)
            }
            Kind::Rest => {
                let payload = line.payload()?;
                self.rest(feed, line.src.as_deref(), &payload, line.t)
            }
        }
    }

    fn session_parser(&mut self, feed: FeedId, s: u64) -> Option<&mut (dyn LiqParser + 'static)> {
        if feed == liq::okx::FEED_ID {
            return Some(&mut self.okx);
        }
        let parser = match self.liq.entry((feed, s)) {
            std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::hash_map::Entry::Vacant(e) => e.insert(liq_parser(feed)?),
        };
        Some(&mut **parser)
    }

    fn ws(
        &mut self,
        feed: FeedId,
        s: u64,
        frame: &[u8],
        t: Millis,
    ) -> Result<Vec<FeedMsg>, String> {
        if let Some(parse) = ticker_parser(feed) {
            return Ok(vec![match parse(frame, t) {
                Ok(Parsed::Events(events)) => FeedMsg::Events { feed, events },
                Ok(Parsed::Control(_)) => return Ok(Vec::new()),
                Err(e) => parse_error(feed, &e),
            }]);
        }
        let parser = self
            .session_parser(feed, s)
            .ok_or_else(|| format!("feed `{feed}` has no frames"))?;
        let parsed = parser.parse_frame(frame, t);
        Ok(match parsed {
            Ok(LiqParsed::Liquidations(events)) if !events.is_empty() => vec![FeedMsg::Events {
                feed,
                events: events.into_iter().map(MarketEvent::Liquidation).collect(),
            }],
            Ok(LiqParsed::Liquidations(_) | LiqParsed::Heartbeat) => {
                let last = self.heartbeat_at.get(&(feed, s)).copied();
                let every = i64::try_from(HEARTBEAT_REPORT.as_millis()).unwrap_or(i64::MAX);
                if last.is_none_or(|at| t - at >= every) {
                    self.heartbeat_at.insert((feed, s), t);
                    vec![empty(feed)]
                } else {
                    Vec::new()
                }
            }
            Ok(LiqParsed::Nothing) => vec![empty(feed)],
            Ok(LiqParsed::Control(_)) => Vec::new(),
            Err(e) => vec![parse_error(feed, &e)],
        })
    }

    fn rest(
        &mut self,
        feed: FeedId,
        src: Option<&str>,
        body: &[u8],
        t: Millis,
    ) -> Result<Vec<FeedMsg>, String> {
        let events = |r: Result<Vec<MarketEvent>, ParseError>| match r {
            Ok(events) => vec![FeedMsg::Events { feed, events }],
            Err(e) => vec![parse_error(feed, &e)],
        };
        let markets =
            |venue: Venue, markets: Vec<MarketInfo>| vec![MarketEvent::Markets { venue, markets }];
        Ok(match (feed, src) {
            (upbit::MARKETS_FEED_ID, _) => {
                events(upbit::parse_markets(body).map(|m| markets(Venue::Upbit, m)))
            }
            (bithumb::MARKETS_FEED_ID, Some(bithumb::SRC_LIST)) => {
                let parsed = bithumb::parse_markets(body);
                if let Ok(list) = &parsed {
                    self.bithumb_markets = Some(list.clone());
                }
                events(parsed.map(|m| markets(Venue::Bithumb, m)))
            }
            (bithumb::MARKETS_FEED_ID, Some(bithumb::SRC_WARNINGS)) => {
                match (bithumb::parse_warnings(body), &self.bithumb_markets) {
                    (Ok(warnings), Some(list)) => {
                        let mut list = list.clone();
                        bithumb::merge_warnings(&mut list, &warnings);
                        events(Ok(markets(Venue::Bithumb, list)))
                    }
                    (Ok(_), None) => Vec::new(),
                    (Err(e), _) => vec![parse_error(feed, &e)],
                }
            }
            (bithumb::REST_FEED_ID, _) => events(bithumb::parse_all_krw(body, t)),
            (bybit::REST_FEED_ID, _) => events(bybit::parse_rest_tickers(body, t)),
            (bybit::SYMBOLS_FEED_ID, _) => events(bybit::parse_symbols(body).map(|_| Vec::new())),
            (okx::INSTRUMENTS_FEED_ID, _) => {
                events(okx::parse_instruments(body).map(|_| Vec::new()))
            }
            (fx::FEED_ID, Some(src)) => fx_body(src, body, t)?,
            (fear_greed::FEED_ID, _) => {
                events(fear_greed::parse(body, t).map(|i| vec![MarketEvent::FearGreed(i)]))
            }
            (liq::collect::bybit::SYMBOLS_FEED_ID, _) => {
                match liq::bybit::parse_instruments(body) {
                    // Live reports once, after the last page.
                    Ok((_, None)) => vec![empty(feed)],
                    Ok((_, Some(_))) => Vec::new(),
                    Err(e) => vec![parse_error(feed, &e)],
                }
            }
            (liq::collect::okx::INSTRUMENTS_FEED_ID, _) => self.okx_contracts(body, t),
            _ => return Err(format!("feed `{feed}` has no REST bodies (src {src:?})")),
        })
    }

    /// The OKX contract table grows, held liquidations are valued (as the live poller does).
    fn okx_contracts(&mut self, body: &[u8], t: Millis) -> Vec<FeedMsg> {
        let feed = liq::collect::okx::INSTRUMENTS_FEED_ID;
        match liq::okx::parse_instruments(body) {
            Ok(table) if !table.is_empty() => {
                self.okx_table
                    .write()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .extend(table);
                let released = self.okx.release_held(t);
                let mut out = vec![empty(feed)];
                if !released.is_empty() {
                    out.push(FeedMsg::Events {
                        feed: liq::okx::FEED_ID,
                        events: released.into_iter().map(MarketEvent::Liquidation).collect(),
                    });
                }
                out
            }
            Ok(_) => Vec::new(),
            Err(e) => vec![parse_error(feed, &e)],
        }
    }
}

/// One USD/KRW source's body, as the fx poller reports it.
fn fx_body(src: &str, body: &[u8], t: Millis) -> Result<Vec<FeedMsg>, String> {
    let rate = match src {
        fx::SRC_DUNAMU => fx::parse_dunamu(body, t),
        fx::SRC_FRANKFURTER => fx::parse_frankfurter(body, t),
        fx::SRC_OPEN_ER_API => fx::parse_open_er_api(body, t).map(|r| r.rate),
        other => return Err(format!("unknown fx source `{other}`")),
    };
    Ok(vec![match rate {
        Ok(rate) => FeedMsg::Events {
            feed: fx::FEED_ID,
            events: vec![MarketEvent::Fx(rate)],
        },
        Err(e) => FeedMsg::ParseError {
            feed: fx::FEED_ID,
            error: format!("{src}: {e}"),
        },
    }])
}

fn empty(feed: FeedId) -> FeedMsg {
    FeedMsg::Events {
        feed,
        events: Vec::new(),
    }
}

fn parse_error(feed: FeedId, e: &ParseError) -> FeedMsg {
    FeedMsg::ParseError {
        feed,
        error: e.to_string(),
    }
}
