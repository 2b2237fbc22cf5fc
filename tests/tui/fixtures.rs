//! A deterministic market for the dashboard tests, built through the real `MarketState` at fixed
//! times: Korean names (one very long), venue caution/warning flags, a stale row, a coin with no
//! global market, a ticker clash (TON), every feed state, and a liquidation tape of every size tier.

use kimp::config::Config;
use kimp::feed::FeedMsg;
use kimp::model::{
    FearGreed, FeedId, FeedState, FxRate, FxSource, LiqVenue, Liquidation, MarketEvent, MarketInfo,
    Millis, Quote, Side, Venue,
};
use kimp::state::snapshot::Snapshot;
use kimp::state::{MarketState, StateConfig};

/// 2026-09-29 00:00:00 UTC = 09:00:00 KST.
pub const NOW: Millis = 1_790_640_000_000;

/// (symbol, 한글, English, Upbit KRW, 24h %, traded KRW, Binance USDT or none, venue flags)
type CoinSpec = (
    &'static str,
    &'static str,
    &'static str,
    f64,
    f64,
    f64,
    Option<f64>,
    &'static [&'static str],
);

const COINS: &[CoinSpec] = &[
    (
        "BTC",
        "비트코인",
        "Bitcoin",
        143_210_000.0,
        1.2,
        1.2e12,
        Some(101_234.5),
        &[],
    ),
    (
        "ETH",
        "이더리움",
        "Ethereum",
        4_810_000.0,
        1.18,
        1.552e11,
        Some(3_399.16),
        &[],
    ),
    (
        "XRP",
        "리플",
        "XRP",
        3_246.0,
        2.85,
        3.805e11,
        Some(2.2864),
        &[],
    ),
    (
        "SOL",
        "솔라나",
        "Solana",
        251_500.0,
        -6.66,
        7.8e10,
        Some(177.438),
        &[],
    ),
    (
        "DOGE",
        "도지코인",
        "Dogecoin",
        230.0,
        5.8,
        1.87e10,
        Some(0.1624),
        &["warning"],
    ),
    (
        "AXS",
        "엑시인피니티",
        "Axie Infinity",
        1_695.0,
        -1.17,
        1.7e9,
        Some(1.1469),
        &[
            "caution:GLOBAL_PRICE_DIFFERENCES",
            "caution:TRADING_VOLUME_SOARING",
        ],
    ),
    (
        "TON",
        "토카막네트워크",
        "Tokamak Network",
        2_010.0,
        0.4,
        2.1e9,
        Some(3.1),
        &[],
    ),
    (
        "KRWX",
        "국내전용코인",
        "Korea Only",
        512.0,
        -0.5,
        9.9e8,
        None,
        &[],
    ),
    (
        "MEME",
        "엄청나게긴이름을가진밈코인토큰",
        "An Extremely Long Meme Coin Name Token",
        0.0155,
        12.5,
        3.3e9,
        Some(0.000_011_1),
        &[],
    ),
    (
        "SHIB",
        "시바이누",
        "Shiba Inu",
        0.01279,
        -7.79,
        5.9e9,
        Some(0.000_009_02),
        &[],
    ),
];

fn status(state: &mut MarketState, feed: FeedId, s: FeedState, at: Millis) {
    let msg = FeedMsg::Status {
        feed,
        state: s,
        at_ms: at,
        detail: None,
    };
    state.apply(msg, at);
}

fn events(state: &mut MarketState, feed: FeedId, events: Vec<MarketEvent>, at: Millis) {
    state.apply(FeedMsg::Events { feed, events }, at);
}

pub fn quote(
    venue: Venue,
    base: &str,
    price: f64,
    change: f64,
    volume: f64,
    at: Millis,
) -> MarketEvent {
    MarketEvent::Quote(Quote {
        venue,
        base: base.into(),
        currency: venue.currency(),
        price,
        change_percent: Some(change),
        volume: Some(volume),
        exchange_ms: Some(at),
        received_ms: at,
    })
}

/// A liquidation `ago_ms` before [`NOW`].
#[must_use]
pub fn liquidation(
    n: usize,
    exchange: LiqVenue,
    base: &str,
    side: Side,
    usd: f64,
    price: f64,
    ago_ms: Millis,
) -> Liquidation {
    Liquidation {
        id: format!("{}:{n}", exchange.as_str()),
        exchange,
        symbol: format!("{base}USDT"),
        base: base.into(),
        side,
        price,
        quantity: usd / price,
        notional_usd: usd,
        time_ms: NOW - ago_ms,
        received_ms: NOW - ago_ms,
    }
}

fn feeds(state: &mut MarketState) {
    let t = NOW - 300_000;
    for (feed, s) in [
        ("upbit.markets", FeedState::Live),
        ("upbit.ticker", FeedState::Live),
        ("bithumb.ticker", FeedState::Live),
        ("bithumb.rest", FeedState::Disabled),
        ("binance.ticker", FeedState::Live),
        ("bybit.ticker", FeedState::Reconnecting),
        ("okx.ticker", FeedState::Down),
        ("fx.usdkrw", FeedState::Live),
        ("fear_greed", FeedState::Live),
        ("binance.liquidations", FeedState::Live),
        ("bybit.liquidations", FeedState::Quiet),
        ("okx.liquidations", FeedState::Live),
        ("bitmex.liquidations", FeedState::Reconnecting),
    ] {
        state.register_feed(feed, FeedState::Connecting, t - 1_000);
        status(state, feed, s, t);
    }
}

fn markets(state: &mut MarketState) {
    let infos = COINS
        .iter()
        .map(|c| MarketInfo {
            venue: Venue::Upbit,
            base: c.0.into(),
            name_ko: Some(c.1.into()),
            name_en: Some(c.2.into()),
            flags: c.7.iter().map(|f| (*f).to_string()).collect(),
        })
        .collect();
    let markets = MarketEvent::Markets {
        venue: Venue::Upbit,
        markets: infos,
    };
    events(state, "upbit.markets", vec![markets], NOW - 200_000);
}

/// The market state at [`NOW`] (feeds live for five minutes, quotes a second old).
#[must_use]
pub fn market() -> MarketState {
    let mut state = MarketState::new(StateConfig::from_config(&Config::default()));
    feeds(&mut state);
    markets(&mut state);
    // A quote from a feed that is not live, two minutes old: a stale row.
    let old = quote(Venue::Upbit, "OLD", 777.0, 0.0, 1.0e8, NOW - 120_000);
    events(&mut state, "upbit.rest", vec![old], NOW - 120_000);
    let old_global = quote(Venue::Binance, "OLD", 0.55, 0.0, 1.0e6, NOW - 1_000);
    events(&mut state, "binance.ticker", vec![old_global], NOW - 1_000);
    let at = NOW - 1_000;
    let mut upbit = vec![quote(Venue::Upbit, "USDT", 1_402.0, 0.1, 5.0e10, at)];
    let mut binance = Vec::new();
    for c in COINS {
        upbit.push(quote(Venue::Upbit, c.0, c.3, c.4, c.5, at));
        if let Some(g) = c.6 {
            binance.push(quote(Venue::Binance, c.0, g, c.4 + 0.3, c.5 / 1_400.0, at));
        }
    }
    events(&mut state, "upbit.ticker", upbit, at);
    events(&mut state, "binance.ticker", binance, at);
    let others = vec![
        quote(Venue::Bithumb, "BTC", 143_150_000.0, 1.1, 4.1e11, at),
        quote(Venue::Bithumb, "USDT", 1_401.0, 0.1, 1.0e10, at),
        quote(Venue::Bithumb, "ETH", 4_805_000.0, 1.0, 5.0e10, at),
    ];
    events(&mut state, "bithumb.ticker", others, at);
    events(
        &mut state,
        "bybit.ticker",
        vec![quote(Venue::Bybit, "BTC", 101_240.0, 1.3, 5.9e8, at)],
        at,
    );
    events(
        &mut state,
        "okx.ticker",
        vec![quote(Venue::Okx, "BTC", 101_230.0, 1.2, 6.0e8, at)],
        at,
    );
    let fx = MarketEvent::Fx(FxRate {
        source: FxSource::Dunamu,
        krw_per_usd: 1_384.2,
        quoted_ms: NOW - 12_000,
        received_ms: NOW - 2_000,
    });
    events(&mut state, "fx.usdkrw", vec![fx], NOW - 2_000);
    let fng = MarketEvent::FearGreed(FearGreed {
        value: 73,
        class: "Greed".into(),
        previous: Some(70),
        updated_ms: NOW - 3_600_000,
    });
    events(&mut state, "fear_greed", vec![fng], NOW - 5_000);
    tape(&mut state);
    state
}

/// (venue, coin, side, USD, price, seconds ago): every size tier, every venue.
const TAPE: [(LiqVenue, &str, Side, f64, f64, Millis); 8] = [
    (
        LiqVenue::Binance,
        "BTC",
        Side::Long,
        1_200_000.0,
        101_200.0,
        3,
    ),
    (LiqVenue::Bybit, "ETH", Side::Short, 84_000.0, 3_412.0, 5),
    (LiqVenue::Okx, "SOL", Side::Long, 150_000.0, 176.9, 9),
    (
        LiqVenue::Bitmex,
        "BTC",
        Side::Short,
        2_400_000.0,
        101_350.5,
        14,
    ),
    (LiqVenue::Binance, "DOGE", Side::Long, 640.0, 0.1621, 21),
    (LiqVenue::Bybit, "XRP", Side::Long, 12_500.0, 2.2834, 33),
    (LiqVenue::Binance, "PEPE", Side::Short, 3_300.0, 0.0111, 47),
    (LiqVenue::Okx, "ETH", Side::Short, 520_000.0, 3_405.2, 61),
];

fn tape(state: &mut MarketState) {
    // Oldest first, as they would have arrived.
    for (i, &(venue, coin, side, usd, price, secs)) in TAPE.iter().enumerate().rev() {
        let liq = liquidation(i + 1, venue, coin, side, usd, price, secs * 1_000);
        let feed = kimp::state::liquidation_feed_id(liq.exchange);
        let at = liq.received_ms;
        events(state, feed, vec![MarketEvent::Liquidation(liq)], at);
    }
}

/// The snapshot at [`NOW`].
#[must_use]
pub fn snapshot() -> Snapshot {
    market().snapshot(NOW)
}
