//! Targeted probes: DNS resolution and a bare WebSocket handshake per URL (each bounded), and
//! the hint that goes with an error text.

use std::time::Duration;

use reqwest::Url;

/// Resolves the host of `url`. `Err` carries the resolver's message.
pub async fn resolve(url: &str, timeout: Duration) -> Result<(), String> {
    let parsed = Url::parse(url).map_err(|e| format!("not a URL: {e}"))?;
    let host = parsed.host_str().ok_or("the URL has no host")?.to_owned();
    let port = parsed.port_or_known_default().unwrap_or(443);
    let lookup = tokio::net::lookup_host((host.trim_matches(['[', ']']), port));
    match tokio::time::timeout(timeout, lookup).await {
        Ok(Ok(addrs)) => {
            if addrs.count() > 0 {
                Ok(())
            } else {
                Err(format!("cannot resolve {host}: no addresses"))
            }
        }
        Ok(Err(e)) => Err(format!("cannot resolve {host}: {e}")),
        Err(_) => Err(format!(
            "cannot resolve {host}: timed out after {} s",
            timeout.as_secs()
        )),
    }
}

/// Opens a WebSocket to `url` (handshake only) and closes it again.
pub async fn handshake(url: &str, timeout: Duration) -> Result<(), String> {
    let connect = tokio_tungstenite::connect_async(url);
    match tokio::time::timeout(timeout, connect).await {
        Ok(Ok((mut ws, _))) => {
            let _ = tokio::time::timeout(Duration::from_secs(1), ws.close(None)).await;
            Ok(())
        }
        Ok(Err(e)) => Err(format!("connect failed: {e}")),
        Err(_) => Err(format!("connect timed out after {} s", timeout.as_secs())),
    }
}

/// What to do about an error, judged from its text (the feeds' and probes' messages).
#[must_use]
pub fn hint(error: &str, url_key: &str) -> String {
    let e = error.to_ascii_lowercase();
    if e.contains("resolve") || e.contains("dns") || e.contains("name or service") {
        "DNS failure: check the network connection, DNS or proxy settings".into()
    } else if e.contains("certificate") || e.contains("tls") || e.contains("handshake failure") {
        "TLS failure: a proxy or firewall may intercept HTTPS, or the system clock is wrong".into()
    } else if let Some(status) = http_status(&e) {
        match status {
            401 | 403 | 451 => {
                format!("HTTP {status}: the venue refuses this client (region block or firewall?)")
            }
            404 | 410 => format!("HTTP {status}: the endpoint may have moved; see `{url_key}`"),
            429 | 418 => {
                format!("HTTP {status}: rate-limited; wait and check other kimp instances")
            }
            500..=599 => format!("HTTP {status}: the venue's server is failing; retry later"),
            _ => format!("HTTP {status}: check `{url_key}`"),
        }
    } else if e.contains("refused") || e.contains("unreachable") || e.contains("reset") {
        format!("cannot reach the venue: check the network, a proxy or `{url_key}`")
    } else if e.contains("timed out") || e.contains("no reply") {
        format!(
            "slow or unreachable: the venue did not answer in time; check the network or `{url_key}`"
        )
    } else if e.contains("json")
        || e.contains("parse")
        || e.contains("field")
        || e.contains("utf-8")
    {
        "unparseable replies: the venue's protocol may have changed; update kimp or report it"
            .into()
    } else {
        format!("check the network and `{url_key}`")
    }
}

/// `HTTP 503`, `http error 404`, `status code 502`… → the status.
fn http_status(text: &str) -> Option<u16> {
    for marker in ["http error: ", "http ", "status code ", "status: "] {
        if let Some(at) = text.find(marker) {
            let digits: String = text
                .get(at + marker.len()..)
                .unwrap_or_default()
                .chars()
                .take_while(char::is_ascii_digit)
                .collect();
            if let Ok(status) = digits.parse::<u16>()
                && (400..=599).contains(&status)
            {
                return Some(status);
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hints_follow_the_error() {
        assert!(hint("cannot resolve api.upbit.com: failed to lookup", "k").starts_with("DNS"));
        assert!(hint("HTTP 503: oops", "k").contains("server is failing"));
        assert!(
            hint("connect failed: HTTP error: 404 Not Found", "upbit.ws_url")
                .contains("`upbit.ws_url`")
        );
        assert!(hint("invalid certificate: UnknownIssuer", "k").starts_with("TLS"));
        assert!(hint("invalid JSON: expected value", "k").contains("protocol"));
        assert!(hint("timed out after 5s", "k").contains("slow"));
        assert_eq!(http_status("http 200 ok"), None);
    }

    #[tokio::test]
    async fn resolve_and_handshake_report_failures() {
        assert!(
            resolve("ws://127.0.0.1:9/x", Duration::from_secs(1))
                .await
                .is_ok()
        );
        let err = resolve("ws://nonexistent.invalid/x", Duration::from_secs(3))
            .await
            .unwrap_err();
        assert!(err.contains("cannot resolve nonexistent.invalid"), "{err}");
        let err = handshake("ws://127.0.0.1:9/x", Duration::from_secs(1))
            .await
            .unwrap_err();
        assert!(err.starts_with("connect"), "{err}");
    }
}
