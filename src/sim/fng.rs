//! Simulated alternative.me crypto fear & greed index (`exchanges.md` §9): `GET /fng/?limit=N`.
//!
//! `{"name":"Fear and Greed Index","data":[{"value":"73","value_classification":"Greed",
//! "timestamp":"1790640000","time_until_update":"16018"},{…yesterday…}],"metadata":{"error":null}}`:
//! `value` and `timestamp` are strings, `timestamp` is epoch **seconds** at 00:00 UTC, newest row
//! first, `time_until_update` (seconds to the next 00:00 UTC) only on the newest row. The value
//! drifts between 20 and 80 from day to day, a fixed function of the seed and the UTC day, so it
//! changes once a day like the real index. `date_format=us|cn|kr|world` turns `timestamp` into a
//! date string, as the real API does (a trap the feed must avoid).

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::Shared;
use super::clock::{DAY_MS, date_dashed_utc, now_ms};
use super::faults::SimVenue;
use super::wire::mix64;

const DAY_S: u64 = DAY_MS / 1000;
/// Rows served for `limit=0` ("all"): the simulated history is this long.
const HISTORY_DAYS: u64 = 730;

/// The index on UTC day `day` (days since the epoch) for `seed`: 20..=80.
#[expect(
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    reason = "clamped to 20..=80 before the cast"
)]
pub(crate) fn value(seed: u64, day: u64) -> u8 {
    let phase = (mix64(seed) % 6283) as f64 / 1000.0;
    let d = day as f64;
    let wave = 22.0 * (d * 0.21 + phase).sin() + 6.0 * (d * 0.9 + 2.0 * phase).sin();
    let noise = (mix64(seed ^ mix64(day)) % 7) as f64 - 3.0;
    (50.0 + wave + noise).round().clamp(20.0, 80.0) as u8
}

/// alternative.me's class of a value.
pub(crate) fn classification(value: u8) -> &'static str {
    match value {
        0..=25 => "Extreme Fear",
        26..=45 => "Fear",
        46..=54 => "Neutral",
        55..=75 => "Greed",
        _ => "Extreme Greed",
    }
}

fn timestamp(day: u64, date_format: Option<&str>) -> String {
    let ms = day * DAY_MS;
    let iso = date_dashed_utc(ms, 0);
    let (y, rest) = iso.split_once('-').unwrap_or((&iso, ""));
    let (m, d) = rest.split_once('-').unwrap_or((rest, ""));
    match date_format {
        Some("us") => format!("{m}-{d}-{y}"),
        Some("cn" | "kr") => iso,
        Some("world") => format!("{d}-{m}-{y}"),
        _ => (day * DAY_S).to_string(),
    }
}

/// The reply body for `limit` rows at `now_ms`.
pub(crate) fn body(seed: u64, limit: u64, date_format: Option<&str>, now_ms: u64) -> String {
    let today = now_ms / DAY_MS;
    let rows = if limit == 0 { HISTORY_DAYS } else { limit };
    let data: Vec<Value> = (0..rows.min(today + 1))
        .map(|back| {
            let day = today - back;
            let v = value(seed, day);
            let mut row = serde_json::Map::new();
            row.insert("value".into(), json!(v.to_string()));
            row.insert("value_classification".into(), json!(classification(v)));
            row.insert("timestamp".into(), json!(timestamp(day, date_format)));
            if back == 0 {
                let until = (today + 1) * DAY_S - now_ms / 1000;
                row.insert("time_until_update".into(), json!(until.to_string()));
            }
            Value::Object(row)
        })
        .collect();
    json!({"name": "Fear and Greed Index", "data": data, "metadata": {"error": null}}).to_string()
}

fn error_body(message: &str) -> String {
    json!({"name": "Fear and Greed Index", "data": [], "metadata": {"error": message}}).to_string()
}

/// `GET /fng/?limit=N[&date_format=..]` (default 1 row; `limit=0` is the whole history).
pub(crate) async fn fear_greed(
    State(shared): State<Arc<Shared>>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let json_reply = |status: StatusCode, body: String| {
        (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
    };
    if let Err(status) = shared
        .faults
        .rest_gate(SimVenue::FearGreed, &shared.cancel)
        .await
    {
        return json_reply(status, error_body("simulated fault"));
    }
    let limit = match query.get("limit").map(|l| l.parse::<u64>()) {
        None => 1,
        Some(Ok(n)) => n,
        Some(Err(_)) => return json_reply(StatusCode::OK, error_body("Unknown limit value")),
    };
    let date_format = query.get("date_format").map(String::as_str);
    let body = body(shared.opts.seed, limit, date_format, now_ms());
    shared.faults.rest_body(SimVenue::FearGreed, body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_drift_within_bounds_and_classes_follow() {
        let values: Vec<u8> = (20_000..20_400).map(|d| value(3, d)).collect();
        assert!(values.iter().all(|v| (20..=80).contains(v)));
        let (min, max) = (values.iter().min(), values.iter().max());
        assert!(min < Some(&30) && max > Some(&70), "{min:?}..{max:?}");
        assert!(values.windows(2).all(|w| w[0].abs_diff(w[1]) <= 16));
        assert_ne!(value(3, 20_000), value(4, 20_000));
        assert_eq!(classification(73), "Greed");
        assert_eq!(classification(20), "Extreme Fear");
        assert_eq!(classification(50), "Neutral");
    }

    #[test]
    fn body_has_the_alternative_me_shape() {
        // 2026-09-29 04:33:02 UTC.
        let now = 1_790_656_382_000;
        let v: Value = serde_json::from_str(&body(1, 2, None, now)).unwrap();
        assert_eq!(v["name"], "Fear and Greed Index");
        assert!(v["metadata"]["error"].is_null());
        let rows = v["data"].as_array().unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0]["timestamp"], "1790640000");
        assert_eq!(rows[1]["timestamp"], "1790553600");
        assert_eq!(rows[0]["time_until_update"], "70018");
        assert!(rows[1].get("time_until_update").is_none());
        assert!(rows[0]["value"].is_string());
        let kr: Value = serde_json::from_str(&body(1, 1, Some("kr"), now)).unwrap();
        assert_eq!(kr["data"][0]["timestamp"], "2026-09-29");
        let us: Value = serde_json::from_str(&body(1, 1, Some("us"), now)).unwrap();
        assert_eq!(us["data"][0]["timestamp"], "09-29-2026");
    }
}
