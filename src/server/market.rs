//! The market data service (8001): prices, volumes, premiums (for any venue pair) and rates, plus
//! the `/ws/market` stream. Everything is read from the latest snapshot; `?domestic=&global=`
//! recomputes the premium columns with the pure formulas of [`crate::state::premium`].

use std::collections::BTreeMap;

use axum::Router;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::routes;

use super::common::{self, Ctx};
use super::error::{ApiError, ErrorBody, json};
use super::{Api, Service, Stream};
use crate::config::{DOMESTIC_VENUES, OVERSEAS_VENUES};
use crate::model::{Currency, FxSource, Venue};
use crate::state::premium;
use crate::state::snapshot::{CoinRow, Pair, Snapshot, VenuePrice};

/// The market data service's router.
pub fn router(api: Api) -> Router {
    let routes = common::routes()
        .routes(routes!(prices))
        .routes(routes!(volumes))
        .routes(routes!(premiums))
        .routes(routes!(exchange_rate))
        .routes(routes!(ws_market));
    common::finish(api, Service::Market, routes)
}

/// `GET /api/market/prices`.
#[derive(Debug, Serialize, ToSchema)]
pub struct PricesDoc {
    pub timestamp: String,
    pub coins: Vec<PriceRow>,
}

/// One coin's quotes on every venue.
#[derive(Debug, Serialize, ToSchema)]
pub struct PriceRow {
    pub symbol: String,
    pub name_ko: Option<String>,
    pub name_en: Option<String>,
    pub prices: BTreeMap<Venue, VenuePrice>,
    pub flags: Vec<String>,
}

/// Every coin: per-venue price, 24 h change and traded value, names, flags.
#[utoipa::path(get, path = "/api/market/prices", tag = "market",
    responses((status = 200, body = PricesDoc), (status = 401, body = ErrorBody)))]
async fn prices(State(ctx): State<Ctx>) -> Response {
    let latest = ctx.api.latest();
    let snap = &latest.snap;
    json(&PricesDoc {
        timestamp: snap.timestamp.clone(),
        coins: snap
            .coins
            .iter()
            .map(|c| PriceRow {
                symbol: c.symbol.clone(),
                name_ko: c.name_ko.clone(),
                name_en: c.name_en.clone(),
                prices: c.prices.clone(),
                flags: c.flags.clone(),
            })
            .collect(),
    })
}

/// `GET /api/market/volumes`.
#[derive(Debug, Serialize, ToSchema)]
pub struct VolumesDoc {
    pub timestamp: String,
    pub coins: Vec<VolumeRow>,
}

/// One coin's 24 h traded value per venue.
#[derive(Debug, Serialize, ToSchema)]
pub struct VolumeRow {
    pub symbol: String,
    pub volumes: BTreeMap<Venue, VenueVolume>,
}

/// 24 h traded value in the venue's quote currency (`null` when the venue does not say).
#[derive(Debug, Serialize, ToSchema)]
pub struct VenueVolume {
    pub volume: Option<f64>,
    pub currency: Currency,
}

/// Per-venue 24 h traded value of every coin.
#[utoipa::path(get, path = "/api/market/volumes", tag = "market",
    responses((status = 200, body = VolumesDoc), (status = 401, body = ErrorBody)))]
async fn volumes(State(ctx): State<Ctx>) -> Response {
    let latest = ctx.api.latest();
    let snap = &latest.snap;
    json(&VolumesDoc {
        timestamp: snap.timestamp.clone(),
        coins: snap
            .coins
            .iter()
            .map(|c| VolumeRow {
                symbol: c.symbol.clone(),
                volumes: c
                    .prices
                    .iter()
                    .map(|(v, p)| {
                        let volume = VenueVolume {
                            volume: p.volume,
                            currency: p.currency,
                        };
                        (*v, volume)
                    })
                    .collect(),
            })
            .collect(),
    })
}

/// `?domestic=&global=` of `/api/market/premiums`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PairQuery {
    /// `upbit` or `bithumb` (default: the configured pair's).
    pub domestic: Option<String>,
    /// `binance`, `bybit` or `okx` (default: the configured pair's).
    pub global: Option<String>,
}

/// `GET /api/market/premiums`.
#[derive(Debug, Serialize, ToSchema)]
pub struct PremiumsDoc {
    pub timestamp: String,
    pub pair: Pair,
    pub exchange_rate: Option<f64>,
    /// KRW per USDT on the domestic venue of `pair`.
    pub usdt_krw_rate: Option<f64>,
    pub tether_premium_percent: Option<f64>,
    pub coins: Vec<PremiumRow>,
}

/// One coin's premiums for the pair, with both legs.
#[derive(Debug, Serialize, ToSchema)]
pub struct PremiumRow {
    pub symbol: String,
    pub name_ko: Option<String>,
    pub name_en: Option<String>,
    pub domestic: Option<Leg>,
    pub global: Option<Leg>,
    pub global_price_krw: Option<f64>,
    pub premium_percent: Option<f64>,
    pub premium_usdt_percent: Option<f64>,
    /// A leg or rate is missing or too old: the premiums are `null`.
    pub stale: bool,
    pub flags: Vec<String>,
}

/// One leg of a premium.
#[derive(Debug, Serialize, ToSchema)]
pub struct Leg {
    pub venue: Venue,
    pub price: f64,
    pub currency: Currency,
    pub age_ms: i64,
    pub stale: bool,
}

/// Per coin: 김프 and 테더 김프, both legs and their freshness; `?domestic=&global=` picks the pair.
#[utoipa::path(get, path = "/api/market/premiums", tag = "market", params(PairQuery),
    responses((status = 200, body = PremiumsDoc), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody)))]
async fn premiums(
    State(ctx): State<Ctx>,
    query: Result<Query<PairQuery>, QueryRejection>,
) -> Response {
    let query = match query {
        Ok(Query(query)) => query,
        Err(e) => return ApiError::bad_request(e.body_text()).into_response(),
    };
    let latest = ctx.api.latest();
    match pair_of(&query, latest.snap.pair) {
        Ok(pair) => json(&premium_doc(&latest.snap, pair)),
        Err(e) => e.into_response(),
    }
}

fn pair_of(query: &PairQuery, default: Pair) -> Result<Pair, ApiError> {
    let pick = |given: &Option<String>, name: &str, allowed: &[Venue], default: Venue| {
        let Some(given) = given else {
            return Ok(default);
        };
        Venue::parse(given)
            .filter(|v| allowed.contains(v))
            .ok_or_else(|| {
                let names: Vec<&str> = allowed.iter().map(|v| v.as_str()).collect();
                ApiError::bad_request(format!(
                    "{name} must be one of: {} (got `{given}`)",
                    names.join(", ")
                ))
            })
    };
    Ok(Pair {
        domestic: pick(
            &query.domestic,
            "domestic",
            DOMESTIC_VENUES,
            default.domestic,
        )?,
        global: pick(&query.global, "global", OVERSEAS_VENUES, default.global)?,
    })
}

/// The premium columns of `snap` for `pair`, from the snapshot's prices and rates (coins the
/// domestic venue does not quote are left out). For the snapshot's own pair this equals its
/// `premium_percent` / `premium_usdt_percent`.
#[must_use]
pub fn premium_doc(snap: &Snapshot, pair: Pair) -> PremiumsDoc {
    let f = snap.exchange_rate;
    let u = snap.usdt_krw_rates.get(&pair.domestic).copied();
    PremiumsDoc {
        timestamp: snap.timestamp.clone(),
        pair,
        exchange_rate: f,
        usdt_krw_rate: u,
        tether_premium_percent: u.zip(f).and_then(|(u, f)| premium::tether_premium(u, f)),
        coins: snap
            .coins
            .iter()
            .filter(|c| c.prices.contains_key(&pair.domestic))
            .map(|c| premium_row(c, pair, f, u))
            .collect(),
    }
}

fn premium_row(c: &CoinRow, pair: Pair, f: Option<f64>, u: Option<f64>) -> PremiumRow {
    let leg = |venue: Venue| {
        c.prices.get(&venue).map(|p| Leg {
            venue,
            price: p.price,
            currency: p.currency,
            age_ms: p.age_ms,
            stale: p.stale,
        })
    };
    let (domestic, global) = (leg(pair.domestic), leg(pair.global));
    let fresh = |l: &Option<Leg>| l.as_ref().filter(|l| !l.stale).map(|l| l.price);
    // A ticker that means different coins on the two sides is never compared.
    let comparable = global.is_some() && !c.flags.iter().any(|f| f == "ticker_clash");
    let p = if comparable {
        premium::premiums(fresh(&domestic), fresh(&global), f, u)
    } else {
        premium::Premiums::default()
    };
    PremiumRow {
        symbol: c.symbol.clone(),
        name_ko: c.name_ko.clone(),
        name_en: c.name_en.clone(),
        domestic,
        global,
        global_price_krw: p.global_price_krw,
        premium_percent: p.kimp,
        premium_usdt_percent: p.kimp_usdt,
        stale: comparable && (p.kimp.is_none() || p.kimp_usdt.is_none()),
        flags: c.flags.clone(),
    }
}

/// `GET /api/market/exchange-rate`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ExchangeRateDoc {
    pub timestamp: String,
    /// USD/KRW (KRW per USD), `null` when no fresh value.
    pub exchange_rate: Option<f64>,
    /// KRW per USDT on the configured domestic venue.
    pub usdt_krw_rate: Option<f64>,
    pub tether_premium_percent: Option<f64>,
    pub source: Option<FxSource>,
    pub age_ms: Option<i64>,
    pub stale: Option<bool>,
}

/// USD/KRW with source and age, USDT/KRW and the tether premium.
#[utoipa::path(get, path = "/api/market/exchange-rate", tag = "market",
    responses((status = 200, body = ExchangeRateDoc), (status = 401, body = ErrorBody)))]
async fn exchange_rate(State(ctx): State<Ctx>) -> Response {
    let latest = ctx.api.latest();
    let snap = &latest.snap;
    json(&ExchangeRateDoc {
        timestamp: snap.timestamp.clone(),
        exchange_rate: snap.exchange_rate,
        usdt_krw_rate: snap.usdt_krw_rate,
        tether_premium_percent: snap.tether_premium_percent,
        source: snap.fx.map(|f| f.source),
        age_ms: snap.fx.map(|f| f.age_ms),
        stale: snap.fx.map(|f| f.stale),
    })
}

/// Live market stream: a `snapshot` (the `/api/coins/latest` document), then coalesced `update`s
/// and `status` messages (SPEC §6.1).
#[utoipa::path(get, path = "/ws/market", tag = "market",
    responses((status = 101, description = "WebSocket: snapshot, update, status messages"),
        (status = 401, body = ErrorBody)))]
async fn ws_market(State(ctx): State<Ctx>, upgrade: super::ws::upgrade::Upgrade) -> Response {
    ctx.api.upgrade(upgrade, Stream::Market)
}
