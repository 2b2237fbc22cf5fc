//! Wall-clock helpers for the simulator's wire formats (epoch ms, UTC and KST calendar strings).

use std::time::{SystemTime, UNIX_EPOCH};

use time::{Duration, OffsetDateTime, UtcOffset};

pub(crate) const DAY_MS: u64 = 86_400_000;
const KST_OFFSET_SECS: i32 = 9 * 3_600;

/// Milliseconds since the Unix epoch, now.
pub(crate) fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

fn utc(ms: u64) -> OffsetDateTime {
    let nanos = i128::from(ms) * 1_000_000;
    OffsetDateTime::from_unix_timestamp_nanos(nanos).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

fn kst(ms: u64) -> OffsetDateTime {
    let offset = UtcOffset::from_whole_seconds(KST_OFFSET_SECS).unwrap_or(UtcOffset::UTC);
    utc(ms).to_offset(offset)
}

/// Upbit's `trade_date`/`trade_time` (UTC, `20260730`, `074100`).
pub(crate) fn upbit_date_time(ms: u64) -> (String, String) {
    let t = utc(ms);
    (
        format!("{:04}{:02}{:02}", t.year(), u8::from(t.month()), t.day()),
        format!("{:02}{:02}{:02}", t.hour(), t.minute(), t.second()),
    )
}

/// Bithumb's WebSocket `trade_date`/`trade_time`: KST wall clock (`20260730`, `164855`).
pub(crate) fn kst_compact(ms: u64) -> (String, String) {
    let t = kst(ms);
    (
        format!("{:04}{:02}{:02}", t.year(), u8::from(t.month()), t.day()),
        format!("{:02}{:02}{:02}", t.hour(), t.minute(), t.second()),
    )
}

/// Bithumb's alert `end_date`: KST wall clock `2026-07-31 06:59:59`.
pub(crate) fn kst_date_time_spaced(ms: u64) -> String {
    let (date, time) = kst_date_time(ms);
    format!("{date} {time}")
}

/// `2026-07-30` (UTC) for `ms` shifted by `days_back` days into the past.
pub(crate) fn date_dashed_utc(ms: u64, days_back: i64) -> String {
    let t = utc(ms) - Duration::days(days_back);
    format!("{:04}-{:02}-{:02}", t.year(), u8::from(t.month()), t.day())
}

/// Dunamu's `date` and `time` (KST wall clock: `2026-11-24`, `12:03:21`).
pub(crate) fn kst_date_time(ms: u64) -> (String, String) {
    let t = kst(ms);
    (
        format!("{:04}-{:02}-{:02}", t.year(), u8::from(t.month()), t.day()),
        format!("{:02}:{:02}:{:02}", t.hour(), t.minute(), t.second()),
    )
}

/// Frankfurter's `date`: the latest working day (UTC) on or before `ms`; reference rates are not
/// published at weekends.
pub(crate) fn working_date_utc(ms: u64) -> String {
    let mut t = utc(ms);
    while matches!(t.weekday(), time::Weekday::Saturday | time::Weekday::Sunday) {
        t -= Duration::days(1);
    }
    format!("{:04}-{:02}-{:02}", t.year(), u8::from(t.month()), t.day())
}

/// RFC 2822 time as open.er-api writes it (`Mon, 24 Nov 2026 00:02:31 +0000`).
pub(crate) fn rfc2822_utc(secs: u64) -> String {
    let t = utc(secs.saturating_mul(1_000));
    let weekday = match t.weekday() {
        time::Weekday::Monday => "Mon",
        time::Weekday::Tuesday => "Tue",
        time::Weekday::Wednesday => "Wed",
        time::Weekday::Thursday => "Thu",
        time::Weekday::Friday => "Fri",
        time::Weekday::Saturday => "Sat",
        time::Weekday::Sunday => "Sun",
    };
    let month = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ]
    .get(usize::from(u8::from(t.month())) - 1)
    .copied()
    .unwrap_or("Jan");
    format!(
        "{weekday}, {:02} {month} {:04} {:02}:{:02}:{:02} +0000",
        t.day(),
        t.year(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// ISO-8601 UTC with milliseconds and Dunamu's `+0000` suffix.
pub(crate) fn iso_utc(ms: u64) -> String {
    let t = utc(ms);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}+0000",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.millisecond()
    )
}

/// ISO-8601 UTC with milliseconds and `Z`, as BitMEX writes times (`2021-07-22T22:36:07.865Z`).
pub(crate) fn iso_z(ms: u64) -> String {
    let t = utc(ms);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.millisecond()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calendar_strings() {
        // 2026-07-30 07:41:00.652 UTC (the Upbit REST recording's trade_timestamp).
        let ms = 1_785_397_260_652;
        assert_eq!(
            upbit_date_time(ms),
            ("20260730".to_owned(), "074100".to_owned())
        );
        assert_eq!(
            kst_date_time(ms),
            ("2026-07-30".to_owned(), "16:41:00".to_owned())
        );
        assert_eq!(date_dashed_utc(ms, 29), "2026-07-01");
        assert_eq!(rfc2822_utc(ms / 1000), "Thu, 30 Jul 2026 07:41:00 +0000");
        assert_eq!(iso_utc(ms), "2026-07-30T07:41:00.652+0000");
        assert_eq!(iso_z(ms), "2026-07-30T07:41:00.652Z");
        assert_eq!(
            kst_compact(ms),
            ("20260730".to_owned(), "164100".to_owned())
        );
        assert_eq!(kst_date_time_spaced(ms), "2026-07-30 16:41:00");
        // 2026-08-01 is a Saturday.
        assert_eq!(working_date_utc(ms + 2 * DAY_MS), "2026-07-31");
    }
}
