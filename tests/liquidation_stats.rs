//! The liquidation book: window edges and expiry, long/short split, totals, largest, de-dup, the
//! tape, the §6.0 summary JSON, the exchange × coin table, and bounded memory at a high rate.
#![allow(
    clippy::unwrap_used,
    reason = "test code: a failed unwrap is a failed test"
)]
#![allow(
    clippy::float_cmp,
    reason = "notionals are whole dollars, so every sum is exact"
)]

use kimp::model::{FeedState, LiqVenue, Liquidation, Millis, Side};
use kimp::state::liquidations::{
    COARSE_SLOTS, FINE_SLOTS, IDS_PER_VENUE, LiquidationBook, MAX_COINS, OTHER_COIN, TAPE_LEN,
    Window,
};
use rstest::rstest;
use serde_json::{Value, json};

/// Aligned to 10 s (and 1 s).
const NOW: Millis = 1_790_000_000_000;
const SEC: Millis = 1_000;
const MIN: Millis = 60 * SEC;
const HOUR: Millis = 60 * MIN;

fn liq(id: &str, exchange: LiqVenue, base: &str, side: Side, usd: f64, t: Millis) -> Liquidation {
    Liquidation {
        id: format!("{}:{id}", exchange.as_str()),
        exchange,
        symbol: format!("{base}USDT"),
        base: base.to_string(),
        side,
        price: 100.0,
        quantity: usd / 100.0,
        notional_usd: usd,
        time_ms: t,
        received_ms: t + 5,
    }
}

#[rstest]
#[case::m1_now(Window::M1, 0, true)]
#[case::m1_59s(Window::M1, 59 * SEC, true)]
#[case::m1_60s(Window::M1, 60 * SEC, true)]
#[case::m1_61s(Window::M1, 61 * SEC, false)]
#[case::m5_299s(Window::M5, 299 * SEC, true)]
#[case::m5_301s(Window::M5, 301 * SEC, false)]
#[case::h1_edge(Window::H1, HOUR, true)]
#[case::h1_past(Window::H1, HOUR + 10 * SEC, false)]
#[case::h4_edge(Window::H4, 4 * HOUR, true)]
#[case::h4_inside(Window::H4, 4 * HOUR - SEC, true)]
#[case::h4_past(Window::H4, 4 * HOUR + 10 * SEC, false)]
#[case::h24_edge(Window::H24, 24 * HOUR, true)]
#[case::h24_past(Window::H24, 24 * HOUR + 10 * SEC, false)]
fn window_edges(
    #[case] window: Window,
    #[case] age: Millis,
    #[case] inside: bool,
    #[values(true, false)] arrived_live: bool,
) {
    let mut book = LiquidationBook::new();
    let t = NOW - age;
    // Live: applied when it happened; otherwise applied late (a warm start replays at NOW).
    let applied_at = if arrived_live { t } else { NOW };
    assert!(book.apply(
        liq("1", LiqVenue::Bybit, "BTC", Side::Long, 1_000.0, t),
        applied_at
    ));
    let s = book.summary(NOW);
    let w = s.exchanges[&LiqVenue::Bybit].windows.get(window);
    assert_eq!(w.count, u64::from(inside), "{window:?} age {age}");
    assert_eq!(w.long_usd, if inside { 1_000.0 } else { 0.0 });
    assert_eq!(w.largest.is_some(), inside);
    assert_eq!(s.total.get(window).count, u64::from(inside));
}

#[test]
fn windows_expire_with_now() {
    let mut book = LiquidationBook::new();
    book.apply(liq("1", LiqVenue::Okx, "ETH", Side::Short, 500.0, NOW), NOW);
    let counts = |now: Millis| Window::ALL.map(|w| book.summary(now).total.get(w).count);
    assert_eq!(counts(NOW), [1, 1, 1, 1, 1]);
    assert_eq!(counts(NOW + 61 * SEC), [0, 1, 1, 1, 1]);
    assert_eq!(counts(NOW + 301 * SEC), [0, 0, 1, 1, 1]);
    assert_eq!(counts(NOW + HOUR + 10 * SEC), [0, 0, 0, 1, 1]);
    assert_eq!(counts(NOW + 4 * HOUR + 10 * SEC), [0, 0, 0, 0, 1]);
    assert_eq!(counts(NOW + 24 * HOUR + 10 * SEC), [0, 0, 0, 0, 0]);
    let s = book.summary(NOW + 24 * HOUR + 10 * SEC);
    assert!(s.total.h24.largest.is_none());
    assert_eq!(s.total.h24.short_usd, 0.0);
    // The tape and last event time are not windows: they stay.
    assert_eq!(book.recent(10, 0.0, None).len(), 1);
    assert_eq!(book.last_event_ms(LiqVenue::Okx), Some(NOW));
}

#[test]
fn long_and_short_are_split_by_side() {
    let mut book = LiquidationBook::new();
    let events = [
        (LiqVenue::Binance, Side::Long, 100.0),
        (LiqVenue::Binance, Side::Long, 250.0),
        (LiqVenue::Binance, Side::Short, 40.0),
        (LiqVenue::Bitmex, Side::Short, 7.0),
    ];
    for (i, (venue, side, usd)) in events.into_iter().enumerate() {
        book.apply(
            liq(&i.to_string(), venue, "BTC", side, usd, NOW - 1_000),
            NOW,
        );
    }
    let s = book.summary(NOW);
    let bin = &s.exchanges[&LiqVenue::Binance].windows.m1;
    assert_eq!((bin.long_usd, bin.short_usd, bin.count), (350.0, 40.0, 3));
    let bmx = &s.exchanges[&LiqVenue::Bitmex].windows.h24;
    assert_eq!((bmx.long_usd, bmx.short_usd, bmx.count), (0.0, 7.0, 1));
    assert_eq!((s.total.m5.long_usd, s.total.m5.short_usd), (350.0, 47.0));
}

#[test]
fn total_is_the_sum_of_the_venues() {
    let mut book = LiquidationBook::new();
    for i in 0..5_000_i64 {
        let venue = LiqVenue::ALL[usize::try_from(i % 4).unwrap()];
        let side = if i % 3 == 0 { Side::Short } else { Side::Long };
        let t = NOW - 26 * HOUR + i * 19_000; // ~26 h of events, some already expired
        let usd = f64::from(u32::try_from(i % 977).unwrap() + 1);
        book.apply(liq(&i.to_string(), venue, "BTC", side, usd, t), t);
    }
    let s = book.summary(NOW);
    for w in Window::ALL {
        let venues: Vec<_> = s.exchanges.values().map(|v| v.windows.get(w)).collect();
        let total = s.total.get(w);
        assert_eq!(total.count, venues.iter().map(|v| v.count).sum::<u64>());
        assert_eq!(
            total.long_usd,
            venues.iter().map(|v| v.long_usd).sum::<f64>()
        );
        assert_eq!(
            total.short_usd,
            venues.iter().map(|v| v.short_usd).sum::<f64>()
        );
        let max = venues
            .iter()
            .filter_map(|v| v.largest.as_ref())
            .map(|l| l.notional_usd)
            .fold(None, |m: Option<f64>, x| Some(m.map_or(x, |m| m.max(x))));
        assert_eq!(total.largest.as_ref().map(|l| l.notional_usd), max, "{w:?}");
    }
    assert!(s.total.h24.count > 0 && s.total.h24.count < 5_000);
}

#[test]
fn largest_per_window() {
    let mut book = LiquidationBook::new();
    let big = liq(
        "big",
        LiqVenue::Bybit,
        "BTC",
        Side::Long,
        1_000_000.0,
        NOW - 30 * MIN,
    );
    let mid = liq(
        "mid",
        LiqVenue::Bybit,
        "ETH",
        Side::Short,
        50_000.0,
        NOW - 3 * MIN,
    );
    let small = liq(
        "small",
        LiqVenue::Bybit,
        "SOL",
        Side::Long,
        900.0,
        NOW - 10 * SEC,
    );
    for l in [&big, &mid, &small] {
        book.apply(l.clone(), l.time_ms);
    }
    let id = |now: Millis, w: Window| {
        book.summary(now)
            .total
            .get(w)
            .largest
            .as_ref()
            .map(|l| l.id.clone())
    };
    assert_eq!(id(NOW, Window::M1), Some(small.id.clone()));
    assert_eq!(id(NOW, Window::M5), Some(mid.id.clone()));
    assert_eq!(id(NOW, Window::H1), Some(big.id.clone()));
    assert_eq!(id(NOW, Window::H24), Some(big.id.clone()));
    // The big one leaves the 1 h window; the next biggest inside takes over.
    assert_eq!(id(NOW + 31 * MIN, Window::H1), Some(mid.id.clone()));
    assert_eq!(id(NOW + 31 * MIN, Window::H4), Some(big.id.clone()));
    // The largest is the whole §6.0 event.
    let s = book.summary(NOW);
    assert_eq!(s.total.h1.largest.as_ref(), Some(&big));
}

#[test]
fn largest_survives_out_of_order_arrival() {
    let mut book = LiquidationBook::new();
    // A batch arrives late: the small recent event first, then the older big ones.
    book.apply(
        liq("a", LiqVenue::Okx, "BTC", Side::Long, 10.0, NOW - 20 * SEC),
        NOW,
    );
    book.apply(
        liq(
            "b",
            LiqVenue::Okx,
            "BTC",
            Side::Long,
            5_000.0,
            NOW - 50 * MIN,
        ),
        NOW,
    );
    book.apply(
        liq("c", LiqVenue::Okx, "BTC", Side::Long, 700.0, NOW - 40 * MIN),
        NOW,
    );
    let l = |now: Millis, w: Window| {
        book.summary(now)
            .total
            .get(w)
            .largest
            .as_ref()
            .map(|l| l.notional_usd)
    };
    assert_eq!(l(NOW, Window::H1), Some(5_000.0));
    assert_eq!(l(NOW + 15 * MIN, Window::H1), Some(700.0));
    assert_eq!(l(NOW + 30 * MIN, Window::H1), Some(10.0));
    assert_eq!(l(NOW, Window::M1), Some(10.0));
}

#[test]
fn sums_read_between_arrivals_include_late_events() {
    // Summaries are read several times a second; a late event into a past bucket, a new bucket
    // and a clock that moves on must all show in the next read.
    let mut book = LiquidationBook::new();
    let h24 = |book: &LiquidationBook, now: Millis| {
        let w = book.summary(now).total.h24;
        (w.count, w.long_usd)
    };
    book.apply(
        liq("a", LiqVenue::Bybit, "BTC", Side::Long, 100.0, NOW),
        NOW,
    );
    assert_eq!(h24(&book, NOW), (1, 100.0));
    book.apply(
        liq(
            "b",
            LiqVenue::Bybit,
            "BTC",
            Side::Long,
            20.0,
            NOW - 2 * HOUR,
        ),
        NOW,
    );
    assert_eq!(h24(&book, NOW), (2, 120.0));
    assert_eq!(book.summary(NOW).total.h1.count, 1);
    book.apply(
        liq("c", LiqVenue::Bybit, "BTC", Side::Long, 3.0, NOW + 20 * SEC),
        NOW + 20 * SEC,
    );
    assert_eq!(h24(&book, NOW + 20 * SEC), (3, 123.0));
    assert_eq!(h24(&book, NOW + 24 * HOUR + 10 * SEC), (1, 3.0));
    let clone = book.clone();
    assert_eq!(h24(&clone, NOW + 20 * SEC), (3, 123.0));
}

#[test]
fn duplicates_and_unusable_events_are_refused() {
    let mut book = LiquidationBook::new();
    let e = liq("1", LiqVenue::Bitmex, "BTC", Side::Long, 10.0, NOW);
    assert!(book.apply(e.clone(), NOW));
    assert!(!book.apply(e.clone(), NOW + 5));
    let mut nan = liq("2", LiqVenue::Bitmex, "BTC", Side::Long, 0.0, NOW);
    nan.notional_usd = f64::NAN;
    assert!(!book.apply(nan, NOW));
    assert_eq!((book.applied(), book.rejected()), (1, 2));
    assert_eq!(book.summary(NOW).total.m1.count, 1);
    assert_eq!(book.recent(10, 0.0, None).len(), 1);
    // A busy venue does not evict a quiet venue's ids.
    for i in 0..2 * IDS_PER_VENUE {
        book.apply(
            liq(&i.to_string(), LiqVenue::Bybit, "X", Side::Long, 1.0, NOW),
            NOW,
        );
    }
    assert!(!book.apply(e, NOW));
    // The memory is bounded: the oldest ids of a venue are forgotten.
    assert!(book.apply(liq("0", LiqVenue::Bybit, "X", Side::Long, 1.0, NOW), NOW));
}

#[rstest]
#[case::all(100, 0.0, None, &["5", "4", "3", "2", "1", "0"])]
#[case::limit(2, 0.0, None, &["5", "4"])]
#[case::min_usd(100, 300.0, None, &["5", "3"])]
#[case::exchange(100, 0.0, Some(LiqVenue::Okx), &["4", "1"])]
#[case::all_filters(1, 100.0, Some(LiqVenue::Okx), &["4"])]
fn tape_is_newest_first_and_filtered(
    #[case] limit: usize,
    #[case] min_usd: f64,
    #[case] exchange: Option<LiqVenue>,
    #[case] want: &[&str],
) {
    let mut book = LiquidationBook::new();
    let sizes = [50.0, 60.0, 70.0, 300.0, 200.0, 900.0];
    for (i, usd) in sizes.into_iter().enumerate() {
        let venue = if i % 3 == 1 {
            LiqVenue::Okx
        } else {
            LiqVenue::Binance
        };
        let t = NOW + Millis::try_from(i).unwrap();
        book.apply(liq(&i.to_string(), venue, "BTC", Side::Long, usd, t), t);
    }
    let got: Vec<&str> = book
        .recent(limit, min_usd, exchange)
        .iter()
        .map(|l| l.id.split(':').nth(1).unwrap())
        .collect();
    assert_eq!(got, want);
}

#[test]
fn tape_keeps_the_last_n() {
    let mut book = LiquidationBook::new();
    for i in 0..TAPE_LEN + 500 {
        book.apply(
            liq(&i.to_string(), LiqVenue::Bybit, "BTC", Side::Long, 1.0, NOW),
            NOW,
        );
    }
    let tape = book.recent(usize::MAX, 0.0, None);
    assert_eq!(tape.len(), TAPE_LEN);
    assert_eq!(tape[0].id, format!("bybit:{}", TAPE_LEN + 499));
    assert_eq!(tape[TAPE_LEN - 1].id, "bybit:500");
}

fn window_json(long: f64, short: f64, count: u64, largest: &Value) -> Value {
    json!({"long_usd": long, "short_usd": short, "count": count, "largest": largest})
}

fn windows_json(w: [Value; 5]) -> Value {
    let [m1, m5, h1, h4, h24] = w;
    json!({"1m": m1, "5m": m5, "1h": h1, "4h": h4, "24h": h24})
}

#[test]
fn summary_json_has_every_venue_with_its_coverage() {
    let mut book = LiquidationBook::new();
    let a = liq(
        "a",
        LiqVenue::Binance,
        "BTC",
        Side::Long,
        1_200.0,
        NOW - 10 * SEC,
    );
    let b = liq(
        "b",
        LiqVenue::Bybit,
        "ETH",
        Side::Short,
        300.0,
        NOW - 2 * HOUR,
    );
    book.apply(a.clone(), a.time_ms);
    book.apply(b.clone(), b.time_ms);
    let mut summary = book.summary(NOW);
    summary.set_state(LiqVenue::Binance, FeedState::Live);
    summary.set_state(LiqVenue::Okx, FeedState::Reconnecting);

    let ev_a = json!({"id": "binance:a", "exchange": "binance", "symbol": "BTCUSDT", "base": "BTC",
        "side": "long", "price": 100.0, "quantity": 12.0, "notional_usd": 1200.0,
        "time_ms": NOW - 10 * SEC});
    let ev_b = json!({"id": "bybit:b", "exchange": "bybit", "symbol": "ETHUSDT", "base": "ETH",
        "side": "short", "price": 100.0, "quantity": 3.0, "notional_usd": 300.0,
        "time_ms": NOW - 2 * HOUR});
    let zero = window_json(0.0, 0.0, 0, &Value::Null);
    let a_in = window_json(1_200.0, 0.0, 1, &ev_a);
    let b_in = window_json(0.0, 300.0, 1, &ev_b);
    let empty = windows_json([(); 5].map(|()| zero.clone()));
    let venue = |coverage: &str, state: Value, last: Value, w: &Value| {
        let mut v = json!({"coverage": coverage, "state": state, "last_event_ms": last});
        v.as_object_mut()
            .unwrap()
            .extend(w.as_object().unwrap().clone());
        v
    };
    let binance_w = windows_json([(); 5].map(|()| a_in.clone()));
    let bybit_w = windows_json([
        zero.clone(),
        zero.clone(),
        zero.clone(),
        b_in.clone(),
        b_in.clone(),
    ]);
    let total_b = window_json(1_200.0, 300.0, 2, &ev_a);
    let expected = json!({
        "total": windows_json([a_in.clone(), a_in.clone(), a_in.clone(), total_b.clone(), total_b]),
        "exchanges": {
            "binance": venue("sampled", json!("live"), json!(NOW - 10 * SEC), &binance_w),
            "bybit": venue("complete", Value::Null, json!(NOW - 2 * HOUR), &bybit_w),
            "okx": venue("partial", json!("reconnecting"), Value::Null, &empty),
            "bitmex": venue("complete", Value::Null, Value::Null, &empty),
        }
    });
    assert_eq!(serde_json::to_value(&summary).unwrap(), expected);
    // Key order follows SPEC §6.0: total first, venues in LiqVenue::ALL order.
    let text = serde_json::to_string(&summary).unwrap();
    let pos = |k: &str| text.find(k).unwrap();
    assert!(pos("\"total\"") < pos("\"exchanges\""));
    assert!(pos("\"binance\":{") < pos("\"bybit\":{") && pos("\"okx\":{") < pos("\"bitmex\":{"));
}

#[test]
fn empty_book_summary_lists_all_venues() {
    let summary = LiquidationBook::new().summary(NOW);
    let v = serde_json::to_value(&summary).unwrap();
    let names: Vec<&str> = v["exchanges"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(names.len(), LiqVenue::ALL.len());
    for venue in LiqVenue::ALL {
        let e = &v["exchanges"][venue.as_str()];
        assert_eq!(e["coverage"], json!(venue.coverage()));
        for w in Window::ALL {
            assert_eq!(e[w.as_str()], window_json(0.0, 0.0, 0, &Value::Null));
        }
    }
}

#[test]
fn aggregated_by_exchange_and_coin() {
    let mut book = LiquidationBook::new();
    let events = [
        (
            "1",
            LiqVenue::Binance,
            "BTC",
            Side::Long,
            100.0,
            NOW - 10 * MIN,
        ),
        (
            "2",
            LiqVenue::Binance,
            "BTC",
            Side::Short,
            50.0,
            NOW - 20 * MIN,
        ),
        (
            "3",
            LiqVenue::Binance,
            "ETH",
            Side::Long,
            30.0,
            NOW - 30 * MIN,
        ),
        (
            "4",
            LiqVenue::Bybit,
            "BTC",
            Side::Long,
            400.0,
            NOW - 40 * MIN,
        ),
        (
            "5",
            LiqVenue::Bybit,
            "BTC",
            Side::Long,
            1_000.0,
            NOW - 3 * HOUR,
        ),
        ("6", LiqVenue::Okx, "SOL", Side::Short, 9.0, NOW - 20 * HOUR),
    ];
    for (id, venue, base, side, usd, t) in events {
        book.apply(liq(id, venue, base, side, usd, t), t);
    }
    let rows = |w: Window| {
        book.aggregated(w, NOW)
            .rows
            .iter()
            .map(|r| (r.exchange, r.coin.clone(), r.long_usd, r.short_usd, r.count))
            .collect::<Vec<_>>()
    };
    let s = |c: &str| c.to_string();
    assert_eq!(
        rows(Window::H1),
        vec![
            (LiqVenue::Bybit, s("BTC"), 400.0, 0.0, 1),
            (LiqVenue::Binance, s("BTC"), 100.0, 50.0, 2),
            (LiqVenue::Binance, s("ETH"), 30.0, 0.0, 1),
        ]
    );
    assert_eq!(
        rows(Window::H4)[0],
        (LiqVenue::Bybit, s("BTC"), 1_400.0, 0.0, 2)
    );
    assert_eq!(rows(Window::H24).len(), 4);
    assert_eq!(rows(Window::H24)[3], (LiqVenue::Okx, s("SOL"), 0.0, 9.0, 1));
    let json = serde_json::to_value(book.aggregated(Window::H1, NOW)).unwrap();
    assert_eq!(json["window"], "1h");
    assert_eq!(
        json["rows"][0],
        json!({"exchange": "bybit", "coin": "BTC", "long_usd": 400.0, "short_usd": 0.0, "count": 1})
    );
}

#[test]
fn aggregated_caps_coins_into_other() {
    let mut book = LiquidationBook::new();
    let coins = MAX_COINS + 72;
    for i in 0..coins {
        let t = NOW - Millis::try_from(i).unwrap();
        book.apply(
            liq(
                &i.to_string(),
                LiqVenue::Bybit,
                &format!("C{i}"),
                Side::Long,
                10.0,
                t,
            ),
            NOW,
        );
    }
    let agg = book.aggregated(Window::H1, NOW);
    assert_eq!(agg.rows.len(), MAX_COINS + 1);
    let other = agg.rows.iter().find(|r| r.coin == OTHER_COIN).unwrap();
    assert_eq!((other.count, other.long_usd), (72, 720.0));
    let total: f64 = agg.rows.iter().map(|r| r.long_usd).sum();
    assert_eq!(total, 10.0 * f64::from(u32::try_from(coins).unwrap()));
    assert_eq!(book.sizes().coins, MAX_COINS);
    // After 24 h of quiet, new coins get lines again (old lines are recycled).
    let later = NOW + 25 * HOUR;
    book.apply(
        liq("new", LiqVenue::Okx, "NEW", Side::Short, 5.0, later),
        later,
    );
    let agg = book.aggregated(Window::H24, later);
    assert_eq!(agg.rows.len(), 1);
    assert_eq!(agg.rows[0].coin, "NEW");
}

/// One million events over 24 h of simulated time (≈ 11.6 events/s, 4 venues, 60 coins): every
/// structure stays within its constant bound, and the totals are exact.
#[test]
fn memory_is_bounded_and_totals_exact_at_a_million_events() {
    const N: i64 = 1_000_000;
    let t0: Millis = 1_789_999_800_000; // aligned to 5 min
    let step = 24 * HOUR / N; // 86 ms
    let mut book = LiquidationBook::new();
    let (mut sum, mut count) = (0.0_f64, 0_u64);
    let mut footprint_at_100k = 0;
    let mut last = t0;
    for i in 0..N {
        let t = t0 + i * step;
        let venue = LiqVenue::ALL[usize::try_from(i % 4).unwrap()];
        let side = if i % 2 == 0 { Side::Long } else { Side::Short };
        let usd = f64::from(u32::try_from((i * 7_919) % 100_000).unwrap() + 1);
        let base = format!("C{}", i % 60);
        assert!(book.apply(liq(&i.to_string(), venue, &base, side, usd, t), t));
        sum += usd;
        count += 1;
        last = t;
        if i == 100_000 {
            footprint_at_100k = book.memory_footprint();
        }
    }
    let s = book.summary(last);
    assert_eq!(s.total.h24.count, count);
    assert_eq!(s.total.h24.long_usd + s.total.h24.short_usd, sum);
    let agg = book.aggregated(Window::H24, last);
    assert_eq!(agg.rows.iter().map(|r| r.count).sum::<u64>(), count);
    assert_eq!(
        agg.rows
            .iter()
            .map(|r| r.long_usd + r.short_usd)
            .sum::<f64>(),
        sum
    );
    // The 1m window is exact at its 1 s bucket edge.
    let edge = (last - MIN).div_euclid(SEC) * SEC;
    let first_in = (edge - t0 + step - 1) / step;
    assert_eq!(s.total.m1.count, u64::try_from(N - first_in).unwrap());

    let sizes = book.sizes();
    assert_eq!(sizes.tape, TAPE_LEN);
    assert!(sizes.ids <= 4 * IDS_PER_VENUE);
    assert_eq!(sizes.buckets_per_venue, FINE_SLOTS + COARSE_SLOTS);
    assert!(sizes.peaks <= 4 * COARSE_SLOTS);
    assert!(sizes.coin_cells <= 289 * 4 * (MAX_COINS + 1));
    let footprint = book.memory_footprint();
    eprintln!("sizes {sizes:?}; footprint {footprint} B (at 100k events: {footprint_at_100k} B)");
    assert!(footprint < 6 * 1024 * 1024, "{footprint} bytes");
    // Ten times the events, about the same memory.
    assert!(
        footprint < footprint_at_100k * 2,
        "{footprint} vs {footprint_at_100k}"
    );
}
