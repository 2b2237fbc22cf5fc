//! The `SQLite` side of the history: schema, opening checks, batched writes, queries, pruning.
//! Only the writer thread ([`super::writer`]) calls these (plus [`open_file`] before it starts).

use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, Row, TransactionBehavior, params};

use super::{HistoryError, PremiumSample};
use crate::model::{LiqVenue, Liquidation, Millis, Side, Venue};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS liquidations (
    id           TEXT PRIMARY KEY,
    exchange     TEXT NOT NULL,
    symbol       TEXT NOT NULL,
    base         TEXT NOT NULL,
    side         TEXT NOT NULL,
    price        REAL NOT NULL,
    quantity     REAL NOT NULL,
    notional_usd REAL NOT NULL,
    time_ms      INTEGER NOT NULL,
    received_ms  INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS liquidations_time ON liquidations (time_ms, id);
CREATE TABLE IF NOT EXISTS premium_samples (
    minute_ms            INTEGER NOT NULL,
    coin                 TEXT NOT NULL,
    domestic             TEXT NOT NULL,
    global               TEXT NOT NULL,
    premium_percent      REAL,
    premium_usdt_percent REAL,
    PRIMARY KEY (minute_ms, coin, domestic, global)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS premium_samples_coin ON premium_samples (coin, minute_ms);
";

const INSERT_LIQUIDATION: &str = "INSERT OR IGNORE INTO liquidations
    (id, exchange, symbol, base, side, price, quantity, notional_usd, time_ms, received_ms)
    VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)";
/// A later sample of the same minute replaces the earlier one.
const INSERT_PREMIUM: &str = "INSERT OR REPLACE INTO premium_samples
    (minute_ms, coin, domestic, global, premium_percent, premium_usdt_percent)
    VALUES (?1, ?2, ?3, ?4, ?5, ?6)";
const LIQUIDATION_COLUMNS: &str =
    "id, exchange, symbol, base, side, price, quantity, notional_usd, time_ms, received_ms";

/// Opens (creating if needed) the database at `path`, switches it to WAL with
/// `synchronous=NORMAL` and creates the schema inside a write transaction, so a database that is
/// locked, corrupt or not writable fails here — with a classified error — rather than later.
pub fn open_file(path: &Path, busy_timeout: Duration) -> Result<Connection, HistoryError> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_CREATE
        | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let classify = |e| HistoryError::classify(path, e);
    let mut conn = Connection::open_with_flags(path, flags).map_err(classify)?;
    conn.busy_timeout(busy_timeout).map_err(classify)?;
    let mode: String = conn
        .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
        .map_err(classify)?;
    if !mode.eq_ignore_ascii_case("wal") {
        tracing::warn!(path = %path.display(), mode, "history database is not in WAL mode");
    }
    prepare(&mut conn).map_err(classify)?;
    Ok(conn)
}

/// A fresh in-memory database with the schema.
pub fn open_memory() -> Result<Connection, HistoryError> {
    let path = Path::new(":memory:");
    let mut conn = Connection::open_in_memory().map_err(|e| HistoryError::classify(path, e))?;
    prepare(&mut conn).map_err(|e| HistoryError::classify(path, e))?;
    Ok(conn)
}

fn prepare(conn: &mut Connection) -> rusqlite::Result<()> {
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    // IMMEDIATE takes the write lock now: a database someone else holds fails at open.
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    tx.execute_batch(SCHEMA)?;
    tx.pragma_update(None, "user_version", 1)?;
    tx.commit()
}

/// Rows written by one batch.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Written {
    pub liquidations: u64,
    pub duplicates: u64,
    pub premiums: u64,
}

/// Writes a batch in one transaction; nothing is written if anything fails.
pub fn write_batch(
    conn: &mut Connection,
    liquidations: &[Liquidation],
    premiums: &[PremiumSample],
) -> rusqlite::Result<Written> {
    let tx = conn.transaction()?;
    let mut out = Written::default();
    {
        let mut stmt = tx.prepare_cached(INSERT_LIQUIDATION)?;
        for l in liquidations {
            let n = stmt.execute(params![
                l.id,
                l.exchange.as_str(),
                l.symbol,
                l.base,
                side_str(l.side),
                l.price,
                l.quantity,
                l.notional_usd,
                l.time_ms,
                l.received_ms,
            ])?;
            if n == 0 {
                out.duplicates += 1;
            } else {
                out.liquidations += 1;
            }
        }
        let mut stmt = tx.prepare_cached(INSERT_PREMIUM)?;
        for p in premiums {
            stmt.execute(params![
                p.minute_ms,
                p.coin,
                p.domestic.as_str(),
                p.global.as_str(),
                p.premium_percent,
                p.premium_usdt_percent,
            ])?;
            out.premiums += 1;
        }
    }
    tx.commit()?;
    Ok(out)
}

/// Liquidations with `time_ms ≥ since_ms` (and after `after` = (time, id) when given), ordered by
/// time then id, at most `limit`. Rows the model cannot read (unknown venue or side) are skipped.
pub fn load_liquidations(
    conn: &Connection,
    since_ms: Millis,
    after: Option<&(Millis, String)>,
    limit: usize,
) -> rusqlite::Result<Vec<Liquidation>> {
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    if let Some((t, id)) = after {
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT {LIQUIDATION_COLUMNS} FROM liquidations
             WHERE time_ms >= ?1 AND (time_ms, id) > (?2, ?3)
             ORDER BY time_ms, id LIMIT ?4"
        ))?;
        collect(stmt.query_map(params![since_ms, t, id, limit], liquidation_row)?)
    } else {
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT {LIQUIDATION_COLUMNS} FROM liquidations
             WHERE time_ms >= ?1 ORDER BY time_ms, id LIMIT ?2"
        ))?;
        collect(stmt.query_map(params![since_ms, limit], liquidation_row)?)
    }
}

/// Keeps the readable rows.
fn collect<T>(rows: impl Iterator<Item = rusqlite::Result<Option<T>>>) -> rusqlite::Result<Vec<T>> {
    let mut out = Vec::new();
    for row in rows {
        if let Some(v) = row? {
            out.push(v);
        }
    }
    Ok(out)
}

fn liquidation_row(r: &Row<'_>) -> rusqlite::Result<Option<Liquidation>> {
    let exchange: String = r.get(1)?;
    let side: String = r.get(4)?;
    let Some(exchange) = LiqVenue::ALL.into_iter().find(|v| v.as_str() == exchange) else {
        return Ok(None);
    };
    let side = match side.as_str() {
        "long" => Side::Long,
        "short" => Side::Short,
        _ => return Ok(None),
    };
    Ok(Some(Liquidation {
        id: r.get(0)?,
        exchange,
        symbol: r.get(2)?,
        base: r.get(3)?,
        side,
        price: r.get(5)?,
        quantity: r.get(6)?,
        notional_usd: r.get(7)?,
        time_ms: r.get(8)?,
        received_ms: r.get(9)?,
    }))
}

/// Premium samples of `coin` since `since_ms`, every venue pair, ordered by minute then pair.
pub fn load_premiums(
    conn: &Connection,
    coin_name: &str,
    since_ms: Millis,
) -> rusqlite::Result<Vec<PremiumSample>> {
    let mut stmt = conn.prepare_cached(
        "SELECT minute_ms, coin, domestic, global, premium_percent, premium_usdt_percent
         FROM premium_samples WHERE coin = ?1 AND minute_ms >= ?2
         ORDER BY minute_ms, domestic, global",
    )?;
    let rows = stmt.query_map(params![coin_name, since_ms], |r| {
        let domestic: String = r.get(2)?;
        let global: String = r.get(3)?;
        Ok(Venue::parse(&domestic).zip(Venue::parse(&global)).map(
            |(domestic, global)| -> rusqlite::Result<PremiumSample> {
                Ok(PremiumSample {
                    minute_ms: r.get(0)?,
                    coin: r.get(1)?,
                    domestic,
                    global,
                    premium_percent: r.get(4)?,
                    premium_usdt_percent: r.get(5)?,
                })
            },
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        if let Some(sample) = row? {
            out.push(sample?);
        }
    }
    Ok(out)
}

/// Deletes liquidations older than `liq_before` and premium samples older than `premium_before`;
/// returns the rows deleted.
pub fn prune(
    conn: &mut Connection,
    liq_before: Millis,
    premium_before: Millis,
) -> rusqlite::Result<u64> {
    let tx = conn.transaction()?;
    let a = tx.execute("DELETE FROM liquidations WHERE time_ms < ?1", [liq_before])?;
    let b = tx.execute(
        "DELETE FROM premium_samples WHERE minute_ms < ?1",
        [premium_before],
    )?;
    tx.commit()?;
    Ok(u64::try_from(a + b).unwrap_or(u64::MAX))
}

fn side_str(side: Side) -> &'static str {
    match side {
        Side::Long => "long",
        Side::Short => "short",
    }
}
