//! JSON errors with the right status (unknown routes, bad query values, wrong method, missing or
//! wrong token), called on the routers directly with `oneshot` over a bare state task.

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use kimp::config::ServerConfig;
use kimp::server::{self, Api, Service};
use serde_json::Value;
use tower::ServiceExt as _;

use super::{Bare, metric};

/// An API over an empty state task (no collectors).
fn bare_api(tweak: impl FnOnce(&mut ServerConfig)) -> (Api, Bare) {
    let bare = Bare::new(tweak);
    (bare.api.clone(), bare)
}

async fn call(
    router: &Router,
    method: &str,
    uri: &str,
    token: Option<&str>,
) -> (StatusCode, Value) {
    let mut request = Request::builder().method(method).uri(uri);
    if let Some(token) = token {
        request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    let response = router
        .clone()
        .oneshot(request.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let content_type = response.headers().get(header::CONTENT_TYPE).cloned();
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .unwrap();
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    if status.is_client_error() {
        assert_eq!(content_type.unwrap(), "application/json", "{uri}");
    }
    (status, body)
}

fn assert_error(body: &Value, code: &str) {
    assert_eq!(body["error"]["code"], code, "{body}");
    assert!(!body["error"]["message"].as_str().unwrap().is_empty());
}

#[tokio::test]
async fn bad_requests_get_json_errors() {
    let (api, bare) = bare_api(|_| {});
    let liq = server::router(&api, Service::Liquidation);
    let market = server::router(&api, Service::Market);
    let gateway = server::router(&api, Service::Gateway);
    let bad = [
        (&liq, "/api/liquidations/aggregated?window=7y"),
        (&liq, "/api/liquidations/aggregated?window=1m"),
        (&liq, "/api/liquidations/recent?limit=-1"),
        (&liq, "/api/liquidations/recent?limit=0"),
        (&liq, "/api/liquidations/recent?limit=1001"),
        (&liq, "/api/liquidations/recent?limit=ten"),
        (&liq, "/api/liquidations/recent?min_usd=-5"),
        (&liq, "/api/liquidations/recent?min_usd=NaN"),
        (&liq, "/api/liquidations/recent?exchange=ftx"),
        (&market, "/api/market/premiums?domestic=nasdaq"),
        (&market, "/api/market/premiums?global=upbit"),
        (&market, "/api/market/premiums?domestic=binance"),
    ];
    for (router, uri) in bad {
        let (status, body) = call(router, "GET", uri, None).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{uri}: {body}");
        assert_error(&body, "bad_request");
    }
    let (status, body) = call(
        &liq,
        "GET",
        "/api/liquidations/recent?limit=1000&min_usd=0&exchange=okx",
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    for (router, uri) in [
        (&gateway, "/nope"),
        (&market, "/api/market/nope"),
        (&liq, "/api/coins/latest"),
    ] {
        let (status, body) = call(router, "GET", uri, None).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{uri}");
        assert_error(&body, "not_found");
    }
    let (status, body) = call(&gateway, "POST", "/api/coins/latest", None).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert_error(&body, "method_not_allowed");
    // No data yet: the fear & greed index is not there, and the market is not usable.
    let (status, body) = call(&gateway, "GET", "/api/fear_greed_index", None).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_error(&body, "unavailable");
    let (status, health) = call(&market, "GET", "/health", None).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(health["status"], "unavailable");
    let reasons: Vec<&str> = health["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap())
        .collect();
    assert!(reasons.contains(&"no fresh USD/KRW rate"), "{reasons:?}");
    assert!(
        reasons.iter().any(|r| r.starts_with("upbit.ticker")),
        "{reasons:?}"
    );
    bare.cancel.cancel();
}

#[tokio::test]
async fn a_configured_token_is_required_everywhere_but_health() {
    let (api, bare) = bare_api(|s| s.token = "s3cret".into());
    for service in Service::ALL {
        let router = server::router(&api, service);
        for uri in ["/metrics", "/openapi.json", "/nope"] {
            let (status, body) = call(&router, "GET", uri, None).await;
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{uri}");
            assert_error(&body, "unauthorized");
            let (status, _) = call(&router, "GET", uri, Some("wrong")).await;
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{uri}");
        }
        let (status, _) = call(&router, "GET", "/openapi.json", Some("s3cret")).await;
        assert_eq!(status, StatusCode::OK);
        let (status, _) = call(&router, "GET", "/openapi.json?access_token=s3cret", None).await;
        assert_eq!(status, StatusCode::OK, "query token (WebSocket URLs)");
        let (status, _) = call(&router, "GET", "/health", None).await;
        assert_ne!(status, StatusCode::UNAUTHORIZED);
    }
    let gateway = server::router(&api, Service::Gateway);
    let (status, _) = call(&gateway, "GET", "/api/coins/latest", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, doc) = call(&gateway, "GET", "/api/coins/latest", Some("s3cret")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(doc["coins"].is_array());
    let (_, doc) = call(&gateway, "GET", "/openapi.json", Some("s3cret")).await;
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
    bare.cancel.cancel();
}

/// `GET /metrics` on a router: content type checked, text returned.
async fn scrape(router: &Router) -> String {
    let response = router
        .clone()
        .oneshot(
            Request::builder()
                .uri("/metrics")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()[header::CONTENT_TYPE],
        "application/openmetrics-text; version=1.0.0; charset=utf-8"
    );
    let text = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .unwrap();
    String::from_utf8(text.to_vec()).unwrap()
}

#[tokio::test]
async fn metrics_count_requests_by_status() {
    let (api, bare) = bare_api(|_| {});
    let market = server::router(&api, Service::Market);
    call(&market, "GET", "/nope", None).await;
    call(&market, "GET", "/api/market/prices", None).await;
    let text = scrape(&market).await;
    let not_found = "kimp_http_requests_total{service=\"market\",code=\"404\"}";
    let ok = "kimp_http_requests_total{service=\"market\",code=\"200\"}";
    assert_eq!(metric(&text, not_found), Some(1.0), "{text}");
    assert_eq!(metric(&text, ok), Some(1.0), "{text}");
    assert!(
        text.contains("# TYPE kimp_http_requests counter\n"),
        "{text}"
    );
    // The counters grow: two more 404s, and the first scrape itself was a 200.
    call(&market, "GET", "/nope", None).await;
    call(&market, "GET", "/nope/again", None).await;
    let text = scrape(&market).await;
    assert_eq!(metric(&text, not_found), Some(3.0), "{text}");
    assert_eq!(metric(&text, ok), Some(2.0), "{text}");
    // Another service's requests are its own series.
    let gateway = server::router(&api, Service::Gateway);
    call(&gateway, "GET", "/nope", None).await;
    let text = scrape(&market).await;
    assert_eq!(
        metric(
            &text,
            "kimp_http_requests_total{service=\"gateway\",code=\"404\"}"
        ),
        Some(1.0),
        "{text}"
    );
    assert_eq!(metric(&text, not_found), Some(3.0), "{text}");
    for series in [
        "kimp_connections_refused_total{service=\"market\"}",
        "kimp_ws_connections_open{stream=\"market\"}",
        "kimp_ws_connections_total{stream=\"liquidations\"}",
        "kimp_ws_messages_sent_total{stream=\"market\"}",
        "kimp_ws_bytes_sent_total{stream=\"market\"}",
        "kimp_ws_resyncs_total{stream=\"market\"}",
        "kimp_ws_evictions_total{stream=\"market\"}",
        "kimp_ws_bad_input_closes_total{stream=\"market\"}",
        "kimp_ws_fanout_lagged_total",
    ] {
        assert_eq!(metric(&text, series), Some(0.0), "{series} in {text}");
    }
    assert!(metric(&text, "kimp_log_dropped_lines_total").is_some());
    bare.cancel.cancel();
}

#[tokio::test]
async fn cors_allows_only_the_configured_origins() {
    let (api, bare) = bare_api(|s| s.cors_origins = vec!["https://kimp.example".into()]);
    let gateway = server::router(&api, Service::Gateway);
    let preflight = |origin: &str| {
        Request::builder()
            .method("OPTIONS")
            .uri("/api/coins/latest")
            .header(header::ORIGIN, origin)
            .header(header::ACCESS_CONTROL_REQUEST_METHOD, "GET")
            .body(Body::empty())
            .unwrap()
    };
    let allowed = gateway
        .clone()
        .oneshot(preflight("https://kimp.example"))
        .await
        .unwrap();
    assert_eq!(
        allowed.headers()[header::ACCESS_CONTROL_ALLOW_ORIGIN],
        "https://kimp.example"
    );
    let other = gateway
        .oneshot(preflight("https://evil.example"))
        .await
        .unwrap();
    assert!(
        other
            .headers()
            .get(header::ACCESS_CONTROL_ALLOW_ORIGIN)
            .is_none()
    );
    bare.cancel.cancel();
}
