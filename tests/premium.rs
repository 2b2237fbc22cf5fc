//! Premium math and freshness, as tables (SPEC §5, exchanges.md §11).
#![allow(
    clippy::unwrap_used,
    reason = "test code: a failed unwrap is a failed test"
)]
#![allow(
    clippy::float_cmp,
    reason = "stored prices are compared as given, not computed"
)]

use kimp::config::Config;
use kimp::feed::FeedMsg;
use kimp::model::{Currency, FeedState, FxRate, FxSource, MarketEvent, MarketInfo, Quote, Venue};
use kimp::state::premium::{kimp, kimp_usdt, premiums, tether_premium};
use kimp::state::snapshot::Pair;
use kimp::state::{MarketState, StateConfig};
use rstest::rstest;

const NOW: i64 = 1_790_000_000_000;

fn close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol
}

/// exchanges.md §11's worked example.
#[test]
fn worked_example_from_the_reference() {
    let (k, g, f, u) = (143_210_000.0, 101_234.5, 1_384.2, 1_402.0);
    assert!(close(kimp(k, g, f).unwrap(), 2.199, 0.001));
    assert!(close(kimp_usdt(k, g, u).unwrap(), 0.901, 0.001));
    assert!(close(tether_premium(u, f).unwrap(), 1.286, 0.001));
}

#[rstest]
#[case(143_210_000.0, 101_234.5, 1_384.2, 1_402.0)]
#[case(50.0, 0.036, 1_380.0, 1_395.5)]
#[case(1_000.0, 1.0, 1_500.0, 1_300.0)]
#[case(0.012_3, 0.000_008_9, 1_384.2, 1_420.0)]
fn identity_holds(#[case] k: f64, #[case] g: f64, #[case] f: f64, #[case] u: f64) {
    let lhs = 1.0 + kimp(k, g, f).unwrap() / 100.0;
    let rhs =
        (1.0 + kimp_usdt(k, g, u).unwrap() / 100.0) * (1.0 + tether_premium(u, f).unwrap() / 100.0);
    assert!(close(lhs, rhs, 1e-12), "{lhs} vs {rhs}");
}

#[rstest]
#[case::all_legs(Some(100.0), Some(0.07), Some(1400.0), Some(1420.0), true, true)]
#[case::no_fx(Some(100.0), Some(0.07), None, Some(1420.0), false, true)]
#[case::no_usdt(Some(100.0), Some(0.07), Some(1400.0), None, true, false)]
#[case::no_global(Some(100.0), None, Some(1400.0), Some(1420.0), false, false)]
#[case::no_domestic(None, Some(0.07), Some(1400.0), Some(1420.0), false, false)]
#[case::zero_price(Some(0.0), Some(0.07), Some(1400.0), Some(1420.0), false, false)]
fn each_figure_needs_its_own_legs(
    #[case] k: Option<f64>,
    #[case] g: Option<f64>,
    #[case] f: Option<f64>,
    #[case] u: Option<f64>,
    #[case] has_kimp: bool,
    #[case] has_kimp_usdt: bool,
) {
    let p = premiums(k, g, f, u);
    assert_eq!(p.kimp.is_some(), has_kimp);
    assert_eq!(p.kimp_usdt.is_some(), has_kimp_usdt);
}

fn quote(venue: Venue, base: &str, price: f64, received_ms: i64) -> MarketEvent {
    MarketEvent::Quote(Quote {
        venue,
        base: base.into(),
        currency: venue.currency(),
        price,
        change_percent: Some(1.0),
        volume: Some(1e9),
        exchange_ms: Some(received_ms),
        received_ms,
    })
}

fn fx(rate: f64, quoted_ms: i64) -> MarketEvent {
    MarketEvent::Fx(FxRate {
        source: FxSource::Dunamu,
        krw_per_usd: rate,
        quoted_ms,
        received_ms: quoted_ms,
    })
}

fn events(feed: &'static str, events: Vec<MarketEvent>) -> FeedMsg {
    FeedMsg::Events { feed, events }
}

/// A state with BTC on both venues, USDT/KRW and FX, all received at `t`.
fn state_at(t: i64) -> MarketState {
    let mut s = MarketState::new(StateConfig::from_config(&Config::default()));
    s.apply(
        events(
            "upbit.ticker",
            vec![
                quote(Venue::Upbit, "BTC", 143_210_000.0, t),
                quote(Venue::Upbit, "USDT", 1_402.0, t),
            ],
        ),
        t,
    );
    s.apply(
        events(
            "binance.ticker",
            vec![quote(Venue::Binance, "BTC", 101_234.5, t)],
        ),
        t,
    );
    s.apply(events("fx.usdkrw", vec![fx(1_384.2, t)]), t);
    s
}

#[test]
fn snapshot_computes_both_premiums_from_fresh_legs() {
    let snap = state_at(NOW).snapshot(NOW + 1_000);
    let btc = snap.coin("BTC").expect("BTC row");
    assert!(close(btc.premium_percent.unwrap(), 2.199, 0.001));
    assert!(close(btc.premium_usdt_percent.unwrap(), 0.901, 0.001));
    assert!(close(btc.global_price_krw.unwrap(), 140_128_794.9, 0.1));
    assert!(!btc.stale);
    assert!(close(snap.tether_premium_percent.unwrap(), 1.286, 0.001));
    assert_eq!(snap.usdt_krw_rate, Some(1_402.0));
    assert_eq!(btc.prices[&Venue::Upbit].currency, Currency::Krw);
    assert!(
        snap.coin("USDT").is_none(),
        "KRW-USDT is the rate, not a coin row"
    );
}

#[test]
fn stale_leg_gives_null_and_stale_flag() {
    // 31 s later, no feed reported live: quotes are older than the 30 s limit.
    let snap = state_at(NOW).snapshot(NOW + 31_000);
    let btc = snap.coin("BTC").unwrap();
    assert_eq!(btc.premium_percent, None);
    assert_eq!(btc.premium_usdt_percent, None);
    assert!(btc.stale);
    assert!(btc.prices[&Venue::Upbit].stale);
    // The row still shows the last prices, marked stale.
    assert_eq!(btc.prices[&Venue::Upbit].price, 143_210_000.0);
}

#[test]
fn old_quote_stays_fresh_while_its_feed_is_continuously_live() {
    let mut s = MarketState::new(StateConfig::from_config(&Config::default()));
    for feed in ["upbit.ticker", "binance.ticker"] {
        s.apply(
            FeedMsg::Status {
                feed,
                state: FeedState::Live,
                at_ms: NOW - 1,
                detail: None,
            },
            NOW,
        );
    }
    s.apply(
        events(
            "upbit.ticker",
            vec![
                quote(Venue::Upbit, "BTC", 143_210_000.0, NOW),
                quote(Venue::Upbit, "USDT", 1_402.0, NOW),
            ],
        ),
        NOW,
    );
    s.apply(
        events(
            "binance.ticker",
            vec![quote(Venue::Binance, "BTC", 101_234.5, NOW)],
        ),
        NOW,
    );
    s.apply(events("fx.usdkrw", vec![fx(1_384.2, NOW)]), NOW);
    let later = NOW + 120_000;
    assert!(
        s.snapshot(later)
            .coin("BTC")
            .unwrap()
            .premium_percent
            .is_some()
    );
    // Once the feed drops, the old quote is stale.
    s.apply(
        FeedMsg::Status {
            feed: "binance.ticker",
            state: FeedState::Reconnecting,
            at_ms: later,
            detail: None,
        },
        later,
    );
    let btc = s.snapshot(later).coin("BTC").unwrap().clone();
    assert_eq!(btc.premium_percent, None);
    assert!(btc.stale);
}

#[test]
fn missing_or_stale_fx_nulls_kimp_but_not_kimp_usdt() {
    let mut s = MarketState::new(StateConfig::from_config(&Config::default()));
    s.apply(
        events(
            "upbit.ticker",
            vec![
                quote(Venue::Upbit, "BTC", 143_210_000.0, NOW),
                quote(Venue::Upbit, "USDT", 1_402.0, NOW),
            ],
        ),
        NOW,
    );
    s.apply(
        events(
            "binance.ticker",
            vec![quote(Venue::Binance, "BTC", 101_234.5, NOW)],
        ),
        NOW,
    );
    let snap = s.snapshot(NOW);
    let btc = snap.coin("BTC").unwrap();
    assert_eq!(btc.premium_percent, None);
    assert!(btc.premium_usdt_percent.is_some());
    assert!(
        btc.stale,
        "a premium that cannot be computed is marked stale"
    );
    assert_eq!(snap.exchange_rate, None);
    assert!(snap.fx.is_none());
    // An FX value older than its source's limit is reported and not used.
    let four_days = 4 * 86_400_000;
    s.apply(events("fx.usdkrw", vec![fx(1_384.2, NOW - four_days)]), NOW);
    let snap = s.snapshot(NOW);
    assert_eq!(snap.exchange_rate, None);
    assert!(snap.fx.unwrap().stale);
    assert_eq!(snap.coin("BTC").unwrap().premium_percent, None);
}

#[test]
fn aliases_convert_price_and_clashes_are_never_compared() {
    let mut s = state_at(NOW);
    s.apply(
        events(
            "upbit.ticker",
            vec![
                quote(Venue::Upbit, "PEPE", 0.0155, NOW),
                quote(Venue::Upbit, "TON", 3_000.0, NOW),
            ],
        ),
        NOW,
    );
    s.apply(
        events(
            "binance.ticker",
            vec![
                quote(Venue::Binance, "1000PEPE", 0.011, NOW),
                quote(Venue::Binance, "TON", 5.5, NOW),
            ],
        ),
        NOW,
    );
    let snap = s.snapshot(NOW);
    let pepe = snap.coin("PEPE").unwrap();
    assert!(close(pepe.prices[&Venue::Binance].price, 0.000_011, 1e-12));
    let expected = (0.0155 / (0.000_011 * 1_384.2) - 1.0) * 100.0;
    assert!(close(pepe.premium_percent.unwrap(), expected, 1e-9));
    let ton = snap.coin("TON").unwrap();
    assert_eq!(ton.premium_percent, None);
    assert!(
        !ton.prices.contains_key(&Venue::Binance),
        "Binance TON is another coin"
    );
    assert!(ton.flags.contains(&"ticker_clash".to_string()));
    assert!(ton.flags.contains(&"no_global_market".to_string()));
    assert!(!ton.stale, "no global market is not staleness");
}

#[test]
fn coins_without_global_market_are_marked_and_venue_flags_kept() {
    let mut s = state_at(NOW);
    s.apply(
        events("upbit.ticker", vec![quote(Venue::Upbit, "MED", 12.0, NOW)]),
        NOW,
    );
    let markets = vec![MarketInfo {
        venue: Venue::Upbit,
        base: "MED".into(),
        name_ko: Some("메디블록".into()),
        name_en: Some("Medibloc".into()),
        flags: vec!["caution:GLOBAL_PRICE_DIFFERENCES".into()],
    }];
    s.apply(
        events(
            "upbit.markets",
            vec![MarketEvent::Markets {
                venue: Venue::Upbit,
                markets,
            }],
        ),
        NOW,
    );
    // The global feed only just went live: the quote may simply not have arrived yet.
    let live = |at| FeedMsg::Status {
        feed: "binance.ticker",
        state: FeedState::Live,
        at_ms: at,
        detail: None,
    };
    s.apply(live(NOW - 5_000), NOW);
    let snap = s.snapshot(NOW);
    let med = snap.coin("MED").unwrap();
    assert_eq!(med.name_ko.as_deref(), Some("메디블록"));
    assert_eq!(med.premium_percent, None);
    assert_eq!(
        med.flags,
        vec![
            "caution:GLOBAL_PRICE_DIFFERENCES".to_string(),
            "awaiting_global_quote".to_string()
        ]
    );
    // After a minute of live all-market data without a MED quote, there is no MED market.
    let later = NOW + 60_000;
    let snap = s.snapshot(later);
    let med = snap.coin("MED").unwrap();
    assert_eq!(
        med.flags,
        vec![
            "caution:GLOBAL_PRICE_DIFFERENCES".to_string(),
            "no_global_market".to_string()
        ]
    );
    assert!(!med.stale);
}

#[test]
fn premium_beyond_the_bound_is_flagged_suspect() {
    let mut s = state_at(NOW);
    s.apply(
        events(
            "upbit.ticker",
            vec![quote(Venue::Upbit, "ABC", 2_000.0, NOW)],
        ),
        NOW,
    );
    s.apply(
        events(
            "binance.ticker",
            vec![quote(Venue::Binance, "ABC", 1.0, NOW)],
        ),
        NOW,
    );
    let abc = s.snapshot(NOW).coin("ABC").unwrap().clone();
    assert!(abc.premium_percent.unwrap() > 30.0);
    assert!(abc.flags.contains(&"suspect:premium_bound".to_string()));
}

#[test]
fn pair_selection_uses_the_chosen_domestic_usdt_rate() {
    let mut s = state_at(NOW);
    s.set_pair(Pair {
        domestic: Venue::Bithumb,
        global: Venue::Binance,
    });
    let snap = s.snapshot(NOW);
    assert_eq!(snap.usdt_krw_rate, None, "no Bithumb KRW-USDT yet");
    assert_eq!(
        snap.coin("BTC").unwrap().premium_percent,
        None,
        "no Bithumb BTC quote"
    );
}
