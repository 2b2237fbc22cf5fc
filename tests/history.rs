//! The history database in a temp dir: batching and de-dup, warm start rebuilding the same book,
//! retention, premium samples, flush on close and on drop, and every failure mode giving a clear
//! error (locked, corrupt, read-only) or a counted, retried write error — never a panic.
#![allow(
    clippy::unwrap_used,
    reason = "test code: a failed unwrap is a failed test"
)]
#![allow(clippy::float_cmp, reason = "stored values are compared as given")]

use std::path::Path;
use std::time::Duration;

use kimp::history::{History, HistoryError, HistoryOptions, PremiumSample};
use kimp::model::{LiqVenue, Liquidation, Millis, Side, Venue};
use kimp::state::liquidations::{LiquidationBook, Window};
use rstest::rstest;
use rusqlite::Connection;

const MIN: Millis = 60_000;
const DAY: Millis = 86_400_000;

/// Test times are relative to the real clock: the writer prunes by it on start.
fn now() -> Millis {
    kimp::clock::now_ms()
}

fn liq(i: usize, t: Millis) -> Liquidation {
    let exchange = LiqVenue::ALL[i % 4];
    let usd = f64::from(u32::try_from(i % 5_000).unwrap() + 1);
    Liquidation {
        id: format!("{}:BTCUSDT:{i}", exchange.as_str()),
        exchange,
        symbol: "BTCUSDT".into(),
        base: if i.is_multiple_of(3) { "ETH" } else { "BTC" }.into(),
        side: if i.is_multiple_of(2) {
            Side::Long
        } else {
            Side::Short
        },
        price: 100_000.5,
        quantity: usd / 100_000.5,
        notional_usd: usd,
        time_ms: t,
        received_ms: t + 7,
    }
}

/// `n` events one second apart, the last one a second before `end`.
fn events(n: usize, end: Millis) -> Vec<Liquidation> {
    (0..n)
        .map(|i| liq(i, end - Millis::try_from(n - i).unwrap() * 1_000))
        .collect()
}

fn opts() -> HistoryOptions {
    HistoryOptions {
        busy_timeout: Duration::from_millis(100),
        ..HistoryOptions::default()
    }
}

/// Options under which nothing is written until asked (or closed).
fn lazy_opts() -> HistoryOptions {
    HistoryOptions {
        batch_size: 1_000_000,
        flush_interval: Duration::from_secs(3_600),
        ..opts()
    }
}

fn count_rows(path: &Path, table: &str) -> i64 {
    let conn = Connection::open(path).unwrap();
    conn.query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |r| r.get(0))
        .unwrap()
}

#[tokio::test]
async fn stores_each_event_once_in_batches() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("data").join("kimp.db");
    let h = History::open(&path, opts()).unwrap();
    assert!(h.is_persistent());
    let evs = events(10_000, now());
    for e in &evs {
        assert!(h.record_liquidation(e.clone()));
    }
    for e in evs.iter().step_by(10) {
        assert!(h.record_liquidation(e.clone()));
    }
    h.flush().await.unwrap();
    let stats = h.stats();
    assert_eq!(stats.queued, 11_000);
    assert_eq!(stats.written, 10_000);
    assert_eq!(stats.duplicates, 1_000);
    assert_eq!((stats.dropped, stats.errors), (0, 0));
    // 1,000 rows per transaction (plus at most a few time-triggered partial batches).
    assert!((11..=15).contains(&stats.batches), "{stats:?}");
    assert_eq!(count_rows(&path, "liquidations"), 10_000);
    let conn = Connection::open(&path).unwrap();
    let distinct: i64 = conn
        .query_row("SELECT COUNT(DISTINCT id) FROM liquidations", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(distinct, 10_000);
    let mode: String = conn
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
    h.flush_and_close().await.unwrap();
}

#[tokio::test]
async fn warm_start_rebuilds_the_same_book() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kimp.db");
    let end = now();
    let evs = events(3_000, end);
    let mut original = LiquidationBook::new();
    let h = History::open(&path, opts()).unwrap();
    for e in &evs {
        original.apply(e.clone(), e.time_ms);
        h.record_liquidation(e.clone());
    }
    // An event older than the warm-start window is stored but not loaded.
    h.record_liquidation(liq(99_999, end - 2 * DAY));
    drop(h); // the last handle: flushes

    let h = History::open(&path, opts()).unwrap();
    let loaded = h.load_recent(end - DAY).await.unwrap();
    assert_eq!(loaded, evs);
    let mut rebuilt = LiquidationBook::new();
    for e in loaded {
        rebuilt.apply(e, end);
    }
    assert_eq!(rebuilt.summary(end), original.summary(end));
    assert_eq!(
        rebuilt.recent(50, 0.0, None),
        original.recent(50, 0.0, None)
    );
    assert_eq!(
        rebuilt.aggregated(Window::H24, end),
        original.aggregated(Window::H24, end)
    );
    // Paged loading gives the same rows in bounded chunks.
    let mut paged = Vec::new();
    let mut after = None;
    loop {
        let page = h.load_page(end - DAY, after.clone(), 700).await.unwrap();
        assert!(page.len() <= 700);
        let Some(last) = page.last() else { break };
        after = Some((last.time_ms, last.id.clone()));
        paged.extend(page);
    }
    assert_eq!(paged, evs);
    h.flush_and_close().await.unwrap();
}

#[rstest]
#[case::defaults(HistoryOptions::default(), 2, 2)]
#[case::short(HistoryOptions {
    liquidation_retention: Duration::from_secs(3_600),
    premium_retention: Duration::from_secs(86_400),
    ..HistoryOptions::default()
}, 1, 1)]
#[tokio::test]
async fn retention_prunes_old_rows(
    #[case] options: HistoryOptions,
    #[case] liq_left: usize,
    #[case] premium_left: usize,
) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kimp.db");
    let h = History::open(&path, options).unwrap();
    let t = now();
    for (i, age) in [8 * DAY, 6 * DAY, 10 * MIN].into_iter().enumerate() {
        h.record_liquidation(liq(i, t - age));
    }
    for age in [31 * DAY, 29 * DAY, 10 * MIN] {
        h.record_premium(sample("BTC", t - age, Some(2.0)));
    }
    let pruned = h.prune(t).await.unwrap();
    assert_eq!(
        usize::try_from(pruned).unwrap(),
        6 - liq_left - premium_left
    );
    assert_eq!(h.load_recent(0).await.unwrap().len(), liq_left);
    assert_eq!(
        h.premium_history("BTC", 0).await.unwrap().len(),
        premium_left
    );
    assert_eq!(h.stats().pruned, pruned);
    h.flush_and_close().await.unwrap();
}

fn sample(coin: &str, minute_ms: Millis, kimp: Option<f64>) -> PremiumSample {
    PremiumSample {
        minute_ms,
        coin: coin.into(),
        domestic: Venue::Upbit,
        global: Venue::Binance,
        premium_percent: kimp,
        premium_usdt_percent: kimp.map(|k| k - 1.3),
    }
}

#[tokio::test]
async fn premium_samples_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kimp.db");
    let h = History::open(&path, opts()).unwrap();
    let base = (now() / MIN - 10) * MIN;
    let mut want = Vec::new();
    for m in 0..5 {
        // Seconds into the minute are rounded down.
        let s = sample(
            "BTC",
            base + m * MIN + 12_345,
            Some(2.0 + f64::from(u8::try_from(m).unwrap())),
        );
        h.record_premium(s.clone());
        want.push(PremiumSample {
            minute_ms: base + m * MIN,
            ..s
        });
    }
    let bithumb = PremiumSample {
        domestic: Venue::Bithumb,
        global: Venue::Okx,
        ..sample("BTC", base + MIN, None)
    };
    h.record_premium(bithumb.clone());
    // Ordered by minute, then pair (bithumb before upbit).
    want.insert(1, bithumb);
    h.record_premium(sample("ETH", base, Some(1.0)));
    // A later sample of the same minute and pair replaces the first.
    h.record_premium(sample("BTC", base + 4 * MIN, Some(9.5)));
    want[5].premium_percent = Some(9.5);
    want[5].premium_usdt_percent = Some(9.5 - 1.3);
    drop(h);

    let h = History::open(&path, opts()).unwrap();
    assert_eq!(h.premium_history("BTC", base).await.unwrap(), want);
    assert_eq!(
        h.premium_history("BTC", base + 3 * MIN).await.unwrap(),
        want[4..]
    );
    assert_eq!(h.premium_history("ETH", 0).await.unwrap().len(), 1);
    assert!(h.premium_history("XRP", 0).await.unwrap().is_empty());
    h.flush_and_close().await.unwrap();
}

#[rstest]
#[case::close(true)]
#[case::drop(false)]
#[tokio::test]
async fn everything_queued_is_on_disk_after_close(#[case] close: bool) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kimp.db");
    let h = History::open(&path, lazy_opts()).unwrap();
    for e in events(5_000, now()) {
        h.record_liquidation(e);
    }
    h.record_premium(sample("BTC", now(), Some(1.0)));
    let other = h.clone();
    drop(other); // not the last handle: nothing happens
    if close {
        h.flush_and_close().await.unwrap();
    } else {
        drop(h);
    }
    assert_eq!(count_rows(&path, "liquidations"), 5_000);
    assert_eq!(count_rows(&path, "premium_samples"), 1);
}

#[tokio::test]
async fn closed_history_refuses_politely() {
    let h = History::in_memory().unwrap();
    let other = h.clone();
    h.flush_and_close().await.unwrap();
    assert!(!other.record_liquidation(liq(1, now())));
    assert_eq!(other.stats().dropped, 1);
    assert!(matches!(other.flush().await, Err(HistoryError::Closed)));
    assert!(matches!(
        other.load_recent(0).await,
        Err(HistoryError::Closed)
    ));
}

#[tokio::test]
async fn in_memory_has_the_same_api() {
    let h = History::in_memory().unwrap();
    assert!(!h.is_persistent());
    assert_eq!(h.location(), ":memory:");
    let evs = events(500, now());
    for e in &evs {
        h.record_liquidation(e.clone());
        h.record_liquidation(e.clone());
    }
    h.record_premium(sample("BTC", now(), Some(3.0)));
    assert_eq!(h.load_recent(0).await.unwrap(), evs);
    assert_eq!(h.premium_history("BTC", 0).await.unwrap().len(), 1);
    assert_eq!((h.stats().written, h.stats().duplicates), (500, 500));
    h.flush_and_close().await.unwrap();
}

#[test]
fn no_persist_and_fallback_use_memory() {
    let (h, err) = History::open_or_memory(None, opts()).unwrap();
    assert!(!h.is_persistent() && err.is_none());
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kimp.db");
    std::fs::write(&path, vec![0x5a; 4096]).unwrap();
    let (h, err) = History::open_or_memory(Some(&path), opts()).unwrap();
    assert!(!h.is_persistent());
    assert!(matches!(err, Some(HistoryError::Corrupt { .. })), "{err:?}");
}

/// Creates a database at `path`: WAL (as kimp leaves it) or a plain rollback-journal one.
fn make_db(path: &Path, wal: bool) {
    let conn = Connection::open(path).unwrap();
    if wal {
        conn.query_row("PRAGMA journal_mode = WAL", [], |_| Ok(()))
            .unwrap();
    }
    conn.execute_batch("CREATE TABLE other (a)").unwrap();
}

#[rstest]
#[case::wal(true)]
#[case::rollback_journal(false)]
fn locked_database_is_a_clear_error(#[case] wal: bool) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kimp.db");
    make_db(&path, wal);
    let locker = Connection::open(&path).unwrap();
    locker
        .execute_batch("BEGIN EXCLUSIVE; INSERT INTO other VALUES (1);")
        .unwrap();
    let err = History::open(&path, opts()).unwrap_err();
    assert!(matches!(err, HistoryError::Locked { .. }), "{err:?}");
    let msg = err.to_string();
    eprintln!("{msg}");
    assert!(msg.contains(&path.display().to_string()), "{msg}");
    assert!(msg.contains("locked"), "{msg}");
    locker.execute_batch("COMMIT").unwrap();
    History::open(&path, opts()).unwrap();
}

#[rstest]
#[case::garbage(b"this is not a database at all, just some text ".repeat(100))]
#[case::bad_pages([b"SQLite format 3\0".as_slice(), &[0xff; 4080]].concat())]
fn corrupt_database_is_a_clear_error(#[case] content: Vec<u8>) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kimp.db");
    std::fs::write(&path, content).unwrap();
    let err = History::open(&path, opts()).unwrap_err();
    assert!(matches!(err, HistoryError::Corrupt { .. }), "{err:?}");
    let msg = err.to_string();
    eprintln!("{msg}");
    assert!(msg.contains(&path.display().to_string()), "{msg}");
    assert!(msg.contains("corrupt"), "{msg}");
}

#[cfg(unix)]
#[rstest]
#[case::new_file(false)]
#[case::existing_file(true)]
fn read_only_directory_is_a_clear_error(#[case] existing: bool) {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let ro = dir.path().join("ro");
    std::fs::create_dir(&ro).unwrap();
    let path = ro.join("kimp.db");
    if existing {
        make_db(&path, false);
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o444)).unwrap();
    }
    std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o555)).unwrap();
    let restore = || std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o755)).unwrap();
    // Root ignores permission bits: detect it by trying to write, and skip with a note.
    if std::fs::write(ro.join("probe"), b"x").is_ok() {
        restore();
        eprintln!("skipped: permissions do not restrict this user (root?); run as a normal user");
        return;
    }
    let result = History::open(&path, opts());
    restore();
    let err = result.unwrap_err();
    assert!(matches!(err, HistoryError::NotWritable { .. }), "{err:?}");
    let msg = err.to_string();
    eprintln!("{msg}");
    assert!(msg.contains(&path.display().to_string()), "{msg}");
    assert!(msg.contains("read-only"), "{msg}");
}

#[tokio::test]
async fn write_errors_are_counted_and_retried() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kimp.db");
    let h = History::open(&path, lazy_opts()).unwrap();
    h.flush_and_close().await.unwrap();
    let h = History::open(&path, lazy_opts()).unwrap();
    let locker = Connection::open(&path).unwrap();
    locker.execute_batch("BEGIN EXCLUSIVE").unwrap();
    let evs = events(300, now());
    for e in &evs {
        h.record_liquidation(e.clone());
    }
    let err = h.flush().await.unwrap_err();
    assert!(matches!(err, HistoryError::Sql { .. }), "{err:?}");
    assert!(err.to_string().contains("kimp.db"), "{err}");
    // The failed batch (and the start-up prune, which met the same lock).
    assert!(h.stats().errors >= 1);
    assert_eq!(h.stats().written, 0);
    locker.execute_batch("COMMIT").unwrap();
    // Nothing was lost: the failed batch is written on the next flush.
    h.flush().await.unwrap();
    assert_eq!(h.load_recent(0).await.unwrap(), evs);
    assert_eq!((h.stats().written, h.stats().dropped), (300, 0));
    h.flush_and_close().await.unwrap();
}

#[tokio::test]
async fn a_full_queue_drops_and_counts() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kimp.db");
    make_db(&path, true);
    let options = HistoryOptions {
        batch_size: 1,
        queue_capacity: 4,
        busy_timeout: Duration::from_millis(400),
        ..HistoryOptions::default()
    };
    let h = History::open(&path, options).unwrap();
    let locker = Connection::open(&path).unwrap();
    locker.execute_batch("BEGIN EXCLUSIVE").unwrap();
    // The first row makes the writer wait on the lock; the rest fill the 4-slot queue.
    assert!(h.record_liquidation(liq(0, now())));
    tokio::time::sleep(Duration::from_millis(100)).await;
    let accepted = (1..100)
        .filter(|&i| h.record_liquidation(liq(i, now())))
        .count();
    assert!(accepted <= 5, "{accepted}");
    locker.execute_batch("COMMIT").unwrap();
    h.flush().await.unwrap();
    let stats = h.stats();
    // Every row is either stored or counted as dropped.
    assert_eq!(stats.written + stats.dropped, 100, "{stats:?}");
    assert!(stats.dropped >= 94, "{stats:?}");
    assert_eq!(
        usize::try_from(stats.written).unwrap(),
        h.load_recent(0).await.unwrap().len()
    );
    h.flush_and_close().await.unwrap();
}

#[test]
fn handles_and_book_are_send_and_sync() {
    fn check<T: Send + Sync + 'static>() {}
    check::<History>();
    check::<HistoryError>();
    check::<LiquidationBook>();
}
