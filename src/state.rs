//! Market state: the latest quote of every venue for every coin, rates, names, flags and feed
//! health. Pure and synchronous: [`MarketState::apply`] takes a [`FeedMsg`], [`MarketState::snapshot`]
//! builds the §6.0 document. Only the state task ([`task`]) owns one; nothing else writes to it.

pub mod health;
pub mod liquidations;
pub mod premium;
pub mod snapshot;
pub mod task;

use std::collections::{BTreeMap, HashMap};

use crate::config::Config;
use crate::feed::FeedMsg;
use crate::model::{
    FearGreed, FeedId, FeedState, FxRate, FxSource, LiqVenue, Liquidation, MarketEvent, MarketInfo,
    Millis, Quote, Venue,
};
use crate::symbols::Symbols;
use health::FeedHealth;
use liquidations::{LiquidationBook, LiquidationSummary};
use snapshot::{CoinRow, FeedRow, FxInfo, Pair, Snapshot, VenuePrice};

/// How long a global all-market feed must be live before a coin it never quoted counts as not
/// listed there (see [`MarketState::missing_global_flag`]).
pub const GLOBAL_LISTING_WINDOW_MS: Millis = 60_000;
/// Gaps listed per feed in a snapshot.
const SNAPSHOT_GAPS: usize = 5;

/// What one [`MarketState::apply`] changed.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Applied {
    /// Coins whose rows received new data.
    pub coins: Vec<String>,
    /// Liquidations accepted (re-deliveries are not in here).
    pub liquidations: Vec<Liquidation>,
}

/// Liquidation events kept on the snapshot for the tape (the book keeps more).
pub const SNAPSHOT_TAPE: usize = 200;

/// The feed id of a venue's liquidation stream.
#[must_use]
pub fn liquidation_feed_id(venue: LiqVenue) -> FeedId {
    match venue {
        LiqVenue::Binance => "binance.liquidations",
        LiqVenue::Bybit => "bybit.liquidations",
        LiqVenue::Okx => "okx.liquidations",
        LiqVenue::Bitmex => "bitmex.liquidations",
    }
}

/// Rules the snapshot applies: pair, freshness limits, symbol tables.
#[derive(Debug, Clone)]
pub struct StateConfig {
    pub pair: Pair,
    pub quote_max_age_ms: Millis,
    pub fx_max_age_ms: HashMap<FxSource, Millis>,
    pub mismatch_bound_percent: f64,
    pub symbols: Symbols,
}

impl StateConfig {
    /// From a validated config (unknown venue names fall back to the defaults).
    #[must_use]
    pub fn from_config(cfg: &Config) -> Self {
        let secs = |s: u64| i64::try_from(s.saturating_mul(1000)).unwrap_or(i64::MAX);
        StateConfig {
            pair: Pair {
                domestic: Venue::parse(&cfg.general.domestic).unwrap_or(Venue::Upbit),
                global: Venue::parse(&cfg.general.overseas).unwrap_or(Venue::Binance),
            },
            quote_max_age_ms: secs(cfg.premium.quote_max_age_secs),
            fx_max_age_ms: HashMap::from([
                (FxSource::Dunamu, secs(cfg.fx.dunamu_max_age_secs)),
                (FxSource::OpenErApi, secs(cfg.fx.open_er_api_max_age_secs)),
                (FxSource::Frankfurter, secs(cfg.fx.frankfurter_max_age_secs)),
            ]),
            mismatch_bound_percent: cfg.premium.mismatch_bound_percent,
            symbols: Symbols::from_config(&cfg.symbols),
        }
    }
}

/// A venue's quote as stored: global prices already converted to one unit of the coin.
#[derive(Debug, Clone)]
struct Stored {
    quote: Quote,
    /// The feed that delivered it; its health decides whether an old quote is still current.
    feed: FeedId,
}

/// The whole market state.
#[derive(Debug)]
pub struct MarketState {
    cfg: StateConfig,
    /// coin → per-venue quote (indexed by `Venue::index`).
    coins: BTreeMap<String, [Option<Stored>; 5]>,
    /// KRW per USDT on each domestic venue (`KRW-USDT`).
    usdt: [Option<Stored>; 2],
    /// The feed that delivers each venue's quotes (learnt from the quotes themselves).
    venue_feed: [Option<FeedId>; 5],
    fx: Option<FxRate>,
    fear_greed: Option<FearGreed>,
    book: LiquidationBook,
    markets: [HashMap<String, MarketInfo>; 5],
    feeds: BTreeMap<FeedId, FeedHealth>,
}

impl MarketState {
    #[must_use]
    pub fn new(cfg: StateConfig) -> Self {
        MarketState {
            cfg,
            coins: BTreeMap::new(),
            usdt: [None, None],
            venue_feed: [None; 5],
            fx: None,
            fear_greed: None,
            book: LiquidationBook::new(),
            markets: Default::default(),
            feeds: BTreeMap::new(),
        }
    }

    /// Changes the venue pair of the premium columns.
    pub fn set_pair(&mut self, pair: Pair) {
        self.cfg.pair = pair;
    }

    /// Registers a feed so it shows up (as `connecting` or `disabled`) before its first message.
    pub fn register_feed(&mut self, feed: FeedId, state: FeedState, now: Millis) {
        self.feeds
            .entry(feed)
            .or_insert_with(|| FeedHealth::new(feed, state, now));
    }

    /// Feed health by id.
    #[must_use]
    pub fn feed(&self, feed: &str) -> Option<&FeedHealth> {
        self.feeds.get(feed)
    }

    /// Applies one message from a collector. Returns what changed: coins whose rows received data
    /// and liquidations that were new (not re-deliveries).
    pub fn apply(&mut self, msg: FeedMsg, now: Millis) -> Applied {
        let mut out = Applied::default();
        match msg {
            FeedMsg::Events { feed, events } => {
                self.health(feed, now).message(now, !events.is_empty());
                for event in events {
                    self.apply_event(feed, event, now, &mut out);
                }
            }
            FeedMsg::ParseError { feed, error } => {
                self.health(feed, now).parse_error(now, error);
            }
            FeedMsg::Status {
                feed,
                state,
                at_ms,
                detail,
            } => {
                self.health(feed, now).transition(state, at_ms, detail);
            }
            FeedMsg::Tick { .. } => {}
        }
        out
    }

    /// Rebuilds the liquidation tape and windows from persisted events (oldest first) at start.
    pub fn warm_liquidations(&mut self, events: Vec<Liquidation>, now: Millis) -> usize {
        events
            .into_iter()
            .filter(|l| self.book.apply(l.clone(), now))
            .count()
    }

    /// The liquidation book (tape, windows, aggregation).
    #[must_use]
    pub fn liquidations(&self) -> &LiquidationBook {
        &self.book
    }

    fn health(&mut self, feed: FeedId, now: Millis) -> &mut FeedHealth {
        self.feeds
            .entry(feed)
            .or_insert_with(|| FeedHealth::new(feed, FeedState::Connecting, now))
    }

    fn apply_event(&mut self, feed: FeedId, event: MarketEvent, now: Millis, out: &mut Applied) {
        match event {
            MarketEvent::Quote(q) => out.coins.extend(self.apply_quote(feed, q)),
            MarketEvent::Fx(rate) => self.fx = Some(rate),
            MarketEvent::Liquidation(liq) => {
                if self.book.apply(liq.clone(), now) {
                    out.liquidations.push(liq);
                }
            }
            MarketEvent::FearGreed(index) => self.fear_greed = Some(index),
            MarketEvent::Markets { venue, markets } => {
                self.markets[venue.index()] =
                    markets.into_iter().map(|m| (m.base.clone(), m)).collect();
            }
        }
    }

    fn apply_quote(&mut self, feed: FeedId, mut quote: Quote) -> Option<String> {
        let venue = quote.venue;
        self.venue_feed[venue.index()] = Some(feed);
        if venue.is_domestic() && quote.base == "USDT" {
            self.usdt[venue.index()] = Some(Stored { quote, feed });
            return None;
        }
        let resolved = self.cfg.symbols.resolve(venue, &quote.base)?;
        if resolved.multiplier > 0.0 && (resolved.multiplier - 1.0).abs() > f64::EPSILON {
            quote.price /= resolved.multiplier;
        }
        let stored = Some(Stored { quote, feed });
        // Known coins (nearly every quote) need no owned key.
        if let Some(slots) = self.coins.get_mut(&resolved.coin) {
            slots[venue.index()] = stored;
        } else {
            let slots = self.coins.entry(resolved.coin.clone()).or_default();
            slots[venue.index()] = stored;
        }
        Some(resolved.coin)
    }

    /// Whether a stored quote can be used at `now`: recent, or its feed has been live without a
    /// break since it arrived (venues push on every trade, so no message means no new price).
    fn is_fresh(&self, s: &Stored, now: Millis) -> bool {
        if now - s.quote.received_ms <= self.cfg.quote_max_age_ms {
            return true;
        }
        self.feeds.get(s.feed).is_some_and(|h| {
            h.state == FeedState::Live && h.live_since_ms.is_some_and(|t| t <= s.quote.received_ms)
        })
    }

    fn fresh_fx(&self, now: Millis) -> Option<(FxRate, bool)> {
        let fx = self.fx?;
        let limit = self.cfg.fx_max_age_ms.get(&fx.source).copied().unwrap_or(0);
        Some((fx, now - fx.quoted_ms > limit))
    }

    /// The USD/KRW rate `F` (when fresh) and the domestic venue's USDT/KRW `U` (when fresh).
    fn rates(&self, now: Millis) -> (Option<f64>, Option<f64>) {
        let f = self
            .fresh_fx(now)
            .filter(|(_, stale)| !stale)
            .map(|(r, _)| r.krw_per_usd);
        let u = self.usdt[self.cfg.pair.domestic.index()]
            .as_ref()
            .filter(|s| self.is_fresh(s, now))
            .map(|s| s.quote.price);
        (f, u)
    }

    /// One coin's premiums as of `now` for the current pair, from fresh legs only (what its row in
    /// the next snapshot will show); `None` for an unknown coin or one without a global market.
    /// Benchmarks use it to price the per-message premium recompute.
    #[must_use]
    pub fn coin_premiums(&self, coin: &str, now: Millis) -> Option<premium::Premiums> {
        let slots = self.coins.get(coin)?;
        let pair = self.cfg.pair;
        if self.cfg.symbols.is_clash(coin) || slots[pair.global.index()].is_none() {
            return None;
        }
        let fresh = |v: Venue| {
            slots[v.index()]
                .as_ref()
                .filter(|s| self.is_fresh(s, now))
                .map(|s| s.quote.price)
        };
        let (f, u) = self.rates(now);
        Some(premium::premiums(
            fresh(pair.domestic),
            fresh(pair.global),
            f,
            u,
        ))
    }

    /// Builds the §6.0 document as of `now`.
    #[must_use]
    pub fn snapshot(&self, now: Millis) -> Snapshot {
        let pair = self.cfg.pair;
        let fx = self.fresh_fx(now);
        let (f, u) = self.rates(now);
        let mut coins: Vec<CoinRow> = self
            .coins
            .iter()
            .filter(|(coin, slots)| self.is_domestic_coin(coin, slots))
            .map(|(coin, slots)| self.row(coin, slots, f, u, now))
            .collect();
        coins.sort_by(|a, b| {
            let vol = |r: &CoinRow| {
                r.prices
                    .get(&pair.domestic)
                    .and_then(|p| p.volume)
                    .unwrap_or(0.0)
            };
            vol(b)
                .total_cmp(&vol(a))
                .then_with(|| a.symbol.cmp(&b.symbol))
        });
        Snapshot {
            timestamp: snapshot::iso8601(now),
            pair,
            exchange_rate: f,
            usdt_krw_rate: u,
            tether_premium_percent: u.zip(f).and_then(|(u, f)| premium::tether_premium(u, f)),
            fx: fx.map(|(r, stale)| FxInfo {
                source: r.source,
                age_ms: now - r.quoted_ms,
                stale,
            }),
            fear_greed: self.fear_greed.clone(),
            coins,
            liquidations: Some(self.liquidation_summary(now)),
            recent_liquidations: self
                .book
                .recent(SNAPSHOT_TAPE, 0.0, None)
                .into_iter()
                .cloned()
                .collect(),
            feeds: self.feeds.values().map(|h| feed_row(h, now)).collect(),
            taken_ms: now,
            liquidations_by_coin: snapshot::AGGREGATED_WINDOWS
                .iter()
                .map(|w| self.book.aggregated(*w, now))
                .collect(),
            liquidation_tape: self.book.tape().cloned().collect(),
            usdt_krw_rates: [Venue::Upbit, Venue::Bithumb]
                .into_iter()
                .filter_map(|v| {
                    let s = self.usdt[v.index()].as_ref()?;
                    self.is_fresh(s, now).then_some((v, s.quote.price))
                })
                .collect(),
        }
    }

    /// The §6.0 liquidation summary with each venue's feed state.
    fn liquidation_summary(&self, now: Millis) -> LiquidationSummary {
        let mut summary = self.book.summary(now);
        for venue in LiqVenue::ALL {
            if let Some(h) = self.feeds.get(liquidation_feed_id(venue)) {
                summary.set_state(venue, h.state);
            }
        }
        summary
    }

    /// A row is a coin traded in KRW on a domestic venue (the table is about Korean markets).
    fn is_domestic_coin(&self, coin: &str, slots: &[Option<Stored>; 5]) -> bool {
        slots.iter().flatten().any(|s| s.quote.venue.is_domestic())
            || self.markets[Venue::Upbit.index()].contains_key(coin)
            || self.markets[Venue::Bithumb.index()].contains_key(coin)
    }

    #[expect(
        clippy::many_single_char_names,
        reason = "k, g, f, u are the formula's names (SPEC §5)"
    )]
    fn row(
        &self,
        coin: &str,
        slots: &[Option<Stored>; 5],
        f: Option<f64>,
        u: Option<f64>,
        now: Millis,
    ) -> CoinRow {
        let pair = self.cfg.pair;
        let mut prices = BTreeMap::new();
        for s in slots.iter().flatten() {
            let q = &s.quote;
            prices.insert(
                q.venue,
                VenuePrice {
                    price: q.price,
                    currency: q.currency,
                    change_percent: q.change_percent,
                    volume: q.volume,
                    age_ms: now - q.received_ms,
                    stale: !self.is_fresh(s, now),
                },
            );
        }
        let fresh = |v: Venue| {
            slots[v.index()]
                .as_ref()
                .filter(|s| self.is_fresh(s, now))
                .map(|s| s.quote.price)
        };
        let clash = self.cfg.symbols.is_clash(coin);
        let has_global = !clash && slots[pair.global.index()].is_some();
        let (k, g) = (fresh(pair.domestic), fresh(pair.global));
        let p = if has_global {
            premium::premiums(k, g, f, u)
        } else {
            premium::Premiums::default()
        };
        let mut flags = self.venue_flags(coin);
        if clash {
            flags.push("ticker_clash".into());
        }
        if !has_global {
            flags.push(self.missing_global_flag(clash, now).into());
        }
        if p.kimp
            .is_some_and(|k| k.abs() > self.cfg.mismatch_bound_percent)
        {
            flags.push("suspect:premium_bound".into());
        }
        let (name_ko, name_en) = self.names(coin);
        CoinRow {
            symbol: coin.to_string(),
            name_ko,
            name_en,
            prices,
            global_price_krw: p.global_price_krw,
            premium_percent: p.kimp,
            premium_usdt_percent: p.kimp_usdt,
            stale: has_global && (p.kimp.is_none() || p.kimp_usdt.is_none()),
            flags,
        }
    }

    /// Why a coin has no global quote. All-market streams push only the symbols that changed, so
    /// right after connecting a listed coin may simply not have arrived yet; once the global feed
    /// has been live for [`GLOBAL_LISTING_WINDOW_MS`] every listed symbol has changed at least once
    /// (the rolling 24 h window moves every minute) and a missing quote means no market.
    fn missing_global_flag(&self, clash: bool, now: Millis) -> &'static str {
        if clash {
            return "no_global_market";
        }
        let settled = self.venue_feed[self.cfg.pair.global.index()]
            .and_then(|f| self.feeds.get(f))
            .and_then(|h| h.live_since_ms.filter(|_| h.state == FeedState::Live))
            .is_some_and(|t| now - t >= GLOBAL_LISTING_WINDOW_MS);
        if settled {
            "no_global_market"
        } else {
            "awaiting_global_quote"
        }
    }

    /// Flags of the coin on every domestic venue, without duplicates.
    fn venue_flags(&self, coin: &str) -> Vec<String> {
        let mut flags: Vec<String> = Vec::new();
        for v in [Venue::Upbit, Venue::Bithumb] {
            for f in self.markets[v.index()]
                .get(coin)
                .map(|m| m.flags.as_slice())
                .unwrap_or_default()
            {
                if !flags.contains(f) {
                    flags.push(f.clone());
                }
            }
        }
        flags
    }

    /// Korean and English names, Upbit first, then Bithumb, then the bundled file.
    fn names(&self, coin: &str) -> (Option<String>, Option<String>) {
        let lists = [Venue::Upbit, Venue::Bithumb].map(|v| self.markets[v.index()].get(coin));
        let ko = lists.iter().flatten().find_map(|m| m.name_ko.clone());
        let en = lists.iter().flatten().find_map(|m| m.name_en.clone());
        // The bundled list fills what neither venue's list has (both unreachable, or a gap).
        crate::feed::names::or_bundled(coin, (ko, en))
    }
}

/// The §6.0 row of a feed's health as of `now`.
#[must_use]
pub fn feed_row(h: &FeedHealth, now: Millis) -> FeedRow {
    let skip = h.gaps.len().saturating_sub(SNAPSHOT_GAPS);
    FeedRow {
        feed: h.feed,
        state: h.state,
        age_ms: h.last_message_ms.map(|t| now - t),
        messages: h.messages,
        parse_errors: h.parse_errors,
        reconnects: h.reconnects,
        gap_ms: h.gap_ms(now),
        gaps: h.gaps.iter().skip(skip).copied().collect(),
        detail: h.detail.clone(),
        last_error: h.last_error.clone(),
    }
}
