//! SPEC §12 dashboard budget: one frame with 250 coins and a full liquidation tape at 200×60 on
//! ratatui's `TestBackend` after a new snapshot (every price moved), ≤ 1 ms; and the worst case, a
//! full redraw after a clear.
//!
//! Run with `cargo bench --bench tui`; `bench/run-all` reads the estimate criterion writes.
#![allow(clippy::unwrap_used, reason = "benchmark setup")]

use std::collections::BTreeSet;
use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use kimp::config::{Config, TuiConfig};
use kimp::feed::FeedMsg;
use kimp::model::{
    FeedId, FeedState, FxRate, FxSource, LiqVenue, Liquidation, MarketEvent, MarketInfo, Millis,
    Quote, Side, Venue,
};
use kimp::state::liquidations::TAPE_LEN;
use kimp::state::snapshot::Snapshot;
use kimp::state::{MarketState, StateConfig, liquidation_feed_id};
use kimp::tui::theme::Theme;
use kimp::tui::ui_state::UiState;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::layout::Rect;

const NOW: Millis = 1_790_640_000_000;
const COINS: usize = 250;
const WIDTH: u16 = 200;
const HEIGHT: u16 = 60;

/// The ticker feed of a venue (as the collectors name it).
fn ticker_feed(v: Venue) -> FeedId {
    match v {
        Venue::Upbit => kimp::feed::upbit::FEED_ID,
        Venue::Bithumb => kimp::feed::bithumb::FEED_ID,
        Venue::Binance => kimp::feed::binance::FEED_ID,
        Venue::Bybit => kimp::feed::bybit::FEED_ID,
        Venue::Okx => kimp::feed::okx::FEED_ID,
    }
}

fn events(state: &mut MarketState, feed: FeedId, events: Vec<MarketEvent>) {
    state.apply(FeedMsg::Events { feed, events }, NOW - 1_000);
}

fn quote(venue: Venue, base: &str, price: f64, volume: f64) -> MarketEvent {
    MarketEvent::Quote(Quote {
        venue,
        base: base.to_string(),
        currency: venue.currency(),
        price,
        change_percent: Some(1.25),
        volume: Some(volume),
        exchange_ms: Some(NOW - 1_000),
        received_ms: NOW - 1_000,
    })
}

fn liquidation(n: usize) -> Liquidation {
    let exchange = LiqVenue::ALL[n % 4];
    let ago = i64::try_from(n).unwrap() * 300;
    Liquidation {
        id: format!("{}:{n}", exchange.as_str()),
        exchange,
        symbol: format!("C{:03}USDT", n % COINS),
        base: format!("C{:03}", n % COINS),
        side: if n.is_multiple_of(3) {
            Side::Short
        } else {
            Side::Long
        },
        price: 100.0 + n as f64,
        quantity: 10.0,
        notional_usd: 1_000.0 * (n % 50 + 1) as f64,
        time_ms: NOW - ago,
        received_ms: NOW - ago,
    }
}

/// 250 coins quoted on all five venues with names, FX and USDT rates, and a full tape; `drift`
/// moves every price, so two snapshots differ in most cells as consecutive ones do.
fn snapshot(drift: f64) -> Snapshot {
    let mut state = MarketState::new(StateConfig::from_config(&Config::default()));
    for v in Venue::ALL {
        state.register_feed(ticker_feed(v), FeedState::Live, NOW - 60_000);
    }
    let names = (0..COINS)
        .map(|i| MarketInfo {
            venue: Venue::Upbit,
            base: format!("C{i:03}"),
            name_ko: Some(format!("코인{i}")),
            name_en: Some(format!("Coin number {i}")),
            flags: Vec::new(),
        })
        .collect();
    let markets = MarketEvent::Markets {
        venue: Venue::Upbit,
        markets: names,
    };
    events(&mut state, "upbit.markets", vec![markets]);
    for v in Venue::ALL {
        let mut quotes: Vec<MarketEvent> = (0..COINS)
            .map(|i| {
                let usd = (1.0 + i as f64) * (1.0 + drift);
                let price = if v.is_domestic() { usd * 1_420.0 } else { usd };
                quote(v, &format!("C{i:03}"), price, 1.0e9 / (1.0 + i as f64))
            })
            .collect();
        if v.is_domestic() {
            quotes.push(quote(v, "USDT", 1_402.0, 1.0e10));
        }
        events(&mut state, ticker_feed(v), quotes);
    }
    let fx = MarketEvent::Fx(FxRate {
        source: FxSource::Dunamu,
        krw_per_usd: 1_384.0,
        quoted_ms: NOW - 5_000,
        received_ms: NOW - 5_000,
    });
    events(&mut state, "fx.usdkrw", vec![fx]);
    for n in (0..TAPE_LEN).rev() {
        let liq = liquidation(n);
        let feed = liquidation_feed_id(liq.exchange);
        events(&mut state, feed, vec![MarketEvent::Liquidation(liq)]);
    }
    state.snapshot(NOW)
}

fn render_bench(c: &mut Criterion) {
    let snaps = [snapshot(0.0), snapshot(0.0123)];
    assert_eq!(snaps[0].coins.len(), COINS, "every coin has a row");
    let mut ui = UiState::new(&TuiConfig::default(), Theme::default(), BTreeSet::new());
    ui.screen = Rect::new(0, 0, WIDTH, HEIGHT);
    ui.refresh(&snaps[0]);
    let mut term = Terminal::new(TestBackend::new(WIDTH, HEIGHT)).unwrap();
    // What the dashboard does per new snapshot: refresh the view, draw every widget into a fresh
    // buffer, diff it against the previous frame and write the changed cells (most of them: every
    // price moved).
    let mut n = 0_usize;
    c.bench_function("tui/render_250_rows_200x60", |b| {
        b.iter(|| {
            n += 1;
            let snap = &snaps[n % 2];
            ui.refresh(snap);
            term.draw(|f| kimp::tui::draw(f, snap, &ui, NOW)).unwrap();
            black_box(term.backend().buffer().area);
        });
    });
    // The worst case: the terminal was cleared, so every one of the 12,000 cells is written.
    c.bench_function("tui/full_redraw_after_clear", |b| {
        b.iter(|| {
            term.clear().unwrap();
            term.draw(|f| kimp::tui::draw(f, &snaps[0], &ui, NOW))
                .unwrap();
            black_box(term.backend().buffer().area);
        });
    });
}

criterion_group!(benches, render_bench);
criterion_main!(benches);
