//! Simulated USD/KRW sources (`exchanges.md` §8): Dunamu's bank quote, open.er-api's daily
//! rates and Frankfurter v2's reference rate.
//!
//! Dunamu follows the model's rate (republished about once a minute, numbers with trailing zeros
//! as the real reply keeps them); open.er-api and Frankfurter publish a daily value close to it,
//! like the real daily sources that lag the bank quote.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::Shared;
use super::clock::{
    DAY_MS, date_dashed_utc, iso_utc, kst_date_time, now_ms, rfc2822_utc, working_date_utc,
};
use super::faults::SimVenue;
use super::market::FxQuote;
use super::wire::{JsonObject, Num, round_decimals};

/// Frankfurter's reference rate sits a little below the daily market close.
const FRANKFURTER_OFFSET: f64 = -0.0007;

/// Units of each currency per USD; KRW comes from the model.
fn usd_rates(krw: f64) -> [(&'static str, f64); 11] {
    [
        ("USD", 1.0),
        ("AUD", 1.5312),
        ("CAD", 1.3841),
        ("CHF", 0.8027),
        ("CNY", 7.1032),
        ("EUR", 0.8651),
        ("GBP", 0.7612),
        ("HKD", 7.7804),
        ("JPY", 155.27),
        ("KRW", krw),
        ("SGD", 1.3006),
    ]
}

/// `GET /fx/dunamu/v1/forex/recent?codes=FRX.KRWUSD` (unknown codes are left out, `[]` if none).
pub(crate) async fn dunamu(
    State(shared): State<Arc<Shared>>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    if let Err(status) = shared.faults.rest_gate(SimVenue::Fx, &shared.cancel).await {
        return fault(status);
    }
    let wants_usd = query
        .get("codes")
        .is_some_and(|codes| codes.split(',').any(|c| c.trim() == "FRX.KRWUSD"));
    let body = if wants_usd {
        let quote = shared.model().fx_quote;
        format!("[{}]", dunamu_usd(&quote))
    } else {
        "[]".to_owned()
    };
    shared.faults.rest_body(SimVenue::Fx, body)
}

fn dunamu_usd(q: &FxQuote) -> String {
    let diff = round_decimals(q.price - q.prev_close, 2);
    let change = if diff > 0.0 {
        "RISE"
    } else if diff < 0.0 {
        "FALL"
    } else {
        "EVEN"
    };
    let rate = if q.prev_close > 0.0 {
        round_decimals(diff.abs() / q.prev_close, 10)
    } else {
        0.0
    };
    let sign = if diff < 0.0 { -1.0 } else { 1.0 };
    let (date, time) = kst_date_time(q.updated_ms);
    let won = |x: f64| round_decimals(x, 2);
    let mut o = JsonObject::with_capacity(1024);
    o.str("code", "FRX.KRWUSD")
        .str("currencyCode", "USD")
        .str("currencyName", "달러")
        .str("country", "미국")
        .str("name", "미국 (KRW/USD)")
        .str("date", &date)
        .str("time", &time)
        .int("recurrenceCount", i64::from(q.updates_today))
        .num("basePrice", q.price, Num::Fixed(2))
        .num("openingPrice", q.open, Num::Fixed(2))
        .num("highPrice", q.high, Num::Fixed(2))
        .num("lowPrice", q.low, Num::Fixed(2))
        .str("change", change)
        .num("changePrice", diff.abs(), Num::Fixed(2))
        // Hana Bank's cash spread is ±1.75 %, telegraphic transfer ±1 %.
        .num("cashBuyingPrice", won(q.price * 1.0175), Num::Fixed(2))
        .num("cashSellingPrice", won(q.price * 0.9825), Num::Fixed(2))
        .num("ttBuyingPrice", won(q.price * 0.99), Num::Fixed(2))
        .num("ttSellingPrice", won(q.price * 1.01), Num::Fixed(2))
        .null("tcBuyingPrice")
        .null("fcSellingPrice")
        .num("exchangeCommission", 4.1587, Num::Fixed(4))
        .num("usDollarRate", 1.0, Num::Fixed(4))
        .num("high52wPrice", won(q.price * 1.068), Num::Fixed(2))
        .str("high52wDate", &date_dashed_utc(q.updated_ms, 143))
        .num("low52wPrice", won(q.price * 0.934), Num::Fixed(2))
        .str("low52wDate", &date_dashed_utc(q.updated_ms, 301))
        .int("currencyUnit", 1)
        .str("provider", "하나은행")
        .int("timestamp", i64::try_from(q.updated_ms).unwrap_or(i64::MAX))
        .int("id", 79)
        .str("modifiedAt", &iso_utc(q.updated_ms))
        .str("createdAt", "2016-10-21T06:13:34.000+0000")
        .num("signedChangePrice", sign * diff.abs(), Num::Fixed(2))
        .num("signedChangeRate", sign * rate, Num::Fixed(10))
        .num("changeRate", rate, Num::Fixed(10));
    o.finish()
}

/// `GET /fx/open-er-api/v6/latest/{base}` (only `USD` is simulated).
pub(crate) async fn open_er_api(
    State(shared): State<Arc<Shared>>,
    Path(base): Path<String>,
) -> Response {
    if let Err(status) = shared.faults.rest_gate(SimVenue::Fx, &shared.cancel).await {
        return fault(status);
    }
    if base != "USD" {
        let body = json!({"result": "error", "error-type": "unsupported-code"});
        return (StatusCode::NOT_FOUND, axum::Json(body)).into_response();
    }
    let krw = round_decimals(shared.model().fx_daily(), 4);
    let now_s = now_ms() / 1000;
    let day_s = DAY_MS / 1000;
    // Published a couple of minutes after 00:00 UTC, next one a day later.
    let last = now_s - now_s % day_s + 151;
    let last = if last > now_s { last - day_s } else { last };
    let next = last + day_s + 35;
    let mut rates = JsonObject::with_capacity(256);
    for (code, rate) in usd_rates(krw) {
        if code == "USD" {
            rates.int(code, 1);
        } else {
            rates.num(code, rate, Num::Plain);
        }
    }
    let mut o = JsonObject::with_capacity(768);
    o.str("result", "success")
        .str("provider", "https://www.exchangerate-api.com")
        .str(
            "documentation",
            "https://www.exchangerate-api.com/docs/free",
        )
        .str("terms_of_use", "https://www.exchangerate-api.com/terms")
        .int("time_last_update_unix", i64::try_from(last).unwrap_or(0))
        .str("time_last_update_utc", &rfc2822_utc(last))
        .int("time_next_update_unix", i64::try_from(next).unwrap_or(0))
        .str("time_next_update_utc", &rfc2822_utc(next))
        .int("time_eol_unix", 0)
        .str("base_code", "USD")
        .raw("rates", &rates.finish());
    shared.faults.rest_body(SimVenue::Fx, o.finish())
}

/// `GET /fx/frankfurter/v2/rate/{base}/{quote}`; unknown currencies → 422 like the real API.
pub(crate) async fn frankfurter(
    State(shared): State<Arc<Shared>>,
    Path((base, quote)): Path<(String, String)>,
) -> Response {
    if let Err(status) = shared.faults.rest_gate(SimVenue::Fx, &shared.cancel).await {
        return fault(status);
    }
    let krw = shared.model().fx_daily() * (1.0 + FRANKFURTER_OFFSET);
    let rates = usd_rates(krw);
    let find = |code: &str| rates.iter().find(|(c, _)| *c == code).map(|(_, r)| *r);
    let (Some(b), Some(q)) = (find(&base), find(&quote)) else {
        let body = json!({"message": "not found"});
        return (StatusCode::UNPROCESSABLE_ENTITY, axum::Json(body)).into_response();
    };
    let mut o = JsonObject::with_capacity(96);
    o.str("date", &working_date_utc(now_ms()))
        .str("base", &base)
        .str("quote", &quote)
        .num("rate", round_decimals(q / b, 4), Num::Plain);
    shared.faults.rest_body(SimVenue::Fx, o.finish())
}

fn fault(status: StatusCode) -> Response {
    (status, axum::Json(json!({"message": "simulated fault"}))).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dunamu_keeps_trailing_zeros_and_kst_time() {
        let q = FxQuote {
            price: 1384.5,
            open: 1383.0,
            high: 1386.0,
            low: 1382.1,
            prev_close: 1380.0,
            updated_ms: 1_785_397_260_652,
            updates_today: 321,
        };
        let text = dunamu_usd(&q);
        assert!(text.contains(r#""basePrice":1384.50,"#), "{text}");
        assert!(
            text.contains(r#""change":"RISE","changePrice":4.50,"#),
            "{text}"
        );
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["time"], "16:41:00");
        assert_eq!(v["provider"], "하나은행");
        assert_eq!(v["currencyCode"], "USD");
        assert!((v["changeRate"].as_f64().unwrap() - 4.5 / 1380.0).abs() < 1e-9);
    }
}
