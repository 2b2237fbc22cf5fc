//! Cross-checks: a spot venue's streamed BTC price against its REST ticker, and every FX source
//! fetched once for its rate and age.
//!
//! REST tickers checked: Bithumb (`/public/ticker/ALL_KRW`) and Bybit
//! (`/v5/market/tickers?category=spot`), parsed by the same code as their REST fallbacks.

use std::time::Duration;

use super::{Check, DoctorOptions, Status};
use crate::clock::now_ms;
use crate::config::Config;
use crate::feed::{bithumb, bybit, fx, poller};
use crate::model::{FxSource, MarketEvent, Venue};
use crate::state::snapshot::Snapshot;

/// The coin compared on every venue.
const COIN: &str = "BTC";

type RestParse = fn(&[u8], i64) -> Result<Vec<MarketEvent>, crate::feed::ParseError>;

/// One check per enabled spot venue with a REST ticker.
pub async fn price_checks(cfg: &Config, snap: &Snapshot, opts: &DoctorOptions) -> Vec<Check> {
    let client = poller::http_client();
    let mut venues: Vec<(Venue, &'static str, String, RestParse)> = Vec::new();
    if cfg.bithumb.enabled {
        let base = cfg.bithumb.rest_url.trim_end_matches('/');
        let url = format!("{base}/public/ticker/ALL_KRW");
        venues.push((
            Venue::Bithumb,
            "bithumb.rest_url",
            url,
            bithumb::parse_all_krw,
        ));
    }
    if cfg.bybit.enabled {
        let base = cfg.bybit.rest_url.trim_end_matches('/');
        let url = format!("{base}/v5/market/tickers?category=spot");
        venues.push((
            Venue::Bybit,
            "bybit.rest_url",
            url,
            bybit::parse_rest_tickers,
        ));
    }
    let pair = [cfg.general.domestic.as_str(), cfg.general.overseas.as_str()];
    let mut checks = Vec::new();
    for (venue, url_key, url, parse) in venues {
        let streamed = snap
            .coin(COIN)
            .and_then(|c| c.prices.get(&venue))
            .map(|p| p.price);
        let rest = rest_price(&client, &url, parse, venue, opts.probe_timeout).await;
        let name = format!("cross-check {} {COIN}", venue.as_str());
        let required = pair.contains(&venue.as_str());
        let mut check = Check::new(name, url_key, url, required);
        compare(&mut check, streamed, rest, opts.tolerance_percent);
        checks.push(check);
    }
    checks
}

async fn rest_price(
    client: &poller::Http,
    url: &str,
    parse: RestParse,
    venue: Venue,
    timeout: Duration,
) -> Result<f64, String> {
    let body = poller::fetch(client, poller::Tag::feed("doctor"), url, timeout)
        .await
        .map_err(|e| e.to_string())?;
    let events = parse(&body, now_ms()).map_err(|e| format!("REST ticker: {e}"))?;
    events
        .into_iter()
        .find_map(|e| match e {
            MarketEvent::Quote(q) if q.venue == venue && q.base == COIN => Some(q.price),
            _ => None,
        })
        .ok_or_else(|| format!("REST ticker has no {COIN}"))
}

/// Fills status, detail and hint: a mismatch beyond the tolerance fails; a REST ticker that
/// cannot be read, or a missing stream price, only warns (the feed rows say why).
fn compare(check: &mut Check, streamed: Option<f64>, rest: Result<f64, String>, tolerance: f64) {
    match (streamed, rest) {
        (_, Err(e)) => {
            check.status = Status::Warn;
            check.hint = Some(super::probe::hint(&e, &check.url_key));
            check.detail = format!("REST ticker unavailable: {e}");
        }
        (None, Ok(rest)) => {
            check.status = Status::Warn;
            check.detail = format!("REST {rest} but no streamed price to compare");
        }
        (Some(ws), Ok(rest)) => {
            let diff = if rest > 0.0 {
                (ws - rest).abs() / rest * 100.0
            } else {
                f64::INFINITY
            };
            check.detail = format!("stream {ws} vs REST {rest} ({diff:.3} % apart)");
            if diff > tolerance {
                check.status = Status::Fail;
                check.hint = Some(format!(
                    "prices disagree by more than {tolerance} %: a parser may read the wrong \
                     field, or the stream is stale; report it"
                ));
            }
        }
    }
    if check.status == Status::Fail && !check.required {
        check.status = Status::Warn;
    }
}

/// Every configured FX source fetched once: its rate and age.
pub async fn fx_checks(cfg: &Config, opts: &DoctorOptions) -> Vec<Check> {
    let client = poller::http_client();
    let mut checks = Vec::new();
    for name in &cfg.fx.sources {
        let Some(source) = FxSource::parse(name) else {
            continue;
        };
        let (url_key, max_age) = match source {
            FxSource::Dunamu => ("fx.dunamu_url", cfg.fx.dunamu_max_age_secs),
            FxSource::OpenErApi => ("fx.open_er_api_url", cfg.fx.open_er_api_max_age_secs),
            FxSource::Frankfurter => ("fx.frankfurter_url", cfg.fx.frankfurter_max_age_secs),
        };
        let url = super::targets::fx_url(cfg, name).to_owned();
        let fetched = fetch_fx(&client, &url, source, opts.probe_timeout).await;
        let mut check = Check::new(format!("fx {name}"), url_key, url, false);
        match fetched {
            Ok((rate, age_ms)) => {
                let age = Duration::from_millis(u64::try_from(age_ms).unwrap_or(0));
                check.detail = format!("{rate:.2} KRW/USD, age {}", human(age));
                if age.as_secs() > max_age {
                    check.status = Status::Warn;
                    check.hint = Some(format!(
                        "older than its {} limit: kimp uses the next source",
                        human(Duration::from_secs(max_age))
                    ));
                }
            }
            Err(e) => {
                check.status = Status::Warn;
                check.hint = Some(super::probe::hint(&e, url_key));
                check.detail = e;
            }
        }
        checks.push(check);
    }
    checks
}

async fn fetch_fx(
    client: &poller::Http,
    url: &str,
    source: FxSource,
    timeout: Duration,
) -> Result<(f64, i64), String> {
    let body = poller::fetch(client, poller::Tag::feed("doctor"), url, timeout)
        .await
        .map_err(|e| e.to_string())?;
    let received = now_ms();
    let rate = match source {
        FxSource::Dunamu => fx::parse_dunamu(&body, received),
        FxSource::OpenErApi => fx::parse_open_er_api(&body, received).map(|r| r.rate),
        FxSource::Frankfurter => fx::parse_frankfurter(&body, received),
    }
    .map_err(|e| format!("parse: {e}"))?;
    Ok((rate.krw_per_usd, received - rate.quoted_ms))
}

/// `42 s`, `5 min`, `3 h`, `2 d`.
fn human(d: Duration) -> String {
    match d.as_secs() {
        s if s < 120 => format!("{s} s"),
        s if s < 7_200 => format!("{} min", s / 60),
        s if s < 172_800 => format!("{} h", s / 3_600),
        s => format!("{} d", s / 86_400),
    }
}
