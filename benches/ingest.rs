//! SPEC §12 ingest budgets: per venue, parse + normalise + apply + premium recompute of every frame
//! next to a bare `serde_json::Value` parse of the same bytes (recorded frames from
//! `../shared/fixtures` when present, and simulator frames always); one ~1,000-ticker Binance
//! `!ticker_1d@arr` frame to state updated; and serialising the §6.0 snapshot document.
//!
//! Run with `cargo bench --bench ingest`; `bench/run-all` reads the estimates criterion writes.
#![allow(clippy::unwrap_used, reason = "benchmark setup")]

use std::hint::black_box;
use std::path::PathBuf;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use kimp::config::Config;
use kimp::feed::{self, FeedMsg, ParseError, Parsed};
use kimp::model::{FeedId, FeedState, FxRate, FxSource, MarketEvent, Millis, Venue};
use kimp::state::{MarketState, StateConfig};

/// 2026-09-29 00:00:00 UTC, the time every frame is received at.
const NOW: Millis = 1_790_640_000_000;
/// Model steps of simulator frames per venue (one step is 250 ms of market time).
const SIM_STEPS: usize = 400;
/// Symbols in the all-market frame (Binance's real array holds about this many USDT pairs and more).
const ALL_MARKET_TICKERS: usize = 1_000;

type ParseFn = fn(&[u8], Millis) -> Result<Parsed, ParseError>;

/// A venue's ticker feed: its parser, feed id and recorded ticker fixtures.
struct Feed {
    venue: Venue,
    id: FeedId,
    parse: ParseFn,
    fixtures: &'static [&'static str],
}

const FEEDS: [Feed; 5] = [
    Feed {
        venue: Venue::Upbit,
        id: feed::upbit::FEED_ID,
        parse: feed::upbit::parse,
        fixtures: &["upbit/ws-ticker-default-doc.json"],
    },
    Feed {
        venue: Venue::Bithumb,
        id: feed::bithumb::FEED_ID,
        parse: feed::bithumb::parse,
        fixtures: &[
            "bithumb/ws-ticker-default-recorded.json",
            "bithumb/ws-ticker-default-and-simple-doc.jsonl",
        ],
    },
    Feed {
        venue: Venue::Binance,
        id: feed::binance::FEED_ID,
        parse: feed::binance::parse,
        fixtures: &[
            "binance/ticker-24hr-single-and-arr-recorded.jsonl",
            "binance/spot-ticker-1d-arr-adapted-doc.json",
            "binance/miniticker-arr-doc.json",
        ],
    },
    Feed {
        venue: Venue::Bybit,
        id: feed::bybit::FEED_ID,
        parse: feed::bybit::parse,
        fixtures: &[
            "bybit/ws-tickers-spot-doc.json",
            "bybit/ws-tickers-mixed-edited-recorded.jsonl",
        ],
    },
    Feed {
        venue: Venue::Okx,
        id: feed::okx::FEED_ID,
        parse: feed::okx::parse,
        fixtures: &["okx/ws-tickers-recorded.jsonl", "okx/ws-tickers-doc.json"],
    },
];

/// The recorded frames of a feed, one per line; `None` when the shared fixtures are absent.
fn recorded(feed: &Feed) -> Option<Vec<Vec<u8>>> {
    let dir = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/fixtures"));
    if !dir.is_dir() {
        return None;
    }
    let mut frames = Vec::new();
    for rel in feed.fixtures {
        let bytes = std::fs::read(dir.join(rel)).ok()?;
        let jsonl = std::path::Path::new(rel)
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("jsonl"));
        if jsonl {
            frames.extend(
                bytes
                    .split(|b| *b == b'\n')
                    .filter(|l| !l.trim_ascii().is_empty())
                    .map(<[u8]>::to_vec),
            );
        } else {
            // One message per `.json` file, possibly pretty-printed.
            frames.push(bytes);
        }
    }
    Some(frames)
}

/// A state with a fresh FX rate and USDT/KRW, every feed live: premiums compute.
fn warm_state() -> MarketState {
    let mut state = MarketState::new(StateConfig::from_config(&Config::default()));
    for f in &FEEDS {
        state.register_feed(f.id, FeedState::Live, NOW - 60_000);
    }
    let fx = MarketEvent::Fx(FxRate {
        source: FxSource::Dunamu,
        krw_per_usd: 1_384.0,
        quoted_ms: NOW - 1_000,
        received_ms: NOW - 1_000,
    });
    let msg = FeedMsg::Events {
        feed: "fx.usdkrw",
        events: vec![fx],
    };
    state.apply(msg, NOW);
    state
}

/// What the state task does with one frame, plus recomputing the premium of every coin it touched.
fn ingest(state: &mut MarketState, feed: &Feed, frame: &[u8]) -> usize {
    let msg = match (feed.parse)(frame, NOW) {
        Ok(Parsed::Events(events)) => FeedMsg::Events {
            feed: feed.id,
            events,
        },
        Ok(Parsed::Control(_)) => return 0,
        Err(e) => FeedMsg::ParseError {
            feed: feed.id,
            error: e.to_string(),
        },
    };
    let applied = state.apply(msg, NOW);
    let mut rows = 0;
    for coin in &applied.coins {
        rows += usize::from(state.coin_premiums(coin, NOW).is_some());
    }
    rows
}

/// Messages in `frames`: frames, except Binance's all-market arrays, where each ticker counts (one
/// ticker is what one frame of the other venues carries).
fn messages(feed: &Feed, frames: &[Vec<u8>]) -> u64 {
    if feed.venue != Venue::Binance {
        return frames.len() as u64;
    }
    let tickers: usize = frames
        .iter()
        .map(|f| match (feed.parse)(f, NOW) {
            Ok(Parsed::Events(events)) => events.len().max(1),
            _ => 1,
        })
        .sum();
    tickers as u64
}

fn bench_frames(c: &mut Criterion, feed: &Feed, source: &str, frames: &[Vec<u8>]) {
    let mut group = c.benchmark_group(format!("ingest/{}/{source}", feed.venue.as_str()));
    group.throughput(Throughput::Elements(messages(feed, frames)));
    group.bench_function("kimp", |b| {
        b.iter_batched_ref(
            || {
                // Steady state: the coins are known, as they are a second after connecting.
                let mut state = warm_state();
                for frame in frames {
                    ingest(&mut state, feed, frame);
                }
                state
            },
            |state| {
                for frame in frames {
                    black_box(ingest(state, feed, frame));
                }
            },
            BatchSize::LargeInput,
        );
    });
    group.bench_function("value", |b| {
        b.iter(|| {
            for frame in frames {
                black_box(serde_json::from_slice::<serde_json::Value>(frame).ok());
            }
        });
    });
    group.finish();
}

fn ingest_benches(c: &mut Criterion) {
    let sim = kimp::sim::frames::sample(7, NOW.unsigned_abs(), SIM_STEPS);
    for feed in &FEEDS {
        if let Some(frames) = recorded(feed) {
            bench_frames(c, feed, "recorded", &frames);
        } else {
            eprintln!("skipped recorded frames: ../shared/fixtures not found");
        }
        let frames = sim
            .iter()
            .find(|v| v.venue == feed.venue)
            .map(|v| v.frames.clone())
            .unwrap_or_default();
        bench_frames(c, feed, "sim", &frames);
    }
}

fn all_market_bench(c: &mut Criterion) {
    let frame = kimp::sim::frames::binance_all_market(7, NOW.unsigned_abs(), ALL_MARKET_TICKERS);
    let feed = &FEEDS[2];
    let mut group = c.benchmark_group("binance_all_market");
    group.throughput(Throughput::Elements(1));
    group.bench_function("kimp", |b| {
        b.iter_batched_ref(
            || {
                let mut state = warm_state();
                ingest(&mut state, feed, &frame);
                state
            },
            |state| black_box(ingest(state, feed, &frame)),
            BatchSize::LargeInput,
        );
    });
    group.bench_function("value", |b| {
        b.iter(|| black_box(serde_json::from_slice::<serde_json::Value>(&frame).ok()));
    });
    group.finish();
}

/// The §6.0 document of a state that has seen every simulated venue and the all-market frame.
fn snapshot_bench(c: &mut Criterion) {
    let mut state = warm_state();
    let sim = kimp::sim::frames::sample(7, NOW.unsigned_abs(), SIM_STEPS);
    for feed in &FEEDS {
        for v in sim.iter().filter(|v| v.venue == feed.venue) {
            for frame in &v.frames {
                ingest(&mut state, feed, frame);
            }
        }
    }
    let mut group = c.benchmark_group("snapshot");
    group.bench_function("build", |b| b.iter(|| black_box(state.snapshot(NOW))));
    let snap = state.snapshot(NOW);
    group.bench_function("serialise", |b| {
        b.iter(|| black_box(serde_json::to_vec(&snap).unwrap()));
    });
    group.finish();
}

criterion_group!(benches, ingest_benches, all_market_bench, snapshot_bench);
criterion_main!(benches);
